//! Calls to a store's REST API (`{store}/wp-json/wc/v3/…`), authenticated the way
//! `class-wc-rest-authentication.php` accepts it (CHANNELS.md §2.1):
//!
//! - over HTTPS, HTTP Basic with `consumer_key:consumer_secret`;
//! - over plain HTTP (only a store on this machine, in development), one-legged OAuth 1.0a:
//!   `oauth_consumer_key`, `oauth_timestamp`, `oauth_nonce`, `oauth_signature_method`
//!   (`HMAC-SHA256`) and `oauth_signature` in the query; the base string is
//!   `METHOD&rfc3986(url without query)&rfc3986(sorted, encoded params)`, the key
//!   `consumer_secret + "&"` (there is no token secret).
//!
//! Answers are WordPress' `WP_Error` shape `{code, message, data:{status}}`; their `message`
//! is the store's own words and may appear in errors. Keys never do: over HTTP they are in
//! the query, which [`ChannelError::transport`] leaves out of its text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::Sha256;

use crate::channels::channel::{ChannelEnv, ChannelError};

/// A consumer key and secret, borrowed from the connection's credentials.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    pub key: &'a str,
    pub secret: &'a str,
}

impl std::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

/// RFC 3986 percent-encoding (what PHP's `rawurlencode` does): everything but
/// `A–Z a–z 0–9 - _ . ~` as `%XX`, upper-case hex.
pub fn rfc3986(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The query of a one-legged OAuth 1.0a request: the request's own parameters plus the
/// `oauth_*` ones and the signature, RFC 3986 encoded. `url` is the request URL without a
/// query, exactly as the store sees it (its home URL plus the route).
pub fn oauth_query(
    method: &Method,
    url: &str,
    params: &[(&str, &str)],
    keys: Keys<'_>,
    timestamp: i64,
    nonce: &str,
) -> String {
    let timestamp = timestamp.to_string();
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.extend([
        ("oauth_consumer_key", keys.key),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA256"),
        ("oauth_timestamp", timestamp.as_str()),
    ]);
    all.sort_unstable();
    let normalized: Vec<String> = all
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect();
    let base = format!(
        "{}&{}&{}",
        method.as_str().to_ascii_uppercase(),
        rfc3986(url),
        rfc3986(&normalized.join("&"))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(format!("{}&", keys.secret).as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(base.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let mut query = normalized.join("&");
    query.push_str("&oauth_signature=");
    query.push_str(&rfc3986(&signature));
    query
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    crate::channels::http::hex(&bytes)
}

/// Sends one request to `{store}/wp-json/wc/v3/{path}` and returns the status and body as
/// they came; only transport failures are errors here.
pub async fn send(
    env: &ChannelEnv,
    store: &str,
    keys: Keys<'_>,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<(StatusCode, Vec<u8>), ChannelError> {
    let url = format!("{store}/wp-json/wc/v3/{}", path.trim_start_matches('/'));
    let mut request = if store.starts_with("https://") {
        let encoded: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
            .collect();
        let full = if encoded.is_empty() {
            url
        } else {
            format!("{url}?{}", encoded.join("&"))
        };
        env.http
            .request(method, full)
            .basic_auth(keys.key, Some(keys.secret))
    } else {
        let signed = oauth_query(
            &method,
            &url,
            query,
            keys,
            chrono::Utc::now().timestamp(),
            &nonce(),
        );
        env.http.request(method, format!("{url}?{signed}"))
    };
    request = request.header("accept", "application/json");
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    Ok((status, bytes.to_vec()))
}

/// The store's words from a `WP_Error` body: `code` and `message`.
fn wp_error(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .map(|s| s.chars().take(300).collect::<String>())
    };
    Some((text("code").unwrap_or_default(), text("message")?))
}

/// Maps a non-success answer to what the connections page can explain.
pub fn error_from(status: StatusCode, body: &[u8]) -> ChannelError {
    let (code, message) = wp_error(body).unwrap_or_default();
    let words = if message.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        message.clone()
    };
    match status.as_u16() {
        // 401 woocommerce_rest_authentication_error (unknown key, wrong secret, key deleted in
        // WP admin, missing read/write permission) and 401/403 from an endpoint's own
        // capability check (the key's user lost `manage_woocommerce`).
        401 | 403 => ChannelError::InvalidCredentials(words),
        429 => ChannelError::RateLimited,
        500..=599 => ChannelError::Unavailable(words),
        300..=399 => ChannelError::Protocol(format!(
            "the store answered with a redirect (HTTP {}); check the store address",
            status.as_u16()
        )),
        404 if code == "rest_no_route" || code.is_empty() => ChannelError::Protocol(format!(
            "no WooCommerce REST API (wc/v3) at this address: {words}"
        )),
        _ if code.is_empty() => ChannelError::Protocol(words),
        _ => ChannelError::Protocol(format!("{code}: {words}")),
    }
}

/// One call whose success answer is JSON.
pub async fn call(
    env: &ChannelEnv,
    store: &str,
    keys: Keys<'_>,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<Value, ChannelError> {
    let (status, bytes) = send(env, store, keys, method, path, query, body).await?;
    if !status.is_success() {
        return Err(error_from(status, &bytes));
    }
    serde_json::from_slice(&bytes)
        .map_err(|_| ChannelError::Protocol("the store's answer is not JSON".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_leaves_only_unreserved() {
        assert_eq!(rfc3986("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(rfc3986("a b+c/d=é"), "a%20b%2Bc%2Fd%3D%C3%A9");
    }

    #[test]
    fn oauth_signature_follows_the_documented_base_string() {
        let keys = Keys {
            key: "ck_test",
            secret: "cs_secret",
        };
        let query = oauth_query(
            &Method::GET,
            "http://127.0.0.1:3100/woocommerce/s/wp-json/wc/v3/products",
            &[("per_page", "1")],
            keys,
            1_700_000_000,
            "abc",
        );
        let base = "GET&http%3A%2F%2F127.0.0.1%3A3100%2Fwoocommerce%2Fs%2Fwp-json%2Fwc%2Fv3%2Fproducts&oauth_consumer_key%3Dck_test%26oauth_nonce%3Dabc%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1700000000%26per_page%3D1";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"cs_secret&").unwrap();
        mac.update(base.as_bytes());
        let expected = rfc3986(&STANDARD.encode(mac.finalize().into_bytes()));
        assert!(
            query.ends_with(&format!("&oauth_signature={expected}")),
            "{query}"
        );
        assert!(query.starts_with(
            "oauth_consumer_key=ck_test&oauth_nonce=abc&oauth_signature_method=HMAC-SHA256&oauth_timestamp=1700000000&per_page=1"
        ));
    }

    #[test]
    fn errors_map_to_what_the_page_explains() {
        let body = br#"{"code":"woocommerce_rest_authentication_error","message":"Consumer secret is invalid.","data":{"status":401}}"#;
        assert_eq!(
            error_from(StatusCode::UNAUTHORIZED, body),
            ChannelError::InvalidCredentials("Consumer secret is invalid.".into())
        );
        assert_eq!(
            error_from(StatusCode::TOO_MANY_REQUESTS, b""),
            ChannelError::RateLimited
        );
        assert!(matches!(
            error_from(StatusCode::BAD_GATEWAY, b"<html>"),
            ChannelError::Unavailable(_)
        ));
        assert!(matches!(
            error_from(StatusCode::NOT_FOUND, b"{}"),
            ChannelError::Protocol(_)
        ));
    }
}
