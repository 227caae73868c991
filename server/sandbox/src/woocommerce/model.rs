//! What a WooCommerce store keeps: products and variations (WordPress posts sharing one id
//! sequence), orders with their notes and shipment trackings, webhooks and API keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::common::buyers::fake_buyer;
use crate::common::tokens::random_hex;

/// WooCommerce's `wc_rest_prepare_date_response`: site-local and GMT, no zone suffix. The
/// sandbox stores run in UTC, so both are the same.
pub(crate) fn wc_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// A WP_Error as the REST server renders it: `{code, message, data:{status, …}}`.
#[derive(Debug, Clone)]
pub(crate) struct RestError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub data: Map<String, Value>,
}

impl RestError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            data: Map::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut data = self.data.clone();
        data.insert("status".into(), json!(self.status));
        json!({ "code": self.code, "message": self.message, "data": data })
    }

    /// WordPress' argument validation failure (`rest_invalid_param`).
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::new(
            400,
            "rest_invalid_param",
            format!("Invalid parameter(s): {param}"),
        );
        error
            .data
            .insert("params".into(), json!({ param: message.clone() }));
        error.data.insert(
            "details".into(),
            json!({ param: { "code": "rest_invalid_type", "message": message, "data": null } }),
        );
        error
    }

    pub fn missing_param(param: &str) -> Self {
        let mut error = Self::new(
            400,
            "rest_missing_callback_param",
            format!("Missing parameter(s): {param}"),
        );
        error.data.insert("params".into(), json!([param]));
        error
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ApiKey {
    pub key_id: u64,
    pub user_id: u64,
    pub description: String,
    pub permissions: String,
    /// `wc_api_hash(consumer_key)`: WooCommerce keeps only the hash of the key.
    pub consumer_key_hash: String,
    pub consumer_secret: String,
    pub truncated_key: String,
    /// `used_nonces[timestamp] = nonce`, as WooCommerce stores them (one per timestamp).
    #[serde(default)]
    pub nonces: BTreeMap<i64, String>,
}

/// `wc_api_hash`: HMAC-SHA256 of the key with the fixed key `wc-api`.
pub(crate) fn wc_api_hash(consumer_key: &str) -> String {
    crate::common::sign::hmac_sha256_hex(b"wc-api", consumer_key.as_bytes())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub id: u64,
    /// The variable product of a variation, 0 for products.
    pub parent_id: u64,
    pub name: String,
    pub slug: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub sku: String,
    pub regular_price: String,
    pub sale_price: String,
    pub manage_stock: bool,
    pub stock_quantity: Option<i64>,
    pub stock_status: String,
    pub attributes: Value,
    pub date_created: DateTime<Utc>,
    pub date_modified: DateTime<Utc>,
    pub extra: Map<String, Value>,
}

const PASSTHROUGH: &[&str] = &[
    "description",
    "short_description",
    "weight",
    "dimensions",
    "categories",
    "tags",
    "images",
    "image",
    "meta_data",
    "backorders",
    "tax_status",
    "tax_class",
    "shipping_class",
    "catalog_visibility",
    "featured",
    "virtual",
    "downloadable",
];

fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, RestError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RestError::invalid_param(
            name,
            format!("{name} is not of type string."),
        )),
    }
}

fn enum_field(
    body: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, RestError> {
    let value = string_field(body, name)?;
    if let Some(v) = &value
        && !allowed.contains(&v.as_str())
    {
        let list = match allowed.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{}, and {last}", rest.join(", ")),
            _ => allowed.join(", "),
        };
        return Err(RestError::invalid_param(
            name,
            format!("{name} is not one of {list}."),
        ));
    }
    Ok(value)
}

fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

impl Product {
    pub fn new(id: u64, parent_id: u64, now: DateTime<Utc>) -> Self {
        Self {
            id,
            parent_id,
            name: String::new(),
            slug: String::new(),
            kind: if parent_id == 0 {
                "simple"
            } else {
                "variation"
            }
            .into(),
            status: "publish".into(),
            sku: String::new(),
            regular_price: String::new(),
            sale_price: String::new(),
            manage_stock: false,
            stock_quantity: None,
            stock_status: "instock".into(),
            attributes: json!([]),
            date_created: now,
            date_modified: now,
            extra: Map::new(),
        }
    }

