//! The background-jobs operator API (`GET /jobs/`, `GET /jobs/{job_id}`,
//! `POST /jobs/{job_id}/retry`) over HTTP, on the backend of this run (SQLite, or PostgreSQL with
//! `KWIK_TEST_DATABASE_URL`): who may call it, a job's life as the API shows it, bad input, the
//! arguments it never shows, multi-tenancy, and the job figures of `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: failures should panic

use std::time::Duration;

use chrono::{DateTime, Utc};
use kwik_core::Context;
use kwik_core::settings::{JobSettings, PoolSettings};
use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_jobs::{Job, JobContext, JobData, JobDef, JobError, Workers};
use kwik_testing::{Scenario, TestApp, TestClient, assert_detail, assert_validation, eventually, json_of};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a failing job says; the API shows it as `last_error`.
const FAILURE: &str = "the mail server said no";
/// An argument value that must never appear in a response.
const SECRET: &str = "secret-argument-value";
/// A valid ULID no job has.
const UNKNOWN_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
const METRICS_TOKEN: &str = "metrics-token-for-the-jobs-tests";

/// A job no worker of these tests runs: it stays pending.
#[derive(Serialize, Deserialize)]
struct Idle {
    payload: String,
}

impl Job for Idle {
    const NAME: &'static str = "api_idle";
    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

/// A job that fails its only allowed run: dead after one run.
#[derive(Serialize, Deserialize)]
struct Doomed {
    secret: String,
}

impl Job for Doomed {
    const NAME: &'static str = "api_doomed";
    const MAX_ATTEMPTS: u32 = 1;
    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Err(JobError::new(FAILURE))
    }
}

/// [`Doomed`] under a name of its own, used by the metrics test only: the run counters are shared
/// by every app of the process, so only this test's runs count under this name.
#[derive(Serialize, Deserialize)]
struct Metered;

impl Job for Metered {
    const NAME: &'static str = "api_metered";
    const MAX_ATTEMPTS: u32 = 1;
    async fn run(self, _ctx: JobContext) -> Result<(), JobError> {
        Err(JobError::new(FAILURE))
    }
}

async fn app() -> TestApp {
    app_with(&[]).await
}

async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::with_settings(settings, |state| App::new(state).module(Builtin)).await
}

fn worker_settings() -> JobSettings {
    JobSettings {
        workers: true,
        concurrency: 2,
        poll_interval: Duration::from_millis(50),
        heartbeat: Duration::from_secs(1),
        retention: None,
    }
}

/// Queues `job` in a committed transaction; returns its id.
async fn enqueue<J: Job>(app: &TestApp, job: J) -> String {
    let mut ctx = Context::begin(&app.state().db, None).await.unwrap();
    let id = kwik_jobs::enqueue(&mut ctx, job).await.unwrap();
    ctx.commit().await.unwrap();
    id
}

/// The job `id` as the administrator reads it through the API.
async fn read(app: &TestApp, id: &str) -> Value {
    let response = app.as_admin().await.get(&format!("/jobs/{id}")).send().await;
    let status = response.0.status();
    let body = json_of(response).await;
    assert_eq!(status, 200, "GET /jobs/{id}: {body}");
    body
}

/// Runs workers for `kinds` until every job of `ids` is dead (as the API says), then stops them.
///
/// The workers get a (small) pool of their own, closed once they stop. On PostgreSQL, stopping them can
/// leave a pooled connection inside a transaction nothing ends (sqlx 0.9.0: a `begin()`
/// cancelled during its round trip, transact-rs/sqlx#4393); on the app's pool, a later statement
/// run on that connection (a retry, say) would never be committed. See
/// [`a_retry_after_the_workers_stopped_on_the_same_pool_is_committed`].
async fn run_until_dead(app: &TestApp, kinds: &[JobDef], ids: &[&str]) {
    let small = PoolSettings { max_connections: 3, min_connections: 0, acquire_timeout: Duration::from_secs(5) };
    let pool = kwik_core::Db::connect(app.database().url(), &small).await.unwrap();
    let workers = Workers::start(&pool, kinds, worker_settings(), &JobData::default());
    let dead = eventually(Duration::from_secs(30), || async {
        for id in ids {
            if read(app, id).await["state"] != "dead" {
                return false;
            }
        }
        true
    })
    .await;
    workers.shutdown(Duration::from_secs(5)).await;
    pool.close().await;
    for id in ids {
        assert!(dead, "job {id} should be dead: {}", read(app, id).await);
    }
}

