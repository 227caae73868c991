//! The audit log: who did what, when and from where — append-only and tamper-evident.
//!
//! Entries form chains, one per organization and one for events outside any organization.
//! Each entry stores the SHA-256 of its own content and of the entry before it, so changing
//! or removing an entry breaks every hash after it; [`verify_chain`] finds the first break.
//! Nothing in the product updates or deletes audit rows.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    IntoActiveModel, NotSet, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db::{Db, DbError},
    entity::audit_event,
};

/// The `prev_hash` of the first entry of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const GLOBAL_CHAIN: &str = "global";
const APPEND_ATTEMPTS: usize = 5;

/// What happened. Stored as a stable dotted code (`login.failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    AccountRegistered,
    EmailVerified,
    LoginSucceeded,
    LoginFailed,
    LoggedOut,
    PasswordChanged,
    PasswordResetRequested,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRegenerated,
    TotpReplayRejected,
    SessionEnded,
    ApiKeyCreated,
    ApiKeyRevoked,
    MemberInvited,
    RoleChanged,
    MemberRemoved,
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    PriceChanged,
    PriceRuleChanged,
    StockAdjusted,
    InvitationAccepted,
    InvitationRevoked,
    MemberLeft,
    OrganizationCreated,
    OrganizationRenamed,
    MediaAdded,
    MediaRemoved,
    ChannelConnected,
    ChannelReconnected,
    ChannelDisconnected,
    ChannelRefreshFailed,
}

impl AuditAction {
    pub fn code(self) -> &'static str {
        match self {
            Self::AccountRegistered => "account.registered",
            Self::EmailVerified => "account.email_verified",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoggedOut => "session.logged_out",
            Self::PasswordChanged => "password.changed",
            Self::PasswordResetRequested => "password.reset_requested",
            Self::TwoFactorEnabled => "two_factor.enabled",
            Self::TwoFactorDisabled => "two_factor.disabled",
            Self::RecoveryCodesRegenerated => "two_factor.recovery_codes_regenerated",
            Self::TotpReplayRejected => "two_factor.replay_rejected",
            Self::SessionEnded => "session.ended",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::MemberInvited => "member.invited",
            Self::RoleChanged => "member.role_changed",
            Self::MemberRemoved => "member.removed",
            Self::ProductCreated => "product.created",
            Self::ProductUpdated => "product.updated",
            Self::ProductDeleted => "product.deleted",
            Self::PriceChanged => "price.changed",
            Self::PriceRuleChanged => "price_rule.changed",
            Self::StockAdjusted => "stock.adjusted",
            Self::InvitationAccepted => "invitation.accepted",
            Self::InvitationRevoked => "invitation.revoked",
            Self::MemberLeft => "member.left",
            Self::OrganizationCreated => "organization.created",
            Self::OrganizationRenamed => "organization.renamed",
            Self::MediaAdded => "media.added",
            Self::MediaRemoved => "media.removed",
            Self::ChannelConnected => "channel.connected",
            Self::ChannelReconnected => "channel.reconnected",
            Self::ChannelDisconnected => "channel.disconnected",
            Self::ChannelRefreshFailed => "channel.refresh_failed",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub organization_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub action: AuditAction,
    /// Stored only as its network prefix (see [`ip_prefix`]).
    pub ip: Option<IpAddr>,
    /// Ids and old → new values; never passwords, tokens or personal data beyond ids.
    pub details: serde_json::Value,
}

impl NewAuditEvent {
    /// An event an actor caused inside an organization: its chain, the acting member (none for
    /// an API key).
    pub fn in_scope(
        scope: &crate::access::Scope,
        action: AuditAction,
        ip: Option<IpAddr>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            organization_id: Some(scope.organization_id()),
            actor_user_id: scope.user_id(),
            action,
            ip,
            details,
        }
    }

    /// An event a user caused (signing in, changing a password, ending sessions).
    pub fn by_user(
        action: AuditAction,
        organization_id: Option<Uuid>,
        user_id: Uuid,
        ip: Option<IpAddr>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            organization_id,
            actor_user_id: Some(user_id),
            action,
            ip,
            details,
        }
    }
}

/// The result of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries: u64,
    /// The first entry whose position, link or content does not match, if any.
    pub first_broken_seq: Option<i64>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken_seq.is_none()
    }
}

/// Appends an event in a transaction of its own, retrying when a concurrent writer took the
/// same position in the chain.
pub async fn record(db: &Db, event: NewAuditEvent) -> Result<audit_event::Model, DbError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let txn = crate::db::begin_write(db).await?;
        match append(&txn, &event).await {
            Ok(model) => {
                txn.commit().await?;
                return Ok(model);
            }
            Err(err) if attempt < APPEND_ATTEMPTS && crate::db::is_unique_violation(&err) => {
                txn.rollback().await.ok();
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt as u64)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

/// Appends an event inside the caller's transaction, so the event and the change it describes
/// commit together. On PostgreSQL appends to one chain are serialized by a transaction-scoped
/// advisory lock; SQLite has a single writer anyway.
pub async fn record_in(
    txn: &DatabaseTransaction,
    event: NewAuditEvent,
) -> Result<audit_event::Model, DbError> {
    Ok(append(txn, &event).await?)
}

async fn append(
    txn: &DatabaseTransaction,
    event: &NewAuditEvent,
) -> Result<audit_event::Model, sea_orm::DbErr> {
    let chain = chain_of(event.organization_id);
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [chain.clone().into()],
        ))
        .await?;
    }
    let last = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(&chain))
        .order_by_desc(audit_event::Column::Seq)
        .one(txn)
        .await?;
    let (seq, prev_hash) = last.map_or((1, GENESIS_HASH.to_owned()), |l| (l.seq + 1, l.hash));

    let mut model = audit_event::Model {
        id: 0,
        chain,
        seq,
        organization_id: event.organization_id,
        actor_user_id: event.actor_user_id,
        action: event.action.code().to_owned(),
        ip_prefix: event.ip.map(ip_prefix),
        details: event.details.to_string(),
        occurred_at: now_micros(),
        prev_hash,
        hash: String::new(),
    };
    model.hash = content_hash(&model);
    let mut active = model.into_active_model();
    active.id = NotSet;
    active.insert(txn).await
}

