//! Server functions of the connections page: the organization's marketplace connections and
//! what can be connected, starting a connect flow (a redirect to the marketplace), connecting
//! with keys, testing and disconnecting.
//!
//! Each one authenticates, authorizes against the current organization, calls one service of
//! `shopmarkets_core::channels::connections` and answers a DTO. No credential ever crosses the
//! wire: the core's views hold none, and neither do these.
//!
//! Refusals are error messages the page translates: `unauthorized`, `forbidden` and
//! `not_found` (with 401/403/404, as everywhere), `invalid_input:<field>` (422), the codes of
//! `ConnectError::code` (`invalid_credentials`, `unavailable`, …). The forms also work without
//! scripts: a plain form post is redirected to the connections page with the outcome in the
//! query (`?connected=<id>`, `?tested=<id>`, `?disconnected=<id>`, `?error=<code>`), the same
//! query the marketplace callbacks end on.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How a marketplace is connected (the core's `ConnectKind`, which the browser does not have).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnectKind {
    /// A redirect to the marketplace's consent page and back (Shopify, Amazon, eBay, Etsy).
    #[serde(rename = "oauth")]
    OAuth,
    /// A redirect to the store, which hands keys over (WooCommerce); keys can also be entered
    /// by hand.
    #[serde(rename = "key_handover")]
    KeyHandover,
    /// Keys from the marketplace's seller portal (Kaufland).
    #[serde(rename = "api_keys")]
    ApiKeys,
}

#[cfg(feature = "ssr")]
impl From<shopmarkets_core::channels::channel::ConnectKind> for ConnectKind {
    fn from(kind: shopmarkets_core::channels::channel::ConnectKind) -> Self {
        use shopmarkets_core::channels::channel::ConnectKind as Core;
        match kind {
            Core::OAuth => ConnectKind::OAuth,
            Core::KeyHandover => ConnectKind::KeyHandover,
            Core::ApiKeys => ConnectKind::ApiKeys,
        }
    }
}

/// A connection's state on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    NeedsReconnect,
    Disconnected,
}

impl ConnectionStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Disconnected => "disconnected",
        }
    }
}

/// One permission ShopMarkets asks for (or was granted), in the request's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    /// As the marketplace names it (`write_products`, `listings_w`…).
    pub code: String,
    /// What it allows, in words; the code itself for a permission we do not know.
    pub text: String,
}

/// A marketplace the organization may connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceView {
    /// `shopmarkets_types::Marketplace::code` (`shopify`, `woo_commerce`…).
    pub marketplace: String,
    pub name: String,
    pub kind: ConnectKind,
    /// Whether this server can connect it: it has an app registration there, or the
    /// marketplace needs none (keys from the merchant).
    pub configured: bool,
    /// What ShopMarkets asks to be allowed.
    pub scopes: Vec<ScopeView>,
}

/// A connected marketplace account: never its credentials. Times are Unix seconds (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    pub marketplace: String,
    pub marketplace_name: String,
    pub kind: ConnectKind,
    /// What the merchant recognises (shop name, seller name, store URL).
    pub account_name: String,
    /// The shop domain, seller id, user id or store URL.
    pub account_id: String,
    pub status: ConnectionStatus,
    /// As granted.
    pub scopes: Vec<ScopeView>,
    pub access_expires_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// `ChannelError::code` of the last failed call (`invalid_credentials`…).
    pub last_error_code: Option<String>,
    /// The marketplace's own words about it, if any.
    pub last_error_detail: Option<String>,
    pub last_error_at: Option<i64>,
    pub connected_at: i64,
    pub disconnected_at: Option<i64>,
}

/// Everything the connections page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsView {
    /// Every marketplace, in `Marketplace::ALL` order.
    pub marketplaces: Vec<MarketplaceView>,
    /// Newest first; disconnected ones stay listed.
    pub connections: Vec<ConnectionView>,
    /// Connect, reconnect and disconnect (owners and admins).
    pub can_manage: bool,
    /// The server's time (Unix seconds), so countdowns start from the same clock as the dates.
    pub now: i64,
}

/// Server-side helpers.
#[cfg(feature = "ssr")]
mod server {
    use http::{StatusCode, header::ACCEPT};
    use leptos::prelude::*;
    use shopmarkets_core::channels::{
        Channels,
        channel::{ChannelError, ScopeInfo},
        connections::{self, ConnectError},
    };
    use shopmarkets_types::{Locale, Marketplace};

