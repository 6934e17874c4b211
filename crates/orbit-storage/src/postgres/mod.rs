//! PostgreSQL adapter: for several `orbit serve` nodes on one database. The store traits'
//! queries are shared with SQLite (`../sql/`, compiled here as `sql`); this module holds the
//! pool, its settings and PostgreSQL's `dialect`.

use orbit_core::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::str::FromStr;
use std::time::Duration;

pub(crate) mod migrations;
pub mod scratch;
// The shared queries, compiled once per adapter on purpose (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use sql::backend;

/// The names the shared queries in `sql` are compiled against.
type Db = sqlx::Postgres;
type Row = sqlx::postgres::PgRow;
type Conn = PgConnection;
type SqlStore = PgStore;

/// What PostgreSQL says differently from SQLite.
mod dialect {
    use super::{backend, Conn, StoreError};

    pub const NAME: &str = "postgres";
    /// Read committed, with the transaction's lock taken by `lock` as its first statement.
    pub const BEGIN_WRITE: &str = "BEGIN";
    pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)";
    pub const NOW_SECONDS: &str = "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)";
    /// The larger of its arguments (`max` is only the aggregate here).
    pub const GREATEST: &str = "GREATEST";
    pub const LIST_TABLES: &str =
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()";
    pub use super::migrations::MIGRATIONS;

    /// A transaction-scoped advisory lock on `key` (hashed to 64 bits), released at commit or
    /// rollback; concurrent transactions under the same key run one after the other, on
    /// every node sharing the database.
    pub async fn lock(tx: &mut Conn, key: &str) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(tx)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// A transaction holding the advisory lock on `key` while it lives; dropping it rolls back
    /// (sqlx does so when the connection goes back to the pool), which releases the lock. So a
    /// node that dies mid-round frees it with its connection.
    struct Round(#[allow(dead_code)] sqlx::Transaction<'static, sqlx::Postgres>);
    impl orbit_core::store::RoundGuard for Round {}

    /// Takes the advisory lock on `key` unless another session holds it.
    pub async fn try_round(
        pool: &sqlx::PgPool,
        key: &str,
    ) -> Result<Option<Box<dyn orbit_core::store::RoundGuard>>, StoreError> {
        let mut tx = pool.begin().await.map_err(backend)?;
        let taken: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
        Ok(taken.then(|| Box::new(Round(tx)) as Box<dyn orbit_core::store::RoundGuard>))
    }
}

/// Connections in the pool unless the configuration says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// How a [`PgStore`] connects.
#[derive(Debug, Clone, Copy)]
pub struct PgSettings {
    pub pool_size: u32,
    /// The server cancels any statement (a lock wait included) running longer; also how long a
    /// request waits for a pooled connection or a new one.
    pub statement_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            pool_size: DEFAULT_POOL_SIZE,
            statement_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, sqlx's parameters such
    /// as `?options=-c search_path=...` included), applies pending migrations and opens the pool.
    ///
    /// Migrations run on a connection of their own, in one transaction that first takes an
    /// advisory lock: of several nodes starting together on a fresh database, one migrates and
    /// the others wait, then find nothing to do.
    pub async fn open(url: &str, settings: PgSettings) -> Result<Self, StoreError> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(backend)?
            .options([("statement_timeout", timeout_ms.as_str())]);
        let mut conn = tokio::time::timeout(settings.statement_timeout, options.connect())
            .await
            .map_err(|_| StoreError::Backend("timed out connecting".into()))?
            .map_err(backend)?;
        sql::migrate(&mut conn).await?;
        conn.close().await.map_err(backend)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.pool_size.max(1))
            .acquire_timeout(settings.statement_timeout)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self { pool })
    }
}
