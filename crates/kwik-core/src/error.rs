//! The one error type of the framework, with Kwik's status codes and `detail` texts.

use serde::Serialize;
use serde_json::Value;

/// A framework error. Every variant maps to one HTTP status and one stable machine-readable
/// [`code`](Error::code); `kwik-http` renders it as Kwik's JSON body
/// `{"detail": <string or list>, "code": <code>}`.
///
/// The `detail` texts are Kwik's (CONTRACT §4), so Kwik clients that match on them keep working.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 409: a unique value (email, name, ...) is already taken. Kwik's `DuplicatedEntityError`.
    #[error("{0}")]
    DuplicatedEntity(String),
    /// 409: the operation conflicts with related rows (for example a foreign key still points here).
    #[error("{0}")]
    Conflict(String),
    /// A foreign key refused a write (409): a referenced row is missing, or a row being deleted
    /// is still referenced. `table` is the referencing table when the database names it
    /// (PostgreSQL does; SQLite does not). AutoCrud turns these into precise errors (a 422 at the
    /// field, or a 409 naming the referencing resource); this is what remains for other writes.
    #[error("The operation conflicts with related records")]
    ForeignKey {
        /// The referencing table, when known.
        table: Option<String>,
    },
    /// An application rule refused the request, with its own machine-readable `code`
    /// (`credit_limit_exceeded`) beside the `detail` text, and a 4xx `status` (409 by default:
    /// see [`Error::rule`]).
    #[error("{detail}")]
    Rule {
        /// The HTTP status (a 4xx).
        status: u16,
        /// The application's code, sent as `code`.
        code: &'static str,
        /// The human-readable text, sent as `detail`.
        detail: String,
    },
    /// 412: `If-Match` named a version of the entity that is no longer current (RFC 9110
    /// §13.1.1): someone changed it since the client read it. Nothing was written.
    #[error("The entity changed since it was read; read it again (If-Match)")]
    PreconditionFailed,
    /// 403: the caller lacks a permission. Kwik's `AccessDeniedError` ("Not enough privileges").
    #[error("Not enough privileges")]
    AccessDenied,
    /// 403 with its own text: the caller holds the permissions but this way of acting is refused
    /// (for example an impersonation session minting an API key).
    #[error("{0}")]
    Forbidden(String),
    /// 404: the entity does not exist; the text names it (`Entity [users] with id=5 does not exist`).
    #[error("{0}")]
    NotFound(String),
    /// 401 without `WWW-Authenticate`: wrong email or password. Kwik's `AuthenticationFailedError`.
    #[error("Incorrect credentials")]
    AuthenticationFailed,
    /// 401 with `WWW-Authenticate: Bearer`: no credentials were sent.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// 400: the user is deactivated. Kwik's `InactiveUserError`.
    #[error("Inactive user")]
    InactiveUser,
    /// 400: the token cannot be decoded, is expired, forged, revoked or of the wrong type.
    /// Kwik answers 400, not 401, for these (pinned by Kwik's own tests).
    #[error("Invalid token")]
    InvalidToken,
    /// 400: a list query names a field outside the allow-list or a value the field cannot take.
    #[error("{0}")]
    InvalidListQuery(String),
    /// 400: any other request the server understood but refuses (Kwik's `ValueError` mapping).
    #[error("{0}")]
    BadRequest(String),
    /// 422: request validation failed; one [`ValidationIssue`] per problem, in FastAPI's shape.
    #[error("validation failed: {}", summarize(.0))]
    Validation(Vec<ValidationIssue>),
    /// 413: the request body is larger than `KWIK_MAX_BODY_BYTES`; `limit` is in bytes.
    #[error("Request body too large (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// 429: too many requests; `retry_after` is in whole seconds.
    #[error("Too many requests")]
    TooManyRequests {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 503: a dependency (usually the database) is unreachable or saturated. Retry later.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The message is logged, never sent to the client.
    #[error("{0}")]
    Internal(String),
}

