//! Helpers shared by the module tests: the server's own app on a fresh database, requests by
//! method name, and readers for bodies.

use chrono::{DateTime, Utc};
use kwik_testing::{TestApp, TestClient, json_of};
use poem::test::TestResponse;
use serde_json::Value;

/// The example server exactly as `kwik-server` composes it, on a fresh database of this run's
/// backend.
pub async fn app() -> TestApp {
    TestApp::new(kwik_server::app::build).await
}

/// Status and JSON body of a response.
pub async fn sent(response: TestResponse) -> (u16, Value) {
    let status = response.0.status().as_u16();
    (status, json_of(response).await)
}

/// The body of a response that must be a 200.
pub async fn ok(response: TestResponse) -> Value {
    let (status, body) = sent(response).await;
    assert_eq!(status, 200, "expected 200, got {status}: {body}");
    body
}

/// Sends `method path` (relative to the API prefix) with an optional JSON body.
pub async fn call(client: &TestClient<'_>, method: &str, path: &str, body: Option<&Value>) -> TestResponse {
    let request = match method {
        "GET" => client.get(path),
        "POST" => client.post(path),
        "PUT" => client.put(path),
        "DELETE" => client.delete(path),
        other => panic!("unsupported method {other}"),
    };
    match body {
        Some(body) => request.body_json(body).send().await,
        None => request.send().await,
    }
}

/// `POST /projects/` that must succeed; returns the project.
pub async fn create_project(client: &TestClient<'_>, body: &Value) -> Value {
    ok(client.post("/projects/").body_json(body).send().await).await
}

/// `POST /customers/` that must succeed; returns the customer.
pub async fn create_customer(client: &TestClient<'_>, body: &Value) -> Value {
    ok(client.post("/customers/").body_json(body).send().await).await
}

/// `GET <collection>` with these query parameters (repeatable), which must succeed; returns the page.
pub async fn list(client: &TestClient<'_>, collection: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = list_raw(client, collection, params).await;
    assert_eq!(status, 200, "GET {collection} {params:?}: expected 200, got {status}: {body}");
    body
}

/// `GET <collection>` with these query parameters; returns status and body.
pub async fn list_raw(client: &TestClient<'_>, collection: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client.get(collection);
    for (name, value) in params {
        request = request.query(*name, value);
    }
    sent(request.send().await).await
}

/// The `id` of an entity.
pub fn id(entity: &Value) -> i64 {
    entity["id"].as_i64().unwrap_or_else(|| panic!("no integer id in {entity}"))
}

/// The ids of a page's rows, in order.
pub fn ids(page: &Value) -> Vec<i64> {
    page["data"].as_array().unwrap_or_else(|| panic!("no data array in {page}")).iter().map(id).collect()
}

/// The `total` of a page.
pub fn total(page: &Value) -> i64 {
    page["total"].as_i64().unwrap_or_else(|| panic!("no integer total in {page}"))
}

/// A date-time field of an entity.
pub fn time(entity: &Value, field: &str) -> DateTime<Utc> {
    entity[field]
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .unwrap_or_else(|| panic!("{field} is not an RFC 3339 date-time in {entity}"))
        .with_timezone(&Utc)
}

/// Walks cursor pages (`cursor=` first, then each `next_cursor`) and returns every row's id in
/// order, checking that every page reports the same `total` and that no page is longer than
/// `limit`.
pub async fn walk_cursor(client: &TestClient<'_>, collection: &str, params: &[(&str, &str)], limit: usize) -> Vec<i64> {
    let limit_text = limit.to_string();
    let mut cursor = String::new();
    let mut seen = Vec::new();
    let mut expected_total = None;
    for _ in 0..1000 {
        let mut query: Vec<(&str, &str)> = params.to_vec();
        query.push(("limit", &limit_text));
        query.push(("cursor", &cursor));
        let page = list(client, collection, &query).await;
        let rows = ids(&page);
        assert!(rows.len() <= limit, "page longer than limit {limit}: {page}");
        let page_total = total(&page);
        assert_eq!(*expected_total.get_or_insert(page_total), page_total, "total changed between pages: {page}");
        seen.extend(rows);
        match page.get("next_cursor") {
            None | Some(Value::Null) => return seen,
            Some(next) => {
                next.as_str().unwrap_or_else(|| panic!("next_cursor is not a string: {page}")).clone_into(&mut cursor);
                assert!(!cursor.is_empty(), "empty next_cursor: {page}");
            }
        }
    }
    panic!("cursor pagination did not end after 1000 pages");
}
