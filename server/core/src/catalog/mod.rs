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

pub mod description;
mod list;
mod stock;

pub use list::{MAX_PAGE, ProductPage, ProductQuery, ProductRow, StockFilter, list_products};
pub use stock::{StockReason, adjust_stock, stock_movements};

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use shopmarkets_types::{FieldError, Gtin, Money, Sku};
use uuid::Uuid;

use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, DbError, begin_write, is_unique_violation},
    entity::{product, sync_outbox, variant},
};

/// At most this many option axes (size, colour, material).
pub const MAX_OPTION_AXES: usize = 3;
/// At most this many variants per product.
pub const MAX_VARIANTS: usize = 250;

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
    fn field(field: impl Into<String>, error: FieldError) -> Self {
        Self::Field {
            field: field.into(),
            error,
        }
    }
}

/// The state a product is sold in (marketplaces ask for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    New,
    Refurbished,
    UsedLikeNew,
    UsedGood,
    UsedAcceptable,
}

impl Condition {
    pub fn code(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Refurbished => "refurbished",
            Self::UsedLikeNew => "used_like_new",
            Self::UsedGood => "used_good",
            Self::UsedAcceptable => "used_acceptable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::New,
            Self::Refurbished,
            Self::UsedLikeNew,
            Self::UsedGood,
            Self::UsedAcceptable,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// The content of a product, as the editor saves it (already parsed where a type exists).
#[derive(Debug, Clone)]
pub struct ProductContent {
    pub title: String,
    pub brand: Option<String>,
    /// Merchant HTML; cleaned before it is stored.
    pub description_html: String,
    pub category: Option<String>,
    pub condition: Condition,
    pub weight_grams: Option<i32>,
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

fn check_text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, CatalogError> {
    let value = value.trim();
    if value.is_empty() && required {
        return Err(CatalogError::field(field, FieldError::Required));
    }
    if value.chars().count() > max {
        return Err(CatalogError::field(field, FieldError::TooLong { max }));
    }
    if value.chars().any(char::is_control) {
        return Err(CatalogError::field(field, FieldError::ControlCharacters));
    }
    Ok(value.to_owned())
}

fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, CatalogError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => check_text(field, v, max, true).map(Some),
        None => Ok(None),
    }
}

/// The content as stored: checked lengths, cleaned HTML and its text.
struct CheckedContent {
    title: String,
    search_text: String,
    brand: Option<String>,
    description_html: String,
    description_text: String,
    category: Option<String>,
    condition: &'static str,
    weight_grams: Option<i32>,
}

fn check_content(content: &ProductContent) -> Result<CheckedContent, CatalogError> {
    let description_html = description::sanitize(&content.description_html);
    if description_html.chars().count() > description::MAX_DESCRIPTION_CHARS {
        return Err(CatalogError::field(
            "description",
            FieldError::TooLong {
                max: description::MAX_DESCRIPTION_CHARS,
            },
        ));
    }
    if content
        .weight_grams
        .is_some_and(|w| !(0..=1_000_000).contains(&w))
    {
        return Err(CatalogError::field(
            "weight_grams",
            FieldError::TooLong { max: 1_000_000 },
        ));
    }
    let title = check_text("title", &content.title, 200, true)?;
    let brand = optional_text("brand", content.brand.as_deref(), 120)?;
    Ok(CheckedContent {
        search_text: search_text(&title, brand.as_deref()),
        title,
        brand,
        description_text: description::plain_text(&description_html),
        description_html,
        category: optional_text("category", content.category.as_deref(), 200)?,
        condition: content.condition.code(),
        weight_grams: content.weight_grams,
    })
}

/// What the list searches: title and brand, lower-cased with Unicode rules.
fn search_text(title: &str, brand: Option<&str>) -> String {
    match brand {
        Some(brand) => format!("{} {}", title.to_lowercase(), brand.to_lowercase()),
        None => title.to_lowercase(),
    }
}

fn check_options(new: &NewProduct) -> Result<Vec<String>, CatalogError> {
    if new.option_names.len() > MAX_OPTION_AXES {
        return Err(CatalogError::field(
            "option_names",
            FieldError::TooLong {
                max: MAX_OPTION_AXES,
            },
        ));
    }
    let names = new
        .option_names
        .iter()
        .enumerate()
        .map(|(i, name)| check_text(&format!("option_names.{i}"), name, 40, true))
        .collect::<Result<Vec<_>, _>>()?;
    if new.variants.is_empty() {
        return Err(CatalogError::field("variants", FieldError::Required));
    }
    if new.variants.len() > MAX_VARIANTS || (names.is_empty() && new.variants.len() > 1) {
        // Without option axes there is nothing to tell variants apart: one default variant.
        return Err(CatalogError::field(
            "variants",
            FieldError::TooLong {
                max: if names.is_empty() { 1 } else { MAX_VARIANTS },
            },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, variant) in new.variants.iter().enumerate() {
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
        if !(0..=1_000_000_000).contains(&variant.on_hand) {
            return Err(CatalogError::field(
                format!("variants.{i}.on_hand"),
                FieldError::TooLong { max: 1_000_000_000 },
            ));
        }
    }
    Ok(names)
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
    let content = check_content(&new.content)?;
    let option_names = check_options(&new)?;

    let txn = begin_write(db).await?;
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
        option_names: Set(json!(option_names).to_string()),
        attributes: Set("{}".to_owned()),
        weight_grams: Set(content.weight_grams),
        length_mm: Set(None),
        width_mm: Set(None),
        height_mm: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    outbox(
        &txn, scope, "product", product.id, product.id, "created", 1, now,
    )
    .await?;

    let mut variants = Vec::with_capacity(new.variants.len());
    for (position, new_variant) in new.variants.into_iter().enumerate() {
        let inserted = variant::ActiveModel {
            id: Set(Uuid::new_v4()),
            organization_id: Set(scope.organization_id()),
            product_id: Set(product.id),
            sku: Set(new_variant.sku.as_str().to_owned()),
            gtin: Set(new_variant.gtin.as_ref().map(|g| g.as_str().to_owned())),
            option_values: Set(json!(
                new_variant
                    .option_values
                    .iter()
                    .map(|v| v.trim())
                    .collect::<Vec<_>>()
            )
            .to_string()),
            price_minor: Set(new_variant.price.minor()),
            currency: Set(new_variant.price.currency().code().to_owned()),
            on_hand: Set(0),
            reserved: Set(0),
            position: Set(position as i32),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await;
        let inserted = match inserted {
            Ok(v) => v,
            Err(err) if is_unique_violation(&err) => {
                return Err(CatalogError::field(
                    format!("variants.{position}.sku"),
                    FieldError::AlreadyExists,
                ));
            }
            Err(err) => return Err(err.into()),
        };
        outbox(
            &txn,
            scope,
            "variant",
            inserted.id,
            product.id,
            "created",
            1,
            now,
        )
        .await?;
        let inserted = if new_variant.on_hand != 0 {
            stock::move_stock(
                &txn,
                scope,
                &inserted,
                new_variant.on_hand,
                StockReason::Initial,
                "catalog",
                None,
                now,
            )
            .await?
        } else {
            inserted
        };
        variants.push(inserted);
    }
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ProductCreated,
            ip,
            json!({ "product_id": product.id, "variants": variants.len() }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(ProductDetails { product, variants })
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

/// Saves new content for a product read at `expected_version`.
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
    let content = check_content(&content)?;
    let txn = begin_write(db).await?;
    let before = product::Entity::find_by_id_in(scope, product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let updated = product::Entity::update_many()
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
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            product::Column::Version,
            Expr::col(product::Column::Version).add(1),
        )
        .filter(product::Column::Id.eq(product_id))
        .filter(product::Column::OrganizationId.eq(scope.organization_id()))
        .filter(product::Column::Version.eq(expected_version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(CatalogError::Conflict {
            current_version: before.version,
        });
    }
    let product = product::Entity::find_by_id(product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    outbox(
        &txn,
        scope,
        "product",
        product.id,
        product.id,
        "updated",
        product.version,
        now,
    )
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ProductUpdated,
            ip,
            json!({
                "product_id": product.id,
                "title": { "old": before.title, "new": product.title },
                "version": product.version,
            }),
        ),
    )
    .await?;
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
            json!({
                "variant_id": after.id,
                "sku": after.sku,
                "price": {
                    "old": { "minor": before.price_minor, "currency": before.currency },
                    "new": { "minor": after.price_minor, "currency": after.currency },
                },
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a product with its variants and ledger; the outbox tells the channels.
pub async fn delete_product(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<(), CatalogError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let product = product::Entity::find_by_id_in(scope, product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    product::Entity::delete_by_id(product.id).exec(&txn).await?;
    outbox(
        &txn,
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
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::ProductDeleted,
            ip,
            json!({ "product_id": product.id, "title": product.title }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn outbox(
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
