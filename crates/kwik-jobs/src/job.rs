//! What a job is: a serializable value with a stable name and a handler.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::JobContext;

/// A kind of background job: its arguments (the value itself, stored as JSON), a stable name,
/// how it is retried, and what it does.
///
/// A job may run more than once: after a worker crashes mid-job (a `SIGKILL`, a lost machine)
/// the job is run again once the worker's heartbeats stop, so every side effect must be safe to
/// repeat. Effects in the application's database can be made exactly-once with
/// [`JobContext::first_time`]; effects elsewhere should carry [`JobContext::idempotency_key`]
/// (most payment and mail APIs accept one).
///
/// ```
/// use kwik_jobs::{Job, JobContext, JobError};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct SendInvoice {
///     invoice_id: i64,
/// }
///
/// impl Job for SendInvoice {
///     const NAME: &'static str = "send_invoice";
///     const MAX_ATTEMPTS: u32 = 5;
///
///     async fn run(self, ctx: JobContext) -> Result<(), JobError> {
///         tracing::info!(invoice = self.invoice_id, attempt = ctx.attempt(), "sending");
///         Ok(())
///     }
/// }
/// ```
pub trait Job: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static {
    /// The job's name: stored with each job and shown by `GET /jobs/`. Renaming it strands the
    /// jobs already queued under the old name (no worker takes them), so keep it stable.
    const NAME: &'static str;
    /// How many times the job runs at most before it is dead (the first run counts). Default 5.
    const MAX_ATTEMPTS: u32 = 5;
    /// How long one run may take before it counts as failed. Default 60 s.
    const TIMEOUT: Duration = Duration::from_mins(1);

    /// How long to wait before run `attempt + 1` after run `attempt` (1-based) failed. Default:
    /// exponential, 2^(attempt-1) seconds (1 s, 2 s, 4 s, …), at most one hour. The database
    /// keeps due times in whole seconds on SQLite.
    fn backoff(attempt: u32) -> Duration {
        Duration::from_secs(1u64 << attempt.saturating_sub(1).min(12)).min(Duration::from_hours(1))
    }

    /// Does the work. An `Err` (or a panic, or running past [`Job::TIMEOUT`]) fails this run;
    /// the job runs again after [`Job::backoff`] until [`Job::MAX_ATTEMPTS`] runs failed, then
    /// it is dead (`POST /jobs/{id}/retry` revives it). The error's text is stored and shown to
    /// operators with `job_read`: keep secrets out of it.
    fn run(self, ctx: JobContext) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// Why a run failed: a message for operators (stored with the job, shown by `GET /jobs/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError(pub String);

impl JobError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JobError {}

impl From<kwik_core::Error> for JobError {
    fn from(error: kwik_core::Error) -> Self {
        Self(error.to_string())
    }
}

impl From<String> for JobError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for JobError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}
