//! The import as a background job: uploaded ([`start_import`]), run on a task of its own
//! ([`run_import`]), watched ([`import_status`]) and, after a crash, closed
//! ([`resume_interrupted`]).
//!
//! A job validates the whole file first (progress in `processed_rows`), then applies it in one
//! transaction. The job row's final state is written in that same transaction, so a job that
//! still says `applying` after its process died applied nothing: failing it with "interrupted,
//! nothing was applied" is the truth, and the merchant simply uploads again.
//!
//! While applying, progress is kept in process memory and, on PostgreSQL, also written to the
//! job row through a second connection. SQLite allows one writer at a time and the import's
//! transaction is it, so there the row shows applying progress only from the process running
//! the job — which, SQLite being single-process, is the only one.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{LazyLock, Mutex},
};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter,
    QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    ImportReport,
    apply::{ApplyError, apply},
    columns::Delimiter,
    plan::{Snapshot, plan as make_plan},
    read::{Next, RowReader},
};
use crate::{
    access::{AccessError, Actor, ApiScope, OrganizationScoped, Permission, Scope},
    clock::Clock,
    db::{Db, DbError, Engine, begin_write},
    entity::{api_key, catalog_import},
};

/// The largest file accepted: 50 MiB, some 100,000 variants with descriptions.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// A running job writes its heartbeat at least this often while it validates (and, on
/// PostgreSQL, while it applies); one silent for longer was interrupted.
pub const HEARTBEAT_STALE_AFTER: TimeDelta = TimeDelta::minutes(2);

/// Progress is recorded every this many rows.
const PROGRESS_EVERY: u64 = 1000;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportState {
    /// Waiting to start, or reading and checking the file.
    Validating,
    /// The file has problems (see the report); nothing was written.
    Invalid,
    /// Writing, in one transaction.
    Applying,
    Done,
    /// Stopped for a reason other than the file's content; nothing was written.
    Failed,
}

impl ImportState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Validating => "validating",
            Self::Invalid => "invalid",
            Self::Applying => "applying",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Validating,
            Self::Invalid,
            Self::Applying,
            Self::Done,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// Whether the job has ended.
    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Validating | Self::Applying)
    }
}

/// Why a job failed. In every case nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportFailure {
    /// The process running it stopped (restart, crash).
    Interrupted,
    /// Someone changed products of the file between the check and the write.
    ChangedMeanwhile,
    /// The member who started it left or lost the right to edit the catalog (or the API key
    /// was revoked) before it ran.
    NotPermitted,
    /// A database or other internal error (logged).
    Internal,
}

impl ImportFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::Interrupted => "interrupted",
            Self::ChangedMeanwhile => "changed_meanwhile",
            Self::NotPermitted => "not_permitted",
            Self::Internal => "internal",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Interrupted,
            Self::ChangedMeanwhile,
            Self::NotPermitted,
            Self::Internal,
        ]
        .into_iter()
        .find(|f| f.code() == code)
    }

    /// For logs and operators; the UI says it in the merchant's language from the code.
    pub fn message(self) -> &'static str {
        match self {
            Self::Interrupted => "interrupted, nothing was applied",
            Self::ChangedMeanwhile => {
                "products of the file were changed while it was checked, nothing was applied"
            }
            Self::NotPermitted => "no longer permitted to edit the catalog, nothing was applied",
            Self::Internal => "internal error, nothing was applied",
        }
    }
}

