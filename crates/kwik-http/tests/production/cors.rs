//! CORS.

use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

use crate::common::{Answer, ENABLED, answer, answer_http, app, is_uuid, serve};

const ORIGIN: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str) -> Answer {
    answer(
        app.raw()
            .options("/api/v1/users/")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await,
    )
    .await
}

#[tokio::test]
async fn cors_allows_the_configured_origin_with_credentials() {
    let app = app(&[("KWIK_BACKEND_CORS_ORIGINS", ORIGIN)]).await;
    let allowed = preflight(&app, ORIGIN).await;
    assert_eq!(allowed.status, 200, "{allowed:?}");
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(allowed.header("access-control-allow-credentials"), Some("true"));
    let methods = allowed.header("access-control-allow-methods").expect("allowed methods");
    assert!(methods.contains("GET") && methods.contains("DELETE"), "{methods}");
    let headers = allowed.header("access-control-allow-headers").expect("allowed headers").to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");

    // The actual request from that origin carries the allow headers too.
    let admin_token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let actual = answer(
        app.raw()
            .get("/api/v1/users/me")
            .header("origin", ORIGIN)
            .header("authorization", format!("Bearer {admin_token}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(actual.status, 200, "{}", actual.text);
    assert_eq!(actual.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(actual.header("access-control-allow-credentials"), Some("true"));

    // Another origin, or a look-alike, is not allowed.
    for other in ["https://evil.example.com", "http://app.example.com", "https://app.example.com.evil.net", "null"] {
        let refused = preflight(&app, other).await;
        assert_eq!(refused.header("access-control-allow-origin"), None, "{other}: {refused:?}");
        assert_eq!(refused.header("access-control-allow-credentials"), None, "{other}");
        refused.assert_client_error(other);
        let simple = answer(app.raw().get("/health/live").header("origin", other).send().await).await;
        assert_eq!(simple.header("access-control-allow-origin"), None, "{other}: {simple:?}");
    }
}

#[tokio::test]
async fn refusals_carry_cors_headers_and_expose_retry_after_and_the_request_id() {
    let app = app(&[ENABLED, ("KWIK_RATE_LIMIT_PER_MINUTE", "1"), ("KWIK_BACKEND_CORS_ORIGINS", ORIGIN)]).await;
    let from_origin = || async { answer(app.raw().get("/health/live").header("origin", ORIGIN).send().await).await };
    let first = from_origin().await;
    assert_eq!(first.status, 200);
    let refused = from_origin().await;
    refused.assert_too_many("second request");
    // Without these a browser sees an opaque network error instead of the 429.
    assert_eq!(refused.header("access-control-allow-origin"), Some(ORIGIN), "{refused:?}");
    assert_eq!(refused.header("access-control-allow-credentials"), Some("true"));
    let exposed = refused.header("access-control-expose-headers").expect("exposed headers").to_ascii_lowercase();
    assert!(exposed.contains("retry-after") && exposed.contains("x-request-id"), "{exposed}");
    assert!(is_uuid(refused.request_id()));
}

#[tokio::test]
async fn without_cors_origins_there_are_no_cors_headers_at_all() {
    let app = app(&[]).await;
    let answers = [
        preflight(&app, ORIGIN).await,
        answer(app.raw().get("/health/live").header("origin", ORIGIN).send().await).await,
        answer(app.anonymous().get("/users/").header("origin", ORIGIN).send().await).await,
    ];
    for answer in &answers {
        let cors: Vec<&str> = answer
            .headers
            .keys()
            .map(poem::http::HeaderName::as_str)
            .filter(|h| h.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "no CORS headers expected, got {cors:?} on {answer:?}");
    }
    assert_ne!(answers[0].status, 200, "a preflight is not answered as CORS");
    assert_eq!(answers[1].status, 200);
}

/// `*` with credentials would echo every origin with `Access-Control-Allow-Credentials: true`,
/// letting any site call the API with a user's credentials (issue 11): start-up refuses it,
/// naming both variables. `*` without credentials answers any origin, never with credentials.
#[tokio::test]
async fn any_origin_is_served_only_without_credentials() {
    let refused = kwik_core::Settings::from_vars([("KWIK_BACKEND_CORS_ORIGINS", "*")]).expect_err("refused");
    let message = refused.to_string();
    assert!(
        message.contains("KWIK_BACKEND_CORS_ORIGINS") && message.contains("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS"),
        "{message}"
    );

    let served = serve(&[("KWIK_BACKEND_CORS_ORIGINS", "*"), ("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS", "false")]).await;
    let anywhere = "https://anywhere.example.net";
    let preflight = served
        .http
        .request(reqwest::Method::OPTIONS, served.url("/api/v1/users/"))
        .header("origin", anywhere)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("the server answers");
    let preflight = answer_http(preflight).await;
    assert_eq!(preflight.status, 200, "{preflight:?}");
    assert_eq!(preflight.header("access-control-allow-origin"), Some(anywhere));
    assert_eq!(preflight.header("access-control-allow-credentials"), None, "{preflight:?}");
    let simple = served.get("/health/live", &[("origin", anywhere)]).await;
    assert_eq!(simple.status, 200);
    assert_eq!(simple.header("access-control-allow-origin"), Some(anywhere));
    assert_eq!(simple.header("access-control-allow-credentials"), None, "{simple:?}");

    // Listed origins may go without credentials too.
    let listed =
        serve(&[("KWIK_BACKEND_CORS_ORIGINS", ORIGIN), ("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS", "false")]).await;
    let answer = listed.get("/health/live", &[("origin", ORIGIN)]).await;
    assert_eq!(answer.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(answer.header("access-control-allow-credentials"), None);
}
