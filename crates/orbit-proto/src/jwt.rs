//! Compact JWS encoding (RFC 7515) without the cryptography, which lives with whoever holds keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtFormatError {
    #[error("a JWT has three dot-separated parts")]
    Parts,
    #[error("a JWT part is not base64url")]
    Base64,
    #[error("a JWT part is not the expected JSON: {0}")]
    Json(String),
}

/// The signing input `base64url(header).base64url(claims)`.
pub fn signing_input<H: Serialize, C: Serialize>(
    header: &H,
    claims: &C,
) -> Result<String, JwtFormatError> {
    let h = serde_json::to_vec(header).map_err(|e| JwtFormatError::Json(e.to_string()))?;
    let c = serde_json::to_vec(claims).map_err(|e| JwtFormatError::Json(e.to_string()))?;
    Ok(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(c)
    ))
}

pub fn append_signature(signing_input: &str, signature: &[u8]) -> String {
    format!("{}.{}", signing_input, URL_SAFE_NO_PAD.encode(signature))
}

/// A JWT split into its parts, not yet verified.
#[derive(Debug, Clone)]
pub struct UnverifiedJwt<'a> {
    pub signing_input: &'a str,
    pub header: &'a str,
    pub claims: &'a str,
    pub signature: Vec<u8>,
}

impl<'a> UnverifiedJwt<'a> {
    pub fn parse(token: &'a str) -> Result<Self, JwtFormatError> {
        let mut it = token.splitn(3, '.');
        let (Some(header), Some(claims), Some(sig)) = (it.next(), it.next(), it.next()) else {
            return Err(JwtFormatError::Parts);
        };
        if sig.contains('.') {
            return Err(JwtFormatError::Parts);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| JwtFormatError::Base64)?;
        let signing_input = &token[..header.len() + 1 + claims.len()];
        Ok(Self {
            signing_input,
            header,
            claims,
            signature,
        })
    }

    pub fn header<T: DeserializeOwned>(&self) -> Result<T, JwtFormatError> {
        decode_json(self.header)
    }

    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, JwtFormatError> {
        decode_json(self.claims)
    }
}

fn decode_json<T: DeserializeOwned>(part: &str) -> Result<T, JwtFormatError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtFormatError::Base64)?;
    serde_json::from_slice(&bytes).map_err(|e| JwtFormatError::Json(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let input = signing_input(&json!({"alg":"RS256"}), &json!({"sub":"u"})).unwrap();
        let token = append_signature(&input, b"sig");
        let parsed = UnverifiedJwt::parse(&token).unwrap();
        assert_eq!(parsed.signing_input, input);
        assert_eq!(parsed.signature, b"sig");
        let claims: serde_json::Value = parsed.claims().unwrap();
        assert_eq!(claims["sub"], "u");
    }

    #[test]
    fn malformed() {
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.!!"] {
            assert!(UnverifiedJwt::parse(bad).is_err(), "{bad}");
        }
        let t = UnverifiedJwt::parse("e30.bm90anNvbg.c2ln").unwrap();
        assert!(t.claims::<serde_json::Value>().is_err());
    }
}
