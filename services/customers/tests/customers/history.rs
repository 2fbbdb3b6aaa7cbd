//! The audit trail: every write, with the fields before and after, newest first; kept after
//! deletion for callers who see every customer.
use crm_customers::{
    domain::{DisplayName, Email, Kind},
    error::Error,
    service::{Changes, Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
    transactions::NewTransaction,
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    every_write_is_in_the_trail_with_before_and_after,
);

async fn every_write_is_in_the_trail_with_before_and_after(db: Db) {
    let c = Customers::new(Store::new(db));
    let me = Principal {
        subject: Subject::User(Uuid::now_v7()),
        unit_path: "/g/east/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/east/".into()))].into(),
        ..Principal::system()
    };
    let new = NewCustomer {
        display_name: DisplayName::parse("Audited").unwrap(),
        kind: Kind::Person,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    let Created::New(row) = c.create(&me, new, None, |_| Vec::new()).await.unwrap() else {
        panic!("created");
    };
    let change = Changes {
        display_name: Some(DisplayName::parse("Audited Ltd").unwrap()),
        email: Some(Some(Email::parse("a@b.example").unwrap())),
        ..Changes::default()
    };
    c.update(&me, row.id, None, change).await.unwrap();
    let sale = NewTransaction {
        order_reference: "SO-1".into(),
        order_time: crm_platform::db::now(),
        amount_minor: 100,
        currency: "CNY".into(),
        items: vec![],
        channel: None,
        status: "COMPLETED",
    };
    c.record_transaction(&me, row.id, sale).await.unwrap();

    let (trail, _) = c
        .history(&me, row.id, &ListParams::default())
        .await
        .unwrap();
    let actions: Vec<&str> = trail.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        ["CLASSIFIED", "UPDATED", "CREATED"],
        "newest first"
    );
    assert_eq!(trail[0].actor, "system");
    assert_eq!(trail[1].actor, me.actor());
    let updated = trail[1].change_list();
    let fields: Vec<(&str, &str, &str)> = updated
        .iter()
        .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("display_name", "Audited", "Audited Ltd"),
            ("email", "", "a@b.example")
        ]
    );
    let classified = trail[0].change_list();
    assert!(
        classified
            .iter()
            .any(|c| c.field == "lifecycle_stage" && c.before == "PROSPECT" && c.after == "NEW")
    );
    assert!(
        trail[2]
            .change_list()
            .iter()
            .any(|c| c.field == "display_name" && c.after == "Audited")
    );

    c.delete(&me, row.id, None).await.unwrap();
    // After deletion only a caller who sees every customer may read the trail.
    assert!(matches!(
        c.history(&me, row.id, &ListParams::default()).await,
        Err(Error::NotFound(_))
    ));
    let (trail, _) = c
        .history(&Principal::system(), row.id, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(trail[0].action, "DELETED");
    assert!(
        trail[0]
            .change_list()
            .iter()
            .any(|c| c.field == "display_name" && c.before == "Audited Ltd" && c.after.is_empty())
    );
}
