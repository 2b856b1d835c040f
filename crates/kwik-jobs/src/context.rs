//! What a running job gets: the database, its identity, and the application's shared data.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use kwik_core::{Context, Db, Result, Tx};

/// Values the application shares with its jobs (a mail sender, an HTTP client), by type:
/// [`JobData::insert`] before the workers start, [`JobContext::data`] in a job.
#[derive(Clone, Default)]
pub struct JobData(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl JobData {
    /// Adds (or replaces) the value of type `T`.
    #[must_use]
    pub fn insert<T: Send + Sync + 'static>(self, value: T) -> Self {
        let mut map = Arc::unwrap_or_clone(self.0);
        map.insert(TypeId::of::<T>(), Arc::new(value));
        Self(Arc::new(map))
    }

    /// The value of type `T`, if one was inserted.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.get(&TypeId::of::<T>()).cloned().and_then(|value| value.downcast::<T>().ok())
    }
}

impl std::fmt::Debug for JobData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobData").field("values", &self.0.len()).finish()
    }
}

/// A running job's surroundings: the database, the job's id and attempt, and [`JobData`].
#[derive(Debug, Clone)]
pub struct JobContext {
    pub(crate) db: Db,
    pub(crate) id: String,
    pub(crate) name: &'static str,
    pub(crate) attempt: u32,
    pub(crate) data: JobData,
}

impl JobContext {
    /// The application's database pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The job's id (a ULID; the `id` of `GET /jobs/`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job's name ([`Job::NAME`](crate::Job::NAME)).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Which run this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A key that is the same on every run of this job and differs between jobs
    /// (`job:<name>:<id>`): give it to outside services that deduplicate requests (an
    /// `Idempotency-Key` header), so a run repeated after a crash is not acted on twice.
    pub fn idempotency_key(&self) -> String {
        format!("job:{}:{}", self.name, self.id)
    }

    /// The shared value of type `T` ([`JobData`]), if the application provided one.
    pub fn data<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.data.get::<T>()
    }

    /// A write scope for the job's own changes (no user; every permission): commit it with
    /// [`Context::commit`].
    ///
    /// # Errors
    /// [`kwik_core::Error::Unavailable`] when no connection is free in time.
    pub async fn begin(&self) -> Result<Context> {
        Context::begin(&self.db, None).await
    }

    /// Records `key` in `ctx`'s transaction and says whether it was new: `true` the first time,
    /// `false` when a committed transaction recorded it before. Make a database side effect
    /// exactly-once by doing it only when this is `true`, in the same transaction:
    ///
    /// ```no_run
    /// # async fn f(job: kwik_jobs::JobContext) -> kwik_core::Result<()> {
    /// let mut ctx = job.begin().await?;
    /// if job.first_time(&mut ctx, &job.idempotency_key()).await? {
    ///     // ... insert the ledger row in ctx.tx ...
    /// }
    /// ctx.commit().await
    /// # }
    /// ```
    ///
    /// Keys are kept in `kwik_job_keys` (text, at most what the database allows in an index).
    ///
    /// # Errors
    /// The database's error.
    pub async fn first_time(&self, ctx: &mut Context, key: &str) -> Result<bool> {
        let inserted = match &mut ctx.tx {
            Tx::Sqlite(tx) => sqlx::query("INSERT INTO kwik_job_keys (key) VALUES (?) ON CONFLICT DO NOTHING")
                .bind(key)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => sqlx::query("INSERT INTO kwik_job_keys (key) VALUES ($1) ON CONFLICT DO NOTHING")
                .bind(key)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Autocommit(_) => {
                return Err(kwik_core::Error::Internal(
                    "JobContext::first_time needs a write scope (JobContext::begin)".to_owned(),
                ));
            }
        };
        Ok(inserted == 1)
    }
}
