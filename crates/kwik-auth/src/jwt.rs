//! JSON Web Tokens ([RFC 7519]) signed with HS256 ([RFC 7518 §3.2]), carrying Kwik's claims.
//!
//! Kwik's access token is `{"sub": "<user id>", "exp": <seconds>, "kwik_impersonate": ""}`
//! (CONTRACT §6). Kwik for Rust adds:
//!
//! - `iat`: issue time, in seconds since the Unix epoch;
//! - `kwik_type`: `"access"`, `"refresh"` or `"reset"`, checked on decode so that a refresh or
//!   password-reset token can never be used as an access token;
//! - `kwik_ver`: the user's token version at issuance; bumping the stored version (on password
//!   change, deactivation, "log out everywhere") revokes every older token;
//! - `jti` and `kwik_family` on refresh tokens, for rotation and reuse detection;
//! - `pwd` on reset tokens: a fingerprint of the password hash ([`password_fingerprint`]), as in
//!   Kwik, so a reset token dies once the password has changed (single use).
//!
//! Decoding is strict: HS256 only (`alg: none`, HS384/HS512 and asymmetric algorithms are
//! refused), the signature is checked, `exp` is required and enforced with zero leeway, `nbf` is
//! enforced when present, and any failure is [`Error::InvalidToken`], which Kwik answers with
//! `400 {"detail": "Invalid token"}`.
//!
//! [RFC 7519]: https://www.rfc-editor.org/rfc/rfc7519
//! [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kwik_core::{Error, Result};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

/// What a token may be used for; serialized as the `kwik_type` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// `"access"`: authenticates API requests (`Authorization: Bearer ...`).
    Access,
    /// `"refresh"`: exchanged for a new access token (and a rotated refresh token).
    Refresh,
    /// `"reset"`: authorizes one password reset (`POST /login/reset-password`).
    Reset,
}

impl TokenKind {
    /// The claim value: `"access"`, `"refresh"` or `"reset"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
            Self::Reset => "reset",
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// [`Claims`] as a token carries them: `sub` may be missing, which Kwik answers differently (403)
/// from a `sub` that is present but wrong (400).
#[derive(Deserialize)]
struct IncomingClaims {
    sub: Option<String>,
    exp: i64,
    iat: i64,
    kwik_impersonate: String,
    kwik_impersonator_ver: Option<i64>,
    kwik_type: TokenKind,
    kwik_ver: i64,
    jti: Option<String>,
    kwik_family: Option<String>,
    pwd: Option<String>,
}

impl From<IncomingClaims> for Claims {
    fn from(incoming: IncomingClaims) -> Self {
        Self {
            sub: incoming.sub.unwrap_or_default(),
            exp: incoming.exp,
            iat: incoming.iat,
            kwik_impersonate: incoming.kwik_impersonate,
            kwik_impersonator_ver: incoming.kwik_impersonator_ver,
            kwik_type: incoming.kwik_type,
            kwik_ver: incoming.kwik_ver,
            jti: incoming.jti,
            kwik_family: incoming.kwik_family,
            pwd: incoming.pwd,
        }
    }
}

/// The user behind an impersonation token: their id and their token version at issuance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Impersonator {
    /// The impersonating user's id.
    pub id: i64,
    /// Their token version when the impersonation token was issued.
    pub token_version: i64,
}

/// The claims of a Kwik token. Times are seconds since the Unix epoch (RFC 7519 `NumericDate`).
///
/// Optional claims are omitted from the token when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the user id as a decimal string (Kwik's format), e.g. `"5"`. A token without it is
    /// refused by [`JwtKeys::decode`] with Kwik's 403.
    #[serde(default)]
    pub sub: String,
    /// Expiration time, in seconds since the epoch. The token is refused at and after this time.
    pub exp: i64,
    /// Issued-at time, in seconds since the epoch.
    pub iat: i64,
    /// `""`, or the id (as a decimal string) of the user impersonating `sub` (Kwik's claim).
    pub kwik_impersonate: String,
    /// Impersonation tokens: the impersonator's token version at issuance, so that the session
    /// ends when the impersonator's tokens are revoked (password change, deactivation) — not
    /// only the impersonated user's. Absent on other tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwik_impersonator_ver: Option<i64>,
    /// What the token may be used for.
    pub kwik_type: TokenKind,
    /// The user's token version at issuance; a token whose version differs from the user's
    /// current one is revoked.
    pub kwik_ver: i64,
    /// Unique token id (RFC 7519 §4.1.7), set on refresh tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Refresh-token family: every token obtained by rotating one refresh token shares it, so
    /// reuse of a rotated token can revoke the whole family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kwik_family: Option<String>,
    /// Reset tokens: [`password_fingerprint`] of the password hash at issuance (Kwik's `pwd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pwd: Option<String>,
}

