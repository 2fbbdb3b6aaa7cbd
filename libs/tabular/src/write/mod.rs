//! Exports that survive being opened in Excel.
//!
//! Excel converts on sight: `2/4` becomes 4 February, `007` becomes 7, an
//! 18-digit ID becomes `1.10105E+17` and then loses its last digits when
//! saved. The XLSX export prevents all of that by typing every cell
//! explicitly: text is written as a string with the `@` (Text) number
//! format, so even re-typing into the cell keeps it text, and strings are
//! never written as formulas (`=1+1` stays those four characters). Numbers
//! are written as numbers only when Excel can hold them exactly.
//!
//! CSV cannot carry types, so [`CsvExport`] writes plain RFC 4180 text and
//! the caller chooses representation (e.g. a separate currency column).

mod csv;
mod xlsx;

pub use self::csv::{CsvExport, CsvExportOptions};
pub use self::xlsx::{SheetId, XlsxExport};

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use thiserror::Error;

use crate::currency::currency;

/// One cell of an exported row, typed by the caller who knows the field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Text, written verbatim and marked as text.
    Text(&'a str),
    /// A calendar date.
    Date(NaiveDate),
    /// A date and time (no time zone; convert before exporting).
    DateTime(NaiveDateTime),
    /// Money in integer minor units of `currency` (ISO code).
    Money {
        /// Amount in minor units (fen, cents; yen for JPY).
        minor: i64,
        /// ISO 4217 code from [`crate::currency::CURRENCIES`].
        currency: &'a str,
    },
    /// A whole number.
    Integer(i64),
    /// An exact decimal as text, e.g. `"1234.50"` (validated with
    /// [`crate::value::parse_decimal`]).
    Decimal(&'a str),
    /// A flag.
    Bool(bool),
    /// No value.
    Empty,
}

/// Why an export failed. Nothing is truncated or rounded to avoid an error.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The output could not be written.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// rust_xlsxwriter reported an error.
    #[error("xlsx error: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// CSV writer error.
    #[error("csv error: {0}")]
    Csv(#[from] ::csv::Error),
    /// More rows than an Excel sheet holds (1,048,576 including the header).
    /// Split the export over several sheets or files.
    #[error("sheet \"{sheet}\" is full: Excel sheets hold at most {limit} rows")]
    TooManyRows {
        /// The full sheet.
        sheet: String,
        /// The row limit.
        limit: u32,
    },
    /// More columns than an Excel sheet holds (16,384).
    #[error("too many columns: {count} (Excel allows {limit})")]
    TooManyColumns {
        /// Columns requested.
        count: usize,
        /// The column limit.
        limit: u16,
    },
    /// A cell value can't be written without changing it.
    #[error("row {row}, column {column}: {message}")]
    Cell {
        /// 1-based row in the output.
        row: u64,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A [`SheetId`] that this export did not create.
    #[error("unknown sheet id")]
    UnknownSheet,
    /// The header must be the first row written.
    #[error("the header must be written before any row")]
    HeaderAfterRows,
    /// A currency not in [`crate::currency::CURRENCIES`].
    #[error("unsupported currency \"{0}\"")]
    UnknownCurrency(String),
}

/// Formats minor units as a plain decimal amount: `(123450, "CNY")` →
/// `"1234.50"`, `(1234, "JPY")` → `"1234"`, `(-5, "USD")` → `"-0.05"`.
///
/// No symbol and no grouping, so the text parses back unambiguously (with
/// [`crate::value::parse_money`] and a currency column). An unknown
/// currency is an error because its exponent is unknown; assuming 2 would
/// misstate yen-like currencies by a factor of 100.
pub fn format_money(minor: i64, currency_code: &str) -> Result<String, WriteError> {
    let cur =
        currency(currency_code).ok_or_else(|| WriteError::UnknownCurrency(currency_code.into()))?;
    Ok(crate::value::Decimal::new(i128::from(minor), cur.exponent).to_string())
}

/// Excel's sheet-name length limit, in characters.
const SHEET_NAME_MAX: usize = 31;

/// Makes `raw` a valid, unique Excel sheet name and records it in `taken`.
///
/// Excel rejects names that are empty, longer than 31 characters, contain
/// any of `[ ] : * ? / \`, start or end with `'`, or equal `History`
/// (reserved). Names are unique case-insensitively. Rather than failing an
/// export because a customer segment is called `"VIP/重点"`, invalid
/// characters become `_`, the name is cut to 31 characters, and clashes get
/// ` (2)`, ` (3)`, … with the base shortened so the result still fits.
///
/// `taken` holds lower-cased names; pass the same set for every sheet of a
/// workbook.
pub fn sheet_name(raw: &str, taken: &mut HashSet<String>) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let mut base = tidy(&cleaned, SHEET_NAME_MAX);
    if base.is_empty() {
        base = "Sheet".to_owned();
    }
    let is_free = |name: &str, taken: &HashSet<String>| {
        let key = name.to_lowercase();
        key != "history" && !taken.contains(&key)
    };
    let mut name = base.clone();
    let mut n = 2u32;
    while !is_free(&name, taken) {
        let suffix = format!(" ({n})");
        let room = SHEET_NAME_MAX - suffix.chars().count();
        name = format!("{}{suffix}", tidy(&base, room));
        n += 1;
    }
    taken.insert(name.to_lowercase());
    name
}

/// Cuts to `max` characters and removes leading/trailing apostrophes and
/// whitespace (a cut can expose either).
fn tidy(s: &str, max: usize) -> String {
    let cut: String = s.trim().chars().take(max).collect();
    cut.trim_matches(|c: char| c == '\'' || c.is_whitespace())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_text() {
        assert_eq!(
            format_money(123_450, "CNY").ok().as_deref(),
            Some("1234.50")
        );
        assert_eq!(format_money(1234, "JPY").ok().as_deref(), Some("1234"));
        assert_eq!(format_money(-5, "usd").ok().as_deref(), Some("-0.05"));
        assert!(format_money(1, "XYZ").is_err());
    }

    #[test]
    fn sheet_names() {
        let mut taken = HashSet::new();
        assert_eq!(sheet_name("客户", &mut taken), "客户");
        assert_eq!(sheet_name("客户", &mut taken), "客户 (2)");
        assert_eq!(sheet_name("VIP/重点:A?", &mut taken), "VIP_重点_A_");
        assert_eq!(sheet_name("", &mut taken), "Sheet");
        assert_eq!(sheet_name("  ", &mut taken), "Sheet (2)");
        assert_eq!(sheet_name("history", &mut taken), "history (2)");
        assert_eq!(sheet_name("'quoted'", &mut taken), "quoted");
        let long = "x".repeat(40);
        assert_eq!(sheet_name(&long, &mut taken).chars().count(), 31);
        let again = sheet_name(&long, &mut taken);
        assert_eq!(again, format!("{} (2)", "x".repeat(27)));
        assert_eq!(sheet_name("SHEET", &mut taken), "SHEET (3)");
    }
}
