//! `SignInStore`: the Frontend API's sign-in attempts. Completing one is a compare-and-swap on
//! its status in the transaction that starts its session, so a completed attempt stays
//! completed and starts exactly one session.

use super::sessions::{client_lock, start_session_in};
use super::{backend, get, get_enum, select, FromRow, IntoRow, Query, Row, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

impl FromRow for SignInAttempt {
    fn from_row(row: &Row) -> R<Self> {
        Ok(SignInAttempt {
            id: get(row, "id")?,
            instance_id: get(row, "instance_id")?,
            browser_hash: get(row, "browser_hash")?,
            identifier: get(row, "identifier")?,
            status: get_enum(row, "status", "sign-in status", SignInStatus::parse)?,
            created_session_id: get(row, "created_session_id")?,
            created_at: get(row, "created_at")?,
            expires_at: get(row, "expires_at")?,
        })
    }
}

impl IntoRow for SignInAttempt {
    const TABLE: &'static str = "sign_in_attempts";
    const COLUMNS: &'static str =
        "id, instance_id, browser_hash, identifier, status, created_session_id, created_at, \
         expires_at";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(&self.instance_id)
            .bind(&self.browser_hash)
            .bind(&self.identifier)
            .bind(self.status.as_str())
            .bind(&self.created_session_id)
            .bind(self.created_at)
            .bind(self.expires_at)
    }
}

#[async_trait]
impl SignInStore for SqlStore {
    async fn put_sign_in(&self, attempt: &SignInAttempt) -> R<()> {
        self.insert(attempt).await
    }

    async fn sign_in_attempt(&self, instance_id: &str, id: &str) -> R<Option<SignInAttempt>> {
        let sql = select::<SignInAttempt>("WHERE instance_id = $1 AND id = $2");
        let q = sqlx::query(&sql).bind(instance_id).bind(id);
        self.fetch_optional(q).await
    }

    async fn complete_sign_in(
        &self,
        instance_id: &str,
        id: &str,
        now: Millis,
        retired: Option<&str>,
        client: &Client,
        session: &Session,
        fapi_host: &str,
        token_hash: &str,
    ) -> R<bool> {
        let mut tx = self.write(&client_lock(retired, client)).await?;
        // Row-locked by the UPDATE: a racing completion waits, then finds the status changed.
        let done = sqlx::query(
            "UPDATE sign_in_attempts SET status = 'complete', created_session_id = $1 \
             WHERE instance_id = $2 AND id = $3 AND status = 'needs_first_factor' \
             AND expires_at > $4",
        )
        .bind(&session.id)
        .bind(instance_id)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        start_session_in(
            &mut tx, retired, None, client, session, fapi_host, token_hash,
        )
        .await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn prune_sign_ins(&self, now: Millis) -> R<u64> {
        let q = sqlx::query("DELETE FROM sign_in_attempts WHERE expires_at <= $1").bind(now);
        self.execute(q).await
    }
}
