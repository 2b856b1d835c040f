//! Privilege-escalation paths found by an outside review (issue 11 §3), each replayed as the
//! attacker would over HTTP, on the backend of this run. Every test failed against the code
//! before the fix.

use kwik_http::builtin::API_KEY_PERMISSIONS;
use kwik_rbac::users;
use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, TestClient, TestUser, assert_detail};
use serde_json::{Value, json};

use crate::common::{app, app_with};
use crate::login::{admin_id, reset_token_for, status_json, try_login};
use crate::roles::{admin_role_id, id_of, ok};

async fn permission_id(client: &TestClient<'_>, name: &str) -> i64 {
    let list = ok(client.get(&format!("/permissions/?filter_key=name&value={name}")).send().await).await;
    id_of(&list["data"][0])
}

/// What a start-up does to the database (the bootstrap), without restarting the process.
async fn restart(app: &TestApp) {
    let state = app.state();
    kwik_rbac::bootstrap(&state.db, &state.hasher, ADMIN_EMAIL, ADMIN_PASSWORD, &API_KEY_PERMISSIONS).await.unwrap();
}

async fn my_permissions(client: &TestClient<'_>) -> Vec<String> {
    let body = ok(client.get("/users/me/permissions").send().await).await;
    let mut names: Vec<String> =
        body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

async fn create_key(client: &TestClient<'_>, password: &str) -> (u16, Value) {
    status_json(client.post("/api-keys/").body_json(&json!({"name": "ci", "password": password})).send().await).await
}

#[tokio::test]
async fn renaming_permissions_cannot_hand_out_impersonation() {
    let app = app().await;
    let world = Scenario::new()
        .permission("report_read")
        .role("clerks", &["permission_update", "permission_read", "report_read"])
        .user("mallory", &["clerks"])
        .build(&app)
        .await;
    let mallory = app.as_user(world.user("mallory"));
    let impersonification = permission_id(&mallory, "impersonification").await;
    let report_read = permission_id(&mallory, "report_read").await;

    let away =
        mallory.put(&format!("/permissions/{impersonification}")).body_json(&json!({"name": "retired"})).send().await;
    assert_eq!(away.0.status(), 409);
    let onto = mallory
        .put(&format!("/permissions/{report_read}"))
        .body_json(&json!({"name": "impersonification"}))
        .send()
        .await;
    assert_eq!(onto.0.status(), 409);
    assert_eq!(my_permissions(&mallory).await, ["permission_read", "permission_update", "report_read"]);
    let admin = admin_id(&app).await;
    let attempt = mallory.post(&format!("/login/impersonate?user_id={admin}")).send().await;
    assert_detail(attempt, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn the_admin_role_is_found_by_its_marker_not_its_name() {
    let app = app().await;
    let world = Scenario::new()
        .role("staff", &["role_update", "role_read", "role_delete"])
        .user("mallory", &["staff"])
        .build(&app)
        .await;
    let mallory = app.as_user(world.user("mallory"));
    let admin_role = admin_role_id(&app.as_admin().await).await;
    let staff = world.role("staff").id;

    for (body, doing) in [(json!({"name": "former-admin"}), "renamed"), (json!({"is_active": false}), "deactivated")] {
        let refused = mallory.put(&format!("/roles/{admin_role}")).body_json(&body).send().await;
        assert_detail(refused, 409, &format!("The admin role cannot be {doing}")).await;
    }
    assert_detail(
        mallory.delete(&format!("/roles/{admin_role}")).send().await,
        409,
        "The admin role cannot be deleted",
    )
    .await;
    // Taking the name while the real one has it is a duplicate.
    let taken = mallory.put(&format!("/roles/{staff}")).body_json(&json!({"name": "admin"})).send().await;
    assert_eq!(taken.0.status(), 409);
    // Renaming the admin role to itself (normalised) is not a rename.
    ok(mallory.put(&format!("/roles/{admin_role}")).body_json(&json!({"name": " ADMIN "})).send().await).await;

    // Even with the name free (the admin role renamed directly in the database), a restart grants
    // nothing to a role merely called `admin`.
    let mut db = app.state().db.clone();
    kwik_core::Queries::execute(
        &mut db,
        &sea_query::Query::update()
            .table("roles")
            .value("name", "root")
            .and_where(sea_query::ExprTrait::eq(sea_query::Expr::col("id"), admin_role))
            .to_owned(),
    )
    .await
    .unwrap();
    ok(mallory.put(&format!("/roles/{staff}")).body_json(&json!({"name": "admin"})).send().await).await;
    restart(&app).await;
    assert_eq!(my_permissions(&mallory).await, ["role_delete", "role_read", "role_update"]);
    let root = ok(app.as_admin().await.get(&format!("/roles/{admin_role}/available-permissions")).send().await).await;
    assert_eq!(root, json!([]), "the marked role still holds everything");
}

#[tokio::test]
async fn claiming_the_first_superuser_email_grants_nothing_at_the_next_start() {
    let app = app().await;
    let world = Scenario::new().user("mallory", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let superuser = admin_id(&app).await;
    // The superuser's email changes (an administrator's own choice)...
    ok(admin.put("/users/me").body_json(&json!({"email": "root@example.com"})).send().await).await;
    // ...and someone takes the address bootstrap was configured with.
    let mallory = app.as_user(world.user("mallory"));
    ok(mallory.put("/users/me").body_json(&json!({"email": ADMIN_EMAIL})).send().await).await;
    restart(&app).await;
    assert_eq!(my_permissions(&app.as_user(world.user("mallory"))).await, Vec::<String>::new());
    let members =
        ok(app.as_admin().await.get(&format!("/roles/{}/users", admin_role_id(&admin).await)).send().await).await;
    let ids: Vec<i64> = members.as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, [superuser], "only the original superuser is an administrator");
    // And no second superuser was created with the configured password.
    assert_eq!(try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0, 401);
}

#[tokio::test]
async fn impersonation_sessions_cannot_mint_keys_or_launder_identity() {
    let app = app().await;
    // Sam can impersonate too: a session as Sam could otherwise impersonate again and, after
    // `stop_impersonating`, come back as Sam with a plain token.
    let world = Scenario::new()
        .role("support", &["impersonification"])
        .user("ivan", &["support"])
        .user("sam", &["support"])
        .build(&app)
        .await;
    let ivan = world.user("ivan");
    let sam = world.user("sam");
    let (status, body) =
        status_json(app.as_user(ivan).post(&format!("/login/impersonate?user_id={}", sam.id)).send().await).await;
    assert_eq!(status, 200, "{body}");
    let session = app.with_token(body["access_token"].as_str().unwrap());

    let (status, body) = create_key(&session, &sam.password).await;
    assert_eq!((status, &body["detail"]), (403, &json!("API keys cannot be created while impersonating")));
    for target in [sam.id, ivan.id] {
        let nested = session.post(&format!("/login/impersonate?user_id={target}")).send().await;
        assert_detail(nested, 403, "Not allowed while impersonating; stop impersonating first").await;
    }

    // Stopping gives back the impersonator, nobody else.
    let (status, body) = status_json(session.post("/login/stop_impersonating").send().await).await;
    assert_eq!(status, 200, "{body}");
    let back = app.with_token(body["access_token"].as_str().unwrap());
    let me = ok(back.post("/login/test-token").send().await).await;
    assert_eq!(me["id"], ivan.id);
    assert_eq!(ok(back.post("/login/is_impersonating").send().await).await, json!(false));
}

#[tokio::test]
async fn nobody_gains_a_permission_through_another_user_or_a_grant() {
    // Each endpoint's own permission is not enough to act on a more privileged user or to give
    // what one does not hold: that would be a way to every permission.
    let app = app().await;
    let world = Scenario::new()
        .role("support", &["impersonification"])
        .role("helpdesk", &["password_reset", "user_update", "user_read"])
        .role("granters", &["role_update", "permission_update", "user_update", "role_read"])
        .inactive_role("dormant", &["user_delete"])
        .user("ivan", &["support"])
        .user("hal", &["helpdesk"])
        .user("gus", &["granters", "dormant"])
        .user("alice", &[])
        .build(&app)
        .await;
    let superuser = admin_id(&app).await;
    let denied = "Not enough privileges: that gives permissions you do not hold";

    let ivan = app.as_user(world.user("ivan"));
    assert_detail(ivan.post(&format!("/login/impersonate?user_id={superuser}")).send().await, 403, denied).await;
    ok(ivan.post(&format!("/login/impersonate?user_id={}", world.user("alice").id)).send().await).await;

    let hal = app.as_user(world.user("hal"));
    let reset = json!({"new_password": "taken-over-password-1"});
    let path = format!("/users/{superuser}/reset-password");
    assert_detail(hal.put(&path).body_json(&reset).send().await, 403, denied).await;
    let email = json!({"email": "hal-controls-this@example.com"});
    assert_detail(hal.put(&format!("/users/{superuser}")).body_json(&email).send().await, 403, denied).await;
    // On a user holding nothing hal lacks, both work.
    let alice = world.user("alice").id;
    ok(hal.put(&format!("/users/{alice}/reset-password")).body_json(&reset).send().await).await;
    ok(hal.put(&format!("/users/{alice}")).body_json(&json!({"name": "Alicia"})).send().await).await;
    assert_eq!(try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0, 200, "the superuser's account is untouched");

    let gus = app.as_user(world.user("gus"));
    let admin_role = admin_role_id(&app.as_admin().await).await;
    let granters = world.role("granters").id;
    let me = json!({"user_id": world.user("gus").id});
    assert_detail(gus.post(&format!("/roles/{admin_role}/users")).body_json(&me).send().await, 403, denied).await;
    let impersonification = json!({"permission_id": world.permission("impersonification").id});
    let grant = gus.post(&format!("/roles/{granters}/permissions")).body_json(&impersonification).send().await;
    assert_detail(grant, 403, denied).await;
    let dormant = world.role("dormant").id;
    let wake = gus.put(&format!("/roles/{dormant}")).body_json(&json!({"is_active": true})).send().await;
    assert_detail(wake, 403, denied).await;
    assert_eq!(my_permissions(&gus).await, ["permission_update", "role_read", "role_update", "user_update"]);
    // What gus holds, gus may grant.
    let role_read = json!({"permission_id": world.permission("role_read").id});
    ok(gus.post(&format!("/roles/{dormant}/permissions")).body_json(&role_read).send().await).await;
}

#[tokio::test]
async fn creating_an_api_key_re_authenticates() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let client = app.as_user(alice);
    let missing = client.post("/api-keys/").body_json(&json!({"name": "ci"})).send().await;
    kwik_testing::assert_validation(missing, &["body", "password"]).await;
    let (status, body) = create_key(&client, "not-her-password").await;
    assert_eq!((status, &body["detail"]), (401, &json!("Incorrect credentials")));
    let (status, body) = create_key(&client, &alice.password).await;
    assert_eq!(status, 200, "{body}");
    // A key cannot mint keys.
    let with_key = app.with_api_key(body["key"].as_str().unwrap());
    let (status, body) = create_key(&with_key, &alice.password).await;
    assert_eq!((status, &body["detail"]), (403, &json!("API keys cannot be created with an API key")));
    // Nothing of the refused attempts was stored.
    let keys = ok(client.get("/api-keys/").send().await).await;
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
}

async fn key_for(app: &TestApp, user: &TestUser) -> String {
    let (status, body) = create_key(&app.as_user(user), &user.password).await;
    assert_eq!(status, 200, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

async fn key_works(app: &TestApp, key: &str) -> bool {
    app.with_api_key(key).get("/users/me").send().await.0.status() == 200
}

#[tokio::test]
async fn password_resets_revoke_api_keys_and_own_changes_keep_them() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).user("bob", &[]).user("carol", &[]).build(&app).await;
    let admin = app.as_admin().await;

    // An administrator's reset.
    let alice = world.user("alice");
    let key = key_for(&app, alice).await;
    let body = json!({"new_password": "a-brand-new-password-1"});
    ok(admin.put(&format!("/users/{}/reset-password", alice.id)).body_json(&body).send().await).await;
    assert!(!key_works(&app, &key).await, "an admin reset revokes the keys");

    // A reset through recovery.
    let bob = world.user("bob");
    let key = key_for(&app, bob).await;
    let token = reset_token_for(&app, bob.id, chrono::Duration::hours(1)).await;
    let body = json!({"token": token, "password": "a-brand-new-password-2"});
    ok(app.anonymous().post("/login/reset-password").body_json(&body).send().await).await;
    assert!(!key_works(&app, &key).await, "a recovery reset revokes the keys");

    // The user's own change keeps them (machines keep working; revoke keys one by one).
    let carol = world.user("carol");
    let key = key_for(&app, carol).await;
    let body = json!({"old_password": carol.password, "new_password": "a-brand-new-password-3"});
    ok(app.as_user(carol).put("/users/me/password").body_json(&body).send().await).await;
    assert!(key_works(&app, &key).await, "an own password change keeps the keys");
}

#[tokio::test]
async fn the_last_active_administrator_cannot_be_deactivated_or_removed() {
    let app = app().await;
    let world = Scenario::new().admin("hank").build(&app).await;
    let admin = app.as_admin().await;
    let hank = app.as_user(world.user("hank"));
    let hank_id = world.user("hank").id;
    let superuser = admin_id(&app).await;
    let admin_role = admin_role_id(&admin).await;
    let last = "The last active member of the admin role cannot be deactivated or removed from it";
    let off = json!({"is_active": false});

    // Emptying or deactivating the role is refused whoever is in it.
    let emptied = hank.delete(&format!("/roles/{admin_role}/users")).send().await;
    assert_detail(emptied, 409, "The admin role cannot be emptied: it would be left without an active member").await;
    let role_off = hank.put(&format!("/roles/{admin_role}")).body_json(&off).send().await;
    assert_detail(role_off, 409, "The admin role cannot be deactivated").await;

    // Two active administrators: one may go...
    ok(hank.delete(&format!("/roles/{admin_role}/users/{superuser}")).send().await).await;
    // ...and then hank is the last: not by deactivation, nor by removal, by anyone.
    assert_detail(hank.put("/users/me").body_json(&off).send().await, 409, last).await;
    assert_detail(hank.put(&format!("/users/{hank_id}")).body_json(&off).send().await, 409, last).await;
    assert_detail(hank.delete(&format!("/roles/{admin_role}/users/{hank_id}")).send().await, 409, last).await;
    // The superuser, back in the role but deactivated, does not count as an active member.
    ok(hank.post(&format!("/roles/{admin_role}/users")).body_json(&json!({"user_id": superuser})).send().await).await;
    ok(hank.put(&format!("/users/{superuser}")).body_json(&off).send().await).await;
    assert_detail(hank.put("/users/me").body_json(&off).send().await, 409, last).await;
    assert_detail(hank.delete(&format!("/roles/{admin_role}/users/{hank_id}")).send().await, 409, last).await;
    // Reactivated, it does: hank may now leave.
    ok(hank.put(&format!("/users/{superuser}")).body_json(&json!({"is_active": true})).send().await).await;
    ok(hank.put("/users/me").body_json(&off).send().await).await;
    assert_eq!(try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await.0, 200, "still an administrator");
}

#[tokio::test]
async fn password_checks_count_on_the_authentication_limit() {
    let app = app_with(&[("KWIK_RATE_LIMIT_ENABLED", "true"), ("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let client = app.as_user(alice);
    let wrong = json!({"old_password": "guess-guess-guess", "new_password": "a-brand-new-password-1"});
    for _ in 0..3 {
        let response = client.put("/users/me/password").body_json(&wrong).send().await;
        assert_eq!(response.0.status(), 401);
    }
    let limited = client.put("/users/me/password").body_json(&wrong).send().await;
    assert_eq!(limited.0.status(), 429);
    assert!(limited.0.headers().contains_key("retry-after"));
    // API-key creation verifies a password too.
    let (status, _) = create_key(&client, "guess-guess-guess").await;
    assert_eq!(status, 429);
    // The account's budget is login's budget.
    assert_eq!(try_login(&app, &alice.email, &alice.password).await.0, 429);
}

#[tokio::test]
async fn an_administrators_password_check_on_another_user_counts_too() {
    // In-process requests share one client address; `production/rate_limits.rs` shows the per-account
    // budget across addresses over a real socket.
    let app = app_with(&[("KWIK_RATE_LIMIT_ENABLED", "true"), ("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let admin = app.as_admin().await; // one login: the client's first attempt
    let wrong = json!({"old_password": "guess-guess-guess", "new_password": "a-brand-new-password-1"});
    for _ in 0..2 {
        assert_eq!(admin.put(&format!("/users/{}/password", alice.id)).body_json(&wrong).send().await.0.status(), 401);
    }
    let limited = admin.put(&format!("/users/{}/password", alice.id)).body_json(&wrong).send().await;
    assert_eq!(limited.0.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reset_token_works_once_even_when_presented_twice_at_once() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let before = users::get(&mut app.state().db.clone(), alice.id).await.unwrap().unwrap();
    let token = reset_token_for(&app, alice.id, chrono::Duration::hours(1)).await;
    let anonymous = app.anonymous();
    let send = |password: &'static str| {
        let body = json!({"token": token, "password": password});
        let request = anonymous.post("/login/reset-password").body_json(&body);
        async move { request.send().await }
    };
    // Both requests read the user, then hash (tens of milliseconds each, on blocking threads),
    // then write: they overlap.
    let (first, second) = tokio::join!(send("first-new-password-1"), send("second-new-password-2"));
    let mut statuses = [first.0.status().as_u16(), second.0.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    let after = users::get(&mut app.state().db.clone(), alice.id).await.unwrap().unwrap();
    assert_eq!(after.token_version, before.token_version + 1, "the password changed exactly once");
    let logins = [
        try_login(&app, &alice.email, "first-new-password-1").await.0,
        try_login(&app, &alice.email, "second-new-password-2").await.0,
    ];
    assert!(logins == [200, 401] || logins == [401, 200], "{logins:?}");
}

#[tokio::test]
async fn a_rehash_never_writes_an_old_password_over_a_new_one() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let mut db = app.state().db.clone();
    let stale = users::get(&mut db, alice.id).await.unwrap().unwrap().hashed_password;
    // The password changes while a login holding the old hash re-hashes it...
    let body = json!({"old_password": alice.password, "new_password": "a-brand-new-password-1"});
    ok(app.as_user(alice).put("/users/me/password").body_json(&body).send().await).await;
    let upgraded = app.state().hasher.hash(&alice.password).await.unwrap();
    assert!(!users::rehash_password(&mut db, alice.id, &stale, &upgraded).await.unwrap());
    // ...and the new password stands.
    assert_eq!(try_login(&app, &alice.email, "a-brand-new-password-1").await.0, 200);
    assert_eq!(try_login(&app, &alice.email, &alice.password).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_password_change_does_not_hold_the_write_lock_while_hashing() {
    // On SQLite a write transaction (`BEGIN IMMEDIATE`) blocks every other writer: a password
    // change used to hold it across two argon2 runs, so any user could stall all writes. With a
    // costly hash, another write now finishes while the change is still hashing. (PostgreSQL
    // never blocked here; the test runs on both.)
    let app = app_with(&[("KWIK_ARGON2_MEMORY_KIB", "65536"), ("KWIK_ARGON2_ITERATIONS", "4")]).await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let admin = app.as_admin().await;
    let client = app.as_user(alice);
    let finished = std::sync::atomic::AtomicBool::new(false);
    let body = json!({"old_password": alice.password, "new_password": "a-brand-new-password-1"});
    let change = async {
        let response = client.put("/users/me/password").body_json(&body).send().await;
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
        response
    };
    let other_write = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let response = admin.post("/roles/").body_json(&json!({"name": "meanwhile", "is_active": true})).send().await;
        (response, finished.load(std::sync::atomic::Ordering::SeqCst))
    };
    let (changed, (created, change_already_done)) = tokio::join!(change, other_write);
    assert_eq!(changed.0.status(), 200);
    assert_eq!(created.0.status(), 200);
    assert!(!change_already_done, "the other write waited for the password change to commit");
}

#[tokio::test]
async fn a_database_bootstrapped_before_the_markers_is_adopted_without_new_grants() {
    let app = app().await;
    let world = Scenario::new().user("mallory", &[]).build(&app).await;
    let mut db = app.state().db.clone();
    // As before the markers existed: no user has one.
    let clear = sea_query::Query::update().table("users").value("system_key", Option::<String>::None).to_owned();
    kwik_core::Queries::execute(&mut db, &clear).await.unwrap();
    // Someone holds the configured address by then (the real superuser's email was changed).
    let admin = app.as_admin().await;
    ok(admin.put("/users/me").body_json(&json!({"email": "root@example.com"})).send().await).await;
    let mallory = app.as_user(world.user("mallory"));
    ok(mallory.put("/users/me").body_json(&json!({"email": ADMIN_EMAIL})).send().await).await;
    restart(&app).await;
    // The address's holder is marked, not promoted; no second superuser appears.
    assert_eq!(my_permissions(&app.as_user(world.user("mallory"))).await, Vec::<String>::new());
    let marked = users::by_system_key(&mut db, kwik_rbac::bootstrap::FIRST_SUPERUSER_SYSTEM_KEY).await.unwrap();
    assert_eq!(marked.map(|u| u.id), Some(world.user("mallory").id));
    restart(&app).await;
    assert_eq!(my_permissions(&app.as_user(world.user("mallory"))).await, Vec::<String>::new());
}
