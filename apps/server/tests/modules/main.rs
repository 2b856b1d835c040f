//! HTTP tests of the example server's Projects and Customers modules, run against the app that
//! `kwik-server` serves (`kwik_server::app::build`) on a fresh database of this run's backend
//! (SQLite, or PostgreSQL with `KWIK_TEST_DATABASE_URL`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod audit_log;
mod common;
mod customers;
mod etag;
mod listing;
mod orders;
mod projects;
mod resources;
mod soft_delete;
mod tables;
mod tenancy;
mod transactions;
mod upgrade;
