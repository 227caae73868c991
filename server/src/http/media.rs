//! `GET /media/<sha256>.<ext>`: product images from the media store, for browsers, for
//! marketplaces that fetch them by URL, and as the origin of a CDN (`CDN_BASE_URL`).
//!
//! No session is needed: image URLs are unguessable content hashes and are handed to
//! marketplaces, which fetch without signing in. An object never changes under its key, so
//! the answer is cacheable forever and its `ETag` is the hash itself. Anything that is not
//! exactly a key (`..`, slashes, other extensions, upper case) is a 404 before the store is
//! asked.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use shopmarkets_core::media::{CACHE_CONTROL, MediaKey};

use super::{AppState, error::ApiError};

pub async fn serve(
    State(state): State<AppState>,
    Path(key): Path<String>,
    request_headers: HeaderMap,
) -> Response {
    let Some(key) = MediaKey::parse(&key) else {
        return ApiError::not_found().into_response();
    };
    let etag = format!("\"{}\"", key.sha256());
    let cached = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*");
    // A revalidation only needs to know the object is still there.
    let found = if cached {
        state
            .media
            .contains(key.as_str())
            .await
            .map(|found| found.then(Body::empty))
    } else {
        state
            .media
            .get(key.as_str())
            .await
            .map(|object| object.map(|o| Body::from(o.bytes)))
    };
    let body = match found {
        Ok(Some(body)) => body,
        Ok(None) => return ApiError::not_found().into_response(),
        Err(err) => {
            tracing::error!(error = %err, "reading an image from the media store failed");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "The image cannot be read right now.",
            )
            .into_response();
        }
    };
    let status = if cached {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(key.content_type()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Shops and marketplaces show these images on their own pages.
    headers.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
