//! The Etsy sandbox: Open API v3 with OAuth 2.0 + PKCE, `x-api-key: keystring:shared_secret`,
//! listings with full-replace inventory, shop receipts, shipments with tracking, `order.paid`
//! webhooks signed the Standard-Webhooks way, and the QPS/QPD rate limits.
//!
//! Etsy's hosts all map onto this sandbox's base URL (`{base}` = `context.base_url`):
//!
//! | Etsy | Sandbox |
//! |---|---|
//! | `https://www.etsy.com/oauth/connect` | `{base}/oauth/connect` (consent page, GET + POST) |
//! | `https://api.etsy.com/v3/public/oauth/token` | `{base}/v3/public/oauth/token` |
//! | `https://api.etsy.com/v3/application/…` (also `openapi.etsy.com`) | `{base}/v3/application/…` |
//! | developer console, webhook portal | `{base}/developer/webhooks` (JSON stand-in, see [`notify`]) |
//!
//! Every person who signs in on the consent page gets a demo Etsy user with one shop (numeric
//! `user_id` and `shop_id`); tokens are `"<user_id>.<random>"` as at Etsy.

// Handlers pass Etsy's finished error response up with `?`; it is built only on the failure
// path, so boxing it would buy nothing.
#![allow(clippy::result_large_err)]

mod api;
mod auth;
mod inventory;
mod limits;
mod notify;
mod receipts;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::html::{Lang, escape};
use crate::common::tokens::TokenStore;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

use self::limits::{LimitSettings, Limiter};

/// The currency of the demo shops.
const CURRENCY: &str = "EUR";

/// Behaviours the documentation leaves uncertain ([S]/[U] in CHANNELS.md §6); both variants are
/// offered through `PUT {base}/_sandbox/options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// [S] A refresh hands out a new refresh token; whether the old one stops working is only
    /// reported by a third-party client. true: the old one is revoked.
    pub refresh_rotation_invalidates_old: bool,
    /// [S/U] Refresh-token lifetime in days (90 in Etsy's older documentation).
    pub refresh_token_ttl_days: i64,
    /// [U] Whether `webhook-signature` carries the Standard-Webhooks `v1,` prefix.
    pub signature_v1_prefix: bool,
    /// Since 2026-02-09 Etsy rejects `x-api-key` without the shared secret. false models the
    /// earlier keystring-only behaviour.
    pub require_shared_secret: bool,
    /// [U] Lifetime of an authorization code in seconds (Etsy does not publish it).
    pub code_ttl_secs: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            refresh_rotation_invalidates_old: true,
            refresh_token_ttl_days: 90,
            signature_v1_prefix: true,
            require_shared_secret: true,
            code_ttl_secs: 300,
        }
    }
}