/// A job as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportStatus {
    pub id: Uuid,
    pub state: ImportState,
    pub file_name: String,
    pub file_size: u64,
    pub delimiter: Option<Delimiter>,
    /// Data rows in the file (known once reading has begun).
    pub total_rows: u64,
    /// Rows checked (validating) or written (applying) so far.
    pub processed_rows: u64,
    pub created_products: u64,
    pub updated_products: u64,
    pub unchanged_products: u64,
    /// The problems of an invalid file.
    pub report: ImportReport,
    pub failure: Option<ImportFailure>,
    pub started_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("the file is larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("the file is empty")]
    Empty,
    /// One import per organization at a time: two would wait on each other's transaction.
    #[error("another import of this organization is still running")]
    AlreadyRunning,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DbErr> for ImportError {
    fn from(err: DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// Progress of running jobs in this process, for [`import_status`] while the job's own
/// transaction keeps the row from being written.
static PROGRESS: LazyLock<Mutex<HashMap<Uuid, u64>>> = LazyLock::new(Default::default);

fn progress_map() -> std::sync::MutexGuard<'static, HashMap<Uuid, u64>> {
    PROGRESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes a job's progress from memory however `run_import` ends (panics included).
struct Registered(Uuid);

impl Drop for Registered {
    fn drop(&mut self) {
        progress_map().remove(&self.0);
    }
}

/// Records progress every [`PROGRESS_EVERY`] rows: in memory, and in the job row when the
/// engine allows a second writer (see the module documentation).
pub(super) struct Progress<'a> {
    db: &'a Db,
    id: Uuid,
    clock: &'a dyn Clock,
    persist: bool,
    last: u64,
}

impl Progress<'_> {
    pub(super) async fn advance(&mut self, processed: u64) -> Result<(), DbErr> {
        if processed < self.last + PROGRESS_EVERY {
            return Ok(());
        }
        self.last = processed;
        progress_map().insert(self.id, processed);
        if self.persist {
            catalog_import::Entity::update_many()
                .col_expr(
                    catalog_import::Column::ProcessedRows,
                    Expr::value(i64::try_from(processed).unwrap_or(i64::MAX)),
                )
                .col_expr(
                    catalog_import::Column::HeartbeatAt,
                    Expr::value(self.clock.now()),
                )
                .filter(catalog_import::Column::Id.eq(self.id))
                .filter(running())
                .exec(self.db)
                .await?;
        }
        // Reading a large file is long CPU work: let the other tasks of this thread run.
        tokio::task::yield_now().await;
        Ok(())
    }
}

fn running() -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(catalog_import::Column::Status.eq(ImportState::Validating.code()))
        .add(catalog_import::Column::Status.eq(ImportState::Applying.code()))
}

/// Accepts an uploaded file and records it as a job in `validating`; returns its id. Run it
/// with [`run_import`] (on a task of its own: it takes a while).
pub async fn start_import(
    db: &Db,
    scope: &Scope,
    file_name: &str,
    content: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<Uuid, ImportError> {
    scope.require(Permission::EditCatalog)?;
    if content.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge {
            max_bytes: MAX_FILE_BYTES,
        });
    }
    if content.is_empty() {
        return Err(ImportError::Empty);
    }
    let (user_id, api_key_id, api_scopes) = match scope.actor() {
        Actor::Member { user_id, .. } => (Some(*user_id), None, None),
        Actor::ApiKey { key_id, scopes } => {
            (None, Some(*key_id), Some(ApiScope::format_list(scopes)))
        }
    };
    let txn = begin_write(db).await?;
    fail_stale(&txn, Some(scope.organization_id()), now).await?;
    let busy = catalog_import::Entity::find_in(scope)
        .filter(running())
        .one(&txn)
        .await?;
    if busy.is_some() {
        return Err(ImportError::AlreadyRunning);
    }
    let id = Uuid::new_v4();
    catalog_import::ActiveModel {
        id: Set(id),
        organization_id: Set(scope.organization_id()),
        user_id: Set(user_id),
        api_key_id: Set(api_key_id),
        api_scopes: Set(api_scopes),
        status: Set(ImportState::Validating.code().to_owned()),
        file_name: Set(clean_file_name(file_name)),
        file_size: Set(content.len() as i64),
        file_content: Set(Some(content)),
        delimiter: Set(None),
        total_rows: Set(0),
        processed_rows: Set(0),
        created_products: Set(0),
        updated_products: Set(0),
        unchanged_products: Set(0),
        errors: Set(None),
        failure: Set(None),
        created_at: Set(now),
        started_at: Set(None),
        heartbeat_at: Set(Some(now)),
        finished_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(id)
}

/// The name to show: no path, no control characters, at most 255 characters.
fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    match cleaned.trim() {
        "" => "import.csv".to_owned(),
        name => name.to_owned(),
    }
}

