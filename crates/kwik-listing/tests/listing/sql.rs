//! Generated SQL for both backends.

use rstest::rstest;
use sea_query::{Expr, PostgresQueryBuilder, Query, SqliteQueryBuilder, Value};
use serde_json::json;

use super::{ITEMS, USERS, ok, page_sql, pg_tail};

/// SQLite's text is PostgreSQL's with `?` placeholders and a plain `'\'` escape literal.
fn to_sqlite(pg: &str) -> String {
    let mut out = String::with_capacity(pg.len());
    let mut chars = pg.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out.replace(r"E'\\'", r"'\'")
}

#[test]
fn full_statements_for_both_backends() {
    let spec = ok(&USERS, "skip=20&limit=10&sorting=name:desc,email&filter_key=is_active&value=true");
    let (pg, lite, values) = page_sql(&spec);
    assert_eq!(
        pg,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."is_active" = $1 ORDER BY "users"."name" DESC NULLS FIRST, "users"."email" ASC NULLS LAST LIMIT $2 OFFSET $3"#
    );
    assert_eq!(
        lite,
        r#"SELECT "users"."id" FROM "users" WHERE "users"."is_active" = ? ORDER BY "users"."name" DESC NULLS FIRST, "users"."email" ASC NULLS LAST LIMIT ? OFFSET ?"#
    );
    assert_eq!(values.0, vec![Value::Bool(Some(true)), Value::BigUnsigned(Some(10)), Value::BigUnsigned(Some(20))]);
}

#[rstest]
// Kwik: default order is the primary key; no OFFSET for skip=0.
#[case(&USERS, "", r#"ORDER BY "users"."id" ASC LIMIT $1"#)]
// Kwik: given sorting replaces the default order, without a tiebreak on offset pages.
#[case(&USERS, "sorting=name&skip=3", r#"ORDER BY "users"."name" ASC NULLS LAST LIMIT $1 OFFSET $2"#)]
#[case(&USERS, "sorting=id:desc", r#"ORDER BY "users"."id" DESC LIMIT $1"#)]
// Cursor pages add the primary key as the last tiebreak and never use OFFSET.
#[case(&USERS, "sorting=name&cursor=", r#"ORDER BY "users"."name" ASC NULLS LAST, "users"."id" ASC LIMIT $1"#)]
#[case(&USERS, "cursor=", r#"ORDER BY "users"."id" ASC LIMIT $1"#)]
// Columns come from the allow-list, not from the field name.
#[case(&ITEMS, "sorting=created:desc", r#"ORDER BY "items"."created_at" DESC NULLS FIRST LIMIT $1"#)]
// Decimals sort numerically.
#[case(&ITEMS, "sorting=price", r#"ORDER BY CAST("items"."price" AS NUMERIC) ASC NULLS LAST LIMIT $1"#)]
fn order_by(#[case] schema: &'static kwik_listing::ListSchema, #[case] query: &str, #[case] expected: &str) {
    assert_eq!(pg_tail(&ok(schema, query)), expected);
}

fn s(text: &str) -> Value {
    Value::String(Some(text.to_owned()))
}

const TAIL: &str = r#" ORDER BY "items"."id" ASC LIMIT $"#;

