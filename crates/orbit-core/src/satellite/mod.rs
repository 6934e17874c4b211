//! Satellite domains and the cross-domain sync (docs/protocol.md "Satellite sync", "DNS").
//!
//! The domain side only: registering and verifying satellites, pending syncs, sync tokens,
//! linking a satellite host's client token to the primary's client. Cookies and redirects are
//! built by orbit-server.

use crate::clock::{Millis, DAY, HOUR, SECOND};
use crate::domain_name::{self, DomainNameError};
use crate::error::{Error, Result};
use crate::keys::token_hash;
use crate::model::*;
use crate::orbit::Orbit;
use crate::store::StoreError;
use async_trait::async_trait;

mod dns_check;
pub mod handshake;

pub use handshake::DevBrowserOf;

pub use dns_check::{after_check, CheckedBy, DnsStatus};

/// Sync tokens, pending syncs and handshake nonces live at most this long.
pub const HANDSHAKE_TTL: Millis = 60 * SECOND;

/// Why a CNAME lookup did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error("{0} does not exist in DNS (NXDOMAIN)")]
    NxDomain(String),
    #[error("{0} exists but has no CNAME record")]
    NoRecord(String),
    #[error("the DNS lookup of {0} timed out")]
    Timeout(String),
    #[error("the DNS lookup of {name} failed: {reason}")]
    Failed { name: String, reason: String },
}

/// Resolves CNAME records; implemented with a real resolver in orbit-server.
#[async_trait]
pub trait CnameResolver: Send + Sync {
    /// The CNAME targets of `name`, lower-case, without the trailing dot.
    async fn cname(&self, name: &str) -> Result<Vec<String>, DnsError>;
}

/// Why a sync could not be completed. Each is final: the token and the pending sync are spent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("the sync link is invalid, was already used or has expired")]
    TokenInvalid,
    #[error("the sync link was issued for another domain")]
    WrongDomain,
    #[error("the sync request has expired or was already completed")]
    PendingInvalid,
    #[error(
        "this browser did not keep the cookie set when the sync started (are cookies blocked?)"
    )]
    StateMissing,
    #[error("the sync was started in another browser")]
    StateMismatch,
}

/// The record an operator creates for a production satellite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnameTarget {
    pub host: String,
    pub value: String,
}

