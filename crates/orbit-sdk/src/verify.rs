//! Networkless session-token verification (docs/protocol.md "Session token claims"): RS256 against
//! the instance's JWKS (fetched from BAPI and cached for `jwks_cache_max_age`; refetched earlier
//! on an unknown `kid`, at most once every few seconds; kept for `jwks_stale_if_error` longer
//! while BAPI cannot be reached) or the `jwt_key` PEM; `exp`/`nbf`/`iat` with clock skew; `azp`. Handshake
//! tokens get the same signature and time checks.

use crate::bapi::BapiClient;
use crate::config::{ConfigError, OrbitConfig};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use orbit_proto::jwt::UnverifiedJwt;
use orbit_proto::{HandshakeClaims, SessionClaims};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm must be RS256")]
    Algorithm,
    #[error("no key with the token's kid in the instance's JWKS")]
    UnknownKid,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued in the future")]
    IatInFuture,
    #[error("the token's azp {0:?} is not an authorized party")]
    AuthorizedParty(String),
    #[error("fetching the JWKS failed: {0}")]
    Jwks(String),
}

impl VerifyError {
    /// A short reason in `@clerk/backend`'s vocabulary.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "token-invalid",
            VerifyError::Algorithm => "token-invalid-algorithm",
            VerifyError::UnknownKid => "jwk-kid-mismatch",
            VerifyError::Signature => "token-invalid-signature",
            VerifyError::Expired => "token-expired",
            VerifyError::NotYetValid => "token-not-active-yet",
            VerifyError::IatInFuture => "token-iat-in-the-future",
            VerifyError::AuthorizedParty(_) => "token-invalid-authorized-parties",
            VerifyError::Jwks(_) => "jwk-remote-failed-to-load",
        }
    }
}

/// A token's validity in time, with `skew` seconds of tolerance either way.
fn check_times(
    exp: i64,
    nbf: Option<i64>,
    iat: i64,
    now: i64,
    skew: i64,
) -> Result<(), VerifyError> {
    if exp <= now - skew {
        return Err(VerifyError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now + skew) {
        return Err(VerifyError::NotYetValid);
    }
    if iat > now + skew {
        return Err(VerifyError::IatInFuture);
    }
    Ok(())
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

/// Minimum time between two JWKS fetches caused by unknown `kid`s, so forged tokens cannot make
/// the SDK hammer the server (shorter when the cache's max age is).
const REFETCH_INTERVAL: Duration = Duration::from_secs(5);

/// The JWKS as last fetched.
#[derive(Default)]
struct CachedJwks {
    keys: HashMap<String, Arc<ParsedPublicKey>>,
    /// When the fetch that brought `keys` started; `None` before the first.
    fetched_at: Option<Instant>,
    /// The last fetch failed (BAPI unreachable or erring): until one succeeds, keys past their
    /// max age stay usable for the stale-if-error window.
    refresh_failed: bool,
}

#[derive(Clone)]
pub struct TokenVerifier {
    inner: Arc<VerifierInner>,
}

struct VerifierInner {
    pem_key: Option<ParsedPublicKey>,
    jwks: RwLock<CachedJwks>,
    /// Past this age the cached JWKS is not trusted: a key that left the instance's JWKS stops
    /// verifying within it, even when no unknown `kid` makes the SDK fetch again.
    max_age: Duration,
    /// How long past `max_age` the cached keys still verify while the JWKS cannot be fetched.
    stale_if_error: Duration,
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    bapi: BapiClient,
    skew: i64,
}

/// Parses an SPKI PEM RSA public key.
pub(crate) fn parse_pem(pem: &str) -> Result<ParsedPublicKey, ConfigError> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| ConfigError::InvalidJwtKey(e.to_string()))?;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .map_err(|e| ConfigError::InvalidJwtKey(e.to_string()))
}

