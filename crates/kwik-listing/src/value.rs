//! Typed values: parsing query-string text and JSON into bindable `sea_query::Value`s.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use sea_query::Value;
use serde_json::Value as Json;

use crate::schema::FieldType;

/// Kwik's accepted boolean spellings, case-insensitive.
pub(crate) fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Parses query-string text into a bindable value of the field's type. Text is kept verbatim;
/// other types ignore surrounding whitespace.
pub(crate) fn parse_typed(ty: FieldType, raw: &str) -> Option<Value> {
    let trimmed = raw.trim();
    match ty {
        FieldType::Text => Some(Value::String(Some(raw.to_owned()))),
        FieldType::Int => trimmed.parse::<i64>().ok().map(|v| Value::BigInt(Some(v))),
        FieldType::Float => parse_float(trimmed).map(|v| Value::Double(Some(v))),
        FieldType::Bool => parse_bool(trimmed).map(|v| Value::Bool(Some(v))),
        FieldType::DateTime => parse_datetime(trimmed).map(|v| Value::ChronoDateTimeUtc(Some(v))),
        FieldType::Uuid => uuid::Uuid::parse_str(trimmed).ok().map(|v| Value::Uuid(Some(v))),
        FieldType::Decimal => canonical_decimal(trimmed).map(|v| Value::String(Some(v))),
    }
}

fn parse_float(raw: &str) -> Option<f64> {
    // Rust accepts "inf" and "NaN"; neither is a value a client can meaningfully compare against.
    raw.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// RFC 3339 (with `T`, `t` or a space), a naive date-time taken as UTC, or a date at midnight UTC.
pub(crate) fn parse_datetime(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().map(|date| date.and_time(NaiveTime::MIN).and_utc())
}

/// The longest decimal text accepted, and the largest exponent magnitude.
const MAX_DECIMAL_LEN: usize = 100;
const MAX_DECIMAL_EXPONENT: u32 = 1000;

/// Validates `[+-]digits[.digits][e[+-]digits]` (at least one digit in the mantissa) and returns it
/// unchanged; both backends cast this text to a number.
pub(crate) fn canonical_decimal(raw: &str) -> Option<String> {
    if raw.is_empty() || raw.len() > MAX_DECIMAL_LEN {
        return None;
    }
    let bytes = raw.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let exponent = raw.get(exp_start..i)?.parse::<u32>().ok()?;
        if exponent > MAX_DECIMAL_EXPONENT {
            return None;
        }
    }
    (i == bytes.len()).then(|| raw.to_owned())
}

/// A sort-key value of the last row of a page: SQL NULL or a bindable value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyValue {
    Null,
    Value(Value),
}

/// Reads a sort-key value from JSON (a row's field, or a value stored in a cursor).
pub(crate) fn key_from_json(ty: FieldType, json: &Json) -> Option<KeyValue> {
    if json.is_null() {
        return Some(KeyValue::Null);
    }
    let value = match (ty, json) {
        (FieldType::Int, Json::Number(n)) => Value::BigInt(Some(n.as_i64()?)),
        (FieldType::Float, Json::Number(n)) => Value::Double(Some(n.as_f64().filter(|v| v.is_finite())?)),
        (FieldType::Bool, Json::Bool(b)) => Value::Bool(Some(*b)),
        (FieldType::Decimal, Json::Number(n)) => Value::String(Some(canonical_decimal(&n.to_string())?)),
        (FieldType::Text, Json::String(s)) => Value::String(Some(s.clone())),
        (
            FieldType::Int
            | FieldType::Float
            | FieldType::Bool
            | FieldType::DateTime
            | FieldType::Uuid
            | FieldType::Decimal,
            Json::String(s),
        ) => parse_typed(ty, s)?,
        _ => return None,
    };
    Some(KeyValue::Value(value))
}

