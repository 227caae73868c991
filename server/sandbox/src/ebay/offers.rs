//! Sell Inventory API offers: create, read, replace, delete, publish and withdraw, and the bulk
//! price and quantity update.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Ebay;
use super::errors::{self, Api, entry};
use super::inventory::{
    BULK_MAX, Item, Offer, Page, bad_sku, content_language, item_not_found, json_object,
    offer_not_found, page_links, paging, req, valid_sku,
};

fn valid_price(price: &Value) -> bool {
    let value = price.get("value").and_then(Value::as_str).unwrap_or("");
    let currency = price.get("currency").and_then(Value::as_str).unwrap_or("");
    currency.len() == 3
        && value.parse::<f64>().is_ok_and(|v| v > 0.0 && v.is_finite())
        && value.split('.').nth(1).is_none_or(|d| d.len() <= 2)
}

fn check_offer(body: &Value) -> Vec<Value> {
    let mut errs = Vec::new();
    let mut bad = |field: &str| {
        errs.push(entry(
            25709,
            "API_INVENTORY",
            "REQUEST",
            &format!("Invalid value for {field}."),
            None,
            &[],
        ));
    };
    if body.get("marketplaceId").and_then(Value::as_str).is_none() {
        bad("marketplaceId");
    }
    if !matches!(
        body.get("format").and_then(Value::as_str),
        Some("FIXED_PRICE" | "AUCTION")
    ) {
        bad("format");
    }
    if let Some(q) = body.get("availableQuantity")
        && q.as_u64().is_none()
    {
        bad("availableQuantity");
    }
    if let Some(price) = body.pointer("/pricingSummary/price")
        && !valid_price(price)
    {
        bad("pricingSummary.price");
    }
    errs
}

pub(super) async fn create_offer(
    State(ebay): State<Arc<Ebay>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = content_language(&headers) {
        return r;
    }
    let mut body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let sku = body
        .get("sku")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !valid_sku(&sku) {
        return bad_sku();
    }
    let errs = check_offer(&body);
    if !errs.is_empty() {
        return errors::errors(StatusCode::BAD_REQUEST, errs);
    }
    let marketplace = body["marketplaceId"].as_str().unwrap_or("").to_owned();
    let mut state = ebay.state();
    if !state.items.contains_key(&sku) {
        return errors::request_with(
            StatusCode::BAD_REQUEST,
            Api::Inventory,
            25702,
            &format!("SKU {sku} is not available in the system"),
            &[("sku", &sku)],
        );
    }
    if let Some(existing) = state
        .offers
        .values()
        .find(|o| o.sku == sku && o.body["marketplaceId"] == marketplace.as_str())
    {
        let id = existing.offer_id.clone();
        return errors::request_with(
            StatusCode::BAD_REQUEST,
            Api::Inventory,
            25002,
            "A user error has occurred. Offer entity already exists.",
            &[("offerId", &id)],
        );
    }
    let offer_id = format!("{}", 5_000_000_000u64 + state.next());
    if let Value::Object(map) = &mut body {
        for k in ["offerId", "status", "listing", "sku"] {
            map.remove(k);
        }
    }
    state.offers.insert(
        offer_id.clone(),
        Offer {
            offer_id: offer_id.clone(),
            sku,
            body,
            status: "UNPUBLISHED".into(),
            listing_id: None,
        },
    );
    (StatusCode::CREATED, Json(json!({ "offerId": offer_id }))).into_response()
}

