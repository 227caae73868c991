//! An API key of an organization. Only the SHA-256 of the key is stored; the key itself is
//! shown once, when it is created.

use sea_orm::entity::prelude::*;

use crate::access::OrganizationScoped;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    /// The public, random part of the key (`smk_<prefix>_…`); unique.
    pub prefix: String,
    /// SHA-256 of the whole key, lower-case hex.
    pub secret_hash: String,
    /// Space-separated scope codes.
    pub scopes: String,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

impl std::fmt::Debug for Model {
    /// The hash cannot be turned back into the key, but it has no business in a log either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("prefix", &self.prefix)
            .field("secret_hash", &"[redacted]")
            .field("scopes", &self.scopes)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl OrganizationScoped for Entity {
    fn organization_column() -> Self::Column {
        Column::OrganizationId
    }
}
