//! Shared rate limits when Redis goes away: the server keeps its counters in a private Redis
//! that the test starts, stops and restarts. While Redis is down, requests are answered as if
//! there were no limit (fail open; never a 500, never slow); once Redis is back, counting
//! resumes by itself. Also: a server that starts while Redis is down.
//!
//! Runs when `KWIK_TEST_REDIS_URL` is set (as `cargo xtask test` does) and `redis-server` is
//! installed; otherwise it is recorded as skipped (`kwik_testing::skip_missing`), a failure when
//! `CI` is set.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::TestApp;

/// A redis-server of the test's own on a free port, nothing kept on disk.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self { port, child: None }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn start(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redis_server_installed() -> bool {
    Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// One request; its status and how long it took.
async fn probe(app: &TestApp) -> (u16, Duration) {
    let start = Instant::now();
    let response = app.raw().get("/health/live").send().await;
    (response.0.status().as_u16(), start.elapsed())
}

/// Six requests, each a quick 200: nothing is counted.
async fn unlimited(app: &TestApp, when: &str) {
    for i in 0..6 {
        let (status, took) = probe(app).await;
        assert_eq!(status, 200, "request {i} {when}");
        assert!(took < Duration::from_secs(2), "request {i} {when} took {took:?}");
    }
}

/// Sends requests until one is refused (429), for at most `within`; every other answer must be
/// a quick 200.
async fn until_limited(app: &TestApp, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let (status, took) = probe(app).await;
        match status {
            429 => return true,
            200 => assert!(took < Duration::from_secs(2), "a request took {took:?}"),
            other => panic!("unexpected status {other}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn requests_are_served_while_redis_is_down_and_counted_again_when_it_is_back() {
    if std::env::var_os(kwik_testing::TEST_REDIS_URL).is_none() {
        kwik_testing::skip_missing("KWIK_TEST_REDIS_URL is not set");
        return;
    }
    if !redis_server_installed() {
        kwik_testing::skip_missing("redis-server is not installed");
        return;
    }
    let mut redis = PrivateRedis::new();
    let url = redis.url();
    let app = TestApp::with_settings(
        &[
            ("KWIK_RATE_LIMIT_ENABLED", "true"),
            ("KWIK_RATE_LIMIT_STORAGE", "redis"),
            ("KWIK_REDIS_URL", &url),
            ("KWIK_RATE_LIMIT_PER_MINUTE", "3"),
        ],
        |state| App::new(state).module(Builtin),
    )
    .await;

    // Redis is not running yet: the server answers, unlimited, and fast.
    unlimited(&app, "with Redis not started").await;

    // Redis starts: the server connects by itself and counts (3 a minute, then 429).
    redis.start();
    assert!(until_limited(&app, Duration::from_secs(20)).await, "never limited after Redis started");
    let (status, _) = probe(&app).await;
    assert_eq!(status, 429, "still limited");

    // Redis goes away: requests are answered again, none fails or hangs.
    redis.stop();
    unlimited(&app, "while Redis is down").await;

    // Redis is back (empty, like a restarted cache): counting resumes without a restart.
    redis.start();
    assert!(until_limited(&app, Duration::from_secs(20)).await, "never limited after Redis came back");
}
