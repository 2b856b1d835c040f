//! Running the `kwik-server` binary as a user does, for the tests that need a real process:
//! a clean environment, a free port, and its log lines on a channel.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kwik-server");

/// Runs `kwik-server <args>` on `database_url` with only `KWIK_*` settings (a free port, `info`
/// logs) plus `extra` (which may override them); its stderr lines arrive on the receiver.
///
/// # Panics
/// When the binary cannot be started.
pub fn spawn(args: &[&str], database_url: &str, extra: &[(&str, &str)]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_clear()
        .env("KWIK_DATABASE_URL", database_url)
        .env("KWIK_BACKEND_PORT", "0")
        .env("KWIK_LOG_LEVEL", "info")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn kwik-server: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("stderr is piped"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits up to a minute for a log line containing `text`, and returns it.
///
/// # Panics
/// When none comes (the process ended or is stuck).
pub fn wait_for_line(logs: &mpsc::Receiver<String>, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let line = logs
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no log line containing {text:?}"));
        if line.contains(text) {
            return line;
        }
    }
}

/// Waits for the server's "listening on URL" line and returns the URL.
///
/// # Panics
/// As [`wait_for_line`].
pub fn base_url(logs: &mpsc::Receiver<String>) -> String {
    let line = wait_for_line(logs, "listening on ");
    let rest = line.split("listening on ").nth(1).unwrap_or_default();
    rest.split_whitespace().next().unwrap_or_default().to_owned()
}
