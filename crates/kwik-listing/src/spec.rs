//! Parsing a [`RawListQuery`] against a [`ListSchema`] into a validated [`ListSpec`].

use serde_json::json;

use kwik_core::{Error, Result, ValidationIssue};
use sea_query::Value;

use crate::cursor::{self, CursorKey};
use crate::raw::RawListQuery;
use crate::schema::{FieldSpec, FieldType, ListSchema};
use crate::value::{KeyValue, key_from_json, key_to_json, parse_bool, parse_typed};

/// The default page size (Kwik's).
pub const DEFAULT_LIMIT: u64 = 100;
/// The default of [`ListLimits::max_in_values`].
pub const MAX_IN_VALUES: usize = 1000;

/// What one list request may ask for, beyond Kwik (which bounds nothing). Every bound keeps a
/// request's cost, memory and SQL size proportional to a small constant, whatever the client sends:
/// the conditions are ANDed into the WHERE clause and SQLite refuses expression trees deeper than
/// 1000, so an unbounded list of conditions would otherwise become a 500. Exceeding a bound is a 400
/// naming it.
///
/// The HTTP layer fills this from the `KWIK_LIST_*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// The largest `limit` (422 `less_than_equal` above it). Default 1000.
    pub max_limit: u64,
    /// The most conditions: `filter` parameters plus the `filter_key`/`value` pair. Default 32.
    pub max_filters: usize,
    /// The most fields `sorting` may list, counted before repeated fields are merged. Default 8.
    pub max_sort_fields: usize,
    /// The most values all `in` filters of one request may list together. Default 1000.
    pub max_in_values: usize,
    /// The longest `cursor`, in bytes. Default 8192.
    pub max_cursor_len: usize,
}

impl Default for ListLimits {
    fn default() -> Self {
        Self {
            max_limit: ListSchema::DEFAULT_MAX_LIMIT,
            max_filters: 32,
            max_sort_fields: 8,
            max_in_values: MAX_IN_VALUES,
            max_cursor_len: cursor::MAX_CURSOR_LEN,
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDirection {
    /// Ascending (NULLs last, as PostgreSQL does by default).
    Asc,
    /// Descending (NULLs first, as PostgreSQL does by default).
    Desc,
}

impl SortDirection {
    /// `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// One ORDER BY key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// The field sorted on.
    pub field: &'static FieldSpec,
    /// Its direction.
    pub direction: SortDirection,
}

/// A filter operator of `filter=field:op:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `<>` (SQL semantics: rows where the field is NULL do not match)
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `IN (...)`, comma-separated values
    In,
    /// Case-sensitive substring (text only)
    Contains,
    /// Case-insensitive substring (text only)
    IContains,
    /// Case-sensitive prefix (text only)
    StartsWith,
    /// `IS NULL` (`true`) or `IS NOT NULL` (`false`)
    IsNull,
}

impl FilterOp {
    /// Every operator, in the order they are documented.
    pub const ALL: [Self; 11] = [
        Self::Eq,
        Self::Ne,
        Self::Lt,
        Self::Lte,
        Self::Gt,
        Self::Gte,
        Self::In,
        Self::Contains,
        Self::IContains,
        Self::StartsWith,
        Self::IsNull,
    ];

    /// The operator's name in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::In => "in",
            Self::Contains => "contains",
            Self::IContains => "icontains",
            Self::StartsWith => "startswith",
            Self::IsNull => "isnull",
        }
    }

    /// The operator called `name` (exact, lowercase).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// Whether the operator only applies to text fields.
    pub fn text_only(self) -> bool {
        matches!(self, Self::Contains | Self::IContains | Self::StartsWith)
    }
}

/// A validated condition on one field. Values are already of the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `field = value`
    Eq(Value),
    /// `field <> value`
    Ne(Value),
    /// `field < value`
    Lt(Value),
    /// `field <= value`
    Lte(Value),
    /// `field > value`
    Gt(Value),
    /// `field >= value`
    Gte(Value),
    /// `field IN (values)`
    In(Vec<Value>),
    /// Case-sensitive substring match.
    Contains(String),
    /// Case-insensitive substring match.
    IContains(String),
    /// Case-sensitive prefix match.
    StartsWith(String),
    /// `IS NULL` when `true`, `IS NOT NULL` when `false`.
    IsNull(bool),
}

/// One filter: a field and a condition on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The filtered field.
    pub field: &'static FieldSpec,
    /// The condition.
    pub predicate: Predicate,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Page {
    Offset { skip: u64 },
    Cursor { after: Option<Vec<KeyValue>> },
}