#[rstest]
#[case("id:eq:5", r#""items"."id" = $1"#, vec![Value::BigInt(Some(5))])]
#[case("id:ne:5", r#""items"."id" <> $1"#, vec![Value::BigInt(Some(5))])]
#[case("score:lt:1.5", r#""items"."score" < $1"#, vec![Value::Double(Some(1.5))])]
#[case("id:lte:5", r#""items"."id" <= $1"#, vec![Value::BigInt(Some(5))])]
#[case("created:gt:2024-05-01", r#""items"."created_at" > $1"#, vec![Value::ChronoDateTimeUtc(Some("2024-05-01T00:00:00Z".parse().unwrap()))])]
#[case("id:gte:5", r#""items"."id" >= $1"#, vec![Value::BigInt(Some(5))])]
#[case("id:in:1,2", r#""items"."id" IN ($1, $2)"#, vec![Value::BigInt(Some(1)), Value::BigInt(Some(2))])]
#[case("active:eq:no", r#""items"."active" = $1"#, vec![Value::Bool(Some(false))])]
#[case(
    "ref:eq:67e55044-10b1-426f-9247-bb680e5fe0c8",
    r#""items"."ref_id" = $1"#,
    vec![Value::Uuid(Some("67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap()))]
)]
#[case("price:gt:10.5", r#"CAST("items"."price" AS NUMERIC) > CAST($1 AS NUMERIC)"#, vec![s("10.5")])]
#[case(
    "price:in:1,2.50",
    r#"CAST("items"."price" AS NUMERIC) IN (CAST($1 AS NUMERIC), CAST($2 AS NUMERIC))"#,
    vec![s("1"), s("2.50")]
)]
#[case("nickname:isnull:true", r#""items"."nickname" IS NULL"#, vec![])]
#[case("price:isnull:no", r#""items"."price" IS NOT NULL"#, vec![])]
#[case(
    "title:contains:50%_off",
    r#""items"."title" LIKE $1 ESCAPE E'\\' AND REPLACE("items"."title", $2, $3) <> "items"."title""#,
    vec![s(r"%50\%\_off%"), s("50%_off"), s("")]
)]
#[case("title:contains:", r#""items"."title" LIKE $1 ESCAPE E'\\'"#, vec![s("%%")])]
#[case(
    r"title:startswith:a\b",
    r#""items"."title" LIKE $1 ESCAPE E'\\' AND SUBSTR("items"."title", 1, LENGTH($2)) = $3"#,
    vec![s(r"a\\b%"), s(r"a\b"), s(r"a\b")]
)]
#[case("title:startswith:", r#""items"."title" LIKE $1 ESCAPE E'\\'"#, vec![s("%")])]
#[case(
    "title:icontains:Ab_",
    r#"LOWER("items"."title") LIKE LOWER($1) ESCAPE E'\\'"#,
    vec![s(r"%Ab\_%")]
)]
fn filters(#[case] filter: &str, #[case] condition: &str, #[case] values: Vec<Value>) {
    let raw = kwik_listing::RawListQuery { filter: vec![filter.to_owned()], ..Default::default() };
    let spec = kwik_listing::parse(&raw, &ITEMS, &super::key()).unwrap();
    let (pg, lite, bound) = page_sql(&spec);
    let expected = format!(r#"SELECT "items"."id" FROM "items" WHERE {condition}{TAIL}{}"#, values.len() + 1);
    assert_eq!(pg, expected);
    assert_eq!(lite, to_sqlite(&expected));
    let mut expected_values = values;
    expected_values.push(Value::BigUnsigned(Some(100)));
    assert_eq!(bound.0, expected_values);
}

#[test]
fn count_query_has_filters_only() {
    let spec = ok(&ITEMS, "skip=5&limit=2&sorting=title&filter=id:gt:1&filter=title:icontains:x");
    let mut count = Query::select().expr(Expr::cust("COUNT(*)")).from("items").to_owned();
    spec.apply_filters(&mut count);
    let (pg, values) = count.build(PostgresQueryBuilder);
    assert_eq!(
        pg,
        r#"SELECT COUNT(*) FROM "items" WHERE "items"."id" > $1 AND LOWER("items"."title") LIKE LOWER($2) ESCAPE E'\\'"#
    );
    assert_eq!(values.0, vec![Value::BigInt(Some(1)), s("%x%")]);
    assert_eq!(count.build(SqliteQueryBuilder).0, to_sqlite(&pg));
}

fn after(query_without_cursor: &str, row: &serde_json::Value) -> kwik_listing::ListSpec {
    let first = ok(&ITEMS, &format!("{query_without_cursor}&cursor="));
    let token = first.next_cursor(row).unwrap();
    ok(&ITEMS, &format!("{query_without_cursor}&cursor={token}"))
}

#[test]
fn keyset_on_the_primary_key_alone() {
    let spec = after("limit=2", &json!({"id": 7}));
    let (pg, lite, values) = page_sql(&spec);
    assert_eq!(pg, r#"SELECT "items"."id" FROM "items" WHERE "items"."id" > $1 ORDER BY "items"."id" ASC LIMIT $2"#);
    assert_eq!(lite, to_sqlite(&pg));
    assert_eq!(values.0, vec![Value::BigInt(Some(7)), Value::BigUnsigned(Some(2))]);
}

#[test]
fn keyset_descending_primary_key_needs_no_tiebreak() {
    let spec = after("sorting=id:desc", &json!({"id": 7}));
    assert_eq!(pg_tail(&spec), r#"WHERE "items"."id" < $1 ORDER BY "items"."id" DESC LIMIT $2"#);
}

#[test]
fn keyset_ascending_nullable_key_includes_the_nulls_after_it() {
    let spec = after("sorting=title", &json!({"id": 7, "title": "m"}));
    assert_eq!(
        pg_tail(&spec),
        r#"WHERE "items"."title" > $1 OR "items"."title" IS NULL OR ("items"."title" = $2 AND "items"."id" > $3) ORDER BY "items"."title" ASC NULLS LAST, "items"."id" ASC LIMIT $4"#
    );
}

#[test]
fn keyset_descending_key() {
    let spec = after("sorting=created:desc", &json!({"id": 7, "created": "2024-05-01T00:00:00Z"}));
    assert_eq!(
        pg_tail(&spec),
        r#"WHERE "items"."created_at" < $1 OR ("items"."created_at" = $2 AND "items"."id" > $3) ORDER BY "items"."created_at" DESC NULLS FIRST, "items"."id" ASC LIMIT $4"#
    );
}

#[test]
fn keyset_after_a_null() {
    // Ascending: NULLs are last, so only other NULLs with a greater id follow.
    let spec = after("sorting=nickname", &json!({"id": 7, "nickname": null}));
    assert_eq!(
        pg_tail(&spec),
        r#"WHERE "items"."nickname" IS NULL AND "items"."id" > $1 ORDER BY "items"."nickname" ASC NULLS LAST, "items"."id" ASC LIMIT $2"#
    );
    // Descending: NULLs are first, so every non-NULL follows, then NULLs with a greater id.
    let spec = after("sorting=nickname:desc", &json!({"id": 7, "nickname": null}));
    assert_eq!(
        pg_tail(&spec),
        r#"WHERE "items"."nickname" IS NOT NULL OR ("items"."nickname" IS NULL AND "items"."id" > $1) ORDER BY "items"."nickname" DESC NULLS FIRST, "items"."id" ASC LIMIT $2"#
    );
}

#[test]
fn keyset_on_several_keys_with_decimals() {
    let spec =
        after("sorting=price:desc,score&filter=active:eq:true", &json!({"id": 7, "price": "2.50", "score": 1.0}));
    let (pg, lite, values) = page_sql(&spec);
    assert_eq!(
        pg,
        concat!(
            r#"SELECT "items"."id" FROM "items" WHERE "items"."active" = $1 AND "#,
            r#"(CAST("items"."price" AS NUMERIC) < CAST($2 AS NUMERIC) OR (CAST("items"."price" AS NUMERIC) = CAST($3 AS NUMERIC) AND "#,
            r#"("items"."score" > $4 OR "items"."score" IS NULL OR ("items"."score" = $5 AND "items"."id" > $6)))) "#,
            r#"ORDER BY CAST("items"."price" AS NUMERIC) DESC NULLS FIRST, "items"."score" ASC NULLS LAST, "items"."id" ASC LIMIT $7"#
        )
    );
    assert_eq!(lite, to_sqlite(&pg));
    assert_eq!(
        values.0,
        vec![
            Value::Bool(Some(true)),
            s("2.50"),
            s("2.50"),
            Value::Double(Some(1.0)),
            Value::Double(Some(1.0)),
            Value::BigInt(Some(7)),
            Value::BigUnsigned(Some(100)),
        ]
    );
}

#[test]
fn total_ignores_the_cursor() {
    let spec = after("sorting=title", &json!({"id": 7, "title": "m"}));
    let mut count = Query::select().expr(Expr::cust("COUNT(*)")).from("items").to_owned();
    spec.apply_filters(&mut count);
    assert_eq!(count.build(PostgresQueryBuilder).0, r#"SELECT COUNT(*) FROM "items""#);
}
