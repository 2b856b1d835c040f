//! Typed clients from the spec, a step of `cargo xtask test` (docs/typed-clients.md): generates a
//! TypeScript client from the committed `docs/openapi.json` with openapi-typescript, type-checks
//! `clients/typescript/src/smoke.ts` against it with `tsc` (strict), and runs the script with
//! openapi-fetch against a `kwik-server` this task starts on a fresh SQLite database: log in,
//! create projects, list with a filter and a cursor, read an error's `detail`.
//!
//! The npm packages are pinned in `clients/typescript/package-lock.json` (`npm ci`). Without
//! Node.js and npm the step is skipped loudly, and under `CI` that is a failure.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Step;

const NAME: &str = "typescript client";
/// The client package, relative to the workspace root.
const PACKAGE: &str = "clients/typescript";

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The step.
pub(crate) fn step(root: &Path) -> Step {
    println!("\n== {NAME} ==");
    let start = Instant::now();
    let in_ci = std::env::var_os("CI").is_some();
    if !available("node") || !available("npm") {
        let banner = "!".repeat(78);
        eprintln!("\n{banner}\n  Node.js/npm are NOT available: the TypeScript client check did not run.\n{banner}\n");
        return Step {
            name: NAME.to_owned(),
            ok: !in_ci,
            seconds: 0.0,
            passed: 0,
            failed: 0,
            note: if in_ci { "no Node.js (a failure in CI)".to_owned() } else { "SKIPPED: no Node.js".to_owned() },
        };
    }
    let result = run(root);
    let ok = result.is_ok();
    let note = result.unwrap_or_else(|e| {
        eprintln!("{NAME}: {e}");
        e
    });
    Step { name: NAME.to_owned(), ok, seconds: start.elapsed().as_secs_f64(), passed: 0, failed: u64::from(!ok), note }
}

fn npm(package: &Path, args: &[&str]) -> Result<(), String> {
    let ok = Command::new("npm").current_dir(package).args(args).status().is_ok_and(|s| s.success());
    if ok { Ok(()) } else { Err(format!("`npm {}` failed in {}", args.join(" "), package.display())) }
}

fn run(root: &Path) -> Result<String, String> {
    let package = root.join(PACKAGE);
    npm(&package, &["ci", "--no-audit", "--no-fund", "--loglevel=error"])?;
    npm(&package, &["run", "--silent", "generate"])?;
    npm(&package, &["run", "--silent", "build"])?;

    let (server, work) = crate::conformance::dev_server(root, "typescript")?;
    let base = format!("http://127.0.0.1:{}/api/v1", server.port);
    let output = Command::new("node")
        .current_dir(&package)
        .args(["dist/smoke.js", &base, "admin@example.com", "admin"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if output.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        Ok("generated, type-checked, ran against a live server".to_owned())
    } else {
        Err(format!("the script failed (server log in {})", work.display()))
    }
}
