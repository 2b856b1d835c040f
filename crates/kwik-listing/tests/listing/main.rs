//! kwik-listing's integration tests: parsing rules, generated SQL, property tests, and pages run
//! on a real SQLite (always) and PostgreSQL (when `KWIK_TEST_DATABASE_URL` names one).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod database;
mod parsing;
mod props;
mod sql;

use kwik_core::Error;
use kwik_listing::{CursorKey, FieldSpec, FieldType, ListSchema, ListSpec, RawListQuery, parse};
use sea_query::{PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder, Values};

/// Kwik's users allow-list.
pub(crate) static USERS: ListSchema = ListSchema::new(
    "User",
    "users",
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("name", FieldType::Text),
        FieldSpec::new("surname", FieldType::Text),
        FieldSpec::new("email", FieldType::Text),
        FieldSpec::new("is_active", FieldType::Bool),
        FieldSpec::new("hashed_password", FieldType::Text).not_sortable().not_filterable(),
    ],
);

/// Kwik's roles allow-list.
pub(crate) static ROLES: ListSchema = ListSchema::new(
    "Role",
    "roles",
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("name", FieldType::Text),
        FieldSpec::new("is_active", FieldType::Bool),
    ],
);

/// A resource with every field type, nullable columns and a renamed column.
pub(crate) static ITEMS: ListSchema = ListSchema::new(
    "Item",
    "items",
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("title", FieldType::Text),
        FieldSpec::new("nickname", FieldType::Text),
        FieldSpec::new("price", FieldType::Decimal),
        FieldSpec::new("score", FieldType::Float),
        FieldSpec::new("active", FieldType::Bool),
        FieldSpec::new("created", FieldType::DateTime).column("created_at"),
        FieldSpec::new("ref", FieldType::Uuid).column("ref_id"),
        FieldSpec::new("rank", FieldType::Int).not_filterable(),
        FieldSpec::new("note", FieldType::Text).not_sortable(),
    ],
)
.with_max_limit(50);

pub(crate) fn key() -> CursorKey {
    CursorKey::new("test secret")
}

pub(crate) fn spec(schema: &'static ListSchema, query: &str) -> Result<ListSpec, Error> {
    parse(&RawListQuery::from_query_string(query), schema, &key())
}

pub(crate) fn ok(schema: &'static ListSchema, query: &str) -> ListSpec {
    spec(schema, query).unwrap_or_else(|e| panic!("{query}: {e:?}"))
}

/// The 400/422 detail of a query that must fail.
pub(crate) fn fail(schema: &'static ListSchema, query: &str) -> (u16, serde_json::Value) {
    match spec(schema, query) {
        Ok(spec) => panic!("{query} should fail, got {spec:?}"),
        Err(err) => (err.status(), err.detail()),
    }
}

pub(crate) fn base_select(schema: &ListSchema) -> SelectStatement {
    Query::select().column((schema.table, schema.primary_key)).from(schema.table).to_owned()
}

/// The page SQL for (PostgreSQL, SQLite) and the bound values.
pub(crate) fn page_sql(spec: &ListSpec) -> (String, String, Values) {
    let mut select = base_select(spec.schema());
    spec.apply(&mut select);
    let (pg, values) = select.build(PostgresQueryBuilder);
    let (lite, lite_values) = select.build(SqliteQueryBuilder);
    assert_eq!(values, lite_values);
    (pg, lite, values)
}

/// The WHERE/ORDER BY/LIMIT part after `FROM "<table>"` (PostgreSQL flavour).
pub(crate) fn pg_tail(spec: &ListSpec) -> String {
    let (pg, _, _) = page_sql(spec);
    let from = format!("FROM \"{}\"", spec.schema().table);
    pg.split_once(&from).map(|(_, tail)| tail.trim().to_owned()).unwrap_or(pg)
}