impl Claims {
    fn new(kind: TokenKind, user_id: i64, version: i64, ttl: chrono::Duration) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            sub: user_id.to_string(),
            exp: now.saturating_add(ttl.num_seconds()),
            iat: now,
            kwik_impersonate: String::new(),
            kwik_impersonator_ver: None,
            kwik_type: kind,
            kwik_ver: version,
            jti: None,
            kwik_family: None,
            pwd: None,
        }
    }

    /// Access-token claims for `user_id`, valid for `ttl` from now (Kwik's
    /// `ACCESS_TOKEN_EXPIRE_MINUTES`, 7 days by default). With `impersonator`, the token acts as
    /// `user_id` on behalf of that user (`kwik_impersonate`, `kwik_impersonator_ver`).
    pub fn access(user_id: i64, version: i64, ttl: chrono::Duration, impersonator: Option<Impersonator>) -> Self {
        let mut claims = Self::new(TokenKind::Access, user_id, version, ttl);
        if let Some(impersonator) = impersonator {
            claims.kwik_impersonate = impersonator.id.to_string();
            claims.kwik_impersonator_ver = Some(impersonator.token_version);
        }
        claims
    }

    /// Refresh-token claims for `user_id`, valid for `ttl` from now, in refresh-token `family`,
    /// with a fresh random `jti` (128 bits, base64url).
    pub fn refresh(user_id: i64, version: i64, ttl: chrono::Duration, family: String) -> Self {
        let mut claims = Self::new(TokenKind::Refresh, user_id, version, ttl);
        claims.jti = Some(random_id());
        claims.kwik_family = Some(family);
        claims
    }

    /// Password-reset claims for `user_id`, valid for `ttl` from now (Kwik uses 48 hours), bound
    /// to the current password through `pwd_fingerprint` (see [`password_fingerprint`]).
    pub fn reset(user_id: i64, version: i64, ttl: chrono::Duration, pwd_fingerprint: String) -> Self {
        let mut claims = Self::new(TokenKind::Reset, user_id, version, ttl);
        claims.pwd = Some(pwd_fingerprint);
        claims
    }

    /// The user id in `sub`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] if `sub` is not a decimal 64-bit integer.
    pub fn user_id(&self) -> Result<i64> {
        parse_id(&self.sub).ok_or(Error::InvalidToken)
    }

    /// The impersonating user's id, or `None` when `kwik_impersonate` is empty (or, for claims
    /// that did not come from [`JwtKeys::decode`], not an integer).
    pub fn impersonator(&self) -> Option<i64> {
        parse_id(&self.kwik_impersonate)
    }

    /// Whether this (reset) token's `pwd` claim matches the fingerprint of `current_hash`, the
    /// user's stored password hash, compared in constant time. `false` when `pwd` is absent.
    pub fn password_matches(&self, current_hash: &str) -> bool {
        self.pwd
            .as_deref()
            .is_some_and(|pwd| pwd.as_bytes().ct_eq(password_fingerprint(current_hash).as_bytes()).into())
    }
}

/// Parses Python-`int()`-style ids strictly: ASCII digits with an optional sign, no spaces.
fn parse_id(value: &str) -> Option<i64> {
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Kwik's reset-token `pwd` claim: the first 16 hex characters (64 bits) of SHA-256 of the stored
/// password hash. Changing the password changes the hash, which invalidates outstanding reset
/// tokens.
pub fn password_fingerprint(hash: &str) -> String {
    let mut hex = crate::sha256_hex(hash.as_bytes());
    hex.truncate(16);
    hex
}

/// The HS256 signing and verification key (Kwik's `SECRET_KEY`). Cheap enough to clone; its
/// [`Debug`] output never shows the secret.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys").field("algorithm", &"HS256").finish_non_exhaustive()
    }
}

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
const MIN_SECRET_BYTES: usize = 32;

