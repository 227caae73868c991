//! eBay's Commerce Notification API: the destination (our endpoint, checked by eBay with a
//! `challenge_code` GET) and the subscriptions, the challenge answer, and the ECDSA signature
//! of the pushes with the public keys eBay publishes per key id.
//!
//! The key id is only known from a push, and fetching a key is a call with an application
//! token, so `prepare` (async, before verification) fetches and caches the key, and `verify`
//! (sync) checks against the cache. Keys are kept an hour, as eBay's SDK does; a key id eBay
//! does not know is remembered five minutes, so forged pushes cannot make us call eBay for
//! every request.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::VerifyingKey;
use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::api::{Reply, call};
use super::{api_base, oauth};
use crate::channels::channel::{
    ChannelEnv, ChannelError, IncomingWebhook, VerifiedEvent, WebhookError,
};

const V1: &str = "/commerce/notification/v1";

/// The topics ShopMarkets subscribes each connection to: a completed checkout (sent per line
/// item; the order is then read with getOrder) and a line item marked shipped (also when the
/// seller ships on eBay itself).
pub const TOPICS: [&str; 2] = ["ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"];

const KEY_TTL: Duration = Duration::from_secs(3600);
const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(300);
const MAX_CACHED_KEYS: usize = 256;
/// At most this many key look-ups at eBay per minute: pushes with made-up key ids must not use
/// up the Notification API's daily quota. (eBay rotates keys rarely; a genuine push refused
/// while the budget is spent is delivered again later.)
const FETCHES_PER_MINUTE: u32 = 20;

struct CachedKey {
    key: Option<VerifyingKey>,
    fetched: Instant,
}

impl CachedKey {
    fn fresh(&self) -> bool {
        let ttl = if self.key.is_some() {
            KEY_TTL
        } else {
            UNKNOWN_KEY_TTL
        };
        self.fetched.elapsed() < ttl
    }
}

struct AppToken {
    base: String,
    token: String,
    until: Instant,
}

/// The public keys by (API base, key id), and the application token they are read with.
#[derive(Default)]
pub struct KeyCache {
    keys: RwLock<HashMap<String, CachedKey>>,
    app_token: Mutex<Option<AppToken>>,
    /// The current minute's start and the look-ups made in it.
    fetches: Mutex<Option<(Instant, u32)>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read().map(|k| k.len()).unwrap_or_default();
        f.debug_struct("KeyCache")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// `X-EBAY-SIGNATURE`: base64 of `{"alg":"ECDSA","kid","signature","digest":"SHA1"}`.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    alg: String,
    kid: String,
    signature: String,
    #[serde(default)]
    digest: String,
}

fn envelope(incoming: &IncomingWebhook<'_>) -> Result<Envelope, WebhookError> {
    let header = incoming
        .headers
        .get("x-ebay-signature")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .ok_or(WebhookError::BadSignature)?;
    let decoded = STANDARD
        .decode(header.trim())
        .map_err(|_| WebhookError::Malformed("X-EBAY-SIGNATURE is not base64".into()))?;
    let envelope: Envelope = serde_json::from_slice(&decoded).map_err(|_| {
        WebhookError::Malformed("X-EBAY-SIGNATURE is not the JSON eBay sends".into())
    })?;
    if !valid_kid(&envelope.kid) {
        return Err(WebhookError::Malformed("unusable key id".into()));
    }
    Ok(envelope)
}

