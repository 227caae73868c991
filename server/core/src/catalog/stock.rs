//! Stock: changed only through the ledger. Each movement is a row with its reason, source and
//! the resulting numbers, applied with one relative `UPDATE`, so concurrent moves all count.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use shopmarkets_types::FieldError;
use uuid::Uuid;

use super::{CatalogError, content::optional_text, outbox};
use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, begin_write},
    entity::{stock_movement, variant},
};

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockReason {
    Initial,
    Received,
    Counted,
    Damaged,
    Returned,
    Correction,
    Import,
}

impl StockReason {
    pub fn code(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Received => "received",
            Self::Counted => "counted",
            Self::Damaged => "damaged",
            Self::Returned => "returned",
            Self::Correction => "correction",
            Self::Import => "import",
        }
    }
}

/// Moves a variant's on-hand stock by `delta` (positive: more) through the ledger. Concurrent
/// adjustments all count; the result may not go below zero.
#[allow(clippy::too_many_arguments)]
pub async fn adjust_stock(
    db: &Db,
    scope: &Scope,
    variant_id: Uuid,
    delta: i64,
    reason: StockReason,
    note: Option<&str>,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<variant::Model, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    if delta == 0 || delta.unsigned_abs() > 1_000_000_000 {
        return Err(CatalogError::field("delta", FieldError::Required));
    }
    let note = optional_text("note", note, 200)?;
    let txn = begin_write(db).await?;
    let current = variant::Entity::find_by_id_in(scope, variant_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let after = move_stock(&txn, scope, &current, delta, reason, "catalog", note, now).await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::StockAdjusted,
            ip,
            json!({
                "variant_id": after.id,
                "sku": after.sku,
                "reason": reason.code(),
                "on_hand": { "old": after.on_hand - delta, "new": after.on_hand },
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// The ledger row and the relative update, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn move_stock(
    txn: &DatabaseTransaction,
    scope: &Scope,
    current: &variant::Model,
    delta: i64,
    reason: StockReason,
    source: &str,
    note: Option<String>,
    now: DateTime<Utc>,
) -> Result<variant::Model, CatalogError> {
    let updated = variant::Entity::update_many()
        .col_expr(
            variant::Column::OnHand,
            Expr::col(variant::Column::OnHand).add(delta),
        )
        .col_expr(variant::Column::UpdatedAt, Expr::value(now))
        .filter(variant::Column::Id.eq(current.id))
        // Never below zero; a reduction also never below what open orders reserved, so the
        // available quantity does not turn negative by a stock correction.
        .filter(Expr::col(variant::Column::OnHand).add(delta).gte(0))
        .filter(if delta < 0 {
            Expr::col(variant::Column::OnHand)
                .add(delta)
                .gte(Expr::col(variant::Column::Reserved))
        } else {
            Expr::value(true)
        })
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CatalogError::field("delta", FieldError::NegativeAmount));
    }
    let after = variant::Entity::find_by_id(current.id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    stock_movement::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(scope.organization_id()),
        variant_id: Set(current.id),
        on_hand_delta: Set(delta),
        reserved_delta: Set(0),
        on_hand_after: Set(after.on_hand),
        reserved_after: Set(after.reserved),
        reason: Set(reason.code().to_owned()),
        source: Set(source.to_owned()),
        note: Set(note),
        actor_user_id: Set(scope.user_id()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    // The stock "version" is the number of ledger rows: it grows with every movement.
    let movements = stock_movement::Entity::find()
        .filter(stock_movement::Column::VariantId.eq(current.id))
        .count(txn)
        .await?;
    let version = i64::try_from(movements).unwrap_or(i64::MAX);
    outbox(
        txn,
        scope,
        "stock",
        after.id,
        after.product_id,
        "updated",
        version,
        now,
    )
    .await?;
    Ok(after)
}

/// The ledger of a variant, newest first.
pub async fn stock_movements(
    db: &Db,
    scope: &Scope,
    variant_id: Uuid,
) -> Result<Vec<stock_movement::Model>, CatalogError> {
    scope.require(Permission::ViewCatalog)?;
    Ok(stock_movement::Entity::find_in(scope)
        .filter(stock_movement::Column::VariantId.eq(variant_id))
        .order_by_desc(stock_movement::Column::CreatedAt)
        .all(db)
        .await?)
}
