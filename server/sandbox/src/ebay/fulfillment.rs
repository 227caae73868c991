//! Sell Fulfillment API `/sell/fulfillment/v1`: orders (with eBay's `filter` syntax and
//! limit/offset paging) and shipping fulfillments with tracking; plus the test orders a buyer
//! places.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::errors::{self, Api};
use super::inventory::{json_object, page_links};
use super::{Ebay, SELLER};
use crate::common::TestOrder;
use crate::common::buyers::fake_buyer;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// The order as getOrder answers it (kept current on every change).
    pub body: Value,
    pub fulfillments: Vec<Value>,
}

pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn routes() -> Router<Arc<Ebay>> {
    Router::new()
        .route("/sell/fulfillment/v1/order", get(list))
        .route("/sell/fulfillment/v1/order/{order_id}", get(get_one))
        .route(
            "/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment",
            get(list_fulfillments).post(ship),
        )
        .route(
            "/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{fulfillment_id}",
            get(get_fulfillment),
        )
}

fn req(status: StatusCode, id: u64, message: &str) -> Response {
    errors::request(status, Api::Fulfillment, id, message)
}

fn order_not_found(order_id: &str) -> Response {
    errors::request_with(
        StatusCode::NOT_FOUND,
        Api::Fulfillment,
        32100,
        &format!("Invalid order ID: {order_id}"),
        &[("orderId", order_id)],
    )
}

