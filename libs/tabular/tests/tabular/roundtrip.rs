//! XLSX export → read back: every value must come back exactly.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::Xlsx;
use chrono::NaiveDate;
use crm_tabular::read::xlsx_rows_from_reader;
use crm_tabular::{Cell, ReadError, XlsxExport, open_path, xlsx_rows};

use crate::common::{cells, collect_ok, temp_path};

const TRICKY: [&str; 7] = [
    "2/4",
    "007",
    "0012",
    "110105199001011234",
    "6222021234567890123",
    "3.10",
    "=1+1",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn write_sample(path: &std::path::Path) {
    let mut x = XlsxExport::new();
    let sheet = x.add_sheet("客户").expect("sheet");
    x.write_header(sheet, &["a", "b", "c", "d", "e", "f", "g"])
        .expect("header");
    let texts: Vec<Cell<'_>> = TRICKY.iter().map(|s| Cell::Text(s)).collect();
    x.write_row(sheet, &texts).expect("text row");
    let dt = date(2024, 2, 4).and_hms_opt(10, 30, 0).expect("time");
    x.write_row(
        sheet,
        &[
            Cell::Date(date(2024, 2, 4)),
            Cell::Money {
                minor: 123_450,
                currency: "CNY",
            },
            Cell::Money {
                minor: 1234,
                currency: "JPY",
            },
            Cell::Integer(42),
            Cell::Decimal("0.1"),
            Cell::Bool(true),
            Cell::DateTime(dt),
        ],
    )
    .expect("typed row");
    x.write_row(
        sheet,
        &[
            Cell::Date(date(1900, 1, 15)),
            Cell::Date(date(1850, 6, 1)),
            Cell::Decimal("12345678901234567.89"),
            Cell::Integer(i64::MAX),
            Cell::Empty,
            Cell::Text(""),
            Cell::Money {
                minor: i64::MAX,
                currency: "CNY",
            },
        ],
    )
    .expect("edge row");
    x.save(path).expect("save");
}

#[test]
fn values_survive_an_xlsx_round_trip() {
    let path = temp_path("roundtrip.xlsx");
    write_sample(&path);
    let rows = collect_ok(xlsx_rows(&path, None).expect("open"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].number, 1);
    assert_eq!(rows[1].number, 2);
    assert_eq!(rows[1].cells, TRICKY);
    assert_eq!(
        cells(&rows)[2],
        [
            "2024-02-04",
            "1234.5",
            "1234",
            "42",
            "0.1",
            "true",
            "2024-02-04T10:30:00"
        ]
    );
    // Pre-1900 dates and numbers Excel can't hold exactly go out as text;
    // the empty cells leave a gap filled with "".
    assert_eq!(
        cells(&rows)[3],
        [
            "1900-01-15",
            "1850-06-01",
            "12345678901234567.89",
            "9223372036854775807",
            "",
            "",
            "92233720368547758.07 CNY"
        ]
    );
}

/// Style and formula facts read with calamine directly.
#[test]
fn text_cells_carry_the_text_format_and_are_not_formulas() {
    let path = temp_path("roundtrip-styles.xlsx");
    write_sample(&path);
    let mut wb: Xlsx<_> = calamine::open_workbook(&path).expect("open");
    let mut formats: HashMap<(u32, u32), String> = HashMap::new();
    {
        let mut reader = wb.worksheet_cells_reader("客户").expect("sheet");
        while let Some((cell, style)) = reader.next_cell_with_style_id().expect("cell") {
            let code = reader
                .styles()
                .get(style)
                .and_then(|s| s.number_format.as_ref())
                .map(|f| f.format_code.clone())
                .unwrap_or_default();
            formats.insert(cell.get_position(), code);
        }
    }
    for col in 0..TRICKY.len() as u32 {
        assert_eq!(
            formats.get(&(1, col)).map(String::as_str),
            Some("@"),
            "col {col}"
        );
    }
    assert_eq!(
        formats.get(&(0, 0)).map(String::as_str),
        Some("@"),
        "header"
    );
    assert_eq!(formats.get(&(2, 0)).map(String::as_str), Some("yyyy-mm-dd"));
    assert_eq!(
        formats.get(&(2, 1)).map(String::as_str),
        Some("\"¥\"#,##0.00")
    );
    assert_eq!(
        formats.get(&(2, 2)).map(String::as_str),
        Some("\"JP¥\"#,##0")
    );
    let mut reader = wb.worksheet_cells_reader("客户").expect("sheet");
    while let Some(rec) = reader.next_cell_with_formula().expect("cell") {
        assert!(rec.formula.is_none(), "unexpected formula at {:?}", rec.pos);
    }
}

#[test]
fn big_numeric_cells_are_errors_not_wrong_values() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "id").expect("write");
    ws.write_number(1, 0, 110_105_199_001_011_234.0)
        .expect("write");
    ws.write_number(2, 0, 123.25).expect("write");
    ws.write_number(3, 2, 7.0).expect("write");
    let bytes = wb.save_to_buffer().expect("save");
    let mut rows = xlsx_rows_from_reader(Cursor::new(bytes), None).expect("open");
    assert_eq!(
        rows.next().and_then(Result::ok).map(|r| r.cells),
        Some(vec!["id".into()])
    );
    match rows.next() {
        Some(Err(ReadError::Cell {
            row: 2,
            column: 0,
            message,
        })) => assert!(message.contains("too long to be a number"), "{message}"),
        other => panic!("expected a cell error, got {other:?}"),
    }
    // Iteration continues after a cell error.
    let rest = collect_ok(rows);
    assert_eq!(cells(&rest), vec![vec!["123.25"], vec!["", "", "7"]]);
    assert_eq!(rest[1].number, 4);
}

