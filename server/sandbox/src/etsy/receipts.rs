//! Shop receipts (Etsy's orders), shipments with tracking, and test orders.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::api::{id_param, own_shop, page_params, query_pairs};
use super::auth::{bearer, body_fields};
use super::{Etsy, Receipt, Shipment, Transaction, error, money};
use crate::common::TestOrder;
use crate::common::buyers::fake_buyer;

/// Etsy's ShopReceipt object.
pub fn receipt_json(r: &Receipt) -> Value {
    let subtotal: i64 = r.transactions.iter().map(|t| t.price * t.quantity).sum();
    let status = if r.is_canceled {
        "Canceled"
    } else if r.is_shipped {
        "Completed"
    } else if r.is_paid {
        "Paid"
    } else {
        "Open"
    };
    let address = [
        Some(r.name.as_str()),
        Some(r.first_line.as_str()),
        r.second_line.as_deref(),
        Some(&format!("{} {}", r.zip, r.city)),
        Some(r.country_iso.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    let shipped_at = r
        .shipments
        .first()
        .map(|s| s.shipment_notification_timestamp);
    let mut receipt = json!({
        "receipt_id": r.receipt_id,
        "receipt_type": 0,
        "seller_user_id": r.seller_user_id,
        "seller_email": r.seller_email,
        "buyer_user_id": r.buyer_user_id,
        "buyer_email": r.buyer_email,
        "name": r.name,
        "first_line": r.first_line,
        "second_line": r.second_line,
        "city": r.city,
        "state": r.state,
        "zip": r.zip,
        "status": status,
        "formatted_address": address,
        "country_iso": r.country_iso,
        "payment_method": "cc",
        "payment_email": "",
        "message_from_seller": null,
        "message_from_buyer": r.message_from_buyer,
        "message_from_payment": null,
        "is_paid": r.is_paid,
        "is_shipped": r.is_shipped,
        "create_timestamp": r.created,
        "created_timestamp": r.created,
        "update_timestamp": r.updated,
        "updated_timestamp": r.updated,
    });
    let more = json!({
        "is_gift": false,
        "gift_message": "",
        "gift_sender": "",
        "grandtotal": money(subtotal),
        "subtotal": money(subtotal),
        "total_price": money(subtotal),
        "total_shipping_cost": money(0),
        "total_tax_cost": money(0),
        "total_vat_cost": money(0),
        "discount_amt": money(0),
        "gift_wrap_price": money(0),
        "shipments": r.shipments.iter().map(|s| json!({
            "receipt_shipping_id": s.receipt_shipping_id,
            "shipment_notification_timestamp": s.shipment_notification_timestamp,
            "carrier_name": s.carrier_name,
            "tracking_code": s.tracking_code,
        })).collect::<Vec<_>>(),
        "transactions": r.transactions.iter().map(|t| transaction_json(r, t, shipped_at)).collect::<Vec<_>>(),
        "refunds": [],
    });
    if let (Some(base), Value::Object(more)) = (receipt.as_object_mut(), more) {
        base.extend(more);
    }
    receipt
}

/// One transaction (a line) of a receipt.
fn transaction_json(r: &Receipt, t: &Transaction, shipped_at: Option<i64>) -> Value {
    json!({
        "transaction_id": t.transaction_id,
        "title": t.title,
        "description": "",
        "seller_user_id": r.seller_user_id,
        "buyer_user_id": r.buyer_user_id,
        "create_timestamp": r.created,
        "created_timestamp": r.created,
        "paid_timestamp": r.is_paid.then_some(r.created),
        "shipped_timestamp": shipped_at,
        "quantity": t.quantity,
        "listing_image_id": null,
        "receipt_id": r.receipt_id,
        "is_digital": false,
        "file_data": "",
        "listing_id": t.listing_id,
        "transaction_type": "listing",
        "product_id": t.product_id,
        "sku": t.sku,
        "price": money(t.price),
        "shipping_cost": money(0),
        "variations": [],
        "product_data": [],
        "shipping_profile_id": null,
        "min_processing_days": 1,
        "max_processing_days": 3,
        "shipping_method": null,
        "shipping_upgrade": null,
        "expected_ship_date": r.created + 3 * 86_400,
        "buyer_coupon": 0,
        "shop_coupon": 0,
    })
}

fn bool_param(value: Option<&str>, name: &str) -> Result<Option<bool>, Response> {
    match value {
        None => Ok(None),
        Some("true" | "1") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("{name} must be true or false"),
        )),
    }
}

