//! Session token claims (PROTOCOL.md "Session token claims (contract)").

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
