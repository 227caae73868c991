//! Users, shops, listings and listing inventory (`/v3/application/…`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::{bearer, body_fields};
use super::{CURRENCY, Etsy, Listing, Offering, Product, User, error, money};

const WHO_MADE: &[&str] = &["i_did", "someone_else", "collective"];
const WHEN_MADE: &[&str] = &[
    "made_to_order",
    "2020_2026",
    "2020_2025",
    "2010_2019",
    "2007_2009",
    "before_2007",
    "2000_2006",
    "1990s",
    "1980s",
    "1970s",
    "1960s",
    "1950s",
    "1940s",
    "1930s",
    "1920s",
    "1910s",
    "1900s",
    "1800s",
    "1700s",
    "before_1700",
];
const STATES: &[&str] = &["active", "inactive", "sold_out", "draft", "expired"];

pub fn id_param(value: &str, name: &str) -> Result<u64, Response> {
    value.parse::<u64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            format!("Expected int >= 1 for {name}, got \"{value}\""),
        )
    })
}

pub fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default()
}

/// The shop of the token's member; other shops are off limits.
pub fn own_shop(user: &User, shop_id: &str) -> Result<u64, Response> {
    let shop_id = id_param(shop_id, "shop_id")?;
    if shop_id != user.shop_id {
        return Err(error(
            StatusCode::FORBIDDEN,
            "You do not have permission to access this shop.",
        ));
    }
    Ok(shop_id)
}

/// A field as an integer: JSON number or numeric text (form posts).
fn int(fields: &Map<String, Value>, name: &str) -> Option<Result<i64, Response>> {
    let value = fields.get(name)?;
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    Some(parsed.ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("Expected int for {name}"))))
}

pub(super) fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn boolean(fields: &Map<String, Value>, name: &str) -> Option<bool> {
    match fields.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1")),
        Value::Number(n) => Some(n.as_i64() == Some(1)),
        _ => None,
    }
}

fn strings(fields: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match fields.get(name)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

pub(super) fn cents(price: f64) -> i64 {
    (price * 100.0).round() as i64
}

/// Etsy's ShopListing object.
pub fn listing_json(l: &Listing, base: &str) -> Value {
    json!({
        "listing_id": l.listing_id,
        "user_id": l.user_id,
        "shop_id": l.shop_id,
        "title": l.title,
        "description": l.description,
        "state": l.state,
        "creation_timestamp": l.created,
        "created_timestamp": l.created,
        "ending_timestamp": l.created + 120 * 86_400,
        "original_creation_timestamp": l.created,
        "last_modified_timestamp": l.updated,
        "updated_timestamp": l.updated,
        "state_timestamp": l.state_changed,
        "quantity": l.quantity(),
        "shop_section_id": null,
        "featured_rank": -1,
        "url": format!("{base}/listing/{}", l.listing_id),
        "num_favorers": 0,
        "non_taxable": false,
        "is_taxable": true,
        "is_customizable": false,
        "is_personalizable": false,
        "listing_type": "physical",
        "tags": l.tags,
        "materials": l.materials,
        "shipping_profile_id": l.shipping_profile_id,
        "return_policy_id": l.return_policy_id,
        "processing_min": null,
        "processing_max": null,
        "who_made": l.who_made,
        "when_made": l.when_made,
        "is_supply": l.is_supply,
        "should_auto_renew": l.should_auto_renew,
        "language": "en-US",
        "price": money(l.price()),
        "taxonomy_id": l.taxonomy_id,
        "has_variations": l.products.len() > 1,
        "skus": l.skus(),
        "views": 0,
    })
}

/// `GET /v3/application/openapi-ping`
pub async fn ping(State(etsy): State<Arc<Etsy>>) -> Response {
    let id: u64 = etsy.app().client_id.bytes().fold(7u64, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b))
    }) % 1_000_000;
    Json(json!({ "application_id": id })).into_response()
}

/// `GET /v3/application/users/me` (getMe; `shops_r`).
pub async fn get_me(State(etsy): State<Arc<Etsy>>, headers: HeaderMap) -> Response {
    match bearer(&etsy, &headers, "shops_r") {
        Ok(user) => {
            Json(json!({ "user_id": user.user_id, "shop_id": user.shop_id })).into_response()
        }
        Err(response) => response,
    }
}

