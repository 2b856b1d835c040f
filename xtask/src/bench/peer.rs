//! `--peer kwik`: Python Kwik, the framework Kwik for Rust is modelled on, in the same run on the
//! same machine and PostgreSQL server, so "N× Kwik" is a number anyone can reproduce.
//!
//! 1. finds a Python ≥ 3.12 (Kwik 1.13's floor) and keeps a virtualenv in
//!    `target/bench/kwik-peer-venv` with `bench/kwik-peer/requirements.txt` installed (reused while
//!    that file and the interpreter are unchanged);
//! 2. recreates its own database (`kwik_bench_peer`) and runs `bench/kwik-peer/app.py seed`: Kwik's
//!    schema, the admin holding every permission, and the same projects as kwik-server's database;
//! 3. starts `app.py serve` (Kwik's production runner: gunicorn with `--peer-workers` uvicorn
//!    workers) on a free port, logs in and checks the token on `users/me`;
//! 4. the caller runs W1–W5 against it like against the other two servers, watching the whole
//!    process tree (master and workers); this module waits for the peer to finish the requests
//!    wrk left in flight after each warm-up and run, adds the PSS at the end of each run and the
//!    report's "Python Kwik" table.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::helpers::{run_json, with_database, write};
use super::http::http;
use super::report::{f, find};
use super::servers::{Credentials, Running, SECRET_KEY, Server, command_without_kwik_env, free_port, login};
use super::usage::{process_ticks, process_tree};
use super::{BenchArgs, WORKLOADS, Workload};

/// The peers `--peer` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PeerKind {
    /// Python Kwik 1.13 (`bench/kwik-peer`), from PyPI, under gunicorn with uvicorn workers.
    Kwik,
}

/// The workloads the peer serves (W6–W9 are kwik-server's only).
const PEER_WORKLOADS: [&str; 5] = ["W1", "W2", "W3", "W4", "W5"];

/// The peer's database connections, split over its workers: kwik-server's and the baseline's pool
/// size (and all three pools fit in PostgreSQL's default `max_connections` of 100).
const POOL_TOTAL: u32 = 30;

/// A readiness check: Kwik has no health endpoint; its OpenAPI document needs the app up.
const HEALTH: &str = "/api/v1/openapi.json";

/// Prints the versions that matter, as one JSON object, and whether the interpreter was built with
/// `--enable-optimizations` (PGO and LTO: distributions' builds are, pyenv's by default are not).
const VERSIONS_PY: &str = "import json, platform, sysconfig\nfrom importlib.metadata import version\n\
    names = ('kwik', 'fastapi', 'starlette', 'pydantic', 'sqlalchemy', 'psycopg2-binary', 'gunicorn', \
    'uvicorn', 'uvloop', 'httptools', 'bcrypt')\n\
    optimized = '--enable-optimizations' in (sysconfig.get_config_var('CONFIG_ARGS') or '')\n\
    print(json.dumps({'python': platform.python_version(), 'python_optimized': optimized, \
    **{n: version(n) for n in names}}))";

pub(super) fn serves(workload: &Workload) -> bool {
    PEER_WORKLOADS.contains(&workload.id)
}

/// The peer, installed and seeded.
pub(super) struct Peer {
    /// The virtualenv's interpreter.
    python: PathBuf,
    /// `bench/kwik-peer/app.py`.
    app: PathBuf,
    /// SQLAlchemy URL of the peer's database.
    db_url: String,
    workers: u32,
    /// `POSTGRES_POOL_SIZE` and `POSTGRES_MAX_OVERFLOW` per worker.
    pool: (u32, u32),
    /// The seeded projects' lowest and highest id (W4).
    pub(super) ids: (i64, i64),
    /// Versions, server, workers, database: the `peer` entry of the run's `meta` line.
    pub(super) meta: Value,
}

