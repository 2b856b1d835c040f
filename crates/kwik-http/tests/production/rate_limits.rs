//! Rate limits, in process and over a real socket (client addresses, trusted proxies), counted
//! in process memory and in Redis.

use kwik_testing::{ADMIN_EMAIL, ADMIN_PASSWORD};
use rstest::rstest;
use serde_json::json;

use crate::common::{
    ENABLED, FORM, HSTS, Storage, answer, answer_http, app, form, is_uuid, limited_app, limited_serve, login_attempt,
    recovery_attempt, refresh_attempt, serve,
};

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn the_fourth_login_attempt_is_429_for_the_account_and_the_client(#[case] storage: Storage) {
    let Some(app) = limited_app(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await else { return };
    for attempt in 1..=3 {
        let failed = login_attempt(&app, ADMIN_EMAIL, "wrong-password").await;
        assert_eq!(failed.status, 401, "attempt {attempt}: {}", failed.text);
    }
    // The fourth attempt is refused before the password is even looked at: the right one too.
    let fourth = login_attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    fourth.assert_too_many("fourth login");
    assert!(is_uuid(fourth.request_id()));
    let again = login_attempt(&app, ADMIN_EMAIL, "wrong-password").await;
    again.assert_too_many("fifth login");

    // A different account from the same client is refused too. What we observe: the in-process
    // client has no address, so every request here is the same client; the per-client
    // authentication bucket (3 a minute, the same setting as the per-account one) was emptied by
    // the three attempts on the admin, and it is checked before the per-account bucket. So the
    // first attempt on a fresh account is already 429, whatever the account.
    let other = login_attempt(&app, "someone.else@example.com", "whatever-password").await;
    other.assert_too_many("another account, same client");
    let recovery = recovery_attempt(&app, "someone.else@example.com").await;
    recovery.assert_too_many("recovery shares the client's authentication bucket");

    // Only the authentication routes are limited this strictly.
    let live = answer(app.raw().get("/health/live").send().await).await;
    assert_eq!(live.status, 200);
    let test_token = answer(app.anonymous().post("/login/test-token").send().await).await;
    assert_eq!(test_token.status, 401, "not an authentication attempt: {}", test_token.text);
    let reset = answer(
        app.anonymous()
            .post("/login/reset-password")
            .body_json(&json!({"token": "x", "password": "new-password-123"}))
            .send()
            .await,
    )
    .await;
    assert_eq!(reset.status, 400, "{}", reset.text);
    // Other methods on the login path are not attempts either.
    let get = answer(app.anonymous().get("/login/access-token").send().await).await;
    assert_eq!(get.status, 405, "{}", get.text);
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn refresh_attempts_are_limited(#[case] storage: Storage) {
    let Some(app) = limited_app(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await else { return };
    for attempt in 1..=3 {
        let refused = refresh_attempt(&app, "not-a-refresh-token").await;
        assert_eq!(refused.status, 400, "attempt {attempt}: {}", refused.text);
        assert_eq!(refused.json()["detail"], "Invalid token");
    }
    refresh_attempt(&app, "not-a-refresh-token").await.assert_too_many("fourth refresh");
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn password_recovery_attempts_are_limited(#[case] storage: Storage) {
    let Some(app) = limited_app(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await else { return };
    for attempt in 1..=3 {
        let accepted = recovery_attempt(&app, "nobody@example.com").await;
        assert_eq!(accepted.status, 200, "attempt {attempt}: {}", accepted.text);
    }
    recovery_attempt(&app, "nobody@example.com").await.assert_too_many("fourth recovery");
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn the_general_limit_covers_every_route_per_client(#[case] storage: Storage) {
    let Some(app) = limited_app(storage, &[("KWIK_RATE_LIMIT_PER_MINUTE", "5")]).await else { return };
    // Five requests on different routes, whatever their answer, use up the client's minute.
    let statuses = [
        answer(app.raw().get("/health/live").send().await).await.status,
        answer(app.raw().get("/api/v1/openapi.json").send().await).await.status,
        answer(app.anonymous().get("/users/").send().await).await.status,
        answer(app.raw().get("/api/v1/nowhere").send().await).await.status,
        answer(app.raw().get("/docs").send().await).await.status,
    ];
    assert_eq!(statuses, [200, 200, 401, 404, 200]);
    let limited = [
        answer(app.raw().get("/health/live").send().await).await,
        answer(app.raw().get("/health/ready").send().await).await,
        answer(app.raw().get("/api/v1/openapi.json").send().await).await,
        answer(app.anonymous().get("/users/").send().await).await,
        answer(app.raw().get("/api/v1/nowhere").send().await).await,
        answer(app.raw().get("/docs").send().await).await,
        login_attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await,
    ];
    for (i, answer) in limited.iter().enumerate() {
        answer.assert_too_many(&format!("request {} over the general limit", i + 6));
    }
}

#[tokio::test]
async fn rate_limits_can_be_turned_off() {
    let app = app(&[
        ("KWIK_RATE_LIMIT_ENABLED", "false"),
        ("KWIK_RATE_LIMIT_PER_MINUTE", "1"),
        ("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "1"),
    ])
    .await;
    for attempt in 1..=6 {
        let failed = login_attempt(&app, ADMIN_EMAIL, "wrong-password").await;
        assert_eq!(failed.status, 401, "attempt {attempt}: {}", failed.text);
        assert_eq!(refresh_attempt(&app, "junk").await.status, 400);
        assert_eq!(recovery_attempt(&app, ADMIN_EMAIL).await.status, 200);
        assert_eq!(answer(app.raw().get("/health/live").send().await).await.status, 200);
    }
    let ok = login_attempt(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

/// The general per-client limit is opt-in (issue 11): one address is often many people (an
/// office behind NAT) or one busy batch job, and a Kwik client's normal traffic must not see
/// 429s. With rate limits on as in production and nothing else set, 1000 requests from one
/// client get none, while the authentication limit (10 a minute) still refuses the 11th login.
#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn one_client_is_not_throttled_by_default_but_its_login_attempts_are(#[case] storage: Storage) {
    let Some(served) = limited_serve(storage, &[]).await else { return };
    let paths = ["/health/live", "/api/v1/users/", "/api/v1/nowhere", "/api/v1/probe/slow?ms=0"];
    let mut throttled = 0;
    for i in 0..1000 {
        let path = paths[i % paths.len()];
        let response = served.http.get(served.url(path)).send().await.expect("the server answers");
        if response.status() == 429 {
            throttled += 1;
        }
    }
    assert_eq!(throttled, 0, "429s among 1000 ordinary requests from one client");

    for attempt in 1..=10 {
        let failed = served.login(ADMIN_EMAIL, "").await;
        assert_eq!(failed.status, 401, "attempt {attempt}: {}", failed.text);
    }
    served.login(ADMIN_EMAIL, "").await.assert_too_many("11th login attempt in a minute");
    // Everything else is still served.
    assert_eq!(served.get("/health/live", &[]).await.status, 200);
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn forwarded_for_is_honoured_only_from_trusted_proxies(#[case] storage: Storage) {
    let limit = ("KWIK_RATE_LIMIT_PER_MINUTE", "2");
    let Some(behind_proxy) = limited_serve(storage, &[limit, ("KWIK_TRUSTED_PROXIES", "127.0.0.1")]).await else {
        return;
    };
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for _ in 0..2 {
        assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.1")).await.status, 200);
    }
    behind_proxy.get("/health/live", &from("203.0.113.1")).await.assert_too_many("203.0.113.1, third");
    // Another client behind the proxy has its own bucket...
    assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.2")).await.status, 200);
    // ... and so has a client after a chain of trusted proxies (right-most untrusted address).
    assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.3, 127.0.0.1")).await.status, 200);
    // A client cannot pick its bucket by prepending addresses: the proxy appends the real one.
    behind_proxy
        .get("/health/live", &from("198.51.100.7, 203.0.113.1"))
        .await
        .assert_too_many("spoofed left-most address");
    // The proxy itself (no X-Forwarded-For) is one more client.
    assert_eq!(behind_proxy.get("/health/live", &[]).await.status, 200);

    // Without trusted proxies the header is ignored: every request is the peer 127.0.0.1.
    let Some(direct) = limited_serve(storage, &[limit]).await else { return };
    assert_eq!(direct.get("/health/live", &from("203.0.113.1")).await.status, 200);
    assert_eq!(direct.get("/health/live", &from("203.0.113.2")).await.status, 200);
    direct.get("/health/live", &from("203.0.113.3")).await.assert_too_many("X-Forwarded-For ignored");
    direct.get("/health/live", &[]).await.assert_too_many("the same peer");
}

/// `KWIK_TRUSTED_PROXIES` takes CIDR ranges besides exact addresses (issue 11): load balancers
/// change addresses within their subnet.
#[tokio::test]
async fn trusted_proxies_may_be_given_as_cidr_ranges() {
    let limit = ("KWIK_RATE_LIMIT_PER_MINUTE", "1");
    let behind_proxy = serve(&[ENABLED, limit, ("KWIK_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.0/8")]).await;
    let from = |ip: &'static str| [("x-forwarded-for", ip), ("x-forwarded-proto", "https")];
    let first = behind_proxy.get("/health/live", &from("203.0.113.1")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("strict-transport-security"), Some(HSTS), "the proxy's X-Forwarded-Proto is believed");
    behind_proxy.get("/health/live", &from("203.0.113.1")).await.assert_too_many("203.0.113.1, second");
    // Another client behind the proxy has its own bucket: the forwarded address was used...
    assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.2")).await.status, 200);
    // ... and a hop through another proxy of a trusted range is skipped to find the client.
    behind_proxy
        .get("/health/live", &from("203.0.113.2, 10.20.30.40"))
        .await
        .assert_too_many("203.0.113.2 behind two proxies of the ranges");
    assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.3, 10.20.30.40")).await.status, 200);
    // An address next to a range is not in it: 11.0.0.1 is the client, not a proxy.
    assert_eq!(behind_proxy.get("/health/live", &from("203.0.113.4, 11.0.0.1")).await.status, 200);
    behind_proxy.get("/health/live", &from("11.0.0.1")).await.assert_too_many("11.0.0.1 was the client");

    // Ranges and addresses that do not hold the peer 127.0.0.1: the headers are ignored.
    let elsewhere = serve(&[ENABLED, limit, ("KWIK_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.2, 128.0.0.0/1")]).await;
    let direct = elsewhere.get("/health/live", &from("203.0.113.1")).await;
    assert_eq!(direct.status, 200);
    assert_eq!(direct.header("strict-transport-security"), None);
    elsewhere.get("/health/live", &from("203.0.113.2")).await.assert_too_many("X-Forwarded-For ignored");
}

/// On a dual-stack listener (`KWIK_BACKEND_HOST=::`) an IPv4 proxy connects as
/// `::ffff:127.0.0.1`: it is still the trusted `127.0.0.1`, inside an IPv4 range, and inside the
/// same range written IPv4-mapped.
#[rstest]
#[case::exact_address("127.0.0.1")]
#[case::ipv4_range("127.0.0.0/8")]
#[case::mapped_range("::ffff:127.0.0.0/104")]
#[tokio::test]
async fn an_ipv4_proxy_is_in_its_range_on_a_dual_stack_listener(#[case] range: &str) {
    let served = serve(&[
        ENABLED,
        ("KWIK_RATE_LIMIT_PER_MINUTE", "1"),
        ("KWIK_TRUSTED_PROXIES", range),
        ("KWIK_BACKEND_HOST", "::"),
    ])
    .await;
    let url = format!("http://127.0.0.1:{}/health/live", served.addr.port());
    let get = |client: &'static str| {
        let request = served.http.get(&url).header("x-forwarded-for", client).header("x-forwarded-proto", "https");
        async move { answer_http(request.send().await.expect("the server answers over IPv4")).await }
    };
    let first = get("203.0.113.1").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("strict-transport-security"), Some(HSTS), "{range}: the proxy is trusted");
    get("203.0.113.1").await.assert_too_many("the same client behind the proxy");
    assert_eq!(get("203.0.113.2").await.status, 200, "{range}: the forwarded address was used");
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn the_per_account_limit_holds_across_client_addresses(#[case] storage: Storage) {
    let Some(behind_proxy) =
        limited_serve(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3"), ("KWIK_TRUSTED_PROXIES", "127.0.0.1")])
            .await
    else {
        return;
    };
    // Three attempts on one account from three addresses: each client is well under its limit.
    for ip in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        assert_eq!(behind_proxy.login(ADMIN_EMAIL, ip).await.status, 401, "{ip}");
    }
    // The account has had its three: a fourth address is refused for that account...
    behind_proxy.login(ADMIN_EMAIL, "203.0.113.4").await.assert_too_many("fourth address, same account");
    // ... spelled differently too (case, surrounding spaces) ...
    behind_proxy.login(" Admin@Example.COM ", "203.0.113.5").await.assert_too_many("same account, other spelling");
    // ... nor by hiding it behind a decoy: with a repeated field the login uses the last value,
    // and so does the limiter.
    let decoy = form(&[("username", "decoy@example.com"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]);
    let hidden = behind_proxy.post("/api/v1/login/access-token", FORM, decoy, "203.0.113.6").await;
    hidden.assert_too_many("the account behind a decoy username");
    // ... but another account is fine.
    assert_eq!(behind_proxy.login("someone.else@example.com", "203.0.113.4").await.status, 401);
    let decoy_last = form(&[("username", ADMIN_EMAIL), ("username", "decoy@example.com"), ("password", "x")]);
    let decoy_last = behind_proxy.post("/api/v1/login/access-token", FORM, decoy_last, "203.0.113.7").await;
    assert_eq!(decoy_last.status, 401, "the attempt is on the decoy: {}", decoy_last.text);

    // Password recovery is limited per account as well.
    for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(behind_proxy.recovery("nobody@example.com", ip).await.status, 200, "{ip}");
    }
    behind_proxy.recovery("nobody@example.com", "198.51.100.4").await.assert_too_many("fourth recovery address");
    assert_eq!(behind_proxy.recovery("another@example.com", "198.51.100.4").await.status, 200);
    // A repeated key in the JSON body does not hide the account either: refused (429), or
    // rejected as malformed (4xx), never served.
    let decoy = r#"{"email": "decoy@example.com", "email": "nobody@example.com"}"#.to_owned();
    let hidden = behind_proxy.post("/api/v1/login/password-recovery", "application/json", decoy, "198.51.100.5").await;
    hidden.assert_client_error("the account behind a decoy email");
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn the_authentication_limit_cannot_be_sidestepped_by_path_spelling(#[case] storage: Storage) {
    let Some(app) = limited_app(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await else { return };
    for _ in 0..3 {
        assert_eq!(login_attempt(&app, ADMIN_EMAIL, "wrong-password").await.status, 401);
    }
    let body = form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]);
    for path in [
        "/api/v1/login/access-token",
        "/api/v1/login/access-token?x=1",
        "/api/v1/login/access-token/",
        "/api/v1//login/access-token",
        "/api/v1/login//access-token",
        "/api/v1/login/./access-token",
        "/api/v1/login/x/../access-token",
        "/api/v1/login/access%2Dtoken",
        "/api/v1/login/ACCESS-TOKEN",
        "/API/v1/login/access-token",
    ] {
        let tried = answer(app.raw().post(path).content_type(FORM).body(body.clone()).send().await).await;
        // Either the router does not know the spelling, or it is limited; never a token.
        assert!(matches!(tried.status, 404 | 405 | 429), "{path}: {} {}", tried.status, tried.text);
        tried.assert_error_body(path);
    }
}

#[rstest]
#[case::memory(Storage::Memory)]
#[case::redis(Storage::Redis)]
#[tokio::test]
async fn password_changes_count_on_the_account_limit_across_client_addresses(#[case] storage: Storage) {
    let Some(behind_proxy) =
        limited_serve(storage, &[("KWIK_AUTH_RATE_LIMIT_PER_MINUTE", "3"), ("KWIK_TRUSTED_PROXIES", "127.0.0.1")])
            .await
    else {
        return;
    };
    // One successful login: the account's first attempt.
    let body = form(&[("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]);
    let login = behind_proxy.post("/api/v1/login/access-token", FORM, body, "192.0.2.1").await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = serde_json::from_str::<serde_json::Value>(&login.text).expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let change = |ip: &'static str| {
        let request = behind_proxy
            .http
            .put(behind_proxy.url("/api/v1/users/me/password"))
            .bearer_auth(&token)
            .header("x-forwarded-for", ip)
            .json(&json!({"old_password": "a-wrong-guess", "new_password": "a-brand-new-password-1"}));
        async move { answer_http(request.send().await.expect("the server answers")).await }
    };
    // Each guess from a fresh address: only the account's budget can stop them.
    assert_eq!(change("192.0.2.2").await.status, 401);
    assert_eq!(change("192.0.2.3").await.status, 401);
    change("192.0.2.4").await.assert_too_many("the account's fourth password check");
}
