//! Installing the app (authorization code grant) and the token endpoint.
//!
//! `GET {shop}/admin/oauth/authorize` shows the install page; Install redirects to the
//! redirect_uri with `code, hmac, host, shop, state, timestamp`, where `hmac` is the lowercase
//! hex HMAC-SHA256 (client secret) of the other parameters sorted and joined as `k=v&…`
//! (form-encoded the way the SDK's URLSearchParams encodes them, spaces as `%20`).
//! `POST {shop}/admin/oauth/access_token` exchanges the code (or a refresh token) for an expiring
//! offline token: 1 h access token, 90-day refresh token replaced on every refresh.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use chrono::Duration;
use serde::Deserialize;
use serde_json::json;

use super::{Shopify, page};
use crate::common::html::Lang;
use crate::common::sign::{constant_time_eq, hmac_sha256_hex};
use crate::common::tokens::{CodeGrant, TokenError, TokenPolicy};

/// Expiring offline tokens: 1 h access, 90-day rotating refresh.
pub fn policy() -> TokenPolicy {
    TokenPolicy {
        access_prefix: "shpat_".into(),
        access_ttl: Some(Duration::hours(1)),
        refresh_prefix: Some("shprt_".into()),
        refresh_ttl: Some(Duration::days(90)),
        rotate_refresh: true,
    }
}

/// The Shopify SDK's shop check: `^[a-zA-Z0-9][a-zA-Z0-9-_]*\.(myshopify\.com|shopify\.com|myshopify\.io)$`.
pub fn valid_shop(shop: &str) -> bool {
    let shop = shop.trim_end_matches('/');
    let Some((name, domain)) = shop.split_once('.') else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && ["myshopify.com", "shopify.com", "myshopify.io"].contains(&domain)
}

/// `admin.shopify.com/store/{name}` in base64, as Shopify's `host` parameter carries it.
pub fn host_param(shop: &str) -> String {
    let name = shop.split('.').next().unwrap_or(shop);
    base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(format!("admin.shopify.com/store/{name}"))
}

/// The message Shopify signs: parameters (without `hmac`/`signature`) sorted by key,
/// form-encoded, joined with `&`, spaces as `%20`.
pub fn hmac_message(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "hmac" && k.as_str() != "signature")
        .map(|(k, v)| {
            serde_urlencoded::to_string([(k, v)])
                .unwrap_or_default()
                .replace('+', "%20")
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub client_id: String,
    pub scope: String,
    pub redirect_uri: String,
    pub state: String,
    #[serde(rename = "grant_options[]")]
    pub grant_options: String,
    /// Set by the install page's buttons.
    pub decision: String,
}

/// Shopify's OAuth error page (HTTP 400), e.g. "Oauth error invalid_request: The redirect_uri
/// is not whitelisted".
fn oauth_error_page(lang: Lang, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">Oauth error invalid_request: {}</p>",
        lang.t("Something went wrong", "Etwas ist schiefgelaufen"),
        crate::common::html::escape(message)
    );
    (
        StatusCode::BAD_REQUEST,
        crate::common::html::page(lang, "Shopify", &body),
    )
        .into_response()
}

/// A 302, as Shopify redirects.
fn found(url: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, url.to_owned())]).into_response()
}

impl Shopify {
    fn redirect_allowed(&self, redirect_uri: &str) -> bool {
        let without_query = redirect_uri.split(['?', '#']).next().unwrap_or("");
        let prefix = self.options().redirect_match == "prefix";
        !without_query.is_empty()
            && self.app().redirect_uris.iter().any(|allowed| {
                if prefix {
                    without_query.starts_with(allowed.as_str())
                } else {
                    without_query == allowed
                }
            })
    }

    /// The checks both the page and the buttons make; an error page when they fail.
    fn check_authorize(
        &self,
        lang: Lang,
        shop: &str,
        params: &AuthorizeParams,
    ) -> Result<(), Box<Response>> {
        if !valid_shop(shop) {
            return Err(Box::new(
                (
                    StatusCode::NOT_FOUND,
                    crate::common::html::page(
                        lang,
                        "Shopify",
                        &format!(
                            "<h1>{}</h1>",
                            lang.t(
                                "There's no page at this address",
                                "Unter dieser Adresse gibt es keine Seite"
                            )
                        ),
                    ),
                )
                    .into_response(),
            ));
        }
        let app = self.app();
        if params.client_id.is_empty() || params.client_id != app.client_id {
            return Err(Box::new(oauth_error_page(
                lang,
                &format!(
                    "Could not find Shopify API application with api_key {}",
                    params.client_id
                ),
            )));
        }
        if !self.redirect_allowed(&params.redirect_uri) {
            return Err(Box::new(oauth_error_page(
                lang,
                "The redirect_uri is not whitelisted",
            )));
        }
        Ok(())
    }
}

pub async fn authorize(
    State(sandbox): State<Arc<Shopify>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    Query(params): Query<AuthorizeParams>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if let Err(response) = sandbox.check_authorize(lang, &shop, &params) {
        return *response;
    }
    page::consent(lang, &sandbox.context.base_url, &shop, &params).into_response()
}

