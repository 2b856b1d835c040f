//! Feature modules: an API plus the migrations, permissions and seed data it needs.

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use kwik_core::MigrationSet;
use kwik_jobs::{JobDef, ScheduleDef};
use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::OpenApi;
use poem_openapi::registry::{MetaApi, Registry};

use crate::state::AppState;

/// A feature module (Projects, Customers, ...). The server composes modules in one place:
///
/// ```ignore
/// let app = App::new(state).module(Builtin).module(Projects).module(Customers);
/// ```
///
/// poem-openapi composes APIs statically, so each module names its API type; migrations,
/// permissions and seeds are collected at run time.
pub trait Module: Send + Sync + 'static {
    /// The module's poem-openapi API (a `#[OpenApi]` struct or a tuple of them).
    type Api: OpenApi + Clone + Send + Sync + 'static;

    /// A short unique name, used in logs and as the migration set's name.
    fn name(&self) -> &'static str;

    /// The module's API value.
    fn api(&self) -> Self::Api;

    /// Migrations the module needs, for both backends. Run at start-up, after the framework's.
    fn migrations(&self) -> Option<&'static MigrationSet> {
        None
    }

    /// Permission names the module checks (Kwik's `{domain}_{action}` style, e.g. `project_read`).
    /// Created at start-up and granted to the `admin` role.
    fn permissions(&self) -> &'static [&'static str] {
        &[]
    }

    /// Background job kinds the module brings (`kwik_jobs::job::<SendInvoice>()`): workers run
    /// them in `kwik-server serve` and `kwik-server worker`.
    fn jobs(&self) -> &'static [JobDef] {
        &[]
    }

    /// Periodic jobs the module brings (`ScheduleDef::new::<NightlyReport>("0 0 3 * * *")`),
    /// queued once per tick whatever the number of processes; built at start-up, so the cron
    /// expression may come from settings.
    fn schedules(&self) -> Vec<ScheduleDef> {
        Vec::new()
    }

    /// Demo data, loaded by the server's `seed` command. Must be idempotent.
    ///
    /// # Errors
    /// Any database error.
    fn seed<'a>(&'a self, _state: &'a AppState) -> BoxFuture<'a, kwik_core::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// The runtime half of a module, kept after its API type has been folded into the app's type.
pub(crate) trait ModuleRuntime: Send + Sync {
    fn name(&self) -> &'static str;
    fn migrations(&self) -> Option<&'static MigrationSet>;
    fn permissions(&self) -> &'static [&'static str];
    fn jobs(&self) -> &'static [JobDef];
    fn schedules(&self) -> Vec<ScheduleDef>;
    fn seed<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, kwik_core::Result<()>>;
}

impl<M: Module> ModuleRuntime for M {
    fn name(&self) -> &'static str {
        Module::name(self)
    }
    fn migrations(&self) -> Option<&'static MigrationSet> {
        Module::migrations(self)
    }
    fn permissions(&self) -> &'static [&'static str] {
        Module::permissions(self)
    }
    fn jobs(&self) -> &'static [JobDef] {
        Module::jobs(self)
    }
    fn schedules(&self) -> Vec<ScheduleDef> {
        Module::schedules(self)
    }
    fn seed<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, kwik_core::Result<()>> {
        Module::seed(self, state)
    }
}

/// An API with no operations: the starting point of [`App`](crate::App) before modules are added.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoApi;

impl OpenApi for NoApi {
    fn meta() -> Vec<MetaApi> {
        Vec::new()
    }

    fn register(_registry: &mut Registry) {}

    fn add_routes(self, _route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {}
}

/// Declares a [`Module`] in one block:
///
/// ```ignore
/// kwik_http::module! {
///     /// The Projects module.
///     pub Projects {
///         name: "projects",
///         api: (ProjectApi, ProjectActions),
///         migrations: ("../../migrations/projects/sqlite", "../../migrations/projects/postgres"),
///         permissions: ["project_create", "project_read", "project_update", "project_delete"],
///         jobs: [SummarizeProjects],
///         schedules: ["0 0 3 * * *" => NightlyReport],
///         seed: crate::seed::projects,
///     }
/// }
/// ```
///
/// `api` is one API type or a tuple of them, each `Default`. `migrations` paths are relative to the calling crate's `Cargo.toml` (embedded with `sqlx::migrate!`, through the `kwik` facade when the crate uses it);
/// `jobs` lists [`kwik_jobs::Job`] types; `schedules` pairs a cron expression (any `&str`
/// expression: six fields, seconds first, UTC) with a `Job + Default` type; `migrations`, `jobs`,
/// `schedules` and `seed` (an `async fn(&AppState) -> kwik_core::Result<()>`) are optional.
#[macro_export]
macro_rules! module {
    (
        $(#[$meta:meta])*
        $vis:vis $name:ident {
            name: $module_name:literal,
            api: $api:ty,
            $(migrations: ($sqlite:literal, $postgres:literal),)?
            permissions: [$($permission:literal),* $(,)?],
            $(jobs: [$($job:ty),* $(,)?],)?
            $(schedules: [$($cron:expr => $scheduled:ty),* $(,)?],)?
            $(seed: $seed:path,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::Module for $name {
            type Api = $api;

            fn name(&self) -> &'static str {
                $module_name
            }

            fn api(&self) -> Self::Api {
                ::std::default::Default::default()
            }

            $(
            fn migrations(&self) -> ::std::option::Option<&'static $crate::__private::MigrationSet> {
                static MIGRATIONS: $crate::__private::MigrationSet = $crate::__private::MigrationSet {
                    name: $module_name,
                    sqlite: $crate::__private::migrations!($sqlite),
                    postgres: $crate::__private::migrations!($postgres),
                };
                ::std::option::Option::Some(&MIGRATIONS)
            }
            )?

            fn permissions(&self) -> &'static [&'static str] {
                &[$($permission),*]
            }

            $(
            fn jobs(&self) -> &'static [$crate::__private::JobDef] {
                const JOBS: &[$crate::__private::JobDef] = &[$($crate::__private::job::<$job>()),*];
                JOBS
            }
            )?

            $(
            fn schedules(&self) -> ::std::vec::Vec<$crate::__private::ScheduleDef> {
                ::std::vec![$($crate::__private::ScheduleDef::new::<$scheduled>($cron)),*]
            }
            )?

            $(
            fn seed<'a>(&'a self, state: &'a $crate::AppState) -> $crate::__private::BoxFuture<'a, $crate::__private::kwik_core::Result<()>> {
                ::std::boxed::Box::pin($seed(state))
            }
            )?
        }
    };
}
