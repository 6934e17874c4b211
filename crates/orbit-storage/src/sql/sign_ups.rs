//! `SignUpStore`: sign-ups waiting for their emailed code. Claiming an attempt and consuming
//! are one statement each (`UPDATE .. RETURNING`, `DELETE .. RETURNING`): SQLite's single
//! writer makes them atomic.

use super::{select, IntoRow, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

plain_row!(PendingSignUp in "pending_sign_ups":
    id, token_hash, instance_id, email, first_name, last_name, password_hash, code_hash, attempts as i64,
    created_at, expires_at,
);

#[async_trait]
impl SignUpStore for SqlStore {
    async fn put_pending_sign_up(&self, pending: &PendingSignUp) -> R<()> {
        self.insert(pending).await
    }

    async fn claim_sign_up_attempt(
        &self,
        instance_id: &str,
        token_hash: &str,
        now: Millis,
        max_attempts: u32,
    ) -> R<Option<PendingSignUp>> {
        let sql = format!(
            "UPDATE pending_sign_ups SET attempts = attempts + 1 \
             WHERE token_hash = $1 AND instance_id = $2 AND expires_at > $3 AND attempts < $4 \
             RETURNING {}",
            PendingSignUp::COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(token_hash)
            .bind(instance_id)
            .bind(now)
            .bind(i64::from(max_attempts));
        self.fetch_optional(q).await
    }

    async fn pending_sign_up(
        &self,
        instance_id: &str,
        token_hash: &str,
    ) -> R<Option<PendingSignUp>> {
        let sql = select::<PendingSignUp>("WHERE token_hash = $1 AND instance_id = $2");
        let q = sqlx::query(&sql).bind(token_hash).bind(instance_id);
        self.fetch_optional(q).await
    }

    async fn renew_pending_sign_up(
        &self,
        instance_id: &str,
        token_hash: &str,
        code_hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> R<Option<PendingSignUp>> {
        let sql = format!(
            "UPDATE pending_sign_ups SET \
               code_hash = CASE WHEN code_hash = '' THEN '' ELSE $1 END, \
               attempts = 0, expires_at = $2 \
             WHERE token_hash = $3 AND instance_id = $4 AND expires_at > $5 \
             RETURNING {}",
            PendingSignUp::COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(code_hash)
            .bind(expires_at)
            .bind(token_hash)
            .bind(instance_id)
            .bind(now);
        self.fetch_optional(q).await
    }

    async fn take_pending_sign_up(&self, instance_id: &str, token_hash: &str) -> R<bool> {
        let q = sqlx::query(
            "DELETE FROM pending_sign_ups WHERE token_hash = $1 AND instance_id = $2 \
             RETURNING token_hash",
        )
        .bind(token_hash)
        .bind(instance_id);
        Ok(self.execute(q).await? > 0)
    }

    async fn prune_pending_sign_ups(&self, now: Millis) -> R<u64> {
        let q = sqlx::query("DELETE FROM pending_sign_ups WHERE expires_at <= $1").bind(now);
        self.execute(q).await
    }
}
