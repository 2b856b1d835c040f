//! # kwik-macros
//!
//! `#[derive(Entity)]`: describe a resource once and get its table mapping, client inputs,
//! validation, list allow-list, an [`AutoCrud`](../kwik_crud/trait.AutoCrud.html) and —
//! optionally — its five standard endpoints.
//!
//! ```ignore
//! #[derive(Debug, Clone, sqlx::FromRow, poem_openapi::Object, kwik_macros::Entity)]
//! #[kwik(table = "projects", audit, api(path = "/projects/", read = "project_read",
//!        create = "project_create", update = "project_update", delete = "project_delete"))]
//! pub struct Project {
//!     #[kwik(primary_key, sortable, filterable)]
//!     pub id: i64,
//!     #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
//!     pub name: String,
//!     #[kwik(create, update, filterable)]
//!     pub description: Option<String>,
//!     // audit fields (with `audit`): creator_user_id, last_modifier_user_id,
//!     // creation_time, last_modification_time
//! }
//! ```
//!
//! A runnable example (without `api(...)`, which also needs kwik-http):
//!
//! ```
//! use kwik_core::{Rules, Validate};
//! use kwik_crud::{CreateInput, Entity};
//!
//! #[derive(Debug, Clone, sqlx::FromRow, poem_openapi::Object, kwik_macros::Entity)]
//! #[kwik(table = "notes")]
//! pub struct Note {
//!     #[kwik(primary_key)]
//!     pub id: i64,
//!     /// The text.
//!     #[kwik(create, update, sortable, filterable, min_length = 1)]
//!     pub text: String,
//! }
//!
//! assert_eq!(Note::TABLE, "notes");
//! assert_eq!(Note::COLUMNS, ["id", "text"]);
//! assert!(Note::list_schema().field("text").is_some_and(|f| f.sortable));
//!
//! let empty = NoteCreate { text: String::new() };
//! let issues = empty.validate(&Rules::default());
//! assert_eq!(issues[0].loc, ["body", "text"]);
//! assert_eq!(empty.values().columns().collect::<Vec<_>>(), ["text"]);
//!
//! let nothing = NoteUpdate::default();
//! assert_eq!(nothing.validate(&Rules::default())[0].msg, "Value error, at least one field must be provided");
//! ```
//!
//! Struct attributes (`#[kwik(...)]`):
//! - `table = "name"` (required);
//! - `audit`: the struct has Kwik's four `RecordInfoMixin` fields, set by the framework only;
//! - `soft_delete`: the struct has `deleted_at` and `deleter_user_id`; `DELETE` sets them and every
//!   other operation skips such rows (with `api(restore = "..")`: `POST /things/{id}/restore` and
//!   the list's `include_deleted=true`, both needing that permission);
//! - `tenant_scoped`: the struct has `tenant_id: i64`; with multi-tenancy on, every statement is
//!   restricted to the caller's tenant and inserts take it from the caller (never the client);
//! - `audit_log`: every AutoCrud write records an audit-log entry in its transaction (the fields
//!   must implement poem-openapi's `ToJSON`, as every `Object` field does); fields may say
//!   `audit_log = "exclude"` or `audit_log = "redact"`, and fields named like a secret
//!   (`password`, `secret`, `token`, `hash`) are redacted;
//! - `crud = "Type"`: use your own `AutoCrud` implementation (a `Default` type; default: a
//!   generated `<Name>Crud`). Its `base_query` scopes every generated endpoint;
//! - `api(path = "/things/", list = .., get = .., create = .., update = .., delete = .., tag = "Name")`:
//!   generate `<Name>Api` with the operations named, each requiring its permission: `"a"`,
//!   `"a, b"` (all of them) or `"a | b"` (any one). `read = ..` is `list` and `get` together.
//!   An operation left out is not routed (405), so a hand-written one can take its place; two
//!   operations on one method and path stop the app at start-up. The operations carry the OpenAPI
//!   tag `tag` (default: the table name in PascalCase), described by the struct's doc comment.
//!
//! Field attributes: `primary_key` (an `i64`), `create` (client-writable on create), `update`
//! (client-writable on update), `sortable`, `filterable`, `default = "path::to::fn"` or a literal
//! (`default = true`; create default), `min_length = N`, `max_length = N` (characters), `email`,
//! `pattern = "regex"`, `minimum`, `exclusive_minimum`, `maximum`, `exclusive_maximum` (numbers,
//! exact for `Decimal`), `validate = "path::to::fn"` (a `fn(&T) -> Result<(), String>`), `text_enum`
//! (a [`TextEnum`](derive@TextEnum) field, sorted and filtered as text), `references = "Target"`
//! (a foreign key to another entity: a missing target, or one outside the caller's read scope, is
//! a 422 at the field), `nested(path = "/targets/", name = "things", list = .., create = ..)` on a
//! reference (`GET`/`POST /targets/{id}/things`), and `computed = "path::to::fn"` (a
//! `fn(&Entity) -> T` filling a `#[sqlx(skip)]` field after every read and write). Fields without
//! `create`/`update` are never client-settable; hide a field from responses with `#[oai(skip)]`.
//!
//! Generated: `impl kwik_crud::Entity`, `<Name>Create` and `<Name>Update` (poem-openapi objects
//! with serde and `Validate`; update fields are optional, nullable ones use `MaybeUndefined` so
//! `null` clears and absence keeps), `<Name>NestedCreate` (a nested route's body when the parent
//! key is a create field), the allow-list, `<Name>Crud` (unless `crud` is given), and `<Name>Api`
//! (with `api(...)`). A crate that depends on the `kwik` facade needs nothing else: the generated
//! paths go through `::kwik::__private` (found with proc-macro-crate); otherwise the user crate
//! needs `poem`, `poem-openapi`, `serde`, `sqlx`, `sea-query`, `kwik-core`, `kwik-crud`,
//! `kwik-listing` and, for `api`, `kwik-http`.
#![forbid(unsafe_code)]

