//! What every sandbox shares: its clock, faults, call and delivery logs, token store, signing,
//! the control API under `{sandbox}/_sandbox/…`, and serving over HTTP or HTTPS.

pub mod buyers;
pub mod calls;
pub mod clock;
pub mod deliveries;
pub mod faults;
pub mod html;
pub mod limits;
pub mod sign;
pub mod tls;
pub mod tokens;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::calls::CallLog;
use self::clock::SandboxClock;
use self::deliveries::Deliverer;
use self::faults::{Faults, Injected};
use self::html::{Lang, escape};

/// What a marketplace knows about the app that connects to it (registered in its developer
/// console): client id and secret, the redirect URIs it accepts, and marketplace-specific names
/// in `extra` (Amazon's `application_id`, eBay's `ru_name`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppRegistration {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub extra: BTreeMap<String, String>,
}

impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("extra", &self.extra)
            .finish()
    }
}

impl AppRegistration {
    /// A registration with random credentials, for a development run that has none configured.
    pub fn generated(client_id_prefix: &str) -> Self {
        Self {
            client_id: format!("{client_id_prefix}{}", tokens::random_string(24)),
            client_secret: tokens::random_string(48),
            redirect_uris: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extra.get(key).map(String::as_str)
    }
}

/// The run-time state every sandbox has.
#[derive(Debug)]
pub struct Controls {
    pub clock: SandboxClock,
    faults: RwLock<Faults>,
    pub calls: CallLog,
    pub deliveries: Arc<Deliverer>,
}

impl Controls {
    pub fn new(faults: Faults, deliveries: Arc<Deliverer>) -> Self {
        Self {
            clock: SandboxClock::default(),
            faults: RwLock::new(faults),
            calls: CallLog::default(),
            deliveries,
        }
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.check()?;
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
        Ok(())
    }

    /// For each API call: waits the injected latency, then says whether the call fails.
    pub async fn before_call(&self) -> Option<Injected> {
        let faults = self.faults();
        if let Some(latency) = faults.latency() {
            tokio::time::sleep(latency).await;
        }
        faults.roll_call()
    }

    /// Sends a notification subject to the current delivery faults.
    pub fn notify(&self, notification: deliveries::Notification) {
        let faults = self.faults();
        self.deliveries.send(notification, &faults);
    }
}

/// Where a sandbox lives and what it starts with.
#[derive(Debug, Clone)]
pub struct Context {
    /// This sandbox's public base URL without a trailing slash, e.g.
    /// `http://127.0.0.1:3000/sandbox/shopify`. Redirects, page links and pagination links
    /// are built from it.
    pub base_url: String,
    pub controls: Arc<Controls>,
    pub app: AppRegistration,
    /// Rate limits on (the marketplace's real values) or off (benchmarks).
    pub limits_enabled: bool,
    /// For calls the marketplace makes to the app outside notifications (WooCommerce's key
    /// handover, eBay's endpoint challenge): the configured client, so a test CA applies.
    pub http: reqwest::Client,
}

/// A test order placed through the control API or the sandbox page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TestOrder {
    /// The listing to buy; the first listing when absent.
    pub sku: Option<String>,
    pub quantity: Option<u32>,
}

/// What the control API needs from each marketplace sandbox.
pub trait Sandbox: Send + Sync + 'static {
    /// The path segment and display name, e.g. ("shopify", "Shopify").
    fn name(&self) -> (&'static str, &'static str);
    fn context(&self) -> &Context;
    /// Listings, stock, orders, subscriptions, tokens: everything a test wants to look at.
    fn state(&self) -> serde_json::Value;
    /// Replaces the rate-limit settings (marketplace-specific JSON; `state()["limits"]` shows
    /// them).
    fn set_limits(&self, limits: serde_json::Value) -> Result<(), String>;
    /// Replaces the behaviour options: where the documentation leaves a behaviour uncertain,
    /// the sandbox offers both (marketplace-specific JSON; `state()["options"]` shows them).
    fn set_options(&self, options: serde_json::Value) -> Result<(), String>;
    /// Revokes every token; the next call gets the marketplace's "invalid token" error.
    fn revoke_tokens(&self) -> usize;
    /// Places an order as a buyer would, and sends the marketplace's notification for it.
    fn place_test_order(&self, order: TestOrder) -> Result<serde_json::Value, String>;
    /// The listings part of the sandbox page (escaped HTML).
    fn listings_html(&self, lang: Lang) -> String;
    /// Replaces the app registration.
    fn register_app(&self, app: AppRegistration);
    fn snapshot(&self) -> serde_json::Value;
    fn restore(&self, snapshot: serde_json::Value) -> Result<(), String>;
}

/// The control routes, to be merged into each sandbox's router.
pub fn control_router(sandbox: Arc<dyn Sandbox>) -> Router {
    Router::new()
        .route("/_sandbox", get(page))
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/faults", put(set_faults))
        .route("/_sandbox/limits", put(set_limits))
        .route("/_sandbox/options", put(set_options))
        .route("/_sandbox/retry_scale", put(set_retry_scale))
        .route("/_sandbox/clock", post(advance_clock))
        .route("/_sandbox/revoke", post(revoke))
        .route("/_sandbox/orders", post(order_json))
        .route("/_sandbox/orders/form", post(order_form))
        .route("/_sandbox/app", put(register_app))
        .with_state(sandbox)
}

