//! Saving a product as a whole — content, option axes and variants — the way the editor and
//! the CSV import both do it.
//!
//! The product row's `version` is the version of the whole product as the editor shows it:
//! content, option axes and every variant's SKU, GTIN, options and price. Any of these
//! changing adds one, so an editor holding an older version gets [`CatalogError::Conflict`]
//! instead of silently overwriting a price someone changed in bulk meanwhile. Stock is not part
//! of it: it moves through the ledger, relative and concurrent by design.
//!
//! Only what differs is written. Saving an unchanged product writes nothing at all — no
//! version, no outbox row, no audit entry — which is what makes re-importing a file a no-op.

use std::{collections::HashMap, net::IpAddr};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use shopmarkets_types::{FieldError, Gtin, Money, Sku};
use uuid::Uuid;

use super::{
    CatalogError, MAX_OPTION_AXES, MAX_VARIANTS, StockReason,
    content::{CheckedContent, check_content, check_text},
    content_changes, outbox, stock,
};
use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::is_unique_violation,
    entity::{product, variant},
};

/// A variant as the editor or the import sends it. `id` names an existing variant of the
/// product; without it the variant is new.
#[derive(Debug, Clone)]
pub struct VariantInput {
    pub id: Option<Uuid>,
    pub sku: Sku,
    pub gtin: Option<Gtin>,
    /// One value per option axis of the product (none for a product without options).
    pub option_values: Vec<String>,
    pub price: Money,
}

/// A product as a whole, without stock.
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub content: super::ProductContent,
    pub option_names: Vec<String>,
    pub variants: Vec<VariantInput>,
}

/// What happens to existing variants the input does not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingVariants {
    /// The editor sends the full list: a variant left out was removed.
    Remove,
    /// An import row set never deletes.
    Keep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveOutcome {
    pub product_id: Uuid,
    /// Whether anything was written.
    pub changed: bool,
    /// The product's version after the save.
    pub version: i64,
}

/// A stored variant as input that changes nothing about it.
pub(super) fn as_input(stored: &variant::Model) -> Result<VariantInput, CatalogError> {
    let stored_value = |error| CatalogError::field(format!("sku:{}", stored.sku), error);
    let currency = shopmarkets_types::Currency::parse(&stored.currency).map_err(stored_value)?;
    Ok(VariantInput {
        id: Some(stored.id),
        sku: Sku::parse(&stored.sku).map_err(stored_value)?,
        gtin: stored
            .gtin
            .as_deref()
            .map(Gtin::parse)
            .transpose()
            .map_err(stored_value)?,
        option_values: serde_json::from_str(&stored.option_values).unwrap_or_default(),
        price: Money::new(stored.price_minor, currency).map_err(stored_value)?,
    })
}

