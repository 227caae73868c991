//! A product of the central catalog. Its sellable units are its variants.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub title: String,
    /// Title and brand, lower-cased: what the list searches.
    pub search_text: String,
    pub brand: Option<String>,
    pub description_html: String,
    pub description_text: String,
    pub category: Option<String>,
    pub condition: String,
    /// JSON array of the option axes, e.g. `["Größe","Farbe"]`.
    pub option_names: String,
    /// JSON object of typed attributes.
    pub attributes: String,
    pub weight_grams: Option<i32>,
    pub length_mm: Option<i32>,
    pub width_mm: Option<i32>,
    pub height_mm: Option<i32>,
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
