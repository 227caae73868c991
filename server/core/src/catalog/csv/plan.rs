//! From checked rows to products: grouping rows by handle and SKU, the rules between rows of
//! one product, the comparison with the catalog, and the exact input each product's save will
//! get. Nothing here writes; a plan is only made from a file without problems.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use shopmarkets_types::{Currency, FieldError, Gtin, Money};
use uuid::Uuid;

use super::{
    ImportReport, Problem,
    amount::parse_price,
    columns::{Column, Header},
    read::{FileRow, invalid},
};
use crate::{
    access::{OrganizationScoped, Scope},
    catalog::{
        Attribute, CatalogError, Condition, Dimensions, MAX_VARIANTS, ProductContent, ProductInput,
        VariantInput, content::check_content, save::check_options,
    },
    entity::{product, variant},
};

/// Rows per lookup query: well below every engine's limit on bound parameters.
const LOOKUP_CHUNK: usize = 500;

/// Where the file's SKUs are in the catalog, and the version of each product they belong
/// to: all a plan depends on. Read again under the write lock before applying; if anything
/// differs, the plan no longer holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Placement {
    /// The file's SKUs that exist.
    pub(super) by_sku: HashMap<String, SkuPlace>,
    /// The version of each of their products. A product's version covers its content and
    /// its variants' SKUs, GTINs, options and prices; stock is not part of it (the import sets
    /// absolute numbers).
    pub(super) versions: HashMap<Uuid, i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, FromQueryResult)]
pub(super) struct SkuPlace {
    pub(super) id: Uuid,
    pub(super) product_id: Uuid,
    pub(super) on_hand: i64,
}

#[derive(FromQueryResult)]
struct SkuRow {
    sku: String,
    id: Uuid,
    product_id: Uuid,
    on_hand: i64,
}

#[derive(FromQueryResult)]
struct VersionRow {
    id: Uuid,
    version: i64,
}

impl Placement {
    /// Reads only keys and versions (the light read the apply repeats).
    pub(super) async fn load(
        conn: &impl ConnectionTrait,
        scope: &Scope,
        skus: &[String],
    ) -> Result<Placement, DbErr> {
        let mut placement = Placement::default();
        for chunk in skus.chunks(LOOKUP_CHUNK) {
            for found in variant::Entity::find_in(scope)
                .select_only()
                .columns([
                    variant::Column::Sku,
                    variant::Column::Id,
                    variant::Column::ProductId,
                    variant::Column::OnHand,
                ])
                .filter(variant::Column::Sku.is_in(chunk.iter().cloned()))
                .into_model::<SkuRow>()
                .all(conn)
                .await?
            {
                placement.by_sku.insert(
                    found.sku,
                    SkuPlace {
                        id: found.id,
                        product_id: found.product_id,
                        on_hand: found.on_hand,
                    },
                );
            }
        }
        for chunk in placement.product_ids().chunks(LOOKUP_CHUNK) {
            for found in product::Entity::find_in(scope)
                .select_only()
                .columns([product::Column::Id, product::Column::Version])
                .filter(product::Column::Id.is_in(chunk.iter().copied()))
                .into_model::<VersionRow>()
                .all(conn)
                .await?
            {
                placement.versions.insert(found.id, found.version);
            }
        }
        Ok(placement)
    }

    fn product_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self
            .by_sku
            .values()
            .map(|v| v.product_id)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        ids.sort();
        ids
    }

    /// Whether `later` still places every SKU on the same variant and product and every
    /// product is at the same version (stock may differ).
    pub(super) fn still_holds(&self, later: &Placement) -> bool {
        self.versions == later.versions
            && self.by_sku.len() == later.by_sku.len()
            && self.by_sku.iter().all(|(sku, place)| {
                later
                    .by_sku
                    .get(sku)
                    .is_some_and(|l| l.id == place.id && l.product_id == place.product_id)
            })
    }
}

/// What the plan needs of a stored product: its content, axes and version (no timestamps, so
/// reading tens of thousands stays cheap).
#[derive(Debug, Clone, FromQueryResult)]
struct StoredProduct {
    id: Uuid,
    title: String,
    brand: Option<String>,
    description_html: String,
    category: Option<String>,
    condition: String,
    option_names: String,
    attributes: String,
    weight_grams: Option<i32>,
    length_mm: Option<i32>,
    width_mm: Option<i32>,
    height_mm: Option<i32>,
    version: i64,
}

