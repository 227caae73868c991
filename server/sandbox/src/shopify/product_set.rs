//! `productSet`: creates or replaces a product; its variants and options are a full
//! replacement list.

use async_graphql::{Enum, ID, InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use super::graphql::ProductStatus;
use super::model::{self, ProductOption, Variant, parse_gid};
use super::objects::ProductObject;

#[derive(InputObject, Serialize)]
pub struct ProductSetInput {
    id: Option<ID>,
    title: Option<String>,
    handle: Option<String>,
    description_html: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<ProductStatus>,
    product_options: Option<Vec<OptionSetInput>>,
    variants: Option<Vec<ProductVariantSetInput>>,
}

#[derive(InputObject, Serialize)]
pub struct OptionSetInput {
    id: Option<ID>,
    name: Option<String>,
    values: Option<Vec<OptionValueSetInput>>,
}

#[derive(InputObject, Serialize)]
pub struct OptionValueSetInput {
    id: Option<ID>,
    name: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct VariantOptionValueInput {
    option_name: Option<String>,
    name: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct ProductVariantSetInput {
    id: Option<ID>,
    sku: Option<String>,
    price: Option<String>,
    compare_at_price: Option<String>,
    option_values: Option<Vec<VariantOptionValueInput>>,
    inventory_quantities: Option<Vec<ProductSetInventoryInput>>,
}

#[derive(InputObject, Serialize)]
pub struct ProductSetInventoryInput {
    location_id: ID,
    name: String,
    quantity: i32,
}

#[derive(InputObject, Serialize)]
pub struct ProductSetIdentifiers {
    id: Option<ID>,
    handle: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Serialize, Deserialize)]
pub enum ProductSetUserErrorCode {
    Blank,
    ProductDoesNotExist,
    InvalidVariant,
    VariantsOverLimit,
    OptionsOverLimit,
    GenericError,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct ProductSetUserError {
    code: Option<ProductSetUserErrorCode>,
    field: Option<Vec<String>>,
    message: String,
}

fn set_error(code: ProductSetUserErrorCode, field: &[&str], message: &str) -> ProductSetUserError {
    ProductSetUserError {
        code: Some(code),
        field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
        message: message.to_owned(),
    }
}

pub(super) fn product_set(
    state: &mut model::State,
    shop_domain: &str,
    input: ProductSetInput,
    identifier: Option<ProductSetIdentifiers>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ProductObject, Vec<ProductSetUserError>> {
    use ProductSetUserErrorCode as C;
    let variants_in = input.variants.unwrap_or_default();
    if variants_in.len() > 2048 {
        return Err(vec![set_error(
            C::VariantsOverLimit,
            &["input", "variants"],
            "Exceeded the maximum of 2048 variants per product",
        )]);
    }
    let options_in = input.product_options.unwrap_or_default();
    if options_in.len() > 3 {
        return Err(vec![set_error(
            C::OptionsOverLimit,
            &["input", "productOptions"],
            "Can only specify a maximum of 3 options",
        )]);
    }
    let wanted_id = identifier
        .as_ref()
        .and_then(|i| i.id.clone())
        .or(input.id.clone());
    let wanted_handle = identifier.and_then(|i| i.handle);
    let mut errors = Vec::new();
    for (i, v) in variants_in.iter().enumerate() {
        if let Some(price) = &v.price
            && model::parse_price(price).is_none()
        {
            errors.push(ProductSetUserError {
                code: Some(C::InvalidVariant),
                field: Some(vec![
                    "input".into(),
                    "variants".into(),
                    i.to_string(),
                    "price".into(),
                ]),
                message: format!("Price {price:?} is invalid"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Ids first (so the closure below does not hold the state borrow).
    let fresh: Vec<u64> = (0..(2 * variants_in.len() + options_in.len() + 1))
        .map(|_| state.next_id())
        .collect();
    let mut fresh = fresh.into_iter();
    let shop = state.ensure_shop(shop_domain, now);
    let location_id = shop.location_id;
    let existing_id = match (&wanted_id, &wanted_handle) {
        (Some(id), _) => match parse_gid("Product", id).filter(|n| shop.products.contains_key(n)) {
            Some(n) => Some(n),
            None => {
                return Err(vec![set_error(
                    C::ProductDoesNotExist,
                    &["input", "id"],
                    "Product does not exist",
                )]);
            }
        },
        (None, Some(handle)) => shop
            .products
            .values()
            .find(|p| &p.handle == handle)
            .map(|p| p.id),
        (None, None) => None,
    };
    let mut product = match existing_id {
        Some(id) => shop.products.get(&id).cloned().ok_or_else(Vec::new)?,
        None => {
            let Some(title) = input.title.clone().filter(|t| !t.trim().is_empty()) else {
                return Err(vec![set_error(
                    C::Blank,
                    &["input", "title"],
                    "Title can't be blank",
                )]);
            };
            model::Product {
                id: fresh.next().unwrap_or_default(),
                handle: handle_of(&title),
                title,
                description_html: String::new(),
                vendor: String::new(),
                product_type: String::new(),
                status: "ACTIVE".into(),
                options: Vec::new(),
                variants: Vec::new(),
                created_at: now,
                updated_at: now,
            }
        }
    };
    if let Some(title) = input.title.filter(|t| !t.trim().is_empty()) {
        product.title = title;
    }
    if let Some(handle) = input.handle.or(wanted_handle) {
        product.handle = handle;
    }
    if let Some(v) = input.description_html {
        product.description_html = v;
    }
    if let Some(v) = input.vendor {
        product.vendor = v;
    }
    if let Some(v) = input.product_type {
        product.product_type = v;
    }
    if let Some(status) = input.status {
        product.status = match status {
            ProductStatus::Active => "ACTIVE",
            ProductStatus::Archived => "ARCHIVED",
            ProductStatus::Draft => "DRAFT",
        }
        .into();
    }
    // Options: the list replaces the old one.
    if !options_in.is_empty() || !variants_in.is_empty() {
        product.options = options_in
            .iter()
            .map(|o| ProductOption {
                id: o
                    .id
                    .as_deref()
                    .and_then(|id| parse_gid("ProductOption", id))
                    .unwrap_or_else(|| fresh.next().unwrap_or_default()),
                name: o.name.clone().unwrap_or_else(|| "Title".into()),
                values: o
                    .values
                    .iter()
                    .flatten()
                    .filter_map(|v| v.name.clone())
                    .collect(),
            })
            .collect();
    }
    // Variants: the list replaces the old one; a variant is kept (same id, inventory item and
    // stock) when the input names its id or the same option values, others are deleted.
    let old = std::mem::take(&mut product.variants);
    for (i, v) in variants_in.into_iter().enumerate() {
        let options: Vec<(String, String)> = v
            .option_values
            .iter()
            .flatten()
            .map(|o| {
                (
                    o.option_name.clone().unwrap_or_else(|| "Title".into()),
                    o.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let by_id =
            v.id.as_deref()
                .and_then(|id| parse_gid("ProductVariant", id));
        if v.id.is_some() && by_id.is_none_or(|id| !old.iter().any(|o| o.id == id)) {
            return Err(vec![ProductSetUserError {
                code: Some(C::InvalidVariant),
                field: Some(vec![
                    "input".into(),
                    "variants".into(),
                    i.to_string(),
                    "id".into(),
                ]),
                message: "Variant does not exist".into(),
            }]);
        }
        let previous = old.iter().find(|o| {
            by_id.map_or_else(
                || !options.is_empty() && o.options == options,
                |id| o.id == id,
            )
        });
        let title = if options.is_empty() {
            "Default Title".to_owned()
        } else {
            options
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let mut variant = previous.cloned().unwrap_or_else(|| Variant {
            id: fresh.next().unwrap_or_default(),
            sku: String::new(),
            title: title.clone(),
            price: "0.00".into(),
            compare_at_price: None,
            options: options.clone(),
            inventory_item_id: fresh.next().unwrap_or_default(),
            available: 0,
            created_at: now,
            updated_at: now,
        });
        variant.title = title;
        variant.options = options;
        if let Some(sku) = v.sku {
            variant.sku = sku;
        }
        if let Some(price) = v.price.as_deref().and_then(model::parse_price) {
            variant.price = model::money(price);
        }
        if let Some(compare) = v.compare_at_price {
            variant.compare_at_price = model::parse_price(&compare).map(model::money);
        }
        for q in v.inventory_quantities.iter().flatten() {
            if parse_gid("Location", &q.location_id) == Some(location_id) {
                variant.available = i64::from(q.quantity);
            }
        }
        variant.updated_at = now;
        product.variants.push(variant);
    }
    if product.variants.is_empty() {
        // Shopify keeps one default variant on every product.
        product.variants = old.into_iter().take(1).collect();
        if product.variants.is_empty() {
            product.variants.push(Variant {
                id: fresh.next().unwrap_or_default(),
                sku: String::new(),
                title: "Default Title".into(),
                price: "0.00".into(),
                compare_at_price: None,
                options: Vec::new(),
                inventory_item_id: fresh.next().unwrap_or_default(),
                available: 0,
                created_at: now,
                updated_at: now,
            });
        }
    }
    product.updated_at = now;
    let object = ProductObject::new(shop, &product);
    shop.products.insert(product.id, product);
    Ok(object)
}

fn handle_of(title: &str) -> String {
    let mut handle = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_alphanumeric() {
            handle.push(c);
        } else if !handle.ends_with('-') && !handle.is_empty() {
            handle.push('-');
        }
    }
    handle.trim_end_matches('-').to_owned()
}
