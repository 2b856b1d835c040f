//! `/users/...` (CONTRACT §3, §4 check order, §5 listing, §9.2, §9.6, §9.7, §9.8).

use kwik_testing::{ADMIN_EMAIL, Scenario, TestApp, TestClient, World, assert_detail, assert_validation};
use poem::test::TestResponse;
use serde_json::{Value, json};

use crate::common::app;
use crate::login::{
    admin_id, assert_incorrect_credentials, assert_not_authenticated, assert_profile, status_json, try_login,
};

/// A registration body with a policy-compliant password.
fn registration(email: &str) -> Value {
    json!({"name": "Ada", "surname": "Lovelace", "email": email, "password": "correct-horse-battery"})
}

async fn create_user(client: &TestClient<'_>, body: &Value) -> TestResponse {
    client.post("/users/").body_json(body).send().await
}

/// `GET {path}` as `client`, asserting 200; the body.
async fn get_ok(client: &TestClient<'_>, path: &str) -> Value {
    let (status, body) = status_json(client.get(path).send().await).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The `name` field of every item of a list.
fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The `email` field of every row of a page.
fn emails(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items
}

/// Four users besides the administrator (id 1): carol (inactive), alice, bob, dave, created in
/// that order so that id order differs from name order.
async fn four_users(app: &TestApp) -> World {
    Scenario::new()
        .role("reader", &["user_read"])
        .inactive_user("carol", &[])
        .user("alice", &["reader"])
        .user("bob", &[])
        .user("dave", &[])
        .build(app)
        .await
}

// ---------------------------------------------------------------------------------------------
// GET /users/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_users_is_paginated_in_id_order_with_profiles() {
    let app = app().await;
    let world = four_users(&app).await;
    let page = get_ok(&app.as_admin().await, "/users/").await;
    assert_eq!(page["total"], 5, "{page}");
    assert_eq!(
        emails(&page),
        [ADMIN_EMAIL, "carol@example.com", "alice@example.com", "bob@example.com", "dave@example.com"]
    );
    assert_profile(&page["data"][1], world.user("carol").id, "carol@example.com", false);
    let mut keys: Vec<&String> = page.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["data", "total"], "Paginated fields: {page}");
}

#[tokio::test]
async fn list_users_skip_and_limit_page_while_total_counts_all() {
    let app = app().await;
    four_users(&app).await;
    let admin = app.as_admin().await;
    let page = get_ok(&admin, "/users/?skip=1&limit=2").await;
    assert_eq!(page["total"], 5, "{page}");
    assert_eq!(emails(&page), ["carol@example.com", "alice@example.com"]);
    let empty = get_ok(&admin, "/users/?limit=0").await;
    assert_eq!((empty["total"].clone(), empty["data"].clone()), (json!(5), json!([])));
    let past_end = get_ok(&admin, "/users/?skip=10").await;
    assert_eq!((past_end["total"].clone(), past_end["data"].clone()), (json!(5), json!([])));
}

#[tokio::test]
async fn list_users_sorting_orders_by_the_given_fields() {
    let app = app().await;
    four_users(&app).await;
    let admin = app.as_admin().await;
    let by_name_desc = get_ok(&admin, "/users/?sorting=name:desc").await;
    assert_eq!(names(&by_name_desc["data"]), ["dave", "carol", "bob", "alice", "admin"]);
    let by_email = get_ok(&admin, "/users/?sorting=email").await;
    assert_eq!(names(&by_email["data"]), ["admin", "alice", "bob", "carol", "dave"]);
    // Inactive first (false < true), then by name descending.
    let combined = get_ok(&admin, "/users/?sorting=is_active:asc,name:desc").await;
    assert_eq!(names(&combined["data"]), ["carol", "dave", "bob", "alice", "admin"]);
    // Non-word junk is skipped: default order.
    let junk = get_ok(&admin, "/users/?sorting=;;").await;
    assert_eq!(names(&junk["data"]), ["admin", "carol", "alice", "bob", "dave"]);
}

