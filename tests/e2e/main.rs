//! End-to-end tests: the `crm dev` stack started in-process on port 0, driven like a real
//! caller through the gateway, over gRPC (generated clients) and REST. The stack runs on
//! SQLite and, when `CRM_TEST_POSTGRES_URL` is set, on PostgreSQL too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth_flows;
mod bench;
mod browser;
mod bulk;
mod custom_methods;
mod customer_access;
mod duplicates;
mod events;
mod grpc;
mod harness;
mod identity;
mod matrix;
mod overview;
mod platform;
mod privacy;
mod rest;
mod retries;
mod sensitive;
mod web;
