//! Prometheus collectors of the job workers (registered in the HTTP layer's registry by
//! [`register`]): runs by outcome, run time, jobs running now.

use std::sync::LazyLock;
use std::time::Instant;

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

/// One run in progress: counted in `kwik_jobs_running` until dropped (also when the run is
/// dropped midway, at shutdown); [`Run::finish`] records its outcome and duration.
pub(crate) struct Run {
    job: &'static str,
    started: Instant,
}

impl Run {
    pub(crate) fn start(job: &'static str) -> Self {
        if let Some(c) = COLLECTORS.as_ref() {
            c.running.with_label_values(&[job]).inc();
        }
        Self { job, started: Instant::now() }
    }

    pub(crate) fn finish(self, succeeded: bool) {
        if let Some(c) = COLLECTORS.as_ref() {
            c.duration.with_label_values(&[self.job]).observe(self.started.elapsed().as_secs_f64());
            let outcome = if succeeded { "succeeded" } else { "failed" };
            c.runs.with_label_values(&[self.job, outcome]).inc();
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Some(c) = COLLECTORS.as_ref() {
            c.running.with_label_values(&[self.job]).dec();
        }
    }
}
