//! How one variable's text becomes a typed value, with the message that names what is expected.
//!
//! Each function is a serde `deserialize_with` for one kind of setting. serde maps the variables
//! onto the settings' fields and supplies the defaults; these functions only read the text and
//! reject what does not fit, in words an operator can act on. They never see the variable's name:
//! [`super::Settings::from_vars`] attributes each failure to its variable.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::de::{Deserialize, Deserializer, Error};

use super::{IpNet, LogFormat, RateLimitStorage, Secret, SmtpTls};

/// The variable's text (every source is read as text: environment variables are text, and the
/// settings file's values are turned into text before they get here).
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer)
}

/// An integer from `MIN` to `MAX`.
pub fn integer<'de, const MIN: u64, const MAX: u64, T, D>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    let text = text(deserializer)?;
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|value| (MIN..=MAX).contains(value))
        .and_then(|value| T::try_from(value).ok())
        .ok_or_else(|| Error::custom(format!("'{text}' is not valid; expected an integer from {MIN} to {MAX}")))
}

/// A TCP port from 1 to 65535, for a setting whose default depends on another one.
pub fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u16>, D::Error> {
    integer::<1, 65535, u16, D>(deserializer).map(Some)
}

/// An integer from 0 to `MAX`, where 0 means off.
pub fn nonzero_or_off<'de, const MAX: u64, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NonZeroU32>, D::Error> {
    integer::<0, MAX, u32, D>(deserializer).map(NonZeroU32::new)
}

/// Whole milliseconds from `MIN` to `MAX`.
pub fn millis<'de, const MIN: u64, const MAX: u64, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    integer::<MIN, MAX, u64, D>(deserializer).map(Duration::from_millis)
}

/// Whole seconds from `MIN` to `MAX`.
pub fn whole_seconds<'de, const MIN: u64, const MAX: u64, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Duration, D::Error> {
    integer::<MIN, MAX, u64, D>(deserializer).map(Duration::from_secs)
}

/// Days from 0 to `MAX`, where 0 means forever (`None`).
pub fn days_or_forever<'de, const MAX: u64, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let days = integer::<0, MAX, u64, D>(deserializer)?;
    Ok((days > 0).then(|| Duration::from_hours(days * 24)))
}

/// Seconds, fractions allowed (Kwik's timeouts are Python floats), from 0 to 86400.
pub fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = text(deserializer)?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && (0.0..=86_400.0).contains(value))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| Error::custom(format!("'{text}' is not valid; expected a number of seconds from 0 to 86400")))
}

/// As [`seconds`], where 0 means off (`None`).
pub fn seconds_or_off<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    seconds(deserializer).map(|duration| Some(duration).filter(|d| !d.is_zero()))
}

/// `true`/`false`, and the spellings Python's settings libraries accept (`1`, `yes`, `on`...).
pub fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let text = text(deserializer)?;
    match text.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "on" | "t" | "y" => Ok(true),
        "0" | "false" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(Error::custom(format!("'{text}' is not valid; expected true or false"))),
    }
}

/// As [`boolean`], for a setting whose default depends on another one.
pub fn optional_boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    boolean(deserializer).map(Some)
}

/// A setting with a fixed set of values, matched case-insensitively.
pub trait Choice: Copy + 'static {
    /// Each accepted spelling and its value; the message lists them in this order.
    const OPTIONS: &'static [(&'static str, Self)];
}

impl Choice for super::AppEnv {
    const OPTIONS: &'static [(&'static str, Self)] =
        &[("development", Self::Development), ("production", Self::Production)];
}

impl Choice for LogFormat {
    const OPTIONS: &'static [(&'static str, Self)] = &[("text", Self::Text), ("json", Self::Json)];
}

impl Choice for RateLimitStorage {
    const OPTIONS: &'static [(&'static str, Self)] = &[("memory", Self::Memory), ("redis", Self::Redis)];
}

