//! The first building blocks of the catalog: product identifiers (GTIN, SKU), currencies and
//! prices. Same pattern as [`crate::input`]: `parse` is the whole rule, serde goes through it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{FieldError, Locale};

/// Which of the GS1 lengths a [`Gtin`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GtinKind {
    /// EAN-8, on small packages.
    Gtin8,
    /// UPC-A, North America.
    Gtin12,
    /// EAN-13, the usual European barcode (Kaufland requires one per offer).
    Gtin13,
    /// Trade units such as cartons (ITF-14).
    Gtin14,
}

impl GtinKind {
    /// The number of digits, check digit included.
    pub fn digits(self) -> usize {
        match self {
            Self::Gtin8 => 8,
            Self::Gtin12 => 12,
            Self::Gtin13 => 13,
            Self::Gtin14 => 14,
        }
    }

    /// The name merchants know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::Gtin8 => "EAN-8",
            Self::Gtin12 => "UPC-A",
            Self::Gtin13 => "EAN-13",
            Self::Gtin14 => "GTIN-14",
        }
    }

    fn from_digits(digits: usize) -> Option<Self> {
        match digits {
            8 => Some(Self::Gtin8),
            12 => Some(Self::Gtin12),
            13 => Some(Self::Gtin13),
            14 => Some(Self::Gtin14),
            _ => None,
        }
    }
}

/// A GTIN (EAN-8, UPC-A, EAN-13 or GTIN-14) with a valid GS1 check digit. Spaces and hyphens
/// are removed; the digits are kept in the length they were given (a UPC-A stays 12 digits, it
/// is not padded to 13) — use [`Gtin::to_gtin14`] to compare codes of different lengths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// Longer inputs are refused before any work (14 digits plus generous separators).
    const MAX_INPUT_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::Required);
        }
        if value.len() > Self::MAX_INPUT_LEN {
            return Err(FieldError::InvalidGtin);
        }
        let digits: String = value.chars().filter(|&c| c != ' ' && c != '-').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit())
            || GtinKind::from_digits(digits.len()).is_none()
            // All zeros passes the checksum but is never assigned; it is a placeholder.
            || digits.bytes().all(|b| b == b'0')
        {
            return Err(FieldError::InvalidGtin);
        }
        let (body, check) = digits.as_bytes().split_at(digits.len() - 1);
        if gs1_check_digit(body) != check[0] - b'0' {
            return Err(FieldError::GtinCheckDigit);
        }
        Ok(Self(digits))
    }

    /// The digits, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> GtinKind {
        GtinKind::from_digits(self.0.len()).expect("checked in parse")
    }

    /// The code left-padded with zeros to 14 digits: the same product has the same GTIN-14
    /// whether it was entered as UPC-A or as EAN-13 (for uniqueness checks and lookups).
    pub fn to_gtin14(&self) -> String {
        format!("{:0>14}", self.0)
    }
}

/// The GS1 mod-10 check digit of the digits before it: from the right, weights 3, 1, 3, 1, …
fn gs1_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Gtin {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Gtin> for String {
    fn from(value: Gtin) -> Self {
        value.0
    }
}

/// A merchant's stock-keeping unit: trimmed, 1–64 characters, ASCII letters and digits and
/// `-` `_` `.` `/` only, case preserved.
///
/// The character set is deliberately narrow: marketplaces such as Amazon and Kaufland reject
/// or mangle SKUs with spaces, umlauts or other punctuation, and a SKU that cannot be synced is
/// worse than one refused at entry. The same SKU string is sent to every channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim();
        let length = value.chars().take(Self::MAX_LEN + 1).count();
        if length == 0 {
            return Err(FieldError::Required);
        }
        if length > Self::MAX_LEN {
            return Err(FieldError::TooLong { max: Self::MAX_LEN });
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        {
            return Err(FieldError::InvalidSkuCharacters);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Sku {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sku> for String {
    fn from(value: Sku) -> Self {
        value.0
    }
}

/// The ISO 4217 currencies the product supports. All of them have two minor-unit digits
/// (cents, Rappen, pence, grosze, öre, øre, haléře); [`Money`] relies on that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Eur,
    Chf,
    Gbp,
    Pln,
    Sek,
    Dkk,
    Czk,
    Usd,
}

impl Currency {
    pub const ALL: [Currency; 8] = [
        Self::Eur,
        Self::Chf,
        Self::Gbp,
        Self::Pln,
        Self::Sek,
        Self::Dkk,
        Self::Czk,
        Self::Usd,
    ];

    /// The upper-case ISO 4217 code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Eur => "EUR",
            Self::Chf => "CHF",
            Self::Gbp => "GBP",
            Self::Pln => "PLN",
            Self::Sek => "SEK",
            Self::Dkk => "DKK",
            Self::Czk => "CZK",
            Self::Usd => "USD",
        }
    }

    /// Digits after the decimal separator (ISO 4217 minor unit): 2 for every supported currency.
    pub fn minor_unit_exponent(self) -> u32 {
        2
    }

    /// Reads a code case-insensitively (`eur`, ` Eur `).
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::Required);
        }
        Self::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(value))
            .ok_or(FieldError::UnknownCurrency)
    }

    /// What may stand next to an amount of this currency when it is typed: the code and the
    /// usual symbols. Only used for reading input; [`Money::format`] writes `€` or the code.
    fn markers(self) -> &'static [&'static str] {
        match self {
            Self::Eur => &["EUR", "€"],
            Self::Chf => &["CHF"],
            Self::Gbp => &["GBP", "£"],
            Self::Pln => &["PLN", "zł"],
            Self::Sek => &["SEK", "kr"],
            Self::Dkk => &["DKK", "kr"],
            Self::Czk => &["CZK", "Kč"],
            Self::Usd => &["USD", "US$", "$"],
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_owned()
    }
}