impl JwtKeys {
    /// Keys for HS256 with `secret`. Use at least 32 random bytes (RFC 7518 §3.2); Kwik's
    /// default `SECRET_KEY` is `secrets.token_urlsafe(32)`, 43 characters. A shorter secret is
    /// accepted (existing deployments may have one) but logged as a warning (its length only).
    pub fn new(secret: &[u8]) -> Self {
        if secret.len() < MIN_SECRET_BYTES {
            tracing::warn!(
                length = secret.len(),
                minimum = MIN_SECRET_BYTES,
                "the JWT secret is shorter than recommended for HS256"
            );
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // `sub` is checked below: a signed token without it is Kwik's 403, not a 400.
        validation.set_required_spec_claims(&["exp"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    /// Signs `claims` as an HS256 JWT with header `{"typ": "JWT", "alg": "HS256"}`.
    ///
    /// # Errors
    /// [`Error::Internal`] if the claims cannot be serialized or signed (the message never
    /// contains the key).
    pub fn encode(&self, claims: &Claims) -> Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|err| Error::Internal(format!("failed to sign a token: {err}")))
    }

    /// Verifies `token` and returns its claims if it is a valid token of kind `expected`.
    ///
    /// Checks, in order: the header names HS256 and has no `crit`; the signature; `exp` is
    /// present and in the future (zero leeway: a token is refused from second `exp` on,
    /// RFC 7519 §4.1.4); `nbf`, if present, is not in the future; the claims have Kwik's shape
    /// (`sub` and `kwik_impersonate` strings, `kwik_type`, `kwik_ver`, `iat`); `kwik_type` equals
    /// `expected`; `sub` is an integer and `kwik_impersonate` is empty or an integer, and
    /// `kwik_impersonator_ver` is present exactly when `kwik_impersonate` is not empty.
    ///
    /// The token version (`kwik_ver`) and, for reset tokens, the password fingerprint are checked
    /// by the caller against the stored user.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for any failure (Kwik answers `400 Invalid token`), except a
    /// correctly signed token of the right kind without `sub`: [`Error::AccessDenied`] (Kwik's 403).
    pub fn decode(&self, token: &str, expected: TokenKind) -> Result<Claims> {
        let data = jsonwebtoken::decode::<IncomingClaims>(token, &self.decoding, &self.validation).map_err(|err| {
            tracing::debug!(reason = %err, "token rejected");
            Error::InvalidToken
        })?;
        let subject_missing = data.claims.sub.is_none();
        let claims = Claims::from(data.claims);
        let reason = if data.header.crit.is_some() {
            "unsupported critical header"
        } else if claims.exp <= chrono::Utc::now().timestamp() {
            "expired"
        } else if claims.kwik_type != expected {
            "wrong token kind"
        } else if subject_missing {
            // Kwik: a valid token without `sub` is 403 `Not enough privileges`.
            return Err(Error::AccessDenied);
        } else if parse_id(&claims.sub).is_none() {
            "sub is not an integer"
        } else if !claims.kwik_impersonate.is_empty() && claims.impersonator().is_none() {
            "kwik_impersonate is not an integer"
        } else if claims.kwik_impersonate.is_empty() != claims.kwik_impersonator_ver.is_none() {
            "kwik_impersonate without kwik_impersonator_ver, or the reverse"
        } else {
            return Ok(claims);
        };
        tracing::debug!(reason, "token rejected");
        Err(Error::InvalidToken)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("5", Some(5))]
    #[case("-3", Some(-3))]
    #[case("+7", Some(7))]
    #[case("", None)]
    #[case(" 5", None)]
    #[case("5 ", None)]
    #[case("abc", None)]
    #[case("-", None)]
    #[case("99999999999999999999", None)]
    fn parses_ids_strictly(#[case] input: &str, #[case] expected: Option<i64>) {
        assert_eq!(parse_id(input), expected);
    }

    #[test]
    fn token_kind_serializes_lowercase() {
        assert_eq!(serde_json::to_value(TokenKind::Refresh).unwrap(), serde_json::json!("refresh"));
        assert_eq!(TokenKind::Reset.to_string(), "reset");
    }

    #[test]
    fn optional_claims_are_omitted() {
        let claims = Claims::access(1, 0, chrono::Duration::minutes(5), None);
        let value = serde_json::to_value(&claims).unwrap();
        let object = value.as_object().unwrap();
        assert!(!object.contains_key("jti"));
        assert!(!object.contains_key("kwik_family"));
        assert!(!object.contains_key("pwd"));
        assert_eq!(object["kwik_impersonate"], "");
        assert_eq!(object["sub"], "1");
    }

    #[test]
    fn debug_hides_the_secret() {
        let keys = JwtKeys::new(b"super-secret-value-that-is-long-enough!!");
        assert!(!format!("{keys:?}").contains("super-secret"));
        assert_eq!(format!("{keys:?}"), r#"JwtKeys { algorithm: "HS256", .. }"#);
    }
}
