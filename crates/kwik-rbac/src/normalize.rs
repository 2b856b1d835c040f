//! Kwik's input normalisation for names and emails.

use kwik_core::ValidationIssue;

/// The longest role or permission name, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 100;
/// The longest first name or surname, in characters.
pub const MAX_PERSON_NAME_CHARS: usize = 100;
/// The longest email address, in characters: RFC 5321 §4.5.3.1.3 bounds a path at 256 octets,
/// which leaves 254 for the address.
pub const MAX_EMAIL_CHARS: usize = 254;

/// A `string_too_long` issue (pydantic's `max_length`), echoing at most the first 100 characters.
fn too_long(value: &str, loc: &[&str], max: usize) -> ValidationIssue {
    let echoed: String = value.chars().take(100).collect();
    ValidationIssue::new("string_too_long", loc, format!("String should have at most {max} characters"))
        .with_input(echoed)
        .with_ctx(serde_json::json!({"max_length": max}))
}

/// Role and permission names: trimmed then lower-cased, 1 (Kwik) to [`MAX_NAME_CHARS`] (ours)
/// characters, so duplicates are detected case-insensitively.
///
/// # Errors
/// A `string_too_short` issue at `loc` when nothing is left after trimming; `string_too_long`
/// above the maximum.
pub fn name(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationIssue::new("string_too_short", loc, "String should have at least 1 character")
            .with_input(value)
            .with_ctx(min_length_ctx()));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(too_long(value, loc, MAX_NAME_CHARS));
    }
    Ok(trimmed.to_lowercase())
}

fn min_length_ctx() -> serde_json::Value {
    serde_json::json!({"min_length": 1})
}

/// Emails as Kwik's email-validator leaves them: syntax checked (RFC 5321/5322 via the
/// `email_address` crate), surrounding space removed, the domain lower-cased, the local part kept
/// (`MiXed@EXAMPLE.Com` → `MiXed@example.com`).
///
/// # Errors
/// A `value_error` issue at `loc` for an invalid address; `string_too_long` above
/// [`MAX_EMAIL_CHARS`].
pub fn email(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    let trimmed = value.trim();
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err(too_long(value, loc, MAX_EMAIL_CHARS));
    }
    let invalid = || {
        ValidationIssue::new("value_error", loc, "value is not a valid email address: the address is not valid")
            .with_input(value)
    };
    kwik_core::validate::normalize_email(trimmed).ok_or_else(invalid)
}

/// First names and surnames: 1 (Kwik's `UserRegistration`) to [`MAX_PERSON_NAME_CHARS`] (ours)
/// characters.
///
/// # Errors
/// A `string_too_short` issue at `loc` for an empty string; `string_too_long` above the maximum.
pub fn person_name(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    if value.is_empty() {
        return Err(ValidationIssue::new("string_too_short", loc, "String should have at least 1 character")
            .with_input(value)
            .with_ctx(min_length_ctx()));
    }
    if value.chars().count() > MAX_PERSON_NAME_CHARS {
        return Err(too_long(value, loc, MAX_PERSON_NAME_CHARS));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_lowercased() {
        assert_eq!(name("  Admin ", &["body", "name"]).unwrap(), "admin");
        assert_eq!(name("   ", &["body", "name"]).unwrap_err().kind, "string_too_short");
    }

    #[test]
    fn email_domain_is_lowercased_local_part_kept() {
        assert_eq!(email("MiXed@EXAMPLE.Com", &["body", "email"]).unwrap(), "MiXed@example.com");
        assert!(email("not-an-email", &["body", "email"]).is_err());
        assert!(email("a@localhost", &["body", "email"]).is_err());
    }
}
