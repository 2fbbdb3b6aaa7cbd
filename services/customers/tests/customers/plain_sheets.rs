//! Everyday spreadsheets (issue 14): no kind and no source column, first and last names,
//! two phones, address parts, a national id. They import without extra columns, the same
//! columns update the customers again, and a bad cell fails its row naming the column.
use crm_customers::{
    bulk::import::{ImportOptions, MatchKey},
    contact_points::Address,
    service::{Customers, ListParams},
    store::{CustomerRow, MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use std::path::PathBuf;

crm_platform::backend_tests!(MIGRATIONS;
    a_plain_person_list_imports_without_extra_columns,
    names_with_a_legal_form_are_organisations,
    the_same_columns_update_and_bad_cells_name_their_column,
);

fn write(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::now_v7()));
    std::fs::write(&path, text).unwrap();
    path
}

async fn import(
    c: &Customers,
    options: ImportOptions,
    text: &str,
) -> crm_customers::bulk::ImportRow {
    let sys = Principal::system();
    let path = write(&options.file_name, text);
    let job = c.new_import(&sys, &options).await.unwrap();
    c.run_import(&sys, job.id, options, path).await.unwrap()
}

async fn all(c: &Customers) -> Vec<CustomerRow> {
    let params = ListParams {
        page_size: 100,
        order_by: "display_name".into(),
        ..Default::default()
    };
    c.list(&Principal::system(), &params).await.unwrap().0
}

async fn by_external(c: &Customers, external: &str) -> CustomerRow {
    all(c)
        .await
        .into_iter()
        .find(|r| r.external_id.as_deref() == Some(external))
        .unwrap_or_else(|| panic!("no customer {external}"))
}

async fn addresses(c: &Customers, id: uuid::Uuid) -> Vec<(bool, Address)> {
    c.list_contact_points(&Principal::system(), id)
        .await
        .unwrap()
        .iter()
        .filter_map(|p| Some((p.is_primary, p.address()?)))
        .collect()
}

const PEOPLE: &str = "First Name,Last Name,Phone,Mobile,Email,Street,City,State,Zip,Country,Customer ID,ID Number\n\
    Wei,Zhang,010 8888 1234,138 1234 5678,wei@example.com,88 Jianguo Road,Beijing,Beijing,100022,China,C-1,110105199001011232\n\
    Anna,Müller,+49 30 1234567,,anna@example.de,Hauptstraße 5,Berlin,,10115,DE,C-2,\n";

async fn a_plain_person_list_imports_without_extra_columns(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let options = ImportOptions {
        file_name: "people.csv".into(),
        ..Default::default()
    };
    let job = import(&c, options, PEOPLE).await;
    let failed = c
        .list_import_rows(&Principal::system(), job.id, Some("FAILED"), 10, 0)
        .await
        .unwrap();
    assert_eq!((job.created, job.failed), (2, 0), "{failed:?}");

    let wei = by_external(&c, "C-1").await;
    assert_eq!(wei.display_name, "Wei Zhang", "composed, given name first");
    assert_eq!(
        (wei.given_name.as_deref(), wei.family_name.as_deref()),
        (Some("Wei"), Some("Zhang"))
    );
    assert_eq!(wei.kind, "PERSON", "no kind column: a person");
    assert_eq!(wei.source.as_deref(), Some("import"), "the default source");
    assert_eq!(wei.phone.as_deref(), Some("+861088881234"));
    let points = c
        .list_contact_points(&Principal::system(), wei.id)
        .await
        .unwrap();
    let phones: Vec<&str> = points
        .iter()
        .filter(|p| p.kind == "PHONE")
        .map(|p| p.value.as_str())
        .collect();
    assert_eq!(phones, ["+8613812345678"], "the second phone column");
    let wei_addresses = addresses(&c, wei.id).await;
    assert_eq!(wei_addresses.len(), 1);
    let (primary, a) = &wei_addresses[0];
    assert!(primary);
    assert_eq!(a.lines, ["88 Jianguo Road"]);
    assert_eq!((a.city.as_str(), a.region.as_str()), ("Beijing", "Beijing"));
    assert_eq!(
        (a.postal_code.as_str(), a.country.as_str()),
        ("100022", "CN")
    );

    // The national id went through the vault: sealed at rest, readable unmasked, masked in the
    // history.
    let (_, secrets) = c
        .get_showing_sensitive(&Principal::system(), wei.id)
        .await
        .unwrap();
    assert_eq!(secrets.get("national_id"), Some("110105199001011232"));
    assert!(
        !wei.secrets
            .clone()
            .unwrap_or_default()
            .contains("110105199001011232")
    );
    let (history, _) = c
        .history(&Principal::system(), wei.id, &ListParams::default())
        .await
        .unwrap();
    let changes = &history.last().unwrap().changes;
    assert!(changes.contains("national_id"), "{changes}");
    assert!(!changes.contains("110105199001011232"), "{changes}");

    let anna = by_external(&c, "C-2").await;
    assert_eq!(anna.display_name, "Anna Müller");
    assert_eq!(addresses(&c, anna.id).await[0].1.country, "DE");

    // Name parts are filterable.
    let params = ListParams {
        filter: "family_name = \"Müller\"".into(),
        ..Default::default()
    };
    let found = c.list(&Principal::system(), &params).await.unwrap().0;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, anna.id);

    // Chinese headers and names: family name first, no space.
    let chinese = "姓,名,手机,地址,城市,邮编\n张,伟,139 0000 1111,建国路88号,北京,100022\n";
    let job = import(
        &c,
        ImportOptions {
            file_name: "客户.csv".into(),
            ..Default::default()
        },
        chinese,
    )
    .await;
    assert_eq!((job.created, job.failed), (1, 0), "{job:?}");
    let zhang = all(&c)
        .await
        .into_iter()
        .find(|r| r.phone.as_deref() == Some("+8613900001111"))
        .unwrap();
    assert_eq!(zhang.display_name, "张伟");
    let a = &addresses(&c, zhang.id).await[0].1;
    assert_eq!(a.country, "CN", "the configured default region");
}