    /// The active price: the sale price when there is one.
    pub fn price(&self) -> String {
        if self.sale_price.is_empty() {
            self.regular_price.clone()
        } else {
            self.sale_price.clone()
        }
    }

    /// Applies a create/update request body (validated as the REST schema does).
    pub fn apply(
        &mut self,
        body: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), RestError> {
        let variation = self.parent_id != 0;
        if let Some(name) = string_field(body, "name")? {
            if self.slug.is_empty() {
                self.slug = slugify(&name);
            }
            self.name = name;
        }
        if let Some(slug) = string_field(body, "slug")? {
            self.slug = slug;
        }
        if !variation
            && let Some(kind) =
                enum_field(body, "type", &["simple", "grouped", "external", "variable"])?
        {
            self.kind = kind;
        }
        let statuses: &[&str] = if variation {
            &["draft", "pending", "private", "publish"]
        } else {
            &["draft", "pending", "private", "publish", "future"]
        };
        if let Some(status) = enum_field(body, "status", statuses)? {
            self.status = status;
        }
        for (name, field) in [
            ("sku", &mut self.sku),
            ("regular_price", &mut self.regular_price),
            ("sale_price", &mut self.sale_price),
        ] {
            if let Some(value) = string_field(body, name)? {
                *field = value;
            }
        }
        match body.get("manage_stock") {
            None => {}
            Some(Value::Bool(b)) => self.manage_stock = *b,
            Some(_) => {
                return Err(RestError::invalid_param(
                    "manage_stock",
                    "manage_stock is not of type boolean.",
                ));
            }
        }
        match body.get("stock_quantity") {
            None => {}
            Some(Value::Null) => self.stock_quantity = None,
            Some(v) => match v.as_i64() {
                Some(q) => self.stock_quantity = Some(q),
                None => {
                    return Err(RestError::invalid_param(
                        "stock_quantity",
                        "stock_quantity is not of type integer.",
                    ));
                }
            },
        }
        if let Some(status) = enum_field(
            body,
            "stock_status",
            &["instock", "outofstock", "onbackorder"],
        )? {
            self.stock_status = status;
        }
        match body.get("attributes") {
            None => {}
            Some(v @ Value::Array(_)) => self.attributes = v.clone(),
            Some(_) => {
                return Err(RestError::invalid_param(
                    "attributes",
                    "attributes is not of type array.",
                ));
            }
        }
        for key in PASSTHROUGH {
            if let Some(v) = body.get(*key) {
                self.extra.insert((*key).to_owned(), v.clone());
            }
        }
        self.sync_stock_status();
        self.date_modified = now;
        Ok(())
    }

    /// `wc_update_product_stock_status`: a managed stock decides the stock status.
    pub fn sync_stock_status(&mut self) {
        if self.manage_stock {
            let backorders = self.extra.get("backorders").and_then(Value::as_str);
            let qty = self.stock_quantity.unwrap_or(0);
            self.stock_status = if qty > 0 {
                "instock"
            } else if matches!(backorders, Some("notify" | "yes")) {
                "onbackorder"
            } else {
                "outofstock"
            }
            .into();
        }
    }

