//! Prometheus metrics (`GET /metrics`, on when `KWIK_METRICS_TOKEN` is set): request counts and
//! latency histograms by route and status, database pool usage, and the principal cache's
//! lookups and state, and background jobs (by state, from the database; runs and run time, from
//! this process's workers).

use kwik_core::Db;

use crate::principals::PrincipalCache;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The collectors, registered in their own registry.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    pool: IntGaugeVec,
    principal_lookups: IntCounterVec,
    principal_cache_live: prometheus::IntGauge,
    jobs: IntGaugeVec,
}

impl Metrics {
    pub(crate) fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("kwik_http_requests_total", "HTTP requests by method, route template and status"),
            &["method", "route", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("kwik_http_request_duration_seconds", "HTTP request latency in seconds"),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("kwik_db_pool_connections", "Database pool connections by state (idle, in_use)"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        let principal_lookups = IntCounterVec::new(
            Opts::new(
                "kwik_principal_cache_lookups_total",
                "Principal and API key lookups since start, by result (hit: from memory; miss: queried)",
            ),
            &["result"],
        )?;
        let principal_cache_live = prometheus::IntGauge::new(
            "kwik_principal_cache_live",
            "1 while the principal cache is served (its invalidation channel is up), else 0",
        )?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(principal_lookups.clone()))?;
        registry.register(Box::new(principal_cache_live.clone()))?;
        let jobs = IntGaugeVec::new(
            Opts::new(
                "kwik_jobs",
                "Jobs in the database by job name and state (pending, running, retrying, dead, done)",
            ),
            &["job", "state"],
        )?;
        registry.register(Box::new(jobs.clone()))?;
        kwik_jobs::metrics::register(&registry)?;
        Ok(Self { registry, requests, duration, pool, principal_lookups, principal_cache_live, jobs })
    }

    /// Records one request under its route template (`/api/v1/users/{user_id}`, or `unmatched`),
    /// so the number of series stays bounded whatever paths clients send.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = if matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") {
            method
        } else {
            "OTHER"
        };
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.duration.with_label_values(&[method, route]).observe(seconds);
    }

    /// The text exposition format, with the pool and principal cache figures refreshed.
    pub(crate) fn render(
        &self,
        db: &Db,
        principals: &PrincipalCache,
        jobs: Option<&[(String, kwik_jobs::admin::JobState, i64)]>,
    ) -> String {
        if let Some(jobs) = jobs {
            self.jobs.reset();
            for (name, state, count) in jobs {
                self.jobs.with_label_values(&[name.as_str(), state.as_str()]).set(*count);
            }
        }
        let stats = principals.stats();
        // The cache counts on its own (no registry on the hot path); the counters catch up here.
        for (result, total) in [("hit", stats.hits), ("miss", stats.misses)] {
            let counter = self.principal_lookups.with_label_values(&[result]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.principal_cache_live.set(i64::from(principals.is_live()));
        let (size, idle) = db.pool_usage();
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool.with_label_values(&["in_use"]).set(i64::from(size) - idle);
        let mut out = Vec::new();
        if TextEncoder::new().encode(&self.registry.gather(), &mut out).is_err() {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Constant-time comparison of the presented token with the configured one.
pub(crate) fn token_matches(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len()
        && presented.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(token_matches("abcdefghijklmnop", "abcdefghijklmnop"));
        assert!(!token_matches("abcdefghijklmnoq", "abcdefghijklmnop"));
        assert!(!token_matches("abc", "abcdefghijklmnop"));
    }
}
