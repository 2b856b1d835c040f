//! Process control of the two servers: kwik-server and the raw poem + sqlx baseline, each started
//! on a free loopback port with its output in a log file, waited for until its health check
//! answers, and stopped (SIGTERM, then SIGKILL) when dropped; and the admin login. The Python Kwik
//! peer (`--peer kwik`) is built in `peer.rs` and runs through the same `Running`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::http;
use super::{ADMIN_EMAIL, ADMIN_PASSWORD};

/// The JWT secret both servers share during the run (43 characters, like Kwik's default length).
pub(super) const SECRET_KEY: &str = "kwik-bench-secret-key-0123456789abcdefghijk";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Kwik,
    Baseline,
    /// Python Kwik (`--peer kwik`, see `peer.rs`).
    Peer,
}

impl Server {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Kwik => "kwik",
            Self::Baseline => "baseline",
            Self::Peer => "kwik-py",
        }
    }
}

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
        let mut command = command_without_kwik_env(bin);
        match server {
            Server::Kwik => {
                command.arg("serve").envs(kwik_env.iter().map(|(k, v)| (k, v)));
                command.env("KWIK_DATABASE_URL", db_url).env("KWIK_BACKEND_PORT", port.to_string());
            }
            Server::Baseline => {
                command.arg("serve").args(["--database-url", db_url, "--secret-key", SECRET_KEY]);
                command.args(["--port", &port.to_string()]);
            }
            Server::Peer => return Err("the peer is started by `peer::Peer::start`".to_owned()),
        }
        let health = match server {
            Server::Kwik => "/health/ready",
            Server::Baseline | Server::Peer => "/health",
        };
        Self::spawn(server, command, port, log_dir, health)
    }

    /// Starts `command` (a server that will listen on `port`), its output in `<log_dir>/<name>.log`,
    /// and waits up to a minute until `GET health` answers 200.
    pub(super) fn spawn(
        server: Server,
        mut command: Command,
        port: u16,
        log_dir: &Path,
        health: &str,
    ) -> Result<Self, String> {
        let log_path = log_dir.join(format!("{}.log", server.name()));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let mut running = Self { server, child: Some(child), port };
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

    pub(super) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub(super) fn check_alive(&mut self) -> Result<(), String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            Some(Ok(Some(status))) => Err(format!("{} exited: {status}", self.server.name())),
            Some(Err(e)) => Err(format!("{}: {e}", self.server.name())),
            None => Err(format!("{} is stopped", self.server.name())),
        }
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after 10 s.
    pub(super) fn stop(&mut self) {
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

/// A command for `bin` without the caller's `KWIK_*` environment variables.
pub(super) fn command_without_kwik_env(bin: &Path) -> Command {
    let mut command = Command::new(bin);
    for (key, _) in std::env::vars() {
        if key.starts_with("KWIK_") {
            command.env_remove(key);
        }
    }
    command
}

pub(super) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The credentials of the load runs: the admin's access token, and an API key of the admin's
/// (W9 authenticates with it).
pub(super) struct Credentials {
    pub(super) token: String,
    pub(super) api_key: String,
}

impl Credentials {
    /// Logs in and creates an API key (`POST /api/v1/api-keys/`, which needs the password).
    pub(super) fn obtain(port: u16) -> Result<Self, String> {
        let token = login(port)?;
        let body = format!("{{\"name\":\"bench\",\"password\":\"{ADMIN_PASSWORD}\"}}");
        let headers = [("Authorization", format!("Bearer {token}")), ("Content-Type", "application/json".to_owned())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = http(port, "POST", "/api/v1/api-keys/", &headers, &body)?;
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let api_key = match parsed["key"].as_str() {
            Some(key) if status == 200 => key.to_owned(),
            _ => return Err(format!("API key creation failed: {status} {body}")),
        };
        Ok(Self { token, api_key })
    }

    /// The authentication header of a workload: `X-API-Key` for W9, the bearer token otherwise.
    pub(super) fn header(&self, workload: &str) -> (&'static str, String) {
        if workload == "W9" {
            ("X-API-Key", self.api_key.clone())
        } else {
            ("Authorization", format!("Bearer {}", self.token))
        }
    }
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
