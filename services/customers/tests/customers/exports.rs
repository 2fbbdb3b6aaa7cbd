//! Exports that lose nothing (issue 14): customers with the awkward values ("2/4", "007",
//! "1E5", "TRUE", 20-digit numbers, "=1+1", "-0", "@SUM(1,2)", leading apostrophes,
//! full-width digits, emoji with ZWJ sequences, a 5,000-character note with CRLF inside,
//! trailing spaces, numbers with 15 significant digits) and every custom field type are
//! created through the API's checks, exported, and imported again as updates of themselves:
//! every stored value comes back exactly. XLSX cells carry their types (numbers, dates, flags,
//! text that is never a formula); CSV text that a spreadsheet would run gets one apostrophe,
//! which the importer strips again.
use calamine::{Data, Reader};
use crm_customers::{
    bulk::{
        export::ExportRequest,
        import::{ImportOptions, MatchKey},
    },
    custom_fields::NewDefinition,
    domain::Kind,
    service::{Created, Customers, ListParams},
    store::{CustomerRow, MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use crm_proto::crm::customers::v1::{Customer, customer};
use pbjson_types::Value as ProtoValue;

crm_platform::backend_tests!(MIGRATIONS;
    every_value_survives_an_xlsx_export_and_reimport,
    every_value_survives_a_csv_export_and_reimport,
    a_whole_number_stored_as_a_double_is_exported_with_its_digits,
);

/// Text that spreadsheets and careless code like to change.
const TEXTS: &[&str] = &[
    "2/4",
    "007",
    "1E5",
    "TRUE",
    "12345678901234567890",
    "=1+1",
    "-0",
    "@SUM(1,2)",
    "'leading apostrophe",
    "'=1+1",
    "''+1",
    "１２３",
    "👩‍👩‍👧‍👦 家 🏳️‍🌈",
    "trailing spaces   ",
    "   leading spaces",
    "123456789012345",
    "-5",
    "+cmd|' /C calc'!A0",
];

/// NUMBER values, and whether Excel holds them exactly (at most 15 significant digits): those
/// must be numeric cells in XLSX, the others go out as their full digits in text cells.
const NUMBERS: &[(f64, bool)] = &[
    (1234567.89012345, true),
    (0.1, true),
    (2.5, true), // "2.50": a double has no trailing zeros
    (-5.0, true),
    (-0.0, true),
    (123456789012345.0, true),
    (0.30000000000000004, false),
    (1e20, false),
    // The double nearest 12345678901234567890, all a NUMBER field can hold of it.
    (1.2345678901234567e19, false),
    (9007199254740991.0, false),
    (-1234.5, true),
    (0.0000001, true),
];

/// Whole numbers for a NUMBER field used as an integer.
const INTEGERS: &[f64] = &[0.0, 7.0, -5.0, 5.0, 1_000_000.0, 8_999_999_999_999_999.0];

/// DATE values, around Excel's 1900 leap-year bug and outside its range.
const DATES: &[&str] = &[
    "2024-02-29",
    "1850-06-01",
    "1900-02-28",
    "1900-03-01",
    "9999-12-31",
];

/// A 5,000-character note: CRLF-separated lines with quotes, commas, CJK, emoji and formula
/// text, ending in trailing spaces.
fn long_note() -> String {
    let mut note = String::new();
    let mut i = 0;
    while note.chars().count() < 5000 {
        note.push_str(&format!("第{i}行: \"quoted\", commas; 😀 =1+1\r\n"));
        i += 1;
    }
    let mut note: String = note.chars().take(4997).collect();
    note.push_str("   ");
    assert_eq!(note.chars().count(), 5000);
    note
}

fn define(key: &str, ty: &'static str, choices: &[&str]) -> NewDefinition {
    NewDefinition {
        key: key.into(),
        label: key.into(),
        field_type: ty,
        required: false,
        choices: choices.iter().map(|c| c.to_string()).collect(),
    }
}

/// The custom fields, one of each type (NUMBER twice: decimals and whole numbers).
async fn define_all(c: &Customers) {
    for def in [
        define("t", "TEXT", &[]),
        define("n", "NUMBER", &[]),
        define("i", "NUMBER", &[]),
        define("d", "DATE", &[]),
        define("b", "BOOL", &[]),
        define("s", "SINGLE_CHOICE", &["gold", "=1+1", "-0"]),
        define("m", "MULTI_CHOICE", &["a", "b c", "@x"]),
    ] {
        c.create_definition(def).await.unwrap();
    }
}

/// The external id of sample `k`.
fn ext(k: usize) -> String {
    format!("aw-{k:02}")
}

/// Sample `k` as an API caller would send it.
fn sample(k: usize) -> Customer {
    let text = |offset: usize| TEXTS[(k + offset) % TEXTS.len()].to_owned();
    let notes = match k {
        0 => long_note(),
        1 => "\t=cmd|' /C calc'!A0".to_owned(),
        2 => "\r\nstarts with a line break, ends with one\r\n".to_owned(),
        _ => text(0),
    };
    let t = match k {
        0 => "line one  \r\n  line two\r\n".repeat(40),
        _ => text(2),
    };
    let multi: Vec<ProtoValue> = match k % 3 {
        0 => vec![],
        1 => vec!["a".into()],
        _ => vec!["@x".into(), "b c".into()],
    };
    let mut fields = vec![
        ("t".to_owned(), ProtoValue::from(t)),
        ("n".to_owned(), NUMBERS[k % NUMBERS.len()].0.into()),
        ("i".to_owned(), INTEGERS[k % INTEGERS.len()].into()),
        ("d".to_owned(), DATES[k % DATES.len()].into()),
        ("b".to_owned(), (k.is_multiple_of(2)).into()),
        ("s".to_owned(), ["gold", "=1+1", "-0"][k % 3].into()),
    ];
    if !multi.is_empty() {
        fields.push(("m".to_owned(), multi.into()));
    }
    Customer {
        display_name: text(0),
        kind: customer::Kind::Person as i32,
        phone: if k == 0 {
            "+86 138 1234 5678".into()
        } else {
            String::new()
        },
        legal_name: text(1),
        region: text(3),
        external_id: ext(k),
        source: "erp".into(),
        notes,
        custom_fields: Some(fields.into_iter().collect()),
        ..Default::default()
    }
}

/// Creates every sample through the API's checks; checks text is stored exactly as sent.
async fn create_samples(c: &Customers, p: &Principal) -> usize {
    let count = TEXTS.len();
    for k in 0..count {
        let sent = sample(k);
        let new = crm_customers::api::parse_new_customer(&sent)
            .unwrap_or_else(|v| panic!("sample {k}: {v:?}"));
        let Created::New(row) = c.create(p, new, None, |_| Vec::new()).await.unwrap() else {
            panic!("no replay without a request id");
        };
        assert_eq!(row.display_name, sent.display_name, "sample {k}");
        assert_eq!(row.legal_name.as_deref(), Some(sent.legal_name.as_str()));
        assert_eq!(row.region.as_deref(), Some(sent.region.as_str()));
        assert_eq!(
            row.notes.as_deref(),
            Some(sent.notes.as_str()),
            "sample {k}"
        );
    }
    count
}

async fn all(c: &Customers, p: &Principal) -> Vec<CustomerRow> {
    let params = ListParams {
        page_size: 1000,
        ..Default::default()
    };
    c.list(p, &params).await.unwrap().0
}

/// Imports the export at `path` as updates of the customers it came from, and checks that
/// nothing changed.
async fn reimport(c: &Customers, p: &Principal, path: std::path::PathBuf, file_name: &str) {
    let before = all(c, p).await;
    // Output-only columns (and the resource name, which "name" would map to display_name)
    // are not imported.
    let ignored = [
        "name",
        "create_time",
        "update_time",
        "lifecycle_stage",
        "value_tier",
        "lifetime_value_minor",
        "national_id",
        "bank_account",
    ];
    let options = ImportOptions {
        file_name: file_name.into(),
        match_key: MatchKey::ExternalId,
        policy: "ALLOW".into(),
        mapping: ignored
            .iter()
            .map(|h| (h.to_string(), String::new()))
            .collect(),
        ..Default::default()
    };
    let job = c.new_import(p, &options).await.unwrap();
    let job = c.run_import(p, job.id, options, path).await.unwrap();
    assert_eq!(
        (job.state.as_str(), job.updated, job.failed, job.created),
        ("SUCCEEDED", before.len() as i64, 0, 0),
        "{job:?}: {:?}",
        c.list_import_rows(p, job.id, None, 100, 0).await
    );
    let after = all(c, p).await;
    assert_eq!(after.len(), before.len());
    for b in &before {
        let a = after.iter().find(|a| a.id == b.id).unwrap();
        assert_eq!(a.field_values(), b.field_values(), "{:?}", b.external_id);
        assert_eq!(a.custom_fields, b.custom_fields, "{:?}", b.external_id);
    }
}

async fn export(c: &Customers, p: &Principal, xlsx: bool) -> std::path::PathBuf {
    let out = c
        .export(
            p,
            &ExportRequest {
                xlsx,
                order_by: "create_time".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    out.path
}

async fn every_value_survives_an_xlsx_export_and_reimport(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    define_all(&c).await;
    let count = create_samples(&c, &sys).await;
    let path = export(&c, &sys, true).await;

    // The cells' types, as Excel sees them.
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let range = book.worksheet_range("Customers").unwrap();
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|h| h.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut seen = 0;
    for row in rows {
        let k = (0..count)
            .find(|k| row[col("external_id")] == Data::String(ext(*k)))
            .unwrap();
        seen += 1;
        let sent = sample(k);
        assert_eq!(
            row[col("notes")],
            Data::String(sent.notes.clone()),
            "text as text, never a formula"
        );
        assert_eq!(row[col("display_name")], Data::String(sent.display_name));
        let (n, exact) = NUMBERS[k % NUMBERS.len()];
        if exact {
            assert_eq!(row[col("custom_fields.n")], Data::Float(n), "sample {k}");
        } else {
            assert!(
                matches!(&row[col("custom_fields.n")], Data::String(s) if s.parse::<f64>() == Ok(n)),
                "more digits than Excel keeps: text with every digit, sample {k}: {:?}",
                row[col("custom_fields.n")]
            );
        }
        let i = INTEGERS[k % INTEGERS.len()];
        if i.abs() < 1e15 {
            assert_eq!(row[col("custom_fields.i")], Data::Float(i), "sample {k}");
        }
        if DATES[k % DATES.len()] >= "1900" {
            assert!(
                matches!(row[col("custom_fields.d")], Data::DateTime(_)),
                "a date cell: {:?}",
                row[col("custom_fields.d")]
            );
        }
        assert_eq!(row[col("custom_fields.b")], Data::Bool(k.is_multiple_of(2)));
    }
    assert_eq!(seen, count);
    let formulas = book.worksheet_formula("Customers").unwrap();
    assert_eq!(formulas.used_cells().count(), 0, "no cell is a formula");
    drop(book);

    reimport(&c, &sys, path.clone(), "export.xlsx").await;
    std::fs::remove_file(&path).unwrap();
}

async fn every_value_survives_a_csv_export_and_reimport(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    define_all(&c).await;
    let count = create_samples(&c, &sys).await;
    let path = export(&c, &sys, false).await;

    // Text that a spreadsheet would run carries one apostrophe; numbers never do.
    let file = std::fs::File::open(&path).unwrap();
    let mut rows = crm_tabular::csv_rows(file, &Default::default()).unwrap();
    let header = rows.next().unwrap().unwrap().cells;
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut seen = 0;
    for row in rows {
        let cells = row.unwrap().cells;
        let k = (0..count)
            .find(|k| cells[col("external_id")] == ext(*k))
            .unwrap();
        seen += 1;
        let sent = sample(k);
        let name = &cells[col("display_name")];
        let formula = sent
            .display_name
            .trim_start_matches('\'')
            .starts_with(['=', '+', '-', '@', '\t', '\r']);
        if formula {
            assert_eq!(*name, format!("'{}", sent.display_name), "guarded");
        } else {
            assert_eq!(*name, sent.display_name, "unchanged");
        }
        assert_eq!(crm_tabular::strip_formula_guard(name), sent.display_name);
        let (n, _) = NUMBERS[k % NUMBERS.len()];
        let n_cell = &cells[col("custom_fields.n")];
        assert_eq!(n_cell.parse::<f64>(), Ok(n), "a plain number: {n_cell:?}");
        assert!(!n_cell.starts_with('\''), "numbers are never guarded");
        assert_eq!(cells[col("custom_fields.d")], DATES[k % DATES.len()]);
        assert_eq!(
            cells[col("custom_fields.b")],
            if k.is_multiple_of(2) { "true" } else { "false" }
        );
    }
    assert_eq!(seen, count);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(",-5,"), "a negative number stays a number");
    assert!(text.contains("'=1+1"), "formula text is guarded");

    reimport(&c, &sys, path.clone(), "export.csv").await;
    std::fs::remove_file(&path).unwrap();
}

/// Imports once stored every number as a double, whole ones too ("5.0"); such values were
/// exported as empty cells. They come out with their digits, in both formats.
async fn a_whole_number_stored_as_a_double_is_exported_with_its_digits(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    c.create_definition(define("n", "NUMBER", &[]))
        .await
        .unwrap();
    c.create_definition(define("m", "NUMBER", &[]))
        .await
        .unwrap();
    let id = crate::new_customer(&c, &sys, "Double", Kind::Person).await;
    crm_platform::with_pool!(&db, |pool| sqlx::query(
        "UPDATE customers SET custom_fields = $1 WHERE id = $2"
    )
    .bind(r#"{"m":1234567.89012345,"n":5.0}"#)
    .bind(id)
    .execute(pool)
    .await
    .unwrap()
    .rows_affected());
    for xlsx in [true, false] {
        let path = export(&c, &sys, xlsx).await;
        let rows: Vec<Vec<String>> = if xlsx {
            crm_tabular::xlsx_rows(&path, None)
                .unwrap()
                .map(|r| r.unwrap().cells)
                .collect()
        } else {
            let file = std::fs::File::open(&path).unwrap();
            crm_tabular::csv_rows(file, &Default::default())
                .unwrap()
                .map(|r| r.unwrap().cells)
                .collect()
        };
        std::fs::remove_file(&path).unwrap();
        let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[1][col("custom_fields.n")], "5", "xlsx: {xlsx}");
        assert_eq!(
            rows[1][col("custom_fields.m")],
            "1234567.89012345",
            "xlsx: {xlsx}"
        );
    }
}
