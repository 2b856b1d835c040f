//! A transaction whose `BEGIN` is cancelled mid-round-trip (a request timeout, a client that
//! hangs up) must not leave its connection inside a transaction for the next user of the pool
//! (sqlx 0.9.0 does on PostgreSQL, issue transact-rs/sqlx#4393: later statements on that
//! connection would run in a transaction nobody commits, holding its locks). The race is hit by
//! cancelling `BEGIN` at every point of its round trip, 2000 times for each kind of transaction;
//! without the fix in `Db::begin` about one run in three left a connection behind here.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kwik_core::Db;
use kwik_testing::TestDatabase;

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_begin_leaves_no_connection_inside_a_transaction() {
    let database = TestDatabase::new().await;
    let db = database.connect().await;
    let observer = database.connect().await;
    observer.execute_raw("CREATE TABLE marks (n INTEGER NOT NULL)").await.unwrap();
    for round in 0..2000u64 {
        let cut = Duration::from_micros((round % 100) * 10);
        let _ = tokio::time::timeout(cut, db.begin()).await;
        let _ = tokio::time::timeout(cut, db.begin_write()).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Db::Postgres(pool) = &observer {
        let stuck: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(stuck, 0, "connections left inside a transaction");
    }
    // No pooled connection swallows a write in a transaction nobody commits (on SQLite, one
    // would also hold the write lock, and these would time out).
    for _ in 0..20 {
        db.execute_raw("INSERT INTO marks VALUES (1)").await.unwrap();
    }
    let seen: i64 = match &observer {
        Db::Sqlite(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM marks").fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM marks").fetch_one(pool).await.unwrap(),
    };
    assert_eq!(seen, 20, "every autocommit write is visible to other connections");
}
