//! Server functions of the CSV import page: a job's state and progress, its report, and the
//! recent jobs. The file itself goes up through `POST /products/import/upload`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shopmarkets_types::FieldError;

/// Why a row or column was refused (the core's `Problem`, for the browser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportProblem {
    Invalid(FieldError),
    NoHeader,
    UnknownColumn,
    DuplicateColumn,
    MissingColumn,
    UnnamedColumn,
    FieldCount { expected: u64, found: u64 },
    InvalidUtf8,
    Malformed,
    AmbiguousAmount,
    UnknownCondition,
    DuplicateSku { first_row: u64 },
    DuplicateOptions { first_row: u64 },
    OptionsTaken { sku: String },
    Contradicts { first_row: u64 },
    OptionWithoutName,
    VariantsNeedOptions,
    TooManyVariants { max: usize },
    SkuOfOtherProduct,
    ProductUnderTwoHandles { first_row: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    pub row: u64,
    pub column: Option<String>,
    pub problem: ImportProblem,
}

/// A job as the import page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJobView {
    pub id: String,
    /// `validating`, `invalid`, `applying`, `done` or `failed`.
    pub state: String,
    pub file_name: String,
    pub total_rows: u64,
    pub processed_rows: u64,
    pub created_products: u64,
    pub updated_products: u64,
    pub unchanged_products: u64,
    pub errors: Vec<ImportRowError>,
    pub total_errors: u64,
    /// `interrupted`, `changed_meanwhile`, `not_permitted` or `internal`.
    pub failure: Option<String>,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub created_at: String,
}

impl ImportJobView {
    pub fn is_finished(&self) -> bool {
        !matches!(self.state.as_str(), "validating" | "applying")
    }
}

#[cfg(feature = "ssr")]
mod server {
    use shopmarkets_core::catalog::csv::{ImportStatus, Problem};

    use super::*;

    fn problem(p: Problem) -> ImportProblem {
        match p {
            Problem::Invalid { error } => ImportProblem::Invalid(error),
            Problem::NoHeader => ImportProblem::NoHeader,
            Problem::UnknownColumn => ImportProblem::UnknownColumn,
            Problem::DuplicateColumn => ImportProblem::DuplicateColumn,
            Problem::MissingColumn => ImportProblem::MissingColumn,
            Problem::UnnamedColumn => ImportProblem::UnnamedColumn,
            Problem::FieldCount { expected, found } => {
                ImportProblem::FieldCount { expected, found }
            }
            Problem::InvalidUtf8 => ImportProblem::InvalidUtf8,
            Problem::Malformed { .. } => ImportProblem::Malformed,
            Problem::AmbiguousAmount => ImportProblem::AmbiguousAmount,
            Problem::UnknownCondition => ImportProblem::UnknownCondition,
            Problem::DuplicateSku { first_row } => ImportProblem::DuplicateSku { first_row },
            Problem::DuplicateOptions { first_row } => {
                ImportProblem::DuplicateOptions { first_row }
            }
            Problem::OptionsTaken { sku } => ImportProblem::OptionsTaken { sku },
            Problem::Contradicts { first_row } => ImportProblem::Contradicts { first_row },
            Problem::OptionWithoutName => ImportProblem::OptionWithoutName,
            Problem::VariantsNeedOptions => ImportProblem::VariantsNeedOptions,
            Problem::TooManyVariants { max } => ImportProblem::TooManyVariants { max },
            Problem::SkuOfOtherProduct => ImportProblem::SkuOfOtherProduct,
            Problem::ProductUnderTwoHandles { first_row } => {
                ImportProblem::ProductUnderTwoHandles { first_row }
            }
        }
    }

    pub fn view(status: ImportStatus) -> ImportJobView {
        ImportJobView {
            id: status.id.to_string(),
            state: status.state.code().to_owned(),
            file_name: status.file_name,
            total_rows: status.total_rows,
            processed_rows: status.processed_rows,
            created_products: status.created_products,
            updated_products: status.updated_products,
            unchanged_products: status.unchanged_products,
            total_errors: status.report.total_errors,
            errors: status
                .report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    row: e.row,
                    column: e.column,
                    problem: problem(e.problem),
                })
                .collect(),
            failure: status.failure.map(|f| f.code().to_owned()),
            created_at: status.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }

    pub fn read_error(err: shopmarkets_core::catalog::csv::ImportError) -> ServerFnError {
        use shopmarkets_core::catalog::csv::ImportError;

        use crate::services::{access_error, internal_error};
        match err {
            ImportError::Access(err) => access_error(err),
            other => internal_error(other),
        }
    }
}

/// One import job of the current organization, with its report.
#[server(endpoint = "import_job")]
pub async fn import_job(id: String) -> Result<ImportJobView, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog::csv};

    use crate::services::{parse_id, scope, services};

    let (_, scope) = scope(Permission::ViewCatalog).await?;
    let id = parse_id(&id)?;
    let status = csv::import_status(&services()?.db, &scope, id)
        .await
        .map_err(server::read_error)?;
    Ok(server::view(status))
}

/// The organization's latest imports (without their reports).
#[server(endpoint = "recent_import_jobs")]
pub async fn recent_import_jobs() -> Result<Vec<ImportJobView>, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog::csv};

    use crate::services::{scope, services};

    let (_, scope) = scope(Permission::ViewCatalog).await?;
    let jobs = csv::recent_imports(&services()?.db, &scope, 10)
        .await
        .map_err(server::read_error)?;
    Ok(jobs
        .into_iter()
        .map(|mut status| {
            status.report.errors.clear();
            server::view(status)
        })
        .collect())
}
