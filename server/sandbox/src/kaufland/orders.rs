//! Orders and order units. A Kaufland order is split into order units, one per item: an order
//! for three pieces has three order units, each shipped (`send`) or cancelled on its own.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::api::{CARRIERS, iso, list, paging, storefront, title_of};
use super::auth::{error, field_error, json_body, not_found, param, query_pairs};
use super::notify::send_event;
use super::{Kaufland, Order, OrderUnit, State as Data, currency, lock};
use crate::common::TestOrder;
use crate::common::buyers::{Address, fake_buyer};
use crate::common::tokens::random_string;

/// [U] Order unit statuses (the full list is not published in what we could read).
const STATUSES: &[&str] = &[
    "open",
    "need_to_be_sent",
    "sent",
    "received",
    "cancelled",
    "returned",
    "returned_paid",
];

fn address(first: &str, last: &str, phone: &str, a: &Address) -> Value {
    // "Hauptstraße 12" → street "Hauptstraße", house_number "12".
    let (street, number) = a.line1.rsplit_once(' ').unwrap_or((a.line1.as_str(), ""));
    json!({
        "first_name": first,
        "last_name": last,
        "company_name": null,
        "street": street,
        "house_number": number,
        "additional_field": a.line2,
        "postcode": a.postal_code,
        "city": a.city,
        "phone": phone,
        "country": a.country_code,
    })
}

fn addresses(o: &Order) -> (Value, Value) {
    let b = &o.buyer;
    let addr = address(&b.first_name, &b.last_name, &b.phone, &b.address);
    (addr.clone(), addr)
}

pub fn order_unit_json(state: &Data, u: &OrderUnit) -> Value {
    let order = state.orders.get(&u.id_order);
    let (billing, shipping) = order.map(addresses).unwrap_or((Value::Null, Value::Null));
    let product = state.products.get(&u.ean);
    let net = u.price.saturating_mul(100) / 119;
    json!({
        "id_order_unit": u.id_order_unit,
        "id_order": u.id_order,
        "ts_created_iso": iso(u.ts_created),
        "ts_updated_iso": iso(u.ts_updated),
        "is_marketplace_deemed_supplier": false,
        "status": u.status,
        "price": u.price,
        "id_offer": u.id_offer,
        "revenue_gross": u.price,
        "revenue_net": net,
        "note": u.note,
        "unit_condition": u.condition,
        "storefront": u.storefront,
        "currency": currency(&u.storefront),
        "delivery_time_min": u.handling_time + 1,
        "delivery_time_max": u.handling_time + 3,
        "delivery_time_expires_iso": iso(u.ts_created + chrono::Duration::days(u.handling_time + 3)),
        "order_received_timestamp_iso": iso(u.ts_created),
        "shipping_rate": 0,
        "cancel_reason": u.cancel_reason,
        "fulfillment_type": "fulfilled_by_merchant",
        "carrier_code": u.carrier_code,
        "tracking_numbers": u.tracking_numbers,
        "buyer": order.map(|o| json!({ "id_buyer": o.id_buyer, "email": o.buyer.email })),
        "billing_address": billing,
        "shipping_address": shipping,
        "product": {
            "id_product": product.map(|p| p.id_product),
            "title": product.and_then(title_of).unwrap_or_else(|| u.title.clone()),
            "eans": [u.ean],
        },
        "vat": 19.0,
    })
}

fn units_updated(state: &Data, o: &Order) -> DateTime<Utc> {
    o.units
        .iter()
        .filter_map(|id| state.order_units.get(id))
        .map(|u| u.ts_updated)
        .max()
        .unwrap_or(o.ts_created)
}

fn order_summary(state: &Data, o: &Order) -> Value {
    json!({
        "id_order": o.id_order,
        "ts_created_iso": iso(o.ts_created),
        "ts_units_updated_iso": iso(units_updated(state, o)),
        "is_marketplace_deemed_supplier": false,
        "order_units_count": o.units.len(),
        "storefront": o.storefront,
        "fulfillment_type": "fulfilled_by_merchant",
    })
}

