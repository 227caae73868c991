//! A connect flow between the redirect to the marketplace and its callback: single use,
//! short-lived, bound to the browser session that started it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_auth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub state_hash: String,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub session_hash: String,
    pub marketplace: String,
    /// Set when the flow reconnects an existing connection.
    pub connection_id: Option<Uuid>,
    /// Encrypted `channels::connections::Pending` (bound to this row's id).
    pub secrets: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
