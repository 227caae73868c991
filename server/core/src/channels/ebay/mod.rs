//! eBay: OAuth 2.0 with a RuName (the consent at `auth.ebay.com`, tokens from the identity
//! service at `api.ebay.com`), the account from the Commerce Identity API, and order
//! notifications through the Commerce Notification API (destination with endpoint challenge,
//! ECDSA-signed pushes).
//!
//! - Consent: `{EBAY_AUTH_URL}/oauth2/authorize?client_id&redirect_uri=<RuName>&response_type=code
//!   &scope=<scope URLs>&state`; the RuName stands for our callback URL. Back come `state`,
//!   `code` (valid 299 s) and `expires_in`; a declined consent brings `error=access_denied`
//!   (or nothing but the state, when the RuName has its own declined URL).
//! - Tokens: access 2 h, refresh ~18 months and **not rotated** ([`oauth`]).
//! - eBay offers no call that revokes a user token: the seller removes the app in My eBay.
//! - Notifications: [`notify`].

mod api;
mod notify;
mod oauth;

use std::collections::BTreeMap;

use chrono::Utc;
use shopmarkets_types::Marketplace;

use super::channel::{
    Authorization, Channel, ChannelEnv, ChannelError, ConnectInput, ConnectKind, Connected,
    IncomingWebhook, Pending, Revocation, ScopeInfo, VerifiedEvent, WebhookError,
};
use super::credentials::{ConnectionSecrets, Credentials};

/// What ShopMarkets asks eBay for: the fewest scopes for listings, stock, prices, orders,
/// shipping and notifications, plus the account's id and name.
pub const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        code: "https://api.ebay.com/oauth/api_scope/sell.inventory",
        en: "Create and update listings, stock and prices",
        de: "Angebote, Bestände und Preise anlegen und ändern",
    },
    ScopeInfo {
        code: "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
        en: "Read orders and mark them as shipped",
        de: "Bestellungen lesen und als versandt markieren",
    },
    ScopeInfo {
        code: "https://api.ebay.com/oauth/api_scope/sell.account",
        en: "Use your shipping, payment and return policies and your item location",
        de: "Versand-, Zahlungs- und Rücknahmebedingungen sowie den Artikelstandort verwenden",
    },
    ScopeInfo {
        code: "https://api.ebay.com/oauth/api_scope/commerce.notification.subscription",
        en: "Receive notifications about new and shipped orders",
        de: "Benachrichtigungen über neue und versandte Bestellungen erhalten",
    },
    ScopeInfo {
        code: "https://api.ebay.com/oauth/api_scope/commerce.identity.readonly",
        en: "Read your eBay user ID and user name",
        de: "Ihre eBay-Nutzerkennung und Ihren Mitgliedsnamen lesen",
    },
];

/// `EBAY_API_URL` without a trailing slash.
fn api_base(env: &ChannelEnv) -> Result<&str, ChannelError> {
    env.endpoints
        .endpoint("EBAY_API_URL")
        .map(|u| u.trim_end_matches('/'))
        .ok_or(ChannelError::NotConfigured)
}

/// An authorization code as eBay issues them (`v^1.1#i^1#…`, up to ~1024 characters).
fn valid_code(code: &str) -> bool {
    (1..=2048).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_graphic())
}

fn access_token(secrets: &ConnectionSecrets) -> Result<&str, ChannelError> {
    secrets
        .credentials
        .access_token()
        .ok_or_else(|| ChannelError::InvalidCredentials("the connection holds no token".into()))
}

/// A user token good for the next minute: the stored one, or a new one from the refresh token
/// (kept in memory only; the scheduled refresh stores its own). For subscription changes,
/// which may come long after the last refresh (a disconnect).
async fn usable_token(
    env: &ChannelEnv,
    secrets: &ConnectionSecrets,
) -> Result<String, ChannelError> {
    let expiring = secrets
        .credentials
        .access_expires_at()
        .is_some_and(|at| at <= Utc::now() + chrono::Duration::seconds(60));
    if expiring && secrets.credentials.refresh_token().is_some() {
        let fresh = oauth::refresh(env, &secrets.credentials).await?;
        return access_token(&ConnectionSecrets {
            credentials: fresh,
            webhook_secret: None,
        })
        .map(str::to_owned);
    }
    access_token(secrets).map(str::to_owned)
}

/// The eBay adapter; it caches the notification public keys.
#[derive(Debug, Default)]
pub struct Ebay {
    keys: notify::KeyCache,
}

