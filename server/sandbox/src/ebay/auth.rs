//! eBay OAuth: the consent page at `auth.ebay.com/oauth2/authorize` (sign-in plus "grant
//! application access") and the identity service's token endpoint with its three grants.
//!
//! PKCE is not part of eBay's documented flow ([U]); a `code_challenge` is ignored.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::errors::oauth;
use super::{Ebay, SELLER};
use crate::common::html::{Lang, escape, page};
use crate::common::sign::constant_time_eq;
use crate::common::tokens::{CodeGrant, TokenPolicy};

/// The subject of application (client-credentials) tokens.
pub const APP_SUBJECT: &str = "application";

pub const SCOPE_BASE: &str = "https://api.ebay.com/oauth/api_scope";

/// The scopes the sandbox knows (a subset of eBay's; enough for a selling app).
const SCOPES: &[&str] = &[
    "",
    "/sell.inventory",
    "/sell.inventory.readonly",
    "/sell.fulfillment",
    "/sell.fulfillment.readonly",
    "/sell.account",
    "/sell.account.readonly",
    "/sell.marketing",
    "/sell.marketing.readonly",
    "/sell.analytics.readonly",
    "/sell.finances",
    "/sell.item",
    "/sell.stores",
    "/commerce.identity.readonly",
    "/commerce.notification.subscription",
    "/commerce.notification.subscription.readonly",
];

fn known_scope(scope: &str) -> bool {
    scope
        .strip_prefix(SCOPE_BASE)
        .is_some_and(|rest| SCOPES.contains(&rest))
}

const CODE_PREFIX: &str = "v^1.1#i^1#f^0#I^3#r^1#p^3#t^Ul41XzA6";
const CODE_TTL_SECS: i64 = 299;

fn user_policy() -> TokenPolicy {
    TokenPolicy {
        access_prefix: "v^1.1#i^1#p^3#r^1#I^3#f^0#t^H4sI".into(),
        access_ttl: Some(Duration::seconds(7200)),
        refresh_prefix: Some("v^1.1#i^1#f^0#p^3#I^3#r^1#t^Ul4xMF8".into()),
        // 18 months, as eBay states it: 47,304,000 seconds.
        refresh_ttl: Some(Duration::seconds(47_304_000)),
        rotate_refresh: false,
    }
}

fn app_policy() -> TokenPolicy {
    TokenPolicy {
        access_prefix: "v^1.1#i^1#p^1#r^0#I^3#f^0#t^H4sI".into(),
        access_ttl: Some(Duration::seconds(7200)),
        refresh_prefix: None,
        refresh_ttl: None,
        rotate_refresh: false,
    }
}

pub fn routes() -> Router<Arc<Ebay>> {
    Router::new()
        .route("/oauth2/authorize", get(authorize).post(decide))
        .route("/identity/v1/oauth2/token", post(token))
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Consent {
    client_id: String,
    redirect_uri: String,
    response_type: String,
    scope: String,
    state: Option<String>,
    prompt: Option<String>,
    locale: Option<String>,
    /// On the form post only.
    decision: Option<String>,
    username: Option<String>,
}

/// What is wrong with a consent request, if anything.
fn check_consent(
    ebay: &Ebay,
    q: &Consent,
) -> Result<Vec<String>, (StatusCode, &'static str, String)> {
    let app = ebay.app();
    if q.client_id.is_empty() || q.client_id != app.client_id {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "The client_id is not registered (unknown OAuth client).".into(),
        ));
    }
    let ru_name = app.extra("ru_name").unwrap_or("");
    if q.redirect_uri.is_empty() || q.redirect_uri != ru_name {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The redirect_uri must be the RuName registered for this client_id.".into(),
        ));
    }
    if q.response_type != "code" {
        return Err((
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "The response_type must be code.".into(),
        ));
    }
    let scopes: Vec<String> = q.scope.split_whitespace().map(str::to_owned).collect();
    if scopes.is_empty() || !scopes.iter().all(|s| known_scope(s)) {
        return Err((
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client.".into(),
        ));
    }
    Ok(scopes)
}

fn consent_error(ebay: &Ebay, lang: Lang, status: StatusCode, error: &str, text: &str) -> Response {
    if ebay.options().authorize_errors == "page" {
        let body = format!(
            "<h1>{}</h1><p class=\"error\" role=\"alert\"><code>{}</code>: {}</p>",
            lang.t("Something went wrong", "Etwas ist schiefgelaufen"),
            escape(error),
            escape(text)
        );
        return (status, page(lang, "eBay", &body)).into_response();
    }
    oauth(status, error, text)
}

