//! Connecting marketplace accounts: start a flow, finish it from the callback (or connect with
//! keys), list, check, refresh, disconnect. Credentials are encrypted at rest under the
//! newest `ENCRYPTION_KEYS` key, bound to the connection's id, and decrypted only here and in
//! the adapters.
//!
//! A connect flow's state is random, stored only as its hash, single use, valid ten minutes,
//! bound to the browser session that started it and to the marketplace it was started for (a
//! callback arriving at another marketplace's endpoint is a mix-up and stores nothing).

mod flow;
mod health;
mod notifications;
mod rotation;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Set,
};
use serde::Serialize;
use shopmarkets_types::Marketplace;
use uuid::Uuid;

pub use flow::{connect_with_keys, finish, receive_handed_over_keys, start};
pub use health::{RefreshReport, refresh_due, refresh_one, test_connection};
pub use notifications::{Received, WebhookRejection, challenge, receive};
pub use rotation::{RotationReport, rotate_keys};

use super::channel::ChannelError;
use super::credentials::ConnectionSecrets;
use super::registry::Channels;
use crate::access::{AccessError, OrganizationScoped as _, Permission, Scope};
use crate::crypto::CryptoError;
use crate::db::{Db, DbError};
use crate::entity::channel_connection;

/// How long a connect flow may take between the redirect and the callback.
pub const FLOW_TTL_MINUTES: i64 = 10;

/// A connection as the connections page shows it: no credential, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionView {
    pub id: Uuid,
    pub marketplace: Marketplace,
    pub account_id: String,
    pub account_name: String,
    pub status: Status,
    pub scopes: Vec<String>,
    pub access_expires_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// `code` (see [`ChannelError::code`]) and the marketplace's own words, if any.
    pub last_error: Option<(String, String)>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub connected_at: DateTime<Utc>,
    pub disconnected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    NeedsReconnect,
    Disconnected,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Disconnected => "disconnected",
        }
    }

    fn parse(code: &str) -> Self {
        match code {
            "active" => Self::Active,
            "needs_reconnect" => Self::NeedsReconnect,
            _ => Self::Disconnected,
        }
    }
}

/// Why a connection step failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// No adapter for this marketplace.
    #[error("this marketplace cannot be connected yet")]
    Unsupported,
    /// The callback carried no state, or one we never issued (forged or from elsewhere).
    #[error("the answer does not belong to a connection started here")]
    UnknownState,
    /// The state was used before: a reload or a replayed callback.
    #[error("this answer was already used")]
    Reused,
    #[error("the connection took too long; start again")]
    Expired,
    /// The callback came back to another browser session than the one that started it.
    #[error("the answer belongs to another browser session")]
    WrongSession,
    /// The callback arrived at another marketplace's endpoint than the flow was started for.
    #[error("the answer came from another marketplace than the one being connected")]
    WrongMarketplace,
    #[error("stored credentials could not be read: {0}")]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sea_orm::DbErr> for ConnectError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

impl ConnectError {
    /// A stable code the UI translates.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Access(AccessError::NotFound) => "not_found",
            Self::Access(AccessError::Forbidden) => "forbidden",
            Self::Access(AccessError::Db(_)) | Self::Db(_) | Self::Crypto(_) => "internal",
            Self::Channel(error) => error.code(),
            Self::Unsupported => "unsupported",
            Self::UnknownState => "unknown_state",
            Self::Reused => "reused",
            Self::Expired => "expired",
            Self::WrongSession => "wrong_session",
            Self::WrongMarketplace => "wrong_marketplace",
        }
    }
}

/// The associated data that binds a connection's ciphertext to its row.
pub(crate) fn secrets_aad(connection_id: Uuid) -> String {
    format!("channel_connection:{connection_id}")
}

pub(crate) fn seal(
    channels: &Channels,
    connection_id: Uuid,
    secrets: &ConnectionSecrets,
) -> String {
    let json = serde_json::to_vec(secrets).expect("connection secrets serialize");
    channels
        .cipher()
        .encrypt(&json, &secrets_aad(connection_id))
}

pub(crate) fn open(
    channels: &Channels,
    model: &channel_connection::Model,
) -> Result<ConnectionSecrets, ConnectError> {
    let stored = model
        .secrets
        .as_deref()
        .ok_or(ChannelError::InvalidCredentials("disconnected".into()))?;
    let plain = channels.cipher().decrypt(stored, &secrets_aad(model.id))?;
    serde_json::from_slice(plain.expose()).map_err(|_| ConnectError::Crypto(CryptoError::Malformed))
}

pub(crate) fn view(model: &channel_connection::Model) -> Option<ConnectionView> {
    Some(ConnectionView {
        id: model.id,
        marketplace: Marketplace::from_code(&model.marketplace)?,
        account_id: model.account_id.clone(),
        account_name: model.account_name.clone(),
        status: Status::parse(&model.status),
        scopes: model.scopes.split_whitespace().map(str::to_owned).collect(),
        access_expires_at: model.access_expires_at,
        last_success_at: model.last_success_at,
        last_error: model.last_error.as_deref().map(|stored| {
            let (code, detail) = stored.split_once(": ").unwrap_or((stored, ""));
            (code.to_owned(), detail.to_owned())
        }),
        last_error_at: model.last_error_at,
        connected_at: model.created_at,
        disconnected_at: model.disconnected_at,
    })
}

