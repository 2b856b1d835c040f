//! `/permissions/...` (CONTRACT §3, §5, §9.3) and the start-up bootstrap of permissions, the
//! `admin` role and the first superuser (§8).

use kwik_http::builtin::{BUILTIN_MODULE_PERMISSIONS, Builtin};
use kwik_http::{App, AppState};
use kwik_testing::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, TestDatabase, assert_detail, assert_validation, json_of,
    test_settings,
};
use serde_json::{Value, json};

use crate::common::{app, app_with};
use crate::roles::{
    admin_role_id, assert_forbidden, assert_unauthenticated, create_permission, create_role, grant, id_of, ids, names,
    ok, rows, send, sorted,
};

/// Kwik's 14 built-in permissions (CONTRACT §3).
const KWIK_PERMISSIONS: [&str; 14] = [
    "impersonification",
    "user_create",
    "user_read",
    "user_update",
    "user_delete",
    "password_reset",
    "permission_create",
    "permission_read",
    "permission_update",
    "permission_delete",
    "role_create",
    "role_read",
    "role_update",
    "role_delete",
];

/// How many permissions the built-in module bootstraps.
const BUILTIN: usize = KWIK_PERMISSIONS.len() + BUILTIN_MODULE_PERMISSIONS.len();

/// Every permission bootstrapped with the built-in module: Kwik's 14 plus the API-key and audit-log ones.
fn bootstrapped_names() -> Vec<String> {
    let mut all: Vec<String> =
        KWIK_PERMISSIONS.iter().chain(&BUILTIN_MODULE_PERMISSIONS).map(|s| (*s).to_owned()).collect();
    all.sort();
    all
}

fn sorted_names(body: &Value) -> Vec<String> {
    let mut names = names(body);
    names.sort();
    names
}

/// Asserts a PermissionProfile body: exactly `{id, name}`.
fn assert_permission(body: &Value, id: i64, name: &str) {
    assert_eq!(body, &json!({"id": id, "name": name}), "{body}");
}

// ---------------------------------------------------------------------------------------------
// Permission gates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_permissions_route_requires_credentials_and_all_its_permissions() {
    let app = app().await;
    let perms = ["permission_read", "permission_create", "permission_update", "permission_delete", "role_read"];
    let mut scenario = Scenario::new().user("nobody", &[]);
    for permission in perms {
        let role = format!("grant_{permission}");
        scenario = scenario.role(&role, &[permission]).user(&format!("solo_{permission}"), &[role.as_str()]);
    }
    let world = scenario.build(&app).await;
    let admin = app.as_admin().await;

    let routes: [(&str, &str, Option<Value>, &[&str]); 9] = [
        ("GET", "/permissions/", None, &["permission_read"]),
        ("POST", "/permissions/", Some(json!({"name": "gate_created"})), &["permission_create"]),
        ("GET", "/permissions/{p}", None, &["permission_read"]),
        ("PUT", "/permissions/{p}", Some(json!({"name": "gate_renamed"})), &["permission_update"]),
        ("GET", "/permissions/{p}/roles", None, &["permission_read", "role_read"]),
        ("GET", "/permissions/{p}/available-roles", None, &["permission_read", "role_read"]),
        ("DELETE", "/permissions/{p}/roles", None, &["permission_delete"]),
        ("DELETE", "/permissions/{p}", None, &["permission_delete"]),
        // A role route gated by a permission-side right too: both are needed.
        ("GET", "/roles/{r}/permissions", None, &["role_read", "permission_read"]),
    ];
    let holder = id_of(&create_role(&admin, "holder", true).await);
    let admin_role = admin_role_id(&admin).await;

    for (index, (method, template, body, required)) in routes.iter().enumerate() {
        let target = create_permission(&admin, &format!("gate_target_{index}")).await;
        let permission = id_of(&target);
        grant(&admin, holder, permission).await;
        let path = template.replace("{p}", &permission.to_string()).replace("{r}", &holder.to_string());
        let what = format!("{method} {path}");

        assert_unauthenticated(send(&app.anonymous(), method, &path, body.as_ref()).await).await;
        assert_forbidden(send(&app.as_user(world.user("nobody")), method, &path, body.as_ref()).await).await;
        let others: Vec<&str> = if required.len() == 1 {
            perms.iter().copied().filter(|p| *p != required[0]).collect()
        } else {
            required.to_vec()
        };
        for held in others {
            let response = send(&app.as_user(world.user(&format!("solo_{held}"))), method, &path, body.as_ref()).await;
            assert_eq!(response.0.status(), 403, "{what} with only {held} of {required:?}");
        }
        let after = ok(admin.get(&format!("/permissions/{permission}")).send().await).await;
        assert_eq!(after, target, "{what}: a refused request changed the permission");
        let links = ok(admin.get(&format!("/permissions/{permission}/roles")).send().await).await;
        // The admin role holds every permission, new ones included.
        assert_eq!(ids(&links), sorted(vec![admin_role, holder]), "{what}: a refused request changed the links");

        let user_name = format!("exact_{index}");
        let role_name = format!("exact_role_{index}");
        let exact =
            Scenario::new().role(&role_name, required).user(&user_name, &[role_name.as_str()]).build(&app).await;
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
    let cases: [(&str, &str, Option<Value>); 6] = [
        ("GET", "/permissions/abc", None),
        ("PUT", "/permissions/abc", Some(json!({"name": "x"}))),
        ("DELETE", "/permissions/abc", None),
        ("GET", "/permissions/abc/roles", None),
        ("GET", "/permissions/1.5/available-roles", None),
        ("DELETE", "/permissions/abc/roles", None),
    ];
    for (method, path, body) in cases {
        let issue =
            assert_validation(send(&admin, method, path, body.as_ref()).await, &["path", "permission_id"]).await;
        assert_eq!(issue["type"], "int_parsing", "{method} {path}: {issue}");
    }
}

