//! Credentials under attack (CONTRACT §4, §6): forged, expired, mis-typed and revoked tokens,
//! the `Authorization` scheme, API keys (ours), secrets never leaking (racing registrations: `tests/races.rs`).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kwik_auth::Claims;
use kwik_core::Queries;
use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, TestClient, TestUser, assert_detail};
use poem::test::TestResponse;
use sea_query::{Expr, ExprTrait, Query};
use serde_json::{Value, json};

use crate::common::app;
use crate::login::{assert_not_authenticated, assert_profile, reset_token_for, status_json, try_login};

const HOUR: i64 = 3600;

/// The app's signing secret (test settings).
fn secret(app: &TestApp) -> Vec<u8> {
    app.state().settings.secret_key.expose().as_bytes().to_vec()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Valid access-token claims for `user`, as JSON, to tamper with.
fn claims_json(user: &TestUser) -> Value {
    json!({
        "sub": user.id.to_string(),
        "exp": now() + HOUR,
        "iat": now(),
        "kwik_impersonate": "",
        "kwik_type": "access",
        "kwik_ver": 0,
    })
}

/// Signs arbitrary claims with `algorithm` and `key`.
fn sign(claims: &Value, algorithm: Algorithm, key: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// An unsigned JWT (`alg: none`).
fn unsigned(claims: &Value) -> String {
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", base64url(claims.to_string().as_bytes()))
}

async fn me(client: &TestClient<'_>) -> TestResponse {
    client.get("/users/me").send().await
}

async fn assert_invalid_token(app: &TestApp, token: &str, what: &str) {
    let (status, body) = status_json(me(&app.with_token(token)).await).await;
    assert_eq!((status, body["detail"].clone()), (400, json!("Invalid token")), "{what}: {body}");
}

// ---------------------------------------------------------------------------------------------
// Bearer tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_correctly_signed_token_built_here_is_accepted() {
    // Guards the negative tests below: the same claims and key, untampered, work.
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let token = sign(&claims_json(alice), Algorithm::HS256, &secret(&app));
    let (status, body) = status_json(me(&app.with_token(&token)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, alice.id, &alice.email, true);
}

#[tokio::test]
async fn forged_unsigned_and_foreign_algorithm_tokens_are_400() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let claims = claims_json(world.user("alice"));
    assert_invalid_token(
        &app,
        &sign(&claims, Algorithm::HS256, b"another-secret-key-that-is-long-enough!!"),
        "another key",
    )
    .await;
    assert_invalid_token(&app, &unsigned(&claims), "alg none").await;
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS512, &secret(&app)), "HS512").await;
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS384, &secret(&app)), "HS384").await;
    // A valid token with its payload swapped for another user's.
    let valid = world.user("alice").token.clone();
    let mut other = claims.clone();
    other["sub"] = json!("1");
    let parts: Vec<&str> = valid.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], base64url(other.to_string().as_bytes()), parts[2]);
    assert_invalid_token(&app, &tampered, "tampered payload").await;
    for garbage in ["garbage", "a.b.c", ""] {
        let (status, body) = status_json(me(&app.with_token(garbage)).await).await;
        assert!(matches!(status, 400 | 401), "{garbage:?}: {status} {body}");
    }
    assert_invalid_token(&app, "garbage", "garbage").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_400() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let expired = app.state().jwt.encode(&Claims::access(alice.id, 0, chrono::Duration::seconds(-5), None)).unwrap();
    assert_invalid_token(&app, &expired, "expired").await;
    let mut early = claims_json(alice);
    early["nbf"] = json!(now() + HOUR);
    assert_invalid_token(&app, &sign(&early, Algorithm::HS256, &secret(&app)), "nbf in the future").await;
}

#[tokio::test]
async fn refresh_and_reset_tokens_are_not_access_tokens() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let (_, login) = try_login(&app, &alice.email, &alice.password).await;
    assert_invalid_token(&app, login["refresh_token"].as_str().unwrap(), "refresh token").await;
    let reset = reset_token_for(&app, alice.id, chrono::Duration::hours(1)).await;
    assert_invalid_token(&app, &reset, "reset token").await;
}

#[tokio::test]
async fn tokens_with_a_malformed_subject_or_impersonator_are_400() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let key = secret(&app);
    for sub in [json!("abc"), json!(""), json!(" 2"), json!(2)] {
        let mut claims = claims_json(world.user("alice"));
        claims["sub"] = sub.clone();
        assert_invalid_token(&app, &sign(&claims, Algorithm::HS256, &key), &format!("sub={sub}")).await;
    }
    let mut claims = claims_json(world.user("alice"));
    claims["kwik_impersonate"] = json!("someone");
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS256, &key), "kwik_impersonate not an integer").await;
    claims.as_object_mut().unwrap().remove("kwik_impersonate");
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS256, &key), "kwik_impersonate missing").await;
}

