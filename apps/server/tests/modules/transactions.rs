//! One transaction per request: a failing hook or a constraint violation leaves the database
//! exactly as it was, over HTTP and at the repository level (`AutoCrud` on a `Context`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kwik_core::{Context, Error, Result};
use kwik_crud::AutoCrud;
use kwik_http::{ApiResult, AppState, Auth, JsonBody, Module, Tagged};
use kwik_server::projects::{Project, ProjectCreate, ProjectCrud, ProjectUpdate};
use kwik_testing::{TestApp, assert_detail};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::types::MaybeUndefined;
use serde_json::json;

use crate::common::{app, create_project, id, ids, list, ok};

/// An `AutoCrud` for projects whose `after_*` hooks fail, after the statement ran. It records
/// the id each hook saw, to prove the write had happened inside the transaction.
#[derive(Clone, Default)]
struct FailingCrud {
    seen: Arc<AtomicI64>,
}

fn refused() -> Error {
    Error::Conflict("refused by the hook".to_owned())
}

impl AutoCrud for FailingCrud {
    type Entity = Project;

    async fn after_create(&self, _ctx: &mut Context, entity: &Project) -> Result<()> {
        self.seen.store(entity.id, Ordering::SeqCst);
        Err(refused())
    }

    async fn after_update(&self, _ctx: &mut Context, entity: &Project) -> Result<()> {
        self.seen.store(entity.id, Ordering::SeqCst);
        Err(refused())
    }

    async fn after_delete(&self, _ctx: &mut Context, entity: &Project) -> Result<()> {
        self.seen.store(entity.id, Ordering::SeqCst);
        Err(refused())
    }
}

fn project_input(name: &str) -> ProjectCreate {
    ProjectCreate { name: name.to_owned(), description: Some("from the repository".to_owned()) }
}

async fn stored(app: &TestApp, id: i64) -> Option<Project> {
    ProjectCrud.get(&mut Context::system(&app.state().db), id).await.expect("read")
}

fn assert_conflict(result: Result<Project>) {
    match result {
        Err(Error::Conflict(message)) => assert_eq!(message, "refused by the hook"),
        other => panic!("expected the hook's error, got {other:?}"),
    }
}

kwik_http::permission!(
    /// Writes through [`FailingApi`].
    WriteProjects = "project_update"
);

/// Endpoints over the projects table served exactly as generated endpoints are
/// (`kwik_http::crud::{create, update, delete}`: one transaction per request), but with
/// [`FailingCrud`], whose hooks fail after the statement ran.
#[derive(Clone)]
struct FailingApi {
    crud: FailingCrud,
}

#[OpenApi(prefix_path = "/failing-projects/")]
impl FailingApi {
    /// Create, then fail.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: Auth<WriteProjects>,
        body: JsonBody<ProjectCreate>,
    ) -> ApiResult<Tagged<Project>> {
        kwik_http::crud::create(&self.crud, &state, &auth, body.0).await
    }

    /// Update, then fail.
    #[oai(path = "/:id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: Auth<WriteProjects>,
        id: Path<i64>,
        body: JsonBody<ProjectUpdate>,
    ) -> ApiResult<Tagged<Project>> {
        kwik_http::crud::update(&self.crud, &state, &auth, id.0, body.0, None).await
    }

    /// Delete, then fail.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: Auth<WriteProjects>,
        id: Path<i64>,
    ) -> ApiResult<Tagged<Project>> {
        kwik_http::crud::delete(&self.crud, &state, &auth, id.0, None).await
    }
}

struct FailingModule(FailingCrud);

impl Module for FailingModule {
    type Api = FailingApi;

    fn name(&self) -> &'static str {
        "failing-projects"
    }

    fn api(&self) -> FailingApi {
        FailingApi { crud: self.0.clone() }
    }
}

/// Over HTTP, each hook fails after its statement ran (the hook saw the row): the request is a
/// 409 and the database is exactly as before. More failed requests than the pool has
/// connections, so every connection goes back to the pool from a rolled-back transaction.
#[tokio::test]
async fn failing_hook_after_a_write_over_http_changes_nothing() {
    let failing = FailingCrud::default();
    let module = FailingModule(failing.clone());
    let app = TestApp::new(|state| kwik_server::app::build(state).module(module)).await;
    let admin = app.as_admin().await;
    let project = create_project(&admin, &json!({"name": "Granite", "description": "solid"})).await;
    let project_id = id(&project);
    let path = format!("/failing-projects/{project_id}");

    for round in 0..3 {
        let refused = admin.put(&path).body_json(&json!({"name": "Granite 2", "description": null})).send().await;
        assert_detail(refused, 409, "refused by the hook").await;
        assert_eq!(failing.seen.swap(0, Ordering::SeqCst), project_id, "round {round}: the update ran");

        let refused = admin.post("/failing-projects/").body_json(&json!({"name": "Kestrel"})).send().await;
        assert_detail(refused, 409, "refused by the hook").await;
        let inserted = failing.seen.swap(0, Ordering::SeqCst);
        assert!(inserted > project_id, "round {round}: the insert ran ({inserted})");
        assert!(stored(&app, inserted).await.is_none(), "round {round}: the inserted row is gone");

        assert_detail(admin.delete(&path).send().await, 409, "refused by the hook").await;
        assert_eq!(failing.seen.swap(0, Ordering::SeqCst), project_id, "round {round}: the delete ran");
    }

    // Byte for byte as before, over HTTP and in the table.
    assert_eq!(ok(admin.get(&format!("/projects/{project_id}")).send().await).await, project);
    let row = stored(&app, project_id).await.expect("still there");
    assert_eq!((row.name.as_str(), row.description.as_deref()), ("Granite", Some("solid")));
    let page = list(&admin, "/projects/", &[]).await;
    assert_eq!(ids(&page), [project_id], "no row added");
    // Neither name was taken.
    create_project(&admin, &json!({"name": "Granite 2"})).await;
    create_project(&admin, &json!({"name": "Kestrel"})).await;
}

