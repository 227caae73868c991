//! The app-authorization endpoint `/wc-auth/v1/{login,authorize,access_granted}` of
//! `class-wc-auth.php`: the merchant logs in to WordPress, approves the app, WooCommerce
//! creates a `ck_`/`cs_` key pair, POSTs it as JSON to the app's `callback_url` and sends the
//! browser back to `return_url`.
//!
//! The demo administrator is `admin` / `password` (prefilled). Deny is a button posting to
//! `/wc-auth/v1/deny` (WooCommerce renders it as a link to `return_url?success=0&user_id=…`;
//! the sandbox's pages use forms only, and the destination is the same).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::model::{ApiKey, wc_api_hash};
use super::{WooCommerce, notify};
use crate::common::html::{Lang, escape, page};
use crate::common::tokens::{random_hex, random_string};

const COOKIE: &str = "wordpress_logged_in_sandbox";
const PARAMS: [&str; 5] = ["app_name", "user_id", "return_url", "callback_url", "scope"];

#[derive(Debug, Default)]
pub(super) struct Sessions {
    logged_in: HashSet<String>,
    nonces: HashSet<String>,
}

type Params = BTreeMap<String, String>;

/// `wp_die( 'Error: %s.', 'Access denied', 401 )`.
fn wp_die(lang: Lang, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">Error: {}.</p><p>{}</p>",
        lang.t("Access denied", "Zugriff verweigert"),
        escape(message),
        lang.t(
            "The app could not be connected to your store.",
            "Die App konnte nicht mit deinem Shop verbunden werden."
        ),
    );
    (StatusCode::UNAUTHORIZED, page(lang, "Access denied", &body)).into_response()
}

/// `get_formatted_url`: decoded, and `https://` when no scheme is given.
fn formatted_url(url: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(&url.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    if decoded.contains("://") {
        decoded
    } else {
        format!("https://{decoded}")
    }
}

/// `wp_redirect`: 302 Found.
fn found(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

fn add_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// `make_validation()`, with the sandbox's loopback allowance for `http://` callbacks.
fn validate(params: &Params, allow_loopback: bool) -> Result<(), String> {
    for name in PARAMS {
        if params.get(name).is_none_or(|v| v.is_empty() || v == "0") {
            return Err(format!("Missing parameter {name}"));
        }
    }
    let scope = &params["scope"];
    if !["read", "write", "read_write"].contains(&scope.as_str()) {
        return Err(format!("Invalid scope {scope}"));
    }
    for name in ["return_url", "callback_url"] {
        let url = formatted_url(&params[name]);
        if reqwest::Url::parse(&url).map_or(true, |u| u.host_str().is_none()) {
            return Err(format!("The {url} is not a valid URL"));
        }
    }
    let callback = formatted_url(&params["callback_url"]);
    if !callback.to_ascii_lowercase().starts_with("https://") {
        let loopback = reqwest::Url::parse(&callback).is_ok_and(|u| {
            u.scheme() == "http"
                && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        });
        if !(allow_loopback && loopback) {
            return Err("The callback_url needs to be over SSL".into());
        }
    }
    Ok(())
}

fn build_url(wc: &WooCommerce, store: &str, route: &str, params: &Params) -> String {
    let pairs: Vec<(&str, &str)> = PARAMS
        .iter()
        .map(|n| (*n, params.get(*n).map_or("", String::as_str)))
        .collect();
    add_query(
        &format!("{}/wc-auth/v1/{route}", wc.store_url(store)),
        &pairs,
    )
}

fn logged_in(wc: &WooCommerce, headers: &HeaderMap) -> bool {
    let sessions = wc.sessions.lock().unwrap_or_else(|p| p.into_inner());
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .any(|(name, value)| name == COOKIE && sessions.logged_in.contains(value))
}

fn hidden(params: &Params) -> String {
    PARAMS
        .iter()
        .map(|n| {
            format!(
                "<input type=\"hidden\" name=\"{n}\" value=\"{}\">",
                escape(params.get(*n).map_or("", String::as_str))
            )
        })
        .collect()
}

fn login_page(
    wc: &WooCommerce,
    store: &str,
    params: &Params,
    lang: Lang,
    error: Option<&str>,
) -> Response {
    let app = escape(&params["app_name"]);
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))
    });
    let body = format!(
        "<h1>{title}</h1><p>{intro}</p>{error}<form method=\"post\" action=\"{action}\">{hidden}\
         <label>{user} <input name=\"username\" value=\"admin\" autocomplete=\"username\"></label>\
         <label>{pass} <input name=\"password\" type=\"password\" value=\"password\" autocomplete=\"current-password\"></label>\
         <button type=\"submit\">{login}</button></form>",
        title = lang.t("Log in to your store", "Bei deinem Shop anmelden"),
        intro = match lang {
            Lang::En =>
                format!("To connect to {app} you need to be logged in. Log in to your store below."),
            Lang::De => format!(
                "Um dich mit {app} zu verbinden, musst du angemeldet sein. Melde dich unten bei deinem Shop an."
            ),
        },
        action = escape(&format!("{}/wc-auth/v1/login", wc.store_url(store))),
        hidden = hidden(params),
        user = lang.t(
            "Username or email address",
            "Benutzername oder E-Mail-Adresse"
        ),
        pass = lang.t("Password", "Passwort"),
        login = lang.t("Login", "Anmelden"),
    );
    page(lang, "WooCommerce", &body).into_response()
}

