//! Projects: Kwik's endpoint walkthrough as a module — five generated endpoints plus `archive`.

use kwik::prelude::*;

/// A project. Archived projects are read-only.
#[derive(Debug, Clone, FromRow, Object, Entity)]
#[rustfmt::skip::attributes(kwik)]
#[kwik(table = "projects", audit, crud = "ProjectCrud",
    api(path = "/projects/", read = "project_read", create = "project_create", update = "project_update", delete = "project_delete"))]
pub struct Project {
    #[kwik(primary_key)]
    pub id: i64,
    /// Unique name, 1 to 200 characters.
    #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
    pub name: String,
    /// Free text.
    #[kwik(create, update, filterable, max_length = 2000)]
    pub description: Option<String>,
    /// Set by `POST /projects/{id}/archive`; archived projects refuse updates.
    #[kwik(sortable, filterable)]
    pub archived: bool,
    #[kwik(sortable, filterable)]
    pub creation_time: DateTime<Utc>,
    pub last_modification_time: DateTime<Utc>,
    pub creator_user_id: Option<i64>,
    pub last_modifier_user_id: Option<i64>,
}

/// Kwik's `AutoCrud` for projects, with one business rule as a hook.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectCrud;

impl AutoCrud for ProjectCrud {
    type Entity = Project;

    async fn before_update(
        &self,
        _: &mut Context,
        current: &Project,
        _: &mut ProjectUpdate,
        _: &mut Values,
    ) -> Result<()> {
        if current.archived { Err(Error::Conflict("Project is archived".to_owned())) } else { Ok(()) }
    }
}

permission!(/** `project_update` and `project_read`, as in Kwik's example. */ pub ArchiveProject = "project_update", "project_read");

/// Hand-written endpoints beside the generated ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectActions;

#[OpenApi(prefix_path = "/projects/", tag = "ProjectTag::Resource")]
impl ProjectActions {
    /// Archive a project
    ///
    /// Requires: `project_update`, `project_read`. Idempotent: archiving twice changes nothing. 404 for an unknown id.
    #[oai(path = "/:id/archive", method = "post")]
    async fn archive(
        &self,
        state: Data<&AppState>,
        auth: Auth<ArchiveProject>,
        id: Path<i64>,
    ) -> ApiResult<Tagged<Project>> {
        let mut ctx = auth.write_scope(&state.db).await?;
        let mut project = ProjectCrud.get_for_update(&mut ctx, id.0, Operation::Update).await?;
        if !project.archived {
            project = ProjectCrud.set(&mut ctx, id.0, Values::from(vec![("archived", true.into())])).await?;
        }
        ctx.commit().await?;
        Ok(Tagged::new(project))
    }

    /// Request a project report
    ///
    /// Requires: `project_read`. Queues a `count_projects` job (the report is written by a
    /// worker; follow it with `GET /jobs/{job_id}`, which needs `job_read`). 202 with the job's id.
    #[oai(path = "/reports", method = "post")]
    async fn request_report(&self, state: Data<&AppState>, auth: Auth<ProjectRead>) -> ApiResult<ReportRequested> {
        let mut ctx = auth.write_scope(&state.db).await?;
        let job_id = kwik::jobs::enqueue(&mut ctx, CountProjects { work_ms: 0 }).await?;
        ctx.commit().await?;
        Ok(ReportRequested::Accepted(Json(QueuedJob { job_id })))
    }
}

permission!(/** `project_read` */ pub ProjectRead = "project_read");

/// When the report runs by itself: `PROJECTS_REPORT_CRON` (six fields, seconds first, UTC),
/// daily at 03:00 by default — an application's own setting, read at start-up.
pub fn report_schedule() -> String {
    std::env::var("PROJECTS_REPORT_CRON").unwrap_or_else(|_| "0 0 3 * * *".to_owned())
}

/// A job that was queued.
#[derive(Debug, Clone, Object)]
pub struct QueuedJob {
    /// The job's id: `GET /jobs/{job_id}` follows it.
    pub job_id: String,
}

