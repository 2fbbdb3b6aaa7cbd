//! The use cases: listing with filters and pages, idempotent create, etags.
use super::outbox;
use crm_customers::{
    domain::{DisplayName, Email, Kind, Phone},
    error::Error,
    service::{Changes, Created, Customers, Idempotency, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{Principal, Subject},
    db::Db,
};
use std::collections::HashSet;
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    pages_cover_every_row_once,
    order_and_filter,
    filter_literals_are_normalized_like_their_field,
    page_token_is_bound_to_its_query,
    create_is_idempotent_by_request_id,
    stale_etag_is_rejected,
    list_applies_data_scope,
    every_write_commits_its_event,
);

fn dev() -> Principal {
    Principal::system()
}

fn new(name: &str, kind: Kind) -> NewCustomer {
    NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    }
}

async fn create(c: &Customers, p: &Principal, name: &str, kind: Kind) -> Uuid {
    match c
        .create(p, new(name, kind), None, |_| Vec::new())
        .await
        .unwrap()
    {
        Created::New(row) => row.id,
        Created::Replayed(_) => panic!("no request id, no replay"),
    }
}

fn params(filter: &str, order_by: &str, page_size: i32) -> ListParams {
    ListParams {
        filter: filter.into(),
        order_by: order_by.into(),
        page_size,
        page_token: String::new(),
    }
}

async fn pages_cover_every_row_once(db: Db) {
    let c = Customers::new(Store::new(db));
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(create(&c, &dev(), &format!("Customer {i:02}"), Kind::Person).await);
    }
    let mut p = params("", "", 10);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (rows, next) = c.list(&dev(), &p).await.unwrap();
        pages += 1;
        seen.extend(rows.iter().map(|r| r.id));
        if next.is_empty() {
            break;
        }
        p.page_token = next;
    }
    assert_eq!(pages, 3);
    // Default order is newest first; UUIDv7 ids created in sequence sort the same way.
    created.reverse();
    assert_eq!(seen, created);
}

async fn order_and_filter(db: Db) {
    let c = Customers::new(Store::new(db));
    for (name, kind) in [
        ("Beta AG", Kind::Organization),
        ("alpha", Kind::Person),
        ("Gamma Ltd", Kind::Organization),
        ("Delta", Kind::Person),
    ] {
        create(&c, &dev(), name, kind).await;
    }
    let names = |rows: Vec<crm_customers::store::CustomerRow>| {
        rows.into_iter().map(|r| r.display_name).collect::<Vec<_>>()
    };
    let (rows, _) = c
        .list(&dev(), &params("kind = ORGANIZATION", "display_name", 0))
        .await
        .unwrap();
    assert_eq!(names(rows), vec!["Beta AG", "Gamma Ltd"]);
    let (rows, _) = c
        .list(
            &dev(),
            &params(
                "display_name:\"ALPHA\" OR display_name:gamma",
                "display_name desc",
                0,
            ),
        )
        .await
        .unwrap();
    assert_eq!(names(rows), vec!["alpha", "Gamma Ltd"]);
    let (rows, _) = c
        .list(
            &dev(),
            &params(
                "NOT kind = PERSON AND display_name:\"a\"",
                "display_name",
                0,
            ),
        )
        .await
        .unwrap();
    assert_eq!(names(rows), vec!["Beta AG", "Gamma Ltd"]);
    let (rows, _) = c
        .list(
            &dev(),
            &params("create_time > \"2000-01-01T00:00:00Z\"", "", 2),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let (rows, _) = c.list(&dev(), &params("email:*", "", 0)).await.unwrap();
    assert!(rows.is_empty(), "no customer has an email");

    for (filter, field) in [
        ("nope = 1", "filter"),
        ("kind = ROBOT", "filter"),
        ("display_name = ", "filter"),
    ] {
        match c.list(&dev(), &params(filter, "", 0)).await {
            Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, field, "{filter}"),
            other => panic!("{filter}: expected invalid argument, got {other:?}"),
        }
    }
    match c.list(&dev(), &params("", "email", 0)).await {
        Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "order_by"),
        other => panic!("expected invalid order_by, got {other:?}"),
    }
    match c.list(&dev(), &params("", "", -1)).await {
        Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "page_size"),
        other => panic!("expected invalid page_size, got {other:?}"),
    }
}

