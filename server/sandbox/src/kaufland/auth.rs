//! Request authentication (Shop-* headers with the HMAC signature), the per-seller rate limit,
//! injected faults, and Kaufland's error bodies.
//!
//! Kaufland signs `METHOD\nFULL_URI\nBODY\nTIMESTAMP` with the secret key (the plain 64-char
//! string as HMAC key) and sends lowercase hex (official PHP example, `hash_hmac`). FULL_URI is
//! the absolute URL the client called, query included, exactly as sent. Behind `nest` the
//! request URI is relative to this sandbox, so the sandbox rebuilds it as
//! `context.base_url + path + "?" + raw query`: a client must sign the URL it really calls
//! (`{base}/v2/units?storefront=de`), which is what it does against the real host.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::Kaufland;
use crate::common::faults::Injected;
use crate::common::sign::{constant_time_eq, hmac_sha256};
use crate::common::tokens::hex;

/// Bodies larger than this are refused before signing (the real API caps uploads too).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Kaufland's error body: `{"message": "…", "errors": […]}` (the OpenAPI `ErrorResponse`:
/// `message` and `errors` required, `type` optional). The fields of one `ErrorDetails` entry are
/// not published in what we could read [U]; validation errors use `{"field", "message"}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "message": message, "errors": [] })),
    )
        .into_response()
}

pub fn field_error(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "message": "Validation failed",
            "errors": [{ "field": field, "message": message }],
        })),
    )
        .into_response()
}

pub fn not_found(what: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

/// 401 for every authentication failure; the wording per case is the sandbox's own [U].
fn unauthorized(message: &str) -> Response {
    error(StatusCode::UNAUTHORIZED, message)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The signature Kaufland expects, in both encodings (hex is the documented one).
pub fn expected_signature(secret: &str, method: &str, uri: &str, body: &[u8], ts: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(method.len() + uri.len() + body.len() + ts.len() + 3);
    message.extend_from_slice(method.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(uri.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message.extend_from_slice(ts.as_bytes());
    hmac_sha256(secret.as_bytes(), &message)
}

/// Middleware for every `/v2` route: faults, headers, key, timestamp window, signature, then
/// the per-seller rate limit.
pub async fn authenticate(
    State(kaufland): State<Arc<Kaufland>>,
    request: Request,
    next: Next,
) -> Response {
    match kaufland.context.controls.before_call().await {
        Some(Injected::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        Some(Injected::Throttled) => return too_many(),
        None => {}
    }
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let (Some(client_key), Some(timestamp), Some(signature)) = (
        header(headers, "shop-client-key"),
        header(headers, "shop-timestamp"),
        header(headers, "shop-signature"),
    ) else {
        return unauthorized(
            "Missing authentication headers: Shop-Client-Key, Shop-Timestamp and Shop-Signature are required",
        );
    };
    // A missing User-Agent is accepted: Kaufland asks for one to identify integrations but does
    // not enforce it.
    let Some((secret, active)) = kaufland.secret_for(client_key) else {
        return unauthorized("Invalid client key");
    };
    if !active {
        // Revoked keys (`_sandbox/revoke`) behave as keys deleted in the seller portal [U].
        return unauthorized("Client key has been deactivated");
    }
    let options = kaufland.options();
    let Ok(ts) = timestamp.parse::<i64>() else {
        return unauthorized("Invalid timestamp");
    };
    let now = kaufland.context.controls.clock.unix();
    if now.saturating_sub(ts).unsigned_abs() > options.timestamp_window_secs.unsigned_abs() {
        return unauthorized("Timestamp is outside the allowed time window");
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    };
    let full_uri = match parts.uri.query() {
        Some(q) => format!("{}{}?{q}", kaufland.context.base_url, parts.uri.path()),
        None => format!("{}{}", kaufland.context.base_url, parts.uri.path()),
    };
    let mac = expected_signature(&secret, parts.method.as_str(), &full_uri, &bytes, timestamp);
    let hex_ok = || constant_time_eq(&hex(&mac), &signature.to_ascii_lowercase());
    let b64_ok = || constant_time_eq(&STANDARD.encode(&mac), signature);
    let valid = match options.signature_encoding.as_str() {
        "base64" => b64_ok(),
        "either" => hex_ok() || b64_ok(),
        _ => hex_ok(),
    };
    if !valid {
        return unauthorized("Invalid signature");
    }
    if !kaufland.take_rate_token(client_key) {
        return too_many();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// 429 without rate-limit headers (none are documented).
pub fn too_many() -> Response {
    error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests")
}

/// Query parameters of a request, decoded; repeated keys kept (`status=a&status=b`).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses a JSON request body, answering Kaufland's 400 for anything else.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "message": "Invalid JSON body",
                "errors": [{ "field": "body", "message": e.to_string() }],
            })),
        )
            .into_response()
            .into()
    })
}