    use super::{ConnectKind, ConnectionStatus, ConnectionView, MarketplaceView, ScopeView};
    use crate::services::{access_error, internal_error};

    /// Where a plain form post goes after a change: the connections page, with the outcome.
    pub const PAGE: &str = "/connections";

    pub fn scope_text(info: &ScopeInfo, locale: Locale) -> String {
        match locale {
            Locale::De => info.de,
            Locale::En => info.en,
        }
        .to_owned()
    }

    /// The granted `codes` in words, where the marketplace's permission is known.
    fn scopes_in_words(
        channels: &Channels,
        marketplace: Marketplace,
        codes: &[String],
        locale: Locale,
    ) -> Vec<ScopeView> {
        let known = channels
            .get(marketplace)
            .map(|(channel, _)| channel.scopes())
            .unwrap_or_default();
        codes
            .iter()
            .map(|code| ScopeView {
                code: code.clone(),
                text: known
                    .iter()
                    .find(|info| info.code == code.as_str())
                    .map_or_else(|| code.clone(), |info| scope_text(info, locale)),
            })
            .collect()
    }

    /// How a marketplace is connected; the core's answer where there is an adapter.
    pub fn kind_of(channels: &Channels, marketplace: Marketplace) -> ConnectKind {
        match channels.get(marketplace) {
            Some((channel, _)) => channel.kind().into(),
            None => match marketplace {
                Marketplace::WooCommerce => ConnectKind::KeyHandover,
                Marketplace::Kaufland => ConnectKind::ApiKeys,
                _ => ConnectKind::OAuth,
            },
        }
    }

    pub fn marketplace_view(
        channels: &Channels,
        marketplace: Marketplace,
        locale: Locale,
    ) -> MarketplaceView {
        let (configured, scopes) = match channels.get(marketplace) {
            Some((channel, env)) => (
                env.app.is_some()
                    || channel.kind() != shopmarkets_core::channels::channel::ConnectKind::OAuth,
                channel
                    .scopes()
                    .iter()
                    .map(|info| ScopeView {
                        code: info.code.to_owned(),
                        text: scope_text(info, locale),
                    })
                    .collect(),
            ),
            None => (false, Vec::new()),
        };
        MarketplaceView {
            marketplace: marketplace.code().to_owned(),
            name: marketplace.name().to_owned(),
            kind: kind_of(channels, marketplace),
            configured,
            scopes,
        }
    }

    pub fn connection_view(
        channels: &Channels,
        view: connections::ConnectionView,
        locale: Locale,
    ) -> ConnectionView {
        use connections::Status;

        let (last_error_code, last_error_detail) = match view.last_error {
            Some((code, detail)) => (Some(code), Some(detail).filter(|d| !d.is_empty())),
            None => (None, None),
        };
        ConnectionView {
            id: view.id.to_string(),
            marketplace: view.marketplace.code().to_owned(),
            marketplace_name: view.marketplace.name().to_owned(),
            kind: kind_of(channels, view.marketplace),
            scopes: scopes_in_words(channels, view.marketplace, &view.scopes, locale),
            account_name: view.account_name,
            account_id: view.account_id,
            status: match view.status {
                Status::Active => ConnectionStatus::Active,
                Status::NeedsReconnect => ConnectionStatus::NeedsReconnect,
                Status::Disconnected => ConnectionStatus::Disconnected,
            },
            access_expires_at: view.access_expires_at.map(|at| at.timestamp()),
            last_success_at: view.last_success_at.map(|at| at.timestamp()),
            last_error_code,
            last_error_detail,
            last_error_at: view.last_error_at.map(|at| at.timestamp()),
            connected_at: view.connected_at.timestamp(),
            disconnected_at: view.disconnected_at.map(|at| at.timestamp()),
        }
    }

