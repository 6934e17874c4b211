//! `Orbit`: the domain's entry point. Every use case of the server (sign-up, sign-in, sessions,
//! tokens, keys) is a method here; HTTP handlers only translate.

use crate::clock::{Clock, Millis, MINUTE, SECOND};
use crate::error::{Error, Result};
use crate::keys::{
    self, token_hash, MasterKey, SigningKey, RETIRED_KEY_RETENTION, SESSION_TOKEN_LIFETIME_SECS,
};
use crate::limits::{KeyedRateLimiter, SignInLimits};
use crate::model::*;
use crate::password::{HashParams, PasswordHasher, PasswordPolicy, Verification};
use crate::random::Random;
use crate::store::{Store, StoreError};
use crate::{email, HOUR};
use orbit_proto::resources::{Jwk, Jwks};
use orbit_proto::{PublishableKey, SessionClaims};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

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
}

impl Default for OrbitSettings {
    fn default() -> Self {
        Self {
            hash_params: HashParams::default(),
            password_policy: PasswordPolicy::default(),
            sign_in_limits: SignInLimits::default(),
            key_cache_ttl: 10 * SECOND,
            session_touch_interval: MINUTE,
        }
    }
}

/// Keys of one instance as the signer sees them.
#[derive(Debug)]
pub struct InstanceKeys {
    pub current: SigningKey,
    pub jwks: Vec<Jwk>,
    /// Re-read the keys from the store after this moment: the cache TTL, or earlier when a
    /// retired key must leave the JWKS.
    fresh_until: Millis,
}

/// An instance's API keys in clear, for `orbit serve` and `orbit instance show`.
#[derive(Debug, Clone)]
pub struct InstanceCredentials {
    pub publishable_key: String,
    pub secret_key: String,
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
    ip_limiter: KeyedRateLimiter,
    keys: RwLock<HashMap<String, Arc<InstanceKeys>>>,
    /// argon2 runs at most this many at a time: each takes `memory_kib` of RAM, and more
    /// parallel hashes than cores only add memory, not throughput.
    hash_permits: Arc<tokio::sync::Semaphore>,
    /// One argon2 working memory per permit, kept between hashes.
    hash_memory: Arc<Mutex<Vec<crate::password::HashMemory>>>,
    /// Hot lookups of every BAPI call and token mint, kept `key_cache_ttl` (another node or the
    /// CLI may change them; this node's own changes clear them at once).
    instances_by_secret: RwLock<HashMap<String, (Millis, Instance)>>,
    primaries: RwLock<HashMap<String, (Millis, Domain)>>,
}

impl std::fmt::Debug for Orbit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orbit")
            .field("settings", &self.settings)
            .finish()
    }
}

