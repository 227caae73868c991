//! An image shown for a product (or, with `variant_id`, for one of its variants), in the
//! product's order of images.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "product_images")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub product_id: Uuid,
    /// The variant the image shows (a colour); `None` for the whole product.
    pub variant_id: Option<Uuid>,
    pub media_object_id: Uuid,
    /// The product's images are shown in ascending order; the first is the main image.
    pub position: i32,
    pub alt_text: Option<String>,
    /// Every change adds one; the sync outbox carries it.
    pub version: i64,
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
