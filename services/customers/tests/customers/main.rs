//! Tests of the customers service on real databases: every test runs on SQLite and, when
//! `CRM_TEST_POSTGRES_URL` is set, on PostgreSQL (`sqlite::name` / `postgres::name`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod service;
mod store;

use crm_customers::store::CustomerRow;
use crm_platform::db;
use uuid::Uuid;

/// A valid row owned by `owner` in `unit`.
pub fn row(name: &str, owner: Option<Uuid>, unit: &str) -> CustomerRow {
    let now = db::now();
    CustomerRow {
        id: Uuid::now_v7(),
        display_name: name.to_owned(),
        kind: "PERSON".to_owned(),
        email: Some(format!(
            "{}@example.com",
            name.to_lowercase().replace(' ', ".")
        )),
        phone: None,
        owner_id: owner,
        owner_unit_path: unit.to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
    }
}