fn valid_kid(kid: &str) -> bool {
    (1..=128).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn cache_key(base: &str, kid: &str) -> String {
    format!("{base}\n{kid}")
}

impl KeyCache {
    fn lookup(&self, key: &str) -> Option<Option<VerifyingKey>> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(key).filter(|c| c.fresh()).map(|c| c.key)
    }

    fn store(&self, key: String, value: Option<VerifyingKey>) {
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_CACHED_KEYS {
            keys.retain(|_, c| c.fresh() && c.key.is_some());
        }
        if keys.len() < MAX_CACHED_KEYS {
            keys.insert(
                key,
                CachedKey {
                    key: value,
                    fetched: Instant::now(),
                },
            );
        }
    }

    async fn app_token(&self, env: &ChannelEnv, base: &str) -> Result<String, ChannelError> {
        {
            let cached = self.app_token.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(t) = cached.as_ref()
                && t.base == base
                && Instant::now() < t.until
            {
                return Ok(t.token.clone());
            }
        }
        let (token, lifetime) = oauth::application_token(env).await?;
        let until = Instant::now() + lifetime.saturating_sub(Duration::from_secs(120));
        *self.app_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(AppToken {
            base: base.to_owned(),
            token: token.clone(),
            until,
        });
        Ok(token)
    }

    /// Takes one key look-up from this minute's budget.
    fn take_fetch(&self) -> bool {
        let mut fetches = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match fetches.as_mut() {
            Some((start, count)) if now.duration_since(*start) < Duration::from_secs(60) => {
                if *count >= FETCHES_PER_MINUTE {
                    return false;
                }
                *count += 1;
            }
            _ => *fetches = Some((now, 1)),
        }
        true
    }

    fn forget_app_token(&self) {
        *self.app_token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Makes sure the key a push names is cached (or known to be unknown). A push without a
    /// readable signature needs no key: `verify` refuses it.
    pub async fn prepare(
        &self,
        env: &ChannelEnv,
        incoming: &IncomingWebhook<'_>,
    ) -> Result<(), ChannelError> {
        let Ok(envelope) = envelope(incoming) else {
            return Ok(());
        };
        let base = api_base(env)?.to_owned();
        let key = cache_key(&base, &envelope.kid);
        if self.lookup(&key).is_some() {
            return Ok(());
        }
        if !self.take_fetch() {
            tracing::warn!("eBay public key look-ups over budget; push refused");
            return Ok(());
        }
        let url = format!("{V1}/public_key/{}", envelope.kid);
        let mut attempt = 0;
        let reply = loop {
            let token = self.app_token(env, &base).await?;
            match call(env, reqwest::Method::GET, &url, &token, None).await {
                // An application token eBay no longer takes: one more with a new one.
                Err(ChannelError::InvalidCredentials(_)) if attempt == 0 => {
                    self.forget_app_token();
                    attempt += 1;
                }
                other => break other?,
            }
        };
        if reply.status == http::StatusCode::NOT_FOUND {
            self.store(key, None);
            return Ok(());
        }
        if !reply.status.is_success() {
            return Err(reply.failure("public key"));
        }
        let pem = reply
            .body
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| ChannelError::Protocol("the public key answer has no key".into()))?;
        let public = p256::PublicKey::from_public_key_pem(pem).map_err(|_| {
            ChannelError::Protocol("the public key is not a P-256 public key".into())
        })?;
        self.store(key, Some(VerifyingKey::from(&public)));
        Ok(())
    }

    /// Checks the push's signature over the body as received (eBay signs the compact JSON it
    /// sends) with the cached key, and names the event.
    pub fn verify(
        &self,
        env: &ChannelEnv,
        incoming: &IncomingWebhook<'_>,
    ) -> Result<VerifiedEvent, WebhookError> {
        let envelope = envelope(incoming)?;
        if !envelope.alg.eq_ignore_ascii_case("ecdsa") {
            return Err(WebhookError::BadSignature);
        }
        let base = api_base(env).map_err(|_| WebhookError::BadSignature)?;
        let key = self
            .lookup(&cache_key(base, &envelope.kid))
            .flatten()
            .ok_or(WebhookError::BadSignature)?;
        let der = STANDARD
            .decode(envelope.signature.trim())
            .map_err(|_| WebhookError::BadSignature)?;
        let signature =
            p256::ecdsa::Signature::from_der(&der).map_err(|_| WebhookError::BadSignature)?;
        let verified = match envelope.digest.to_ascii_uppercase().as_str() {
            "SHA1" | "" => key.verify_prehash(&sha1::Sha1::digest(incoming.body), &signature),
            "SHA256" => key.verify_prehash(&Sha256::digest(incoming.body), &signature),
            _ => return Err(WebhookError::BadSignature),
        };
        verified.map_err(|_| WebhookError::BadSignature)?;
        event(incoming.body)
    }
}

