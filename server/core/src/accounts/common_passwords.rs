//! The 10,000 most common passwords (the zxcvbn frequency list, lower-case), refused at
//! registration and password change as SECURITY.md asks.

use std::{collections::HashSet, sync::OnceLock};

use shopmarkets_types::{FieldError, Password};

static LIST: &str = include_str!("common-passwords.txt");

fn set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| LIST.lines().filter(|l| !l.is_empty()).collect())
}

/// Whether the password is on the list, ignoring case (the list is lower-case, and
/// `Password1234` is no better than `password1234`).
pub fn is_common(password: &str) -> bool {
    set().contains(password.to_lowercase().as_str())
}

/// The server-side half of the password rule: [`Password::parse`] checks length (in the
/// browser too); this refuses the common ones.
pub fn ensure_uncommon(password: &Password) -> Result<(), FieldError> {
    if is_common(password.expose()) {
        Err(FieldError::CommonPassword)
    } else {
        Ok(())
    }
}

/// How many passwords the list holds.
pub fn len() -> usize {
    set().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_the_top_ten_thousand() {
        assert!(len() >= 10_000 - 50, "{}", len()); // a few duplicates after lower-casing
        for common in ["123456", "password", "qwerty", "iloveyou"] {
            assert!(is_common(common), "{common}");
        }
    }

    #[test]
    fn long_common_passwords_are_caught_in_any_case() {
        let long_ones: Vec<&str> = LIST.lines().filter(|l| l.chars().count() >= 12).collect();
        assert!(!long_ones.is_empty());
        for p in long_ones {
            assert!(is_common(&p.to_uppercase()), "{p}");
        }
    }

    #[test]
    fn typed_passwords_get_a_field_error() {
        let common = Password::parse("LeaveMeAlone").unwrap();
        assert!(is_common("leavemealone"), "precondition: on the list");
        assert_eq!(ensure_uncommon(&common), Err(FieldError::CommonPassword));
        let fine = Password::parse("Heftklammer Batterie 42").unwrap();
        assert_eq!(ensure_uncommon(&fine), Ok(()));
    }

    #[test]
    fn uncommon_passwords_pass() {
        assert!(!is_common("korrekt Pferd Batterie Heftklammer"));
        assert!(!is_common("ünïcødé-passwört-🔑"));
    }
}