/// Checks the option axes and each variant's option values; returns the trimmed axis names.
pub(super) fn check_options(
    option_names: &[String],
    variants: &[VariantInput],
) -> Result<Vec<String>, CatalogError> {
    if option_names.len() > MAX_OPTION_AXES {
        return Err(CatalogError::field(
            "option_names",
            FieldError::TooLong {
                max: MAX_OPTION_AXES,
            },
        ));
    }
    let names = option_names
        .iter()
        .enumerate()
        .map(|(i, name)| check_text(&format!("option_names.{i}"), name, 40, true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen_names = std::collections::HashSet::new();
    for (i, name) in names.iter().enumerate() {
        if !seen_names.insert(name.to_lowercase()) {
            return Err(CatalogError::field(
                format!("option_names.{i}"),
                FieldError::AlreadyExists,
            ));
        }
    }
    if variants.is_empty() {
        return Err(CatalogError::field("variants", FieldError::Required));
    }
    if variants.len() > MAX_VARIANTS || (names.is_empty() && variants.len() > 1) {
        // Without option axes there is nothing to tell variants apart: one default variant.
        return Err(CatalogError::field(
            "variants",
            FieldError::TooLong {
                max: if names.is_empty() { 1 } else { MAX_VARIANTS },
            },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut skus = std::collections::HashSet::new();
    for (i, variant) in variants.iter().enumerate() {
        if variant.option_values.len() != names.len() {
            return Err(CatalogError::field(
                format!("variants.{i}.option_values"),
                FieldError::Required,
            ));
        }
        for (j, value) in variant.option_values.iter().enumerate() {
            check_text(&format!("variants.{i}.option_values.{j}"), value, 60, true)?;
        }
        let key: Vec<String> = variant
            .option_values
            .iter()
            .map(|v| v.trim().to_lowercase())
            .collect();
        if !seen.insert(key) {
            return Err(CatalogError::field(
                format!("variants.{i}.option_values"),
                FieldError::AlreadyExists,
            ));
        }
        if !skus.insert(variant.sku.as_str().to_owned()) {
            return Err(CatalogError::field(
                format!("variants.{i}.sku"),
                FieldError::AlreadyExists,
            ));
        }
    }
    Ok(names)
}

fn option_values_json(values: &[String]) -> String {
    json!(values.iter().map(|v| v.trim()).collect::<Vec<_>>()).to_string()
}

fn content_differs(stored: &product::Model, new: &CheckedContent, option_names: &str) -> bool {
    stored.title != new.title
        || stored.brand != new.brand
        || stored.description_html != new.description_html
        || stored.category != new.category
        || stored.condition != new.condition
        || stored.weight_grams != new.weight_grams
        || stored.length_mm != new.dimensions.length_mm
        || stored.width_mm != new.dimensions.width_mm
        || stored.height_mm != new.dimensions.height_mm
        || stored.attributes != new.attributes
        || stored.option_names != option_names
}

/// Creates (`product_id` `None`) or updates a product inside the caller's transaction. Writes
/// only what differs; variants are matched by id, new ones created, missing ones handled as
/// `missing` says. `expected_version` is the version the caller read (editor); `None` saves
/// over whatever is current (import, which holds the rows in its own transaction).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn save_product_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    product_id: Option<Uuid>,
    expected_version: Option<i64>,
    input: ProductInput,
    missing: MissingVariants,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<SaveOutcome, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let content = check_content(&input.content)?;
    let option_names = check_options(&input.option_names, &input.variants)?;
    let option_names_json = json!(option_names).to_string();

    let Some(product_id) = product_id else {
        return create_in(
            txn,
            scope,
            content,
            option_names_json,
            input.variants,
            now,
            ip,
        )
        .await;
    };

    let before = product::Entity::find_by_id_in(scope, product_id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(CatalogError::Conflict {
            current_version: before.version,
        });
    }
    let existing = variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.eq(product_id))
        .order_by_asc(variant::Column::Position)
        .all(txn)
        .await?;
    let mut by_id: HashMap<Uuid, variant::Model> =
        existing.iter().map(|v| (v.id, v.clone())).collect();

    let mut summary = VariantSummary::default();
    let mut price_changes = Vec::new();

    // Variants that go away first, so their SKUs are free for the ones that stay or come.
    let mentioned: std::collections::HashSet<Uuid> =
        input.variants.iter().filter_map(|v| v.id).collect();
    for (i, v) in input.variants.iter().enumerate() {
        if let Some(id) = v.id
            && !by_id.contains_key(&id)
        {
            return Err(CatalogError::field(
                format!("variants.{i}.id"),
                FieldError::NotFound,
            ));
        }
    }
    let kept_count = match missing {
        MissingVariants::Remove => {
            for gone in existing.iter().filter(|v| !mentioned.contains(&v.id)) {
                variant::Entity::delete_by_id(gone.id).exec(txn).await?;
                by_id.remove(&gone.id);
                outbox(
                    txn,
                    scope,
                    "variant",
                    gone.id,
                    product_id,
                    "deleted",
                    gone.version + 1,
                    now,
                )
                .await?;
                summary.removed.push(gone.sku.clone());
            }
            0
        }
        MissingVariants::Keep => existing
            .iter()
            .filter(|v| !mentioned.contains(&v.id))
            .count(),
    };
    if option_names.is_empty() && kept_count + input.variants.len() > 1 {
        return Err(CatalogError::field(
            "variants",
            FieldError::TooLong { max: 1 },
        ));
    }
    if kept_count > 0 && before.option_names != option_names_json {
        // Kept variants carry values for the old axes; changing the axes needs the full list.
        return Err(CatalogError::field(
            "option_names",
            FieldError::OptionAxesChanged,
        ));
    }

    let next_position = existing.iter().map(|v| v.position).max().unwrap_or(-1) + 1;
    let mut appended = 0;
    for (i, input_variant) in input.variants.into_iter().enumerate() {
        let position = match missing {
            MissingVariants::Remove => i as i32,
            MissingVariants::Keep => match input_variant.id.and_then(|id| by_id.get(&id)) {
                Some(current) => current.position,
                None => {
                    appended += 1;
                    next_position + appended - 1
                }
            },
        };
        match input_variant.id.and_then(|id| by_id.get(&id)) {
            Some(current) => {
                if let Some(change) =
                    update_variant_in(txn, scope, current, &input_variant, position, i, now).await?
                {
                    if change.other_fields {
                        summary.changed.push(input_variant.sku.as_str().to_owned());
                    }
                    if let Some(price) = change.price {
                        price_changes.push(price);
                    }
                }
            }
            None => {
                insert_variant_in(txn, scope, product_id, &input_variant, position, i, now).await?;
                summary.added.push(input_variant.sku.as_str().to_owned());
            }
        }
    }

    let content_changed = content_differs(&before, &content, &option_names_json);
    if !content_changed && summary.is_empty() && price_changes.is_empty() {
        return Ok(SaveOutcome {
            product_id,
            changed: false,
            version: before.version,
        });
    }
    let mut update = product::Entity::update_many()
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        );
    if content_changed {
        update = update
            .col_expr(product::Column::Title, Expr::value(content.title))
            .col_expr(
                product::Column::SearchText,
                Expr::value(content.search_text),
            )
            .col_expr(product::Column::Brand, Expr::value(content.brand))
            .col_expr(
                product::Column::DescriptionHtml,
                Expr::value(content.description_html),
            )
            .col_expr(
                product::Column::DescriptionText,
                Expr::value(content.description_text),
            )
            .col_expr(product::Column::Category, Expr::value(content.category))
            .col_expr(product::Column::Condition, Expr::value(content.condition))
            .col_expr(
                product::Column::WeightGrams,
                Expr::value(content.weight_grams),
            )
            .col_expr(
                product::Column::LengthMm,
                Expr::value(content.dimensions.length_mm),
            )
            .col_expr(
                product::Column::WidthMm,
                Expr::value(content.dimensions.width_mm),
            )
            .col_expr(
                product::Column::HeightMm,
                Expr::value(content.dimensions.height_mm),
            )
            .col_expr(product::Column::Attributes, Expr::value(content.attributes))
            .col_expr(product::Column::OptionNames, Expr::value(option_names_json));
    }
    let updated = update
        .filter(product::Column::Id.eq(product_id))
        .filter(product::Column::Version.eq(before.version))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CatalogError::Conflict {
            current_version: before.version + 1,
        });
    }
    let after = product::Entity::find_by_id(product_id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if content_changed {
        outbox(
            txn,
            scope,
            "product",
            product_id,
            product_id,
            "updated",
            after.version,
            now,
        )
        .await?;
    }
    if content_changed || !summary.is_empty() {
        audit::record_in(
            txn,
            NewAuditEvent::in_scope(
                scope,
                AuditAction::ProductUpdated,
                ip,
                json!({
                    "product_id": product_id,
                    "changes": content_changes(&before, &after),
                    "variants": summary.to_json(),
                    "version": after.version,
                }),
            ),
        )
        .await?;
    }
    for change in price_changes {
        audit::record_in(
            txn,
            NewAuditEvent::in_scope(scope, AuditAction::PriceChanged, ip, change),
        )
        .await?;
    }
    Ok(SaveOutcome {
        product_id,
        changed: true,
        version: after.version,
    })
}

/// Which variants a save added, removed or changed (by SKU), for the audit entry.
#[derive(Default)]
struct VariantSummary {
    added: Vec<String>,
    removed: Vec<String>,
    changed: Vec<String>,
}

impl VariantSummary {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    fn to_json(&self) -> serde_json::Value {
        json!({ "added": self.added, "removed": self.removed, "changed": self.changed })
    }
}

/// The audit details of one price change.
pub(super) fn price_change_details(
    before: &variant::Model,
    after: &variant::Model,
) -> serde_json::Value {
    json!({
        "product_id": after.product_id,
        "variant_id": after.id,
        "sku": after.sku,
        "price": {
            "old": { "minor": before.price_minor, "currency": before.currency },
            "new": { "minor": after.price_minor, "currency": after.currency },
        },
    })
}

struct VariantChange {
    other_fields: bool,
    price: Option<serde_json::Value>,
}

async fn update_variant_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    current: &variant::Model,
    input: &VariantInput,
    position: i32,
    index: usize,
    now: DateTime<Utc>,
) -> Result<Option<VariantChange>, CatalogError> {
    let gtin = input.gtin.as_ref().map(|g| g.as_str().to_owned());
    let options = option_values_json(&input.option_values);
    let other_fields = current.sku != input.sku.as_str()
        || current.gtin != gtin
        || current.option_values != options
        || current.position != position;
    let price_changed = current.price_minor != input.price.minor()
        || current.currency != input.price.currency().code();
    if !other_fields && !price_changed {
        return Ok(None);
    }
    let result = variant::Entity::update_many()
        .col_expr(variant::Column::Sku, Expr::value(input.sku.as_str()))
        .col_expr(variant::Column::Gtin, Expr::value(gtin))
        .col_expr(variant::Column::OptionValues, Expr::value(options))
        .col_expr(variant::Column::Position, Expr::value(position))
        .col_expr(
            variant::Column::PriceMinor,
            Expr::value(input.price.minor()),
        )
        .col_expr(
            variant::Column::Currency,
            Expr::value(input.price.currency().code()),
        )
        .col_expr(variant::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            variant::Column::Version,
            Expr::col(variant::Column::Version).add(1),
        )
        .filter(variant::Column::Id.eq(current.id))
        .exec(txn)
        .await;
    match result {
        Ok(_) => {}
        Err(err) if is_unique_violation(&err) => {
            return Err(CatalogError::field(
                format!("variants.{index}.sku"),
                FieldError::AlreadyExists,
            ));
        }
        Err(err) => return Err(err.into()),
    }
    let after = variant::Entity::find_by_id(current.id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if other_fields {
        outbox(
            txn,
            scope,
            "variant",
            after.id,
            after.product_id,
            "updated",
            after.version,
            now,
        )
        .await?;
    }
    if price_changed {
        outbox(
            txn,
            scope,
            "price",
            after.id,
            after.product_id,
            "updated",
            after.version,
            now,
        )
        .await?;
    }
    Ok(Some(VariantChange {
        other_fields,
        price: price_changed.then(|| price_change_details(current, &after)),
    }))
}

async fn insert_variant_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    product_id: Uuid,
    input: &VariantInput,
    position: i32,
    index: usize,
    now: DateTime<Utc>,
) -> Result<variant::Model, CatalogError> {
    let inserted = variant::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(scope.organization_id()),
        product_id: Set(product_id),
        sku: Set(input.sku.as_str().to_owned()),
        gtin: Set(input.gtin.as_ref().map(|g| g.as_str().to_owned())),
        option_values: Set(option_values_json(&input.option_values)),
        price_minor: Set(input.price.minor()),
        currency: Set(input.price.currency().code().to_owned()),
        on_hand: Set(0),
        reserved: Set(0),
        position: Set(position),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await;
    let inserted = match inserted {
        Ok(v) => v,
        Err(err) if is_unique_violation(&err) => {
            return Err(CatalogError::field(
                format!("variants.{index}.sku"),
                FieldError::AlreadyExists,
            ));
        }
        Err(err) => return Err(err.into()),
    };
    outbox(
        txn,
        scope,
        "variant",
        inserted.id,
        product_id,
        "created",
        1,
        now,
    )
    .await?;
    Ok(inserted)
}

