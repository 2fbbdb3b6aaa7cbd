//! XLSX export over rust_xlsxwriter in constant-memory mode.
//!
//! Constant-memory mode flushes each finished row to a temporary file, so a
//! 1M-row export uses a few MB of RAM. Its constraint (rows strictly in
//! order) matches an export loop anyway. Column widths and freeze panes are
//! emitted when the file is saved, so they can still be adjusted while rows
//! stream.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::{Cell, WriteError, format_money, sheet_name};
use crate::currency::{currency, excel_number_format};
use crate::value::{Decimal, parse_decimal};

/// Rows per sheet, including the header.
pub const MAX_ROWS: u32 = 1_048_576;
/// Columns per sheet.
pub const MAX_COLS: u16 = 16_384;
/// Excel keeps 15 significant digits; more would be silently rounded.
const EXCEL_DIGITS: usize = 15;
/// Column widths are fitted to the header and this many data rows, which
/// is representative and keeps the per-cell cost at zero afterwards.
const WIDTH_SAMPLE_ROWS: u32 = 1000;
const MIN_WIDTH: f64 = 8.0;
const MAX_WIDTH: f64 = 60.0;

/// Handle to a sheet of an [`XlsxExport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SheetId(usize);

struct SheetState {
    name: String,
    next_row: u32,
    widths: Vec<f64>,
}

/// The cached formats. rust_xlsxwriter dedups formats by value, but
/// building one per cell would be wasted work on 10M cells.
struct Formats {
    header: Format,
    text: Format,
    date: Format,
    datetime: Format,
    integer: Format,
    decimals: HashMap<u32, Format>,
    money: HashMap<&'static str, Format>,
}

/// A streaming XLSX workbook writer. See the [module docs](super) for how
/// each [`Cell`] kind is written.
pub struct XlsxExport {
    workbook: Workbook,
    sheets: Vec<SheetState>,
    taken: HashSet<String>,
    formats: Formats,
}

impl Default for XlsxExport {
    fn default() -> Self {
        Self::new()
    }
}

impl XlsxExport {
    /// Creates an empty workbook.
    pub fn new() -> Self {
        let text = Format::new().set_num_format("@");
        Self {
            workbook: Workbook::new(),
            sheets: Vec::new(),
            taken: HashSet::new(),
            formats: Formats {
                header: text.clone().set_bold(),
                text,
                date: Format::new().set_num_format("yyyy-mm-dd"),
                datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
                integer: Format::new().set_num_format("0"),
                decimals: HashMap::new(),
                money: HashMap::new(),
            },
        }
    }

    /// Puts the per-sheet temporary files in `dir` instead of the system
    /// temp directory (useful when `/tmp` is a small tmpfs).
    pub fn set_tempdir(&mut self, dir: &Path) -> Result<(), WriteError> {
        self.workbook.set_tempdir(dir)?;
        Ok(())
    }

    /// Sets the zip compression level, 1 (fastest) to 9 (smallest); values
    /// outside are clamped. The default, 6, spends roughly a third of a
    /// large export's time compressing; level 1 is several times faster
    /// at that step for a somewhat larger file.
    pub fn set_compression_level(&mut self, level: u8) {
        self.workbook.set_zip_compression_level(level.clamp(1, 9));
    }

    /// Adds a sheet. The name is made valid and unique with
    /// [`sheet_name`]; read the final name back with [`Self::sheet_name`].
    pub fn add_sheet(&mut self, name: &str) -> Result<SheetId, WriteError> {
        let name = sheet_name(name, &mut self.taken);
        let ws = self.workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(&name)?;
        self.sheets.push(SheetState {
            name,
            next_row: 0,
            widths: Vec::new(),
        });
        Ok(SheetId(self.sheets.len() - 1))
    }

    /// The final (sanitised) name of a sheet.
    pub fn sheet_name(&self, id: SheetId) -> Option<&str> {
        self.sheets.get(id.0).map(|s| s.name.as_str())
    }

    /// Writes the header as row 1: bold, text-formatted, and frozen so it
    /// stays visible while scrolling. Must come before any data row.
    pub fn write_header(&mut self, id: SheetId, headers: &[&str]) -> Result<(), WriteError> {
        let state = self.sheets.get_mut(id.0).ok_or(WriteError::UnknownSheet)?;
        if state.next_row != 0 {
            return Err(WriteError::HeaderAfterRows);
        }
        check_columns(headers.len())?;
        let ws = self.workbook.worksheet_from_index(id.0)?;
        for (col, h) in headers.iter().enumerate() {
            let c = col as u16;
            ws.write_string_with_format(0, c, *h, &self.formats.header)
                .map_err(|e| cell_error(0, col, &e))?;
            fit(&mut state.widths, col, text_width(h) + 2.0);
        }
        ws.set_freeze_panes(1, 0)?;
        state.next_row = 1;
        Ok(())
    }

