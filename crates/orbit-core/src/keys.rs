//! Instance keys (docs/protocol.md "Keys (contract)"): secret keys, RSA-2048 signing keys, JWKS, and
//! the master key that seals secrets at rest.

use crate::clock::{Millis, SECOND};
use crate::random::Random;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use orbit_proto::claims::JwtHeader;
use orbit_proto::resources::Jwk;
use orbit_proto::InstanceKind;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Session tokens live 60 s (docs/protocol.md "Session token claims").
pub const SESSION_TOKEN_LIFETIME_SECS: i64 = 60;
/// Added to `key_cache_ttl` before a rotated key signs (`Orbit::key_publish_lead`): the
/// clock difference between nodes this tolerates.
pub const KEY_PUBLISH_MARGIN: Millis = 5 * SECOND;
/// How long HTTP caches may keep FAPI's `/.well-known/jwks.json` (`Cache-Control: max-age`): part
/// of the publish lead, so that a verifier reading the JWKS through an HTTP cache has the new
/// key too before any node signs with it.
pub const JWKS_HTTP_MAX_AGE: Millis = 5 * SECOND;
/// A retired signing key stays in the JWKS until every token it signed has expired, plus the
/// clock skew verifiers allow.
pub const RETIRED_KEY_RETENTION: Millis = (SESSION_TOKEN_LIFETIME_SECS + 5) * SECOND;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be 32 bytes")]
    MasterKeyLength,
    #[error("sealed data is corrupt or was sealed with another master key")]
    Unseal,
    #[error("cryptographic operation failed: {0}")]
    Crypto(&'static str),
    #[error("the stored signing key is invalid: {0}")]
    BadSigningKey(String),
}

/// The deployment's key-encryption key: seals secret keys and private signing keys at rest so
/// that a copy of the database alone does not leak them.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 32 {
            return Err(KeyError::MasterKeyLength);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| KeyError::MasterKeyLength)?;
        Ok(Self(LessSafeKey::new(key)))
    }

    pub fn generate(random: &dyn Random) -> [u8; 32] {
        let mut k = [0u8; 32];
        random.fill(&mut k);
        k
    }

    /// nonce || ciphertext || tag
    pub fn seal(&self, plaintext: &[u8], random: &dyn Random) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut buf = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .map_err(|_| KeyError::Crypto("seal"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut buf = rest.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .map_err(|_| KeyError::Unseal)?;
        Ok(plain.to_vec())
    }
}

/// A fresh secret key: `sk_test_`/`sk_live_` + 192 random bits in hex.
pub fn new_secret_key(kind: InstanceKind, random: &dyn Random) -> String {
    let mut b = [0u8; 24];
    random.fill(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("sk_{}_{}", kind.key_env(), hex)
}

/// A secret key as the dashboard shows it once it was created: its prefix and last four
/// characters, `sk_live_…abcd` (enough to tell keys apart, useless to a reader).
pub fn mask_secret_key(secret: &str) -> String {
    let prefix = ["sk_test_", "sk_live_"]
        .into_iter()
        .find(|p| secret.starts_with(p))
        .unwrap_or("sk_");
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}\u{2026}{tail}")
}

/// What the store keeps of a secret key or another random token (client tokens, sync tokens,
/// nonces) to look it up: SHA-256, hex. They carry >= 128 random bits, so a fast hash is enough
/// (no password stretching needed).
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// An RSA-2048 signing key ready to sign.
pub struct SigningKey {
    pub kid: String,
    pair: RsaKeyPair,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish()
    }
}

impl SigningKey {
    /// A new RSA-2048 key with e = 65537 (the SDKs' `jwtKey` shortcut assumes it).
    pub fn generate(kid: String) -> Result<(Self, Vec<u8>), KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| KeyError::Crypto("RSA key generation"))?;
        let der = pair
            .as_der()
            .map_err(|_| KeyError::Crypto("PKCS#8 encoding"))?;
        let der = der.as_ref().to_vec();
        Ok((Self::from_pkcs8(kid, &der)?, der))
    }

    pub fn from_pkcs8(kid: String, der: &[u8]) -> Result<Self, KeyError> {
        let pair =
            RsaKeyPair::from_pkcs8(der).map_err(|e| KeyError::BadSigningKey(e.to_string()))?;
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        Ok(Self { kid, pair, n, e })
    }

    pub fn modulus(&self) -> &[u8] {
        &self.n
    }
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    pub fn jwk(&self) -> Jwk {
        jwk(&self.kid, &self.n, &self.e)
    }

    /// Signs `claims` as an RS256 JWT with this key's `kid`.
    pub fn sign_jwt<C: Serialize>(&self, claims: &C) -> Result<String, KeyError> {
        let header = JwtHeader {
            alg: "RS256".into(),
            kid: self.kid.clone(),
            typ: "JWT".into(),
        };
        let input = orbit_proto::jwt::signing_input(&header, claims)
            .map_err(|_| KeyError::Crypto("JWT encoding"))?;
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| KeyError::Crypto("RSA signing"))?;
        Ok(orbit_proto::jwt::append_signature(&input, &sig))
    }
}

