//! The eBay sandbox: OAuth with a RuName, the Sell Inventory and Fulfillment APIs, the Commerce
//! Notification API with its endpoint challenge and ECDSA-signed pushes, and eBay's daily
//! per-application call quotas with the Developer Analytics view of them.
//!
//! eBay's hosts all map onto this sandbox's base URL:
//!
//! - `https://auth.ebay.com/oauth2/authorize` → `{base}/oauth2/authorize`
//! - `https://api.ebay.com/identity/v1/oauth2/token` → `{base}/identity/v1/oauth2/token`
//! - `https://api.ebay.com/sell/inventory/v1/…` → `{base}/sell/inventory/v1/…`
//! - `https://api.ebay.com/sell/fulfillment/v1/…` → `{base}/sell/fulfillment/v1/…`
//! - `https://api.ebay.com/commerce/notification/v1/…` → `{base}/commerce/notification/v1/…`
//! - `https://api.ebay.com/developer/analytics/v1_beta/…` → `{base}/developer/analytics/v1_beta/…`
//! - `https://apiz.ebay.com/commerce/identity/v1/user/` → `{base}/commerce/identity/v1/user/`
//!
//! The app's RuName (`app.extra["ru_name"]`) stands for its "auth accepted URL", which is
//! `app.redirect_uris[0]`; `app.redirect_uris[1]`, when registered, is the "auth declined URL".
//! The sandbox has one seller account; every user token acts for it.

mod api;
mod auth;
mod errors;
mod fulfillment;
mod identity;
mod inventory;
mod notify;
mod offers;
mod page;
mod push;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::html::Lang;
use crate::common::limits::DailyQuota;
use crate::common::tokens::TokenStore;
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

use self::errors::Api;

/// The one seller every consent signs in as (the sign-in form prefills it).
pub const SELLER: &str = "sandbox_seller";

/// Everything that persists: part of the snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    tokens: TokenStore,
    /// Inventory items by SKU.
    items: BTreeMap<String, inventory::Item>,
    /// Offers by offerId.
    offers: BTreeMap<String, inventory::Offer>,
    /// Orders, oldest first.
    orders: Vec<fulfillment::Order>,
    /// `PUT /config`: the alert e-mail address.
    config: Option<Value>,
    destinations: BTreeMap<String, notify::Destination>,
    subscriptions: BTreeMap<String, notify::Subscription>,
    /// The notification signing key (PKCS#8 PEM) and its key id.
    signing: notify::SigningKeyPem,
    next_id: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

/// Behaviours eBay's documentation leaves uncertain ([U] in CHANNELS.md §4); both ways are
/// offered through `PUT {base}/_sandbox/options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// [U] How the consent endpoint refuses a bad request (unknown client, redirect_uri that is
    /// not the RuName, unknown scope): `"json"` (`{"error","error_description"}`, 400) or
    /// `"page"` (an HTML error page, 400).
    authorize_errors: String,
    /// [U] Status of `PUT /inventory_item/{sku}` when it creates the item: 204 (as for a
    /// replacement) or 201.
    inventory_create_status: u16,
    /// [U] The largest `limit` getOrders accepts (documented as 200 by secondary sources).
    max_order_limit: u64,
    /// [U] eBay documents no `Retry-After` on 429; set seconds to send one.
    retry_after_secs: Option<u64>,
    /// [U] Accepted length of a destination's verificationToken.
    verification_token_min: usize,
    verification_token_max: usize,
    /// [U] Waits in seconds before the 2nd, 3rd… delivery attempt of a notification (eBay
    /// retries, the schedule is not published).
    notification_retry_secs: Vec<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            authorize_errors: "json".into(),
            inventory_create_status: 204,
            max_order_limit: 200,
            retry_after_secs: None,
            verification_token_min: 32,
            verification_token_max: 80,
            notification_retry_secs: vec![60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600],
        }
    }
}

impl Options {
    fn check(&self) -> Result<(), String> {
        if !matches!(self.authorize_errors.as_str(), "json" | "page") {
            return Err("authorize_errors must be \"json\" or \"page\"".into());
        }
        if !matches!(self.inventory_create_status, 201 | 204) {
            return Err("inventory_create_status must be 201 or 204".into());
        }
        if self.max_order_limit == 0 || self.max_order_limit > 1000 {
            return Err("max_order_limit must be between 1 and 1000".into());
        }
        if self.verification_token_min == 0
            || self.verification_token_min > self.verification_token_max
        {
            return Err(
                "verification_token_min must be between 1 and verification_token_max".into(),
            );
        }
        if self.notification_retry_secs.len() > 20 {
            return Err("notification_retry_secs takes at most 20 waits".into());
        }
        Ok(())
    }
}

