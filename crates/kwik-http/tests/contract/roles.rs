//! `/roles/...` (CONTRACT §3, §5, §9.3–§9.5): every route, its permission gate, its errors, and
//! the atomicity and concurrency of role writes.

use std::sync::Arc;

use kwik_core::{Context, Queries};
use kwik_rbac::roles;
use kwik_testing::{Scenario, TestApp, TestClient, assert_detail, assert_validation, json_of};
use poem::test::TestResponse;
use serde_json::{Value, json};

use crate::common::{app, app_with};

// ---------------------------------------------------------------------------------------------
// Helpers (also used by permissions.rs)
// ---------------------------------------------------------------------------------------------

/// Asserts a 200 and returns the JSON body.
pub(crate) async fn ok(response: TestResponse) -> Value {
    let status = response.0.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(status, 200, "expected 200, got {status}: {body}");
    body
}

/// Asserts Kwik's 401 for a request without credentials (with `WWW-Authenticate: Bearer`).
pub(crate) async fn assert_unauthenticated(response: TestResponse) {
    response.assert_header("www-authenticate", "Bearer");
    assert_detail(response, 401, "Not authenticated").await;
}

/// Asserts Kwik's 403.
pub(crate) async fn assert_forbidden(response: TestResponse) {
    assert_detail(response, 403, "Not enough privileges").await;
}

/// The rows of a plain array or of a `Paginated` body.
pub(crate) fn rows(body: &Value) -> &[Value] {
    match body.as_array().or_else(|| body["data"].as_array()) {
        Some(rows) => rows,
        None => panic!("not a list: {body}"),
    }
}

/// The `name`s of a list, in response order.
pub(crate) fn names(body: &Value) -> Vec<String> {
    rows(body).iter().map(|row| row["name"].as_str().unwrap_or_else(|| panic!("no name: {row}")).to_owned()).collect()
}

/// The `id`s of a list, sorted (sub-resource lists have no guaranteed order); repeats are kept.
pub(crate) fn ids(body: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> =
        rows(body).iter().map(|row| row["id"].as_i64().unwrap_or_else(|| panic!("no id: {row}"))).collect();
    ids.sort_unstable();
    ids
}

/// The `id` of an entity body.
pub(crate) fn id_of(body: &Value) -> i64 {
    body["id"].as_i64().unwrap_or_else(|| panic!("no integer id: {body}"))
}

/// Sorted copy.
pub(crate) fn sorted(mut values: Vec<i64>) -> Vec<i64> {
    values.sort_unstable();
    values
}

/// `POST /roles/` as `client`, asserting 200.
pub(crate) async fn create_role(client: &TestClient<'_>, name: &str, is_active: bool) -> Value {
    ok(client.post("/roles/").body_json(&json!({"name": name, "is_active": is_active})).send().await).await
}

/// `POST /permissions/` as `client`, asserting 200.
pub(crate) async fn create_permission(client: &TestClient<'_>, name: &str) -> Value {
    ok(client.post("/permissions/").body_json(&json!({"name": name})).send().await).await
}

/// Grants permission `permission_id` to role `role_id` (asserting 200); returns the RoleProfile.
pub(crate) async fn grant(client: &TestClient<'_>, role_id: i64, permission_id: i64) -> Value {
    let path = format!("/roles/{role_id}/permissions");
    ok(client.post(&path).body_json(&json!({"permission_id": permission_id})).send().await).await
}

/// Adds user `user_id` to role `role_id` (asserting 200); returns the RoleProfile.
pub(crate) async fn assign(client: &TestClient<'_>, role_id: i64, user_id: i64) -> Value {
    let path = format!("/roles/{role_id}/users");
    ok(client.post(&path).body_json(&json!({"user_id": user_id})).send().await).await
}

/// The id of the bootstrap `admin` role.
pub(crate) async fn admin_role_id(admin: &TestClient<'_>) -> i64 {
    let list = ok(admin.get("/roles/?filter_key=name&value=admin").send().await).await;
    assert_eq!(list["total"], 1, "{list}");
    id_of(&rows(&list)[0])
}

/// Asserts a RoleProfile body: exactly `{id, name, is_active, user_count}` with these values.
fn assert_role(body: &Value, id: i64, name: &str, is_active: bool, user_count: i64) {
    assert_eq!(body, &json!({"id": id, "name": name, "is_active": is_active, "user_count": user_count}), "{body}");
}

/// Sends `method path` with an optional JSON body as `client`.
pub(crate) async fn send(client: &TestClient<'_>, method: &str, path: &str, body: Option<&Value>) -> TestResponse {
    let request = match method {
        "GET" => client.get(path),
        "POST" => client.post(path),
        "PUT" => client.put(path),
        "DELETE" => client.delete(path),
        other => unreachable!("{other}"),
    };
    match body {
        Some(body) => request.body_json(body).send().await,
        None => request.send().await,
    }
}

/// Roles named `grant_<permission>` granting one permission each, and users `solo_<permission>`
/// holding exactly that one (plus `nobody` with no role).
fn single_permission_scenario(permissions: &[&str]) -> Scenario {
    let mut scenario = Scenario::new().user("nobody", &[]);
    for permission in permissions {
        let role = format!("grant_{permission}");
        scenario = scenario.role(&role, &[permission]).user(&format!("solo_{permission}"), &[role.as_str()]);
    }
    scenario
}

const BUILTIN_PERMISSION_COUNT: i64 = 21; // 14 Kwik permissions + api_key_read, api_key_revoke, audit_log_read, tenant_manage, tenant_switch, job_read, job_manage

