use super::*;
use rstest::rstest;
use std::net::IpAddr;
use std::time::Duration;

fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    Settings::from_vars(vars.iter().map(|(k, v)| (*k, *v)))
}

#[test]
fn defaults_match_kwik() {
    let s = load(&[]).unwrap();
    assert_eq!(s.app_env, AppEnv::Development);
    assert_eq!(s.server.port, 8080);
    assert_eq!(s.server.api_v1_str, "/api/v1");
    assert_eq!(s.auth.access_token_expire_minutes, 10_080);
    assert_eq!(s.auth.first_superuser, "admin@example.com");
    assert_eq!(s.auth.first_superuser_password.expose(), "admin");
    assert_eq!(s.auth.password_min_length, 12);
    assert_eq!(s.database.url.expose(), "sqlite://kwik.sqlite");
    assert_eq!(s.database.pool.max_connections, 30);
    assert_eq!(s.database.pool.acquire_timeout, Duration::from_secs(10));
    assert_eq!(s.server.graceful_timeout, Duration::from_secs(30));
    assert!(s.debug);
    assert!(s.secret_key_generated);
    assert!(s.secret_key.expose().len() >= 32);
    assert_eq!(s.rate_limit.storage, RateLimitStorage::Memory);
    assert_eq!(s.rate_limit.redis_url.expose(), "redis://127.0.0.1:6379/0");
    assert_eq!(s.rate_limit.key_prefix, "kwik:rate-limit:");
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
    assert_eq!(s.server.port, 8080);
    assert!(s.secret_key_generated);
}

#[rstest]
#[case("https://a.example.com, http://localhost:3000", &["https://a.example.com", "http://localhost:3000"])]
#[case(r#"["https://a.example.com/"]"#, &["https://a.example.com"])]
fn cors_origins_accept_comma_list_or_json(#[case] value: &str, #[case] expected: &[&str]) {
    let s = load(&[("KWIK_BACKEND_CORS_ORIGINS", value)]).unwrap();
    assert_eq!(s.cors.origins, expected);
}

#[rstest]
#[case(&[("KWIK_SQLALCHEMY_DATABASE_URI", "postgresql+psycopg2://u:p@h:5433/d")], "postgres://u:p@h:5433/d")]
#[case(&[("KWIK_SQLALCHEMY_DATABASE_URI", "sqlite:///app.db")], "sqlite://app.db")]
#[case(&[("KWIK_POSTGRES_SERVER", "pg"), ("KWIK_POSTGRES_PASSWORD", "p@ss")], "postgres://postgres:p%40ss@pg:5432/db")]
#[case(&[("KWIK_DATABASE_URL", "postgres://x@y/z"), ("KWIK_POSTGRES_SERVER", "ignored")], "postgres://x@y/z")]
fn database_url_sources(#[case] vars: &[(&str, &str)], #[case] expected: &str) {
    assert_eq!(load(vars).unwrap().database.url.expose(), expected);
}

#[test]
fn pool_follows_sqlalchemy_meaning() {
    let s = load(&[
        ("KWIK_POSTGRES_POOL_SIZE", "5"),
        ("KWIK_POSTGRES_MAX_OVERFLOW", "3"),
        ("KWIK_POSTGRES_POOL_TIMEOUT", "2.5"),
    ])
    .unwrap();
    assert_eq!(s.database.pool.max_connections, 8);
    assert_eq!(s.database.pool.acquire_timeout, Duration::from_millis(2500));
}

