//! Email: every message is written to the outbox in the same transaction as the change that
//! caused it, so a rolled-back change sends nothing and a committed one is never forgotten.
//! A sender (SMTP when `SMTP_URL` is set) delivers from the outbox; development shows it on a
//! page instead.

pub mod sender;
pub mod templates;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use shopmarkets_types::Locale;
use uuid::Uuid;

use crate::entity::email_outbox;

/// A message ready for the outbox.
#[derive(Clone)]
pub struct Email {
    pub to: String,
    /// What kind of message this is (`verify_email`), for the outbox page and metrics.
    pub kind: &'static str,
    pub locale: Locale,
    pub subject: String,
    pub body_text: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Email({})", self.kind)
    }
}

/// Puts a message into the outbox.
pub async fn enqueue(conn: &impl ConnectionTrait, email: Email) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::new_v4();
    email_outbox::ActiveModel {
        id: Set(id),
        to_address: Set(email.to),
        kind: Set(email.kind.to_owned()),
        locale: Set(email.locale.code().to_owned()),
        subject: Set(email.subject),
        body_text: Set(email.body_text),
        created_at: Set(Utc::now()),
        sent_at: Set(None),
        attempts: Set(0),
        last_error: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// Unsent messages, oldest first.
pub async fn unsent(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, sea_orm::DbErr> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::SentAt.is_null())
        .order_by_asc(email_outbox::Column::CreatedAt)
        .limit(limit)
        .all(conn)
        .await
}

/// Messages to one address, newest first (the development outbox page, and tests).
pub async fn to_address(
    conn: &impl ConnectionTrait,
    address: &str,
) -> Result<Vec<email_outbox::Model>, sea_orm::DbErr> {
    email_outbox::Entity::find()
        .filter(email_outbox::Column::ToAddress.eq(address))
        .order_by_desc(email_outbox::Column::CreatedAt)
        .all(conn)
        .await
}

/// The newest messages, sent or not (the development outbox page).
pub async fn newest(
    conn: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<email_outbox::Model>, sea_orm::DbErr> {
    email_outbox::Entity::find()
        .order_by_desc(email_outbox::Column::CreatedAt)
        .limit(limit)
        .all(conn)
        .await
}