/// The newest entries of an organization's chain (or the global one), newest first.
pub async fn list(
    db: &Db,
    organization_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbError> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain_of(organization_id)))
        .order_by_desc(audit_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// One page of a chain (an organization's, or the global one), newest first: the `limit`
/// entries before `before_seq`, or the newest ones. Keyset pagination by `seq`, so a page stays
/// the same while new entries arrive.
pub async fn page(
    db: &Db,
    organization_id: Option<Uuid>,
    before_seq: Option<i64>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbError> {
    let mut query = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain_of(organization_id)));
    if let Some(before) = before_seq {
        query = query.filter(audit_event::Column::Seq.lt(before));
    }
    Ok(query
        .order_by_desc(audit_event::Column::Seq)
        .limit(limit)
        .all(db)
        .await?)
}

/// The display names of the given users (actors of entries, users named in their details), in
/// one query. Users that no longer exist are missing from the answer.
pub async fn display_names(
    db: &Db,
    user_ids: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, DbError> {
    use crate::entity::user;
    let ids: std::collections::BTreeSet<Uuid> = user_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::DisplayName)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Walks a chain from its start and reports the first entry that does not fit.
pub async fn verify_chain(db: &Db, organization_id: Option<Uuid>) -> Result<ChainReport, DbError> {
    let mut pages = audit_event::Entity::find()
        .filter(audit_event::Column::Chain.eq(chain_of(organization_id)))
        .order_by_asc(audit_event::Column::Seq)
        .paginate(db, 1000);
    let (mut entries, mut expected_seq, mut prev_hash) = (0u64, 1i64, GENESIS_HASH.to_owned());
    while let Some(page) = pages.fetch_and_next().await? {
        for entry in page {
            entries += 1;
            let fits = entry.seq == expected_seq
                && entry.prev_hash == prev_hash
                && entry.hash == content_hash(&entry);
            if !fits {
                return Ok(ChainReport {
                    entries,
                    first_broken_seq: Some(entry.seq.min(expected_seq)),
                });
            }
            expected_seq += 1;
            prev_hash = entry.hash;
        }
    }
    Ok(ChainReport {
        entries,
        first_broken_seq: None,
    })
}

/// The network an address belongs to, which is all the log keeps: /24 for IPv4, /48 for IPv6.
pub fn ip_prefix(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => ip_prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

fn chain_of(organization_id: Option<Uuid>) -> String {
    organization_id.map_or_else(|| GLOBAL_CHAIN.to_owned(), |id| id.to_string())
}

/// Times are kept to the microsecond, which both engines store exactly, so the hash of a
/// stored entry can be recomputed.
fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn content_hash(entry: &audit_event::Model) -> String {
    let optional = |v: Option<String>| v.unwrap_or_default();
    let fields = [
        entry.prev_hash.clone(),
        entry.chain.clone(),
        entry.seq.to_string(),
        optional(entry.organization_id.map(|u| u.to_string())),
        optional(entry.actor_user_id.map(|u| u.to_string())),
        entry.action.clone(),
        optional(entry.ip_prefix.clone()),
        entry
            .occurred_at
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        entry.details.clone(),
    ];
    let mut hasher = Sha256::new();
    for field in fields {
        // Length-prefixed, so no two different entries hash the same bytes.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_to_their_network() {
        assert_eq!(ip_prefix("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(
            ip_prefix("2001:db8:85a3:8d3:1319:8a2e:370:7348".parse().unwrap()),
            "2001:db8:85a3::/48"
        );
        assert_eq!(
            ip_prefix("::ffff:192.0.2.9".parse().unwrap()),
            "192.0.2.0/24"
        );
    }

    #[test]
    fn action_codes_are_stable_and_distinct() {
        use AuditAction::*;
        let all = [
            AccountRegistered,
            EmailVerified,
            LoginSucceeded,
            LoginFailed,
            LoggedOut,
            PasswordChanged,
            PasswordResetRequested,
            TwoFactorEnabled,
            TwoFactorDisabled,
            RecoveryCodesRegenerated,
            TotpReplayRejected,
            SessionEnded,
            ApiKeyCreated,
            ApiKeyRevoked,
            MemberInvited,
            RoleChanged,
            MemberRemoved,
            ProductCreated,
            ProductUpdated,
            ProductDeleted,
            PriceChanged,
            PriceRuleChanged,
            StockAdjusted,
            InvitationAccepted,
            InvitationRevoked,
            MemberLeft,
            OrganizationCreated,
            OrganizationRenamed,
            MediaAdded,
            MediaRemoved,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(|a| a.code()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(LoginFailed.code(), "login.failed");
    }
}
