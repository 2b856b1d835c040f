//! The [`App`] builder: settings + database + modules → a poem endpoint with Kwik's routes,
//! docs, health checks, error shape and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kwik_core::{Error, MigrationSet};
use kwik_jobs::{JobDef, ScheduleDef, Workers};
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::middleware::{AddData, CatchPanic};
use poem::web::Data;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, Server, get, handler};
use poem_openapi::{OpenApi, OpenApiService};
use serde_json::json;

use crate::error::{error_response, render};
use crate::module::{Module, ModuleRuntime, NoApi};
use crate::path_names::{PathNames, drop_trailing_slash, rename_path_errors};
use crate::protection::{Protection, guard, observe};
use crate::state::AppState;

/// How long `/health/ready` waits for the database before answering 503 (seconds).
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Something that runs once at start-up, after migrations (the auth crate's bootstrap of
/// built-in permissions and the first superuser is one).
pub type StartupHook = Arc<
    dyn for<'a> Fn(&'a AppState, &'a [&'static str]) -> futures_util::future::BoxFuture<'a, kwik_core::Result<()>>
        + Send
        + Sync,
>;

/// A Kwik application: shared state, the composed API type `A`, and the runtime parts of its
/// modules (migrations, permissions, seeds).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kwik_core::{Db, Settings};
/// use kwik_http::{App, AppState};
///
/// let settings = Settings::from_env()?;
/// let db = Db::connect(settings.database.url.expose(), &settings.database.pool).await?;
/// let app = App::new(AppState::new(settings, db)?); // .module(MyModule) ...
/// app.prepare().await?;
/// let acceptor = app.bind().await?;
/// app.serve(acceptor, kwik_http::shutdown_signal()).await?;
/// # Ok(()) }
/// ```
pub struct App<A> {
    state: AppState,
    api: A,
    migrations: Vec<&'static MigrationSet>,
    modules: Vec<Arc<dyn ModuleRuntime>>,
    startup: Vec<StartupHook>,
    version: String,
    description: Option<String>,
}

impl App<NoApi> {
    /// An app with no modules yet. The framework's tables (users, roles, permissions, API keys,
    /// refresh tokens) are always migrated, and the bootstrap (built-in and module permissions,
    /// the `admin` role, the first superuser) always runs in [`App::prepare`].
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            api: NoApi,
            migrations: vec![&kwik_rbac::MIGRATIONS, &kwik_jobs::JOB_MIGRATIONS, &kwik_jobs::JOB_KEY_MIGRATIONS],
            modules: Vec::new(),
            startup: vec![Arc::new(|state: &AppState, permissions: &[&'static str]| {
                Box::pin(async move {
                    let settings = &state.settings;
                    kwik_rbac::bootstrap(
                        &state.db,
                        &state.hasher,
                        &settings.auth.first_superuser,
                        settings.auth.first_superuser_password.expose(),
                        permissions,
                    )
                    .await
                })
            })],
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: None,
        }
    }
}

