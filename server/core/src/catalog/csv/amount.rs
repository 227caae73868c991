//! Prices in a file: `12,99` and `12.99` both, read with [`Money::parse`]'s rules.
//!
//! A file has no UI language, and one column often mixes both habits (a German shop pasting
//! a supplier's list). Which separator is the decimal one is read off each value:
//!
//! - both `.` and `,` occur: the last one is the decimal separator (`1.234,56`, `1,234.56`);
//! - one of them occurs more than once: it groups thousands (`1.234.567`);
//! - one of them occurs once: it is the decimal separator (`12,99`, `12.5`) — unless exactly
//!   three digits follow (`1.234`, `1,234`), which is a thousands separator in one habit and
//!   three decimals in the other. That is refused ([`Problem::AmbiguousAmount`]) rather than
//!   guessed, because a wrong guess is a price off by a factor of a thousand.
//!
//! The value is then parsed by [`Money::parse`] in the language that has that decimal
//! separator, so everything else (currency signs, grouping by three, two decimals at most,
//! the largest price) is the editor's rule.

use shopmarkets_types::{Currency, Locale, Money};

use super::Problem;

pub(super) fn parse_price(text: &str, currency: Currency) -> Result<Money, Problem> {
    let dots = text.matches('.').count();
    let commas = text.matches(',').count();
    let locale = match (dots, commas) {
        (0, 0) => Locale::En,
        (_, 0) if dots > 1 => Locale::De,
        (0, _) if commas > 1 => Locale::En,
        (1, 0) | (0, 1) => {
            let separator = if dots == 1 { '.' } else { ',' };
            let (_, after) = text.split_once(separator).unwrap_or_default();
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if digits == 3 {
                return Err(Problem::AmbiguousAmount);
            }
            if separator == ',' {
                Locale::De
            } else {
                Locale::En
            }
        }
        _ => {
            if text.rfind(',') > text.rfind('.') {
                Locale::De
            } else {
                Locale::En
            }
        }
    };
    Money::parse(text, currency, locale).map_err(|error| Problem::Invalid { error })
}

/// How the export writes a price: the decimal comma in `;` files (German Excel reads it as a
/// number), the decimal point otherwise; two decimals, never ambiguous for [`parse_price`].
pub(super) fn format_price(minor: i64, currency: Currency, decimal_comma: bool) -> String {
    let locale = if decimal_comma {
        Locale::De
    } else {
        Locale::En
    };
    match Money::new(minor, currency) {
        Ok(money) => money.format_amount(locale),
        // Stored prices are checked on the way in; should one be out of range, write it
        // plainly so the import reports it instead of the export hiding it.
        Err(_) => format!("{}.{:02}", minor / 100, (minor % 100).abs()),
    }
}

#[cfg(test)]
mod tests {
    use shopmarkets_types::FieldError;

    use super::*;

    fn minor(text: &str) -> Result<i64, Problem> {
        parse_price(text, Currency::Eur).map(Money::minor)
    }

    #[test]
    fn both_decimal_habits_are_read() {
        assert_eq!(minor("12,99"), Ok(1299));
        assert_eq!(minor("12.99"), Ok(1299));
        assert_eq!(minor("12,5"), Ok(1250));
        assert_eq!(minor("12"), Ok(1200));
        assert_eq!(minor("1.234,56"), Ok(123_456));
        assert_eq!(minor("1,234.56"), Ok(123_456));
        assert_eq!(minor("1.234.567"), Ok(123_456_700));
        assert_eq!(minor("1,234,567"), Ok(123_456_700));
        assert_eq!(minor("12,99 €"), Ok(1299));
        assert_eq!(minor("€12.99"), Ok(1299));
        assert_eq!(minor("1234,00"), Ok(123_400));
    }

    #[test]
    fn three_digits_after_one_separator_are_refused() {
        assert_eq!(minor("1.234"), Err(Problem::AmbiguousAmount));
        assert_eq!(minor("1,234"), Err(Problem::AmbiguousAmount));
        assert_eq!(minor("0,125"), Err(Problem::AmbiguousAmount));
    }

    #[test]
    fn the_editor_rules_apply() {
        let refused = |text: &str| match minor(text) {
            Err(Problem::Invalid { error }) => error,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(refused("-1,00"), FieldError::NegativeAmount);
        assert_eq!(refused("12,9999"), FieldError::TooManyDecimals);
        assert_eq!(refused("zwölf"), FieldError::InvalidAmount);
        assert_eq!(refused(""), FieldError::Required);
        assert_eq!(refused("1.2.3,4"), FieldError::InvalidAmount);
    }

    #[test]
    fn exported_prices_read_back() {
        for cents in [0, 5, 1299, 123_456, 1_000_000_000] {
            for comma in [true, false] {
                let text = format_price(cents, Currency::Eur, comma);
                assert_eq!(minor(&text), Ok(cents), "{text}");
            }
        }
    }
}
