//! Project automation. `cargo xtask test` runs the whole check, as CI does:
//! fmt, clippy, the test suite on SQLite, the test suite on PostgreSQL, docs, and the OpenAPI
//! snapshot check; it ends with a summary and the line `N passed, N failed, N skipped` (tests
//! that returned early through `kwik_testing::skip`, counted from `KWIK_TEST_SKIP_LOG`).
//! It also validates the generated document with `openapi-spec-validator` and, except with
//! `--quick`, runs schemathesis against a live server (`conformance.rs`) and checks a TypeScript
//! client generated from the snapshot against another (`typescript.rs`), and generates a new
//! service with `kwik-server new` and checks it as its own CI would (`new_service.rs`).
//! `cargo xtask openapi` rewrites the committed snapshot (`docs/openapi.json`).
//! `cargo xtask schemathesis` runs the validator and schemathesis alone; `cargo xtask typescript`
//! the TypeScript client check.
//! `cargo xtask bench` runs the load benchmarks (`docs/benchmarks.md`).
//! `cargo xtask mutants` runs mutation testing on kwik-auth and kwik-listing (`mutants.rs`).

mod bench;
mod conformance;
mod mutants;
mod new_service;
mod typescript;

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

const SNAPSHOT: &str = "docs/openapi.json";
/// Without TLS: sqlx 0.9.0 does not set `TCP_NODELAY` (sqlx#4335), so a TLS handshake with a
/// local server stalls about 90 ms on delayed ACKs, once per connection, and the tests open
/// thousands.
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/0";

/// Tests recorded as skipped (`kwik_testing::skip`) by the test runs so far.
static SKIPPED_TESTS: AtomicU64 = AtomicU64::new(0);

#[derive(Parser)]
#[command(about = "Kwik for Rust project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// fmt, clippy, tests on SQLite and PostgreSQL, docs, OpenAPI snapshot, OpenAPI validator,
    /// schemathesis, the generated TypeScript client.
    Test {
        /// Skip fmt, clippy, docs, schemathesis and the TypeScript client (tests, snapshot and
        /// validator only).
        #[arg(long)]
        quick: bool,
        /// Extra arguments passed to `cargo test` (e.g. a test name filter).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Regenerate the committed OpenAPI snapshot.
    Openapi,
    /// Validate the OpenAPI document and run schemathesis against a live server (as `test` does).
    Schemathesis,
    /// Generate the TypeScript client from the snapshot, type-check it and run it against a live
    /// server (as `test` does).
    Typescript,
    /// Generate a service with `kwik-server new` and check it as its CI would (as `test` does).
    NewService,
    /// Load benchmarks of kwik-server beside a raw poem + sqlx baseline (needs wrk and PostgreSQL).
    Bench(bench::BenchArgs),
    /// Mutation testing (cargo-mutants) of kwik-auth and kwik-listing with their own tests;
    /// fails below 95% detected. Not part of `test`.
    Mutants(mutants::MutantsArgs),
}

