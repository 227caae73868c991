//! Orders: v2026-01-01 `searchOrders`/`getOrder`, v0 `getOrders`/`getOrder`/`getOrderItems`,
//! and v0 `confirmShipment`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::api::{CallerExt, invalid_input, list, not_found, param, params};
use super::{Amazon, CURRENCY, MARKETPLACE_NAME, iso};
use crate::common::buyers::Buyer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub order_item_id: String,
    pub sku: String,
    pub asin: String,
    pub title: String,
    pub quantity: u32,
    pub shipped: u32,
    pub unit_price_cents: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub package_reference_id: String,
    pub carrier_code: String,
    pub carrier_name: Option<String>,
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    pub ship_date: String,
    pub items: Vec<(String, u32)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub seller_id: String,
    pub marketplace_id: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub items: Vec<OrderItem>,
    pub buyer: Buyer,
    /// Amazon's relay address for the buyer (`…@marketplace.amazon.de`).
    pub buyer_email: String,
    pub packages: Vec<Package>,
}

/// Cents as Amazon writes amounts: a decimal string.
pub fn amount(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

impl Order {
    pub fn shipped(&self) -> u32 {
        self.items.iter().map(|i| i.shipped).sum()
    }

    pub fn unshipped(&self) -> u32 {
        self.items
            .iter()
            .map(|i| i.quantity - i.shipped.min(i.quantity))
            .sum()
    }

    /// The v0 status: Unshipped, PartiallyShipped or Shipped.
    pub fn status_v0(&self) -> &'static str {
        match (self.shipped(), self.unshipped()) {
            (0, _) => "Unshipped",
            (_, 0) => "Shipped",
            _ => "PartiallyShipped",
        }
    }

    fn status_v2026(&self) -> &'static str {
        match self.status_v0() {
            "Shipped" => "SHIPPED",
            "PartiallyShipped" => "PARTIALLY_SHIPPED",
            _ => "UNSHIPPED",
        }
    }

    fn total_cents(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i.unit_price_cents * i64::from(i.quantity))
            .sum()
    }

    fn currency(&self) -> &str {
        self.items.first().map_or(CURRENCY, |i| i.currency.as_str())
    }
}

/// An order in the v2026-01-01 shape; `included` is the `includedData` list (all when None).
pub fn order_v2026(order: &Order, included: Option<&[String]>) -> Value {
    let wants = |name: &str| included.is_none_or(|list| list.iter().any(|d| d == name));
    let money =
        |cents: i64, currency: &str| json!({ "amount": amount(cents), "currencyCode": currency });
    let mut value = json!({
        "orderId": order.order_id,
        "createdTime": iso(order.created),
        "lastUpdatedTime": iso(order.last_updated),
        "programs": [],
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace_id,
            "marketplaceName": MARKETPLACE_NAME,
        },
        "orderItems": order.items.iter().map(|item| json!({
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity,
            "programs": [],
            "product": {
                "asin": item.asin,
                "title": item.title,
                "sellerSku": item.sku,
                "condition": { "conditionType": "NEW", "conditionSubtype": "NEW" },
                "price": { "unitPrice": money(item.unit_price_cents, &item.currency) },
            },
            "fulfillment": {
                "quantityFulfilled": item.shipped,
                "quantityUnfulfilled": item.quantity - item.shipped.min(item.quantity),
            },
        })).collect::<Vec<_>>(),
    });
    if wants("BUYER") {
        value["buyer"] = json!({
            "buyerName": order.buyer.full_name(),
            "buyerEmail": order.buyer_email,
        });
    }
    if wants("RECIPIENT") {
        let address = &order.buyer.address;
        value["recipient"] = json!({ "deliveryAddress": {
            "name": order.buyer.full_name(),
            "addressLine1": address.line1,
            "addressLine2": address.line2,
            "city": address.city,
            "postalCode": address.postal_code,
            "countryCode": address.country_code,
            "phone": order.buyer.phone,
            "addressType": "RESIDENTIAL",
        }});
    }
    if wants("PROCEEDS") {
        value["proceeds"] = json!({ "grandTotal": money(order.total_cents(), order.currency()) });
    }
    if wants("FULFILLMENT") {
        value["fulfillment"] = json!({
            "fulfillmentStatus": order.status_v2026(),
            "fulfilledBy": "MERCHANT",
            "fulfillmentServiceLevel": "STANDARD",
            "shipByWindow": {
                "earliestDateTime": iso(order.created),
                "latestDateTime": iso(order.created + Duration::days(2)),
            },
        });
    }
    if wants("PACKAGES") {
        value["packages"] = order.packages.iter().map(|p| json!({
            "packageReferenceId": p.package_reference_id,
            "carrier": p.carrier_name.clone().unwrap_or_else(|| p.carrier_code.clone()),
            "shippingService": p.shipping_method,
            "trackingNumber": p.tracking_number,
            "shipTime": p.ship_date,
            "packageStatus": { "status": "IN_TRANSIT" },
            "packageItems": p.items.iter().map(|(id, q)| json!({ "orderItemId": id, "quantity": q })).collect::<Vec<_>>(),
        })).collect();
    }
    value
}

