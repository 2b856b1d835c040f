//! Every endpoint of the Projects and Customers modules: success, authentication, permissions,
//! 404, 409, 422, audit fields, partial updates, archiving, and the module permissions.

use std::time::Duration;

use kwik_testing::{Scenario, TestApp, assert_detail, assert_validation};
use serde_json::{Value, json};

use crate::common::{app, call, create_customer, create_project, id, ids, list, ok, sent, time, total};

const PROJECT_PERMISSIONS: [&str; 4] = ["project_create", "project_read", "project_update", "project_delete"];
const CUSTOMER_PERMISSIONS: [&str; 4] = ["customers_create", "customers_read", "customers_update", "customers_delete"];

/// One endpoint: method, path, body and the permissions it requires (all of them).
struct Endpoint {
    method: &'static str,
    path: String,
    body: Option<Value>,
    needs: &'static [&'static str],
}

impl Endpoint {
    fn new(method: &'static str, path: impl Into<String>, body: Option<Value>, needs: &'static [&'static str]) -> Self {
        Self { method, path: path.into(), body, needs }
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The 6 project endpoints, each on its own project so that a success does not disturb the next.
async fn project_endpoints(app: &TestApp) -> Vec<Endpoint> {
    let admin = app.as_admin().await;
    let mut targets = Vec::new();
    for n in 0..4 {
        targets.push(id(&create_project(&admin, &json!({"name": format!("target {n}")})).await));
    }
    vec![
        Endpoint::new("GET", "/projects/", None, &["project_read"]),
        Endpoint::new("POST", "/projects/", Some(json!({"name": "made by a test"})), &["project_create"]),
        Endpoint::new("GET", format!("/projects/{}", targets[0]), None, &["project_read"]),
        Endpoint::new(
            "PUT",
            format!("/projects/{}", targets[1]),
            Some(json!({"description": "x"})),
            &["project_update"],
        ),
        Endpoint::new("DELETE", format!("/projects/{}", targets[2]), None, &["project_delete"]),
        Endpoint::new("POST", format!("/projects/{}/archive", targets[3]), None, &["project_update", "project_read"]),
    ]
}

/// The 5 customer endpoints, each on its own customer.
async fn customer_endpoints(app: &TestApp) -> Vec<Endpoint> {
    let admin = app.as_admin().await;
    let mut targets = Vec::new();
    for n in 0..3 {
        let body = json!({"name": "Target", "email": format!("target{n}@example.com")});
        targets.push(id(&create_customer(&admin, &body).await));
    }
    vec![
        Endpoint::new("GET", "/customers/", None, &["customers_read"]),
        Endpoint::new(
            "POST",
            "/customers/",
            Some(json!({"name": "New", "email": "new@example.com"})),
            &["customers_create"],
        ),
        Endpoint::new("GET", format!("/customers/{}", targets[0]), None, &["customers_read"]),
        Endpoint::new(
            "PUT",
            format!("/customers/{}", targets[1]),
            Some(json!({"credit_limit": "1"})),
            &["customers_update"],
        ),
        Endpoint::new("DELETE", format!("/customers/{}", targets[2]), None, &["customers_delete"]),
    ]
}

#[tokio::test]
async fn every_endpoint_answers_401_without_credentials() {
    let app = app().await;
    let mut endpoints = project_endpoints(&app).await;
    endpoints.extend(customer_endpoints(&app).await);
    assert_eq!(endpoints.len(), 11);
    for endpoint in &endpoints {
        let response = call(&app.anonymous(), endpoint.method, &endpoint.path, endpoint.body.as_ref()).await;
        response.assert_header("WWW-Authenticate", "Bearer");
        let (status, body) = sent(response).await;
        assert_eq!((status, &body["detail"]), (401, &json!("Not authenticated")), "{}: {body}", endpoint.label());
    }
    // A scheme other than Bearer is no credential either.
    let raw = app.raw().get(format!("{}/projects/", app.prefix())).header("Authorization", "Basic YTpi").send().await;
    raw.assert_header("WWW-Authenticate", "Bearer");
    assert_detail(raw, 401, "Not authenticated").await;
    // Nothing was created, changed or deleted by the refused requests.
    let admin = app.as_admin().await;
    assert_eq!(total(&list(&admin, "/projects/", &[]).await), 4);
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), 3);
    let archived = list(&admin, "/projects/", &[("filter", "archived:eq:true")]).await;
    assert_eq!(total(&archived), 0);
}

/// For each endpoint: a user holding every module permission but one it needs gets 403, a user
/// holding one unrelated permission gets 403, and a user holding exactly what it needs succeeds.
async fn check_permissions(app: &TestApp, permissions: [&'static str; 4], endpoints: Vec<Endpoint>) {
    let mut scenario = Scenario::new();
    for permission in permissions {
        let others: Vec<&str> = permissions.iter().copied().filter(|p| *p != permission).collect();
        scenario = scenario
            .role(&format!("all but {permission}"), &others)
            .user(&format!("without_{permission}"), &[&format!("all but {permission}")])
            .role(&format!("only {permission}"), &[permission])
            .user(&format!("with_{permission}"), &[&format!("only {permission}")]);
    }
    let needs_sets: Vec<&[&str]> = endpoints.iter().map(|e| e.needs).filter(|n| n.len() > 1).collect();
    for (n, needs) in needs_sets.iter().enumerate() {
        scenario = scenario.role(&format!("combo {n}"), needs).user(&format!("combo_{n}"), &[&format!("combo {n}")]);
    }
    let world = scenario.build(app).await;

    let mut combo = 0;
    for endpoint in &endpoints {
        let label = endpoint.label();
        for missing in endpoint.needs {
            let user = world.user(&format!("without_{missing}"));
            let response = call(&app.as_user(user), endpoint.method, &endpoint.path, endpoint.body.as_ref()).await;
            let (status, body) = sent(response).await;
            assert_eq!((status, &body["detail"]), (403, &json!("Not enough privileges")), "{label} without {missing}");
        }
        for held in permissions {
            if endpoint.needs == [held] {
                continue;
            }
            let user = world.user(&format!("with_{held}"));
            let response = call(&app.as_user(user), endpoint.method, &endpoint.path, endpoint.body.as_ref()).await;
            let (status, body) = sent(response).await;
            assert_eq!((status, &body["detail"]), (403, &json!("Not enough privileges")), "{label} with only {held}");
        }
        let user = if let [single] = endpoint.needs {
            world.user(&format!("with_{single}"))
        } else {
            combo += 1;
            world.user(&format!("combo_{}", combo - 1))
        };
        let response = call(&app.as_user(user), endpoint.method, &endpoint.path, endpoint.body.as_ref()).await;
        let (status, body) = sent(response).await;
        assert_eq!(status, 200, "{label} with {:?}: {body}", endpoint.needs);
    }
}

#[tokio::test]
async fn each_project_endpoint_requires_its_permissions() {
    let app = app().await;
    let endpoints = project_endpoints(&app).await;
    check_permissions(&app, PROJECT_PERMISSIONS, endpoints).await;
    // The successful calls took effect: one project created, one deleted, one archived.
    let admin = app.as_admin().await;
    let page = list(&admin, "/projects/", &[]).await;
    assert_eq!(total(&page), 4, "{page}");
    assert_eq!(total(&list(&admin, "/projects/", &[("filter", "archived:eq:true")]).await), 1);
}

#[tokio::test]
async fn each_customer_endpoint_requires_its_permissions() {
    let app = app().await;
    let endpoints = customer_endpoints(&app).await;
    check_permissions(&app, CUSTOMER_PERMISSIONS, endpoints).await;
    let admin = app.as_admin().await;
    let page = list(&admin, "/customers/", &[("sorting", "email")]).await;
    let emails: Vec<&str> = page["data"].as_array().unwrap().iter().map(|c| c["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["new@example.com", "target0@example.com", "target1@example.com"], "{page}");
    assert_eq!(page["data"][2]["credit_limit"], "1");
}

#[tokio::test]
async fn permission_is_checked_before_validation_and_validation_before_lookup() {
    let app = app().await;
    let world = Scenario::new().role("reader", &["project_read"]).user("reader", &["reader"]).build(&app).await;
    let reader = app.as_user(world.user("reader"));
    assert_detail(reader.post("/projects/").body_json(&json!({})).send().await, 403, "Not enough privileges").await;
    assert_detail(app.anonymous().post("/projects/").body_json(&json!({})).send().await, 401, "Not authenticated")
        .await;
    let admin = app.as_admin().await;
    assert_validation(admin.put("/projects/999").body_json(&json!({})).send().await, &["body"]).await;
    assert_validation(admin.put("/customers/999").body_json(&json!({})).send().await, &["body"]).await;
}

#[tokio::test]
async fn project_crud_round_trip() {
    let app = app().await;
    let admin = app.as_admin().await;

    let created = create_project(&admin, &json!({"name": "Apollo", "description": "to the moon"})).await;
    let project_id = id(&created);
    assert_eq!(created["name"], "Apollo");
    assert_eq!(created["description"], "to the moon");
    assert_eq!(created["archived"], false);
    assert_eq!(created["creation_time"], created["last_modification_time"]);

    let fetched = ok(admin.get(&format!("/projects/{project_id}")).send().await).await;
    assert_eq!(fetched, created);
    let page = list(&admin, "/projects/", &[]).await;
    assert_eq!((total(&page), &page["data"][0]), (1, &created), "{page}");
    assert!(page.get("next_cursor").is_none(), "no cursor on offset pages: {page}");

    let updated =
        ok(admin.put(&format!("/projects/{project_id}")).body_json(&json!({"name": "Apollo 11"})).send().await).await;
    assert_eq!((updated["id"].as_i64(), &updated["name"]), (Some(project_id), &json!("Apollo 11")));
    assert_eq!(updated["description"], "to the moon");
    assert_eq!(ok(admin.get(&format!("/projects/{project_id}")).send().await).await, updated);

    let deleted = ok(admin.delete(&format!("/projects/{project_id}")).send().await).await;
    assert_eq!(deleted, updated, "delete returns the entity as it was");
    let missing = format!("Entity [projects] with id={project_id} does not exist");
    assert_detail(admin.get(&format!("/projects/{project_id}")).send().await, 404, &missing).await;
    assert_detail(admin.delete(&format!("/projects/{project_id}")).send().await, 404, &missing).await;
    assert_eq!(total(&list(&admin, "/projects/", &[]).await), 0);
}

#[tokio::test]
async fn customer_crud_round_trip() {
    let app = app().await;
    let admin = app.as_admin().await;

    let created =
        create_customer(&admin, &json!({"name": "Ada", "email": "ada@example.com", "credit_limit": "250.5"})).await;
    let customer_id = id(&created);
    assert_eq!(
        (&created["name"], &created["email"], &created["credit_limit"]),
        (&json!("Ada"), &json!("ada@example.com"), &json!("250.5"))
    );
    assert_eq!(ok(admin.get(&format!("/customers/{customer_id}")).send().await).await, created);
    let page = list(&admin, "/customers/", &[]).await;
    assert_eq!((total(&page), &page["data"][0]), (1, &created), "{page}");

    let updated =
        ok(admin.put(&format!("/customers/{customer_id}")).body_json(&json!({"name": "Ada L."})).send().await).await;
    assert_eq!(
        (&updated["name"], &updated["email"], &updated["credit_limit"]),
        (&json!("Ada L."), &json!("ada@example.com"), &json!("250.5"))
    );
    let updated = ok(admin
        .put(&format!("/customers/{customer_id}"))
        .body_json(&json!({"email": "ada@lovelace.org", "credit_limit": 7}))
        .send()
        .await)
    .await;
    assert_eq!(
        (&updated["name"], &updated["email"], &updated["credit_limit"]),
        (&json!("Ada L."), &json!("ada@lovelace.org"), &json!("7"))
    );

    // Customers are soft-deletable: the deleted entity comes back with when and by whom.
    let deleted = ok(admin.delete(&format!("/customers/{customer_id}")).send().await).await;
    let me = ok(admin.get("/users/me").send().await).await;
    assert!(deleted["deleted_at"].is_string(), "{deleted}");
    assert_eq!(deleted["deleter_user_id"], me["id"]);
    for field in ["id", "name", "email", "credit_limit", "creation_time", "creator_user_id"] {
        assert_eq!(deleted[field], updated[field], "{field}");
    }
    let missing = format!("Entity [customers] with id={customer_id} does not exist");
    assert_detail(admin.get(&format!("/customers/{customer_id}")).send().await, 404, &missing).await;
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), 0);
}

#[tokio::test]
async fn unknown_ids_are_404_with_kwiks_text() {
    let app = app().await;
    let admin = app.as_admin().await;
    // Existing rows must not matter.
    create_project(&admin, &json!({"name": "exists"})).await;
    create_customer(&admin, &json!({"name": "Exists", "email": "exists@example.com"})).await;
    let projects = "Entity [projects] with id=999 does not exist";
    let customers = "Entity [customers] with id=999 does not exist";
    let cases = [
        ("GET", "/projects/999", None, projects),
        ("PUT", "/projects/999", Some(json!({"name": "x"})), projects),
        ("DELETE", "/projects/999", None, projects),
        ("POST", "/projects/999/archive", None, projects),
        ("GET", "/customers/999", None, customers),
        ("PUT", "/customers/999", Some(json!({"name": "x"})), customers),
        ("DELETE", "/customers/999", None, customers),
    ];
    for (method, path, body, detail) in cases {
        let (status, response) = sent(call(&admin, method, path, body.as_ref()).await).await;
        assert_eq!((status, &response["detail"]), (404, &json!(detail)), "{method} {path}: {response}");
    }
    // A PUT to an unknown id created nothing.
    assert_eq!(total(&list(&admin, "/projects/", &[]).await), 1);
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), 1);
}

