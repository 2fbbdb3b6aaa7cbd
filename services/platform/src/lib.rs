//! Shared machinery of every CRM service. It holds no business types: configuration,
//! telemetry, the error model, storage, the gRPC server stack, auth seam, filters and paging.
pub mod auth;
pub mod bulk;
pub mod config;
pub mod crypto;
pub mod db;
pub mod denylist;
pub mod error;
pub mod events;
pub mod filter;
pub mod grpc;
pub mod idempotency;
pub mod middleware;
pub mod paging;
pub mod permissions;
pub mod proto_time;
pub mod request;
pub mod server;
pub mod sql;
pub mod telemetry;
pub mod testing;
pub mod token;
