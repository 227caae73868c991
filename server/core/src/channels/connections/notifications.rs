//! Notifications from the marketplaces: verified against the connection's secret and stored
//! once per event id. Processing them (orders, stock) belongs to the sync.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use shopmarkets_types::Marketplace;
use uuid::Uuid;

use super::{ConnectError, Status, open};
use crate::channels::channel::{IncomingWebhook, WebhookError};
use crate::channels::registry::Channels;
use crate::db::Db;
use crate::entity::{channel_connection, channel_event};

/// What happened to a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Stored,
    /// The same event id arrived before (a retry or a duplicate delivery).
    Duplicate,
    /// An endpoint test (WooCommerce's ping): nothing to store.
    Ping,
}

/// Why a notification was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookRejection {
    /// No such connection at this marketplace's endpoint.
    #[error("unknown connection")]
    UnknownConnection,
    /// The connection was disconnected: the marketplace should stop sending.
    #[error("the connection was disconnected")]
    Gone,
    #[error(transparent)]
    Invalid(#[from] WebhookError),
    #[error(transparent)]
    Internal(#[from] ConnectError),
}

async fn connection(
    db: &Db,
    marketplace: Marketplace,
    connection_id: Uuid,
) -> Result<channel_connection::Model, WebhookRejection> {
    let model = channel_connection::Entity::find_by_id(connection_id)
        .one(db)
        .await
        .map_err(ConnectError::from)?
        .filter(|m| m.marketplace == marketplace.code())
        .ok_or(WebhookRejection::UnknownConnection)?;
    if Status::parse(&model.status) == Status::Disconnected {
        return Err(WebhookRejection::Gone);
    }
    Ok(model)
}

/// Verifies and stores one notification.
pub async fn receive(
    db: &Db,
    channels: &Channels,
    marketplace: Marketplace,
    connection_id: Uuid,
    incoming: IncomingWebhook<'_>,
    now: DateTime<Utc>,
) -> Result<Received, WebhookRejection> {
    let model = connection(db, marketplace, connection_id).await?;
    let (channel, env) = channels
        .get(marketplace)
        .ok_or(WebhookRejection::UnknownConnection)?;
    let secrets = open(channels, &model)?;
    channel
        .prepare_webhook(env, incoming)
        .await
        .map_err(ConnectError::from)?;
    let event = channel.verify_webhook(env, &secrets, incoming)?;
    if event.ping {
        return Ok(Received::Ping);
    }
    let stored = channel_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        connection_id: Set(model.id),
        organization_id: Set(model.organization_id),
        marketplace: Set(model.marketplace.clone()),
        event_id: Set(event.event_id.chars().take(255).collect()),
        topic: Set(event.topic.chars().take(128).collect()),
        payload: Set(String::from_utf8_lossy(incoming.body).into_owned()),
        received_at: Set(now),
        processed_at: Set(None),
    }
    .insert(db)
    .await;
    match stored {
        Ok(_) => Ok(Received::Stored),
        Err(error) if crate::db::is_unique_violation(&error) => Ok(Received::Duplicate),
        Err(error) => Err(ConnectError::from(error).into()),
    }
}

/// Answers an endpoint check the marketplace sends with a GET (eBay's challenge).
pub async fn challenge(
    db: &Db,
    channels: &Channels,
    marketplace: Marketplace,
    connection_id: Uuid,
    query: &BTreeMap<String, String>,
    endpoint: &str,
) -> Result<Option<String>, WebhookRejection> {
    let model = connection(db, marketplace, connection_id).await?;
    let (channel, _) = channels
        .get(marketplace)
        .ok_or(WebhookRejection::UnknownConnection)?;
    let secrets = open(channels, &model)?;
    Ok(channel.webhook_challenge(&secrets, query, endpoint))
}