/// How an error is kept on the connection: `code: the marketplace's words`.
pub(crate) fn error_text(error: &ChannelError) -> String {
    let detail = match error {
        ChannelError::Forged(d)
        | ChannelError::InvalidCredentials(d)
        | ChannelError::RefreshRefused(d)
        | ChannelError::Unavailable(d)
        | ChannelError::Protocol(d) => d.clone(),
        ChannelError::InvalidInput { message, .. } => (*message).to_owned(),
        ChannelError::NotConfigured | ChannelError::Denied | ChannelError::RateLimited => {
            String::new()
        }
    };
    let detail: String = detail.chars().take(500).collect();
    format!("{}: {detail}", error.code())
}

/// The organization's connections, newest first; disconnected ones stay listed (their
/// listings and orders are history).
pub async fn list(db: &Db, scope: &Scope) -> Result<Vec<ConnectionView>, ConnectError> {
    scope.require(Permission::ViewOrganization)?;
    let rows = channel_connection::Entity::find_in(scope)
        .order_by_desc(channel_connection::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows.iter().filter_map(view).collect())
}

/// One connection of the scope's organization.
pub async fn get(db: &Db, scope: &Scope, id: Uuid) -> Result<ConnectionView, ConnectError> {
    scope.require(Permission::ViewOrganization)?;
    let model = find(db, scope, id).await?;
    view(&model).ok_or(ConnectError::Access(AccessError::NotFound))
}

pub(crate) async fn find(
    db: &Db,
    scope: &Scope,
    id: Uuid,
) -> Result<channel_connection::Model, ConnectError> {
    channel_connection::Entity::find_by_id_in(scope, id)
        .one(db)
        .await?
        .ok_or(ConnectError::Access(AccessError::NotFound))
}

/// Disconnects: removes the notification subscriptions and revokes the credentials at the
/// marketplace where it offers that (both best effort: a marketplace that is down must not
/// keep a merchant from disconnecting), then deletes the credentials. The connection stays
/// listed as disconnected, so its listings and orders keep their history.
pub async fn disconnect(
    db: &Db,
    channels: &Channels,
    scope: &Scope,
    id: Uuid,
    ip: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<ConnectionView, ConnectError> {
    scope.require(Permission::ManageChannels)?;
    let model = find(db, scope, id).await?;
    if Status::parse(&model.status) == Status::Disconnected {
        return view(&model).ok_or(ConnectError::Access(AccessError::NotFound));
    }
    let marketplace =
        Marketplace::from_code(&model.marketplace).ok_or(ConnectError::Unsupported)?;
    let mut revoked = false;
    let mut webhooks_removed = 0;
    let mut problems = Vec::new();
    if let (Some((channel, env)), Ok(secrets)) = (channels.get(marketplace), open(channels, &model))
    {
        let ids: Vec<String> = serde_json::from_str(&model.webhook_ids).unwrap_or_default();
        if !ids.is_empty() {
            match channel
                .unregister_webhooks(env, &model.account_id, &secrets, &ids)
                .await
            {
                Ok(()) => webhooks_removed = ids.len(),
                Err(error) => problems.push(error_text(&error)),
            }
        }
        match channel.revoke(env, &model.account_id, &secrets).await {
            Ok(super::channel::Revocation::Revoked) => revoked = true,
            Ok(super::channel::Revocation::NotOffered) => {}
            Err(error) => problems.push(error_text(&error)),
        }
    }
    let txn = crate::db::begin_write(db).await?;
    let mut active: channel_connection::ActiveModel = model.clone().into();
    active.status = Set(Status::Disconnected.code().to_owned());
    active.secrets = Set(None);
    active.webhook_ids = Set("[]".to_owned());
    active.access_expires_at = Set(None);
    active.disconnected_at = Set(Some(now));
    active.updated_at = Set(now);
    active.version = Set(model.version + 1);
    let updated = active.update(&txn).await?;
    crate::audit::record_in(
        &txn,
        crate::audit::NewAuditEvent::in_scope(
            scope,
            crate::audit::AuditAction::ChannelDisconnected,
            ip,
            serde_json::json!({
                "connection_id": model.id,
                "marketplace": model.marketplace,
                "account": model.account_id,
                "revoked_at_marketplace": revoked,
                "webhooks_removed": webhooks_removed,
                "problems": problems,
            }),
        ),
    )
    .await?;
    txn.commit().await.map_err(DbError::Query)?;
    view(&updated).ok_or(ConnectError::Access(AccessError::NotFound))
}

/// Active connections of one marketplace account across every organization (notification
/// routing uses the connection id instead; this is for tests and operators).
pub async fn count_active(db: &Db) -> Result<u64, ConnectError> {
    use sea_orm::PaginatorTrait as _;
    Ok(channel_connection::Entity::find()
        .filter(channel_connection::Column::Status.eq(Status::Active.code()))
        .count(db)
        .await?)
}
