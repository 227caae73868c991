//! Channel price rules: at most one per organization and marketplace. Stored here with the
//! catalog; the sync engine applies them (`PriceRule::apply`) to each variant's price when it
//! pushes prices to that marketplace. A marketplace without a rule gets the catalog price.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use shopmarkets_types::{Marketplace, PriceRule, Rounding};
use uuid::Uuid;

use super::CatalogError;
use crate::{
    access::{OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, begin_write},
    entity::price_rule,
};

/// A stored rule with the version an editor read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPriceRule {
    pub marketplace: Marketplace,
    pub rule: PriceRule,
    pub version: i64,
}

fn from_model(model: &price_rule::Model) -> Option<StoredPriceRule> {
    Some(StoredPriceRule {
        marketplace: Marketplace::from_code(&model.marketplace)?,
        rule: PriceRule {
            percent_basis_points: model.percent_basis_points,
            add_minor: model.add_minor,
            rounding: Rounding::from_code(&model.rounding)?,
        },
        version: model.version,
    })
}

fn rule_json(rule: &PriceRule) -> serde_json::Value {
    json!({
        "percent_basis_points": rule.percent_basis_points,
        "add_minor": rule.add_minor,
        "rounding": rule.rounding.code(),
    })
}

/// The organization's rules, in marketplace order.
pub async fn price_rules(db: &Db, scope: &Scope) -> Result<Vec<StoredPriceRule>, CatalogError> {
    scope.require(Permission::ViewCatalog)?;
    let mut rules: Vec<StoredPriceRule> = price_rule::Entity::find_in(scope)
        .order_by_asc(price_rule::Column::Marketplace)
        .all(db)
        .await?
        .iter()
        .filter_map(from_model)
        .collect();
    rules.sort_by_key(|r| r.marketplace);
    Ok(rules)
}

/// The rule the sync engine applies for a marketplace (identity when there is none).
pub async fn effective_rule(
    db: &Db,
    organization_id: Uuid,
    marketplace: Marketplace,
) -> Result<PriceRule, CatalogError> {
    Ok(price_rule::Entity::find()
        .filter(price_rule::Column::OrganizationId.eq(organization_id))
        .filter(price_rule::Column::Marketplace.eq(marketplace.code()))
        .one(db)
        .await?
        .as_ref()
        .and_then(from_model)
        .map_or(PriceRule::IDENTITY, |stored| stored.rule))
}

/// Sets (creates or replaces) a marketplace's rule. `expected_version` is the version the
/// editor read (`None` when it saw no rule); someone else's save in between is a conflict.
/// The identity rule removes the stored one: no rule and "change nothing" are the same.
pub async fn set_price_rule(
    db: &Db,
    scope: &Scope,
    marketplace: Marketplace,
    rule: PriceRule,
    expected_version: Option<i64>,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<Option<StoredPriceRule>, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    rule.check()
        .map_err(|(field, error)| CatalogError::field(field, error))?;
    let txn = begin_write(db).await?;
    let current = price_rule::Entity::find_in(scope)
        .filter(price_rule::Column::Marketplace.eq(marketplace.code()))
        .one(&txn)
        .await?;
    if current.as_ref().map(|c| c.version) != expected_version {
        return Err(CatalogError::Conflict {
            current_version: current.as_ref().map_or(0, |c| c.version),
        });
    }
    let old = current.as_ref().and_then(from_model).map(|s| s.rule);
    if old.unwrap_or(PriceRule::IDENTITY) == rule {
        return Ok(current.as_ref().and_then(from_model));
    }
    let stored = match (current, rule == PriceRule::IDENTITY) {
        (Some(current), true) => {
            price_rule::Entity::delete_by_id(current.id)
                .exec(&txn)
                .await?;
            None
        }
        (Some(current), false) => {
            let version = current.version + 1;
            let mut active: price_rule::ActiveModel = current.into();
            active.percent_basis_points = Set(rule.percent_basis_points);
            active.add_minor = Set(rule.add_minor);
            active.rounding = Set(rule.rounding.code().to_owned());
            active.version = Set(version);
            active.updated_at = Set(now);
            Some(active.update(&txn).await?)
        }
        (None, _) => Some(
            price_rule::ActiveModel {
                id: Set(Uuid::new_v4()),
                organization_id: Set(scope.organization_id()),
                marketplace: Set(marketplace.code().to_owned()),
                percent_basis_points: Set(rule.percent_basis_points),
                add_minor: Set(rule.add_minor),
                rounding: Set(rule.rounding.code().to_owned()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?,
        ),
    };
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::PriceRuleChanged,
            ip,
            json!({
                "marketplace": marketplace.code(),
                "old": old.as_ref().map(rule_json),
                "new": (rule != PriceRule::IDENTITY).then(|| rule_json(&rule)),
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(stored.as_ref().and_then(from_model))
}
