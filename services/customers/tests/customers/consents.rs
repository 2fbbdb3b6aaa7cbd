//! The consent ledger: decisions are added, never changed; the latest per purpose is current.
use crm_customers::{
    consents::NewConsent,
    domain::{DisplayName, Kind},
    error::Error,
    service::{Created, Customers, ListParams, NewCustomer},
    store::{MIGRATIONS, Store},
};
use crm_platform::{auth::Principal, db::Db};
use uuid::Uuid;

crm_platform::backend_tests!(MIGRATIONS;
    the_ledger_keeps_every_decision_and_the_latest_is_current,
);

fn decision(purpose: &'static str, status: &'static str, days_ago: i64) -> NewConsent {
    NewConsent {
        purpose,
        status,
        decided_at: Some(crm_platform::db::now() - chrono::Duration::days(days_ago)),
        source: "web form /signup".into(),
        evidence: format!("submission {purpose}-{days_ago}"),
    }
}

async fn the_ledger_keeps_every_decision_and_the_latest_is_current(db: Db) {
    let c = Customers::new(Store::new(db.clone()));
    let sys = Principal::system();
    let new = NewCustomer {
        display_name: DisplayName::parse("Consenting").unwrap(),
        kind: Kind::Person,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    let Created::New(customer) = c.create(&sys, new, None, |_| Vec::new()).await.unwrap() else {
        panic!("created");
    };
    let id: Uuid = customer.id;
    c.record_consent(&sys, id, decision("MARKETING_EMAIL", "GRANTED", 30))
        .await
        .unwrap();
    c.record_consent(&sys, id, decision("SMS", "GRANTED", 20))
        .await
        .unwrap();
    // Recorded late, but decided before the grant: it does not override it.
    c.record_consent(&sys, id, decision("MARKETING_EMAIL", "WITHDRAWN", 40))
        .await
        .unwrap();
    let withdrawal = c
        .record_consent(&sys, id, decision("SMS", "WITHDRAWN", 1))
        .await
        .unwrap();
    assert_eq!(withdrawal.recorded_by, "system");

    let (ledger, next, current) = c
        .list_consents(&sys, id, &ListParams::default())
        .await
        .unwrap();
    assert!(next.is_empty());
    assert_eq!(ledger.len(), 4, "every decision is kept");
    assert_eq!(ledger[0].id, withdrawal.id, "newest decision first");
    let now: Vec<(String, String)> = current
        .iter()
        .map(|r| (r.purpose.clone(), r.status.clone()))
        .collect();
    assert_eq!(
        now,
        [
            ("MARKETING_EMAIL".to_owned(), "GRANTED".to_owned()),
            ("SMS".to_owned(), "WITHDRAWN".to_owned())
        ]
    );
    let future = NewConsent {
        decided_at: Some(crm_platform::db::now() + chrono::Duration::days(1)),
        ..decision("PHONE", "GRANTED", 0)
    };
    assert!(matches!(
        c.record_consent(&sys, id, future).await,
        Err(Error::InvalidArgument(v)) if v[0].field == "consent.decide_time"
    ));
    let recorded = super::outbox_count(&db, "crm.customers.v1.consent.recorded").await;
    assert_eq!(recorded, 4);
}
