//! Shopify: the app is installed on a shop through the authorization-code grant (no PKCE, per
//! shop endpoints) and holds an expiring offline token: 1 h access, 90-day refresh token
//! replaced on every refresh. Calls go to the Admin GraphQL API with `X-Shopify-Access-Token`;
//! notifications are signed with the app's client secret (base64 HMAC-SHA256 of the body).
//!
//! The token endpoint is not standard OAuth 2.0 (JSON body, no `token_type` in the answer, the
//! same endpoint for code and refresh with the client secret in the body), so it is called by
//! hand rather than through the `oauth2` crate, whose token response needs a `token_type`.

mod api;
mod sign;

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};
use shopmarkets_types::Marketplace;
use subtle::ConstantTimeEq as _;

use self::api::{
    access_token, admin_url, delete_subscriptions, existing_subscriptions, graphql, shop_name,
    token_call, uninstall, user_errors,
};
use self::sign::body_signature_ok;
pub use self::sign::{callback_hmac, callback_message};
use super::channel::{
    Authorization, Channel, ChannelEnv, ChannelError, ConnectInput, ConnectKind, Connected,
    IncomingWebhook, Pending, Revocation, ScopeInfo, VerifiedEvent, WebhookError,
};
use super::credentials::{ConnectionSecrets, Credentials};

/// The Admin API version every call names (and the subscriptions record).
pub const API_VERSION: &str = "2026-04";

/// How far the callback's `timestamp` may be from our clock. The SDK allows 90 s; ten minutes
/// (the flow's own lifetime) tolerates clock skew between Shopify and us, and the state is
/// single use anyway.
const CALLBACK_MAX_AGE_SECS: i64 = 600;

/// What the sync needs to hear about: new, paid, changed and cancelled orders, stock and
/// product changes made in the shop admin, and the app being removed.
const WEBHOOK_TOPICS: [&str; 8] = [
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_PAID",
    "ORDERS_CANCELLED",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "INVENTORY_LEVELS_UPDATE",
    "APP_UNINSTALLED",
];

const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        code: "write_products",
        en: "Read and write products, variants and prices",
        de: "Produkte, Varianten und Preise lesen und schreiben",
    },
    ScopeInfo {
        code: "write_inventory",
        en: "Read and write stock levels",
        de: "Lagerbestände lesen und schreiben",
    },
    ScopeInfo {
        code: "read_locations",
        en: "Read the locations that hold stock",
        de: "Lagerorte lesen",
    },
    ScopeInfo {
        code: "read_orders",
        en: "Read orders and receive order notifications",
        de: "Bestellungen lesen und über Bestellungen benachrichtigt werden",
    },
    ScopeInfo {
        code: "write_merchant_managed_fulfillment_orders",
        en: "Mark orders as shipped with tracking numbers",
        de: "Bestellungen mit Sendungsnummer als versendet markieren",
    },
];

#[derive(Debug, Default)]
pub struct Shopify;

/// `demo-shop`, `demo-shop.myshopify.com` or its URL → `demo-shop.myshopify.com`.
pub fn normalise_shop(raw: &str) -> Result<String, ChannelError> {
    let invalid = |message| ChannelError::InvalidInput {
        field: "shop",
        message,
    };
    let mut shop = raw.trim().to_ascii_lowercase();
    if shop.is_empty() {
        return Err(invalid("enter your shop's address"));
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = shop.strip_prefix(scheme) {
            shop = rest.to_owned();
        }
    }
    let shop = shop.trim_end_matches('/');
    let shop = if shop.contains('.') {
        shop.to_owned()
    } else {
        format!("{shop}.myshopify.com")
    };
    if shop.len() > 120 || !valid_shop(&shop) {
        return Err(invalid("not a myshopify.com shop address"));
    }
    Ok(shop)
}

