//! Glue between poem-openapi query parameters and kwik-listing.

use kwik_listing::{ListLimits, ListSchema, ListSpec, RawListQuery};

use crate::state::AppState;

/// Parses a list query against `schema`, with the app's cursor key and the `KWIK_LIST_*` bounds.
/// The largest `limit` is the schema's own when it sets one (`ListSchema::with_max_limit`), else
/// `KWIK_LIST_MAX_LIMIT`.
///
/// # Errors
/// 422 for malformed `skip`/`limit`, 400 for fields outside the allow-list, bad filter values or
/// cursors, and requests over `KWIK_LIST_MAX_FILTERS`, `KWIK_LIST_MAX_SORT_FIELDS` or
/// `KWIK_LIST_MAX_IN_VALUES` (see [`kwik_listing::parse_with_limits`]).
pub fn list_spec(state: &AppState, schema: &'static ListSchema, raw: &RawListQuery) -> kwik_core::Result<ListSpec> {
    let settings = &state.settings;
    let max_limit =
        if schema.max_limit == ListSchema::DEFAULT_MAX_LIMIT { settings.list.max_limit } else { schema.max_limit };
    let limits = ListLimits {
        max_limit,
        max_filters: settings.list.max_filters,
        max_sort_fields: settings.list.max_sort_fields,
        max_in_values: settings.list.max_in_values,
        ..ListLimits::default()
    };
    kwik_listing::parse_with_limits(raw, schema, &state.cursor_key, &limits)
}

/// Declares the list-query parameters of an operation and builds a [`RawListQuery`] from them.
/// Used inside `#[OpenApi]` impls, which need each parameter spelled out to document it:
///
/// ```text
/// async fn list(&self, state: Data<&AppState>, auth: Auth<ProjectRead>,
///     skip: Query<Option<ListSkip>>, limit: Query<Option<ListLimit>>, sorting: Query<Option<ListSorting>>,
///     filter_key: Query<Option<String>>, value: Query<Option<String>>,
///     filter: Query<ListFilters>, cursor: Query<Option<String>>) -> ApiResult<...> {
///     let raw = kwik_http::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
///     ...
/// }
/// ```
///
/// [`crate::ListSkip`], [`crate::ListLimit`], [`crate::ListSorting`] and [`crate::ListFilters`]
/// document the parameters' real types in the spec; plain `String`s (`Vec<String>` for
/// `filter`) are accepted too.
#[macro_export]
macro_rules! raw_list_query {
    ($skip:ident, $limit:ident, $sorting:ident, $filter_key:ident, $value:ident, $filter:ident, $cursor:ident) => {
        $crate::__private::RawListQuery {
            skip: $skip.0.map(::core::convert::Into::into),
            limit: $limit.0.map(::core::convert::Into::into),
            sorting: $sorting.0.map(::core::convert::Into::into),
            filter_key: $filter_key.0.map(::core::convert::Into::into),
            value: $value.0.map(::core::convert::Into::into),
            filter: ::core::convert::Into::into($filter.0),
            cursor: $cursor.0.map(::core::convert::Into::into),
        }
    };
}