#[test]
fn production_layer_settings() {
    let s = load(&[
        ("KWIK_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ("KWIK_REQUEST_TIMEOUT", "0"),
        ("KWIK_RATE_LIMIT_ENABLED", "false"),
    ])
    .unwrap();
    assert_eq!(s.server.trusted_proxies.len(), 2);
    assert_eq!(s.server.request_timeout, None);
    assert!(!s.rate_limit.enabled);
    let defaults = load(&[]).unwrap();
    assert_eq!(defaults.server.request_timeout, Some(Duration::from_secs(30)));
    assert!(defaults.rate_limit.enabled);
    assert_eq!(defaults.rate_limit.auth_per_minute, 10);
}

/// The general per-client limit is opt-in (issue 11): one address is often many users. The
/// authentication limit stays on by default.
#[test]
fn the_general_rate_limit_is_opt_in() {
    assert_eq!(load(&[]).unwrap().rate_limit.per_minute, None);
    assert_eq!(load(&[("KWIK_RATE_LIMIT_PER_MINUTE", "0")]).unwrap().rate_limit.per_minute, None);
    assert_eq!(load(&[("KWIK_RATE_LIMIT_PER_MINUTE", "600")]).unwrap().rate_limit.per_minute, NonZeroU32::new(600));
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
    assert_eq!(s.server.trusted_proxies, [expected.parse::<IpNet>().unwrap()]);
}

#[test]
fn trusted_proxies_mix_addresses_and_ranges() {
    let s = load(&[("KWIK_TRUSTED_PROXIES", " 10.0.0.2, 172.16.0.0/12 ,fd00::/8")]).unwrap();
    let contains = |ip: &str| s.server.trusted_proxies.iter().any(|net| net.contains(&ip.parse::<IpAddr>().unwrap()));
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
    assert_eq!(s.cors.origins, ["*"]);
    assert!(!s.cors.allow_credentials);
    assert!(load(&[]).unwrap().cors.allow_credentials, "Kwik's default");
}

#[test]
fn python_log_levels_are_translated() {
    assert_eq!(load(&[("KWIK_LOG_LEVEL", "WARNING")]).unwrap().log.level, "warn");
    assert_eq!(load(&[("KWIK_LOG_LEVEL", "kwik_http=debug,info")]).unwrap().log.level, "kwik_http=debug,info");
}

#[test]
fn settings_file_is_read_and_env_wins() {
    let dir = std::env::temp_dir().join(format!("kwik-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kwik.toml");
    std::fs::write(&path, "BACKEND_PORT = 9000\nPROJECT_NAME = \"from-file\"\n").unwrap();
    let s = load(&[("KWIK_SETTINGS_FILE", path.to_str().unwrap()), ("KWIK_PROJECT_NAME", "from-env")]).unwrap();
    assert_eq!(s.server.port, 9000);
    assert_eq!(s.project_name, "from-env");
    let missing = load(&[("KWIK_SETTINGS_FILE", "/nonexistent/kwik.toml")]).unwrap_err();
    assert!(matches!(missing, SettingsError::Source(_)));
}

/// Every invalid variable is reported, once, in name order; the rules across variables follow.
#[test]
fn every_invalid_variable_is_reported_at_once() {
    let err = load(&[
        ("KWIK_APP_ENV", "production"),
        ("KWIK_JOBS_CONCURRENCY", "0"),
        ("KWIK_BACKEND_PORT", "eighty"),
        ("KWIK_SECRET_KEY", "short"),
        ("KWIK_TRUSTED_PROXIES", "proxy, 10.0.0.1, gateway"),
        ("KWIK_PROJECT_NAME", "valid"),
    ])
    .unwrap_err();
    let vars: Vec<&str> = err.errors().iter().map(|e| e.variable.as_str()).collect();
    assert_eq!(
        vars,
        [
            "KWIK_BACKEND_PORT",
            "KWIK_JOBS_CONCURRENCY",
            "KWIK_SECRET_KEY",
            "KWIK_TRUSTED_PROXIES",
            "KWIK_FIRST_SUPERUSER_PASSWORD"
        ]
    );
    assert!(err.errors()[2].message.contains("too short"), "the value's own problem, not 'missing': {err}");
    assert!(err.errors()[3].message.contains("'proxy', 'gateway' are not an IP address"), "{err}");
}

/// A variable is checked even when another one takes precedence over it: a typo is reported
/// rather than silently kept for the day the other one is removed.
#[test]
fn shadowed_variables_are_still_checked() {
    let err =
        load(&[("KWIK_DATABASE_URL", "sqlite::memory:"), ("KWIK_SQLALCHEMY_DATABASE_URI", "mysql://x")]).unwrap_err();
    assert_eq!(err.errors()[0].variable, "KWIK_SQLALCHEMY_DATABASE_URI");
}

#[test]
fn groups_default_to_kwiks_values() {
    let s = load(&[]).unwrap();
    assert_eq!(s.jobs, JobSettings::default());
    assert_eq!(s.principal_cache, PrincipalCacheSettings::default());
    assert_eq!(s.list, ListSettings::default());
    assert_eq!(s.auth.argon2, Argon2Settings { memory_kib: 19_456, iterations: 2, parallelism: 1 });
    assert_eq!(s.database.pool, PoolSettings::default());
    assert_eq!((s.mail.host.as_deref(), s.mail.port, s.mail.tls), (None, 587, SmtpTls::StartTls));
    assert_eq!(s.bind_address(), "127.0.0.1:8080");
    assert_eq!(s.access_token_ttl(), chrono::Duration::days(7));
    assert_eq!(s.refresh_token_ttl(), chrono::Duration::days(30));
}

#[test]
fn each_group_reads_its_variables() {
    let s = load(&[
        ("KWIK_JOBS_RETENTION_DAYS", "0"),
        ("KWIK_JOBS_POLL_MS", "40"),
        ("KWIK_PRINCIPAL_CACHE_TTL", "5"),
        ("KWIK_LIST_MAX_LIMIT", "9223372036854775807"),
        ("KWIK_ARGON2_MEMORY_KIB", "64"),
        ("KWIK_SMTP_HOST", " smtp.example.com "),
        ("KWIK_SMTP_TLS", "TLS"),
        ("KWIK_EMAILS_FROM_EMAIL", "noreply@example.com"),
        ("KWIK_AUDIT_LOG_RETENTION_DAYS", "30"),
        ("KWIK_LOG_FORMAT", "JSON"),
        ("KWIK_DEBUG", "off"),
        ("KWIK_TENANCY_ENABLED", "yes"),
    ])
    .unwrap();
    assert_eq!(s.jobs.retention, None);
    assert_eq!(s.jobs.poll_interval, Duration::from_millis(40));
    assert_eq!(s.principal_cache.ttl, Duration::from_secs(5));
    assert_eq!(s.list.max_limit, i64::MAX.cast_unsigned());
    assert_eq!(s.auth.argon2.memory_kib, 64);
    assert_eq!((s.mail.host.as_deref(), s.mail.port, s.mail.tls), (Some("smtp.example.com"), 465, SmtpTls::Tls));
    assert_eq!(s.audit_log_retention_days, NonZeroU32::new(30));
    assert_eq!(s.log.format, LogFormat::Json);
    assert!(!s.debug && s.tenancy_enabled);
}

/// Numbers in the settings file are TOML integers and floats, not text: read the same way.
#[test]
fn settings_file_numbers_and_booleans() {
    let dir = std::env::temp_dir().join(format!("kwik-settings-typed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kwik.toml");
    std::fs::write(&path, "POSTGRES_POOL_TIMEOUT = 2.5\nRATE_LIMIT_ENABLED = false\nJOBS_CONCURRENCY = 0\n").unwrap();
    let err = load(&[("KWIK_SETTINGS_FILE", path.to_str().unwrap())]).unwrap_err();
    assert_eq!(err.errors().len(), 1, "{err}");
    assert_eq!(err.errors()[0].variable, "KWIK_JOBS_CONCURRENCY");
    std::fs::write(&path, "POSTGRES_POOL_TIMEOUT = 2.5\nRATE_LIMIT_ENABLED = false\n").unwrap();
    let s = load(&[("KWIK_SETTINGS_FILE", path.to_str().unwrap())]).unwrap();
    assert_eq!(s.database.pool.acquire_timeout, Duration::from_millis(2500));
    assert!(!s.rate_limit.enabled);
    std::fs::write(&path, "[server]\nport = 1\n").unwrap();
    let nested = load(&[("KWIK_SETTINGS_FILE", path.to_str().unwrap())]).unwrap_err();
    assert!(nested.to_string().contains("KWIK_SERVER: "), "{nested}");
}

#[rstest]
#[case("KWIK_POSTGRES_PORT", "abc", "expected an integer from 1 to 65535")]
#[case("KWIK_POSTGRES_SERVER", "db:5433", "KWIK_POSTGRES_PORT sets the port")]
#[case("KWIK_POSTGRES_SERVER", "a b", "is not a host name")]
fn postgres_parts_are_checked_even_under_a_database_url(
    #[case] var: &str,
    #[case] value: &str,
    #[case] expected: &str,
) {
    let err = load(&[("KWIK_DATABASE_URL", "sqlite::memory:"), (var, value)]).unwrap_err();
    assert_eq!(err.errors().len(), 1, "{err}");
    assert_eq!(err.errors()[0].variable, var);
    assert!(err.errors()[0].message.contains(expected), "{err}");
}

#[test]
fn postgres_url_from_parts_in_brackets_and_escaped() {
    let s = load(&[("KWIK_POSTGRES_SERVER", "[::1]"), ("KWIK_POSTGRES_USER", "a b"), ("KWIK_POSTGRES_PORT", "5433")])
        .unwrap();
    assert_eq!(s.database.url.expose(), "postgres://a%20b:root@[::1]:5433/db");
}

/// Only a scheme is repeated in the message; a value that is not a URL may be a password.
#[rstest]
#[case("hunter2-no-colon")]
#[case("user name:hunter2@db/x")]
fn database_url_errors_do_not_repeat_the_value(#[case] value: &str) {
    let err = load(&[("KWIK_DATABASE_URL", value)]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.errors()[0].message.starts_with("not a URL"), "{err}");
}
