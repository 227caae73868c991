//! Bulk actions on a selection of products from the list: change prices by percent or amount,
//! set or adjust stock, delete. Each action is one transaction: either every selected product
//! changes or — when one of them cannot (a price would go below zero, stock below what is
//! reserved) — none does, and the error names the SKU that stopped it.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use shopmarkets_types::{FieldError, Money, PriceChange, Rounding};
use uuid::Uuid;

use super::{CatalogError, MAX_STOCK, StockReason, outbox, save, stock, touch_product};
use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, begin_write},
    entity::{product, variant},
};

/// At most this many products per bulk action (the list shows at most 200 per page; "select
/// all matching" is a later feature).
pub const MAX_BULK: usize = 1000;

/// A stock change for every variant of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Counted: on-hand becomes this number.
    Set(i64),
    /// Received (+) or written off (−).
    Adjust(i64),
}

/// What a bulk action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkOutcome {
    pub products: usize,
    pub variants_changed: usize,
}

/// The selected products' variants, all of the scope's organization. Any id that is not one of
/// its products makes the whole selection [`AccessError::NotFound`].
async fn selection(
    txn: &sea_orm::DatabaseTransaction,
    scope: &Scope,
    product_ids: &[Uuid],
) -> Result<Vec<variant::Model>, CatalogError> {
    if product_ids.is_empty() {
        return Err(CatalogError::field("selection", FieldError::Required));
    }
    if product_ids.len() > MAX_BULK {
        return Err(CatalogError::field(
            "selection",
            FieldError::OutOfRange {
                min: 1,
                max: MAX_BULK as i64,
            },
        ));
    }
    let mut ids = product_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found = product::Entity::find_in(scope)
        .filter(product::Column::Id.is_in(ids.clone()))
        .count(txn)
        .await?;
    if usize::try_from(found).ok() != Some(ids.len()) {
        return Err(AccessError::NotFound.into());
    }
    Ok(variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.is_in(ids))
        .order_by_asc(variant::Column::ProductId)
        .order_by_asc(variant::Column::Position)
        .all(txn)
        .await?)
}

/// Changes the price of every variant of the selected products.
pub async fn bulk_change_price(
    db: &Db,
    scope: &Scope,
    product_ids: &[Uuid],
    change: PriceChange,
    rounding: Rounding,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<BulkOutcome, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let variants = selection(&txn, scope, product_ids).await?;
    let mut outcome = BulkOutcome::default();
    let mut touched = std::collections::BTreeSet::new();
    for before in &variants {
        let currency = shopmarkets_types::Currency::parse(&before.currency)
            .map_err(|err| CatalogError::field(format!("sku:{}", before.sku), err))?;
        let price = Money::new(before.price_minor, currency)
            .map_err(|err| CatalogError::field(format!("sku:{}", before.sku), err))?;
        let new_price = change
            .apply(price, rounding)
            .map_err(|err| CatalogError::field(format!("sku:{}", before.sku), err))?;
        if new_price == price {
            continue;
        }
        variant::Entity::update_many()
            .col_expr(variant::Column::PriceMinor, Expr::value(new_price.minor()))
            .col_expr(variant::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                variant::Column::Version,
                Expr::col(variant::Column::Version).add(1),
            )
            .filter(variant::Column::Id.eq(before.id))
            .exec(&txn)
            .await?;
        let after = variant::Model {
            price_minor: new_price.minor(),
            version: before.version + 1,
            updated_at: now,
            ..before.clone()
        };
        outbox(
            &txn,
            scope,
            "price",
            after.id,
            after.product_id,
            "updated",
            after.version,
            now,
        )
        .await?;
        audit::record_in(
            &txn,
            NewAuditEvent::in_scope(
                scope,
                AuditAction::PriceChanged,
                ip,
                save::price_change_details(before, &after),
            ),
        )
        .await?;
        touched.insert(after.product_id);
        outcome.variants_changed += 1;
    }
    for product_id in &touched {
        touch_product(&txn, *product_id, now).await?;
    }
    txn.commit().await?;
    outcome.products = touched.len();
    Ok(outcome)
}

/// Sets or adjusts the on-hand stock of every variant of the selected products, through the
/// ledger with the given reason.
#[allow(clippy::too_many_arguments)]
pub async fn bulk_change_stock(
    db: &Db,
    scope: &Scope,
    product_ids: &[Uuid],
    change: StockChange,
    reason: StockReason,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<BulkOutcome, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    match change {
        StockChange::Set(n) if !(0..=MAX_STOCK).contains(&n) => {
            return Err(CatalogError::field(
                "quantity",
                FieldError::OutOfRange {
                    min: 0,
                    max: MAX_STOCK,
                },
            ));
        }
        StockChange::Adjust(d) if d == 0 || d.abs() > MAX_STOCK => {
            return Err(CatalogError::field(
                "quantity",
                FieldError::OutOfRange {
                    min: -MAX_STOCK,
                    max: MAX_STOCK,
                },
            ));
        }
        _ => {}
    }
    let txn = begin_write(db).await?;
    let variants = selection(&txn, scope, product_ids).await?;
    let mut outcome = BulkOutcome::default();
    let mut products = std::collections::BTreeSet::new();
    for current in &variants {
        let delta = match change {
            StockChange::Set(n) => n - current.on_hand,
            StockChange::Adjust(d) => d,
        };
        if delta == 0 {
            continue;
        }
        let after = stock::move_stock(&txn, scope, current, delta, reason, "bulk", None, now)
            .await
            .map_err(|err| match err {
                CatalogError::Field { error, .. } => {
                    CatalogError::field(format!("sku:{}", current.sku), error)
                }
                other => other,
            })?;
        audit::record_in(
            &txn,
            NewAuditEvent::in_scope(
                scope,
                AuditAction::StockAdjusted,
                ip,
                json!({
                    "product_id": after.product_id,
                    "variant_id": after.id,
                    "sku": after.sku,
                    "reason": reason.code(),
                    "on_hand": { "old": current.on_hand, "new": after.on_hand },
                }),
            ),
        )
        .await?;
        products.insert(after.product_id);
        outcome.variants_changed += 1;
    }
    txn.commit().await?;
    outcome.products = products.len();
    Ok(outcome)
}

/// Deletes the selected products with their variants and ledgers; the outbox tells the
/// channels, the audit log keeps each title.
pub async fn bulk_delete(
    db: &Db,
    scope: &Scope,
    product_ids: &[Uuid],
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<BulkOutcome, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let variants = selection(&txn, scope, product_ids).await?;
    let mut ids = product_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for product_id in &ids {
        super::delete_product_in(&txn, scope, *product_id, now, ip).await?;
    }
    txn.commit().await?;
    Ok(BulkOutcome {
        products: ids.len(),
        variants_changed: variants.len(),
    })
}
