//! SQLite adapter: the embedded default. One file in the data directory, WAL journal, so the CLI
//! can read and write while `orbit serve` runs.

mod migrations;

use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
    }
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // After a checkpoint, shrink the WAL file back to at most 64 MiB.
            .pragma("journal_size_limit", "67108864")
            // Connections do not checkpoint on commit; the checkpointer below does, alone. When
            // every connection may checkpoint, under constant concurrent writes each attempt
            // finds the lock held by another and the WAL grows by gigabytes.
            .pragma("wal_autocheckpoint", "0");
        let store = Self::connect(options).await?;
        store.spawn_checkpointer();
        Ok(store)
    }

    /// The only checkpointer: once a second a truncating checkpoint moves the WAL into the
    /// database and resets it. It waits (busy timeout) for in-flight transactions, which are
    /// short; when it still finds the lock busy it retries on the next tick.
    fn spawn_checkpointer(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!("SQLite checkpoint failed: {e}");
                }
            }
        });
    }

    /// Checkpoints the WAL into the database file now.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// A private in-memory database, for unit tests of the adapter.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend)?
            .foreign_keys(true);
        Self::connect_with(options, 1).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        Self::connect_with(options, 4).await
    }

    async fn connect_with(options: SqliteConnectOptions, max: u32) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(backend)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        for (version, sql) in migrations::MIGRATIONS {
            let mut tx = self.pool.begin().await.map_err(backend)?;
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if done.is_some() {
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            tracing::info!(version, "applied SQLite migration");
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

type R<T> = Result<T, StoreError>;

fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &'r SqliteRow,
    col: &str,
) -> R<T> {
    row.try_get(col).map_err(backend)
}

fn instance_from(row: &SqliteRow) -> R<Instance> {
    let kind: String = get(row, "kind")?;
    let origins: String = get(row, "allowed_redirect_origins")?;
    Ok(Instance {
        id: get(row, "id")?,
        application_id: get(row, "application_id")?,
        kind: InstanceKind::parse(&kind)
            .ok_or_else(|| StoreError::Backend(format!("unknown instance kind {kind}")))?,
        settings: InstanceSettings {
            sign_in_url: get(row, "sign_in_url")?,
            sign_up_url: get(row, "sign_up_url")?,
            allowed_redirect_origins: serde_json_array(&origins)?,
            session_inactivity_ms: get(row, "session_inactivity_ms")?,
            session_lifetime_ms: get(row, "session_lifetime_ms")?,
        },
        created_at: get(row, "created_at")?,
    })
}

/// The origins list is stored as a JSON array of strings.
fn serde_json_array(s: &str) -> R<Vec<String>> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Backend(format!("bad allowed_redirect_origins: {e}")))
}

fn json_array(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}

