//! `wc/v3/orders` (with notes), `wc/v3/webhooks`, and the Shipment Tracking extension's
//! `wc-shipment-tracking/v3/orders/{id}/shipment-trackings`.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value, json};

use super::model::{RestError, Store, Webhook, wc_date};
use super::rest::{Reply, Request, no_route, page_params, paginate};
use crate::common::tokens::{random_hex, random_string};

const STATUSES: &[&str] = &[
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
];

fn order_invalid() -> RestError {
    RestError::new(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
}

fn parse_id(segment: &str) -> Option<u64> {
    segment
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| segment.parse().ok())
        .flatten()
}

fn parse_date(request: &Request<'_>, name: &str) -> Result<Option<DateTime<Utc>>, RestError> {
    let Some(raw) = request.param(name) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .map(|n| Some(n.and_utc()))
        .map_err(|_| RestError::invalid_param(name, "Invalid date."))
}

pub(super) fn dispatch(
    store: &mut Store,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let method = request.method.as_str();
    match request.segments.get(3..).unwrap_or_default() {
        [] if method == "GET" => {
            request.require(false, false)?;
            list(store, request)
        }
        [id] => {
            let id = parse_id(id).ok_or_else(no_route)?;
            match method {
                "GET" => {
                    request.require(true, false)?;
                    let order = store.orders.get(&id).ok_or_else(order_invalid)?;
                    Ok(Reply::ok(order.body.clone()))
                }
                "PUT" | "PATCH" | "POST" => {
                    request.require(true, false)?;
                    update(store, id, &request.body, now)
                }
                _ => Err(no_route()),
            }
        }
        [id, "notes"] => {
            let id = parse_id(id).ok_or_else(no_route)?;
            notes(store, id, request, now)
        }
        _ => Err(no_route()),
    }
}

fn list(store: &Store, request: &Request<'_>) -> Result<Reply, RestError> {
    let (page, per_page) = page_params(request)?;
    let statuses: Vec<&str> = request
        .param("status")
        .unwrap_or("any")
        .split(',')
        .map(str::trim)
        .collect();
    for s in &statuses {
        if *s != "any" && !STATUSES.contains(s) {
            return Err(RestError::invalid_param(
                "status",
                "status is not one of any, trash, pending, processing, on-hold, completed, cancelled, refunded, failed, and checkout-draft.",
            ));
        }
    }
    let (after, before) = (
        parse_date(request, "after")?,
        parse_date(request, "before")?,
    );
    let modified_after = parse_date(request, "modified_after")?;
    let modified_before = parse_date(request, "modified_before")?;
    let mut items: Vec<_> = store
        .orders
        .values()
        .filter(|o| {
            let status = o.body["status"].as_str().unwrap_or("");
            statuses.contains(&status) || (statuses.contains(&"any") && status != "trash")
        })
        .filter(|o| after.is_none_or(|t| o.created > t) && before.is_none_or(|t| o.created < t))
        .filter(|o| {
            modified_after.is_none_or(|t| o.modified > t)
                && modified_before.is_none_or(|t| o.modified < t)
        })
        .collect();
    match request.param("orderby").unwrap_or("date") {
        "modified" => items.sort_by_key(|o| (o.modified, o.id)),
        "id" | "include" => items.sort_by_key(|o| o.id),
        "date" | "title" | "slug" => items.sort_by_key(|o| (o.created, o.id)),
        _ => {
            return Err(RestError::invalid_param(
                "orderby",
                "orderby is not one of date, id, include, title, slug, and modified.",
            ));
        }
    }
    if request.param("order").unwrap_or("desc") != "asc" {
        items.reverse();
    }
    let total = items.len();
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|o| o.body.clone())
        .collect();
    let mut reply = Reply::ok(Value::Array(body));
    reply.headers = paginate(request, total, per_page, page);
    Ok(reply)
}

