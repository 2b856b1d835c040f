//! Customers' exact decimal `credit_limit`: default, exact round-trip, numeric sorting, filters
//! and cursors, identical on SQLite (stored as TEXT) and PostgreSQL (NUMERIC).

use std::str::FromStr;

use kwik_testing::{TestApp, assert_detail, assert_validation};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{app, create_customer, id, ids, list, list_raw, ok, sent, walk_cursor};

/// The credit limit of a customer, as the number it denotes.
fn limit_of(customer: &Value) -> Decimal {
    let text = customer["credit_limit"].as_str().unwrap_or_else(|| panic!("credit_limit is not a string: {customer}"));
    Decimal::from_str(text).unwrap_or_else(|e| panic!("credit_limit {text:?} is not a decimal: {e}"))
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[tokio::test]
async fn credit_limit_defaults_to_5000() {
    let app = app().await;
    let admin = app.as_admin().await;
    let customer = create_customer(&admin, &json!({"name": "Default", "email": "default@example.com"})).await;
    assert_eq!(customer["credit_limit"], "5000");
    let fetched = ok(admin.get(&format!("/customers/{}", id(&customer))).send().await).await;
    assert_eq!(fetched["credit_limit"], "5000");
    let page = list(&app.as_admin().await, "/customers/", &[("filter", "credit_limit:eq:5000")]).await;
    assert_eq!(ids(&page), [id(&customer)]);
    // An explicit value wins over the default; `null` is not a value.
    let explicit =
        create_customer(&admin, &json!({"name": "Explicit", "email": "explicit@example.com", "credit_limit": "0"}))
            .await;
    assert_eq!(explicit["credit_limit"], "0");
    let response = admin
        .post("/customers/")
        .body_json(&json!({"name": "Null", "email": "null@example.com", "credit_limit": null}))
        .send()
        .await;
    assert_validation(response, &["body", "credit_limit"]).await;
}

#[tokio::test]
async fn credit_limit_round_trips_exactly() {
    let app = app().await;
    let admin = app.as_admin().await;
    let cases = [
        (json!("12.10"), "12.1"),
        (json!("0.01"), "0.01"),
        (json!("99999999999.99"), "99999999999.99"),
        (json!("1234567890123456.78"), "1234567890123456.78"),
        (json!("100.500"), "100.5"),
        (json!("7"), "7"),
        (json!("-3.25"), "-3.25"),
        (json!(12.5), "12.5"),
        (json!(42), "42"),
    ];
    let mut created = Vec::new();
    for (n, (sent, expected)) in cases.iter().enumerate() {
        let body = json!({"name": "Exact", "email": format!("exact{n}@example.com"), "credit_limit": sent});
        let customer = create_customer(&admin, &body).await;
        assert_eq!(customer["credit_limit"], *expected, "create with {sent}");
        let fetched = ok(admin.get(&format!("/customers/{}", id(&customer))).send().await).await;
        assert_eq!(fetched["credit_limit"], *expected, "read back {sent}");
        assert_eq!(limit_of(&fetched), dec(expected));
        created.push(id(&customer));
    }
    let page = list(&admin, "/customers/", &[]).await;
    let listed: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|c| c["credit_limit"].as_str().unwrap()).collect();
    let expected: Vec<&str> = cases.iter().map(|(_, e)| *e).collect();
    assert_eq!(listed, expected, "listed as stored");

    // Updates are exact too, and a change of credit limit keeps the other fields.
    let path = format!("/customers/{}", created[0]);
    let updated = ok(admin.put(&path).body_json(&json!({"credit_limit": "0.10"})).send().await).await;
    assert_eq!((&updated["credit_limit"], &updated["email"]), (&json!("0.1"), &json!("exact0@example.com")));
    let updated = ok(admin.put(&path).body_json(&json!({"credit_limit": 2.75})).send().await).await;
    assert_eq!(updated["credit_limit"], "2.75");
    assert_eq!(ok(admin.get(&path).send().await).await["credit_limit"], "2.75");
}

