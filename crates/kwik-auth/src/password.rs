//! Password hashing (argon2id, with legacy bcrypt verification) and Kwik's password policy.
//!
//! New hashes are argon2id PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with the
//! parameters recommended by the [OWASP Password Storage Cheat Sheet]. Hashes written by Python
//! Kwik (bcrypt, `$2b$12$...`) still verify and are reported as needing a rehash, so they can be
//! upgraded transparently at the next successful login.
//!
//! Hashing and verification are deliberately slow (tens of milliseconds of CPU and ~19 MiB of
//! memory with the default parameters), so both run on Tokio's blocking thread pool and never
//! stall the async runtime.
//!
//! [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, PasswordVerifier as _, Version};
use kwik_core::{Error, Result, ValidationIssue};

/// Argon2 cost parameters (RFC 9106 §3.1 names them `m`, `t` and `p`).
///
/// [`Default`] is the [OWASP Password Storage Cheat Sheet]'s first argon2id configuration:
/// 19 MiB of memory (`m = 19456` KiB), 2 iterations (`t = 2`), 1 degree of parallelism (`p = 1`).
/// Raising any of them makes each hash (and each login) proportionally more expensive; hashes
/// stored with other parameters still verify and are reported with `needs_rehash: true`.
///
/// [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory cost in KiB (`m`). At least `8 × parallelism`.
    pub memory_kib: u32,
    /// Number of passes over the memory (`t`). At least 1.
    pub iterations: u32,
    /// Degree of parallelism, i.e. lanes (`p`). Between 1 and 2^24 − 1.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// OWASP's argon2id recommendation: `m = 19456` KiB (19 MiB), `t = 2`, `p = 1`.
    fn default() -> Self {
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 }
    }
}

/// The outcome of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches the stored hash.
    Valid {
        /// The stored hash should be replaced by [`PasswordHasher::hash`] of the same password:
        /// it is a legacy bcrypt hash (Python Kwik) or an argon2 hash with other parameters.
        needs_rehash: bool,
    },
    /// The password does not match, the stored hash is malformed, or there is no stored hash.
    Invalid,
}

impl Verification {
    /// `true` for [`Verification::Valid`].
    pub fn is_valid(self) -> bool {
        matches!(self, Self::Valid { .. })
    }
}

/// A 16-byte all-zero salt and a 32-byte all-zero output, in PHC's unpadded base64. Used to build
/// the dummy hash that unknown users are "verified" against; no password hashes to all zeros.
const DUMMY_SALT_B64: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const DUMMY_OUTPUT_B64: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Stored argon2 hashes may cost at most this factor times the configured parameters...
const STORED_COST_FACTOR: u32 = 4;
/// ...or these absolute floors (1 GiB of memory, 16 passes), whichever is larger.
const STORED_MEMORY_FLOOR_KIB: u32 = 1024 * 1024;
const STORED_ITERATIONS_FLOOR: u32 = 16;
/// Highest bcrypt cost accepted from storage (2^16 rounds, several seconds per check). Kwik
/// writes cost 12.
const MAX_STORED_BCRYPT_COST: u32 = 16;

/// Hashes and verifies passwords. Cheap to clone (the state is shared behind an [`Arc`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> kwik_core::Result<()> {
/// use kwik_auth::password::{Argon2Params, PasswordHasher, Verification};
///
/// // Production code uses `PasswordHasher::default()` (OWASP's parameters).
/// let hasher = PasswordHasher::new(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 })?;
/// let stored = hasher.hash("correct horse battery").await?;
/// assert!(stored.starts_with("$argon2id$"));
/// assert_eq!(
///     hasher.verify("correct horse battery", Some(&stored)).await?,
///     Verification::Valid { needs_rehash: false }
/// );
/// assert_eq!(hasher.verify("wrong", Some(&stored)).await?, Verification::Invalid);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Argon2Params,
    argon2: Argon2<'static>,
    /// A well-formed argon2id PHC string with the configured parameters that no password matches.
    dummy: String,
    /// Bounds the hashes computed at once (one per core): each needs `memory_kib` of memory, and
    /// unbounded concurrency under a login burst grows the process by that much per blocking
    /// thread (allocator arenas keep it). Extra requests wait their turn instead.
    permits: tokio::sync::Semaphore,
    /// Reusable argon2 block memory for the configured parameters, at most one buffer per permit
    /// (see [`BlockPool`]).
    pool: BlockPool,
    /// Dummy verifications that ran to completion (computed a hash, found no match): the unit
    /// tests check that every path without a real hash pays for exactly one.
    #[cfg(test)]
    burns: std::sync::atomic::AtomicUsize,
}