// ---------------------------------------------------------------------------------------------
// Permission gates: 401 without credentials, 403 with all but one required permission, success
// with exactly the required ones (AND semantics).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_roles_route_requires_credentials_and_all_its_permissions() {
    let app = app().await;
    let perms = [
        "role_read",
        "role_create",
        "role_update",
        "role_delete",
        "permission_read",
        "permission_update",
        "permission_delete",
        "user_read",
        "user_update",
        "user_delete",
    ];
    let world = single_permission_scenario(&perms).user("member", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let member = world.user("member").id;
    let permission = id_of(&create_permission(&admin, "gate_permission").await);
    // One can only grant what one holds: the grant route gives a permission its callers have.
    let held = ok(admin.get("/permissions/?filter_key=name&value=permission_update").send().await).await;
    let held = id_of(&rows(&held)[0]);

    // (method, path with {r}/{p}/{u} placeholders, body, required permissions)
    let routes: [(&str, &str, Option<Value>, &[&str]); 15] = [
        ("GET", "/roles/", None, &["role_read"]),
        ("POST", "/roles/", Some(json!({"name": "gate_created", "is_active": true})), &["role_create"]),
        ("GET", "/roles/{r}", None, &["role_read"]),
        ("PUT", "/roles/{r}", Some(json!({"is_active": false})), &["role_update"]),
        ("DELETE", "/roles/{r}", None, &["role_delete"]),
        ("GET", "/roles/{r}/permissions", None, &["role_read", "permission_read"]),
        ("GET", "/roles/{r}/available-permissions", None, &["role_read", "permission_read"]),
        ("GET", "/roles/{r}/users", None, &["user_read", "role_read"]),
        ("GET", "/roles/{r}/available-users", None, &["user_read", "role_read"]),
        (
            "POST",
            "/roles/{r}/permissions",
            Some(json!({"permission_id": "{h}"})),
            &["role_update", "permission_update"],
        ),
        ("DELETE", "/roles/{r}/permissions/{p}", None, &["role_update", "permission_update"]),
        ("POST", "/roles/{r}/users", Some(json!({"user_id": "{u}"})), &["role_update", "user_update"]),
        ("DELETE", "/roles/{r}/users/{u}", None, &["role_update", "user_update"]),
        ("DELETE", "/roles/{r}/permissions", None, &["role_delete", "permission_delete"]),
        ("DELETE", "/roles/{r}/users", None, &["role_delete", "user_delete"]),
    ];

    for (index, (method, template, body, required)) in routes.iter().enumerate() {
        let target = create_role(&admin, &format!("gate_target_{index}"), true).await;
        let role = id_of(&target);
        let path = template
            .replace("{r}", &role.to_string())
            .replace("{p}", &permission.to_string())
            .replace("{u}", &member.to_string());
        let body = body.as_ref().map(|b| {
            serde_json::from_str::<Value>(
                &b.to_string()
                    .replace("\"{p}\"", &permission.to_string())
                    .replace("\"{h}\"", &held.to_string())
                    .replace("\"{u}\"", &member.to_string()),
            )
            .unwrap()
        });
        let what = format!("{method} {path}");

        let response = send(&app.anonymous(), method, &path, body.as_ref()).await;
        assert_eq!(response.0.status(), 401, "{what} anonymous");
        assert_unauthenticated(response).await;

        let response = send(&app.as_user(world.user("nobody")), method, &path, body.as_ref()).await;
        assert_eq!(response.0.status(), 403, "{what} without permissions");
        assert_forbidden(response).await;

        if required.len() == 1 {
            // Every other permission of the set but this one is not enough either.
            for other in perms.iter().filter(|p| **p != required[0]) {
                let response =
                    send(&app.as_user(world.user(&format!("solo_{other}"))), method, &path, body.as_ref()).await;
                assert_eq!(response.0.status(), 403, "{what} with only {other}");
            }
        } else {
            for held in *required {
                let response =
                    send(&app.as_user(world.user(&format!("solo_{held}"))), method, &path, body.as_ref()).await;
                assert_eq!(response.0.status(), 403, "{what} with only {held} of {required:?}");
                assert_forbidden(response).await;
            }
        }
        // Nothing was changed by the refused requests.
        let after = ok(admin.get(&format!("/roles/{role}")).send().await).await;
        assert_eq!(after, target, "{what}: a refused request changed the role");

        // Exactly the required permissions suffice.
        let mut scenario = Scenario::new();
        let user_name = format!("exact_{index}");
        let role_name = format!("exact_role_{index}");
        scenario = scenario.role(&role_name, required).user(&user_name, &[role_name.as_str()]);
        let exact = scenario.build(&app).await;
        let response = send(&app.as_user(exact.user(&user_name)), method, &path, body.as_ref()).await;
        let status = response.0.status();
        let body = json_of(response).await;
        assert_eq!(status, 200, "{what} with exactly {required:?}: {body}");
    }
}

#[tokio::test]
async fn non_integer_path_ids_are_422_at_the_named_path_parameter() {
    let app = app().await;
    let admin = app.as_admin().await;
    let role = id_of(&create_role(&admin, "target", true).await);
    let cases: [(&str, String, Option<Value>, &str); 11] = [
        ("GET", "/roles/abc".to_owned(), None, "role_id"),
        ("PUT", "/roles/abc".to_owned(), Some(json!({"is_active": true})), "role_id"),
        ("DELETE", "/roles/abc".to_owned(), None, "role_id"),
        ("GET", "/roles/abc/permissions".to_owned(), None, "role_id"),
        ("GET", "/roles/1.5/users".to_owned(), None, "role_id"),
        ("POST", "/roles/abc/permissions".to_owned(), Some(json!({"permission_id": 1})), "role_id"),
        ("POST", "/roles/abc/users".to_owned(), Some(json!({"user_id": 1})), "role_id"),
        ("DELETE", format!("/roles/{role}/permissions/x"), None, "permission_id"),
        ("DELETE", format!("/roles/{role}/users/x"), None, "user_id"),
        ("DELETE", "/roles/x/users/1".to_owned(), None, "role_id"),
        ("DELETE", "/roles/x/users".to_owned(), None, "role_id"),
    ];
    for (method, path, body, field) in cases {
        let response = send(&admin, method, &path, body.as_ref()).await;
        let issue = assert_validation(response, &["path", field]).await;
        assert_eq!(issue["type"], "int_parsing", "{method} {path}: {issue}");
    }
}

// ---------------------------------------------------------------------------------------------
// GET /roles/ (Kwik listing, §5)
// ---------------------------------------------------------------------------------------------

/// `admin` (bootstrap) plus bravo, alpha (inactive), charlie, created in that order.
async fn listing_world(app: &TestApp) -> Vec<i64> {
    let admin = app.as_admin().await;
    let admin_id = admin_role_id(&admin).await;
    let bravo = id_of(&create_role(&admin, "bravo", true).await);
    let alpha = id_of(&create_role(&admin, "alpha", false).await);
    let charlie = id_of(&create_role(&admin, "charlie", true).await);
    vec![admin_id, bravo, alpha, charlie]
}

#[tokio::test]
async fn list_roles_is_paginated_in_id_order_with_role_profiles() {
    let app = app().await;
    let created = listing_world(&app).await;
    let admin = app.as_admin().await;

    let body = ok(admin.get("/roles/").send().await).await;
    assert_eq!(body["total"], 4, "{body}");
    assert_eq!(names(&body), ["admin", "bravo", "alpha", "charlie"]);
    let listed: Vec<i64> = rows(&body).iter().map(id_of).collect();
    assert_eq!(listed, created);
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "not in id order: {body}");
    // RoleProfile fields exactly; the bootstrap admin role has the superuser.
    assert_role(&rows(&body)[0], created[0], "admin", true, 1);
    assert_role(&rows(&body)[2], created[2], "alpha", false, 0);

    let page = ok(admin.get("/roles/?skip=1&limit=2").send().await).await;
    assert_eq!(page["total"], 4, "total counts every row, not the page: {page}");
    assert_eq!(names(&page), ["bravo", "alpha"]);

    let past_end = ok(admin.get("/roles/?skip=10").send().await).await;
    assert_eq!(past_end, json!({"total": 4, "data": []}));

    let empty = ok(admin.get("/roles/?limit=0").send().await).await;
    assert_eq!(empty, json!({"total": 4, "data": []}), "limit=0 returns no rows");
}

