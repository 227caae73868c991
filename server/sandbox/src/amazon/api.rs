//! What every SP-API call goes through: the request id, injected faults, the
//! `x-amz-access-token` check and the per-operation token buckets, and SP-API's error body
//! `{"errors":[{"code","message","details"}]}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Amazon;
use crate::common::faults::Injected;
use crate::common::limits::TokenBucket;
use crate::common::tokens::TokenError;

/// The selling partner a call acts for, from its access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub seller_id: String,
}

pub type CallerExt = Extension<Caller>;

/// SP-API's error body.
pub fn error(status: StatusCode, code: &str, message: &str, details: Option<&str>) -> Response {
    let mut entry = json!({ "code": code, "message": message });
    if let Some(details) = details {
        entry["details"] = json!(details);
    }
    (status, Json(json!({ "errors": [entry] }))).into_response()
}

pub fn invalid_input(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidInput", message, Some(""))
}

pub fn unauthorized(details: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "Unauthorized",
        "Access to requested resource is denied.",
        Some(details),
    )
}

pub fn not_found(message: &str) -> Response {
    error(StatusCode::NOT_FOUND, "NotFound", message, Some(""))
}

fn quota_exceeded(rate: f64) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        None,
    );
    set_rate_header(&mut response, rate);
    response
}

fn set_rate_header(response: &mut Response, rate: f64) {
    if let Ok(value) = HeaderValue::from_str(&rate.to_string()) {
        response
            .headers_mut()
            .insert("x-amzn-ratelimit-limit", value);
    }
}

/// The query string as pairs; SP-API lists come comma-separated (`marketplaceIds=A,B`) or
/// repeated, and [`list`] accepts both.
pub fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, Response> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw.unwrap_or(""))
        .map_err(|_| invalid_input("The query string could not be parsed."))
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub fn list(params: &[(String, String)], name: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One operation's usage plan: requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub rate: f64,
    pub burst: f64,
}

/// The documented default usage plans (each operation's model description).
const PLANS: &[(&str, f64, f64)] = &[
    ("putListingsItem", 5.0, 10.0),
    ("patchListingsItem", 5.0, 5.0),
    ("getListingsItem", 5.0, 10.0),
    ("deleteListingsItem", 5.0, 10.0),
    ("searchOrders", 0.0056, 20.0),
    // [U] The 2026-01-01 getOrder plan is taken to be v0's.
    ("getOrder", 0.5, 30.0),
    ("getOrders", 0.0167, 20.0),
    ("getOrderV0", 0.5, 30.0),
    ("getOrderItems", 0.5, 30.0),
    ("confirmShipment", 2.0, 10.0),
    ("getMarketplaceParticipations", 0.016, 15.0),
];

/// The rate-limit settings: on or off, a factor on every rate (tests speed refills up), and
/// per-operation plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub enabled: bool,
    pub scale: f64,
    pub operations: BTreeMap<String, Plan>,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new(true)
    }
}

impl Limits {
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            scale: 1.0,
            operations: PLANS
                .iter()
                .map(|&(name, rate, burst)| (name.to_owned(), Plan { rate, burst }))
                .collect(),
        }
    }

    /// The settings with `patch` applied: `enabled`, `scale`, and `operations` (only the
    /// operations named are replaced).
    pub fn apply(&self, patch: &Value) -> Result<Self, String> {
        let Value::Object(fields) = patch else {
            return Err("expected a JSON object".into());
        };
        let mut next = self.clone();
        for (key, value) in fields {
            match key.as_str() {
                "enabled" => {
                    next.enabled = value.as_bool().ok_or("enabled must be true or false")?;
                }
                "scale" => {
                    let scale = value.as_f64().ok_or("scale must be a number")?;
                    if !(scale.is_finite() && scale > 0.0 && scale <= 1_000_000.0) {
                        return Err(format!(
                            "scale must be above 0 and at most 1e6, got {scale}"
                        ));
                    }
                    next.scale = scale;
                }
                "operations" => {
                    let plans: BTreeMap<String, Plan> = serde_json::from_value(value.clone())
                        .map_err(|e| format!("operations: {e}"))?;
                    for (name, plan) in plans {
                        if !next.operations.contains_key(&name) {
                            let known: Vec<&str> = PLANS.iter().map(|p| p.0).collect();
                            return Err(format!(
                                "unknown operation {name}; known: {}",
                                known.join(", ")
                            ));
                        }
                        if !(plan.rate.is_finite() && plan.rate > 0.0) {
                            return Err(format!("{name}: rate must be above 0"));
                        }
                        if !(plan.burst.is_finite() && plan.burst >= 1.0) {
                            return Err(format!("{name}: burst must be at least 1"));
                        }
                        next.operations.insert(name, plan);
                    }
                }
                other => return Err(format!("unknown limit setting {other}")),
            }
        }
        Ok(next)
    }

    fn plan(&self, operation: &str) -> Plan {
        let plan = self.operations.get(operation).copied().unwrap_or(Plan {
            rate: 1.0,
            burst: 1.0,
        });
        Plan {
            rate: plan.rate * self.scale,
            burst: plan.burst,
        }
    }
}

