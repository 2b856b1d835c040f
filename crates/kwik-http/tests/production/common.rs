//! Shared set-up for the production tests: the probe module and the apps built with it, rate-limit
//! storages, answers, a real server on 127.0.0.1 with raw exchanges, and database snapshots.

use std::net::SocketAddr;
use std::time::Duration;

use kwik_core::Queries;
use kwik_http::builtin::Builtin;
use kwik_http::{App, AppState, Module, NoApi};
use kwik_testing::{TestApp, TestDatabase};
use poem::http::HeaderMap;
use poem::test::TestResponse;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::PlainText;
use sea_query::{Expr, Order};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A probe module: a slow endpoint, a panicking one, and one that logs from inside the handler.
// ---------------------------------------------------------------------------------------------

/// What the panicking endpoint panics with; it must never reach a client.
pub const PANIC_SECRET: &str = "probe-panic-secret-d41d8cd98f00b204";

#[derive(Clone)]
struct ProbeApi;

#[OpenApi(prefix_path = "/probe/")]
impl ProbeApi {
    /// Answers after a delay given in milliseconds.
    #[oai(path = "/slow", method = "get")]
    async fn slow(&self, ms: Query<u64>) -> PlainText<&'static str> {
        tokio::time::sleep(Duration::from_millis(ms.0)).await;
        PlainText("done")
    }

    /// Panics.
    #[oai(path = "/panic", method = "get")]
    async fn panic(&self) -> PlainText<&'static str> {
        panic!("{PANIC_SECRET}: /etc/passwd, postgres://user:password@db/secret");
    }

    /// Writes a log line from inside the handler.
    #[oai(path = "/log", method = "get")]
    async fn log(&self) -> PlainText<&'static str> {
        tracing::warn!(marker = "probe-handler", "inside the handler");
        PlainText("logged")
    }
}

struct Probe;

impl Module for Probe {
    type Api = ProbeApi;
    fn name(&self) -> &'static str {
        "probe"
    }
    fn api(&self) -> ProbeApi {
        ProbeApi
    }
}

type Composed = App<((NoApi, <Builtin as Module>::Api), ProbeApi)>;

fn compose(state: AppState) -> Composed {
    App::new(state).module(Builtin).module(Probe)
}

/// The built-in API plus the probe, on a fresh database, behind poem's in-process client.
pub async fn app(settings: &[(&str, &str)]) -> TestApp {
    TestApp::with_settings(settings, compose).await
}

pub const ENABLED: (&str, &str) = ("KWIK_RATE_LIMIT_ENABLED", "true");

/// Where the rate-limit counters of a test app live. The rate-limit tests run with both.
#[derive(Debug, Clone, Copy)]
pub enum Storage {
    Memory,
    Redis,
}

impl Storage {
    /// Rate limits on, counted in this storage; `None` (the test is skipped) for Redis when no
    /// test Redis is configured — `cargo xtask test` always configures one in CI.
    fn settings(self, settings: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        let storage = match self {
            Storage::Memory => Vec::new(),
            Storage::Redis => {
                let Some(redis) = kwik_testing::redis_rate_limit_settings() else {
                    kwik_testing::skip_missing("KWIK_TEST_REDIS_URL is not set");
                    return None;
                };
                redis
            }
        };
        let mut vars: Vec<(String, String)> = storage.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        vars.extend([ENABLED].iter().chain(settings).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Some(vars)
    }
}

fn borrowed(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// [`app`] with rate limits on, counted in `storage`.
pub async fn limited_app(storage: Storage, settings: &[(&str, &str)]) -> Option<TestApp> {
    let vars = storage.settings(settings)?;
    Some(app(&borrowed(&vars)).await)
}

/// [`serve`] with rate limits on, counted in `storage`.
pub async fn limited_serve(storage: Storage, settings: &[(&str, &str)]) -> Option<Served> {
    let vars = storage.settings(settings)?;
    Some(serve(&borrowed(&vars)).await)
}
pub const FORM: &str = "application/x-www-form-urlencoded";
const TOO_MANY: &str = r#"{"detail":"Too many requests","code":"too_many_requests"}"#;
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

// ---------------------------------------------------------------------------------------------
// Answers: status, headers and body of a response, in process or over the socket.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("an ASCII header value"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text))
    }