#[tokio::test]
async fn list_roles_sorting_follows_kwik_syntax() {
    let app = app().await;
    listing_world(&app).await;
    let admin = app.as_admin().await;

    let desc = ok(admin.get("/roles/?sorting=name:desc").send().await).await;
    assert_eq!(names(&desc), ["charlie", "bravo", "alpha", "admin"]);
    let asc = ok(admin.get("/roles/?sorting=name").send().await).await;
    assert_eq!(names(&asc), ["admin", "alpha", "bravo", "charlie"]);
    let explicit_asc = ok(admin.get("/roles/?sorting=name:asc").send().await).await;
    assert_eq!(names(&explicit_asc), ["admin", "alpha", "bravo", "charlie"]);
    let two_keys = ok(admin.get("/roles/?sorting=is_active,name:desc").send().await).await;
    assert_eq!(names(&two_keys), ["alpha", "charlie", "bravo", "admin"], "false sorts before true");
    let by_id_desc = ok(admin.get("/roles/?sorting=id:desc&limit=2").send().await).await;
    assert_eq!(names(&by_id_desc), ["charlie", "alpha"]);
    assert_eq!(by_id_desc["total"], 4);

    // Non-word junk is skipped: no sort, default order.
    let junk = ok(admin.get("/roles/?sorting=;;").send().await).await;
    assert_eq!(names(&junk), ["admin", "bravo", "alpha", "charlie"]);

    // Directions are lowercase only: `DESC` becomes a field.
    let upper = admin.get("/roles/?sorting=name:DESC").send().await;
    assert_detail(upper, 400, "Invalid sort field 'DESC' for model Role").await;
    let outside = admin.get("/roles/?sorting=user_count").send().await;
    assert_detail(outside, 400, "Invalid sort field 'user_count' for model Role").await;
    let creation_time = admin.get("/roles/?sorting=name,creation_time:desc").send().await;
    assert_detail(creation_time, 400, "Invalid sort field 'creation_time' for model Role").await;
}

#[tokio::test]
async fn list_roles_filter_by_equality_and_its_errors() {
    let app = app().await;
    listing_world(&app).await;
    let admin = app.as_admin().await;

    let active = ok(admin.get("/roles/?filter_key=is_active&value=true").send().await).await;
    assert_eq!(active["total"], 3, "{active}");
    assert_eq!(names(&active), ["admin", "bravo", "charlie"]);
    assert!(rows(&active).iter().all(|r| r["is_active"] == true));

    let inactive = ok(admin.get("/roles/?filter_key=is_active&value=false").send().await).await;
    assert_eq!(inactive["total"], 1);
    assert_eq!(names(&inactive), ["alpha"]);

    // total counts the filtered rows, before skip/limit.
    let page =
        ok(admin.get("/roles/?filter_key=is_active&value=true&skip=1&limit=1&sorting=name:desc").send().await).await;
    assert_eq!(page["total"], 3, "{page}");
    assert_eq!(names(&page), ["bravo"]);

    let by_name = ok(admin.get("/roles/?filter_key=name&value=charlie").send().await).await;
    assert_eq!(by_name["total"], 1);
    assert_eq!(names(&by_name), ["charlie"]);
    let none = ok(admin.get("/roles/?filter_key=name&value=zulu").send().await).await;
    assert_eq!(none, json!({"total": 0, "data": []}));

    // Ignored unless both parts are present (even an invalid field).
    let key_only = ok(admin.get("/roles/?filter_key=x").send().await).await;
    assert_eq!(key_only["total"], 4);
    let value_only = ok(admin.get("/roles/?value=true").send().await).await;
    assert_eq!(value_only["total"], 4);

    let bad = admin.get("/roles/?filter_key=x&value=1").send().await;
    assert_detail(bad, 400, "Invalid filter field 'x' for model Role").await;
    let user_count = admin.get("/roles/?filter_key=user_count&value=1").send().await;
    assert_detail(user_count, 400, "Invalid filter field 'user_count' for model Role").await;
    // The filter field is checked before the sort field.
    let both = admin.get("/roles/?filter_key=x&value=1&sorting=y").send().await;
    assert_detail(both, 400, "Invalid filter field 'x' for model Role").await;
    // Intended behaviour (§9.8): a value the column cannot take is a 400, not a 500.
    let uncastable = admin.get("/roles/?filter_key=id&value=abc").send().await;
    assert_eq!(uncastable.0.status(), 400, "filter_key=id&value=abc");
}

#[tokio::test]
async fn list_roles_limit_is_capped_by_kwik_list_max_limit() {
    // Beyond Kwik (which has no maximum): KWIK_LIST_MAX_LIMIT, default 1000, 422 above.
    let app = app().await;
    listing_world(&app).await;
    let admin = app.as_admin().await;
    let body = ok(admin.get("/roles/?limit=1000").send().await).await;
    assert_eq!(rows(&body).len(), 4, "{body}");
    let issue = assert_validation(admin.get("/roles/?limit=1001").send().await, &["query", "limit"]).await;
    assert_eq!(issue["type"], "less_than_equal", "{issue}");
    assert_eq!(issue["ctx"]["le"], 1000, "{issue}");

    // Raised for clients that rely on Kwik's unbounded limit.
    let relaxed = app_with(&[("KWIK_LIST_MAX_LIMIT", "100000")]).await;
    listing_world(&relaxed).await;
    let body = ok(relaxed.as_admin().await.get("/roles/?limit=100000").send().await).await;
    assert_eq!(body["total"], 4, "{body}");
}

#[tokio::test]
async fn list_roles_rejects_bad_skip_and_limit_with_422() {
    let app = app().await;
    let admin = app.as_admin().await;
    for (query, field) in [
        ("skip=-1", "skip"),
        ("limit=-1", "limit"),
        ("skip=abc", "skip"),
        ("limit=1.5", "limit"),
        ("limit=ten", "limit"),
    ] {
        let response = admin.get(&format!("/roles/?{query}")).send().await;
        assert_validation(response, &["query", field]).await;
    }
    // Validation comes after authentication and the permission check.
    assert_unauthenticated(app.anonymous().get("/roles/?skip=-1").send().await).await;
}

// ---------------------------------------------------------------------------------------------
// POST /roles/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_role_trims_and_lowercases_the_name() {
    let app = app().await;
    let admin = app.as_admin().await;
    let body = create_role(&admin, "  Editor ", true).await;
    let id = id_of(&body);
    assert_role(&body, id, "editor", true, 0);
    let fetched = ok(admin.get(&format!("/roles/{id}")).send().await).await;
    assert_eq!(fetched, body);

    let inactive = create_role(&admin, "Reviewer", false).await;
    assert_role(&inactive, id_of(&inactive), "reviewer", false, 0);
    // Lax booleans and unknown fields ignored.
    let lax =
        ok(admin.post("/roles/").body_json(&json!({"name": "lax", "is_active": "yes", "extra": 1})).send().await).await;
    assert_eq!(lax["is_active"], true, "{lax}");
    assert_eq!(lax["name"], "lax");
}

