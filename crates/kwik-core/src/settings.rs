//! Settings read from `KWIK_*` environment variables (Kwik's names and defaults, CONTRACT §8),
//! optionally from a TOML file named by `KWIK_SETTINGS_FILE` (environment variables win).
//!
//! [`config`] merges the sources; every value is then parsed here so that an invalid one stops
//! start-up with a message naming the variable, the problem and the expected form.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

/// An IP network (`10.0.0.0/8`, `fd00::/8`, or one address as `/32` / `/128`): the type of
/// [`Settings::trusted_proxies`], from the `ipnet` crate.
pub use ipnet::IpNet;
use rand::Rng;

/// Where the server runs; production refuses insecure defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    /// Local development: a random secret key is generated when none is set.
    Development,
    /// Production: `KWIK_SECRET_KEY` and a non-default `KWIK_FIRST_SUPERUSER_PASSWORD` are required.
    Production,
}

/// Log output format (`KWIK_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Where rate-limit counters live (`KWIK_RATE_LIMIT_STORAGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStorage {
    /// In this process (the default): each instance counts on its own.
    Memory,
    /// In Redis at `KWIK_REDIS_URL`: every instance shares the counters.
    Redis,
}

/// A secret value (key, password) whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Connection-pool settings (Kwik's `POSTGRES_POOL_*`, applied to both backends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Maximum open connections: `POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW` (SQLAlchemy's meaning).
    pub max_connections: u32,
    /// Connections kept open when idle (`POSTGRES_POOL_SIZE`).
    pub min_connections: u32,
    /// How long a request waits for a free connection before failing with 503
    /// (`POSTGRES_POOL_TIMEOUT`, seconds).
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 30, min_connections: 0, acquire_timeout: Duration::from_secs(10) }
    }
}