/// Runs a job started with [`start_import`] to its end: validates the whole file, then — only
/// if it has no problem — applies it in one transaction. Returns the state it ended in; the
/// outcome is in the job row ([`import_status`]). A job that is already running or finished
/// is left alone, so calling this twice is harmless.
///
/// Made to be spawned: `tokio::spawn(async move { run_import(&db, id, clock.as_ref()).await })`.
/// An `Err` means the job row itself could not be written (the database is gone); the job is
/// then closed at the next start by [`resume_interrupted`].
pub async fn run_import(
    db: &Db,
    import_id: Uuid,
    clock: &dyn Clock,
) -> Result<ImportState, ImportError> {
    let started = clock.now();
    let claimed = catalog_import::Entity::update_many()
        .col_expr(catalog_import::Column::StartedAt, Expr::value(started))
        .col_expr(catalog_import::Column::HeartbeatAt, Expr::value(started))
        .filter(catalog_import::Column::Id.eq(import_id))
        .filter(catalog_import::Column::Status.eq(ImportState::Validating.code()))
        .filter(catalog_import::Column::StartedAt.is_null())
        .exec(db)
        .await?;
    let job = catalog_import::Entity::find_by_id(import_id)
        .one(db)
        .await?
        .ok_or(AccessError::NotFound)?;
    if claimed.rows_affected != 1 {
        return Ok(ImportState::from_code(&job.status).unwrap_or(ImportState::Failed));
    }
    let _registered = Registered(import_id);
    progress_map().insert(import_id, 0);
    match run_claimed(db, job, clock).await {
        Ok(state) => Ok(state),
        Err(err) => {
            // Whatever went wrong, the transaction did not commit: nothing was applied.
            tracing::error!(%import_id, error = %err, "catalog import failed");
            finish_failed(db, import_id, ImportFailure::Internal, clock)
                .await
                .map_err(|_| err)
        }
    }
}

