//! `Orbit`: the domain's entry point. Every use case of the server (sign-up, sign-in, sessions,
//! tokens, keys) is a method here; HTTP handlers only translate.

mod housekeeping;
mod instances;
pub(crate) use instances::redirect_policy_of;
mod devices;
mod frontend;
mod operators;
mod password_hashing;
mod sessions;
mod sign_ins;
mod sign_ups;
mod signing_keys;
mod users;

pub use devices::DEVICE_LIFETIME;
pub use housekeeping::{Round, CLIENT_IDLE_LIFETIME};
pub use operators::{
    operator_session_live, Actor, AuditAction, AuditPage, OperatorSignIn, SignedInOperator,
    AUDIT_PAGE_MAX, OPERATOR_SESSION_IDLE_TIMEOUT, OPERATOR_SESSION_LIFETIME, SETUP_TOKEN_LIFETIME,
};
pub use sign_ins::{BrowserContext, NewSignIn, SignedIn, SIGN_IN_LIFETIME};
pub use sign_ups::{SignUpOutcome, SIGN_UP_CODE_ATTEMPTS, SIGN_UP_CODE_LIFETIME};

pub use sessions::SessionOwner;

use crate::cache::TtlCache;
use crate::clock::{Clock, Millis, HOUR, MINUTE, SECOND};
use crate::error::{Error, Result};
use crate::keys::{MasterKey, SigningKey};
use crate::limits::SignInLimits;
use crate::model::*;
use crate::password::{HashParams, PasswordHasher, PasswordPolicy};
use crate::random::Random;
use crate::store::Store;
use orbit_proto::resources::Jwk;
use std::sync::Arc;

/// Tunables of the domain, from the server's configuration.
#[derive(Debug, Clone)]
pub struct OrbitSettings {
    pub hash_params: HashParams,
    pub password_policy: PasswordPolicy,
    pub sign_in_limits: SignInLimits,
    /// How long a node trusts its cached signing keys before re-reading them (another node or
    /// `orbit keys rotate` may have rotated them).
    pub key_cache_ttl: Millis,
    /// Session activity is written at most this often, so token refreshes stay read-only.
    pub session_touch_interval: Millis,
    /// A verified satellite whose DNS re-checks fail for this long is suspended.
    pub dns_recheck_grace: Millis,
    /// Where sign-up codes go out (SMTP in the server); `None` when no mail server is
    /// configured, which instances with `sign_up.email_verification` cannot work without.
    pub mail: Option<Arc<dyn crate::mail::MailTransport>>,
}

impl Default for OrbitSettings {
    fn default() -> Self {
        Self {
            hash_params: HashParams::default(),
            password_policy: PasswordPolicy::default(),
            sign_in_limits: SignInLimits::default(),
            key_cache_ttl: 10 * SECOND,
            session_touch_interval: MINUTE,
            dns_recheck_grace: 72 * HOUR,
            mail: None,
        }
    }
}

/// Keys of one instance as the signer sees them.
#[derive(Debug)]
#[non_exhaustive]
pub struct InstanceKeys {
    pub current: SigningKey,
    pub jwks: Vec<Jwk>,
}

/// Entries each of `Orbit`'s caches holds at most.
const CACHE_CAPACITY: usize = 10_000;

/// An instance's API keys in clear, for `orbit serve` and `orbit instance show`.
#[derive(Debug, Clone)]
pub struct InstanceCredentials {
    pub publishable_key: String,
    pub secret_key: String,
}

/// A secret key as operators see it after its creation (the dashboard): never in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeyInfo {
    pub id: String,
    /// `sk_live_…abcd` (`keys::mask_secret_key`).
    pub masked: String,
    pub created_at: Millis,
}

/// The instance and domain a FAPI host belongs to.
#[derive(Debug, Clone)]
pub struct HostContext {
    pub instance: Instance,
    pub domain: Domain,
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub email: String,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The browser a session starts in (a sign-in or a sign-up).
#[derive(Debug, Clone)]
pub struct SessionBrowser {
    /// The client the browser has; the start retires it.
    pub client: Option<Client>,
    /// The FAPI host the browser's new client token is for.
    pub fapi_host: String,
    pub user_agent: Option<String>,
}

/// What a sign-in hands to the browser: the session and a fresh `__client` token.
#[derive(Debug, Clone)]
pub struct SessionStart {
    pub client: Client,
    pub session: Session,
    /// The new client token (cookie value). Only its hash is stored.
    pub client_token: String,
}

pub struct Orbit {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    master: MasterKey,
    hasher: PasswordHasher,
    settings: OrbitSettings,
    /// Signing keys by instance, re-read after `key_cache_ttl` or earlier when a retired key
    /// must leave the JWKS.
    keys: TtlCache<Arc<InstanceKeys>>,
    /// argon2 permits, working memories and the bounded queue in front of them.
    hash_pool: password_hashing::HashPool,
    /// Hot lookups of every BAPI call and token mint, kept `key_cache_ttl` (another node or the
    /// CLI may change them; this node's own changes clear them at once).
    instances_by_secret: TtlCache<Instance>,
    primaries: TtlCache<Domain>,
}

impl std::fmt::Debug for Orbit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orbit")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Orbit {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        master: MasterKey,
        settings: OrbitSettings,
    ) -> Result<Self> {
        let hasher = PasswordHasher::new(settings.hash_params, random.as_ref())
            .map_err(|e| Error::Internal(e.to_string()))?;
        let ttl = settings.key_cache_ttl;
        Ok(Self {
            store,
            clock,
            random,
            master,
            hasher,
            settings,
            keys: TtlCache::new(ttl, CACHE_CAPACITY),
            hash_pool: password_hashing::HashPool::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            ),
            instances_by_secret: TtlCache::new(ttl, CACHE_CAPACITY),
            primaries: TtlCache::new(ttl, CACHE_CAPACITY),
        })
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
    pub fn random(&self) -> &Arc<dyn Random> {
        &self.random
    }
    pub fn settings(&self) -> &OrbitSettings {
        &self.settings
    }
    pub fn now(&self) -> Millis {
        self.clock.now_ms()
    }
}