pub fn jwk(kid: &str, n: &[u8], e: &[u8]) -> Jwk {
    Jwk {
        kty: "RSA".into(),
        n: URL_SAFE_NO_PAD.encode(n),
        e: URL_SAFE_NO_PAD.encode(e),
        kid: kid.into(),
        use_: "sig".into(),
        alg: "RS256".into(),
    }
}

/// Verifies an RS256 JWT signature against a public key (n, e). Used by tests and tools; the SDK
/// has its own verifier.
pub fn verify_rs256(token: &str, n: &[u8], e: &[u8]) -> bool {
    let Ok(parsed) = orbit_proto::jwt::UnverifiedJwt::parse(token) else {
        return false;
    };
    let key = aws_lc_rs::signature::RsaPublicKeyComponents { n, e };
    key.verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        parsed.signing_input.as_bytes(),
        &parsed.signature,
    )
    .is_ok()
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn seal_round_trip_and_tamper() {
        let rng = SeededRandom::new(9);
        let mk = MasterKey::from_bytes(&MasterKey::generate(&rng)).unwrap();
        let sealed = mk.seal(b"sk_test_abc", &rng).unwrap();
        assert_eq!(mk.open(&sealed).unwrap(), b"sk_test_abc");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(mk.open(&bad).is_err());
        let other = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        assert!(other.open(&sealed).is_err());
        assert!(MasterKey::from_bytes(&[0u8; 31]).is_err());
    }

    #[test]
    fn rsa_key_signs_verifiable_jwts() {
        let (key, der) = SigningKey::generate("kid1".into()).unwrap();
        assert_eq!(key.modulus().len(), 256);
        assert_eq!(key.exponent(), &[1, 0, 1]);
        let token = key.sign_jwt(&serde_json::json!({"sub": "user_1"})).unwrap();
        assert!(verify_rs256(&token, key.modulus(), key.exponent()));
        let reloaded = SigningKey::from_pkcs8("kid1".into(), &der).unwrap();
        assert!(verify_rs256(
            &reloaded.sign_jwt(&1).unwrap(),
            key.modulus(),
            key.exponent()
        ));
        let (other, _) = SigningKey::generate("kid2".into()).unwrap();
        assert!(!verify_rs256(&token, other.modulus(), other.exponent()));
        let header: JwtHeader = orbit_proto::jwt::UnverifiedJwt::parse(&token)
            .unwrap()
            .header()
            .unwrap();
        assert_eq!(
            header,
            JwtHeader {
                alg: "RS256".into(),
                kid: "kid1".into(),
                typ: "JWT".into()
            }
        );
    }

    #[test]
    fn secret_keys() {
        let rng = SeededRandom::new(1);
        let k = new_secret_key(InstanceKind::Development, &rng);
        assert!(k.starts_with("sk_test_") && k.len() == 8 + 48, "{k}");
        assert_eq!(token_hash(&k), token_hash(&k));
        assert_ne!(
            token_hash(&k),
            token_hash(&new_secret_key(InstanceKind::Production, &rng))
        );
    }

    #[test]
    fn masked_secret_keys_keep_the_prefix_and_the_last_four() {
        assert_eq!(
            mask_secret_key("sk_live_0123456789abcdef"),
            "sk_live_\u{2026}cdef"
        );
        assert_eq!(mask_secret_key("sk_test_00ab12"), "sk_test_\u{2026}ab12");
        let rng = SeededRandom::new(2);
        let k = new_secret_key(InstanceKind::Production, &rng);
        let masked = mask_secret_key(&k);
        assert!(k.ends_with(&masked["sk_live_\u{2026}".len()..]), "{masked}");
        assert_eq!(masked.chars().count(), 13);
    }
}
