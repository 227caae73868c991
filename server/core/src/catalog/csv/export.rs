//! The catalog as a CSV file, handed out in chunks: one page of products (with their
//! variants) per chunk, read by keyset on the product id, so a catalog of any size streams in
//! flat memory and the first bytes leave before the last product is read.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
use shopmarkets_types::Currency;
use uuid::Uuid;

use super::{
    amount::format_price,
    columns::{Column, Delimiter, escape_cell},
    read::BOM,
};
use crate::{
    access::{OrganizationScoped, Permission, Scope},
    catalog::CatalogError,
    db::Db,
    entity::{product, variant},
};

/// Products per chunk.
pub const EXPORT_PAGE_PRODUCTS: u64 = 500;

/// A running export; [`ProductExport::next_chunk`] gives the file piece by piece.
///
/// For an HTTP response body, turn it into a stream, e.g. with `futures_util`:
///
/// ```ignore
/// let export = export_products(&db, &scope, Delimiter::Semicolon).await?;
/// let chunks = futures_util::stream::try_unfold(export, |mut export| async move {
///     Ok::<_, CatalogError>(export.next_chunk().await?.map(|chunk| (chunk, export)))
/// });
/// let body = axum::body::Body::from_stream(chunks);
/// ```
#[derive(Debug)]
pub struct ProductExport {
    db: Db,
    scope: Scope,
    delimiter: Delimiter,
    after: Option<Uuid>,
    started: bool,
    done: bool,
}

/// Starts an export of the scope's catalog in the import's columns. With `;` the file starts
/// with a UTF-8 byte order mark and prices have a decimal comma — what Excel in Germany
/// opens correctly by double-click; with `,` or tab there is no mark and prices have a decimal
/// point. Needs [`Permission::ViewCatalog`], checked here, before the first byte.
pub async fn export_products(
    db: &Db,
    scope: &Scope,
    delimiter: Delimiter,
) -> Result<ProductExport, CatalogError> {
    scope.require(Permission::ViewCatalog)?;
    Ok(ProductExport {
        db: db.clone(),
        scope: scope.clone(),
        delimiter,
        after: None,
        started: false,
        done: false,
    })
}

impl ProductExport {
    /// `text/csv; charset=utf-8`.
    pub fn content_type(&self) -> &'static str {
        "text/csv; charset=utf-8"
    }

    /// The next piece of the file: the header (and the byte order mark) with the first page,
    /// then one page of products each time; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, CatalogError> {
        if self.done {
            return Ok(None);
        }
        let mut buffer = Vec::with_capacity(64 * 1024);
        let header = !self.started;
        if header && self.delimiter == Delimiter::Semicolon {
            buffer.extend_from_slice(BOM);
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter.byte())
            .terminator(csv::Terminator::CRLF)
            .from_writer(buffer);
        if header {
            self.started = true;
            writer
                .write_record(Column::ALL.map(Column::name))
                .map_err(write_error)?;
        }

        let mut select = product::Entity::find_in(&self.scope);
        if let Some(after) = self.after {
            select = select.filter(product::Column::Id.gt(after));
        }
        let products = select
            .order_by_asc(product::Column::Id)
            .limit(EXPORT_PAGE_PRODUCTS)
            .all(&self.db)
            .await?;
        if (products.len() as u64) < EXPORT_PAGE_PRODUCTS {
            self.done = true;
        }
        if let Some(last) = products.last() {
            self.after = Some(last.id);
            let mut variants: HashMap<Uuid, Vec<variant::Model>> = HashMap::new();
            for variant in variant::Entity::find_in(&self.scope)
                .filter(variant::Column::ProductId.is_in(products.iter().map(|p| p.id)))
                .order_by_asc(variant::Column::Position)
                .all(&self.db)
                .await?
            {
                variants
                    .entry(variant.product_id)
                    .or_default()
                    .push(variant);
            }
            for product in &products {
                let option_names: Vec<String> =
                    serde_json::from_str(&product.option_names).unwrap_or_default();
                let own = variants.remove(&product.id).unwrap_or_default();
                // The handle is the first variant's SKU, in every row of the product.
                let Some(handle) = own.first().map(|v| v.sku.clone()) else {
                    continue;
                };
                for (i, variant) in own.iter().enumerate() {
                    let row = self.row(product, &option_names, variant, &handle, i == 0);
                    writer.write_record(&row).map_err(write_error)?;
                }
            }
        }
        let chunk = writer
            .into_inner()
            .map_err(|err| write_error(err.into_error().into()))?;
        Ok((!chunk.is_empty()).then_some(chunk))
    }

    /// One variant's row. Product-level columns are written in the product's first row only
    /// (the import reads them from there).
    fn row(
        &self,
        product: &product::Model,
        option_names: &[String],
        variant: &variant::Model,
        handle: &str,
        first: bool,
    ) -> Vec<String> {
        let option_values: Vec<String> =
            serde_json::from_str(&variant.option_values).unwrap_or_default();
        let number = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        let text = |t: &str| escape_cell(t).into_owned();
        let currency = Currency::parse(&variant.currency).unwrap_or(Currency::Eur);
        Column::ALL
            .iter()
            .map(|column| match column {
                Column::Handle => text(handle),
                Column::Sku => text(&variant.sku),
                Column::Gtin => variant.gtin.clone().unwrap_or_default(),
                Column::Price => format_price(
                    variant.price_minor,
                    currency,
                    self.delimiter == Delimiter::Semicolon,
                ),
                Column::Currency => variant.currency.clone(),
                Column::Stock => variant.on_hand.to_string(),
                Column::Option1Value | Column::Option2Value | Column::Option3Value => {
                    let axis = (column.position() - Column::Option1Value.position()) / 2;
                    option_values.get(axis).map(|v| text(v)).unwrap_or_default()
                }
                _ if !first => String::new(),
                Column::Title => text(&product.title),
                Column::Brand => product.brand.as_deref().map(text).unwrap_or_default(),
                Column::Category => product.category.as_deref().map(text).unwrap_or_default(),
                Column::Condition => product.condition.clone(),
                Column::DescriptionHtml => text(&product.description_html),
                Column::WeightG => number(product.weight_grams),
                Column::LengthMm => number(product.length_mm),
                Column::WidthMm => number(product.width_mm),
                Column::HeightMm => number(product.height_mm),
                Column::Option1Name | Column::Option2Name | Column::Option3Name => {
                    let axis = (column.position() - Column::Option1Name.position()) / 2;
                    option_names.get(axis).map(|v| text(v)).unwrap_or_default()
                }
            })
            .collect()
    }
}

fn write_error(err: csv::Error) -> CatalogError {
    CatalogError::Db(crate::db::DbError::Query(sea_orm::DbErr::Custom(format!(
        "writing the export: {err}"
    ))))
}