#[tokio::test]
async fn list_users_sorting_outside_the_allow_list_is_400() {
    let app = app().await;
    let admin = app.as_admin().await;
    let response = admin.get("/users/?sorting=hashed_password").send().await;
    assert_detail(response, 400, "Invalid sort field 'hashed_password' for model User").await;
    // Directions are lowercase only: `DESC` becomes a field.
    let response = admin.get("/users/?sorting=name:DESC").send().await;
    assert_detail(response, 400, "Invalid sort field 'DESC' for model User").await;
}

#[tokio::test]
async fn list_users_filter_key_and_value_filter_by_equality() {
    let app = app().await;
    four_users(&app).await;
    let admin = app.as_admin().await;
    let inactive = get_ok(&admin, "/users/?filter_key=is_active&value=false").await;
    assert_eq!((inactive["total"].clone(), emails(&inactive)), (json!(1), vec!["carol@example.com".to_owned()]));
    let active = get_ok(&admin, "/users/?filter_key=is_active&value=true&limit=1").await;
    assert_eq!(active["total"], 4, "total counts the filtered rows before limit: {active}");
    assert_eq!(emails(&active), [ADMIN_EMAIL]);
    let bob = get_ok(&admin, "/users/?filter_key=email&value=bob@example.com").await;
    assert_eq!((bob["total"].clone(), emails(&bob)), (json!(1), vec!["bob@example.com".to_owned()]));
    let nobody = get_ok(&admin, "/users/?filter_key=name&value=zed").await;
    assert_eq!((nobody["total"].clone(), nobody["data"].clone()), (json!(0), json!([])));
    // Ignored unless both are present.
    assert_eq!(get_ok(&admin, "/users/?filter_key=name").await["total"], 5);
    assert_eq!(get_ok(&admin, "/users/?value=bob").await["total"], 5);
}

#[tokio::test]
async fn list_users_filter_outside_the_allow_list_is_400_and_checked_before_sorting() {
    let app = app().await;
    let admin = app.as_admin().await;
    let response = admin.get("/users/?filter_key=hashed_password&value=x").send().await;
    assert_detail(response, 400, "Invalid filter field 'hashed_password' for model User").await;
    let response = admin.get("/users/?filter_key=token_version&value=0&sorting=nope").send().await;
    assert_detail(response, 400, "Invalid filter field 'token_version' for model User").await;
}

#[tokio::test]
async fn list_users_filter_value_the_column_cannot_take_is_400() {
    // CONTRACT §9.8: Kwik answers 500; the intended answer is 400.
    let app = app().await;
    let admin = app.as_admin().await;
    for query in ["/users/?filter_key=id&value=abc", "/users/?filter_key=is_active&value=maybe"] {
        let (status, body) = status_json(admin.get(query).send().await).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{query}: {body}");
    }
}

#[tokio::test]
async fn list_users_negative_or_non_integer_skip_and_limit_are_422() {
    // CONTRACT §9.7: Kwik answers 500 for negatives; the intended answer is 422.
    let app = app().await;
    let admin = app.as_admin().await;
    let issue = assert_validation(admin.get("/users/?skip=-1").send().await, &["query", "skip"]).await;
    assert_eq!(issue["type"], "greater_than_equal", "{issue}");
    assert_validation(admin.get("/users/?limit=-5").send().await, &["query", "limit"]).await;
    let issue = assert_validation(admin.get("/users/?limit=ten").send().await, &["query", "limit"]).await;
    assert_eq!(issue["type"], "int_parsing", "{issue}");
    assert_validation(admin.get("/users/?skip=1.5").send().await, &["query", "skip"]).await;
}

#[tokio::test]
async fn list_users_requires_user_read() {
    let app = app().await;
    let world = four_users(&app).await;
    assert_not_authenticated(app.anonymous().get("/users/").send().await).await;
    assert_detail(app.with_token("x.y.z").get("/users/").send().await, 400, "Invalid token").await;
    assert_detail(app.as_user(world.user("bob")).get("/users/").send().await, 403, "Not enough privileges").await;
    let page = get_ok(&app.as_user(world.user("alice")), "/users/").await;
    assert_eq!(page["total"], 5);
}

