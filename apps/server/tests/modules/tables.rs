//! Every entity of the example app agrees with its table (names, kinds, nullability) after the
//! migrations, on the backend of this run: a migration and a struct cannot drift apart unnoticed.

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
