//! The facade-only service works end to end on the backend of this run: its migrations ran and
//! its table matches its entity, and the generated endpoints create, list, update and audit a note.
#![allow(clippy::unwrap_used, missing_docs)]

use kwik::json::json;
use kwik::testing::{TestApp, json_of};
use kwik_facade_check::{Note, build};

/// The committed SQL is what `migrations()` renders, through the facade's test kit.
#[test]
fn migrations_are_generated() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    kwik::testing::assert_migrations_current(&kwik_facade_check::migrations(), dir);
}

#[tokio::test]
async fn a_facade_only_service_serves_its_resource() {
    let app = TestApp::new(build).await;
    let db = &app.state().db;
    // The module's migrations (embedded through the facade) made the table.
    assert_eq!(kwik::crud::check_table::<Note>(db).await.unwrap(), Vec::<String>::new());

    let admin = app.as_admin().await;
    let created = admin.post("/notes/").body_json(&json!({"text": "hello", "amount": "1.50"})).send().await;
    assert_eq!(created.0.status().as_u16(), 200);
    let created = json_of(created).await;
    assert_eq!((created["state"].as_str(), created["amount"].as_str()), (Some("draft"), Some("1.5")));
    let path = format!("/notes/{}", created["id"]);
    let updated = json_of(admin.put(&path).body_json(&json!({"state": "done"})).send().await).await;
    assert_eq!(updated["state"], "done");
    let page = json_of(admin.get("/notes/").query("filter", &"state:eq:done").send().await).await;
    assert_eq!(page["total"], 1);
    let log = json_of(admin.get("/audit-log/").query("filter", &"resource:eq:notes").send().await).await;
    assert_eq!(log["total"], 2, "create and update recorded: {log}");
}
