//! WooCommerce: a self-hosted WordPress store, connected with API keys (CHANNELS.md §2).
//!
//! The merchant enters the store's address; the browser goes to the store's
//! app-authorization endpoint `/wc-auth/v1/authorize`, where the merchant logs in and
//! approves. The store then creates a `ck_`/`cs_` key pair with `read_write` permission, POSTs
//! it to `{app}/channels/woo_commerce/keys` (server to server, kept with the flow by
//! [`connections::receive_handed_over_keys`](crate::channels::connections::receive_handed_over_keys))
//! and sends the browser back to our callback with `success=1&user_id=<state>`. Keys can also
//! be entered by hand (WooCommerce → Settings → Advanced → REST API).
//!
//! Keys never expire, so there is nothing to refresh. WooCommerce has no API through which an
//! app can delete its own keys: a disconnect removes the webhooks, and the merchant revokes
//! the keys in WP admin (the connections page says so).

mod api;
mod webhooks;

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shopmarkets_types::Marketplace;

pub use api::{Keys, oauth_query, rfc3986};

use super::channel::{
    Authorization, Channel, ChannelEnv, ChannelError, ConnectInput, ConnectKind, Connected,
    IncomingWebhook, Pending, Revocation, ScopeInfo, VerifiedEvent, WebhookError,
};
use super::credentials::{ConnectionSecrets, Credentials};

#[derive(Debug, Default)]
pub struct WooCommerce;

/// The one permission level a key has; `read_write` is the least that can update listings,
/// stock, prices and order status and create webhooks.
const SCOPE: &str = "read_write";

const SCOPES: [ScopeInfo; 1] = [ScopeInfo {
    code: SCOPE,
    en: "Read and write products, stock, prices and orders, and create webhooks for new and changed orders",
    de: "Produkte, Bestände, Preise und Bestellungen lesen und schreiben sowie Webhooks für neue und geänderte Bestellungen anlegen",
}];

const APP_NAME: &str = "ShopMarkets";

fn invalid(field: &'static str, message: &'static str) -> ChannelError {
    ChannelError::InvalidInput { field, message }
}

/// A URL's host: an IP address, or a name.
enum Host {
    Ip(std::net::IpAddr),
    Name(String),
}

fn host_of(url: &reqwest::Url) -> Option<Host> {
    let host = url.host_str()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Some(match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(host.to_ascii_lowercase()),
    })
}

