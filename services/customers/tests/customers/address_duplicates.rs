//! Duplicates through addresses (issue 14): addresses live in contact points, and the write
//! check and the scan compare them field by field. A near-identical name at a near-identical
//! address is a likely duplicate; a neighbour on the same street is not; the same name without
//! an address is not a likely duplicate on the name alone.
use crm_customers::{
    contact_points::{Address, NewContactPoint},
    domain::Kind,
    service::Customers,
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    the_scan_and_the_write_check_find_duplicates_through_addresses,
);

async fn person(c: &Customers, name: &str, address: Option<(&str, &str, &str)>) -> Uuid {
    let sys = Principal::system();
    // `create` checks with the default policy (warn): a likely duplicate is still stored.
    let id = crate::new_customer(c, &sys, name, Kind::Person).await;
    if let Some((street, postal_code, city)) = address {
        let value = serde_json::to_string(&Address {
            country: "DE".into(),
            city: city.into(),
            postal_code: postal_code.into(),
            lines: vec![street.into()],
            ..Address::default()
        })
        .unwrap();
        c.add_contact_point(
            &sys,
            id,
            NewContactPoint {
                kind: "ADDRESS",
                label: "home".into(),
                primary: true,
                value,
            },
        )
        .await
        .unwrap();
    }
    id
}

async fn the_scan_and_the_write_check_find_duplicates_through_addresses(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let anna = person(
        &c,
        "Anna Müller",
        Some(("Hauptstraße 5", "10115", "Berlin")),
    )
    .await;
    let typo = person(
        &c,
        "Ana Muller",
        Some(("Hauptstrasse 5", "10115", "Berlin")),
    )
    .await;
    let neighbour = person(
        &c,
        "Peter Schmidt",
        Some(("Hauptstraße 7", "10115", "Berlin")),
    )
    .await;
    let namesake = person(&c, "Anna Müller", None).await;

    let scan = c.new_scan(&sys).await.unwrap();
    let done = c.run_scan(&sys, scan.id).await.unwrap();
    assert_eq!(done.state, "SUCCEEDED");
    let pairs = c
        .list_pairs(&sys, scan.id, None, false, 100, 0)
        .await
        .unwrap();
    let level = |a: Uuid, b: Uuid| {
        pairs
            .iter()
            .find(|p| {
                (p.customer_a == a && p.customer_b == b) || (p.customer_a == b && p.customer_b == a)
            })
            .map(|p| p.level.clone())
    };
    assert_eq!(
        level(anna, typo).as_deref(),
        Some("DUPLICATE"),
        "same person at the same address, typos in both: {pairs:?}"
    );
    assert_eq!(
        level(anna, neighbour),
        None,
        "a neighbour is nobody's duplicate"
    );
    assert_ne!(
        level(anna, namesake).as_deref(),
        Some("DUPLICATE"),
        "a name alone does not make a likely duplicate"
    );

    // The write check sees the address of a stored customer as soon as it is added.
    let late = person(&c, "Anna Mueller", None).await;
    let row = c.get(&sys, late).await.unwrap();
    let before = c.check_duplicates(&sys, &row).await.unwrap();
    assert!(
        !before
            .candidates
            .iter()
            .any(|k| k.id == anna && k.duplicate),
        "no address yet: {before:?}"
    );
    let value = serde_json::to_string(&Address {
        country: "DE".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        lines: vec!["Hauptstr. 5".into()],
        ..Address::default()
    })
    .unwrap();
    c.add_contact_point(
        &sys,
        late,
        NewContactPoint {
            kind: "ADDRESS",
            label: String::new(),
            primary: true,
            value,
        },
    )
    .await
    .unwrap();
    let after = c.check_duplicates(&sys, &row).await.unwrap();
    let found = after.candidates.iter().find(|k| k.id == anna);
    assert!(
        found.is_some_and(|k| k.duplicate),
        "found through the address: {after:?}"
    );
}
