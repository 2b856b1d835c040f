//! One table per rule of CONTRACT §5 and of our extensions.

use rstest::rstest;
use sea_query::Value;
use serde_json::{Value as Json, json};

use kwik_listing::{FilterOp, Paginated, Predicate, SortDirection};

use super::{ITEMS, ROLES, USERS, fail, key, ok, spec};

fn sort_of(spec: &kwik_listing::ListSpec) -> Vec<(&'static str, &'static str)> {
    spec.sort().iter().map(|k| (k.field.name, k.direction.as_str())).collect()
}

fn order_of(spec: &kwik_listing::ListSpec) -> Vec<(&'static str, &'static str)> {
    spec.order_keys().iter().map(|k| (k.field.name, k.direction.as_str())).collect()
}

// ---------------------------------------------------------------- skip / limit

#[rstest]
#[case("", 0, 100)]
#[case("skip=20&limit=10", 20, 10)]
#[case("limit=0", 0, 0)]
#[case("limit=1000", 0, 1000)]
#[case("skip=%203%20&limit=+7", 3, 7)]
#[case("skip=5.00&limit=2.", 5, 2)]
#[case("skip=9223372036854775807", 9_223_372_036_854_775_807, 100)]
fn skip_and_limit(#[case] query: &str, #[case] skip: u64, #[case] limit: u64) {
    let spec = ok(&USERS, query);
    assert_eq!((spec.skip(), spec.limit()), (skip, limit));
}

fn issue(kind: &str, name: &str, msg: &str, input: &str, ctx: Option<Json>) -> Json {
    let mut issue = json!({"type": kind, "loc": ["query", name], "msg": msg, "input": input});
    if let Some(ctx) = ctx {
        issue["ctx"] = ctx;
    }
    issue
}

const INT_MSG: &str = "Input should be a valid integer, unable to parse string as an integer";
const GE_MSG: &str = "Input should be greater than or equal to 0";

#[rstest]
#[case("skip=abc", vec![issue("int_parsing", "skip", INT_MSG, "abc", None)])]
#[case("limit=1.5", vec![issue("int_parsing", "limit", INT_MSG, "1.5", None)])]
#[case("skip=", vec![issue("int_parsing", "skip", INT_MSG, "", None)])]
#[case("skip=-1", vec![issue("greater_than_equal", "skip", GE_MSG, "-1", Some(json!({"ge": 0})))])]
#[case("limit=-5", vec![issue("greater_than_equal", "limit", GE_MSG, "-5", Some(json!({"ge": 0})))])]
#[case(
    "limit=1001",
    vec![issue("less_than_equal", "limit", "Input should be less than or equal to 1000", "1001", Some(json!({"le": 1000})))]
)]
#[case(
    "skip=99999999999999999999999999999999999999999999",
    vec![issue(
        "less_than_equal",
        "skip",
        "Input should be less than or equal to 9223372036854775807",
        "99999999999999999999999999999999999999999999",
        Some(json!({"le": 9_223_372_036_854_775_807_u64})),
    )]
)]
#[case(
    "skip=x&limit=-1",
    vec![
        issue("int_parsing", "skip", INT_MSG, "x", None),
        issue("greater_than_equal", "limit", GE_MSG, "-1", Some(json!({"ge": 0}))),
    ]
)]
fn skip_and_limit_are_validated_with_fastapi_issues(#[case] query: &str, #[case] expected: Vec<Json>) {
    assert_eq!(fail(&USERS, query), (422, Json::Array(expected)));
}

#[test]
fn limit_maximum_comes_from_the_schema() {
    assert_eq!(ok(&ITEMS, "limit=50").limit(), 50);
    let (status, detail) = fail(&ITEMS, "limit=51");
    assert_eq!(status, 422);
    assert_eq!(detail[0]["ctx"], json!({"le": 50}));
}

