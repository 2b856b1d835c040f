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

// Counts, microseconds and KiB are far below 2^52: the f64 conversions are exact in practice.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// The JWT secret both servers share during the run (43 characters, like Kwik's default length).
const SECRET_KEY: &str = "kwik-bench-secret-key-0123456789abcdefghijk";
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Kwik,
    Baseline,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::Kwik => "kwik",
            Self::Baseline => "baseline",
        }
    }
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

const WORKLOADS: [Workload; 8] = [
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
        return Err(format!("--only {:?} names no workload (W1..W8)", args.only));
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

    println!("\n== servers ==");
    let mut kwik = Running::start(Server::Kwik, &kwik_bin, &kwik_env, &db_url, &out_dir)?;
    let mut baseline = Running::start(Server::Baseline, &baseline_bin, &kwik_env, &db_url, &out_dir)?;
    let token = login(kwik.port)?;
    let customers = customer_ids(kwik.port, &token)?;
    println!(
        "kwik-server on :{} (pid {}), baseline on :{} (pid {})",
        kwik.port,
        kwik.pid(),
        baseline.port,
        baseline.pid()
    );

    let run_id = unix_now();
    let meta = machine_meta(root, &settings, args, &reset, &seeded, &argon2, run_id);
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
                if i % 2 == 1 {
                    servers.reverse();
                }
            }
            for server in servers {
                let target = if server == Server::Kwik { &mut kwik } else { &mut baseline };
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
                    let watch = Watch::start(target.pid(), rss_limit_kib);
                    let warmup =
                        load.wrk(target.port, &token, &script, settings.warmup, &format!("{run_id}w"), Some(&watch));
                    watch.stop();
                    warmup?;
                }
                let watch = Watch::start(target.pid(), rss_limit_kib);
                let summary =
                    load.wrk(target.port, &token, &script, settings.duration, &format!("{run_id}m"), Some(&watch))?;
                let usage = watch.stop();
                target.check_alive()?;
                let line = load.record(&summary, &usage, background, run_id);
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

// ---------------------------------------------------------------------------------------------
// Servers.

pub(crate) fn kwik_env(db_url: &str, argon2: &[(&str, u32)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("KWIK_DATABASE_URL".into(), db_url.into()),
        ("KWIK_SECRET_KEY".into(), SECRET_KEY.into()),
        ("KWIK_BACKEND_HOST".into(), "127.0.0.1".into()),
        ("KWIK_LOG_LEVEL".into(), "warn".into()),
        // All load comes from one address: per-client rate limits would answer 429 instead.
        ("KWIK_RATE_LIMIT_ENABLED".into(), "false".into()),
    ];
    env.extend(argon2.iter().map(|(k, v)| ((*k).to_owned(), v.to_string())));
    env
}

/// A server process, stopped when dropped.
pub(crate) struct Running {
    server: Server,
    child: Option<Child>,
    pub(crate) port: u16,
}

