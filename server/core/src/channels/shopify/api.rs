//! Shopify's HTTP endpoints: the token endpoint (code and refresh), the Admin GraphQL API,
//! the app's uninstall, and the mapping of their answers to [`ChannelError`].

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::API_VERSION;
use crate::channels::channel::{ChannelEnv, ChannelError};
use crate::channels::credentials::{ConnectionSecrets, Credentials};

/// Shopify's documented refresh token lifetime, used when the answer does not state it.
const REFRESH_TOKEN_DAYS: i64 = 90;

/// The token endpoint's answer. No `Debug`: it holds tokens.
#[derive(Deserialize)]
pub(super) struct TokenResponse {
    access_token: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Option<i64>,
}

impl TokenResponse {
    pub(super) fn scopes(&self) -> Vec<String> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub(super) fn credentials(self, now: DateTime<Utc>, keep_refresh: Option<&str>) -> Credentials {
        let refresh_token = self
            .refresh_token
            .filter(|t| !t.is_empty())
            .or_else(|| keep_refresh.map(str::to_owned));
        let refresh_expires_at = refresh_token.as_ref().map(|_| {
            now + Duration::seconds(
                self.refresh_token_expires_in
                    .unwrap_or(REFRESH_TOKEN_DAYS * 86_400),
            )
        });
        Credentials::OAuth {
            access_token: self.access_token,
            refresh_token,
            access_expires_at: self.expires_in.map(|s| now + Duration::seconds(s)),
            refresh_expires_at,
            previous_refresh_token: None,
        }
    }
}

/// The marketplace's own words from an error body, without echoing anything else of it.
pub(super) fn error_text(status: reqwest::StatusCode, body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(value) => {
            if let Some(error) = value.get("error").and_then(Value::as_str) {
                match value.get("error_description").and_then(Value::as_str) {
                    Some(description) => format!("{error}: {description}"),
                    None => error.to_owned(),
                }
            } else {
                match value.get("errors") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(list)) => list
                        .iter()
                        .filter_map(|e| e.get("message").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("; "),
                    Some(other) => other.to_string(),
                    None => String::new(),
                }
            }
        }
        Err(_) => String::new(),
    };
    let text: String = text.chars().take(300).collect();
    if text.is_empty() {
        format!("HTTP {status}")
    } else {
        text
    }
}

/// Maps an unsuccessful HTTP status of an Admin API call.
pub(super) fn api_error(status: reqwest::StatusCode, body: &[u8]) -> ChannelError {
    let text = error_text(status, body);
    match status.as_u16() {
        401 | 403 => ChannelError::InvalidCredentials(text),
        429 => ChannelError::RateLimited,
        // 402: the shop is frozen (unpaid); 423: locked. Nothing the merchant fixes here.
        402 | 423 => ChannelError::Unavailable(text),
        500..=599 => ChannelError::Unavailable(text),
        _ => ChannelError::Protocol(text),
    }
}

pub(super) fn admin_url(env: &ChannelEnv, shop: &str, path: &str) -> String {
    format!("{}{path}", env.endpoints.shopify_admin_url(shop))
}

pub(super) fn access_token(secrets: &ConnectionSecrets) -> Result<&str, ChannelError> {
    secrets
        .credentials
        .access_token()
        .ok_or_else(|| ChannelError::InvalidCredentials("no access token".into()))
}

/// `POST {shop}/admin/oauth/access_token` with a JSON body (code or refresh token).
pub(super) async fn token_call(
    env: &ChannelEnv,
    shop: &str,
    grant: Value,
    refreshing: bool,
) -> Result<TokenResponse, ChannelError> {
    let app = env.app()?;
    let mut body = json!({
        "client_id": app.client_id,
        "client_secret": app.client_secret.expose(),
    });
    if let (Some(body), Value::Object(grant)) = (body.as_object_mut(), grant) {
        body.extend(grant);
    }
    let response = env
        .http
        .post(admin_url(env, shop, "/admin/oauth/access_token"))
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    if status.is_success() {
        return serde_json::from_slice::<TokenResponse>(&bytes)
            .ok()
            .filter(|t| !t.access_token.is_empty())
            .ok_or_else(|| ChannelError::Protocol("token answer without an access token".into()));
    }
    let text = error_text(status, &bytes);
    Err(match status.as_u16() {
        // Shopify answers a refused code or refresh token (unknown, used, expired, revoked)
        // and bad client credentials with 400/401 and an OAuth error.
        400 | 401 | 403 if refreshing && !text.starts_with("invalid_client") => {
            ChannelError::RefreshRefused(text)
        }
        400 | 401 | 403 => ChannelError::InvalidCredentials(text),
        429 => ChannelError::RateLimited,
        500..=599 => ChannelError::Unavailable(text),
        _ => ChannelError::Protocol(text),
    })
}

