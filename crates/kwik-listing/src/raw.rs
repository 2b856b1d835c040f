//! The list query exactly as it arrives in the query string.

use serde::Deserialize;

/// The list-query parameters, unparsed. Kwik's `skip`, `limit`, `sorting`, `filter_key` and `value`,
/// plus the repeatable `filter` (`field:op:value`) and `cursor`.
///
/// Build it from the HTTP layer's individual parameters, or from the raw query string with
/// [`from_query_string`](Self::from_query_string); then [`parse`](crate::parse) it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RawListQuery {
    /// Rows to skip (default 0).
    pub skip: Option<String>,
    /// Page size (default 100).
    pub limit: Option<String>,
    /// `field[:asc|:desc]`, comma-separated.
    pub sorting: Option<String>,
    /// Kwik's equality filter: the field...
    pub filter_key: Option<String>,
    /// ...and its value (ignored unless both are present).
    pub value: Option<String>,
    /// Repeatable `field:op:value` conditions.
    pub filter: Vec<String>,
    /// A keyset cursor (`next_cursor` of the previous page), or empty for the first cursor page.
    pub cursor: Option<String>,
}

impl RawListQuery {
    /// Collects the list parameters from decoded `(key, value)` pairs. Like Starlette, the last
    /// occurrence of a single-valued parameter wins; every `filter` is kept; other keys are ignored.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut raw = Self::default();
        for (key, value) in pairs {
            let slot = match key.as_ref() {
                "skip" => &mut raw.skip,
                "limit" => &mut raw.limit,
                "sorting" => &mut raw.sorting,
                "filter_key" => &mut raw.filter_key,
                "value" => &mut raw.value,
                "cursor" => &mut raw.cursor,
                "filter" => {
                    raw.filter.push(value.into());
                    continue;
                }
                _ => continue,
            };
            *slot = Some(value.into());
        }
        raw
    }

    /// Collects the list parameters from a raw (percent-encoded) query string such as
    /// `skip=0&limit=10&sorting=name:desc`, without the leading `?`.
    pub fn from_query_string(query: &str) -> Self {
        Self::from_pairs(url::form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k, v.into_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_string_last_single_value_wins_and_filters_accumulate() {
        let raw = RawListQuery::from_query_string(
            "skip=1&skip=2&limit=5&sorting=name%3Adesc&filter=a:eq:1&filter=b:gt:2&other=x&cursor=",
        );
        assert_eq!(raw.skip.as_deref(), Some("2"));
        assert_eq!(raw.limit.as_deref(), Some("5"));
        assert_eq!(raw.sorting.as_deref(), Some("name:desc"));
        assert_eq!(raw.filter, vec!["a:eq:1".to_owned(), "b:gt:2".to_owned()]);
        assert_eq!(raw.cursor.as_deref(), Some(""));
        assert_eq!(raw.filter_key, None);
    }

    #[test]
    fn plus_decodes_to_space() {
        let raw = RawListQuery::from_query_string("value=a+b&filter_key=name");
        assert_eq!(raw.value.as_deref(), Some("a b"));
    }
}