pub fn order_details(state: &Data, o: &Order) -> Value {
    let (billing, shipping) = addresses(o);
    let units: Vec<Value> = o
        .units
        .iter()
        .filter_map(|id| state.order_units.get(id))
        .map(|u| order_unit_json(state, u))
        .collect();
    json!({
        "id_order": o.id_order,
        "ts_created_iso": iso(o.ts_created),
        "is_marketplace_deemed_supplier": false,
        "storefront": o.storefront,
        "fulfillment_type": "fulfilled_by_merchant",
        "order_units": units,
        "billing_address": billing,
        "shipping_address": shipping,
        "buyer": { "id_buyer": o.id_buyer, "email": o.buyer.email },
    })
}

/// An ISO 8601 filter value. A `+01:00` offset sent unencoded arrives as a space; it is read
/// back as `+`.
fn time_param(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<DateTime<Utc>>, Box<Response>> {
    let Some(raw) = param(pairs, name) else {
        return Ok(None);
    };
    let fixed = raw.replace(' ', "+");
    DateTime::parse_from_rfc3339(&fixed)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            Box::new(field_error(
                name,
                "must be an ISO 8601 date-time (YYYY-MM-ddTHH:mm:ssZ)",
            ))
        })
}

/// `sort=ts_created:desc` (default) and friends.
fn sort_key(pairs: &[(String, String)]) -> Result<(bool, bool), Box<Response>> {
    match param(pairs, "sort").unwrap_or("ts_created:desc") {
        "ts_created:desc" => Ok((false, true)),
        "ts_created:asc" => Ok((false, false)),
        "ts_updated:desc" => Ok((true, true)),
        "ts_updated:asc" => Ok((true, false)),
        _ => Err(Box::new(field_error(
            "sort",
            "must be ts_created or ts_updated with :asc or :desc",
        ))),
    }
}

/// `GET /v2/orders?storefront=&ts_created_from_iso=&ts_units_updated_from_iso=&limit&offset`,
/// newest first [U].
pub async fn list_orders(State(k): State<Arc<Kaufland>>, uri: Uri) -> Response {
    let pairs = query_pairs(uri.query());
    let (sf, (offset, limit)) = match (storefront(&pairs, false), paging(&pairs)) {
        (Ok(s), Ok(p)) => (s, p),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let (created, updated) = match (
        time_param(&pairs, "ts_created_from_iso"),
        time_param(&pairs, "ts_units_updated_from_iso"),
    ) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let state = lock(&k.state);
    let mut matching: Vec<&Order> = state
        .orders
        .values()
        .filter(|o| sf.as_deref().is_none_or(|s| o.storefront == s))
        .filter(|o| created.is_none_or(|t| o.ts_created >= t))
        .filter(|o| updated.is_none_or(|t| units_updated(&state, o) >= t))
        .collect();
    matching.sort_by_key(|o| std::cmp::Reverse((o.ts_created, o.units.first().copied())));
    let total = matching.len();
    let items = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|o| order_summary(&state, o))
        .collect();
    list(items, offset, limit, total)
}

pub async fn get_order(State(k): State<Arc<Kaufland>>, Path(id): Path<String>) -> Response {
    let state = lock(&k.state);
    match state.orders.get(&id) {
        Some(o) => Json(json!({ "data": order_details(&state, o) })).into_response(),
        None => not_found("Order"),
    }
}

