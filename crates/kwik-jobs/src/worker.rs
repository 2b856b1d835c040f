//! Workers: one apalis worker per job kind, polling the application's database.

use std::collections::HashSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apalis::prelude::{Attempt, BackendExt, Data, TaskId, WorkerBuilder, WorkerBuilderExt, WorkerContext};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kwik_core::Db;
use kwik_core::settings::JobSettings;
use serde_json::Value;
use tokio::sync::watch;

use crate::context::{JobContext, JobData};
use crate::job::{Job, JobError};
use crate::metrics;
use crate::schedule::{ScheduleDef, run_schedule};

/// A job kind as modules declare it: [`job`]`::<SendInvoice>()`.
#[derive(Clone, Copy)]
pub struct JobDef {
    /// The job's name ([`Job::NAME`]).
    pub name: &'static str,
    run: fn(Env) -> BoxFuture<'static, ()>,
}

impl std::fmt::Debug for JobDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobDef").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The declaration of job kind `J`, for a module's `jobs` list or [`Workers::start`].
pub const fn job<J: Job>() -> JobDef {
    JobDef { name: J::NAME, run: run_worker::<J> }
}

/// What every worker of a process shares.
#[derive(Clone)]
struct Env {
    db: Db,
    settings: JobSettings,
    data: JobData,
    stop: watch::Receiver<bool>,
    live: Arc<AtomicUsize>,
    /// The names of this process's registered workers (what their jobs' `lock_by` says).
    names: Arc<Mutex<HashSet<String>>>,
    /// Where the job library polls, locks and acknowledges: on PostgreSQL a small pool of its
    /// own (see [`queue_pool`]); on SQLite the application's.
    queue: Db,
}

/// The running workers of this process: one per job kind, each running up to
/// `KWIK_JOBS_CONCURRENCY` jobs at once.
#[derive(Debug)]
pub struct Workers {
    db: Db,
    queue: Db,
    heartbeat: Duration,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    live: Arc<AtomicUsize>,
    names: Arc<Mutex<HashSet<String>>>,
    kinds: usize,
}

impl Workers {
    /// Starts a worker for each of `jobs` on `db`. Call from a Tokio runtime.
    pub fn start(db: &Db, jobs: &[JobDef], settings: JobSettings, data: &JobData) -> Self {
        Self::start_with_schedules(db, jobs, &[], settings, data)
    }

    /// [`Workers::start`], plus a scheduler for each of `schedules` (their job kinds get workers
    /// too). Every process may run the same schedules: each tick is queued once.
    pub fn start_with_schedules(
        db: &Db,
        jobs: &[JobDef],
        schedules: &[ScheduleDef],
        settings: JobSettings,
        data: &JobData,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let live = Arc::new(AtomicUsize::new(0));
        let names = Arc::new(Mutex::new(HashSet::new()));
        let queue = queue_pool(db);
        let mut seen = std::collections::HashSet::new();
        let kinds: Vec<&JobDef> = jobs.iter().chain(schedules.iter().map(|s| &s.job)).collect();
        let mut tasks = kinds
            .into_iter()
            .filter(|def| seen.insert(def.name))
            .map(|def| {
                let env = Env {
                    db: db.clone(),
                    settings,
                    data: data.clone(),
                    stop: stopped.clone(),
                    live: live.clone(),
                    names: names.clone(),
                    queue: queue.clone(),
                };
                tokio::spawn((def.run)(env))
            })
            .collect::<Vec<_>>();
        let kinds = tasks.len();
        for schedule in schedules {
            tasks.push(tokio::spawn(run_schedule(db.clone(), schedule.clone(), stopped.clone())));
        }
        if let Some(retention) = settings.retention {
            tasks.push(tokio::spawn(prune_hourly(db.clone(), retention, stopped.clone())));
        }
        Self { db: db.clone(), queue, heartbeat: settings.heartbeat, stop, tasks, live, names, kinds }
    }

    /// How many job kinds have a worker connected to the database now (for readiness).
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// How many job kinds were started.
    pub fn kinds(&self) -> usize {
        self.kinds
    }

