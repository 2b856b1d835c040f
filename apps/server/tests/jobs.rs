//! Background jobs across real processes (`kwik-server worker` and `serve`), on this run's
//! database: a worker killed with SIGKILL mid-job loses nothing, two workers share 500 jobs
//! with each completed once, SIGTERM gives the job in hand back, and `serve` runs workers and
//! reports them in its readiness check.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::zombie_processes)] // a test; children are killed and waited on.

use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kwik::jobs::admin::{self, JobFilter, JobState};
use kwik_core::{Context, Db};
use kwik_server::projects::CountProjects;
use kwik_testing::{TestDatabase, eventually};

mod process;

use process::wait_for_line;

/// Fast heartbeats, so a killed worker is noticed within seconds.
const JOB_ENV: [(&str, &str); 4] = [
    ("KWIK_JOBS_HEARTBEAT", "1"),
    ("KWIK_JOBS_POLL_MS", "50"),
    ("KWIK_ARGON2_MEMORY_KIB", "64"),
    ("KWIK_ARGON2_ITERATIONS", "1"),
];

/// Runs `kwik-server <command>` with the job settings and `extra`.
fn spawn(command: &str, database_url: &str, extra: &[(&str, &str)]) -> (Child, mpsc::Receiver<String>) {
    let mut env = vec![("KWIK_FIRST_SUPERUSER_PASSWORD", "first-admin-password")];
    env.extend(JOB_ENV);
    env.extend(extra.iter().copied());
    process::spawn(&[command], database_url, &env)
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

/// A database with the app's tables (`kwik-server migrate`).
async fn migrated() -> (TestDatabase, Db) {
    let database = TestDatabase::new().await;
    let (mut migrate, _logs) = spawn("migrate", database.url(), &[]);
    let status = tokio::task::spawn_blocking(move || migrate.wait()).await.unwrap().unwrap();
    assert!(status.success(), "migrate: {status}");
    let db = database.connect().await;
    (database, db)
}

async fn enqueue(db: &Db, jobs: impl IntoIterator<Item = CountProjects>) -> Vec<String> {
    let mut ctx = Context::begin(db, None).await.unwrap();
    let mut ids = Vec::new();
    for job in jobs {
        ids.push(kwik::jobs::enqueue(&mut ctx, job).await.unwrap());
    }
    ctx.commit().await.unwrap();
    ids
}

/// `(job_id, attempt, worker_pid)` of every report row.
async fn reports(db: &Db) -> Vec<(String, i64, i64)> {
    let sql = "SELECT job_id, CAST(attempt AS BIGINT), CAST(worker_pid AS BIGINT) FROM project_reports ORDER BY id";
    match db {
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

async fn state_of(db: &Db, id: &str) -> JobState {
    admin::get(db, id).await.unwrap().expect("job exists").state
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_job_loses_nothing_the_job_runs_again_on_another_worker() {
    let (database, db) = migrated().await;
    let ids = enqueue(&db, [CountProjects { work_ms: 4000 }]).await;
    let id = &ids[0];

    let (mut first, first_logs) = spawn("worker", database.url(), &[]);
    wait_for_line(&first_logs, "Kwik worker running");
    assert!(eventually(Duration::from_secs(20), || async { state_of(&db, id).await == JobState::Running }).await);
    signal(&first, "KILL");
    let killed = tokio::task::spawn_blocking(move || first.wait()).await.unwrap().unwrap();
    assert!(!killed.success(), "killed: {killed}");
    assert!(reports(&db).await.is_empty(), "the killed run made no report");

    let (mut second, second_logs) = spawn("worker", database.url(), &[]);
    wait_for_line(&second_logs, "Kwik worker running");
    let second_pid = i64::from(second.id());
    // Heartbeats every second, dead after three missed: the job is taken back and run again.
    let done = eventually(Duration::from_secs(30), || async { state_of(&db, id).await == JobState::Done }).await;
    signal(&second, "TERM");
    let _ = tokio::task::spawn_blocking(move || second.wait()).await;
    assert!(done, "the job ran again: {:?}", admin::get(&db, id).await);
    let rows = reports(&db).await;
    assert_eq!(rows.len(), 1, "exactly one report: {rows:?}");
    assert_eq!(&rows[0].0, id);
    assert_eq!(rows[0].2, second_pid, "written by the second worker");
    assert!(rows[0].1 >= 2, "counted as a later attempt: {rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_share_500_jobs_and_complete_each_once() {
    let (database, db) = migrated().await;
    let ids = enqueue(&db, (0..500).map(|_| CountProjects { work_ms: 5 })).await;
    let extra = [("KWIK_JOBS_CONCURRENCY", "8")];
    let (mut a, a_logs) = spawn("worker", database.url(), &extra);
    let (mut b, b_logs) = spawn("worker", database.url(), &extra);
    wait_for_line(&a_logs, "Kwik worker running");
    wait_for_line(&b_logs, "Kwik worker running");
    let all_done = eventually(Duration::from_mins(2), || async {
        let (done, _) = admin::list(&db, &JobFilter { state: Some(JobState::Done), name: None }, 0, 1).await.unwrap();
        done == 500
    })
    .await;
    let (a_pid, b_pid) = (i64::from(a.id()), i64::from(b.id()));
    signal(&a, "TERM");
    signal(&b, "TERM");
    let _ = tokio::task::spawn_blocking(move || (a.wait(), b.wait())).await;
    assert!(all_done, "500 jobs done: {:?}", admin::counts(&db).await);
    let rows = reports(&db).await;
    assert_eq!(rows.len(), 500, "one report per job");
    let mut job_ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    job_ids.sort();
    job_ids.dedup();
    assert_eq!(job_ids.len(), 500);
    assert!(rows.iter().all(|r| r.1 == 1), "no job ran twice (no crash happened)");
    let (_, jobs) = admin::list(&db, &JobFilter::default(), 0, 1000).await.unwrap();
    assert!(jobs.iter().all(|j| j.attempts == 1 && ids.contains(&j.id)), "each job started once");
    let by_a = rows.iter().filter(|r| r.2 == a_pid).count();
    let by_b = rows.iter().filter(|r| r.2 == b_pid).count();
    assert_eq!(by_a + by_b, 500);
    assert!(by_a > 0 && by_b > 0, "both workers took jobs: {by_a} / {by_b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_gives_the_job_in_hand_back_to_the_queue() {
    let (database, db) = migrated().await;
    let ids = enqueue(&db, [CountProjects { work_ms: 60_000 }]).await;
    let (mut worker, logs) = spawn("worker", database.url(), &[("KWIK_BACKEND_GRACEFUL_TIMEOUT", "1")]);
    wait_for_line(&logs, "Kwik worker running");
    assert!(eventually(Duration::from_secs(20), || async { state_of(&db, &ids[0]).await == JobState::Running }).await);
    let stopping = Instant::now();
    signal(&worker, "TERM");
    let status = tokio::task::spawn_blocking(move || worker.wait()).await.unwrap().unwrap();
    assert!(status.success(), "clean exit: {status}");
    assert!(stopping.elapsed() < Duration::from_secs(10), "grace of 1 s: {:?}", stopping.elapsed());
    assert_eq!(state_of(&db, &ids[0]).await, JobState::Pending, "given back, not left to the heartbeat timeout");
    assert!(reports(&db).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_the_workers_and_says_so_in_its_readiness_check() {
    let database = TestDatabase::new().await;
    let (mut server, logs) = spawn("serve", database.url(), &[]);
    let base = process::base_url(&logs);
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{base}/api/v1/login/access-token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin%40example.com&password=first-admin-password")
        .send()
        .await
        .unwrap();
    let token = login.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let requested = http.post(format!("{base}/api/v1/projects/reports")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(requested.status(), 202);
    let job_id = requested.json::<serde_json::Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned();
    let done = eventually(Duration::from_secs(20), || async {
        let job: serde_json::Value = http
            .get(format!("{base}/api/v1/jobs/{job_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        job["state"] == "done"
    })
    .await;
    let ready: serde_json::Value = http.get(format!("{base}/health/ready")).send().await.unwrap().json().await.unwrap();
    signal(&server, "TERM");
    let status = tokio::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap();
    assert!(done, "the report job ran in the serve process");
    assert_eq!(ready["jobs"]["workers"], "running", "{ready}");
    assert!(ready["jobs"]["kinds"].as_u64().unwrap() >= 1, "{ready}");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_scheduled_every_second_runs_once_per_tick_with_two_instances() {
    let (database, db) = migrated().await;
    let every_second = [("PROJECTS_REPORT_CRON", "* * * * * *")];
    let (mut a, a_logs) = spawn("worker", database.url(), &every_second);
    let (mut b, b_logs) = spawn("worker", database.url(), &every_second);
    wait_for_line(&a_logs, "Kwik worker running");
    wait_for_line(&b_logs, "Kwik worker running");
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let elapsed = started.elapsed().as_secs();
    signal(&a, "TERM");
    signal(&b, "TERM");
    let (sa, sb) = tokio::task::spawn_blocking(move || (a.wait(), b.wait())).await.unwrap();
    assert!(sa.unwrap().success() && sb.unwrap().success(), "both instances ran throughout");

    let name = JobFilter { state: None, name: Some("count_projects".to_owned()) };
    let (total, jobs) = admin::list(&db, &name, 0, 1000).await.unwrap();
    let mut ticks: Vec<_> = jobs.iter().map(|j| j.run_at).collect();
    ticks.sort();
    ticks.dedup();
    assert_eq!(ticks.len(), jobs.len(), "one job per tick, never two: {jobs:?}");
    assert!(total >= i64::try_from(elapsed).unwrap() - 2, "a job for (about) every second: {total} in {elapsed} s");
    let rows = reports(&db).await;
    let done = jobs.iter().filter(|j| j.state == JobState::Done).count();
    assert_eq!(rows.len(), done, "each finished tick made one report");
}