#[tokio::test]
async fn create_role_with_a_taken_name_is_409_case_insensitively() {
    let app = app().await;
    let admin = app.as_admin().await;
    create_role(&admin, "editor", true).await;
    for taken in ["editor", "EDITOR", "  Editor  ", "admin", "Admin"] {
        let response = admin.post("/roles/").body_json(&json!({"name": taken, "is_active": false})).send().await;
        assert_detail(response, 409, "Entity already exists").await;
    }
    let list = ok(admin.get("/roles/").send().await).await;
    assert_eq!(names(&list), ["admin", "editor"], "no duplicate was stored");
    assert_eq!(rows(&list)[1]["is_active"], true, "the existing role is untouched");
}

#[tokio::test]
async fn create_role_validates_its_body() {
    let app = app().await;
    let admin = app.as_admin().await;

    let missing_active = admin.post("/roles/").body_json(&json!({"name": "x"})).send().await;
    let issue = assert_validation(missing_active, &["body", "is_active"]).await;
    assert_eq!(issue["type"], "missing", "{issue}");
    let missing_name = admin.post("/roles/").body_json(&json!({"is_active": true})).send().await;
    assert_validation(missing_name, &["body", "name"]).await;
    for blank in ["", "   ", "\t"] {
        let response = admin.post("/roles/").body_json(&json!({"name": blank, "is_active": true})).send().await;
        let issue = assert_validation(response, &["body", "name"]).await;
        assert_eq!(issue["type"], "string_too_short", "{issue}");
    }
    let bad_bool = admin.post("/roles/").body_json(&json!({"name": "x", "is_active": "maybe"})).send().await;
    assert_validation(bad_bool, &["body", "is_active"]).await;
    let not_string = admin.post("/roles/").body_json(&json!({"name": 5, "is_active": true})).send().await;
    assert_validation(not_string, &["body", "name"]).await;
    let no_body = admin.post("/roles/").content_type("application/json").send().await;
    assert_validation(no_body, &["body"]).await;
    let form = admin.post("/roles/").content_type("text/plain").body("name=x").send().await;
    assert_eq!(form.0.status(), 422, "non-JSON content type");

    let list = ok(admin.get("/roles/").send().await).await;
    assert_eq!(list["total"], 1, "nothing was created: {list}");
}

#[tokio::test]
async fn create_role_checks_permission_before_validating() {
    let app = app().await;
    let world = Scenario::new().role("reader", &["role_read"]).user("reader", &["reader"]).build(&app).await;
    let response = app.as_user(world.user("reader")).post("/roles/").body_json(&json!({})).send().await;
    assert_forbidden(response).await;
    let response = app.anonymous().post("/roles/").body_json(&json!({"name": "x", "is_active": true})).send().await;
    assert_unauthenticated(response).await;
    let list = ok(app.as_admin().await.get("/roles/").send().await).await;
    assert_eq!(names(&list), ["admin", "reader"], "nothing was created");
}

// ---------------------------------------------------------------------------------------------
// GET /roles/{role_id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_role_returns_its_profile_or_404() {
    let app = app().await;
    let world = Scenario::new().role("staff", &[]).user("ann", &["staff"]).user("bob", &["staff"]).build(&app).await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;

    let body = ok(admin.get(&format!("/roles/{staff}")).send().await).await;
    assert_role(&body, staff, "staff", true, 2);

    assert_detail(admin.get("/roles/999").send().await, 404, "Entity [roles] with id=999 does not exist").await;
    assert_unauthenticated(app.anonymous().get(&format!("/roles/{staff}")).send().await).await;
    assert_forbidden(app.as_user(world.user("ann")).get(&format!("/roles/{staff}")).send().await).await;
}

// ---------------------------------------------------------------------------------------------
// PUT /roles/{role_id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_role_renames_and_toggles_activity() {
    let app = app().await;
    let world = Scenario::new().role("staff", &[]).user("ann", &["staff"]).build(&app).await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;
    let path = format!("/roles/{staff}");

    let renamed = ok(admin.put(&path).body_json(&json!({"name": "  Crew "})).send().await).await;
    assert_role(&renamed, staff, "crew", true, 1);
    let off = ok(admin.put(&path).body_json(&json!({"is_active": false})).send().await).await;
    assert_role(&off, staff, "crew", false, 1);
    let both = ok(admin.put(&path).body_json(&json!({"name": "team", "is_active": "true"})).send().await).await;
    assert_role(&both, staff, "team", true, 1);
    // Renaming a role to its own name (any case) is not a conflict.
    let same = ok(admin.put(&path).body_json(&json!({"name": "TEAM"})).send().await).await;
    assert_role(&same, staff, "team", true, 1);
    let null_name = ok(admin.put(&path).body_json(&json!({"name": null, "is_active": false})).send().await).await;
    assert_role(&null_name, staff, "team", false, 1);

    assert_eq!(ok(admin.get(&path).send().await).await, null_name);
    let old = ok(admin.get("/roles/?filter_key=name&value=staff").send().await).await;
    assert_eq!(old["total"], 0);
}

#[tokio::test]
async fn update_role_to_a_taken_name_is_409_and_changes_nothing() {
    let app = app().await;
    let admin = app.as_admin().await;
    let editor = create_role(&admin, "editor", true).await;
    let viewer = create_role(&admin, "viewer", true).await;
    let path = format!("/roles/{}", id_of(&viewer));

    for taken in ["editor", "Editor ", "ADMIN"] {
        let response = admin.put(&path).body_json(&json!({"name": taken, "is_active": false})).send().await;
        assert_detail(response, 409, "Entity already exists").await;
    }
    assert_eq!(ok(admin.get(&path).send().await).await, viewer, "the refused rename changed nothing");
    assert_eq!(ok(admin.get(&format!("/roles/{}", id_of(&editor))).send().await).await, editor);
    // Names stay unique, so creating one of them is a clean 409 (Kwik: 500, bug §9.3).
    let response = admin.post("/roles/").body_json(&json!({"name": "viewer", "is_active": true})).send().await;
    assert_detail(response, 409, "Entity already exists").await;
    let list = ok(admin.get("/roles/?sorting=name").send().await).await;
    assert_eq!(names(&list), ["admin", "editor", "viewer"]);
}

