//! Production behaviour around every request: request ids and access logs, security headers,
//! rate limits, request timeouts.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwik_core::settings::IpNet;
use kwik_core::{Error, Settings};
use poem::http::{HeaderValue, Method, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use crate::error::{error_response, render};
use crate::rate_limit::{Bucket, Limits};

/// The request-id header, taken from the request when it carries a sane one.
pub const REQUEST_ID: &str = "x-request-id";

/// Strict policy for API responses: nothing may load, nothing may frame it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// The docs UIs (Swagger UI, Scalar, ReDoc) are embedded pages with inline scripts and styles.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; \
    style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: blob:; \
    font-src 'self' data: https://fonts.gstatic.com; connect-src 'self'; worker-src 'self' blob:; \
    frame-ancestors 'none'";

/// Rate limiters and the proxy trust list, built once from the settings.
pub(crate) struct Protection {
    limits: Limits,
    trusted_proxies: Vec<IpNet>,
    auth_paths: [String; 3],
    https: bool,
    timeout: Option<Duration>,
    max_body: usize,
    pub(crate) metrics: Option<Arc<crate::metrics::Metrics>>,
    routes: Arc<crate::path_names::PathNames>,
    prefix: String,
}

impl Protection {
    pub(crate) fn new(settings: &Settings, routes: Arc<crate::path_names::PathNames>) -> Self {
        let prefix = &settings.server.api_v1_str;
        Self {
            limits: Limits::new(settings),
            // Canonical ranges (the settings map IPv4-mapped ranges to IPv4), matched against
            // canonical addresses: on a dual-stack listener an IPv4 proxy connects as
            // `::ffff:a.b.c.d`.
            trusted_proxies: settings.server.trusted_proxies.clone(),
            auth_paths: [
                format!("{prefix}/login/access-token"),
                format!("{prefix}/login/refresh"),
                format!("{prefix}/login/password-recovery"),
            ],
            https: settings.server.protocol == "https",
            timeout: settings.server.request_timeout,
            max_body: settings.server.max_body_bytes,
            routes,
            prefix: settings.server.api_v1_str.clone(),
            metrics: settings.server.metrics_token.as_ref().and_then(|_| match crate::metrics::Metrics::new() {
                Ok(metrics) => Some(Arc::new(metrics)),
                Err(err) => {
                    tracing::error!(error = %err, "metrics disabled: cannot register collectors");
                    None
                }
            }),
        }
    }

    /// Whether `ip` (in canonical form) is a trusted proxy: an exact address or inside a range
    /// of `KWIK_TRUSTED_PROXIES`.
    fn is_trusted(&self, ip: &IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(ip))
    }

    /// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy.
    fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        let peer = peer(req)?;
        if !self.is_trusted(&peer) {
            return Some(peer);
        }
        let forwarded: Vec<String> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|part| part.trim().to_owned()).collect::<Vec<_>>())
            .collect();
        for part in forwarded.iter().rev() {
            match part.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if self.is_trusted(&ip) => {}
                Ok(ip) => return Some(ip),
                Err(_) => break,
            }
        }
        Some(peer)
    }

    /// The account an authentication attempt targets: `username` of the login form, `email` of a
    /// recovery request (refresh tokens are limited per client only). A body that cannot be read
    /// (over `KWIK_MAX_BODY_BYTES`, broken connection) is an error: it is gone once read.
    async fn account(&self, req: &mut Request) -> Result<Option<String>, Error> {
        let path = req.uri().path();
        let field = if path == self.auth_paths[0] {
            "username"
        } else if path == self.auth_paths[2] {
            "email"
        } else {
            return Ok(None);
        };
        let body = req.take_body().into_bytes_limit(self.max_body).await.map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => Error::PayloadTooLarge { limit: self.max_body },
            other => Error::BadRequest(format!("Cannot read the request body: {other}")),
        })?;
        let account = if field == "username" {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
                .ok()
                .and_then(|pairs| pairs.into_iter().rev().find(|(k, _)| k == field).map(|(_, v)| v))
        } else {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get(field).and_then(|e| e.as_str()).map(str::to_owned))
        };
        req.set_body(body);
        Ok(account.map(|a| a.trim().to_lowercase()))
    }

    /// 429 with `Retry-After` when the client (or the targeted account, on authentication
    /// routes) is over its limit.
    async fn check(&self, req: &mut Request) -> Result<(), Error> {
        let client = self.client_ip(req).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if let Some(retry_after) = self.limits.over_limit(Bucket::General, format!("ip:{client}")).await {
            return Err(Error::TooManyRequests { retry_after });
        }
        let is_auth = req.method() == Method::POST && self.auth_paths.iter().any(|p| p == req.uri().path());
        if is_auth && self.limits.enabled(Bucket::Auth) {
            if let Some(retry_after) = self.limits.over_limit(Bucket::Auth, format!("auth-ip:{client}")).await {
                tracing::warn!(client, path = req.uri().path(), "authentication rate limit hit");
                return Err(Error::TooManyRequests { retry_after });
            }
            if let Some(account) = self.account(req).await?
                && let Some(retry_after) = self.limits.over_limit(Bucket::Auth, format!("auth-account:{account}")).await
            {
                tracing::warn!(client, "authentication rate limit hit for an account");
                return Err(Error::TooManyRequests { retry_after });
            }
        }
        Ok(())
    }

    /// The route template of a path, for logs and metrics: the API operation's template under the
    /// prefix, the framework's own fixed routes as they are, anything else `unmatched` (so random
    /// paths cannot create unbounded metric series).
    fn route(&self, path: &str) -> String {
        if let Some(rest) = path.strip_prefix(&self.prefix)
            && let Some(template) = self.routes.template(rest)
        {
            return format!("{}{template}", self.prefix);
        }
        let fixed = ["/health/live", "/health/ready", "/metrics", "/docs", "/scalar", "/redoc"];
        if fixed.contains(&path)
            || path == format!("{}/openapi.json", self.prefix)
            || path == format!("{}/openapi.yaml", self.prefix)
        {
            return path.to_owned();
        }
        "unmatched".to_owned()
    }

    fn secure_transport(&self, req: &Request) -> bool {
        self.https
            || (peer(req).is_some_and(|ip| self.is_trusted(&ip))
                && req.headers().get("x-forwarded-proto").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")))
    }
}

