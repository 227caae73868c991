//! Server functions of the product editor: read a product for editing, create or save it as a
//! whole, adjust a variant's stock, delete it.
//!
//! The editor sends what the merchant typed as text; the server parses every field with the
//! same rules the browser already applied (`Sku::parse`, `Gtin::parse`, `Money::parse` in the
//! UI language), collects every problem at once and answers them field by field, so the form
//! shows all errors next to their fields instead of one at a time.

use leptos::{prelude::*, server_fn::codec::Json};
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// How an attribute's value is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    Text,
    Number,
    Boolean,
}

impl AttributeKind {
    pub const ALL: [AttributeKind; 3] = [Self::Text, Self::Number, Self::Boolean];

    pub fn code(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Boolean => "boolean",
        }
    }

    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .unwrap_or(Self::Text)
    }
}

/// One attribute row of the form. Numbers travel as typed (`0,5`), booleans as `yes`/`no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeForm {
    pub name: String,
    pub kind: AttributeKind,
    pub value: String,
}

/// One variant row of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantForm {
    /// The existing variant this row edits; `None` for a new row.
    pub id: Option<String>,
    pub option_values: Vec<String>,
    pub sku: String,
    pub gtin: String,
    /// As typed, in the UI language (`19,99`).
    pub price: String,
    pub currency: String,
    /// Opening stock; only read for a new product (afterwards stock moves through the ledger).
    pub on_hand: String,
}

/// The whole editor form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductForm {
    pub title: String,
    pub brand: String,
    pub description_html: String,
    pub category: String,
    pub condition: String,
    pub weight_grams: String,
    pub length_mm: String,
    pub width_mm: String,
    pub height_mm: String,
    pub attributes: Vec<AttributeForm>,
    pub option_names: Vec<String>,
    pub variants: Vec<VariantForm>,
}

/// A variant as the editor shows it: the form row plus its stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantStockView {
    pub id: String,
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

/// What the editor loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductEditorView {
    /// `None` for a new product.
    pub id: Option<String>,
    pub version: i64,
    pub form: ProductForm,
    pub stock: Vec<VariantStockView>,
    /// Whether the viewer may change the catalog (editors and up).
    pub can_edit: bool,
    /// `YYYY-MM-DD HH:MM UTC`, for an existing product.
    pub updated_at: Option<String>,
}

/// What a save answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveProductOutcome {
    Saved {
        id: String,
        version: i64,
        changed: bool,
    },
    Invalid(Vec<FieldProblem>),
    /// Someone saved in between; nothing was written.
    Conflict {
        current_version: i64,
    },
}

/// What a stock adjustment answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StockOutcome {
    Adjusted(VariantStockView),
    Invalid(Vec<FieldProblem>),
}

/// One ledger row, for the variant's stock history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovementView {
    pub delta: i64,
    pub on_hand_after: i64,
    pub reason: String,
    pub source: String,
    pub note: Option<String>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub at: String,
}

/// The reasons a person may give for a stock adjustment (the others come from the system).
pub const STOCK_REASONS: [&str; 5] = ["received", "counted", "damaged", "returned", "correction"];

#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::ServerFnError;
    use shopmarkets_core::{
        access::AccessError,
        catalog::{
            Attribute, AttributeValue, CatalogError, Condition, Dimensions, ProductContent,
            ProductDetails, ProductInput, StockReason, VariantInput,
        },
    };
    use shopmarkets_types::{Currency, FieldError, Gtin, Locale, Money, Sku};
    use uuid::Uuid;

    use super::*;
    use crate::services::{access_error, internal_error};

    pub fn parse_id(id: &str) -> Result<Uuid, ServerFnError> {
        Uuid::parse_str(id.trim()).map_err(|_| access_error(AccessError::NotFound))
    }

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
}

/// The product for the editor; without an id, an empty form for a new product.
#[server(endpoint = "product_editor")]
pub async fn product_editor(id: Option<String>) -> Result<ProductEditorView, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use crate::services::{request_locale, scope, services};

    let (_, scope) = scope(Permission::ViewCatalog).await?;
    let can_edit = scope.require(Permission::EditCatalog).is_ok();
    let Some(id) = id.filter(|id| !id.trim().is_empty()) else {
        return Ok(ProductEditorView {
            id: None,
            version: 0,
            form: ProductForm {
                title: String::new(),
                brand: String::new(),
                description_html: String::new(),
                category: String::new(),
                condition: "new".into(),
                weight_grams: String::new(),
                length_mm: String::new(),
                width_mm: String::new(),
                height_mm: String::new(),
                attributes: vec![],
                option_names: vec![],
                variants: vec![VariantForm {
                    id: None,
                    option_values: vec![],
                    sku: String::new(),
                    gtin: String::new(),
                    price: String::new(),
                    currency: "EUR".into(),
                    on_hand: "0".into(),
                }],
            },
            stock: vec![],
            can_edit,
            updated_at: None,
        });
    };
    let id = server::parse_id(&id)?;
    let details = catalog::get_product(&services()?.db, &scope, id)
        .await
        .map_err(server::read_error)?;
    Ok(ProductEditorView {
        id: Some(details.product.id.to_string()),
        version: details.product.version,
        form: server::form_of(&details, request_locale()),
        stock: details.variants.iter().map(server::stock_of).collect(),
        can_edit,
        updated_at: Some(
            details
                .product
                .updated_at
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
        ),
    })
}

