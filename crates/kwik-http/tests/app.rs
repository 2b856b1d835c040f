//! The app shell over HTTP on the backend of this run (SQLite or PostgreSQL): health checks,
//! docs and spec, Kwik's JSON error shape, body limits, graceful shutdown over a real socket.

#![allow(clippy::expect_used)] // a test: failures should panic.

use std::time::Duration;

use kwik_core::{Settings, ValidationIssue};
use kwik_http::{App, AppState, JsonBody, Module, Validate};
use kwik_testing::TestDatabase;
use poem::http::StatusCode;
use poem::test::TestClient;
use poem_openapi::payload::PlainText;
use poem_openapi::{Object, OpenApi};
use serde_json::json;

#[derive(Debug, Object, serde::Deserialize)]
struct Greeting {
    name: String,
    times: Option<u32>,
}

impl Validate for Greeting {
    fn validate(&self, _rules: &kwik_http::Rules) -> Vec<ValidationIssue> {
        if self.name.trim().is_empty() {
            vec![ValidationIssue::new("string_too_short", &["body", "name"], "String should have at least 1 character")]
        } else {
            Vec::new()
        }
    }
}

#[derive(Clone)]
struct EchoApi;

/// poem-openapi strips a trailing slash from `path`, but keeps the one of `prefix_path`: Kwik's
/// collection routes (`/greetings/`) are written as `prefix_path = "/greetings/"` + `path = "/"`.
#[OpenApi(prefix_path = "/greetings/")]
impl EchoApi {
    /// Echoes a greeting.
    #[oai(path = "/", method = "post")]
    async fn greet(&self, body: JsonBody<Greeting>) -> kwik_http::ApiResult<PlainText<String>> {
        Ok(PlainText(format!("hello {} x{}", body.name, body.times.unwrap_or(1))))
    }

    /// Answers after a delay given in milliseconds.
    #[oai(path = "/slow", method = "get")]
    async fn slow(&self, ms: poem_openapi::param::Query<u64>) -> PlainText<&'static str> {
        tokio::time::sleep(Duration::from_millis(ms.0)).await;
        PlainText("done")
    }
}

struct Echo;

impl Module for Echo {
    type Api = EchoApi;
    fn name(&self) -> &'static str {
        "echo"
    }
    fn api(&self) -> EchoApi {
        EchoApi
    }
}

