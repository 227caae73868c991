//! CSV import and export of the catalog: one row per variant, so a merchant can move a whole
//! catalog in and out of a spreadsheet (docs/csv.md is the merchant-facing description).
//!
//! - **Import** runs as a background job ([`start_import`], then [`run_import`] on a task of
//!   its own). The whole file is validated first and every problem is collected into an
//!   [`ImportReport`] with the row number a spreadsheet shows; only a file without any problem
//!   is applied, all of it in one transaction. A file is therefore never half-applied: not
//!   after a refused row, not after a crash. Rows are matched to the catalog by SKU, and
//!   every change goes through the same building blocks as the editor's save
//!   (`save_product_in`, `set_on_hand_in`), so the outbox, the stock ledger and the audit log
//!   see an import exactly as they see the editor — and re-importing the same file writes
//!   nothing at all.
//! - **Export** ([`export_products`]) pages through the catalog by keyset and hands out the
//!   file in chunks, so memory stays flat whatever the size of the catalog. It writes exactly
//!   the columns the import reads: exporting and importing again changes nothing.

mod amount;
mod apply;
mod columns;
mod export;
mod job;
mod plan;
mod read;

pub use columns::{Column, Delimiter};
pub use export::{EXPORT_PAGE_PRODUCTS, ProductExport, export_products};
pub use job::{
    HEARTBEAT_STALE_AFTER, ImportError, ImportFailure, ImportState, ImportStatus, MAX_FILE_BYTES,
    import_status, recent_imports, resume_interrupted, run_import, start_import,
};

use serde::{Deserialize, Serialize};
use shopmarkets_types::FieldError;

/// At most this many problems are kept in a report; the count of all of them is kept too.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// The stock-ledger source of movements an import makes.
pub const IMPORT_SOURCE: &str = "csv_import";

/// What was wrong with a file: every refused row and column, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The first [`MAX_REPORTED_ERRORS`] problems.
    pub errors: Vec<RowError>,
    /// How many problems there were in all (more than `errors.len()` when the file had more
    /// than could be listed).
    pub total_errors: u64,
}

impl ImportReport {
    pub fn is_empty(&self) -> bool {
        self.total_errors == 0
    }

    pub(crate) fn push(&mut self, row: u64, column: Option<Column>, problem: Problem) {
        self.push_named(row, column.map(|c| c.name().to_owned()), problem);
    }

    pub(crate) fn push_named(&mut self, row: u64, column: Option<String>, problem: Problem) {
        self.total_errors += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError {
                row,
                column,
                problem,
            });
        }
    }

    /// Sorts by row, then by column order, so the report reads like the file.
    pub(crate) fn sort(&mut self) {
        self.errors.sort_by_key(|e| {
            (
                e.row,
                e.column
                    .as_deref()
                    .and_then(Column::from_header)
                    .map_or(usize::MAX, Column::position),
            )
        });
    }
}

/// One problem: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The row as a spreadsheet numbers it: the header is row 1, the first product row 2. A
    /// quoted value spanning several lines is still one row.
    pub row: u64,
    /// The column's English name ([`Column::name`]), or the header text as written for a
    /// column that is not known; `None` when the whole row is concerned.
    pub column: Option<String>,
    /// Flattened: `{"row": 4, "column": "price", "problem": "ambiguous_amount"}`.
    #[serde(flatten)]
    pub problem: Problem,
}

/// Why a row or column was refused. `Invalid` carries the same [`FieldError`] the editor
/// would show for the field, so the UI can say it in the merchant's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The value breaks the field's rule.
    Invalid { error: FieldError },
    /// The file is empty: not even a header row.
    NoHeader,
    /// A header names no column this import knows.
    UnknownColumn,
    /// Two headers name the same column (`price` and `Preis`, say).
    DuplicateColumn,
    /// A column every file needs (`sku`), or the other half of an option pair, is missing.
    MissingColumn,
    /// A value stands in a column without a header.
    UnnamedColumn,
    /// The row has another number of fields than the header.
    FieldCount { expected: u64, found: u64 },
    /// The row is not valid UTF-8 (the file was saved in another encoding).
    InvalidUtf8,
    /// The CSV itself is broken here (an unterminated quote, say).
    Malformed { message: String },
    /// `1.234` or `1,234`: one separator followed by three digits could be a thousands
    /// separator or three decimals; write `1234,00` or `1234.00`.
    AmbiguousAmount,
    /// Not one of the condition codes (`new`, `refurbished`, `used_like_new`, `used_good`,
    /// `used_acceptable`).
    UnknownCondition,
    /// The SKU appears in an earlier row of the file.
    DuplicateSku { first_row: u64 },
    /// The same option values appear in an earlier row of the same product.
    DuplicateOptions { first_row: u64 },
    /// An existing variant of the product not in the file already has these option values.
    OptionsTaken { sku: String },
    /// A product-level value differs from the one in the product's first row.
    Contradicts { first_row: u64 },
    /// An option value without an option name in the product's first row.
    OptionWithoutName,
    /// A product with several variants needs at least one option (size, colour …) to tell
    /// them apart.
    VariantsNeedOptions,
    /// A product has more variants than the catalog allows.
    TooManyVariants { max: usize },
    /// The SKU belongs to another product than the rest of its handle.
    SkuOfOtherProduct,
    /// Two handles of the file name variants of the same existing product.
    ProductUnderTwoHandles { first_row: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_entries_are_flat_json() {
        let mut report = ImportReport::default();
        report.push(4, Some(Column::Price), Problem::AmbiguousAmount);
        report.push(
            9,
            Some(Column::Gtin),
            Problem::Invalid {
                error: FieldError::GtinCheckDigit,
            },
        );
        report.push(7, Some(Column::Sku), Problem::DuplicateSku { first_row: 3 });
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["errors"],
            serde_json::json!([
                {"row": 4, "column": "price", "problem": "ambiguous_amount"},
                {"row": 9, "column": "gtin", "problem": "invalid", "error": {"code": "gtin_check_digit"}},
                {"row": 7, "column": "sku", "problem": "duplicate_sku", "first_row": 3},
            ])
        );
        assert_eq!(
            serde_json::from_value::<ImportReport>(json).unwrap(),
            report
        );
    }
}
