//! The typed inputs of accounts and organizations. Each `parse` is the whole rule: length is
//! counted in Unicode scalar values, limits are checked before anything expensive happens.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A normalized email address: surrounding whitespace removed, lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;
    const MAX_LOCAL_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FieldError::Required);
        }
        if value.chars().count() > Self::MAX_LEN {
            return Err(FieldError::TooLong { max: Self::MAX_LEN });
        }
        let (local, domain) = value.rsplit_once('@').ok_or(FieldError::InvalidEmail)?;
        let local_ok = !local.is_empty()
            && local.chars().count() <= Self::MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"@".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
        if !(local_ok && domain_ok) {
            return Err(FieldError::InvalidEmail);
        }
        Ok(Self(value.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part, e.g. for choosing a mail route.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Debug for EmailAddress {
    /// Email addresses are personal data: logs get the domain only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress(…@{})", self.domain())
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

/// A password as typed: 12 to 128 characters, never trimmed or changed, no composition rules
/// (NIST SP 800-63B). `Debug` never shows it, and it is not `Serialize`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 12;
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: impl Into<String>) -> Result<Self, FieldError> {
        let value: String = input.into();
        // Count without walking a huge input to its end: a 1 MiB password is refused fast.
        let length = value.chars().take(Self::MAX_LEN + 1).count();
        match length {
            0 => Err(FieldError::Required),
            n if n < Self::MIN_LEN => Err(FieldError::TooShort { min: Self::MIN_LEN }),
            n if n > Self::MAX_LEN => Err(FieldError::TooLong { max: Self::MAX_LEN }),
            _ => Ok(Self(value)),
        }
    }

    /// The password itself, for hashing. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl TryFrom<String> for Password {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

/// Trims, then checks length and control characters; shared by the name types below.
fn parse_name(input: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let value = input.trim();
    let length = value.chars().take(max + 1).count();
    if length == 0 {
        return Err(FieldError::Required);
    }
    if length < min {
        return Err(FieldError::TooShort { min });
    }
    if length > max {
        return Err(FieldError::TooLong { max });
    }
    if value.chars().any(char::is_control) {
        return Err(FieldError::ControlCharacters);
    }
    Ok(value.to_owned())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MIN_LEN: usize = $min;
            pub const MAX_LEN: usize = $max;

            pub fn parse(input: &str) -> Result<Self, FieldError> {
                parse_name(input, Self::MIN_LEN, Self::MAX_LEN).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

name_type!(
    /// The name of a merchant's organization, as shown to its members (2–120 characters).
    OrganizationName,
    2,
    120
);
name_type!(
    /// How a person is addressed in the app (1–120 characters).
    DisplayName,
    1,
    120
);
name_type!(
    /// What a merchant calls an API key, to tell keys apart ("ERP sync"; 1–80 characters).
    ApiKeyName,
    1,
    80
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        let email = EmailAddress::parse("  Erika.Mustermann@Example.DE ").unwrap();
        assert_eq!(email.as_str(), "erika.mustermann@example.de");
        assert_eq!(email.domain(), "example.de");
        assert!(EmailAddress::parse("a+tag@sub.example.com").is_ok());
        assert_eq!(EmailAddress::parse("   "), Err(FieldError::Required));
        for bad in [
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@b.c",
            "a b@example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.com'); DROP TABLE users; --",
            "<script>@example.com",
            "a@example.123",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(FieldError::InvalidEmail),
                "{bad}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            EmailAddress::parse(&long),
            Err(FieldError::TooLong { max: 254 })
        );
    }

    #[test]
    fn email_debug_hides_the_local_part() {
        let email = EmailAddress::parse("erika@example.de").unwrap();
        assert_eq!(format!("{email:?}"), "EmailAddress(…@example.de)");
    }

    #[test]
    fn passwords_count_unicode_scalars_and_are_never_trimmed() {
        assert_eq!(Password::parse(""), Err(FieldError::Required));
        assert_eq!(
            Password::parse("elevenchars"),
            Err(FieldError::TooShort { min: 12 })
        );
        assert!(Password::parse("twelve chars").is_ok());
        // 12 scalar values, 36 bytes: long enough.
        assert!(Password::parse("ääääääüüüüüü").is_ok());
        assert_eq!(
            Password::parse("  spaced  pw  ").unwrap().expose(),
            "  spaced  pw  "
        );
        assert!(Password::parse("🔑".repeat(128)).is_ok());
        assert_eq!(
            Password::parse("🔑".repeat(129)),
            Err(FieldError::TooLong { max: 128 })
        );
        let huge = "x".repeat(1 << 20);
        assert_eq!(Password::parse(huge), Err(FieldError::TooLong { max: 128 }));
    }

    #[test]
    fn password_debug_never_shows_it() {
        let password = Password::parse("canary-password-1234").unwrap();
        assert!(!format!("{password:?}").contains("canary"));
    }

    #[test]
    fn names_are_trimmed_and_limited() {
        assert_eq!(
            OrganizationName::parse("  Muster GmbH ").unwrap().as_str(),
            "Muster GmbH"
        );
        assert_eq!(
            OrganizationName::parse("A"),
            Err(FieldError::TooShort { min: 2 })
        );
        assert_eq!(
            OrganizationName::parse(&"ß".repeat(121)),
            Err(FieldError::TooLong { max: 120 })
        );
        assert_eq!(
            DisplayName::parse("Erika\u{0}"),
            Err(FieldError::ControlCharacters)
        );
        assert_eq!(DisplayName::parse("\t\n"), Err(FieldError::Required));
        // HTML and SQL are just text here; escaping happens where text is rendered.
        assert!(OrganizationName::parse("<b>Shop</b> '; DROP TABLE x; --").is_ok());
    }

    #[test]
    fn deserializing_applies_the_same_rules() {
        let ok: EmailAddress = serde_json_like("\"A@Example.com\"").unwrap();
        assert_eq!(ok.as_str(), "a@example.com");
        assert!(serde_json_like::<EmailAddress>("\"nope\"").is_err());
        assert!(serde_json_like::<Password>("\"short\"").is_err());
    }

    /// A tiny JSON-string deserializer, to keep serde_json out of this crate.
    fn serde_json_like<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
        use serde::de::{IntoDeserializer, value::Error};
        let inner = json.trim_matches('"').to_owned();
        let deserializer: serde::de::value::StringDeserializer<Error> = inner.into_deserializer();
        T::deserialize(deserializer).map_err(|e| e.to_string())
    }
}