/// Customers with credit limits chosen so that text order and numeric order differ.
const LIMITS: [&str; 10] = ["9", "10", "100.5", "12.10", "0.01", "99999999999.99", "12.5", "1000", "9.99", "2"];

/// Creates one customer per entry of [`LIMITS`] (in that order) and returns `(id, limit)`.
async fn customers_with_limits(app: &TestApp) -> Vec<(i64, Decimal)> {
    let admin = app.as_admin().await;
    let mut rows = Vec::new();
    for (n, limit) in LIMITS.iter().enumerate() {
        let body =
            json!({"name": format!("Customer {n}"), "email": format!("c{n}@example.com"), "credit_limit": limit});
        let customer = create_customer(&admin, &body).await;
        rows.push((id(&customer), limit_of(&customer)));
    }
    rows
}

fn ids_where(rows: &[(i64, Decimal)], keep: impl Fn(Decimal) -> bool) -> Vec<i64> {
    rows.iter().filter(|(_, limit)| keep(*limit)).map(|(id, _)| *id).collect()
}

#[tokio::test]
async fn credit_limit_sorts_numerically() {
    let app = app().await;
    let rows = customers_with_limits(&app).await;
    let admin = app.as_admin().await;

    let mut ascending = rows.clone();
    ascending.sort_by_key(|(_, limit)| *limit);
    let expected: Vec<i64> = ascending.iter().map(|(id, _)| *id).collect();
    let page = list(&admin, "/customers/", &[("sorting", "credit_limit")]).await;
    assert_eq!(ids(&page), expected, "{page}");
    let shown: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|c| c["credit_limit"].as_str().unwrap()).collect();
    assert_eq!(shown, ["0.01", "2", "9", "9.99", "10", "12.1", "12.5", "100.5", "1000", "99999999999.99"]);

    let page = list(&admin, "/customers/", &[("sorting", "credit_limit:desc")]).await;
    let descending: Vec<i64> = expected.iter().rev().copied().collect();
    assert_eq!(ids(&page), descending);

    // Offset pages over the numeric order.
    let page = list(&admin, "/customers/", &[("sorting", "credit_limit:asc"), ("skip", "3"), ("limit", "4")]).await;
    assert_eq!(ids(&page), expected[3..7]);
}

#[tokio::test]
async fn credit_limit_filters_compare_numerically() {
    let app = app().await;
    let rows = customers_with_limits(&app).await;
    let admin = app.as_admin().await;
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("credit_limit:gte:10", ids_where(&rows, |l| l >= dec("10"))),
        ("credit_limit:lt:10", ids_where(&rows, |l| l < dec("10"))),
        ("credit_limit:gt:9.99", ids_where(&rows, |l| l > dec("9.99"))),
        ("credit_limit:lte:9.99", ids_where(&rows, |l| l <= dec("9.99"))),
        ("credit_limit:eq:12.10", ids_where(&rows, |l| l == dec("12.1"))),
        ("credit_limit:eq:12.1", ids_where(&rows, |l| l == dec("12.1"))),
        ("credit_limit:eq:12.100", ids_where(&rows, |l| l == dec("12.1"))),
        ("credit_limit:ne:12.1", ids_where(&rows, |l| l != dec("12.1"))),
        (
            "credit_limit:in:9,10,1e3,0.010",
            ids_where(&rows, |l| [dec("9"), dec("10"), dec("1000"), dec("0.01")].contains(&l)),
        ),
        ("credit_limit:gte:99999999999.99", ids_where(&rows, |l| l >= dec("99999999999.99"))),
        ("credit_limit:isnull:false", ids_where(&rows, |_| true)),
    ];
    for (filter, expected) in cases {
        assert!(!expected.is_empty() || filter.contains("isnull"), "{filter}: the data should match something");
        let page = list(&admin, "/customers/", &[("filter", filter)]).await;
        assert_eq!(ids(&page), expected, "{filter}: {page}");
        assert_eq!(page["total"], expected.len(), "{filter}");
    }
    // Two conditions on the same field: a numeric range.
    let page =
        list(&admin, "/customers/", &[("filter", "credit_limit:gt:2"), ("filter", "credit_limit:lt:100.5")]).await;
    assert_eq!(ids(&page), ids_where(&rows, |l| l > dec("2") && l < dec("100.5")));
    // Kwik's filter_key/value is numeric equality too.
    let page = list(&admin, "/customers/", &[("filter_key", "credit_limit"), ("value", "9.990")]).await;
    assert_eq!(ids(&page), ids_where(&rows, |l| l == dec("9.99")));

    let (status, body) = list_raw(&admin, "/customers/", &[("filter", "credit_limit:eq:abc")]).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Invalid value 'abc' for filter field 'credit_limit': expected a decimal number such as 12.50"))
    );
    let (status, body) = list_raw(&admin, "/customers/", &[("filter", "credit_limit:contains:1")]).await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Filter operator 'contains' only applies to text fields; 'credit_limit' is decimal"))
    );
}

