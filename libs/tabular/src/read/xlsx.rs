//! Streaming XLSX reading on a worker thread.
//!
//! calamine's `worksheet_cells_reader` pulls cells from the sheet XML one at
//! a time, which keeps memory flat for a 1M-row sheet. Its reader borrows
//! the workbook, and a struct cannot own both without `unsafe`, which this
//! crate forbids. So a worker thread owns the workbook and the cell reader
//! and sends rows through a bounded channel: at most
//! `CHANNEL_BATCHES × BATCH_ROWS` rows are ever buffered. Dropping the
//! iterator closes the channel; the worker notices at its next send and
//! exits, and `Drop` joins it so no thread outlives the iterator.
//!
//! # Memory
//!
//! calamine loads the workbook's shared-string table (`sharedStrings.xml`)
//! into memory when the file is opened, so memory grows with the number and
//! size of *distinct* strings. Excel and most tools write strings that way;
//! files produced by this crate's [`crate::write::XlsxExport`] use inline
//! strings and have no table. Everything else (styles, the XML stream, the
//! channel) is bounded. See README.md for measured figures.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{self, JoinHandle};

use calamine::{DataRef, Reader, Xlsx, XlsxError};

use super::cell::{duration_to_text, excel_serial_to_iso, number_to_text};
use super::{ReadError, Row};

/// Rows per message from the worker; batching keeps channel overhead
/// negligible next to XML parsing.
const BATCH_ROWS: usize = 256;

/// Messages the channel holds before the worker blocks.
const CHANNEL_BATCHES: usize = 4;

type Batch = Vec<Result<Row, ReadError>>;

/// Iterator over the rows of one sheet. The header is the first row
/// yielded; see the [module conventions](super).
pub struct XlsxRows {
    sheet: String,
    rx: Option<Receiver<Batch>>,
    batch: std::vec::IntoIter<Result<Row, ReadError>>,
    handle: Option<JoinHandle<()>>,
    finished: bool,
}

impl fmt::Debug for XlsxRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XlsxRows")
            .field("sheet", &self.sheet)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl XlsxRows {
    /// The name of the sheet being read.
    pub fn sheet(&self) -> &str {
        &self.sheet
    }
}

/// Opens `path` and streams the named sheet, or the first one.
///
/// Errors immediately (not during iteration) if the file is not a valid
/// workbook or the sheet does not exist; the latter lists the available
/// sheet names so the user can pick one. Sheet names match exactly, or
/// case-insensitively as Excel does.
pub fn xlsx_rows(path: &Path, sheet: Option<&str>) -> Result<XlsxRows, ReadError> {
    let file = File::open(path)?;
    xlsx_rows_from_reader(BufReader::new(file), sheet)
}

/// Like [`xlsx_rows`] for any seekable source, e.g. an upload held in a
/// `Cursor<Vec<u8>>`.
pub fn xlsx_rows_from_reader<RS>(reader: RS, sheet: Option<&str>) -> Result<XlsxRows, ReadError>
where
    RS: Read + Seek + Send + 'static,
{
    let mut workbook: Xlsx<RS> = Xlsx::new(reader).map_err(|e| xlsx_error(&e))?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| n.to_lowercase() == wanted.to_lowercase())
            })
            .cloned()
            .ok_or_else(|| ReadError::SheetNotFound {
                requested: wanted.to_owned(),
                available: names.clone(),
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| ReadError::Xlsx("the workbook has no sheets".into()))?,
    };
    // Open the sheet once here so "not a worksheet" (a chart sheet) and
    // broken sheet XML are reported before iteration starts.
    workbook
        .worksheet_cells_reader(&name)
        .map_err(|e| xlsx_error(&e))?;
    let is_1904 = workbook.has_1904_epoch();
    let (tx, rx) = sync_channel(CHANNEL_BATCHES);
    let worker_sheet = name.clone();
    let handle = thread::Builder::new()
        .name("crm-tabular-xlsx".into())
        .spawn(move || stream(workbook, &worker_sheet, is_1904, &tx))?;
    Ok(XlsxRows {
        sheet: name,
        rx: Some(rx),
        batch: Vec::new().into_iter(),
        handle: Some(handle),
        finished: false,
    })
}

fn xlsx_error(e: &XlsxError) -> ReadError {
    ReadError::Xlsx(e.to_string())
}

/// Cells of the row being assembled.
struct Pending {
    row: u32,
    cells: Vec<String>,
    error: Option<(usize, String)>,
}

impl Pending {
    fn set(&mut self, col: usize, value: Result<String, String>) {
        match value {
            Ok(text) if text.is_empty() => {}
            Ok(text) => {
                if self.cells.len() <= col {
                    self.cells.resize(col + 1, String::new());
                }
                self.cells[col] = text;
            }
            Err(message) => {
                if self.error.is_none() {
                    self.error = Some((col, message));
                }
            }
        }
    }

