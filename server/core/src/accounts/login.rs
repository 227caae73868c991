//! Signing in: the password step, throttled (see [`super::throttle`]), and the second-factor
//! step for accounts with TOTP.
//!
//! Every refusal is the same [`LoginError::Refused`] — unknown address, wrong password, a
//! blocked key, a wrong or replayed code — so the form can only ever say "that did not work".
//! Unknown addresses cost the same argon2 verification as known ones (a dummy hash).

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use shopmarkets_types::{EmailAddress, Locale};
use uuid::Uuid;

use super::{
    AccountError, password_hash, registration, throttle,
    two_factor::{self, SecondFactor},
};
use crate::{
    audit::{self, AuditAction, NewAuditEvent},
    crypto::Cipher,
    db::{Db, DbError},
    entity::{membership, user},
    mail::{self, templates},
    notifications::{self, Kind},
    secret::Secret,
};

/// Longest password the sign-in form considers; longer input is refused before hashing.
const MAX_PASSWORD_CHARS: usize = 128;

/// What the password step leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in (no second factor set up).
    SignedIn {
        user_id: Uuid,
        organization_id: Option<Uuid>,
    },
    /// The password was right; the session may now only reach the second-factor step.
    SecondFactorRequired {
        user_id: Uuid,
        organization_id: Option<Uuid>,
    },
    /// The password was right but the address is not confirmed yet; a fresh link was sent.
    EmailNotVerified,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong address, password or code, or too many attempts. Deliberately one case.
    #[error("sign-in refused")]
    Refused,
    #[error(transparent)]
    Account(#[from] AccountError),
}

impl From<DbError> for LoginError {
    fn from(err: DbError) -> Self {
        Self::Account(AccountError::Db(err))
    }
}

impl From<sea_orm::DbErr> for LoginError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Account(err.into())
    }
}

/// The password step.
pub async fn login(
    db: &Db,
    base_url: &str,
    email: &str,
    password: Secret<String>,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, LoginError> {
    // Counted before the password is looked at; a success takes the count back.
    let keys = throttle::password_keys(email, ip);
    let attempt = throttle::attempt(db, &keys, now).await?;
    if attempt.blocked {
        tracing::info!(event = "login.throttled", "sign-in refused while throttled");
        return Err(LoginError::Refused);
    }

    let account = match EmailAddress::parse(email) {
        Ok(address) => {
            user::Entity::find()
                .filter(user::Column::Email.eq(address.as_str()))
                .one(db)
                .await?
        }
        Err(_) => None,
    };
    let too_long = password.expose().chars().count() > MAX_PASSWORD_CHARS;
    let stored = account
        .as_ref()
        .filter(|_| !too_long)
        .map(|u| u.password_hash.clone());
    let password_ok = password_hash::verify(password, stored).await;

    let account = match account {
        Some(account) if password_ok => account,
        other => {
            let known = other.map(|u| (u.id, u.email, u.locale));
            record_failure(db, base_url, &attempt, known, ip, now).await?;
            return Err(LoginError::Refused);
        }
    };

    throttle::refund(db, &keys).await?;
    throttle::clear(db, &throttle::pair_key_to_clear(email, ip)).await?;
    if account.email_verified_at.is_none() {
        registration::resend_verification(db, base_url, &account).await?;
        return Ok(LoginOutcome::EmailNotVerified);
    }
    let organization_id = default_organization(db, account.id).await?;
    if account.totp_enabled_at.is_some() {
        return Ok(LoginOutcome::SecondFactorRequired {
            user_id: account.id,
            organization_id,
        });
    }
    audit::record(
        db,
        NewAuditEvent::by_user(
            AuditAction::LoginSucceeded,
            organization_id,
            account.id,
            ip,
            json!({ "user_id": account.id, "second_factor": null }),
        ),
    )
    .await?;
    Ok(LoginOutcome::SignedIn {
        user_id: account.id,
        organization_id,
    })
}

/// The organization a user lands in after signing in (their home organization, whose audit
/// chain holds events about their account): the one they joined first. The same rule as
/// [`crate::organizations::default_organization`], which also names it.
pub async fn default_organization(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<Uuid>, DbError> {
    Ok(membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::CreatedAt)
        .order_by_asc(membership::Column::OrganizationId)
        .one(conn)
        .await?
        .map(|m| m.organization_id))
}

async fn record_failure(
    db: &Db,
    base_url: &str,
    attempt: &throttle::Attempt,
    account: Option<(Uuid, String, String)>,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), LoginError> {
    let Some((user_id, email, locale)) = account else {
        tracing::info!(
            event = "login.failed",
            "sign-in failed for an unknown address"
        );
        // The same bookkeeping as for a known account (one audit write), so the answer takes
        // as long either way.
        audit::record(
            db,
            NewAuditEvent {
                organization_id: None,
                actor_user_id: None,
                action: AuditAction::LoginFailed,
                ip,
                details: json!({ "step": "password", "account": "unknown" }),
            },
        )
        .await?;
        return Ok(());
    };
    tracing::info!(event = "login.failed", %user_id, "sign-in failed");
    let organization_id = default_organization(db, user_id).await?;
    audit::record(
        db,
        NewAuditEvent::by_user(
            AuditAction::LoginFailed,
            organization_id,
            user_id,
            ip,
            json!({ "user_id": user_id, "step": "password" }),
        ),
    )
    .await?;
    if let Some(key) = &attempt.newly_blocked_key {
        warn_owner(
            db,
            base_url,
            key,
            user_id,
            &email,
            &locale,
            Kind::SuspiciousSignIns,
            now,
        )
        .await?;
    }
    Ok(())
}

/// Tells the owner — once a day per key — that someone is failing to sign in to their account.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn warn_owner(
    db: &Db,
    base_url: &str,
    key: &str,
    user_id: Uuid,
    email: &str,
    locale: &str,
    kind: Kind,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let txn = crate::db::begin_write(db).await?;
    if throttle::claim_notification(&txn, key, now).await? {
        notifications::notify(&txn, user_id, kind, json!({}), now).await?;
        let locale = Locale::from_code(locale).unwrap_or_default();
        mail::enqueue(
            &txn,
            templates::suspicious_sign_ins(email, locale, &format!("{base_url}/reset-password")),
        )
        .await?;
        tracing::warn!(event = "login.owner_warned", %user_id, kind = kind.code(), "owner told about failed sign-ins");
    }
    txn.commit().await?;
    Ok(())
}