/// argon2id cost parameters (memory in KiB, iterations, lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// The framework's settings. Build with [`Settings::from_env`] (process environment) or
/// [`Settings::from_vars`] (an explicit map, for tests and embedding).
#[derive(Debug, Clone)]
#[expect(clippy::struct_excessive_bools, reason = "each flag is one independent KWIK_* on/off variable")]
pub struct Settings {
    /// `KWIK_APP_ENV`: `development` (default) or `production`.
    pub app_env: AppEnv,
    /// `KWIK_BACKEND_HOST`: interface to bind. Default `127.0.0.1` (Kwik: `localhost`).
    pub backend_host: String,
    /// `KWIK_BACKEND_PORT`: TCP port, default 8080; 0 picks a free port.
    pub backend_port: u16,
    /// `KWIK_API_V1_STR`: prefix of every API route, default `/api/v1`.
    pub api_v1_str: String,
    /// `KWIK_PROTOCOL`: `http` (default) or `https`, the scheme clients use to reach the server.
    pub protocol: String,
    /// `KWIK_SECRET_KEY`: HS256 signing key (at least 32 bytes, RFC 7518 §3.2).
    pub secret_key: Secret,
    /// True when `secret_key` was generated because none was configured (development only).
    pub secret_key_generated: bool,
    /// `KWIK_ACCESS_TOKEN_EXPIRE_MINUTES`: access-token lifetime in minutes, default 10080 (7 days).
    pub access_token_expire_minutes: u32,
    /// `KWIK_REFRESH_TOKEN_EXPIRE_MINUTES`: refresh-token lifetime in minutes, default 43200 (30 days).
    pub refresh_token_expire_minutes: u32,
    /// `KWIK_BACKEND_CORS_ORIGINS`: allowed origins, comma list or JSON array; empty = CORS off.
    /// `*` (any origin) is refused while [`Settings::backend_cors_allow_credentials`] is true.
    pub backend_cors_origins: Vec<String>,
    /// `KWIK_BACKEND_CORS_ALLOW_CREDENTIALS`: CORS answers allow credentials
    /// (`Access-Control-Allow-Credentials: true`), default true as in Kwik (FastAPI's
    /// `CORSMiddleware(allow_credentials=True)`). Must be false for `KWIK_BACKEND_CORS_ORIGINS=*`.
    pub backend_cors_allow_credentials: bool,
    /// `KWIK_BACKEND_GRACEFUL_TIMEOUT`: seconds in-flight requests get to finish on shutdown (30).
    pub backend_graceful_timeout: Duration,
    /// `KWIK_DEBUG`: default true in development, false in production.
    pub debug: bool,
    /// `KWIK_LOG_LEVEL`: a tracing filter (`info`, `debug`, `kwik_http=debug,info`...);
    /// Kwik's Python names (`INFO`, `WARNING`, `CRITICAL`) are accepted. Default `info`.
    pub log_level: String,
    /// `KWIK_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// The database URL: `KWIK_DATABASE_URL`, else Kwik's `KWIK_SQLALCHEMY_DATABASE_URI`, else one
    /// built from `KWIK_POSTGRES_*` when any is set, else `sqlite://kwik.sqlite` (created if missing).
    pub database_url: Secret,
    /// Pool sizing and timeouts.
    pub pool: PoolSettings,
    /// `KWIK_PROJECT_NAME`: the API title in the OpenAPI document, default `kwik`.
    pub project_name: String,
    /// `KWIK_FIRST_SUPERUSER`: email of the bootstrap administrator, default `admin@example.com`.
    pub first_superuser: String,
    /// `KWIK_FIRST_SUPERUSER_PASSWORD`: default `admin` (refused in production).
    pub first_superuser_password: Secret,
    /// `KWIK_PASSWORD_MIN_LENGTH`: minimum password length in characters, 1..=72, default 12.
    pub password_min_length: usize,
    /// `KWIK_MAX_BODY_BYTES`: largest accepted request body in bytes, default 1048576 (1 MiB).
    pub max_body_bytes: usize,
    /// `KWIK_REQUEST_TIMEOUT`: seconds a request may take before it is answered 503 (default 30;
    /// 0 disables).
    pub request_timeout: Option<Duration>,
    /// `KWIK_RATE_LIMIT_ENABLED`: rate limiting on (default true); false turns off both the
    /// general and the authentication limit.
    pub rate_limit_enabled: bool,
    /// `KWIK_RATE_LIMIT_PER_MINUTE`: the general limit, requests per minute per client address on
    /// every route. Opt-in: `None` (unset or `0`, the default) means no general limit, since one
    /// client address often stands for many users (an office behind NAT, a batch job) and Kwik
    /// clients must not see 429s in normal use. The authentication limit applies either way.
    pub rate_limit_per_minute: Option<NonZeroU32>,
    /// `KWIK_AUTH_RATE_LIMIT_PER_MINUTE`: attempts per minute on login, refresh and password recovery,
    /// per client address and per account (default 10) — brute-force protection (OWASP
    /// Authentication Cheat Sheet).
    pub auth_rate_limit_per_minute: u32,
    /// `KWIK_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed, a comma list of addresses (`10.0.0.2`, an exact address, is `10.0.0.2/32`) and
    /// CIDR ranges (`10.0.0.0/8`, `fd00::/8`); empty = none. Kept in canonical form: host bits
    /// cleared, and an IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as its IPv4 range, since
    /// peers are compared as [`IpAddr::to_canonical`] gives them.
    pub trusted_proxies: Vec<IpNet>,
    /// `KWIK_RATE_LIMIT_STORAGE`: `memory` (default; counters per process) or `redis` (counters
    /// shared by every instance, in `KWIK_REDIS_URL`).
    pub rate_limit_storage: RateLimitStorage,
    /// `KWIK_REDIS_URL`: the Redis server for shared rate limits, `redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path/to/socket`, default `redis://127.0.0.1:6379/0`. TLS (`rediss://`)
    /// is not built in.
    pub redis_url: Secret,
    /// `KWIK_RATE_LIMIT_KEY_PREFIX`: prefix of the Redis keys of rate-limit counters, default
    /// `kwik:rate-limit:` — give each application sharing one Redis its own.
    pub rate_limit_key_prefix: String,
    /// `KWIK_METRICS_TOKEN`: when set, `GET /metrics` serves Prometheus metrics to requests with
    /// `Authorization: Bearer <token>`; unset (the default), `/metrics` does not exist.
    pub metrics_token: Option<Secret>,
    /// `KWIK_LIST_MAX_LIMIT`: the largest `limit` of list queries (422 above), default 1000.
    /// Kwik has no maximum; set it high for clients that rely on that.
    pub list_max_limit: u64,
    /// `KWIK_LIST_MAX_FILTERS`: the most conditions (`filter` parameters plus `filter_key`/`value`)
    /// one list request may carry (400 above), default 32, at most 200. Ours: Kwik bounds nothing,
    /// and thousands of conditions used to reach SQLite's expression-depth limit.
    pub list_max_filters: usize,
    /// `KWIK_LIST_MAX_SORT_FIELDS`: the most fields one `sorting` may list (400 above), default 8,
    /// at most 64.
    pub list_max_sort_fields: usize,
    /// `KWIK_LIST_MAX_IN_VALUES`: the most values the `in` filters of one list request may list
    /// together (400 above), default 1000, at most 10000 (below both databases' bound-parameter
    /// limits).
    pub list_max_in_values: usize,
    /// `KWIK_TENANCY_ENABLED`: multi-tenancy. Off (the default), nothing is scoped by tenant and
    /// Kwik's contract is unchanged; on, every user belongs to a tenant and tenant-scoped
    /// resources (`#[kwik(tenant_scoped)]`) are restricted to the caller's tenant.
    pub tenancy_enabled: bool,
    /// `KWIK_AUDIT_LOG_RETENTION_DAYS`: how long audit-log entries are kept, in days; `kwik-server
    /// prune-audit-log` deletes older ones. Unset or 0 (the default): kept forever. At most
    /// 36500.
    pub audit_log_retention_days: Option<NonZeroU32>,
    /// The principal cache (authentication without a database round trip): how many users
    /// and API keys it holds, how often it checks that it can still be invalidated, and how
    /// long an entry lives at most.
    pub principal_cache: PrincipalCacheSettings,
    /// Background jobs: whether `serve` runs workers, how many jobs of one kind run at once, how
    /// often idle workers look for work, and how fast a dead worker's jobs are taken back.
    pub jobs: JobSettings,
    /// Outgoing email (SMTP): off until `KWIK_SMTP_HOST` is set.
    pub mail: MailSettings,
    /// `KWIK_FRONTEND_RESET_URL`: the front end's password-reset page; the reset email links to
    /// it with `?token=...` appended. Unset: the email carries the token itself.
    pub frontend_reset_url: Option<String>,
    /// `KWIK_ARGON2_MEMORY_KIB`, `KWIK_ARGON2_ITERATIONS`, `KWIK_ARGON2_PARALLELISM`: argon2id cost
    /// for new password hashes. Defaults are OWASP's Password Storage Cheat Sheet recommendation
    /// (19456 KiB, 2 iterations, 1 lane).
    pub argon2: Argon2Settings,
}

/// The principal cache's settings (see the handbook's "Principal cache").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalCacheSettings {
    /// `KWIK_PRINCIPAL_CACHE_SIZE`: how many users (and as many API keys) are kept; `0` turns the
    /// cache off (every request queries its principal). Default 10000, at most 10000000.
    pub size: usize,
    /// `KWIK_PRINCIPAL_CACHE_CHECK_MS`, milliseconds: on SQLite, how often the change counter is
    /// read (the bound on how long another process's change goes unseen); on PostgreSQL, how
    /// often a heartbeat goes through the notification channel (the cache is not used when
    /// none arrived for three intervals). Default 250, from 10 to 60000.
    pub check_interval: Duration,
    /// `KWIK_PRINCIPAL_CACHE_TTL`, seconds: the most an entry is served without being re-read,
    /// whatever the notifications say. Default 60, from 1 to 86400.
    pub ttl: Duration,
}