/// The SDK's check, for the one domain production shops have:
/// `^[a-zA-Z0-9][a-zA-Z0-9-_]*\.myshopify\.com$`.
fn valid_shop(shop: &str) -> bool {
    let Some(name) = shop.strip_suffix(".myshopify.com") else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[async_trait::async_trait]
impl Channel for Shopify {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Shopify
    }

    fn kind(&self) -> ConnectKind {
        ConnectKind::OAuth
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        SCOPES
    }

    /// `{shop}/admin/oauth/authorize?client_id&scope&redirect_uri&state`, without
    /// `grant_options[]`: an offline token, for work in the background.
    fn authorize(
        &self,
        env: &ChannelEnv,
        input: &ConnectInput,
        state: &str,
    ) -> Result<Authorization, ChannelError> {
        let shop = normalise_shop(input.shop.as_deref().unwrap_or(""))?;
        let app = env.app()?;
        let scope = SCOPES.iter().map(|s| s.code).collect::<Vec<_>>().join(",");
        let url = reqwest::Url::parse_with_params(
            &admin_url(env, &shop, "/admin/oauth/authorize"),
            [
                ("client_id", app.client_id.as_str()),
                ("scope", scope.as_str()),
                (
                    "redirect_uri",
                    env.callback_url(Marketplace::Shopify).as_str(),
                ),
                ("state", state),
            ],
        )
        .map_err(|e| ChannelError::Protocol(format!("authorize URL: {e}")))?;
        Ok(Authorization {
            url: url.into(),
            pending: Pending {
                pkce_verifier: None,
                shop: Some(shop),
                handed_over: None,
            },
        })
    }

    /// Verifies the callback (hex query HMAC, timestamp, shop), exchanges the code and reads
    /// the shop's name.
    async fn finish(
        &self,
        env: &ChannelEnv,
        pending: &Pending,
        query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError> {
        if let Some(error) = query.get("error") {
            return Err(if error == "access_denied" {
                ChannelError::Denied
            } else {
                ChannelError::Protocol(format!(
                    "{error}: {}",
                    query
                        .get("error_description")
                        .map(String::as_str)
                        .unwrap_or("")
                ))
            });
        }
        let app = env.app()?;
        let received = query
            .get("hmac")
            .ok_or_else(|| ChannelError::Forged("the callback is not signed".into()))?;
        let expected = callback_hmac(query, app.client_secret.expose());
        if !bool::from(expected.as_bytes().ct_eq(received.as_bytes())) {
            return Err(ChannelError::Forged(
                "the callback signature is wrong".into(),
            ));
        }
        let timestamp = query
            .get("timestamp")
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or_else(|| ChannelError::Forged("the callback has no timestamp".into()))?;
        if (Utc::now().timestamp() - timestamp).abs() > CALLBACK_MAX_AGE_SECS {
            return Err(ChannelError::Forged("the callback is too old".into()));
        }
        let shop = pending
            .shop
            .as_deref()
            .ok_or_else(|| ChannelError::Protocol("the flow names no shop".into()))?;
        if query.get("shop").map(String::as_str) != Some(shop) {
            return Err(ChannelError::Forged(
                "the callback is for another shop".into(),
            ));
        }
        let code = query
            .get("code")
            .filter(|c| !c.is_empty() && c.len() <= 512)
            .ok_or_else(|| ChannelError::Protocol("the callback has no code".into()))?;
        let tokens = token_call(env, shop, json!({ "code": code }), false).await?;
        let now = Utc::now();
        let scopes = tokens.scopes();
        let credentials = tokens.credentials(now, None);
        let token = credentials.access_token().unwrap_or("");
        let account_name = shop_name(env, shop, token).await?;
        Ok(Connected {
            account_id: shop.to_owned(),
            account_name,
            scopes,
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
            message: "Shopify is connected through Shopify's install page",
        })
    }

    async fn check(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError> {
        shop_name(env, account_id, access_token(secrets)?)
            .await
            .map(|_| ())
    }

    /// The refresh token is replaced on every refresh. Shopify keeps the previous one valid
    /// until the new one is used, so a refused current token is retried with the previous
    /// one (the answer to an earlier refresh may have been lost before it was saved).
    async fn refresh(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError> {
        let Credentials::OAuth {
            refresh_token: Some(current),
            previous_refresh_token,
            ..
        } = credentials
        else {
            // A non-expiring offline token (or keys): nothing to renew.
            return Ok(credentials.clone());
        };
        let grant = |token: &str| json!({ "grant_type": "refresh_token", "refresh_token": token });
        let tokens = match token_call(env, account_id, grant(current), true).await {
            Err(ChannelError::RefreshRefused(reason)) => match previous_refresh_token {
                Some(previous) if previous != current => {
                    token_call(env, account_id, grant(previous), true)
                        .await
                        .map_err(|_| ChannelError::RefreshRefused(reason))?
                }
                _ => return Err(ChannelError::RefreshRefused(reason)),
            },
            other => other?,
        };
        Ok(tokens.credentials(Utc::now(), Some(current)))
    }

    /// Uninstalls the app from the shop. An access token that expired meanwhile is renewed
    /// once for that (the renewed tokens die with the uninstall, so they need no saving).
    async fn revoke(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError> {
        match uninstall(env, account_id, access_token(secrets)?).await {
            Ok(()) => Ok(Revocation::Revoked),
            Err(ChannelError::InvalidCredentials(reason))
                if secrets.credentials.refresh_token().is_some() =>
            {
                let renewed = self
                    .refresh(env, account_id, &secrets.credentials)
                    .await
                    .map_err(|_| ChannelError::InvalidCredentials(reason))?;
                uninstall(env, account_id, renewed.access_token().unwrap_or("")).await?;
                Ok(Revocation::Revoked)
            }
            Err(error) => Err(error),
        }
    }

    /// One `webhookSubscriptionCreate` per topic, all in one request. Shopify signs with the
    /// app's client secret, so `webhook_secret` stays unused.
    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint: &str,
    ) -> Result<Vec<String>, ChannelError> {
        let token = access_token(secrets)?;
        let fields: String = WEBHOOK_TOPICS
            .iter()
            .enumerate()
            .map(|(i, topic)| {
                format!(
                    " s{i}: webhookSubscriptionCreate(topic: {topic}, \
                     webhookSubscription: {{ uri: $uri, format: JSON }}) \
                     {{ webhookSubscription {{ id }} userErrors {{ field message }} }}"
                )
            })
            .collect();
        let query = format!("mutation Subscribe($uri: String!) {{{fields} }}");
        let data = graphql(env, account_id, token, &query, json!({ "uri": endpoint })).await?;
        let mut ids = Vec::new();
        let mut problems = Vec::new();
        let mut taken = Vec::new();
        for (i, topic) in WEBHOOK_TOPICS.iter().enumerate() {
            let payload = data.get(format!("s{i}")).unwrap_or(&Value::Null);
            match payload
                .pointer("/webhookSubscription/id")
                .and_then(Value::as_str)
            {
                Some(id) => ids.push(id.to_owned()),
                None => match user_errors(payload) {
                    Some(text) if text.contains("already been taken") => taken.push(*topic),
                    other => problems.push(format!(
                        "{topic}: {}",
                        other.unwrap_or_else(|| "no subscription".into())
                    )),
                },
            }
        }
        // Subscriptions belong to the installation and outlive a new authorization: when the
        // shop is connected again, those to this endpoint are still there and are taken over.
        if !taken.is_empty() {
            let existing = existing_subscriptions(env, account_id, token, endpoint).await?;
            for topic in taken {
                match existing.iter().find(|(t, _)| t == topic) {
                    Some((_, id)) => ids.push(id.clone()),
                    None => problems.push(format!("{topic}: taken by another subscription")),
                }
            }
        }
        if problems.is_empty() {
            return Ok(ids);
        }
        // All or nothing: half a set of subscriptions would go unnoticed.
        if let Err(error) = delete_subscriptions(env, account_id, token, &ids).await {
            tracing::warn!(
                shop = account_id,
                reason = error.code(),
                "removing partial Shopify subscriptions failed"
            );
        }
        Err(ChannelError::Protocol(problems.join("; ")))
    }

    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError> {
        delete_subscriptions(env, account_id, access_token(secrets)?, ids).await
    }

    /// `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(raw body, client secret)); the event id
    /// (`X-Shopify-Event-Id`, the same for every delivery of one event) is the dedupe key.
    fn verify_webhook(
        &self,
        env: &ChannelEnv,
        _secrets: &ConnectionSecrets,
        incoming: IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError> {
        let header = |names: &[&str]| {
            names.iter().find_map(|name| {
                incoming
                    .headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            })
        };
        let app = env.app().map_err(|_| WebhookError::BadSignature)?;
        let signature = header(&["x-shopify-hmac-sha256", "shopify-hmac-sha256"])
            .ok_or(WebhookError::BadSignature)?;
        if !body_signature_ok(app.client_secret.expose(), incoming.body, signature) {
            return Err(WebhookError::BadSignature);
        }
        let event_id = header(&[
            "x-shopify-event-id",
            "shopify-event-id",
            "x-shopify-webhook-id",
            "shopify-webhook-id",
        ])
        .ok_or_else(|| WebhookError::Malformed("no event id".into()))?;
        let topic = header(&["x-shopify-topic", "shopify-topic"])
            .ok_or_else(|| WebhookError::Malformed("no topic".into()))?;
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
    fn shops_are_normalised_and_checked() {
        for ok in [
            "demo-shop",
            "demo-shop.myshopify.com",
            " Demo-Shop.myshopify.com/ ",
            "https://demo-shop.myshopify.com",
        ] {
            assert_eq!(normalise_shop(ok).unwrap(), "demo-shop.myshopify.com");
        }
        for bad in [
            "",
            "-demo",
            "demo.example.com",
            "de mo",
            "demo.myshopify.com.evil.com",
            "demo/../x",
            "demo.myshopify.com@evil.com",
        ] {
            assert!(
                matches!(
                    normalise_shop(bad),
                    Err(ChannelError::InvalidInput { field: "shop", .. })
                ),
                "{bad}"
            );
        }
    }
}