impl Running {
    pub(crate) fn start(
        server: Server,
        bin: &Path,
        kwik_env: &[(String, String)],
        db_url: &str,
        log_dir: &Path,
    ) -> Result<Self, String> {
        let port = free_port()?;
        let log_path = log_dir.join(format!("{}.log", server.name()));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = Command::new(bin);
        for (key, _) in std::env::vars() {
            if key.starts_with("KWIK_") {
                command.env_remove(key);
            }
        }
        match server {
            Server::Kwik => {
                command.arg("serve").envs(kwik_env.iter().map(|(k, v)| (k, v)));
                command.env("KWIK_DATABASE_URL", db_url).env("KWIK_BACKEND_PORT", port.to_string());
            }
            Server::Baseline => {
                command.arg("serve").args(["--database-url", db_url, "--secret-key", SECRET_KEY]);
                command.args(["--port", &port.to_string()]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let mut running = Self { server, child: Some(child), port };
        let health = match server {
            Server::Kwik => "/health/ready",
            Server::Baseline => "/health",
        };
        let deadline = Instant::now() + Duration::from_mins(1);
        loop {
            running.check_alive().map_err(|e| format!("{e} (see {})", log_path.display()))?;
            if http(port, "GET", health, &[], "").is_ok_and(|(status, _)| status == 200) {
                return Ok(running);
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not become ready in 60 s (see {})", server.name(), log_path.display()));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn check_alive(&mut self) -> Result<(), String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(format!("{} exited: {status}", self.server.name())),
            Some(Err(e)) => Err(format!("{}: {e}", self.server.name())),
            None => Err(format!("{} is stopped", self.server.name())),
        }
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after 10 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

pub(crate) fn login(port: u16) -> Result<String, String> {
    let body = format!("username={}&password={ADMIN_PASSWORD}", ADMIN_EMAIL.replace('@', "%40"));
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/login/access-token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    )?;
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    match parsed["access_token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_owned()),
        _ => Err(format!("login failed: {status} {body}")),
    }
}

// ---------------------------------------------------------------------------------------------
// wrk.

struct LoadRun<'a> {
    workload: &'a Workload,
    server: Server,
    concurrency: u32,
    threads: u32,
    min_id: i64,
    max_id: i64,
    /// The seeded customers' ids (W7).
    customers: (i64, i64),
}

/// The lowest and highest customer id (through the API, as the admin: with `--tenancy` the
/// seeded customers are the default tenant's, which is the admin's).
fn customer_ids(port: u16, token: &str) -> Result<(i64, i64), String> {
    let auth = format!("Bearer {token}");
    let mut ends = [0_i64; 2];
    for (end, order) in ends.iter_mut().zip(["asc", "desc"]) {
        let path = format!("/api/v1/customers/?limit=1&sorting=id:{order}");
        let (status, body) = http(port, "GET", &path, &[("Authorization", &auth)], "")?;
        let page: Value = serde_json::from_str(&body).map_err(|e| format!("customers page: {e}: {body}"))?;
        *end =
            page["data"][0]["id"].as_i64().filter(|_| status == 200).ok_or_else(|| format!("no customers: {body}"))?;
    }
    Ok((ends[0], ends[1]))
}

/// Id ranges the probes draw from.
#[derive(Debug, Clone, Copy)]
struct ProbeIds {
    projects: (i64, i64),
    customers: (i64, i64),
}

/// Prints the run's numbers as one JSON line (latencies in microseconds).
const DONE_LUA: &str = r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"non_2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"#;

/// Numbers each wrk thread (`tid`) and reads the run tag (`args[1]`), for unique names.
const THREADS_LUA: &str = r#"
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end
function init(args)
  tag = args[1] or "run"
  counter = 0
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
"#;

impl LoadRun<'_> {
    fn script(&self, dir: &Path) -> Result<PathBuf, String> {
        let mut lua = String::from(THREADS_LUA);
        match self.workload.id {
            "W1" => {
                let body = format!("username={}&password={ADMIN_PASSWORD}", ADMIN_EMAIL.replace('@', "%40"));
                let _ = write!(
                    lua,
                    "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = \"{body}\"\n"
                );
            }
            "W4" => {
                let _ = write!(
                    lua,
                    "function request()\n  return wrk.format(nil, \"/api/v1/projects/\" .. math.random({}, {}))\nend\n",
                    self.min_id, self.max_id
                );
            }
            "W5" => {
                lua.push_str(concat!(
                    "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
                    "function request()\n  counter = counter + 1\n",
                    "  local body = string.format('{\"name\":\"bench %s t%d n%d\",\"description\":\"created by wrk\"}', tag, tid, counter)\n",
                    "  return wrk.format(nil, nil, nil, body)\nend\n",
                ));
            }
            "W7" => {
                let _ = write!(
                    lua,
                    "function request()\n  return wrk.format(nil, \"/api/v1/customers/\" .. math.random({}, {}))\nend\n",
                    self.customers.0, self.customers.1
                );
            }
            "W8" => {
                lua.push_str(concat!(
                    "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
                    "function request()\n  counter = counter + 1\n",
                    "  local body = string.format('{\"name\":\"bench %s\",\"email\":\"bench-%s-t%d-n%d@example.com\"}', tag, tag, tid, counter)\n",
                    "  return wrk.format(nil, nil, nil, body)\nend\n",
                ));
            }
            _ => {}
        }
        lua.push_str(DONE_LUA);
        let path = dir.join(format!("{}-{}.lua", self.workload.id, self.server.name()));
        write(&path, &lua)?;
        Ok(path)
    }

    fn url_path(&self) -> &'static str {
        match self.workload.id {
            "W4" => "/api/v1/projects/1",
            "W7" => "/api/v1/customers/1",
            _ => self.workload.path,
        }
    }

    fn wrk(
        &self,
        port: u16,
        token: &str,
        script: &Path,
        seconds: u64,
        tag: &str,
        watch: Option<&Watch>,
    ) -> Result<Value, String> {
        let mut command = Command::new("wrk");
        command
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.concurrency))
            .arg(format!("-d{seconds}s"))
            .args(["--timeout", "10s", "-s"])
            .arg(script);
        if self.workload.id != "W1" {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let unique = format!("{}-c{}-{tag}", self.server.name(), self.concurrency);
        command.arg(format!("http://127.0.0.1:{port}{}", self.url_path())).args(["--", &unique]);
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        if let Some(watch) = watch {
            watch.set_wrk(child.id());
        }
        let output = child.wait_with_output().map_err(|e| format!("wrk: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("BENCH_JSON "))
            .ok_or_else(|| format!("wrk printed no summary: {stdout}{}", String::from_utf8_lossy(&output.stderr)))?;
        serde_json::from_str(line).map_err(|e| format!("bad wrk summary {line}: {e}"))
    }

    fn record(&self, s: &Value, usage: &Usage, background: f64, run_id: u64) -> Value {
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        let peak_kib = usage.peak_kib;
        let num = |key: &str| s[key].as_f64().unwrap_or(0.0);
        let ms = |key: &str| num(key).round() / 1000.0;
        let requests = s["requests"].as_u64().unwrap_or(0);
        let seconds = num("duration_us") / 1e6;
        let rps = if seconds > 0.0 { requests as f64 / seconds } else { 0.0 };
        json!({
            "kind": "load",
            "run_id": run_id,
            "server": self.server.name(),
            "workload": self.workload.id,
            "title": self.workload.title,
            "method": self.workload.method,
            "path": self.workload.path,
            "concurrency": self.concurrency,
            "threads": self.threads,
            "duration_s": (seconds * 1000.0).round() / 1000.0,
            "requests": requests,
            "rps": (rps * 10.0).round() / 10.0,
            "p50_ms": ms("p50_us"),
            "p90_ms": ms("p90_us"),
            "p99_ms": ms("p99_us"),
            "max_ms": ms("max_us"),
            "mean_ms": ms("mean_us"),
            "non_2xx": s["non_2xx"].as_u64().unwrap_or(0),
            "socket_errors": {
                "connect": s["connect_errors"], "read": s["read_errors"], "write": s["write_errors"], "timeout": s["timeouts"],
            },
            "peak_rss_kib": peak_kib,
            "peak_rss_mib": (peak_kib as f64 / 1024.0 * 10.0).round() / 10.0,
            "rss_method": usage.rss_method,
            "rss_limit_hit": usage.rss_limit_hit,
            "server_cpu_us_per_request": if requests > 0 {
                (usage.server_cores * seconds * 1e6 / requests as f64 * 10.0).round() / 10.0
            } else {
                0.0
            },
            "cpu_cores": {
                "server": round2(usage.server_cores),
                "postgres": round2(usage.postgres_cores),
                "wrk": round2(usage.wrk_cores),
                "other": round2(usage.other_cores),
                "busy_before_run": round2(background),
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Peak RSS and CPU accounting.

fn read_meminfo_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix(field)?.split_whitespace().next()?.parse().ok()))
        .unwrap_or(0)
}

fn read_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// `(busy, total, cpus)` clock ticks of the whole machine, from `/proc/stat`.
fn machine_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpus =
        stat.lines().filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).count();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|n| n.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total, cpus as u64)
}

/// User + system clock ticks of a process (0 when it is gone).
fn process_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (proc(5)).
    let at = |i: usize| fields.get(i - 3).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    at(14) + at(15)
}

/// Ticks of every `postgres` process, by pid.
fn postgres_ticks() -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(|pid| (pid, process_ticks(pid)))
        .collect()
}