#[tokio::test]
async fn update_role_validates_404s_and_gates() {
    let app = app().await;
    let world = Scenario::new().role("reader", &["role_read"]).user("reader", &["reader"]).build(&app).await;
    let admin = app.as_admin().await;
    let reader = world.role("reader").id;
    let path = format!("/roles/{reader}");

    let issue = assert_validation(admin.put(&path).body_json(&json!({})).send().await, &["body"]).await;
    assert_eq!(issue["type"], "value_error", "{issue}");
    assert_validation(admin.put(&path).body_json(&json!({"name": null, "is_active": null})).send().await, &["body"])
        .await;
    assert_validation(admin.put(&path).body_json(&json!({"name": "  "})).send().await, &["body", "name"]).await;
    assert_validation(admin.put(&path).body_json(&json!({"is_active": "maybe"})).send().await, &["body", "is_active"])
        .await;
    // Validation comes before the lookup: an admin `PUT /roles/999 {}` is a 422.
    assert_validation(admin.put("/roles/999").body_json(&json!({})).send().await, &["body"]).await;
    assert_detail(
        admin.put("/roles/999").body_json(&json!({"is_active": true})).send().await,
        404,
        "Entity [roles] with id=999 does not exist",
    )
    .await;

    let as_reader = app.as_user(world.user("reader"));
    assert_forbidden(as_reader.put(&path).body_json(&json!({})).send().await).await;
    assert_forbidden(as_reader.put(&path).body_json(&json!({"name": "hijacked"})).send().await).await;
    assert_unauthenticated(app.anonymous().put(&path).body_json(&json!({"name": "x"})).send().await).await;
    let after = ok(admin.get(&path).send().await).await;
    assert_role(&after, reader, "reader", true, 1);
}

