//! List queries on `/projects/` over one dataset created through the API: sorting, Kwik's
//! `filter_key`/`value`, `filter=field:op:value`, offset pages, `total`, cursor pages and the
//! errors. Every expectation is an exact id sequence computed here from the data created, so a
//! backend answering differently fails.
//!
//! Names start with a unique `pNN ` key, so their order is the same under bytewise (SQLite,
//! PostgreSQL `C`) and locale collations; case differences come after it.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use kwik_testing::{TestApp, TestClient, assert_validation};
use serde_json::{Value, json};

use crate::common::{app, create_project, id, ids, list, list_raw, ok, time, total, walk_cursor};

const ROWS: usize = 30;
const TAGS: [&str; 6] = ["alpha", "DEMO beta", "gamma", "demo delta", "Demo epsilon", "zeta"];
const DESCRIPTIONS: [&str; 3] = ["shared words", "Other words", "shared words"];

/// A project as created by [`dataset`].
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    name: String,
    description: Option<String>,
    archived: bool,
    created: DateTime<Utc>,
}

/// Creates [`ROWS`] projects in a shuffled order (so ids, names and creation times disagree) and
/// archives every fourth one. Returns them by id.
async fn dataset(app: &TestApp) -> Vec<Row> {
    let admin = app.as_admin().await;
    let mut rows = Vec::new();
    for k in 0..ROWS {
        let i = (k * 7) % ROWS; // 7 and 30 are coprime: a permutation
        let name = format!("p{i:02} {}", TAGS[i % TAGS.len()]);
        let description = (!i.is_multiple_of(5)).then(|| DESCRIPTIONS[i % DESCRIPTIONS.len()].to_owned());
        let created = create_project(&admin, &json!({"name": name, "description": description})).await;
        let archived = i % 4 == 1;
        if archived {
            let archived = ok(admin.post(&format!("/projects/{}/archive", id(&created))).send().await).await;
            assert_eq!(archived["archived"], true);
        }
        rows.push(Row { id: id(&created), name, description, archived, created: time(&created, "creation_time") });
    }
    rows.sort_by_key(|r| r.id);
    // The API shows exactly this data.
    let page = list(&admin, "/projects/", &[("limit", "1000")]).await;
    assert_eq!(total(&page), i64::try_from(ROWS).unwrap());
    for (row, shown) in rows.iter().zip(page["data"].as_array().unwrap()) {
        assert_eq!(shown["id"], row.id);
        assert_eq!(shown["name"], row.name.as_str());
        assert_eq!(shown["description"].as_str(), row.description.as_deref());
        assert_eq!(shown["archived"], row.archived);
    }
    rows
}

/// Query parameters of one list request.
type Params<'a> = Vec<(&'a str, &'a str)>;

fn ids_of<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<i64> {
    rows.into_iter().map(|r| r.id).collect()
}

fn sorted_by<K: Ord>(rows: &[Row], key: impl Fn(&Row) -> K) -> Vec<i64> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| key(r));
    ids_of(sorted)
}

fn matching(rows: &[Row], keep: impl Fn(&Row) -> bool) -> Vec<i64> {
    ids_of(rows.iter().filter(|r| keep(r)))
}

async fn page_ids(client: &TestClient<'_>, params: &[(&str, &str)]) -> Vec<i64> {
    ids(&list(client, "/projects/", params).await)
}

async fn detail(client: &TestClient<'_>, params: &[(&str, &str)]) -> (u16, Value) {
    let (status, body) = list_raw(client, "/projects/", params).await;
    (status, body["detail"].clone())
}

