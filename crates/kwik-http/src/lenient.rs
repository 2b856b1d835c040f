//! Lax parsing of JSON scalars, as pydantic does by default (Kwik's inputs): booleans accept
//! `true`, `1`, `"yes"`, `"true"`, ...; integers accept `"5"`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected};
use serde_json::Value;

/// Deserializes a boolean the way pydantic's lax mode does: `true/false`, `0/1`, and the strings
/// `"true"/"false"`, `"yes"/"no"`, `"on"/"off"`, `"1"/"0"`, `"t"/"f"`, `"y"/"n"` (any case).
///
/// # Errors
/// Any other value.
pub fn bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    let value = Value::deserialize(deserializer)?;
    parse_bool(&value).ok_or_else(|| de::Error::invalid_value(unexpected(&value), &"a valid boolean"))
}

/// [`bool()`] for optional fields (`null` → `None`).
///
/// # Errors
/// As [`bool()`].
pub fn option_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    parse_bool(&value).map(Some).ok_or_else(|| de::Error::invalid_value(unexpected(&value), &"a valid boolean"))
}

/// Deserializes an integer from a JSON number or a numeric string (`5` or `"5"`).
///
/// # Errors
/// Anything else, including fractions.
pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let parsed = match &value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| de::Error::invalid_value(unexpected(&value), &"a valid integer"))
}

fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n.as_i64().map_or(Unexpected::Other("number"), Unexpected::Signed),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}