/// An Etsy member who authorized the app, with the shop they own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    user_id: u64,
    login: String,
    shop_id: u64,
    shop_name: String,
    email: String,
    created: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Offering {
    offering_id: u64,
    /// Cents of the shop currency.
    price: i64,
    quantity: i64,
    is_enabled: bool,
    readiness_state_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Product {
    product_id: u64,
    sku: String,
    property_values: Value,
    offerings: Vec<Offering>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Listing {
    listing_id: u64,
    shop_id: u64,
    user_id: u64,
    title: String,
    description: String,
    /// draft, active, inactive, sold_out, expired
    state: String,
    who_made: String,
    when_made: String,
    taxonomy_id: u64,
    tags: Vec<String>,
    materials: Vec<String>,
    shipping_profile_id: Option<u64>,
    return_policy_id: Option<u64>,
    is_supply: bool,
    should_auto_renew: bool,
    created: i64,
    updated: i64,
    state_changed: i64,
    products: Vec<Product>,
    price_on_property: Vec<u64>,
    quantity_on_property: Vec<u64>,
    sku_on_property: Vec<u64>,
    readiness_state_on_property: Vec<u64>,
}

impl Listing {
    /// What Etsy shows as the listing quantity: the enabled offerings together.
    fn quantity(&self) -> i64 {
        self.products
            .iter()
            .flat_map(|p| &p.offerings)
            .filter(|o| o.is_enabled)
            .map(|o| o.quantity)
            .sum()
    }

    /// The lowest enabled offering price (the "from" price Etsy shows).
    fn price(&self) -> i64 {
        self.products
            .iter()
            .flat_map(|p| &p.offerings)
            .filter(|o| o.is_enabled)
            .map(|o| o.price)
            .min()
            .unwrap_or(0)
    }

    fn skus(&self) -> Vec<&str> {
        self.products
            .iter()
            .map(|p| p.sku.as_str())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Shipment {
    receipt_shipping_id: u64,
    shipment_notification_timestamp: i64,
    carrier_name: String,
    tracking_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Transaction {
    transaction_id: u64,
    listing_id: u64,
    product_id: u64,
    sku: String,
    title: String,
    quantity: i64,
    price: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Receipt {
    receipt_id: u64,
    shop_id: u64,
    seller_user_id: u64,
    seller_email: String,
    buyer_user_id: u64,
    buyer_email: String,
    name: String,
    first_line: String,
    second_line: Option<String>,
    city: String,
    state: Option<String>,
    zip: String,
    country_iso: String,
    is_paid: bool,
    is_shipped: bool,
    is_canceled: bool,
    created: i64,
    updated: i64,
    transactions: Vec<Transaction>,
    shipments: Vec<Shipment>,
    message_from_buyer: String,
}

/// A webhook endpoint registered in the (stand-in) developer console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Webhook {
    id: String,
    url: String,
    events: Vec<String>,
    secret: String,
    created: i64,
}

/// Everything the sandbox keeps; snapshot and restore round-trip it exactly.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    tokens: TokenStore,
    users: BTreeMap<u64, User>,
    listings: BTreeMap<u64, Listing>,
    receipts: BTreeMap<u64, Receipt>,
    webhooks: Vec<Webhook>,
    next_id: u64,
    options: Options,
    limits: Option<LimitSettings>,
}

impl State {
    fn id(&mut self) -> u64 {
        if self.next_id < 1_000_000_000 {
            self.next_id = 1_000_000_000 + u64::from(rand::random::<u16>()) * 1000;
        }
        self.next_id += 1;
        self.next_id
    }

    fn user_by_shop(&self, shop_id: u64) -> Option<&User> {
        self.users.values().find(|u| u.shop_id == shop_id)
    }
}

pub struct Etsy {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Mutex<State>,
    limiter: Mutex<Limiter>,
}

impl Etsy {
    pub fn new(context: Context) -> Arc<Self> {
        let settings = LimitSettings::defaults(context.limits_enabled);
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            limiter: Mutex::new(Limiter::new(settings)),
            context,
            state: Mutex::new(State::default()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        let application = Router::new()
            .route("/v3/application/openapi-ping", get(api::ping))
            .route("/v3/application/users/me", get(api::get_me))
            .route("/v3/application/shops/{shop_id}", get(api::get_shop))
            .route(
                "/v3/application/shops/{shop_id}/listings",
                post(api::create_listing).get(api::shop_listings),
            )
            .route(
                "/v3/application/shops/{shop_id}/listings/{listing_id}",
                patch(api::update_listing),
            )
            .route(
                "/v3/application/listings/{listing_id}",
                get(api::get_listing),
            )
            .route(
                "/v3/application/listings/{listing_id}/inventory",
                get(inventory::get_inventory).put(inventory::put_inventory),
            )
            .route(
                "/v3/application/shops/{shop_id}/receipts",
                get(receipts::list),
            )
            .route(
                "/v3/application/shops/{shop_id}/receipts/{receipt_id}",
                get(receipts::get_one),
            )
            .route(
                "/v3/application/shops/{shop_id}/receipts/{receipt_id}/tracking",
                post(receipts::tracking),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                limits::gate,
            ));
        let public = Router::new()
            .route("/oauth/connect", get(auth::connect).post(auth::decide))
            .route("/v3/public/oauth/token", post(auth::token))
            .route(
                "/developer/webhooks",
                post(notify::register).get(notify::list),
            )
            .route(
                "/developer/webhooks/{id}",
                axum::routing::delete(notify::remove),
            );
        Router::new()
            .merge(application)
            .merge(public)
            .with_state(self.clone())
            .merge(control_router(self.clone()))
            .layer(axum::middleware::from_fn_with_state(
                controls,
                calls::record,
            ))
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn app(&self) -> AppRegistration {
        self.app.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn now(&self) -> i64 {
        self.context.controls.clock.unix()
    }
}

/// Etsy's error body: `{"error": "…"}` with the given status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Etsy's Money object.
fn money(cents: i64) -> Value {
    json!({ "amount": cents, "divisor": 100, "currency_code": CURRENCY })
}

impl Sandbox for Etsy {
    fn name(&self) -> (&'static str, &'static str) {
        ("etsy", "Etsy")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> Value {
        let limits = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .settings()
            .clone();
        let base = &self.context.base_url;
        let state = self.st();
        json!({
            "users": state.users.values().collect::<Vec<_>>(),
            "listings": state.listings.values().map(|l| api::listing_json(l, base)).collect::<Vec<_>>(),
            "orders": state.receipts.values().map(receipts::receipt_json).collect::<Vec<_>>(),
            "webhooks": state.webhooks.iter().map(|w| json!({
                "id": w.id, "url": w.url, "events": w.events,
            })).collect::<Vec<_>>(),
            "subscriptions": state.webhooks.len(),
            "tokens": state.tokens.summary(self.context.controls.clock.now()),
            "limits": limits,
            "options": state.options,
        })
    }

    fn set_limits(&self, limits: Value) -> Result<(), String> {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let settings = limiter.settings().merged(limits)?;
        limiter.apply(settings.clone());
        drop(limiter);
        self.st().limits = Some(settings);
        Ok(())
    }

    fn set_options(&self, options: Value) -> Result<(), String> {
        let mut state = self.st();
        let mut current = serde_json::to_value(&state.options).map_err(|e| e.to_string())?;
        let (Some(current_map), Value::Object(new)) = (current.as_object_mut(), options) else {
            return Err("options must be a JSON object".into());
        };
        current_map.extend(new);
        let merged: Options = serde_json::from_value(current).map_err(|e| e.to_string())?;
        if !(1..=3650).contains(&merged.refresh_token_ttl_days) {
            return Err("refresh_token_ttl_days must be between 1 and 3650".into());
        }
        if !(1..=86_400).contains(&merged.code_ttl_secs) {
            return Err("code_ttl_secs must be between 1 and 86400".into());
        }
        state.options = merged;
        Ok(())
    }

    fn revoke_tokens(&self) -> usize {
        self.st().tokens.revoke_all()
    }

    fn place_test_order(&self, order: TestOrder) -> Result<Value, String> {
        receipts::place_test_order(self, order)
    }

    fn listings_html(&self, lang: Lang) -> String {
        let state = self.st();
        if state.listings.is_empty() {
            return format!(
                "<p>{}</p>",
                lang.t(
                    "No listings yet. Connect the app and create one.",
                    "Noch keine Angebote. Verbinde die App und lege eines an."
                )
            );
        }
        let mut rows = String::new();
        for listing in state.listings.values() {
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{:.2} {CURRENCY}</td><td>{}</td><td>{}</td></tr>",
                escape(&listing.skus().join(", ")),
                escape(&listing.title),
                listing.price() as f64 / 100.0,
                listing.quantity(),
                escape(&listing.state),
            ));
        }
        format!(
            "<table><thead><tr><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
             <tbody>{rows}</tbody></table>",
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
        serde_json::to_value(&*self.st()).unwrap_or_default()
    }

    fn restore(&self, snapshot: Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        let settings = restored
            .limits
            .clone()
            .unwrap_or_else(|| LimitSettings::defaults(self.context.limits_enabled));
        self.limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .apply(settings);
        *self.st() = restored;
        Ok(())
    }
}
