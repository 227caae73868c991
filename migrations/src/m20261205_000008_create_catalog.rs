//! The central catalog: products, their variants (each with SKU, price and stock), the stock
//! ledger every stock change goes through, and the sync outbox every catalog change writes to
//! in the same transaction.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    OrganizationId,
    Title,
    SearchText,
    Brand,
    DescriptionHtml,
    DescriptionText,
    Category,
    Condition,
    OptionNames,
    Attributes,
    WeightGrams,
    LengthMm,
    WidthMm,
    HeightMm,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Variants {
    Table,
    Id,
    OrganizationId,
    ProductId,
    Sku,
    Gtin,
    OptionValues,
    PriceMinor,
    Currency,
    OnHand,
    Reserved,
    Position,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StockMovements {
    Table,
    Id,
    OrganizationId,
    VariantId,
    OnHandDelta,
    ReservedDelta,
    OnHandAfter,
    ReservedAfter,
    Reason,
    Source,
    Note,
    ActorUserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SyncOutbox {
    Table,
    Id,
    OrganizationId,
    Entity,
    EntityId,
    ProductId,
    Change,
    Version,
    CreatedAt,
    ProcessedAt,
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
                    .table(Products::Table)
                    .col(uuid(Products::Id).primary_key())
                    .col(uuid(Products::OrganizationId))
                    .col(string_len(Products::Title, 200))
                    // Title and brand lower-cased by the service (Unicode-aware, which SQLite's
                    // `lower()` is not), for case-insensitive search on both engines.
                    .col(string_len(Products::SearchText, 330))
                    .col(string_len_null(Products::Brand, 120))
                    // Sanitized with an allowlist before it is stored; the plain form beside it.
                    .col(text(Products::DescriptionHtml))
                    .col(text(Products::DescriptionText))
                    .col(string_len_null(Products::Category, 200))
                    .col(string_len(Products::Condition, 24).check(
                        Expr::col(Products::Condition).is_in([
                            "new",
                            "refurbished",
                            "used_like_new",
                            "used_good",
                            "used_acceptable",
                        ]),
                    ))
                    // JSON: the option axes (["Größe", "Farbe"]) and typed attributes.
                    .col(text(Products::OptionNames))
                    .col(text(Products::Attributes))
                    .col(integer_null(Products::WeightGrams))
                    .col(integer_null(Products::LengthMm))
                    .col(integer_null(Products::WidthMm))
                    .col(integer_null(Products::HeightMm))
                    // Optimistic concurrency: every change of the product row adds one.
                    .col(big_integer(Products::Version))
                    .col(timestamp_with_time_zone(Products::CreatedAt))
                    .col(timestamp_with_time_zone(Products::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_products_organization")
                            .from(Products::Table, Products::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_products_organization_updated")
                    .table(Products::Table)
                    .col(Products::OrganizationId)
                    .col(Products::UpdatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Variants::Table)
                    .col(uuid(Variants::Id).primary_key())
                    .col(uuid(Variants::OrganizationId))
                    .col(uuid(Variants::ProductId))
                    .col(string_len(Variants::Sku, 64))
                    .col(string_len_null(Variants::Gtin, 14))
                    .col(text(Variants::OptionValues))
                    // Integer minor units (cents) with the ISO currency: never floats.
                    .col(
                        big_integer(Variants::PriceMinor)
                            .check(Expr::col(Variants::PriceMinor).gte(0)),
                    )
                    .col(char_len(Variants::Currency, 3))
                    // Changed only together with a stock_movements row.
                    .col(big_integer(Variants::OnHand).default(0))
                    .col(
                        big_integer(Variants::Reserved)
                            .default(0)
                            .check(Expr::col(Variants::Reserved).gte(0)),
                    )
                    .col(integer(Variants::Position))
                    .col(big_integer(Variants::Version))
                    .col(timestamp_with_time_zone(Variants::CreatedAt))
                    .col(timestamp_with_time_zone(Variants::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_variants_product")
                            .from(Variants::Table, Variants::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A SKU names one variant within an organization (marketplaces key offers by it).
        manager
            .create_index(
                Index::create()
                    .name("uq_variants_organization_sku")
                    .table(Variants::Table)
                    .col(Variants::OrganizationId)
                    .col(Variants::Sku)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_variants_product")
                    .table(Variants::Table)
                    .col(Variants::ProductId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StockMovements::Table)
                    .col(uuid(StockMovements::Id).primary_key())
                    .col(uuid(StockMovements::OrganizationId))
                    .col(uuid(StockMovements::VariantId))
                    .col(big_integer(StockMovements::OnHandDelta))
                    .col(big_integer(StockMovements::ReservedDelta))
                    .col(big_integer(StockMovements::OnHandAfter))
                    .col(big_integer(StockMovements::ReservedAfter))
                    .col(string_len(StockMovements::Reason, 24).check(
                        Expr::col(StockMovements::Reason).is_in([
                            "initial",
                            "received",
                            "counted",
                            "damaged",
                            "returned",
                            "correction",
                            "order_reserved",
                            "order_released",
                            "order_shipped",
                            "import",
                        ]),
                    ))
                    .col(string_len(StockMovements::Source, 120))
                    .col(string_len_null(StockMovements::Note, 200))
                    .col(uuid_null(StockMovements::ActorUserId))
                    .col(timestamp_with_time_zone(StockMovements::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_stock_movements_variant")
                            .from(StockMovements::Table, StockMovements::VariantId)
                            .to(Variants::Table, Variants::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_stock_movements_variant")
                    .table(StockMovements::Table)
                    .col(StockMovements::VariantId)
                    .col(StockMovements::CreatedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncOutbox::Table)
                    .col(big_pk_auto(SyncOutbox::Id))
                    .col(uuid(SyncOutbox::OrganizationId))
                    .col(
                        string_len(SyncOutbox::Entity, 16).check(
                            Expr::col(SyncOutbox::Entity)
                                .is_in(["product", "variant", "price", "stock"]),
                        ),
                    )
                    .col(uuid(SyncOutbox::EntityId))
                    .col(uuid(SyncOutbox::ProductId))
                    .col(string_len(SyncOutbox::Change, 16).check(
                        Expr::col(SyncOutbox::Change).is_in(["created", "updated", "deleted"]),
                    ))
                    .col(big_integer(SyncOutbox::Version))
                    .col(timestamp_with_time_zone(SyncOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(SyncOutbox::ProcessedAt))
                    .to_owned(),
            )
            .await?;
        // The sync engine reads "unprocessed, oldest first".
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_outbox_pending")
                    .table(SyncOutbox::Table)
                    .col(SyncOutbox::ProcessedAt)
                    .col(SyncOutbox::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SyncOutbox::Table.into_iden(),
            StockMovements::Table.into_iden(),
            Variants::Table.into_iden(),
            Products::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
