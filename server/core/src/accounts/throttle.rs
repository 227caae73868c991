//! Throttling of failed sign-in attempts, counted in the database so every instance sees the
//! same counts.
//!
//! Failures are counted under several keys at once, each with its own [`Policy`]:
//!
//! * **account from one address** (`pair:`) — the first 5 failures are free, then each further
//!   failure blocks that address from that account for 1 s, 2 s, 4 s … up to 15 minutes.
//!   Someone guessing from one place slows down fast, while the owner signing in from
//!   elsewhere is not affected at all.
//! * **account** (`account:`) — a hard ceiling: after 100 failures within an hour, from
//!   wherever, the account takes no more attempts until that hour is over (ASVS 2.2.1). Only a
//!   distributed attack reaches it; the owner is then locked out for at most the rest of the
//!   hour, can end it at once with a password reset (which clears the account's counters, as
//!   a reset proves control of the email address), and is told by email and in the app.
//! * **address** (`ip:`; IPv6 by /64) — 30 free failures across all accounts, then doubling
//!   blocks up to an hour: one machine cannot spray passwords over many accounts.
//! * **second factor** (`second_factor:`) — per user, as the pair rule, plus the hourly ceiling.
//!
//! Keys for accounts hash the normalised email address, so an unknown address is counted
//! exactly like a known one and throttling reveals nothing about which accounts exist. While
//! any key is blocked the sign-in answers with the same generic error as a wrong password —
//! even when the password is right.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db::{Db, DbError, begin_write, is_unique_violation},
    entity::login_throttle,
};

/// Counts restart an hour after the first failure of a window.
pub const WINDOW: Duration = Duration::hours(1);

/// How one key reacts to failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failures within the window that cost nothing.
    pub free: i32,
    /// The longest single back-off.
    pub max_delay: Duration,
    /// At this many failures within the window the key stays blocked until the window ends.
    pub hourly_cap: Option<i32>,
}

impl Policy {
    /// An account from one address.
    pub const PAIR: Policy = Policy {
        free: 5,
        max_delay: Duration::minutes(15),
        hourly_cap: None,
    };
    /// An account from anywhere: only the hourly ceiling.
    pub const ACCOUNT: Policy = Policy {
        free: 100,
        max_delay: Duration::zero(),
        hourly_cap: Some(100),
    };
    /// One address across all accounts.
    pub const ADDRESS: Policy = Policy {
        free: 30,
        max_delay: Duration::hours(1),
        hourly_cap: None,
    };
    /// The second-factor step of one user.
    pub const SECOND_FACTOR: Policy = Policy {
        free: 5,
        max_delay: Duration::minutes(15),
        hourly_cap: Some(100),
    };

    /// Until when a key with `failures` failures in a window that started at `window_start`
    /// is blocked, seen at `now`.
    pub fn blocked_until(
        &self,
        failures: i32,
        window_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.hourly_cap.is_some_and(|cap| failures >= cap) {
            return Some(window_start + WINDOW);
        }
        let over = failures - self.free;
        if over <= 0 {
            return None;
        }
        // 1 s, 2 s, 4 s, …; the exponent is bounded before it can overflow.
        let delay = Duration::seconds(1i64 << Ord::min(over - 1, 30));
        let delay = Ord::min(delay, self.max_delay);
        (delay > Duration::zero()).then_some(now + delay)
    }
}

/// A throttle key with its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub name: String,
    pub policy: Policy,
}

fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The address as counted: IPv4 exactly, IPv6 by its /64 (one customer's network).
fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The keys a password attempt for `email` (as typed, normalised by the caller when it
/// parses) from `ip` is counted under.
pub fn password_keys(email: &str, ip: Option<IpAddr>) -> Vec<Key> {
    let email = email.trim().to_lowercase();
    let mut keys = vec![Key {
        name: format!("account:{}", digest(&[&email])),
        policy: Policy::ACCOUNT,
    }];
    if let Some(ip) = ip {
        let address = address_key(ip);
        keys.push(Key {
            name: format!("pair:{}", digest(&[&email, &address])),
            policy: Policy::PAIR,
        });
        keys.push(Key {
            name: format!("ip:{address}"),
            policy: Policy::ADDRESS,
        });
    }
    keys
}

/// The key a second-factor attempt of `user_id` is counted under.
pub fn second_factor_key(user_id: Uuid) -> Key {
    Key {
        name: format!("second_factor:{user_id}"),
        policy: Policy::SECOND_FACTOR,
    }
}

/// The keys a password reset clears: the account's own counters (the reset link proves
/// control of the address). Address counters stay: that says nothing about other accounts.
pub fn account_keys_to_clear(email: &str, ip: Option<IpAddr>) -> Vec<String> {
    password_keys(email, ip)
        .into_iter()
        .filter(|key| !key.name.starts_with("ip:"))
        .map(|key| key.name)
        .collect()
}

/// The key a successful sign-in clears: the account from this address. The account's hourly
/// ceiling is not cleared — the owner signing in during a distributed attack must not give the
/// attacker a fresh hundred.
pub fn pair_key_to_clear(email: &str, ip: Option<IpAddr>) -> Vec<String> {
    password_keys(email, ip)
        .into_iter()
        .filter(|key| key.name.starts_with("pair:"))
        .map(|key| key.name)
        .collect()
}

/// When the latest block among `keys` ends, if any is blocked at `now`.
pub async fn blocked_until(
    conn: &impl ConnectionTrait,
    keys: &[Key],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    let rows = login_throttle::Entity::find()
        .filter(login_throttle::Column::Key.is_in(names))
        .filter(login_throttle::Column::BlockedUntil.gt(now))
        .all(conn)
        .await?;
    Ok(rows.into_iter().filter_map(|r| r.blocked_until).max())
}

/// What a recorded failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub failures: i32,
    pub blocked_until: Option<DateTime<Utc>>,
    /// This failure started a block (the first one of the window): the moment to tell the owner.
    pub newly_blocked: bool,
    /// The key was already blocked when this attempt came: refuse it without looking at the
    /// password or code.
    pub already_blocked: bool,
}

/// Counts one failure under `key` and sets its block. Concurrent failures are all counted:
/// the increment is a single `UPDATE … SET failures = failures + 1`.
pub async fn record_failure(db: &Db, key: &Key, now: DateTime<Utc>) -> Result<Failure, DbError> {
    for _ in 0..3 {
        let txn = begin_write(db).await?;
        // A window that is over starts again.
        login_throttle::Entity::update_many()
            .col_expr(login_throttle::Column::Failures, Expr::value(0))
            .col_expr(login_throttle::Column::WindowStartedAt, Expr::value(now))
            .col_expr(
                login_throttle::Column::BlockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(login_throttle::Column::Key.eq(&key.name))
            .filter(login_throttle::Column::WindowStartedAt.lte(now - WINDOW))
            .exec(&txn)
            .await?;
        let updated = login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Failures,
                Expr::col(login_throttle::Column::Failures).add(1),
            )
            .filter(login_throttle::Column::Key.eq(&key.name))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            let inserted = login_throttle::ActiveModel {
                key: Set(key.name.clone()),
                failures: Set(1),
                window_started_at: Set(now),
                blocked_until: Set(None),
                notified_at: Set(None),
            }
            .insert(&txn)
            .await;
            match inserted {
                Ok(_) => {}
                // Another failure created the row first: count again as an update.
                Err(err) if is_unique_violation(&err) => {
                    txn.rollback().await.ok();
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
        }
        let row = login_throttle::Entity::find_by_id(key.name.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| DbError::Query(sea_orm::DbErr::RecordNotFound(key.name.clone())))?;
        let was_blocked = row.blocked_until.is_some();
        let already_blocked = row.blocked_until.is_some_and(|until| until > now);
        let blocked_until = key
            .policy
            .blocked_until(row.failures, row.window_started_at, now);
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::BlockedUntil,
                Expr::value(blocked_until),
            )
            .filter(login_throttle::Column::Key.eq(&key.name))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        return Ok(Failure {
            failures: row.failures,
            blocked_until,
            newly_blocked: blocked_until.is_some() && !was_blocked,
            already_blocked,
        });
    }
    Err(DbError::Query(sea_orm::DbErr::Custom(
        "login throttle row kept changing".to_owned(),
    )))
}

/// Counts an attempt under every key *before* the password or code is checked, so a burst of
/// concurrent attempts cannot all pass one check made before any of them was counted: each
/// increment is serialized on its row, and an attempt that finds a key already blocked is
/// refused unchecked. A successful attempt takes its count back with [`refund`].
pub async fn attempt(db: &Db, keys: &[Key], now: DateTime<Utc>) -> Result<Attempt, DbError> {
    let mut attempt = Attempt::default();
    for key in keys {
        let failure = record_failure(db, key, now).await?;
        attempt.blocked |= failure.already_blocked;
        if failure.newly_blocked && !key.name.starts_with("ip:") {
            attempt.newly_blocked_key = Some(key.name.clone());
        }
    }
    Ok(attempt)
}

/// What counting an attempt found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// Some key was blocked before this attempt: refuse it.
    pub blocked: bool,
    /// An account key whose block this attempt started (the owner should hear about it).
    pub newly_blocked_key: Option<String>,
}

