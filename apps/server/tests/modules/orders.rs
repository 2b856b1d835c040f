//! The Orders module (issue 12's acceptance surface) over HTTP, on both databases: products and
//! their permissions; orders (draft by default, `total` kept by the server, `confirmed` only
//! through `confirm`); holders of `order_read_own` / `order_update_own` / `order_delete_own`
//! reaching only their own orders everywhere (404, never 403); 403 without order permissions;
//! order lines (404 outside the scope, 405 for updates, prices copied from the product); the
//! `confirm` action (empty orders, credit limits, totals computed from the lines); references
//! that block deletes; exact decimal totals; `confirm` racing line changes; and the seed.

use std::sync::Arc;
use std::time::Duration;

use kwik_core::Queries;
use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, Scenario, TestApp, TestClient, World, assert_detail, json_of};
use poem::test::TestResponse;
use rust_decimal::Decimal;
use sea_query::{Expr, ExprTrait, Query};
use serde_json::{Value, json};

use crate::common::{app, call, create_customer, id, ids, list, list_raw, ok, sent, total, walk_cursor};

/// Sees and changes every order.
const MANAGER: &[&str] =
    &["order_read", "order_create", "order_update", "order_delete", "order_confirm", "product_read"];
/// Sees and changes only the orders they created.
const REP: &[&str] =
    &["order_read_own", "order_create", "order_update_own", "order_delete_own", "order_confirm", "product_read"];
/// Sees every order, changes only their own.
const AUDITOR: &[&str] = &["order_read", "order_create", "order_update_own", "order_delete_own", "order_confirm"];
/// Everything but orders.
const OUTSIDER: &[&str] = &[
    "customers_read",
    "customers_create",
    "customers_update",
    "customers_delete",
    "product_read",
    "product_manage",
    "project_read",
];

/// manager, rep, rep2, auditor and outsider (see the constants above).
async fn people(app: &TestApp) -> World {
    Scenario::new()
        .role("manager", MANAGER)
        .role("rep", REP)
        .role("auditor", AUDITOR)
        .role("outsider", OUTSIDER)
        .user("manager", &["manager"])
        .user("rep", &["rep"])
        .user("rep2", &["rep"])
        .user("auditor", &["auditor"])
        .user("outsider", &["outsider"])
        .build(app)
        .await
}

/// An exact decimal sent as a JSON string.
fn dec(value: &Value) -> Decimal {
    let text = value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"));
    Decimal::from_str_exact(text).unwrap_or_else(|e| panic!("{text:?} is not an exact decimal: {e}"))
}

/// A decimal literal.
fn d(text: &str) -> Decimal {
    Decimal::from_str_exact(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The exact sum of `quantity × unit_price` over the rows of a page of lines.
fn sum_of_lines(page: &Value) -> Decimal {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {page}"))
        .iter()
        .map(|line| dec(&line["unit_price"]) * Decimal::from(line["quantity"].as_i64().expect("quantity")))
        .sum()
}

/// A customer (created by the administrator) with this credit limit; returns its id.
async fn customer(admin: &TestClient<'_>, name: &str, credit_limit: &str) -> i64 {
    let body = json!({"name": name, "email": format!("{name}@example.com"), "credit_limit": credit_limit});
    id(&create_customer(admin, &body).await)
}

/// A product with this SKU and price; returns it.
async fn product(client: &TestClient<'_>, sku: &str, price: &str) -> Value {
    let body = json!({"sku": sku, "name": format!("Product {sku}"), "unit_price": price});
    ok(client.post("/products/").body_json(&body).send().await).await
}

/// `POST /orders/` for this customer, which must succeed; returns the order.
async fn order(client: &TestClient<'_>, customer: i64) -> Value {
    ok(client.post("/orders/").body_json(&json!({"customer_id": customer})).send().await).await
}

/// `POST /orders/{order}/lines/`.
async fn post_line(client: &TestClient<'_>, order: i64, product: i64, quantity: i64) -> TestResponse {
    client
        .post(&format!("/orders/{order}/lines/"))
        .body_json(&json!({"product_id": product, "quantity": quantity}))
        .send()
        .await
}

/// `POST /orders/{order}/lines/`, which must succeed; returns the line.
async fn line(client: &TestClient<'_>, order: i64, product: i64, quantity: i64) -> Value {
    ok(post_line(client, order, product, quantity).await).await
}

/// Every line of an order (as `client` may see them), by id.
async fn lines(client: &TestClient<'_>, order: i64) -> Value {
    list(client, &format!("/orders/{order}/lines/"), &[("limit", "1000"), ("sorting", "id")]).await
}

/// The order and its lines as the administrator sees them: compared around refused requests.
async fn snapshot(admin: &TestClient<'_>, order: i64) -> Value {
    let current = ok(admin.get(&format!("/orders/{order}")).send().await).await;
    json!({"order": current, "lines": lines(admin, order).await})
}

/// Every order, every line and every product as the administrator sees them.
async fn everything(admin: &TestClient<'_>) -> Value {
    let mut lines_by_order = Vec::new();
    let orders = list(admin, "/orders/", &[("limit", "1000"), ("sorting", "id")]).await;
    for order in ids(&orders) {
        lines_by_order.push(lines(admin, order).await);
    }
    let products = list(admin, "/products/", &[("limit", "1000"), ("sorting", "id")]).await;
    json!({"orders": orders, "lines": lines_by_order, "products": products})
}

/// A request: method, path (relative to the API prefix), JSON body.
type Call = (&'static str, String, Option<Value>);

/// Asserts a refusal with this status and `code` and a text `detail`; returns the body.
async fn refused(response: TestResponse, status: u16, code: &str) -> Value {
    let (actual, body) = sent(response).await;
    assert_eq!((actual, body["code"].as_str()), (status, Some(code)), "{body}");
    assert!(body["detail"].is_string(), "detail is not a text: {body}");
    body
}

/// Asserts a 422 (`code` `validation_error`, FastAPI's `detail` list) with an issue of this
/// `type` at `loc`; returns that issue.
async fn invalid(response: TestResponse, loc: &[&str], kind: &str) -> Value {
    let (status, body) = sent(response).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("validation_error")), "expected 422 at {loc:?}: {body}");
    let issues = body["detail"].as_array().unwrap_or_else(|| panic!("detail is not a list: {body}"));
    for issue in issues {
        assert!(issue["type"].is_string() && issue["msg"].is_string() && issue["loc"].is_array(), "{issue}");
        let keys = issue.as_object().unwrap();
        assert!(keys.contains_key("input"), "no input in {issue}");
        assert!(keys.keys().all(|k| ["type", "loc", "msg", "input", "ctx"].contains(&k.as_str())), "{issue}");
    }
    let issue = issues
        .iter()
        .find(|issue| issue["loc"] == json!(loc))
        .unwrap_or_else(|| panic!("no issue at {loc:?}: {body}"))
        .clone();
    assert_eq!(issue["type"], kind, "{body}");
    issue
}

/// Asserts Kwik's 404 for `table` and `id`.
async fn missing(response: TestResponse, table: &str, id: i64) {
    let body = assert_detail(response, 404, &format!("Entity [{table}] with id={id} does not exist")).await;
    assert_eq!(body["code"], "not_found", "{body}");
}

/// Asserts Kwik's 403.
async fn forbidden(response: TestResponse, label: &str) {
    let (status, body) = sent(response).await;
    assert_eq!((status, &body["detail"]), (403, &json!("Not enough privileges")), "{label}: {body}");
    assert_eq!(body["code"], "access_denied", "{label}: {body}");
}

/// Sets a column of an order behind the API's back (to check that `confirm` recomputes).
async fn tamper_total(app: &TestApp, order: i64, total: &str) {
    let update = Query::update()
        .table("orders")
        .value("total", Expr::val(kwik_crud::Decimal(d(total))))
        .and_where(Expr::col("id").eq(order))
        .to_owned();
    let changed = app.state().db.clone().execute(&update).await.expect("tamper");
    assert_eq!(changed, 1);
}

#[tokio::test]
async fn smoke_order_flow() {
    let app = app().await;
    let admin = app.as_admin().await;
    let customer = customer(&admin, "acme", "100").await;
    let product = product(&admin, "KB-1", "12.50").await;
    assert_eq!(product["label"], "KB-1 Product KB-1");
    let order = order(&admin, customer).await;
    assert_eq!((order["status"].clone(), order["total"].clone()), (json!("draft"), json!("0")));
    let line = line(&admin, id(&order), id(&product), 3).await;
    assert_eq!(line["unit_price"], "12.5");
    let fetched = ok(admin.get(&format!("/orders/{}", id(&order))).send().await).await;
    assert_eq!(fetched["total"], "37.5");
    let lines = list(&admin, &format!("/orders/{}/lines", id(&order)), &[]).await;
    assert_eq!(ids(&lines), [id(&line)]);
    let nested = list(&admin, &format!("/customers/{customer}/orders/"), &[]).await;
    assert_eq!((ids(&nested), total(&nested)), (vec![id(&order)], 1));
    let confirmed = ok(admin.post(&format!("/orders/{}/confirm", id(&order))).send().await).await;
    assert_eq!((confirmed["status"].clone(), confirmed["total"].clone()), (json!("confirmed"), json!("37.5")));
}

// ---------------------------------------------------------------------------------------------
// Products

#[tokio::test]
async fn products_need_product_read_and_product_manage() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = Scenario::new()
        .role("reader", &["product_read"])
        .role("keeper", &["product_manage"])
        .role("other", &["order_read", "order_update", "customers_read"])
        .user("reader", &["reader"])
        .user("keeper", &["keeper"])
        .user("other", &["other"])
        .build(&app)
        .await;
    let targets: Vec<i64> = {
        let mut targets = Vec::new();
        for n in 0..3 {
            targets.push(id(&product(&admin, &format!("T-{n}"), "1.00").await));
        }
        targets
    };
    let endpoints: Vec<(&str, String, Option<Value>, &str)> = vec![
        ("GET", "/products/".to_owned(), None, "product_read"),
        ("GET", format!("/products/{}", targets[0]), None, "product_read"),
        (
            "POST",
            "/products/".to_owned(),
            Some(json!({"sku": "NEW-1", "name": "New", "unit_price": "3"})),
            "product_manage",
        ),
        ("PUT", format!("/products/{}", targets[1]), Some(json!({"name": "Renamed"})), "product_manage"),
        ("DELETE", format!("/products/{}", targets[2]), None, "product_manage"),
    ];
    let before = everything(&admin).await;
    for (method, path, body, needs) in &endpoints {
        for user in ["reader", "keeper", "other"] {
            let holds =
                (user == "reader" && *needs == "product_read") || (user == "keeper" && *needs == "product_manage");
            if holds {
                continue;
            }
            let response = call(&app.as_user(world.user(user)), method, path, body.as_ref()).await;
            forbidden(response, &format!("{user}: {method} {path}")).await;
        }
    }
    assert_eq!(everything(&admin).await, before, "a refused request changed something");
    for (method, path, body, needs) in &endpoints {
        let user = if *needs == "product_read" { "reader" } else { "keeper" };
        let (status, answer) = sent(call(&app.as_user(world.user(user)), method, path, body.as_ref()).await).await;
        assert_eq!(status, 200, "{user}: {method} {path}: {answer}");
    }
    let reader = app.as_user(world.user("reader"));
    let renamed = ok(reader.get(&format!("/products/{}", targets[1])).send().await).await;
    assert_eq!((renamed["name"].clone(), renamed["label"].clone()), (json!("Renamed"), json!("T-1 Renamed")));
    missing(reader.get(&format!("/products/{}", targets[2])).send().await, "products", targets[2]).await;
    let created = list(&reader, "/products/", &[("filter", "sku:eq:NEW-1")]).await;
    assert_eq!(total(&created), 1);
    assert_eq!(created["data"][0]["creator_user_id"], world.user("keeper").id);
}

