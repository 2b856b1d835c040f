//! Every entity of the example app agrees with its table (names, kinds, nullability) after the
//! migrations, on the backend of this run: a migration and a struct cannot drift apart unnoticed;
//! and the migrations SQL is what the modules' Rust migrations render.

use kwik_server::customers::Customer;
use kwik_server::orders::{Order, OrderLine, Product};
use kwik_server::projects::Project;

use crate::common::app;

#[tokio::test]
async fn every_entity_matches_its_table() {
    let app = app().await;
    let db = &app.state().db;
    let mut problems = Vec::new();
    problems.extend(kwik_crud::check_table::<Project>(db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Customer>(db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Product>(db).await.unwrap());
    problems.extend(kwik_crud::check_table::<Order>(db).await.unwrap());
    problems.extend(kwik_crud::check_table::<OrderLine>(db).await.unwrap());
    assert_eq!(problems, Vec::<String>::new());
}

/// The SQL under `migrations/` is what each module's Rust migrations render, for both databases
/// (`KWIK_WRITE_MIGRATIONS=1` rewrites it); every other test of the app applies those files.
#[test]
fn migrations_are_generated() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    kwik_testing::assert_migrations_current(&kwik_server::projects::migrations(), root.join("projects"));
    kwik_testing::assert_migrations_current(&kwik_server::customers::migrations(), root.join("customers"));
    kwik_testing::assert_migrations_current(&kwik_server::orders::migrations(), root.join("orders"));
}
