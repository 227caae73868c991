//! CSV imports of the catalog as background jobs: one row per uploaded file, with its state,
//! its progress, the counts of what it did and the report of what was wrong with it.
//!
//! The uploaded file itself is kept in the row only while the job needs it and is cleared
//! when the job ends, whichever way.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogImports {
    Table,
    Id,
    OrganizationId,
    UserId,
    ApiKeyId,
    ApiScopes,
    Status,
    FileName,
    FileSize,
    FileContent,
    Delimiter,
    TotalRows,
    ProcessedRows,
    CreatedProducts,
    UpdatedProducts,
    UnchangedProducts,
    Errors,
    Failure,
    CreatedAt,
    StartedAt,
    HeartbeatAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CatalogImports::Table)
                    .col(uuid(CatalogImports::Id).primary_key())
                    .col(uuid(CatalogImports::OrganizationId))
                    // Who started it: a member, or an API key with the scopes it acted with.
                    // The job runs later under that actor, checked again when it starts.
                    .col(uuid_null(CatalogImports::UserId))
                    .col(uuid_null(CatalogImports::ApiKeyId))
                    .col(string_len_null(CatalogImports::ApiScopes, 200))
                    .col(string_len(CatalogImports::Status, 16).check(
                        Expr::col(CatalogImports::Status).is_in([
                            "validating",
                            "invalid",
                            "applying",
                            "done",
                            "failed",
                        ]),
                    ))
                    .col(string_len(CatalogImports::FileName, 255))
                    .col(big_integer(CatalogImports::FileSize))
                    // The upload as sent (bytes, so invalid UTF-8 can be reported by row);
                    // NULL once the job has ended.
                    .col(blob_null(CatalogImports::FileContent))
                    // `semicolon`, `comma` or `tab`, once the header line has been read.
                    .col(string_len_null(CatalogImports::Delimiter, 16))
                    .col(big_integer(CatalogImports::TotalRows).default(0))
                    .col(big_integer(CatalogImports::ProcessedRows).default(0))
                    .col(big_integer(CatalogImports::CreatedProducts).default(0))
                    .col(big_integer(CatalogImports::UpdatedProducts).default(0))
                    .col(big_integer(CatalogImports::UnchangedProducts).default(0))
                    // JSON: the rows and columns that were refused, and why.
                    .col(text_null(CatalogImports::Errors))
                    // Why a job failed for reasons other than its content.
                    .col(string_len_null(CatalogImports::Failure, 500))
                    .col(timestamp_with_time_zone(CatalogImports::CreatedAt))
                    .col(timestamp_with_time_zone_null(CatalogImports::StartedAt))
                    // Written while the job makes progress; a job whose heartbeat stopped long
                    // ago was interrupted.
                    .col(timestamp_with_time_zone_null(CatalogImports::HeartbeatAt))
                    .col(timestamp_with_time_zone_null(CatalogImports::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_catalog_imports_organization")
                            .from(CatalogImports::Table, CatalogImports::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The import history of an organization, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_catalog_imports_organization_created")
                    .table(CatalogImports::Table)
                    .col(CatalogImports::OrganizationId)
                    .col(CatalogImports::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // Start-up looks for jobs left running.
        manager
            .create_index(
                Index::create()
                    .name("idx_catalog_imports_status")
                    .table(CatalogImports::Table)
                    .col(CatalogImports::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CatalogImports::Table).to_owned())
            .await
    }
}
