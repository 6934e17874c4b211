//! Password policy and hashing (issue 2 §5): NIST SP 800-63B style — length, not composition —
//! and a list of common passwords; argon2id with OWASP's parameters by default.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::collections::HashSet;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// The 30,000 most common passwords from zxcvbn 4.4.2 (`lib/frequency_lists.js`, "passwords",
/// derived from Xato's 10-million-password corpus; MIT licence, see data/common-passwords.LICENSE.txt).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Number of entries in the shipped list.
pub fn common_password_count() -> usize {
    common_passwords().len()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("Passwords must be at least {min} characters long.")]
    TooShort { min: usize },
    #[error("Passwords may be at most {max} characters long.")]
    TooLong { max: usize },
    #[error("This password is on a list of commonly used passwords. Choose another one.")]
    Common,
}

impl PasswordRejection {
    /// Clerk-compatible error code.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRejection::TooShort { .. } => "form_password_length_too_short",
            PasswordRejection::TooLong { .. } => "form_password_length_too_long",
            PasswordRejection::Common => "form_password_pwned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        // 1024 is far above the 256 we promise to accept, and keeps argon2's input bounded.
        Self {
            min_chars: 8,
            max_chars: 1024,
        }
    }
}

impl PasswordPolicy {
    /// Length is counted in Unicode characters after NFC normalisation; nothing is truncated.
    pub fn check(&self, password: &str) -> Result<(), PasswordRejection> {
        let normalized = normalize(password);
        let chars = normalized.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRejection::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            return Err(PasswordRejection::TooLong {
                max: self.max_chars,
            });
        }
        if common_passwords().contains(normalized.to_lowercase().as_str()) {
            return Err(PasswordRejection::Common);
        }
        Ok(())
    }
}

/// Passwords are hashed in NFC so that the same password typed on another keyboard still works.
fn normalize(password: &str) -> String {
    password.nfc().collect()
}

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Mismatch,
    /// Correct; `needs_rehash` when the stored hash used other parameters or algorithm.
    Match {
        needs_rehash: bool,
    },
}

/// Reusable argon2 working memory (see `PasswordHasher::new_memory`).
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// The first `n` blocks, growing the buffer if a stored hash asks for more memory.
    fn at_least(&mut self, n: usize) -> &mut [Block] {
        if self.0.len() < n {
            self.0.resize(n, Block::default());
        }
        &mut self.0[..n]
    }
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: HashParams,
    argon: Argon2<'static>,
    /// A hash of a random password, verified against for unknown accounts so that both paths
    /// cost the same.
    dummy: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish()
    }
}

impl PasswordHasher {
    pub fn new(params: HashParams, random: &dyn crate::random::Random) -> Result<Self, HashError> {
        let p = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut me = Self {
            params,
            argon,
            dummy: String::new(),
        };
        me.dummy = me.hash(&random.token(24), random)?;
        Ok(me)
    }

    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Working memory for one hash at the current parameters. Reusing it across hashes avoids
    /// mapping and zeroing `memory_kib` of fresh pages every time (a third of the cost).
    pub fn new_memory(&self) -> HashMemory {
        HashMemory(vec![Block::default(); self.argon.params().block_count()])
    }

    /// Returns a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
    pub fn hash(
        &self,
        password: &str,
        random: &dyn crate::random::Random,
    ) -> Result<String, HashError> {
        self.hash_with(password, random, &mut self.new_memory())
    }