/// What the plan needs of a stored variant.
#[derive(Debug, Clone, FromQueryResult)]
struct StoredVariant {
    id: Uuid,
    product_id: Uuid,
    sku: String,
    gtin: Option<String>,
    option_values: String,
    price_minor: i64,
    currency: String,
}

/// What the catalog holds of the products a file touches, read in chunks: their placement
/// and, in full, the products and all their variants (also those the file does not name).
#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(super) placement: Placement,
    products: HashMap<Uuid, StoredProduct>,
    variants: HashMap<Uuid, StoredVariant>,
    /// Each product's variant ids, by position.
    variants_of: HashMap<Uuid, Vec<Uuid>>,
}

impl Snapshot {
    pub(super) async fn load(
        conn: &impl ConnectionTrait,
        scope: &Scope,
        skus: &[String],
    ) -> Result<Snapshot, DbErr> {
        let mut snapshot = Snapshot {
            placement: Placement::load(conn, scope, skus).await?,
            ..Snapshot::default()
        };
        for chunk in snapshot.placement.product_ids().chunks(LOOKUP_CHUNK) {
            for found in product::Entity::find_in(scope)
                .select_only()
                .columns([
                    product::Column::Id,
                    product::Column::Title,
                    product::Column::Brand,
                    product::Column::DescriptionHtml,
                    product::Column::Category,
                    product::Column::Condition,
                    product::Column::OptionNames,
                    product::Column::Attributes,
                    product::Column::WeightGrams,
                    product::Column::LengthMm,
                    product::Column::WidthMm,
                    product::Column::HeightMm,
                    product::Column::Version,
                ])
                .filter(product::Column::Id.is_in(chunk.iter().copied()))
                .into_model::<StoredProduct>()
                .all(conn)
                .await?
            {
                // The plan is made from these rows: their versions are the ones to hold.
                snapshot.placement.versions.insert(found.id, found.version);
                snapshot.products.insert(found.id, found);
            }
            for found in variant::Entity::find_in(scope)
                .select_only()
                .columns([
                    variant::Column::Id,
                    variant::Column::ProductId,
                    variant::Column::Sku,
                    variant::Column::Gtin,
                    variant::Column::OptionValues,
                    variant::Column::PriceMinor,
                    variant::Column::Currency,
                ])
                .filter(variant::Column::ProductId.is_in(chunk.iter().copied()))
                .order_by_asc(variant::Column::ProductId)
                .order_by_asc(variant::Column::Position)
                .into_model::<StoredVariant>()
                .all(conn)
                .await?
            {
                snapshot
                    .variants_of
                    .entry(found.product_id)
                    .or_default()
                    .push(found.id);
                snapshot.variants.insert(found.id, found);
            }
        }
        Ok(snapshot)
    }

    /// The stored variant of a SKU of the file.
    fn variant_of_sku(&self, sku: &str) -> Option<&StoredVariant> {
        self.variants.get(&self.placement.by_sku.get(sku)?.id)
    }

    /// A product's stored variants, by position.
    fn variants_of(&self, product_id: Uuid) -> Vec<&StoredVariant> {
        self.variants_of
            .get(&product_id)
            .map(|ids| ids.iter().filter_map(|id| self.variants.get(id)).collect())
            .unwrap_or_default()
    }
}

/// The products of a file, ready to save.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) products: Vec<PlannedProduct>,
}

#[derive(Debug)]
pub(super) struct PlannedProduct {
    /// The row of each variant of `input`, in the same order.
    pub(super) rows: Vec<u64>,
    /// The existing product and the version the plan was made from.
    pub(super) existing: Option<(Uuid, i64)>,
    pub(super) input: ProductInput,
    /// The on-hand target of each variant of `input`; `None` leaves stock alone.
    pub(super) stock: Vec<Option<i64>>,
    /// The input equals what is stored: saving would write nothing, so it is skipped.
    pub(super) unchanged: bool,
}

/// Which product a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Handle(String),
    /// Rows without handle whose SKU exists: the product of that SKU.
    Product(Uuid),
    /// A row without handle and with a new SKU: a product of its own.
    New(String),
}

struct Group {
    rows: Vec<usize>,
    product: Option<Uuid>,
}

