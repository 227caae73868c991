//! The Shopify sandbox: OAuth install with the hex query HMAC, expiring offline tokens with
//! rotating refresh tokens, the Admin GraphQL API (a real GraphQL server) with calculated query
//! costs and the per-shop cost bucket, and webhooks signed with the base64 body HMAC.
//!
//! Shopify's hosts all map to this sandbox's base; the shop domain becomes a path segment:
//!
//! - `https://{shop}.myshopify.com/admin/oauth/authorize` → `{base}/{shop}.myshopify.com/admin/oauth/authorize`
//! - `https://{shop}.myshopify.com/admin/oauth/access_token` → `{base}/{shop}.myshopify.com/admin/oauth/access_token`
//! - `https://{shop}.myshopify.com/admin/api/{version}/graphql.json` → `{base}/{shop}.myshopify.com/admin/api/{version}/graphql.json`
//! - `https://{shop}.myshopify.com/admin/api_permissions/current.json` (DELETE: the app uninstalls
//!   itself) → `{base}/{shop}.myshopify.com/admin/api_permissions/current.json`
//! - `https://admin.shopify.com/store/{name}/apps` (where a cancelled install lands) →
//!   `{base}/{shop}.myshopify.com/admin/apps`
//!
//! A shop is created when a merchant first installs the app on it (any domain that passes the
//! Shopify SDK's shop regex, e.g. `demo-shop.myshopify.com`).

mod api;
mod auth;
mod cost;
mod fulfillment;
mod graphql;
mod inventory;
mod model;
mod mutations;
mod notify;
mod objects;
mod page;
mod paging;
mod product_set;
mod search;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::common::html::Lang;
use crate::common::limits::TokenBucket;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

use self::model::State;

/// Behaviours the documentation leaves uncertain ([U]/[S] in CHANNELS.md §1), settable through
/// `PUT {base}/_sandbox/options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// [U] GraphQL throttling: HTTP 200 with a THROTTLED error (what the docs show) or 429.
    pub throttle_status: u16,
    /// [U] Authorization code lifetime; Shopify documents none. Ten minutes is the common OAuth
    /// choice.
    pub code_ttl_secs: u64,
    /// [U] Whether `inventorySetQuantities` needs `@idempotent(key:)` (mandatory on the inventory
    /// mutations from 2026-04; this one is not on the published list for certain).
    pub require_idempotency: bool,
    /// [U] Whether the token response carries `refresh_token_expires_in`.
    pub refresh_token_expires_in_field: bool,
    /// [S] Consecutive failed notifications (all retries spent) after which a subscription made
    /// through the Admin API is deleted; 0 keeps it forever.
    pub delete_after_failures: u32,
    /// [U] Cancel on the install page: `"admin"` returns the merchant to the shop admin (what
    /// Shopify's admin does), `"redirect"` sends them to the redirect_uri with
    /// `error=access_denied`.
    pub cancel: String,
    /// [U] redirect_uri check against the app's allowed URLs: `"exact"` (ignoring the query) or
    /// `"prefix"`.
    pub redirect_match: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            throttle_status: 200,
            code_ttl_secs: 600,
            require_idempotency: true,
            refresh_token_expires_in_field: true,
            delete_after_failures: 8,
            cancel: "admin".into(),
            redirect_match: "exact".into(),
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), String> {
        if ![200, 429].contains(&self.throttle_status) {
            return Err("throttle_status must be 200 or 429".into());
        }
        if !(1..=86_400).contains(&self.code_ttl_secs) {
            return Err("code_ttl_secs must be between 1 and 86400".into());
        }
        if !["admin", "redirect"].contains(&self.cancel.as_str()) {
            return Err("cancel must be \"admin\" or \"redirect\"".into());
        }
        if !["exact", "prefix"].contains(&self.redirect_match.as_str()) {
            return Err("redirect_match must be \"exact\" or \"prefix\"".into());
        }
        Ok(())
    }
}

