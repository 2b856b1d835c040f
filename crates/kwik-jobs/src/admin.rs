//! What operators see and do: jobs by state, one job, retrying a dead one, counts per state.

use chrono::{DateTime, Utc};
use kwik_core::{Db, Result};
use sqlx::Row;

use crate::enqueue::unix_now;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Queued, waiting for its due time or a free worker.
    Pending,
    /// Taken by a worker (fetched or running).
    Running,
    /// Finished successfully.
    Done,
    /// Its last run failed; it runs again at `run_at`.
    Retrying,
    /// Every allowed run failed: it runs again only when retried (`POST /jobs/{id}/retry`).
    Dead,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [Self; 5] = [Self::Pending, Self::Running, Self::Done, Self::Retrying, Self::Dead];

    /// The state's name in the API: `pending`, `running`, `done`, `retrying`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
        }
    }

    /// The state named `name` ([`JobState::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

/// One job as operators see it (never its arguments, which may hold personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's id (a ULID).
    pub id: String,
    /// The job's name ([`Job::NAME`](crate::Job::NAME)).
    pub name: String,
    /// Where it is in its life.
    pub state: JobState,
    /// Runs started so far (including one given back by a crashed worker).
    pub attempts: u32,
    /// Runs allowed before it is dead.
    pub max_attempts: u32,
    /// When it was queued (from its id).
    pub created_at: Option<DateTime<Utc>>,
    /// When it is (or was) due.
    pub run_at: Option<DateTime<Utc>>,
    /// When a worker last took it.
    pub started_at: Option<DateTime<Utc>>,
    /// When its last run ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// The last run's error message (the job's own text; `None` after a success).
    pub last_error: Option<String>,
}

/// Which jobs [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs with this name.
    pub name: Option<String>,
}

/// What [`retry`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// The dead job is queued again, due now, with its attempts counted from zero.
    Queued,
    /// No job has this id.
    NotFound,
    /// The job is not dead (only dead jobs can be retried: the others run by themselves).
    NotDead(JobState),
}

const STATE_SQL: &str = "CASE WHEN status = 'Done' THEN 'done' \
    WHEN status IN ('Queued', 'Running') THEN 'running' \
    WHEN status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts) THEN 'dead' \
    WHEN status = 'Failed' THEN 'retrying' ELSE 'pending' END";

/// Table, timestamp columns and placeholders of each dialect.
struct Dialect {
    table: &'static str,
    epoch: fn(&str) -> String,
    postgres: bool,
}

fn dialect(db: &Db) -> Dialect {
    match db {
        Db::Sqlite(_) => Dialect { table: "Jobs", epoch: |column| column.to_owned(), postgres: false },
        Db::Postgres(_) => Dialect {
            table: "apalis.jobs",
            epoch: |column| format!("CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"),
            postgres: true,
        },
    }
}

impl Dialect {
    /// `$n` placeholders as this dialect writes them.
    fn sql(&self, sql: &str) -> String {
        if self.postgres { sql.to_owned() } else { sql.replace('$', "?") }
    }

    fn columns(&self) -> String {
        let e = self.epoch;
        format!(
            "id, job_type, {STATE_SQL} AS state, attempts, max_attempts, {} AS run_at, {} AS lock_at, \
             {} AS done_at, CAST(last_result AS TEXT) AS last_result",
            e("run_at"),
            e("lock_at"),
            e("done_at"),
        )
    }
}

/// A page of jobs, newest first, and how many match: `(total, page)`. `limit` at most 1000.
///
/// # Errors
/// The database's error.
pub async fn list(db: &Db, filter: &JobFilter, skip: u64, limit: u64) -> Result<(i64, Vec<JobRecord>)> {
    let d = dialect(db);
    let conditions = "($1 IS NULL OR job_type = $1) AND ($2 IS NULL OR (".to_owned() + STATE_SQL + ") = $2)";
    let count_sql = d.sql(&format!("SELECT COUNT(*) FROM {} WHERE {conditions}", d.table));
    let page_sql = d.sql(&format!(
        "SELECT {} FROM {} WHERE {conditions} ORDER BY id DESC LIMIT $3 OFFSET $4",
        d.columns(),
        d.table
    ));
    let name = filter.name.as_deref();
    let state = filter.state.map(JobState::as_str);
    let limit = i64::try_from(limit.min(1000)).unwrap_or(1000);
    let skip = i64::try_from(skip).unwrap_or(i64::MAX);
    match db {
        Db::Sqlite(pool) => {
            let total: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(name).bind(state).fetch_one(pool).await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
                .bind(name)
                .bind(state)
                .bind(limit)
                .bind(skip)
                .fetch_all(pool)
                .await?;
            Ok((total, rows.iter().map(record_sqlite).collect::<std::result::Result<_, _>>()?))
        }
        Db::Postgres(pool) => {
            let total: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)).bind(name).bind(state).fetch_one(pool).await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(page_sql))
                .bind(name)
                .bind(state)
                .bind(limit)
                .bind(skip)
                .fetch_all(pool)
                .await?;
            Ok((total, rows.iter().map(record_postgres).collect::<std::result::Result<_, _>>()?))
        }
    }
}

/// The job `id`, if there is one.
///
/// # Errors
/// The database's error.
pub async fn get(db: &Db, id: &str) -> Result<Option<JobRecord>> {
    let d = dialect(db);
    let sql = d.sql(&format!("SELECT {} FROM {} WHERE id = $1", d.columns(), d.table));
    Ok(match db {
        Db::Sqlite(pool) => match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? {
            Some(row) => Some(record_sqlite(&row)?),
            None => None,
        },
        Db::Postgres(pool) => match sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? {
            Some(row) => Some(record_postgres(&row)?),
            None => None,
        },
    })
}

