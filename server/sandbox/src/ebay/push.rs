//! The pushes: ORDER_CONFIRMATION and AUTHORIZATION_REVOCATION to every enabled subscription,
//! each attempt re-signed with its `publishAttemptCount`, on eBay's retry schedule.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Ebay;
use super::fulfillment::ts;
use crate::common::deliveries::{Notification, Outgoing};

/// Sends one notification of `topic` to every enabled subscription's enabled destination.
fn publish(ebay: &Ebay, topic: &str, data: &Value) {
    let targets: Vec<String> = {
        let state = ebay.state();
        state
            .subscriptions
            .values()
            .filter(|s| s.topic_id == topic && s.status == "ENABLED")
            .filter_map(|s| state.destinations.get(&s.destination_id))
            .filter(|d| d.status == "ENABLED")
            .map(|d| d.endpoint.clone())
            .collect()
    };
    if targets.is_empty() {
        return;
    }
    let signer = super::lock(&ebay.signer).clone();
    let retry_delays: Vec<Duration> = ebay
        .options()
        .notification_retry_secs
        .iter()
        .map(|s| Duration::from_secs(*s))
        .collect();
    for url in targets {
        let id = uuid::Uuid::new_v4().to_string();
        let event_date = ts(ebay.now());
        let controls = ebay.context.controls.clone();
        let signer = signer.clone();
        let data = data.clone();
        let topic_owned = topic.to_owned();
        let notification_id = id.clone();
        let prepare = Arc::new(move |attempt: u32| {
            let body = json!({
                "metadata": { "topic": topic_owned, "schemaVersion": "1.0", "deprecated": false },
                "notification": {
                    "notificationId": notification_id,
                    "eventDate": event_date,
                    "publishDate": ts(controls.clock.now()),
                    "publishAttemptCount": attempt,
                    "data": data,
                },
            });
            // Compact JSON, signed byte for byte as sent.
            let body = serde_json::to_vec(&body).unwrap_or_default();
            Outgoing {
                url: url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-ebay-signature".into(), signer.header(&body)),
                ],
                body,
                timeout: Duration::from_secs(10),
            }
        });
        ebay.context.controls.notify(Notification {
            id,
            topic: topic.to_owned(),
            prepare,
            retry_delays: retry_delays.clone(),
            on_done: None,
            // eBay counts 200, 201, 202 and 204 as acknowledged.
            success: 200..=204,
        });
    }
}

/// ORDER_CONFIRMATION, one per line item; the data carries the ids to fetch the order with
/// (the exact data fields beyond `orderId` are [U]).
pub fn order_confirmation(ebay: &Ebay, order: &Value) {
    let order_id = order["orderId"].clone();
    for line in order["lineItems"].as_array().into_iter().flatten() {
        let data = json!({
            "orderId": order_id,
            "lineItemId": line["lineItemId"],
            "sellerUsername": super::SELLER,
            "buyerUsername": order["buyer"]["username"],
        });
        publish(ebay, "ORDER_CONFIRMATION", &data);
    }
}

/// AUTHORIZATION_REVOCATION when the seller's tokens are revoked (the control API's revoke).
pub fn authorization_revoked(ebay: &Ebay) {
    let data = json!({
        "username": super::SELLER,
        "userId": "sandbox-user-1",
        "eiasToken": "nY+sHZ2PrBmdj6wVnY+sEZ2PrA2dj6wFk4GhCpaCpQ2dj6x9nY+seQ==",
        "revokeReason": "REVOKED_BY_USER",
        "revocationDate": ts(ebay.now()),
    });
    publish(ebay, "AUTHORIZATION_REVOCATION", &data);
}