#[test]
fn sheets_by_name_and_missing_sheet_lists_names() {
    let path = temp_path("sheets.xlsx");
    let mut x = XlsxExport::new();
    let a = x.add_sheet("Leads").expect("a");
    let b = x.add_sheet("leads").expect("b");
    let c = x.add_sheet("VIP/重点").expect("c");
    assert_eq!(x.sheet_name(b), Some("leads (2)"));
    assert_eq!(x.sheet_name(c), Some("VIP_重点"));
    x.write_header(a, &["first"]).expect("h");
    x.write_header(b, &["second"]).expect("h");
    x.write_row(a, &[Cell::Text("a1")]).expect("row");
    x.write_row(b, &[Cell::Text("b1")]).expect("row");
    assert!(x.write_header(a, &["late"]).is_err());
    x.save(&path).expect("save");

    let rows = collect_ok(xlsx_rows(&path, Some("leads (2)")).expect("b"));
    assert_eq!(cells(&rows), vec![vec!["second"], vec!["b1"]]);
    let rows = collect_ok(xlsx_rows(&path, Some("LEADS")).expect("case-insensitive"));
    assert_eq!(cells(&rows), vec![vec!["first"], vec!["a1"]]);
    match xlsx_rows(&path, Some("Customers")) {
        Err(ReadError::SheetNotFound { available, .. }) => {
            assert_eq!(available, ["Leads", "leads (2)", "VIP_重点"]);
        }
        other => panic!("expected SheetNotFound, got {other:?}"),
    }
    let err = xlsx_rows(&path, Some("x"))
        .map(|_| ())
        .expect_err("missing");
    assert!(
        err.to_string().contains("Leads, leads (2), VIP_重点"),
        "{err}"
    );
    // open_path sniffs the zip signature.
    let rows = collect_ok(open_path(&path, &Default::default()).expect("open"));
    assert_eq!(rows.len(), 2);
}

#[test]
fn export_enforces_row_and_column_limits() {
    let mut x = XlsxExport::new();
    let s = x.add_sheet("s").expect("sheet");
    let wide = vec![Cell::Empty; 16_385];
    assert!(matches!(
        x.write_row(s, &wide),
        Err(crm_tabular::WriteError::TooManyColumns { .. })
    ));
    for _ in 0..1_048_576 {
        x.write_row(s, &[]).expect("row");
    }
    assert!(matches!(
        x.write_row(s, &[Cell::Text("one too many")]),
        Err(crm_tabular::WriteError::TooManyRows { .. })
    ));
    assert!(matches!(
        x.write_row(
            s,
            &[Cell::Money {
                minor: 1,
                currency: "XYZ"
            }]
        ),
        Err(crm_tabular::WriteError::TooManyRows { .. })
    ));
}

#[test]
fn unknown_currency_and_bad_decimal_are_errors() {
    let mut x = XlsxExport::new();
    let s = x.add_sheet("s").expect("sheet");
    assert!(matches!(
        x.write_row(
            s,
            &[Cell::Money {
                minor: 1,
                currency: "XYZ"
            }]
        ),
        Err(crm_tabular::WriteError::UnknownCurrency(_))
    ));
    assert!(matches!(
        x.write_row(s, &[Cell::Text("ok"), Cell::Decimal("1e5")]),
        Err(crm_tabular::WriteError::Cell { column: 2, .. })
    ));
    // Excel's 32,767-character cell limit: an error, never truncation.
    let long = "长".repeat(32_768);
    assert!(matches!(
        x.write_row(s, &[Cell::Text(&long)]),
        Err(crm_tabular::WriteError::Cell { column: 1, .. })
    ));
}

#[test]
fn legacy_xls_is_rejected_clearly() {
    let path = temp_path("old.xls");
    std::fs::write(
        &path,
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0],
    )
    .expect("write");
    let err = open_path(&path, &Default::default())
        .map(|_| ())
        .expect_err("xls");
    assert!(err.to_string().contains(".xlsx"), "{err}");
    let path = temp_path("fake.xlsx");
    std::fs::write(&path, "name,phone\n").expect("write");
    assert!(matches!(
        open_path(&path, &Default::default()),
        Err(ReadError::Xlsx(_))
    ));
}

#[test]
fn export_to_a_writer_and_read_from_memory() {
    let mut x = XlsxExport::new();
    x.set_compression_level(1);
    let s = x.add_sheet("内存").expect("sheet");
    x.write_header(s, &["编号", "金额"]).expect("header");
    x.write_row(
        s,
        &[
            Cell::Text("007"),
            Cell::Money {
                minor: -5,
                currency: "USD",
            },
        ],
    )
    .expect("row");
    let mut buf = Cursor::new(Vec::new());
    x.save_to_writer(&mut buf).expect("save");
    let rows =
        collect_ok(xlsx_rows_from_reader(Cursor::new(buf.into_inner()), None).expect("open"));
    assert_eq!(
        cells(&rows),
        vec![vec!["编号", "金额"], vec!["007", "-0.05"]]
    );
}

#[test]
fn empty_export_is_still_a_valid_workbook() {
    let path = temp_path("empty.xlsx");
    XlsxExport::new().save(&path).expect("save");
    let rows = collect_ok(xlsx_rows(&path, None).expect("open"));
    assert!(rows.is_empty());
}