/// `GET /v3/application/shops/{shop_id}` (getShop; API key only).
pub async fn get_shop(State(etsy): State<Arc<Etsy>>, Path(shop_id): Path<String>) -> Response {
    let shop_id = match id_param(&shop_id, "shop_id") {
        Ok(id) => id,
        Err(response) => return response,
    };
    let st = etsy.st();
    let Some(user) = st.user_by_shop(shop_id) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Shop with shop_id {shop_id} not found"),
        );
    };
    let active = st
        .listings
        .values()
        .filter(|l| l.shop_id == shop_id && l.state == "active")
        .count();
    Json(json!({
        "shop_id": user.shop_id,
        "user_id": user.user_id,
        "shop_name": user.shop_name,
        "create_date": user.created,
        "created_timestamp": user.created,
        "title": null,
        "currency_code": CURRENCY,
        "is_vacation": false,
        "listing_active_count": active,
        "url": format!("{}/shop/{}", etsy.context.base_url, user.shop_name),
        "login_name": user.login,
        "accepts_custom_requests": false,
        "transaction_sold_count": st.receipts.values().filter(|r| r.shop_id == shop_id).count(),
        "shipping_from_country_iso": "DE",
        "shop_location_country_iso": "DE",
        "is_shop_us_based": false,
    }))
    .into_response()
}

/// `POST /v3/application/shops/{shop_id}/listings` (createDraftListing; `listings_w`).
pub async fn create_listing(
    State(etsy): State<Arc<Etsy>>,
    Path(shop_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match bearer(&etsy, &headers, "listings_w") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let shop_id = match own_shop(&user, &shop_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Some(fields) = body_fields(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "Request body is malformed.");
    };
    for name in [
        "quantity",
        "title",
        "description",
        "price",
        "who_made",
        "when_made",
        "taxonomy_id",
    ] {
        let missing = match fields.get(name) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            _ => false,
        };
        if missing {
            return error(StatusCode::BAD_REQUEST, format!("{name} is required"));
        }
    }
    let quantity = match int(&fields, "quantity") {
        Some(Ok(q)) if (1..=999).contains(&q) => q,
        Some(Err(response)) => return response,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "quantity must be between 1 and 999",
            );
        }
    };
    let price = match fields.get("price").and_then(float) {
        Some(p) if (0.2..=50_000.0).contains(&p) => cents(p),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "price must be a number between 0.20 and 50000.00",
            );
        }
    };
    let taxonomy_id = match int(&fields, "taxonomy_id") {
        Some(Ok(t)) if t > 0 => t as u64,
        Some(Err(response)) => return response,
        _ => return error(StatusCode::BAD_REQUEST, "Expected int >= 1 for taxonomy_id"),
    };
    let who_made = fields.get("who_made").and_then(Value::as_str).unwrap_or("");
    if !WHO_MADE.contains(&who_made) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("who_made must be one of {}", WHO_MADE.join(", ")),
        );
    }
    let when_made = fields
        .get("when_made")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !WHEN_MADE.contains(&when_made) {
        return error(StatusCode::BAD_REQUEST, "when_made is not a valid value");
    }
    let title = fields
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    if title.chars().count() > 140 {
        return error(
            StatusCode::BAD_REQUEST,
            "title must be at most 140 characters",
        );
    }
    let optional_id = |name: &str| match int(&fields, name) {
        Some(Ok(v)) if v > 0 => Some(v as u64),
        _ => None,
    };
    let now = etsy.now();
    let mut st = etsy.st();
    let listing_id = st.id();
    let product_id = st.id();
    let offering_id = st.id();
    let listing = Listing {
        listing_id,
        shop_id,
        user_id: user.user_id,
        title,
        description: fields
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        state: "draft".into(),
        who_made: who_made.to_owned(),
        when_made: when_made.to_owned(),
        taxonomy_id,
        tags: strings(&fields, "tags").unwrap_or_default(),
        materials: strings(&fields, "materials").unwrap_or_default(),
        shipping_profile_id: optional_id("shipping_profile_id"),
        return_policy_id: optional_id("return_policy_id"),
        is_supply: boolean(&fields, "is_supply").unwrap_or(false),
        should_auto_renew: boolean(&fields, "should_auto_renew").unwrap_or(false),
        created: now,
        updated: now,
        state_changed: now,
        products: vec![Product {
            product_id,
            sku: String::new(),
            property_values: json!([]),
            offerings: vec![Offering {
                offering_id,
                price,
                quantity,
                is_enabled: true,
                readiness_state_id: optional_id("readiness_state_id"),
            }],
        }],
        price_on_property: Vec::new(),
        quantity_on_property: Vec::new(),
        sku_on_property: Vec::new(),
        readiness_state_on_property: Vec::new(),
    };
    let body = listing_json(&listing, &etsy.context.base_url);
    st.listings.insert(listing_id, listing);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `PATCH /v3/application/shops/{shop_id}/listings/{listing_id}` (updateListing; `listings_w`).
