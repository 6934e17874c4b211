//! `SessionStore`: clients, their tokens per FAPI host, and sessions.

use super::{
    backend, columns_of, get, get_enum, insert_in, select, Conn, FromRow, IntoRow, Query, Row,
    SqlStore, R,
};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

plain_row!(Client in "clients": id, instance_id, created_at, updated_at);

impl FromRow for Session {
    fn from_row(row: &Row) -> R<Self> {
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

impl FromRow for ListedSession {
    fn from_row(row: &Row) -> R<Self> {
        Ok(ListedSession {
            session: Session::from_row(row)?,
            user_email: get(row, "user_email")?,
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

/// Binds a client's token for a FAPI host, replacing the older one.
const SET_CLIENT_TOKEN: &str =
    "INSERT INTO client_tokens (client_id, fapi_host, token_hash, created_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (client_id, fapi_host) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at";

/// The lock a session start takes: the retired client's, else the new one's.
pub(super) fn client_lock(retired: Option<&str>, client: &Client) -> String {
    format!("orbit client {}", retired.unwrap_or(&client.id))
}

/// `SessionStore::start_session`'s writes, inside the caller's transaction: retire the
/// browser's earlier client (end its active sessions, delete its tokens and development
/// browsers, touch it), then create `new_user` if any (a sign-up's account), and `client`
/// with its session and its token for `fapi_host`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn start_session_in(
    tx: &mut Conn,
    retired: Option<&str>,
    new_user: Option<&User>,
    client: &Client,
    s: &Session,
    fapi_host: &str,
    token_hash: &str,
) -> R<()> {
    let at = s.created_at;
    if let Some(old) = retired {
        for (sql, with_time) in [
            ("UPDATE sessions SET status = 'ended', updated_at = $2 WHERE client_id = $1 AND status = 'active'", true),
            ("DELETE FROM client_tokens WHERE client_id = $1", false),
            ("DELETE FROM dev_browsers WHERE client_id = $1", false),
            ("UPDATE clients SET updated_at = $2 WHERE id = $1", true),
        ] {
            // PostgreSQL refuses arguments a statement does not use.
            let q = sqlx::query(sql).bind(old);
            let q = if with_time { q.bind(at) } else { q };
            q.execute(&mut *tx).await.map_err(backend)?;
        }
    }
    if let Some(user) = new_user {
        insert_in(&mut *tx, user).await?;
    }
    insert_in(&mut *tx, client).await?;
    insert_in(&mut *tx, s).await?;
    sqlx::query(SET_CLIENT_TOKEN)
        .bind(&client.id)
        .bind(fapi_host)
        .bind(token_hash)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_client(&self, c: &Client) -> R<()> {
        self.insert(c).await
    }

    async fn client(&self, id: &str) -> R<Option<Client>> {
        let sql = select::<Client>("WHERE id = $1");
        let q = sqlx::query(&sql).bind(id);
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
        let q = sqlx::query(SET_CLIENT_TOKEN)
            .bind(client_id)
            .bind(fapi_host)
            .bind(token_hash)
            .bind(at);
        self.execute(q).await?;
        Ok(())
    }

    async fn client_by_token(&self, fapi_host: &str, token_hash: &str) -> R<Option<Client>> {
        let sql = format!(
            "SELECT {} FROM clients c JOIN client_tokens t ON t.client_id = c.id WHERE t.fapi_host = $1 AND t.token_hash = $2",
            columns_of::<Client>("c")
        );
        let q = sqlx::query(&sql).bind(fapi_host).bind(token_hash);
        self.fetch_optional(q).await
    }

    async fn create_session(&self, s: &Session) -> R<()> {
        self.insert(s).await
    }

    async fn start_session(
        &self,
        retired: Option<&str>,
        new_user: Option<&User>,
        client: &Client,
        s: &Session,
        fapi_host: &str,
        token_hash: &str,
    ) -> R<()> {
        let mut tx = self.write(&client_lock(retired, client)).await?;
        start_session_in(&mut tx, retired, new_user, client, s, fapi_host, token_hash).await?;
        tx.commit().await.map_err(backend)
    }

    async fn session(&self, instance_id: &str, id: &str) -> R<Option<Session>> {
        let sql = select::<Session>("WHERE instance_id = $1 AND id = $2");
        let q = sqlx::query(&sql).bind(instance_id).bind(id);
        self.fetch_optional(q).await
    }

    async fn sessions_for_client(&self, client_id: &str) -> R<Vec<Session>> {
        let sql = select::<Session>("WHERE client_id = $1 ORDER BY created_at DESC");
        let q = sqlx::query(&sql).bind(client_id);
        self.fetch_all(q).await
    }

    async fn sessions_for_user(&self, instance_id: &str, user_id: &str) -> R<Vec<Session>> {
        let sql =
            select::<Session>("WHERE instance_id = $1 AND user_id = $2 ORDER BY created_at DESC");
        let q = sqlx::query(&sql).bind(instance_id).bind(user_id);
        self.fetch_all(q).await
    }

    async fn active_sessions_of_instance(
        &self,
        instance_id: &str,
        now: Millis,
        active_after: Millis,
        limit: u32,
        offset: u32,
    ) -> R<Vec<ListedSession>> {
        let sql = format!(
            "SELECT {}, u.email AS user_email FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.instance_id = $1 AND s.status = 'active' AND s.abandon_at > $2 \
               AND s.last_active_at > $3 \
             ORDER BY s.last_active_at DESC, s.id DESC LIMIT $4 OFFSET $5",
            columns_of::<Session>("s")
        );
        let q = sqlx::query(&sql)
            .bind(instance_id)
            .bind(now)
            .bind(active_after)
            .bind(i64::from(limit))
            .bind(i64::from(offset));
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

    async fn prune_clients(&self, idle_before: Millis, now: Millis) -> R<u64> {
        // Tokens and sessions go with their client (ON DELETE CASCADE); a client that a
        // development browser still stands for stays.
        let q = sqlx::query(
            "DELETE FROM clients WHERE updated_at < $1 AND NOT EXISTS ( \
               SELECT 1 FROM sessions s JOIN instances i ON i.id = s.instance_id \
               WHERE s.client_id = clients.id AND s.status = 'active' AND s.abandon_at > $2 \
                 AND s.last_active_at + i.session_inactivity_ms > $2) \
             AND NOT EXISTS (SELECT 1 FROM dev_browsers d WHERE d.client_id = clients.id)",
        )
        .bind(idle_before)
        .bind(now);
        self.execute(q).await
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
