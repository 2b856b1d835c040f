//! The principal cache: authenticated requests without a database round trip.
//!
//! Every authenticated request needs its principal: the user row (token version, active flag,
//! tenant) and the names of the permissions their active roles grant. [`PrincipalCache`] keeps
//! them in memory, with API key rows, and drops them whenever anything they are made of changes:
//!
//! - **on this instance**, at once: kwik-rbac's functions mark their scope
//!   ([`Context::principals_changed`](kwik_core::Context::principals_changed)), and the commit
//!   advances [`kwik_core::principal_changes`];
//! - **anywhere else** (another instance, the CLI, SQL by hand), through the database: triggers
//!   on `users`, `roles`, `permissions`, `users_roles`, `roles_permissions` and `api_keys`
//!   (built-in migration 0005) notify the channel `kwik_principals` on PostgreSQL, which every
//!   instance listens to, and advance a counter on SQLite, which every instance reads every
//!   `KWIK_PRINCIPAL_CACHE_CHECK_MS` (250 ms by default).
//!
//! An entry remembers the two counters it was loaded under (read *before* its query) and is
//! served only while both are unchanged, so a load that raced with a change is never served
//! after it. When the channel is down (the listening connection lost, the counter unreadable,
//! no heartbeat for three intervals) the cache is bypassed: every request queries its principal,
//! as without a cache, until the channel is back; then everything loaded before is dropped.
//! `KWIK_PRINCIPAL_CACHE_TTL` bounds an entry's life whatever the channel says.

mod watch;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kwik_core::settings::PrincipalCacheSettings;
use kwik_core::{Db, Queries, Result};
use kwik_rbac::{User, users};
use quick_cache::sync::Cache;

/// The notification channel of principal changes on PostgreSQL.
pub const CHANNEL: &str = "kwik_principals";

/// The invalidation counters an entry was loaded under: this process's committed changes
/// ([`kwik_core::principal_changes`]) and the changes the database channel reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Epoch {
    local: u64,
    remote: u64,
}

/// A user and their effective permission names, as the principal query returned them.
#[derive(Debug, Clone)]
pub struct LoadedPrincipal {
    /// The user row.
    pub user: User,
    /// Effective permission names (through active roles).
    pub permissions: Arc<[String]>,
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    epoch: Epoch,
    loaded_at: Instant,
}

/// An API key's row, as authentication needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// The key's id.
    pub id: i64,
    /// Its owner.
    pub user_id: i64,
    /// SHA-256 of the key (compared in constant time).
    pub key_hash: String,
    /// When it stops working, if ever.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was last used (written at most once a minute).
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Hit and miss counts, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups that queried the database (absent, stale, or the cache unusable).
    pub misses: u64,
}

/// Principals and API key rows in memory, dropped on every change (see the module docs). One per
/// [`AppState`](crate::AppState); cheap to share.
#[derive(Debug)]
pub struct PrincipalCache {
    settings: PrincipalCacheSettings,
    users: Option<Cache<i64, Arc<Entry<LoadedPrincipal>>>>,
    keys: Option<Cache<String, Arc<Entry<KeyRow>>>>,
    /// This process's committed changes to the database ([`kwik_core::principal_changes`]).
    local: Arc<AtomicU64>,
    /// Changes reported by the channel (and bumps on its recovery).
    remote: AtomicU64,
    /// Whether the channel is up; the cache is bypassed while it is not.
    live: AtomicBool,
    /// When the channel last proved alive, in milliseconds since `started`.
    last_ok_ms: AtomicU64,
    started: Instant,
    watching: AtomicBool,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl PrincipalCache {
    /// An empty cache for principals stored in `db`; `settings.size == 0` makes every lookup
    /// query the database.
    pub fn new(settings: PrincipalCacheSettings, db: &Db) -> Self {
        let enabled = settings.size > 0;
        Self {
            settings,
            users: enabled.then(|| Cache::new(settings.size)),
            keys: enabled.then(|| Cache::new(settings.size)),
            local: kwik_core::principal_changes(db),
            remote: AtomicU64::new(0),
            live: AtomicBool::new(false),
            last_ok_ms: AtomicU64::new(0),
            started: Instant::now(),
            watching: AtomicBool::new(false),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether entries are served: the cache is on and its invalidation channel is up (it
    /// proved alive within three check intervals).
    pub fn is_live(&self) -> bool {
        let window = u64::try_from((self.settings.check_interval * 3).as_millis()).unwrap_or(u64::MAX);
        self.users.is_some()
            && self.live.load(Ordering::Acquire)
            && self.elapsed_ms().saturating_sub(self.last_ok_ms.load(Ordering::Acquire)) <= window
    }

    /// Hit and miss counts since start.
    pub fn stats(&self) -> CacheStats {
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }

    /// The user `user_id` and their permission names (`None`: no such user), from memory when
    /// a current entry exists. The first call starts the invalidation watcher on `db`.
    ///
    /// # Errors
    /// Database errors of the principal query.
    pub async fn principal(self: &Arc<Self>, db: &Db, user_id: i64) -> Result<Option<LoadedPrincipal>> {
        let Some(cache) = &self.users else { return load_principal(db, user_id).await };
        let Some(epoch) = self.usable_epoch(db) else { return self.miss(load_principal(db, user_id).await) };
        if let Some(entry) = cache.get(&user_id)
            && self.current(&entry, epoch)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(entry.value.clone()));
        }
        let loaded = self.miss(load_principal(db, user_id).await)?;
        if let Some(value) = &loaded {
            cache.insert(user_id, Arc::new(Entry { value: value.clone(), epoch, loaded_at: Instant::now() }));
        }
        Ok(loaded)
    }

    /// The API key row `query` finds (by prefix or by hash: `lookup` names it), from memory when
    /// a current entry exists. Absent keys are not remembered.
    ///
    /// # Errors
    /// Database errors.
    pub async fn api_key(
        self: &Arc<Self>,
        db: &Db,
        lookup: &str,
        query: &sea_query::SelectStatement,
    ) -> Result<Option<KeyRow>> {
        let load = || async { db.clone().fetch_optional::<KeyRow, _>(query).await };
        let Some(cache) = &self.keys else { return load().await };
        let Some(epoch) = self.usable_epoch(db) else { return self.miss(load().await) };
        if let Some(entry) = cache.get(lookup)
            && self.current(&entry, epoch)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(entry.value.clone()));
        }
        let loaded = self.miss(load().await)?;
        if let Some(row) = &loaded {
            cache.insert(lookup.to_owned(), Arc::new(Entry { value: row.clone(), epoch, loaded_at: Instant::now() }));
        }
        Ok(loaded)
    }

