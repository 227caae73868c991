//! The columns of the catalog CSV, their English and German header names, and the delimiter.

use std::collections::HashMap;

use super::{ImportReport, Problem};

/// A column of the catalog CSV. The export writes them in [`Column::ALL`]'s order; the import
/// takes them in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Handle,
    Title,
    Brand,
    Category,
    Condition,
    DescriptionHtml,
    WeightG,
    LengthMm,
    WidthMm,
    HeightMm,
    Option1Name,
    Option1Value,
    Option2Name,
    Option2Value,
    Option3Name,
    Option3Value,
    Sku,
    Gtin,
    Price,
    Currency,
    Stock,
}

impl Column {
    pub const ALL: [Column; 21] = [
        Self::Handle,
        Self::Title,
        Self::Brand,
        Self::Category,
        Self::Condition,
        Self::DescriptionHtml,
        Self::WeightG,
        Self::LengthMm,
        Self::WidthMm,
        Self::HeightMm,
        Self::Option1Name,
        Self::Option1Value,
        Self::Option2Name,
        Self::Option2Value,
        Self::Option3Name,
        Self::Option3Value,
        Self::Sku,
        Self::Gtin,
        Self::Price,
        Self::Currency,
        Self::Stock,
    ];

    /// The columns that describe the product rather than one variant: they are read from the
    /// product's first row; later rows may leave them empty but not contradict them.
    pub const PRODUCT_LEVEL: [Column; 12] = [
        Self::Title,
        Self::Brand,
        Self::Category,
        Self::Condition,
        Self::DescriptionHtml,
        Self::WeightG,
        Self::LengthMm,
        Self::WidthMm,
        Self::HeightMm,
        Self::Option1Name,
        Self::Option2Name,
        Self::Option3Name,
    ];

    /// The header the export writes, and the name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Handle => "handle",
            Self::Title => "title",
            Self::Brand => "brand",
            Self::Category => "category",
            Self::Condition => "condition",
            Self::DescriptionHtml => "description_html",
            Self::WeightG => "weight_g",
            Self::LengthMm => "length_mm",
            Self::WidthMm => "width_mm",
            Self::HeightMm => "height_mm",
            Self::Option1Name => "option1_name",
            Self::Option1Value => "option1_value",
            Self::Option2Name => "option2_name",
            Self::Option2Value => "option2_value",
            Self::Option3Name => "option3_name",
            Self::Option3Value => "option3_value",
            Self::Sku => "sku",
            Self::Gtin => "gtin",
            Self::Price => "price",
            Self::Currency => "currency",
            Self::Stock => "stock",
        }
    }

    /// The German header the import accepts as well.
    pub fn german_name(self) -> &'static str {
        match self {
            Self::Handle => "Gruppe",
            Self::Title => "Titel",
            Self::Brand => "Marke",
            Self::Category => "Kategorie",
            Self::Condition => "Zustand",
            Self::DescriptionHtml => "Beschreibung_html",
            Self::WeightG => "Gewicht_g",
            Self::LengthMm => "Länge_mm",
            Self::WidthMm => "Breite_mm",
            Self::HeightMm => "Höhe_mm",
            Self::Option1Name => "Option1_Name",
            Self::Option1Value => "Option1_Wert",
            Self::Option2Name => "Option2_Name",
            Self::Option2Value => "Option2_Wert",
            Self::Option3Name => "Option3_Name",
            Self::Option3Value => "Option3_Wert",
            Self::Sku => "Artikelnummer",
            Self::Gtin => "EAN",
            Self::Price => "Preis",
            Self::Currency => "Währung",
            Self::Stock => "Bestand",
        }
    }

    /// Further spellings: umlauts written out, and the names merchants use anyway.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::LengthMm => &["laenge_mm"],
            Self::HeightMm => &["hoehe_mm"],
            Self::Currency => &["waehrung"],
            Self::Gtin => &["ean"],
            Self::Sku => &["sku"],
            Self::DescriptionHtml => &["beschreibung"],
            _ => &[],
        }
    }

    /// The column a header names: English or German, case-insensitive, spaces and hyphens
    /// read as underscores (`Option1 Wert`, `weight-g`).
    pub fn from_header(header: &str) -> Option<Column> {
        let wanted = normalize(header);
        Self::ALL.into_iter().find(|c| {
            normalize(c.name()) == wanted
                || normalize(c.german_name()) == wanted
                || c.aliases().iter().any(|a| normalize(a) == wanted)
        })
    }

    /// The place in [`Column::ALL`].
    pub fn position(self) -> usize {
        self as usize
    }

    /// The name and value columns of option axis `axis` (0, 1 or 2).
    pub fn option(axis: usize) -> (Column, Column) {
        match axis {
            0 => (Self::Option1Name, Self::Option1Value),
            1 => (Self::Option2Name, Self::Option2Value),
            _ => (Self::Option3Name, Self::Option3Value),
        }
    }
}