/// A buyer's purchase of one listing: stock goes down, the order appears in getOrders.
pub fn place(ebay: &Ebay, order: TestOrder) -> Result<Value, String> {
    let quantity = u64::from(order.quantity.unwrap_or(1).max(1));
    let now = ebay.now();
    let buyer = fake_buyer();
    let mut state = ebay.state();
    let sku = match order.sku {
        Some(sku) => sku,
        None => state
            .items
            .keys()
            .next()
            .cloned()
            .ok_or("there is no inventory item yet; create one with PUT /sell/inventory/v1/inventory_item/{sku}")?,
    };
    let item = state
        .items
        .get(&sku)
        .cloned()
        .ok_or_else(|| format!("no inventory item with SKU {sku}"))?;
    if item.quantity() < quantity {
        return Err(format!(
            "SKU {sku} has {} in stock, {quantity} ordered",
            item.quantity()
        ));
    }
    let offer = state
        .offers
        .values()
        .filter(|o| o.sku == sku)
        .max_by_key(|o| o.listing_id.is_some())
        .cloned();
    let (unit, currency) = offer
        .as_ref()
        .map(|o| o.price())
        .filter(|(v, c)| !v.is_empty() && !c.is_empty())
        .unwrap_or_else(|| ("1.00".into(), "EUR".into()));
    let unit: f64 = unit.parse().unwrap_or(1.0);
    let total = format!("{:.2}", unit * quantity as f64);
    let marketplace = offer
        .as_ref()
        .and_then(|o| o.body["marketplaceId"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "EBAY_DE".into());
    let listing_id = offer
        .as_ref()
        .and_then(|o| o.listing_id.clone())
        .unwrap_or_default();
    let n = state.next();
    let order_id = format!(
        "{:02}-{:05}-{:05}",
        10 + n % 90,
        rand::random_range(10_000..100_000u32),
        rand::random_range(10_000..100_000u32)
    );
    let line_item_id = format!("{}", 10_000_000_000u64 + n * 131);
    let money = |v: &str| json!({ "value": v, "currency": currency });
    let mut contact = json!({
        "addressLine1": buyer.address.line1,
        "city": buyer.address.city,
        "postalCode": buyer.address.postal_code,
        "countryCode": buyer.address.country_code,
    });
    if let Some(line2) = &buyer.address.line2 {
        contact["addressLine2"] = json!(line2);
    }
    let username = format!(
        "{}_{}",
        buyer.first_name.to_lowercase(),
        rand::random_range(100..1000u32)
    );
    let body = json!({
        "orderId": order_id,
        "legacyOrderId": format!("{listing_id}-{line_item_id}"),
        "creationDate": ts(now),
        "lastModifiedDate": ts(now),
        "orderFulfillmentStatus": "NOT_STARTED",
        "orderPaymentStatus": "PAID",
        "sellerId": SELLER,
        "buyer": {
            "username": username,
            "taxAddressSummary": {
                "postalCode": buyer.address.postal_code,
                "countryCode": buyer.address.country_code,
            },
            "buyerRegistrationAddress": {
                "fullName": buyer.full_name(),
                "contactAddress": contact,
                "primaryPhone": { "phoneNumber": buyer.phone },
                "email": buyer.email,
            },
        },
        "pricingSummary": {
            "priceSubtotal": money(&total),
            "deliveryCost": money("0.00"),
            "total": money(&total),
        },
        "cancelStatus": { "cancelState": "NONE_REQUESTED", "cancelRequests": [] },
        "paymentSummary": {
            "totalDueSeller": money(&total),
            "refunds": [],
            "payments": [{
                "paymentMethod": "EBAY",
                "paymentReferenceId": format!("{}", uuid::Uuid::new_v4().simple()).to_uppercase(),
                "paymentDate": ts(now),
                "amount": money(&total),
                "paymentStatus": "PAID",
            }],
        },
        "fulfillmentStartInstructions": [{
            "fulfillmentInstructionsType": "SHIP_TO",
            "minEstimatedDeliveryDate": ts(now + Duration::days(2)),
            "maxEstimatedDeliveryDate": ts(now + Duration::days(5)),
            "ebaySupportedFulfillment": false,
            "shippingStep": {
                "shipTo": {
                    "fullName": buyer.full_name(),
                    "contactAddress": contact,
                    "primaryPhone": { "phoneNumber": buyer.phone },
                    "email": buyer.email,
                },
                "shippingCarrierCode": "DHL",
                "shippingServiceCode": "DE_DHLPaket",
            },
        }],
        "fulfillmentHrefs": [],
        "lineItems": [{
            "lineItemId": line_item_id,
            "legacyItemId": listing_id,
            "sku": sku,
            "title": item.title(),
            "lineItemCost": money(&total),
            "quantity": quantity,
            "soldFormat": "FIXED_PRICE",
            "listingMarketplaceId": marketplace,
            "purchaseMarketplaceId": marketplace,
            "lineItemFulfillmentStatus": "NOT_STARTED",
            "total": money(&total),
            "deliveryCost": { "shippingCost": money("0.00") },
            "appliedPromotions": [],
            "taxes": [],
        }],
        "salesRecordReference": format!("{n}"),
        "totalFeeBasisAmount": money(&total),
    });
    if let Some(stored) = state.items.get_mut(&sku) {
        stored.set_quantity(stored.quantity() - quantity);
    }
    for offer in state.offers.values_mut().filter(|o| o.sku == sku) {
        if let Some(q) = offer.body.get("availableQuantity").and_then(Value::as_u64) {
            offer.body["availableQuantity"] = json!(q.saturating_sub(quantity));
        }
    }
    state.orders.push(Order {
        order_id,
        created: now,
        modified: now,
        body: body.clone(),
        fulfillments: Vec::new(),
    });
    Ok(body)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "orderIds")]
    order_ids: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

/// A date window; either end may be open.
type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

#[derive(Debug, Default)]
struct Filter {
    created: Option<Range>,
    modified: Option<Range>,
    statuses: Option<Vec<String>>,
}

fn parse_range(value: &str) -> Option<Range> {
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    let (from, to) = inner.split_once("..")?;
    let parse = |s: &str| -> Option<Option<DateTime<Utc>>> {
        if s.is_empty() {
            Some(None)
        } else {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| Some(d.with_timezone(&Utc)))
        }
    };
    Some((parse(from)?, parse(to)?))
}

/// eBay's filter syntax: `creationdate:[a..b],lastmodifieddate:[a..],orderfulfillmentstatus:{X|Y}`.
fn parse_filter(filter: &str) -> Result<Filter, String> {
    let mut out = Filter::default();
    for part in filter.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once(':').ok_or_else(|| part.to_owned())?;
        match name {
            "creationdate" => {
                out.created = Some(parse_range(value).ok_or_else(|| part.to_owned())?)
            }
            "lastmodifieddate" => {
                out.modified = Some(parse_range(value).ok_or_else(|| part.to_owned())?);
            }
            "orderfulfillmentstatus" => {
                let inner = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .ok_or_else(|| part.to_owned())?;
                let statuses: Vec<String> = inner.split('|').map(|s| s.trim().to_owned()).collect();
                if !statuses
                    .iter()
                    .all(|s| matches!(s.as_str(), "NOT_STARTED" | "IN_PROGRESS" | "FULFILLED"))
                {
                    return Err(part.to_owned());
                }
                out.statuses = Some(statuses);
            }
            _ => return Err(part.to_owned()),
        }
    }
    Ok(out)
}

