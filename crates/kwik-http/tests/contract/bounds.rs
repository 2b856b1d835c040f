//! Input bounds of the built-in API (issue 11 §4) and keys migrated from Kwik (§5).

use kwik_auth::ApiKey;
use kwik_core::Queries;
use kwik_testing::{Scenario, assert_validation};
use sea_query::Query;
use serde_json::json;

use crate::common::app;
use crate::roles::{id_of, ok};

/// A syntactically valid address of `len` characters (a 64-character local part, labels of at
/// most 63).
fn email_of_length(len: usize) -> String {
    let last = len - 64 - 1 - 63 - 1 - 63 - 1 - 4;
    format!("{}@{}.{}.{}.com", "l".repeat(64), "a".repeat(63), "b".repeat(63), "c".repeat(last))
}

#[tokio::test]
async fn names_and_emails_are_bounded() {
    let app = app().await;
    let admin = app.as_admin().await;
    let long = "x".repeat(101);
    let huge = "y".repeat(200_000);
    for (path, body, loc) in [
        ("/roles/", json!({"name": long, "is_active": true}), "name"),
        ("/roles/", json!({"name": huge, "is_active": true}), "name"),
        ("/permissions/", json!({"name": long}), "name"),
        (
            "/users/",
            json!({"name": long, "surname": "s", "email": "a@example.com", "password": "a-long-enough-password"}),
            "name",
        ),
        (
            "/users/",
            json!({"name": "n", "surname": huge, "email": "a@example.com", "password": "a-long-enough-password"}),
            "surname",
        ),
        (
            "/users/",
            json!({"name": "n", "surname": "s", "email": email_of_length(255), "password": "a-long-enough-password"}),
            "email",
        ),
    ] {
        let issue = assert_validation(admin.post(path).body_json(&body).send().await, &["body", loc]).await;
        assert_eq!(issue["type"], "string_too_long", "{path} {loc}: {issue}");
        assert!(issue["input"].as_str().is_some_and(|s| s.len() <= 100), "echo is cut: {issue}");
    }
    // At the bounds, accepted.
    ok(admin.post("/roles/").body_json(&json!({"name": "r".repeat(100), "is_active": true})).send().await).await;
    let email = email_of_length(254);
    let user = json!({"name": "n".repeat(100), "surname": "s", "email": email, "password": "a-long-enough-password"});
    let created = ok(admin.post("/users/").body_json(&user).send().await).await;
    // Updates are bounded too.
    let path = format!("/users/{}", id_of(&created));
    assert_validation(admin.put(&path).body_json(&json!({"name": long})).send().await, &["body", "name"]).await;
    let world = Scenario::new().role("r", &[]).build(&app).await;
    let role = format!("/roles/{}", world.role("r").id);
    assert_validation(admin.put(&role).body_json(&json!({"name": long})).send().await, &["body", "name"]).await;
}

#[tokio::test]
async fn api_keys_migrated_from_kwik_keep_working() {
    // Kwik 1.13: `X-API-Key: tbk_...`, the SHA-256 of the whole key in `api_keys.key_hash`.
    let app = app().await;
    let world = Scenario::new().role("readers", &["user_read"]).user("alice", &["readers"]).build(&app).await;
    let alice = world.user("alice");
    let kwik_key = "tbk_Q2hhbmdlIG1lOiBhIGtleSBtaWdyYXRlZCBmcm9tIEt3aWs";
    let mut insert = Query::insert()
        .into_table("api_keys")
        .columns(["user_id", "name", "prefix", "key_hash", "creation_time"])
        .to_owned();
    insert
        .values([
            alice.id.into(),
            "migrated from kwik".into(),
            "tbk_1".into(),
            ApiKey::hash_key(kwik_key).into(),
            kwik_core::now().into(),
        ])
        .unwrap();
    app.state().db.clone().execute(&insert).await.unwrap();

    let me = ok(app.with_api_key(kwik_key).get("/users/me").send().await).await;
    assert_eq!(me["id"], alice.id);
    ok(app.with_api_key(kwik_key).get("/users/").send().await).await;
    // Another `tbk_` key is nobody's.
    let forged = app.with_api_key("tbk_Q2hhbmdlIG1lOiBhIGtleSBtaWdyYXRlZCBmcm9tIEt3aWX").get("/users/me").send().await;
    assert_eq!(forged.0.status(), 400);
    // Revoking it works as for our own keys.
    let listed = ok(app.as_user(alice).get("/api-keys/").send().await).await;
    let key_id = id_of(&listed[0]);
    ok(app.as_user(alice).delete(&format!("/api-keys/{key_id}")).send().await).await;
    assert_eq!(app.with_api_key(kwik_key).get("/users/me").send().await.0.status(), 400);
}
