//! The job system on this run's database (SQLite, or PostgreSQL with `KWIK_TEST_DATABASE_URL`):
//! transactional enqueue, exactly-once runs, retries with backoff, dead jobs and their retry,
//! timeouts, unique keys, idempotency keys, and shutdown giving jobs back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kwik_core::settings::JobSettings;
use kwik_core::{Context, Db, Tx};
use kwik_jobs::admin::{self, JobFilter, JobState, RetryOutcome};
use kwik_jobs::{EnqueueOptions, Job, JobContext, JobData, JobError, Workers, job};
use kwik_testing::{TestDatabase, eventually};
use serde::{Deserialize, Serialize};

fn settings() -> JobSettings {
    JobSettings {
        workers: true,
        concurrency: 4,
        poll_interval: Duration::from_millis(50),
        heartbeat: Duration::from_secs(1),
        retention: None,
    }
}

async fn database() -> (TestDatabase, Db) {
    let database = TestDatabase::new().await;
    let db = database.connect().await;
    db.migrate(&kwik_jobs::migrations()).await.expect("job migrations");
    db.execute_raw(
        "CREATE TABLE effects (job TEXT NOT NULL, tag TEXT NOT NULL, attempt BIGINT NOT NULL, at_ms BIGINT NOT NULL)",
    )
    .await
    .expect("effects table");
    (database, db)
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// Records one side effect of a job's run in `effects`.
async fn record(ctx: &JobContext, tag: &str) -> Result<(), JobError> {
    let sql = match ctx.db() {
        Db::Sqlite(_) => "INSERT INTO effects (job, tag, attempt, at_ms) VALUES (?, ?, ?, ?)",
        Db::Postgres(_) => "INSERT INTO effects (job, tag, attempt, at_ms) VALUES ($1, $2, $3, $4)",
    };
    let attempt = i64::from(ctx.attempt());
    match ctx.db() {
        Db::Sqlite(pool) => {
            sqlx::query(sql).bind(ctx.id()).bind(tag).bind(attempt).bind(now_ms()).execute(pool).await.map(drop)
        }
        Db::Postgres(pool) => {
            sqlx::query(sql).bind(ctx.id()).bind(tag).bind(attempt).bind(now_ms()).execute(pool).await.map(drop)
        }
    }
    .map_err(|e| JobError(e.to_string()))
}

/// `(job id, attempt, at_ms)` of every effect with `tag`, in time order.
async fn effects(db: &Db, tag: &str) -> Vec<(String, i64, i64)> {
    match db {
        Db::Sqlite(pool) => sqlx::query_as("SELECT job, attempt, at_ms FROM effects WHERE tag = ? ORDER BY at_ms")
            .bind(tag)
            .fetch_all(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_as("SELECT job, attempt, at_ms FROM effects WHERE tag = $1 ORDER BY at_ms")
            .bind(tag)
            .fetch_all(pool)
            .await
            .unwrap(),
    }
}

#[derive(Serialize, Deserialize)]
struct Count {
    tag: String,
}

impl Job for Count {
    const NAME: &'static str = "count";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, &self.tag).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_enqueued_in_a_rolled_back_transaction_never_runs_and_a_committed_one_runs_once() {
    let (_database, db) = database().await;
    let mut failed = Context::begin(&db, None).await.unwrap();
    kwik_jobs::enqueue(&mut failed, Count { tag: "rolled-back".into() }).await.unwrap();
    failed.tx.rollback().await.unwrap();
    let mut dropped = Context::begin(&db, None).await.unwrap();
    kwik_jobs::enqueue(&mut dropped, Count { tag: "dropped".into() }).await.unwrap();
    drop(dropped);
    let mut committed = Context::begin(&db, None).await.unwrap();
    let id = kwik_jobs::enqueue(&mut committed, Count { tag: "committed".into() }).await.unwrap();
    committed.commit().await.unwrap();

    let (total, jobs) = admin::list(&db, &JobFilter::default(), 0, 100).await.unwrap();
    assert_eq!(total, 1, "only the committed job exists: {jobs:?}");
    assert_eq!(jobs[0].id, id);
    assert_eq!(jobs[0].state, JobState::Pending);

    let workers = Workers::start(&db, &[job::<Count>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(10), || async { !effects(&db, "committed").await.is_empty() }).await);
    // Give a second (wrong) run every chance to happen before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(effects(&db, "committed").await.len(), 1, "ran exactly once");
    assert!(effects(&db, "rolled-back").await.is_empty());
    assert!(effects(&db, "dropped").await.is_empty());
    let done = admin::get(&db, &id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.last_error, None);
}

#[derive(Serialize, Deserialize)]
struct Flaky;

impl Job for Flaky {
    const NAME: &'static str = "flaky";
    const MAX_ATTEMPTS: u32 = 3;
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, "flaky").await?;
        let fixed: bool = match ctx.db() {
            Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) > 0 FROM effects WHERE tag = 'fixed'").fetch_one(pool).await
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) > 0 FROM effects WHERE tag = 'fixed'").fetch_one(pool).await
            }
        }
        .map_err(|e| JobError(e.to_string()))?;
        if fixed { Ok(()) } else { Err(JobError::new("the mail server said no")) }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_is_retried_with_backoff_then_dead_then_retried_by_an_operator() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let id = kwik_jobs::enqueue(&mut ctx, Flaky).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Flaky>()], settings(), &JobData::default());

    let dead = eventually(Duration::from_secs(20), || async {
        admin::get(&db, &id).await.unwrap().is_some_and(|job| job.state == JobState::Dead)
    })
    .await;
    let runs = effects(&db, "flaky").await;
    assert!(dead, "dead after 3 runs: {runs:?} {:?}", admin::get(&db, &id).await);
    assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3], "three runs, attempts counted");
    // Backoff: 1 s after the first failure, 2 s after the second.
    assert!(runs[1].2 - runs[0].2 >= 1000, "first retry waited: {runs:?}");
    assert!(runs[2].2 - runs[1].2 >= 2000, "second retry waited twice as long: {runs:?}");
    let job = admin::get(&db, &id).await.unwrap().unwrap();
    assert_eq!((job.attempts, job.max_attempts), (3, 3));
    assert_eq!(job.last_error.as_deref(), Some("the mail server said no"));
    let (dead_total, _) =
        admin::list(&db, &JobFilter { state: Some(JobState::Dead), name: None }, 0, 10).await.unwrap();
    assert_eq!(dead_total, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(effects(&db, "flaky").await.len(), 3, "a dead job does not run by itself");

    // The operator fixes the cause and retries it.
    let mut fix = Context::begin(&db, None).await.unwrap();
    match &mut fix.tx {
        Tx::Sqlite(tx) => {
            sqlx::query("INSERT INTO effects VALUES ('-', 'fixed', 0, 0)").execute(&mut **tx).await.map(drop)
        }
        Tx::Postgres(tx) => {
            sqlx::query("INSERT INTO effects VALUES ('-', 'fixed', 0, 0)").execute(&mut **tx).await.map(drop)
        }
        Tx::Autocommit(_) => unreachable!(),
    }
    .unwrap();
    fix.commit().await.unwrap();
    assert_eq!(admin::retry(&db, &id).await.unwrap(), RetryOutcome::Queued);
    let done = eventually(Duration::from_secs(10), || async {
        admin::get(&db, &id).await.unwrap().is_some_and(|job| job.state == JobState::Done)
    })
    .await;
    assert!(done, "ran again and succeeded: {:?}", admin::get(&db, &id).await);
    assert_eq!(effects(&db, "flaky").await.len(), 4);
    assert_eq!(admin::retry(&db, &id).await.unwrap(), RetryOutcome::NotDead(JobState::Done));
    assert_eq!(admin::retry(&db, "01ARZ3NDEKTSV4RRFFQ69G5FAV").await.unwrap(), RetryOutcome::NotFound);
    workers.shutdown(Duration::from_secs(5)).await;
}