#[tokio::test]
async fn constraint_violation_over_http_changes_nothing() {
    let app = app().await;
    let admin = app.as_admin().await;
    let a = create_project(&admin, &json!({"name": "Helix"})).await;
    let b = create_project(&admin, &json!({"name": "Iris", "description": "b"})).await;
    let path = format!("/projects/{}", id(&b));

    // More failures than the pool has connections: every connection goes through a failed
    // transaction (on PostgreSQL an aborted one) and must come back clean.
    for _ in 0..8 {
        let response = admin.put(&path).body_json(&json!({"name": "Helix", "description": "changed"})).send().await;
        assert_detail(response, 409, "Entity already exists").await;
    }
    assert_eq!(ok(admin.get(&path).send().await).await, b, "B unchanged");
    assert_eq!(ok(admin.get(&format!("/projects/{}", id(&a))).send().await).await, a, "A unchanged");

    let renamed = ok(admin.put(&path).body_json(&json!({"name": "Iris 2"})).send().await).await;
    assert_eq!((&renamed["name"], &renamed["description"]), (&json!("Iris 2"), &json!("b")));
    let page = list(&admin, "/projects/", &[("sorting", "name")]).await;
    assert_eq!(ids(&page), [id(&a), id(&b)]);
}

#[tokio::test]
async fn failed_create_is_rolled_back() {
    let app = app().await;
    let failing = FailingCrud::default();

    let mut ctx = Context::begin(&app.state().db, None).await.expect("begin");
    // An earlier write in the same unit of work...
    let earlier = ProjectCrud.create(&mut ctx, project_input("Juniper")).await.expect("create");
    // ...then one whose hook fails after the insert.
    assert_conflict(failing.create(&mut ctx, project_input("Kestrel")).await);
    let inserted = failing.seen.load(Ordering::SeqCst);
    assert!(inserted > earlier.id, "the insert ran before the hook failed ({inserted})");
    drop(ctx);

    assert!(stored(&app, earlier.id).await.is_none(), "the whole unit of work is rolled back");
    assert!(stored(&app, inserted).await.is_none(), "the failed row does not exist");
    let admin = app.as_admin().await;
    assert_eq!(list(&admin, "/projects/", &[]).await["total"], 0);
    // Both names are free.
    create_project(&admin, &json!({"name": "Juniper"})).await;
    create_project(&admin, &json!({"name": "Kestrel"})).await;

    // Control: the same writes, committed, are there.
    let mut ctx = Context::begin(&app.state().db, None).await.expect("begin");
    let committed = ProjectCrud.create(&mut ctx, project_input("Lumen")).await.expect("create");
    ctx.commit().await.expect("commit");
    assert_eq!(stored(&app, committed.id).await.map(|p| p.name), Some("Lumen".to_owned()));
}

#[tokio::test]
async fn failed_update_and_delete_are_rolled_back() {
    let app = app().await;
    let admin = app.as_admin().await;
    let project = create_project(&admin, &json!({"name": "Meridian", "description": "before"})).await;
    let project_id = id(&project);
    let failing = FailingCrud::default();

    let mut ctx = Context::begin(&app.state().db, None).await.expect("begin");
    let input = ProjectUpdate { name: Some("Meridian 2".to_owned()), description: MaybeUndefined::Null };
    assert_conflict(failing.update(&mut ctx, project_id, input).await);
    assert_eq!(failing.seen.swap(0, Ordering::SeqCst), project_id);
    drop(ctx);
    let row = stored(&app, project_id).await.expect("still there");
    assert_eq!((row.name.as_str(), row.description.as_deref()), ("Meridian", Some("before")));
    assert_eq!(ok(admin.get(&format!("/projects/{project_id}")).send().await).await, project);

    let mut ctx = Context::begin(&app.state().db, None).await.expect("begin");
    assert_conflict(failing.delete(&mut ctx, project_id).await);
    assert_eq!(failing.seen.load(Ordering::SeqCst), project_id);
    drop(ctx);
    assert_eq!(ok(admin.get(&format!("/projects/{project_id}")).send().await).await, project, "not deleted");
}
