//! Request ids and the access log.

use poem::http::HeaderValue;

use crate::capture;
use crate::common::{ENABLED, answer, app, is_uuid};

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = app(&[]).await;
    let admin = app.as_admin().await;
    let mut answers = vec![
        ("200", answer(app.raw().get("/health/live").send().await).await),
        ("200 api", answer(admin.get("/users/me").send().await).await),
        ("404", answer(app.raw().get("/api/v1/nowhere").send().await).await),
        ("405", answer(app.raw().delete("/health/live").send().await).await),
        ("422", answer(admin.get("/users/not-a-number").send().await).await),
        ("401", answer(app.anonymous().get("/users/").send().await).await),
    ];
    let limited = self::app(&[ENABLED, ("KWIK_RATE_LIMIT_PER_MINUTE", "1")]).await;
    answer(limited.raw().get("/health/live").send().await).await;
    answers.push(("429", answer(limited.raw().get("/health/live").send().await).await));

    let expected = [200, 200, 404, 405, 422, 401, 429];
    for ((what, answer), status) in answers.iter().zip(expected) {
        assert_eq!(answer.status, status, "{what}: {}", answer.text);
        assert!(is_uuid(answer.request_id()), "{what}: a fresh UUID v4, got {:?}", answer.request_id());
    }
    let mut ids: Vec<&str> = answers.iter().map(|(_, a)| a.request_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), answers.len(), "every request gets its own id");
}

#[tokio::test]
async fn a_sane_incoming_request_id_is_echoed_and_an_insane_one_replaced() {
    let app = app(&[]).await;
    let max = "r".repeat(128);
    for sane in ["abc-123", "trace_ID.42:span/7+x=", "6f1c5d2e-0000-4000-8000-000000000000", max.as_str()] {
        let echoed = answer(app.raw().get("/health/live").header("x-request-id", sane).send().await).await;
        assert_eq!(echoed.request_id(), sane, "a sane id is kept");
        // Also on errors.
        let missing = answer(app.raw().get("/api/v1/nowhere").header("x-request-id", sane).send().await).await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.request_id(), sane);
    }

    let too_long = "r".repeat(129);
    let insane: Vec<HeaderValue> = vec![
        HeaderValue::from_str(&too_long).unwrap(),
        HeaderValue::from_static("tab\tinside"),
        HeaderValue::from_static("space inside"),
        HeaderValue::from_static(""),
        HeaderValue::from_bytes(b"caf\xc3\xa9-\xff").unwrap(),
        HeaderValue::from_str(&"x".repeat(64 * 1024)).unwrap(),
    ];
    for value in insane {
        let shown = String::from_utf8_lossy(value.as_bytes()).chars().take(40).collect::<String>();
        let replaced = answer(app.raw().get("/health/live").header("x-request-id", value.clone()).send().await).await;
        assert_eq!(replaced.status, 200);
        assert!(is_uuid(replaced.request_id()), "{shown:?} replaced by a UUID, got {:?}", replaced.request_id());
        assert_ne!(replaced.request_id().as_bytes(), value.as_bytes());
    }
    // Any visible ASCII is kept: in a header it is inert.
    let quoted = answer(app.raw().get("/health/live").header("x-request-id", "\"a\"").send().await).await;
    assert_eq!(quoted.request_id(), "\"a\"", "visible ASCII is accepted as is");
}

#[tokio::test]
async fn log_lines_of_a_request_carry_its_id_and_one_access_line_is_written() {
    let app = app(&[]).await;
    let capture = capture::Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let logged = answer(app.raw().get("/api/v1/probe/log").header("x-request-id", "trace-me-1").send().await).await;
    let missing = answer(app.raw().get("/api/v1/nowhere").send().await).await;
    drop(guard);
    assert_eq!(logged.status, 200, "{}", logged.text);
    assert_eq!(missing.status, 404);
    let lines = capture.lines();

    let handler = lines
        .iter()
        .find(|l| l.fields.get("marker").map(String::as_str) == Some("probe-handler"))
        .unwrap_or_else(|| panic!("no line from the handler in {lines:#?}"));
    assert_eq!(handler.spans.get("request_id").map(String::as_str), Some("trace-me-1"), "{handler:?}");

    let access = |request_id: &str| {
        let found: Vec<&capture::Line> = lines
            .iter()
            .filter(|l| l.fields.get("message").map(String::as_str) == Some("access"))
            .filter(|l| l.spans.get("request_id").map(String::as_str) == Some(request_id))
            .collect();
        assert_eq!(found.len(), 1, "one access line for {request_id}: {lines:#?}");
        found[0].clone()
    };
    let line = access("trace-me-1");
    assert_eq!(line.spans["method"], "GET");
    assert_eq!(line.spans["path"], "/api/v1/probe/log");
    assert_eq!(line.fields["status"], "200");
    let latency: f64 = line.fields["latency_ms"].parse().expect("latency in milliseconds");
    assert!(latency >= 0.0);

    let line = access(missing.request_id());
    assert_eq!(line.fields["status"], "404");
    assert_eq!(line.spans["path"], "/api/v1/nowhere");
}