    /// Appends one data row. Fails with [`WriteError::TooManyRows`] once the
    /// sheet holds 1,048,576 rows; the caller decides whether to start a new
    /// sheet. A failing cell names its row and column.
    pub fn write_row(&mut self, id: SheetId, cells: &[Cell<'_>]) -> Result<(), WriteError> {
        let state = self.sheets.get_mut(id.0).ok_or(WriteError::UnknownSheet)?;
        let row = state.next_row;
        if row >= MAX_ROWS {
            return Err(WriteError::TooManyRows {
                sheet: state.name.clone(),
                limit: MAX_ROWS,
            });
        }
        check_columns(cells.len())?;
        let ws = self.workbook.worksheet_from_index(id.0)?;
        for (col, cell) in cells.iter().enumerate() {
            let width = write_cell(ws, &mut self.formats, row, col, cell)?;
            if row <= WIDTH_SAMPLE_ROWS {
                fit(&mut state.widths, col, width + 2.0);
            }
        }
        state.next_row += 1;
        Ok(())
    }

    /// Number of rows written to a sheet so far, header included.
    pub fn rows_written(&self, id: SheetId) -> Option<u32> {
        self.sheets.get(id.0).map(|s| s.next_row)
    }

    /// Writes the workbook to `path`.
    pub fn save(mut self, path: &Path) -> Result<(), WriteError> {
        self.apply_widths()?;
        self.workbook.save(path)?;
        Ok(())
    }

    /// Writes the workbook to any writer (a `File`, a `Cursor<Vec<u8>>`, an
    /// HTTP body buffer). rust_xlsxwriter does not need `Seek`.
    pub fn save_to_writer<W: Write + Send>(mut self, writer: W) -> Result<(), WriteError> {
        self.apply_widths()?;
        self.workbook.save_to_writer(writer)?;
        Ok(())
    }

    fn apply_widths(&mut self) -> Result<(), WriteError> {
        if self.sheets.is_empty() {
            // An xlsx file needs a sheet; give an empty export one.
            self.add_sheet("Sheet")?;
        }
        for (i, state) in self.sheets.iter().enumerate() {
            let ws = self.workbook.worksheet_from_index(i)?;
            for (col, w) in state.widths.iter().enumerate() {
                ws.set_column_width(col as u16, w.clamp(MIN_WIDTH, MAX_WIDTH))?;
            }
        }
        Ok(())
    }
}

fn check_columns(count: usize) -> Result<(), WriteError> {
    if count > usize::from(MAX_COLS) {
        return Err(WriteError::TooManyColumns {
            count,
            limit: MAX_COLS,
        });
    }
    Ok(())
}

fn fit(widths: &mut Vec<f64>, col: usize, width: f64) {
    if widths.len() <= col {
        widths.resize(col + 1, 0.0);
    }
    widths[col] = widths[col].max(width);
}

/// Approximate display width in Excel character units: CJK and other wide
/// characters take two.
fn text_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2.0 } else { 1.0 })
        .sum()
}

fn cell_error(row: u32, col: usize, e: &XlsxError) -> WriteError {
    WriteError::Cell {
        row: u64::from(row) + 1,
        column: col + 1,
        message: e.to_string(),
    }
}