async fn app_with(vars: &[(&str, &str)]) -> (App<(kwik_http::NoApi, EchoApi)>, TestDatabase) {
    let database = TestDatabase::new().await;
    let mut all = vec![("KWIK_DATABASE_URL", database.url().to_owned())];
    all.extend(vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let settings = Settings::from_vars(all).expect("valid settings");
    let db = database.connect().await;
    let app = App::new(AppState::new(settings, db).expect("state")).module(Echo);
    app.prepare().await.expect("prepare");
    (app, database)
}

#[tokio::test]
async fn health_endpoints_answer() {
    let (app, _db) = app_with(&[]).await;
    let client = TestClient::new(app.endpoint());
    let live = client.get("/health/live").send().await;
    live.assert_status_is_ok();
    live.assert_json(json!({"status": "ok"})).await;
    let ready = client.get("/health/ready").send().await;
    ready.assert_status_is_ok();
    ready.assert_json(json!({"status": "ok", "database": "ok", "jobs": {"workers": "off"}})).await;
    let workers = app.start_workers();
    let ready = client.get("/health/ready").send().await;
    let body: serde_json::Value = serde_json::from_str(&ready.0.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["jobs"]["kinds"], 0, "this app declares no jobs: {body}");
    workers.shutdown(std::time::Duration::from_secs(1)).await;
}

#[tokio::test]
async fn readiness_is_503_json_when_the_database_is_gone() {
    let (app, _db) = app_with(&[]).await;
    app.state().db.close().await;
    let client = TestClient::new(app.endpoint());
    let ready = client.get("/health/ready").send().await;
    ready.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    ready.assert_header("retry-after", "1");
    let body = ready.json().await;
    body.value().object().get("status").assert_string("unavailable");
    body.value().object().get("code").assert_string("service_unavailable");
}

#[tokio::test]
async fn spec_and_docs_are_served() {
    let (app, _db) = app_with(&[("KWIK_PROJECT_NAME", "demo")]).await;
    let client = TestClient::new(app.endpoint());
    let spec = client.get("/api/v1/openapi.json").send().await;
    spec.assert_status_is_ok();
    let spec_text = spec.0.into_body().into_string().await.unwrap();
    let spec: serde_json::Value = serde_json::from_str(&spec_text).unwrap();
    assert_eq!(spec["info"]["title"], "demo");
    assert_eq!(spec["servers"][0]["url"], "/api/v1");
    assert!(spec["paths"]["/greetings/"]["post"].is_object(), "{spec}");
    assert!(spec["components"]["schemas"]["KwikError"].is_object());

    let yaml = client.get("/api/v1/openapi.yaml").send().await;
    yaml.assert_status_is_ok();
    assert!(yaml.0.into_body().into_string().await.unwrap().contains("openapi:"));
    for page in ["/docs", "/scalar", "/redoc"] {
        let html = client.get(page).send().await;
        html.assert_status_is_ok();
        let text = html.0.into_body().into_string().await.unwrap();
        assert!(text.contains("<html") || text.contains("<!DOCTYPE"), "{page} is not an HTML page");
        // The page embeds the finished document, the one `openapi.json` serves; built once.
        assert!(text.contains(&spec_text), "{page} embeds the finished document");
        let again = client.get(format!("{page}/")).send().await.0.into_body().into_string().await.unwrap();
        assert_eq!(again, text);
        client.get(format!("{page}/nothing-here")).send().await.assert_status(StatusCode::NOT_FOUND);
    }
    // Swagger UI's OAuth2 redirect target (its Authorize dialog) is served too.
    let receiver = client.get("/docs/oauth-receiver.html").send().await;
    receiver.assert_status_is_ok();
    assert!(receiver.0.into_body().into_string().await.unwrap().contains("oauth2"));
}

#[tokio::test]
async fn api_prefix_follows_settings() {
    let (app, _db) = app_with(&[("KWIK_API_V1_STR", "/v2")]).await;
    let client = TestClient::new(app.endpoint());
    client.get("/v2/openapi.json").send().await.assert_status_is_ok();
    client.get("/api/v1/openapi.json").send().await.assert_status(StatusCode::NOT_FOUND);
    let ok = client.post("/v2/greetings/").body_json(&json!({"name": "x"})).send().await;
    ok.assert_status_is_ok();
}

#[tokio::test]
async fn unknown_route_and_wrong_method_are_kwik_json() {
    let (app, _db) = app_with(&[]).await;
    let client = TestClient::new(app.endpoint());
    let missing = client.get("/api/v1/nowhere").send().await;
    missing.assert_status(StatusCode::NOT_FOUND);
    missing.assert_content_type("application/json");
    missing.assert_json(json!({"detail": "Not Found", "code": "not_found"})).await;
    // Kwik keeps trailing slashes significant (redirect_slashes=False).
    client.post("/api/v1/greetings").body_json(&json!({"name": "x"})).send().await.assert_status(StatusCode::NOT_FOUND);

    let wrong = client.delete("/api/v1/greetings/").send().await;
    wrong.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    wrong.assert_json(json!({"detail": "Method Not Allowed", "code": "method_not_allowed"})).await;
}

#[tokio::test]
async fn bad_bodies_are_fastapi_422_lists() {
    let (app, _db) = app_with(&[]).await;
    let client = TestClient::new(app.endpoint());

    let ok =
        client.post("/api/v1/greetings/").body_json(&json!({"name": "Ada", "times": 2, "extra": true})).send().await;
    ok.assert_status_is_ok();
    ok.assert_text("hello Ada x2").await;

    let malformed = client.post("/api/v1/greetings/").content_type("application/json").body("{\"name\": ").send().await;
    malformed.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&malformed.0.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["code"], "validation_error");
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["loc"][0], "body");

    let cases = [
        (json!({}), json!(["body", "name"]), "missing"),
        (json!({"name": 5}), json!(["body", "name"]), "type_error"),
        (json!({"name": "x", "times": -1}), json!(["body", "times"]), "value_error"),
        (json!({"name": "  "}), json!(["body", "name"]), "string_too_short"),
    ];
    for (input, loc, kind) in cases {
        let resp = client.post("/api/v1/greetings/").body_json(&input).send().await;
        resp.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = serde_json::from_str(&resp.0.into_body().into_string().await.unwrap()).unwrap();
        assert_eq!(body["detail"][0]["loc"], loc, "{input} → {body}");
        assert_eq!(body["detail"][0]["type"], kind, "{input} → {body}");
    }

    let wrong_type = client.post("/api/v1/greetings/").content_type("text/plain").body("name=x").send().await;
    wrong_type.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&wrong_type.0.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["body"]));

    let bad_query = client.get("/api/v1/greetings/slow").query("ms", &"soon").send().await;
    bad_query.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&bad_query.0.into_body().into_string().await.unwrap()).unwrap();
    assert_eq!(body["detail"][0]["loc"], json!(["query", "ms"]));
}

