//! Glue between poem-openapi query parameters and kwik-listing.

use kwik_listing::{ListSchema, ListSpec, RawListQuery};

use crate::state::AppState;

/// Parses a list query against `schema`, with the app's cursor key. The largest `limit` is the
/// schema's own when it sets one (`ListSchema::with_max_limit`), else `KWIK_LIST_MAX_LIMIT`.
///
/// # Errors
/// 422 for malformed `skip`/`limit`, 400 for fields outside the allow-list, bad filter values or
/// cursors (see [`kwik_listing::parse`]).
pub fn list_spec(state: &AppState, schema: &'static ListSchema, raw: &RawListQuery) -> kwik_core::Result<ListSpec> {
    let max_limit = if schema.max_limit == ListSchema::DEFAULT_MAX_LIMIT {
        state.settings.list_max_limit
    } else {
        schema.max_limit
    };
    kwik_listing::parse_with_max_limit(raw, schema, &state.cursor_key, max_limit)
}

/// Declares the list-query parameters of an operation and builds a [`RawListQuery`] from them.
/// Used inside `#[OpenApi]` impls, which need each parameter spelled out to document it:
///
/// ```text
/// async fn list(&self, state: Data<&AppState>, auth: Auth<ProjectRead>,
///     skip: Query<Option<String>>, limit: Query<Option<String>>, sorting: Query<Option<String>>,
///     filter_key: Query<Option<String>>, value: Query<Option<String>>,
///     filter: Query<Vec<String>>, cursor: Query<Option<String>>) -> ApiResult<...> {
///     let raw = kwik_http::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
///     ...
/// }
/// ```
#[macro_export]
macro_rules! raw_list_query {
    ($skip:ident, $limit:ident, $sorting:ident, $filter_key:ident, $value:ident, $filter:ident, $cursor:ident) => {
        $crate::__private::RawListQuery {
            skip: $skip.0,
            limit: $limit.0,
            sorting: $sorting.0,
            filter_key: $filter_key.0,
            value: $value.0,
            filter: $filter.0,
            cursor: $cursor.0,
        }
    };
}
