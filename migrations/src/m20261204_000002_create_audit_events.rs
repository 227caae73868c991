//! The audit log: append-only, every entry hash-chained to the one before it in its chain (one
//! chain per organization, one for events without an organization).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    Chain,
    Seq,
    OrganizationId,
    ActorUserId,
    Action,
    IpPrefix,
    Details,
    OccurredAt,
    PrevHash,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_pk_auto(AuditEvents::Id))
                    .col(string_len(AuditEvents::Chain, 40))
                    .col(big_integer(AuditEvents::Seq))
                    .col(uuid_null(AuditEvents::OrganizationId))
                    .col(uuid_null(AuditEvents::ActorUserId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len_null(AuditEvents::IpPrefix, 64))
                    // Text, not JSON: the hash covers these exact bytes on both engines.
                    .col(text(AuditEvents::Details))
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(char_len(AuditEvents::PrevHash, 64))
                    .col(char_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        // One writer wins each position in a chain; a concurrent second one retries.
        manager
            .create_index(
                Index::create()
                    .name("uq_audit_events_chain_seq")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::Chain)
                    .col(AuditEvents::Seq)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await
    }
}