/// One of `T::OPTIONS`.
pub fn choice<'de, T: Choice, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    let text = text(deserializer)?;
    if let Some((_, value)) = T::OPTIONS.iter().find(|(name, _)| name.eq_ignore_ascii_case(text.trim())) {
        return Ok(*value);
    }
    let names: Vec<&str> = T::OPTIONS.iter().map(|(name, _)| *name).collect();
    Err(Error::custom(format!("'{text}' is not valid; expected one of: {}", names.join(", "))))
}

/// `KWIK_PROTOCOL`: `http` or `https`, kept as text.
pub fn protocol<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = text(deserializer)?;
    match text.trim().to_ascii_lowercase().as_str() {
        scheme @ ("http" | "https") => Ok(scheme.to_owned()),
        _ => Err(Error::custom(format!("'{text}' is not valid; expected one of: http, https"))),
    }
}

/// `KWIK_SMTP_TLS`: `starttls` (also Kwik's `SMTP_TLS=True`), `tls` (also `ssl`), `none` (also
/// `false`).
pub fn smtp_tls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SmtpTls, D::Error> {
    let text = text(deserializer)?;
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "starttls" | "true" | "1" => Ok(SmtpTls::StartTls),
        "tls" | "ssl" => Ok(SmtpTls::Tls),
        "none" | "false" | "0" => Ok(SmtpTls::None),
        other => Err(Error::custom(format!("'{other}' is not valid; expected starttls, tls or none"))),
    }
}

/// Text with surrounding blanks removed; blank text counts as unset.
pub fn trimmed<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = text(deserializer)?;
    Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty()))
}

/// A secret kept as given (a password).
pub fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    text(deserializer).map(Secret::new)
}

/// `KWIK_SECRET_KEY`: at least 32 bytes, the HS256 key size (RFC 7518 §3.2).
pub fn secret_key<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let key = text(deserializer)?;
    if key.len() < 32 {
        return Err(Error::custom(
            "the key is too short; expected at least 32 bytes (256 bits, RFC 7518 §3.2), e.g. `openssl rand -base64 48`",
        ));
    }
    Ok(Some(Secret::new(key)))
}

/// `KWIK_METRICS_TOKEN`: at least 16 characters.
pub fn metrics_token<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let token = text(deserializer)?;
    if token.len() < 16 {
        return Err(Error::custom("the token is too short; expected at least 16 characters"));
    }
    Ok(Some(Secret::new(token)))
}

/// `KWIK_API_V1_STR`: a path with a leading slash and no trailing one.
pub fn api_prefix<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    let valid = value.starts_with('/')
        && !value.ends_with('/')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "/-_.".contains(c));
    if !valid {
        return Err(Error::custom(format!(
            "'{value}' is not valid; expected a path such as /api/v1 (leading slash, no trailing slash)"
        )));
    }
    Ok(value)
}

/// `KWIK_LOG_LEVEL`: a tracing filter; Kwik's Python level names are translated.
pub fn log_level<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = text(deserializer)?;
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
        return Err(Error::custom(format!(
            "'{text}' is not valid; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or a filter such as kwik_http=debug,info"
        )));
    }
    Ok(mapped)
}

/// `KWIK_BACKEND_CORS_ORIGINS`: a comma list or a JSON array of `scheme://host[:port]` origins
/// (or `*`), kept without a trailing slash.
pub fn cors_origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let text = text(deserializer)?;
    let trimmed = text.trim();
    let origins: Vec<String> = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<String>>(trimmed).map_err(|_| {
            Error::custom(format!(
                "'{text}' is not a JSON array of strings; expected e.g. [\"https://app.example.com\"] or a comma list"
            ))
        })?
    } else {
        trimmed.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    };
    let invalid: Vec<String> = origins
        .iter()
        .filter(|origin| {
            *origin != "*"
                && !url::Url::parse(origin).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        })
        .map(|origin| format!("'{origin}'"))
        .collect();
    if !invalid.is_empty() {
        return Err(Error::custom(format!(
            "{} {} an origin; expected scheme://host[:port] such as https://app.example.com",
            invalid.join(", "),
            is_or_are(invalid.len())
        )));
    }
    Ok(origins.into_iter().map(|o| o.trim_end_matches('/').to_owned()).collect())
}