#[tokio::test]
async fn products_validate_their_fields() {
    let app = app().await;
    let admin = app.as_admin().await;
    let first = product(&admin, "SKU-1", "12.50").await;
    assert_eq!((first["active"].clone(), dec(&first["unit_price"])), (json!(true), d("12.5")));
    let free = product(&admin, "FREE", "0").await;
    assert_eq!(dec(&free["unit_price"]), Decimal::ZERO);
    let before = everything(&admin).await;
    let post = |body: Value| {
        let admin = &admin;
        async move { admin.post("/products/").body_json(&body).send().await }
    };
    let issue = invalid(
        post(json!({"sku": "NEG", "name": "Negative", "unit_price": "-0.01"})).await,
        &["body", "unit_price"],
        "greater_than_equal",
    )
    .await;
    assert_eq!(issue["ctx"], json!({"ge": 0}), "{issue}");
    invalid(
        post(json!({"sku": "bad sku", "name": "x", "unit_price": "1"})).await,
        &["body", "sku"],
        "string_pattern_mismatch",
    )
    .await;
    invalid(
        post(json!({"sku": "-dash", "name": "x", "unit_price": "1"})).await,
        &["body", "sku"],
        "string_pattern_mismatch",
    )
    .await;
    invalid(
        post(json!({"sku": "A".repeat(65), "name": "x", "unit_price": "1"})).await,
        &["body", "sku"],
        "string_too_long",
    )
    .await;
    invalid(post(json!({"sku": "EMPTY", "name": "", "unit_price": "1"})).await, &["body", "name"], "string_too_short")
        .await;
    let (status, body) = sent(post(json!({"sku": "NAN", "name": "x", "unit_price": "abc"})).await).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "unit_price"])), "{body}");
    let (status, body) = sent(post(json!({"sku": "NOPRICE", "name": "x"})).await).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "unit_price"])), "{body}");
    let (status, body) = sent(post(json!({"sku": "SKU-1", "name": "Again", "unit_price": "1"})).await).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("duplicated_entity")), "{body}");
    let response = admin.put(&format!("/products/{}", id(&first))).body_json(&json!({"unit_price": "-1"})).send().await;
    invalid(response, &["body", "unit_price"], "greater_than_equal").await;
    let response = admin.put(&format!("/products/{}", id(&first))).body_json(&json!({"sku": "FREE"})).send().await;
    refused(response, 409, "duplicated_entity").await;
    assert_eq!(everything(&admin).await, before, "a refused request changed something");
    // `label` is computed: sending it changes nothing.
    let response = admin
        .put(&format!("/products/{}", id(&first)))
        .body_json(&json!({"label": "forged", "active": false}))
        .send()
        .await;
    let changed = ok(response).await;
    assert_eq!((changed["label"].clone(), changed["active"].clone()), (json!("SKU-1 Product SKU-1"), json!(false)));
}

// ---------------------------------------------------------------------------------------------
// Orders: fields

#[tokio::test]
async fn orders_start_as_drafts_and_the_server_keeps_status_and_total() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = people(&app).await;
    let manager = app.as_user(world.user("manager"));
    let acme = customer(&admin, "acme", "5000").await;
    let other = customer(&admin, "other", "5000").await;
    let price = id(&product(&admin, "MS-1", "19.99").await);

    let sent_total = json!({"customer_id": acme, "note": "first", "total": "1000", "status": "draft"});
    let first = ok(manager.post("/orders/").body_json(&sent_total).send().await).await;
    assert_eq!(
        (first["status"].clone(), dec(&first["total"]), first["note"].clone()),
        (json!("draft"), d("0"), json!("first"))
    );
    assert_eq!(
        (first["creator_user_id"].as_i64(), first["last_modifier_user_id"].as_i64()),
        (Some(world.user("manager").id), Some(world.user("manager").id))
    );
    let plain = order(&manager, acme).await;
    assert_eq!(
        (plain["status"].clone(), plain["note"].clone(), plain["customer_id"].clone()),
        (json!("draft"), Value::Null, json!(acme))
    );
    let cancelled =
        ok(manager.post("/orders/").body_json(&json!({"customer_id": acme, "status": "cancelled"})).send().await).await;
    assert_eq!(cancelled["status"], "cancelled");

    let before = everything(&admin).await;
    for (status, kind) in [
        (json!("confirmed"), "value_error"),
        (json!("shipped"), "value_error"),
        (json!("Draft"), "value_error"),
        (json!(1), "type_error"),
        (Value::Null, "type_error"),
    ] {
        let response = manager.post("/orders/").body_json(&json!({"customer_id": acme, "status": status})).send().await;
        invalid(response, &["body", "status"], kind).await;
    }
    let long = "x".repeat(2001);
    let response = manager.post("/orders/").body_json(&json!({"customer_id": acme, "note": long})).send().await;
    invalid(response, &["body", "note"], "string_too_long").await;
    assert_eq!(everything(&admin).await, before, "a refused create wrote something");

    let order_id = id(&first);
    line(&manager, order_id, price, 3).await;
    let path = format!("/orders/{order_id}");
    let updated = ok(manager.put(&path).body_json(&json!({"total": "0.01", "note": "changed"})).send().await).await;
    assert_eq!((dec(&updated["total"]), updated["note"].clone()), (d("59.97"), json!("changed")));
    // `customer_id` is not updatable: the field is ignored, which leaves nothing to change.
    let response = manager.put(&path).body_json(&json!({"customer_id": other})).send().await;
    invalid(response, &["body"], "value_error").await;
    let response = manager.put(&path).body_json(&json!({"total": "1"})).send().await;
    invalid(response, &["body"], "value_error").await;
    let current = ok(manager.get(&path).send().await).await;
    assert_eq!(
        (current["customer_id"].clone(), dec(&current["total"])),
        (json!(acme), d("59.97")),
        "customer_id is not updatable"
    );

    let before = snapshot(&admin, order_id).await;
    invalid(
        manager.put(&path).body_json(&json!({"status": "confirmed"})).send().await,
        &["body", "status"],
        "value_error",
    )
    .await;
    let (status, body) = sent(manager.put(&path).body_json(&json!({"status": "bogus"})).send().await).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_array().is_some_and(|issues| issues.iter().any(|i| i["loc"] == json!(["body", "status"]))),
        "{body}"
    );
    let long = "y".repeat(2001);
    invalid(manager.put(&path).body_json(&json!({"note": long})).send().await, &["body", "note"], "string_too_long")
        .await;
    assert_eq!(snapshot(&admin, order_id).await, before, "a refused update wrote something");

    let to_cancelled = ok(manager.put(&path).body_json(&json!({"status": "cancelled"})).send().await).await;
    assert_eq!(to_cancelled["status"], "cancelled");
    let back = ok(manager.put(&path).body_json(&json!({"status": "draft", "note": null})).send().await).await;
    assert_eq!((back["status"].clone(), back["note"].clone()), (json!("draft"), Value::Null));
    assert_eq!(dec(&back["total"]), d("59.97"));
}

