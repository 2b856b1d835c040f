//! `/login/...` (CONTRACT §3, §6, §9.1, §9.9): the OAuth2 password login, token test,
//! impersonation, reset by token, and (ours) refresh rotation, password recovery and the
//! transparent bcrypt → argon2id migration.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use kwik_auth::{Claims, TokenKind, password_fingerprint};
use kwik_http::builtin::Builtin;
use kwik_http::{App, ResetTokenSender};
use kwik_rbac::users;
use kwik_testing::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, TestClient, assert_detail, assert_validation, json_of,
};
use poem::test::TestResponse;
use serde_json::{Value, json};

use crate::common::app;

// ---------------------------------------------------------------------------------------------
// Helpers shared with users.rs and security.rs.
// ---------------------------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` encoding of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let encoded = v.bytes().fold(String::new(), |mut out, b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    let _ = write!(out, "%{b:02X}");
                }
                out
            });
            format!("{k}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `POST /login/access-token` with these form fields, no credentials.
pub async fn login_with(app: &TestApp, pairs: &[(&str, &str)]) -> TestResponse {
    app.anonymous()
        .post("/login/access-token")
        .content_type("application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
}

/// Logs in and returns `(status, body)`.
pub async fn try_login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    status_json(login_with(app, &[("username", email), ("password", password)]).await).await
}

/// The status and the JSON body.
pub async fn status_json(response: TestResponse) -> (u16, Value) {
    let status = response.0.status().as_u16();
    (status, json_of(response).await)
}

/// 401 `Not authenticated` with `WWW-Authenticate: Bearer` (RFC 6750 §3).
pub async fn assert_not_authenticated(response: TestResponse) {
    let challenge = response.0.headers().get("www-authenticate").map(|v| v.to_str().unwrap_or_default().to_owned());
    let body = assert_detail(response, 401, "Not authenticated").await;
    assert_eq!(challenge.as_deref(), Some("Bearer"), "401 without WWW-Authenticate: Bearer: {body}");
}

/// 401 `Incorrect credentials`, which is not a challenge: no `WWW-Authenticate`.
pub async fn assert_incorrect_credentials(response: TestResponse) {
    let challenge = response.0.headers().get("www-authenticate").cloned();
    let body = assert_detail(response, 401, "Incorrect credentials").await;
    assert!(challenge.is_none(), "Incorrect credentials must not carry WWW-Authenticate ({challenge:?}): {body}");
}

/// Asserts `body` is exactly a `UserProfile` with these values.
pub fn assert_profile(body: &Value, id: i64, email: &str, is_active: bool) {
    let object = body.as_object().unwrap_or_else(|| panic!("not a UserProfile: {body}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["email", "id", "is_active", "name", "surname"], "UserProfile fields: {body}");
    assert_eq!(body["id"], id, "{body}");
    assert_eq!(body["email"], email, "{body}");
    assert_eq!(body["is_active"], is_active, "{body}");
}

/// The id of the bootstrap administrator.
pub async fn admin_id(app: &TestApp) -> i64 {
    users::by_email(&mut app.state().db.clone(), ADMIN_EMAIL).await.unwrap().expect("admin exists").id
}

/// A password-reset token for `user_id`, minted as `/login/password-recovery` does.
pub async fn reset_token_for(app: &TestApp, user_id: i64, ttl: chrono::Duration) -> String {
    let user = users::get(&mut app.state().db.clone(), user_id).await.unwrap().expect("user exists");
    let claims = Claims::reset(user.id, user.token_version, ttl, password_fingerprint(&user.hashed_password));
    app.state().jwt.encode(&claims).unwrap()
}

/// The claims of an access token issued by the app.
fn access_claims(app: &TestApp, token: &str) -> Claims {
    app.state().jwt.decode(token, TokenKind::Access).unwrap_or_else(|e| panic!("not an access token: {e}"))
}

async fn impersonate(client: &TestClient<'_>, user_id: i64) -> TestResponse {
    client.post(&format!("/login/impersonate?user_id={user_id}")).send().await
}

/// Asserts a `Token` body with a bearer access token and returns the access token.
fn token_of(body: &Value) -> String {
    assert_eq!(body["token_type"], "bearer", "{body}");
    body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token: {body}")).to_owned()
}

// ---------------------------------------------------------------------------------------------
// POST /login/access-token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_returns_a_bearer_access_token_and_a_refresh_token() {
    let app = app().await;
    let (status, body) = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let access = token_of(&body);
    assert!(body["refresh_token"].as_str().is_some_and(|t| !t.is_empty()), "{body}");
    let claims = access_claims(&app, &access);
    assert_eq!(claims.sub, admin_id(&app).await.to_string(), "sub is the user id as a string");
    assert_eq!(claims.kwik_impersonate, "");
    // The token authenticates.
    let me = json_of(app.with_token(&access).post("/login/test-token").send().await).await;
    assert_profile(&me, admin_id(&app).await, ADMIN_EMAIL, true);
}

#[tokio::test]
async fn login_accepts_grant_type_password_and_ignores_scope_and_client_fields() {
    let app = app().await;
    let response = login_with(
        &app,
        &[
            ("grant_type", "password"),
            ("username", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("scope", "anything"),
            ("client_id", "swagger"),
            ("client_secret", "ignored"),
        ],
    )
    .await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    token_of(&body);
}

#[tokio::test]
async fn login_with_unknown_email_is_401_incorrect_credentials_without_challenge() {
    let app = app().await;
    let response = login_with(&app, &[("username", "nobody@example.com"), ("password", ADMIN_PASSWORD)]).await;
    assert_incorrect_credentials(response).await;
}

#[tokio::test]
async fn login_with_wrong_password_is_401_incorrect_credentials_without_challenge() {
    let app = app().await;
    let response = login_with(&app, &[("username", ADMIN_EMAIL), ("password", "wrong-password-123")]).await;
    assert_incorrect_credentials(response).await;
}

#[tokio::test]
async fn login_email_lookup_is_exact_on_the_stored_string() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    assert_eq!(try_login(&app, &alice.email, &alice.password).await.0, 200);
    let response = login_with(&app, &[("username", "ALICE@example.com"), ("password", &alice.password)]).await;
    assert_incorrect_credentials(response).await;
}

#[tokio::test]
async fn login_password_is_not_checked_against_the_new_password_policy() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    // A legacy account with a short password (Kwik's own admin fixture has one).
    let short = app.state().hasher.hash("short").await.unwrap();
    let mut db = app.state().db.clone();
    let current = users::get(&mut db, alice.id).await.unwrap().unwrap().hashed_password;
    assert!(users::rehash_password(&mut db, alice.id, &current, &short).await.unwrap());
    let (status, body) = try_login(&app, &alice.email, "short").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn login_of_an_inactive_user_is_400_inactive_user() {
    // CONTRACT §9.1: Kwik issues a token here (bug); the intended answer is 400 Inactive user.
    let app = app().await;
    let world = Scenario::new().inactive_user("ghost", &[]).build(&app).await;
    let ghost = world.user("ghost");
    let response = login_with(&app, &[("username", &ghost.email), ("password", &ghost.password)]).await;
    assert_detail(response, 400, "Inactive user").await;
    // A wrong password still answers like any wrong password (the status is not revealed).
    let response = login_with(&app, &[("username", &ghost.email), ("password", "not-the-password")]).await;
    assert_incorrect_credentials(response).await;
}

#[tokio::test]
async fn login_without_username_is_422_at_body_username() {
    let app = app().await;
    let issue = assert_validation(login_with(&app, &[("password", ADMIN_PASSWORD)]).await, &["body", "username"]).await;
    assert_eq!(issue["type"], "missing", "{issue}");
    let response = login_with(&app, &[("username", ADMIN_EMAIL)]).await;
    assert_validation(response, &["body", "password"]).await;
}

#[tokio::test]
async fn login_with_a_grant_type_other_than_password_is_422_at_body_grant_type() {
    let app = app().await;
    let response = login_with(
        &app,
        &[("grant_type", "client_credentials"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
    )
    .await;
    let issue = assert_validation(response, &["body", "grant_type"]).await;
    assert_eq!(issue["input"], "client_credentials", "{issue}");
}

#[tokio::test]
async fn login_with_a_json_body_instead_of_a_form_is_422() {
    // FastAPI reads a form from a JSON body as an empty form: one `missing` per required field.
    let app = app().await;
    let response = app
        .anonymous()
        .post("/login/access-token")
        .body_json(&json!({"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await;
    assert_eq!(response.0.status(), 422);
    let body = json_of(response).await;
    assert_eq!(
        body["detail"],
        json!([
            {"type": "missing", "loc": ["body", "username"], "msg": "Field required", "input": null},
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": null},
        ]),
        "{body}"
    );
}

#[tokio::test]
async fn login_with_a_legacy_bcrypt_hash_succeeds_and_upgrades_it_to_argon2id() {
    let app = app().await;
    let world = Scenario::new().user("legacy", &[]).build(&app).await;
    let legacy = world.user("legacy");
    let mut db = app.state().db.clone();
    let bcrypt_hash = bcrypt::hash(&legacy.password, 4).unwrap();
    assert!(bcrypt_hash.starts_with("$2"), "{bcrypt_hash}");
    let current = users::get(&mut db, legacy.id).await.unwrap().unwrap().hashed_password;
    assert!(users::rehash_password(&mut db, legacy.id, &current, &bcrypt_hash).await.unwrap());

    let (status, body) = try_login(&app, &legacy.email, &legacy.password).await;
    assert_eq!(status, 200, "{body}");
    let stored = users::get(&mut db, legacy.id).await.unwrap().unwrap().hashed_password;
    assert!(stored.starts_with("$argon2id$"), "the hash was not upgraded: {stored}");
    // The upgrade is not a password change: tokens issued before keep working, and the
    // password still logs in against the new hash.
    app.as_user(legacy).get("/users/me").send().await.assert_status_is_ok();
    assert_eq!(try_login(&app, &legacy.email, &legacy.password).await.0, 200);
    assert_eq!(try_login(&app, &legacy.email, "wrong-password-123").await.0, 401);
}

// ---------------------------------------------------------------------------------------------
// POST /login/test-token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn test_token_returns_the_profile_of_the_tokens_user() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let response = app.as_user(alice).post("/login/test-token").send().await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, alice.id, &alice.email, true);
    assert_eq!(body["name"], "alice");
    assert_eq!(body["surname"], "Test");
}

#[tokio::test]
async fn test_token_without_credentials_is_401_and_with_a_bad_token_is_400() {
    let app = app().await;
    assert_not_authenticated(app.anonymous().post("/login/test-token").send().await).await;
    let response = app.with_token("not-a-jwt").post("/login/test-token").send().await;
    assert_detail(response, 400, "Invalid token").await;
}

// ---------------------------------------------------------------------------------------------
// POST /login/impersonate, /login/is_impersonating, /login/stop_impersonating
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn impersonation_token_acts_as_the_target_with_the_targets_permissions() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let admin = app.as_admin().await;
    let admin_id = admin_id(&app).await;

    let (status, body) = status_json(impersonate(&admin, alice.id).await).await;
    assert_eq!(status, 200, "{body}");
    let token = token_of(&body);
    let claims = access_claims(&app, &token);
    assert_eq!(claims.sub, alice.id.to_string());
    assert_eq!(claims.kwik_impersonate, admin_id.to_string());

    let as_alice = app.with_token(&token);
    let me = json_of(as_alice.get("/users/me").send().await).await;
    assert_profile(&me, alice.id, &alice.email, true);
    // alice holds no permission: neither does the impersonation token, although admin holds all.
    assert_detail(as_alice.get("/users/").send().await, 403, "Not enough privileges").await;
    assert_detail(impersonate(&as_alice, admin_id).await, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn impersonate_requires_the_impersonification_permission() {
    let app = app().await;
    let world = Scenario::new()
        .role("impersonators", &["impersonification"])
        .user("mallory", &[])
        .user("support", &["impersonators"])
        .user("alice", &[])
        .build(&app)
        .await;
    let alice = world.user("alice");
    let denied = impersonate(&app.as_user(world.user("mallory")), alice.id).await;
    assert_detail(denied, 403, "Not enough privileges").await;
    let (status, body) = status_json(impersonate(&app.as_user(world.user("support")), alice.id).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(access_claims(&app, &token_of(&body)).sub, alice.id.to_string());
}

#[tokio::test]
async fn impersonate_without_credentials_is_401_with_a_challenge() {
    // CONTRACT §9.9: Kwik forgets WWW-Authenticate here; we send it.
    let app = app().await;
    assert_not_authenticated(impersonate(&app.anonymous(), 1).await).await;
    let response = app.with_token("garbage").post("/login/impersonate?user_id=1").send().await;
    assert_detail(response, 400, "Invalid token").await;
}

#[tokio::test]
async fn impersonate_an_unknown_user_is_404() {
    let app = app().await;
    let response = impersonate(&app.as_admin().await, 999).await;
    assert_detail(response, 404, "Entity [users] with id=999 does not exist").await;
}

#[tokio::test]
async fn impersonate_without_or_with_a_non_integer_user_id_is_422_at_query_user_id() {
    let app = app().await;
    let admin = app.as_admin().await;
    assert_validation(admin.post("/login/impersonate").send().await, &["query", "user_id"]).await;
    assert_validation(admin.post("/login/impersonate?user_id=abc").send().await, &["query", "user_id"]).await;
}

#[tokio::test]
async fn impersonate_accepts_an_inactive_target_and_the_caller_itself() {
    let app = app().await;
    let world = Scenario::new().inactive_user("ghost", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let (status, body) = status_json(impersonate(&admin, world.user("ghost").id).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(access_claims(&app, &token_of(&body)).sub, world.user("ghost").id.to_string());
    let admin_id = admin_id(&app).await;
    let (status, body) = status_json(impersonate(&admin, admin_id).await).await;
    assert_eq!(status, 200, "{body}");
    let claims = access_claims(&app, &token_of(&body));
    assert_eq!((claims.sub, claims.kwik_impersonate), (admin_id.to_string(), admin_id.to_string()));
}

#[tokio::test]
async fn is_impersonating_answers_true_only_for_impersonation_tokens() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let (status, body) = status_json(admin.post("/login/is_impersonating").send().await).await;
    assert_eq!((status, body), (200, json!(false)));
    let token = token_of(&json_of(impersonate(&admin, world.user("alice").id).await).await);
    let (status, body) = status_json(app.with_token(&token).post("/login/is_impersonating").send().await).await;
    assert_eq!((status, body), (200, json!(true)));
    assert_not_authenticated(app.anonymous().post("/login/is_impersonating").send().await).await;
}

#[tokio::test]
async fn stop_impersonating_returns_a_plain_token_for_the_impersonator() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let admin_id = admin_id(&app).await;
    let impersonating = token_of(&json_of(impersonate(&admin, world.user("alice").id).await).await);

    let response = app.with_token(&impersonating).post("/login/stop_impersonating").send().await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    let back = token_of(&body);
    let claims = access_claims(&app, &back);
    assert_eq!((claims.sub, claims.kwik_impersonate), (admin_id.to_string(), String::new()));
    let as_admin_again = app.with_token(&back);
    as_admin_again.get("/users/").send().await.assert_status_is_ok();
    let (_, impersonating_now) = status_json(as_admin_again.post("/login/is_impersonating").send().await).await;
    assert_eq!(impersonating_now, json!(false));
}

#[tokio::test]
async fn stop_impersonating_when_not_impersonating_is_400() {
    let app = app().await;
    let (status, body) = status_json(app.as_admin().await.post("/login/stop_impersonating").send().await).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "a message is expected: {body}");
    assert_not_authenticated(app.anonymous().post("/login/stop_impersonating").send().await).await;
}

// ---------------------------------------------------------------------------------------------
// POST /login/reset-password
// ---------------------------------------------------------------------------------------------

async fn reset_with(app: &TestApp, token: &str, password: &str) -> TestResponse {
    app.anonymous().post("/login/reset-password").body_json(&json!({"token": token, "password": password})).send().await
}

#[tokio::test]
async fn reset_password_with_a_reset_token_sets_the_password_once() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let token = reset_token_for(&app, alice.id, chrono::Duration::hours(48)).await;

    let (status, body) = status_json(reset_with(&app, &token, "a-brand-new-password").await).await;
    assert_eq!((status, body), (200, json!({"msg": "Password updated successfully"})));
    assert_eq!(try_login(&app, &alice.email, "a-brand-new-password").await.0, 200);
    assert_eq!(try_login(&app, &alice.email, &alice.password).await.0, 401, "the old password must stop working");
    // Single use: the same token again is refused, and the password stays.
    assert_detail(reset_with(&app, &token, "yet-another-password").await, 400, "Invalid token").await;
    assert_eq!(try_login(&app, &alice.email, "a-brand-new-password").await.0, 200);
    // Tokens issued before the reset are revoked.
    assert_detail(app.as_user(alice).get("/users/me").send().await, 400, "Invalid token").await;
}

#[tokio::test]
async fn reset_password_refuses_other_tokens_and_expired_reset_tokens() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let (_, login) = try_login(&app, &alice.email, &alice.password).await;
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let expired = reset_token_for(&app, alice.id, chrono::Duration::seconds(-60)).await;
    for token in [alice.token.as_str(), refresh.as_str(), expired.as_str(), "garbage"] {
        assert_detail(reset_with(&app, token, "a-brand-new-password").await, 400, "Invalid token").await;
    }
    assert_eq!(try_login(&app, &alice.email, &alice.password).await.0, 200, "the password must be unchanged");
}

#[tokio::test]
async fn reset_password_for_an_inactive_user_is_400_invalid_token() {
    let app = app().await;
    let world = Scenario::new().inactive_user("ghost", &[]).build(&app).await;
    let token = reset_token_for(&app, world.user("ghost").id, chrono::Duration::hours(1)).await;
    assert_detail(reset_with(&app, &token, "a-brand-new-password").await, 400, "Invalid token").await;
}

#[tokio::test]
async fn reset_password_with_a_weak_password_is_422_at_body_password() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let token = reset_token_for(&app, alice.id, chrono::Duration::hours(1)).await;
    let issue = assert_validation(reset_with(&app, &token, "short").await, &["body", "password"]).await;
    assert_eq!(issue["msg"], "Value error, password must be at least 12 characters", "{issue}");
    let missing = app.anonymous().post("/login/reset-password").body_json(&json!({"password": "x"})).send().await;
    assert_validation(missing, &["body", "token"]).await;
    // Nothing changed, and the token is still good.
    assert_eq!(reset_with(&app, &token, "a-brand-new-password").await.0.status(), 200);
}

// ---------------------------------------------------------------------------------------------
// POST /login/refresh (ours)
// ---------------------------------------------------------------------------------------------

async fn refresh(app: &TestApp, refresh_token: &str) -> TestResponse {
    app.anonymous().post("/login/refresh").body_json(&json!({"refresh_token": refresh_token})).send().await
}

fn refresh_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap_or_else(|| panic!("no refresh_token: {body}")).to_owned()
}

#[tokio::test]
async fn refresh_rotates_the_refresh_token_and_issues_a_new_access_token() {
    let app = app().await;
    let (_, login) = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first = refresh_of(&login);

    let (status, body) = status_json(refresh(&app, &first).await).await;
    assert_eq!(status, 200, "{body}");
    let access = token_of(&body);
    let second = refresh_of(&body);
    assert_ne!(second, first, "the refresh token must rotate");
    app.with_token(&access).get("/users/").send().await.assert_status_is_ok();
    // The rotated token rotates again.
    let (status, body) = status_json(refresh(&app, &second).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_its_whole_family_only() {
    let app = app().await;
    let (_, login) = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let old = refresh_of(&login);
    let (_, other_login) = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other_family = refresh_of(&other_login);
    let new = refresh_of(&json_of(refresh(&app, &old).await).await);

    assert_detail(refresh(&app, &old).await, 400, "Invalid token").await;
    // Reuse means theft: the token rotated from it dies too.
    assert_detail(refresh(&app, &new).await, 400, "Invalid token").await;
    // Another login (another family) is unaffected.
    let (status, body) = status_json(refresh(&app, &other_family).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn refresh_refuses_access_tokens_garbage_and_missing_fields() {
    let app = app().await;
    let (_, login) = try_login(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_detail(refresh(&app, &token_of(&login)).await, 400, "Invalid token").await;
    assert_detail(refresh(&app, "garbage").await, 400, "Invalid token").await;
    let response = app.anonymous().post("/login/refresh").body_json(&json!({})).send().await;
    assert_validation(response, &["body", "refresh_token"]).await;
}

#[tokio::test]
async fn refresh_tokens_die_with_a_password_change() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let (_, login) = try_login(&app, &alice.email, &alice.password).await;
    let refresh_token = refresh_of(&login);
    let change = app
        .with_token(&token_of(&login))
        .put("/users/me/password")
        .body_json(&json!({"old_password": alice.password, "new_password": "a-brand-new-password"}))
        .send()
        .await;
    change.assert_status_is_ok();
    assert_detail(refresh(&app, &refresh_token).await, 400, "Invalid token").await;
}

// ---------------------------------------------------------------------------------------------
// POST /login/password-recovery (ours)
// ---------------------------------------------------------------------------------------------

/// A [`ResetTokenSender`] that keeps what it is given.
#[derive(Debug, Default)]
struct CapturingSender(Mutex<Vec<(String, String)>>);

impl CapturingSender {
    fn sent(&self) -> Vec<(String, String)> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until `count` tokens were sent: the sender runs in the background.
    async fn wait_for(&self, count: usize) -> Vec<(String, String)> {
        for _ in 0..500 {
            if self.sent().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.sent()
    }
}

impl ResetTokenSender for CapturingSender {
    fn send<'a>(&'a self, email: &'a str, token: &'a str) -> BoxFuture<'a, ()> {
        self.0.lock().unwrap().push((email.to_owned(), token.to_owned()));
        Box::pin(async {})
    }
}

async fn app_capturing_resets() -> (TestApp, Arc<CapturingSender>) {
    let sender = Arc::new(CapturingSender::default());
    let handle: Arc<dyn ResetTokenSender> = sender.clone();
    let app = TestApp::new(move |state| App::new(state.with_reset_sender(handle)).module(Builtin)).await;
    (app, sender)
}

async fn recover(app: &TestApp, email: &str) -> (u16, Value) {
    status_json(app.anonymous().post("/login/password-recovery").body_json(&json!({"email": email})).send().await).await
}

#[tokio::test]
async fn password_recovery_answers_the_same_for_known_and_unknown_emails() {
    let (app, sender) = app_capturing_resets().await;
    let world = Scenario::new().user("alice", &[]).inactive_user("ghost", &[]).build(&app).await;
    let alice = world.user("alice");

    let unknown = recover(&app, "nobody@example.com").await;
    let inactive = recover(&app, &world.user("ghost").email).await;
    let known = recover(&app, &alice.email).await;
    assert_eq!(known.0, 200, "{}", known.1);
    assert!(known.1["msg"].as_str().is_some_and(|m| !m.is_empty()), "{}", known.1);
    assert_eq!(unknown, known, "the answer must not reveal whether the account exists");
    assert_eq!(inactive, known);

    let sent = sender.wait_for(1).await;
    assert_eq!(sent.len(), 1, "only the active account gets a token: {sent:?}");
    assert_eq!(sent[0].0, alice.email);
}

#[tokio::test]
async fn password_recovery_token_resets_the_password() {
    let (app, sender) = app_capturing_resets().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    assert_eq!(recover(&app, &alice.email).await.0, 200);
    let sent = sender.wait_for(1).await;
    let (_, token) = sent.first().cloned().expect("a reset token was sent");

    let (status, body) = status_json(reset_with(&app, &token, "recovered-password-1").await).await;
    assert_eq!((status, body), (200, json!({"msg": "Password updated successfully"})));
    assert_eq!(try_login(&app, &alice.email, "recovered-password-1").await.0, 200);
    assert_detail(reset_with(&app, &token, "recovered-password-2").await, 400, "Invalid token").await;
}

#[tokio::test]
async fn password_recovery_without_email_is_422_at_body_email() {
    let (app, sender) = app_capturing_resets().await;
    let response = app.anonymous().post("/login/password-recovery").body_json(&json!({})).send().await;
    assert_validation(response, &["body", "email"]).await;
    assert!(sender.sent().is_empty());
}
