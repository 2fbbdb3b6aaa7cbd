//! Duplicate checks on write (block, warn, allow; hidden candidates), merges and their undo.
use crm_customers::{
    consents::NewConsent,
    contact_points::NewContactPoint,
    domain::{DisplayName, Email, Kind, Phone},
    duplicates::Policy,
    error::Error,
    interactions::NewInteraction,
    merge::{MergeRequest, Rule},
    service::{Changes, Created, Customers, ListParams, NewCustomer},
    store::{CustomerRow, MIGRATIONS, Store},
    transactions::{Item, NewTransaction},
};
use crm_platform::{
    auth::{DataScope, Principal, Subject},
    db::Db,
};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    a_write_finds_its_duplicates_by_phone_email_and_pinyin_name,
    merge_then_undo_restores_every_customer_and_link,
    merges_are_checked_and_bounded_in_scope_and_time,
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

fn person(name: &str, email: Option<&str>, phone: Option<&str>) -> NewCustomer {
    NewCustomer {
        display_name: DisplayName::parse(name).unwrap(),
        kind: Kind::Person,
        email: email.map(|e| Email::parse(e).unwrap()),
        phone: phone.map(|p| Phone::parse(p).unwrap()),
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    }
}

async fn create(
    c: &Customers,
    p: &Principal,
    new: NewCustomer,
    policy: Policy,
) -> Result<(CustomerRow, Vec<crm_customers::duplicates::Candidate>), Error> {
    let (created, candidates) = c
        .create_checked(p, new, policy, None, |_, _| Vec::new())
        .await?;
    match created {
        Created::New(row) => Ok((*row, candidates)),
        Created::Replayed(_) => panic!("no replay without a request id"),
    }
}

async fn a_write_finds_its_duplicates_by_phone_email_and_pinyin_name(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let (ann, bob) = (user("/g/east/"), user("/g/west/"));
    let (zhang, _) = create(
        &c,
        &ann,
        person("张伟", Some("zhang.wei@example.com"), Some("138 1234 5678")),
        Policy::Warn,
    )
    .await
    .unwrap();

    // The same person typed in pinyin with the phone in another format: a likely duplicate.
    let twin = || person("Zhang Wei", None, Some("+86 138-1234-5678"));
    let blocked = create(&c, &ann, twin(), Policy::Block).await;
    let Err(Error::Duplicate(check)) = blocked else {
        panic!("expected a duplicate, got {blocked:?}");
    };
    assert_eq!(check.candidates.len(), 1, "{check:?}");
    let found = &check.candidates[0];
    assert_eq!(found.id, zhang.id);
    assert!(found.duplicate && found.score >= 0.85, "{found:?}");
    assert!(found.reasons.iter().any(|r| r == "same phone"), "{found:?}");
    assert!(
        found.reasons.iter().any(|r| r.contains("pinyin")),
        "{found:?}"
    );
    let meta = check.metadata();
    assert_eq!(meta["candidates"], format!("customers/{}", zhang.id));
    let (all, _) = c.list(&ann, &ListParams::default()).await.unwrap();
    assert_eq!(all.len(), 1, "a blocked create stores nothing");

    // Someone who cannot see the existing customer is blocked too, but learns no name.
    let hidden = create(&c, &bob, twin(), Policy::Block).await;
    let Err(Error::Duplicate(check)) = hidden else {
        panic!("expected a duplicate, got {hidden:?}");
    };
    assert!(check.candidates.is_empty());
    assert_eq!(check.hidden_duplicates, 1);
    assert!(
        !check
            .metadata()
            .values()
            .any(|v| v.contains(&zhang.id.to_string()))
    );

    // Warn stores it and names the candidate; allow does not look.
    let (warned, candidates) = create(&c, &ann, twin(), Policy::Warn).await.unwrap();
    assert_eq!(candidates.len(), 1);
    assert_eq!(candidates[0].id, zhang.id);
    let (_, none) = create(&c, &ann, twin(), Policy::Allow).await.unwrap();
    assert!(none.is_empty());

    // An unrelated customer has no candidates; an email match on its own is found.
    let (_, unrelated) = create(
        &c,
        &ann,
        person("Maria Schmidt", Some("maria@schmidt.example"), None),
        Policy::Warn,
    )
    .await
    .unwrap();
    assert!(unrelated.is_empty(), "{unrelated:?}");
    let (_, by_email) = create(
        &c,
        &ann,
        person("M. Schmidt", Some("Maria@Schmidt.example"), None),
        Policy::Warn,
    )
    .await
    .unwrap();
    assert!(
        by_email
            .iter()
            .any(|c| c.reasons.iter().any(|r| r == "same email")),
        "{by_email:?}"
    );

    // A change of the identifying fields re-keys the customer: renamed away, it no longer
    // matches by name (the phone still does).
    let renamed = Changes {
        display_name: Some(DisplayName::parse("Wang Fang").unwrap()),
        phone: Some(None),
        ..Changes::default()
    };
    c.update(&ann, warned.id, None, renamed).await.unwrap();
    let check = c.check_duplicates(&ann, &zhang).await.unwrap();
    assert!(
        check.candidates.iter().all(|x| x.id != warned.id),
        "{check:?}"
    );
    assert!(
        !check.candidates.is_empty(),
        "the allowed twin is still found"
    );
}

