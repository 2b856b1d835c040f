//! The groups of settings, one per subsystem, as serde reads them from the flat `KWIK_*`
//! variables (each field's variable is its serde name), with Kwik's defaults.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

use super::{IpNet, LogFormat, RateLimitStorage, Secret, SmtpTls, values};

/// The HTTP server's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// `KWIK_BACKEND_HOST`: interface to bind. Default `127.0.0.1` (Kwik: `localhost`).
    #[serde(rename = "backend_host")]
    pub host: String,
    /// `KWIK_BACKEND_PORT`: TCP port, default 8080; 0 picks a free port.
    #[serde(rename = "backend_port", deserialize_with = "values::integer::<0, 65535, _, _>")]
    pub port: u16,
    /// `KWIK_API_V1_STR`: prefix of every API route, default `/api/v1`.
    #[serde(deserialize_with = "values::api_prefix")]
    pub api_v1_str: String,
    /// `KWIK_PROTOCOL`: `http` (default) or `https`, the scheme clients use to reach the server.
    #[serde(deserialize_with = "values::protocol")]
    pub protocol: String,
    /// `KWIK_BACKEND_GRACEFUL_TIMEOUT`: seconds in-flight requests get to finish on shutdown (30).
    #[serde(rename = "backend_graceful_timeout", deserialize_with = "values::seconds")]
    pub graceful_timeout: Duration,
    /// `KWIK_MAX_BODY_BYTES`: largest accepted request body in bytes, default 1048576 (1 MiB),
    /// from 1024 to 1073741824.
    #[serde(deserialize_with = "values::integer::<1024, 1_073_741_824, _, _>")]
    pub max_body_bytes: usize,
    /// `KWIK_REQUEST_TIMEOUT`: seconds a request may take before it is answered 503 (default 30;
    /// 0 disables).
    #[serde(deserialize_with = "values::seconds_or_off")]
    pub request_timeout: Option<Duration>,
    /// `KWIK_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed, a comma list of addresses (`10.0.0.2`, an exact address, is `10.0.0.2/32`) and
    /// CIDR ranges (`10.0.0.0/8`, `fd00::/8`); empty = none. Kept in canonical form: host bits
    /// cleared, and an IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as its IPv4 range, since
    /// peers are compared as [`std::net::IpAddr::to_canonical`] gives them.
    #[serde(deserialize_with = "values::trusted_proxies")]
    pub trusted_proxies: Vec<IpNet>,
    /// `KWIK_METRICS_TOKEN` (at least 16 characters): when set, `GET /metrics` serves Prometheus
    /// metrics to requests with `Authorization: Bearer <token>`; unset (the default), `/metrics`
    /// does not exist.
    #[serde(deserialize_with = "values::metrics_token")]
    pub metrics_token: Option<Secret>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            api_v1_str: "/api/v1".to_owned(),
            protocol: "http".to_owned(),
            graceful_timeout: Duration::from_secs(30),
            max_body_bytes: 1_048_576,
            request_timeout: Some(Duration::from_secs(30)),
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogSettings {
    /// `KWIK_LOG_LEVEL`: a tracing filter (`info`, `debug`, `kwik_http=debug,info`...);
    /// Kwik's Python names (`INFO`, `WARNING`, `CRITICAL`) are accepted. Default `info`.
    #[serde(rename = "log_level", deserialize_with = "values::log_level")]
    pub level: String,
    /// `KWIK_LOG_FORMAT`: `text` (default) or `json`.
    #[serde(rename = "log_format", deserialize_with = "values::choice")]
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { level: "info".to_owned(), format: LogFormat::Text }
    }
}

/// The database and its pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "DatabaseVars")]
pub struct DatabaseSettings {
    /// The database URL: `KWIK_DATABASE_URL`, else Kwik's `KWIK_SQLALCHEMY_DATABASE_URI`, else one
    /// built from `KWIK_POSTGRES_*` when any is set, else `sqlite://kwik.sqlite` (created if missing).
    pub url: Secret,
    /// Pool sizing and timeouts.
    pub pool: PoolSettings,
}