// ---------------------------------------------------------------------------------------------
// GET /permissions/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_permissions_is_paginated_in_id_order() {
    let app = app().await;
    let admin = app.as_admin().await;
    let zeta = create_permission(&admin, "zeta").await;
    let alpha = create_permission(&admin, "alpha").await;

    let body = ok(admin.get("/permissions/").send().await).await;
    assert_eq!(body["total"], BUILTIN + 2, "{body}");
    let listed: Vec<i64> = rows(&body).iter().map(id_of).collect();
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "default order is id ascending: {body}");
    let all_names = names(&body);
    assert_eq!(&all_names[BUILTIN..], ["zeta", "alpha"]);
    for row in rows(&body) {
        assert_eq!(row.as_object().unwrap().len(), 2, "PermissionProfile is {{id, name}}: {row}");
    }
    assert_eq!(rows(&body)[BUILTIN], zeta);

    let page = ok(admin.get(&format!("/permissions/?skip={BUILTIN}&limit=1")).send().await).await;
    assert_eq!(page, json!({"total": BUILTIN + 2, "data": [zeta]}));
    assert_eq!(ok(admin.get("/permissions/?limit=0").send().await).await, json!({"total": BUILTIN + 2, "data": []}));

    let by_name = ok(admin.get("/permissions/?sorting=name:desc&limit=2").send().await).await;
    assert_eq!(names(&by_name), ["zeta", "user_update"]);
    let by_name = ok(admin.get("/permissions/?sorting=name&limit=1").send().await).await;
    assert_eq!(by_name["data"], json!([alpha]));
    let junk = ok(admin.get("/permissions/?sorting=;;&limit=1").send().await).await;
    assert_eq!(junk["data"][0]["id"], listed[0]);

    let filtered = ok(admin.get("/permissions/?filter_key=name&value=user_read").send().await).await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(names(&filtered), ["user_read"]);
    let by_id = ok(admin.get(&format!("/permissions/?filter_key=id&value={}", id_of(&alpha))).send().await).await;
    assert_eq!(by_id, json!({"total": 1, "data": [alpha]}));
}

#[tokio::test]
async fn list_permissions_limit_is_capped_by_kwik_list_max_limit() {
    let app = app().await;
    let admin = app.as_admin().await;
    assert_validation(admin.get("/permissions/?limit=5000").send().await, &["query", "limit"]).await;
    let relaxed = app_with(&[("KWIK_LIST_MAX_LIMIT", "5000")]).await;
    let body = ok(relaxed.as_admin().await.get("/permissions/?limit=5000").send().await).await;
    assert_eq!(rows(&body).len(), BUILTIN, "{body}");
}