#[tokio::test]
async fn sorting_orders_exactly() {
    let app = app().await;
    let rows = dataset(&app).await;
    let admin = app.as_admin().await;

    let by_id = sorted_by(&rows, |r| r.id);
    assert_eq!(page_ids(&admin, &[]).await, by_id, "default: id ascending");
    assert_eq!(page_ids(&admin, &[("sorting", "id:desc")]).await, sorted_by(&rows, |r| Reverse(r.id)));
    let by_name = sorted_by(&rows, |r| r.name.clone());
    assert_ne!(by_name, by_id, "the dataset must tell name order from id order");
    assert_eq!(page_ids(&admin, &[("sorting", "name")]).await, by_name);
    assert_eq!(page_ids(&admin, &[("sorting", "name:asc")]).await, by_name);
    let by_name_desc = sorted_by(&rows, |r| Reverse(r.name.clone()));
    assert_eq!(page_ids(&admin, &[("sorting", "name:desc")]).await, by_name_desc);
    // Ties on `archived`, broken by the second key.
    let tie_broken = sorted_by(&rows, |r| (Reverse(r.archived), r.name.clone()));
    assert_eq!(page_ids(&admin, &[("sorting", "archived:desc,name:asc")]).await, tie_broken);
    let tie_broken = sorted_by(&rows, |r| (r.archived, Reverse(r.id)));
    assert_eq!(page_ids(&admin, &[("sorting", "archived,id:desc")]).await, tie_broken);
    // A repeated field adds nothing; Kwik's regex skips junk between items.
    assert_eq!(page_ids(&admin, &[("sorting", "name:desc,name:asc")]).await, by_name_desc);
    assert_eq!(page_ids(&admin, &[("sorting", ";;")]).await, by_id);
    let by_creation = sorted_by(&rows, |r| (Reverse(r.created), r.id));
    let shown = page_ids(&admin, &[("sorting", "creation_time:desc,id")]).await;
    assert_eq!(shown, by_creation, "date-times sort chronologically");
    // Ties without a tiebreak: only the grouping is defined.
    let shown = page_ids(&admin, &[("sorting", "archived:desc")]).await;
    let archived_count = rows.iter().filter(|r| r.archived).count();
    let (first, rest) = shown.split_at(archived_count);
    let mut first = first.to_vec();
    first.sort_unstable();
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    assert_eq!(first, matching(&rows, |r| r.archived));
    assert_eq!(rest, matching(&rows, |r| !r.archived));
}

#[tokio::test]
async fn filters_select_exactly() {
    let app = app().await;
    let rows = dataset(&app).await;
    let admin = app.as_admin().await;
    let some = &rows[7];
    let chosen = [rows[3].id, rows[11].id, rows[20].id];
    let in_list = format!("id:in:{},{},{}", chosen[2], chosen[0], chosen[1]);
    let name_eq = format!("name:eq:{}", some.name);
    let since = rows.iter().map(|r| r.created).nth(15).unwrap().to_rfc3339();
    let since_filter = format!("creation_time:gte:{since}");
    let since_time: DateTime<Utc> = DateTime::parse_from_rfc3339(&since).unwrap().into();

    let cases: Vec<(Params, Vec<i64>)> = vec![
        (vec![("filter_key", "name"), ("value", &some.name)], vec![some.id]),
        (vec![("filter_key", "archived"), ("value", "true")], matching(&rows, |r| r.archived)),
        (vec![("filter_key", "name")], ids_of(&rows)), // ignored without `value`
        (vec![("filter", &name_eq)], vec![some.id]),
        (vec![("filter", "name:icontains:DEMO")], matching(&rows, |r| r.name.to_lowercase().contains("demo"))),
        (vec![("filter", "name:contains:Demo")], matching(&rows, |r| r.name.contains("Demo"))),
        (vec![("filter", "name:contains:DEMO")], matching(&rows, |r| r.name.contains("DEMO"))),
        (vec![("filter", "name:startswith:p1")], matching(&rows, |r| r.name.starts_with("p1"))),
        (vec![("filter", "name:startswith:P1")], vec![]), // case-sensitive on both backends
        (vec![("filter", "name:startswith:p0")], matching(&rows, |r| r.name.starts_with("p0"))),
        (vec![("filter", "name:icontains:%")], vec![]), // LIKE wildcards are literal
        (vec![("filter", "name:icontains:_")], vec![]),
        (vec![("filter", "archived:eq:true")], matching(&rows, |r| r.archived)),
        (vec![("filter", "archived:eq:no")], matching(&rows, |r| !r.archived)),
        (vec![("filter", &in_list)], {
            let mut sorted = chosen.to_vec();
            sorted.sort_unstable();
            sorted
        }),
        (vec![("filter", "description:isnull:true")], matching(&rows, |r| r.description.is_none())),
        (vec![("filter", "description:isnull:false")], matching(&rows, |r| r.description.is_some())),
        (
            vec![("filter", "description:eq:shared words")],
            matching(&rows, |r| r.description.as_deref() == Some("shared words")),
        ),
        // `ne` has SQL semantics: NULL descriptions do not match.
        (
            vec![("filter", "description:ne:shared words")],
            matching(&rows, |r| r.description.as_deref().is_some_and(|d| d != "shared words")),
        ),
        (vec![("filter", "name:gte:p25")], matching(&rows, |r| r.name.as_str() >= "p25")),
        (vec![("filter", &since_filter)], matching(&rows, |r| r.created >= since_time)),
        // Conditions combine with AND, also with filter_key/value.
        (
            vec![("filter", "archived:eq:false"), ("filter", "name:icontains:demo")],
            matching(&rows, |r| !r.archived && r.name.to_lowercase().contains("demo")),
        ),
        (
            vec![("filter_key", "archived"), ("value", "false"), ("filter", "description:isnull:true")],
            matching(&rows, |r| !r.archived && r.description.is_none()),
        ),
    ];
    for (params, expected) in cases {
        let page = list(&admin, "/projects/", &params).await;
        assert_eq!(ids(&page), expected, "{params:?}: {page}");
        assert_eq!(page["total"], expected.len(), "{params:?}");
    }
    // The data makes those filters meaningful.
    assert!(
        matching(&rows, |r| r.name.to_lowercase().contains("demo")).len()
            > matching(&rows, |r| r.name.contains("Demo")).len()
    );
    assert!(!matching(&rows, |r| r.description.is_none()).is_empty());
    // Sorting and filtering together.
    let page = page_ids(&admin, &[("filter", "name:icontains:demo"), ("sorting", "name:desc")]).await;
    let mut expected: Vec<&Row> = rows.iter().filter(|r| r.name.to_lowercase().contains("demo")).collect();
    expected.sort_by_key(|r| Reverse(r.name.clone()));
    assert_eq!(page, ids_of(expected));
}