/// A validated list query, ready to be applied to SQL with [`apply`](Self::apply) and
/// [`apply_filters`](Self::apply_filters).
#[derive(Debug, Clone)]
pub struct ListSpec {
    pub(crate) schema: &'static ListSchema,
    pub(crate) primary_key: &'static FieldSpec,
    pub(crate) limit: u64,
    pub(crate) sort: Vec<SortKey>,
    pub(crate) filters: Vec<Filter>,
    pub(crate) page: Page,
    key: CursorKey,
}

/// Parses and validates a list query with Kwik's semantics (CONTRACT §5).
///
/// Checks run in FastAPI's order: parameter validation (`skip`, `limit`) first, then, in Kwik's
/// order, the `filter_key`/`value` filter, the `filter` conditions, the sorting, and the cursor.
///
/// # Errors
/// - [`Error::Validation`] (422) with one FastAPI-shaped issue per bad parameter: `skip` or `limit`
///   that is not an integer (`int_parsing`), negative (`greater_than_equal`), or `limit` above the
///   schema's `max_limit` (`less_than_equal`).
/// - [`Error::InvalidListQuery`] (400) for a field outside the allow-list (`Invalid filter field 'f'
///   for model Role`, `Invalid sort field 'f' for model User`), a malformed `filter`, an unknown
///   operator, a value the field's type cannot take, a text operator on a non-text field, a
///   tampered or foreign cursor (`Invalid cursor`), a cursor issued for another sorting, or `skip`
///   combined with a cursor.
/// - [`Error::Internal`] (500) when the schema's `primary_key` names no field (a programming error).
pub fn parse(raw: &RawListQuery, schema: &'static ListSchema, key: &CursorKey) -> Result<ListSpec> {
    parse_with_max_limit(raw, schema, key, schema.max_limit)
}

/// [`parse`] with another largest `limit` than the schema's and the default [`ListLimits`]
/// otherwise.
///
/// # Errors
/// As [`parse`], with `max_limit` in place of the schema's.
pub fn parse_with_max_limit(
    raw: &RawListQuery,
    schema: &'static ListSchema,
    key: &CursorKey,
    max_limit: u64,
) -> Result<ListSpec> {
    parse_with_limits(raw, schema, key, &ListLimits { max_limit, ..ListLimits::default() })
}

/// [`parse`] under explicit [`ListLimits`] (the HTTP layer applies the `KWIK_LIST_*` settings this
/// way). The schema's own `max_limit` is not consulted: pass the one that applies.
///
/// # Errors
/// As [`parse`]; and [`Error::InvalidListQuery`] (400) naming the bound when the request has more
/// conditions, sort fields or `in` values, or a longer cursor, than `limits` allow. Bounds are
/// checked before anything is parsed, so an oversized request costs no more than a small one.
pub fn parse_with_limits(
    raw: &RawListQuery,
    schema: &'static ListSchema,
    key: &CursorKey,
    limits: &ListLimits,
) -> Result<ListSpec> {
    let max_limit = limits.max_limit;
    let primary_key = schema.field(schema.primary_key).ok_or_else(|| {
        Error::Internal(format!(
            "list schema of {} declares primary key '{}', which is not one of its fields",
            schema.model, schema.primary_key
        ))
    })?;

    let mut issues = Vec::new();
    // Offsets and limits are bound as signed 64-bit integers.
    let largest = i64::MAX.cast_unsigned();
    let skip = query_int("skip", raw.skip.as_deref(), 0, largest, &mut issues);
    let max_limit = max_limit.min(largest);
    let limit = query_int("limit", raw.limit.as_deref(), DEFAULT_LIMIT, max_limit, &mut issues);
    if !issues.is_empty() {
        return Err(Error::Validation(issues));
    }

    check_limits(raw, limits)?;

    let mut filters = Vec::new();
    if let (Some(name), Some(value)) = (raw.filter_key.as_deref(), raw.value.as_deref()) {
        let field = filter_field(schema, name)?;
        filters.push(Filter { field, predicate: Predicate::Eq(typed(field, value)?) });
    }
    for text in &raw.filter {
        filters.push(parse_filter(schema, text)?);
    }

    let mut sort: Vec<SortKey> = Vec::new();
    for (name, direction) in kwik_sorting(raw.sorting.as_deref().unwrap_or_default()) {
        let field = schema.sortable_field(name).ok_or_else(|| {
            Error::InvalidListQuery(format!("Invalid sort field '{name}' for model {}", schema.model))
        })?;
        // A repeated field adds nothing to the ORDER BY: keep its first occurrence.
        if !sort.iter().any(|k| k.field.name == field.name) {
            sort.push(SortKey { field, direction });
        }
    }

    let mut spec =
        ListSpec { schema, primary_key, limit, sort, filters, page: Page::Offset { skip }, key: key.clone() };
    if let Some(token) = raw.cursor.as_deref() {
        if skip != 0 {
            return Err(Error::InvalidListQuery("The skip parameter cannot be combined with a cursor".to_owned()));
        }
        let after = if token.is_empty() { None } else { Some(spec.decode_cursor(token)?) };
        spec.page = Page::Cursor { after };
    }
    Ok(spec)
}

