//! Single-use tokens for emailed links: 256 random bits, handed out once, stored as SHA-256,
//! consumed with a conditional update so a link works exactly once even when clicked twice
//! at the same moment.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{entity::account_token, secret::Secret};

/// What a token is for; a token for one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// Creates a token and returns it; only its hash is stored.
pub async fn issue(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
    valid_for: Duration,
) -> Result<Secret<String>, sea_orm::DbErr> {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = Utc::now();
    account_token::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        purpose: Set(purpose.code().to_owned()),
        token_hash: Set(hash(&token)),
        expires_at: Set(now + valid_for),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    Ok(Secret::new(token))
}

/// Uses a token: returns its user when the token exists, has this purpose, has not expired
/// and was not used before; marks it used in the same statement.
pub async fn consume(
    conn: &impl ConnectionTrait,
    token: &str,
    purpose: Purpose,
) -> Result<Option<Uuid>, sea_orm::DbErr> {
    if token.len() > 100 {
        return Ok(None);
    }
    let token_hash = hash(token);
    let now = Utc::now();
    let Some(row) = account_token::Entity::find()
        .filter(account_token::Column::TokenHash.eq(&token_hash))
        .filter(account_token::Column::Purpose.eq(purpose.code()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let updated = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(now))
        .filter(account_token::Column::Id.eq(row.id))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    Ok((updated.rows_affected == 1).then_some(row.user_id))
}

/// Voids every unused token of a purpose for a user (a newer link, or the password changed).
pub async fn revoke_all(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    purpose: Purpose,
) -> Result<(), sea_orm::DbErr> {
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(Utc::now()))
        .filter(account_token::Column::UserId.eq(user_id))
        .filter(account_token::Column::Purpose.eq(purpose.code()))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
