//! Etsy (Open API v3): OAuth 2.0 with mandatory PKCE (S256), `x-api-key: keystring:shared
//! secret` on every API call, rotating refresh tokens, and `order.paid` notifications signed
//! the Standard-Webhooks way.
//!
//! - Consent: `{ETSY_CONNECT_URL}/oauth/connect` (`https://www.etsy.com/oauth/connect`).
//! - Tokens: `{ETSY_API_URL}/v3/public/oauth/token` (`https://api.etsy.com/…`), form-encoded,
//!   `client_id` in the body and no client secret (Etsy's token endpoint takes none). Access
//!   lives one hour; tokens are `"<user_id>.<…>"`, so the numeric prefix names the member.
//! - Calls: `{ETSY_API_URL}/v3/application/…` with `x-api-key` and `Authorization: Bearer`.
//! - Notifications: Etsy configures webhooks in its developer console (commercial-access apps
//!   only); there is no API to subscribe. The sandbox offers a JSON stand-in for the console
//!   (`{ETSY_CONNECT_URL}/developer/webhooks`), which [`Etsy::register_webhooks`] uses while the
//!   sandboxes run. Against the real Etsy nothing is subscribed: the endpoint and its `whsec_`
//!   secret have to be set up in the console, and apps without commercial access poll receipts
//!   (`min_last_modified`).
//! - Revocation: Etsy documents none; the merchant removes the app in their Etsy account.

mod oauth;
mod webhooks;

use std::collections::BTreeMap;

use chrono::Utc;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RefreshToken, Scope,
    TokenResponse as _,
};
use serde_json::Value;
use shopmarkets_types::Marketplace;

use self::oauth::{credentials_from, oauth_client, token_error, user_id_of};
use self::webhooks::{signing_key, verify};
use super::channel::{
    Authorization, Channel, ChannelEnv, ChannelError, ConnectInput, ConnectKind, Connected,
    IncomingWebhook, Pending, Revocation, ScopeInfo, VerifiedEvent, WebhookError,
};
use super::credentials::{ConnectionSecrets, Credentials};

/// The permissions asked for: listings with their inventory and prices, receipts (orders),
/// shipping with tracking, and the member's shop. Not asked: `listings_d` (listings are
/// deactivated, never deleted), `shops_w`, `email_r`, `address_r` and the buyer-side scopes.
const SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        code: "listings_r",
        en: "Read listings, including inactive and draft ones",
        de: "Angebote lesen, auch inaktive und Entwürfe",
    },
    ScopeInfo {
        code: "listings_w",
        en: "Create and update listings, prices and stock",
        de: "Angebote, Preise und Bestand anlegen und ändern",
    },
    ScopeInfo {
        code: "transactions_r",
        en: "Read orders (receipts)",
        de: "Bestellungen lesen",
    },
    ScopeInfo {
        code: "transactions_w",
        en: "Mark orders as shipped and add tracking numbers",
        de: "Bestellungen als versendet markieren und Sendungsnummern hinterlegen",
    },
    ScopeInfo {
        code: "shops_r",
        en: "Read the shop's details and shipping profiles",
        de: "Shop-Daten und Versandprofile lesen",
    },
];

/// The events ShopMarkets subscribes to (the only one Etsy documents).
const WEBHOOK_EVENTS: &[&str] = &["order.paid"];
#[derive(Debug, Default)]
pub struct Etsy;

fn endpoint<'a>(env: &'a ChannelEnv, var: &str) -> Result<&'a str, ChannelError> {
    env.endpoints
        .endpoint(var)
        .map(|url| url.trim_end_matches('/'))
        .ok_or(ChannelError::NotConfigured)
}

/// Etsy's own words from an error body (`{"error": …, "error_description": …}`), short; never
/// the body itself otherwise (a success body carries tokens).
fn etsy_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let text = parsed
        .as_ref()
        .and_then(|v| {
            v.get("error_description")
                .and_then(Value::as_str)
                .or_else(|| v.get("error").and_then(Value::as_str))
        })
        .unwrap_or("no error text");
    text.chars().take(300).collect()
}

/// `x-api-key: keystring:shared_secret` (the secret is required since 2026-02-09).
fn api_key(env: &ChannelEnv) -> Result<reqwest::header::HeaderValue, ChannelError> {
    let app = env.app()?;
    let mut value = reqwest::header::HeaderValue::from_str(&format!(
        "{}:{}",
        app.client_id,
        app.client_secret.expose()
    ))
    .map_err(|_| ChannelError::NotConfigured)?;
    value.set_sensitive(true);
    Ok(value)
}