impl ListSpec {
    /// The schema this query was validated against.
    pub fn schema(&self) -> &'static ListSchema {
        self.schema
    }

    /// The page size.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Rows skipped (always 0 on cursor pages).
    pub fn skip(&self) -> u64 {
        match self.page {
            Page::Offset { skip } => skip,
            Page::Cursor { .. } => 0,
        }
    }

    /// Whether the client asked for keyset pagination (`cursor` present, even empty).
    pub fn is_cursor(&self) -> bool {
        matches!(self.page, Page::Cursor { .. })
    }

    /// Whether this is the first page: no rows skipped and no cursor position (`cursor=` empty
    /// or absent).
    pub fn is_first_page(&self) -> bool {
        match &self.page {
            Page::Offset { skip } => *skip == 0,
            Page::Cursor { after } => after.is_none(),
        }
    }

    /// The requested sorting (repeated fields removed), without any tiebreak.
    pub fn sort(&self) -> &[SortKey] {
        &self.sort
    }

    /// The filters, `filter_key`/`value` first.
    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// The ORDER BY keys actually applied: the requested sorting, or the primary key ascending when
    /// there is none; on cursor pages the primary key is appended as the last tiebreak.
    pub fn order_keys(&self) -> Vec<SortKey> {
        if self.is_cursor() {
            self.cursor_keys()
        } else if self.sort.is_empty() {
            vec![SortKey { field: self.primary_key, direction: SortDirection::Asc }]
        } else {
            self.sort.clone()
        }
    }

    /// The fields whose values [`next_cursor`](Self::next_cursor) reads from the last row.
    pub fn cursor_fields(&self) -> Vec<&'static str> {
        self.cursor_keys().iter().map(|k| k.field.name).collect()
    }

    pub(crate) fn cursor_keys(&self) -> Vec<SortKey> {
        let mut keys = self.sort.clone();
        if !keys.iter().any(|k| k.field.name == self.primary_key.name) {
            keys.push(SortKey { field: self.primary_key, direction: SortDirection::Asc });
        }
        keys
    }

    fn sort_signature(keys: &[SortKey]) -> String {
        keys.iter().map(|k| format!("{}:{}", k.field.name, k.direction.as_str())).collect::<Vec<_>>().join(",")
    }

    fn decode_cursor(&self, token: &str) -> Result<Vec<KeyValue>> {
        let keys = self.cursor_keys();
        let values = cursor::decode(&self.key, self.schema.table, &Self::sort_signature(&keys), token)?;
        if values.len() != keys.len() {
            return Err(cursor::invalid());
        }
        keys.iter()
            .zip(&values)
            .map(|(k, json)| match key_from_json(k.field.ty, json) {
                Some(KeyValue::Null) if k.field.name == self.primary_key.name => Err(cursor::invalid()),
                Some(value) => Ok(value),
                None => Err(cursor::invalid()),
            })
            .collect()
    }

    /// The cursor of the page after the one ending with `last_row`, the last row of this page
    /// serialized as JSON (an object keyed by field names, as the response shows it; it must contain
    /// every field of [`cursor_fields`](Self::cursor_fields)). Works on offset pages too (that is how a
    /// client can switch to cursors), but only pages requested with `cursor` order by the primary-key
    /// tiebreak that makes the hand-over exact when sort values repeat.
    ///
    /// # Errors
    /// [`Error::Internal`] (500, a programming error) when the row lacks a cursor field or holds a value
    /// that does not fit the field's type, or the primary key is null.
    pub fn next_cursor(&self, last_row: &serde_json::Value) -> Result<String> {
        let keys = self.cursor_keys();
        let mut values = Vec::with_capacity(keys.len());
        for k in &keys {
            let name = k.field.name;
            let json = last_row.get(name).ok_or_else(|| {
                Error::Internal(format!("cursor: the {} row has no field '{name}'", self.schema.model))
            })?;
            let value = match key_from_json(k.field.ty, json) {
                Some(KeyValue::Null) if name == self.primary_key.name => None,
                other => other,
            }
            .ok_or_else(|| {
                Error::Internal(format!(
                    "cursor: field '{name}' of the {} row is not {}",
                    self.schema.model,
                    k.field.ty.expectation()
                ))
            })?;
            values.push(key_to_json(&value));
        }
        Ok(cursor::encode(&self.key, self.schema.table, &Self::sort_signature(&keys), values))
    }
}