/// Connection-pool settings (Kwik's `POSTGRES_POOL_*`, applied to both backends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Maximum open connections: `POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW` (SQLAlchemy's meaning).
    pub max_connections: u32,
    /// Connections kept open when idle.
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

const DEFAULT_SQLITE_URL: &str = "sqlite://kwik.sqlite";

/// The database variables as written; [`DatabaseSettings`] is what they mean.
#[derive(Deserialize)]
#[serde(default)]
struct DatabaseVars {
    #[serde(deserialize_with = "values::database_url")]
    database_url: Option<String>,
    #[serde(deserialize_with = "values::sqlalchemy_uri")]
    sqlalchemy_database_uri: Option<String>,
    #[serde(deserialize_with = "values::host")]
    postgres_server: Option<String>,
    postgres_user: Option<String>,
    postgres_password: Option<String>,
    postgres_db: Option<String>,
    #[serde(deserialize_with = "values::port")]
    postgres_port: Option<u16>,
    #[serde(deserialize_with = "values::integer::<1, 10_000, _, _>")]
    postgres_pool_size: u32,
    #[serde(deserialize_with = "values::integer::<0, 10_000, _, _>")]
    postgres_max_overflow: u32,
    #[serde(deserialize_with = "values::seconds")]
    postgres_pool_timeout: Duration,
}

impl Default for DatabaseVars {
    fn default() -> Self {
        Self {
            database_url: None,
            sqlalchemy_database_uri: None,
            postgres_server: None,
            postgres_user: None,
            postgres_password: None,
            postgres_db: None,
            postgres_port: None,
            postgres_pool_size: 10,
            postgres_max_overflow: 20,
            postgres_pool_timeout: Duration::from_secs(10),
        }
    }
}

/// The URL of `KWIK_POSTGRES_*` with Kwik's defaults for the parts not given; `url` escapes what a
/// URL cannot hold as is. The host was checked when read ([`values::host`]), and the other parts
/// always fit.
fn postgres_url_from_parts(vars: &DatabaseVars) -> String {
    let mut url = url::Url::parse("postgres://localhost").unwrap_or_else(|_| unreachable!("a constant URL"));
    let _ = url.set_host(Some(vars.postgres_server.as_deref().unwrap_or("db")));
    let _ = url.set_port(Some(vars.postgres_port.unwrap_or(5432)));
    let _ = url.set_username(vars.postgres_user.as_deref().unwrap_or("postgres"));
    let _ = url.set_password(Some(vars.postgres_password.as_deref().unwrap_or("root")));
    url.set_path(vars.postgres_db.as_deref().unwrap_or("db"));
    url.to_string()
}

impl From<DatabaseVars> for DatabaseSettings {
    fn from(vars: DatabaseVars) -> Self {
        let parts_given = vars.postgres_server.is_some()
            || vars.postgres_user.is_some()
            || vars.postgres_password.is_some()
            || vars.postgres_db.is_some()
            || vars.postgres_port.is_some();
        let url = vars
            .database_url
            .clone()
            .or_else(|| vars.sqlalchemy_database_uri.clone())
            .or_else(|| parts_given.then(|| postgres_url_from_parts(&vars)))
            .unwrap_or_else(|| DEFAULT_SQLITE_URL.to_owned());
        let pool = PoolSettings {
            max_connections: vars.postgres_pool_size + vars.postgres_max_overflow,
            min_connections: 0,
            acquire_timeout: vars.postgres_pool_timeout,
        };
        Self { url: Secret::new(url), pool }
    }
}

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    /// `KWIK_ACCESS_TOKEN_EXPIRE_MINUTES`: access-token lifetime in minutes, default 10080 (7 days).
    #[serde(deserialize_with = "values::integer::<1, 5_256_000, _, _>")]
    pub access_token_expire_minutes: u32,
    /// `KWIK_REFRESH_TOKEN_EXPIRE_MINUTES`: refresh-token lifetime in minutes, default 43200 (30 days).
    #[serde(deserialize_with = "values::integer::<1, 5_256_000, _, _>")]
    pub refresh_token_expire_minutes: u32,
    /// `KWIK_FIRST_SUPERUSER`: email of the bootstrap administrator, default `admin@example.com`.
    pub first_superuser: String,
    /// `KWIK_FIRST_SUPERUSER_PASSWORD`: default `admin` (refused in production).
    #[serde(deserialize_with = "values::secret")]
    pub first_superuser_password: Secret,
    /// `KWIK_PASSWORD_MIN_LENGTH`: minimum password length in characters, 1..=72, default 12.
    #[serde(deserialize_with = "values::integer::<1, 72, _, _>")]
    pub password_min_length: usize,
    /// `KWIK_FRONTEND_RESET_URL`: the front end's password-reset page; the reset email links to
    /// it with `?token=...` appended. Unset: the email carries the token itself.
    #[serde(deserialize_with = "values::http_url")]
    pub frontend_reset_url: Option<String>,
    /// argon2id cost for new password hashes.
    #[serde(flatten)]
    pub argon2: Argon2Settings,
}

