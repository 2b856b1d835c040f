//! Security headers, HSTS.

use crate::common::{API_CSP, HSTS, answer, app, serve};

#[tokio::test]
async fn api_answers_get_the_strict_security_headers_and_docs_the_relaxed_csp() {
    let app = app(&[]).await;
    let admin = app.as_admin().await;
    let api = [
        answer(app.raw().get("/health/live").send().await).await,
        answer(app.raw().get("/api/v1/openapi.json").send().await).await,
        answer(admin.get("/users/").send().await).await,
        answer(app.anonymous().get("/users/").send().await).await,
        answer(app.raw().get("/api/v1/nowhere").send().await).await,
        // Look-alikes of the docs paths are API paths.
        answer(app.raw().get("/docsx").send().await).await,
        answer(app.raw().get("/api/v1/docs").send().await).await,
    ];
    for answer in &api {
        assert_eq!(answer.header("content-security-policy"), Some(API_CSP), "{answer:?}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(answer.header("x-frame-options"), Some("DENY"));
        assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(answer.header("strict-transport-security"), None, "no HSTS over plain HTTP");
    }
    assert_eq!(api[2].status, 200);

    for page in ["/docs", "/scalar", "/redoc"] {
        let docs = answer(app.raw().get(page).send().await).await;
        assert_eq!(docs.status, 200, "{page}");
        assert!(docs.text.contains("<html") || docs.text.contains("<!DOCTYPE"), "{page} is an HTML page");
        let csp = docs.header("content-security-policy").expect("CSP");
        assert_ne!(csp, API_CSP, "{page}: the docs UI needs scripts and styles");
        assert!(csp.contains("script-src 'self' 'unsafe-inline'"), "{page}: {csp}");
        assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{page}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{page}: still not frameable: {csp}");
        assert!(!csp.contains("default-src *") && !csp.contains("script-src *"), "{page}: {csp}");
        assert_eq!(docs.header("x-frame-options"), Some("DENY"), "{page}");
        assert_eq!(docs.header("x-content-type-options"), Some("nosniff"), "{page}");
    }
}

#[tokio::test]
async fn hsts_is_sent_when_served_over_https() {
    let https = app(&[("KWIK_PROTOCOL", "https")]).await;
    for path in ["/health/live", "/api/v1/nowhere", "/docs"] {
        let answer = answer(https.raw().get(path).send().await).await;
        assert_eq!(answer.header("strict-transport-security"), Some(HSTS), "{path}");
    }
    // Plain HTTP: never, even when a client claims a TLS proxy (the in-process client has no
    // address, so it cannot be a trusted proxy).
    let plain = app(&[("KWIK_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let claimed = answer(plain.raw().get("/health/live").header("x-forwarded-proto", "https").send().await).await;
    assert_eq!(claimed.header("strict-transport-security"), None);
}

#[tokio::test]
async fn hsts_from_a_trusted_tls_proxy_only_over_a_real_socket() {
    let behind_proxy = serve(&[("KWIK_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let tls = behind_proxy.get("/health/live", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(tls.header("strict-transport-security"), Some(HSTS));
    let upper = behind_proxy.get("/api/v1/nowhere", &[("x-forwarded-proto", "HTTPS")]).await;
    assert_eq!(upper.status, 404);
    assert_eq!(upper.header("strict-transport-security"), Some(HSTS));
    let plain = behind_proxy.get("/health/live", &[("x-forwarded-proto", "http")]).await;
    assert_eq!(plain.header("strict-transport-security"), None);
    let none = behind_proxy.get("/health/live", &[]).await;
    assert_eq!(none.header("strict-transport-security"), None);

    // The same header from a peer that is not a trusted proxy is not believed.
    let direct = serve(&[]).await;
    let spoofed = direct.get("/health/live", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(spoofed.status, 200);
    assert_eq!(spoofed.header("strict-transport-security"), None);
    let other_proxy = serve(&[("KWIK_TRUSTED_PROXIES", "10.0.0.2")]).await;
    let spoofed = other_proxy.get("/health/live", &[("x-forwarded-proto", "https")]).await;
    assert_eq!(spoofed.header("strict-transport-security"), None);
}
