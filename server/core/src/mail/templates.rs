//! The texts of the emails the product sends, in German and English.

use shopmarkets_types::Locale;

use super::Email;

/// "Please confirm your address", with the single-use link.
pub fn verify_email(to: &str, locale: Locale, link: &str) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            "Bitte bestätigen Sie Ihre E-Mail-Adresse",
            format!(
                "Willkommen bei ShopMarkets!\n\nBitte bestätigen Sie Ihre E-Mail-Adresse mit diesem Link \
                 (48 Stunden gültig, nur einmal verwendbar):\n\n{link}\n\n\
                 Wenn Sie sich nicht registriert haben, können Sie diese Nachricht ignorieren."
            ),
        ),
        Locale::En => (
            "Please confirm your email address",
            format!(
                "Welcome to ShopMarkets!\n\nPlease confirm your email address with this link \
                 (valid for 48 hours, works once):\n\n{link}\n\n\
                 If you did not sign up, you can ignore this message."
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "verify_email",
        locale,
        subject: subject.to_owned(),
        body_text: body,
    }
}

/// Sent instead of a second account when someone registers with an address that has one:
/// the page says the same as for a new account, so nobody learns which addresses exist.
pub fn already_registered(to: &str, locale: Locale, login_link: &str) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            "Sie haben bereits ein Konto bei ShopMarkets",
            format!(
                "Jemand – vielleicht Sie – wollte mit dieser Adresse ein neues Konto anlegen. \
                 Es gibt bereits eines.\n\nHier melden Sie sich an:\n\n{login_link}\n\n\
                 Wenn Sie das nicht waren, müssen Sie nichts tun."
            ),
        ),
        Locale::En => (
            "You already have a ShopMarkets account",
            format!(
                "Someone – perhaps you – tried to create a new account with this address. \
                 One already exists.\n\nSign in here:\n\n{login_link}\n\n\
                 If this was not you, there is nothing to do."
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "already_registered",
        locale,
        subject: subject.to_owned(),
        body_text: body,
    }
}
