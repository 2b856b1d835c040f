//! # kwik-crud
//!
//! "Stop writing CRUD endpoints": describe a resource once as an [`Entity`] (usually with
//! `#[derive(Entity)]` from kwik-macros) and [`AutoCrud`] gives Kwik's operations — `get`,
//! `get_if_exist`, `get_multi`, `create`, `create_if_not_exist`, `update`, `delete` — on SQLite and
//! PostgreSQL, with the audit fields of Kwik's `RecordInfoMixin` set from the [`Context`]'s user,
//! hooks before and after each write (in the same transaction), and database errors turned into
//! framework errors (unique → 409, foreign key → 409, not-null/check → 422, bad value → 400).
//!
//! [`Decimal`] is an exact decimal that round-trips on both backends and sorts and filters
//! numerically on SQLite too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kwik_core::Result<()> {
//! use kwik_core::{Context, Db, settings::PoolSettings};
//! use kwik_crud::{AutoCrud, CreateInput, Entity, UpdateInput};
//! use kwik_listing::{FieldSpec, FieldType, ListSchema};
//! use sea_query::Expr;
//!
//! #[derive(Debug, Clone, sqlx::FromRow)]
//! struct Note { id: i64, text: String }
//! struct NoteCreate { text: String }
//! struct NoteUpdate { text: Option<String> }
//! impl CreateInput for NoteCreate {
//!     fn values(&self) -> Vec<(&'static str, Expr)> { vec![("text", Expr::val(self.text.clone()))] }
//! }
//! impl UpdateInput for NoteUpdate {
//!     fn values(&self) -> Vec<(&'static str, Expr)> {
//!         self.text.iter().map(|t| ("text", Expr::val(t.clone()))).collect()
//!     }
//! }
//! static NOTES: ListSchema = ListSchema::new("Note", "notes", "id",
//!     &[FieldSpec::new("id", FieldType::Int), FieldSpec::new("text", FieldType::Text)]);
//! impl Entity for Note {
//!     type Create = NoteCreate;
//!     type Update = NoteUpdate;
//!     const TABLE: &'static str = "notes";
//!     const PRIMARY_KEY: &'static str = "id";
//!     const COLUMNS: &'static [&'static str] = &["id", "text"];
//!     const AUDITED: bool = false;
//!     fn list_schema() -> &'static ListSchema { &NOTES }
//!     fn id(&self) -> i64 { self.id }
//! }
//! struct Notes;
//! impl AutoCrud for Notes { type Entity = Note; }
//!
//! let db = Db::connect("sqlite::memory:", &PoolSettings::default()).await?;
//! let Db::Sqlite(pool) = &db else { unreachable!() };
//! sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)").execute(pool).await?;
//!
//! let mut ctx = Context::begin(&db, None).await?;
//! let note = Notes.create(&mut ctx, NoteCreate { text: "hello".into() }).await?;
//! let note = Notes.update(&mut ctx, note.id, NoteUpdate { text: Some("hi".into()) }).await?;
//! ctx.commit().await?;
//! assert_eq!(note.text, "hi");
//! assert_eq!(Notes.get_if_exist(&mut db.clone(), 99).await.unwrap_err().to_string(),
//!            "Entity [notes] with id=99 does not exist");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod crud;
mod decimal;
mod entity;

pub use crud::{AutoCrud, select};
pub use decimal::{Decimal, DecimalError};
pub use entity::{CreateInput, Entity, UpdateInput};
pub use kwik_core::Context;

/// Email syntax check used by `#[kwik(email)]` fields (RFC 5321/5322 via `email_address`, and a
/// dot in the domain, as Kwik's email-validator requires).
pub fn is_valid_email(value: &str) -> bool {
    value.rsplit_once('@').is_some_and(|(_, domain)| domain.contains('.'))
        && email_address::EmailAddress::is_valid(value)
}
