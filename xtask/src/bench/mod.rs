//! `cargo xtask bench`: load benchmarks of kwik-server on PostgreSQL, side by side with the raw
//! poem + sqlx baseline in `bench/baseline` (issue 7; method and results in `docs/benchmarks.md`).
//!
//! 1. builds `kwik-server` and `kwik-bench-baseline` in release mode;
//! 2. recreates the database `kwik_bench`, runs `kwik-server migrate` and `seed`, and tops the
//!    projects up to 10,000 rows;
//! 3. starts both servers on free loopback ports against that database (same secret key, so one
//!    token works on both) and logs in once;
//! 4. for each workload and concurrency, drives each server with `wrk` for a warm-up, then for the
//!    measured duration, recording requests/s, p50/p90/p99 latency, non-2xx responses and the
//!    server's peak RSS over the measured run (`VmHWM`, reset through `/proc/PID/clear_refs`);
//! 5. measures the argon2id hash time per call, and, through a counting TCP proxy in front of
//!    PostgreSQL, the database statements and round trips each request costs;
//! 6. writes `target/bench/results.jsonl` (also appended to `history.jsonl`) and
//!    `target/bench/results.md`, prints the table, and stops both servers.
//!
//! With `--peer kwik`, Python Kwik 1.13 runs W1–W5 in the same run, on its own database on the
//! same PostgreSQL server (`peer.rs`).
//!
//! This file holds the options, the workload table and the orchestration; each job has its
//! module below.

// Counts, microseconds and KiB are far below 2^52: the f64 conversions are exact in practice.
#![allow(clippy::cast_precision_loss)]

mod helpers; // URL, file, JSON and machine-description helpers
mod http; // a minimal HTTP/1.1 client
mod peer; // --peer kwik: Python Kwik in the same run
mod probe; // database cost per request, through a counting TCP proxy
mod report; // the markdown report
mod servers; // process control of kwik-server and the baseline; login
mod usage; // peak RSS and CPU accounting from /proc
mod wrk; // wrk scripts and runs

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub(crate) use helpers::target_dir;
use helpers::{append, machine_meta, run_json, unix_now, with_database, write};
use probe::{ProbeIds, probe};
use report::markdown;
use servers::Credentials;
pub(crate) use servers::{Running, Server, kwik_env, login};
use usage::{Watch, read_meminfo_kib, read_status_kib, settle};
use wrk::{LoadRun, customer_ids};

/// The development superuser kwik-server bootstraps (`KWIK_FIRST_SUPERUSER[_PASSWORD]` defaults).
const ADMIN_EMAIL: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "admin";
/// `KWIK_ARGON2_*` defaults (OWASP's first argon2id configuration).
const ARGON2_DEFAULTS: [(&str, u32); 3] =
    [("KWIK_ARGON2_MEMORY_KIB", 19_456), ("KWIK_ARGON2_ITERATIONS", 2), ("KWIK_ARGON2_PARALLELISM", 1)];

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Seconds of each measured run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before each measured run (not recorded).
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Before each run, wait up to this many seconds for other processes' CPU load to stop.
    #[arg(long, default_value_t = 60)]
    settle: u64,
    /// Cut a run short when the server's RSS exceeds this many MiB (default: 75% of the RAM).
    #[arg(long)]
    rss_limit_mib: Option<u64>,
    /// Smoke run: 2 s runs after 1 s warm-ups, 5 s settle limit, fewer probe requests.
    #[arg(long)]
    quick: bool,
    /// Concurrency levels (open connections), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [16u32, 64])]
    concurrency: Vec<u32>,
    /// wrk threads (at most the concurrency).
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// An existing PostgreSQL database to create the bench database through.
    #[arg(long, env = "KWIK_BENCH_ADMIN_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    admin_url: String,
    /// The database to drop and recreate for the run.
    #[arg(long, default_value = "kwik_bench")]
    database: String,
    /// Projects in the table before the runs.
    #[arg(long, default_value_t = 10_000)]
    projects: u64,
    /// Only these workloads, comma-separated (e.g. `W2,W4`); default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Run kwik-server with multi-tenancy on (`KWIK_TENANCY_ENABLED=true`); the baseline is
    /// unchanged.
    #[arg(long)]
    tenancy: bool,
    /// Also run this peer on W1–W5, in the same run: `kwik` is Python Kwik 1.13 from PyPI
    /// (`bench/kwik-peer`, in a virtualenv under `target/bench/`), on its own database.
    #[arg(long, value_enum)]
    peer: Option<peer::PeerKind>,
    /// Worker processes of the peer.
    #[arg(long, default_value_t = 2)]
    peer_workers: u32,
    /// The Python (≥ 3.12) to create the peer's virtualenv with (default: the first that fits of
    /// python3.14, python3.13, python3.12, python3 and pyenv's installations).
    #[arg(long, env = "KWIK_BENCH_PYTHON")]
    peer_python: Option<PathBuf>,
    /// The peer's database, dropped and recreated.
    #[arg(long, default_value = "kwik_bench_peer")]
    peer_database: String,
    /// Run kwik-server on SQLite, the embedded default (`target/bench/kwik-bench.sqlite`,
    /// recreated, seeded by `kwik-server seed`: 3,000 projects), instead of PostgreSQL. The
    /// baseline (and the peer) stay on PostgreSQL, so their ratios compare two databases; the
    /// database-cost probes (a PostgreSQL proxy) are skipped.
    #[arg(long)]
    sqlite: bool,
}

