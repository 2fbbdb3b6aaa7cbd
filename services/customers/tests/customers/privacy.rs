//! Data subjects' requests: access (an archive of everything held) and erasure (anonymized,
//! destroyed, kept where law requires), for many subjects, within the caller's scope, waiting
//! for every expected service.
use crm_customers::{
    contact_points::NewContactPoint,
    domain::{DisplayName, Email, Kind, Phone},
    error::Error,
    interactions::NewInteraction,
    privacy::Subject,
    sensitive::Writes,
    service::{Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
    transactions::{Item, NewTransaction},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject as Who},
    db::Db,
};
use std::io::Read;
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    an_access_request_gathers_everything_into_an_archive,
    an_erasure_anonymizes_destroys_and_keeps_what_law_requires,
);

const ID: &str = "11010519491231002X";

async fn person(c: &Customers, p: &Principal, name: &str, email: &str, phone: &str) -> Uuid {
    let new = NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind: Kind::Person,
        email: Some(Email::parse(email).unwrap()),
        phone: Some(Phone::parse(phone).unwrap()),
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Writes(vec![("national_id", Some(ID.to_owned()))]),
        profile: Default::default(),
    };
    let id = match c.create(p, new, None, |_| Vec::new()).await.unwrap() {
        Created::New(row) => row.id,
        Created::Replayed(_) => unreachable!("no request id"),
    };
    c.add_contact_point(
        p,
        id,
        NewContactPoint {
            kind: "EMAIL",
            label: "home".into(),
            primary: false,
            value: format!("home.{email}"),
        },
    )
    .await
    .unwrap();
    c.create_interaction(
        p,
        id,
        NewInteraction {
            r#type: "CALL",
            direction: Some("INBOUND"),
            occurred_at: None,
            duration_seconds: 30,
            subject: format!("{name} asked about delivery"),
            body: "lives at 5 Garden Road".into(),
            participants: Vec::new(),
            user_id: None,
            outcome: String::new(),
        },
    )
    .await
    .unwrap();
    c.record_transaction(
        p,
        id,
        NewTransaction {
            order_reference: format!("O-{name}"),
            order_time: crm_platform::db::now(),
            amount_minor: 9900,
            currency: "CNY".into(),
            items: vec![Item {
                product: "Tea".into(),
                quantity: 1,
                unit_price_minor: Some(9900),
            }],
            channel: Some("STORE"),
            status: "COMPLETED",
        },
    )
    .await
    .unwrap();
    id
}

fn unzip(path: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        out.insert(f.name().unwrap().to_string(), text);
    }
    out
}

async fn an_access_request_gathers_everything_into_an_archive(db: Db) {
    let c = Customers::new(Store::new(db.clone())).with_privacy_services(vec!["sales".into()]);
    let sys = Principal::system();
    let li = person(&c, &sys, "Li Lei", "li.lei@example.com", "13700001111").await;
    person(&c, &sys, "Han Meimei", "han@example.com", "13700002222").await;
    // By an email only known as a contact point, and by phone in another format: one customer.
    let request = c
        .create_privacy_request(
            &sys,
            "ACCESS",
            vec![
                Subject::email("Home.Li.Lei@example.com", "s").unwrap(),
                Subject::phone("+86 137-0000-1111", "s").unwrap(),
            ],
            "ticket 42",
        )
        .await
        .unwrap();
    assert_eq!(request.customers, vec![li]);
    assert_eq!(request.state, "RUNNING", "sales has not answered");
    let archive = c.privacy_archive(&sys, request.id).await;
    assert!(
        matches!(archive, Err(Error::FailedPrecondition(_))),
        "{archive:?}"
    );
    let unexpected = c.record_answer(request.id, "marketing", &[], "{}").await;
    assert!(matches!(unexpected, Err(Error::InvalidArgument(_))));
    c.record_answer(
        request.id,
        "sales",
        &["1 lead".into()],
        r#"{"leads": [{"name": "leads/1", "email": "li.lei@example.com"}]}"#,
    )
    .await
    .unwrap();
    let request = c.get_privacy_request(&sys, request.id).await.unwrap();
    assert_eq!(request.state, "COMPLETED");
    assert_eq!(
        crate::outbox_count(&db, "crm.customers.v1.privacy.access_requested").await,
        1
    );

    let out = c.privacy_archive(&sys, request.id).await.unwrap();
    let files = unzip(&out.path);
    std::fs::remove_file(&out.path).unwrap();
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for f in [
        "request.json",
        "customers.json",
        "customers-customers.csv",
        "customers-contact_points.csv",
        "customers-interactions.csv",
        "customers-transactions.csv",
        "customers-history.csv",
        "sales.json",
        "sales-leads.csv",
    ] {
        assert!(names.contains(&f), "{f} in {names:?}");
    }
    let profile = &files["customers-customers.csv"];
    assert!(
        profile.contains("Li Lei") && profile.contains(ID),
        "{profile}"
    );
    assert!(!profile.contains("Han Meimei"));
    assert!(files["customers-interactions.csv"].contains("5 Garden Road"));
    assert!(files["request.json"].contains("ticket 42"));
    assert!(files["sales-leads.csv"].contains("leads/1"));
}

