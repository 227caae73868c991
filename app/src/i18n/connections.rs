//! Texts of the connections page: the connected accounts and their health, connecting a
//! marketplace, disconnecting, and every refusal code of the connection flows in words.

pub struct ConnectionsTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub loading: &'static str,
    pub accounts_heading: &'static str,
    pub empty: &'static str,
    pub read_only: &'static str,
    pub status_active: &'static str,
    pub status_needs_reconnect: &'static str,
    pub status_disconnected: &'static str,
    pub account: &'static str,
    pub scopes: &'static str,
    pub no_scopes: &'static str,
    pub access: &'static str,
    pub access_no_expiry: &'static str,
    pub access_expired: &'static str,
    pub last_success: &'static str,
    pub never: &'static str,
    pub last_error: &'static str,
    pub connected_since: &'static str,
    pub disconnected_since: &'static str,
    pub test: &'static str,
    pub reconnect: &'static str,
    pub disconnect: &'static str,
    pub disconnect_now: &'static str,
    pub cancel: &'static str,
    pub disconnect_explain: &'static str,
    pub tested_ok: &'static str,
    pub tested_failed: &'static str,
    pub disconnected_notice: &'static str,
    pub connected_notice: &'static str,
    pub connect_failed: &'static str,
    pub connect_heading: &'static str,
    pub connect_intro: &'static str,
    pub may_do: &'static str,
    pub not_set_up: &'static str,
    pub not_set_up_hint: &'static str,
    pub connect: &'static str,
    pub redirect_hint: &'static str,
    pub shop_domain: &'static str,
    pub shop_domain_hint: &'static str,
    pub store_url: &'static str,
    pub store_url_hint: &'static str,
    pub by_hand: &'static str,
    pub by_hand_hint: &'static str,
    pub consumer_key: &'static str,
    pub consumer_secret: &'static str,
    pub connect_with_keys: &'static str,
    pub client_key: &'static str,
    pub secret_key: &'static str,
    pub kaufland_hint: &'static str,
    pub keys_stored_safely: &'static str,
    pub working: &'static str,
    pub error_not_configured: &'static str,
    pub error_invalid_input: &'static str,
    pub error_invalid_shop: &'static str,
    pub error_invalid_key: &'static str,
    pub error_invalid_secret: &'static str,
    pub error_denied: &'static str,
    pub error_forged: &'static str,
    pub error_invalid_credentials: &'static str,
    pub error_refresh_refused: &'static str,
    pub error_rate_limited: &'static str,
    pub error_unavailable: &'static str,
    pub error_protocol: &'static str,
    pub error_unsupported: &'static str,
    pub error_unknown_state: &'static str,
    pub error_reused: &'static str,
    pub error_expired: &'static str,
    pub error_wrong_session: &'static str,
    pub error_wrong_marketplace: &'static str,
    pub error_disconnected: &'static str,
    pub error_internal: &'static str,
    /// "Connect Shopify": the accessible name of a tile's button.
    pub connect_named: fn(&str) -> String,
    /// "Connect WooCommerce with keys".
    pub connect_named_with_keys: fn(&str) -> String,
    /// The disconnect dialog's question, naming marketplace and account.
    pub disconnect_question: fn(&str, &str) -> String,
    /// "in 42 min", for access that is still valid.
    pub expires_in: fn(u64) -> String,
    /// "3 min ago".
    pub ago: fn(u64) -> String,
}

/// `seconds` as "42 min", "3 Std.", "2 Tagen" (dative, after "in" and "vor").
fn span_de(seconds: u64) -> String {
    let minutes = seconds / 60;
    match minutes {
        0..=59 => format!("{} min", minutes.max(1)),
        60..=2879 => {
            let hours = minutes / 60;
            format!("{hours} Std.")
        }
        _ => {
            let days = minutes / 1440;
            if days == 1 {
                "1 Tag".to_owned()
            } else {
                format!("{days} Tagen")
            }
        }
    }
}

