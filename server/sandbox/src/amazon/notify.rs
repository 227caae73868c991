//! ORDER_CHANGE notifications on the SQS-like local queue, and test orders.
//!
//! Amazon delivers notifications to SQS or EventBridge only. The sandbox sends each envelope
//! through the delivery faults (drop, duplicate, reorder) to `POST {base}/_sandbox/queue` (or
//! the `queue_url` option); `GET` reads the queue, `DELETE` empties it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Value, json};

use super::orders::{Order, OrderItem, order_v2026};
use super::{Amazon, CURRENCY, MARKETPLACE_ID, QUEUE_KEPT, iso, listings};
use crate::common::TestOrder;
use crate::common::buyers::fake_buyer;
use crate::common::deliveries::{Notification, Outgoing};
use crate::common::tokens::random_string;

/// The ORDER_CHANGE envelope (NotificationVersion 1.0, PayloadVersion 1.0).
pub fn envelope(
    amazon: &Amazon,
    state: &super::State,
    order: &Order,
    change_type: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Value {
    let app = amazon.app();
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    json!({
        "NotificationVersion": "1.0",
        "NotificationType": "ORDER_CHANGE",
        "PayloadVersion": "1.0",
        "EventTime": at,
        "Payload": { "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": order.seller_id,
            "AmazonOrderId": order.order_id,
            "OrderChangeType": change_type,
            "OrderChangeTrigger": { "TimeOfOrderChange": at, "ChangeReason": reason },
            "Summary": {
                "MarketplaceId": order.marketplace_id,
                "OrderStatus": order.status_v0(),
                "PurchaseDate": iso(order.created),
                "DestinationPostalCode": order.buyer.address.postal_code,
                "FulfillmentType": "MFN",
                "OrderType": "StandardOrder",
                "NumberOfItemsShipped": order.shipped(),
                "NumberOfItemsUnshipped": order.unshipped(),
                "EarliestShipDate": iso(order.created),
                "LatestShipDate": iso(order.created + Duration::days(2)),
                "OrderItems": order.items.iter().map(|i| json!({
                    "OrderItemId": i.order_item_id,
                    "SellerSKU": i.sku,
                    "OrderItemStatus": if i.shipped >= i.quantity { "Shipped" } else { "Unshipped" },
                    "Quantity": i.quantity,
                    "QuantityShipped": i.shipped,
                })).collect::<Vec<_>>(),
            },
        }},
        "NotificationMetadata": {
            "ApplicationId": app.extra("application_id").unwrap_or_default(),
            "SubscriptionId": state.subscription_id,
            "PublishTime": at,
            "NotificationId": uuid::Uuid::new_v4().to_string(),
        },
    })
}

/// Puts a message on the queue through the delivery faults. SQS retries internally; the
/// sandbox retries a failed hand-over a few times.
pub fn send(amazon: &Amazon, envelope: Value) {
    let id = envelope["NotificationMetadata"]["NotificationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let url = amazon.queue_url();
    let body = serde_json::to_vec(&envelope).unwrap_or_default();
    amazon.context.controls.notify(Notification {
        id,
        topic: "ORDER_CHANGE".into(),
        prepare: Arc::new(move |_| Outgoing {
            url: url.clone(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.clone(),
            timeout: StdDuration::from_secs(10),
        }),
        retry_delays: vec![
            StdDuration::from_secs(1),
            StdDuration::from_secs(10),
            StdDuration::from_secs(60),
        ],
        on_done: None,
        success: 200..=299,
    });
}

/// An order id in Amazon.de's 3-7-7 form.
fn order_id() -> String {
    let mut rng = rand::rng();
    format!(
        "{}-{:07}-{:07}",
        ["302", "303", "304", "305", "028"][rng.random_range(0..5)],
        rng.random_range(0..10_000_000u32),
        rng.random_range(0..10_000_000u32)
    )
}

pub fn place(amazon: &Amazon, request: TestOrder) -> Result<Value, String> {
    let quantity = request.quantity.unwrap_or(1);
    if quantity == 0 {
        return Err("quantity must be at least 1".into());
    }
    let now = amazon.now();
    let buyer = fake_buyer();
    let (order, notification) = {
        let mut state = amazon.lock();
        listings::settle(&mut state, now);
        let listing =
            match &request.sku {
                Some(sku) => state
                    .listings
                    .get_mut(sku)
                    .ok_or_else(|| format!("no listing with SKU {sku}"))?,
                None => state.listings.values_mut().next().ok_or(
                    "no listings yet: create one with PUT /listings/2021-08-01/items/… first",
                )?,
            };
        let stock = listing.quantity().unwrap_or(0);
        if stock < i64::from(quantity) {
            return Err(format!(
                "not enough stock for SKU {}: {stock} available, {quantity} ordered",
                listing.sku
            ));
        }
        listing.set_quantity(stock - i64::from(quantity));
        listing.last_updated = now;
        let (currency, cents) = listing.price().unwrap_or((CURRENCY.into(), 0));
        let item = OrderItem {
            order_item_id: format!(
                "{:014}",
                rand::rng().random_range(0..100_000_000_000_000u64)
            ),
            sku: listing.sku.clone(),
            asin: listing.asin.clone(),
            title: listing.item_name().unwrap_or_else(|| listing.sku.clone()),
            quantity,
            shipped: 0,
            unit_price_cents: cents,
            currency,
        };
        let seller_id = listing.seller_id.clone();
        state.order_counter += 1;
        let order = Order {
            order_id: order_id(),
            seller_id,
            marketplace_id: MARKETPLACE_ID.into(),
            created: now,
            last_updated: now,
            items: vec![item],
            buyer_email: format!(
                "{}@marketplace.amazon.de",
                random_string(15).to_ascii_lowercase()
            ),
            buyer,
            packages: Vec::new(),
        };
        state.orders.push(order.clone());
        let notification = envelope(amazon, &state, &order, "OrderStatusChange", "NewOrder", now);
        (order, notification)
    };
    send(amazon, notification);
    Ok(order_v2026(&order, None))
}

pub async fn queue_receive(State(amazon): State<Arc<Amazon>>, body: Bytes) -> Response {
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    let mut state = amazon.lock();
    if state.queue.len() >= QUEUE_KEPT {
        state.queue.remove(0);
    }
    state.queue.push(message);
    StatusCode::OK.into_response()
}

pub async fn queue_read(State(amazon): State<Arc<Amazon>>) -> Json<Value> {
    Json(json!({ "messages": amazon.lock().queue }))
}

pub async fn queue_clear(State(amazon): State<Arc<Amazon>>) -> Json<Value> {
    let removed = std::mem::take(&mut amazon.lock().queue).len();
    Json(json!({ "deleted": removed }))
}