/// The job, once this process has claimed it.
async fn run_claimed(
    db: &Db,
    job: catalog_import::Model,
    clock: &dyn Clock,
) -> Result<ImportState, ImportError> {
    let import_id = job.id;
    let scope = match job_scope(db, &job).await {
        Ok(scope) => scope,
        Err(failure) => return finish_failed(db, import_id, failure, clock).await,
    };
    let content = job.file_content.unwrap_or_default();

    // Validation: every row, then the rules between rows and against the catalog.
    let mut report = ImportReport::default();
    let mut progress = Progress {
        db,
        id: import_id,
        clock,
        persist: true,
        last: 0,
    };
    let Some(mut reader) = RowReader::open(&content, &mut report) else {
        return finish_invalid(db, import_id, report, 0, None, clock).await;
    };
    let delimiter = reader.delimiter();
    let total_rows = count_rows(&content);
    catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Delimiter,
            Expr::value(delimiter.code()),
        )
        .col_expr(
            catalog_import::Column::TotalRows,
            Expr::value(total_rows as i64),
        )
        .filter(catalog_import::Column::Id.eq(import_id))
        .exec(db)
        .await?;
    let header = reader.header().clone();
    let mut rows = Vec::new();
    let mut read = 0u64;
    loop {
        match reader.next(&mut report) {
            Next::Row(row) => rows.push(*row),
            Next::Refused => {}
            Next::Blank => continue,
            Next::End => break,
        }
        read += 1;
        progress.advance(read).await?;
    }
    drop(reader);
    let mut skus: Vec<String> = rows
        .iter()
        .filter_map(|r| r.sku.as_ref().map(|s| s.as_str().to_owned()))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    skus.sort();
    let snapshot = Snapshot::load(db, &scope, &skus).await?;
    // Grouping and checking every product is CPU work (HTML cleaning above all): off the
    // async threads.
    let (plan, report, snapshot) = tokio::task::spawn_blocking(move || {
        let mut report = report;
        let plan = make_plan(&rows, &header, &snapshot, &mut report);
        (plan, report, snapshot)
    })
    .await
    .map_err(|err| {
        tracing::error!(%import_id, error = %err, "checking the import panicked");
        DbError::Query(DbErr::Custom("checking the import failed".into()))
    })?;
    if !report.is_empty() {
        return finish_invalid(db, import_id, report, read, Some(delimiter), clock).await;
    }

    // Apply: one transaction, the job's final state included.
    let moved = catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportState::Applying.code()),
        )
        .col_expr(catalog_import::Column::ProcessedRows, Expr::value(0i64))
        .col_expr(
            catalog_import::Column::HeartbeatAt,
            Expr::value(clock.now()),
        )
        .filter(catalog_import::Column::Id.eq(import_id))
        .filter(catalog_import::Column::Status.eq(ImportState::Validating.code()))
        .exec(db)
        .await?;
    if moved.rows_affected != 1 {
        // Declared interrupted meanwhile (a stale heartbeat): leave it so.
        return Ok(ImportState::Failed);
    }
    progress_map().insert(import_id, 0);
    let mut progress = Progress {
        db,
        id: import_id,
        clock,
        persist: Engine::of(db) == Engine::Postgres,
        last: 0,
    };
    let now = clock.now();
    let txn = begin_write(db).await?;
    let outcome = apply(
        &txn,
        &scope,
        plan,
        &skus,
        &snapshot.placement,
        now,
        &mut progress,
    )
    .await;
    match outcome {
        Ok(counts) => {
            let done = catalog_import::Entity::update_many()
                .col_expr(
                    catalog_import::Column::Status,
                    Expr::value(ImportState::Done.code()),
                )
                .col_expr(
                    catalog_import::Column::ProcessedRows,
                    Expr::value(read as i64),
                )
                .col_expr(
                    catalog_import::Column::CreatedProducts,
                    Expr::value(counts.created as i64),
                )
                .col_expr(
                    catalog_import::Column::UpdatedProducts,
                    Expr::value(counts.updated as i64),
                )
                .col_expr(
                    catalog_import::Column::UnchangedProducts,
                    Expr::value(counts.unchanged as i64),
                )
                .col_expr(
                    catalog_import::Column::FileContent,
                    Expr::value(Option::<Vec<u8>>::None),
                )
                .col_expr(catalog_import::Column::FinishedAt, Expr::value(clock.now()))
                .filter(catalog_import::Column::Id.eq(import_id))
                .filter(catalog_import::Column::Status.eq(ImportState::Applying.code()))
                .exec(&txn)
                .await?;
            if done.rows_affected != 1 {
                // Declared interrupted while it ran: keep that true by writing nothing.
                txn.rollback().await?;
                return Ok(ImportState::Failed);
            }
            txn.commit().await?;
            Ok(ImportState::Done)
        }
        Err(ApplyError::Refused(report)) => {
            txn.rollback().await?;
            finish_invalid(db, import_id, report, read, Some(delimiter), clock).await
        }
        Err(ApplyError::ChangedMeanwhile) => {
            txn.rollback().await?;
            finish_failed(db, import_id, ImportFailure::ChangedMeanwhile, clock).await
        }
        Err(ApplyError::Catalog(err)) => {
            txn.rollback().await?;
            tracing::error!(%import_id, error = %err, "catalog import failed");
            finish_failed(db, import_id, ImportFailure::Internal, clock).await
        }
    }
}

/// Data rows of a file as the reader counts them (blank rows not counted), for the progress
/// bar's 100 %. A quick pass: no cell is decoded.
fn count_rows(content: &[u8]) -> u64 {
    let content = content.strip_prefix(super::read::BOM).unwrap_or(content);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(Delimiter::detect(content).byte())
        .from_reader(content);
    let mut record = csv::ByteRecord::new();
    let mut count = 0u64;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        if !record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            count += 1;
        }
    }
    count.saturating_sub(1)
}

/// The scope the job acts in: its starter's, checked again now.
async fn job_scope(db: &Db, job: &catalog_import::Model) -> Result<Scope, ImportFailure> {
    let internal = |err: &dyn std::fmt::Display| {
        tracing::error!(import_id = %job.id, error = %err, "cannot check who started the import");
        ImportFailure::Internal
    };
    let scope = if let Some(user_id) = job.user_id {
        match Scope::for_member(db, user_id, job.organization_id).await {
            Ok(scope) => scope,
            Err(AccessError::Db(err)) => return Err(internal(&err)),
            Err(_) => return Err(ImportFailure::NotPermitted),
        }
    } else if let Some(key_id) = job.api_key_id {
        let key = api_key::Entity::find_by_id(key_id)
            .filter(api_key::Column::OrganizationId.eq(job.organization_id))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(db)
            .await
            .map_err(|err| internal(&err))?
            .ok_or(ImportFailure::NotPermitted)?;
        let held: BTreeSet<ApiScope> = key
            .scopes
            .split_whitespace()
            .filter_map(ApiScope::from_code)
            .collect();
        let used =
            ApiScope::parse_list(job.api_scopes.as_deref().unwrap_or_default()).unwrap_or_default();
        Scope::for_api_key(
            job.organization_id,
            key_id,
            held.intersection(&used).copied().collect(),
        )
    } else {
        return Err(ImportFailure::NotPermitted);
    };
    scope
        .require(Permission::EditCatalog)
        .map_err(|_| ImportFailure::NotPermitted)?;
    Ok(scope)
}

