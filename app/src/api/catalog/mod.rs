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
mod server;

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