/// Whether a host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
fn is_loopback(url: &reqwest::Url) -> bool {
    match host_of(url) {
        Some(Host::Name(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(Host::Ip(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether a host cannot be a public store: this machine, a private or link-local address, or
/// a name without a dot.
fn is_private(url: &reqwest::Url) -> bool {
    match host_of(url) {
        Some(Host::Ip(std::net::IpAddr::V4(ip))) => {
            ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.is_loopback()
        }
        Some(Host::Ip(std::net::IpAddr::V6(ip))) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80
        }
        Some(Host::Name(name)) => !name.contains('.') || is_loopback(url),
        None => true,
    }
}

/// The store's home URL, normalised: `https://host[:port][/path]` without a trailing slash,
/// lower-case host. HTTPS is required; plain HTTP only for a store on this machine while the
/// sandboxes run (development and tests). In production a store on a loopback or private
/// address is refused (the server must not be pointed at its own network).
pub fn store_url(env: &ChannelEnv, input: Option<&str>) -> Result<String, ChannelError> {
    const FIELD: &str = "shop";
    let raw = input.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(invalid(FIELD, "enter your store's address"));
    }
    if raw.len() > 255 {
        return Err(invalid(FIELD, "the address is too long"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(FIELD, "the address is not a valid URL"));
    }
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let url = reqwest::Url::parse(&with_scheme)
        .map_err(|_| invalid(FIELD, "the address is not a valid URL"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid(FIELD, "the address must start with https://"));
    }
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.host_str().is_none_or(str::is_empty)
    {
        return Err(invalid(FIELD, "the address is not a valid URL"));
    }
    let development = env.endpoints.sandboxes.is_some();
    if url.scheme() == "http" && !(development && is_loopback(&url)) {
        return Err(invalid(FIELD, "the store must be reachable over https://"));
    }
    if !development && is_private(&url) {
        return Err(invalid(
            FIELD,
            "the address must be the store's public address",
        ));
    }
    let path = url.path().trim_end_matches('/');
    let lowered = path.to_ascii_lowercase();
    if ["/wp-admin", "/wp-json", "/wc-auth", "/wp-login"]
        .iter()
        .any(|part| lowered.contains(part))
    {
        return Err(invalid(
            FIELD,
            "enter the store's home address, without /wp-admin or /wp-json",
        ));
    }
    Ok(format!("{}{path}", url.origin().ascii_serialization()))
}

/// `ck_` and `cs_` followed by 40 lower-case hex digits (`wc_rand_hash()`, a SHA-1).
fn valid_key(value: &str, prefix: &str) -> bool {
    value.len() == prefix.len() + 40
        && value.starts_with(prefix)
        && value[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn keys_of(credentials: &Credentials) -> Result<Keys<'_>, ChannelError> {
    match credentials {
        Credentials::ApiKeys { key, secret } => Ok(Keys { key, secret }),
        Credentials::OAuth { .. } => Err(ChannelError::Protocol(
            "the connection holds no WooCommerce keys".into(),
        )),
    }
}

/// The cheap authenticated read: one product (needs the key's read permission).
async fn read_check(env: &ChannelEnv, store: &str, keys: Keys<'_>) -> Result<(), ChannelError> {
    let products = api::call(
        env,
        store,
        keys,
        Method::GET,
        "products",
        &[("per_page", "1")],
        None,
    )
    .await?;
    if products.is_array() {
        Ok(())
    } else {
        Err(ChannelError::Protocol(
            "the store's product list is not a list".into(),
        ))
    }
}

/// Proves the key's write permission without changing anything: WooCommerce checks the key's
/// permission against the HTTP method before it routes the request
/// (`check_user_permissions` on `rest_pre_dispatch`), so deleting webhook 0, which never
/// exists, answers 401 "does not have write permissions" to a read-only key and 404 otherwise.
async fn write_check(env: &ChannelEnv, store: &str, keys: Keys<'_>) -> Result<(), ChannelError> {
    let (status, body) = api::send(
        env,
        store,
        keys,
        Method::DELETE,
        "webhooks/0",
        &[("force", "true")],
        None,
    )
    .await?;
    match status.as_u16() {
        401 | 403 | 429 | 300..=399 | 500..=599 => Err(api::error_from(status, &body)),
        _ => Ok(()),
    }
}

/// The site title WordPress publishes at `{store}/wp-json` (no key needed); the host when
/// there is none.
async fn site_name(env: &ChannelEnv, store: &str) -> String {
    let host = reqwest::Url::parse(store)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| store.to_owned());
    let Ok(response) = env
        .http
        .get(format!("{store}/wp-json"))
        .header("accept", "application/json")
        .send()
        .await
    else {
        return host;
    };
    if response.status() != StatusCode::OK {
        return host;
    }
    let name = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|index| {
            index
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .map(str::to_owned)
        })
        .filter(|name| !name.is_empty());
    match name {
        Some(name) => name.chars().take(200).collect(),
        None => host,
    }
}

/// Validates keys against the store (read and write) and names the connection.
async fn connect(
    env: &ChannelEnv,
    store: &str,
    key: &str,
    secret: &str,
) -> Result<Connected, ChannelError> {
    let keys = Keys { key, secret };
    let (read, write, name) = tokio::join!(
        read_check(env, store, keys),
        write_check(env, store, keys),
        site_name(env, store)
    );
    read?;
    write?;
    Ok(Connected {
        account_id: store.to_owned(),
        account_name: name,
        scopes: vec![SCOPE.to_owned()],
        secrets: ConnectionSecrets {
            credentials: Credentials::ApiKeys {
                key: key.to_owned(),
                secret: secret.to_owned(),
            },
            webhook_secret: None,
        },
    })
}

/// A webhook secret where the caller set none (it normally has).
fn fresh_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString as _};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}

/// Removes one webhook; one that is gone already counts as removed.
async fn delete_webhook(
    env: &ChannelEnv,
    store: &str,
    keys: Keys<'_>,
    id: &str,
) -> Result<(), ChannelError> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ChannelError::Protocol(format!("not a webhook id: {id}")));
    }
    let (status, body) = api::send(
        env,
        store,
        keys,
        Method::DELETE,
        &format!("webhooks/{id}"),
        &[("force", "true")],
        None,
    )
    .await?;
    if status.is_success() || status == StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(api::error_from(status, &body))
    }
}