#[tokio::test]
async fn duplicate_project_name_is_409_on_create_and_update() {
    let app = app().await;
    let admin = app.as_admin().await;
    let first = create_project(&admin, &json!({"name": "Borealis"})).await;
    let second = create_project(&admin, &json!({"name": "Cobalt", "description": "keep me"})).await;

    let duplicate = admin.post("/projects/").body_json(&json!({"name": "Borealis", "description": "again"})).send();
    assert_detail(duplicate.await, 409, "Entity already exists").await;
    let rename = admin.put(&format!("/projects/{}", id(&second))).body_json(&json!({"name": "Borealis"})).send();
    assert_detail(rename.await, 409, "Entity already exists").await;

    let page = list(&admin, "/projects/", &[]).await;
    assert_eq!(page["data"], json!([first, second]), "nothing changed");
    // Renaming a project to its own name is not a conflict.
    let same = admin.put(&format!("/projects/{}", id(&second))).body_json(&json!({"name": "Cobalt"})).send();
    assert_eq!(ok(same.await).await["name"], "Cobalt");
}

#[tokio::test]
async fn duplicate_customer_email_is_409_on_create_and_update() {
    let app = app().await;
    let admin = app.as_admin().await;
    let first = create_customer(&admin, &json!({"name": "One", "email": "one@example.com"})).await;
    let second = create_customer(&admin, &json!({"name": "Two", "email": "two@example.com"})).await;

    // Names are not unique; emails are.
    let same_name = create_customer(&admin, &json!({"name": "One", "email": "three@example.com"})).await;
    let duplicate = admin.post("/customers/").body_json(&json!({"name": "Other", "email": "one@example.com"})).send();
    assert_detail(duplicate.await, 409, "Entity already exists").await;
    let rename =
        admin.put(&format!("/customers/{}", id(&second))).body_json(&json!({"email": "one@example.com"})).send();
    assert_detail(rename.await, 409, "Entity already exists").await;

    let page = list(&admin, "/customers/", &[]).await;
    assert_eq!(page["data"], json!([first, second, same_name]), "nothing changed");
}