/// Waits (up to `max_wait`) until the machine is quiet: other processes (builds, ...) using
/// CPU during a run would distort it. Returns the cores busy in the last one-second sample.
fn settle(max_wait: Duration) -> f64 {
    let start = Instant::now();
    let mut told = false;
    loop {
        let (b0, t0, cpus) = machine_ticks();
        thread::sleep(Duration::from_secs(1));
        let (b1, t1, _) = machine_ticks();
        let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64 * cpus as f64;
        if busy <= 0.25 || start.elapsed() >= max_wait {
            if told {
                print!("(settled after {:.0} s, {busy:.2} cores busy) ", start.elapsed().as_secs_f64());
            }
            return busy;
        }
        if !told {
            print!("(waiting for other CPU load, {busy:.2} cores busy) ");
            let _ = std::io::stdout().flush();
            told = true;
        }
    }
}

/// What a measured run cost: the server's peak RSS (`VmHWM` after resetting it with
/// `echo 5 > /proc/PID/clear_refs`, or the maximum of `VmRSS` sampled every 50 ms where the reset
/// is not allowed) and where the machine's CPU time went (server, PostgreSQL, wrk, anything else).
struct Watch {
    pid: u32,
    reset: bool,
    stop: Arc<AtomicBool>,
    limit_hit: Arc<AtomicBool>,
    wrk_pid: Arc<AtomicU64>,
    wrk_ticks: Arc<AtomicU64>,
    sampler: Option<thread::JoinHandle<u64>>,
    machine: (u64, u64, u64),
    server_ticks: u64,
    postgres: Vec<(u32, u64)>,
}

