//! The REST API, version 1 (`/api/v1/…`), for machines.
//!
//! A client exchanges its API key for a short-lived access token at `POST /api/v1/auth/token`
//! and sends that token as `Authorization: Bearer …` with every other request. Every route
//! except the token endpoint sits behind [`require_token`], which verifies the token, applies
//! the per-key rate limit, checks that the key still exists and is not revoked, and hands the
//! handler the key's [`Scope`] as a [`Caller`]. Handlers then require the permission they need;
//! a missing one is `403 insufficient_scope`.
//!
//! Errors use the common `{code, message, request_id}` shape. Unknown fields in a body are
//! refused (400), a body that is not JSON is 415, an oversized one 413 (the outer layer).
//!
//! Browsers may call the API only from the origins in `API_CORS_ORIGINS` (none by default);
//! the CORS layer lives here, so no other route ever answers with CORS headers.

use std::{collections::BTreeSet, time::Duration};

use axum::{
    Json, Router,
    extract::{FromRequestParts, Request, State, rejection::JsonRejection},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get, post},
};
use sea_orm::EntityTrait as _;
use serde::{Deserialize, Serialize};
use shopmarkets_app::services::Services;
use shopmarkets_core::{
    Config,
    access::{AccessError, ApiScope, Permission, Scope},
    api_keys::{self, ApiKeyError},
    entity::organization,
    jwt,
    rate_limit::{Decision, Quota},
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use uuid::Uuid;

use super::{AppState, error::ApiError, rate_limit};

/// Requests a minute one API key may make (bursts up to the same number), whatever the
/// number of addresses it calls from.
pub const REQUESTS_PER_KEY_PER_MINUTE: u32 = 300;
/// Token requests a minute one client address may make: exchanging a key is rare for an
/// honest client (a token lives 15 minutes), so the budget is small.
pub const TOKEN_REQUESTS_PER_IP_PER_MINUTE: u32 = 20;
/// How long browsers may cache a preflight answer.
const CORS_MAX_AGE: Duration = Duration::from_secs(600);
/// The longest `scope` parameter worth reading (all scopes together are far shorter).
const MAX_SCOPE_PARAM_LEN: usize = 200;
const REALM: &str = "shopmarkets-api";

/// The API's routes, to be nested at `/api/v1`.
pub fn router(state: &AppState) -> Router<AppState> {
    let services = &state.services;
    let token = Router::new().route("/auth/token", post(token)).route_layer(
        middleware::from_fn_with_state(TokenLimit::new(services), limit_token_requests),
    );
    let protected = Router::new()
        .route("/organization", get(organization))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    let api = Router::new()
        .merge(token)
        .merge(protected)
        // Every other address under /api/v1/ is the API's own JSON 404.
        .route("/{*rest}", any(not_found));
    match cors(&services.config) {
        Some(cors) => api.layer(cors),
        None => api,
    }
}

/// CORS for the configured origins only: echoed exactly, never `*`, never with credentials
/// (the API authenticates with a header, not cookies). `None` when no origin is configured.
fn cors(config: &Config) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .api_cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            // What a calling page needs to read from errors and limits.
            .expose_headers([
                header::WWW_AUTHENTICATE,
                header::RETRY_AFTER,
                HeaderName::from_static(super::observe::REQUEST_ID_HEADER),
            ])
            .allow_credentials(false)
            .max_age(CORS_MAX_AGE),
    )
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why an API request failed, as the client sees it.
#[derive(Debug)]
pub enum ApiFailure {
    /// No bearer token at all.
    MissingToken,
    /// A token that is malformed, forged, expired, signed with a retired key, or whose key is
    /// gone or revoked: one answer for all.
    InvalidToken,
    /// The token lacks the scope the route needs (named when the handler said which).
    InsufficientScope(Option<ApiScope>),
    NotFound,
    Limited(Duration),
    /// Logged with its cause; the client learns nothing about it.
    Internal,
}

impl From<AccessError> for ApiFailure {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::NotFound => Self::NotFound,
            // Handlers name the scope they need through `Caller::require`; a refusal from
            // deeper down cannot, and is still a scope problem.
            AccessError::Forbidden => Self::InsufficientScope(None),
            AccessError::Db(err) => internal(err),
        }
    }
}

impl From<sea_orm::DbErr> for ApiFailure {
    fn from(err: sea_orm::DbErr) -> Self {
        internal(err)
    }
}

