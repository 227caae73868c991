//! German and English for every word the UI shows.
//!
//! Each language is one [`Texts`] value: a missing translation is a compile error, not a
//! runtime surprise. The language comes from the `sm_lang` cookie, else the browser's
//! `Accept-Language`, else German; the server renders `<html lang>` from it and the browser
//! reads it back when it hydrates, so both sides agree.

use leptos::prelude::*;

/// The cookie that remembers the chosen language.
pub const LOCALE_COOKIE: &str = "sm_lang";

pub use shopmarkets_types::Locale;

// Each feature keeps its texts in a section of its own (one file, both languages), reached as
// `texts.get().auth.login_title`; the top-level struct holds the shell's shared texts.
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod catalog_list;
pub mod connections;
pub mod members;
pub mod security;

pub use auth::AuthTexts;

/// The texts of a language.
pub fn texts_of(locale: Locale) -> &'static Texts {
    match locale {
        Locale::De => &DE,
        Locale::En => &EN,
    }
}

/// Provides the page's language as a signal and returns it.
pub fn provide_locale() -> RwSignal<Locale> {
    let locale = RwSignal::new(initial_locale());
    provide_context(locale);
    locale
}

/// The language signal of the current page.
pub fn use_locale() -> RwSignal<Locale> {
    use_context::<RwSignal<Locale>>().unwrap_or_else(|| RwSignal::new(Locale::default()))
}

/// The texts of the current language, following language switches.
pub fn use_texts() -> Signal<&'static Texts> {
    let locale = use_locale();
    Signal::derive(move || texts_of(locale.get()))
}

#[cfg(feature = "ssr")]
fn initial_locale() -> Locale {
    use_context::<http::request::Parts>()
        .map(|parts| locale_of_request(&parts.headers))
        .unwrap_or_default()
}

