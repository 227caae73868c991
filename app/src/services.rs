//! What the server hands to server functions: one value, provided in one place
//! (`shopmarkets-server`'s router), so a missing service is a start-up error rather than a
//! panic inside a page.

use std::{sync::Arc, time::Instant};

use leptos::prelude::*;
use shopmarkets_core::{
    Config, Db,
    access::{AccessError, Permission, Scope},
    clock::SharedClock,
    crypto::Cipher,
    rate_limit::RateLimiter,
    sessions::{AUTH_KEY, Freshness, SessionAuth, Stage, Timeouts},
};
use tower_sessions::Session;
use uuid::Uuid;

/// Every service a server function may use.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    pub rate_limiter: RateLimiter,
    /// The origin users reach the app at, for links in emails.
    pub origin: String,
    pub started_at: Instant,
    /// The time every session and sign-in decision uses; tests move it.
    pub clock: SharedClock,
    /// Encryption at rest (TOTP secrets, marketplace credentials).
    pub cipher: Arc<Cipher>,
    pub session_timeouts: Timeouts,
    /// Product images (`MEDIA_STORE`).
    pub media: shopmarkets_core::media::MediaStore,
    /// The marketplace adapters, their HTTP client and the credential cipher.
    pub channels: shopmarkets_core::channels::Channels,
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

/// The client's address as the server's rate-limit layer determined it (behind
/// `TRUSTED_PROXY_HOPS` proxies, the address the outermost proxy saw).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// The client's address, for sign-in throttling and the audit log's network prefix: the
/// proxy-aware one when the rate-limit layer set it, else the peer.
pub fn client_ip() -> Option<std::net::IpAddr> {
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<ClientIp>()
            .map(|ip| ip.0)
            .or_else(|| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip())
            })
    })
}

/// An id from the browser (ids travel as strings: the browser bundle has no uuid crate); a
/// malformed one is answered exactly like an unknown one (404).
pub fn parse_id(id: &str) -> Result<Uuid, ServerFnError> {
    Uuid::parse_str(id.trim()).map_err(|_| access_error(AccessError::NotFound))
}

/// Error messages server functions use for access problems; pages turn them into words.
pub const UNAUTHORIZED: &str = "unauthorized";
pub const NOT_FOUND: &str = "not_found";
pub const FORBIDDEN: &str = "forbidden";

fn status_error(status: http::StatusCode, message: &'static str) -> ServerFnError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    ServerFnError::new(message)
}

/// "Sign in first" (401).
pub fn unauthorized() -> ServerFnError {
    status_error(http::StatusCode::UNAUTHORIZED, UNAUTHORIZED)
}

/// An access refusal from `core` as a response: another organization's records and missing
/// ones are both 404; a missing permission is 403.
pub fn access_error(err: AccessError) -> ServerFnError {
    match err {
        AccessError::NotFound => status_error(http::StatusCode::NOT_FOUND, NOT_FOUND),
        AccessError::Forbidden => status_error(http::StatusCode::FORBIDDEN, FORBIDDEN),
        AccessError::Db(err) => internal_error(err),
    }
}

/// The request's session (the session layer is always installed).
pub async fn session() -> Result<Session, ServerFnError> {
    leptos_axum::extract::<Session>().await.map_err(|err| {
        tracing::error!(error = %err, "no session layer");
        ServerFnError::new("internal error")
    })
}

/// The session and what it knows about its user, after the timeouts were applied: a timed-out
/// session is ended here and counts as no session.
pub async fn current_auth() -> Result<Option<(Session, SessionAuth)>, ServerFnError> {
    let services = services()?;
    let session = session().await?;
    Ok(auth_of(&services, &session)
        .await
        .map_err(internal_error)?
        .map(|auth| (session, auth)))
}

/// What a session knows about its user, with the idle and absolute timeouts applied (an
/// expired session is ended). Shared by server functions and the plain HTTP handlers (file
/// uploads and downloads) that read the same session.
pub async fn auth_of(
    services: &Services,
    session: &Session,
) -> Result<Option<SessionAuth>, tower_sessions::session::Error> {
    let Some(mut auth) = session.get::<SessionAuth>(AUTH_KEY).await? else {
        return Ok(None);
    };
    let now = services.clock.now();
    match auth.freshness(now, services.session_timeouts) {
        Freshness::Expired => {
            session.flush().await?;
            Ok(None)
        }
        Freshness::Valid { touch } => {
            if touch {
                auth.last_seen_at = now;
                session.insert(AUTH_KEY, &auth).await?;
            }
            Ok(Some(auth))
        }
    }
}

/// Why a plain HTTP handler refused a request.
#[derive(Debug)]
pub enum Refusal {
    /// No signed-in session (401).
    SignedOut,
    Access(AccessError),
    Internal(String),
}

/// The signed-in user's scope in their current organization, checked for `permission`, for
/// plain HTTP handlers (outside server functions).
pub async fn scope_of(
    services: &Services,
    session: &Session,
    permission: Permission,
) -> Result<Scope, Refusal> {
    let auth = match auth_of(services, session).await {
        Ok(Some(auth)) if auth.stage == Stage::SignedIn => auth,
        Ok(_) => return Err(Refusal::SignedOut),
        Err(err) => return Err(Refusal::Internal(err.to_string())),
    };
    let organization_id = auth
        .organization_id
        .ok_or(Refusal::Access(AccessError::NotFound))?;
    let scope = Scope::for_member(&services.db, auth.user_id, organization_id)
        .await
        .map_err(Refusal::Access)?;
    scope.require(permission).map_err(Refusal::Access)?;
    Ok(scope)
}

/// A fully signed-in user (password and, if set up, second factor).
pub struct SignedIn {
    pub session: Session,
    pub auth: SessionAuth,
}

impl SignedIn {
    pub fn user_id(&self) -> Uuid {
        self.auth.user_id
    }
}

/// The signed-in user, or 401. A half-authenticated session (waiting for its second factor)
/// is not signed in: it reaches nothing that goes through here.
pub async fn signed_in() -> Result<SignedIn, ServerFnError> {
    match current_auth().await? {
        Some((session, auth)) if auth.stage == Stage::SignedIn => Ok(SignedIn { session, auth }),
        _ => Err(unauthorized()),
    }
}

/// The signed-in user's scope in their current organization, checked for `permission`.
pub async fn scope(permission: Permission) -> Result<(SignedIn, Scope), ServerFnError> {
    let user = signed_in().await?;
    let services = services()?;
    let organization_id = user
        .auth
        .organization_id
        .ok_or_else(|| access_error(AccessError::NotFound))?;
    let scope = Scope::for_member(&services.db, user.user_id(), organization_id)
        .await
        .map_err(access_error)?;
    scope.require(permission).map_err(access_error)?;
    Ok((user, scope))
}

/// Puts a new sign-in state into the session under a new id (no fixation: the id the browser
/// had before signing in stops working).
pub async fn begin_session(session: &Session, auth: &SessionAuth) -> Result<(), ServerFnError> {
    session.cycle_id().await.map_err(internal_error)?;
    session
        .insert(AUTH_KEY, auth)
        .await
        .map_err(internal_error)?;
    Ok(())
}

/// The client's `User-Agent`, for the Sessions page.
pub fn user_agent() -> Option<String> {
    use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}
