//! Listings Items API 2021-08-01: `PUT`, `PATCH`, `GET` and `DELETE`
//! `/listings/2021-08-01/items/{sellerId}/{sku}`.
//!
//! Submissions are processed asynchronously as at Amazon: `PUT`/`PATCH`/`DELETE` answer
//! `ACCEPTED` with a `submissionId` and take effect after the `processing_delay_secs` option
//! (sandbox clock). Quantity lives in the `fulfillment_availability` attribute
//! (`[{fulfillment_channel_code:"DEFAULT", quantity}]`), the price in `purchasable_offer`
//! (`[{currency, our_price:[{schedule:[{value_with_tax}]}], marketplace_id}]`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::api::{CallerExt, error, invalid_input, list, param, params};
use super::{Amazon, MARKETPLACE_ID, State as AmazonState, iso};
use crate::common::tokens::random_hex;

const REQUIREMENTS: &[&str] = &["LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"];
const INCLUDED_DATA: &[&str] = &[
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub sku: String,
    pub seller_id: String,
    pub product_type: String,
    pub requirements: String,
    pub attributes: Map<String, Value>,
    pub asin: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
}

/// One accepted submission, waiting to be processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub submission_id: String,
    pub sku: String,
    pub seller_id: String,
    pub apply_at: DateTime<Utc>,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Put {
        product_type: String,
        requirements: String,
        attributes: Map<String, Value>,
    },
    Patch {
        product_type: String,
        patches: Vec<Patch>,
    },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    pub op: String,
    pub path: String,
    #[serde(default)]
    pub value: Option<Vec<Value>>,
}

fn number(value: &Value) -> Option<f64> {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

impl Listing {
    pub fn item_name(&self) -> Option<String> {
        self.attributes
            .get("item_name")?
            .get(0)?
            .get("value")?
            .as_str()
            .map(str::to_owned)
    }

    /// The `DEFAULT` (merchant-fulfilled) quantity.
    pub fn quantity(&self) -> Option<i64> {
        self.attributes
            .get("fulfillment_availability")?
            .as_array()?
            .iter()
            .find(|e| e.get("fulfillment_channel_code").and_then(Value::as_str) == Some("DEFAULT"))?
            .get("quantity")
            .and_then(number)
            .map(|q| q as i64)
    }

    pub fn set_quantity(&mut self, quantity: i64) {
        let entry = json!({ "fulfillment_channel_code": "DEFAULT", "quantity": quantity });
        let list = self
            .attributes
            .entry("fulfillment_availability")
            .or_insert_with(|| json!([]));
        if let Some(items) = list.as_array_mut() {
            match items.iter_mut().find(|e| {
                e.get("fulfillment_channel_code").and_then(Value::as_str) == Some("DEFAULT")
            }) {
                Some(existing) => existing["quantity"] = json!(quantity),
                None => items.push(entry),
            }
        } else {
            *list = json!([entry]);
        }
    }

    /// Currency and price with tax in cents, from the first purchasable offer.
    pub fn price(&self) -> Option<(String, i64)> {
        let offer = self.attributes.get("purchasable_offer")?.get(0)?;
        let value = offer
            .get("our_price")?
            .get(0)?
            .get("schedule")?
            .get(0)?
            .get("value_with_tax")
            .and_then(number)?;
        let currency = offer
            .get("currency")
            .and_then(Value::as_str)
            .unwrap_or(super::CURRENCY);
        Some((currency.to_owned(), (value * 100.0).round() as i64))
    }

    /// BUYABLE needs a price and stock; every listing with a name is DISCOVERABLE.
    pub fn status(&self) -> Vec<&'static str> {
        let mut status = Vec::new();
        if self.price().is_some() && self.quantity().unwrap_or(0) > 0 {
            status.push("BUYABLE");
        }
        status.push("DISCOVERABLE");
        status
    }

    fn summary(&self) -> Value {
        json!({
            "marketplaceId": MARKETPLACE_ID,
            "asin": self.asin,
            "productType": self.product_type,
            "conditionType": "new_new",
            "status": self.status(),
            "itemName": self.item_name(),
            "createdDate": iso(self.created),
            "lastUpdatedDate": iso(self.last_updated),
        })
    }

    /// For the state endpoint.
    pub fn summary_json(&self, _now: DateTime<Utc>) -> Value {
        json!({
            "sku": self.sku,
            "seller_id": self.seller_id,
            "title": self.item_name(),
            "quantity": self.quantity(),
            "price": self.price().map(|(c, cents)| json!({ "currency": c, "amount": super::orders::amount(cents) })),
            "status": self.status(),
            "asin": self.asin,
            "attributes": self.attributes,
        })
    }

    fn item_json(&self, included: &[String]) -> Value {
        let mut item = json!({ "sku": self.sku });
        for data in included {
            match data.as_str() {
                "summaries" => item["summaries"] = json!([self.summary()]),
                "attributes" => item["attributes"] = Value::Object(self.attributes.clone()),
                "issues" => item["issues"] = json!([]),
                "offers" => {
                    item["offers"] = match self.price() {
                        Some((currency, cents)) => json!([{
                            "marketplaceId": MARKETPLACE_ID,
                            "offerType": "B2C",
                            "price": { "currencyCode": currency, "amount": super::orders::amount(cents) },
                        }]),
                        None => json!([]),
                    }
                }
                "fulfillmentAvailability" => {
                    item["fulfillmentAvailability"] = json!([{
                        "fulfillmentChannelCode": "DEFAULT",
                        "quantity": self.quantity().unwrap_or(0),
                    }])
                }
                "procurement" => item["procurement"] = json!([]),
                "relationships" => item["relationships"] = json!([]),
                "productTypes" => {
                    item["productTypes"] = json!([{ "marketplaceId": MARKETPLACE_ID, "productType": self.product_type }])
                }
                _ => {}
            }
        }
        item
    }
}

