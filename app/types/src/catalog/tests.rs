//! Tests of the catalog value types.

use super::*;

const VALID_GTINS: [(&str, GtinKind); 4] = [
    ("4006381333931", GtinKind::Gtin13),
    ("73513537", GtinKind::Gtin8),
    ("036000291452", GtinKind::Gtin12),
    ("10012345678902", GtinKind::Gtin14),
];

#[test]
fn known_gtins_are_valid_and_keep_their_length() {
    for (code, kind) in VALID_GTINS {
        let gtin = Gtin::parse(code).unwrap();
        assert_eq!(gtin.as_str(), code);
        assert_eq!(gtin.kind(), kind);
        assert_eq!(gtin.kind().digits(), code.len());
        assert_eq!(gtin.to_gtin14().len(), 14);
        assert!(gtin.to_gtin14().ends_with(code));
    }
    // More real codes: EAN-13 of a German and of an ISBN-prefixed product.
    for code in [
        "4012345123456",
        "9783161484100",
        "5901234123457",
        "96385074",
    ] {
        assert!(Gtin::parse(code).is_ok(), "{code}");
    }
    assert_eq!(
        Gtin::parse("036000291452").unwrap().to_gtin14(),
        Gtin::parse("0036000291452").unwrap().to_gtin14()
    );
}

#[test]
fn every_single_digit_corruption_of_a_gtin_is_caught() {
    for (code, _) in VALID_GTINS {
        for position in 0..code.len() {
            for digit in b'0'..=b'9' {
                let mut corrupted = code.as_bytes().to_vec();
                if corrupted[position] == digit {
                    continue;
                }
                corrupted[position] = digit;
                let corrupted = String::from_utf8(corrupted).unwrap();
                assert_eq!(
                    Gtin::parse(&corrupted),
                    Err(FieldError::GtinCheckDigit),
                    "{corrupted}"
                );
            }
        }
    }
}

#[test]
fn gtin_separators_are_removed_and_garbage_refused() {
    assert_eq!(
        Gtin::parse(" 4 006381-333931 ").unwrap().as_str(),
        "4006381333931"
    );
    assert_eq!(
        Gtin::parse("0-36000-29145-2").unwrap().kind(),
        GtinKind::Gtin12
    );
    assert_eq!(Gtin::parse("  "), Err(FieldError::Required));
    // Right length, wrong check digit.
    for bad in [
        "036000291453",
        "10012345678900",
        "4006381333932",
        "73513536",
    ] {
        assert_eq!(Gtin::parse(bad), Err(FieldError::GtinCheckDigit), "{bad}");
    }
    for bad in [
        "4006381333931x",
        "400638133393I",
        "4006381333",      // 10 digits
        "400638133393100", // 15 digits
        "4006381333931.0",
        "4006381333931/",
        "４００６３８１３３３９３１", // full-width digits
        "0000000000000",
        "00000000",
        "--",
    ] {
        assert_eq!(Gtin::parse(bad), Err(FieldError::InvalidGtin), "{bad}");
    }
    assert_eq!(
        Gtin::parse(&"1".repeat(10_000)),
        Err(FieldError::InvalidGtin)
    );
}

#[test]
fn skus_are_trimmed_limited_and_plain_ascii() {
    assert_eq!(
        Sku::parse("  TS-Blue_XL/2.0 ").unwrap().as_str(),
        "TS-Blue_XL/2.0"
    );
    assert_eq!(Sku::parse("a").unwrap().as_str(), "a");
    assert_eq!(Sku::parse(""), Err(FieldError::Required));
    assert_eq!(Sku::parse(" \t"), Err(FieldError::Required));
    assert!(Sku::parse(&"A".repeat(64)).is_ok());
    assert_eq!(
        Sku::parse(&"A".repeat(65)),
        Err(FieldError::TooLong { max: 64 })
    );
    assert_eq!(
        Sku::parse(&"Ä".repeat(1 << 16)),
        Err(FieldError::TooLong { max: 64 })
    );
    for bad in [
        "TS 01",
        "Größe-M",
        "A+B",
        "sku#1",
        "a,b",
        "x\u{0}",
        "tab\there",
        "€1",
    ] {
        assert_eq!(
            Sku::parse(bad),
            Err(FieldError::InvalidSkuCharacters),
            "{bad}"
        );
    }
    assert_ne!(Sku::parse("abc").unwrap(), Sku::parse("ABC").unwrap());
}

#[test]
fn currencies_parse_case_insensitively_and_serialize_upper_case() {
    for currency in Currency::ALL {
        assert_eq!(Currency::parse(currency.code()), Ok(currency));
        assert_eq!(
            Currency::parse(&format!(" {} ", currency.code().to_lowercase())),
            Ok(currency)
        );
        assert_eq!(String::from(currency), currency.code());
        assert_eq!(currency.minor_unit_exponent(), 2);
    }
    assert_eq!(Currency::parse("Chf"), Ok(Currency::Chf));
    assert_eq!(Currency::parse(""), Err(FieldError::Required));
    for bad in ["NOK", "€", "EURO", "JPY", "EU"] {
        assert_eq!(
            Currency::parse(bad),
            Err(FieldError::UnknownCurrency),
            "{bad}"
        );
    }
}