#[test]
fn validation_comes_before_list_errors() {
    // FastAPI validates parameters before Kwik's handler looks at fields.
    let (status, _) = fail(&USERS, "skip=-1&sorting=nope&filter_key=nope&value=1&cursor=junk");
    assert_eq!(status, 422);
}

// ---------------------------------------------------------------- sorting

#[rstest]
#[case("sorting=name:desc,id", vec![("name", "desc"), ("id", "asc")])]
#[case("sorting=name", vec![("name", "asc")])]
#[case("sorting=email:asc", vec![("email", "asc")])]
#[case("sorting=%20name%20,%20email:desc%20", vec![("name", "asc"), ("email", "desc")])]
#[case("sorting=name:desc;email", vec![("name", "desc"), ("email", "asc")])]
#[case("sorting=name,name:desc", vec![("name", "asc")])]
#[case("sorting=;;", vec![])]
#[case("sorting=", vec![])]
#[case("", vec![])]
fn sorting_follows_kwiks_regex(#[case] query: &str, #[case] expected: Vec<(&str, &str)>) {
    assert_eq!(sort_of(&ok(&USERS, query)), expected);
}

#[rstest]
#[case("sorting=name:DESC", "DESC")]
#[case("sorting=name:ascending", "ending")]
#[case("sorting=name:desc:asc", "asc")]
#[case("sorting=hashed_password", "hashed_password")]
#[case("sorting=password", "password")]
#[case("sorting=id,n%C3%A4m%C3%A9", "nämé")]
#[case("sorting=name:des", "des")]
#[case("sorting=:desc", "desc")]
fn bad_sort_fields_are_400(#[case] query: &str, #[case] field: &str) {
    assert_eq!(fail(&USERS, query), (400, json!(format!("Invalid sort field '{field}' for model User"))));
}

#[test]
fn non_sortable_fields_can_still_be_filtered() {
    assert_eq!(fail(&ITEMS, "sorting=note"), (400, json!("Invalid sort field 'note' for model Item")));
    assert_eq!(ok(&ITEMS, "filter=note:eq:x").filters().len(), 1);
    assert_eq!(fail(&ITEMS, "filter=rank:eq:1"), (400, json!("Invalid filter field 'rank' for model Item")));
    assert_eq!(sort_of(&ok(&ITEMS, "sorting=rank:desc")), vec![("rank", "desc")]);
}

#[rstest]
#[case("", vec![("id", "asc")])]
#[case("sorting=;;", vec![("id", "asc")])]
#[case("sorting=name:desc", vec![("name", "desc")])]
#[case("sorting=name:desc&cursor=", vec![("name", "desc"), ("id", "asc")])]
#[case("cursor=", vec![("id", "asc")])]
#[case("sorting=id:desc,name&cursor=", vec![("id", "desc"), ("name", "asc")])]
fn order_adds_the_primary_key_only_for_cursor_pages(#[case] query: &str, #[case] expected: Vec<(&str, &str)>) {
    assert_eq!(order_of(&ok(&USERS, query)), expected);
}

// ---------------------------------------------------------------- filter_key + value

#[rstest]
#[case("filter_key=is_active&value=true", Predicate::Eq(Value::Bool(Some(true))))]
#[case("filter_key=is_active&value=No", Predicate::Eq(Value::Bool(Some(false))))]
#[case("filter_key=is_active&value=1", Predicate::Eq(Value::Bool(Some(true))))]
#[case("filter_key=id&value=5", Predicate::Eq(Value::BigInt(Some(5))))]
#[case("filter_key=name&value=", Predicate::Eq(Value::String(Some(String::new()))))]
#[case("filter_key=name&value=a+b", Predicate::Eq(Value::String(Some("a b".into()))))]
fn equality_filter(#[case] query: &str, #[case] expected: Predicate) {
    let spec = ok(&USERS, query);
    assert_eq!(spec.filters().len(), 1);
    assert_eq!(spec.filters()[0].predicate, expected);
}

