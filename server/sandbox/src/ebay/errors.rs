//! eBay's error bodies: the REST APIs answer `{"errors":[{errorId, domain, subdomain, category,
//! message, longMessage, parameters}]}`, the identity service answers OAuth-style
//! `{"error", "error_description"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which REST API a path belongs to: decides the error domain, the daily quota and the scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Inventory,
    Fulfillment,
    Notification,
    Analytics,
    Identity,
}

impl Api {
    pub fn of_path(path: &str) -> Option<Self> {
        if path.starts_with("/sell/inventory/") {
            Some(Self::Inventory)
        } else if path.starts_with("/sell/fulfillment/") {
            Some(Self::Fulfillment)
        } else if path.starts_with("/commerce/notification/") {
            Some(Self::Notification)
        } else if path.starts_with("/developer/analytics/") {
            Some(Self::Analytics)
        } else if path.starts_with("/commerce/identity/") {
            Some(Self::Identity)
        } else {
            None
        }
    }

    pub fn domain(self) -> &'static str {
        match self {
            Self::Inventory => "API_INVENTORY",
            Self::Fulfillment => "API_FULFILLMENT",
            Self::Notification => "API_NOTIFICATION",
            Self::Analytics => "API_ANALYTICS",
            Self::Identity => "API_IDENTITY",
        }
    }

    /// The error id of the API's "system error" (what an injected 5xx answers with).
    fn system_error_id(self) -> u64 {
        match self {
            Self::Inventory => 25001,
            Self::Fulfillment => 30500,
            Self::Notification => 195000,
            Self::Analytics => 50000,
            Self::Identity => 40000,
        }
    }

    /// The name of the daily quota this API counts against (`None`: not counted).
    pub fn quota(self) -> Option<&'static str> {
        match self {
            Self::Inventory => Some("inventory"),
            Self::Fulfillment => Some("fulfillment"),
            Self::Notification => Some("notification"),
            Self::Analytics | Self::Identity => None,
        }
    }
}

/// One entry of an `errors` array.
pub fn entry(
    id: u64,
    domain: &str,
    category: &str,
    message: &str,
    long: Option<&str>,
    params: &[(&str, &str)],
) -> Value {
    let mut e = json!({
        "errorId": id,
        "domain": domain,
        "category": category,
        "message": message,
    });
    if domain.starts_with("API_") {
        e["subdomain"] = json!(match domain {
            "API_FULFILLMENT" => "Selling",
            "API_NOTIFICATION" => "Notification",
            _ => "Selling",
        });
    }
    if let Some(long) = long {
        e["longMessage"] = json!(long);
    }
    if !params.is_empty() {
        e["parameters"] = params
            .iter()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect();
    }
    e
}

pub fn errors(status: StatusCode, list: Vec<Value>) -> Response {
    (status, Json(json!({ "errors": list }))).into_response()
}

/// A request error of one API.
pub fn request(status: StatusCode, api: Api, id: u64, message: &str) -> Response {
    errors(
        status,
        vec![entry(
            id,
            api.domain(),
            "REQUEST",
            message,
            Some(message),
            &[],
        )],
    )
}

pub fn request_with(
    status: StatusCode,
    api: Api,
    id: u64,
    message: &str,
    params: &[(&str, &str)],
) -> Response {
    errors(
        status,
        vec![entry(
            id,
            api.domain(),
            "REQUEST",
            message,
            Some(message),
            params,
        )],
    )
}

/// The gateway's answer to a body that is not valid JSON for the call.
pub fn bad_body(detail: &str) -> Response {
    errors(
        StatusCode::BAD_REQUEST,
        vec![entry(
            2004,
            "ACCESS",
            "REQUEST",
            "Invalid request",
            Some(&format!(
                "The request has errors. For help, see the documentation for this API. ({detail})"
            )),
            &[],
        )],
    )
}

/// An injected server error, in the API's shape.
pub fn system_error(api: Api) -> Response {
    errors(
        StatusCode::INTERNAL_SERVER_ERROR,
        vec![entry(
            api.system_error_id(),
            api.domain(),
            "APPLICATION",
            "A system error has occurred.",
            Some(
                "There was a problem with an eBay internal system or process. Contact eBay \
                 developer support for assistance.",
            ),
            &[],
        )],
    )
}

/// Over the daily quota (or an injected throttle). eBay documents no `Retry-After`; the option
/// `retry_after_secs` adds one.
pub fn too_many_requests(retry_after: Option<u64>) -> Response {
    let mut response = errors(
        StatusCode::TOO_MANY_REQUESTS,
        vec![entry(
            2001,
            "ACCESS",
            "REQUEST",
            "Too many requests. The request limit has been reached for the resource.",
            None,
            &[],
        )],
    );
    if let Some(secs) = retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

pub fn invalid_token() -> Response {
    errors(
        StatusCode::UNAUTHORIZED,
        vec![entry(
            1001,
            "OAuth",
            "REQUEST",
            "Invalid access token",
            Some("Invalid access token. Check the value of the Authorization HTTP request header."),
            &[],
        )],
    )
}

pub fn missing_token() -> Response {
    errors(
        StatusCode::UNAUTHORIZED,
        vec![entry(
            1002,
            "OAuth",
            "REQUEST",
            "Missing access token",
            Some("Access token is missing in the Authorization HTTP request header."),
            &[],
        )],
    )
}

pub fn invalid_token_type(header: &str) -> Response {
    let text: String = header.chars().take(40).collect();
    let message = format!("Token type in the Authorization header is invalid:{text}");
    errors(
        StatusCode::UNAUTHORIZED,
        vec![entry(
            1003,
            "OAuth",
            "REQUEST",
            &message,
            Some(&message),
            &[],
        )],
    )
}

pub fn insufficient_scope() -> Response {
    errors(
        StatusCode::FORBIDDEN,
        vec![entry(
            1100,
            "ACCESS",
            "REQUEST",
            "Access denied",
            Some("Insufficient permissions to fulfill the request."),
            &[],
        )],
    )
}

/// The identity service's OAuth error.
pub fn oauth(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub fn not_found_resource() -> Response {
    errors(
        StatusCode::NOT_FOUND,
        vec![entry(
            2002,
            "ACCESS",
            "REQUEST",
            "Resource not found",
            Some("Verify that the resource path is correct."),
            &[],
        )],
    )
}