pub(super) async fn list_offers(
    State(ebay): State<Arc<Ebay>>,
    Query(page): Query<Page>,
) -> Response {
    let (limit, offset) = match paging(&page, 25, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(sku) = page.sku.clone().filter(|s| !s.is_empty()) else {
        return req(StatusCode::BAD_REQUEST, 25709, "Invalid value for sku.");
    };
    let state = ebay.state();
    if !state.items.contains_key(&sku) {
        return item_not_found();
    }
    let all: Vec<&Offer> = state.offers.values().filter(|o| o.sku == sku).collect();
    let total = all.len() as u64;
    let offers: Vec<Value> = all
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(Offer::to_json)
        .collect();
    let url = format!("{}/sell/inventory/v1/offer", ebay.context.base_url);
    let extra = format!(
        "sku={}&",
        percent_encoding::utf8_percent_encode(&sku, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut out = page_links(&url, &extra, limit, offset, total);
    out["size"] = json!(offers.len());
    out["offers"] = json!(offers);
    Json(out).into_response()
}

pub(super) async fn get_offer(
    State(ebay): State<Arc<Ebay>>,
    Path(offer_id): Path<String>,
) -> Response {
    match ebay.state().offers.get(&offer_id) {
        Some(offer) => Json(offer.to_json()).into_response(),
        None => offer_not_found(),
    }
}

/// `PUT /offer/{offerId}` replaces the offer (a published one revises its listing).
pub(super) async fn update_offer(
    State(ebay): State<Arc<Ebay>>,
    Path(offer_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = content_language(&headers) {
        return r;
    }
    let mut body = match json_object(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut state = ebay.state();
    let Some(offer) = state.offers.get_mut(&offer_id) else {
        return offer_not_found();
    };
    if body.get("marketplaceId").is_none() {
        body["marketplaceId"] = offer.body["marketplaceId"].clone();
    }
    let errs = check_offer(&body);
    if !errs.is_empty() {
        return errors::errors(StatusCode::BAD_REQUEST, errs);
    }
    if let Value::Object(map) = &mut body {
        for k in ["offerId", "status", "listing", "sku"] {
            map.remove(k);
        }
    }
    offer.body = body;
    (
        StatusCode::OK,
        Json(json!({ "offerId": offer_id, "warnings": [] })),
    )
        .into_response()
}

pub(super) async fn delete_offer(
    State(ebay): State<Arc<Ebay>>,
    Path(offer_id): Path<String>,
) -> Response {
    match ebay.state().offers.remove(&offer_id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => offer_not_found(),
    }
}

/// What publishing needs, each missing piece one error entry (eBay lists them all at once).
fn publish_errors(offer: &Offer, item: Option<&Item>) -> Vec<Value> {
    let mut errs = Vec::new();
    let mut add = |id: u64, message: &str, param: &str| {
        errs.push(entry(
            id,
            "API_INVENTORY",
            "REQUEST",
            message,
            None,
            &[("field", param)],
        ));
    };
    let Some(item) = item else {
        add(
            25702,
            "A user error has occurred. The SKU of this offer is not available in the system.",
            "sku",
        );
        return errs;
    };
    if item.title().is_empty() {
        add(
            25002,
            "A user error has occurred. No <Item.Title> exists or <Item.Title> is specified as an empty tag in the request.",
            "product.title",
        );
    }
    let description = item
        .body
        .pointer("/product/description")
        .or_else(|| offer.body.get("listingDescription"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if description.is_empty() {
        add(
            25016,
            "A user error has occurred. A description is required (product.description or listingDescription).",
            "listingDescription",
        );
    }
    if offer
        .body
        .get("categoryId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        add(
            25005,
            "The category ID you entered is invalid. Please provide a valid category ID.",
            "categoryId",
        );
    }
    if !offer
        .body
        .pointer("/pricingSummary/price")
        .is_some_and(valid_price)
    {
        add(
            25020,
            "Invalid price. Please enter a valid price.",
            "pricingSummary.price",
        );
    }
    let policy = |name: &str| {
        offer
            .body
            .pointer(&format!("/listingPolicies/{name}"))
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    if !policy("fulfillmentPolicyId") {
        add(
            25007,
            "Please add at least one valid shipping service option to your listing.",
            "listingPolicies.fulfillmentPolicyId",
        );
    }
    if !policy("paymentPolicyId") {
        add(
            25008,
            "Please add at least one valid payment method to your listing.",
            "listingPolicies.paymentPolicyId",
        );
    }
    if !policy("returnPolicyId") {
        add(
            25009,
            "Please add a valid return policy to your listing.",
            "listingPolicies.returnPolicyId",
        );
    }
    if offer
        .body
        .get("merchantLocationKey")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        add(
            25002,
            "A user error has occurred. No <Item.Country> exists or <Item.Country> is specified as an empty tag in the request.",
            "merchantLocationKey",
        );
    }
    let quantity = offer
        .body
        .get("availableQuantity")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| item.quantity());
    if quantity == 0 {
        add(
            25021,
            "Invalid quantity. The quantity must be a whole number greater than 0.",
            "availableQuantity",
        );
    }
    errs
}

pub(super) async fn publish(
    State(ebay): State<Arc<Ebay>>,
    Path(offer_id): Path<String>,
) -> Response {
    let mut state = ebay.state();
    let Some(offer) = state.offers.get(&offer_id) else {
        return offer_not_found();
    };
    let errs = publish_errors(offer, state.items.get(&offer.sku));
    if !errs.is_empty() {
        return errors::errors(StatusCode::BAD_REQUEST, errs);
    }
    let listing_id = match &offer.listing_id {
        Some(id) => id.clone(),
        None => format!("{}", 110_000_000_000u64 + state.next() * 7919),
    };
    if let Some(offer) = state.offers.get_mut(&offer_id) {
        offer.status = "PUBLISHED".into();
        offer.listing_id = Some(listing_id.clone());
    }
    Json(json!({ "listingId": listing_id, "warnings": [] })).into_response()
}

pub(super) async fn withdraw(
    State(ebay): State<Arc<Ebay>>,
    Path(offer_id): Path<String>,
) -> Response {
    let mut state = ebay.state();
    let Some(offer) = state.offers.get_mut(&offer_id) else {
        return offer_not_found();
    };
    let Some(listing_id) = offer.listing_id.take() else {
        return req(
            StatusCode::BAD_REQUEST,
            25713,
            "This Offer is not available.",
        );
    };
    offer.status = "UNPUBLISHED".into();
    Json(json!({ "listingId": listing_id, "warnings": [] })).into_response()
}

/// `POST /bulk_update_price_quantity`: up to 25 SKUs, each with the ship-to quantity and/or
/// offers' price and quantity. One response entry per offer (or per SKU when no offer is named).
pub(super) async fn bulk_update(State(ebay): State<Arc<Ebay>>, body: Bytes) -> Response {
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
    let mut responses = Vec::new();
    let mut all_ok = true;
    let mut state = ebay.state();
    for request in requests {
        let sku = request
            .get("sku")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mut fail = |responses: &mut Vec<Value>,
                        offer_id: Option<&str>,
                        id: u64,
                        message: &str| {
            all_ok = false;
            let mut r = json!({ "statusCode": 400, "sku": sku, "errors": [entry(id, "API_INVENTORY", "REQUEST", message, None, &[])], "warnings": [] });
            if let Some(o) = offer_id {
                r["offerId"] = json!(o);
            }
            responses.push(r);
        };
        if !state.items.contains_key(&sku) {
            fail(
                &mut responses,
                None,
                25702,
                &format!("SKU {sku} is not available in the system"),
            );
            continue;
        }
        if let Some(q) = request.pointer("/shipToLocationAvailability/quantity") {
            match q.as_u64() {
                Some(q) => {
                    if let Some(item) = state.items.get_mut(&sku) {
                        item.set_quantity(q);
                    }
                }
                None => {
                    fail(
                        &mut responses,
                        None,
                        25709,
                        "Invalid value for shipToLocationAvailability.quantity.",
                    );
                    continue;
                }
            }
        }
        let offers = request
            .get("offers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if offers.is_empty() {
            responses.push(json!({ "statusCode": 200, "sku": sku, "errors": [], "warnings": [] }));
        }
        for o in offers {
            let offer_id = o.get("offerId").and_then(Value::as_str).unwrap_or("");
            let price_ok = o.get("price").is_none_or(valid_price);
            let qty_ok = o
                .get("availableQuantity")
                .is_none_or(|q| q.as_u64().is_some());
            match state.offers.get_mut(offer_id) {
                Some(offer) if offer.sku == sku && price_ok && qty_ok => {
                    if let Some(price) = o.get("price") {
                        offer.body["pricingSummary"]["price"] = price.clone();
                    }
                    if let Some(q) = o.get("availableQuantity") {
                        offer.body["availableQuantity"] = q.clone();
                    }
                    responses.push(json!({ "statusCode": 200, "sku": sku, "offerId": offer_id, "errors": [], "warnings": [] }));
                }
                Some(offer) if offer.sku == sku && !price_ok => {
                    fail(
                        &mut responses,
                        Some(offer_id),
                        25020,
                        "Invalid price. Please enter a valid price.",
                    );
                }
                Some(offer) if offer.sku == sku => {
                    fail(
                        &mut responses,
                        Some(offer_id),
                        25709,
                        "Invalid value for availableQuantity.",
                    );
                }
                _ => fail(
                    &mut responses,
                    Some(offer_id),
                    25713,
                    "This Offer is not available.",
                ),
            }
        }
    }
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    (status, Json(json!({ "responses": responses }))).into_response()
}
