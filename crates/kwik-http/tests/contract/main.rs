//! Kwik's HTTP contract (shared/kwik-contract/CONTRACT.md) for the built-in API, over HTTP, on the
//! backend of this run (`cargo xtask test` runs it on SQLite and on PostgreSQL).
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failures should panic

mod bounds;
mod common;
mod escalation;
mod login;
mod permissions;
mod roles;
mod security;
mod users;
