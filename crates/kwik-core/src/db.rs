//! The database handle: SQLite or PostgreSQL, chosen at run time from the URL.
//!
//! sqlx's `Any` driver cannot carry timestamps, UUIDs or JSON, so [`Db`] is an enum over the two
//! typed pools. Dynamic SQL is built with sea-query, which renders each dialect correctly, and run
//! through the helpers here so callers never match on the backend themselves.

use std::str::FromStr;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{AssertSqlSafe, FromRow, PgPool, Postgres, Sqlite, SqlitePool, Transaction};

use crate::error::{Error, Result};
use crate::settings::PoolSettings;

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (embedded, the default).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

/// A row type readable from both backends. Implemented for every `#[derive(sqlx::FromRow)]`
/// struct whose fields decode on SQLite and PostgreSQL (i64, bool, f64, String, `DateTime<Utc>`,
/// `Uuid`, `Json<T>`, and `Option`s of those).
pub trait DbRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> DbRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

/// A pooled connection to SQLite or PostgreSQL. Cheap to clone (pools are reference counted).
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite pool (WAL mode, foreign keys on, busy timeout).
    Sqlite(SqlitePool),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

/// A transaction on either backend. Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    /// SQLite transaction.
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
    /// No transaction: each statement runs on its own, on a pooled connection (autocommit).
    /// What read-only request scopes use ([`Context::read`](crate::Context::read)): a single
    /// statement already sees one snapshot, and no connection is held between statements.
    Autocommit(Db),
}

