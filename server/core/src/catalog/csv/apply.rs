//! Writing a plan: every product through the catalog's own save, every stock target through
//! the ledger, all inside the caller's one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};
use serde_json::json;
use uuid::Uuid;

use super::{
    IMPORT_SOURCE, ImportReport,
    job::Progress,
    plan::{Placement, Plan, refused},
};
use crate::{
    access::{OrganizationScoped, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    catalog::{CatalogError, MissingVariants, StockReason, save_product_in, set_on_hand_in},
    entity::variant,
};

/// What an applied file did, by product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) created: u64,
    pub(super) updated: u64,
    pub(super) unchanged: u64,
}

#[derive(Debug)]
pub(super) enum ApplyError {
    /// The catalog's save refused a product after all (the report says where).
    Refused(ImportReport),
    /// The catalog changed between the check and the write; the plan no longer holds.
    ChangedMeanwhile,
    Catalog(CatalogError),
}

impl From<CatalogError> for ApplyError {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Conflict { .. } => Self::ChangedMeanwhile,
            other => Self::Catalog(other),
        }
    }
}

impl From<sea_orm::DbErr> for ApplyError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Catalog(err.into())
    }
}

/// Applies `plan`, made when the catalog was as `validated` says, inside `txn`. The caller
/// commits.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply(
    txn: &DatabaseTransaction,
    scope: &Scope,
    plan: Plan,
    skus: &[String],
    validated: &Placement,
    now: DateTime<Utc>,
    progress: &mut Progress<'_>,
) -> Result<Counts, ApplyError> {
    // Read again under the write lock: anything saved since the check voids the plan.
    let current = Placement::load(txn, scope, skus).await?;
    if !validated.still_holds(&current) {
        return Err(ApplyError::ChangedMeanwhile);
    }

    let mut counts = Counts::default();
    // Stock of variants the import creates: their ids exist only after the save.
    let mut new_stock: Vec<(String, i64)> = Vec::new();
    let mut rows_done = 0u64;
    for planned in plan.products {
        let mut changed = false;
        let skus_in_order: Vec<String> = planned
            .input
            .variants
            .iter()
            .map(|v| v.sku.as_str().to_owned())
            .collect();
        if !planned.unchanged {
            let outcome = save_product_in(
                txn,
                scope,
                planned.existing.map(|(id, _)| id),
                planned.existing.map(|(_, version)| version),
                planned.input,
                MissingVariants::Keep,
                now,
                None,
            )
            .await;
            match outcome {
                Ok(outcome) => changed = outcome.changed,
                Err(err @ CatalogError::Field { .. }) => {
                    let mut report = ImportReport::default();
                    refused(err, &planned.rows, &mut report);
                    return Err(ApplyError::Refused(report));
                }
                Err(err) => return Err(err.into()),
            }
        }
        for (sku, target) in skus_in_order.into_iter().zip(&planned.stock) {
            let Some(target) = *target else { continue };
            let Some(stored) = current.by_sku.get(&sku) else {
                if target != 0 {
                    new_stock.push((sku, target));
                }
                continue;
            };
            if stored.on_hand == target {
                continue;
            }
            let moved = set_on_hand_in(
                txn,
                scope,
                stored.id,
                target,
                StockReason::Import,
                IMPORT_SOURCE,
                now,
            )
            .await?;
            if moved {
                // As for a stock adjustment in the editor. (The opening stock of variants the
                // import creates is covered by their creation entry, as in the editor.)
                audit::record_in(
                    txn,
                    NewAuditEvent::in_scope(
                        scope,
                        AuditAction::StockAdjusted,
                        None,
                        json!({
                            "variant_id": stored.id,
                            "sku": sku,
                            "reason": StockReason::Import.code(),
                            "on_hand": { "old": stored.on_hand, "new": target },
                        }),
                    ),
                )
                .await
                .map_err(CatalogError::from)?;
                changed = true;
            }
        }
        match (planned.existing, changed) {
            (None, _) => counts.created += 1,
            (Some(_), true) => counts.updated += 1,
            (Some(_), false) => counts.unchanged += 1,
        }
        rows_done += planned.rows.len() as u64;
        progress.advance(rows_done).await?;
    }

    for chunk in new_stock.chunks(500) {
        let ids: HashMap<String, Uuid> = variant::Entity::find_in(scope)
            .filter(variant::Column::Sku.is_in(chunk.iter().map(|(sku, _)| sku.clone())))
            .all(txn)
            .await?
            .into_iter()
            .map(|v| (v.sku, v.id))
            .collect();
        for (sku, target) in chunk {
            let Some(&id) = ids.get(sku) else {
                return Err(ApplyError::ChangedMeanwhile);
            };
            set_on_hand_in(
                txn,
                scope,
                id,
                *target,
                StockReason::Import,
                IMPORT_SOURCE,
                now,
            )
            .await?;
        }
    }
    Ok(counts)
}