#[rstest]
#[case("filter_key=name")]
#[case("value=x")]
#[case("filter_key=nope")]
fn equality_filter_needs_both_parameters(#[case] query: &str) {
    assert!(ok(&USERS, query).filters().is_empty());
}

#[rstest]
#[case(&ROLES, "filter_key=surname&value=x", "Invalid filter field 'surname' for model Role")]
#[case(&USERS, "filter_key=&value=x", "Invalid filter field '' for model User")]
#[case(&USERS, "filter_key=hashed_password&value=x", "Invalid filter field 'hashed_password' for model User")]
#[case(&USERS, "filter_key=id&value=abc", "Invalid value 'abc' for filter field 'id': expected an integer")]
#[case(
    &USERS,
    "filter_key=is_active&value=maybe",
    "Invalid value 'maybe' for filter field 'is_active': expected a boolean (true/false/1/0/yes/no)"
)]
#[case(&USERS, "filter_key=nope&value=1&sorting=bad", "Invalid filter field 'nope' for model User")]
#[case(&USERS, "filter_key=id&value=x&sorting=bad", "Invalid value 'x' for filter field 'id': expected an integer")]
fn equality_filter_errors(
    #[case] schema: &'static kwik_listing::ListSchema,
    #[case] query: &str,
    #[case] detail: &str,
) {
    assert_eq!(fail(schema, query), (400, json!(detail)));
}

// ---------------------------------------------------------------- filter=field:op:value

fn s(text: &str) -> Value {
    Value::String(Some(text.to_owned()))
}

#[rstest]
#[case("id:eq:5", Predicate::Eq(Value::BigInt(Some(5))))]
#[case("id:ne:-5", Predicate::Ne(Value::BigInt(Some(-5))))]
#[case("id:lt:5", Predicate::Lt(Value::BigInt(Some(5))))]
#[case("id:lte:5", Predicate::Lte(Value::BigInt(Some(5))))]
#[case("id:gt:5", Predicate::Gt(Value::BigInt(Some(5))))]
#[case("id:gte:5", Predicate::Gte(Value::BigInt(Some(5))))]
#[case("id:in:1,2,3", Predicate::In(vec![Value::BigInt(Some(1)), Value::BigInt(Some(2)), Value::BigInt(Some(3))]))]
#[case("title:in:a,,b", Predicate::In(vec![s("a"), s(""), s("b")]))]
#[case("title:eq:a:b:c", Predicate::Eq(s("a:b:c")))]
#[case("title:contains:50%_off", Predicate::Contains("50%_off".into()))]
#[case("title:icontains:Bob", Predicate::IContains("Bob".into()))]
#[case("title:startswith:", Predicate::StartsWith(String::new()))]
#[case("nickname:isnull:true", Predicate::IsNull(true))]
#[case("nickname:isnull:FALSE", Predicate::IsNull(false))]
#[case("price:gte:10.50", Predicate::Gte(s("10.50")))]
#[case("score:lt:2.5", Predicate::Lt(Value::Double(Some(2.5))))]
#[case("active:eq:yes", Predicate::Eq(Value::Bool(Some(true))))]
#[case(
    "created:gte:2024-05-01T12:00:00Z",
    Predicate::Gte(Value::ChronoDateTimeUtc(Some("2024-05-01T12:00:00Z".parse().unwrap())))
)]
#[case(
    "created:lt:2024-05-01",
    Predicate::Lt(Value::ChronoDateTimeUtc(Some("2024-05-01T00:00:00Z".parse().unwrap())))
)]
#[case(
    "ref:eq:67e55044-10b1-426f-9247-bb680e5fe0c8",
    Predicate::Eq(Value::Uuid(Some("67e55044-10b1-426f-9247-bb680e5fe0c8".parse().unwrap())))
)]
fn filter_operators(#[case] filter: &str, #[case] expected: Predicate) {
    let raw = kwik_listing::RawListQuery { filter: vec![filter.to_owned()], ..Default::default() };
    let spec = kwik_listing::parse(&raw, &ITEMS, &key()).unwrap();
    assert_eq!(spec.filters()[0].predicate, expected);
}

