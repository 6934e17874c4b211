//! Key formats (docs/protocol.md "Keys (contract)").

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// Development instances use `pk_test_`/`sk_test_`, production `pk_live_`/`sk_live_`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceKind {
    Development,
    Production,
}

impl InstanceKind {
    pub fn key_env(self) -> &'static str {
        match self {
            InstanceKind::Development => "test",
            InstanceKind::Production => "live",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::Development => "development",
            InstanceKind::Production => "production",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "development" => Some(InstanceKind::Development),
            "production" => Some(InstanceKind::Production),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a publishable key starts with pk_test_ or pk_live_")]
    BadPrefix,
    #[error("the publishable key's payload is not base64")]
    NotBase64,
    #[error("the publishable key's host must end in exactly one '$'")]
    BadTerminator,
    #[error(
        "the publishable key's host must contain a dot (the published SDKs reject it otherwise)"
    )]
    HostWithoutDot,
}

/// `pk_test_` / `pk_live_` + unpadded base64 of `<fapi-host>$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishableKey {
    pub kind: InstanceKind,
    /// The primary's FAPI host, possibly with a port.
    pub fapi_host: String,
}

impl PublishableKey {
    pub fn new(kind: InstanceKind, fapi_host: &str) -> Result<Self, KeyError> {
        if !fapi_host.contains('.') {
            return Err(KeyError::HostWithoutDot);
        }
        if fapi_host.contains('$') {
            return Err(KeyError::BadTerminator);
        }
        Ok(Self {
            kind,
            fapi_host: fapi_host.to_owned(),
        })
    }

    pub fn encode(&self) -> String {
        let payload = STANDARD_NO_PAD.encode(format!("{}$", self.fapi_host));
        format!("pk_{}_{}", self.kind.key_env(), payload)
    }

    /// Parses with the same acceptance rule as the published SDKs: three `_` parts, the decoded
    /// part ends in exactly one `$` and contains a `.`.
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let parts: Vec<&str> = key.split('_').collect();
        let kind = match parts.as_slice() {
            ["pk", "test", _] => InstanceKind::Development,
            ["pk", "live", _] => InstanceKind::Production,
            _ => return Err(KeyError::BadPrefix),
        };
        let payload = parts[2].trim_end_matches('=');
        let decoded = STANDARD_NO_PAD
            .decode(payload)
            .map_err(|_| KeyError::NotBase64)?;
        let decoded = String::from_utf8(decoded).map_err(|_| KeyError::NotBase64)?;
        let host = decoded.strip_suffix('$').ok_or(KeyError::BadTerminator)?;
        if host.contains('$') {
            return Err(KeyError::BadTerminator);
        }
        Self::new(kind, host)
    }
}

/// First 8 characters of URL-safe base64 of SHA-1(publishable key), used to suffix cookie names
/// so that instances sharing a parent domain do not collide (docs/protocol.md "Keys").
pub fn cookie_suffix(publishable_key: &str) -> String {
    let digest = Sha1::digest(publishable_key.as_bytes());
    let mut s = URL_SAFE.encode(digest);
    s.truncate(8);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishable_key_round_trips() {
        let pk = PublishableKey::new(InstanceKind::Development, "127.0.0.1:4000").unwrap();
        let encoded = pk.encode();
        assert!(encoded.starts_with("pk_test_"));
        assert!(!encoded.ends_with('='));
        assert_eq!(PublishableKey::parse(&encoded).unwrap(), pk);
    }

    #[test]
    fn known_encoding() {
        // "clerk.example.com$" in base64 is "Y2xlcmsuZXhhbXBsZS5jb20k".
        let pk = PublishableKey::new(InstanceKind::Production, "clerk.example.com").unwrap();
        assert_eq!(pk.encode(), "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k");
    }

    #[test]
    fn host_without_dot_is_rejected() {
        assert_eq!(
            PublishableKey::new(InstanceKind::Development, "localhost:4000"),
            Err(KeyError::HostWithoutDot)
        );
        let raw = format!("pk_test_{}", STANDARD_NO_PAD.encode("localhost$"));
        assert_eq!(PublishableKey::parse(&raw), Err(KeyError::HostWithoutDot));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(
            PublishableKey::parse("sk_test_abc"),
            Err(KeyError::BadPrefix)
        );
        assert_eq!(PublishableKey::parse("pk_test"), Err(KeyError::BadPrefix));
        assert_eq!(
            PublishableKey::parse("pk_test_!!!"),
            Err(KeyError::NotBase64)
        );
        let two = format!("pk_test_{}", STANDARD_NO_PAD.encode("a.b$$"));
        assert_eq!(PublishableKey::parse(&two), Err(KeyError::BadTerminator));
        let none = format!("pk_test_{}", STANDARD_NO_PAD.encode("a.b"));
        assert_eq!(PublishableKey::parse(&none), Err(KeyError::BadTerminator));
    }

    #[test]
    fn cookie_suffix_is_eight_url_safe_chars() {
        let s = cookie_suffix("pk_test_Y2xlcmsuZXhhbXBsZS5jb20k");
        assert_eq!(s.len(), 8);
        assert!(s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(s, cookie_suffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"));
    }
}
