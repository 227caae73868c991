//! What the running system knows about itself: version, database engine and schema state.
//! Shown on the dashboard and used by readiness checks.

use shopmarkets_migrations::{Migrator, MigratorTrait as _};

use crate::db::{Db, DbError, Engine};

/// A snapshot of the system's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemStatus {
    pub version: &'static str,
    pub engine: Engine,
    /// The newest applied migration, e.g. `m20261204_000001_create_organizations_and_users`.
    pub schema_version: Option<String>,
    pub migrations_applied: usize,
    pub migrations_pending: usize,
}

/// Reads the system status from the database.
pub async fn status(db: &Db) -> Result<SystemStatus, DbError> {
    let applied = Migrator::get_applied_migrations(db).await?;
    let pending = Migrator::get_pending_migrations(db).await?;
    Ok(SystemStatus {
        version: env!("CARGO_PKG_VERSION"),
        engine: Engine::of(db),
        schema_version: applied.last().map(|m| m.name().to_owned()),
        migrations_applied: applied.len(),
        migrations_pending: pending.len(),
    })
}
