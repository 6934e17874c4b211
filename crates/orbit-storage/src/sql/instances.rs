//! `InstanceStore`: applications, instances and their settings, domains, secret keys and
//! signing keys.

use super::{
    backend, columns_of, get, get_enum, insert_in, json_array, select, Conn, FromRow, IntoRow,
    Query, Row, SqlStore, R,
};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

plain_row!(Application in "applications": id, name, created_at);

impl FromRow for Instance {
    fn from_row(row: &Row) -> R<Self> {
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
                sign_up_email_verification: get(row, "sign_up_email_verification")?,
            },
            created_at: get(row, "created_at")?,
        })
    }
}

impl IntoRow for Instance {
    const TABLE: &'static str = "instances";
    const COLUMNS: &'static str =
        "id, application_id, kind, sign_in_url, sign_up_url, allowed_redirect_origins, \
         session_inactivity_ms, session_lifetime_ms, sign_up_email_verification, created_at";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(&self.application_id)
            .bind(self.kind.as_str())
            .bind(&self.settings.sign_in_url)
            .bind(&self.settings.sign_up_url)
            .bind(json_array(&self.settings.allowed_redirect_origins))
            .bind(self.settings.session_inactivity_ms)
            .bind(self.settings.session_lifetime_ms)
            .bind(self.settings.sign_up_email_verification)
            .bind(self.created_at)
    }
}

/// The origins list is stored as a JSON array of strings.
fn origins_from_json(s: &str) -> R<Vec<String>> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Backend(format!("bad allowed_redirect_origins: {e}")))
}

plain_row!(Domain in "domains":
    id, instance_id, name, is_satellite, fapi_host, verified, verification_error, checked_at,
    dns_failures as i64, dns_failing_since, suspended_at, created_at,
);

plain_row!(StoredSecretKey in "secret_keys": id, instance_id, hash, sealed, created_at);

plain_row!(StoredSigningKey in "signing_keys":
    kid, instance_id, sealed_pkcs8, public_n, public_e, created_at, retired_at,
);

/// Adds `k` and retires every other current key of its instance at `k.created_at`.
async fn add_signing_key_in(tx: &mut Conn, k: &StoredSigningKey) -> R<()> {
    sqlx::query(
        "UPDATE signing_keys SET retired_at = $1 WHERE instance_id = $2 AND retired_at IS NULL",
    )
    .bind(k.created_at)
    .bind(&k.instance_id)
    .execute(&mut *tx)
    .await
    .map_err(backend)?;
    insert_in(tx, k).await
}

#[async_trait]
impl InstanceStore for SqlStore {
    async fn create_application(&self, app: &Application) -> R<()> {
        self.insert(app).await
    }

    async fn list_applications(&self) -> R<Vec<Application>> {
        let q =
            sqlx::query("SELECT id, name, created_at FROM applications ORDER BY created_at, id");
        self.fetch_all(q).await
    }

    async fn create_instance(&self, i: &Instance) -> R<()> {
        self.insert(i).await
    }

