//! Authorization: Seller Central's consent page (website authorization workflow) and Login with
//! Amazon's token endpoint.
//!
//! Consent: `GET /apps/authorize/consent?application_id&state[&version=beta][&redirect_uri]`
//! shows the page; Confirm redirects to the redirect URI (the one given if registered, else the
//! first registered) with `state`, `selling_partner_id` and `spapi_oauth_code` (valid 5 minutes).
//! Seller Central's error codes: MD1000 (application not found, or a draft app without
//! `version=beta`), MD5101 (redirect URI not registered), MD9100 (no redirect URI registered).
//!
//! Token: `POST /auth/o2/token`, form-encoded (as the docs show) or JSON (as Amazon's own SDKs
//! send it), grants `authorization_code`, `refresh_token` and `client_credentials` (grantless).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::Amazon;
use crate::common::html::{Lang, escape, page};
use crate::common::tokens::{CodeGrant, Issued, TokenPolicy};

const CODE_TTL_SECS: i64 = 300;
const GRANTLESS_SCOPES: &[&str] = &[
    "sellingpartnerapi::notifications",
    "sellingpartnerapi::client_credential:rotation",
];

/// LWA: `Atza|` access tokens for an hour, `Atzr|` refresh tokens with no expiry (the seller
/// re-authorizes yearly, which the sandbox does not enforce) and no rotation.
fn seller_policy() -> TokenPolicy {
    TokenPolicy {
        access_prefix: "Atza|".into(),
        access_ttl: Some(Duration::seconds(3600)),
        refresh_prefix: Some("Atzr|".into()),
        refresh_ttl: None,
        rotate_refresh: false,
    }
}

