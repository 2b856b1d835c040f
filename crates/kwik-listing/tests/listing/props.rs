//! Property tests: arbitrary input never panics, and never reaches the SQL text — only identifiers
//! from the allow-list, our own keywords and placeholders do; user input travels as bound values.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder, Value};

use kwik_listing::{ListSchema, ListSpec, RawListQuery, parse};

use super::{ITEMS, base_select, key};

/// Every word our SQL may contain besides quoted identifiers and placeholders.
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "IS", "NOT", "NULL", "LIKE", "ESCAPE", "E", "IN", "ORDER", "BY", "ASC",
    "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "CAST", "AS", "NUMERIC", "LOWER", "REPLACE", "SUBSTR",
    "LENGTH", "1",
];

/// Checks that `sql` holds only allow-listed identifiers, our keywords, punctuation, placeholders and
/// the LIKE escape literal, and that it has one placeholder per bound value.
fn check_sql(sql: &str, schema: &ListSchema, bound: usize, placeholder: char) -> Result<(), TestCaseError> {
    let allowed: HashSet<&str> = std::iter::once(schema.table).chain(schema.fields.iter().map(|f| f.column)).collect();
    let mut rest = String::new();
    let mut chars = sql.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let ident: String = chars.by_ref().take_while(|&c| c != '"').collect();
                prop_assert!(allowed.contains(ident.as_str()), "identifier {ident:?} in {sql}");
                rest.push(' ');
            }
            '\'' => {
                let literal: String = chars.by_ref().take_while(|&c| c != '\'').collect();
                prop_assert!(literal == "\\" || literal == "\\\\", "literal {literal:?} in {sql}");
                rest.push(' ');
            }
            c => rest.push(c),
        }
    }
    prop_assert!(
        rest.chars().all(|c| c.is_ascii_alphanumeric() || " (),.=<>*?$_".contains(c)),
        "unexpected character in {sql}"
    );
    let mut placeholders = 0;
    for word in rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$')) {
        if word.is_empty() {
            continue;
        }
        if let Some(n) = word.strip_prefix('$') {
            prop_assert!(!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()), "{word} in {sql}");
            placeholders += 1;
        } else {
            prop_assert!(KEYWORDS.contains(&word), "word {word:?} in {sql}");
        }
    }
    if placeholder == '?' {
        placeholders = rest.matches('?').count();
    }
    prop_assert_eq!(placeholders, bound, "placeholders in {}", sql);
    Ok(())
}

fn check_spec(spec: &ListSpec) -> Result<(), TestCaseError> {
    let schema = spec.schema();
    let mut page = base_select(schema);
    spec.apply(&mut page);
    let mut count = base_select(schema);
    spec.apply_filters(&mut count);
    for select in [&page, &count] {
        let (pg, values) = select.build(PostgresQueryBuilder);
        check_sql(&pg, schema, values.0.len(), '$')?;
        let (lite, values) = select.build(SqliteQueryBuilder);
        check_sql(&lite, schema, values.0.len(), '?')?;
    }
    Ok(())
}

fn words() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "id", "title", "nickname", "price", "score", "active", "created", "ref", "rank", "note", "nope", "DESC", "",
        "items", "id\"", "title;--",
    ])
}

fn ops() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "eq",
        "ne",
        "lt",
        "lte",
        "gt",
        "gte",
        "in",
        "contains",
        "icontains",
        "startswith",
        "isnull",
        "like",
        "EQ",
        "",
    ])
}

fn values() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[0-9.,eE+-]{0,12}",
        "(true|false|yes|no|1|0|TRUE)",
        "2024-0[1-9]-1[0-9](T12:00:00(Z|\\+02:00))?",
        "[%_\\\\'\"a-z]{0,8}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ]
}

fn sorting() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            words(),
            prop::sample::select(vec!["", ":asc", ":desc", ":DESC", ":x", "::"]),
            prop::sample::select(vec![",", ";", " ", ",,", ""]),
        ),
        0..5,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(w, d, sep)| [w, d, sep]).collect())
}