/// Takes back one counted attempt under each key (it succeeded).
pub async fn refund(conn: &impl ConnectionTrait, keys: &[Key]) -> Result<(), DbError> {
    login_throttle::Entity::update_many()
        .col_expr(
            login_throttle::Column::Failures,
            Expr::col(login_throttle::Column::Failures).sub(1),
        )
        .filter(login_throttle::Column::Key.is_in(keys.iter().map(|k| k.name.as_str())))
        .filter(login_throttle::Column::Failures.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// The key re-entering the current password (before a password change) is counted under.
pub fn reauthentication_key(user_id: Uuid) -> Key {
    Key {
        name: format!("reauth:{user_id}"),
        policy: Policy::SECOND_FACTOR,
    }
}

/// Marks that the owner was told about `key`; returns false when they were already told in
/// the last day (one message a day is enough).
pub async fn claim_notification(
    conn: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let claimed = login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::NotifiedAt, Expr::value(now))
        .filter(login_throttle::Column::Key.eq(key))
        .filter(
            Condition::any()
                .add(login_throttle::Column::NotifiedAt.is_null())
                .add(login_throttle::Column::NotifiedAt.lte(now - Duration::days(1))),
        )
        .exec(conn)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Forgets the counts under `names` (after a successful sign-in or a password reset).
pub async fn clear(conn: &impl ConnectionTrait, names: &[String]) -> Result<(), DbError> {
    login_throttle::Entity::update_many()
        .col_expr(login_throttle::Column::Failures, Expr::value(0))
        .col_expr(
            login_throttle::Column::BlockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(login_throttle::Column::Key.is_in(names.iter().map(String::as_str)))
        .exec(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_after_the_free_failures_and_is_capped() {
        let now = Utc::now();
        let p = Policy::PAIR;
        assert_eq!(p.blocked_until(5, now, now), None);
        assert_eq!(
            p.blocked_until(6, now, now),
            Some(now + Duration::seconds(1))
        );
        assert_eq!(
            p.blocked_until(7, now, now),
            Some(now + Duration::seconds(2))
        );
        assert_eq!(
            p.blocked_until(10, now, now),
            Some(now + Duration::seconds(16))
        );
        assert_eq!(
            p.blocked_until(40, now, now),
            Some(now + Duration::minutes(15))
        );
        assert_eq!(
            p.blocked_until(i32::MAX, now, now),
            Some(now + Duration::minutes(15))
        );
    }

    #[test]
    fn the_account_ceiling_blocks_until_the_window_ends() {
        let start = Utc::now();
        let now = start + Duration::minutes(20);
        let p = Policy::ACCOUNT;
        assert_eq!(p.blocked_until(99, start, now), None);
        assert_eq!(p.blocked_until(100, start, now), Some(start + WINDOW));
    }

    /// Simulates the fastest possible guessing from one address against one account: every
    /// attempt is made the moment the block ends. Fewer than 100 failures fit into an hour.
    #[test]
    fn one_address_cannot_reach_100_failures_an_hour() {
        let start = Utc::now();
        let mut now = start;
        let mut failures = 0;
        while now < start + WINDOW {
            failures += 1;
            if let Some(until) = Policy::PAIR.blocked_until(failures, start, now) {
                now = until;
            }
        }
        assert!(failures < 100, "{failures} failures in an hour");
        assert!(failures < 30, "{failures} failures in an hour");
    }

    #[test]
    fn keys_do_not_reveal_the_address_and_ignore_case() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = password_keys("Anna@Example.com", Some(ip));
        let b = password_keys("anna@example.com ", Some(ip));
        assert_eq!(a, b);
        assert!(a.iter().all(|k| !k.name.contains("anna")));
        assert_eq!(a.len(), 3);
        assert_eq!(account_keys_to_clear("anna@example.com", Some(ip)).len(), 2);
        let v6a = password_keys(
            "x@example.com",
            Some("2001:db8:1:2:aaaa::1".parse().unwrap()),
        );
        let v6b = password_keys(
            "x@example.com",
            Some("2001:db8:1:2:bbbb::9".parse().unwrap()),
        );
        assert_eq!(v6a, v6b, "one /64 counts as one address");
    }
}
