//! Putting jobs in the queue, inside the caller's transaction.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::prelude::{Task, TaskBuilder, TaskId};
use kwik_core::{Context, Error, Result, Tx};
use sqlx::Acquire;

use crate::job::Job;

/// A queued job's id: a ULID (26 characters), the `id` of `GET /jobs/`.
pub type JobId = String;

/// When and how to enqueue a job: [`enqueue_with`]'s options.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// Run no earlier than this long from now (default: at once). Due times are whole seconds,
    /// rounded up.
    pub delay: Duration,
    /// At most one job of this kind with this key exists: a second enqueue with the same key
    /// does nothing and returns `None` (the unique index on `(job name, key)`) for as long as the
    /// first is kept (done jobs are deleted after `KWIK_JOBS_RETENTION_DAYS`).
    pub unique_key: Option<String>,
}

/// Queues `job` in `ctx`'s transaction: it exists if and only if the transaction commits (the
/// outbox property), so a request that fails after enqueueing leaves no job, and a committed one
/// always has it. Workers take it within `KWIK_JOBS_POLL_MS` of the commit. Returns the job's id.
///
/// In a read scope (no transaction) the job is queued at once.
///
/// ```no_run
/// # use kwik_jobs::{Job, JobContext, JobError};
/// # #[derive(serde::Serialize, serde::Deserialize)] struct SendInvoice { invoice_id: i64 }
/// # impl Job for SendInvoice { const NAME: &'static str = "send_invoice";
/// #   async fn run(self, _: JobContext) -> Result<(), JobError> { Ok(()) } }
/// async fn close_invoice(mut ctx: kwik_core::Context, id: i64) -> kwik_core::Result<()> {
///     // ... update the invoice in ctx.tx ...
///     kwik_jobs::enqueue(&mut ctx, SendInvoice { invoice_id: id }).await?;
///     ctx.commit().await // the job exists from here on, and only if this succeeds
/// }
/// ```
///
/// # Errors
/// [`Error::Internal`] when the job cannot be serialized; the database's error otherwise.
pub async fn enqueue<J: Job>(ctx: &mut Context, job: J) -> Result<JobId> {
    enqueue_with(ctx, job, EnqueueOptions::default())
        .await?
        .ok_or_else(|| Error::Internal("job without a unique key was not queued".to_owned()))
}

/// [`enqueue`] with options: a delay, or a unique key. `None` when a job of this kind with the
/// same `unique_key` was queued before (whatever its state since).
///
/// # Errors
/// As [`enqueue`].
pub async fn enqueue_with<J: Job>(ctx: &mut Context, job: J, options: EnqueueOptions) -> Result<Option<JobId>> {
    let args = serde_json::to_vec(&job).map_err(|e| Error::Internal(format!("job {}: {e}", J::NAME)))?;
    let id = ulid_string();
    // Due times are whole seconds (both libraries store them so): round up, never sooner.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let run_at = u64::try_from((now + options.delay).as_millis().div_ceil(1000)).unwrap_or(u64::MAX);
    let mut builder = TaskBuilder::new(args)
        .task_id(TaskId::from_string(id.clone()))
        .max_attempts(J::MAX_ATTEMPTS as usize)
        .run_at_timestamp(run_at);
    if let Some(key) = &options.unique_key {
        builder = builder.idempotency_key(key);
    }
    let task = builder.build();
    let unique = options.unique_key.clone();
    let queued = push(&mut ctx.tx, J::NAME, task, unique.as_deref()).await?;
    Ok(queued.then_some(id))
}

/// Inserts one task; `false` when its unique key was taken.
pub(crate) async fn push(tx: &mut Tx, queue: &str, task: Task<Vec<u8>>, unique: Option<&str>) -> Result<bool> {
    match tx {
        Tx::Sqlite(tx) => push_sqlite(tx, queue, task, unique).await,
        Tx::Postgres(tx) => push_postgres(&mut *tx, queue, task, unique).await,
        Tx::Autocommit(kwik_core::Db::Sqlite(pool)) => {
            let mut conn = pool.acquire().await?;
            push_sqlite(&mut conn, queue, task, unique).await
        }
        Tx::Autocommit(db @ kwik_core::Db::Postgres(_)) => {
            // A transaction of its own (the unique key's savepoint needs one), begun by `Db`,
            // which never leaves a cancelled `BEGIN` in the pool.
            let mut tx = db.begin().await?;
            let queued = Box::pin(push(&mut tx, queue, task, unique)).await?;
            tx.commit().await?;
            Ok(queued)
        }
    }
}

async fn push_sqlite(
    conn: &mut sqlx::SqliteConnection,
    queue: &str,
    task: Task<Vec<u8>>,
    unique: Option<&str>,
) -> Result<bool> {
    // The library's insert ignores a taken unique key (ON CONFLICT DO NOTHING): count the rows.
    let before = match unique {
        Some(key) => exists_sqlite(conn, queue, key).await?,
        None => false,
    };
    if before {
        return Ok(false);
    }
    let id = task.task_id().map(ToString::to_string);
    apalis_sqlite::queries::push_tasks(&mut *conn, queue, &[task]).await.map_err(library_error)?;
    // The insert ignores a key taken meanwhile (ON CONFLICT DO NOTHING): say whether it is there.
    let inserted: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM Jobs WHERE id = ?").bind(id).fetch_optional(conn).await?;
    Ok(inserted.is_some())
}

async fn exists_sqlite(conn: &mut sqlx::SqliteConnection, queue: &str, key: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM Jobs WHERE job_type = ? AND idempotency_key = ?")
        .bind(queue)
        .bind(key)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

async fn push_postgres(
    conn: &mut sqlx::PgConnection,
    queue: &str,
    task: Task<Vec<u8>>,
    unique: Option<&str>,
) -> Result<bool> {
    if unique.is_none() {
        apalis_postgres::queries::push_tasks(conn, queue, vec![task]).await.map_err(library_error)?;
        return Ok(true);
    }
    // A taken key fails the insert, which would abort the caller's transaction: insert under a
    // savepoint and roll back to it on a conflict.
    let mut savepoint = conn.begin().await?;
    match apalis_postgres::queries::push_tasks(&mut *savepoint, queue, vec![task]).await {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(true)
        }
        Err(apalis_postgres::Error::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
            savepoint.rollback().await?;
            Ok(false)
        }
        Err(error) => Err(library_error(error)),
    }
}

/// A storage error of the job library, as ours (database errors keep their mapping: 503 for an
/// unreachable database).
pub(crate) fn library_error(error: impl Into<LibraryError>) -> Error {
    match error.into() {
        LibraryError::Sqlx(e) => e.into(),
        LibraryError::Other(message) => Error::Internal(format!("job storage: {message}")),
    }
}

/// The two backends' error types, reduced to what we map.
pub(crate) enum LibraryError {
    Sqlx(sqlx::Error),
    Other(String),
}

impl From<apalis_sqlite::Error> for LibraryError {
    fn from(error: apalis_sqlite::Error) -> Self {
        match error {
            apalis_sqlite::Error::Database(e) => Self::Sqlx(e),
            other => Self::Other(other.to_string()),
        }
    }
}

impl From<apalis_postgres::Error> for LibraryError {
    fn from(error: apalis_postgres::Error) -> Self {
        match error {
            apalis_postgres::Error::Database(e) => Self::Sqlx(e),
            other => Self::Other(other.to_string()),
        }
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A new ULID as text (the id format the job library uses).
fn ulid_string() -> String {
    ulid::Ulid::generate().to_string()
}
