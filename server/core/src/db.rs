//! Database access: SQLite (the embedded default) or PostgreSQL, chosen by `DATABASE_URL`.
//!
//! Connecting also applies pending migrations, so a started process always sees the schema it
//! was built for.

use std::{fmt, path::Path, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend};
use shopmarkets_migrations::{Migrator, MigratorTrait as _};

use crate::secret::Secret;

/// The connection pool every service takes.
pub type Db = sea_orm::DatabaseConnection;

/// The two database engines the product runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(db: &Db) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Self::Postgres,
            _ => Self::Sqlite,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// A validated database URL. Its `Debug` and `Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    engine: Engine,
    url: Secret<String>,
}

impl DatabaseUrl {
    /// Accepts `sqlite:…` and `postgres://…` / `postgresql://…` URLs.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if let Some(rest) = value.strip_prefix("sqlite:") {
            if rest.is_empty() {
                return Err(
                    "has no SQLite file path (e.g. sqlite://data/shopmarkets.db?mode=rwc)".into(),
                );
            }
            return Ok(Self {
                engine: Engine::Sqlite,
                url: Secret::new(value.to_owned()),
            });
        }
        let rest = value
            .strip_prefix("postgres://")
            .or_else(|| value.strip_prefix("postgresql://"))
            .ok_or("must start with sqlite: or postgres://")?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(
                "has no PostgreSQL host (e.g. postgres://user@127.0.0.1:5432/shopmarkets)".into(),
            );
        }
        Ok(Self {
            engine: Engine::Postgres,
            url: Secret::new(value.to_owned()),
        })
    }

    /// The default embedded database: a SQLite file, created when missing.
    pub fn sqlite_file(path: &Path) -> Self {
        Self {
            engine: Engine::Sqlite,
            url: Secret::new(format!("sqlite://{}?mode=rwc", path.display())),
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The full URL, password included: only for opening the connection.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// The SQLite file this URL points at, if it is one (not in-memory).
    fn sqlite_path(&self) -> Option<&Path> {
        let rest = self.expose().strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next()?;
        (!path.is_empty() && path != ":memory:").then(|| Path::new(path))
    }

    fn is_sqlite_memory(&self) -> bool {
        self.engine == Engine::Sqlite && self.sqlite_path().is_none()
    }
}

impl fmt::Display for DatabaseUrl {
    /// Where the database is, without credentials: `SQLite at data/x.db`, `PostgreSQL at host/db`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.engine {
            Engine::Sqlite => match self.sqlite_path() {
                Some(path) => write!(f, "SQLite at {}", path.display()),
                None => f.write_str("SQLite in memory"),
            },
            Engine::Postgres => {
                let rest = self.expose().split("://").nth(1).unwrap_or_default();
                let without_query = rest.split('?').next().unwrap_or_default();
                let location = without_query.rsplit('@').next().unwrap_or_default();
                write!(f, "PostgreSQL at {location}")
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Why the database could not be used. Messages name the place, never the password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database ({target}): {reason}")]
    Connect { target: String, reason: String },
    #[error("cannot apply database migrations: {0}")]
    Migrate(String),
    #[error("database error: {0}")]
    Query(#[from] sea_orm::DbErr),
}

/// Opens a pool and applies pending migrations.
pub async fn connect(url: &DatabaseUrl, max_connections: u32) -> Result<Db, DbError> {
    let db = open(url, max_connections).await?;
    migrate(&db).await?;
    Ok(db)
}

/// Opens a pool without touching the schema.
pub async fn open(url: &DatabaseUrl, max_connections: u32) -> Result<Db, DbError> {
    let connect_error = |reason: String| DbError::Connect {
        target: url.to_string(),
        reason,
    };
    if let Some(dir) = url.sqlite_path().and_then(Path::parent)
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| connect_error(e.to_string()))?;
    }

    let mut options = ConnectOptions::new(url.expose().to_owned());
    options
        // An in-memory SQLite database exists per connection: one connection is the database.
        .max_connections(if url.is_sqlite_memory() {
            1
        } else {
            max_connections
        })
        .min_connections(if url.is_sqlite_memory() { 1 } else { 0 })
        // Closing the one connection of an in-memory database would drop the database.
        .idle_timeout(if url.is_sqlite_memory() {
            None
        } else {
            Some(Duration::from_secs(600))
        })
        .max_lifetime(if url.is_sqlite_memory() {
            None
        } else {
            Some(Duration::from_secs(1800))
        })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        // Statements carry personal data in their parameters; they never go to the log.
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .map_err(|e| connect_error(root_cause(&e)))?;

    if url.sqlite_path().is_some() {
        // Readers do not block the writer; persistent in the file once set.
        db.execute_unprepared("PRAGMA journal_mode=WAL")
            .await
            .map_err(|e| connect_error(root_cause(&e)))?;
    }
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &Db) -> Result<(), DbError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| DbError::Migrate(root_cause(&e)))
}

/// Names of the migrations not yet applied.
pub async fn pending_migrations(db: &Db) -> Result<Vec<String>, DbError> {
    Ok(Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .map(|m| m.name().to_owned())
        .collect())
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing with
/// "database is locked" when a read turns into a write; PostgreSQL ignores the mode.
/// Every read-then-write transaction in the product starts here.
pub async fn begin_write(db: &Db) -> Result<sea_orm::DatabaseTransaction, DbError> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait as _};
    Ok(db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?)
}

/// Whether an error is a unique-constraint violation: a concurrent writer got there first.
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &Db) -> Result<(), DbError> {
    db.ping().await.map_err(DbError::Query)
}

/// The innermost error text: sqlx wraps the useful part ("connection refused") in layers.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://shop:hunter2@db.internal:5432/sm?sslmode=require")
            .unwrap();
        assert_eq!(url.engine(), Engine::Postgres);
        assert_eq!(url.to_string(), "PostgreSQL at db.internal:5432/sm");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        let url = DatabaseUrl::sqlite_file(Path::new("./data/shopmarkets.db"));
        assert_eq!(url.expose(), "sqlite://./data/shopmarkets.db?mode=rwc");
        assert_eq!(url.to_string(), "SQLite at ./data/shopmarkets.db");
        let mem = DatabaseUrl::parse("sqlite::memory:").unwrap();
        assert!(mem.is_sqlite_memory());
        assert_eq!(mem.to_string(), "SQLite in memory");
    }

    #[test]
    fn malformed_urls_are_refused() {
        for bad in [
            "",
            "mysql://x/y",
            "postgres://",
            "postgres:///db",
            "sqlite:",
            "localhost:5432",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn unreachable_postgres_fails_fast_with_a_clear_message() {
        // Port 1 on loopback refuses at once on every machine.
        let url = DatabaseUrl::parse("postgres://postgres:canarypw@127.0.0.1:1/nothing").unwrap();
        let err = open(&url, 1).await.unwrap_err().to_string();
        assert!(
            err.starts_with("cannot open the database (PostgreSQL at 127.0.0.1:1/nothing)"),
            "{err}"
        );
        assert!(!err.contains("canarypw"), "{err}");
    }
}
