//! The generated SQL run on real databases: in-memory SQLite always, PostgreSQL when
//! `KWIK_TEST_DATABASE_URL` is a `postgres://` URL (a temporary table is used, nothing persists).
//!
//! Expected results are computed in Rust from the fixture, so both backends are held to the same
//! answers: case-sensitive `contains`/`startswith`, literal `%`/`_`/`\`, numeric decimals, NULL
//! ordering, and cursor pages that visit every row exactly once in the offset order.

use std::cmp::Ordering;

use chrono::{DateTime, TimeZone, Utc};
use sea_query::{Expr, Func, PostgresQueryBuilder, Query, SelectStatement, SqliteQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use serde_json::{Value as Json, json};
use sqlx::{AssertSqlSafe, Row};

use kwik_listing::ListSpec;

use super::{ITEMS, ok};

#[derive(Debug, Clone)]
struct Item {
    id: i64,
    title: Option<&'static str>,
    nickname: Option<&'static str>,
    price: Option<&'static str>,
    score: Option<f64>,
    active: bool,
    created: DateTime<Utc>,
    reference: uuid::Uuid,
    rank: i64,
}

const TITLES: &[Option<&str>] = &[
    Some("apple"),
    Some("Apple"),
    Some("banana"),
    Some("b%nana"),
    Some("b_nana"),
    Some(r"back\slash"),
    Some("cherry"),
    None,
];
const PRICES: &[Option<&str>] = &[Some("9.5"), Some("10.25"), Some("10.250"), Some("100"), Some("-1"), None];
const SCORES: &[Option<f64>] = &[Some(1.0), Some(2.5), None, Some(1.0), Some(-0.5)];

fn fixture() -> Vec<Item> {
    (1..=40_i64)
        .map(|id| {
            let i = usize::try_from(id).unwrap();
            Item {
                id,
                title: TITLES[i % TITLES.len()],
                nickname: if id % 3 == 0 { None } else { Some(["x", "y"][i % 2]) },
                price: PRICES[i % PRICES.len()],
                score: SCORES[i % SCORES.len()],
                active: id % 2 == 0,
                created: Utc.with_ymd_and_hms(2024, 5, 1 + u32::try_from(id % 4).unwrap(), 12, 0, 0).unwrap(),
                reference: uuid::Uuid::from_u128(u128::try_from(id * 7919 % 41).unwrap()),
                rank: id % 5,
            }
        })
        .collect()
}

fn row_json(item: &Item) -> Json {
    json!({
        "id": item.id, "title": item.title, "nickname": item.nickname, "price": item.price,
        "score": item.score, "active": item.active, "created": item.created.to_rfc3339(),
        "ref": item.reference.to_string(), "rank": item.rank, "note": null,
    })
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn sqlite() -> Self {
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect("sqlite::memory:").await.unwrap();
        let db = Self::Sqlite(pool);
        db.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, nickname TEXT, price TEXT, score REAL, \
             active BOOLEAN NOT NULL, created_at TEXT NOT NULL, ref_id BLOB NOT NULL, rank INTEGER NOT NULL, note TEXT)",
        )
        .await;
        db
    }

    async fn postgres() -> Option<Self> {
        let url = std::env::var("KWIK_TEST_DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))?;
        // One connection, so the temporary table is visible to every query.
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        let db = Self::Postgres(pool);
        db.execute(
            "CREATE TEMPORARY TABLE items (id BIGINT PRIMARY KEY, title TEXT COLLATE \"C\", nickname TEXT COLLATE \"C\", \
             price NUMERIC(12, 3), score DOUBLE PRECISION, active BOOLEAN NOT NULL, created_at TIMESTAMPTZ NOT NULL, \
             ref_id UUID NOT NULL, rank BIGINT NOT NULL, note TEXT)",
        )
        .await;
        Some(db)
    }

    async fn execute(&self, sql: &str) {
        match self {
            Self::Sqlite(pool) => {
                sqlx::query(AssertSqlSafe(sql.to_owned())).execute(pool).await.unwrap();
            }
            Self::Postgres(pool) => {
                sqlx::query(AssertSqlSafe(sql.to_owned())).execute(pool).await.unwrap();
            }
        }
    }

    async fn insert(&self, items: &[Item]) {
        for item in items {
            // Decimals are text on SQLite and NUMERIC on PostgreSQL.
            let price = Expr::val(item.price.map(str::to_owned));
            let price = match self {
                Self::Sqlite(_) => price,
                Self::Postgres(_) => Func::cast_as(price, "NUMERIC").into(),
            };
            let insert = Query::insert()
                .into_table("items")
                .columns(["id", "title", "nickname", "price", "score", "active", "created_at", "ref_id", "rank"])
                .values([
                    Expr::val(item.id),
                    Expr::val(item.title.map(str::to_owned)),
                    Expr::val(item.nickname.map(str::to_owned)),
                    price,
                    Expr::val(item.score),
                    Expr::val(item.active),
                    Expr::val(item.created),
                    Expr::val(item.reference),
                    Expr::val(item.rank),
                ])
                .unwrap()
                .to_owned();
            match self {
                Self::Sqlite(pool) => {
                    let (sql, values) = insert.build_sqlx(SqliteQueryBuilder);
                    sqlx::query_with(AssertSqlSafe(sql), values).execute(pool).await.unwrap();
                }
                Self::Postgres(pool) => {
                    let (sql, values) = insert.build_sqlx(PostgresQueryBuilder);
                    sqlx::query_with(AssertSqlSafe(sql), values).execute(pool).await.unwrap();
                }
            }
        }
    }

    async fn ids(&self, select: &SelectStatement) -> Vec<i64> {
        match self {
            Self::Sqlite(pool) => {
                let (sql, values) = select.build_sqlx(SqliteQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql.clone()), values)
                    .fetch_all(pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|row| row.get::<i64, _>(0))
                    .collect()
            }
            Self::Postgres(pool) => {
                let (sql, values) = select.build_sqlx(PostgresQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql.clone()), values)
                    .fetch_all(pool)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|row| row.get::<i64, _>(0))
                    .collect()
            }
        }
    }

    async fn page(&self, spec: &ListSpec) -> Vec<i64> {
        let mut select = Query::select().column(("items", "id")).from("items").to_owned();
        spec.apply(&mut select);
        self.ids(&select).await
    }

    async fn total(&self, spec: &ListSpec) -> usize {
        // Kwik counts the filtered rows; counting the ids of the filtered select is the same.
        let mut select = Query::select().column(("items", "id")).from("items").to_owned();
        spec.apply_filters(&mut select);
        self.ids(&select).await.len()
    }
}