fn order(reference: &str, amount_minor: i64) -> NewTransaction {
    NewTransaction {
        order_reference: reference.into(),
        order_time: crm_platform::db::now() - chrono::Duration::days(3),
        amount_minor,
        currency: "CNY".into(),
        items: vec![Item {
            product: "Tea".into(),
            quantity: 1,
            unit_price_minor: Some(amount_minor),
        }],
        channel: Some("STORE"),
        status: "COMPLETED",
    }
}

fn point(kind: &'static str, value: &str) -> NewContactPoint {
    NewContactPoint {
        kind,
        label: "work".into(),
        primary: true,
        value: value.into(),
    }
}

fn note(subject: &str) -> NewInteraction {
    NewInteraction {
        r#type: "CALL",
        direction: Some("INBOUND"),
        occurred_at: None,
        duration_seconds: 60,
        subject: subject.into(),
        body: String::new(),
        participants: Vec::new(),
        user_id: None,
        outcome: String::new(),
    }
}

/// Everything a merge touches, to compare before and after.
async fn snapshot(
    c: &Customers,
    id: Uuid,
) -> (
    Vec<(&'static str, String)>,
    String,
    i64,
    usize,
    Vec<(String, bool)>,
    usize,
) {
    let sys = Principal::system();
    let row = c.get(&sys, id).await.unwrap();
    let (interactions, _) = c
        .list_interactions(&sys, id, &ListParams::default())
        .await
        .unwrap();
    let mut points: Vec<(String, bool)> = c
        .list_contact_points(&sys, id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.value, p.is_primary))
        .collect();
    points.sort();
    let (orders, _) = c
        .list_transactions(&sys, id, &ListParams::default())
        .await
        .unwrap();
    (
        row.field_values(),
        row.custom_fields,
        row.lifetime_value_minor,
        interactions.len(),
        points,
        orders.len(),
    )
}