pub async fn update_listing(
    State(etsy): State<Arc<Etsy>>,
    Path((shop_id, listing_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match bearer(&etsy, &headers, "listings_w") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let shop_id = match own_shop(&user, &shop_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let listing_id = match id_param(&listing_id, "listing_id") {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Some(fields) = body_fields(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "Request body is malformed.");
    };
    let now = etsy.now();
    let mut st = etsy.st();
    let Some(listing) = st
        .listings
        .get_mut(&listing_id)
        .filter(|l| l.shop_id == shop_id)
    else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Listing with listing_id {listing_id} not found"),
        );
    };
    let mut updated = listing.clone();
    if let Some(title) = fields.get("title").and_then(Value::as_str) {
        if title.trim().is_empty() || title.chars().count() > 140 {
            return error(
                StatusCode::BAD_REQUEST,
                "title must be between 1 and 140 characters",
            );
        }
        updated.title = title.trim().to_owned();
    }
    if let Some(description) = fields.get("description").and_then(Value::as_str) {
        updated.description = description.to_owned();
    }
    if let Some(who_made) = fields.get("who_made").and_then(Value::as_str) {
        if !WHO_MADE.contains(&who_made) {
            return error(StatusCode::BAD_REQUEST, "who_made is not a valid value");
        }
        updated.who_made = who_made.to_owned();
    }
    if let Some(when_made) = fields.get("when_made").and_then(Value::as_str) {
        if !WHEN_MADE.contains(&when_made) {
            return error(StatusCode::BAD_REQUEST, "when_made is not a valid value");
        }
        updated.when_made = when_made.to_owned();
    }
    match int(&fields, "taxonomy_id") {
        Some(Ok(t)) if t > 0 => updated.taxonomy_id = t as u64,
        Some(_) => return error(StatusCode::BAD_REQUEST, "Expected int >= 1 for taxonomy_id"),
        None => {}
    }
    if let Some(Ok(id)) = int(&fields, "shipping_profile_id") {
        updated.shipping_profile_id = u64::try_from(id).ok().filter(|v| *v > 0);
    }
    if let Some(tags) = strings(&fields, "tags") {
        updated.tags = tags;
    }
    if let Some(materials) = strings(&fields, "materials") {
        updated.materials = materials;
    }
    if let Some(is_supply) = boolean(&fields, "is_supply") {
        updated.is_supply = is_supply;
    }
    if let Some(renew) = boolean(&fields, "should_auto_renew") {
        updated.should_auto_renew = renew;
    }
    if let Some(state) = fields.get("state").and_then(Value::as_str) {
        if !matches!(state, "active" | "inactive") {
            return error(
                StatusCode::BAD_REQUEST,
                "state must be one of active, inactive",
            );
        }
        if state == "active" && updated.quantity() <= 0 {
            return error(
                StatusCode::BAD_REQUEST,
                "A listing must have a quantity greater than 0 to be active.",
            );
        }
        if updated.state != state {
            updated.state = state.to_owned();
            updated.state_changed = now;
        }
    }
    updated.updated = now;
    *listing = updated;
    Json(listing_json(listing, &etsy.context.base_url)).into_response()
}

/// `GET /v3/application/listings/{listing_id}` (getListing).
pub async fn get_listing(
    State(etsy): State<Arc<Etsy>>,
    Path(listing_id): Path<String>,
) -> Response {
    let listing_id = match id_param(&listing_id, "listing_id") {
        Ok(id) => id,
        Err(response) => return response,
    };
    let st = etsy.st();
    match st.listings.get(&listing_id) {
        Some(l) => Json(listing_json(l, &etsy.context.base_url)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("Listing with listing_id {listing_id} not found"),
        ),
    }
}

/// `GET /v3/application/shops/{shop_id}/listings` (getListingsByShop; `listings_r`).
pub async fn shop_listings(
    State(etsy): State<Arc<Etsy>>,
    Path(shop_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let user = match bearer(&etsy, &headers, "listings_r") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let shop_id = match own_shop(&user, &shop_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let query = query_pairs(raw);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let state = get("state").unwrap_or("active");
    if !STATES.contains(&state) {
        return error(StatusCode::BAD_REQUEST, "state is not a valid value");
    }
    let (limit, offset) = match page_params(get("limit"), get("offset")) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let st = etsy.st();
    let mut matching: Vec<&Listing> = st
        .listings
        .values()
        .filter(|l| l.shop_id == shop_id && l.state == state)
        .collect();
    matching.sort_by_key(|l| std::cmp::Reverse((l.created, l.listing_id)));
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|l| listing_json(l, &etsy.context.base_url))
        .collect();
    Json(json!({ "count": matching.len(), "results": results })).into_response()
}

/// `limit` (1–100, default 25) and `offset` (≥ 0).
pub fn page_params(limit: Option<&str>, offset: Option<&str>) -> Result<(usize, usize), Response> {
    let limit = match limit {
        None => 25,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "limit must be an integer between 1 and 100",
                ));
            }
        },
    };
    let offset = match offset {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| error(StatusCode::BAD_REQUEST, "offset must be an integer >= 0"))?,
    };
    Ok((limit, offset))
}
