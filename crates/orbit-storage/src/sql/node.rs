//! `NodeStore`: readiness and cluster-wide rounds, for server nodes sharing the database.

use super::{backend, dialect, SqlStore, R};
use async_trait::async_trait;
use orbit_core::store::{NodeStore, Readiness, RoundGuard};

#[async_trait]
impl NodeStore for SqlStore {
    async fn readiness(&self) -> R<Readiness> {
        // `MIGRATIONS_TABLE` exists once the first migration ran; before, the query fails and
        // the store is not ready either.
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        let applied = applied.unwrap_or(0);
        let known = dialect::MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0);
        Ok(if applied >= known {
            Readiness::Ready
        } else {
            Readiness::MigrationsPending { applied, known }
        })
    }

    async fn try_round(&self, round: &str) -> R<Option<Box<dyn RoundGuard>>> {
        dialect::try_round(&self.pool, round).await
    }
}