/// `POST /projects/reports`'s answer.
#[derive(Debug, poem_openapi::ApiResponse)]
pub enum ReportRequested {
    /// The report job is queued.
    #[oai(status = 202)]
    Accepted(Json<QueuedJob>),
}

/// The example app's background job: counts the projects and writes a row to
/// `project_reports` — once per job, however many times it runs (a worker killed mid-job makes
/// it run again).
#[derive(Debug, Clone, Default, kwik::serde::Serialize, kwik::serde::Deserialize)]
#[serde(crate = "kwik::serde")]
pub struct CountProjects {
    /// Milliseconds of simulated work before the count (0 in the API; tests use it to stop a
    /// worker mid-job).
    #[serde(default)]
    pub work_ms: u64,
}

impl Job for CountProjects {
    const NAME: &'static str = "count_projects";

    async fn run(self, job: JobContext) -> std::result::Result<(), JobError> {
        use kwik::sql::{Alias, Expr, Func, Query};
        tokio::time::sleep(std::time::Duration::from_millis(self.work_ms)).await;
        let mut ctx = job.begin().await?;
        if job.first_time(&mut ctx, &job.idempotency_key()).await? {
            let count =
                Query::select().expr(Func::count(Expr::col(Alias::new("id")))).from(Alias::new("projects")).to_owned();
            let projects = ctx.tx.fetch_i64(&count).await?;
            let insert = Query::insert()
                .into_table(Alias::new("project_reports"))
                .columns(["job_id", "attempt", "projects", "worker_pid", "created_at"].map(Alias::new))
                .values_panic([
                    job.id().into(),
                    i64::from(job.attempt()).into(),
                    projects.into(),
                    i64::from(std::process::id()).into(),
                    kwik::core::now().into(),
                ])
                .to_owned();
            ctx.tx.execute(&insert).await?;
        }
        ctx.commit().await?;
        Ok(())
    }
}

/// The module's tables, written once for both databases: the SQL files under
/// `migrations/projects/` are generated from these (`KWIK_WRITE_MIGRATIONS=1 cargo test -p
/// kwik-server migrations_are_generated`), and a test fails when they drift apart.
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::new(1, "projects")
            .comment("Projects (Kwik's endpoint walkthrough), with RecordInfoMixin audit fields.")
            // The hand-written texts this version had before it was generated.
            .replaces_checksum(
                Dialect::Sqlite,
                "5aededa5d761fc256391159369aaa3a79302cc4f6d0435fed8f441a78589d2a491a27e19f02c7770709127a43e958e47",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "233ef8927e9dfd9fee9306982e3e7f5274ad7edc8b1e48ac65800b311fc6d39fc2a10e8e9333e14fde5ec74530a8a74a",
            )
            .create_table(
                Table::new("projects")
                    .id()
                    .column(Column::text("name").unique())
                    .column(Column::text("description").nullable())
                    .column(Column::bool("archived").default(false))
                    .record_info(),
            ),
        Migration::new(2, "project_reports")
            .comment("Reports made by the `count_projects` job (the example app's background job).")
            .replaces_checksum(
                Dialect::Sqlite,
                "7b27949a1b4345654959982ef758d61d7bb155fead242acff525aeb3144f13a7f6f2300238579d449eddb69573512711",
            )
            .replaces_checksum(
                Dialect::Postgres,
                "a8b12a8a694c81a61aa825e65286c159d2f7c38408aa9a13ead8582939bbfba1fe4141077a67c8e339426ec3f1abe302",
            )
            .create_table(
                Table::new("project_reports")
                    .id()
                    .column(Column::text("job_id").unique())
                    .column(Column::int("attempt"))
                    .column(Column::big_int("projects"))
                    .column(Column::big_int("worker_pid"))
                    .column(Column::timestamp("created_at")),
            ),
    ]
}

kwik::module! {
    /// The Projects module.
    pub Projects {
        name: "projects",
        api: (ProjectApi, ProjectActions),
        migrations: ("../../migrations/projects/sqlite", "../../migrations/projects/postgres"),
        permissions: ["project_create", "project_read", "project_update", "project_delete"],
        jobs: [CountProjects],
        schedules: [report_schedule() => CountProjects],
        seed: crate::seed::projects,
    }
}
