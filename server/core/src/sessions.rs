//! Browser sessions: the database store behind `tower-sessions`, what a session knows about
//! its user, and the Sessions page's operations (list, end one, end all others).
//!
//! The cookie carries a 128-bit random id; the table keeps only its SHA-256, so reading the
//! table does not let anyone take a session over. Each row also has a random `handle`, the
//! name the Sessions page uses for "end this session".
//!
//! Two clocks are involved on purpose. `tower-sessions` stamps each record with an expiry from
//! the system clock (idle timeout), which decides when a row is garbage. Whether a session is
//! still *signed in* is decided by [`SessionAuth::freshness`] with the injectable clock: idle
//! timeout since the last request, absolute timeout since the sign-in, and a short limit for a
//! half-authenticated session waiting for its second factor. Tests move that clock.
//!
//! `save` only ever updates: a session ended from another device while one of its requests is
//! still running stays ended instead of being written back.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_sessions_core::{
    SessionStore,
    session::{Id, Record},
    session_store,
};
use uuid::Uuid;

use crate::{
    db::{Db, DbError, is_unique_violation},
    entity::session,
};

/// The key under which a session keeps its [`SessionAuth`].
pub const AUTH_KEY: &str = "auth";

/// How long a session may wait for its second factor after the password was accepted.
pub const SECOND_FACTOR_WINDOW: Duration = Duration::minutes(10);

/// How often a signed-in session records that it was seen (and so renews its idle timeout in
/// the store and the cookie). Between two touches nothing is written.
pub const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// Idle and absolute session lifetimes (`SESSION_IDLE_MINUTES`, `SESSION_ABSOLUTE_HOURS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
        }
    }
}

/// How far a session has got with signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The password was right; the second factor is still missing. Such a session reaches
    /// nothing but the second-factor step.
    AwaitingSecondFactor,
    SignedIn,
}

/// What a session knows about who is using it. Written at sign-in, replaced on every change
/// of privilege (together with a new session id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: Uuid,
    pub stage: Stage,
    /// The organization the user is working in.
    pub organization_id: Option<Uuid>,
    /// When the password was accepted; the absolute timeout counts from here.
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Shortened `User-Agent`, for the Sessions page.
    pub user_agent: Option<String>,
    /// The client's network (see [`crate::audit::ip_prefix`]), never the full address.
    pub ip_prefix: Option<String>,
}

/// The verdict on a session at the start of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Still valid; `touch` says the last-seen time should be renewed now.
    Valid { touch: bool },
    /// Timed out: end the session.
    Expired,
}

impl SessionAuth {
    pub fn new(
        user_id: Uuid,
        stage: Stage,
        organization_id: Option<Uuid>,
        now: DateTime<Utc>,
        user_agent: Option<&str>,
        ip_prefix: Option<String>,
    ) -> Self {
        Self {
            user_id,
            stage,
            organization_id,
            started_at: now,
            last_seen_at: now,
            user_agent: user_agent.map(shorten_user_agent),
            ip_prefix,
        }
    }

    pub fn is_signed_in(&self) -> bool {
        self.stage == Stage::SignedIn
    }

    /// Applies the idle, absolute and second-factor limits at `now`.
    pub fn freshness(&self, now: DateTime<Utc>, timeouts: Timeouts) -> Freshness {
        let limit_passed = match self.stage {
            Stage::AwaitingSecondFactor => now - self.started_at > SECOND_FACTOR_WINDOW,
            Stage::SignedIn => {
                now - self.last_seen_at > timeouts.idle || now - self.started_at > timeouts.absolute
            }
        };
        if limit_passed {
            Freshness::Expired
        } else {
            Freshness::Valid {
                touch: now - self.last_seen_at >= TOUCH_INTERVAL,
            }
        }
    }
}