/// One validation problem in FastAPI's shape (`{"type", "loc", "msg", "input", "ctx"?}`).
///
/// `loc` starts with where the value came from (`"body"`, `"query"`, `"path"`, `"header"`) followed
/// by field names or list indices, for example `["body", "email"]` or `["query", "limit"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationIssue {
    /// Machine-readable kind, e.g. `missing`, `int_parsing`, `value_error`, `greater_than_equal`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Path to the offending value.
    pub loc: Vec<Value>,
    /// Human-readable message.
    pub msg: String,
    /// The offending input (never a secret: password fields are replaced by `"[redacted]"`).
    pub input: Value,
    /// Extra context such as limits (`{"ge": 0}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl ValidationIssue {
    /// A new issue at `loc` (e.g. `&["body", "email"]`) with kind and message.
    pub fn new(kind: impl Into<String>, loc: &[&str], msg: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            loc: loc.iter().map(|part| Value::String((*part).to_owned())).collect(),
            msg: msg.into(),
            input: Value::Null,
            ctx: None,
        }
    }

    /// Attaches the offending input.
    #[must_use]
    pub fn with_input(mut self, input: impl Into<Value>) -> Self {
        self.input = input.into();
        self
    }

    /// Attaches context (limits and the like).
    #[must_use]
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }
}

fn summarize(issues: &[ValidationIssue]) -> String {
    issues.iter().map(|issue| format!("{:?}: {}", issue.loc, issue.msg)).collect::<Vec<_>>().join("; ")
}

impl Error {
    /// Kwik's 404 text for an entity looked up by id: `Entity [users] with id=5 does not exist`.
    pub fn not_found(table: &str, id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("Entity [{table}] with id={id} does not exist"))
    }

    /// Kwik's 409 for a duplicate: `Entity already exists`.
    pub fn duplicated() -> Self {
        Self::DuplicatedEntity("Entity already exists".to_owned())
    }

    /// A 409 refusing a business rule, with the application's own `code`:
    /// `Error::rule("order_empty", "An order without lines cannot be confirmed")` is sent as
    /// `{"detail": "An order without lines cannot be confirmed", "code": "order_empty"}`.
    pub fn rule(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Rule { status: 409, code, detail: detail.into() }
    }

    /// Like [`Error::rule`] with another status; anything outside 400..=499 becomes 400 (a rule
    /// refusal is always the client's request, never a server failure).
    pub fn rule_with_status(status: u16, code: &'static str, detail: impl Into<String>) -> Self {
        let status = if (400..500).contains(&status) { status } else { 400 };
        Self::Rule { status, code, detail: detail.into() }
    }

    /// A 422 with a single issue.
    pub fn validation(issue: ValidationIssue) -> Self {
        Self::Validation(vec![issue])
    }

    /// The HTTP status code (Kwik's mapping, CONTRACT §4).
    pub fn status(&self) -> u16 {
        match self {
            Self::DuplicatedEntity(_) | Self::Conflict(_) | Self::ForeignKey { .. } => 409,
            Self::Rule { status, .. } => *status,
            Self::AccessDenied | Self::Forbidden(_) => 403,
            Self::PreconditionFailed => 412,
            Self::NotFound(_) => 404,
            Self::AuthenticationFailed | Self::NotAuthenticated => 401,
            Self::InactiveUser | Self::InvalidToken | Self::InvalidListQuery(_) | Self::BadRequest(_) => 400,
            Self::Validation(_) => 422,
            Self::PayloadTooLarge { .. } => 413,
            Self::TooManyRequests { .. } => 429,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// A stable, machine-readable code for clients that should not parse `detail` texts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DuplicatedEntity(_) => "duplicated_entity",
            Self::Conflict(_) | Self::ForeignKey { .. } => "conflict",
            Self::Rule { code, .. } => code,
            Self::AccessDenied => "access_denied",
            Self::PreconditionFailed => "precondition_failed",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::AuthenticationFailed => "authentication_failed",
            Self::NotAuthenticated => "not_authenticated",
            Self::InactiveUser => "inactive_user",
            Self::InvalidToken => "invalid_token",
            Self::InvalidListQuery(_) => "invalid_list_query",
            Self::BadRequest(_) => "bad_request",
            Self::Validation(_) => "validation_error",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The `detail` value sent to the client: Kwik's text, or the list of validation issues.
    /// Internal errors never reveal their message.
    pub fn detail(&self) -> Value {
        match self {
            Self::Validation(issues) => serde_json::to_value(issues).unwrap_or(Value::Null),
            Self::Internal(_) => Value::String("Internal server error".to_owned()),
            other => Value::String(other.to_string()),
        }
    }

    /// The JSON body: `{"detail": ..., "code": ...}`.
    pub fn body(&self) -> Value {
        serde_json::json!({ "detail": self.detail(), "code": self.code() })
    }
}

impl From<sqlx::Error> for Error {
    /// Maps database failures to client-meaningful errors: unique violations are 409, foreign-key
    /// violations 409, not-null/check violations 422, unreachable or saturated databases 503.
    /// Everything else is a 500 whose message is logged but never returned.
    fn from(err: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound("Entity does not exist".to_owned()),
            sqlx::Error::PoolTimedOut => Self::Unavailable("The database is busy; retry shortly".to_owned()),
            sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable("The database is unavailable; retry shortly".to_owned())
            }
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::duplicated(),
                ErrorKind::ForeignKeyViolation => Self::ForeignKey { table: db.table().map(str::to_owned) },
                ErrorKind::NotNullViolation | ErrorKind::CheckViolation => Self::validation(ValidationIssue::new(
                    "value_error",
                    &["body"],
                    "A value violates a constraint of the resource",
                )),
                // Deadlock or serialization failure (SQLSTATE class 40): a concurrent request won.
                _ if db.code().is_some_and(|c| c.starts_with("40")) => {
                    Self::Conflict("The request conflicted with a concurrent request; retry it".to_owned())
                }
                _ if is_connection_failure(db.code().as_deref()) => {
                    Self::Unavailable("The database is unavailable; retry shortly".to_owned())
                }
                _ if is_bad_value(db.code().as_deref()) => {
                    Self::BadRequest("A value cannot be stored in its column".to_owned())
                }
                _ => Self::Internal(format!("database error: {db}")),
            },
            _ => Self::Internal(format!("database error: {err}")),
        }
    }
}