async fn databases() -> Vec<(&'static str, Db)> {
    let items = fixture();
    let mut dbs = vec![("sqlite", Db::sqlite().await)];
    if let Some(pg) = Db::postgres().await {
        dbs.push(("postgres", pg));
    }
    for (_, db) in &dbs {
        db.insert(&items).await;
    }
    dbs
}

fn decimal(text: &str) -> f64 {
    text.parse().unwrap()
}

/// Our documented order for one key: NULLs last ascending (first descending), text by bytes.
fn compare(a: &Item, b: &Item, field: &str) -> Ordering {
    fn nulls_last<T>(a: Option<T>, b: Option<T>, cmp: impl Fn(T, T) -> Ordering) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => cmp(a, b),
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (None, None) => Ordering::Equal,
        }
    }
    match field {
        "id" => a.id.cmp(&b.id),
        "title" => nulls_last(a.title, b.title, |x, y| x.as_bytes().cmp(y.as_bytes())),
        "nickname" => nulls_last(a.nickname, b.nickname, |x, y| x.as_bytes().cmp(y.as_bytes())),
        "price" => nulls_last(a.price, b.price, |x, y| decimal(x).total_cmp(&decimal(y))),
        "score" => nulls_last(a.score, b.score, |x, y| x.total_cmp(&y)),
        "active" => a.active.cmp(&b.active),
        "created" => a.created.cmp(&b.created),
        "ref" => a.reference.cmp(&b.reference),
        "rank" => a.rank.cmp(&b.rank),
        other => panic!("no order for {other}"),
    }
}