#[tokio::test]
async fn collection_route_without_trailing_slash_is_404() {
    let app = app().await;
    let admin = app.as_admin().await;
    assert_detail(admin.get("/users").send().await, 404, "Not Found").await;
    assert_detail(admin.post("/users").body_json(&registration("x@example.com")).send().await, 404, "Not Found").await;
}

// ---------------------------------------------------------------------------------------------
// POST /users/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_user_returns_the_profile_and_the_user_can_log_in() {
    let app = app().await;
    let admin = app.as_admin().await;
    let (status, body) = status_json(create_user(&admin, &registration("ada@example.com")).await).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_i64().unwrap();
    assert_profile(&body, id, "ada@example.com", true);
    assert_eq!((body["name"].clone(), body["surname"].clone()), (json!("Ada"), json!("Lovelace")));
    assert_eq!(get_ok(&admin, &format!("/users/{id}")).await, body);
    assert_eq!(try_login(&app, "ada@example.com", "correct-horse-battery").await.0, 200);
}

#[tokio::test]
async fn create_user_with_a_taken_email_is_409() {
    let app = app().await;
    let admin = app.as_admin().await;
    create_user(&admin, &registration("ada@example.com")).await.assert_status_is_ok();
    assert_detail(create_user(&admin, &registration("ada@example.com")).await, 409, "Entity already exists").await;
    assert_detail(create_user(&admin, &registration(ADMIN_EMAIL)).await, 409, "Entity already exists").await;
    assert_eq!(get_ok(&admin, "/users/").await["total"], 2);
}

#[tokio::test]
async fn create_user_lower_cases_the_email_domain_only() {
    let app = app().await;
    let admin = app.as_admin().await;
    let (status, body) = status_json(create_user(&admin, &registration("MiXed@EXAMPLE.Com")).await).await;
    assert_eq!((status, body["email"].clone()), (200, json!("MiXed@example.com")), "{body}");
    // Same address after normalisation: duplicate.
    assert_detail(create_user(&admin, &registration("MiXed@example.COM")).await, 409, "Entity already exists").await;
    // The local part is kept as typed: another address.
    let (status, body) = status_json(create_user(&admin, &registration("mixed@example.com")).await).await;
    assert_eq!((status, body["email"].clone()), (200, json!("mixed@example.com")), "{body}");
}

#[tokio::test]
async fn create_user_validates_every_field_at_its_location() {
    let app = app().await;
    let admin = app.as_admin().await;
    let mut body = registration("not-an-email");
    assert_validation(create_user(&admin, &body).await, &["body", "email"]).await;
    body = registration("ada@example.com");
    body["name"] = json!("");
    assert_validation(create_user(&admin, &body).await, &["body", "name"]).await;
    body = registration("ada@example.com");
    body.as_object_mut().unwrap().remove("surname");
    let issue = assert_validation(create_user(&admin, &body).await, &["body", "surname"]).await;
    assert_eq!(issue["type"], "missing", "{issue}");
    assert_validation(create_user(&admin, &json!({})).await, &["body", "name"]).await;
    let empty = admin.post("/users/").content_type("application/json").body("").send().await;
    assert_validation(empty, &["body"]).await;
    let not_json =
        admin.post("/users/").content_type("text/plain").body(registration("a@example.com").to_string()).send().await;
    assert_validation(not_json, &["body"]).await;
    assert_eq!(get_ok(&admin, "/users/").await["total"], 1, "nothing was created");
}

