//! # kwik-core
//!
//! The foundation of Kwik for Rust: the framework's [`Error`] type (with Kwik's status codes and
//! `detail` texts), [`Settings`] read from `KWIK_*` environment variables, and the
//! [`Db`] handle over SQLite or PostgreSQL with embedded migrations.
//!
//! ```
//! use kwik_core::Error;
//!
//! let err = Error::not_found("users", 5);
//! assert_eq!(err.status(), 404);
//! assert_eq!(err.body()["detail"], "Entity [users] with id=5 does not exist");
//! ```
#![forbid(unsafe_code)]

pub mod audit;
pub mod context;
pub mod db;
pub mod error;
pub mod schema;
pub mod settings;
pub mod validate;

pub use context::{Context, Principal, now, principal_changes};
pub use db::{Backend, Db, DbRow, Executor, MigrationSet, Queries, Tx};
/// sea-query, whose expressions [`schema`] takes for checks, defaults and partial indexes.
pub use sea_query;
pub use settings::Settings;
#[doc(hidden)]
pub use sqlx;
pub use validate::{Rules, Validate};

pub use error::{Error, Result, ValidationIssue};