/// One benchmark workload.
struct Workload {
    id: &'static str,
    title: &'static str,
    method: &'static str,
    path: &'static str,
    /// Measured on the baseline too (W1 is kwik-server only: the baseline has no login).
    baseline: bool,
}

const WORKLOADS: [Workload; 9] = [
    Workload { id: "W1", title: "login", method: "POST", path: "/api/v1/login/access-token", baseline: false },
    Workload { id: "W2", title: "users/me (auth only)", method: "GET", path: "/api/v1/users/me", baseline: true },
    Workload {
        id: "W3",
        title: "list projects",
        method: "GET",
        path: "/api/v1/projects/?skip=1000&limit=20&sorting=name:asc",
        baseline: true,
    },
    Workload { id: "W4", title: "get project", method: "GET", path: "/api/v1/projects/{random id}", baseline: true },
    Workload { id: "W5", title: "create project", method: "POST", path: "/api/v1/projects/", baseline: true },
    // W6–W8: W3–W5 on customers, a resource with soft delete and the audit log (and tenant
    // scoping with --tenancy): the business features' cost, beside W3–W5 on projects (which
    // has neither). kwik-server only.
    Workload {
        id: "W6",
        title: "list customers",
        method: "GET",
        path: "/api/v1/customers/?skip=1000&limit=20&sorting=name:asc",
        baseline: false,
    },
    Workload { id: "W7", title: "get customer", method: "GET", path: "/api/v1/customers/{random id}", baseline: false },
    Workload { id: "W8", title: "create customer", method: "POST", path: "/api/v1/customers/", baseline: false },
    // W9: W4 authenticated with an API key (`X-API-Key`) instead of a bearer token. kwik-server
    // only (the baseline has no API keys).
    Workload {
        id: "W9",
        title: "get project (API key)",
        method: "GET",
        path: "/api/v1/projects/{random id}",
        baseline: false,
    },
];