fn clean_name(name: Option<String>, field: &'static str) -> Result<Option<String>> {
    let Some(n) = name else { return Ok(None) };
    let n = n.trim().to_owned();
    if n.chars().count() > 256 {
        return Err(Error::Invalid {
            field,
            reason: "at most 256 characters".into(),
        });
    }
    if n.chars().any(char::is_control) {
        return Err(Error::Invalid {
            field,
            reason: "must not contain control characters".into(),
        });
    }
    Ok(if n.is_empty() { None } else { Some(n) })
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
        let limits = settings.sign_in_limits;
        Ok(Self {
            store,
            clock,
            random,
            master,
            hasher,
            ip_limiter: KeyedRateLimiter::new(limits.per_ip_burst, limits.per_ip_per_minute),
            settings,
            keys: RwLock::new(HashMap::new()),
            hash_permits: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, usize::from),
            )),
            hash_memory: Arc::new(Mutex::new(Vec::new())),
            instances_by_secret: RwLock::new(HashMap::new()),
            primaries: RwLock::new(HashMap::new()),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
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

    // ---- applications and instances -------------------------------------------------------

    /// Creates an application with one instance of `kind` whose primary domain is `primary`
    /// served on FAPI host `fapi_host`, with a secret key and a signing key.
    pub async fn create_application(
        &self,
        name: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<Instance> {
        let now = self.now();
        let app = Application {
            id: self.random.id("app"),
            name: name.to_owned(),
            created_at: now,
        };
        self.store.create_application(&app).await?;
        self.create_instance(&app.id, kind, primary, fapi_host)
            .await
    }

    pub async fn create_instance(
        &self,
        application_id: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<Instance> {
        PublishableKey::new(kind, fapi_host).map_err(|e| Error::Invalid {
            field: "fapi_host",
            reason: e.to_string(),
        })?;
        let now = self.now();
        let instance = Instance {
            id: self.random.id("ins"),
            application_id: application_id.to_owned(),
            kind,
            settings: InstanceSettings::default(),
            created_at: now,
        };
        self.store.create_instance(&instance).await?;
        let domain = Domain {
            id: self.random.id("dmn"),
            instance_id: instance.id.clone(),
            name: primary.to_owned(),
            is_satellite: false,
            fapi_host: Some(fapi_host.to_owned()),
            // The primary is the deployment's own host: the operator points it at Orbit.
            verified: true,
            verification_error: None,
            checked_at: None,
            created_at: now,
        };
        self.store.add_domain(&domain).await?;
        self.add_secret_key(&instance).await?;
        self.rotate_signing_key(&instance.id).await?;
        Ok(instance)
    }

    async fn add_secret_key(&self, instance: &Instance) -> Result<String> {
        let secret = keys::new_secret_key(instance.kind, self.random.as_ref());
        let stored = StoredSecretKey {
            id: self.random.id("sk"),
            instance_id: instance.id.clone(),
            hash: keys::token_hash(&secret),
            sealed: self.master.seal(secret.as_bytes(), self.random.as_ref())?,
            created_at: self.now(),
        };
        self.store.add_secret_key(&stored).await?;
        Ok(secret)
    }

    pub async fn instance(&self, id: &str) -> Result<Instance> {
        self.store
            .instance(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "instance",
                id: id.to_owned(),
            })
    }

    pub async fn primary_domain(&self, instance_id: &str) -> Result<Domain> {
        let now = self.now();
        if let Some(d) = cached(
            &self.primaries,
            instance_id,
            now,
            self.settings.key_cache_ttl,
        ) {
            return Ok(d);
        }
        let primary = self
            .store
            .domains(instance_id)
            .await?
            .into_iter()
            .find(|d| !d.is_satellite)
            .ok_or_else(|| Error::NotFound {
                resource: "primary domain of instance",
                id: instance_id.to_owned(),
            })?;
        if let Ok(mut m) = self.primaries.write() {
            m.insert(instance_id.to_owned(), (now, primary.clone()));
        }
        Ok(primary)
    }

    /// The publishable key (contract format) of an instance.
    pub async fn publishable_key(&self, instance: &Instance) -> Result<String> {
        let primary = self.primary_domain(&instance.id).await?;
        let pk = PublishableKey::new(
            instance.kind,
            primary.fapi_host.as_deref().unwrap_or_default(),
        )
        .map_err(|e| Error::Invalid {
            field: "fapi_host",
            reason: e.to_string(),
        })?;
        Ok(pk.encode())
    }

    pub async fn credentials(&self, instance: &Instance) -> Result<InstanceCredentials> {
        let primary = self.primary_domain(&instance.id).await?;
        let pk = PublishableKey::new(
            instance.kind,
            primary.fapi_host.as_deref().unwrap_or_default(),
        )
        .map_err(|e| Error::Invalid {
            field: "fapi_host",
            reason: e.to_string(),
        })?;
        let newest = self
            .store
            .secret_keys(&instance.id)
            .await?
            .into_iter()
            .max_by_key(|k| k.created_at)
            .ok_or_else(|| Error::NotFound {
                resource: "secret key of instance",
                id: instance.id.clone(),
            })?;
        let secret = String::from_utf8(self.master.open(&newest.sealed)?)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(InstanceCredentials {
            publishable_key: pk.encode(),
            secret_key: secret,
        })
    }

    /// The FAPI URL of a domain: `https://clerk.example.com`, or plain http in development.
    /// Development satellites have no FAPI host of their own: pass the primary's as `fallback`.
    pub fn fapi_url(instance: &Instance, domain: &Domain) -> String {
        let scheme = match instance.kind {
            InstanceKind::Development => "http",
            InstanceKind::Production => "https",
        };
        format!(
            "{scheme}://{}",
            domain.fapi_host.as_deref().unwrap_or_default()
        )
    }

    /// The FAPI host that serves `domain`: its own, or the primary's for development satellites.
    pub async fn fapi_host_of(&self, domain: &Domain) -> Result<String> {
        match &domain.fapi_host {
            Some(h) => Ok(h.clone()),
            None => self
                .primary_domain(&domain.instance_id)
                .await?
                .fapi_host
                .ok_or_else(|| Error::Internal("primary without FAPI host".into())),
        }
    }

    /// Which instance and domain a FAPI host serves.
    pub async fn resolve_host(&self, fapi_host: &str) -> Result<Option<HostContext>> {
        let Some(domain) = self
            .store
            .domain_by_fapi_host(&fapi_host.to_ascii_lowercase())
            .await?
        else {
            return Ok(None);
        };
        let instance = self.instance(&domain.instance_id).await?;
        Ok(Some(HostContext { instance, domain }))
    }

    pub async fn instance_for_secret_key(&self, secret_key: &str) -> Result<Option<Instance>> {
        if !(secret_key.starts_with("sk_test_") || secret_key.starts_with("sk_live_")) {
            return Ok(None);
        }
        let hash = keys::token_hash(secret_key);
        let now = self.now();
        if let Some(i) = cached(
            &self.instances_by_secret,
            &hash,
            now,
            self.settings.key_cache_ttl,
        ) {
            return Ok(Some(i));
        }
        let found = self.store.instance_by_secret_hash(&hash).await?;
        if let (Some(i), Ok(mut m)) = (&found, self.instances_by_secret.write()) {
            if m.len() > 10_000 {
                m.clear();
            }
            m.insert(hash, (now, i.clone()));
        }
        Ok(found)
    }

    pub async fn update_settings(
        &self,
        instance_id: &str,
        settings: InstanceSettings,
    ) -> Result<Instance> {
        for origin in &settings.allowed_redirect_origins {
            crate::redirect::OriginPattern::parse(origin).map_err(|e| Error::Invalid {
                field: "allowed_redirect_origins",
                reason: e.to_string(),
            })?;
        }
        if settings.session_inactivity_ms < MINUTE || settings.session_lifetime_ms < MINUTE {
            return Err(Error::Invalid {
                field: "session lifetime",
                reason: "at least one minute".into(),
            });
        }
        self.store.update_settings(instance_id, &settings).await?;
        if let Ok(mut m) = self.instances_by_secret.write() {
            m.clear();
        }
        self.instance(instance_id).await
    }

    /// The redirect policy of an instance: its domains plus its allowed redirect origins
    /// (PROTOCOL.md "Redirect validation").
    pub async fn redirect_policy(
        &self,
        instance: &Instance,
    ) -> Result<crate::redirect::RedirectPolicy> {
        use crate::redirect::{OriginPattern, RedirectPolicy};
        let dev = instance.kind == InstanceKind::Development;
        let mut policy = RedirectPolicy::new(dev);
        let scheme = if dev { "http" } else { "https" };
        for d in self.store.domains(&instance.id).await? {
            let mut origins = vec![format!("{scheme}://{}", d.name)];
            if d.fapi_host.is_some() {
                origins.push(Orbit::fapi_url(instance, &d));
            }
            if dev {
                // Development apps may run on https locally too.
                origins.push(format!("https://{}", d.name));
            }
            for origin in origins {
                if let Ok(p) = OriginPattern::parse(&origin) {
                    policy.allow(p);
                }
            }
        }
        for o in &instance.settings.allowed_redirect_origins {
            if let Ok(p) = OriginPattern::parse(o) {
                policy.allow(p);
            }
        }
        Ok(policy)
    }

    // ---- signing keys ------------------------------------------------------------------

    /// Adds a new signing key; the previous one is retired but stays in the JWKS until its
    /// tokens have expired (`RETIRED_KEY_RETENTION`).
    pub async fn rotate_signing_key(&self, instance_id: &str) -> Result<String> {
        let kid = self.random.id("ins_key");
        let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(kid))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        let now = self.now();
        let stored = StoredSigningKey {
            kid: key.kid.clone(),
            instance_id: instance_id.to_owned(),
            sealed_pkcs8: self.master.seal(&der, self.random.as_ref())?,
            public_n: key.modulus().to_vec(),
            public_e: key.exponent().to_vec(),
            created_at: now,
            retired_at: None,
        };
        self.store.add_signing_key(&stored).await?;
        self.store
            .delete_signing_keys_retired_before(instance_id, now - RETIRED_KEY_RETENTION)
            .await?;
        self.forget_keys(instance_id);
        Ok(stored.kid)
    }

    fn forget_keys(&self, instance_id: &str) {
        if let Ok(mut map) = self.keys.write() {
            map.remove(instance_id);
        }
    }

    pub async fn instance_keys(&self, instance_id: &str) -> Result<Arc<InstanceKeys>> {
        let now = self.now();
        if let Ok(map) = self.keys.read() {
            if let Some(k) = map.get(instance_id) {
                if now < k.fresh_until {
                    return Ok(k.clone());
                }
            }
        }
        let stored = self.store.signing_keys(instance_id).await?;
        let current = stored
            .iter()
            .filter(|k| k.retired_at.is_none())
            .max_by_key(|k| k.created_at)
            .ok_or_else(|| Error::NotFound {
                resource: "signing key of instance",
                id: instance_id.to_owned(),
            })?;
        let der = self.master.open(&current.sealed_pkcs8)?;
        let signing = SigningKey::from_pkcs8(current.kid.clone(), &der)?;
        let published: Vec<_> = stored
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| now < r + RETIRED_KEY_RETENTION))
            .collect();
        let fresh_until = published
            .iter()
            .filter_map(|k| k.retired_at.map(|r| r + RETIRED_KEY_RETENTION))
            .fold(now + self.settings.key_cache_ttl, Millis::min);
        let jwks = published
            .iter()
            .map(|k| keys::jwk(&k.kid, &k.public_n, &k.public_e))
            .collect();
        let loaded = Arc::new(InstanceKeys {
            current: signing,
            jwks,
            fresh_until,
        });
        if let Ok(mut map) = self.keys.write() {
            map.insert(instance_id.to_owned(), loaded.clone());
        }
        Ok(loaded)
    }

    pub async fn jwks(&self, instance_id: &str) -> Result<Jwks> {
        Ok(Jwks {
            keys: self.instance_keys(instance_id).await?.jwks.clone(),
        })
    }

    // ---- users -------------------------------------------------------------------------

    /// Creates a user. With a password, the password policy applies.
    pub async fn create_user(&self, instance: &Instance, new: NewUser) -> Result<User> {
        let email = email::normalize(&new.email)?;
        let first_name = clean_name(new.first_name, "first_name")?;
        let last_name = clean_name(new.last_name, "last_name")?;
        let password_hash = match new.password {
            Some(pw) => {
                self.settings.password_policy.check(&pw)?;
                Some(self.hash_password(pw).await?)
            }
            None => None,
        };
        let now = self.now();
        let user = User {
            id: self.random.id("user"),
            instance_id: instance.id.clone(),
            email_id: self.random.id("idn"),
            email,
            first_name,
            last_name,
            password_hash,
            created_at: now,
            updated_at: now,
            last_sign_in_at: None,
            last_active_at: None,
        };
        match self.store.create_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(Error::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `f` on a blocking thread with an argon2 permit and a pooled working memory.
    async fn with_hash_memory<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher, &mut crate::password::HashMemory) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .hash_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let hasher = self.hasher.clone();
        let pool = self.hash_memory.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = pool.lock().ok().and_then(|mut p| p.pop());
            let mut memory = taken.unwrap_or_else(|| hasher.new_memory());
            let out = f(&hasher, &mut memory);
            if let Ok(mut p) = pool.lock() {
                p.push(memory);
            }
            out
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))
    }

    async fn hash_password(&self, password: String) -> Result<String> {
        let random = self.random.clone();
        self.with_hash_memory(move |hasher, memory| {
            hasher.hash_with(&password, random.as_ref(), memory)
        })
        .await?
        .map_err(|e| Error::Internal(e.to_string()))
    }

    async fn verify_password(&self, password: String, phc: Option<String>) -> Result<Verification> {
        self.with_hash_memory(move |hasher, memory| match phc {
            Some(phc) => hasher.verify_with(&password, &phc, memory),
            None => hasher.verify_dummy_with(&password, memory),
        })
        .await
    }

    pub async fn user(&self, instance_id: &str, id: &str) -> Result<User> {
        self.store
            .user(instance_id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "user",
                id: id.to_owned(),
            })
    }

    /// Checks email and password under the abuse limits. Unknown emails cost one argon2
    /// verification too and fail with the same error as a wrong password.
    /// Sign-ups from one IP share the sign-in budget per IP: "that email is taken" answers would
    /// otherwise let one source test unlimited addresses for existing accounts.
    fn check_ip_rate(&self, instance: &Instance, client_ip: &str) -> Result<()> {
        self.ip_limiter
            .check(&format!("{}/{}", instance.id, client_ip), self.now())
            .map_err(|wait| Error::TooManyAttempts {
                retry_after_secs: ceil_secs(wait),
            })
    }

    pub async fn sign_in(
        &self,
        instance: &Instance,
        client_ip: &str,
        email_input: &str,
        password: &str,
    ) -> Result<User> {
        self.check_ip_rate(instance, client_ip)?;
        let now = self.now();
        // A malformed email cannot be an account: treat it as one, with the same cost.
        let identifier =
            email::normalize(email_input).unwrap_or_else(|_| email_input.trim().to_lowercase());
        let failures = self
            .store
            .failed_sign_ins_since(&instance.id, &identifier, now - HOUR)
            .await?;
        if let Some(wait) = self
            .settings
            .sign_in_limits
            .account_retry_after(&failures, now)
        {
            return Err(Error::TooManyAttempts {
                retry_after_secs: ceil_secs(wait),
            });
        }
        let user = self.store.user_by_email(&instance.id, &identifier).await?;
        let phc = user.as_ref().and_then(|u| u.password_hash.clone());
        match (self.verify_password(password.to_owned(), phc).await?, user) {
            (Verification::Match { needs_rehash }, Some(mut user)) => {
                if needs_rehash {
                    user.password_hash = Some(self.hash_password(password.to_owned()).await?);
                }
                user.last_sign_in_at = Some(now);
                user.updated_at = now;
                self.store.update_user(&user).await?;
                Ok(user)
            }
            _ => {
                self.store
                    .record_failed_sign_in(&instance.id, &identifier, now)
                    .await?;
                Err(Error::InvalidCredentials)
            }
        }
    }

    pub async fn change_password(
        &self,
        instance: &Instance,
        user_id: &str,
        current: &str,
        new: &str,
    ) -> Result<()> {
        let mut user = self.user(&instance.id, user_id).await?;
        match self
            .verify_password(current.to_owned(), user.password_hash.clone())
            .await?
        {
            Verification::Match { .. } => {}
            Verification::Mismatch => return Err(Error::CurrentPasswordIncorrect),
        }
        self.settings.password_policy.check(new)?;
        user.password_hash = Some(self.hash_password(new.to_owned()).await?);
        user.updated_at = self.now();
        self.store.update_user(&user).await?;
        Ok(())
    }

    pub async fn update_profile(
        &self,
        instance: &Instance,
        user_id: &str,
        first_name: Option<String>,
        last_name: Option<String>,
    ) -> Result<User> {
        let mut user = self.user(&instance.id, user_id).await?;
        user.first_name = clean_name(first_name, "first_name")?;
        user.last_name = clean_name(last_name, "last_name")?;
        user.updated_at = self.now();
        self.store.update_user(&user).await?;
        Ok(user)
    }

    pub async fn delete_user(&self, instance: &Instance, user_id: &str) -> Result<()> {
        if self.store.delete_user(&instance.id, user_id).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                resource: "user",
                id: user_id.to_owned(),
            })
        }
    }

    // ---- clients and sessions ----------------------------------------------------------

    /// The client a `__client` cookie on `fapi_host` stands for.
    pub async fn client_for_token(&self, fapi_host: &str, token: &str) -> Result<Option<Client>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .client_by_token(fapi_host, &token_hash(token))
            .await?)
    }

    /// Starts a session for `user` on the browser's client (created if needed). Ends the
    /// client's previous sessions (one signed-in user per browser) and rotates the client token,
    /// so a token planted before sign-in is worthless after it.
    pub async fn start_session(
        &self,
        instance: &Instance,
        client: Option<Client>,
        user: &User,
        fapi_host: &str,
        user_agent: Option<String>,
    ) -> Result<SessionStart> {
        let now = self.now();
        let client = match client.filter(|c| c.instance_id == instance.id) {
            Some(c) => {
                for s in self.store.sessions_for_client(&c.id).await? {
                    if s.status == SessionStatus::Active {
                        self.store
                            .end_session(&s.id, SessionStatus::Ended, now)
                            .await?;
                    }
                }
                c
            }
            None => {
                let c = Client {
                    id: self.random.id("client"),
                    instance_id: instance.id.clone(),
                    created_at: now,
                    updated_at: now,
                };
                self.store.create_client(&c).await?;
                c
            }
        };
        let session = Session {
            id: self.random.id("sess"),
            instance_id: instance.id.clone(),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            status: SessionStatus::Active,
            created_at: now,
            updated_at: now,
            last_active_at: now,
            abandon_at: now + instance.settings.session_lifetime_ms,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
        };
        self.store.create_session(&session).await?;
        let client_token = self.random.token(32);
        self.store
            .set_client_token(&client.id, fapi_host, &token_hash(&client_token), now)
            .await?;
        self.store.touch_client(&client.id, now).await?;
        let client = Client {
            updated_at: now,
            ..client
        };
        Ok(SessionStart {
            client,
            session,
            client_token,
        })
    }

    /// A session for `user_id` on a new client, for test tooling (BAPI `POST /v1/sessions`).
    pub async fn create_session_for_user(
        &self,
        instance: &Instance,
        user_id: &str,
    ) -> Result<Session> {
        let user = self.user(&instance.id, user_id).await?;
        let client_host = format!("bapi:{}", self.random.token(8));
        Ok(self
            .start_session(instance, None, &user, &client_host, None)
            .await?
            .session)
    }

    pub async fn session(&self, instance: &Instance, id: &str) -> Result<Session> {
        let mut s = self
            .store
            .session(&instance.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: "session",
                id: id.to_owned(),
            })?;
        s.status = s.status_at(self.now(), &instance.settings);
        Ok(s)
    }

    /// Sessions of the client that are still active now.
    pub async fn active_sessions(
        &self,
        instance: &Instance,
        client_id: &str,
    ) -> Result<Vec<Session>> {
        let now = self.now();
        Ok(self
            .store
            .sessions_for_client(client_id)
            .await?
            .into_iter()
            .filter(|s| {
                s.instance_id == instance.id
                    && s.status_at(now, &instance.settings) == SessionStatus::Active
            })
            .collect())
    }

    /// All sessions of a user, with their status as of now.
    pub async fn user_sessions(&self, instance: &Instance, user_id: &str) -> Result<Vec<Session>> {
        let now = self.now();
        let mut v = self.store.sessions_for_user(&instance.id, user_id).await?;
        for s in &mut v {
            s.status = s.status_at(now, &instance.settings);
        }
        Ok(v)
    }

    /// Ends one session (`Ended` by its user, `Revoked` by the backend, `Removed` from another
    /// device). Returns the session as it is now.
    pub async fn end_session(
        &self,
        instance: &Instance,
        id: &str,
        status: SessionStatus,
    ) -> Result<Session> {
        let s = self.session(instance, id).await?;
        if s.status != SessionStatus::Active {
            return Err(Error::SessionNotActive {
                status: s.status.as_str(),
            });
        }
        let now = self.now();
        self.store.end_session(id, status, now).await?;
        self.store.touch_client(&s.client_id, now).await?;
        Ok(Session {
            status,
            updated_at: now,
            ..s
        })
    }

    /// Signs the whole client out: every active session on it ends.
    pub async fn sign_out_client(&self, instance: &Instance, client_id: &str) -> Result<usize> {
        let now = self.now();
        let mut n = 0;
        for s in self.active_sessions(instance, client_id).await? {
            if self
                .store
                .end_session(&s.id, SessionStatus::Ended, now)
                .await?
            {
                n += 1;
            }
        }
        self.store.touch_client(client_id, now).await?;
        Ok(n)
    }

    /// Mints a 60-second session token (PROTOCOL.md "Session token claims (contract)") and
    /// records activity.
    pub async fn mint_session_token(
        &self,
        instance: &Instance,
        session_id: &str,
        azp: Option<&str>,
    ) -> Result<String> {
        let primary = self.primary_domain(&instance.id).await?;
        self.mint_session_token_as(
            instance,
            session_id,
            azp,
            &Orbit::fapi_url(instance, &primary),
        )
        .await
    }

    /// Like `mint_session_token`, with `iss` set to the FAPI URL that answers for the app's
    /// domain (a satellite's tokens name the satellite's FAPI host, which the SDKs check).
    pub async fn mint_session_token_as(
        &self,
        instance: &Instance,
        session_id: &str,
        azp: Option<&str>,
        issuer: &str,
    ) -> Result<String> {
        let session = self.session(instance, session_id).await?;
        if session.status != SessionStatus::Active {
            return Err(Error::SessionNotActive {
                status: session.status.as_str(),
            });
        }
        let now = self.now();
        if now - session.last_active_at >= self.settings.session_touch_interval {
            self.store.touch_session(&session.id, now).await?;
        }
        let keys = self.instance_keys(&instance.id).await?;
        let iat = now.div_euclid(1000);
        let fva_minutes = (now - session.created_at).div_euclid(MINUTE);
        let claims = SessionClaims {
            iss: issuer.to_owned(),
            sub: session.user_id.clone(),
            sid: session.id.clone(),
            iat,
            nbf: iat - 10,
            exp: iat + SESSION_TOKEN_LIFETIME_SECS,
            azp: azp.map(str::to_owned),
            jti: self.random.token(15),
            v: 2,
            sts: "active".into(),
            fva: [fva_minutes, -1],
        };
        Ok(keys.current.sign_jwt(&claims)?)
    }
}