    async fn create_instance_with(&self, new: &NewInstance, only_if_first: bool) -> R<bool> {
        // One lock for every instance creation: of two first starts, one creates.
        let mut tx = self.write("orbit instance creation").await?;
        if only_if_first {
            let any: Option<String> = sqlx::query_scalar("SELECT id FROM instances LIMIT 1")
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?;
            if any.is_some() {
                return Ok(false);
            }
        }
        if let Some(app) = &new.application {
            insert_in(&mut tx, app).await?;
        }
        insert_in(&mut tx, &new.instance).await?;
        insert_in(&mut tx, &new.primary).await?;
        insert_in(&mut tx, &new.secret_key).await?;
        add_signing_key_in(&mut tx, &new.signing_key).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn instance(&self, id: &str) -> R<Option<Instance>> {
        let sql = select::<Instance>("WHERE id = $1");
        let q = sqlx::query(&sql).bind(id);
        self.fetch_optional(q).await
    }

    async fn list_instances(&self) -> R<Vec<Instance>> {
        let sql = select::<Instance>("ORDER BY created_at, id");
        let q = sqlx::query(&sql);
        self.fetch_all(q).await
    }

    async fn update_settings(&self, instance_id: &str, s: &InstanceSettings) -> R<()> {
        let q = sqlx::query(
            "UPDATE instances SET sign_in_url = $1, sign_up_url = $2, allowed_redirect_origins = $3, \
             session_inactivity_ms = $4, session_lifetime_ms = $5, sign_up_email_verification = $6 \
             WHERE id = $7",
        )
        .bind(&s.sign_in_url)
        .bind(&s.sign_up_url)
        .bind(json_array(&s.allowed_redirect_origins))
        .bind(s.session_inactivity_ms)
        .bind(s.session_lifetime_ms)
        .bind(s.sign_up_email_verification)
        .bind(instance_id);
        self.execute(q).await?;
        Ok(())
    }

    async fn add_domain(&self, d: &Domain) -> R<()> {
        self.insert(d).await
    }

    async fn domains(&self, instance_id: &str) -> R<Vec<Domain>> {
        let sql = select::<Domain>("WHERE instance_id = $1 ORDER BY is_satellite, created_at, id");
        let q = sqlx::query(&sql).bind(instance_id);
        self.fetch_all(q).await
    }

    async fn domain(&self, id: &str) -> R<Option<Domain>> {
        let sql = select::<Domain>("WHERE id = $1");
        let q = sqlx::query(&sql).bind(id);
        self.fetch_optional(q).await
    }

    async fn domain_by_name(&self, name: &str) -> R<Option<Domain>> {
        let sql = select::<Domain>("WHERE name = $1");
        let q = sqlx::query(&sql).bind(name);
        self.fetch_optional(q).await
    }

    async fn domain_by_fapi_host(&self, fapi_host: &str) -> R<Option<Domain>> {
        let sql = select::<Domain>("WHERE fapi_host = $1");
        let q = sqlx::query(&sql).bind(fapi_host);
        self.fetch_optional(q).await
    }

    async fn record_domain_check(&self, d: &Domain) -> R<()> {
        let q = sqlx::query(
            "UPDATE domains SET verified = $1, verification_error = $2, checked_at = $3, \
             dns_failures = $4, dns_failing_since = $5, suspended_at = $6 WHERE id = $7",
        )
        .bind(d.verified)
        .bind(&d.verification_error)
        .bind(d.checked_at)
        .bind(i64::from(d.dns_failures))
        .bind(d.dns_failing_since)
        .bind(d.suspended_at)
        .bind(&d.id);
        self.execute(q).await?;
        Ok(())
    }

    async fn remove_domain(&self, id: &str) -> R<bool> {
        let q = sqlx::query("DELETE FROM domains WHERE id = $1").bind(id);
        Ok(self.execute(q).await? > 0)
    }

    async fn add_secret_key(&self, k: &StoredSecretKey) -> R<()> {
        self.insert(k).await
    }

    async fn secret_keys(&self, instance_id: &str) -> R<Vec<StoredSecretKey>> {
        let sql = select::<StoredSecretKey>("WHERE instance_id = $1 ORDER BY created_at");
        let q = sqlx::query(&sql).bind(instance_id);
        self.fetch_all(q).await
    }

    async fn delete_secret_key(&self, instance_id: &str, id: &str) -> R<SecretKeyDeletion> {
        let key = format!("orbit secret keys {instance_id}");
        let mut tx = self.write(&key).await?;
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM secret_keys WHERE instance_id = $1")
                .bind(instance_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
        let outcome = if !ids.iter().any(|k| k == id) {
            SecretKeyDeletion::NotFound
        } else if ids.len() == 1 {
            SecretKeyDeletion::LastKey
        } else {
            sqlx::query("DELETE FROM secret_keys WHERE instance_id = $1 AND id = $2")
                .bind(instance_id)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            SecretKeyDeletion::Deleted
        };
        // Every outcome ends the transaction now, releasing its lock (a dropped one would hold
        // it until its connection is next used).
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn instance_by_secret_hash(&self, hash: &str) -> R<Option<Instance>> {
        let sql = format!(
            "SELECT {} FROM instances i JOIN secret_keys k ON k.instance_id = i.id WHERE k.hash = $1",
            columns_of::<Instance>("i")
        );
        let q = sqlx::query(&sql).bind(hash);
        self.fetch_optional(q).await
    }

    async fn add_signing_key(&self, k: &StoredSigningKey) -> R<()> {
        // Rotations of one instance queue up, so each retires the key the previous one added.
        let key = format!("orbit signing keys {}", k.instance_id);
        let mut tx = self.write(&key).await?;
        add_signing_key_in(&mut tx, k).await?;
        tx.commit().await.map_err(backend)
    }

    async fn signing_keys(&self, instance_id: &str) -> R<Vec<StoredSigningKey>> {
        let sql = select::<StoredSigningKey>("WHERE instance_id = $1 ORDER BY created_at DESC");
        let q = sqlx::query(&sql).bind(instance_id);
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