fn opt(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    prop::option::of(s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_parameters_never_panic_nor_leak_into_sql(
        skip in opt(".*".boxed()),
        limit in opt(".*".boxed()),
        sorting in opt(".*".boxed()),
        filter_key in opt(".*".boxed()),
        value in opt(".*".boxed()),
        filter in prop::collection::vec(".*", 0..4),
        cursor in opt(".*".boxed()),
    ) {
        let raw = RawListQuery { skip, limit, sorting, filter_key, value, filter, cursor };
        if let Ok(spec) = parse(&raw, &ITEMS, &key()) {
            check_spec(&spec)?;
        }
    }

    #[test]
    fn structured_parameters_never_leak_into_sql(
        skip in opt("-?[0-9]{1,3}".boxed()),
        limit in opt("[0-9]{1,2}".boxed()),
        sorting in opt(sorting().boxed()),
        filter_key in opt(words().prop_map(str::to_owned).boxed()),
        value in opt(values().boxed()),
        filter in prop::collection::vec((words(), ops(), values()).prop_map(|(f, o, v)| format!("{f}:{o}:{v}")), 0..5),
        start_cursor in any::<bool>(),
    ) {
        let cursor = start_cursor.then(String::new);
        let raw = RawListQuery { skip, limit, sorting, filter_key, value, filter, cursor };
        match parse(&raw, &ITEMS, &key()) {
            Ok(spec) => check_spec(&spec)?,
            Err(err) => prop_assert!(matches!(err.status(), 400 | 422), "{err:?}"),
        }
    }

    #[test]
    fn arbitrary_query_strings_never_panic(query in ".*") {
        let _ = parse(&RawListQuery::from_query_string(&query), &ITEMS, &key());
    }

    #[test]
    fn arbitrary_cursors_are_invalid(token in prop_oneof![".+", "[A-Za-z0-9_-]{1,300}"]) {
        let raw = RawListQuery { cursor: Some(token), ..Default::default() };
        let err = parse(&raw, &ITEMS, &key()).err();
        prop_assert_eq!(err.map(|e| e.to_string()), Some("Invalid cursor".to_owned()));
    }

    #[test]
    fn cursors_round_trip_any_row(
        id in any::<i64>(),
        title in prop::option::of(".*"),
        price in prop::option::of("-?[0-9]{1,10}(\\.[0-9]{1,4})?"),
        score in prop::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
        secs in 0_i64..4_000_000_000,
        nanos in 0_u32..1_000_000_000,
        active in any::<bool>(),
        sorting in prop::sample::select(vec!["title", "price:desc,title", "score,created:desc", "active:desc,score", "id:desc", "nickname"]),
    ) {
        let created = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
        let row = serde_json::json!({
            "id": id, "title": title, "price": price, "score": score, "active": active,
            "created": created.to_rfc3339(), "nickname": title,
        });
        let first = parse(&RawListQuery { sorting: Some(sorting.to_owned()), cursor: Some(String::new()), ..Default::default() }, &ITEMS, &key()).unwrap();
        let token = first.next_cursor(&row).unwrap();
        let next = parse(&RawListQuery { sorting: Some(sorting.to_owned()), cursor: Some(token), ..Default::default() }, &ITEMS, &key()).unwrap();
        check_spec(&next)?;
        let mut select = base_select(&ITEMS);
        next.apply(&mut select);
        let (_, bound) = select.build(PostgresQueryBuilder);
        // The primary key always reaches the keyset condition, unchanged.
        prop_assert!(bound.0.contains(&Value::BigInt(Some(id))));
        if let Some(title) = title.filter(|_| sorting.starts_with("title") || sorting.ends_with(",title")) {
            prop_assert!(bound.0.contains(&Value::String(Some(title))));
        }
    }
}
