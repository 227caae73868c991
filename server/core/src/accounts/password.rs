//! Changing a password (signed in, with the current one) and resetting a forgotten one (by an
//! emailed single-use link). Either way the account's other sessions end, the owner gets an
//! email about it, and the audit log records it.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use shopmarkets_types::{EmailAddress, FieldError, Locale, Password};
use tower_sessions_core::session::Id;
use uuid::Uuid;

use super::{
    AccountError, common_passwords, login, password_hash, throttle,
    tokens::{self, Purpose},
};
use crate::{
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, begin_write},
    entity::user,
    mail::{self, templates},
    notifications::{self, Kind},
    secret::Secret,
    sessions,
};

/// How long a reset link works.
pub const RESET_VALID_FOR: Duration = Duration::hours(1);

/// Sends a reset link if the address has an account, and nothing otherwise. The caller answers
/// "if the address is registered, a link is on its way" either way, and should run this off
/// the request (so the answer takes the same time for both).
pub async fn request_reset(
    db: &Db,
    base_url: &str,
    email: &str,
    ip: Option<IpAddr>,
) -> Result<(), AccountError> {
    let Ok(address) = EmailAddress::parse(email) else {
        return Ok(());
    };
    let txn = begin_write(db).await?;
    let Some(account) = user::Entity::find()
        .filter(user::Column::Email.eq(address.as_str()))
        .one(&txn)
        .await?
    else {
        return Ok(());
    };
    // One working link at a time: a new request voids the older ones.
    tokens::revoke_all(&txn, account.id, Purpose::ResetPassword).await?;
    let token = tokens::issue(&txn, account.id, Purpose::ResetPassword, RESET_VALID_FOR).await?;
    let link = format!("{base_url}/reset-password?token={}", token.expose());
    let locale = Locale::from_code(&account.locale).unwrap_or_default();
    mail::enqueue(
        &txn,
        templates::reset_password(&account.email, locale, &link),
    )
    .await?;
    let organization_id = login::default_organization(&txn, account.id).await?;
    audit::record_in(
        &txn,
        NewAuditEvent::by_user(
            AuditAction::PasswordResetRequested,
            organization_id,
            account.id,
            ip,
            json!({ "user_id": account.id }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets a new password from a reset link. Ends every session of the account and clears its
/// sign-in throttling (the link proves control of the address).
pub async fn reset(
    db: &Db,
    token: &str,
    new_password: Password,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<Uuid, AccountError> {
    common_passwords::ensure_uncommon(&new_password)
        .map_err(|e| AccountError::field("password", e))?;
    let new_hash = password_hash::hash(Secret::new(new_password.into_inner())).await?;

    let txn = begin_write(db).await?;
    let user_id = tokens::consume(&txn, token, Purpose::ResetPassword)
        .await?
        .ok_or(AccountError::InvalidLink)?;
    let account = store_password(&txn, user_id, &new_hash, now).await?;
    tokens::revoke_all(&txn, user_id, Purpose::ResetPassword).await?;
    sessions::end_all_except(&txn, user_id, None).await?;
    throttle::clear(&txn, &throttle::account_keys_to_clear(&account.email, None)).await?;
    // Resetting also proves the address, so an unconfirmed account counts as confirmed.
    if account.email_verified_at.is_none() {
        user::Entity::update_many()
            .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
            .filter(user::Column::Id.eq(user_id))
            .exec(&txn)
            .await?;
    }
    after_change(&txn, &account, "reset", ip, now).await?;
    txn.commit().await?;
    Ok(user_id)
}

/// Changes the password of a signed-in user who typed the current one. Ends every other
/// session; `current_session` stays.
pub async fn change(
    db: &Db,
    user_id: Uuid,
    current_password: Secret<String>,
    new_password: Password,
    current_session: Option<&Id>,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let account = user::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or(AccountError::InvalidLink)?;
    // A stolen session must not become a way to guess the password: the re-entry is
    // throttled per user like a sign-in, and a blocked attempt is refused unchecked.
    let key = throttle::reauthentication_key(user_id);
    let keys = std::slice::from_ref(&key);
    let attempt = throttle::attempt(db, keys, now).await?;
    if attempt.blocked
        || !password_hash::verify(current_password, Some(account.password_hash.clone())).await
    {
        let organization_id = login::default_organization(db, user_id).await?;
        audit::record(
            db,
            NewAuditEvent::by_user(
                AuditAction::LoginFailed,
                organization_id,
                user_id,
                ip,
                json!({ "user_id": user_id, "step": "current_password" }),
            ),
        )
        .await?;
        return Err(AccountError::field(
            "current_password",
            FieldError::WrongPassword,
        ));
    }
    throttle::refund(db, keys).await?;
    common_passwords::ensure_uncommon(&new_password)
        .map_err(|e| AccountError::field("new_password", e))?;
    let new_hash = password_hash::hash(Secret::new(new_password.into_inner())).await?;

    let txn = begin_write(db).await?;
    let account = store_password(&txn, user_id, &new_hash, now).await?;
    tokens::revoke_all(&txn, user_id, Purpose::ResetPassword).await?;
    sessions::end_all_except(&txn, user_id, current_session).await?;
    after_change(&txn, &account, "change", ip, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn store_password(
    txn: &sea_orm::DatabaseTransaction,
    user_id: Uuid,
    new_hash: &str,
    now: DateTime<Utc>,
) -> Result<user::Model, AccountError> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .ok_or(AccountError::InvalidLink)
}

/// The notice, the in-app note and the audit entry every password change leaves.
async fn after_change(
    txn: &sea_orm::DatabaseTransaction,
    account: &user::Model,
    via: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(), AccountError> {
    let locale = Locale::from_code(&account.locale).unwrap_or_default();
    mail::enqueue(txn, templates::password_changed(&account.email, locale)).await?;
    notifications::notify(txn, account.id, Kind::PasswordChanged, json!({}), now).await?;
    let organization_id = login::default_organization(txn, account.id).await?;
    audit::record_in(
        txn,
        NewAuditEvent::by_user(
            AuditAction::PasswordChanged,
            organization_id,
            account.id,
            ip,
            json!({ "user_id": account.id, "via": via }),
        ),
    )
    .await?;
    Ok(())
}