    /// A cheap handle that reads [`Workers::live`] and [`Workers::kinds`].
    pub fn status(&self) -> WorkerStatus {
        WorkerStatus { live: self.live.clone(), kinds: self.kinds }
    }

    /// Stops taking jobs, lets the jobs in hand finish for up to `grace`, then gives the rest
    /// back to the queue (they run again, on this or another process) and returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        // The library sends no heartbeat while it shuts down: keep the workers alive for the
        // grace period, so other processes do not take their running jobs for orphans.
        let keep_alive = tokio::spawn(keep_alive(self.db.clone(), self.names.clone(), self.heartbeat));
        let all = futures_util::future::join_all(self.tasks.iter_mut());
        let finished = tokio::time::timeout(grace, all).await.is_ok();
        keep_alive.abort();
        if finished {
            self.close_queue_pool().await;
            return;
        }
        tracing::warn!(grace_secs = grace.as_secs_f64(), "jobs still running at shutdown are given back to the queue");
        // Tasks that finished within the grace were consumed by the join above: awaiting them
        // again would panic.
        for task in std::mem::take(&mut self.tasks).into_iter().filter(|task| !task.is_finished()) {
            task.abort();
            let _ = task.await;
        }
        let names: Vec<String> = self.names.lock().map(|names| names.iter().cloned().collect()).unwrap_or_default();
        for name in names {
            give_back(&self.db, &name).await;
        }
        self.close_queue_pool().await;
    }

    /// Closes the workers' own pool (PostgreSQL), with whatever a stopped poll left in it.
    async fn close_queue_pool(&self) {
        if let Db::Postgres(queue) = &self.queue {
            queue.close().await;
        }
    }
}

/// Whether a process's workers are running ([`Workers::status`]).
#[derive(Debug, Clone)]
pub struct WorkerStatus {
    live: Arc<AtomicUsize>,
    kinds: usize,
}

impl WorkerStatus {
    /// Job kinds whose worker is connected to the database now.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Job kinds started.
    pub fn kinds(&self) -> usize {
        self.kinds
    }
}

/// Deletes old finished jobs a minute after start and then every hour, until the stop signal.
async fn prune_hourly(db: Db, retention: Duration, mut stop: watch::Receiver<bool>) {
    let mut wait = Duration::from_mins(1);
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        match crate::admin::prune(&db, retention).await {
            Ok((0, 0)) => {}
            Ok((jobs, workers)) => tracing::info!(jobs, workers, "finished jobs and silent workers pruned"),
            Err(error) => tracing::warn!(%error, "could not prune finished jobs"),
        }
        wait = Duration::from_hours(1);
    }
}

/// Marks this process's workers as seen, every `heartbeat`, until aborted.
async fn keep_alive(db: Db, names: Arc<Mutex<HashSet<String>>>, heartbeat: Duration) {
    loop {
        tokio::time::sleep(heartbeat).await;
        let current: Vec<String> = names.lock().map(|names| names.iter().cloned().collect()).unwrap_or_default();
        for name in current {
            let seen = match &db {
                Db::Sqlite(pool) => sqlx::query("UPDATE Workers SET last_seen = strftime('%s', 'now') WHERE id = ?")
                    .bind(&name)
                    .execute(pool)
                    .await
                    .map(drop),
                Db::Postgres(pool) => sqlx::query("UPDATE apalis.workers SET last_seen = now() WHERE id = $1")
                    .bind(&name)
                    .execute(pool)
                    .await
                    .map(drop),
            };
            if let Err(error) = seen {
                tracing::warn!(worker = name, %error, "could not send a heartbeat while shutting down");
            }
        }
    }
}

/// The pool the job library uses. On PostgreSQL, a small one of its own (`application_name`
/// `kwik-job-workers`): stopping a worker cancels the library's poll mid-transaction, and sqlx
/// 0.9.0 can then return that connection to its pool still inside the transaction (sqlx issue
/// 4393); kept apart, such a connection never serves the application's requests, and it is
/// closed with this pool at shutdown. On SQLite, the application's pool (an in-memory database
/// exists only in it).
fn queue_pool(db: &Db) -> Db {
    match db {
        Db::Sqlite(_) => db.clone(),
        Db::Postgres(pool) => {
            let options = (*pool.connect_options()).clone().application_name("kwik-job-workers");
            let queue = sqlx::postgres::PgPoolOptions::new()
                .max_connections(4)
                .min_connections(0)
                .acquire_timeout(pool.options().get_acquire_timeout())
                .connect_lazy_with(options);
            Db::Postgres(queue)
        }
    }
}