fn order_v0(order: &Order) -> Value {
    json!({
        "AmazonOrderId": order.order_id,
        "PurchaseDate": iso(order.created),
        "LastUpdateDate": iso(order.last_updated),
        "OrderStatus": order.status_v0(),
        "FulfillmentChannel": "MFN",
        "SalesChannel": MARKETPLACE_NAME,
        "ShipServiceLevel": "Std DE Dom_1",
        "OrderTotal": { "CurrencyCode": order.currency(), "Amount": amount(order.total_cents()) },
        "NumberOfItemsShipped": order.shipped(),
        "NumberOfItemsUnshipped": order.unshipped(),
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(order.created),
        "LatestShipDate": iso(order.created + Duration::days(2)),
        "IsBusinessOrder": false,
        "IsPrime": false,
        "IsPremiumOrder": false,
        "IsGlobalExpressEnabled": false,
        "IsReplacementOrder": false,
        "IsSoldByAB": false,
        "IsISPU": false,
        "IsAccessPointOrder": false,
        "HasRegulatedItems": false,
        // Without a Restricted Data Token v0 leaves out names, streets and e-mail.
        "ShippingAddress": {
            "City": order.buyer.address.city,
            "PostalCode": order.buyer.address.postal_code,
            "CountryCode": order.buyer.address.country_code,
        },
        "BuyerInfo": {},
    })
}

fn order_items_v0(order: &Order) -> Value {
    let items: Vec<Value> = order.items.iter().map(|item| json!({
        "ASIN": item.asin,
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.shipped,
        "ItemPrice": { "CurrencyCode": item.currency, "Amount": amount(item.unit_price_cents * i64::from(item.quantity)) },
        "ItemTax": { "CurrencyCode": item.currency, "Amount": "0.00" },
        "PromotionDiscount": { "CurrencyCode": item.currency, "Amount": "0.00" },
        "IsGift": "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsTransparency": false,
    })).collect();
    json!({ "payload": { "OrderItems": items, "AmazonOrderId": order.order_id } })
}

/// ISO 8601 as Amazon accepts it: full RFC 3339, without zone (UTC), or a date.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// What a page token carries: the filter of the first request, where the next page starts and
/// when the token was issued.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Filter by `created` (true) or `last_updated`.
    created: bool,
    after: DateTime<Utc>,
    before: DateTime<Utc>,
    statuses: Vec<String>,
    marketplaces: Vec<String>,
    max: usize,
    offset: usize,
    issued: DateTime<Utc>,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(token: &str) -> Option<Self> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?).ok()
    }

    /// Orders matching, oldest first, and the page's slice.
    fn page<'a>(&self, orders: &'a [Order], seller_id: &str, v0: bool) -> (Vec<&'a Order>, bool) {
        let matching: Vec<&Order> = orders
            .iter()
            .filter(|o| o.seller_id == seller_id)
            .filter(|o| {
                let at = if self.created {
                    o.created
                } else {
                    o.last_updated
                };
                at >= self.after && at <= self.before
            })
            .filter(|o| {
                self.marketplaces.is_empty() || self.marketplaces.contains(&o.marketplace_id)
            })
            .filter(|o| {
                self.statuses.is_empty()
                    || self.statuses.iter().any(|s| {
                        if v0 {
                            s == o.status_v0()
                        } else {
                            s == o.status_v2026()
                        }
                    })
            })
            .collect();
        let more = matching.len() > self.offset + self.max;
        let page = matching
            .into_iter()
            .skip(self.offset)
            .take(self.max)
            .collect();
        (page, more)
    }
}

