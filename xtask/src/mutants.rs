//! `cargo xtask mutants`: mutation testing of kwik-auth and kwik-listing with
//! [cargo-mutants](https://mutants.rs), each crate against its own tests. Not part of
//! `cargo xtask test` (it takes several minutes per crate).
//!
//! For each crate it runs `cargo mutants -p <crate> --test-package <crate> -j <jobs>` in
//! cargo-mutants' default copy mode (the source tree is never mutated in place), with a target
//! directory of its own (`<target>/kwik-mutants/target`), reads
//! `mutants.out/outcomes.json`, prints the caught / timeout / missed / unviable counts and the
//! score, lists the missed mutants, and fails when a crate scores below [`MIN_SCORE`].
//!
//! The score counts what the tests detect: `(caught + timeouts) / (caught + timeouts + missed)`.
//! A timeout is a mutant that made the suite hang (a semaphore with no permits, a cost cap that no
//! longer stops a four-billion-pass hash), so the tests did not pass; unviable mutants (they do
//! not compile) are left out. Equivalent mutants are excluded in `.cargo/mutants.toml`, each with
//! its reason.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The crates checked by default.
pub const CRATES: [&str; 2] = ["kwik-auth", "kwik-listing"];

/// The lowest acceptable score, in percent.
pub const MIN_SCORE: f64 = 95.0;

#[derive(clap::Args)]
pub struct MutantsArgs {
    /// Crates to mutate (each is tested with its own tests). Default: kwik-auth and kwik-listing.
    #[arg(short, long = "package")]
    packages: Vec<String>,
    /// Mutants built and tested at once (cargo-mutants' `-j`); each needs its own copy of the tree.
    #[arg(short, long, default_value_t = 1)]
    jobs: u32,
}

/// The counts of one cargo-mutants run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    caught: u64,
    timeout: u64,
    missed: u64,
    unviable: u64,
}

impl Counts {
    /// Reads the totals of `mutants.out/outcomes.json`.
    pub(crate) fn from_outcomes(json: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| format!("outcomes.json is not JSON: {e}"))?;
        let count = |key: &str| {
            value.get(key).and_then(serde_json::Value::as_u64).ok_or_else(|| format!("outcomes.json has no '{key}'"))
        };
        Ok(Self {
            caught: count("caught")?,
            timeout: count("timeout")?,
            missed: count("missed")?,
            unviable: count("unviable")?,
        })
    }

    /// Detected mutants (caught, or hung the tests) over viable ones, in percent; `None` when no
    /// mutant was viable.
    pub(crate) fn score(self) -> Option<f64> {
        let detected = self.caught + self.timeout;
        let viable = detected + self.missed;
        #[allow(clippy::cast_precision_loss, reason = "mutant counts are far below 2^52")]
        (viable > 0).then(|| 100.0 * detected as f64 / viable as f64)
    }
}

pub fn run(root: &Path, args: &MutantsArgs) -> ExitCode {
    let installed = crate::cargo().args(["mutants", "--version"]).output().is_ok_and(|out| out.status.success());
    if !installed {
        eprintln!("cargo-mutants is not installed: `cargo install cargo-mutants --locked`");
        return ExitCode::FAILURE;
    }
    let packages: Vec<String> =
        if args.packages.is_empty() { CRATES.iter().map(|&c| c.to_owned()).collect() } else { args.packages.clone() };
    let mut results = Vec::new();
    for package in &packages {
        results.push((package, mutate(root, package, args.jobs)));
    }

    println!("\n== mutants summary ==");
    let mut ok = true;
    for (package, result) in &results {
        match result {
            Ok((counts, out)) => {
                let score = counts.score();
                let passed = score.is_some_and(|s| s >= MIN_SCORE);
                ok &= passed;
                println!(
                    "{} {package:<14} {} caught, {} timeouts, {} missed, {} unviable: {} (minimum {MIN_SCORE}%)",
                    if passed { "ok  " } else { "FAIL" },
                    counts.caught,
                    counts.timeout,
                    counts.missed,
                    counts.unviable,
                    score.map_or_else(|| "no viable mutant".to_owned(), |s| format!("{s:.1}%")),
                );
                let missed = std::fs::read_to_string(out.join("missed.txt")).unwrap_or_default();
                for line in missed.lines() {
                    println!("       missed: {line}");
                }
            }
            Err(e) => {
                ok = false;
                println!("FAIL {package:<14} {e}");
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs cargo-mutants on `package` with its own tests; returns the counts and the
/// `mutants.out` directory.
fn mutate(root: &Path, package: &str, jobs: u32) -> Result<(Counts, PathBuf), String> {
    println!("\n== mutants: {package} ==");
    let dir = crate::bench::target_dir(root).join("kwik-mutants");
    let output_dir = dir.join(package);
    std::fs::create_dir_all(&output_dir).map_err(|e| format!("cannot create {}: {e}", output_dir.display()))?;
    let status = crate::cargo()
        .current_dir(root)
        // A target directory of its own. The scratch copies build the workspace's crates under the
        // same artifact names as the real tree (cargo hashes path packages relative to the
        // workspace root) and cargo judges freshness by modification times, so a shared target
        // directory would hand a mutated kwik-auth to the next ordinary build of the real tree.
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .args(["mutants", "--package", package, "--test-package", package, "--jobs", &jobs.to_string()])
        .arg("--output")
        .arg(&output_dir)
        .status()
        .map_err(|e| format!("cannot run cargo-mutants: {e}"))?;
    // 0: all caught; 2: some missed; 3: some timed out. Anything else means no usable result
    // (4: the unmutated tests fail, 1: usage, 70: internal error).
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        return Err(format!("cargo-mutants failed ({status})"));
    }
    let out = output_dir.join("mutants.out");
    let json =
        std::fs::read_to_string(out.join("outcomes.json")).map_err(|e| format!("cannot read outcomes.json: {e}"))?;
    Ok((Counts::from_outcomes(&json)?, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_outcomes_json() {
        let json = r#"{"total_mutants": 108, "missed": 1, "caught": 89, "timeout": 8, "unviable": 10, "success": 0,
            "outcomes": []}"#;
        assert_eq!(Counts::from_outcomes(json), Ok(Counts { caught: 89, timeout: 8, missed: 1, unviable: 10 }));
        assert!(Counts::from_outcomes(r#"{"caught": 1}"#).is_err());
        assert!(Counts::from_outcomes("not json").is_err());
    }

    #[test]
    fn score_counts_timeouts_as_detected_and_ignores_unviable() {
        let counts = Counts { caught: 90, timeout: 5, missed: 5, unviable: 40 };
        assert_eq!(counts.score(), Some(95.0));
        assert_eq!(Counts { caught: 0, timeout: 0, missed: 0, unviable: 3 }.score(), None);
        assert_eq!(Counts { caught: 0, timeout: 0, missed: 2, unviable: 0 }.score(), Some(0.0));
    }
}