fn permissions(scope: &str, lang: Lang) -> Vec<&'static str> {
    match scope {
        "read" => vec![
            lang.t("View coupons", "Gutscheine ansehen"),
            lang.t("View customers", "Kunden ansehen"),
            lang.t(
                "View orders and sales reports",
                "Bestellungen und Verkaufsberichte ansehen",
            ),
            lang.t("View products", "Produkte ansehen"),
        ],
        "write" => vec![
            lang.t("Create webhooks", "Webhooks erstellen"),
            lang.t("Create coupons", "Gutscheine erstellen"),
            lang.t("Create customers", "Kunden erstellen"),
            lang.t("Create orders", "Bestellungen erstellen"),
            lang.t("Create products", "Produkte erstellen"),
        ],
        _ => vec![
            lang.t("Create webhooks", "Webhooks erstellen"),
            lang.t(
                "View and manage coupons",
                "Gutscheine ansehen und verwalten",
            ),
            lang.t("View and manage customers", "Kunden ansehen und verwalten"),
            lang.t(
                "View and manage orders and sales reports",
                "Bestellungen und Verkaufsberichte ansehen und verwalten",
            ),
            lang.t("View and manage products", "Produkte ansehen und verwalten"),
        ],
    }
}

fn grant_page(wc: &WooCommerce, store: &str, params: &Params, lang: Lang) -> Response {
    let nonce = random_hex(5);
    wc.sessions
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .nonces
        .insert(nonce.clone());
    let app = escape(&params["app_name"]);
    let scope = match params["scope"].as_str() {
        "read" => lang.t("Read", "Lesen"),
        "write" => lang.t("Write", "Schreiben"),
        _ => lang.t("Read/Write", "Lesen/Schreiben"),
    };
    let list: String = permissions(&params["scope"], lang)
        .iter()
        .map(|p| format!("<li>{p}</li>"))
        .collect();
    let base = wc.store_url(store);
    let body = format!(
        "<h1>{heading}</h1><p>{asks}</p><ul>{list}</ul>\
         <p>{logged}</p>\
         <form method=\"post\" action=\"{granted}\">{hidden}<input type=\"hidden\" name=\"wc_auth_nonce\" value=\"{nonce}\">\
         <button type=\"submit\" name=\"approve\" value=\"1\">{approve}</button></form>\
         <form method=\"post\" action=\"{deny}\">{hidden}<button type=\"submit\" class=\"secondary\" name=\"deny\" value=\"1\">{deny_text}</button></form>",
        heading = match lang {
            Lang::En => format!("{app} would like to connect to your store"),
            Lang::De => format!("{app} möchte sich mit deinem Shop verbinden"),
        },
        asks = match lang {
            Lang::En => format!(
                "This will give \"{app}\" <strong>{scope}</strong> access which will allow it to:"
            ),
            Lang::De => format!(
                "Damit erhält „{app}“ Zugriff mit der Berechtigung <strong>{scope}</strong> und kann:"
            ),
        },
        logged = lang.t("Logged in as admin", "Angemeldet als admin"),
        granted = escape(&format!("{base}/wc-auth/v1/access_granted")),
        deny = escape(&format!("{base}/wc-auth/v1/deny")),
        hidden = hidden(params),
        approve = lang.t("Approve", "Genehmigen"),
        deny_text = lang.t("Deny", "Ablehnen"),
    );
    page(lang, "WooCommerce", &body).into_response()
}

fn parse_params(query: Option<&str>, form: &[u8]) -> Params {
    let mut params: Params = query
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(form) {
        params.extend(pairs);
    }
    params
}