#[tokio::test]
async fn oversize_bodies_are_413_json() {
    let (app, _db) = app_with(&[("KWIK_MAX_BODY_BYTES", "1024")]).await;
    let client = TestClient::new(app.endpoint());
    let big = json!({"name": "x".repeat(2000)});
    let resp = client.post("/api/v1/greetings/").body_json(&big).send().await;
    resp.assert_status(StatusCode::PAYLOAD_TOO_LARGE);
    resp.assert_json(json!({"detail": "Request body too large (limit 1024 bytes)", "code": "payload_too_large"})).await;

    let chunked = poem::Body::from_bytes_stream(futures_util::stream::iter(
        (0..4).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 512]))),
    ));
    let resp = client
        .post("/api/v1/greetings/")
        .content_type("application/json")
        .header("transfer-encoding", "chunked")
        .body(chunked)
        .send()
        .await;
    let status = resp.0.status();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
}

/// Over a real socket: requests in flight when shutdown starts still complete, then the server
/// stops and the pool is closed.
#[tokio::test]
async fn graceful_shutdown_over_a_real_socket() {
    let (app, _db) = app_with(&[("KWIK_BACKEND_PORT", "0"), ("KWIK_BACKEND_GRACEFUL_TIMEOUT", "5")]).await;
    let acceptor = app.bind().await.expect("bind");
    let addr = kwik_http::local_addr(&acceptor).expect("address");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let db = app.state().db.clone();
    let server = tokio::spawn(async move {
        app.serve(acceptor, async {
            let _ = stop_rx.await;
        })
        .await
    });

    let http = reqwest::Client::new();
    let ready = http.get(format!("http://{addr}/health/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200);

    let in_flight = tokio::spawn({
        let http = http.clone();
        async move { http.get(format!("http://{addr}/api/v1/greetings/slow?ms=700")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop_tx.send(()).expect("signal");

    let response = in_flight.await.expect("join").expect("in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "done");

    tokio::time::timeout(Duration::from_secs(10), server).await.expect("server stops").expect("join").expect("serve");
    assert!(http.get(format!("http://{addr}/health/live")).send().await.is_err(), "no longer listening");
    assert!(db.ping().await.is_err(), "pool closed after shutdown");
}

#[tokio::test]
async fn metrics_are_off_by_default_and_protected_when_on() {
    let (app, _db) = app_with(&[]).await;
    let client = TestClient::new(app.endpoint());
    client.get("/metrics").send().await.assert_status(StatusCode::NOT_FOUND);

    let token = "metrics-token-0123456789";
    let (app, _db) = app_with(&[("KWIK_METRICS_TOKEN", token)]).await;
    let client = TestClient::new(app.endpoint());
    client.post("/api/v1/greetings/").body_json(&json!({"name": "x"})).send().await.assert_status_is_ok();
    client.get("/api/v1/greetings/slow").query("ms", &1).send().await.assert_status_is_ok();
    client.get("/api/v1/nowhere/123").send().await.assert_status(StatusCode::NOT_FOUND);

    let anonymous = client.get("/metrics").send().await;
    anonymous.assert_status(StatusCode::UNAUTHORIZED);
    let wrong = client.get("/metrics").header("Authorization", "Bearer metrics-token-0123456788").send().await;
    wrong.assert_status(StatusCode::UNAUTHORIZED);

    let scrape = client.get("/metrics").header("Authorization", format!("Bearer {token}")).send().await;
    scrape.assert_status_is_ok();
    let text = scrape.0.into_body().into_string().await.unwrap();
    assert!(
        text.contains(r#"kwik_http_requests_total{method="POST",route="/api/v1/greetings/",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains("kwik_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains(r#"kwik_db_pool_connections{state="idle"}"#), "{text}");
    assert!(text.contains(r#"kwik_principal_cache_lookups_total{result="hit"}"#), "{text}");
    assert!(text.contains("kwik_principal_cache_live "), "{text}");
    assert!(!text.contains(token), "the token never appears in the output");
}
