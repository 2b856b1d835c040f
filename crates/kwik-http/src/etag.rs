//! Entity versions for optimistic concurrency (RFC 9110 §8.8.3, §13.1): every single-entity
//! response carries an `ETag`; `If-None-Match` on a read answers 304 when nothing changed, and
//! `If-Match` on a write answers 412 when the entity changed since the client read it.

use poem::IntoResponse;
use poem::http::StatusCode;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaHeader, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// The `ETag` of an entity: a strong validator, `"` + the first 32 hex digits of the SHA-256 of
/// its JSON representation + `"`. It changes whenever any field of the response does (an
/// audited entity's `last_modification_time` changes on every write), and it is the same on
/// every instance running the same code.
pub fn etag_of<T: ToJSON>(entity: &T) -> String {
    let json = entity.to_json().map(|value| value.to_string()).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in digest.iter().take(16) {
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag
}

/// Whether an `If-Match` value (`*`, or a comma-separated list of entity tags) admits `current`:
/// strong comparison, so weak tags (`W/"..."`) never match (RFC 9110 §13.1.1).
pub fn if_match_admits(header: &str, current: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag == current)
}

/// Whether an `If-None-Match` value (`*`, or a list of entity tags) names `current`: weak
/// comparison, `W/` prefixes ignored (RFC 9110 §13.1.2).
pub fn if_none_match_names(header: &str, current: &str) -> bool {
    header.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == current)
}

/// A single entity with its `ETag` header, or 304 Not Modified (with the `ETag`, without a
/// body) when the client's `If-None-Match` named the current version.
pub enum Tagged<T> {
    /// 200 with the entity.
    Entity(T, String),
    /// 304: the client's copy is current.
    NotModified(String),
}

impl<T: ToJSON> Tagged<T> {
    /// The entity with its `ETag`.
    pub fn new(entity: T) -> Self {
        let etag = etag_of(&entity);
        Self::Entity(entity, etag)
    }

    /// The entity with its `ETag`, or 304 when `if_none_match` names it.
    pub fn unless_current(entity: T, if_none_match: Option<&str>) -> Self {
        let etag = etag_of(&entity);
        if if_none_match.is_some_and(|header| if_none_match_names(header, &etag)) {
            Self::NotModified(etag)
        } else {
            Self::Entity(entity, etag)
        }
    }
}

impl<T: ToJSON + Send> IntoResponse for Tagged<T> {
    fn into_response(self) -> poem::Response {
        let (mut response, etag) = match self {
            Self::Entity(entity, etag) => (Json(entity).into_response(), etag),
            Self::NotModified(etag) => (StatusCode::NOT_MODIFIED.into_response(), etag),
        };
        if let Ok(value) = etag.parse() {
            response.headers_mut().insert(poem::http::header::ETAG, value);
        }
        response
    }
}

fn etag_header() -> MetaHeader {
    MetaHeader {
        name: "ETag".to_owned(),
        description: Some(
            "The entity's version: send it back in If-Match (writes) or If-None-Match (reads).".to_owned(),
        ),
        required: true,
        deprecated: false,
        schema: String::schema_ref(),
    }
}

/// Documents the 200 with its `ETag` header; the 304 is added to the operations that take
/// `If-None-Match` when the document is finished (`spec.rs`), so writes do not claim it.
impl<T: ToJSON + Send> ApiResponse for Tagged<T> {
    fn meta() -> MetaResponses {
        let mut responses = Json::<T>::meta().responses;
        for response in &mut responses {
            response.headers.push(etag_header());
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        Json::<T>::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_quoted_stable_and_change_with_the_content() {
        let a = etag_of(&serde_json::json!({"id": 1, "name": "a"}));
        assert_eq!(a, etag_of(&serde_json::json!({"id": 1, "name": "a"})));
        assert_ne!(a, etag_of(&serde_json::json!({"id": 1, "name": "b"})));
        assert!(a.starts_with('"') && a.ends_with('"') && a.len() == 34, "{a}");
    }

    #[test]
    fn if_match_is_strong_and_if_none_match_is_weak() {
        let tag = "\"abc\"";
        assert!(if_match_admits("\"abc\"", tag));
        assert!(if_match_admits("\"x\", \"abc\"", tag));
        assert!(if_match_admits("*", tag));
        assert!(!if_match_admits("W/\"abc\"", tag));
        assert!(!if_match_admits("\"abd\"", tag));
        assert!(if_none_match_names("W/\"abc\"", tag));
        assert!(if_none_match_names("\"x\" , \"abc\"", tag));
        assert!(!if_none_match_names("\"x\"", tag));
    }
}
