//! Test orders and webhooks. A webhook is a POST of the REST-style resource JSON to each
//! subscription of the topic, signed with `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(raw
//! body, app client secret)), with Shopify's `X-Shopify-*` headers. `X-Shopify-Event-Id` is the
//! same for every delivery of one event (retries, duplicates, other subscriptions);
//! `X-Shopify-Webhook-Id` is the same across retries of one subscription's delivery.
//! Retries: 8 over about 4 hours with exponential backoff (56 s doubling: 56 s … 2 h, 3 h 58 min
//! in total); timeout 5 s; any 2xx counts as delivered.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::Shopify;
use super::model::{self, FulfillmentOrder, FulfillmentOrderLineItem, LineItem, Order};
use crate::common::TestOrder;
use crate::common::buyers::fake_buyer;
use crate::common::deliveries::{Notification, Outcome, Outgoing};
use crate::common::sign::hmac_sha256_base64;

/// The API version webhooks carry when the subscription did not record one.
pub const API_VERSION: &str = "2026-04";

/// `ORDERS_CREATE` → `orders/create`.
pub fn rest_topic(topic: &str) -> String {
    match topic.rsplit_once('_') {
        Some((resource, action)) => format!("{}/{}", resource, action).to_lowercase(),
        None => topic.to_lowercase(),
    }
}