/// A price: integer minor units (cents) of a [`Currency`], never a float. Always between 0 and
/// [`Money::MAX_MINOR`]; the fields are private so that no code path can build another value.
/// Serialized as `{"minor": 1299, "currency": "EUR"}`; deserializing checks the same range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyParts")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoneyParts {
    minor: i64,
    currency: Currency,
}

impl TryFrom<MoneyParts> for Money {
    type Error = FieldError;
    fn try_from(parts: MoneyParts) -> Result<Self, Self::Error> {
        Self::new(parts.minor, parts.currency)
    }
}

/// Minor units per major unit; every supported currency has exponent 2.
const MINOR_PER_MAJOR: i64 = 100;

impl Money {
    /// 10,000,000.00 in minor units: no single price is larger; anything above is a typo.
    pub const MAX_MINOR: i64 = 10_000_000 * MINOR_PER_MAJOR;
    /// Longer inputs are refused before any work.
    const MAX_INPUT_LEN: usize = 64;

    /// A price from minor units; refused when negative or above [`Money::MAX_MINOR`].
    pub fn new(minor: i64, currency: Currency) -> Result<Self, FieldError> {
        if minor < 0 {
            return Err(FieldError::NegativeAmount);
        }
        if minor > Self::MAX_MINOR {
            return Err(FieldError::AmountTooLarge);
        }
        Ok(Self { minor, currency })
    }

    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Reads an amount as a merchant types it in the given UI language: `12,99`, `1.234,56`,
    /// `12`, `12,5` in German; `12.99`, `1,234.56` in English. The currency's code or symbol
    /// may stand before or after it (`12,99 €`, `€12.99`, `CHF 5`), so [`Money::format`]'s
    /// output reads back. Thousands separators must group by three; a German `12.99` is
    /// refused rather than guessed, since a wrong guess is a price off by a factor of 100.
    pub fn parse(input: &str, currency: Currency, locale: Locale) -> Result<Self, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::Required);
        }
        if value.len() > Self::MAX_INPUT_LEN {
            return Err(FieldError::InvalidAmount);
        }
        let (decimal, group) = separators(locale);
        let mut negative = false;
        let mut rest = strip_sign(value, &mut negative);
        rest = strip_marker(rest, currency, true);
        if !negative {
            rest = strip_sign(rest, &mut negative);
        }
        rest = strip_marker(rest, currency, false);
        if rest.is_empty() {
            return Err(FieldError::InvalidAmount);
        }
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || c == decimal || c == group)
        {
            return Err(if mentions_other_currency(value, currency) {
                FieldError::OtherCurrency
            } else {
                FieldError::InvalidAmount
            });
        }
        if negative && rest.bytes().any(|b| matches!(b, b'1'..=b'9')) {
            return Err(FieldError::NegativeAmount);
        }
        let minor = parse_number(rest, decimal, group)?;
        Self::new(minor, currency)
    }

    /// The amount alone with the locale's separators, always two decimals: `1.234,56` (German),
    /// `1,234.56` (English). For input fields whose currency is shown beside them.
    pub fn format_amount(self, locale: Locale) -> String {
        let (decimal, group) = separators(locale);
        let units = self.minor / MINOR_PER_MAJOR;
        let cents = self.minor % MINOR_PER_MAJOR;
        let digits = units.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(group);
            }
            grouped.push(c);
        }
        format!("{grouped}{decimal}{cents:02}")
    }

    /// The price for display: `12,99 €` and `12,99 CHF` in German, `€12.99` and `CHF 12.99`
    /// in English. The space is a no-break space (U+00A0), so the currency never wraps onto a
    /// line of its own.
    pub fn format(self, locale: Locale) -> String {
        let amount = self.format_amount(locale);
        match (self.currency, locale) {
            (Currency::Eur, Locale::De) => format!("{amount}\u{a0}€"),
            (Currency::Eur, Locale::En) => format!("€{amount}"),
            (currency, Locale::De) => format!("{amount}\u{a0}{}", currency.code()),
            (currency, Locale::En) => format!("{}\u{a0}{amount}", currency.code()),
        }
    }

    /// The sum, or `None` for different currencies or a sum above [`Money::MAX_MINOR`].
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Self::new(self.minor.checked_add(other.minor)?, self.currency).ok()
    }

    /// The difference, or `None` for different currencies or a result below zero.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        Self::new(self.minor.checked_sub(other.minor)?, self.currency).ok()
    }
}

