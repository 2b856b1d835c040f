//! `kwik_core::schema`: migrations written once in Rust, rendered for SQLite and PostgreSQL,
//! applied to a real database of this run's backend (`KWIK_TEST_DATABASE_URL`): rows, ids, the
//! AUTOINCREMENT counter, foreign keys in and out, checks and partial unique indexes survive
//! SQLite's table rebuilds; a rewritten text replaces its applied predecessor by checksum; the
//! committed files are checked and written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use kwik_core::schema::{self, Column, Dialect, Index, Migration, Table};
use kwik_core::sea_query::{Expr, ExprTrait, ForeignKeyAction};
use kwik_core::sqlx::migrate::{Migration as SqlxMigration, MigrationType, Migrator};
use kwik_core::sqlx::{AssertSqlSafe, SqlSafeStr};
use kwik_core::{Db, MigrationSet};
use kwik_testing::TestDatabase;

fn migrator(files: Vec<(i64, String)>) -> Migrator {
    let migrations = files
        .into_iter()
        .map(|(version, sql)| {
            let no_tx = sql.starts_with("-- no-transaction");
            SqlxMigration::new(
                version,
                Cow::Borrowed("m"),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                no_tx,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

fn set(name: &'static str, migrations: &[Migration]) -> MigrationSet {
    let files = |dialect| {
        schema::render(migrations, dialect)
            .unwrap()
            .into_iter()
            .zip(migrations)
            .map(|(f, m)| (m.version(), f.sql))
            .collect()
    };
    MigrationSet { name, sqlite: migrator(files(Dialect::Sqlite)), postgres: migrator(files(Dialect::Postgres)) }
}

fn shop() -> Vec<Migration> {
    vec![
        Migration::new(1, "shop")
            .create_table(Table::new("owners").id().column(Column::text("name").unique()))
            .create_table(
                Table::new("items")
                    .id()
                    .column(Column::big_int("owner_id").references("owners", "id").on_delete(ForeignKeyAction::Cascade))
                    .column(Column::text("code").unique())
                    .column(Column::int("qty").check(Expr::col("qty").gt(0)))
                    .column(Column::decimal("price").default("1.10")),
            )
            .create_index(Index::new("items_owner", "items", ["owner_id"]))
            .create_table(
                Table::new("notes")
                    .id()
                    .column(Column::big_int("item_id").references("items", "id").on_delete(ForeignKeyAction::Cascade)),
            ),
        Migration::new(2, "soft_delete")
            .add_column("items", Column::text("note").nullable())
            .add_column("items", Column::timestamp("deleted_at").nullable())
            .add_column("items", Column::big_int("region_id").default(2).references("owners", "id"))
            .drop_unique("items", "code")
            .create_index(
                Index::new("items_code_live", "items", ["region_id", "code"])
                    .unique()
                    .partial(Expr::col("deleted_at").is_null()),
            ),
    ]
}

async fn count(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool) => kwik_core::sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => {
            kwik_core::sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
        }
    }
}

#[tokio::test]
async fn a_rebuild_keeps_rows_ids_keys_checks_and_indexes() {
    let database = TestDatabase::new().await;
    let db = database.connect().await;
    let all = shop();
    db.migrate(&[&set("shop", &all[..1])]).await.unwrap();
    db.execute_raw("INSERT INTO owners (name) VALUES ('a')").await.unwrap();
    db.execute_raw("INSERT INTO owners (name) VALUES ('b')").await.unwrap();
    for code in ["x", "y", "z"] {
        db.execute_raw(&format!("INSERT INTO items (owner_id, code, qty) VALUES (1, '{code}', 2)")).await.unwrap();
    }
    db.execute_raw("INSERT INTO notes (item_id) VALUES (1)").await.unwrap();
    db.execute_raw("DELETE FROM items WHERE id = 3").await.unwrap();

    db.migrate(&[&set("shop", &all)]).await.unwrap();

    // Rows and defaults kept; the decimal default is exact text on SQLite, NUMERIC on PostgreSQL.
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items WHERE region_id = 2 AND note IS NULL").await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items WHERE CAST(price AS NUMERIC) = 1.10").await, 2);
    // The counter carried over: the id of the deleted row is not handed out again.
    db.execute_raw("INSERT INTO items (owner_id, code, qty) VALUES (2, 'w', 1)").await.unwrap();
    assert_eq!(count(&db, "SELECT MAX(id) FROM items").await, 4);
    // The check and the new partial unique index hold; the old column UNIQUE is gone.
    assert!(db.execute_raw("INSERT INTO items (owner_id, code, qty) VALUES (1, 'v', 0)").await.is_err());
    assert!(db.execute_raw("INSERT INTO items (owner_id, code, qty) VALUES (1, 'x', 1)").await.is_err());
    db.execute_raw("UPDATE items SET deleted_at = CURRENT_TIMESTAMP WHERE code = 'x'").await.unwrap();
    db.execute_raw("INSERT INTO items (owner_id, code, qty) VALUES (1, 'x', 1)").await.unwrap();
    // Foreign keys out of the rebuilt table (to a missing owner) and into it (notes) still hold.
    assert!(db.execute_raw("INSERT INTO items (owner_id, code, qty) VALUES (99, 'u', 1)").await.is_err());
    assert!(db.execute_raw("INSERT INTO items (owner_id, code, qty, region_id) VALUES (1, 'u', 1, 99)").await.is_err());
    assert!(db.execute_raw("INSERT INTO notes (item_id) VALUES (99)").await.is_err());
    db.execute_raw("DELETE FROM owners WHERE id = 1").await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM notes").await, 0, "cascade through the rebuilt table");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items").await, 1);
    // The index declared before the rebuild was recreated.
    let indexes = match &db {
        Db::Sqlite(_) => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN ('items_owner', 'items_code_live')"
        }
        Db::Postgres(_) => "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('items_owner', 'items_code_live')",
    };
    assert_eq!(count(&db, indexes).await, 2);
    if let Db::Sqlite(pool) = &db {
        let on: i64 = kwik_core::sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
        assert_eq!(on, 1, "foreign keys back on after the rebuild");
    }
}

