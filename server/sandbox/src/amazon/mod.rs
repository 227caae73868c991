//! The Amazon Selling Partner API sandbox: Login with Amazon (LWA) authorization through a
//! Seller Central consent page, Listings Items 2021-08-01, Sellers v1 (marketplace
//! participations), Orders v2026-01-01 and v0 (with v0's shipment confirmation),
//! per-operation token-bucket rate limits, and ORDER_CHANGE notifications on an SQS-like local
//! queue.
//!
//! Amazon's hosts all map onto this sandbox's base URL (`{base}`, e.g.
//! `http://127.0.0.1:3000/sandbox/amazon`):
//!
//! | Real                                                            | Sandbox                         |
//! |-----------------------------------------------------------------|---------------------------------|
//! | `https://sellercentral.amazon.de/apps/authorize/consent`        | `{base}/apps/authorize/consent` |
//! | `https://api.amazon.com/auth/o2/token`                          | `{base}/auth/o2/token`          |
//! | `https://sellingpartnerapi-eu.amazon.com/listings/2021-08-01/…` | `{base}/listings/2021-08-01/…`  |
//! | `https://sellingpartnerapi-eu.amazon.com/orders/…`              | `{base}/orders/…`               |
//! | `https://sellingpartnerapi-eu.amazon.com/sellers/v1/…`          | `{base}/sellers/v1/…`           |
//! | an Amazon SQS queue (notification destination)                  | `{base}/_sandbox/queue`         |
//!
//! The app registration: `client_id`/`client_secret` are the LWA credentials,
//! `extra["application_id"]` the SP-API application id (`amzn1.sp.solution.…`), `redirect_uris`
//! the OAuth redirect URIs. API calls carry the LWA access token in `x-amz-access-token`; AWS
//! Signature V4 headers are ignored, as Amazon has ignored them since 2023-10-02.
//!
//! Amazon has no HTTP webhooks: notifications go to SQS or EventBridge. The sandbox stands in
//! for the queue: every ORDER_CHANGE notification is sent (through the delivery faults: drop,
//! duplicate, reorder) to `POST {base}/_sandbox/queue` (or to the `queue_url` option) and can be
//! read with `GET {base}/_sandbox/queue` and emptied with `DELETE {base}/_sandbox/queue`. There
//! is no signature on SQS messages; consumers dedupe on `NotificationMetadata.NotificationId`.
//!
//! Not modelled: re-authorization every 365 days, Restricted Data Tokens (v0 orders leave out
//! the PII that would need one), the Notifications API endpoints, Feeds, the Appstore-initiated
//! authorization variant.

// Handlers answer early with a complete SP-API error response; boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod api;
mod auth;
mod listings;
mod notify;
mod orders;
mod sellers;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::html::{Lang, escape};
use crate::common::limits::TokenBucket;
use crate::common::tokens::{TokenStore, random_string};
use crate::common::{AppRegistration, Context, Sandbox, TestOrder, calls, control_router};

use self::api::Limits;
use self::listings::{Listing, Submission};
use self::orders::Order;

/// Amazon.de, the marketplace the demo seller sells on.
pub const MARKETPLACE_ID: &str = "A1PA6795UKMFR9";
const MARKETPLACE_NAME: &str = "Amazon.de";
const CURRENCY: &str = "EUR";
/// Messages kept on the local queue.
const QUEUE_KEPT: usize = 1000;

/// Behaviours the documentation leaves open ([U] in CHANNELS.md), settable through
/// `PUT {base}/_sandbox/options`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Options {
    /// [U] Listing submissions are processed asynchronously ("ACCEPTED" is not "live"); Amazon
    /// names no delay. A submission takes effect this many sandbox-clock seconds after it was
    /// accepted (0: at once). Tests advance the clock instead of waiting.
    pub processing_delay_secs: u64,
    /// [U] A draft app must be authorized with `version=beta`; Seller Central answers MD1000
    /// without it. Off: the app counts as published and `version` is ignored.
    pub draft_app: bool,
    /// [U] The models say `x-amzn-RateLimit-Limit` is returned "when available"; on: on every
    /// API response, off: only with 429.
    pub rate_limit_header_always: bool,
    /// [U] LWA's refresh answer repeats the (unrotated) refresh token; off: leaves it out.
    pub refresh_returns_refresh_token: bool,
    /// [U] What Cancel on the consent page does: off shows Seller Central's own page (no
    /// redirect), on redirects to the app with `error=access_denied&state=…`.
    pub cancel_redirects: bool,
    /// Where the notifications go (the SQS queue's stand-in); empty: `{base}/_sandbox/queue`.
    pub queue_url: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            processing_delay_secs: 0,
            draft_app: false,
            rate_limit_header_always: true,
            refresh_returns_refresh_token: true,
            cancel_redirects: false,
            queue_url: String::new(),
        }
    }
}

