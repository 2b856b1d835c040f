//! The audit log (issue 13) over HTTP: audited resources of the example app and the built-in
//! users, roles, permissions, API keys and impersonation each write one entry per change in the
//! change's transaction; `GET /audit-log/` lists them for `audit_log_read` holders only, newest
//! first, with filters and cursors; no secret is ever recorded.

use kwik_testing::{Scenario, TestClient};
use serde_json::{Value, json};

use crate::common::{app, create_customer, id, ids, list, list_raw, ok, sent, total, walk_cursor};

/// Entries about one row, newest first.
async fn history(client: &TestClient<'_>, resource: &str, resource_id: i64) -> Vec<Value> {
    let resource = format!("resource:eq:{resource}");
    let row = format!("resource_id:eq:{resource_id}");
    let page = list(client, "/audit-log/", &[("filter", &resource), ("filter", &row)]).await;
    page["data"].as_array().unwrap().clone()
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

async fn my_id(client: &TestClient<'_>) -> i64 {
    id(&ok(client.get("/users/me").send().await).await)
}

#[tokio::test]
async fn a_customers_life_is_recorded_with_who_when_which_request_and_what_changed() {
    let app = app().await;
    let admin = app.as_admin().await;
    let admin_id = my_id(&admin).await;
    let created = ok(admin
        .post("/customers/")
        .header("x-request-id", "req-create-1")
        .body_json(&json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .await)
    .await;
    let path = format!("/customers/{}", id(&created));
    ok(admin.put(&path).body_json(&json!({"name": "Ada L.", "email": "ada@example.com"})).send().await).await;
    ok(admin.delete(&path).send().await).await;
    ok(admin.post(&format!("{path}/restore")).send().await).await;

    let entries = history(&admin, "customers", id(&created)).await;
    assert_eq!(actions(&entries), ["restore", "delete", "update", "create"], "newest first");
    for entry in &entries {
        assert_eq!((entry["user_id"].as_i64(), &entry["impersonator_id"]), (Some(admin_id), &Value::Null));
        assert!(entry["created_at"].is_string() && entry["request_id"].is_string(), "{entry}");
    }
    let create = &entries[3];
    assert_eq!(create["request_id"], "req-create-1");
    assert_eq!(
        create["changes"],
        json!({
            "name": {"before": null, "after": "Ada"},
            "email": {"before": null, "after": "ada@example.com"},
            "credit_limit": {"before": null, "after": "5000"},
        }),
        "every field set (not deleted_at, still null), no id and no RecordInfo fields"
    );
    assert_eq!(entries[2]["changes"], json!({"name": {"before": "Ada", "after": "Ada L."}}), "only what changed");
    let deleted = &entries[1]["changes"];
    assert!(deleted["deleted_at"]["before"].is_null() && deleted["deleted_at"]["after"].is_string(), "{deleted}");
    assert_eq!(deleted["deleter_user_id"], json!({"before": null, "after": admin_id}));
    let restored = &entries[0]["changes"];
    assert!(restored["deleted_at"]["before"].is_string() && restored["deleted_at"]["after"].is_null(), "{restored}");
    // Each request has its own id (made by the server when the client sends none).
    let request_ids: std::collections::HashSet<&str> =
        entries.iter().map(|e| e["request_id"].as_str().unwrap()).collect();
    assert_eq!(request_ids.len(), 4);
}

#[tokio::test]
async fn orders_record_lines_totals_and_the_confirm_action_and_a_failed_request_records_nothing() {
    let app = app().await;
    let admin = app.as_admin().await;
    let customer = create_customer(
        &admin,
        &json!({"name": "Acme", "email": "acme@example.com", "credit_limit": "99999999999999999999999999"}),
    )
    .await;
    let product = ok(admin
        .post("/products/")
        .body_json(&json!({"sku": "HUGE", "name": "Huge", "unit_price": "79000000000000000000000"}))
        .send()
        .await)
    .await;
    let order = ok(admin.post("/orders/").body_json(&json!({"customer_id": id(&customer)})).send().await).await;
    let lines = format!("/orders/{}/lines/", id(&order));
    let line = json!({"product_id": id(&product), "quantity": 1_000_000});
    ok(admin.post(&lines).body_json(&line).send().await).await;
    // The second line inserts its row and entry, then its total overflows: the whole request
    // rolls back, its entries with it.
    let (status, body) = sent(admin.post(&lines).body_json(&line).send().await).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("total_too_large")), "{body}");
    let page = list(&admin, "/audit-log/", &[("filter", "resource:eq:order_lines")]).await;
    assert_eq!((total(&page), actions(page["data"].as_array().unwrap())), (1, vec!["create"]));

    let cheap = ok(admin
        .post("/products/")
        .body_json(&json!({"sku": "CHEAP", "name": "Cheap", "unit_price": "2.50"}))
        .send()
        .await)
    .await;
    let small = ok(admin.post("/orders/").body_json(&json!({"customer_id": id(&customer)})).send().await).await;
    let small_lines = format!("/orders/{}/lines/", id(&small));
    ok(admin.post(&small_lines).body_json(&json!({"product_id": id(&cheap), "quantity": 2})).send().await).await;
    let confirmed = ok(admin.post(&format!("/orders/{}/confirm", id(&small))).send().await).await;
    assert_eq!(confirmed["status"], "confirmed");
    let entries = history(&admin, "orders", id(&small)).await;
    assert_eq!(actions(&entries), ["confirm", "update", "create"], "the line's total update, then the action");
    assert_eq!(entries[0]["changes"], json!({"status": {"before": "draft", "after": "confirmed"}}));
    assert_eq!(
        entries[1]["changes"],
        json!({"total": {"before": "0", "after": confirmed["total"]}}),
        "as the API writes it"
    );
}