    pub fn marketplace(code: &str) -> Result<Marketplace, ServerFnError> {
        Marketplace::from_code(code.trim()).ok_or_else(|| {
            refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input:marketplace".to_owned(),
            )
        })
    }

    fn refused(status: StatusCode, message: String) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::new(message)
    }

    /// A refusal of the connection service as an error response the page translates.
    pub fn connect_error(err: ConnectError) -> ServerFnError {
        match err {
            ConnectError::Access(err) => access_error(err),
            err @ (ConnectError::Db(_) | ConnectError::Crypto(_)) => internal_error(err),
            ConnectError::Channel(ChannelError::InvalidInput { field, .. }) => refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid_input:{field}"),
            ),
            err => {
                let code = err.code();
                tracing::info!(reason = code, error = %err, "a connection step was refused");
                let status = match code {
                    "unavailable" | "rate_limited" | "protocol" => StatusCode::BAD_GATEWAY,
                    "not_configured" | "unsupported" => StatusCode::CONFLICT,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                refused(status, code.to_owned())
            }
        }
    }

    /// Whether the request is a plain form post (no scripts): it asks for HTML.
    fn plain_form() -> bool {
        use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// Sends a plain form post back to the page with the outcome in the query; a call from the
    /// page's script gets the answer itself.
    pub fn back_to_page(query: &str) {
        if plain_form() {
            leptos_axum::redirect(&format!("{PAGE}?{query}"));
        }
    }

    /// The answer of a change; a plain form post that was refused is sent back to the page,
    /// which explains the refusal.
    pub fn answer<T>(result: Result<T, ServerFnError>) -> Result<T, ServerFnError> {
        if let Err(ServerFnError::ServerError(message)) = &result {
            let code: String = message
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let code = if code == "internal_error" {
                "internal".to_owned()
            } else {
                code
            };
            back_to_page(&format!("error={code}"));
        }
        result
    }

    /// Empty form fields count as not given.
    pub fn given(value: Option<String>) -> Option<String> {
        value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }
}

/// The organization's connections (never their credentials), every marketplace with what it
/// asks to be allowed and whether this server can connect it, and whether the viewer may
/// change connections.
#[server(endpoint = "connections_overview")]
pub async fn connections_overview() -> Result<ConnectionsView, ServerFnError> {
    use shopmarkets_core::{access::Permission, channels::connections};
    use shopmarkets_types::Marketplace;

    use crate::services::{request_locale, scope, services};

    let (_user, scope) = scope(Permission::ViewOrganization).await?;
    let services = services()?;
    let locale = request_locale();
    let channels = &services.channels;
    let list = connections::list(&services.db, &scope)
        .await
        .map_err(server::connect_error)?;
    Ok(ConnectionsView {
        marketplaces: Marketplace::ALL
            .into_iter()
            .map(|m| server::marketplace_view(channels, m, locale))
            .collect(),
        connections: list
            .into_iter()
            .map(|view| server::connection_view(channels, view, locale))
            .collect(),
        can_manage: scope.can(Permission::ManageChannels),
        now: services.clock.now().timestamp(),
    })
}

/// Starts connecting a marketplace (or renewing the connection `reconnect`) and sends the
/// browser to the marketplace: the answer is the URL, and the response redirects there, with
/// and without scripts. `shop` is Shopify's shop domain or the WooCommerce store URL. The flow
/// is bound to this browser session; the marketplace's callback finishes it.
#[server(endpoint = "start_connection")]
pub async fn start_connection(
    marketplace: String,
    shop: Option<String>,
    reconnect: Option<String>,
) -> Result<String, ServerFnError> {
    use shopmarkets_core::{
        access::Permission,
        channels::{channel::ConnectInput, connections},
    };

    use crate::services::{internal_error, parse_id, scope, services};

    server::answer(
        async {
            let (user, scope) = scope(Permission::ManageChannels).await?;
            let services = services()?;
            let marketplace = server::marketplace(&marketplace)?;
            let reconnect = server::given(reconnect)
                .map(|id| parse_id(&id))
                .transpose()?;
            // The callback route reads the id the same way; a session is stored (and so has
            // an id) once someone signed in, but make sure.
            let session = &user.session;
            let session_id = match session.id() {
                Some(id) => id,
                None => {
                    session.save().await.map_err(internal_error)?;
                    session
                        .id()
                        .ok_or_else(|| internal_error("the session has no id after saving"))?
                }
            }
            .to_string();
            let input = ConnectInput {
                shop: server::given(shop),
                ..ConnectInput::default()
            };
            let url = connections::start(
                &services.db,
                &services.channels,
                &scope,
                &session_id,
                marketplace,
                &input,
                reconnect,
                services.clock.now(),
            )
            .await
            .map_err(server::connect_error)?;
            leptos_axum::redirect(&url);
            Ok(url)
        }
        .await,
    )
}

