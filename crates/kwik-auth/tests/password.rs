//! Password hashing, verification and policy.
#![allow(clippy::unwrap_used)]

use kwik_auth::password::{Argon2Params, PasswordHasher, PasswordPolicy, Verification};
use rstest::rstest;
use serde_json::json;

const FAST: Argon2Params = Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 };

fn hasher() -> PasswordHasher {
    PasswordHasher::new(FAST).unwrap()
}

const VALID_FRESH: Verification = Verification::Valid { needs_rehash: false };
const VALID_REHASH: Verification = Verification::Valid { needs_rehash: true };

#[tokio::test]
async fn hash_then_verify_round_trips() {
    let hasher = hasher();
    let hash = hasher.hash("correct horse battery").await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    assert_eq!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap(), VALID_FRESH);
}

#[tokio::test]
async fn hashes_are_salted() {
    let hasher = hasher();
    let a = hasher.hash("same password here").await.unwrap();
    let b = hasher.hash("same password here").await.unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn hash_never_contains_the_password() {
    let hash = hasher().hash("plaintextpassword").await.unwrap();
    assert!(!hash.contains("plaintextpassword"));
}

#[rstest]
#[case("correct horse batterY")]
#[case("correct horse battery ")]
#[case("")]
#[tokio::test]
async fn wrong_password_is_invalid(#[case] attempt: &str) {
    let hasher = hasher();
    let hash = hasher.hash("correct horse battery").await.unwrap();
    assert_eq!(hasher.verify(attempt, Some(&hash)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn unicode_passwords_round_trip() {
    let hasher = hasher();
    let hash = hasher.hash("pässwörd-🔐-ünïcödé").await.unwrap();
    assert!(hasher.verify("pässwörd-🔐-ünïcödé", Some(&hash)).await.unwrap().is_valid());
}

#[tokio::test]
async fn other_argon2_parameters_need_rehash() {
    let old = PasswordHasher::new(Argon2Params { memory_kib: 32, iterations: 2, parallelism: 1 }).unwrap();
    let hash = old.hash("correct horse battery").await.unwrap();
    assert_eq!(hasher().verify("correct horse battery", Some(&hash)).await.unwrap(), VALID_REHASH);
    assert_eq!(hasher().verify("wrong", Some(&hash)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn argon2i_hash_verifies_and_needs_rehash() {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(64, 1, 1, None).unwrap());
    let hash = argon2i.hash_password(b"correct horse battery").unwrap().to_string();
    assert!(hash.starts_with("$argon2i$"));
    assert_eq!(hasher().verify("correct horse battery", Some(&hash)).await.unwrap(), VALID_REHASH);
}

#[rstest]
#[case("$2b$")]
#[case("$2a$")]
#[case("$2y$")]
#[tokio::test]
async fn legacy_bcrypt_verifies_and_needs_rehash(#[case] variant: &str) {
    let bcrypt_hash = bcrypt::hash("kwik legacy password", 4).unwrap();
    assert!(bcrypt_hash.starts_with("$2b$04$"));
    let hash = format!("{variant}{}", &bcrypt_hash[4..]);
    let hasher = hasher();
    assert_eq!(hasher.verify("kwik legacy password", Some(&hash)).await.unwrap(), VALID_REHASH);
    assert_eq!(hasher.verify("kwik legacy passworD", Some(&hash)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn bcrypt_never_matches_passwords_over_72_bytes() {
    // bcrypt only reads 72 bytes; a longer password must not match by its first 72 bytes.
    let base = "x".repeat(72);
    let hash = bcrypt::hash(&base, 4).unwrap();
    let hasher = hasher();
    assert_eq!(hasher.verify(&base, Some(&hash)).await.unwrap(), VALID_REHASH);
    assert_eq!(hasher.verify(&format!("{base}tail"), Some(&hash)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn bcrypt_2x_variant_is_not_accepted() {
    let hash = bcrypt::hash("kwik legacy password", 4).unwrap();
    let hash = format!("$2x${}", &hash[4..]);
    assert_eq!(hasher().verify("kwik legacy password", Some(&hash)).await.unwrap(), Verification::Invalid);
}

#[rstest]
#[case::empty("")]
#[case::garbage("not a hash")]
#[case::dollar("$")]
#[case::unknown_algorithm("$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA")]
#[case::truncated_argon2("$argon2id$v=19$m=64,t=1,p=1$")]
#[case::argon2_bad_params(
    "$argon2id$v=19$m=x,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)]
#[case::argon2_unknown_param(
    "$argon2id$v=19$m=64,t=1,p=1,z=3$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)]
#[case::argon2_bad_version(
    "$argon2id$v=7$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)]
#[case::argon2_bad_base64("$argon2id$v=19$m=64,t=1,p=1$!!!!$????")]
#[case::argon2_no_hash("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA")]
#[case::bcrypt_short("$2b$12$tooshort")]
#[case::bcrypt_bad_cost("$2b$xx$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq")]
#[case::bcrypt_cost_too_low("$2b$01$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq")]
#[case::bcrypt_non_ascii("$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBéé")]
#[case::plain_text_password("correct horse battery")]
#[tokio::test]
async fn malformed_stored_hash_is_invalid(#[case] stored: &str) {
    assert_eq!(hasher().verify("correct horse battery", Some(stored)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn unknown_user_is_invalid() {
    let hasher = hasher();
    assert_eq!(hasher.verify("any password", None).await.unwrap(), Verification::Invalid);
    assert_eq!(hasher.verify("", None).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn hasher_is_cheap_to_clone_and_shares_params() {
    let a = hasher();
    let b = a.clone();
    assert_eq!(a.params(), b.params());
    let hash = a.hash("correct horse battery").await.unwrap();
    assert!(b.verify("correct horse battery", Some(&hash)).await.unwrap().is_valid());
}

#[test]
fn debug_does_not_leak_internals() {
    let debug = format!("{:?}", hasher());
    assert!(debug.contains("PasswordHasher"));
    assert!(!debug.contains("AAAA"));
}

#[test]
fn debug_shows_only_the_parameters() {
    assert_eq!(
        format!("{:?}", hasher()),
        "PasswordHasher { params: Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 }, .. }"
    );
}

#[test]
fn params_are_the_configured_ones() {
    assert_eq!(hasher().params(), FAST);
    assert_eq!(PasswordHasher::default().params(), Argon2Params::default());
}

#[test]
fn is_valid_for_every_variant() {
    assert!(VALID_FRESH.is_valid());
    assert!(VALID_REHASH.is_valid());
    assert!(!Verification::Invalid.is_valid());
}

/// `FAST` as argon2 parameters, optionally changed by `change`.
fn argon2_params(change: impl FnOnce(&mut argon2::ParamsBuilder)) -> argon2::Params {
    let mut builder = argon2::ParamsBuilder::new();
    builder.m_cost(FAST.memory_kib).t_cost(FAST.iterations).p_cost(FAST.parallelism);
    change(&mut builder);
    builder.build().unwrap()
}

/// A hash of "correct horse battery" made by argon2 with `algorithm`, `version` and `params`.
fn argon2_hash(algorithm: argon2::Algorithm, version: argon2::Version, params: argon2::Params) -> String {
    use argon2::PasswordHasher as _;
    argon2::Argon2::new(algorithm, version, params).hash_password(b"correct horse battery").unwrap().to_string()
}

/// Each way a stored argon2 hash can differ from what the hasher writes (argon2id, version 0x13,
/// the configured `m`, `t` and `p`, a 32-byte output, no key id, no associated data), alone, is
/// enough for `needs_rehash`; a hash with none of them is fresh.
#[rstest]
#[case::exactly_as_configured(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2_params(|_| {}), false)]
#[case::argon2i(argon2::Algorithm::Argon2i, argon2::Version::V0x13, argon2_params(|_| {}), true)]
#[case::argon2d(argon2::Algorithm::Argon2d, argon2::Version::V0x13, argon2_params(|_| {}), true)]
#[case::version_0x10(argon2::Algorithm::Argon2id, argon2::Version::V0x10, argon2_params(|_| {}), true)]
#[case::memory(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2_params(|b| { b.m_cost(128); }), true)]
#[case::iterations(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2_params(|b| { b.t_cost(2); }), true)]
#[case::parallelism(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2_params(|b| { b.p_cost(2); }), true)]
#[case::output_length(
    argon2::Algorithm::Argon2id,
    argon2::Version::V0x13,
    argon2_params(|b| { b.output_len(64); }),
    true
)]
#[case::key_id(
    argon2::Algorithm::Argon2id,
    argon2::Version::V0x13,
    argon2_params(|b| { b.keyid(argon2::KeyId::new(b"key-1").unwrap()); }),
    true
)]
#[case::associated_data(
    argon2::Algorithm::Argon2id,
    argon2::Version::V0x13,
    argon2_params(|b| { b.data(argon2::AssociatedData::new(b"tenant-7").unwrap()); }),
    true
)]
#[tokio::test]
async fn each_argon2_difference_alone_needs_rehash(
    #[case] algorithm: argon2::Algorithm,
    #[case] version: argon2::Version,
    #[case] params: argon2::Params,
    #[case] needs_rehash: bool,
) {
    let stored = argon2_hash(algorithm, version, params);
    let hasher = hasher();
    assert_eq!(
        hasher.verify("correct horse battery", Some(&stored)).await.unwrap(),
        Verification::Valid { needs_rehash },
        "{stored}"
    );
    assert_eq!(hasher.verify("correct horse batterY", Some(&stored)).await.unwrap(), Verification::Invalid);
}

#[tokio::test]
async fn argon2_hash_without_version_needs_rehash() {
    // The argon2 crate verifies a hash without `v=` as version 0x13.
    let stored = argon2_hash(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2_params(|_| {}));
    let stored = stored.replace("$v=19$", "$");
    assert!(stored.starts_with("$argon2id$m=64,t=1,p=1$"), "{stored}");
    assert_eq!(hasher().verify("correct horse battery", Some(&stored)).await.unwrap(), VALID_REHASH);
}

// --- Policy -------------------------------------------------------------------------------------

const TOO_SHORT: &str = "Value error, password must be at least 12 characters";
const TOO_LONG: &str = "Value error, password must not exceed 72 bytes when UTF-8 encoded";

#[rstest]
#[case::ascii_12("abcdefghijkl")]
#[case::ascii_72(&"a".repeat(72))]
#[case::two_byte_chars_72_bytes(&"é".repeat(36))]
#[case::four_byte_chars_72_bytes(&"🔐".repeat(18))]
#[case::twelve_emoji(&"🔐".repeat(12))]
#[case::mixed_72_bytes(&format!("{}{}", "é".repeat(35), "ab"))]
fn policy_accepts(#[case] password: &str) {
    assert_eq!(PasswordPolicy::default().check(password, &["body", "password"]), Ok(()));
}

#[rstest]
#[case::empty("", TOO_SHORT)]
#[case::ascii_11("abcdefghijk", TOO_SHORT)]
#[case::eleven_two_byte_chars(&"é".repeat(11), TOO_SHORT)]
#[case::ascii_73(&"a".repeat(73), TOO_LONG)]
#[case::two_byte_chars_74_bytes(&"é".repeat(37), TOO_LONG)]
#[case::four_byte_chars_76_bytes(&"🔐".repeat(19), TOO_LONG)]
#[case::mixed_73_bytes(&format!("{}{}", "é".repeat(36), "a"), TOO_LONG)]
fn policy_rejects_with_kwik_messages(#[case] password: &str, #[case] msg: &str) {
    let issue = PasswordPolicy::default().check(password, &["body", "new_password"]).unwrap_err();
    assert_eq!(
        serde_json::to_value(&issue).unwrap(),
        json!({
            "type": "value_error",
            "loc": ["body", "new_password"],
            "msg": msg,
            "input": "[redacted]",
            "ctx": {"error": {}}
        })
    );
}

#[test]
fn policy_message_uses_the_configured_minimum() {
    let issue = PasswordPolicy::new(20).check("nineteen characters", &["body", "password"]).unwrap_err();
    assert_eq!(issue.msg, "Value error, password must be at least 20 characters");
    assert_eq!(PasswordPolicy::new(20).check("twenty characters!!!", &["body", "password"]), Ok(()));
}

#[test]
fn policy_default_is_kwik_password_min_length() {
    assert_eq!(PasswordPolicy::default().min_length, 12);
}

#[test]
fn policy_never_echoes_the_password() {
    let issue = PasswordPolicy::default().check("tiny-secret", &["body", "password"]).unwrap_err();
    let rendered = serde_json::to_string(&issue).unwrap();
    assert!(!rendered.contains("secret"), "{rendered}");
}
