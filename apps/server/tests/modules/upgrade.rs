//! Databases migrated by the hand-written SQL the example modules had before their tables were
//! written once in Rust (those files are kept in `tests/fixtures/hand-written-migrations/`) start
//! with the generated files: each version's recorded checksum is replaced (`replaces_checksum` in
//! the modules' `migrations()`), nothing runs again, the rows stay, and every entity matches its
//! table — on the backend of this run.

use kwik_core::MigrationSet;
use kwik_http::builtin::Builtin;
use kwik_http::{App, AppState};
use kwik_server::customers::Customer;
use kwik_server::orders::{Order, OrderLine, Product};
use kwik_server::projects::Project;
use kwik_testing::{TestDatabase, test_settings};

static PROJECTS: MigrationSet = MigrationSet {
    name: "projects",
    sqlite: sqlx::migrate!("tests/fixtures/hand-written-migrations/projects/sqlite"),
    postgres: sqlx::migrate!("tests/fixtures/hand-written-migrations/projects/postgres"),
};
static CUSTOMERS: MigrationSet = MigrationSet {
    name: "customers",
    sqlite: sqlx::migrate!("tests/fixtures/hand-written-migrations/customers/sqlite"),
    postgres: sqlx::migrate!("tests/fixtures/hand-written-migrations/customers/postgres"),
};
static ORDERS: MigrationSet = MigrationSet {
    name: "orders",
    sqlite: sqlx::migrate!("tests/fixtures/hand-written-migrations/orders/sqlite"),
    postgres: sqlx::migrate!("tests/fixtures/hand-written-migrations/orders/postgres"),
};

#[tokio::test]
async fn databases_migrated_by_the_hand_written_files_start_with_the_generated_ones() {
    let database = TestDatabase::new().await;
    let db = database.connect().await;
    let state = || AppState::new(test_settings(database.url(), &[]), db.clone()).unwrap();

    // The framework's tables, then the modules' hand-written SQL: what the previous release left.
    App::new(state()).module(Builtin).prepare().await.unwrap();
    db.migrate(&[&PROJECTS, &CUSTOMERS, &ORDERS]).await.unwrap();
    db.execute_raw(
        "INSERT INTO projects (name, archived, creation_time, last_modification_time) \
         VALUES ('kept', FALSE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await
    .unwrap();

    // This release: the generated files take their predecessors' place; twice, as every start-up.
    let app = kwik_server::app::build(state());
    app.prepare().await.unwrap();
    app.prepare().await.unwrap();

    let mut problems = Vec::new();
    problems.extend(kwik_crud::check_table::<Project>(&db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Customer>(&db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Product>(&db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Order>(&db).await.unwrap());
    problems.extend(kwik_crud::check_table::<OrderLine>(&db).await.unwrap());
    assert_eq!(problems, Vec::<String>::new());
    let kept: Vec<(i64,)> = match &db {
        kwik_core::Db::Sqlite(pool) => {
            sqlx::query_as("SELECT COUNT(*) FROM projects WHERE name = 'kept'").fetch_all(pool).await.unwrap()
        }
        kwik_core::Db::Postgres(pool) => {
            sqlx::query_as("SELECT COUNT(*) FROM projects WHERE name = 'kept'").fetch_all(pool).await.unwrap()
        }
    };
    assert_eq!(kept, [(1,)], "the migrations did not run again");
}