/// Groups rows into products and checks everything that concerns more than one row or the
/// catalog. Problems go to `report`; the plan is only meaningful when it stays empty.
pub(super) fn plan(
    rows: &[FileRow],
    header: &Header,
    snapshot: &Snapshot,
    report: &mut ImportReport,
) -> Plan {
    // The same SKU twice: the later row is refused and takes no further part.
    let mut first_of_sku: HashMap<&str, u64> = HashMap::new();
    let mut usable = vec![false; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        let Some(sku) = &row.sku else { continue };
        match first_of_sku.get(sku.as_str()) {
            Some(&first_row) => report.push(
                row.row,
                Some(Column::Sku),
                Problem::DuplicateSku { first_row },
            ),
            None => {
                first_of_sku.insert(sku.as_str(), row.row);
                usable[i] = true;
            }
        }
    }
    // Rows left out of the grouping (their SKU was refused) still have their price checked,
    // so the report is complete.
    for row in rows.iter().filter(|r| r.sku.is_none()) {
        if let Some(text) = row.price.as_deref().filter(|t| !t.is_empty())
            && let Err(problem) = parse_price(text, row.currency.unwrap_or(Currency::Eur))
        {
            report.push(row.row, Some(Column::Price), problem);
        }
    }
    let existing_product = |i: usize| {
        rows[i]
            .sku
            .as_ref()
            .and_then(|sku| snapshot.placement.by_sku.get(sku.as_str()))
            .map(|v| v.product_id)
    };

    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    // Handles first: each maps to the product of its first existing SKU, if any.
    for i in (0..rows.len()).filter(|&i| usable[i]) {
        if let Some(handle) = &rows[i].handle {
            let g = *index.entry(Key::Handle(handle.clone())).or_insert_with(|| {
                groups.push(Group {
                    rows: Vec::new(),
                    product: None,
                });
                groups.len() - 1
            });
            groups[g].rows.push(i);
        }
    }
    let mut claimed: HashMap<Uuid, usize> = HashMap::new();
    for g in 0..groups.len() {
        let members = std::mem::take(&mut groups[g].rows);
        let mut kept = Vec::with_capacity(members.len());
        for i in members {
            match (existing_product(i), groups[g].product) {
                (Some(product), None) => {
                    if let Some(&other) = claimed.get(&product) {
                        report.push(
                            rows[i].row,
                            Some(Column::Handle),
                            Problem::ProductUnderTwoHandles {
                                first_row: rows[groups[other].rows[0]].row,
                            },
                        );
                        continue;
                    }
                    claimed.insert(product, g);
                    groups[g].product = Some(product);
                    kept.push(i);
                }
                (Some(product), Some(mapped)) if product != mapped => {
                    report.push(rows[i].row, Some(Column::Sku), Problem::SkuOfOtherProduct);
                }
                _ => kept.push(i),
            }
        }
        groups[g].rows = kept;
    }
    // Rows without handle join the product of their SKU (a handle's, if one claimed it), or
    // are a product of their own.
    for i in (0..rows.len()).filter(|&i| usable[i] && rows[i].handle.is_none()) {
        let key = match existing_product(i) {
            Some(product) => match claimed.get(&product) {
                Some(&g) => {
                    groups[g].rows.push(i);
                    continue;
                }
                None => Key::Product(product),
            },
            None => Key::New(
                rows[i]
                    .sku
                    .as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            ),
        };
        let g = *index.entry(key).or_insert_with(|| {
            groups.push(Group {
                rows: Vec::new(),
                product: existing_product(i),
            });
            groups.len() - 1
        });
        if let Some(product) = groups[g].product {
            claimed.insert(product, g);
        }
        groups[g].rows.push(i);
    }

    let mut plan = Plan::default();
    for group in &mut groups {
        group.rows.sort_by_key(|&i| rows[i].row);
    }
    groups.sort_by_key(|g| g.rows.first().map_or(u64::MAX, |&i| rows[i].row));
    for group in groups.iter().filter(|g| !g.rows.is_empty()) {
        let members: Vec<&FileRow> = group.rows.iter().map(|&i| &rows[i]).collect();
        let stored_variants;
        let existing = match group.product.and_then(|id| snapshot.products.get(&id)) {
            Some(stored) => {
                stored_variants = snapshot.variants_of(stored.id);
                Some((stored, stored_variants.as_slice()))
            }
            None => None,
        };
        if let Some(planned) = plan_product(&members, header, existing, snapshot, report) {
            plan.products.push(planned);
        }
    }
    plan
}

