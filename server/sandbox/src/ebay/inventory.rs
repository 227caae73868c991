//! Sell Inventory API `/sell/inventory/v1`: inventory items by SKU, offers, publishing, and the
//! bulk price and quantity update.
//!
//! Error ids follow the Inventory API's error table as far as it is known; where an id was not
//! verifiable ([U]) the nearest documented one is used (25709 for a missing `Content-Language`,
//! 25727 for more than 25 requests in a bulk call).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ebay;
use super::errors::{self, Api, entry};

pub(super) const BULK_MAX: usize = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub locale: String,
    /// The item as last PUT (product, condition, availability, package…).
    pub body: Value,
}

impl Item {
    pub fn quantity(&self) -> u64 {
        self.body
            .pointer("/availability/shipToLocationAvailability/quantity")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    pub fn set_quantity(&mut self, quantity: u64) {
        if !self.body.is_object() {
            self.body = json!({});
        }
        let availability = &mut self.body["availability"];
        if !availability.is_object() {
            *availability = json!({});
        }
        availability["shipToLocationAvailability"]["quantity"] = json!(quantity);
    }

    pub fn title(&self) -> &str {
        self.body
            .pointer("/product/title")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn to_json(&self) -> Value {
        let mut out = self.body.clone();
        out["sku"] = json!(self.sku);
        out["locale"] = json!(self.locale);
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub offer_id: String,
    pub sku: String,
    pub body: Value,
    /// `UNPUBLISHED` or `PUBLISHED`.
    pub status: String,
    pub listing_id: Option<String>,
}

impl Offer {
    pub fn price(&self) -> (String, String) {
        let price = self.body.pointer("/pricingSummary/price");
        let get = |k: &str| {
            price
                .and_then(|p| p.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        (get("value"), get("currency"))
    }

    pub fn to_json(&self) -> Value {
        let mut out = self.body.clone();
        out["offerId"] = json!(self.offer_id);
        out["sku"] = json!(self.sku);
        out["status"] = json!(self.status);
        if let Some(listing_id) = &self.listing_id {
            out["listing"] =
                json!({ "listingId": listing_id, "listingStatus": "ACTIVE", "soldQuantity": 0 });
        }
        out
    }
}

pub fn routes() -> Router<Arc<Ebay>> {
    Router::new()
        .route(
            "/sell/inventory/v1/inventory_item/{sku}",
            get(get_item).put(put_item).delete(delete_item),
        )
        .route("/sell/inventory/v1/inventory_item", get(list_items))
        .route(
            "/sell/inventory/v1/bulk_create_or_replace_inventory_item",
            post(bulk_create),
        )
        .route(
            "/sell/inventory/v1/offer",
            post(super::offers::create_offer).get(super::offers::list_offers),
        )
        .route(
            "/sell/inventory/v1/offer/{offer_id}",
            get(super::offers::get_offer)
                .put(super::offers::update_offer)
                .delete(super::offers::delete_offer),
        )
        .route(
            "/sell/inventory/v1/offer/{offer_id}/publish",
            post(super::offers::publish),
        )
        .route(
            "/sell/inventory/v1/offer/{offer_id}/withdraw",
            post(super::offers::withdraw),
        )
        .route(
            "/sell/inventory/v1/bulk_update_price_quantity",
            post(super::offers::bulk_update),
        )
}

pub(super) fn req(status: StatusCode, id: u64, message: &str) -> Response {
    errors::request(status, Api::Inventory, id, message)
}

pub(super) fn item_not_found() -> Response {
    req(
        StatusCode::NOT_FOUND,
        25710,
        "We didn't find the entity you are requesting. Please verify the request",
    )
}

pub(super) fn offer_not_found() -> Response {
    req(StatusCode::NOT_FOUND, 25713, "This Offer is not available.")
}

pub(super) fn valid_sku(sku: &str) -> bool {
    !sku.is_empty()
        && sku.chars().count() <= 50
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn bad_sku() -> Response {
    req(
        StatusCode::BAD_REQUEST,
        25707,
        "This is an invalid value for a SKU. Only alphanumeric characters can be used for SKUs, and their length must not exceed 50 characters",
    )
}

/// The `Content-Language` header the write calls require, as eBay's locale (`en-US` → `en_US`).
// Handlers answer a failed check with the finished error response.
#[allow(clippy::result_large_err)]
pub(super) fn content_language(headers: &HeaderMap) -> Result<String, Response> {
    let value = headers
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let ok = value.len() == 5
        && value.as_bytes()[2] == b'-'
        && value[..2].chars().all(|c| c.is_ascii_lowercase())
        && value[3..].chars().all(|c| c.is_ascii_uppercase());
    if ok {
        Ok(value.replace('-', "_"))
    } else {
        Err(errors::request_with(
            StatusCode::BAD_REQUEST,
            Api::Inventory,
            25709,
            "Invalid value for header Content-Language.",
            &[("header", "Content-Language")],
        ))
    }
}

// Handlers answer a failed check with the finished error response.
#[allow(clippy::result_large_err)]
pub fn json_object(body: &Bytes) -> Result<Value, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(errors::bad_body("the body must be a JSON object")),
        Err(e) => Err(errors::bad_body(&e.to_string())),
    }
}

/// Checks an item body; returns its error entries.
fn check_item(body: &Value) -> Vec<Value> {
    let mut errs = Vec::new();
    if let Some(q) = body.pointer("/availability/shipToLocationAvailability/quantity")
        && q.as_u64().is_none()
    {
        errs.push(entry(
            25709,
            "API_INVENTORY",
            "REQUEST",
            "Invalid value for availability.shipToLocationAvailability.quantity.",
            None,
            &[],
        ));
    }
    if let Some(title) = body.pointer("/product/title")
        && title.as_str().is_none_or(|t| t.chars().count() > 80)
    {
        errs.push(entry(
            25709,
            "API_INVENTORY",
            "REQUEST",
            "Invalid value for product.title. The title must be text of at most 80 characters.",
            None,
            &[],
        ));
    }
    errs
}

async fn put_item(
    State(ebay): State<Arc<Ebay>>,
    Path(sku): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !valid_sku(&sku) {
        return bad_sku();
    }
    let locale = match content_language(&headers) {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let errs = check_item(&body);
    if !errs.is_empty() {
        return errors::errors(StatusCode::BAD_REQUEST, errs);
    }
    if let Value::Object(map) = &mut body {
        map.remove("sku");
        map.remove("locale");
    }
    let created = {
        let mut state = ebay.state();
        let created = !state.items.contains_key(&sku);
        state.items.insert(sku.clone(), Item { sku, locale, body });
        created
    };
    let status = if created {
        StatusCode::from_u16(ebay.options().inventory_create_status)
            .unwrap_or(StatusCode::NO_CONTENT)
    } else {
        StatusCode::NO_CONTENT
    };
    status.into_response()
}

async fn get_item(State(ebay): State<Arc<Ebay>>, Path(sku): Path<String>) -> Response {
    match ebay.state().items.get(&sku) {
        Some(item) => Json(item.to_json()).into_response(),
        None => item_not_found(),
    }
}

async fn delete_item(State(ebay): State<Arc<Ebay>>, Path(sku): Path<String>) -> Response {
    let mut state = ebay.state();
    if state.items.remove(&sku).is_none() {
        return item_not_found();
    }
    // Deleting an item deletes its offers and ends their listings.
    state.offers.retain(|_, o| o.sku != sku);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct Page {
    pub(super) limit: Option<String>,
    pub(super) offset: Option<String>,
    pub(super) sku: Option<String>,
}

// Handlers answer a failed check with the finished error response.
#[allow(clippy::result_large_err)]
pub(super) fn paging(page: &Page, default: u64, max: u64) -> Result<(u64, u64), Response> {
    let limit = match page.limit.as_deref() {
        None => default,
        Some(l) => match l.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(req(
                    StatusCode::BAD_REQUEST,
                    25709,
                    "Invalid value for limit.",
                ));
            }
        },
    };
    let offset = match page.offset.as_deref() {
        None => 0,
        Some(o) => match o.parse::<u64>() {
            Ok(n) => n,
            _ => {
                return Err(req(
                    StatusCode::BAD_REQUEST,
                    25709,
                    "Invalid value for offset.",
                ));
            }
        },
    };
    Ok((limit, offset))
}

/// `href`, `next`, `prev` as full URLs, as eBay gives them.
pub fn page_links(url: &str, extra: &str, limit: u64, offset: u64, total: u64) -> Value {
    let link = |o: u64| format!("{url}?{extra}limit={limit}&offset={o}");
    let mut out = json!({ "href": link(offset), "limit": limit, "offset": offset, "total": total });
    if offset + limit < total {
        out["next"] = json!(link(offset + limit));
    }
    if offset > 0 {
        out["prev"] = json!(link(offset.saturating_sub(limit)));
    }
    out
}

async fn list_items(State(ebay): State<Arc<Ebay>>, Query(page): Query<Page>) -> Response {
    let (limit, offset) = match paging(&page, 25, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let state = ebay.state();
    let total = state.items.len() as u64;
    let items: Vec<Value> = state
        .items
        .values()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(Item::to_json)
        .collect();
    let url = format!("{}/sell/inventory/v1/inventory_item", ebay.context.base_url);
    let mut out = page_links(&url, "", limit, offset, total);
    out["size"] = json!(items.len());
    out["inventoryItems"] = json!(items);
    Json(out).into_response()
}

async fn bulk_create(State(ebay): State<Arc<Ebay>>, headers: HeaderMap, body: Bytes) -> Response {
    let body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(requests) = body.get("requests").and_then(Value::as_array) else {
        return req(
            StatusCode::BAD_REQUEST,
            25709,
            "Invalid value for requests.",
        );
    };
    if requests.len() > BULK_MAX {
        return req(
            StatusCode::BAD_REQUEST,
            25727,
            "The number of InventoryItems in the request cannot exceed 25.",
        );
    }
    // Each request may carry its own locale; the header is needed when one does not.
    let default_locale = match content_language(&headers) {
        Ok(l) => Some(l),
        Err(r) if requests.iter().any(|r| r.get("locale").is_none()) => return r,
        Err(_) => None,
    };
    let mut responses = Vec::new();
    let mut all_ok = true;
    let mut state = ebay.state();
    for request in requests {
        let sku = request.get("sku").and_then(Value::as_str).unwrap_or("");
        let locale = request
            .get("locale")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| default_locale.clone())
            .unwrap_or_default();
        let mut errs = check_item(request);
        if !valid_sku(sku) {
            errs.push(entry(25707, "API_INVENTORY", "REQUEST", "This is an invalid value for a SKU. Only alphanumeric characters can be used for SKUs, and their length must not exceed 50 characters", None, &[]));
        }
        if errs.is_empty() {
            let mut item_body = request.clone();
            if let Value::Object(map) = &mut item_body {
                map.remove("sku");
                map.remove("locale");
            }
            state.items.insert(
                sku.to_owned(),
                Item {
                    sku: sku.to_owned(),
                    locale: locale.clone(),
                    body: item_body,
                },
            );
            responses.push(json!({ "statusCode": 200, "sku": sku, "locale": locale }));
        } else {
            all_ok = false;
            responses
                .push(json!({ "statusCode": 400, "sku": sku, "locale": locale, "errors": errs }));
        }
    }
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, Json(json!({ "responses": responses }))).into_response()
}
