//! Product data and units (offers), plus small reference endpoints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{error, field_error, json_body, not_found, param, query_pairs};
use super::{Kaufland, ProductData, STOREFRONTS, Unit, currency, lock};
use crate::common::html::{Lang, escape, page};

pub const LOCALES: &[&str] = &[
    "de-DE", "cs-CZ", "sk-SK", "pl-PL", "de-AT", "fr-FR", "it-IT", "es-ES", "nl-NL", "en-GB",
];
/// Unit conditions as the v2 API spells them.
const CONDITIONS: &[&str] = &[
    "NEW",
    "USED___AS_NEW",
    "USED___VERY_GOOD",
    "USED___GOOD",
    "USED___ACCEPTABLE",
];
/// [U] Unit statuses; the full enum is not in the material we could read.
const UNIT_STATUSES: &[&str] = &["available", "not_available"];
/// A subset of Kaufland's carrier codes (`GET /v2/carriers`).
pub const CARRIERS: &[&str] = &[
    "DHL",
    "DHL_2MH",
    "DHL_Express",
    "DHL_Freight",
    "DPD",
    "GLS",
    "Hermes",
    "Hermes_2MH",
    "UPS",
    "FedEx",
    "TNT",
    "GEL",
    "Deutsche_Post",
    "Iloxx",
    "Trans_o_Flex",
    "DB_Schenker",
    "Rhenus",
    "Dachser",
    "Kuehne_Nagel",
    "Spedition",
    "Liefery",
    "PostNL",
    "Post_AT",
    "Packeta",
    "Ceska_Posta",
    "Slovenska_Posta",
    "InPost",
    "Poczta_Polska",
    "Colissimo",
    "Chronopost",
    "BRT",
    "SDA",
    "Poste_Italiane",
    "Correos",
    "Seur",
    "MRW",
    "Other",
];

pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `storefront` from the query: required where the API requires it, validated always.
pub fn storefront(
    pairs: &[(String, String)],
    required: bool,
) -> Result<Option<String>, Box<Response>> {
    match param(pairs, "storefront") {
        Some(s) if STOREFRONTS.iter().any(|(k, _)| *k == s) => Ok(Some(s.to_owned())),
        Some(_) => Err(Box::new(field_error(
            "storefront",
            "must be one of de, cz, sk, pl, at, fr, it, es, nl",
        ))),
        None if required => Err(Box::new(field_error("storefront", "is required"))),
        None => Ok(None),
    }
}

/// `limit` (default 30, at most 100) and `offset`.
pub fn paging(pairs: &[(String, String)]) -> Result<(usize, usize), Box<Response>> {
    let limit = match param(pairs, "limit") {
        None => 30,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(Box::new(field_error(
                    "limit",
                    "must be an integer between 1 and 100",
                )));
            }
        },
    };
    let offset = match param(pairs, "offset") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| Box::new(field_error("offset", "must be a non-negative integer")))?,
    };
    Ok((offset, limit))
}

/// The list envelope.
pub fn list(items: Vec<Value>, offset: usize, limit: usize, total: usize) -> Response {
    Json(json!({
        "data": items,
        "pagination": { "offset": offset, "limit": limit, "total": total },
    }))
    .into_response()
}

pub async fn ping() -> Json<Value> {
    Json(json!({ "message": "pong" }))
}

/// `GET /v2/info/storefront`: the storefronts the seller has created in the seller portal
/// (signed like every call, so it proves the keys). The sandbox seller has the German one, plus
/// every storefront it has units in.
pub async fn storefronts(State(k): State<Arc<Kaufland>>) -> Json<Value> {
    let mut storefronts = vec!["de".to_owned()];
    storefronts.extend(lock(&k.state).units.values().map(|u| u.storefront.clone()));
    storefronts.sort();
    storefronts.dedup();
    Json(json!({ "data": storefronts }))
}

pub async fn carriers() -> Json<Value> {
    let data: Vec<Value> = CARRIERS
        .iter()
        .map(|c| json!({ "carrier_code": c }))
        .collect();
    Json(json!({ "data": data }))
}

