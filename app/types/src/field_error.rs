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
    /// The value is taken already (a SKU another variant has, an option combination twice).
    AlreadyExists,
    /// The current password, asked again before a security change (2FA on or off), is wrong.
    WrongPassword,
    /// A two-factor or recovery code is wrong, expired or was used before (deliberately one
    /// message for all three).
    WrongCode,
    /// Not 8, 12, 13 or 14 digits (after removing spaces and hyphens).
    InvalidGtin,
    /// The right length, but the GS1 check digit does not match: a typo.
    GtinCheckDigit,
    /// A SKU with characters other than ASCII letters, digits and `-_./`.
    InvalidSkuCharacters,
    /// A currency code the product does not support.
    UnknownCurrency,
    /// Not a number in the format of the UI language.
    InvalidAmount,
    /// More digits after the decimal separator than the currency has (two).
    TooManyDecimals,
    /// Above the largest price accepted (10 million).
    AmountTooLarge,
    /// Prices and amounts are never below zero.
    NegativeAmount,
    /// The input names a different currency than the field's one (`12 $` for a euro price).
    OtherCurrency,
    /// A whole number was expected (stock, weight, dimensions).
    InvalidNumber,
    /// A number outside the accepted range.
    OutOfRange {
        min: i64,
        max: i64,
    },
    /// The entry the input refers to is gone (deleted in another tab, say).
    NotFound,
    /// The option axes changed while some variants were left out: those would keep values for
    /// the old axes.
    OptionAxesChanged,
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
            (Self::AlreadyExists, Locale::De) => {
                "Dieser Wert ist schon vergeben. Bitte wählen Sie einen anderen.".into()
            }
            (Self::AlreadyExists, Locale::En) => {
                "This value is already taken. Please choose another one.".into()
            }
            (Self::WrongPassword, Locale::De) => "Das Passwort ist nicht richtig.".into(),
            (Self::WrongPassword, Locale::En) => "The password is not correct.".into(),
            (Self::WrongCode, Locale::De) => {
                "Der Code ist nicht richtig oder abgelaufen. Bitte geben Sie den aktuellen Code ein.".into()
            }
            (Self::WrongCode, Locale::En) => {
                "The code is wrong or has expired. Please enter the current code.".into()
            }
            (Self::InvalidGtin, Locale::De) => {
                "Das ist keine gültige GTIN/EAN. Bitte geben Sie 8, 12, 13 oder 14 Ziffern ein.".into()
            }
            (Self::InvalidGtin, Locale::En) => {
                "This is not a valid GTIN/EAN. Please enter 8, 12, 13 or 14 digits.".into()
            }
            (Self::GtinCheckDigit, Locale::De) => {
                "Die Prüfziffer (letzte Ziffer) passt nicht zu dieser GTIN/EAN. Bitte prüfen Sie die Nummer auf Tippfehler.".into()
            }
            (Self::GtinCheckDigit, Locale::En) => {
                "The check digit (last digit) does not match this GTIN/EAN. Please check the number for typos.".into()
            }
            (Self::InvalidSkuCharacters, Locale::De) => {
                "Die SKU darf nur Buchstaben A–Z, Ziffern und die Zeichen - _ . / enthalten (keine Leerzeichen oder Umlaute), sonst lehnen Marktplätze sie ab.".into()
            }
            (Self::InvalidSkuCharacters, Locale::En) => {
                "The SKU may only contain letters A–Z, digits and the characters - _ . / (no spaces or accented letters), otherwise marketplaces reject it.".into()
            }
            (Self::UnknownCurrency, Locale::De) => {
                "Diese Währung wird nicht unterstützt. Möglich sind EUR, CHF, GBP, PLN, SEK, DKK, CZK und USD.".into()
            }
            (Self::UnknownCurrency, Locale::En) => {
                "This currency is not supported. Please use EUR, CHF, GBP, PLN, SEK, DKK, CZK or USD.".into()
            }
            (Self::InvalidAmount, Locale::De) => {
                "Das ist kein gültiger Betrag (Beispiel: 12,99 oder 1.234,56).".into()
            }
            (Self::InvalidAmount, Locale::En) => {
                "This is not a valid amount (for example 12.99 or 1,234.56).".into()
            }
            (Self::InvalidNumber, Locale::De) => "Bitte eine ganze Zahl eingeben.".into(),
            (Self::InvalidNumber, Locale::En) => "Please enter a whole number.".into(),
            (Self::OutOfRange { min, max }, Locale::De) => {
                format!("Bitte einen Wert zwischen {min} und {max} eingeben.")
            }
            (Self::OutOfRange { min, max }, Locale::En) => {
                format!("Please enter a value between {min} and {max}.")
            }
            (Self::NotFound, Locale::De) => {
                "Dieser Eintrag existiert nicht mehr. Bitte laden Sie die Seite neu.".into()
            }
            (Self::NotFound, Locale::En) => {
                "This entry no longer exists. Please reload the page.".into()
            }
            (Self::OptionAxesChanged, Locale::De) => {
                "Wenn sich die Optionen ändern, müssen alle Varianten mitgegeben werden.".into()
            }
            (Self::OptionAxesChanged, Locale::En) => {
                "When the options change, every variant must be included.".into()
            }
            (Self::TooManyDecimals, Locale::De) => {
                "Bitte höchstens zwei Nachkommastellen angeben.".into()
            }
            (Self::TooManyDecimals, Locale::En) => "Please use at most two decimal places.".into(),
            (Self::AmountTooLarge, Locale::De) => {
                "Der Betrag ist zu hoch (höchstens 10 Millionen).".into()
            }
            (Self::AmountTooLarge, Locale::En) => {
                "The amount is too large (at most 10 million).".into()
            }
            (Self::NegativeAmount, Locale::De) => "Der Betrag darf nicht negativ sein.".into(),
            (Self::NegativeAmount, Locale::En) => "The amount must not be negative.".into(),
            (Self::OtherCurrency, Locale::De) => {
                "Der Betrag ist in einer anderen Währung als dieses Feld angegeben. Bitte nur die Zahl eingeben.".into()
            }
            (Self::OtherCurrency, Locale::En) => {
                "The amount is in a different currency than this field. Please enter the number only.".into()
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
            FieldError::AlreadyExists,
            FieldError::WrongPassword,
            FieldError::WrongCode,
            FieldError::InvalidGtin,
            FieldError::GtinCheckDigit,
            FieldError::InvalidSkuCharacters,
            FieldError::UnknownCurrency,
            FieldError::InvalidAmount,
            FieldError::TooManyDecimals,
            FieldError::AmountTooLarge,
            FieldError::NegativeAmount,
            FieldError::OtherCurrency,
            FieldError::InvalidNumber,
            FieldError::OutOfRange { min: 0, max: 10 },
            FieldError::NotFound,
            FieldError::OptionAxesChanged,
        ];
        for error in all {
            let (de, en) = (error.message(Locale::De), error.message(Locale::En));
            assert!(!de.is_empty() && !en.is_empty());
            assert_ne!(de, en, "{error:?}");
        }
        // The currency list in the message is the supported one.
        for currency in crate::Currency::ALL {
            for locale in Locale::ALL {
                let message = FieldError::UnknownCurrency.message(locale);
                assert!(message.contains(currency.code()), "{message}");
            }
        }
        assert!(
            FieldError::TooShort { min: 12 }
                .message(Locale::De)
                .contains("12")
        );
    }
}
