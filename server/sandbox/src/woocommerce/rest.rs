//! The WordPress REST server in front of `wc/v3`: faults, the optional host limit, API-key
//! authentication exactly as `class-wc-rest-authentication.php` does it, key permissions,
//! routing and the WP_Error response shape.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};

use super::WooCommerce;
use super::model::{RestError, Webhook, wc_api_hash};
use crate::common::faults::Injected;
use crate::common::sign::{constant_time_eq, hmac_sha1, hmac_sha256};

/// What PHP's `rawurlencode` leaves alone (RFC 3986 unreserved).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(super) fn rawurlencode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// PHP's `urldecode` (`+` is a space).
fn urldecode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A successful REST answer, plus the webhooks it sets off.
pub(super) struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
    pub notify: Vec<(Vec<Webhook>, &'static str, Value)>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self {
            status: 200,
            body,
            headers: Vec::new(),
            notify: Vec::new(),
        }
    }

    pub fn created(body: Value) -> Self {
        Self {
            status: 201,
            ..Self::ok(body)
        }
    }
}

/// One REST request, after authentication.
pub(super) struct Request<'a> {
    pub method: &'a Method,
    pub store_url: String,
    /// The route segments after `wp-json/`, e.g. `["wc", "v3", "orders", "12"]`.
    pub segments: Vec<&'a str>,
    pub query: BTreeMap<String, String>,
    pub body: Map<String, Value>,
    pub authenticated: bool,
}

impl Request<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .or_else(|| self.body.get(name).and_then(Value::as_str))
    }

    /// The endpoint's own permission check for a request without a key (WooCommerce answers
    /// `rest_authorization_required_code()`, 401, when nobody is logged in).
    pub fn require(&self, has_id: bool, batch: bool) -> Result<(), RestError> {
        if self.authenticated {
            return Ok(());
        }
        let (code, message) = if batch {
            (
                "woocommerce_rest_cannot_batch",
                "Sorry, you are not allowed to batch manipulate this resource.",
            )
        } else {
            match (self.method.as_str(), has_id) {
                ("GET", false) => (
                    "woocommerce_rest_cannot_view",
                    "Sorry, you cannot list resources.",
                ),
                ("GET", true) => (
                    "woocommerce_rest_cannot_view",
                    "Sorry, you cannot view this resource.",
                ),
                ("POST", false) => (
                    "woocommerce_rest_cannot_create",
                    "Sorry, you are not allowed to create resources.",
                ),
                ("DELETE", _) => (
                    "woocommerce_rest_cannot_delete",
                    "Sorry, you are not allowed to delete this resource.",
                ),
                _ => (
                    "woocommerce_rest_cannot_edit",
                    "Sorry, you are not allowed to edit this resource.",
                ),
            }
        };
        Err(RestError::new(401, code, message))
    }
}

pub(super) fn no_route() -> RestError {
    RestError::new(
        404,
        "rest_no_route",
        "No route was found matching the URL and request method.",
    )
}

fn json_response(status: u16, body: &Value, store_url: &str) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        body.to_string(),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(link) = HeaderValue::from_str(&format!(
        "<{store_url}/wp-json/>; rel=\"https://api.w.org/\""
    )) {
        headers.append("link", link);
    }
    response
}

pub(super) fn error_response(error: &RestError, store_url: &str) -> Response {
    json_response(error.status, &error.to_json(), store_url)
}

/// `GET /wp-json`: the site index (enough for clients that discover the API).
pub(super) async fn index(
    State(wc): State<Arc<WooCommerce>>,
    Path(store): Path<String>,
) -> Response {
    let url = wc.store_url(&store);
    let body = json!({
        "name": store,
        "url": url,
        "home": url,
        "namespaces": ["wp/v2", "wc/v1", "wc/v2", "wc/v3", "wc-shipment-tracking/v3"],
        "authentication": [],
    });
    json_response(200, &body, &url)
}

/// The WordPress fatal-error answer a REST client gets when PHP dies (injected server error).
fn fatal_error(store_url: &str) -> Response {
    let body = json!({
        "code": "internal_server_error",
        "message": "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>",
        "data": { "status": 500 },
        "additional_errors": [],
    });
    json_response(500, &body, store_url)
}