fn internal(err: impl std::fmt::Display) -> ApiFailure {
    tracing::error!(error = %err, "API request failed");
    ApiFailure::Internal
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let (status, code, message, challenge) = match self {
            Self::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "An access token is required: send Authorization: Bearer <token>.".to_owned(),
                Some(format!("Bearer realm=\"{REALM}\"")),
            ),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "The access token is invalid, expired or revoked; request a new one.".to_owned(),
                Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\"")),
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                match scope {
                    Some(scope) => format!("This request needs the scope {}.", scope.code()),
                    None => "The access token's scopes do not allow this request.".to_owned(),
                },
                Some(match scope {
                    Some(scope) => format!(
                        "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
                        scope.code()
                    ),
                    None => format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\""),
                }),
            ),
            Self::NotFound => return ApiError::not_found().into_response(),
            Self::Limited(retry_after) => return rate_limit::too_many_requests(retry_after),
            Self::Internal => {
                let (code, message) = super::error::describe(StatusCode::INTERNAL_SERVER_ERROR);
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    message.to_owned(),
                    None,
                )
            }
        };
        let mut response = ApiError::new(status, code, message).into_response();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

async fn not_found() -> ApiFailure {
    ApiFailure::NotFound
}

// ---------------------------------------------------------------------------------------------
// Authentication of API requests

/// The authenticated API key of a request, put there by [`require_token`]. Extracting it where
/// the middleware did not run fails closed (401).
#[derive(Debug, Clone)]
pub struct Caller(pub Scope);

impl Caller {
    /// Refuses with `403 insufficient_scope` (naming `scope`) unless the key may do this.
    pub fn require(&self, permission: Permission, scope: ApiScope) -> Result<&Scope, ApiFailure> {
        self.0
            .require(permission)
            .map_err(|_| ApiFailure::InsufficientScope(Some(scope)))?;
        Ok(&self.0)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiFailure::MissingToken)
    }
}

/// Verifies the bearer token, counts the request against its key's budget, checks the key
/// against the database and passes the key's scope on as a [`Caller`].
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request.headers()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(failure) => failure.into_response(),
    }
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiFailure> {
    let services = &state.services;
    let token = bearer_token(headers)?;
    let now = services.clock.now();
    let claims = jwt::verify(&services.config.signing_keys, &services.origin, token, now).map_err(
        |reason| {
            tracing::info!(%reason, "API request with an unusable access token refused");
            ApiFailure::InvalidToken
        },
    )?;

    // Counted before the database is asked, so a flood with one token stays cheap.
    let quota = Quota::new(REQUESTS_PER_KEY_PER_MINUTE, Duration::from_secs(60));
    match services
        .rate_limiter
        .check(&format!("api:{}", claims.key_id), quota)
        .await
    {
        Ok(Decision::Allowed { .. }) => {}
        Ok(Decision::Limited { retry_after }) => return Err(ApiFailure::Limited(retry_after)),
        Err(err) => {
            tracing::error!(error = %err, "rate limit store failed; API request let through");
        }
    }

    match api_keys::scope_for_token(&services.db, &claims, now).await {
        Ok(scope) => Ok(Caller(scope)),
        Err(ApiKeyError::InvalidKey) => {
            tracing::info!(api_key_id = %claims.key_id, "API token of a revoked or deleted key refused");
            Err(ApiFailure::InvalidToken)
        }
        Err(err) => Err(internal(err)),
    }
}

/// The token of the one `Authorization: Bearer <token>` header. A request without the header
/// is [`ApiFailure::MissingToken`]; any other shape is [`ApiFailure::InvalidToken`].
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiFailure> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(if headers.contains_key(header::AUTHORIZATION) {
            ApiFailure::InvalidToken
        } else {
            ApiFailure::MissingToken
        });
    };
    let value = value.to_str().map_err(|_| ApiFailure::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiFailure::InvalidToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiFailure::InvalidToken);
    }
    Ok(token)
}

// ---------------------------------------------------------------------------------------------
// POST /api/v1/auth/token

/// The per-address budget of the token endpoint, on top of the general per-address limit.
#[derive(Clone)]
struct TokenLimit {
    services: Services,
}

impl TokenLimit {
    fn new(services: &Services) -> Self {
        Self {
            services: services.clone(),
        }
    }
}