/// The canonical JSON form of a sort-key value, as stored in a cursor.
pub(crate) fn key_to_json(value: &KeyValue) -> Json {
    match value {
        KeyValue::Value(Value::BigInt(Some(v))) => Json::from(*v),
        KeyValue::Value(Value::Double(Some(v))) => serde_json::Number::from_f64(*v).map_or(Json::Null, Json::Number),
        KeyValue::Value(Value::Bool(Some(v))) => Json::Bool(*v),
        KeyValue::Value(Value::String(Some(v))) => Json::String(v.clone()),
        KeyValue::Value(Value::ChronoDateTimeUtc(Some(v))) => {
            Json::String(v.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        KeyValue::Value(Value::Uuid(Some(v))) => Json::String(v.to_string()),
        // Only the variants above are ever produced by `key_from_json`.
        KeyValue::Null | KeyValue::Value(_) => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case("true", Some(true))]
    #[case("TRUE", Some(true))]
    #[case("Yes", Some(true))]
    #[case("1", Some(true))]
    #[case("false", Some(false))]
    #[case("No", Some(false))]
    #[case(" 0 ", Some(false))]
    #[case("on", None)]
    #[case("t", None)]
    #[case("", None)]
    fn booleans(#[case] raw: &str, #[case] expected: Option<bool>) {
        assert_eq!(parse_bool(raw), expected);
    }

    #[rstest]
    #[case("12.50", true)]
    #[case("-3", true)]
    #[case("+.5", true)]
    #[case("5.", true)]
    #[case("1e5", true)]
    #[case("1.5E-3", true)]
    #[case("1e1001", false)]
    #[case("1e1000", true)]
    #[case("-1E+1000", true)]
    #[case("+.", false)]
    #[case("-.", false)]
    #[case("-e5", false)]
    #[case::longest(&"1".repeat(100), true)]
    #[case::too_long(&"1".repeat(101), false)]
    #[case(".", false)]
    #[case("", false)]
    #[case("e5", false)]
    #[case("1e", false)]
    #[case("NaN", false)]
    #[case("1,5", false)]
    #[case("0x10", false)]
    #[case("1 2", false)]
    fn decimals(#[case] raw: &str, #[case] ok: bool) {
        assert_eq!(canonical_decimal(raw).is_some(), ok, "{raw}");
    }

    #[rstest]
    #[case(FieldType::Int, "42", Some(Value::BigInt(Some(42))))]
    #[case(FieldType::Int, " -7 ", Some(Value::BigInt(Some(-7))))]
    #[case(FieldType::Int, "abc", None)]
    #[case(FieldType::Int, "1.0", None)]
    #[case(FieldType::Int, "99999999999999999999", None)]
    #[case(FieldType::Float, "2.5", Some(Value::Double(Some(2.5))))]
    #[case(FieldType::Float, "inf", None)]
    #[case(FieldType::Float, "NaN", None)]
    #[case(FieldType::Bool, "yes", Some(Value::Bool(Some(true))))]
    #[case(FieldType::Text, " a b ", Some(Value::String(Some(" a b ".into()))))]
    #[case(FieldType::Decimal, "10.00", Some(Value::String(Some("10.00".into()))))]
    #[case(FieldType::Decimal, "ten", None)]
    #[case(FieldType::Uuid, "not-a-uuid", None)]
    #[case(FieldType::DateTime, "yesterday", None)]
    fn typed_values(#[case] ty: FieldType, #[case] raw: &str, #[case] expected: Option<Value>) {
        assert_eq!(parse_typed(ty, raw), expected);
    }

    #[rstest]
    #[case("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z")]
    #[case("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z")]
    #[case("2024-05-01 12:00:00Z", "2024-05-01T12:00:00Z")]
    #[case("2024-05-01T12:00:00.250", "2024-05-01T12:00:00.250Z")]
    #[case("2024-05-01 12:00:00", "2024-05-01T12:00:00Z")]
    #[case("2024-05-01", "2024-05-01T00:00:00Z")]
    fn datetimes(#[case] raw: &str, #[case] expected: &str) {
        let parsed = parse_datetime(raw).map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true));
        assert_eq!(parsed.as_deref(), Some(expected));
    }

    #[test]
    fn uuid_values_parse() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(
            parse_typed(FieldType::Uuid, id),
            Some(Value::Uuid(Some(uuid::Uuid::parse_str(id).unwrap_or_default())))
        );
    }

    #[rstest]
    #[case(FieldType::Int, json!(5))]
    #[case(FieldType::Float, json!(2.25))]
    #[case(FieldType::Bool, json!(false))]
    #[case(FieldType::Text, json!("hé"))]
    #[case(FieldType::Decimal, json!("12.50"))]
    #[case(FieldType::DateTime, json!("2024-05-01T12:00:00.123456789Z"))]
    #[case(FieldType::Uuid, json!("67e55044-10b1-426f-9247-bb680e5fe0c8"))]
    #[case(FieldType::Text, json!(null))]
    fn keys_round_trip_through_json(#[case] ty: FieldType, #[case] json: Json) {
        let key = key_from_json(ty, &json);
        assert!(key.is_some(), "{json}");
        let key = key.unwrap_or(KeyValue::Null);
        assert_eq!(key_to_json(&key), json);
        assert_eq!(key_from_json(ty, &key_to_json(&key)), Some(key));
    }

    #[rstest]
    #[case(FieldType::Int, json!("7"), Some(KeyValue::Value(Value::BigInt(Some(7)))))]
    #[case(FieldType::Decimal, json!(1.5), Some(KeyValue::Value(Value::String(Some("1.5".into())))))]
    #[case(FieldType::Int, json!(1.5), None)]
    #[case(FieldType::Text, json!(1), None)]
    #[case(FieldType::Bool, json!([true]), None)]
    fn keys_from_loose_json(#[case] ty: FieldType, #[case] json: Json, #[case] expected: Option<KeyValue>) {
        assert_eq!(key_from_json(ty, &json), expected);
    }
}
