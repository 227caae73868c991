//! The product list: search, filters and keyset pagination (newest change first), answered
//! with two queries per page — the products, then their variants' totals — whatever the size
//! of the catalog.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, Query},
};
use uuid::Uuid;

use super::CatalogError;
use crate::{
    access::{OrganizationScoped, Permission, Scope},
    db::Db,
    entity::{product, variant},
};

/// The largest page.
pub const MAX_PAGE: u64 = 200;

/// Which products by stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockFilter {
    /// At least one variant has stock available (on hand − reserved > 0).
    InStock,
    /// No variant has stock available.
    OutOfStock,
}

/// What the list asks for.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    /// Part of the title or brand, or the start of a SKU; case-insensitive (Unicode for title
    /// and brand, ASCII for SKUs, which are ASCII).
    pub search: Option<String>,
    pub stock: Option<StockFilter>,
    /// A category and everything below it (`Küche` finds `Küche > Tassen`).
    pub category: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: u64,
}

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub id: Uuid,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub variants: u32,
    pub on_hand: i64,
    pub available: i64,
    /// The lowest variant price, in minor units, with its currency.
    pub lowest_price: Option<(i64, String)>,
}

/// A page and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    pub items: Vec<ProductRow>,
    pub next: Option<String>,
}

/// The scope's products for the list.
pub async fn list_products(
    db: &Db,
    scope: &Scope,
    query: &ProductQuery,
) -> Result<ProductPage, CatalogError> {
    scope.require(Permission::ViewCatalog)?;
    let limit = query.limit.clamp(1, MAX_PAGE);
    let mut select = product::Entity::find_in(scope);

    if let Some(term) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let term = escape_like(&term.to_lowercase());
        let sku_match = Query::select()
            .expr(Expr::value(1))
            .from(variant::Entity)
            .and_where(
                Expr::col((variant::Entity, variant::Column::ProductId))
                    .equals((product::Entity, product::Column::Id)),
            )
            .and_where(
                Expr::expr(Func::lower(Expr::col((
                    variant::Entity,
                    variant::Column::Sku,
                ))))
                .like(LikeExpr::new(format!("{term}%")).escape('\\')),
            )
            .to_owned();
        select = select.filter(
            Condition::any()
                .add(
                    Expr::col((product::Entity, product::Column::SearchText))
                        .like(LikeExpr::new(format!("%{term}%")).escape('\\')),
                )
                .add(Expr::exists(sku_match)),
        );
    }

    if let Some(stock) = query.stock {
        let available = Query::select()
            .expr(Expr::value(1))
            .from(variant::Entity)
            .and_where(
                Expr::col((variant::Entity, variant::Column::ProductId))
                    .equals((product::Entity, product::Column::Id)),
            )
            .and_where(
                Expr::col((variant::Entity, variant::Column::OnHand))
                    .sub(Expr::col((variant::Entity, variant::Column::Reserved)))
                    .gt(0),
            )
            .to_owned();
        select = select.filter(match stock {
            StockFilter::InStock => Expr::exists(available),
            StockFilter::OutOfStock => Expr::exists(available).not(),
        });
    }

    if let Some(category) = query
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        select = select.filter(
            Condition::any()
                .add(product::Column::Category.eq(category))
                .add(
                    Expr::col((product::Entity, product::Column::Category))
                        .like(LikeExpr::new(format!("{} >%", escape_like(category))).escape('\\')),
                ),
        );
    }

    if let Some(after) = query.after.as_deref() {
        let (updated_at, id) = parse_cursor(after).ok_or(CatalogError::Field {
            field: "after".into(),
            error: shopmarkets_types::FieldError::Required,
        })?;
        select = select.filter(
            Condition::any()
                .add(product::Column::UpdatedAt.lt(updated_at))
                .add(
                    Condition::all()
                        .add(product::Column::UpdatedAt.eq(updated_at))
                        .add(product::Column::Id.lt(id)),
                ),
        );
    }

    let mut products = select
        .order_by_desc(product::Column::UpdatedAt)
        .order_by_desc(product::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = products.len() as u64 > limit;
    products.truncate(limit as usize);

    let ids: Vec<Uuid> = products.iter().map(|p| p.id).collect();
    let variants = variant::Entity::find_in(scope)
        .filter(variant::Column::ProductId.is_in(ids))
        .all(db)
        .await?;
    let next = more
        .then(|| products.last().map(|p| cursor(p.updated_at, p.id)))
        .flatten();
    let items = products
        .into_iter()
        .map(|p| {
            let own: Vec<&variant::Model> =
                variants.iter().filter(|v| v.product_id == p.id).collect();
            ProductRow {
                variants: own.len() as u32,
                on_hand: own.iter().map(|v| v.on_hand).sum(),
                available: own
                    .iter()
                    .map(|v| Ord::max(v.on_hand - v.reserved, 0))
                    .sum(),
                lowest_price: own
                    .iter()
                    .min_by_key(|v| v.price_minor)
                    .map(|v| (v.price_minor, v.currency.clone())),
                id: p.id,
                title: p.title,
                brand: p.brand,
                category: p.category,
                updated_at: p.updated_at,
                version: p.version,
            }
        })
        .collect();
    Ok(ProductPage { items, next })
}

/// `%`, `_` and `\` in a search term are literal characters, not patterns.
fn escape_like(term: &str) -> String {
    term.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn cursor(updated_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}.{}", updated_at.timestamp_micros(), id.simple())
}

fn parse_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = cursor.split_once('.')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::parse_str(id).ok()?,
    ))
}
