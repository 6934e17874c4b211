//! SQLite adapter: the embedded default. One file in the data directory, WAL journal, so the CLI
//! can read and write while `orbit serve` runs.
//!
//! The store traits' queries are shared with PostgreSQL (`../sql/`, compiled here as `sql`);
//! this module holds the pool, its start-up (WAL, checkpointer, migrations) and SQLite's
//! `dialect`.

use orbit_core::store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

mod migrations;
// The shared queries, compiled once per adapter on purpose (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use sql::backend;

/// The names the shared queries in `sql` are compiled against.
type Db = sqlx::Sqlite;
type Row = sqlx::sqlite::SqliteRow;
type Conn = SqliteConnection;
type SqlStore = SqliteStore;

/// What SQLite says differently from PostgreSQL.
mod dialect {
    use super::{Conn, StoreError};

    pub const NAME: &str = "sqlite";
    /// SQLite has one writer: a write transaction takes the database's write lock at its start,
    /// waiting up to the busy timeout. A deferred transaction that reads first and writes later
    /// fails at once with "database is locked" when another connection wrote in between.
    pub const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
    pub const NOW_SECONDS: &str = "strftime('%s','now')";
    /// The larger of its arguments (SQLite's scalar `max` with two or more arguments).
    pub const GREATEST: &str = "MAX";
    pub const LIST_TABLES: &str =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
    pub use super::migrations::MIGRATIONS;

    /// `BEGIN IMMEDIATE` already holds the one write lock, whatever the key.
    pub async fn lock(_tx: &mut Conn, _key: &str) -> Result<(), StoreError> {
        Ok(())
    }

    struct Round;
    impl orbit_core::store::RoundGuard for Round {}

    /// One process owns a SQLite file's server: every round is its own.
    pub async fn try_round(
        _pool: &sqlx::SqlitePool,
        _key: &str,
    ) -> Result<Option<Box<dyn orbit_core::store::RoundGuard>>, StoreError> {
        Ok(Some(Box::new(Round)))
    }
}

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections in a file database's pool unless the configuration says otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 4;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations, with
    /// [`DEFAULT_POOL_SIZE`] connections.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, DEFAULT_POOL_SIZE).await
    }

    /// Opens (creating if needed) the database file with `pool_size` connections and applies
    /// pending migrations.
    ///
    /// Several processes may open one file at once (`orbit serve` and the CLI, or two servers
    /// on a fresh data directory): migrations run on a connection of their own, under the
    /// write lock, before the pool opens, so no pooled connection holds a statement prepared
    /// against an older schema.
    pub async fn open_with(path: &Path, pool_size: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // After a checkpoint, shrink the WAL file back to at most 64 MiB.
            .pragma("journal_size_limit", "67108864")
            // Connections do not checkpoint on commit; the server's checkpointer does, alone.
            // When every connection may checkpoint, under constant concurrent writes each
            // attempt finds the lock held by another and the WAL grows by gigabytes.
            .pragma("wal_autocheckpoint", "0");
        Self::prepare(&options).await?;
        let pool = Self::pool(pool_size.max(1))
            .connect_with(options)
            .await
            .map_err(backend)?;
        Ok(Self { pool })
    }

    /// The first connection: switches a new file to WAL and applies pending migrations. Two
    /// processes creating one file at once can meet SQLite's busy answer where its busy handler
    /// does not wait (the switch of a fresh file to WAL takes the file's exclusive lock), so a
    /// "database is locked" here is retried for up to the busy timeout; the migrations are one
    /// transaction, so a retry never finds them half done.
    async fn prepare(options: &SqliteConnectOptions) -> Result<(), StoreError> {
        const PAUSE: Duration = Duration::from_millis(50);
        let tries = BUSY_TIMEOUT.as_millis() / PAUSE.as_millis();
        let mut tried = 0;
        loop {
            let attempt = async {
                let mut conn = SqliteConnection::connect_with(options)
                    .await
                    .map_err(backend)?;
                sql::migrate(&mut conn).await?;
                conn.close().await.map_err(backend)
            };
            match attempt.await {
                Err(e) if e.to_string().contains("database is locked") && tried < tries => {
                    tried += 1;
                    tokio::time::sleep(PAUSE).await;
                }
                other => return other,
            }
        }
    }

    /// The only checkpointer, for the long-running server (a CLI command leaves the WAL to the
    /// server, or to SQLite when the last connection closes): once a second a truncating
    /// checkpoint moves the WAL into the database and resets it. It waits (busy timeout) for
    /// in-flight transactions, which are short; when it still finds the lock busy it retries on
    /// the next tick.
    pub fn spawn_checkpointer(&self) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!("SQLite checkpoint failed: {e}");
                }
            }
        });
    }

    /// Checkpoints the WAL into the database file now.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// A private in-memory database, for unit tests of the adapter. Its one connection is the
    /// database, so migrations run on it.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend)?
            .foreign_keys(true);
        let pool = Self::pool(1).connect_with(options).await.map_err(backend)?;
        let mut conn = pool.acquire().await.map_err(backend)?;
        sql::migrate(&mut conn).await?;
        drop(conn);
        Ok(Self { pool })
    }

    fn pool(max: u32) -> SqlitePoolOptions {
        SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    }
}
