//! Rate-limit counters, chosen by `KWIK_RATE_LIMIT_STORAGE`: in this process (governor's keyed
//! GCRA limiter) or in Redis, shared by every instance (throttle-kit's GCRA script). Neither
//! algorithm is ours; this module picks the store, names the keys and reconnects to Redis.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use kwik_core::Settings;
use kwik_core::settings::RateLimitStorage;
use throttle_kit::{RateLimitBackend, RedisBackend};

/// How long a Redis server may take to accept a connection, and to answer one check.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Reconnection attempts back off from the first delay to the last.
const RECONNECT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// At most one "store unreachable" warning per this interval.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// Which limit a check counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bucket {
    /// `KWIK_RATE_LIMIT_PER_MINUTE`, every request per client address.
    General,
    /// `KWIK_AUTH_RATE_LIMIT_PER_MINUTE`, authentication attempts per client and per account.
    Auth,
}

impl Bucket {
    fn name(self) -> &'static str {
        match self {
            Bucket::General => "general",
            Bucket::Auth => "auth",
        }
    }
}

/// The rate limits of one server, in memory or in Redis.
pub(crate) enum Limits {
    Memory(Box<MemoryLimits>),
    Redis(Arc<RedisLimits>),
}

impl Limits {
    /// Limits from the settings; both buckets off when `KWIK_RATE_LIMIT_ENABLED=false`, the
    /// general one also while `KWIK_RATE_LIMIT_PER_MINUTE` is unset (opt-in).
    pub(crate) fn new(settings: &Settings) -> Self {
        let enabled = settings.rate_limit.enabled;
        let general = settings.rate_limit.per_minute.filter(|_| enabled);
        let auth = NonZeroU32::new(settings.rate_limit.auth_per_minute).filter(|_| enabled);
        match settings.rate_limit.storage {
            RateLimitStorage::Memory => Limits::Memory(Box::new(MemoryLimits {
                general: general.map(|n| RateLimiter::keyed(governor::Quota::per_minute(n))),
                auth: auth.map(|n| RateLimiter::keyed(governor::Quota::per_minute(n))),
                checks: AtomicU64::new(0),
            })),
            RateLimitStorage::Redis => Limits::Redis(Arc::new(RedisLimits::new(settings, general, auth))),
        }
    }

    /// Whether the bucket limits anything.
    pub(crate) fn enabled(&self, bucket: Bucket) -> bool {
        match self {
            Limits::Memory(memory) => memory.limiter(bucket).is_some(),
            Limits::Redis(redis) => redis.quota(bucket).is_some(),
        }
    }

    /// Counts one request of `key` against `bucket`: `None` when it is allowed, else the seconds
    /// (at least 1) until the key may try again — the `Retry-After` value.
    pub(crate) async fn over_limit(&self, bucket: Bucket, key: String) -> Option<u64> {
        match self {
            Limits::Memory(memory) => memory.over_limit(bucket, &key),
            Limits::Redis(redis) => redis.over_limit(bucket, &key).await,
        }
    }
}

/// Whole seconds to wait, rounded up.
fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

pub(crate) struct MemoryLimits {
    general: Option<DefaultKeyedRateLimiter<String>>,
    auth: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
}

impl MemoryLimits {
    fn limiter(&self, bucket: Bucket) -> Option<&DefaultKeyedRateLimiter<String>> {
        match bucket {
            Bucket::General => self.general.as_ref(),
            Bucket::Auth => self.auth.as_ref(),
        }
    }

    fn over_limit(&self, bucket: Bucket, key: &String) -> Option<u64> {
        let limiter = self.limiter(bucket)?;
        // Forget idle keys now and then so the key store does not grow without bound.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            limiter.retain_recent();
        }
        limiter
            .check_key(key)
            .err()
            .map(|not_until| retry_after_seconds(not_until.wait_time_from(DefaultClock::default().now())))
    }
}

/// Counters in Redis. Keys are `KWIK_RATE_LIMIT_KEY_PREFIX` + bucket + a SHA-256 of the client
/// address or account, so Redis never holds an address or an email; each expires after one
/// minute without requests.
///
/// When Redis cannot be reached, requests are let through (fail open: a rate limit protects
/// capacity, it does not authorise), a warning is logged at most every 10 s, and a background
/// task reconnects with backoff; counting resumes as soon as Redis answers.
pub(crate) struct RedisLimits {
    client: Option<redis::Client>,
    general: Option<throttle_kit::Quota>,
    auth: Option<throttle_kit::Quota>,
    prefix: String,
    backend: ArcSwapOption<RedisBackend>,
    first_connect: tokio::sync::Mutex<bool>,
    reconnecting: AtomicBool,
    last_warning: std::sync::Mutex<Option<Instant>>,
}