/// `seconds` as "42 min", "3 h", "2 days".
fn span_en(seconds: u64) -> String {
    let minutes = seconds / 60;
    match minutes {
        0..=59 => format!("{} min", minutes.max(1)),
        60..=2879 => format!("{} h", minutes / 60),
        _ => {
            let days = minutes / 1440;
            if days == 1 {
                "1 day".to_owned()
            } else {
                format!("{days} days")
            }
        }
    }
}

pub static DE: ConnectionsTexts = ConnectionsTexts {
    title: "Verbindungen",
    intro: "Verbinden Sie Ihre Shops und Marktplatz-Konten. ShopMarkets bekommt nur die Rechte, die es für Katalog, Bestand und Bestellungen braucht, und bewahrt die Zugangsdaten verschlüsselt auf.",
    loading: "Wird geladen …",
    accounts_heading: "Verbundene Konten",
    empty: "Noch kein Marktplatz verbunden.",
    read_only: "Nur Inhaber und Administratoren können Marktplätze verbinden, neu verbinden oder trennen.",
    status_active: "Aktiv",
    status_needs_reconnect: "Neu verbinden nötig",
    status_disconnected: "Getrennt",
    account: "Konto",
    scopes: "Berechtigungen",
    no_scopes: "Keine angegeben.",
    access: "Zugang",
    access_no_expiry: "läuft nicht ab",
    access_expired: "abgelaufen – wird beim nächsten Abruf erneuert",
    last_success: "Letzter erfolgreicher Abruf",
    never: "noch nie",
    last_error: "Letzter Fehler",
    connected_since: "Verbunden seit",
    disconnected_since: "Getrennt seit",
    test: "Verbindung testen",
    reconnect: "Neu verbinden",
    disconnect: "Trennen",
    disconnect_now: "Jetzt trennen",
    cancel: "Abbrechen",
    disconnect_explain: "ShopMarkets hört auf, mit diesem Konto abzugleichen, und löscht die gespeicherten Zugangsdaten; wo der Marktplatz es erlaubt, werden sie dort auch widerrufen. Ihre Angebote und Bestellungen bleiben erhalten und werden als getrennt markiert. Sie können das Konto jederzeit wieder verbinden.",
    tested_ok: "Die Verbindung funktioniert.",
    tested_failed: "Der Test ist fehlgeschlagen:",
    disconnected_notice: "Die Verbindung ist getrennt. Angebote und Bestellungen bleiben erhalten.",
    connected_notice: "Verbunden:",
    connect_failed: "Die Verbindung wurde nicht hergestellt:",
    connect_heading: "Marktplatz verbinden",
    connect_intro: "Sie können auch mehrere Konten desselben Marktplatzes verbinden.",
    may_do: "ShopMarkets darf:",
    not_set_up: "Auf diesem Server nicht eingerichtet.",
    not_set_up_hint: "Der Betreiber muss ShopMarkets erst bei diesem Marktplatz registrieren.",
    connect: "Verbinden",
    redirect_hint: "Sie werden zum Marktplatz weitergeleitet, melden sich dort an, bestätigen den Zugriff und kommen hierher zurück.",
    shop_domain: "Shop-Adresse",
    shop_domain_hint: "Ihre Adresse bei Shopify, z. B. mein-shop.myshopify.com",
    store_url: "Shop-URL",
    store_url_hint: "Die Adresse Ihres WooCommerce-Shops, z. B. https://www.mein-shop.de. Sie bestätigen den Zugriff in Ihrem Shop.",
    by_hand: "Schlüssel von Hand eingeben",
    by_hand_hint: "Legen Sie in WooCommerce unter Einstellungen → Erweitert → REST-API einen Schlüssel mit Lese- und Schreibrechten an und tragen Sie ihn hier ein.",
    consumer_key: "Consumer Key",
    consumer_secret: "Consumer Secret",
    connect_with_keys: "Mit diesen Schlüsseln verbinden",
    client_key: "Client Key",
    secret_key: "Secret Key",
    kaufland_hint: "Beide Schlüssel finden Sie im Kaufland Seller Portal unter Einstellungen → API.",
    keys_stored_safely: "Die Schlüssel werden verschlüsselt gespeichert und nie wieder angezeigt.",
    working: "Einen Moment …",
    error_not_configured: "ShopMarkets ist bei diesem Marktplatz auf diesem Server nicht registriert.",
    error_invalid_input: "Bitte prüfen Sie Ihre Eingabe.",
    error_invalid_shop: "Diese Shop-Adresse können wir nicht verwenden. Bitte prüfen Sie sie.",
    error_invalid_key: "Bitte geben Sie den Schlüssel vollständig ein.",
    error_invalid_secret: "Bitte geben Sie den geheimen Schlüssel vollständig ein.",
    error_denied: "Der Zugriff wurde beim Marktplatz abgelehnt.",
    error_forged: "Die Antwort des Marktplatzes ließ sich nicht überprüfen. Aus Sicherheitsgründen wurde nichts gespeichert.",
    error_invalid_credentials: "Der Marktplatz hat die Zugangsdaten abgelehnt. Sie sind falsch, abgelaufen oder wurden widerrufen.",
    error_refresh_refused: "Der Marktplatz hat den Zugang nicht verlängert. Bitte verbinden Sie das Konto neu.",
    error_rate_limited: "Der Marktplatz bremst gerade die Anfragen. Bitte versuchen Sie es in ein paar Minuten noch einmal.",
    error_unavailable: "Der Marktplatz ist gerade nicht erreichbar. Bitte versuchen Sie es später noch einmal.",
    error_protocol: "Der Marktplatz hat unerwartet geantwortet.",
    error_unsupported: "Dieser Marktplatz lässt sich noch nicht verbinden.",
    error_unknown_state: "Diese Antwort gehört zu keiner hier gestarteten Verbindung. Bitte starten Sie die Verbindung auf dieser Seite neu.",
    error_reused: "Diese Antwort wurde schon verwendet, etwa durch Neuladen der Seite. Bitte starten Sie die Verbindung neu.",
    error_expired: "Die Verbindung hat zu lange gedauert. Bitte starten Sie sie neu.",
    error_wrong_session: "Die Antwort kam in einem anderen Browser oder einer anderen Sitzung an als der, in der Sie die Verbindung gestartet haben. Bitte starten Sie sie in diesem Browser neu.",
    error_wrong_marketplace: "Die Antwort kam von einem anderen Marktplatz als dem, der verbunden werden sollte. Es wurde nichts gespeichert.",
    error_disconnected: "Diese Verbindung ist getrennt.",
    error_internal: "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es in einem Moment noch einmal.",
    connect_named: |name| format!("{name} verbinden"),
    connect_named_with_keys: |name| format!("{name} mit Schlüsseln verbinden"),
    disconnect_question: |marketplace, account| {
        format!("Verbindung zu {marketplace} „{account}“ trennen?")
    },
    expires_in: |seconds| format!("läuft ab in {}", span_de(seconds)),
    ago: |seconds| {
        if seconds < 60 {
            "gerade eben".to_owned()
        } else {
            format!("vor {}", span_de(seconds))
        }
    },
};