async fn an_erasure_anonymizes_destroys_and_keeps_what_law_requires(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let li = person(&c, &sys, "Li Lei", "li.lei@example.com", "13700001111").await;
    let han = person(&c, &sys, "Han Meimei", "han@example.com", "13700002222").await;
    let kept = person(&c, &sys, "Wei Hua", "wei@example.com", "13700003333").await;
    // A user who sees none of them erases nothing.
    let me = Uuid::now_v7();
    let rep = Principal {
        subject: Who::User(me),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), DataScope::Own(me))].into(),
        ..Principal::system()
    };
    let nothing = c
        .create_privacy_request(&rep, "ERASURE", vec![Subject::Customer(li)], "")
        .await
        .unwrap();
    assert!(nothing.customers.is_empty());
    assert_eq!(c.get(&sys, li).await.unwrap().display_name, "Li Lei");

    let erased = c
        .create_privacy_request(
            &sys,
            "ERASURE",
            vec![
                Subject::Customer(li),
                Subject::email("han@example.com", "s").unwrap(),
            ],
            "art. 17 request",
        )
        .await
        .unwrap();
    assert_eq!(erased.state, "COMPLETED");
    let mut expected = vec![li, han];
    expected.sort();
    assert_eq!(erased.customers, expected);
    let receipt: Vec<String> = serde_json::from_str(&erased.answers[0].actions).unwrap();
    assert!(
        receipt
            .iter()
            .any(|a| a.starts_with("2 per-customer data keys destroyed")),
        "{receipt:?}"
    );
    assert!(
        receipt
            .iter()
            .any(|a| a.starts_with("2 sensitive values deleted")),
        "{receipt:?}"
    );
    assert!(
        receipt.iter().any(|a| a.starts_with("2 transactions kept")),
        "{receipt:?}"
    );

    for id in [li, han] {
        let row = c.get(&sys, id).await.unwrap();
        assert_eq!(row.display_name, "Erased customer");
        assert_eq!((row.email.as_deref(), row.phone.as_deref()), (None, None));
        assert!(row.secrets.is_none());
        assert!(c.list_contact_points(&sys, id).await.unwrap().is_empty());
        let (orders, _) = c
            .list_transactions(&sys, id, &ListParams::default())
            .await
            .unwrap();
        assert_eq!(orders[0].amount_minor, 9900, "kept for accounting");
        let (calls, _) = c
            .list_interactions(&sys, id, &ListParams::default())
            .await
            .unwrap();
        assert_eq!(calls[0].subject, "[erased]");
        assert_eq!(calls[0].duration_seconds, 30);
        let (trail, _) = c.history(&sys, id, &ListParams::default()).await.unwrap();
        assert_eq!(trail[0].action, "ERASED");
    }
    assert_eq!(c.get(&sys, kept).await.unwrap().display_name, "Wei Hua");
    // No trace of the erased values in any row the service stores.
    let dump: Vec<(String,)> = crm_platform::with_pool!(&db, |pool| sqlx::query_as(
        "SELECT changes FROM customer_history"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let trail: String = dump.into_iter().map(|(t,)| t).collect();
    assert!(
        !trail.contains("Li Lei") && !trail.contains("han@example.com"),
        "{trail}"
    );
    assert!(trail.contains("Wei Hua"), "the others' trail is untouched");
    let secrets: Vec<(Uuid,)> = crm_platform::with_pool!(&db, |pool| sqlx::query_as(
        "SELECT customer_id FROM customer_secrets"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(secrets, vec![(kept,)]);
    let keys: Vec<(Uuid,)> = crm_platform::with_pool!(&db, |pool| sqlx::query_as(
        "SELECT customer_id FROM customer_keys"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    assert_eq!(keys, vec![(kept,)], "the erased customers' keys are gone");
    assert_eq!(
        crate::outbox_count(&db, "crm.customers.v1.privacy.erasure_requested").await,
        2
    );
    let listed = c.list_privacy_requests(&sys, 10, None).await.unwrap();
    assert_eq!(listed.len(), 2);
}
