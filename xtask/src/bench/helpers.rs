//! Helpers: the target directory, database URLs, helper commands printing JSON, files, dates, and
//! the run's description (machine, versions, settings).

use std::io::Write as _;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::usage::read_meminfo_kib;
use super::{BenchArgs, Settings};

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// `scheme://authority/<name>?query` with the database name replaced.
pub(super) fn with_database(url: &str, name: &str) -> Result<String, String> {
    let scheme_end = url.find("://").ok_or_else(|| format!("not a URL: {}", crate::redact(url)))? + 3;
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |q| &tail[q..]);
    Ok(format!("{head}{authority}/{name}{query}"))
}

pub(super) fn db_host_port(url: &str) -> Result<SocketAddr, String> {
    let authority = url.split("://").nth(1).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default().split(['/', '?']).next().unwrap_or_default();
    let target = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    target.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| format!("cannot resolve {target}"))
}

/// The URL through the proxy on 127.0.0.1:`port`, without TLS (the proxy reads the protocol).
pub(super) fn proxied_url(url: &str, port: u16) -> Result<String, String> {
    let scheme_end = url.find("://").ok_or("not a URL")? + 3;
    let (head, rest) = url.split_at(scheme_end);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let userinfo = authority.rfind('@').map_or("", |at| &authority[..=at]);
    let separator = if tail.contains('?') { '&' } else { '?' };
    Ok(format!("{head}{userinfo}127.0.0.1:{port}{tail}{separator}sslmode=disable"))
}

/// Runs a helper that prints one JSON object on stdout.
pub(super) fn run_json(command: &mut Command) -> Result<Value, String> {
    let output = command.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).map_err(|e| format!("{command:?} printed {stdout}: {e}"))
}

pub(super) fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub(super) fn append(path: &Path, text: &str) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append to {}: {e}", path.display()))
}

pub(super) fn unix_now() -> u64 {
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

pub(super) fn machine_meta(
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
