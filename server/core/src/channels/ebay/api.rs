//! eBay's REST calls with a user or application token, and their errors in our terms.

use serde::Deserialize;
use serde_json::Value;

use super::api_base;
use crate::channels::channel::{ChannelEnv, ChannelError};

/// An answer the caller looks at: status, `Location` (eBay's create calls answer 201 with the
/// new resource's URL and no body) and the JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: http::StatusCode,
    pub location: Option<String>,
    pub body: Value,
}

impl Reply {
    /// The last path segment of `Location`: the id eBay gave the created resource.
    pub fn created_id(&self) -> Option<String> {
        self.location
            .as_deref()
            .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
            .filter(|id| !id.is_empty() && id.len() <= 200)
            .map(str::to_owned)
    }

    /// The failure as a channel error (for answers the caller did not expect).
    pub fn failure(&self, what: &str) -> ChannelError {
        let text = error_text(&self.body).unwrap_or_else(|| self.status.to_string());
        match self.status.as_u16() {
            401 | 403 => ChannelError::InvalidCredentials(text),
            429 => ChannelError::RateLimited,
            500..=599 => ChannelError::Unavailable(format!("{what}: {text}")),
            _ => ChannelError::Protocol(format!("{what}: {text}")),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorEntry {
    #[serde(default, rename = "errorId")]
    error_id: Option<u64>,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "longMessage")]
    long_message: Option<String>,
}

/// eBay's words from an `{"errors":[…]}` body: `errorId message`.
fn error_text(body: &Value) -> Option<String> {
    let parsed: Errors = serde_json::from_value(body.clone()).unwrap_or_default();
    let first = parsed.errors.first()?;
    let message = if first.message.is_empty() {
        first.long_message.clone().unwrap_or_default()
    } else {
        first.message.clone()
    };
    let text = match first.error_id {
        Some(id) => format!("{id} {message}"),
        None => message,
    };
    Some(text.chars().take(300).collect())
}

/// One call: `path` below `EBAY_API_URL` (or a full URL), bearer `token`, an optional JSON body.
/// Throttling, server errors and refused tokens come back as errors; any other status as a
/// [`Reply`] for the caller to judge.
pub async fn call(
    env: &ChannelEnv,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> Result<Reply, ChannelError> {
    let url = if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("{}{url}", api_base(env)?)
    };
    let mut request = env
        .http
        .request(method, &url)
        .bearer_auth(token)
        .header(http::header::ACCEPT, "application/json");
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    let location = response
        .headers()
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(_) if !status.is_success() => Value::Null,
            Err(_) => {
                return Err(ChannelError::Protocol(format!(
                    "{url_path}: the answer is not JSON",
                    url_path = path_of(&url)
                )));
            }
        }
    };
    let reply = Reply {
        status,
        location,
        body,
    };
    if matches!(status.as_u16(), 401 | 403 | 429) || status.is_server_error() {
        return Err(reply.failure(path_of(&url)));
    }
    Ok(reply)
}

/// The path of a URL, for error texts (no host, no query).
fn path_of(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("/", |i| &without_scheme[i..]);
    path.split('?').next().unwrap_or(path)
}

/// The Commerce Identity API lives on `apiz.ebay.com` (`apiz.sandbox.ebay.com` in eBay's
/// sandbox), beside `api.ebay.com`: derived from `EBAY_API_URL`; a base that is not an
/// `api.` host (the local sandboxes) serves it itself.
pub fn identity_base(api: &str) -> String {
    for scheme in ["https://", "http://"] {
        if let Some(rest) = api.strip_prefix(scheme)
            && let Some(host) = rest.strip_prefix("api.")
        {
            return format!("{scheme}apiz.{host}");
        }
    }
    api.to_owned()
}

/// The account a user token acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub username: String,
}

/// `GET https://apiz.ebay.com/commerce/identity/v1/user/` (scope `commerce.identity.readonly`).
pub async fn user(env: &ChannelEnv, token: &str) -> Result<User, ChannelError> {
    let url = format!(
        "{}/commerce/identity/v1/user/",
        identity_base(api_base(env)?)
    );
    let reply = call(env, reqwest::Method::GET, &url, token, None).await?;
    if !reply.status.is_success() {
        return Err(reply.failure("identity"));
    }
    let text = |key: &str| {
        reply
            .body
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_owned)
    };
    let user_id = text("userId")
        .ok_or_else(|| ChannelError::Protocol("the identity answer has no userId".into()))?;
    let username = text("username").unwrap_or_else(|| user_id.clone());
    Ok(User { user_id, username })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_lives_on_apiz() {
        assert_eq!(
            identity_base("https://api.ebay.com"),
            "https://apiz.ebay.com"
        );
        assert_eq!(
            identity_base("https://api.sandbox.ebay.com"),
            "https://apiz.sandbox.ebay.com"
        );
        assert_eq!(
            identity_base("http://127.0.0.1:9000/ebay"),
            "http://127.0.0.1:9000/ebay"
        );
    }

    #[test]
    fn paths_leave_hosts_and_queries_out() {
        assert_eq!(
            path_of("https://api.ebay.com/commerce/notification/v1/config?x=1"),
            "/commerce/notification/v1/config"
        );
    }
}
