//! Multi-tenancy (issue 13) with `KWIK_TENANCY_ENABLED=true`: two tenants with the same data
//! shapes (the same customer email, the same SKU) and no leak between them in get, list, count,
//! filters, sorting, cursors, nested routes, references, custom actions, users, the audit log or
//! error messages; cross-tenant access only through `X-Tenant-Id` with `tenant_switch`; on
//! PostgreSQL, row-level security keeps even an unfiltered query to the transaction's tenant.

use kwik_testing::{Scenario, TestApp, TestClient, World};
use serde_json::{Value, json};

use crate::common::{id, ids, list, list_raw, ok, sent, total, walk_cursor};

const STAFF: &[&str] = &[
    "customers_read",
    "customers_create",
    "customers_update",
    "customers_delete",
    "customers_restore",
    "product_read",
    "product_manage",
    "order_create",
    "order_read",
    "order_update",
    "order_delete",
    "order_confirm",
    "audit_log_read",
    "user_read",
];

/// The example app with tenancy on, tenants `acme` and `globex`, and a staff member in each
/// (alice in acme, bob in globex). Returns the app, the world and the two tenant ids.
async fn two_tenants() -> (TestApp, World, i64, i64) {
    let app = TestApp::with_settings(&[("KWIK_TENANCY_ENABLED", "true")], kwik_server::app::build).await;
    let world =
        Scenario::new().role("staff", STAFF).user("alice", &["staff"]).user("bob", &["staff"]).build(&app).await;
    let admin = app.as_admin().await;
    let acme = id(&ok(admin.post("/tenants/").body_json(&json!({"name": "Acme"})).send().await).await);
    let globex = id(&ok(admin.post("/tenants/").body_json(&json!({"name": "globex"})).send().await).await);
    for (tenant, user) in [(acme, "alice"), (globex, "bob")] {
        let body = json!({"user_id": world.user(user).id});
        ok(admin.post(&format!("/tenants/{tenant}/users")).body_json(&body).send().await).await;
    }
    (app, world, acme, globex)
}

/// The same shapes in a tenant: a customer `a@example.com`, product `KB-01`, a confirmed order
/// with one line, and a second customer. Returns (customer, other customer, product, order, line).
async fn same_shapes(client: &TestClient<'_>, credit: &str) -> (i64, i64, i64, i64, i64) {
    let customer = ok(client
        .post("/customers/")
        .body_json(&json!({"name": "A", "email": "a@example.com", "credit_limit": credit}))
        .send()
        .await)
    .await;
    let other =
        ok(client.post("/customers/").body_json(&json!({"name": "B", "email": "b@example.com"})).send().await).await;
    let product = ok(client
        .post("/products/")
        .body_json(&json!({"sku": "KB-01", "name": "Keyboard", "unit_price": "10"}))
        .send()
        .await)
    .await;
    let order = ok(client.post("/orders/").body_json(&json!({"customer_id": id(&customer)})).send().await).await;
    let line = ok(client
        .post(&format!("/orders/{}/lines/", id(&order)))
        .body_json(&json!({"product_id": id(&product), "quantity": 2}))
        .send()
        .await)
    .await;
    ok(client.post(&format!("/orders/{}/confirm", id(&order))).send().await).await;
    (id(&customer), id(&other), id(&product), id(&order), id(&line))
}

fn missing(table: &str, id: i64) -> Value {
    json!(format!("Entity [{table}] with id={id} does not exist"))
}

