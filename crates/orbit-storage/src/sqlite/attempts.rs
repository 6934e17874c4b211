//! `AttemptStore`: failed sign-in attempts.

use super::{backend, SqliteStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::store::*;

#[async_trait]
impl AttemptStore for SqliteStore {
    async fn record_failed_sign_in(
        &self,
        instance_id: &str,
        identifier: &str,
        at: Millis,
    ) -> R<()> {
        let q = sqlx::query(
            "INSERT INTO failed_sign_ins (instance_id, identifier, at) VALUES ($1, $2, $3)",
        )
        .bind(instance_id)
        .bind(identifier)
        .bind(at);
        self.execute(q).await?;
        Ok(())
    }

    async fn failed_sign_ins_since(
        &self,
        instance_id: &str,
        identifier: &str,
        since: Millis,
    ) -> R<Vec<Millis>> {
        sqlx::query_scalar(
            "SELECT at FROM failed_sign_ins WHERE instance_id = $1 AND identifier = $2 AND at > $3 ORDER BY at",
        )
        .bind(instance_id)
        .bind(identifier)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)
    }

    async fn prune_failed_sign_ins(&self, before: Millis) -> R<u64> {
        let q = sqlx::query("DELETE FROM failed_sign_ins WHERE at < $1").bind(before);
        self.execute(q).await
    }
}