struct Usage {
    peak_kib: u64,
    rss_method: &'static str,
    server_cores: f64,
    postgres_cores: f64,
    wrk_cores: f64,
    other_cores: f64,
    rss_limit_hit: bool,
}

impl Watch {
    /// Starts watching `pid`. Past `rss_limit_kib` of RSS the run is cut short (wrk gets SIGINT and
    /// still prints its summary), so a runaway server cannot exhaust the machine's memory.
    fn start(pid: u32, rss_limit_kib: u64) -> Self {
        let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
        let stop = Arc::new(AtomicBool::new(false));
        let wrk_pid = Arc::new(AtomicU64::new(0));
        let wrk_ticks = Arc::new(AtomicU64::new(0));
        let limit_hit = Arc::new(AtomicBool::new(false));
        let (flag, wrk, ticks, hit) =
            (Arc::clone(&stop), Arc::clone(&wrk_pid), Arc::clone(&wrk_ticks), Arc::clone(&limit_hit));
        let sampler = thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                peak = peak.max(read_status_kib(pid, "VmRSS:"));
                let wrk = u32::try_from(wrk.load(Ordering::Relaxed)).unwrap_or(0);
                if wrk > 0 {
                    ticks.fetch_max(process_ticks(wrk), Ordering::Relaxed);
                    if peak > rss_limit_kib && !hit.swap(true, Ordering::Relaxed) {
                        let _ = Command::new("kill").args(["-INT", &wrk.to_string()]).status();
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
            peak
        });
        Self {
            pid,
            reset,
            stop,
            limit_hit,
            wrk_pid,
            wrk_ticks,
            sampler: Some(sampler),
            machine: machine_ticks(),
            server_ticks: process_ticks(pid),
            postgres: postgres_ticks(),
        }
    }

    fn set_wrk(&self, pid: u32) {
        self.wrk_pid.store(u64::from(pid), Ordering::Relaxed);
    }

