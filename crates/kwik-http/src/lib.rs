//! # kwik-http
//!
//! The HTTP layer of Kwik for Rust, on poem and poem-openapi: the [`App`] builder that turns
//! settings, a database and feature [`Module`]s into a server; Kwik's JSON error shape for every
//! error ([`ApiError`], [`error_response`]); [`JsonBody`] with FastAPI-style 422 reporting; health
//! checks; generated OpenAPI with Swagger UI, Scalar and ReDoc; graceful shutdown.
//!
//! Routes of every app:
//!
//! | path | what |
//! |---|---|
//! | `{KWIK_API_V1_STR}/...` | the modules' operations (default prefix `/api/v1`) |
//! | `{prefix}/openapi.json`, `{prefix}/openapi.yaml` | the generated OpenAPI 3 document |
//! | `/docs`, `/scalar`, `/redoc` | interactive docs (Swagger UI, Scalar, ReDoc), embedded |
//! | `/health/live` | 200 while the process runs |
//! | `/health/ready` | 200 when the database answers, else 503 JSON |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kwik_core::{Db, Settings};
//! use kwik_http::{App, AppState};
//! use poem::test::TestClient;
//!
//! let settings = Settings::from_vars([("KWIK_DATABASE_URL", "sqlite::memory:")]).unwrap();
//! let db = Db::connect(settings.database.url.expose(), &settings.database.pool).await.unwrap();
//! let app = App::new(AppState::new(settings, db).unwrap());
//! app.prepare().await.unwrap();
//!
//! let client = TestClient::new(app.endpoint());
//! client.get("/health/ready").send().await.assert_status_is_ok();
//! let missing = client.get("/api/v1/nowhere").send().await;
//! missing.assert_status(poem::http::StatusCode::NOT_FOUND);
//! missing.assert_json(serde_json::json!({"detail": "Not Found", "code": "not_found"})).await;
//! # }
//! ```
#![forbid(unsafe_code)]

mod app;
mod auth;
mod body;
pub mod builtin;
pub mod crud;
mod error;
mod etag;
pub mod lenient;
mod list_params;
mod listing;
mod metrics;
mod module;
mod path_names;
pub mod principals;
mod protection;
mod rate_limit;
mod recovery;
mod spec;
mod state;

pub use app::{App, StartupHook, local_addr, shutdown_signal};
pub use auth::{ApiKeyHeader, Auth, BearerToken, Credentials, CurrentUser, PermissionSet};
pub use body::{FormBody, JsonBody, Rules, Validate, is_secret_field, parse_json, parse_value};
pub use error::{ApiError, ApiResult, error_response, render};
pub use etag::{Tagged, etag_of, if_match_admits, if_none_match_names};
pub use list_params::{
    DOCUMENTED_MAX_FILTERS, DOCUMENTED_MAX_LIMIT, FILTER_OPERATORS, ListFilters, ListLimit, ListSkip, ListSorting,
};
pub use listing::list_spec;
pub use module::{Module, NoApi};
pub use principals::PrincipalCache;
pub use protection::{PasswordAttempts, RequestId, request_id};
pub use recovery::{LogSender, ResetTokenSender};
pub use state::AppState;

#[doc(hidden)]
pub mod __private {
    pub use futures_util::future::BoxFuture;
    pub use kwik_core;
    pub use kwik_core::MigrationSet;
    pub use kwik_jobs::{JobDef, ScheduleDef, job};
    pub use kwik_listing::RawListQuery;
    pub use kwik_macros::migrations;
}