fn key_from_jwk(n: &str, e: &str) -> Option<ParsedPublicKey> {
    let n = URL_SAFE_NO_PAD.decode(n).ok()?;
    let e = URL_SAFE_NO_PAD.decode(e).ok()?;
    let der = RsaPublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .ok()?;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der.as_ref()).ok()
}

#[allow(clippy::disallowed_methods)] // the SDK runs in apps: wall-clock time is the only clock
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Now, on the monotonic clock (the JWKS refetch throttle). With `now_secs`, the SDK's clock: the
/// only places it reads time (clippy.toml bans `Instant::now` elsewhere).
#[allow(clippy::disallowed_methods)]
fn monotonic_now() -> Instant {
    Instant::now()
}

impl TokenVerifier {
    pub(crate) fn new(config: &OrbitConfig, bapi: BapiClient) -> Result<Self, ConfigError> {
        let pem_key = config.jwt_key().map(parse_pem).transpose()?;
        Ok(Self {
            inner: Arc::new(VerifierInner {
                pem_key,
                jwks: RwLock::new(CachedJwks::default()),
                max_age: config.jwks_cache_max_age(),
                stale_if_error: config.jwks_stale_if_error(),
                last_fetch: tokio::sync::Mutex::new(None),
                bapi,
                skew: i64::try_from(config.clock_skew().as_secs()).unwrap_or(5),
            }),
        })
    }

    /// The key `kid` of the cached JWKS, unless the JWKS is older than its max age at `now`.
    fn cached(&self, kid: &str, now: Instant) -> Option<Arc<ParsedPublicKey>> {
        let jwks = self.inner.jwks.read().ok()?;
        let fresh = jwks
            .fetched_at
            .is_some_and(|t| now.saturating_duration_since(t) < self.inner.max_age);
        if !fresh {
            return None;
        }
        jwks.keys.get(kid).cloned()
    }

    /// The key `kid` of a JWKS past its max age, while the last fetch failed and the JWKS is
    /// within the stale-if-error window: an outage of the Backend API (or of its database) does
    /// not sign every user out of the app. A key removed meanwhile cannot be learned of anyway
    /// until a fetch succeeds; the window bounds how long that lasts.
    fn stale(&self, kid: &str, now: Instant) -> Option<Arc<ParsedPublicKey>> {
        let jwks = self.inner.jwks.read().ok()?;
        let usable = jwks.refresh_failed
            && jwks.fetched_at.is_some_and(|t| {
                now.saturating_duration_since(t) < self.inner.max_age + self.inner.stale_if_error
            });
        if !usable {
            return None;
        }
        jwks.keys.get(kid).cloned()
    }

    /// Fetches the JWKS from BAPI unless a fetch started less than `REFETCH_INTERVAL` (or the
    /// max age, if shorter) ago.
    async fn refresh(&self) -> Result<(), VerifyError> {
        let mut last = self.inner.last_fetch.lock().await;
        let now = monotonic_now();
        let throttle = REFETCH_INTERVAL.min(self.inner.max_age);
        if last.is_some_and(|t| now.saturating_duration_since(t) < throttle) {
            return Ok(());
        }
        *last = Some(now);
        let jwks = match self.inner.bapi.jwks().await {
            Ok(jwks) => jwks,
            Err(e) => {
                if let Ok(mut cached) = self.inner.jwks.write() {
                    cached.refresh_failed = true;
                }
                return Err(VerifyError::Jwks(e.to_string()));
            }
        };
        let mut map = HashMap::new();
        for k in jwks.keys {
            if k.kty == "RSA" {
                if let Some(key) = key_from_jwk(&k.n, &k.e) {
                    map.insert(k.kid, Arc::new(key));
                }
            }
        }
        if let Ok(mut jwks) = self.inner.jwks.write() {
            *jwks = CachedJwks {
                keys: map,
                fetched_at: Some(now),
                refresh_failed: false,
            };
        }
        Ok(())
    }