async fn authorize(
    State(ebay): State<Arc<Ebay>>,
    headers: HeaderMap,
    Query(q): Query<Consent>,
) -> Response {
    let lang = match q.locale.as_deref() {
        Some(l) if l.to_ascii_lowercase().starts_with("de") => Lang::De,
        Some(l) if !l.is_empty() => Lang::En,
        _ => Lang::from_headers(&headers),
    };
    let scopes = match check_consent(&ebay, &q) {
        Ok(scopes) => scopes,
        Err((status, error, text)) => return consent_error(&ebay, lang, status, error, &text),
    };
    Html(consent_page(&ebay, lang, &q, &scopes).0).into_response()
}

fn consent_page(ebay: &Ebay, lang: Lang, q: &Consent, scopes: &[String]) -> Html<String> {
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        )
    };
    let scope_list: String = scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let app = ebay.app();
    let body = format!(
        "<h1>eBay</h1>\
         <form method=\"post\" action=\"{base}/oauth2/authorize\">\
         <section class=\"card\"><h2>{signin}</h2>\
         <label>{user} <input name=\"username\" value=\"{SELLER}\" autocomplete=\"username\"></label>\
         <label>{pass} <input name=\"password\" type=\"password\" value=\"sandbox\"></label></section>\
         <section class=\"card\"><h2>{grant}</h2>\
         <p>{intro} <strong>{client}</strong></p><ul>{scope_list}</ul>\
         {h1}{h2}{h3}{h4}{h5}{h6}{h7}\
         <button type=\"submit\" name=\"decision\" value=\"agree\">{agree}</button> \
         <button type=\"submit\" name=\"decision\" value=\"decline\" class=\"secondary\">{decline}</button>\
         </section></form>",
        base = escape(&ebay.context.base_url),
        signin = lang.t("Sign in to eBay", "Bei eBay einloggen"),
        user = lang.t("Email or username", "E-Mail oder Mitgliedsname"),
        pass = lang.t("Password", "Passwort"),
        grant = lang.t(
            "Grant application access",
            "Zugriff für die Anwendung erlauben"
        ),
        intro = lang.t(
            "This application wants to access your eBay account:",
            "Diese Anwendung möchte auf Ihr eBay-Konto zugreifen:"
        ),
        client = escape(&app.client_id),
        h1 = hidden("client_id", &q.client_id),
        h2 = hidden("redirect_uri", &q.redirect_uri),
        h3 = hidden("response_type", &q.response_type),
        h4 = hidden("scope", &q.scope),
        h5 = hidden("state", q.state.as_deref().unwrap_or("")),
        h6 = hidden("prompt", q.prompt.as_deref().unwrap_or("")),
        h7 = hidden("locale", q.locale.as_deref().unwrap_or("")),
        agree = lang.t("Agree", "Zustimmen"),
        decline = lang.t("No thanks", "Nein danke"),
    );
    page(lang, "eBay", &body)
}

/// eBay answers the consent with a 302.
fn found(target: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, target.to_owned())]).into_response()
}

fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// The consent form: "Agree" sends the seller to the accept URL with a code, "No thanks" to the
/// declined URL (`redirect_uris[1]`, or the accept URL with `error=access_denied` when the app
/// registered only one).
async fn decide(State(ebay): State<Arc<Ebay>>, headers: HeaderMap, body: Bytes) -> Response {
    let q: Consent = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let lang = Lang::from_headers(&headers);
    let scopes = match check_consent(&ebay, &q) {
        Ok(scopes) => scopes,
        Err((status, error, text)) => return consent_error(&ebay, lang, status, error, &text),
    };
    let app = ebay.app();
    let Some(accept) = app.redirect_uris.first().cloned() else {
        return consent_error(
            &ebay,
            lang,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The RuName has no auth accepted URL.",
        );
    };
    let state = q.state.clone().unwrap_or_default();
    if q.decision.as_deref() != Some("agree") {
        let target = match app.redirect_uris.get(1) {
            Some(declined) => with_query(declined, &[("state", &state)]),
            None => with_query(&accept, &[("state", &state), ("error", "access_denied")]),
        };
        return found(&target);
    }
    let subject = q
        .username
        .filter(|u| !u.trim().is_empty())
        .map_or_else(|| SELLER.to_owned(), |u| u.trim().to_owned());
    let now = ebay.now();
    let code = ebay.state().tokens.issue_code(
        CODE_PREFIX,
        CodeGrant {
            client_id: app.client_id.clone(),
            redirect_uri: q.redirect_uri.clone(),
            subject,
            scopes,
            code_challenge: None,
            expires_at: now + Duration::seconds(CODE_TTL_SECS),
            used: false,
        },
    );
    let target = with_query(
        &accept,
        &[
            ("state", &state),
            ("code", &code),
            ("expires_in", &CODE_TTL_SECS.to_string()),
        ],
    );
    found(&target)
}