impl<A: OpenApi + Clone + Send + Sync + 'static> App<A> {
    /// Adds a feature module: its API joins the app's, its migrations and permissions are applied
    /// by [`App::prepare`], its seed data by [`App::seed`].
    ///
    /// # Panics
    /// At start-up, when two operations of the composed API have the same method and path
    /// (poem-openapi would silently keep one): replace a generated endpoint by leaving it out of
    /// `api(...)`, never by declaring a second one.
    pub fn module<M: Module>(mut self, module: M) -> App<(A, M::Api)> {
        let clashes = duplicate_operations::<(A, M::Api)>();
        assert!(
            clashes.is_empty(),
            "module '{}' declares operations the app already has: {}",
            module.name(),
            clashes.join(", ")
        );
        let mut declared = self.state.declared_permissions.as_ref().clone();
        for name in module.permissions() {
            if !declared.contains(name) {
                declared.push(name);
            }
        }
        self.state.declared_permissions = Arc::new(declared);
        let api = (self.api, module.api());
        let mut modules = self.modules;
        modules.push(Arc::new(module));
        App {
            state: self.state,
            api,
            migrations: self.migrations,
            modules,
            startup: self.startup,
            version: self.version,
            description: self.description,
        }
    }

    /// Adds a migration set that runs before every module's (framework tables).
    #[must_use]
    pub fn migrations(mut self, set: &'static MigrationSet) -> Self {
        self.migrations.push(set);
        self
    }

    /// Adds a start-up hook, run by [`App::prepare`] after all migrations with the permission
    /// names every module declared.
    #[must_use]
    pub fn on_startup(mut self, hook: StartupHook) -> Self {
        self.startup.push(hook);
        self
    }

    /// Sets the version shown in the OpenAPI document (default: kwik-http's version).
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Sets the description of the OpenAPI document (Markdown), shown under its title. The title
    /// is the app's name, `KWIK_PROJECT_NAME` (Kwik's `PROJECT_NAME`).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Every permission the modules declare, in module order, without duplicates.
    pub fn permissions(&self) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = Vec::new();
        for name in self.modules.iter().flat_map(|m| m.permissions().iter().copied()) {
            if !all.contains(&name) {
                all.push(name);
            }
        }
        all
    }

    /// The poem-openapi service for the composed API (paths relative to `KWIK_API_V1_STR`).
    pub fn openapi(&self) -> OpenApiService<A, ()> {
        let settings = &self.state.settings;
        let service = OpenApiService::new(self.api.clone(), settings.project_name.clone(), self.version.clone())
            .server(settings.server.api_v1_str.clone());
        match &self.description {
            Some(description) => service.description(description.clone()),
            None => service,
        }
    }

    /// The OpenAPI document as JSON (what `GET {prefix}/openapi.json` serves): poem-openapi's,
    /// with the finishing touches it cannot express itself (empty OAuth2 `scopes`, `nullable`
    /// optional properties; see `spec.rs`).
    pub fn spec_json(&self) -> String {
        crate::spec::finish(&self.openapi().spec())
    }

    /// Checks the modules' cron expressions, runs migrations (framework sets, then each
    /// module's), then the start-up hooks (bootstrap of permissions and the first superuser).
    /// Idempotent.
    ///
    /// # Errors
    /// The first migration or hook that fails.
    pub async fn prepare(&self) -> kwik_core::Result<()> {
        for schedule in self.schedules() {
            schedule.validate()?;
        }
        let mut sets = self.migrations.clone();
        sets.extend(self.modules.iter().filter_map(|m| m.migrations()));
        self.state.db.migrate(&sets).await?;
        let permissions = self.permissions();
        for hook in &self.startup {
            hook(&self.state, &permissions).await?;
        }
        Ok(())
    }

    /// Every job kind the modules declare, in module order, without duplicates.
    pub fn jobs(&self) -> Vec<JobDef> {
        let mut all: Vec<JobDef> = Vec::new();
        for job in self.modules.iter().flat_map(|m| m.jobs().iter().copied()) {
            if !all.iter().any(|known| known.name == job.name) {
                all.push(job);
            }
        }
        all
    }

    /// Every periodic job the modules declare.
    pub fn schedules(&self) -> Vec<ScheduleDef> {
        self.modules.iter().flat_map(|m| m.schedules()).collect()
    }

    /// Starts this process's job workers (one per job kind, `KWIK_JOBS_CONCURRENCY` jobs each)
    /// and schedulers; the readiness check reports them from then on. Stop them with
    /// [`Workers::shutdown`].
    pub fn start_workers(&self) -> Workers {
        let jobs = self.jobs();
        let schedules = self.schedules();
        // Jobs reach the app's state (settings, signing keys) as shared data.
        let data = self.state.job_data.clone().insert(self.state.clone());
        let workers = Workers::start_with_schedules(&self.state.db, &jobs, &schedules, self.state.settings.jobs, &data);
        let _ = self.state.workers.set(workers.status());
        tracing::info!(kinds = jobs.len(), "job workers started");
        workers
    }

    /// Runs the job workers alone (`kwik-server worker`) until `shutdown` completes, then lets the
    /// jobs in hand finish for up to `KWIK_BACKEND_GRACEFUL_TIMEOUT` seconds, gives the rest
    /// back to the queue, and closes the pool.
    pub async fn run_workers(&self, shutdown: impl Future<Output = ()> + Send) {
        let workers = self.start_workers();
        shutdown.await;
        workers.shutdown(self.state.settings.server.graceful_timeout).await;
        self.state.db.close().await;
    }

    /// Loads every module's seed data.
    ///
    /// # Errors
    /// The first seed that fails.
    pub async fn seed(&self) -> kwik_core::Result<()> {
        for module in &self.modules {
            tracing::info!(module = module.name(), "seeding");
            module.seed(&self.state).await?;
        }
        Ok(())
    }

    /// The complete HTTP endpoint: API under the prefix, spec, docs UIs, health checks,
    /// body-size limit, panic catcher, and Kwik's JSON error shape for every error.
    pub fn endpoint(&self) -> impl Endpoint<Output = Response> + 'static {
        self.state.principals.watch(&self.state.db);
        let service = self.openapi();
        let prefix = self.state.settings.server.api_v1_str.clone();
        let raw_spec = service.spec();
        let spec = crate::spec::finish(&raw_spec);
        let path_names = Arc::new(PathNames::from_spec(&raw_spec));
        let protection = Arc::new(Protection::new(&self.state.settings, path_names.clone()));
        let guarded = protection.clone();
        let prefix_for_names: Arc<str> = Arc::from(prefix.as_str());
        let (slash_names, slash_prefix) = (path_names.clone(), prefix_for_names.clone());
        let max_body = self.state.settings.server.max_body_bytes;
        let routes = Route::new()
            .at(format!("{prefix}/openapi.json"), spec_endpoint(&spec))
            .at(format!("{prefix}/openapi.yaml"), spec_yaml_endpoint(&spec))
            .nest(
                "/docs",
                docs_ui(&service, &spec, OpenApiService::swagger_ui_html, |s| {
                    Some(s.swagger_ui().map_to_response().boxed())
                }),
            )
            .nest("/scalar", docs_ui(&service, &spec, OpenApiService::scalar_html, |_| None))
            .nest("/redoc", docs_ui(&service, &spec, OpenApiService::redoc_html, |_| None))
            .at("/health/live", get(live))
            .at("/health/ready", get(ready))
            .nest(
                prefix,
                service
                    .around(move |ep, req| rename_path_errors(ep, req, path_names.clone(), prefix_for_names.clone())),
            );
        let cors = cors(&self.state.settings.cors.origins, self.state.settings.cors.allow_credentials);
        let routes = match (&protection.metrics, &self.state.settings.server.metrics_token) {
            (Some(metrics), Some(token)) => {
                let (metrics, token) = (metrics.clone(), token.expose().to_owned());
                routes.at(
                    "/metrics",
                    get(poem::endpoint::make(move |req: Request| {
                        let (metrics, token) = (metrics.clone(), token.clone());
                        async move { serve_metrics(&req, &metrics, &token).await }
                    })),
                )
            }
            _ => routes,
        };
        routes
            .around(move |ep, req| limit_body(ep, req, max_body))
            .with(AddData::new(self.state.clone()))
            .with(CatchPanic::new().with_handler(|_| render(&Error::Internal("handler panicked".to_owned()))))
            .catch_all_error(|err| async move { error_response(err) })
            .around(move |ep, req| guard(ep, req, guarded.clone()))
            .with_if(cors.is_some(), cors.unwrap_or_default())
            .around(move |ep, req| observe(ep, req, protection.clone()))
            .around(move |ep, req| drop_trailing_slash(ep, req, slash_names.clone(), slash_prefix.clone()))
    }

    /// Binds `KWIK_BACKEND_HOST:KWIK_BACKEND_PORT` (port 0 picks a free port; see
    /// [`local_addr`]).
    ///
    /// # Errors
    /// The bind error (address in use, permission denied).
    pub async fn bind(&self) -> std::io::Result<TcpAcceptor> {
        TcpListener::bind(self.state.settings.bind_address()).into_acceptor().await
    }

    /// Serves until `shutdown` completes, then stops accepting connections and gives in-flight
    /// requests up to `KWIK_BACKEND_GRACEFUL_TIMEOUT` seconds to finish; finally closes the pool.
    /// With `KWIK_JOBS_WORKERS` on (the default) the job workers run beside the server and stop
    /// with it, their jobs in hand given the same grace.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn serve(
        &self,
        acceptor: impl Acceptor + 'static,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let timeout = self.state.settings.server.graceful_timeout;
        let workers = self.state.settings.jobs.workers.then(|| self.start_workers());
        // The server and the workers stop together, each with the grace period.
        let (signalled, signal) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            shutdown.await;
            let _ = signalled.send(());
        };
        let server =
            Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(self.endpoint(), shutdown, Some(timeout));
        let stop_workers = async move {
            if let Some(workers) = workers {
                // The server ended, by the signal or by an error: stop the workers either way.
                let _ = signal.await;
                workers.shutdown(timeout).await;
            }
        };
        let (result, ()) = tokio::join!(server, stop_workers);
        self.state.db.close().await;
        result
    }
}