/// Issue 13: `phone = "13800138000"` finds "+8613800138000", as search does; email ignores case.
async fn filter_literals_are_normalized_like_their_field(db: Db) {
    let c = Customers::new(Store::new(db));
    for (name, email, phone) in [
        ("Acme", Some("Info@Acme.example"), Some("+86 138 0013 8000")),
        (
            "Other",
            Some("sales@other.example"),
            Some("+86 139 0000 1111"),
        ),
        ("Unset", None, None),
    ] {
        let customer = NewCustomer {
            email: email.map(|e| Email::parse(e).unwrap()),
            phone: phone.map(|p| Phone::parse(p).unwrap()),
            ..new(name, Kind::Organization)
        };
        c.create(&dev(), customer, None, |_| Vec::new())
            .await
            .unwrap();
    }
    let found = async |filter: &str| {
        let (rows, _) = c
            .list(&dev(), &params(filter, "display_name", 0))
            .await
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        rows.into_iter().map(|r| r.display_name).collect::<Vec<_>>()
    };
    for (filter, names) in [
        // The same number in every format a write accepts, national ones in the default region.
        ("phone = \"13800138000\"", &["Acme"][..]),
        ("phone = \"+8613800138000\"", &["Acme"]),
        ("phone = \"138-0013-8000\"", &["Acme"]),
        ("phone = '0086 (138) 0013 8000'", &["Acme"]),
        ("phone = 13800138000", &["Acme"]),
        ("phone = \"13800138001\"", &[]),
        ("phone != \"138 0013 8000\"", &["Other", "Unset"]),
        // Substrings compare digits only.
        ("phone:\"0013 8000\"", &["Acme"]),
        ("phone:\"+86\"", &["Acme", "Other"]),
        ("email = \"INFO@acme.EXAMPLE\"", &["Acme"]),
        ("email = \" info@acme.example \"", &["Acme"]),
        ("email = \"sales@acme.example\"", &[]),
        ("email != \"Info@ACME.example\"", &["Other", "Unset"]),
        ("email:\"ACME\"", &["Acme"]),
        (
            "email:\"@\" AND NOT phone = \"+86 139 0000 1111\"",
            &["Acme"],
        ),
    ] {
        assert_eq!(found(filter).await, names, "{filter}");
    }

    for (filter, field) in [
        ("phone = \"abc\"", "\"phone\""),
        ("phone != \"12345\"", "\"phone\""),
        ("phone:\"abc\"", "\"phone\""),
        ("email = \"not an email\"", "\"email\""),
        ("email = acme", "\"email\""),
    ] {
        let err = c
            .list(&dev(), &params(filter, "", 0))
            .await
            .expect_err(filter);
        match &err {
            Error::InvalidArgument(v) => {
                assert_eq!(v.len(), 1, "{filter}");
                assert_eq!(v[0].field, "filter", "{filter}");
                assert!(
                    v[0].description.contains(field),
                    "{filter}: {}",
                    v[0].description
                );
            }
            other => panic!("{filter}: expected invalid argument, got {other:?}"),
        }
        assert_eq!(
            tonic::Status::from(err).code(),
            tonic::Code::InvalidArgument,
            "{filter}"
        );
    }
}

async fn page_token_is_bound_to_its_query(db: Db) {
    let c = Customers::new(Store::new(db));
    for i in 0..3 {
        create(&c, &dev(), &format!("P{i}"), Kind::Person).await;
    }
    let (_, next) = c
        .list(&dev(), &params("kind = PERSON", "", 1))
        .await
        .unwrap();
    assert!(!next.is_empty());
    let mut reused = params("kind = ORGANIZATION", "", 1);
    reused.page_token = next;
    match c.list(&dev(), &reused).await {
        Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "page_token"),
        other => panic!("expected invalid page_token, got {other:?}"),
    }
    let mut garbage = params("", "", 1);
    garbage.page_token = "not-a-token".into();
    assert!(matches!(
        c.list(&dev(), &garbage).await,
        Err(Error::InvalidArgument(_))
    ));
}

async fn create_is_idempotent_by_request_id(db: Db) {
    let c = Customers::new(Store::new(db));
    let key = |fingerprint: &str| {
        Some(Idempotency {
            request_id: "retry-me".into(),
            fingerprint: fingerprint.into(),
        })
    };
    let encode = |r: &crm_customers::store::CustomerRow| r.id.as_bytes().to_vec();
    let first = match c
        .create(&dev(), new("Once", Kind::Person), key("f1"), encode)
        .await
        .unwrap()
    {
        Created::New(row) => row,
        Created::Replayed(_) => panic!("first call creates"),
    };
    let again = c
        .create(&dev(), new("Once", Kind::Person), key("f1"), encode)
        .await
        .unwrap();
    match again {
        Created::Replayed(bytes) => assert_eq!(bytes, first.id.as_bytes().to_vec()),
        Created::New(_) => panic!("a retry must not create"),
    }
    match c
        .create(&dev(), new("Other", Kind::Person), key("f2"), encode)
        .await
    {
        Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "request_id"),
        other => panic!("expected request_id reuse to be refused, got {other:?}"),
    }
    let (rows, _) = c.list(&dev(), &params("", "", 0)).await.unwrap();
    assert_eq!(rows.len(), 1, "exactly one customer was created");
}

