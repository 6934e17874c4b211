//! `AttemptStore`: failed sign-in attempts, by account and source.

use super::{backend, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::store::*;

#[async_trait]
impl AttemptStore for SqlStore {
    async fn start_sign_in_attempt(
        &self,
        instance_id: &str,
        identifier: &str,
        source: &str,
        at: Millis,
        since: Millis,
    ) -> R<(SignInAttemptId, Vec<FailedSignIn>)> {
        // The account's lock is taken first, so every row the count then sees was committed
        // before this attempt, and no racing attempt on the account commits until this one has
        // counted.
        let key = format!("orbit sign-in attempts {instance_id} {identifier}");
        let mut tx = self.write(&key).await?;
        let id: SignInAttemptId = sqlx::query_scalar(
            "INSERT INTO failed_sign_ins (instance_id, identifier, source, at) VALUES ($1, $2, $3, $4) RETURNING rowid",
        )
        .bind(instance_id)
        .bind(identifier)
        .bind(source)
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
        let earlier: Vec<(Millis, String)> = sqlx::query_as(
            "SELECT at, source FROM failed_sign_ins WHERE instance_id = $1 AND identifier = $2 AND at > $3 AND rowid <> $4 ORDER BY at, rowid",
        )
        .bind(instance_id)
        .bind(identifier)
        .bind(since)
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let earlier = earlier
            .into_iter()
            .map(|(at, source)| FailedSignIn { at, source })
            .collect();
        Ok((id, earlier))
    }

    async fn forget_sign_in_attempt(&self, id: SignInAttemptId) -> R<()> {
        let q = sqlx::query("DELETE FROM failed_sign_ins WHERE rowid = $1").bind(id);
        self.execute(q).await?;
        Ok(())
    }

    async fn prune_failed_sign_ins(&self, before: Millis) -> R<u64> {
        let q = sqlx::query("DELETE FROM failed_sign_ins WHERE at < $1").bind(before);
        self.execute(q).await
    }
}
