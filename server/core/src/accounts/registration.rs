//! Signing up: a new user becomes the owner of a new organization and gets a link to confirm
//! the address. Signing up with an address that already has an account looks exactly the same
//! to the person at the form (same answer, about the same time: the password is hashed either
//! way) and sends the address owner a notice instead.

use std::net::IpAddr;

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use shopmarkets_types::{DisplayName, EmailAddress, Locale, OrganizationName, Password};
use uuid::Uuid;

use super::{
    AccountError, common_passwords, password_hash,
    tokens::{self, Purpose},
};
use crate::{
    audit::{self, AuditAction, NewAuditEvent},
    db::{Db, DbError, begin_write, is_unique_violation},
    entity::{membership, organization, user},
    mail::{self, templates},
    secret::Secret,
};

/// How long an email confirmation link works.
pub const VERIFY_EMAIL_VALID_FOR: Duration = Duration::hours(48);

/// A sign-up, already parsed into valid values.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: EmailAddress,
    pub password: Password,
    pub display_name: DisplayName,
    pub organization_name: OrganizationName,
    pub locale: Locale,
}

/// Registers an account. `Ok(())` means "if the address is yours, check your inbox" — the same
/// for new and existing addresses.
pub async fn register(
    db: &Db,
    base_url: &str,
    registration: Registration,
    ip: Option<IpAddr>,
) -> Result<(), AccountError> {
    common_passwords::ensure_uncommon(&registration.password)
        .map_err(|e| AccountError::field("password", e))?;
    let password_hash =
        password_hash::hash(Secret::new(registration.password.expose().to_owned())).await?;

    // Two sign-ups with one address at the same moment: the database's unique index lets one
    // win; the other runs again and takes the "address exists" path.
    match create(db, base_url, &registration, &password_hash, ip).await {
        Err(AccountError::Db(DbError::Query(err))) if is_unique_violation(&err) => {
            create(db, base_url, &registration, &password_hash, ip).await
        }
        result => result,
    }
}

async fn create(
    db: &Db,
    base_url: &str,
    registration: &Registration,
    password_hash: &str,
    ip: Option<IpAddr>,
) -> Result<(), AccountError> {
    let txn = begin_write(db).await?;
    let existing = user::Entity::find()
        .filter(user::Column::Email.eq(registration.email.as_str()))
        .one(&txn)
        .await?;
    if let Some(existing) = existing {
        let notice = templates::already_registered(
            &existing.email,
            Locale::from_code(&existing.locale).unwrap_or_default(),
            &format!("{base_url}/login"),
        );
        mail::enqueue(&txn, notice).await?;
        txn.commit().await?;
        return Ok(());
    }

    let now = Utc::now();
    let organization = organization::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(registration.organization_name.as_str().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let user = user::ActiveModel {
        id: Set(Uuid::new_v4()),
        email: Set(registration.email.as_str().to_owned()),
        password_hash: Set(password_hash.to_owned()),
        display_name: Set(registration.display_name.as_str().to_owned()),
        locale: Set(registration.locale.code().to_owned()),
        email_verified_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        // No second factor until the user enrols one.
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    membership::ActiveModel {
        organization_id: Set(organization.id),
        user_id: Set(user.id),
        role: Set(membership::Role::Owner),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;

    let token = tokens::issue(&txn, user.id, Purpose::VerifyEmail, VERIFY_EMAIL_VALID_FOR).await?;
    let link = format!("{base_url}/verify-email?token={}", token.expose());
    mail::enqueue(
        &txn,
        templates::verify_email(&user.email, registration.locale, &link),
    )
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent {
            organization_id: Some(organization.id),
            actor_user_id: Some(user.id),
            action: AuditAction::AccountRegistered,
            ip,
            details: json!({ "user_id": user.id, "role": "owner" }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Confirms an address from the emailed link. Returns the user whose address it is.
pub async fn verify_email(db: &Db, token: &str) -> Result<Uuid, AccountError> {
    let txn = begin_write(db).await?;
    let user_id = tokens::consume(&txn, token, Purpose::VerifyEmail)
        .await?
        .ok_or(AccountError::InvalidLink)?;
    let now = Utc::now();
    user::Entity::update_many()
        .col_expr(
            user::Column::EmailVerifiedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            user::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    audit::record_in(
        &txn,
        NewAuditEvent {
            organization_id: None,
            actor_user_id: Some(user_id),
            action: AuditAction::EmailVerified,
            ip: None,
            details: json!({ "user_id": user_id }),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(user_id)
}

/// Sends a fresh confirmation link to an account that has not confirmed its address yet
/// (asked for by signing in with the right password before confirming).
pub async fn resend_verification(
    db: &Db,
    base_url: &str,
    account: &user::Model,
) -> Result<(), AccountError> {
    let txn = begin_write(db).await?;
    let token = tokens::issue(
        &txn,
        account.id,
        Purpose::VerifyEmail,
        VERIFY_EMAIL_VALID_FOR,
    )
    .await?;
    let link = format!("{base_url}/verify-email?token={}", token.expose());
    let locale = Locale::from_code(&account.locale).unwrap_or_default();
    mail::enqueue(&txn, templates::verify_email(&account.email, locale, &link)).await?;
    txn.commit().await?;
    Ok(())
}