/// Applies `merge`: objects in the new value are merged into the element with the same
/// `marketplace_id`/`fulfillment_channel_code`/`language_tag` (or at the same position).
fn merge(existing: &mut Value, new: Vec<Value>) {
    let Some(items) = existing.as_array_mut() else {
        *existing = Value::Array(new);
        return;
    };
    for (index, value) in new.into_iter().enumerate() {
        let key = ["marketplace_id", "fulfillment_channel_code", "language_tag"]
            .into_iter()
            .find_map(|k| value.get(k).map(|v| (k, v.clone())));
        let target = match &key {
            Some((k, v)) => items.iter_mut().find(|e| e.get(*k) == Some(v)),
            None => items.get_mut(index),
        };
        match (target, value) {
            (Some(Value::Object(old)), Value::Object(fields)) => old.extend(fields),
            (Some(slot), value) => *slot = value,
            (None, value) => items.push(value),
        }
    }
}

/// Processes the submissions that are due.
pub fn settle(state: &mut AmazonState, now: DateTime<Utc>) {
    if state.submissions.is_empty() || state.submissions[0].apply_at > now {
        return;
    }
    let (due, later): (Vec<Submission>, Vec<Submission>) = std::mem::take(&mut state.submissions)
        .into_iter()
        .partition(|s| s.apply_at <= now);
    state.submissions = later;
    for submission in due {
        match submission.change {
            Change::Put {
                product_type,
                requirements,
                attributes,
            } => {
                let existing = state.listings.get(&submission.sku);
                let listing = Listing {
                    sku: submission.sku.clone(),
                    seller_id: submission.seller_id,
                    product_type,
                    requirements,
                    attributes,
                    asin: existing.map_or_else(
                        || format!("B0{}", random_hex(4).to_ascii_uppercase()),
                        |l| l.asin.clone(),
                    ),
                    created: existing.map_or(submission.apply_at, |l| l.created),
                    last_updated: submission.apply_at,
                };
                state.listings.insert(submission.sku, listing);
            }
            Change::Patch {
                product_type,
                patches,
            } => {
                let Some(listing) = state.listings.get_mut(&submission.sku) else {
                    continue;
                };
                listing.product_type = product_type;
                listing.last_updated = submission.apply_at;
                for patch in patches {
                    let name = patch.path.trim_start_matches("/attributes/").to_owned();
                    match (patch.op.as_str(), patch.value) {
                        ("delete", _) => {
                            listing.attributes.remove(&name);
                        }
                        ("merge", Some(value)) => {
                            let slot = listing.attributes.entry(name).or_insert_with(|| json!([]));
                            merge(slot, value);
                        }
                        (_, Some(value)) => {
                            listing.attributes.insert(name, Value::Array(value));
                        }
                        (_, None) => {}
                    }
                }
            }
            Change::Delete => {
                state.listings.remove(&submission.sku);
            }
        }
    }
}

struct Request {
    sku: String,
    preview: bool,
    included: Vec<String>,
}

/// Checks the seller id against the token and reads the common query parameters.
fn request(
    caller: &CallerExt,
    seller_id: &str,
    sku: String,
    raw: Option<&str>,
) -> Result<Request, Response> {
    if seller_id != caller.seller_id {
        return Err(super::api::unauthorized(""));
    }
    let params = params(raw)?;
    if list(&params, "marketplaceIds").is_empty() {
        return Err(invalid_input(
            "Missing required parameter 'marketplaceIds'.",
        ));
    }
    let preview = match param(&params, "mode") {
        None => false,
        Some("VALIDATION_PREVIEW") => true,
        Some(other) => return Err(invalid_input(&format!("Invalid mode '{other}'."))),
    };
    let mut included = list(&params, "includedData");
    if included.is_empty() {
        included.push("summaries".into());
    }
    if let Some(bad) = included
        .iter()
        .find(|d| !INCLUDED_DATA.contains(&d.as_str()))
    {
        return Err(invalid_input(&format!(
            "Invalid includedData value '{bad}'."
        )));
    }
    Ok(Request {
        sku,
        preview,
        included,
    })
}

fn body_object(body: &Bytes) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid_input(
            "The request body is not a valid JSON object.",
        )),
    }
}

fn product_type(body: &Map<String, Value>) -> Result<String, Response> {
    body.get("productType")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| invalid_input("Missing required field 'productType'."))
}