#[tokio::test]
async fn a_generated_text_replaces_its_hand_written_predecessor_by_checksum() {
    let database = TestDatabase::new().await;
    let db = database.connect().await;
    let hand_written = "CREATE TABLE legacy (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n";
    let old = MigrationSet {
        name: "legacy",
        sqlite: migrator(vec![(1, hand_written.to_owned())]),
        postgres: migrator(vec![(1, hand_written.to_owned())]),
    };
    db.migrate(&[&old]).await.unwrap();
    db.execute_raw("INSERT INTO legacy (id, name) VALUES (1, 'kept')").await.unwrap();

    let generated = || Migration::new(1, "legacy").create_table(Table::new("legacy").id().column(Column::text("name")));
    let refused = db.migrate(&[&set("legacy", &[generated()])]).await.unwrap_err();
    assert!(refused.to_string().contains("legacy"), "{refused}");

    let applied = SqlxMigration::new(
        1,
        Cow::Borrowed("m"),
        MigrationType::Simple,
        AssertSqlSafe(hand_written.to_owned()).into_sql_str(),
        false,
    );
    let checksum = applied.checksum.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    let replacing = [generated()
        .replaces_checksum(Dialect::Sqlite, checksum.clone())
        .replaces_checksum(Dialect::Postgres, checksum)];
    // After the refused run, on PostgreSQL sqlx kept its advisory lock on that connection; the
    // next run would wait for it forever if the connection had gone back to the pool.
    let replacing_set = set("legacy", &replacing);
    tokio::time::timeout(std::time::Duration::from_secs(30), db.migrate(&[&replacing_set]))
        .await
        .expect("a migration after a refused one does not wait forever")
        .unwrap();
    db.migrate(&[&set("legacy", &replacing)]).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM legacy").await, 1, "not run again");

    // A fresh database runs the generated text itself.
    let fresh = TestDatabase::new().await;
    let fresh_db = fresh.connect().await;
    fresh_db.migrate(&[&set("legacy", &replacing)]).await.unwrap();
    fresh_db.execute_raw("INSERT INTO legacy (name) VALUES ('new')").await.unwrap();
}

