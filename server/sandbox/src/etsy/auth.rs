//! Etsy's OAuth 2.0 authorization-code grant with mandatory PKCE (S256): the consent page at
//! `/oauth/connect`, the token endpoint `/v3/public/oauth/token` (authorization_code and
//! refresh_token grants) and the bearer check for scoped endpoints.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Etsy, User, error};
use crate::common::faults::Injected;
use crate::common::html::{Lang, escape, page};
use crate::common::tokens::{CodeError, CodeGrant, Issued, TokenError, TokenPolicy};

/// The scopes Etsy knows.
const SCOPES: &[&str] = &[
    "address_r",
    "address_w",
    "billing_r",
    "cart_r",
    "cart_w",
    "email_r",
    "favorites_r",
    "favorites_w",
    "feedback_r",
    "listings_d",
    "listings_r",
    "listings_w",
    "profile_r",
    "profile_w",
    "recommend_r",
    "recommend_w",
    "shops_r",
    "shops_w",
    "transactions_r",
    "transactions_w",
];

/// Access tokens live one hour at Etsy.
const ACCESS_TTL_SECS: i64 = 3600;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConnectQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Consent form only: the demo member signing in, and the button pressed.
    login: Option<String>,
    decision: Option<String>,
}

/// Etsy's own error page, shown when the request cannot be sent back to the app.
fn error_page(lang: Lang, message_en: &str, message_de: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p>",
        lang.t("An error occurred", "Ein Fehler ist aufgetreten"),
        escape(lang.t(message_en, message_de)),
    );
    (StatusCode::BAD_REQUEST, page(lang, "Etsy — error", &body)).into_response()
}

/// Etsy answers the consent decision with 302 Found.
fn found(url: &str) -> Response {
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, url.to_owned())],
    )
        .into_response()
}

fn redirect_error(redirect_uri: &str, error: &str, description: &str, state: &str) -> Response {
    let query = serde_urlencoded::to_string([
        ("error", error),
        ("error_description", description),
        ("state", state),
    ])
    .unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    found(&format!("{redirect_uri}{sep}{query}"))
}

/// Validates an authorization request. Problems with the client or the redirect URI get Etsy's
/// error page (nothing may be sent to an unverified URI); everything else goes back to the app
/// as `error=…` on the redirect URI, as RFC 6749 §4.1.2.1 says.
fn validate(etsy: &Etsy, q: &ConnectQuery, lang: Lang) -> Result<(String, Vec<String>), Response> {
    let app = etsy.app();
    let client_id = q.client_id.as_deref().unwrap_or("");
    if client_id.is_empty() || client_id != app.client_id {
        return Err(error_page(
            lang,
            "The application that is requesting authorization is not recognized.",
            "Die Anwendung, die um Zugriff bittet, ist nicht bekannt.",
        ));
    }
    let redirect_uri = q.redirect_uri.clone().unwrap_or_default();
    if !app.redirect_uris.contains(&redirect_uri) {
        return Err(error_page(
            lang,
            "The requested redirect URL is not permitted.",
            "Die angeforderte Weiterleitungsadresse ist nicht erlaubt.",
        ));
    }
    let state = q.state.as_deref().unwrap_or("");
    if q.response_type.as_deref() != Some("code") {
        return Err(redirect_error(
            &redirect_uri,
            "unsupported_response_type",
            "response_type must be code",
            state,
        ));
    }
    if state.is_empty() {
        return Err(redirect_error(
            &redirect_uri,
            "invalid_request",
            "state is required",
            state,
        ));
    }
    let challenge = q.code_challenge.as_deref().unwrap_or("");
    if challenge.is_empty() {
        return Err(redirect_error(
            &redirect_uri,
            "invalid_request",
            "code_challenge is required",
            state,
        ));
    }
    if q.code_challenge_method.as_deref() != Some("S256") {
        return Err(redirect_error(
            &redirect_uri,
            "invalid_request",
            "code_challenge_method must be S256",
            state,
        ));
    }
    let scopes: Vec<String> = q
        .scope
        .as_deref()
        .unwrap_or("")
        .split([' ', '+'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(redirect_error(
            &redirect_uri,
            "invalid_scope",
            "scope is invalid",
            state,
        ));
    }
    Ok((redirect_uri, scopes))
}

/// `GET /oauth/connect`: the "Allow access" page.
pub async fn connect(
    State(etsy): State<Arc<Etsy>>,
    headers: HeaderMap,
    Query(q): Query<ConnectQuery>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let (_, scopes) = match validate(&etsy, &q, lang) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let hidden = |name: &str, value: &Option<String>| {
        format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value.as_deref().unwrap_or(""))
        )
    };
    let fields: String = [
        hidden("response_type", &q.response_type),
        hidden("client_id", &q.client_id),
        hidden("redirect_uri", &q.redirect_uri),
        hidden("scope", &q.scope),
        hidden("state", &q.state),
        hidden("code_challenge", &q.code_challenge),
        hidden("code_challenge_method", &q.code_challenge_method),
    ]
    .concat();
    let scope_items: String = scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let body = format!(
        "<h1>{title}</h1><section class=\"card\"><p>{intro}</p><ul>{scope_items}</ul>\
         <form method=\"post\" action=\"{base}/oauth/connect\">{fields}\
         <label>{login} <input name=\"login\" value=\"demo_seller\"></label>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">{allow}</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">{deny}</button>\
         </form></section>",
        title = lang.t("Allow access", "Zugriff erlauben"),
        intro = lang.t(
            "An app wants to access your Etsy account and shop with these permissions:",
            "Eine App möchte mit diesen Berechtigungen auf dein Etsy-Konto und deinen Shop zugreifen:"
        ),
        base = escape(&etsy.context.base_url),
        login = lang.t("Signed in as (demo member)", "Angemeldet als (Demo-Mitglied)"),
        allow = lang.t("Allow access", "Zugriff erlauben"),
        deny = lang.t("Deny", "Ablehnen"),
    );
    page(lang, "Etsy — Allow access", &body).into_response()
}