/// Maps an answer of Etsy's API (`/v3/application/…` or the console stand-in) to JSON or an
/// error. `what` names the call for the error text.
async fn answer(response: reqwest::Response, what: &str) -> Result<Value, ChannelError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    if status.is_success() {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&bytes)
            .map_err(|_| ChannelError::Protocol(format!("{what}: the answer is not JSON")));
    }
    let message = etsy_message(&bytes);
    Err(match status.as_u16() {
        // 401 invalid_token (expired, revoked); 403 a refused x-api-key or a missing scope.
        401 | 403 => ChannelError::InvalidCredentials(message),
        429 => ChannelError::RateLimited,
        500..=599 => ChannelError::Unavailable(format!("HTTP {}: {message}", status.as_u16())),
        code => ChannelError::Protocol(format!("{what}: HTTP {code}: {message}")),
    })
}

/// An authenticated GET of `/v3/application{path}`.
async fn api_get(env: &ChannelEnv, access_token: &str, path: &str) -> Result<Value, ChannelError> {
    let url = format!("{}/v3/application{path}", endpoint(env, "ETSY_API_URL")?);
    let response = env
        .http
        .get(url)
        .header("x-api-key", api_key(env)?)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    answer(response, path).await
}

fn access_token(secrets: &ConnectionSecrets) -> Result<&str, ChannelError> {
    secrets
        .credentials
        .access_token()
        .ok_or_else(|| ChannelError::InvalidCredentials("no Etsy access token".into()))
}

