//! The mutations: `productSet` (variants and options are a full replacement list),
//! `inventorySetQuantities` (with `@idempotent(key:)` and `changeFromQuantity`),
//! `fulfillmentCreate`, `webhookSubscriptionCreate` / `webhookSubscriptionDelete`.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use serde::{Deserialize, Serialize};

use super::graphql::{
    ProductObject, WebhookSubscriptionFormat, WebhookSubscriptionObject, WebhookSubscriptionTopic,
    api, error, topic_name,
};
use super::model::{self, Fulfillment, ProductOption, Variant, gid, parse_gid};
use super::notify::API_VERSION;

#[derive(InputObject, Serialize)]
pub struct ProductSetInput {
    id: Option<ID>,
    title: Option<String>,
    handle: Option<String>,
    description_html: Option<String>,
    vendor: Option<String>,
    product_type: Option<String>,
    status: Option<super::graphql::ProductStatus>,
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

#[derive(SimpleObject)]
pub struct ProductSetPayload {
    product: Option<ProductObject>,
    product_set_operation: Option<ProductSetOperation>,
    user_errors: Vec<ProductSetUserError>,
}

/// Async mode is simplified: the operation is already COMPLETE when returned.
#[derive(SimpleObject)]
pub struct ProductSetOperation {
    id: ID,
    status: String,
    product: Option<ProductObject>,
    user_errors: Vec<ProductSetUserError>,
}

#[derive(InputObject, Serialize)]
pub struct InventorySetQuantitiesInput {
    name: String,
    reason: String,
    reference_document_uri: Option<String>,
    ignore_compare_quantity: Option<bool>,
    quantities: Vec<InventoryQuantityInput>,
}

#[derive(InputObject, Serialize)]
pub struct InventoryQuantityInput {
    inventory_item_id: ID,
    location_id: ID,
    quantity: i32,
    compare_quantity: Option<i32>,
    /// From 2026-04: the quantity the caller believes is current (`null` opts out).
    change_from_quantity: Option<i32>,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventorySetQuantitiesUserError {
    code: Option<String>,
    field: Option<Vec<String>>,
    message: String,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventoryChange {
    name: String,
    delta: i64,
    quantity_after_change: i64,
    item: IdOnly,
    location: IdOnly,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct IdOnly {
    id: ID,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventoryAdjustmentGroup {
    id: ID,
    created_at: String,
    reason: String,
    reference_document_uri: Option<String>,
    changes: Vec<InventoryChange>,
}

#[derive(SimpleObject, Clone, Serialize, Deserialize)]
pub struct InventorySetQuantitiesPayload {
    inventory_adjustment_group: Option<InventoryAdjustmentGroup>,
    user_errors: Vec<InventorySetQuantitiesUserError>,
}

const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

#[derive(InputObject)]
pub struct FulfillmentInput {
    line_items_by_fulfillment_order: Vec<FulfillmentOrderLineItemsInput>,
    notify_customer: Option<bool>,
    tracking_info: Option<FulfillmentTrackingInput>,
    origin_address: Option<FulfillmentOriginAddressInput>,
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemsInput {
    fulfillment_order_id: ID,
    fulfillment_order_line_items: Option<Vec<FulfillmentOrderLineItemInput>>,
}

#[derive(InputObject)]
pub struct FulfillmentOrderLineItemInput {
    id: ID,
    quantity: i32,
}

#[derive(InputObject)]
pub struct FulfillmentTrackingInput {
    company: Option<String>,
    number: Option<String>,
    numbers: Option<Vec<String>>,
    url: Option<String>,
    urls: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct FulfillmentOriginAddressInput {
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    zip: Option<String>,
    province_code: Option<String>,
    country_code: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct UserError {
    field: Option<Vec<String>>,
    message: String,
}

fn user_error(field: &[&str], message: &str) -> UserError {
    UserError {
        field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
        message: message.to_owned(),
    }
}

#[derive(SimpleObject)]
pub struct FulfillmentCreatePayload {
    fulfillment: Option<super::graphql::FulfillmentObject>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct WebhookSubscriptionInput {
    callback_url: Option<String>,
    uri: Option<String>,
    format: Option<WebhookSubscriptionFormat>,
    include_fields: Option<Vec<String>>,
}

#[derive(SimpleObject)]
pub struct WebhookSubscriptionCreatePayload {
    webhook_subscription: Option<WebhookSubscriptionObject>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct WebhookSubscriptionDeletePayload {
    deleted_webhook_subscription_id: Option<ID>,
    user_errors: Vec<UserError>,
}

pub struct MutationRoot;

#[Object]
impl MutationRoot {
    async fn product_set(
        &self,
        ctx: &Context<'_>,
        input: ProductSetInput,
        synchronous: Option<bool>,
        identifier: Option<ProductSetIdentifiers>,
    ) -> Result<ProductSetPayload> {
        let api = api(ctx);
        let now = api.sandbox.now();
        let result = {
            let mut state = api.sandbox.lock();
            product_set(&mut state, &api.shop, input, identifier, now)
        };
        let (product, errors) = match result {
            Ok(product) => (Some(product), Vec::new()),
            Err(errors) => (None, errors),
        };
        if synchronous == Some(false) {
            let id = api.sandbox.lock().next_id();
            return Ok(ProductSetPayload {
                product: None,
                product_set_operation: Some(ProductSetOperation {
                    id: ID(gid("ProductSetOperation", id)),
                    status: "COMPLETE".into(),
                    product,
                    user_errors: errors,
                }),
                user_errors: Vec::new(),
            });
        }
        Ok(ProductSetPayload {
            product,
            product_set_operation: None,
            user_errors: errors,
        })
    }

    async fn inventory_set_quantities(
        &self,
        ctx: &Context<'_>,
        input: InventorySetQuantitiesInput,
    ) -> Result<InventorySetQuantitiesPayload> {
        let api = api(ctx);
        let key = ctx.field().directives()?.into_iter().find_map(|d| {
            (d.name.node == "idempotent").then(|| {
                d.arguments
                    .iter()
                    .find(|(n, _)| n.node == "key")
                    .and_then(|(_, v)| match &v.node {
                        async_graphql::Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
            })?
        });
        let fingerprint = serde_json::to_string(&input).unwrap_or_default();
        let now = api.sandbox.now();
        let mut state = api.sandbox.lock();
        let group_id = state.next_id();
        let shop = state
            .shop_mut(&api.shop)
            .ok_or_else(|| error("Shop not found", "NOT_FOUND"))?;
        // [S] The error codes of Shopify's idempotency guide.
        match &key {
            None if api.sandbox.options().require_idempotency => {
                return Err(error(
                    "The @idempotent directive is required for this mutation.",
                    "BAD_REQUEST",
                ));
            }
            Some(key) if key.is_empty() || key.len() > 255 => {
                return Err(error("The idempotency key is invalid.", "BAD_REQUEST"));
            }
            Some(key) => {
                if let Some(previous) = shop.idempotency.get(key) {
                    if previous.fingerprint != fingerprint {
                        return Err(error(
                            "The idempotency key was already used with different parameters.",
                            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        ));
                    }
                    return serde_json::from_value(previous.result.clone())
                        .map_err(|e| error(e.to_string(), "INTERNAL_SERVER_ERROR"));
                }
            }
            None => {}
        }
        let mut payload = set_quantities(shop, &input, now);
        if let Some(group) = payload.inventory_adjustment_group.as_mut() {
            group.id = ID(gid("InventoryAdjustmentGroup", group_id));
        }
        if let Some(key) = key {
            shop.idempotency.insert(
                key,
                model::IdempotentResult {
                    fingerprint,
                    result: serde_json::to_value(&payload).unwrap_or_default(),
                    at: now,
                },
            );
            // Keys are kept for a day, so a long run does not grow without bound.
            shop.idempotency
                .retain(|_, r| now - r.at < chrono::Duration::hours(24));
        }
        Ok(payload)
    }

    async fn fulfillment_create(
        &self,
        ctx: &Context<'_>,
        fulfillment: FulfillmentInput,
        message: Option<String>,
    ) -> Result<FulfillmentCreatePayload> {
        let _ = message;
        let api = api(ctx);
        let now = api.sandbox.now();
        let created = {
            let mut state = api.sandbox.lock();
            let id = state.next_id();
            let shop = state
                .shop_mut(&api.shop)
                .ok_or_else(|| error("Shop not found", "NOT_FOUND"))?;
            fulfill(shop, &fulfillment, id, now)
        };
        match created {
            Ok((result, payload)) => {
                api.sandbox.send_webhooks(
                    &api.shop,
                    &["ORDERS_FULFILLED", "ORDERS_UPDATED"],
                    &payload,
                );
                Ok(FulfillmentCreatePayload {
                    fulfillment: Some(super::graphql::FulfillmentObject(result)),
                    user_errors: Vec::new(),
                })
            }
            Err(e) => Ok(FulfillmentCreatePayload {
                fulfillment: None,
                user_errors: vec![e],
            }),
        }
    }

    async fn webhook_subscription_create(
        &self,
        ctx: &Context<'_>,
        topic: WebhookSubscriptionTopic,
        webhook_subscription: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionCreatePayload> {
        let _ = &webhook_subscription.include_fields;
        let api = api(ctx);
        let uri = webhook_subscription
            .uri
            .or(webhook_subscription.callback_url)
            .unwrap_or_default();
        let parsed = reqwest::Url::parse(&uri).ok();
        if !parsed
            .as_ref()
            .is_some_and(|u| u.scheme() == "https" || u.scheme() == "http")
        {
            return Ok(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(
                    &["webhookSubscription", "callbackUrl"],
                    "Address is invalid",
                )],
            });
        }
        let topic_name = topic_name(topic);
        let now = api.sandbox.now();
        let mut state = api.sandbox.lock();
        let id = state.next_id();
        let shop = state
            .shop_mut(&api.shop)
            .ok_or_else(|| error("Shop not found", "NOT_FOUND"))?;
        if shop
            .webhooks
            .values()
            .any(|w| w.topic == topic_name && w.uri == uri)
        {
            return Ok(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(
                    &["webhookSubscription", "callbackUrl"],
                    "Address for this topic has already been taken",
                )],
            });
        }
        let webhook = model::Webhook {
            id,
            topic: topic_name,
            uri,
            format: if webhook_subscription.format == Some(WebhookSubscriptionFormat::Xml) {
                "XML".into()
            } else {
                "JSON".into()
            },
            api_version: if api.version == "unstable" {
                API_VERSION.into()
            } else {
                api.version.clone()
            },
            created_at: now,
            failures: 0,
        };
        let object = WebhookSubscriptionObject::of(&webhook);
        shop.webhooks.insert(id, webhook);
        Ok(WebhookSubscriptionCreatePayload {
            webhook_subscription: Some(object),
            user_errors: Vec::new(),
        })
    }

    async fn webhook_subscription_delete(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookSubscriptionDeletePayload> {
        let api = api(ctx);
        let mut state = api.sandbox.lock();
        let shop = state
            .shop_mut(&api.shop)
            .ok_or_else(|| error("Shop not found", "NOT_FOUND"))?;
        let removed = parse_gid("WebhookSubscription", &id).and_then(|n| shop.webhooks.remove(&n));
        Ok(match removed {
            Some(_) => WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: Some(id),
                user_errors: Vec::new(),
            },
            None => WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: None,
                user_errors: vec![user_error(&["id"], "Webhook subscription does not exist")],
            },
        })
    }
}

fn product_set(
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
            super::graphql::ProductStatus::Active => "ACTIVE",
            super::graphql::ProductStatus::Archived => "ARCHIVED",
            super::graphql::ProductStatus::Draft => "DRAFT",
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

fn set_quantities(
    shop: &mut model::Shop,
    input: &InventorySetQuantitiesInput,
    now: chrono::DateTime<chrono::Utc>,
) -> InventorySetQuantitiesPayload {
    let fail = |code: &str, field: Vec<String>, message: String| InventorySetQuantitiesPayload {
        inventory_adjustment_group: None,
        user_errors: vec![InventorySetQuantitiesUserError {
            code: Some(code.to_owned()),
            field: Some(field),
            message,
        }],
    };
    if input.name != "available" && input.name != "on_hand" {
        return fail(
            "INVALID_NAME",
            vec!["input".into(), "name".into()],
            "The quantity name must be either 'available' or 'on_hand'.".into(),
        );
    }
    if !REASONS.contains(&input.reason.as_str()) {
        return fail(
            "INVALID_REASON",
            vec!["input".into(), "reason".into()],
            "The specified reason is invalid.".into(),
        );
    }
    let location_id = shop.location_id;
    // Validate everything first: the mutation applies all quantities or none.
    let mut targets = Vec::new();
    for (i, q) in input.quantities.iter().enumerate() {
        let field = |name: &str| {
            vec![
                "input".into(),
                "quantities".into(),
                i.to_string(),
                name.to_owned(),
            ]
        };
        let Some(item) = parse_gid("InventoryItem", &q.inventory_item_id) else {
            return fail(
                "INVALID_INVENTORY_ITEM",
                field("inventoryItemId"),
                "The specified inventory item could not be found.".into(),
            );
        };
        if parse_gid("Location", &q.location_id) != Some(location_id) {
            return fail(
                "INVALID_LOCATION",
                field("locationId"),
                "The specified location could not be found.".into(),
            );
        }
        let Some(variant) = shop.variant_by_item_mut(item) else {
            return fail(
                "INVALID_INVENTORY_ITEM",
                field("inventoryItemId"),
                "The specified inventory item could not be found.".into(),
            );
        };
        if q.quantity < 0 && input.name == "on_hand" {
            return fail(
                "INVALID_QUANTITY_NEGATIVE",
                field("quantity"),
                "The quantity can't be negative.".into(),
            );
        }
        if let Some(expected) = q.change_from_quantity
            && i64::from(expected) != variant.available
        {
            return fail(
                "CHANGE_FROM_QUANTITY_STALE",
                field("changeFromQuantity"),
                "The changeFromQuantity argument no longer matches the persisted quantity.".into(),
            );
        }
        if let Some(expected) = q.compare_quantity
            && !input.ignore_compare_quantity.unwrap_or(false)
            && i64::from(expected) != variant.available
        {
            return fail(
                "COMPARE_QUANTITY_STALE",
                field("compareQuantity"),
                "The compareQuantity argument no longer matches the persisted quantity.".into(),
            );
        }
        targets.push((item, i64::from(q.quantity)));
    }
    let mut changes = Vec::new();
    for (item, quantity) in targets {
        if let Some(variant) = shop.variant_by_item_mut(item) {
            let delta = quantity - variant.available;
            variant.available = quantity;
            variant.updated_at = now;
            changes.push(InventoryChange {
                name: input.name.clone(),
                delta,
                quantity_after_change: quantity,
                item: IdOnly {
                    id: ID(gid("InventoryItem", item)),
                },
                location: IdOnly {
                    id: ID(gid("Location", location_id)),
                },
            });
        }
    }
    InventorySetQuantitiesPayload {
        inventory_adjustment_group: Some(InventoryAdjustmentGroup {
            id: ID(String::new()),
            created_at: model::iso(now),
            reason: input.reason.clone(),
            reference_document_uri: input.reference_document_uri.clone(),
            changes,
        }),
        user_errors: Vec::new(),
    }
}

/// Creates the fulfillment; returns it and the order's webhook JSON.
fn fulfill(
    shop: &mut model::Shop,
    input: &FulfillmentInput,
    id: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Fulfillment, serde_json::Value), UserError> {
    let _ = &input.origin_address.as_ref().map(|a| {
        (
            &a.address1,
            &a.address2,
            &a.city,
            &a.zip,
            &a.province_code,
            &a.country_code,
        )
    });
    let field = ["fulfillment", "lineItemsByFulfillmentOrder"];
    let first = input
        .line_items_by_fulfillment_order
        .first()
        .ok_or_else(|| user_error(&field, "Line items by fulfillment order can't be blank"))?;
    let fo_id = parse_gid("FulfillmentOrder", &first.fulfillment_order_id)
        .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
    let order = shop
        .orders
        .values_mut()
        .find(|o| o.fulfillment_orders.iter().any(|fo| fo.id == fo_id))
        .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
    let mut work: Vec<(usize, usize, u32)> = Vec::new();
    for group in &input.line_items_by_fulfillment_order {
        let id = parse_gid("FulfillmentOrder", &group.fulfillment_order_id)
            .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
        let fo_index = order
            .fulfillment_orders
            .iter()
            .position(|fo| fo.id == id)
            .ok_or_else(|| user_error(&field, "Fulfillment order does not exist."))?;
        let fo = &order.fulfillment_orders[fo_index];
        if fo.status == "CLOSED" {
            return Err(user_error(
                &field,
                "Fulfillment order is not in an actionable state.",
            ));
        }
        match &group.fulfillment_order_line_items {
            None => {
                for (i, l) in fo.line_items.iter().enumerate() {
                    if l.remaining_quantity > 0 {
                        work.push((fo_index, i, l.remaining_quantity));
                    }
                }
            }
            Some(items) => {
                for item in items {
                    let line_id = parse_gid("FulfillmentOrderLineItem", &item.id);
                    let i = fo
                        .line_items
                        .iter()
                        .position(|l| Some(l.id) == line_id)
                        .ok_or_else(|| {
                            user_error(&field, "Fulfillment order line item does not exist.")
                        })?;
                    let quantity = u32::try_from(item.quantity).unwrap_or(0);
                    if quantity == 0 || quantity > fo.line_items[i].remaining_quantity {
                        return Err(user_error(
                            &field,
                            "Invalid fulfillment order line item quantity requested.",
                        ));
                    }
                    work.push((fo_index, i, quantity));
                }
            }
        }
    }
    if work.is_empty() {
        return Err(user_error(&field, "There are no line items to fulfill."));
    }
    let mut fulfilled = Vec::new();
    for (fo_index, i, quantity) in work {
        let line = &mut order.fulfillment_orders[fo_index].line_items[i];
        line.remaining_quantity -= quantity;
        fulfilled.push((line.line_item_id, quantity));
    }
    for fo in &mut order.fulfillment_orders {
        if fo.line_items.iter().all(|l| l.remaining_quantity == 0) {
            fo.status = "CLOSED".into();
        } else if fo
            .line_items
            .iter()
            .any(|l| l.remaining_quantity < l.total_quantity)
        {
            fo.status = "IN_PROGRESS".into();
        }
    }
    order.fulfillment_status = if order
        .fulfillment_orders
        .iter()
        .all(|fo| fo.status == "CLOSED")
    {
        "FULFILLED".into()
    } else {
        "PARTIALLY_FULFILLED".into()
    };
    let tracking = input.tracking_info.as_ref();
    let fulfillment = Fulfillment {
        id,
        status: "SUCCESS".into(),
        tracking_company: tracking.and_then(|t| t.company.clone()),
        tracking_number: tracking.and_then(|t| {
            t.number
                .clone()
                .or_else(|| t.numbers.as_ref().and_then(|n| n.first().cloned()))
        }),
        tracking_url: tracking.and_then(|t| {
            t.url
                .clone()
                .or_else(|| t.urls.as_ref().and_then(|u| u.first().cloned()))
        }),
        notify_customer: input.notify_customer.unwrap_or(false),
        line_items: fulfilled,
        created_at: now,
    };
    order.fulfillments.push(fulfillment.clone());
    order.updated_at = now;
    let order = order.clone();
    Ok((fulfillment, model::order_rest_json(shop, &order)))
}
