//! [`Decimal`]: an exact decimal (money) that round-trips exactly on both databases.
//!
//! PostgreSQL stores it as `NUMERIC`; SQLite has no decimal type (sqlx has no decimal codec for
//! it), so it is stored as `TEXT` — exact — and compared and sorted through
//! `CAST(col AS NUMERIC)` by kwik-listing's `FieldType::Decimal`, so filters and sorting are
//! numeric on both backends. Declare the SQLite column `TEXT`, not `NUMERIC`: NUMERIC affinity
//! would turn `12.10` into a float.
//!
//! JSON: written as a string (`"5000"`, trailing zeros dropped, as pydantic does), read from a
//! string or a number, **exactly**: the number's own text is parsed (serde_json's `RawValue`),
//! never an `f64`, so `12345678901234567.89` stays what it is. (That holds when deserializing
//! from JSON text, as `kwik_http::JsonBody` does; a `serde_json::Value` already holds an `f64`.) Exponents (`1e3`, `"2.5E-3"`) are accepted. A value
//! that a [`Decimal`] cannot hold exactly (more than 28 decimal places, or a magnitude above
//! about 7.9 × 10²⁸) is refused with a message, never rounded: the body parser turns that into a
//! 422 at the field.

use std::borrow::Cow;
use std::str::FromStr;

use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::types::{ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite};

/// An exact decimal number (28 significant digits), e.g. a credit limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Decimal(pub rust_decimal::Decimal);

/// Why a text is not a [`Decimal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not a decimal number at all.
    #[error("Input should be a valid decimal")]
    Invalid,
    /// A number, but not one a [`Decimal`] holds exactly.
    #[error("Decimal input should have at most 28 decimal places and a magnitude below 7.9e28; it would be rounded")]
    DoesNotFit,
}

/// The longest number text accepted, in bytes: far beyond any value that fits, short enough that
/// parsing stays cheap.
const MAX_TEXT_LEN: usize = 256;
/// Exponents beyond this cannot give a value that fits (unless every digit is zero).
const MAX_EXPONENT: i64 = 64;

impl Decimal {
    /// Zero.
    pub const ZERO: Self = Self(rust_decimal::Decimal::ZERO);