/// Creates (`id` `None`) or saves a product as a whole. `version` is the one the editor loaded.
#[server(endpoint = "save_product", input = Json)]
pub async fn save_product(
    id: Option<String>,
    version: i64,
    form: ProductForm,
) -> Result<SaveProductOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use crate::services::{client_ip, request_locale, scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let now = services.clock.now();
    let id = id
        .filter(|id| !id.trim().is_empty())
        .map(|id| server::parse_id(&id))
        .transpose()?;
    let (input, opening) = match server::parse_form(form, request_locale(), id.is_none()) {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(SaveProductOutcome::Invalid(problems)),
    };
    match id {
        None => {
            let new = catalog::NewProduct {
                content: input.content,
                option_names: input.option_names,
                variants: input
                    .variants
                    .into_iter()
                    .zip(opening)
                    .map(|(v, on_hand)| catalog::NewVariant {
                        sku: v.sku,
                        gtin: v.gtin,
                        option_values: v.option_values,
                        price: v.price,
                        on_hand,
                    })
                    .collect(),
            };
            match catalog::create_product(&services.db, &scope, new, now, client_ip()).await {
                Ok(created) => Ok(SaveProductOutcome::Saved {
                    id: created.product.id.to_string(),
                    version: created.product.version,
                    changed: true,
                }),
                Err(err) => server::save_refusal(err),
            }
        }
        Some(id) => {
            match catalog::save_product(&services.db, &scope, id, version, input, now, client_ip())
                .await
            {
                Ok(outcome) => Ok(SaveProductOutcome::Saved {
                    id: outcome.product_id.to_string(),
                    version: outcome.version,
                    changed: outcome.changed,
                }),
                Err(err) => server::save_refusal(err),
            }
        }
    }
}

/// Adds to or takes from a variant's stock, with a reason, through the ledger.
#[server(endpoint = "adjust_variant_stock")]
pub async fn adjust_variant_stock(
    variant_id: String,
    delta: String,
    reason: String,
    note: String,
) -> Result<StockOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};
    use shopmarkets_types::FieldError;

    use crate::services::{client_ip, scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let variant_id = server::parse_id(&variant_id)?;
    let mut problems = server::Problems::default();
    let delta = problems.check(
        "delta",
        server::whole_number(&delta).and_then(|d| match d {
            None | Some(0) => Err(FieldError::Required),
            Some(d) if d.abs() > catalog::MAX_STOCK => Err(FieldError::OutOfRange {
                min: -catalog::MAX_STOCK,
                max: catalog::MAX_STOCK,
            }),
            Some(d) => Ok(d),
        }),
    );
    let reason = problems.check(
        "reason",
        server::reason(&reason).ok_or(FieldError::Required),
    );
    let (Some(delta), Some(reason)) = (delta, reason) else {
        return Ok(StockOutcome::Invalid(problems.0));
    };
    let note = Some(note.trim()).filter(|n| !n.is_empty());
    match catalog::adjust_stock(
        &services.db,
        &scope,
        variant_id,
        delta,
        reason,
        note,
        services.clock.now(),
        client_ip(),
    )
    .await
    {
        Ok(variant) => Ok(StockOutcome::Adjusted(server::stock_of(&variant))),
        Err(catalog::CatalogError::Field { field, error }) => {
            Ok(StockOutcome::Invalid(vec![FieldProblem { field, error }]))
        }
        Err(err) => Err(server::read_error(err)),
    }
}

/// The newest movements of a variant's stock.
#[server(endpoint = "variant_movements")]
pub async fn variant_movements(variant_id: String) -> Result<Vec<MovementView>, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use crate::services::{scope, services};

    let (_, scope) = scope(Permission::ViewCatalog).await?;
    let variant_id = server::parse_id(&variant_id)?;
    let movements = catalog::stock_movements(&services()?.db, &scope, variant_id)
        .await
        .map_err(server::read_error)?;
    Ok(movements
        .into_iter()
        .take(20)
        .map(|m| MovementView {
            delta: m.on_hand_delta,
            on_hand_after: m.on_hand_after,
            reason: m.reason,
            source: m.source,
            note: m.note,
            at: m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect())
}

/// Deletes one product (the editor's delete button, after its confirmation).
#[server(endpoint = "delete_product")]
pub async fn delete_product(id: String) -> Result<(), ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use crate::services::{client_ip, scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let id = server::parse_id(&id)?;
    catalog::delete_product(&services.db, &scope, id, services.clock.now(), client_ip())
        .await
        .map_err(server::read_error)
}

/// Whether the demo catalog can be created here: in development, for catalog editors.
#[server(endpoint = "demo_catalog_available")]
pub async fn demo_catalog_available() -> Result<bool, ServerFnError> {
    use shopmarkets_core::access::Permission;

    use crate::services::{current_auth, scope, services};

    if services()?.config.env.is_production() || current_auth().await?.is_none() {
        return Ok(false);
    }
    Ok(scope(Permission::EditCatalog).await.is_ok())
}

/// Development only: fills the current organization with the demo catalog (300 products
/// with images) on a background task; the products appear while it runs.
#[server(endpoint = "fill_demo_catalog")]
pub async fn fill_demo_catalog() -> Result<(), ServerFnError> {
    use shopmarkets_core::{access::Permission, demo};

    use crate::services::{scope, services};

    let services = services()?;
    if services.config.env.is_production() {
        return Err(ServerFnError::new("not found"));
    }
    let (_, scope) = scope(Permission::EditCatalog).await?;
    let now = services.clock.now();
    tokio::spawn(async move {
        match demo::fill_catalog(&services.db, Some(&services.media), &scope, 300, 1, now).await {
            Ok(outcome) => tracing::info!(
                products = outcome.products,
                images = outcome.images,
                "demo catalog created"
            ),
            Err(err) => tracing::error!(error = %err, "demo catalog failed"),
        }
    });
    Ok(())
}