/// The SP-API operation a request is, from its method and path (relative to the base).
fn operation(method: &Method, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (m, ["listings", "2021-08-01", "items", _, _]) => match *m {
            Method::PUT => Some("putListingsItem"),
            Method::PATCH => Some("patchListingsItem"),
            Method::GET => Some("getListingsItem"),
            Method::DELETE => Some("deleteListingsItem"),
            _ => None,
        },
        (&Method::GET, ["sellers", "v1", "marketplaceParticipations"]) => {
            Some("getMarketplaceParticipations")
        }
        (&Method::GET, ["orders", "2026-01-01", "orders"]) => Some("searchOrders"),
        (&Method::GET, ["orders", "2026-01-01", "orders", _]) => Some("getOrder"),
        (&Method::GET, ["orders", "v0", "orders"]) => Some("getOrders"),
        (&Method::GET, ["orders", "v0", "orders", _]) => Some("getOrderV0"),
        (&Method::GET, ["orders", "v0", "orders", _, "orderItems"]) => Some("getOrderItems"),
        (&Method::POST, ["orders", "v0", "orders", _, "shipmentConfirmation"]) => {
            Some("confirmShipment")
        }
        _ => None,
    }
}

/// Middleware for the SP-API routes.
pub async fn guard(
    State(amazon): State<Arc<Amazon>>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut response = match guarded(&amazon, &mut request).await {
        Ok(rate) => {
            let mut response = next.run(request).await;
            if amazon.options().rate_limit_header_always {
                set_rate_header(&mut response, rate);
            }
            response
        }
        Err(early) => *early,
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// Faults, token and rate limit, in that order. Ok: the operation's rate, for the response
/// header.
async fn guarded(amazon: &Amazon, request: &mut Request) -> Result<f64, Box<Response>> {
    let op = operation(request.method(), request.uri().path()).unwrap_or("unknown");
    let (limited, plan) = {
        let limits = amazon.limits.lock().unwrap_or_else(|p| p.into_inner());
        (limits.enabled, limits.plan(op))
    };
    match amazon.context.controls.before_call().await {
        Some(Injected::ServerError) => {
            return Err(Box::new(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailure",
                "We encountered an internal error. Please try again.",
                None,
            )));
        }
        Some(Injected::Throttled) => return Err(Box::new(quota_exceeded(plan.rate))),
        None => {}
    }
    let token = request
        .headers()
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(Box::new(unauthorized("")));
    }
    let now = amazon.now();
    let seller_id = {
        let state = amazon.lock();
        match state.tokens.check_access(&token, now) {
            Ok(access) if !access.subject.is_empty() => Ok(access.subject.clone()),
            // A grantless token (no selling partner) on a seller operation.
            Ok(_) => Err(""),
            Err(TokenError::Expired) => Err("The access token you provided has expired."),
            Err(TokenError::Unknown | TokenError::Revoked) => {
                Err("The access token you provided is revoked, malformed or invalid.")
            }
        }
    }
    .map_err(|details| Box::new(unauthorized(details)))?;
    if amazon.context.limits_enabled && limited {
        let mut buckets = amazon.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry((seller_id.clone(), op))
            .or_insert_with(|| TokenBucket::new(plan.burst, plan.rate));
        if !bucket.try_take(1.0) {
            return Err(Box::new(quota_exceeded(plan.rate)));
        }
    }
    request.extensions_mut().insert(Caller { seller_id });
    Ok(plan.rate)
}