/// The daily per-application quotas (CHANNELS.md §4.4, token endpoint per grant §4.1).
const QUOTAS: [(&str, u64); 6] = [
    ("inventory", 2_000_000),
    ("fulfillment", 100_000),
    ("notification", 10_000),
    ("authorization_code", 10_000),
    ("refresh_token", 50_000),
    ("client_credentials", 1_000),
];

pub struct Ebay {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Mutex<State>,
    options: Mutex<Options>,
    limits_enabled: Mutex<bool>,
    /// Rolling-day counters; in memory only (not in the snapshot).
    quotas: Mutex<HashMap<&'static str, DailyQuota>>,
    signer: Mutex<notify::Signer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Ebay {
    pub fn new(context: Context) -> Arc<Self> {
        let signer = notify::Signer::generate();
        let state = State {
            signing: signer.to_pem(),
            ..State::default()
        };
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            limits_enabled: Mutex::new(context.limits_enabled),
            context,
            state: Mutex::new(state),
            options: Mutex::new(Options::default()),
            quotas: Mutex::new(
                QUOTAS
                    .iter()
                    .map(|(name, limit)| (*name, DailyQuota::new(*limit)))
                    .collect(),
            ),
            signer: Mutex::new(signer),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        let apis = api::routes()
            .layer(axum::middleware::from_fn_with_state(self.clone(), guard))
            .with_state(self.clone());
        Router::new()
            .merge(auth::routes().with_state(self.clone()))
            .merge(apis)
            .merge(control_router(self.clone()))
            .fallback(|| async { errors::not_found_resource() })
            .layer(axum::middleware::from_fn_with_state(
                controls,
                calls::record,
            ))
    }

    fn app(&self) -> AppRegistration {
        lock(&self.app).clone()
    }

    fn options(&self) -> Options {
        lock(&self.options).clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.context.controls.clock.now()
    }

    /// Counts one call against a daily quota; false when it is used up.
    fn take_quota(&self, name: &str) -> bool {
        if !*lock(&self.limits_enabled) {
            return true;
        }
        let now = self.now();
        lock(&self.quotas)
            .get_mut(name)
            .is_none_or(|quota| quota.try_take(now))
    }

    fn limits_json(&self) -> Value {
        let now = self.now();
        let mut quotas = lock(&self.quotas);
        let mut out = serde_json::Map::new();
        out.insert("enabled".into(), json!(*lock(&self.limits_enabled)));
        for (name, _) in QUOTAS {
            if let Some(q) = quotas.get_mut(name) {
                out.insert(
                    name.into(),
                    json!({
                        "limit": q.limit,
                        "used": q.used,
                        "remaining": q.remaining(now),
                        "reset": q.reset_at(now),
                        "timeWindow": 86_400,
                    }),
                );
            }
        }
        Value::Object(out)
    }
}

/// Who called: the seller (user token) or the app itself (application token).
#[derive(Debug, Clone)]
struct Caller {
    user: bool,
    /// The username the token acts for (`application` for application tokens).
    subject: String,
    scopes: Vec<String>,
}

impl Caller {
    fn has_scope(&self, suffix: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s.rsplit('/').next().is_some_and(|last| last == suffix))
    }
}