#[tokio::test]
async fn two_tenants_with_the_same_data_never_see_each_other() {
    let (app, world, _, _) = two_tenants().await;
    let alice = app.as_user(world.user("alice"));
    let bob = app.as_user(world.user("bob"));
    let (a_customer, a_other, a_product, a_order, a_line) = same_shapes(&alice, "100").await;
    let (b_customer, b_other, b_product, b_order, b_line) = same_shapes(&bob, "200").await;

    // Lists, totals, filters, sorting and cursors: only one's own rows.
    let page = list(&alice, "/customers/", &[("sorting", "email:desc")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![a_other, a_customer], 2));
    let filtered = list(&alice, "/customers/", &[("filter", "email:eq:a@example.com")]).await;
    assert_eq!(ids(&filtered), [a_customer]);
    let by_credit = list(&alice, "/customers/", &[("filter", "credit_limit:gte:150")]).await;
    assert_eq!(ids(&by_credit), [a_other], "bob's customer with 200 is not there; alice's default 5000 is");
    assert_eq!(walk_cursor(&alice, "/customers/", &[], 1).await, [a_customer, a_other]);
    assert_eq!(ids(&list(&alice, "/products/", &[]).await), [a_product]);
    assert_eq!(ids(&list(&alice, "/orders/", &[]).await), [a_order]);
    assert_eq!(ids(&list(&bob, "/orders/", &[]).await), [b_order]);
    assert_eq!(ids(&list(&alice, &format!("/orders/{a_order}/lines/"), &[]).await), [a_line]);

    // Another tenant's rows answer exactly as rows that do not exist.
    for (path, table, row) in [
        (format!("/customers/{b_customer}"), "customers", b_customer),
        (format!("/products/{b_product}"), "products", b_product),
        (format!("/orders/{b_order}"), "orders", b_order),
        (format!("/order-lines/{b_line}"), "order_lines", b_line),
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let response = crate::common::call(&alice, method, &path, Some(&json!({"name": "x", "note": "x"}))).await;
            let (status, body) = sent(response).await;
            if status == 405 {
                continue; // not every resource routes every method
            }
            assert_eq!((status, &body["detail"]), (404, &missing(table, row)), "{method} {path}: {body}");
        }
    }
    let (status, body) = sent(alice.post(&format!("/customers/{b_other}/restore")).send().await).await;
    assert_eq!((status, &body["detail"]), (404, &missing("customers", b_other)));
    for nested in [format!("/customers/{b_customer}/orders"), format!("/orders/{b_order}/lines/")] {
        let (status, _) = list_raw(&alice, &nested, &[]).await;
        assert_eq!(status, 404, "{nested}");
    }
    let (status, body) = sent(alice.post(&format!("/orders/{b_order}/confirm")).send().await).await;
    assert_eq!((status, &body["detail"]), (404, &missing("orders", b_order)), "custom action");
    // References to another tenant's rows are missing references (422 at the field).
    let response = alice.post("/orders/").body_json(&json!({"customer_id": b_customer})).send().await;
    kwik_testing::assert_validation(response, &["body", "customer_id"]).await;
    let draft = ok(alice.post("/orders/").body_json(&json!({"customer_id": a_customer})).send().await).await;
    let response = alice
        .post(&format!("/orders/{}/lines/", id(&draft)))
        .body_json(&json!({"product_id": b_product, "quantity": 1}))
        .send()
        .await;
    kwik_testing::assert_validation(response, &["body", "product_id"]).await;

    // Users and the audit log are the tenant's too.
    let users = list(&alice, "/users/", &[]).await;
    assert_eq!(ids(&users), [world.user("alice").id]);
    let (status, body) = sent(alice.get(&format!("/users/{}", world.user("bob").id)).send().await).await;
    assert_eq!((status, &body["detail"]), (404, &missing("users", world.user("bob").id)));
    let log = list(&alice, "/audit-log/", &[("limit", "1000")]).await;
    let entries = log["data"].as_array().unwrap();
    assert!(!entries.is_empty());
    for entry in entries {
        assert_eq!(entry["user_id"], json!(world.user("alice").id), "only alice's tenant: {entry}");
    }
    let bobs = list(&bob, "/audit-log/", &[("filter", "resource:eq:customers")]).await;
    let customers_of_bob: Vec<i64> =
        bobs["data"].as_array().unwrap().iter().map(|e| e["resource_id"].as_i64().unwrap()).collect();
    assert!(customers_of_bob.iter().all(|c| [b_customer, b_other].contains(c)), "{customers_of_bob:?}");
}

#[tokio::test]
async fn cross_tenant_access_is_explicit_and_needs_tenant_switch() {
    let (app, world, acme, globex) = two_tenants().await;
    let alice = app.as_user(world.user("alice"));
    let admin = app.as_admin().await;
    let (a_customer, a_other, ..) = same_shapes(&alice, "100").await;

    // The administrator belongs to the default tenant: without the header, none of acme's rows.
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), 0);
    let acme_header = acme.to_string();
    let (status, page) = sent(admin.get("/customers/").header("x-tenant-id", acme_header.as_str()).send().await).await;
    assert_eq!((status, ids(&page)), (200, vec![a_customer, a_other]));
    // Created inside acme through the header: an acme row.
    let made = ok(admin
        .post("/customers/")
        .header("x-tenant-id", acme_header.as_str())
        .body_json(&json!({"name": "By admin", "email": "admin-made@example.com"}))
        .send()
        .await)
    .await;
    assert_eq!(total(&list(&alice, "/customers/", &[]).await), 3);
    assert_eq!(
        ok(alice.get(&format!("/customers/{}", id(&made))).send().await).await["email"],
        "admin-made@example.com"
    );

    let (status, body) =
        sent(alice.get("/customers/").header("x-tenant-id", globex.to_string().as_str()).send().await).await;
    assert_eq!(status, 403, "alice lacks tenant_switch: {body}");
    let (status, _) = sent(alice.get("/customers/").header("x-tenant-id", acme_header.as_str()).send().await).await;
    assert_eq!(status, 200, "naming one's own tenant is fine");
    let (status, _) = sent(alice.get("/customers/").header("x-tenant-id", "acme").send().await).await;
    assert_eq!(status, 400);
    let (status, body) = sent(admin.get("/customers/").header("x-tenant-id", "999999").send().await).await;
    assert_eq!((status, &body["detail"]), (404, &missing("tenants", 999_999)));
    // API keys: the key lists and revocations of the administrator stop at the tenant too.
    let key = ok(alice
        .post("/api-keys/")
        .body_json(&json!({"name": "ci", "password": world.user("alice").password}))
        .send()
        .await)
    .await;
    let key_id = key["id"].as_i64().or_else(|| key["profile"]["id"].as_i64()).unwrap();
    let all = ok(admin.get("/api-keys/all").send().await).await;
    assert!(all.as_array().unwrap().iter().all(|k| k["id"].as_i64() != Some(key_id)), "{all}");
    let (status, body) = sent(admin.post(&format!("/api-keys/{key_id}/revoke")).send().await).await;
    assert_eq!((status, &body["detail"]), (404, &missing("api_keys", key_id)));
    let acme_keys = ok(admin.get("/api-keys/all").header("x-tenant-id", acme_header.as_str()).send().await).await;
    assert!(acme_keys.as_array().unwrap().iter().any(|k| k["id"].as_i64() == Some(key_id)), "{acme_keys}");

    // Tenant administration is a platform permission.
    let (status, _) = sent(alice.post("/tenants/").body_json(&json!({"name": "mine"})).send().await).await;
    assert_eq!(status, 403);
    let (status, body) = sent(admin.post("/tenants/").body_json(&json!({"name": "ACME "})).send().await).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("duplicated_entity")), "names are normalised: {body}");
    let tenants = list(&admin, "/tenants/", &[]).await;
    assert_eq!(total(&tenants), 3, "default, acme, globex: {tenants}");
}

