//! Prometheus collectors of the job workers (registered in the HTTP layer's registry by
//! [`register`]): runs by outcome, run time, jobs running now.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

struct Collectors {
    runs: IntCounterVec,
    duration: HistogramVec,
    running: IntGaugeVec,
}

static COLLECTORS: LazyLock<Option<Collectors>> = LazyLock::new(|| {
    let runs = IntCounterVec::new(
        Opts::new("kwik_job_runs_total", "Job runs finished in this process, by job and outcome (succeeded, failed)"),
        &["job", "outcome"],
    )
    .ok()?;
    let duration = HistogramVec::new(
        HistogramOpts::new("kwik_job_duration_seconds", "How long job runs took, in seconds, by job"),
        &["job"],
    )
    .ok()?;
    let running =
        IntGaugeVec::new(Opts::new("kwik_jobs_running", "Jobs running in this process now, by job"), &["job"]).ok()?;
    Some(Collectors { runs, duration, running })
});

/// Adds the job collectors to `registry` (once per registry).
///
/// # Errors
/// Prometheus's error when a collector of the same name is registered already.
pub fn register(registry: &Registry) -> Result<(), prometheus::Error> {
    if let Some(c) = COLLECTORS.as_ref() {
        registry.register(Box::new(c.runs.clone()))?;
        registry.register(Box::new(c.duration.clone()))?;
        registry.register(Box::new(c.running.clone()))?;
    }
    Ok(())
}

pub(crate) fn started(job: &str) {
    if let Some(c) = COLLECTORS.as_ref() {
        c.running.with_label_values(&[job]).inc();
    }
}

pub(crate) fn finished(job: &str, took: Duration, succeeded: bool) {
    if let Some(c) = COLLECTORS.as_ref() {
        c.running.with_label_values(&[job]).dec();
        c.duration.with_label_values(&[job]).observe(took.as_secs_f64());
        let outcome = if succeeded { "succeeded" } else { "failed" };
        c.runs.with_label_values(&[job, outcome]).inc();
    }
}