#[tokio::test]
async fn create_user_applies_the_password_policy_in_characters_and_utf8_bytes() {
    let app = app().await;
    let admin = app.as_admin().await;
    let with_password = |email: &str, password: &str| {
        let mut body = registration(email);
        body["password"] = json!(password);
        body
    };
    let issue = assert_validation(
        create_user(&admin, &with_password("a@example.com", "elevenchars")).await,
        &["body", "password"],
    )
    .await;
    assert_eq!(issue["msg"], "Value error, password must be at least 12 characters", "{issue}");
    // 37 × "é" = 37 characters but 74 bytes.
    let too_long = "é".repeat(37);
    let issue =
        assert_validation(create_user(&admin, &with_password("b@example.com", &too_long)).await, &["body", "password"])
            .await;
    assert_eq!(issue["msg"], "Value error, password must not exceed 72 bytes when UTF-8 encoded", "{issue}");
    let issue = assert_validation(
        create_user(&admin, &with_password("c@example.com", &"€".repeat(25))).await,
        &["body", "password"],
    )
    .await;
    assert_eq!(issue["msg"], "Value error, password must not exceed 72 bytes when UTF-8 encoded", "{issue}");
    // 11 four-byte characters: 44 bytes, but under 12 characters.
    let issue = assert_validation(
        create_user(&admin, &with_password("d@example.com", &"🦀".repeat(11))).await,
        &["body", "password"],
    )
    .await;
    assert_eq!(issue["msg"], "Value error, password must be at least 12 characters", "{issue}");
    // Exactly 72 bytes, and 12 multi-byte characters, are fine.
    let exactly_72 = "é".repeat(36);
    create_user(&admin, &with_password("e@example.com", &exactly_72)).await.assert_status_is_ok();
    create_user(&admin, &with_password("f@example.com", &"🦀".repeat(12))).await.assert_status_is_ok();
    assert_eq!(try_login(&app, "e@example.com", &exactly_72).await.0, 200);
}

#[tokio::test]
async fn create_user_accepts_lax_booleans_for_is_active() {
    let app = app().await;
    let admin = app.as_admin().await;
    for (n, (input, expected)) in [
        (json!("yes"), true),
        (json!(1), true),
        (json!("true"), true),
        (json!(0), false),
        (json!("no"), false),
        (json!(false), false),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = registration(&format!("lax{n}@example.com"));
        body["is_active"] = input.clone();
        let (status, created) = status_json(create_user(&admin, &body).await).await;
        assert_eq!((status, created["is_active"].clone()), (200, json!(expected)), "is_active={input}: {created}");
    }
    let mut body = registration("maybe@example.com");
    body["is_active"] = json!("maybe");
    assert_validation(create_user(&admin, &body).await, &["body", "is_active"]).await;
    // Unknown fields are ignored.
    let mut body = registration("extra@example.com");
    body["role"] = json!("admin");
    body["hashed_password"] = json!("$argon2id$forged");
    create_user(&admin, &body).await.assert_status_is_ok();
    assert_eq!(try_login(&app, "extra@example.com", "correct-horse-battery").await.0, 200);
}

#[tokio::test]
async fn create_user_requires_user_create_and_checks_it_before_validation() {
    let app = app().await;
    let world =
        Scenario::new().role("creators", &["user_create"]).user("bob", &[]).user("hr", &["creators"]).build(&app).await;
    assert_not_authenticated(app.anonymous().post("/users/").body_json(&json!({})).send().await).await;
    assert_detail(create_user(&app.with_token("bad"), &json!({})).await, 400, "Invalid token").await;
    // CONTRACT §4: a user without user_create posting {} gets 403, not 422.
    assert_detail(create_user(&app.as_user(world.user("bob")), &json!({})).await, 403, "Not enough privileges").await;
    assert_validation(create_user(&app.as_user(world.user("hr")), &json!({})).await, &["body", "name"]).await;
    let (status, body) =
        status_json(create_user(&app.as_user(world.user("hr")), &registration("new@example.com")).await).await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------
// /users/me ...
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn me_returns_the_callers_profile_and_wins_over_user_id() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = world.user("bob");
    // bob has no user_read: were `/users/me` routed to `/users/{user_id}`, this would be 403 or 422.
    let me = get_ok(&app.as_user(bob), "/users/me").await;
    assert_profile(&me, bob.id, &bob.email, true);
    assert_eq!(get_ok(&app.as_user(bob), "/users/me/permissions").await, json!([]));
    assert_eq!(get_ok(&app.as_user(bob), "/users/me/roles").await, json!([]));
    assert_not_authenticated(app.anonymous().get("/users/me").send().await).await;
    assert_detail(app.with_token("bad").get("/users/me").send().await, 400, "Invalid token").await;
}

