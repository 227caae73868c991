//! The one trait for what a marketplace channel can do, and the types it speaks in.
//!
//! This part covers credentials: start a connection, finish it from the callback, connect with
//! keys, check, refresh, revoke, and the notification subscriptions and their signatures. The
//! catalog, stock and order methods join the same trait with the sync engine; they take the
//! same `ChannelEnv` and connection (account id plus decrypted secrets), so an adapter stays
//! one module per marketplace.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shopmarkets_types::Marketplace;

use super::credentials::{ConnectionSecrets, Credentials};
use crate::config::{AppCredentials, ChannelsConfig};
use crate::secret::Secret;

/// What an adapter needs besides the connection: the HTTP client, the endpoints, our app
/// registration at this marketplace, and our own public URLs.
#[derive(Clone, Debug)]
pub struct ChannelEnv {
    pub http: reqwest::Client,
    pub endpoints: Arc<ChannelsConfig>,
    /// `None` when ShopMarkets has no app registration at this marketplace.
    pub app: Option<AppCredentials>,
    /// The app's origin (`https://app.example.com`), for callback and webhook URLs.
    pub public_url: String,
}

impl ChannelEnv {
    /// Our registration, or [`ChannelError::NotConfigured`].
    pub fn app(&self) -> Result<&AppCredentials, ChannelError> {
        self.app.as_ref().ok_or(ChannelError::NotConfigured)
    }

    /// Where the marketplace sends the browser back: `{origin}/channels/{code}/callback`.
    pub fn callback_url(&self, marketplace: Marketplace) -> String {
        format!(
            "{}/channels/{}/callback",
            self.public_url,
            marketplace.code()
        )
    }

    /// Where the marketplace posts notifications for one connection.
    pub fn webhook_url(&self, marketplace: Marketplace, connection_id: uuid::Uuid) -> String {
        format!(
            "{}/webhooks/{}/{connection_id}",
            self.public_url,
            marketplace.code()
        )
    }
}

/// How a marketplace is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectKind {
    /// Redirect to the marketplace's consent page and back (Shopify, Amazon, eBay, Etsy).
    OAuth,
    /// Redirect to the store, which hands keys to our callback (WooCommerce); keys can also be
    /// entered by hand.
    KeyHandover,
    /// The merchant enters keys from the marketplace's seller portal (Kaufland).
    ApiKeys,
}

/// One permission ShopMarkets asks for, described for the connect screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeInfo {
    /// As the marketplace names it (`write_products`, `listings_w`, a scope URL…).
    pub code: &'static str,
    pub en: &'static str,
    pub de: &'static str,
}

/// What the merchant entered to start.
#[derive(Debug, Clone, Default)]
pub struct ConnectInput {
    /// Shopify's shop domain or the WooCommerce store URL.
    pub shop: Option<String>,
    /// Keys entered by hand (Kaufland client key and secret key; WooCommerce consumer key
    /// and secret).
    pub key: Option<String>,
    pub secret: Option<Secret<String>>,
}

impl ConnectInput {
    /// For marketplaces whose consent page signs the merchant in (Amazon, eBay, Etsy): nothing
    /// may be entered here, so a shop address or keys sent anyway are refused, not ignored.
    pub fn ensure_nothing_entered(&self) -> Result<(), ChannelError> {
        let entered = |value: Option<&str>| value.is_some_and(|v| !v.trim().is_empty());
        if entered(self.shop.as_deref()) {
            return Err(ChannelError::InvalidInput {
                field: "shop",
                message: "this marketplace needs no shop address",
            });
        }
        if entered(self.key.as_deref())
            || entered(self.secret.as_ref().map(|s| s.expose().as_str()))
        {
            return Err(ChannelError::InvalidInput {
                field: "key",
                message: "this marketplace is connected on its consent page, not with keys",
            });
        }
        Ok(())
    }
}

/// Kept, encrypted, between the redirect and the callback.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub pkce_verifier: Option<String>,
    /// The normalised shop domain or store URL the flow is for.
    pub shop: Option<String>,
    /// Keys a store handed over to our callback before the browser came back (WooCommerce).
    pub handed_over: Option<Credentials>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field(
                "pkce_verifier",
                &self.pkce_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("shop", &self.shop)
            .field("handed_over", &self.handed_over)
            .finish()
    }
}

/// Where to send the browser, and what to keep until it comes back.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: String,
    pub pending: Pending,
}

/// A finished connection, before it is stored.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The shop domain, seller id, user id or store URL: one connection per account.
    pub account_id: String,
    /// What the merchant recognises (shop name, seller name, store URL).
    pub account_name: String,
    pub scopes: Vec<String>,
    pub secrets: ConnectionSecrets,
}

/// Whether a disconnect could revoke the credentials at the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// The marketplace has no revocation the app can call (the merchant removes the app there).
    NotOffered,
}

/// A notification whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    /// The marketplace's id of the event, the key for storing it once.
    pub event_id: String,
    pub topic: String,
    /// A delivery that only tests the endpoint (WooCommerce's ping): answered, not stored.
    pub ping: bool,
}

/// Why a channel call failed, in terms the connections page can explain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("ShopMarkets has no app registration at this marketplace")]
    NotConfigured,
    /// The merchant's input is wrong (`field` names it); nothing was sent anywhere.
    #[error("{field}: {message}")]
    InvalidInput {
        field: &'static str,
        message: &'static str,
    },
    /// The merchant declined at the marketplace.
    #[error("the authorization was declined at the marketplace")]
    Denied,
    /// The callback did not come from the marketplace (bad signature, wrong shop).
    #[error("the answer from the marketplace could not be verified: {0}")]
    Forged(String),
    /// Keys or tokens were refused (wrong, expired or revoked).
    #[error("the marketplace refused the credentials: {0}")]
    InvalidCredentials(String),
    /// The refresh token was refused: the merchant has to connect again.
    #[error("the marketplace refused to renew the access: {0}")]
    RefreshRefused(String),
    #[error("the marketplace is limiting requests")]
    RateLimited,
    /// Network trouble or a server error at the marketplace: try again later.
    #[error("the marketplace could not be reached: {0}")]
    Unavailable(String),
    /// An answer we do not understand.
    #[error("unexpected answer from the marketplace: {0}")]
    Protocol(String),
}

