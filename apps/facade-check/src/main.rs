//! The service's binary, the shape `kwik-server new` generates (docs/new-service.md): settings from `KWIK_*`, the database,
//! start-up (migrations, permissions, first superuser), then serving until SIGINT/SIGTERM.

use kwik::prelude::*;

#[tokio::main]
async fn main() -> Result<(), String> {
    let settings = Settings::from_env().map_err(|e| e.to_string())?;
    let db = Db::connect(settings.database.url.expose(), &settings.database.pool).await.map_err(|e| e.to_string())?;
    let app = kwik_facade_check::build(AppState::new(settings, db).map_err(|e| e.to_string())?);
    app.prepare().await.map_err(|e| e.to_string())?;
    let acceptor = app.bind().await.map_err(|e| e.to_string())?;
    app.serve(acceptor, kwik::http::shutdown_signal()).await.map_err(|e| e.to_string())
}