/// `GET /v2/order-units?storefront=&status=&id_offer=&ts_created_from_iso=&ts_updated_from_iso=&sort=&limit&offset`.
pub async fn list_order_units(State(k): State<Arc<Kaufland>>, uri: Uri) -> Response {
    let pairs = query_pairs(uri.query());
    let (sf, (offset, limit), (by_updated, desc)) =
        match (storefront(&pairs, false), paging(&pairs), sort_key(&pairs)) {
            (Ok(s), Ok(p), Ok(o)) => (s, p, o),
            (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return *r,
        };
    let (created, updated) = match (
        time_param(&pairs, "ts_created_from_iso"),
        time_param(&pairs, "ts_updated_from_iso"),
    ) {
        (Ok(c), Ok(u)) => (c, u),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let statuses: Vec<&str> = pairs
        .iter()
        .filter(|(k, v)| (k == "status" || k == "status[]") && !v.is_empty())
        .map(|(_, v)| v.as_str())
        .collect();
    if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(s)) {
        return field_error("status", &format!("unknown status {bad}"));
    }
    let id_offer = param(&pairs, "id_offer");
    let state = lock(&k.state);
    let mut matching: Vec<&OrderUnit> = state
        .order_units
        .values()
        .filter(|u| sf.as_deref().is_none_or(|s| u.storefront == s))
        .filter(|u| statuses.is_empty() || statuses.contains(&u.status.as_str()))
        .filter(|u| id_offer.is_none_or(|o| u.id_offer == o))
        .filter(|u| created.is_none_or(|t| u.ts_created >= t))
        .filter(|u| updated.is_none_or(|t| u.ts_updated >= t))
        .collect();
    matching.sort_by_key(|u| {
        let ts = if by_updated {
            u.ts_updated
        } else {
            u.ts_created
        };
        (ts, u.id_order_unit)
    });
    if desc {
        matching.reverse();
    }
    let total = matching.len();
    let items = matching
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|u| order_unit_json(&state, u))
        .collect();
    list(items, offset, limit, total)
}

fn unit_id(id: &str) -> Result<u64, Box<Response>> {
    id.parse().map_err(|_| Box::new(not_found("Order unit")))
}

pub async fn get_order_unit(State(k): State<Arc<Kaufland>>, Path(id): Path<String>) -> Response {
    let id = match unit_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let state = lock(&k.state);
    match state.order_units.get(&id) {
        Some(u) => Json(json!({ "data": order_unit_json(&state, u) })).into_response(),
        None => not_found("Order unit"),
    }
}

#[derive(Deserialize)]
struct SendBody {
    carrier_code: Option<String>,
    tracking_numbers: Option<String>,
}

/// `PATCH /v2/order-units/{id}/send {carrier_code, tracking_numbers:"a,b"}` → 204.
pub async fn send_order_unit(
    State(k): State<Arc<Kaufland>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match unit_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let body: SendBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    let Some(carrier) = body.carrier_code.filter(|c| CARRIERS.contains(&c.as_str())) else {
        return field_error(
            "carrier_code",
            "is not a valid carrier code (see GET /v2/carriers)",
        );
    };
    let Some(tracking) = body
        .tracking_numbers
        .filter(|t| !t.trim().is_empty() && t.split(',').all(|n| !n.trim().is_empty()))
    else {
        return field_error(
            "tracking_numbers",
            "must be a comma-separated list of tracking numbers",
        );
    };
    change_status(&k, id, &["need_to_be_sent"], |u| {
        u.status = "sent".into();
        u.carrier_code = Some(carrier);
        u.tracking_numbers = Some(tracking);
    })
}

#[derive(Deserialize)]
struct CancelBody {
    reason: Option<String>,
}

/// `PATCH /v2/order-units/{id}/cancel {reason}` → 204; the item goes back into stock.
pub async fn cancel_order_unit(
    State(k): State<Arc<Kaufland>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = match unit_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let body: CancelBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return *r,
    };
    // [U] The allowed reasons are listed on a page we could not read; any non-empty one passes.
    let Some(reason) = body.reason.filter(|r| !r.trim().is_empty()) else {
        return field_error("reason", "is required");
    };
    change_status(&k, id, &["need_to_be_sent", "open"], |u| {
        u.status = "cancelled".into();
        u.cancel_reason = Some(reason);
    })
}

