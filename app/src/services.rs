//! What the server hands to server functions: one value, provided in one place
//! (`shopmarkets-server`'s router), so a missing service is a start-up error rather than a
//! panic inside a page.

use std::{sync::Arc, time::Instant};

use leptos::prelude::*;
use shopmarkets_core::{Config, Db, rate_limit::RateLimiter};

/// Every service a server function may use.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub rate_limiter: RateLimiter,
    /// The origin users reach the app at, for links in emails.
    pub origin: String,
    pub started_at: Instant,
}

/// The services of the current request.
pub fn services() -> Result<Services, ServerFnError> {
    use_context::<Services>().ok_or_else(|| {
        tracing::error!("server function called without the Services context");
        ServerFnError::new("internal error")
    })
}

/// Logs an internal failure with its details and gives the browser nothing but a generic error;
/// the page shows a localized message for it.
pub fn internal_error(err: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(error = %err, "server function failed");
    ServerFnError::new("internal error")
}

/// The language of the current request (cookie, then `Accept-Language`).
pub fn request_locale() -> shopmarkets_types::Locale {
    use_context::<http::request::Parts>()
        .map(|parts| crate::i18n::locale_of_request(&parts.headers))
        .unwrap_or_default()
}

/// The client's address as the server saw it (the peer; the proxy-aware address is the rate
/// limiter's business), for the audit log's network prefix.
pub fn client_ip() -> Option<std::net::IpAddr> {
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip())
    })
}