    /// Verifies the signature of any JWT signed by the instance (session or handshake token).
    pub async fn verify_signature<'a>(
        &self,
        token: &'a str,
    ) -> Result<UnverifiedJwt<'a>, VerifyError> {
        let jwt = UnverifiedJwt::parse(token).map_err(|_| VerifyError::Malformed)?;
        let header: Header = jwt.header().map_err(|_| VerifyError::Malformed)?;
        if header.alg != "RS256" {
            return Err(VerifyError::Algorithm);
        }
        if header.typ.as_deref().is_some_and(|t| t != "JWT") {
            return Err(VerifyError::Malformed);
        }
        let ok = match &self.inner.pem_key {
            Some(key) => key
                .verify_sig(jwt.signing_input.as_bytes(), &jwt.signature)
                .is_ok(),
            None => {
                let kid = header.kid.ok_or(VerifyError::UnknownKid)?;
                let key = match self.cached(&kid, monotonic_now()) {
                    Some(k) => k,
                    None => {
                        let refreshed = self.refresh().await;
                        let now = monotonic_now();
                        match self.cached(&kid, now).or_else(|| self.stale(&kid, now)) {
                            Some(k) => k,
                            None => {
                                refreshed?;
                                return Err(VerifyError::UnknownKid);
                            }
                        }
                    }
                };
                key.verify_sig(jwt.signing_input.as_bytes(), &jwt.signature)
                    .is_ok()
            }
        };
        if ok {
            Ok(jwt)
        } else {
            Err(VerifyError::Signature)
        }
    }

    /// Verifies a session token: signature, times (with clock skew) and, when `authorized` is
    /// not empty, that `azp` (if present) is one of them.
    pub async fn verify(
        &self,
        token: &str,
        authorized: &[String],
    ) -> Result<SessionClaims, VerifyError> {
        self.verify_at(token, authorized, now_secs(), self.inner.skew)
            .await
    }

    pub async fn verify_at(
        &self,
        token: &str,
        authorized: &[String],
        now: i64,
        skew: i64,
    ) -> Result<SessionClaims, VerifyError> {
        let jwt = self.verify_signature(token).await?;
        let claims: SessionClaims = jwt.claims().map_err(|_| VerifyError::Malformed)?;
        check_times(claims.exp, Some(claims.nbf), claims.iat, now, skew)?;
        if let Some(azp) = &claims.azp {
            if !authorized.is_empty() && !authorized.iter().any(|a| a == azp) {
                return Err(VerifyError::AuthorizedParty(azp.clone()));
            }
        }
        Ok(claims)
    }

    /// Verifies a handshake token (`format=token`, docs/protocol.md "The handshake (contract)"):
    /// the signature, and its times like a session token's, so a captured handshake cannot be
    /// replayed after its minute. `exp` and `iat` must be present.
    pub async fn verify_handshake(&self, token: &str) -> Result<HandshakeClaims, VerifyError> {
        self.verify_handshake_at(token, now_secs(), self.inner.skew)
            .await
    }

    pub async fn verify_handshake_at(
        &self,
        token: &str,
        now: i64,
        skew: i64,
    ) -> Result<HandshakeClaims, VerifyError> {
        #[derive(Deserialize)]
        struct Times {
            exp: i64,
            iat: i64,
            nbf: Option<i64>,
        }
        let jwt = self.verify_signature(token).await?;
        let times: Times = jwt.claims().map_err(|_| VerifyError::Malformed)?;
        check_times(times.exp, times.nbf, times.iat, now, skew)?;
        jwt.claims().map_err(|_| VerifyError::Malformed)
    }

    /// The `iat` of a token without verifying it (for the `__client_uat` comparison).
    pub(crate) fn peek_iat(token: &str) -> Option<i64> {
        let jwt = UnverifiedJwt::parse(token).ok()?;
        let v: serde_json::Value = jwt.claims().ok()?;
        v.get("iat")?.as_i64()
    }
}
