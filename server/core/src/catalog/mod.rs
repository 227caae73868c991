//! The central catalog: products with variants, prices and stock — the one source every
//! channel is fed from.
//!
//! Rules every function here keeps:
//! - Everything is read and written through a [`Scope`]: another organization's product is
//!   [`AccessError::NotFound`]; reading needs [`Permission::ViewCatalog`], changing
//!   [`Permission::EditCatalog`].
//! - Every committed change writes its [`sync_outbox`] rows in the same transaction (what changed,
//!   which entity, its new version), so the sync engine sees each change exactly once and never
//!   one that was rolled back.
//! - Product content and prices use optimistic concurrency: the caller passes the version it
//!   read; if someone saved in between, the change is refused with [`CatalogError::Conflict`]
//!   and nothing is overwritten.
//! - Stock changes only through the ledger ([`adjust_stock`]): each movement is a row with its
//!   reason and source and the resulting numbers, applied with one relative `UPDATE`, so two
//!   concurrent adjustments both count.

mod bulk;
mod content;
pub mod csv;
pub mod description;
mod list;
mod price_rules;
mod save;
mod stock;

pub use content::{
    Attribute, AttributeValue, Condition, Dimensions, MAX_ATTRIBUTES, MAX_DIMENSION_MM,
    MAX_WEIGHT_GRAMS, ProductContent,
};
pub use save::{MissingVariants, ProductInput, SaveOutcome, VariantInput};
#[allow(unused_imports)] // used by the CSV import
pub(crate) use save::{save_product_in, set_on_hand_in};

pub use bulk::{
    BulkOutcome, MAX_BULK, StockChange, bulk_change_price, bulk_change_stock, bulk_delete,
};
pub use list::{MAX_PAGE, ProductPage, ProductQuery, ProductRow, StockFilter, list_products};
pub use price_rules::{StoredPriceRule, effective_rule, price_rules, set_price_rule};
pub use stock::{StockReason, adjust_stock, stock_movements};

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, NotSet,
    QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use shopmarkets_types::{FieldError, Gtin, Money, Sku};
use uuid::Uuid;

use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, DbError, begin_write},
    entity::{product, sync_outbox, variant},
};

/// At most this many option axes (size, colour, material).
pub const MAX_OPTION_AXES: usize = 3;
/// At most this many variants per product.
pub const MAX_VARIANTS: usize = 250;
/// The most units of one variant the catalog counts.
pub const MAX_STOCK: i64 = 1_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Access(#[from] AccessError),
    /// An input was refused; `field` names the form field (`variants.2.sku` for the third
    /// variant's SKU).
    #[error("{field}: {error}")]
    Field { field: String, error: FieldError },
    /// Someone else saved this record since the caller read it.
    #[error("changed by someone else meanwhile (now version {current_version})")]
    Conflict { current_version: i64 },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sea_orm::DbErr> for CatalogError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

impl CatalogError {
    pub(crate) fn field(field: impl Into<String>, error: FieldError) -> Self {
        Self::Field {
            field: field.into(),
            error,
        }
    }
}

/// One variant of a new product.
#[derive(Debug, Clone)]
pub struct NewVariant {
    pub sku: Sku,
    pub gtin: Option<Gtin>,
    /// One value per option axis of the product (none for a product without options).
    pub option_values: Vec<String>,
    pub price: Money,
    pub on_hand: i64,
}

/// A product to create. A product without option axes has exactly one (default) variant.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub content: ProductContent,
    pub option_names: Vec<String>,
    pub variants: Vec<NewVariant>,
}

/// A product with its variants, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDetails {
    pub product: product::Model,
    pub variants: Vec<variant::Model>,
}

