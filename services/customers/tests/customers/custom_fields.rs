//! Custom fields: definitions, values checked on every write, filters over them, changes in
//! the trail, and a deleted definition taking its values with it.
use crm_customers::{
    custom_fields::{DefinitionChanges, NewDefinition, ValuesChange},
    domain::{DisplayName, Kind},
    error::Error,
    service::{Changes, Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use serde_json::{Value, json};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    custom_fields_are_defined_checked_filtered_and_audited,
);

fn define(key: &str, ty: &'static str, choices: &[&str]) -> NewDefinition {
    NewDefinition {
        key: key.into(),
        label: key.into(),
        field_type: ty,
        required: false,
        choices: choices.iter().map(|c| c.to_string()).collect(),
    }
}

async fn create(c: &Customers, name: &str, values: Value) -> Result<Uuid, Error> {
    let new = NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind: Kind::Organization,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: values.as_object().unwrap().clone(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    match c
        .create(&Principal::system(), new, None, |_| Vec::new())
        .await?
    {
        Created::New(row) => Ok(row.id),
        Created::Replayed(_) => panic!("no replay"),
    }
}

async fn names(c: &Customers, filter: &str) -> Result<Vec<String>, Error> {
    let params = ListParams {
        filter: filter.into(),
        order_by: "display_name".into(),
        ..ListParams::default()
    };
    let (rows, _) = c.list(&Principal::system(), &params).await?;
    Ok(rows.into_iter().map(|r| r.display_name).collect())
}

fn violated(e: Error) -> Vec<String> {
    match e {
        Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}

async fn custom_fields_are_defined_checked_filtered_and_audited(db: Db) {
    let c = Customers::new(Store::new(db));
    c.create_definition(define("credit_limit", "NUMBER", &[]))
        .await
        .unwrap();
    c.create_definition(define("segment", "SINGLE_CHOICE", &["smb", "enterprise"]))
        .await
        .unwrap();
    c.create_definition(define("topics", "MULTI_CHOICE", &["a", "b", "c"]))
        .await
        .unwrap();
    c.create_definition(define("since", "DATE", &[]))
        .await
        .unwrap();
    c.create_definition(define("vip", "BOOL", &[]))
        .await
        .unwrap();
    assert!(matches!(
        c.create_definition(define("vip", "TEXT", &[])).await,
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(c.definitions().await.unwrap().len(), 5);

    let big = create(
        &c,
        "Big Co",
        json!({"credit_limit": 50000, "segment": "enterprise",
        "topics": ["b", "c"], "since": "2021-03-01", "vip": true}),
    )
    .await
    .unwrap();
    create(
        &c,
        "Small Co",
        json!({"credit_limit": 500.25, "segment": "smb", "topics": ["a"],
        "since": "2024-06-30", "vip": false}),
    )
    .await
    .unwrap();
    create(&c, "Bare Co", json!({})).await.unwrap();
    let err = create(
        &c,
        "Bad Co",
        json!({"credit_limit": "lots", "segment": "huge", "nope": 1}),
    )
    .await
    .unwrap_err();
    let mut fields = violated(err);
    fields.sort();
    assert_eq!(
        fields,
        [
            "customer.custom_fields.credit_limit",
            "customer.custom_fields.nope",
            "customer.custom_fields.segment"
        ]
    );

    // Filters over every type; unknown custom fields are refused naming the filter.
    assert_eq!(
        names(&c, "custom_fields.credit_limit > 1000")
            .await
            .unwrap(),
        ["Big Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.credit_limit < 1000")
            .await
            .unwrap(),
        ["Small Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.segment = \"smb\"").await.unwrap(),
        ["Small Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.vip = true").await.unwrap(),
        ["Big Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.topics:b").await.unwrap(),
        ["Big Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.since >= \"2024-01-01\"")
            .await
            .unwrap(),
        ["Small Co"]
    );
    assert_eq!(
        names(&c, "custom_fields.segment:*").await.unwrap(),
        ["Big Co", "Small Co"]
    );
    assert!(names(&c, "custom_fields.nope = 1").await.is_err());

    // One key at a time; the others stay; the trail names the key.
    let change = Changes {
        custom_fields: Some(ValuesChange::Keys(
            json!({"vip": false, "since": null})
                .as_object()
                .unwrap()
                .clone(),
        )),
        ..Changes::default()
    };
    let row = c
        .update(&Principal::system(), big, None, change)
        .await
        .unwrap();
    let values: Value = serde_json::from_str(&row.custom_fields).unwrap();
    assert_eq!(
        values,
        json!({"credit_limit": 50000, "segment": "enterprise", "topics": ["b", "c"], "vip": false})
    );
    let (trail, _) = c
        .history(&Principal::system(), big, &ListParams::default())
        .await
        .unwrap();
    let changed: Vec<_> = trail[0]
        .change_list()
        .into_iter()
        .map(|c| (c.field, c.before, c.after))
        .collect();
    assert_eq!(
        changed,
        [
            (
                "custom_fields.since".to_owned(),
                "2021-03-01".to_owned(),
                String::new()
            ),
            (
                "custom_fields.vip".to_owned(),
                "true".to_owned(),
                "false".to_owned()
            ),
        ]
    );

    // Required from now on: new customers need it; removing it is refused.
    let required = DefinitionChanges {
        required: Some(true),
        ..Default::default()
    };
    c.update_definition("credit_limit", None, required)
        .await
        .unwrap();
    assert_eq!(
        violated(create(&c, "Later Co", json!({})).await.unwrap_err()),
        ["customer.custom_fields.credit_limit"]
    );
    let remove = Changes {
        custom_fields: Some(ValuesChange::Keys(
            json!({"credit_limit": null}).as_object().unwrap().clone(),
        )),
        ..Changes::default()
    };
    assert!(
        c.update(&Principal::system(), big, None, remove)
            .await
            .is_err()
    );
    // Choices grow, never shrink.
    let more = DefinitionChanges {
        choices: Some(vec!["smb".into(), "enterprise".into(), "public".into()]),
        ..Default::default()
    };
    let def = c.update_definition("segment", None, more).await.unwrap();
    assert_eq!(def.version, 2);
    let fewer = DefinitionChanges {
        choices: Some(vec!["smb".into()]),
        ..Default::default()
    };
    assert!(c.update_definition("segment", None, fewer).await.is_err());
    assert!(matches!(
        c.update_definition("segment", Some(1), DefinitionChanges::default())
            .await,
        Err(Error::EtagMismatch(_))
    ));

    // Deleting a definition removes its values everywhere.
    c.delete_definition("segment").await.unwrap();
    let row = c.get(&Principal::system(), big).await.unwrap();
    assert!(
        !row.custom_fields.contains("segment"),
        "{}",
        row.custom_fields
    );
    assert!(row.custom_fields.contains("credit_limit"));
    assert!(names(&c, "custom_fields.segment = \"smb\"").await.is_err());
}
