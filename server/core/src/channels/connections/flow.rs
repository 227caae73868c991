//! The connect flows: start (redirect to the marketplace), finish (from the callback), the
//! WooCommerce key handover, and keys entered by hand.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set,
    sea_query::Expr,
};
use sha2::{Digest as _, Sha256};
use shopmarkets_types::Marketplace;
use uuid::Uuid;

use super::{ConnectError, ConnectionView, FLOW_TTL_MINUTES, Status, error_text, seal, view};
use crate::access::{AccessError, Permission, Scope};
use crate::audit::{AuditAction, NewAuditEvent};
use crate::channels::channel::{Channel, ChannelEnv, ConnectInput, Connected, Pending};
use crate::channels::credentials::Credentials;
use crate::channels::registry::Channels;
use crate::db::{Db, DbError};
use crate::entity::{channel_auth_state, channel_connection};

fn hash(value: &str) -> String {
    crate::channels::http::hex(&Sha256::digest(value.as_bytes()))
}

fn pending_aad(id: Uuid) -> String {
    format!("channel_auth_state:{id}")
}

fn adapter(
    channels: &Channels,
    marketplace: Marketplace,
) -> Result<(&dyn Channel, &ChannelEnv), ConnectError> {
    channels.get(marketplace).ok_or(ConnectError::Unsupported)
}