pub(super) const DEFAULT_SUPERUSER_PASSWORD: &str = "admin";

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            access_token_expire_minutes: 10_080,
            refresh_token_expire_minutes: 43_200,
            first_superuser: "admin@example.com".to_owned(),
            first_superuser_password: Secret::new(DEFAULT_SUPERUSER_PASSWORD),
            password_min_length: 12,
            frontend_reset_url: None,
            argon2: Argon2Settings::default(),
        }
    }
}

/// argon2id cost parameters. The defaults are OWASP's Password Storage Cheat Sheet
/// recommendation (19456 KiB, 2 iterations, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Argon2Settings {
    /// `KWIK_ARGON2_MEMORY_KIB`: memory per hash, KiB, 8 to 4194304.
    #[serde(rename = "argon2_memory_kib", deserialize_with = "values::integer::<8, 4_194_304, _, _>")]
    pub memory_kib: u32,
    /// `KWIK_ARGON2_ITERATIONS`: passes over memory, 1 to 100.
    #[serde(rename = "argon2_iterations", deserialize_with = "values::integer::<1, 100, _, _>")]
    pub iterations: u32,
    /// `KWIK_ARGON2_PARALLELISM`: lanes, 1 to 16.
    #[serde(rename = "argon2_parallelism", deserialize_with = "values::integer::<1, 16, _, _>")]
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// Cross-origin resource sharing.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CorsSettings {
    /// `KWIK_BACKEND_CORS_ORIGINS`: allowed origins, comma list or JSON array; empty = CORS off.
    /// `*` (any origin) is refused while [`CorsSettings::allow_credentials`] is true.
    #[serde(rename = "backend_cors_origins", deserialize_with = "values::cors_origins")]
    pub origins: Vec<String>,
    /// `KWIK_BACKEND_CORS_ALLOW_CREDENTIALS`: CORS answers allow credentials
    /// (`Access-Control-Allow-Credentials: true`), default true as in Kwik (FastAPI's
    /// `CORSMiddleware(allow_credentials=True)`). Must be false for `KWIK_BACKEND_CORS_ORIGINS=*`.
    #[serde(rename = "backend_cors_allow_credentials", deserialize_with = "values::boolean")]
    pub allow_credentials: bool,
}

impl Default for CorsSettings {
    fn default() -> Self {
        Self { origins: Vec::new(), allow_credentials: true }
    }
}