#[tokio::test]
async fn offset_pages_and_total() {
    let app = app().await;
    let rows = dataset(&app).await;
    let admin = app.as_admin().await;
    let by_id = ids_of(&rows);

    let page = list(&admin, "/projects/", &[("skip", "10"), ("limit", "7")]).await;
    assert_eq!((ids(&page), total(&page)), (by_id[10..17].to_vec(), 30));
    let page = list(&admin, "/projects/", &[("skip", "28"), ("limit", "7")]).await;
    assert_eq!((ids(&page), total(&page)), (by_id[28..].to_vec(), 30));
    let page = list(&admin, "/projects/", &[("skip", "30")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![], 30));
    let page = list(&admin, "/projects/", &[("limit", "0")]).await;
    assert_eq!((ids(&page), total(&page)), (vec![], 30));
    let page = list(&admin, "/projects/", &[("limit", "1000")]).await;
    assert_eq!(ids(&page), by_id);

    // Pages over a sorted, filtered list: total counts the filter, not the page.
    let by_name_desc = sorted_by(&rows, |r| Reverse(r.name.clone()));
    let mut walked = Vec::new();
    for skip in (0..ROWS).step_by(7) {
        let skip = skip.to_string();
        let page = list(&admin, "/projects/", &[("sorting", "name:desc"), ("skip", &skip), ("limit", "7")]).await;
        assert_eq!(total(&page), 30);
        assert!(page.get("next_cursor").is_none());
        walked.extend(ids(&page));
    }
    assert_eq!(walked, by_name_desc);
    let unarchived = matching(&rows, |r| !r.archived);
    let page = list(&admin, "/projects/", &[("filter", "archived:eq:false"), ("skip", "2"), ("limit", "3")]).await;
    assert_eq!((ids(&page), total(&page)), (unarchived[2..5].to_vec(), i64::try_from(unarchived.len()).unwrap()));
}

