//! Sellers API v1: `GET /sellers/v1/marketplaceParticipations` (getMarketplaceParticipations),
//! the marketplaces the selling partner can sell in. Apps use it as the cheap "who am I" call
//! after authorization. Shape per the Sellers API model: `{payload:[{marketplace:{id,
//! countryCode, name, defaultCurrencyCode, defaultLanguageCode, domainName}, participation:
//! {isParticipating, hasSuspendedListings}, storeName}]}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api::CallerExt;
use super::{Amazon, CURRENCY, MARKETPLACE_ID, MARKETPLACE_NAME};

pub async fn marketplace_participations(
    State(amazon): State<Arc<Amazon>>,
    caller: CallerExt,
) -> Response {
    let store_name = {
        let state = amazon.lock();
        if caller.seller_id != state.seller_id {
            return super::api::unauthorized("");
        }
        state.seller_name.clone()
    };
    Json(json!({
        "payload": [{
            "marketplace": {
                "id": MARKETPLACE_ID,
                "countryCode": "DE",
                "name": MARKETPLACE_NAME,
                "defaultCurrencyCode": CURRENCY,
                "defaultLanguageCode": "de_DE",
                "domainName": "www.amazon.de",
            },
            "participation": { "isParticipating": true, "hasSuspendedListings": false },
            "storeName": store_name,
        }],
    }))
    .into_response()
}