#[tokio::test]
async fn invalid_bodies_are_422_at_the_field() {
    let app = app().await;
    let admin = app.as_admin().await;
    let project = create_project(&admin, &json!({"name": "valid"})).await;
    let customer = create_customer(&admin, &json!({"name": "Valid", "email": "valid@example.com"})).await;
    let project_path = format!("/projects/{}", id(&project));
    let customer_path = format!("/customers/{}", id(&customer));
    let long_name = "n".repeat(201);

    let cases: Vec<(&str, &str, Value, Vec<&str>, &str)> = vec![
        ("POST", "/projects/", json!({"description": "no name"}), vec!["body", "name"], "missing"),
        ("POST", "/projects/", json!({"name": long_name}), vec!["body", "name"], "string_too_long"),
        ("POST", "/projects/", json!({"name": ""}), vec!["body", "name"], "string_too_short"),
        ("POST", "/projects/", json!({"name": 5}), vec!["body", "name"], "type_error"),
        (
            "POST",
            "/projects/",
            json!({"name": "ok", "description": "d".repeat(2001)}),
            vec!["body", "description"],
            "string_too_long",
        ),
        ("PUT", &project_path, json!({}), vec!["body"], "value_error"),
        ("PUT", &project_path, json!({"archived": true, "id": 3}), vec!["body"], "value_error"),
        ("PUT", &project_path, json!({"name": long_name}), vec!["body", "name"], "string_too_long"),
        ("POST", "/customers/", json!({"name": "X", "email": "not-an-email"}), vec!["body", "email"], "value_error"),
        ("POST", "/customers/", json!({"name": "X"}), vec!["body", "email"], "missing"),
        (
            "POST",
            "/customers/",
            json!({"name": "X", "email": "x@example.com", "credit_limit": "abc"}),
            vec!["body", "credit_limit"],
            "value_error",
        ),
        (
            "POST",
            "/customers/",
            json!({"name": long_name, "email": "x@example.com"}),
            vec!["body", "name"],
            "string_too_long",
        ),
        ("PUT", &customer_path, json!({}), vec!["body"], "value_error"),
        ("PUT", &customer_path, json!({"email": "nobody@localhost"}), vec!["body", "email"], "value_error"),
        ("PUT", &customer_path, json!({"credit_limit": "abc"}), vec!["body", "credit_limit"], "value_error"),
    ];
    for (method, path, body, loc, kind) in cases {
        let issue = assert_validation(call(&admin, method, path, Some(&body)).await, &loc).await;
        assert_eq!(issue["type"], kind, "{method} {path} {body}: {issue}");
    }
    let issue = assert_validation(admin.put(&project_path).body_json(&json!({})).send().await, &["body"]).await;
    assert_eq!(issue["msg"], "Value error, at least one field must be provided");
    let issue = assert_validation(
        admin.post("/projects/").body_json(&json!({"name": long_name})).send().await,
        &["body", "name"],
    )
    .await;
    assert_eq!(issue["msg"], "String should have at most 200 characters");
    // 200 characters (multi-byte ones too) are fine.
    create_project(&admin, &json!({"name": "é".repeat(200)})).await;

    // Nothing invalid was stored.
    assert_eq!(ok(admin.get(&project_path).send().await).await, project);
    assert_eq!(ok(admin.get(&customer_path).send().await).await, customer);
    assert_eq!(total(&list(&admin, "/projects/", &[]).await), 2);
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), 1);
}