async fn merge_then_undo_restores_every_customer_and_link(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let (s, _) = create(
        &c,
        &sys,
        person("Li Na", Some("li.na@example.com"), None),
        Policy::Allow,
    )
    .await
    .unwrap();
    let mut other = person("李娜", None, Some("13900001111"));
    other.profile.notes = Some("met at the fair".into());
    other.profile.industry = Some("retail".into());
    other.profile.tags = vec!["fair".into()];
    let (m, _) = create(&c, &sys, other, Policy::Allow).await.unwrap();
    c.update(
        &sys,
        s.id,
        None,
        Changes {
            profile: crm_customers::profile::Profile {
                tags: vec!["vip".into()],
                ..Default::default()
            },
            profile_fields: vec!["tags".into()],
            ..Changes::default()
        },
    )
    .await
    .unwrap();
    // Both know the same email address and order O-1; M alone has a phone, O-2, two calls.
    for id in [s.id, m.id] {
        c.add_contact_point(&sys, id, point("EMAIL", "li.na@example.com"))
            .await
            .unwrap();
        c.record_transaction(&sys, id, order("O-1", 5000))
            .await
            .unwrap();
    }
    c.add_contact_point(&sys, s.id, point("PHONE", "+8613900002222"))
        .await
        .unwrap();
    c.add_contact_point(&sys, m.id, point("PHONE", "+8613900001111"))
        .await
        .unwrap();
    c.record_transaction(&sys, m.id, order("O-2", 7000))
        .await
        .unwrap();
    for subject in ["first call", "second call"] {
        c.create_interaction(&sys, m.id, note(subject))
            .await
            .unwrap();
    }
    c.record_consent(
        &sys,
        m.id,
        NewConsent {
            purpose: "MARKETING_EMAIL",
            status: "GRANTED",
            decided_at: None,
            source: "fair".into(),
            evidence: String::new(),
        },
    )
    .await
    .unwrap();
    let (s_before, m_before) = (snapshot(&c, s.id).await, snapshot(&c, m.id).await);
    let m_row_before = c.get(&sys, m.id).await.unwrap();

    let req = MergeRequest {
        survivor: s.id,
        merged: vec![m.id],
        rules: [("display_name".to_owned(), Rule::KeepSurvivor)].into(),
        default_rule: Rule::FillEmpty,
        etag: Some(c.get(&sys, s.id).await.unwrap().version),
    };
    let merge = c.merge(&sys, &req).await.unwrap();
    assert_eq!(merge.state, "MERGED");
    let merged = c.get(&sys, s.id).await.unwrap();
    assert_eq!(merged.display_name, "Li Na");
    assert_eq!(merged.phone.as_deref(), Some("+8613900001111"), "filled");
    assert_eq!(merged.notes.as_deref(), Some("met at the fair"));
    assert_eq!(merged.tag_list(), vec!["vip", "fair"]);
    assert_eq!(
        merged.lifetime_value_minor,
        5000 + 7000,
        "O-1 once, O-2 moved"
    );
    assert!(matches!(c.get(&sys, m.id).await, Err(Error::NotFound(_))));
    let (listed, _) = c.list(&sys, &ListParams::default()).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![s.id]);
    let after = snapshot(&c, s.id).await;
    assert_eq!(after.3, 2, "the calls moved");
    assert_eq!(after.5, 2, "O-2 moved, O-1 stayed apart");
    assert_eq!(
        after.4,
        vec![
            ("+8613900001111".to_owned(), false),
            ("+8613900002222".to_owned(), true),
            ("li.na@example.com".to_owned(), true),
        ],
        "the survivor keeps its primaries; the same email is not doubled"
    );
    let kept = &merge.details.kept_apart;
    assert!(kept.contains(&"transaction O-1".to_owned()), "{kept:?}");
    assert!(
        kept.iter().any(|k| k.contains("li.na@example.com")),
        "{kept:?}"
    );
    assert_eq!(
        crate::outbox_count(&db, "crm.customers.v1.customer.merged").await,
        1
    );
    let (trail, _) = c.history(&sys, m.id, &ListParams::default()).await.unwrap();
    assert_eq!(trail[0].action, "MERGED");

    // Undo: both customers and every link as they were.
    let undone = c.undo_merge(&sys, merge.id).await.unwrap();
    assert_eq!(undone.state, "UNDONE");
    assert_eq!(snapshot(&c, m.id).await, m_before);
    let m_row_after = c.get(&sys, m.id).await.unwrap();
    assert_eq!(
        m_row_after, m_row_before,
        "the merged row exactly as it was"
    );
    let s_after = snapshot(&c, s.id).await;
    assert_eq!(s_after, s_before);
    assert_eq!(
        crate::outbox_count(&db, "crm.customers.v1.customer.unmerged").await,
        1
    );
    let again = c.undo_merge(&sys, merge.id).await;
    assert!(
        matches!(again, Err(Error::FailedPrecondition(_))),
        "{again:?}"
    );
    let listed = c.list_merges(&sys, Some(s.id), 10, None).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "UNDONE");
}

