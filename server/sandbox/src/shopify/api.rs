//! `POST {shop}/admin/api/{version}/graphql.json`: token check, the calculated query cost
//! against the shop's bucket, execution, and `extensions.cost` on every answer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shopify;
use super::auth::valid_shop;
use super::cost;
use crate::common::faults::Injected;
use crate::common::limits::TokenBucket;

/// Shopify's answer to a missing, unknown, expired or revoked access token.
pub const INVALID_TOKEN: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

const RATE_LIMIT_DOCS: &str = "https://shopify.dev/api/usage/rate-limits";

/// Marks a call the fault injection decided to throttle.
#[derive(Clone, Copy)]
pub struct InjectedThrottle;

/// What a resolver needs to know about the call.
pub struct ApiContext {
    pub sandbox: Arc<Shopify>,
    pub shop: String,
    pub version: String,
}

/// Injected latency and faults for the API routes. A server error is Shopify's 503; an injected
/// throttle is answered by the handler, which knows the query's cost.
pub async fn faults(
    State(sandbox): State<Arc<Shopify>>,
    mut request: Request,
    next: Next,
) -> Response {
    match sandbox.context.controls.before_call().await {
        Some(Injected::ServerError) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "errors": "Service Unavailable" })),
        )
            .into_response(),
        Some(Injected::Throttled) => {
            request.extensions_mut().insert(InjectedThrottle);
            next.run(request).await
        }
        None => next.run(request).await,
    }
}

fn valid_version(version: &str) -> bool {
    if version == "unstable" {
        return true;
    }
    let bytes = version.as_bytes();
    bytes.len() == 7
        && bytes[4] == b'-'
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && ["01", "04", "07", "10"].contains(&&version[5..])
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({ "errors": INVALID_TOKEN })),
    )
        .into_response()
}

pub async fn graphql(
    State(sandbox): State<Arc<Shopify>>,
    Path((shop, version)): Path<(String, String)>,
    headers: HeaderMap,
    injected: Option<axum::Extension<InjectedThrottle>>,
    body: Bytes,
) -> Response {
    if !valid_shop(&shop) || !valid_version(&version) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    {
        let now = sandbox.now();
        let state = sandbox.lock();
        match state.tokens.check_access(token, now) {
            Ok(access) if access.subject == shop => {}
            _ => return unauthorized(),
        }
    }
    let is_graphql = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/graphql"));
    let request: Option<async_graphql::Request> = if is_graphql {
        std::str::from_utf8(&body)
            .ok()
            .map(|q| async_graphql::Request::new(q.to_owned()))
    } else {
        serde_json::from_slice(&body).ok()
    };
    let Some(request) = request.filter(|r| !r.query.trim().is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "errors": { "query": "Required parameter missing or invalid" } })),
        )
            .into_response();
    };

    let limits = sandbox.limits();
    let requested = cost::requested(
        &request.query,
        request.operation_name.as_deref(),
        &request.variables,
    )
    .unwrap_or(0);
    let (available, admitted) = {
        let mut buckets = sandbox.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets
            .entry(shop.clone())
            .or_insert_with(|| TokenBucket::new(limits.maximum_available, limits.restore_rate));
        let admitted = if injected.is_some() {
            false
        } else if !limits.enabled || requested > limits.max_query_cost {
            true
        } else {
            bucket.try_take(requested as f64)
        };
        (bucket.available(), admitted)
    };
    let cost_extension = |actual: Option<u64>| {
        json!({
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": limits.maximum_available,
                "currentlyAvailable": if limits.enabled { available.floor() } else { limits.maximum_available },
                "restoreRate": limits.restore_rate,
            }
        })
    };
    if limits.enabled && requested > limits.max_query_cost {
        let message = format!(
            "Query cost is {requested}, which exceeds the single query max cost limit ({}).\n\n\
             See {RATE_LIMIT_DOCS} for more information on how the cost of a query is calculated.\n\n\
             To query larger amounts of data with fewer limits, bulk operations should be used instead.",
            limits.max_query_cost
        );
        let body = json!({
            "errors": [{ "message": message, "extensions": { "code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": limits.max_query_cost } }],
            "extensions": { "cost": cost_extension(None) },
        });
        return with_version(Json(body).into_response(), &version);
    }
    if !admitted {
        let body = json!({
            "errors": [{ "message": "Throttled", "extensions": { "code": "THROTTLED", "documentation": RATE_LIMIT_DOCS } }],
            "extensions": { "cost": cost_extension(None) },
        });
        let status = sandbox.options().throttle_status;
        let mut response = Json(body).into_response();
        if status == 429 {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let wait = if limits.restore_rate > 0.0 {
                (requested as f64 - available).max(0.0) / limits.restore_rate
            } else {
                1.0
            };
            if let Ok(value) = HeaderValue::from_str(&format!("{:.1}", wait.max(1.0))) {
                response.headers_mut().insert("retry-after", value);
            }
        }
        return with_version(response, &version);
    }

    let request = request.data(ApiContext {
        sandbox: Arc::clone(&sandbox),
        shop,
        version: version.clone(),
    });
    let response = sandbox.schema.execute(request).await;
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    if let Some(object) = body.as_object_mut() {
        let extensions = object
            .entry("extensions")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(extensions) = extensions.as_object_mut() {
            extensions.insert("cost".into(), cost_extension(Some(requested)));
        }
    }
    with_version(Json(body).into_response(), &version)
}

/// `DELETE {shop}/admin/api_permissions/current.json`: the app uninstalls itself from the shop.
/// Every token of the app for that shop is revoked and its webhook subscriptions are removed;
/// Shopify answers 200 with `{}`.
pub async fn revoke_permissions(
    State(sandbox): State<Arc<Shopify>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !valid_shop(&shop) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = sandbox.now();
    let mut state = sandbox.lock();
    match state.tokens.check_access(token, now) {
        Ok(access) if access.subject == shop => {}
        _ => return unauthorized(),
    }
    state.tokens.revoke_subject(&shop);
    if let Some(shop) = state.shop_mut(&shop) {
        shop.webhooks.clear();
    }
    Json(json!({})).into_response()
}

fn with_version(mut response: Response, version: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(version) {
        response
            .headers_mut()
            .insert("x-shopify-api-version", value);
    }
    response
}