fn eur(input: &str, locale: Locale) -> Result<i64, FieldError> {
    Money::parse(input, Currency::Eur, locale).map(Money::minor)
}

#[test]
fn german_amounts() {
    for (input, minor) in [
        ("12,99", 1299),
        ("1.234,56", 123_456),
        ("1234,56", 123_456),
        ("12", 1200),
        ("12,5", 1250),
        ("12,05", 1205),
        ("0", 0),
        ("0,01", 1),
        (",5", 50),
        ("1.234", 123_400),
        ("1.234.567", 123_456_700),
        ("10.000.000,00", Money::MAX_MINOR),
        (" 12,99 € ", 1299),
        ("12,99€", 1299),
        ("12,99\u{a0}€", 1299),
        ("€ 12,99", 1299),
        ("12,99 EUR", 1299),
        ("eur 12,99", 1299),
        ("-0", 0),
    ] {
        assert_eq!(eur(input, Locale::De), Ok(minor), "{input}");
    }
}

#[test]
fn english_amounts() {
    for (input, minor) in [
        ("12.99", 1299),
        ("1,234.56", 123_456),
        ("1234.56", 123_456),
        ("12", 1200),
        ("12.5", 1250),
        (".5", 50),
        ("1,234", 123_400),
        ("€12.99", 1299),
        ("€ 1,234.56", 123_456),
        ("EUR 12.99", 1299),
        ("10,000,000", Money::MAX_MINOR),
    ] {
        assert_eq!(eur(input, Locale::En), Ok(minor), "{input}");
    }
    assert_eq!(
        Money::parse("CHF 5", Currency::Chf, Locale::En).map(Money::minor),
        Ok(500)
    );
    assert_eq!(
        Money::parse("$19.99", Currency::Usd, Locale::En).map(Money::minor),
        Ok(1999)
    );
    assert_eq!(
        Money::parse("49,90 zł", Currency::Pln, Locale::De).map(Money::minor),
        Ok(4990)
    );
    assert_eq!(
        Money::parse("99 kr", Currency::Sek, Locale::De).map(Money::minor),
        Ok(9900)
    );
}

#[test]
fn bad_amounts_are_refused_with_the_reason() {
    use FieldError::*;
    for (input, locale, error) in [
        ("", Locale::De, Required),
        ("  ", Locale::En, Required),
        ("12,999", Locale::De, TooManyDecimals),
        ("12.999", Locale::En, TooManyDecimals),
        ("0,001", Locale::De, TooManyDecimals),
        ("-12,99", Locale::De, NegativeAmount),
        ("−5", Locale::De, NegativeAmount),
        ("-€12.99", Locale::En, NegativeAmount),
        ("€-12.99", Locale::En, NegativeAmount),
        ("-12,99 €", Locale::De, NegativeAmount),
        ("10.000.000,01", Locale::De, AmountTooLarge),
        ("10000001", Locale::En, AmountTooLarge),
        ("99999999999999999999999999999", Locale::En, AmountTooLarge),
        // A German field reading an English-looking price: refused, not guessed.
        ("12.99", Locale::De, InvalidAmount),
        ("12,99", Locale::En, InvalidAmount),
        ("0.123", Locale::De, InvalidAmount),
        ("1.23.456", Locale::De, InvalidAmount),
        ("1234.567,00", Locale::De, InvalidAmount),
        ("1,2,3", Locale::De, InvalidAmount),
        ("12,", Locale::De, InvalidAmount),
        (",", Locale::De, InvalidAmount),
        ("€", Locale::De, InvalidAmount),
        ("abc", Locale::De, InvalidAmount),
        ("12 Euro", Locale::De, InvalidAmount),
        ("1e3", Locale::En, InvalidAmount),
        ("+12", Locale::En, InvalidAmount),
        ("--12", Locale::En, InvalidAmount),
        ("12-", Locale::En, InvalidAmount),
        ("NaN", Locale::En, InvalidAmount),
        ("1 234,56", Locale::De, InvalidAmount),
        ("12,99 $", Locale::De, OtherCurrency),
        ("CHF 12.99", Locale::En, OtherCurrency),
        ("£5", Locale::En, OtherCurrency),
    ] {
        assert_eq!(eur(input, locale), Err(error), "{input:?} {locale:?}");
    }
    assert_eq!(eur(&"1".repeat(100), Locale::De), Err(InvalidAmount));
    assert_eq!(
        Money::parse("12 €", Currency::Chf, Locale::De),
        Err(OtherCurrency)
    );
}

