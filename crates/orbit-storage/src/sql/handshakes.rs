//! `HandshakeStore`: pending syncs, sync tokens, handshake nonces and development browsers.
//! Every `take_*` is one `DELETE .. RETURNING` statement: SQLite's single writer makes it
//! atomic. Handshake nonces are only read (several loaders of one request resolve the same
//! nonce); housekeeping deletes them once expired.

use super::{
    columns_of, get, get_enum, json_array, select, FromRow, IntoRow, Query, Row, SqlStore, R,
};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

impl FromRow for PendingSync {
    fn from_row(row: &Row) -> R<Self> {
        Ok(PendingSync {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            satellite_domain_id: get(row, "satellite_domain_id")?,
            state_hash: get(row, "state_hash")?,
            redirect_url: get(row, "redirect_url")?,
            format: get_enum(row, "format", "handshake format", HandshakeFormat::parse)?,
            suffixed_cookies: get(row, "suffixed_cookies")?,
            expires_at: get(row, "expires_at")?,
        })
    }
}

impl IntoRow for PendingSync {
    const TABLE: &'static str = "pending_syncs";
    const COLUMNS: &'static str =
        "id, instance_id, satellite_domain_id, state_hash, redirect_url, format, suffixed_cookies, \
         expires_at";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(&self.instance_id)
            .bind(&self.satellite_domain_id)
            .bind(&self.state_hash)
            .bind(&self.redirect_url)
            .bind(self.format.as_str())
            .bind(self.suffixed_cookies)
            .bind(self.expires_at)
    }
}

plain_row!(SyncToken in "sync_tokens":
    token_hash, instance_id, client_id, satellite_domain_id, pending_sync_id, expires_at,
);

/// A live handshake nonce's directives (a JSON array).
struct NonceDirectives(String);

impl FromRow for NonceDirectives {
    fn from_row(row: &Row) -> R<Self> {
        Ok(NonceDirectives(get(row, "directives")?))
    }
}

/// A development browser's client (none yet, when `client_id` is NULL) and when the
/// development browser was last used.
struct DevBrowserRow {
    client: Option<Client>,
    last_used_at: Millis,
}

impl FromRow for DevBrowserRow {
    fn from_row(row: &Row) -> R<Self> {
        let client_id: Option<String> = get(row, "dev_browser_client_id")?;
        Ok(DevBrowserRow {
            client: client_id.map(|_| Client::from_row(row)).transpose()?,
            last_used_at: get(row, "dev_browser_last_used_at")?,
        })
    }
}

#[async_trait]
impl HandshakeStore for SqlStore {
    async fn put_pending_sync(&self, p: &PendingSync) -> R<()> {
        self.insert(p).await
    }

    async fn take_pending_sync(&self, id: &str, now: Millis) -> R<Option<PendingSync>> {
        let sql = format!(
            "DELETE FROM pending_syncs WHERE id = $1 RETURNING {}",
            PendingSync::COLUMNS
        );
        let q = sqlx::query(&sql).bind(id);
        let pending: Option<PendingSync> = self.fetch_optional(q).await?;
        Ok(pending.filter(|p| p.expires_at > now))
    }

    async fn pending_sync(&self, id: &str, now: Millis) -> R<Option<PendingSync>> {
        let sql = select::<PendingSync>("WHERE id = $1 AND expires_at > $2");
        let q = sqlx::query(&sql).bind(id).bind(now);
        self.fetch_optional(q).await
    }

    async fn put_sync_token(&self, t: &SyncToken) -> R<()> {
        self.insert(t).await
    }

    async fn take_sync_token(&self, token_hash: &str, now: Millis) -> R<Option<SyncToken>> {
        let sql = format!(
            "DELETE FROM sync_tokens WHERE token_hash = $1 RETURNING {}",
            SyncToken::COLUMNS
        );
        let q = sqlx::query(&sql).bind(token_hash);
        let token: Option<SyncToken> = self.fetch_optional(q).await?;
        Ok(token.filter(|t| t.expires_at > now))
    }

    async fn put_handshake_nonce(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        directives: &[String],
        expires_at: Millis,
    ) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO handshake_nonces (nonce_hash, instance_id, directives, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(nonce_hash)
        .bind(instance_id)
        .bind(json_array(directives))
        .bind(expires_at);
        self.execute(q).await?;
        Ok(())
    }

    async fn handshake_nonce_directives(
        &self,
        instance_id: &str,
        nonce_hash: &str,
        now: Millis,
    ) -> R<Option<Vec<String>>> {
        let q = sqlx::query(
            "SELECT directives FROM handshake_nonces WHERE nonce_hash = $1 AND instance_id = $2 AND expires_at > $3",
        )
        .bind(nonce_hash)
        .bind(instance_id)
        .bind(now);
        let Some(NonceDirectives(directives)) = self.fetch_optional(q).await? else {
            return Ok(None);
        };
        serde_json::from_str(&directives)
            .map(Some)
            .map_err(|e| StoreError::Backend(e.to_string()))
    }

    async fn put_dev_browser(
        &self,
        instance_id: &str,
        token_hash: &str,
        client_id: Option<&str>,
        at: Millis,
    ) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO dev_browsers (token_hash, instance_id, client_id, created_at, last_used_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token_hash)
        .bind(instance_id)
        .bind(client_id)
        .bind(at);
        self.execute(q).await?;
        Ok(())
    }

    async fn dev_browser_client(
        &self,
        instance_id: &str,
        token_hash: &str,
        used_after: Millis,
    ) -> R<Option<(Option<Client>, Millis)>> {
        let sql = format!(
            "SELECT {}, d.client_id AS dev_browser_client_id, d.last_used_at AS dev_browser_last_used_at \
             FROM dev_browsers d LEFT JOIN clients c ON c.id = d.client_id \
             WHERE d.instance_id = $1 AND d.token_hash = $2 AND d.last_used_at > $3",
            columns_of::<Client>("c")
        );
        let q = sqlx::query(&sql)
            .bind(instance_id)
            .bind(token_hash)
            .bind(used_after);
        let row: Option<DevBrowserRow> = self.fetch_optional(q).await?;
        Ok(row.map(|r| (r.client, r.last_used_at)))
    }

    async fn touch_dev_browser(&self, token_hash: &str, at: Millis) -> R<()> {
        let q = sqlx::query("UPDATE dev_browsers SET last_used_at = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(at);
        self.execute(q).await?;
        Ok(())
    }

    async fn prune_dev_browsers(&self, used_before: Millis) -> R<u64> {
        let q = sqlx::query("DELETE FROM dev_browsers WHERE last_used_at <= $1").bind(used_before);
        self.execute(q).await
    }

    async fn prune_handshakes(&self, now: Millis) -> R<u64> {
        let mut n = 0;
        for table in ["pending_syncs", "sync_tokens", "handshake_nonces"] {
            let sql = format!("DELETE FROM {table} WHERE expires_at <= $1");
            n += self.execute(sqlx::query(&sql).bind(now)).await?;
        }
        Ok(n)
    }
}