/// PostgreSQL SQLSTATE classes 08 (connection) and 57P0x (admin shutdown, crash, cannot connect).
fn is_connection_failure(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
}

/// PostgreSQL SQLSTATE class 22 (data exception: invalid text representation, out of range, ...).
fn is_bad_value(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("22"))
}

/// Shorthand for `Result<T, kwik_core::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(Error::duplicated(), 409, "duplicated_entity", "Entity already exists")]
    #[case(Error::AccessDenied, 403, "access_denied", "Not enough privileges")]
    #[case(Error::not_found("users", 5), 404, "not_found", "Entity [users] with id=5 does not exist")]
    #[case(Error::AuthenticationFailed, 401, "authentication_failed", "Incorrect credentials")]
    #[case(Error::NotAuthenticated, 401, "not_authenticated", "Not authenticated")]
    #[case(Error::InactiveUser, 400, "inactive_user", "Inactive user")]
    #[case(Error::InvalidToken, 400, "invalid_token", "Invalid token")]
    #[case(Error::Unavailable("down".into()), 503, "service_unavailable", "down")]
    #[case(Error::Internal("secret stack".into()), 500, "internal_error", "Internal server error")]
    fn maps_to_kwik_status_and_detail(
        #[case] err: Error,
        #[case] status: u16,
        #[case] code: &str,
        #[case] detail: &str,
    ) {
        assert_eq!(err.status(), status);
        assert_eq!(err.code(), code);
        assert_eq!(err.body(), serde_json::json!({"detail": detail, "code": code}));
    }

    #[test]
    fn validation_detail_is_fastapi_list() {
        let err = Error::validation(
            ValidationIssue::new("greater_than_equal", &["query", "limit"], "Input should be >= 0")
                .with_input("-1")
                .with_ctx(serde_json::json!({"ge": 0})),
        );
        assert_eq!(err.status(), 422);
        assert_eq!(
            err.detail(),
            serde_json::json!([{
                "type": "greater_than_equal",
                "loc": ["query", "limit"],
                "msg": "Input should be >= 0",
                "input": "-1",
                "ctx": {"ge": 0}
            }])
        );
    }

    #[test]
    fn pool_timeout_is_unavailable() {
        assert_eq!(Error::from(sqlx::Error::PoolTimedOut).status(), 503);
    }
}
