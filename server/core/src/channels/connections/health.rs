//! Keeping connections working: a test call on demand, and refreshing access before it
//! expires (a scheduled job, and on demand when a marketplace says a token is no longer
//! valid). A refused refresh moves the connection to "needs reconnect" with the reason.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};
use shopmarkets_types::Marketplace;
use uuid::Uuid;

use super::{ConnectError, ConnectionView, Status, error_text, open, seal, view};
use crate::access::{AccessError, Permission, Scope};
use crate::audit::{AuditAction, NewAuditEvent};
use crate::channels::ChannelError;
use crate::channels::credentials::{ConnectionSecrets, Credentials};
use crate::channels::registry::Channels;
use crate::db::Db;
use crate::entity::channel_connection;

/// Access that expires within this window is renewed by the scheduled job.
pub const REFRESH_AHEAD_MINUTES: i64 = 10;

/// Checks a connection with a cheap call; an expired or refused token is refreshed once and
/// the call repeated. The outcome is stored as the connection's health.
pub async fn test_connection(
    db: &Db,
    channels: &Channels,
    scope: &Scope,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<ConnectionView, ConnectError> {
    scope.require(Permission::ViewOrganization)?;
    let mut model = super::find(db, scope, id).await?;
    if Status::parse(&model.status) == Status::Disconnected {
        return Err(ChannelError::InvalidCredentials("disconnected".into()).into());
    }
    let marketplace =
        Marketplace::from_code(&model.marketplace).ok_or(ConnectError::Unsupported)?;
    let (channel, env) = channels.get(marketplace).ok_or(ConnectError::Unsupported)?;
    let secrets = open(channels, &model)?;
    let mut outcome = channel.check(env, &model.account_id, &secrets).await;
    if matches!(outcome, Err(ChannelError::InvalidCredentials(_)))
        && secrets.credentials.refresh_token().is_some()
    {
        model = refresh_one(db, channels, model, now).await?;
        if Status::parse(&model.status) == Status::Active {
            let renewed = open(channels, &model)?;
            outcome = channel.check(env, &model.account_id, &renewed).await;
        }
    }
    let model = record_outcome(db, channels, model, outcome.err(), now).await?;
    view(&model).ok_or(AccessError::NotFound.into())
}

/// Stores the result of a call: success time, or the error (and "needs reconnect" when the
/// credentials cannot work again).
async fn record_outcome(
    db: &Db,
    channels: &Channels,
    model: channel_connection::Model,
    error: Option<ChannelError>,
    now: DateTime<Utc>,
) -> Result<channel_connection::Model, ConnectError> {
    let mut update = channel_connection::Entity::update_many()
        .col_expr(channel_connection::Column::UpdatedAt, Expr::value(now))
        .filter(channel_connection::Column::Id.eq(model.id));
    match &error {
        None => {
            update = update
                .col_expr(channel_connection::Column::LastSuccessAt, Expr::value(now))
                .col_expr(
                    channel_connection::Column::LastError,
                    Expr::value(Option::<String>::None),
                );
        }
        Some(error) => {
            update = update
                .col_expr(
                    channel_connection::Column::LastError,
                    Expr::value(error_text(error)),
                )
                .col_expr(channel_connection::Column::LastErrorAt, Expr::value(now));
            if error.needs_reconnect() && Status::parse(&model.status) == Status::Active {
                update = update.col_expr(
                    channel_connection::Column::Status,
                    Expr::value(Status::NeedsReconnect.code()),
                );
                audit_failure(db, &model, error).await?;
            }
        }
    }
    update.exec(db).await?;
    let _ = channels;
    channel_connection::Entity::find_by_id(model.id)
        .one(db)
        .await?
        .ok_or(AccessError::NotFound.into())
}

async fn audit_failure(
    db: &Db,
    model: &channel_connection::Model,
    error: &ChannelError,
) -> Result<(), ConnectError> {
    crate::audit::record(
        db,
        NewAuditEvent {
            organization_id: Some(model.organization_id),
            actor_user_id: None,
            action: AuditAction::ChannelRefreshFailed,
            ip: None,
            details: serde_json::json!({
                "connection_id": model.id,
                "marketplace": model.marketplace,
                "account": model.account_id,
                "reason": error.code(),
            }),
        },
    )
    .await?;
    Ok(())
}

/// Renews one connection's access. The new credentials replace the old in one update that
/// only applies to the version read (two workers refreshing at once cannot overwrite each
/// other); a rotated refresh token keeps its predecessor until the new one has worked once.
pub async fn refresh_one(
    db: &Db,
    channels: &Channels,
    model: channel_connection::Model,
    now: DateTime<Utc>,
) -> Result<channel_connection::Model, ConnectError> {
    let marketplace =
        Marketplace::from_code(&model.marketplace).ok_or(ConnectError::Unsupported)?;
    let (channel, env) = channels.get(marketplace).ok_or(ConnectError::Unsupported)?;
    let secrets = open(channels, &model)?;
    match channel
        .refresh(env, &model.account_id, &secrets.credentials)
        .await
    {
        Ok(fresh) => {
            let credentials = match (fresh, secrets.credentials.refresh_token()) {
                (
                    Credentials::OAuth {
                        access_token,
                        refresh_token,
                        access_expires_at,
                        refresh_expires_at,
                        ..
                    },
                    Some(old),
                ) if refresh_token.as_deref() != Some(old) => Credentials::OAuth {
                    access_token,
                    refresh_token,
                    access_expires_at,
                    refresh_expires_at,
                    previous_refresh_token: Some(old.to_owned()),
                },
                (fresh, _) => fresh,
            };
            let renewed = ConnectionSecrets {
                credentials,
                webhook_secret: secrets.webhook_secret,
            };
            let sealed = seal(channels, model.id, &renewed);
            let result = channel_connection::Entity::update_many()
                .col_expr(channel_connection::Column::Secrets, Expr::value(sealed))
                .col_expr(
                    channel_connection::Column::AccessExpiresAt,
                    Expr::value(renewed.credentials.access_expires_at()),
                )
                .col_expr(
                    channel_connection::Column::Version,
                    Expr::value(model.version + 1),
                )
                .col_expr(channel_connection::Column::UpdatedAt, Expr::value(now))
                .col_expr(channel_connection::Column::LastSuccessAt, Expr::value(now))
                .col_expr(
                    channel_connection::Column::LastError,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    channel_connection::Column::Status,
                    Expr::value(Status::Active.code()),
                )
                .filter(channel_connection::Column::Id.eq(model.id))
                .filter(channel_connection::Column::Version.eq(model.version))
                .exec(db)
                .await?;
            if result.rows_affected == 0 {
                tracing::debug!(connection = %model.id, "another worker refreshed this connection first");
            }
        }
        Err(error) => {
            // Another worker may have refreshed first with the same (now rotated) refresh
            // token: then this refusal says nothing about the connection.
            let current = channel_connection::Entity::find_by_id(model.id)
                .one(db)
                .await?
                .ok_or(AccessError::NotFound)?;
            if current.version != model.version {
                return Ok(current);
            }
            tracing::warn!(connection = %model.id, marketplace = %model.marketplace, reason = error.code(), "refreshing a connection failed");
            record_outcome(db, channels, model.clone(), Some(error), now).await?;
        }
    }
    channel_connection::Entity::find_by_id(model.id)
        .one(db)
        .await?
        .ok_or(AccessError::NotFound.into())
}

/// What the scheduled refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshReport {
    pub refreshed: usize,
    pub failed: usize,
}

/// Renews every active connection whose access expires within the next ten minutes.
pub async fn refresh_due(
    db: &Db,
    channels: &Channels,
    now: DateTime<Utc>,
) -> Result<RefreshReport, ConnectError> {
    let due = channel_connection::Entity::find()
        .filter(channel_connection::Column::Status.eq(Status::Active.code()))
        .filter(
            channel_connection::Column::AccessExpiresAt
                .lte(now + Duration::minutes(REFRESH_AHEAD_MINUTES)),
        )
        .all(db)
        .await?;
    let mut report = RefreshReport::default();
    for model in due {
        let id = model.id;
        match refresh_one(db, channels, model, now).await {
            Ok(after)
                if Status::parse(&after.status) == Status::Active && after.last_error.is_none() =>
            {
                report.refreshed += 1;
            }
            Ok(_) => report.failed += 1,
            Err(error) => {
                tracing::error!(connection = %id, error = %error, "refreshing a connection failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