/// Refuses a request that asks for more than `limits` allow, before parsing any of it.
fn check_limits(raw: &RawListQuery, limits: &ListLimits) -> Result<()> {
    let conditions = raw.filter.len() + usize::from(raw.filter_key.is_some() && raw.value.is_some());
    if conditions > limits.max_filters {
        return Err(Error::InvalidListQuery(format!(
            "Too many filter conditions: {conditions} (at most {})",
            limits.max_filters
        )));
    }
    let sort_fields = kwik_sorting(raw.sorting.as_deref().unwrap_or_default()).len();
    if sort_fields > limits.max_sort_fields {
        return Err(Error::InvalidListQuery(format!(
            "Too many sort fields: {sort_fields} (at most {})",
            limits.max_sort_fields
        )));
    }
    let in_values: usize = raw
        .filter
        .iter()
        .filter_map(|text| {
            let mut parts = text.splitn(3, ':');
            let (_, op, value) = (parts.next()?, parts.next()?, parts.next()?);
            (op == FilterOp::In.as_str()).then(|| value.split(',').count())
        })
        .sum();
    if in_values > limits.max_in_values {
        return Err(Error::InvalidListQuery(format!(
            "Too many values in 'in' filters: {in_values} (at most {} in all)",
            limits.max_in_values
        )));
    }
    if let Some(cursor) = raw.cursor.as_deref()
        && cursor.len() > limits.max_cursor_len
    {
        return Err(Error::InvalidListQuery(format!(
            "Invalid cursor: longer than {} characters",
            limits.max_cursor_len
        )));
    }
    Ok(())
}

fn filter_field(schema: &ListSchema, name: &str) -> Result<&'static FieldSpec> {
    schema
        .filterable_field(name)
        .ok_or_else(|| Error::InvalidListQuery(format!("Invalid filter field '{name}' for model {}", schema.model)))
}

/// Input echoed in messages is cut to this many characters.
const ECHO_LEN: usize = 64;

fn echo(input: &str) -> String {
    if input.chars().count() > ECHO_LEN {
        let mut cut: String = input.chars().take(ECHO_LEN).collect();
        cut.push('…');
        cut
    } else {
        input.to_owned()
    }
}

fn typed(field: &FieldSpec, raw: &str) -> Result<Value> {
    parse_typed(field.ty, raw).ok_or_else(|| {
        Error::InvalidListQuery(format!(
            "Invalid value '{}' for filter field '{}': expected {}",
            echo(raw),
            field.name,
            field.ty.expectation()
        ))
    })
}

fn parse_filter(schema: &ListSchema, text: &str) -> Result<Filter> {
    let mut parts = text.splitn(3, ':');
    let (Some(name), Some(op_name), Some(raw)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::InvalidListQuery(format!("Invalid filter '{}': expected field:op:value", echo(text))));
    };
    let field = filter_field(schema, name)?;
    let op = FilterOp::from_name(op_name).ok_or_else(|| {
        let names: Vec<&str> = FilterOp::ALL.iter().map(|op| op.as_str()).collect();
        Error::InvalidListQuery(format!(
            "Invalid filter operator '{}' for field '{name}'; expected one of {}",
            echo(op_name),
            names.join(", ")
        ))
    })?;
    if op.text_only() && field.ty != FieldType::Text {
        return Err(Error::InvalidListQuery(format!(
            "Filter operator '{}' only applies to text fields; '{name}' is {}",
            op.as_str(),
            field.ty.label()
        )));
    }
    let predicate = match op {
        FilterOp::Eq => Predicate::Eq(typed(field, raw)?),
        FilterOp::Ne => Predicate::Ne(typed(field, raw)?),
        FilterOp::Lt => Predicate::Lt(typed(field, raw)?),
        FilterOp::Lte => Predicate::Lte(typed(field, raw)?),
        FilterOp::Gt => Predicate::Gt(typed(field, raw)?),
        FilterOp::Gte => Predicate::Gte(typed(field, raw)?),
        FilterOp::In => Predicate::In(raw.split(',').map(|item| typed(field, item)).collect::<Result<_>>()?),
        FilterOp::Contains => Predicate::Contains(raw.to_owned()),
        FilterOp::IContains => Predicate::IContains(raw.to_owned()),
        FilterOp::StartsWith => Predicate::StartsWith(raw.to_owned()),
        FilterOp::IsNull => Predicate::IsNull(parse_bool(raw).ok_or_else(|| {
            Error::InvalidListQuery(format!(
                "Invalid value '{}' for filter '{name}:isnull': expected true or false",
                echo(raw)
            ))
        })?),
    };
    Ok(Filter { field, predicate })
}