/// `METHOD /path` of every operation declared more than once in `A`. Path parameters match
/// whatever their names (`/orders/{id}` and `/orders/{order_id}` are one route).
pub(crate) fn duplicate_operations<A: OpenApi>() -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut clashes = Vec::new();
    for path in A::meta().into_iter().flat_map(|api| api.paths) {
        let route: Vec<&str> =
            path.path.split('/').map(|part| if part.starts_with('{') { "{}" } else { part }).collect();
        let route = route.join("/");
        for operation in &path.operations {
            let key = format!("{} {}", operation.method, route);
            if !seen.insert(key.clone()) && !clashes.contains(&key) {
                clashes.push(key);
            }
        }
    }
    clashes
}

/// `GET {prefix}/openapi.json`: the finished document.
fn spec_endpoint(spec: &str) -> impl Endpoint<Output = Response> + 'static {
    let spec: Arc<str> = Arc::from(spec);
    poem::endpoint::make_sync(move |_| {
        Response::builder().content_type("application/json").body(spec.as_bytes().to_vec())
    })
}

/// `GET {prefix}/openapi.yaml`: the finished document as YAML.
fn spec_yaml_endpoint(spec: &str) -> impl Endpoint<Output = Response> + 'static {
    let yaml: Arc<str> = Arc::from(crate::spec::to_yaml(spec).unwrap_or_default());
    poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/x-yaml")
            .header("Content-Disposition", "inline; filename=\"spec.yaml\"")
            .body(yaml.as_bytes().to_vec())
    })
}

