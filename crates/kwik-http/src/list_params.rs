//! The query parameters of list operations, typed for the OpenAPI document but read leniently.
//!
//! Each type documents the parameter's real shape (`skip` and `limit` are integers with bounds,
//! `sorting` and `filter` have patterns, `filter` is optional) while accepting any text, so that
//! [`kwik_listing`] still answers malformed values with Kwik's own 422/400 texts
//! (`Input should be a valid integer, ...`) rather than poem-openapi's generic parse errors.
//! Use them as `Query<Option<ListSkip>>`, ..., `Query<ListFilters>` (see [`crate::raw_list_query`]).

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

/// The largest `limit` the document states: Kwik's default `KWIK_LIST_MAX_LIMIT` (the server
/// enforces the configured value, or a module's own maximum).
pub const DOCUMENTED_MAX_LIMIT: u64 = 1000;
/// The most `filter` conditions the document states: the default `KWIK_LIST_MAX_FILTERS`.
pub const DOCUMENTED_MAX_FILTERS: usize = 32;
/// The filter operators of `filter=field:op:value`.
pub const FILTER_OPERATORS: &[&str] =
    &["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "icontains", "startswith", "isnull"];

fn int_schema(maximum: Option<u64>) -> MetaSchema {
    // Documented bounds are small integers: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let maximum = maximum.map(|m| m as f64);
    MetaSchema { minimum: Some(0.0), maximum, ..MetaSchema::new_with_format("integer", "int64") }
}

fn sorting_schema() -> MetaSchema {
    // Up to the default `KWIK_LIST_MAX_SORT_FIELDS` (8) keys.
    let key = "[A-Za-z0-9_]+(:(asc|desc))?";
    MetaSchema { pattern: Some(format!("^({key}(,{key}){{0,7}})?$")), ..MetaSchema::new("string") }
}

fn filter_schema() -> MetaSchema {
    MetaSchema {
        pattern: Some(format!("^[A-Za-z0-9_]+:({}):.*$", FILTER_OPERATORS.join("|"))),
        ..MetaSchema::new("string")
    }
}

macro_rules! lenient_param {
    ($(#[$doc:meta])* $name:ident, $type_name:literal, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                Cow::Borrowed($type_name)
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

lenient_param!(
    /// `skip`: documented as an integer ≥ 0; any text is accepted here and checked by
    /// [`kwik_listing`] (422 with Kwik's texts).
    ListSkip,
    "kwik_list_skip",
    int_schema(None)
);
lenient_param!(
    /// `limit`: documented as an integer from 0 to [`DOCUMENTED_MAX_LIMIT`]; checked by
    /// [`kwik_listing`] against the configured maximum.
    ListLimit,
    "kwik_list_limit",
    int_schema(Some(DOCUMENTED_MAX_LIMIT))
);
lenient_param!(
    /// `sorting`: documented with the pattern `field[:asc|:desc],...`; the fields are checked
    /// by [`kwik_listing`] (400 for a field outside the allow-list).
    ListSorting,
    "kwik_list_sorting",
    sorting_schema()
);

/// `filter` (repeatable, optional): documented as an array of `field:op:value` strings with the
/// operators of [`FILTER_OPERATORS`]; each is checked by [`kwik_listing`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilters(pub Vec<String>);

impl Type for ListFilters {
    const IS_REQUIRED: bool = false;
    type RawValueType = Self;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed("kwik_list_filters")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(MetaSchemaRef::Inline(Box::new(filter_schema())))),
            max_items: Some(DOCUMENTED_MAX_FILTERS),
            ..MetaSchema::new("array")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(self.0.iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromParameter for ListFilters {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(vec![value.to_owned()]))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(iter: I) -> ParseResult<Self> {
        Ok(Self(iter.into_iter().map(|v| v.as_ref().to_owned()).collect()))
    }
}

impl From<ListFilters> for Vec<String> {
    fn from(value: ListFilters) -> Vec<String> {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parameters_keep_any_text_for_kwik_listing_to_judge() {
        assert_eq!(ListSkip::parse_from_parameter("-1").ok(), Some(ListSkip("-1".to_owned())));
        assert_eq!(ListLimit::parse_from_parameter("abc").ok(), Some(ListLimit("abc".to_owned())));
        let none: [&str; 0] = [];
        assert_eq!(ListFilters::parse_from_parameters(none).ok(), Some(ListFilters::default()));
        assert_eq!(
            ListFilters::parse_from_parameters(["a:eq:1", "b:in:2,3"]).ok().map(Vec::from),
            Some(vec!["a:eq:1".to_owned(), "b:in:2,3".to_owned()])
        );
    }
}
