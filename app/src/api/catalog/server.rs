//! Parsing the editor's form on the server: every field with the shared rules, all problems
//! at once; and the stored product back as the form.

use leptos::prelude::ServerFnError;
use shopmarkets_core::catalog::{
    Attribute, AttributeValue, CatalogError, Condition, Dimensions, ProductContent, ProductDetails,
    ProductInput, StockReason, VariantInput,
};
use shopmarkets_types::{Currency, FieldError, Gtin, Locale, Money, Sku};
use uuid::Uuid;

use super::*;
use crate::services::{access_error, internal_error};

pub use crate::services::parse_id;

/// Collects problems while a form is parsed.
#[derive(Default)]
pub struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn check<T>(
        &mut self,
        field: impl Into<String>,
        result: Result<T, FieldError>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldProblem {
                    field: field.into(),
                    error,
                });
                None
            }
        }
    }
}

fn optional(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A whole number of a form field; empty is `None`.
pub fn whole_number(value: &str) -> Result<Option<i64>, FieldError> {
    let value = value.trim().replace(['.', ' ', '\u{a0}'], "");
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<i64>()
        .map(Some)
        .map_err(|_| FieldError::InvalidNumber)
}

fn measure(value: &str) -> Result<Option<i32>, FieldError> {
    whole_number(value)?
        .map(|v| {
            i32::try_from(v).map_err(|_| FieldError::OutOfRange {
                min: 0,
                max: i64::from(i32::MAX),
            })
        })
        .transpose()
}

fn attribute_value(form: &AttributeForm, locale: Locale) -> Result<AttributeValue, FieldError> {
    match form.kind {
        AttributeKind::Text => Ok(AttributeValue::Text(form.value.clone())),
        AttributeKind::Boolean => match form.value.trim() {
            "yes" | "true" | "ja" => Ok(AttributeValue::Boolean(true)),
            "no" | "false" | "nein" | "" => Ok(AttributeValue::Boolean(false)),
            _ => Err(FieldError::InvalidNumber),
        },
        AttributeKind::Number => {
            let normalized = match locale {
                Locale::De => form.value.trim().replace('.', "").replace(',', "."),
                Locale::En => form.value.trim().replace(',', ""),
            };
            normalized
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(AttributeValue::Number)
                .ok_or(FieldError::InvalidAmount)
        }
    }
}

/// The form as the core's input, or every problem found.
pub fn parse_form(
    form: ProductForm,
    locale: Locale,
    with_stock: bool,
) -> Result<(ProductInput, Vec<i64>), Vec<FieldProblem>> {
    let mut problems = Problems::default();
    let condition = Condition::from_code(&form.condition);
    if condition.is_none() {
        problems.0.push(FieldProblem {
            field: "condition".into(),
            error: FieldError::Required,
        });
    }
    let weight_grams = problems.check("weight_grams", measure(&form.weight_grams));
    let length_mm = problems.check("length_mm", measure(&form.length_mm));
    let width_mm = problems.check("width_mm", measure(&form.width_mm));
    let height_mm = problems.check("height_mm", measure(&form.height_mm));
    let attributes: Vec<Option<Attribute>> = form
        .attributes
        .iter()
        .enumerate()
        .filter(|(_, a)| !(a.name.trim().is_empty() && a.value.trim().is_empty()))
        .map(|(i, a)| {
            problems
                .check(format!("attributes.{i}.value"), attribute_value(a, locale))
                .map(|value| Attribute {
                    name: a.name.clone(),
                    value,
                })
        })
        .collect();
    let option_names: Vec<String> = form
        .option_names
        .iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    let mut variants = Vec::new();
    let mut opening = Vec::new();
    for (i, row) in form.variants.iter().enumerate() {
        let id = match row.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => match Uuid::parse_str(id) {
                Ok(id) => Some(Some(id)),
                Err(_) => {
                    problems.0.push(FieldProblem {
                        field: format!("variants.{i}.id"),
                        error: FieldError::NotFound,
                    });
                    None
                }
            },
            None => Some(None),
        };
        let sku = problems.check(format!("variants.{i}.sku"), Sku::parse(&row.sku));
        let gtin = problems.check(
            format!("variants.{i}.gtin"),
            match row.gtin.trim() {
                "" => Ok(None),
                gtin => Gtin::parse(gtin).map(Some),
            },
        );
        let currency = problems.check(
            format!("variants.{i}.price"),
            Currency::parse(if row.currency.trim().is_empty() {
                "EUR"
            } else {
                &row.currency
            }),
        );
        let price = currency.and_then(|currency| {
            problems.check(
                format!("variants.{i}.price"),
                Money::parse(&row.price, currency, locale),
            )
        });
        if with_stock {
            let on_hand = problems.check(
                format!("variants.{i}.on_hand"),
                whole_number(&row.on_hand).and_then(|n| {
                    let n = n.unwrap_or(0);
                    if (0..=shopmarkets_core::catalog::MAX_STOCK).contains(&n) {
                        Ok(n)
                    } else {
                        Err(FieldError::OutOfRange {
                            min: 0,
                            max: shopmarkets_core::catalog::MAX_STOCK,
                        })
                    }
                }),
            );
            opening.push(on_hand.unwrap_or(0));
        }
        if let (Some(id), Some(sku), Some(gtin), Some(price)) = (id, sku, gtin, price) {
            variants.push(VariantInput {
                id,
                sku,
                gtin,
                option_values: row
                    .option_values
                    .iter()
                    .take(option_names.len())
                    .cloned()
                    .collect(),
                price,
            });
        }
    }
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    let input = ProductInput {
        content: ProductContent {
            title: form.title,
            brand: optional(&form.brand),
            description_html: form.description_html,
            category: optional(&form.category),
            condition: condition.unwrap_or(Condition::New),
            weight_grams: weight_grams.flatten(),
            dimensions: Dimensions {
                length_mm: length_mm.flatten(),
                width_mm: width_mm.flatten(),
                height_mm: height_mm.flatten(),
            },
            attributes: attributes.into_iter().flatten().collect(),
        },
        option_names,
        variants,
    };
    Ok((input, opening))
}

