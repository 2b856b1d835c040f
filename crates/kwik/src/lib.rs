//! # kwik
//!
//! Kwik for Rust through one dependency: the layers (`core`, `auth`, `rbac`, `listing`, `crud`,
//! `http`), the derives (`Entity`, `FromRow`, `TextEnum`), the `module!` and `permission!`
//! macros, background jobs and schedules (`jobs`), email (`mail`), and a [`prelude`] with what a resource module and `main.rs`
//! use. The derives detect
//! this crate in the user's Cargo.toml and name everything through it, so a service lists `kwik`
//! (and `tokio`) and none of poem, poem-openapi, sqlx, sea-query or serde. The individual crates
//! stay usable on their own.
//!
//! ```
//! use kwik::prelude::*;
//!
//! /// A note.
//! #[derive(Debug, Clone, FromRow, Object, Entity)]
//! #[kwik(table = "notes", api(path = "/notes/", read = "note_read", create = "note_create"))]
//! pub struct Note {
//!     #[kwik(primary_key)]
//!     pub id: i64,
//!     /// The text, 1 to 500 characters.
//!     #[kwik(create, sortable, filterable, min_length = 1, max_length = 500)]
//!     pub text: String,
//! }
//!
//! assert_eq!(<Note as kwik::crud::Entity>::TABLE, "notes");
//! let _api = NoteApi; // the generated endpoints, ready for a module
//! ```
//!
//! Features: `testing` (the test kit, as `kwik::testing`). SQLite and PostgreSQL are both always
//! compiled in for now.
#![forbid(unsafe_code)]

pub use kwik_auth as auth;
pub use kwik_core as core;
pub use kwik_crud as crud;
pub use kwik_http as http;
pub use kwik_jobs as jobs;
pub use kwik_listing as listing;
pub use kwik_mail as mail;
pub use kwik_rbac as rbac;
#[cfg(feature = "testing")]
pub use kwik_testing as testing;

/// Dates and times (chrono), as entity fields hold them.
pub use chrono;
pub use kwik_core::schema;
pub use kwik_http::{module, permission};
pub use kwik_macros::{Entity, FromRow, TextEnum};
/// SQL statements (sea-query) for hand-written queries: run them with [`prelude::Queries`]
/// (`ctx.tx.fetch_all(&query)`).
pub use sea_query as sql;
/// serde, for job arguments: `#[derive(Serialize, Deserialize)]` with
/// `#[serde(crate = "kwik::serde")]` (or list `serde` in Cargo.toml and leave the attribute out).
pub use serde;
/// JSON values and the `json!` macro (serde_json), for hooks and tests.
pub use serde_json as json;

/// What a resource module and `main.rs` use: `use kwik::prelude::*;` (needed by the derives:
/// poem-openapi's name `poem_openapi` relative to the module, which the prelude provides).
pub mod prelude {
    pub use crate::{Entity, FromRow, TextEnum, module, permission};
    pub use chrono::{DateTime, Utc};
    pub use kwik_core::schema::{Column, Dialect, Index, Migration, Table};
    pub use kwik_core::{Context, Db, Error, Principal, Queries, Result, Settings};
    pub use kwik_crud::Entity as _;
    pub use kwik_crud::{AutoCrud, Condition, Decimal, Operation, Values, ids_in_scope, own_rows_unless};
    pub use kwik_http::{ApiResult, App, AppState, Auth, Tagged};
    pub use kwik_jobs::{Job, JobContext, JobError};
    pub use poem::web::Data;
    pub use poem_openapi::param::Path;
    pub use poem_openapi::payload::Json;
    pub use poem_openapi::{Enum, Object, OpenApi};

    #[doc(hidden)]
    pub use poem_openapi;
}

#[doc(hidden)]
pub mod __private {
    pub use kwik_core;
    pub use kwik_crud;
    pub use kwik_http;
    pub use kwik_listing;
    pub use poem;
    pub use poem_openapi;
    pub use sea_query;
    pub use serde;
    pub use serde_json;
    pub use sqlx;
}