fn change_status(
    k: &Kaufland,
    id: u64,
    from: &[&str],
    apply: impl FnOnce(&mut OrderUnit),
) -> Response {
    let now = k.context.controls.clock.now();
    let (storefront, id_order, status) = {
        let mut state = lock(&k.state);
        let Some(unit) = state.order_units.get_mut(&id) else {
            return not_found("Order unit");
        };
        if !from.contains(&unit.status.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Order unit is in status {} and cannot be changed",
                    unit.status
                ),
            );
        }
        apply(unit);
        unit.ts_updated = now;
        let (sf, order, status, id_unit) = (
            unit.storefront.clone(),
            unit.id_order.clone(),
            unit.status.clone(),
            unit.id_unit,
        );
        if status == "cancelled"
            && let Some(stock) = state.units.get_mut(&id_unit)
        {
            stock.amount = stock.amount.saturating_add(1);
        }
        (sf, order, status)
    };
    send_event(
        k,
        "order_unit_status_changed",
        &storefront,
        &format!("/v2/order-units/{id}"),
        json!({ "id_order_unit": id, "id_order": id_order, "status": status }),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// A buyer's order for `quantity` pieces of a unit: one order unit per piece, stock reduced,
/// `order_new` and `order_unit_new` sent.
pub fn place_test_order(k: &Kaufland, order: TestOrder) -> Result<Value, String> {
    let quantity = order.quantity.unwrap_or(1);
    if quantity == 0 || quantity > 100 {
        return Err("quantity must be between 1 and 100".into());
    }
    let now = k.context.controls.clock.now();
    let buyer = fake_buyer();
    let (details, storefront, id_order, unit_ids) = {
        let mut state = lock(&k.state);
        let unit = match &order.sku {
            Some(sku) => state.units.values().find(|u| &u.id_offer == sku),
            None => state.units.values().next(),
        };
        let Some(unit) = unit.cloned() else {
            return Err(match order.sku {
                Some(sku) => format!("no unit with id_offer {sku:?}"),
                None => "no units yet: create one with POST /v2/units first".into(),
            });
        };
        if unit.amount < i64::from(quantity) {
            return Err(format!(
                "not enough stock for {:?}: {} available, {quantity} ordered",
                unit.id_offer, unit.amount
            ));
        }
        if let Some(stock) = state.units.get_mut(&unit.id_unit) {
            stock.amount -= i64::from(quantity);
            stock.date_lastchange = now;
        }
        let title = state
            .products
            .get(&unit.ean)
            .and_then(title_of)
            .unwrap_or_else(|| format!("EAN {}", unit.ean));
        let id_order = random_string(7).to_uppercase();
        let mut unit_ids = Vec::new();
        for _ in 0..quantity {
            let id = state.next();
            unit_ids.push(id);
            state.order_units.insert(
                id,
                OrderUnit {
                    id_order_unit: id,
                    id_order: id_order.clone(),
                    id_unit: unit.id_unit,
                    id_offer: unit.id_offer.clone(),
                    ean: unit.ean.clone(),
                    title: title.clone(),
                    condition: unit.condition.clone(),
                    note: unit.note.clone(),
                    status: "need_to_be_sent".into(),
                    price: unit.listing_price,
                    storefront: unit.storefront.clone(),
                    handling_time: unit.handling_time,
                    ts_created: now,
                    ts_updated: now,
                    carrier_code: None,
                    tracking_numbers: None,
                    cancel_reason: None,
                },
            );
        }
        let order = Order {
            id_order: id_order.clone(),
            id_buyer: rand::random_range(10_000_000..100_000_000),
            storefront: unit.storefront.clone(),
            buyer,
            ts_created: now,
            units: unit_ids.clone(),
        };
        let details = order_details(&state, &order);
        state.orders.insert(id_order.clone(), order);
        (details, unit.storefront, id_order, unit_ids)
    };
    send_event(
        k,
        "order_new",
        &storefront,
        &format!("/v2/orders/{id_order}"),
        json!({ "id_order": id_order }),
    );
    for id in unit_ids {
        send_event(
            k,
            "order_unit_new",
            &storefront,
            &format!("/v2/order-units/{id}"),
            json!({ "id_order_unit": id, "id_order": id_order }),
        );
    }
    Ok(details)
}