fn int_param(value: Option<&str>, name: &str) -> Result<Option<i64>, Response> {
    value
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| error(StatusCode::BAD_REQUEST, format!("Expected int for {name}")))
        })
        .transpose()
}

/// `GET /v3/application/shops/{shop_id}/receipts` (getShopReceipts; `transactions_r`).
pub async fn list(
    State(etsy): State<Arc<Etsy>>,
    Path(shop_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let user = match bearer(&etsy, &headers, "transactions_r") {
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
    let parsed = (|| {
        let (limit, offset) = page_params(get("limit"), get("offset"))?;
        let ints = [
            int_param(get("min_created"), "min_created")?,
            int_param(get("max_created"), "max_created")?,
            int_param(get("min_last_modified"), "min_last_modified")?,
            int_param(get("max_last_modified"), "max_last_modified")?,
        ];
        let bools = [
            bool_param(get("was_paid"), "was_paid")?,
            bool_param(get("was_shipped"), "was_shipped")?,
            bool_param(get("was_delivered"), "was_delivered")?,
            bool_param(get("was_canceled"), "was_canceled")?,
        ];
        let sort_on = get("sort_on").unwrap_or("created");
        if !matches!(sort_on, "created" | "updated" | "receipt_id") {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "sort_on must be one of created, updated, receipt_id",
            ));
        }
        let descending = match get("sort_order").unwrap_or("desc") {
            "desc" | "descending" | "down" => true,
            "asc" | "ascending" | "up" => false,
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "sort_order must be one of asc, ascending, desc, descending, up, down",
                ));
            }
        };
        Ok((limit, offset, ints, bools, sort_on.to_owned(), descending))
    })();
    let (limit, offset, ints, bools, sort_on, descending) = match parsed {
        Ok(v) => v,
        Err(response) => return response,
    };
    let [min_created, max_created, min_modified, max_modified] = ints;
    let [was_paid, was_shipped, was_delivered, was_canceled] = bools;
    let st = etsy.st();
    let mut matching: Vec<&Receipt> = st
        .receipts
        .values()
        .filter(|r| r.shop_id == shop_id)
        .filter(|r| min_created.is_none_or(|t| r.created >= t))
        .filter(|r| max_created.is_none_or(|t| r.created <= t))
        .filter(|r| min_modified.is_none_or(|t| r.updated >= t))
        .filter(|r| max_modified.is_none_or(|t| r.updated <= t))
        .filter(|r| was_paid.is_none_or(|b| r.is_paid == b))
        .filter(|r| was_shipped.is_none_or(|b| r.is_shipped == b))
        // Delivery is never confirmed in the sandbox.
        .filter(|_| was_delivered.is_none_or(|b| !b))
        .filter(|r| was_canceled.is_none_or(|b| r.is_canceled == b))
        .collect();
    matching.sort_by_key(|r| match sort_on.as_str() {
        "updated" => (r.updated, r.receipt_id),
        "receipt_id" => (0, r.receipt_id),
        _ => (r.created, r.receipt_id),
    });
    if descending {
        matching.reverse();
    }
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|r| receipt_json(r))
        .collect();
    Json(json!({ "count": matching.len(), "results": results })).into_response()
}

