//! Session token claims (docs/protocol.md "Session token claims (contract)").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtHeader {
    pub alg: String,
    pub kid: String,
    pub typ: String,
}

/// Claims of a session token. Timestamps are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// FAPI URL that issued the token.
    pub iss: String,
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Origin of the request that asked for the token; absent for BAPI-minted tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    pub jti: String,
    /// Token format version; always 2.
    pub v: u8,
    /// Session status, e.g. `active`.
    pub sts: String,
    /// Factor verification age in minutes: `[first factor, second factor]` (-1 = never).
    pub fva: [i64; 2],
}

/// Claims of the `__clerk_handshake` token (`format=token`): the `Set-Cookie` directives the
/// app's backend applies. Timestamps are unix seconds. Fields are in alphabetical order, the
/// order of the `json!` object the server signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandshakeClaims {
    /// Read leniently here (0 when absent); the SDK refuses a token without `exp` and `iat`
    /// when it checks the times (`TokenVerifier::verify_handshake`).
    #[serde(default)]
    pub exp: i64,
    pub handshake: Vec<String>,
    #[serde(default)]
    pub iat: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_claims() {
        let claims = HandshakeClaims {
            exp: 1_700_000_060,
            handshake: vec![
                "__session=a.b.c; Path=/".into(),
                "__client_uat=1; Path=/".into(),
            ],
            iat: 1_700_000_000,
        };
        // What the server signed with `json!({"handshake", "iat", "exp"})`.
        let wire = r#"{"exp":1700000060,"handshake":["__session=a.b.c; Path=/","__client_uat=1; Path=/"],"iat":1700000000}"#;
        assert_eq!(serde_json::to_string(&claims).unwrap(), wire);
        assert_eq!(
            serde_json::from_str::<HandshakeClaims>(wire).unwrap(),
            claims
        );
        // The SDK reads the directives whatever else the token carries.
        let bare: HandshakeClaims = serde_json::from_str(r#"{"handshake":[],"x":1}"#).unwrap();
        assert!(bare.handshake.is_empty());
        assert!(serde_json::from_str::<HandshakeClaims>(r#"{"iat":1}"#).is_err());
    }
}
