//! What every request leaves behind: a request id (taken from `X-Request-Id` when well-formed,
//! generated otherwise, echoed back), a tracing span carrying it, one log line, and the
//! Prometheus request count and latency by route.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    http::HeaderValue,
    middleware::Next,
    response::Response,
};
use tracing::Instrument as _;

use super::{error, metrics};

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const MAX_REQUEST_ID_LEN: usize = 64;

/// The id of the current request, in the request's extensions for handlers that want it.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The route template that matched (`/health/ready`), never the raw path: paths can carry
/// tokens, and templates keep the metric labels few.
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// Route layer: remembers which route matched, for the outer [`observe`].
pub async fn tag_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id: Arc<str> = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_well_formed(v))
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(uuid::Uuid::new_v4().simple().to_string()));
    request.extensions_mut().insert(RequestId(id.clone()));
    let method = request.method().clone();

    let span = tracing::info_span!("request", request_id = %id, method = %method);
    let response = next.run(request).instrument(span.clone()).await;
    let mut response = error::shape(response, &id);

    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0.as_str())
        .to_owned();
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics::record_request(method.as_str(), &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });

    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Accepts ids made for logs: 1–64 of letters, digits and `-_.:`. Anything else could forge
/// log lines or blow up label sizes, and is replaced.
fn is_well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::is_well_formed;

    #[test]
    fn request_ids_are_checked() {
        assert!(is_well_formed("3f2a9c1e-7b7d-4c55-9d21-0d8f4a0e1b2c"));
        assert!(is_well_formed("lb:1234.abc_DEF"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("a\nb"));
        assert!(!is_well_formed("with space"));
        assert!(!is_well_formed(&"x".repeat(65)));
    }
}