    pub fn request_id(&self) -> &str {
        self.header("x-request-id").unwrap_or_else(|| panic!("no X-Request-Id on a {} answer: {self:?}", self.status))
    }

    pub fn retry_after(&self) -> u64 {
        self.header("retry-after")
            .unwrap_or_else(|| panic!("no Retry-After on a {} answer: {self:?}", self.status))
            .parse()
            .expect("Retry-After in whole seconds")
    }

    /// Every answer, whatever its status, carries a request id and the security headers.
    fn assert_protected(&self) {
        assert!(!self.request_id().is_empty(), "{self:?}");
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"), "{self:?}");
        assert_eq!(self.header("x-frame-options"), Some("DENY"), "{self:?}");
        assert_eq!(self.header("referrer-policy"), Some("no-referrer"), "{self:?}");
        let csp = self.header("content-security-policy").unwrap_or_else(|| panic!("no CSP: {self:?}"));
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }

    /// A 4xx with Kwik's JSON error body `{"detail": ..., "code": ...}`.
    pub fn assert_client_error(&self, what: &str) {
        assert!((400..500).contains(&self.status), "{what}: expected a 4xx, got {}: {}", self.status, self.text);
        self.assert_error_body(what);
    }

    pub fn assert_error_body(&self, what: &str) {
        assert_eq!(self.header("content-type"), Some("application/json"), "{what}: {self:?}");
        let body = self.json();
        assert!(body["detail"].is_string() || body["detail"].is_array(), "{what}: {body}");
        assert!(body["code"].is_string(), "{what}: {body}");
    }

    pub fn assert_too_many(&self, what: &str) {
        assert_eq!(self.status, 429, "{what}: expected 429, got {}: {}", self.status, self.text);
        assert_eq!(self.header("content-type"), Some("application/json"), "{what}");
        assert_eq!(self.json(), serde_json::from_str::<Value>(TOO_MANY).unwrap(), "{what}");
        let retry = self.retry_after();
        assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
    }
}

pub async fn answer(response: TestResponse) -> Answer {
    let status = response.0.status().as_u16();
    let headers = response.0.headers().clone();
    let text = response.0.into_body().into_string().await.unwrap_or_default();
    let answer = Answer { status, headers, text };
    answer.assert_protected();
    answer
}

pub async fn answer_http(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let answer = Answer { status, headers, text };
    answer.assert_protected();
    answer
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("a form body")
}

pub async fn login_attempt(app: &TestApp, username: &str, password: &str) -> Answer {
    let body = form(&[("username", username), ("password", password)]);
    answer(app.anonymous().post("/login/access-token").content_type(FORM).body(body).send().await).await
}

pub async fn recovery_attempt(app: &TestApp, email: &str) -> Answer {
    answer(app.anonymous().post("/login/password-recovery").body_json(&json!({"email": email})).send().await).await
}

pub async fn refresh_attempt(app: &TestApp, token: &str) -> Answer {
    answer(app.anonymous().post("/login/refresh").body_json(&json!({"refresh_token": token})).send().await).await
}

pub fn is_uuid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|id| id.get_version_num() == 4) && text.len() == 36
}

// ---------------------------------------------------------------------------------------------
// A real server on 127.0.0.1 (the client address matters there).
// ---------------------------------------------------------------------------------------------