impl Shopify {
    /// Creates the order and reduces stock; returns the shop and the order's webhook JSON.
    pub(super) fn create_test_order(&self, order: TestOrder) -> Result<(String, Value), String> {
        let quantity = order.quantity.unwrap_or(1);
        if quantity == 0 {
            return Err("quantity must be at least 1".into());
        }
        let now = self.now();
        let mut state = self.lock();
        let wanted = order.sku.as_deref();
        let found = state.shops.iter().find_map(|(domain, shop)| {
            shop.products.values().find_map(|p| {
                p.variants
                    .iter()
                    .find(|v| wanted.is_none_or(|sku| v.sku == sku))
                    .map(|v| (domain.clone(), p.id, v.id))
            })
        });
        let Some((domain, product_id, variant_id)) = found else {
            return Err(match wanted {
                Some(sku) => format!("no variant with SKU {sku:?} in any shop"),
                None => "no listing yet: create a product with productSet first".into(),
            });
        };
        let ids: Vec<u64> = (0..4).map(|_| state.next_id()).collect();
        let shop = state.shop_mut(&domain).ok_or("shop vanished")?;
        let product = shop
            .products
            .get_mut(&product_id)
            .ok_or("product vanished")?;
        let title = product.title.clone();
        let variant = product
            .variants
            .iter_mut()
            .find(|v| v.id == variant_id)
            .ok_or("variant vanished")?;
        if variant.available < i64::from(quantity) {
            return Err(format!(
                "only {} of SKU {:?} in stock, {quantity} ordered",
                variant.available, variant.sku
            ));
        }
        variant.available -= i64::from(quantity);
        variant.updated_at = now;
        let line = LineItem {
            id: ids[1],
            sku: variant.sku.clone(),
            title,
            variant_title: if variant.title == "Default Title" {
                String::new()
            } else {
                variant.title.clone()
            },
            quantity,
            price: variant.price.clone(),
            product_id,
            variant_id,
        };
        let buyer = fake_buyer();
        let number = shop.order_number;
        shop.order_number += 1;
        let order = Order {
            id: ids[0],
            name: format!("#{number}"),
            number,
            email: buyer.email.clone(),
            buyer,
            currency: shop.currency.clone(),
            financial_status: "PAID".into(),
            fulfillment_status: "UNFULFILLED".into(),
            fulfillment_orders: vec![FulfillmentOrder {
                id: ids[2],
                status: "OPEN".into(),
                line_items: vec![FulfillmentOrderLineItem {
                    id: ids[3],
                    line_item_id: line.id,
                    total_quantity: quantity,
                    remaining_quantity: quantity,
                }],
            }],
            line_items: vec![line],
            fulfillments: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let json = model::order_rest_json(shop, &order);
        shop.orders.insert(order.id, order);
        Ok((domain, json))
    }

    /// Sends `payload` to every subscription of the shop whose topic is in `topics`.
    pub(super) fn send_webhooks(&self, shop: &str, topics: &[&str], payload: &Value) {
        let subscriptions: Vec<model::Webhook> = {
            let state = self.lock();
            let Some(shop) = state.shops.get(shop) else {
                return;
            };
            shop.webhooks
                .values()
                .filter(|w| topics.contains(&w.topic.as_str()))
                .cloned()
                .collect()
        };
        if subscriptions.is_empty() {
            return;
        }
        let secret = self.app().client_secret;
        let body = Arc::new(serde_json::to_vec(payload).unwrap_or_default());
        let signature = hmac_sha256_base64(secret.as_bytes(), &body);
        let triggered_at = model::iso(self.now());
        for topic in topics {
            let event_id = uuid::Uuid::new_v4().to_string();
            for subscription in subscriptions.iter().filter(|w| w.topic == *topic) {
                let webhook_id = uuid::Uuid::new_v4().to_string();
                let headers = vec![
                    ("Content-Type".to_owned(), "application/json".to_owned()),
                    ("X-Shopify-Topic".to_owned(), rest_topic(topic)),
                    ("X-Shopify-Hmac-Sha256".to_owned(), signature.clone()),
                    ("X-Shopify-Shop-Domain".to_owned(), shop.to_owned()),
                    (
                        "X-Shopify-API-Version".to_owned(),
                        subscription.api_version.clone(),
                    ),
                    ("X-Shopify-Webhook-Id".to_owned(), webhook_id),
                    ("X-Shopify-Event-Id".to_owned(), event_id.clone()),
                    ("X-Shopify-Triggered-At".to_owned(), triggered_at.clone()),
                    (
                        "X-Shopify-Name".to_owned(),
                        format!("sandbox-{}", subscription.id),
                    ),
                ];
                let url = subscription.uri.clone();
                let body = Arc::clone(&body);
                let prepare = Arc::new(move |_attempt: u32| Outgoing {
                    url: url.clone(),
                    headers: headers.clone(),
                    body: body.to_vec(),
                    timeout: Duration::from_secs(5),
                });
                let me = self.me.clone();
                let shop_domain = shop.to_owned();
                let subscription_id = subscription.id;
                self.context.controls.notify(Notification {
                    id: event_id.clone(),
                    topic: rest_topic(topic),
                    prepare,
                    retry_delays: (0..8).map(|k| Duration::from_secs(56 << k)).collect(),
                    on_done: Some(Box::new(move |outcome| {
                        if let Some(me) = me.upgrade() {
                            me.count_outcome(&shop_domain, subscription_id, outcome);
                        }
                    })),
                    success: 200..=299,
                });
            }
        }
    }

    /// Counts consecutive failures; a subscription failing too often in a row is deleted.
    fn count_outcome(&self, shop: &str, subscription_id: u64, outcome: Outcome) {
        let limit = self.options().delete_after_failures;
        let mut state = self.lock();
        let Some(shop) = state.shop_mut(shop) else {
            return;
        };
        let Some(webhook) = shop.webhooks.get_mut(&subscription_id) else {
            return;
        };
        match outcome {
            Outcome::Delivered => webhook.failures = 0,
            Outcome::Failed => {
                webhook.failures += 1;
                if limit > 0 && webhook.failures >= limit {
                    tracing::info!(
                        shop = %shop.domain,
                        subscription = subscription_id,
                        "shopify sandbox: webhook subscription deleted after repeated failures"
                    );
                    shop.webhooks.remove(&subscription_id);
                }
            }
            Outcome::Dropped => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_map_to_their_rest_form() {
        assert_eq!(rest_topic("ORDERS_CREATE"), "orders/create");
        assert_eq!(
            rest_topic("INVENTORY_LEVELS_UPDATE"),
            "inventory_levels/update"
        );
    }

    #[test]
    fn retries_take_about_four_hours() {
        let total: u64 = (0..8).map(|k| 56u64 << k).sum();
        assert!((3 * 3600..=4 * 3600).contains(&total), "{total}");
    }
}
