//! Listing inventory: products, offerings, prices and stock, replaced as a whole on PUT.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::api::{cents, float, id_param};
use super::auth::bearer;
use super::{Etsy, Listing, Offering, Product, User, error, money};

pub fn inventory_json(l: &Listing) -> Value {
    json!({
        "products": l.products.iter().map(|p| json!({
            "product_id": p.product_id,
            "sku": p.sku,
            "is_deleted": false,
            "offerings": p.offerings.iter().map(|o| json!({
                "offering_id": o.offering_id,
                "quantity": o.quantity,
                "is_enabled": o.is_enabled,
                "is_deleted": false,
                "price": money(o.price),
                "readiness_state_id": o.readiness_state_id,
            })).collect::<Vec<_>>(),
            "property_values": p.property_values,
        })).collect::<Vec<_>>(),
        "price_on_property": l.price_on_property,
        "quantity_on_property": l.quantity_on_property,
        "sku_on_property": l.sku_on_property,
        "readiness_state_on_property": l.readiness_state_on_property,
        "listing": null,
    })
}

fn owned_listing<'a>(
    st: &'a mut super::State,
    user: &User,
    listing_id: u64,
) -> Result<&'a mut Listing, Response> {
    match st.listings.get_mut(&listing_id) {
        Some(l) if l.user_id == user.user_id => Ok(l),
        Some(_) => Err(error(
            StatusCode::FORBIDDEN,
            "You do not have permission to access this listing.",
        )),
        None => Err(error(
            StatusCode::NOT_FOUND,
            format!("Listing with listing_id {listing_id} not found"),
        )),
    }
}

/// `GET /v3/application/listings/{listing_id}/inventory` (getListingInventory; `listings_r`).
pub async fn get_inventory(
    State(etsy): State<Arc<Etsy>>,
    Path(listing_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let user = match bearer(&etsy, &headers, "listings_r") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let listing_id = match id_param(&listing_id, "listing_id") {
        Ok(id) => id,
        Err(response) => return response,
    };
    let mut st = etsy.st();
    match owned_listing(&mut st, &user, listing_id) {
        Ok(l) => Json(inventory_json(l)).into_response(),
        Err(response) => response,
    }
}

fn id_list(body: &Map<String, Value>, name: &str) -> Vec<u64> {
    body.get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// `PUT /v3/application/listings/{listing_id}/inventory` (updateListingInventory;
/// `listings_w`). Full replace: products left out of the body are removed, and every product
/// gets a new `product_id`, as at Etsy.
pub async fn put_inventory(
    State(etsy): State<Arc<Etsy>>,
    Path(listing_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match bearer(&etsy, &headers, "listings_w") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let listing_id = match id_param(&listing_id, "listing_id") {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON object.",
        );
    };
    let Some(products) = body.get("products").and_then(Value::as_array) else {
        return error(StatusCode::BAD_REQUEST, "products is required");
    };
    if products.is_empty() {
        return error(StatusCode::BAD_REQUEST, "products must not be empty");
    }
    struct NewProduct {
        sku: String,
        property_values: Value,
        offerings: Vec<(i64, i64, bool, Option<u64>)>,
    }
    let mut parsed = Vec::with_capacity(products.len());
    for (i, product) in products.iter().enumerate() {
        let sku = product
            .get("sku")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if sku.chars().count() > 32 {
            return error(
                StatusCode::BAD_REQUEST,
                format!("products[{i}].sku must be at most 32 characters"),
            );
        }
        let Some(offerings) = product.get("offerings").and_then(Value::as_array) else {
            return error(
                StatusCode::BAD_REQUEST,
                format!("products[{i}].offerings is required"),
            );
        };
        if offerings.is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("products[{i}].offerings must not be empty"),
            );
        }
        let mut new_offerings = Vec::with_capacity(offerings.len());
        for (j, o) in offerings.iter().enumerate() {
            let price = match o.get("price").and_then(float) {
                Some(p) if (0.2..=50_000.0).contains(&p) => cents(p),
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "products[{i}].offerings[{j}].price must be between 0.20 and 50000.00"
                        ),
                    );
                }
            };
            let quantity = match o.get("quantity").and_then(Value::as_i64) {
                Some(q) if (0..=999).contains(&q) => q,
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("products[{i}].offerings[{j}].quantity must be between 0 and 999"),
                    );
                }
            };
            let enabled = o.get("is_enabled").and_then(Value::as_bool).unwrap_or(true);
            let readiness = o.get("readiness_state_id").and_then(Value::as_u64);
            new_offerings.push((price, quantity, enabled, readiness));
        }
        parsed.push(NewProduct {
            sku,
            property_values: product
                .get("property_values")
                .cloned()
                .unwrap_or_else(|| json!([])),
            offerings: new_offerings,
        });
    }
    let mut st = etsy.st();
    let state = match owned_listing(&mut st, &user, listing_id) {
        Ok(l) => l.state.clone(),
        Err(response) => return response,
    };
    let total: i64 = parsed
        .iter()
        .flat_map(|p| &p.offerings)
        .filter(|o| o.2)
        .map(|o| o.1)
        .sum();
    if state == "active" && total == 0 {
        // [U] Etsy's exact text for this case is not documented.
        return error(
            StatusCode::BAD_REQUEST,
            "At least one enabled offering must have a quantity greater than 0.",
        );
    }
    let mut new_products = Vec::with_capacity(parsed.len());
    for p in parsed {
        let product_id = st.id();
        let mut offerings = Vec::with_capacity(p.offerings.len());
        for (price, quantity, is_enabled, readiness_state_id) in p.offerings {
            offerings.push(Offering {
                offering_id: st.id(),
                price,
                quantity,
                is_enabled,
                readiness_state_id,
            });
        }
        new_products.push(Product {
            product_id,
            sku: p.sku,
            property_values: p.property_values,
            offerings,
        });
    }
    let now = etsy.now();
    let Some(listing) = st.listings.get_mut(&listing_id) else {
        return error(StatusCode::NOT_FOUND, "Listing not found");
    };
    listing.products = new_products;
    listing.price_on_property = id_list(&body, "price_on_property");
    listing.quantity_on_property = id_list(&body, "quantity_on_property");
    listing.sku_on_property = id_list(&body, "sku_on_property");
    listing.readiness_state_on_property = id_list(&body, "readiness_state_on_property");
    listing.updated = now;
    if listing.state == "sold_out" && listing.quantity() > 0 {
        listing.state = "active".into();
        listing.state_changed = now;
    }
    Json(inventory_json(listing)).into_response()
}