#[tokio::test]
async fn a_token_for_an_unknown_or_deleted_user_is_403() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let unknown = app.state().jwt.encode(&Claims::access(999, 0, chrono::Duration::hours(1), None)).unwrap();
    assert_detail(me(&app.with_token(&unknown)).await, 403, "Not enough privileges").await;

    let mut db = app.state().db.clone();
    let delete = Query::delete().from_table("users").and_where(Expr::col("id").eq(alice.id)).to_owned();
    assert_eq!(db.execute(&delete).await.unwrap(), 1);
    assert_detail(me(&app.as_user(alice)).await, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn a_signed_token_without_sub_is_403() {
    // CONTRACT §4: "403 ... token without sub".
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let mut claims = claims_json(world.user("alice"));
    claims.as_object_mut().unwrap().remove("sub");
    let token = sign(&claims, Algorithm::HS256, &secret(&app));
    assert_detail(me(&app.with_token(&token)).await, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn authorization_schemes_other_than_bearer_are_401_and_bearer_is_case_insensitive() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let basic = app.anonymous().get("/users/me").header("Authorization", "Basic YWxpY2U6c2VjcmV0").send().await;
    assert_not_authenticated(basic).await;
    let raw = app.anonymous().get("/users/me").header("Authorization", alice.token.clone()).send().await;
    assert_not_authenticated(raw).await;
    // RFC 6750 / RFC 9110 §11.1: the scheme is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let response =
            app.anonymous().get("/users/me").header("Authorization", format!("{scheme} {}", alice.token)).send().await;
        let (status, body) = status_json(response).await;
        assert_eq!(status, 200, "{scheme}: {body}");
        assert_eq!(body["id"], alice.id);
    }
}

// ---------------------------------------------------------------------------------------------
// Revocation (ours: Kwik tokens survive these, CONTRACT §6)
// ---------------------------------------------------------------------------------------------

/// A fresh access token for `user` through the login endpoint.
async fn fresh_token(app: &TestApp, email: &str, password: &str) -> String {
    let (status, body) = try_login(app, email, password).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn tokens_die_after_the_users_own_password_change() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let other_session = fresh_token(&app, &alice.email, &alice.password).await;
    let change = json!({"old_password": alice.password, "new_password": "a-brand-new-password"});
    app.as_user(alice).put("/users/me/password").body_json(&change).send().await.assert_status_is_ok();
    assert_invalid_token(&app, &alice.token, "the token used for the change").await;
    assert_invalid_token(&app, &other_session, "another session").await;
    let new = fresh_token(&app, &alice.email, "a-brand-new-password").await;
    me(&app.with_token(&new)).await.assert_status_is_ok();
}

#[tokio::test]
async fn tokens_die_after_an_administrators_password_change_or_reset() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let admin = app.as_admin().await;
    let change = json!({"old_password": alice.password, "new_password": "changed-by-admin"});
    admin.put(&format!("/users/{}/password", alice.id)).body_json(&change).send().await.assert_status_is_ok();
    assert_invalid_token(&app, &alice.token, "after an admin password change").await;

    let session = fresh_token(&app, &alice.email, "changed-by-admin").await;
    let reset = json!({"new_password": "reset-by-the-admin"});
    admin.put(&format!("/users/{}/reset-password", alice.id)).body_json(&reset).send().await.assert_status_is_ok();
    assert_invalid_token(&app, &session, "after an admin reset").await;
}

#[tokio::test]
async fn tokens_die_after_deactivation_by_the_user_or_an_administrator() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).user("bob", &[]).build(&app).await;
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    app.as_user(alice).put("/users/me").body_json(&json!({"is_active": false})).send().await.assert_status_is_ok();
    assert_invalid_token(&app, &alice.token, "self-deactivated").await;
    let admin = app.as_admin().await;
    admin.put(&format!("/users/{}", bob.id)).body_json(&json!({"is_active": false})).send().await.assert_status_is_ok();
    assert_invalid_token(&app, &bob.token, "deactivated by an admin").await;
    // An impersonation token of a deactivated user is refused as well.
    let (_, body) = status_json(admin.post(&format!("/login/impersonate?user_id={}", bob.id)).send().await).await;
    let impersonation = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = status_json(me(&app.with_token(&impersonation)).await).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn impersonation_tokens_die_when_the_impersonator_is_deactivated() {
    let app = app().await;
    let world = Scenario::new().admin("root").user("alice", &[]).build(&app).await;
    let (root, alice) = (world.user("root"), world.user("alice"));
    let impersonation = impersonation_token(&app, root, alice).await;

    let admin = app.as_admin().await;
    admin
        .put(&format!("/users/{}", root.id))
        .body_json(&json!({"is_active": false}))
        .send()
        .await
        .assert_status_is_ok();
    assert_invalid_token(&app, &impersonation, "impersonation by a deactivated user").await;
    let back = app.with_token(&impersonation).post("/login/stop_impersonating").send().await;
    assert_detail(back, 400, "Invalid token").await;
    // alice's own sessions are not affected.
    me(&app.as_user(alice)).await.assert_status_is_ok();
}