/// The host limit's answer (WooCommerce has none of its own; hosts and WAFs add them).
fn too_many(store_url: &str, retry_after: f64) -> Response {
    let error = RestError::new(
        429,
        "rest_too_many_requests",
        "Too many requests. Please wait and try again.",
    );
    let mut response = error_response(&error, store_url);
    let secs = retry_after.ceil().max(1.0).to_string();
    if let Ok(value) = HeaderValue::from_str(&secs) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

pub(super) async fn handle(
    State(wc): State<Arc<WooCommerce>>,
    Path((store, path)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let store_url = wc.store_url(&store);
    match wc.context.controls.before_call().await {
        Some(Injected::ServerError) => return fatal_error(&store_url),
        Some(Injected::Throttled) => return too_many(&store_url, 1.0),
        None => {}
    }
    if let Some(wait) = wc.take_limit() {
        return too_many(&store_url, wait);
    }
    let query: BTreeMap<String, String> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let form: BTreeMap<String, String> =
        if content_type.starts_with("application/x-www-form-urlencoded") {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .unwrap_or_default()
                .into_iter()
                .collect()
        } else {
            BTreeMap::new()
        };

    let key = match authenticate(&wc, &store, &method, uri.path(), &query, &form, &headers) {
        Ok(key) => key,
        Err(error) => return error_response(&error, &store_url),
    };
    if let Some(permissions) = &key
        && let Err(error) = check_permissions(&method, permissions)
    {
        return error_response(&error, &store_url);
    }

    let body = if !form.is_empty() {
        form.iter().map(|(k, v)| (k.clone(), json!(v))).collect()
    } else if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => map,
            Ok(_) => Map::new(),
            Err(_) => {
                let mut error =
                    RestError::new(400, "rest_invalid_json", "Invalid JSON body passed.");
                error.data.insert("json_error_code".into(), json!(4));
                error
                    .data
                    .insert("json_error_message".into(), json!("Syntax error"));
                return error_response(&error, &store_url);
            }
        }
    };
    let request = Request {
        method: &method,
        store_url: store_url.clone(),
        segments: path.split('/').filter(|s| !s.is_empty()).collect(),
        query,
        body,
        authenticated: key.is_some(),
    };
    let options = wc.options();
    let now = wc.context.controls.clock.now();
    let result = {
        let mut state = wc.lock();
        let store_data = state.stores.entry(store.clone()).or_default();
        match request.segments.as_slice() {
            ["wc", "v3", "products", ..] => super::products::dispatch(store_data, &request, now),
            ["wc", "v3", "orders", ..] => super::orders::dispatch(store_data, &request, now),
            ["wc", "v3", "webhooks", ..] => super::orders::webhooks(store_data, &request, now),
            ["wc-shipment-tracking", "v3", "orders", ..] if options.shipment_tracking_extension => {
                super::orders::tracking(store_data, &request, now)
            }
            _ => Err(no_route()),
        }
    };
    match result {
        Ok(reply) => {
            for (hooks, topic, payload) in &reply.notify {
                super::notify::send_all(&wc, &store, hooks.clone(), topic, payload);
            }
            let mut response = json_response(reply.status, &reply.body, &store_url);
            for (name, value) in reply.headers {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        Err(error) => error_response(&error, &store_url),
    }
}

/// The list headers WordPress sends: totals and `Link` with `prev`/`next`, built from the
/// request's own query (the one-time OAuth parameters left out, since a client signs anew).
pub(super) fn paginate(
    request: &Request<'_>,
    total: usize,
    per_page: usize,
    page: usize,
) -> Vec<(&'static str, String)> {
    let pages = total.div_ceil(per_page.max(1));
    let route = request.segments.join("/");
    let link = |target: usize| {
        let mut pairs: Vec<(&str, String)> = request
            .query
            .iter()
            .filter(|(k, _)| !k.starts_with("oauth_") && k.as_str() != "page")
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        pairs.push(("page", target.to_string()));
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        format!("{}/wp-json/{route}?{query}", request.store_url)
    };
    let mut links = Vec::new();
    if page > 1 {
        let prev = (page - 1).min(pages.max(1));
        links.push(format!("<{}>; rel=\"prev\"", link(prev)));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", link(page + 1)));
    }
    let mut headers = vec![
        ("x-wp-total", total.to_string()),
        ("x-wp-totalpages", pages.to_string()),
    ];
    if !links.is_empty() {
        headers.push(("link", links.join(", ")));
    }
    headers
}

/// `page` and `per_page` (1–100, default 10) as WordPress validates them.
pub(super) fn page_params(request: &Request<'_>) -> Result<(usize, usize), RestError> {
    let per_page = match request.query.get("per_page") {
        None => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(RestError::invalid_param(
                    "per_page",
                    "per_page must be between 1 (inclusive) and 100 (inclusive)",
                ));
            }
        },
    };
    let page = match request.query.get("page") {
        None => 1,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(RestError::invalid_param(
                    "page",
                    "page must be greater than or equal to 1",
                ));
            }
        },
    };
    Ok((page, per_page))
}

fn auth_error(message: &str) -> RestError {
    RestError::new(401, "woocommerce_rest_authentication_error", message)
}