#[tokio::test]
async fn only_audit_log_read_lists_entries_with_filters_time_ranges_and_cursors() {
    let app = app().await;
    let world = Scenario::new()
        .role("auditor", &["audit_log_read"])
        .role("clerk", &["customers_read", "customers_create"])
        .user("auditor", &["auditor"])
        .user("clerk", &["clerk"])
        .build(&app)
        .await;
    let auditor = app.as_user(world.user("auditor"));
    let clerk = app.as_user(world.user("clerk"));
    for n in 0..5 {
        create_customer(&clerk, &json!({"name": format!("c{n}"), "email": format!("c{n}@example.com")})).await;
    }
    let (status, body) = list_raw(&clerk, "/audit-log/", &[]).await;
    assert_eq!((status, &body["detail"]), (403, &json!("Not enough privileges")));
    let (status, _) = list_raw(&app.anonymous(), "/audit-log/", &[]).await;
    assert_eq!(status, 401);

    let mine = format!("user_id:eq:{}", world.user("clerk").id);
    let page = list(&auditor, "/audit-log/", &[("filter", &mine)]).await;
    assert_eq!(total(&page), 5);
    let newest_first = ids(&page);
    let mut sorted = newest_first.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, sorted);
    let oldest_first = ids(&list(&auditor, "/audit-log/", &[("filter", &mine), ("sorting", "id")]).await);
    assert_eq!(oldest_first, sorted.iter().rev().copied().collect::<Vec<_>>());
    // Cursor pages of 2 walk the same entries.
    assert_eq!(walk_cursor(&auditor, "/audit-log/", &[("filter", &mine)], 2).await, newest_first);
    // Time ranges, actions, resources.
    let future = list(&auditor, "/audit-log/", &[("filter", &mine), ("filter", "created_at:gte:2999-01-01")]).await;
    assert_eq!(total(&future), 0);
    let past =
        list(&auditor, "/audit-log/", &[("filter", &mine), ("filter", "created_at:gte:2000-01-01T00:00:00Z")]).await;
    assert_eq!(total(&past), 5);
    let creates = list(
        &auditor,
        "/audit-log/",
        &[("filter", &mine), ("filter", "action:eq:create"), ("filter", "resource:eq:customers")],
    )
    .await;
    assert_eq!(total(&creates), 5);
    let (status, body) = list_raw(&auditor, "/audit-log/", &[("filter", "changes:eq:x")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_list_query")), "{body}");
}

#[tokio::test]
async fn impersonation_is_recorded_and_actions_taken_while_impersonating_name_both() {
    let app = app().await;
    let admin = app.as_admin().await;
    let admin_id = my_id(&admin).await;
    let world = Scenario::new()
        .role("clerk", &["customers_read", "customers_create"])
        .user("clerk", &["clerk"])
        .build(&app)
        .await;
    let clerk_id = world.user("clerk").id;
    let token = ok(admin.post(&format!("/login/impersonate?user_id={clerk_id}")).send().await).await;
    let session = app.with_token(token["access_token"].as_str().unwrap());
    let created = create_customer(&session, &json!({"name": "Via", "email": "via@example.com"})).await;
    ok(session.post("/login/stop_impersonating").send().await).await;

    let entry = &history(&admin, "customers", id(&created)).await[0];
    assert_eq!((entry["user_id"].as_i64(), entry["impersonator_id"].as_i64()), (Some(clerk_id), Some(admin_id)));
    let sessions = history(&admin, "users", clerk_id).await;
    let about: Vec<(&str, Option<i64>, Option<i64>)> = sessions
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("impersonation"))
        .map(|e| (e["action"].as_str().unwrap(), e["user_id"].as_i64(), e["impersonator_id"].as_i64()))
        .collect();
    assert_eq!(
        about,
        [("impersonation_stop", Some(clerk_id), Some(admin_id)), ("impersonation_start", Some(admin_id), None)]
    );
}

