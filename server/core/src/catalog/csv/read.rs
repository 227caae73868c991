//! Reading a file row by row: encoding, delimiter, header, and every check a single row can
//! have without looking at the rest of the file or at the catalog.

use csv::{ByteRecord, ReaderBuilder};
use shopmarkets_types::{Currency, FieldError, Gtin, Sku};

use super::{
    ImportReport, Problem,
    columns::{Column, Delimiter, Header, unescape_cell},
};
use crate::catalog::{Condition, MAX_DIMENSION_MM, MAX_STOCK, MAX_WEIGHT_GRAMS};

/// The UTF-8 byte order mark Excel puts in front of "CSV UTF-8" files.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The longest handle accepted.
const MAX_HANDLE_CHARS: usize = 255;

/// One data row, read and checked on its own.
#[derive(Debug, Clone)]
pub(super) struct FileRow {
    /// The row number a spreadsheet shows (the header is row 1).
    pub(super) row: u64,
    pub(super) handle: Option<String>,
    /// `None` when the SKU was refused (the report says why).
    pub(super) sku: Option<Sku>,
    /// The product-level cells as written, trimmed, in [`Column::PRODUCT_LEVEL`] order;
    /// `None` where the file has no such column.
    pub(super) product: [Option<String>; 12],
    pub(super) condition: Option<Condition>,
    /// Weight (g), length, width, height (mm), where given and readable.
    pub(super) measures: [Option<i32>; 4],
    /// Option values, trimmed; `None` where the file has no such column.
    pub(super) option_values: [Option<String>; 3],
    /// `None`: no GTIN column; `Some(None)`: an empty cell.
    pub(super) gtin: Option<Option<Gtin>>,
    /// The price as written; `None` when the file has no price column.
    pub(super) price: Option<String>,
    pub(super) currency: Option<Currency>,
    /// The on-hand target; `None` leaves stock as it is.
    pub(super) stock: Option<i64>,
}

impl FileRow {
    /// The product-level cell of `column`, trimmed; `None` when the file lacks the column.
    pub(super) fn product_cell(&self, column: Column) -> Option<&str> {
        let i = Column::PRODUCT_LEVEL.iter().position(|c| *c == column)?;
        self.product[i].as_deref()
    }
}

/// What the next record of the file is.
pub(super) enum Next {
    Row(Box<FileRow>),
    /// A row that could not be read at all (not UTF-8, wrong number of fields); reported.
    Refused,
    /// An empty row (all cells empty): skipped, as a spreadsheet shows nothing there.
    Blank,
    End,
}

/// Reads a file's rows one at a time.
pub(super) struct RowReader<'a> {
    content: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    header: Header,
    delimiter: Delimiter,
    record: ByteRecord,
    /// The row number of the record read last.
    row: u64,
}