#[derive(Serialize, Deserialize)]
struct Slow {
    millis: u64,
}

impl Job for Slow {
    const NAME: &'static str = "slow";
    const MAX_ATTEMPTS: u32 = 1;
    const TIMEOUT: Duration = Duration::from_millis(300);
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        record(&ctx, "slow").await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_past_its_timeout_fails() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let slow = kwik_jobs::enqueue(&mut ctx, Slow { millis: 5000 }).await.unwrap();
    let quick = kwik_jobs::enqueue(&mut ctx, Slow { millis: 10 }).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Slow>()], settings(), &JobData::default());
    let settled = eventually(Duration::from_secs(10), || async {
        let a = admin::get(&db, &slow).await.unwrap().unwrap().state;
        let b = admin::get(&db, &quick).await.unwrap().unwrap().state;
        a == JobState::Dead && b == JobState::Done
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    let job = admin::get(&db, &slow).await.unwrap().unwrap();
    assert!(settled, "{job:?}");
    assert_eq!(job.last_error.as_deref(), Some("timed out after 0.3 s"));
    assert_eq!(effects(&db, "slow").await.len(), 1, "only the quick one had its effect");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unique_key_queues_one_job_and_a_delay_holds_it_back() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let unique = || EnqueueOptions { delay: Duration::ZERO, unique_key: Some("invoice-7".into()) };
    let first = kwik_jobs::enqueue_with(&mut ctx, Count { tag: "unique".into() }, unique()).await.unwrap();
    let second = kwik_jobs::enqueue_with(&mut ctx, Count { tag: "unique".into() }, unique()).await.unwrap();
    assert!(first.is_some());
    assert_eq!(second, None, "the key was taken");
    // The transaction is still usable after the refused insert (PostgreSQL: a savepoint).
    let later = EnqueueOptions { delay: Duration::from_hours(1), unique_key: None };
    let delayed = kwik_jobs::enqueue_with(&mut ctx, Count { tag: "later".into() }, later).await.unwrap().unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Count>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(10), || async { effects(&db, "unique").await.len() == 1 }).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert_eq!(effects(&db, "unique").await.len(), 1);
    assert!(effects(&db, "later").await.is_empty(), "not due for an hour");
    assert_eq!(admin::get(&db, &delayed).await.unwrap().unwrap().state, JobState::Pending);
}

