//! A processed upload of one organization: the cleaned original and its three derivatives, each
//! a content-addressed object in the media store. Product images point here; the same file
//! uploaded twice in an organization is one row (unique `sha256` per organization).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "media_objects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// SHA-256 (hex) of the stored original, the part of `original_key` before the dot.
    pub sha256: String,
    /// Of the original (`image/jpeg`, `image/png`, `image/webp`, `image/gif`).
    pub content_type: String,
    /// The original and its derivatives together: what counts against the quota.
    pub byte_size: i64,
    /// As displayed (after the EXIF orientation).
    pub width: i32,
    pub height: i32,
    pub original_key: String,
    pub thumbnail_key: String,
    pub medium_key: String,
    pub large_key: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl crate::access::OrganizationScoped for Entity {
    fn organization_column() -> Self::Column {
        Column::OrganizationId
    }
}
