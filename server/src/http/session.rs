//! The session cookie and its store.
//!
//! Behind HTTPS the cookie is `__Host-sm_session`: `Secure`, `Path=/`, no `Domain`, so it
//! cannot be set or read by a sibling host or over plain HTTP. Plain-HTTP development uses
//! `sm_session` without `Secure` (browsers refuse `__Host-` cookies without it). Always
//! `HttpOnly` and `SameSite=Lax`; the id is 128 random bits (tower-sessions) and the store
//! keeps only its hash. The idle timeout also bounds the cookie's lifetime; whether a session
//! is still signed in is decided per request by the app with the injectable clock.

use shopmarkets_core::{
    Config, Db,
    sessions::{DbSessionStore, Timeouts},
};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// The cookie name behind HTTPS.
pub const SECURE_COOKIE: &str = "__Host-sm_session";
/// The cookie name in plain-HTTP development.
pub const PLAIN_COOKIE: &str = "sm_session";

pub fn layer(db: Db, config: &Config, timeouts: Timeouts) -> SessionManagerLayer<DbSessionStore> {
    let secure = config.public_url.as_ref().is_some_and(|url| url.is_https());
    let idle = time::Duration::seconds(timeouts.idle.num_seconds());
    SessionManagerLayer::new(DbSessionStore::new(db))
        .with_name(if secure { SECURE_COOKIE } else { PLAIN_COOKIE })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}
