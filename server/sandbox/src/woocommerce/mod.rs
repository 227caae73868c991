//! The WooCommerce sandbox: a self-hosted WordPress store with WooCommerce, as many stores as
//! a merchant likes. A store is the path segment after the base and is created on first use.
//!
//! Mapping of the real hosts (a WooCommerce store is its own host):
//! - `https://{store-host}/wc-auth/v1/authorize|login|access_granted` →
//!   `{base}/{store}/wc-auth/v1/…` (the app-authorization endpoint of `class-wc-auth.php`)
//! - `https://{store-host}/wp-json/wc/v3/…` → `{base}/{store}/wp-json/wc/v3/…` (REST v3)
//! - `https://{store-host}/wp-json/wc-shipment-tracking/v3/…` →
//!   `{base}/{store}/wp-json/wc-shipment-tracking/v3/…` (the paid Shipment Tracking extension)
//!
//! The store URL (WordPress `home_url`) is `{base}/{store}`: it is what OAuth 1.0a signatures
//! are computed over and what `X-WC-Webhook-Source` carries.
//!
//! Request authentication follows `class-wc-rest-authentication.php`: over HTTPS, HTTP Basic
//! or `consumer_key`/`consumer_secret` in the query; over plain HTTP one-legged OAuth 1.0a.
//! Whether the store counts as HTTPS follows the scheme of the base URL, or the
//! `request_scheme` option.
//!
//! Behaviour options (`PUT {base}/_sandbox/options`):
//! - `request_scheme`: `auto` (default, the base URL's scheme), `https` or `http`.
//! - `allow_http_loopback_callback` (default true): WooCommerce refuses a `callback_url` that
//!   is not HTTPS; local development has no TLS, so an `http://` callback to 127.0.0.1 or
//!   localhost is accepted while this is on.
//! - `shipment_tracking_extension` (default true): whether the store has the Shipment
//!   Tracking extension installed (its REST routes exist).
//! - `ping_on_create` (default true): CHANNELS.md §2.3 says a ping goes out when a webhook is
//!   created; the exact trigger in WooCommerce is not settled [U].
//!
//! Rate limits: WooCommerce has none on `wc/v3`. Hosts and WAFs add their own, so an optional
//! per-store-host limit can be switched on through `PUT {base}/_sandbox/limits`
//! (`{"enabled":true,"per_second":5,"burst":5}`) and answers 429 `rest_too_many_requests`.

mod auth;
mod model;
mod notify;
mod orders;
mod products;
mod rest;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::html::{Lang, escape};
use crate::common::limits::TokenBucket;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

use model::Store;

/// Everything a store keeps in its database; part of the snapshot.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
struct State {
    stores: BTreeMap<String, Store>,
    options: Options,
    next_key_id: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Options {
    request_scheme: String,
    allow_http_loopback_callback: bool,
    shipment_tracking_extension: bool,
    ping_on_create: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            request_scheme: "auto".into(),
            allow_http_loopback_callback: true,
            shipment_tracking_extension: true,
            ping_on_create: true,
        }
    }
}

/// The optional host-level limit (WooCommerce itself has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Limits {
    enabled: bool,
    per_second: f64,
    burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            enabled: false,
            per_second: 10.0,
            burst: 20.0,
        }
    }
}

pub struct WooCommerce {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Arc<Mutex<State>>,
    limits: Mutex<(Limits, TokenBucket)>,
    /// Logged-in browser sessions and grant nonces of the authorize flow (not persisted, like
    /// WordPress cookies that would not survive a restart of this stand-in).
    sessions: Mutex<auth::Sessions>,
}

