//! [`Decimal`]: an exact decimal (money) that round-trips exactly on both databases.
//!
//! PostgreSQL stores it as `NUMERIC`; SQLite has no decimal type (sqlx has no decimal codec for
//! it), so it is stored as `TEXT` — exact — and compared and sorted through
//! `CAST(col AS NUMERIC)` by kwik-listing's `FieldType::Decimal`, so filters and sorting are
//! numeric on both backends. Declare the SQLite column `TEXT`, not `NUMERIC`: NUMERIC affinity
//! would turn `12.10` into a float.
//!
//! JSON: written as a string (`"5000"`, trailing zeros dropped, as pydantic does), read from a
//! string or a number.

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Decimal(pub rust_decimal::Decimal);

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
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        rust_decimal::Decimal::from_str_exact(s.trim()).map(Self)
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

    fn schema_ref() -> MetaSchemaRef {
        <rust_decimal::Decimal as Type>::schema_ref()
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
        <rust_decimal::Decimal as ParseFromJSON>::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl ParseFromParameter for Decimal {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        <rust_decimal::Decimal as ParseFromParameter>::parse_from_parameter(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
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