/// Runs job kind `J`'s worker until the stop signal, restarting it after a storage failure
/// (the database went away) once a second.
fn run_worker<J: Job>(env: Env) -> BoxFuture<'static, ()> {
    async move {
        let mut stop = env.stop.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            let name = format!("kwik-{}-{}", J::NAME, ulid::Ulid::generate());
            let worker = WorkerContext::new(&name);
            if let Ok(mut names) = env.names.lock() {
                names.insert(name.clone());
            }
            env.live.fetch_add(1, Ordering::AcqRel);
            let outcome = run_once::<J>(&env, &worker, &mut stop).await;
            env.live.fetch_sub(1, Ordering::AcqRel);
            give_back(&env.db, &name).await;
            if let Ok(mut names) = env.names.lock() {
                names.remove(&name);
            }
            let stopped = *stop.borrow();
            match outcome {
                _ if stopped => return,
                Ok(()) => tracing::warn!(job = J::NAME, "job worker stopped; restarting"),
                Err(error) => tracing::warn!(job = J::NAME, %error, "job worker failed; restarting in 1 s"),
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
    .boxed()
}

/// One life of a worker: registered, polling, until stopped or its storage fails.
async fn run_once<J: Job>(
    env: &Env,
    worker: &WorkerContext,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), apalis::prelude::WorkerError> {
    let settings = env.settings;
    let concurrency = settings.concurrency;
    match &env.queue {
        Db::Sqlite(pool) => {
            let config = apalis_sqlite::Config::default()
                .queue(J::NAME)
                .batch_size(concurrency)
                .heartbeat_interval(settings.heartbeat)
                .missed_heartbeats(3);
            // Arguments are decoded by `handle` (a payload that no longer fits the type is a
            // failed run there, not a storage error that would stop the whole kind).
            let storage = apalis_sqlite::SqliteStorage::<Value>::new(pool)
                .with_config(config)
                .poll_with_interval(settings.poll_interval);
            let run = WorkerBuilder::new(worker)
                .backend(storage)
                .concurrency(concurrency)
                .data(env.clone())
                .build(handle::<J>)
                .run();
            until_stopped(run, worker, stop.clone()).await
        }
        Db::Postgres(pool) => {
            let config = apalis_postgres::Config::default()
                .queue(J::NAME)
                .batch_size(concurrency)
                .heartbeat_interval(settings.heartbeat)
                .missed_heartbeats(3);
            let storage = apalis_postgres::PostgresStorage::<Value>::new(pool)
                .with_config(config)
                .poll_with_interval(settings.poll_interval);
            let run = WorkerBuilder::new(worker)
                .backend(storage)
                .concurrency(concurrency)
                .data(env.clone())
                .build(handle::<J>)
                .run();
            until_stopped(run, worker, stop.clone()).await
        }
    }
}

/// Drives a worker's `run` until it ends by itself (a storage failure: the caller restarts it)
/// or the stop signal comes (then stops it, letting the jobs in hand finish).
async fn until_stopped<F: Future>(run: F, worker: &WorkerContext, mut stop: watch::Receiver<bool>) -> F::Output {
    tokio::pin!(run);
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    tokio::select! {
        outcome = &mut run => outcome,
        () = stopped => {
            let _ = worker.stop();
            run.await
        }
    }
}

/// Runs one job: its arguments decoded, within its timeout, a panic caught; then records the
/// outcome on the job's row itself (apalis acknowledges too, but not while it is shutting down)
/// with, on failure, when the next run is due.
async fn handle<J: Job>(args: Value, attempt: Attempt, id: TaskId, env: Data<Env>) -> Result<(), JobError> {
    let attempt = u32::try_from(attempt.current()).unwrap_or(u32::MAX);
    let id = id.to_string();
    let run = metrics::Run::start(J::NAME);
    let outcome = match serde_json::from_value::<J>(args) {
        Err(error) => Err(JobError(format!("the stored arguments do not fit the job: {error}"))),
        Ok(job) => {
            let ctx = JobContext { db: env.db.clone(), id: id.clone(), name: J::NAME, attempt, data: env.data.clone() };
            match tokio::time::timeout(J::TIMEOUT, AssertUnwindSafe(job.run(ctx)).catch_unwind()).await {
                Ok(Ok(result)) => result,
                Ok(Err(_panic)) => Err(JobError::new("the job panicked")),
                Err(_elapsed) => Err(JobError(format!("timed out after {} s", J::TIMEOUT.as_secs_f64()))),
            }
        }
    };
    run.finish(outcome.is_ok());
    let delay = J::backoff(attempt);
    match &outcome {
        Ok(()) => {}
        // The row's own maximum decides (it may predate a change of `MAX_ATTEMPTS`).
        Err(error) if attempt < J::MAX_ATTEMPTS => {
            tracing::warn!(job = J::NAME, id, attempt, %error, retry_in_secs = delay.as_secs_f64(), "job failed");
        }
        Err(error) => tracing::error!(job = J::NAME, id, attempt, %error, "job failed; no attempts left: dead"),
    }
    if let Err(e) = record_outcome(&env.db, &id, attempt, &outcome, delay).await {
        tracing::warn!(job = J::NAME, id, error = %e, "could not record the job's outcome; the queue's own acknowledgement will");
    }
    outcome
}

/// Writes a run's outcome to job `id`'s row: done, or failed with its message and the next run
/// due `delay` from now (rounded up to whole seconds on SQLite, so never sooner). Only a row
/// still taken by a worker is changed.
async fn record_outcome(
    db: &Db,
    id: &str,
    attempt: u32,
    outcome: &Result<(), JobError>,
    delay: Duration,
) -> kwik_core::Result<()> {
    let (status, result) = match outcome {
        Ok(()) => ("Done", serde_json::json!({"Ok": null})),
        Err(error) => ("Failed", serde_json::json!({"Err": error.0})),
    };
    let result = result.to_string();
    let attempt = i64::from(attempt);
    match db {
        Db::Sqlite(pool) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let next = i64::try_from((now + delay).as_millis().div_ceil(1000)).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE Jobs SET status = ?1, attempts = ?2, last_result = ?3, done_at = strftime('%s', 'now'), \
                 run_at = CASE WHEN ?1 = 'Failed' THEN ?4 ELSE run_at END \
                 WHERE id = ?5 AND status IN ('Queued', 'Running')",
            )
            .bind(status)
            .bind(attempt)
            .bind(result)
            .bind(next)
            .bind(id)
            .execute(pool)
            .await?;
        }
        Db::Postgres(pool) => {
            let millis = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE apalis.jobs SET status = $1, attempts = $2, last_result = $3::jsonb, done_at = now(), \
                 run_at = CASE WHEN $1 = 'Failed' THEN now() + make_interval(secs => $4::float8 / 1000) ELSE run_at END \
                 WHERE id = $5 AND status IN ('Queued', 'Running')",
            )
            .bind(status)
            .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
            .bind(result)
            .bind(millis)
            .bind(id)
            .execute(pool)
            .await?;
        }
    }
    Ok(())
}

/// Puts back in the queue what a stopped worker still held (jobs fetched but not run, or
/// still running when the grace period ended), so they run again without waiting for the
/// heartbeat timeout.
async fn give_back(db: &Db, worker: &str) {
    let result = match db {
        Db::Sqlite(pool) => sqlx::query(
            "UPDATE Jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
             WHERE lock_by = ? AND status IN ('Queued', 'Running')",
        )
        .bind(worker)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()),
        Db::Postgres(pool) => sqlx::query(
            "UPDATE apalis.jobs SET status = 'Pending', lock_by = NULL, lock_at = NULL \
             WHERE lock_by = $1 AND status IN ('Queued', 'Running')",
        )
        .bind(worker)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()),
    };
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(worker, jobs = n, "gave unfinished jobs back to the queue"),
        Err(error) => {
            tracing::warn!(worker, %error, "could not give jobs back; they run again after the heartbeat timeout");
        }
    }
}