async fn finish_invalid(
    db: &Db,
    import_id: Uuid,
    mut report: ImportReport,
    processed: u64,
    delimiter: Option<Delimiter>,
    clock: &dyn Clock,
) -> Result<ImportState, ImportError> {
    report.sort();
    let errors = serde_json::to_string(&report).unwrap_or_else(|_| json!({}).to_string());
    let mut update = catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportState::Invalid.code()),
        )
        .col_expr(catalog_import::Column::Errors, Expr::value(errors))
        .col_expr(
            catalog_import::Column::ProcessedRows,
            Expr::value(processed as i64),
        )
        .col_expr(
            catalog_import::Column::FileContent,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(catalog_import::Column::FinishedAt, Expr::value(clock.now()));
    if let Some(delimiter) = delimiter {
        update = update.col_expr(
            catalog_import::Column::Delimiter,
            Expr::value(delimiter.code()),
        );
    }
    update
        .filter(catalog_import::Column::Id.eq(import_id))
        .filter(running())
        .exec(db)
        .await?;
    Ok(ImportState::Invalid)
}

async fn finish_failed(
    db: &Db,
    import_id: Uuid,
    failure: ImportFailure,
    clock: &dyn Clock,
) -> Result<ImportState, ImportError> {
    catalog_import::Entity::update_many()
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportState::Failed.code()),
        )
        .col_expr(catalog_import::Column::Failure, Expr::value(failure.code()))
        .col_expr(
            catalog_import::Column::FileContent,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(catalog_import::Column::FinishedAt, Expr::value(clock.now()))
        .filter(catalog_import::Column::Id.eq(import_id))
        .filter(running())
        .exec(db)
        .await?;
    Ok(ImportState::Failed)
}

/// Closes jobs a stopped process left running, as failed with "interrupted, nothing was
/// applied" (true: a job's writes and its `done` commit together). Call it at start-up, before
/// any job of this process starts; returns how many jobs it closed.
///
/// On SQLite every running job is closed: one process uses the database, and it is starting.
/// On PostgreSQL other instances may be running jobs, so only jobs whose heartbeat is older
/// than [`HEARTBEAT_STALE_AFTER`] are closed; [`import_status`] closes later ones when it
/// sees them go stale.
pub async fn resume_interrupted(db: &Db, now: DateTime<Utc>) -> Result<u64, DbError> {
    let txn = begin_write(db).await?;
    let closed = match Engine::of(db) {
        Engine::Sqlite => {
            interrupt(catalog_import::Entity::update_many(), now)
                .filter(running())
                .exec(&txn)
                .await?
                .rows_affected
        }
        Engine::Postgres => fail_stale(&txn, None, now).await?,
    };
    txn.commit().await?;
    if closed > 0 {
        tracing::warn!(
            jobs = closed,
            "closed catalog imports left running by a stopped process"
        );
    }
    Ok(closed)
}