/// How many hashes may run at once: the number of cores (at least 1).
fn hashing_slots() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Argon2 block buffers sized for the configured parameters, reused from one hash to the next.
///
/// Allocating ~19 MiB per hash and freeing it afterwards lets the allocator keep the memory in
/// each blocking thread's arena, so the process grows by that much per thread Tokio ever used for
/// hashing. With the pool, the memory is allocated once per hashing slot (lazily, at the first
/// hash that needs it) and kept. Only hashes with exactly the configured parameters use it; the
/// rest (legacy or costlier stored hashes) allocate as argon2 does by default.
struct BlockPool {
    /// Blocks per buffer: [`Params::block_count`] of the configured parameters.
    blocks: usize,
    /// Buffers kept for reuse; never more than `capacity`.
    free: std::sync::Mutex<Vec<Vec<Block>>>,
    capacity: usize,
}

impl BlockPool {
    fn new(blocks: usize, capacity: usize) -> Self {
        Self { blocks, free: std::sync::Mutex::new(Vec::with_capacity(capacity)), capacity }
    }

    /// Runs `f` with a buffer of `blocks` blocks: a free one, or a new one when none is free
    /// (the first hashes, or callers that hold no permit). The buffer goes back to the pool
    /// afterwards, unless the pool is full; if `f` panics it is dropped.
    fn with_buffer<T>(&self, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop();
        let mut buffer = taken.unwrap_or_else(|| vec![Block::default(); self.blocks]);
        let result = f(&mut buffer);
        let mut free = self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if free.len() < self.capacity {
            free.push(buffer);
        }
        result
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.free.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.inner.params).finish_non_exhaustive()
    }
}

impl Default for PasswordHasher {
    /// A hasher with [`Argon2Params::default`] (OWASP's recommendation).
    fn default() -> Self {
        Self::build(Argon2Params::default(), Params::DEFAULT)
    }
}

impl PasswordHasher {
    /// A hasher producing argon2id (version 0x13) hashes with `params`.
    ///
    /// # Errors
    /// [`Error::Internal`] if argon2 rejects the parameters (`memory_kib < 8 × parallelism`,
    /// `iterations == 0`, `parallelism == 0` or `parallelism ≥ 2^24`).
    pub fn new(params: Argon2Params) -> Result<Self> {
        let argon2_params = Params::new(params.memory_kib, params.iterations, params.parallelism, None)
            .map_err(|err| Error::Internal(format!("invalid argon2 parameters: {err}")))?;
        Ok(Self::build(params, argon2_params))
    }

