//! The matcher's scenarios and its quality on labelled synthetic data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod addresses;
mod clustering;
mod compare;
mod synthetic;