async fn merges_are_checked_and_bounded_in_scope_and_time(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let (ann, bob) = (user("/g/east/"), user("/g/west/"));
    let a = crate::new_customer(&c, &ann, "Acme Ltd", Kind::Organization).await;
    let a2 = crate::new_customer(&c, &ann, "ACME Limited", Kind::Organization).await;
    let b = crate::new_customer(&c, &bob, "Acme Co", Kind::Organization).await;
    let p = crate::new_customer(&c, &ann, "Ann Acme", Kind::Person).await;
    let req = |survivor, merged: Vec<Uuid>| MergeRequest {
        survivor,
        merged,
        ..MergeRequest::default()
    };
    let own = c.merge(&ann, &req(a, vec![a])).await;
    assert!(matches!(own, Err(Error::InvalidArgument(_))), "{own:?}");
    let none = c.merge(&ann, &req(a, vec![])).await;
    assert!(matches!(none, Err(Error::InvalidArgument(_))), "{none:?}");
    let foreign = c.merge(&ann, &req(a, vec![b])).await;
    assert!(matches!(foreign, Err(Error::NotFound(_))), "{foreign:?}");
    let kinds = c.merge(&ann, &req(a, vec![p])).await;
    assert!(matches!(kinds, Err(Error::InvalidArgument(_))), "{kinds:?}");
    let bad_rule = MergeRequest {
        rules: [("kind".to_owned(), Rule::MostRecent)].into(),
        ..req(a, vec![a2])
    };
    assert!(matches!(
        c.merge(&ann, &bad_rule).await,
        Err(Error::InvalidArgument(_))
    ));
    let stale = MergeRequest {
        etag: Some(99),
        ..req(a, vec![a2])
    };
    assert!(matches!(
        c.merge(&ann, &stale).await,
        Err(Error::EtagMismatch(_))
    ));

    let merge = c.merge(&ann, &req(a, vec![a2])).await.unwrap();
    // Bob sees neither the survivor nor its merges.
    assert!(matches!(
        c.get_merge(&bob, merge.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(
        c.list_merges(&bob, None, 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    // After the undo period, the merge stands.
    crm_platform::with_pool!(&db, |pool| sqlx::query(
        "UPDATE customer_merges SET undo_deadline = $1"
    )
    .bind(crm_platform::db::now() - chrono::Duration::hours(1))
    .execute(pool)
    .await
    .map(drop))
    .unwrap();
    let late = c.undo_merge(&ann, merge.id).await;
    assert!(
        matches!(late, Err(Error::FailedPrecondition(_))),
        "{late:?}"
    );
    assert!(matches!(c.get(&ann, a2).await, Err(Error::NotFound(_))));

    // The daily job then deletes the merged customer for good; the merge stays on record.
    let count = |db: Db| async move {
        crm_platform::with_pool!(&db, |pool| sqlx::query_as::<_, (i64,)>(
            "SELECT COUNT(*) FROM customers WHERE id = $1"
        )
        .bind(a2)
        .fetch_one(pool)
        .await
        .unwrap())
        .0
    };
    assert_eq!(
        count(db.clone()).await,
        1,
        "kept, hidden, while undo was possible"
    );
    let mut tx = db.begin().await.unwrap();
    let purged = crm_customers::jobs::purge_expired_merges(&mut tx, crm_platform::db::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(purged, 1);
    assert_eq!(count(db.clone()).await, 0);
    let kept = c.get_merge(&ann, merge.id).await.unwrap();
    assert_eq!(kept.state, "MERGED");
    assert_eq!(kept.merged_ids, vec![a2]);
    let mut tx = db.begin().await.unwrap();
    let again = crm_customers::jobs::purge_expired_merges(&mut tx, crm_platform::db::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again, 0, "each merge is purged once");
}
