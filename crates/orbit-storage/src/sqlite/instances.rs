//! `InstanceStore`: applications, instances and their settings, domains, secret keys and
//! signing keys.

use super::{backend, get, get_enum, json_array, FromRow, SqliteStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;
use sqlx::sqlite::SqliteRow;

impl FromRow for Application {
    fn from_row(row: &SqliteRow) -> R<Self> {
        Ok(Application {
            id: get(row, "id")?,
            name: get(row, "name")?,
            created_at: get(row, "created_at")?,
        })
    }
}

impl FromRow for Instance {
    fn from_row(row: &SqliteRow) -> R<Self> {
        let origins: String = get(row, "allowed_redirect_origins")?;
        Ok(Instance {
            id: get(row, "id")?,
            application_id: get(row, "application_id")?,
            kind: get_enum(row, "kind", "instance kind", InstanceKind::parse)?,
            settings: InstanceSettings {
                sign_in_url: get(row, "sign_in_url")?,
                sign_up_url: get(row, "sign_up_url")?,
                allowed_redirect_origins: origins_from_json(&origins)?,
                session_inactivity_ms: get(row, "session_inactivity_ms")?,
                session_lifetime_ms: get(row, "session_lifetime_ms")?,
            },
            created_at: get(row, "created_at")?,
        })
    }
}

/// The origins list is stored as a JSON array of strings.
fn origins_from_json(s: &str) -> R<Vec<String>> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Backend(format!("bad allowed_redirect_origins: {e}")))
}

impl FromRow for Domain {
    fn from_row(row: &SqliteRow) -> R<Self> {
        Ok(Domain {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            name: get(row, "name")?,
            is_satellite: get(row, "is_satellite")?,
            fapi_host: get(row, "fapi_host")?,
            verified: get(row, "verified")?,
            verification_error: get(row, "verification_error")?,
            checked_at: get(row, "checked_at")?,
            created_at: get(row, "created_at")?,
        })
    }
}

impl FromRow for StoredSecretKey {
    fn from_row(row: &SqliteRow) -> R<Self> {
        Ok(StoredSecretKey {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            hash: get(row, "hash")?,
            sealed: get(row, "sealed")?,
            created_at: get(row, "created_at")?,
        })
    }
}

impl FromRow for StoredSigningKey {
    fn from_row(row: &SqliteRow) -> R<Self> {
        Ok(StoredSigningKey {
            kid: get(row, "kid")?,
            instance_id: get(row, "instance_id")?,
            sealed_pkcs8: get(row, "sealed_pkcs8")?,
            public_n: get(row, "public_n")?,
            public_e: get(row, "public_e")?,
            created_at: get(row, "created_at")?,
            retired_at: get(row, "retired_at")?,
        })
    }
}

#[async_trait]
impl InstanceStore for SqliteStore {
    async fn create_application(&self, app: &Application) -> R<()> {
        let q = sqlx::query("INSERT INTO applications (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&app.id)
            .bind(&app.name)
            .bind(app.created_at);
        self.execute(q).await?;
        Ok(())
    }

    async fn list_applications(&self) -> R<Vec<Application>> {
        let q =
            sqlx::query("SELECT id, name, created_at FROM applications ORDER BY created_at, id");
        self.fetch_all(q).await
    }

    async fn create_instance(&self, i: &Instance) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO instances (id, application_id, kind, sign_in_url, sign_up_url, allowed_redirect_origins, \
             session_inactivity_ms, session_lifetime_ms, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&i.id)
        .bind(&i.application_id)
        .bind(i.kind.as_str())
        .bind(&i.settings.sign_in_url)
        .bind(&i.settings.sign_up_url)
        .bind(json_array(&i.settings.allowed_redirect_origins))
        .bind(i.settings.session_inactivity_ms)
        .bind(i.settings.session_lifetime_ms)
        .bind(i.created_at);
        self.execute(q).await?;
        Ok(())
    }

    async fn instance(&self, id: &str) -> R<Option<Instance>> {
        let q = sqlx::query("SELECT * FROM instances WHERE id = $1").bind(id);
        self.fetch_optional(q).await
    }

    async fn list_instances(&self) -> R<Vec<Instance>> {
        let q = sqlx::query("SELECT * FROM instances ORDER BY created_at, id");
        self.fetch_all(q).await
    }