#[tokio::test]
async fn audit_fields_record_the_acting_users() {
    let app = app().await;
    let world = Scenario::new()
        .role("project editor", &PROJECT_PERMISSIONS)
        .role("customer editor", &CUSTOMER_PERMISSIONS)
        .user("alice", &["project editor", "customer editor"])
        .user("bob", &["project editor", "customer editor"])
        .build(&app)
        .await;
    let (alice, bob) = (world.user("alice"), world.user("bob"));

    for (collection, body, change) in [
        ("/projects/", json!({"name": "Audited"}), json!({"description": "by bob"})),
        ("/customers/", json!({"name": "Audited", "email": "audited@example.com"}), json!({"credit_limit": "1"})),
    ] {
        let before = kwik_core::now();
        let created = ok(app.as_user(alice).post(collection).body_json(&body).send().await).await;
        let after = kwik_core::now();
        assert_eq!(created["creator_user_id"], alice.id, "{created}");
        assert_eq!(created["last_modifier_user_id"], alice.id, "{created}");
        let created_at = time(&created, "creation_time");
        assert!(before <= created_at && created_at <= after, "creation_time {created_at} in [{before}, {after}]");
        assert_eq!(time(&created, "last_modification_time"), created_at);

        tokio::time::sleep(Duration::from_millis(5)).await;
        let path = format!("{collection}{}", id(&created));
        let updated = ok(app.as_user(bob).put(&path).body_json(&change).send().await).await;
        assert_eq!(updated["creator_user_id"], alice.id, "{updated}");
        assert_eq!(updated["last_modifier_user_id"], bob.id, "{updated}");
        assert_eq!(updated["creation_time"], created["creation_time"], "creation_time never changes");
        assert!(time(&updated, "last_modification_time") > created_at, "last_modification_time advances: {updated}");
        assert_eq!(ok(app.as_user(alice).get(&path).send().await).await, updated, "as stored");
    }
}

