//! Settings read from `KWIK_*` environment variables (Kwik's names and defaults, CONTRACT §8),
//! optionally from a TOML file named by `KWIK_SETTINGS_FILE` (environment variables win).
//!
//! [`config`] merges the sources; serde maps the variables onto typed settings grouped by
//! subsystem ([`Settings::server`], [`Settings::auth`], [`Settings::database`]...), with Kwik's
//! defaults. Each value goes through a small parser (the private `values` module) whose message names what is
//! expected, and every invalid variable is reported at once, so an operator fixes them in one go:
//!
//! ```
//! use kwik_core::Settings;
//!
//! let settings = Settings::from_vars([("KWIK_BACKEND_PORT", "9000"), ("KWIK_POSTGRES_POOL_SIZE", "5")])?;
//! assert_eq!(settings.server.port, 9000);
//! assert_eq!(settings.database.pool.max_connections, 25); // 5 + KWIK_POSTGRES_MAX_OVERFLOW (20)
//!
//! let err = Settings::from_vars([("KWIK_BACKEND_PORT", "eighty"), ("KWIK_JOBS_CONCURRENCY", "0")]).unwrap_err();
//! let variables: Vec<&str> = err.errors().iter().map(|e| e.variable.as_str()).collect();
//! assert_eq!(variables, ["KWIK_BACKEND_PORT", "KWIK_JOBS_CONCURRENCY"]);
//! # Ok::<(), kwik_core::settings::SettingsError>(())
//! ```

mod groups;
mod load;
mod values;

use std::fmt;
use std::num::NonZeroU32;

pub use groups::{
    Argon2Settings, AuthSettings, CorsSettings, DatabaseSettings, JobSettings, ListSettings, LogSettings, MailSettings,
    PoolSettings, PrincipalCacheSettings, RateLimitSettings, ServerSettings,
};

/// An IP network (`10.0.0.0/8`, `fd00::/8`, or one address as `/32` / `/128`): the type of
/// [`ServerSettings::trusted_proxies`], from the `ipnet` crate.
pub use ipnet::IpNet;

/// Where the server runs; production refuses insecure defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppEnv {
    /// Local development: a random secret key is generated when none is set.
    #[default]
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

/// The framework's settings, one group per subsystem. Build with [`Settings::from_env`] (process
/// environment) or [`Settings::from_vars`] (an explicit map, for tests and embedding).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `KWIK_APP_ENV`: `development` (default) or `production`.
    pub app_env: AppEnv,
    /// `KWIK_PROJECT_NAME`: the API title in the OpenAPI document, default `kwik`.
    pub project_name: String,
    /// `KWIK_DEBUG`: default true in development, false in production.
    pub debug: bool,
    /// `KWIK_SECRET_KEY`: HS256 signing key (at least 32 bytes, RFC 7518 §3.2). Required in
    /// production; in development a random one is generated at each start when unset.
    pub secret_key: Secret,
    /// True when `secret_key` was generated because none was configured (development only).
    pub secret_key_generated: bool,
    /// `KWIK_TENANCY_ENABLED`: multi-tenancy. Off (the default), nothing is scoped by tenant and
    /// Kwik's contract is unchanged; on, every user belongs to a tenant and tenant-scoped
    /// resources (`#[kwik(tenant_scoped)]`) are restricted to the caller's tenant.
    pub tenancy_enabled: bool,
    /// `KWIK_AUDIT_LOG_RETENTION_DAYS`: how long audit-log entries are kept, in days; `kwik-server
    /// prune-audit-log` deletes older ones. Unset or 0 (the default): kept forever. At most
    /// 36500.
    pub audit_log_retention_days: Option<NonZeroU32>,
    /// The HTTP server: address, routes prefix, limits, proxies, metrics.
    pub server: ServerSettings,
    /// Logging.
    pub log: LogSettings,
    /// The database and its connection pool.
    pub database: DatabaseSettings,
    /// Tokens, passwords, the bootstrap administrator.
    pub auth: AuthSettings,
    /// Cross-origin requests.
    pub cors: CorsSettings,
    /// Rate limits and where their counters live.
    pub rate_limit: RateLimitSettings,
    /// Bounds of list queries.
    pub list: ListSettings,
    /// The principal cache (authentication without a database round trip).
    pub principal_cache: PrincipalCacheSettings,
    /// Background jobs.
    pub jobs: JobSettings,
    /// Outgoing email (SMTP): off until `KWIK_SMTP_HOST` is set.
    pub mail: MailSettings,
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

impl Settings {
    /// Reads the process environment (and `KWIK_SETTINGS_FILE`, if set).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming each invalid variable; [`SettingsError::Source`] when the
    /// settings file cannot be read.
    pub fn from_env() -> Result<Self, SettingsError> {
        load::load(None)
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
        load::load(Some(map))
    }

    /// The socket address to bind, `host:port`.
    pub fn bind_address(&self) -> String {
        format!("{}:{}", self.server.host, self.server.port)
    }

    /// Access-token lifetime.
    pub fn access_token_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.auth.access_token_expire_minutes))
    }

    /// Refresh-token lifetime.
    pub fn refresh_token_ttl(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.auth.refresh_token_expire_minutes))
    }
}

#[cfg(test)]
mod tests;