#[rstest]
#[case("id", "Invalid filter 'id': expected field:op:value")]
#[case("id:eq", "Invalid filter 'id:eq': expected field:op:value")]
#[case("nope:eq:1", "Invalid filter field 'nope' for model Item")]
#[case("rank:eq:1", "Invalid filter field 'rank' for model Item")]
#[case(
    "id:like:1",
    "Invalid filter operator 'like' for field 'id'; expected one of eq, ne, lt, lte, gt, gte, in, contains, icontains, startswith, isnull"
)]
#[case(
    "id:EQ:1",
    "Invalid filter operator 'EQ' for field 'id'; expected one of eq, ne, lt, lte, gt, gte, in, contains, icontains, startswith, isnull"
)]
#[case("id:eq:abc", "Invalid value 'abc' for filter field 'id': expected an integer")]
#[case("id:in:1,x", "Invalid value 'x' for filter field 'id': expected an integer")]
#[case("id:in:", "Invalid value '' for filter field 'id': expected an integer")]
#[case("id:contains:1", "Filter operator 'contains' only applies to text fields; 'id' is integer")]
#[case("price:startswith:1", "Filter operator 'startswith' only applies to text fields; 'price' is decimal")]
#[case("active:icontains:t", "Filter operator 'icontains' only applies to text fields; 'active' is boolean")]
#[case("price:eq:1,5", "Invalid value '1,5' for filter field 'price': expected a decimal number such as 12.50")]
#[case("score:eq:NaN", "Invalid value 'NaN' for filter field 'score': expected a finite number")]
#[case(
    "created:gt:soon",
    "Invalid value 'soon' for filter field 'created': expected an RFC 3339 date-time such as 2024-05-01T12:00:00Z"
)]
#[case("ref:eq:42", "Invalid value '42' for filter field 'ref': expected a UUID")]
#[case("nickname:isnull:maybe", "Invalid value 'maybe' for filter 'nickname:isnull': expected true or false")]
fn filter_errors(#[case] filter: &str, #[case] detail: &str) {
    let query = format!("filter={}", filter.replace('%', "%25"));
    assert_eq!(fail(&ITEMS, &query), (400, json!(detail)));
}

#[test]
fn long_values_are_cut_in_messages() {
    let long = "x".repeat(500);
    let (_, detail) = fail(&ITEMS, &format!("filter=id:eq:{long}"));
    let text = detail.as_str().unwrap();
    assert!(text.len() < 200, "{text}");
    assert!(text.contains('…'));
}

#[test]
fn in_lists_are_bounded() {
    let many = vec!["1"; kwik_listing::MAX_IN_VALUES + 1].join(",");
    let (status, detail) = fail(&ITEMS, &format!("filter=id:in:{many}"));
    assert_eq!(status, 400);
    assert_eq!(detail, json!("Too many values in 'in' filters: 1001 (at most 1000 in all)"));
    let enough = vec!["1"; kwik_listing::MAX_IN_VALUES].join(",");
    assert_eq!(ok(&ITEMS, &format!("filter=id:in:{enough}")).filters().len(), 1);
    // The bound is over all `in` filters together.
    let half = vec!["1"; 501].join(",");
    let (status, detail) = fail(&ITEMS, &format!("filter=id:in:{half}&filter=id:in:{half}"));
    assert_eq!((status, detail), (400, json!("Too many values in 'in' filters: 1002 (at most 1000 in all)")));
}