pub static EN: ConnectionsTexts = ConnectionsTexts {
    title: "Connections",
    intro: "Connect your shops and marketplace accounts. ShopMarkets gets only the rights it needs for catalog, stock and orders, and keeps the credentials encrypted.",
    loading: "Loading …",
    accounts_heading: "Connected accounts",
    empty: "No marketplace connected yet.",
    read_only: "Only owners and admins can connect, reconnect or disconnect marketplaces.",
    status_active: "Active",
    status_needs_reconnect: "Needs reconnect",
    status_disconnected: "Disconnected",
    account: "Account",
    scopes: "Permissions",
    no_scopes: "None stated.",
    access: "Access",
    access_no_expiry: "does not expire",
    access_expired: "expired – renewed with the next call",
    last_success: "Last successful call",
    never: "never",
    last_error: "Last error",
    connected_since: "Connected since",
    disconnected_since: "Disconnected since",
    test: "Test connection",
    reconnect: "Reconnect",
    disconnect: "Disconnect",
    disconnect_now: "Disconnect now",
    cancel: "Cancel",
    disconnect_explain: "ShopMarkets stops syncing with this account and deletes the stored credentials; where the marketplace allows it, they are revoked there too. Your listings and orders stay and are marked as disconnected. You can connect the account again at any time.",
    tested_ok: "The connection works.",
    tested_failed: "The test failed:",
    disconnected_notice: "The connection is disconnected. Listings and orders stay.",
    connected_notice: "Connected:",
    connect_failed: "The connection was not made:",
    connect_heading: "Connect a marketplace",
    connect_intro: "You can also connect several accounts of the same marketplace.",
    may_do: "ShopMarkets may:",
    not_set_up: "Not set up on this server.",
    not_set_up_hint: "The operator has to register ShopMarkets with this marketplace first.",
    connect: "Connect",
    redirect_hint: "You go to the marketplace, sign in there, confirm the access and come back here.",
    shop_domain: "Shop domain",
    shop_domain_hint: "Your address at Shopify, e.g. mein-shop.myshopify.com",
    store_url: "Store URL",
    store_url_hint: "The address of your WooCommerce store, e.g. https://www.my-shop.com. You confirm the access in your store.",
    by_hand: "Enter keys by hand",
    by_hand_hint: "In WooCommerce, create a key with read and write rights under Settings → Advanced → REST API and enter it here.",
    consumer_key: "Consumer key",
    consumer_secret: "Consumer secret",
    connect_with_keys: "Connect with these keys",
    client_key: "Client key",
    secret_key: "Secret key",
    kaufland_hint: "You find both keys in the Kaufland Seller Portal under Settings → API.",
    keys_stored_safely: "The keys are stored encrypted and never shown again.",
    working: "One moment …",
    error_not_configured: "ShopMarkets is not registered with this marketplace on this server.",
    error_invalid_input: "Please check what you entered.",
    error_invalid_shop: "We cannot use this shop address. Please check it.",
    error_invalid_key: "Please enter the complete key.",
    error_invalid_secret: "Please enter the complete secret.",
    error_denied: "The access was declined at the marketplace.",
    error_forged: "The marketplace's answer could not be verified. For your safety, nothing was stored.",
    error_invalid_credentials: "The marketplace refused the credentials. They are wrong, expired or were revoked.",
    error_refresh_refused: "The marketplace did not renew the access. Please reconnect the account.",
    error_rate_limited: "The marketplace is limiting requests right now. Please try again in a few minutes.",
    error_unavailable: "The marketplace cannot be reached right now. Please try again later.",
    error_protocol: "The marketplace answered in an unexpected way.",
    error_unsupported: "This marketplace cannot be connected yet.",
    error_unknown_state: "This answer does not belong to a connection started here. Please start the connection again on this page.",
    error_reused: "This answer was already used, for example by reloading the page. Please start the connection again.",
    error_expired: "The connection took too long. Please start it again.",
    error_wrong_session: "The answer arrived in another browser or session than the one that started the connection. Please start it again in this browser.",
    error_wrong_marketplace: "The answer came from another marketplace than the one being connected. Nothing was stored.",
    error_disconnected: "This connection is disconnected.",
    error_internal: "Something went wrong on our side. Please try again in a moment.",
    connect_named: |name| format!("Connect {name}"),
    connect_named_with_keys: |name| format!("Connect {name} with keys"),
    disconnect_question: |marketplace, account| format!("Disconnect {marketplace} “{account}”?"),
    expires_in: |seconds| format!("expires in {}", span_en(seconds)),
    ago: |seconds| {
        if seconds < 60 {
            "just now".to_owned()
        } else {
            format!("{} ago", span_en(seconds))
        }
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_naturally() {
        assert_eq!((DE.expires_in)(42 * 60 + 5), "läuft ab in 42 min");
        assert_eq!((EN.expires_in)(42 * 60), "expires in 42 min");
        assert_eq!((DE.ago)(3 * 60), "vor 3 min");
        assert_eq!((EN.ago)(3 * 60), "3 min ago");
        assert_eq!((DE.ago)(10), "gerade eben");
        assert_eq!((DE.ago)(3 * 3600), "vor 3 Std.");
        assert_eq!((DE.ago)(86_400 * 2), "vor 2 Tagen");
        assert_eq!((EN.expires_in)(86_400 * 2 + 5), "expires in 2 days");
        assert_eq!((EN.expires_in)(30), "expires in 1 min");
    }
}