#[tokio::test]
async fn update_me_changes_my_profile() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = app.as_user(world.user("bob"));
    let response =
        bob.put("/users/me").body_json(&json!({"name": "Robert", "email": "Robert@EXAMPLE.org"})).send().await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, world.user("bob").id, "Robert@example.org", true);
    assert_eq!((body["name"].clone(), body["surname"].clone()), (json!("Robert"), json!("Test")));
    assert_eq!(get_ok(&bob, "/users/me").await, body);
}

#[tokio::test]
async fn update_me_needs_at_least_one_field_and_valid_values() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = app.as_user(world.user("bob"));
    assert_validation(bob.put("/users/me").body_json(&json!({})).send().await, &["body"]).await;
    assert_validation(bob.put("/users/me").body_json(&json!({"name": null})).send().await, &["body"]).await;
    assert_validation(bob.put("/users/me").body_json(&json!({"email": "nope"})).send().await, &["body", "email"]).await;
    assert_validation(
        bob.put("/users/me").body_json(&json!({"is_active": "maybe"})).send().await,
        &["body", "is_active"],
    )
    .await;
    assert_not_authenticated(app.anonymous().put("/users/me").body_json(&json!({"name": "x"})).send().await).await;
}

#[tokio::test]
async fn update_me_to_a_taken_email_is_409() {
    // CONTRACT §9.2: Kwik answers 500 (unique index); the intended answer is 409.
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).user("bob", &[]).build(&app).await;
    let bob = app.as_user(world.user("bob"));
    let response = bob.put("/users/me").body_json(&json!({"email": "alice@example.com"})).send().await;
    assert_detail(response, 409, "Entity already exists").await;
    // Keeping one's own email is not a conflict.
    bob.put("/users/me")
        .body_json(&json!({"email": "bob@example.com", "name": "Bobby"}))
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn users_may_deactivate_themselves_and_their_token_then_stops_working() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = world.user("bob");
    let response = app.as_user(bob).put("/users/me").body_json(&json!({"is_active": "no"})).send().await;
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, bob.id, &bob.email, false);
    assert_detail(app.as_user(bob).get("/users/me").send().await, 400, "Invalid token").await;
    let (status, body) = try_login(&app, &bob.email, &bob.password).await;
    assert_eq!((status, body["detail"].clone()), (400, json!("Inactive user")));
}

#[tokio::test]
async fn my_permissions_are_effective_through_active_roles_each_once() {
    // CONTRACT §9.6: Kwik repeats a permission granted by two roles; we list it once.
    let app = app().await;
    let world = Scenario::new()
        .role("readers", &["user_read", "role_read"])
        .role("auditors", &["user_read"])
        .inactive_role("retired", &["permission_delete"])
        .user("alice", &["readers", "auditors", "retired"])
        .build(&app)
        .await;
    let permissions = get_ok(&app.as_user(world.user("alice")), "/users/me/permissions").await;
    assert_eq!(sorted(names(&permissions)), ["role_read", "user_read"], "{permissions}");
    let user_read = world.permission("user_read");
    let item = permissions.as_array().unwrap().iter().find(|p| p["name"] == "user_read").unwrap();
    assert_eq!(item, &json!({"id": user_read.id, "name": "user_read"}));
    // The inactive role grants nothing, so the permission is not held either.
    let delete = app
        .as_user(world.user("alice"))
        .delete(&format!("/permissions/{}", world.permission("permission_delete").id))
        .send()
        .await;
    assert_detail(delete, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn my_roles_lists_active_roles_only() {
    let app = app().await;
    let world = Scenario::new()
        .role("readers", &["user_read"])
        .inactive_role("retired", &["role_read"])
        .user("alice", &["readers", "retired"])
        .user("bob", &["readers"])
        .build(&app)
        .await;
    let roles = get_ok(&app.as_user(world.user("alice")), "/users/me/roles").await;
    let readers = world.role("readers");
    assert_eq!(roles, json!([{"id": readers.id, "name": "readers", "is_active": true, "user_count": 2}]));
}

#[tokio::test]
async fn change_my_password_checks_the_old_one_and_revokes_my_tokens() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = world.user("bob");
    let client = app.as_user(bob);
    let wrong = client
        .put("/users/me/password")
        .body_json(&json!({"old_password": "not-my-password", "new_password": "a-brand-new-password"}))
        .send()
        .await;
    assert_incorrect_credentials(wrong).await;
    let weak = client
        .put("/users/me/password")
        .body_json(&json!({"old_password": bob.password, "new_password": "short"}))
        .send()
        .await;
    assert_validation(weak, &["body", "new_password"]).await;
    assert_validation(
        client.put("/users/me/password").body_json(&json!({"new_password": "a-brand-new-password"})).send().await,
        &["body", "old_password"],
    )
    .await;

    let ok = client
        .put("/users/me/password")
        .body_json(&json!({"old_password": bob.password, "new_password": "a-brand-new-password"}))
        .send()
        .await;
    let (status, body) = status_json(ok).await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, bob.id, &bob.email, true);
    assert_eq!(try_login(&app, &bob.email, "a-brand-new-password").await.0, 200);
    assert_eq!(try_login(&app, &bob.email, &bob.password).await.0, 401);
    assert_detail(client.get("/users/me").send().await, 400, "Invalid token").await;
}