#[test]
fn conditions_sort_fields_and_cursors_are_bounded_before_parsing() {
    let conditions = vec!["filter=nope:bad:x"; 33].join("&");
    // Refused for their number, before the (invalid) field is even looked at.
    assert_eq!(fail(&ITEMS, &conditions), (400, json!("Too many filter conditions: 33 (at most 32)")));
    let conditions = vec!["filter=id:eq:1"; 31].join("&");
    assert_eq!(
        fail(&ITEMS, &format!("{conditions}&filter=id:eq:1&filter_key=id&value=1")),
        (400, json!("Too many filter conditions: 33 (at most 32)"))
    );
    assert_eq!(ok(&ITEMS, &format!("{conditions}&filter_key=id&value=1")).filters().len(), 32);
    assert_eq!(fail(&ITEMS, "sorting=id,id,id,id,id,id,id,id,id"), (400, json!("Too many sort fields: 9 (at most 8)")));
    assert_eq!(ok(&ITEMS, "sorting=id,id,id,id,id,id,id,id").sort().len(), 1);
    let long = "A".repeat(8193);
    assert_eq!(fail(&ITEMS, &format!("cursor={long}")), (400, json!("Invalid cursor: longer than 8192 characters")));
}

#[test]
fn limits_are_configurable() {
    let key = kwik_listing::CursorKey::new("k");
    let limits =
        kwik_listing::ListLimits { max_filters: 2, max_sort_fields: 1, max_in_values: 3, ..Default::default() };
    let parse = |q: &str| {
        kwik_listing::parse_with_limits(&kwik_listing::RawListQuery::from_query_string(q), &ITEMS, &key, &limits)
    };
    assert!(parse("filter=id:eq:1&filter=id:eq:2").is_ok());
    assert_eq!(
        parse("filter=id:eq:1&filter=id:eq:2&filter=id:eq:3").err().map(|e| e.to_string()).as_deref(),
        Some("Too many filter conditions: 3 (at most 2)")
    );
    assert_eq!(
        parse("sorting=id,title").err().map(|e| e.to_string()).as_deref(),
        Some("Too many sort fields: 2 (at most 1)")
    );
    assert_eq!(
        parse("filter=id:in:1,2,3,4").err().map(|e| e.to_string()).as_deref(),
        Some("Too many values in 'in' filters: 4 (at most 3 in all)")
    );
}

#[test]
fn filters_combine_with_the_equality_filter_first() {
    let spec = ok(&ITEMS, "filter=id:gt:1&filter_key=active&value=true&filter=title:contains:a");
    let ops: Vec<(&str, &Predicate)> = spec.filters().iter().map(|f| (f.field.name, &f.predicate)).collect();
    assert_eq!(
        ops,
        vec![
            ("active", &Predicate::Eq(Value::Bool(Some(true)))),
            ("id", &Predicate::Gt(Value::BigInt(Some(1)))),
            ("title", &Predicate::Contains("a".into())),
        ]
    );
}

#[test]
fn filter_errors_come_before_sort_errors() {
    assert_eq!(fail(&ITEMS, "sorting=bad&filter=bad:eq:1"), (400, json!("Invalid filter field 'bad' for model Item")));
}

#[test]
fn operator_names_round_trip() {
    for op in FilterOp::ALL {
        assert_eq!(FilterOp::from_name(op.as_str()), Some(op));
    }
    assert_eq!(FilterOp::from_name("Eq"), None);
}

// ---------------------------------------------------------------- cursors

fn user_row(id: i64, name: &str) -> Json {
    json!({"id": id, "name": name, "surname": "s", "email": "e@x", "is_active": true})
}

#[test]
fn empty_cursor_starts_cursor_pagination() {
    let spec = ok(&USERS, "cursor=&sorting=name");
    assert!(spec.is_cursor());
    assert_eq!(spec.skip(), 0);
    assert_eq!(spec.cursor_fields(), vec!["name", "id"]);
    assert!(!ok(&USERS, "sorting=name").is_cursor());
}