#[tokio::test]
async fn orders_of_a_customer_are_nested_under_it_with_or_without_the_slash() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "5000").await;
    let beta = customer(&admin, "beta", "5000").await;
    let empty = customer(&admin, "empty", "5000").await;

    let slash =
        ok(admin.post(&format!("/customers/{acme}/orders/")).body_json(&json!({"note": "slash"})).send().await).await;
    let bare =
        ok(admin.post(&format!("/customers/{acme}/orders")).body_json(&json!({"note": "bare"})).send().await).await;
    let sneaky = ok(admin
        .post(&format!("/customers/{acme}/orders/"))
        .body_json(&json!({"customer_id": beta, "note": "path wins"}))
        .send()
        .await)
    .await;
    let direct = order(&admin, beta).await;
    for created in [&slash, &bare] {
        assert_eq!(
            (created["customer_id"].clone(), created["status"].clone(), dec(&created["total"])),
            (json!(acme), json!("draft"), Decimal::ZERO)
        );
    }
    assert_eq!(sneaky["customer_id"], acme, "the parent comes from the path: {sneaky}");
    let acme_orders = vec![id(&slash), id(&bare), id(&sneaky)];
    for path in [format!("/customers/{acme}/orders/"), format!("/customers/{acme}/orders")] {
        let page = list(&admin, &path, &[]).await;
        assert_eq!((ids(&page), total(&page)), (acme_orders.clone(), 3), "{path}");
        let page = list(&admin, &path, &[("sorting", "id:desc"), ("limit", "1")]).await;
        assert_eq!((ids(&page), total(&page)), (vec![*acme_orders.last().unwrap()], 3), "{path}");
        assert_eq!(walk_cursor(&admin, &path, &[], 1).await, acme_orders, "{path}");
    }
    let page = list(&admin, &format!("/customers/{beta}/orders"), &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![id(&direct)], 1));
    let page = list(&admin, &format!("/customers/{empty}/orders/"), &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![], 0));

    let before = everything(&admin).await;
    let unknown = 999_999;
    for path in [format!("/customers/{unknown}/orders/"), format!("/customers/{unknown}/orders")] {
        missing(admin.get(&path).send().await, "customers", unknown).await;
        missing(admin.post(&path).body_json(&json!({})).send().await, "customers", unknown).await;
    }
    let response = admin.post("/orders/").body_json(&json!({"customer_id": unknown})).send().await;
    let issue = invalid(response, &["body", "customer_id"], "foreign_key").await;
    assert_eq!(issue["msg"], format!("Entity [customers] with id={unknown} does not exist"), "{issue}");
    assert_eq!(issue["input"], unknown, "{issue}");
    let (status, body) = sent(admin.post("/orders/").body_json(&json!({"note": "no customer"})).send().await).await;
    assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "customer_id"])), "{body}");
    assert_eq!(everything(&admin).await, before, "a refused create wrote something");
}

// ---------------------------------------------------------------------------------------------
// Scope: `_own` permissions

/// The orders (with one line each) made by the manager, the rep and the second rep for two
/// customers, plus a line the manager adds to the rep's first order.
struct Book {
    acme: i64,
    product: i64,
    managers: Vec<i64>,
    reps: Vec<i64>,
    other_reps: Vec<i64>,
    /// The line the manager added to `reps[0]`.
    manager_line_on_rep_order: i64,
    /// The line of each order, by order id.
    lines: Vec<(i64, i64)>,
}

impl Book {
    async fn write(app: &TestApp, world: &World) -> Self {
        let admin = app.as_admin().await;
        let acme = customer(&admin, "acme", "1000000").await;
        let beta = customer(&admin, "beta", "1000000").await;
        let product = id(&product(&admin, "P-1", "2.50").await);
        let mut lines = Vec::new();
        let made = |n: usize| (0..n).map(|i| if i % 3 == 2 { beta } else { acme }).collect::<Vec<_>>();
        let mut by_user = Vec::new();
        for (user, customers) in [("manager", made(4)), ("rep", made(3)), ("rep2", made(2))] {
            let client = app.as_user(world.user(user));
            let mut orders = Vec::new();
            for (n, customer) in customers.into_iter().enumerate() {
                let created = id(&order(&client, customer).await);
                let quantity = i64::try_from(n).unwrap() + 1;
                lines.push((created, id(&line(&client, created, product, quantity).await)));
                orders.push(created);
            }
            by_user.push(orders);
        }
        let manager = app.as_user(world.user("manager"));
        let manager_line_on_rep_order = id(&line(&manager, by_user[1][0], product, 10).await);
        let other_reps = by_user.pop().unwrap();
        let reps = by_user.pop().unwrap();
        let managers = by_user.pop().unwrap();
        Self { acme, product, managers, reps, other_reps, manager_line_on_rep_order, lines }
    }

    fn all(&self) -> Vec<i64> {
        let mut all: Vec<i64> = self.managers.iter().chain(&self.reps).chain(&self.other_reps).copied().collect();
        all.sort_unstable();
        all
    }

    fn others_than_reps(&self) -> Vec<i64> {
        self.managers.iter().chain(&self.other_reps).copied().collect()
    }
}

#[tokio::test]
async fn a_rep_reads_only_their_own_orders_everywhere() {
    let app = app().await;
    let world = people(&app).await;
    let book = Book::write(&app, &world).await;
    let rep = app.as_user(world.user("rep"));
    let manager = app.as_user(world.user("manager"));
    let mine = book.reps.clone();
    let acme_mine: Vec<i64> = vec![mine[0], mine[1]];

    // The list, its total, offsets, filters, sorting, cursor pages.
    let page = list(&rep, "/orders/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (mine.clone(), 3));
    let page = list(&rep, "/orders/", &[("limit", "1")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![mine[0]], 3));
    let page = list(&rep, "/orders/", &[("skip", "2"), ("limit", "5")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![mine[2]], 3));
    let page = list(&rep, "/orders/", &[("skip", "50")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![], 3), "an empty page past the end still counts only own rows");
    let page = list(&rep, "/orders/", &[("limit", "0")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![], 3), "a limit=0 page counts only own rows");
    let page = list(&rep, "/orders/", &[("sorting", "id:desc")]).await;
    assert_eq!(ids(&page), mine.iter().rev().copied().collect::<Vec<_>>());
    let acme_filter = format!("customer_id:eq:{}", book.acme);
    let page = list(&rep, "/orders/", &[("filter", &acme_filter)]).await;
    assert_eq!((ids(&page), total(&page)), (acme_mine.clone(), 2));
    let page = list(&rep, "/orders/", &[("filter_key", "customer_id"), ("value", &book.acme.to_string())]).await;
    assert_eq!((ids(&page), total(&page)), (acme_mine.clone(), 2));
    for other in book.others_than_reps() {
        let page = list(&rep, "/orders/", &[("filter", &format!("id:eq:{other}"))]).await;
        assert_eq!((ids(&page), total(&page)), (vec![], 0), "order {other}");
    }
    let in_all = book.all().iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let page = list(&rep, "/orders/", &[("filter", &format!("id:in:{in_all}"))]).await;
    assert_eq!((ids(&page), total(&page)), (mine.clone(), 3));
    for limit in [1, 2, 5] {
        assert_eq!(walk_cursor(&rep, "/orders/", &[], limit).await, mine, "limit {limit}");
    }
    let mut by_total = walk_cursor(&rep, "/orders/", &[("sorting", "total:desc")], 1).await;
    by_total.sort_unstable();
    assert_eq!(by_total, mine);

    // Nested under the customer.
    for path in [format!("/customers/{}/orders/", book.acme), format!("/customers/{}/orders", book.acme)] {
        let page = list(&rep, &path, &[]).await;
        assert_eq!((ids(&page), total(&page)), (acme_mine.clone(), 2), "{path}");
        let page = list(&rep, &path, &[("skip", "10")]).await;
        assert_eq!((ids(&page), total(&page)), (vec![], 2), "{path}");
        assert_eq!(walk_cursor(&rep, &path, &[], 1).await, acme_mine, "{path}");
    }

    // Orders the rep creates under a customer are theirs too (no customer permission needed).
    let nested = ok(rep.post(&format!("/customers/{}/orders", book.acme)).body_json(&json!({})).send().await).await;
    assert_eq!(nested["creator_user_id"], world.user("rep").id);
    let page = list(&rep, &format!("/customers/{}/orders/", book.acme), &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![mine[0], mine[1], id(&nested)], 3));
    ok(rep.delete(&format!("/orders/{}", id(&nested))).send().await).await;

    // The lines of their own order include one the manager added.
    let own_lines = lines(&rep, mine[0]).await;
    assert_eq!(total(&own_lines), 2);
    assert!(ids(&own_lines).contains(&book.manager_line_on_rep_order));
    ok(rep.get(&format!("/order-lines/{}", book.manager_line_on_rep_order)).send().await).await;

    // The manager sees every order.
    let page = list(&manager, "/orders/", &[("limit", "1000")]).await;
    assert_eq!((ids(&page), total(&page)), (book.all(), 9));
    assert_eq!(walk_cursor(&manager, "/orders/", &[], 2).await, book.all());
    let acme_all = list(&manager, &format!("/customers/{}/orders/", book.acme), &[]).await;
    assert_eq!(total(&acme_all), 7);
    ok(manager.get(&format!("/orders/{}", mine[0])).send().await).await;
    assert_eq!(total(&lines(&manager, mine[0]).await), 2);
}

