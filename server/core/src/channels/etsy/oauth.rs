//! The OAuth 2.0 side of Etsy through the `oauth2` crate: the client (PKCE S256, `client_id`
//! in the body, no client secret), our HTTP client for it, and the token answers.

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponse, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, ClientId, EndpointNotSet, EndpointSet, RedirectUrl, RequestTokenError,
    TokenResponse as _, TokenUrl,
};
use shopmarkets_types::Marketplace;

use super::endpoint;
use crate::channels::channel::{ChannelEnv, ChannelError};
use crate::channels::credentials::Credentials;

/// [S/U] Etsy's refresh tokens are reported to live 90 days.
const REFRESH_TOKEN_DAYS: i64 = 90;

pub(super) type OAuthClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The oauth2 client for our Etsy app: the keystring as client id, sent in the request body,
/// and no client secret (Etsy's token endpoint takes `client_id` only; the shared secret goes
/// into `x-api-key` on API calls).
pub(super) fn oauth_client(env: &ChannelEnv) -> Result<OAuthClient, ChannelError> {
    let app = env.app()?;
    let bad = |what: &str| ChannelError::Protocol(format!("the Etsy {what} URL is not valid"));
    let auth = AuthUrl::new(format!(
        "{}/oauth/connect",
        endpoint(env, "ETSY_CONNECT_URL")?
    ))
    .map_err(|_| bad("consent"))?;
    let token = TokenUrl::new(format!(
        "{}/v3/public/oauth/token",
        endpoint(env, "ETSY_API_URL")?
    ))
    .map_err(|_| bad("token"))?;
    let redirect =
        RedirectUrl::new(env.callback_url(Marketplace::Etsy)).map_err(|_| bad("callback"))?;
    Ok(BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_uri(auth)
        .set_token_uri(token)
        .set_redirect_uri(redirect)
        .set_auth_type(AuthType::RequestBody))
}

/// Maps a failed token request. `refreshing`: a refused grant means "connect again".
pub(super) fn token_error(
    error: RequestTokenError<ChannelError, BasicErrorResponse>,
    refreshing: bool,
) -> ChannelError {
    match error {
        RequestTokenError::Request(error) => error,
        RequestTokenError::ServerResponse(response) => {
            let text: String = response
                .error_description()
                .cloned()
                .unwrap_or_else(|| response.error().to_string())
                .chars()
                .take(300)
                .collect();
            match response.error() {
                BasicErrorResponseType::InvalidGrant if refreshing => {
                    ChannelError::RefreshRefused(text)
                }
                BasicErrorResponseType::InvalidGrant
                | BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => {
                    ChannelError::InvalidCredentials(text)
                }
                _ => ChannelError::Protocol(text),
            }
        }
        // The body is left out: it may hold tokens.
        RequestTokenError::Parse(_, _) => {
            ChannelError::Protocol("the token answer could not be read".into())
        }
        RequestTokenError::Other(text) => ChannelError::Protocol(text),
    }
}

/// The member id from a token: Etsy's tokens are `"<user_id>.<…>"`.
pub(super) fn user_id_of(token: &str) -> Result<&str, ChannelError> {
    token
        .split_once('.')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| ChannelError::Protocol("the token names no Etsy member".into()))
}

/// Credentials from a token answer, computed from `expires_in` on our clock.
pub(super) fn credentials_from(
    response: &oauth2::basic::BasicTokenResponse,
    old_refresh: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Credentials, ChannelError> {
    let access_token = response.access_token().secret().clone();
    let refresh_token = response
        .refresh_token()
        .map(|t| t.secret().clone())
        .or_else(|| old_refresh.map(str::to_owned))
        .ok_or_else(|| ChannelError::Protocol("no refresh token in the token answer".into()))?;
    let expires_in = response
        .expires_in()
        .and_then(|d| Duration::from_std(d).ok())
        .unwrap_or_else(|| Duration::hours(1));
    Ok(Credentials::OAuth {
        access_token,
        refresh_token: Some(refresh_token),
        access_expires_at: Some(now + expires_in),
        refresh_expires_at: Some(now + Duration::days(REFRESH_TOKEN_DAYS)),
        previous_refresh_token: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_comes_from_the_token_prefix() {
        assert_eq!(user_id_of("12345.abc").unwrap(), "12345");
        assert!(user_id_of("abc.def").is_err());
        assert!(user_id_of("12345").is_err());
    }
}
