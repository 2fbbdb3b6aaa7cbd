//! CSV export: UTF-8, RFC 4180 quoting, optional BOM.
//!
//! Excel on Chinese Windows opens a BOM-less CSV as GBK and shows mojibake,
//! so the BOM is on by default. Note that CSV carries no types: Excel will
//! still turn `007` into 7 when it *opens* a CSV, whatever we write. For
//! files meant to be edited in Excel and re-imported, export XLSX.
//!
//! Text that a spreadsheet would run as a formula gets a leading apostrophe
//! (the formula guard, on by default; see [`crate::formula`]). Importers undo
//! it with [`crate::formula::strip_formula_guard`], so an export re-imports
//! unchanged.

use std::io::Write;

use chrono::{NaiveDate, NaiveDateTime};

use super::{Cell, WriteError, format_money};
use crate::formula::guard_formula;
use crate::value::parse_decimal;

/// Settings for [`CsvExport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvExportOptions {
    /// Field delimiter, `,` by default.
    pub delimiter: u8,
    /// Write a UTF-8 byte-order mark first (default `true`; Excel needs it
    /// to read Chinese correctly).
    pub bom: bool,
    /// Prefix text cells starting with `=`, `+`, `-`, `@`, TAB or CR with
    /// `'` so a spreadsheet shows them instead of evaluating them (CSV
    /// injection, CWE-1236). On by default: a CSV may be opened by anyone.
    /// The change is reversible ([`crate::formula::strip_formula_guard`]);
    /// numbers, dates and money are never guarded, only text.
    pub formula_guard: bool,
}

impl Default for CsvExportOptions {
    fn default() -> Self {
        Self {
            delimiter: b',',
            bom: true,
            formula_guard: true,
        }
    }
}

/// A streaming CSV writer. Rows are written as they come; memory does not
/// grow with the row count.
pub struct CsvExport<W: Write> {
    writer: csv::Writer<W>,
    formula_guard: bool,
    rows: u64,
    scratch: Vec<String>,
}

impl<W: Write> CsvExport<W> {
    /// Starts an export; writes the BOM if enabled.
    pub fn new(mut out: W, opts: &CsvExportOptions) -> Result<Self, WriteError> {
        if opts.bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let writer = csv::WriterBuilder::new()
            .delimiter(opts.delimiter)
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .flexible(true)
            .from_writer(out);
        Ok(Self {
            writer,
            formula_guard: opts.formula_guard,
            rows: 0,
            scratch: Vec::new(),
        })
    }

    /// Writes the header row.
    pub fn write_header(&mut self, headers: &[&str]) -> Result<(), WriteError> {
        if self.rows != 0 {
            return Err(WriteError::HeaderAfterRows);
        }
        self.writer.write_record(headers)?;
        self.rows += 1;
        Ok(())
    }

    /// Writes one data row. Dates are ISO (`2024-02-04`,
    /// `2024-02-04T10:30:00`), money is the bare amount from
    /// [`format_money`] (put the currency in its own column), booleans are
    /// `true`/`false`.
    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        self.rows += 1;
        let row = self.rows;
        self.scratch.clear();
        for (i, cell) in cells.iter().enumerate() {
            let text = match *cell {
                Cell::Text(s) => self.guard(s),
                Cell::Date(d) => iso_date(d),
                Cell::DateTime(dt) => iso_datetime(dt),
                Cell::Money { minor, currency } => format_money(minor, currency)?,
                Cell::Integer(n) => n.to_string(),
                Cell::Decimal(s) => parse_decimal(s)
                    .map_err(|e| WriteError::Cell {
                        row,
                        column: i + 1,
                        message: format!("not a decimal: {e}"),
                    })?
                    .to_string(),
                Cell::Bool(b) => b.to_string(),
                Cell::Empty => String::new(),
            };
            self.scratch.push(text);
        }
        self.writer.write_record(&self.scratch)?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W, WriteError> {
        self.writer
            .into_inner()
            .map_err(|e| WriteError::Io(std::io::Error::other(e.error().to_string())))
    }

    fn guard(&self, s: &str) -> String {
        if self.formula_guard {
            guard_formula(s).into_owned()
        } else {
            s.to_owned()
        }
    }
}

fn iso_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn iso_datetime(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}