#[tokio::test]
async fn other_users_orders_are_404_for_a_rep_for_every_operation() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = people(&app).await;
    let book = Book::write(&app, &world).await;
    let rep = app.as_user(world.user("rep"));
    // A confirmed order outside the scope is a 404 too, not a 409 that would reveal it.
    let manager = app.as_user(world.user("manager"));
    ok(manager.post(&format!("/orders/{}/confirm", book.managers[0])).send().await).await;
    ok(app.as_user(world.user("rep2")).post(&format!("/orders/{}/confirm", book.other_reps[0])).send().await).await;
    let before = everything(&admin).await;
    for other in book.others_than_reps() {
        let path = format!("/orders/{other}");
        missing(rep.get(&path).send().await, "orders", other).await;
        missing(rep.put(&path).body_json(&json!({"note": "hijacked"})).send().await, "orders", other).await;
        missing(rep.put(&path).body_json(&json!({"status": "cancelled"})).send().await, "orders", other).await;
        missing(rep.delete(&path).send().await, "orders", other).await;
        missing(rep.post(&format!("{path}/confirm")).send().await, "orders", other).await;
        for lines_path in [format!("{path}/lines/"), format!("{path}/lines")] {
            missing(rep.get(&lines_path).send().await, "orders", other).await;
            let body = json!({"product_id": book.product, "quantity": 1});
            missing(rep.post(&lines_path).body_json(&body).send().await, "orders", other).await;
        }
        let (_, line) = book.lines.iter().find(|(order, _)| *order == other).copied().unwrap();
        missing(rep.get(&format!("/order-lines/{line}")).send().await, "order_lines", line).await;
        missing(rep.delete(&format!("/order-lines/{line}")).send().await, "order_lines", line).await;
    }
    assert_eq!(everything(&admin).await, before, "a request outside the rep's scope changed something");

    // Their own orders: every operation works.
    let own = book.reps[1];
    let path = format!("/orders/{own}");
    let updated = ok(rep.put(&path).body_json(&json!({"note": "mine"})).send().await).await;
    assert_eq!(
        (updated["note"].clone(), updated["last_modifier_user_id"].clone()),
        (json!("mine"), json!(world.user("rep").id))
    );
    let added = line(&rep, own, book.product, 4).await;
    ok(rep.delete(&format!("/order-lines/{}", id(&added))).send().await).await;
    let confirmed = ok(rep.post(&format!("{path}/confirm")).send().await).await;
    assert_eq!((confirmed["status"].clone(), dec(&confirmed["total"])), (json!("confirmed"), d("5")));
    let gone = ok(rep.delete(&format!("/orders/{}", book.reps[2])).send().await).await;
    assert_eq!(gone["id"], book.reps[2]);
    let (_, gone_line) = book.lines.iter().find(|(order, _)| *order == book.reps[2]).copied().unwrap();
    missing(admin.get(&format!("/order-lines/{gone_line}")).send().await, "order_lines", gone_line).await;
    let page = list(&rep, "/orders/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![book.reps[0], book.reps[1]], 2));
    // The second rep does not see the first rep's orders either.
    let rep2 = app.as_user(world.user("rep2"));
    let page = list(&rep2, "/orders/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (book.other_reps.clone(), 2));
    missing(rep2.get(&path).send().await, "orders", own).await;
}

#[tokio::test]
async fn own_write_permissions_reach_only_own_orders_even_for_those_who_read_all() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = Scenario::new()
        .role("manager", MANAGER)
        .role("auditor", AUDITOR)
        .role("fixer", &["order_read_own", "order_update", "order_delete"])
        .role("own_deleter", &["order_read_own", "order_create", "order_delete_own"])
        .role("own_updater", &["order_read_own", "order_create", "order_update_own"])
        .user("manager", &["manager"])
        .user("auditor", &["auditor"])
        .user("fixer", &["fixer"])
        .user("own_deleter", &["own_deleter"])
        .user("own_updater", &["own_updater"])
        .build(&app)
        .await;
    let manager = app.as_user(world.user("manager"));
    let auditor = app.as_user(world.user("auditor"));
    let acme = customer(&admin, "acme", "1000000").await;
    let product = id(&product(&admin, "P-1", "1.25").await);
    let theirs = id(&order(&manager, acme).await);
    let their_line = id(&line(&manager, theirs, product, 2).await);
    let own = id(&order(&auditor, acme).await);

    // Reads reach every order...
    let page = list(&auditor, "/orders/", &[]).await;
    assert_eq!((ids(&page), total(&page)), (vec![theirs, own], 2));
    ok(auditor.get(&format!("/orders/{theirs}")).send().await).await;
    assert_eq!(ids(&lines(&auditor, theirs).await), [their_line]);
    ok(auditor.get(&format!("/order-lines/{their_line}")).send().await).await;
    // ...writes only their own.
    let before = everything(&admin).await;
    let path = format!("/orders/{theirs}");
    missing(auditor.put(&path).body_json(&json!({"note": "x"})).send().await, "orders", theirs).await;
    missing(auditor.delete(&path).send().await, "orders", theirs).await;
    missing(auditor.post(&format!("{path}/confirm")).send().await, "orders", theirs).await;
    missing(post_line(&auditor, theirs, product, 1).await, "orders", theirs).await;
    missing(auditor.delete(&format!("/order-lines/{their_line}")).send().await, "order_lines", their_line).await;
    assert_eq!(everything(&admin).await, before, "an own-only write changed another user's order");
    let path = format!("/orders/{own}");
    ok(auditor.put(&path).body_json(&json!({"note": "mine"})).send().await).await;
    let own_line = id(&line(&auditor, own, product, 3).await);
    ok(auditor.delete(&format!("/order-lines/{own_line}")).send().await).await;
    line(&auditor, own, product, 1).await;
    ok(auditor.post(&format!("{path}/confirm")).send().await).await;
    let draft = id(&order(&auditor, acme).await);
    ok(auditor.delete(&format!("/orders/{draft}")).send().await).await;

    // `order_update` / `order_delete` reach every order the caller may read, and no other: a
    // write answers with the row, so it cannot show what the read scope hides.
    let fixer = app.as_user(world.user("fixer"));
    let before = everything(&admin).await;
    missing(fixer.get(&format!("/orders/{theirs}")).send().await, "orders", theirs).await;
    missing(
        fixer.put(&format!("/orders/{theirs}")).body_json(&json!({"note": "fixed"})).send().await,
        "orders",
        theirs,
    )
    .await;
    missing(fixer.delete(&format!("/orders/{theirs}")).send().await, "orders", theirs).await;
    assert_eq!(everything(&admin).await, before, "a write reached a row its read scope hides");

    // `order_delete_own` without `order_update_own`, and the other way around.
    let own_deleter = app.as_user(world.user("own_deleter"));
    let deletable = id(&order(&own_deleter, acme).await);
    let spare = id(&order(&manager, acme).await);
    forbidden(own_deleter.put(&format!("/orders/{deletable}")).body_json(&json!({"note": "x"})).send().await, "PUT")
        .await;
    missing(own_deleter.delete(&format!("/orders/{spare}")).send().await, "orders", spare).await;
    ok(own_deleter.delete(&format!("/orders/{deletable}")).send().await).await;
    let own_updater = app.as_user(world.user("own_updater"));
    let updatable = id(&order(&own_updater, acme).await);
    forbidden(own_updater.delete(&format!("/orders/{updatable}")).send().await, "DELETE").await;
    missing(
        own_updater.put(&format!("/orders/{spare}")).body_json(&json!({"note": "x"})).send().await,
        "orders",
        spare,
    )
    .await;
    ok(own_updater.put(&format!("/orders/{updatable}")).body_json(&json!({"note": "x"})).send().await).await;
    // Confirming needs `order_confirm` on top of an update permission.
    line(&own_updater, updatable, product, 1).await;
    forbidden(own_updater.post(&format!("/orders/{updatable}/confirm")).send().await, "confirm").await;
    let page = list(&admin, &format!("/customers/{acme}/orders/"), &[("filter", &format!("id:eq:{updatable}"))]).await;
    assert_eq!(page["data"][0]["status"], "draft");
}

// ---------------------------------------------------------------------------------------------
// 401 / 403

