//! One shape for every error response: `{"code", "message", "request_id"}`, with nothing
//! internal in it. Handlers return [`ApiError`]; bare errors from lower layers (timeouts,
//! oversized bodies, panics) are rewritten into the same shape by [`shape`].

use axum::{
    body::Body,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A public error: a stable machine code and a sentence for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found() -> Self {
        let (code, message) = describe(StatusCode::NOT_FOUND);
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
}

/// Carried in the response's extensions until [`shape`] writes the body, because only the
/// outer layer knows the request id.
#[derive(Debug, Clone)]
struct PublicError {
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(PublicError {
            code: self.code,
            message: self.message,
        });
        response
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    request_id: &'a str,
}

/// Writes the error body for [`ApiError`]s, and replaces the plain-text bodies of bare error
/// statuses. Pages (HTML), JSON bodies and server-function errors (which the browser decodes
/// itself) pass through untouched.
pub fn shape(response: Response, request_id: &str) -> Response {
    let status = response.status();
    let public = response.extensions().get::<PublicError>().cloned();
    let public = match public {
        Some(public) => public,
        None if is_bare_error(&response) => {
            let (code, message) = describe(status);
            PublicError {
                code,
                message: message.to_owned(),
            }
        }
        None => return response,
    };
    let body = serde_json::to_vec(&ErrorBody {
        code: public.code,
        message: &public.message,
        request_id,
    })
    .unwrap_or_default();
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

fn is_bare_error(response: &Response) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    if response
        .headers()
        .contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return false;
    }
    match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(value) => value.to_str().is_ok_and(|v| v.starts_with("text/plain")),
    }
}

/// The public code and message for a status.
pub fn describe(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("bad_request", "The request is malformed."),
        StatusCode::UNAUTHORIZED => ("unauthorized", "Authentication is required."),
        StatusCode::FORBIDDEN => ("forbidden", "You may not do this."),
        StatusCode::NOT_FOUND => ("not_found", "There is nothing at this address."),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("method_not_allowed", "This method is not allowed here.")
        }
        StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long."),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "The content type is not supported here.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid_input", "The input is not valid."),
        StatusCode::TOO_MANY_REQUESTS => (
            "too_many_requests",
            "Too many requests; please wait and retry.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            "unavailable",
            "The service is busy or unavailable; please retry shortly.",
        ),
        s if s.is_client_error() => ("client_error", "The request cannot be processed."),
        _ => (
            "internal",
            "Something went wrong on our side; it has been logged.",
        ),
    }
}

/// Turns a panic inside a handler into a 500 in the public shape; the panic itself goes to the
/// log (and Sentry), never to the client.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "a request handler panicked");
    let (code, message) = describe(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn json(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), 64 * 1024).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_panic_becomes_a_500_that_says_nothing_of_it() {
        let response = shape(panic_response(Box::new("secret detail in panic")), "rid-1");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = json(response).await;
        assert_eq!(body["code"], "internal");
        assert_eq!(body["request_id"], "rid-1");
        assert!(!body.to_string().contains("secret detail"));
    }

    #[tokio::test]
    async fn a_bare_timeout_status_gets_the_shape() {
        let response = shape(StatusCode::SERVICE_UNAVAILABLE.into_response(), "rid-2");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(json(response).await["code"], "unavailable");
    }

    #[tokio::test]
    async fn plain_text_error_bodies_are_replaced() {
        let response = (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response();
        let body = json(shape(response, "rid-3")).await;
        assert_eq!(body["code"], "payload_too_large");
        assert!(!body.to_string().contains("length limit"));
    }

    #[test]
    fn pages_json_and_server_function_errors_pass_through() {
        let html = (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<h1>Page not found</h1>",
        )
            .into_response();
        assert_eq!(
            shape(html, "r").headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );

        let server_fn = (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(leptos::server_fn::error::SERVER_FN_ERROR_HEADER, "/api/x")],
            "encoded error for the wasm client",
        )
            .into_response();
        let shaped = shape(server_fn, "r");
        assert_ne!(shaped.headers()[header::CONTENT_TYPE], "application/json");

        let ok = StatusCode::OK.into_response();
        assert_eq!(shape(ok, "r").status(), StatusCode::OK);
    }
}