/// Impersonates `target` as `impersonator` and checks that the token works.
async fn impersonation_token(app: &TestApp, impersonator: &TestUser, target: &TestUser) -> String {
    let response = app.as_user(impersonator).post(&format!("/login/impersonate?user_id={}", target.id)).send().await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    me(&app.with_token(&token)).await.assert_status_is_ok();
    token
}

#[tokio::test]
async fn impersonation_tokens_die_when_the_impersonator_changes_password() {
    let app = app().await;
    let world = Scenario::new().admin("root").user("alice", &[]).build(&app).await;
    let (root, alice) = (world.user("root"), world.user("alice"));
    let impersonation = impersonation_token(&app, root, alice).await;

    let changed = app
        .as_user(root)
        .put("/users/me/password")
        .body_json(&json!({"old_password": root.password, "new_password": "a-brand-new-password-42"}))
        .send()
        .await;
    changed.assert_status_is_ok();
    // The impersonator's sessions are revoked: the one acting as alice too.
    assert_invalid_token(&app, &impersonation, "impersonation after the impersonator's password change").await;
    // alice's own sessions are not affected.
    me(&app.as_user(alice)).await.assert_status_is_ok();
}

#[tokio::test]
async fn impersonation_tokens_die_when_the_impersonator_loses_the_permission() {
    let app = app().await;
    let world = Scenario::new()
        .role("impersonators", &["impersonification"])
        .user("support", &["impersonators"])
        .user("alice", &[])
        .build(&app)
        .await;
    let impersonation = impersonation_token(&app, world.user("support"), world.user("alice")).await;

    let role = world.role("impersonators");
    let admin = app.as_admin().await;
    admin
        .put(&format!("/roles/{}", role.id))
        .body_json(&json!({"is_active": false}))
        .send()
        .await
        .assert_status_is_ok();
    assert_invalid_token(&app, &impersonation, "impersonation after the role was deactivated").await;
}

#[tokio::test]
async fn an_impersonation_claim_without_the_impersonators_version_is_400() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let key = secret(&app);
    let mut claims = claims_json(world.user("alice"));
    claims["kwik_impersonate"] = json!("1");
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS256, &key), "no kwik_impersonator_ver").await;
    claims["kwik_impersonate"] = json!("");
    claims["kwik_impersonator_ver"] = json!(0);
    assert_invalid_token(&app, &sign(&claims, Algorithm::HS256, &key), "a version without an impersonator").await;
    claims["kwik_impersonate"] = json!("1");
    me(&app.with_token(&sign(&claims, Algorithm::HS256, &key))).await.assert_status_is_ok();
}

#[tokio::test]
async fn a_profile_update_without_deactivation_keeps_tokens() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    app.as_user(alice)
        .put("/users/me")
        .body_json(&json!({"name": "Alicia", "is_active": true}))
        .send()
        .await
        .assert_status_is_ok();
    me(&app.as_user(alice)).await.assert_status_is_ok();
}

// ---------------------------------------------------------------------------------------------
// API keys (ours)
// ---------------------------------------------------------------------------------------------

/// Creates an API key as `user` (re-authenticating with the user's password); `(key id, secret
/// key)`.
async fn create_key(app: &TestApp, user: &TestUser, name: &str) -> (i64, String) {
    let body = json!({"name": name, "password": user.password});
    let (status, body) = status_json(app.as_user(user).post("/api-keys/").body_json(&body).send().await).await;
    assert_eq!(status, 200, "{body}");
    let key = body["key"].as_str().unwrap_or_else(|| panic!("no key: {body}")).to_owned();
    (body["profile"]["id"].as_i64().unwrap(), key)
}

fn set_api_key_column(
    key_id: i64,
    column: &'static str,
    at: chrono::DateTime<chrono::Utc>,
) -> sea_query::UpdateStatement {
    Query::update().table("api_keys").value(column, at).and_where(Expr::col("id").eq(key_id)).to_owned()
}