#[tokio::test]
async fn without_order_permissions_every_order_endpoint_is_403() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = Scenario::new()
        .role("outsider", OUTSIDER)
        .role("reader", &["order_read", "product_read"])
        .role("own_reader", &["order_read_own", "product_read"])
        .role("confirmer", &["order_read", "order_confirm"])
        .role("updater", &["order_read", "order_update"])
        .role("creator", &["order_create", "customers_read"])
        .user("outsider", &["outsider"])
        .user("reader", &["reader"])
        .user("own_reader", &["own_reader"])
        .user("confirmer", &["confirmer"])
        .user("updater", &["updater"])
        .user("creator", &["creator"])
        .build(&app)
        .await;
    let acme = customer(&admin, "acme", "1000000").await;
    let product = id(&product(&admin, "P-1", "1.00").await);
    let target = id(&order(&admin, acme).await);
    let target_line = id(&line(&admin, target, product, 1).await);
    let unknown = 999_999;
    let new_line = json!({"product_id": product, "quantity": 1});
    let reads: Vec<Call> = vec![
        ("GET", "/orders/".to_owned(), None),
        ("GET", format!("/orders/{target}"), None),
        ("GET", format!("/orders/{unknown}"), None),
        ("GET", format!("/customers/{acme}/orders/"), None),
        ("GET", format!("/customers/{acme}/orders"), None),
        ("GET", format!("/customers/{unknown}/orders/"), None),
        ("GET", format!("/orders/{target}/lines/"), None),
        ("GET", format!("/orders/{target}/lines"), None),
        ("GET", format!("/order-lines/{target_line}"), None),
        ("GET", format!("/order-lines/{unknown}"), None),
    ];
    let creates: Vec<Call> = vec![
        ("POST", "/orders/".to_owned(), Some(json!({"customer_id": acme}))),
        ("POST", format!("/customers/{acme}/orders/"), Some(json!({}))),
        ("POST", format!("/customers/{acme}/orders"), Some(json!({}))),
        ("POST", format!("/customers/{unknown}/orders/"), Some(json!({}))),
    ];
    let changes: Vec<Call> = vec![
        ("PUT", format!("/orders/{target}"), Some(json!({"note": "changed"}))),
        ("PUT", format!("/orders/{unknown}"), Some(json!({"note": "changed"}))),
        ("POST", format!("/orders/{target}/lines/"), Some(new_line.clone())),
        ("POST", format!("/orders/{target}/lines"), Some(new_line.clone())),
        ("DELETE", format!("/order-lines/{target_line}"), None),
        ("DELETE", format!("/order-lines/{unknown}"), None),
    ];
    let deletes: Vec<Call> =
        vec![("DELETE", format!("/orders/{target}"), None), ("DELETE", format!("/orders/{unknown}"), None)];
    let confirms: Vec<Call> =
        vec![("POST", format!("/orders/{target}/confirm"), None), ("POST", format!("/orders/{unknown}/confirm"), None)];
    let every: Vec<&Call> = reads.iter().chain(&creates).chain(&changes).chain(&deletes).chain(&confirms).collect();
    assert_eq!(every.len(), 24);

    let before = everything(&admin).await;
    let outsider = app.as_user(world.user("outsider"));
    for (method, path, body) in &every {
        let label = format!("{method} {path}");
        forbidden(call(&outsider, method, path, body.as_ref()).await, &format!("outsider: {label}")).await;
        let (status, answer) = sent(call(&app.anonymous(), method, path, body.as_ref()).await).await;
        assert_eq!((status, &answer["detail"]), (401, &json!("Not authenticated")), "anonymous: {label}");
    }
    // One permission short.
    let refusals: [(&str, Vec<&Call>); 5] = [
        ("reader", creates.iter().chain(&changes).chain(&deletes).chain(&confirms).collect()),
        ("own_reader", creates.iter().chain(&changes).chain(&deletes).chain(&confirms).collect()),
        ("confirmer", creates.iter().chain(&changes).chain(&deletes).chain(&confirms).collect()),
        ("updater", creates.iter().chain(&deletes).chain(&confirms).collect()),
        ("creator", reads.iter().chain(&changes).chain(&deletes).chain(&confirms).collect()),
    ];
    for (user, endpoints) in refusals {
        let client = app.as_user(world.user(user));
        for (method, path, body) in endpoints {
            forbidden(call(&client, method, path, body.as_ref()).await, &format!("{user}: {method} {path}")).await;
        }
    }
    assert_eq!(everything(&admin).await, before, "a refused request changed something");
    // And what they hold works.
    let reader = app.as_user(world.user("reader"));
    assert_eq!(total(&list(&reader, "/orders/", &[]).await), 1);
    let creator = app.as_user(world.user("creator"));
    order(&creator, acme).await;
    let updater = app.as_user(world.user("updater"));
    ok(updater.put(&format!("/orders/{target}")).body_json(&json!({"note": "ok"})).send().await).await;
}

// ---------------------------------------------------------------------------------------------
// Lines

#[tokio::test]
async fn lines_validate_and_copy_the_product_price() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "100000000").await;
    let keyboard = product(&admin, "KB-1", "49.90").await;
    let kb = id(&keyboard);
    let retired = id(&product(&admin, "OLD-1", "5.00").await);
    ok(admin.put(&format!("/products/{retired}")).body_json(&json!({"active": false})).send().await).await;
    let target = id(&order(&admin, acme).await);
    let other = id(&order(&admin, acme).await);
    let first = line(&admin, target, kb, 2).await;
    assert_eq!(
        (first["order_id"].clone(), first["product_id"].clone(), first["quantity"].clone()),
        (json!(target), json!(kb), json!(2))
    );
    assert_eq!(dec(&first["unit_price"]), d("49.9"));

    let before = everything(&admin).await;
    let lines_path = format!("/orders/{target}/lines/");
    let post = |body: Value| {
        let (admin, path) = (&admin, &lines_path);
        async move { admin.post(path).body_json(&body).send().await }
    };
    let issue =
        invalid(post(json!({"product_id": kb, "quantity": 0})).await, &["body", "quantity"], "greater_than").await;
    assert_eq!((issue["ctx"].clone(), issue["input"].clone()), (json!({"gt": 0}), json!(0)), "{issue}");
    invalid(post(json!({"product_id": kb, "quantity": -3})).await, &["body", "quantity"], "greater_than").await;
    let issue =
        invalid(post(json!({"product_id": kb, "quantity": 1_000_001})).await, &["body", "quantity"], "less_than_equal")
            .await;
    assert_eq!(issue["ctx"], json!({"le": 1_000_000}), "{issue}");
    for wrong in [json!(1.5), json!("two"), Value::Null] {
        let (status, body) = sent(post(json!({"product_id": kb, "quantity": wrong})).await).await;
        assert_eq!((status, &body["detail"][0]["loc"]), (422, &json!(["body", "quantity"])), "{wrong}: {body}");
    }
    let unknown = 999_999;
    let issue =
        invalid(post(json!({"product_id": unknown, "quantity": 1})).await, &["body", "product_id"], "foreign_key")
            .await;
    assert_eq!(issue["msg"], format!("Entity [products] with id={unknown} does not exist"));
    let body = refused(post(json!({"product_id": retired, "quantity": 1})).await, 409, "product_inactive").await;
    assert!(body["detail"].as_str().unwrap().contains("inactive"), "{body}");
    for path in [format!("/orders/{unknown}/lines/"), format!("/orders/{unknown}/lines")] {
        missing(admin.post(&path).body_json(&json!({"product_id": kb, "quantity": 1})).send().await, "orders", unknown)
            .await;
        missing(admin.get(&path).send().await, "orders", unknown).await;
    }
    missing(admin.get(&format!("/order-lines/{unknown}")).send().await, "order_lines", unknown).await;
    missing(admin.delete(&format!("/order-lines/{unknown}")).send().await, "order_lines", unknown).await;
    // No update endpoint, no collection.
    let item = format!("/order-lines/{}", id(&first));
    let response = admin.put(&item).body_json(&json!({"quantity": 5})).send().await;
    let allow = response.0.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (status, body) = sent(response).await;
    assert_eq!(status, 405, "{body}");
    let mut allowed: Vec<&str> = allow.split(", ").collect();
    allowed.sort_unstable();
    assert_eq!(allowed, ["DELETE", "GET"], "Allow: {allow:?}");
    for path in ["/order-lines/", "/order-lines"] {
        for method in ["GET", "POST"] {
            let body = json!({"order_id": target, "product_id": kb, "quantity": 1});
            let (status, answer) = sent(call(&admin, method, path, Some(&body)).await).await;
            assert_eq!((status, &answer["detail"]), (404, &json!("Not Found")), "{method} {path}");
        }
    }
    assert_eq!(everything(&admin).await, before, "a refused line request wrote something");

    // The server sets `unit_price` and `order_id`: sent values are ignored.
    let body = json!({"product_id": kb, "quantity": 1, "unit_price": "0.01", "order_id": other});
    let forged = ok(admin.post(&format!("/orders/{target}/lines")).body_json(&body).send().await).await;
    assert_eq!((dec(&forged["unit_price"]), forged["order_id"].clone()), (d("49.9"), json!(target)));
    let most = line(&admin, target, kb, 1_000_000).await;
    assert_eq!(most["quantity"], 1_000_000);
    // A later price change leaves the lines (and the total) alone.
    ok(admin.put(&format!("/products/{kb}")).body_json(&json!({"unit_price": "99.99"})).send().await).await;
    let newer = line(&admin, target, kb, 1).await;
    assert_eq!(dec(&newer["unit_price"]), d("99.99"));
    let page = lines(&admin, target).await;
    assert_eq!(ids(&page), [id(&first), id(&forged), id(&most), id(&newer)]);
    let prices: Vec<Decimal> = page["data"].as_array().unwrap().iter().map(|l| dec(&l["unit_price"])).collect();
    assert_eq!(prices, [d("49.9"), d("49.9"), d("49.9"), d("99.99")]);
    let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
    assert_eq!(dec(&current["total"]), d("49.9") * Decimal::from(1_000_003) + d("99.99"));
    assert_eq!(dec(&current["total"]), sum_of_lines(&page));
    assert!(lines(&admin, other).await["data"].as_array().unwrap().is_empty());
    // Deleting a line refreshes the total; the line is gone.
    let deleted = ok(admin.delete(&item).send().await).await;
    assert_eq!(deleted["id"], id(&first));
    missing(admin.get(&item).send().await, "order_lines", id(&first)).await;
    let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
    assert_eq!(dec(&current["total"]), d("49.9") * Decimal::from(1_000_001) + d("99.99"));
    // Lines list like any collection.
    let page = list(&admin, &format!("/orders/{target}/lines"), &[("sorting", "quantity:desc"), ("limit", "1")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![id(&most)], 3));
    let page = list(&admin, &lines_path, &[("filter", "quantity:eq:1")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![id(&forged), id(&newer)], 2));
    // Deleting a draft order takes its lines with it.
    ok(admin.delete(&format!("/orders/{target}")).send().await).await;
    missing(admin.get(&format!("/order-lines/{}", id(&most))).send().await, "order_lines", id(&most)).await;
    missing(admin.get(&lines_path).send().await, "orders", target).await;
}