#[tokio::test]
async fn list_permissions_allows_only_id_and_name() {
    let app = app().await;
    let admin = app.as_admin().await;
    for field in ["is_active", "creation_time", "role_id", "DESC"] {
        let response = admin.get(&format!("/permissions/?sorting={field}")).send().await;
        assert_detail(response, 400, &format!("Invalid sort field '{field}' for model Permission")).await;
    }
    let response = admin.get("/permissions/?sorting=name:DESC").send().await;
    assert_detail(response, 400, "Invalid sort field 'DESC' for model Permission").await;
    for field in ["is_active", "creation_time", "x"] {
        let response = admin.get(&format!("/permissions/?filter_key={field}&value=1")).send().await;
        assert_detail(response, 400, &format!("Invalid filter field '{field}' for model Permission")).await;
    }
    let response = admin.get("/permissions/?filter_key=x&value=1&sorting=y").send().await;
    assert_detail(response, 400, "Invalid filter field 'x' for model Permission").await;
    assert_validation(admin.get("/permissions/?skip=-1").send().await, &["query", "skip"]).await;
    assert_validation(admin.get("/permissions/?limit=-5").send().await, &["query", "limit"]).await;
    assert_validation(admin.get("/permissions/?limit=x").send().await, &["query", "limit"]).await;
}

// ---------------------------------------------------------------------------------------------
// POST /permissions/
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn create_permission_normalises_and_rejects_duplicates() {
    let app = app().await;
    let admin = app.as_admin().await;
    let body = create_permission(&admin, "  Project_Read ").await;
    let id = id_of(&body);
    assert_permission(&body, id, "project_read");
    assert_eq!(ok(admin.get(&format!("/permissions/{id}")).send().await).await, body);

    for taken in ["project_read", "PROJECT_READ", " Project_read\t", "user_read", "USER_READ"] {
        let response = admin.post("/permissions/").body_json(&json!({"name": taken})).send().await;
        assert_detail(response, 409, "Entity already exists").await;
    }
    let list = ok(admin.get("/permissions/?filter_key=name&value=project_read").send().await).await;
    assert_eq!(list["total"], 1);
    assert_eq!(ok(admin.get("/permissions/").send().await).await["total"], BUILTIN + 1);
}

#[tokio::test]
async fn create_permission_validates_and_gates() {
    let app = app().await;
    let world = Scenario::new().role("reader", &["permission_read"]).user("reader", &["reader"]).build(&app).await;
    let admin = app.as_admin().await;

    let issue =
        assert_validation(admin.post("/permissions/").body_json(&json!({})).send().await, &["body", "name"]).await;
    assert_eq!(issue["type"], "missing", "{issue}");
    for blank in ["", "  "] {
        let response = admin.post("/permissions/").body_json(&json!({"name": blank})).send().await;
        let issue = assert_validation(response, &["body", "name"]).await;
        assert_eq!(issue["type"], "string_too_short", "{issue}");
    }
    assert_validation(admin.post("/permissions/").body_json(&json!({"name": null})).send().await, &["body", "name"])
        .await;
    assert_validation(admin.post("/permissions/").content_type("application/json").send().await, &["body"]).await;

    // 403 comes before validation; 401 before everything.
    let as_reader = app.as_user(world.user("reader"));
    assert_forbidden(as_reader.post("/permissions/").body_json(&json!({})).send().await).await;
    assert_forbidden(as_reader.post("/permissions/").body_json(&json!({"name": "sneaky"})).send().await).await;
    assert_unauthenticated(app.anonymous().post("/permissions/").body_json(&json!({"name": "x"})).send().await).await;
    assert_eq!(ok(admin.get("/permissions/").send().await).await["total"], BUILTIN, "nothing was created");
}

// ---------------------------------------------------------------------------------------------
// GET /permissions/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_permission_returns_it_or_404() {
    let app = app().await;
    let world = Scenario::new().role("roles_only", &["role_read"]).user("ann", &["roles_only"]).build(&app).await;
    let admin = app.as_admin().await;
    let created = create_permission(&admin, "report_export").await;
    let path = format!("/permissions/{}", id_of(&created));

    assert_permission(&ok(admin.get(&path).send().await).await, id_of(&created), "report_export");
    assert_detail(admin.get("/permissions/999").send().await, 404, "Entity [permissions] with id=999 does not exist")
        .await;
    assert_unauthenticated(app.anonymous().get(&path).send().await).await;
    assert_forbidden(app.as_user(world.user("ann")).get(&path).send().await).await;
}