/// Reads the filter of a first request (`v0`: PascalCase names).
fn first_cursor(
    params: &[(String, String)],
    v0: bool,
    now: DateTime<Utc>,
) -> Result<Cursor, Response> {
    let name = |camel: &'static str, pascal: &'static str| if v0 { pascal } else { camel };
    let created_after = param(params, name("createdAfter", "CreatedAfter"));
    let updated_after = param(params, name("lastUpdatedAfter", "LastUpdatedAfter"));
    let created_before = param(params, name("createdBefore", "CreatedBefore"));
    let updated_before = param(params, name("lastUpdatedBefore", "LastUpdatedBefore"));
    let (created, after, before) = match (created_after, updated_after) {
        (Some(after), None) if updated_before.is_none() => (true, after, created_before),
        (None, Some(after)) if created_before.is_none() => (false, after, updated_before),
        (None, None) => {
            return Err(invalid_input(if v0 {
                "One of CreatedAfter or LastUpdatedAfter must be specified."
            } else {
                "Exactly one of createdAfter and lastUpdatedAfter must be provided."
            }));
        }
        _ => {
            return Err(invalid_input(if v0 {
                "CreatedAfter/CreatedBefore and LastUpdatedAfter/LastUpdatedBefore cannot be combined."
            } else {
                "Exactly one of createdAfter and lastUpdatedAfter must be provided."
            }));
        }
    };
    let after = parse_time(after)
        .ok_or_else(|| invalid_input("Invalid date-time in the after filter; use ISO 8601."))?;
    let before = match before {
        Some(text) => parse_time(text).ok_or_else(|| {
            invalid_input("Invalid date-time in the before filter; use ISO 8601.")
        })?,
        None => now,
    };
    if before < after {
        return Err(invalid_input(
            "The before date must not be earlier than the after date.",
        ));
    }
    let max = match param(params, name("maxResultsPerPage", "MaxResultsPerPage")) {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            _ => {
                return Err(invalid_input(
                    "maxResultsPerPage must be between 1 and 100.",
                ));
            }
        },
    };
    let marketplaces = list(params, name("marketplaceIds", "MarketplaceIds"));
    if v0 && marketplaces.is_empty() {
        return Err(invalid_input("MarketplaceIds is required."));
    }
    Ok(Cursor {
        created,
        after,
        before,
        statuses: list(params, name("fulfillmentStatuses", "OrderStatuses")),
        marketplaces,
        max,
        offset: 0,
        issued: now,
    })
}

pub async fn search_orders(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match params(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let now = amazon.now();
    let cursor = match param(&params, "paginationToken") {
        Some(token) => match Cursor::decode(token) {
            // The token is good for 24 hours.
            Some(c) if now - c.issued <= Duration::hours(24) => c,
            Some(_) => return invalid_input("The paginationToken has expired."),
            None => return invalid_input("Invalid paginationToken."),
        },
        None => match first_cursor(&params, false, now) {
            Ok(c) => c,
            Err(e) => return e,
        },
    };
    let included = list(&params, "includedData");
    let state = amazon.lock();
    let (page, more) = cursor.page(&state.orders, &caller.seller_id, false);
    let mut body = json!({
        "orders": page.iter().map(|o| order_v2026(o, Some(&included))).collect::<Vec<_>>(),
    });
    if more {
        let next = Cursor {
            offset: cursor.offset + cursor.max,
            ..cursor.clone()
        };
        body["pagination"] = json!({ "nextToken": next.encode() });
    }
    let key = if cursor.created {
        "createdBefore"
    } else {
        "lastUpdatedBefore"
    };
    body[key] = json!(iso(cursor.before));
    Json(body).into_response()
}

fn find_order<'a>(orders: &'a [Order], id: &str, seller_id: &str) -> Option<&'a Order> {
    orders
        .iter()
        .find(|o| o.order_id == id && o.seller_id == seller_id)
}