/// Who a session must belong to for an operation on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOwner<'a> {
    /// A browser's client (FAPI: the session is on this browser).
    Client(&'a str),
    /// A user (the profile page: any of the user's devices).
    User(&'a str),
}

impl Orbit {
    /// Signs up from a browser: the per-IP limit that sign-ins share (so that "that email is
    /// taken" answers cannot test unlimited addresses from one source), a password required,
    /// then the user is created under the password policy.
    pub async fn sign_up(
        &self,
        instance: &Instance,
        client_ip: &str,
        new: NewUser,
    ) -> Result<User> {
        self.check_ip_rate(instance, client_ip)?;
        if new.password.as_deref().is_none_or(str::is_empty) {
            return Err(Error::PasswordMissing);
        }
        self.create_user(instance, new).await
    }

    /// The session `id` if it is active now and belongs to `owner`; `None` whether it is
    /// someone else's, ended or unknown, so callers answer all three alike.
    pub async fn owned_session(
        &self,
        instance: &Instance,
        owner: SessionOwner<'_>,
        id: &str,
    ) -> Result<Option<Session>> {
        let session = match self.session(instance, id).await {
            Ok(s) => s,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let owned = match owner {
            SessionOwner::Client(c) => session.client_id == c,
            SessionOwner::User(u) => session.user_id == u,
        };
        Ok((owned && session.status == SessionStatus::Active).then_some(session))
    }
}

/// A cached value if it is younger than `ttl`.
fn cached<T: Clone>(
    map: &RwLock<HashMap<String, (Millis, T)>>,
    key: &str,
    now: Millis,
    ttl: Millis,
) -> Option<T> {
    let m = map.read().ok()?;
    let (at, v) = m.get(key)?;
    (now - at < ttl).then(|| v.clone())
}

fn ceil_secs(ms: Millis) -> u64 {
    u64::try_from((ms + 999).div_euclid(1000))
        .unwrap_or(1)
        .max(1)
}