    fn build(params: Argon2Params, argon2_params: Params) -> Self {
        let dummy = format!(
            "${ARGON2ID_IDENT}$v=19$m={},t={},p={}${DUMMY_SALT_B64}${DUMMY_OUTPUT_B64}",
            params.memory_kib, params.iterations, params.parallelism
        );
        let slots = hashing_slots();
        let pool = BlockPool::new(argon2_params.block_count(), slots);
        Self {
            inner: Arc::new(Inner {
                params,
                argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params),
                dummy,
                permits: tokio::sync::Semaphore::new(slots),
                pool,
                #[cfg(test)]
                burns: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.inner.params
    }

    /// Hashes `password` into an argon2id PHC string with a fresh random 16-byte salt.
    ///
    /// Runs on Tokio's blocking pool (it takes tens of milliseconds by design). The password is
    /// not length-checked here: apply [`PasswordPolicy::check`] to new passwords first.
    ///
    /// # Errors
    /// [`Error::Internal`] if the OS random generator or argon2 fails (for example out of memory),
    /// or the blocking task panics or is cancelled. The message never contains the password.
    pub async fn hash(&self, password: &str) -> Result<String> {
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let _permit =
            self.inner.permits.acquire().await.map_err(|_| Error::Internal("password hasher closed".to_owned()))?;
        tokio::task::spawn_blocking(move || inner.hash(password.as_bytes()))
            .await
            .map_err(|err| Error::Internal(format!("password hashing task failed: {err}")))?
    }

    /// Checks `password` against `stored`, the hash kept for the user, or `None` when no such user
    /// exists.
    ///
    /// - argon2 PHC strings (`$argon2id$`, also `$argon2i$`/`$argon2d$`) verify with their own
    ///   parameters; `needs_rehash` is `true` unless they are argon2id, version 0x13, with exactly
    ///   the configured parameters and a 32-byte output.
    /// - bcrypt hashes (`$2a$`, `$2b$`, `$2y$`, as written by Python Kwik) verify and always need a
    ///   rehash. Passwords over 72 bytes never match them (no silent truncation).
    /// - With `stored == None`, or a malformed or unsupported hash, the password is still checked
    ///   against a fixed dummy argon2id hash with the configured parameters, so an unknown email
    ///   takes as long as a wrong password (no user enumeration by timing), and the result is
    ///   [`Verification::Invalid`].
    /// - Stored argon2 hashes costing more than `max(4 × configured, 1 GiB)` of memory or
    ///   `max(4 × configured, 16)` iterations, and bcrypt hashes above cost 16, are treated as
    ///   malformed, so a corrupted row cannot exhaust the server's memory or CPU.
    ///
    /// Runs on Tokio's blocking pool.
    ///
    /// # Errors
    /// Only [`Error::Internal`] if the blocking task panics or is cancelled. A wrong password or a
    /// bad stored hash is `Ok(Verification::Invalid)`, never an error.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verification> {
        let inner = Arc::clone(&self.inner);
        let password = password.to_owned();
        let stored = stored.map(str::to_owned);
        let _permit =
            self.inner.permits.acquire().await.map_err(|_| Error::Internal("password hasher closed".to_owned()))?;
        tokio::task::spawn_blocking(move || inner.verify(password.as_bytes(), stored.as_deref()))
            .await
            .map_err(|err| Error::Internal(format!("password verification task failed: {err}")))
    }
}

impl Inner {
    /// An argon2id (v=19) PHC string of `password` with the configured parameters and a fresh
    /// random 16-byte salt, computed in pooled memory. The same string `Argon2::hash_password`
    /// writes.
    fn hash(&self, password: &[u8]) -> Result<String> {
        let failed = |err: &dyn fmt::Display| Error::Internal(format!("password hashing failed: {err}"));
        let salt = argon2::password_hash::try_generate_salt().map_err(|err| failed(&err))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.pool
            .with_buffer(|blocks| self.argon2.hash_password_into_with_memory(password, &salt, &mut out, blocks))
            .map_err(|err| failed(&err))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(|err| failed(&err))?,
            salt: Some(Salt::new(&salt).map_err(|err| failed(&err))?),
            hash: Some(Output::new(&out).map_err(|err| failed(&err))?),
        };
        Ok(hash.to_string())
    }

    /// Checks `password` against an argon2id v=19 hash made with exactly the configured
    /// parameters, in pooled memory; the outputs are compared in constant time ([`Output`]'s
    /// `PartialEq`).
    fn verify_pooled(&self, password: &[u8], salt: &[u8], expected: &Output) -> argon2::password_hash::Result<()> {
        let mut out = [0u8; Output::MAX_LENGTH];
        let out = out.get_mut(..expected.len()).ok_or(argon2::password_hash::Error::OutputSize)?;
        self.pool.with_buffer(|blocks| self.argon2.hash_password_into_with_memory(password, salt, out, blocks))?;
        if Output::new(out)? == *expected { Ok(()) } else { Err(argon2::password_hash::Error::PasswordInvalid) }
    }

