//! `InstanceStore`: applications, instances and their settings, domains, secret keys and
//! signing keys.

use super::{
    backend, get, get_enum, insert_sql, json_array, FromRow, IntoRow, Query, SqliteStore, R,
};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;
use sqlx::sqlite::SqliteRow;

plain_row!(Application in "applications": id, name, created_at);

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
    created_at,
);

plain_row!(StoredSecretKey in "secret_keys": id, instance_id, hash, sealed, created_at);

plain_row!(StoredSigningKey in "signing_keys":
    kid, instance_id, sealed_pkcs8, public_n, public_e, created_at, retired_at,
);

#[async_trait]
impl InstanceStore for SqliteStore {
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

    async fn instance(&self, id: &str) -> R<Option<Instance>> {
        let q = sqlx::query(
            "SELECT id, application_id, kind, sign_in_url, sign_up_url, allowed_redirect_origins, \
             session_inactivity_ms, session_lifetime_ms, sign_up_email_verification, created_at \
             FROM instances WHERE id = $1",
        )
        .bind(id);
        self.fetch_optional(q).await
    }

    async fn list_instances(&self) -> R<Vec<Instance>> {
        let q = sqlx::query(
            "SELECT id, application_id, kind, sign_in_url, sign_up_url, allowed_redirect_origins, \
             session_inactivity_ms, session_lifetime_ms, sign_up_email_verification, created_at \
             FROM instances ORDER BY created_at, id",
        );
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
        self.insert(k).await
    }

    async fn secret_keys(&self, instance_id: &str) -> R<Vec<StoredSecretKey>> {
        let q = sqlx::query("SELECT * FROM secret_keys WHERE instance_id = $1 ORDER BY created_at")
            .bind(instance_id);
        self.fetch_all(q).await
    }

    async fn instance_by_secret_hash(&self, hash: &str) -> R<Option<Instance>> {
        let q = sqlx::query(
            "SELECT i.id, i.application_id, i.kind, i.sign_in_url, i.sign_up_url, i.allowed_redirect_origins, \
             i.session_inactivity_ms, i.session_lifetime_ms, i.sign_up_email_verification, i.created_at \
             FROM instances i JOIN secret_keys k ON k.instance_id = i.id WHERE k.hash = $1",
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
        let insert = insert_sql::<StoredSigningKey>();
        k.bind(sqlx::query(&insert))
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
