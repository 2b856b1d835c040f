//! Periodic jobs: a cron expression and a job kind; each tick queues one job, once across every
//! process (the queue's unique key per tick), whichever processes run schedulers.

use std::str::FromStr;
use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskId};
use chrono::{DateTime, Utc};
use kwik_core::{Context, Db, Error};
use tokio::sync::watch;

use crate::enqueue::push;
use crate::job::Job;
use crate::worker::{JobDef, job};

/// A job kind run on a cron schedule ([`ScheduleDef::new`]). The job's arguments are its
/// `Default` value.
#[derive(Clone)]
pub struct ScheduleDef {
    /// The cron expression: six fields, seconds first (`sec min hour day-of-month month
    /// day-of-week`, an optional seventh for the year), in UTC. `0 0 3 * * *`: daily at 03:00.
    pub cron: String,
    /// The job kind it queues.
    pub job: JobDef,
    max_attempts: u32,
    args: fn() -> Result<Vec<u8>, String>,
}

impl std::fmt::Debug for ScheduleDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleDef").field("cron", &self.cron).field("job", &self.job.name).finish_non_exhaustive()
    }
}

impl ScheduleDef {
    /// Runs job `J` (its `Default` value) at every tick of `cron`. The expression is checked by
    /// [`ScheduleDef::validate`] (`App::prepare` refuses to start with a bad one).
    pub fn new<J: Job + Default>(cron: impl Into<String>) -> Self {
        Self {
            cron: cron.into(),
            job: job::<J>(),
            max_attempts: J::MAX_ATTEMPTS,
            args: || serde_json::to_vec(&J::default()).map_err(|e| e.to_string()),
        }
    }

    /// Checks the cron expression (by the `cron` crate's grammar).
    ///
    /// # Errors
    /// [`Error::Internal`] naming the job and what is wrong with the expression.
    pub fn validate(&self) -> Result<(), Error> {
        self.parse().map(drop)
    }

    fn parse(&self) -> Result<cron::Schedule, Error> {
        cron::Schedule::from_str(&self.cron).map_err(|e| {
            Error::Internal(format!("schedule of job {}: bad cron expression {:?}: {e}", self.job.name, self.cron))
        })
    }
}

/// Queues `def`'s job at each tick until `stop` turns true. Ticks missed while no process ran
/// are not caught up: the next one runs.
pub(crate) async fn run_schedule(db: Db, def: ScheduleDef, mut stop: watch::Receiver<bool>) {
    let schedule = match def.parse() {
        Ok(schedule) => schedule,
        Err(error) => {
            tracing::error!(%error, "schedule not started");
            return;
        }
    };
    loop {
        let Some(tick) = schedule.upcoming(Utc).next() else { return };
        let wait = (tick - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Err(error) = queue_tick(&db, &def, tick).await {
            tracing::warn!(job = def.job.name, %error, "could not queue a scheduled job; the next tick will");
        }
    }
}

/// Queues the job of one tick, unless another process did (the key is the tick's time).
async fn queue_tick(db: &Db, def: &ScheduleDef, tick: DateTime<Utc>) -> kwik_core::Result<()> {
    let args = (def.args)().map_err(|e| Error::Internal(format!("job {}: {e}", def.job.name)))?;
    let key = format!("tick:{}", tick.timestamp());
    let task = TaskBuilder::new(args)
        .task_id(TaskId::from_string(ulid::Ulid::generate().to_string()))
        .max_attempts(def.max_attempts as usize)
        .run_at_timestamp(u64::try_from(tick.timestamp()).unwrap_or(0))
        .idempotency_key(&key)
        .build();
    let mut ctx = Context::begin(db, None).await?;
    let queued = push(&mut ctx.tx, def.job.name, task, Some(&key)).await?;
    ctx.commit().await?;
    if queued {
        tracing::debug!(job = def.job.name, tick = %tick, "scheduled job queued");
    }
    Ok(())
}