/// Creates a product with its variants, their opening stock in the ledger and the outbox rows.
pub async fn create_product(
    db: &Db,
    scope: &Scope,
    new: NewProduct,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<ProductDetails, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    for (i, variant) in new.variants.iter().enumerate() {
        if !(0..=MAX_STOCK).contains(&variant.on_hand) {
            return Err(CatalogError::field(
                format!("variants.{i}.on_hand"),
                FieldError::OutOfRange {
                    min: 0,
                    max: MAX_STOCK,
                },
            ));
        }
    }
    let opening: Vec<i64> = new.variants.iter().map(|v| v.on_hand).collect();
    let input = ProductInput {
        content: new.content,
        option_names: new.option_names,
        variants: new
            .variants
            .into_iter()
            .map(|v| VariantInput {
                id: None,
                sku: v.sku,
                gtin: v.gtin,
                option_values: v.option_values,
                price: v.price,
            })
            .collect(),
    };
    let txn = begin_write(db).await?;
    let saved = save::save_product_in(
        &txn,
        scope,
        None,
        None,
        input,
        MissingVariants::Remove,
        now,
        ip,
    )
    .await?;
    let variants = variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.eq(saved.product_id))
        .order_by_asc(variant::Column::Position)
        .all(&txn)
        .await?;
    for (variant, on_hand) in variants.iter().zip(opening) {
        save::set_on_hand_in(
            &txn,
            scope,
            variant.id,
            on_hand,
            StockReason::Initial,
            "catalog",
            now,
        )
        .await?;
    }
    txn.commit().await?;
    get_product(db, scope, saved.product_id).await
}

/// Saves a product as the editor sends it: content, option axes and the full list of variants
/// (a variant left out is removed). `expected_version` is the version the editor loaded.
pub async fn save_product(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
    expected_version: i64,
    input: ProductInput,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<SaveOutcome, CatalogError> {
    let txn = begin_write(db).await?;
    let outcome = save::save_product_in(
        &txn,
        scope,
        Some(product_id),
        Some(expected_version),
        input,
        MissingVariants::Remove,
        now,
        ip,
    )
    .await?;
    txn.commit().await?;
    Ok(outcome)
}

/// A product of the scope's organization with its variants in order.
pub async fn get_product(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
) -> Result<ProductDetails, CatalogError> {
    scope.require(Permission::ViewCatalog)?;
    let product = product::Entity::find_by_id_in(scope, product_id)
        .one(db)
        .await?
        .ok_or(AccessError::NotFound)?;
    let variants = variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.eq(product_id))
        .order_by_asc(variant::Column::Position)
        .all(db)
        .await?;
    Ok(ProductDetails { product, variants })
}