pub struct Served {
    // Dropping the sender starts the graceful shutdown.
    _stop: tokio::sync::oneshot::Sender<()>,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    // Last: dropped after the server was told to stop.
    _database: TestDatabase,
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        answer_http(request.send().await.expect("the server answers")).await
    }

    pub async fn post(&self, path: &str, content_type: &str, body: String, forwarded_for: &str) -> Answer {
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .header("x-forwarded-for", forwarded_for)
            .body(body)
            .send()
            .await
            .expect("the server answers");
        answer_http(response).await
    }

    pub async fn login(&self, username: &str, forwarded_for: &str) -> Answer {
        let body = form(&[("username", username), ("password", "not-the-password")]);
        self.post("/api/v1/login/access-token", FORM, body, forwarded_for).await
    }

    pub async fn recovery(&self, email: &str, forwarded_for: &str) -> Answer {
        let body = json!({"email": email}).to_string();
        self.post("/api/v1/login/password-recovery", "application/json", body, forwarded_for).await
    }
}

pub async fn serve(settings: &[(&str, &str)]) -> Served {
    let database = TestDatabase::new().await;
    let mut vars = vec![("KWIK_BACKEND_HOST", "127.0.0.1"), ("KWIK_BACKEND_PORT", "0")];
    vars.extend_from_slice(settings);
    let settings = kwik_testing::test_settings(database.url(), &vars);
    let app = compose(AppState::new(settings, database.connect().await).expect("state"));
    app.prepare().await.expect("prepare");
    let acceptor = app.bind().await.expect("bind");
    let addr = kwik_http::local_addr(&acceptor).expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = app
            .serve(acceptor, async {
                let _ = stopped.await;
            })
            .await;
    });
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    Served { _stop: stop, addr, http, _database: database }
}

/// Writes `request` on a fresh connection and reads the answer until the server closes the
/// connection or has sent a complete response, for at most `bound`. `None` when nothing
/// complete arrived in time.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], bound: Duration) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut received = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            received.extend_from_slice(&chunk[..n]);
            if response_complete(&received) {
                return;
            }
        }
    };
    tokio::time::timeout(bound, read).await.ok()?;
    (!received.is_empty()).then(|| String::from_utf8_lossy(&received).into_owned())
}

pub fn response_complete(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
    head.lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| body.len() >= len)
}

pub fn raw_status(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status line: {response}"))
}

pub fn raw_body(response: &str) -> Value {
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON body ({e}): {response}"))
}

// ---------------------------------------------------------------------------------------------
// The database, before and after.
// ---------------------------------------------------------------------------------------------

type UserRow = (i64, String, String, String, String, bool, i64);

#[derive(Debug, PartialEq)]
pub struct Snapshot {
    counts: Vec<(&'static str, i64)>,
    pub users: Vec<UserRow>,
    roles: Vec<(i64, String, bool)>,
    permissions: Vec<(i64, String)>,
}

pub async fn snapshot(app: &TestApp) -> Snapshot {
    let mut db = app.state().db.clone();
    let mut counts = Vec::new();
    for table in ["users", "roles", "permissions", "users_roles", "roles_permissions", "api_keys", "refresh_tokens"] {
        let count = db
            .fetch_i64(&sea_query::Query::select().expr(Expr::cust("COUNT(*)")).from(table).to_owned())
            .await
            .unwrap_or_else(|e| panic!("count of {table}: {e}"));
        counts.push((table, count));
    }
    let users = db
        .fetch_all::<UserRow, _>(
            &sea_query::Query::select()
                .columns(["id", "name", "surname", "email", "hashed_password", "is_active", "token_version"])
                .from("users")
                .order_by("id", Order::Asc)
                .to_owned(),
        )
        .await
        .expect("users");
    let roles = db
        .fetch_all::<(i64, String, bool), _>(
            &sea_query::Query::select()
                .columns(["id", "name", "is_active"])
                .from("roles")
                .order_by("id", Order::Asc)
                .to_owned(),
        )
        .await
        .expect("roles");
    let permissions = db
        .fetch_all::<(i64, String), _>(
            &sea_query::Query::select()
                .columns(["id", "name"])
                .from("permissions")
                .order_by("id", Order::Asc)
                .to_owned(),
        )
        .await
        .expect("permissions");
    Snapshot { counts, users, roles, permissions }
}

pub fn count_of(snapshot: &Snapshot, table: &str) -> i64 {
    snapshot.counts.iter().find(|(t, _)| *t == table).map(|(_, n)| *n).expect("a counted table")
}