#[tokio::test]
async fn api_key_is_shown_once_and_authenticates_as_its_owner() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let client = app.as_user(alice);
    let body = json!({"name": "ci", "password": alice.password});
    let (status, created) = status_json(client.post("/api-keys/").body_json(&body).send().await).await;
    assert_eq!(status, 200, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("kwik_"), "{key}");
    assert_eq!(
        (created["profile"]["name"].clone(), created["profile"]["user_id"].clone()),
        (json!("ci"), json!(alice.id))
    );

    let listing = client.get("/api-keys/").send().await;
    let text = listing.0.into_body().into_string().await.unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(list[0].get("key").is_none(), "the secret is never listed: {list}");
    assert!(!text.contains(&key), "the secret is never listed: {text}");

    let (status, body) = status_json(me(&app.with_api_key(&key)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, alice.id, &alice.email, true);
    assert_not_authenticated(app.anonymous().get("/api-keys/").send().await).await;
}

#[tokio::test]
async fn api_keys_carry_exactly_their_owners_permissions() {
    let app = app().await;
    let world =
        Scenario::new().role("readers", &["user_read"]).user("alice", &[]).user("rita", &["readers"]).build(&app).await;
    let (_, alice_key) = create_key(&app, world.user("alice"), "alice").await;
    let (_, rita_key) = create_key(&app, world.user("rita"), "rita").await;
    let denied = app.with_api_key(&alice_key).get("/users/").send().await;
    assert_detail(denied, 403, "Not enough privileges").await;
    app.with_api_key(&rita_key).get("/users/").send().await.assert_status_is_ok();
    let create = app.with_api_key(&rita_key).post("/users/").body_json(&json!({})).send().await;
    assert_detail(create, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn unknown_malformed_expired_and_revoked_api_keys_are_400() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let client = app.as_user(world.user("alice"));
    let (expiring_id, expiring) = create_key(&app, world.user("alice"), "expiring").await;
    let (revoked_id, revoked) = create_key(&app, world.user("alice"), "revoked").await;
    let (_, good) = create_key(&app, world.user("alice"), "good").await;

    let mut db = app.state().db.clone();
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    db.execute(&set_api_key_column(expiring_id, "expires_at", past)).await.unwrap();
    let (status, body) = status_json(client.delete(&format!("/api-keys/{revoked_id}")).send().await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["revoked_at"].is_string(), "{body}");

    // Same prefix, wrong secret.
    let mut wrong_secret = good.clone();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'B' } else { 'A' });
    for (key, what) in [
        (expiring.as_str(), "expired"),
        (revoked.as_str(), "revoked"),
        (wrong_secret.as_str(), "wrong secret"),
        ("kwik_AAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown"),
        ("not-a-key", "malformed"),
    ] {
        let (status, body) = status_json(me(&app.with_api_key(key)).await).await;
        assert_eq!((status, body["detail"].clone()), (400, json!("Invalid token")), "{what}: {body}");
    }
    me(&app.with_api_key(&good)).await.assert_status_is_ok();
}

