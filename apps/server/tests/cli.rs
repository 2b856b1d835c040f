//! The `kwik-server` binary as a user runs it: start-up on the backend of this run, a real
//! socket, SIGTERM shutdown, and settings errors that stop start-up with a clear message.

#![allow(clippy::expect_used, clippy::zombie_processes)] // a test: failures should panic; children are waited on by the tests.

use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use kwik_http::Module;
use kwik_testing::TestDatabase;
use rstest::rstest;

mod process;

use process::BIN;

/// Starts the server on a free port and returns it with the base URL it logged.
fn start(database_url: &str) -> (Child, String, mpsc::Receiver<String>) {
    start_with(database_url, &[])
}

/// Starts the server with extra environment variables.
fn start_with(database_url: &str, extra: &[(&str, &str)]) -> (Child, String, mpsc::Receiver<String>) {
    let (child, logs) = process::spawn(&[], database_url, extra);
    let base = process::base_url(&logs);
    (child, base, logs)
}

fn terminate(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn serves_over_a_real_socket_and_stops_on_sigterm() {
    let database = TestDatabase::new().await;
    let (mut child, base, logs) = start(database.url());
    let http = reqwest::Client::new();

    let ready = http.get(format!("{base}/health/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.expect("json")["database"], "ok");

    let docs = http.get(format!("{base}/docs")).send().await.expect("docs");
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.expect("html").contains("swagger"));

    let spec = http.get(format!("{base}/api/v1/openapi.json")).send().await.expect("spec");
    assert_eq!(spec.status(), 200);
    let spec: serde_json::Value = spec.json().await.expect("spec json");
    assert_eq!(spec["openapi"], "3.0.0");

    let missing = http.get(format!("{base}/api/v1/nowhere")).send().await.expect("404");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<serde_json::Value>().await.expect("json")["detail"], "Not Found");

    terminate(&child);
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("wait");
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    let rest: Vec<String> = logs.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("SIGTERM received")), "{rest:?}");
    assert!(http.get(format!("{base}/health/live")).send().await.is_err(), "no longer listening");
}

/// What `migrate` leaves in a database, one line per fact: applied migrations per set, row
/// counts, the permissions, the admin role's grants and members, the superuser's row.
async fn prepared_state(db: &kwik_core::Db) -> Vec<String> {
    use kwik_core::Queries;
    use sea_query::{Expr, ExprTrait, Query};
    let mut db = db.clone();
    let mut facts = Vec::new();
    for set in ["rbac", "projects", "customers", "orders"] {
        let applied = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(format!("_kwik_migrations_{set}"))
            .and_where(Expr::col("success").eq(true))
            .to_owned();
        facts.push(format!("migrations {set}: {}", db.fetch_i64(&applied).await.expect("migrations table")));
    }
    for table in [
        "users",
        "roles",
        "permissions",
        "roles_permissions",
        "users_roles",
        "projects",
        "customers",
        "products",
        "orders",
        "order_lines",
    ] {
        let rows = Query::select().expr(Expr::cust("COUNT(*)")).from(table).to_owned();
        facts.push(format!("rows {table}: {}", db.fetch_i64(&rows).await.expect("table exists")));
    }
    let names = Query::select().column("name").from("permissions").order_by("name", sea_query::Order::Asc).to_owned();
    let names: Vec<(String,)> = db.fetch_all(&names).await.expect("permissions");
    facts.extend(names.into_iter().map(|(name,)| format!("permission {name}")));
    let admin_grants = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from("roles_permissions")
        .inner_join("roles", Expr::col(("roles", "id")).equals(("roles_permissions", "role_id")))
        .and_where(Expr::col(("roles", "name")).eq("admin"))
        .to_owned();
    facts.push(format!("admin grants: {}", db.fetch_i64(&admin_grants).await.expect("grants")));
    let superuser = Query::select()
        .columns([("users", "email"), ("users", "hashed_password"), ("roles", "name")])
        .expr(Expr::col(("users", "is_active")))
        .from("users")
        .inner_join("users_roles", Expr::col(("users_roles", "user_id")).equals(("users", "id")))
        .inner_join("roles", Expr::col(("roles", "id")).equals(("users_roles", "role_id")))
        .to_owned();
    let members: Vec<(String, String, String, bool)> = db.fetch_all(&superuser).await.expect("members");
    facts.extend(
        members.into_iter().map(|(email, hash, role, active)| format!("member {email} {role} {active} {hash}")),
    );
    facts
}