/// Everything persistent: part of the snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct State {
    tokens: TokenStore,
    /// The demo seller's selling partner id (`A` + 13 characters).
    seller_id: String,
    /// The demo seller's display name on the consent page.
    seller_name: String,
    /// The subscription id the ORDER_CHANGE messages carry.
    subscription_id: String,
    listings: BTreeMap<String, Listing>,
    /// Accepted listing submissions not yet processed.
    submissions: Vec<Submission>,
    orders: Vec<Order>,
    queue: Vec<Value>,
    /// How many orders were placed, for order numbers.
    order_counter: u64,
}

pub struct Amazon {
    context: Context,
    app: Mutex<AppRegistration>,
    state: Mutex<State>,
    options: Mutex<Options>,
    limits: Mutex<Limits>,
    /// Per selling partner and operation; in memory only (not in the snapshot).
    buckets: Mutex<HashMap<(String, &'static str), TokenBucket>>,
}

/// A selling partner id: `A` and 13 upper-case letters and digits, like `A3TH9S8BH6GOGM`.
fn selling_partner_id() -> String {
    format!("A{}", random_string(13).to_ascii_uppercase())
}

/// Amazon's timestamps: ISO 8601 in UTC with a `Z`.
pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Amazon {
    pub fn new(context: Context) -> Arc<Self> {
        let state = State {
            seller_id: selling_partner_id(),
            seller_name: "Demo Seller GmbH".into(),
            subscription_id: uuid::Uuid::new_v4().to_string(),
            ..State::default()
        };
        Arc::new(Self {
            app: Mutex::new(context.app.clone()),
            limits: Mutex::new(Limits::new(context.limits_enabled)),
            context,
            state: Mutex::new(state),
            options: Mutex::new(Options::default()),
            buckets: Mutex::default(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        let controls = self.context.controls.clone();
        let api = Router::new()
            .route(
                "/listings/2021-08-01/items/{seller_id}/{sku}",
                put(listings::put_item)
                    .patch(listings::patch_item)
                    .get(listings::get_item)
                    .delete(listings::delete_item),
            )
            .route(
                "/sellers/v1/marketplaceParticipations",
                get(sellers::marketplace_participations),
            )
            .route("/orders/2026-01-01/orders", get(orders::search_orders))
            .route(
                "/orders/2026-01-01/orders/{order_id}",
                get(orders::get_order),
            )
            .route("/orders/v0/orders", get(orders::get_orders_v0))
            .route("/orders/v0/orders/{order_id}", get(orders::get_order_v0))
            .route(
                "/orders/v0/orders/{order_id}/orderItems",
                get(orders::get_order_items_v0),
            )
            .route(
                "/orders/v0/orders/{order_id}/shipmentConfirmation",
                post(orders::confirm_shipment),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                api::guard,
            ));
        let own = Router::new()
            .route(
                "/apps/authorize/consent",
                get(auth::consent_page).post(auth::consent_decision),
            )
            .route("/auth/o2/token", post(auth::token))
            .route(
                "/_sandbox/queue",
                get(notify::queue_read)
                    .post(notify::queue_receive)
                    .delete(notify::queue_clear),
            );
        Router::new()
            .merge(api)
            .merge(own)
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

    fn options(&self) -> Options {
        self.options
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn app(&self) -> AppRegistration {
        self.app.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn now(&self) -> DateTime<Utc> {
        self.context.controls.clock.now()
    }

    fn queue_url(&self) -> String {
        let options = self.options();
        if options.queue_url.is_empty() {
            format!("{}/_sandbox/queue", self.context.base_url)
        } else {
            options.queue_url
        }
    }
}

/// Replaces the fields named in `patch` on a serialisable value, keeping the others; unknown
/// fields and wrong types are refused by `T`'s deserialiser.
fn overlay<T: Serialize + for<'de> Deserialize<'de>>(
    current: &T,
    patch: &Value,
) -> Result<T, String> {
    let Value::Object(patch) = patch else {
        return Err("expected a JSON object".into());
    };
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    if let Value::Object(fields) = &mut value {
        for (key, new) in patch {
            fields.insert(key.clone(), new.clone());
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

impl Sandbox for Amazon {
    fn name(&self) -> (&'static str, &'static str) {
        ("amazon", "Amazon")
    }

    fn context(&self) -> &Context {
        &self.context
    }

    fn state(&self) -> Value {
        let now = self.now();
        let queue_url = self.queue_url();
        let limits = self
            .limits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut state = self.lock();
        listings::settle(&mut state, now);
        json!({
            "seller_id": state.seller_id,
            "marketplace_id": MARKETPLACE_ID,
            "listings": state.listings.values().map(|l| l.summary_json(now)).collect::<Vec<_>>(),
            "pending_submissions": state.submissions.len(),
            "orders": state.orders.iter().map(|o| orders::order_v2026(o, None)).collect::<Vec<_>>(),
            "queue": state.queue,
            "subscriptions": [{
                "notificationType": "ORDER_CHANGE",
                "subscriptionId": state.subscription_id,
                "destination": queue_url,
            }],
            "tokens": state.tokens.summary(now),
            "limits": limits,
            "options": self.options(),
        })
    }

    fn set_limits(&self, limits: Value) -> Result<(), String> {
        let mut current = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        let updated = current.apply(&limits)?;
        *current = updated;
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    fn set_options(&self, options: Value) -> Result<(), String> {
        let mut current = self.options.lock().unwrap_or_else(|p| p.into_inner());
        let updated: Options = overlay(&*current, &options)?;
        if updated.processing_delay_secs > 86_400 {
            return Err("processing_delay_secs must be at most 86400".into());
        }
        let url = &updated.queue_url;
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return Err("queue_url must be an http(s) URL".into());
        }
        *current = updated;
        Ok(())
    }

    fn revoke_tokens(&self) -> usize {
        self.lock().tokens.revoke_all()
    }

    fn place_test_order(&self, order: TestOrder) -> Result<Value, String> {
        notify::place(self, order)
    }

    fn listings_html(&self, lang: Lang) -> String {
        let now = self.now();
        let mut state = self.lock();
        listings::settle(&mut state, now);
        if state.listings.is_empty() {
            return format!(
                "<p>{}</p>",
                lang.t(
                    "No listings yet. Create one with the Listings Items API (PUT /listings/2021-08-01/items/…).",
                    "Noch keine Angebote. Lege eines mit der Listings-Items-API an (PUT /listings/2021-08-01/items/…)."
                )
            );
        }
        let mut rows = String::new();
        for listing in state.listings.values() {
            let price = listing
                .price()
                .map(|(currency, cents)| format!("{} {}", orders::amount(cents), currency))
                .unwrap_or_else(|| "—".into());
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&listing.sku),
                escape(&listing.item_name().unwrap_or_default()),
                escape(&price),
                listing.quantity().unwrap_or(0),
                escape(&listing.status().join(", ")),
            ));
        }
        format!(
            "<p>{seller}: {id}</p><table><thead><tr><th>SKU</th><th>{title}</th><th>{price}</th>\
             <th>{stock}</th><th>{status}</th></tr></thead><tbody>{rows}</tbody></table>",
            seller = lang.t("Selling partner", "Verkaufspartner"),
            id = escape(&state.seller_id),
            title = lang.t("Title", "Titel"),
            price = lang.t("Price", "Preis"),
            stock = lang.t("Stock", "Bestand"),
            status = lang.t("Status", "Status"),
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
