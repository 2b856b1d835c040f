//! [`Context`]: what data-access code runs against — a transaction and, when known, the user
//! acting (Kwik's `UserCtx` / `NoUserCtx`).

use chrono::{DateTime, SubsecRound, Utc};

use crate::db::{Backend, Db, Tx};
use crate::error::Result;

/// One unit of work: a write transaction plus the id of the user acting (for audit fields).
/// Commit it with [`Context::commit`]; dropped without committing, everything rolls back, so an
/// error anywhere in a request leaves the database as it was.
#[derive(Debug)]
pub struct Context {
    /// The open transaction. Run sea-query statements on it with [`Queries`](crate::Queries).
    pub tx: Tx,
    /// The acting user, or `None` for system work (bootstrap, seeds, anonymous endpoints).
    pub user_id: Option<i64>,
}

impl Context {
    /// Opens a write transaction on `db` for `user_id`.
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) when no connection is free in time.
    pub async fn begin(db: &Db, user_id: Option<i64>) -> Result<Self> {
        Ok(Self { tx: db.begin_write().await?, user_id })
    }

    /// Commits the transaction.
    ///
    /// # Errors
    /// The database error.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await
    }

    /// Which engine the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }
}

/// The current time for audit fields, truncated to microseconds so that it round-trips exactly
/// through PostgreSQL `TIMESTAMPTZ` and SQLite text alike. Timestamps are set in Rust, never by
/// database defaults, so both backends store the same value.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
