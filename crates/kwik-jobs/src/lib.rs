//! Background jobs for Kwik for Rust: work that outlives the request, kept in the application's
//! own database (SQLite or PostgreSQL) by [apalis](https://docs.rs/apalis), enqueued inside the
//! request's transaction.
//!
//! - [`Job`]: a serializable value with a stable name, retries ([`Job::MAX_ATTEMPTS`],
//!   exponential [`Job::backoff`]), a per-run [`Job::TIMEOUT`] and its handler.
//! - [`enqueue`]: queues a job in a [`kwik_core::Context`]'s transaction (it exists if and only
//!   if the transaction commits).
//! - [`Workers`]: one worker per job kind, polling with `FOR UPDATE SKIP LOCKED` on PostgreSQL
//!   (so any number of processes share the queue), heartbeats so a killed worker's jobs run
//!   again elsewhere, graceful shutdown.
//! - [`ScheduleDef`]: periodic jobs on a cron expression, queued once per tick across every
//!   process.
//! - [`admin`]: what `GET /jobs/` and `POST /jobs/{id}/retry` show and do.
//! - [`JobContext::first_time`]: exactly-once database side effects for jobs that may run twice.
//!
//! ```
//! use kwik_jobs::{Job, JobContext, JobError, JobData, Workers, job};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Greet {
//!     name: String,
//! }
//!
//! impl Job for Greet {
//!     const NAME: &'static str = "greet";
//!     async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
//!         println!("hello, {}", self.name);
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kwik_core::Result<()> {
//! let db = kwik_core::Db::connect("sqlite::memory:", &Default::default()).await?;
//! db.migrate(&kwik_jobs::migrations()).await?;
//!
//! let mut ctx = kwik_core::Context::begin(&db, None).await?;
//! kwik_jobs::enqueue(&mut ctx, Greet { name: "Ada".into() }).await?;
//! ctx.commit().await?;
//!
//! let workers = Workers::start(&db, &[job::<Greet>()], Default::default(), &JobData::default());
//! # tokio::time::sleep(std::time::Duration::from_millis(500)).await;
//! workers.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(())
//! # }
//! ```

pub mod admin;
mod context;
mod enqueue;
mod job;
pub mod metrics;
mod schedule;
mod worker;

use std::sync::LazyLock;

use kwik_core::MigrationSet;

pub use context::{JobContext, JobData};
pub use enqueue::{EnqueueOptions, JobId, enqueue, enqueue_with};
pub use job::{Job, JobError};
pub use schedule::ScheduleDef;
pub use worker::{JobDef, WorkerStatus, Workers, job};

/// The job library's tables (apalis's own migrations: `Jobs` and `Workers` on SQLite, the
/// `apalis` schema on PostgreSQL, which needs the `hstore` extension), tracked in
/// `_kwik_migrations_jobs`.
pub static JOB_MIGRATIONS: LazyLock<MigrationSet> = LazyLock::new(|| MigrationSet {
    name: "jobs",
    sqlite: apalis_sqlite::SqliteStorage::<()>::migrations(),
    postgres: apalis_postgres::PostgresStorage::<()>::migrations(),
});

/// Kwik's own job tables (`kwik_job_keys`, for [`JobContext::first_time`]), tracked in
/// `_kwik_migrations_job_keys`.
pub static JOB_KEY_MIGRATIONS: LazyLock<MigrationSet> = LazyLock::new(|| MigrationSet {
    name: "job_keys",
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
});

/// Both migration sets the job system needs, in order.
pub fn migrations() -> [&'static MigrationSet; 2] {
    [&JOB_MIGRATIONS, &JOB_KEY_MIGRATIONS]
}