/// Connects with keys the merchant entered (Kaufland's client key and secret key; a
/// WooCommerce store URL with its consumer key and secret), after the marketplace accepted
/// them. The keys are stored encrypted and never shown again.
#[server(endpoint = "connect_with_keys")]
pub async fn connect_with_keys(
    marketplace: String,
    shop: Option<String>,
    key: String,
    secret: String,
) -> Result<ConnectionView, ServerFnError> {
    use shopmarkets_core::{
        Secret,
        access::Permission,
        channels::{channel::ConnectInput, connections},
    };

    use crate::services::{client_ip, request_locale, scope, services};

    server::answer(
        async {
            let (_user, scope) = scope(Permission::ManageChannels).await?;
            let services = services()?;
            let marketplace = server::marketplace(&marketplace)?;
            let input = ConnectInput {
                shop: server::given(shop),
                key: server::given(Some(key)),
                secret: server::given(Some(secret)).map(Secret::new),
            };
            let view = connections::connect_with_keys(
                &services.db,
                &services.channels,
                &scope,
                marketplace,
                &input,
                client_ip(),
                services.clock.now(),
            )
            .await
            .map_err(server::connect_error)?;
            server::back_to_page(&format!("connected={}", view.id));
            Ok(server::connection_view(
                &services.channels,
                view,
                request_locale(),
            ))
        }
        .await,
    )
}

/// Checks a connection with a cheap call to the marketplace (renewing its access once if the
/// marketplace refuses it) and answers the connection with the outcome stored: a failure is
/// its `last_error`, not an error of this call.
#[server(endpoint = "test_connection")]
pub async fn test_connection(id: String) -> Result<ConnectionView, ServerFnError> {
    use shopmarkets_core::{access::Permission, channels::connections};

    use crate::services::{parse_id, request_locale, scope, services};

    server::answer(
        async {
            let (_user, scope) = scope(Permission::ViewOrganization).await?;
            let services = services()?;
            let id = parse_id(&id)?;
            let view = connections::test_connection(
                &services.db,
                &services.channels,
                &scope,
                id,
                services.clock.now(),
            )
            .await
            .map_err(server::connect_error)?;
            server::back_to_page(&format!("tested={}", view.id));
            Ok(server::connection_view(
                &services.channels,
                view,
                request_locale(),
            ))
        }
        .await,
    )
}

/// Disconnects: the marketplace's notifications are unsubscribed and its credentials revoked
/// where it offers that, then deleted here. The connection stays listed as disconnected, with
/// its listings and orders.
#[server(endpoint = "disconnect")]
pub async fn disconnect(id: String) -> Result<ConnectionView, ServerFnError> {
    use shopmarkets_core::{access::Permission, channels::connections};

    use crate::services::{client_ip, parse_id, request_locale, scope, services};

    server::answer(
        async {
            let (_user, scope) = scope(Permission::ManageChannels).await?;
            let services = services()?;
            let id = parse_id(&id)?;
            let view = connections::disconnect(
                &services.db,
                &services.channels,
                &scope,
                id,
                client_ip(),
                services.clock.now(),
            )
            .await
            .map_err(server::connect_error)?;
            server::back_to_page(&format!("disconnected={}", view.id));
            Ok(server::connection_view(
                &services.channels,
                view,
                request_locale(),
            ))
        }
        .await,
    )
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_travel_as_codes() {
        assert_eq!(
            serde_json::to_string(&ConnectKind::OAuth).unwrap(),
            "\"oauth\""
        );
        assert_eq!(
            serde_json::to_string(&ConnectKind::KeyHandover).unwrap(),
            "\"key_handover\""
        );
        assert_eq!(
            serde_json::to_string(&ConnectKind::ApiKeys).unwrap(),
            "\"api_keys\""
        );
        for status in [
            ConnectionStatus::Active,
            ConnectionStatus::NeedsReconnect,
            ConnectionStatus::Disconnected,
        ] {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{}\"", status.code())
            );
        }
    }
}
