//! CSV export, read back with the crate's own reader.

use chrono::NaiveDate;
use crm_tabular::{Cell, CsvExport, CsvExportOptions, CsvOptions, csv_rows};

use crate::common::{cells, collect_ok};

#[test]
fn csv_export_is_rfc4180_with_bom_and_reads_back() {
    let mut out = CsvExport::new(Vec::new(), &CsvExportOptions::default()).expect("new");
    out.write_header(&["名称", "note", "date", "amount", "currency", "n", "ok"])
        .expect("header");
    let date = NaiveDate::from_ymd_opt(2024, 2, 4).expect("date");
    out.write_row(&[
        Cell::Text("Wang, \"Wei\""),
        Cell::Text("line1\nline2"),
        Cell::Date(date),
        Cell::Money {
            minor: 123_450,
            currency: "CNY",
        },
        Cell::Text("CNY"),
        Cell::Integer(7),
        Cell::Bool(false),
    ])
    .expect("row");
    out.write_row(&[
        Cell::Text("007"),
        Cell::Text("=1+1"),
        Cell::DateTime(date.and_hms_opt(10, 30, 0).expect("t")),
        Cell::Money {
            minor: 1234,
            currency: "JPY",
        },
        Cell::Text("JPY"),
        Cell::Decimal("1,234.50"),
        Cell::Empty,
    ])
    .expect("row");
    let bytes = out.finish().expect("finish");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).expect("utf8");
    assert!(
        text.contains("\"Wang, \"\"Wei\"\"\",\"line1\nline2\",2024-02-04,1234.50,CNY,7,false\r\n"),
        "{text}"
    );
    let rows = collect_ok(csv_rows(&bytes[..], &CsvOptions::default()).expect("read"));
    // The formula guard is on by default: the text reads back with its
    // apostrophe, which an importer strips again.
    assert_eq!(cells(&rows)[2][1], "'=1+1");
    assert_eq!(crm_tabular::strip_formula_guard(&rows[2].cells[1]), "=1+1");
    assert_eq!(
        cells(&rows)[2],
        [
            "007",
            "'=1+1",
            "2024-02-04T10:30:00",
            "1234",
            "JPY",
            "1234.50",
            ""
        ]
    );
}

#[test]
fn csv_export_options() {
    let opts = CsvExportOptions {
        delimiter: b';',
        bom: false,
        formula_guard: true,
    };
    let mut out = CsvExport::new(Vec::new(), &opts).expect("new");
    out.write_row(&[
        Cell::Text("=HYPERLINK(\"x\")"),
        Cell::Text("a;b"),
        Cell::Text("-5"),
    ])
    .expect("row");
    assert!(matches!(
        out.write_row(&[Cell::Money {
            minor: 1,
            currency: "XYZ"
        }]),
        Err(crm_tabular::WriteError::UnknownCurrency(_))
    ));
    assert!(out.write_header(&["late"]).is_err());
    let bytes = out.finish().expect("finish");
    assert_eq!(
        std::str::from_utf8(&bytes).expect("utf8"),
        "\"'=HYPERLINK(\"\"x\"\")\";\"a;b\";'-5\r\n"
    );
}