// ---------------------------------------------------------------------------------------------
// PUT /permissions/{id} (§9.3)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn update_permission_renames_with_normalisation() {
    let app = app().await;
    let world = Scenario::new().role("exporters", &["report_export"]).user("ann", &["exporters"]).build(&app).await;
    let admin = app.as_admin().await;
    let id = world.permission("report_export").id;
    let path = format!("/permissions/{id}");

    let renamed = ok(admin.put(&path).body_json(&json!({"name": "  Report_Download "})).send().await).await;
    assert_permission(&renamed, id, "report_download");
    assert_eq!(ok(admin.get(&path).send().await).await, renamed);
    // Same name in another case: not a conflict.
    assert_permission(
        &ok(admin.put(&path).body_json(&json!({"name": "REPORT_DOWNLOAD"})).send().await).await,
        id,
        "report_download",
    );
    // The rename is what users hold now; the role link is kept.
    let mine = ok(app.as_user(world.user("ann")).get("/users/me/permissions").send().await).await;
    assert_eq!(names(&mine), ["report_download"]);
    // The old name is free again.
    create_permission(&admin, "report_export").await;
}

#[tokio::test]
async fn update_permission_to_a_taken_name_is_409_and_the_name_stays_unique() {
    let app = app().await;
    let admin = app.as_admin().await;
    let export = create_permission(&admin, "report_export").await;
    let path = format!("/permissions/{}", id_of(&export));

    for taken in ["user_read", "USER_READ ", "Role_Delete"] {
        let response = admin.put(&path).body_json(&json!({"name": taken})).send().await;
        assert_detail(response, 409, "Entity already exists").await;
    }
    assert_eq!(ok(admin.get(&path).send().await).await, export, "the refused rename changed nothing");
    // Kwik's bug §9.3 would make the next create a 500 (two rows named user_read): it is a 409.
    let response = admin.post("/permissions/").body_json(&json!({"name": "user_read"})).send().await;
    assert_detail(response, 409, "Entity already exists").await;
    let user_read = ok(admin.get("/permissions/?filter_key=name&value=user_read").send().await).await;
    assert_eq!(user_read["total"], 1);
    // And the admin still passes its user_read gate.
    ok(admin.get("/users/").send().await).await;
}

#[tokio::test]
async fn update_permission_validates_404s_and_gates() {
    let app = app().await;
    let world = Scenario::new().role("reader", &["permission_read"]).user("reader", &["reader"]).build(&app).await;
    let admin = app.as_admin().await;
    let export = create_permission(&admin, "report_export").await;
    let path = format!("/permissions/{}", id_of(&export));

    assert_validation(admin.put(&path).body_json(&json!({})).send().await, &["body", "name"]).await;
    assert_validation(admin.put(&path).body_json(&json!({"name": " "})).send().await, &["body", "name"]).await;
    assert_validation(admin.put("/permissions/999").body_json(&json!({})).send().await, &["body", "name"]).await;
    let response = admin.put("/permissions/999").body_json(&json!({"name": "x"})).send().await;
    assert_detail(response, 404, "Entity [permissions] with id=999 does not exist").await;
    assert_forbidden(app.as_user(world.user("reader")).put(&path).body_json(&json!({"name": "x"})).send().await).await;
    assert_unauthenticated(app.anonymous().put(&path).body_json(&json!({"name": "x"})).send().await).await;
    assert_eq!(ok(admin.get(&path).send().await).await, export);
}