pub async fn get_order(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path(order_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match params(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let included = list(&params, "includedData");
    let state = amazon.lock();
    match find_order(&state.orders, &order_id, &caller.seller_id) {
        Some(order) => {
            Json(json!({ "order": order_v2026(order, Some(&included)) })).into_response()
        }
        None => not_found(&format!("Order {order_id} not found.")),
    }
}

pub async fn get_orders_v0(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match params(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let now = amazon.now();
    let cursor = match param(&params, "NextToken") {
        Some(token) => match Cursor::decode(token) {
            Some(c) => c,
            None => return invalid_input("Invalid NextToken."),
        },
        None => match first_cursor(&params, true, now) {
            Ok(c) => c,
            Err(e) => return e,
        },
    };
    let state = amazon.lock();
    let (page, more) = cursor.page(&state.orders, &caller.seller_id, true);
    let mut payload = json!({ "Orders": page.into_iter().map(order_v0).collect::<Vec<_>>() });
    if more {
        let next = Cursor {
            offset: cursor.offset + cursor.max,
            ..cursor.clone()
        };
        payload["NextToken"] = json!(next.encode());
    }
    let key = if cursor.created {
        "CreatedBefore"
    } else {
        "LastUpdatedBefore"
    };
    payload[key] = json!(iso(cursor.before));
    Json(json!({ "payload": payload })).into_response()
}

pub async fn get_order_v0(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path(order_id): Path<String>,
) -> Response {
    let state = amazon.lock();
    match find_order(&state.orders, &order_id, &caller.seller_id) {
        Some(order) => Json(json!({ "payload": order_v0(order) })).into_response(),
        None => not_found(&format!("Order {order_id} not found.")),
    }
}

pub async fn get_order_items_v0(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path(order_id): Path<String>,
) -> Response {
    let state = amazon.lock();
    match find_order(&state.orders, &order_id, &caller.seller_id) {
        Some(order) => Json(order_items_v0(order)).into_response(),
        None => not_found(&format!("Order {order_id} not found.")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentItem {
    order_item_id: String,
    quantity: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageDetail {
    package_reference_id: Option<String>,
    carrier_code: Option<String>,
    carrier_name: Option<String>,
    shipping_method: Option<String>,
    tracking_number: Option<String>,
    ship_date: Option<String>,
    #[serde(default)]
    order_items: Vec<ShipmentItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmShipment {
    marketplace_id: Option<String>,
    package_detail: Option<PackageDetail>,
}

pub async fn confirm_shipment(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path(order_id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(request) = serde_json::from_slice::<ConfirmShipment>(&body) else {
        return invalid_input("The request body is not a valid confirmShipment request.");
    };
    let Some(marketplace_id) = request.marketplace_id.filter(|m| !m.is_empty()) else {
        return invalid_input("Missing required field marketplaceId.");
    };
    let Some(detail) = request.package_detail else {
        return invalid_input("Missing required field packageDetail.");
    };
    let required = [
        ("packageReferenceId", &detail.package_reference_id),
        ("carrierCode", &detail.carrier_code),
        ("trackingNumber", &detail.tracking_number),
        ("shipDate", &detail.ship_date),
    ];
    for (name, value) in required {
        if value.as_deref().is_none_or(str::is_empty) {
            return invalid_input(&format!("Missing required field packageDetail.{name}."));
        }
    }
    let carrier_code = detail.carrier_code.clone().unwrap_or_default();
    if carrier_code == "Other" && detail.carrier_name.as_deref().is_none_or(str::is_empty) {
        return invalid_input("carrierName is required when carrierCode is Other.");
    }
    let ship_date = detail.ship_date.clone().unwrap_or_default();
    if parse_time(&ship_date).is_none() {
        return invalid_input("packageDetail.shipDate must be an ISO 8601 date-time.");
    }
    if detail.order_items.is_empty() {
        return invalid_input("packageDetail.orderItems must not be empty.");
    }
    let now = amazon.now();
    let notification = {
        let mut state = amazon.lock();
        let seller_id = caller.seller_id.clone();
        let Some(order) = state
            .orders
            .iter_mut()
            .find(|o| o.order_id == order_id && o.seller_id == seller_id)
        else {
            return not_found(&format!("Order {order_id} not found."));
        };
        if order.marketplace_id != marketplace_id {
            return invalid_input("marketplaceId does not match the order's marketplace.");
        }
        let reference = detail.package_reference_id.clone().unwrap_or_default();
        if order
            .packages
            .iter()
            .any(|p| p.package_reference_id == reference)
        {
            return invalid_input("A package with this packageReferenceId was already confirmed.");
        }
        for item in &detail.order_items {
            let Some(line) = order
                .items
                .iter()
                .find(|i| i.order_item_id == item.order_item_id)
            else {
                return invalid_input(&format!("Unknown orderItemId {}.", item.order_item_id));
            };
            if item.quantity == 0 || item.quantity > line.quantity - line.shipped.min(line.quantity)
            {
                return invalid_input(&format!(
                    "Invalid quantity {} for orderItemId {}.",
                    item.quantity, item.order_item_id
                ));
            }
        }
        for item in &detail.order_items {
            if let Some(line) = order
                .items
                .iter_mut()
                .find(|i| i.order_item_id == item.order_item_id)
            {
                line.shipped += item.quantity;
            }
        }
        order.packages.push(Package {
            package_reference_id: reference,
            carrier_code,
            carrier_name: detail.carrier_name,
            shipping_method: detail.shipping_method,
            tracking_number: detail.tracking_number.unwrap_or_default(),
            ship_date,
            items: detail
                .order_items
                .iter()
                .map(|i| (i.order_item_id.clone(), i.quantity))
                .collect(),
        });
        order.last_updated = now;
        let order = order.clone();
        super::notify::envelope(
            &amazon,
            &state,
            &order,
            "OrderStatusChange",
            "Shipment confirmed",
            now,
        )
    };
    super::notify::send(&amazon, notification);
    StatusCode::NO_CONTENT.into_response()
}
