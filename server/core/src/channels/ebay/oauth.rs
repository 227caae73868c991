//! eBay's OAuth 2.0 through the `oauth2` crate: the consent URL, the authorization-code and
//! refresh grants (user tokens), and the client-credentials grant (the application token the
//! notification public keys are read with).
//!
//! eBay's `redirect_uri` is the RuName, a name and not a URL, which the crate's `RedirectUrl`
//! refuses; it is therefore sent as an extra parameter on the consent URL and the code grant
//! (the client has no redirect URL set, so the crate adds none of its own). Everything else is
//! standard: HTTP Basic client authentication, form bodies, `token_type` "User Access Token"
//! (read as `BasicTokenType::Extension`).

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::{SCOPES, api_base};
use crate::channels::channel::{ChannelEnv, ChannelError};
use crate::channels::credentials::Credentials;

/// eBay's access tokens live two hours; used when an answer leaves `expires_in` out.
const DEFAULT_ACCESS_SECS: u64 = 7200;

/// The scope of application tokens (what `GET /public_key/{kid}` needs).
pub const APP_SCOPE: &str = "https://api.ebay.com/oauth/api_scope";

/// eBay's addition to the token answer: the refresh token's lifetime (~18 months).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EbayTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

impl ExtraTokenFields for EbayTokenFields {}

pub type EbayTokenResponse = StandardTokenResponse<EbayTokenFields, BasicTokenType>;

type TokenClient = oauth2::Client<
    BasicErrorResponse,
    EbayTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The RuName our app registration names our accept URL with.
pub fn ru_name(env: &ChannelEnv) -> Result<&str, ChannelError> {
    env.app()?
        .extra("ru_name")
        .filter(|r| !r.is_empty())
        .ok_or(ChannelError::NotConfigured)
}

/// `{EBAY_AUTH_URL}/oauth2/authorize?response_type=code&client_id&state&scope&redirect_uri`.
pub fn consent_url(env: &ChannelEnv, state: &str) -> Result<String, ChannelError> {
    let app = env.app()?;
    let ru_name = ru_name(env)?;
    let base = env
        .endpoints
        .endpoint("EBAY_AUTH_URL")
        .ok_or(ChannelError::NotConfigured)?
        .trim_end_matches('/');
    let auth_url = AuthUrl::new(format!("{base}/oauth2/authorize"))
        .map_err(|_| ChannelError::NotConfigured)?;
    let client = oauth2::basic::BasicClient::new(ClientId::new(app.client_id.clone()))
        .set_auth_uri(auth_url);
    let state = state.to_owned();
    let (url, _) = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.code.to_owned())))
        .add_extra_param("redirect_uri", ru_name)
        .url();
    Ok(url.into())
}

fn token_client(env: &ChannelEnv) -> Result<TokenClient, ChannelError> {
    let app = env.app()?;
    let token_url = TokenUrl::new(format!("{}/identity/v1/oauth2/token", api_base(env)?))
        .map_err(|_| ChannelError::NotConfigured)?;
    Ok(oauth2::Client::new(ClientId::new(app.client_id.clone()))
        .set_client_secret(ClientSecret::new(app.client_secret.expose().clone()))
        .set_auth_type(AuthType::BasicAuth)
        .set_token_uri(token_url))
}

/// Which grant a token request was, for mapping `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Code,
    Refresh,
    Application,
}

/// The identity service's errors in our terms. A refused code (expired after 299 s, used
/// before, or issued for another RuName) is `InvalidCredentials`: the merchant starts again. A
/// refused refresh token (revoked in My eBay, expired after 18 months, or asked for a scope the
/// merchant never granted) is `RefreshRefused`. A refused client (our app secret) is
/// `InvalidCredentials`. Response bodies are never quoted: a success body that failed to parse
/// would carry tokens.
fn token_error(
    error: RequestTokenError<ChannelError, BasicErrorResponse>,
    grant: Grant,
) -> ChannelError {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let description = response
                .error_description()
                .cloned()
                .unwrap_or_else(|| response.error().to_string());
            match (response.error(), grant) {
                (
                    BasicErrorResponseType::InvalidGrant | BasicErrorResponseType::InvalidScope,
                    Grant::Refresh,
                ) => ChannelError::RefreshRefused(description),
                (
                    BasicErrorResponseType::InvalidGrant
                    | BasicErrorResponseType::InvalidClient
                    | BasicErrorResponseType::UnauthorizedClient,
                    _,
                ) => ChannelError::InvalidCredentials(description),
                (other, _) => ChannelError::Protocol(format!("{other}: {description}")),
            }
        }
        RequestTokenError::Request(error) => error,
        RequestTokenError::Parse(error, _body) => ChannelError::Protocol(format!(
            "the token answer could not be read at {}",
            error.path()
        )),
        RequestTokenError::Other(text) => ChannelError::Protocol(text),
    }
}

