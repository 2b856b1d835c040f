//! Shared per-process state handed to every handler as poem `Data`.

use std::sync::Arc;

use kwik_core::{Db, Settings};

/// What handlers share: the settings and the database pool. Cheap to clone.
///
/// Handlers receive it with `poem::web::Data<&AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded settings.
    pub settings: Arc<Settings>,
    /// The database pool (SQLite or PostgreSQL).
    pub db: Db,
}

impl AppState {
    /// Bundles settings and database.
    pub fn new(settings: Settings, db: Db) -> Self {
        Self { settings: Arc::new(settings), db }
    }
}
