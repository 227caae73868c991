//! Marketplace connections: the connection itself (account, status, health, encrypted
//! credentials), the short-lived state of a connect flow between the redirect to the
//! marketplace and its callback, and the verified notifications received per connection.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChannelConnections {
    Table,
    Id,
    OrganizationId,
    Marketplace,
    AccountId,
    AccountName,
    Status,
    Scopes,
    Secrets,
    AccessExpiresAt,
    LastSuccessAt,
    LastError,
    LastErrorAt,
    WebhookIds,
    ConnectedBy,
    Version,
    CreatedAt,
    UpdatedAt,
    DisconnectedAt,
}

#[derive(DeriveIden)]
enum ChannelAuthStates {
    Table,
    Id,
    StateHash,
    OrganizationId,
    UserId,
    SessionHash,
    Marketplace,
    ConnectionId,
    Secrets,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum ChannelEvents {
    Table,
    Id,
    ConnectionId,
    OrganizationId,
    Marketplace,
    EventId,
    Topic,
    Payload,
    ReceivedAt,
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
                    .table(ChannelConnections::Table)
                    .col(uuid(ChannelConnections::Id).primary_key())
                    .col(uuid(ChannelConnections::OrganizationId))
                    .col(string_len(ChannelConnections::Marketplace, 24))
                    // The shop domain, seller id, user id or store URL at the marketplace.
                    .col(string_len(ChannelConnections::AccountId, 255))
                    .col(string_len(ChannelConnections::AccountName, 255))
                    .col(string_len(ChannelConnections::Status, 24).check(
                        Expr::col(ChannelConnections::Status).is_in([
                            "active",
                            "needs_reconnect",
                            "disconnected",
                        ]),
                    ))
                    .col(text(ChannelConnections::Scopes))
                    // AES-256-GCM (crypto::Cipher) of the credentials; NULL once disconnected.
                    .col(text_null(ChannelConnections::Secrets))
                    .col(timestamp_with_time_zone_null(
                        ChannelConnections::AccessExpiresAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        ChannelConnections::LastSuccessAt,
                    ))
                    .col(text_null(ChannelConnections::LastError))
                    .col(timestamp_with_time_zone_null(
                        ChannelConnections::LastErrorAt,
                    ))
                    // JSON array of the marketplace's ids of our webhook subscriptions.
                    .col(text(ChannelConnections::WebhookIds))
                    .col(uuid_null(ChannelConnections::ConnectedBy))
                    .col(big_integer(ChannelConnections::Version))
                    .col(timestamp_with_time_zone(ChannelConnections::CreatedAt))
                    .col(timestamp_with_time_zone(ChannelConnections::UpdatedAt))
                    .col(timestamp_with_time_zone_null(
                        ChannelConnections::DisconnectedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_channel_connections_organization")
                            .from(
                                ChannelConnections::Table,
                                ChannelConnections::OrganizationId,
                            )
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_connections_account")
                    .table(ChannelConnections::Table)
                    .col(ChannelConnections::OrganizationId)
                    .col(ChannelConnections::Marketplace)
                    .col(ChannelConnections::AccountId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_connections_expiry")
                    .table(ChannelConnections::Table)
                    .col(ChannelConnections::Status)
                    .col(ChannelConnections::AccessExpiresAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChannelAuthStates::Table)
                    .col(uuid(ChannelAuthStates::Id).primary_key())
                    // SHA-256 of the state sent to the marketplace; the state itself is not kept.
                    .col(string_len(ChannelAuthStates::StateHash, 64).unique_key())
                    .col(uuid(ChannelAuthStates::OrganizationId))
                    .col(uuid(ChannelAuthStates::UserId))
                    // SHA-256 of the browser session's id: the callback must come back to it.
                    .col(string_len(ChannelAuthStates::SessionHash, 64))
                    .col(string_len(ChannelAuthStates::Marketplace, 24))
                    .col(uuid_null(ChannelAuthStates::ConnectionId))
                    // Encrypted: the PKCE verifier, the shop or store entered, keys handed over.
                    .col(text(ChannelAuthStates::Secrets))
                    .col(timestamp_with_time_zone(ChannelAuthStates::CreatedAt))
                    .col(timestamp_with_time_zone(ChannelAuthStates::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ChannelAuthStates::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_channel_auth_states_organization")
                            .from(ChannelAuthStates::Table, ChannelAuthStates::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChannelEvents::Table)
                    .col(uuid(ChannelEvents::Id).primary_key())
                    .col(uuid(ChannelEvents::ConnectionId))
                    .col(uuid(ChannelEvents::OrganizationId))
                    .col(string_len(ChannelEvents::Marketplace, 24))
                    .col(string_len(ChannelEvents::EventId, 255))
                    .col(string_len(ChannelEvents::Topic, 128))
                    .col(text(ChannelEvents::Payload))
                    .col(timestamp_with_time_zone(ChannelEvents::ReceivedAt))
                    .col(timestamp_with_time_zone_null(ChannelEvents::ProcessedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_channel_events_connection")
                            .from(ChannelEvents::Table, ChannelEvents::ConnectionId)
                            .to(ChannelConnections::Table, ChannelConnections::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_channel_events_once")
                    .table(ChannelEvents::Table)
                    .col(ChannelEvents::ConnectionId)
                    .col(ChannelEvents::EventId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChannelEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ChannelAuthStates::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ChannelConnections::Table).to_owned())
            .await
    }
}