// ---------------------------------------------------------------------------------------------
// GET /permissions/{id}/roles, /available-roles
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn permission_roles_and_available_roles_partition_all_roles() {
    let app = app().await;
    let world = Scenario::new()
        .role("editor", &["post_write"])
        .inactive_role("retired", &["post_write"])
        .role("viewer", &[])
        .permission("orphan")
        .user("ann", &["editor"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let admin_id = admin_role_id(&admin).await;
    let (editor, retired, viewer) = (world.role("editor").id, world.role("retired").id, world.role("viewer").id);
    let post_write = world.permission("post_write").id;

    let granting = ok(admin.get(&format!("/permissions/{post_write}/roles")).send().await).await;
    assert_eq!(ids(&granting), sorted(vec![editor, retired]), "inactive roles are listed too");
    let editor_row = rows(&granting).iter().find(|r| id_of(r) == editor).unwrap();
    assert_eq!(editor_row, &json!({"id": editor, "name": "editor", "is_active": true, "user_count": 1}));
    let available = ok(admin.get(&format!("/permissions/{post_write}/available-roles")).send().await).await;
    assert_eq!(ids(&available), sorted(vec![admin_id, viewer]));

    let orphan = world.permission("orphan").id;
    assert_eq!(ok(admin.get(&format!("/permissions/{orphan}/roles")).send().await).await, json!([]));
    let everyone = ok(admin.get(&format!("/permissions/{orphan}/available-roles")).send().await).await;
    assert_eq!(ids(&everyone), sorted(vec![admin_id, editor, retired, viewer]));

    // Built-in permissions are held by admin.
    let user_read = world_permission_id(&admin, "user_read").await;
    let holders = ok(admin.get(&format!("/permissions/{user_read}/roles")).send().await).await;
    assert_eq!(names(&holders), ["admin"]);

    for suffix in ["roles", "available-roles"] {
        let response = admin.get(&format!("/permissions/999/{suffix}")).send().await;
        assert_detail(response, 404, "Entity [permissions] with id=999 does not exist").await;
    }
}

async fn world_permission_id(admin: &kwik_testing::TestClient<'_>, name: &str) -> i64 {
    let list = ok(admin.get(&format!("/permissions/?filter_key=name&value={name}")).send().await).await;
    id_of(&rows(&list)[0])
}

// ---------------------------------------------------------------------------------------------
// DELETE /permissions/{id}/roles, DELETE /permissions/{id}
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn clear_permission_roles_keeps_the_permission() {
    let app = app().await;
    let world = Scenario::new()
        .role("editor", &["post_write", "post_read"])
        .role("writer", &["post_write"])
        .user("ann", &["editor", "writer"])
        .build(&app)
        .await;
    let admin = app.as_admin().await;
    let post_write = world.permission("post_write").id;

    let body = ok(admin.delete(&format!("/permissions/{post_write}/roles")).send().await).await;
    assert_permission(&body, post_write, "post_write");
    assert_eq!(ok(admin.get(&format!("/permissions/{post_write}")).send().await).await, body, "kept");
    assert_eq!(ok(admin.get(&format!("/permissions/{post_write}/roles")).send().await).await, json!([]));
    let editor = ok(admin.get(&format!("/roles/{}/permissions", world.role("editor").id)).send().await).await;
    assert_eq!(names(&editor), ["post_read"], "other permissions of the role are untouched");
    let writer = ok(admin.get(&format!("/roles/{}", world.role("writer").id)).send().await).await;
    assert_eq!(writer["user_count"], 1, "the roles and their users are untouched");
    let mine = ok(app.as_user(world.user("ann")).get("/users/me/permissions").send().await).await;
    assert_eq!(names(&mine), ["post_read"]);

    // Again: nothing to clear, still 200.
    assert_eq!(ok(admin.delete(&format!("/permissions/{post_write}/roles")).send().await).await, body);
    let response = admin.delete("/permissions/999/roles").send().await;
    assert_detail(response, 404, "Entity [permissions] with id=999 does not exist").await;
}

#[tokio::test]
async fn delete_permission_purges_its_role_links_and_returns_it() {
    let app = app().await;
    let world = Scenario::new().role("editor", &["post_write", "post_read"]).user("ann", &["editor"]).build(&app).await;
    let admin = app.as_admin().await;
    let post_write = world.permission("post_write").id;
    let path = format!("/permissions/{post_write}");

    let deleted = ok(admin.delete(&path).send().await).await;
    assert_permission(&deleted, post_write, "post_write");
    let gone = format!("Entity [permissions] with id={post_write} does not exist");
    assert_detail(admin.get(&path).send().await, 404, &gone).await;
    assert_detail(admin.delete(&path).send().await, 404, &gone).await;
    let editor = ok(admin.get(&format!("/roles/{}/permissions", world.role("editor").id)).send().await).await;
    assert_eq!(names(&editor), ["post_read"]);
    let available =
        ok(admin.get(&format!("/roles/{}/available-permissions", world.role("editor").id)).send().await).await;
    assert!(!names(&available).contains(&"post_write".to_owned()), "{available}");
    let mine = ok(app.as_user(world.user("ann")).get("/users/me/permissions").send().await).await;
    assert_eq!(names(&mine), ["post_read"]);
    assert_eq!(ok(admin.get("/permissions/").send().await).await["total"], BUILTIN + 1);
    // The name can be created again.
    create_permission(&admin, "post_write").await;
    assert_detail(
        admin.delete("/permissions/999").send().await,
        404,
        "Entity [permissions] with id=999 does not exist",
    )
    .await;
}

#[tokio::test]
async fn permissions_the_code_checks_cannot_be_renamed_or_deleted() {
    // Checks go by name: renaming `impersonification` away and a harmless permission one holds to
    // `impersonification` used to hand out impersonation. Built-in names and every name a module
    // declares are refused (409); other permissions still can be.
    let app = app().await;
    let admin = app.as_admin().await;
    for name in ["impersonification", "role_read", "api_key_revoke"] {
        let id = world_permission_id(&admin, name).await;
        let renamed = admin.put(&format!("/permissions/{id}")).body_json(&json!({"name": "retired"})).send().await;
        assert_detail(
            renamed,
            409,
            &format!(
                "Permission '{name}' is used by the application and cannot be renamed; revoke it from roles instead"
            ),
        )
        .await;
        let deleted = admin.delete(&format!("/permissions/{id}")).send().await;
        assert_detail(
            deleted,
            409,
            &format!(
                "Permission '{name}' is used by the application and cannot be deleted; revoke it from roles instead"
            ),
        )
        .await;
        // Renaming to its own name (normalised) is not a rename.
        ok(admin.put(&format!("/permissions/{id}")).body_json(&json!({"name": name.to_uppercase()})).send().await)
            .await;
    }
    ok(admin.get("/roles/").send().await).await;
    let custom = ok(admin.post("/permissions/").body_json(&json!({"name": "report_read"})).send().await).await;
    let custom_id = id_of(&custom);
    let renamed =
        ok(admin.put(&format!("/permissions/{custom_id}")).body_json(&json!({"name": "report_view"})).send().await)
            .await;
    assert_eq!(renamed["name"], "report_view");
    // Taking a checked name is a duplicate.
    let taken =
        admin.put(&format!("/permissions/{custom_id}")).body_json(&json!({"name": "impersonification"})).send().await;
    assert_eq!(taken.0.status(), 409);
    ok(admin.delete(&format!("/permissions/{custom_id}")).send().await).await;
}

// ---------------------------------------------------------------------------------------------
// Bootstrap (§8)
// ---------------------------------------------------------------------------------------------

/// Asserts the bootstrapped state through the API: the built-in permissions once each, `admin` holding
/// them all, the superuser its only member.
async fn assert_bootstrapped(app: &TestApp) {
    let admin = app.as_admin().await;
    let all = ok(admin.get("/permissions/?limit=1000").send().await).await;
    assert_eq!(sorted_names(&all), bootstrapped_names(), "each built-in permission exactly once");
    assert_eq!(all["total"], BUILTIN);

    let roles = ok(admin.get("/roles/").send().await).await;
    assert_eq!(names(&roles), ["admin"], "one admin role");
    let admin_role = &rows(&roles)[0];
    assert_eq!(admin_role["is_active"], true);
    assert_eq!(admin_role["user_count"], 1, "the superuser is its only member: {admin_role}");
    let admin_id = id_of(admin_role);

    let held = ok(admin.get(&format!("/roles/{admin_id}/permissions")).send().await).await;
    assert_eq!(sorted_names(&held), bootstrapped_names(), "admin holds each permission once");
    assert_eq!(ok(admin.get(&format!("/roles/{admin_id}/available-permissions")).send().await).await, json!([]));

    let members = ok(admin.get(&format!("/roles/{admin_id}/users")).send().await).await;
    assert_eq!(rows(&members).len(), 1);
    let superuser = &rows(&members)[0];
    assert_eq!(
        superuser,
        &json!({"id": superuser["id"], "name": "admin", "surname": "admin", "email": ADMIN_EMAIL, "is_active": true})
    );
    let users = ok(admin.get("/users/").send().await).await;
    assert_eq!(users["total"], 1, "one superuser: {users}");

    let mine = ok(admin.get("/users/me/permissions").send().await).await;
    assert_eq!(sorted_names(&mine), bootstrapped_names(), "effective, each once");
    let my_roles = ok(admin.get("/users/me/roles").send().await).await;
    assert_eq!(names(&my_roles), ["admin"]);
}

#[tokio::test]
async fn bootstrap_creates_permissions_admin_role_and_superuser() {
    let app = app().await;
    assert_bootstrapped(&app).await;
    for name in KWIK_PERMISSIONS {
        let list =
            ok(app.as_admin().await.get(&format!("/permissions/?filter_key=name&value={name}")).send().await).await;
        assert_eq!(list["total"], 1, "{name}");
    }
}

#[tokio::test]
async fn bootstrap_run_again_on_the_same_state_creates_no_duplicates() {
    let app = app().await;
    let state = app.state();
    for _ in 0..2 {
        kwik_rbac::bootstrap(&state.db, &state.hasher, ADMIN_EMAIL, ADMIN_PASSWORD, &BUILTIN_MODULE_PERMISSIONS)
            .await
            .unwrap();
    }
    assert_bootstrapped(&app).await;
}

#[tokio::test]
async fn preparing_the_app_twice_on_one_database_is_idempotent() {
    let database = TestDatabase::new().await;
    for password in [ADMIN_PASSWORD, "a-different-password-on-restart"] {
        let settings = test_settings(database.url(), &[("KWIK_FIRST_SUPERUSER_PASSWORD", password)]);
        let state = AppState::new(settings, database.connect().await).unwrap();
        let app = App::new(state).module(Builtin);
        app.prepare().await.unwrap();
        app.prepare().await.unwrap();
    }
    let client = poem::test::TestClient::new({
        let state = AppState::new(test_settings(database.url(), &[]), database.connect().await).unwrap();
        App::new(state).module(Builtin).endpoint()
    });
    // The superuser's password was not overwritten by the restart with another one.
    let login = |password: &'static str| {
        client
            .post("/api/v1/login/access-token")
            .content_type("application/x-www-form-urlencoded")
            .body(format!("username=admin%40example.com&password={password}"))
            .send()
    };
    let refused = login("a-different-password-on-restart").await;
    assert_eq!(refused.0.status(), 401);
    let token = json_of(login(ADMIN_PASSWORD).await).await["access_token"].as_str().unwrap().to_owned();
    let get = |path: String| client.get(path).header("Authorization", format!("Bearer {token}")).send();

    let all = json_of(get("/api/v1/permissions/?limit=1000".to_owned()).await).await;
    assert_eq!(sorted_names(&all), bootstrapped_names(), "{all}");
    let roles = json_of(get("/api/v1/roles/".to_owned()).await).await;
    assert_eq!(names(&roles), ["admin"]);
    assert_eq!(rows(&roles)[0]["user_count"], 1);
    let admin_id = id_of(&rows(&roles)[0]);
    let held = json_of(get(format!("/api/v1/roles/{admin_id}/permissions")).await).await;
    assert_eq!(sorted_names(&held), bootstrapped_names());
    let users = json_of(get("/api/v1/users/".to_owned()).await).await;
    assert_eq!(users["total"], 1, "{users}");
}

#[tokio::test]
async fn bootstrap_rerun_keeps_roles_and_permissions_added_later() {
    // A restart keeps what administrators did: extra roles and permissions stay, names are not
    // duplicated, and the superuser keeps other roles it was given.
    let app = app().await;
    let admin = app.as_admin().await;
    let extra = create_role(&admin, "operators", true).await;
    let superuser = id_of(&ok(admin.get("/users/me").send().await).await);
    crate::roles::assign(&admin, id_of(&extra), superuser).await;
    create_permission(&admin, "custom_thing").await;

    let state = app.state();
    kwik_rbac::bootstrap(&state.db, &state.hasher, ADMIN_EMAIL, ADMIN_PASSWORD, &BUILTIN_MODULE_PERMISSIONS)
        .await
        .unwrap();

    let roles = ok(admin.get("/roles/").send().await).await;
    assert_eq!(names(&roles), ["admin", "operators"]);
    assert!(rows(&roles).iter().all(|r| r["user_count"] == 1), "{roles}");
    let all = ok(admin.get("/permissions/?limit=1000").send().await).await;
    assert_eq!(all["total"], BUILTIN + 1);
    let my_roles = ok(admin.get("/users/me/roles").send().await).await;
    assert_eq!(sorted_names(&my_roles), ["admin", "operators"]);
}
