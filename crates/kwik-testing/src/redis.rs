//! Redis for tests of shared rate limits.

/// The variable naming the test Redis: `KWIK_TEST_REDIS_URL`, e.g. `redis://127.0.0.1:6379/0`.
/// `cargo xtask test` sets it when Redis answers (and fails in CI when it does not).
pub const TEST_REDIS_URL: &str = "KWIK_TEST_REDIS_URL";

/// Settings that keep rate-limit counters in the test Redis, under a key prefix no other app
/// uses (`kwik-test:<uuid>:`), so tests running at the same time, and earlier runs, never share
/// counters. `None` when `KWIK_TEST_REDIS_URL` is not set: such a test should record the skip
/// with [`skip_missing`](crate::skip_missing) (a failure when `CI` is set) and return.
///
/// ```no_run
/// let Some(redis) = kwik_testing::redis_rate_limit_settings() else {
///     kwik_testing::skip_missing("KWIK_TEST_REDIS_URL is not set");
///     return;
/// };
/// let vars: Vec<(&str, &str)> = redis.iter().map(|(k, v)| (*k, v.as_str())).collect();
/// assert!(vars.contains(&("KWIK_RATE_LIMIT_STORAGE", "redis")));
/// ```
#[must_use]
pub fn redis_rate_limit_settings() -> Option<Vec<(&'static str, String)>> {
    let url = std::env::var(TEST_REDIS_URL).ok().filter(|url| !url.is_empty())?;
    Some(vec![
        ("KWIK_RATE_LIMIT_STORAGE", "redis".to_owned()),
        ("KWIK_REDIS_URL", url),
        ("KWIK_RATE_LIMIT_KEY_PREFIX", format!("kwik-test:{}:", uuid::Uuid::new_v4().simple())),
    ])
}