/// One product's rows: the rules between them, the merge with what is stored, the checks the
/// save makes. `None` when anything was refused.
fn plan_product(
    rows: &[&FileRow],
    header: &Header,
    existing: Option<(&StoredProduct, &[&StoredVariant])>,
    snapshot: &Snapshot,
    report: &mut ImportReport,
) -> Option<PlannedProduct> {
    let before = report.total_errors;
    let first = rows[0];

    // Product-level columns: the first row says; later rows may be empty or agree.
    for row in &rows[1..] {
        for column in Column::PRODUCT_LEVEL {
            if let (Some(said), Some(here)) = (first.product_cell(column), row.product_cell(column))
                && !here.is_empty()
                && here != said
            {
                report.push(
                    row.row,
                    Some(column),
                    Problem::Contradicts {
                        first_row: first.row,
                    },
                );
            }
        }
    }

    let stored_names: Vec<String> = existing
        .map(|(p, _)| serde_json::from_str(&p.option_names).unwrap_or_default())
        .unwrap_or_default();
    let file_options = header.has_options();
    let option_names: Vec<String> = if file_options {
        let mut names = Vec::new();
        let mut gap = None;
        for axis in 0..3 {
            let name = first
                .product_cell(Column::option(axis).0)
                .unwrap_or_default();
            if name.is_empty() {
                gap.get_or_insert(axis);
            } else if let Some(missing) = gap {
                report.push(
                    first.row,
                    Some(Column::option(missing).0),
                    invalid(FieldError::Required),
                );
                break;
            } else {
                names.push(name.to_owned());
            }
        }
        names
    } else {
        stored_names.clone()
    };
    if file_options {
        for row in rows {
            for axis in 0..3 {
                let value = row.option_values[axis].as_deref().unwrap_or_default();
                let column = Column::option(axis).1;
                if axis < option_names.len() && value.is_empty() {
                    report.push(row.row, Some(column), invalid(FieldError::Required));
                } else if axis >= option_names.len() && !value.is_empty() {
                    report.push(row.row, Some(column), Problem::OptionWithoutName);
                }
            }
        }
    }

    // The variants the file names, matched to stored ones by SKU; the others are kept.
    let mentioned: HashSet<Uuid> = rows
        .iter()
        .filter_map(|r| snapshot.placement.by_sku.get(r.sku.as_ref()?.as_str()))
        .map(|v| v.id)
        .collect();
    let kept: Vec<&StoredVariant> = existing
        .map(|(_, variants)| {
            variants
                .iter()
                .copied()
                .filter(|v| !mentioned.contains(&v.id))
                .collect()
        })
        .unwrap_or_default();
    let stored_values = |v: &StoredVariant| -> Vec<String> {
        serde_json::from_str(&v.option_values).unwrap_or_default()
    };
    if !kept.is_empty() && option_names != stored_names {
        report.push(
            first.row,
            Some(Column::Option1Name),
            invalid(FieldError::OptionAxesChanged),
        );
    }

    let mut variants = Vec::with_capacity(rows.len());
    let mut stock = Vec::with_capacity(rows.len());
    let mut seen: HashMap<Vec<String>, u64> = kept
        .iter()
        .map(|v| (combination(&stored_values(v)), 0))
        .collect();
    for (n, row) in rows.iter().enumerate() {
        let Some(sku) = row.sku.clone() else {
            continue;
        };
        let stored = snapshot.variant_of_sku(sku.as_str());
        let option_values: Vec<String> = if file_options {
            row.option_values
                .iter()
                .take(option_names.len())
                .map(|v| v.clone().unwrap_or_default())
                .collect()
        } else if let Some(stored) = stored {
            stored_values(stored)
        } else {
            if !option_names.is_empty() {
                // A new variant of a product with options, in a file without option columns.
                report.push(
                    row.row,
                    Some(Column::Option1Value),
                    invalid(FieldError::Required),
                );
            }
            Vec::new()
        };
        if !option_names.is_empty() && option_values.iter().all(|v| !v.is_empty()) {
            match seen.get(&combination(&option_values)) {
                Some(0) => {
                    let taken = kept
                        .iter()
                        .find(|v| combination(&stored_values(v)) == combination(&option_values))
                        .map(|v| v.sku.clone())
                        .unwrap_or_default();
                    report.push(
                        row.row,
                        Some(Column::Option1Value),
                        Problem::OptionsTaken { sku: taken },
                    );
                }
                Some(&first_row) => report.push(
                    row.row,
                    Some(Column::Option1Value),
                    Problem::DuplicateOptions { first_row },
                ),
                None => {
                    seen.insert(combination(&option_values), row.row);
                }
            }
        }
        if option_names.is_empty() && n + kept.len() == 1 {
            report.push(
                row.row,
                Some(Column::Option1Name),
                Problem::VariantsNeedOptions,
            );
        }
        if n + kept.len() == MAX_VARIANTS {
            report.push(
                row.row,
                None,
                Problem::TooManyVariants { max: MAX_VARIANTS },
            );
        }

        let currency = row
            .currency
            .or_else(|| stored.and_then(|v| Currency::parse(&v.currency).ok()))
            .unwrap_or(Currency::Eur);
        let price = match (&row.price, stored) {
            (Some(text), _) => match parse_price(text, currency) {
                Ok(price) => Some(price),
                Err(problem) => {
                    report.push(row.row, Some(Column::Price), problem);
                    None
                }
            },
            (None, Some(stored)) => Money::new(stored.price_minor, currency).ok(),
            (None, None) => {
                report.push(row.row, Some(Column::Price), invalid(FieldError::Required));
                None
            }
        };
        let gtin = match &row.gtin {
            Some(gtin) => gtin.clone(),
            None => stored.and_then(|v| Gtin::parse(v.gtin.as_deref()?).ok()),
        };
        if let Some(price) = price {
            variants.push(VariantInput {
                id: stored.map(|v| v.id),
                sku,
                gtin,
                option_values,
                price,
            });
            stock.push(row.stock);
        }
    }

    let content = merged_content(first, existing.map(|(p, _)| p));
    if report.total_errors != before {
        return None;
    }
    let row_numbers: Vec<u64> = rows.iter().map(|r| r.row).collect();
    // The checks the save makes, run now so the report has them before anything is written.
    let checked = match check_content(&content) {
        Ok(checked) => checked,
        Err(err) => {
            refused(err, &row_numbers, report);
            return None;
        }
    };
    if let Err(err) = check_options(&option_names, &variants) {
        refused(err, &row_numbers, report);
        return None;
    }

    let unchanged = existing.is_some_and(|(stored, stored_variants)| {
        let stored_variants: HashMap<Uuid, &StoredVariant> =
            stored_variants.iter().map(|v| (v.id, *v)).collect();
        stored.title == checked.title
            && stored.brand == checked.brand
            && stored.description_html == checked.description_html
            && stored.category == checked.category
            && stored.condition == checked.condition
            && stored.weight_grams == checked.weight_grams
            && stored.length_mm == checked.dimensions.length_mm
            && stored.width_mm == checked.dimensions.width_mm
            && stored.height_mm == checked.dimensions.height_mm
            && stored.attributes == checked.attributes
            && trimmed(&stored_names) == trimmed(&option_names)
            && variants.iter().all(|input| {
                input
                    .id
                    .and_then(|id| stored_variants.get(&id))
                    .is_some_and(|v| {
                        v.sku == input.sku.as_str()
                            && v.gtin.as_deref() == input.gtin.as_ref().map(Gtin::as_str)
                            && trimmed(&stored_values(v)) == trimmed(&input.option_values)
                            && v.price_minor == input.price.minor()
                            && v.currency == input.price.currency().code()
                    })
            })
    });
    Some(PlannedProduct {
        rows: row_numbers,
        existing: existing.map(|(p, _)| (p.id, p.version)),
        input: ProductInput {
            content,
            option_names,
            variants,
        },
        stock,
        unchanged,
    })
}