// ---------------------------------------------------------------------------------------------
// /users/{user_id} ...
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_user_by_id() {
    let app = app().await;
    let world = four_users(&app).await;
    let carol = world.user("carol");
    let admin = app.as_admin().await;
    assert_profile(&get_ok(&admin, &format!("/users/{}", carol.id)).await, carol.id, &carol.email, false);
    assert_detail(admin.get("/users/999").send().await, 404, "Entity [users] with id=999 does not exist").await;
    let bob = app.as_user(world.user("bob"));
    assert_detail(bob.get(&format!("/users/{}", carol.id)).send().await, 403, "Not enough privileges").await;
    assert_not_authenticated(app.anonymous().get(&format!("/users/{}", carol.id)).send().await).await;
    // alice holds user_read through a role.
    get_ok(&app.as_user(world.user("alice")), &format!("/users/{}", carol.id)).await;
}

#[tokio::test]
async fn a_non_integer_user_id_in_the_path_is_422_at_path_user_id() {
    let app = app().await;
    let admin = app.as_admin().await;
    let issue = assert_validation(admin.get("/users/abc").send().await, &["path", "user_id"]).await;
    assert_eq!(issue["type"], "int_parsing", "{issue}");
    let update = admin.put("/users/abc").body_json(&json!({"name": "x"})).send().await;
    assert_validation(update, &["path", "user_id"]).await;
    assert_validation(admin.get("/users/abc/roles").send().await, &["path", "user_id"]).await;
    assert_validation(admin.get("/users/1.5/permissions").send().await, &["path", "user_id"]).await;
    // Permission before validation: without user_read it is 403 (CONTRACT §4).
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    assert_detail(app.as_user(world.user("bob")).get("/users/abc").send().await, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn update_user_by_id() {
    let app = app().await;
    let world =
        Scenario::new().role("editors", &["user_update"]).user("bob", &[]).user("ed", &["editors"]).build(&app).await;
    let bob = world.user("bob");
    let path = format!("/users/{}", bob.id);
    let ed = app.as_user(world.user("ed"));
    let (status, body) =
        status_json(ed.put(&path).body_json(&json!({"surname": "Builder", "email": "Bob@Builder.COM"})).send().await)
            .await;
    assert_eq!(status, 200, "{body}");
    assert_profile(&body, bob.id, "Bob@builder.com", true);
    assert_eq!((body["name"].clone(), body["surname"].clone()), (json!("bob"), json!("Builder")));
    assert_eq!(try_login(&app, "Bob@builder.com", &bob.password).await.0, 200, "the new email logs in");
    // Without user_update, or without credentials.
    let denied = app.as_user(bob).put(&path).body_json(&json!({"name": "x"})).send().await;
    assert_detail(denied, 403, "Not enough privileges").await;
    assert_not_authenticated(app.anonymous().put(&path).body_json(&json!({"name": "x"})).send().await).await;
}

#[tokio::test]
async fn update_user_errors_follow_the_check_order() {
    let app = app().await;
    let world = Scenario::new().user("alice", &[]).user("bob", &[]).build(&app).await;
    let admin = app.as_admin().await;
    // CONTRACT §4: 422 (validation) comes before 404 (lookup).
    assert_validation(admin.put("/users/999").body_json(&json!({})).send().await, &["body"]).await;
    let missing = admin.put("/users/999").body_json(&json!({"name": "x"})).send().await;
    assert_detail(missing, 404, "Entity [users] with id=999 does not exist").await;
    // CONTRACT §9.2: taking another user's email is 409, not 500.
    let bob = world.user("bob");
    let taken = admin.put(&format!("/users/{}", bob.id)).body_json(&json!({"email": "alice@example.com"})).send().await;
    assert_detail(taken, 409, "Entity already exists").await;
    assert_eq!(get_ok(&admin, &format!("/users/{}", bob.id)).await["email"], "bob@example.com");
}

#[tokio::test]
async fn deactivating_a_user_revokes_their_tokens_and_reactivating_does_not_restore_them() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let bob = world.user("bob");
    let admin = app.as_admin().await;
    let path = format!("/users/{}", bob.id);
    let (status, body) = status_json(admin.put(&path).body_json(&json!({"is_active": 0})).send().await).await;
    assert_eq!((status, body["is_active"].clone()), (200, json!(false)), "{body}");
    assert_detail(app.as_user(bob).get("/users/me").send().await, 400, "Invalid token").await;
    admin.put(&path).body_json(&json!({"is_active": "yes"})).send().await.assert_status_is_ok();
    assert_detail(app.as_user(bob).get("/users/me").send().await, 400, "Invalid token").await;
    assert_eq!(try_login(&app, &bob.email, &bob.password).await.0, 200, "a reactivated user logs in again");
}

#[tokio::test]
async fn a_users_permissions_need_user_read_and_permission_read() {
    let app = app().await;
    let world = Scenario::new()
        .role("readers", &["user_read", "role_read"])
        .role("auditors", &["user_read", "permission_read"])
        .inactive_role("retired", &["user_delete"])
        .user("alice", &["readers", "auditors", "retired"])
        .user("rita", &["readers"])
        .build(&app)
        .await;
    let alice = world.user("alice");
    let path = format!("/users/{}/permissions", alice.id);
    let permissions = get_ok(&app.as_admin().await, &path).await;
    assert_eq!(sorted(names(&permissions)), ["permission_read", "role_read", "user_read"], "each once: {permissions}");
    assert_detail(app.as_user(world.user("rita")).get(&path).send().await, 403, "Not enough privileges").await;
    get_ok(&app.as_user(alice), &path).await;
    let missing = app.as_admin().await.get("/users/999/permissions").send().await;
    assert_detail(missing, 404, "Entity [users] with id=999 does not exist").await;
    assert_not_authenticated(app.anonymous().get(&path).send().await).await;
}

#[tokio::test]
async fn a_users_roles_need_user_read_and_role_read_and_list_active_roles() {
    let app = app().await;
    let world = Scenario::new()
        .role("readers", &["user_read", "role_read"])
        .role("viewers", &["user_read"])
        .inactive_role("retired", &[])
        .user("alice", &["readers", "retired"])
        .user("vic", &["viewers"])
        .build(&app)
        .await;
    let alice = world.user("alice");
    let path = format!("/users/{}/roles", alice.id);
    let roles = get_ok(&app.as_user(alice), &path).await;
    let readers = world.role("readers");
    assert_eq!(roles, json!([{"id": readers.id, "name": "readers", "is_active": true, "user_count": 1}]));
    assert_detail(app.as_user(world.user("vic")).get(&path).send().await, 403, "Not enough privileges").await;
    let missing = app.as_admin().await.get("/users/999/roles").send().await;
    assert_detail(missing, 404, "Entity [users] with id=999 does not exist").await;
}

#[tokio::test]
async fn change_a_users_password_needs_user_update_and_the_old_password() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).user("eve", &[]).build(&app).await;
    let bob = world.user("bob");
    let admin = app.as_admin().await;
    let path = format!("/users/{}/password", bob.id);
    let body = |old: &str| json!({"old_password": old, "new_password": "a-brand-new-password"});
    assert_incorrect_credentials(admin.put(&path).body_json(&body("wrong-password")).send().await).await;
    assert_detail(admin.put("/users/999/password").body_json(&body("x")).send().await, 404, "User not found").await;
    let weak =
        admin.put("/users/999/password").body_json(&json!({"old_password": "x", "new_password": "short"})).send().await;
    assert_validation(weak, &["body", "new_password"]).await;
    let denied = app.as_user(world.user("eve")).put(&path).body_json(&body(&bob.password)).send().await;
    assert_detail(denied, 403, "Not enough privileges").await;

    let (status, profile) = status_json(admin.put(&path).body_json(&body(&bob.password)).send().await).await;
    assert_eq!(status, 200, "{profile}");
    assert_profile(&profile, bob.id, &bob.email, true);
    assert_eq!(try_login(&app, &bob.email, "a-brand-new-password").await.0, 200);
}