/// The job workers' settings (see the handbook's "Jobs, schedules and email").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// `KWIK_JOBS_WORKERS`: whether `kwik-server serve` runs job workers beside the HTTP server
    /// (`kwik-server worker` always does). Default `true`.
    pub workers: bool,
    /// `KWIK_JOBS_CONCURRENCY`: how many jobs of one kind a process runs at once. Default 4, from
    /// 1 to 1000.
    pub concurrency: usize,
    /// `KWIK_JOBS_POLL_MS`, milliseconds: how often an idle worker looks for due jobs (the delay
    /// before a new job starts, at most). Default 250, from 10 to 60000.
    pub poll_interval: Duration,
    /// `KWIK_JOBS_HEARTBEAT`, seconds: how often a worker tells the database it is alive. A
    /// worker silent for three heartbeats is dead, and its jobs run again elsewhere. Default 5,
    /// from 1 to 3600.
    pub heartbeat: Duration,
    /// `KWIK_JOBS_RETENTION_DAYS`: finished (`done`) jobs are deleted this long after they ended,
    /// by the workers, hourly; dead jobs are kept. Default 7 days; `0`: kept forever; at most
    /// 36500.
    pub retention: Option<Duration>,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            workers: true,
            concurrency: 4,
            poll_interval: Duration::from_millis(250),
            heartbeat: Duration::from_secs(5),
            retention: Some(Duration::from_hours(7 * 24)),
        }
    }
}

/// How the SMTP connection is secured (`KWIK_SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `starttls` (or `true`, Kwik's `SMTP_TLS=True`): plain connection upgraded with STARTTLS,
    /// which is required (no fall-back to plain text). Port 587.
    StartTls,
    /// `tls`: TLS from the first byte ("SMTPS"). Port 465.
    Tls,
    /// `none` (or `false`): no encryption — only for a relay on the same host or a test server.
    None,
}

/// Outgoing email settings (Kwik's names where Kwik has them).
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `KWIK_SMTP_HOST`: the SMTP server. Unset (the default): no email is sent.
    pub host: Option<String>,
    /// `KWIK_SMTP_PORT`: default 587 (465 with `KWIK_SMTP_TLS=tls`).
    pub port: u16,
    /// `KWIK_SMTP_USER`: the login, if the server wants one.
    pub user: Option<String>,
    /// `KWIK_SMTP_PASSWORD`: its password (never logged).
    pub password: Option<Secret>,
    /// `KWIK_SMTP_TLS`: `starttls` (default), `tls` or `none`.
    pub tls: SmtpTls,
    /// `KWIK_EMAILS_FROM_EMAIL`: the sender address (required with `KWIK_SMTP_HOST`).
    pub from_email: Option<String>,
    /// `KWIK_EMAILS_FROM_NAME`: the sender's display name (default: `KWIK_PROJECT_NAME`).
    pub from_name: Option<String>,
    /// `KWIK_SMTP_TIMEOUT`, seconds: how long one SMTP command may take. Default 10, 1 to 600.
    pub timeout: Duration,
}

/// One invalid setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The environment variable, e.g. `KWIK_BACKEND_PORT`.
    pub variable: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Settings could not be loaded; lists every invalid variable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// One or more values are invalid.
    #[error("invalid settings:\n{}", .0.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<SettingError>),
    /// The settings file could not be read or parsed.
    #[error("cannot read settings: {0}")]
    Source(String),
}

impl SettingsError {
    /// The invalid variables (empty for a source error).
    pub fn errors(&self) -> &[SettingError] {
        match self {
            Self::Invalid(errors) => errors,
            Self::Source(_) => &[],
        }
    }
}

const PREFIX: &str = "KWIK";
const DEFAULT_SUPERUSER_PASSWORD: &str = "admin";
const DEFAULT_SQLITE_URL: &str = "sqlite://kwik.sqlite";

impl Settings {
    /// Reads the process environment (and `KWIK_SETTINGS_FILE`, if set).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming each invalid variable; [`SettingsError::Source`] when the
    /// settings file cannot be read.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::load(None)
    }

    /// Reads settings from `vars` only (keys with the `KWIK_` prefix, e.g. `KWIK_BACKEND_PORT`),
    /// ignoring the process environment. Handy for tests.
    ///
    /// # Errors
    /// As [`Settings::from_env`].
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, SettingsError> {
        let map = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self::load(Some(map))
    }

    fn load(vars: Option<HashMap<String, String>>) -> Result<Self, SettingsError> {
        let file = match &vars {
            Some(map) => map.get("KWIK_SETTINGS_FILE").cloned(),
            None => std::env::var("KWIK_SETTINGS_FILE").ok(),
        }
        .filter(|path| !path.is_empty());
        let mut raw = HashMap::new();
        // The file first, then the environment, so that environment variables win.
        if let Some(path) = file {
            let source = config::Config::builder().add_source(config::File::new(&path, config::FileFormat::Toml));
            collect_into(&mut raw, source)?;
        }
        let env = config::Environment::with_prefix(PREFIX).prefix_separator("_").ignore_empty(true);
        let env = match vars {
            Some(map) => env.source(Some(map.into_iter().collect())),
            None => env,
        };
        collect_into(&mut raw, config::Config::builder().add_source(env))?;
        Parser { raw, errors: Vec::new() }.settings()
    }

    /// The socket address to bind, `host:port`.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.backend_host, self.backend_port)
    }

    /// Access-token lifetime.
    pub fn access_token_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.access_token_expire_minutes))
    }

    /// Refresh-token lifetime.
    pub fn refresh_token_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.refresh_token_expire_minutes))
    }
}

/// Builds one source and adds its non-empty values to `raw`, keys lower-cased.
fn collect_into(
    raw: &mut HashMap<String, String>,
    builder: config::ConfigBuilder<config::builder::DefaultState>,
) -> Result<(), SettingsError> {
    let values = builder
        .build()
        .map_err(|e| SettingsError::Source(e.to_string()))?
        .try_deserialize::<HashMap<String, config::Value>>()
        .map_err(|e| SettingsError::Source(e.to_string()))?;
    for (key, value) in values {
        let text = value.into_string().map_err(|e| {
            SettingsError::Invalid(vec![SettingError {
                variable: var_name(&key),
                message: format!("{e}; expected a plain value"),
            }])
        })?;
        if !text.is_empty() {
            raw.insert(key.to_lowercase(), text);
        }
    }
    Ok(())
}

fn var_name(key: &str) -> String {
    format!("{PREFIX}_{}", key.to_uppercase())
}

struct Parser {
    raw: HashMap<String, String>,
    errors: Vec<SettingError>,
}

impl Parser {
    fn get(&self, key: &str) -> Option<&str> {
        self.raw.get(key).map(String::as_str)
    }