/// Rate limiting.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// `KWIK_RATE_LIMIT_ENABLED`: rate limiting on (default true); false turns off both the
    /// general and the authentication limit.
    #[serde(rename = "rate_limit_enabled", deserialize_with = "values::boolean")]
    pub enabled: bool,
    /// `KWIK_RATE_LIMIT_PER_MINUTE`: the general limit, requests per minute per client address on
    /// every route. Opt-in: `None` (unset or `0`, the default) means no general limit, since one
    /// client address often stands for many users (an office behind NAT, a batch job) and Kwik
    /// clients must not see 429s in normal use. The authentication limit applies either way.
    /// At most 1000000.
    #[serde(rename = "rate_limit_per_minute", deserialize_with = "values::nonzero_or_off::<1_000_000, _>")]
    pub per_minute: Option<NonZeroU32>,
    /// `KWIK_AUTH_RATE_LIMIT_PER_MINUTE`: attempts per minute on login, refresh and password
    /// recovery, per client address and per account (default 10, at most 1000000) — brute-force
    /// protection (OWASP Authentication Cheat Sheet).
    #[serde(rename = "auth_rate_limit_per_minute", deserialize_with = "values::integer::<1, 1_000_000, _, _>")]
    pub auth_per_minute: u32,
    /// `KWIK_RATE_LIMIT_STORAGE`: `memory` (default; counters per process) or `redis` (counters
    /// shared by every instance, in `KWIK_REDIS_URL`).
    #[serde(rename = "rate_limit_storage", deserialize_with = "values::choice")]
    pub storage: RateLimitStorage,
    /// `KWIK_REDIS_URL`: the Redis server for shared rate limits, `redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path/to/socket`, default `redis://127.0.0.1:6379/0`. TLS (`rediss://`)
    /// is not built in.
    #[serde(deserialize_with = "values::redis_url")]
    pub redis_url: Secret,
    /// `KWIK_RATE_LIMIT_KEY_PREFIX`: prefix of the Redis keys of rate-limit counters, default
    /// `kwik:rate-limit:` — give each application sharing one Redis its own.
    #[serde(rename = "rate_limit_key_prefix")]
    pub key_prefix: String,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            per_minute: None,
            auth_per_minute: 10,
            storage: RateLimitStorage::Memory,
            redis_url: Secret::new("redis://127.0.0.1:6379/0"),
            key_prefix: "kwik:rate-limit:".to_owned(),
        }
    }
}

/// Bounds of list queries (see the handbook's "Listing").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListSettings {
    /// `KWIK_LIST_MAX_LIMIT`: the largest `limit` of list queries (422 above), default 1000.
    /// Kwik has no maximum; set it high for clients that rely on that.
    #[serde(rename = "list_max_limit", deserialize_with = "values::integer::<1, 9_223_372_036_854_775_807, _, _>")]
    pub max_limit: u64,
    /// `KWIK_LIST_MAX_FILTERS`: the most conditions (`filter` parameters plus `filter_key`/`value`)
    /// one list request may carry (400 above), default 32, at most 200. Ours: Kwik bounds nothing,
    /// and thousands of conditions used to reach SQLite's expression-depth limit.
    #[serde(rename = "list_max_filters", deserialize_with = "values::integer::<1, 200, _, _>")]
    pub max_filters: usize,
    /// `KWIK_LIST_MAX_SORT_FIELDS`: the most fields one `sorting` may list (400 above), default 8,
    /// at most 64.
    #[serde(rename = "list_max_sort_fields", deserialize_with = "values::integer::<1, 64, _, _>")]
    pub max_sort_fields: usize,
    /// `KWIK_LIST_MAX_IN_VALUES`: the most values the `in` filters of one list request may list
    /// together (400 above), default 1000, at most 10000 (below both databases' bound-parameter
    /// limits).
    #[serde(rename = "list_max_in_values", deserialize_with = "values::integer::<1, 10_000, _, _>")]
    pub max_in_values: usize,
}

impl Default for ListSettings {
    fn default() -> Self {
        Self { max_limit: 1000, max_filters: 32, max_sort_fields: 8, max_in_values: 1000 }
    }
}

/// The principal cache's settings (see the handbook's "Principal cache").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PrincipalCacheSettings {
    /// `KWIK_PRINCIPAL_CACHE_SIZE`: how many users (and as many API keys) are kept; `0` turns the
    /// cache off (every request queries its principal). Default 10000, at most 10000000.
    #[serde(rename = "principal_cache_size", deserialize_with = "values::integer::<0, 10_000_000, _, _>")]
    pub size: usize,
    /// `KWIK_PRINCIPAL_CACHE_CHECK_MS`, milliseconds: on SQLite, how often the change counter is
    /// read (the bound on how long another process's change goes unseen); on PostgreSQL, how
    /// often a heartbeat goes through the notification channel (the cache is not used when
    /// none arrived for three intervals). Default 250, from 10 to 60000.
    #[serde(rename = "principal_cache_check_ms", deserialize_with = "values::millis::<10, 60_000, _>")]
    pub check_interval: Duration,
    /// `KWIK_PRINCIPAL_CACHE_TTL`, seconds: the most an entry is served without being re-read,
    /// whatever the notifications say. Default 60, from 1 to 86400.
    #[serde(rename = "principal_cache_ttl", deserialize_with = "values::whole_seconds::<1, 86_400, _>")]
    pub ttl: Duration,
}

