//! `SessionStore`: clients, their tokens per FAPI host, and sessions.

use super::{get, get_enum, FromRow, IntoRow, Query, SqliteStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;
use sqlx::sqlite::SqliteRow;

plain_row!(Client in "clients": id, instance_id, created_at, updated_at);

impl FromRow for Session {
    fn from_row(row: &SqliteRow) -> R<Self> {
        Ok(Session {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            client_id: get(row, "client_id")?,
            user_id: get(row, "user_id")?,
            status: get_enum(row, "status", "session status", SessionStatus::parse)?,
            created_at: get(row, "created_at")?,
            updated_at: get(row, "updated_at")?,
            last_active_at: get(row, "last_active_at")?,
            abandon_at: get(row, "abandon_at")?,
            user_agent: get(row, "user_agent")?,
        })
    }
}

impl IntoRow for Session {
    const TABLE: &'static str = "sessions";
    const COLUMNS: &'static str =
        "id, instance_id, client_id, user_id, status, created_at, updated_at, last_active_at, \
         abandon_at, user_agent";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(&self.instance_id)
            .bind(&self.client_id)
            .bind(&self.user_id)
            .bind(self.status.as_str())
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.last_active_at)
            .bind(self.abandon_at)
            .bind(&self.user_agent)
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_client(&self, c: &Client) -> R<()> {
        self.insert(c).await
    }

    async fn client(&self, id: &str) -> R<Option<Client>> {
        let q = sqlx::query("SELECT * FROM clients WHERE id = $1").bind(id);
        self.fetch_optional(q).await
    }

    async fn touch_client(&self, id: &str, at: Millis) -> R<()> {
        let q = sqlx::query("UPDATE clients SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id);
        self.execute(q).await?;
        Ok(())
    }

    async fn set_client_token(
        &self,
        client_id: &str,
        fapi_host: &str,
        token_hash: &str,
        at: Millis,
    ) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO client_tokens (client_id, fapi_host, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (client_id, fapi_host) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
        )
        .bind(client_id)
        .bind(fapi_host)
        .bind(token_hash)
        .bind(at);
        self.execute(q).await?;
        Ok(())
    }

    async fn client_by_token(&self, fapi_host: &str, token_hash: &str) -> R<Option<Client>> {
        let q = sqlx::query(
            "SELECT c.* FROM clients c JOIN client_tokens t ON t.client_id = c.id WHERE t.fapi_host = $1 AND t.token_hash = $2",
        )
        .bind(fapi_host)
        .bind(token_hash);
        self.fetch_optional(q).await
    }

    async fn delete_client_credentials(&self, client_id: &str) -> R<u64> {
        let mut n = 0;
        for table in ["client_tokens", "dev_browsers"] {
            let sql = format!("DELETE FROM {table} WHERE client_id = $1");
            n += self.execute(sqlx::query(&sql).bind(client_id)).await?;
        }
        Ok(n)
    }

    async fn create_session(&self, s: &Session) -> R<()> {
        self.insert(s).await
    }

    async fn session(&self, instance_id: &str, id: &str) -> R<Option<Session>> {
        let q = sqlx::query("SELECT * FROM sessions WHERE instance_id = $1 AND id = $2")
            .bind(instance_id)
            .bind(id);
        self.fetch_optional(q).await
    }

    async fn sessions_for_client(&self, client_id: &str) -> R<Vec<Session>> {
        let q = sqlx::query("SELECT * FROM sessions WHERE client_id = $1 ORDER BY created_at DESC")
            .bind(client_id);
        self.fetch_all(q).await
    }

    async fn sessions_for_user(&self, instance_id: &str, user_id: &str) -> R<Vec<Session>> {
        let q = sqlx::query(
            "SELECT * FROM sessions WHERE instance_id = $1 AND user_id = $2 ORDER BY created_at DESC",
        )
        .bind(instance_id)
        .bind(user_id);
        self.fetch_all(q).await
    }

    async fn end_session(&self, id: &str, status: SessionStatus, at: Millis) -> R<bool> {
        let q = sqlx::query(
            "UPDATE sessions SET status = $1, updated_at = $2 WHERE id = $3 AND status = 'active'",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(id);
        Ok(self.execute(q).await? > 0)
    }

    async fn touch_session(&self, id: &str, at: Millis) -> R<()> {
        let q =
            sqlx::query("UPDATE sessions SET last_active_at = $1, updated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id);
        self.execute(q).await?;
        Ok(())
    }
}