#[rstest]
#[case("skip=5&cursor=", "The skip parameter cannot be combined with a cursor")]
#[case("cursor=abc", "Invalid cursor")]
#[case("cursor=%00%01", "Invalid cursor")]
#[case("cursor=eyJ2IjoxLCJzIjoiaWQ6YXNjIiwiayI6WzFdfQ", "Invalid cursor")]
fn bad_cursors(#[case] query: &str, #[case] detail: &str) {
    assert_eq!(fail(&USERS, query), (400, json!(detail)));
}

#[test]
fn skip_zero_is_tolerated_with_a_cursor() {
    assert!(ok(&USERS, "skip=0&cursor=").is_cursor());
}

#[test]
fn cursor_round_trip_and_misuse() {
    let first = ok(&USERS, "sorting=name:desc&cursor=&limit=2");
    let token = first.next_cursor(&user_row(7, "bob")).unwrap();
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let next = ok(&USERS, &format!("sorting=name:desc&limit=2&cursor={token}"));
    assert!(next.is_cursor());
    // The same cursor with the sorting spelled differently but meaning the same is fine.
    ok(&USERS, &format!("sorting=name:desc,name&cursor={token}"));

    assert_eq!(
        fail(&USERS, &format!("sorting=name&cursor={token}")),
        (400, json!("Invalid cursor: it was issued for sorting 'name:desc,id:asc', not 'name:asc,id:asc'"))
    );
    assert_eq!(fail(&USERS, &format!("cursor={token}")).0, 400);
    // Another resource with the same key and the same field names refuses it.
    assert_eq!(fail(&ROLES, &format!("sorting=name:desc&cursor={token}")), (400, json!("Invalid cursor")));
    // Another key refuses it.
    let raw = kwik_listing::RawListQuery::from_query_string(&format!("sorting=name:desc&cursor={token}"));
    let err = kwik_listing::parse(&raw, &USERS, &kwik_listing::CursorKey::new("other")).unwrap_err();
    assert_eq!(err.to_string(), "Invalid cursor");
    // Tampering is caught.
    let mut chars: Vec<char> = token.chars().collect();
    chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    assert_eq!(fail(&USERS, &format!("sorting=name:desc&cursor={forged}")), (400, json!("Invalid cursor")));
    // skip with a real cursor.
    assert_eq!(fail(&USERS, &format!("sorting=name:desc&skip=1&cursor={token}")).0, 400);
}

#[test]
fn cursor_from_an_offset_page_works_for_default_order() {
    let offset = ok(&USERS, "limit=2");
    let token = offset.next_cursor(&user_row(2, "x")).unwrap();
    assert!(ok(&USERS, &format!("cursor={token}")).is_cursor());
}

#[test]
fn next_cursor_needs_the_sort_fields_of_the_row() {
    let spec = ok(&USERS, "sorting=email&cursor=");
    let err = spec.next_cursor(&json!({"id": 1})).unwrap_err();
    assert_eq!(err.status(), 500);
    assert!(err.to_string().contains("no field 'email'"), "{err}");

    let err = spec.next_cursor(&json!({"id": null, "email": "a"})).unwrap_err();
    assert_eq!(err.status(), 500);
    let err = spec.next_cursor(&json!({"id": "x", "email": "a"})).unwrap_err();
    assert_eq!(err.status(), 500);
    // A null sort value (nullable column) is fine.
    assert!(spec.next_cursor(&json!({"id": 1, "email": null})).is_ok());
}

#[test]
fn cursor_values_of_every_type_round_trip() {
    let spec = ok(&ITEMS, "sorting=price:desc,score,active,created:desc,ref,title,nickname&cursor=");
    let row = json!({
        "id": 3, "price": "12.50", "score": 0.5, "active": false, "created": "2024-05-01T12:00:00.123Z",
        "ref": "67e55044-10b1-426f-9247-bb680e5fe0c8", "title": "t", "nickname": null
    });
    let token = spec.next_cursor(&row).unwrap();
    let next = ok(&ITEMS, &format!("sorting=price:desc,score,active,created:desc,ref,title,nickname&cursor={token}"));
    assert!(next.is_cursor());
}