/// The product content the file gives, with what is stored for the columns it lacks.
fn merged_content(first: &FileRow, stored: Option<&StoredProduct>) -> ProductContent {
    let text = |column: Column, stored: Option<String>| -> Option<String> {
        match first.product_cell(column) {
            Some("") => None,
            Some(given) => Some(given.to_owned()),
            None => stored,
        }
    };
    let measure = |column: Column, i: usize, stored: Option<i32>| -> Option<i32> {
        match first.product_cell(column) {
            Some(_) => first.measures[i],
            None => stored,
        }
    };
    let condition = match first.product_cell(Column::Condition) {
        Some(code) if !code.is_empty() => first.condition,
        _ => None,
    }
    .or_else(|| stored.and_then(|p| Condition::from_code(&p.condition)))
    .unwrap_or(Condition::New);
    ProductContent {
        title: text(Column::Title, stored.map(|p| p.title.clone())).unwrap_or_default(),
        brand: text(Column::Brand, stored.and_then(|p| p.brand.clone())),
        description_html: text(
            Column::DescriptionHtml,
            stored.map(|p| p.description_html.clone()),
        )
        .unwrap_or_default(),
        category: text(Column::Category, stored.and_then(|p| p.category.clone())),
        condition,
        weight_grams: measure(Column::WeightG, 0, stored.and_then(|p| p.weight_grams)),
        dimensions: Dimensions {
            length_mm: measure(Column::LengthMm, 1, stored.and_then(|p| p.length_mm)),
            width_mm: measure(Column::WidthMm, 2, stored.and_then(|p| p.width_mm)),
            height_mm: measure(Column::HeightMm, 3, stored.and_then(|p| p.height_mm)),
        },
        // Not a column: attributes are kept as they are.
        attributes: stored
            .map(|p| Attribute::from_json(&p.attributes))
            .unwrap_or_default(),
    }
}