/// `{metadata:{topic}, notification:{notificationId}}`.
fn event(body: &[u8]) -> Result<VerifiedEvent, WebhookError> {
    let body: Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::Malformed("the body is not JSON".into()))?;
    let text = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let event_id = text("/notification/notificationId")
        .ok_or_else(|| WebhookError::Malformed("no notificationId".into()))?;
    let topic =
        text("/metadata/topic").ok_or_else(|| WebhookError::Malformed("no topic".into()))?;
    Ok(VerifiedEvent {
        event_id,
        topic,
        ping: false,
    })
}

/// eBay's endpoint check: `{"challengeResponse": hex(SHA-256(code + token + endpoint))}`.
pub fn challenge_response(code: &str, verification_token: &str, endpoint: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(code.as_bytes());
    hasher.update(verification_token.as_bytes());
    hasher.update(endpoint.as_bytes());
    json!({ "challengeResponse": crate::channels::http::hex(&hasher.finalize()) }).to_string()
}

/// An id eBay gave a destination or subscription, safe as a path segment.
fn valid_id(id: &str) -> bool {
    (1..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn created(reply: &Reply, what: &str) -> Result<String, ChannelError> {
    if reply.status != http::StatusCode::CREATED {
        return Err(reply.failure(what));
    }
    reply
        .created_id()
        .filter(|id| valid_id(id))
        .ok_or_else(|| ChannelError::Protocol(format!("{what}: no usable id in Location")))
}

/// Where eBay writes when deliveries fail: only set when the app has no configuration yet (an
/// address operations chose is kept). [U] eBay documents no default; ShopMarkets has no
/// setting for it, so an address at the app's own domain is used.
fn alert_email(env: &ChannelEnv) -> String {
    let host = env
        .public_url
        .split_once("://")
        .map_or(env.public_url.as_str(), |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    format!("ebay-alerts@{host}")
}

async fn ensure_config(env: &ChannelEnv, token: &str) -> Result<(), ChannelError> {
    let reply = call(
        env,
        reqwest::Method::GET,
        &format!("{V1}/config"),
        token,
        None,
    )
    .await?;
    if reply.status.is_success()
        && reply
            .body
            .get("alertEmail")
            .and_then(Value::as_str)
            .is_some_and(|e| !e.is_empty())
    {
        return Ok(());
    }
    if !reply.status.is_success() && reply.status != http::StatusCode::NOT_FOUND {
        return Err(reply.failure("config"));
    }
    let body = json!({ "alertEmail": alert_email(env) });
    let reply = call(
        env,
        reqwest::Method::PUT,
        &format!("{V1}/config"),
        token,
        Some(&body),
    )
    .await?;
    if !reply.status.is_success() {
        return Err(reply.failure("config"));
    }
    Ok(())
}

/// The destination for `endpoint`: created (eBay checks the endpoint with the challenge while
/// answering), or, when one with this endpoint is left from an earlier attempt, given the new
/// verification token.
async fn destination(
    env: &ChannelEnv,
    token: &str,
    endpoint: &str,
    verification_token: &str,
) -> Result<String, ChannelError> {
    let name: String = format!(
        "ShopMarkets {}",
        endpoint.rsplit('/').next().unwrap_or_default()
    )
    .chars()
    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_'))
    .take(64)
    .collect();
    let body = json!({
        "name": name,
        "status": "ENABLED",
        "deliveryConfig": { "endpoint": endpoint, "verificationToken": verification_token },
    });
    let url = format!("{V1}/destination");
    let reply = call(env, reqwest::Method::POST, &url, token, Some(&body)).await?;
    if reply.status != http::StatusCode::CONFLICT {
        return created(&reply, "destination");
    }
    let list = call(
        env,
        reqwest::Method::GET,
        &format!("{url}?limit=100"),
        token,
        None,
    )
    .await?;
    let existing = list
        .body
        .get("destinations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|d| {
            d.pointer("/deliveryConfig/endpoint")
                .and_then(Value::as_str)
                == Some(endpoint)
        })
        .and_then(|d| d.get("destinationId").and_then(Value::as_str))
        .filter(|id| valid_id(id))
        .map(str::to_owned)
        .ok_or_else(|| reply.failure("destination"))?;
    let updated = call(
        env,
        reqwest::Method::PUT,
        &format!("{url}/{existing}"),
        token,
        Some(&body),
    )
    .await?;
    if !updated.status.is_success() {
        return Err(updated.failure("destination"));
    }
    Ok(existing)
}

async fn subscribe(
    env: &ChannelEnv,
    token: &str,
    destination_id: &str,
    topic: &str,
) -> Result<String, ChannelError> {
    let body = json!({
        "topicId": topic,
        "destinationId": destination_id,
        "status": "ENABLED",
        "payload": { "format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS" },
    });
    let url = format!("{V1}/subscription");
    let reply = call(env, reqwest::Method::POST, &url, token, Some(&body)).await?;
    if reply.status != http::StatusCode::CONFLICT {
        return created(&reply, "subscription");
    }
    // Already subscribed (a destination left from an earlier attempt): that subscription.
    let list = call(
        env,
        reqwest::Method::GET,
        &format!("{url}?limit=100"),
        token,
        None,
    )
    .await?;
    list.body
        .get("subscriptions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|s| {
            s.get("topicId").and_then(Value::as_str) == Some(topic)
                && s.get("destinationId").and_then(Value::as_str) == Some(destination_id)
        })
        .and_then(|s| s.get("subscriptionId").and_then(Value::as_str))
        .filter(|id| valid_id(id))
        .map(str::to_owned)
        .ok_or_else(|| reply.failure("subscription"))
}

/// Config, destination, one subscription per topic. Ids: `destination:<id>`,
/// `subscription:<id>`…; on a failure, what was made is removed again.
pub async fn register(
    env: &ChannelEnv,
    token: &str,
    endpoint: &str,
    verification_token: &str,
) -> Result<Vec<String>, ChannelError> {
    ensure_config(env, token).await?;
    let destination_id = destination(env, token, endpoint, verification_token).await?;
    let mut ids = vec![format!("destination:{destination_id}")];
    for topic in TOPICS {
        match subscribe(env, token, &destination_id, topic).await {
            Ok(id) => ids.push(format!("subscription:{id}")),
            Err(error) => {
                if let Err(cleanup) = unregister(env, token, &ids).await {
                    tracing::warn!(
                        reason = cleanup.code(),
                        "removing a half-made eBay subscription failed"
                    );
                }
                return Err(error);
            }
        }
    }
    Ok(ids)
}

/// Deletes the subscriptions, then the destination (eBay refuses to delete one in use). Gone
/// already counts as deleted; every id is tried, the first failure is reported.
pub async fn unregister(env: &ChannelEnv, token: &str, ids: &[String]) -> Result<(), ChannelError> {
    let parsed: Vec<(&str, &str)> = ids
        .iter()
        .filter_map(|id| id.split_once(':'))
        .filter(|(_, id)| valid_id(id))
        .collect();
    let ordered = parsed
        .iter()
        .filter(|(kind, _)| *kind == "subscription")
        .chain(parsed.iter().filter(|(kind, _)| *kind == "destination"));
    let mut first_error = None;
    for (kind, id) in ordered {
        let url = format!("{V1}/{kind}/{id}");
        let outcome = match call(env, reqwest::Method::DELETE, &url, token, None).await {
            Ok(reply)
                if reply.status.is_success() || reply.status == http::StatusCode::NOT_FOUND =>
            {
                Ok(())
            }
            Ok(reply) => Err(reply.failure(kind)),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_answer_is_the_sdk_hash() {
        // hex(SHA-256("abc" + "token" + "https://x/y")), computed independently.
        let expected = crate::channels::http::hex(&Sha256::digest(b"abctokenhttps://x/y"));
        assert_eq!(
            challenge_response("abc", "token", "https://x/y"),
            format!("{{\"challengeResponse\":\"{expected}\"}}")
        );
    }

    #[test]
    fn key_lookups_have_a_budget() {
        let cache = KeyCache::default();
        for _ in 0..FETCHES_PER_MINUTE {
            assert!(cache.take_fetch());
        }
        assert!(!cache.take_fetch());
    }

    #[test]
    fn ids_must_be_path_segments() {
        assert!(valid_id("5d6f-aa_01"));
        assert!(!valid_id("../config"));
        assert!(!valid_id(""));
        assert!(!valid_kid("a/b"));
    }
}
