//! Files written for download (import reports, exports): rows go to a temporary file as they
//! come (CSV through a buffer, XLSX in rust_xlsxwriter's constant-memory mode), so memory stays
//! flat; the API streams the file and removes it.
use super::{RowResult, import_name};
use crate::{error::Error, service::Customers};
use crm_platform::auth::Principal;
use crm_tabular::{Cell, CsvExport, CsvExportOptions, SheetId, XlsxExport};
use std::io::BufWriter;
use std::path::PathBuf;
use uuid::Uuid;

/// A written file, ready to stream.
#[derive(Debug)]
pub struct FileOut {
    /// Where it is (removed by whoever streams it).
    pub path: PathBuf,
    /// The name offered to the user.
    pub file_name: String,
    /// Its media type.
    pub content_type: &'static str,
    /// Data rows written (all sheets).
    pub rows: u64,
}

/// Media type of XLSX files.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Media type of CSV files.
pub const CSV: &str = "text/csv; charset=utf-8";

/// A fresh path for a temporary file.
pub fn temp_path(prefix: &str, ext: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("crm-customers");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{prefix}-{}.{ext}", Uuid::now_v7()))
}

/// A file being written: CSV, or XLSX with one or more sheets.
pub enum Sink {
    /// UTF-8 with a byte order mark, so Excel reads Chinese right; formula-leading text guarded.
    Csv(Box<CsvExport<BufWriter<std::fs::File>>>),
    /// A workbook and its current sheet.
    Xlsx(Box<XlsxExport>, Option<SheetId>),
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("writing the file: {e}"))
}

impl Sink {
    /// A new file at `path`.
    pub fn create(xlsx: bool, path: &std::path::Path) -> Result<Sink, Error> {
        if xlsx {
            let mut book = XlsxExport::new();
            if let Some(dir) = path.parent() {
                book.set_tempdir(dir).map_err(write_error)?;
            }
            return Ok(Sink::Xlsx(Box::new(book), None));
        }
        let file = std::fs::File::create(path).map_err(write_error)?;
        // Formula-leading text gets an apostrophe (CSV injection): exports and reports hold
        // whatever customers and uploaded files wrote. The importer strips it again.
        let opts = CsvExportOptions {
            bom: true,
            formula_guard: true,
            ..Default::default()
        };
        Ok(Sink::Csv(Box::new(
            CsvExport::new(BufWriter::new(file), &opts).map_err(write_error)?,
        )))
    }

    /// Starts a sheet (XLSX; a CSV file has one table, so only its first header is written).
    pub fn sheet(&mut self, name: &str, header: &[&str]) -> Result<(), Error> {
        match self {
            Sink::Csv(csv) => csv.write_header(header).map_err(write_error),
            Sink::Xlsx(book, current) => {
                let id = book.add_sheet(name).map_err(write_error)?;
                book.write_header(id, header).map_err(write_error)?;
                *current = Some(id);
                Ok(())
            }
        }
    }

    /// One row of the current sheet.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), Error> {
        match self {
            Sink::Csv(csv) => csv.write_row(cells).map_err(write_error),
            Sink::Xlsx(book, Some(id)) => book.write_row(*id, cells).map_err(write_error),
            Sink::Xlsx(_, None) => Err(write_error("a row before any sheet")),
        }
    }

    /// Completes the file at `path` (XLSX: compressed on a blocking thread).
    pub async fn finish(self, path: PathBuf) -> Result<(), Error> {
        match self {
            Sink::Csv(csv) => {
                use std::io::Write;
                let mut out = (*csv).finish().map_err(write_error)?;
                out.flush().map_err(write_error)
            }
            Sink::Xlsx(book, _) => tokio::task::spawn_blocking(move || book.save(&path))
                .await
                .map_err(write_error)?
                .map_err(write_error),
        }
    }
}

impl Customers {
    /// The report of an import: every reported row as it was in the file, then its outcome.
    pub async fn import_report(
        &self,
        principal: &Principal,
        id: Uuid,
        xlsx: bool,
    ) -> Result<FileOut, Error> {
        let job = self.get_import(principal, id).await?;
        let header: Vec<String> = serde_json::from_str(&job.header).unwrap_or_default();
        let mut columns: Vec<&str> = header.iter().map(String::as_str).collect();
        columns.extend(["outcome", "customer", "candidate", "field", "error"]);
        let path = temp_path("import-report", if xlsx { "xlsx" } else { "csv" });
        let mut sink = Sink::create(xlsx, &path)?;
        sink.sheet("Report", &columns)?;
        let (mut after, mut rows) = (0, 0u64);
        loop {
            let page: Vec<RowResult> = self
                .list_import_rows(principal, id, None, 1000, after)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.row_number;
            for r in &page {
                let cells: Vec<String> = serde_json::from_str(&r.cells).unwrap_or_default();
                let name = |id: Option<Uuid>| id.map(crate::domain::name_of).unwrap_or_default();
                let (customer, candidate) = (name(r.customer_id), name(r.candidate));
                let mut out: Vec<Cell<'_>> = (0..header.len())
                    .map(|i| cells.get(i).map_or(Cell::Empty, |c| Cell::Text(c)))
                    .collect();
                out.extend([
                    Cell::Text(&r.outcome),
                    Cell::Text(&customer),
                    Cell::Text(&candidate),
                    Cell::Text(&r.field),
                    Cell::Text(&r.error),
                ]);
                sink.row(&out)?;
                rows += 1;
            }
        }
        sink.finish(path.clone()).await?;
        let stem = import_name(id).replace('/', "-");
        Ok(FileOut {
            path,
            file_name: format!("{stem}-report.{}", if xlsx { "xlsx" } else { "csv" }),
            content_type: if xlsx { XLSX } else { CSV },
            rows,
        })
    }
}
