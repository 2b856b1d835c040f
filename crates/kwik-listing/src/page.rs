//! The paginated response body: Kwik's `{total, data}` plus our optional `next_cursor`.

use poem_openapi::Object;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use serde::Serialize;

use kwik_core::Result;

use crate::spec::ListSpec;

/// A page of results. In the OpenAPI document it appears as `Paginated_<T>`.
#[derive(Debug, Clone, PartialEq, Object, Serialize)]
pub struct Paginated<T: ParseFromJSON + ToJSON + Send + Sync> {
    /// Rows matching the filters, regardless of skip, limit and cursor.
    pub total: i64,
    /// The requested page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page (cursor pagination only; absent on the last page).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON + Send + Sync> Paginated<T> {
    /// A page without a cursor.
    pub fn new(total: i64, data: Vec<T>) -> Self {
        Self { total, data, next_cursor: None }
    }
}

impl ListSpec {
    /// Wraps a fetched page. On cursor pages (`cursor` was sent) whose page is full, `next_cursor`
    /// is computed from the last row; otherwise it is absent. A full last page therefore still gets
    /// a cursor, which then yields an empty page.
    ///
    /// # Errors
    /// As [`next_cursor`](Self::next_cursor): [`kwik_core::Error::Internal`] when the last row cannot
    /// be serialized or lacks a cursor field.
    pub fn paginate<T: ParseFromJSON + ToJSON + Send + Sync>(&self, total: i64, data: Vec<T>) -> Result<Paginated<T>> {
        let full = u64::try_from(data.len()).is_ok_and(|len| len == self.limit());
        let next_cursor = match data.last() {
            Some(last) if self.is_cursor() && full => {
                let row = last.to_json().ok_or_else(|| {
                    kwik_core::Error::Internal("cursor: the last row does not serialize to JSON".to_owned())
                })?;
                Some(self.next_cursor(&row)?)
            }
            _ => None,
        };
        Ok(Paginated { total, data, next_cursor })
    }
}
