//! The Kaufland sandbox: Kaufland Marketplace Seller API v2 (formerly real.de).
//!
//! Host mapping: `https://sellerapi.kaufland.com/v2/...` → `{base}/v2/...` (the playground host
//! `sellerapi-playground.kaufland.com` maps the same way). There is no OAuth: the seller pastes a
//! Client Key (32 chars) and Secret Key (64 chars) into the app, and every request is signed
//! with them (see [`auth`]). The default key pair is `context.app` (`client_id` = client key,
//! `client_secret` = secret key); more pairs come from `POST {base}/_sandbox/keys` or the
//! "create API keys" button on the sandbox page (shown once, as in the seller portal).
//!
//! Endpoints: product data (`/v2/product-data`), units (offers, `/v2/units`), orders and order
//! units (`/v2/orders`, `/v2/order-units`, with `send` and `cancel`), push notification
//! subscriptions (`/v2/subscriptions`), carriers, the seller's storefronts (`info/storefront`)
//! and `status/ping`. Lists answer
//! `{data, pagination:{offset, limit, total}}`, single resources `{data}`, prices are integer
//! cents and times ISO 8601. Rate limit: 111 requests per second per key pair, 429 without
//! headers.

mod api;
mod auth;
mod notify;
mod orders;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::routing::{any, get, patch, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::buyers::Buyer;
use crate::common::html::{Lang, escape};
use crate::common::limits::TokenBucket;
use crate::common::tokens::random_hex;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

/// Storefronts (`?storefront=`) and their currencies.
pub const STOREFRONTS: &[(&str, &str)] = &[
    ("de", "EUR"),
    ("cz", "CZK"),
    ("sk", "EUR"),
    ("pl", "PLN"),
    ("at", "EUR"),
    ("fr", "EUR"),
    ("it", "EUR"),
    ("es", "EUR"),
    ("nl", "EUR"),
];

pub fn currency(storefront: &str) -> &'static str {
    STOREFRONTS
        .iter()
        .find(|(s, _)| *s == storefront)
        .map_or("EUR", |(_, c)| c)
}

/// One API key pair of the seller account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyPair {
    pub client_key: String,
    pub secret_key: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductData {
    pub id_product: u64,
    pub ean: Vec<String>,
    pub locale: String,
    pub attributes: serde_json::Map<String, Value>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    pub id_unit: u64,
    pub id_product: u64,
    pub ean: String,
    pub id_offer: String,
    pub condition: String,
    pub listing_price: i64,
    pub minimum_price: i64,
    pub amount: i64,
    pub note: String,
    pub handling_time: i64,
    pub id_shipping_group: Option<u64>,
    pub id_warehouse: Option<u64>,
    pub status: String,
    pub storefront: String,
    pub vat_indicator: String,
    pub date_inserted: DateTime<Utc>,
    pub date_lastchange: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id_order: String,
    pub id_buyer: u64,
    pub storefront: String,
    pub buyer: Buyer,
    pub ts_created: DateTime<Utc>,
    pub units: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderUnit {
    pub id_order_unit: u64,
    pub id_order: String,
    pub id_unit: u64,
    pub id_offer: String,
    pub ean: String,
    pub title: String,
    pub condition: String,
    pub note: String,
    pub status: String,
    pub price: i64,
    pub storefront: String,
    pub handling_time: i64,
    pub ts_created: DateTime<Utc>,
    pub ts_updated: DateTime<Utc>,
    pub carrier_code: Option<String>,
    pub tracking_numbers: Option<String>,
    pub cancel_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id_subscription: u64,
    pub callback_url: String,
    pub fallback_email: String,
    pub event_name: String,
    pub is_active: bool,
    pub storefront: String,
}

/// Everything persistent; snapshot and restore round-trip it.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    pub keys: Vec<KeyPair>,
    pub products: BTreeMap<String, ProductData>,
    pub units: BTreeMap<u64, Unit>,
    pub orders: BTreeMap<String, Order>,
    pub order_units: BTreeMap<u64, OrderUnit>,
    pub subscriptions: BTreeMap<u64, Subscription>,
    pub next_id: u64,
}

