//! The invalidation channel of the principal cache: `LISTEN kwik_principals` on PostgreSQL, a
//! counter read every check interval on SQLite. Runs as a background task until the cache is
//! dropped or the application's pool is closed.

use std::sync::Weak;
use std::time::Duration;

use kwik_core::Db;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{PgPool, SqlitePool};

use super::{CHANNEL, PrincipalCache, RETRY_AFTER};

/// The payload of heartbeats (every other notification means a change).
const HEARTBEAT: &str = "heartbeat";

/// The `application_name` of the listening connection (visible in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "kwik-principal-cache";

/// Starts watching `db` for principal changes on behalf of `cache`; `false` outside a Tokio
/// runtime (nothing to run the watcher on: the cache stays bypassed until a later call).
pub(super) fn spawn(cache: Weak<PrincipalCache>, db: Db, interval: Duration) -> bool {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return false };
    match db {
        Db::Sqlite(pool) => drop(runtime.spawn(poll_counter(cache, pool, interval))),
        Db::Postgres(pool) => {
            // Its own one-connection pool: the listening connection must not take a slot of the
            // application's pool, nor keep that pool's `close()` waiting at shutdown.
            let options = pool.connect_options().as_ref().clone().application_name(LISTENER_APPLICATION_NAME);
            let listener_pool = PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .max_lifetime(None)
                .idle_timeout(None)
                .acquire_timeout(RETRY_AFTER * 5)
                .connect_lazy_with(options);
            drop(runtime.spawn(heartbeat(cache.clone(), pool, listener_pool.clone(), interval)));
            drop(runtime.spawn(listen(cache, listener_pool)));
        }
    }
    true
}

/// SQLite: reads `kwik_principal_changes.counter` every `interval`; a new value drops the cache.
/// A failed read marks the channel down (the cache is bypassed) until a read succeeds.
async fn poll_counter(cache: Weak<PrincipalCache>, pool: SqlitePool, interval: Duration) {
    let mut last: Option<i64> = None;
    loop {
        let Some(cache) = cache.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        match sqlx::query_scalar::<_, i64>("SELECT counter FROM kwik_principal_changes WHERE id = 1")
            .fetch_one(&pool)
            .await
        {
            Ok(counter) => {
                if last != Some(counter) || !cache.was_live() {
                    last = Some(counter);
                    cache.ready();
                } else {
                    cache.alive();
                }
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                if cache.was_live() {
                    tracing::warn!(%error, "principal cache: cannot read the change counter; bypassing the cache");
                }
                cache.down();
            }
        }
        drop(cache);
        tokio::time::sleep(interval).await;
    }
}

/// PostgreSQL: sends a heartbeat through the channel every `interval` (the cache is bypassed when
/// none arrived for three intervals: a connection that died silently cannot hide changes for
/// longer). Closes the listener's pool, which ends [`listen`], once the cache is dropped or the
/// application's pool closed.
async fn heartbeat(cache: Weak<PrincipalCache>, pool: PgPool, listener_pool: PgPool, interval: Duration) {
    loop {
        if cache.strong_count() == 0 || pool.is_closed() {
            listener_pool.close().await;
            return;
        }
        // Failures show as missing heartbeats; the listener reports them.
        let _ = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(HEARTBEAT).execute(&pool).await;
        tokio::time::sleep(interval).await;
    }
}

/// PostgreSQL: `LISTEN kwik_principals` on a dedicated connection. Every notification other than
/// a heartbeat drops the cache; a lost connection marks the channel down until it listens again.
async fn listen(cache: Weak<PrincipalCache>, listener_pool: PgPool) {
    let mut listener = loop {
        let attempt = async {
            let mut listener = PgListener::connect_with(&listener_pool).await?;
            // Report a lost connection at once (`Ok(None)`), reconnecting on the next call.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match attempt.await {
            Ok(listener) => break listener,
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "principal cache: cannot listen for changes; bypassing the cache");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    };
    if let Some(cache) = cache.upgrade() {
        cache.ready();
    }
    loop {
        let received = listener.try_recv().await;
        let Some(cache) = cache.upgrade() else { return };
        match received {
            Ok(Some(notification)) => {
                if notification.payload() != HEARTBEAT {
                    cache.changed();
                }
                if cache.was_live() {
                    cache.alive();
                } else {
                    // Listening again after a lost connection (`try_recv` reconnected and
                    // re-subscribed without saying so): what happened in between is unknown.
                    cache.ready();
                }
            }
            // The connection was lost; the next `try_recv` reconnects, and the first
            // notification (a heartbeat at the latest) on the new one makes the cache live again.
            Ok(None) => {
                tracing::warn!("principal cache: lost the notification connection; bypassing the cache");
                cache.down();
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => {
                tracing::warn!(%error, "principal cache: lost the notification channel; bypassing the cache");
                cache.down();
                drop(cache);
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}
