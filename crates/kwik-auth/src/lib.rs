//! # kwik-auth
//!
//! Credentials for Kwik for Rust, with no HTTP and no database:
//!
//! - [`password`]: argon2id hashing with the [OWASP Password Storage Cheat Sheet] parameters
//!   (19 MiB = 19456 KiB of memory, 2 iterations, parallelism 1), run on Tokio's blocking pool;
//!   verification of the bcrypt hashes written by Python Kwik (reported as needing a rehash); a
//!   constant-time path for unknown users; Kwik's password policy (at least
//!   `PASSWORD_MIN_LENGTH` = 12 characters, at most 72 UTF-8 bytes) with Kwik's exact messages.
//! - [`jwt`]: HS256 JSON Web Tokens ([RFC 7519]) with Kwik's claims (`sub`, `exp`,
//!   `kwik_impersonate`) plus a token kind, a revocation version and refresh-token families.
//!   Times are seconds since the Unix epoch. Every decoding failure is
//!   [`Error::InvalidToken`](kwik_core::Error::InvalidToken) (Kwik's `400 Invalid token`).
//! - [`api_key`]: random 256-bit API keys with a lookup prefix, stored as SHA-256 digests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> kwik_core::Result<()> {
//! use kwik_auth::{Argon2Params, Claims, JwtKeys, PasswordHasher, PasswordPolicy, TokenKind, Verification};
//!
//! // Registration: check the policy, then hash. (`PasswordHasher::default()` in production;
//! // tiny parameters keep this example fast.)
//! let hasher = PasswordHasher::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 })?;
//! PasswordPolicy::default()
//!     .check("correct horse battery staple", &["body", "password"])
//!     .map_err(kwik_core::Error::validation)?;
//! let stored = hasher.hash("correct horse battery staple").await?;
//!
//! // Login: verify (also for unknown users, with `None`), then issue an access token.
//! let outcome = hasher.verify("correct horse battery staple", Some(&stored)).await?;
//! assert_eq!(outcome, Verification::Valid { needs_rehash: false });
//! assert_eq!(hasher.verify("anything", None).await?, Verification::Invalid);
//!
//! let keys = JwtKeys::new(b"a 32+ byte random secret, e.g. from SECRET_KEY");
//! let token = keys.encode(&Claims::access(42, 0, chrono::Duration::minutes(15), None))?;
//!
//! // Each request: decode as an access token.
//! let claims = keys.decode(&token, TokenKind::Access)?;
//! assert_eq!(claims.user_id()?, 42);
//! assert_eq!(claims.impersonator(), None);
//! // The same token is not a refresh token.
//! assert!(keys.decode(&token, TokenKind::Refresh).is_err());
//! # Ok(())
//! # }
//! ```
//!
//! Secrets (passwords, keys, tokens) never appear in error messages, logs or `Debug` output.
//!
//! [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
//! [RFC 7519]: https://www.rfc-editor.org/rfc/rfc7519
#![forbid(unsafe_code)]

pub mod api_key;
pub mod jwt;
pub mod password;

pub use api_key::{ApiKey, GeneratedKey};
pub use jwt::{Claims, Impersonator, JwtKeys, TokenKind, password_fingerprint};
pub use password::{Argon2Params, PasswordHasher, PasswordPolicy, Verification};

/// SHA-256 of `data` as 64 lowercase hex characters (API keys are stored this way; rate-limit
/// keys in Redis name clients this way).
#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    use std::fmt::Write as _;

    Sha256::digest(data).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}