    fn verify(&self, password: &[u8], stored: Option<&str>) -> Verification {
        let Some(stored) = stored else {
            self.burn(password);
            return Verification::Invalid;
        };
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| stored.starts_with(p)) {
            return Self::verify_bcrypt(password, stored);
        }
        match PasswordHash::new(stored) {
            Ok(parsed) if parsed.algorithm.as_str().starts_with("argon2") => self.verify_argon2(password, &parsed),
            _ => {
                tracing::warn!("stored password hash is malformed or unsupported; no match");
                self.burn(password);
                Verification::Invalid
            }
        }
    }

    /// Spends the time of a real verification against the dummy hash; the result is ignored.
    fn burn(&self, password: &[u8]) {
        let outcome = match PasswordHash::new(&self.dummy) {
            Ok(PasswordHash { salt: Some(salt), hash: Some(expected), .. }) => {
                self.verify_pooled(password, &salt, &expected)
            }
            Ok(_) => Err(argon2::password_hash::Error::PasswordInvalid),
            Err(err) => Err(err.into()),
        };
        #[cfg(test)]
        if matches!(outcome, Err(argon2::password_hash::Error::PasswordInvalid)) {
            self.burns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = outcome;
    }

    /// Whether a stored argon2 hash costs at most `max(4 × configured, 1 GiB)` of memory and
    /// `max(4 × configured, 16)` iterations (see [`PasswordHasher::verify`]).
    fn within_cost_limits(&self, stored: &Params) -> bool {
        let max_memory = (self.params.memory_kib.saturating_mul(STORED_COST_FACTOR)).max(STORED_MEMORY_FLOOR_KIB);
        let max_iterations = (self.params.iterations.saturating_mul(STORED_COST_FACTOR)).max(STORED_ITERATIONS_FLOOR);
        stored.m_cost() <= max_memory && stored.t_cost() <= max_iterations
    }

    fn verify_argon2(&self, password: &[u8], parsed: &PasswordHash) -> Verification {
        let Ok(stored_params) = Params::try_from(parsed) else {
            tracing::warn!("stored argon2 hash has invalid parameters; no match");
            self.burn(password);
            return Verification::Invalid;
        };
        if !self.within_cost_limits(&stored_params) {
            tracing::warn!(
                memory_kib = stored_params.m_cost(),
                iterations = stored_params.t_cost(),
                "stored argon2 hash exceeds the cost limits; no match"
            );
            self.burn(password);
            return Verification::Invalid;
        }
        let needs_rehash = self.argon2_needs_rehash(parsed, &stored_params);
        let outcome = match (&parsed.salt, &parsed.hash) {
            // Exactly the configured parameters: the pooled memory fits.
            (Some(salt), Some(expected)) if !needs_rehash => self.verify_pooled(password, salt, expected),
            _ => self.argon2.verify_password(password, parsed),
        };
        match outcome {
            Ok(()) => Verification::Valid { needs_rehash },
            Err(argon2::password_hash::Error::PasswordInvalid) => Verification::Invalid,
            Err(err) => {
                tracing::warn!(error = %err, "stored argon2 hash could not be verified; no match");
                Verification::Invalid
            }
        }
    }

    fn argon2_needs_rehash(&self, parsed: &PasswordHash, stored: &Params) -> bool {
        parsed.algorithm != ARGON2ID_IDENT
            || parsed.version != Some(Version::V0x13.into())
            || stored.m_cost() != self.params.memory_kib
            || stored.t_cost() != self.params.iterations
            || stored.p_cost() != self.params.parallelism
            || stored.output_len() != Some(Params::DEFAULT_OUTPUT_LEN)
            || !stored.keyid().is_empty()
            || !stored.data().is_empty()
    }

    /// The cost of a bcrypt hash (`$2b$12$...`: 12), if it is at most `MAX_STORED_BCRYPT_COST`.
    fn bcrypt_cost_within_limit(stored: &str) -> Option<u32> {
        stored.get(4..6).and_then(|c| c.parse::<u32>().ok()).filter(|&cost| cost <= MAX_STORED_BCRYPT_COST)
    }

    fn verify_bcrypt(password: &[u8], stored: &str) -> Verification {
        if Self::bcrypt_cost_within_limit(stored).is_none() {
            tracing::warn!("stored bcrypt hash is malformed or too costly; no match");
            return Verification::Invalid;
        }
        // bcrypt reads at most 72 bytes; refuse longer passwords rather than let their first 72
        // bytes match (Kwik never stored a longer one). Exactly 72 bytes is fine, as in Python.
        if password.len() > MAX_PASSWORD_BYTES {
            return Verification::Invalid;
        }
        match bcrypt::verify(password, stored) {
            Ok(true) => Verification::Valid { needs_rehash: true },
            Ok(false) => Verification::Invalid,
            Err(err) => {
                tracing::warn!(error = %err, "stored bcrypt hash could not be verified; no match");
                Verification::Invalid
            }
        }
    }
}