#[derive(Serialize, Deserialize)]
struct Charge;

impl Job for Charge {
    const NAME: &'static str = "charge";
    async fn run(self, job: JobContext) -> Result<(), JobError> {
        // Twice in one run stands for a run repeated after a crash: the effect happens once.
        for _ in 0..2 {
            let mut ctx = job.begin().await?;
            if job.first_time(&mut ctx, &job.idempotency_key()).await? {
                let attempt = i64::from(job.attempt());
                match &mut ctx.tx {
                    Tx::Sqlite(tx) => sqlx::query("INSERT INTO effects VALUES (?, 'charged', ?, ?)")
                        .bind(job.id())
                        .bind(attempt)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map(drop),
                    Tx::Postgres(tx) => sqlx::query("INSERT INTO effects VALUES ($1, 'charged', $2, $3)")
                        .bind(job.id())
                        .bind(attempt)
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await
                        .map(drop),
                    Tx::Autocommit(_) => unreachable!(),
                }
                .map_err(|e| JobError(e.to_string()))?;
            }
            ctx.commit().await?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn first_time_makes_a_repeated_side_effect_happen_once() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    kwik_jobs::enqueue(&mut ctx, Charge).await.unwrap();
    kwik_jobs::enqueue(&mut ctx, Charge).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Charge>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(10), || async { effects(&db, "charged").await.len() >= 2 }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    workers.shutdown(Duration::from_secs(5)).await;
    let charged = effects(&db, "charged").await;
    assert_eq!(charged.len(), 2, "one charge per job: {charged:?}");
    assert_ne!(charged[0].0, charged[1].0);
}

/// Held long enough to be running when the workers stop with almost no grace.
#[derive(Serialize, Deserialize)]
struct Long;

impl Job for Long {
    const NAME: &'static str = "long";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, "long-started").await?;
        tokio::time::sleep(Duration::from_secs(30)).await;
        record(&ctx, "long-finished").await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_gives_unfinished_jobs_back_and_they_run_again() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let long = kwik_jobs::enqueue(&mut ctx, Long).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Long>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(10), || async { !effects(&db, "long-started").await.is_empty() }).await);
    workers.shutdown(Duration::from_millis(100)).await;
    let given_back = admin::get(&db, &long).await.unwrap().unwrap();
    assert_eq!(given_back.state, JobState::Pending, "{given_back:?}");
    assert!(effects(&db, "long-finished").await.is_empty());