    /// Records a key's `last_used_at` in its entry (the column is written at most once a minute
    /// and does not invalidate anything).
    pub fn touched_api_key(&self, lookup: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Some(cache) = &self.keys
            && let Some(entry) = cache.get(lookup)
        {
            let mut value = entry.value.clone();
            value.last_used_at = Some(at);
            cache.insert(lookup.to_owned(), Arc::new(Entry { value, epoch: entry.epoch, loaded_at: entry.loaded_at }));
        }
    }

    fn miss<T>(&self, result: Result<T>) -> Result<T> {
        self.misses.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn current<T>(&self, entry: &Entry<T>, epoch: Epoch) -> bool {
        entry.epoch == epoch && entry.loaded_at.elapsed() < self.settings.ttl
    }

    /// Starts the invalidation watcher on `db` (once; later calls do nothing): a background task
    /// on the current Tokio runtime that ends when the cache is dropped or `db` is closed.
    /// [`App::endpoint`](crate::App::endpoint) calls it; so does the first lookup.
    pub fn watch(self: &Arc<Self>, db: &Db) {
        if self.users.is_some()
            && !self.watching.swap(true, Ordering::AcqRel)
            && !watch::spawn(Arc::downgrade(self), db.clone(), self.settings.check_interval)
        {
            // No runtime to run it on yet: the next call tries again.
            self.watching.store(false, Ordering::Release);
        }
    }

    /// The counters now, or `None` when entries must not be served (nor stored).
    fn usable_epoch(self: &Arc<Self>, db: &Db) -> Option<Epoch> {
        self.watch(db);
        // Read the counters before `is_live`: a recovery bumps `remote` before going live.
        let epoch = Epoch { local: self.local.load(Ordering::Acquire), remote: self.remote.load(Ordering::Acquire) };
        self.is_live().then_some(epoch)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The channel reported a change.
    fn changed(&self) {
        self.remote.fetch_add(1, Ordering::AcqRel);
    }

    /// The channel proved alive (a notification, a heartbeat, a counter read).
    fn alive(&self) {
        self.last_ok_ms.store(self.elapsed_ms(), Ordering::Release);
    }

    /// The channel is (again) able to report every change from now on: whatever was loaded
    /// before may have missed some, so it is dropped.
    fn ready(&self) {
        self.changed();
        self.alive();
        self.live.store(true, Ordering::Release);
    }

    /// The channel is down: bypass the cache until [`PrincipalCache::ready`].
    fn down(&self) {
        self.live.store(false, Ordering::Release);
        self.changed();
    }

    fn was_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }
}

async fn load_principal(db: &Db, user_id: i64) -> Result<Option<LoadedPrincipal>> {
    Ok(users::principal(&mut db.clone(), user_id)
        .await?
        .map(|(user, permissions)| LoadedPrincipal { user, permissions: permissions.into() }))
}

/// How long the PostgreSQL watcher waits before retrying a failed connection.
const RETRY_AFTER: Duration = Duration::from_secs(1);