async fn create_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    content: CheckedContent,
    option_names_json: String,
    variants: Vec<VariantInput>,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<SaveOutcome, CatalogError> {
    let product = product::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(scope.organization_id()),
        title: Set(content.title),
        search_text: Set(content.search_text),
        brand: Set(content.brand),
        description_html: Set(content.description_html),
        description_text: Set(content.description_text),
        category: Set(content.category),
        condition: Set(content.condition.to_owned()),
        option_names: Set(option_names_json),
        attributes: Set(content.attributes),
        weight_grams: Set(content.weight_grams),
        length_mm: Set(content.dimensions.length_mm),
        width_mm: Set(content.dimensions.width_mm),
        height_mm: Set(content.dimensions.height_mm),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    outbox(
        txn, scope, "product", product.id, product.id, "created", 1, now,
    )
    .await?;
    for (position, variant) in variants.iter().enumerate() {
        insert_variant_in(
            txn,
            scope,
            product.id,
            variant,
            position as i32,
            position,
            now,
        )
        .await?;
    }
    audit::record_in(
        txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ProductCreated,
            ip,
            json!({
                "product_id": product.id,
                "title": product.title,
                "variants": variants.iter().map(|v| v.sku.as_str()).collect::<Vec<_>>(),
            }),
        ),
    )
    .await?;
    Ok(SaveOutcome {
        product_id: product.id,
        changed: true,
        version: 1,
    })
}

/// Sets a variant's on-hand stock to `target` through the ledger: one movement of
/// `target − current`, none when they are equal. Returns whether stock moved.
pub(crate) async fn set_on_hand_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    variant_id: Uuid,
    target: i64,
    reason: StockReason,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    if !(0..=super::MAX_STOCK).contains(&target) {
        return Err(CatalogError::field(
            "on_hand",
            FieldError::OutOfRange {
                min: 0,
                max: super::MAX_STOCK,
            },
        ));
    }
    let current = variant::Entity::find_by_id_in(scope, variant_id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let delta = target - current.on_hand;
    if delta == 0 {
        return Ok(false);
    }
    stock::move_stock(txn, scope, &current, delta, reason, source, None, now).await?;
    Ok(true)
}
