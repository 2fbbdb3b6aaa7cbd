//! Search relevance on both databases: Chinese names by any part, typos, phone numbers in any
//! format, emails, external ids, tags, sensitive identifiers, and the caller's data scope.
use crm_customers::{
    contact_points::NewContactPoint,
    domain::{DisplayName, Email, Kind, Phone},
    profile::Profile,
    search::Hit,
    sensitive::Writes,
    service::{Created, Customers, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    search_ranks_names_identifiers_and_respects_scope,
);

fn rep(unit: &str) -> Principal {
    Principal {
        subject: Subject::User(Uuid::now_v7()),
        unit_path: unit.into(),
        scopes: [(
            "customers".to_owned(),
            DataScope::Subtree("/g/east/".into()),
        )]
        .into(),
        ..Principal::system()
    }
}

struct Seed<'a> {
    name: &'a str,
    kind: Kind,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    tags: &'a [&'a str],
    external: Option<&'a str>,
    national_id: Option<&'a str>,
}

const PERSON: Seed<'static> = Seed {
    name: "",
    kind: Kind::Person,
    email: None,
    phone: None,
    tags: &[],
    external: None,
    national_id: None,
};

async fn seed(c: &Customers, p: &Principal, s: Seed<'_>) -> Uuid {
    let profile = Profile {
        tags: s.tags.iter().map(|t| t.to_string()).collect(),
        source: s.external.map(|_| "sap".to_owned()),
        external_id: s.external.map(str::to_owned),
        ..Profile::default()
    };
    let new = NewCustomer {
        display_name: DisplayName::parse(s.name).unwrap(),
        kind: s.kind,
        email: s.email.map(|e| Email::parse(e).unwrap()),
        phone: s.phone.map(|p| Phone::parse(p).unwrap()),
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Writes(
            s.national_id
                .map(|v| vec![("national_id", Some(v.to_owned()))])
                .unwrap_or_default(),
        ),
        profile,
    };
    match c.create(p, new, None, |_| Vec::new()).await.unwrap() {
        Created::New(row) => row.id,
        Created::Replayed(_) => panic!("no replay"),
    }
}

fn names(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.row.display_name.as_str()).collect()
}

async fn search_ranks_names_identifiers_and_respects_scope(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let east = rep("/g/east/");
    let west = Principal {
        unit_path: "/g/west/".into(),
        scopes: [("customers".to_owned(), DataScope::All)].into(),
        ..rep("/g/west/")
    };
    for name in ["张三丰", "张三", "王小明", "李四"] {
        seed(&c, &east, Seed { name, ..PERSON }).await;
    }
    let smith = seed(
        &c,
        &east,
        Seed {
            name: "John Smith",
            email: Some("John.Smith@Example.com"),
            phone: Some("+86 138 1234 5678"),
            ..PERSON
        },
    )
    .await;
    seed(
        &c,
        &east,
        Seed {
            name: "Mary Jones",
            ..PERSON
        },
    )
    .await;
    seed(
        &c,
        &east,
        Seed {
            name: "John Smithers",
            ..PERSON
        },
    )
    .await;
    seed(
        &c,
        &east,
        Seed {
            name: "Müller Logistik GmbH",
            kind: Kind::Organization,
            tags: &["vip", "logistics"],
            external: Some("SAP-000123"),
            ..PERSON
        },
    )
    .await;
    let secret = seed(
        &c,
        &east,
        Seed {
            name: "Quiet Person",
            national_id: Some("11010519491231002X"),
            ..PERSON
        },
    )
    .await;
    // Outside the east subtree: never found by the east rep.
    seed(
        &c,
        &west,
        Seed {
            name: "John Smithson",
            ..PERSON
        },
    )
    .await;
    let other = seed(
        &c,
        &east,
        Seed {
            name: "Second Line",
            ..PERSON
        },
    )
    .await;
    c.add_contact_point(
        &east,
        other,
        NewContactPoint {
            kind: "EMAIL",
            label: "work".into(),
            primary: false,
            value: "backup@example.org".into(),
        },
    )
    .await
    .unwrap();

    let s = |q: &'static str| {
        let c = c.clone();
        let east = east.clone();
        async move { c.search(&east, q, 10).await.unwrap() }
    };
    // Chinese: exact first, then longer names containing it; any two adjacent characters.
    let hits = s("张三").await;
    assert_eq!(names(&hits)[..2], ["张三", "张三丰"], "{:?}", names(&hits));
    assert_eq!(hits[0].score, 1.0);
    assert_eq!(names(&s("三丰").await), ["张三丰"]);
    assert_eq!(names(&s("王").await), ["王小明"]);
    // Latin: exact before prefix; typos still find; out-of-scope never.
    let hits = s("john smith").await;
    assert_eq!(
        names(&hits)[..2],
        ["John Smith", "John Smithers"],
        "{:?}",
        names(&hits)
    );
    assert!(!names(&hits).contains(&"John Smithson"));
    assert_eq!(names(&s("Jonh Smith").await)[0], "John Smith");
    assert_eq!(names(&s("smi").await)[..2], ["John Smith", "John Smithers"]);
    assert_eq!(names(&s("muller").await), ["Müller Logistik GmbH"]);
    // Phone in any format, email in any case, external id, tag, national id.
    for phone in ["138 1234 5678", "+86-138-1234-5678", "(0086) 13812345678"] {
        let hits = s(phone).await;
        assert_eq!(hits.first().map(|h| h.row.id), Some(smith), "{phone}");
        assert!(
            hits[0].matched.contains(&"phone".to_owned()),
            "{phone}: {:?}",
            hits[0].matched
        );
    }
    let hits = s("JOHN.SMITH@example.com").await;
    assert_eq!(hits[0].row.id, smith);
    assert!(hits[0].matched.contains(&"email".to_owned()));
    assert_eq!(names(&s("sap-000123").await), ["Müller Logistik GmbH"]);
    let hits = s("vip").await;
    assert_eq!(names(&hits), ["Müller Logistik GmbH"]);
    assert_eq!(hits[0].matched, ["tags"]);
    let hits = s("110105-19491231-002x").await;
    assert_eq!(hits.iter().map(|h| h.row.id).collect::<Vec<_>>(), [secret]);
    assert_eq!(hits[0].matched, ["sensitive"]);
    let hits = s("backup@example.org").await;
    assert_eq!(hits.iter().map(|h| h.row.id).collect::<Vec<_>>(), [other]);
    // Nothing relevant: nothing returned; an empty query is an error naming the field.
    assert!(s("zzzzqx").await.is_empty());
    let err = c.search(&east, "  ", 10).await.unwrap_err();
    assert!(format!("{err:?}").contains("query"));
}