impl Peer {
    /// Installs the peer (or reuses its virtualenv), recreates and seeds its database.
    pub(super) fn prepare(root: &Path, args: &BenchArgs, baseline_bin: &Path, out_dir: &Path) -> Result<Self, String> {
        println!("\n== peer: Python Kwik ==");
        if args.peer_database == args.database {
            return Err(format!("--peer-database must differ from --database ({})", args.database));
        }
        let dir = root.join("bench").join("kwik-peer");
        let app = dir.join("app.py");
        if !app.is_file() {
            return Err(format!("{} is missing", app.display()));
        }
        let base = find_python(args.peer_python.as_deref())?;
        let python = ensure_venv(&base, &out_dir.join("kwik-peer-venv"), &dir.join("requirements.txt"))?;
        let versions = run_json(Command::new(&python).args(["-c", VERSIONS_PY]))?;
        run_json(
            Command::new(baseline_bin)
                .args(["reset-db", "--admin-url", &args.admin_url, "--name"])
                .arg(&args.peer_database),
        )?;
        let db_url = sqlalchemy_url(&with_database(&args.admin_url, &args.peer_database)?)?;
        let workers = args.peer_workers.max(1);
        let pool_size = (10 / workers).max(1);
        let pool = (pool_size, (POOL_TOTAL / workers).max(pool_size) - pool_size);
        let mut peer = Self { python, app, db_url, workers, pool, ids: (1, 1), meta: Value::Null };
        let seeded = run_json(peer.command().args(["seed", "--projects", &args.projects.to_string()]))?;
        peer.ids = (seeded["min_id"].as_i64().unwrap_or(1), seeded["max_id"].as_i64().unwrap_or(1));
        println!(
            "Kwik {} on Python {}: database {}, {} projects (ids {}..={})",
            versions["kwik"].as_str().unwrap_or("?"),
            versions["python"].as_str().unwrap_or("?"),
            args.peer_database,
            seeded["projects"],
            peer.ids.0,
            peer.ids.1
        );
        peer.meta = json!({
            "peer": "kwik",
            "versions": versions,
            "server": "kwik.run() with KWIK_APP_ENV=production: gunicorn, kwik.applications.uvicorn.KwikUvicornWorker",
            "workers": workers,
            "pool_per_worker": { "POSTGRES_POOL_SIZE": pool.0, "POSTGRES_MAX_OVERFLOW": pool.1 },
            "database": args.peer_database,
            "projects": seeded["projects"],
            "min_id": peer.ids.0,
            "max_id": peer.ids.1,
        });
        Ok(peer)
    }

    /// `python app.py` with the peer's settings (Kwik's `KWIK_*` variables) and no others.
    fn command(&self) -> Command {
        let mut command = command_without_kwik_env(&self.python);
        command.arg(&self.app).env_remove("PYTHONPATH").env_remove("PYTHONHOME");
        command.envs([
            ("KWIK_APP_ENV", "production"),
            ("KWIK_BACKEND_HOST", "127.0.0.1"),
            ("KWIK_SECRET_KEY", SECRET_KEY),
            ("KWIK_LOG_LEVEL", "WARNING"),
            ("KWIK_SQLALCHEMY_DATABASE_URI", &self.db_url),
            ("PYTHONDONTWRITEBYTECODE", "1"),
        ]);
        command.env("KWIK_BACKEND_WORKERS", self.workers.to_string());
        command.env("KWIK_POSTGRES_POOL_SIZE", self.pool.0.to_string());
        command.env("KWIK_POSTGRES_MAX_OVERFLOW", self.pool.1.to_string());
        command
    }

    /// Starts the peer on a free port, waits for all its workers, logs in as the admin and checks
    /// the token on `users/me`.
    pub(super) fn start(&self, out_dir: &Path) -> Result<(Running, Credentials), String> {
        let port = free_port()?;
        let mut command = self.command();
        command.arg("serve").env("KWIK_BACKEND_PORT", port.to_string());
        let mut running = Running::spawn(Server::Peer, command, port, out_dir, HEALTH)?;
        // One worker answering does not mean they all are up.
        let deadline = Instant::now() + Duration::from_mins(1);
        while process_tree(running.pid()).len() <= self.workers as usize {
            running.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!("the peer did not start {} workers in 60 s", self.workers));
            }
            thread::sleep(Duration::from_millis(100));
        }
        let token = login(port)?;
        let auth = format!("Bearer {token}");
        for _ in 0..2 * self.workers {
            let (status, body) = http(port, "GET", "/api/v1/users/me", &[("Authorization", &auth)], "")?;
            if status != 200 {
                return Err(format!("the peer's token fails on users/me: {status} {body}"));
            }
        }
        Ok((running, Credentials { token, api_key: String::new() }))
    }
}

/// The SQLAlchemy URL of a `postgres://` URL: Kwik 1.13 installs psycopg2 only, and SQLAlchemy 2.1
/// reads a bare `postgresql://` as psycopg 3.
fn sqlalchemy_url(url: &str) -> Result<String, String> {
    let (_, rest) = url.split_once("://").ok_or_else(|| format!("not a URL: {}", crate::redact(url)))?;
    Ok(format!("postgresql+psycopg2://{rest}"))
}

