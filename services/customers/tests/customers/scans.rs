//! Duplicate scans: clusters and pairs over everything in scope, review decisions remembered.
use crm_customers::{
    domain::{DisplayName, Email, Kind, Phone},
    duplicates::Policy,
    error::Error,
    service::{Created, Customers, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    a_scan_clusters_duplicates_and_remembers_reviews,
);

fn user(unit: &str) -> Principal {
    let id = Uuid::now_v7();
    Principal {
        subject: Subject::User(id),
        unit_path: unit.into(),
        scopes: [("customers".to_owned(), DataScope::Own(id))].into(),
        ..Principal::system()
    }
}

async fn add(
    c: &Customers,
    p: &Principal,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Uuid {
    let new = NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind: Kind::Person,
        email: email.map(|e| Email::parse(e).unwrap()),
        phone: phone.map(|p| Phone::parse(p).unwrap()),
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    match c
        .create_checked(p, new, Policy::Allow, None, |_, _| Vec::new())
        .await
        .unwrap()
        .0
    {
        Created::New(row) => row.id,
        Created::Replayed(_) => unreachable!("no request id"),
    }
}

async fn a_scan_clusters_duplicates_and_remembers_reviews(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let (ann, bob) = (user("/g/east/"), user("/g/west/"));
    let zhang = add(&c, &ann, "张伟", None, Some("13812345678")).await;
    let twin = add(&c, &ann, "Zhang Wei", None, Some("+86 138 1234 5678")).await;
    let triple = add(
        &c,
        &ann,
        "ZHANG Wei",
        Some("zw@example.com"),
        Some("138-1234-5678"),
    )
    .await;
    let maria = add(
        &c,
        &ann,
        "Maria Schmidt",
        Some("maria@schmidt.example"),
        None,
    )
    .await;
    let maria2 = add(
        &c,
        &ann,
        "Maria Schmitt",
        Some("maria@schmidt.example"),
        None,
    )
    .await;
    for name in ["Olga Petrova", "Kenji Watanabe", "李娜"] {
        add(&c, &ann, name, None, None).await;
    }
    // Bob's customer duplicates Ann's, but Ann's scan does not reach it.
    add(&c, &bob, "Zhang Wei", None, Some("13812345678")).await;

    let scan = c.new_scan(&ann).await.unwrap();
    let done = c.run_scan(&ann, scan.id).await.unwrap();
    assert_eq!(done.state, "SUCCEEDED");
    assert_eq!(done.customers_scanned, 8, "Ann's customers only");
    assert_eq!(done.clusters, 2, "{done:?}");
    assert_eq!(done.duplicate_pairs, 3 + 1, "{done:?}");
    let pairs = c
        .list_pairs(&ann, scan.id, None, false, 100, 0)
        .await
        .unwrap();
    let ids = |p: &crm_customers::scan::PairRow| {
        let mut v = [p.customer_a, p.customer_b];
        v.sort();
        v
    };
    let mut zhangs = [zhang, twin, triple];
    zhangs.sort();
    let first = &pairs[0];
    assert_eq!(first.level, "DUPLICATE");
    assert!(first.reasons.iter().any(|r| r == "same phone"), "{first:?}");
    assert!(!first.names.0.is_empty());
    let cluster_of = |a: Uuid, b: Uuid| {
        pairs
            .iter()
            .find(|p| {
                ids(p) == {
                    let mut v = [a, b];
                    v.sort();
                    v
                }
            })
            .map(|p| p.cluster)
    };
    assert!(cluster_of(zhang, twin).is_some_and(|k| k > 0));
    assert_eq!(cluster_of(zhang, twin), cluster_of(twin, triple));
    assert!(cluster_of(maria, maria2).is_some_and(|k| k > 0));
    assert_ne!(cluster_of(zhang, twin), cluster_of(maria, maria2));
    assert!(
        pairs
            .iter()
            .all(|p| zhangs.contains(&p.customer_a) || [maria, maria2].contains(&p.customer_a))
    );
    // Paging by position covers every pair once.
    let page = c
        .list_pairs(&ann, scan.id, None, false, 2, 0)
        .await
        .unwrap();
    let rest = c
        .list_pairs(&ann, scan.id, None, false, 100, page[1].position)
        .await
        .unwrap();
    assert_eq!(page.len() + rest.len(), pairs.len());

    // The pairs as a file, in listing order.
    let out = c.export_pairs(&ann, scan.id, false).await.unwrap();
    let text = std::fs::read_to_string(&out.path).unwrap();
    std::fs::remove_file(&out.path).unwrap();
    assert_eq!(out.rows as usize, pairs.len());
    assert!(
        text.contains("same phone") && text.contains("display_name_a"),
        "{text}"
    );

    // Bob may not read Ann's scan.
    assert!(matches!(
        c.get_scan(&bob, scan.id).await,
        Err(Error::NotFound(_))
    ));

    // "Not a duplicate" is remembered: gone from undecided pairs, later scans and write checks.
    let reviewed = c.review_pair(&ann, maria2, maria, false).await.unwrap();
    assert_eq!(reviewed.decision.as_deref(), Some("NOT_DUPLICATE"));
    assert!(reviewed.reasons.iter().any(|r| r == "same email"));
    let undecided = c
        .list_pairs(&ann, scan.id, None, true, 100, 0)
        .await
        .unwrap();
    assert_eq!(undecided.len(), pairs.len() - 1);
    let decided = c
        .list_pairs(&ann, scan.id, None, false, 100, 0)
        .await
        .unwrap();
    assert!(
        decided
            .iter()
            .any(|p| p.decision.as_deref() == Some("NOT_DUPLICATE"))
    );
    let again = c.new_scan(&ann).await.unwrap();
    let again = c.run_scan(&ann, again.id).await.unwrap();
    assert_eq!(again.clusters, 1, "{again:?}");
    let maria_row = c.get(&ann, maria).await.unwrap();
    let check = c.check_duplicates(&ann, &maria_row).await.unwrap();
    assert!(check.candidates.iter().all(|x| x.id != maria2), "{check:?}");
    // Reviewing needs both customers in reach.
    let hidden = c.review_pair(&bob, maria, maria2, true).await;
    assert!(matches!(hidden, Err(Error::NotFound(_))), "{hidden:?}");
    // A scan left running by a stopped process is marked failed at the next start.
    let stuck = c.new_scan(&ann).await.unwrap();
    assert_eq!(crm_customers::scan::fail_interrupted(&db).await.unwrap(), 1);
    let stuck = c.get_scan(&ann, stuck.id).await.unwrap();
    assert_eq!(stuck.state, "FAILED");
    assert!(stuck.error.contains("restart"));
}