/// The peer's address in canonical form (an IPv4-mapped IPv6 address as IPv4).
fn peer(req: &Request) -> Option<IpAddr> {
    req.remote_addr().as_socket_addr().map(|addr| addr.ip().to_canonical())
}

/// The request's id (`X-Request-Id`, kept from the request or made), in the request's
/// extensions for handlers and the audit log; [`request_id`] reads it.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The id of the request being served, when the production layer runs (always, in an
/// [`App`](crate::App)).
pub fn request_id(req: &Request) -> Option<Arc<str>> {
    req.extensions().get::<RequestId>().map(|id| id.0.clone())
}

/// A request id worth keeping: 1 to 128 visible ASCII characters.
fn incoming_request_id(req: &Request) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?;
    (!value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())).then(|| value.to_owned())
}

fn is_docs_path(path: &str) -> bool {
    ["/docs", "/scalar", "/redoc"].iter().any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

/// The outermost layer: request id (kept from the request or made), a tracing span carrying it
/// for every log line of the request, security headers, metrics, and one access-log line
/// (method, path, route template, status, latency in milliseconds). CORS sits inside it and
/// [`guard`] inside CORS, so that refusals (429, timeouts) carry CORS headers a browser can read.
pub(crate) async fn observe<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    protection: Arc<Protection>,
) -> poem::Result<Response> {
    let start = Instant::now();
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(Arc::from(request_id.as_str())));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let docs = is_docs_path(&path);
    let secure = protection.secure_transport(&req);
    let span = tracing::info_span!("request", request_id = %request_id, method = %method, path = %path);

    let mut response = async {
        match ep.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => error_response(err),
        }
    }
    .instrument(span.clone())
    .await;

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(if docs { DOCS_CSP } else { API_CSP }));
    if secure {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    // The route template is only worked out when something records it.
    let access_log = tracing::enabled!(tracing::Level::INFO);
    if access_log || protection.metrics.is_some() {
        let status = response.status().as_u16();
        let route = protection.route(&path);
        let elapsed = start.elapsed().as_secs_f64();
        if let Some(metrics) = &protection.metrics {
            metrics.observe(method.as_str(), &route, status, elapsed);
        }
        if access_log {
            let latency_ms = elapsed * 1000.0;
            span.in_scope(|| tracing::info!(route = %route, status, latency_ms, "access"));
        }
    }
    Ok(response)
}

/// The authentication rate limit for handlers that verify a password outside the login routes
/// (password changes, API-key creation): every attempt counts against the client's and the
/// account's authentication budget, the same budget login uses (`KWIK_AUTH_RATE_LIMIT_PER_MINUTE`,
/// OWASP Authentication Cheat Sheet), so a stolen session cannot guess passwords at the general
/// rate. The rate-limit layer puts it in every request's data; handlers take it from the request.
#[derive(Clone)]
pub struct PasswordAttempts {
    protection: Arc<Protection>,
    client: String,
}

impl PasswordAttempts {
    /// Counts one password check for the client and for `account` (the user's email, normalised
    /// as login does).
    ///
    /// # Errors
    /// [`Error::TooManyRequests`] (429 with `Retry-After`) when either is over its limit.
    pub async fn count(&self, account: &str) -> Result<(), Error> {
        let limits = &self.protection.limits;
        if !limits.enabled(Bucket::Auth) {
            return Ok(());
        }
        let keys = [format!("auth-ip:{}", self.client), format!("auth-account:{}", account.trim().to_lowercase())];
        for key in keys {
            if let Some(retry_after) = limits.over_limit(Bucket::Auth, key).await {
                tracing::warn!(client = self.client, "authentication rate limit hit on a password check");
                return Err(Error::TooManyRequests { retry_after });
            }
        }
        Ok(())
    }

    /// Counts a password check when the request went through the rate-limit layer (always, in an app built
    /// by [`App::endpoint`](crate::App::endpoint)).
    ///
    /// # Errors
    /// As [`count`](Self::count).
    pub async fn count_for(req: &Request, account: &str) -> Result<(), Error> {
        match req.data::<Self>() {
            Some(attempts) => attempts.count(account).await,
            None => Ok(()),
        }
    }
}

/// Rate limits and the request timeout, inside CORS.
pub(crate) async fn guard<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    protection: Arc<Protection>,
) -> poem::Result<Response> {
    let client = protection.client_ip(&req).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    req.extensions_mut().insert(PasswordAttempts { protection: protection.clone(), client });
    // The timeout covers the rate-limit check too: on authentication routes it reads the body,
    // which a slow client could otherwise trickle in forever.
    let handle = async {
        if let Err(err) = protection.check(&mut req).await {
            return render(&err);
        }
        match ep.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) => error_response(err),
        }
    };
    Ok(match protection.timeout {
        Some(limit) => tokio::time::timeout(limit, handle).await.unwrap_or_else(|_| {
            tracing::warn!(timeout_s = limit.as_secs_f64(), "request timed out");
            render(&Error::Unavailable("Request timed out".to_owned()))
        }),
        None => handle.await,
    })
}