impl State {
    /// Ids in Kaufland's ranges (units and order units are long integers).
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// Behaviours the documentation leaves open, settable via `PUT {base}/_sandbox/options`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// [U] The official PHP example yields lowercase hex; one quoted sentence of the REST page
    /// says base64. `hex` (default), `base64` or `either`.
    pub signature_encoding: String,
    /// [S] The allowed clock skew of `Shop-Timestamp`, ±300 s.
    pub timestamp_window_secs: i64,
    /// [U] Status of `PUT /v2/product-data` (processed asynchronously): 202 by default, or 200.
    pub product_data_status: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            signature_encoding: "hex".into(),
            timestamp_window_secs: 300,
            product_data_status: 202,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Limits {
    enabled: bool,
    /// Requests per second per key pair (111 at Kaufland).
    per_second: f64,
}

struct RateLimits {
    limits: Limits,
    buckets: HashMap<String, TokenBucket>,
}

pub struct Kaufland {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Arc<Mutex<State>>,
    options: RwLock<Options>,
    limits: Mutex<RateLimits>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Kaufland {
    pub fn new(context: Context) -> Arc<Self> {
        let mut state = State {
            next_id: 314_567_898_600_000,
            ..State::default()
        };
        state.keys.push(KeyPair {
            client_key: context.app.client_id.clone(),
            secret_key: context.app.client_secret.clone(),
            active: true,
            created_at: context.controls.clock.now(),
        });
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            limits: Mutex::new(RateLimits {
                limits: Limits {
                    enabled: context.limits_enabled,
                    per_second: 111.0,
                },
                buckets: HashMap::new(),
            }),
            context,
            state: Arc::new(Mutex::new(state)),
            options: RwLock::new(Options::default()),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        let v2 = Router::new()
            .route("/v2/status/ping", get(api::ping))
            .route("/v2/carriers", get(api::carriers))
            .route("/v2/info/storefront", get(api::storefronts))
            .route("/v2/product-data", put(api::put_product_data))
            .route("/v2/product-data/{ean}", get(api::get_product_data))
            .route("/v2/units", post(api::create_unit).get(api::list_units))
            .route(
                "/v2/units/{id}",
                get(api::get_unit)
                    .patch(api::patch_unit)
                    .delete(api::delete_unit),
            )
            .route("/v2/orders", get(orders::list_orders))
            .route("/v2/orders/{id}", get(orders::get_order))
            .route("/v2/order-units", get(orders::list_order_units))
            .route("/v2/order-units/{id}", get(orders::get_order_unit))
            .route("/v2/order-units/{id}/send", patch(orders::send_order_unit))
            .route(
                "/v2/order-units/{id}/cancel",
                patch(orders::cancel_order_unit),
            )
            .route(
                "/v2/subscriptions",
                post(notify::create_subscription).get(notify::list_subscriptions),
            )
            .route(
                "/v2/subscriptions/{id}",
                get(notify::get_subscription).delete(notify::delete_subscription),
            )
            .route("/v2/{*rest}", any(api::unknown))
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                auth::authenticate,
            ))
            .route("/_sandbox/keys", post(api::create_keys))
            .with_state(self.clone());
        v2.merge(control_router(self.clone()))
            .layer(axum::middleware::from_fn_with_state(
                controls,
                calls::record,
            ))
    }

    /// The secret key and whether it is active, for a client key.
    fn secret_for(&self, client_key: &str) -> Option<(String, bool)> {
        lock(&self.state)
            .keys
            .iter()
            .find(|k| k.client_key == client_key)
            .map(|k| (k.secret_key.clone(), k.active))
    }

