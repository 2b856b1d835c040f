//! JWT encoding and strict decoding.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kwik_auth::jwt::{Claims, Impersonator, JwtKeys, TokenKind, password_fingerprint};
use kwik_core::Error;
use rstest::rstest;
use serde_json::{Value, json};

const SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";

fn keys() -> JwtKeys {
    JwtKeys::new(SECRET)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs arbitrary JSON claims with any algorithm and the test secret.
fn sign(alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(SECRET)).unwrap()
}

fn valid_access_json() -> Value {
    json!({
        "sub": "5",
        "exp": now() + 600,
        "iat": now(),
        "kwik_impersonate": "",
        "kwik_type": "access",
        "kwik_ver": 0
    })
}

fn assert_invalid(result: kwik_core::Result<Claims>) {
    match result {
        Err(Error::InvalidToken) => {}
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

#[test]
fn access_token_round_trips() {
    let claims = Claims::access(42, 3, Duration::minutes(15), None);
    let token = keys().encode(&claims).unwrap();
    let decoded = keys().decode(&token, TokenKind::Access).unwrap();
    assert_eq!(decoded, claims);
    assert_eq!(decoded.user_id().unwrap(), 42);
    assert_eq!(decoded.kwik_ver, 3);
    assert_eq!(decoded.impersonator(), None);
    assert!((decoded.exp - decoded.iat - 15 * 60).abs() <= 1);
    assert!((decoded.iat - now()).abs() <= 2);
}

#[test]
fn header_and_payload_are_kwik_compatible() {
    let token = keys()
        .encode(&Claims::access(7, 0, Duration::days(7), Some(Impersonator { id: 1, token_version: 4 })))
        .unwrap();
    let mut parts = token.split('.');
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    assert_eq!(header, json!({"typ": "JWT", "alg": "HS256"}));
    assert_eq!(payload["sub"], "7");
    assert_eq!(payload["kwik_impersonate"], "1");
    assert_eq!(payload["kwik_impersonator_ver"], 4);
    assert_eq!(payload["kwik_type"], "access");
    assert!(payload["exp"].is_i64());
    assert!(payload.get("jti").is_none());
}

#[test]
fn impersonation_round_trips() {
    let impersonator = Impersonator { id: 1, token_version: 2 };
    let token = keys().encode(&Claims::access(7, 0, Duration::minutes(5), Some(impersonator))).unwrap();
    let claims = keys().decode(&token, TokenKind::Access).unwrap();
    assert_eq!(claims.user_id().unwrap(), 7);
    assert_eq!(claims.impersonator(), Some(1));
    assert_eq!(claims.kwik_impersonator_ver, Some(2));
}

#[test]
fn refresh_token_round_trips_with_family_and_jti() {
    let claims = Claims::refresh(9, 1, Duration::days(30), "family-1".to_owned());
    let token = keys().encode(&claims).unwrap();
    let decoded = keys().decode(&token, TokenKind::Refresh).unwrap();
    assert_eq!(decoded.kwik_family.as_deref(), Some("family-1"));
    assert!(decoded.jti.as_ref().is_some_and(|jti| jti.len() >= 22));
    let other = Claims::refresh(9, 1, Duration::days(30), "family-1".to_owned());
    assert_ne!(decoded.jti, other.jti);
}

#[test]
fn reset_token_is_bound_to_the_password_hash() {
    let hash = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaA";
    let claims = Claims::reset(9, 0, Duration::hours(48), password_fingerprint(hash));
    let token = keys().encode(&claims).unwrap();
    let decoded = keys().decode(&token, TokenKind::Reset).unwrap();
    assert!(decoded.password_matches(hash));
    assert!(!decoded.password_matches("$argon2id$v=19$m=64,t=1,p=1$b3RoZXJzYWx0$aGFzaA"));
    assert!(!Claims::access(9, 0, Duration::hours(1), None).password_matches(hash));
}

#[test]
fn password_fingerprint_is_16_hex_chars_of_sha256() {
    // SHA-256("abc") = ba7816bf8f01cfea...
    assert_eq!(password_fingerprint("abc"), "ba7816bf8f01cfea");
    assert_ne!(password_fingerprint("hash-a"), password_fingerprint("hash-b"));
}

#[rstest]
#[case::expired_an_hour_ago(-3600)]
#[case::expired_a_second_ago(-1)]
#[case::expiring_now(0)]
fn expired_token_is_invalid(#[case] offset: i64) {
    let mut claims = Claims::access(1, 0, Duration::minutes(5), None);
    claims.exp = now() + offset;
    let token = keys().encode(&claims).unwrap();
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[test]
fn negative_ttl_gives_an_expired_token() {
    let token = keys().encode(&Claims::access(1, 0, Duration::minutes(-1), None)).unwrap();
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[test]
fn token_signed_with_another_key_is_invalid() {
    let token = JwtKeys::new(b"another-secret-that-is-at-least-32-bytes")
        .encode(&Claims::access(1, 0, Duration::minutes(5), None))
        .unwrap();
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[test]
fn tampered_payload_is_invalid() {
    let token = keys().encode(&Claims::access(1, 0, Duration::minutes(5), None)).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = valid_access_json();
    payload["sub"] = json!("1");
    payload["kwik_impersonate"] = json!("2");
    let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_invalid(keys().decode(&forged, TokenKind::Access));
}

#[rstest]
#[case::alg_none(json!({"alg": "none", "typ": "JWT"}), "")]
#[case::alg_none_with_signature(json!({"alg": "none", "typ": "JWT"}), "c2ln")]
#[case::alg_none_capitalised(json!({"alg": "None", "typ": "JWT"}), "")]
#[case::rs256_with_garbage_signature(json!({"alg": "RS256", "typ": "JWT"}), "c2ln")]
#[case::es256_with_garbage_signature(json!({"alg": "ES256", "typ": "JWT"}), "c2ln")]
fn hand_built_tokens_with_other_algorithms_are_invalid(#[case] header: Value, #[case] signature: &str) {
    let token = format!("{}.{}.{}", b64(&header), b64(&valid_access_json()), signature);
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[rstest]
#[case(Algorithm::HS384)]
#[case(Algorithm::HS512)]
fn other_hmac_algorithms_are_invalid(#[case] alg: Algorithm) {
    let token = sign(alg, &valid_access_json());
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[test]
fn hand_signed_hs256_token_is_accepted() {
    // Sanity check for the tests above: the same claims signed with HS256 do decode.
    let token = sign(Algorithm::HS256, &valid_access_json());
    let claims = keys().decode(&token, TokenKind::Access).unwrap();
    assert_eq!(claims.user_id().unwrap(), 5);
}

#[rstest]
#[case::refresh_as_access(Claims::refresh(1, 0, Duration::days(1), "f".to_owned()), TokenKind::Access)]
#[case::reset_as_access(Claims::reset(1, 0, Duration::days(1), "0123456789abcdef".to_owned()), TokenKind::Access)]
#[case::access_as_refresh(Claims::access(1, 0, Duration::days(1), None), TokenKind::Refresh)]
#[case::access_as_reset(Claims::access(1, 0, Duration::days(1), None), TokenKind::Reset)]
#[case::reset_as_refresh(Claims::reset(1, 0, Duration::days(1), "0123456789abcdef".to_owned()), TokenKind::Refresh)]
fn wrong_kind_is_invalid(#[case] claims: Claims, #[case] expected: TokenKind) {
    let token = keys().encode(&claims).unwrap();
    assert_invalid(keys().decode(&token, expected));
}

#[rstest]
#[case::missing_exp("exp", None)]
#[case::missing_kwik_type("kwik_type", None)]
#[case::missing_kwik_impersonate("kwik_impersonate", None)]
#[case::missing_kwik_ver("kwik_ver", None)]
#[case::integer_sub("sub", Some(json!(5)))]
#[case::non_integer_sub("sub", Some(json!("admin@example.com")))]
#[case::empty_sub("sub", Some(json!("")))]
#[case::string_exp("exp", Some(json!("tomorrow")))]
#[case::unknown_kind("kwik_type", Some(json!("admin")))]
#[case::non_integer_impersonator("kwik_impersonate", Some(json!("root")))]
#[case::nbf_in_the_future("nbf", Some(json!(chrono::Utc::now().timestamp() + 600)))]
#[case::audience("aud", Some(json!("someone-else")))]
fn malformed_claims_are_invalid(#[case] field: &str, #[case] value: Option<Value>) {
    let mut payload = valid_access_json();
    match value {
        Some(value) => payload[field] = value,
        None => {
            payload.as_object_mut().unwrap().remove(field);
        }
    }
    let token = sign(Algorithm::HS256, &payload);
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[test]
fn nbf_in_the_past_is_accepted() {
    let mut payload = valid_access_json();
    payload["nbf"] = json!(now() - 10);
    let token = sign(Algorithm::HS256, &payload);
    assert!(keys().decode(&token, TokenKind::Access).is_ok());
}

#[test]
fn crit_header_is_invalid() {
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp".to_owned()]);
    let token = jsonwebtoken::encode(&header, &valid_access_json(), &EncodingKey::from_secret(SECRET)).unwrap();
    assert_invalid(keys().decode(&token, TokenKind::Access));
}

#[rstest]
#[case("")]
#[case("garbage")]
#[case("a.b")]
#[case("a.b.c")]
#[case("a.b.c.d")]
#[case("....")]
fn undecodable_tokens_are_invalid(#[case] token: &str) {
    assert_invalid(keys().decode(token, TokenKind::Access));
}

#[rstest]
#[case("admin")]
#[case("")]
#[case("1.5")]
#[case("99999999999999999999")]
fn non_integer_sub_is_rejected_by_user_id(#[case] sub: &str) {
    let mut claims = Claims::access(1, 0, Duration::minutes(5), None);
    claims.sub = sub.to_owned();
    assert!(matches!(claims.user_id(), Err(Error::InvalidToken)));
}

#[test]
fn impersonator_is_none_for_empty_or_garbage() {
    let mut claims = Claims::access(1, 0, Duration::minutes(5), None);
    assert_eq!(claims.impersonator(), None);
    claims.kwik_impersonate = "x".to_owned();
    assert_eq!(claims.impersonator(), None);
    claims.kwik_impersonate = "12".to_owned();
    assert_eq!(claims.impersonator(), Some(12));
}

/// Kwik (CONTRACT §4): a correctly signed token without `sub` is 403 `Not enough privileges`.
#[test]
fn token_without_subject_is_access_denied() {
    let mut payload = valid_access_json();
    payload.as_object_mut().unwrap().remove("sub");
    let token = sign(Algorithm::HS256, &payload);
    assert!(matches!(keys().decode(&token, TokenKind::Access), Err(kwik_core::Error::AccessDenied)));
}

/// `kwik_impersonate` must be an integer even when `kwik_impersonator_ver` is present.
#[rstest]
#[case("root")]
#[case(" 1")]
fn non_integer_impersonator_with_its_version_is_invalid(#[case] impersonate: &str) {
    let mut payload = valid_access_json();
    payload["kwik_impersonate"] = json!(impersonate);
    payload["kwik_impersonator_ver"] = json!(0);
    assert_invalid(keys().decode(&sign(Algorithm::HS256, &payload), TokenKind::Access));
    payload["kwik_impersonate"] = json!("1");
    assert_eq!(keys().decode(&sign(Algorithm::HS256, &payload), TokenKind::Access).unwrap().impersonator(), Some(1));
}