/// A numeric id field of an Etsy answer.
fn id_field(value: &Value, name: &str) -> Option<u64> {
    match value.get(name)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `GET /users/me` → (user_id, shop_id).
async fn me(env: &ChannelEnv, access_token: &str) -> Result<(u64, Option<u64>), ChannelError> {
    let me = api_get(env, access_token, "/users/me").await?;
    let user_id = id_field(&me, "user_id")
        .ok_or_else(|| ChannelError::Protocol("users/me: no user_id".into()))?;
    Ok((user_id, id_field(&me, "shop_id")))
}

#[async_trait::async_trait]
impl Channel for Etsy {
    fn marketplace(&self) -> Marketplace {
        Marketplace::Etsy
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
        // The member signs in at Etsy: nothing is entered here.
        input.ensure_nothing_entered()?;
        let client = oauth_client(env)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = state.to_owned();
        let (url, _) = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(SCOPES.iter().map(|s| Scope::new(s.code.to_owned())))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            pending: Pending {
                pkce_verifier: Some(verifier.into_secret()),
                shop: None,
                handed_over: None,
            },
        })
    }

    async fn finish(
        &self,
        env: &ChannelEnv,
        pending: &Pending,
        query: &BTreeMap<String, String>,
    ) -> Result<Connected, ChannelError> {
        if let Some(error) = query.get("error") {
            return Err(match error.as_str() {
                "access_denied" => ChannelError::Denied,
                other => ChannelError::Protocol(format!(
                    "{}: {}",
                    other.chars().take(60).collect::<String>(),
                    query
                        .get("error_description")
                        .map(|d| d.chars().take(300).collect::<String>())
                        .unwrap_or_default()
                )),
            });
        }
        let code = query
            .get("code")
            .filter(|c| !c.is_empty() && c.len() <= 512)
            .ok_or_else(|| ChannelError::Protocol("the callback carries no code".into()))?;
        let verifier = pending
            .pkce_verifier
            .clone()
            .ok_or_else(|| ChannelError::Protocol("the flow has no PKCE verifier".into()))?;
        let client = oauth_client(env)?;
        let now = Utc::now();
        let response = client
            .exchange_code(AuthorizationCode::new(code.clone()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&|request| {
                crate::channels::oauth::send(env.http.clone(), request, "Etsy's token endpoint")
            })
            .await
            .map_err(|e| token_error(e, false))?;
        let credentials = credentials_from(&response, None, now)?;
        let access = credentials.access_token().unwrap_or_default().to_owned();
        let prefix = user_id_of(&access)?.to_owned();
        let (user_id, shop_id) = me(env, &access).await?;
        if user_id.to_string() != prefix {
            return Err(ChannelError::Protocol(
                "the token and users/me name different members".into(),
            ));
        }
        let shop_id = shop_id.ok_or_else(|| {
            ChannelError::Protocol("this Etsy account has no shop; open one first".into())
        })?;
        let shop = api_get(env, &access, &format!("/shops/{shop_id}")).await?;
        let account_name = shop
            .get("shop_name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("Etsy shop {shop_id}"), str::to_owned);
        // Etsy's token answer names no scopes: the granted set is the requested one.
        let scopes = response.scopes().map_or_else(
            || SCOPES.iter().map(|s| s.code.to_owned()).collect(),
            |granted| granted.iter().map(|s| s.to_string()).collect(),
        );
        Ok(Connected {
            account_id: prefix,
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
            message: "Etsy is connected on Etsy's consent page, not with keys",
        })
    }

    async fn check(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        secrets: &ConnectionSecrets,
    ) -> Result<(), ChannelError> {
        let (user_id, _) = me(env, access_token(secrets)?).await?;
        if user_id.to_string() != account_id {
            return Err(ChannelError::InvalidCredentials(
                "the token belongs to another Etsy member".into(),
            ));
        }
        Ok(())
    }

    async fn refresh(
        &self,
        env: &ChannelEnv,
        account_id: &str,
        credentials: &Credentials,
    ) -> Result<Credentials, ChannelError> {
        let Credentials::OAuth { refresh_token, .. } = credentials else {
            return Ok(credentials.clone());
        };
        let refresh_token = refresh_token
            .as_deref()
            .ok_or_else(|| ChannelError::RefreshRefused("no refresh token stored".into()))?;
        if user_id_of(refresh_token).ok() != Some(account_id) {
            return Err(ChannelError::RefreshRefused(
                "the refresh token belongs to another Etsy member".into(),
            ));
        }
        let client = oauth_client(env)?;
        let now = Utc::now();
        let token = RefreshToken::new(refresh_token.to_owned());
        let response = client
            .exchange_refresh_token(&token)
            .request_async(&|request| {
                crate::channels::oauth::send(env.http.clone(), request, "Etsy's token endpoint")
            })
            .await
            .map_err(|e| token_error(e, true))?;
        // Etsy rotates: the answer brings a new refresh token (the old one is kept only if the
        // answer lacks one).
        let fresh = credentials_from(&response, Some(refresh_token), now)?;
        if user_id_of(fresh.access_token().unwrap_or_default())? != account_id {
            return Err(ChannelError::Protocol(
                "the renewed token names another Etsy member".into(),
            ));
        }
        Ok(fresh)
    }

    async fn revoke(
        &self,
        _env: &ChannelEnv,
        _account_id: &str,
        _secrets: &ConnectionSecrets,
    ) -> Result<Revocation, ChannelError> {
        // Etsy documents no token revocation: the member removes the app in their account.
        Ok(Revocation::NotOffered)
    }

    async fn register_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        secrets: &mut ConnectionSecrets,
        endpoint_url: &str,
    ) -> Result<Vec<String>, ChannelError> {
        // Real Etsy: the webhook portal of the developer console, no API. Only the sandbox's
        // stand-in for the console can be called.
        if env.endpoints.sandboxes.is_none() {
            tracing::info!(
                "Etsy webhooks are set up in Etsy's developer console; nothing to subscribe"
            );
            return Ok(Vec::new());
        }
        let url = format!("{}/developer/webhooks", endpoint(env, "ETSY_CONNECT_URL")?);
        let response = env
            .http
            .post(url)
            .header("x-api-key", api_key(env)?)
            .json(&serde_json::json!({ "url": endpoint_url, "events": WEBHOOK_EVENTS }))
            .send()
            .await
            .map_err(|e| ChannelError::transport(&e))?;
        let created = answer(response, "webhook registration").await?;
        let id = created
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .ok_or_else(|| ChannelError::Protocol("webhook registration: no id".into()))?;
        let secret = created
            .get("secret")
            .and_then(Value::as_str)
            .filter(|s| signing_key(s).is_some())
            .ok_or_else(|| {
                ChannelError::Protocol("webhook registration: no whsec_ secret".into())
            })?;
        // Etsy issues the signing secret: it replaces the one the caller made up.
        secrets.webhook_secret = Some(secret.to_owned());
        Ok(vec![id.to_owned()])
    }

    async fn unregister_webhooks(
        &self,
        env: &ChannelEnv,
        _account_id: &str,
        _secrets: &ConnectionSecrets,
        ids: &[String],
    ) -> Result<(), ChannelError> {
        for id in ids {
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(ChannelError::Protocol(
                    "a stored webhook id is malformed".into(),
                ));
            }
            let url = format!(
                "{}/developer/webhooks/{id}",
                endpoint(env, "ETSY_CONNECT_URL")?
            );
            let response = env
                .http
                .delete(url)
                .header("x-api-key", api_key(env)?)
                .send()
                .await
                .map_err(|e| ChannelError::transport(&e))?;
            // Already gone is what we wanted.
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                continue;
            }
            answer(response, "webhook removal").await?;
        }
        Ok(())
    }

    fn verify_webhook(
        &self,
        _env: &ChannelEnv,
        secrets: &ConnectionSecrets,
        incoming: IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError> {
        verify(secrets, incoming, Utc::now())
    }
}