/// How long a SQLite writer waits for a lock before failing (seconds): concurrent writers queue
/// instead of failing with `database is locked`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Opens a pool for `url`: `sqlite://path` (created if missing), `sqlite::memory:`, or
    /// `postgres://user:password@host:port/database`.
    ///
    /// SQLite runs in WAL mode with `foreign_keys=ON`, `synchronous=NORMAL` and a 10 s busy timeout.
    /// An in-memory SQLite database uses one shared connection, so every query sees the same data.
    ///
    /// # Errors
    /// [`Error::Internal`] for a URL that is not SQLite or PostgreSQL or cannot be parsed;
    /// [`Error::Unavailable`] when the server cannot be reached within the acquire timeout.
    pub async fn connect(url: &str, pool: &PoolSettings) -> Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| Error::Internal(format!("invalid SQLite URL: {e}")))?
                .create_if_missing(true)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let options = if in_memory {
                options
            } else {
                options.journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal)
            };
            let max = if in_memory { 1 } else { pool.max_connections.max(1) };
            let pool_options = SqlitePoolOptions::new()
                .max_connections(max)
                .min_connections(u32::from(in_memory))
                .acquire_timeout(pool.acquire_timeout);
            // An in-memory database lives as long as its connection: never recycle it.
            let pool_options =
                if in_memory { pool_options.idle_timeout(None).max_lifetime(None) } else { pool_options };
            Ok(Self::Sqlite(pool_options.connect_with(options).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| Error::Internal(format!("invalid PostgreSQL URL: {}", redact_url(&e.to_string()))))?;
            // No ping before each acquire (sqlx's default): it is a round trip per statement. A
            // connection the server dropped fails its next statement instead, which closes it
            // (sqlx does not return broken connections to the pool) and answers 503; the next
            // request opens a fresh one (the outage test shows both).
            let pool = PgPoolOptions::new()
                .max_connections(pool.max_connections.max(1))
                .min_connections(pool.min_connections)
                .acquire_timeout(pool.acquire_timeout)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(Error::Internal("unsupported database URL: expected sqlite:// or postgres://".to_owned()))
        }
    }

    /// Which database this pool opens: `sqlite:<file>` or `postgres:<host>:<port>/<database>`
    /// (no credentials). Pools with the same identity reach the same data.
    pub fn identity(&self) -> String {
        match self {
            Self::Sqlite(pool) => format!("sqlite:{}", pool.connect_options().get_filename().display()),
            Self::Postgres(pool) => {
                let options = pool.connect_options();
                format!(
                    "postgres:{}:{}/{}",
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or("")
                )
            }
        }
    }

    /// Runs SQL as it is, outside any transaction: DDL in tests, a script an operator wrote. It
    /// binds nothing — never put input in it.
    ///
    /// # Errors
    /// The database error.
    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        match self {
            Self::Sqlite(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await.map(drop)?,
            Self::Postgres(pool) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await.map(drop)?,
        }
        Ok(())
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers (`SELECT 1`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when it does not answer within the pool's acquire timeout.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Self::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
        }
        .map_err(|e| match Error::from(e) {
            Error::Internal(message) => Error::Unavailable(message),
            other => other,
        })
    }

    /// Starts a transaction.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection is free within the acquire timeout.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(begin_postgres(pool).await?),
        })
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead of failing
    /// with `database is locked` when a read lock cannot be upgraded; on PostgreSQL it is a plain
    /// `BEGIN`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection (or, on SQLite, the write lock) is free in time.
    pub async fn begin_write(&self) -> Result<Tx> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(begin_postgres(pool).await?),
        })
    }

    /// Runs each migration set, in order, each tracked in its own table so that framework and
    /// application migrations never clash on version numbers.
    ///
    /// # Errors
    /// [`Error::Internal`] when a migration fails or a previously applied one was edited.
    pub async fn migrate(&self, sets: &[&MigrationSet]) -> Result<()> {
        for set in sets {
            let source = match self {
                Self::Sqlite(_) => &set.sqlite,
                Self::Postgres(_) => &set.postgres,
            };
            self.adopt_replaced_checksums(set, source).await?;
            let mut migrator = Migrator::with_migrations(source.iter().cloned().collect());
            migrator.dangerous_set_table_name(set.table_name());
            // On its own connection, closed when the run fails: sqlx 0.9 returns from a failed
            // run without releasing PostgreSQL's session advisory lock, and a pooled connection
            // holding it would make every later migration of this process wait forever.
            let outcome = match self {
                Self::Sqlite(pool) => migrator.run(pool).await,
                Self::Postgres(pool) => {
                    let mut conn = pool.acquire().await?;
                    let outcome = run_migrator(&migrator, &mut conn).await;
                    if outcome.is_err() {
                        let _ = conn.close().await;
                    }
                    outcome
                }
            };
            outcome.map_err(|e| Error::Internal(format!("migration set '{}' failed: {e}", set.name)))?;
            tracing::debug!(set = set.name, "migrations applied");
        }
        Ok(())
    }

    /// A migration whose text names the checksum of an earlier text of its version
    /// ([`schema::REPLACES_MARK`](crate::schema::REPLACES_MARK)) takes that text's place where it
    /// was applied: the recorded checksum becomes the new one, so sqlx does not refuse the edit.
    async fn adopt_replaced_checksums(&self, set: &MigrationSet, source: &Migrator) -> Result<()> {
        let replacing: Vec<_> = source
            .iter()
            .map(|m| (m, crate::schema::replaced_checksums(m.sql.as_str())))
            .filter(|(_, old)| !old.is_empty())
            .collect();
        if replacing.is_empty() {
            return Ok(());
        }
        let table = set.table_name();
        let exists = match self {
            Self::Sqlite(pool) => {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
                    .bind(&table)
                    .fetch_one(pool)
                    .await?
                    > 0
            }
            Self::Postgres(pool) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL").bind(&table).fetch_one(pool).await?
            }
        };
        if !exists {
            return Ok(());
        }
        // One read of what was applied; an update only where an old text's checksum is recorded
        // (after the first start-up, none is, and nothing is written).
        let mut db = self;
        let versions: Vec<i64> = replacing.iter().map(|(m, _)| m.version).collect();
        let applied: Vec<(i64, Vec<u8>)> = db.fetch_all(&applied_checksums(&table, versions)).await?;
        for (migration, old_checksums) in replacing {
            let recorded = applied.iter().find(|(version, _)| *version == migration.version).map(|(_, c)| c);
            let Some(old) = recorded.filter(|recorded| old_checksums.contains(recorded)) else { continue };
            let update = checksum_update(&table, migration.version, migration.checksum.to_vec(), old.clone());
            if db.execute(&update).await? > 0 {
                tracing::info!(
                    set = set.name,
                    version = migration.version,
                    "migration text replaced; checksum updated"
                );
            }
        }
        Ok(())
    }

    /// Closes every connection of the pool, waiting for checked-out ones to come back.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    /// Connections open and idle, for metrics: `(size, idle)`.
    pub fn pool_usage(&self) -> (u32, usize) {
        match self {
            Self::Sqlite(pool) => (pool.size(), pool.num_idle()),
            Self::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }
}