/// `GET /v3/application/shops/{shop_id}/receipts/{receipt_id}` (getShopReceipt).
pub async fn get_one(
    State(etsy): State<Arc<Etsy>>,
    Path((shop_id, receipt_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let user = match bearer(&etsy, &headers, "transactions_r") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let (shop_id, receipt_id) = match (
        own_shop(&user, &shop_id),
        id_param(&receipt_id, "receipt_id"),
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let st = etsy.st();
    match st
        .receipts
        .get(&receipt_id)
        .filter(|r| r.shop_id == shop_id)
    {
        Some(r) => Json(receipt_json(r)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("Receipt with receipt_id {receipt_id} not found"),
        ),
    }
}

/// `POST /v3/application/shops/{shop_id}/receipts/{receipt_id}/tracking`
/// (createReceiptShipment; `transactions_w`).
pub async fn tracking(
    State(etsy): State<Arc<Etsy>>,
    Path((shop_id, receipt_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let user = match bearer(&etsy, &headers, "transactions_w") {
        Ok(user) => user,
        Err(response) => return response,
    };
    let (shop_id, receipt_id) = match (
        own_shop(&user, &shop_id),
        id_param(&receipt_id, "receipt_id"),
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let Some(fields) = body_fields(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "Request body is malformed.");
    };
    let field = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
            .to_owned()
    };
    let tracking_code = field("tracking_code");
    let carrier_name = field("carrier_name");
    if tracking_code.is_empty() != carrier_name.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "tracking_code and carrier_name must be given together",
        );
    }
    let now = etsy.now();
    let mut st = etsy.st();
    let shipping_id = st.id();
    let Some(receipt) = st
        .receipts
        .get_mut(&receipt_id)
        .filter(|r| r.shop_id == shop_id)
    else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Receipt with receipt_id {receipt_id} not found"),
        );
    };
    if receipt.is_canceled {
        return error(
            StatusCode::BAD_REQUEST,
            "A canceled receipt cannot be shipped.",
        );
    }
    if !tracking_code.is_empty() {
        receipt.shipments.push(Shipment {
            receipt_shipping_id: shipping_id,
            shipment_notification_timestamp: now,
            carrier_name,
            tracking_code,
        });
    }
    receipt.is_shipped = true;
    receipt.updated = now;
    Json(receipt_json(receipt)).into_response()
}

/// A buyer pays for a listing: the receipt, less stock, and `order.paid` to every webhook.
pub fn place_test_order(etsy: &Etsy, order: TestOrder) -> Result<Value, String> {
    let quantity = i64::from(order.quantity.unwrap_or(1).max(1));
    let buyer = fake_buyer();
    let now = etsy.now();
    let (receipt, shop_id) = {
        let mut st = etsy.st();
        let listing_id = match &order.sku {
            Some(sku) => st
                .listings
                .values()
                .find(|l| l.products.iter().any(|p| p.sku == *sku))
                .map(|l| l.listing_id)
                .ok_or_else(|| format!("no listing has the SKU {sku}"))?,
            None => *st
                .listings
                .keys()
                .next()
                .ok_or("there are no listings yet; create one first")?,
        };
        let receipt_id = st.id();
        let transaction_id = st.id();
        let buyer_user_id = st.id() % 1_000_000_000;
        let listing = st
            .listings
            .get_mut(&listing_id)
            .ok_or("the listing disappeared")?;
        let product = listing
            .products
            .iter_mut()
            .find(|p| order.sku.as_ref().is_none_or(|s| p.sku == *s))
            .ok_or("the listing has no products")?;
        let offering = product
            .offerings
            .iter_mut()
            .find(|o| o.is_enabled && o.quantity >= quantity)
            .ok_or_else(|| format!("not enough stock for {quantity} piece(s)"))?;
        offering.quantity -= quantity;
        let transaction = Transaction {
            transaction_id,
            listing_id,
            product_id: product.product_id,
            sku: product.sku.clone(),
            title: listing.title.clone(),
            quantity,
            price: offering.price,
        };
        listing.updated = now;
        if listing.quantity() == 0 && listing.state == "active" {
            listing.state = "sold_out".into();
            listing.state_changed = now;
        }
        let shop_id = listing.shop_id;
        let seller = st.user_by_shop(shop_id).cloned();
        let receipt = Receipt {
            receipt_id,
            shop_id,
            seller_user_id: seller.as_ref().map_or(0, |u| u.user_id),
            seller_email: seller.map(|u| u.email).unwrap_or_default(),
            buyer_user_id,
            buyer_email: buyer.email.clone(),
            name: buyer.full_name(),
            first_line: buyer.address.line1.clone(),
            second_line: buyer.address.line2.clone(),
            city: buyer.address.city.clone(),
            state: None,
            zip: buyer.address.postal_code.clone(),
            country_iso: buyer.address.country_code.clone(),
            is_paid: true,
            is_shipped: false,
            is_canceled: false,
            created: now,
            updated: now,
            transactions: vec![transaction],
            shipments: Vec::new(),
            message_from_buyer: String::new(),
        };
        st.receipts.insert(receipt_id, receipt.clone());
        (receipt, shop_id)
    };
    super::notify::order_paid(etsy, shop_id, receipt.receipt_id);
    Ok(receipt_json(&receipt))
}
