//! The ShopMarkets database schema as sea-orm migrations.
//!
//! One migration per file, named by date and purpose; every migration runs on SQLite and
//! PostgreSQL. The server applies pending migrations at start-up and through
//! `shopmarkets migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261204_000001_create_organizations_and_users;
mod m20261204_000002_create_audit_events;
mod m20261204_000003_create_account_tokens_and_email_outbox;

/// Every migration of the product, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261204_000001_create_organizations_and_users::Migration),
            Box::new(m20261204_000002_create_audit_events::Migration),
            Box::new(m20261204_000003_create_account_tokens_and_email_outbox::Migration),
        ]
    }
}