/// The second-factor step, for a session whose password step answered
/// [`LoginOutcome::SecondFactorRequired`]. Throttled per user like the password step.
pub async fn second_factor(
    db: &Db,
    base_url: &str,
    cipher: &Cipher,
    user_id: Uuid,
    code: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<SecondFactor, LoginError> {
    let key = throttle::second_factor_key(user_id);
    let keys = std::slice::from_ref(&key);
    let attempt = throttle::attempt(db, keys, now).await?;
    if attempt.blocked {
        tracing::info!(event = "login.throttled", %user_id, "second factor refused while throttled");
        return Err(LoginError::Refused);
    }
    let organization_id = default_organization(db, user_id).await?;
    match two_factor::verify(db, cipher, user_id, code, now, ip).await {
        Ok(method) => {
            throttle::refund(db, keys).await?;
            let second_factor = match method {
                SecondFactor::Totp => "totp",
                SecondFactor::RecoveryCode { .. } => "recovery_code",
            };
            audit::record(
                db,
                NewAuditEvent::by_user(
                    AuditAction::LoginSucceeded,
                    organization_id,
                    user_id,
                    ip,
                    json!({ "user_id": user_id, "second_factor": second_factor }),
                ),
            )
            .await?;
            Ok(method)
        }
        Err(AccountError::Field { .. } | AccountError::TwoFactorNotEnabled) => {
            tracing::info!(event = "login.failed", %user_id, step = "second_factor", "second factor refused");
            audit::record(
                db,
                NewAuditEvent::by_user(
                    AuditAction::LoginFailed,
                    organization_id,
                    user_id,
                    ip,
                    json!({ "user_id": user_id, "step": "second_factor" }),
                ),
            )
            .await?;
            if attempt.newly_blocked_key.is_some()
                && let Some(account) = user::Entity::find_by_id(user_id).one(db).await?
            {
                warn_owner(
                    db,
                    base_url,
                    &key.name,
                    user_id,
                    &account.email,
                    &account.locale,
                    Kind::SuspiciousSecondFactor,
                    now,
                )
                .await?;
            }
            Err(LoginError::Refused)
        }
        Err(other) => Err(other.into()),
    }
}
