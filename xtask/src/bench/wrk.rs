//! The wrk runs: a Lua script per workload and server (random ids, unique names for creations, and
//! a `done` hook printing the run's numbers as one JSON line), the run itself, and its record.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::helpers::write;
use super::http::http;
use super::servers::{Credentials, Server};
use super::usage::{Usage, Watch};
use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Workload};

pub(super) struct LoadRun<'a> {
    pub(super) workload: &'a Workload,
    pub(super) server: Server,
    pub(super) concurrency: u32,
    pub(super) threads: u32,
    pub(super) min_id: i64,
    pub(super) max_id: i64,
    /// The seeded customers' ids (W7).
    pub(super) customers: (i64, i64),
}

/// The lowest and highest customer id (through the API, as the admin: with `--tenancy` the
/// seeded customers are the default tenant's, which is the admin's).
pub(super) fn customer_ids(port: u16, token: &str) -> Result<(i64, i64), String> {
    id_range(port, token, "customers")
}

/// The lowest and highest id of a resource's rows, through its list endpoint.
pub(super) fn id_range(port: u16, token: &str, resource: &str) -> Result<(i64, i64), String> {
    let auth = format!("Bearer {token}");
    let mut ends = [0_i64; 2];
    for (end, order) in ends.iter_mut().zip(["asc", "desc"]) {
        let path = format!("/api/v1/{resource}/?limit=1&sorting=id:{order}");
        let (status, body) = http(port, "GET", &path, &[("Authorization", &auth)], "")?;
        let page: Value = serde_json::from_str(&body).map_err(|e| format!("{resource} page: {e}: {body}"))?;
        *end =
            page["data"][0]["id"].as_i64().filter(|_| status == 200).ok_or_else(|| format!("no {resource}: {body}"))?;
    }
    Ok((ends[0], ends[1]))
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
    pub(super) fn script(&self, dir: &Path) -> Result<PathBuf, String> {
        let mut lua = String::from(THREADS_LUA);
        match self.workload.id {
            "W1" => {
                let body = format!("username={}&password={ADMIN_PASSWORD}", ADMIN_EMAIL.replace('@', "%40"));
                let _ = write!(
                    lua,
                    "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\nwrk.body = \"{body}\"\n"
                );
            }
            "W4" | "W9" => {
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
            "W4" | "W9" => "/api/v1/projects/1",
            "W7" => "/api/v1/customers/1",
            _ => self.workload.path,
        }
    }

    pub(super) fn wrk(
        &self,
        port: u16,
        credentials: &Credentials,
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
            let (name, value) = credentials.header(self.workload.id);
            command.args(["-H", &format!("{name}: {value}")]);
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

    pub(super) fn record(&self, s: &Value, usage: &Usage, background: f64, run_id: u64) -> Value {
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
