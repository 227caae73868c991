//! The mutations: `productSet` (variants and options are a full replacement list),
//! `inventorySetQuantities` (with `@idempotent(key:)` and `changeFromQuantity`),
//! `fulfillmentCreate`, `webhookSubscriptionCreate` / `webhookSubscriptionDelete`. This module
//! holds the mutation root and the webhook subscriptions; the work of the others is in
//! `product_set`, `inventory` and `fulfillment`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::fulfillment::{FulfillmentInput, fulfill};
use super::graphql::{WebhookSubscriptionFormat, WebhookSubscriptionTopic, api, error};
use super::inventory::{
    InventorySetQuantitiesInput, InventorySetQuantitiesPayload, set_quantities,
};
use super::model::{self, gid, parse_gid};
use super::notify::API_VERSION;
use super::objects::{FulfillmentObject, ProductObject, WebhookSubscriptionObject, topic_name};
use super::product_set::{
    ProductSetIdentifiers, ProductSetInput, ProductSetUserError, product_set,
};

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

#[derive(SimpleObject, Clone)]
pub struct UserError {
    field: Option<Vec<String>>,
    message: String,
}

pub(super) fn user_error(field: &[&str], message: &str) -> UserError {
    UserError {
        field: Some(field.iter().map(|s| (*s).to_owned()).collect()),
        message: message.to_owned(),
    }
}

#[derive(SimpleObject)]
pub struct FulfillmentCreatePayload {
    fulfillment: Option<FulfillmentObject>,
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
                    fulfillment: Some(FulfillmentObject(result)),
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