/// (decimal separator, thousands separator) of a UI language.
fn separators(locale: Locale) -> (char, char) {
    match locale {
        Locale::De => (',', '.'),
        Locale::En => ('.', ','),
    }
}

/// Removes one leading minus sign (ASCII or U+2212), remembering it.
fn strip_sign<'a>(value: &'a str, negative: &mut bool) -> &'a str {
    match value
        .strip_prefix('-')
        .or_else(|| value.strip_prefix('\u{2212}'))
    {
        Some(rest) => {
            *negative = true;
            rest.trim_start()
        }
        None => value,
    }
}

/// Removes the currency's code or symbol at the start (`prefix`) or end, case-insensitively.
fn strip_marker(value: &str, currency: Currency, prefix: bool) -> &str {
    for marker in currency.markers() {
        let n = marker.len();
        if prefix {
            if let Some(head) = value.get(..n)
                && head.eq_ignore_ascii_case(marker)
            {
                return value[n..].trim_start();
            }
        } else if let Some(split) = value.len().checked_sub(n)
            && let Some(tail) = value.get(split..)
            && tail.eq_ignore_ascii_case(marker)
        {
            return value[..split].trim_end();
        }
    }
    value
}

/// Whether the input names a supported currency other than the field's one (`12 $` in a
/// euro field), to say so instead of "not an amount".
fn mentions_other_currency(value: &str, currency: Currency) -> bool {
    let lower = value.to_lowercase();
    Currency::ALL
        .into_iter()
        .filter(|&other| other != currency)
        .flat_map(Currency::markers)
        .filter(|marker| !currency.markers().contains(marker))
        .any(|marker| lower.contains(&marker.to_lowercase()))
}

/// Digits with at most one decimal separator and thousands separators in groups of three;
/// returns minor units. The caller has checked that only digits and separators remain.
fn parse_number(value: &str, decimal: char, group: char) -> Result<i64, FieldError> {
    let (integer, fraction) = match value.split_once(decimal) {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (value, None),
    };
    let fraction_minor = match fraction {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(FieldError::InvalidAmount);
        }
        Some(f) if f.len() > 2 => return Err(FieldError::TooManyDecimals),
        // `5` is 50 cents, `05` is 5.
        Some(f) => {
            f.parse::<i64>().map_err(|_| FieldError::InvalidAmount)?
                * (if f.len() == 1 { 10 } else { 1 })
        }
    };
    if integer.contains(group) {
        let mut groups = integer.split(group);
        let first = groups.next().unwrap_or_default();
        let first_ok = (1..=3).contains(&first.len()) && !first.starts_with('0');
        if !first_ok || !groups.all(|g| g.len() == 3) {
            return Err(FieldError::InvalidAmount);
        }
    }
    let mut units: i64 = 0;
    for b in integer.bytes().filter(|&b| b != group as u8) {
        units = units * 10 + i64::from(b - b'0');
        // Stops long before overflow: the limit has eight digits.
        if units > Money::MAX_MINOR / MINOR_PER_MAJOR {
            return Err(FieldError::AmountTooLarge);
        }
    }
    Ok(units * MINOR_PER_MAJOR + fraction_minor)
}

#[cfg(test)]
mod tests;