/// One Admin GraphQL call; returns `data`.
pub(super) async fn graphql(
    env: &ChannelEnv,
    shop: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Value, ChannelError> {
    let response = env
        .http
        .post(admin_url(
            env,
            shop,
            &format!("/admin/api/{API_VERSION}/graphql.json"),
        ))
        .header("X-Shopify-Access-Token", token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    if !status.is_success() {
        return Err(api_error(status, &bytes));
    }
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|_| ChannelError::Protocol("the GraphQL answer is not JSON".into()))?;
    if let Some(errors) = body.get("errors").and_then(Value::as_array)
        && !errors.is_empty()
    {
        let code = |e: &Value| {
            e.pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let text = error_text(status, &bytes);
        // Throttling arrives as HTTP 200 with a THROTTLED error.
        if errors.iter().any(|e| code(e) == "THROTTLED") {
            return Err(ChannelError::RateLimited);
        }
        if errors.iter().any(|e| code(e) == "ACCESS_DENIED") {
            return Err(ChannelError::InvalidCredentials(text));
        }
        return Err(ChannelError::Protocol(text));
    }
    body.get("data")
        .filter(|d| d.is_object())
        .cloned()
        .ok_or_else(|| ChannelError::Protocol("the GraphQL answer has no data".into()))
}

/// The shop's name, the cheap authenticated read.
pub(super) async fn shop_name(
    env: &ChannelEnv,
    shop: &str,
    token: &str,
) -> Result<String, ChannelError> {
    let data = graphql(env, shop, token, "{ shop { name } }", json!({})).await?;
    data.pointer("/shop/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ChannelError::Protocol("the shop has no name".into()))
}

/// `DELETE {shop}/admin/api_permissions/current.json`: uninstalls the app from the shop,
/// which revokes its tokens and removes its subscriptions.
pub(super) async fn uninstall(
    env: &ChannelEnv,
    shop: &str,
    token: &str,
) -> Result<(), ChannelError> {
    let response = env
        .http
        .delete(admin_url(env, shop, "/admin/api_permissions/current.json"))
        .header("X-Shopify-Access-Token", token)
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    Err(api_error(status, &bytes))
}

/// A user error list of a mutation payload, as text.
pub(super) fn user_errors(payload: &Value) -> Option<String> {
    let list = payload.get("userErrors")?.as_array()?;
    (!list.is_empty()).then(|| {
        list.iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The shop's subscriptions to `endpoint`: (topic, id).
pub(super) async fn existing_subscriptions(
    env: &ChannelEnv,
    shop: &str,
    token: &str,
    endpoint: &str,
) -> Result<Vec<(String, String)>, ChannelError> {
    let data = graphql(
        env,
        shop,
        token,
        "{ webhookSubscriptions(first: 100) { nodes { id topic uri } } }",
        json!({}),
    )
    .await?;
    let nodes = data
        .pointer("/webhookSubscriptions/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| ChannelError::Protocol("no subscription list".into()))?;
    Ok(nodes
        .iter()
        .filter(|n| n.get("uri").and_then(Value::as_str) == Some(endpoint))
        .filter_map(|n| {
            Some((
                n.get("topic")?.as_str()?.to_owned(),
                n.get("id")?.as_str()?.to_owned(),
            ))
        })
        .collect())
}

pub(super) async fn delete_subscriptions(
    env: &ChannelEnv,
    shop: &str,
    token: &str,
    ids: &[String],
) -> Result<(), ChannelError> {
    if ids.is_empty() {
        return Ok(());
    }
    // One request for all of them: aliases d0, d1… with a variable each.
    let variables: serde_json::Map<String, Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("id{i}"), Value::String(id.clone())))
        .collect();
    let params: Vec<String> = (0..ids.len()).map(|i| format!("$id{i}: ID!")).collect();
    let fields: String = (0..ids.len())
        .map(|i| {
            format!(
                " d{i}: webhookSubscriptionDelete(id: $id{i}) \
                 {{ deletedWebhookSubscriptionId userErrors {{ field message }} }}"
            )
        })
        .collect();
    let query = format!("mutation Unsubscribe({}) {{{fields} }}", params.join(", "));
    let data = graphql(env, shop, token, &query, Value::Object(variables)).await?;
    let mut problems = Vec::new();
    for i in 0..ids.len() {
        let payload = data.get(format!("d{i}")).unwrap_or(&Value::Null);
        if payload
            .get("deletedWebhookSubscriptionId")
            .is_some_and(|v| v.is_string())
        {
            continue;
        }
        // Already gone (deleted after failures, or by an uninstall) is what we wanted.
        match user_errors(payload) {
            Some(text) if text.contains("does not exist") => {}
            Some(text) => problems.push(text),
            None => problems.push("no answer for a subscription".to_owned()),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ChannelError::Protocol(problems.join("; ")))
    }
}
