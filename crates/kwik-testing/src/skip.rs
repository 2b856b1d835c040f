//! Tests that cannot run here say so: a skip is recorded, not counted as a pass in silence.

use std::io::Write;

/// The variable naming the file where skips are recorded, one line each (`cargo xtask test`
/// sets it for each half of the suite and prints the count as `N skipped`).
pub const SKIP_LOG: &str = "KWIK_TEST_SKIP_LOG";

/// Records that the current test is skipped by design (it belongs to the other half of the
/// suite, say): prints `skipped: <reason>` to stderr and appends `<test>\t<reason>` to the file
/// named by `KWIK_TEST_SKIP_LOG` when it is set. The test should return right after.
///
/// # Panics
/// When the log is named but cannot be written (a lost skip would make the count lie).
///
/// ```no_run
/// if kwik_testing::backend() == kwik_core::Backend::Sqlite {
///     kwik_testing::skip("runs in the PostgreSQL half");
///     return;
/// }
/// ```
pub fn skip(reason: &str) {
    let test = std::thread::current().name().unwrap_or("<unnamed test>").to_owned();
    eprintln!("skipped: {test}: {reason}");
    let Some(path) = std::env::var_os(SKIP_LOG).filter(|p| !p.is_empty()) else { return };
    let line = format!("{test}\t{}\n", reason.replace(['\n', '\t'], " "));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(e) = written {
        panic!("cannot record the skip in {SKIP_LOG}={}: {e}", path.to_string_lossy());
    }
}

/// Like [`skip`], for a test that lacks a service or a binary CI must provide (Redis,
/// `redis-server`, ...): when the `CI` variable is set this panics instead, so the test fails.
///
/// # Panics
/// When `CI` is set.
///
/// ```no_run
/// let Some(redis) = kwik_testing::redis_rate_limit_settings() else {
///     kwik_testing::skip_missing("KWIK_TEST_REDIS_URL is not set");
///     return;
/// };
/// # drop(redis);
/// ```
pub fn skip_missing(reason: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason}: CI must provide it (the test cannot be skipped when CI is set)"
    );
    skip(reason);
}