pub async fn decide(
    State(sandbox): State<Arc<Shopify>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    Form(params): Form<AuthorizeParams>,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if let Err(response) = sandbox.check_authorize(lang, &shop, &params) {
        return *response;
    }
    let options = sandbox.options();
    if params.decision != "install" {
        if options.cancel == "redirect" {
            let query = serde_urlencoded::to_string([
                ("error", "access_denied"),
                (
                    "error_description",
                    "The merchant declined the installation",
                ),
                ("state", params.state.as_str()),
                ("shop", shop.as_str()),
            ])
            .unwrap_or_default();
            return found(&format!("{}?{query}", params.redirect_uri)).into_response();
        }
        return found(&format!("{}/{shop}/admin/apps", sandbox.context.base_url)).into_response();
    }
    let scopes: Vec<String> = params
        .scope
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let now = sandbox.now();
    let code = {
        let mut state = sandbox.lock();
        state.ensure_shop(&shop, now).scopes = scopes.clone();
        state.tokens.prune(now);
        state.tokens.issue_code(
            "",
            CodeGrant {
                client_id: params.client_id.clone(),
                redirect_uri: params.redirect_uri.clone(),
                subject: shop.clone(),
                scopes,
                code_challenge: None,
                expires_at: now
                    + Duration::seconds(i64::try_from(options.code_ttl_secs).unwrap_or(600)),
                used: false,
            },
        )
    };
    let mut query = BTreeMap::from([
        ("code".to_owned(), code),
        ("host".to_owned(), host_param(&shop)),
        ("shop".to_owned(), shop.clone()),
        ("state".to_owned(), params.state.clone()),
        ("timestamp".to_owned(), now.timestamp().to_string()),
    ]);
    let secret = sandbox.app().client_secret;
    let hmac = hmac_sha256_hex(secret.as_bytes(), hmac_message(&query).as_bytes());
    query.insert("hmac".to_owned(), hmac);
    let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
    let separator = if params.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    found(&format!("{}{separator}{encoded}", params.redirect_uri)).into_response()
}

/// Where a merchant lands after cancelling an install (the shop admin's apps page).
pub async fn admin_apps(Path(shop): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::from_headers(&headers);
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        lang.t("Apps", "Apps"),
        crate::common::html::escape(&format!(
            "{} {shop}",
            lang.t(
                "The app was not installed on",
                "Die App wurde nicht installiert auf"
            )
        ))
    );
    crate::common::html::page(lang, "Shopify admin", &body).into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenRequest {
    client_id: String,
    client_secret: String,
    code: String,
    grant_type: String,
    refresh_token: String,
}

fn oauth_json_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub async fn access_token(
    State(sandbox): State<Arc<Shopify>>,
    Path(shop): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let request: Option<TokenRequest> = if is_form {
        serde_urlencoded::from_bytes(&body).ok()
    } else {
        serde_json::from_slice(&body)
            .ok()
            .or_else(|| serde_urlencoded::from_bytes(&body).ok())
    };
    let Some(request) = request else {
        return oauth_json_error("invalid_request", "The request body could not be parsed");
    };
    if !valid_shop(&shop) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "errors": "Not Found" })),
        )
            .into_response();
    }
    let app = sandbox.app();
    // [S] Shopify answers bad client credentials with 400 invalid_client (the Doorkeeper text).
    if request.client_id != app.client_id
        || !constant_time_eq(&request.client_secret, &app.client_secret)
    {
        return oauth_json_error(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        );
    }
    let options = sandbox.options();
    let now = sandbox.now();
    let issued = {
        let mut state = sandbox.lock();
        match request.grant_type.as_str() {
            "" | "authorization_code" => {
                // Unknown, expired, reused, or issued for another shop: Shopify says the same.
                let not_found = "The authorization code was not found or was already used";
                let grant = match state.tokens.redeem_code(&request.code, now) {
                    Ok(grant) if grant.subject == shop && grant.client_id == app.client_id => grant,
                    _ => return oauth_json_error("invalid_request", not_found),
                };
                // One expiring offline token per app and shop: installing again retires the
                // previous ones.
                state.tokens.revoke_subject(&shop);
                let family = request.code.clone();
                state.tokens.issue(
                    &policy(),
                    &app.client_id,
                    &shop,
                    &grant.scopes,
                    &family,
                    now,
                )
            }
            "refresh_token" => {
                // [U] the exact body for a bad refresh token is not documented.
                match state
                    .tokens
                    .refresh(&policy(), &request.refresh_token, &app.client_id, now)
                {
                    Ok(issued) if issued.subject == shop => issued,
                    Ok(_) | Err(TokenError::Unknown) => {
                        return oauth_json_error(
                            "invalid_grant",
                            "The refresh token is invalid or was already used",
                        );
                    }
                    Err(TokenError::Expired) => {
                        return oauth_json_error("invalid_grant", "The refresh token has expired");
                    }
                    Err(TokenError::Revoked) => {
                        return oauth_json_error(
                            "invalid_grant",
                            "The refresh token is invalid or was already used",
                        );
                    }
                }
            }
            other => {
                return oauth_json_error(
                    "unsupported_grant_type",
                    &format!("The grant type {other:?} is not supported"),
                );
            }
        }
    };
    let mut body = json!({
        "access_token": issued.access_token,
        "scope": issued.scopes.join(","),
        "expires_in": issued.expires_in,
        "refresh_token": issued.refresh_token,
    });
    if options.refresh_token_expires_in_field {
        body["refresh_token_expires_in"] = json!(issued.refresh_expires_in);
    }
    Json(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shops_are_checked_like_the_sdk_does() {
        assert!(valid_shop("demo-shop.myshopify.com"));
        assert!(valid_shop("a_b.myshopify.io"));
        assert!(!valid_shop("-demo.myshopify.com"));
        assert!(!valid_shop("demo.example.com"));
        assert!(!valid_shop("de mo.myshopify.com"));
    }

    #[test]
    fn the_message_is_sorted_and_skips_hmac() {
        let params = BTreeMap::from([
            ("shop".to_owned(), "a.myshopify.com".to_owned()),
            ("code".to_owned(), "x y".to_owned()),
            ("hmac".to_owned(), "ignored".to_owned()),
        ]);
        assert_eq!(hmac_message(&params), "code=x%20y&shop=a.myshopify.com");
    }
}
