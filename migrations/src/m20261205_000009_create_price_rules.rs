//! Channel price rules (one per organization and marketplace: percent, fixed amount, rounding),
//! stored with the catalog and applied by the sync engine when it pushes prices; and an index
//! for the product list sorted by title.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PriceRules {
    Table,
    Id,
    OrganizationId,
    Marketplace,
    PercentBasisPoints,
    AddMinor,
    Rounding,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    OrganizationId,
    Title,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PriceRules::Table)
                    .col(uuid(PriceRules::Id).primary_key())
                    .col(uuid(PriceRules::OrganizationId))
                    .col(string_len(PriceRules::Marketplace, 24))
                    // +15 % is 1500; the range is checked by the service.
                    .col(integer(PriceRules::PercentBasisPoints))
                    .col(big_integer(PriceRules::AddMinor))
                    .col(string_len(PriceRules::Rounding, 16).check(
                        Expr::col(PriceRules::Rounding).is_in([
                            "none",
                            "ending_99",
                            "ending_95",
                            "ending_90",
                            "whole",
                        ]),
                    ))
                    .col(big_integer(PriceRules::Version))
                    .col(timestamp_with_time_zone(PriceRules::CreatedAt))
                    .col(timestamp_with_time_zone(PriceRules::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_price_rules_organization")
                            .from(PriceRules::Table, PriceRules::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_price_rules_organization_marketplace")
                    .table(PriceRules::Table)
                    .col(PriceRules::OrganizationId)
                    .col(PriceRules::Marketplace)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_products_organization_title")
                    .table(Products::Table)
                    .col(Products::OrganizationId)
                    .col(Products::Title)
                    .col(Products::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_products_organization_title")
                    .table(Products::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(PriceRules::Table).to_owned())
            .await
    }
}
