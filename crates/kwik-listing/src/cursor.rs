//! Signed keyset cursors.
//!
//! A cursor is `base64url(payload ‖ HMAC-SHA256(key, domain ‖ table ‖ payload))` without padding,
//! where the payload is the JSON `{"v":1,"s":"<sort spec>","k":[<sort-key values>]}`. The table
//! name in the MAC makes a cursor of one resource useless on another; the sort spec in the payload
//! lets the parser refuse a cursor reused with another sorting.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use kwik_core::Error;

/// The HMAC-SHA256 key that signs and verifies cursors.
///
/// Derived from an application secret (for example Kwik's `SECRET_KEY`) with a domain separator,
/// so the same secret can also sign JWTs without a cursor ever being valid as anything else.
/// Cursors survive restarts only if the secret does. `Debug` never shows the key.
#[derive(Clone)]
pub struct CursorKey {
    mac: Hmac<Sha256>,
}

const KEY_DOMAIN: &[u8] = b"kwik-listing/cursor-key/v1\0";
const MAC_DOMAIN: &[u8] = b"kwik-listing/cursor/v1\0";
const TAG_LEN: usize = 32;
/// Longer tokens are refused before decoding.
pub(crate) const MAX_CURSOR_LEN: usize = 8 * 1024;
const VERSION: u8 = 1;

impl CursorKey {
    /// A key derived from `secret` (any length; use at least 32 random bytes).
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        let derived = Sha256::new().chain_update(KEY_DOMAIN).chain_update(secret.as_ref()).finalize();
        // HMAC pads keys shorter than its block to the block size with zeros; doing it here lets us
        // use the infallible fixed-size constructor.
        let mut block = [0_u8; 64];
        block[..derived.len()].copy_from_slice(&derived);
        Self { mac: Hmac::<Sha256>::new(&block.into()) }
    }

    fn tag(&self, table: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(MAC_DOMAIN);
        mac.update(table.as_bytes());
        mac.update(b"\0");
        mac.update(payload);
        mac
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: u8,
    s: String,
    k: Vec<serde_json::Value>,
}

/// Signs a cursor for `table` over the canonical sort spec and the last row's key values.
pub(crate) fn encode(key: &CursorKey, table: &str, sort: &str, values: Vec<serde_json::Value>) -> String {
    let payload = Payload { v: VERSION, s: sort.to_owned(), k: values };
    // Serializing strings and JSON values cannot fail.
    let mut bytes = serde_json::to_vec(&payload).unwrap_or_default();
    let tag = key.tag(table, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn invalid() -> Error {
    Error::InvalidListQuery("Invalid cursor".to_owned())
}

/// Verifies a cursor for `table` and returns its key values, checking that it was issued for `sort`.
///
/// # Errors
/// 400 `Invalid cursor` when the token is malformed, truncated, tampered with or was signed by
/// another key or for another resource; 400 when it was issued for another sorting.
pub(crate) fn decode(key: &CursorKey, table: &str, sort: &str, token: &str) -> Result<Vec<serde_json::Value>, Error> {
    if token.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let Some(split) = bytes.len().checked_sub(TAG_LEN) else {
        return Err(invalid());
    };
    let (payload, tag) = bytes.split_at(split);
    key.tag(table, payload).verify_slice(tag).map_err(|_| invalid())?;
    let payload: Payload = serde_json::from_slice(payload).map_err(|_| invalid())?;
    if payload.v != VERSION {
        return Err(invalid());
    }
    if payload.s != sort {
        return Err(Error::InvalidListQuery(format!(
            "Invalid cursor: it was issued for sorting '{}', not '{sort}'",
            payload.s
        )));
    }
    Ok(payload.k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(err: &Error) -> String {
        err.to_string()
    }

    #[test]
    fn round_trip() {
        let key = CursorKey::new("secret");
        let token = encode(&key, "users", "name:asc,id:asc", vec![json!("bob"), json!(3)]);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let values = decode(&key, "users", "name:asc,id:asc", &token).ok();
        assert_eq!(values, Some(vec![json!("bob"), json!(3)]));
    }

    #[test]
    fn other_key_table_or_tampering_is_invalid() {
        let key = CursorKey::new("secret");
        let token = encode(&key, "users", "id:asc", vec![json!(3)]);
        let other = CursorKey::new("other secret");
        for (key, table, token) in [
            (&other, "users", token.clone()),
            (&key, "roles", token.clone()),
            (&key, "users", token[..token.len() - 1].to_owned()),
            (&key, "users", format!("{token}A")),
            (&key, "users", token.replace(|c: char| c.is_ascii_digit(), "x")),
            (&key, "users", "!!!".to_owned()),
            (&key, "users", "AAAA".to_owned()),
        ] {
            let err = decode(key, table, "id:asc", &token).err();
            assert_eq!(err.as_ref().map(detail).as_deref(), Some("Invalid cursor"), "{token}");
        }
    }

    #[test]
    fn flipped_payload_byte_is_invalid() {
        let key = CursorKey::new("secret");
        let token = encode(&key, "users", "id:asc", vec![json!(3)]);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
        bytes[10] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        assert!(decode(&key, "users", "id:asc", &forged).is_err());
    }

    #[test]
    fn another_sorting_is_refused() {
        let key = CursorKey::new("secret");
        let token = encode(&key, "users", "id:asc", vec![json!(3)]);
        let err = decode(&key, "users", "id:desc", &token).err().map(|e| detail(&e));
        assert_eq!(err.as_deref(), Some("Invalid cursor: it was issued for sorting 'id:asc', not 'id:desc'"));
    }

    /// A cursor for `users` sorted by `name:asc`, holding one text value, exactly `len` characters
    /// long (a base64 length: not 1 modulo 4).
    fn cursor_of_length(key: &CursorKey, len: usize) -> String {
        // `len` base64 characters carry `len * 3 / 4` bytes: the tag, the JSON around the value,
        // and the value.
        (len * 3 / 4 - TAG_LEN - 60..len)
            .map(|filler| encode(key, "users", "name:asc", vec![json!("x".repeat(filler))]))
            .find(|token| token.len() == len)
            .unwrap_or_default()
    }

    #[test]
    fn cursors_up_to_the_length_cap_decode_longer_ones_do_not() {
        let key = CursorKey::new("secret");
        let longest = cursor_of_length(&key, MAX_CURSOR_LEN);
        assert_eq!(longest.len(), MAX_CURSOR_LEN);
        assert!(decode(&key, "users", "name:asc", &longest).is_ok());
        let too_long = cursor_of_length(&key, MAX_CURSOR_LEN + 2);
        assert_eq!(too_long.len(), MAX_CURSOR_LEN + 2);
        let err = decode(&key, "users", "name:asc", &too_long).err();
        assert_eq!(err.as_ref().map(detail).as_deref(), Some("Invalid cursor"));
    }

    #[test]
    fn debug_hides_the_key() {
        assert_eq!(format!("{:?}", CursorKey::new("hunter2")), "CursorKey(..)");
    }
}