pub async fn unknown() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn valid_ean(ean: &str) -> bool {
    (8..=15).contains(&ean.len()) && ean.bytes().all(|b| b.is_ascii_digit())
}

pub fn title_of(product: &ProductData) -> Option<String> {
    product
        .attributes
        .get("title")
        .and_then(|t| t.get(0).or(Some(t)))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[derive(Deserialize)]
struct ProductDataBody {
    ean: Vec<String>,
    attributes: serde_json::Map<String, Value>,
}

/// `PUT /v2/product-data?locale=de-DE`: creates or replaces the seller's product data per EAN.
pub async fn put_product_data(State(k): State<Arc<Kaufland>>, uri: Uri, body: Bytes) -> Response {
    let pairs = query_pairs(uri.query());
    let locale = match param(&pairs, "locale") {
        Some(l) if LOCALES.contains(&l) => l.to_owned(),
        Some(_) => return field_error("locale", "is not a supported locale"),
        None => return field_error("locale", "is required"),
    };
    let body: ProductDataBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if body.ean.is_empty() || !body.ean.iter().all(|e| valid_ean(e)) {
        return field_error("ean", "must be a list of EANs with 8 to 15 digits");
    }
    if let Some((name, _)) = body
        .attributes
        .iter()
        .find(|(_, v)| !(v.is_array() || v.is_object()))
    {
        return field_error(name, "attribute values must be lists");
    }
    let now = k.context.controls.clock.now();
    let data = {
        let mut state = lock(&k.state);
        let id_product = match state.products.get(&body.ean[0]) {
            Some(p) => p.id_product,
            None => state.next(),
        };
        let product = ProductData {
            id_product,
            ean: body.ean.clone(),
            locale,
            attributes: body.attributes,
            updated_at: now,
        };
        for ean in &body.ean {
            state.products.insert(ean.clone(), product.clone());
        }
        product_json(&product)
    };
    let status =
        StatusCode::from_u16(k.options().product_data_status).unwrap_or(StatusCode::ACCEPTED);
    (status, Json(json!({ "data": data }))).into_response()
}

fn product_json(p: &ProductData) -> Value {
    json!({ "ean": p.ean, "attributes": p.attributes })
}

pub async fn get_product_data(State(k): State<Arc<Kaufland>>, Path(ean): Path<String>) -> Response {
    let state = lock(&k.state);
    match state.products.get(&ean) {
        Some(p) => Json(json!({ "data": product_json(p) })).into_response(),
        None => not_found("Product data"),
    }
}

pub fn unit_json(u: &Unit) -> Value {
    json!({
        "id_unit": u.id_unit,
        "id_product": u.id_product,
        "id_offer": u.id_offer,
        "ean": u.ean,
        "status": u.status,
        "condition": u.condition,
        "currency": currency(&u.storefront),
        "listing_price": u.listing_price,
        "minimum_price": u.minimum_price,
        "price": u.listing_price,
        "amount": u.amount,
        "note": u.note,
        "handling_time": u.handling_time,
        "id_shipping_group": u.id_shipping_group,
        "id_warehouse": u.id_warehouse,
        "shipping_rate": 0,
        "transport_time_min": 1,
        "transport_time_max": 3,
        "storefront": u.storefront,
        "fulfillment_type": "fulfilled_by_merchant",
        "vat_indicator": u.vat_indicator,
        "date_inserted_iso": iso(u.date_inserted),
        "date_lastchange_iso": iso(u.date_lastchange),
    })
}

#[derive(Deserialize)]
struct NewUnit {
    ean: Option<String>,
    id_product: Option<u64>,
    condition: Option<String>,
    listing_price: Option<i64>,
    minimum_price: Option<i64>,
    amount: Option<i64>,
    note: Option<String>,
    handling_time: Option<i64>,
    id_shipping_group: Option<u64>,
    id_warehouse: Option<u64>,
    id_offer: Option<String>,
    vat_indicator: Option<String>,
}

fn condition(given: Option<&str>) -> Result<String, Box<Response>> {
    let c = given.unwrap_or("NEW").to_ascii_uppercase();
    if CONDITIONS.contains(&c.as_str()) {
        Ok(c)
    } else {
        Err(Box::new(field_error(
            "condition",
            "is not a valid condition",
        )))
    }
}

/// `POST /v2/units?storefront=de`.
pub async fn create_unit(State(k): State<Arc<Kaufland>>, uri: Uri, body: Bytes) -> Response {
    let pairs = query_pairs(uri.query());
    let storefront = match storefront(&pairs, true) {
        Ok(s) => s.unwrap_or_default(),
        Err(r) => return *r,
    };
    let new: NewUnit = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let condition = match condition(new.condition.as_deref()) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let Some(listing_price) = new.listing_price.filter(|p| *p > 0) else {
        return field_error(
            "listing_price",
            "is required and must be a positive integer in cents",
        );
    };
    let minimum_price = new.minimum_price.unwrap_or(listing_price);
    if minimum_price <= 0 || minimum_price > listing_price {
        return field_error(
            "minimum_price",
            "must be positive and not above listing_price",
        );
    }
    let Some(amount) = new.amount.filter(|a| *a >= 0) else {
        return field_error("amount", "is required and must be a non-negative integer");
    };
    let handling_time = new.handling_time.unwrap_or(1);
    if !(0..=100).contains(&handling_time) {
        return field_error("handling_time", "must be between 0 and 100");
    }
    let now = k.context.controls.clock.now();
    let mut state = lock(&k.state);
    let (ean, id_product) = match (&new.ean, new.id_product) {
        (Some(ean), _) if valid_ean(ean) => {
            let id = match state.products.get(ean) {
                Some(p) => p.id_product,
                None => state.next(),
            };
            (ean.clone(), id)
        }
        (Some(_), _) => return field_error("ean", "must have 8 to 15 digits"),
        (None, Some(id)) => match state.products.values().find(|p| p.id_product == id) {
            Some(p) => (p.ean[0].clone(), id),
            None => return field_error("id_product", "product not found"),
        },
        (None, None) => return field_error("ean", "ean or id_product is required"),
    };
    let unit = Unit {
        id_unit: state.next(),
        id_product,
        ean,
        id_offer: new.id_offer.unwrap_or_default(),
        condition,
        listing_price,
        minimum_price,
        amount,
        note: new.note.unwrap_or_default(),
        handling_time,
        id_shipping_group: new.id_shipping_group,
        id_warehouse: new.id_warehouse,
        status: "available".into(),
        storefront,
        vat_indicator: new.vat_indicator.unwrap_or_else(|| "standard_rate".into()),
        date_inserted: now,
        date_lastchange: now,
    };
    let data = unit_json(&unit);
    state.units.insert(unit.id_unit, unit);
    (StatusCode::CREATED, Json(json!({ "data": data }))).into_response()
}

/// `GET /v2/units?storefront=de&id_offer=&ean=&limit=&offset=`.
pub async fn list_units(State(k): State<Arc<Kaufland>>, uri: Uri) -> Response {
    let pairs = query_pairs(uri.query());
    let storefront = match storefront(&pairs, false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (offset, limit) = match paging(&pairs) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let id_offer = param(&pairs, "id_offer");
    let ean = param(&pairs, "ean");
    let state = lock(&k.state);
    let matching: Vec<&Unit> = state
        .units
        .values()
        .filter(|u| storefront.as_deref().is_none_or(|s| u.storefront == s))
        .filter(|u| id_offer.is_none_or(|o| u.id_offer == o))
        .filter(|u| ean.is_none_or(|e| u.ean == e))
        .collect();
    let total = matching.len();
    let items = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(unit_json)
        .collect();
    list(items, offset, limit, total)
}

fn parse_id(id: &str, what: &str) -> Result<u64, Box<Response>> {
    id.parse::<u64>().map_err(|_| Box::new(not_found(what)))
}

pub async fn get_unit(State(k): State<Arc<Kaufland>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id, "Unit") {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match lock(&k.state).units.get(&id) {
        Some(u) => Json(json!({ "data": unit_json(u) })).into_response(),
        None => not_found("Unit"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitPatch {
    amount: Option<i64>,
    listing_price: Option<i64>,
    minimum_price: Option<i64>,
    handling_time: Option<i64>,
    status: Option<String>,
    note: Option<String>,
    id_shipping_group: Option<u64>,
    id_warehouse: Option<u64>,
    vat_indicator: Option<String>,
    condition: Option<String>,
}

/// `PATCH /v2/units/{id_unit}?storefront=de`: stock, price and the rest, field by field.
pub async fn patch_unit(
    State(k): State<Arc<Kaufland>>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let pairs = query_pairs(uri.query());
    if let Err(r) = storefront(&pairs, false) {
        return *r;
    }
    let id = match parse_id(&id, "Unit") {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let patch: UnitPatch = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let now = k.context.controls.clock.now();
    let mut state = lock(&k.state);
    let Some(unit) = state.units.get_mut(&id) else {
        return not_found("Unit");
    };
    let mut next = unit.clone();
    if let Some(a) = patch.amount {
        if a < 0 {
            return field_error("amount", "must be a non-negative integer");
        }
        next.amount = a;
    }
    if let Some(p) = patch.listing_price {
        next.listing_price = p;
    }
    if let Some(p) = patch.minimum_price {
        next.minimum_price = p;
    }
    if next.listing_price <= 0 {
        return field_error("listing_price", "must be a positive integer in cents");
    }
    if next.minimum_price <= 0 || next.minimum_price > next.listing_price {
        return field_error(
            "minimum_price",
            "must be positive and not above listing_price",
        );
    }
    if let Some(h) = patch.handling_time {
        if !(0..=100).contains(&h) {
            return field_error("handling_time", "must be between 0 and 100");
        }
        next.handling_time = h;
    }
    if let Some(s) = patch.status {
        if !UNIT_STATUSES.contains(&s.as_str()) {
            return field_error("status", "must be available or not_available");
        }
        next.status = s;
    }
    if let Some(c) = patch.condition {
        match condition(Some(&c)) {
            Ok(c) => next.condition = c,
            Err(r) => return *r,
        }
    }
    if let Some(n) = patch.note {
        next.note = n;
    }
    if patch.id_shipping_group.is_some() {
        next.id_shipping_group = patch.id_shipping_group;
    }
    if patch.id_warehouse.is_some() {
        next.id_warehouse = patch.id_warehouse;
    }
    if let Some(v) = patch.vat_indicator {
        next.vat_indicator = v;
    }
    next.date_lastchange = now;
    *unit = next;
    Json(json!({ "data": unit_json(unit) })).into_response()
}

pub async fn delete_unit(State(k): State<Arc<Kaufland>>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id, "Unit") {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match lock(&k.state).units.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found("Unit"),
    }
}

/// `POST {base}/_sandbox/keys`: a new key pair, shown once (JSON, or a page for the form).
pub async fn create_keys(
    State(k): State<Arc<Kaufland>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let pair = k.create_key_pair();
    let wants_json = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    if wants_json {
        return (
            StatusCode::CREATED,
            Json(json!({ "client_key": pair.client_key, "secret_key": pair.secret_key })),
        )
            .into_response();
    }
    let lang = Lang::from_headers(&headers);
    let body = format!(
        "<h1>{title}</h1><p>{warn}</p><section class=\"card\"><p>Client Key: <code>{ck}</code></p>\
         <p>Secret Key: <code>{sk}</code></p></section><p><a href=\"{base}/_sandbox\">{back}</a></p>",
        title = lang.t("New API keys", "Neue API-Schlüssel"),
        warn = lang.t(
            "Copy both keys now: they are shown only once.",
            "Kopiere beide Schlüssel jetzt: sie werden nur einmal angezeigt."
        ),
        ck = escape(&pair.client_key),
        sk = escape(&pair.secret_key),
        base = escape(&k.context.base_url),
        back = lang.t("Back to the sandbox", "Zurück zur Sandbox"),
    );
    (
        StatusCode::CREATED,
        Html(page(lang, "Kaufland API keys", &body).0),
    )
        .into_response()
}
