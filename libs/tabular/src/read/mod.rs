//! Streaming readers that yield every row as text, exactly as stored.
//!
//! Both formats produce the same [`Row`] so the import code has a single
//! loop. Cells are strings on purpose: typing them (dates, money) is done
//! per field by [`crate::value`], where a wrong guess becomes an error with
//! the field name instead of a corrupted value.
//!
//! # Conventions shared by both readers
//!
//! * The header is simply the first row yielded (normally row 1); there is
//!   no separate header API, so callers can also handle files whose header
//!   is not on line 1.
//! * [`Row::number`] is the 1-based row as a person sees it: the line number
//!   where the record starts in a CSV text editor view, or the sheet row in
//!   Excel. Error reports use the same number.
//! * Completely blank rows are skipped (their numbers are skipped too, so
//!   numbering stays true to the file).
//! * Rows are ragged: a row may have fewer or more cells than the header.
//!   Missing trailing cells mean empty; XLSX rows are dense up to their last
//!   non-empty cell (gaps are `""`).
//! * After a [`ReadError::Cell`] the iterator continues with the next row.
//!   Any other error is fatal and the iterator ends.

mod cell;
mod csv;
mod decode;
mod records;
mod xlsx;

pub use self::cell::{excel_serial_to_iso, number_to_text};
pub use self::csv::{CsvOptions, CsvRows, csv_rows};
pub use self::decode::TextEncoding;
pub use self::xlsx::{XlsxRows, xlsx_rows, xlsx_rows_from_reader};

use std::fs::File;
use std::io::Read;
use std::path::Path;

use thiserror::Error;

/// The container format of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
}

/// Decides the format from the file's first bytes, then its name.
///
/// Content beats the name because uploads are often misnamed (an `.csv`
/// that is really a workbook). A zip signature (`PK\x03\x04`) means XLSX;
/// otherwise `.xlsx`/`.xlsm` means XLSX (and will fail to open with a clear
/// error if it isn't one); anything else is read as CSV.
pub fn sniff_format(file_name: Option<&str>, head: &[u8]) -> Format {
    if head.starts_with(b"PK\x03\x04") {
        return Format::Xlsx;
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("xlsx" | "xlsm") => Format::Xlsx,
        _ => Format::Csv,
    }
}

/// One row of the file: its 1-based number and its cells as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line (CSV, where the record starts) or sheet row (XLSX).
    pub number: u64,
    /// The cells, in column order, exactly as stored.
    pub cells: Vec<String>,
}

/// Why reading failed. Every variant that concerns a place in the file
/// names the row, and the column where it is known.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The underlying file or stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An encoding name in [`CsvOptions`] is not supported.
    #[error("unsupported encoding \"{0}\"; use utf-8, gbk or gb18030")]
    UnknownEncoding(String),
    /// A delimiter in [`CsvOptions`] can't be used.
    #[error("unusable delimiter {0:?}")]
    BadDelimiter(char),
    /// Bytes that are not valid in the file's encoding. Decoding with
    /// replacement characters would silently corrupt names, so it stops.
    #[error("row {row}: {message}")]
    Encoding {
        /// Approximate 1-based line where the bad bytes are.
        row: u64,
        /// What was wrong and what to do about it.
        message: String,
    },
    /// The CSV text itself could not be parsed.
    #[error("row {row}: {message}")]
    Csv {
        /// 1-based line.
        row: u64,
        /// Parser message.
        message: String,
    },
    /// The workbook could not be opened or its sheet XML is broken.
    #[error("invalid xlsx file: {0}")]
    Xlsx(String),
    /// The requested sheet does not exist.
    #[error("sheet \"{requested}\" not found; the workbook has: {}", available.join(", "))]
    SheetNotFound {
        /// The name asked for.
        requested: String,
        /// The sheet names in workbook order.
        available: Vec<String>,
    },
    /// The file is in a format this crate does not read.
    #[error("{0}")]
    Unsupported(String),
    /// One cell can't be turned into text without changing its value
    /// (an Excel error value, a number that already lost digits, …).
    /// Recoverable: the iterator continues with the next row.
    #[error("row {row}, column {} ({}): {message}", column + 1, column_letters(*column))]
    Cell {
        /// 1-based row.
        row: u64,
        /// 0-based column index (matches `Row::cells`).
        column: usize,
        /// What is wrong with the cell.
        message: String,
    },
}

impl ReadError {
    /// The 1-based row the error is about, if any.
    pub fn row(&self) -> Option<u64> {
        match self {
            Self::Encoding { row, .. } | Self::Csv { row, .. } | Self::Cell { row, .. } => {
                Some(*row)
            }
            _ => None,
        }
    }

    /// The 0-based column the error is about, if known.
    pub fn column(&self) -> Option<usize> {
        match self {
            Self::Cell { column, .. } => Some(*column),
            _ => None,
        }
    }

    /// Whether iteration can continue after this error.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, Self::Cell { .. })
    }
}

/// Excel-style column letters for a 0-based index: 0 → `A`, 27 → `AB`.
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

/// Options for [`open_path`].
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// CSV delimiter and encoding overrides.
    pub csv: CsvOptions,
    /// XLSX sheet name; the first sheet if `None`.
    pub sheet: Option<String>,
}

/// Rows of either format, iterated the same way.
#[derive(Debug)]
pub enum Rows {
    /// Rows of a CSV file (boxed: the reader's state is much larger than
    /// the XLSX handle).
    Csv(Box<CsvRows<Box<dyn Read + Send>>>),
    /// Rows of an XLSX sheet.
    Xlsx(XlsxRows),
}

impl Iterator for Rows {
    type Item = Result<Row, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Csv(r) => r.next(),
            Self::Xlsx(r) => r.next(),
        }
    }
}

/// Opens a file, sniffs its format and returns its rows.
///
/// Legacy `.xls` (OLE compound files) is rejected with a message asking for
/// `.xlsx`, rather than being misread as CSV.
pub fn open_path(path: &Path, opts: &OpenOptions) -> Result<Rows, ReadError> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 8];
    let mut filled = 0;
    while filled < head.len() {
        let n = file.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    if head[..filled].starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ReadError::Unsupported(
            "this is an old .xls workbook; save it as .xlsx or CSV UTF-8 and upload again".into(),
        ));
    }
    let name = path.file_name().and_then(|n| n.to_str());
    match sniff_format(name, &head[..filled]) {
        Format::Xlsx => {
            drop(file);
            Ok(Rows::Xlsx(xlsx_rows(path, opts.sheet.as_deref())?))
        }
        Format::Csv => {
            let file = File::open(path)?;
            let boxed: Box<dyn Read + Send> = Box::new(file);
            Ok(Rows::Csv(Box::new(csv_rows(boxed, &opts.csv)?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff_format(None, b"PK\x03\x04rest"), Format::Xlsx);
        assert_eq!(sniff_format(Some("a.csv"), b"PK\x03\x04"), Format::Xlsx);
        assert_eq!(sniff_format(Some("A.XLSX"), b"garbage"), Format::Xlsx);
        assert_eq!(sniff_format(Some("a.csv"), b"name,phone"), Format::Csv);
        assert_eq!(sniff_format(None, b"name,phone"), Format::Csv);
        assert_eq!(sniff_format(Some("noext"), b""), Format::Csv);
    }

    #[test]
    fn letters() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(16383), "XFD");
    }
}