/// Sends the request and returns `(status, body as JSON)`.
async fn call(
    request: poem::test::TestRequestBuilder<'_, poem::endpoint::BoxEndpoint<'static, poem::Response>>,
) -> (u16, Value) {
    let response = request.send().await;
    let status = response.0.status().as_u16();
    (status, json_of(response).await)
}

/// `GET /jobs/?<query>` by `client`: asserts 200, returns the body.
async fn list(client: &TestClient<'_>, query: &str) -> Value {
    let (status, body) = call(client.get(&format!("/jobs/?{query}"))).await;
    assert_eq!(status, 200, "GET /jobs/?{query}: {body}");
    body
}

/// The ids of a list body's `data`, in order.
fn ids(body: &Value) -> Vec<&str> {
    body["data"].as_array().unwrap().iter().map(|job| job["id"].as_str().unwrap()).collect()
}

fn timestamp(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("not a timestamp: {value}")))
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jobs_endpoints_need_a_token_and_the_permission_they_name() {
    let app = app().await;
    let world = Scenario::new()
        .role("reader", &["job_read"])
        .role("manager", &["job_manage"])
        .role("operator", &["job_manage", "job_read"])
        .role("unrelated", &["user_read", "role_read"])
        .user("nobody", &["unrelated"])
        .user("reader", &["reader"])
        .user("manager", &["manager"])
        .user("operator", &["operator"])
        .build(&app)
        .await;
    let first = enqueue(&app, Doomed { secret: "one".into() }).await;
    let second = enqueue(&app, Doomed { secret: "two".into() }).await;
    run_until_dead(&app, &[kwik_jobs::job::<Doomed>()], &[&first, &second]).await;
    let get = format!("/jobs/{first}");
    let retry = format!("/jobs/{first}/retry");

    // No token: 401, whether the job exists or not.
    let anonymous = app.anonymous();
    assert_detail(anonymous.get("/jobs/").send().await, 401, "Not authenticated").await;
    assert_detail(anonymous.get(&get).send().await, 401, "Not authenticated").await;
    assert_detail(anonymous.post(&retry).send().await, 401, "Not authenticated").await;
    assert_detail(anonymous.get(&format!("/jobs/{UNKNOWN_ID}")).send().await, 401, "Not authenticated").await;

    // Other permissions are not enough; the permission check comes before the lookup (no 404
    // tells a caller without `job_read` which ids exist).
    let nobody = app.as_user(world.user("nobody"));
    assert_detail(nobody.get("/jobs/").send().await, 403, "Not enough privileges").await;
    assert_detail(nobody.get(&get).send().await, 403, "Not enough privileges").await;
    assert_detail(nobody.get(&format!("/jobs/{UNKNOWN_ID}")).send().await, 403, "Not enough privileges").await;
    assert_detail(nobody.post(&retry).send().await, 403, "Not enough privileges").await;

    // `job_read` reads, and only reads.
    let reader = app.as_user(world.user("reader"));
    assert_eq!(list(&reader, "").await["total"], 2);
    let (status, body) = call(reader.get(&get)).await;
    assert_eq!((status, &body["id"]), (200, &Value::from(first.clone())), "{body}");
    assert_detail(reader.post(&retry).send().await, 403, "Not enough privileges").await;
    assert_eq!(read(&app, &first).await["state"], "dead", "the refused retry changed nothing");

    // `job_manage` alone neither reads nor retries (the retry answers with the job, which only
    // readers may see); with `job_read` it retries.
    let manager = app.as_user(world.user("manager"));
    assert_detail(manager.get("/jobs/").send().await, 403, "Not enough privileges").await;
    assert_detail(manager.get(&get).send().await, 403, "Not enough privileges").await;
    assert_detail(manager.post(&retry).send().await, 403, "Not enough privileges").await;
    let operator = app.as_user(world.user("operator"));
    let (status, body) = call(operator.post(&retry)).await;
    assert_eq!((status, &body["state"]), (200, &Value::from("pending")), "{body}");

    // The administrator holds every permission.
    let admin = app.as_admin().await;
    assert_eq!(list(&admin, "").await["total"], 2);
    let (status, body) = call(admin.get(&format!("/jobs/{second}"))).await;
    assert_eq!((status, &body["state"]), (200, &Value::from("dead")), "{body}");
    let (status, body) = call(admin.post(&format!("/jobs/{second}/retry"))).await;
    assert_eq!((status, &body["state"]), (200, &Value::from("pending")), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_pending_then_dead_then_pending_again_after_a_retry() {
    let app = app().await;
    let world =
        Scenario::new().role("manager", &["job_manage", "job_read"]).user("manager", &["manager"]).build(&app).await;
    let admin = app.as_admin().await;
    let before = Utc::now() - chrono::Duration::seconds(1);
    let doomed = enqueue(&app, Doomed { secret: "x".into() }).await;
    // Distinct milliseconds, so that the ids (ULIDs) and "newest first" order are certain.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let idle = enqueue(&app, Idle { payload: "y".into() }).await;
    let after = Utc::now() + chrono::Duration::seconds(1);

    // Pending: listed newest first, not run yet.
    let page = list(&admin, "").await;
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(ids(&page), [idle.as_str(), doomed.as_str()], "newest first: {page}");
    let job = &page["data"][1];
    assert_eq!(job["name"], "api_doomed", "{job}");
    assert_eq!(job["state"], "pending", "{job}");
    assert_eq!((job["attempts"].as_u64(), job["max_attempts"].as_u64()), (Some(0), Some(1)), "{job}");
    assert!((before..=after).contains(&timestamp(&job["created_at"])), "created now: {job}");
    assert!(job["run_at"].is_string(), "due at once: {job}");
    for absent in ["started_at", "finished_at", "last_error"] {
        assert!(job[absent].is_null(), "no {absent} before a run: {job}");
    }
    assert_eq!(&read(&app, &doomed).await, job, "GET shows what the list shows");

    // One failed run of one allowed: dead, with the job's own message.
    run_until_dead(&app, &[kwik_jobs::job::<Doomed>()], &[&doomed]).await;
    let dead = read(&app, &doomed).await;
    assert_eq!(dead["last_error"], FAILURE, "{dead}");
    assert_eq!(dead["attempts"], dead["max_attempts"], "{dead}");
    assert_eq!(dead["attempts"], 1, "{dead}");
    assert!(dead["started_at"].is_string(), "taken by a worker: {dead}");
    assert_eq!(read(&app, &idle).await["state"], "pending", "no worker runs api_idle");

    // Filters: by state, by name, both.
    let only_dead = list(&admin, "job_state=dead").await;
    assert_eq!((only_dead["total"].as_i64(), ids(&only_dead)), (Some(1), vec![doomed.as_str()]), "{only_dead}");
    let pending = list(&admin, "job_state=pending").await;
    assert_eq!((pending["total"].as_i64(), ids(&pending)), (Some(1), vec![idle.as_str()]), "{pending}");
    for state in ["running", "done", "retrying"] {
        let none = list(&admin, &format!("job_state={state}")).await;
        assert_eq!((none["total"].as_i64(), ids(&none).len()), (Some(0), 0), "{state}: {none}");
    }
    let by_name = list(&admin, "name=api_idle").await;
    assert_eq!((by_name["total"].as_i64(), ids(&by_name)), (Some(1), vec![idle.as_str()]), "{by_name}");
    let both = list(&admin, "name=api_doomed&job_state=dead").await;
    assert_eq!(ids(&both), [doomed.as_str()], "{both}");
    let neither = list(&admin, "name=api_idle&job_state=dead").await;
    assert_eq!((neither["total"].as_i64(), ids(&neither).len()), (Some(0), 0), "{neither}");
    let unknown = list(&admin, "name=no_such_job").await;
    assert_eq!((unknown["total"].as_i64(), ids(&unknown).len()), (Some(0), 0), "{unknown}");

    // A `job_manage` holder retries it: queued again, due now, attempts from zero.
    let manager = app.as_user(world.user("manager"));
    let (status, retried) = call(manager.post(&format!("/jobs/{doomed}/retry"))).await;
    assert_eq!(status, 200, "{retried}");
    assert_eq!((&retried["id"], &retried["name"]), (&Value::from(doomed.clone()), &Value::from("api_doomed")));
    assert_eq!(retried["state"], "pending", "{retried}");
    assert_eq!(retried["attempts"], 0, "{retried}");
    assert_eq!(retried["max_attempts"], 1, "{retried}");
    assert_eq!(read(&app, &doomed).await["state"], "pending");
    assert_eq!(list(&admin, "job_state=dead").await["total"], 0);

    // Not dead any more: 409, and so is a job that never died.
    let again = manager.post(&format!("/jobs/{doomed}/retry")).send().await;
    assert_detail(again, 409, "Only dead jobs can be retried; this one is pending").await;
    let never_dead = manager.post(&format!("/jobs/{idle}/retry")).send().await;
    assert_detail(never_dead, 409, "Only dead jobs can be retried; this one is pending").await;

    // Unknown ids: 404 with a JSON detail.
    let missing = format!("Job with id={UNKNOWN_ID} does not exist");
    assert_detail(manager.post(&format!("/jobs/{UNKNOWN_ID}/retry")).send().await, 404, &missing).await;
    assert_detail(admin.get(&format!("/jobs/{UNKNOWN_ID}")).send().await, 404, &missing).await;
    assert_detail(admin.post("/jobs/not-a-ulid/retry").send().await, 404, "Job with id=not-a-ulid does not exist")
        .await;

    // The retried job really runs again (and, failing again, is dead again after one run).
    run_until_dead(&app, &[kwik_jobs::job::<Doomed>()], &[&doomed]).await;
    let dead_again = read(&app, &doomed).await;
    assert_eq!((&dead_again["attempts"], &dead_again["last_error"]), (&Value::from(1), &Value::from(FAILURE)));
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_page_newest_first() {
    let app = app().await;
    let admin = app.as_admin().await;
    let mut queued = Vec::new();
    for n in 0..5 {
        queued.push(enqueue(&app, Idle { payload: n.to_string() }).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let newest_first: Vec<&str> = queued.iter().rev().map(String::as_str).collect();
    let all = list(&admin, "").await;
    assert_eq!(ids(&all), newest_first, "{all}");
    let first = list(&admin, "limit=2").await;
    assert_eq!((first["total"].as_i64(), ids(&first)), (Some(5), newest_first[..2].to_vec()), "{first}");
    let second = list(&admin, "skip=2&limit=2").await;
    assert_eq!((second["total"].as_i64(), ids(&second)), (Some(5), newest_first[2..4].to_vec()), "{second}");
    let beyond = list(&admin, "skip=10").await;
    assert_eq!((beyond["total"].as_i64(), ids(&beyond).len()), (Some(5), 0), "{beyond}");
    let empty = list(&admin, "limit=0").await;
    assert_eq!((empty["total"].as_i64(), ids(&empty).len()), (Some(5), 0), "{empty}");
    let most = list(&admin, "limit=1000").await;
    assert_eq!(ids(&most).len(), 5, "{most}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_4xx_json_error_never_a_500() {
    let app = app().await;
    let admin = app.as_admin().await;
    let id = enqueue(&app, Idle { payload: "z".into() }).await;

    for query in ["job_state=bogus", "job_state=DEAD", "job_state="] {
        assert_validation(admin.get(&format!("/jobs/?{query}")).send().await, &["query", "job_state"]).await;
    }
    for query in ["limit=1001", "limit=-1", "limit=ten", "limit=18446744073709551616"] {
        assert_validation(admin.get(&format!("/jobs/?{query}")).send().await, &["query", "limit"]).await;
    }
    for query in ["skip=-1", "skip=1000000001", "skip=x"] {
        assert_validation(admin.get(&format!("/jobs/?{query}")).send().await, &["query", "skip"]).await;
    }
    let long_name = format!("name={}", "n".repeat(201));
    assert_validation(admin.get(&format!("/jobs/?{long_name}")).send().await, &["query", "name"]).await;

    // Ids: over 64 characters is invalid input, not a lookup.
    let long_id = "A".repeat(300);
    for (method, response) in [
        ("GET", admin.get(&format!("/jobs/{long_id}")).send().await),
        ("POST", admin.post(&format!("/jobs/{long_id}/retry")).send().await),
    ] {
        let status = response.0.status();
        let body = json_of(response).await;
        assert_eq!(status, 422, "{method} with a 300-character id: {body}");
        assert_eq!(body["detail"][0]["loc"], serde_json::json!(["path", "job_id"]), "{method}: {body}");
        assert!(!body.to_string().contains(&long_id), "the id is not echoed back: {body}");
    }
    let longest = "A".repeat(64);
    let missing = format!("Job with id={longest} does not exist");
    assert_detail(admin.get(&format!("/jobs/{longest}")).send().await, 404, &missing).await;
    assert_detail(admin.post(&format!("/jobs/{longest}/retry")).send().await, 404, &missing).await;

    // Ids are bound parameters: quotes and wildcards find nothing, and the job is untouched.
    for hostile in ["%27%20OR%20%271%27=%271", "%25", "%2A", "%20"] {
        let (status, body) = call(admin.get(&format!("/jobs/{hostile}"))).await;
        assert_eq!(status, 404, "GET /jobs/{hostile}: {body}");
        assert!(body["detail"].is_string(), "{body}");
        let (status, body) = call(admin.post(&format!("/jobs/{hostile}/retry"))).await;
        assert_eq!(status, 404, "POST /jobs/{hostile}/retry: {body}");
    }
    let (status, body) = call(admin.get("/jobs/?name=%25")).await;
    assert_eq!((status, &body["total"]), (200, &Value::from(0)), "a name is not a pattern: {body}");
    assert_eq!(read(&app, &id).await["state"], "pending");
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_never_contain_the_jobs_arguments() {
    let app = app().await;
    let admin = app.as_admin().await;
    let doomed = enqueue(&app, Doomed { secret: SECRET.into() }).await;
    let idle = enqueue(&app, Idle { payload: SECRET.into() }).await;

    let text = |response: poem::test::TestResponse| async move {
        assert_eq!(response.0.status(), 200);
        response.0.into_body().into_string().await.unwrap()
    };
    let mut bodies = vec![
        text(admin.get("/jobs/").send().await).await,
        text(admin.get(&format!("/jobs/{doomed}")).send().await).await,
        text(admin.get(&format!("/jobs/{idle}")).send().await).await,
    ];
    run_until_dead(&app, &[kwik_jobs::job::<Doomed>()], &[&doomed]).await;
    bodies.push(text(admin.get("/jobs/").send().await).await);
    bodies.push(text(admin.get("/jobs/?job_state=dead").send().await).await);
    bodies.push(text(admin.get(&format!("/jobs/{doomed}")).send().await).await);
    bodies.push(text(admin.post(&format!("/jobs/{doomed}/retry")).send().await).await);
    for body in &bodies {
        assert!(!body.contains(SECRET), "an argument leaked: {body}");
        assert!(!body.contains("args") && !body.contains("payload"), "no argument field: {body}");
    }
    assert!(bodies[0].contains(&doomed) && bodies[0].contains(&idle), "the jobs were listed: {}", bodies[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tenancy_on_jobs_also_need_tenant_switch() {
    let app = app_with(&[("KWIK_TENANCY_ENABLED", "true")]).await;
    let world = Scenario::new()
        .role("reader", &["job_read"])
        .role("switching_reader", &["job_read", "tenant_switch"])
        .role("manager", &["job_manage", "job_read"])
        .role("switching_manager", &["job_manage", "job_read", "tenant_switch"])
        .role("switcher", &["tenant_switch"])
        .user("reader", &["reader"])
        .user("switching_reader", &["switching_reader"])
        .user("manager", &["manager"])
        .user("switching_manager", &["switching_manager"])
        .user("switcher", &["switcher"])
        .build(&app)
        .await;
    let id = enqueue(&app, Idle { payload: "t".into() }).await;
    let no_tenant = "Jobs belong to no tenant: with multi-tenancy on they need `tenant_switch` too";

    let reader = app.as_user(world.user("reader"));
    assert_detail(reader.get("/jobs/").send().await, 403, no_tenant).await;
    assert_detail(reader.get(&format!("/jobs/{id}")).send().await, 403, no_tenant).await;
    let manager = app.as_user(world.user("manager"));
    assert_detail(manager.post(&format!("/jobs/{id}/retry")).send().await, 403, no_tenant).await;
    // `tenant_switch` alone is not `job_read`.
    let switcher = app.as_user(world.user("switcher"));
    assert_detail(switcher.get("/jobs/").send().await, 403, "Not enough privileges").await;

    let switching_reader = app.as_user(world.user("switching_reader"));
    assert_eq!(ids(&list(&switching_reader, "").await), [id.as_str()]);
    let (status, body) = call(switching_reader.get(&format!("/jobs/{id}"))).await;
    assert_eq!((status, &body["state"]), (200, &Value::from("pending")), "{body}");
    assert_detail(switching_reader.post(&format!("/jobs/{id}/retry")).send().await, 403, "Not enough privileges").await;
    // Past both checks: the job is pending, so 409.
    let switching_manager = app.as_user(world.user("switching_manager"));
    let pending = switching_manager.post(&format!("/jobs/{id}/retry")).send().await;
    assert_detail(pending, 409, "Only dead jobs can be retried; this one is pending").await;
    assert_eq!(list(&app.as_admin().await, "").await["total"], 1, "the administrator holds tenant_switch");
}

/// The text of `GET /metrics`.
async fn scrape(app: &TestApp) -> String {
    let response = app.raw().get("/metrics").header("Authorization", format!("Bearer {METRICS_TOKEN}")).send().await;
    assert_eq!(response.0.status(), 200);
    response.0.into_body().into_string().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_jobs_by_state_and_runs_by_outcome() {
    let app = app_with(&[("KWIK_METRICS_TOKEN", METRICS_TOKEN)]).await;
    let metered = enqueue(&app, Metered).await;
    enqueue(&app, Idle { payload: "m".into() }).await;
    enqueue(&app, Idle { payload: "n".into() }).await;

    let text = scrape(&app).await;
    assert!(text.contains(r#"kwik_jobs{job="api_metered",state="pending"} 1"#), "{text}");
    assert!(text.contains(r#"kwik_jobs{job="api_idle",state="pending"} 2"#), "{text}");

    run_until_dead(&app, &[kwik_jobs::job::<Metered>()], &[&metered]).await;
    let text = scrape(&app).await;
    assert!(text.contains(r#"kwik_jobs{job="api_metered",state="dead"} 1"#), "{text}");
    assert!(!text.contains(r#"kwik_jobs{job="api_metered",state="pending"}"#), "no longer pending: {text}");
    assert!(text.contains(r#"kwik_job_runs_total{job="api_metered",outcome="failed"} 1"#), "{text}");
    assert!(!text.contains(r#"kwik_job_runs_total{job="api_metered",outcome="succeeded"}"#), "{text}");
    assert!(text.contains(r#"kwik_job_duration_seconds_count{job="api_metered"} 1"#), "{text}");
    assert!(text.contains(r#"kwik_jobs_running{job="api_metered"} 0"#), "{text}");

    // Retried: the gauges follow the database at the next scrape.
    let (status, body) = call(app.as_admin().await.post(&format!("/jobs/{metered}/retry"))).await;
    assert_eq!(status, 200, "{body}");
    let text = scrape(&app).await;
    assert!(text.contains(r#"kwik_jobs{job="api_metered",state="pending"} 1"#), "{text}");
    assert!(!text.contains(r#"kwik_jobs{job="api_metered",state="dead"}"#), "no longer dead: {text}");
}

/// Regression test: on PostgreSQL, stopping the workers cancels apalis polls mid-`BEGIN`, and
/// sqlx 0.9.0 can return such a connection to its pool still inside the transaction
/// (transact-rs/sqlx#4393). When the workers polled on the app's pool, that connection later
/// served `POST /jobs/{id}/retry`, which answered 200 and was never committed (about one shutdown
/// in four). The workers now poll on a pool of their own, closed at shutdown; ten rounds check
/// that no connection is left inside a transaction and every retry is committed.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_the_workers_stopped_on_the_same_pool_is_committed() {
    let app = app().await;
    let admin = app.as_admin().await;
    let observer = app.database().connect().await;
    for round in 0..10 {
        let id = enqueue(&app, Doomed { secret: round.to_string() }).await;
        // Given the app's pool, as `App::serve` and `App::run_workers` give it.
        let workers =
            Workers::start(&app.state().db, &[kwik_jobs::job::<Doomed>()], worker_settings(), &JobData::default());
        let dead = eventually(Duration::from_secs(30), || async { read(&app, &id).await["state"] == "dead" }).await;
        workers.shutdown(Duration::from_secs(5)).await;
        assert!(dead, "round {round}: {}", read(&app, &id).await);
        if let kwik_core::Db::Postgres(pool) = &observer {
            let stuck: Vec<(i32, Option<String>)> = sqlx::query_as(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() \
                 AND state LIKE 'idle in transaction%'",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            assert!(stuck.is_empty(), "round {round}: connections left inside a transaction: {stuck:?}");
        }

        let (status, body) = call(admin.post(&format!("/jobs/{id}/retry"))).await;
        assert_eq!((status, &body["state"]), (200, &Value::from("pending")), "round {round}: the retry's answer");
        // Seen from another pool, that is, committed; and by every connection of the app's pool.
        let seen = kwik_jobs::admin::get(&observer, &id).await.unwrap().unwrap();
        assert_eq!(seen.state, kwik_jobs::admin::JobState::Pending, "round {round}: the retry was not committed");
        for _ in 0..6 {
            assert_eq!(read(&app, &id).await["state"], "pending", "round {round}");
        }
    }
}
