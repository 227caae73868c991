//! Security headers on every response, and the content security policy of pages.
//!
//! Pages get a policy that allows scripts only with this response's nonce (Leptos puts it on
//! its hydration scripts) plus the wasm they load; every other response gets a policy that
//! allows nothing at all.

use axum::{
    extract::{Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use leptos::prelude::*;
use shopmarkets_core::Config;

/// The policy for anything that is not a page (JSON, files, errors).
const NON_PAGE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The headers that depend on the configuration.
#[derive(Debug, Clone)]
pub struct Headers {
    hsts: bool,
}

impl Headers {
    pub fn new(config: &Config) -> Self {
        // HSTS only where the site really is HTTPS; in development it would pin localhost.
        Self {
            hsts: config.env.is_production(),
        }
    }
}

pub async fn headers(State(config): State<Headers>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    if config.hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_CSP),
        );
    }
    response
}

/// Sets the page's policy from the nonce Leptos generated for this response. Runs inside the
/// render's context; does nothing where there is no nonce (server-function calls).
pub fn provide_page_csp() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; \
         script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: https:; font-src 'self'; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}
