use super::{identity, system};
use crm_identity::{
    error::Error,
    roles,
    service::{
        access::{NewRole, RoleChanges},
        directory::{NewUnit, NewUser},
    },
    store::MIGRATIONS,
};
use crm_platform::{db::Db, permissions as p};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    moving_a_unit_moves_its_subtree,
    units_with_members_cannot_be_deleted,
    custom_roles_change_and_built_ins_do_not,
);

async fn unit(
    identity: &crm_identity::service::Identity,
    code: &str,
    kind: &str,
    parent: Uuid,
) -> crm_identity::store::UnitRow {
    let new = NewUnit {
        code: code.into(),
        kind: kind.into(),
        parent: Some(parent),
        display_name: code.into(),
    };
    identity.create_unit(&system(), new).await.unwrap()
}

async fn moving_a_unit_moves_its_subtree(db: Db) {
    let identity = identity(db).await;
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let east = unit(&identity, "east", "REGION", root.id).await;
    let west = unit(&identity, "west", "REGION", root.id).await;
    let sales = unit(&identity, "sales", "DEPARTMENT", east.id).await;
    let team = unit(&identity, "team-a", "TEAM", sales.id).await;
    assert_eq!(team.path, "/g/east/sales/team-a/");

    let moved = identity
        .move_unit(sales.id, west.id, Some(sales.version))
        .await
        .unwrap();
    assert_eq!(moved.path, "/g/west/sales/");
    assert_eq!(moved.parent_id, Some(west.id));
    assert_eq!(
        identity.get_unit(team.id).await.unwrap().path,
        "/g/west/sales/team-a/",
        "the subtree moves along"
    );
    assert_eq!(
        identity.get_unit(east.id).await.unwrap().path,
        "/g/east/",
        "others stay"
    );

    // Not below itself, not above its kind, not the root, not with a stale etag.
    assert!(matches!(
        identity.move_unit(sales.id, team.id, None).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        identity.move_unit(root.id, east.id, None).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        identity.move_unit(east.id, team.id, None).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        identity.move_unit(sales.id, east.id, Some(1)).await,
        Err(Error::EtagMismatch(_))
    ));
    // Renaming keeps the path; a kind above the parent's is refused.
    let renamed = identity
        .update_unit(east.id, None, Some("East China".into()), None)
        .await
        .unwrap();
    assert_eq!(
        (renamed.display_name.as_str(), renamed.path.as_str()),
        ("East China", "/g/east/")
    );
    assert!(matches!(
        identity
            .update_unit(team.id, None, None, Some("GROUP".into()))
            .await,
        Err(Error::InvalidArgument(_))
    ));
}

async fn units_with_members_cannot_be_deleted(db: Db) {
    let identity = identity(db).await;
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let east = unit(&identity, "east", "REGION", root.id).await;
    let user = NewUser {
        login_name: "member".into(),
        display_name: "Member".into(),
        email: None,
        phone: None,
        unit: east.id,
        password: "a long enough password".into(),
        require_password_change: false,
        roles: vec![],
    };
    let member = identity.create_user(&system(), user).await.unwrap();
    assert!(matches!(
        identity.delete_unit(east.id, None).await,
        Err(Error::FailedPrecondition(_))
    ));
    assert!(matches!(
        identity.delete_unit(root.id, None).await,
        Err(Error::FailedPrecondition(_))
    ));
    identity
        .delete_user(&system(), member.id, None)
        .await
        .unwrap();
    identity.delete_unit(east.id, None).await.unwrap();
    assert!(matches!(
        identity.get_unit(east.id).await,
        Err(Error::NotFound(_))
    ));
}

async fn custom_roles_change_and_built_ins_do_not(db: Db) {
    let identity = identity(db).await;
    let new = NewRole {
        display_name: "Key account manager".into(),
        description: String::new(),
        permissions: vec![p::CUSTOMERS_CUSTOMER_READ.into()],
        scopes: [("customers".to_owned(), "UNIT".to_owned())].into(),
    };
    let role = identity.create_role(&system(), new).await.unwrap();
    let changes = RoleChanges {
        scopes: Some([("customers".to_owned(), "SUBTREE".to_owned())].into()),
        ..RoleChanges::default()
    };
    let changed = identity
        .update_role(&system(), role.id, Some(1), changes)
        .await
        .unwrap();
    assert!(changed.scopes.contains("SUBTREE"));
    assert!(
        changed.permissions.contains(p::CUSTOMERS_CUSTOMER_READ),
        "unchanged fields stay"
    );
    let bad = RoleChanges {
        permissions: Some(vec!["customers.customer.fly".into()]),
        ..RoleChanges::default()
    };
    assert!(matches!(
        identity.update_role(&system(), role.id, None, bad).await,
        Err(Error::InvalidArgument(_))
    ));
    let builtin = RoleChanges {
        display_name: Some("Boss".into()),
        ..RoleChanges::default()
    };
    assert!(matches!(
        identity
            .update_role(&system(), roles::ADMINISTRATOR, None, builtin)
            .await,
        Err(Error::FailedPrecondition(_))
    ));
    assert!(matches!(
        identity
            .delete_role(&system(), roles::SALES_REP, None)
            .await,
        Err(Error::FailedPrecondition(_))
    ));

    // A role in use cannot be deleted; an unused one can.
    let root = identity.store.root_unit().await.unwrap().unwrap();
    let user = NewUser {
        login_name: "holder".into(),
        display_name: "Holder".into(),
        email: None,
        phone: None,
        unit: root.id,
        password: "a long enough password".into(),
        require_password_change: false,
        roles: vec![role.id],
    };
    let holder = identity.create_user(&system(), user).await.unwrap();
    assert!(matches!(
        identity.delete_role(&system(), role.id, None).await,
        Err(Error::FailedPrecondition(_))
    ));
    identity
        .assign_roles(&system(), holder.id, vec![], None)
        .await
        .unwrap();
    identity
        .delete_role(&system(), role.id, None)
        .await
        .unwrap();
    assert!(matches!(
        identity.get_role(role.id).await,
        Err(Error::NotFound(_))
    ));
}
