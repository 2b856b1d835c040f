//! # kwik-listing
//!
//! List queries for Kwik for Rust: Kwik's `skip` / `limit` / `sorting` / `filter_key` + `value`
//! parameters with exactly Kwik's semantics (CONTRACT §5), plus repeatable `filter=field:op:value`
//! conditions and signed keyset cursors, all validated against a resource's allow-list
//! ([`ListSchema`]) and turned into sea-query clauses that work on SQLite and PostgreSQL alike.
//! No database connection and no HTTP server here: parse, then build SQL.
//!
//! ```
//! use kwik_listing::{CursorKey, FieldSpec, FieldType, ListSchema, RawListQuery, parse};
//! use sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};
//!
//! static USERS: ListSchema = ListSchema::new(
//!     "User",
//!     "users",
//!     "id",
//!     &[
//!         FieldSpec::new("id", FieldType::Int),
//!         FieldSpec::new("name", FieldType::Text),
//!         FieldSpec::new("email", FieldType::Text),
//!         FieldSpec::new("is_active", FieldType::Bool),
//!     ],
//! );
//!
//! let key = CursorKey::new("application secret");
//! let raw = RawListQuery::from_query_string(
//!     "skip=20&limit=10&sorting=name:desc&filter_key=is_active&value=true&filter=email:icontains:@Example.com",
//! );
//! let spec = parse(&raw, &USERS, &key)?;
//!
//! // The page...
//! let mut select = Query::select().columns([("users", "id"), ("users", "name")]).from("users").to_owned();
//! spec.apply(&mut select);
//! let (sql, values) = select.build(PostgresQueryBuilder);
//! assert_eq!(
//!     sql,
//!     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."is_active" = $1 AND LOWER("users"."email") LIKE LOWER($2) ESCAPE E'\\' ORDER BY "users"."name" DESC NULLS FIRST LIMIT $3 OFFSET $4"#
//! );
//! assert_eq!(values.0.len(), 4);
//! let (sql, _) = select.build(SqliteQueryBuilder);
//! assert_eq!(
//!     sql,
//!     r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "users"."is_active" = ? AND LOWER("users"."email") LIKE LOWER(?) ESCAPE '\' ORDER BY "users"."name" DESC NULLS FIRST LIMIT ? OFFSET ?"#
//! );
//!
//! // ...and the total, which only counts the filters.
//! let mut count = Query::select().expr(sea_query::Expr::cust("COUNT(*)")).from("users").to_owned();
//! spec.apply_filters(&mut count);
//! assert_eq!(
//!     count.build(SqliteQueryBuilder).0,
//!     r#"SELECT COUNT(*) FROM "users" WHERE "users"."is_active" = ? AND LOWER("users"."email") LIKE LOWER(?) ESCAPE '\'"#
//! );
//!
//! // Errors carry Kwik's status codes and texts.
//! let err = parse(&RawListQuery::from_query_string("sorting=password"), &USERS, &key).unwrap_err();
//! assert_eq!((err.status(), err.to_string()), (400, "Invalid sort field 'password' for model User".to_owned()));
//! # Ok::<(), kwik_core::Error>(())
//! ```
//!
//! ## Query parameters
//!
//! | Parameter | Meaning |
//! |---|---|
//! | `skip`, `limit` | Offset pagination; defaults 0 and 100; 422 when not an integer, negative, or `limit` above [`ListSchema::max_limit`]. |
//! | `sorting` | `field[:asc\|:desc]`, comma-separated, parsed like Kwik's `re.findall(r"(\w+)(?::(asc\|desc))?")`. Default order: primary key ascending. |
//! | `filter_key` + `value` | Kwik's equality filter, used only when both are present. |
//! | `filter` | Repeatable `field:op:value`, ops `eq ne lt lte gt gte in contains icontains startswith isnull` (see [`FilterOp`]). The value is everything after the second colon. |
//! | `cursor` | Keyset pagination: empty for the first page, then the previous response's `next_cursor`. Not with `skip`. |
//!
//! ## Cursors
//!
//! A cursor is an opaque URL-safe token holding the last row's sort-key values, the primary key and
//! the sort spec, signed with HMAC-SHA256 under a [`CursorKey`]. Cursor pages order by the requested
//! sorting plus the primary key as final tiebreak, and select rows strictly after the cursor
//! position, so pages neither skip nor repeat rows when sort values repeat (offset pages keep Kwik's
//! order, without that tiebreak). See [`ListSpec::next_cursor`] and [`ListSpec::paginate`].
//!
//! ## Portability (SQLite and PostgreSQL)
//!
//! The generated SQL is the same for both backends apart from quoting and placeholders; every
//! difference between them is handled by choosing portable expressions:
//!
//! - Values are always bound parameters; identifiers come only from the allow-list, qualified with
//!   the table (`"users"."name"`).
//! - `icontains` is `LOWER(col) LIKE LOWER(?) ESCAPE '\'`: SQLite's `LIKE` ignores ASCII case and
//!   PostgreSQL's does not, so case folding is explicit. (`LOWER` folds only ASCII on SQLite built
//!   without ICU, all of Unicode on PostgreSQL.)
//! - `contains` and `startswith` are case-sensitive on both. `LIKE` alone would not be on SQLite,
//!   and `instr`/`GLOB` exist only there, so the `LIKE` (exact on PostgreSQL, an ASCII
//!   case-insensitive superset on SQLite) is combined with an exact check both backends evaluate the
//!   same way: `REPLACE(col, ?, '') <> col` (the needle occurs) and `SUBSTR(col, 1, LENGTH(?)) = ?`
//!   (the prefix matches). The `LIKE` stays as a cheap prefilter that PostgreSQL can serve from a
//!   `text_pattern_ops` index for prefixes.
//! - LIKE wildcards in user input (`%`, `_`, `\`) are escaped, with an explicit `ESCAPE '\'`.
//! - Decimal fields compare, sort and page as `CAST(col AS NUMERIC)` against `CAST(? AS NUMERIC)`
//!   (the value is validated and bound as text): a no-op on a PostgreSQL `NUMERIC` column, a numeric
//!   conversion on SQLite, where decimals are stored as text (so `9.5 < 10`; precision there is an
//!   `f64`'s, about 15 significant digits).
//! - NULLs sort last ascending and first descending on both (PostgreSQL's default, hence Kwik's;
//!   SQLite's default is the reverse). The primary key gets no NULLS clause, so SQLite can still
//!   walk its index for the default order.
//! - Text ordering and range comparisons (`lt`, `gt`, ...) follow the column's collation: bytewise
//!   on SQLite, the locale on PostgreSQL unless the column is `COLLATE "C"`. Each backend is
//!   consistent with itself, so cursors stay exact.
//! - Date-times are bound as `DateTime<Utc>`: `TIMESTAMPTZ` on PostgreSQL, sqlx's text form on
//!   SQLite (compare correctly as long as every row was written through sqlx).
#![forbid(unsafe_code)]

mod cursor;
mod page;
mod raw;
mod schema;
mod spec;
mod sql;
mod value;

pub use cursor::CursorKey;
pub use page::Paginated;
pub use raw::RawListQuery;
pub use schema::{FieldSpec, FieldType, ListSchema, describe};
pub use spec::{
    DEFAULT_LIMIT, Filter, FilterOp, ListLimits, ListSpec, MAX_IN_VALUES, Predicate, SortDirection, SortKey, parse,
    parse_with_limits, parse_with_max_limit,
};
