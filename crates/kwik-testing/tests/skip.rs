//! `skip` and `skip_missing`, seen from outside: this test binary runs its own ignored helper
//! tests in a child process, with and without `KWIK_TEST_SKIP_LOG` and `CI`.
#![allow(clippy::expect_used)]

use std::process::{Command, Output};

#[test]
#[ignore = "helper, run by the tests below in a child process"]
fn helper_skips() {
    kwik_testing::skip("belongs to the other half");
}

#[test]
#[ignore = "helper, run by the tests below in a child process"]
fn helper_misses_a_service() {
    kwik_testing::skip_missing("redis-server is not installed");
}

/// Runs one helper test of this binary in a child process.
fn run_helper(name: &str, log: Option<&std::path::Path>, ci: bool) -> Output {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args(["--exact", name, "--ignored", "--nocapture", "--test-threads", "1"])
        .env_remove("CI")
        .env_remove("KWIK_TEST_SKIP_LOG");
    if let Some(log) = log {
        command.env("KWIK_TEST_SKIP_LOG", log);
    }
    if ci {
        command.env("CI", "true");
    }
    command.output().expect("run the helper")
}

fn log_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("kwik-skip-{}.log", uuid::Uuid::new_v4().simple()))
}

#[test]
fn a_skip_is_appended_to_the_log_one_line_per_skip() {
    let log = log_path();
    for _ in 0..2 {
        let output = run_helper("helper_skips", Some(&log), false);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("skipped: helper_skips: belongs to the other half"), "{stderr}");
    }
    let lines = std::fs::read_to_string(&log).expect("the log exists");
    let _ = std::fs::remove_file(&log);
    assert_eq!(lines, "helper_skips\tbelongs to the other half\n".repeat(2));
}

#[test]
fn a_skip_by_design_passes_in_ci_too() {
    let log = log_path();
    let output = run_helper("helper_skips", Some(&log), true);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines = std::fs::read_to_string(&log).expect("the log exists");
    let _ = std::fs::remove_file(&log);
    assert_eq!(lines, "helper_skips\tbelongs to the other half\n");
}

#[test]
fn a_missing_service_is_a_skip_outside_ci_and_a_failure_in_ci() {
    let log = log_path();
    let outside = run_helper("helper_misses_a_service", Some(&log), false);
    assert!(outside.status.success(), "{}", String::from_utf8_lossy(&outside.stderr));
    assert_eq!(
        std::fs::read_to_string(&log).expect("the log exists"),
        "helper_misses_a_service\tredis-server is not installed\n"
    );

    let in_ci = run_helper("helper_misses_a_service", Some(&log), true);
    let stdout = String::from_utf8_lossy(&in_ci.stdout);
    assert!(!in_ci.status.success(), "fails in CI: {stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    let stderr = String::from_utf8_lossy(&in_ci.stderr);
    assert!(stderr.contains("redis-server is not installed: CI must provide it"), "{stdout}{stderr}");
    // The failure is not also counted as a skip.
    let lines = std::fs::read_to_string(&log).expect("the log exists");
    let _ = std::fs::remove_file(&log);
    assert_eq!(lines.lines().count(), 1, "{lines}");
}

#[test]
fn without_the_variable_nothing_is_written() {
    let output = run_helper("helper_skips", None, false);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
