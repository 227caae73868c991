//! The marketplaces' side of a connection: the OAuth callbacks (the browser returning from a
//! consent page), WooCommerce's key handover (the store posting keys, server to server) and
//! the notification endpoints (`/webhooks/{marketplace}/{connection}`), which verify the
//! signature and store each event once. Processing the events belongs to the sync.

use std::collections::BTreeMap;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use shopmarkets_app::services::ClientIp;
use shopmarkets_core::channels::channel::IncomingWebhook;
use shopmarkets_core::channels::connections::{self, Received, WebhookRejection};
use shopmarkets_types::Marketplace;
use tower_sessions::Session;
use uuid::Uuid;

use super::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/channels/woo_commerce/keys", post(woocommerce_keys))
        .route("/channels/{marketplace}/callback", get(callback))
        .route(
            "/webhooks/{marketplace}/{connection}",
            get(webhook_challenge).post(webhook),
        )
}

/// The browser coming back from a marketplace: finishes the flow in this session and shows
/// the connections page with the outcome.
async fn callback(
    State(state): State<AppState>,
    Path(marketplace): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    session: Session,
    ip: Option<axum::Extension<ClientIp>>,
) -> Response {
    let Some(marketplace) = Marketplace::from_code(&marketplace) else {
        return ApiError::not_found().into_response();
    };
    let Some(session_id) = session.id() else {
        // No session at all: this browser did not start a connection here.
        return Redirect::to("/connections?error=wrong_session").into_response();
    };
    let services = &state.services;
    let outcome = connections::finish(
        &services.db,
        &services.channels,
        &session_id.to_string(),
        marketplace,
        &query,
        ip.map(|ip| ip.0.0),
        services.clock.now(),
    )
    .await;
    match outcome {
        Ok(connection) => {
            Redirect::to(&format!("/connections?connected={}", connection.id)).into_response()
        }
        Err(error) => {
            if error.code() == "internal" {
                tracing::error!(error = %error, marketplace = marketplace.code(), "finishing a connection failed");
            } else {
                tracing::info!(
                    reason = error.code(),
                    marketplace = marketplace.code(),
                    "a connection callback was refused"
                );
            }
            Redirect::to(&format!("/connections?error={}", error.code())).into_response()
        }
    }
}

/// What WooCommerce posts to the `callback_url` of its authorization endpoint.
#[derive(Deserialize)]
struct HandedOverKeys {
    /// The state we sent as `user_id`.
    user_id: serde_json::Value,
    consumer_key: String,
    consumer_secret: String,
}

/// The store hands over the keys it made. WooCommerce deletes the keys again unless this
/// answers 200.
async fn woocommerce_keys(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(keys) = serde_json::from_slice::<HandedOverKeys>(&body) else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Malformed keys.",
        )
        .into_response();
    };
    let state_value = match &keys.user_id {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let services = &state.services;
    match connections::receive_handed_over_keys(
        &services.db,
        &services.channels,
        &state_value,
        &keys.consumer_key,
        &keys.consumer_secret,
        services.clock.now(),
    )
    .await
    {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({ "ok": true }))).into_response(),
        Err(error) => {
            tracing::info!(
                reason = error.code(),
                "a WooCommerce key handover was refused"
            );
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "No connection is waiting for these keys.",
            )
            .into_response()
        }
    }
}

fn rejection(rejection: WebhookRejection) -> Response {
    match rejection {
        WebhookRejection::UnknownConnection => ApiError::not_found().into_response(),
        WebhookRejection::Gone => ApiError::new(
            StatusCode::GONE,
            "gone",
            "This connection was disconnected.",
        )
        .into_response(),
        WebhookRejection::Invalid(error) => {
            tracing::warn!(reason = %error, "a marketplace notification was refused");
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "The notification could not be verified.",
            )
            .into_response()
        }
        WebhookRejection::Internal(error) => {
            tracing::error!(error = %error, "storing a marketplace notification failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The notification could not be stored; please retry.",
            )
            .into_response()
        }
    }
}

async fn webhook(
    State(state): State<AppState>,
    Path((marketplace, connection)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (Some(marketplace), Ok(connection)) = (
        Marketplace::from_code(&marketplace),
        Uuid::parse_str(&connection),
    ) else {
        return ApiError::not_found().into_response();
    };
    let services = &state.services;
    let url = format!("{}{uri}", state.origin());
    let incoming = IncomingWebhook {
        url: &url,
        headers: &headers,
        body: &body,
    };
    match connections::receive(
        &services.db,
        &services.channels,
        marketplace,
        connection,
        incoming,
        services.clock.now(),
    )
    .await
    {
        Ok(received) => {
            let outcome = match received {
                Received::Stored => "stored",
                Received::Duplicate => "duplicate",
                Received::Ping => "ping",
            };
            (
                StatusCode::OK,
                Json(serde_json::json!({ "outcome": outcome })),
            )
                .into_response()
        }
        Err(error) => rejection(error),
    }
}

/// eBay checks a notification endpoint with `GET …?challenge_code=…`.
async fn webhook_challenge(
    State(state): State<AppState>,
    Path((marketplace, connection)): Path<(String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let (Some(marketplace), Ok(connection)) = (
        Marketplace::from_code(&marketplace),
        Uuid::parse_str(&connection),
    ) else {
        return ApiError::not_found().into_response();
    };
    let services = &state.services;
    let endpoint = format!(
        "{}/webhooks/{}/{connection}",
        state.origin(),
        marketplace.code()
    );
    match connections::challenge(
        &services.db,
        &services.channels,
        marketplace,
        connection,
        &query,
        &endpoint,
    )
    .await
    {
        Ok(Some(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Ok(None) => ApiError::not_found().into_response(),
        Err(error) => rejection(error),
    }
}
