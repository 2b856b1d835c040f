//! Kwik's input normalisation for names and emails.

use kwik_core::ValidationIssue;

/// Role and permission names: trimmed then lower-cased, at least one character (Kwik), so
/// duplicates are detected case-insensitively.
///
/// # Errors
/// A `string_too_short` issue at `loc` when nothing is left after trimming.
pub fn name(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationIssue::new("string_too_short", loc, "String should have at least 1 character")
            .with_input(value)
            .with_ctx(min_length_ctx()));
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
/// A `value_error` issue at `loc` for an invalid address.
pub fn email(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    let trimmed = value.trim();
    let invalid = || {
        ValidationIssue::new("value_error", loc, "value is not a valid email address: the address is not valid")
            .with_input(value)
    };
    let (local, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
    if !domain.contains('.') || !email_address::EmailAddress::is_valid(trimmed) {
        return Err(invalid());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// First names and surnames: at least one character (Kwik's `UserRegistration`).
///
/// # Errors
/// A `string_too_short` issue at `loc` for an empty string.
pub fn person_name(value: &str, loc: &[&str]) -> Result<String, ValidationIssue> {
    if value.is_empty() {
        return Err(ValidationIssue::new("string_too_short", loc, "String should have at least 1 character")
            .with_input(value)
            .with_ctx(min_length_ctx()));
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
