//! Sharing with users and units (read, write), and ownership transfer (named, bulk).
use crm_customers::{
    domain::{DisplayName, Kind},
    error::Error,
    service::{Changes, Customers, ListParams},
    sharing::{Grantee, Transfer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    shares_open_a_customer_to_users_and_units_for_reading_or_writing,
    transfers_move_named_customers_or_all_of_an_owners,
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

fn rename(name: &str) -> Changes {
    Changes {
        display_name: Some(DisplayName::parse(name).unwrap()),
        ..Changes::default()
    }
}

async fn sees(c: &Customers, p: &Principal, id: Uuid) -> bool {
    let listed = c
        .list(p, &ListParams::default())
        .await
        .unwrap()
        .0
        .iter()
        .any(|r| r.id == id);
    let got = c.get(p, id).await.is_ok();
    assert_eq!(listed, got, "list and get agree");
    got
}

async fn shares_open_a_customer_to_users_and_units_for_reading_or_writing(db: Db) {
    let c = Customers::new(Store::new(db));
    let (owner, bob) = (user("/g/east/"), user("/g/west/"));
    let (north, northeast) = (user("/g/north/sub/"), user("/g/northeast/"));
    let x = crate::new_customer(&c, &owner, "Shared Ltd", Kind::Organization).await;
    assert!(!sees(&c, &bob, x).await);

    // Read-only: visible, not writable (refused, not hidden), not re-shareable.
    let share = c
        .share(&owner, x, Grantee::User(bob.user_id().unwrap()), false)
        .await
        .unwrap();
    assert!(sees(&c, &bob, x).await);
    assert!(matches!(
        c.update(&bob, x, None, rename("Bob's")).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        c.get_for_write(&bob, x).await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        c.share(&bob, x, Grantee::User(Uuid::now_v7()), true).await,
        Err(Error::PermissionDenied(_))
    ));
    // Sharing again changes the access: now Bob may change it, still not delete it.
    let again = c
        .share(&owner, x, Grantee::User(bob.user_id().unwrap()), true)
        .await
        .unwrap();
    assert_eq!((again.id, again.access.as_str()), (share.id, "WRITE"));
    c.update(&bob, x, None, rename("Shared Ltd (Bob)"))
        .await
        .unwrap();
    assert!(c.delete(&bob, x, None).await.is_err());

    // A unit share reaches the unit's subtree, not a unit whose code merely starts alike.
    c.share(&owner, x, Grantee::unit("/g/north/").unwrap(), false)
        .await
        .unwrap();
    assert!(sees(&c, &north, x).await);
    assert!(!sees(&c, &northeast, x).await);
    assert!(Grantee::unit("/g/north").is_err() && Grantee::unit("/").is_err());

    let shares = c.shares(&owner, x).await.unwrap();
    assert_eq!(shares.len(), 2);
    c.unshare(&owner, x, share.id).await.unwrap();
    assert!(!sees(&c, &bob, x).await);
    assert!(sees(&c, &north, x).await);
    assert!(matches!(
        c.unshare(&owner, x, share.id).await,
        Err(Error::NotFound(_))
    ));

    let (trail, _) = c.history(&owner, x, &ListParams::default()).await.unwrap();
    let actions: Vec<_> = trail.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "UNSHARED", "SHARED", "UPDATED", "SHARED", "SHARED", "CREATED"
        ]
    );
}

async fn transfers_move_named_customers_or_all_of_an_owners(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let (leaver, successor) = (user("/g/east/"), user("/g/west/"));
    let admin = Principal {
        subject: Subject::User(Uuid::now_v7()),
        scopes: [("customers".to_owned(), DataScope::All)].into(),
        ..Principal::system()
    };
    let mut theirs = Vec::new();
    for i in 0..4 {
        theirs.push(crate::new_customer(&c, &leaver, &format!("Account {i}"), Kind::Person).await);
    }
    let kept = crate::new_customer(&c, &successor, "Already Mine", Kind::Person).await;
    let to = successor.user_id().unwrap();

    // Named, all or none: one customer the caller cannot reach stops the whole transfer.
    let outside = crate::new_customer(&c, &successor, "Not Yours", Kind::Person).await;
    let err = c
        .transfer(
            &leaver,
            Transfer::Named(vec![theirs[0], outside]),
            to,
            "/g/west/",
        )
        .await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    assert!(sees(&c, &leaver, theirs[0]).await);

    let moved = c
        .transfer(&leaver, Transfer::Named(vec![theirs[0]]), to, "/g/west/")
        .await
        .unwrap();
    assert_eq!(moved, 1);
    assert!(!sees(&c, &leaver, theirs[0]).await);
    assert!(sees(&c, &successor, theirs[0]).await);

    // Bulk: everything the leaver still owns.
    let before = crate::outbox_count(&db, "crm.customers.v1.customer.updated").await;
    let moved = c
        .transfer(
            &admin,
            Transfer::OwnedBy(leaver.user_id().unwrap()),
            to,
            "/g/west/",
        )
        .await
        .unwrap();
    assert_eq!(moved, 3);
    assert_eq!(
        crate::outbox_count(&db, "crm.customers.v1.customer.updated").await,
        before + 3
    );
    for id in &theirs {
        assert!(sees(&c, &successor, *id).await);
        let row = c.get(&admin, *id).await.unwrap();
        assert_eq!(
            (row.owner_id, row.owner_unit_path.as_str()),
            (Some(to), "/g/west/")
        );
    }
    assert!(sees(&c, &successor, kept).await);
    let (trail, _) = c
        .history(&admin, theirs[1], &ListParams::default())
        .await
        .unwrap();
    assert_eq!(trail[0].action, "TRANSFERRED");
    let fields: Vec<_> = trail[0]
        .change_list()
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert!(
        fields.contains(&"owner_id".to_owned()) && fields.contains(&"owner_unit_path".to_owned())
    );
    // Nothing left to move.
    let again = c
        .transfer(
            &admin,
            Transfer::OwnedBy(leaver.user_id().unwrap()),
            to,
            "/g/west/",
        )
        .await
        .unwrap();
    assert_eq!(again, 0);
}