type Shared = State<Arc<dyn Sandbox>>;

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn state(State(sandbox): Shared) -> Json<serde_json::Value> {
    let controls = &sandbox.context().controls;
    let (id, name) = sandbox.name();
    let mut body = json!({
        "sandbox": id,
        "name": name,
        "clock_offset_secs": controls.clock.offset_secs(),
        "faults": controls.faults(),
        "retry_scale": controls.deliveries.retry_scale(),
        "calls_total": controls.calls.total(),
        "calls": controls.calls.recent(),
        "deliveries": controls.deliveries.log(),
    });
    if let (Some(body), serde_json::Value::Object(own)) = (body.as_object_mut(), sandbox.state()) {
        body.extend(own);
    }
    Json(body)
}

async fn set_faults(State(sandbox): Shared, Json(faults): Json<Faults>) -> Response {
    match sandbox.context().controls.set_faults(faults.clone()) {
        Ok(()) => Json(faults).into_response(),
        Err(message) => bad_request(message),
    }
}

async fn set_limits(State(sandbox): Shared, Json(limits): Json<serde_json::Value>) -> Response {
    match sandbox.set_limits(limits) {
        Ok(()) => Json(sandbox.state().get("limits").cloned().unwrap_or_default()).into_response(),
        Err(message) => bad_request(message),
    }
}

async fn set_options(State(sandbox): Shared, Json(options): Json<serde_json::Value>) -> Response {
    match sandbox.set_options(options) {
        Ok(()) => Json(sandbox.state().get("options").cloned().unwrap_or_default()).into_response(),
        Err(message) => bad_request(message),
    }
}

#[derive(Deserialize)]
struct RetryScale {
    scale: f64,
}

async fn set_retry_scale(State(sandbox): Shared, Json(body): Json<RetryScale>) -> Response {
    if !(0.0..=1.0).contains(&body.scale) {
        return bad_request("scale must be between 0 and 1");
    }
    sandbox
        .context()
        .controls
        .deliveries
        .set_retry_scale(body.scale);
    Json(json!({ "scale": body.scale })).into_response()
}

#[derive(Deserialize)]
struct Advance {
    advance_secs: u64,
}

async fn advance_clock(
    State(sandbox): Shared,
    Json(body): Json<Advance>,
) -> Json<serde_json::Value> {
    let clock = &sandbox.context().controls.clock;
    clock.advance(body.advance_secs);
    Json(json!({ "clock_offset_secs": clock.offset_secs(), "now": clock.now() }))
}

async fn revoke(State(sandbox): Shared) -> Json<serde_json::Value> {
    Json(json!({ "revoked": sandbox.revoke_tokens() }))
}

async fn order_json(State(sandbox): Shared, Json(order): Json<TestOrder>) -> Response {
    match sandbox.place_test_order(order) {
        Ok(order) => (StatusCode::CREATED, Json(order)).into_response(),
        Err(message) => bad_request(message),
    }
}

#[derive(Deserialize)]
struct OrderForm {
    sku: Option<String>,
    quantity: Option<u32>,
}

async fn order_form(State(sandbox): Shared, Form(form): Form<OrderForm>) -> Response {
    let order = TestOrder {
        sku: form.sku.filter(|s| !s.trim().is_empty()),
        quantity: form.quantity,
    };
    let base = &sandbox.context().base_url;
    match sandbox.place_test_order(order) {
        Ok(_) => Redirect::to(&format!("{base}/_sandbox?ordered=1")).into_response(),
        Err(message) => {
            let query = serde_urlencoded::to_string([("error", message)]).unwrap_or_default();
            Redirect::to(&format!("{base}/_sandbox?{query}")).into_response()
        }
    }
}

async fn register_app(State(sandbox): Shared, Json(app): Json<AppRegistration>) -> Response {
    if app.client_id.trim().is_empty() {
        return bad_request("client_id must not be empty");
    }
    sandbox.register_app(app);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    ordered: Option<String>,
    error: Option<String>,
}

async fn page(
    State(sandbox): Shared,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (_, name) = sandbox.name();
    let base = escape(&sandbox.context().base_url);
    let notice = match (&query.ordered, &query.error) {
        (_, Some(error)) => format!("<p class=\"error\" role=\"alert\">{}</p>", escape(error)),
        (Some(_), None) => format!(
            "<p role=\"status\">{}</p>",
            lang.t(
                "Test order placed; the marketplace's notification is on its way.",
                "Testbestellung aufgegeben; die Benachrichtigung des Marktplatzes ist unterwegs."
            )
        ),
        _ => String::new(),
    };
    let body = format!(
        "<h1>{name} — {title}</h1>{notice}\
         <section class=\"card\"><h2>{listings}</h2>{table}</section>\
         <section class=\"card\"><h2>{order}</h2>\
         <form method=\"post\" action=\"{base}/_sandbox/orders/form\">\
         <label>SKU <input name=\"sku\" placeholder=\"{first}\"></label>\
         <label>{qty} <input name=\"quantity\" type=\"number\" min=\"1\" value=\"1\"></label>\
         <button type=\"submit\">{place}</button></form></section>\
         <p><a href=\"{base}/_sandbox/state\">{json}</a></p>",
        name = escape(name),
        title = lang.t("Sandbox", "Sandbox"),
        listings = lang.t("Listings", "Angebote"),
        table = sandbox.listings_html(lang),
        order = lang.t("Place a test order", "Testbestellung aufgeben"),
        first = lang.t("first listing", "erstes Angebot"),
        qty = lang.t("Quantity", "Menge"),
        place = lang.t("Place order", "Bestellung aufgeben"),
        json = lang.t("State as JSON", "Zustand als JSON"),
    );
    html::page(lang, &format!("{name} sandbox"), &body).into_response()
}