fn expected_order(items: &[Item], keys: &[(&str, bool)]) -> Vec<i64> {
    let mut sorted: Vec<&Item> = items.iter().collect();
    sorted.sort_by(|a, b| {
        keys.iter()
            .map(|&(field, desc)| {
                let ord = compare(a, b, field);
                if desc { ord.reverse() } else { ord }
            })
            .find(|ord| ord.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    sorted.iter().map(|item| item.id).collect()
}

const SORTINGS: &[&str] = &[
    "",
    "title",
    "title:desc",
    "nickname",
    "nickname:desc,title",
    "price",
    "price:desc,score",
    "score:desc,title:desc",
    "created:desc",
    "active,price:desc",
    "id:desc",
    "ref",
    "rank,created",
];

#[tokio::test]
async fn cursor_pages_visit_every_row_once_in_order() {
    let items = fixture();
    for (backend, db) in databases().await {
        for sorting in SORTINGS {
            let spec = ok(&ITEMS, &format!("sorting={sorting}&cursor=&limit=50"));
            let keys: Vec<(&str, bool)> = spec
                .order_keys()
                .iter()
                .map(|k| (k.field.name, k.direction == kwik_listing::SortDirection::Desc))
                .collect();
            let all = db.page(&spec).await;
            assert_eq!(all, expected_order(&items, &keys), "{backend}: order of sorting={sorting}");

            for limit in [1, 3, 7] {
                let mut seen = Vec::new();
                let mut query = format!("sorting={sorting}&limit={limit}&cursor=");
                for _ in 0..=items.len() {
                    let spec = ok(&ITEMS, &query);
                    let ids = db.page(&spec).await;
                    let rows: Vec<Json> =
                        ids.iter().map(|id| row_json(&items[usize::try_from(*id - 1).unwrap()])).collect();
                    let page = spec.paginate(i64::try_from(items.len()).unwrap(), rows).unwrap();
                    seen.extend(ids);
                    match page.next_cursor {
                        Some(cursor) => query = format!("sorting={sorting}&limit={limit}&cursor={cursor}"),
                        None => break,
                    }
                }
                assert_eq!(seen, all, "{backend}: cursor pages of sorting={sorting} limit={limit}");
            }
        }
    }
}

#[tokio::test]
async fn offset_pages_follow_kwiks_order() {
    let items = fixture();
    for (backend, db) in databases().await {
        // No sorting: primary key ascending.
        let page = db.page(&ok(&ITEMS, "skip=5&limit=3")).await;
        assert_eq!(page, vec![6, 7, 8], "{backend}");
        // A unique order pages exactly like the full list.
        let all = expected_order(&items, &[("created", true), ("id", false)]);
        let page = db.page(&ok(&ITEMS, "sorting=created:desc,id&skip=10&limit=5")).await;
        assert_eq!(page, all[10..15].to_vec(), "{backend}");
        assert!(db.page(&ok(&ITEMS, "limit=0")).await.is_empty(), "{backend}");
    }
}

fn ids_where(items: &[Item], keep: impl Fn(&Item) -> bool) -> Vec<i64> {
    items.iter().filter(|item| keep(item)).map(|item| item.id).collect()
}

#[tokio::test]
async fn filters_mean_the_same_on_both_backends() {
    let items = fixture();
    let title = |t: &'static str| move |item: &Item| item.title == Some(t);
    let cases: Vec<(&str, Vec<i64>)> = vec![
        // Case-sensitive: SQLite's LIKE alone would also match "apple".
        ("filter=title:contains:App", ids_where(&items, title("Apple"))),
        ("filter=title:contains:pple", ids_where(&items, |i| matches!(i.title, Some("apple" | "Apple")))),
        ("filter=title:startswith:a", ids_where(&items, title("apple"))),
        ("filter=title:startswith:B", vec![]),
        // Case-insensitive on both (PostgreSQL's LIKE alone would miss "apple").
        ("filter=title:icontains:APP", ids_where(&items, |i| matches!(i.title, Some("apple" | "Apple")))),
        ("filter=title:icontains:AnAnA", ids_where(&items, title("banana"))),
        // Wildcards in user input are literal.
        ("filter=title:contains:%25", ids_where(&items, title("b%nana"))),
        ("filter=title:contains:_", ids_where(&items, title("b_nana"))),
        ("filter=title:startswith:b_", ids_where(&items, title("b_nana"))),
        ("filter=title:icontains:B_N", ids_where(&items, title("b_nana"))),
        ("filter=title:contains:%5C", ids_where(&items, title(r"back\slash"))),
        ("filter=title:startswith:back%5Cs", ids_where(&items, title(r"back\slash"))),
        ("filter=title:contains:", ids_where(&items, |i| i.title.is_some())),
        // Kwik's equality filter and the other comparisons.
        ("filter_key=title&value=Apple", ids_where(&items, title("Apple"))),
        ("filter_key=active&value=true", ids_where(&items, |i| i.active)),
        ("filter=active:eq:no", ids_where(&items, |i| !i.active)),
        ("filter=title:ne:apple", ids_where(&items, |i| i.title.is_some_and(|t| t != "apple"))),
        ("filter=title:in:apple,cherry", ids_where(&items, |i| matches!(i.title, Some("apple" | "cherry")))),
        ("filter=nickname:isnull:true", ids_where(&items, |i| i.nickname.is_none())),
        ("filter=nickname:isnull:false", ids_where(&items, |i| i.nickname.is_some())),
        ("filter=score:lt:1", ids_where(&items, |i| i.score.is_some_and(|s| s < 1.0))),
        ("filter=score:gte:1", ids_where(&items, |i| i.score.is_some_and(|s| s >= 1.0))),
        ("filter=id:lte:3&filter=id:gt:1", vec![2, 3]),
        // Decimals compare numerically ("9.5" < "10" as numbers, not as text).
        ("filter=price:gt:10", ids_where(&items, |i| i.price.is_some_and(|p| decimal(p) > 10.0))),
        ("filter=price:eq:10.25", ids_where(&items, |i| i.price.is_some_and(|p| (decimal(p) - 10.25).abs() < 1e-9))),
        ("filter=price:in:9.50,100", ids_where(&items, |i| matches!(i.price, Some("9.5" | "100")))),
        ("filter=price:lte:-1", ids_where(&items, |i| i.price == Some("-1"))),
        (
            "filter=created:gte:2024-05-03",
            ids_where(&items, |i| i.created >= Utc.with_ymd_and_hms(2024, 5, 3, 0, 0, 0).unwrap()),
        ),
        (
            "filter=created:eq:2024-05-02T14:00:00%2B02:00",
            ids_where(&items, |i| i.created == Utc.with_ymd_and_hms(2024, 5, 2, 12, 0, 0).unwrap()),
        ),
        (
            "filter=ref:eq:00000000-0000-0000-0000-000000000007",
            ids_where(&items, |i| i.reference == uuid::Uuid::from_u128(7)),
        ),
    ];
    for (backend, db) in databases().await {
        for (query, expected) in &cases {
            let spec = ok(&ITEMS, &format!("{query}&limit=50"));
            assert_eq!(&db.page(&spec).await, expected, "{backend}: {query}");
            assert_eq!(db.total(&spec).await, expected.len(), "{backend}: total of {query}");
        }
    }
}

#[tokio::test]
async fn total_counts_filtered_rows_regardless_of_the_page() {
    for (backend, db) in databases().await {
        let spec = ok(&ITEMS, "filter_key=active&value=1&skip=3&limit=2");
        assert_eq!(db.page(&spec).await.len(), 2, "{backend}");
        assert_eq!(db.total(&spec).await, 20, "{backend}");
    }
}