#[tokio::test]
async fn clients_cannot_set_audit_or_server_fields() {
    let app = app().await;
    let world = Scenario::new().admin("alice").admin("mallory").build(&app).await;
    let (alice, mallory) = (world.user("alice"), world.user("mallory"));
    let admin = app.as_admin().await;
    let decoy = create_project(&admin, &json!({"name": "decoy"})).await;
    let forged = json!({
        "id": id(&decoy),
        "archived": true,
        "creator_user_id": mallory.id,
        "last_modifier_user_id": mallory.id,
        "creation_time": "2001-01-01T00:00:00Z",
        "last_modification_time": "2001-01-01T00:00:00Z",
    });

    let mut body = forged.clone();
    body["name"] = json!("forged");
    let created = ok(app.as_user(alice).post("/projects/").body_json(&body).send().await).await;
    assert_ne!(id(&created), id(&decoy));
    assert_eq!(created["archived"], false);
    assert_eq!((&created["creator_user_id"], &created["last_modifier_user_id"]), (&json!(alice.id), &json!(alice.id)));
    assert!(time(&created, "creation_time").timestamp() > 1_700_000_000, "{created}");
    assert_eq!(ok(admin.get(&format!("/projects/{}", id(&decoy))).send().await).await, decoy, "decoy untouched");

    let mut body = forged.clone();
    body["description"] = json!("changed");
    let path = format!("/projects/{}", id(&created));
    let updated = ok(app.as_user(alice).put(&path).body_json(&body).send().await).await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["description"], "changed");
    assert_eq!(updated["archived"], false);
    assert_eq!((&updated["creator_user_id"], &updated["last_modifier_user_id"]), (&json!(alice.id), &json!(alice.id)));
    assert_eq!(updated["creation_time"], created["creation_time"]);
    assert!(time(&updated, "last_modification_time") >= time(&created, "last_modification_time"));

    let mut body = forged;
    body["name"] = json!("Forger");
    body["email"] = json!("forger@example.com");
    let customer = ok(app.as_user(alice).post("/customers/").body_json(&body).send().await).await;
    assert_eq!(
        (&customer["creator_user_id"], &customer["last_modifier_user_id"]),
        (&json!(alice.id), &json!(alice.id))
    );
    assert!(time(&customer, "creation_time").timestamp() > 1_700_000_000, "{customer}");
    assert_eq!(customer["credit_limit"], "5000");
}