    /// `self + other`, or `None` when the exact sum does not fit (magnitude ~7.9e28).
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self × factor` (a quantity), or `None` when the exact product does not fit.
    pub fn checked_mul_int(self, factor: i64) -> Option<Self> {
        self.0.checked_mul(rust_decimal::Decimal::from(factor)).map(Self)
    }

    /// Parses `text` exactly: plain (`-12.50`) or with an exponent (`1.5e3`), surrounding
    /// whitespace ignored.
    ///
    /// # Errors
    /// [`DecimalError::Invalid`] when it is not a number; [`DecimalError::DoesNotFit`] when the
    /// value has more than 28 decimal places or is too large, i.e. when any conversion would
    /// change it.
    pub fn parse_exact(text: &str) -> Result<Self, DecimalError> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(DecimalError::DoesNotFit);
        }
        let plain = match text.find(['e', 'E']) {
            Some(at) => {
                let exponent: i64 = text[at + 1..].parse().map_err(|_| DecimalError::Invalid)?;
                shift_point(&text[..at], exponent)?
            }
            None => {
                check_plain(text)?;
                text.to_owned()
            }
        };
        rust_decimal::Decimal::from_str_exact(&plain).map(Self).map_err(|_| DecimalError::DoesNotFit)
    }
}

/// `[+-]digits[.digits]` (at least one digit), as JSON and Python's `Decimal` write them.
fn check_plain(text: &str) -> Result<(), DecimalError> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(DecimalError::Invalid);
    }
    Ok(())
}

/// The plain form of `mantissa × 10^exponent`, by moving the decimal point (no arithmetic, so
/// nothing is rounded).
fn shift_point(mantissa: &str, exponent: i64) -> Result<String, DecimalError> {
    check_plain(mantissa)?;
    let (sign, unsigned) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = format!("{int}{frac}");
    if digits.bytes().all(|b| b == b'0') {
        return Ok("0".to_owned());
    }
    if exponent.unsigned_abs() > MAX_EXPONENT.unsigned_abs() {
        return Err(DecimalError::DoesNotFit);
    }
    // Where the point goes, counted in digits from the left; within ±(256 + 64), so no overflow.
    let int_len = i64::try_from(int.len()).map_err(|_| DecimalError::DoesNotFit)?;
    let point = int_len + exponent;
    let len = i64::try_from(digits.len()).map_err(|_| DecimalError::DoesNotFit)?;
    let zeros = |n: i64| "0".repeat(usize::try_from(n).unwrap_or_default());
    Ok(if point <= 0 {
        format!("{sign}0.{}{digits}", zeros(-point))
    } else if point >= len {
        format!("{sign}{digits}{}", zeros(point - len))
    } else {
        let (head, tail) = digits.split_at(usize::try_from(point).unwrap_or_default());
        format!("{sign}{head}.{tail}")
    })
}

impl<'de> serde::Deserialize<'de> for Decimal {
    /// Reads the JSON value's own text (serde_json's `RawValue`), so a number is parsed exactly,
    /// never through an `f64`: a JSON number or a string holding one.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            let unquoted: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            Self::parse_exact(&unquoted).map_err(D::Error::custom)
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Self::parse_exact(text).map_err(D::Error::custom)
        } else {
            Err(D::Error::custom(format!(
                "invalid type: {text:.16}, expected a decimal number, as a JSON number or a string"
            )))
        }
    }
}

impl Decimal {
    /// A whole number.
    pub fn from_i64(value: i64) -> Self {
        Self(rust_decimal::Decimal::from(value))
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.normalize().fmt(f)
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;
    /// [`Decimal::parse_exact`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_exact(s)
    }
}

impl From<Decimal> for sea_query::Value {
    fn from(value: Decimal) -> Self {
        sea_query::Value::Decimal(Some(value.0))
    }
}

impl sqlx::Type<Sqlite> for Decimal {
    fn type_info() -> SqliteTypeInfo {
        <String as sqlx::Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as sqlx::Type<Sqlite>>::compatible(ty)
            || <f64 as sqlx::Type<Sqlite>>::compatible(ty)
            || <i64 as sqlx::Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Decimal {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.to_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Decimal {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<Sqlite>>::decode(value)?;
        Ok(text.parse::<Self>()?)
    }
}

impl sqlx::Type<Postgres> for Decimal {
    fn type_info() -> PgTypeInfo {
        <rust_decimal::Decimal as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <rust_decimal::Decimal as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Decimal {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <rust_decimal::Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Decimal {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <rust_decimal::Decimal as Decode<Postgres>>::decode(value).map(Self)
    }
}

impl Type for Decimal {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        <rust_decimal::Decimal as Type>::name()
    }

    /// A decimal string or a JSON number: both are read, exactly (see the module docs), as
    /// pydantic documents Kwik's decimals; responses carry the string.
    fn schema_ref() -> MetaSchemaRef {
        let number = MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema::new("number")));
        MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema {
            any_of: vec![<rust_decimal::Decimal as Type>::schema_ref(), number],
            ..poem_openapi::registry::MetaSchema::ANY
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Decimal {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(text)) => Ok(Self::parse_exact(&text)?),
            // A `Value` holds an f64 already (use `JsonBody`, which reads the text, for exactness).
            Some(serde_json::Value::Number(number)) => Ok(Self::parse_exact(&number.to_string())?),
            other => Err(poem_openapi::types::ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ParseFromParameter for Decimal {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self::parse_exact(value)?)
    }
}

impl ToJSON for Decimal {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.to_string()))
    }
}

impl sea_query::Nullable for Decimal {
    fn null() -> sea_query::Value {
        sea_query::Value::Decimal(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<String, DecimalError> {
        Decimal::parse_exact(text).map(|d| d.to_string())
    }

    #[test]
    fn exact_plain_and_scientific() {
        for (text, shown) in [
            ("12345678901234567.89", "12345678901234567.89"),
            ("1234567890123456789012345678", "1234567890123456789012345678"),
            ("79228162514264337593543950335", "79228162514264337593543950335"),
            ("-0.0000000000000000000000000001", "-0.0000000000000000000000000001"),
            (" 12.50 ", "12.5"),
            ("+7", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e3", "1000"),
            ("1E+3", "1000"),
            ("2.5e-3", "0.0025"),
            ("-1.5e2", "-150"),
            ("123.456e-1", "12.3456"),
            ("0e99999", "0"),
            ("1e28", "10000000000000000000000000000"),
        ] {
            assert_eq!(parsed(text).as_deref(), Ok(shown), "{text}");
        }
    }

    #[test]
    fn what_would_be_rounded_is_refused() {
        for text in [
            "0.12345678901234567890123456789",
            "79228162514264337593543950336",
            "1e29",
            "1e-29",
            "1e65",
            "1e-9223372036854775808",
            &"9".repeat(257),
        ] {
            assert_eq!(parsed(text), Err(DecimalError::DoesNotFit), "{text}");
        }
        for text in ["", "abc", "1.2.3", "--1", "1e", "e3", ".", "1_000", "NaN", "inf", "0x10", "1e3.5"] {
            assert_eq!(parsed(text), Err(DecimalError::Invalid), "{text}");
        }
    }

    #[test]
    fn json_numbers_keep_their_text() {
        #[derive(serde::Deserialize)]
        struct Body {
            a: Decimal,
            b: Decimal,
            c: Option<Decimal>,
            d: Decimal,
        }
        let body: Result<Body, _> =
            serde_json::from_str(r#"{"a": 12345678901234567.89, "b": 0.1, "c": 1e3, "d": "-2.50"}"#);
        let shown =
            body.map(|b| [b.a.to_string(), b.b.to_string(), b.c.unwrap_or_default().to_string(), b.d.to_string()]);
        assert_eq!(shown.ok(), Some(["12345678901234567.89", "0.1", "1000", "-2.5"].map(String::from)));
        for bad in ["true", "null", "[1]", r#""abc""#, "1e40"] {
            assert!(serde_json::from_str::<Decimal>(bad).is_err(), "{bad}");
        }
        // From a `Value` (no text left): what the f64 shows.
        assert_eq!(serde_json::from_value::<Decimal>(serde_json::json!(12.5)).ok(), Decimal::parse_exact("12.5").ok());
    }
}
