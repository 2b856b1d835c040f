//! [`JsonBody<T>`]: a JSON request body whose problems come back as FastAPI-style 422 lists,
//! each issue located at the field (`["body", "email"]`), as Kwik clients expect.

use kwik_core::{Error, ValidationIssue};
use poem::{FromRequest, Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

pub use kwik_core::{Rules, Validate};

fn rules_of(request: &Request) -> Rules {
    request
        .data::<crate::AppState>()
        .map(|state| Rules { password_min_length: state.password_policy.min_length })
        .unwrap_or_default()
}

/// A JSON request body (`Content-Type: application/json`), documented in the OpenAPI spec with
/// `T`'s schema and parsed with serde so that every error names its field:
///
/// - empty body → 422 `missing` at `["body"]`;
/// - malformed JSON → 422 `json_invalid` at `["body", <byte offset>]`;
/// - wrong or missing field → 422 at `["body", "field", ...]`;
/// - [`Validate`] issues → 422 with their own `loc`.
///
/// Unknown fields are ignored, like Kwik (pydantic's default).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        content_type.parse::<mime_guess_free::Mime>().is_ok_and(|mime| mime.is_json())
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send + 'static> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = Vec::<u8>::from_request(request, body).await?;
        let rules = rules_of(request);
        let parsed = parse_json_value(&bytes).and_then(|value| {
            check_required::<T>(&value)?;
            parse_text(&bytes, &value, rules)
        });
        parsed.map(JsonBody).map_err(|e| ApiError(e).into())
    }
}

poem_openapi::impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Validate + Send + 'static);

/// Parses and validates a JSON document into `T` with Kwik's 422 reporting.
///
/// # Errors
/// [`Error::Validation`] describing every problem found.
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8], rules: &Rules) -> Result<T, Error> {
    parse_text(bytes, &parse_json_value(bytes)?, *rules)
}

/// Deserializes `T` from the JSON text itself, so that types which read a value's own text (an
/// exact `Decimal` through serde_json's `RawValue`) see it; `value` is the same document, parsed,
/// for echoing the offending input.
fn parse_text<T: DeserializeOwned + Validate>(bytes: &[u8], value: &Value, rules: Rules) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| located(&e, value))?;
    let issues = parsed.validate(&rules);
    if issues.is_empty() { Ok(parsed) } else { Err(Error::Validation(issues)) }
}

/// A serde error as one FastAPI-shaped issue at its field.
fn located<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>, value: &Value) -> Error {
    let mut loc = vec![Value::from("body")];
    for segment in e.path() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => loc.push(Value::from(*index)),
            // serde_json's private markers (a `RawValue`) are not fields.
            serde_path_to_error::Segment::Map { key } if key.starts_with("$serde_json") => {}
            serde_path_to_error::Segment::Map { key } => loc.push(Value::from(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => loc.push(Value::from(variant.clone())),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    // serde_json appends the position; the location says where.
    let message = e.inner().to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    let (kind, msg, loc) = describe_serde_error(message, loc);
    let input = input_at(value, &loc);
    Error::validation(ValidationIssue { kind, loc, msg, input, ctx: None })
}

/// Parses bytes as JSON: empty → 422 `missing` at `["body"]`, malformed → 422 `json_invalid`.
fn parse_json_value(bytes: &[u8]) -> Result<Value, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::validation(ValidationIssue::new("missing", &["body"], "Field required")));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let mut issue = ValidationIssue::new("json_invalid", &["body"], "JSON decode error")
            .with_ctx(serde_json::json!({ "error": e.to_string() }));
        issue.loc.push(Value::from(e.column()));
        Error::validation(issue)
    })?;
    Ok(value)
}

/// Reports every required property of `T`'s schema that the object lacks, at once (serde would
/// stop at the first), as FastAPI does: one `missing` issue per field. A body that is not a JSON
/// object where `T` is one is refused as pydantic does (serde would read a struct from an array).
fn check_required<T: Type + 'static>(value: &Value) -> Result<(), Error> {
    let (is_object, required) = body_shape::<T>();
    let Some(object) = value.as_object() else {
        if is_object {
            return Err(Error::validation(
                ValidationIssue::new(
                    "model_attributes_type",
                    &["body"],
                    "Input should be a valid dictionary or object to extract fields from",
                )
                .with_input(value.clone()),
            ));
        }
        return Ok(());
    };
    let missing: Vec<ValidationIssue> = required
        .iter()
        .filter(|field| !object.contains_key(**field))
        .map(|field| ValidationIssue::new("missing", &["body", field], "Field required"))
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(Error::Validation(missing)) }
}

/// Whether a body schema is an object, and its required properties.
type BodyShape = (bool, Vec<&'static str>);

/// Whether `T`'s OpenAPI schema is an object, and its required properties; computed once per type.
fn body_shape<T: Type + 'static>() -> BodyShape {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<TypeId, BodyShape>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(found) = cache.read().ok().and_then(|map| map.get(&TypeId::of::<T>()).cloned()) {
        return found;
    }
    let mut registry = Registry::new();
    T::register(&mut registry);
    let shape = match T::schema_ref() {
        MetaSchemaRef::Reference(name) => {
            registry.schemas.get(&name).map(|s| (s.ty == "object", s.required.clone())).unwrap_or_default()
        }
        MetaSchemaRef::Inline(schema) => (schema.ty == "object", schema.required.clone()),
    };
    if let Ok(mut map) = cache.write() {
        map.insert(TypeId::of::<T>(), shape.clone());
    }
    shape
}

