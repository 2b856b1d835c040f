//! Database cost per request: a TCP proxy in front of PostgreSQL counting, in the server's replies,
//! CommandComplete ('C', one per statement) and ReadyForQuery ('Z', one per round trip: each Sync,
//! including sqlx's liveness pings: on acquire where the pool tests connections — the baseline's
//! does, kwik-server's does not — and on release).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::helpers::{db_host_port, proxied_url};
use super::http::http;
use super::servers::{Credentials, Running, Server};
use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Settings, Workload};

/// Id ranges the probes draw from.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProbeIds {
    pub(super) projects: (i64, i64),
    pub(super) customers: (i64, i64),
}

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
pub(super) fn probe(
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
    let credentials = Credentials::obtain(kwik.port)?;
    let auth = format!("Bearer {}", credentials.token);
    let (key_header, key) = credentials.header("W9");
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
                    "W9" => http(port, "GET", &format!("/api/v1/projects/{id}"), &[(key_header, &key)], "")?,
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