#[test]
fn formatting_follows_the_locale() {
    let price = Money::new(123_456, Currency::Eur).unwrap();
    assert_eq!(price.format(Locale::De), "1.234,56\u{a0}€");
    assert_eq!(price.format(Locale::En), "€1,234.56");
    assert_eq!(price.format_amount(Locale::De), "1.234,56");
    let chf = Money::new(1299, Currency::Chf).unwrap();
    assert_eq!(chf.format(Locale::De), "12,99\u{a0}CHF");
    assert_eq!(chf.format(Locale::En), "CHF\u{a0}12.99");
    assert_eq!(
        Money::zero(Currency::Gbp).format(Locale::En),
        "GBP\u{a0}0.00"
    );
    assert_eq!(
        Money::new(5, Currency::Eur).unwrap().format(Locale::De),
        "0,05\u{a0}€"
    );
    assert_eq!(
        Money::new(Money::MAX_MINOR, Currency::Eur)
            .unwrap()
            .format_amount(Locale::En),
        "10,000,000.00"
    );
    assert_eq!(
        Money::new(100_000, Currency::Eur)
            .unwrap()
            .format_amount(Locale::De),
        "1.000,00"
    );
}

#[test]
fn format_then_parse_round_trips_for_many_values() {
    // A fixed linear congruential sequence plus the edges: deterministic, no extra crate.
    let mut state: u64 = 0x5eed;
    let mut values = vec![0, 1, 9, 10, 99, 100, 101, 999, 1000, 99_999, 100_000];
    values.extend([Money::MAX_MINOR - 1, Money::MAX_MINOR]);
    for _ in 0..2_000 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // Spread over every magnitude, not just the large ones.
        let magnitude = 10_i64.pow((state >> 60) as u32 % 11);
        values.push((state >> 1) as i64 % magnitude.min(Money::MAX_MINOR + 1));
    }
    for minor in values {
        for currency in Currency::ALL {
            let money = Money::new(minor, currency).unwrap();
            for locale in Locale::ALL {
                let shown = money.format(locale);
                assert_eq!(Money::parse(&shown, currency, locale), Ok(money), "{shown}");
                let amount = money.format_amount(locale);
                assert_eq!(
                    Money::parse(&amount, currency, locale),
                    Ok(money),
                    "{amount}"
                );
            }
        }
    }
}

#[test]
fn arithmetic_is_checked() {
    let a = Money::new(1299, Currency::Eur).unwrap();
    let b = Money::new(1, Currency::Eur).unwrap();
    assert_eq!(a.checked_add(b).map(Money::minor), Some(1300));
    assert_eq!(a.checked_sub(b).map(Money::minor), Some(1298));
    assert_eq!(b.checked_sub(a), None);
    assert_eq!(a.checked_sub(a), Some(Money::zero(Currency::Eur)));
    let max = Money::new(Money::MAX_MINOR, Currency::Eur).unwrap();
    assert_eq!(max.checked_add(b), None);
    assert_eq!(max.checked_add(Money::zero(Currency::Eur)), Some(max));
    let chf = Money::new(1, Currency::Chf).unwrap();
    assert_eq!(a.checked_add(chf), None);
    assert_eq!(a.checked_sub(chf), None);
    assert_eq!(
        Money::new(-1, Currency::Eur),
        Err(FieldError::NegativeAmount)
    );
    assert_eq!(
        Money::new(Money::MAX_MINOR + 1, Currency::Eur),
        Err(FieldError::AmountTooLarge)
    );
}

#[test]
fn deserializing_applies_the_same_rules() {
    assert_eq!(
        from_str::<Gtin>("4006381333931").unwrap().as_str(),
        "4006381333931"
    );
    assert_eq!(
        from_str::<Gtin>("4006381333932"),
        Err(FieldError::GtinCheckDigit.to_string())
    );
    assert!(from_str::<Sku>("TS-01").is_ok());
    assert!(from_str::<Sku>("TS 01").is_err());
    assert_eq!(from_str::<Currency>("chf"), Ok(Currency::Chf));
    assert!(from_str::<Currency>("XXX").is_err());
    let parts = |minor| MoneyParts {
        minor,
        currency: Currency::Eur,
    };
    assert!(Money::try_from(parts(1299)).is_ok());
    assert_eq!(Money::try_from(parts(-1)), Err(FieldError::NegativeAmount));
    assert_eq!(
        Money::try_from(parts(Money::MAX_MINOR + 1)),
        Err(FieldError::AmountTooLarge)
    );
}

/// A string deserializer, to keep serde_json out of this crate.
fn from_str<T: serde::de::DeserializeOwned>(value: &str) -> Result<T, String> {
    use serde::de::{IntoDeserializer, value::Error};
    let deserializer: serde::de::value::StringDeserializer<Error> =
        value.to_owned().into_deserializer();
    T::deserialize(deserializer).map_err(|e| e.to_string())
}