#[tokio::test]
async fn cursor_pages_visit_every_row_once_in_order() {
    let app = app().await;
    let rows = dataset(&app).await;
    let admin = app.as_admin().await;

    // Sortings without ties: the same order as offset pages.
    for sorting in ["", "id:desc", "name", "name:desc", "archived:desc,name:asc", "archived,id:desc"] {
        let params: Vec<(&str, &str)> = if sorting.is_empty() { vec![] } else { vec![("sorting", sorting)] };
        let mut offset_params = params.clone();
        offset_params.push(("limit", "1000"));
        let offset = page_ids(&admin, &offset_params).await;
        assert_eq!(offset.len(), ROWS);
        for limit in [1, 4, 5, 30, 31] {
            let walked = walk_cursor(&admin, "/projects/", &params, limit).await;
            assert_eq!(walked, offset, "sorting {sorting:?}, limit {limit}");
        }
    }
    // With ties, cursor pages break them by id.
    let walked = walk_cursor(&admin, "/projects/", &[("sorting", "archived:desc")], 4).await;
    assert_eq!(walked, sorted_by(&rows, |r| (Reverse(r.archived), r.id)));
    let walked = walk_cursor(&admin, "/projects/", &[("sorting", "archived")], 3).await;
    assert_eq!(walked, sorted_by(&rows, |r| (r.archived, r.id)));
    let walked = walk_cursor(&admin, "/projects/", &[("sorting", "creation_time:desc")], 4).await;
    assert_eq!(walked, sorted_by(&rows, |r| (Reverse(r.created), r.id)));
    // With filters: only the matching rows.
    let walked =
        walk_cursor(&admin, "/projects/", &[("filter", "name:icontains:demo"), ("sorting", "name:desc")], 4).await;
    let mut expected: Vec<&Row> = rows.iter().filter(|r| r.name.to_lowercase().contains("demo")).collect();
    expected.sort_by_key(|r| Reverse(r.name.clone()));
    assert_eq!(walked, ids_of(expected));

    // The first cursor page, and a full last page's cursor leading to an empty page.
    let first = list(&admin, "/projects/", &[("cursor", ""), ("limit", "10")]).await;
    assert_eq!((ids(&first), total(&first)), (ids_of(&rows[..10]), 30));
    let last = list(&admin, "/projects/", &[("cursor", ""), ("limit", "30")]).await;
    let next = last["next_cursor"].as_str().expect("a full page has a cursor").to_owned();
    let empty = list(&admin, "/projects/", &[("cursor", &next), ("limit", "30")]).await;
    assert_eq!((ids(&empty), total(&empty)), (vec![], 30));
    assert!(empty.get("next_cursor").is_none(), "{empty}");
}

#[tokio::test]
async fn bad_cursors_are_400() {
    let app = app().await;
    dataset(&app).await;
    let admin = app.as_admin().await;
    let page = list(&admin, "/projects/", &[("cursor", ""), ("limit", "5"), ("sorting", "name")]).await;
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let next = list(&admin, "/projects/", &[("cursor", &cursor), ("limit", "5"), ("sorting", "name")]).await;
    assert_eq!(ids(&next).len(), 5, "the cursor itself is valid");

    // Tampered: one character changed in the middle, or cut short, or extended.
    let mut bytes = cursor.clone().into_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for bad in [tampered.as_str(), &cursor[..cursor.len() - 4], &format!("{cursor}AAAA"), "not a cursor", "e30"] {
        let answer = detail(&admin, &[("cursor", bad), ("limit", "5"), ("sorting", "name")]).await;
        assert_eq!(answer, (400, json!("Invalid cursor")), "cursor {bad:?}");
    }
    // Issued for another sorting or another resource.
    let answer = detail(&admin, &[("cursor", &cursor), ("limit", "5"), ("sorting", "name:desc")]).await;
    assert_eq!(answer.0, 400);
    assert_eq!(answer.1, "Invalid cursor: it was issued for sorting 'name:asc,id:asc', not 'name:desc,id:asc'");
    let (status, body) =
        list_raw(&admin, "/customers/", &[("cursor", &cursor), ("limit", "5"), ("sorting", "name")]).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Invalid cursor")));
    // Not with skip.
    let answer = detail(&admin, &[("cursor", &cursor), ("skip", "5"), ("sorting", "name")]).await;
    assert_eq!(answer, (400, json!("The skip parameter cannot be combined with a cursor")));
}