/// `major.minor` of a Python interpreter, when it runs.
fn python_version(python: &Path) -> Option<(u32, u32)> {
    let output = Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text.split_whitespace().map(|n| n.parse().ok());
    Some((numbers.next()??, numbers.next()??))
}

/// A Python ≥ 3.12: `--peer-python` (or `KWIK_BENCH_PYTHON`), else the first of python3.14,
/// python3.13, python3.12 and python3 on the PATH that is recent enough, else the newest pyenv
/// installation.
fn find_python(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(python) = explicit {
        return match python_version(python) {
            Some(version) if version >= (3, 12) => Ok(python.to_owned()),
            Some((major, minor)) => {
                Err(format!("{} is Python {major}.{minor}: Kwik 1.13 needs 3.12 or later", python.display()))
            }
            None => Err(format!("cannot run {}", python.display())),
        };
    }
    let mut candidates: Vec<PathBuf> = ["python3.14", "python3.13", "python3.12", "python3"].map(PathBuf::from).into();
    let pyenv_root =
        Command::new("pyenv").arg("root").stderr(Stdio::null()).output().ok().filter(|o| o.status.success());
    if let Some(output) = pyenv_root {
        let versions = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).join("versions");
        let mut installed: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(versions)
            .map(|dir| {
                dir.flatten()
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        (name.split('.').map_while(|n| n.parse().ok()).collect(), e.path().join("bin").join("python3"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        installed.sort_by(|a, b| b.0.cmp(&a.0));
        candidates.extend(installed.into_iter().map(|(_, python)| python));
    }
    candidates.into_iter().find(|python| python_version(python).is_some_and(|v| v >= (3, 12))).ok_or_else(|| {
        "Kwik 1.13 needs Python 3.12 or later and none was found (python3.14, python3.13, python3.12, python3, \
         pyenv): pass --peer-python PATH or set KWIK_BENCH_PYTHON"
            .to_owned()
    })
}

/// The virtualenv's interpreter, after creating the virtualenv with `base` and installing
/// `requirements`, unless an earlier run did so from the same file and interpreter.
fn ensure_venv(base: &Path, venv: &Path, requirements: &Path) -> Result<PathBuf, String> {
    let pinned =
        std::fs::read_to_string(requirements).map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let wanted = format!("{pinned}# virtualenv created with {}\n", base.display());
    let stamp = venv.join("kwik-bench-requirements.txt");
    let python = venv.join("bin").join("python");
    if python.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        println!("virtualenv {} (reused: requirements unchanged)", venv.display());
        return Ok(python);
    }
    println!(
        "creating the virtualenv {} with {}, installing {}",
        venv.display(),
        base.display(),
        requirements.display()
    );
    match std::fs::remove_dir_all(venv) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot remove {}: {e}", venv.display()));
        }
        _ => {}
    }
    let created = Command::new(base).args(["-m", "venv"]).arg(venv).status();
    if !created.is_ok_and(|s| s.success()) {
        return Err(format!("`{} -m venv {}` failed", base.display(), venv.display()));
    }
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--requirement"])
        .arg(requirements)
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        return Err(format!("`pip install -r {}` failed", requirements.display()));
    }
    write(&stamp, &wanted)?;
    Ok(python)
}

/// Waits (up to two minutes) until the peer's processes are idle: its workers finish the requests
/// wrk left in flight or queued when it stopped (a synchronous handler is not cancelled when its
/// client goes away; after W1 that is seconds of bcrypt), which would otherwise load the next run.
pub(super) fn drain(pid: u32) {
    let ticks = || process_tree(pid).iter().map(|&p| process_ticks(p)).sum::<u64>();
    let start = Instant::now();
    let mut before = ticks();
    // Clock ticks are 1/100 s: 5 ticks over half a second is 0.1 core.
    loop {
        thread::sleep(Duration::from_millis(500));
        let now = ticks();
        if now.saturating_sub(before) <= 5 || start.elapsed() > Duration::from_mins(2) {
            break;
        }
        before = now;
    }
    if start.elapsed() > Duration::from_secs(1) {
        print!("(Kwik finished the requests left in flight in {:.0} s) ", start.elapsed().as_secs_f64());
        let _ = std::io::stdout().flush();
    }
}