fn normalize(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// The field separator of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delimiter {
    /// What Excel writes and reads in Germany (where the comma is the decimal separator).
    Semicolon,
    Comma,
    Tab,
}

impl Delimiter {
    pub fn byte(self) -> u8 {
        match self {
            Self::Semicolon => b';',
            Self::Comma => b',',
            Self::Tab => b'\t',
        }
    }

    /// The stored form.
    pub fn code(self) -> &'static str {
        match self {
            Self::Semicolon => "semicolon",
            Self::Comma => "comma",
            Self::Tab => "tab",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::Semicolon, Self::Comma, Self::Tab]
            .into_iter()
            .find(|d| d.code() == code)
    }

    /// The delimiter of a file, from its header line: whichever of `;`, `,` and tab occurs
    /// most often outside quotes (ties in that order). A header with none of them has one
    /// column, and any delimiter reads it; it counts as a comma.
    pub fn detect(content: &[u8]) -> Delimiter {
        let mut counts = [0usize; 3];
        let mut quoted = false;
        for &b in content {
            match b {
                b'"' => quoted = !quoted,
                b'\n' | b'\r' if !quoted => break,
                b';' if !quoted => counts[0] += 1,
                b',' if !quoted => counts[1] += 1,
                b'\t' if !quoted => counts[2] += 1,
                _ => {}
            }
        }
        let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(1);
        match (best, counts[best]) {
            (_, 0) => Self::Comma,
            (0, _) => Self::Semicolon,
            (1, _) => Self::Comma,
            _ => Self::Tab,
        }
    }
}

/// Characters that make a spreadsheet read a cell as a formula (`=HYPERLINK(…)`): the export
/// puts an apostrophe in front of text starting with one of them, as OWASP advises against
/// CSV injection, and the import takes it away again.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `text` starts with an apostrophe the export added (or one that must be doubled to
/// survive): `'` followed by a formula character or by another `'`.
fn escaped(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next() == Some('\'')
        && chars
            .next()
            .is_some_and(|c| c == '\'' || FORMULA_STARTS.contains(&c))
}

/// A text cell as the export writes it. [`unescape_cell`] undoes it exactly.
pub(super) fn escape_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) || escaped(text) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A text cell as the import reads it.
pub(super) fn unescape_cell(text: &str) -> &str {
    if escaped(text) { &text[1..] } else { text }
}

/// The header row, read: which column each field is.
#[derive(Debug, Clone)]
pub(super) struct Header {
    /// Per field of a row: its column, or `None` for a field without a header.
    pub(super) fields: Vec<Option<Column>>,
    index: HashMap<Column, usize>,
}

