//! Applications, instances and their domains as the rest of the server looks them up: the
//! publishable key, API credentials, FAPI URLs and hosts, secret keys, settings and the
//! redirect policy.

use super::{HostContext, InstanceCredentials, Orbit, SecretKeyInfo};
use crate::clock::MINUTE;
use crate::error::{Error, Result};
use crate::keys;
use crate::model::*;
use crate::store::{NewInstance, SecretKeyDeletion, StoreError};
use orbit_proto::PublishableKey;

impl Orbit {
    /// Creates an application with one instance of `kind` whose primary domain is `primary`
    /// served on FAPI host `fapi_host`, with a secret key and a signing key, in one write.
    pub async fn create_application(
        &self,
        name: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<Instance> {
        let new = self.new_application(name, kind, primary, fapi_host).await?;
        self.store.create_instance_with(&new, false).await?;
        Ok(new.instance)
    }

    /// Like `create_application`, unless the deployment has an instance already (decided in the
    /// same write, so of two servers bootstrapping one data directory one creates it): `None`
    /// then.
    pub async fn create_first_application(
        &self,
        name: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<Option<Instance>> {
        let new = self.new_application(name, kind, primary, fapi_host).await?;
        let created = self.store.create_instance_with(&new, true).await?;
        Ok(created.then_some(new.instance))
    }

    async fn new_application(
        &self,
        name: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<NewInstance> {
        let app = Application {
            id: self.random.id("app"),
            name: name.to_owned(),
            created_at: self.now(),
        };
        let mut new = self.new_instance(&app.id, kind, primary, fapi_host).await?;
        new.application = Some(app);
        Ok(new)
    }

    pub async fn create_instance(
        &self,
        application_id: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<Instance> {
        let new = self
            .new_instance(application_id, kind, primary, fapi_host)
            .await?;
        self.store.create_instance_with(&new, false).await?;
        Ok(new.instance)
    }

    /// Adds a production instance to the application `application_id`, whose primary domain is
    /// `domain` (as typed: normalised under the production rules of `domain_name`) and whose
    /// Frontend API is served at `clerk.<domain>` (`orbit instance create-production`, the
    /// dashboard). A domain another instance has is refused.
    pub async fn create_production_instance(
        &self,
        application_id: &str,
        domain: &str,
    ) -> Result<Instance> {
        let kind = InstanceKind::Production;
        let name = crate::domain_name::normalize(domain, kind).map_err(|e| Error::Invalid {
            field: "domain",
            reason: e.to_string(),
        })?;
        if !self
            .applications()
            .await?
            .iter()
            .any(|a| a.id == application_id)
        {
            return Err(Error::NotFound {
                resource: "application",
                id: application_id.to_owned(),
            });
        }
        let new = self
            .new_instance(application_id, kind, &name, &format!("clerk.{name}"))
            .await?;
        match self.store.create_instance_with(&new, false).await {
            Ok(_) => Ok(new.instance),
            Err(StoreError::Conflict(_)) => Err(Error::Invalid {
                field: "domain",
                reason: format!(
                    "{name} (or clerk.{name}) is already registered in this deployment (each domain belongs to one instance)"
                ),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// An instance with its primary domain, a secret key and a signing key, not stored yet.
    async fn new_instance(
        &self,
        application_id: &str,
        kind: InstanceKind,
        primary: &str,
        fapi_host: &str,
    ) -> Result<NewInstance> {
        publishable_key_for(kind, fapi_host)?;
        let now = self.now();
        let instance = Instance {
            id: self.random.id("ins"),
            application_id: application_id.to_owned(),
            kind,
            settings: InstanceSettings::for_kind(kind),
            created_at: now,
        };
        let primary = Domain {
            id: self.random.id("dmn"),
            instance_id: instance.id.clone(),
            name: primary.to_owned(),
            is_satellite: false,
            fapi_host: Some(fapi_host.to_owned()),
            // The primary is the deployment's own host: the operator points it at Orbit.
            verified: true,
            verification_error: None,
            checked_at: None,
            dns_failures: 0,
            dns_failing_since: None,
            suspended_at: None,
            created_at: now,
        };
        let (secret_key, _) = self.new_secret_key(&instance)?;
        let signing_key = self.new_signing_key(&instance.id).await?;
        Ok(NewInstance {
            application: None,
            instance,
            primary,
            secret_key,
            signing_key,
        })
    }

    /// A new secret key of `instance`: sealed to store, and in clear.
    fn new_secret_key(&self, instance: &Instance) -> Result<(StoredSecretKey, String)> {
        let secret = keys::new_secret_key(instance.kind, self.random.as_ref());
        let stored = StoredSecretKey {
            id: self.random.id("sk"),
            instance_id: instance.id.clone(),
            hash: keys::token_hash(&secret),
            sealed: self.master.seal(secret.as_bytes(), self.random.as_ref())?,
            created_at: self.now(),
        };
        Ok((stored, secret))
    }

    /// The instance's secret keys, oldest first, masked: after its creation a key is never
    /// shown in clear again (but for `orbit instance show`, which prints the newest).
    pub async fn secret_keys(&self, instance: &Instance) -> Result<Vec<SecretKeyInfo>> {
        self.store
            .secret_keys(&instance.id)
            .await?
            .iter()
            .map(|k| self.secret_key_info(k))
            .collect()
    }

    fn secret_key_info(&self, k: &StoredSecretKey) -> Result<SecretKeyInfo> {
        let secret = String::from_utf8(self.master.open(&k.sealed)?)
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(SecretKeyInfo {
            id: k.id.clone(),
            masked: keys::mask_secret_key(&secret),
            created_at: k.created_at,
        })
    }

    /// A new secret key of `instance`, beside its others (which keep working): returned in
    /// clear this once, with how it is shown from now on. The newest key is the one `orbit
    /// instance show` prints.
    pub async fn create_secret_key(&self, instance: &Instance) -> Result<(SecretKeyInfo, String)> {
        let (stored, secret) = self.new_secret_key(instance)?;
        self.store.add_secret_key(&stored).await?;
        let info = SecretKeyInfo {
            id: stored.id,
            masked: keys::mask_secret_key(&secret),
            created_at: stored.created_at,
        };
        Ok((info, secret))
    }

    /// Revokes the secret key `id` of `instance`: this node refuses it from now on, other nodes
    /// once their `instances_by_secret` entry expires (`key_cache_ttl`, docs/design/storage.md
    /// "Caches and how stale they can be"). An instance keeps at least one key.
    pub async fn revoke_secret_key(&self, instance: &Instance, id: &str) -> Result<SecretKeyInfo> {
        let not_found = || Error::NotFound {
            resource: "secret key",
            id: id.to_owned(),
        };
        let stored = self
            .store
            .secret_keys(&instance.id)
            .await?
            .into_iter()
            .find(|k| k.id == id)
            .ok_or_else(not_found)?;
        let info = self.secret_key_info(&stored)?;
        match self.store.delete_secret_key(&instance.id, id).await? {
            SecretKeyDeletion::Deleted => {
                self.instances_by_secret.remove(&stored.hash);
                Ok(info)
            }
            SecretKeyDeletion::NotFound => Err(not_found()),
            SecretKeyDeletion::LastKey => Err(Error::Invalid {
                field: "secret key",
                reason: format!(
                    "this is the instance's only secret key ({}): create a new one, move your apps to it, then revoke this one",
                    info.masked
                ),
            }),
        }
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

    /// Every application of the deployment.
    pub async fn applications(&self) -> Result<Vec<Application>> {
        Ok(self.store.list_applications().await?)
    }

    /// Every instance of the deployment, across applications.
    pub async fn instances(&self) -> Result<Vec<Instance>> {
        Ok(self.store.list_instances().await?)
    }

    pub async fn primary_domain(&self, instance_id: &str) -> Result<Domain> {
        let now = self.now();
        if let Some(d) = self.primaries.get(instance_id, now) {
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
        self.primaries
            .insert(instance_id.to_owned(), primary.clone(), now);
        Ok(primary)
    }

    /// The publishable key (contract format) of an instance.
    pub async fn publishable_key(&self, instance: &Instance) -> Result<String> {
        let primary = self.primary_domain(&instance.id).await?;
        let fapi_host = primary.fapi_host.as_deref().unwrap_or_default();
        Ok(publishable_key_for(instance.kind, fapi_host)?.encode())
    }

    pub async fn credentials(&self, instance: &Instance) -> Result<InstanceCredentials> {
        let publishable_key = self.publishable_key(instance).await?;
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
            publishable_key,
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
    ///
    /// A development FAPI host on a loopback address (`127.0.0.1:4000`) is also reached as
    /// `localhost:<same port>`: the published SDKs refuse a publishable key whose host has no
    /// dot, so the key names `127.0.0.1`, while the apps run on `localhost:3000` and its FAPI
    /// cookies (`SameSite=Lax`) only travel with the apps' requests from the same site, i.e.
    /// through `proxyUrl: http://localhost:4000` (docs/design/frontend-api.md "Development").
    pub async fn resolve_host(&self, fapi_host: &str) -> Result<Option<HostContext>> {
        let host = fapi_host.to_ascii_lowercase();
        let mut found = self.store.domain_by_fapi_host(&host).await?;
        let mut via_alias = false;
        if found.is_none() {
            if let Some(port) = host.strip_prefix("localhost:") {
                found = self
                    .store
                    .domain_by_fapi_host(&format!("127.0.0.1:{port}"))
                    .await?;
                via_alias = true;
            }
        }
        let Some(domain) = found else {
            return Ok(None);
        };
        let instance = self.instance(&domain.instance_id).await?;
        if via_alias && instance.kind != InstanceKind::Development {
            return Ok(None);
        }
        Ok(Some(HostContext { instance, domain }))
    }

    pub async fn instance_for_secret_key(&self, secret_key: &str) -> Result<Option<Instance>> {
        if !(secret_key.starts_with("sk_test_") || secret_key.starts_with("sk_live_")) {
            return Ok(None);
        }
        let hash = keys::token_hash(secret_key);
        let now = self.now();
        if let Some(i) = self.instances_by_secret.get(&hash, now) {
            return Ok(Some(i));
        }
        let found = self.store.instance_by_secret_hash(&hash).await?;
        if let Some(i) = &found {
            self.instances_by_secret.insert(hash, i.clone(), now);
        }
        Ok(found)
    }

    /// Changes an instance's settings (`orbit instance set`, BAPI `PATCH /v1/instance`, the
    /// dashboard). Allowed redirect origins are trimmed, then each must be an `OriginPattern`.
    pub async fn update_settings(
        &self,
        instance_id: &str,
        mut settings: InstanceSettings,
    ) -> Result<Instance> {
        for origin in &mut settings.allowed_redirect_origins {
            *origin = origin.trim().to_owned();
        }
        for origin in &settings.allowed_redirect_origins {
            crate::redirect::OriginPattern::parse(origin).map_err(|e| Error::Invalid {
                field: "allowed_redirect_origins",
                reason: e.to_string(),
            })?;
        }
        let current = self.instance(instance_id).await?;
        if !current.settings.sign_up_email_verification {
            self.check_mail_for(&settings)?;
        }
        if settings.session_inactivity_ms < MINUTE || settings.session_lifetime_ms < MINUTE {
            return Err(Error::Invalid {
                field: "session lifetime",
                reason: "at least one minute".into(),
            });
        }
        self.store.update_settings(instance_id, &settings).await?;
        self.instances_by_secret.clear();
        self.instance(instance_id).await
    }

    /// Adds one allowed redirect origin (as typed) to the instance's list, under the rules of
    /// `update_settings`; an origin the list already has (the same pattern, however written)
    /// is refused.
    pub async fn add_allowed_redirect_origin(
        &self,
        instance_id: &str,
        origin: &str,
    ) -> Result<Instance> {
        let instance = self.instance(instance_id).await?;
        let origin = origin.trim();
        let pattern =
            crate::redirect::OriginPattern::parse(origin).map_err(|e| Error::Invalid {
                field: "allowed_redirect_origins",
                reason: e.to_string(),
            })?;
        let listed = &instance.settings.allowed_redirect_origins;
        if let Some(same) = listed
            .iter()
            .find(|o| crate::redirect::OriginPattern::parse(o).as_ref() == Ok(&pattern))
        {
            return Err(Error::Invalid {
                field: "allowed_redirect_origins",
                reason: format!("{origin} is allowed already (as {same})"),
            });
        }
        let mut settings = instance.settings.clone();
        settings.allowed_redirect_origins.push(origin.to_owned());
        self.update_settings(instance_id, settings).await
    }

    /// Removes one allowed redirect origin, written as the list has it.
    pub async fn remove_allowed_redirect_origin(
        &self,
        instance_id: &str,
        origin: &str,
    ) -> Result<Instance> {
        let instance = self.instance(instance_id).await?;
        let mut settings = instance.settings.clone();
        let before = settings.allowed_redirect_origins.len();
        settings.allowed_redirect_origins.retain(|o| o != origin);
        if settings.allowed_redirect_origins.len() == before {
            return Err(Error::NotFound {
                resource: "allowed redirect origin",
                id: origin.to_owned(),
            });
        }
        self.update_settings(instance_id, settings).await
    }

    /// The redirect policy of an instance: its domains plus its allowed redirect origins
    /// (docs/protocol.md "Redirect validation").
    pub async fn redirect_policy(
        &self,
        instance: &Instance,
    ) -> Result<crate::redirect::RedirectPolicy> {
        let domains = self.store.domains(&instance.id).await?;
        Ok(redirect_policy_of(instance, &domains))
    }
}

/// The redirect policy of `instance` whose domains are `domains`: for callers that need the
/// domains too and read them once.
pub(crate) fn redirect_policy_of(
    instance: &Instance,
    domains: &[Domain],
) -> crate::redirect::RedirectPolicy {
    use crate::redirect::{OriginPattern, RedirectPolicy};
    let dev = instance.kind == InstanceKind::Development;
    let mut policy = RedirectPolicy::new(dev);
    let scheme = if dev { "http" } else { "https" };
    // A suspended domain may belong to someone else now: nothing is sent there.
    for d in domains.iter().filter(|d| d.suspended_at.is_none()) {
        let mut origins = vec![format!("{scheme}://{}", d.name)];
        if d.fapi_host.is_some() {
            origins.push(Orbit::fapi_url(instance, d));
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
    policy
}

/// The publishable key of an instance of `kind` served on `fapi_host`; a host the key cannot
/// carry is an invalid `fapi_host`.
fn publishable_key_for(kind: InstanceKind, fapi_host: &str) -> Result<PublishableKey> {
    PublishableKey::new(kind, fapi_host).map_err(|e| Error::Invalid {
        field: "fapi_host",
        reason: e.to_string(),
    })
}
