//! Liveness (the process answers) and readiness (it can do its work: the database answers).

use std::time::Duration;

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;
use shopmarkets_core::db;

use super::{AppState, error::ApiError};

const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "live" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    let check = tokio::time::timeout(READY_TIMEOUT, db::ping(&state.services.db)).await;
    match check {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "checks": { "database": "ok" } })).into_response()
        }
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: database check failed");
            not_ready("The database is unreachable.")
        }
        Err(_) => {
            tracing::warn!("readiness: database check timed out");
            not_ready("The database did not answer in time.")
        }
    }
}

fn not_ready(reason: &str) -> Response {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason).into_response()
}
