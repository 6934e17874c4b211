//! Randomness as a parameter: ids, tokens and secrets come from a `Random` handed in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::atomic::{AtomicU64, Ordering};

pub trait Random: Send + Sync + std::fmt::Debug {
    fn fill(&self, buf: &mut [u8]);

    /// `n` random bytes as unpadded base64url.
    fn token(&self, n: usize) -> String {
        let mut buf = vec![0u8; n];
        self.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// A resource id such as `user_2f7c...`: prefix + 128 random bits in lower-case base32.
    fn id(&self, prefix: &str) -> String {
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        format!("{prefix}_{}", base32_lower(&buf))
    }
}

/// The operating system's CSPRNG (through aws-lc).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) {
        // aws-lc's RNG does not fail on supported platforms; if it ever did, refusing to continue
        // is the only safe answer for an authentication server.
        if aws_lc_rs::rand::fill(buf).is_err() {
            std::process::abort();
        }
    }
}

/// A deterministic generator for tests (splitmix64). Never use it for real secrets.
#[derive(Debug)]
pub struct SeededRandom(AtomicU64);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(AtomicU64::new(seed))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut z = self
                .0
                .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::SeqCst)
                .wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let bytes = z.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_128_bits() {
        let id = SystemRandom.id("user");
        assert!(id.starts_with("user_"));
        assert_eq!(id.len(), 5 + 26);
        assert_ne!(SystemRandom.id("user"), SystemRandom.id("user"));
    }

    #[test]
    fn seeded_is_deterministic() {
        assert_eq!(
            SeededRandom::new(7).token(32),
            SeededRandom::new(7).token(32)
        );
        assert_ne!(
            SeededRandom::new(7).token(32),
            SeededRandom::new(8).token(32)
        );
    }
}