#[tokio::test]
async fn partial_update_changes_only_the_fields_sent() {
    let app = app().await;
    let admin = app.as_admin().await;
    let created = create_project(&admin, &json!({"name": "Delta", "description": "first"})).await;
    let path = format!("/projects/{}", id(&created));

    let renamed = ok(admin.put(&path).body_json(&json!({"name": "Delta 2"})).send().await).await;
    assert_eq!((&renamed["name"], &renamed["description"]), (&json!("Delta 2"), &json!("first")), "omitted: kept");

    let described = ok(admin.put(&path).body_json(&json!({"description": "second"})).send().await).await;
    assert_eq!((&described["name"], &described["description"]), (&json!("Delta 2"), &json!("second")));

    // `name: null` is "not sent" for a non-nullable field; the description still changes.
    let both = ok(admin.put(&path).body_json(&json!({"name": null, "description": "third"})).send().await).await;
    assert_eq!((&both["name"], &both["description"]), (&json!("Delta 2"), &json!("third")));

    let cleared = ok(admin.put(&path).body_json(&json!({"description": null})).send().await).await;
    assert_eq!(cleared["name"], "Delta 2");
    assert!(cleared["description"].is_null(), "null clears: {cleared}");
    assert_eq!(ok(admin.get(&path).send().await).await, cleared);
    let nulls = list(&admin, "/projects/", &[("filter", "description:isnull:true")]).await;
    assert_eq!(ids(&nulls), [id(&created)], "stored as SQL NULL");

    let kept = ok(admin.put(&path).body_json(&json!({"name": "Delta 3"})).send().await).await;
    assert!(kept["description"].is_null(), "{kept}");
    // Only `null` on a non-nullable field: nothing to change.
    assert_validation(admin.put(&path).body_json(&json!({"name": null})).send().await, &["body"]).await;
}

