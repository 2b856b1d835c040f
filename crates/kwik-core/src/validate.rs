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