fn format_number(n: f64, locale: Locale) -> String {
    let text = n.to_string();
    match locale {
        Locale::De => text.replace('.', ","),
        Locale::En => text,
    }
}

/// A stored product as the editor's form, prices in the UI language.
pub fn form_of(details: &ProductDetails, locale: Locale) -> ProductForm {
    let p = &details.product;
    let text = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    ProductForm {
        title: p.title.clone(),
        brand: p.brand.clone().unwrap_or_default(),
        description_html: p.description_html.clone(),
        category: p.category.clone().unwrap_or_default(),
        condition: p.condition.clone(),
        weight_grams: text(p.weight_grams),
        length_mm: text(p.length_mm),
        width_mm: text(p.width_mm),
        height_mm: text(p.height_mm),
        attributes: Attribute::from_json(&p.attributes)
            .into_iter()
            .map(|a| match a.value {
                AttributeValue::Text(value) => AttributeForm {
                    name: a.name,
                    kind: AttributeKind::Text,
                    value,
                },
                AttributeValue::Number(n) => AttributeForm {
                    name: a.name,
                    kind: AttributeKind::Number,
                    value: format_number(n, locale),
                },
                AttributeValue::Boolean(b) => AttributeForm {
                    name: a.name,
                    kind: AttributeKind::Boolean,
                    value: if b { "yes" } else { "no" }.to_owned(),
                },
            })
            .collect(),
        option_names: serde_json::from_str(&p.option_names).unwrap_or_default(),
        variants: details
            .variants
            .iter()
            .map(|v| {
                let currency = Currency::parse(&v.currency).unwrap_or(Currency::Eur);
                VariantForm {
                    id: Some(v.id.to_string()),
                    option_values: serde_json::from_str(&v.option_values).unwrap_or_default(),
                    sku: v.sku.clone(),
                    gtin: v.gtin.clone().unwrap_or_default(),
                    price: Money::new(v.price_minor, currency)
                        .map(|m| m.format_amount(locale))
                        .unwrap_or_default(),
                    currency: currency.code().to_owned(),
                    on_hand: v.on_hand.to_string(),
                }
            })
            .collect(),
    }
}

pub fn stock_of(v: &shopmarkets_core::entity::variant::Model) -> VariantStockView {
    VariantStockView {
        id: v.id.to_string(),
        sku: v.sku.clone(),
        on_hand: v.on_hand,
        reserved: v.reserved,
        available: v.on_hand - v.reserved,
    }
}

pub fn reason(code: &str) -> Option<StockReason> {
    match code {
        "received" => Some(StockReason::Received),
        "counted" => Some(StockReason::Counted),
        "damaged" => Some(StockReason::Damaged),
        "returned" => Some(StockReason::Returned),
        "correction" => Some(StockReason::Correction),
        _ => None,
    }
}

/// A save's refusal as the page's outcome; access problems become 403/404 responses.
pub fn save_refusal(err: CatalogError) -> Result<SaveProductOutcome, ServerFnError> {
    match err {
        CatalogError::Access(err) => Err(access_error(err)),
        CatalogError::Field { field, error } => {
            Ok(SaveProductOutcome::Invalid(vec![FieldProblem {
                field,
                error,
            }]))
        }
        CatalogError::Conflict { current_version } => {
            Ok(SaveProductOutcome::Conflict { current_version })
        }
        CatalogError::Db(err) => Err(internal_error(err)),
    }
}

pub fn read_error(err: CatalogError) -> ServerFnError {
    match err {
        CatalogError::Access(err) => access_error(err),
        other => internal_error(other),
    }
}