#[tokio::test]
async fn line_permissions_follow_the_order() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = Scenario::new()
        .role("viewer", &["order_read_own", "order_create"])
        .role("rep", REP)
        .user("viewer", &["viewer"])
        .user("rep", &["rep"])
        .build(&app)
        .await;
    let acme = customer(&admin, "acme", "1000").await;
    let product = id(&product(&admin, "P-1", "1.00").await);
    let viewer = app.as_user(world.user("viewer"));
    let own = id(&order(&viewer, acme).await);
    let admin_line = id(&line(&admin, own, product, 1).await);
    // The viewer reads the lines of their order but cannot change them.
    assert_eq!(ids(&lines(&viewer, own).await), [admin_line]);
    ok(viewer.get(&format!("/order-lines/{admin_line}")).send().await).await;
    let before = everything(&admin).await;
    forbidden(post_line(&viewer, own, product, 1).await, "POST line").await;
    forbidden(viewer.delete(&format!("/order-lines/{admin_line}")).send().await, "DELETE line").await;
    assert_eq!(everything(&admin).await, before);
    // A rep cannot touch the viewer's order lines: outside their scope, so 404.
    let rep = app.as_user(world.user("rep"));
    missing(rep.get(&format!("/order-lines/{admin_line}")).send().await, "order_lines", admin_line).await;
    missing(post_line(&rep, own, product, 1).await, "orders", own).await;
    assert_eq!(everything(&admin).await, before);
}

// ---------------------------------------------------------------------------------------------
// Confirm

#[tokio::test]
async fn confirmed_orders_refuse_every_change() {
    let app = app().await;
    let admin = app.as_admin().await;
    let world = people(&app).await;
    let rep = app.as_user(world.user("rep"));
    let acme = customer(&admin, "acme", "1000").await;
    let product = id(&product(&admin, "P-1", "19.99").await);
    let target = id(&order(&rep, acme).await);
    let kept = id(&line(&rep, target, product, 2).await);
    let confirmed = ok(rep.post(&format!("/orders/{target}/confirm")).send().await).await;
    assert_eq!((confirmed["status"].clone(), dec(&confirmed["total"])), (json!("confirmed"), d("39.98")));
    assert_eq!(confirmed["last_modifier_user_id"], world.user("rep").id);

    let before = everything(&admin).await;
    let path = format!("/orders/{target}");
    for client in [&rep, &admin] {
        refused(client.put(&path).body_json(&json!({"note": "late"})).send().await, 409, "order_confirmed").await;
        refused(client.put(&path).body_json(&json!({"status": "cancelled"})).send().await, 409, "order_confirmed")
            .await;
        refused(client.put(&path).body_json(&json!({"status": "draft"})).send().await, 409, "order_confirmed").await;
        refused(client.delete(&path).send().await, 409, "order_confirmed").await;
        refused(client.post(&format!("{path}/confirm")).send().await, 409, "order_confirmed").await;
        refused(post_line(client, target, product, 1).await, 409, "order_confirmed").await;
        refused(client.delete(&format!("/order-lines/{kept}")).send().await, 409, "order_confirmed").await;
    }
    assert_eq!(everything(&admin).await, before, "a confirmed order changed");
    // Its product and its customer stay referenced.
    let body = refused(admin.delete(&format!("/products/{product}")).send().await, 409, "still_referenced").await;
    assert_eq!(body["detail"], format!("Entity [products] with id={product} is still referenced by [order_lines]"));
    let body = refused(admin.delete(&format!("/customers/{acme}")).send().await, 409, "still_referenced").await;
    assert_eq!(body["detail"], format!("Entity [customers] with id={acme} is still referenced by [orders]"));
    assert_eq!(everything(&admin).await, before);

    // A cancelled order is not a draft either.
    let cancelled = id(&order(&rep, acme).await);
    line(&rep, cancelled, product, 1).await;
    ok(rep.put(&format!("/orders/{cancelled}")).body_json(&json!({"status": "cancelled"})).send().await).await;
    let before = snapshot(&admin, cancelled).await;
    refused(rep.post(&format!("/orders/{cancelled}/confirm")).send().await, 409, "order_confirmed").await;
    assert_eq!(snapshot(&admin, cancelled).await, before);
    missing(rep.post("/orders/999999/confirm").send().await, "orders", 999_999).await;
}

#[tokio::test]
async fn confirm_refuses_empty_orders_and_totals_above_the_credit_limit() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "100.00").await;
    let third = id(&product(&admin, "THIRD", "33.33").await);
    let cent = id(&product(&admin, "CENT", "0.01").await);

    let empty = id(&order(&admin, acme).await);
    let before = snapshot(&admin, empty).await;
    refused(admin.post(&format!("/orders/{empty}/confirm")).send().await, 409, "order_empty").await;
    assert_eq!(snapshot(&admin, empty).await, before);
    // A line added then deleted leaves it empty again.
    let gone = id(&line(&admin, empty, cent, 1).await);
    ok(admin.delete(&format!("/order-lines/{gone}")).send().await).await;
    refused(admin.post(&format!("/orders/{empty}/confirm")).send().await, 409, "order_empty").await;
    let current = ok(admin.get(&format!("/orders/{empty}")).send().await).await;
    assert_eq!((current["status"].clone(), dec(&current["total"])), (json!("draft"), Decimal::ZERO));

    // 3 × 33.33 + 2 × 0.01 = 100.01 > 100.00.
    let target = id(&order(&admin, acme).await);
    line(&admin, target, third, 3).await;
    let cents = id(&line(&admin, target, cent, 2).await);
    let before = snapshot(&admin, target).await;
    assert_eq!(dec(&before["order"]["total"]), d("100.01"));
    refused(admin.post(&format!("/orders/{target}/confirm")).send().await, 409, "credit_limit_exceeded").await;
    assert_eq!(snapshot(&admin, target).await, before, "a refused confirm changed the order");
    // Exactly the limit is fine.
    ok(admin.delete(&format!("/order-lines/{cents}")).send().await).await;
    line(&admin, target, cent, 1).await;
    let confirmed = ok(admin.post(&format!("/orders/{target}/confirm")).send().await).await;
    assert_eq!((confirmed["status"].clone(), dec(&confirmed["total"])), (json!("confirmed"), d("100.00")));
    let stored = ok(admin.get(&format!("/orders/{target}")).send().await).await;
    assert_eq!(stored, confirmed);

    // The limit is the customer's: a raised limit lets a larger order through.
    let big = id(&order(&admin, acme).await);
    line(&admin, big, third, 4).await;
    refused(admin.post(&format!("/orders/{big}/confirm")).send().await, 409, "credit_limit_exceeded").await;
    ok(admin.put(&format!("/customers/{acme}")).body_json(&json!({"credit_limit": "133.32"})).send().await).await;
    let confirmed = ok(admin.post(&format!("/orders/{big}/confirm")).send().await).await;
    assert_eq!(dec(&confirmed["total"]), d("133.32"));
}

#[tokio::test]
async fn confirm_computes_the_total_from_the_lines_not_from_the_stored_total() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "100.00").await;
    let third = id(&product(&admin, "THIRD", "33.33").await);
    // A stored total too high must not refuse an order whose lines are within the limit.
    let within = id(&order(&admin, acme).await);
    line(&admin, within, third, 2).await;
    tamper_total(&app, within, "1000000").await;
    let confirmed = ok(admin.post(&format!("/orders/{within}/confirm")).send().await).await;
    assert_eq!(dec(&confirmed["total"]), d("66.66"));
    assert_eq!(dec(&ok(admin.get(&format!("/orders/{within}")).send().await).await["total"]), d("66.66"));
    // A stored total too low must not let through an order whose lines exceed the limit.
    let above = id(&order(&admin, acme).await);
    line(&admin, above, third, 4).await;
    tamper_total(&app, above, "1").await;
    refused(admin.post(&format!("/orders/{above}/confirm")).send().await, 409, "credit_limit_exceeded").await;
    let current = ok(admin.get(&format!("/orders/{above}")).send().await).await;
    assert_eq!((current["status"].clone(), dec(&current["total"])), (json!("draft"), d("1")));
}

// ---------------------------------------------------------------------------------------------
// References

#[tokio::test]
async fn customers_and_products_in_use_cannot_be_deleted() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "1000").await;
    let idle = customer(&admin, "idle", "1000").await;
    let used = id(&product(&admin, "USED", "1.00").await);
    let unused = id(&product(&admin, "UNUSED", "1.00").await);
    let target = id(&order(&admin, acme).await);
    line(&admin, target, used, 1).await;

    let before = everything(&admin).await;
    let customers_before = list(&admin, "/customers/", &[("sorting", "id")]).await;
    let body = refused(admin.delete(&format!("/customers/{acme}")).send().await, 409, "still_referenced").await;
    assert_eq!(body["detail"], format!("Entity [customers] with id={acme} is still referenced by [orders]"));
    let body = refused(admin.delete(&format!("/products/{used}")).send().await, 409, "still_referenced").await;
    assert_eq!(body["detail"], format!("Entity [products] with id={used} is still referenced by [order_lines]"));
    assert_eq!(everything(&admin).await, before);
    assert_eq!(list(&admin, "/customers/", &[("sorting", "id")]).await, customers_before);
    // Unused ones can.
    ok(admin.delete(&format!("/customers/{idle}")).send().await).await;
    ok(admin.delete(&format!("/products/{unused}")).send().await).await;
    // Once the (draft) order is gone, with its lines, so can the others.
    ok(admin.delete(&format!("/orders/{target}")).send().await).await;
    ok(admin.delete(&format!("/products/{used}")).send().await).await;
    ok(admin.delete(&format!("/customers/{acme}")).send().await).await;
    missing(admin.get(&format!("/customers/{acme}")).send().await, "customers", acme).await;
}

