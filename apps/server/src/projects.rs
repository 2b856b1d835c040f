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
}

kwik::module! {
    /// The Projects module.
    pub Projects {
        name: "projects",
        api: (ProjectApi, ProjectActions),
        migrations: ("../../migrations/projects/sqlite", "../../migrations/projects/postgres"),
        permissions: ["project_create", "project_read", "project_update", "project_delete"],
        seed: crate::seed::projects,
    }
}
