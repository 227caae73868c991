//! Commerce Notification API `/commerce/notification/v1`: config, destinations (verified by the
//! `challenge_code` GET), subscriptions, topics, the public key; and the pushes themselves,
//! signed as eBay's event-notification SDK verifies them: `X-EBAY-SIGNATURE` is base64 of
//! `{"alg":"ECDSA","kid","signature","digest":"SHA1"}`, the signature a DER ECDSA P-256
//! signature over the SHA-1 of the compact JSON body.
//!
//! Error ids 195xxx follow the Notification API's error table as far as it is known ([U]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::errors::{self, Api};
use super::fulfillment::ts;
use super::inventory::json_object;
use super::{Caller, Ebay};
use crate::common::sign::sha256_hex;
use crate::common::tokens::random_hex;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SigningKeyPem {
    pub kid: String,
    pub pem: String,
}

/// The notification signing key.
#[derive(Clone)]
pub struct Signer {
    kid: String,
    key: SigningKey,
    secret: p256::SecretKey,
}

impl Signer {
    pub fn generate() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                return Self {
                    kid: uuid::Uuid::new_v4().simple().to_string(),
                    key: SigningKey::from(&secret),
                    secret,
                };
            }
        }
    }

    pub fn to_pem(&self) -> SigningKeyPem {
        SigningKeyPem {
            kid: self.kid.clone(),
            pem: self
                .secret
                .to_pkcs8_pem(LineEnding::LF)
                .map(|p| p.to_string())
                .unwrap_or_default(),
        }
    }

    /// The key from a snapshot (a snapshot without one keeps a fresh key).
    pub fn from_pem(pem: &SigningKeyPem) -> Result<Self, String> {
        if pem.pem.is_empty() {
            return Ok(Self::generate());
        }
        let secret = p256::SecretKey::from_pkcs8_pem(&pem.pem)
            .map_err(|e| format!("the eBay signing key: {e}"))?;
        Ok(Self {
            kid: pem.kid.clone(),
            key: SigningKey::from(&secret),
            secret,
        })
    }

    pub fn public_pem(&self) -> String {
        self.secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// The `X-EBAY-SIGNATURE` value for a body.
    pub fn header(&self, body: &[u8]) -> String {
        let digest = Sha1::digest(body);
        let signature: Option<p256::ecdsa::Signature> = self.key.sign_prehash(&digest).ok();
        let der = signature
            .map(|s| STANDARD.encode(s.to_der().as_bytes()))
            .unwrap_or_default();
        let envelope =
            json!({ "alg": "ECDSA", "kid": self.kid, "signature": der, "digest": "SHA1" });
        STANDARD.encode(envelope.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub destination_id: String,
    pub name: String,
    pub status: String,
    pub endpoint: String,
    pub verification_token: String,
}

impl Destination {
    pub fn to_json(&self) -> Value {
        json!({
            "destinationId": self.destination_id,
            "name": self.name,
            "status": self.status,
            "deliveryConfig": { "endpoint": self.endpoint, "verificationToken": self.verification_token },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub subscription_id: String,
    pub topic_id: String,
    pub destination_id: String,
    pub status: String,
    pub payload: Value,
    pub created: DateTime<Utc>,
}

impl Subscription {
    pub fn to_json(&self) -> Value {
        json!({
            "subscriptionId": self.subscription_id,
            "topicId": self.topic_id,
            "status": self.status,
            "creationDate": ts(self.created),
            "destinationId": self.destination_id,
            "payload": self.payload,
        })
    }
}

/// (topicId, context, description, scope)
const TOPICS: &[(&str, &str, &str, &str)] = &[
    (
        "ORDER_CONFIRMATION",
        "USER",
        "A buyer completed checkout of a seller's item.",
        "sell.fulfillment",
    ),
    (
        "ITEM_MARKED_SHIPPED",
        "USER",
        "A seller's line item was marked as shipped.",
        "sell.fulfillment",
    ),
    (
        "AUTHORIZATION_REVOCATION",
        "APPLICATION",
        "A user revoked the application's access.",
        "",
    ),
    (
        "MARKETPLACE_ACCOUNT_DELETION",
        "APPLICATION",
        "An eBay user asked for their account data to be deleted.",
        "",
    ),
];

fn topic_json(t: &(&str, &str, &str, &str)) -> Value {
    let scope = if t.3.is_empty() {
        super::auth::SCOPE_BASE.to_owned()
    } else {
        format!("{}/{}", super::auth::SCOPE_BASE, t.3)
    };
    json!({
        "topicId": t.0,
        "description": t.2,
        "authorizationScopes": [scope],
        "status": "ENABLED",
        "context": t.1,
        "scope": t.1,
        "filterable": false,
        "supportedPayloads": [{ "schemaVersion": "1.0", "format": ["JSON"], "deliveryProtocol": "HTTPS", "deprecated": false }],
    })
}

pub fn routes() -> Router<Arc<Ebay>> {
    let v1 = "/commerce/notification/v1";
    Router::new()
        .route(&format!("{v1}/config"), get(get_config).put(put_config))
        .route(
            &format!("{v1}/destination"),
            post(create_destination).get(list_destinations),
        )
        .route(
            &format!("{v1}/destination/{{id}}"),
            get(get_destination)
                .put(update_destination)
                .delete(delete_destination),
        )
        .route(
            &format!("{v1}/subscription"),
            post(create_subscription).get(list_subscriptions),
        )
        .route(
            &format!("{v1}/subscription/{{id}}"),
            get(get_subscription).delete(delete_subscription),
        )
        .route(&format!("{v1}/subscription/{{id}}/enable"), post(enable))
        .route(&format!("{v1}/subscription/{{id}}/disable"), post(disable))
        .route(&format!("{v1}/topic"), get(list_topics))
        .route(&format!("{v1}/topic/{{id}}"), get(get_topic))
        .route(&format!("{v1}/public_key/{{kid}}"), get(public_key))
}

fn req(status: StatusCode, id: u64, message: &str) -> Response {
    errors::request(status, Api::Notification, id, message)
}

fn created(location: String) -> Response {
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn get_config(State(ebay): State<Arc<Ebay>>) -> Response {
    match ebay.state().config.clone() {
        Some(config) => Json(config).into_response(),
        None => req(StatusCode::NOT_FOUND, 195002, "Config not found."),
    }
}

async fn put_config(State(ebay): State<Arc<Ebay>>, body: Bytes) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let email = body.get("alertEmail").and_then(Value::as_str).unwrap_or("");
    if !email.contains('@') || email.len() > 254 {
        return req(StatusCode::BAD_REQUEST, 195001, "Invalid or missing email.");
    }
    ebay.state().config = Some(json!({ "alertEmail": email }));
    StatusCode::NO_CONTENT.into_response()
}

/// eBay's endpoint challenge: `GET <endpoint>?challenge_code=…`, answered with
/// `{"challengeResponse": hex(SHA-256(code + verificationToken + endpoint))}`.
async fn challenge(ebay: &Ebay, endpoint: &str, token: &str) -> bool {
    let code = random_hex(32);
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{endpoint}{sep}challenge_code={code}");
    let request = ebay
        .context
        .http
        .get(&url)
        .header("user-agent", "eBay Notification Service")
        .timeout(std::time::Duration::from_secs(10));
    let Ok(response) = request.send().await else {
        return false;
    };
    if response.status() != StatusCode::OK {
        return false;
    }
    let Ok(body) = response.json::<Value>().await else {
        return false;
    };
    let expected = sha256_hex(format!("{code}{token}{endpoint}").as_bytes());
    body.get("challengeResponse").and_then(Value::as_str) == Some(expected.as_str())
}

struct DestinationInput {
    name: String,
    status: String,
    endpoint: String,
    token: String,
}

// Handlers answer a failed check with the finished error response.
#[allow(clippy::result_large_err)]
fn destination_input(ebay: &Ebay, body: &Value) -> Result<DestinationInput, Response> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if name.is_empty() || name.contains('<') {
        return Err(req(
            StatusCode::BAD_REQUEST,
            195016,
            "Invalid name. Markup tags are not allowed.",
        ));
    }
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("ENABLED")
        .to_owned();
    if !matches!(status.as_str(), "ENABLED" | "DISABLED") {
        return Err(req(StatusCode::BAD_REQUEST, 195017, "Invalid status."));
    }
    let endpoint = body
        .pointer("/deliveryConfig/endpoint")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(req(
            StatusCode::BAD_REQUEST,
            195018,
            "Invalid or missing endpoint.",
        ));
    }
    let token = body
        .pointer("/deliveryConfig/verificationToken")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let options = ebay.options();
    let len_ok =
        (options.verification_token_min..=options.verification_token_max).contains(&token.len());
    if !len_ok
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(req(
            StatusCode::BAD_REQUEST,
            195019,
            "Invalid or missing verification token for this endpoint.",
        ));
    }
    Ok(DestinationInput {
        name,
        status,
        endpoint,
        token,
    })
}

fn challenge_failed() -> Response {
    req(
        StatusCode::BAD_REQUEST,
        195020,
        "Challenge verification failed for the requested endpoint.",
    )
}

async fn create_destination(State(ebay): State<Arc<Ebay>>, body: Bytes) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if ebay.state().config.is_none() {
        return req(
            StatusCode::BAD_REQUEST,
            195003,
            "Please provide configurations required for notifications. Refer to /config",
        );
    }
    let input = match destination_input(&ebay, &body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    if ebay
        .state()
        .destinations
        .values()
        .any(|d| d.endpoint == input.endpoint)
    {
        return req(
            StatusCode::CONFLICT,
            195021,
            "Destination exists with the same endpoint.",
        );
    }
    if !challenge(&ebay, &input.endpoint, &input.token).await {
        return challenge_failed();
    }
    let id = uuid::Uuid::new_v4().to_string();
    ebay.state().destinations.insert(
        id.clone(),
        Destination {
            destination_id: id.clone(),
            name: input.name,
            status: input.status,
            endpoint: input.endpoint,
            verification_token: input.token,
        },
    );
    created(format!(
        "{}/commerce/notification/v1/destination/{id}",
        ebay.context.base_url
    ))
}

async fn list_destinations(State(ebay): State<Arc<Ebay>>) -> Response {
    let state = ebay.state();
    let all: Vec<Value> = state
        .destinations
        .values()
        .map(Destination::to_json)
        .collect();
    Json(json!({
        "href": format!("{}/commerce/notification/v1/destination", ebay.context.base_url),
        "total": all.len(),
        "limit": 20,
        "destinations": all,
    }))
    .into_response()
}

fn destination_not_found() -> Response {
    req(
        StatusCode::NOT_FOUND,
        195022,
        "The destination was not found.",
    )
}

async fn get_destination(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    match ebay.state().destinations.get(&id) {
        Some(d) => Json(d.to_json()).into_response(),
        None => destination_not_found(),
    }
}

async fn update_destination(
    State(ebay): State<Arc<Ebay>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let input = match destination_input(&ebay, &body) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let changed = match ebay.state().destinations.get(&id) {
        Some(d) => d.endpoint != input.endpoint || d.verification_token != input.token,
        None => return destination_not_found(),
    };
    if changed && !challenge(&ebay, &input.endpoint, &input.token).await {
        return challenge_failed();
    }
    let mut state = ebay.state();
    let Some(d) = state.destinations.get_mut(&id) else {
        return destination_not_found();
    };
    d.name = input.name;
    d.status = input.status;
    d.endpoint = input.endpoint;
    d.verification_token = input.token;
    StatusCode::NO_CONTENT.into_response()
}

async fn delete_destination(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    let mut state = ebay.state();
    if state.subscriptions.values().any(|s| s.destination_id == id) {
        return req(
            StatusCode::BAD_REQUEST,
            195023,
            "The destination is in use and cannot be deleted.",
        );
    }
    match state.destinations.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => destination_not_found(),
    }
}

async fn create_subscription(
    State(ebay): State<Arc<Ebay>>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let topic_id = body.get("topicId").and_then(Value::as_str).unwrap_or("");
    let Some(topic) = TOPICS.iter().find(|t| t.0 == topic_id) else {
        return req(
            StatusCode::NOT_FOUND,
            195004,
            "Invalid or missing topic id.",
        );
    };
    if topic.1 == "USER" && !caller.user {
        return req(
            StatusCode::BAD_REQUEST,
            195012,
            "A user access token is required to subscribe to this topic.",
        );
    }
    let payload = body.get("payload").cloned().unwrap_or(Value::Null);
    let payload_ok = payload.get("format").and_then(Value::as_str) == Some("JSON")
        && payload.get("deliveryProtocol").and_then(Value::as_str) == Some("HTTPS")
        && payload
            .get("schemaVersion")
            .and_then(Value::as_str)
            .is_some();
    if !payload_ok {
        return req(
            StatusCode::BAD_REQUEST,
            195008,
            "Invalid or missing payload.",
        );
    }
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("ENABLED")
        .to_owned();
    if !matches!(status.as_str(), "ENABLED" | "DISABLED") {
        return req(StatusCode::BAD_REQUEST, 195017, "Invalid status.");
    }
    let destination_id = body
        .get("destinationId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let now = ebay.now();
    let mut state = ebay.state();
    if !state.destinations.contains_key(&destination_id) {
        return req(
            StatusCode::BAD_REQUEST,
            195013,
            "Invalid or missing destination id.",
        );
    }
    if state
        .subscriptions
        .values()
        .any(|s| s.topic_id == topic_id && s.destination_id == destination_id)
    {
        return req(StatusCode::CONFLICT, 195011, "Subscription already exists.");
    }
    let id = uuid::Uuid::new_v4().to_string();
    state.subscriptions.insert(
        id.clone(),
        Subscription {
            subscription_id: id.clone(),
            topic_id: topic_id.to_owned(),
            destination_id,
            status,
            payload,
            created: now,
        },
    );
    created(format!(
        "{}/commerce/notification/v1/subscription/{id}",
        ebay.context.base_url
    ))
}

async fn list_subscriptions(State(ebay): State<Arc<Ebay>>) -> Response {
    let state = ebay.state();
    let all: Vec<Value> = state
        .subscriptions
        .values()
        .map(Subscription::to_json)
        .collect();
    Json(json!({
        "href": format!("{}/commerce/notification/v1/subscription", ebay.context.base_url),
        "total": all.len(),
        "limit": 20,
        "subscriptions": all,
    }))
    .into_response()
}

fn subscription_not_found() -> Response {
    req(
        StatusCode::NOT_FOUND,
        195009,
        "The subscription was not found.",
    )
}

async fn get_subscription(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    match ebay.state().subscriptions.get(&id) {
        Some(s) => Json(s.to_json()).into_response(),
        None => subscription_not_found(),
    }
}

async fn delete_subscription(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    match ebay.state().subscriptions.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => subscription_not_found(),
    }
}

fn set_status(ebay: &Ebay, id: &str, status: &str) -> Response {
    match ebay.state().subscriptions.get_mut(id) {
        Some(s) => {
            s.status = status.to_owned();
            StatusCode::NO_CONTENT.into_response()
        }
        None => subscription_not_found(),
    }
}

async fn enable(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    set_status(&ebay, &id, "ENABLED")
}

async fn disable(State(ebay): State<Arc<Ebay>>, Path(id): Path<String>) -> Response {
    set_status(&ebay, &id, "DISABLED")
}

async fn list_topics(State(ebay): State<Arc<Ebay>>) -> Response {
    let topics: Vec<Value> = TOPICS.iter().map(topic_json).collect();
    Json(json!({
        "href": format!("{}/commerce/notification/v1/topic", ebay.context.base_url),
        "total": topics.len(),
        "limit": 20,
        "topics": topics,
    }))
    .into_response()
}

async fn get_topic(Path(id): Path<String>) -> Response {
    match TOPICS.iter().find(|t| t.0 == id) {
        Some(t) => Json(topic_json(t)).into_response(),
        None => req(
            StatusCode::NOT_FOUND,
            195004,
            "Invalid or missing topic id.",
        ),
    }
}

/// `GET /public_key/{kid}`: needs an application access token.
async fn public_key(
    State(ebay): State<Arc<Ebay>>,
    Extension(caller): Extension<Caller>,
    Path(kid): Path<String>,
) -> Response {
    if caller.user {
        return errors::insufficient_scope();
    }
    let signer = super::lock(&ebay.signer).clone();
    if signer.kid != kid {
        return req(
            StatusCode::NOT_FOUND,
            195005,
            "The public key was not found.",
        );
    }
    Json(json!({ "algorithm": "ECDSA", "digest": "SHA1", "key": signer.public_pem() }))
        .into_response()
}
