//! `LimitStore`: the sign-in rate limits' state, shared by every node on the database.

use super::{backend, dialect, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::limits::{AccountPace, Admission, Micros, RateLimit};
use orbit_core::store::*;
use std::collections::BTreeMap;

/// `RateLimit::take` as one statement: a new bucket is inserted admitted; an existing one moves
/// its arrival time only where the take is admitted, and returns no row where it is not. The
/// upsert locks the row it updates and evaluates its `WHERE` on the newest version (PostgreSQL
/// under read committed too), so racing takes on one bucket run one after the other.
fn take_token_sql() -> String {
    let from = format!("{}(rate_limits.tat, $3)", dialect::GREATEST);
    format!(
        "INSERT INTO rate_limits (instance_id, bucket, tat) VALUES ($1, $2, $3 + $4) \
         ON CONFLICT (instance_id, bucket) DO UPDATE SET tat = {from} + $4 \
         WHERE {from} - $3 <= $5 \
         RETURNING tat"
    )
}

#[async_trait]
impl LimitStore for SqlStore {
    async fn take_token(
        &self,
        instance_id: &str,
        bucket: &str,
        limit: RateLimit,
        now: Micros,
    ) -> R<Admission> {
        let admitted: Option<Micros> = sqlx::query_scalar(&take_token_sql())
            .bind(instance_id)
            .bind(bucket)
            .bind(now)
            .bind(limit.interval)
            .bind(limit.tolerance)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        if admitted.is_some() {
            return Ok(Admission::Admitted);
        }
        // Refused: the wait follows from the arrival time that refused it. Read apart from the
        // take, so it may be a later one; the wait is advice, the take above was the decision.
        let tat: Option<Micros> = sqlx::query_scalar(
            "SELECT tat FROM rate_limits WHERE instance_id = $1 AND bucket = $2",
        )
        .bind(instance_id)
        .bind(bucket)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(Admission::Wait(limit.retry_after(tat.unwrap_or(now), now)))
    }

    async fn pace_account_attempt(
        &self,
        instance_id: &str,
        identifier: &str,
        source: &str,
        newest_failure: Millis,
        pace: Millis,
        now: Millis,
    ) -> R<Admission> {
        // Read, decide and write under the account's lock: racing attempts on the account, on
        // any node, each see the slots the ones before them took.
        let key = format!("orbit sign-in pacing {instance_id} {identifier}");
        let mut tx = self.write(&key).await?;
        let row: Option<(Millis, String)> = sqlx::query_as(
            "SELECT next_free, held FROM account_pacing WHERE instance_id = $1 AND identifier = $2",
        )
        .bind(instance_id)
        .bind(identifier)
        .fetch_optional(&mut *tx)
        .await
        .map_err(backend)?;
        let mut state = match row {
            Some((next_free, held)) => AccountPace {
                next_free,
                held: serde_json::from_str::<BTreeMap<String, Millis>>(&held)
                    .map_err(|e| StoreError::Backend(format!("account_pacing.held: {e}")))?,
            },
            None => AccountPace::default(),
        };
        let admission = state.admit(source, newest_failure, pace, now);
        let drained_at = state.drained_at(pace);
        if drained_at <= now {
            sqlx::query("DELETE FROM account_pacing WHERE instance_id = $1 AND identifier = $2")
                .bind(instance_id)
                .bind(identifier)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        } else {
            let held = serde_json::to_string(&state.held)
                .map_err(|e| StoreError::Backend(format!("account_pacing.held: {e}")))?;
            sqlx::query(
                "INSERT INTO account_pacing (instance_id, identifier, next_free, held, drained_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (instance_id, identifier) DO UPDATE SET next_free = excluded.next_free, \
                 held = excluded.held, drained_at = excluded.drained_at",
            )
            .bind(instance_id)
            .bind(identifier)
            .bind(state.next_free)
            .bind(held)
            .bind(drained_at)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(admission)
    }

    async fn prune_limits(&self, now: Millis) -> R<u64> {
        let buckets =
            sqlx::query("DELETE FROM rate_limits WHERE tat <= $1").bind(now.saturating_mul(1000));
        let paces = sqlx::query("DELETE FROM account_pacing WHERE drained_at <= $1").bind(now);
        Ok(self.execute(buckets).await? + self.execute(paces).await?)
    }
}