    // Taken again at once by the next worker, without waiting for a heartbeat timeout.
    let workers = Workers::start(&db, &[job::<Long>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(5), || async { effects(&db, "long-started").await.len() == 2 }).await);
    workers.shutdown(Duration::from_millis(100)).await;
}

#[derive(Default, Serialize, Deserialize)]
struct Tick;

impl Job for Tick {
    const NAME: &'static str = "tick";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, "tick").await
    }
}

#[test]
fn a_bad_cron_expression_is_refused_with_the_job_named() {
    let error = kwik_jobs::ScheduleDef::new::<Tick>("every morning").validate().unwrap_err();
    assert!(error.to_string().contains("schedule of job tick"), "{error}");
    kwik_jobs::ScheduleDef::new::<Tick>("0 0 3 * * *").validate().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedulers_on_one_database_queue_each_tick_once() {
    let (_database, db) = database().await;
    let schedules = [kwik_jobs::ScheduleDef::new::<Tick>("* * * * * *")];
    let a = Workers::start_with_schedules(&db, &[], &schedules, settings(), &JobData::default());
    let b = Workers::start_with_schedules(&db, &[], &schedules, settings(), &JobData::default());
    tokio::time::sleep(Duration::from_millis(3500)).await;
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
    let (_, jobs) = admin::list(&db, &JobFilter::default(), 0, 100).await.unwrap();
    let mut ticks: Vec<_> = jobs.iter().map(|j| j.run_at).collect();
    ticks.dedup();
    assert!(jobs.len() >= 2, "a job per second: {jobs:?}");
    assert_eq!(ticks.len(), jobs.len(), "never two for one tick: {jobs:?}");
    assert_eq!(effects(&db, "tick").await.len(), jobs.iter().filter(|j| j.state == JobState::Done).count());
}

#[tokio::test(flavor = "multi_thread")]
async fn pruning_deletes_old_finished_jobs_and_keeps_dead_ones() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let done = kwik_jobs::enqueue(&mut ctx, Count { tag: "old".into() }).await.unwrap();
    let dead = kwik_jobs::enqueue(&mut ctx, Slow { millis: 5000 }).await.unwrap();
    let recent = kwik_jobs::enqueue(&mut ctx, Count { tag: "recent".into() }).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Count>(), job::<Slow>()], settings(), &JobData::default());
    let settled = eventually(Duration::from_secs(10), || async {
        let mut states = Vec::new();
        for id in [&done, &dead, &recent] {
            states.push(admin::get(&db, id).await.unwrap().unwrap().state);
        }
        states == [JobState::Done, JobState::Dead, JobState::Done]
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert!(settled);
    // Two days ago, for the first finished job and the dead one.
    let backdate = match &db {
        Db::Sqlite(_) => "UPDATE Jobs SET done_at = done_at - 172800 WHERE id IN ($1, $2)".replace('$', "?"),
        Db::Postgres(_) => {
            "UPDATE apalis.jobs SET done_at = done_at - interval '2 days' WHERE id IN ($1, $2)".to_owned()
        }
    };
    match &db {
        Db::Sqlite(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(backdate)).bind(&done).bind(&dead).execute(pool).await.map(drop)
        }
        Db::Postgres(pool) => {
            sqlx::query(sqlx::AssertSqlSafe(backdate)).bind(&done).bind(&dead).execute(pool).await.map(drop)
        }
    }
    .unwrap();
    let (jobs, _workers) = admin::prune(&db, Duration::from_hours(24)).await.unwrap();
    assert_eq!(jobs, 1, "only the old finished job");
    assert!(admin::get(&db, &done).await.unwrap().is_none());
    assert_eq!(admin::get(&db, &dead).await.unwrap().unwrap().state, JobState::Dead, "dead jobs are kept");
    assert_eq!(admin::get(&db, &recent).await.unwrap().unwrap().state, JobState::Done);
}

