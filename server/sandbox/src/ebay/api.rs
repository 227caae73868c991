//! The REST APIs behind the bearer-token guard, and Developer Analytics' view of the quotas.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{Ebay, fulfillment, identity, inventory, notify};

pub fn routes() -> Router<Arc<Ebay>> {
    Router::new()
        .merge(inventory::routes())
        .merge(fulfillment::routes())
        .merge(notify::routes())
        .merge(identity::routes())
        .route("/developer/analytics/v1_beta/rate_limit/", get(rate_limits))
        .route("/developer/analytics/v1_beta/rate_limit", get(rate_limits))
}

#[derive(Debug, Deserialize)]
struct RateQuery {
    api_name: Option<String>,
    api_context: Option<String>,
}

/// (apiContext, apiName, apiVersion, resource name, quota)
const APIS: [(&str, &str, &str, &str, &str); 3] = [
    ("sell", "Inventory", "v1", "sell.inventory", "inventory"),
    (
        "sell",
        "Fulfillment",
        "v1",
        "sell.fulfillment.order",
        "fulfillment",
    ),
    (
        "commerce",
        "Notification",
        "v1",
        "commerce.notification",
        "notification",
    ),
];

/// `GET /developer/analytics/v1_beta/rate_limit/?api_name=&api_context=`.
async fn rate_limits(State(ebay): State<Arc<Ebay>>, Query(q): Query<RateQuery>) -> Response {
    let limits = ebay.limits_json();
    let rate_limits: Vec<_> = APIS
        .iter()
        .filter(|a| {
            q.api_name
                .as_deref()
                .is_none_or(|n| n.eq_ignore_ascii_case(a.1))
                && q.api_context
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(a.0))
        })
        .map(|(context, name, version, resource, quota)| {
            let l = &limits[quota];
            json!({
                "apiContext": context,
                "apiName": name,
                "apiVersion": version,
                "resources": [{
                    "name": resource,
                    "rates": [{
                        "count": l["used"],
                        "limit": l["limit"],
                        "remaining": l["remaining"],
                        "reset": l["reset"],
                        "timeWindow": 86_400,
                    }],
                }],
            })
        })
        .collect();
    Json(json!({ "rateLimits": rate_limits })).into_response()
}