// ---------------------------------------------------------------------------------------------
// Exactness

#[tokio::test]
async fn totals_are_exact_decimal_sums() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "99999999999999999999").await;
    let prices = ["0.10", "19.99", "0.01", "0.33", "1234.56", "999999.99", "123456789012.34", "0.07"];
    let mut products = Vec::new();
    for (n, price) in prices.iter().enumerate() {
        products.push((id(&product(&admin, &format!("EX-{n}"), price).await), d(price)));
    }
    let target = id(&order(&admin, acme).await);
    let quantities = [1, 3, 7, 10, 99, 1000, 999_999, 1_000_000, 2, 333_333];
    let mut expected = Decimal::ZERO;
    let mut added = Vec::new();
    for (n, quantity) in quantities.iter().cycle().take(48).enumerate() {
        let (product, price) = products[n % products.len()];
        let created = line(&admin, target, product, *quantity).await;
        assert_eq!(dec(&created["unit_price"]), price);
        expected += price * Decimal::from(*quantity);
        added.push((id(&created), price * Decimal::from(*quantity)));
        if n % 7 == 0 {
            let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
            assert_eq!(dec(&current["total"]), expected, "after {} lines", n + 1);
        }
    }
    let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
    assert_eq!(dec(&current["total"]), expected);
    assert_eq!(sum_of_lines(&lines(&admin, target).await), expected);
    // Floating point would lose the cents at this magnitude.
    assert!(expected > d("1000000000000000"), "{expected}");
    let as_float = expected.to_string().parse::<f64>().unwrap();
    assert_ne!(Decimal::from_f64_retain(as_float), Some(expected), "the test would not catch floats");
    for (line_id, amount) in added.iter().step_by(5) {
        ok(admin.delete(&format!("/order-lines/{line_id}")).send().await).await;
        expected -= amount;
        let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
        assert_eq!(dec(&current["total"]), expected);
    }
    assert_eq!(sum_of_lines(&lines(&admin, target).await), expected);
    let confirmed = ok(admin.post(&format!("/orders/{target}/confirm")).send().await).await;
    assert_eq!(dec(&confirmed["total"]), expected);

    // 0.10 × 3 is 0.3, not 0.30000000000000004.
    let small = id(&order(&admin, acme).await);
    line(&admin, small, products[0].0, 3).await;
    line(&admin, small, products[3].0, 1).await;
    let current = ok(admin.get(&format!("/orders/{small}")).send().await).await;
    assert_eq!(dec(&current["total"]), d("0.63"));
}

#[tokio::test]
async fn orders_sort_and_filter_by_total_as_numbers() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "100000").await;
    let cent = id(&product(&admin, "CENT", "0.01").await);
    let unit = id(&product(&admin, "UNIT", "1.00").await);
    // Totals 9, 10, 100.5, 0.09 and 0: as text they would sort "0" < "0.09" < "10" < "100.5" < "9".
    let mut made = Vec::new();
    for (units, cents) in [(9, 0), (10, 0), (100, 50), (0, 9), (0, 0)] {
        let created = id(&order(&admin, acme).await);
        if units > 0 {
            line(&admin, created, unit, units).await;
        }
        if cents > 0 {
            line(&admin, created, cent, cents).await;
        }
        made.push(created);
    }
    let page = list(&admin, "/orders/", &[("sorting", "total")]).await;
    assert_eq!(ids(&page), [made[4], made[3], made[0], made[1], made[2]]);
    let page = list(&admin, "/orders/", &[("sorting", "total:desc")]).await;
    assert_eq!(ids(&page), [made[2], made[1], made[0], made[3], made[4]]);
    let page = list(&admin, "/orders/", &[("filter", "total:gt:9.5")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![made[1], made[2]], 2));
    let page = list(&admin, "/orders/", &[("filter", "total:eq:100.50")]).await;
    assert_eq!(ids(&page), [made[2]]);
    let page = list(&admin, "/orders/", &[("filter", "total:lte:0.09"), ("sorting", "id")]).await;
    assert_eq!(ids(&page), [made[3], made[4]]);
    assert_eq!(
        walk_cursor(&admin, "/orders/", &[("sorting", "total:desc")], 2).await,
        [made[2], made[1], made[0], made[3], made[4]]
    );
    // Prices too: products and lines sort by value, not by text.
    let mut priced = Vec::new();
    for (n, price) in ["9.99", "10", "100.5", "0.5", "10.001"].iter().enumerate() {
        priced.push(id(&product(&admin, &format!("PRICE-{n}"), price).await));
    }
    let filter = "sku:startswith:PRICE-";
    let page = list(&admin, "/products/", &[("filter", filter), ("sorting", "unit_price")]).await;
    assert_eq!(ids(&page), [priced[3], priced[0], priced[1], priced[4], priced[2]]);
    let page = list(&admin, "/products/", &[("filter", filter), ("filter", "unit_price:gte:10")]).await;
    assert_eq!(ids(&page), [priced[1], priced[2], priced[4]]);
    let target = id(&order(&admin, acme).await);
    let mut priced_lines = Vec::new();
    for product in &priced {
        priced_lines.push(id(&line(&admin, target, *product, 1).await));
    }
    let page = list(&admin, &format!("/orders/{target}/lines/"), &[("sorting", "unit_price:desc")]).await;
    assert_eq!(ids(&page), [priced_lines[2], priced_lines[4], priced_lines[1], priced_lines[0], priced_lines[3]]);
    let (status, body) = list_raw(&admin, "/orders/", &[("filter", "total:gt:abc")]).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_list_query")), "{body}");
}

#[tokio::test]
async fn a_total_beyond_exact_decimals_is_refused_and_nothing_is_written() {
    let app = app().await;
    let admin = app.as_admin().await;
    let acme = customer(&admin, "acme", "99999999999999999999999999").await;
    let huge = id(&product(&admin, "HUGE", "79000000000000000000000").await);
    let target = id(&order(&admin, acme).await);
    line(&admin, target, huge, 1_000_000).await;
    let before = snapshot(&admin, target).await;
    assert_eq!(dec(&before["order"]["total"]), d("79000000000000000000000000000"));
    let (status, body) = sent(post_line(&admin, target, huge, 1_000_000).await).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("total_too_large")), "{body}");
    assert_eq!(snapshot(&admin, target).await, before);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/// One racing client: after `delay`, sends `requests` (method, path, body) one after another.