impl Default for PrincipalCacheSettings {
    fn default() -> Self {
        Self { size: 10_000, check_interval: Duration::from_millis(250), ttl: Duration::from_mins(1) }
    }
}

/// The job workers' settings (see the handbook's "Jobs, schedules and email").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// `KWIK_JOBS_WORKERS`: whether `kwik-server serve` runs job workers beside the HTTP server
    /// (`kwik-server worker` always does). Default `true`.
    #[serde(rename = "jobs_workers", deserialize_with = "values::boolean")]
    pub workers: bool,
    /// `KWIK_JOBS_CONCURRENCY`: how many jobs of one kind a process runs at once. Default 4, from
    /// 1 to 1000.
    #[serde(rename = "jobs_concurrency", deserialize_with = "values::integer::<1, 1000, _, _>")]
    pub concurrency: usize,
    /// `KWIK_JOBS_POLL_MS`, milliseconds: how often an idle worker looks for due jobs (the delay
    /// before a new job starts, at most). Default 250, from 10 to 60000.
    #[serde(rename = "jobs_poll_ms", deserialize_with = "values::millis::<10, 60_000, _>")]
    pub poll_interval: Duration,
    /// `KWIK_JOBS_HEARTBEAT`, seconds: how often a worker tells the database it is alive. A
    /// worker silent for three heartbeats is dead, and its jobs run again elsewhere. Default 5,
    /// from 1 to 3600.
    #[serde(rename = "jobs_heartbeat", deserialize_with = "values::whole_seconds::<1, 3600, _>")]
    pub heartbeat: Duration,
    /// `KWIK_JOBS_RETENTION_DAYS`: finished (`done`) jobs are deleted this long after they ended,
    /// by the workers, hourly; dead jobs are kept. Default 7 days; `0`: kept forever; at most
    /// 36500.
    #[serde(rename = "jobs_retention_days", deserialize_with = "values::days_or_forever::<36_500, _>")]
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

/// Outgoing email settings (Kwik's names where Kwik has them).
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "MailVars")]
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

/// The mail variables as written; the port's default depends on the TLS mode.
#[derive(Deserialize)]
#[serde(default)]
struct MailVars {
    #[serde(deserialize_with = "values::trimmed")]
    smtp_host: Option<String>,
    #[serde(deserialize_with = "values::port")]
    smtp_port: Option<u16>,
    #[serde(deserialize_with = "values::trimmed")]
    smtp_user: Option<String>,
    smtp_password: Option<String>,
    #[serde(deserialize_with = "values::smtp_tls")]
    smtp_tls: SmtpTls,
    #[serde(deserialize_with = "values::whole_seconds::<1, 600, _>")]
    smtp_timeout: Duration,
    #[serde(deserialize_with = "values::trimmed")]
    emails_from_email: Option<String>,
    #[serde(deserialize_with = "values::trimmed")]
    emails_from_name: Option<String>,
}

impl Default for MailVars {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            smtp_user: None,
            smtp_password: None,
            smtp_tls: SmtpTls::StartTls,
            smtp_timeout: Duration::from_secs(10),
            emails_from_email: None,
            emails_from_name: None,
        }
    }
}

impl From<MailVars> for MailSettings {
    fn from(vars: MailVars) -> Self {
        let default_port = if vars.smtp_tls == SmtpTls::Tls { 465 } else { 587 };
        Self {
            host: vars.smtp_host,
            port: vars.smtp_port.unwrap_or(default_port),
            user: vars.smtp_user,
            password: vars.smtp_password.map(Secret::new),
            tls: vars.smtp_tls,
            from_email: vars.emails_from_email,
            from_name: vars.emails_from_name,
            timeout: vars.smtp_timeout,
        }
    }
}
