//! Signing keys: rotation, the cached keys of an instance and its JWKS.

use super::{InstanceKeys, Orbit};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::keys::{self, SigningKey, JWKS_HTTP_MAX_AGE, KEY_PUBLISH_MARGIN, RETIRED_KEY_RETENTION};
use crate::model::*;
use orbit_proto::resources::Jwks;
use std::sync::Arc;

impl Orbit {
    // ---- signing keys ------------------------------------------------------------------

    /// Adds a new signing key, published in the JWKS at once; it signs only once every node's
    /// key cache has seen it (`key_publish_lead`), the previous key until then. The previous key
    /// stays in the JWKS until its last token has expired (docs/design/key-rotation.md).
    pub async fn rotate_signing_key(&self, instance_id: &str) -> Result<String> {
        let stored = self.new_signing_key(instance_id).await?;
        let now = stored.created_at;
        self.store.add_signing_key(&stored).await?;
        self.store
            .delete_signing_keys_retired_before(
                instance_id,
                now - self.key_publish_lead() - RETIRED_KEY_RETENTION,
            )
            .await?;
        self.forget_keys(instance_id);
        Ok(stored.kid)
    }

    /// How long a rotated key is published before it signs: every node re-reads its keys
    /// within `key_cache_ttl`, an HTTP cache keeps the public JWKS `JWKS_HTTP_MAX_AGE`, plus
    /// `KEY_PUBLISH_MARGIN` for clocks that disagree: no node signs with a key that another
    /// node's JWKS, or a cached copy of it, does not list yet.
    pub fn key_publish_lead(&self) -> Millis {
        self.settings.key_cache_ttl + JWKS_HTTP_MAX_AGE + KEY_PUBLISH_MARGIN
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

    /// Whether the master key opens the database's sealed keys: false when it opens none of
    /// one instance's signing keys (a key from another deployment, or a changed
    /// `master_key_file`). An empty database has nothing to check and passes.
    pub async fn master_key_opens_the_database(&self) -> Result<bool> {
        let Some(instance) = self.store.list_instances().await?.into_iter().next() else {
            return Ok(true);
        };
        let stored = self.store.signing_keys(&instance.id).await?;
        Ok(stored.is_empty()
            || stored
                .iter()
                .any(|k| self.master.open(&k.sealed_pkcs8).is_ok()))
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
        let lead = self.key_publish_lead();
        // The newest key published for `lead`; an instance younger than that signs with its
        // first key, which was published with the instance itself.
        let current = stored
            .iter()
            .filter(|k| k.created_at + lead <= now)
            .max_by_key(|k| k.created_at)
            .or_else(|| stored.iter().min_by_key(|k| k.created_at))
            .ok_or_else(|| Error::NotFound {
                resource: "signing key of instance",
                id: instance_id.to_owned(),
            })?;
        let der = self.master.open(&current.sealed_pkcs8)?;
        let signing = SigningKey::from_pkcs8(current.kid.clone(), &der)?;
        // A retired key signed until its successor took over (`lead` after the retirement);
        // its tokens live `RETIRED_KEY_RETENTION` longer.
        let leaves_jwks = |retired_at: Millis| retired_at + lead + RETIRED_KEY_RETENTION;
        let published: Vec<_> = stored
            .iter()
            .filter(|k| k.retired_at.is_none_or(|r| now < leaves_jwks(r)))
            .collect();
        // Re-read when a key leaves the JWKS or a waiting key starts signing.
        let fresh_until = published
            .iter()
            .filter_map(|k| k.retired_at.map(leaves_jwks))
            .chain(
                stored
                    .iter()
                    .map(|k| k.created_at + lead)
                    .filter(|&starts| now < starts),
            )
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