#[tokio::test]
async fn credit_limit_cursor_pages_follow_the_numeric_order() {
    let app = app().await;
    let mut rows = customers_with_limits(&app).await;
    // A tie, so that the primary-key tiebreak matters.
    let admin = app.as_admin().await;
    let tie =
        create_customer(&admin, &json!({"name": "Tie", "email": "tie@example.com", "credit_limit": "12.1"})).await;
    rows.push((id(&tie), limit_of(&tie)));

    let mut ascending = rows.clone();
    ascending.sort_by_key(|(id, limit)| (*limit, *id));
    let expected: Vec<i64> = ascending.iter().map(|(id, _)| *id).collect();
    for limit in [1, 3, 11] {
        let walked = walk_cursor(&admin, "/customers/", &[("sorting", "credit_limit")], limit).await;
        assert_eq!(walked, expected, "limit {limit}");
    }
    let mut descending = rows.clone();
    descending.sort_by_key(|(id, limit)| (std::cmp::Reverse(*limit), *id));
    let expected: Vec<i64> = descending.iter().map(|(id, _)| *id).collect();
    let walked = walk_cursor(&admin, "/customers/", &[("sorting", "credit_limit:desc")], 2).await;
    assert_eq!(walked, expected);
    // With a filter, over the matching rows only.
    let walked =
        walk_cursor(&admin, "/customers/", &[("sorting", "credit_limit:desc"), ("filter", "credit_limit:lt:100")], 2)
            .await;
    let filtered: Vec<i64> = descending.iter().filter(|(_, limit)| *limit < dec("100")).map(|(id, _)| *id).collect();
    assert_eq!(walked, filtered);
}

#[tokio::test]
async fn customer_seed_is_idempotent_and_exact() {
    let app = app().await;
    kwik_server::seed::customers(app.state()).await.expect("seed");
    kwik_server::seed::customers(app.state()).await.expect("seed again");
    let admin = app.as_admin().await;
    let rows = kwik_server::seed::SEED_ROWS;
    let page = list(&admin, "/customers/", &[("sorting", "credit_limit:desc"), ("limit", "1")]).await;
    assert_eq!(page["total"], rows);
    // The largest seeded limit is 1000 + 8999 ... with the largest cents among those: computed the
    // same way as the seed.
    let largest = (1..=rows).map(|i| dec(&format!("{}.{:02}", 1000 + (i * 37) % 9000, i % 100))).max().unwrap();
    assert_eq!(limit_of(&page["data"][0]), largest);
    let unknown = admin.get("/customers/99999").send().await;
    assert_detail(unknown, 404, "Entity [customers] with id=99999 does not exist").await;
}

/// POSTs a raw JSON body (so numbers keep their exact text: `json!` would go through `f64`).
async fn post_raw(client: &kwik_testing::TestClient<'_>, body: String) -> poem::test::TestResponse {
    client.post("/customers/").content_type("application/json").body(body).send().await
}

