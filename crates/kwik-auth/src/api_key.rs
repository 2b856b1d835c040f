//! API keys: long random secrets for machine clients, stored only as a SHA-256 digest.
//!
//! A key looks like `kwik_AbC123xY_<43 base64url characters>`:
//!
//! - `kwik_` marks it as a Kwik key (and makes leaked keys easy to find with secret scanners);
//! - an 8-character alphanumeric **prefix**, stored in clear and indexed, to find the key's row
//!   without scanning (and to show in listings, like `kwik_AbC123xY_…`);
//! - a 256-bit random **secret** (32 bytes from the thread-local CSPRNG, base64url without
//!   padding).
//!
//! # Why a fast hash is fine here
//!
//! Passwords need a slow, salted, memory-hard hash (argon2id) because people choose them from a
//! small, guessable space: a stolen hash can be brute-forced unless each guess is expensive. An API
//! key is 256 bits of uniform randomness chosen by the server, so a stolen SHA-256 digest cannot
//! be inverted or guessed (2^256 candidates) no matter how fast each try is, and a salt adds
//! nothing (no two keys collide, precomputed tables are useless). A fast hash also keeps checking
//! a key per request cheap, where argon2 would cost ~19 MiB and tens of milliseconds each time.
//! This follows the [OWASP Password Storage Cheat Sheet]'s distinction between passwords and
//! high-entropy secrets.
//!
//! [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use rand::RngExt as _;
use rand::distr::Alphanumeric;
use subtle::ConstantTimeEq as _;

/// Every key starts with this marker.
pub const KEY_MARKER: &str = "kwik_";
/// Length of the lookup prefix, in ASCII alphanumeric characters.
pub const PREFIX_LEN: usize = 8;
/// Random bytes in the secret part (256 bits), before base64url encoding (43 characters).
const SECRET_BYTES: usize = 32;
/// Shortest secret part accepted by [`ApiKey::parse_prefix`], in characters.
const MIN_SECRET_CHARS: usize = 32;

/// API key operations. Store [`GeneratedKey::prefix`] and [`GeneratedKey::hash`]; show
/// [`GeneratedKey::secret`] to the client once and never store it.
///
/// ```
/// use kwik_auth::api_key::ApiKey;
///
/// let key = ApiKey::generate();
/// assert_eq!(ApiKey::parse_prefix(&key.secret), Some(key.prefix.as_str()));
/// assert!(ApiKey::verify(&key.secret, &key.hash));
/// assert!(!ApiKey::verify("kwik_AAAAAAAA_forged", &key.hash));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiKey;

/// A freshly generated key.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The whole key, `kwik_<prefix>_<secret>`: return it to the client once, never store or log
    /// it.
    pub secret: String,
    /// The 8-character lookup prefix, to store (uniquely indexed) next to the hash. Prefixes are
    /// random, so on the rare unique-index collision simply generate another key.
    pub prefix: String,
    /// [`ApiKey::hash_key`] of [`secret`](Self::secret): 64 lowercase hex characters, to store.
    pub hash: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("secret", &"[redacted]")
            .field("prefix", &self.prefix)
            .field("hash", &self.hash)
            .finish()
    }
}

impl ApiKey {
    /// Generates a new key: `kwik_` + 8 random alphanumerics + `_` + 32 random bytes in
    /// base64url (43 characters), 57 characters in all.
    pub fn generate() -> GeneratedKey {
        let mut rng = rand::rng();
        let prefix: String = (&mut rng).sample_iter(Alphanumeric).take(PREFIX_LEN).map(char::from).collect();
        let mut bytes = [0u8; SECRET_BYTES];
        rng.fill_bytes(&mut bytes);
        let secret = format!("{KEY_MARKER}{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes));
        let hash = Self::hash_key(&secret);
        GeneratedKey { secret, prefix, hash }
    }

    /// The lookup prefix of a key in Kwik's format, or `None` if `key` is not shaped like one
    /// (`kwik_`, 8 ASCII alphanumerics, `_`, at least 32 base64url characters).
    pub fn parse_prefix(key: &str) -> Option<&str> {
        let rest = key.strip_prefix(KEY_MARKER)?;
        let prefix = rest.get(..PREFIX_LEN)?;
        let secret = rest.get(PREFIX_LEN..)?.strip_prefix('_')?;
        let well_formed = prefix.bytes().all(|b| b.is_ascii_alphanumeric())
            && secret.len() >= MIN_SECRET_CHARS
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then_some(prefix)
    }

    /// SHA-256 of the whole key, as 64 lowercase hex characters. See the [module
    /// documentation](self) for why a fast, unsalted hash is appropriate for random keys.
    pub fn hash_key(key: &str) -> String {
        crate::sha256_hex(key.as_bytes())
    }

    /// Whether `key` hashes to `stored_hash` (as written by [`hash_key`](Self::hash_key)), compared
    /// in constant time so response timing reveals nothing about the stored digest.
    pub fn verify(key: &str, stored_hash: &str) -> bool {
        Self::hash_key(key).as_bytes().ct_eq(stored_hash.as_bytes()).into()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let key = ApiKey::generate();
        assert_eq!(key.secret.len(), 5 + 8 + 1 + 43);
        assert!(key.secret.starts_with("kwik_"));
        assert_eq!(key.prefix.len(), PREFIX_LEN);
        assert_eq!(&key.secret[5..13], key.prefix);
        assert_eq!(key.hash.len(), 64);
        assert!(key.hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(!format!("{key:?}").contains(&key.secret));
    }

    #[test]
    fn debug_redacts_the_secret() {
        let key = ApiKey::generate();
        assert_eq!(
            format!("{key:?}"),
            format!("GeneratedKey {{ secret: \"[redacted]\", prefix: {:?}, hash: {:?} }}", key.prefix, key.hash)
        );
    }

    #[test]
    fn keys_are_unique() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(ApiKey::hash_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[rstest]
    #[case("")]
    #[case("kwik_")]
    #[case("kwik_abcdefgh")]
    #[case("kwik_abcdefgh_short")]
    #[case("kwik_abc_defgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    #[case("kwik_abcdefghXAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    #[case("kwik_abcdéfg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    #[case("kwik_abcdefgh_AAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAAA")]
    #[case("sk_abcdefgh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    fn malformed_keys_have_no_prefix(#[case] key: &str) {
        assert_eq!(ApiKey::parse_prefix(key), None);
    }

    #[test]
    fn parse_prefix_accepts_underscores_in_the_secret() {
        assert_eq!(ApiKey::parse_prefix("kwik_abcdefgh_AAAA_AAAA-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), Some("abcdefgh"));
    }

    #[test]
    fn verify_rejects_tampering() {
        let key = ApiKey::generate();
        assert!(ApiKey::verify(&key.secret, &key.hash));
        let mut tampered = key.secret.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(!ApiKey::verify(&tampered, &key.hash));
        assert!(!ApiKey::verify(&key.secret, &key.hash[..63]));
        assert!(!ApiKey::verify(&key.secret, &key.hash.to_uppercase()));
        assert!(!ApiKey::verify(&key.secret, ""));
    }
}
