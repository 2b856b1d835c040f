//! Password recovery by email over real SMTP: a `kwik-server serve` process and an aiosmtpd
//! server started by the test (Python, `KWIK_TEST_PYTHON` or `python3`). The email carries a
//! working reset link; the token never reaches a log; with the SMTP server down the request
//! still answers at once, and the email arrives once the server is back.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::zombie_processes)] // a test; children are killed and waited on.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kwik::jobs::admin::{self, JobFilter, JobState};
use kwik_testing::{TestDatabase, eventually};

mod process;

const RESET_URL: &str = "https://app.example.com/reset";

/// The Python that has aiosmtpd, if any.
fn python() -> Option<String> {
    let candidate = std::env::var("KWIK_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let works = Command::new(&candidate).args(["-c", "import aiosmtpd"]).output().is_ok_and(|o| o.status.success());
    works.then_some(candidate)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An aiosmtpd server writing each message to a maildir.
struct Smtp {
    child: Child,
}

impl Smtp {
    fn start(python: &str, port: u16, maildir: &Path) -> Self {
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The messages delivered so far, quoted-printable soft breaks and `=3D` undone.
fn messages(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return Vec::new() };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|raw| raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

fn reset_token(message: &str) -> String {
    let start = message.find(&format!("{RESET_URL}?token=")).expect("the link") + RESET_URL.len() + "?token=".len();
    message[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).collect()
}

fn serve(database_url: &str, smtp_port: u16) -> (Child, String, mpsc::Receiver<String>) {
    let port = smtp_port.to_string();
    let env = [
        ("KWIK_LOG_LEVEL", "debug"),
        ("KWIK_FIRST_SUPERUSER_PASSWORD", "first-admin-password"),
        ("KWIK_ARGON2_MEMORY_KIB", "64"),
        ("KWIK_ARGON2_ITERATIONS", "1"),
        ("KWIK_JOBS_POLL_MS", "50"),
        ("KWIK_SMTP_HOST", "127.0.0.1"),
        ("KWIK_SMTP_PORT", port.as_str()),
        ("KWIK_SMTP_TLS", "none"),
        ("KWIK_SMTP_TIMEOUT", "2"),
        ("KWIK_EMAILS_FROM_EMAIL", "noreply@example.com"),
        ("KWIK_FRONTEND_RESET_URL", RESET_URL),
    ];
    let (child, logs) = process::spawn(&["serve"], database_url, &env);
    let base = process::base_url(&logs);
    (child, base, logs)
}

async fn recover(http: &reqwest::Client, base: &str, email: &str) -> Duration {
    let started = Instant::now();
    let response = http
        .post(format!("{base}/api/v1/login/password-recovery"))
        .json(&serde_json::json!({"email": email}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 200);
    took
}

#[tokio::test(flavor = "multi_thread")]
async fn password_recovery_delivers_a_working_reset_link_by_smtp_even_after_an_outage() {
    let Some(python) = python() else {
        kwik_testing::skip_missing("no Python with aiosmtpd (KWIK_TEST_PYTHON)");
        return;
    };
    let database = TestDatabase::new().await;
    let port = free_port();
    let maildir: PathBuf = std::env::temp_dir().join(format!("kwik-maildir-{}-{port}", std::process::id()));
    let smtp = Smtp::start(&python, port, &maildir);
    let (mut server, base, logs) = serve(database.url(), port);
    let http = reqwest::Client::new();

    recover(&http, &base, "admin@example.com").await;
    assert!(eventually(Duration::from_secs(20), || async { messages(&maildir).len() == 1 }).await, "email delivered");
    let message = messages(&maildir).remove(0);
    assert!(message.contains("To: admin@example.com"), "{message}");
    assert!(message.contains("noreply@example.com"), "{message}");
    assert!(message.contains("text/plain") && message.contains("text/html"), "a text and an HTML part: {message}");
    let token = reset_token(&message);
    assert!(token.len() > 40, "a token in the link: {token}");

    let reset = http
        .post(format!("{base}/api/v1/login/reset-password"))
        .json(&serde_json::json!({"token": token, "password": "a-brand-new-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200, "{}", reset.text().await.unwrap());
    let login = http
        .post(format!("{base}/api/v1/login/access-token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin%40example.com&password=a-brand-new-password")
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the link's token set the new password");
    let admin_token = login.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let created = http
        .post(format!("{base}/api/v1/users/"))
        .bearer_auth(&admin_token)
        .json(&serde_json::json!({"name": "Grace", "surname": "Hopper", "email": "grace@example.com", "password": "grace-password-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    let db = database.connect().await;
    let reset_jobs = JobFilter { state: None, name: Some("password_reset_email".to_owned()) };
    // Asked again at once for the same account: no second email (one per account per five
    // minutes).
    for _ in 0..3 {
        recover(&http, &base, "admin@example.com").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(admin::list(&db, &reset_jobs, 0, 10).await.unwrap().0, 1, "one reset email per window");

    // The mail server goes away: the request still answers at once; the email waits.
    smtp.stop();
    let took = recover(&http, &base, "grace@example.com").await;
    assert!(took < Duration::from_secs(1), "answered at once: {took:?}");
    let retrying = JobFilter { state: Some(JobState::Retrying), name: Some("password_reset_email".to_owned()) };
    assert!(
        eventually(Duration::from_secs(20), || async { admin::list(&db, &retrying, 0, 10).await.unwrap().0 == 1 })
            .await,
        "the email job failed and waits for its retry: {:?}",
        admin::list(&db, &JobFilter::default(), 0, 10).await
    );
    let smtp = Smtp::start(&python, port, &maildir);
    let delivered = eventually(Duration::from_secs(30), || async { messages(&maildir).len() == 2 }).await;
    let log: Vec<String> = logs.try_iter().collect();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
    smtp.stop();
    assert!(
        delivered,
        "delivered after the server came back: {:?}",
        admin::list(&db, &JobFilter::default(), 0, 10).await
    );
    let second = reset_token(&messages(&maildir).into_iter().find(|m| m.contains("To: grace@example.com")).unwrap());
    for line in &log {
        assert!(!line.contains(&token) && !line.contains(&second), "a token reached a log line: {line}");
    }
    let _ = std::fs::remove_dir_all(&maildir);
}