/// `Count` as a later version of the code sees it: a field the queued jobs lack.
#[derive(Serialize, Deserialize)]
struct CountV2 {
    tag: String,
    required: u32,
}

impl Job for CountV2 {
    const NAME: &'static str = "count";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, &format!("{}-{}", self.tag, self.required)).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_arguments_no_longer_fit_fails_alone_and_the_others_of_its_kind_run() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let stale = kwik_jobs::enqueue(&mut ctx, Count { tag: "stale".into() }).await.unwrap();
    let fresh = kwik_jobs::enqueue(&mut ctx, CountV2 { tag: "fresh".into(), required: 2 }).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<CountV2>()], settings(), &JobData::default());
    let settled = eventually(Duration::from_secs(10), || async {
        // Its row keeps the maximum it was queued with (5): a failed run, waiting for its retry.
        admin::get(&db, &stale).await.unwrap().unwrap().state == JobState::Retrying
            && admin::get(&db, &fresh).await.unwrap().unwrap().state == JobState::Done
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    let job = admin::get(&db, &stale).await.unwrap().unwrap();
    assert!(settled, "{job:?}");
    assert!(job.last_error.unwrap().starts_with("the stored arguments do not fit the job"));
    assert_eq!(effects(&db, "fresh-2").await.len(), 1);
}

/// Finishes a second after it starts: well within a shutdown's grace.
#[derive(Serialize, Deserialize)]
struct Second;

impl Job for Second {
    const NAME: &'static str = "second";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        record(&ctx, "second-started").await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        record(&ctx, "second-finished").await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_finishes_within_the_grace_is_done_not_given_back() {
    let (_database, db) = database().await;
    let mut ctx = Context::begin(&db, None).await.unwrap();
    let id = kwik_jobs::enqueue(&mut ctx, Second).await.unwrap();
    ctx.commit().await.unwrap();
    let workers = Workers::start(&db, &[job::<Second>()], settings(), &JobData::default());
    assert!(eventually(Duration::from_secs(10), || async { !effects(&db, "second-started").await.is_empty() }).await);
    workers.shutdown(Duration::from_secs(10)).await;
    let job = admin::get(&db, &id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done, "finished during the grace: {job:?}");
    assert_eq!(effects(&db, "second-finished").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_whose_database_connection_dies_restarts_and_keeps_working() {
    if kwik_testing::backend() == kwik_core::Backend::Sqlite {
        kwik_testing::skip("kills the workers' PostgreSQL connections; runs in the PostgreSQL half");
        return;
    }
    let (_database, db) = database().await;
    let workers = Workers::start(&db, &[job::<Count>()], settings(), &JobData::default());
    let mut ctx = Context::begin(&db, None).await.unwrap();
    kwik_jobs::enqueue(&mut ctx, Count { tag: "before".into() }).await.unwrap();
    ctx.commit().await.unwrap();
    assert!(eventually(Duration::from_secs(10), || async { effects(&db, "before").await.len() == 1 }).await);
    // The workers' own connections go away (a database restart, a proxy dropping them).
    let Db::Postgres(pool) = &db else { unreachable!() };
    for _ in 0..3 {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'kwik-job-workers' AND datname = current_database()",
        )
        .execute(pool)
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut ctx = Context::begin(&db, None).await.unwrap();
    kwik_jobs::enqueue(&mut ctx, Count { tag: "after".into() }).await.unwrap();
    ctx.commit().await.unwrap();
    let ran = eventually(Duration::from_secs(15), || async { effects(&db, "after").await.len() == 1 }).await;
    let live = workers.live();
    workers.shutdown(Duration::from_secs(5)).await;
    assert!(ran, "a job queued after the connections died still runs");
    assert_eq!(live, 1, "the worker is running again");
}