// ---------------------------------------------------------------------------------------------
// DELETE /roles/{role_id} (§9.4)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_role_with_users_and_permissions_detaches_everything() {
    let app = app().await;
    let world = Scenario::new()
        .role("auditor", &["user_read", "audit_log"])
        .role("other", &["audit_log"])
        .user("ann", &["auditor"])
        .user("bob", &["auditor", "other"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let auditor = world.role("auditor").id;
    let (ann, bob) = (world.user("ann"), world.user("bob"));
    let user_read = world.permission("user_read").id;
    let audit_log = world.permission("audit_log").id;
    ok(app.as_user(ann).get("/users/").send().await).await;

    let deleted = ok(admin.delete(&format!("/roles/{auditor}")).send().await).await;
    assert_role(&deleted, auditor, "auditor", true, 2);

    let gone = format!("Entity [roles] with id={auditor} does not exist");
    assert_detail(admin.get(&format!("/roles/{auditor}")).send().await, 404, &gone).await;
    let list = ok(admin.get("/roles/").send().await).await;
    assert_eq!(names(&list), ["admin", "other"]);
    // The permissions and users still exist, without the role.
    let granting = ok(admin.get(&format!("/permissions/{user_read}/roles")).send().await).await;
    assert_eq!(names(&granting), ["admin"]);
    let granting = ok(admin.get(&format!("/permissions/{audit_log}/roles")).send().await).await;
    assert_eq!(names(&granting), ["other"]);
    let ann_roles = ok(admin.get(&format!("/users/{}/roles", ann.id)).send().await).await;
    assert_eq!(ann_roles, json!([]));
    let bob_roles = ok(admin.get(&format!("/users/{}/roles", bob.id)).send().await).await;
    assert_eq!(names(&bob_roles), ["other"]);
    let other = ok(admin.get(&format!("/roles/{}", world.role("other").id)).send().await).await;
    assert_eq!(other["user_count"], 1, "{other}");
    // The permissions granted through it are gone.
    let ann_permissions = ok(app.as_user(ann).get("/users/me/permissions").send().await).await;
    assert_eq!(ann_permissions, json!([]));
    let bob_permissions = ok(admin.get(&format!("/users/{}/permissions", bob.id)).send().await).await;
    assert_eq!(names(&bob_permissions), ["audit_log"]);
    assert_forbidden(app.as_user(ann).get("/users/").send().await).await;

    // The name is free again.
    create_role(&admin, "auditor", true).await;
}

#[tokio::test]
async fn delete_role_404_and_gates() {
    let app = app().await;
    let world =
        Scenario::new().role("reader", &["role_read", "role_update"]).user("reader", &["reader"]).build(&app).await;
    let admin = app.as_admin().await;
    let empty = create_role(&admin, "empty", false).await;
    let path = format!("/roles/{}", id_of(&empty));

    assert_unauthenticated(app.anonymous().delete(&path).send().await).await;
    assert_forbidden(app.as_user(world.user("reader")).delete(&path).send().await).await;
    assert_eq!(ok(admin.delete(&path).send().await).await, empty, "returns the deleted role");
    let gone = format!("Entity [roles] with id={} does not exist", id_of(&empty));
    assert_detail(admin.delete(&path).send().await, 404, &gone).await;
    assert_detail(admin.delete("/roles/999").send().await, 404, "Entity [roles] with id=999 does not exist").await;
}

#[tokio::test]
async fn failing_role_delete_over_http_rolls_back_the_detaching() {
    let app = app().await;
    let world = Scenario::new().role("doomed", &["user_read"]).user("ann", &["doomed"]).build(&app).await;
    let admin = app.as_admin().await;
    let doomed = world.role("doomed").id;
    // Make the final DELETE of the role fail after its links were removed in the same transaction.
    refuse_role_deletion(&app, "doomed").await;

    let response = admin.delete(&format!("/roles/{doomed}")).send().await;
    assert_eq!(response.0.status(), 500, "the trigger refuses the delete");

    let role = ok(admin.get(&format!("/roles/{doomed}")).send().await).await;
    assert_role(&role, doomed, "doomed", true, 1);
    let permissions = ok(admin.get(&format!("/roles/{doomed}/permissions")).send().await).await;
    assert_eq!(names(&permissions), ["user_read"]);
    let users = ok(admin.get(&format!("/roles/{doomed}/users")).send().await).await;
    assert_eq!(ids(&users), [world.user("ann").id]);
    ok(app.as_user(world.user("ann")).get("/users/").send().await).await;
}

/// Installs a trigger that makes deleting the role named `name` fail.
async fn refuse_role_deletion(app: &TestApp, name: &str) {
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    match &app.state().db {
        kwik_core::Db::Sqlite(pool) => {
            let sql = format!(
                "CREATE TRIGGER refuse_role_delete BEFORE DELETE ON roles WHEN OLD.name = '{name}' \
                 BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
        }
        kwik_core::Db::Postgres(pool) => {
            sqlx::query(
                "CREATE FUNCTION refuse_role_delete() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$",
            )
            .execute(pool)
            .await
            .unwrap();
            let sql = format!(
                "CREATE TRIGGER refuse_role_delete BEFORE DELETE ON roles FOR EACH ROW \
                 WHEN (OLD.name = '{name}') EXECUTE FUNCTION refuse_role_delete()"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.unwrap();
        }
    }
}

#[tokio::test]
async fn role_delete_not_committed_leaves_role_and_links_in_place() {
    let app = app().await;
    let world = Scenario::new().role("staff", &["user_read"]).user("ann", &["staff"]).build(&app).await;
    let staff = world.role("staff").id;
    let db = &app.state().db;
    {
        let mut ctx = Context::begin(db, None).await.unwrap();
        let deleted = roles::delete(&mut ctx, staff).await.unwrap();
        assert_eq!(deleted.user_count, 1);
        assert!(roles::get(&mut ctx.tx, staff).await.unwrap().is_none(), "deleted inside the transaction");
        // Dropped without commit: rolled back.
    }
    let mut db = db.clone();
    let role = roles::get(&mut db, staff).await.unwrap().expect("the role survives");
    assert_eq!(role.user_count, 1);
    let permissions = roles::permissions(&mut db, staff).await.unwrap();
    assert_eq!(permissions.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["user_read"]);
    let users = roles::users(&mut db, staff, None).await.unwrap();
    assert_eq!(users.iter().map(|u| u.id).collect::<Vec<_>>(), [world.user("ann").id]);
    let links = db
        .fetch_i64(
            &sea_query::Query::select()
                .expr(sea_query::Expr::cust("COUNT(*)"))
                .from("users_roles")
                .and_where(sea_query::ExprTrait::eq(sea_query::Expr::col("role_id"), staff))
                .to_owned(),
        )
        .await
        .unwrap();
    assert_eq!(links, 1);
    // And over HTTP too.
    ok(app.as_user(world.user("ann")).get("/users/").send().await).await;
}

// ---------------------------------------------------------------------------------------------
// GET /roles/{id}/permissions, /available-permissions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn role_permissions_and_available_permissions_partition_all_permissions() {
    let app = app().await;
    let world = Scenario::new().role("editor", &["post_write", "post_read"]).role("empty", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let editor = world.role("editor").id;

    let granted = ok(admin.get(&format!("/roles/{editor}/permissions")).send().await).await;
    assert_eq!(ids(&granted), sorted(vec![world.permission("post_write").id, world.permission("post_read").id]));
    for row in rows(&granted) {
        assert_eq!(row.as_object().unwrap().len(), 2, "PermissionProfile is {{id, name}}: {row}");
    }
    let available = ok(admin.get(&format!("/roles/{editor}/available-permissions")).send().await).await;
    let all = ok(admin.get("/permissions/?limit=1000").send().await).await;
    assert_eq!(all["total"], BUILTIN_PERMISSION_COUNT + 2);
    let mut union = ids(&granted);
    union.extend(ids(&available));
    assert_eq!(sorted(union), ids(&all), "granted + available = every permission, each once");
    assert!(!names(&available).contains(&"post_write".to_owned()));

    let empty = world.role("empty").id;
    assert_eq!(ok(admin.get(&format!("/roles/{empty}/permissions")).send().await).await, json!([]));
    let everything = ok(admin.get(&format!("/roles/{empty}/available-permissions")).send().await).await;
    assert_eq!(ids(&everything), ids(&all));

    // The bootstrap admin role holds every built-in permission, not the ones created later.
    let admin_id = admin_role_id(&admin).await;
    let missing = ok(admin.get(&format!("/roles/{admin_id}/available-permissions")).send().await).await;
    assert_eq!(ids(&missing), sorted(vec![world.permission("post_write").id, world.permission("post_read").id]));
    let held = ok(admin.get(&format!("/roles/{admin_id}/permissions")).send().await).await;
    assert_eq!(i64::try_from(held.as_array().unwrap().len()).unwrap(), BUILTIN_PERMISSION_COUNT);

    for suffix in ["permissions", "available-permissions"] {
        let response = admin.get(&format!("/roles/999/{suffix}")).send().await;
        assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    }
}

// ---------------------------------------------------------------------------------------------
// GET /roles/{id}/users, /available-users (§9.5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn role_users_and_available_users_list_each_user_once() {
    let app = app().await;
    let world = Scenario::new()
        .role("red", &[])
        .role("blue", &[])
        .role("green", &[])
        .user("both", &["red", "blue"])
        .user("red_only", &["red"])
        .user("blue_green", &["blue", "green"])
        .inactive_user("idle", &["red"])
        .user("loner", &[])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let admin_user = ok(admin.get("/users/me").send().await).await;
    let admin_id = id_of(&admin_user);
    let id = |name: &str| world.user(name).id;
    let (red, blue) = (world.role("red").id, world.role("blue").id);

    let red_users = ok(admin.get(&format!("/roles/{red}/users")).send().await).await;
    assert_eq!(ids(&red_users), sorted(vec![id("both"), id("red_only"), id("idle")]), "members of any status");
    let idle = rows(&red_users).iter().find(|u| id_of(u) == id("idle")).unwrap();
    assert_eq!(
        idle,
        &json!({"id": id("idle"), "name": "idle", "surname": "Test", "email": "idle@example.com", "is_active": false})
    );

    let red_available = ok(admin.get(&format!("/roles/{red}/available-users")).send().await).await;
    assert_eq!(ids(&red_available), sorted(vec![admin_id, id("blue_green"), id("loner")]));
    let blue_available = ok(admin.get(&format!("/roles/{blue}/available-users")).send().await).await;
    assert_eq!(ids(&blue_available), sorted(vec![admin_id, id("red_only"), id("idle"), id("loner")]));
    assert!(rows(&blue_available).iter().all(|u| u.get("hashed_password").is_none() && u.get("password").is_none()));

    // No role lookup: an unknown role has every user available (Kwik).
    let unknown = ok(admin.get("/roles/999/available-users").send().await).await;
    let all = ok(admin.get("/users/?limit=1000").send().await).await;
    assert_eq!(ids(&unknown), ids(&all));
    assert_eq!(ids(&unknown).len(), 6);
    // ... but the members list of an unknown role is a 404.
    assert_detail(admin.get("/roles/999/users").send().await, 404, "Entity [roles] with id=999 does not exist").await;
}

// ---------------------------------------------------------------------------------------------
// POST /roles/{id}/permissions, DELETE /roles/{id}/permissions/{pid}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn grant_permission_to_role_is_idempotent_and_effective() {
    let app = app().await;
    let world = Scenario::new().role("staff", &[]).user("ann", &["staff"]).build(&app).await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;
    let ann = world.user("ann");
    let user_read = permission_id(&admin, "user_read").await;
    assert_forbidden(app.as_user(ann).get("/users/").send().await).await;

    let body = grant(&admin, staff, user_read).await;
    assert_role(&body, staff, "staff", true, 1);
    let again = grant(&admin, staff, user_read).await;
    assert_eq!(again, body, "idempotent");
    let granted = ok(admin.get(&format!("/roles/{staff}/permissions")).send().await).await;
    assert_eq!(names(&granted), ["user_read"], "granted once");
    ok(app.as_user(ann).get("/users/").send().await).await;
    let mine = ok(app.as_user(ann).get("/users/me/permissions").send().await).await;
    assert_eq!(names(&mine), ["user_read"]);

    // Ids given as strings are accepted.
    let role_read = permission_id(&admin, "role_read").await;
    let path = format!("/roles/{staff}/permissions");
    ok(admin.post(&path).body_json(&json!({"permission_id": role_read.to_string()})).send().await).await;
    let granted = ok(admin.get(&path).send().await).await;
    assert_eq!(ids(&granted), sorted(vec![user_read, role_read]));
}

#[tokio::test]
async fn grant_permission_errors() {
    let app = app().await;
    let world = Scenario::new().role("staff", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;
    let user_read = permission_id(&admin, "user_read").await;
    let path = format!("/roles/{staff}/permissions");

    // 404 for the role first, then for the permission.
    let response = admin.post("/roles/999/permissions").body_json(&json!({"permission_id": 998})).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.post("/roles/999/permissions").body_json(&json!({"permission_id": user_read})).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.post(&path).body_json(&json!({"permission_id": 999})).send().await;
    assert_detail(response, 404, "Entity [permissions] with id=999 does not exist").await;

    assert_validation(admin.post(&path).body_json(&json!({})).send().await, &["body", "permission_id"]).await;
    // Check order: validation (422) before the lookups (404); permission (403) before validation.
    assert_validation(
        admin.post("/roles/999/permissions").body_json(&json!({})).send().await,
        &["body", "permission_id"],
    )
    .await;
    let half = Scenario::new().role("half", &["role_update"]).user("half", &["half"]).build(&app).await;
    assert_forbidden(app.as_user(half.user("half")).post("/roles/999/permissions").body_json(&json!({})).send().await)
        .await;
    assert_validation(
        admin.post(&path).body_json(&json!({"permission_id": "abc"})).send().await,
        &["body", "permission_id"],
    )
    .await;
    assert_validation(admin.post(&path).content_type("application/json").send().await, &["body"]).await;
    assert_eq!(ok(admin.get(&path).send().await).await, json!([]), "nothing was granted");
}

#[tokio::test]
async fn revoke_permission_from_role() {
    let app = app().await;
    let world = Scenario::new()
        .role("staff", &["user_read", "role_read"])
        .permission("unused")
        .user("ann", &["staff"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;
    let (user_read, role_read) = (world.permission("user_read").id, world.permission("role_read").id);
    ok(app.as_user(world.user("ann")).get("/users/").send().await).await;

    let body = ok(admin.delete(&format!("/roles/{staff}/permissions/{user_read}")).send().await).await;
    assert_role(&body, staff, "staff", true, 1);
    let granted = ok(admin.get(&format!("/roles/{staff}/permissions")).send().await).await;
    assert_eq!(ids(&granted), [role_read]);
    assert_forbidden(app.as_user(world.user("ann")).get("/users/").send().await).await;
    ok(admin.get(&format!("/permissions/{user_read}")).send().await).await; // the permission itself remains

    // No-op when not granted.
    let again = ok(admin.delete(&format!("/roles/{staff}/permissions/{user_read}")).send().await).await;
    assert_eq!(again, body);
    let unused = world.permission("unused").id;
    ok(admin.delete(&format!("/roles/{staff}/permissions/{unused}")).send().await).await;
    assert_eq!(ids(&ok(admin.get(&format!("/roles/{staff}/permissions")).send().await).await), [role_read]);

    let response = admin.delete(&format!("/roles/999/permissions/{role_read}")).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.delete(&format!("/roles/{staff}/permissions/999")).send().await;
    assert_detail(response, 404, "Entity [permissions] with id=999 does not exist").await;
}

async fn permission_id(admin: &TestClient<'_>, name: &str) -> i64 {
    let list = ok(admin.get(&format!("/permissions/?filter_key=name&value={name}")).send().await).await;
    assert_eq!(list["total"], 1, "{list}");
    id_of(&rows(&list)[0])
}

// ---------------------------------------------------------------------------------------------
// POST /roles/{id}/users, DELETE /roles/{id}/users/{uid}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn add_user_to_role_updates_user_count_and_is_idempotent() {
    let app = app().await;
    let world =
        Scenario::new().role("readers", &["user_read"]).user("ann", &[]).inactive_user("idle", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let readers = world.role("readers").id;
    let ann = world.user("ann");
    assert_forbidden(app.as_user(ann).get("/users/").send().await).await;

    let body = assign(&admin, readers, ann.id).await;
    assert_role(&body, readers, "readers", true, 1);
    assert_eq!(assign(&admin, readers, ann.id).await, body, "idempotent");
    ok(app.as_user(ann).get("/users/").send().await).await;
    let ann_roles = ok(app.as_user(ann).get("/users/me/roles").send().await).await;
    assert_eq!(names(&ann_roles), ["readers"]);

    // Inactive users count too; ids as strings are accepted.
    let path = format!("/roles/{readers}/users");
    let body =
        ok(admin.post(&path).body_json(&json!({"user_id": world.user("idle").id.to_string()})).send().await).await;
    assert_role(&body, readers, "readers", true, 2);
    let members = ok(admin.get(&path).send().await).await;
    assert_eq!(ids(&members), sorted(vec![ann.id, world.user("idle").id]));
}

#[tokio::test]
async fn add_user_to_role_errors() {
    let app = app().await;
    let world = Scenario::new().role("readers", &[]).user("ann", &[]).build(&app).await;
    let admin = app.as_admin().await;
    let readers = world.role("readers").id;
    let ann = world.user("ann").id;
    let path = format!("/roles/{readers}/users");

    let response = admin.post("/roles/999/users").body_json(&json!({"user_id": 998})).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.post("/roles/999/users").body_json(&json!({"user_id": ann})).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.post(&path).body_json(&json!({"user_id": 999})).send().await;
    assert_detail(response, 404, "Entity [users] with id=999 does not exist").await;
    assert_validation(admin.post(&path).body_json(&json!({})).send().await, &["body", "user_id"]).await;
    assert_validation(admin.post(&path).body_json(&json!({"user_id": "x"})).send().await, &["body", "user_id"]).await;
    let role = ok(admin.get(&format!("/roles/{readers}")).send().await).await;
    assert_eq!(role["user_count"], 0, "{role}");
}

#[tokio::test]
async fn remove_user_from_role() {
    let app = app().await;
    let world = Scenario::new()
        .role("readers", &["user_read"])
        .user("ann", &["readers"])
        .user("bob", &["readers"])
        .user("carl", &[])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let readers = world.role("readers").id;
    let (ann, bob) = (world.user("ann"), world.user("bob"));

    let body = ok(admin.delete(&format!("/roles/{readers}/users/{}", ann.id)).send().await).await;
    assert_role(&body, readers, "readers", true, 1);
    assert_forbidden(app.as_user(ann).get("/users/").send().await).await;
    ok(app.as_user(bob).get("/users/").send().await).await;
    // No-op when not a member.
    assert_eq!(ok(admin.delete(&format!("/roles/{readers}/users/{}", ann.id)).send().await).await, body);
    let carl = world.user("carl").id;
    assert_eq!(ok(admin.delete(&format!("/roles/{readers}/users/{carl}")).send().await).await, body);
    let members = ok(admin.get(&format!("/roles/{readers}/users")).send().await).await;
    assert_eq!(ids(&members), [bob.id]);
    // The user still exists.
    ok(admin.get(&format!("/users/{}", ann.id)).send().await).await;

    let response = admin.delete(&format!("/roles/999/users/{}", bob.id)).send().await;
    assert_detail(response, 404, "Entity [roles] with id=999 does not exist").await;
    let response = admin.delete(&format!("/roles/{readers}/users/999")).send().await;
    assert_detail(response, 404, "Entity [users] with id=999 does not exist").await;
}

// ---------------------------------------------------------------------------------------------
// DELETE /roles/{id}/permissions, DELETE /roles/{id}/users
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn clear_role_permissions_keeps_role_users_and_permissions() {
    let app = app().await;
    let world = Scenario::new()
        .role("staff", &["user_read", "role_read"])
        .role("other", &["user_read"])
        .user("ann", &["staff"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;

    let body = ok(admin.delete(&format!("/roles/{staff}/permissions")).send().await).await;
    assert_role(&body, staff, "staff", true, 1);
    assert_eq!(ok(admin.get(&format!("/roles/{staff}/permissions")).send().await).await, json!([]));
    assert_forbidden(app.as_user(world.user("ann")).get("/users/").send().await).await;
    // Other roles keep theirs; the permissions exist.
    let other = ok(admin.get(&format!("/roles/{}/permissions", world.role("other").id)).send().await).await;
    assert_eq!(names(&other), ["user_read"]);
    ok(admin.get(&format!("/permissions/{}", world.permission("role_read").id)).send().await).await;
    // Clearing an empty role is fine.
    assert_eq!(ok(admin.delete(&format!("/roles/{staff}/permissions")).send().await).await, body);
    assert_detail(
        admin.delete("/roles/999/permissions").send().await,
        404,
        "Entity [roles] with id=999 does not exist",
    )
    .await;
}

#[tokio::test]
async fn clear_role_users_sets_user_count_to_zero() {
    let app = app().await;
    let world = Scenario::new()
        .role("staff", &["user_read"])
        .role("other", &["user_read"])
        .user("ann", &["staff"])
        .user("bob", &["staff", "other"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let staff = world.role("staff").id;

    let body = ok(admin.delete(&format!("/roles/{staff}/users")).send().await).await;
    assert_role(&body, staff, "staff", true, 0);
    assert_eq!(ok(admin.get(&format!("/roles/{staff}/users")).send().await).await, json!([]));
    assert_forbidden(app.as_user(world.user("ann")).get("/users/").send().await).await;
    ok(app.as_user(world.user("bob")).get("/users/").send().await).await; // still through `other`
    let other = ok(admin.get(&format!("/roles/{}", world.role("other").id)).send().await).await;
    assert_eq!(other["user_count"], 1);
    // The role keeps its permissions; the users exist.
    assert_eq!(names(&ok(admin.get(&format!("/roles/{staff}/permissions")).send().await).await), ["user_read"]);
    ok(admin.get(&format!("/users/{}", world.user("ann").id)).send().await).await;
    assert_eq!(ok(admin.delete(&format!("/roles/{staff}/users")).send().await).await, body);
    assert_detail(admin.delete("/roles/999/users").send().await, 404, "Entity [roles] with id=999 does not exist")
        .await;
}

// ---------------------------------------------------------------------------------------------
// Inactive roles grant nothing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn inactive_role_grants_nothing_until_reactivated() {
    let app = app().await;
    let world = Scenario::new().inactive_role("readers", &["role_read"]).user("ann", &["readers"]).build(&app).await;
    let admin = app.as_admin().await;
    let readers = world.role("readers").id;
    let as_ann = app.as_user(world.user("ann"));

    assert_forbidden(as_ann.get("/roles/").send().await).await;
    assert_eq!(ok(as_ann.get("/users/me/permissions").send().await).await, json!([]));
    assert_eq!(ok(as_ann.get("/users/me/roles").send().await).await, json!([]));
    // Still a member: user_count counts it.
    assert_eq!(ok(admin.get(&format!("/roles/{readers}")).send().await).await["user_count"], 1);

    let on = ok(admin.put(&format!("/roles/{readers}")).body_json(&json!({"is_active": true})).send().await).await;
    assert_role(&on, readers, "readers", true, 1);
    let list = ok(as_ann.get("/roles/").send().await).await;
    assert_eq!(list["total"], 2);
    assert_eq!(names(&ok(as_ann.get("/users/me/permissions").send().await).await), ["role_read"]);

    ok(admin.put(&format!("/roles/{readers}")).body_json(&json!({"is_active": false})).send().await).await;
    assert_forbidden(as_ann.get("/roles/").send().await).await;
}

#[tokio::test]
async fn inactive_role_does_not_hide_permissions_of_active_roles() {
    let app = app().await;
    let world = Scenario::new()
        .inactive_role("off", &["role_read", "user_read"])
        .role("on", &["role_read"])
        .user("ann", &["off", "on"])
        .build(&app)
        .await;
    let as_ann = app.as_user(world.user("ann"));
    ok(as_ann.get("/roles/").send().await).await;
    assert_forbidden(as_ann.get("/users/").send().await).await;
    assert_eq!(names(&ok(as_ann.get("/users/me/permissions").send().await).await), ["role_read"]);
}

// ---------------------------------------------------------------------------------------------
// Concurrency: a name is taken exactly once, never a 500
// ---------------------------------------------------------------------------------------------

async fn race_role_creation(names: [&'static str; 8]) -> (Arc<TestApp>, Vec<(u16, Value)>) {
    let app = Arc::new(app().await);
    let token = app.login(kwik_testing::ADMIN_EMAIL, kwik_testing::ADMIN_PASSWORD).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(names.len()));
    let mut tasks = Vec::new();
    for name in names {
        let (app, token, barrier) = (Arc::clone(&app), token.clone(), Arc::clone(&barrier));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let response = app
                .with_token(&token)
                .post("/roles/")
                .body_json(&json!({"name": name, "is_active": true}))
                .send()
                .await;
            let status = response.0.status().as_u16();
            (status, json_of(response).await)
        }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    (app, results)
}

fn assert_one_winner(results: &[(u16, Value)]) -> Value {
    let winners: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert_eq!(winners.len(), 1, "exactly one creation succeeds: {results:?}");
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 409, "the others are conflicts, never 500: {body}");
        assert_eq!(body["detail"], "Entity already exists");
    }
    winners[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creation_of_the_same_role_name_yields_one_200_and_409s() {
    let (app, results) = race_role_creation(["racer"; 8]).await;
    let winner = assert_one_winner(&results);
    assert_eq!(winner["name"], "racer");
    let admin = app.as_admin().await;
    let list = ok(admin.get("/roles/?filter_key=name&value=racer").send().await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(rows(&list)[0], winner);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creation_of_names_differing_in_case_yields_one_200_and_409s() {
    let (app, results) =
        race_role_creation(["racer", "Racer", "RACER", " racer", "rAcer ", "raCer", "racER", " RaCeR "]).await;
    let winner = assert_one_winner(&results);
    assert_eq!(winner["name"], "racer");
    let admin = app.as_admin().await;
    let list = ok(admin.get("/roles/").send().await).await;
    assert_eq!(names(&list), ["admin", "racer"]);
}