impl WooCommerce {
    pub fn new(context: Context) -> Arc<Self> {
        let limits = Limits::default();
        let bucket = TokenBucket::new(limits.burst, limits.per_second);
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            context,
            state: Arc::new(Mutex::new(State::default())),
            limits: Mutex::new((limits, bucket)),
            sessions: Mutex::new(auth::Sessions::default()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        Router::new()
            .route(
                "/{store}/wc-auth/v1/{route}",
                get(auth::endpoint).post(auth::endpoint_post),
            )
            .route("/{store}/wp-json/{*path}", any(rest::handle))
            .route("/{store}/wp-json", any(rest::index))
            .with_state(self.clone())
            .merge(control_router(self.clone()))
            .layer(axum::middleware::from_fn_with_state(
                controls,
                calls::record,
            ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store's WordPress `home_url` without a trailing slash.
    fn store_url(&self, store: &str) -> String {
        format!("{}/{store}", self.context.base_url)
    }

    /// Whether WordPress' `is_ssl()` is true for this store.
    fn is_ssl(&self) -> bool {
        match self.lock().options.request_scheme.as_str() {
            "https" => true,
            "http" => false,
            _ => self.context.base_url.starts_with("https://"),
        }
    }

    fn options(&self) -> Options {
        self.lock().options.clone()
    }

    /// Takes one request from the optional host limit; the seconds to wait when refused.
    fn take_limit(&self) -> Option<f64> {
        if !self.context.limits_enabled {
            return None;
        }
        let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        if !limits.0.enabled {
            return None;
        }
        if limits.1.try_take(1.0) {
            None
        } else {
            Some(limits.1.wait_for(1.0).max(1.0))
        }
    }
}

impl Sandbox for WooCommerce {
    fn name(&self) -> (&'static str, &'static str) {
        ("woocommerce", "WooCommerce")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> Value {
        let limits = {
            let guard = self.limits.lock().unwrap_or_else(|p| p.into_inner());
            serde_json::to_value(&guard.0).unwrap_or_default()
        };
        let state = self.lock();
        let mut stores = serde_json::Map::new();
        let (mut listings, mut orders, mut webhooks) = (Vec::new(), Vec::new(), Vec::new());
        let mut keys_total = 0;
        for (name, store) in &state.stores {
            let url = self.store_url(name);
            for product in store.products.values() {
                let mut p = product.to_json(store);
                p["store"] = json!(name);
                listings.push(p);
            }
            for variation in store.variations.values() {
                let mut v = variation.to_json(store);
                v["store"] = json!(name);
                listings.push(v);
            }
            for order in store.orders.values() {
                let mut o = order.body.clone();
                o["store"] = json!(name);
                orders.push(o);
            }
            for hook in store.webhooks.values() {
                let mut w = hook.to_json();
                w["store"] = json!(name);
                w["failure_count"] = json!(hook.failure_count);
                webhooks.push(w);
            }
            keys_total += store.keys.len();
            stores.insert(
                name.clone(),
                json!({ "url": url, "keys": store.keys.len() }),
            );
        }
        json!({
            "stores": stores,
            "listings": listings,
            "orders": orders,
            "webhooks": webhooks,
            "tokens": { "api_keys": keys_total },
            "limits": limits,
            "options": state.options,
        })
    }

    fn set_limits(&self, limits: Value) -> Result<(), String> {
        let parsed: Limits = serde_json::from_value(limits).map_err(|e| e.to_string())?;
        if !(parsed.per_second.is_finite() && parsed.per_second > 0.0) {
            return Err("per_second must be a number above 0".into());
        }
        if !(parsed.burst.is_finite() && parsed.burst >= 1.0) {
            return Err("burst must be at least 1".into());
        }
        let mut guard = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        guard.1 = TokenBucket::new(parsed.burst, parsed.per_second);
        guard.0 = parsed;
        Ok(())
    }

    fn set_options(&self, options: Value) -> Result<(), String> {
        let parsed: Options = serde_json::from_value(options).map_err(|e| e.to_string())?;
        if !["auto", "https", "http"].contains(&parsed.request_scheme.as_str()) {
            return Err("request_scheme must be auto, https or http".into());
        }
        self.lock().options = parsed;
        Ok(())
    }

    fn revoke_tokens(&self) -> usize {
        // The merchant revoking keys in WP admin deletes them from woocommerce_api_keys.
        let mut state = self.lock();
        state
            .stores
            .values_mut()
            .map(|s| std::mem::take(&mut s.keys).len())
            .sum()
    }

    fn place_test_order(&self, order: TestOrder) -> Result<Value, String> {
        let now = self.context.controls.clock.now();
        let quantity = order.quantity.unwrap_or(1).max(1);
        let (store_name, body, hooks) = {
            let mut state = self.lock();
            let found = state.stores.iter().find_map(|(name, store)| {
                store
                    .find_listing(order.sku.as_deref())
                    .map(|id| (name.clone(), id))
            });
            let Some((name, id)) = found else {
                return Err(match order.sku {
                    Some(sku) => format!("no product or variation with SKU {sku} in any store"),
                    None => "no products yet: create one through the REST API first".into(),
                });
            };
            let store = state.stores.get_mut(&name).ok_or("store vanished")?;
            let body = store.place_order(id, quantity, now)?;
            let hooks = store.active_hooks("order.created");
            (name, body, hooks)
        };
        notify::send_all(self, &store_name, hooks, "order.created", &body);
        Ok(body)
    }

    fn listings_html(&self, lang: Lang) -> String {
        let state = self.lock();
        let mut rows = String::new();
        for (name, store) in &state.stores {
            let all = store.products.values().chain(store.variations.values());
            for p in all {
                let stock = p
                    .stock_quantity
                    .filter(|_| p.manage_stock)
                    .map_or_else(|| p.stock_status.clone(), |q| q.to_string());
                rows.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(name),
                    escape(&p.sku),
                    escape(&p.name),
                    escape(&p.price()),
                    escape(&stock),
                    escape(&p.status),
                ));
            }
        }
        if rows.is_empty() {
            return format!(
                "<p>{}</p>",
                lang.t(
                    "No products yet. Create them through the REST API (wp-json/wc/v3/products).",
                    "Noch keine Produkte. Lege sie über die REST-API an (wp-json/wc/v3/products)."
                )
            );
        }
        format!(
            "<table><thead><tr><th>{}</th><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
            lang.t("Store", "Shop"),
            lang.t("Title", "Titel"),
            lang.t("Price", "Preis"),
            lang.t("Stock", "Bestand"),
            lang.t("Status", "Status"),
        )
    }

    fn register_app(&self, app: AppRegistration) {
        *self.app.lock().unwrap_or_else(|p| p.into_inner()) = app;
    }

    fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.lock()).unwrap_or_default()
    }

    fn restore(&self, snapshot: Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        *self.lock() = restored;
        Ok(())
    }
}
