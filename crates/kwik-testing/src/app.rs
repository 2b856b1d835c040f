//! [`TestApp`]: an app on a fresh database behind poem's in-process test client.

use kwik_core::Settings;
use kwik_http::{App, AppState};
use poem::endpoint::BoxEndpoint;
use poem::test::TestRequestBuilder;
use poem::{Endpoint, EndpointExt, Response};
use poem_openapi::OpenApi;

use crate::database::TestDatabase;
use crate::scenario::TestUser;

/// The bootstrap administrator's email in a [`TestApp`].
pub const ADMIN_EMAIL: &str = "admin@example.com";
/// The bootstrap administrator's password in a [`TestApp`].
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Settings for tests: the given database, a fixed secret key, a known superuser, and cheap
/// argon2 parameters (64 KiB, 1 pass) so that hashing does not dominate the suite, and rate limits
/// off (enable them with `("KWIK_RATE_LIMIT_ENABLED", "true")`). `extra`
/// overrides any of them (`KWIK_*` names).
///
/// # Panics
/// When `extra` holds an invalid value.
pub fn test_settings(database_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut vars = vec![
        ("KWIK_DATABASE_URL", database_url.to_owned()),
        ("KWIK_SECRET_KEY", "kwik-testing-secret-key-0123456789abcdef".to_owned()),
        ("KWIK_FIRST_SUPERUSER", ADMIN_EMAIL.to_owned()),
        ("KWIK_FIRST_SUPERUSER_PASSWORD", ADMIN_PASSWORD.to_owned()),
        ("KWIK_ARGON2_MEMORY_KIB", "64".to_owned()),
        ("KWIK_ARGON2_ITERATIONS", "1".to_owned()),
        ("KWIK_LOG_LEVEL", "warn".to_owned()),
        // Tests log in far more often than people do; rate limits get their own tests.
        ("KWIK_RATE_LIMIT_ENABLED", "false".to_owned()),
    ];
    for (key, value) in extra {
        vars.retain(|(k, _)| k != key);
        vars.push((key, (*value).to_owned()));
    }
    Settings::from_vars(vars).unwrap_or_else(|e| panic!("invalid test settings: {e}"))
}

/// An app on its own fresh database, migrated and bootstrapped, with an in-process client.
/// Dropping it drops the database.
pub struct TestApp {
    state: AppState,
    client: poem::test::TestClient<BoxEndpoint<'static, Response>>,
    prefix: String,
    admin_token: tokio::sync::OnceCell<String>,
    // Last: dropped after everything that holds connections.
    database: TestDatabase,
}

impl TestApp {
    /// Builds the app with `build` (usually your server's own composition function) on a fresh
    /// database with [`test_settings`].
    ///
    /// # Panics
    /// When the database cannot be created or the app cannot start: the test cannot run.
    pub async fn new<A, F>(build: F) -> Self
    where
        A: OpenApi + Clone + Send + Sync + 'static,
        F: FnOnce(AppState) -> App<A>,
    {
        Self::with_settings(&[], build).await
    }

    /// Like [`TestApp::new`], with settings overrides (`KWIK_*` names).
    ///
    /// # Panics
    /// As [`TestApp::new`].
    pub async fn with_settings<A, F>(extra: &[(&str, &str)], build: F) -> Self
    where
        A: OpenApi + Clone + Send + Sync + 'static,
        F: FnOnce(AppState) -> App<A>,
    {
        let database = TestDatabase::new().await;
        let settings = test_settings(database.url(), extra);
        let db = database.connect().await;
        let state = AppState::new(settings, db).unwrap_or_else(|e| panic!("cannot build the app state: {e}"));
        let app = build(state);
        app.prepare().await.unwrap_or_else(|e| panic!("start-up failed: {e}"));
        let prefix = app.state().settings.server.api_v1_str.clone();
        Self {
            state: app.state().clone(),
            client: poem::test::TestClient::new(app.endpoint().boxed()),
            prefix,
            admin_token: tokio::sync::OnceCell::new(),
            database,
        }
    }

    /// The shared state (settings, database, hasher, ...), for direct database checks.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The test database.
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// A client that sends no credentials.
    pub fn anonymous(&self) -> TestClient<'_> {
        TestClient { app: self, token: None, api_key: None }
    }

    /// A client authenticated as the bootstrap administrator (holds every permission).
    ///
    /// # Panics
    /// When the administrator cannot log in.
    pub async fn as_admin(&self) -> TestClient<'_> {
        let token = self.admin_token.get_or_init(|| async { self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await }).await;
        TestClient { app: self, token: Some(token.clone()), api_key: None }
    }

    /// A client authenticated as `user` (a token minted at [`Scenario::build`](crate::Scenario::build) time).
    pub fn as_user(&self, user: &TestUser) -> TestClient<'_> {
        TestClient { app: self, token: Some(user.token.clone()), api_key: None }
    }

    /// A client sending this bearer token as is (expired, forged, ... tokens).
    pub fn with_token(&self, token: &str) -> TestClient<'_> {
        TestClient { app: self, token: Some(token.to_owned()), api_key: None }
    }

    /// A client sending this API key in `X-API-Key`.
    pub fn with_api_key(&self, key: &str) -> TestClient<'_> {
        TestClient { app: self, token: None, api_key: Some(key.to_owned()) }
    }

    /// Logs in through `POST /login/access-token` and returns the access token.
    ///
    /// # Panics
    /// When the login does not answer 200 with a token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .anonymous()
            .post("/login/access-token")
            .content_type("application/x-www-form-urlencoded")
            .body(format!("username={}&password={}", encode(email), encode(password)))
            .send()
            .await;
        let status = response.0.status();
        let body = crate::assertions::json_of(response).await;
        assert_eq!(status, 200, "login of {email} failed: {body}");
        body["access_token"].as_str().unwrap_or_else(|| panic!("no access_token in {body}")).to_owned()
    }

    /// The API prefix (`/api/v1` by default).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// poem's test client on the whole app (paths are not prefixed, no credentials are added).
    pub fn raw(&self) -> &poem::test::TestClient<BoxEndpoint<'static, Response>> {
        &self.client
    }
}

fn encode(value: &str) -> String {
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("%{b:02X}"));
        }
        out
    })
}

/// A client bound to a [`TestApp`] and an identity. Paths are relative to the API prefix
/// (`client.get("/users/")` requests `/api/v1/users/`).
pub struct TestClient<'a> {
    app: &'a TestApp,
    token: Option<String>,
    api_key: Option<String>,
}

macro_rules! method {
    ($name:ident) => {
        #[doc = concat!("Starts a `", stringify!($name), "` request to `{prefix}{path}` with this client's credentials.")]
        pub fn $name(&self, path: &str) -> TestRequestBuilder<'a, BoxEndpoint<'static, Response>> {
            self.with_credentials(self.app.client.$name(format!("{}{path}", self.app.prefix)))
        }
    };
}

impl<'a> TestClient<'a> {
    method!(get);
    method!(post);
    method!(put);
    method!(delete);
    method!(patch);

    fn with_credentials<E: Endpoint>(&self, mut request: TestRequestBuilder<'a, E>) -> TestRequestBuilder<'a, E> {
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", key.clone());
        }
        request
    }
}