    fn fail(&mut self, key: &str, message: String) {
        self.errors.push(SettingError { variable: var_name(key), message });
    }

    /// `KWIK_SMTP_*` and `KWIK_EMAILS_FROM_*`.
    fn mail(&mut self) -> MailSettings {
        let tls = match self.get("smtp_tls").map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "starttls" | "true" | "1") => SmtpTls::StartTls,
            Some("tls" | "ssl") => SmtpTls::Tls,
            Some("none" | "false" | "0") => SmtpTls::None,
            Some(other) => {
                let message = format!("'{other}' is not valid; expected starttls, tls or none");
                self.fail("smtp_tls", message);
                SmtpTls::StartTls
            }
        };
        let default_port = if tls == SmtpTls::Tls { 465 } else { 587 };
        let non_empty = |value: Option<&str>| value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let host = non_empty(self.get("smtp_host"));
        let from_email = non_empty(self.get("emails_from_email"));
        if host.is_some() && from_email.is_none() {
            self.fail("emails_from_email", "required with KWIK_SMTP_HOST (the sender address)".to_owned());
        }
        MailSettings {
            port: self.number("smtp_port", default_port, 1u16, u16::MAX),
            user: non_empty(self.get("smtp_user")),
            password: self.get("smtp_password").filter(|p| !p.is_empty()).map(|p| Secret::new(p.to_owned())),
            from_name: non_empty(self.get("emails_from_name")),
            timeout: Duration::from_secs(self.number("smtp_timeout", 10u64, 1, 600)),
            host,
            tls,
            from_email,
        }
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_owned()
    }

    fn number<T>(&mut self, key: &str, default: T, min: T, max: T) -> T
    where
        T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
    {
        let Some(text) = self.get(key).map(str::to_owned) else { return default };
        match text.trim().parse::<T>() {
            Ok(value) if value >= min && value <= max => value,
            _ => {
                self.fail(key, format!("'{text}' is not valid; expected an integer from {min} to {max}"));
                default
            }
        }
    }

    fn seconds(&mut self, key: &str, default: f64) -> Duration {
        let Some(text) = self.get(key).map(str::to_owned) else {
            return Duration::from_secs_f64(default);
        };
        match text.trim().parse::<f64>() {
            Ok(value) if value.is_finite() && (0.0..=86_400.0).contains(&value) => Duration::from_secs_f64(value),
            _ => {
                self.fail(key, format!("'{text}' is not valid; expected a number of seconds from 0 to 86400"));
                Duration::from_secs_f64(default)
            }
        }
    }

    fn boolean(&mut self, key: &str, default: bool) -> bool {
        let Some(text) = self.get(key).map(str::to_owned) else { return default };
        match text.trim().to_lowercase().as_str() {
            "1" | "true" | "yes" | "on" | "t" | "y" => true,
            "0" | "false" | "no" | "off" | "f" | "n" => false,
            _ => {
                self.fail(key, format!("'{text}' is not valid; expected true or false"));
                default
            }
        }
    }

    fn choice<T: Copy>(&mut self, key: &str, default: T, options: &[(&str, T)]) -> T {
        let Some(text) = self.get(key).map(str::to_owned) else { return default };
        if let Some((_, value)) = options.iter().find(|(name, _)| name.eq_ignore_ascii_case(text.trim())) {
            return *value;
        }
        let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
        self.fail(key, format!("'{text}' is not valid; expected one of: {}", names.join(", ")));
        default
    }

    fn settings(mut self) -> Result<Settings, SettingsError> {
        let app_env = self.choice(
            "app_env",
            AppEnv::Development,
            &[("development", AppEnv::Development), ("production", AppEnv::Production)],
        );
        let production = app_env == AppEnv::Production;
        let backend_host = self.string("backend_host", "127.0.0.1");
        let backend_port = self.number("backend_port", 8080u16, 0, u16::MAX);
        let api_v1_str = self.api_prefix();
        let protocol = self.choice("protocol", "http", &[("http", "http"), ("https", "https")]).to_owned();
        let (secret_key, secret_key_generated) = self.secret_key(production);
        let access_token_expire_minutes = self.number("access_token_expire_minutes", 10_080u32, 1, 5_256_000);
        let refresh_token_expire_minutes = self.number("refresh_token_expire_minutes", 43_200u32, 1, 5_256_000);
        let backend_cors_origins = self.cors_origins();
        let backend_cors_allow_credentials = self.boolean("backend_cors_allow_credentials", true);
        if backend_cors_allow_credentials && backend_cors_origins.iter().any(|o| o == "*") {
            self.fail(
                "backend_cors_origins",
                "'*' (any origin) cannot be combined with credentials (KWIK_BACKEND_CORS_ALLOW_CREDENTIALS=true, \
                 the default): browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests, and \
                 reflecting every origin instead would let any web site call the API with a user's credentials; \
                 expected the list of allowed origins (e.g. https://app.example.com), or \
                 KWIK_BACKEND_CORS_ALLOW_CREDENTIALS=false to allow any origin without credentials"
                    .to_owned(),
            );
        }
        let backend_graceful_timeout = self.seconds("backend_graceful_timeout", 30.0);
        let debug = self.boolean("debug", !production);
        let log_level = self.log_level();
        let log_format =
            self.choice("log_format", LogFormat::Text, &[("text", LogFormat::Text), ("json", LogFormat::Json)]);
        let database_url = Secret::new(self.database_url());
        let pool_size = self.number("postgres_pool_size", 10u32, 1, 10_000);
        let max_overflow = self.number("postgres_max_overflow", 20u32, 0, 10_000);
        let acquire_timeout = self.seconds("postgres_pool_timeout", 10.0);
        let pool = PoolSettings { max_connections: pool_size + max_overflow, min_connections: 0, acquire_timeout };
        let project_name = self.string("project_name", "kwik");
        let first_superuser = self.string("first_superuser", "admin@example.com");
        let first_superuser_password = Secret::new(self.string("first_superuser_password", DEFAULT_SUPERUSER_PASSWORD));
        if production && first_superuser_password.expose() == DEFAULT_SUPERUSER_PASSWORD {
            self.fail(
                "first_superuser_password",
                "the default password 'admin' is refused when KWIK_APP_ENV=production; expected a strong password"
                    .to_owned(),
            );
        }
        let password_min_length = self.number("password_min_length", 12usize, 1, 72);
        let max_body_bytes = self.number("max_body_bytes", 1_048_576usize, 1024, 1 << 30);
        let list_max_limit = self.number("list_max_limit", 1000u64, 1, i64::MAX.cast_unsigned());
        let list_max_filters = self.number("list_max_filters", 32usize, 1, 200);
        let list_max_sort_fields = self.number("list_max_sort_fields", 8usize, 1, 64);
        let list_max_in_values = self.number("list_max_in_values", 1000usize, 1, 10_000);
        let tenancy_enabled = self.boolean("tenancy_enabled", false);
        let audit_log_retention_days = NonZeroU32::new(self.number("audit_log_retention_days", 0u32, 0, 36_500));
        let principal_cache = PrincipalCacheSettings {
            size: self.number("principal_cache_size", 10_000usize, 0, 10_000_000),
            check_interval: Duration::from_millis(self.number("principal_cache_check_ms", 250u64, 10, 60_000)),
            ttl: Duration::from_secs(self.number("principal_cache_ttl", 60u64, 1, 86_400)),
        };
        let jobs = JobSettings {
            workers: self.boolean("jobs_workers", true),
            concurrency: self.number("jobs_concurrency", 4usize, 1, 1000),
            poll_interval: Duration::from_millis(self.number("jobs_poll_ms", 250u64, 10, 60_000)),
            heartbeat: Duration::from_secs(self.number("jobs_heartbeat", 5u64, 1, 3600)),
            retention: Some(self.number("jobs_retention_days", 7u64, 0, 36_500))
                .filter(|days| *days > 0)
                .map(|days| Duration::from_hours(days * 24)),
        };
        let mail = self.mail();
        let frontend_reset_url = self.get("frontend_reset_url").filter(|u| !u.is_empty()).map(str::to_owned);
        if let Some(url) = &frontend_reset_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            self.fail("frontend_reset_url", "expected an http:// or https:// URL".to_owned());
        }
        let request_timeout = Some(self.seconds("request_timeout", 30.0)).filter(|d| !d.is_zero());
        let rate_limit_enabled = self.boolean("rate_limit_enabled", true);
        let rate_limit_per_minute = NonZeroU32::new(self.number("rate_limit_per_minute", 0u32, 0, 1_000_000));
        let auth_rate_limit_per_minute = self.number("auth_rate_limit_per_minute", 10u32, 1, 1_000_000);
        let trusted_proxies = self.trusted_proxies();
        let rate_limit_storage = self.choice(
            "rate_limit_storage",
            RateLimitStorage::Memory,
            &[("memory", RateLimitStorage::Memory), ("redis", RateLimitStorage::Redis)],
        );
        let redis_url = Secret::new(self.redis_url());
        let rate_limit_key_prefix = self.string("rate_limit_key_prefix", "kwik:rate-limit:");
        let metrics_token = self.get("metrics_token").map(|t| Secret::new(t.to_owned()));
        if metrics_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            self.fail("metrics_token", "the token is too short; expected at least 16 characters".to_owned());
        }
        let argon2 = Argon2Settings {
            memory_kib: self.number("argon2_memory_kib", 19_456u32, 8, 4_194_304),
            iterations: self.number("argon2_iterations", 2u32, 1, 100),
            parallelism: self.number("argon2_parallelism", 1u32, 1, 16),
        };

        if !self.errors.is_empty() {
            return Err(SettingsError::Invalid(self.errors));
        }
        Ok(Settings {
            app_env,
            backend_host,
            backend_port,
            api_v1_str,
            protocol,
            secret_key,
            secret_key_generated,
            access_token_expire_minutes,
            refresh_token_expire_minutes,
            backend_cors_origins,
            backend_cors_allow_credentials,
            backend_graceful_timeout,
            debug,
            log_level,
            log_format,
            database_url,
            pool,
            project_name,
            first_superuser,
            first_superuser_password,
            password_min_length,
            max_body_bytes,
            request_timeout,
            rate_limit_enabled,
            rate_limit_per_minute,
            auth_rate_limit_per_minute,
            trusted_proxies,
            rate_limit_storage,
            redis_url,
            rate_limit_key_prefix,
            metrics_token,
            list_max_limit,
            list_max_filters,
            list_max_sort_fields,
            list_max_in_values,
            tenancy_enabled,
            audit_log_retention_days,
            principal_cache,
            jobs,
            mail,
            frontend_reset_url,
            argon2,
        })
    }

    /// `KWIK_REDIS_URL`, checked for a scheme this build can use; the rest of the URL is checked
    /// by the Redis client when it connects. Error messages never repeat the URL: it may carry a
    /// password.
    fn redis_url(&mut self) -> String {
        let default = "redis://127.0.0.1:6379/0";
        let Some(url) = self.get("redis_url").map(str::trim).map(str::to_owned) else { return default.to_owned() };
        if url.starts_with("rediss://") {
            self.fail(
                "redis_url",
                "TLS (rediss://) is not supported; expected redis:// (use a TLS tunnel or a private network)"
                    .to_owned(),
            );
        } else if !["redis://", "redis+unix://", "unix://"].iter().any(|scheme| url.starts_with(scheme)) {
            self.fail(
                "redis_url",
                "the URL is not valid; expected redis://[:password@]host[:port][/db] or redis+unix:///path".to_owned(),
            );
        }
        url
    }

    fn api_prefix(&mut self) -> String {
        let value = self.string("api_v1_str", "/api/v1");
        let valid = value.starts_with('/')
            && !value.ends_with('/')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
        if !valid {
            self.fail(
                "api_v1_str",
                format!("'{value}' is not valid; expected a path such as /api/v1 (leading slash, no trailing slash)"),
            );
            return "/api/v1".to_owned();
        }
        value
    }

    fn secret_key(&mut self, production: bool) -> (Secret, bool) {
        match self.get("secret_key").map(str::to_owned) {
            Some(key) if key.len() >= 32 => (Secret::new(key), false),
            Some(_) => {
                self.fail("secret_key", "the key is too short; expected at least 32 bytes (256 bits, RFC 7518 §3.2), e.g. `openssl rand -base64 48`".to_owned());
                (Secret::new(""), false)
            }
            None if production => {
                self.fail("secret_key", "missing; it is required when KWIK_APP_ENV=production (expected at least 32 random bytes, e.g. `openssl rand -base64 48`)".to_owned());
                (Secret::new(""), false)
            }
            None => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let hex = bytes.iter().fold(String::with_capacity(64), |mut out, b| {
                    let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
                    out
                });
                (Secret::new(hex), true)
            }
        }
    }

    fn cors_origins(&mut self) -> Vec<String> {
        let Some(text) = self.get("backend_cors_origins").map(str::to_owned) else { return Vec::new() };
        let trimmed = text.trim();
        let origins: Vec<String> = if trimmed.starts_with('[') {
            if let Ok(list) = serde_json::from_str::<Vec<String>>(trimmed) {
                list
            } else {
                self.fail("backend_cors_origins", format!("'{text}' is not a JSON array of strings; expected e.g. [\"https://app.example.com\"] or a comma list"));
                return Vec::new();
            }
        } else {
            trimmed.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
        };
        for origin in &origins {
            let ok = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                self.fail(
                    "backend_cors_origins",
                    format!(
                        "'{origin}' is not an origin; expected scheme://host[:port] such as https://app.example.com"
                    ),
                );
            }
        }
        origins.into_iter().map(|o| o.trim_end_matches('/').to_owned()).collect()
    }

    fn trusted_proxies(&mut self) -> Vec<IpNet> {
        let Some(text) = self.get("trusted_proxies").map(str::to_owned) else { return Vec::new() };
        let mut proxies = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            // An exact address, or a range parsed by `ipnet`.
            let net = part.parse::<IpAddr>().map(IpNet::from).or_else(|_| part.parse::<IpNet>());
            match net {
                Ok(net) => proxies.push(canonical_net(net)),
                Err(_) => self.fail(
                    "trusted_proxies",
                    format!(
                        "'{part}' is not an IP address or CIDR range; expected a comma list such as \
                         10.0.0.2,10.1.0.0/16,fd00::/8"
                    ),
                ),
            }
        }
        proxies
    }

    fn log_level(&mut self) -> String {
        let text = self.string("log_level", "info");
        let mapped = match text.to_lowercase().as_str() {
            "warning" => "warn".to_owned(),
            "critical" | "fatal" => "error".to_owned(),
            "notset" => "trace".to_owned(),
            other => other.to_owned(),
        };
        let valid = mapped.split(',').all(|directive| {
            let level = directive.rsplit('=').next().unwrap_or_default().trim();
            matches!(level, "trace" | "debug" | "info" | "warn" | "error" | "off")
        });
        if !valid {
            self.fail("log_level", format!("'{text}' is not valid; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or a filter such as kwik_http=debug,info"));
            return "info".to_owned();
        }
        mapped
    }

    fn database_url(&mut self) -> String {
        if let Some(url) = self.get("database_url").map(str::to_owned) {
            return self.check_database_url("database_url", &url);
        }
        if let Some(uri) = self.get("sqlalchemy_database_uri").map(str::to_owned) {
            let translated = translate_sqlalchemy_uri(&uri);
            return self.check_database_url("sqlalchemy_database_uri", &translated);
        }
        let keys = ["postgres_server", "postgres_user", "postgres_password", "postgres_db", "postgres_port"];
        if keys.iter().any(|k| self.raw.contains_key(*k)) {
            let port = self.number("postgres_port", 5432u16, 1, u16::MAX);
            let Ok(mut url) = url::Url::parse("postgres://localhost") else {
                return DEFAULT_SQLITE_URL.to_owned();
            };
            let host = self.string("postgres_server", "db");
            if url.set_host(Some(&host)).is_err() {
                self.fail("postgres_server", format!("'{host}' is not a host name; expected e.g. localhost"));
            }
            let _ = url.set_port(Some(port));
            let _ = url.set_username(&self.string("postgres_user", "postgres"));
            let _ = url.set_password(Some(&self.string("postgres_password", "root")));
            url.set_path(&self.string("postgres_db", "db"));
            return url.to_string();
        }
        DEFAULT_SQLITE_URL.to_owned()
    }

    fn check_database_url(&mut self, key: &str, url: &str) -> String {
        let ok = url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://");
        if !ok {
            let scheme = url.split(':').next().unwrap_or_default();
            self.fail(key, format!("unsupported scheme '{scheme}'; expected sqlite://path, sqlite::memory: or postgres://user:password@host:port/database"));
        }
        url.to_owned()
    }
}