/// `POST /oauth/connect`: the member pressed Allow or Deny.
pub async fn decide(State(etsy): State<Arc<Etsy>>, headers: HeaderMap, body: Bytes) -> Response {
    let lang = Lang::from_headers(&headers);
    let Ok(q) = serde_urlencoded::from_bytes::<ConnectQuery>(&body) else {
        return error_page(
            lang,
            "The request is malformed.",
            "Die Anfrage ist fehlerhaft.",
        );
    };
    let (redirect_uri, scopes) = match validate(&etsy, &q, lang) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let state = q.state.clone().unwrap_or_default();
    if q.decision.as_deref() != Some("allow") {
        return redirect_error(
            &redirect_uri,
            "access_denied",
            "The user denied the request",
            &state,
        );
    }
    let login = q
        .login
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or("demo_seller")
        .chars()
        .take(40)
        .collect::<String>();
    let now = etsy.context.controls.clock.now();
    let code = {
        let mut st = etsy.st();
        let user_id = match st.users.values().find(|u| u.login == login) {
            Some(user) => user.user_id,
            None => {
                let user_id = st.id() % 1_000_000_000;
                let shop_id = st.id() % 100_000_000;
                let shop_name = format!(
                    "{}Shop",
                    login
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                );
                st.users.insert(
                    user_id,
                    User {
                        user_id,
                        login: login.clone(),
                        shop_id,
                        shop_name,
                        email: format!("{user_id}@sandbox.example.com"),
                        created: now.timestamp(),
                    },
                );
                user_id
            }
        };
        let ttl = st.options.code_ttl_secs;
        st.tokens.issue_code(
            "",
            CodeGrant {
                client_id: q.client_id.clone().unwrap_or_default(),
                redirect_uri: redirect_uri.clone(),
                subject: user_id.to_string(),
                scopes,
                code_challenge: q.code_challenge.clone(),
                expires_at: now + Duration::seconds(ttl),
                used: false,
            },
        )
    };
    let query = serde_urlencoded::to_string([("code", code.as_str()), ("state", state.as_str())])
        .unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    found(&format!("{redirect_uri}{sep}{query}"))
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

fn grant_error(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// Form (what Etsy documents) or JSON (what Etsy's quickstart sends) into string fields.
pub fn body_fields(headers: &HeaderMap, body: &[u8]) -> Option<serde_json::Map<String, Value>> {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json {
        match serde_json::from_slice::<Value>(body).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        let mut map = serde_json::Map::new();
        for (k, v) in pairs {
            let k = k.trim_end_matches("[]").to_owned();
            match map.get_mut(&k) {
                Some(Value::Array(items)) => items.push(Value::String(v)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(v)]);
                }
                None => {
                    map.insert(k, Value::String(v));
                }
            }
        }
        Some(map)
    }
}

fn text<'a>(fields: &'a serde_json::Map<String, Value>, name: &str) -> &'a str {
    fields.get(name).and_then(Value::as_str).unwrap_or("")
}

fn policy(etsy: &Etsy, user_id: &str) -> TokenPolicy {
    let st = etsy.st();
    TokenPolicy {
        access_prefix: format!("{user_id}."),
        access_ttl: Some(Duration::seconds(ACCESS_TTL_SECS)),
        refresh_prefix: Some(format!("{user_id}.")),
        refresh_ttl: Some(Duration::days(st.options.refresh_token_ttl_days)),
        rotate_refresh: st.options.refresh_rotation_invalidates_old,
    }
}

fn issued_json(issued: &Issued) -> Response {
    axum::Json(json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "refresh_token": issued.refresh_token,
    }))
    .into_response()
}

