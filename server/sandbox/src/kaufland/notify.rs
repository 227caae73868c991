//! Push notifications: subscriptions (`/v2/subscriptions`) and the signed callbacks.
//!
//! A notification only says which resource changed (`{id_message, event_name, storefront,
//! resource, …ids}`, [S]); the app re-fetches it. It is signed like a request, with the seller's
//! secret key over `POST\n{callback_url}\n{body}\n{timestamp}` in `Shop-Signature`, with
//! `Shop-Timestamp` beside it [S]. 200/201/202/204 within 5 s counts as delivered; otherwise it
//! is retried over about 12 hours (1, 15, 30, 60 minutes, then 2, 4 and 4 hours [S]) and the
//! subscription is deactivated (`is_active: false`) after the last failure.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{list, paging, storefront};
use super::auth::{expected_signature, field_error, json_body, not_found, query_pairs};
use super::{Kaufland, Subscription, lock};
use crate::common::deliveries::{Notification, Outcome, Outgoing};
use crate::common::tokens::{hex, random_hex};

pub const EVENTS: &[&str] = &[
    "order_new",
    "order_unit_new",
    "order_unit_status_changed",
    "return_new",
    "return_status_changed",
    "return_unit_status_changed",
    "item_changed",
    "category_changed",
    "item_unit_new",
    "item_unit_changed",
    "item_unit_deleted",
    "item_unit_out_of_stock",
    "item_unit_not_available",
    "item_unit_available",
    "buy_box_changed",
];

/// [S] The retry waits after the first attempt (about 12 hours in all).
const RETRIES_MIN: &[u64] = &[1, 15, 30, 60, 120, 240, 240];

fn subscription_json(s: &Subscription) -> Value {
    json!({
        "id_subscription": s.id_subscription,
        "callback_url": s.callback_url,
        "fallback_email": s.fallback_email,
        "event_name": s.event_name,
        "is_active": s.is_active,
        "storefront": s.storefront,
    })
}

#[derive(Deserialize)]
struct NewSubscription {
    callback_url: Option<String>,
    fallback_email: Option<String>,
    event_name: Option<String>,
}

/// `POST /v2/subscriptions?storefront=de`.
pub async fn create_subscription(
    State(k): State<Arc<Kaufland>>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let pairs = query_pairs(uri.query());
    let storefront = match storefront(&pairs, false) {
        Ok(s) => s.unwrap_or_else(|| "de".into()),
        Err(r) => return *r,
    };
    let new: NewSubscription = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(url) = new
        .callback_url
        .filter(|u| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 255)
    else {
        return field_error(
            "callback_url",
            "must be an http(s) URL of at most 255 characters",
        );
    };
    let Some(email) = new
        .fallback_email
        .filter(|e| e.contains('@') && e.len() <= 255)
    else {
        return field_error("fallback_email", "must be an e-mail address");
    };
    let Some(event) = new.event_name.filter(|e| EVENTS.contains(&e.as_str())) else {
        return field_error("event_name", "is not a known event");
    };
    let mut state = lock(&k.state);
    let subscription = Subscription {
        id_subscription: state.next(),
        callback_url: url,
        fallback_email: email,
        event_name: event,
        is_active: true,
        storefront,
    };
    let data = subscription_json(&subscription);
    state
        .subscriptions
        .insert(subscription.id_subscription, subscription);
    (StatusCode::CREATED, Json(json!({ "data": data }))).into_response()
}

pub async fn list_subscriptions(State(k): State<Arc<Kaufland>>, uri: Uri) -> Response {
    let pairs = query_pairs(uri.query());
    let (offset, limit) = match paging(&pairs) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let state = lock(&k.state);
    let total = state.subscriptions.len();
    let items = state
        .subscriptions
        .values()
        .skip(offset)
        .take(limit)
        .map(subscription_json)
        .collect();
    list(items, offset, limit, total)
}

fn find_id(id: &str) -> Option<u64> {
    id.parse().ok()
}

pub async fn get_subscription(State(k): State<Arc<Kaufland>>, Path(id): Path<String>) -> Response {
    let state = lock(&k.state);
    match find_id(&id).and_then(|id| state.subscriptions.get(&id)) {
        Some(s) => Json(json!({ "data": subscription_json(s) })).into_response(),
        None => not_found("Subscription"),
    }
}

pub async fn delete_subscription(
    State(k): State<Arc<Kaufland>>,
    Path(id): Path<String>,
) -> Response {
    let mut state = lock(&k.state);
    match find_id(&id).and_then(|id| state.subscriptions.remove(&id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found("Subscription"),
    }
}

/// Sends `event_name` to every active subscription for it in `storefront`. `resource` is the
/// API path of what changed; `ids` are merged into the body.
pub fn send_event(k: &Kaufland, event_name: &str, storefront: &str, resource: &str, ids: Value) {
    let (targets, secret) = {
        let state = lock(&k.state);
        let targets: Vec<Subscription> = state
            .subscriptions
            .values()
            .filter(|s| s.is_active && s.event_name == event_name && s.storefront == storefront)
            .cloned()
            .collect();
        let secret = state
            .keys
            .first()
            .map(|key| key.secret_key.clone())
            .unwrap_or_default();
        (targets, secret)
    };
    let base64 = k.options().signature_encoding == "base64";
    for subscription in targets {
        let id_message = random_hex(16);
        let mut body = json!({
            "id_message": id_message,
            "event_name": event_name,
            "storefront": storefront,
            "resource": resource,
        });
        if let (Some(body), Value::Object(ids)) = (body.as_object_mut(), ids.clone()) {
            body.extend(ids);
        }
        let body = body.to_string();
        let url = subscription.callback_url.clone();
        let controls = k.context.controls.clone();
        let secret = secret.clone();
        let prepare = Arc::new(move |_attempt: u32| {
            let ts = controls.clock.unix().to_string();
            let mac = expected_signature(&secret, "POST", &url, body.as_bytes(), &ts);
            let signature = if base64 {
                STANDARD.encode(&mac)
            } else {
                hex(&mac)
            };
            Outgoing {
                url: url.clone(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Shop-Timestamp".into(), ts),
                    ("Shop-Signature".into(), signature),
                ],
                body: body.clone().into_bytes(),
                timeout: Duration::from_secs(5),
            }
        });
        let state = Arc::clone(&k.state);
        let id_subscription = subscription.id_subscription;
        let on_done = Box::new(move |outcome: Outcome| {
            if outcome == Outcome::Failed
                && let Some(s) = lock(&state).subscriptions.get_mut(&id_subscription)
            {
                s.is_active = false;
            }
        });
        k.context.controls.notify(Notification {
            id: id_message,
            topic: event_name.to_owned(),
            prepare,
            retry_delays: RETRIES_MIN
                .iter()
                .map(|m| Duration::from_secs(m * 60))
                .collect(),
            on_done: Some(on_done),
            success: 200..=204,
        });
    }
}