#[tokio::test]
async fn credit_limit_json_numbers_are_never_rounded() {
    let app = app().await;
    let admin = app.as_admin().await;
    // (JSON text of the value, what the API shows)
    let cases = [
        ("12345678901234567.89", "12345678901234567.89"),
        ("1234567890123456789012345678", "1234567890123456789012345678"),
        ("1.234567890123456789012345678", "1.234567890123456789012345678"),
        ("-987654321098765432.0987654321", "-987654321098765432.0987654321"),
        ("-0.0000000000000000000000000001", "-0.0000000000000000000000000001"),
        ("0.1", "0.1"),
        ("1e3", "1000"),
        ("2.5E-3", "0.0025"),
        ("-1.5e+2", "-150"),
        (r#""12345678901234567.89""#, "12345678901234567.89"),
        (r#""1e3""#, "1000"),
    ];
    for (n, (text, shown)) in cases.iter().enumerate() {
        let body = format!(r#"{{"name": "Exact", "email": "exact{n}@example.com", "credit_limit": {text}}}"#);
        let created = ok(post_raw(&admin, body).await).await;
        assert_eq!(created["credit_limit"], *shown, "create with {text}");
        let fetched = ok(admin.get(&format!("/customers/{}", id(&created))).send().await).await;
        assert_eq!(fetched["credit_limit"], *shown, "read back {text}");
        let updated = ok(admin
            .put(&format!("/customers/{}", id(&created)))
            .content_type("application/json")
            .body(format!(r#"{{"credit_limit": {text}}}"#))
            .send()
            .await)
        .await;
        assert_eq!(updated["credit_limit"], *shown, "update with {text}");
    }
    let page = list(&admin, "/customers/", &[]).await;
    let listed: Vec<&str> =
        page["data"].as_array().unwrap().iter().map(|c| c["credit_limit"].as_str().unwrap()).collect();
    let expected: Vec<&str> = cases.iter().map(|(_, shown)| *shown).collect();
    assert_eq!(listed, expected, "listed as stored");

    // Values a decimal cannot hold exactly are refused at the field, never rounded.
    let too_long = format!("1.{}", "1".repeat(300));
    let refused = [
        "0.12345678901234567890123456789",
        "123456789012345678901234567890",
        "1e40",
        "1e-29",
        too_long.as_str(),
        r#""0.12345678901234567890123456789""#,
        r#""1e999999999999""#,
        r#""abc""#,
        "true",
    ];
    for text in refused {
        let body = format!(r#"{{"name": "Rounded", "email": "rounded@example.com", "credit_limit": {text}}}"#);
        assert_validation(post_raw(&admin, body).await, &["body", "credit_limit"]).await;
    }
    let page = list(&admin, "/customers/", &[("filter", "email:eq:rounded@example.com")]).await;
    assert_eq!(page["total"], 0, "nothing stored: {page}");
}

/// Customers' emails follow the users' rule (one validator for both): trimmed, the domain
/// lower-cased and the local part kept, on create and update; so the same address differing in
/// the domain's case is a duplicate, and an address without a dot in the domain is refused.
#[tokio::test]
async fn customer_emails_are_normalised_like_users_emails() {
    let app = app().await;
    let admin = app.as_admin().await;
    let created = create_customer(&admin, &json!({"name": "Ada", "email": "  Ada@EXAMPLE.Com "})).await;
    assert_eq!(created["email"], "Ada@example.com");
    let (status, body) =
        sent(admin.post("/customers/").body_json(&json!({"name": "Twin", "email": "Ada@example.COM"})).send().await)
            .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("duplicated_entity")), "{body}");
    let other = create_customer(&admin, &json!({"name": "ada", "email": "ada@example.com"})).await;
    assert_ne!(other["id"], created["id"], "the local part keeps its case");
    let path = format!("/customers/{}", created["id"]);
    let updated = ok(admin.put(&path).body_json(&json!({"email": "Lovelace@Example.ORG"})).send().await).await;
    assert_eq!(updated["email"], "Lovelace@example.org");
    let response =
        admin.post("/customers/").body_json(&json!({"name": "Local", "email": "root@localhost"})).send().await;
    kwik_testing::assert_validation(response, &["body", "email"]).await;
}