/// Deserializes and validates an already-parsed JSON value (see [`parse_json`]).
///
/// # Errors
/// [`Error::Validation`] describing every problem found.
pub fn parse_value<T: DeserializeOwned + Validate>(value: &Value, rules: &Rules) -> Result<T, Error> {
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|e| located(&e, value))?;
    let issues = parsed.validate(rules);
    if issues.is_empty() { Ok(parsed) } else { Err(Error::Validation(issues)) }
}

/// Translates serde's message into FastAPI's `type` and `msg`. A missing field is reported at the
/// field itself (serde reports it at the parent object).
fn describe_serde_error(message: &str, mut loc: Vec<Value>) -> (String, String, Vec<Value>) {
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next()) {
        loc.push(Value::from(field));
        return ("missing".to_owned(), "Field required".to_owned(), loc);
    }
    if message.starts_with("invalid value") {
        let expected = message.rsplit("expected ").next().unwrap_or("a valid value");
        return ("value_error".to_owned(), format!("Input should be {expected}"), loc);
    }
    if message.starts_with("invalid type") {
        let expected = message.rsplit("expected ").next().unwrap_or("a valid value");
        return ("type_error".to_owned(), format!("Input should be {expected}"), loc);
    }
    ("value_error".to_owned(), message.to_owned(), loc)
}

/// The offending input at `loc` (after the leading `"body"`), or null. Values of fields whose
/// name mentions a password or secret are redacted.
fn input_at(root: &Value, loc: &[Value]) -> Value {
    let mut current = root;
    for part in loc.iter().skip(1) {
        let next = match part {
            Value::String(key) => {
                if is_secret_field(key) {
                    return Value::from("[redacted]");
                }
                current.get(key)
            }
            Value::Number(n) => n.as_u64().and_then(|i| current.get(usize::try_from(i).ok()?)),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => return Value::Null,
        }
    }
    if current.is_object() { Value::Null } else { current.clone() }
}

/// True for field names whose values must never be echoed back (passwords, secrets, tokens).
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "key"].iter().any(|s| name.contains(s))
}

/// An `application/x-www-form-urlencoded` body (the OAuth2 password flow of `/login/access-token`),
/// reported like [`JsonBody`]: a missing field is a 422 at `["body", "field"]`. Values are strings;
/// a repeated key keeps its last value.
#[derive(Debug, Clone)]
pub struct FormBody<T>(pub T);

impl<T> std::ops::Deref for FormBody<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for FormBody<T> {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    /// Any content type is accepted here, as FastAPI's `Form(...)` does: a body that is not a form
    /// (JSON, say) reads as an empty form, so each required field is reported missing (422 at
    /// `["body", "username"]`, ...) instead of a content-type error.
    fn check_content_type(_content_type: &str) -> bool {
        true
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send + 'static> ParsePayload for FormBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = Vec::<u8>::from_request(request, body).await?;
        let is_form = request
            .content_type()
            .is_some_and(|ct| ct.parse::<mime_guess_free::Mime>().is_ok_and(|mime| mime.is_form()));
        let bytes = if is_form { bytes } else { Vec::new() };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            ApiError(Error::validation(ValidationIssue::new(
                "value_error",
                &["body"],
                format!("Invalid form body: {e}"),
            )))
        })?;
        let map: serde_json::Map<String, Value> = pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let value = Value::Object(map);
        check_required::<T>(&value)
            .and_then(|()| parse_value(&value, &rules_of(request)))
            .map(FormBody)
            .map_err(|e| ApiError(e).into())
    }
}

poem_openapi::impl_apirequest_for_payload!(FormBody<T>, T: Type + DeserializeOwned + Validate + Send + 'static);

/// Minimal media-type check without pulling a MIME crate: `application/json` or `*/*+json`,
/// parameters such as `charset` ignored.
mod mime_guess_free {
    pub struct Mime(String);

    impl std::str::FromStr for Mime {
        type Err = ();
        fn from_str(s: &str) -> Result<Self, ()> {
            let essence = s.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            if essence.contains('/') { Ok(Self(essence)) } else { Err(()) }
        }
    }

    impl Mime {
        pub fn is_form(&self) -> bool {
            self.0 == "application/x-www-form-urlencoded"
        }

        pub fn is_json(&self) -> bool {
            self.0 == "application/json" || (self.0.starts_with("application/") && self.0.ends_with("+json"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Signup {
        #[allow(dead_code)]
        email: String,
        #[allow(dead_code)]
        password: String,
        #[allow(dead_code)]
        age: Option<u8>,
    }

    impl Validate for Signup {}

    fn issues(body: &str) -> Value {
        match parse_json::<Signup>(body.as_bytes(), &Rules::default()) {
            Err(err) => err.detail(),
            Ok(_) => panic!("expected a validation error"),
        }
    }

    #[test]
    fn missing_field_is_located_at_the_field() {
        let detail = issues(r#"{"email": "a@b.c"}"#);
        assert_eq!(detail[0]["type"], "missing");
        assert_eq!(detail[0]["loc"], serde_json::json!(["body", "password"]));
    }

    #[test]
    fn wrong_type_names_the_field_and_echoes_input() {
        let detail = issues(r#"{"email": "a@b.c", "password": "x", "age": "old"}"#);
        assert_eq!(detail[0]["loc"], serde_json::json!(["body", "age"]));
        assert_eq!(detail[0]["input"], "old");
    }

    #[test]
    fn secret_inputs_are_redacted() {
        let detail = issues(r#"{"email": "a@b.c", "password": 12}"#);
        assert_eq!(detail[0]["loc"], serde_json::json!(["body", "password"]));
        assert_eq!(detail[0]["input"], "[redacted]");
    }

    #[test]
    fn malformed_json_and_empty_body() {
        assert_eq!(issues(r#"{"email": "#)[0]["type"], "json_invalid");
        assert_eq!(issues("  ")[0]["loc"], serde_json::json!(["body"]));
    }
}