impl ChannelError {
    /// A stable code the UI translates (`invalid_credentials`…).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "not_configured",
            Self::InvalidInput { .. } => "invalid_input",
            Self::Denied => "denied",
            Self::Forged(_) => "forged",
            Self::InvalidCredentials(_) => "invalid_credentials",
            Self::RefreshRefused(_) => "refresh_refused",
            Self::RateLimited => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Protocol(_) => "protocol",
        }
    }

    /// Whether the connection cannot work again without the merchant (reconnect).
    pub fn needs_reconnect(&self) -> bool {
        matches!(self, Self::InvalidCredentials(_) | Self::RefreshRefused(_))
    }

    /// From a transport error of the HTTP client. Credentials travel in headers and bodies,
    /// except WooCommerce over plain HTTP, which signs in the query: a URL with a query is
    /// left out of the text.
    pub fn transport(error: &reqwest::Error) -> Self {
        let mut text = error.to_string();
        if let Some(url) = error.url().filter(|url| url.query().is_some()) {
            text = text.replace(url.as_str(), "<url>");
        }
        Self::Unavailable(text)
    }
}

/// A notification whose signature did not check out, or that names no event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the signature is missing or wrong")]
    BadSignature,
    #[error("the notification is malformed: {0}")]
    Malformed(String),
}

/// What an incoming notification request looked like.
#[derive(Debug, Clone, Copy)]
pub struct IncomingWebhook<'a> {
    /// The full URL it was sent to (Kaufland signs it).
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

#[async_trait::async_trait]
pub trait Channel: Send + Sync + std::fmt::Debug {
    fn marketplace(&self) -> Marketplace;
    fn kind(&self) -> ConnectKind;
    /// The permissions asked for, fewest that do the job.
    fn scopes(&self) -> &'static [ScopeInfo];

    /// Checks the merchant's input and builds the URL the browser goes to. `state` is the
    /// single-use value the callback must bring back. Key-only channels answer
    /// `InvalidInput`.
    fn authorize(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
        state: &str,
    ) -> Result<Authorization, ChannelError>;

    /// Finishes a flow from the callback's query parameters; the caller has already matched
    /// `state` to `pending` (single use, same session, same marketplace, not expired).
    async fn finish(
        &self,
        env: &ChannelEnv,
        pending: &Pending,
        query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError>;

    /// Connects with keys the merchant entered, validated by a call to the marketplace.
    async fn connect_with_keys(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
    ) -> Result<Connected, ChannelError>;

    /// A cheap authenticated call that proves the credentials work.
    async fn check(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError>;

    /// New credentials from the refresh token (rotated where the marketplace rotates).
    /// Channels without expiring credentials return them unchanged.
    async fn refresh(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError>;

    /// Revokes the credentials at the marketplace, where it offers that.
    async fn revoke(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError>;

    /// Subscribes to the notifications ShopMarkets needs, delivered to `endpoint`; may set
    /// `secrets.webhook_secret`. Returns the marketplace's ids of the subscriptions.
    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint: &str,
    ) -> Result<Vec<String>, ChannelError>;

    /// Removes the subscriptions [`Channel::register_webhooks`] made.
    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError>;

    /// Fetches what checking a notification's signature needs and the marketplace must be
    /// asked for first (eBay's public key, named by the notification itself); called right
    /// before [`Channel::verify_webhook`]. An error here is ours or the marketplace's, not the
    /// sender's: the notification is answered as a failure to retry. Nothing by default.
    async fn prepare_webhook(
        &self,
        _env: &ChannelEnv,
        _incoming: IncomingWebhook<'_>,
    ) -> Result<(), ChannelError> {
        Ok(())
    }

    /// Checks a notification's signature and names the event.
    fn verify_webhook(
        &self,
        env: &ChannelEnv,
        secrets: &ConnectionSecrets,
        incoming: IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError>;

    /// Answers an endpoint check the marketplace sends with a GET (eBay's `challenge_code`);
    /// `None` where the marketplace has none.
    fn webhook_challenge(
        &self,
        _secrets: &ConnectionSecrets,
        _query: &BTreeMap<String, String>,
        _endpoint: &str,
    ) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_only_marketplaces_refuse_anything_entered() {
        assert!(ConnectInput::default().ensure_nothing_entered().is_ok());
        let blank = ConnectInput {
            shop: Some("  ".into()),
            key: Some(String::new()),
            secret: Some(Secret::new(" ".into())),
        };
        assert!(
            blank.ensure_nothing_entered().is_ok(),
            "empty form fields are nothing"
        );
        let shop = ConnectInput {
            shop: Some("demo.myshopify.com".into()),
            ..ConnectInput::default()
        };
        assert!(matches!(
            shop.ensure_nothing_entered(),
            Err(ChannelError::InvalidInput { field: "shop", .. })
        ));
        let secret = ConnectInput {
            secret: Some(Secret::new("cs_123".into())),
            ..ConnectInput::default()
        };
        assert!(matches!(
            secret.ensure_nothing_entered(),
            Err(ChannelError::InvalidInput { field: "key", .. })
        ));
    }
}