#[tokio::test]
async fn archived_projects_refuse_updates_and_archive_is_idempotent() {
    let app = app().await;
    let admin = app.as_admin().await;
    let created = create_project(&admin, &json!({"name": "Ember", "description": "warm"})).await;
    let other = create_project(&admin, &json!({"name": "Fjord"})).await;
    let path = format!("/projects/{}", id(&created));

    let archived = ok(admin.post(&format!("{path}/archive")).send().await).await;
    assert_eq!(archived["archived"], true);
    assert_eq!((&archived["name"], &archived["description"]), (&json!("Ember"), &json!("warm")));
    let again = ok(admin.post(&format!("{path}/archive")).send().await).await;
    assert_eq!(again, archived, "archiving twice changes nothing");
    assert_eq!(ok(admin.get(&path).send().await).await, archived);

    for change in [json!({"name": "Ember 2"}), json!({"description": null}), json!({"description": "cold"})] {
        let response = admin.put(&path).body_json(&change).send().await;
        assert_detail(response, 409, "Project is archived").await;
    }
    assert_eq!(ok(admin.get(&path).send().await).await, archived, "still as archived");
    // Other projects are not affected.
    let other_path = format!("/projects/{}", id(&other));
    assert_eq!(ok(admin.get(&other_path).send().await).await["archived"], false);
    ok(admin.put(&other_path).body_json(&json!({"name": "Fjord 2"})).send().await).await;
    let page = list(&admin, "/projects/", &[("filter", "archived:eq:true")]).await;
    assert_eq!(ids(&page), [id(&created)]);
}

#[tokio::test]
async fn module_permissions_exist_and_the_admin_holds_them() {
    let app = app().await;
    let admin = app.as_admin().await;
    let mine = ok(admin.get("/users/me/permissions").send().await).await;
    let names: Vec<&str> = mine.as_array().expect("array").iter().map(|p| p["name"].as_str().expect("name")).collect();
    for permission in PROJECT_PERMISSIONS.iter().chain(&CUSTOMER_PERMISSIONS) {
        assert_eq!(names.iter().filter(|n| *n == permission).count(), 1, "{permission} once in {names:?}");
    }
    // They are ordinary permissions, listed once each.
    let listed = list(&admin, "/permissions/", &[("filter", "name:startswith:project_"), ("sorting", "name")]).await;
    let listed: Vec<&str> = listed["data"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(listed, ["project_create", "project_delete", "project_read", "project_update"]);
    let customers = list(&admin, "/permissions/", &[("filter", "name:startswith:customers_")]).await;
    assert_eq!(total(&customers), 5, "{customers}");
}

#[tokio::test]
async fn project_seed_is_idempotent() {
    let app = app().await;
    let admin = app.as_admin().await;
    // A project that already has a seeded name keeps its own data.
    let mine = create_project(&admin, &json!({"name": "Demo project 0001 Borealis", "description": "mine"})).await;

    kwik_server::seed::projects(app.state()).await.expect("first seed");
    kwik_server::seed::projects(app.state()).await.expect("second seed");

    let rows = kwik_server::seed::SEED_ROWS;
    let page = list(&admin, "/projects/", &[("limit", "3"), ("sorting", "name")]).await;
    assert_eq!(usize::try_from(total(&page)).unwrap(), rows, "{}", page["total"]);
    assert_eq!(page["data"][0], mine, "the existing row was not overwritten");
    assert_eq!(page["data"][1]["name"], "Demo project 0002 Cobalt");
    assert_eq!(page["data"][1]["description"], "Seeded demo project number 2");
    let archived = list(&admin, "/projects/", &[("filter", "archived:eq:true"), ("limit", "1")]).await;
    assert_eq!(usize::try_from(total(&archived)).unwrap(), (1..=rows).filter(|i| i % 7 == 0).count());
}