/// `POST /v3/public/oauth/token`.
pub async fn token(State(etsy): State<Arc<Etsy>>, headers: HeaderMap, body: Bytes) -> Response {
    match etsy.context.controls.before_call().await {
        Some(Injected::ServerError) => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error");
        }
        Some(Injected::Throttled) => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "You have exceeded your quota of requests per second.",
            );
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
            return response;
        }
        None => {}
    }
    let Some(fields) = body_fields(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request body is malformed",
        );
    };
    let grant_type = text(&fields, "grant_type");
    if grant_type.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        );
    }
    let client_id = text(&fields, "client_id");
    if client_id.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        );
    }
    if client_id != etsy.app().client_id {
        // [U] Etsy's exact status here is undocumented; RFC 6749 §5.2 says 401 invalid_client.
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client_id is invalid",
        );
    }
    match grant_type {
        "authorization_code" => authorization_code(&etsy, &fields, client_id),
        "refresh_token" => refresh(&etsy, &fields, client_id),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is not supported",
        ),
    }
}

fn authorization_code(
    etsy: &Etsy,
    fields: &serde_json::Map<String, Value>,
    client_id: &str,
) -> Response {
    for name in ["code", "redirect_uri", "code_verifier"] {
        if text(fields, name).is_empty() {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("{name} is required"),
            );
        }
    }
    let code = text(fields, "code");
    let now = etsy.context.controls.clock.now();
    let mut st = etsy.st();
    let Some(grant) = st.tokens.codes.get(code).cloned() else {
        return grant_error("code is invalid");
    };
    if grant.used {
        // Redeeming twice revokes what the first redemption issued.
        let _ = st.tokens.redeem_code(code, now);
        return grant_error("code has already been used");
    }
    if grant.client_id != client_id {
        return grant_error("code was issued to another client");
    }
    if grant.redirect_uri != text(fields, "redirect_uri") {
        return grant_error("redirect_uri does not match");
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(text(fields, "code_verifier").as_bytes()));
    if grant.code_challenge.as_deref() != Some(computed.as_str()) {
        return grant_error("code_verifier is invalid");
    }
    match st.tokens.redeem_code(code, now) {
        Ok(_) => {}
        Err(CodeError::Expired) => return grant_error("code is expired"),
        Err(CodeError::Reused) => return grant_error("code has already been used"),
        Err(CodeError::Unknown) => return grant_error("code is invalid"),
    }
    drop(st);
    let policy = policy(etsy, &grant.subject);
    let issued =
        etsy.st()
            .tokens
            .issue(&policy, client_id, &grant.subject, &grant.scopes, code, now);
    issued_json(&issued)
}

fn refresh(etsy: &Etsy, fields: &serde_json::Map<String, Value>, client_id: &str) -> Response {
    let refresh_token = text(fields, "refresh_token");
    if refresh_token.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "refresh_token is required",
        );
    }
    let subject = refresh_token.split('.').next().unwrap_or("");
    let policy = policy(etsy, subject);
    let now = etsy.context.controls.clock.now();
    let mut st = etsy.st();
    let result = if policy.rotate_refresh {
        st.tokens.refresh(&policy, refresh_token, client_id, now)
    } else {
        // Etsy hands out a new refresh token either way; without invalidation the old one keeps
        // working until it expires.
        match st.tokens.refresh.get(refresh_token).cloned() {
            None => Err(TokenError::Unknown),
            Some(r) if r.client_id != client_id => Err(TokenError::Unknown),
            Some(r) if r.revoked => Err(TokenError::Revoked),
            Some(r) if r.expires_at.is_some_and(|at| now >= at) => Err(TokenError::Expired),
            Some(r) => Ok(st
                .tokens
                .issue(&policy, client_id, &r.subject, &r.scopes, &r.family, now)),
        }
    };
    match result {
        Ok(issued) => issued_json(&issued),
        Err(TokenError::Revoked) => grant_error("refresh_token is revoked"),
        Err(TokenError::Expired) => grant_error("refresh_token is expired"),
        Err(TokenError::Unknown) => grant_error("refresh_token is invalid"),
    }
}

/// The member behind `Authorization: Bearer <user_id>.<token>`, if the token is valid for this
/// app and carries `scope`.
pub fn bearer(etsy: &Etsy, headers: &HeaderMap, scope: &str) -> Result<User, Response> {
    let invalid = |description: &str| {
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({ "error": "invalid_token", "error_description": description })),
        )
            .into_response()
    };
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
    else {
        return Err(invalid("access token is missing"));
    };
    let client_id = etsy.app().client_id;
    let now = etsy.context.controls.clock.now();
    let st = etsy.st();
    let access = match st.tokens.check_access(token, now) {
        Ok(access) => access,
        Err(TokenError::Expired) => return Err(invalid("access token is expired")),
        Err(_) => return Err(invalid("access token is invalid")),
    };
    // The numeric prefix must name the member the token was issued to.
    if access.client_id != client_id || token.split('.').next() != Some(access.subject.as_str()) {
        return Err(invalid("access token is invalid"));
    }
    if !access.scopes.iter().any(|s| s == scope) {
        return Err(oauth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Insufficient scope",
        ));
    }
    let user = access
        .subject
        .parse::<u64>()
        .ok()
        .and_then(|id| st.users.get(&id).cloned());
    user.ok_or_else(|| invalid("access token is invalid"))
}