fn submission_response(
    sku: &str,
    status: &str,
    submission_id: &str,
    issues: Vec<Value>,
) -> Response {
    Json(json!({
        "sku": sku,
        "status": status,
        "submissionId": submission_id,
        "issues": issues,
    }))
    .into_response()
}

/// Queues a change (or, with `mode=VALIDATION_PREVIEW`, only answers `VALID`).
fn submit(amazon: &Amazon, seller_id: &str, request: &Request, change: Change) -> Response {
    let submission_id = random_hex(16);
    if request.preview {
        return submission_response(&request.sku, "VALID", &submission_id, Vec::new());
    }
    let now = amazon.now();
    let delay = amazon.options().processing_delay_secs;
    let mut state = amazon.lock();
    state.submissions.push(Submission {
        submission_id: submission_id.clone(),
        sku: request.sku.clone(),
        seller_id: seller_id.to_owned(),
        apply_at: now + Duration::seconds(i64::try_from(delay).unwrap_or(0)),
        change,
    });
    settle(&mut state, now);
    submission_response(&request.sku, "ACCEPTED", &submission_id, Vec::new())
}

fn missing_attribute(name: &str) -> Value {
    json!({
        "code": "90220",
        "message": format!("'{name}' is required but not supplied."),
        "severity": "ERROR",
        "attributeNames": [name],
        "categories": ["MISSING_ATTRIBUTE"],
    })
}

pub async fn put_item(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path((seller_id, sku)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let request = match request(&caller, &seller_id, sku, raw.as_deref()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let product_type = match product_type(&body) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let requirements = body
        .get("requirements")
        .and_then(Value::as_str)
        .unwrap_or("LISTING")
        .to_owned();
    if !REQUIREMENTS.contains(&requirements.as_str()) {
        return invalid_input(&format!("Invalid requirements '{requirements}'."));
    }
    let Some(Value::Object(attributes)) = body.get("attributes") else {
        return invalid_input("Missing required field 'attributes'.");
    };
    if let Some((name, _)) = attributes.iter().find(|(_, v)| !v.is_array()) {
        return invalid_input(&format!("Attribute '{name}' must be an array."));
    }
    let mut issues = Vec::new();
    if requirements != "LISTING_OFFER_ONLY" && !attributes.contains_key("item_name") {
        issues.push(missing_attribute("item_name"));
    }
    if !issues.is_empty() {
        return submission_response(&request.sku, "INVALID", &random_hex(16), issues);
    }
    let change = Change::Put {
        product_type,
        requirements,
        attributes: attributes.clone(),
    };
    submit(&amazon, &seller_id, &request, change)
}

pub async fn patch_item(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path((seller_id, sku)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let request = match request(&caller, &seller_id, sku, raw.as_deref()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let body = match body_object(&body) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let product_type = match product_type(&body) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let patches: Vec<Patch> = match body.get("patches").cloned().map(serde_json::from_value) {
        Some(Ok(p)) => p,
        _ => return invalid_input("Missing or invalid field 'patches'."),
    };
    if patches.is_empty() {
        return invalid_input("'patches' must contain at least one patch.");
    }
    for patch in &patches {
        if !matches!(patch.op.as_str(), "add" | "replace" | "merge" | "delete") {
            return invalid_input(&format!("Invalid patch operation '{}'.", patch.op));
        }
        let name = patch.path.strip_prefix("/attributes/").unwrap_or("");
        if name.is_empty() || name.contains('/') {
            return invalid_input(&format!("Invalid patch path '{}'.", patch.path));
        }
        if patch.op != "delete" && patch.value.is_none() {
            return invalid_input(&format!("Patch '{}' needs a value.", patch.path));
        }
    }
    let exists = {
        let now = amazon.now();
        let mut state = amazon.lock();
        settle(&mut state, now);
        state.listings.contains_key(&request.sku)
            || state.submissions.iter().any(|s| s.sku == request.sku)
    };
    if !exists {
        return sku_not_found(&request.sku);
    }
    let change = Change::Patch {
        product_type,
        patches,
    };
    submit(&amazon, &seller_id, &request, change)
}

fn sku_not_found(sku: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("SKU '{sku}' not found in marketplace {MARKETPLACE_ID}"),
        None,
    )
}

pub async fn get_item(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path((seller_id, sku)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let request = match request(&caller, &seller_id, sku, raw.as_deref()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let now = amazon.now();
    let mut state = amazon.lock();
    settle(&mut state, now);
    match state.listings.get(&request.sku) {
        Some(listing) if listing.seller_id == seller_id => {
            Json(listing.item_json(&request.included)).into_response()
        }
        _ => sku_not_found(&request.sku),
    }
}

pub async fn delete_item(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
    Path((seller_id, sku)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let request = match request(&caller, &seller_id, sku, raw.as_deref()) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let exists = {
        let now = amazon.now();
        let mut state = amazon.lock();
        settle(&mut state, now);
        state.listings.contains_key(&request.sku)
    };
    if !exists {
        return sku_not_found(&request.sku);
    }
    submit(&amazon, &seller_id, &request, Change::Delete)
}
