//! Ignored scale tests: 1,000,000 rows × 10 columns through each path.
//!
//! Run in release, one at a time so peak-RSS figures don't mix:
//! `cargo test --release --test tabular -- --ignored --nocapture --test-threads=1 scale::`
//! Each test resets the kernel's peak-RSS counter (`/proc/self/clear_refs`)
//! before the measured phase and reports VmHWM afterwards.

use std::fs::File;
use std::io::BufWriter;
use std::time::Instant;

use chrono::NaiveDate;
use crm_tabular::{
    Cell, CsvExport, CsvExportOptions, CsvOptions, XlsxExport, csv_rows, format_money, xlsx_rows,
};

use crate::common::{proc_status_kib, reset_peak_rss, temp_dir, temp_path};

const ROWS: usize = 1_000_000;
const HEADER: [&str; 10] = [
    "客户编号",
    "姓名",
    "手机号",
    "身份证号",
    "生日",
    "余额",
    "等级",
    "折扣",
    "VIP",
    "备注",
];

/// Deterministic row `i` as owned text plus the typed parts.
struct Sample {
    id: String,
    name: String,
    phone: String,
    id_card: String,
    birthday: NaiveDate,
    balance: i64,
    level: i64,
    rate: String,
    vip: bool,
    note: &'static str,
}

fn sample(i: usize) -> Sample {
    let base = NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
    Sample {
        id: format!("C{i:08}"),
        name: format!("客户{i}"),
        phone: format!("138{i:08}"),
        id_card: format!("110105{i:012}"),
        birthday: base + chrono::Duration::days((i % 20_000) as i64),
        balance: ((i * 37) % 10_000_000) as i64,
        level: (i % 100) as i64,
        rate: format!("{}.{:02}", i % 1000, i % 100),
        vip: i.is_multiple_of(2),
        note: if i.is_multiple_of(10) {
            "含,逗号 \"引号\"\n换行"
        } else {
            "普通备注"
        },
    }
}

fn cells(s: &Sample) -> [Cell<'_>; 10] {
    [
        Cell::Text(&s.id),
        Cell::Text(&s.name),
        Cell::Text(&s.phone),
        Cell::Text(&s.id_card),
        Cell::Date(s.birthday),
        Cell::Money {
            minor: s.balance,
            currency: "CNY",
        },
        Cell::Integer(s.level),
        Cell::Decimal(&s.rate),
        Cell::Bool(s.vip),
        Cell::Text(s.note),
    ]
}

struct Measure {
    start: Instant,
    rss_before_kib: u64,
}

fn begin() -> Measure {
    let reset = reset_peak_rss();
    let rss = proc_status_kib("VmRSS:").unwrap_or(0);
    if !reset {
        eprintln!("note: could not reset peak RSS; VmHWM covers the whole process");
    }
    Measure {
        start: Instant::now(),
        rss_before_kib: rss,
    }
}

fn report(what: &str, rows: usize, m: &Measure, extra: &str) {
    let secs = m.start.elapsed().as_secs_f64();
    let hwm = proc_status_kib("VmHWM:").unwrap_or(0);
    println!(
        "SCALE {what}: rows={rows} secs={secs:.2} rows_per_sec={:.0} peak_rss_mib={:.1} rss_before_mib={:.1} {extra}",
        rows as f64 / secs,
        hwm as f64 / 1024.0,
        m.rss_before_kib as f64 / 1024.0,
    );
}

fn file_mib(path: &std::path::Path) -> String {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    format!("file_mib={:.1}", len as f64 / 1_048_576.0)
}

#[test]
#[ignore = "scale test: run in release with --ignored --nocapture"]
fn scale_csv_1m() {
    let path = temp_path("scale.csv");
    let m = begin();
    let file = BufWriter::new(File::create(&path).expect("create"));
    let mut out = CsvExport::new(file, &CsvExportOptions::default()).expect("csv");
    out.write_header(&HEADER).expect("header");
    for i in 0..ROWS {
        out.write_row(&cells(&sample(i))).expect("row");
    }
    out.finish().expect("finish");
    report("csv_write", ROWS, &m, &file_mib(&path));

    let m = begin();
    let rows = csv_rows(File::open(&path).expect("open"), &CsvOptions::default()).expect("rows");
    let mut count = 0usize;
    let mut bytes = 0usize;
    for row in rows {
        let row = row.expect("row");
        if count > 0 && count.is_multiple_of(99_991) {
            let s = sample(count - 1);
            assert_eq!(row.cells[3], s.id_card);
            assert_eq!(row.cells[5], format_money(s.balance, "CNY").expect("money"));
            assert_eq!(row.cells[9], s.note);
        }
        bytes += row.cells.iter().map(String::len).sum::<usize>();
        count += 1;
    }
    assert_eq!(count, ROWS + 1);
    report("csv_read", ROWS, &m, &format!("cell_bytes={bytes}"));
    let _ = std::fs::remove_file(&path);
}

