//! Signing keys: rotation, the cached keys of an instance and its JWKS.

use super::{InstanceKeys, Orbit};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::keys::{self, SigningKey, RETIRED_KEY_RETENTION};
use crate::model::*;
use orbit_proto::resources::Jwks;
use std::sync::Arc;

impl Orbit {
    // ---- signing keys ------------------------------------------------------------------

    /// Adds a new signing key; the previous one is retired but stays in the JWKS until its
    /// tokens have expired (`RETIRED_KEY_RETENTION`).
    pub async fn rotate_signing_key(&self, instance_id: &str) -> Result<String> {
        let stored = self.new_signing_key(instance_id).await?;
        let now = stored.created_at;
        self.store.add_signing_key(&stored).await?;
        self.store
            .delete_signing_keys_retired_before(instance_id, now - RETIRED_KEY_RETENTION)
            .await?;
        self.forget_keys(instance_id);
        Ok(stored.kid)
    }

    /// A new signing key of the instance, sealed to store.
    pub(crate) async fn new_signing_key(&self, instance_id: &str) -> Result<StoredSigningKey> {
        let kid = self.random.id("ins_key");
        let (key, der) = tokio::task::spawn_blocking(move || SigningKey::generate(kid))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        Ok(StoredSigningKey {
            kid: key.kid.clone(),
            instance_id: instance_id.to_owned(),
            sealed_pkcs8: self.master.seal(&der, self.random.as_ref())?,
            public_n: key.modulus().to_vec(),
            public_e: key.exponent().to_vec(),
            created_at: self.now(),
            retired_at: None,
        })
    }

    fn forget_keys(&self, instance_id: &str) {
        self.keys.remove(instance_id);
    }

    pub async fn instance_keys(&self, instance_id: &str) -> Result<Arc<InstanceKeys>> {
        let now = self.now();
        if let Some(k) = self.keys.get(instance_id, now) {
            return Ok(k);
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
        });
        self.keys
            .insert_until(instance_id.to_owned(), loaded.clone(), now, fresh_until);
        Ok(loaded)
    }

    /// Opens every sealed secret of the instance (its secret keys and signing keys, retired
    /// ones too) with this `Orbit`'s master key; returns how many. `orbit migrate` checks this
    /// before copying: the target's server must run with the master key that sealed them.
    pub async fn check_master_key(&self, instance_id: &str) -> Result<usize> {
        let secret = self.store.secret_keys(instance_id).await?;
        let signing = self.store.signing_keys(instance_id).await?;
        for sealed in secret
            .iter()
            .map(|k| &k.sealed)
            .chain(signing.iter().map(|k| &k.sealed_pkcs8))
        {
            self.master.open(sealed)?;
        }
        Ok(secret.len() + signing.len())
    }

    pub async fn jwks(&self, instance_id: &str) -> Result<Jwks> {
        Ok(Jwks {
            keys: self.instance_keys(instance_id).await?.jwks.clone(),
        })
    }
}
