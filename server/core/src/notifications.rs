//! Messages for a user inside the app, shown on the dashboard until read — the in-app half of
//! telling an owner about suspicious activity (the other half is an email in the outbox).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};
use uuid::Uuid;

use crate::{db::DbError, entity::notification};

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Many failed sign-in attempts on the account.
    SuspiciousSignIns,
    /// Many failed second-factor attempts after a correct password.
    SuspiciousSecondFactor,
    /// The password was changed or reset.
    PasswordChanged,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::SuspiciousSignIns => "suspicious_sign_ins",
            Kind::SuspiciousSecondFactor => "suspicious_second_factor",
            Kind::PasswordChanged => "password_changed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Kind::SuspiciousSignIns,
            Kind::SuspiciousSecondFactor,
            Kind::PasswordChanged,
        ]
        .into_iter()
        .find(|kind| kind.code() == code)
    }
}

/// One notification as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub kind: Kind,
    pub created_at: DateTime<Utc>,
}

/// Adds a notification for a user.
pub async fn notify(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    kind: Kind,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    notification::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        kind: Set(kind.code().to_owned()),
        details: Set(details.to_string()),
        created_at: Set(now),
        read_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// The user's unread notifications, newest first (at most 20).
pub async fn unread(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<Notification>, DbError> {
    let rows = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::ReadAt.is_null())
        .order_by_desc(notification::Column::CreatedAt)
        .limit(20)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(Notification {
                id: row.id,
                kind: Kind::from_code(&row.kind)?,
                created_at: row.created_at,
            })
        })
        .collect())
}

/// Marks one of the user's notifications read; another user's id changes nothing.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(now))
        .filter(notification::Column::UserId.eq(user_id))
        .filter(notification::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