    pub fn hash_with(
        &self,
        password: &str,
        random: &dyn crate::random::Random,
        memory: &mut HashMemory,
    ) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        random.fill(&mut salt);
        let salt_string =
            SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        let blocks = memory.at_least(self.argon.params().block_count());
        self.argon
            .hash_password_into_with_memory(normalize(password).as_bytes(), &salt, &mut out, blocks)
            .map_err(|e| HashError::Hash(e.to_string()))?;
        let output = Output::new(&out).map_err(|e| HashError::Hash(e.to_string()))?;
        let p = self.params;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            p.memory_kib,
            p.iterations,
            p.parallelism,
            salt_string.as_str(),
            output
        ))
    }

    pub fn verify(&self, password: &str, phc: &str) -> Verification {
        self.verify_with(password, phc, &mut self.new_memory())
    }

    /// Verifies with the parameters recorded in the hash, whatever the current ones are.
    pub fn verify_with(&self, password: &str, phc: &str, memory: &mut HashMemory) -> Verification {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return Verification::Mismatch;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm),
            Params::try_from(&parsed),
            parsed.salt,
            parsed.hash,
        ) else {
            return Verification::Mismatch;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or(Version::V0x13);
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return Verification::Mismatch;
        };
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        let blocks = memory.at_least(params.block_count());
        if argon
            .hash_password_into_with_memory(normalize(password).as_bytes(), salt, &mut out, blocks)
            .is_err()
        {
            return Verification::Mismatch;
        }
        if !crate::keys::constant_time_eq(&out, expected.as_bytes()) {
            return Verification::Mismatch;
        }
        Verification::Match {
            needs_rehash: !self.is_current(&parsed),
        }
    }

    /// Spends the same work as `verify` on a known hash and always fails.
    pub fn verify_dummy(&self, password: &str) -> Verification {
        self.verify_dummy_with(password, &mut self.new_memory())
    }

    pub fn verify_dummy_with(&self, password: &str, memory: &mut HashMemory) -> Verification {
        let _ = self.verify_with(password, &self.dummy, memory);
        Verification::Mismatch
    }

    fn is_current(&self, parsed: &PasswordHash<'_>) -> bool {
        if parsed.algorithm.as_str() != "argon2id" || parsed.version != Some(0x13) {
            return false;
        }
        let Ok(p) = Params::try_from(parsed) else {
            return false;
        };
        p.m_cost() == self.params.memory_kib
            && p.t_cost() == self.params.iterations
            && p.p_cost() == self.params.parallelism
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    fn check(password: &str, expected: Result<(), PasswordRejection>) {
        assert_eq!(
            PasswordPolicy::default().check(password),
            expected,
            "{password:?}"
        );
    }

    #[test]
    fn policy_table() {
        check("", Err(PasswordRejection::TooShort { min: 8 }));
        check("a1b2c3d", Err(PasswordRejection::TooShort { min: 8 }));
        check("correct horse battery staple", Ok(()));
        check("tr0ub4dor&3x", Ok(()));
        // No composition rules: all lower-case letters is fine if long and uncommon.
        check("zqxwvplmkoijnb", Ok(()));
        // Common passwords are rejected whatever their case.
        check("password", Err(PasswordRejection::Common));
        check("PASSWORD", Err(PasswordRejection::Common));
        check("12345678", Err(PasswordRejection::Common));
        check("iloveyou", Err(PasswordRejection::Common));
        check("sunshine", Err(PasswordRejection::Common));
        check("football", Err(PasswordRejection::Common));
        check("baseball", Err(PasswordRejection::Common));
        check("qwertyuiop", Err(PasswordRejection::Common));
        // Eight characters counted as characters, not bytes.
        check("ééééééé", Err(PasswordRejection::TooShort { min: 8 }));
        check("éüößçñøå", Ok(()));
        // NFD input counts the same as NFC.
        check(
            "e\u{301}e\u{301}e\u{301}e\u{301}",
            Err(PasswordRejection::TooShort { min: 8 }),
        );
        // 256 characters are accepted, 1024 too, 1025 not.
        check(&"x7".repeat(128), Ok(()));
        check(&"y".repeat(1024), Ok(()));
        check(
            &"y".repeat(1025),
            Err(PasswordRejection::TooLong { max: 1024 }),
        );
    }

    #[test]
    fn list_is_real() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
    }

    fn cheap() -> HashParams {
        HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn hash_and_verify() {
        let rng = SeededRandom::new(1);
        let h = PasswordHasher::new(cheap(), &rng).unwrap();
        let phc = h.hash("correct horse battery staple", &rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(
            h.verify("correct horse battery staple", &phc),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            h.verify("correct horse battery stapl", &phc),
            Verification::Mismatch
        );
        assert_eq!(
            h.verify("anything", "not a phc string"),
            Verification::Mismatch
        );
        assert_eq!(h.verify_dummy("anything"), Verification::Mismatch);
    }

    #[test]
    fn phc_strings_interoperate_with_the_reference_implementation() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let rng = SeededRandom::new(5);
        let h = PasswordHasher::new(cheap(), &rng).unwrap();
        // Ours, checked by the argon2 crate's own verifier.
        let ours = h.hash("correct horse battery staple", &rng).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse battery staple", &parsed)
            .is_ok());
        assert!(Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
        // Theirs (other parameters, argon2i too), checked by ours with reused memory.
        let mut memory = h.new_memory();
        for alg in [Algorithm::Argon2id, Algorithm::Argon2i] {
            let argon = Argon2::new(alg, Version::V0x13, Params::new(96, 2, 1, None).unwrap());
            let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
            let theirs = argon
                .hash_password(b"correct horse battery staple", &salt)
                .unwrap()
                .to_string();
            assert_eq!(
                h.verify_with("correct horse battery staple", &theirs, &mut memory),
                Verification::Match { needs_rehash: true }
            );
            assert_eq!(
                h.verify_with("correct horse battery stapler", &theirs, &mut memory),
                Verification::Mismatch
            );
        }
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let rng = SeededRandom::new(2);
        let h = PasswordHasher::new(cheap(), &rng).unwrap();
        let long = "a".repeat(300);
        let phc = h.hash(&long, &rng).unwrap();
        let mut other = long.clone();
        other.push('b');
        assert_eq!(h.verify(&other, &phc), Verification::Mismatch);
        assert!(matches!(h.verify(&long, &phc), Verification::Match { .. }));
    }

    #[test]
    fn nfd_and_nfc_verify_alike() {
        let rng = SeededRandom::new(3);
        let h = PasswordHasher::new(cheap(), &rng).unwrap();
        let phc = h.hash("caf\u{e9} au lait", &rng).unwrap();
        assert!(matches!(
            h.verify("cafe\u{301} au lait", &phc),
            Verification::Match { .. }
        ));
    }

    #[test]
    fn parameter_change_requests_rehash() {
        let rng = SeededRandom::new(4);
        let old = PasswordHasher::new(cheap(), &rng).unwrap();
        let phc = old.hash("correct horse battery staple", &rng).unwrap();
        let new = PasswordHasher::new(
            HashParams {
                memory_kib: 128,
                iterations: 1,
                parallelism: 1,
            },
            &rng,
        )
        .unwrap();
        assert_eq!(
            new.verify("correct horse battery staple", &phc),
            Verification::Match { needs_rehash: true }
        );
        assert_eq!(
            new.verify("wrong horse battery staple", &phc),
            Verification::Mismatch
        );
    }
}
