//! A fresh database per test, on the backend chosen by `KWIK_TEST_DATABASE_URL`.

use std::path::PathBuf;

use kwik_core::settings::PoolSettings;
use kwik_core::{Backend, Db};
use sqlx::Connection;

/// The environment variable naming the PostgreSQL server for tests.
pub const TEST_DATABASE_URL: &str = "KWIK_TEST_DATABASE_URL";

/// The backend the current test run targets (from `KWIK_TEST_DATABASE_URL`).
pub fn backend() -> Backend {
    match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if url.starts_with("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// A database that exists for one test and is removed when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    /// Creates a fresh, empty database on the backend of this run.
    ///
    /// # Panics
    /// When the PostgreSQL server named by `KWIK_TEST_DATABASE_URL` cannot be reached or refuses
    /// `CREATE DATABASE`: a test without its database cannot mean anything.
    pub async fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var(TEST_DATABASE_URL) {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let name = format!("kwik_test_{id}");
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {TEST_DATABASE_URL}: {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let _ = conn.close().await;
                let url = replace_database(&admin_url, &name);
                Self { url, cleanup: Cleanup::PostgresDatabase { admin_url, name } }
            }
            _ => {
                let path = std::env::temp_dir().join(format!("kwik-test-{id}.sqlite"));
                let url = format!("sqlite://{}", path.display());
                Self { url, cleanup: Cleanup::SqliteFile(path) }
            }
        }
    }

    /// The database URL (`sqlite:///tmp/...` or `postgres://.../kwik_test_<uuid>`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Opens a pool on this database with test-friendly limits (5 connections, 5 s timeout).
    ///
    /// # Panics
    /// When the database cannot be opened.
    pub async fn connect(&self) -> Db {
        let pool =
            PoolSettings { max_connections: 5, min_connections: 0, acquire_timeout: std::time::Duration::from_secs(5) };
        Db::connect(&self.url, &pool).await.unwrap_or_else(|e| panic!("cannot open {}: {e}", self.backend_name()))
    }

    /// Opens a pool ([`TestDatabase::connect`]) and runs one statement in the dialect of this
    /// run's backend: `sqlite` on SQLite, `postgres` on PostgreSQL (a table for a test's own
    /// entity, say).
    ///
    /// # Panics
    /// When the database cannot be opened or the statement fails.
    pub async fn connect_with(&self, sqlite: &'static str, postgres: &'static str) -> Db {
        let db = self.connect().await;
        match &db {
            Db::Sqlite(pool) => sqlx::query(sqlite).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(postgres).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("cannot run the test's statement on {}: {e}", self.backend_name()));
        db
    }

    fn backend_name(&self) -> &'static str {
        match self.cleanup {
            Cleanup::SqliteFile(_) => "the SQLite test database",
            Cleanup::PostgresDatabase { .. } => "the PostgreSQL test database",
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                // Drop may run inside or outside a runtime: use a thread with its own runtime.
                let admin_url = admin_url.clone();
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.ok()?;
                        conn.close().await.ok()
                    })
                })
                .join();
                if !matches!(dropped, Ok(Some(()))) {
                    tracing::warn!(database = %name, "could not drop the test database");
                }
            }
        }
    }
}

/// Replaces the database name (the path) of a PostgreSQL URL, keeping user, host and options.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(replace_database("postgres://u@h:5432/test", "x"), "postgres://u@h:5432/x");
        assert_eq!(replace_database("postgres://u@h/test?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
