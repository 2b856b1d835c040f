//! Composition of the example server: which modules it serves, and the CLI actions.

use kwik::http::builtin::Builtin;
use kwik::prelude::*;

use crate::customers::Customers;
use crate::orders::Orders;
use crate::projects::Projects;
use tracing_subscriber::EnvFilter;

/// Builds the application: every module this server serves is registered here, one line each.
pub fn build(state: AppState) -> App<impl OpenApi + Clone + Send + Sync + 'static> {
    App::new(state)
        .version(env!("CARGO_PKG_VERSION"))
        .description(
            "The Kwik for Rust example server: Kwik's authentication, users, roles, permissions and API keys, \
             plus Projects, Customers and Orders (products, orders, order lines).",
        )
        .module(Builtin)
        .module(Projects)
        .module(Customers)
        .module(Orders)
}

/// Opens the database and builds the app on it.
async fn open(settings: Settings) -> Result<App<impl OpenApi + Clone + Send + Sync + 'static>, String> {
    let db = Db::connect(settings.database.url.expose(), &settings.database.pool)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let state = AppState::new(settings, db).map_err(|e| format!("invalid settings: {e}"))?;
    Ok(build(state))
}

/// `serve`: migrate, bootstrap, then serve until SIGINT/SIGTERM.
///
/// # Errors
/// The database cannot be opened, start-up fails, the address cannot be bound, or the server fails.
pub async fn serve(settings: Settings) -> Result<(), String> {
    if settings.secret_key_generated {
        tracing::warn!("KWIK_SECRET_KEY is not set: a random key was generated, so tokens will not survive a restart");
    }
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("start-up failed: {e}"))?;
    let acceptor = app.bind().await.map_err(|e| format!("cannot listen: {e}"))?;
    let settings = &app.state().settings;
    let addr = kwik::http::local_addr(&acceptor).map_or_else(|| settings.bind_address(), |a| a.to_string());
    let base = format!("{}://{addr}", settings.server.protocol);
    tracing::info!(backend = ?app.state().db.backend(), "Kwik server listening on {base}");
    tracing::info!("API: {base}{}  docs: {base}/docs  (also /scalar, /redoc)", settings.server.api_v1_str);
    app.serve(acceptor, kwik::http::shutdown_signal()).await.map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// `worker`: migrate, then run the job workers (no HTTP server) until SIGTERM or Ctrl-C; the
/// jobs in hand get `KWIK_BACKEND_GRACEFUL_TIMEOUT` seconds to finish, the rest go back to the
/// queue.
///
/// # Errors
/// The database cannot be opened or start-up fails.
pub async fn worker(settings: Settings) -> Result<(), String> {
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("start-up failed: {e}"))?;
    tracing::info!(backend = ?app.state().db.backend(), jobs = app.jobs().len(), "Kwik worker running");
    app.run_workers(kwik::http::shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// `migrate`: apply migrations and the bootstrap, then exit.
///
/// # Errors
/// The database cannot be opened or a migration fails.
pub async fn migrate(settings: Settings) -> Result<(), String> {
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("migration failed: {e}"))?;
    app.state().db.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

/// `create-superuser`: migrate, then make sure a user with this email exists, is active, holds the
/// `admin` role, and has this password.
///
/// # Errors
/// Start-up fails, the password or email is refused, or a database error.
pub async fn create_superuser(settings: Settings, email: &str, password: &str) -> Result<(), String> {
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("migration failed: {e}"))?;
    let state = app.state();
    let policy = state.password_policy;
    policy.check(password, &["password"]).map_err(|issue| issue.msg)?;
    let email = kwik::rbac::normalize::email(email, &["email"]).map_err(|issue| issue.msg)?;
    let hashed = state.hasher.hash(password).await.map_err(|e| e.to_string())?;
    kwik::rbac::bootstrap::ensure_superuser(&state.db, &email, &hashed).await.map_err(|e| e.to_string())?;
    state.db.close().await;
    tracing::info!(email, "superuser ready");
    Ok(())
}

/// `seed`: migrate, then load every module's demo data.
///
/// # Errors
/// Start-up fails or a seed fails.
pub async fn seed(settings: Settings) -> Result<(), String> {
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("migration failed: {e}"))?;
    app.seed().await.map_err(|e| format!("seeding failed: {e}"))?;
    app.state().db.close().await;
    Ok(())
}

/// `prune-audit-log`: migrate, then delete the audit-log entries older than
/// `KWIK_AUDIT_LOG_RETENTION_DAYS` (none when it is unset: entries are kept forever).
///
/// # Errors
/// Start-up fails or a database error.
pub async fn prune_audit_log(settings: Settings) -> Result<(), String> {
    let Some(days) = settings.audit_log_retention_days else {
        tracing::info!("KWIK_AUDIT_LOG_RETENTION_DAYS is not set: audit-log entries are kept forever");
        return Ok(());
    };
    let app = open(settings).await?;
    app.prepare().await.map_err(|e| format!("migration failed: {e}"))?;
    let cutoff = kwik::core::now() - kwik::chrono::Duration::days(i64::from(days.get()));
    let mut db = app.state().db.clone();
    let deleted = kwik::rbac::audit_log::prune(&mut db, cutoff).await.map_err(|e| e.to_string())?;
    app.state().db.close().await;
    tracing::info!(deleted, %cutoff, "audit log pruned");
    Ok(())
}

/// `openapi`: print the spec without touching a real database.
///
/// # Errors
/// The in-memory database or the app state cannot be built.
pub async fn print_openapi(settings: Settings) -> Result<(), String> {
    let db = Db::connect("sqlite::memory:", &settings.database.pool).await.map_err(|e| e.to_string())?;
    let app = build(AppState::new(settings, db).map_err(|e| e.to_string())?);
    println!("{}", app.spec_json());
    Ok(())
}

/// Logs to stderr at `KWIK_LOG_LEVEL`, as text or JSON (`KWIK_LOG_FORMAT`).
pub fn init_logging(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    let _ = match settings.log.format {
        kwik::core::settings::LogFormat::Json => builder.json().try_init(),
        kwik::core::settings::LogFormat::Text => builder.try_init(),
    };
}
