//! The awkward values of issue 14 through both exports: text comes back exactly (from CSV
//! after the importer's `strip_formula_guard`), numbers stay numbers with their digits, and
//! only text that a spreadsheet would run is guarded.

use std::io::Cursor;

use crm_tabular::formula::FORMULA_START;
use crm_tabular::{
    Cell, CsvExport, CsvExportOptions, CsvOptions, XlsxExport, csv_rows, strip_formula_guard,
    xlsx_rows_from_reader,
};

use crate::common::collect_ok;

/// A 5,000-character note of CRLF-separated lines, with quotes, commas, delimiters of every
/// kind, emoji and formula text inside, ending in trailing spaces.
fn long_note() -> String {
    let mut note = String::new();
    let mut i = 0;
    while note.chars().count() < 5000 {
        note.push_str(&format!("第{i}行:\t\"q\", c; p| 😀 =1+1\r\n"));
        i += 1;
    }
    let mut note: String = note.chars().take(4997).collect();
    note.push_str("   ");
    note
}

fn awkward() -> Vec<String> {
    let mut values: Vec<String> = [
        "2/4",
        "007",
        "1E5",
        "TRUE",
        "12345678901234567890",
        "=1+1",
        "-0",
        "@SUM(1,2)",
        "+cmd|' /C calc'!A0",
        "'leading apostrophe",
        "'=1+1",
        "''@x",
        "'",
        "１２３",
        "👩‍👩‍👧‍👦 家 🏳️‍🌈",
        "trailing spaces   ",
        "   leading spaces",
        "\ttab first",
        "\rcarriage return first",
        "\r\nline break first and last\r\n",
        "123456789012345",
        "1234567.89012345",
        "-5",
        "_x000D_ is not an escape here",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    values.push(long_note());
    values
}

fn header(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("c{i}")).collect()
}

#[test]
fn awkward_text_comes_back_exactly_from_xlsx() {
    let values = awkward();
    let names = header(values.len());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cells: Vec<Cell<'_>> = values.iter().map(|v| Cell::Text(v)).collect();
    let mut x = XlsxExport::new();
    let s = x.add_sheet("awkward").expect("sheet");
    x.write_header(s, &names).expect("header");
    x.write_row(s, &cells).expect("row");
    let mut buf = Cursor::new(Vec::new());
    x.save_to_writer(&mut buf).expect("save");
    let rows =
        collect_ok(xlsx_rows_from_reader(Cursor::new(buf.into_inner()), None).expect("open"));
    assert_eq!(rows.len(), 2);
    for (got, want) in rows[1].cells.iter().zip(&values) {
        assert_eq!(got, want, "XLSX text is verbatim");
    }
    assert_eq!(rows[1].cells.len(), values.len());
}

#[test]
fn awkward_text_comes_back_exactly_from_csv_with_formulas_guarded() {
    let values = awkward();
    let names = header(values.len());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cells: Vec<Cell<'_>> = values.iter().map(|v| Cell::Text(v)).collect();
    let mut out = CsvExport::new(Vec::new(), &CsvExportOptions::default()).expect("csv");
    out.write_header(&names).expect("header");
    out.write_row(&cells).expect("row");
    let bytes = out.finish().expect("finish");
    let rows = collect_ok(csv_rows(&bytes[..], &CsvOptions::default()).expect("read"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].cells.len(), values.len());
    for (raw, want) in rows[1].cells.iter().zip(&values) {
        let runs = want.trim_start_matches('\'').starts_with(FORMULA_START);
        if runs {
            assert_eq!(*raw, format!("'{want}"), "guarded: {want:?}");
        } else {
            assert_eq!(raw, want, "not guarded");
        }
        assert_eq!(strip_formula_guard(raw), want.as_str(), "{want:?}");
    }
}

#[test]
fn numbers_stay_numbers_with_their_digits() {
    // (written, CSV text, XLSX text as read back)
    let cases: &[(Cell<'_>, &str, &str)] = &[
        (
            Cell::Decimal("1234567.89012345"),
            "1234567.89012345",
            "1234567.89012345",
        ),
        (Cell::Decimal("0.1"), "0.1", "0.1"),
        (Cell::Decimal("2.50"), "2.50", "2.5"),
        (Cell::Decimal("-5"), "-5", "-5"),
        (Cell::Decimal("-0"), "0", "0"),
        (
            Cell::Decimal("123456789012345"),
            "123456789012345",
            "123456789012345",
        ),
        // More digits than Excel keeps: text with every digit.
        (
            Cell::Decimal("12345678901234567890"),
            "12345678901234567890",
            "12345678901234567890",
        ),
        (Cell::Integer(-5), "-5", "-5"),
        (Cell::Integer(0), "0", "0"),
    ];
    let names = header(cases.len());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let cells: Vec<Cell<'_>> = cases.iter().map(|(c, _, _)| *c).collect();

    let mut out = CsvExport::new(Vec::new(), &CsvExportOptions::default()).expect("csv");
    out.write_header(&names).expect("header");
    out.write_row(&cells).expect("row");
    let bytes = out.finish().expect("finish");
    let rows = collect_ok(csv_rows(&bytes[..], &CsvOptions::default()).expect("read"));
    let csv: Vec<&str> = cases.iter().map(|(_, c, _)| *c).collect();
    assert_eq!(rows[1].cells, csv, "negative numbers are not guarded");

    let mut x = XlsxExport::new();
    let s = x.add_sheet("n").expect("sheet");
    x.write_header(s, &names).expect("header");
    x.write_row(s, &cells).expect("row");
    let mut buf = Cursor::new(Vec::new());
    x.save_to_writer(&mut buf).expect("save");
    let bytes = buf.into_inner();
    let rows = collect_ok(xlsx_rows_from_reader(Cursor::new(bytes.clone()), None).expect("open"));
    let xlsx: Vec<&str> = cases.iter().map(|(_, _, x)| *x).collect();
    assert_eq!(rows[1].cells, xlsx);

    // Numeric cells, except the one Excel cannot hold.
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("open");
    let range = calamine::Reader::worksheet_range(&mut book, "n").expect("sheet");
    let kinds: Vec<bool> = range
        .rows()
        .nth(1)
        .expect("row")
        .iter()
        .map(|c| matches!(c, calamine::Data::Float(_) | calamine::Data::Int(_)))
        .collect();
    assert_eq!(
        kinds,
        [true, true, true, true, true, true, false, true, true]
    );
}