    fn options(&self) -> Options {
        self.options
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn take_rate_token(&self, client_key: &str) -> bool {
        let mut limits = lock(&self.limits);
        if !limits.limits.enabled {
            return true;
        }
        let per_second = limits.limits.per_second;
        if let Some(bucket) = limits.buckets.get_mut(client_key) {
            return bucket.try_take(1.0);
        }
        let mut bucket = TokenBucket::new(per_second, per_second);
        let ok = bucket.try_take(1.0);
        limits.buckets.insert(client_key.to_owned(), bucket);
        ok
    }

    /// A new key pair for the seller account, shown once.
    fn create_key_pair(&self) -> KeyPair {
        let pair = KeyPair {
            client_key: random_hex(16),
            secret_key: random_hex(32),
            active: true,
            created_at: self.context.controls.clock.now(),
        };
        lock(&self.state).keys.push(pair.clone());
        pair
    }
}

impl Sandbox for Kaufland {
    fn name(&self) -> (&'static str, &'static str) {
        ("kaufland", "Kaufland")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> Value {
        let state = lock(&self.state).clone();
        let limits = lock(&self.limits).limits.clone();
        let shorten = |t: &str| t.chars().take(8).collect::<String>() + "…";
        json!({
            "products": state.products.values().collect::<Vec<_>>(),
            "listings": state.units.values().map(api::unit_json).collect::<Vec<_>>(),
            "orders": state.orders.values().map(|o| orders::order_details(&state, o)).collect::<Vec<_>>(),
            "order_units": state.order_units.values().map(|u| orders::order_unit_json(&state, u)).collect::<Vec<_>>(),
            "subscriptions": state.subscriptions.values().collect::<Vec<_>>(),
            "tokens": {
                "keys": state.keys.iter().map(|k| json!({
                    "client_key": shorten(&k.client_key),
                    "active": k.active,
                    "created_at": k.created_at,
                })).collect::<Vec<_>>(),
            },
            "limits": limits,
            "options": self.options(),
        })
    }

    fn set_limits(&self, limits: Value) -> Result<(), String> {
        let mut guard = lock(&self.limits);
        let mut merged = serde_json::to_value(&guard.limits).map_err(|e| e.to_string())?;
        let (Some(target), Value::Object(given)) = (merged.as_object_mut(), limits) else {
            return Err("limits must be a JSON object".into());
        };
        target.extend(given);
        let parsed: Limits = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        if !(parsed.per_second > 0.0 && parsed.per_second <= 1_000_000.0) {
            return Err("per_second must be above 0 and at most 1000000".into());
        }
        guard.limits = parsed;
        guard.buckets.clear();
        Ok(())
    }

    fn set_options(&self, options: Value) -> Result<(), String> {
        let mut merged = serde_json::to_value(self.options()).map_err(|e| e.to_string())?;
        let (Some(target), Value::Object(given)) = (merged.as_object_mut(), options) else {
            return Err("options must be a JSON object".into());
        };
        target.extend(given);
        let parsed: Options = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        if !["hex", "base64", "either"].contains(&parsed.signature_encoding.as_str()) {
            return Err("signature_encoding must be hex, base64 or either".into());
        }
        if !(1..=86_400).contains(&parsed.timestamp_window_secs) {
            return Err("timestamp_window_secs must be between 1 and 86400".into());
        }
        if ![200, 202].contains(&parsed.product_data_status) {
            return Err("product_data_status must be 200 or 202".into());
        }
        *self.options.write().unwrap_or_else(|p| p.into_inner()) = parsed;
        Ok(())
    }

    /// Deactivates every key pair (as deleting the keys in the seller portal does); calls signed
    /// with them get 401. Registering the app again (`PUT _sandbox/app`) or creating keys brings
    /// working keys back.
    fn revoke_tokens(&self) -> usize {
        let mut state = lock(&self.state);
        let mut count = 0;
        for key in state.keys.iter_mut().filter(|k| k.active) {
            key.active = false;
            count += 1;
        }
        count
    }

    fn place_test_order(&self, order: TestOrder) -> Result<Value, String> {
        orders::place_test_order(self, order)
    }

    fn listings_html(&self, lang: Lang) -> String {
        let state = lock(&self.state);
        let mut rows = String::new();
        for unit in state.units.values() {
            let title = state
                .products
                .get(&unit.ean)
                .and_then(api::title_of)
                .unwrap_or_default();
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}.{:02} {}</td><td>{}</td><td>{}</td></tr>",
                escape(&unit.id_offer),
                escape(&unit.ean),
                escape(&title),
                unit.listing_price / 100,
                unit.listing_price.rem_euclid(100),
                currency(&unit.storefront),
                unit.amount,
                escape(&unit.status),
            ));
        }
        let table = if rows.is_empty() {
            format!(
                "<p>{}</p>",
                lang.t(
                    "No units yet. Create one with POST /v2/units.",
                    "Noch keine Angebote. Lege eins mit POST /v2/units an."
                )
            )
        } else {
            format!(
                "<table><thead><tr><th>SKU (id_offer)</th><th>EAN</th><th>{}</th><th>{}</th><th>{}</th><th>Status</th></tr></thead><tbody>{rows}</tbody></table>",
                lang.t("Title", "Titel"),
                lang.t("Price", "Preis"),
                lang.t("Stock", "Bestand"),
            )
        };
        format!(
            "{table}<form method=\"post\" action=\"{base}/_sandbox/keys\"><button type=\"submit\">{label}</button></form>",
            base = escape(&self.context.base_url),
            label = lang.t("Create API keys", "API-Schlüssel erstellen"),
        )
    }

    /// The registration holds the default key pair; registering replaces (and reactivates) it.
    fn register_app(&self, app: AppRegistration) {
        {
            let mut state = lock(&self.state);
            let pair = KeyPair {
                client_key: app.client_id.clone(),
                secret_key: app.client_secret.clone(),
                active: true,
                created_at: self.context.controls.clock.now(),
            };
            match state.keys.first_mut() {
                Some(first) => *first = pair,
                None => state.keys.push(pair),
            }
        }
        *lock(&self.app) = app;
    }

    fn snapshot(&self) -> Value {
        serde_json::to_value(&*lock(&self.state)).unwrap_or_default()
    }

    fn restore(&self, snapshot: Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        *lock(&self.state) = restored;
        Ok(())
    }
}