/// The GraphQL cost bucket per shop. Shopify's plans restore 100 (Standard), 200 (Advanced),
/// 1000 (Plus) or 2000 (Enterprise) points per second; the bucket holds 20 seconds' worth
/// (2000 on Standard, matching the `maximumAvailable: 2000.0` real responses show [S]). A single
/// query may cost at most 1000 points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub enabled: bool,
    pub plan: String,
    pub restore_rate: f64,
    pub maximum_available: f64,
    pub max_query_cost: u64,
}

impl Limits {
    fn for_plan(plan: &str, enabled: bool) -> Option<Self> {
        let rate = match plan {
            "standard" => 100.0,
            "advanced" => 200.0,
            "plus" => 1000.0,
            "enterprise" => 2000.0,
            _ => return None,
        };
        Some(Self {
            enabled,
            plan: plan.into(),
            restore_rate: rate,
            maximum_available: rate * 20.0,
            max_query_cost: 1000,
        })
    }

    /// Applies `{"enabled", "plan", "restore_rate", "maximum_available", "max_query_cost"}`.
    fn apply(&self, json: &serde_json::Value) -> Result<Self, String> {
        let object = json.as_object().ok_or("limits must be a JSON object")?;
        let mut next = self.clone();
        for (key, value) in object {
            match key.as_str() {
                "enabled" => next.enabled = value.as_bool().ok_or("enabled must be a boolean")?,
                "plan" => {
                    let plan = value.as_str().ok_or("plan must be a string")?;
                    let base = Self::for_plan(plan, next.enabled).ok_or(
                        "plan must be one of standard, advanced, plus, enterprise".to_owned(),
                    )?;
                    next.plan = base.plan;
                    next.restore_rate = base.restore_rate;
                    next.maximum_available = base.maximum_available;
                }
                _ => {}
            }
        }
        for (key, value) in object {
            let number = || {
                value
                    .as_f64()
                    .filter(|n| n.is_finite() && *n > 0.0)
                    .ok_or(format!("{key} must be a positive number"))
            };
            match key.as_str() {
                "enabled" | "plan" => {}
                "restore_rate" => next.restore_rate = number()?,
                "maximum_available" => next.maximum_available = number()?,
                "max_query_cost" => {
                    next.max_query_cost = value
                        .as_u64()
                        .filter(|n| *n > 0)
                        .ok_or("max_query_cost must be a positive integer")?;
                }
                other => return Err(format!("unknown limit {other:?}")),
            }
        }
        Ok(next)
    }
}

pub struct Shopify {
    context: Context,
    me: Weak<Shopify>,
    app: Mutex<AppRegistration>,
    state: Mutex<State>,
    options: Mutex<Options>,
    limits: Mutex<Limits>,
    /// Cost buckets per shop (in memory only: not part of the snapshot).
    buckets: Mutex<HashMap<String, TokenBucket>>,
    schema: graphql::AdminSchema,
}