async fn stale_etag_is_rejected(db: Db) {
    let c = Customers::new(Store::new(db));
    let id = create(&c, &dev(), "Etag Test", Kind::Person).await;
    let change = |name: &str| Changes {
        display_name: Some(DisplayName::parse(name).unwrap()),
        ..Changes::default()
    };
    let updated = c
        .update(&dev(), id, Some(1), change("Renamed"))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        c.update(&dev(), id, Some(1), change("Lost update")).await,
        Err(Error::EtagMismatch(_))
    ));
    let email = Changes {
        email: Some(Some(Email::parse("x@example.com").unwrap())),
        ..Changes::default()
    };
    let updated = c.update(&dev(), id, None, email).await.unwrap();
    assert_eq!(
        updated.display_name, "Renamed",
        "fields outside the mask stay"
    );
    assert_eq!(updated.email.as_deref(), Some("x@example.com"));
    assert!(matches!(
        c.delete(&dev(), id, Some(2)).await,
        Err(Error::EtagMismatch(_))
    ));
    c.delete(&dev(), id, Some(3)).await.unwrap();
    assert!(matches!(c.get(&dev(), id).await, Err(Error::NotFound(_))));
}

async fn list_applies_data_scope(db: Db) {
    let c = Customers::new(Store::new(db));
    let user = |id| Principal {
        subject: Subject::User(id),
        unit_path: "/g/east/".into(),
        scopes: [(
            "customers".to_owned(),
            crm_platform::auth::DataScope::Own(id),
        )]
        .into(),
        ..Principal::system()
    };
    let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let a = create(&c, &user(alice), "Alice's", Kind::Person).await;
    let b = create(&c, &user(bob), "Bob's", Kind::Person).await;
    let ids = |rows: Vec<crm_customers::store::CustomerRow>| {
        rows.into_iter().map(|r| r.id).collect::<HashSet<_>>()
    };
    let (rows, _) = c.list(&user(alice), &params("", "", 0)).await.unwrap();
    assert_eq!(ids(rows), HashSet::from([a]));
    assert!(
        matches!(c.get(&user(alice), b).await, Err(Error::NotFound(_))),
        "out of scope is not found"
    );
    let (rows, _) = c.list(&dev(), &params("", "", 0)).await.unwrap();
    assert_eq!(ids(rows), HashSet::from([a, b]));
}

async fn every_write_commits_its_event(db: Db) {
    use crm_customers::events::{CREATED, DELETED, UPDATED};
    use crm_proto::crm::customers::v1::CustomerChanged;
    let c = Customers::new(Store::new(db.clone()));
    let encode = |r: &crm_customers::store::CustomerRow| r.id.as_bytes().to_vec();
    let key = Some(Idempotency {
        request_id: "ev-1".into(),
        fingerprint: "f".into(),
    });
    let Created::New(row) = c
        .create(
            &dev(),
            new("Event Co", Kind::Organization),
            key.clone(),
            encode,
        )
        .await
        .unwrap()
    else {
        panic!("first create creates");
    };
    // A replayed create changes nothing, so it emits nothing.
    c.create(&dev(), new("Event Co", Kind::Organization), key, encode)
        .await
        .unwrap();
    let rename = Changes {
        display_name: Some(DisplayName::parse("Event Co Ltd").unwrap()),
        ..Changes::default()
    };
    c.update(&dev(), row.id, Some(1), rename.clone())
        .await
        .unwrap();
    // A refused write emits nothing either.
    assert!(c.update(&dev(), row.id, Some(1), rename).await.is_err());
    c.delete(&dev(), row.id, None).await.unwrap();

    let events = outbox(&db).await;
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, [CREATED, UPDATED, DELETED]);
    let subject = format!("customers/{}", row.id);
    for e in &events {
        assert_eq!(e.subject, subject);
        assert_eq!(e.source, "crm/customers");
        assert_eq!(
            e.audience.as_ref().unwrap().read_permission,
            "customers.customer.read"
        );
        assert!(uuid::Uuid::parse_str(&e.id).is_ok());
    }
    let update: CustomerChanged = crm_platform::events::payload(&events[1]).unwrap();
    assert_eq!(update.changed_fields, ["display_name"]);
    assert_eq!(update.customer.unwrap().display_name, "Event Co Ltd");
}