#[tokio::test]
async fn admin_reset_of_a_users_password() {
    let app = app().await;
    let world = Scenario::new()
        .role("helpdesk", &["password_reset"])
        .user("bob", &[])
        .user("hd", &["helpdesk"])
        .inactive_user("ghost", &[])
        .build(&app)
        .await;
    let bob = world.user("bob");
    let helpdesk = app.as_user(world.user("hd"));
    let new_password = json!({"new_password": "reset-by-helpdesk"});
    let path = format!("/users/{}/reset-password", bob.id);

    let (status, profile) = status_json(helpdesk.put(&path).body_json(&new_password).send().await).await;
    assert_eq!(status, 200, "{profile}");
    assert_profile(&profile, bob.id, &bob.email, true);
    assert_eq!(try_login(&app, &bob.email, "reset-by-helpdesk").await.0, 200);
    assert_detail(app.as_user(bob).get("/users/me").send().await, 400, "Invalid token").await;

    assert_detail(
        helpdesk.put("/users/999/reset-password").body_json(&new_password).send().await,
        404,
        "User not found",
    )
    .await;
    let inactive = helpdesk
        .put(&format!("/users/{}/reset-password", world.user("ghost").id))
        .body_json(&new_password)
        .send()
        .await;
    assert_detail(inactive, 400, "Inactive user").await;
    let weak = helpdesk.put("/users/999/reset-password").body_json(&json!({"new_password": "short"})).send().await;
    assert_validation(weak, &["body", "new_password"]).await;
    // user_update is not enough: password_reset is required.
    let admin_id = admin_id(&app).await;
    let denied =
        app.as_user(bob).put(&format!("/users/{admin_id}/reset-password")).body_json(&new_password).send().await;
    assert_detail(denied, 400, "Invalid token").await; // bob's old token died with the reset
    let (_, login) = try_login(&app, &bob.email, "reset-by-helpdesk").await;
    let bob_now = app.with_token(login["access_token"].as_str().unwrap());
    let denied = bob_now.put(&format!("/users/{admin_id}/reset-password")).body_json(&new_password).send().await;
    assert_detail(denied, 403, "Not enough privileges").await;
}

#[tokio::test]
async fn users_cannot_be_deleted_405() {
    let app = app().await;
    let world = Scenario::new().user("bob", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let response = admin.delete(&format!("/users/{}", world.user("bob").id)).send().await;
    assert_detail(response, 405, "Method Not Allowed").await;
    get_ok(&admin, &format!("/users/{}", world.user("bob").id)).await;
}

#[tokio::test]
async fn every_missing_field_is_reported_at_once_like_fastapi() {
    let app = app().await;
    let response = app.as_admin().await.post("/users/").body_json(&serde_json::json!({})).send().await;
    let status = response.0.status();
    let body = kwik_testing::json_of(response).await;
    assert_eq!(status, 422, "{body}");
    let locs: Vec<Value> = body["detail"].as_array().unwrap().iter().map(|issue| issue["loc"].clone()).collect();
    for field in ["name", "surname", "email", "password"] {
        assert!(locs.contains(&serde_json::json!(["body", field])), "{field} missing from {body}");
    }
    assert!(!locs.contains(&serde_json::json!(["body", "is_active"])), "is_active has a default: {body}");
}