/// Finds the key and returns its permissions; `Ok(None)` when the request carries no key (the
/// endpoint then refuses it itself).
fn authenticate(
    wc: &WooCommerce,
    store: &str,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    form: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> Result<Option<String>, RestError> {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let ssl = wc.is_ssl();
    let mut pending_error = None;
    if ssl {
        let mut credentials = match (query.get("consumer_key"), query.get("consumer_secret")) {
            (Some(k), Some(s)) if !k.is_empty() && !s.is_empty() => Some((k.clone(), s.clone())),
            _ => None,
        };
        if credentials.is_none()
            && let Some(encoded) = authorization.strip_prefix("Basic ")
            && let Ok(decoded) = STANDARD.decode(encoded.trim())
            && let Ok(decoded) = String::from_utf8(decoded)
            && let Some((k, s)) = decoded.split_once(':')
            && !k.is_empty()
            && !s.is_empty()
        {
            credentials = Some((k.to_owned(), s.to_owned()));
        }
        if let Some((key, secret)) = credentials {
            let state = wc.lock();
            let hash = wc_api_hash(&key);
            if let Some(found) = state
                .stores
                .get(store)
                .and_then(|s| s.keys.iter().find(|k| k.consumer_key_hash == hash))
            {
                if constant_time_eq(&found.consumer_secret, &secret) {
                    return Ok(Some(found.permissions.clone()));
                }
                pending_error = Some(auth_error("Consumer secret is invalid."));
            }
        }
    }

    // One-legged OAuth 1.0a: parameters from the query, the form body and the header.
    let mut params: BTreeMap<String, String> = query.clone();
    params.extend(form.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(header) = authorization.strip_prefix("OAuth ") {
        for part in header.split(',') {
            if let Some((k, v)) = part.trim().split_once('=')
                && k.starts_with("oauth_")
            {
                params.insert(k.to_owned(), urldecode(v.trim_matches('"')));
            }
        }
    }
    const NAMES: [&str; 5] = [
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
    ];
    let missing: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| params.get(*n).is_none_or(|v| v.is_empty() || v == "0"))
        .collect();
    if missing.len() == NAMES.len() {
        return match pending_error {
            Some(error) => Err(error),
            None => Ok(None),
        };
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        return Err(RestError::new(
            401,
            "woocommerce_rest_authentication_missing_parameter",
            format!("Missing OAuth {noun} {}", missing.join(", ")),
        ));
    }

    let now = wc.context.controls.clock.unix();
    let mut state = wc.lock();
    let hash = wc_api_hash(&params["oauth_consumer_key"]);
    let Some(key) = state
        .stores
        .get_mut(store)
        .and_then(|s| s.keys.iter_mut().find(|k| k.consumer_key_hash == hash))
    else {
        return Err(auth_error("Consumer key is invalid."));
    };

    // The URL is the store's home URL with the request path, in the scheme WordPress sees.
    let home = wc
        .context
        .base_url
        .split_once("://")
        .map_or(wc.context.base_url.as_str(), |(_, rest)| rest);
    let url = format!("{}://{home}{path}", if ssl { "https" } else { "http" });
    let consumer_signature = percent_decode_str(&params["oauth_signature"].replace(' ', "+"))
        .decode_utf8_lossy()
        .into_owned();
    let method_name = params["oauth_signature_method"].clone();
    params.remove("oauth_signature");
    let joined: Vec<String> = params
        .iter()
        .map(|(k, v)| rawurlencode(&format!("{}={}", rawurlencode(k), rawurlencode(v))))
        .collect();
    let string_to_sign = format!(
        "{}&{}&{}",
        method.as_str().to_ascii_uppercase(),
        rawurlencode(&url),
        joined.join("%26")
    );
    let secret = format!("{}&", key.consumer_secret);
    let mac = match method_name.as_str() {
        "HMAC-SHA1" => hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()),
        "HMAC-SHA256" => hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()),
        _ => {
            return Err(auth_error(
                "Invalid signature - signature method is invalid.",
            ));
        }
    };
    if !constant_time_eq(&STANDARD.encode(mac), &consumer_signature) {
        return Err(auth_error(
            "Invalid signature - provided signature does not match.",
        ));
    }

    const WINDOW: i64 = 15 * 60;
    let timestamp: i64 = params["oauth_timestamp"].trim().parse().unwrap_or(0);
    if timestamp < now - WINDOW || timestamp > now + WINDOW {
        return Err(auth_error("Invalid timestamp."));
    }
    let nonce = &params["oauth_nonce"];
    if key.nonces.values().any(|n| n == nonce) {
        return Err(auth_error("Invalid nonce - nonce has already been used."));
    }
    key.nonces.insert(timestamp, nonce.clone());
    key.nonces.retain(|ts, _| *ts >= now - WINDOW);
    Ok(Some(key.permissions.clone()))
}

fn check_permissions(method: &Method, permissions: &str) -> Result<(), RestError> {
    let read = permissions == "read" || permissions == "read_write";
    let write = permissions == "write" || permissions == "read_write";
    match method.as_str() {
        "HEAD" | "GET" if !read => Err(auth_error(
            "The API key provided does not have read permissions.",
        )),
        "POST" | "PUT" | "PATCH" | "DELETE" if !write => Err(auth_error(
            "The API key provided does not have write permissions.",
        )),
        "HEAD" | "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => Ok(()),
        _ => Err(auth_error("Unknown request method.")),
    }
}
