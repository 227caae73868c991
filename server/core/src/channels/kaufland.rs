//! Kaufland Marketplace Seller API v2 (formerly real.de): the channel adapter.
//!
//! There is no OAuth. The seller creates a Client Key (32 characters) and a Secret Key (64) in
//! the seller portal and pastes both into ShopMarkets. Every request is signed: headers
//! `Accept: application/json`, `Shop-Client-Key`, `Shop-Timestamp` (unix seconds) and
//! `Shop-Signature` = lowercase hex HMAC-SHA256 over `METHOD\nFULL_URI\nBODY\nTIMESTAMP` with
//! the secret key as a plain string (the official PHP example, `hash_hmac`). FULL_URI is the
//! absolute URL as sent, query included; the URL is parsed once and that very string is both
//! signed and sent. The timestamp must be within ±5 minutes of Kaufland's clock.
//!
//! The keys never expire and cannot be revoked by the app (the seller deletes them in the
//! portal), so `refresh` returns them unchanged and `revoke` answers `NotOffered`.
//!
//! Push notifications are subscribed per event and storefront (`/v2/subscriptions`); Kaufland
//! signs them the same way as requests, with the seller's secret key, over
//! `POST\n{callback URL}\n{body}\n{timestamp}`, and names each one by `id_message`.

use std::collections::BTreeMap;

use chrono::Utc;
use hmac::{Hmac, Mac as _};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use shopmarkets_types::Marketplace;
use subtle::ConstantTimeEq as _;

use super::channel::{
    Authorization, Channel, ChannelEnv, ChannelError, ConnectInput, ConnectKind, Connected,
    IncomingWebhook, Pending, Revocation, ScopeInfo, VerifiedEvent, WebhookError,
};
use super::credentials::{ConnectionSecrets, Credentials};
use super::http::hex;

/// Where the API lives (`https://sellerapi.kaufland.com` in production).
const API_URL_VAR: &str = "KAUFLAND_API_URL";
/// Kaufland accepts a request (and we accept a notification) this far from its clock.
const TIMESTAMP_WINDOW_SECS: i64 = 300;
/// The events the order sync needs: a new order, its order units (one per item, shipped one by
/// one), and their status changes (cancelled, sent, returned…).
const EVENTS: [&str; 3] = ["order_new", "order_unit_new", "order_unit_status_changed"];
/// The storefronts (`?storefront=`) Kaufland knows; anything else the API names is ignored.
const STOREFRONTS: [&str; 9] = ["de", "cz", "sk", "pl", "at", "fr", "it", "es", "nl"];
/// Marketplace error texts kept in an error, at most.
const MAX_ERROR_TEXT: usize = 300;

/// What ShopMarkets does with the keys. Kaufland's keys have no scopes (they open the whole
/// seller account); these are the parts of the API ShopMarkets uses, for the connect screen.
const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        code: "product-data",
        en: "Write product data (titles, descriptions, images)",
        de: "Produktdaten schreiben (Titel, Beschreibungen, Bilder)",
    },
    ScopeInfo {
        code: "units",
        en: "Read and write offers, stock and prices",
        de: "Angebote, Bestände und Preise lesen und schreiben",
    },
    ScopeInfo {
        code: "orders",
        en: "Read orders",
        de: "Bestellungen lesen",
    },
    ScopeInfo {
        code: "order-units",
        en: "Ship and cancel ordered items",
        de: "Bestellte Artikel versenden und stornieren",
    },
    ScopeInfo {
        code: "subscriptions",
        en: "Receive notifications about orders",
        de: "Benachrichtigungen über Bestellungen empfangen",
    },
    ScopeInfo {
        code: "info",
        en: "Read the storefronts of the seller account",
        de: "Die Länder-Shops des Verkäuferkontos lesen",
    },
];

#[derive(Debug, Default)]
pub struct Kaufland;

/// One seller's key pair, borrowed from the stored credentials.
#[derive(Clone, Copy)]
struct Keys<'a> {
    client_key: &'a str,
    secret_key: &'a str,
}

