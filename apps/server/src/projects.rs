//! Projects: Kwik's endpoint walkthrough as a module — five generated endpoints plus `archive`.

use chrono::{DateTime, Utc};
use kwik_core::{Context, Error, MigrationSet, Queries, Result};
use kwik_crud::AutoCrud;
use kwik_http::{ApiResult, AppState, Auth, Module, permission};
use poem::web::Data;
use poem_openapi::{Object, OpenApi, param::Path, payload::Json};
use sea_query::{Expr, ExprTrait, Query};

/// A project. Archived projects are read-only.
#[derive(Debug, Clone, sqlx::FromRow, Object, kwik_macros::Entity)]
#[kwik(
    table = "projects",
    audit,
    crud = "ProjectCrud",
    api(
        path = "/projects/",
        read = "project_read",
        create = "project_create",
        update = "project_update",
        delete = "project_delete"
    )
)]
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
pub struct ProjectCrud;

impl AutoCrud for ProjectCrud {
    type Entity = Project;

    async fn before_update(&self, _ctx: &mut Context, current: &Project, _input: &mut ProjectUpdate) -> Result<()> {
        if current.archived { Err(Error::Conflict("Project is archived".to_owned())) } else { Ok(()) }
    }
}

permission!(/** `project_update` and `project_read`, as in Kwik's example. */ pub ArchiveProject = "project_update", "project_read");

/// Hand-written endpoints beside the generated ones.
#[derive(Debug, Clone, Copy)]
pub struct ProjectActions;

#[OpenApi(prefix_path = "/projects/")]
impl ProjectActions {
    /// Archive a project
    ///
    /// Requires: `project_update`, `project_read`. Idempotent. 404 for an unknown id.
    #[oai(path = "/:id/archive", method = "post")]
    async fn archive(
        &self,
        state: Data<&AppState>,
        auth: Auth<ArchiveProject>,
        id: Path<i64>,
    ) -> ApiResult<Json<Project>> {
        let mut ctx = Context::begin(&state.db, Some(auth.id())).await?;
        ProjectCrud.get_if_exist(&mut ctx.tx, id.0).await?;
        let archive =
            Query::update().table("projects").value("archived", true).and_where(Expr::col("id").eq(id.0)).to_owned();
        ctx.tx.execute(&archive).await?;
        let project = ProjectCrud.get_if_exist(&mut ctx.tx, id.0).await?;
        ctx.commit().await?;
        Ok(Json(project))
    }
}

static MIGRATIONS: MigrationSet = MigrationSet {
    name: "projects",
    sqlite: sqlx::migrate!("../../migrations/projects/sqlite"),
    postgres: sqlx::migrate!("../../migrations/projects/postgres"),
};

/// The Projects module.
pub struct Projects;

impl Module for Projects {
    type Api = (ProjectApi, ProjectActions);
    fn name(&self) -> &'static str {
        "projects"
    }
    fn api(&self) -> Self::Api {
        (ProjectApi, ProjectActions)
    }
    fn migrations(&self) -> Option<&'static MigrationSet> {
        Some(&MIGRATIONS)
    }
    fn permissions(&self) -> &'static [&'static str] {
        &["project_create", "project_read", "project_update", "project_delete"]
    }
    fn seed<'a>(&'a self, state: &'a AppState) -> futures_util::future::BoxFuture<'a, Result<()>> {
        Box::pin(crate::seed::projects(state))
    }
}