#[test]
fn files_are_checked_and_written_and_hand_written_ones_kept() {
    let dir =
        std::env::temp_dir().join(format!("kwik-schema-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    let migrations = shop();
    assert_eq!(schema::stale_files(&migrations, &dir).unwrap().len(), 4, "two files missing per dialect");

    schema::write_files(&migrations, &dir).unwrap();
    assert_eq!(schema::stale_files(&migrations, &dir).unwrap(), Vec::<String>::new());
    std::fs::write(dir.join("sqlite/0003_by_hand.sql"), "CREATE TABLE extra (id INTEGER);\n").unwrap();
    assert_eq!(schema::stale_files(&migrations, &dir).unwrap(), Vec::<String>::new(), "hand-written files are fine");

    std::fs::write(dir.join("postgres/0001_shop.sql"), "-- edited\n").unwrap();
    assert_eq!(
        schema::stale_files(&migrations, &dir).unwrap(),
        ["postgres/0001_shop.sql: differs from the Rust migrations"]
    );

    // A migration removed from the Rust: its generated files are reported, then removed.
    schema::write_files(&migrations, &dir).unwrap();
    assert_eq!(
        schema::stale_files(&migrations[..1], &dir).unwrap(),
        [
            "sqlite/0002_soft_delete.sql: was generated but no migration declares it",
            "postgres/0002_soft_delete.sql: was generated but no migration declares it"
        ]
    );
    schema::write_files(&migrations[..1], &dir).unwrap();
    assert!(!dir.join("sqlite/0002_soft_delete.sql").exists());
    assert!(dir.join("sqlite/0003_by_hand.sql").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn migrations_that_contradict_the_schema_are_refused() {
    let refused = |migrations: Vec<Migration>| schema::render(&migrations, Dialect::Sqlite).unwrap_err().to_string();
    let base = || Migration::new(1, "base").create_table(Table::new("t").id().column(Column::text("a")));
    assert!(refused(vec![base(), Migration::new(1, "again")]).contains("higher version"));
    assert!(refused(vec![base().add_column("missing", Column::text("b").nullable())]).contains("no table missing"));
    assert!(refused(vec![base().add_column("t", Column::text("a").nullable())]).contains("t.a: already exists"));
    assert!(refused(vec![base().drop_unique("t", "a")]).contains("not declared unique"));
    assert!(refused(vec![base().drop_index("nope")]).contains("never created"));
    assert!(refused(vec![base().create_index(Index::new("i", "t", ["zz"]))]).contains("t.zz does not exist"));
    assert!(refused(vec![base().create_table(Table::new("t"))]).contains("already exists"));
    assert!(refused(vec![Migration::new(1, "x").create_table(Table::new("bad name"))]).contains("names are ASCII"));
    assert!(refused(vec![Migration::new(1, "x; DROP").create_table(Table::new("t"))]).contains("names are ASCII"));
    let forged = base().replaces_checksum(Dialect::Sqlite, "ab\nDROP TABLE users;");
    assert!(refused(vec![forged]).contains("not a SHA-384 checksum"));
}

#[test]
fn each_dialect_gets_its_own_types_and_plain_sql() {
    let migrations = shop().into_iter().map(|m| m.sql(Dialect::Postgres, "SELECT 'pg only';")).collect::<Vec<_>>();
    let sqlite = schema::render(&migrations, Dialect::Sqlite).unwrap();
    let postgres = schema::render(&migrations, Dialect::Postgres).unwrap();
    assert!(sqlite[0].sql.contains(r#""price" TEXT NOT NULL DEFAULT '1.10'"#), "{}", sqlite[0].sql);
    assert!(postgres[0].sql.contains(r#""price" NUMERIC NOT NULL DEFAULT '1.10'"#), "{}", postgres[0].sql);
    assert!(!sqlite[0].sql.contains("pg only"));
    assert!(postgres[1].sql.contains("SELECT 'pg only';"));
    // Only SQLite rebuilds; PostgreSQL alters in place.
    assert!(sqlite[1].sql.starts_with("-- no-transaction\n"));
    assert!(!postgres[1].sql.contains("no-transaction"));
    assert!(postgres[1].sql.contains(r#"DROP CONSTRAINT "items_code_key""#), "{}", postgres[1].sql);
    // SQLite adds a column in place only with a constant default.
    let stamped = |default: Expr| {
        let migrations = [
            Migration::new(1, "t").create_table(Table::new("t").id()),
            Migration::new(2, "stamp").add_column("t", Column::timestamp("at").default(default)),
        ];
        schema::render(&migrations, Dialect::Sqlite).unwrap().remove(1).sql
    };
    assert!(stamped(Expr::value("2026-01-01 00:00:00")).contains(r#"ALTER TABLE "t" ADD COLUMN "at""#));
    assert!(stamped(Expr::current_timestamp()).contains(r#"CREATE TABLE "t_rebuilt""#));
}