    async fn update_settings(&self, instance_id: &str, s: &InstanceSettings) -> R<()> {
        let q = sqlx::query(
            "UPDATE instances SET sign_in_url = $1, sign_up_url = $2, allowed_redirect_origins = $3, \
             session_inactivity_ms = $4, session_lifetime_ms = $5 WHERE id = $6",
        )
        .bind(&s.sign_in_url)
        .bind(&s.sign_up_url)
        .bind(json_array(&s.allowed_redirect_origins))
        .bind(s.session_inactivity_ms)
        .bind(s.session_lifetime_ms)
        .bind(instance_id);
        self.execute(q).await?;
        Ok(())
    }

    async fn add_domain(&self, d: &Domain) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO domains (id, instance_id, name, is_satellite, fapi_host, verified, verification_error, checked_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&d.id)
        .bind(&d.instance_id)
        .bind(&d.name)
        .bind(d.is_satellite)
        .bind(&d.fapi_host)
        .bind(d.verified)
        .bind(&d.verification_error)
        .bind(d.checked_at)
        .bind(d.created_at);
        self.execute(q).await?;
        Ok(())
    }

    async fn domains(&self, instance_id: &str) -> R<Vec<Domain>> {
        let q = sqlx::query(
            "SELECT * FROM domains WHERE instance_id = $1 ORDER BY is_satellite, created_at, id",
        )
        .bind(instance_id);
        self.fetch_all(q).await
    }

    async fn domain(&self, id: &str) -> R<Option<Domain>> {
        let q = sqlx::query("SELECT * FROM domains WHERE id = $1").bind(id);
        self.fetch_optional(q).await
    }

    async fn domain_by_name(&self, name: &str) -> R<Option<Domain>> {
        let q = sqlx::query("SELECT * FROM domains WHERE name = $1").bind(name);
        self.fetch_optional(q).await
    }

    async fn domain_by_fapi_host(&self, fapi_host: &str) -> R<Option<Domain>> {
        let q = sqlx::query("SELECT * FROM domains WHERE fapi_host = $1").bind(fapi_host);
        self.fetch_optional(q).await
    }

    async fn set_domain_verification(
        &self,
        id: &str,
        verified: bool,
        error: Option<&str>,
        at: Millis,
    ) -> R<()> {
        let q = sqlx::query(
            "UPDATE domains SET verified = $1, verification_error = $2, checked_at = $3 WHERE id = $4",
        )
        .bind(verified)
        .bind(error)
        .bind(at)
        .bind(id);
        self.execute(q).await?;
        Ok(())
    }

    async fn remove_domain(&self, id: &str) -> R<bool> {
        let q = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id);
        Ok(self.execute(q).await? > 0)
    }

    async fn add_secret_key(&self, k: &StoredSecretKey) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO secret_keys (id, instance_id, hash, sealed, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&k.id)
        .bind(&k.instance_id)
        .bind(&k.hash)
        .bind(&k.sealed)
        .bind(k.created_at);
        self.execute(q).await?;
        Ok(())
    }

    async fn secret_keys(&self, instance_id: &str) -> R<Vec<StoredSecretKey>> {
        let q = sqlx::query("SELECT * FROM secret_keys WHERE instance_id = $1 ORDER BY created_at")
            .bind(instance_id);
        self.fetch_all(q).await
    }

    async fn instance_by_secret_hash(&self, hash: &str) -> R<Option<Instance>> {
        let q = sqlx::query(
            "SELECT i.* FROM instances i JOIN secret_keys k ON k.instance_id = i.id WHERE k.hash = $1",
        )
        .bind(hash);
        self.fetch_optional(q).await
    }

    async fn add_signing_key(&self, k: &StoredSigningKey) -> R<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE instance_id = $2 AND retired_at IS NULL",
        )
        .bind(k.created_at)
        .bind(&k.instance_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, instance_id, sealed_pkcs8, public_n, public_e, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.kid)
        .bind(&k.instance_id)
        .bind(&k.sealed_pkcs8)
        .bind(&k.public_n)
        .bind(&k.public_e)
        .bind(k.created_at)
        .bind(k.retired_at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn signing_keys(&self, instance_id: &str) -> R<Vec<StoredSigningKey>> {
        let q = sqlx::query(
            "SELECT * FROM signing_keys WHERE instance_id = $1 ORDER BY created_at DESC",
        )
        .bind(instance_id);
        self.fetch_all(q).await
    }

    async fn delete_signing_keys_retired_before(
        &self,
        instance_id: &str,
        before: Millis,
    ) -> R<u64> {
        let q = sqlx::query(
            "DELETE FROM signing_keys WHERE instance_id = $1 AND retired_at IS NOT NULL AND retired_at < $2",
        )
        .bind(instance_id)
        .bind(before);
        self.execute(q).await
    }
}