impl<'a> RowReader<'a> {
    /// Opens a file and reads its header. `None` when the header has problems (reported), as
    /// no row can be understood then.
    pub(super) fn open(content: &'a [u8], report: &mut ImportReport) -> Option<Self> {
        let content = content.strip_prefix(BOM).unwrap_or(content);
        let delimiter = Delimiter::detect(content);
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter.byte())
            .from_reader(content);
        let mut this = Self {
            content,
            reader,
            header: Header::empty(),
            delimiter,
            record: ByteRecord::new(),
            row: 0,
        };
        let raw = loop {
            match this.read() {
                Ok(false) => {
                    report.push(1, None, Problem::NoHeader);
                    return None;
                }
                // Empty lines before the header: the header is the first row with content.
                Ok(true) if is_blank(&this.record) => {}
                Ok(true) => break this.record.clone(),
                Err(err) => {
                    report.push(
                        1,
                        None,
                        Problem::Malformed {
                            message: err.to_string(),
                        },
                    );
                    return None;
                }
            }
        };
        let mut headers = Vec::with_capacity(raw.len());
        for field in raw.iter() {
            match std::str::from_utf8(field) {
                Ok(text) => headers.push(text.to_owned()),
                Err(_) => {
                    report.push(1, None, Problem::InvalidUtf8);
                    return None;
                }
            }
        }
        this.header = Header::parse(&headers, report)?;
        Some(this)
    }

    /// Reads the next record and works out its row number: the line breaks before it (its
    /// predecessor's end and any empty lines; the csv reader skips the latter) each start a
    /// row, while line breaks inside quoted values do not.
    fn read(&mut self) -> Result<bool, csv::Error> {
        let more = self.reader.read_byte_record(&mut self.record)?;
        if more {
            let start = self.record.position().map_or(0, |p| p.byte()) as usize;
            let mut breaks = 0;
            let mut rest = self.content.get(start..).unwrap_or_default();
            while let [b'\r', b'\n', tail @ ..] | [b'\r' | b'\n', tail @ ..] = rest {
                breaks += 1;
                rest = tail;
            }
            self.row = if self.row == 0 {
                1 + breaks
            } else {
                self.row + breaks.max(1)
            };
        }
        Ok(more)
    }

    pub(super) fn delimiter(&self) -> Delimiter {
        self.delimiter
    }

    pub(super) fn header(&self) -> &Header {
        &self.header
    }

    /// The next row, checked on its own; problems go to `report`.
    pub(super) fn next(&mut self, report: &mut ImportReport) -> Next {
        match self.read() {
            Ok(false) => Next::End,
            Err(err) => {
                report.push(
                    self.row + 1,
                    None,
                    Problem::Malformed {
                        message: err.to_string(),
                    },
                );
                Next::End
            }
            Ok(true) => {
                let row = self.row;
                if is_blank(&self.record) {
                    return Next::Blank;
                }
                if self.record.len() != self.header.fields.len() {
                    report.push(
                        row,
                        None,
                        Problem::FieldCount {
                            expected: self.header.fields.len() as u64,
                            found: self.record.len() as u64,
                        },
                    );
                    return Next::Refused;
                }
                let mut cells = Vec::with_capacity(self.record.len());
                for field in self.record.iter() {
                    match std::str::from_utf8(field) {
                        Ok(text) => cells.push(text.trim()),
                        Err(_) => {
                            report.push(row, None, Problem::InvalidUtf8);
                            return Next::Refused;
                        }
                    }
                }
                Next::Row(Box::new(read_row(row, &self.header, &cells, report)))
            }
        }
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// Checks one row's cells; every problem goes to `report`.
fn read_row(row: u64, header: &Header, cells: &[&str], report: &mut ImportReport) -> FileRow {
    let cell = |column: Column| {
        header.get(column).map(|i| match column {
            // Text columns may carry the export's apostrophe against formulas.
            Column::Handle
            | Column::Title
            | Column::Brand
            | Column::Category
            | Column::DescriptionHtml
            | Column::Option1Name
            | Column::Option1Value
            | Column::Option2Name
            | Column::Option2Value
            | Column::Option3Name
            | Column::Option3Value
            | Column::Sku => unescape_cell(cells[i]),
            _ => cells[i],
        })
    };
    for (i, column) in header.fields.iter().enumerate() {
        if column.is_none() && !cells[i].is_empty() {
            report.push_named(row, None, Problem::UnnamedColumn);
        }
    }

    let handle = cell(Column::Handle)
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    if handle
        .as_deref()
        .is_some_and(|h| h.chars().count() > MAX_HANDLE_CHARS)
    {
        report.push(
            row,
            Some(Column::Handle),
            invalid(FieldError::TooLong {
                max: MAX_HANDLE_CHARS,
            }),
        );
    }
    let sku = match Sku::parse(cell(Column::Sku).unwrap_or_default()) {
        Ok(sku) => Some(sku),
        Err(error) => {
            report.push(row, Some(Column::Sku), invalid(error));
            None
        }
    };
    let product = Column::PRODUCT_LEVEL.map(|column| cell(column).map(str::to_owned));

    let condition = match cell(Column::Condition).filter(|c| !c.is_empty()) {
        None => None,
        Some(code) => {
            let found = Condition::from_code(&code.to_lowercase());
            if found.is_none() {
                report.push(row, Some(Column::Condition), Problem::UnknownCondition);
            }
            found
        }
    };
    let measures = [
        (Column::WeightG, MAX_WEIGHT_GRAMS),
        (Column::LengthMm, MAX_DIMENSION_MM),
        (Column::WidthMm, MAX_DIMENSION_MM),
        (Column::HeightMm, MAX_DIMENSION_MM),
    ]
    .map(|(column, max)| {
        let text = cell(column).filter(|t| !t.is_empty())?;
        match whole_number(text, i64::from(max)) {
            Ok(n) => i32::try_from(n).ok(),
            Err(error) => {
                report.push(row, Some(column), invalid(error));
                None
            }
        }
    });
    let option_values = [0, 1, 2].map(|axis| cell(Column::option(axis).1).map(str::to_owned));
    let gtin = cell(Column::Gtin).map(|text| {
        if text.is_empty() {
            return None;
        }
        match Gtin::parse(text) {
            Ok(gtin) => Some(gtin),
            Err(error) => {
                report.push(row, Some(Column::Gtin), invalid(error));
                None
            }
        }
    });
    let currency = match cell(Column::Currency).filter(|c| !c.is_empty()) {
        None => None,
        Some(code) => match Currency::parse(code) {
            Ok(currency) => Some(currency),
            Err(error) => {
                report.push(row, Some(Column::Currency), invalid(error));
                None
            }
        },
    };
    let stock = match cell(Column::Stock).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match whole_number(text, MAX_STOCK) {
            Ok(n) => Some(n),
            Err(error) => {
                report.push(row, Some(Column::Stock), invalid(error));
                None
            }
        },
    };
    FileRow {
        row,
        handle,
        sku,
        product,
        condition,
        measures,
        option_values,
        gtin,
        price: cell(Column::Price).map(str::to_owned),
        currency,
        stock,
    }
}