/// One authenticated call to the store's REST API `wc/v3` with a connection's keys (for the
/// catalog and order sync): `path` relative to `wp-json/wc/v3/`; the answer's JSON.
pub async fn request(
    env: &ChannelEnv,
    store: &str,
    credentials: &Credentials,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<Value, ChannelError> {
    api::call(env, store, keys_of(credentials)?, method, path, query, body).await
}

#[async_trait::async_trait]
impl Channel for WooCommerce {
    fn marketplace(&self) -> Marketplace {
        Marketplace::WooCommerce
    }

    fn kind(&self) -> ConnectKind {
        ConnectKind::KeyHandover
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        &SCOPES
    }

    fn authorize(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
        state: &str,
    ) -> Result<Authorization, ChannelError> {
        let store = store_url(env, input.shop.as_deref())?;
        let keys_url = format!(
            "{}/channels/{}/keys",
            env.public_url,
            Marketplace::WooCommerce.code()
        );
        let return_url = env.callback_url(Marketplace::WooCommerce);
        let url = reqwest::Url::parse_with_params(
            &format!("{store}/wc-auth/v1/authorize"),
            [
                ("app_name", APP_NAME),
                ("scope", SCOPE),
                ("user_id", state),
                ("return_url", return_url.as_str()),
                ("callback_url", keys_url.as_str()),
            ],
        )
        .map_err(|_| invalid("shop", "the address is not a valid URL"))?;
        Ok(Authorization {
            url: url.into(),
            pending: Pending {
                shop: Some(store),
                ..Pending::default()
            },
        })
    }

    async fn finish(
        &self,
        env: &ChannelEnv,
        pending: &Pending,
        query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError> {
        // `success=0` when the merchant chose "Deny" (or anything but a plain yes).
        if query.get("success").map(String::as_str) != Some("1") {
            return Err(ChannelError::Denied);
        }
        let store = pending
            .shop
            .as_deref()
            .ok_or_else(|| ChannelError::Protocol("the flow names no store".into()))?;
        match &pending.handed_over {
            Some(Credentials::ApiKeys { key, secret }) => connect(env, store, key, secret).await,
            _ => Err(ChannelError::Protocol(
                "the store did not hand over keys".into(),
            )),
        }
    }

    async fn connect_with_keys(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
    ) -> Result<Connected, ChannelError> {
        let store = store_url(env, input.shop.as_deref())?;
        let key = input.key.as_deref().map(str::trim).unwrap_or_default();
        if !valid_key(key, "ck_") {
            return Err(invalid(
                "key",
                "the consumer key is ck_ followed by 40 characters 0-9 and a-f",
            ));
        }
        let secret = input
            .secret
            .as_ref()
            .map(|s| s.expose().trim())
            .unwrap_or_default();
        if !valid_key(secret, "cs_") {
            return Err(invalid(
                "secret",
                "the consumer secret is cs_ followed by 40 characters 0-9 and a-f",
            ));
        }
        connect(env, &store, key, secret).await
    }

    async fn check(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError> {
        read_check(env, account_id, keys_of(&secrets.credentials)?).await
    }

    async fn refresh(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError> {
        // Keys do not expire.
        Ok(credentials.clone())
    }

    async fn revoke(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        _secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError> {
        // REST v3 has no route for API keys, and wc-auth none for taking a grant back: only
        // the merchant can delete the keys (WP admin → WooCommerce → Settings → Advanced →
        // REST API).
        Ok(Revocation::NotOffered)
    }

    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint: &str,
    ) -> Result<Vec<String>, ChannelError> {
        let secret = secrets
            .webhook_secret
            .get_or_insert_with(fresh_secret)
            .clone();
        let keys = keys_of(&secrets.credentials)?;
        let mut ids = Vec::new();
        for topic in webhooks::TOPICS {
            let body = json!({
                "name": format!("{APP_NAME} {topic}"),
                "topic": topic,
                "delivery_url": endpoint,
                "secret": secret,
                "status": "active",
            });
            let created = api::call(
                env,
                account_id,
                keys,
                Method::POST,
                "webhooks",
                &[],
                Some(&body),
            )
            .await
            .and_then(|hook| match hook.get("id") {
                Some(Value::Number(id)) => Ok(id.to_string()),
                _ => Err(ChannelError::Protocol(
                    "the store's new webhook has no id".into(),
                )),
            });
            match created {
                Ok(id) => ids.push(id),
                Err(error) => {
                    // Half a subscription would lose orders silently: take it back.
                    for id in &ids {
                        let _ = delete_webhook(env, account_id, keys, id).await;
                    }
                    return Err(error);
                }
            }
        }
        Ok(ids)
    }

    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError> {
        let keys = keys_of(&secrets.credentials)?;
        let mut first_error = None;
        for id in ids {
            if let Err(error) = delete_webhook(env, account_id, keys, id).await {
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
        webhooks::verify(secrets, incoming)
    }
}
