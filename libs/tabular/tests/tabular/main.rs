//! Integration tests for crm-tabular. One binary, several modules, so the
//! crate is compiled once for all of them.

mod awkward;
mod common;
mod csv_read;
mod csv_write;
mod header;
mod roundtrip;
mod scale;
mod values;