const INVALID_CODE: &str =
    "the provided authorization grant code is invalid or was issued to another client";
const INVALID_REFRESH: &str =
    "the provided authorization refresh token is invalid or was issued to another client";
const MALFORMED: &str = "request is missing a required parameter or malformed.";

fn client_failed() -> Response {
    oauth(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}

/// `POST /identity/v1/oauth2/token` with HTTP Basic client authentication.
async fn token(State(ebay): State<Arc<Ebay>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(injected) = ebay.context.controls.before_call().await {
        return match injected {
            crate::common::faults::Injected::ServerError => oauth(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "There was an internal error in the server while processing the request",
            ),
            crate::common::faults::Injected::Throttled => {
                super::errors::too_many_requests(ebay.options().retry_after_secs)
            }
        };
    }
    let app = ebay.app();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) else {
        return client_failed();
    };
    if id != app.client_id || !constant_time_eq(secret, &app.client_secret) {
        return client_failed();
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return oauth(StatusCode::BAD_REQUEST, "invalid_request", MALFORMED);
    };
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let now = ebay.now();
    let Some(grant_type) = get("grant_type") else {
        return oauth(StatusCode::BAD_REQUEST, "invalid_request", MALFORMED);
    };
    match grant_type {
        "authorization_code" => {
            let (Some(code), Some(redirect_uri)) = (get("code"), get("redirect_uri")) else {
                return oauth(StatusCode::BAD_REQUEST, "invalid_request", MALFORMED);
            };
            if !ebay.take_quota("authorization_code") {
                return super::errors::too_many_requests(ebay.options().retry_after_secs);
            }
            let mut state = ebay.state();
            let grant = match state.tokens.redeem_code(code, now) {
                Ok(grant) => grant,
                Err(_) => return oauth(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_CODE),
            };
            if grant.client_id != app.client_id || grant.redirect_uri != redirect_uri {
                return oauth(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_CODE);
            }
            let issued = state.tokens.issue(
                &user_policy(),
                &app.client_id,
                &grant.subject,
                &grant.scopes,
                code,
                now,
            );
            axum::Json(json!({
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
                "refresh_token": issued.refresh_token,
                "refresh_token_expires_in": issued.refresh_expires_in,
                "token_type": "User Access Token",
            }))
            .into_response()
        }
        "refresh_token" => {
            let Some(refresh) = get("refresh_token") else {
                return oauth(StatusCode::BAD_REQUEST, "invalid_request", MALFORMED);
            };
            if !ebay.take_quota("refresh_token") {
                return super::errors::too_many_requests(ebay.options().retry_after_secs);
            }
            let mut state = ebay.state();
            let granted = match state.tokens.refresh.get(refresh) {
                Some(r) => r.scopes.clone(),
                None => {
                    return oauth(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_REFRESH);
                }
            };
            // The scopes asked for must be the ones granted at consent, or a subset.
            let asked: Vec<String> = get("scope")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_else(|| granted.clone());
            if asked.iter().any(|s| !granted.contains(s)) {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client",
                );
            }
            let issued = match state
                .tokens
                .refresh(&user_policy(), refresh, &app.client_id, now)
            {
                Ok(issued) => issued,
                Err(_) => {
                    return oauth(StatusCode::BAD_REQUEST, "invalid_grant", INVALID_REFRESH);
                }
            };
            if let Some(access) = state.tokens.access.get_mut(&issued.access_token) {
                access.scopes = asked;
            }
            axum::Json(json!({
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
                "token_type": "User Access Token",
            }))
            .into_response()
        }
        "client_credentials" => {
            let Some(scope) = get("scope") else {
                return oauth(StatusCode::BAD_REQUEST, "invalid_request", MALFORMED);
            };
            let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
            if !scopes.iter().all(|s| s == SCOPE_BASE || known_scope(s)) {
                return oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "The requested scope is invalid, unknown, malformed, or exceeds the scope granted to the client",
                );
            }
            if !ebay.take_quota("client_credentials") {
                return super::errors::too_many_requests(ebay.options().retry_after_secs);
            }
            let issued = ebay.state().tokens.issue(
                &app_policy(),
                &app.client_id,
                APP_SUBJECT,
                &scopes,
                "client_credentials",
                now,
            );
            axum::Json(json!({
                "access_token": issued.access_token,
                "expires_in": issued.expires_in,
                "token_type": "Application Access Token",
            }))
            .into_response()
        }
        _ => oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant type in request is not supported by the authorization server",
        ),
    }
}
