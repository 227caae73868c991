//! A catalog change waiting for the sync engine, written in the transaction of the change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub organization_id: Uuid,
    /// `product`, `variant`, `price` or `stock`.
    pub entity: String,
    pub entity_id: Uuid,
    pub product_id: Uuid,
    /// `created`, `updated` or `deleted`.
    pub change: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
