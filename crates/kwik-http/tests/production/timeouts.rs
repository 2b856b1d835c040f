//! Request timeout, panics.

use std::time::Duration;

use serde_json::json;

use crate::common::{ENABLED, FORM, PANIC_SECRET, answer, app, raw_body, raw_exchange, raw_status, serve};

#[tokio::test]
async fn a_request_over_the_timeout_is_503_json() {
    let app = app(&[("KWIK_REQUEST_TIMEOUT", "0.2")]).await;
    let slow =
        tokio::time::timeout(Duration::from_secs(10), app.raw().get("/api/v1/probe/slow").query("ms", &2000).send())
            .await
            .expect("the timeout answers long before the handler would");
    let slow = answer(slow).await;
    assert_eq!(slow.status, 503, "{}", slow.text);
    assert_eq!(slow.header("content-type"), Some("application/json"));
    assert_eq!(slow.json(), json!({"detail": "Request timed out", "code": "service_unavailable"}));
    assert!(slow.retry_after() >= 1);

    let fast = answer(app.raw().get("/api/v1/probe/slow").query("ms", &0).send().await).await;
    assert_eq!(fast.status, 200);
    assert_eq!(fast.text, "done");
}

#[tokio::test]
async fn a_zero_timeout_means_no_timeout() {
    let app = app(&[("KWIK_REQUEST_TIMEOUT", "0")]).await;
    let slow = answer(app.raw().get("/api/v1/probe/slow").query("ms", &1000).send().await).await;
    assert_eq!(slow.status, 200, "{}", slow.text);
    assert_eq!(slow.text, "done");
}

#[tokio::test]
async fn a_slow_request_body_counts_against_the_timeout_over_a_real_socket() {
    // Rate limits on: the authentication routes read the body before the handler does.
    let served = serve(&[ENABLED, ("KWIK_REQUEST_TIMEOUT", "0.3")]).await;
    // The first two read the body in the rate limiter, the last one in the handler.
    for path in ["/api/v1/login/access-token", "/api/v1/login/password-recovery", "/api/v1/login/reset-password"] {
        let content_type = if path.ends_with("access-token") { FORM } else { "application/json" };
        // Announce 100 bytes, send 10, then stall (slowloris).
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: 100\r\n\
             Connection: close\r\n\r\nusername=a"
        );
        let response = raw_exchange(served.addr, request.as_bytes(), Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{path}: no answer within 10 s to a stalled body; the request timeout is 0.3 s"));
        assert_eq!(raw_status(&response), 503, "{path}: {response}");
        assert_eq!(raw_body(&response)["detail"], "Request timed out", "{path}");
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_json_that_leaks_nothing() {
    let app = app(&[]).await;
    let panicked = answer(app.raw().get("/api/v1/probe/panic").header("x-request-id", "panic-1").send().await).await;
    assert_eq!(panicked.status, 500);
    assert_eq!(panicked.header("content-type"), Some("application/json"));
    assert_eq!(panicked.json(), json!({"detail": "Internal server error", "code": "internal_error"}));
    assert!(!panicked.text.contains(PANIC_SECRET) && !panicked.text.contains("passw"), "{}", panicked.text);
    assert_eq!(panicked.request_id(), "panic-1");
    for (name, value) in &panicked.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        assert!(!value.contains(PANIC_SECRET) && !value.contains("password"), "header {name} leaks: {value}");
    }
    // The server lives on.
    let after = answer(app.raw().get("/health/ready").send().await).await;
    assert_eq!(after.status, 200);
}