impl<'a> Keys<'a> {
    fn of(credentials: &'a Credentials) -> Result<Self, ChannelError> {
        match credentials {
            Credentials::ApiKeys { key, secret } => Ok(Self {
                client_key: key,
                secret_key: secret,
            }),
            Credentials::OAuth { .. } => Err(ChannelError::Protocol(
                "the stored credentials are not Kaufland API keys".into(),
            )),
        }
    }
}

/// `hex(HMAC-SHA256(secret, METHOD\nURI\nBODY\nTIMESTAMP))`.
fn signature(secret: &str, method: &str, uri: &str, body: &[u8], timestamp: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(method.as_bytes());
    mac.update(b"\n");
    mac.update(uri.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.update(b"\n");
    mac.update(timestamp.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// The account id: the client key identifies the seller, but it is half of the credentials and
/// the account id is shown and stored in clear, so a hash stands for it (the first 16 hex
/// digits of its SHA-256: unique enough per organization, and the same for the same keys).
fn account_id(client_key: &str) -> String {
    hex(&Sha256::digest(client_key.as_bytes()))[..16].to_owned()
}

/// What the merchant recognises: the last four characters of the client key, as the seller
/// portal lists the keys.
fn account_name(client_key: &str) -> String {
    let tail: String = client_key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("Kaufland seller …{tail}")
}

/// Checks a pasted key: trimmed, exactly `len` ASCII letters and digits.
fn key_of(value: Option<&str>, len: usize) -> Option<String> {
    let value = value?.trim();
    (value.len() == len && value.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| value.to_owned())
}

/// The marketplace's words from an error body (`{"message": …, "errors": [{field, message}]}`),
/// shortened; never anything of ours.
fn error_text(body: &[u8]) -> String {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let mut text = value["message"].as_str().unwrap_or_default().to_owned();
    let details: Vec<String> = value["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let message = e["message"].as_str()?;
            Some(match e["field"].as_str() {
                Some(field) => format!("{field}: {message}"),
                None => message.to_owned(),
            })
        })
        .collect();
    if !details.is_empty() {
        text = format!("{text} ({})", details.join("; "));
    }
    text.chars().take(MAX_ERROR_TEXT).collect()
}

/// Maps a refused call to the error the connections page explains.
fn refused(status: StatusCode, body: &[u8]) -> ChannelError {
    let text = error_text(body);
    match status.as_u16() {
        // Kaufland answers 401 for a wrong key, signature or a deleted key pair; a timestamp
        // outside the window is our clock, not the merchant's keys.
        401 | 403 if text.to_ascii_lowercase().contains("timestamp") => {
            ChannelError::Protocol(format!("HTTP {status}: {text}"))
        }
        401 | 403 => ChannelError::InvalidCredentials(if text.is_empty() {
            format!("HTTP {status}")
        } else {
            text
        }),
        429 => ChannelError::RateLimited,
        500..=599 => ChannelError::Unavailable(format!("HTTP {status}: {text}")),
        _ => ChannelError::Protocol(format!("HTTP {status}: {text}")),
    }
}

/// One signed call to `{KAUFLAND_API_URL}/v2{path}`; the JSON answer (`Null` for an empty
/// one), or the mapped error. A 404 comes back as `Ok(None)` for callers that expect it.
async fn call(
    env: &ChannelEnv,
    keys: Keys<'_>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<Value>, ChannelError> {
    let base = env
        .endpoints
        .endpoint(API_URL_VAR)
        .ok_or(ChannelError::NotConfigured)?;
    let url = reqwest::Url::parse(&format!("{}/v2{path}", base.trim_end_matches('/')))
        .map_err(|e| ChannelError::Protocol(format!("bad API URL: {e}")))?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let timestamp = Utc::now().timestamp().to_string();
    let signed = signature(
        keys.secret_key,
        method.as_str(),
        url.as_str(),
        payload.as_bytes(),
        &timestamp,
    );
    let mut request = env
        .http
        .request(method, url)
        .header("Accept", "application/json")
        .header(
            "User-Agent",
            concat!("ShopMarkets/", env!("CARGO_PKG_VERSION")),
        )
        .header("Shop-Client-Key", keys.client_key)
        .header("Shop-Timestamp", &timestamp)
        .header("Shop-Signature", signed);
    if body.is_some() {
        request = request
            .header("Content-Type", "application/json")
            .body(payload);
    }
    let response = request
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    if status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !status.is_success() {
        return Err(refused(status, &bytes));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Value::Null));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| ChannelError::Protocol(format!("HTTP {status}: the answer is not JSON")))
}

