//! # kwik-testing
//!
//! Real-database testing for Kwik apps, as Kwik's own test kit: no mocks.
//!
//! - [`TestDatabase`]: a **fresh database per test** on the backend the environment chooses —
//!   `KWIK_TEST_DATABASE_URL` unset → a new SQLite file; `postgres://user@host:port/db` → a new
//!   database `kwik_test_<uuid>` on that server (the user needs `CREATEDB`), dropped when the test
//!   ends, even when it panics. The same test runs on both backends; tests run in parallel.
//! - [`TestApp`]: your app (built by your own function) on such a database, migrated and
//!   bootstrapped, behind poem's in-process test client; `as_admin()`, `as_user(..)`,
//!   `anonymous()` give clients that send the right credentials.
//! - [`Scenario`]: declare users, roles and permissions, build them in one call, get them back by name.
//! - [`assert_detail`] and [`assert_validation`]: check Kwik's error bodies, printing the body on failure.
//! - [`redis_rate_limit_settings`]: rate-limit counters in the test Redis (`KWIK_TEST_REDIS_URL`),
//!   under a key prefix of their own.
//! - [`assert_migrations_current`]: the committed SQL of a module's migrations is what its Rust
//!   migrations (`kwik_core::schema`) render.
//! - [`skip`] and [`skip_missing`]: a test that cannot run here records the skip
//!   (`KWIK_TEST_SKIP_LOG`), and fails instead when `CI` is set and a service CI must have is missing.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kwik_http::{App, builtin::Builtin};
//! use kwik_testing::{Scenario, TestApp, assert_detail};
//!
//! let app = TestApp::new(|state| App::new(state).module(Builtin)).await;
//! let world = Scenario::new()
//!     .role("auditor", &["user_read"])
//!     .user("alice", &["auditor"])
//!     .user("bob", &[])
//!     .build(&app)
//!     .await;
//!
//! // alice may list users, bob may not, strangers are not authenticated.
//! app.as_user(world.user("alice")).get("/users/").send().await.assert_status_is_ok();
//! let denied = app.as_user(world.user("bob")).get("/users/").send().await;
//! assert_detail(denied, 403, "Not enough privileges").await;
//! let anonymous = app.anonymous().get("/users/").send().await;
//! assert_detail(anonymous, 401, "Not authenticated").await;
//! # }
//! ```
#![forbid(unsafe_code)]

mod app;
mod assertions;
mod database;
mod migrations;
mod redis;
mod scenario;
mod skip;

pub use app::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, TestClient, test_settings};
pub use assertions::{assert_detail, assert_validation, eventually, json_of};
pub use database::{TEST_DATABASE_URL, TestDatabase, backend};
pub use migrations::{WRITE_MIGRATIONS, assert_migrations_current};
pub use redis::{TEST_REDIS_URL, redis_rate_limit_settings};
pub use scenario::{Scenario, TestUser, World};
pub use skip::{SKIP_LOG, skip, skip_missing};
