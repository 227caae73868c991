//! The Commerce Identity API (`https://apiz.ebay.com/commerce/identity/v1`): `GET /user/`
//! answers the account profile of the user a user access token acts for (scope
//! `commerce.identity.readonly`). Only the public fields the default scope returns.

use std::sync::Arc;

use axum::extract::Extension;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::{Caller, Ebay, SELLER};
use crate::common::sign::sha256_hex;

pub fn routes() -> Router<Arc<Ebay>> {
    Router::new()
        .route("/commerce/identity/v1/user/", get(user))
        .route("/commerce/identity/v1/user", get(user))
}

/// The immutable user id of a username: the default seller's is the one the
/// AUTHORIZATION_REVOCATION push names.
pub fn user_id(username: &str) -> String {
    if username == SELLER {
        "sandbox-user-1".to_owned()
    } else {
        format!("sandbox-user-{}", &sha256_hex(username.as_bytes())[..12])
    }
}

async fn user(Extension(caller): Extension<Caller>) -> Response {
    Json(json!({
        "userId": user_id(&caller.subject),
        "username": caller.subject,
        "accountType": "BUSINESS",
        "registrationMarketplaceId": "EBAY_DE",
        "status": "CONFIRMED",
    }))
    .into_response()
}
