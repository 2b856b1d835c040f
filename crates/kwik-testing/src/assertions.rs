//! Assertions on Kwik's error bodies that print the whole body when they fail.

use poem::test::TestResponse;
use serde_json::Value;

/// The response body as JSON (`Value::Null` when empty, a string when not JSON).
pub async fn json_of(response: TestResponse) -> Value {
    let text = response.0.into_body().into_string().await.unwrap_or_default();
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Asserts the status and Kwik's `{"detail": "<text>"}`; returns the body.
///
/// # Panics
/// When the status or the detail differ (the message shows the body).
pub async fn assert_detail(response: TestResponse, status: u16, detail: &str) -> Value {
    let actual = response.0.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(actual, status, "expected {status} {detail:?}, got {actual}: {body}");
    assert_eq!(body["detail"], detail, "expected detail {detail:?}: {body}");
    body
}

/// Asserts a 422 whose FastAPI-style `detail` list has an issue at `loc`
/// (e.g. `&["body", "email"]`); returns that issue.
///
/// # Panics
/// When the status is not 422 or no issue has that `loc` (the message shows the body).
pub async fn assert_validation(response: TestResponse, loc: &[&str]) -> Value {
    let actual = response.0.status().as_u16();
    let body = json_of(response).await;
    assert_eq!(actual, 422, "expected 422 at {loc:?}, got {actual}: {body}");
    let expected: Vec<Value> = loc.iter().map(|part| Value::from(*part)).collect();
    body["detail"]
        .as_array()
        .and_then(|issues| issues.iter().find(|issue| issue["loc"].as_array() == Some(&expected)))
        .cloned()
        .unwrap_or_else(|| panic!("no validation issue at {loc:?}: {body}"))
}

/// Polls `check` every 50 ms until it holds or `limit` has passed; returns whether it held
/// (checked once more at the deadline). For effects that happen in the background: a job
/// finishing, another instance seeing a change.
pub async fn eventually<F, Fut>(limit: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check().await
}