fn within(at: DateTime<Utc>, range: &Range) -> bool {
    range.0.is_none_or(|from| at >= from) && range.1.is_none_or(|to| at <= to)
}

async fn list(State(ebay): State<Arc<Ebay>>, Query(q): Query<ListQuery>) -> Response {
    let max = ebay.options().max_order_limit;
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(l) => match l.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return req(
                    StatusCode::BAD_REQUEST,
                    30800,
                    "Invalid limit. Supported ranges 1 - 200.",
                );
            }
        },
    };
    let offset = match q.offset.as_deref().map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return req(StatusCode::BAD_REQUEST, 30810, "Invalid offset."),
    };
    let now = ebay.now();
    let state = ebay.state();
    let matching: Vec<&Order> = if let Some(ids) = q.order_ids.as_deref().filter(|s| !s.is_empty())
    {
        // orderIds wins over filter, at most 50 ids.
        let ids: Vec<&str> = ids.split(',').map(str::trim).collect();
        if ids.len() > 50 {
            return req(
                StatusCode::BAD_REQUEST,
                30820,
                "Too many order IDs. Maximum 50 order IDs can be provided.",
            );
        }
        state
            .orders
            .iter()
            .filter(|o| ids.contains(&o.order_id.as_str()))
            .collect()
    } else {
        let filter = match parse_filter(q.filter.as_deref().unwrap_or("")) {
            Ok(f) => f,
            Err(part) => {
                return errors::request_with(
                    StatusCode::BAD_REQUEST,
                    Api::Fulfillment,
                    30700,
                    &format!("Invalid filter: {part}"),
                    &[("filter", &part)],
                );
            }
        };
        // creationdate wins when both date filters are given; neither means the last 90 days.
        let default = (Some(now - Duration::days(90)), None);
        state
            .orders
            .iter()
            .filter(|o| match (&filter.created, &filter.modified) {
                (Some(c), _) => within(o.created, c),
                (None, Some(m)) => within(o.modified, m),
                (None, None) => within(o.created, &default),
            })
            .filter(|o| {
                filter.statuses.as_ref().is_none_or(|s| {
                    s.iter()
                        .any(|s| o.body["orderFulfillmentStatus"] == s.as_str())
                })
            })
            .collect()
    };
    let total = matching.len() as u64;
    // Newest first.
    let orders: Vec<Value> = matching
        .into_iter()
        .rev()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|o| o.body.clone())
        .collect();
    let mut extra = String::new();
    if let Some(filter) = q.filter.as_deref().filter(|f| !f.is_empty()) {
        extra = format!(
            "filter={}&",
            percent_encoding::utf8_percent_encode(filter, percent_encoding::NON_ALPHANUMERIC)
        );
    }
    if let Some(ids) = q.order_ids.as_deref().filter(|f| !f.is_empty()) {
        extra.push_str(&format!(
            "orderIds={}&",
            percent_encoding::utf8_percent_encode(ids, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    let url = format!("{}/sell/fulfillment/v1/order", ebay.context.base_url);
    let mut out = page_links(&url, &extra, limit, offset, total);
    out["orders"] = json!(orders);
    out["warnings"] = json!([]);
    Json(out).into_response()
}

async fn get_one(State(ebay): State<Arc<Ebay>>, Path(order_id): Path<String>) -> Response {
    match ebay.state().orders.iter().find(|o| o.order_id == order_id) {
        Some(order) => Json(order.body.clone()).into_response(),
        None => order_not_found(&order_id),
    }
}

/// `POST …/shipping_fulfillment`: marks line items shipped with a tracking number. Answers 201
/// with an empty body and the new fulfillment's URL in `Location`.
async fn ship(
    State(ebay): State<Arc<Ebay>>,
    Path(order_id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let now = ebay.now();
    let tracking = body
        .get("trackingNumber")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let carrier = body
        .get("shippingCarrierCode")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let shipped = body
        .get("shippedDate")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| ts(now));
    if DateTime::parse_from_rfc3339(&shipped).is_err() {
        return req(StatusCode::BAD_REQUEST, 32110, "Invalid shipped date.");
    }
    if tracking.is_empty() || !tracking.chars().all(|c| c.is_ascii_alphanumeric()) {
        return req(
            StatusCode::BAD_REQUEST,
            32120,
            "Invalid tracking number. The tracking number must be alphanumeric.",
        );
    }
    if carrier.is_empty() {
        return req(
            StatusCode::BAD_REQUEST,
            32500,
            "Invalid shipping carrier code.",
        );
    }
    let Some(lines) = body
        .get("lineItems")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
    else {
        return req(
            StatusCode::BAD_REQUEST,
            32210,
            "Invalid line items. At least one line item is required.",
        );
    };
    let mut state = ebay.state();
    let Some(order) = state.orders.iter_mut().find(|o| o.order_id == order_id) else {
        return order_not_found(&order_id);
    };
    let mut shipped_lines = Vec::new();
    for line in lines {
        let id = line.get("lineItemId").and_then(Value::as_str).unwrap_or("");
        let Some(item) = order.body["lineItems"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["lineItemId"] == id))
        else {
            return errors::request_with(
                StatusCode::BAD_REQUEST,
                Api::Fulfillment,
                32210,
                &format!("Invalid line item ID: {id}"),
                &[("lineItemId", id)],
            );
        };
        let quantity = line
            .get("quantity")
            .and_then(Value::as_u64)
            .unwrap_or_else(|| item["quantity"].as_u64().unwrap_or(1));
        shipped_lines.push(json!({ "lineItemId": id, "quantity": quantity }));
    }
    let fulfillment_id = tracking.clone();
    let fulfillment = json!({
        "fulfillmentId": fulfillment_id,
        "shipmentTrackingNumber": tracking,
        "shippingCarrierCode": carrier,
        "shippedDate": shipped,
        "lineItems": shipped_lines,
    });
    order.fulfillments.push(fulfillment);
    let shipped_ids: Vec<String> = order
        .fulfillments
        .iter()
        .flat_map(|f| f["lineItems"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l["lineItemId"].as_str().map(str::to_owned))
        .collect();
    let mut all = true;
    if let Some(items) = order.body["lineItems"].as_array_mut() {
        for item in items {
            let done = item["lineItemId"]
                .as_str()
                .is_some_and(|id| shipped_ids.iter().any(|s| s == id));
            item["lineItemFulfillmentStatus"] =
                json!(if done { "FULFILLED" } else { "NOT_STARTED" });
            all &= done;
        }
    }
    let location = format!(
        "{}/sell/fulfillment/v1/order/{order_id}/shipping_fulfillment/{fulfillment_id}",
        ebay.context.base_url
    );
    order.body["orderFulfillmentStatus"] = json!(if all { "FULFILLED" } else { "IN_PROGRESS" });
    order.body["lastModifiedDate"] = json!(ts(now));
    if let Some(hrefs) = order.body["fulfillmentHrefs"].as_array_mut() {
        hrefs.push(json!(location));
    }
    order.modified = now;
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

async fn list_fulfillments(
    State(ebay): State<Arc<Ebay>>,
    Path(order_id): Path<String>,
) -> Response {
    match ebay.state().orders.iter().find(|o| o.order_id == order_id) {
        Some(order) => Json(json!({
            "fulfillments": order.fulfillments,
            "total": order.fulfillments.len(),
            "warnings": [],
        }))
        .into_response(),
        None => order_not_found(&order_id),
    }
}

async fn get_fulfillment(
    State(ebay): State<Arc<Ebay>>,
    Path((order_id, fulfillment_id)): Path<(String, String)>,
) -> Response {
    let state = ebay.state();
    let Some(order) = state.orders.iter().find(|o| o.order_id == order_id) else {
        return order_not_found(&order_id);
    };
    match order
        .fulfillments
        .iter()
        .find(|f| f["fulfillmentId"] == fulfillment_id.as_str())
    {
        Some(f) => Json(f.clone()).into_response(),
        None => req(
            StatusCode::NOT_FOUND,
            32300,
            &format!("Invalid fulfillment ID: {fulfillment_id}"),
        ),
    }
}
