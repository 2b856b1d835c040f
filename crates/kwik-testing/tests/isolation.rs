//! Every test gets its own database: data left behind by one test is invisible to the others,
//! and the database is removed when the test ends (on both backends).
#![allow(clippy::expect_used)]

use kwik_core::{Backend, Queries};
use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::{Scenario, TestApp, TestDatabase, json_of};
use sea_query::{Expr, ExprTrait, Func, Query};

async fn app() -> TestApp {
    TestApp::new(|state| App::new(state).module(Builtin)).await
}

async fn user_count(app: &TestApp) -> i64 {
    let count = Query::select().expr(Func::count(Expr::col("id"))).from("users").to_owned();
    app.state().db.clone().fetch_i64(&count).await.expect("count users")
}

/// Both tests create the same user and expect to be alone with the bootstrap admin. If two tests
/// ever shared a database, one of them would see three users or fail with a duplicate email.
async fn leave_a_user_behind() {
    let app = app().await;
    assert_eq!(user_count(&app).await, 1, "a fresh database holds only the bootstrap admin");
    let world = Scenario::new().user("leftover", &[]).build(&app).await;
    let me = app.as_user(world.user("leftover")).get("/users/me").send().await;
    assert_eq!(json_of(me).await["email"], "leftover@example.com");
    assert_eq!(user_count(&app).await, 2);
}

#[tokio::test]
async fn isolated_one() {
    leave_a_user_behind().await;
}

#[tokio::test]
async fn isolated_two() {
    leave_a_user_behind().await;
}

#[tokio::test]
async fn isolated_three() {
    leave_a_user_behind().await;
}

#[tokio::test]
async fn the_database_is_removed_when_the_test_ends() {
    let database = TestDatabase::new().await;
    let url = database.url().to_owned();
    let db = database.connect().await;
    db.ping().await.expect("fresh database answers");
    db.close().await;
    drop(database);
    match kwik_testing::backend() {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            assert!(!std::path::Path::new(path).exists(), "{path} still exists");
        }
        Backend::Postgres => {
            let admin = std::env::var(kwik_testing::TEST_DATABASE_URL).expect("admin url");
            let name = url.rsplit('/').next().expect("database name").split('?').next().expect("name").to_owned();
            let pool =
                kwik_core::Db::connect(&admin, &kwik_core::settings::PoolSettings::default()).await.expect("admin");
            let exists = Query::select()
                .expr(Func::count(Expr::col("datname")))
                .from("pg_database")
                .and_where(Expr::col("datname").eq(name.as_str()))
                .to_owned();
            assert_eq!(pool.clone().fetch_i64(&exists).await.expect("query"), 0, "{name} was not dropped");
        }
    }
}

/// Whether the database of `url` exists: the SQLite file, or the PostgreSQL database.
async fn database_exists(url: &str) -> bool {
    match kwik_testing::backend() {
        Backend::Sqlite => std::path::Path::new(url.trim_start_matches("sqlite://")).exists(),
        Backend::Postgres => {
            let admin = std::env::var(kwik_testing::TEST_DATABASE_URL).expect("admin url");
            let name = url.rsplit('/').next().expect("name").split('?').next().expect("name").to_owned();
            let pool =
                kwik_core::Db::connect(&admin, &kwik_core::settings::PoolSettings::default()).await.expect("admin");
            let exists = Query::select()
                .expr(Func::count(Expr::col("datname")))
                .from("pg_database")
                .and_where(Expr::col("datname").eq(name.as_str()))
                .to_owned();
            let count = pool.clone().fetch_i64(&exists).await.expect("query");
            pool.close().await;
            count == 1
        }
    }
}

/// A test that panics in the middle of its work — app migrated, a user written, connections
/// open — still leaves no database behind.
#[tokio::test]
async fn a_panicking_test_still_drops_its_database() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = tokio::spawn(async move {
        let app = app().await;
        Scenario::new().user("doomed", &[]).build(&app).await;
        assert_eq!(user_count(&app).await, 2, "written before the panic");
        let url = app.database().url().to_owned();
        let existed = database_exists(&url).await;
        tx.send((url, existed)).expect("send url");
        panic!("the test fails while its app is open");
    })
    .await;
    assert!(outcome.expect_err("the task panicked").is_panic());
    let (url, existed) = rx.recv().expect("url");
    assert!(existed, "{url} existed, with data, before the panic");
    assert!(!database_exists(&url).await, "{url} survived the panic");
}
