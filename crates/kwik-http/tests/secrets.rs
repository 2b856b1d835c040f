//! No secret — password, password hash, access/refresh/reset token, API key, signing key — ever
//! appears in a log line, whatever the log level, through a whole account life cycle.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::{TestApp, json_of};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs_at_trace_level() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Production-like: KWIK_DEBUG=false, so the default reset sender must not log the token.
    let app = TestApp::with_settings(&[("KWIK_DEBUG", "false")], |state| App::new(state).module(Builtin)).await;
    let admin = app.as_admin().await;
    let password = "first-Secret-pass-123";
    let created = admin
        .post("/users/")
        .body_json(&json!({"name": "Sam", "surname": "Secret", "email": "sam@example.com", "password": password}))
        .send()
        .await;
    let user_id = json_of(created).await["id"].as_i64().unwrap();

    let login = app
        .anonymous()
        .post("/login/access-token")
        .content_type("application/x-www-form-urlencoded")
        .body(format!("username=sam%40example.com&password={password}"))
        .send()
        .await;
    let tokens = json_of(login).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let wrong = app
        .anonymous()
        .post("/login/access-token")
        .content_type("application/x-www-form-urlencoded")
        .body("username=sam%40example.com&password=wrong-Secret-guess-1")
        .send()
        .await;
    assert_eq!(wrong.0.status(), 401);

    let refreshed =
        json_of(app.anonymous().post("/login/refresh").body_json(&json!({"refresh_token": refresh})).send().await)
            .await;
    let refresh2 = refreshed["refresh_token"].as_str().unwrap().to_owned();

    let me = app.with_token(&access);
    let key = json_of(me.post("/api-keys/").body_json(&json!({"name": "ci", "password": password})).send().await).await;
    let api_key = key["key"].as_str().unwrap().to_owned();
    app.with_api_key(&api_key).get("/users/me").send().await.assert_status_is_ok();

    let new_password = "second-Secret-pass-456";
    me.put("/users/me/password")
        .body_json(&json!({"old_password": password, "new_password": new_password}))
        .send()
        .await
        .assert_status_is_ok();
    let weak = admin
        .post("/users/")
        .body_json(&json!({"name": "W", "surname": "W", "email": "w@example.com", "password": "weak-pw"}))
        .send()
        .await;
    assert_eq!(weak.0.status(), 422);

    app.anonymous()
        .post("/login/password-recovery")
        .body_json(&json!({"email": "sam@example.com"}))
        .send()
        .await
        .assert_status_is_ok();
    let stored = kwik_rbac::users::get(&mut app.state().db.clone(), user_id).await.unwrap().unwrap();
    let reset = app
        .state()
        .jwt
        .encode(&kwik_auth::Claims::reset(
            user_id,
            stored.token_version,
            chrono::Duration::hours(1),
            kwik_auth::password_fingerprint(&stored.hashed_password),
        ))
        .unwrap();
    app.anonymous()
        .post("/login/reset-password")
        .body_json(&json!({"token": reset, "password": "third-Secret-pass-789"}))
        .send()
        .await
        .assert_status_is_ok();
    // Give the background reset sender a moment to run (it runs on this runtime).
    tokio::task::yield_now().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("access"), "the capture works: {logs}");
    let secrets = [
        password,
        new_password,
        "third-Secret-pass-789",
        "wrong-Secret-guess-1",
        "weak-pw",
        &access,
        &refresh,
        &refresh2,
        &api_key,
        &reset,
        &stored.hashed_password,
        app.state().settings.secret_key.expose(),
    ];
    assert!(!logs.contains("reset_token"), "the recovery token was logged");
    assert!(logs.contains("no ResetTokenSender is configured"), "the recovery ran and said why it dropped the token");
    for secret in secrets {
        assert!(!logs.contains(secret), "a secret reached the logs: {}…", &secret[..secret.len().min(12)]);
    }
}
