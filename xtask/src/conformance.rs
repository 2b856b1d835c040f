//! Does the OpenAPI document describe what the server does? Two steps of `cargo xtask test`:
//!
//! - `openapi validator`: `openapi-spec-validator` (a standard OpenAPI 3.0 validator) on the
//!   generated document;
//! - `schemathesis`: `st run` with every check (`xtask/schemathesis.toml`, hooks in
//!   `xtask/schemathesis_hooks.py`) against a `kwik-server` this task starts (fresh SQLite
//!   database, development superuser, bearer token), fixed seed, about two minutes; it must report
//!   0 failures.
//!
//! Both run from a virtualenv under the target directory (`kwik-venv`) with pinned versions,
//! created on first use (`pip install` from PyPI). Without Python they are skipped loudly, and
//! under `CI` that is a failure. `cargo xtask schemathesis` runs both alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::Step;
use crate::bench::{Running, Server, kwik_env, login, target_dir};

/// Pinned Python packages of the virtualenv.
/// aiosmtpd is the SMTP server the email tests start (`KWIK_TEST_PYTHON`).
const PINS: &[&str] = &["schemathesis==4.32.5", "openapi-spec-validator==0.9.0", "aiosmtpd==1.4.6"];
/// Seed of the schemathesis run (reproducible generation).
pub(crate) const SEED: u64 = 20_261_129;
/// Time budget of the schemathesis run, seconds.
pub(crate) const MAX_TIME_SECONDS: u64 = 110;
/// Per-operation expectations for documented behaviour OpenAPI 3.0 cannot express (see
/// docs/testing.md, "Schemathesis").
const CONFIG: &str = "xtask/schemathesis.toml";

/// A Python to create the virtualenv with, if any.
fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|python| {
        Command::new(python)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The virtualenv with [`PINS`] installed, created on first use.
pub(crate) fn venv(root: &Path) -> Result<PathBuf, String> {
    let python = python().ok_or("no Python")?;
    let dir = target_dir(root).join("kwik-venv");
    let marker = dir.join("kwik-pins.txt");
    let wanted = PINS.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|pins| pins == wanted) {
        return Ok(dir);
    }
    println!("creating {} ({})", dir.display(), PINS.join(", "));
    let created = Command::new(python).args(["-m", "venv"]).arg(&dir).status().is_ok_and(|s| s.success());
    if !created {
        return Err(format!("`{python} -m venv {}` failed (is the venv module installed?)", dir.display()));
    }
    let installed = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PINS)
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        return Err(format!("`pip install {}` failed", PINS.join(" ")));
    }
    std::fs::write(&marker, wanted).map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(dir)
}

fn step(name: &str, start: Instant, ok: bool, failed: u64, note: String) -> Step {
    if !ok && !note.is_empty() {
        eprintln!("{name}: {note}");
    }
    Step { name: name.to_owned(), ok, seconds: start.elapsed().as_secs_f64(), passed: 0, failed, note }
}

/// The Python-missing case: a loud banner, and a skip (a failure under `CI`).
fn skipped(name: &str, in_ci: bool) -> Step {
    let banner = "!".repeat(78);
    eprintln!(
        "\n{banner}\n  Python is NOT available (python3/python)\n  The OpenAPI validator and the schemathesis run did not run.\n  Install Python 3 with its venv module.\n{banner}\n"
    );
    Step {
        name: name.to_owned(),
        ok: !in_ci,
        seconds: 0.0,
        passed: 0,
        failed: 0,
        note: if in_ci { "no Python (a failure in CI)".to_owned() } else { "SKIPPED: no Python".to_owned() },
    }
}

/// Runs the validator and, unless `validator_only`, schemathesis; one step each.
pub(crate) fn steps(root: &Path, validator_only: bool) -> Vec<Step> {
    let in_ci = std::env::var_os("CI").is_some();
    if python().is_none() {
        let mut steps = vec![skipped("openapi validator", in_ci)];
        if !validator_only {
            steps.push(skipped("schemathesis", in_ci));
        }
        return steps;
    }
    println!("\n== openapi validator ==");
    let start = Instant::now();
    let venv = match venv(root) {
        Ok(venv) => venv,
        Err(e) => return vec![step("openapi validator", start, false, 0, e)],
    };
    let mut steps = vec![validate(root, &venv, start)];
    if !validator_only {
        steps.push(schemathesis(root, &venv));
    }
    steps
}

