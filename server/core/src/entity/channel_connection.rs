//! A marketplace account an organization connected (see `channels::connections`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "channel_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// `shopmarkets_types::Marketplace::code`.
    pub marketplace: String,
    pub account_id: String,
    pub account_name: String,
    /// `active`, `needs_reconnect` or `disconnected`.
    pub status: String,
    /// Space-separated, as granted.
    pub scopes: String,
    /// Encrypted credentials (`crypto::Cipher`, bound to this row's id); never leaves `core`.
    pub secrets: Option<String>,
    pub access_expires_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTimeUtc>,
    /// JSON array of the marketplace's ids of our webhook subscriptions.
    pub webhook_ids: String,
    pub connected_by: Option<Uuid>,
    /// Bumped by every credential change, so two refreshes cannot overwrite each other.
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub disconnected_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl crate::access::OrganizationScoped for Entity {
    fn organization_column() -> Self::Column {
        Column::OrganizationId
    }
}
