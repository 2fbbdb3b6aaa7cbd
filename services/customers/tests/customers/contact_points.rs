//! Contact points: one primary per kind, handed over on removal; addresses kept as entered.
use crm_customers::{
    contact_points::{Address, ContactPointChange, NewContactPoint},
    domain::{DisplayName, Kind},
    error::Error,
    service::{Created, Customers, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    one_primary_per_kind_and_a_removed_primary_hands_over,
    a_contact_point_is_relabelled_changed_and_made_primary,
);

fn point(kind: &'static str, value: &str, primary: bool) -> NewContactPoint {
    NewContactPoint {
        kind,
        label: "work".into(),
        primary,
        value: value.into(),
    }
}

async fn one_primary_per_kind_and_a_removed_primary_hands_over(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    let new = NewCustomer {
        display_name: DisplayName::parse("Reachable").unwrap(),
        kind: Kind::Person,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    let Created::New(row) = c.create(&sys, new, None, |_| Vec::new()).await.unwrap() else {
        panic!("created");
    };
    let id: Uuid = row.id;
    let first = c
        .add_contact_point(&sys, id, point("EMAIL", "a@x.example", false))
        .await
        .unwrap();
    assert!(first.is_primary, "the first of a kind is primary");
    let second = c
        .add_contact_point(&sys, id, point("EMAIL", "b@x.example", false))
        .await
        .unwrap();
    assert!(!second.is_primary);
    let phone = c
        .add_contact_point(&sys, id, point("PHONE", "+8613812345678", false))
        .await
        .unwrap();
    assert!(phone.is_primary, "primary per kind");
    let third = c
        .add_contact_point(&sys, id, point("EMAIL", "c@x.example", true))
        .await
        .unwrap();
    assert!(third.is_primary);
    let address = Address {
        country: "CN".into(),
        city: "上海".into(),
        postal_code: "200001".into(),
        lines: vec!["南京东路 100 号".into()],
        as_entered: "上海市黄浦区南京东路100号 200001".into(),
        ..Address::default()
    };
    c.add_contact_point(
        &sys,
        id,
        point("ADDRESS", &serde_json::to_string(&address).unwrap(), false),
    )
    .await
    .unwrap();

    let all = c.list_contact_points(&sys, id).await.unwrap();
    let primaries: Vec<&str> = all
        .iter()
        .filter(|p| p.is_primary)
        .map(|p| p.kind.as_str())
        .collect();
    assert_eq!(primaries, ["ADDRESS", "EMAIL", "PHONE"], "one per kind");
    let emails: Vec<(&str, bool)> = all
        .iter()
        .filter(|p| p.kind == "EMAIL")
        .map(|p| (p.value.as_str(), p.is_primary))
        .collect();
    assert_eq!(
        emails,
        [
            ("c@x.example", true),
            ("a@x.example", false),
            ("b@x.example", false)
        ]
    );
    assert_eq!(
        all.iter().find(|p| p.kind == "ADDRESS").unwrap().address(),
        Some(address)
    );

    // Removing the primary hands it to the oldest remaining email.
    c.delete_contact_point(&sys, id, third.id).await.unwrap();
    let all = c.list_contact_points(&sys, id).await.unwrap();
    let primary_email = all
        .iter()
        .find(|p| p.kind == "EMAIL" && p.is_primary)
        .unwrap();
    assert_eq!(primary_email.id, first.id);
    assert!(matches!(
        c.delete_contact_point(&sys, id, third.id).await,
        Err(Error::NotFound(_))
    ));
}

async fn a_contact_point_is_relabelled_changed_and_made_primary(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    let id = crate::new_customer(&c, &sys, "Changing", Kind::Person).await;
    let first = c
        .add_contact_point(&sys, id, point("PHONE", "+8613800000001", false))
        .await
        .unwrap();
    let second = c
        .add_contact_point(&sys, id, point("PHONE", "+8613800000002", false))
        .await
        .unwrap();
    let email = c
        .add_contact_point(&sys, id, point("EMAIL", "a@x.example", false))
        .await
        .unwrap();
    let change = ContactPointChange {
        label: Some("mobile".into()),
        value: Some(("PHONE", "+8613900000002".into())),
        primary: true,
    };
    let changed = c
        .update_contact_point(&sys, id, second.id, change)
        .await
        .unwrap();
    assert_eq!(
        (
            changed.label.as_str(),
            changed.value.as_str(),
            changed.is_primary
        ),
        ("mobile", "+8613900000002", true)
    );
    let all = c.list_contact_points(&sys, id).await.unwrap();
    let primary: Vec<_> = all.iter().filter(|p| p.is_primary).map(|p| p.id).collect();
    assert_eq!(primary.len(), 2, "one per kind");
    assert!(
        primary.contains(&second.id) && primary.contains(&email.id) && !primary.contains(&first.id)
    );
    // A value of another kind is refused; an unknown id is not found.
    let wrong = ContactPointChange {
        value: Some(("EMAIL", "b@x.example".into())),
        ..Default::default()
    };
    assert!(matches!(
        c.update_contact_point(&sys, id, first.id, wrong).await,
        Err(Error::InvalidArgument(_))
    ));
    let missing = c
        .update_contact_point(&sys, id, Uuid::now_v7(), ContactPointChange::default())
        .await;
    assert!(matches!(missing, Err(Error::NotFound(_))));
}
