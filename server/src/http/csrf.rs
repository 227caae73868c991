//! Cross-site request forgery protection for every state-changing request, server functions
//! included: the browser must say the request comes from our own origin.
//!
//! `Sec-Fetch-Site` decides when present (every current browser sends it): only
//! `same-origin` and `none` (typed by the user) pass. Otherwise `Origin` must equal the app's
//! own origin exactly; `null` never passes. A request with neither header did not come from a
//! browser page and carries no ambient authority to forge, so it passes. Safe methods never
//! change state and always pass.

use axum::{
    extract::{Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::error::ApiError;

/// Paths whose callers authenticate with a header or a signature, not a cookie: the REST API
/// (bearer tokens), marketplace webhooks (signed bodies) and the WooCommerce key handover
/// (matched to a single-use state, server to server) are not reachable by CSRF.
const EXEMPT_PREFIXES: [&str; 3] = ["/api/v1/", "/webhooks/", "/channels/woo_commerce/keys"];

/// The app's own origin, e.g. `https://app.example.com`.
#[derive(Debug, Clone)]
pub struct CsrfGuard {
    origin: String,
}

impl CsrfGuard {
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into().trim_end_matches('/').to_ascii_lowercase(),
        }
    }

    /// Whether a request may proceed.
    pub fn allows(&self, method: &Method, path: &str, headers: &axum::http::HeaderMap) -> bool {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) || EXEMPT_PREFIXES.iter().any(|p| path.starts_with(p))
        {
            return true;
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(site) = header("sec-fetch-site") {
            return matches!(site, "same-origin" | "none");
        }
        match header(header::ORIGIN.as_str()) {
            Some(origin) => origin.eq_ignore_ascii_case(&self.origin),
            None => true,
        }
    }
}

pub async fn guard(State(guard): State<CsrfGuard>, request: Request, next: Next) -> Response {
    if guard.allows(request.method(), request.uri().path(), request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(method = %request.method(), "refused a cross-origin state-changing request");
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross_origin_request",
        "This request did not come from ShopMarkets itself and was refused.",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn guard() -> CsrfGuard {
        CsrfGuard::new("https://app.example.com/")
    }

    #[test]
    fn safe_methods_always_pass() {
        let foreign = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ]);
        assert!(guard().allows(&Method::GET, "/", &foreign));
        assert!(guard().allows(&Method::HEAD, "/", &foreign));
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let g = guard();
        assert!(g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[("sec-fetch-site", "none")])
        ));
        assert!(!g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[("sec-fetch-site", "same-site")])
        ));
        // A matching Origin does not rescue a cross-site fetch.
        assert!(!g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://app.example.com")
            ])
        ));
    }

    #[test]
    fn origin_must_match_exactly_without_fetch_metadata() {
        let g = guard();
        assert!(g.allows(
            &Method::POST,
            "/api/x",
            &headers(&[("origin", "https://APP.example.com")])
        ));
        for bad in [
            "https://evil.example",
            "null",
            "http://app.example.com",
            "https://app.example.com.evil.example",
        ] {
            let map = {
                let mut m = HeaderMap::new();
                m.insert("origin", bad.parse().unwrap());
                m
            };
            assert!(!g.allows(&Method::DELETE, "/api/x", &map), "{bad}");
        }
    }

    #[test]
    fn non_browser_clients_and_exempt_paths_pass() {
        let g = guard();
        assert!(g.allows(&Method::POST, "/api/x", &HeaderMap::new()));
        let foreign = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(g.allows(&Method::POST, "/api/v1/products", &foreign));
        assert!(g.allows(&Method::POST, "/webhooks/shopify/abc", &foreign));
    }
}