    fn stop(mut self) -> Usage {
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.take().and_then(|h| h.join().ok()).unwrap_or(0);
        let hwm = read_status_kib(self.pid, "VmHWM:");
        let (peak_kib, rss_method) =
            if self.reset && hwm > 0 { (hwm.max(sampled), "VmHWM") } else { (sampled, "sampled VmRSS") };
        let (busy, total, cpus) = machine_ticks();
        let scale = cpus as f64 / (total - self.machine.1).max(1) as f64;
        let cores = |ticks: u64| ticks as f64 * scale;
        let server = process_ticks(self.pid).saturating_sub(self.server_ticks);
        let after = postgres_ticks();
        let postgres: u64 = after
            .iter()
            .map(|(pid, t)| t.saturating_sub(self.postgres.iter().find(|(p, _)| p == pid).map_or(0, |(_, t0)| *t0)))
            .sum();
        let wrk = self.wrk_ticks.load(Ordering::Relaxed);
        let all = busy - self.machine.0;
        Usage {
            peak_kib,
            rss_method,
            server_cores: cores(server),
            postgres_cores: cores(postgres),
            wrk_cores: cores(wrk),
            other_cores: cores(all.saturating_sub(server + postgres + wrk)),
            rss_limit_hit: self.limit_hit.load(Ordering::Relaxed),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Database cost per request: a TCP proxy in front of PostgreSQL counting, in the server's replies,
// CommandComplete ('C', one per statement) and ReadyForQuery ('Z', one per round trip: each Sync,
// including sqlx's liveness ping when it takes a connection from the pool).

struct Proxy {
    port: u16,
    statements: Arc<AtomicU64>,
    round_trips: Arc<AtomicU64>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("proxy: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let statements = Arc::new(AtomicU64::new(0));
        let round_trips = Arc::new(AtomicU64::new(0));
        let (c, z) = (Arc::clone(&statements), Arc::clone(&round_trips));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(upstream) else { continue };
                let (c, z) = (Arc::clone(&c), Arc::clone(&z));
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                thread::spawn(move || {
                    let _ = std::io::copy(&mut client_in, &mut server_out);
                    let _ = server_out.shutdown(std::net::Shutdown::Write);
                });
                thread::spawn(move || relay_counting(server, client, &c, &z));
            }
        });
        Ok(Self { port, statements, round_trips })
    }

    fn counts(&self) -> (u64, u64) {
        (self.statements.load(Ordering::SeqCst), self.round_trips.load(Ordering::SeqCst))
    }
}