fn check_xlsx_row(cells: &[String], i: usize) {
    let s = sample(i);
    assert_eq!(cells[0], s.id);
    assert_eq!(cells[3], s.id_card);
    assert_eq!(cells[4], s.birthday.format("%Y-%m-%d").to_string());
    assert_eq!(cells[9], s.note);
}

#[test]
#[ignore = "scale test: run in release with --ignored --nocapture"]
fn scale_xlsx_1m() {
    let path = temp_path("scale.xlsx");
    let m = begin();
    let mut x = XlsxExport::new();
    x.set_tempdir(&temp_dir()).expect("tempdir");
    let sheet = x.add_sheet("客户").expect("sheet");
    x.write_header(sheet, &HEADER).expect("header");
    for i in 0..ROWS {
        x.write_row(sheet, &cells(&sample(i))).expect("row");
    }
    x.save(&path).expect("save");
    report("xlsx_write", ROWS, &m, &file_mib(&path));

    let m = begin();
    let mut count = 0usize;
    for row in xlsx_rows(&path, None).expect("open") {
        let row = row.expect("row");
        if count > 0 && count.is_multiple_of(99_991) {
            check_xlsx_row(&row.cells, count - 1);
        }
        count += 1;
    }
    assert_eq!(count, ROWS + 1);
    report("xlsx_read_inline_strings", ROWS, &m, "");
    let _ = std::fs::remove_file(&path);
}

/// Where the shared-string fixture goes; the child process writes it.
const SST_ENV: &str = "CRM_TABULAR_SST_FIXTURE";

/// Writes an XLSX file the way Excel stores text: in a shared-string table
/// (rust_xlsxwriter "low memory" mode keeps one). ~4.0M distinct strings.
/// Only does anything when run as the child of the test below, so the
/// writer's own memory never shows up in the reader's figures.
#[test]
#[ignore = "helper for scale_xlsx_shared_strings_1m"]
fn scale_sst_fixture() {
    let Some(path) = std::env::var_os(SST_ENV) else {
        return;
    };
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.set_tempdir(temp_dir()).expect("tempdir");
    let ws = wb.add_worksheet_with_low_memory().expect("sheet");
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("header");
    }
    for i in 0..ROWS {
        let s = sample(i);
        let r = (i + 1) as u32;
        for (c, text) in [
            (0u16, s.id.as_str()),
            (1, &s.name),
            (2, &s.phone),
            (3, &s.id_card),
            (9, s.note),
        ] {
            ws.write_string(r, c, text).expect("text");
        }
        let iso = s.birthday.format("%Y-%m-%d").to_string();
        ws.write_string(r, 4, iso).expect("date");
        ws.write_number(r, 5, s.balance as f64 / 100.0).expect("n");
        ws.write_number(r, 6, s.level as f64).expect("n");
        ws.write_string(r, 7, &s.rate).expect("rate");
        ws.write_boolean(r, 8, s.vip).expect("bool");
    }
    wb.save(std::path::PathBuf::from(path)).expect("save");
}

/// Reads a 1M-row workbook whose text is in a shared-string table, as
/// Excel-saved files are. calamine loads that table whole, so this is the
/// honest upper figure for XLSX read memory. The file is written by a
/// child process (this test binary running `scale_sst_fixture`).
#[test]
#[ignore = "scale test: run in release with --ignored --nocapture"]
fn scale_xlsx_shared_strings_1m() {
    let path = temp_path("scale-sst.xlsx");
    let exe = std::env::current_exe().expect("test binary");
    let status = std::process::Command::new(exe)
        .args(["--ignored", "--exact", "scale::scale_sst_fixture"])
        .env(SST_ENV, &path)
        .status()
        .expect("run fixture writer");
    assert!(status.success() && path.exists(), "fixture not written");
    let m = begin();
    let mut count = 0usize;
    for row in xlsx_rows(&path, None).expect("open") {
        let row = row.expect("row");
        if count > 0 && count.is_multiple_of(99_991) {
            check_xlsx_row(&row.cells, count - 1);
        }
        count += 1;
    }
    assert_eq!(count, ROWS + 1);
    report("xlsx_read_shared_strings", ROWS, &m, &file_mib(&path));
    let _ = std::fs::remove_file(&path);
}
