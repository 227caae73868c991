//! The ShopMarkets database schema as sea-orm migrations.
//!
//! One migration per file, named by date and purpose; every migration runs on SQLite and
//! PostgreSQL. The server applies pending migrations at start-up and through
//! `shopmarkets migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_create_organizations_and_users;
mod m20261204_000002_create_audit_events;
mod m20261204_000003_create_account_tokens_and_email_outbox;
mod m20261204_000004_add_two_factor;
mod m20261204_000005_create_api_keys;
mod m20261204_000006_create_invitations;
mod m20261204_000007_create_sessions_and_login_throttles;
mod m20261205_000008_create_catalog;
mod m20261205_000009_create_price_rules;
mod m20261205_000010_create_media;
mod m20261205_000011_create_catalog_imports;
mod m20261205_000012_create_channel_connections;

/// Every migration of the product, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_create_organizations_and_users::Migration),
            Box::new(m20261204_000002_create_audit_events::Migration),
            Box::new(m20261204_000003_create_account_tokens_and_email_outbox::Migration),
            Box::new(m20261204_000004_add_two_factor::Migration),
            Box::new(m20261204_000005_create_api_keys::Migration),
            Box::new(m20261204_000006_create_invitations::Migration),
            Box::new(m20261204_000007_create_sessions_and_login_throttles::Migration),
            Box::new(m20261205_000008_create_catalog::Migration),
            Box::new(m20261205_000009_create_price_rules::Migration),
            Box::new(m20261205_000010_create_media::Migration),
            Box::new(m20261205_000011_create_catalog_imports::Migration),
            Box::new(m20261205_000012_create_channel_connections::Migration),
        ]
    }
}