/// The routes of a docs UI besides its page, if it has any.
type UiRoutes = Option<poem::endpoint::BoxEndpoint<'static, Response>>;

/// A docs UI whose page embeds the finished document (poem-openapi's page embeds its own). The
/// page (megabytes of HTML and script: 2 MiB for Swagger UI, 3.5 MiB for Scalar) is built on its
/// first request and kept, so a server whose docs nobody opens never holds it; the UI's other
/// routes (Swagger UI's OAuth2 receiver) are poem-openapi's, built on their first request too.
fn docs_ui<A>(
    service: &OpenApiService<A, ()>,
    spec: &str,
    page: fn(&OpenApiService<A, ()>) -> String,
    routes: fn(&OpenApiService<A, ()>) -> UiRoutes,
) -> impl Endpoint<Output = Response> + 'static
where
    A: OpenApi + Clone + Send + Sync + 'static,
{
    let service = Arc::new(service.clone());
    let spec: Arc<str> = Arc::from(spec);
    let built_page: Arc<std::sync::OnceLock<Arc<str>>> = Arc::default();
    let built_routes: Arc<std::sync::OnceLock<UiRoutes>> = Arc::default();
    poem::endpoint::make(move |req: Request| {
        let (service, spec, built_page, built_routes) =
            (service.clone(), spec.clone(), built_page.clone(), built_routes.clone());
        async move {
            if matches!(req.uri().path(), "" | "/") {
                let html = built_page.get_or_init(|| {
                    let raw = service.spec();
                    Arc::from(page(&service).replacen(&raw, &spec, 1))
                });
                return Ok::<_, poem::Error>(poem::web::Html(html.to_string()).into_response());
            }
            match built_routes.get_or_init(|| routes(&service)) {
                Some(routes) => routes.call(req).await,
                None => Err(poem::error::NotFoundError.into()),
            }
        }
    })
}