/// `KWIK_TRUSTED_PROXIES`: a comma list of addresses and CIDR ranges, in canonical form.
pub fn trusted_proxies<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    let text = text(deserializer)?;
    let mut proxies = Vec::new();
    let mut invalid = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // An exact address, or a range parsed by `ipnet`.
        match part.parse::<IpAddr>().map(IpNet::from).or_else(|_| part.parse::<IpNet>()) {
            Ok(net) => proxies.push(canonical_net(net)),
            Err(_) => invalid.push(format!("'{part}'")),
        }
    }
    if !invalid.is_empty() {
        return Err(Error::custom(format!(
            "{} {} an IP address or CIDR range; expected a comma list such as 10.0.0.2,10.1.0.0/16,fd00::/8",
            invalid.join(", "),
            is_or_are(invalid.len())
        )));
    }
    Ok(proxies)
}

fn is_or_are(count: usize) -> &'static str {
    if count == 1 { "is not" } else { "are not" }
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

/// `KWIK_REDIS_URL`, checked for a scheme this build can use; the rest of the URL is checked by
/// the Redis client when it connects. The message never repeats the URL: it may hold a password.
pub fn redis_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    let url = text(deserializer)?.trim().to_owned();
    if url.starts_with("rediss://") {
        return Err(Error::custom(
            "TLS (rediss://) is not supported; expected redis:// (use a TLS tunnel or a private network)",
        ));
    }
    if !["redis://", "redis+unix://", "unix://"].iter().any(|scheme| url.starts_with(scheme)) {
        return Err(Error::custom(
            "the URL is not valid; expected redis://[:password@]host[:port][/db] or redis+unix:///path",
        ));
    }
    Ok(Secret::new(url))
}

/// `KWIK_DATABASE_URL`: a SQLite or PostgreSQL URL for sqlx.
pub fn database_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let url = text(deserializer)?;
    check_database_scheme(&url).map_err(Error::custom)?;
    Ok(Some(url))
}

/// `KWIK_SQLALCHEMY_DATABASE_URI`, Kwik's form, translated for sqlx:
/// `postgresql+psycopg2://...` → `postgres://...`, `sqlite:///relative.db` → `sqlite://relative.db`.
pub fn sqlalchemy_uri<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let uri = text(deserializer)?;
    let translated = match uri.split_once("://") {
        Some((scheme, rest)) => match scheme.split('+').next().unwrap_or(scheme) {
            "postgresql" | "postgres" => format!("postgres://{rest}"),
            "sqlite" => format!("sqlite://{}", rest.strip_prefix('/').unwrap_or(rest)),
            _ => uri.clone(),
        },
        None => uri.clone(),
    };
    check_database_scheme(&translated).map_err(Error::custom)?;
    Ok(Some(translated))
}

fn check_database_scheme(url: &str) -> Result<(), String> {
    if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(());
    }
    let expected = "expected sqlite://path, sqlite::memory: or postgres://user:password@host:port/database";
    // Only a scheme is repeated: the rest of a URL may hold a password (RFC 3986 §3.1 spelling).
    match url.split_once(':') {
        Some((scheme, _))
            if scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Err(format!("unsupported scheme '{scheme}'; {expected}"))
        }
        _ => Err(format!("not a URL; {expected}")),
    }
}

/// `KWIK_POSTGRES_SERVER`: a host name or address that fits in a URL.
pub fn host<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let host = text(deserializer)?;
    if host.contains(':') && !host.starts_with('[') {
        // `url` would keep `db` of `db:5433` and drop the port without a word.
        return Err(Error::custom(format!(
            "'{host}' is not a host name; expected the host alone (KWIK_POSTGRES_PORT sets the port), an IPv6 address in brackets"
        )));
    }
    let fits = url::Url::parse("postgres://localhost").is_ok_and(|mut url| url.set_host(Some(&host)).is_ok());
    if !fits {
        return Err(Error::custom(format!("'{host}' is not a host name; expected e.g. localhost")));
    }
    Ok(Some(host))
}

/// `KWIK_FRONTEND_RESET_URL`: an `http://` or `https://` URL.
pub fn http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let url = text(deserializer)?;
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::custom("expected an http:// or https:// URL"));
    }
    Ok(Some(url))
}