/// Python's `re.findall(r"(\w+)(?::(asc|desc))?", s)` with the default direction `asc`: words are
/// fields, an immediately following lowercase `:asc`/`:desc` is their direction, anything else is
/// skipped (so `name:DESC` yields `name` and a field `DESC`).
pub(crate) fn kwik_sorting(text: &str) -> Vec<(&str, SortDirection)> {
    fn is_word(c: char) -> bool {
        c == '_' || c.is_alphanumeric()
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if is_word(c) {
            let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            let (field, tail) = rest.split_at(end);
            let (direction, tail) = if let Some(tail) = tail.strip_prefix(":asc") {
                (SortDirection::Asc, tail)
            } else if let Some(tail) = tail.strip_prefix(":desc") {
                (SortDirection::Desc, tail)
            } else {
                (SortDirection::Asc, tail)
            };
            out.push((field, direction));
            rest = tail;
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Pydantic's lax `str` → `int`: surrounding whitespace ignored, `+`/`-` sign, `5.00` accepted as 5.
/// Integers too large for `i128` saturate (they fail the bounds anyway).
fn pydantic_int(raw: &str) -> Option<i128> {
    let text = raw.trim();
    let text = match text.split_once('.') {
        Some((int, frac)) if !int.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        _ => text,
    };
    if let Ok(value) = text.parse::<i128>() {
        return Some(value);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some(if negative {
        i128::MIN
    } else {
        i128::MAX
    })
}

fn query_int(name: &'static str, raw: Option<&str>, default: u64, max: u64, issues: &mut Vec<ValidationIssue>) -> u64 {
    let Some(raw) = raw else { return default };
    let loc = ["query", name];
    let Some(value) = pydantic_int(raw) else {
        issues.push(
            ValidationIssue::new(
                "int_parsing",
                &loc,
                "Input should be a valid integer, unable to parse string as an integer",
            )
            .with_input(raw),
        );
        return default;
    };
    if value < 0 {
        issues.push(
            ValidationIssue::new("greater_than_equal", &loc, "Input should be greater than or equal to 0")
                .with_input(raw)
                .with_ctx(json!({ "ge": 0 })),
        );
        return default;
    }
    match u64::try_from(value) {
        Ok(value) if value <= max => value,
        _ => {
            issues.push(
                ValidationIssue::new("less_than_equal", &loc, format!("Input should be less than or equal to {max}"))
                    .with_input(raw)
                    .with_ctx(json!({ "le": max })),
            );
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldSpec;

    static THINGS: ListSchema = ListSchema::new(
        "Thing",
        "things",
        "id",
        &[FieldSpec::new("id", FieldType::Int), FieldSpec::new("name", FieldType::Text)],
    );

    fn with_cursor(sorting: &str, signed_sort: &str, values: Vec<serde_json::Value>) -> Result<ListSpec> {
        let key = CursorKey::new("secret");
        let token = cursor::encode(&key, THINGS.table, signed_sort, values);
        let raw = RawListQuery { sorting: Some(sorting.to_owned()), cursor: Some(token), ..RawListQuery::default() };
        parse(&raw, &THINGS, &key)
    }

    /// A signed cursor may hold NULL for a nullable sort field, never for the primary key (no row
    /// has one, and the keyset condition needs it).
    #[test]
    fn a_cursor_with_a_null_primary_key_is_invalid() {
        let err = with_cursor("", "id:asc", vec![json!(null)]).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Invalid cursor"));
        let err = with_cursor("name", "name:asc,id:asc", vec![json!("a"), json!(null)]).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("Invalid cursor"));
        let spec = with_cursor("name", "name:asc,id:asc", vec![json!(null), json!(3)]);
        assert!(spec.is_ok_and(|s| s.is_cursor()));
    }
}