impl RedisLimits {
    fn new(settings: &Settings, general: Option<NonZeroU32>, auth: Option<NonZeroU32>) -> Self {
        let client = redis::Client::open(settings.rate_limit.redis_url.expose()).map_or_else(
            |err| {
                // The URL is not repeated: it may carry a password.
                tracing::error!(kind = ?err.kind(), "KWIK_REDIS_URL cannot be used; requests are not rate limited");
                None
            },
            Some,
        );
        Self {
            client,
            general: general.map(|n| throttle_kit::Quota::per_minute(n.get())),
            auth: auth.map(|n| throttle_kit::Quota::per_minute(n.get())),
            prefix: settings.rate_limit.key_prefix.clone(),
            backend: ArcSwapOption::empty(),
            first_connect: tokio::sync::Mutex::new(false),
            reconnecting: AtomicBool::new(false),
            last_warning: std::sync::Mutex::new(None),
        }
    }

    fn quota(&self, bucket: Bucket) -> Option<&throttle_kit::Quota> {
        match bucket {
            Bucket::General => self.general.as_ref(),
            Bucket::Auth => self.auth.as_ref(),
        }
    }

    fn redis_key(&self, bucket: Bucket, key: &str) -> String {
        format!("{}{}:{}", self.prefix, bucket.name(), kwik_auth::sha256_hex(key.as_bytes()))
    }

    async fn over_limit(self: &Arc<Self>, bucket: Bucket, key: &str) -> Option<u64> {
        let quota = self.quota(bucket)?;
        let backend = match self.backend.load_full() {
            Some(backend) => backend,
            None => self.connect_first_time().await?,
        };
        let result = backend.check(&self.redis_key(bucket, key), quota).await;
        // throttle-kit answers a failed Redis call with an allowed result and `remaining` 0,
        // which an answered check never gives (an allowed request always counts itself).
        if result.allowed && result.remaining == 0 {
            self.lost(&backend);
            return None;
        }
        if result.allowed { None } else { Some(retry_after_seconds(result.retry_after.unwrap_or_default())) }
    }

    /// The first request connects (the others wait for it), so counting starts with the first
    /// request rather than after a background connection. Later gaps fail open at once.
    async fn connect_first_time(self: &Arc<Self>) -> Option<Arc<RedisBackend>> {
        let mut tried = self.first_connect.lock().await;
        if let Some(backend) = self.backend.load_full() {
            return Some(backend);
        }
        if *tried {
            return None;
        }
        *tried = true;
        match self.connect().await {
            Ok(backend) => {
                let backend = Arc::new(backend);
                self.backend.store(Some(backend.clone()));
                Some(backend)
            }
            Err(reason) => {
                self.warn(&reason);
                self.start_reconnecting();
                None
            }
        }
    }

    async fn connect(&self) -> Result<RedisBackend, String> {
        let client = self.client.as_ref().ok_or_else(|| "KWIK_REDIS_URL is not usable".to_owned())?;
        let connection = client
            .get_multiplexed_async_connection_with_timeouts(REDIS_RESPONSE_TIMEOUT, REDIS_CONNECT_TIMEOUT)
            .await
            .map_err(|err| format!("{:?}", err.kind()))?;
        Ok(RedisBackend::new(connection))
    }

    /// A check through `backend` failed: drop the connection (a multiplexed connection does not
    /// recover once broken) and reconnect in the background.
    fn lost(self: &Arc<Self>, backend: &Arc<RedisBackend>) {
        let current = self.backend.load();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, backend)) {
            self.backend.store(None);
        }
        self.warn("a check failed");
        self.start_reconnecting();
    }

    fn start_reconnecting(self: &Arc<Self>) {
        if self.client.is_none() || self.reconnecting.swap(true, Ordering::AcqRel) {
            return;
        }
        let limits = Arc::clone(self);
        tokio::spawn(async move {
            let mut delay = RECONNECT_BACKOFF.0;
            loop {
                tokio::time::sleep(delay).await;
                if let Ok(backend) = limits.connect().await {
                    limits.backend.store(Some(Arc::new(backend)));
                    limits.reconnecting.store(false, Ordering::Release);
                    tracing::info!("rate-limit store (Redis) reachable again; requests are counted");
                    return;
                }
                delay = (delay * 2).min(RECONNECT_BACKOFF.1);
            }
        });
    }

    fn warn(&self, reason: &str) {
        let Ok(mut last) = self.last_warning.lock() else { return };
        if last.is_none_or(|at| at.elapsed() >= WARNING_INTERVAL) {
            *last = Some(Instant::now());
            tracing::warn!(
                reason,
                "rate-limit store (Redis) unreachable; requests are not rate limited until it answers"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn redis_keys_hold_no_address_or_email() {
        let settings = kwik_core::Settings::from_vars([("KWIK_RATE_LIMIT_STORAGE", "redis")]).unwrap();
        let limits = RedisLimits::new(&settings, NonZeroU32::new(1), NonZeroU32::new(1));
        let key = limits.redis_key(Bucket::Auth, "auth-account:alice@example.com");
        assert!(key.starts_with("kwik:rate-limit:auth:"), "{key}");
        assert!(!key.contains("alice"), "{key}");
        assert_eq!(key.len(), "kwik:rate-limit:auth:".len() + 64);
        assert_ne!(key, limits.redis_key(Bucket::Auth, "auth-account:bob@example.com"));
        assert_ne!(key, limits.redis_key(Bucket::General, "auth-account:alice@example.com"));
    }
}