/// bcrypt's input limit, which Kwik keeps as the maximum password size (in UTF-8 bytes).
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Kwik's rules for **new** passwords (registration, change, reset). Login passwords and
/// `old_password` are not checked (CONTRACT §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values, not bytes): Kwik's
    /// `PASSWORD_MIN_LENGTH`, default 12.
    pub min_length: usize,
}

impl Default for PasswordPolicy {
    /// Kwik's default `PASSWORD_MIN_LENGTH` of 12 characters.
    fn default() -> Self {
        Self { min_length: 12 }
    }
}

impl PasswordPolicy {
    /// A policy requiring at least `min_length` characters.
    pub fn new(min_length: usize) -> Self {
        Self { min_length }
    }

    /// Checks a new password: at least [`min_length`](Self::min_length) characters and at most
    /// [`MAX_PASSWORD_BYTES`] (72) bytes once UTF-8 encoded, in that order.
    ///
    /// `loc` is where the value came from, e.g. `&["body", "password"]`.
    ///
    /// # Errors
    /// A FastAPI-shaped [`ValidationIssue`] with Kwik's texts, type `value_error`, input
    /// `"[redacted]"` (the password is never echoed) and `ctx` `{"error": {}}` (FastAPI's
    /// rendering of a validator's `ValueError`):
    /// `Value error, password must be at least 12 characters` or
    /// `Value error, password must not exceed 72 bytes when UTF-8 encoded`.
    #[allow(
        clippy::result_large_err,
        reason = "the issue is built only on failure and goes straight into Error::Validation"
    )]
    pub fn check(&self, password: &str, loc: &[&str]) -> Result<(), ValidationIssue> {
        let message = if password.chars().count() < self.min_length {
            format!("Value error, password must be at least {} characters", self.min_length)
        } else if password.len() > MAX_PASSWORD_BYTES {
            format!("Value error, password must not exceed {MAX_PASSWORD_BYTES} bytes when UTF-8 encoded")
        } else {
            return Ok(());
        };
        Err(ValidationIssue::new("value_error", loc, message)
            .with_input("[redacted]")
            .with_ctx(serde_json::json!({ "error": {} })))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use argon2::PasswordHasher as _;
    use rstest::rstest;

    const FAST: Argon2Params = Argon2Params { memory_kib: 64, iterations: 1, parallelism: 1 };

    fn fast() -> PasswordHasher {
        PasswordHasher::new(FAST).unwrap()
    }

    #[test]
    fn default_params_are_owasp() {
        assert_eq!(Argon2Params::default(), Argon2Params { memory_kib: 19_456, iterations: 2, parallelism: 1 });
        let argon = Params::DEFAULT;
        assert_eq!((argon.m_cost(), argon.t_cost(), argon.p_cost()), (19_456, 2, 1));
    }

    #[tokio::test]
    async fn default_hasher_writes_owasp_argon2id() {
        let hasher = PasswordHasher::default();
        let hash = hasher.hash("a long enough password").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(
            hasher.verify("a long enough password", Some(&hash)).await.unwrap(),
            Verification::Valid { needs_rehash: false }
        );
    }

    #[test]
    fn dummy_hash_is_well_formed_and_matches_nothing() {
        let hasher = fast();
        let parsed = PasswordHash::new(&hasher.inner.dummy).unwrap();
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!((params.m_cost(), params.t_cost(), params.p_cost()), (64, 1, 1));
        assert_eq!(parsed.salt.unwrap().len(), 16);
        assert_eq!(parsed.hash.unwrap().len(), 32);
        assert!(hasher.inner.argon2.verify_password(b"", hasher.inner.dummy.as_str()).is_err());
    }

    #[rstest]
    #[case(Argon2Params { memory_kib: 7, iterations: 1, parallelism: 1 })]
    #[case(Argon2Params { memory_kib: 64, iterations: 0, parallelism: 1 })]
    #[case(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 0 })]
    #[case(Argon2Params { memory_kib: 64, iterations: 1, parallelism: 9 })]
    fn rejects_invalid_params(#[case] params: Argon2Params) {
        assert!(matches!(PasswordHasher::new(params), Err(Error::Internal(_))));
    }

    #[rstest]
    #[case::too_much_memory(
        "$argon2id$v=19$m=4294967295,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )]
    #[case::too_many_passes(
        "$argon2id$v=19$m=64,t=4000000000,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )]
    #[case::bcrypt_cost_31("$2b$31$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui")]
    fn absurd_costs_are_invalid_without_running(#[case] stored: &str) {
        assert_eq!(fast().inner.verify(b"whatever", Some(stored)), Verification::Invalid);
    }

    /// Completed dummy verifications of `hasher` so far.
    fn burns(hasher: &PasswordHasher) -> usize {
        hasher.inner.burns.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An unknown email, and every stored hash that cannot be checked, still costs one full
    /// argon2 verification with the configured parameters (against the dummy hash), as a wrong
    /// password does: no user enumeration by timing.
    #[rstest]
    #[case::unknown_user(None)]
    #[case::garbage(Some("not a hash"))]
    #[case::other_algorithm_with_argon2_params(Some(
        "$scrypt$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    ))]
    #[case::invalid_argon2_params(Some(
        "$argon2id$v=19$m=64,t=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    ))]
    #[case::over_the_iteration_limit(Some(
        "$argon2id$v=19$m=64,t=17,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    ))]
    fn no_usable_hash_costs_one_dummy_verification(#[case] stored: Option<&str>) {
        let hasher = fast();
        assert_eq!(hasher.inner.verify(b"correct horse battery", stored), Verification::Invalid);
        assert_eq!(burns(&hasher), 1);
    }

    #[test]
    fn a_real_hash_costs_no_dummy_verification() {
        let hasher = fast();
        let stored = hasher.inner.argon2.hash_password(b"correct horse battery").unwrap().to_string();
        assert_eq!(
            hasher.inner.verify(b"correct horse battery", Some(&stored)),
            Verification::Valid { needs_rehash: false }
        );
        assert_eq!(hasher.inner.verify(b"wrong", Some(&stored)), Verification::Invalid);
        assert_eq!(burns(&hasher), 0);
    }

    const BIG: Argon2Params = Argon2Params { memory_kib: 300_000, iterations: 5, parallelism: 1 };

    /// Stored argon2 costs are capped at `max(4 × configured, 1 GiB)` of memory and
    /// `max(4 × configured, 16)` passes, bounds included. (Only the parameters are compared:
    /// nothing is hashed.)
    #[rstest]
    #[case::floors(FAST, 1_048_576, 16, true)]
    #[case::floor_memory_exceeded(FAST, 1_048_577, 16, false)]
    #[case::floor_iterations_exceeded(FAST, 1_048_576, 17, false)]
    #[case::both_exceeded(FAST, 1_048_577, 17, false)]
    #[case::cheap(FAST, 64, 1, true)]
    #[case::four_times_configured(BIG, 1_200_000, 20, true)]
    #[case::four_times_memory_exceeded(BIG, 1_200_001, 20, false)]
    #[case::four_times_iterations_exceeded(BIG, 1_200_000, 21, false)]
    #[case::saturating(Argon2Params { memory_kib: 1 << 31, iterations: 1 << 31, parallelism: 1 }, u32::MAX, u32::MAX, true)]
    fn stored_argon2_cost_limits(
        #[case] configured: Argon2Params,
        #[case] memory_kib: u32,
        #[case] iterations: u32,
        #[case] accepted: bool,
    ) {
        let hasher = PasswordHasher::new(configured).unwrap();
        let stored = Params::new(memory_kib, iterations, 1, None).unwrap();
        assert_eq!(hasher.inner.within_cost_limits(&stored), accepted);
    }

    #[rstest]
    #[case::kwik("$2b$12$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", Some(12))]
    #[case::lowest("$2b$04$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", Some(4))]
    #[case::highest("$2y$16$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", Some(16))]
    #[case::above("$2b$17$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", None)]
    #[case::max("$2b$31$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", None)]
    #[case::not_a_number("$2b$1x$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBuiq", None)]
    #[case::truncated("$2b$1", None)]
    fn stored_bcrypt_cost_limit(#[case] stored: &str, #[case] cost: Option<u32>) {
        assert_eq!(Inner::bcrypt_cost_within_limit(stored), cost);
    }

    /// The plain `argon2` crate with the configured parameters, as `Argon2::default()` would be
    /// built for them.
    fn plain(params: Argon2Params) -> Argon2<'static> {
        let params = Params::new(params.memory_kib, params.iterations, params.parallelism, None).unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes made in pooled memory are exactly what the plain `argon2` API writes for the same
    /// salt, and verify with it; hashes the plain API writes verify through the pool. Several
    /// rounds, so buffers are reused with the previous hash's contents still in them.
    #[tokio::test]
    async fn pooled_hashes_interoperate_with_plain_argon2() {
        for params in [FAST, Argon2Params { memory_kib: 256, iterations: 3, parallelism: 2 }] {
            let hasher = PasswordHasher::new(params).unwrap();
            let argon2 = plain(params);
            for password in ["correct horse battery", "", "pässwörd ✓", "correct horse batterY"] {
                let ours = hasher.hash(password).await.unwrap();
                let parsed = PasswordHash::new(&ours).unwrap();
                let same_salt = argon2.hash_password_with_salt(password.as_bytes(), &parsed.salt.unwrap()).unwrap();
                assert_eq!(ours, same_salt.to_string());
                assert!(argon2.verify_password(password.as_bytes(), ours.as_str()).is_ok());
                assert!(argon2.verify_password(b"wrong", ours.as_str()).is_err());

                let theirs = argon2.hash_password(password.as_bytes()).unwrap().to_string();
                assert_eq!(
                    hasher.verify(password, Some(&theirs)).await.unwrap(),
                    Verification::Valid { needs_rehash: false }
                );
                assert_eq!(hasher.verify("wrong", Some(&theirs)).await.unwrap(), Verification::Invalid);
            }
            // Every hash and verification above ran in pooled memory, one at a time: one buffer.
            assert_eq!(hasher.inner.pool.kept(), 1);
        }
    }

    /// Hashes with other parameters than the configured ones do not use (or grow) the pool.
    #[tokio::test]
    async fn other_parameters_bypass_the_pool() {
        let hasher = fast();
        let other = plain(Argon2Params { memory_kib: 128, iterations: 1, parallelism: 1 });
        let stored = other.hash_password(b"correct horse battery").unwrap().to_string();
        assert_eq!(
            hasher.verify("correct horse battery", Some(&stored)).await.unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(hasher.verify("wrong", Some(&stored)).await.unwrap(), Verification::Invalid);
        assert_eq!(hasher.inner.pool.kept(), 0);
    }

    /// Far more concurrent hashes and verifications than permits: all succeed, and the pool keeps
    /// at most one buffer per permit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hashes_beyond_the_permits_all_succeed() {
        let hasher = fast();
        let slots = hashing_slots();
        let tasks: Vec<_> = (0..slots * 8 + 3)
            .map(|i| {
                let hasher = hasher.clone();
                tokio::spawn(async move {
                    let password = format!("password number {i}");
                    let stored = hasher.hash(&password).await.unwrap();
                    assert!(plain(FAST).verify_password(password.as_bytes(), stored.as_str()).is_ok());
                    let outcome = hasher.verify(&password, Some(&stored)).await.unwrap();
                    assert_eq!(outcome, Verification::Valid { needs_rehash: false });
                    assert_eq!(hasher.verify("wrong", Some(&stored)).await.unwrap(), Verification::Invalid);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let kept = hasher.inner.pool.kept();
        assert!((1..=slots).contains(&kept), "{kept} buffers kept for {slots} permits");
        assert_eq!(hasher.inner.permits.available_permits(), slots);
    }

    #[test]
    fn one_hash_at_a_time_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        assert_eq!(fast().inner.permits.available_permits(), cores);
    }
}