/// Every REST call: injected latency and faults, the bearer token, scopes, then the API's daily
/// quota.
async fn guard(AxState(ebay): AxState<Arc<Ebay>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some(api) = Api::of_path(&path) else {
        return next.run(request).await;
    };
    match ebay.context.controls.before_call().await {
        Some(crate::common::faults::Injected::ServerError) => return errors::system_error(api),
        Some(crate::common::faults::Injected::Throttled) => {
            return errors::too_many_requests(ebay.options().retry_after_secs);
        }
        None => {}
    }
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned();
    if header.is_empty() {
        return errors::missing_token();
    }
    let Some(token) = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
    else {
        return errors::invalid_token_type(&header);
    };
    let caller = {
        let state = ebay.state();
        match state.tokens.check_access(token.trim(), ebay.now()) {
            Ok(access) => Caller {
                user: access.subject != auth::APP_SUBJECT,
                subject: access.subject.clone(),
                scopes: access.scopes.clone(),
            },
            Err(_) => return errors::invalid_token(),
        }
    };
    let read = request.method() == axum::http::Method::GET;
    let allowed = match api {
        Api::Inventory => {
            caller.user
                && (caller.has_scope("sell.inventory")
                    || (read && caller.has_scope("sell.inventory.readonly")))
        }
        Api::Fulfillment => {
            caller.user
                && (caller.has_scope("sell.fulfillment")
                    || (read && caller.has_scope("sell.fulfillment.readonly")))
        }
        Api::Identity => caller.user && caller.has_scope("commerce.identity.readonly"),
        Api::Notification | Api::Analytics => true,
    };
    if !allowed {
        return errors::insufficient_scope();
    }
    if let Some(quota) = api.quota()
        && !ebay.take_quota(quota)
    {
        return errors::too_many_requests(ebay.options().retry_after_secs);
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

impl Sandbox for Ebay {
    fn name(&self) -> (&'static str, &'static str) {
        ("ebay", "eBay")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> Value {
        let now = self.now();
        let body = {
            let state = self.state();
            json!({
                "listings": state.items.values().map(|i| i.to_json()).collect::<Vec<_>>(),
                "offers": state.offers.values().map(|o| o.to_json()).collect::<Vec<_>>(),
                "orders": state.orders.iter().map(|o| o.body.clone()).collect::<Vec<_>>(),
                "config": state.config,
                "destinations": state.destinations.values().map(|d| d.to_json()).collect::<Vec<_>>(),
                "subscriptions": state.subscriptions.values().map(|s| s.to_json()).collect::<Vec<_>>(),
                "public_key_kid": state.signing.kid,
                "tokens": state.tokens.summary(now),
            })
        };
        let mut body = body;
        body["limits"] = self.limits_json();
        body["options"] = serde_json::to_value(self.options()).unwrap_or_default();
        body
    }

    /// Accepts `{"enabled": bool, "inventory": n, "fulfillment": n, "notification": n,
    /// "authorization_code": n, "refresh_token": n, "client_credentials": n}` (any subset); the
    /// counts used so far are kept.
    fn set_limits(&self, limits: Value) -> Result<(), String> {
        let Value::Object(map) = limits else {
            return Err("limits must be a JSON object".into());
        };
        let mut updates = Vec::new();
        let mut enabled = None;
        for (key, value) in &map {
            if key == "enabled" {
                enabled = Some(value.as_bool().ok_or("enabled must be true or false")?);
                continue;
            }
            let Some((name, _)) = QUOTAS.iter().find(|(n, _)| n == key) else {
                return Err(format!(
                    "unknown limit {key}; known: enabled, {}",
                    QUOTAS.map(|(n, _)| n).join(", ")
                ));
            };
            let limit = value
                .as_u64()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{key} must be a positive whole number"))?;
            updates.push((*name, limit));
        }
        if let Some(enabled) = enabled {
            *lock(&self.limits_enabled) = enabled;
        }
        let mut quotas = lock(&self.quotas);
        for (name, limit) in updates {
            quotas
                .entry(name)
                .or_insert_with(|| DailyQuota::new(limit))
                .limit = limit;
        }
        Ok(())
    }

    fn set_options(&self, options: Value) -> Result<(), String> {
        let mut current = serde_json::to_value(self.options()).map_err(|e| e.to_string())?;
        let Value::Object(changes) = options else {
            return Err("options must be a JSON object".into());
        };
        if let Value::Object(map) = &mut current {
            map.extend(changes);
        }
        let options: Options = serde_json::from_value(current).map_err(|e| e.to_string())?;
        options.check()?;
        *lock(&self.options) = options;
        Ok(())
    }

    fn revoke_tokens(&self) -> usize {
        let count = self.state().tokens.revoke_all();
        push::authorization_revoked(self);
        count
    }

    fn place_test_order(&self, order: TestOrder) -> Result<Value, String> {
        let placed = fulfillment::place(self, order)?;
        push::order_confirmation(self, &placed);
        Ok(placed)
    }

    fn listings_html(&self, lang: Lang) -> String {
        page::listings(self, lang)
    }

    fn register_app(&self, app: AppRegistration) {
        *lock(&self.app) = app;
    }

    fn snapshot(&self) -> Value {
        serde_json::to_value(&*self.state()).unwrap_or_default()
    }

    fn restore(&self, snapshot: Value) -> Result<(), String> {
        let restored: State = serde_json::from_value(snapshot).map_err(|e| e.to_string())?;
        let signer = notify::Signer::from_pem(&restored.signing)?;
        *lock(&self.signer) = signer;
        *self.state() = restored;
        Ok(())
    }
}