fn domain_from(row: &SqliteRow) -> R<Domain> {
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

fn user_from(row: &SqliteRow) -> R<User> {
    Ok(User {
        id: get(row, "id")?,
        instance_id: get(row, "instance_id")?,
        email_id: get(row, "email_id")?,
        email: get(row, "email")?,
        first_name: get(row, "first_name")?,
        last_name: get(row, "last_name")?,
        password_hash: get(row, "password_hash")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_sign_in_at: get(row, "last_sign_in_at")?,
        last_active_at: get(row, "last_active_at")?,
    })
}

fn session_from(row: &SqliteRow) -> R<Session> {
    let status: String = get(row, "status")?;
    Ok(Session {
        id: get(row, "id")?,
        instance_id: get(row, "instance_id")?,
        client_id: get(row, "client_id")?,
        user_id: get(row, "user_id")?,
        status: SessionStatus::parse(&status)
            .ok_or_else(|| StoreError::Backend(format!("unknown session status {status}")))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_active_at: get(row, "last_active_at")?,
        abandon_at: get(row, "abandon_at")?,
        user_agent: get(row, "user_agent")?,
    })
}

fn client_from(row: &SqliteRow) -> R<Client> {
    Ok(Client {
        id: get(row, "id")?,
        instance_id: get(row, "instance_id")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

fn signing_key_from(row: &SqliteRow) -> R<StoredSigningKey> {
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

#[async_trait]
impl InstanceStore for SqliteStore {
    async fn create_application(&self, app: &Application) -> R<()> {
        sqlx::query("INSERT INTO applications (id, name, created_at) VALUES (?, ?, ?)")
            .bind(&app.id)
            .bind(&app.name)
            .bind(app.created_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list_applications(&self) -> R<Vec<Application>> {
        let rows =
            sqlx::query("SELECT id, name, created_at FROM applications ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(Application {
                    id: get(r, "id")?,
                    name: get(r, "name")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn create_instance(&self, i: &Instance) -> R<()> {
        sqlx::query(
            "INSERT INTO instances (id, application_id, kind, sign_in_url, sign_up_url, allowed_redirect_origins, \
             session_inactivity_ms, session_lifetime_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&i.id)
        .bind(&i.application_id)
        .bind(i.kind.as_str())
        .bind(&i.settings.sign_in_url)
        .bind(&i.settings.sign_up_url)
        .bind(json_array(&i.settings.allowed_redirect_origins))
        .bind(i.settings.session_inactivity_ms)
        .bind(i.settings.session_lifetime_ms)
        .bind(i.created_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn instance(&self, id: &str) -> R<Option<Instance>> {
        let row = sqlx::query("SELECT * FROM instances WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(instance_from).transpose()
    }

    async fn list_instances(&self) -> R<Vec<Instance>> {
        let rows = sqlx::query("SELECT * FROM instances ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(instance_from).collect()
    }

    async fn update_settings(&self, instance_id: &str, s: &InstanceSettings) -> R<()> {
        sqlx::query(
            "UPDATE instances SET sign_in_url = ?, sign_up_url = ?, allowed_redirect_origins = ?, \
             session_inactivity_ms = ?, session_lifetime_ms = ? WHERE id = ?",
        )
        .bind(&s.sign_in_url)
        .bind(&s.sign_up_url)
        .bind(json_array(&s.allowed_redirect_origins))
        .bind(s.session_inactivity_ms)
        .bind(s.session_lifetime_ms)
        .bind(instance_id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn add_domain(&self, d: &Domain) -> R<()> {
        sqlx::query(
            "INSERT INTO domains (id, instance_id, name, is_satellite, fapi_host, verified, verification_error, checked_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&d.id)
        .bind(&d.instance_id)
        .bind(&d.name)
        .bind(d.is_satellite)
        .bind(&d.fapi_host)
        .bind(d.verified)
        .bind(&d.verification_error)
        .bind(d.checked_at)
        .bind(d.created_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn domains(&self, instance_id: &str) -> R<Vec<Domain>> {
        let rows = sqlx::query(
            "SELECT * FROM domains WHERE instance_id = ? ORDER BY is_satellite, created_at, id",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(domain_from).collect()
    }

    async fn domain(&self, id: &str) -> R<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(domain_from).transpose()
    }

    async fn domain_by_name(&self, name: &str) -> R<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(domain_from).transpose()
    }

    async fn set_domain_verification(
        &self,
        id: &str,
        verified: bool,
        error: Option<&str>,
        at: Millis,
    ) -> R<()> {
        sqlx::query(
            "UPDATE domains SET verified = ?, verification_error = ?, checked_at = ? WHERE id = ?",
        )
        .bind(verified)
        .bind(error)
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn remove_domain(&self, id: &str) -> R<bool> {
        let r = sqlx::query("DELETE FROM domains WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected() > 0)
    }

    async fn domain_by_fapi_host(&self, fapi_host: &str) -> R<Option<Domain>> {
        let row = sqlx::query("SELECT * FROM domains WHERE fapi_host = ?")
            .bind(fapi_host)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(domain_from).transpose()
    }

    async fn add_secret_key(&self, k: &StoredSecretKey) -> R<()> {
        sqlx::query("INSERT INTO secret_keys (id, instance_id, hash, sealed, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(&k.id)
            .bind(&k.instance_id)
            .bind(&k.hash)
            .bind(&k.sealed)
            .bind(k.created_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn secret_keys(&self, instance_id: &str) -> R<Vec<StoredSecretKey>> {
        let rows =
            sqlx::query("SELECT * FROM secret_keys WHERE instance_id = ? ORDER BY created_at")
                .bind(instance_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(StoredSecretKey {
                    id: get(r, "id")?,
                    instance_id: get(r, "instance_id")?,
                    hash: get(r, "hash")?,
                    sealed: get(r, "sealed")?,
                    created_at: get(r, "created_at")?,
                })
            })
            .collect()
    }

    async fn instance_by_secret_hash(&self, hash: &str) -> R<Option<Instance>> {
        let row = sqlx::query("SELECT i.* FROM instances i JOIN secret_keys k ON k.instance_id = i.id WHERE k.hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(instance_from).transpose()
    }

    async fn add_signing_key(&self, k: &StoredSigningKey) -> R<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = ? WHERE instance_id = ? AND retired_at IS NULL",
        )
        .bind(k.created_at)
        .bind(&k.instance_id)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, instance_id, sealed_pkcs8, public_n, public_e, created_at, retired_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        let rows = sqlx::query(
            "SELECT * FROM signing_keys WHERE instance_id = ? ORDER BY created_at DESC",
        )
        .bind(instance_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(signing_key_from).collect()
    }

    async fn delete_signing_keys_retired_before(
        &self,
        instance_id: &str,
        before: Millis,
    ) -> R<u64> {
        let r = sqlx::query("DELETE FROM signing_keys WHERE instance_id = ? AND retired_at IS NOT NULL AND retired_at < ?")
            .bind(instance_id)
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected())
    }
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, u: &User) -> R<()> {
        sqlx::query(
            "INSERT INTO users (id, instance_id, email_id, email, first_name, last_name, password_hash, created_at, updated_at, \
             last_sign_in_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(&u.instance_id)
        .bind(&u.email_id)
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.password_hash)
        .bind(u.created_at)
        .bind(u.updated_at)
        .bind(u.last_sign_in_at)
        .bind(u.last_active_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn user(&self, instance_id: &str, id: &str) -> R<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE instance_id = ? AND id = ?")
            .bind(instance_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_email(&self, instance_id: &str, email: &str) -> R<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE instance_id = ? AND email = ?")
            .bind(instance_id)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn list_users(&self, instance_id: &str, limit: u32, offset: u32) -> R<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users WHERE instance_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")
            .bind(instance_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(user_from).collect()
    }

    async fn count_users(&self, instance_id: &str) -> R<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE instance_id = ?")
            .bind(instance_id)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn update_user(&self, u: &User) -> R<()> {
        sqlx::query(
            "UPDATE users SET email = ?, first_name = ?, last_name = ?, password_hash = ?, updated_at = ?, last_sign_in_at = ?, \
             last_active_at = ? WHERE instance_id = ? AND id = ?",
        )
        .bind(&u.email)
        .bind(&u.first_name)
        .bind(&u.last_name)
        .bind(&u.password_hash)
        .bind(u.updated_at)
        .bind(u.last_sign_in_at)
        .bind(u.last_active_at)
        .bind(&u.instance_id)
        .bind(&u.id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn delete_user(&self, instance_id: &str, id: &str) -> R<bool> {
        // Sessions go with the user (ON DELETE CASCADE).
        let r = sqlx::query("DELETE FROM users WHERE instance_id = ? AND id = ?")
            .bind(instance_id)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected() > 0)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_client(&self, c: &Client) -> R<()> {
        sqlx::query(
            "INSERT INTO clients (id, instance_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&c.id)
        .bind(&c.instance_id)
        .bind(c.created_at)
        .bind(c.updated_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn client(&self, id: &str) -> R<Option<Client>> {
        let row = sqlx::query("SELECT * FROM clients WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(client_from).transpose()
    }

    async fn touch_client(&self, id: &str, at: Millis) -> R<()> {
        sqlx::query("UPDATE clients SET updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_client_token(
        &self,
        client_id: &str,
        fapi_host: &str,
        token_hash: &str,
        at: Millis,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO client_tokens (client_id, fapi_host, token_hash, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (client_id, fapi_host) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
        )
        .bind(client_id)
        .bind(fapi_host)
        .bind(token_hash)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn client_by_token(&self, fapi_host: &str, token_hash: &str) -> R<Option<Client>> {
        let row = sqlx::query(
            "SELECT c.* FROM clients c JOIN client_tokens t ON t.client_id = c.id WHERE t.fapi_host = ? AND t.token_hash = ?",
        )
        .bind(fapi_host)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(client_from).transpose()
    }

    async fn create_session(&self, s: &Session) -> R<()> {
        sqlx::query(
            "INSERT INTO sessions (id, instance_id, client_id, user_id, status, created_at, updated_at, last_active_at, abandon_at, user_agent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.id)
        .bind(&s.instance_id)
        .bind(&s.client_id)
        .bind(&s.user_id)
        .bind(s.status.as_str())
        .bind(s.created_at)
        .bind(s.updated_at)
        .bind(s.last_active_at)
        .bind(s.abandon_at)
        .bind(&s.user_agent)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn session(&self, instance_id: &str, id: &str) -> R<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE instance_id = ? AND id = ?")
            .bind(instance_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(session_from).transpose()
    }

    async fn sessions_for_client(&self, client_id: &str) -> R<Vec<Session>> {
        let rows =
            sqlx::query("SELECT * FROM sessions WHERE client_id = ? ORDER BY created_at DESC")
                .bind(client_id)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
        rows.iter().map(session_from).collect()
    }

    async fn sessions_for_user(&self, instance_id: &str, user_id: &str) -> R<Vec<Session>> {
        let rows = sqlx::query(
            "SELECT * FROM sessions WHERE instance_id = ? AND user_id = ? ORDER BY created_at DESC",
        )
        .bind(instance_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        rows.iter().map(session_from).collect()
    }

    async fn end_session(&self, id: &str, status: SessionStatus, at: Millis) -> R<bool> {
        let r = sqlx::query(
            "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ? AND status = 'active'",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(r.rows_affected() > 0)
    }

    async fn touch_session(&self, id: &str, at: Millis) -> R<()> {
        sqlx::query("UPDATE sessions SET last_active_at = ?, updated_at = ? WHERE id = ?")
            .bind(at)
            .bind(at)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn pending_from(row: &SqliteRow) -> R<PendingSync> {
    let format: String = get(row, "format")?;
    Ok(PendingSync {
        id: get(row, "id")?,
        instance_id: get(row, "instance_id")?,
        satellite_domain_id: get(row, "satellite_domain_id")?,
        state_hash: get(row, "state_hash")?,
        redirect_url: get(row, "redirect_url")?,
        format: HandshakeFormat::parse(&format)
            .ok_or_else(|| StoreError::Backend(format!("unknown handshake format {format}")))?,
        suffixed_cookies: get(row, "suffixed_cookies")?,
        expires_at: get(row, "expires_at")?,
    })
}

#[async_trait]
impl HandshakeStore for SqliteStore {
    async fn put_pending_sync(&self, p: &PendingSync) -> R<()> {
        sqlx::query(
            "INSERT INTO pending_syncs (id, instance_id, satellite_domain_id, state_hash, redirect_url, format, suffixed_cookies, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&p.id)
        .bind(&p.instance_id)
        .bind(&p.satellite_domain_id)
        .bind(&p.state_hash)
        .bind(&p.redirect_url)
        .bind(p.format.as_str())
        .bind(p.suffixed_cookies)
        .bind(p.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_pending_sync(&self, id: &str, now: Millis) -> R<Option<PendingSync>> {
        // DELETE .. RETURNING is one statement: SQLite's single writer makes it atomic.
        let row = sqlx::query("DELETE FROM pending_syncs WHERE id = ? RETURNING *")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row
            .as_ref()
            .map(pending_from)
            .transpose()?
            .filter(|p| p.expires_at > now))
    }

    async fn put_sync_token(&self, t: &SyncToken) -> R<()> {
        sqlx::query(
            "INSERT INTO sync_tokens (token_hash, instance_id, client_id, satellite_domain_id, pending_sync_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.token_hash)
        .bind(&t.instance_id)
        .bind(&t.client_id)
        .bind(&t.satellite_domain_id)
        .bind(&t.pending_sync_id)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn take_sync_token(&self, token_hash: &str, now: Millis) -> R<Option<SyncToken>> {
        let row = sqlx::query("DELETE FROM sync_tokens WHERE token_hash = ? RETURNING *")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let token = match row {
            Some(r) => SyncToken {
                token_hash: get(&r, "token_hash")?,
                instance_id: get(&r, "instance_id")?,
                client_id: get(&r, "client_id")?,
                satellite_domain_id: get(&r, "satellite_domain_id")?,
                pending_sync_id: get(&r, "pending_sync_id")?,
                expires_at: get(&r, "expires_at")?,
            },
            None => return Ok(None),
        };
        Ok(Some(token).filter(|t| t.expires_at > now))
    }

    async fn put_handshake_nonce(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        directives: &[String],
        expires_at: Millis,
    ) -> R<()> {
        let json =
            serde_json::to_string(directives).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query("INSERT INTO handshake_nonces (nonce_hash, instance_id, directives, expires_at) VALUES (?, ?, ?, ?)")
            .bind(nonce_hash)
            .bind(instance_id)
            .bind(json)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_handshake_nonce(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        now: Millis,
    ) -> R<Option<Vec<String>>> {
        let row = sqlx::query("DELETE FROM handshake_nonces WHERE nonce_hash = ? AND instance_id = ? RETURNING directives, expires_at")
            .bind(nonce_hash)
            .bind(instance_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let expires_at: i64 = get(&row, "expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        let json: String = get(&row, "directives")?;
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn put_dev_browser(
        &self,
        instance_id: &str,
        token_hash: &str,
        client_id: &str,
        at: Millis,
    ) -> R<()> {
        sqlx::query("INSERT INTO dev_browsers (token_hash, instance_id, client_id, created_at) VALUES (?, ?, ?, ?)")
            .bind(token_hash)
            .bind(instance_id)
            .bind(client_id)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn client_for_dev_browser(
        &self,
        instance_id: &str,
        token_hash: &str,
    ) -> R<Option<Client>> {
        let row = sqlx::query("SELECT c.* FROM clients c JOIN dev_browsers d ON d.client_id = c.id WHERE d.instance_id = ? AND d.token_hash = ?")
            .bind(instance_id)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(client_from).transpose()
    }

    async fn prune_handshakes(&self, now: Millis) -> R<u64> {
        let mut n = 0;
        for table in ["pending_syncs", "sync_tokens", "handshake_nonces"] {
            let r = sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= ?"))
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
            n += r.rows_affected();
        }
        Ok(n)
    }
}

#[async_trait]
impl AttemptStore for SqliteStore {
    async fn record_failed_sign_in(
        &self,
        instance_id: &str,
        identifier: &str,
        at: Millis,
    ) -> R<()> {
        sqlx::query("INSERT INTO failed_sign_ins (instance_id, identifier, at) VALUES (?, ?, ?)")
            .bind(instance_id)
            .bind(identifier)
            .bind(at)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn failed_sign_ins_since(
        &self,
        instance_id: &str,
        identifier: &str,
        since: Millis,
    ) -> R<Vec<Millis>> {
        sqlx::query_scalar("SELECT at FROM failed_sign_ins WHERE instance_id = ? AND identifier = ? AND at > ? ORDER BY at")
            .bind(instance_id)
            .bind(identifier)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)
    }

    async fn prune_failed_sign_ins(&self, before: Millis) -> R<u64> {
        let r = sqlx::query("DELETE FROM failed_sign_ins WHERE at < ?")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(r.rows_affected())
    }
}