/// Adds to a peer's load record the number of its processes and their proportional set size at the
/// end of the run (`Pss` from `/proc/PID/smaps_rollup`, which splits the pages the workers share
/// with the master between them, unlike the RSS sum).
pub(super) fn annotate(line: &mut Value, pid: u32) {
    let tree = process_tree(pid);
    let pss_kib: u64 = tree
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .filter_map(|s| s.lines().find_map(|l| l.strip_prefix("Pss:")?.split_whitespace().next()?.parse::<u64>().ok()))
        .sum();
    line["processes"] = json!(tree.len());
    line["pss_end_kib"] = json!(pss_kib);
    line["pss_end_mib"] = json!((pss_kib as f64 / 1024.0 * 10.0).round() / 10.0);
}

/// The report's table of the peer beside kwik-server; empty without a peer.
pub(super) fn markdown(meta: &Value, results: &[Value], concurrency: &[u32]) -> String {
    let peer = Server::Peer.name();
    let Some(info) = meta.get("peer") else { return String::new() };
    if !results.iter().any(|r| r["server"] == peer) {
        return String::new();
    }
    let v = &info["versions"];
    let s = |key: &str| v[key].as_str().unwrap_or("?").to_owned();
    let mut md = format!(
        "\nPython Kwik (`--peer kwik`): Kwik {} on Python {}{}, `kwik.run()` in production mode: gunicorn {} with {} \
         KwikUvicornWorker processes (uvicorn {}, uvloop, httptools; FastAPI {}, SQLAlchemy {}, psycopg2 {}), \
         {} + {} pooled connections per worker; its own database `{}` with the same {} projects. \
         \"kwik / Kwik\" is kwik-server's throughput over Kwik's.\n\n",
        s("kwik"),
        s("python"),
        if v["python_optimized"] == true { " (built with PGO and LTO)" } else { " (built without PGO and LTO)" },
        s("gunicorn"),
        info["workers"],
        s("uvicorn"),
        s("fastapi"),
        s("sqlalchemy"),
        s("psycopg2-binary"),
        info["pool_per_worker"]["POSTGRES_POOL_SIZE"],
        info["pool_per_worker"]["POSTGRES_MAX_OVERFLOW"],
        info["database"].as_str().unwrap_or("?"),
        info["projects"],
    );
    md.push_str(
        "| workload | c | kwik req/s | Kwik req/s | kwik / Kwik | Kwik p50 / p99 ms | Kwik non-2xx / socket errors | \
         peak RSS MiB kwik / Kwik (sum over processes) | Kwik PSS MiB at end | server CPU µs/request kwik / Kwik | \
         other CPU load, cores |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for w in &WORKLOADS {
        for &c in concurrency {
            let Some(p) = find(results, peer, w.id, c) else { continue };
            let k = find(results, "kwik", w.id, c);
            let dash = || "–".to_owned();
            let errors: u64 = ["connect", "read", "write", "timeout"]
                .iter()
                .map(|e| p["socket_errors"][e].as_u64().unwrap_or(0))
                .sum();
            let _ = writeln!(
                md,
                "| {} {}{} | {c} | {} | {} | {} | {:.2} / {:.2} | {} / {errors} | {} / {:.1} ({} processes) | {:.1} | {} / {:.0} | {:.2} |",
                w.id,
                w.title,
                if p["rss_limit_hit"] == true { " (stopped at the RSS limit)" } else { "" },
                k.map_or_else(dash, |k| format!("{:.0}", f(k, "rps"))),
                // A few bcrypt logins in a short run: keep a decimal below 10/s.
                if f(p, "rps") < 10.0 { format!("{:.1}", f(p, "rps")) } else { format!("{:.0}", f(p, "rps")) },
                k.filter(|_| f(p, "rps") > 0.0).map_or_else(dash, |k| format!("{:.1}×", f(k, "rps") / f(p, "rps"))),
                f(p, "p50_ms"),
                f(p, "p99_ms"),
                p["non_2xx"],
                k.map_or_else(dash, |k| format!("{:.1}", f(k, "peak_rss_mib"))),
                f(p, "peak_rss_mib"),
                p["processes"],
                f(p, "pss_end_mib"),
                k.map_or_else(dash, |k| format!("{:.0}", f(k, "server_cpu_us_per_request"))),
                f(p, "server_cpu_us_per_request"),
                f(&p["cpu_cores"], "other"),
            );
        }
    }
    md.push_str(
        "\nKwik's peak RSS is the sum of each process's high-water mark (gunicorn's master and its workers), which \
         counts the pages the workers share with the master once per process; the PSS splits them. Its server CPU \
         is that of all its processes. W1: Kwik verifies a bcrypt hash (cost 12), kwik-server an argon2id hash; \
         Kwik's login holds a pooled connection while it hashes.\n",
    );
    md
}
