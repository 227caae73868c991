//! `inventorySetQuantities`: sets available or on-hand quantities, all or none, with
//! `compareQuantity` / `changeFromQuantity` checks.

use async_graphql::{ID, InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use super::model::{self, gid, parse_gid};

#[derive(InputObject, Serialize)]
pub struct InventorySetQuantitiesInput {
    name: String,
    reason: String,
    reference_document_uri: Option<String>,
    ignore_compare_quantity: Option<bool>,
    quantities: Vec<InventoryQuantityInput>,
}

#[derive(InputObject, Serialize)]
pub struct InventoryQuantityInput {
    inventory_item_id: ID,
    location_id: ID,
    quantity: i32,
    compare_quantity: Option<i32>,
    /// From 2026-04: the quantity the caller believes is current (`null` opts out).
    change_from_quantity: Option<i32>,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventorySetQuantitiesUserError {
    code: Option<String>,
    field: Option<Vec<String>>,
    message: String,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventoryChange {
    name: String,
    delta: i64,
    quantity_after_change: i64,
    item: IdOnly,
    location: IdOnly,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct IdOnly {
    id: ID,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventoryAdjustmentGroup {
    pub(super) id: ID,
    created_at: String,
    reason: String,
    reference_document_uri: Option<String>,
    changes: Vec<InventoryChange>,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventorySetQuantitiesPayload {
    pub(super) inventory_adjustment_group: Option<InventoryAdjustmentGroup>,
    user_errors: Vec<InventorySetQuantitiesUserError>,
}

const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

pub(super) fn set_quantities(
    shop: &mut model::Shop,
    input: &InventorySetQuantitiesInput,
    now: chrono::DateTime<chrono::Utc>,
) -> InventorySetQuantitiesPayload {
    let fail = |code: &str, field: Vec<String>, message: String| InventorySetQuantitiesPayload {
        inventory_adjustment_group: None,
        user_errors: vec![InventorySetQuantitiesUserError {
            code: Some(code.to_owned()),
            field: Some(field),
            message,
        }],
    };
    if input.name != "available" && input.name != "on_hand" {
        return fail(
            "INVALID_NAME",
            vec!["input".into(), "name".into()],
            "The quantity name must be either 'available' or 'on_hand'.".into(),
        );
    }
    if !REASONS.contains(&input.reason.as_str()) {
        return fail(
            "INVALID_REASON",
            vec!["input".into(), "reason".into()],
            "The specified reason is invalid.".into(),
        );
    }
    let location_id = shop.location_id;
    // Validate everything first: the mutation applies all quantities or none.
    let mut targets = Vec::new();
    for (i, q) in input.quantities.iter().enumerate() {
        let field = |name: &str| {
            vec![
                "input".into(),
                "quantities".into(),
                i.to_string(),
                name.to_owned(),
            ]
        };
        let Some(item) = parse_gid("InventoryItem", &q.inventory_item_id) else {
            return fail(
                "INVALID_INVENTORY_ITEM",
                field("inventoryItemId"),
                "The specified inventory item could not be found.".into(),
            );
        };
        if parse_gid("Location", &q.location_id) != Some(location_id) {
            return fail(
                "INVALID_LOCATION",
                field("locationId"),
                "The specified location could not be found.".into(),
            );
        }
        let Some(variant) = shop.variant_by_item_mut(item) else {
            return fail(
                "INVALID_INVENTORY_ITEM",
                field("inventoryItemId"),
                "The specified inventory item could not be found.".into(),
            );
        };
        if q.quantity < 0 && input.name == "on_hand" {
            return fail(
                "INVALID_QUANTITY_NEGATIVE",
                field("quantity"),
                "The quantity can't be negative.".into(),
            );
        }
        if let Some(expected) = q.change_from_quantity
            && i64::from(expected) != variant.available
        {
            return fail(
                "CHANGE_FROM_QUANTITY_STALE",
                field("changeFromQuantity"),
                "The changeFromQuantity argument no longer matches the persisted quantity.".into(),
            );
        }
        if let Some(expected) = q.compare_quantity
            && !input.ignore_compare_quantity.unwrap_or(false)
            && i64::from(expected) != variant.available
        {
            return fail(
                "COMPARE_QUANTITY_STALE",
                field("compareQuantity"),
                "The compareQuantity argument no longer matches the persisted quantity.".into(),
            );
        }
        targets.push((item, i64::from(q.quantity)));
    }
    let mut changes = Vec::new();
    for (item, quantity) in targets {
        if let Some(variant) = shop.variant_by_item_mut(item) {
            let delta = quantity - variant.available;
            variant.available = quantity;
            variant.updated_at = now;
            changes.push(InventoryChange {
                name: input.name.clone(),
                delta,
                quantity_after_change: quantity,
                item: IdOnly {
                    id: ID(gid("InventoryItem", item)),
                },
                location: IdOnly {
                    id: ID(gid("Location", location_id)),
                },
            });
        }
    }
    InventorySetQuantitiesPayload {
        inventory_adjustment_group: Some(InventoryAdjustmentGroup {
            id: ID(String::new()),
            created_at: model::iso(now),
            reason: input.reason.clone(),
            reference_document_uri: input.reference_document_uri.clone(),
            changes,
        }),
        user_errors: Vec::new(),
    }
}
