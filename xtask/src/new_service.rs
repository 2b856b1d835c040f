//! `kwik-server new` in CI, a step of `cargo xtask test` (`cargo xtask new-service` alone):
//! generates a service into the target directory, depending on this workspace's `kwik`, and
//! checks it the way its own CI would — `cargo fmt --check`, `cargo clippy -D warnings`,
//! `cargo test` on SQLite and (when reachable) PostgreSQL — then starts its binary and waits for
//! `/health/ready`. It shares the workspace's target directory and `Cargo.lock`, so only what the
//! service compiles differently is built.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::Step;
use crate::bench::{Running, Server, kwik_env, target_dir};

const NAME: &str = "new service";
/// The generated package.
const SERVICE: &str = "kwik-demo-service";

/// The step; `pg_url` is the PostgreSQL server of the run, if reachable.
pub(crate) fn step(root: &Path, pg_url: Option<&str>) -> Step {
    println!("\n== {NAME} ==");
    let start = Instant::now();
    let result = run(root, pg_url);
    let ok = result.is_ok();
    let note = result.unwrap_or_else(|e| {
        eprintln!("{NAME}: {e}");
        e
    });
    Step { name: NAME.to_owned(), ok, seconds: start.elapsed().as_secs_f64(), passed: 0, failed: u64::from(!ok), note }
}

fn check(what: &str, command: &mut Command) -> Result<(), String> {
    println!("-- {what}");
    if command.status().is_ok_and(|s| s.success()) { Ok(()) } else { Err(format!("`{what}` failed")) }
}

fn run(root: &Path, pg_url: Option<&str>) -> Result<String, String> {
    check(
        "cargo build -p kwik-server",
        crate::cargo().current_dir(root).args(["build", "--quiet", "-p", "kwik-server"]),
    )?;
    let work = target_dir(root).join(format!("kwik-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let service = work.join(SERVICE);
    check(
        &format!("kwik-server new {SERVICE}"),
        Command::new(target_dir(root).join("debug/kwik-server"))
            .args(["new", SERVICE, "--path"])
            .arg(&service)
            .arg("--kwik-path")
            .arg(root.join("crates/kwik")),
    )?;
    std::fs::copy(root.join("Cargo.lock"), service.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let cargo = |args: &[&str]| {
        let mut command = crate::cargo();
        command.current_dir(&service).args(args).env_remove("KWIK_TEST_DATABASE_URL");
        command
    };
    check("cargo fmt --check", &mut cargo(&["fmt", "--check"]))?;
    check(
        "cargo clippy --all-targets -- -D warnings",
        &mut cargo(&["clippy", "--all-targets", "--", "-D", "warnings"]),
    )?;
    check("cargo test (SQLite)", &mut cargo(&["test"]))?;
    if let Some(url) = pg_url {
        check("cargo test (PostgreSQL)", cargo(&["test"]).env("KWIK_TEST_DATABASE_URL", url))?;
    }
    check("cargo build", &mut cargo(&["build", "--quiet"]))?;
    let db_url = format!("sqlite://{}/kwik.sqlite", work.display());
    let server = Running::start(
        Server::Kwik,
        &target_dir(root).join(format!("debug/{SERVICE}")),
        &kwik_env(&db_url, &[]),
        &db_url,
        &work,
    )?;
    drop(server);
    let _ = std::fs::remove_dir_all(&work);
    Ok(format!(
        "generated; fmt, clippy, tests on SQLite{} and the binary's health check pass",
        if pg_url.is_some() { " and PostgreSQL" } else { "" }
    ))
}