/// Runs a sea-query statement on whichever backend `$target` is (a `Db` pool or a `Tx`),
/// binding values for that dialect. `$run` receives the query and the executor.
macro_rules! on_backend {
    ($target:expr, $stmt:expr, |$query:ident, $exec:ident| $run:expr) => {
        match $target {
            Target::SqlitePool($exec) => {
                let (sql, values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $query = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), values);
                $run
            }
            Target::PgPool($exec) => {
                let (sql, values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $query = sqlx::query_with::<Postgres, _>(AssertSqlSafe(sql), values);
                $run
            }
            Target::SqliteTx($exec) => {
                let (sql, values) = $stmt.build_sqlx(SqliteQueryBuilder);
                let $query = sqlx::query_with::<Sqlite, _>(AssertSqlSafe(sql), values);
                let $exec = &mut **$exec;
                $run
            }
            Target::PgTx($exec) => {
                let (sql, values) = $stmt.build_sqlx(PostgresQueryBuilder);
                let $query = sqlx::query_with::<Postgres, _>(AssertSqlSafe(sql), values);
                let $exec = &mut **$exec;
                $run
            }
        }
    };
}

#[doc(hidden)]
pub enum Target<'a> {
    SqlitePool(&'a SqlitePool),
    PgPool(&'a PgPool),
    SqliteTx(&'a mut Transaction<'static, Sqlite>),
    PgTx(&'a mut Transaction<'static, Postgres>),
}

/// Something sea-query statements can run on: a [`Db`] pool (autocommit) or a [`Tx`].
pub trait Executor: Send {
    #[doc(hidden)]
    fn target(&mut self) -> Target<'_>;
}

impl Executor for Db {
    fn target(&mut self) -> Target<'_> {
        match self {
            Self::Sqlite(pool) => Target::SqlitePool(pool),
            Self::Postgres(pool) => Target::PgPool(pool),
        }
    }
}

impl Executor for &Db {
    fn target(&mut self) -> Target<'_> {
        match *self {
            Db::Sqlite(pool) => Target::SqlitePool(pool),
            Db::Postgres(pool) => Target::PgPool(pool),
        }
    }
}

impl Executor for Tx {
    fn target(&mut self) -> Target<'_> {
        match self {
            Self::Sqlite(tx) => Target::SqliteTx(tx),
            Self::Postgres(tx) => Target::PgTx(tx),
            Self::Autocommit(db) => db.target(),
        }
    }
}

/// Query helpers for any [`Executor`]: build the statement for the right dialect, bind, run, and
/// map database errors to [`Error`] (unique violation → 409, pool timeout → 503, ...).
pub trait Queries: Executor {
    /// All rows of a query.
    ///
    /// # Errors
    /// The database error, mapped by `From<sqlx::Error> for Error`.
    fn fetch_all<T: DbRow, S: SqlxBinder + Sync>(&mut self, stmt: &S) -> impl Future<Output = Result<Vec<T>>> + Send {
        async move {
            Ok(on_backend!(self.target(), stmt, |query, exec| {
                let rows = query.fetch_all(exec).await?;
                rows.iter().map(|row| T::from_row(row)).collect::<Result<Vec<T>, _>>()?
            }))
        }
    }

    /// All rows of a query that also selects an `i64` column named `count_column` (a window or
    /// scalar-subquery count next to each row): the rows and that column's value on the first
    /// row (`None` when there is no row).
    ///
    /// # Errors
    /// As [`Queries::fetch_all`].
    fn fetch_all_counted<T: DbRow, S: SqlxBinder + Sync>(
        &mut self,
        stmt: &S,
        count_column: &'static str,
    ) -> impl Future<Output = Result<(Vec<T>, Option<i64>)>> + Send {
        async move {
            Ok(on_backend!(self.target(), stmt, |query, exec| {
                let rows = query.fetch_all(exec).await?;
                let count = match rows.first() {
                    Some(row) => Some(sqlx::Row::try_get::<i64, _>(row, count_column)?),
                    None => None,
                };
                (rows.iter().map(|row| T::from_row(row)).collect::<Result<Vec<T>, _>>()?, count)
            }))
        }
    }

