//! Tests of the customers service on real databases: every test runs on SQLite and, when
//! `CRM_TEST_POSTGRES_URL` is set, on PostgreSQL (`sqlite::name` / `postgres::name`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod consents;
mod contact_points;
mod contacts;
mod history;
mod interactions;
mod profile;
mod reminders;
mod service;
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
