//! Business validation of parsed request bodies.

use crate::error::ValidationIssue;

/// Settings-dependent validation rules handed to [`Validate`] (from the app's settings).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Kwik's `KWIK_PASSWORD_MIN_LENGTH`: minimum password length in characters.
    pub password_min_length: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Self { password_min_length: 12 }
    }
}

/// Validation run after a request body is well-formed and typed. Return every problem at once,
/// each located with `loc` such as `["body", "name"]`; they become one FastAPI-style 422.
pub trait Validate {
    /// The problems found; empty when the value is valid.
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        Vec::new()
    }
}

/// An email address as Kwik's email-validator leaves it, or `None` when it is not one: surrounding
/// space removed, syntax checked (RFC 5321/5322 through the `email_address` crate, plus a dot in
/// the domain, as email-validator requires), the domain lower-cased and the local part kept
/// (`" MiXed@EXAMPLE.Com "` → `MiXed@example.com`). The one rule for users' and resources'
/// email fields alike, so that the same address is stored the same way everywhere.
///
/// ```
/// use kwik_core::validate::normalize_email;
/// assert_eq!(normalize_email(" MiXed@EXAMPLE.Com ").as_deref(), Some("MiXed@example.com"));
/// assert_eq!(normalize_email("no-at-sign"), None);
/// assert_eq!(normalize_email("a@localhost"), None);
/// ```
pub fn normalize_email(value: &str) -> Option<String> {
    let trimmed = value.trim();
    let (local, domain) = trimmed.rsplit_once('@')?;
    if !domain.contains('.') || !email_address::EmailAddress::is_valid(trimmed) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}
