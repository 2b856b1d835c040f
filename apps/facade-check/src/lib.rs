//! A resource module written the way the handbook tells a new service to write it: one
//! dependency, `kwik`, and `use kwik::prelude::*;`. Built and tested in the workspace, so a
//! derive or macro that names a crate the user does not have fails the build here.

use kwik::prelude::*;

/// Where a note stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Enum, TextEnum)]
#[oai(rename_all = "snake_case")]
pub enum NoteState {
    /// Being written.
    #[default]
    Draft,
    /// Done.
    Done,
}

/// A note.
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "notes", audit, audit_log,
    api(path = "/notes/", read = "note_read", create = "note_create", update = "note_update", delete = "note_delete"))]
pub struct Note {
    /// Note id.
    #[kwik(primary_key)]
    pub id: i64,
    /// The text, 1 to 500 characters.
    #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 500)]
    pub text: String,
    /// `draft` (default) or `done`.
    #[kwik(create, update, sortable, filterable, text_enum, default = "NoteState::default")]
    pub state: NoteState,
    /// An exact amount.
    #[kwik(create, update, default = "zero")]
    pub amount: Decimal,
    /// When it was created.
    pub creation_time: DateTime<Utc>,
    /// When it last changed.
    pub last_modification_time: DateTime<Utc>,
    /// Who created it.
    pub creator_user_id: Option<i64>,
    /// Who changed it last.
    pub last_modifier_user_id: Option<i64>,
}

fn zero() -> Decimal {
    Decimal::ZERO
}

/// The notes table, once for both databases (the files under `migrations/` are generated).
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::new(1, "notes").comment("Notes: the facade check's one resource.").create_table(
            Table::new("notes")
                .id()
                .column(Column::text("text"))
                .column(Column::text("state"))
                .column(Column::decimal("amount"))
                .record_info(),
        ),
    ]
}

module! {
    /// The Notes module.
    pub Notes {
        name: "notes",
        api: NoteApi,
        migrations: ("migrations/sqlite", "migrations/postgres"),
        permissions: ["note_read", "note_create", "note_update", "note_delete"],
    }
}

/// The app: the built-in API plus notes.
pub fn build(state: AppState) -> App<impl OpenApi + Clone + Send + Sync + 'static> {
    App::new(state).module(kwik::http::builtin::Builtin).module(Notes)
}