/// CORS from `KWIK_BACKEND_CORS_ORIGINS` (Kwik's setting; off when empty). Like Kwik's
/// (FastAPI's `CORSMiddleware`): the listed origins, any method and header, credentials allowed
/// unless `KWIK_BACKEND_CORS_ALLOW_CREDENTIALS=false`; `*` allows any origin, and only without
/// credentials (the settings refuse the combination; poem answers `*` by echoing the origin, which
/// with credentials would let every site act with a user's credentials).
fn cors(origins: &[String], allow_credentials: bool) -> Option<poem::middleware::Cors> {
    if origins.is_empty() {
        return None;
    }
    let any_origin = origins.iter().any(|o| o == "*");
    if any_origin && allow_credentials {
        // Only reachable with hand-built settings: `Settings::from_env` refuses it.
        tracing::error!("KWIK_BACKEND_CORS_ORIGINS=* with credentials: credentials are not allowed");
    }
    // Browsers may read the request id (to report problems), when to retry after a 429/503, and
    // an entity's ETag (for If-Match).
    let cors = poem::middleware::Cors::new()
        .allow_credentials(allow_credentials && !any_origin)
        .max_age(600)
        .expose_headers([crate::protection::REQUEST_ID, "retry-after", "etag"]);
    Some(if any_origin { cors } else { cors.allow_origins(origins.iter().map(String::as_str)) })
}

/// The first socket address an acceptor listens on.
pub fn local_addr(acceptor: &impl Acceptor) -> Option<SocketAddr> {
    acceptor.local_addr().into_iter().find_map(|addr| addr.as_socket_addr().copied())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM, for [`App::serve`].
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Rejects bodies over `max` bytes with 413 before any handler reads them: by `Content-Length`
/// when present, otherwise while reading the body.
async fn limit_body<E: Endpoint>(ep: Arc<E>, mut req: Request, max: usize) -> poem::Result<Response> {
    let too_large = || poem::Error::from(crate::ApiError(Error::PayloadTooLarge { limit: max }));
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    // Without a declared length (chunked, or an in-process request) read at most `max` bytes.
    if declared.is_none() {
        let body = req.take_body().into_bytes_limit(max).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => too_large(),
            other => poem::Error::from(other),
        })?;
        req.set_body(body);
    }
    Ok(ep.call(req).await?.into_response())
}

/// `GET /metrics`: Prometheus text format, for `Authorization: Bearer <KWIK_METRICS_TOKEN>` only.
async fn serve_metrics(req: &Request, metrics: &crate::metrics::Metrics, token: &str) -> Response {
    let presented = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    if !presented.is_some_and(|p| crate::metrics::token_matches(p, token)) {
        return render(&Error::NotAuthenticated);
    }
    let Some(state) = req.data::<AppState>() else { return render(&Error::Internal("AppState missing".to_owned())) };
    // Job counts come from the database: skipped (the gauges keep their last values) when it is
    // slow or down, so a scrape never waits long.
    let jobs =
        tokio::time::timeout(READINESS_TIMEOUT, kwik_jobs::admin::counts(&state.db)).await.ok().and_then(Result::ok);
    Response::builder().content_type("text/plain; version=0.0.4").body(metrics.render(
        &state.db,
        &state.principals,
        jobs.as_deref(),
    ))
}

#[handler]
fn live() -> poem::web::Json<serde_json::Value> {
    poem::web::Json(json!({"status": "ok"}))
}

#[handler]
async fn ready(state: Data<&AppState>) -> Response {
    let check = tokio::time::timeout(READINESS_TIMEOUT, state.db.ping()).await;
    match check {
        Ok(Ok(())) => {
            let jobs = match state.workers.get() {
                Some(workers) => {
                    json!({"workers": if workers.live() == workers.kinds() { "running" } else { "starting" },
                    "kinds": workers.kinds(), "live": workers.live()})
                }
                None => json!({"workers": "off"}),
            };
            poem::web::Json(json!({"status": "ok", "database": "ok", "jobs": jobs})).into_response()
        }
        Ok(Err(err)) => not_ready(&err.to_string()),
        Err(_) => not_ready("the database did not answer in time"),
    }
}

fn not_ready(reason: &str) -> Response {
    tracing::warn!(reason, "readiness check failed");
    let mut response = render(&Error::Unavailable("Database unavailable".to_owned()));
    response.set_body(
        json!({"status": "unavailable", "database": "unavailable", "detail": "Database unavailable", "code": "service_unavailable"})
            .to_string(),
    );
    response
}