/// Runs the benchmark; failures are printed.
pub fn run(root: &Path, args: &BenchArgs) -> ExitCode {
    match bench(root, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Settings {
    duration: u64,
    settle: u64,
    warmup: u64,
    probe_requests: u32,
    probe_logins: u32,
    hash_count: u32,
}

fn bench(root: &Path, args: &BenchArgs) -> Result<(), String> {
    let settings = if args.quick {
        Settings { duration: 2, settle: 5, warmup: 1, probe_requests: 50, probe_logins: 5, hash_count: 5 }
    } else {
        Settings {
            duration: args.duration.max(1),
            settle: args.settle,
            warmup: args.warmup,
            probe_requests: 300,
            probe_logins: 20,
            hash_count: 20,
        }
    };
    let selected: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(w.id)))
        .collect();
    if selected.is_empty() {
        return Err(format!("--only {:?} names no workload (W1..W9)", args.only));
    }
    if args.concurrency.is_empty() || args.concurrency.contains(&0) {
        return Err("--concurrency needs positive numbers".to_owned());
    }
    match Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("wrk is not installed: `apt-get install -y wrk` (Debian), then run again".to_owned());
        }
        _ => {}
    }
    if !crate::reachable(&args.admin_url, 5432) {
        return Err(format!("PostgreSQL is not reachable at {}", crate::redact(&args.admin_url)));
    }

    println!("== build (release) ==");
    let built = crate::cargo()
        .current_dir(root)
        .args(["build", "--release", "-p", "kwik-server", "-p", "kwik-bench-baseline"])
        .status()
        .is_ok_and(|s| s.success());
    if !built {
        return Err("release build failed".to_owned());
    }
    let release = target_dir(root).join("release");
    let kwik_bin = release.join("kwik-server");
    let baseline_bin = release.join("kwik-bench-baseline");
    let out_dir = root.join("target").join("bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let scripts = std::env::temp_dir().join(format!("kwik-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scripts).map_err(|e| format!("cannot create {}: {e}", scripts.display()))?;

    println!("\n== database ==");
    let db_url = with_database(&args.admin_url, &args.database)?;
    let reset = run_json(
        Command::new(&baseline_bin).args(["reset-db", "--admin-url", &args.admin_url, "--name"]).arg(&args.database),
    )?;
    let argon2: Vec<(&str, u32)> = ARGON2_DEFAULTS
        .iter()
        .map(|(name, default)| (*name, std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(*default)))
        .collect();
    let mut kwik_env = kwik_env(&db_url, &argon2);
    if args.tenancy {
        kwik_env.push(("KWIK_TENANCY_ENABLED".into(), "true".into()));
    }
    for action in ["migrate", "seed"] {
        let ok = Command::new(&kwik_bin).arg(action).envs(kwik_env.iter().map(|(k, v)| (k, v))).status();
        if !ok.is_ok_and(|s| s.success()) {
            return Err(format!("`kwik-server {action}` failed"));
        }
    }
    let seeded = run_json(Command::new(&baseline_bin).args([
        "seed",
        "--database-url",
        &db_url,
        "--projects",
        &args.projects.to_string(),
    ]))?;
    let min_id = seeded["min_id"].as_i64().unwrap_or(1);
    let max_id = seeded["max_id"].as_i64().unwrap_or(1);
    println!("{} projects (ids {min_id}..={max_id})", seeded["projects"]);
    let peer = args.peer.map(|_| peer::Peer::prepare(root, args, &baseline_bin, &out_dir)).transpose()?;
    // kwik-server's own database: the PostgreSQL one above, or with --sqlite a fresh SQLite file.
    let kwik_db_url = if args.sqlite {
        let path = out_dir.join("kwik-bench.sqlite");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let url = format!("sqlite://{}", path.display());
        for action in ["migrate", "seed"] {
            let ok = Command::new(&kwik_bin)
                .arg(action)
                .envs(kwik_env.iter().map(|(k, v)| (k, v)))
                .env("KWIK_DATABASE_URL", &url)
                .status();
            if !ok.is_ok_and(|s| s.success()) {
                return Err(format!("`kwik-server {action}` on SQLite failed"));
            }
        }
        println!("kwik-server on SQLite: {}", path.display());
        url
    } else {
        db_url.clone()
    };

    println!("\n== servers ==");
    let mut kwik = Running::start(Server::Kwik, &kwik_bin, &kwik_env, &kwik_db_url, &out_dir)?;
    let mut baseline = Running::start(Server::Baseline, &baseline_bin, &kwik_env, &db_url, &out_dir)?;
    let credentials = Credentials::obtain(kwik.port)?;
    let customers = customer_ids(kwik.port, &credentials.token)?;
    // The projects W4 and W9 pick from: on SQLite, kwik-server's own seeded ones.
    let kwik_ids =
        if args.sqlite { wrk::id_range(kwik.port, &credentials.token, "projects")? } else { (min_id, max_id) };
    println!(
        "kwik-server on :{} (pid {}), baseline on :{} (pid {})",
        kwik.port,
        kwik.pid(),
        baseline.port,
        baseline.pid()
    );
    let mut peer_run = peer.as_ref().map(|p| p.start(&out_dir)).transpose()?;
    if let Some((running, _)) = &peer_run {
        println!("Python Kwik on :{} (pid {}, and its workers)", running.port, running.pid());
    }

    let run_id = unix_now();
    let mut meta = machine_meta(root, &settings, args, &reset, &seeded, &argon2, run_id);
    meta["kwik_database"] = json!(if args.sqlite { "sqlite" } else { "postgres" });
    if let Some(p) = &peer {
        meta["peer"] = p.meta.clone();
    }
    let mut lines = vec![meta.clone()];

    println!("\n== argon2id hash time ==");
    let hash = run_json(
        Command::new(&baseline_bin)
            .arg("hash")
            .args(["--memory-kib", &argon2[0].1.to_string()])
            .args(["--iterations", &argon2[1].1.to_string()])
            .args(["--parallelism", &argon2[2].1.to_string()])
            .args(["--count", &settings.hash_count.to_string()]),
    )?;
    println!("{hash}");
    lines.push(json!({ "kind": "hash", "run_id": run_id, "hash": hash }));

    // Load runs: W1 (login) last, so the argon2 buffers it allocates do not inflate the RSS of the
    // others. The two servers alternate who goes first at each concurrency.
    let mut ordered: Vec<&Workload> = selected.iter().copied().filter(|w| w.id != "W1").collect();
    ordered.extend(selected.iter().copied().filter(|w| w.id == "W1"));
    let mem_total_kib = read_meminfo_kib("MemTotal:");
    let rss_limit_kib = args.rss_limit_mib.map_or(mem_total_kib * 3 / 4, |mib| mib * 1024).max(64 * 1024);
    let mut results: Vec<Value> = Vec::new();
    for workload in &ordered {
        for (i, &c) in args.concurrency.iter().enumerate() {
            let mut servers = vec![Server::Kwik];
            if workload.baseline {
                servers.push(Server::Baseline);
            }
            if peer_run.is_some() && peer::serves(workload) {
                servers.push(Server::Peer);
            }
            if i % 2 == 1 {
                servers.reverse();
            }
            for server in servers {
                let (target, credentials, (min_id, max_id)) = match (server, peer_run.as_mut()) {
                    (Server::Kwik, _) => (&mut kwik, &credentials, kwik_ids),
                    (Server::Baseline, _) => (&mut baseline, &credentials, (min_id, max_id)),
                    (Server::Peer, Some((running, peer_credentials))) => {
                        (running, &*peer_credentials, peer.as_ref().map_or((1, 1), |p| p.ids))
                    }
                    (Server::Peer, None) => return Err("the peer is not running".to_owned()),
                };
                // The peer forks workers: watch its process tree.
                let start_watch = |pid| {
                    if server == Server::Peer {
                        Watch::start_tree(pid, rss_limit_kib)
                    } else {
                        Watch::start(pid, rss_limit_kib)
                    }
                };
                let load = LoadRun {
                    workload,
                    server,
                    concurrency: c,
                    threads: args.threads.min(c),
                    min_id,
                    max_id,
                    customers,
                };
                let script = load.script(&scripts)?;
                print!("{} {:<22} c={c:<3} {:<8} ", workload.id, workload.title, server.name());
                let _ = std::io::stdout().flush();
                let background = settle(Duration::from_secs(settings.settle));
                if settings.warmup > 0 {
                    let watch = start_watch(target.pid());
                    let warmup = load.wrk(
                        target.port,
                        credentials,
                        &script,
                        settings.warmup,
                        &format!("{run_id}w"),
                        Some(&watch),
                    );
                    watch.stop();
                    warmup?;
                    if server == Server::Peer {
                        peer::drain(target.pid());
                    }
                }
                let watch = start_watch(target.pid());
                let summary = load.wrk(
                    target.port,
                    credentials,
                    &script,
                    settings.duration,
                    &format!("{run_id}m"),
                    Some(&watch),
                )?;
                let usage = watch.stop();
                if server == Server::Peer {
                    peer::drain(target.pid());
                }
                target.check_alive()?;
                let mut line = load.record(&summary, &usage, background, run_id);
                if server == Server::Peer {
                    peer::annotate(&mut line, target.pid());
                }
                println!(
                    "{:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  non-2xx {:>6}  peak RSS {:>6.1} MiB  \
                     CPU server {:.2} pg {:.2} wrk {:.2} other {:.2}",
                    line["rps"].as_f64().unwrap_or(0.0),
                    line["p50_ms"].as_f64().unwrap_or(0.0),
                    line["p99_ms"].as_f64().unwrap_or(0.0),
                    line["non_2xx"].as_u64().unwrap_or(0),
                    line["peak_rss_mib"].as_f64().unwrap_or(0.0),
                    usage.server_cores,
                    usage.postgres_cores,
                    usage.wrk_cores,
                    usage.other_cores,
                );
                if usage.rss_limit_hit {
                    println!("  ^ stopped early: the server's RSS passed {} MiB", rss_limit_kib / 1024);
                }
                results.push(line);
            }
        }
    }
    let final_hwm = [(Server::Kwik, kwik.pid()), (Server::Baseline, baseline.pid())]
        .map(|(s, pid)| (s, read_status_kib(pid, "VmRSS:")));
    kwik.stop();
    baseline.stop();
    drop(peer_run);

    let probes = if args.sqlite {
        println!("\n(database cost per request: skipped with --sqlite)");
        Vec::new()
    } else {
        println!("\n== database cost per request (counting proxy, sequential requests) ==");
        // W5 created projects: back to the seeded table, so W3's count costs what it did under load.
        run_json(Command::new(&baseline_bin).args([
            "seed",
            "--database-url",
            &db_url,
            "--projects",
            &args.projects.to_string(),
        ]))?;
        let ids = ProbeIds { projects: (min_id, max_id), customers };
        let probes = probe(&selected, &kwik_bin, &baseline_bin, &kwik_env, &db_url, &out_dir, &settings, ids)?;
        for p in &probes {
            println!(
                "{} {:<8} {:>5.2} statements  {:>5.2} round trips  {:>7.2} ms/request",
                p["workload"].as_str().unwrap_or("?"),
                p["server"].as_str().unwrap_or("?"),
                p["db_statements_per_request"].as_f64().unwrap_or(0.0),
                p["db_round_trips_per_request"].as_f64().unwrap_or(0.0),
                p["mean_latency_ms"].as_f64().unwrap_or(0.0),
            );
        }
        probes
    };
    let _ = std::fs::remove_dir_all(&scripts);

    lines.extend(results.iter().cloned());
    lines.extend(probes.iter().map(|p| {
        let mut p = p.clone();
        p["run_id"] = json!(run_id);
        p
    }));
    for (server, rss) in final_hwm {
        lines.push(json!({ "kind": "rss_at_end", "run_id": run_id, "server": server.name(), "rss_kib": rss }));
    }
    let mut jsonl = String::new();
    for line in &lines {
        let _ = writeln!(jsonl, "{line}");
    }
    write(&out_dir.join("results.jsonl"), &jsonl)?;
    append(&out_dir.join("history.jsonl"), &jsonl)?;
    let markdown = markdown(&meta, &hash, &results, &probes, &args.concurrency);
    write(&out_dir.join("results.md"), &markdown)?;
    println!("\n{markdown}");
    println!("wrote target/bench/results.jsonl, target/bench/results.md (appended to target/bench/history.jsonl)");
    Ok(())
}
