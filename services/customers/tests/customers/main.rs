//! Tests of the customers service on real databases: every test runs on SQLite and, when
//! `CRM_TEST_POSTGRES_URL` is set, on PostgreSQL (`sqlite::name` / `postgres::name`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod address_duplicates;
mod backfill;
mod bulk;
mod consents;
mod contact_points;
mod contacts;
mod custom_fields;
mod duplicates;
mod exports;
mod history;
mod interactions;
mod plain_sheets;
mod privacy;
mod profile;
mod reminders;
mod scans;
mod search;
mod sensitive;
mod service;
mod sharing;
mod statistics;
mod store;
mod transactions;

use crm_customers::{domain::Kind, store::CustomerRow};
use crm_platform::db;
use uuid::Uuid;

/// A valid row owned by `owner` in `unit`.
pub fn row(name: &str, owner: Option<Uuid>, unit: &str) -> CustomerRow {
    let now = db::now();
    CustomerRow {
        email: Some(format!(
            "{}@example.com",
            name.to_lowercase().replace(' ', ".")
        )),
        ..CustomerRow::new(name, Kind::Person, owner, unit, now)
    }
}

/// The events in the outbox, in commit order.
pub async fn outbox(db: &db::Db) -> Vec<crm_proto::crm::events::v1::Event> {
    let rows: Vec<(Vec<u8>,)> = crm_platform::with_pool!(db, |pool| sqlx::query_as(
        "SELECT event FROM outbox ORDER BY seq"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    rows.iter()
        .map(|(bytes,)| crm_platform::events::decode(bytes).unwrap())
        .collect()
}

/// How many events of type `ty` the outbox holds.
pub async fn outbox_count(db: &db::Db, ty: &str) -> usize {
    outbox(db).await.iter().filter(|e| e.r#type == ty).count()
}

/// Creates a customer named `name` as `p` (no request id) and returns its id.
pub async fn new_customer(
    c: &crm_customers::service::Customers,
    p: &crm_platform::auth::Principal,
    name: &str,
    kind: Kind,
) -> Uuid {
    let new = crm_customers::service::NewCustomer {
        display_name: crm_customers::domain::DisplayName::parse(name).unwrap(),
        kind,
        email: None,
        phone: None,
        owner_id: None,
        custom_fields: Default::default(),
        secrets: Default::default(),
        profile: Default::default(),
    };
    match c.create(p, new, None, |_| Vec::new()).await.unwrap() {
        crm_customers::service::Created::New(row) => row.id,
        crm_customers::service::Created::Replayed(_) => panic!("no replay without a request id"),
    }
}
