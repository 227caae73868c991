//! The per-client request budget: every client address gets `RATE_LIMIT_PER_MINUTE` requests
//! a minute (bursts up to the same number); beyond it, 429 with `Retry-After`. Health checks,
//! metrics and static assets are not counted, so a throttled client never degrades them.
//!
//! When the counter store (Redis) fails, requests pass and the failure is logged: a cache
//! outage must not take the whole product down. Login throttling, which must fail closed,
//! uses the limiter directly.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use shopmarkets_app::services::{ClientIp, Services};
use shopmarkets_core::rate_limit::{Decision, Quota, RateLimiter};

use super::error::ApiError;

/// Static and content-addressed files: cheap to serve, and marketplaces fetch a merchant's
/// product images (`/media/`) in bursts from a few addresses.
const NOT_COUNTED: [&str; 5] = ["/health/", "/metrics", "/pkg/", "/favicon.ico", "/media/"];

/// Endpoints that cost a password hash or send email: a second, much smaller budget per
/// client on top of the general one (the database-backed sign-in throttling still applies).
const COSTLY: [&str; 6] = [
    "/api/login",
    "/api/second_factor",
    "/api/register",
    "/api/request_password_reset",
    "/api/reset_password",
    "/api/change_password",
];

/// Forms that carry a password or code: besides [`COSTLY`], the two-factor settings (which
/// have a per-user budget of their own in the app). Their bodies are capped at
/// [`COSTLY_BODY_LIMIT`].
const PASSWORD_FORMS: [&str; 4] = [
    "/api/begin_two_factor",
    "/api/confirm_two_factor",
    "/api/disable_two_factor",
    "/api/regenerate_recovery_codes",
];

/// Requests a minute per client for each [`COSTLY`] endpoint.
const COSTLY_PER_MINUTE: u32 = 10;

/// The largest body a [`COSTLY`] endpoint reads: a sign-in form is a few hundred bytes, and a
/// huge one must be refused before anything is hashed.
pub const COSTLY_BODY_LIMIT: usize = 16 * 1024;

#[derive(Clone)]
pub struct ClientLimit {
    limiter: RateLimiter,
    quota: Quota,
    proxy_hops: usize,
}

impl ClientLimit {
    pub fn new(services: &Services) -> Self {
        Self {
            limiter: services.rate_limiter.clone(),
            quota: Quota::new(
                services.config.rate_limit_per_minute,
                Duration::from_secs(60),
            ),
            proxy_hops: services.config.trusted_proxy_hops,
        }
    }
}

pub async fn limit(State(limit): State<ClientLimit>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let path = path.as_str();
    if NOT_COUNTED.iter().any(|prefix| path.starts_with(prefix)) {
        return next.run(request).await;
    }
    let ip = client_ip(&request, limit.proxy_hops);
    let client = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    if let Some(endpoint) = COSTLY.iter().find(|endpoint| path == **endpoint) {
        let quota = Quota::new(COSTLY_PER_MINUTE, Duration::from_secs(60));
        let key = format!("costly:{endpoint}:{client}");
        if let Ok(Decision::Limited { retry_after }) = limit.limiter.check(&key, quota).await {
            return too_many_requests(retry_after);
        }
    }
    if COSTLY.contains(&path) || PASSWORD_FORMS.contains(&path) {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, COSTLY_BODY_LIMIT).await else {
            let (code, message) = super::error::describe(StatusCode::PAYLOAD_TOO_LARGE);
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, code, message).into_response();
        };
        request = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    let key = format!("ip:{client}");
    if let Some(ip) = ip {
        // Server functions read the proxy-aware address from here (sign-in throttling, audit).
        request.extensions_mut().insert(ClientIp(ip));
    }
    match limit.limiter.check(&key, limit.quota).await {
        Ok(Decision::Allowed { .. }) => next.run(request).await,
        Ok(Decision::Limited { retry_after }) => too_many_requests(retry_after),
        Err(err) => {
            tracing::error!(error = %err, "rate limit store failed; request let through");
            next.run(request).await
        }
    }
}

/// 429 in the public error shape, with `Retry-After` in whole seconds (rounded up).
pub fn too_many_requests(retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        format!("Too many requests; please retry in {seconds} s."),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The client's address: the peer, or with `hops` trusted proxies in front, the address the
/// outermost of them saw (counted from the right of `X-Forwarded-For`, which clients cannot
/// forge past our own proxies).
pub(crate) fn client_ip(request: &Request, hops: usize) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|i| forwarded.get(i))
        .and_then(|ip| ip.parse().ok())
        .or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(peer: &str, forwarded: Option<&str>) -> Request {
        let mut request = Request::get("/").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(f) = forwarded {
            request
                .headers_mut()
                .insert("x-forwarded-for", f.parse().unwrap());
        }
        request
    }

    #[test]
    fn without_proxies_the_peer_is_the_client() {
        let r = request("203.0.113.9:5555", Some("198.51.100.1"));
        assert_eq!(client_ip(&r, 0), Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn behind_one_proxy_the_rightmost_forwarded_address_counts() {
        // The client put a fake address first; our proxy appended the real one.
        let r = request("10.0.0.2:80", Some("1.2.3.4, 198.51.100.7"));
        assert_eq!(client_ip(&r, 1), Some("198.51.100.7".parse().unwrap()));
        assert_eq!(client_ip(&r, 2), Some("1.2.3.4".parse().unwrap()));
        // Fewer entries than hops: fall back to the peer.
        assert_eq!(client_ip(&r, 3), Some("10.0.0.2".parse().unwrap()));
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let response = too_many_requests(Duration::from_millis(19_200));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "20");
    }
}