mod api;
mod attrs;
mod db_enum;
mod entity;
mod from_row;
mod reroot;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `kwik_crud::Entity` and friends; see the crate documentation.
#[proc_macro_derive(Entity, attributes(kwik))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match entity::expand(&input) {
        Ok(tokens) => reroot::through_facade(tokens).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Derives text storage for an enum that also derives `poem_openapi::Enum`: serde, sqlx
/// (`TEXT` on SQLite and PostgreSQL), sea-query values, `as_text`/`from_text`/`VARIANTS`.
/// The stored text is the variant's OpenAPI name (so `#[oai(rename_all = "snake_case")]`
/// decides both). Mark entity fields of the type `#[kwik(text_enum)]` to sort and filter them.
#[proc_macro_derive(TextEnum)]
pub fn derive_text_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match db_enum::expand(&input) {
        Ok(tokens) => reroot::through_facade(tokens).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Derives sqlx's `FromRow` for a struct with named fields: each field read from the column of
/// its name, `#[sqlx(skip)]` fields set to their `Default`. Use it instead of sqlx's derive in a
/// crate that depends only on the `kwik` facade (sqlx's names `::sqlx`, which such a crate does
/// not have); it works with the individual crates too (then the crate needs `sqlx`).
#[proc_macro_derive(FromRow, attributes(sqlx))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match from_row::expand(&input) {
        Ok(tokens) => reroot::through_facade(tokens).into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// `sqlx::migrate!("dir")`, routed through the `kwik` facade when the using crate depends on it:
/// sqlx's own expansion (same resolution, checksums and `-- no-transaction` handling), with its
/// `::sqlx` paths through `::kwik::__private`. What `module!`'s `migrations: (...)` uses.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    let path = parse_macro_input!(input as syn::LitStr);
    match sqlx_macros_core::migrate::expand(Some(path)) {
        Ok(tokens) => reroot::through_facade(tokens).into(),
        Err(err) => {
            let message = err.to_string();
            quote::quote!(::std::compile_error!(#message)).into()
        }
    }
}