fn interrupt(
    update: sea_orm::UpdateMany<catalog_import::Entity>,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<catalog_import::Entity> {
    update
        .col_expr(
            catalog_import::Column::Status,
            Expr::value(ImportState::Failed.code()),
        )
        .col_expr(
            catalog_import::Column::Failure,
            Expr::value(ImportFailure::Interrupted.code()),
        )
        .col_expr(
            catalog_import::Column::FileContent,
            Expr::value(Option::<Vec<u8>>::None),
        )
        .col_expr(catalog_import::Column::FinishedAt, Expr::value(now))
}

/// PostgreSQL only: fails the running jobs (of one organization, or all) whose heartbeat is
/// stale. On SQLite a long transaction keeps the heartbeat from being written, so staleness
/// says nothing there; [`resume_interrupted`] handles SQLite at start-up.
async fn fail_stale(
    conn: &impl sea_orm::ConnectionTrait,
    organization_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if conn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(0);
    }
    let mut update = interrupt(catalog_import::Entity::update_many(), now)
        .filter(running())
        .filter(
            Expr::col(catalog_import::Column::HeartbeatAt)
                .lt(now - HEARTBEAT_STALE_AFTER)
                .or(Expr::col(catalog_import::Column::HeartbeatAt).is_null()),
        );
    if let Some(organization_id) = organization_id {
        update = update.filter(catalog_import::Column::OrganizationId.eq(organization_id));
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// Everything of a job row but the file.
#[derive(Debug, FromQueryResult)]
struct StatusRow {
    id: Uuid,
    user_id: Option<Uuid>,
    status: String,
    file_name: String,
    file_size: i64,
    delimiter: Option<String>,
    total_rows: i64,
    processed_rows: i64,
    created_products: i64,
    updated_products: i64,
    unchanged_products: i64,
    errors: Option<String>,
    failure: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

fn status_columns() -> impl Iterator<Item = catalog_import::Column> {
    catalog_import::Column::iter().filter(|c| !matches!(c, catalog_import::Column::FileContent))
}

impl StatusRow {
    fn into_status(self) -> ImportStatus {
        let state = ImportState::from_code(&self.status).unwrap_or(ImportState::Failed);
        let count = |n: i64| u64::try_from(n).unwrap_or_default();
        let in_memory = (!state.is_finished())
            .then(|| progress_map().get(&self.id).copied())
            .flatten();
        ImportStatus {
            id: self.id,
            state,
            file_name: self.file_name,
            file_size: count(self.file_size),
            delimiter: self.delimiter.as_deref().and_then(Delimiter::from_code),
            total_rows: count(self.total_rows),
            processed_rows: in_memory.map_or(count(self.processed_rows), |n| {
                Ord::max(n, count(self.processed_rows))
            }),
            created_products: count(self.created_products),
            updated_products: count(self.updated_products),
            unchanged_products: count(self.unchanged_products),
            report: self
                .errors
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok())
                .unwrap_or_default(),
            failure: self.failure.as_deref().and_then(ImportFailure::from_code),
            started_by: self.user_id,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        }
    }
}

/// A job of the scope's organization; another organization's is [`AccessError::NotFound`].
pub async fn import_status(
    db: &Db,
    scope: &Scope,
    import_id: Uuid,
) -> Result<ImportStatus, ImportError> {
    scope.require(Permission::ViewCatalog)?;
    let find = || {
        catalog_import::Entity::find_by_id_in(scope, import_id)
            .select_only()
            .columns(status_columns())
            .into_model::<StatusRow>()
    };
    let row = find().one(db).await?.ok_or(AccessError::NotFound)?;
    let state = ImportState::from_code(&row.status).unwrap_or(ImportState::Failed);
    if !state.is_finished() && fail_stale(db, Some(scope.organization_id()), Utc::now()).await? > 0
    {
        let row = find().one(db).await?.ok_or(AccessError::NotFound)?;
        return Ok(row.into_status());
    }
    Ok(row.into_status())
}

/// The organization's latest jobs, newest first (at most `limit`, at most 100).
pub async fn recent_imports(
    db: &Db,
    scope: &Scope,
    limit: u64,
) -> Result<Vec<ImportStatus>, ImportError> {
    scope.require(Permission::ViewCatalog)?;
    Ok(catalog_import::Entity::find_in(scope)
        .select_only()
        .columns(status_columns())
        .order_by_desc(catalog_import::Column::CreatedAt)
        .limit(limit.clamp(1, 100))
        .into_model::<StatusRow>()
        .all(db)
        .await?
        .into_iter()
        .map(StatusRow::into_status)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("C:\\Users\\x\\Artikel.csv"), "Artikel.csv");
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\n.csv"), "ab.csv");
        assert_eq!(clean_file_name("  "), "import.csv");
    }

    #[test]
    fn rows_are_counted_without_header_and_blank_rows() {
        assert_eq!(count_rows(b"sku;title\r\nA;\"x\r\ny\"\r\n;\r\nB;z\r\n"), 2);
        assert_eq!(count_rows(b"sku"), 0);
    }
}
