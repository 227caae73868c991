//! What a Shopify shop holds: products with variants and their inventory at the shop's one
//! location, orders with fulfillment orders and fulfillments, webhook subscriptions, and the
//! recorded results of `@idempotent` mutations. All of it is serialised into the snapshot.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::buyers::Buyer;
use crate::common::tokens::TokenStore;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub tokens: TokenStore,
    /// Shops by their `*.myshopify.com` domain, created on the first install.
    pub shops: BTreeMap<String, Shop>,
    /// The last numeric id handed out (products, variants, orders… share one sequence, as the
    /// ids are only unique per resource type at Shopify, and a shared one is simpler to read).
    pub last_id: u64,
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        if self.last_id < 1_000_000_000 {
            self.last_id = 1_000_000_000;
        }
        self.last_id += 1;
        self.last_id
    }

    pub fn shop_mut(&mut self, domain: &str) -> Option<&mut Shop> {
        self.shops.get_mut(domain)
    }

    /// The shop, created (with its default location) when it is not there yet.
    pub fn ensure_shop(&mut self, domain: &str, now: DateTime<Utc>) -> &mut Shop {
        if !self.shops.contains_key(domain) {
            let location_id = self.next_id();
            self.shops
                .insert(domain.to_owned(), Shop::new(domain, location_id, now));
        }
        self.shops.get_mut(domain).expect("inserted above")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shop {
    pub domain: String,
    pub name: String,
    pub currency: String,
    pub location_id: u64,
    pub created_at: DateTime<Utc>,
    /// The app's granted scopes on this shop.
    #[serde(default)]
    pub scopes: Vec<String>,
    pub products: BTreeMap<u64, Product>,
    pub orders: BTreeMap<u64, Order>,
    pub webhooks: BTreeMap<u64, Webhook>,
    /// `@idempotent(key:)` results by key.
    pub idempotency: BTreeMap<String, IdempotentResult>,
    /// The next order number (`#1001`, `#1002`…).
    pub order_number: u64,
}

impl Shop {
    pub fn new(domain: &str, location_id: u64, now: DateTime<Utc>) -> Self {
        let handle = domain.split('.').next().unwrap_or(domain);
        Self {
            domain: domain.to_owned(),
            name: handle.replace(['-', '_'], " "),
            currency: "EUR".into(),
            location_id,
            created_at: now,
            scopes: Vec::new(),
            products: BTreeMap::new(),
            orders: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            idempotency: BTreeMap::new(),
            order_number: 1001,
        }
    }

    pub fn variant_by_item_mut(&mut self, item_id: u64) -> Option<&mut Variant> {
        self.products
            .values_mut()
            .flat_map(|p| p.variants.iter_mut())
            .find(|v| v.inventory_item_id == item_id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Product {
    pub id: u64,
    pub title: String,
    pub handle: String,
    pub description_html: String,
    pub vendor: String,
    pub product_type: String,
    /// ACTIVE, ARCHIVED or DRAFT.
    pub status: String,
    pub options: Vec<ProductOption>,
    pub variants: Vec<Variant>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductOption {
    pub id: u64,
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Variant {
    pub id: u64,
    pub sku: String,
    pub title: String,
    /// A decimal string with two places, as Shopify's `Money` scalar carries it.
    pub price: String,
    pub compare_at_price: Option<String>,
    /// (option name, value)
    pub options: Vec<(String, String)>,
    pub inventory_item_id: u64,
    /// `available` at the shop's location (the sandbox models one location and no
    /// committed/reserved quantities, so `on_hand` equals `available`).
    pub available: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub name: String,
    pub number: u64,
    pub email: String,
    pub buyer: Buyer,
    pub currency: String,
    pub line_items: Vec<LineItem>,
    /// PAID (test orders are paid at checkout).
    pub financial_status: String,
    /// UNFULFILLED, PARTIALLY_FULFILLED or FULFILLED.
    pub fulfillment_status: String,
    pub fulfillment_orders: Vec<FulfillmentOrder>,
    pub fulfillments: Vec<Fulfillment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    pub fn total_cents(&self) -> i64 {
        self.line_items
            .iter()
            .map(|l| cents(&l.price) * i64::from(l.quantity))
            .sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineItem {
    pub id: u64,
    pub sku: String,
    pub title: String,
    pub variant_title: String,
    pub quantity: u32,
    pub price: String,
    pub product_id: u64,
    pub variant_id: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FulfillmentOrder {
    pub id: u64,
    /// OPEN, IN_PROGRESS or CLOSED.
    pub status: String,
    pub line_items: Vec<FulfillmentOrderLineItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FulfillmentOrderLineItem {
    pub id: u64,
    pub line_item_id: u64,
    pub total_quantity: u32,
    pub remaining_quantity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fulfillment {
    pub id: u64,
    pub status: String,
    pub tracking_company: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub notify_customer: bool,
    /// (line item id, quantity)
    pub line_items: Vec<(u64, u32)>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub id: u64,
    /// The GraphQL enum name, e.g. `ORDERS_CREATE`.
    pub topic: String,
    pub uri: String,
    pub format: String,
    pub api_version: String,
    pub created_at: DateTime<Utc>,
    /// Notifications that failed in a row (all retries spent).
    pub failures: u32,
}

/// What an `@idempotent` mutation answered the first time, and the input it answered for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotentResult {
    pub fingerprint: String,
    pub result: Value,
    pub at: DateTime<Utc>,
}

pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The numeric id of a gid of the given kind (`gid://shopify/Product/1` → 1).
pub fn parse_gid(kind: &str, gid: &str) -> Option<u64> {
    let rest = gid.strip_prefix("gid://shopify/")?;
    let (k, id) = rest.split_once('/')?;
    let id = id.split('?').next().unwrap_or(id);
    (k == kind).then(|| id.parse().ok()).flatten()
}

pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A price string as cents; anything unparsable is 0 (inputs are validated before storing).
pub fn cents(price: &str) -> i64 {
    parse_price(price).unwrap_or(0)
}

/// Parses a decimal amount such as `19.99`, `20`, `"5.5"` into cents.
pub fn parse_price(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return None;
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    Some(whole * 100 + frac)
}

pub fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The order as Shopify's webhooks (and the legacy REST API) render it: snake_case fields,
/// numeric ids plus `admin_graphql_api_id`, prices as strings.
pub fn order_rest_json(shop: &Shop, order: &Order) -> Value {
    let address = &order.buyer.address;
    let shipping = json!({
        "first_name": order.buyer.first_name,
        "last_name": order.buyer.last_name,
        "name": order.buyer.full_name(),
        "address1": address.line1,
        "address2": address.line2,
        "city": address.city,
        "zip": address.postal_code,
        "country_code": address.country_code,
        "phone": order.buyer.phone,
        "company": null,
        "province": null,
        "province_code": null,
    });
    let total = money(order.total_cents());
    json!({
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "order_number": order.number,
        "number": order.number - 1000,
        "email": order.email,
        "contact_email": order.email,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "processed_at": iso(order.created_at),
        "currency": order.currency,
        "presentment_currency": order.currency,
        "total_price": total,
        "subtotal_price": total,
        "current_total_price": total,
        "total_tax": "0.00",
        "taxes_included": true,
        "financial_status": order.financial_status.to_lowercase(),
        "fulfillment_status": match order.fulfillment_status.as_str() {
            "FULFILLED" => Value::from("fulfilled"),
            "PARTIALLY_FULFILLED" => Value::from("partial"),
            _ => Value::Null,
        },
        "test": true,
        "customer": {
            "email": order.email,
            "first_name": order.buyer.first_name,
            "last_name": order.buyer.last_name,
        },
        "shipping_address": shipping,
        "billing_address": shipping,
        "line_items": order.line_items.iter().map(|l| json!({
            "id": l.id,
            "admin_graphql_api_id": gid("LineItem", l.id),
            "sku": l.sku,
            "title": l.title,
            "variant_title": l.variant_title,
            "name": if l.variant_title.is_empty() { l.title.clone() } else { format!("{} - {}", l.title, l.variant_title) },
            "quantity": l.quantity,
            "current_quantity": l.quantity,
            "fulfillable_quantity": fulfillable(order, l.id),
            "price": l.price,
            "product_id": l.product_id,
            "variant_id": l.variant_id,
            "requires_shipping": true,
            "fulfillment_status": if fulfillable(order, l.id) == 0 { Value::from("fulfilled") } else { Value::Null },
        })).collect::<Vec<_>>(),
        "fulfillments": order.fulfillments.iter().map(|f| json!({
            "id": f.id,
            "admin_graphql_api_id": gid("Fulfillment", f.id),
            "order_id": order.id,
            "status": f.status.to_lowercase(),
            "tracking_company": f.tracking_company,
            "tracking_number": f.tracking_number,
            "tracking_numbers": f.tracking_number.iter().collect::<Vec<_>>(),
            "tracking_url": f.tracking_url,
            "tracking_urls": f.tracking_url.iter().collect::<Vec<_>>(),
            "created_at": iso(f.created_at),
            "location_id": shop.location_id,
        })).collect::<Vec<_>>(),
    })
}

fn fulfillable(order: &Order, line_item_id: u64) -> u32 {
    order
        .fulfillment_orders
        .iter()
        .flat_map(|fo| fo.line_items.iter())
        .filter(|l| l.line_item_id == line_item_id)
        .map(|l| l.remaining_quantity)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_gids_parse() {
        assert_eq!(parse_price("19.99"), Some(1999));
        assert_eq!(parse_price("5.5"), Some(550));
        assert_eq!(parse_price("20"), Some(2000));
        assert_eq!(parse_price("-1"), None);
        assert_eq!(parse_price("1.999"), None);
        assert_eq!(money(1999), "19.99");
        assert_eq!(parse_gid("Product", "gid://shopify/Product/12"), Some(12));
        assert_eq!(parse_gid("Product", "gid://shopify/Order/12"), None);
    }
}
