//! Imports (CSV in GBK with Chinese headers, XLSX; dry run, upsert, duplicates, per-row
//! errors, reports) and exports (CSV, XLSX, a sheet per customer), with the Excel round trip:
//! "2/4", leading zeros and long ids survive an export and a re-import unchanged.
use crm_customers::{
    bulk::{
        export::ExportRequest,
        import::{ImportOptions, MatchKey},
    },
    custom_fields::NewDefinition,
    service::{Customers, ListParams},
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use std::path::PathBuf;

crm_platform::backend_tests!(MIGRATIONS;
    a_gbk_csv_imports_with_per_row_results_and_no_value_changed,
    an_xlsx_export_reimports_unchanged,
    a_cancelled_import_stops_after_its_batch,
    an_import_batch_is_one_event_and_every_row_keeps_its_history,
    a_row_like_one_of_the_batch_being_written_is_a_duplicate,
    an_import_batch_with_two_owners_is_one_event_per_owner,
);

/// Rows that name their owner: the batch's event is split by owner, so that each goes only to
/// who may read its customers.
async fn an_import_batch_with_two_owners_is_one_event_per_owner(db: Db) {
    use crm_proto::crm::customers::v1::CustomersImported;
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let owners = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    let mut text = String::from("name,owner_id\n");
    for i in 0..10 {
        text.push_str(&format!("Owned {i},{}\n", owners[i % 2]));
    }
    let path = write("owners.csv", text.as_bytes());
    let options = ImportOptions {
        file_name: "owners.csv".into(),
        policy: "ALLOW".into(),
        ..Default::default()
    };
    let done = import(&c, &sys, options, path).await;
    assert_eq!((done.created, done.failed), (10, 0));
    let events: Vec<_> = crate::outbox(&db)
        .await
        .into_iter()
        .filter(|e| e.r#type == "crm.customers.v1.customers.imported")
        .collect();
    assert_eq!(events.len(), 2);
    for (event, owner) in events.iter().zip(owners) {
        let readers = event.audience.as_ref().unwrap();
        assert_eq!(readers.owner, format!("users/{owner}"));
        let batch: CustomersImported = crm_platform::events::payload(event).unwrap();
        assert_eq!(batch.customers.len(), 5);
        assert!(
            batch
                .customers
                .iter()
                .all(|p| p.owner_id == owner.to_string())
        );
    }
}

/// A batch is checked while the one before it is still being written: a row that repeats a row
/// of that batch (not yet in the database) is still found, under BLOCK skipped, and one that
/// repeats a row two batches back (stored by then) too.
async fn a_row_like_one_of_the_batch_being_written_is_a_duplicate(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let mut text = String::from("name,email,phone\n");
    for i in 0..2600 {
        // Rows 1,500 and 2,500 repeat rows 10 and 20 (a batch and two batches back).
        let n = match i {
            1500 => 10,
            2500 => 20,
            n => n,
        };
        text.push_str(&format!(
            "Person Number{n},p{n}@example.com,+49 30 {:07}\n",
            1_000_000 + n
        ));
    }
    let path = write("carry.csv", text.as_bytes());
    let options = ImportOptions {
        file_name: "carry.csv".into(),
        policy: "BLOCK".into(),
        ..Default::default()
    };
    let done = import(&c, &sys, options, path).await;
    assert_eq!(
        (done.state.as_str(), done.created, done.skipped, done.failed),
        ("SUCCEEDED", 2598, 2, 0)
    );
    let skipped: Vec<i64> = c
        .list_import_rows(&sys, done.id, Some("SKIPPED_DUPLICATE"), 100, 0)
        .await
        .unwrap()
        .iter()
        .map(|r| r.row_number)
        .collect();
    assert_eq!(skipped, vec![1502, 2502], "file rows (after the header)");
}

/// One `customers.imported` event per batch of 1,000 rows, carrying the customers as stored;
/// no `customer.created` per row; every customer still has its CREATED history entry, with
/// the awkward text it was imported with.
async fn an_import_batch_is_one_event_and_every_row_keeps_its_history(db: Db) {
    use crm_proto::crm::customers::v1::CustomersImported;
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let mut text = String::from("name,phone,email,notes\n");
    for i in 0..2500 {
        text.push_str(&format!(
            "Kunde {i},+86 138 {i:04} {:04},k{i}@example.com,\"  “{i}”\t=1+1  \"\n",
            9999 - i
        ));
    }
    let path = write("events.csv", text.as_bytes());
    let options = ImportOptions {
        file_name: "events.csv".into(),
        policy: "ALLOW".into(),
        ..Default::default()
    };
    let done = import(&c, &sys, options, path).await;
    assert_eq!(
        (done.state.as_str(), done.created, done.failed),
        ("SUCCEEDED", 2500, 0)
    );
    let events = crate::outbox(&db).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.r#type == "crm.customers.v1.customer.created")
            .count(),
        0
    );
    let batches: Vec<CustomersImported> = events
        .iter()
        .filter(|e| e.r#type == "crm.customers.v1.customers.imported")
        .map(|e| {
            assert_eq!(e.subject, format!("customerImports/{}", done.id));
            crm_platform::events::payload(e).unwrap()
        })
        .collect();
    assert_eq!(
        batches
            .iter()
            .map(|b| b.customers.len())
            .collect::<Vec<_>>(),
        vec![1000, 1000, 500]
    );
    let (stored, _) = c
        .list(
            &sys,
            &ListParams {
                page_size: 1000,
                filter: "display_name = \"Kunde 2499\"".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let last = &stored[0];
    let in_event = batches[2]
        .customers
        .iter()
        .find(|p| p.name == format!("customers/{}", last.id))
        .expect("the last row's customer is in the last batch's event");
    assert_eq!(in_event.display_name, "Kunde 2499");
    assert_eq!(in_event.phone, "+8613824997500");
    assert_eq!(last.notes.as_deref(), Some("  “2499”\t=1+1  "));
    let (trail, _) = c
        .history(&sys, last.id, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, "CREATED");
    assert!(
        trail[0].changes.contains("Kunde 2499"),
        "{}",
        trail[0].changes
    );
}

async fn a_cancelled_import_stops_after_its_batch(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let mut text = String::from("name,kind\n");
    for i in 0..2500 {
        text.push_str(&format!("Customer {i},PERSON\n"));
    }
    let path = write("many.csv", text.as_bytes());
    let options = ImportOptions {
        file_name: "many.csv".into(),
        policy: "ALLOW".into(),
        ..Default::default()
    };
    let job = c.new_import(&sys, &options).await.unwrap();
    c.cancel_import(&sys, job.id).await.unwrap();
    let done = c.run_import(&sys, job.id, options, path).await.unwrap();
    assert_eq!(done.state, "CANCELLED");
    assert_eq!(
        done.rows_done, 1000,
        "the batch in progress is finished, then it stops"
    );
    let (stored, _) = c
        .list(
            &sys,
            &ListParams {
                page_size: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1000);
    let again = c.cancel_import(&sys, job.id).await;
    assert!(matches!(
        again,
        Err(crm_customers::error::Error::FailedPrecondition(_))
    ));
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::now_v7()));
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn import(
    c: &Customers,
    p: &Principal,
    options: ImportOptions,
    path: PathBuf,
) -> crm_customers::bulk::ImportRow {
    let job = c.new_import(p, &options).await.unwrap();
    c.run_import(p, job.id, options, path).await.unwrap()
}

fn customer_by<'a>(
    rows: &'a [crm_customers::store::CustomerRow],
    external: &str,
) -> &'a crm_customers::store::CustomerRow {
    rows.iter()
        .find(|r| r.external_id.as_deref() == Some(external))
        .unwrap_or_else(|| panic!("no customer {external}"))
}

async fn a_gbk_csv_imports_with_per_row_results_and_no_value_changed(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    c.create_definition(NewDefinition {
        key: "credit".into(),
        label: "Credit".into(),
        field_type: "NUMBER",
        required: false,
        choices: Vec::new(),
    })
    .await
    .unwrap();
    let text = "客户名称;类型;邮箱;手机号;外部编号;来源系统;出生日期;备注;custom_fields.credit;无用列\r\n\
        张伟;个人;zhang.wei@example.com;138 1234 5678;007;erp;1990-05-06;门牌 2/4;12.50;x\r\n\
        华信科技有限公司;企业;;;110105199001011234;erp;;;;\r\n\
        李娜;个人;not-an-email;;0012;erp;;;;\r\n\
        王芳;个人;;;0013;erp;03/04/2024;;;\r\n\
        Zhang Wei;个人;;+86 138-1234-5678;0014;erp;;;;\r\n\
        赵敏;;;;0015;erp;;;abc;\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let path = write("customers.csv", &gbk);
    let options = ImportOptions {
        file_name: "customers.csv".into(),
        policy: "BLOCK".into(),
        ..Default::default()
    };

    // A dry run reports everything a run would do (the file's own duplicates too) and writes
    // nothing.
    let dry = import(
        &c,
        &sys,
        ImportOptions {
            dry_run: true,
            ..options.clone()
        },
        path.clone(),
    )
    .await;
    assert_eq!(dry.state, "SUCCEEDED", "{dry:?}");
    assert_eq!(
        (dry.rows_total, dry.created, dry.skipped, dry.failed),
        (6, 2, 1, 3),
        "{dry:?}"
    );
    assert_eq!(
        dry.detected_encoding, "gb18030",
        "GBK, read as its superset"
    );
    assert_eq!(dry.detected_delimiter, ";");
    assert!(
        c.list(&sys, &ListParams::default())
            .await
            .unwrap()
            .0
            .is_empty()
    );

    let job = import(&c, &sys, options.clone(), path.clone()).await;
    assert_eq!(job.state, "SUCCEEDED", "{job:?}");
    assert_eq!(
        (job.rows_done, job.created, job.skipped, job.failed),
        (6, 2, 1, 3),
        "{job:?}"
    );
    assert_eq!(job.unmapped, r#"["无用列"]"#);
    let rows = c
        .list_import_rows(&sys, job.id, None, 100, 0)
        .await
        .unwrap();
    let at = |n: i64| rows.iter().find(|r| r.row_number == n).unwrap();
    assert_eq!(
        (at(4).outcome.as_str(), at(4).field.as_str()),
        ("FAILED", "邮箱")
    );
    assert_eq!(
        (at(5).outcome.as_str(), at(5).field.as_str()),
        ("FAILED", "出生日期"),
        "{:?}",
        at(5)
    );
    assert_eq!(at(6).outcome, "SKIPPED_DUPLICATE");
    assert!(at(6).error.contains("same phone"), "{:?}", at(6));
    // No kind and no default: a person (no legal form in the name); the row fails only for
    // its bad number.
    assert_eq!(
        (at(7).outcome.as_str(), at(7).field.as_str()),
        ("FAILED", "custom_fields.credit"),
        "{:?}",
        at(7)
    );
    assert!(at(7).error.contains("not a number"), "{:?}", at(7));
    assert_eq!(
        at(4).cells,
        r#"["李娜","个人","not-an-email","","0012","erp","","","",""]"#
    );

    let (stored, _) = c.list(&sys, &ListParams::default()).await.unwrap();
    let zhang = customer_by(&stored, "007");
    assert_eq!(zhang.display_name, "张伟");
    assert_eq!(zhang.phone.as_deref(), Some("+8613812345678"));
    assert_eq!(zhang.birth_date.as_deref(), Some("1990-05-06"));
    assert_eq!(zhang.notes.as_deref(), Some("门牌 2/4"), "text stays text");
    assert_eq!(zhang.custom_fields, r#"{"credit":12.5}"#);
    assert_eq!(
        customer_by(&stored, "110105199001011234").kind,
        "ORGANIZATION"
    );

    // The report has each reported row as it was, then its outcome.
    let report = c.import_report(&sys, job.id, false).await.unwrap();
    let text = std::fs::read_to_string(&report.path).unwrap();
    std::fs::remove_file(&report.path).unwrap();
    assert!(text.starts_with('\u{feff}'), "Excel needs the BOM");
    assert!(
        text.contains("李娜,个人,not-an-email,,0012,erp,,,,,FAILED,,,邮箱,"),
        "{text}"
    );
    assert_eq!(report.rows, 4);

    // Matching by external id updates (only the mapped fields); a default kind fills blanks.
    let again = ImportOptions {
        match_key: MatchKey::ExternalId,
        default_kind: Some("PERSON".into()),
        policy: "ALLOW".into(),
        ..options
    };
    let second = import(&c, &sys, again, path).await;
    assert_eq!(
        (second.updated, second.created, second.failed),
        (2, 1, 3),
        "{second:?}"
    );
    let (stored, _) = c.list(&sys, &ListParams::default()).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(customer_by(&stored, "007").version, zhang.version + 1);
}

async fn an_xlsx_export_reimports_unchanged(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let text = "name,kind,phone,external_id,source,notes,birth_date,tags\n\
        Acme,ORGANIZATION,010-8888 6666,6222021234567890123,erp,2/4,,vip;b2b\n\
        Acme,ORGANIZATION,,00042,erp,=1+1,,\n\
        \"Bob: [test]\",PERSON,,110105199001011234,erp,3.10,2000-02-29,\n";
    let path = write("seed.csv", text.as_bytes());
    let seeded = import(
        &c,
        &sys,
        ImportOptions {
            file_name: "seed.csv".into(),
            policy: "ALLOW".into(),
            ..Default::default()
        },
        path,
    )
    .await;
    assert_eq!(seeded.created, 3, "{seeded:?}");

    let out = c
        .export(
            &sys,
            &ExportRequest {
                xlsx: true,
                order_by: "display_name".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out.rows, 3);
    let rows: Vec<Vec<String>> = crm_tabular::xlsx_rows(&out.path, None)
        .unwrap()
        .map(|r| r.unwrap().cells)
        .collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let find = |ext: &str| rows.iter().find(|r| r[col("external_id")] == ext).unwrap();
    assert_eq!(find("6222021234567890123")[col("notes")], "2/4");
    assert_eq!(find("6222021234567890123")[col("phone")], "+861088886666");
    assert_eq!(find("00042")[col("notes")], "=1+1");
    assert_eq!(find("110105199001011234")[col("notes")], "3.10");
    assert_eq!(find("110105199001011234")[col("birth_date")], "2000-02-29");
    assert_eq!(find("6222021234567890123")[col("tags")], "vip;b2b");

    // Re-imported as an update of the same customers: nothing changes.
    let (before, _) = c.list(&sys, &ListParams::default()).await.unwrap();
    let reimport = ImportOptions {
        file_name: "export.xlsx".into(),
        match_key: MatchKey::ExternalId,
        mapping: [
            ("name".to_owned(), String::new()),
            ("create_time".to_owned(), String::new()),
            ("update_time".to_owned(), String::new()),
            ("lifecycle_stage".to_owned(), String::new()),
            ("value_tier".to_owned(), String::new()),
            ("lifetime_value_minor".to_owned(), String::new()),
            ("national_id".to_owned(), String::new()),
            ("bank_account".to_owned(), String::new()),
        ]
        .into(),
        ..Default::default()
    };
    let job = import(&c, &sys, reimport, out.path.clone()).await;
    assert_eq!(
        (job.updated, job.failed),
        (3, 0),
        "{job:?}: {:?}",
        c.list_import_rows(&sys, job.id, None, 10, 0).await
    );
    let (after, _) = c.list(&sys, &ListParams::default()).await.unwrap();
    for b in &before {
        let a = after.iter().find(|a| a.id == b.id).unwrap();
        assert_eq!(a.field_values(), b.field_values(), "{}", b.display_name);
    }
    std::fs::remove_file(&out.path).unwrap();

    // One sheet per customer: valid, unique tab names.
    let out = c
        .export(
            &sys,
            &ExportRequest {
                xlsx: true,
                sheet_per_customer: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let book: calamine::Xlsx<_> = calamine::open_workbook(&out.path).unwrap();
    let mut names = calamine::Reader::sheet_names(&book);
    names.sort();
    assert!(names.contains(&"Acme".to_owned()), "{names:?}");
    assert_eq!(names.len(), 3);
    assert!(
        names
            .iter()
            .all(|n| !n.contains(['[', ']', ':']) && n.chars().count() <= 31),
        "{names:?}"
    );
    let unique: std::collections::HashSet<_> = names.iter().map(|n| n.to_lowercase()).collect();
    assert_eq!(unique.len(), 3);
    std::fs::remove_file(&out.path).unwrap();
    let csv = c
        .export(
            &sys,
            &ExportRequest {
                sheet_per_customer: true,
                ..Default::default()
            },
        )
        .await;
    assert!(csv.is_err(), "a sheet per customer needs XLSX");
}