/// Grantless tokens (`client_credentials`) start with `Atc|` and have no refresh token.
fn grantless_policy() -> TokenPolicy {
    TokenPolicy {
        access_prefix: "Atc|".into(),
        access_ttl: Some(Duration::seconds(3600)),
        refresh_prefix: None,
        refresh_ttl: None,
        rotate_refresh: false,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentQuery {
    application_id: Option<String>,
    state: Option<String>,
    version: Option<String>,
    redirect_uri: Option<String>,
    /// Only on the form post: `confirm` or `cancel`.
    decision: Option<String>,
}

/// Seller Central's error page.
fn error_page(lang: Lang, code: &str, en: &str, de: &str) -> Response {
    let body = format!(
        "<h1>{title}</h1><section class=\"card\"><p class=\"error\" role=\"alert\">{text}</p>\
         <p>{label}: <strong>{code}</strong></p></section>",
        title = lang.t(
            "We're sorry, something went wrong",
            "Es tut uns leid, ein Fehler ist aufgetreten"
        ),
        text = escape(lang.t(en, de)),
        label = lang.t("Error Code", "Fehlercode"),
        code = escape(code),
    );
    // [U] Seller Central's status code for these pages is not documented; 400 here.
    (StatusCode::BAD_REQUEST, page(lang, "Seller Central", &body)).into_response()
}

/// Checks the authorization request; Ok: the redirect URI to use.
fn check(amazon: &Amazon, lang: Lang, query: &ConsentQuery) -> Result<String, Response> {
    let app = amazon.app();
    let registered_id = app.extra("application_id").unwrap_or_default();
    let given = query.application_id.as_deref().unwrap_or_default();
    let beta_ok = !amazon.options().draft_app || query.version.as_deref() == Some("beta");
    if given.is_empty() || given != registered_id || !beta_ok {
        return Err(error_page(
            lang,
            "MD1000",
            "The application could not be found. Check the application_id (and version=beta for draft apps).",
            "Die Anwendung wurde nicht gefunden. Prüfe application_id (und version=beta bei Entwurfs-Apps).",
        ));
    }
    let Some(first) = app.redirect_uris.first() else {
        return Err(error_page(
            lang,
            "MD9100",
            "The application has no OAuth redirect URI configured.",
            "Für die Anwendung ist keine OAuth-Weiterleitungs-URI hinterlegt.",
        ));
    };
    match query.redirect_uri.as_deref().filter(|r| !r.is_empty()) {
        None => Ok(first.clone()),
        Some(uri) if app.redirect_uris.iter().any(|r| r == uri) => Ok(uri.to_owned()),
        Some(_) => Err(error_page(
            lang,
            "MD5101",
            "The redirect_uri is not one of the application's registered OAuth redirect URIs.",
            "Die redirect_uri gehört nicht zu den registrierten OAuth-Weiterleitungs-URIs der Anwendung.",
        )),
    }
}

/// Seller Central redirects with 302 Found.
fn found(to: &str) -> Response {
    (
        StatusCode::FOUND,
        [(axum::http::header::LOCATION, to.to_owned())],
    )
        .into_response()
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

pub async fn consent_page(
    State(amazon): State<Arc<Amazon>>,
    headers: HeaderMap,
    Query(query): Query<ConsentQuery>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if let Err(page) = check(&amazon, lang, &query) {
        return page;
    }
    let (seller_id, seller_name) = {
        let state = amazon.lock();
        (state.seller_id.clone(), state.seller_name.clone())
    };
    let hidden = |name: &str, value: &Option<String>| {
        value.as_deref().map_or(String::new(), |v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
    };
    let body = format!(
        "<h1>Seller Central — {title}</h1>\
         <section class=\"card\"><p>{signed_in}: <strong>{seller_name}</strong> ({seller_id})</p>\
         <p>{asks}</p><p>{app_label}: <code>{app_id}</code></p>\
         <form method=\"post\" action=\"{base}/apps/authorize/consent\">{h1}{h2}{h3}{h4}\
         <button type=\"submit\" name=\"decision\" value=\"confirm\">{confirm}</button> \
         <button type=\"submit\" name=\"decision\" value=\"cancel\" class=\"secondary\">{cancel}</button>\
         </form></section>",
        title = lang.t("Authorize application", "Anwendung autorisieren"),
        signed_in = lang.t("Signed in as", "Angemeldet als"),
        seller_name = escape(&seller_name),
        seller_id = escape(&seller_id),
        asks = lang.t(
            "This application asks for access to your Selling Partner API data (listings, orders, shipments).",
            "Diese Anwendung bittet um Zugriff auf deine Selling-Partner-API-Daten (Angebote, Bestellungen, Sendungen)."
        ),
        app_label = lang.t("Application ID", "Anwendungs-ID"),
        app_id = escape(query.application_id.as_deref().unwrap_or_default()),
        base = escape(&amazon.context.base_url),
        h1 = hidden("application_id", &query.application_id),
        h2 = hidden("state", &query.state),
        h3 = hidden("version", &query.version),
        h4 = hidden("redirect_uri", &query.redirect_uri),
        confirm = lang.t("Confirm", "Bestätigen"),
        cancel = lang.t("Cancel", "Abbrechen"),
    );
    page(lang, "Seller Central", &body).into_response()
}

pub async fn consent_decision(
    State(amazon): State<Arc<Amazon>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    let query: ConsentQuery = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let redirect_uri = match check(&amazon, lang, &query) {
        Ok(uri) => uri,
        Err(page) => return page,
    };
    let state = query.state.clone().unwrap_or_default();
    if query.decision.as_deref() != Some("confirm") {
        if amazon.options().cancel_redirects {
            let to = with_query(
                &redirect_uri,
                &[("error", "access_denied"), ("state", &state)],
            );
            return found(&to);
        }
        let body = format!(
            "<h1>Seller Central</h1><section class=\"card\"><p role=\"status\">{}</p></section>",
            lang.t(
                "You did not authorize the application. No access was granted.",
                "Du hast die Anwendung nicht autorisiert. Es wurde kein Zugriff gewährt."
            )
        );
        return page(lang, "Seller Central", &body).into_response();
    }
    let client_id = amazon.app().client_id;
    let now = amazon.now();
    let (code, seller_id) = {
        let mut s = amazon.lock();
        let seller_id = s.seller_id.clone();
        let code = s.tokens.issue_code(
            "AN",
            CodeGrant {
                client_id,
                redirect_uri: redirect_uri.clone(),
                subject: seller_id.clone(),
                scopes: Vec::new(),
                code_challenge: None,
                expires_at: now + Duration::seconds(CODE_TTL_SECS),
                used: false,
            },
        );
        (code, seller_id)
    };
    let to = with_query(
        &redirect_uri,
        &[
            ("state", &state),
            ("selling_partner_id", &seller_id),
            ("spapi_oauth_code", &code),
        ],
    );
    found(&to)
}

/// LWA's error body.
fn lwa_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error_description": description, "error": error })),
    )
        .into_response()
}

fn missing(name: &str) -> Response {
    lwa_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("The request is missing a required parameter : {name}"),
    )
}

fn invalid_grant(parameter: &str) -> Response {
    lwa_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        &format!("The request has an invalid grant parameter : {parameter}"),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenRequest {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

fn issued_json(issued: &Issued, with_refresh: bool) -> Response {
    let mut body = json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in.unwrap_or(3600),
    });
    if with_refresh && let Some(refresh) = &issued.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    Json(body).into_response()
}

pub async fn token(State(amazon): State<Arc<Amazon>>, headers: HeaderMap, body: Bytes) -> Response {
    let json_body = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
    let parsed: Option<TokenRequest> = if json_body {
        serde_json::from_slice(&body).ok()
    } else {
        serde_urlencoded::from_bytes(&body).ok()
    };
    let Some(request) = parsed else {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request has an invalid parameter",
        );
    };
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let Some(grant_type) = nonempty(&request.grant_type) else {
        return missing("grant_type");
    };
    if !matches!(
        grant_type.as_str(),
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return lwa_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        );
    }
    let Some(client_id) = nonempty(&request.client_id) else {
        return missing("client_id");
    };
    let Some(client_secret) = nonempty(&request.client_secret) else {
        return missing("client_secret");
    };
    let app = amazon.app();
    if client_id != app.client_id
        || !crate::common::sign::constant_time_eq(&client_secret, &app.client_secret)
    {
        return lwa_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        );
    }
    let now = amazon.now();
    match grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = nonempty(&request.code) else {
                return missing("code");
            };
            let Some(redirect_uri) = nonempty(&request.redirect_uri) else {
                return missing("redirect_uri");
            };
            let mut state = amazon.lock();
            let Ok(grant) = state.tokens.redeem_code(&code, now) else {
                return invalid_grant("code");
            };
            if grant.client_id != client_id {
                return invalid_grant("code");
            }
            // [U] LWA's wording for a redirect URI that differs from the authorization's.
            if grant.redirect_uri != redirect_uri {
                return invalid_grant("redirect_uri");
            }
            let issued = state.tokens.issue(
                &seller_policy(),
                &client_id,
                &grant.subject,
                &[],
                &code,
                now,
            );
            issued_json(&issued, true)
        }
        "refresh_token" => {
            let Some(refresh) = nonempty(&request.refresh_token) else {
                return missing("refresh_token");
            };
            let issued = amazon
                .lock()
                .tokens
                .refresh(&seller_policy(), &refresh, &client_id, now);
            match issued {
                Ok(issued) => issued_json(&issued, amazon.options().refresh_returns_refresh_token),
                Err(_) => invalid_grant("refresh_token"),
            }
        }
        _ => {
            let Some(scope) = nonempty(&request.scope) else {
                return missing("scope");
            };
            if !GRANTLESS_SCOPES.contains(&scope.as_str()) {
                return lwa_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "An unknown scope was requested",
                );
            }
            let family = format!("grantless-{}", uuid::Uuid::new_v4());
            let issued = amazon.lock().tokens.issue(
                &grantless_policy(),
                &client_id,
                "",
                std::slice::from_ref(&scope),
                &family,
                now,
            );
            Json(json!({
                "access_token": issued.access_token,
                "scope": scope,
                "token_type": "bearer",
                "expires_in": issued.expires_in.unwrap_or(3600),
            }))
            .into_response()
        }
    }
}