fn validate(root: &Path, venv: &Path, start: Instant) -> Step {
    let name = "openapi validator";
    let spec = match crate::generate_spec(root) {
        Ok(spec) => spec,
        Err(e) => return step(name, start, false, 0, e),
    };
    let path = target_dir(root).join("kwik-openapi.json");
    if let Err(e) = std::fs::write(&path, spec) {
        return step(name, start, false, 0, format!("cannot write {}: {e}", path.display()));
    }
    let ok = Command::new(venv.join("bin/openapi-spec-validator")).arg(&path).status().is_ok_and(|s| s.success());
    step(
        name,
        start,
        ok,
        u64::from(!ok),
        if ok { String::new() } else { "the document is not valid OpenAPI".to_owned() },
    )
}

fn schemathesis(root: &Path, venv: &Path) -> Step {
    let name = "schemathesis";
    println!("\n== {name} ==");
    let start = Instant::now();
    match run_schemathesis(root, venv) {
        Ok((ok, failures, note)) => step(name, start, ok, failures, note),
        Err(e) => step(name, start, false, 0, e),
    }
}

/// Builds `kwik-server` and starts it (development settings, superuser `admin@example.com` /
/// `admin`) on a fresh SQLite database in a new work directory under the target directory
/// (`kwik-<label>-<pid>`); the server stops when dropped.
pub(crate) fn dev_server(root: &Path, label: &str) -> Result<(Running, PathBuf), String> {
    let built = crate::cargo()
        .current_dir(root)
        .args(["build", "--quiet", "-p", "kwik-server"])
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        return Err("`cargo build -p kwik-server` failed".to_owned());
    }
    let bin = target_dir(root).join("debug/kwik-server");
    let work = target_dir(root).join(format!("kwik-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let db_url = format!("sqlite://{}/kwik.sqlite", work.display());
    let mut env = kwik_env(&db_url, &[]);
    env.extend([
        ("KWIK_APP_ENV".to_owned(), "development".to_owned()),
        ("KWIK_FIRST_SUPERUSER".to_owned(), "admin@example.com".to_owned()),
        ("KWIK_FIRST_SUPERUSER_PASSWORD".to_owned(), "admin".to_owned()),
    ]);
    let server = Running::start(Server::Kwik, &bin, &env, &db_url, &work)?;
    Ok((server, work))
}

/// Builds and starts kwik-server on a fresh SQLite database, logs in, runs `st run`.
fn run_schemathesis(root: &Path, venv: &Path) -> Result<(bool, u64, String), String> {
    let (server, work) = dev_server(root, "schemathesis")?;
    let token = login(server.port)?;
    let report = work.join("junit.xml");
    let base = format!("http://127.0.0.1:{}/api/v1", server.port);
    // Every check is enabled in the config file (`--checks all` would override its
    // per-operation settings); the hooks keep the run's own session alive.
    // Run from the work directory: schemathesis keeps its cache (`st replay`) in `.schemathesis/`.
    let output = Command::new(venv.join("bin/st"))
        .current_dir(&work)
        .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
        .env("PYTHONPATH", root.join("xtask"))
        .env("KWIK_ST_BASE", &base)
        .env("KWIK_ST_TOKEN", &token)
        .args(["--no-color", "--config-file"])
        .arg(root.join(CONFIG))
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--seed", &SEED.to_string(), "--max-time", &MAX_TIME_SECONDS.to_string()])
        .args(["--generation-database", "none", "--report", "junit", "--report-junit-path"])
        .arg(&report)
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run st: {e}"))?;
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    let failures = summary_count(&stdout, " failures").max(summary_count(&stdout, " failure"));
    let cases = stdout
        .lines()
        .find(|l| l.contains(" generated,"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|w| w.parse::<u64>().ok())
        .unwrap_or(0);
    let ok = output.status.success() && failures == 0;
    let note = format!("{cases} test cases, {failures} failures (seed {SEED}; logs in {})", work.display());
    if ok {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok((ok, failures, if ok { format!("{cases} test cases, 0 failures") } else { note }))
}

/// The number before `label` on schemathesis's final `==== N failures, ... ====` line.
fn summary_count(stdout: &str, label: &str) -> u64 {
    stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('=') && l.contains(" in ") && l.trim_end().ends_with('='))
        .and_then(|line| line.find(label).map(|end| &line[..end]))
        .and_then(|head| head.rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}
