//! Jobs enqueued by HTTP requests (a module declared with `module!`'s `jobs:`), on the backend of
//! this run: a request that fails after enqueueing leaves no job; a committed one has it, and it
//! runs exactly once on the app's workers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kwik_http::{ApiResult, App, AppState, Auth, builtin::Builtin};
use kwik_jobs::admin::{self, JobFilter, JobState};
use kwik_jobs::{Job, JobContext, JobError};
use kwik_testing::{TestApp, eventually};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::payload::PlainText;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Ping {
    note: String,
}

impl Job for Ping {
    const NAME: &'static str = "ping";
    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let sql = match ctx.db() {
            kwik_core::Db::Sqlite(_) => "INSERT INTO pings (note) VALUES (?)",
            kwik_core::Db::Postgres(_) => "INSERT INTO pings (note) VALUES ($1)",
        };
        match ctx.db() {
            kwik_core::Db::Sqlite(pool) => sqlx::query(sql).bind(&self.note).execute(pool).await.map(drop),
            kwik_core::Db::Postgres(pool) => sqlx::query(sql).bind(&self.note).execute(pool).await.map(drop),
        }
        .map_err(|e| JobError(e.to_string()))
    }
}

kwik_http::permission!(/** `ping_send` */ PingSend = "ping_send");

#[derive(Debug, Clone, Copy, Default)]
struct PingApi;

#[OpenApi(prefix_path = "/pings/")]
impl PingApi {
    /// Queues a ping, then fails when asked to: the failure must take the job with it.
    #[oai(path = "/", method = "post")]
    async fn send(
        &self,
        state: Data<&AppState>,
        auth: Auth<PingSend>,
        note: poem_openapi::param::Query<String>,
        fail: poem_openapi::param::Query<Option<bool>>,
    ) -> ApiResult<PlainText<String>> {
        let mut ctx = auth.write_scope(&state.db).await?;
        let id = kwik_jobs::enqueue(&mut ctx, Ping { note: note.0 }).await?;
        if fail.0.unwrap_or(false) {
            return Err(kwik_core::Error::Conflict("failed after enqueueing".to_owned()).into());
        }
        ctx.commit().await?;
        Ok(PlainText(id))
    }
}

kwik_http::module! {
    /// Pings.
    Pings {
        name: "pings",
        api: PingApi,
        permissions: ["ping_send"],
        jobs: [Ping],
    }
}

fn build(state: AppState) -> App<impl OpenApi + Clone + Send + Sync + 'static> {
    App::new(state).module(Builtin).module(Pings)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_request_leaves_no_job_and_a_committed_one_runs_once() {
    let app = TestApp::new(build).await;
    let db = app.state().db.clone();
    db.execute_raw("CREATE TABLE pings (note TEXT NOT NULL)").await.unwrap();
    let admin = app.as_admin().await;

    let failed = admin.post("/pings/?note=lost&fail=true").send().await;
    failed.assert_status(poem::http::StatusCode::CONFLICT);
    let ok = admin.post("/pings/?note=kept").send().await;
    ok.assert_status_is_ok();
    let id = ok.0.into_body().into_string().await.unwrap();

    let (total, jobs) = admin::list(&db, &JobFilter::default(), 0, 10).await.unwrap();
    assert_eq!(total, 1, "only the committed request's job: {jobs:?}");
    assert_eq!(jobs[0].id, id);
    assert_eq!(jobs[0].name, "ping");

    let settings = kwik_core::settings::JobSettings {
        workers: true,
        concurrency: 2,
        poll_interval: Duration::from_millis(50),
        heartbeat: Duration::from_secs(1),
        retention: None,
    };
    // Workers for the job kinds the module declares (`jobs: [Ping]`), as `serve` starts them.
    let declared = kwik_http::Module::jobs(&Pings);
    assert_eq!(declared.iter().map(|j| j.name).collect::<Vec<_>>(), ["ping"]);
    let workers = kwik_jobs::Workers::start(&db, declared, settings, &kwik_jobs::JobData::default());
    let done = eventually(Duration::from_secs(10), || async {
        admin::get(&db, &id).await.unwrap().is_some_and(|job| job.state == JobState::Done)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    workers.shutdown(Duration::from_secs(5)).await;
    assert!(done);
    let notes: Vec<String> = match &db {
        kwik_core::Db::Sqlite(pool) => sqlx::query_scalar("SELECT note FROM pings").fetch_all(pool).await.unwrap(),
        kwik_core::Db::Postgres(pool) => sqlx::query_scalar("SELECT note FROM pings").fetch_all(pool).await.unwrap(),
    };
    assert_eq!(notes, ["kept"], "ran exactly once; the failed request's job never existed");
}
