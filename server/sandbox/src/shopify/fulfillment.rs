//! `fulfillmentCreate`: fulfills fulfillment order line items, with tracking.

use async_graphql::{ID, InputObject};

use super::model::{self, Fulfillment, parse_gid};
use super::mutations::{UserError, user_error};

#[derive(InputObject)]
pub struct FulfillmentInput {
    line_items_by_fulfillment_order: Vec<FulfillmentOrderLineItemsInput>,
    notify_customer: Option<bool>,
    tracking_info: Option<FulfillmentTrackingInput>,
    origin_address: Option<FulfillmentOriginAddressInput>,
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemsInput {
    fulfillment_order_id: ID,
    fulfillment_order_line_items: Option<Vec<FulfillmentOrderLineItemInput>>,
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemInput {
    id: ID,
    quantity: i32,
}

#[derive(InputObject)]
pub struct FulfillmentTrackingInput {
    company: Option<String>,
    number: Option<String>,
    numbers: Option<Vec<String>>,
    url: Option<String>,
    urls: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct FulfillmentOriginAddressInput {
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    zip: Option<String>,
    province_code: Option<String>,
    country_code: Option<String>,
}

/// Creates the fulfillment; returns it and the order's webhook JSON.
pub(super) fn fulfill(
    shop: &mut model::Shop,
    input: &FulfillmentInput,
    id: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Fulfillment, serde_json::Value), UserError> {
    let _ = &input.origin_address.as_ref().map(|a| {
        (
            &a.address1,
            &a.address2,
            &a.city,
            &a.zip,
            &a.province_code,
            &a.country_code,
        )
    });
    let field = ["fulfillment", "lineItemsByFulfillmentOrder"];
    let first = input
        .line_items_by_fulfillment_order
        .first()
        .ok_or_else(|| user_error(&field, "Line items by fulfillment order can't be blank"))?;
    let fo_id = parse_gid("FulfillmentOrder", &first.fulfillment_order_id)
        .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
    let order = shop
        .orders
        .values_mut()
        .find(|o| o.fulfillment_orders.iter().any(|fo| fo.id == fo_id))
        .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
    let mut work: Vec<(usize, usize, u32)> = Vec::new();
    for group in &input.line_items_by_fulfillment_order {
        let id = parse_gid("FulfillmentOrder", &group.fulfillment_order_id)
            .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
        let fo_index = order
            .fulfillment_orders
            .iter()
            .position(|fo| fo.id == id)
            .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
        let fo = &order.fulfillment_orders[fo_index];
        if fo.status == "CLOSED" {
            return Err(user_error(
                &field,
                "Fulfillment order is not in an actionable state.",
            ));
        }
        match &group.fulfillment_order_line_items {
            None => {
                for (i, l) in fo.line_items.iter().enumerate() {
                    if l.remaining_quantity > 0 {
                        work.push((fo_index, i, l.remaining_quantity));
                    }
                }
            }
            Some(items) => {
                for item in items {
                    let line_id = parse_gid("FulfillmentOrderLineItem", &item.id);
                    let i = fo
                        .line_items
                        .iter()
                        .position(|l| Some(l.id) == line_id)
                        .ok_or_else(|| {
                            user_error(&field, "Fulfillment order line item does not exist.")
                        })?;
                    let quantity = u32::try_from(item.quantity).unwrap_or(0);
                    if quantity == 0 || quantity > fo.line_items[i].remaining_quantity {
                        return Err(user_error(
                            &field,
                            "Invalid fulfillment order line item quantity requested.",
                        ));
                    }
                    work.push((fo_index, i, quantity));
                }
            }
        }
    }
    if work.is_empty() {
        return Err(user_error(&field, "There are no line items to fulfill."));
    }
    let mut fulfilled = Vec::new();
    for (fo_index, i, quantity) in work {
        let line = &mut order.fulfillment_orders[fo_index].line_items[i];
        line.remaining_quantity -= quantity;
        fulfilled.push((line.line_item_id, quantity));
    }
    for fo in &mut order.fulfillment_orders {
        if fo.line_items.iter().all(|l| l.remaining_quantity == 0) {
            fo.status = "CLOSED".into();
        } else if fo
            .line_items
            .iter()
            .any(|l| l.remaining_quantity < l.total_quantity)
        {
            fo.status = "IN_PROGRESS".into();
        }
    }
    order.fulfillment_status = if order
        .fulfillment_orders
        .iter()
        .all(|fo| fo.status == "CLOSED")
    {
        "FULFILLED".into()
    } else {
        "PARTIALLY_FULFILLED".into()
    };
    let tracking = input.tracking_info.as_ref();
    let fulfillment = Fulfillment {
        id,
        status: "SUCCESS".into(),
        tracking_company: tracking.and_then(|t| t.company.clone()),
        tracking_number: tracking.and_then(|t| {
            t.number
                .clone()
                .or_else(|| t.numbers.as_ref().and_then(|n| n.first().cloned()))
        }),
        tracking_url: tracking.and_then(|t| {
            t.url
                .clone()
                .or_else(|| t.urls.as_ref().and_then(|u| u.first().cloned()))
        }),
        notify_customer: input.notify_customer.unwrap_or(false),
        line_items: fulfilled,
        created_at: now,
    };
    order.fulfillments.push(fulfillment.clone());
    order.updated_at = now;
    let order = order.clone();
    Ok((fulfillment, model::order_rest_json(shop, &order)))
}