/// A call whose resource must exist.
async fn call_found(
    env: &ChannelEnv,
    keys: Keys<'_>,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Value, ChannelError> {
    call(env, keys, method, path, body)
        .await?
        .ok_or_else(|| ChannelError::Protocol(format!("HTTP 404 for {path}")))
}

/// The storefronts the seller has created (`GET /v2/info/storefront`): the cheap signed read
/// that proves the keys, and where notifications are subscribed.
async fn storefronts(env: &ChannelEnv, keys: Keys<'_>) -> Result<Vec<String>, ChannelError> {
    let answer = call_found(env, keys, Method::GET, "/info/storefront", None).await?;
    let list = answer["data"]
        .as_array()
        .ok_or_else(|| ChannelError::Protocol("the storefront list has no data array".into()))?;
    let mut storefronts: Vec<String> = list
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| STOREFRONTS.contains(s))
        .map(str::to_owned)
        .collect();
    storefronts.sort();
    storefronts.dedup();
    Ok(storefronts)
}

/// Where Kaufland writes when it gives up on our endpoint and disables a subscription: a
/// no-reply address at the app's own host (the API requires one).
fn fallback_email(env: &ChannelEnv) -> String {
    let host = reqwest::Url::parse(&env.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    format!("no-reply@{host}")
}

fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[async_trait::async_trait]
impl Channel for Kaufland {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Kaufland
    }

    fn kind(&self) -> ConnectKind {
        ConnectKind::ApiKeys
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        SCOPES
    }

    /// No redirect: the merchant enters the keys (`connect_with_keys`).
    fn authorize(
        &self,
        _env: &ChannelEnv,
        _input: &ConnectInput,
        _state: &str,
    ) -> Result<Authorization, ChannelError> {
        Err(ChannelError::InvalidInput {
            field: "key",
            message: "Kaufland connects with API keys from the seller portal",
        })
    }

    async fn finish(
        &self,
        _env: &ChannelEnv,
        _pending: &Pending,
        _query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError> {
        Err(ChannelError::Protocol(
            "Kaufland has no authorization callback".into(),
        ))
    }

    async fn connect_with_keys(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
    ) -> Result<Connected, ChannelError> {
        let client_key = key_of(input.key.as_deref(), 32).ok_or(ChannelError::InvalidInput {
            field: "key",
            message: "must be the 32-character client key",
        })?;
        let secret_key = key_of(input.secret.as_ref().map(|s| s.expose().as_str()), 64).ok_or(
            ChannelError::InvalidInput {
                field: "secret",
                message: "must be the 64-character secret key",
            },
        )?;
        let keys = Keys {
            client_key: &client_key,
            secret_key: &secret_key,
        };
        storefronts(env, keys).await?;
        Ok(Connected {
            account_id: account_id(&client_key),
            account_name: account_name(&client_key),
            scopes: SCOPES.iter().map(|s| s.code.to_owned()).collect(),
            secrets: ConnectionSecrets {
                credentials: Credentials::ApiKeys {
                    key: client_key,
                    secret: secret_key,
                },
                webhook_secret: None,
            },
        })
    }

    async fn check(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError> {
        storefronts(env, Keys::of(&secrets.credentials)?)
            .await
            .map(|_| ())
    }

    /// The keys do not expire.
    async fn refresh(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError> {
        Ok(credentials.clone())
    }

    /// Kaufland has no revocation endpoint: the seller deletes the keys in the seller portal.
    async fn revoke(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        _secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError> {
        Ok(Revocation::NotOffered)
    }

    /// One subscription per event and storefront of the seller. Kaufland signs notifications
    /// with the seller's secret key, so the webhook secret the caller set is not used.
    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint: &str,
    ) -> Result<Vec<String>, ChannelError> {
        if endpoint.len() > 255 {
            return Err(ChannelError::Protocol(
                "the notification URL is longer than Kaufland's 255 characters".into(),
            ));
        }
        let keys = Keys::of(&secrets.credentials)?;
        let email = fallback_email(env);
        let mut ids = Vec::new();
        for storefront in storefronts(env, keys).await? {
            for event in EVENTS {
                let body = json!({
                    "callback_url": endpoint,
                    "fallback_email": email,
                    "event_name": event,
                });
                let path = format!("/subscriptions?storefront={storefront}");
                let created = call_found(env, keys, Method::POST, &path, Some(&body)).await;
                let id = created.and_then(|answer| match &answer["data"]["id_subscription"] {
                    Value::Number(n) => Ok(n.to_string()),
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    _ => Err(ChannelError::Protocol(
                        "the subscription has no id_subscription".into(),
                    )),
                });
                match id {
                    Ok(id) => ids.push(id),
                    Err(error) => {
                        // Leave nothing half-subscribed behind.
                        let _ = self.unregister_webhooks(env, "", secrets, &ids).await;
                        return Err(error);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// Deletes the subscriptions; one already gone (404) counts as deleted.
    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError> {
        let keys = Keys::of(&secrets.credentials)?;
        let mut first_error = None;
        for id in ids {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                first_error.get_or_insert(ChannelError::Protocol(format!(
                    "not a subscription id: {id:?}"
                )));
                continue;
            }
            let path = format!("/subscriptions/{id}");
            if let Err(error) = call(env, keys, Method::DELETE, &path, None).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn verify_webhook(
        &self,
        _env: &ChannelEnv,
        secrets: &ConnectionSecrets,
        incoming: IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError> {
        let keys = Keys::of(&secrets.credentials).map_err(|_| WebhookError::BadSignature)?;
        let (Some(timestamp), Some(given)) = (
            header(incoming.headers, "shop-timestamp"),
            header(incoming.headers, "shop-signature"),
        ) else {
            return Err(WebhookError::BadSignature);
        };
        let sent: i64 = timestamp.parse().map_err(|_| WebhookError::BadSignature)?;
        if (Utc::now().timestamp() - sent).abs() > TIMESTAMP_WINDOW_SECS {
            return Err(WebhookError::BadSignature);
        }
        let expected = signature(
            keys.secret_key,
            "POST",
            incoming.url,
            incoming.body,
            timestamp,
        );
        let given = given.to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(WebhookError::BadSignature);
        }
        let body: Value = serde_json::from_slice(incoming.body)
            .map_err(|_| WebhookError::Malformed("the body is not JSON".into()))?;
        let event_id = body["id_message"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WebhookError::Malformed("id_message is missing".into()))?;
        let topic = body["event_name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WebhookError::Malformed("event_name is missing".into()))?;
        Ok(VerifiedEvent {
            event_id: event_id.to_owned(),
            topic: topic.to_owned(),
            ping: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hex_hmac_over_the_four_lines() {
        // RFC 4231 test case 2, split where the newlines go.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let a = signature("s", "GET", "https://x/v2/units?storefront=de", b"", "1");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s").unwrap();
        mac.update(b"GET\nhttps://x/v2/units?storefront=de\n\n1");
        assert_eq!(a, hex(&mac.finalize().into_bytes()));
    }

    #[test]
    fn keys_are_checked_and_the_account_masked() {
        assert_eq!(
            key_of(Some(" 0123456789abcdef0123456789abcdef\n"), 32).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert!(key_of(Some("0123456789abcdef0123456789abcde"), 32).is_none());
        assert!(key_of(Some("0123456789abcdef0123456789abcde!"), 32).is_none());
        assert!(key_of(None, 32).is_none());
        let id = account_id("0123456789abcdef0123456789abcdef");
        assert_eq!(id.len(), 16);
        assert!(!id.contains("0123"));
        assert_eq!(
            account_name("0123456789abcdef0123456789abcdef"),
            "Kaufland seller …cdef"
        );
    }
}