/// How many migration files a set has for this run's backend.
fn migration_files(dir: &str) -> usize {
    let backend = match kwik_testing::backend() {
        kwik_core::Backend::Sqlite => "sqlite",
        kwik_core::Backend::Postgres => "postgres",
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir).join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter(|entry| entry.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql")))
        .count()
}

#[tokio::test]
async fn migrate_command_prepares_the_database() {
    let database = TestDatabase::new().await;
    let migrate =
        || Command::new(BIN).env_clear().env("KWIK_DATABASE_URL", database.url()).arg("migrate").output().expect("run");
    let output = migrate();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let db = database.connect().await;
    let state = prepared_state(&db).await;

    // Every migration of every set applied, nothing else written but the bootstrap.
    let expected_migrations = [
        format!("migrations rbac: {}", migration_files("crates/kwik-rbac/migrations")),
        format!("migrations projects: {}", migration_files("migrations/projects")),
        format!("migrations customers: {}", migration_files("migrations/customers")),
        format!("migrations orders: {}", migration_files("migrations/orders")),
    ];
    assert_eq!(state[..4], expected_migrations, "{state:#?}");
    for empty in [
        "rows projects: 0",
        "rows customers: 0",
        "rows products: 0",
        "rows orders: 0",
        "rows order_lines: 0",
        "rows users: 1",
        "rows roles: 1",
        "rows users_roles: 1",
    ] {
        assert!(state.iter().any(|fact| fact == empty), "{empty}: {state:#?}");
    }
    // The built-in permissions and the modules', all granted to the admin role.
    let mut expected: Vec<String> = kwik_rbac::bootstrap::BUILTIN_PERMISSIONS
        .iter()
        .chain(kwik_http::builtin::Builtin.permissions())
        .chain(kwik_server::projects::Projects.permissions())
        .chain(kwik_server::customers::Customers.permissions())
        .chain(kwik_server::orders::Orders.permissions())
        .map(|name| format!("permission {name}"))
        .collect();
    expected.sort();
    expected.dedup();
    let permissions: Vec<&String> = state.iter().filter(|fact| fact.starts_with("permission ")).collect();
    assert_eq!(permissions, expected.iter().collect::<Vec<_>>());
    assert!(state.contains(&format!("rows permissions: {}", expected.len())), "{state:#?}");
    assert!(state.contains(&format!("admin grants: {}", expected.len())), "{state:#?}");
    // The development superuser, active, in the admin role, with an argon2id hash.
    let member = state.iter().find(|fact| fact.starts_with("member ")).expect("a member");
    assert!(member.starts_with("member admin@example.com admin true $argon2id$"), "{member}");

    // Twice is fine: migrations and bootstrap are idempotent, and change nothing the second time.
    let again = migrate();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(prepared_state(&db).await, state);
    db.close().await;
}

/// `prune-audit-log` deletes the entries older than `KWIK_AUDIT_LOG_RETENTION_DAYS`, and none
/// without the setting.
#[tokio::test]
async fn prune_audit_log_keeps_what_the_retention_setting_says() {
    use kwik_core::Queries;
    use sea_query::{Expr, ExprTrait, Query};
    let database = TestDatabase::new().await;
    let run = |vars: &[(&str, &str)]| {
        Command::new(BIN)
            .env_clear()
            .env("KWIK_DATABASE_URL", database.url())
            .envs(vars.iter().copied())
            .arg("prune-audit-log")
            .output()
            .expect("run")
    };
    let output =
        Command::new(BIN).env_clear().env("KWIK_DATABASE_URL", database.url()).arg("migrate").output().expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut db = database.connect().await;
    let now = kwik_core::now();
    for (action, age_days) in [("old", 40), ("recent", 20), ("today", 0)] {
        let mut insert =
            Query::insert().into_table("audit_log").columns(["created_at", "action", "resource", "changes"]).to_owned();
        let changes = match db.backend() {
            kwik_core::Backend::Postgres => sea_query::Value::Json(Some(Box::new(serde_json::json!({})))),
            kwik_core::Backend::Sqlite => sea_query::Value::from("{}"),
        };
        insert
            .values([
                Expr::val(now - chrono::Duration::days(age_days)),
                Expr::val(action),
                Expr::val("prune_test"),
                Expr::val(changes),
            ])
            .unwrap();
        db.execute(&insert).await.expect("insert entry");
    }
    let remaining = |db: kwik_core::Db| async move {
        let query = Query::select()
            .column("action")
            .from("audit_log")
            .and_where(Expr::col("resource").eq("prune_test"))
            .order_by("id", sea_query::Order::Asc)
            .to_owned();
        let rows: Vec<(String,)> = db.clone().fetch_all(&query).await.expect("entries");
        rows.into_iter().map(|(action,)| action).collect::<Vec<_>>()
    };

    let output = run(&[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(remaining(db.clone()).await, ["old", "recent", "today"], "unset: kept forever");
    let output = run(&[("KWIK_AUDIT_LOG_RETENTION_DAYS", "30")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(remaining(db.clone()).await, ["recent", "today"]);
    let output = run(&[("KWIK_AUDIT_LOG_RETENTION_DAYS", "-1")]);
    assert_eq!(output.status.code(), Some(2), "a bad setting is refused");
    db.close().await;
}

#[test]
fn openapi_command_prints_the_spec() {
    let output = Command::new(BIN).env_clear().arg("openapi").output().expect("run openapi");
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(spec["info"]["title"], "kwik");
}

#[rstest::rstest]
#[case(&[("KWIK_BACKEND_PORT", "eighty")], "KWIK_BACKEND_PORT: 'eighty' is not valid")]
#[case(&[("KWIK_APP_ENV", "production")], "KWIK_SECRET_KEY: missing")]
#[case(&[("KWIK_APP_ENV", "production"), ("KWIK_SECRET_KEY", "0123456789abcdef0123456789abcdef")], "KWIK_FIRST_SUPERUSER_PASSWORD")]
#[case(&[("KWIK_DATABASE_URL", "mysql://x")], "KWIK_DATABASE_URL: unsupported scheme 'mysql'")]
#[case(&[("KWIK_SETTINGS_FILE", "/nonexistent/kwik.toml")], "cannot read settings")]
#[case(&[("KWIK_RATE_LIMIT_STORAGE", "memcached")], "KWIK_RATE_LIMIT_STORAGE: 'memcached' is not valid")]
#[case(&[("KWIK_SMTP_HOST", "smtp.example.com")], "KWIK_EMAILS_FROM_EMAIL: required with KWIK_SMTP_HOST")]
#[case(&[("KWIK_SMTP_TLS", "maybe")], "KWIK_SMTP_TLS: 'maybe' is not valid; expected starttls, tls or none")]
#[case(&[("KWIK_FRONTEND_RESET_URL", "app.example.com/reset")], "KWIK_FRONTEND_RESET_URL: expected an http:// or https:// URL")]
#[case(&[("KWIK_JOBS_CONCURRENCY", "0")], "KWIK_JOBS_CONCURRENCY: '0' is not valid")]
fn invalid_settings_stop_startup_with_a_message(#[case] vars: &[(&str, &str)], #[case] expected: &str) {
    let output = Command::new(BIN).env_clear().envs(vars.iter().copied()).output().expect("run");
    assert_eq!(output.status.code(), Some(2), "exit code 2 for bad settings");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(expected), "{stderr}");
}

#[tokio::test]
async fn unreachable_database_fails_startup() {
    let output = Command::new(BIN)
        .env_clear()
        .env("KWIK_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .env("KWIK_POSTGRES_POOL_TIMEOUT", "1")
        .output()
        .expect("run");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open the database"));
}

/// Where the rate-limit counters of the two instances live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counters {
    /// `KWIK_RATE_LIMIT_STORAGE=memory` (the default): each process counts on its own.
    PerProcess,
    /// `KWIK_RATE_LIMIT_STORAGE=redis`: one count for both.
    Redis,
}

/// Two server processes on one database with one signing key: a token from one works on the
/// other, a revocation made through one (password change) holds on the other within the
/// principal cache's bound, and —
/// with Redis — the authentication rate limit is one limit for both. The same run with
/// in-memory counters shows what Redis changes: there each process allows its own quota.
#[rstest]
#[case::in_memory(Counters::PerProcess)]
#[case::in_redis(Counters::Redis)]
#[tokio::test]
async fn two_instances_share_tokens_revocations_and_rate_limits(#[case] counters: Counters) {
    let redis = match counters {
        Counters::PerProcess => Vec::new(),
        Counters::Redis => {
            let Some(redis) = kwik_testing::redis_rate_limit_settings() else {
                kwik_testing::skip_missing("KWIK_TEST_REDIS_URL is not set");
                return;
            };
            redis
        }
    };
    let database = TestDatabase::new().await;
    let mut env = vec![
        ("KWIK_SECRET_KEY", "two-instances-shared-secret-0123456789"),
        ("KWIK_FIRST_SUPERUSER_PASSWORD", "first-admin-password"),
        ("KWIK_ARGON2_MEMORY_KIB", "64"),
        ("KWIK_ARGON2_ITERATIONS", "1"),
        ("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "6"),
    ];
    env.extend(redis.iter().map(|(k, v)| (*k, v.as_str())));
    // Start one first so that migrations and the bootstrap have run before the second starts.
    let (mut a, base_a, _logs_a) = start_with(database.url(), &env);
    let (mut b, base_b, _logs_b) = start_with(database.url(), &env);
    let http = reqwest::Client::new();

    let attempt = |base: String, password: &'static str| {
        let http = http.clone();
        async move {
            let form = format!("username=admin%40example.com&password={password}");
            http.post(format!("{base}/api/v1/login/access-token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .expect("login attempt")
        }
    };
    let login = |base: String, password: &'static str| async move {
        let response = attempt(base, password).await;
        assert_eq!(response.status(), 200);
        response.json::<serde_json::Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned()
    };
    let me = |base: &str, token: &str| http.get(format!("{base}/api/v1/users/me")).bearer_auth(token).send();

    let token = login(base_a.clone(), "first-admin-password").await;
    assert_eq!(me(&base_b, &token).await.expect("me on b").status(), 200, "a token from A works on B");

    let change = http
        .put(format!("{base_a}/api/v1/users/me/password"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"old_password": "first-admin-password", "new_password": "second-admin-password"}))
        .send()
        .await
        .expect("change password on A");
    assert_eq!(change.status(), 200);
    // B serves principals from its cache: it learns of the change through the database (a
    // notification on PostgreSQL, the change counter on SQLite, read every 250 ms) — within the
    // bound docs/principal-cache.md states (one check interval, 250 ms; allowed: 1 s).
    let changed_at = std::time::Instant::now();
    let revoked = loop {
        let answer = me(&base_b, &token).await.expect("me on b");
        if answer.status() != 200 {
            break answer;
        }
        assert!(changed_at.elapsed() < std::time::Duration::from_secs(1), "B still accepts the revoked token");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(revoked.status(), 400, "revoked through A, refused by B");
    assert_eq!(revoked.json::<serde_json::Value>().await.expect("json")["detail"], "Invalid token");

    let fresh = login(base_b.clone(), "second-admin-password").await;
    assert_eq!(me(&base_a, &fresh).await.expect("me on a").status(), 200, "a token from B works on A");

    // Both logins and the password change (it checks the old password) were authentication
    // attempts (limit: 6 a minute per client and per account): two through A, one through B.
    // Three more failed ones: six in all, three per process.
    for (i, base) in [&base_b, &base_a, &base_b].into_iter().enumerate() {
        let failed = attempt(base.clone(), "wrong-password").await;
        assert_eq!(failed.status(), 401, "failed attempt {} is answered", i + 4);
    }
    // The seventh attempt: over the shared limit on either instance, or under each process's own.
    for (name, base) in [("A", &base_a), ("B", &base_b)] {
        let seventh = attempt(base.clone(), "second-admin-password").await;
        match counters {
            Counters::Redis => {
                assert_eq!(seventh.status(), 429, "instance {name} counts the attempts made through the other");
                let retry_after: u64 = seventh
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .expect("a Retry-After in seconds");
                assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
                let body = seventh.json::<serde_json::Value>().await.expect("json");
                assert_eq!(body["code"], "too_many_requests");
            }
            Counters::PerProcess => {
                assert_eq!(seventh.status(), 200, "instance {name} has seen only its own attempts");
            }
        }
    }

    terminate(&a);
    terminate(&b);
    let (status_a, status_b) = tokio::task::spawn_blocking(move || (a.wait(), b.wait())).await.expect("join");
    assert!(status_a.expect("wait a").success() && status_b.expect("wait b").success());
}

/// Sends one raw HTTP/1.1 request over a socket (no client-side URI length limit) and returns
/// the status code.
fn raw_status(base: &str, path_and_query: &str, token: &str) -> u16 {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    // The server may answer and close before reading everything.
    let _ = stream.write_all(request.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
    head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_list_conditions_get_a_4xx_and_the_server_keeps_answering() {
    let database = TestDatabase::new().await;
    let (mut child, base, _logs) = start(database.url());
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{base}/api/v1/login/access-token"))
        .form(&[("username", "admin@example.com"), ("password", "admin")])
        .send()
        .await
        .expect("login");
    let token =
        login.json::<serde_json::Value>().await.expect("json")["access_token"].as_str().expect("token").to_owned();

    for n in [10_000, 2_000, 900] {
        let query = vec!["filter=name:eq:x"; n].join("&");
        let status = tokio::task::block_in_place(|| raw_status(&base, &format!("/api/v1/projects/?{query}"), &token));
        assert!((400..500).contains(&status), "{n} conditions: {status}");
        let status = tokio::task::block_in_place(|| raw_status(&base, &format!("/api/v1/users/?{query}"), &token));
        assert!((400..500).contains(&status), "{n} conditions on /users/: {status}");
    }
    let ready = http.get(format!("{base}/health/ready")).send().await.expect("still answering");
    assert_eq!(ready.status(), 200);
    assert!(child.try_wait().expect("status").is_none(), "the server is still running");
    terminate(&child);
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}
