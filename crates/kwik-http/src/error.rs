//! Rendering errors as Kwik's JSON bodies, for handler errors ([`ApiError`]) and for errors raised
//! outside handlers (unknown route, wrong method, unparsable input) via [`error_response`].

use kwik_core::{Error, ValidationIssue};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use serde_json::{Value, json};

/// A handler error: wraps [`kwik_core::Error`] and renders it as `{"detail": ..., "code": ...}`
/// with Kwik's status code. Every operation returning [`ApiResult`] documents these responses.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// The return type of Kwik handlers: `Result<T, ApiError>`; `?` converts [`kwik_core::Error`].
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ApiError {}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn as_response(&self) -> Response {
        render(&self.0)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        render(&self.0)
    }
}

/// Renders a framework error: JSON body, status, and the headers RFC 6750 / RFC 9110 ask for
/// (`WWW-Authenticate: Bearer` on 401 without credentials, `Retry-After` on 429/503).
pub fn render(err: &Error) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match err {
        Error::Internal(message) => tracing::error!(error = %message, "internal error"),
        Error::Unavailable(message) => tracing::warn!(error = %message, "service unavailable"),
        _ => {}
    }
    let mut response = json_response(status, &err.body());
    let headers = response.headers_mut();
    match err {
        Error::NotAuthenticated => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::TooManyRequests { retry_after } => {
            if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
        }
        Error::Unavailable(_) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder().status(status).content_type("application/json").body(body.to_string())
}

/// Converts any error that reached the outermost layer into Kwik's JSON shape. Handler errors
/// ([`ApiError`]) pass through unchanged; poem and poem-openapi errors are mapped:
/// unknown route 404 `{"detail":"Not Found"}`, wrong method 405 `{"detail":"Method Not Allowed"}`,
/// missing credentials 401 `Not authenticated`, unparsable input 422 in FastAPI's list shape.
pub fn error_response(err: poem::Error) -> Response {
    if err.is::<ApiError>() {
        return err.into_response();
    }
    if err.is::<poem::error::NotFoundError>() {
        return json_response(StatusCode::NOT_FOUND, &json!({"detail": "Not Found", "code": "not_found"}));
    }
    if err.is::<poem::error::MethodNotAllowedError>() {
        return json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"detail": "Method Not Allowed", "code": "method_not_allowed"}),
        );
    }
    if err.is::<poem_openapi::error::AuthorizationError>() {
        return render(&Error::NotAuthenticated);
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParsePathError>() {
        return render(&Error::validation(ValidationIssue::new("parsing", &["path", e.name], clean_reason(&e.reason))));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        return render(&Error::validation(ValidationIssue::new(
            "parsing",
            &["query", e.name],
            clean_reason(&e.reason),
        )));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>() {
        return render(&Error::validation(ValidationIssue::new("value_error", &["body"], clean_reason(&e.reason))));
    }
    if let Some(e) = err.downcast_ref::<poem_openapi::error::ContentTypeError>() {
        let msg = match e {
            poem_openapi::error::ContentTypeError::ExpectContentType => {
                "Missing Content-Type header; expected application/json".to_owned()
            }
            poem_openapi::error::ContentTypeError::NotSupported { content_type } => {
                format!("Unsupported Content-Type '{content_type}'; expected application/json")
            }
        };
        return render(&Error::validation(ValidationIssue::new("content_type", &["body"], msg)));
    }
    if let Some(e) = err.downcast_ref::<poem::error::ReadBodyError>() {
        return match e {
            poem::error::ReadBodyError::PayloadTooLarge => json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &json!({"detail": "Request body too large", "code": "payload_too_large"}),
            ),
            other => render(&Error::BadRequest(format!("Cannot read the request body: {other}"))),
        };
    }
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error = %err, status = status.as_u16(), "unhandled error");
        return render(&Error::Internal(err.to_string()));
    }
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = reason.to_lowercase().replace([' ', '-'], "_");
    json_response(status, &json!({"detail": reason, "code": code}))
}

/// poem-openapi reasons sometimes carry the Rust type name; keep them short and readable.
fn clean_reason(reason: &str) -> String {
    reason.trim().trim_end_matches('.').to_owned()
}

/// The documented error body: `{"detail": string | [ValidationIssue], "code": string}`.
fn error_schema(registry: &mut Registry) -> MetaSchemaRef {
    const NAME: &str = "KwikError";
    registry.create_schema::<ApiError, _>(NAME.to_owned(), |_| {
        let mut schema = MetaSchema::new("object");
        schema.title = Some(NAME.to_owned());
        schema.description = Some(
            "Kwik's error body. `detail` is a message, or for 422 a list of FastAPI-style \
             validation issues `{type, loc, msg, input, ctx?}`; `code` is stable and machine-readable.",
        );
        schema.required = vec!["detail", "code"];
        let mut detail = MetaSchema::ANY;
        detail.description = Some("A message, or a list of validation issues (422).");
        schema.properties = vec![
            ("detail", MetaSchemaRef::Inline(Box::new(detail))),
            ("code", MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))),
        ];
        schema
    });
    MetaSchemaRef::Reference(NAME.to_owned())
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let described = [
            (400, "Bad request: invalid token, inactive user or invalid list query"),
            (401, "Not authenticated, or incorrect credentials"),
            (403, "Not enough privileges"),
            (404, "Entity not found"),
            (409, "Entity already exists, or conflicts with related records"),
            (422, "Validation error (FastAPI's list of issues with `loc`)"),
            (503, "Database unavailable; retry later"),
        ];
        MetaResponses {
            responses: described
                .into_iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: MetaSchemaRef::Reference("KwikError".to_owned()),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        error_schema(registry);
    }
}