/// Fails closed: when the counter store is down, keys are not exchanged (as logins are not).
async fn limit_token_requests(
    State(limit): State<TokenLimit>,
    request: Request,
    next: Next,
) -> Response {
    let ip = rate_limit::client_ip(&request, limit.services.config.trusted_proxy_hops);
    let key = match ip {
        Some(ip) => format!("api-token:ip:{ip}"),
        None => "api-token:ip:unknown".to_owned(),
    };
    let quota = Quota::new(TOKEN_REQUESTS_PER_IP_PER_MINUTE, Duration::from_secs(60));
    match limit.services.rate_limiter.check(&key, quota).await {
        Ok(Decision::Allowed { .. }) => next.run(request).await,
        Ok(Decision::Limited { retry_after }) => rate_limit::too_many_requests(retry_after),
        Err(err) => {
            tracing::error!(error = %err, "rate limit store failed; token request refused");
            let (code, message) = super::error::describe(StatusCode::SERVICE_UNAVAILABLE);
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message).into_response()
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    api_key: String,
    #[serde(default)]
    scope: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("api_key", &"[redacted]")
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

async fn token(
    State(state): State<AppState>,
    body: Result<Json<serde_json::Map<String, serde_json::Value>>, JsonRejection>,
) -> Response {
    // Read as an object first: serde would also fill the struct from a JSON array.
    let request = match body {
        Ok(Json(object)) => serde_json::from_value::<TokenRequest>(object.into()),
        Err(rejection) => return json_rejection(rejection),
    };
    let Ok(request) = request else {
        return bad_body(StatusCode::BAD_REQUEST);
    };
    let Ok(requested) = parse_scope_param(request.scope.as_deref()) else {
        return invalid_scope();
    };
    let services = &state.services;
    let now = services.clock.now();
    let issued = match api_keys::authenticate(&services.db, &request.api_key, now).await {
        Ok(scope) => api_keys::issue_token(
            &services.config.signing_keys,
            &services.origin,
            &scope,
            requested.as_ref(),
            now,
        ),
        Err(err) => Err(err),
    };
    let issued = match issued {
        Ok(issued) => issued,
        Err(ApiKeyError::InvalidKey) => {
            tracing::info!("API token request with an invalid key refused");
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The API key is invalid or has been revoked.",
            )
            .into_response();
        }
        Err(ApiKeyError::InvalidScope) => return invalid_scope(),
        Err(err) => return internal(err).into_response(),
    };
    let body = TokenResponse {
        access_token: issued.token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: ApiScope::format_list(&issued.scopes),
    };
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (HeaderName::from_static("pragma"), "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

/// The optional `scope` parameter: absent or blank means all of the key's scopes. An unknown
/// scope (or an absurdly long parameter) is an error.
fn parse_scope_param(scope: Option<&str>) -> Result<Option<BTreeSet<ApiScope>>, ()> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    if scope.len() > MAX_SCOPE_PARAM_LEN {
        return Err(());
    }
    ApiScope::parse_list(scope).map(Some).map_err(|_| ())
}

fn invalid_scope() -> Response {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_scope",
        "The requested scope is unknown or not granted to this API key.",
    )
    .into_response()
}

/// Body problems in the public shape: not JSON → 415, JSON of the wrong shape (unknown or
/// missing fields included) → 400, too large → 413. The parser's own words, which would
/// echo the client's input, stay out of the answer.
fn json_rejection(rejection: JsonRejection) -> Response {
    bad_body(match rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
            StatusCode::BAD_REQUEST
        }
        JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        other => other.status(),
    })
}

fn bad_body(status: StatusCode) -> Response {
    let (code, message) = super::error::describe(status);
    let message = match status {
        StatusCode::BAD_REQUEST => {
            "The body must be a JSON object with \"api_key\" and optionally \"scope\", nothing else."
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Send the body as application/json.",
        _ => message,
    };
    ApiError::new(status, code, message).into_response()
}

// ---------------------------------------------------------------------------------------------
// Resources

#[derive(Serialize)]
struct OrganizationBody {
    id: Uuid,
    name: String,
}

/// `GET /api/v1/organization`: the key's organization (scope `organization:read`).
async fn organization(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<OrganizationBody>, ApiFailure> {
    let scope = caller.require(Permission::ViewOrganization, ApiScope::OrganizationRead)?;
    let organization = organization::Entity::find_by_id(scope.organization_id())
        .one(&state.services.db)
        .await?
        .ok_or(ApiFailure::NotFound)?;
    Ok(Json(OrganizationBody {
        id: organization.id,
        name: organization.name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(header::AUTHORIZATION, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def.ghi"])).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(bearer_token(&headers(&["bearer abc"])).unwrap(), "abc");
        assert!(matches!(
            bearer_token(&HeaderMap::new()),
            Err(ApiFailure::MissingToken)
        ));
        for bad in [
            &["Basic dXNlcjpwdw=="][..],
            &["Bearer"],
            &["Bearer  "],
            &["abc.def.ghi"],
            &["Bearer a", "Bearer b"],
        ] {
            assert!(
                matches!(bearer_token(&headers(bad)), Err(ApiFailure::InvalidToken)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn scope_parameters_are_optional_but_strict() {
        assert_eq!(parse_scope_param(None).unwrap(), None);
        assert_eq!(parse_scope_param(Some("  ")).unwrap(), None);
        assert_eq!(
            parse_scope_param(Some("catalog:read")).unwrap(),
            Some(ApiScope::parse_list("catalog:read").unwrap())
        );
        assert!(parse_scope_param(Some("catalog:read admin")).is_err());
        assert!(parse_scope_param(Some(&"catalog:read ".repeat(40))).is_err());
    }
}