pub(super) async fn endpoint(
    State(wc): State<Arc<WooCommerce>>,
    Path((store, route)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = parse_params(query.as_deref(), &[]);
    run(&wc, &store, &route, params, &headers, false).await
}

pub(super) async fn endpoint_post(
    State(wc): State<Arc<WooCommerce>>,
    Path((store, route)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = parse_params(query.as_deref(), &body);
    run(&wc, &store, &route, params, &headers, true).await
}

async fn run(
    wc: &WooCommerce,
    store: &str,
    route: &str,
    params: Params,
    headers: &HeaderMap,
    post: bool,
) -> Response {
    let lang = Lang::from_headers(headers);
    let route = route.to_ascii_lowercase();
    if let Err(message) = validate(&params, wc.options().allow_http_loopback_callback) {
        return wp_die(lang, &message);
    }
    let user_id = params["user_id"].clone();
    let return_url = formatted_url(&params["return_url"]);
    let logged = logged_in(wc, headers);
    match (route.as_str(), logged) {
        ("login", false) if post => {
            let ok = params.get("username").map(String::as_str) == Some("admin")
                && params.get("password").map(String::as_str) == Some("password");
            if !ok {
                let error = lang.t(
                    "Error: The username or password you entered is incorrect.",
                    "Fehler: Benutzername oder Passwort ist falsch.",
                );
                return login_page(wc, store, &params, lang, Some(error));
            }
            let session = random_string(32);
            wc.sessions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .logged_in
                .insert(session.clone());
            let mut response = found(&build_url(wc, store, "authorize", &params)).into_response();
            let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        ("login", false) => login_page(wc, store, &params, lang, None),
        ("login", true) => found(&build_url(wc, store, "authorize", &params)).into_response(),
        ("authorize", false) => found(&build_url(wc, store, "login", &params)).into_response(),
        ("authorize", true) => grant_page(wc, store, &params, lang),
        ("deny", true) => found(&add_query(
            &return_url,
            &[("success", "0"), ("user_id", &user_id)],
        ))
        .into_response(),
        ("access_granted", true) => {
            let nonce_ok = params.get("wc_auth_nonce").is_some_and(|n| {
                wc.sessions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .nonces
                    .remove(n)
            });
            if !nonce_ok {
                return wp_die(lang, "Invalid nonce verification");
            }
            grant(wc, store, &params, lang, &return_url).await
        }
        _ => wp_die(lang, "You do not have permission to access this page"),
    }
}

/// `create_keys` + `post_consumer_data`: the key pair exists only if the app accepted it.
async fn grant(
    wc: &WooCommerce,
    store: &str,
    params: &Params,
    lang: Lang,
    return_url: &str,
) -> Response {
    let consumer_key = format!("ck_{}", random_hex(20));
    let consumer_secret = format!("cs_{}", random_hex(20));
    let scope = params["scope"].clone();
    let now = wc.context.controls.clock.now();
    let key_id = {
        let mut state = wc.lock();
        state.next_key_id += 1;
        let key_id = state.next_key_id;
        let app_name: String = params["app_name"].chars().take(170).collect();
        state
            .stores
            .entry(store.to_owned())
            .or_default()
            .keys
            .push(ApiKey {
                key_id,
                user_id: 1,
                description: format!("{app_name} - API ({})", now.format("%Y-%m-%d %H:%M:%S")),
                permissions: scope.clone(),
                consumer_key_hash: wc_api_hash(&consumer_key),
                consumer_secret: consumer_secret.clone(),
                truncated_key: consumer_key[consumer_key.len() - 7..].to_owned(),
                nonces: BTreeMap::new(),
            });
        key_id
    };
    let data = json!({
        "key_id": key_id,
        "user_id": params["user_id"],
        "consumer_key": consumer_key,
        "consumer_secret": consumer_secret,
        "key_permissions": scope,
    });
    let sent = wc
        .context
        .http
        .post(formatted_url(&params["callback_url"]))
        .header("user-agent", notify::USER_AGENT)
        .timeout(Duration::from_secs(60))
        .header("content-type", "application/json;charset=UTF-8")
        .body(data.to_string())
        .send()
        .await;
    let failure = match sent {
        Ok(response) if response.status().as_u16() == 200 => None,
        Ok(_) => Some("An error occurred in the request and at the time were unable to send the consumer data".to_owned()),
        Err(error) => Some(error.to_string()),
    };
    if let Some(message) = failure {
        let mut state = wc.lock();
        if let Some(s) = state.stores.get_mut(store) {
            s.keys.retain(|k| k.key_id != key_id);
        }
        return wp_die(lang, &message);
    }
    let user_id = params["user_id"].as_str();
    found(&add_query(
        return_url,
        &[("success", "1"), ("user_id", user_id)],
    ))
    .into_response()
}