/// Queues the dead job `id` again: due now, its attempts counted from zero.
///
/// # Errors
/// The database's error.
pub async fn retry(db: &Db, id: &str) -> Result<RetryOutcome> {
    let dead = "(status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))";
    let changed = match db {
        Db::Sqlite(pool) => {
            let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE Jobs SET status = 'Pending', attempts = 0, run_at = ?, lock_by = NULL, lock_at = NULL, \
                 done_at = NULL WHERE id = ? AND {dead}"
            )))
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        }
        Db::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, run_at = now(), lock_by = NULL, \
             lock_at = NULL, done_at = NULL WHERE id = $1 AND {dead}"
        )))
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected(),
    };
    if changed == 1 {
        return Ok(RetryOutcome::Queued);
    }
    Ok(match get(db, id).await? {
        Some(job) => RetryOutcome::NotDead(job.state),
        None => RetryOutcome::NotFound,
    })
}

/// Deletes finished (`done`) jobs that ended more than `older_than` ago, then the records of
/// workers silent for as long that no job refers to any more. Dead jobs are kept (an operator
/// retries or inspects them). Returns `(jobs, workers)` deleted.
///
/// # Errors
/// The database's error.
pub async fn prune(db: &Db, older_than: std::time::Duration) -> Result<(u64, u64)> {
    let seconds = i64::try_from(older_than.as_secs()).unwrap_or(i64::MAX);
    Ok(match db {
        Db::Sqlite(pool) => {
            let cutoff = i64::try_from(unix_now()).unwrap_or(i64::MAX).saturating_sub(seconds);
            let jobs = sqlx::query("DELETE FROM Jobs WHERE status = 'Done' AND done_at < ?")
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected();
            let workers = sqlx::query(
                "DELETE FROM Workers WHERE last_seen < ? \
                 AND id NOT IN (SELECT lock_by FROM Jobs WHERE lock_by IS NOT NULL)",
            )
            .bind(cutoff)
            .execute(pool)
            .await?
            .rows_affected();
            (jobs, workers)
        }
        Db::Postgres(pool) => {
            let jobs = sqlx::query(
                "DELETE FROM apalis.jobs WHERE status = 'Done' AND done_at < now() - make_interval(secs => $1::float8)",
            )
            .bind(seconds)
            .execute(pool)
            .await?
            .rows_affected();
            let workers = sqlx::query(
                "DELETE FROM apalis.workers w WHERE last_seen < now() - make_interval(secs => $1::float8) \
                 AND NOT EXISTS (SELECT 1 FROM apalis.jobs j WHERE j.lock_by = w.id)",
            )
            .bind(seconds)
            .execute(pool)
            .await?
            .rows_affected();
            (jobs, workers)
        }
    })
}

/// How many jobs each name has in each state (states without jobs left out).
///
/// # Errors
/// The database's error.
pub async fn counts(db: &Db) -> Result<Vec<(String, JobState, i64)>> {
    let d = dialect(db);
    let sql = format!("SELECT job_type, {STATE_SQL} AS state, COUNT(*) AS n FROM {} GROUP BY 1, 2", d.table);
    let rows: Vec<(String, String, i64)> = match db {
        Db::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?,
        Db::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?,
    };
    Ok(rows.into_iter().filter_map(|(name, state, n)| Some((name, JobState::parse(&state)?, n))).collect())
}

fn record_sqlite(row: &sqlx::sqlite::SqliteRow) -> std::result::Result<JobRecord, sqlx::Error> {
    Ok(JobRecord {
        id: row.try_get("id")?,
        name: row.try_get("job_type")?,
        state: JobState::parse(&row.try_get::<String, _>("state")?).unwrap_or(JobState::Pending),
        attempts: to_u32(row.try_get::<i64, _>("attempts")?),
        max_attempts: to_u32(row.try_get::<i64, _>("max_attempts")?),
        created_at: created_at(&row.try_get::<String, _>("id")?),
        run_at: timestamp(row.try_get("run_at")?),
        started_at: timestamp(row.try_get("lock_at")?),
        finished_at: timestamp(row.try_get("done_at")?),
        last_error: last_error(row.try_get("last_result")?),
    })
}

fn record_postgres(row: &sqlx::postgres::PgRow) -> std::result::Result<JobRecord, sqlx::Error> {
    Ok(JobRecord {
        id: row.try_get("id")?,
        name: row.try_get("job_type")?,
        state: JobState::parse(&row.try_get::<String, _>("state")?).unwrap_or(JobState::Pending),
        attempts: to_u32(i64::from(row.try_get::<i32, _>("attempts")?)),
        max_attempts: to_u32(i64::from(row.try_get::<i32, _>("max_attempts")?)),
        created_at: created_at(&row.try_get::<String, _>("id")?),
        run_at: timestamp(row.try_get("run_at")?),
        started_at: timestamp(row.try_get("lock_at")?),
        finished_at: timestamp(row.try_get("done_at")?),
        last_error: last_error(row.try_get("last_result")?),
    })
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

fn timestamp(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds?, 0)
}

fn created_at(id: &str) -> Option<DateTime<Utc>> {
    let ulid = ulid::Ulid::from_string(id).ok()?;
    DateTime::from_timestamp_millis(i64::try_from(ulid.timestamp_ms()).ok()?)
}

/// The error text of a stored result (`{"Err": "..."}`); `None` for a success or nothing.
fn last_error(result: Option<String>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(&result?).ok()?;
    value.get("Err").and_then(serde_json::Value::as_str).map(str::to_owned)
}