/// At most 200 characters of a `User-Agent`, without control characters.
fn shorten_user_agent(user_agent: &str) -> String {
    user_agent
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// A readable device name from a `User-Agent`: browser and operating system.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "?".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => s.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// The `tower-sessions` store on the product database (SQLite or PostgreSQL).
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// The stored form of a session id.
pub fn id_hash(id: &Id) -> String {
    Sha256::digest(id.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn to_chrono(at: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(at.unix_timestamp(), at.nanosecond()).unwrap_or_else(Utc::now)
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

/// The columns a record fills besides its data.
struct Columns {
    data: String,
    expires_at: DateTime<Utc>,
    auth: Option<SessionAuth>,
}

impl Columns {
    fn of(record: &Record) -> session_store::Result<Self> {
        let auth = record
            .data
            .get(AUTH_KEY)
            .and_then(|value| serde_json::from_value::<SessionAuth>(value.clone()).ok());
        Ok(Self {
            data: serde_json::to_string(&record.data)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expires_at: to_chrono(record.expiry_date),
            auth,
        })
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let columns = Columns::of(record)?;
        let now = Utc::now();
        // A collision of 128-bit random ids is not expected, but the store must not overwrite
        // another session if it ever happens: draw a new id and try again.
        for _ in 0..3 {
            let auth = columns.auth.as_ref();
            let row = session::ActiveModel {
                id_hash: Set(id_hash(&record.id)),
                handle: Set(Uuid::new_v4()),
                user_id: Set(auth.map(|a| a.user_id)),
                fully_authenticated: Set(auth.is_some_and(SessionAuth::is_signed_in)),
                data: Set(columns.data.clone()),
                expires_at: Set(columns.expires_at),
                created_at: Set(auth.map_or(now, |a| a.started_at)),
                last_seen_at: Set(auth.map_or(now, |a| a.last_seen_at)),
                user_agent: Set(auth.and_then(|a| a.user_agent.clone())),
                ip_prefix: Set(auth.and_then(|a| a.ip_prefix.clone())),
            };
            match row.insert(&self.db).await {
                Ok(_) => return Ok(()),
                Err(err) if is_unique_violation(&err) => record.id = Id::default(),
                Err(err) => return Err(backend(err)),
            }
        }
        Err(backend("could not find a free session id"))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let columns = Columns::of(record)?;
        let auth = columns.auth.as_ref();
        let mut update = session::Entity::update_many()
            .col_expr(session::Column::Data, Expr::value(columns.data.clone()))
            .col_expr(session::Column::ExpiresAt, Expr::value(columns.expires_at))
            .col_expr(
                session::Column::UserId,
                Expr::value(auth.map(|a| a.user_id)),
            )
            .col_expr(
                session::Column::FullyAuthenticated,
                Expr::value(auth.is_some_and(SessionAuth::is_signed_in)),
            );
        if let Some(auth) = auth {
            update = update
                .col_expr(session::Column::LastSeenAt, Expr::value(auth.last_seen_at))
                .col_expr(
                    session::Column::UserAgent,
                    Expr::value(auth.user_agent.clone()),
                )
                .col_expr(
                    session::Column::IpPrefix,
                    Expr::value(auth.ip_prefix.clone()),
                );
        }
        update
            .filter(session::Column::IdHash.eq(id_hash(&record.id)))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = session::Entity::find_by_id(id_hash(id))
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(id_hash(id))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// One line of the Sessions page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub handle: Uuid,
    pub device: String,
    pub ip_prefix: Option<String>,
    pub signed_in_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub current: bool,
}

/// The user's signed-in sessions, most recently seen first; `current` marks the one asking.
pub async fn list_for_user(
    db: &Db,
    user_id: Uuid,
    current: Option<&Id>,
) -> Result<Vec<SessionSummary>, DbError> {
    let current_hash = current.map(id_hash);
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::FullyAuthenticated.eq(true))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(session::Column::LastSeenAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionSummary {
            handle: row.handle,
            device: device_label(row.user_agent.as_deref()),
            current: current_hash.as_deref() == Some(row.id_hash.as_str()),
            ip_prefix: row.ip_prefix,
            signed_in_at: row.created_at,
            last_seen_at: row.last_seen_at,
        })
        .collect())
}

/// Ends one of the user's sessions by its handle. Another user's handle ends nothing.
pub async fn end_by_handle(db: &Db, user_id: Uuid, handle: Uuid) -> Result<bool, DbError> {
    let result = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::Handle.eq(handle))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ends every session of the user except `keep` (the one asking); returns how many ended.
/// Used for "end all others", and after password, second-factor and account changes.
pub async fn end_all_except(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    keep: Option<&Id>,
) -> Result<u64, DbError> {
    let mut delete = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        delete = delete.filter(session::Column::IdHash.ne(id_hash(keep)));
    }
    Ok(delete.exec(conn).await?.rows_affected)
}

/// Removes sessions whose store expiry has passed; run periodically.
pub async fn delete_expired(db: &Db) -> Result<u64, DbError> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(Utc::now()))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_in_at(now: DateTime<Utc>) -> SessionAuth {
        SessionAuth::new(Uuid::new_v4(), Stage::SignedIn, None, now, None, None)
    }

    #[test]
    fn idle_and_absolute_timeouts_end_a_session() {
        let start = Utc::now();
        let timeouts = Timeouts::default();
        let mut auth = signed_in_at(start);
        assert_eq!(
            auth.freshness(start + Duration::seconds(30), timeouts),
            Freshness::Valid { touch: false }
        );
        assert_eq!(
            auth.freshness(start + Duration::minutes(2), timeouts),
            Freshness::Valid { touch: true }
        );
        assert_eq!(
            auth.freshness(start + Duration::minutes(31), timeouts),
            Freshness::Expired
        );
        // Active every 20 minutes: still ends 12 hours after signing in.
        let mut now = start;
        while now - start <= Duration::hours(12) - Duration::minutes(20) {
            assert!(matches!(
                auth.freshness(now, timeouts),
                Freshness::Valid { .. }
            ));
            auth.last_seen_at = now;
            now += Duration::minutes(20);
        }
        assert!(matches!(
            auth.freshness(now, timeouts),
            Freshness::Valid { .. }
        ));
        assert_eq!(
            auth.freshness(start + Duration::hours(12) + Duration::seconds(1), timeouts),
            Freshness::Expired
        );
    }

    #[test]
    fn a_half_authenticated_session_has_ten_minutes() {
        let start = Utc::now();
        let auth = SessionAuth::new(
            Uuid::new_v4(),
            Stage::AwaitingSecondFactor,
            None,
            start,
            None,
            None,
        );
        assert!(!auth.is_signed_in());
        assert!(matches!(
            auth.freshness(start + Duration::minutes(9), Timeouts::default()),
            Freshness::Valid { .. }
        ));
        assert_eq!(
            auth.freshness(start + Duration::minutes(11), Timeouts::default()),
            Freshness::Expired
        );
    }

    #[test]
    fn device_labels_name_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_label(Some(chrome)), "Chrome · Linux");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(Some(safari)), "Safari · iOS");
        assert_eq!(device_label(None), "?");
    }

    #[test]
    fn user_agents_are_shortened_and_cleaned() {
        let auth = SessionAuth::new(
            Uuid::new_v4(),
            Stage::SignedIn,
            None,
            Utc::now(),
            Some(&format!("evil\r\nline{}", "x".repeat(500))),
            None,
        );
        let ua = auth.user_agent.unwrap();
        assert_eq!(ua.chars().count(), 200);
        assert!(!ua.contains('\n'));
    }
}