// ---------------------------------------------------------------- Paginated

#[derive(Debug, Clone, PartialEq, poem_openapi::Object, serde::Serialize)]
struct User {
    id: i64,
    name: String,
}

fn users(n: i64) -> Vec<User> {
    (1..=n).map(|id| User { id, name: format!("u{id}") }).collect()
}

#[rstest]
#[case("cursor=&limit=3", 3, true)]
#[case("cursor=&limit=3", 2, false)]
#[case("cursor=&limit=0", 0, false)]
#[case("limit=3", 3, false)]
fn paginate_adds_a_cursor_to_full_cursor_pages(#[case] query: &str, #[case] rows: i64, #[case] has_cursor: bool) {
    let page = ok(&USERS, query).paginate(10, users(rows)).unwrap();
    assert_eq!(page.total, 10);
    assert_eq!(page.next_cursor.is_some(), has_cursor);
    let body = serde_json::to_value(&page).unwrap();
    assert_eq!(body.get("next_cursor").is_some(), has_cursor, "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(usize::try_from(rows).unwrap()));
}

#[test]
fn paginated_is_kwiks_shape() {
    let page = Paginated::new(1, users(1));
    assert_eq!(serde_json::to_value(&page).unwrap(), json!({"total": 1, "data": [{"id": 1, "name": "u1"}]}));
    let json = poem_openapi::types::ToJSON::to_json(&page).unwrap();
    assert_eq!(json, json!({"total": 1, "data": [{"id": 1, "name": "u1"}]}));
    let with_cursor = Paginated { next_cursor: Some("c".into()), ..page };
    assert_eq!(poem_openapi::types::ToJSON::to_json(&with_cursor).unwrap()["next_cursor"], json!("c"));
}

#[test]
fn paginated_schema_name_is_generic() {
    use poem_openapi::types::Type;
    assert_eq!(<Paginated<User> as Type>::name(), "Paginated_User");
}

#[test]
fn sort_direction_names() {
    assert_eq!(SortDirection::Asc.as_str(), "asc");
    assert_eq!(SortDirection::Desc.as_str(), "desc");
    let _ = spec(&USERS, "");
}

#[test]
fn a_filter_key_without_value_is_no_condition_for_the_bound() {
    let key = kwik_listing::CursorKey::new("k");
    let limits = kwik_listing::ListLimits { max_filters: 1, ..Default::default() };
    let parse = |q: &str| {
        kwik_listing::parse_with_limits(&kwik_listing::RawListQuery::from_query_string(q), &ITEMS, &key, &limits)
    };
    // `filter_key` alone (or `value` alone) filters nothing, so it does not count.
    assert_eq!(parse("filter=id:eq:1&filter_key=id").map(|s| s.filters().len()).ok(), Some(1));
    assert_eq!(parse("filter=id:eq:1&value=1").map(|s| s.filters().len()).ok(), Some(1));
    assert_eq!(
        parse("filter=id:eq:1&filter_key=id&value=1").err().map(|e| e.to_string()).as_deref(),
        Some("Too many filter conditions: 2 (at most 1)")
    );
}

#[test]
fn a_cursor_of_exactly_the_longest_length_is_decoded() {
    // 8192 characters pass the length bound and fail as a cursor (they are no signed token).
    let longest = "A".repeat(8192);
    assert_eq!(fail(&ITEMS, &format!("cursor={longest}")), (400, json!("Invalid cursor")));
}

#[test]
fn values_up_to_64_characters_are_echoed_whole() {
    let longest = "x".repeat(64);
    assert_eq!(
        fail(&ITEMS, &format!("filter=id:eq:{longest}")),
        (400, json!(format!("Invalid value '{longest}' for filter field 'id': expected an integer")))
    );
    assert_eq!(
        fail(&ITEMS, &format!("filter=id:eq:{longest}y")),
        (400, json!(format!("Invalid value '{longest}…' for filter field 'id': expected an integer")))
    );
}
