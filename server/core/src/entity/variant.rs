//! A sellable unit of a product: SKU, optional GTIN, option values, price and stock.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "variants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub gtin: Option<String>,
    /// JSON array, one value per option axis of the product.
    pub option_values: String,
    pub price_minor: i64,
    pub currency: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub position: i32,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl crate::access::OrganizationScoped for Entity {
    fn organization_column() -> Self::Column {
        Column::OrganizationId
    }
}
