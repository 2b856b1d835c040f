//! The markdown report (`target/bench/results.md`): the load table, kwik-server beside the
//! baseline (and Python Kwik's table with `--peer kwik`, from `peer.rs`); the argon2id hash time; the
//! database cost per request; the targets met or missed.

use std::fmt::Write as _;

use serde_json::Value;

use super::WORKLOADS;

pub(super) fn find<'a>(results: &'a [Value], server: &str, workload: &str, c: u32) -> Option<&'a Value> {
    results.iter().find(|r| r["server"] == server && r["workload"] == workload && r["concurrency"] == c)
}

pub(super) fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(0.0)
}

pub(super) fn markdown(meta: &Value, hash: &Value, results: &[Value], probes: &[Value], concurrency: &[u32]) -> String {
    let mut md = String::new();
    let m = &meta["machine"];
    let _ = writeln!(
        md,
        "## Results ({} UTC, commit {})\n",
        meta["date"].as_str().unwrap_or("?"),
        meta["commit"].as_str().unwrap_or("?")
    );
    let _ = writeln!(
        md,
        "Machine: {} ({} cores), {} GiB RAM, Linux {}; PostgreSQL {}; {}; wrk {} threads; {} s runs after {} s warm-up; {} projects.\n",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or("?"),
        meta["postgres"].as_str().unwrap_or("?"),
        meta["rustc"].as_str().unwrap_or("?"),
        meta["wrk_threads"],
        meta["duration_s"],
        meta["warmup_s"],
        meta["projects"],
    );
    if meta["kwik_database"] == "sqlite" {
        md.push_str(
            "**kwik-server on SQLite** (`--sqlite`: a file seeded by `kwik-server seed`, 3,000 projects); \
             the baseline on PostgreSQL as usual, so its columns compare two databases.\n\n",
        );
    }
    md.push_str("| workload | c | kwik req/s | baseline req/s | kwik / baseline | kwik p50 / p99 ms | baseline p50 / p99 ms | non-2xx kwik / baseline | peak RSS MiB kwik / baseline | server CPU µs/request kwik / baseline | other CPU load, cores |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for w in &WORKLOADS {
        for &c in concurrency {
            let Some(k) = find(results, "kwik", w.id, c) else { continue };
            let b = find(results, "baseline", w.id, c);
            let dash = || "–".to_owned();
            let _ = writeln!(
                md,
                "| {} {}{} | {c} | {:.0} | {} | {} | {:.2} / {:.2} | {} | {} / {} | {:.1} / {} | {:.0} / {} | {} |",
                w.id,
                w.title,
                if k["rss_limit_hit"] == true { " (stopped at the RSS limit)" } else { "" },
                f(k, "rps"),
                b.map_or_else(dash, |b| format!("{:.0}", f(b, "rps"))),
                b.map_or_else(dash, |b| format!("{:.0}%", 100.0 * f(k, "rps") / f(b, "rps").max(1e-9))),
                f(k, "p50_ms"),
                f(k, "p99_ms"),
                b.map_or_else(dash, |b| format!("{:.2} / {:.2}", f(b, "p50_ms"), f(b, "p99_ms"))),
                k["non_2xx"],
                b.map_or_else(dash, |b| b["non_2xx"].to_string()),
                f(k, "peak_rss_mib"),
                b.map_or_else(dash, |b| format!("{:.1}", f(b, "peak_rss_mib"))),
                f(k, "server_cpu_us_per_request"),
                b.map_or_else(dash, |b| format!("{:.0}", f(b, "server_cpu_us_per_request"))),
                std::iter::once(k)
                    .chain(b)
                    .map(|r| format!("{:.2}", f(&r["cpu_cores"], "other")))
                    .collect::<Vec<_>>()
                    .join(" / "),
            );
        }
    }
    md.push_str(
        "\nPeak RSS: the server's high-water mark over the measured run. Server CPU per request: the server \
         process's CPU time over the run divided by the requests served (less sensitive to other load than req/s). \
         Other CPU load: cores used during the run \
         by processes other than the server, PostgreSQL and wrk (near 0 on a quiet machine).\n",
    );
    md.push_str(&super::peer::markdown(meta, results, concurrency));
    let _ = writeln!(
        md,
        "\nW1 login: argon2id m={} KiB, t={}, p={} (the `KWIK_ARGON2_*` values of the run); one hash takes {:.1} ms \
         (mean of {}, release build, one core). A login verifies one hash.\n",
        hash["memory_kib"],
        hash["iterations"],
        hash["parallelism"],
        f(hash, "ms_per_hash"),
        hash["count"],
    );
    if !probes.is_empty() {
        md.push_str("Database cost per request (sequential requests through a counting proxy; a round trip is one Sync/ReadyForQuery):\n\n");
        md.push_str("| workload | kwik statements / round trips | baseline statements / round trips | sequential latency ms kwik / baseline |\n");
        md.push_str("|---|---:|---:|---:|\n");
        for w in &WORKLOADS {
            let Some(k) = probes.iter().find(|p| p["server"] == "kwik" && p["workload"] == w.id) else { continue };
            let b = probes.iter().find(|p| p["server"] == "baseline" && p["workload"] == w.id);
            let _ = writeln!(
                md,
                "| {} {} | {:.2} / {:.2} | {} | {:.2} / {} |",
                w.id,
                w.title,
                f(k, "db_statements_per_request"),
                f(k, "db_round_trips_per_request"),
                b.map_or_else(
                    || "–".to_owned(),
                    |b| format!("{:.2} / {:.2}", f(b, "db_statements_per_request"), f(b, "db_round_trips_per_request"))
                ),
                f(k, "mean_latency_ms"),
                b.map_or_else(|| "–".to_owned(), |b| format!("{:.2}", f(b, "mean_latency_ms"))),
            );
        }
        md.push('\n');
    }
    md.push_str("Targets:\n\n");
    for w in ["W2", "W3", "W4"] {
        for &c in concurrency {
            if let (Some(k), Some(b)) = (find(results, "kwik", w, c), find(results, "baseline", w, c)) {
                let ratio = f(k, "rps") / f(b, "rps").max(1e-9);
                let _ = writeln!(
                    md,
                    "- {} {w} c={c}: throughput {:.0}% of baseline (target ≥ 90%)",
                    mark(ratio >= 0.9),
                    ratio * 100.0
                );
            }
        }
    }
    for w in ["W2", "W3", "W4", "W5"] {
        if let Some(k) = find(results, "kwik", w, 16) {
            let p99 = f(k, "p99_ms");
            let _ = writeln!(md, "- {} {w} c=16: p99 {p99:.2} ms (target < 10 ms)", mark(p99 < 10.0));
        }
    }
    let non_login: Vec<&Value> = results.iter().filter(|r| r["server"] == "kwik" && r["workload"] != "W1").collect();
    if let Some(peak) = non_login.iter().map(|r| f(r, "peak_rss_mib")).reduce(f64::max) {
        let _ = writeln!(md, "- {} peak RSS over W2–W5: {peak:.1} MiB (target < 48 MiB)", mark(peak < 48.0));
    }
    if let Some(peak) = results
        .iter()
        .filter(|r| r["server"] == "kwik" && r["workload"] == "W1")
        .map(|r| f(r, "peak_rss_mib"))
        .reduce(f64::max)
    {
        let _ = writeln!(
            md,
            "- {} peak RSS during W1 (concurrent argon2id hashes): {peak:.1} MiB (target < 48 MiB)",
            mark(peak < 48.0)
        );
    }
    if let Some(k) = probes.iter().find(|p| p["server"] == "kwik" && p["workload"] == "W2") {
        let statements = f(k, "db_statements_per_request");
        let _ = writeln!(
            md,
            "- {} auth + permission check: {statements:.2} statement per request on W2 (target ≤ 1 round trip); {:.2} wire round trips, \
             the others being sqlx's pool pings (kwik-server: on release only; the baseline: on acquire and release)",
            mark(statements <= 1.0),
            f(k, "db_round_trips_per_request"),
        );
    }
    md
}

fn mark(ok: bool) -> &'static str {
    if ok { "met:" } else { "**missed:**" }
}