pub(crate) struct Step {
    name: String,
    ok: bool,
    seconds: f64,
    passed: u64,
    failed: u64,
    note: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.task {
        Task::Test { quick, cargo_args } => test(&root, quick, &cargo_args),
        Task::Bench(args) => bench::run(&root, &args),
        Task::Mutants(args) => mutants::run(&root, &args),
        Task::Schemathesis => summarize(&conformance::steps(&root, false)),
        Task::Typescript => summarize(&[typescript::step(&root)]),
        Task::NewService => summarize(&[new_service::step(&root, reachable_pg_url().as_deref())]),
        Task::Openapi => match generate_spec(&root) {
            Ok(spec) => match std::fs::write(root.join(SNAPSHOT), spec) {
                Ok(()) => {
                    println!("wrote {SNAPSHOT}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("cannot write {SNAPSHOT}: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn workspace_root() -> PathBuf {
    let built_for = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `cargo run` sets CARGO_MANIFEST_DIR for the checkout it runs in. Two checkouts sharing one
    // CARGO_TARGET_DIR share the uplifted `debug/xtask` binary, and cargo may consider this
    // checkout's build fresh while the binary is the other one's: it would then test the other
    // tree. Refuse instead of testing the wrong code.
    if let Some(running_for) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
        && running_for != built_for
    {
        eprintln!(
            "this xtask binary was built for {} but runs for {}: another checkout shares the target \
             directory. Rebuild it: `touch {}/src/main.rs` and run again.",
            built_for.display(),
            running_for.display(),
            running_for.display()
        );
        std::process::exit(2);
    }
    built_for.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The PostgreSQL server of the test run (`KWIK_TEST_DATABASE_URL`, or the default), if it
/// answers.
fn reachable_pg_url() -> Option<String> {
    let url = std::env::var("KWIK_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    reachable(&url, 5432).then_some(url)
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn test(root: &Path, quick: bool, cargo_args: &[String]) -> ExitCode {
    let in_ci = std::env::var_os("CI").is_some();
    let mut steps = Vec::new();
    if !quick {
        steps.push(run_step("fmt", cargo().current_dir(root).args(["fmt", "--all", "--check"])));
        steps.push(run_step(
            "clippy",
            cargo().current_dir(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        ));
    }

    // Shared rate limits are tested against Redis in both halves; without it those tests skip.
    let redis_url = std::env::var("KWIK_TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_REDIS_URL.to_owned());
    let redis_up = reachable(&redis_url, 6379);
    if !redis_up {
        let banner = "!".repeat(78);
        eprintln!(
            "\n{banner}\n  Redis is NOT reachable at {}\n  The tests of shared (Redis) rate limits will be skipped.\n  Start it, or set KWIK_TEST_REDIS_URL=redis://host:port/db\n{banner}\n",
            redact(&redis_url)
        );
        steps.push(Step {
            name: "Redis".to_owned(),
            ok: !in_ci,
            seconds: 0.0,
            passed: 0,
            failed: 0,
            note: if in_ci { "unreachable (a failure in CI)".to_owned() } else { "SKIPPED: unreachable".to_owned() },
        });
    }
    // The email tests start aiosmtpd with the virtualenv's Python (missing: they skip, or fail
    // under CI).
    let python = match conformance::venv(root) {
        Ok(venv) => Some(venv.join("bin/python")),
        Err(e) => {
            eprintln!("no Python virtualenv for the email tests: {e}");
            None
        }
    };
    let with_redis = |command: &mut Command| {
        if redis_up {
            command.env("KWIK_TEST_REDIS_URL", &redis_url);
        } else {
            command.env_remove("KWIK_TEST_REDIS_URL");
        }
        if let Some(python) = &python {
            command.env("KWIK_TEST_PYTHON", python);
        }
    };

    let mut sqlite = cargo();
    sqlite.current_dir(root).args(["test", "--workspace"]).args(cargo_args).env_remove("KWIK_TEST_DATABASE_URL");
    with_redis(&mut sqlite);
    steps.push(run_tests(root, "tests (SQLite)", &mut sqlite));

    let pg_url = std::env::var("KWIK_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| DEFAULT_PG_URL.to_owned());
    if reachable(&pg_url, 5432) {
        let mut pg = cargo();
        pg.current_dir(root).args(["test", "--workspace"]).args(cargo_args).env("KWIK_TEST_DATABASE_URL", &pg_url);
        with_redis(&mut pg);
        steps.push(run_tests(root, "tests (PostgreSQL)", &mut pg));
    } else {
        let banner = "!".repeat(78);
        eprintln!(
            "\n{banner}\n  PostgreSQL is NOT reachable at {}\n  The PostgreSQL half of the suite did not run.\n  Start it, or set KWIK_TEST_DATABASE_URL=postgres://user@host:port/db\n{banner}\n",
            redact(&pg_url)
        );
        steps.push(Step {
            name: "tests (PostgreSQL)".to_owned(),
            ok: !in_ci,
            seconds: 0.0,
            passed: 0,
            failed: 0,
            note: if in_ci { "unreachable (a failure in CI)".to_owned() } else { "SKIPPED: unreachable".to_owned() },
        });
    }

    if !quick {
        steps.push(run_step(
            "docs",
            cargo().current_dir(root).args(["doc", "--workspace", "--no-deps"]).env("RUSTDOCFLAGS", "-D warnings"),
        ));
    }
    steps.push(check_snapshot(root));
    steps.extend(conformance::steps(root, quick));
    if !quick {
        steps.push(typescript::step(root));
        steps.push(new_service::step(root, reachable_pg_url().as_deref()));
    }

    summarize(&steps)
}

/// Prints the summary of `steps` and the line `N passed, N failed, N skipped`.
fn summarize(steps: &[Step]) -> ExitCode {
    println!("\n== summary ==");
    for step in steps {
        let status = if step.ok { "ok  " } else { "FAIL" };
        let counts = if step.passed + step.failed > 0 {
            format!(" ({} passed, {} failed)", step.passed, step.failed)
        } else {
            String::new()
        };
        println!("{status} {:<22} {:>7.1}s{counts} {}", step.name, step.seconds, step.note);
    }
    let passed: u64 = steps.iter().map(|s| s.passed).sum();
    let failed: u64 = steps.iter().map(|s| s.failed).sum();
    let failed_steps = steps.iter().filter(|s| !s.ok).count();
    let skipped = SKIPPED_TESTS.load(Ordering::Relaxed);
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed_steps == 0 && failed == 0 {
        ExitCode::SUCCESS
    } else {
        println!("{failed_steps} step(s) failed");
        ExitCode::FAILURE
    }
}

fn run_step(name: &str, command: &mut Command) -> Step {
    println!("\n== {name} ==");
    let start = Instant::now();
    let ok = command.status().is_ok_and(|s| s.success());
    Step {
        name: name.to_owned(),
        ok,
        seconds: start.elapsed().as_secs_f64(),
        passed: 0,
        failed: 0,
        note: String::new(),
    }
}

/// Runs `cargo test`, echoing its output, and sums the `test result:` lines. Tests that skip
/// themselves (`kwik_testing::skip`) pass for libtest: they append a line to the file named by
/// `KWIK_TEST_SKIP_LOG`, a fresh one per run, whose lines are counted as skipped.
fn run_tests(root: &Path, name: &str, command: &mut Command) -> Step {
    println!("\n== {name} ==");
    let start = Instant::now();
    let slug: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let skip_log = bench::target_dir(root).join(format!("kwik-skipped-{slug}-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);
    let output = command.env("KWIK_TEST_SKIP_LOG", &skip_log).stdout(Stdio::piped()).stderr(Stdio::inherit()).output();
    let (ok, stdout) = match output {
        Ok(out) => (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned()),
        Err(e) => (false, format!("cannot run cargo: {e}")),
    };
    print!("{stdout}");
    let (mut passed, mut failed) = (0, 0);
    for line in stdout.lines().filter(|l| l.starts_with("test result:")) {
        passed += count_before(line, " passed");
        failed += count_before(line, " failed");
    }
    let skips = std::fs::read_to_string(&skip_log).unwrap_or_default();
    let _ = std::fs::remove_file(&skip_log);
    let skipped = skips.lines().count() as u64;
    SKIPPED_TESTS.fetch_add(skipped, Ordering::Relaxed);
    for line in skips.lines() {
        println!("skipped: {}", line.replace('\t', ": "));
    }
    // Skipped tests passed for libtest: count them once, as skipped.
    let passed = passed.saturating_sub(skipped);
    let note = if skipped > 0 { format!("{skipped} skipped") } else { String::new() };
    Step { name: name.to_owned(), ok, seconds: start.elapsed().as_secs_f64(), passed, failed, note }
}

fn count_before(line: &str, label: &str) -> u64 {
    line.find(label)
        .and_then(|end| line[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

/// Whether the server of a `scheme://[user@]host[:port]/...` URL accepts a TCP connection.
fn reachable(url: &str, default_port: u16) -> bool {
    let authority = url.split("://").nth(1).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default().split(['/', '?']).next().unwrap_or_default();
    let target = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:{default_port}") };
    target
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok())
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(e)) if e > s => format!("{}://***{}", &url[..s], &url[e..]),
        _ => url.to_owned(),
    }
}

pub(crate) fn generate_spec(root: &Path) -> Result<String, String> {
    let output = cargo()
        .current_dir(root)
        .args(["run", "--quiet", "-p", "kwik-server", "--", "openapi"])
        .env("KWIK_LOG_LEVEL", "error")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run kwik-server: {e}"))?;
    if !output.status.success() {
        return Err("`kwik-server openapi` failed".to_owned());
    }
    String::from_utf8(output.stdout).map_err(|e| format!("spec is not UTF-8: {e}"))
}

fn check_snapshot(root: &Path) -> Step {
    println!("\n== OpenAPI snapshot ==");
    let start = Instant::now();
    let (ok, note) = match (generate_spec(root), std::fs::read_to_string(root.join(SNAPSHOT))) {
        (Ok(generated), Ok(committed)) if generated == committed => (true, String::new()),
        (Ok(_), Ok(_)) => (false, format!("{SNAPSHOT} is stale: run `cargo xtask openapi` and commit it")),
        (Ok(_), Err(_)) => (false, format!("{SNAPSHOT} is missing: run `cargo xtask openapi`")),
        (Err(e), _) => (false, e),
    };
    if !note.is_empty() {
        eprintln!("{note}");
    }
    Step { name: "openapi snapshot".to_owned(), ok, seconds: start.elapsed().as_secs_f64(), passed: 0, failed: 0, note }
}