    fn finish(self, out: &mut Batch) {
        let number = u64::from(self.row) + 1;
        match self.error {
            Some((column, message)) => out.push(Err(ReadError::Cell {
                row: number,
                column,
                message,
            })),
            None if self.cells.is_empty() => {}
            None => out.push(Ok(Row {
                number,
                cells: self.cells,
            })),
        }
    }
}

/// The worker: reads cells in stream order, assembles dense rows, sends
/// batches. Returns quietly when the receiver is gone.
fn stream<RS: Read + Seek>(mut wb: Xlsx<RS>, sheet: &str, is_1904: bool, tx: &SyncSender<Batch>) {
    let mut cells = match wb.worksheet_cells_reader(sheet) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(vec![Err(xlsx_error(&e))]);
            return;
        }
    };
    let mut batch: Batch = Vec::with_capacity(BATCH_ROWS);
    let mut current: Option<Pending> = None;
    let mut last_row = 0u64;
    loop {
        match cells.next_cell_with_formula_metadata() {
            Ok(Some(rec)) => {
                let (r, c) = rec.pos;
                if let Some(p) = current.take_if(|p| p.row != r) {
                    last_row = u64::from(p.row) + 1;
                    p.finish(&mut batch);
                    if batch.len() >= BATCH_ROWS
                        && tx
                            .send(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(BATCH_ROWS),
                            ))
                            .is_err()
                    {
                        return;
                    }
                }
                let pending = current.get_or_insert_with(|| Pending {
                    row: r,
                    cells: Vec::new(),
                    error: None,
                });
                pending.set(
                    c as usize,
                    cell_text(&rec.value, rec.formula.is_some(), is_1904),
                );
            }
            Ok(None) => break,
            Err(e) => {
                if let Some(p) = current.take() {
                    p.finish(&mut batch);
                }
                batch.push(Err(ReadError::Xlsx(format!("after row {last_row}: {e}"))));
                let _ = tx.send(batch);
                return;
            }
        }
    }
    if let Some(p) = current.take() {
        p.finish(&mut batch);
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
}

/// Converts one cell value to text; `Err` carries the user-facing reason.
fn cell_text(value: &DataRef<'_>, has_formula: bool, is_1904: bool) -> Result<String, String> {
    match value {
        DataRef::Empty if has_formula => Err(
            "is a formula with no saved result; open and save the file in Excel, then upload again"
                .into(),
        ),
        DataRef::Empty => Ok(String::new()),
        DataRef::String(s) => Ok(s.clone()),
        DataRef::SharedString(s) => Ok((*s).to_owned()),
        DataRef::Float(f) => number_to_text(*f),
        DataRef::Int(i) => Ok(i.to_string()),
        DataRef::Bool(b) => Ok(b.to_string()),
        DataRef::DateTime(dt) if dt.is_duration() => duration_to_text(dt.as_f64()),
        DataRef::DateTime(dt) => excel_serial_to_iso(dt.as_f64(), is_1904),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Ok(s.clone()),
        DataRef::Error(e) => Err(format!("contains the Excel error {e}")),
    }
}

impl Iterator for XlsxRows {
    type Item = Result<Row, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            let received = self.rx.as_ref().map(Receiver::recv);
            match received {
                Some(Ok(batch)) => self.batch = batch.into_iter(),
                _ => {
                    self.finished = true;
                    self.rx = None;
                    let panicked = self.handle.take().map(JoinHandle::join);
                    if let Some(Err(_)) = panicked {
                        return Some(Err(ReadError::Xlsx(
                            "the sheet reader stopped unexpectedly".into(),
                        )));
                    }
                    return None;
                }
            }
        }
    }
}

impl Drop for XlsxRows {
    fn drop(&mut self) {
        // Closing the channel first makes the worker's next send fail.
        self.rx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn cell_conversion() {
        assert_eq!(
            cell_text(&DataRef::Float(1.0), false, false),
            Ok("1".into())
        );
        assert_eq!(
            cell_text(&DataRef::Float(0.1), false, false),
            Ok("0.1".into())
        );
        assert_eq!(
            cell_text(&DataRef::Bool(false), false, false),
            Ok("false".into())
        );
        assert_eq!(
            cell_text(&DataRef::SharedString("007"), false, false),
            Ok("007".into())
        );
        assert_eq!(cell_text(&DataRef::Empty, false, false), Ok(String::new()));
        let date = ExcelDateTime::new(45326.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(
            cell_text(&DataRef::DateTime(date), false, false),
            Ok("2024-02-04".into())
        );
        let dur = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(
            cell_text(&DataRef::DateTime(dur), false, false),
            Ok("36:00:00".into())
        );
    }

    #[test]
    fn cell_errors() {
        let e = cell_text(&DataRef::Error(CellErrorType::NA), false, false);
        assert!(e.is_err_and(|m| m.contains("#N/A")));
        let e = cell_text(&DataRef::Empty, true, false);
        assert!(e.is_err_and(|m| m.contains("no saved result")));
        let e = cell_text(&DataRef::Float(6_222_021_234_567_890_123.0), false, false);
        assert!(e.is_err_and(|m| m.contains("store IDs as text")));
    }
}
