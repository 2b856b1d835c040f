//! A real database outage: the server runs on a private PostgreSQL instance that the test starts
//! with `initdb`/`pg_ctl`, stops mid-run and restarts. While it is down, requests fail fast with
//! 503 JSON and `/health/ready` says not ready; when it is back, service resumes by itself.
//!
//! Runs in the PostgreSQL half of `cargo xtask test` (it needs PostgreSQL's server binaries and
//! root, to run them as the `postgres` user).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, json_of, test_settings};
use poem::test::TestClient;

struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn start() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(format!("kwik-outage-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).ok()?;
        run("chown", &["postgres:postgres", dir.to_str()?]);
        let pg = Self { bin, dir, port };
        pg.as_postgres("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.ctl("start");
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn as_postgres(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut all = vec!["-u", "postgres", "--", program.to_str().unwrap()];
        all.extend_from_slice(args);
        run("runuser", &all);
    }

    fn ctl(&self, action: &str) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let log = self.dir.join("log").display().to_string();
        match action {
            "start" => self.as_postgres("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"]),
            _ => self.as_postgres("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]),
        }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn requests_fail_fast_while_the_database_is_down_and_recover_without_restart() {
    if kwik_testing::backend() == kwik_core::Backend::Sqlite {
        kwik_testing::skip("runs in the PostgreSQL half (KWIK_TEST_DATABASE_URL=postgres://...)");
        return;
    }
    if !Path::new("/usr/sbin/runuser").exists() {
        // CI runs the PostgreSQL half as root with PostgreSQL installed: a failure there.
        kwik_testing::skip_missing("runuser is missing: the outage test needs root and a local PostgreSQL install");
        return;
    }
    let pg = PrivatePostgres::start().expect("private PostgreSQL");
    let settings = test_settings(&pg.url(), &[("KWIK_POSTGRES_POOL_TIMEOUT", "1"), ("KWIK_POSTGRES_POOL_SIZE", "2")]);
    let db = kwik_core::Db::connect(&pg.url(), &settings.database.pool).await.expect("connect");
    let app = App::new(kwik_http::AppState::new(settings, db).unwrap()).module(Builtin);
    app.prepare().await.expect("prepare");
    let client = TestClient::new(app.endpoint());

    let login = client
        .post("/api/v1/login/access-token")
        .content_type("application/x-www-form-urlencoded")
        .body(format!("username={}&password={ADMIN_PASSWORD}", ADMIN_EMAIL.replace('@', "%40")))
        .send()
        .await;
    let token = json_of(login).await["access_token"].as_str().unwrap().to_owned();
    let me = || client.get("/api/v1/users/me").header("Authorization", format!("Bearer {token}"));
    // A request that reads the database beyond authentication (the principal may be answered from
    // the principal cache, which cannot change while the database is down).
    let users = || client.get("/api/v1/users/").header("Authorization", format!("Bearer {token}"));
    me().send().await.assert_status_is_ok();
    users().send().await.assert_status_is_ok();
    client.get("/health/ready").send().await.assert_status_is_ok();

    pg.ctl("stop");
    let started = Instant::now();
    let down = users().send().await;
    let status = down.0.status().as_u16();
    let retry_after = down.0.headers().get("retry-after").is_some();
    let body = json_of(down).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "service_unavailable", "{body}");
    assert!(retry_after, "503 carries Retry-After");
    assert!(started.elapsed() < Duration::from_secs(10), "failed fast, not hanging");
    let ready = client.get("/health/ready").send().await;
    assert_eq!(ready.0.status().as_u16(), 503);
    assert_eq!(json_of(ready).await["status"], "unavailable");
    client.get("/health/live").send().await.assert_status_is_ok();

    pg.ctl("start");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if client.get("/health/ready").send().await.0.status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "readiness never came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Pool pings are off (one round trip less per statement), so each pooled connection that
    // predates the restart fails its next statement once and is dropped: with a pool of 2, a
    // request may meet at most 2 of them before a fresh connection answers.
    for path in ["/api/v1/users/me", "/api/v1/users/"] {
        let mut failures = Vec::new();
        loop {
            let back = client.get(path).header("Authorization", format!("Bearer {token}")).send().await;
            let status = back.0.status().as_u16();
            if status == 200 {
                break;
            }
            failures.push(json_of(back).await);
            assert!(failures.len() <= 2, "no recovery after the restart: {failures:?}");
        }
    }
}
