//! Sending email in the background.

use std::time::Duration;

use kwik_core::Context;
use kwik_jobs::{Job, JobContext, JobError, JobId};
use serde::{Deserialize, Serialize};

use crate::mailer::Mailer;
use crate::template::Email;

/// The job that delivers one [`Email`] with the [`Mailer`] the application shares with its
/// jobs (`AppState::with_job_data`; Kwik's server does it when `KWIK_SMTP_HOST` is set). Ten
/// attempts, backoff from 1 s doubling to at most 10 minutes between them (about 20 minutes in
/// all), then dead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendEmail(pub Email);

impl Job for SendEmail {
    const NAME: &'static str = "send_email";
    const MAX_ATTEMPTS: u32 = 10;
    const TIMEOUT: Duration = Duration::from_mins(1);

    fn backoff(attempt: u32) -> Duration {
        Duration::from_secs(1u64 << attempt.saturating_sub(1).min(10)).min(Duration::from_mins(10))
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let mailer = ctx.data::<Mailer>().ok_or_else(|| JobError::new("email is not configured (KWIK_SMTP_HOST)"))?;
        mailer.send(&self.0).await.map_err(|e| JobError(e.0))?;
        tracing::info!(job_id = ctx.id(), "email sent");
        Ok(())
    }
}

/// Queues `email` in `ctx`'s transaction: it is sent after the commit (and never if the
/// transaction rolls back), by a worker, with retries.
///
/// # Errors
/// As [`kwik_jobs::enqueue`].
pub async fn send_later(ctx: &mut Context, email: Email) -> kwik_core::Result<JobId> {
    kwik_jobs::enqueue(ctx, SendEmail(email)).await
}