/// Option values as the catalog compares them: trimmed, case-insensitive.
fn combination(values: &[String]) -> Vec<String> {
    values.iter().map(|v| v.trim().to_lowercase()).collect()
}

fn trimmed(values: &[String]) -> Vec<&str> {
    values.iter().map(|v| v.trim()).collect()
}

/// Reports a refusal of the catalog's own checks at the row and column it concerns.
pub(super) fn refused(err: CatalogError, rows: &[u64], report: &mut ImportReport) {
    match err {
        CatalogError::Field { field, error } => {
            let (row, column) = locate(&field, rows);
            report.push(row, column, invalid(error));
        }
        other => report.push(
            rows.first().copied().unwrap_or(1),
            None,
            Problem::Malformed {
                message: other.to_string(),
            },
        ),
    }
}

/// The row and column of a field name the catalog's checks use (`title`,
/// `variants.2.sku`, `option_names.1`), given the rows of the product's variants in order.
pub(super) fn locate(field: &str, rows: &[u64]) -> (u64, Option<Column>) {
    let first = rows.first().copied().unwrap_or(1);
    let mut parts = field.split('.');
    let head = parts.next().unwrap_or_default();
    let index = parts.next().and_then(|i| i.parse::<usize>().ok());
    let rest: Vec<&str> = parts.collect();
    match head {
        "title" => (first, Some(Column::Title)),
        "brand" => (first, Some(Column::Brand)),
        "category" => (first, Some(Column::Category)),
        "condition" => (first, Some(Column::Condition)),
        "description" | "description_html" => (first, Some(Column::DescriptionHtml)),
        "weight_grams" => (first, Some(Column::WeightG)),
        "length_mm" => (first, Some(Column::LengthMm)),
        "width_mm" => (first, Some(Column::WidthMm)),
        "height_mm" => (first, Some(Column::HeightMm)),
        "option_names" => (first, Some(Column::option(index.unwrap_or(0).min(2)).0)),
        "variants" => {
            let Some(i) = index else {
                return (first, None);
            };
            let row = rows.get(i).copied().unwrap_or(first);
            let column = match rest.as_slice() {
                ["sku", ..] => Some(Column::Sku),
                ["gtin", ..] => Some(Column::Gtin),
                ["price", ..] => Some(Column::Price),
                ["on_hand", ..] => Some(Column::Stock),
                ["option_values", axis] => {
                    Some(Column::option(axis.parse::<usize>().unwrap_or(0).min(2)).1)
                }
                ["option_values"] => Some(Column::Option1Value),
                _ => None,
            };
            (row, column)
        }
        _ => (first, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_field_names_point_at_rows_and_columns() {
        let rows = [4, 5, 9];
        assert_eq!(locate("title", &rows), (4, Some(Column::Title)));
        assert_eq!(
            locate("description", &rows),
            (4, Some(Column::DescriptionHtml))
        );
        assert_eq!(locate("variants.2.sku", &rows), (9, Some(Column::Sku)));
        assert_eq!(
            locate("variants.1.option_values.2", &rows),
            (5, Some(Column::Option3Value))
        );
        assert_eq!(
            locate("option_names.1", &rows),
            (4, Some(Column::Option2Name))
        );
        assert_eq!(locate("attributes.0.name", &rows), (4, None));
        assert_eq!(locate("variants", &rows), (4, None));
    }
}