struct Script {
    delay: Duration,
    requests: Vec<(&'static str, String, Option<Value>)>,
}

impl Script {
    fn one(delay: Duration, method: &'static str, path: String, body: Option<Value>) -> Self {
        Self { delay, requests: vec![(method, path, body)] }
    }
}

/// Runs every script at once, each in its own task on the multi-threaded runtime, all released
/// together by a barrier (then each waits its own delay); the answers of each script, in order.
async fn at_once(app: &Arc<TestApp>, token: &str, scripts: Vec<Script>) -> Vec<Vec<(u16, Value)>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(scripts.len()));
    let tasks: Vec<_> = scripts
        .into_iter()
        .map(|script| {
            let (app, barrier, token) = (Arc::clone(app), Arc::clone(&barrier), token.to_owned());
            tokio::spawn(async move {
                barrier.wait().await;
                tokio::time::sleep(script.delay).await;
                let client = app.with_token(&token);
                let mut answers = Vec::new();
                for (method, path, body) in &script.requests {
                    let response = call(&client, method, path, body.as_ref()).await;
                    answers.push((response.0.status().as_u16(), json_of(response).await));
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("a racing request panicked"));
    }
    answers
}

fn millis(n: usize) -> Duration {
    Duration::from_millis(u64::try_from(n).unwrap())
}

/// After a race on `target` (a draft with lines `first` and `second` before it): the line
/// delete of `first` either happened or was refused because the order was confirmed, every
/// line add either created a line of `target` or was refused with `order_confirmed`, the
/// confirm succeeded, the stored lines are exactly those whose requests succeeded, and the
/// order's `total` — stored and as the confirm returned it — is the exact sum of those lines
/// (so no line came or went after the confirm). Returns (lines added, adds refused).
async fn check_race(
    admin: &TestClient<'_>,
    target: i64,
    (first, second): (i64, i64),
    adds: &[&(u16, Value)],
    confirm: &(u16, Value),
    delete: &(u16, Value),
    round: usize,
) -> (usize, usize) {
    let (status, confirmed) = confirm;
    assert_eq!(*status, 200, "round {round}: confirm: {confirmed}");
    assert_eq!(confirmed["status"], "confirmed", "round {round}");
    let mut expected = vec![second];
    match delete {
        (200, _) => {}
        (409, body) if body["code"] == "order_confirmed" => expected.push(first),
        other => panic!("round {round}: line delete answered {other:?}"),
    }
    let (mut added, mut refused_adds) = (0, 0);
    for (status, answer) in adds {
        match status {
            200 => {
                assert_eq!(answer["order_id"], target, "round {round}: {answer}");
                expected.push(id(answer));
                added += 1;
            }
            409 => {
                assert_eq!(answer["code"], "order_confirmed", "round {round}: {answer}");
                refused_adds += 1;
            }
            other => panic!("round {round}: line add answered {other}: {answer}"),
        }
    }
    expected.sort_unstable();
    let stored = lines(admin, target).await;
    assert_eq!(ids(&stored), expected, "round {round}: the lines are those whose requests succeeded");
    let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
    assert_eq!(current["status"], "confirmed");
    assert_eq!(dec(&current["total"]), sum_of_lines(&stored), "round {round}: total is not the sum of the lines");
    assert_eq!(dec(&confirmed["total"]), sum_of_lines(&stored), "round {round}: a line changed after the confirm");
    // Once settled, nothing changes any more.
    let product = stored["data"][0]["product_id"].as_i64().unwrap();
    refused(post_line(admin, target, product, 1).await, 409, "order_confirmed").await;
    refused(admin.delete(&format!("/order-lines/{second}")).send().await, 409, "order_confirmed").await;
    (added, refused_adds)
}

/// A customer with room for anything and three products.
async fn race_products(admin: &TestClient<'_>) -> (i64, Vec<i64>) {
    let acme = customer(admin, "acme", "100000000").await;
    let mut products = Vec::new();
    for (n, price) in ["0.10", "19.99", "7.77"].iter().enumerate() {
        products.push(id(&product(admin, &format!("RACE-{n}"), price).await));
    }
    (acme, products)
}

/// A draft order with two lines: `(order, (first line, second line))`.
async fn race_order(admin: &TestClient<'_>, acme: i64, products: &[i64]) -> (i64, (i64, i64)) {
    let target = id(&order(admin, acme).await);
    let first = id(&line(admin, target, products[0], 1).await);
    let second = id(&line(admin, target, products[1], 2).await);
    (target, (first, second))
}

/// `confirm` racing a client that keeps adding lines one after another and another that
/// deletes one: on SQLite writes serialise; on PostgreSQL the row lock the confirm and the line
/// hooks take on the order is what keeps the total exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn confirm_racing_line_changes_keeps_the_total_exact() {
    const ROUNDS: usize = 12;
    const ADDS: usize = 8;
    let app = Arc::new(app().await);
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = app.with_token(&token);
    let (acme, products) = race_products(&admin).await;
    let (mut added, mut refused_adds) = (0, 0);
    for round in 0..ROUNDS {
        let (target, (first, second)) = race_order(&admin, acme, &products).await;
        let adds = (0..ADDS)
            .map(|n| {
                let body = json!({"product_id": products[n % products.len()], "quantity": round * 10 + n + 1});
                ("POST", format!("/orders/{target}/lines/"), Some(body))
            })
            .collect();
        let answers = at_once(
            &app,
            &token,
            vec![
                Script { delay: Duration::ZERO, requests: adds },
                Script::one(millis(round % 6 * 2), "POST", format!("/orders/{target}/confirm"), None),
                Script::one(millis(round % 3), "DELETE", format!("/order-lines/{first}"), None),
            ],
        )
        .await;
        let adds: Vec<&(u16, Value)> = answers[0].iter().collect();
        // One client adding one line after another: once refused, always refused.
        let first_refused = adds.iter().position(|(status, _)| *status != 200).unwrap_or(ADDS);
        assert!(adds[first_refused..].iter().all(|(status, _)| *status == 409), "round {round}: {adds:?}");
        let (a, r) = check_race(&admin, target, (first, second), &adds, &answers[1][0], &answers[2][0], round).await;
        added += a;
        refused_adds += r;
    }
    eprintln!("racing lines: {added} added before the confirm, {refused_adds} refused after it");
    assert!(refused_adds > 0 && added > 0, "the confirm never landed between two line additions");
}

/// As above with several clients each adding one line at the same moment as the confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn confirm_racing_simultaneous_line_additions_keeps_the_total_exact() {
    const ROUNDS: usize = 8;
    const ADDERS: usize = 6;
    let app = Arc::new(app().await);
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = app.with_token(&token);
    let (acme, products) = race_products(&admin).await;
    let mut refused_adds = 0;
    for round in 0..ROUNDS {
        let (target, (first, second)) = race_order(&admin, acme, &products).await;
        let mut scripts: Vec<Script> = (0..ADDERS)
            .map(|n| {
                let body = json!({"product_id": products[n % products.len()], "quantity": round * 10 + n + 1});
                Script::one(millis(n % 3), "POST", format!("/orders/{target}/lines/"), Some(body))
            })
            .collect();
        scripts.push(Script::one(millis(round % 4), "POST", format!("/orders/{target}/confirm"), None));
        scripts.push(Script::one(millis(1), "DELETE", format!("/order-lines/{first}"), None));
        let answers = at_once(&app, &token, scripts).await;
        let adds: Vec<&(u16, Value)> = answers[..ADDERS].iter().map(|a| &a[0]).collect();
        let confirm = &answers[ADDERS][0];
        let delete = &answers[ADDERS + 1][0];
        refused_adds += check_race(&admin, target, (first, second), &adds, confirm, delete, round).await.1;
    }
    assert!(refused_adds > 0, "no line was ever refused: the confirm never won a race");
}

/// Lines added to one order at the same moment all count (the minimal form of the bug above).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_line_additions_to_one_order_all_count() {
    const ADDERS: usize = 8;
    let app = Arc::new(app().await);
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = app.with_token(&token);
    let (acme, products) = race_products(&admin).await;
    for round in 0..3 {
        let target = id(&order(&admin, acme).await);
        let scripts = (0..ADDERS)
            .map(|n| {
                let body = json!({"product_id": products[0], "quantity": n + 1});
                Script::one(Duration::ZERO, "POST", format!("/orders/{target}/lines/"), Some(body))
            })
            .collect();
        let answers = at_once(&app, &token, scripts).await;
        for answer in &answers {
            assert_eq!(answer[0].0, 200, "round {round}: {}", answer[0].1);
        }
        let stored = lines(&admin, target).await;
        assert_eq!(total(&stored), i64::try_from(ADDERS).unwrap());
        let current = ok(admin.get(&format!("/orders/{target}")).send().await).await;
        assert_eq!(dec(&current["total"]), d("3.6"), "round {round}: 0.10 × (1 + ... + 8)");
    }
}

// ---------------------------------------------------------------------------------------------
// Seed

#[tokio::test]
async fn seed_adds_products_and_orders_once() {
    let app = app().await;
    let server = kwik_server::app::build(app.state().clone());
    server.seed().await.expect("first seed");
    let admin = app.as_admin().await;
    let products = list(&admin, "/products/", &[("sorting", "sku"), ("limit", "1000")]).await;
    let seen: Vec<(String, Decimal, bool)> = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sku"].as_str().unwrap().to_owned(), dec(&p["unit_price"]), p["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("KB-01".to_owned(), d("49.90"), true),
            ("MS-02".to_owned(), d("19.99"), true),
            ("SC-27".to_owned(), d("229.00"), true)
        ]
    );
    let first_customers = ids(&list(&admin, "/customers/", &[("sorting", "id"), ("limit", "3")]).await);
    let orders = list(&admin, "/orders/", &[("sorting", "id"), ("limit", "1000")]).await;
    assert_eq!(total(&orders), 3, "{orders}");
    let mut totals = Vec::new();
    for (n, order) in orders["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(
            (order["status"].clone(), order["customer_id"].clone()),
            (json!("draft"), json!(first_customers[n]))
        );
        let order_lines = lines(&admin, id(order)).await;
        assert_eq!(total(&order_lines), i64::try_from(n).unwrap() + 1, "{order_lines}");
        assert_eq!(dec(&order["total"]), sum_of_lines(&order_lines));
        totals.push(dec(&order["total"]));
    }
    assert_eq!(totals, [d("49.90"), d("89.88"), d("776.88")]);
    let seeded = everything(&admin).await;
    let customers = total(&list(&admin, "/customers/", &[]).await);

    kwik_server::app::build(app.state().clone()).seed().await.expect("second seed");
    assert_eq!(everything(&admin).await, seeded, "a second seed changed products, orders or lines");
    assert_eq!(total(&list(&admin, "/customers/", &[]).await), customers);
    // The seeded orders are everyone's to read, no one's own.
    let world = Scenario::new().role("rep", REP).user("rep", &["rep"]).build(&app).await;
    assert_eq!(total(&list(&app.as_user(world.user("rep")), "/orders/", &[]).await), 0);
}

/// An order's delete (which locks the order, then cascades to its lines) racing deletes of its
/// lines: the lines lock their order first, so the writers queue instead of deadlocking. Every
/// answer is a 200, or a 404 for a line whose order went first; never a 409 from a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_order_racing_deletes_of_its_lines_never_deadlocks() {
    const ROUNDS: usize = 12;
    let app = Arc::new(app().await);
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin = app.with_token(&token);
    let (acme, products) = race_products(&admin).await;
    let mut orders_first = 0;
    for round in 0..ROUNDS {
        let (target, (first, second)) = race_order(&admin, acme, &products).await;
        let answers = at_once(
            &app,
            &token,
            vec![
                Script::one(millis(round % 3), "DELETE", format!("/orders/{target}"), None),
                Script::one(Duration::ZERO, "DELETE", format!("/order-lines/{first}"), None),
                Script::one(millis(round % 2), "DELETE", format!("/order-lines/{second}"), None),
            ],
        )
        .await;
        assert_eq!(answers[0][0].0, 200, "round {round}: order delete: {:?}", answers[0][0]);
        for (status, body) in [&answers[1][0], &answers[2][0]] {
            assert!(matches!(status, 200 | 404), "round {round}: line delete answered {status}: {body}");
            orders_first += usize::from(*status == 404);
        }
        let (status, _) = sent(admin.get(&format!("/orders/{target}")).send().await).await;
        assert_eq!(status, 404, "round {round}");
    }
    eprintln!("racing deletes: {orders_first} line deletes found their order gone");
}