/// Copies the server's messages to the client, counting 'C' and 'Z' messages (type byte, then a
/// 4-byte big-endian length that includes itself). Needs `sslmode=disable`, so every byte from the
/// server is a typed message.
fn relay_counting(mut server: TcpStream, mut client: TcpStream, statements: &AtomicU64, round_trips: &AtomicU64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut header = [0u8; 5];
    let mut have = 0usize;
    let mut skip = 0usize;
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut i = 0;
        while i < n {
            if skip > 0 {
                let take = skip.min(n - i);
                skip -= take;
                i += take;
                continue;
            }
            header[have] = buf[i];
            have += 1;
            i += 1;
            if have == 5 {
                have = 0;
                let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
                skip = len.saturating_sub(4);
                match header[0] {
                    b'C' => statements.fetch_add(1, Ordering::SeqCst),
                    b'Z' => round_trips.fetch_add(1, Ordering::SeqCst),
                    _ => 0,
                };
            }
        }
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

#[allow(clippy::too_many_arguments)]
fn probe(
    selected: &[&Workload],
    kwik_bin: &Path,
    baseline_bin: &Path,
    kwik_env: &[(String, String)],
    db_url: &str,
    out_dir: &Path,
    settings: &Settings,
    ids: ProbeIds,
) -> Result<Vec<Value>, String> {
    let ((min_id, max_id), (first_customer, last_customer)) = (ids.projects, ids.customers);
    let upstream = db_host_port(db_url)?;
    let proxy = Proxy::start(upstream)?;
    let proxied = proxied_url(db_url, proxy.port)?;
    let mut kwik = Running::start(Server::Kwik, kwik_bin, kwik_env, &proxied, out_dir)?;
    let mut baseline = Running::start(Server::Baseline, baseline_bin, kwik_env, &proxied, out_dir)?;
    let token = login(kwik.port)?;
    let auth = format!("Bearer {token}");
    let mut out = Vec::new();
    let mut counter = 0u64;
    for workload in selected {
        for server in [Server::Kwik, Server::Baseline] {
            if server == Server::Baseline && !workload.baseline {
                continue;
            }
            let port = if server == Server::Kwik { kwik.port } else { baseline.port };
            let n = if workload.id == "W1" { settings.probe_logins } else { settings.probe_requests };
            let call = |counter: &mut u64| -> Result<u16, String> {
                *counter += 1;
                let id = min_id + i64::try_from(*counter).unwrap_or(0) * 7919 % (max_id - min_id + 1).max(1);
                let (status, _) = match workload.id {
                    "W1" => {
                        let body = format!("username={}&password={ADMIN_PASSWORD}", ADMIN_EMAIL.replace('@', "%40"));
                        let form = [("Content-Type", "application/x-www-form-urlencoded")];
                        http(port, "POST", workload.path, &form, &body)?
                    }
                    "W4" => http(port, "GET", &format!("/api/v1/projects/{id}"), &[("Authorization", &auth)], "")?,
                    "W5" => {
                        let body = format!("{{\"name\":\"probe {} {counter}\"}}", server.name());
                        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
                        http(port, "POST", workload.path, &headers, &body)?
                    }
                    "W7" => {
                        let span = (last_customer - first_customer + 1).max(1);
                        let id = first_customer + i64::try_from(*counter).unwrap_or(0) * 7919 % span;
                        http(port, "GET", &format!("/api/v1/customers/{id}"), &[("Authorization", &auth)], "")?
                    }
                    "W8" => {
                        let body = format!("{{\"name\":\"probe\",\"email\":\"probe-{counter}@example.com\"}}");
                        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
                        http(port, "POST", workload.path, &headers, &body)?
                    }
                    _ => http(port, "GET", workload.path, &[("Authorization", &auth)], "")?,
                };
                Ok(status)
            };
            for _ in 0..3 {
                call(&mut counter)?;
            }
            thread::sleep(Duration::from_millis(100));
            let (c0, z0) = proxy.counts();
            let start = Instant::now();
            let mut failures = 0u32;
            for _ in 0..n {
                if !(200..300).contains(&call(&mut counter)?) {
                    failures += 1;
                }
            }
            let elapsed = start.elapsed();
            thread::sleep(Duration::from_millis(100));
            let (c1, z1) = proxy.counts();
            let per = |a: u64, b: u64| ((b - a) as f64 / f64::from(n) * 100.0).round() / 100.0;
            out.push(json!({
                "kind": "probe",
                "server": server.name(),
                "workload": workload.id,
                "requests": n,
                "non_2xx": failures,
                "db_statements_per_request": per(c0, c1),
                "db_round_trips_per_request": per(z0, z1),
                "mean_latency_ms": (elapsed.as_secs_f64() * 1000.0 / f64::from(n) * 100.0).round() / 100.0,
            }));
        }
    }
    kwik.stop();
    baseline.stop();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Report.

fn find<'a>(results: &'a [Value], server: &str, workload: &str, c: u32) -> Option<&'a Value> {
    results.iter().find(|r| r["server"] == server && r["workload"] == workload && r["concurrency"] == c)
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

fn markdown(meta: &Value, hash: &Value, results: &[Value], probes: &[Value], concurrency: &[u32]) -> String {
    let mut md = String::new();
    let m = &meta["machine"];
    let _ = writeln!(
        md,
        "## Results ({} UTC, commit {})\n",
        meta["date"].as_str().unwrap_or("?"),
        meta["commit"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        md,
        "Machine: {} ({} cores), {} GiB RAM, Linux {}; PostgreSQL {}; {}; wrk {} threads; {} s runs after {} s warm-up; {} projects.\n",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or("?"),
        meta["postgres"].as_str().unwrap_or("?"),
        meta["rustc"].as_str().unwrap_or("?"),
        meta["wrk_threads"],
        meta["duration_s"],
        meta["warmup_s"],
        meta["projects"],
    );
    md.push_str("| workload | c | kwik req/s | baseline req/s | kwik / baseline | kwik p50 / p99 ms | baseline p50 / p99 ms | non-2xx kwik / baseline | peak RSS MiB kwik / baseline | server CPU µs/request kwik / baseline | other CPU load, cores |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for w in &WORKLOADS {
        for &c in concurrency {
            let Some(k) = find(results, "kwik", w.id, c) else { continue };
            let b = find(results, "baseline", w.id, c);
            let dash = || "–".to_owned();
            let _ = writeln!(
                md,
                "| {} {}{} | {c} | {:.0} | {} | {} | {:.2} / {:.2} | {} | {} / {} | {:.1} / {} | {:.0} / {} | {} |",
                w.id,
                w.title,
                if k["rss_limit_hit"] == true { " (stopped at the RSS limit)" } else { "" },
                f(k, "rps"),
                b.map_or_else(dash, |b| format!("{:.0}", f(b, "rps"))),
                b.map_or_else(dash, |b| format!("{:.0}%", 100.0 * f(k, "rps") / f(b, "rps").max(1e-9))),
                f(k, "p50_ms"),
                f(k, "p99_ms"),
                b.map_or_else(dash, |b| format!("{:.2} / {:.2}", f(b, "p50_ms"), f(b, "p99_ms"))),
                k["non_2xx"],
                b.map_or_else(dash, |b| b["non_2xx"].to_string()),
                f(k, "peak_rss_mib"),
                b.map_or_else(dash, |b| format!("{:.1}", f(b, "peak_rss_mib"))),
                f(k, "server_cpu_us_per_request"),
                b.map_or_else(dash, |b| format!("{:.0}", f(b, "server_cpu_us_per_request"))),
                std::iter::once(k)
                    .chain(b)
                    .map(|r| format!("{:.2}", f(&r["cpu_cores"], "other")))
                    .collect::<Vec<_>>()
                    .join(" / "),
            );
        }
    }
    md.push_str(
        "\nPeak RSS: the server's high-water mark over the measured run. Server CPU per request: the server \
         process's CPU time over the run divided by the requests served (less sensitive to other load than req/s). \
         Other CPU load: cores used during the run \
         by processes other than the server, PostgreSQL and wrk (near 0 on a quiet machine).\n",
    );
    let _ = writeln!(
        md,
        "\nW1 login: argon2id m={} KiB, t={}, p={} (the `KWIK_ARGON2_*` values of the run); one hash takes {:.1} ms \
         (mean of {}, release build, one core). A login verifies one hash.\n",
        hash["memory_kib"],
        hash["iterations"],
        hash["parallelism"],
        f(hash, "ms_per_hash"),
        hash["count"],
    );
    if !probes.is_empty() {
        md.push_str("Database cost per request (sequential requests through a counting proxy; a round trip is one Sync/ReadyForQuery):\n\n");
        md.push_str("| workload | kwik statements / round trips | baseline statements / round trips | sequential latency ms kwik / baseline |\n");
        md.push_str("|---|---:|---:|---:|\n");
        for w in &WORKLOADS {
            let Some(k) = probes.iter().find(|p| p["server"] == "kwik" && p["workload"] == w.id) else { continue };
            let b = probes.iter().find(|p| p["server"] == "baseline" && p["workload"] == w.id);
            let _ = writeln!(
                md,
                "| {} {} | {:.2} / {:.2} | {} | {:.2} / {} |",
                w.id,
                w.title,
                f(k, "db_statements_per_request"),
                f(k, "db_round_trips_per_request"),
                b.map_or_else(
                    || "–".to_owned(),
                    |b| format!("{:.2} / {:.2}", f(b, "db_statements_per_request"), f(b, "db_round_trips_per_request"))
                ),
                f(k, "mean_latency_ms"),
                b.map_or_else(|| "–".to_owned(), |b| format!("{:.2}", f(b, "mean_latency_ms"))),
            );
        }
        md.push('\n');
    }
    md.push_str("Targets:\n\n");
    for w in ["W2", "W3", "W4"] {
        for &c in concurrency {
            if let (Some(k), Some(b)) = (find(results, "kwik", w, c), find(results, "baseline", w, c)) {
                let ratio = f(k, "rps") / f(b, "rps").max(1e-9);
                let _ = writeln!(
                    md,
                    "- {} {w} c={c}: throughput {:.0}% of baseline (target ≥ 90%)",
                    mark(ratio >= 0.9),
                    ratio * 100.0
                );
            }
        }
    }
    for w in ["W2", "W3", "W4", "W5"] {
        if let Some(k) = find(results, "kwik", w, 16) {
            let p99 = f(k, "p99_ms");
            let _ = writeln!(md, "- {} {w} c=16: p99 {p99:.2} ms (target < 10 ms)", mark(p99 < 10.0));
        }
    }
    let non_login: Vec<&Value> = results.iter().filter(|r| r["server"] == "kwik" && r["workload"] != "W1").collect();
    if let Some(peak) = non_login.iter().map(|r| f(r, "peak_rss_mib")).reduce(f64::max) {
        let _ = writeln!(md, "- {} peak RSS over W2–W5: {peak:.1} MiB (target < 48 MiB)", mark(peak < 48.0));
    }
    if let Some(peak) = results
        .iter()
        .filter(|r| r["server"] == "kwik" && r["workload"] == "W1")
        .map(|r| f(r, "peak_rss_mib"))
        .reduce(f64::max)
    {
        let _ = writeln!(
            md,
            "- {} peak RSS during W1 (concurrent argon2id hashes): {peak:.1} MiB (target < 48 MiB)",
            mark(peak < 48.0)
        );
    }
    if let Some(k) = probes.iter().find(|p| p["server"] == "kwik" && p["workload"] == "W2") {
        let statements = f(k, "db_statements_per_request");
        let _ = writeln!(
            md,
            "- {} auth + permission check: {statements:.2} statement per request on W2 (target ≤ 1 round trip); {:.2} wire round trips, \
             the others being sqlx's pool pings on acquire and on release",
            mark(statements <= 1.0),
            f(k, "db_round_trips_per_request"),
        );
    }
    md
}

fn mark(ok: bool) -> &'static str {
    if ok { "met:" } else { "**missed:**" }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// `scheme://authority/<name>?query` with the database name replaced.
fn with_database(url: &str, name: &str) -> Result<String, String> {
    let scheme_end = url.find("://").ok_or_else(|| format!("not a URL: {}", crate::redact(url)))? + 3;
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    Ok(format!("{head}{authority}/{name}{query}"))
}

fn db_host_port(url: &str) -> Result<SocketAddr, String> {
    let authority = url.split("://").nth(1).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default().split(['/', '?']).next().unwrap_or_default();
    let target = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    target.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| format!("cannot resolve {target}"))
}

/// The URL through the proxy on 127.0.0.1:`port`, without TLS (the proxy reads the protocol).
fn proxied_url(url: &str, port: u16) -> Result<String, String> {
    let scheme_end = url.find("://").ok_or("not a URL")? + 3;
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let userinfo = authority.rfind('@').map_or("", |at| &authority[..=at]);
    let separator = if tail.contains('?') { '&' } else { '?' };
    Ok(format!("{head}{userinfo}127.0.0.1:{port}{tail}{separator}sslmode=disable"))
}

/// A minimal HTTP/1.1 request (`Connection: close`); returns the status and the body.
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_mins(1))).map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    let _ = write!(request, "Content-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or("malformed status line")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    Ok((status, if chunked { dechunk(body) } else { body.to_owned() }))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Runs a helper that prints one JSON object on stdout.
fn run_json(command: &mut Command) -> Result<Value, String> {
    let output = command.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).map_err(|e| format!("{command:?} printed {stdout}: {e}"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append to {}: {e}", path.display()))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM` (UTC) for Unix seconds (days-to-civil, proleptic Gregorian).
fn utc_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let minutes = secs % 86_400 / 60;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// The first line a command prints (stdout, else stderr); empty when it fails, unless `any_status`
/// (`wrk -v` prints its version and exits with 1).
fn first_line(command: &mut Command, any_status: bool) -> String {
    command
        .output()
        .ok()
        .filter(|o| any_status || o.status.success())
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or_default().trim().to_owned()
        })
        .unwrap_or_default()
}

fn machine_meta(
    root: &Path,
    settings: &Settings,
    args: &BenchArgs,
    reset: &Value,
    seeded: &Value,
    argon2: &[(&str, u32)],
    run_id: u64,
) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_default();
    let mem_kib = read_meminfo_kib("MemTotal:");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let cores = thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let commit = first_line(Command::new("git").current_dir(root).args(["rev-parse", "--short", "HEAD"]), false);
    let dirty = !first_line(Command::new("git").current_dir(root).args(["status", "--porcelain"]), false).is_empty();
    json!({
        "kind": "meta",
        "run_id": run_id,
        "date": utc_date(run_id),
        "commit": match (commit.is_empty(), dirty) {
            (true, _) => "unknown".to_owned(),
            (false, true) => format!("{commit}+dirty"),
            (false, false) => commit,
        },
        "quick": args.quick,
        "tenancy": args.tenancy,
        "duration_s": settings.duration,
        "warmup_s": settings.warmup,
        "concurrency": args.concurrency,
        "wrk_threads": args.threads,
        "wrk": first_line(Command::new("wrk").arg("-v"), true),
        "rustc": first_line(Command::new("rustc").arg("-V"), false),
        "postgres": reset["server_version"],
        "projects": seeded["projects"],
        "argon2": argon2.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "machine": {
            "cpu": cpu,
            "cores": cores,
            "memory_gib": (mem_kib as f64 / 1_048_576.0 * 10.0).round() / 10.0,
            "kernel": kernel,
        },
    })
}