/// The language a request asks for: the cookie first, then `Accept-Language`, then German.
#[cfg(feature = "ssr")]
pub fn locale_of_request(headers: &http::HeaderMap) -> Locale {
    let from_cookie = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LOCALE_COOKIE)
        .and_then(|(_, value)| Locale::from_code(value));
    from_cookie
        .or_else(|| {
            headers
                .get(http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        })
        .unwrap_or_default()
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn initial_locale() -> Locale {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|lang| Locale::from_code(&lang))
        .unwrap_or_default()
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn initial_locale() -> Locale {
    Locale::default()
}

/// Picks one text out of a language, so a choice of text can be made before the language is
/// known (and follow a language switch).
pub type TextOf = fn(&Texts) -> &'static str;

/// Every text of the UI in one language.
pub struct Texts {
    pub meta_description: &'static str,
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub menu: &'static str,
    pub language: &'static str,
    pub nav_dashboard: &'static str,
    pub nav_products: &'static str,
    pub nav_connections: &'static str,
    pub nav_orders: &'static str,
    pub nav_sync: &'static str,
    pub nav_settings: &'static str,
    pub nav_privacy: &'static str,
    pub dashboard_intro: &'static str,
    pub system_heading: &'static str,
    pub system_version: &'static str,
    pub system_database: &'static str,
    pub system_schema: &'static str,
    pub system_migrations: &'static str,
    pub system_uptime: &'static str,
    pub system_loading: &'static str,
    pub system_unavailable: &'static str,
    pub not_available_yet: &'static str,
    pub orders_plan: &'static str,
    pub sync_plan: &'static str,
    pub settings_plan: &'static str,
    pub privacy_plan: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub back_to_dashboard: &'static str,
    pub error_title: &'static str,
    pub error_text: &'static str,
    pub reload: &'static str,
    pub nav_register: &'static str,
    pub register_intro: &'static str,
    pub field_email: &'static str,
    pub field_password: &'static str,
    pub field_password_hint: &'static str,
    pub field_display_name: &'static str,
    pub field_organization_name: &'static str,
    pub register_submit: &'static str,
    pub register_check_inbox: &'static str,
    pub verify_title: &'static str,
    pub verify_intro: &'static str,
    pub verify_submit: &'static str,
    pub verify_done: &'static str,
    pub verify_invalid: &'static str,
    pub outbox_title: &'static str,
    pub outbox_intro: &'static str,
    pub outbox_empty: &'static str,
    pub request_failed: &'static str,
    pub auth: &'static AuthTexts,
    pub audit: &'static audit::AuditTexts,
    pub members: &'static members::MembersTexts,
    pub api_keys: &'static api_keys::ApiKeysTexts,
    pub catalog_list: &'static catalog_list::CatalogListTexts,
    pub catalog: &'static catalog::CatalogTexts,
    pub connections: &'static connections::ConnectionsTexts,
    pub security: &'static security::SecurityTexts,
}

pub static DE: Texts = Texts {
    meta_description: "ShopMarkets: ein Katalog, alle Marktplätze – Bestand, Preise und Bestellungen synchron.",
    skip_to_content: "Zum Inhalt springen",
    nav_label: "Hauptnavigation",
    menu: "Menü",
    language: "Sprache",
    nav_dashboard: "Übersicht",
    nav_products: "Produkte",
    nav_connections: "Verbindungen",
    nav_orders: "Bestellungen",
    nav_sync: "Synchronisation",
    nav_settings: "Einstellungen",
    nav_privacy: "Datenschutz",
    dashboard_intro: "Ein Katalog für alle Ihre Shops und Marktplätze. Hier sehen Sie auf einen Blick, wie es um Ihr System steht.",
    system_heading: "System",
    system_version: "Version",
    system_database: "Datenbank",
    system_schema: "Schema",
    system_migrations: "Migrationen",
    system_uptime: "Läuft seit",
    system_loading: "Wird geladen …",
    system_unavailable: "Der Systemstatus ist gerade nicht abrufbar. Bitte laden Sie die Seite in einigen Sekunden neu.",
    not_available_yet: "Noch nicht verfügbar",
    orders_plan: "Hier laufen bald die Bestellungen aller Kanäle zusammen; jede Bestellung reserviert sofort Bestand.",
    sync_plan: "Hier sehen Sie bald, was an welchen Kanal übertragen wird, was wartet und was fehlgeschlagen ist – mit dem Grund.",
    settings_plan: "Hier verwalten Sie bald Ihr Konto, Ihr Team mit Rollen, Zwei-Faktor-Anmeldung, Sitzungen und API-Schlüssel.",
    privacy_plan: "Hier finden Sie bald Einwilligungen, den Export Ihrer Daten, die Löschung Ihres Kontos und die Aufbewahrungsfristen.",
    not_found_title: "Seite nicht gefunden",
    not_found_text: "Diese Adresse gibt es bei ShopMarkets nicht. Vielleicht hat sich ein Tippfehler eingeschlichen.",
    back_to_dashboard: "Zur Übersicht",
    error_title: "Etwas ist schiefgegangen",
    error_text: "Dieser Teil der Seite konnte nicht angezeigt werden. Ihre Daten sind sicher; bitte laden Sie die Seite neu.",
    reload: "Neu laden",
    nav_register: "Konto anlegen",
    register_intro: "Legen Sie Ihr Konto und Ihre Organisation an. Sie sind deren Inhaber und können später Ihr Team einladen.",
    field_email: "E-Mail-Adresse",
    field_password: "Passwort",
    field_password_hint: "Mindestens 12 Zeichen. Ein Satz, den nur Sie kennen, ist ideal.",
    field_display_name: "Ihr Name",
    field_organization_name: "Name Ihrer Firma oder Ihres Shops",
    register_submit: "Konto anlegen",
    register_check_inbox: "Fast geschafft: Wir haben Ihnen eine E-Mail geschickt. Bitte bestätigen Sie Ihre Adresse mit dem Link darin. Kommt nichts an, prüfen Sie den Spam-Ordner.",
    verify_title: "E-Mail-Adresse bestätigen",
    verify_intro: "Bestätigen Sie mit einem Klick, dass diese Adresse Ihnen gehört.",
    verify_submit: "Adresse bestätigen",
    verify_done: "Danke! Ihre E-Mail-Adresse ist bestätigt.",
    verify_invalid: "Dieser Link ist ungültig, wurde schon verwendet oder ist abgelaufen.",
    outbox_title: "Postausgang (Entwicklung)",
    outbox_intro: "Nur in der Entwicklung: die E-Mails, die ShopMarkets verschickt hätte.",
    outbox_empty: "Noch keine E-Mails.",
    request_failed: "Das hat nicht geklappt. Bitte versuchen Sie es in einem Moment noch einmal.",
    auth: &auth::DE,
    audit: &audit::DE,
    members: &members::DE,
    api_keys: &api_keys::DE,
    catalog_list: &catalog_list::DE,
    catalog: &catalog::DE,
    connections: &connections::DE,
    security: &security::DE,
};

pub static EN: Texts = Texts {
    meta_description: "ShopMarkets: one catalog, every marketplace – stock, prices and orders in sync.",
    skip_to_content: "Skip to content",
    nav_label: "Main navigation",
    menu: "Menu",
    language: "Language",
    nav_dashboard: "Dashboard",
    nav_products: "Products",
    nav_connections: "Connections",
    nav_orders: "Orders",
    nav_sync: "Sync",
    nav_settings: "Settings",
    nav_privacy: "Privacy",
    dashboard_intro: "One catalog for all your shops and marketplaces. This is how your system is doing right now.",
    system_heading: "System",
    system_version: "Version",
    system_database: "Database",
    system_schema: "Schema",
    system_migrations: "Migrations",
    system_uptime: "Up for",
    system_loading: "Loading …",
    system_unavailable: "The system status cannot be read right now. Please reload the page in a few seconds.",
    not_available_yet: "Not available yet",
    orders_plan: "Orders from every channel will come together here; each one reserves stock the moment it arrives.",
    sync_plan: "This is where you will see what goes to which channel, what is waiting and what failed – and why.",
    settings_plan: "This is where you will manage your account, your team and roles, two-factor sign-in, sessions and API keys.",
    privacy_plan: "This is where you will find consents, the export of your data, account deletion and retention periods.",
    not_found_title: "Page not found",
    not_found_text: "This address does not exist in ShopMarkets. Perhaps a typo slipped in.",
    back_to_dashboard: "Back to the dashboard",
    error_title: "Something went wrong",
    error_text: "This part of the page could not be shown. Your data is safe; please reload the page.",
    reload: "Reload",
    nav_register: "Sign up",
    register_intro: "Create your account and your organization. You will be its owner and can invite your team later.",
    field_email: "Email address",
    field_password: "Password",
    field_password_hint: "At least 12 characters. A sentence only you know is ideal.",
    field_display_name: "Your name",
    field_organization_name: "Name of your company or shop",
    register_submit: "Create account",
    register_check_inbox: "Almost done: we have sent you an email. Please confirm your address with the link in it. If nothing arrives, check your spam folder.",
    verify_title: "Confirm your email address",
    verify_intro: "Confirm with one click that this address is yours.",
    verify_submit: "Confirm address",
    verify_done: "Thank you! Your email address is confirmed.",
    verify_invalid: "This link is invalid, has already been used or has expired.",
    outbox_title: "Outbox (development)",
    outbox_intro: "Development only: the emails ShopMarkets would have sent.",
    outbox_empty: "No emails yet.",
    request_failed: "That did not work. Please try again in a moment.",
    auth: &auth::EN,
    audit: &audit::EN,
    members: &members::EN,
    api_keys: &api_keys::EN,
    catalog_list: &catalog_list::EN,
    catalog: &catalog::EN,
    connections: &connections::EN,
    security: &security::EN,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn cookie_wins_over_accept_language() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT_LANGUAGE, "en-GB".parse().unwrap());
        assert_eq!(locale_of_request(&headers), Locale::En);
        headers.insert(
            http::header::COOKIE,
            "a=1; sm_lang=de; b=2".parse().unwrap(),
        );
        assert_eq!(locale_of_request(&headers), Locale::De);
        headers.insert(http::header::COOKIE, "sm_lang=klingon".parse().unwrap());
        assert_eq!(locale_of_request(&headers), Locale::En);
        assert_eq!(locale_of_request(&http::HeaderMap::new()), Locale::De);
    }
}
