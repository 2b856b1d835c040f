//! Field checks used by the code `#[derive(Entity)]` generates for its inputs: numeric bounds,
//! patterns and custom validators, reported with pydantic v2's `type`s and messages (what
//! FastAPI, hence Kwik, answers) at `["body", field]`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use kwik_core::ValidationIssue;
use serde::Serialize;
use serde_json::Value;

use crate::Decimal;

/// A number a bound can be compared with exactly: integers, floats and [`Decimal`]s.
pub trait Bounded {
    /// The value as an exact decimal (`None` for NaN or infinities, which no bound admits).
    fn as_decimal(&self) -> Option<rust_decimal::Decimal>;
}

macro_rules! bounded_int {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            fn as_decimal(&self) -> Option<rust_decimal::Decimal> {
                Some(rust_decimal::Decimal::from(*self))
            }
        }
    )*};
}
bounded_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Bounded for f64 {
    fn as_decimal(&self) -> Option<rust_decimal::Decimal> {
        rust_decimal::Decimal::from_f64_retain(*self)
    }
}

impl Bounded for f32 {
    fn as_decimal(&self) -> Option<rust_decimal::Decimal> {
        rust_decimal::Decimal::from_f32_retain(*self)
    }
}

impl Bounded for Decimal {
    fn as_decimal(&self) -> Option<rust_decimal::Decimal> {
        Some(self.0)
    }
}

/// A numeric bound of a field: `minimum` (ge), `exclusive_minimum` (gt), `maximum` (le),
/// `exclusive_maximum` (lt) — OpenAPI's names, pydantic's `ge`/`gt`/`le`/`lt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `value >= bound`.
    Ge,
    /// `value > bound`.
    Gt,
    /// `value <= bound`.
    Le,
    /// `value < bound`.
    Lt,
}

impl Bound {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Ge => ordering != Ordering::Less,
            Self::Gt => ordering == Ordering::Greater,
            Self::Le => ordering != Ordering::Greater,
            Self::Lt => ordering == Ordering::Less,
        }
    }

    /// pydantic's `type`, message wording and `ctx` key.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Ge => ("greater_than_equal", "greater than or equal to", "ge"),
            Self::Gt => ("greater_than", "greater than", "gt"),
            Self::Le => ("less_than_equal", "less than or equal to", "le"),
            Self::Lt => ("less_than", "less than", "lt"),
        }
    }
}

/// Adds an issue when `value` breaks `bound` (`limit` is the bound's text, e.g. `"0"`):
/// `{"type": "greater_than", "loc": ["body", field], "msg": "Input should be greater than 0",
/// "ctx": {"gt": 0}}`.
pub fn check_bound<T: Bounded + Serialize + ?Sized>(
    issues: &mut Vec<ValidationIssue>,
    field: &'static str,
    value: &T,
    bound: Bound,
    limit: &'static str,
) {
    let Ok(limit_value) = Decimal::parse_exact(limit) else { return };
    let holds = value.as_decimal().is_some_and(|v| bound.holds(v.cmp(&limit_value.0)));
    if !holds {
        let (kind, words, key) = bound.words();
        let limit_json = serde_json::from_str::<Value>(limit).unwrap_or_else(|_| Value::from(limit));
        issues.push(
            ValidationIssue::new(kind, &["body", field], format!("Input should be {words} {limit}"))
                .with_input(serde_json::to_value(value).unwrap_or(Value::Null))
                .with_ctx(serde_json::json!({ key: limit_json })),
        );
    }
}

/// Adds an issue when `value` does not match the regular expression `pattern` (searched, as
/// pydantic does: anchor it with `^...$` to match the whole value). An invalid pattern matches
/// nothing, so the mistake shows on the first request.
pub fn check_pattern(issues: &mut Vec<ValidationIssue>, field: &'static str, value: &str, pattern: &'static str) {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<regex::Regex>>>> = OnceLock::new();
    let matches = {
        let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(pattern)
            .or_insert_with(|| regex::Regex::new(pattern).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(value))
    };
    if !matches {
        issues.push(
            ValidationIssue::new(
                "string_pattern_mismatch",
                &["body", field],
                format!("String should match pattern '{pattern}'"),
            )
            .with_input(value)
            .with_ctx(serde_json::json!({ "pattern": pattern })),
        );
    }
}

/// Adds the issue of a custom validator (`#[kwik(validate = "path")]`, a
/// `fn(&T) -> Result<(), String>`): `{"type": "value_error", "msg": "Value error, <its text>"}`.
pub fn check_custom<T: Serialize + ?Sized>(
    issues: &mut Vec<ValidationIssue>,
    field: &'static str,
    value: &T,
    outcome: Result<(), String>,
) {
    if let Err(message) = outcome {
        issues.push(
            ValidationIssue::new("value_error", &["body", field], format!("Value error, {message}"))
                .with_input(serde_json::to_value(value).unwrap_or(Value::Null)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Bound::Gt, 0_i64, "0", Some("greater_than"))]
    #[case(Bound::Gt, 1_i64, "0", None)]
    #[case(Bound::Ge, 0_i64, "0", None)]
    #[case(Bound::Ge, -1_i64, "0", Some("greater_than_equal"))]
    #[case(Bound::Le, 10_i64, "10", None)]
    #[case(Bound::Lt, 10_i64, "10", Some("less_than"))]
    #[case(Bound::Le, 11_i64, "10.5", Some("less_than_equal"))]
    fn integer_bounds(
        #[case] bound: Bound,
        #[case] value: i64,
        #[case] limit: &'static str,
        #[case] kind: Option<&str>,
    ) {
        let mut issues = Vec::new();
        check_bound(&mut issues, "quantity", &value, bound, limit);
        assert_eq!(issues.first().map(|i| i.kind.as_str()), kind);
    }

    #[test]
    fn decimal_bound_is_exact_and_reports_pydantic_shape() {
        let mut issues = Vec::new();
        let tiny_negative = Decimal::parse_exact("-0.0000000000000000000000000001").unwrap();
        check_bound(&mut issues, "unit_price", &tiny_negative, Bound::Ge, "0");
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].msg, "Input should be greater than or equal to 0");
        assert_eq!(issues[0].ctx, Some(serde_json::json!({"ge": 0})));
        check_bound(&mut issues, "unit_price", &Decimal::parse_exact("0").unwrap(), Bound::Ge, "0");
        assert_eq!(issues.len(), 1);
    }

    #[test]
    fn nan_breaks_every_bound() {
        let mut issues = Vec::new();
        check_bound(&mut issues, "ratio", &f64::NAN, Bound::Le, "1");
        assert_eq!(issues.len(), 1);
    }

    #[test]
    fn patterns_search_and_bad_patterns_match_nothing() {
        let mut issues = Vec::new();
        check_pattern(&mut issues, "sku", "AB-12", "^[A-Z]+-[0-9]+$");
        assert!(issues.is_empty());
        check_pattern(&mut issues, "sku", "ab-12", "^[A-Z]+-[0-9]+$");
        check_pattern(&mut issues, "sku", "anything", "(");
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].kind, "string_pattern_mismatch");
    }
}
