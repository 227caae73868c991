//! Etsy webhooks: `order.paid` to the endpoints registered for the app.
//!
//! At Etsy, webhooks are set up in the developer console's webhook portal (commercial-access
//! apps only). The sandbox stands in for that portal with a small JSON API:
//!
//! - `POST {base}/developer/webhooks` `{"url": "https://…", "events": ["order.paid"]}` →
//!   201 `{"id", "url", "events", "secret": "whsec_<base64>"}`
//! - `GET {base}/developer/webhooks` → the registered endpoints (without secrets)
//! - `DELETE {base}/developer/webhooks/{id}` → 204
//!
//! The payload is flat, `{"event_type": "order.paid", "resource_url": "{base}/v3/application/
//! shops/{shop_id}/receipts/{receipt_id}", "shop_id": …}` (the documentation's `data` wrapper is
//! reported outdated), signed the Standard-Webhooks way: `webhook-id`, `webhook-timestamp`
//! (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded secret,
//! "{id}.{timestamp}.{body}")>`. Retries follow the reported schedule (immediately, then 5 s,
//! 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) with the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Etsy, Webhook, error};
use crate::common::deliveries::{Notification, Outgoing};
use crate::common::sign::hmac_sha256;

const EVENTS: &[&str] = &["order.paid"];

/// [S] The waits between attempts (the first attempt goes out immediately).
const RETRY_DELAYS: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// `POST {base}/developer/webhooks`: registers an endpoint (developer-console stand-in).
pub async fn register(State(etsy): State<Arc<Etsy>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Request body must be JSON.");
    };
    let url = body.get("url").and_then(Value::as_str).unwrap_or("").trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return error(StatusCode::BAD_REQUEST, "url must be an http(s) URL");
    }
    let events: Vec<String> = match body.get("events") {
        None => vec!["order.paid".into()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return error(StatusCode::BAD_REQUEST, "events must be an array"),
    };
    if events.is_empty() || events.iter().any(|e| !EVENTS.contains(&e.as_str())) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("events must be a non-empty subset of {}", EVENTS.join(", ")),
        );
    }
    let key: [u8; 24] = rand::random();
    let webhook = Webhook {
        id: format!("ep_{}", uuid::Uuid::new_v4().simple()),
        url: url.to_owned(),
        events,
        secret: format!("whsec_{}", STANDARD.encode(key)),
        created: etsy.now(),
    };
    let answer = json!({
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "secret": webhook.secret,
    });
    etsy.st().webhooks.push(webhook);
    (StatusCode::CREATED, Json(answer)).into_response()
}

/// `GET {base}/developer/webhooks`
pub async fn list(State(etsy): State<Arc<Etsy>>) -> Response {
    let st = etsy.st();
    let hooks: Vec<Value> = st
        .webhooks
        .iter()
        .map(|w| json!({ "id": w.id, "url": w.url, "events": w.events, "created": w.created }))
        .collect();
    Json(json!({ "count": hooks.len(), "results": hooks })).into_response()
}

/// `DELETE {base}/developer/webhooks/{id}`
pub async fn remove(State(etsy): State<Arc<Etsy>>, Path(id): Path<String>) -> Response {
    let mut st = etsy.st();
    let before = st.webhooks.len();
    st.webhooks.retain(|w| w.id != id);
    if st.webhooks.len() == before {
        return error(StatusCode::NOT_FOUND, "Webhook not found");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The Standard-Webhooks signature of one attempt.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8], v1_prefix: bool) -> String {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    let signed = STANDARD.encode(hmac_sha256(&key, &message));
    if v1_prefix {
        format!("v1,{signed}")
    } else {
        signed
    }
}

/// Sends `order.paid` for a receipt to every endpoint subscribed to it.
pub fn order_paid(etsy: &Etsy, shop_id: u64, receipt_id: u64) {
    let (hooks, v1_prefix) = {
        let st = etsy.st();
        let hooks: Vec<Webhook> = st
            .webhooks
            .iter()
            .filter(|w| w.events.iter().any(|e| e == "order.paid"))
            .cloned()
            .collect();
        (hooks, st.options.signature_v1_prefix)
    };
    if hooks.is_empty() {
        return;
    }
    let body = Arc::new(
        serde_json::to_vec(&json!({
            "event_type": "order.paid",
            "resource_url": format!(
                "{}/v3/application/shops/{shop_id}/receipts/{receipt_id}",
                etsy.context.base_url
            ),
            "shop_id": shop_id,
        }))
        .unwrap_or_default(),
    );
    let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    for hook in hooks {
        let controls = etsy.context.controls.clone();
        let body = body.clone();
        let id = message_id.clone();
        let prepare = Arc::new(move |_attempt: u32| {
            // Each attempt is signed afresh with its own timestamp; the id stays the same.
            let timestamp = controls.clock.unix();
            Outgoing {
                url: hook.url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), id.clone()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    (
                        "webhook-signature".into(),
                        signature(&hook.secret, &id, timestamp, &body, v1_prefix),
                    ),
                ],
                body: body.to_vec(),
                timeout: Duration::from_secs(15),
            }
        });
        etsy.context.controls.notify(Notification {
            id: message_id.clone(),
            topic: "order.paid".into(),
            prepare,
            retry_delays: RETRY_DELAYS
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            on_done: None,
            success: 200..=299,
        });
    }
}
