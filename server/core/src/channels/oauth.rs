//! The `oauth2` crate's HTTP client: our marketplace client (reqwest, with `EXTRA_CA_CERT`).
//! Throttling and server errors are answered here, before the crate would read a
//! marketplace's error page as an OAuth error body.

use super::channel::ChannelError;

/// Sends one token request; `service` names the token endpoint in errors ("Login with
/// Amazon"). Used as `.request_async(&|request| oauth::send(http.clone(), request, "…"))`.
pub(crate) async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
    service: &'static str,
) -> Result<oauth2::HttpResponse, ChannelError> {
    let (parts, body) = request.into_parts();
    let response = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let status = response.status();
    if status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(ChannelError::RateLimited);
    }
    if status.is_server_error() {
        return Err(ChannelError::Unavailable(format!(
            "{service} answered {status}"
        )));
    }
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ChannelError::transport(&e))?;
    let mut answer = http::Response::new(bytes.to_vec());
    *answer.status_mut() = status;
    *answer.headers_mut() = headers;
    Ok(answer)
}
