//! # kwik-crud
//!
//! "Stop writing CRUD endpoints": describe a resource once as an [`Entity`] (usually with
//! `#[derive(Entity)]` from kwik-macros) and [`AutoCrud`] gives Kwik's operations — `get`,
//! `get_if_exist`, `get_multi`, `create`, `create_if_not_exist`, `update`, `delete`, plus
//! `get_for_update` and `set` for actions — on SQLite and PostgreSQL. Every operation runs in a
//! request scope ([`Context`]: the transaction and the [`Principal`]) and is restricted by the
//! resource's one base query ([`AutoCrud::base_query`], DRF's `get_queryset`), so ownership and
//! scoping rules hold for get, list, count, cursors, update, delete and foreign-key checks alike.
//! Writes are `INSERT/UPDATE ... RETURNING`; hooks before and after each write run in the same
//! transaction and may add server-set [`Values`]; the audit fields of Kwik's `RecordInfoMixin`
//! are set from the scope's user; references to missing rows are 422s at their field, deleting a
//! referenced row a 409 naming the referencing resource (the same on both databases).
//!
//! [`Decimal`] is an exact decimal that round-trips on both backends and sorts and filters
//! numerically on SQLite too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kwik_core::Result<()> {
//! use kwik_core::{Context, Db, settings::PoolSettings};
//! use kwik_crud::{AutoCrud, CreateInput, Entity, UpdateInput, Values};
//! use kwik_listing::{FieldSpec, FieldType, ListSchema};
//!
//! #[derive(Debug, Clone, sqlx::FromRow)]
//! struct Note { id: i64, text: String }
//! struct NoteCreate { text: String }
//! struct NoteUpdate { text: Option<String> }
//! impl CreateInput for NoteCreate {
//!     fn values(&self) -> Values { Values::from(vec![("text", self.text.clone().into())]) }
//! }
//! impl UpdateInput for NoteUpdate {
//!     fn values(&self) -> Values {
//!         Values::from(self.text.iter().map(|t| ("text", t.clone().into())).collect::<Vec<_>>())
//!     }
//! }
//! static NOTES: ListSchema = ListSchema::new("Note", "notes", "id",
//!     &[FieldSpec::new("id", FieldType::Int), FieldSpec::new("text", FieldType::Text)]);
//! impl Entity for Note {
//!     type Create = NoteCreate;
//!     type Update = NoteUpdate;
//!     type Crud = Notes;
//!     const TABLE: &'static str = "notes";
//!     const PRIMARY_KEY: &'static str = "id";
//!     const COLUMNS: &'static [&'static str] = &["id", "text"];
//!     const AUDITED: bool = false;
//!     fn list_schema() -> &'static ListSchema { &NOTES }
//!     fn id(&self) -> i64 { self.id }
//! }
//! #[derive(Default)]
//! struct Notes;
//! impl AutoCrud for Notes { type Entity = Note; }
//!
//! let db = Db::connect("sqlite::memory:", &PoolSettings::default()).await?;
//! let Db::Sqlite(pool) = &db else { unreachable!() };
//! sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)").execute(pool).await?;
//!
//! let mut ctx = Context::begin(&db, None).await?; // a system scope: every row, no user
//! let note = Notes.create(&mut ctx, NoteCreate { text: "hello".into() }).await?;
//! let note = Notes.update(&mut ctx, note.id, NoteUpdate { text: Some("hi".into()) }).await?;
//! ctx.commit().await?;
//! assert_eq!(note.text, "hi");
//! assert_eq!(Notes.get_if_exist(&mut Context::system(&db), 99).await.unwrap_err().to_string(),
//!            "Entity [notes] with id=99 does not exist");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod checks;
mod crud;
mod decimal;
mod entity;
mod table_check;

pub use checks::{Bound, Bounded, check_bound, check_custom, check_pattern};
pub use crud::{AutoCrud, Operation, exists_for, exists_in, ids_in_scope, own_rows_unless, select};
pub use decimal::{Decimal, DecimalError};
pub use entity::{ColumnKind, ColumnSpec, CreateInput, Entity, Reference, ScopeFuture, UpdateInput, Values};
pub use kwik_core::audit::AuditEntry;
pub use kwik_core::{Context, Principal};
pub use sea_query::Condition;
pub use table_check::check_table;

#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
    pub use sqlx;
}

/// Email syntax check used by `#[kwik(email)]` fields: whether [`normalize_email`] accepts it
/// (the same rule as users' emails).
pub fn is_valid_email(value: &str) -> bool {
    normalize_email(value).is_some()
}

pub use kwik_core::validate::normalize_email;