impl Orbit {
    /// Registers a satellite domain. Production satellites get the FAPI host `clerk.<name>` and
    /// start unverified; development satellites share the primary's FAPI host and need no DNS.
    pub async fn add_satellite(&self, instance: &Instance, name: &str) -> Result<Domain> {
        let name = domain_name::normalize(name, instance.kind).map_err(domain_error)?;
        let primary = self.primary_domain(&instance.id).await?;
        if primary.name == name {
            return Err(Error::Invalid {
                field: "name",
                reason: format!("{name} is this instance's primary domain"),
            });
        }
        let production = instance.kind == InstanceKind::Production;
        let domain = Domain {
            id: self.random.id("dmn"),
            instance_id: instance.id.clone(),
            fapi_host: production.then(|| format!("clerk.{name}")),
            name,
            is_satellite: true,
            verified: !production,
            verification_error: production.then(|| {
                "not checked yet: create the CNAME record, then run `orbit domain verify`"
                    .to_owned()
            }),
            checked_at: None,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
            created_at: self.now(),
        };
        match self.store.add_domain(&domain).await {
            Ok(()) => Ok(domain),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid {
                field: "name",
                reason: format!("{} is already registered in this deployment (each domain belongs to one instance)", domain.name),
            }),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn domains(&self, instance: &Instance) -> Result<Vec<Domain>> {
        Ok(self.store.domains(&instance.id).await?)
    }

    /// A domain of `instance` by id or by name (as typed: normalised first).
    pub async fn find_domain(&self, instance: &Instance, id_or_name: &str) -> Result<Domain> {
        let by_id = self.store.domain(id_or_name).await?;
        let found = match by_id {
            Some(d) => Some(d),
            None => match domain_name::normalize(id_or_name, instance.kind) {
                Ok(n) => self.store.domain_by_name(&n).await?,
                Err(_) => None,
            },
        };
        found
            .filter(|d| d.instance_id == instance.id)
            .ok_or_else(|| Error::NotFound {
                resource: "domain",
                id: id_or_name.to_owned(),
            })
    }

    /// Removes a satellite. The primary domain cannot be removed.
    pub async fn remove_domain(&self, instance: &Instance, id_or_name: &str) -> Result<Domain> {
        let domain = self.find_domain(instance, id_or_name).await?;
        if !domain.is_satellite {
            return Err(Error::Invalid {
                field: "domain",
                reason: "the primary domain cannot be removed".into(),
            });
        }
        self.store.remove_domain(&domain.id).await?;
        Ok(domain)
    }

    /// The CNAME record a production satellite needs: `clerk.<name> CNAME <target>`.
    pub fn cname_target(domain: &Domain, target: &str) -> Option<CnameTarget> {
        domain
            .fapi_host
            .as_ref()
            .filter(|_| domain.is_satellite)
            .map(|h| CnameTarget {
                host: h.clone(),
                value: target.to_owned(),
            })
    }

    /// The operator's check of a satellite's CNAME record (`orbit domain verify`): stores the
    /// outcome and its reason; verifies the domain, or restores a suspended one, when it passes.
    pub async fn verify_domain(
        &self,
        domain: &Domain,
        resolver: &dyn CnameResolver,
        target: &str,
    ) -> Result<Domain> {
        self.check_domain(domain, resolver, target, CheckedBy::Operator)
            .await
    }

    /// The periodic check (docs/design/dns-verification.md): every production satellite,
    /// verified or not, so that a record that stops pointing here suspends the domain after
    /// the grace period. Returns each domain as it was and after its check (or what stopped it).
    pub async fn recheck_satellites(
        &self,
        resolver: &dyn CnameResolver,
        target: &str,
    ) -> Result<Vec<(Domain, Result<Domain>)>> {
        let mut out = Vec::new();
        for instance in self.store.list_instances().await? {
            for d in self.store.domains(&instance.id).await? {
                if d.is_satellite && d.fapi_host.is_some() {
                    let checked = self
                        .check_domain(&d, resolver, target, CheckedBy::Timer)
                        .await;
                    out.push((d, checked));
                }
            }
        }
        Ok(out)
    }

    /// How `domain`'s DNS stands, with this deployment's grace period.
    pub fn dns_status(&self, domain: &Domain) -> DnsStatus {
        DnsStatus::of(domain, self.settings().dns_recheck_grace)
    }

    async fn check_domain(
        &self,
        domain: &Domain,
        resolver: &dyn CnameResolver,
        target: &str,
        by: CheckedBy,
    ) -> Result<Domain> {
        let Some(host) = domain.fapi_host.clone().filter(|_| domain.is_satellite) else {
            // Development satellites and primaries need no DNS.
            return Ok(domain.clone());
        };
        let want = normalize_dns(target);
        let outcome = match resolver.cname(&host).await {
            Ok(targets) if targets.iter().any(|t| normalize_dns(t) == want) => Ok(()),
            Ok(targets) if targets.is_empty() => Err(DnsError::NoRecord(host.clone()).to_string()),
            Ok(targets) => Err(format!(
                "{host} is a CNAME for {}, but it must point to {want}",
                targets.join(", ")
            )),
            Err(e) => Err(e.to_string()),
        };
        let checked = after_check(
            domain,
            outcome,
            by,
            self.now(),
            self.settings().dns_recheck_grace,
        );
        self.store.record_domain_check(&checked).await?;
        Ok(checked)
    }

    // ---- the sync (docs/protocol.md "Satellite sync") --------------------------------------------

    /// Step 2: records a pending sync for `satellite` and returns `(pending id, state)`; the
    /// state goes into a host-only cookie on the satellite's FAPI host.
    pub async fn begin_sync(
        &self,
        instance: &Instance,
        satellite: &Domain,
        redirect_url: &str,
        format: HandshakeFormat,
        suffixed_cookies: bool,
    ) -> Result<(String, String)> {
        let state = self.random.token(32);
        let pending = PendingSync {
            id: self.random.token(16),
            instance_id: instance.id.clone(),
            satellite_domain_id: satellite.id.clone(),
            state_hash: token_hash(&state),
            redirect_url: redirect_url.to_owned(),
            format,
            suffixed_cookies,
            expires_at: self.now() + HANDSHAKE_TTL,
        };
        self.store.put_pending_sync(&pending).await?;
        Ok((pending.id, state))
    }

    /// Step 3: the primary's answer, a single-use token bound to the satellite, the pending sync
    /// and the browser's client on the primary when that client has a live session. A browser
    /// signed out on the primary gets a token that links the satellite to nothing: clients are
    /// created lazily (docs/design/storage.md "What anonymous requests store"), and linking to a
    /// signed-out client would be worthless anyway, since a sign-in starts a fresh client.
    pub async fn issue_sync_token(
        &self,
        instance: &Instance,
        client: Option<&Client>,
        satellite: &Domain,
        pending_sync_id: &str,
    ) -> Result<String> {
        let client_id = match client.filter(|c| c.instance_id == instance.id) {
            Some(c) if !self.active_sessions(instance, &c.id).await?.is_empty() => {
                Some(c.id.clone())
            }
            _ => None,
        };
        let token = self.random.token(32);
        self.store
            .put_sync_token(&SyncToken {
                token_hash: token_hash(&token),
                instance_id: instance.id.clone(),
                client_id,
                satellite_domain_id: satellite.id.clone(),
                pending_sync_id: pending_sync_id.to_owned(),
                expires_at: self.now() + HANDSHAKE_TTL,
            })
            .await?;
        Ok(token)
    }

    /// Step 4: consumes the token and its pending sync, checking that both belong to this
    /// satellite and to this browser (`state` from the cookie). Returns the pending sync and the
    /// primary's client (`None`: signed out there, link nothing). Whatever the outcome, the
    /// token is spent.
    pub async fn redeem_sync(
        &self,
        instance: &Instance,
        satellite: &Domain,
        token: &str,
        state: Option<&str>,
    ) -> Result<std::result::Result<(PendingSync, Option<Client>), SyncError>> {
        let now = self.now();
        let Some(t) = self.store.take_sync_token(&token_hash(token), now).await? else {
            return Ok(Err(SyncError::TokenInvalid));
        };
        if t.instance_id != instance.id || t.satellite_domain_id != satellite.id {
            // Not this satellite's to spend: its pending sync stays for the rightful link.
            return Ok(Err(SyncError::WrongDomain));
        }
        let pending = self
            .store
            .take_pending_sync(&t.pending_sync_id, now)
            .await?;
        if let Err(e) =
            handshake::check_redemption(instance, satellite, &t, pending.as_ref(), state, now)
        {
            return Ok(Err(e));
        }
        let Some(pending) = pending else {
            return Ok(Err(SyncError::PendingInvalid));
        };
        let Some(client_id) = &t.client_id else {
            return Ok(Ok((pending, None)));
        };
        let Some(client) = self.store.client(client_id).await? else {
            return Ok(Err(SyncError::TokenInvalid));
        };
        Ok(Ok((pending, Some(client))))
    }

    /// Gives `fapi_host` a fresh client token for `client` (linking a satellite host to the
    /// primary's client) and returns it.
    pub async fn link_client(&self, client: &Client, fapi_host: &str) -> Result<String> {
        let token = self.random.token(32);
        self.store
            .set_client_token(&client.id, fapi_host, &token_hash(&token), self.now())
            .await?;
        Ok(token)
    }

    /// Signed-in state of a client as seen by an app: a fresh session token (when the client has
    /// an active session) issued by `issuer` for `azp`, and `__client_uat` in seconds.
    pub async fn app_auth_state(
        &self,
        instance: &Instance,
        client: Option<&Client>,
        issuer: &str,
        azp: &str,
    ) -> Result<AppAuthState> {
        let Some(client) = client else {
            return Ok(AppAuthState {
                session_token: None,
                client_uat: 0,
            });
        };
        let sessions = self.active_sessions(instance, &client.id).await?;
        let Some(session) = sessions.first() else {
            return Ok(AppAuthState {
                session_token: None,
                client_uat: 0,
            });
        };
        let token = self
            .mint_session_token_as(instance, &session.id, Some(azp), issuer)
            .await?;
        // The client was read at the start of this request; minting a token does not touch it.
        Ok(AppAuthState {
            session_token: Some(token),
            client_uat: client.updated_at.div_euclid(1000).max(1),
        })
    }

    /// Stores handshake directives under a fresh nonce, readable for `HANDSHAKE_TTL`, and returns
    /// the nonce.
    pub async fn store_handshake_nonce(
        &self,
        instance: &Instance,
        directives: &[String],
    ) -> Result<String> {
        let nonce = self.random.token(24);
        self.store
            .put_handshake_nonce(
                &instance.id,
                &token_hash(&nonce),
                directives,
                self.now() + HANDSHAKE_TTL,
            )
            .await?;
        Ok(nonce)
    }

    /// The directives under a live nonce of `instance` (BAPI `GET /v1/clients/handshake_payload`).
    /// Not consumed: @clerk/remix's root loader and route loaders resolve the same nonce at once,
    /// so every read within its lifetime gets the same directives.
    pub async fn handshake_nonce_directives(
        &self,
        instance: &Instance,
        nonce: &str,
    ) -> Result<Option<Vec<String>>> {
        if nonce.is_empty() || nonce.len() > 128 {
            return Ok(None);
        }
        Ok(self
            .store
            .handshake_nonce_directives(&instance.id, &token_hash(nonce), self.now())
            .await?)
    }

    /// The `__clerk_handshake` JWT: `{handshake: [...]}` signed with the instance key.
    pub async fn sign_handshake(
        &self,
        instance: &Instance,
        directives: &[String],
    ) -> Result<String> {
        let keys = self.instance_keys(&instance.id).await?;
        let iat = self.clock.now_secs();
        let claims = orbit_proto::HandshakeClaims {
            exp: iat + HANDSHAKE_TTL / 1000,
            handshake: directives.to_vec(),
            iat,
        };
        Ok(keys.current.sign_jwt(&claims)?)
    }

    /// A development browser token (`__clerk_db_jwt`) for `client`, or for no client yet: a
    /// browser that only visits gets a development browser but no client (clients are created
    /// lazily; a sign-in gives the browser a fresh client and a development browser of it).
    pub async fn new_dev_browser(
        &self,
        instance: &Instance,
        client: Option<&Client>,
    ) -> Result<String> {
        let token = format!("dvb_{}", self.random.token(24));
        self.store
            .put_dev_browser(
                &instance.id,
                &token_hash(&token),
                client.map(|c| c.id.as_str()),
                self.now(),
            )
            .await?;
        Ok(token)
    }

    /// What a development browser token stands for, if the token was used within
    /// `DEV_BROWSER_IDLE_LIFETIME`; using it keeps it alive (recorded at most once per
    /// `DEV_BROWSER_TOUCH_INTERVAL`, so lookups stay reads).
    pub async fn dev_browser(&self, instance: &Instance, token: &str) -> Result<DevBrowserOf> {
        if token.is_empty() || token.len() > 128 {
            return Ok(DevBrowserOf::Nothing);
        }
        let now = self.now();
        let hash = token_hash(token);
        let Some((client, last_used_at)) = self
            .store
            .dev_browser_client(&instance.id, &hash, now - DEV_BROWSER_IDLE_LIFETIME)
            .await?
        else {
            return Ok(DevBrowserOf::Nothing);
        };
        if now - last_used_at >= DEV_BROWSER_TOUCH_INTERVAL {
            self.store.touch_dev_browser(&hash, now).await?;
        }
        Ok(client.map_or(DevBrowserOf::NoClient, DevBrowserOf::Client))
    }
}

/// A development browser token unused for this long stands for nothing and is pruned.
pub const DEV_BROWSER_IDLE_LIFETIME: Millis = 30 * DAY;
/// How often using a development browser is recorded.
pub const DEV_BROWSER_TOUCH_INTERVAL: Millis = HOUR;

/// What a handshake tells an app about the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuthState {
    pub session_token: Option<String>,
    /// Seconds; 0 when signed out.
    pub client_uat: i64,
}

fn normalize_dns(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn domain_error(e: DomainNameError) -> Error {
    Error::Invalid {
        field: "name",
        reason: e.to_string(),
    }
}