pub(super) fn invalid(error: FieldError) -> Problem {
    Problem::Invalid { error }
}

/// A whole number from 0 to `max`: digits only (no separators, no decimals — `5,0` is as
/// likely a typo as anything).
fn whole_number(text: &str, max: i64) -> Result<i64, FieldError> {
    let range = FieldError::OutOfRange { min: 0, max };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::InvalidNumber);
    }
    if negative && digits.bytes().any(|b| b != b'0') {
        return Err(range);
    }
    match digits.parse::<i64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(content: &str) -> (Vec<FileRow>, ImportReport) {
        let mut report = ImportReport::default();
        let mut rows = Vec::new();
        if let Some(mut reader) = RowReader::open(content.as_bytes(), &mut report) {
            loop {
                match reader.next(&mut report) {
                    Next::Row(row) => rows.push(*row),
                    Next::Refused | Next::Blank => {}
                    Next::End => break,
                }
            }
        }
        (rows, report)
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        let file = "\u{feff}sku;title\r\nA-1;\"Zwei\r\nZeilen\"\r\n\r\nA-2;Drei\r\n;\r\nA-3;\"x\ny\nz\"\nA-4;vier\n";
        let (rows, report) = read(file);
        assert!(report.is_empty(), "{report:?}");
        let numbers: Vec<(u64, &str)> = rows
            .iter()
            .map(|r| (r.row, r.sku.as_ref().unwrap().as_str()))
            .collect();
        // Row 3 is empty in the file, row 5 has only a delimiter: both are blank rows.
        assert_eq!(numbers, [(2, "A-1"), (4, "A-2"), (6, "A-3"), (7, "A-4")]);
        assert_eq!(rows[0].product_cell(Column::Title), Some("Zwei\r\nZeilen"));
    }

    #[test]
    fn invalid_utf8_and_field_counts_are_reported_by_row() {
        let mut file = b"sku,title\nA-1,ok\nA-2,".to_vec();
        file.extend_from_slice(b"\xFCbel\nA-3,a,b\nA-4,gut\n");
        let mut report = ImportReport::default();
        let mut reader = RowReader::open(&file, &mut report).unwrap();
        let mut skus = Vec::new();
        loop {
            match reader.next(&mut report) {
                Next::Row(row) => skus.push(row.sku.unwrap().as_str().to_owned()),
                Next::Refused | Next::Blank => {}
                Next::End => break,
            }
        }
        assert_eq!(skus, ["A-1", "A-4"]);
        assert_eq!(
            report
                .errors
                .iter()
                .map(|e| (e.row, e.problem.clone()))
                .collect::<Vec<_>>(),
            [
                (3, Problem::InvalidUtf8),
                (
                    4,
                    Problem::FieldCount {
                        expected: 2,
                        found: 3
                    }
                ),
            ]
        );
    }

    #[test]
    fn cells_are_checked_with_the_editor_rules() {
        let (rows, report) = read(
            "sku,gtin,stock,weight_g,condition,currency\n\
             ok-1,4006381333931,5,300,NEW,chf\n\
             bad sku,4006381333932,-1,3.5,kaputt,XYZ\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].stock, Some(5));
        assert_eq!(rows[0].condition, Some(Condition::New));
        assert_eq!(rows[0].currency, Some(Currency::Chf));
        let problems: Vec<(Option<&str>, Problem)> = report
            .errors
            .iter()
            .map(|e| (e.column.as_deref(), e.problem.clone()))
            .collect();
        assert_eq!(
            problems,
            [
                (Some("sku"), invalid(FieldError::InvalidSkuCharacters)),
                (Some("condition"), Problem::UnknownCondition),
                (Some("weight_g"), invalid(FieldError::InvalidNumber)),
                (Some("gtin"), invalid(FieldError::GtinCheckDigit)),
                (Some("currency"), invalid(FieldError::UnknownCurrency)),
                (
                    Some("stock"),
                    invalid(FieldError::OutOfRange {
                        min: 0,
                        max: MAX_STOCK
                    })
                ),
            ]
        );
    }

    #[test]
    fn a_file_without_header_is_reported() {
        let (_, report) = read("");
        assert_eq!(report.errors[0].problem, Problem::NoHeader);
        let (_, report) = read("\n\n");
        assert_eq!(report.errors[0].problem, Problem::NoHeader);
    }
}
