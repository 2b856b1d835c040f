//! Prometheus metrics (`GET /metrics`, on when `KWIK_METRICS_TOKEN` is set): request counts and
//! latency histograms by route and status, and database pool usage.

use kwik_core::Db;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

/// The collectors, registered in their own registry.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    pool: IntGaugeVec,
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
        registry.register(Box::new(pool.clone()))?;
        Ok(Self { registry, requests, duration, pool })
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

    /// The text exposition format, with the pool gauges refreshed.
    pub(crate) fn render(&self, db: &Db) -> String {
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
