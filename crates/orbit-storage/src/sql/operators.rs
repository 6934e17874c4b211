//! `OperatorStore`: the dashboard's operators, their sessions, the setup links and the audit
//! log. Creating an operator, by the command line or a setup link, is one transaction under
//! the `orbit operators` lock, so a setup link redeemed while another operator is created (or
//! another link redeemed) sees it and creates none.

use super::{backend, get, insert_in, select, FromRow, IntoRow, Query, Row, SqlStore, R};
use async_trait::async_trait;
use orbit_core::clock::Millis;
use orbit_core::model::*;
use orbit_core::store::*;

plain_row!(Operator in "operators": id, email, password_hash, created_at, last_sign_in_at);

plain_row!(OperatorSession in "operator_sessions":
    id, operator_id, token_hash, created_at, last_active_at, expires_at, ended_at, user_agent,
);

plain_row!(OperatorSetupToken in "operator_setup_tokens": token_hash, expires_at, used_at);

/// The audit log's columns but `seq`, which the store gives: SQLite's implicit `rowid`, and
/// PostgreSQL's identity column of that name.
impl IntoRow for AuditEntry {
    const TABLE: &'static str = "audit_log";
    const COLUMNS: &'static str =
        "id, at, operator_id, operator_email, action, target, instance_id, detail";
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q> {
        query
            .bind(&self.id)
            .bind(self.at)
            .bind(&self.operator_id)
            .bind(&self.operator_email)
            .bind(&self.action)
            .bind(&self.target)
            .bind(&self.instance_id)
            .bind(&self.detail)
    }
}

impl FromRow for AuditEntry {
    fn from_row(row: &Row) -> R<Self> {
        Ok(AuditEntry {
            id: get(row, "id")?,
            seq: get(row, "seq")?,
            at: get(row, "at")?,
            operator_id: get(row, "operator_id")?,
            operator_email: get(row, "operator_email")?,
            action: get(row, "action")?,
            target: get(row, "target")?,
            instance_id: get(row, "instance_id")?,
            detail: get(row, "detail")?,
        })
    }
}

impl SqlStore {
    /// The audit log newest first: before the entry `before`, about `instance`, when given;
    /// `offset` entries skipped, at most `limit`.
    async fn audit_entries(
        &self,
        before: Option<i64>,
        instance: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> R<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT rowid AS seq, {} FROM audit_log \
             WHERE rowid < $1 AND ($2 IS NULL OR instance_id = $2) \
             ORDER BY rowid DESC LIMIT $3 OFFSET $4",
            AuditEntry::COLUMNS
        );
        let q = sqlx::query(&sql)
            .bind(before.unwrap_or(i64::MAX))
            .bind(instance)
            .bind(i64::from(limit))
            .bind(i64::from(offset));
        self.fetch_all(q).await
    }
}

/// The lock every operator creation takes (`SqlStore::write`).
const OPERATORS_LOCK: &str = "orbit operators";

#[async_trait]
impl OperatorStore for SqlStore {
    async fn create_operator(&self, operator: &Operator, audit: &AuditEntry) -> R<()> {
        let mut tx = self.write(OPERATORS_LOCK).await?;
        insert_in(&mut tx, operator).await?;
        insert_in(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)
    }

    async fn operator(&self, id: &str) -> R<Option<Operator>> {
        let sql = select::<Operator>("WHERE id = $1");
        self.fetch_optional(sqlx::query(&sql).bind(id)).await
    }

    async fn operator_by_email(&self, email: &str) -> R<Option<Operator>> {
        let sql = select::<Operator>("WHERE email = $1");
        self.fetch_optional(sqlx::query(&sql).bind(email)).await
    }

    async fn list_operators(&self) -> R<Vec<Operator>> {
        let sql = select::<Operator>("ORDER BY created_at, id");
        self.fetch_all(sqlx::query(&sql)).await
    }

    async fn count_operators(&self) -> R<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn record_operator_sign_in(&self, id: &str, at: Millis) -> R<()> {
        let q = sqlx::query("UPDATE operators SET last_sign_in_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id);
        self.execute(q).await.map(drop)
    }

    async fn create_operator_session(&self, session: &OperatorSession) -> R<()> {
        self.insert(session).await
    }

    async fn live_operator_session(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> R<Option<OperatorSession>> {
        let sql = select::<OperatorSession>(
            "WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2",
        );
        self.fetch_optional(sqlx::query(&sql).bind(token_hash).bind(now))
            .await
    }

    async fn operator_sessions(&self, operator_id: &str, now: Millis) -> R<Vec<OperatorSession>> {
        let sql = select::<OperatorSession>(
            "WHERE operator_id = $1 AND ended_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC",
        );
        self.fetch_all(sqlx::query(&sql).bind(operator_id).bind(now))
            .await
    }

    async fn touch_operator_session(&self, id: &str, at: Millis) -> R<()> {
        let q = sqlx::query("UPDATE operator_sessions SET last_active_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id);
        self.execute(q).await.map(drop)
    }

    async fn end_operator_session(&self, operator_id: &str, id: &str, at: Millis) -> R<bool> {
        let q = sqlx::query(
            "UPDATE operator_sessions SET ended_at = $1 \
             WHERE id = $2 AND operator_id = $3 AND ended_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .bind(operator_id);
        Ok(self.execute(q).await? > 0)
    }

    async fn put_setup_token(&self, token: &OperatorSetupToken) -> R<()> {
        self.insert(token).await
    }

    async fn setup_token(&self, token_hash: &str) -> R<Option<OperatorSetupToken>> {
        let sql = select::<OperatorSetupToken>("WHERE token_hash = $1");
        self.fetch_optional(sqlx::query(&sql).bind(token_hash))
            .await
    }

    async fn redeem_setup_token(
        &self,
        token_hash: &str,
        now: Millis,
        operator: &Operator,
        audit: &AuditEntry,
    ) -> R<bool> {
        let mut tx = self.write(OPERATORS_LOCK).await?;
        // Under the lock: an operator created meanwhile is seen here.
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operators")
            .fetch_one(&mut *tx)
            .await
            .map_err(backend)?;
        if existing > 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        let spent = sqlx::query(
            "UPDATE operator_setup_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        if spent.rows_affected() == 0 {
            tx.rollback().await.map_err(backend)?;
            return Ok(false);
        }
        insert_in(&mut tx, operator).await?;
        insert_in(&mut tx, audit).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn record_audit(&self, entry: &AuditEntry) -> R<()> {
        self.insert(entry).await
    }

    async fn audit_log(&self, before: Option<i64>, limit: u32) -> R<Vec<AuditEntry>> {
        self.audit_entries(before, None, 0, limit).await
    }

    async fn audit_log_of(
        &self,
        instance: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> R<Vec<AuditEntry>> {
        self.audit_entries(None, instance, offset, limit).await
    }

    async fn prune_operator_state(&self, before: Millis) -> R<u64> {
        let mut pruned = 0;
        for sql in [
            "DELETE FROM operator_sessions \
             WHERE (ended_at IS NOT NULL AND ended_at < $1) OR expires_at < $1",
            "DELETE FROM operator_setup_tokens \
             WHERE (used_at IS NOT NULL AND used_at < $1) OR expires_at < $1",
        ] {
            pruned += self.execute(sqlx::query(sql).bind(before)).await?;
        }
        Ok(pruned)
    }
}