#[tokio::test]
async fn row_level_security_keeps_an_unfiltered_query_to_the_transactions_tenant() {
    if kwik_testing::backend() == kwik_core::Backend::Sqlite {
        kwik_testing::skip("row-level security is PostgreSQL's");
        return;
    }
    let (app, world, acme, _) = two_tenants().await;
    let (a_customer, a_other, ..) = same_shapes(&app.as_user(world.user("alice")), "100").await;
    same_shapes(&app.as_user(world.user("bob")), "200").await;
    let kwik_core::Db::Postgres(pool) = &app.state().db else { unreachable!() };
    // The test connects as a superuser, which policies do not bind: probe as an ordinary role,
    // as the application should run in production.
    sqlx::query(
        "DO $$ BEGIN CREATE ROLE kwik_rls_probe NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("GRANT SELECT ON customers TO kwik_rls_probe").execute(pool).await.unwrap();
    let unfiltered = |tenant: Option<i64>| async move {
        let mut tx = pool.begin().await.unwrap();
        sqlx::query("SET LOCAL ROLE kwik_rls_probe").execute(&mut *tx).await.unwrap();
        if let Some(tenant) = tenant {
            sqlx::query("SELECT set_config('kwik.tenant_id', $1, true)")
                .bind(tenant.to_string())
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT id FROM customers ORDER BY id").fetch_all(&mut *tx).await.unwrap();
        rows.into_iter().map(|(id,)| id).collect::<Vec<_>>()
    };
    assert_eq!(unfiltered(Some(acme)).await, [a_customer, a_other], "the query has no WHERE: the policy filters");
    assert_eq!(unfiltered(None).await.len(), 4, "no tenant in the transaction (tenancy off, system work): every row");
}

/// An impersonation session ends when the two users stop sharing a tenant (the impersonated user
/// was moved), unless the impersonator may switch tenants.
#[tokio::test]
async fn an_impersonation_session_ends_when_its_users_no_longer_share_a_tenant() {
    let (app, world, acme, _) = two_tenants().await;
    let admin = app.as_admin().await;
    let crew = Scenario::new()
        .role("lead", &["impersonification", "user_read"])
        .user("lead", &["lead"])
        .user("carol", &[])
        .build(&app)
        .await;
    let (lead, carol) = (app.as_user(crew.user("lead")), crew.user("carol").id);
    let token = ok(lead.post(&format!("/login/impersonate?user_id={carol}")).send().await).await;
    let session = app.with_token(token["access_token"].as_str().unwrap());
    ok(session.get("/users/me").send().await).await;
    ok(admin.post(&format!("/tenants/{acme}/users")).body_json(&json!({"user_id": carol})).send().await).await;
    let (status, body) = sent(session.get("/users/me").send().await).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Invalid token")), "{body}");
    // The administrator holds tenant_switch: a session of theirs survives the move.
    let alice = world.user("alice").id;
    let header = acme.to_string();
    let token = ok(admin
        .post(&format!("/login/impersonate?user_id={alice}"))
        .header("x-tenant-id", header.as_str())
        .send()
        .await)
    .await;
    let session = app.with_token(token["access_token"].as_str().unwrap());
    ok(session.get("/users/me").send().await).await;
}