#[tokio::test]
async fn built_in_changes_are_recorded_and_no_secret_ever_is() {
    let app = app().await;
    let admin = app.as_admin().await;
    let user = ok(admin
        .post("/users/")
        .body_json(&json!({"name": "Bob", "surname": "B", "email": "bob@example.com", "password": "bob-password-123"}))
        .send()
        .await)
    .await;
    let bob = id(&user);
    ok(admin.put(&format!("/users/{bob}")).body_json(&json!({"name": "Robert"})).send().await).await;
    ok(admin
        .put(&format!("/users/{bob}/reset-password"))
        .body_json(&json!({"new_password": "bob-new-password-456"}))
        .send()
        .await)
    .await;
    let bob_client = app.with_token(&app.login("bob@example.com", "bob-new-password-456").await);
    ok(bob_client
        .put("/users/me/password")
        .body_json(&json!({"old_password": "bob-new-password-456", "new_password": "bob-third-password-789"}))
        .send()
        .await)
    .await;
    let bob_client = app.with_token(&app.login("bob@example.com", "bob-third-password-789").await);
    let key = ok(bob_client
        .post("/api-keys/")
        .body_json(&json!({"name": "ci", "password": "bob-third-password-789"}))
        .send()
        .await)
    .await;
    let key_id = key["id"].as_i64().or_else(|| key["profile"]["id"].as_i64()).unwrap();
    ok(bob_client.delete(&format!("/api-keys/{key_id}")).send().await).await;

    let role = ok(admin.post("/roles/").body_json(&json!({"name": "auditors", "is_active": true})).send().await).await;
    let permission = ok(admin.post("/permissions/").body_json(&json!({"name": "report_read"})).send().await).await;
    let (role_id, permission_id) = (id(&role), id(&permission));
    ok(admin
        .post(&format!("/roles/{role_id}/permissions"))
        .body_json(&json!({"permission_id": permission_id}))
        .send()
        .await)
    .await;
    ok(admin.post(&format!("/roles/{role_id}/users")).body_json(&json!({"user_id": bob})).send().await).await;
    ok(admin.delete(&format!("/roles/{role_id}/permissions/{permission_id}")).send().await).await;
    ok(admin.put(&format!("/permissions/{permission_id}")).body_json(&json!({"name": "report_view"})).send().await)
        .await;
    ok(admin.delete(&format!("/permissions/{permission_id}")).send().await).await;
    ok(admin.delete(&format!("/roles/{role_id}")).send().await).await;

    let users = history(&admin, "users", bob).await;
    assert_eq!(actions(&users), ["password_change", "password_reset", "update", "create"]);
    assert_eq!(users[1]["changes"], json!({}), "a password event carries no values");
    assert_eq!(users[2]["changes"], json!({"name": {"before": "Bob", "after": "Robert"}}));
    assert_eq!(users[3]["changes"]["email"]["after"], "bob@example.com");
    assert_eq!(users[0]["user_id"].as_i64(), Some(bob), "bob changed his own password");
    assert_eq!(actions(&history(&admin, "api_keys", key_id).await), ["revoke", "create"]);
    assert_eq!(
        actions(&history(&admin, "roles", role_id).await),
        ["delete", "permission_revoke", "user_assign", "permission_grant", "create"]
    );
    assert_eq!(actions(&history(&admin, "permissions", permission_id).await), ["delete", "update", "create"]);
    let grant = &history(&admin, "roles", role_id).await[3];
    assert_eq!(grant["changes"], json!({"permission_id": {"before": null, "after": permission_id}}));

    // Nothing secret anywhere in the log: no password, hash or key.
    let everything = list(&admin, "/audit-log/", &[("limit", "1000")]).await.to_string();
    let secret_key = key["key"].as_str().unwrap();
    for secret in [
        "bob-password-123",
        "bob-new-password-456",
        "bob-third-password-789",
        "$argon2",
        "hashed_password",
        "key_hash",
        secret_key,
    ] {
        assert!(!everything.contains(secret), "{secret} appears in the audit log");
    }
}
