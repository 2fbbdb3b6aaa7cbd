//! Lossless tabular import and export (CSV and XLSX) for the CRM customers
//! service.
//!
//! # The one rule
//!
//! Values are **never silently changed**. Customer data is full of strings
//! that look like something else: `"2/4"` is a house number, not the 2nd of
//! April; `"007"` is a customer code whose zeros matter; `"110105199001011234"`
//! is an ID card number that a float would round to `110105199001011230`.
//! Every spreadsheet tool "helpfully" converts these, and the damage is only
//! discovered after the import has overwritten good data. So this crate:
//!
//! * reads every cell as **text exactly as stored** ([`read`]); typing
//!   happens later, per field, with strict parsers ([`value`]) that return an
//!   error instead of guessing;
//! * maps headers to fields by a forgiving key but reports anything unmapped
//!   or mapped twice ([`header`]);
//! * writes exports so that Excel cannot reinterpret text ([`mod@write`]): text
//!   cells carry the `@` (Text) number format and are never formulas. XLSX is
//!   the lossless path; CSV text that a spreadsheet would run as a formula
//!   gets a leading apostrophe ([`formula`]), which importers strip again.
//!
//! Anything that cannot be represented exactly is an error that names the row
//! (and column where known), so the customers service can show the user which
//! cell to fix.
//!
//! # Memory
//!
//! Readers stream: CSV is decoded incrementally in 64 KiB chunks; XLSX cells
//! are pulled from the sheet XML one at a time on a worker thread. The one
//! unbounded cost is an XLSX file's shared-string table, which calamine loads
//! whole (see [`read::xlsx_rows`]). Writers stream too: XLSX uses
//! rust_xlsxwriter's constant-memory mode, which spills each finished row to a
//! temporary file.

//! # Example
//!
//! ```
//! use std::collections::HashMap;
//! use crm_tabular::{csv_rows, parse_date, parse_money, CsvOptions, Mapper};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let upload = "\u{feff}手机号（必填）,生日,余额\r\n007,2024年2月4日,\"¥1,234.50\"\r\n";
//! let mut rows = csv_rows(upload.as_bytes(), &CsvOptions::default())?;
//! let header = rows.next().ok_or("empty file")??;
//! let table: &[(&str, &[&str])] = &[
//!     ("phone", &["手机号"]),
//!     ("birthday", &["生日"]),
//!     ("balance", &["余额"]),
//! ];
//! let mapping = Mapper::new(table, HashMap::new())?.map(&header.cells);
//! assert!(mapping.unmapped.is_empty() && mapping.duplicates.is_empty());
//! for row in rows {
//!     let row = row?; // a real import collects per-row errors instead
//!     // More cells than headers usually means an unquoted delimiter split
//!     // a value: reject the row rather than import half a value.
//!     assert_eq!(mapping.overflow(&row.cells), None);
//!     assert_eq!(row.number, 2);
//!     assert_eq!(row.cells[0], "007"); // text stays text
//!     let birthday = parse_date(&row.cells[1], &[])?;
//!     assert_eq!(birthday.to_string(), "2024-02-04");
//!     assert_eq!(parse_money(&row.cells[2], None)?, (123_450, "CNY".to_string()));
//! }
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod currency;
pub mod formula;
pub mod header;
pub mod read;
pub mod value;
pub mod write;

pub use formula::{guard_formula, strip_formula_guard};
pub use header::{Mapper, Mapping, header_key};
pub use read::{
    CsvOptions, CsvRows, Format, OpenOptions, ReadError, Row, Rows, TextEncoding, XlsxRows,
    csv_rows, open_path, sniff_format, xlsx_rows, xlsx_rows_from_reader,
};
pub use value::{
    DateFormat, Decimal, ValueError, parse_bool, parse_date, parse_decimal, parse_integer,
    parse_money,
};
pub use write::{
    Cell, CsvExport, CsvExportOptions, SheetId, WriteError, XlsxExport, format_money, sheet_name,
};