    /// The first row, if any.
    ///
    /// # Errors
    /// As [`Queries::fetch_all`].
    fn fetch_optional<T: DbRow, S: SqlxBinder + Sync>(
        &mut self,
        stmt: &S,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        async move {
            Ok(on_backend!(self.target(), stmt, |query, exec| {
                match query.fetch_optional(exec).await? {
                    Some(row) => Some(T::from_row(&row)?),
                    None => None,
                }
            }))
        }
    }

    /// The single `i64` in the first column of the first row (`COUNT(*)`, `RETURNING id`).
    ///
    /// # Errors
    /// As [`Queries::fetch_all`]; [`Error::NotFound`] when there is no row.
    fn fetch_i64<S: SqlxBinder + Sync>(&mut self, stmt: &S) -> impl Future<Output = Result<i64>> + Send {
        async move {
            Ok(on_backend!(self.target(), stmt, |query, exec| {
                let row = query.fetch_one(exec).await?;
                sqlx::Row::try_get::<i64, _>(&row, 0)?
            }))
        }
    }

    /// Runs a statement, returning the number of rows affected.
    ///
    /// # Errors
    /// As [`Queries::fetch_all`].
    fn execute<S: SqlxBinder + Sync>(&mut self, stmt: &S) -> impl Future<Output = Result<u64>> + Send {
        async move { Ok(on_backend!(self.target(), stmt, |query, exec| query.execute(exec).await?.rows_affected())) }
    }
}

impl<E: Executor + ?Sized> Queries for E {}

impl Tx {
    /// Which engine this transaction runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
            Self::Autocommit(db) => db.backend(),
        }
    }

    /// The first table with a row that references `table`'s row `id` through a foreign key that
    /// forbids deleting it (`NO ACTION`/`RESTRICT`; cascading and `SET NULL` keys do not count),
    /// found through the catalog: `pragma_foreign_key_list` on SQLite, `pg_constraint` on
    /// PostgreSQL. Used to name the referencing resource after a refused delete (SQLite's error
    /// does not name it) and before a soft delete (which no foreign key would stop).
    ///
    /// # Errors
    /// Database errors (on PostgreSQL, also when an earlier statement aborted the transaction).
    pub async fn referencing_table(&mut self, table: &str, id: i64) -> Result<Option<String>> {
        const SQLITE_LINKS: &str = "SELECT m.name, p.\"from\" FROM sqlite_master AS m \
             JOIN pragma_foreign_key_list(m.name) AS p \
             WHERE m.type = 'table' AND p.\"table\" = ?1 COLLATE NOCASE \
             AND p.on_delete IN ('NO ACTION', 'RESTRICT') ORDER BY m.name";
        const PG_LINKS: &str = "SELECT c.conrelid::regclass::text, a.attname::text FROM pg_constraint AS c \
             JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.confrelid = to_regclass($1) AND c.confdeltype IN ('a', 'r') \
             ORDER BY 1";
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let links: Vec<(String, String)> = match self.target() {
            Target::SqliteTx(tx) => sqlx::query_as(SQLITE_LINKS).bind(table).fetch_all(&mut **tx).await?,
            Target::SqlitePool(pool) => sqlx::query_as(SQLITE_LINKS).bind(table).fetch_all(pool).await?,
            Target::PgTx(tx) => sqlx::query_as(PG_LINKS).bind(table).fetch_all(&mut **tx).await?,
            Target::PgPool(pool) => sqlx::query_as(PG_LINKS).bind(table).fetch_all(pool).await?,
        };
        for (other, column) in links {
            // PostgreSQL's `regclass` text is already quoted where it needs to be.
            let found = match self.target() {
                Target::SqliteTx(tx) => {
                    let sql = format!("SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1", quote(&other), quote(&column));
                    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?.is_some()
                }
                Target::SqlitePool(pool) => {
                    let sql = format!("SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1", quote(&other), quote(&column));
                    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?.is_some()
                }
                Target::PgTx(tx) => {
                    let sql = format!("SELECT 1 FROM {other} WHERE {} = $1 LIMIT 1", quote(&column));
                    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?.is_some()
                }
                Target::PgPool(pool) => {
                    let sql = format!("SELECT 1 FROM {other} WHERE {} = $1 LIMIT 1", quote(&column));
                    sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?.is_some()
                }
            };
            if found {
                return Ok(Some(other));
            }
        }
        Ok(None)
    }

    /// Whether statements run inside a transaction (false for [`Tx::Autocommit`]).
    pub fn is_transaction(&self) -> bool {
        !matches!(self, Self::Autocommit(_))
    }

    /// Commits.
    ///
    /// # Errors
    /// The database error (for example a deferred constraint violation).
    pub async fn commit(self) -> Result<()> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
            Self::Autocommit(_) => {}
        }
        Ok(())
    }

    /// Rolls back explicitly (dropping a `Tx` does the same).
    ///
    /// # Errors
    /// The database error.
    pub async fn rollback(self) -> Result<()> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await?,
            Self::Postgres(tx) => tx.rollback().await?,
            Self::Autocommit(_) => {}
        }
        Ok(())
    }
}

