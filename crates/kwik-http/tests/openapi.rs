//! The served OpenAPI document describes what the server does (issue 11 §6): nullable optional
//! fields, typed list parameters with bounds, an optional `filter`, an OAuth2 flow with its
//! `scopes` map, and 405 with `Allow` for methods a route does not declare; object payloads are
//! objects.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failures should panic

use kwik_http::App;
use kwik_http::builtin::Builtin;
use kwik_testing::TestApp;
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::new(|state| App::new(state).module(Builtin)).await
}

async fn served_spec(app: &TestApp) -> Value {
    let response = app.raw().get(format!("{}/openapi.json", app.prefix())).send().await;
    response.assert_status_is_ok();
    serde_json::from_str(&response.0.into_body().into_string().await.unwrap()).unwrap()
}

fn list_param<'a>(spec: &'a Value, path: &str, name: &str) -> &'a Value {
    spec["paths"][path]["get"]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no parameter {name} on GET {path}"))
}

#[tokio::test]
async fn optional_response_fields_are_nullable() {
    let app = app().await;
    let spec = served_spec(&app).await;
    let key = &spec["components"]["schemas"]["ApiKeyProfile"]["properties"];
    for field in ["expires_at", "last_used_at", "revoked_at"] {
        assert_eq!(key[field]["nullable"], true, "ApiKeyProfile.{field}: {}", key[field]);
    }
    // Required fields stay non-nullable.
    assert!(key["id"].get("nullable").is_none(), "{}", key["id"]);
    // The YAML form is the same document.
    let yaml = app.raw().get(format!("{}/openapi.yaml", app.prefix())).send().await;
    yaml.assert_status_is_ok();
    let yaml = yaml.0.into_body().into_string().await.unwrap();
    assert!(yaml.contains("nullable: true"), "{yaml}");
}

#[tokio::test]
async fn list_parameters_have_their_real_types_and_filter_is_optional() {
    let app = app().await;
    let spec = served_spec(&app).await;
    for path in ["/users/", "/roles/", "/permissions/"] {
        let skip = list_param(&spec, path, "skip");
        assert_eq!(skip["schema"]["type"], "integer", "{path} skip: {skip}");
        assert_eq!(skip["schema"]["minimum"], json!(0.0), "{path} skip: {skip}");
        assert_eq!(skip["required"], false);
        let limit = list_param(&spec, path, "limit");
        assert_eq!(limit["schema"]["type"], "integer", "{path} limit: {limit}");
        assert_eq!(limit["schema"]["maximum"], json!(1000.0), "{path} limit: {limit}");
        let sorting = list_param(&spec, path, "sorting");
        assert!(sorting["schema"]["pattern"].is_string(), "{path} sorting: {sorting}");
        let filter = list_param(&spec, path, "filter");
        assert_eq!(filter["required"], false, "{path} filter: {filter}");
        assert_eq!(filter["schema"]["type"], "array");
        let pattern = filter["schema"]["items"]["pattern"].as_str().unwrap_or_default();
        assert!(pattern.contains("icontains"), "{path} filter: {filter}");
    }
}

#[tokio::test]
async fn lenient_list_parameters_keep_kwiks_error_texts() {
    let app = app().await;
    let admin = app.as_admin().await;
    let response = admin.get("/users/?skip=abc&limit=-1").send().await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.json().await;
    let detail = body.value().object().get("detail").array();
    detail
        .get(0)
        .object()
        .get("msg")
        .assert_string("Input should be a valid integer, unable to parse string as an integer");
    detail.get(1).object().get("msg").assert_string("Input should be greater than or equal to 0");
    let ok = admin.get("/users/?skip=0&limit=5&sorting=id:desc&filter=is_active:eq:true&filter=id:gt:0").send().await;
    ok.assert_status_is_ok();
}

#[tokio::test]
async fn oauth2_password_flow_declares_its_scopes_map() {
    let app = app().await;
    let spec = served_spec(&app).await;
    let flow = &spec["components"]["securitySchemes"]["OAuth2"]["flows"]["password"];
    assert_eq!(flow["scopes"], json!({}), "{flow}");
    assert_eq!(flow["tokenUrl"], "/api/v1/login/access-token");
}

#[tokio::test]
async fn undeclared_methods_get_405_with_allow() {
    let app = app().await;
    let spec = served_spec(&app).await;
    for (path, template) in [("/users/", "/users/"), ("/users/me", "/users/me"), ("/users/7", "/users/{user_id}")] {
        let response = app.raw().request(Method::TRACE, format!("{}{path}", app.prefix())).send().await;
        response.assert_status(StatusCode::METHOD_NOT_ALLOWED);
        let mut declared: Vec<String> =
            spec["paths"][template].as_object().expect("path in spec").keys().map(|m| m.to_uppercase()).collect();
        let allow = response.0.headers().get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let mut allowed: Vec<String> = allow.split(", ").map(str::to_owned).collect();
        declared.sort();
        allowed.sort();
        assert_eq!(allowed, declared, "TRACE {path}: Allow {allow:?}");
        let body: Value = serde_json::from_str(&response.0.into_body().into_string().await.unwrap()).unwrap();
        assert_eq!(body["detail"], "Method Not Allowed");
    }
}

#[tokio::test]
async fn a_json_array_is_not_an_object_payload() {
    let app = app().await;
    let admin = app.as_admin().await;
    // serde would read a struct from an array; pydantic (Kwik) refuses it, and so does the spec.
    let response = admin.put("/roles/1").body_json(&json!([null, null])).send().await;
    response.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.json().await;
    let issue = body.value().object().get("detail").array().get(0).object();
    issue.get("type").assert_string("model_attributes_type");
    issue.get("msg").assert_string("Input should be a valid dictionary or object to extract fields from");
}