fn update(
    store: &mut Store,
    id: u64,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let order = store.orders.get_mut(&id).ok_or_else(order_invalid)?;
    let mut updated = order.body.clone();
    if let Some(status) = body.get("status") {
        let status = status.as_str().unwrap_or("");
        if !STATUSES.contains(&status) {
            return Err(RestError::invalid_param(
                "status",
                "status is not one of pending, processing, on-hold, completed, cancelled, refunded, failed, and trash.",
            ));
        }
        if status == "completed" && updated["status"] != "completed" {
            updated["date_completed"] = json!(wc_date(now));
            updated["date_completed_gmt"] = json!(wc_date(now));
        }
        updated["status"] = json!(status);
    }
    for field in ["customer_note", "transaction_id"] {
        if let Some(value) = body.get(field) {
            let Some(text) = value.as_str() else {
                return Err(RestError::invalid_param(
                    field,
                    format!("{field} is not of type string."),
                ));
            };
            updated[field] = json!(text);
        }
    }
    for address in ["billing", "shipping"] {
        if let Some(Value::Object(fields)) = body.get(address)
            && let Some(target) = updated[address].as_object_mut()
        {
            for (k, v) in fields {
                if target.contains_key(k) {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if let Some(meta) = body.get("meta_data").and_then(Value::as_array)
        && let Some(list) = updated["meta_data"].as_array_mut()
    {
        list.extend(meta.iter().cloned());
    }
    updated["date_modified"] = json!(wc_date(now));
    updated["date_modified_gmt"] = json!(wc_date(now));
    order.body = updated.clone();
    order.modified = now;
    let mut reply = Reply::ok(updated.clone());
    let hooks = store.active_hooks("order.updated");
    if !hooks.is_empty() {
        reply.notify.push((hooks, "order.updated", updated));
    }
    Ok(reply)
}

fn notes(
    store: &mut Store,
    id: u64,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    if !store.orders.contains_key(&id) {
        return Err(RestError::new(
            404,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        ));
    }
    match request.method.as_str() {
        "GET" => {
            request.require(false, false)?;
            let mut list = store.notes.get(&id).cloned().unwrap_or_default();
            list.reverse();
            Ok(Reply::ok(Value::Array(list)))
        }
        "POST" => {
            request.require(false, false)?;
            let note = match request.body.get("note") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(Value::String(_)) | None => return Err(RestError::missing_param("note")),
                Some(_) => {
                    return Err(RestError::invalid_param(
                        "note",
                        "note is not of type string.",
                    ));
                }
            };
            let customer_note = request
                .body
                .get("customer_note")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let by_user = request
                .body
                .get("added_by_user")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            store.next_comment_id += 1;
            let body = json!({
                "id": store.next_comment_id,
                "author": if by_user { "admin" } else { "WooCommerce" },
                "date_created": wc_date(now),
                "date_created_gmt": wc_date(now),
                "note": note,
                "customer_note": customer_note,
                "added_by_user": by_user,
            });
            store.notes.entry(id).or_default().push(body.clone());
            Ok(Reply::created(body))
        }
        _ => Err(no_route()),
    }
}

/// The Shipment Tracking extension's REST API.
pub(super) fn tracking(
    store: &mut Store,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let [
        "wc-shipment-tracking",
        "v3",
        "orders",
        id,
        "shipment-trackings",
        rest @ ..,
    ] = request.segments.as_slice()
    else {
        return Err(no_route());
    };
    let id = parse_id(id).ok_or_else(no_route)?;
    if !store.orders.contains_key(&id) {
        return Err(RestError::new(
            404,
            "woocommerce_rest_order_invalid_id",
            "Invalid order ID.",
        ));
    }
    match (rest, request.method.as_str()) {
        ([], "GET") => {
            request.require(false, false)?;
            Ok(Reply::ok(Value::Array(
                store.trackings.get(&id).cloned().unwrap_or_default(),
            )))
        }
        ([], "POST") => {
            request.require(false, false)?;
            let text = |name: &str| request.param(name).unwrap_or("").to_owned();
            let number = text("tracking_number");
            if number.is_empty() {
                return Err(RestError::missing_param("tracking_number"));
            }
            let provider = text("tracking_provider");
            let custom = text("custom_tracking_provider");
            let link = match (
                provider.to_lowercase().as_str(),
                text("custom_tracking_link"),
            ) {
                (_, l) if !l.is_empty() => l,
                ("dhl", _) => format!(
                    "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={number}"
                ),
                ("dpd", _) => format!("https://tracking.dpd.de/parcelstatus?query={number}"),
                ("ups", _) => format!("https://www.ups.com/track?tracknum={number}"),
                _ => String::new(),
            };
            let date = request
                .param("date_shipped")
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .unwrap_or_else(|| now.date_naive());
            let body = json!({
                "tracking_id": random_hex(16),
                "tracking_provider": if custom.is_empty() { provider } else { custom },
                "tracking_link": link,
                "tracking_number": number,
                "date_shipped": date.format("%Y-%m-%d").to_string(),
            });
            store.trackings.entry(id).or_default().push(body.clone());
            Ok(Reply::created(body))
        }
        _ => Err(no_route()),
    }
}

fn webhook_invalid() -> RestError {
    RestError::new(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
}

fn valid_topic(topic: &str) -> bool {
    match topic.split_once('.') {
        Some(("action", hook)) => !hook.is_empty(),
        Some((resource, event)) => {
            ["coupon", "customer", "order", "product"].contains(&resource)
                && ["created", "updated", "deleted", "restored"].contains(&event)
        }
        None => false,
    }
}

fn apply_webhook(hook: &mut Webhook, body: &Map<String, Value>) -> Result<(), RestError> {
    if let Some(topic) = body.get("topic") {
        let topic = topic.as_str().unwrap_or("");
        if !valid_topic(topic) {
            return Err(RestError::new(
                400,
                "woocommerce_rest_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
            ));
        }
        hook.topic = topic.to_owned();
    }
    if let Some(url) = body.get("delivery_url") {
        let url = url.as_str().unwrap_or("");
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || reqwest::Url::parse(url).is_err()
        {
            return Err(RestError::new(
                400,
                "woocommerce_rest_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            ));
        }
        hook.delivery_url = url.to_owned();
    }
    if let Some(status) = body.get("status") {
        let status = status.as_str().unwrap_or("");
        if !["active", "paused", "disabled"].contains(&status) {
            return Err(RestError::invalid_param(
                "status",
                "status is not one of active, paused, and disabled.",
            ));
        }
        if status == "active" {
            hook.failure_count = 0;
        }
        hook.status = status.to_owned();
    }
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        hook.name = name.to_owned();
    }
    if let Some(secret) = body
        .get("secret")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        hook.secret = secret.to_owned();
    }
    Ok(())
}

pub(super) fn webhooks(
    store: &mut Store,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let method = request.method.as_str();
    match (request.segments.get(3..).unwrap_or_default(), method) {
        ([], "GET") => {
            request.require(false, false)?;
            let (page, per_page) = page_params(request)?;
            let status = request.param("status").unwrap_or("all");
            let mut items: Vec<&Webhook> = store
                .webhooks
                .values()
                .filter(|w| status == "all" || w.status == status)
                .collect();
            if request.param("order").unwrap_or("desc") != "asc" {
                items.reverse();
            }
            let total = items.len();
            let body: Vec<Value> = items
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|w| w.to_json())
                .collect();
            let mut reply = Reply::ok(Value::Array(body));
            reply.headers = paginate(request, total, per_page, page);
            Ok(reply)
        }
        ([], "POST") => {
            request.require(false, false)?;
            if request
                .body
                .get("topic")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(RestError::missing_param("topic"));
            }
            if request
                .body
                .get("delivery_url")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(RestError::missing_param("delivery_url"));
            }
            let mut hook = Webhook {
                id: 0,
                name: String::new(),
                status: "active".into(),
                topic: String::new(),
                delivery_url: String::new(),
                // WooCommerce generates a secret when none is given.
                secret: random_string(50),
                failure_count: 0,
                created: now,
                modified: now,
            };
            apply_webhook(&mut hook, &request.body)?;
            if hook.name.is_empty() {
                hook.name = format!(
                    "Webhook created on {}",
                    now.format("%B %-d, %Y @ %-I:%M %p")
                );
            }
            store.next_webhook_id += 1;
            hook.id = store.next_webhook_id;
            let body = hook.to_json();
            let ping = hook.status == "active";
            store.webhooks.insert(hook.id, hook.clone());
            let mut reply = Reply::created(body);
            if ping {
                reply.notify.push((vec![hook], "ping", Value::Null));
            }
            Ok(reply)
        }
        ([id], _) => {
            let id = parse_id(id).ok_or_else(no_route)?;
            match method {
                "GET" => {
                    request.require(true, false)?;
                    Ok(Reply::ok(
                        store
                            .webhooks
                            .get(&id)
                            .ok_or_else(webhook_invalid)?
                            .to_json(),
                    ))
                }
                "PUT" | "PATCH" | "POST" => {
                    request.require(true, false)?;
                    let hook = store.webhooks.get_mut(&id).ok_or_else(webhook_invalid)?;
                    let mut updated = hook.clone();
                    apply_webhook(&mut updated, &request.body)?;
                    updated.modified = now;
                    *hook = updated;
                    Ok(Reply::ok(hook.to_json()))
                }
                "DELETE" => {
                    request.require(true, false)?;
                    if !matches!(request.param("force"), Some("true" | "1")) {
                        return Err(RestError::new(
                            501,
                            "woocommerce_rest_trash_not_supported",
                            "Webhooks do not support trashing.",
                        ));
                    }
                    let hook = store.webhooks.remove(&id).ok_or_else(webhook_invalid)?;
                    Ok(Reply::ok(hook.to_json()))
                }
                _ => Err(no_route()),
            }
        }
        _ => Err(no_route()),
    }
}
