//! The descriptive fields: stored and read back, filtered, changed by mask (a set stage is
//! pinned), and the upsert of corporate systems by (source, external id).
use crm_customers::{
    domain::{DisplayName, Kind},
    duplicates::Policy,
    error::Error,
    profile::Profile,
    service::{Changes, Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    profile_fields_round_trip_and_filter,
    an_update_mask_changes_only_the_named_fields_and_pins_the_stage,
    an_external_id_belongs_to_one_customer,
    upsert_creates_then_updates_and_never_duplicates_outside_scope,
);

fn acme(external_id: Option<&str>) -> NewCustomer {
    NewCustomer {
        display_name: DisplayName::parse("Acme").unwrap(),
        kind: Kind::Organization,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Profile {
            legal_name: Some("Acme Trading (Shanghai) Co., Ltd.".into()),
            industry: Some("manufacturing".into()),
            region: Some("east-china".into()),
            company_size: Some("MEDIUM"),
            source_channel: Some("TRADE_SHOW"),
            tags: vec!["vip".into(), "重点客户".into()],
            external_id: external_id.map(str::to_owned),
            source: external_id.map(|_| "sap".to_owned()),
            birth_date: Some("1998-05-20".into()),
            preferred_language: Some("zh-CN".into()),
            notes: Some("Prefers calls after 3 pm.\nBuys in Q4.".into()),
            ..Profile::default()
        },
    }
}

async fn create(
    c: &Customers,
    p: &Principal,
    new: NewCustomer,
) -> crm_customers::store::CustomerRow {
    match c.create(p, new, None, |_| Vec::new()).await.unwrap() {
        Created::New(row) => *row,
        Created::Replayed(_) => panic!("no request id, no replay"),
    }
}

fn filter(f: &str) -> ListParams {
    ListParams {
        filter: f.into(),
        ..ListParams::default()
    }
}

async fn profile_fields_round_trip_and_filter(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    let row = create(&c, &sys, acme(Some("D-0001"))).await;
    let read = c.get(&sys, row.id).await.unwrap();
    assert_eq!(read, row, "what is written is read back exactly");
    assert_eq!(
        read.legal_name.as_deref(),
        Some("Acme Trading (Shanghai) Co., Ltd.")
    );
    assert_eq!(read.lifecycle_stage, "PROSPECT", "no purchase yet");
    assert!(!read.stage_pinned);
    assert_eq!(read.value_tier, "C");
    assert_eq!(read.tag_list(), ["vip", "重点客户"]);
    assert_eq!(
        read.notes.as_deref(),
        Some("Prefers calls after 3 pm.\nBuys in Q4.")
    );
    let plain = create(
        &c,
        &sys,
        NewCustomer {
            display_name: DisplayName::parse("Plain").unwrap(),
            custom_fields: Default::default(),
            secrets: Default::default(),
            profile: Profile::default(),
            ..acme(None)
        },
    )
    .await;

    for (f, expected) in [
        (
            "lifecycle_stage = PROSPECT AND company_size = MEDIUM",
            vec![row.id],
        ),
        ("industry = \"manufacturing\" AND region:east", vec![row.id]),
        ("tags:vip", vec![row.id]),
        ("tags:重点", vec![row.id]),
        (
            "source = \"sap\" AND external_id = \"D-0001\"",
            vec![row.id],
        ),
        (
            "source_channel = TRADE_SHOW OR source_channel = REFERRAL",
            vec![row.id],
        ),
        ("-industry:*", vec![plain.id]),
        ("value_tier = C", vec![plain.id, row.id]),
    ] {
        let (rows, _) = c.list(&sys, &filter(f)).await.unwrap();
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        ids.sort();
        let mut want = expected.clone();
        want.sort();
        assert_eq!(ids, want, "{f}");
    }
    let bad = c.list(&sys, &filter("lifecycle_stage = SLEEPING")).await;
    assert!(matches!(bad, Err(Error::InvalidArgument(v)) if v[0].field == "filter"));
}

async fn an_update_mask_changes_only_the_named_fields_and_pins_the_stage(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    let row = create(&c, &sys, acme(None)).await;
    let mut incoming = acme(None).profile;
    incoming.tags = vec!["churn-risk".into()];
    incoming.lifecycle_stage = Some("AT_RISK");
    incoming.industry = None; // not in the mask: must stay
    let changes = Changes {
        profile: incoming,
        profile_fields: vec!["tags".into(), "lifecycle_stage".into()],
        ..Changes::default()
    };
    let updated = c
        .update(&sys, row.id, Some(row.version), changes)
        .await
        .unwrap();
    assert_eq!(updated.tag_list(), ["churn-risk"]);
    assert_eq!(updated.lifecycle_stage, "AT_RISK");
    assert!(updated.stage_pinned, "a stage set by hand is pinned");
    assert_eq!(updated.industry.as_deref(), Some("manufacturing"));
    let events = crm_customers::events::changed_fields(&row, &updated);
    assert_eq!(events, ["lifecycle_stage", "stage_pinned", "tags"]);

    // Unpinning hands the stage back to classification.
    let unpin = Changes {
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Profile::default(),
        profile_fields: vec!["stage_pinned".into()],
        ..Changes::default()
    };
    let unpinned = c.update(&sys, row.id, None, unpin).await.unwrap();
    assert!(!unpinned.stage_pinned);
    assert_eq!(
        unpinned.lifecycle_stage, "AT_RISK",
        "kept until reclassified"
    );
}

async fn an_external_id_belongs_to_one_customer(db: Db) {
    let c = Customers::new(Store::new(db));
    let sys = Principal::system();
    create(&c, &sys, acme(Some("D-0002"))).await;
    let again = c
        .create(&sys, acme(Some("D-0002")), None, |_| Vec::new())
        .await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
    // The same id from another system is another customer.
    let mut other = acme(Some("D-0002"));
    other.profile.source = Some("shopify".into());
    create(&c, &sys, other).await;
    // And an update cannot take an id that is in use.
    let third = create(&c, &sys, acme(Some("D-0003"))).await;
    let steal = Changes {
        profile: acme(Some("D-0002")).profile,
        profile_fields: vec!["external_id".into(), "source".into()],
        ..Changes::default()
    };
    let stolen = c.update(&sys, third.id, None, steal).await;
    assert!(matches!(stolen, Err(Error::AlreadyExists(_))), "{stolen:?}");
}

async fn upsert_creates_then_updates_and_never_duplicates_outside_scope(db: Db) {
    let c = Customers::new(Store::new(db));
    let erp = Principal::system();
    let (first, created, _) = c
        .upsert(&erp, acme(Some("D-0100")), None, Policy::Warn)
        .await
        .unwrap();
    assert!(created);
    let mut changed = acme(Some("D-0100"));
    changed.display_name = DisplayName::parse("Acme Group").unwrap();
    changed.profile.region = Some("north-china".into());
    let (second, created, _) = c
        .upsert(&erp, changed.clone(), None, Policy::Warn)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(
        second.id, first.id,
        "the same customer, found by source and external id"
    );
    assert_eq!(second.display_name, "Acme Group");
    assert_eq!(second.region.as_deref(), Some("north-china"));
    assert_eq!(second.version, first.version + 1);

    // With a mask, only the named fields are replaced.
    changed.display_name = DisplayName::parse("Ignored").unwrap();
    changed.profile.notes = Some("updated by the ERP".into());
    let (third, _, _) = c
        .upsert(
            &erp,
            changed.clone(),
            Some(vec!["notes".into()]),
            Policy::Warn,
        )
        .await
        .unwrap();
    assert_eq!(third.display_name, "Acme Group");
    assert_eq!(third.notes.as_deref(), Some("updated by the ERP"));

    // A caller who cannot see the customer gets NOT_FOUND, and no duplicate is created.
    let rep = Principal {
        subject: Subject::User(Uuid::now_v7()),
        unit_path: "/g/west/".into(),
        scopes: [("customers".to_owned(), DataScope::Unit("/g/west/".into()))].into(),
        ..Principal::system()
    };
    assert!(matches!(
        c.upsert(&rep, changed, None, Policy::Warn).await,
        Err(Error::NotFound(_))
    ));
    let (all, _) = c.list(&erp, &ListParams::default()).await.unwrap();
    assert_eq!(all.len(), 1);

    // Without the pair, nothing to upsert by.
    let missing = c.upsert(&erp, acme(None), None, Policy::Warn).await;
    assert!(
        matches!(&missing, Err(Error::InvalidArgument(v)) if v.iter().any(|f| f.field == "customer.external_id")),
        "{missing:?}"
    );
}