    pub fn to_json(&self, store: &Store) -> Value {
        let extra = |key: &str, default: Value| self.extra.get(key).cloned().unwrap_or(default);
        let mut out = json!({
            "id": self.id,
            "name": self.name,
            "slug": self.slug,
            "date_created": wc_date(self.date_created),
            "date_created_gmt": wc_date(self.date_created),
            "date_modified": wc_date(self.date_modified),
            "date_modified_gmt": wc_date(self.date_modified),
            "type": self.kind,
            "status": self.status,
            "description": extra("description", json!("")),
            "sku": self.sku,
            "price": self.price(),
            "regular_price": self.regular_price,
            "sale_price": self.sale_price,
            "on_sale": !self.sale_price.is_empty(),
            "purchasable": !self.price().is_empty(),
            "virtual": extra("virtual", json!(false)),
            "downloadable": extra("downloadable", json!(false)),
            "tax_status": extra("tax_status", json!("taxable")),
            "tax_class": extra("tax_class", json!("")),
            "manage_stock": self.manage_stock,
            "stock_quantity": self.stock_quantity.filter(|_| self.manage_stock),
            "stock_status": self.stock_status,
            "backorders": extra("backorders", json!("no")),
            "weight": extra("weight", json!("")),
            "dimensions": extra("dimensions", json!({"length": "", "width": "", "height": ""})),
            "attributes": self.attributes,
            "meta_data": extra("meta_data", json!([])),
        });
        if self.parent_id == 0 {
            let variations: Vec<u64> = store
                .variations
                .values()
                .filter(|v| v.parent_id == self.id)
                .map(|v| v.id)
                .collect();
            out["parent_id"] = json!(0);
            out["short_description"] = extra("short_description", json!(""));
            out["featured"] = extra("featured", json!(false));
            out["catalog_visibility"] = extra("catalog_visibility", json!("visible"));
            out["categories"] = extra("categories", json!([]));
            out["tags"] = extra("tags", json!([]));
            out["images"] = extra("images", json!([]));
            out["variations"] = json!(variations);
        } else {
            out["parent_id"] = json!(self.parent_id);
            out["image"] = extra("image", Value::Null);
            if let Some(o) = out.as_object_mut() {
                o.remove("type");
            }
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Order {
    pub id: u64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// The REST representation, kept up to date on every change.
    pub body: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Webhook {
    pub id: u64,
    pub name: String,
    pub status: String,
    pub topic: String,
    pub delivery_url: String,
    pub secret: String,
    /// WooCommerce's `_failure_count`: consecutive failed deliveries.
    pub failure_count: u32,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

impl Webhook {
    pub fn to_json(&self) -> Value {
        let (resource, event) = self.topic.split_once('.').unwrap_or((&self.topic, ""));
        let hooks: Vec<&str> = match self.topic.as_str() {
            "order.created" => vec!["woocommerce_new_order"],
            "order.updated" => vec!["woocommerce_update_order", "woocommerce_order_refunded"],
            "order.deleted" => vec!["wp_trash_post"],
            "product.created" => vec![
                "woocommerce_process_product_meta",
                "woocommerce_new_product",
                "woocommerce_new_product_variation",
            ],
            "product.updated" => vec![
                "woocommerce_process_product_meta",
                "woocommerce_update_product",
                "woocommerce_update_product_variation",
            ],
            _ => vec![],
        };
        json!({
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "topic": self.topic,
            "resource": resource,
            "event": event,
            "hooks": hooks,
            "delivery_url": self.delivery_url,
            "date_created": wc_date(self.created),
            "date_created_gmt": wc_date(self.created),
            "date_modified": wc_date(self.modified),
            "date_modified_gmt": wc_date(self.modified),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Store {
    pub products: BTreeMap<u64, Product>,
    pub variations: BTreeMap<u64, Product>,
    pub orders: BTreeMap<u64, Order>,
    pub notes: BTreeMap<u64, Vec<Value>>,
    pub trackings: BTreeMap<u64, Vec<Value>>,
    pub webhooks: BTreeMap<u64, Webhook>,
    pub keys: Vec<ApiKey>,
    /// WordPress post ids: products, variations and orders share them.
    pub next_post_id: u64,
    pub next_item_id: u64,
    pub next_comment_id: u64,
    pub next_webhook_id: u64,
}

impl Store {
    pub fn next_post(&mut self) -> u64 {
        self.next_post_id = self.next_post_id.max(10) + 1;
        self.next_post_id
    }

    pub fn sku_taken(&self, sku: &str, except: u64) -> bool {
        !sku.is_empty()
            && self
                .products
                .values()
                .chain(self.variations.values())
                .any(|p| p.sku == sku && p.id != except && p.status != "trash")
    }

    /// A product or variation to buy: by SKU, or the first purchasable one.
    pub fn find_listing(&self, sku: Option<&str>) -> Option<u64> {
        let all = || self.products.values().chain(self.variations.values());
        match sku {
            Some(sku) => all().find(|p| p.sku == sku).map(|p| p.id),
            None => all()
                .find(|p| p.kind != "variable" && p.status != "trash")
                .map(|p| p.id),
        }
    }

    pub fn active_hooks(&self, topic: &str) -> Vec<Webhook> {
        self.webhooks
            .values()
            .filter(|w| w.status == "active" && w.topic == topic)
            .cloned()
            .collect()
    }

    /// A checkout as a buyer makes it: stock goes down, the order is `processing` (paid).
    pub fn place_order(
        &mut self,
        id: u64,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Value, String> {
        let (item, parent_name) = {
            let listing = match self.products.get_mut(&id) {
                Some(p) => p,
                None => self.variations.get_mut(&id).ok_or("listing not found")?,
            };
            if listing.stock_status == "outofstock" {
                return Err(format!("SKU {} is out of stock", listing.sku));
            }
            if listing.manage_stock {
                let have = listing.stock_quantity.unwrap_or(0);
                if have < i64::from(quantity) {
                    return Err(format!(
                        "not enough stock for SKU {}: {have} in stock, {quantity} ordered",
                        listing.sku
                    ));
                }
                listing.stock_quantity = Some(have - i64::from(quantity));
                listing.sync_stock_status();
                listing.date_modified = now;
            }
            (listing.clone(), listing.parent_id)
        };
        let parent_name = self
            .products
            .get(&parent_name)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let price: f64 = item.price().parse().unwrap_or(0.0);
        let total = format!("{:.2}", price * f64::from(quantity));
        let order_id = self.next_post();
        self.next_item_id += 1;
        let buyer = fake_buyer();
        let address = &buyer.address;
        let mut name = item.name.clone();
        if name.is_empty() {
            name.clone_from(&parent_name);
        }
        let billing = json!({
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "company": "",
            "address_1": address.line1,
            "address_2": address.line2.clone().unwrap_or_default(),
            "city": address.city,
            "state": "",
            "postcode": address.postal_code,
            "country": address.country_code,
            "email": buyer.email,
            "phone": buyer.phone,
        });
        let shipping = json!({
            "first_name": buyer.first_name,
            "last_name": buyer.last_name,
            "company": "",
            "address_1": address.line1,
            "address_2": address.line2.clone().unwrap_or_default(),
            "city": address.city,
            "state": "",
            "postcode": address.postal_code,
            "country": address.country_code,
            "phone": "",
        });
        let line_item = json!({
            "id": self.next_item_id,
            "name": name,
            "product_id": if item.parent_id == 0 { item.id } else { item.parent_id },
            "variation_id": if item.parent_id == 0 { 0 } else { item.id },
            "quantity": quantity,
            "tax_class": "",
            "subtotal": total,
            "subtotal_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": item.sku,
            "price": price,
            "image": { "id": "", "src": "" },
            "parent_name": if item.parent_id == 0 { Value::Null } else { json!(parent_name) },
        });
        let body = json!({
            "id": order_id,
            "parent_id": 0,
            "status": "processing",
            "currency": "EUR",
            "version": "9.8.5",
            "prices_include_tax": false,
            "date_created": wc_date(now),
            "date_created_gmt": wc_date(now),
            "date_modified": wc_date(now),
            "date_modified_gmt": wc_date(now),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "customer_id": 0,
            "order_key": format!("wc_order_{}", random_hex(7)),
            "billing": billing,
            "shipping": shipping,
        });
        let more = json!({
            "payment_method": "bacs",
            "payment_method_title": "Direct bank transfer",
            "transaction_id": "",
            "customer_ip_address": "127.0.0.1",
            "customer_user_agent": "",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": null,
            "date_paid": wc_date(now),
            "cart_hash": random_hex(16),
            "number": order_id.to_string(),
            "meta_data": [],
            "line_items": [line_item],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
            "payment_url": "",
            "is_editable": false,
            "needs_payment": false,
            "needs_processing": true,
            "date_paid_gmt": wc_date(now),
            "date_completed_gmt": null,
            "currency_symbol": "€",
        });
        let mut body = body;
        if let (Some(target), Value::Object(more)) = (body.as_object_mut(), more) {
            target.extend(more);
        }
        self.orders.insert(
            order_id,
            Order {
                id: order_id,
                created: now,
                modified: now,
                body: body.clone(),
            },
        );
        Ok(body)
    }
}