/// `net` with its host bits cleared, and an IPv4-mapped IPv6 network (`::ffff:a.b.c.d/n`, n ≥ 96)
/// as the IPv4 network it stands for, so that it matches peers in [`IpAddr::to_canonical`] form.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && let Some(prefix) = v6.prefix_len().checked_sub(96)
        && let Ok(mapped) = ipnet::Ipv4Net::new(v4, prefix)
    {
        return IpNet::V4(mapped.trunc());
    }
    net.trunc()
}

/// Turns a SQLAlchemy URI (Kwik's `SQLALCHEMY_DATABASE_URI`) into a sqlx URL:
/// `postgresql+psycopg2://...` → `postgres://...`, `sqlite:///relative.db` → `sqlite://relative.db`.
fn translate_sqlalchemy_uri(uri: &str) -> String {
    if let Some((scheme, rest)) = uri.split_once("://") {
        let base = scheme.split('+').next().unwrap_or(scheme);
        return match base {
            "postgresql" | "postgres" => format!("postgres://{rest}"),
            "sqlite" => format!("sqlite://{}", rest.strip_prefix('/').unwrap_or(rest)),
            _ => uri.to_owned(),
        };
    }
    uri.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_vars(vars.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn defaults_match_kwik() {
        let s = load(&[]).unwrap();
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.backend_port, 8080);
        assert_eq!(s.api_v1_str, "/api/v1");
        assert_eq!(s.access_token_expire_minutes, 10_080);
        assert_eq!(s.first_superuser, "admin@example.com");
        assert_eq!(s.first_superuser_password.expose(), "admin");
        assert_eq!(s.password_min_length, 12);
        assert_eq!(s.database_url.expose(), "sqlite://kwik.sqlite");
        assert_eq!(s.pool.max_connections, 30);
        assert_eq!(s.pool.acquire_timeout, Duration::from_secs(10));
        assert_eq!(s.backend_graceful_timeout, Duration::from_secs(30));
        assert!(s.debug);
        assert!(s.secret_key_generated);
        assert!(s.secret_key.expose().len() >= 32);
        assert_eq!(s.rate_limit_storage, RateLimitStorage::Memory);
        assert_eq!(s.redis_url.expose(), "redis://127.0.0.1:6379/0");
        assert_eq!(s.rate_limit_key_prefix, "kwik:rate-limit:");
    }

    #[test]
    fn redis_url_errors_do_not_repeat_the_url() {
        let err = load(&[("KWIK_REDIS_URL", "rediss://:hunter2@cache:6380")]).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn generated_keys_differ_per_process_start() {
        assert_ne!(load(&[]).unwrap().secret_key, load(&[]).unwrap().secret_key);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = load(&[
            ("KWIK_SECRET_KEY", "0123456789abcdef0123456789abcdef-top-secret"),
            ("KWIK_DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("KWIK_REDIS_URL", "redis://:s3cr3t-redis@cache:6379/0"),
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cr3t-redis"));
        assert!(!shown.contains("top-secret"));
        assert!(!shown.contains("hunter2"));
    }

    #[rstest]
    #[case("KWIK_BACKEND_PORT", "abc", "expected an integer from 0 to 65535")]
    #[case("KWIK_BACKEND_PORT", "70000", "expected an integer from 0 to 65535")]
    #[case("KWIK_APP_ENV", "staging", "expected one of: development, production")]
    #[case("KWIK_DEBUG", "maybe", "expected true or false")]
    #[case("KWIK_PASSWORD_MIN_LENGTH", "0", "expected an integer from 1 to 72")]
    #[case("KWIK_PASSWORD_MIN_LENGTH", "73", "expected an integer from 1 to 72")]
    #[case("KWIK_ACCESS_TOKEN_EXPIRE_MINUTES", "-5", "expected an integer")]
    #[case("KWIK_SECRET_KEY", "short", "at least 32 bytes")]
    #[case("KWIK_BACKEND_CORS_ORIGINS", "not an origin", "expected scheme://host")]
    #[case("KWIK_BACKEND_CORS_ORIGINS", "[1, 2", "JSON array")]
    #[case("KWIK_DATABASE_URL", "mysql://x", "unsupported scheme 'mysql'")]
    #[case("KWIK_LOG_LEVEL", "loud", "expected DEBUG, INFO")]
    #[case("KWIK_LOG_FORMAT", "xml", "expected one of: text, json")]
    #[case("KWIK_API_V1_STR", "api/", "leading slash")]
    #[case("KWIK_POSTGRES_POOL_TIMEOUT", "soon", "number of seconds")]
    #[case("KWIK_BACKEND_GRACEFUL_TIMEOUT", "-1", "number of seconds")]
    #[case("KWIK_TRUSTED_PROXIES", "10.0.0.1,proxy", "'proxy' is not an IP address or CIDR range")]
    #[case("KWIK_TRUSTED_PROXIES", "10.0.0.0/33", "'10.0.0.0/33' is not an IP address or CIDR range")]
    #[case("KWIK_TRUSTED_PROXIES", "10.0.0.0/", "not an IP address or CIDR range")]
    #[case("KWIK_RATE_LIMIT_PER_MINUTE", "-1", "expected an integer from 0 to 1000000")]
    #[case("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS", "sometimes", "expected true or false")]
    #[case("KWIK_REQUEST_TIMEOUT", "forever", "number of seconds")]
    #[case("KWIK_METRICS_TOKEN", "short", "at least 16 characters")]
    #[case("KWIK_RATE_LIMIT_STORAGE", "memcached", "expected one of: memory, redis")]
    #[case("KWIK_REDIS_URL", "rediss://cache:6380", "TLS (rediss://) is not supported")]
    #[case("KWIK_REDIS_URL", "cache:6379", "expected redis://")]
    fn invalid_values_name_the_variable(#[case] var: &str, #[case] value: &str, #[case] expected: &str) {
        let err = load(&[(var, value)]).unwrap_err();
        let errors = err.errors();
        assert_eq!(errors.len(), 1, "{err}");
        assert_eq!(errors[0].variable, var);
        assert!(errors[0].message.contains(expected), "{}", errors[0].message);
        assert!(err.to_string().contains(var));
    }

    #[test]
    fn production_requires_secret_key_and_real_admin_password() {
        let err = load(&[("KWIK_APP_ENV", "production")]).unwrap_err();
        let vars: Vec<&str> = err.errors().iter().map(|e| e.variable.as_str()).collect();
        assert_eq!(vars, ["KWIK_SECRET_KEY", "KWIK_FIRST_SUPERUSER_PASSWORD"]);

        let ok = load(&[
            ("KWIK_APP_ENV", "production"),
            ("KWIK_SECRET_KEY", "a-very-long-production-secret-key-of-48-bytes!!"),
            ("KWIK_FIRST_SUPERUSER_PASSWORD", "correct horse battery staple"),
        ])
        .unwrap();
        assert!(!ok.debug);
        assert!(!ok.secret_key_generated);
    }

    #[test]
    fn empty_values_are_ignored_like_kwik() {
        let s = load(&[("KWIK_BACKEND_PORT", ""), ("KWIK_SECRET_KEY", "")]).unwrap();
        assert_eq!(s.backend_port, 8080);
        assert!(s.secret_key_generated);
    }

    #[rstest]
    #[case("https://a.example.com, http://localhost:3000", &["https://a.example.com", "http://localhost:3000"])]
    #[case(r#"["https://a.example.com/"]"#, &["https://a.example.com"])]
    fn cors_origins_accept_comma_list_or_json(#[case] value: &str, #[case] expected: &[&str]) {
        let s = load(&[("KWIK_BACKEND_CORS_ORIGINS", value)]).unwrap();
        assert_eq!(s.backend_cors_origins, expected);
    }

    #[rstest]
    #[case(&[("KWIK_SQLALCHEMY_DATABASE_URI", "postgresql+psycopg2://u:p@h:5433/d")], "postgres://u:p@h:5433/d")]
    #[case(&[("KWIK_SQLALCHEMY_DATABASE_URI", "sqlite:///app.db")], "sqlite://app.db")]
    #[case(&[("KWIK_POSTGRES_SERVER", "pg"), ("KWIK_POSTGRES_PASSWORD", "p@ss")], "postgres://postgres:p%40ss@pg:5432/db")]
    #[case(&[("KWIK_DATABASE_URL", "postgres://x@y/z"), ("KWIK_POSTGRES_SERVER", "ignored")], "postgres://x@y/z")]
    fn database_url_sources(#[case] vars: &[(&str, &str)], #[case] expected: &str) {
        assert_eq!(load(vars).unwrap().database_url.expose(), expected);
    }

    #[test]
    fn pool_follows_sqlalchemy_meaning() {
        let s = load(&[
            ("KWIK_POSTGRES_POOL_SIZE", "5"),
            ("KWIK_POSTGRES_MAX_OVERFLOW", "3"),
            ("KWIK_POSTGRES_POOL_TIMEOUT", "2.5"),
        ])
        .unwrap();
        assert_eq!(s.pool.max_connections, 8);
        assert_eq!(s.pool.acquire_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn production_layer_settings() {
        let s = load(&[
            ("KWIK_TRUSTED_PROXIES", "10.0.0.1, ::1"),
            ("KWIK_REQUEST_TIMEOUT", "0"),
            ("KWIK_RATE_LIMIT_ENABLED", "false"),
        ])
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.request_timeout, None);
        assert!(!s.rate_limit_enabled);
        let defaults = load(&[]).unwrap();
        assert_eq!(defaults.request_timeout, Some(Duration::from_secs(30)));
        assert!(defaults.rate_limit_enabled);
        assert_eq!(defaults.auth_rate_limit_per_minute, 10);
    }

    /// The general per-client limit is opt-in (issue 11): one address is often many users. The
    /// authentication limit stays on by default.
    #[test]
    fn the_general_rate_limit_is_opt_in() {
        assert_eq!(load(&[]).unwrap().rate_limit_per_minute, None);
        assert_eq!(load(&[("KWIK_RATE_LIMIT_PER_MINUTE", "0")]).unwrap().rate_limit_per_minute, None);
        assert_eq!(load(&[("KWIK_RATE_LIMIT_PER_MINUTE", "600")]).unwrap().rate_limit_per_minute, NonZeroU32::new(600));
    }

    #[rstest]
    #[case("10.0.0.2", "10.0.0.2/32")]
    #[case("10.1.0.0/16", "10.1.0.0/16")]
    #[case("10.1.2.3/16", "10.1.0.0/16")]
    #[case("fd00::/8", "fd00::/8")]
    #[case("::1", "::1/128")]
    #[case("::ffff:10.0.0.2", "10.0.0.2/32")]
    #[case("::ffff:10.0.0.0/104", "10.0.0.0/8")]
    fn trusted_proxies_take_addresses_and_ranges(#[case] value: &str, #[case] expected: &str) {
        let s = load(&[("KWIK_TRUSTED_PROXIES", value)]).unwrap();
        assert_eq!(s.trusted_proxies, [expected.parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn trusted_proxies_mix_addresses_and_ranges() {
        let s = load(&[("KWIK_TRUSTED_PROXIES", " 10.0.0.2, 172.16.0.0/12 ,fd00::/8")]).unwrap();
        let contains = |ip: &str| s.trusted_proxies.iter().any(|net| net.contains(&ip.parse::<IpAddr>().unwrap()));
        assert!(contains("10.0.0.2") && contains("172.31.255.255") && contains("fd12::1"));
        assert!(!contains("10.0.0.3") && !contains("172.32.0.1") && !contains("fe80::1"));
    }

    /// `*` with credentials would reflect every origin with `Access-Control-Allow-Credentials`
    /// (browsers forbid the literal `*` there): refused at start-up, naming both variables.
    #[rstest]
    #[case(&[("KWIK_BACKEND_CORS_ORIGINS", "*")])]
    #[case(&[("KWIK_BACKEND_CORS_ORIGINS", "https://a.example.com, *")])]
    #[case(&[("KWIK_BACKEND_CORS_ORIGINS", r#"["*"]"#), ("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS", "true")])]
    fn any_origin_with_credentials_is_refused(#[case] vars: &[(&str, &str)]) {
        let err = load(vars).unwrap_err();
        let errors = err.errors();
        assert_eq!(errors.len(), 1, "{err}");
        assert_eq!(errors[0].variable, "KWIK_BACKEND_CORS_ORIGINS");
        assert!(errors[0].message.contains("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS"), "{}", errors[0].message);
        assert!(errors[0].message.contains("cannot be combined with credentials"), "{}", errors[0].message);
    }

    #[test]
    fn any_origin_without_credentials_is_accepted() {
        let s = load(&[("KWIK_BACKEND_CORS_ORIGINS", "*"), ("KWIK_BACKEND_CORS_ALLOW_CREDENTIALS", "false")]).unwrap();
        assert_eq!(s.backend_cors_origins, ["*"]);
        assert!(!s.backend_cors_allow_credentials);
        assert!(load(&[]).unwrap().backend_cors_allow_credentials, "Kwik's default");
    }

    #[test]
    fn python_log_levels_are_translated() {
        assert_eq!(load(&[("KWIK_LOG_LEVEL", "WARNING")]).unwrap().log_level, "warn");
        assert_eq!(load(&[("KWIK_LOG_LEVEL", "kwik_http=debug,info")]).unwrap().log_level, "kwik_http=debug,info");
    }

    #[test]
    fn settings_file_is_read_and_env_wins() {
        let dir = std::env::temp_dir().join(format!("kwik-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kwik.toml");
        std::fs::write(&path, "BACKEND_PORT = 9000\nPROJECT_NAME = \"from-file\"\n").unwrap();
        let s = load(&[("KWIK_SETTINGS_FILE", path.to_str().unwrap()), ("KWIK_PROJECT_NAME", "from-env")]).unwrap();
        assert_eq!(s.backend_port, 9000);
        assert_eq!(s.project_name, "from-env");
        let missing = load(&[("KWIK_SETTINGS_FILE", "/nonexistent/kwik.toml")]).unwrap_err();
        assert!(matches!(missing, SettingsError::Source(_)));
    }
}