/// Starts a connect flow and returns the URL to send the browser to. `session_id` is the
/// browser session's id: the callback must come back to the same session. `reconnect` names
/// an existing connection the flow renews.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    db: &Db,
    channels: &Channels,
    scope: &Scope,
    session_id: &str,
    marketplace: Marketplace,
    input: &ConnectInput,
    reconnect: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<String, ConnectError> {
    scope.require(Permission::ManageChannels)?;
    let user_id = scope.user_id().ok_or(AccessError::Forbidden)?;
    if let Some(id) = reconnect {
        let existing = super::find(db, scope, id).await?;
        if existing.marketplace != marketplace.code() {
            return Err(AccessError::NotFound.into());
        }
    }
    let (channel, env) = adapter(channels, marketplace)?;
    let mut random = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
    let state = URL_SAFE_NO_PAD.encode(random);
    let authorization = channel.authorize(env, input, &state)?;
    let id = Uuid::new_v4();
    let pending = serde_json::to_vec(&authorization.pending).expect("pending flow serializes");
    channel_auth_state::ActiveModel {
        id: Set(id),
        state_hash: Set(hash(&state)),
        organization_id: Set(scope.organization_id()),
        user_id: Set(user_id),
        session_hash: Set(hash(session_id)),
        marketplace: Set(marketplace.code().to_owned()),
        connection_id: Set(reconnect),
        secrets: Set(channels.cipher().encrypt(&pending, &pending_aad(id))),
        created_at: Set(now),
        expires_at: Set(now + Duration::minutes(FLOW_TTL_MINUTES)),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(authorization.url)
}

/// Looks up a flow by its state and checks everything but single use.
async fn pending_flow(
    db: &Db,
    state: Option<&str>,
    marketplace: Marketplace,
    session_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<channel_auth_state::Model, ConnectError> {
    let state = state
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .ok_or(ConnectError::UnknownState)?;
    let flow = channel_auth_state::Entity::find()
        .filter(channel_auth_state::Column::StateHash.eq(hash(state)))
        .one(db)
        .await?
        .ok_or(ConnectError::UnknownState)?;
    if flow.marketplace != marketplace.code() {
        return Err(ConnectError::WrongMarketplace);
    }
    if let Some(session_id) = session_id
        && flow.session_hash != hash(session_id)
    {
        return Err(ConnectError::WrongSession);
    }
    if flow.used_at.is_some() {
        return Err(ConnectError::Reused);
    }
    if now >= flow.expires_at {
        return Err(ConnectError::Expired);
    }
    Ok(flow)
}

fn open_pending(
    channels: &Channels,
    flow: &channel_auth_state::Model,
) -> Result<Pending, ConnectError> {
    let plain = channels
        .cipher()
        .decrypt(&flow.secrets, &pending_aad(flow.id))?;
    serde_json::from_slice(plain.expose())
        .map_err(|_| ConnectError::Crypto(crate::crypto::CryptoError::Malformed))
}

/// Finishes a flow from the marketplace's callback (query parameters as received), in the
/// browser session that started it. The state is spent before the marketplace is called, so
/// a replayed callback stores nothing, whatever the marketplace answers.
pub async fn finish(
    db: &Db,
    channels: &Channels,
    session_id: &str,
    marketplace: Marketplace,
    query: &BTreeMap<String, String>,
    ip: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<ConnectionView, ConnectError> {
    // WooCommerce brings the state back as the `user_id` it was given.
    let state = query.get("state").or_else(|| {
        (marketplace == Marketplace::WooCommerce)
            .then(|| query.get("user_id"))
            .flatten()
    });
    let flow = pending_flow(
        db,
        state.map(String::as_str),
        marketplace,
        Some(session_id),
        now,
    )
    .await?;
    let spent = channel_auth_state::Entity::update_many()
        .col_expr(channel_auth_state::Column::UsedAt, Expr::value(now))
        .filter(channel_auth_state::Column::Id.eq(flow.id))
        .filter(channel_auth_state::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        return Err(ConnectError::Reused);
    }
    let pending = open_pending(channels, &flow)?;
    let (channel, env) = adapter(channels, marketplace)?;
    let connected = channel.finish(env, &pending, query).await?;
    let scope = Scope::for_member(db, flow.user_id, flow.organization_id).await?;
    store(
        db,
        channels,
        &scope,
        marketplace,
        connected,
        flow.connection_id,
        ip,
        now,
    )
    .await
}

/// The WooCommerce key handover: the store posts the keys it made to our callback (server to
/// server, no browser session) before the browser returns. They are kept with the flow, which
/// the browser's return then finishes.
pub async fn receive_handed_over_keys(
    db: &Db,
    channels: &Channels,
    state: &str,
    consumer_key: &str,
    consumer_secret: &str,
    now: DateTime<Utc>,
) -> Result<(), ConnectError> {
    let flow = pending_flow(db, Some(state), Marketplace::WooCommerce, None, now).await?;
    let mut pending = open_pending(channels, &flow)?;
    if pending.handed_over.is_some() {
        return Err(ConnectError::Reused);
    }
    let valid = |value: &str, prefix: &str| {
        value.starts_with(prefix)
            && (10..=200).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if !valid(consumer_key, "ck_") || !valid(consumer_secret, "cs_") {
        return Err(crate::channels::ChannelError::Protocol("malformed keys".into()).into());
    }
    pending.handed_over = Some(Credentials::ApiKeys {
        key: consumer_key.to_owned(),
        secret: consumer_secret.to_owned(),
    });
    let sealed = channels.cipher().encrypt(
        &serde_json::to_vec(&pending).expect("pending flow serializes"),
        &pending_aad(flow.id),
    );
    channel_auth_state::Entity::update_many()
        .col_expr(channel_auth_state::Column::Secrets, Expr::value(sealed))
        .filter(channel_auth_state::Column::Id.eq(flow.id))
        .filter(channel_auth_state::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Connects with keys the merchant entered (Kaufland; WooCommerce by hand), after a call to
/// the marketplace proved them.
pub async fn connect_with_keys(
    db: &Db,
    channels: &Channels,
    scope: &Scope,
    marketplace: Marketplace,
    input: &ConnectInput,
    ip: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<ConnectionView, ConnectError> {
    scope.require(Permission::ManageChannels)?;
    let (channel, env) = adapter(channels, marketplace)?;
    let connected = channel.connect_with_keys(env, input).await?;
    store(db, channels, scope, marketplace, connected, None, ip, now).await
}

/// Stores a finished connection (a new one, or the same account connected again), then
/// subscribes to its notifications. The connection is saved before subscribing, because
/// some marketplaces check the notification endpoint while the subscription is created (eBay's
/// challenge), and that check finds the connection and its secret.
#[allow(clippy::too_many_arguments)]
async fn store(
    db: &Db,
    channels: &Channels,
    scope: &Scope,
    marketplace: Marketplace,
    mut connected: Connected,
    reconnect: Option<Uuid>,
    ip: Option<std::net::IpAddr>,
    now: DateTime<Utc>,
) -> Result<ConnectionView, ConnectError> {
    let (channel, env) = adapter(channels, marketplace)?;
    let existing = channel_connection::Entity::find()
        .filter(channel_connection::Column::OrganizationId.eq(scope.organization_id()))
        .filter(channel_connection::Column::Marketplace.eq(marketplace.code()))
        .filter(channel_connection::Column::AccountId.eq(connected.account_id.as_str()))
        .one(db)
        .await?;
    let id = existing.as_ref().map_or_else(Uuid::new_v4, |e| e.id);

    // Subscriptions of an earlier connection of this account are replaced: the marketplace
    // would otherwise deliver everything twice.
    let mut problems = Vec::new();
    if let Some(old) = &existing
        && let Ok(old_secrets) = super::open(channels, old)
    {
        let ids: Vec<String> = serde_json::from_str(&old.webhook_ids).unwrap_or_default();
        // The marketplace may have revoked the old credentials with the new grant (Shopify
        // does): then the old subscriptions are gone or taken over below, and the failure is
        // not the new connection's problem.
        if !ids.is_empty()
            && let Err(error) = channel
                .unregister_webhooks(env, &old.account_id, &old_secrets, &ids)
                .await
        {
            tracing::info!(
                connection = %old.id,
                reason = error.code(),
                "removing the previous subscriptions failed"
            );
        }
    }
    if connected.secrets.webhook_secret.is_none() {
        connected.secrets.webhook_secret = Some(webhook_secret());
    }

    let access_expires_at = connected.secrets.credentials.access_expires_at();
    let txn = crate::db::begin_write(db).await?;
    let (model, action) = match existing {
        Some(old) => {
            let version = old.version + 1;
            let mut active: channel_connection::ActiveModel = old.into();
            active.account_name = Set(connected.account_name.clone());
            active.status = Set(Status::Active.code().to_owned());
            active.scopes = Set(connected.scopes.join(" "));
            active.secrets = Set(Some(seal(channels, id, &connected.secrets)));
            active.access_expires_at = Set(access_expires_at);
            active.last_success_at = Set(Some(now));
            active.last_error = Set(None);
            active.last_error_at = Set(None);
            active.webhook_ids = Set("[]".to_owned());
            active.connected_by = Set(scope.user_id());
            active.version = Set(version);
            active.updated_at = Set(now);
            active.disconnected_at = Set(None);
            (active.update(&txn).await?, AuditAction::ChannelReconnected)
        }
        None => (
            channel_connection::ActiveModel {
                id: Set(id),
                organization_id: Set(scope.organization_id()),
                marketplace: Set(marketplace.code().to_owned()),
                account_id: Set(connected.account_id.clone()),
                account_name: Set(connected.account_name.clone()),
                status: Set(Status::Active.code().to_owned()),
                scopes: Set(connected.scopes.join(" ")),
                secrets: Set(Some(seal(channels, id, &connected.secrets))),
                access_expires_at: Set(access_expires_at),
                last_success_at: Set(Some(now)),
                last_error: Set(None),
                last_error_at: Set(None),
                webhook_ids: Set("[]".to_owned()),
                connected_by: Set(scope.user_id()),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                disconnected_at: Set(None),
            }
            .insert(&txn)
            .await?,
            AuditAction::ChannelConnected,
        ),
    };
    txn.commit().await.map_err(DbError::Query)?;

    let endpoint = env.webhook_url(marketplace, id);
    let webhook_ids = match channel
        .register_webhooks(
            env,
            &connected.account_id,
            &mut connected.secrets,
            &endpoint,
        )
        .await
    {
        Ok(ids) => ids,
        Err(error) => {
            problems.push(error_text(&error));
            Vec::new()
        }
    };

    let txn = crate::db::begin_write(db).await?;
    let mut active: channel_connection::ActiveModel = model.clone().into();
    active.secrets = Set(Some(seal(channels, id, &connected.secrets)));
    active.webhook_ids = Set(serde_json::to_string(&webhook_ids).unwrap_or_default());
    active.last_error = Set(problems.first().cloned());
    active.last_error_at = Set(problems.first().map(|_| now));
    active.version = Set(model.version + 1);
    let model = active.update(&txn).await?;
    crate::audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            action,
            ip,
            serde_json::json!({
                "connection_id": model.id,
                "marketplace": marketplace.code(),
                "account": model.account_id,
                "scopes": model.scopes,
                "reconnect_of": reconnect,
                "webhooks": webhook_ids.len(),
                "problems": problems,
            }),
        ),
    )
    .await?;
    txn.commit().await.map_err(DbError::Query)?;
    view(&model).ok_or(ConnectError::Access(AccessError::NotFound))
}

/// A random secret for notification signatures where the app chooses it (48 characters of
/// A–Z a–z 0–9: within every marketplace's limits, e.g. eBay's 32–80).
fn webhook_secret() -> String {
    use rand::distr::{Alphanumeric, SampleString as _};
    Alphanumeric.sample_string(&mut rand::rng(), 48)
}