/// Saves new content for a product read at `expected_version`, keeping its options and
/// variants: the same write path as a whole-product save.
pub async fn update_content(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
    expected_version: i64,
    content: ProductContent,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<product::Model, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let product = product::Entity::find_by_id_in(scope, product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let variants = variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.eq(product_id))
        .order_by_asc(variant::Column::Position)
        .all(&txn)
        .await?;
    let input = ProductInput {
        content,
        option_names: serde_json::from_str(&product.option_names).unwrap_or_default(),
        variants: variants
            .iter()
            .map(save::as_input)
            .collect::<Result<_, _>>()?,
    };
    save::save_product_in(
        &txn,
        scope,
        Some(product_id),
        Some(expected_version),
        input,
        MissingVariants::Keep,
        now,
        ip,
    )
    .await?;
    let product = product::Entity::find_by_id(product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    txn.commit().await?;
    Ok(product)
}

/// Sets a variant's price, read at `expected_version`.
pub async fn set_price(
    db: &Db,
    scope: &Scope,
    variant_id: Uuid,
    expected_version: i64,
    price: Money,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<variant::Model, CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let before = variant::Entity::find_by_id_in(scope, variant_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let updated = variant::Entity::update_many()
        .col_expr(variant::Column::PriceMinor, Expr::value(price.minor()))
        .col_expr(
            variant::Column::Currency,
            Expr::value(price.currency().code()),
        )
        .col_expr(variant::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            variant::Column::Version,
            Expr::col(variant::Column::Version).add(1),
        )
        .filter(variant::Column::Id.eq(variant_id))
        .filter(variant::Column::OrganizationId.eq(scope.organization_id()))
        .filter(variant::Column::Version.eq(expected_version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CatalogError::Conflict {
            current_version: before.version,
        });
    }
    let after = variant::Entity::find_by_id(variant_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    touch_product(&txn, after.product_id, now).await?;
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
            save::price_change_details(&before, &after),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a product with its variants and ledger; the outbox tells the channels. Its images'
/// stored files go with the next media sweep once nothing else uses them.
pub async fn delete_product(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<(), CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    delete_product_in(&txn, scope, product_id, now, ip).await?;
    txn.commit().await?;
    Ok(())
}

pub(crate) async fn delete_product_in(
    txn: &DatabaseTransaction,
    scope: &Scope,
    product_id: Uuid,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<(), CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let product = product::Entity::find_by_id_in(scope, product_id)
        .one(txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    product::Entity::delete_by_id(product.id).exec(txn).await?;
    outbox(
        txn,
        scope,
        "product",
        product.id,
        product.id,
        "deleted",
        product.version + 1,
        now,
    )
    .await?;
    audit::record_in(
        txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ProductDeleted,
            ip,
            json!({ "product_id": product.id, "title": product.title }),
        ),
    )
    .await?;
    Ok(())
}

/// A variant-level change (price) is a change of the product as the editor shows it: one more
/// version, so an editor still holding the old one gets a conflict instead of overwriting it.
pub(crate) async fn touch_product(
    conn: &impl ConnectionTrait,
    product_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    product::Entity::update_many()
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// What a content save changed, field by field as `{ "old": …, "new": … }` for the audit log.
/// The description is long and may hold personal wording: only its length is recorded.
fn content_changes(before: &product::Model, after: &product::Model) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    let mut compare = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changes.insert(field.to_owned(), json!({ "old": old, "new": new }));
        }
    };
    compare("title", json!(before.title), json!(after.title));
    compare("brand", json!(before.brand), json!(after.brand));
    compare("category", json!(before.category), json!(after.category));
    compare("condition", json!(before.condition), json!(after.condition));
    compare(
        "weight_grams",
        json!(before.weight_grams),
        json!(after.weight_grams),
    );
    compare("length_mm", json!(before.length_mm), json!(after.length_mm));
    compare("width_mm", json!(before.width_mm), json!(after.width_mm));
    compare("height_mm", json!(before.height_mm), json!(after.height_mm));
    compare(
        "attributes",
        serde_json::from_str(&before.attributes).unwrap_or_default(),
        serde_json::from_str(&after.attributes).unwrap_or_default(),
    );
    compare(
        "description_chars",
        json!(before.description_html.chars().count()),
        json!(after.description_html.chars().count()),
    );
    if before.description_html != after.description_html
        && !changes.contains_key("description_chars")
    {
        changes.insert("description_chars".to_owned(), json!({ "changed": true }));
    }
    serde_json::Value::Object(changes)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn outbox(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    entity: &str,
    entity_id: Uuid,
    product_id: Uuid,
    change: &str,
    version: i64,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    sync_outbox::ActiveModel {
        id: NotSet,
        organization_id: Set(scope.organization_id()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        product_id: Set(product_id),
        change: Set(change.to_owned()),
        version: Set(version),
        created_at: Set(now),
        processed_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Unprocessed outbox rows of every organization, oldest first (the sync engine's feed).
pub async fn pending_changes(db: &Db, limit: u64) -> Result<Vec<sync_outbox::Model>, DbError> {
    use sea_orm::QuerySelect;
    Ok(sync_outbox::Entity::find()
        .filter(sync_outbox::Column::ProcessedAt.is_null())
        .order_by_asc(sync_outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
