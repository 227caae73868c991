//! The texts of the emails the product sends, in German and English.

use shopmarkets_types::Locale;

use super::Email;
use crate::entity::membership::Role;

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

/// An invitation into an organization, with the single-use link to accept it. `inviter` and
/// `organization` are plain text (the email has no HTML part).
pub fn invitation(
    to: &str,
    locale: Locale,
    inviter: &str,
    organization: &str,
    role: Role,
    link: &str,
) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            format!("Einladung zu {organization} bei ShopMarkets"),
            format!(
                "{inviter} lädt Sie ein, der Organisation „{organization}“ bei ShopMarkets als \
                 {role} beizutreten.\n\nMit diesem Link nehmen Sie die Einladung an \
                 (7 Tage gültig, nur einmal verwendbar):\n\n{link}\n\n\
                 Melden Sie sich dazu mit dieser E-Mail-Adresse an oder legen Sie ein Konto an. \
                 Wenn Sie die Einladung nicht erwartet haben, können Sie diese Nachricht ignorieren.",
                role = role_name(role, locale)
            ),
        ),
        Locale::En => (
            format!("Invitation to {organization} on ShopMarkets"),
            format!(
                "{inviter} invites you to join the organization “{organization}” on ShopMarkets \
                 as {role}.\n\nAccept the invitation with this link \
                 (valid for 7 days, works once):\n\n{link}\n\n\
                 Sign in with this email address, or create an account with it. \
                 If you did not expect this invitation, you can ignore this message.",
                role = role_name(role, locale)
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "invitation",
        locale,
        subject,
        body_text: body,
    }
}

/// A role as the emails name it.
fn role_name(role: Role, locale: Locale) -> &'static str {
    match (role, locale) {
        (Role::Owner, Locale::De) => "Inhaber",
        (Role::Owner, Locale::En) => "owner",
        (Role::Admin, Locale::De) => "Administrator",
        (Role::Admin, Locale::En) => "admin",
        (Role::Editor, Locale::De) => "Bearbeiter",
        (Role::Editor, Locale::En) => "editor",
        (Role::Viewer, Locale::De) => "Betrachter",
        (Role::Viewer, Locale::En) => "viewer",
    }
}

/// The link to choose a new password.
pub fn reset_password(to: &str, locale: Locale, link: &str) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            "Neues Passwort für ShopMarkets",
            format!(
                "Sie haben ein neues Passwort angefordert. Mit diesem Link wählen Sie es \
                 (1 Stunde gültig, nur einmal verwendbar):\n\n{link}\n\n\
                 Danach werden alle Sitzungen Ihres Kontos beendet. Wenn Sie das nicht \
                 angefordert haben, können Sie diese Nachricht ignorieren; Ihr Passwort bleibt."
            ),
        ),
        Locale::En => (
            "A new password for ShopMarkets",
            format!(
                "You asked for a new password. Choose it with this link \
                 (valid for 1 hour, works once):\n\n{link}\n\n\
                 Afterwards every session of your account is ended. If you did not ask for \
                 this, you can ignore this message; your password stays as it is."
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "reset_password",
        locale,
        subject: subject.to_owned(),
        body_text: body,
    }
}

/// Confirmation that the password was changed, so an owner notices a change they did not make.
pub fn password_changed(to: &str, locale: Locale) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            "Ihr ShopMarkets-Passwort wurde geändert",
            "Das Passwort Ihres ShopMarkets-Kontos wurde soeben geändert; Ihre anderen \
             Sitzungen wurden beendet.\n\nWenn Sie das nicht selbst waren, setzen Sie Ihr \
             Passwort sofort über „Passwort vergessen“ zurück und schalten Sie die \
             Zwei-Faktor-Anmeldung ein."
                .to_owned(),
        ),
        Locale::En => (
            "Your ShopMarkets password was changed",
            "The password of your ShopMarkets account was just changed; your other sessions \
             were ended.\n\nIf this was not you, reset your password at once with \
             “Forgot password” and turn on two-factor sign-in."
                .to_owned(),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "password_changed",
        locale,
        subject: subject.to_owned(),
        body_text: body,
    }
}

/// Many failed sign-in attempts on the account: tell the owner, and how to end a lock-out.
pub fn suspicious_sign_ins(to: &str, locale: Locale, reset_link: &str) -> Email {
    let (subject, body) = match locale {
        Locale::De => (
            "Fehlgeschlagene Anmeldeversuche bei Ihrem ShopMarkets-Konto",
            format!(
                "Bei Ihrem Konto gab es mehrere fehlgeschlagene Anmeldeversuche. Weitere \
                 Versuche werden deshalb vorübergehend gebremst.\n\nWaren Sie das nicht, \
                 ist Ihr Konto dennoch geschützt, solange Ihr Passwort sicher ist. Wenn Sie \
                 sich selbst nicht mehr anmelden können, setzen Sie Ihr Passwort zurück – \
                 das hebt die Sperre sofort auf:\n\n{reset_link}"
            ),
        ),
        Locale::En => (
            "Failed sign-in attempts on your ShopMarkets account",
            format!(
                "There were several failed attempts to sign in to your account, so further \
                 attempts are slowed down for a while.\n\nIf this was not you, your account \
                 is still safe as long as your password is. If you cannot sign in yourself, \
                 reset your password – that lifts the block at once:\n\n{reset_link}"
            ),
        ),
    };
    Email {
        to: to.to_owned(),
        kind: "suspicious_sign_ins",
        locale,
        subject: subject.to_owned(),
        body_text: body,
    }
}
