//! `kwik-server`: the example Kwik for Rust server.
//!
//! ```text
//! kwik-server [serve]          start the HTTP server (default)
//! kwik-server migrate          apply migrations and exit
//! kwik-server openapi          print the OpenAPI document (JSON) and exit
//! kwik-server seed             load demo projects and customers
//! kwik-server create-superuser --email E --password P   create or repair an administrator
//! kwik-server new NAME [--path DIR] [--kwik-path PATH]   write a new service (no settings needed)
//! ```
//!
//! Configuration comes from `KWIK_*` environment variables (see the settings reference in
//! `docs/settings.md`); with none set it serves on 127.0.0.1:8080 with SQLite in `./kwik.sqlite`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kwik::core::Settings;
use kwik_server::app;

/// The Kwik for Rust example server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the HTTP server (the default).
    Serve,
    /// Run the job workers without the HTTP server, until SIGTERM or Ctrl-C (scale them apart
    /// from the web processes; set KWIK_JOBS_WORKERS=false on those).
    Worker,
    /// Apply all migrations and the start-up bootstrap, then exit.
    Migrate,
    /// Print the OpenAPI document as JSON and exit.
    Openapi,
    /// Load demo data (a few thousand projects and customers); safe to run twice.
    Seed,
    /// Delete audit-log entries older than KWIK_AUDIT_LOG_RETENTION_DAYS (nothing when unset).
    PruneAuditLog,
    /// Create (or repair) an administrator: active, in the `admin` role, with this password.
    CreateSuperuser {
        /// The administrator's email.
        #[arg(long)]
        email: String,
        /// The password (or set KWIK_SUPERUSER_PASSWORD to keep it out of the shell history).
        #[arg(long, env = "KWIK_SUPERUSER_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Write a new service depending on the kwik crate: one resource, its migrations, main.rs,
    /// tests, README, .gitignore and CI workflow. Needs no settings.
    New {
        /// The package name (letters, digits, '-', '_').
        name: String,
        /// Where to write it (default: ./NAME); must not exist or be empty.
        #[arg(long)]
        path: Option<std::path::PathBuf>,
        /// The kwik crate to depend on (default: the one this binary was built from).
        #[arg(long)]
        kwik_path: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::New { name, path, kwik_path }) = &cli.command {
        let dir = path.clone().unwrap_or_else(|| std::path::PathBuf::from(name));
        let kwik_path = kwik_path.clone().unwrap_or_else(kwik_server::new_service::default_kwik_path);
        return match kwik_server::new_service::generate(name, &dir, &kwik_path) {
            Ok(files) => {
                println!(
                    "created {} ({} files); next: cd {} && cargo test && cargo run",
                    name,
                    files.len(),
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("kwik-server: {err}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("kwik-server: {err}");
            return ExitCode::from(2);
        }
    };
    app::init_logging(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kwik-server: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => app::serve(settings).await,
            Command::Worker => app::worker(settings).await,
            Command::Migrate => app::migrate(settings).await,
            Command::Openapi => app::print_openapi(settings).await,
            Command::Seed => app::seed(settings).await,
            Command::PruneAuditLog => app::prune_audit_log(settings).await,
            Command::CreateSuperuser { email, password } => app::create_superuser(settings, &email, &password).await,
            Command::New { .. } => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("kwik-server: {err}");
            ExitCode::FAILURE
        }
    }
}