#[tokio::test]
async fn bad_list_queries_are_refused() {
    let app = app().await;
    create_project(&app.as_admin().await, &json!({"name": "only"})).await;
    let admin = app.as_admin().await;

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("sorting", "x")], "Invalid sort field 'x' for model Project"),
        (vec![("sorting", "name:DESC")], "Invalid sort field 'DESC' for model Project"),
        (vec![("sorting", "description:asc")], "Invalid sort field 'description' for model Project"),
        (vec![("sorting", "creator_user_id")], "Invalid sort field 'creator_user_id' for model Project"),
        (vec![("filter_key", "x"), ("value", "1")], "Invalid filter field 'x' for model Project"),
        (
            vec![("filter", "last_modification_time:isnull:true")],
            "Invalid filter field 'last_modification_time' for model Project",
        ),
        // The filter field is checked before the sort field.
        (vec![("filter_key", "x"), ("value", "1"), ("sorting", "y")], "Invalid filter field 'x' for model Project"),
        (vec![("filter", "name")], "Invalid filter 'name': expected field:op:value"),
        (vec![("filter", "id:eq:abc")], "Invalid value 'abc' for filter field 'id': expected an integer"),
        (
            vec![("filter_key", "id"), ("value", "abc")],
            "Invalid value 'abc' for filter field 'id': expected an integer",
        ),
        (
            vec![("filter", "archived:contains:t")],
            "Filter operator 'contains' only applies to text fields; 'archived' is boolean",
        ),
    ];
    for (params, expected) in cases {
        assert_eq!(detail(&admin, &params).await, (400, json!(expected)), "{params:?}");
    }
    for (name, value) in [("limit", "-1"), ("limit", "1001"), ("limit", "abc"), ("skip", "-1"), ("skip", "1.5")] {
        let response = admin.get("/projects/").query(name, &value).send().await;
        assert_validation(response, &["query", name]).await;
    }
    let page = list(&admin, "/projects/", &[("limit", "1000")]).await;
    assert_eq!(total(&page), 1);
}

/// `filter=name:eq:x` repeated `n` times, as a query string.
fn repeated_filters(n: usize) -> String {
    vec!["filter=name%3Aeq%3Ax"; n].join("&")
}

#[tokio::test]
async fn oversized_list_queries_are_refused_and_the_server_keeps_answering() {
    let app = app().await;
    let admin = app.as_admin().await;
    create_project(&admin, &json!({"name": "x"})).await;

    // ~900 conditions used to overflow a worker's stack (debug) and 1,000-2,000 to give SQLite's
    // 500 "Expression tree is too large". 4,000 is about what fits in the longest URI (64 KiB);
    // `kwik-server`'s own test sends 10,000 over a socket.
    let conditions = vec!["filter=id:eq:1"; 4000].join("&");
    for collection in ["/projects/", "/users/", "/roles/", "/permissions/", "/customers/"] {
        let response = admin.get(&format!("{collection}?{conditions}")).send().await;
        let (status, body) = crate::common::sent(response).await;
        assert_eq!(
            (status, &body["detail"]),
            (400, &json!("Too many filter conditions: 4000 (at most 32)")),
            "{collection}"
        );
    }
    let (status, body) = list_raw(&admin, "/projects/", &[("sorting", &["name"; 9].join(","))]).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Too many sort fields: 9 (at most 8)")));
    let many_values = vec!["1"; 600].join(",");
    let in_filter = format!("id:in:{many_values}");
    let (status, body) = list_raw(&admin, "/projects/", &[("filter", &in_filter), ("filter", &in_filter)]).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Too many values in 'in' filters: 1200 (at most 1000 in all)")));
    let (status, body) = list_raw(&admin, "/projects/", &[("cursor", &"A".repeat(9000))]).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Invalid cursor: longer than 8192 characters")));

    // At the bounds, the queries run (and match).
    let page = ok(admin.get(&format!("/projects/?{}", repeated_filters(32))).send().await).await;
    assert_eq!(total(&page), 1);
    let page = list(&admin, "/projects/", &[("filter", &format!("id:in:{}", vec!["1"; 1000].join(",")))]).await;
    assert!(total(&page) <= 1);
    // The server still answers.
    assert_eq!(total(&list(&admin, "/projects/", &[]).await), 1);
}

#[tokio::test]
async fn the_where_clause_stays_shallow_at_the_largest_configurable_bound() {
    // SQLite refuses expression trees deeper than 1000: 200 conditions of three comparisons each
    // (a `contains` is a LIKE and an exact check) chained would reach ~600 ANDs; balanced they
    // stay a few levels deep. Run on both databases.
    let app = TestApp::with_settings(&[("KWIK_LIST_MAX_FILTERS", "200")], kwik_server::app::build).await;
    let admin = app.as_admin().await;
    create_project(&admin, &json!({"name": "needle in a haystack"})).await;
    create_project(&admin, &json!({"name": "other"})).await;
    let conditions = vec!["filter=name%3Acontains%3Aneedle"; 200].join("&");
    let page = ok(admin.get(&format!("/projects/?{conditions}&sorting=name,id&cursor=")).send().await).await;
    assert_eq!(total(&page), 1, "{page}");
    let (status, body) =
        crate::common::sent(admin.get(&format!("/projects/?{}", repeated_filters(201))).send().await).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Too many filter conditions: 201 (at most 200)")));
}
