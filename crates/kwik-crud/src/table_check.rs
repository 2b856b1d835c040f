//! [`check_table`]: does an entity agree with its table? Names, kinds and nullability, read from
//! the database's catalog (`pragma_table_info` on SQLite, `information_schema.columns` on
//! PostgreSQL), so a migration and a struct that drifted apart fail a test instead of a request.

use kwik_core::{Db, Result};

use crate::entity::{ColumnKind, ColumnSpec, Entity};

/// A column as the database describes it.
struct Column {
    name: String,
    /// The declared type, lower-cased (`integer`, `text`, `timestamp with time zone`, ...).
    ty: String,
    nullable: bool,
}

/// The disagreements between `E` and its table on `db`, each a sentence naming the table and the
/// column (`customers.email: the entity reads text, the table declares integer`); empty when they
/// agree. Checked for every column the entity reads: it exists; its declared type belongs to the
/// entity's kind on this database ([`ColumnKind`]: `BIGINT` and `INTEGER` are integers, `TEXT`
/// is also a decimal or JSON on SQLite, ...); a non-`Option` field's column is `NOT NULL` and an
/// `Option` field's column is nullable (not for the primary key). Columns the entity does not read
/// are not reported. Use it in a test, on both databases:
///
/// ```ignore
/// assert_eq!(kwik_crud::check_table::<Customer>(&db).await?, Vec::<String>::new());
/// ```
///
/// # Errors
/// Database errors reading the catalog.
pub async fn check_table<E: Entity>(db: &Db) -> Result<Vec<String>> {
    let table = E::TABLE;
    let columns = columns(db, table).await?;
    if columns.is_empty() {
        return Ok(vec![format!("{table}: no such table")]);
    }
    let mut problems = Vec::new();
    for spec in E::COLUMN_SPECS {
        let Some(column) = columns.iter().find(|c| c.name == spec.name) else {
            problems.push(format!("{table}.{}: the entity reads it, the table has no such column", spec.name));
            continue;
        };
        if !kind_matches(spec.kind, &column.ty, db) {
            problems.push(format!(
                "{table}.{}: the entity reads {}, the table declares {}",
                spec.name,
                describe(spec.kind),
                column.ty
            ));
        }
        problems.extend(nullability(table, spec, column));
    }
    Ok(problems)
}

fn nullability(table: &str, spec: &ColumnSpec, column: &Column) -> Option<String> {
    if spec.primary_key || spec.nullable == column.nullable {
        return None;
    }
    Some(if spec.nullable {
        format!("{table}.{}: the entity allows NULL (an Option), the table says NOT NULL", spec.name)
    } else {
        format!("{table}.{}: the table allows NULL, the entity cannot read it (not an Option)", spec.name)
    })
}

fn describe(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Int => "an integer",
        ColumnKind::Float => "a float",
        ColumnKind::Bool => "a boolean",
        ColumnKind::Text => "text",
        ColumnKind::DateTime => "a timestamp",
        ColumnKind::Uuid => "a UUID",
        ColumnKind::Decimal => "a decimal",
        ColumnKind::Json => "JSON",
        ColumnKind::Other => "a value",
    }
}

/// Whether a declared type (lower-case) holds the kind, on this database.
fn kind_matches(kind: ColumnKind, ty: &str, db: &Db) -> bool {
    let sqlite = matches!(db, Db::Sqlite(_));
    let any = |names: &[&str]| names.contains(&ty);
    match kind {
        ColumnKind::Int => any(&["integer", "bigint", "int", "smallint", "int8", "int4", "int2"]),
        ColumnKind::Float => any(&["real", "double precision", "double", "float"]),
        ColumnKind::Bool => any(&["boolean", "bool"]),
        ColumnKind::Text => any(&["text", "character varying", "varchar"]),
        ColumnKind::DateTime => any(&["timestamp with time zone", "timestamptz"]) || (sqlite && any(&["datetime"])),
        ColumnKind::Uuid => any(&["uuid"]) || (sqlite && any(&["blob", "text"])),
        ColumnKind::Decimal => any(&["numeric", "decimal"]) || (sqlite && any(&["text"])),
        ColumnKind::Json => any(&["jsonb", "json"]) || (sqlite && any(&["text"])),
        ColumnKind::Other => true,
    }
}

async fn columns(db: &Db, table: &str) -> Result<Vec<Column>> {
    Ok(match db {
        Db::Sqlite(pool) => {
            let rows: Vec<(String, String, i64)> =
                sqlx::query_as("SELECT name, type, \"notnull\" FROM pragma_table_info(?)")
                    .bind(table)
                    .fetch_all(pool)
                    .await?;
            rows.into_iter()
                .map(|(name, ty, not_null)| Column { name, ty: ty.to_lowercase(), nullable: not_null == 0 })
                .collect()
        }
        Db::Postgres(pool) => {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(name, ty, nullable)| Column { name, ty: ty.to_lowercase(), nullable: nullable == "YES" })
                .collect()
        }
    })
}