#[tokio::test]
async fn revoking_another_users_api_key_needs_api_key_revoke() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).user("bob", &[]).build(&app).await;
    let (key_id, key) = create_key(&app, world.user("alice"), "alice").await;
    let bob = app.as_user(world.user("bob"));
    assert_detail(bob.post(&format!("/api-keys/{key_id}/revoke")).send().await, 403, "Not enough privileges").await;
    // Owners-only route: someone else's key is not found.
    let (status, body) = status_json(bob.delete(&format!("/api-keys/{key_id}")).send().await).await;
    assert_eq!(status, 404, "{body}");
    me(&app.with_api_key(&key)).await.assert_status_is_ok();

    let admin = app.as_admin().await;
    let (status, body) = status_json(admin.post(&format!("/api-keys/{key_id}/revoke")).send().await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], key_id);
    assert!(body["revoked_at"].is_string(), "{body}");
    assert_detail(me(&app.with_api_key(&key)).await, 400, "Invalid token").await;
    let (status, body) = status_json(admin.post("/api-keys/999/revoke").send().await).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn api_keys_of_a_deactivated_user_stop_working() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).build(&app).await;
    let alice = world.user("alice");
    let (_, key) = create_key(&app, alice, "alice").await;
    let admin = app.as_admin().await;
    admin
        .put(&format!("/users/{}", alice.id))
        .body_json(&json!({"is_active": false}))
        .send()
        .await
        .assert_status_is_ok();
    let (status, body) = status_json(me(&app.with_api_key(&key)).await).await;
    assert_eq!(status, 400, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Secrets never leak
// ---------------------------------------------------------------------------------------------

async fn text_of(response: TestResponse) -> (u16, String) {
    let status = response.0.status().as_u16();
    (status, response.0.into_body().into_string().await.unwrap())
}

fn assert_no_secret(text: &str, password: &str, what: &str) {
    for secret in ["hashed_password", "$argon2", "$2b$", password] {
        assert!(!text.contains(secret), "{what} leaks {secret:?}: {text}");
    }
}

#[tokio::test]
async fn user_endpoints_never_return_password_hashes_or_passwords() {
    let app = app().await;
    let world = Scenario::new().role("readers", &["user_read"]).user("alice", &["readers"]).build(&app).await;
    let alice = world.user("alice");
    let admin = app.as_admin().await;
    let password = "a-secret-password-1";
    let body = json!({"name": "N", "surname": "S", "email": "n@example.com", "password": password});
    let (status, text) = text_of(admin.post("/users/").body_json(&body).send().await).await;
    assert_eq!(status, 200, "{text}");
    assert_no_secret(&text, password, "POST /users/");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"].as_i64().unwrap();

    let change = json!({"old_password": password, "new_password": "another-secret-pw-2"});
    let reset = json!({"new_password": "a-third-secret-pw-3"});
    let requests = [
        ("GET /users/", admin.get("/users/").send().await),
        ("GET /users/{id}", admin.get(&format!("/users/{id}")).send().await),
        ("PUT /users/{id}", admin.put(&format!("/users/{id}")).body_json(&json!({"name": "M"})).send().await),
        ("GET /users/me", app.as_user(alice).get("/users/me").send().await),
        ("POST /login/test-token", app.as_user(alice).post("/login/test-token").send().await),
        ("PUT /users/{id}/password", admin.put(&format!("/users/{id}/password")).body_json(&change).send().await),
        (
            "PUT /users/{id}/reset-password",
            admin.put(&format!("/users/{id}/reset-password")).body_json(&reset).send().await,
        ),
    ];
    for (what, response) in requests {
        let (status, text) = text_of(response).await;
        assert_eq!(status, 200, "{what}: {text}");
        for password in [password, "another-secret-pw-2", "a-third-secret-pw-3", &alice.password] {
            assert_no_secret(&text, password, what);
        }
    }
}

#[tokio::test]
async fn validation_errors_never_echo_passwords() {
    let app = app().await;
    let admin = app.as_admin().await;
    let too_long = format!("{}-secret", "x".repeat(70));
    let bodies = [
        ("/users/", json!({"name": "N", "surname": "S", "email": "n@example.com", "password": too_long})),
        ("/users/", json!({"name": "N", "surname": "S", "email": "n@example.com", "password": "tiny-secret"})),
        ("/users/", json!({"name": "", "surname": "S", "email": "bad", "password": 12_345_678_901_234_i64})),
    ];
    for (path, body) in bodies {
        let (status, text) = text_of(admin.post(path).body_json(&body).send().await).await;
        assert_eq!(status, 422, "{body}: {text}");
        assert!(!text.contains("secret") && !text.contains("12345678901234"), "422 echoes the password: {text}");
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let issue =
            parsed["detail"].as_array().unwrap().iter().find(|i| i["loc"] == json!(["body", "password"])).cloned();
        assert_eq!(issue.map(|i| i["input"].clone()), Some(json!("[redacted]")), "{text}");
    }
    let change = json!({"old_password": ADMIN_PASSWORD, "new_password": "tiny-secret"});
    let (status, text) = text_of(admin.put("/users/me/password").body_json(&change).send().await).await;
    assert_eq!(status, 422, "{text}");
    assert!(!text.contains("secret") && !text.contains(ADMIN_PASSWORD), "{text}");
    let reset = json!({"token": "t", "password": "tiny-secret"});
    let (status, text) = text_of(app.anonymous().post("/login/reset-password").body_json(&reset).send().await).await;
    assert_eq!(status, 422, "{text}");
    assert!(!text.contains("secret"), "{text}");
    let login = crate::login::login_with(&app, &[("password", "my-login-secret")]).await;
    let (status, text) = text_of(login).await;
    assert_eq!(status, 422, "{text}");
    assert!(!text.contains("my-login-secret"), "{text}");
    let (status, text) =
        text_of(crate::login::login_with(&app, &[("username", ADMIN_EMAIL), ("password", "wrong-secret")]).await).await;
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
}

// Racing registrations (several threads released by one barrier, checked on the rows): see
// `tests/races.rs`.