/// Writes one cell and returns its display width.
fn write_cell(
    ws: &mut Worksheet,
    formats: &mut Formats,
    row: u32,
    col: usize,
    cell: &Cell<'_>,
) -> Result<f64, WriteError> {
    let c = col as u16;
    let err = |e: XlsxError| cell_error(row, col, &e);
    let text = |ws: &mut Worksheet, s: &str, f: &Format| -> Result<f64, WriteError> {
        ws.write_string_with_format(row, c, s, f).map_err(err)?;
        Ok(text_width(s))
    };
    match *cell {
        Cell::Text("") => {
            // A blank cell still carries "@" so a value typed later is text.
            ws.write_blank(row, c, &formats.text).map_err(err)?;
            Ok(0.0)
        }
        Cell::Text(s) => text(ws, s, &formats.text),
        Cell::Date(d) => match excel_date(d) {
            Some(dt) => {
                ws.write_datetime_with_format(row, c, &dt, &formats.date)
                    .map_err(err)?;
                Ok(10.0)
            }
            // Before 1900 Excel has no date; ISO text keeps the value.
            None => text(ws, &d.format("%Y-%m-%d").to_string(), &formats.text),
        },
        Cell::DateTime(dt) => match excel_datetime(dt) {
            Some(x) => {
                ws.write_datetime_with_format(row, c, &x, &formats.datetime)
                    .map_err(err)?;
                Ok(19.0)
            }
            None => text(ws, &iso_datetime(dt), &formats.text),
        },
        Cell::Money {
            minor,
            currency: code,
        } => {
            let cur = currency(code).ok_or_else(|| WriteError::UnknownCurrency(code.into()))?;
            let dec = Decimal::new(i128::from(minor), cur.exponent);
            match exact_f64(&dec) {
                Some(n) => {
                    let f = formats
                        .money
                        .entry(cur.code)
                        .or_insert_with(|| Format::new().set_num_format(excel_number_format(cur)));
                    ws.write_number_with_format(row, c, n, f).map_err(err)?;
                    Ok(text_width(&dec.to_string()) + 4.0)
                }
                // Too many digits for Excel: text keeps every cent.
                None => {
                    let s = format!("{} {}", format_money(minor, cur.code)?, cur.code);
                    text(ws, &s, &formats.text)
                }
            }
        }
        Cell::Integer(i) => match exact_f64(&Decimal::new(i128::from(i), 0)) {
            Some(n) => {
                ws.write_number_with_format(row, c, n, &formats.integer)
                    .map_err(err)?;
                Ok(text_width(&i.to_string()))
            }
            None => text(ws, &i.to_string(), &formats.text),
        },
        Cell::Decimal(s) => {
            let dec = parse_decimal(s).map_err(|e| WriteError::Cell {
                row: u64::from(row) + 1,
                column: col + 1,
                message: format!("not a decimal: {e}"),
            })?;
            match exact_f64(&dec) {
                Some(n) => {
                    let f = formats.decimals.entry(dec.scale()).or_insert_with(|| {
                        let mut code = String::from("0");
                        if dec.scale() > 0 {
                            code.push('.');
                            code.push_str(&"0".repeat(dec.scale() as usize));
                        }
                        Format::new().set_num_format(code)
                    });
                    ws.write_number_with_format(row, c, n, f).map_err(err)?;
                    Ok(text_width(&dec.to_string()))
                }
                None => text(ws, &dec.to_string(), &formats.text),
            }
        }
        Cell::Bool(b) => {
            ws.write_boolean(row, c, b).map_err(err)?;
            Ok(5.0)
        }
        Cell::Empty => Ok(0.0),
    }
}

/// The `f64` for `dec` if Excel will show and keep exactly this value:
/// at most 15 significant digits and a lossless round trip.
pub(crate) fn exact_f64(dec: &Decimal) -> Option<f64> {
    let norm = normalize(dec);
    if norm.mantissa().unsigned_abs().to_string().len() > EXCEL_DIGITS {
        return None;
    }
    let n: f64 = norm.to_string().parse().ok()?;
    let back = parse_decimal(&format!("{n}")).ok()?;
    (normalize(&back) == norm).then_some(n)
}

fn normalize(d: &Decimal) -> Decimal {
    let (mut m, mut s) = (d.mantissa(), d.scale());
    while s > 0 && m % 10 == 0 {
        m /= 10;
        s -= 1;
    }
    Decimal::new(m, s)
}

fn excel_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok().filter(|y| *y >= 1900)?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8).ok()
}

/// Excel stores milliseconds; finer (or leap-second) times go out as text.
fn excel_datetime(dt: NaiveDateTime) -> Option<ExcelDateTime> {
    let nanos = dt.nanosecond();
    if !nanos.is_multiple_of(1_000_000) || nanos >= 1_000_000_000 {
        return None;
    }
    excel_date(dt.date())?
        .and_hms_milli(
            dt.hour() as u16,
            dt.minute() as u8,
            dt.second() as u8,
            (nanos / 1_000_000) as u16,
        )
        .ok()
}

fn iso_datetime(dt: NaiveDateTime) -> String {
    dt.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactness() {
        let d = |s: &str| parse_decimal(s).ok();
        assert_eq!(d("0.1").and_then(|x| exact_f64(&x)), Some(0.1));
        assert_eq!(d("3.10").and_then(|x| exact_f64(&x)), Some(3.1));
        assert_eq!(
            d("123456789012345").and_then(|x| exact_f64(&x)),
            Some(123_456_789_012_345.0)
        );
        assert!(d("1234567890123456").and_then(|x| exact_f64(&x)).is_none());
        assert!(
            d("0.1234567890123456")
                .and_then(|x| exact_f64(&x))
                .is_none()
        );
    }
}
