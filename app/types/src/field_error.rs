//! What is wrong with one field, in words for people.

use serde::{Deserialize, Serialize};

use crate::Locale;

/// Why an input was refused. Serializable, so the server's verdict reaches the browser's form
/// and is shown next to the field it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FieldError {
    Required,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    ControlCharacters,
    InvalidEmail,
    /// The password is among the most common ones (checked on the server only: the list is
    /// too large for the browser bundle).
    CommonPassword,
    /// The invited address already belongs to a member of the organization.
    AlreadyMember,
    /// The current password, asked again before a security change (2FA on or off), is wrong.
    WrongPassword,
    /// A two-factor or recovery code is wrong, expired or was used before (deliberately one
    /// message for all three).
    WrongCode,
}

impl FieldError {
    /// The message in the given language.
    pub fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (Self::Required, Locale::De) => "Bitte füllen Sie dieses Feld aus.".into(),
            (Self::Required, Locale::En) => "Please fill in this field.".into(),
            (Self::TooShort { min }, Locale::De) => format!("Bitte mindestens {min} Zeichen."),
            (Self::TooShort { min }, Locale::En) => format!("Please use at least {min} characters."),
            (Self::TooLong { max }, Locale::De) => format!("Bitte höchstens {max} Zeichen."),
            (Self::TooLong { max }, Locale::En) => format!("Please use at most {max} characters."),
            (Self::ControlCharacters, Locale::De) => {
                "Dieses Feld darf keine Steuerzeichen enthalten.".into()
            }
            (Self::ControlCharacters, Locale::En) => {
                "This field must not contain control characters.".into()
            }
            (Self::InvalidEmail, Locale::De) => {
                "Das ist keine gültige E-Mail-Adresse (Beispiel: name@firma.de).".into()
            }
            (Self::InvalidEmail, Locale::En) => {
                "This is not a valid email address (for example name@company.com).".into()
            }
            (Self::CommonPassword, Locale::De) => {
                "Dieses Passwort ist zu verbreitet und leicht zu erraten. Bitte wählen Sie ein anderes.".into()
            }
            (Self::CommonPassword, Locale::En) => {
                "This password is too common and easy to guess. Please choose another one.".into()
            }
            (Self::AlreadyMember, Locale::De) => {
                "Diese Person ist bereits Mitglied der Organisation.".into()
            }
            (Self::AlreadyMember, Locale::En) => {
                "This person is already a member of the organization.".into()
            }
            (Self::WrongPassword, Locale::De) => "Das Passwort ist nicht richtig.".into(),
            (Self::WrongPassword, Locale::En) => "The password is not correct.".into(),
            (Self::WrongCode, Locale::De) => {
                "Der Code ist nicht richtig oder abgelaufen. Bitte geben Sie den aktuellen Code ein.".into()
            }
            (Self::WrongCode, Locale::En) => {
                "The code is wrong or has expired. Please enter the current code.".into()
            }
        }
    }
}

/// English, for logs and deserialization errors; people get [`FieldError::message`].
impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Locale::En))
    }
}

impl std::error::Error for FieldError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_distinct_german_and_english_text() {
        let all = [
            FieldError::Required,
            FieldError::TooShort { min: 12 },
            FieldError::TooLong { max: 128 },
            FieldError::ControlCharacters,
            FieldError::InvalidEmail,
            FieldError::CommonPassword,
            FieldError::AlreadyMember,
            FieldError::WrongPassword,
            FieldError::WrongCode,
        ];
        for error in all {
            let (de, en) = (error.message(Locale::De), error.message(Locale::En));
            assert!(!de.is_empty() && !en.is_empty());
            assert_ne!(de, en, "{error:?}");
        }
        assert!(
            FieldError::TooShort { min: 12 }
                .message(Locale::De)
                .contains("12")
        );
    }
}
