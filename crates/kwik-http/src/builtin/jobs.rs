//! `GET /jobs/`, `GET /jobs/{job_id}`, `POST /jobs/{job_id}/retry`: background jobs for operators
//! (ours; Kwik has no job system).

use chrono::{DateTime, Utc};
use kwik_core::Error;
use kwik_jobs::admin::{self, JobFilter, JobRecord, JobState, RetryOutcome};
use kwik_listing::Paginated;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::schemas::BuiltinTags;
use crate::auth::{Auth, CurrentUser, TENANT_SWITCH};
use crate::error::ApiResult;
use crate::permission;
use crate::state::AppState;

permission!(/** `job_read` */ pub JobRead = "job_read");
permission!(/** `job_manage` */ pub JobManage = "job_manage");
permission!(
    /// `job_manage` and `job_read`: retrying answers with the job, which only readers may see.
    pub RetryJob = "job_manage", "job_read"
);

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum JobStateName {
    /// Queued, waiting for its due time or a free worker.
    Pending,
    /// Taken by a worker.
    Running,
    /// Finished successfully.
    Done,
    /// Its last run failed; it runs again at `run_at`.
    Retrying,
    /// Every allowed run failed; it runs again only when retried.
    Dead,
}

impl From<JobState> for JobStateName {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Pending => Self::Pending,
            JobState::Running => Self::Running,
            JobState::Done => Self::Done,
            JobState::Retrying => Self::Retrying,
            JobState::Dead => Self::Dead,
        }
    }
}

impl From<JobStateName> for JobState {
    fn from(state: JobStateName) -> Self {
        match state {
            JobStateName::Pending => Self::Pending,
            JobStateName::Running => Self::Running,
            JobStateName::Done => Self::Done,
            JobStateName::Retrying => Self::Retrying,
            JobStateName::Dead => Self::Dead,
        }
    }
}

/// A background job. Its arguments are not shown (they may hold personal data).
#[derive(Debug, Clone, Object)]
pub struct JobProfile {
    /// The job's id (a ULID: sorts by creation time).
    pub id: String,
    /// The job's name (`send_email`, ...).
    pub name: String,
    /// Where it is in its life.
    pub state: JobStateName,
    /// Runs started so far.
    pub attempts: u32,
    /// Runs allowed before it is dead.
    pub max_attempts: u32,
    /// When it was queued.
    pub created_at: Option<DateTime<Utc>>,
    /// When it is (or was) due.
    pub run_at: Option<DateTime<Utc>>,
    /// When a worker last took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When its last run ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last failed run's message (the job's own text, which jobs keep free of secrets).
    pub last_error: Option<String>,
}

impl From<JobRecord> for JobProfile {
    fn from(job: JobRecord) -> Self {
        Self {
            id: job.id,
            name: job.name,
            state: job.state.into(),
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            created_at: job.created_at,
            run_at: job.run_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            last_error: job.last_error,
        }
    }
}

/// The jobs endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobsApi;

/// Jobs belong to no tenant: with multi-tenancy on, only callers who may act across tenants
/// (`tenant_switch`) see or touch them.
fn across_tenants(state: &AppState, caller: &CurrentUser) -> Result<(), Error> {
    if state.settings.tenancy_enabled && !caller.has_permission(&[TENANT_SWITCH]) {
        return Err(Error::Forbidden(
            "Jobs belong to no tenant: with multi-tenancy on they need `tenant_switch` too".to_owned(),
        ));
    }
    Ok(())
}

#[OpenApi(prefix_path = "/jobs/", tag = "BuiltinTags::Jobs")]
impl JobsApi {
    /// List background jobs
    ///
    /// Requires: `job_read` (and `tenant_switch` with multi-tenancy on). Newest first.
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth<JobRead>,
        /// Only jobs in this state.
        job_state: Query<Option<JobStateName>>,
        /// Only jobs with this name.
        #[oai(validator(max_length = 200))]
        name: Query<Option<String>>,
        /// Rows to skip (default 0).
        #[oai(validator(minimum(value = "0"), maximum(value = "1000000000")))]
        skip: Query<Option<u64>>,
        /// Page size (default 100, at most 1000).
        #[oai(validator(minimum(value = "0"), maximum(value = "1000")))]
        limit: Query<Option<u64>>,
    ) -> ApiResult<Json<Paginated<JobProfile>>> {
        across_tenants(&state, &auth)?;
        let filter = JobFilter { state: job_state.0.map(Into::into), name: name.0 };
        let (total, jobs) = admin::list(&state.db, &filter, skip.0.unwrap_or(0), limit.0.unwrap_or(100)).await?;
        Ok(Json(Paginated { total, data: jobs.into_iter().map(Into::into).collect(), next_cursor: None }))
    }

    /// Read a background job
    ///
    /// Requires: `job_read` (and `tenant_switch` with multi-tenancy on). Unknown id: 404.
    #[oai(path = "/:job_id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: Auth<JobRead>,
        job_id: Path<String>,
    ) -> ApiResult<Json<JobProfile>> {
        across_tenants(&state, &auth)?;
        let job_id = checked_id(&job_id)?;
        match admin::get(&state.db, job_id).await? {
            Some(job) => Ok(Json(job.into())),
            None => Err(not_found(job_id).into()),
        }
    }

    /// Retry a dead job
    ///
    /// Requires: `job_manage` and `job_read` (and `tenant_switch` with multi-tenancy on). Queues the dead job
    /// again, due now, its attempts counted from zero. Unknown id: 404; a job that is not dead
    /// (it runs, or will, by itself): 409.
    #[oai(path = "/:job_id/retry", method = "post")]
    async fn retry(
        &self,
        state: Data<&AppState>,
        auth: Auth<RetryJob>,
        job_id: Path<String>,
    ) -> ApiResult<Json<JobProfile>> {
        across_tenants(&state, &auth)?;
        let job_id = checked_id(&job_id)?;
        match admin::retry(&state.db, job_id).await? {
            RetryOutcome::Queued => {
                tracing::info!(job_id, user_id = auth.id(), "dead job retried");
                let job = admin::get(&state.db, job_id).await?.ok_or_else(|| not_found(job_id))?;
                Ok(Json(job.into()))
            }
            RetryOutcome::NotFound => Err(not_found(job_id).into()),
            RetryOutcome::NotDead(current) => {
                Err(Error::Conflict(format!("Only dead jobs can be retried; this one is {}", current.as_str())).into())
            }
        }
    }
}

/// Longest job id looked up (ids are 26-character ULIDs).
const MAX_JOB_ID_CHARS: usize = 64;

/// The path's job id, or a 422 at `["path", "job_id"]` when it is longer than any id can be (not
/// echoed back).
fn checked_id(id: &str) -> Result<&str, Error> {
    if id.chars().count() > MAX_JOB_ID_CHARS {
        return Err(Error::validation(kwik_core::ValidationIssue::new(
            "string_too_long",
            &["path", "job_id"],
            format!("String should have at most {MAX_JOB_ID_CHARS} characters"),
        )));
    }
    Ok(id)
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Job with id={id} does not exist"))
}