#[async_trait::async_trait]
impl Channel for Ebay {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Ebay
    }

    fn kind(&self) -> ConnectKind {
        ConnectKind::OAuth
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        SCOPES
    }

    fn authorize(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
        state: &str,
    ) -> Result<Authorization, ChannelError> {
        // eBay's consent signs the seller in itself: there is nothing to enter.
        input.ensure_nothing_entered()?;
        Ok(Authorization {
            url: oauth::consent_url(env, state)?,
            pending: Pending::default(),
        })
    }

    async fn finish(
        &self,
        env: &ChannelEnv,
        _pending: &Pending,
        query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError> {
        if let Some(error) = query.get("error") {
            return Err(match error.as_str() {
                "access_denied" => ChannelError::Denied,
                other => {
                    let description = query
                        .get("error_description")
                        .map(|d| d.chars().take(300).collect::<String>())
                        .unwrap_or_default();
                    let error: String = other.chars().take(64).collect();
                    ChannelError::Protocol(format!("{error}: {description}"))
                }
            });
        }
        // The declined URL of a RuName gets the state only.
        let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
            return Err(ChannelError::Denied);
        };
        if !valid_code(code) {
            return Err(ChannelError::Forged("malformed authorization code".into()));
        }
        let credentials = oauth::redeem_code(env, code).await?;
        let token = credentials.access_token().unwrap_or_default();
        let user = api::user(env, token).await?;
        Ok(Connected {
            account_id: user.user_id,
            account_name: user.username,
            scopes: SCOPES.iter().map(|s| s.code.to_owned()).collect(),
            secrets: ConnectionSecrets {
                credentials,
                webhook_secret: None,
            },
        })
    }

    async fn connect_with_keys(
        &self,
        _env: &ChannelEnv,
        _input: &ConnectInput,
    ) -> Result<Connected, ChannelError> {
        Err(ChannelError::InvalidInput {
            field: "key",
            message: "eBay is connected through its consent page",
        })
    }

    /// `GET /commerce/identity/v1/user/`: cheap, and proves the token is this account's.
    async fn check(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError> {
        let user = api::user(env, access_token(secrets)?).await?;
        if user.user_id != account_id {
            return Err(ChannelError::InvalidCredentials(
                "the token belongs to another eBay account".into(),
            ));
        }
        Ok(())
    }

    async fn refresh(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError> {
        oauth::refresh(env, credentials).await
    }

    /// eBay has no API to revoke a user token; the seller removes the app in My eBay
    /// (Account → Permissions). Tokens simply run out.
    async fn revoke(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        _secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError> {
        Ok(Revocation::NotOffered)
    }

    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint: &str,
    ) -> Result<Vec<String>, ChannelError> {
        // The verification token is ours to choose (32–80 characters); the caller has set a
        // random one of 48 alphanumerics.
        let verification_token = secrets
            .webhook_secret
            .clone()
            .filter(|t| (32..=80).contains(&t.len()))
            .ok_or_else(|| ChannelError::Protocol("no usable verification token".into()))?;
        let token = usable_token(env, secrets).await?;
        notify::register(env, &token, endpoint, &verification_token).await
    }

    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError> {
        let token = usable_token(env, secrets).await?;
        notify::unregister(env, &token, ids).await
    }

    async fn prepare_webhook(
        &self,
        env: &ChannelEnv,
        incoming: IncomingWebhook<'_>,
    ) -> Result<(), ChannelError> {
        self.keys.prepare(env, &incoming).await
    }

    fn verify_webhook(
        &self,
        env: &ChannelEnv,
        _secrets: &ConnectionSecrets,
        incoming: IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError> {
        self.keys.verify(env, &incoming)
    }

    fn webhook_challenge(
        &self,
        secrets: &ConnectionSecrets,
        query: &BTreeMap<String, String>,
        endpoint: &str,
    ) -> Option<String> {
        let code = query.get("challenge_code").filter(|c| !c.is_empty())?;
        let token = secrets.webhook_secret.as_deref()?;
        Some(notify::challenge_response(code, token, endpoint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_scope_urls_with_both_languages() {
        for scope in SCOPES {
            assert!(
                scope
                    .code
                    .starts_with("https://api.ebay.com/oauth/api_scope/"),
                "{}",
                scope.code
            );
            assert!(!scope.en.is_empty() && !scope.de.is_empty());
        }
    }

    #[test]
    fn codes_are_printable_and_bounded() {
        assert!(valid_code("v^1.1#i^1#f^0#I^3#r^1#p^3#t^Ul41XzA6abc"));
        assert!(!valid_code(""));
        assert!(!valid_code("a b"));
        assert!(!valid_code(&"a".repeat(3000)));
    }
}
