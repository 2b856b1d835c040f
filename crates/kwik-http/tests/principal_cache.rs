//! The principal cache (issue 16): authenticated requests are served from memory, and every
//! change to what a principal is made of reaches the cache — at once on the instance that made
//! it, within the stated bound when it comes from elsewhere (simulated here by SQL written
//! straight to the database, as another instance, the CLI or an operator would) — and a cache
//! that cannot be invalidated is not used. Each test runs on SQLite and, with
//! `KWIK_TEST_DATABASE_URL`, on PostgreSQL.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failures should panic

use std::time::{Duration, Instant};

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::{Scenario, TestApp, TestUser, json_of};
use rstest::rstest;
use serde_json::json;

/// How long a change made elsewhere may stay unseen with the settings below: on SQLite one check
/// interval (250 ms) plus a read; on PostgreSQL the notification's delivery. The assertion
/// allows four intervals for a loaded machine.
const BOUND: Duration = Duration::from_secs(1);

async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    TestApp::with_settings(settings, |state| App::new(state).module(Builtin)).await
}

async fn wait_until(what: &str, limit: Duration, mut condition: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if condition().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_live(app: &TestApp) {
    let cache = app.state().principals.clone();
    wait_until("the principal cache goes live", Duration::from_secs(10), async || cache.is_live()).await;
}

async fn wait_bypassed(app: &TestApp) {
    let cache = app.state().principals.clone();
    wait_until("the principal cache is bypassed", Duration::from_secs(10), async || !cache.is_live()).await;
}

/// The status of `GET /users/` (needs `user_read`) for this client.
async fn list_users(app: &TestApp, client: &kwik_testing::TestClient<'_>) -> u16 {
    let _ = app;
    client.get("/users/").send().await.0.status().as_u16()
}

async fn status_json(response: poem::test::TestResponse) -> (u16, serde_json::Value) {
    let status = response.0.status().as_u16();
    (status, json_of(response).await)
}

async fn run_sql(app: &TestApp, sql: &str) {
    app.state().db.execute_raw(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn authenticated_requests_are_served_from_memory_once_the_cache_is_live() {
    let app = app_with(&[]).await;
    let world = Scenario::new().role("readers", &["user_read"]).user("alice", &["readers"]).build(&app).await;
    let alice = app.as_user(world.user("alice"));
    wait_live(&app).await;
    let cache = app.state().principals.clone();
    wait_until("the principal is cached", Duration::from_secs(5), async || {
        let hits = cache.stats().hits;
        assert_eq!(list_users(&app, &alice).await, 200);
        cache.stats().hits > hits
    })
    .await;
    let before = app.state().principals.stats();
    for _ in 0..5 {
        assert_eq!(list_users(&app, &alice).await, 200);
    }
    let after = app.state().principals.stats();
    assert_eq!(after.misses, before.misses, "no principal query once cached");
    assert_eq!(after.hits, before.hits + 5);
}

#[tokio::test]
async fn a_size_of_zero_turns_the_cache_off() {
    let app = app_with(&[("KWIK_PRINCIPAL_CACHE_SIZE", "0")]).await;
    let admin = app.as_admin().await;
    for _ in 0..3 {
        admin.get("/users/me").send().await.assert_status_is_ok();
    }
    assert!(!app.state().principals.is_live());
    assert_eq!(app.state().principals.stats().hits, 0);
}

/// What changes, and what the cached caller must then get.
#[derive(Debug, Clone, Copy)]
enum Cause {
    TokenVersion,
    Deactivation,
    RoleUnassigned,
    RoleAssigned,
    RoleDeactivated,
    GrantRevoked,
    PermissionRenamed,
    PermissionDeleted,
    ApiKeyRevoked,
    ApiKeyExpired,
    ImpersonatorRevoked,
}

struct Subject {
    alice: TestUser,
    readers: i64,
    writers: i64,
    user_read: i64,
}

async fn subject(app: &TestApp) -> Subject {
    let world = Scenario::new()
        .role("readers", &["user_read"])
        .role("writers", &["role_read"])
        .user("alice", &["readers"])
        .build(app)
        .await;
    Subject {
        alice: world.user("alice").clone(),
        readers: world.role("readers").id,
        writers: world.role("writers").id,
        user_read: world.permission("user_read").id,
    }
}

/// An API key of `user`'s.
async fn api_key(app: &TestApp, user: &TestUser) -> String {
    let body = json!({"name": "cache", "password": user.password});
    let (status, body) = status_json(app.as_user(user).post("/api-keys/").body_json(&body).send().await).await;
    assert_eq!(status, 200, "{body}");
    body["key"].as_str().expect("key").to_owned()
}

/// An impersonation token: the administrator acting as `user`.
async fn impersonation(app: &TestApp, user: &TestUser) -> String {
    let admin = app.as_admin().await;
    let (status, body) = status_json(admin.post(&format!("/login/impersonate?user_id={}", user.id)).send().await).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

/// The request whose answer the change flips, the statement that changes it, and the status
/// after the change.
fn change(cause: Cause, s: &Subject) -> (String, u16) {
    let alice = s.alice.id;
    match cause {
        Cause::TokenVersion => (format!("UPDATE users SET token_version = token_version + 1 WHERE id = {alice}"), 400),
        Cause::Deactivation => (format!("UPDATE users SET is_active = false WHERE id = {alice}"), 400),
        Cause::RoleUnassigned => (format!("DELETE FROM users_roles WHERE user_id = {alice}"), 403),
        Cause::RoleAssigned => {
            let writers = s.writers;
            let sql = format!(
                "INSERT INTO users_roles (user_id, role_id, creation_time) \
                 SELECT {alice}, id, creation_time FROM roles WHERE id = {writers}"
            );
            (sql, 200)
        }
        Cause::RoleDeactivated => (format!("UPDATE roles SET is_active = false WHERE id = {}", s.readers), 403),
        Cause::GrantRevoked => (format!("DELETE FROM roles_permissions WHERE role_id = {}", s.readers), 403),
        Cause::PermissionRenamed => {
            (format!("UPDATE permissions SET name = 'user_read_old' WHERE id = {}", s.user_read), 403)
        }
        Cause::PermissionDeleted => (
            format!(
                "DELETE FROM roles_permissions WHERE permission_id = {0}; DELETE FROM permissions WHERE id = {0}",
                s.user_read
            ),
            403,
        ),
        Cause::ApiKeyRevoked => {
            (format!("UPDATE api_keys SET revoked_at = creation_time WHERE user_id = {alice}"), 400)
        }
        Cause::ApiKeyExpired => {
            (format!("UPDATE api_keys SET expires_at = creation_time WHERE user_id = {alice}"), 400)
        }
        Cause::ImpersonatorRevoked => {
            ("UPDATE users SET token_version = token_version + 1 WHERE email = 'admin@example.com'".to_owned(), 400)
        }
    }
}

/// Each cause, made in the database behind the instance's back: the cached principal answers as
/// before the change until the channel reports it, then the request gets the new answer — within
/// [`BOUND`].
#[rstest]
#[case::token_version(Cause::TokenVersion)]
#[case::deactivation(Cause::Deactivation)]
#[case::role_unassigned(Cause::RoleUnassigned)]
#[case::role_assigned(Cause::RoleAssigned)]
#[case::role_deactivated(Cause::RoleDeactivated)]
#[case::grant_revoked(Cause::GrantRevoked)]
#[case::permission_renamed(Cause::PermissionRenamed)]
#[case::permission_deleted(Cause::PermissionDeleted)]
#[case::api_key_revoked(Cause::ApiKeyRevoked)]
#[case::api_key_expired(Cause::ApiKeyExpired)]
#[case::impersonator_revoked(Cause::ImpersonatorRevoked)]
#[tokio::test]
async fn a_change_made_elsewhere_reaches_the_cache_within_the_bound(#[case] cause: Cause) {
    let app = app_with(&[]).await;
    let s = subject(&app).await;
    let client = match cause {
        Cause::ApiKeyRevoked | Cause::ApiKeyExpired => app.with_api_key(&api_key(&app, &s.alice).await),
        Cause::ImpersonatorRevoked => app.with_token(&impersonation(&app, &s.alice).await),
        _ => app.as_user(&s.alice),
    };
    // `RoleAssigned` gains `role_read`; every other cause loses access to `/users/`.
    let path = if matches!(cause, Cause::RoleAssigned) { "/roles/" } else { "/users/" };
    let status = async || client.get(path).send().await.0.status().as_u16();
    let before = if matches!(cause, Cause::RoleAssigned) { 403 } else { 200 };
    wait_live(&app).await;
    // Served from memory before the change (notifications of the set-up's own writes may still
    // be arriving: wait for them to settle).
    let cache = app.state().principals.clone();
    wait_until("the principal is cached", Duration::from_secs(5), async || {
        let hits = cache.stats().hits;
        assert_eq!(status().await, before);
        cache.stats().hits > hits
    })
    .await;

    let (sql, after) = change(cause, &s);
    run_sql(&app, &sql).await;
    let took = wait_until(&format!("{cause:?} is seen"), BOUND, async || status().await == after).await;
    println!("{cause:?} seen after {took:?}");
}

/// The same causes through the API, on the instance that serves the API: refused by the very
/// next request, whatever the channel (its check interval here is a minute, so only the
/// commit's own invalidation can explain the answer on SQLite).
#[tokio::test]
async fn changes_made_through_this_instance_apply_to_the_next_request() {
    let app = app_with(&[("KWIK_PRINCIPAL_CACHE_CHECK_MS", "60000")]).await;
    let s = subject(&app).await;
    let admin = app.as_admin().await;
    let alice = app.as_user(&s.alice);
    wait_live(&app).await;
    assert_eq!(list_users(&app, &alice).await, 200);
    assert_eq!(list_users(&app, &alice).await, 200);

    // A grant revoked: 403 at once; granted again: 200 at once.
    admin.delete(&format!("/roles/{}/permissions/{}", s.readers, s.user_read)).send().await.assert_status_is_ok();
    assert_eq!(list_users(&app, &alice).await, 403);
    let grant = json!({"permission_id": s.user_read});
    admin.post(&format!("/roles/{}/permissions", s.readers)).body_json(&grant).send().await.assert_status_is_ok();
    assert_eq!(list_users(&app, &alice).await, 200);

    // The role deactivated, then active again.
    let off = json!({"is_active": false});
    admin.put(&format!("/roles/{}", s.readers)).body_json(&off).send().await.assert_status_is_ok();
    assert_eq!(list_users(&app, &alice).await, 403);
    let on = json!({"is_active": true});
    admin.put(&format!("/roles/{}", s.readers)).body_json(&on).send().await.assert_status_is_ok();
    assert_eq!(list_users(&app, &alice).await, 200);

    // An API key revoked.
    let key = api_key(&app, &s.alice).await;
    let keyed = app.with_api_key(&key);
    assert_eq!(list_users(&app, &keyed).await, 200);
    assert_eq!(list_users(&app, &keyed).await, 200);
    let keys = alice.get("/api-keys/").send().await;
    let keys: serde_json::Value = serde_json::from_str(&keys.0.into_body().into_string().await.unwrap()).unwrap();
    let key_id = keys[0]["id"].as_i64().expect("key id");
    alice.delete(&format!("/api-keys/{key_id}")).send().await.assert_status_is_ok();
    assert_eq!(list_users(&app, &keyed).await, 400);

    // The user deactivated: every token refused.
    let deactivate = json!({"is_active": false});
    admin.put(&format!("/users/{}", s.alice.id)).body_json(&deactivate).send().await.assert_status_is_ok();
    assert_ne!(list_users(&app, &alice).await, 200);
}

/// A channel that cannot report changes is not trusted: while it is down every request queries
/// its principal (a change made meanwhile is seen at once), and once it is back, what was cached
/// before is not served.
#[tokio::test]
async fn without_its_channel_the_cache_is_bypassed_and_recovers_by_itself() {
    let app = app_with(&[("KWIK_PRINCIPAL_CACHE_CHECK_MS", "500")]).await;
    let s = subject(&app).await;
    let alice = app.as_user(&s.alice);
    wait_live(&app).await;
    assert_eq!(list_users(&app, &alice).await, 200);

    let postgres = matches!(app.state().db, kwik_core::Db::Postgres(_));
    let break_channel = if postgres {
        // The listening connection dies (an operator's kill, a proxy's idle cut): sqlx reconnects
        // on its own; the first heartbeat on the new connection makes the cache live again.
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'kwik-principal-cache' AND datname = current_database()"
    } else {
        "ALTER TABLE kwik_principal_changes RENAME TO kwik_principal_changes_away"
    };
    run_sql(&app, break_channel).await;
    wait_bypassed(&app).await;

    let misses = app.state().principals.stats().misses;
    // On SQLite the channel stays down until the table is back; on PostgreSQL it may already
    // have recovered, which the statements below must survive too.
    if !postgres {
        assert_eq!(list_users(&app, &alice).await, 200);
        assert_eq!(list_users(&app, &alice).await, 200);
        assert_eq!(app.state().principals.stats().misses, misses + 2, "every request queries while down");
        // A change the (broken) channel cannot report: seen by the very next request.
        run_sql(&app, &format!("UPDATE roles SET name = name WHERE id = {}", s.readers)).await;
        run_sql(&app, &format!("DELETE FROM users_roles WHERE user_id = {}", s.alice.id)).await;
        assert_eq!(list_users(&app, &alice).await, 403);
        run_sql(&app, "ALTER TABLE kwik_principal_changes_away RENAME TO kwik_principal_changes").await;
    }
    wait_live(&app).await;
    let expected = if postgres { 200 } else { 403 };
    assert_eq!(list_users(&app, &alice).await, expected);
    let stats = app.state().principals.stats();
    assert_eq!(list_users(&app, &alice).await, expected);
    assert_eq!(app.state().principals.stats().hits, stats.hits + 1, "served from memory again");
    // And the recovered channel reports changes again.
    run_sql(&app, &format!("UPDATE roles SET is_active = false WHERE id = {}", s.readers)).await;
    wait_until("a change after recovery is seen", BOUND, async || list_users(&app, &alice).await == 403).await;
}