impl Header {
    /// No columns yet (before the header row is read).
    pub(super) fn empty() -> Header {
        Header {
            fields: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Reads the header row; every problem goes to `report` (row 1). `None` when the file
    /// cannot be read on: a column is unknown, doubled or missing.
    pub(super) fn parse(headers: &[String], report: &mut ImportReport) -> Option<Header> {
        let mut fields = Vec::with_capacity(headers.len());
        let mut index = HashMap::new();
        let before = report.total_errors;
        for (i, text) in headers.iter().enumerate() {
            if text.trim().is_empty() {
                fields.push(None);
                continue;
            }
            match Column::from_header(text) {
                Some(column) => {
                    if index.insert(column, i).is_some() {
                        report.push_named(
                            1,
                            Some(text.trim().to_owned()),
                            Problem::DuplicateColumn,
                        );
                    }
                    fields.push(Some(column));
                }
                None => {
                    report.push_named(1, Some(text.trim().to_owned()), Problem::UnknownColumn);
                    fields.push(None);
                }
            }
        }
        if !index.contains_key(&Column::Sku) {
            report.push(1, Some(Column::Sku), Problem::MissingColumn);
        }
        for axis in 0..3 {
            let (name, value) = Column::option(axis);
            match (index.contains_key(&name), index.contains_key(&value)) {
                (true, false) => report.push(1, Some(value), Problem::MissingColumn),
                (false, true) => report.push(1, Some(name), Problem::MissingColumn),
                _ => {}
            }
        }
        (report.total_errors == before).then_some(Header { fields, index })
    }

    /// Whether the file has this column.
    pub(super) fn has(&self, column: Column) -> bool {
        self.index.contains_key(&column)
    }

    /// The field index of a column.
    pub(super) fn get(&self, column: Column) -> Option<usize> {
        self.index.get(&column).copied()
    }

    /// Whether the file has any of the option columns.
    pub(super) fn has_options(&self) -> bool {
        (0..3).any(|axis| self.has(Column::option(axis).0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_in_both_languages() {
        assert_eq!(Column::from_header(" Preis "), Some(Column::Price));
        assert_eq!(Column::from_header("WÄHRUNG"), Some(Column::Currency));
        assert_eq!(Column::from_header("Waehrung"), Some(Column::Currency));
        assert_eq!(
            Column::from_header("Option1 Wert"),
            Some(Column::Option1Value)
        );
        assert_eq!(
            Column::from_header("option2-name"),
            Some(Column::Option2Name)
        );
        assert_eq!(Column::from_header("EAN"), Some(Column::Gtin));
        assert_eq!(Column::from_header("SKU"), Some(Column::Sku));
        assert_eq!(Column::from_header("Gewicht"), None);
        for column in Column::ALL {
            assert_eq!(Column::from_header(column.name()), Some(column));
            assert_eq!(Column::from_header(column.german_name()), Some(column));
            assert_eq!(Column::ALL[column.position()], column);
        }
    }

    #[test]
    fn the_delimiter_comes_from_the_header_line() {
        assert_eq!(
            Delimiter::detect(b"sku;title;price\n1,2,3,4,5"),
            Delimiter::Semicolon
        );
        assert_eq!(Delimiter::detect(b"sku,title,price\r\n"), Delimiter::Comma);
        assert_eq!(Delimiter::detect(b"sku\ttitle\tprice"), Delimiter::Tab);
        // Quoted delimiters do not count.
        assert_eq!(
            Delimiter::detect(b"\"a,b,c,d\";title;price"),
            Delimiter::Semicolon
        );
        assert_eq!(Delimiter::detect(b"sku\n"), Delimiter::Comma);
    }

    #[test]
    fn formula_escaping_reads_back_exactly() {
        for text in [
            "=1+2",
            "-20 % Rabatt",
            "'=x",
            "''",
            "'quoted'",
            "plain",
            "@home",
            "'",
            "",
        ] {
            assert_eq!(unescape_cell(&escape_cell(text)), text, "{text}");
        }
        assert_eq!(escape_cell("=1+2"), "'=1+2");
        assert_eq!(escape_cell("'quoted'"), "'quoted'");
        assert_eq!(unescape_cell("'quoted'"), "'quoted'");
    }

    #[test]
    fn header_problems_are_all_reported() {
        let mut report = ImportReport::default();
        let headers: Vec<String> = ["Titel", "title", "colour", "option1_name", ""]
            .into_iter()
            .map(String::from)
            .collect();
        assert!(Header::parse(&headers, &mut report).is_none());
        let problems: Vec<(Option<&str>, &Problem)> = report
            .errors
            .iter()
            .map(|e| (e.column.as_deref(), &e.problem))
            .collect();
        assert_eq!(
            problems,
            [
                (Some("title"), &Problem::DuplicateColumn),
                (Some("colour"), &Problem::UnknownColumn),
                (Some("sku"), &Problem::MissingColumn),
                (Some("option1_value"), &Problem::MissingColumn),
            ]
        );
    }
}
