//! Contacts of organisations: create, list by name, masked update with etags, delete; persons
//! have none; scope follows the organisation.
use crm_customers::{
    contacts::ContactFields,
    domain::Kind,
    error::Error,
    service::{Customers, ListParams},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    an_organisations_contacts_are_kept_changed_and_removed,
);

async fn customer(c: &Customers, kind: Kind) -> Uuid {
    super::new_customer(c, &Principal::system(), "Org", kind).await
}

fn person(name: &str, role: Option<&'static str>) -> ContactFields {
    ContactFields {
        display_name: name.into(),
        title: "Purchasing".into(),
        role,
        email: Some(format!("{}@acme.example", name.to_lowercase())),
        phone: None,
    }
}

async fn an_organisations_contacts_are_kept_changed_and_removed(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    let org = customer(&c, Kind::Organization).await;
    let zhou = c
        .create_contact(&sys, org, person("Zhou", Some("DECISION_MAKER")))
        .await
        .unwrap();
    c.create_contact(&sys, org, person("Anna", Some("USER")))
        .await
        .unwrap();
    let (listed, _) = c
        .list_contacts(&sys, org, &ListParams::default())
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|r| r.display_name.as_str()).collect();
    assert_eq!(names, ["Anna", "Zhou"], "by name");

    let change = ContactFields {
        title: "CFO".into(),
        ..ContactFields::default()
    };
    let updated = c
        .update_contact(
            &sys,
            org,
            zhou.id,
            Some(1),
            change.clone(),
            &["title".into()],
        )
        .await
        .unwrap();
    assert_eq!(updated.title, "CFO");
    assert_eq!(updated.display_name, "Zhou", "fields outside the mask stay");
    assert_eq!(updated.role.as_deref(), Some("DECISION_MAKER"));
    assert!(matches!(
        c.update_contact(&sys, org, zhou.id, Some(1), change, &["title".into()])
            .await,
        Err(Error::EtagMismatch(_))
    ));
    c.delete_contact(&sys, org, zhou.id).await.unwrap();
    assert!(matches!(
        c.delete_contact(&sys, org, zhou.id).await,
        Err(Error::NotFound(_))
    ));
    let (listed, _) = c
        .list_contacts(&sys, org, &ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let individual = customer(&c, Kind::Person).await;
    assert!(matches!(
        c.create_contact(&sys, individual, person("X", None)).await,
        Err(Error::FailedPrecondition(_))
    ));
    let stranger = Principal {
        subject: Subject::User(Uuid::now_v7()),
        unit_path: "/g/west/".into(),
        scopes: [("customers".to_owned(), DataScope::Own(Uuid::nil()))].into(),
        ..Principal::system()
    };
    assert!(matches!(
        c.list_contacts(&stranger, org, &ListParams::default())
            .await,
        Err(Error::NotFound(_))
    ));
}