fn expires_at(seconds: Option<u64>, default: u64) -> DateTime<Utc> {
    let seconds = seconds.unwrap_or(default).min(10 * 365 * 86_400);
    Utc::now() + Duration::seconds(seconds as i64)
}

/// Redeems the consent's code: `grant_type=authorization_code&code&redirect_uri=<RuName>`.
pub async fn redeem_code(env: &ChannelEnv, code: &str) -> Result<Credentials, ChannelError> {
    let client = token_client(env)?;
    let http = env.http.clone();
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .add_extra_param("redirect_uri", ru_name(env)?)
        .request_async(&|request| {
            crate::channels::oauth::send(http.clone(), request, "the eBay identity service")
        })
        .await
        .map_err(|e| token_error(e, Grant::Code))?;
    let access_token = token.access_token().secret().clone();
    let refresh_token = token
        .refresh_token()
        .map(|t| t.secret().clone())
        .filter(|t| !t.is_empty());
    if access_token.is_empty() || refresh_token.is_none() {
        return Err(ChannelError::Protocol(
            "the token answer lacks the access or refresh token".into(),
        ));
    }
    Ok(Credentials::OAuth {
        access_token,
        refresh_token,
        access_expires_at: Some(expires_at(
            token.expires_in().map(|d| d.as_secs()),
            DEFAULT_ACCESS_SECS,
        )),
        refresh_expires_at: token
            .extra_fields()
            .refresh_token_expires_in
            .map(|s| expires_at(Some(s), s)),
        previous_refresh_token: None,
    })
}

/// A new access token from the refresh token, for the scopes ShopMarkets asks for (eBay
/// requires them to be the granted ones or a subset). eBay does not rotate refresh tokens: the
/// one we hold is kept, with its expiry.
pub async fn refresh(
    env: &ChannelEnv,
    credentials: &Credentials,
) -> Result<Credentials, ChannelError> {
    let Credentials::OAuth {
        refresh_token: Some(refresh_token),
        refresh_expires_at,
        ..
    } = credentials
    else {
        return match credentials {
            Credentials::ApiKeys { .. } => Ok(credentials.clone()),
            Credentials::OAuth { .. } => Err(ChannelError::RefreshRefused(
                "the connection holds no refresh token".into(),
            )),
        };
    };
    let client = token_client(env)?;
    let http = env.http.clone();
    let refresh = RefreshToken::new(refresh_token.clone());
    let token = client
        .exchange_refresh_token(&refresh)
        .add_scopes(SCOPES.iter().map(|s| Scope::new(s.code.to_owned())))
        .request_async(&|request| {
            crate::channels::oauth::send(http.clone(), request, "the eBay identity service")
        })
        .await
        .map_err(|e| token_error(e, Grant::Refresh))?;
    let access_token = token.access_token().secret().clone();
    if access_token.is_empty() {
        return Err(ChannelError::Protocol(
            "the token answer has no access_token".into(),
        ));
    }
    Ok(Credentials::OAuth {
        access_token,
        refresh_token: Some(refresh_token.clone()),
        access_expires_at: Some(expires_at(
            token.expires_in().map(|d| d.as_secs()),
            DEFAULT_ACCESS_SECS,
        )),
        refresh_expires_at: *refresh_expires_at,
        previous_refresh_token: None,
    })
}

/// An application token (client-credentials grant, scope `api_scope`) and its lifetime.
pub async fn application_token(
    env: &ChannelEnv,
) -> Result<(String, std::time::Duration), ChannelError> {
    let client = token_client(env)?;
    let http = env.http.clone();
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new(APP_SCOPE.to_owned()))
        .request_async(&|request| {
            crate::channels::oauth::send(http.clone(), request, "the eBay identity service")
        })
        .await
        .map_err(|e| token_error(e, Grant::Application))?;
    let lifetime = token
        .expires_in()
        .unwrap_or(std::time::Duration::from_secs(DEFAULT_ACCESS_SECS));
    Ok((token.access_token().secret().clone(), lifetime))
}