async fn names_with_a_legal_form_are_organisations(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let text = "Name,Kind\nAcme GmbH,\n华信科技有限公司,\nWei Zhang,\nLimited Editions Ltd.,\nFoo Ltd,person\n";
    let job = import(
        &c,
        ImportOptions {
            file_name: "mixed.csv".into(),
            policy: "ALLOW".into(),
            ..Default::default()
        },
        text,
    )
    .await;
    assert_eq!((job.created, job.failed), (5, 0), "{job:?}");
    let kinds: Vec<(String, String)> = all(&c)
        .await
        .into_iter()
        .map(|r| (r.display_name, r.kind))
        .collect();
    for (name, kind) in [
        ("Acme GmbH", "ORGANIZATION"),
        ("华信科技有限公司", "ORGANIZATION"),
        ("Wei Zhang", "PERSON"),
        ("Limited Editions Ltd.", "ORGANIZATION"),
        ("Foo Ltd", "PERSON"),
    ] {
        assert!(
            kinds.contains(&(name.to_owned(), kind.to_owned())),
            "{name} should be {kind}: {kinds:?}"
        );
    }

    // The default kind applies to rows without a legal form; an explicit source too.
    let job = import(
        &c,
        ImportOptions {
            file_name: "orgs.csv".into(),
            default_kind: Some("ORGANIZATION".into()),
            default_source: Some("crm-old".into()),
            policy: "ALLOW".into(),
            ..Default::default()
        },
        "Name,ID\nBlue Harbour,B-1\n",
    )
    .await;
    assert_eq!(job.created, 1, "{job:?}");
    let blue = by_external(&c, "B-1").await;
    assert_eq!(
        (blue.kind.as_str(), blue.source.as_deref()),
        ("ORGANIZATION", Some("crm-old"))
    );
}

async fn the_same_columns_update_and_bad_cells_name_their_column(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let options = ImportOptions {
        file_name: "people.csv".into(),
        ..Default::default()
    };
    assert_eq!(import(&c, options.clone(), PEOPLE).await.created, 2);
    let moved = PEOPLE.replace("Hauptstraße 5,Berlin,,10115", "Marktplatz 1,Potsdam,,14467");
    let update = ImportOptions {
        match_key: MatchKey::ExternalId,
        ..options.clone()
    };
    let job = import(&c, update.clone(), &moved).await;
    assert_eq!((job.updated, job.created, job.failed), (2, 0, 0), "{job:?}");
    let wei = by_external(&c, "C-1").await;
    let points = c
        .list_contact_points(&Principal::system(), wei.id)
        .await
        .unwrap();
    assert_eq!(
        points.len(),
        2,
        "the same phone and address are not added twice: {points:?}"
    );
    let anna = by_external(&c, "C-2").await;
    let mut anna_addresses = addresses(&c, anna.id).await;
    anna_addresses.sort_by_key(|(primary, _)| !primary);
    assert_eq!(anna_addresses.len(), 2, "the old address is kept");
    assert_eq!(
        anna_addresses[0].1.city, "Potsdam",
        "the new one is primary"
    );
    assert!(anna_addresses[0].0 && !anna_addresses[1].0);

    // A dry run names the bad columns and writes nothing.
    let bad = "First Name,Last Name,Mobile,Country,Customer ID\n\
        Li,Na,not a phone,Atlantis,C-9\n";
    let dry = import(
        &c,
        ImportOptions {
            dry_run: true,
            ..update
        },
        bad,
    )
    .await;
    assert_eq!(dry.failed, 1, "{dry:?}");
    let rows = c
        .list_import_rows(&Principal::system(), dry.id, Some("FAILED"), 10, 0)
        .await
        .unwrap();
    assert_eq!(rows[0].field, "Mobile", "{:?}", rows[0]);
    assert!(rows[0].error.contains("Country: "), "{:?}", rows[0]);
    assert!(rows[0].error.contains("Atlantis"), "{:?}", rows[0]);
    assert_eq!(all(&c).await.len(), 2);
}