impl Shopify {
    pub fn new(context: Context) -> Arc<Self> {
        let limits = Limits::for_plan("standard", context.limits_enabled).expect("known plan");
        Arc::new_cyclic(|me| Self {
            app: Mutex::new(context.app.clone()),
            me: me.clone(),
            context,
            state: Mutex::new(State::default()),
            options: Mutex::new(Options::default()),
            limits: Mutex::new(limits),
            buckets: Mutex::new(HashMap::new()),
            schema: graphql::schema(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        let api = Router::new()
            .route(
                "/{shop}/admin/api/{version}/graphql.json",
                post(api::graphql),
            )
            .route(
                "/{shop}/admin/api_permissions/current.json",
                axum::routing::delete(api::revoke_permissions),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::faults,
            ))
            .with_state(self.clone());
        let auth = Router::new()
            .route(
                "/{shop}/admin/oauth/authorize",
                get(auth::authorize).post(auth::decide),
            )
            .route("/{shop}/admin/oauth/access_token", post(auth::access_token))
            .route("/{shop}/admin/apps", get(auth::admin_apps))
            .with_state(self.clone());
        Router::new()
            .merge(api)
            .merge(auth)
            .merge(control_router(self.clone()))
            .layer(axum::middleware::from_fn_with_state(
                controls,
                calls::record,
            ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn app(&self) -> AppRegistration {
        self.app.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn options(&self) -> Options {
        self.options
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn limits(&self) -> Limits {
        self.limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.context.controls.clock.now()
    }
}

impl Sandbox for Shopify {
    fn name(&self) -> (&'static str, &'static str) {
        ("shopify", "Shopify")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> serde_json::Value {
        let now = self.now();
        let state = self.lock();
        let mut listings = Vec::new();
        let mut orders = Vec::new();
        let mut webhooks = Vec::new();
        for shop in state.shops.values() {
            for product in shop.products.values() {
                for v in &product.variants {
                    listings.push(serde_json::json!({
                        "shop": shop.domain,
                        "product_id": model::gid("Product", product.id),
                        "variant_id": model::gid("ProductVariant", v.id),
                        "inventory_item_id": model::gid("InventoryItem", v.inventory_item_id),
                        "sku": v.sku,
                        "title": product.title,
                        "variant_title": v.title,
                        "price": v.price,
                        "available": v.available,
                        "status": product.status,
                    }));
                }
            }
            orders.extend(
                shop.orders
                    .values()
                    .map(|o| model::order_rest_json(shop, o)),
            );
            webhooks.extend(shop.webhooks.values().map(|w| {
                serde_json::json!({
                    "shop": shop.domain,
                    "id": model::gid("WebhookSubscription", w.id),
                    "topic": w.topic,
                    "uri": w.uri,
                    "failures": w.failures,
                })
            }));
        }
        serde_json::json!({
            "shops": state.shops.keys().collect::<Vec<_>>(),
            "listings": listings,
            "orders": orders,
            "webhooks": webhooks,
            "subscriptions": webhooks,
            "tokens": state.tokens.summary(now),
            "limits": self.limits(),
            "options": self.options(),
        })
    }

    fn set_limits(&self, limits: serde_json::Value) -> Result<(), String> {
        let next = self.limits().apply(&limits)?;
        *self.limits.lock().unwrap_or_else(|p| p.into_inner()) = next.clone();
        for bucket in self
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values_mut()
        {
            bucket.reshape(next.maximum_available, next.restore_rate);
        }
        Ok(())
    }

    fn set_options(&self, options: serde_json::Value) -> Result<(), String> {
        let mut current = serde_json::to_value(self.options()).map_err(|e| e.to_string())?;
        let (Some(current_map), serde_json::Value::Object(update)) =
            (current.as_object_mut(), options)
        else {
            return Err("options must be a JSON object".into());
        };
        current_map.extend(update);
        let next: Options = serde_json::from_value(current).map_err(|e| e.to_string())?;
        next.check()?;
        *self.options.lock().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(())
    }

    fn revoke_tokens(&self) -> usize {
        self.lock().tokens.revoke_all()
    }

    fn place_test_order(&self, order: TestOrder) -> Result<serde_json::Value, String> {
        let (shop, payload) = self.create_test_order(order)?;
        self.send_webhooks(&shop, &["ORDERS_CREATE", "ORDERS_PAID"], &payload);
        Ok(payload)
    }

    fn listings_html(&self, lang: Lang) -> String {
        page::listings(&self.lock(), lang)
    }

    fn register_app(&self, app: AppRegistration) {
        *self.app.lock().unwrap_or_else(|p| p.into_inner()) = app;
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or_default()
    }

    fn restore(&self, snapshot: serde_json::Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        *self.lock() = restored;
        Ok(())
    }
}
