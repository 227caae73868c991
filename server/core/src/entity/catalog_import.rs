//! A CSV import of the catalog, run as a background job (see `catalog::csv`).

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The member who started it (none for an API key).
    pub user_id: Option<Uuid>,
    /// The API key that started it, with the scopes it acted with (space-separated codes).
    pub api_key_id: Option<Uuid>,
    pub api_scopes: Option<String>,
    /// `validating`, `invalid`, `applying`, `done` or `failed`.
    pub status: String,
    pub file_name: String,
    pub file_size: i64,
    /// The uploaded bytes, until the job ends.
    #[sea_orm(column_type = "Blob", nullable)]
    pub file_content: Option<Vec<u8>>,
    /// `semicolon`, `comma` or `tab`.
    pub delimiter: Option<String>,
    /// Data rows (the header not counted).
    pub total_rows: i64,
    pub processed_rows: i64,
    pub created_products: i64,
    pub updated_products: i64,
    pub unchanged_products: i64,
    /// JSON report of refused rows and columns.
    pub errors: Option<String>,
    pub failure: Option<String>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub heartbeat_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

impl std::fmt::Debug for Model {
    /// Everything but the file: megabytes of merchant data have no place in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogImport")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("status", &self.status)
            .field("file_name", &self.file_name)
            .field("file_size", &self.file_size)
            .field("total_rows", &self.total_rows)
            .field("processed_rows", &self.processed_rows)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl crate::access::OrganizationScoped for Entity {
    fn organization_column() -> Self::Column {
        Column::OrganizationId
    }
}