/// `BEGIN` on a pooled PostgreSQL connection, in a task of its own: when the caller is cancelled
/// mid-round-trip (a request timeout, a client that hangs up), sqlx 0.9.0 returns the connection
/// to the pool still inside the transaction it began (transact-rs/sqlx#4393), and later
/// statements on it would run in a transaction nobody commits. The task always finishes the
/// `BEGIN`; a transaction nobody awaits is then dropped, which rolls it back properly.
async fn begin_postgres(pool: &PgPool) -> std::result::Result<Transaction<'static, Postgres>, sqlx::Error> {
    let pool = pool.clone();
    match tokio::spawn(async move { pool.begin().await }).await {
        Ok(outcome) => outcome,
        Err(join) => Err(sqlx::Error::Protocol(format!("BEGIN task failed: {join}"))),
    }
}

/// sqlx's `Migrator::run` on one PostgreSQL connection (same steps, advisory lock included):
/// `run` is generic over `Acquire`, and its future on a borrowed connection is not `Send` for
/// every lifetime; `run_direct` is the entry point sqlx provides for that case.
async fn run_migrator(
    migrator: &Migrator,
    conn: &mut sqlx::pool::PoolConnection<Postgres>,
) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    let conn: &mut sqlx::PgConnection = conn;
    migrator.run_direct(None, conn, false).await
}

/// `UPDATE <table> SET checksum = new WHERE version = .. AND checksum = old`, on a set's tracking
/// table.
fn applied_checksums(table: &str, versions: Vec<i64>) -> sea_query::SelectStatement {
    use sea_query::{Alias, Expr, ExprTrait as _, Query};
    Query::select()
        .columns([Alias::new("version"), Alias::new("checksum")])
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("version")).is_in(versions))
        .to_owned()
}

fn checksum_update(table: &str, version: i64, new: Vec<u8>, old: Vec<u8>) -> sea_query::UpdateStatement {
    use sea_query::{Alias, Expr, ExprTrait as _, Query};
    Query::update()
        .table(Alias::new(table))
        .value(Alias::new("checksum"), new)
        .and_where(Expr::col(Alias::new("version")).eq(version))
        .and_where(Expr::col(Alias::new("checksum")).eq(old))
        .to_owned()
}

/// A named set of migrations for both backends, each tracked in its own table
/// (`_kwik_migrations_<name>`), so framework and application versions never clash.
///
/// `sqlx::migrate!` paths are relative to the calling crate's `Cargo.toml`, and the calling crate
/// needs `sqlx` as a dependency (the macro expands to `::sqlx::...`):
///
/// ```ignore
/// static MIGRATIONS: kwik_core::MigrationSet = kwik_core::MigrationSet {
///     name: "projects",
///     sqlite: sqlx::migrate!("migrations/sqlite"),
///     postgres: sqlx::migrate!("migrations/postgres"),
/// };
/// ```
#[derive(Debug)]
pub struct MigrationSet {
    /// Short unique name (`rbac`, `projects`); letters, digits and underscores.
    pub name: &'static str,
    /// Migrations for SQLite.
    pub sqlite: Migrator,
    /// Migrations for PostgreSQL.
    pub postgres: Migrator,
}

impl MigrationSet {
    /// The table that records which migrations of this set were applied.
    pub fn table_name(&self) -> String {
        format!("_kwik_migrations_{}", self.name)
    }
}

fn redact_url(text: &str) -> String {
    // Connection errors may echo the URL; drop anything between "://" and "@".
    match (text.find("://"), text.find('@')) {
        (Some(start), Some(end)) if end > start => format!("{}://[redacted]{}", &text[..start], &text[end..]),
        _ => text.to_owned(),
    }
}
