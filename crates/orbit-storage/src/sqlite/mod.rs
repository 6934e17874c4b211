//! SQLite adapter: the embedded default. One file in the data directory, WAL journal, so the CLI
//! can read and write while `orbit serve` runs.
//!
//! One file per store trait (`instances`, `users`, `sessions`, `attempts`, `handshakes`); this
//! module holds the pool, its start-up (WAL, checkpointer, migrations) and the row helpers they
//! share. Queries use `$N` placeholders, which sqlx accepts for SQLite and PostgreSQL alike.

/// `FromRow` and `IntoRow` for a model whose fields are the columns of `$table`, under the same
/// names and read and bound as they are: what `#[derive(sqlx::FromRow)]` would give, were the
/// models allowed to know sqlx. The field list is written once; its struct literal must name
/// every field, so no field can be left out of the row.
macro_rules! plain_row {
    ($model:ident in $table:literal: $first:ident $(, $field:ident)* $(,)?) => {
        impl super::FromRow for $model {
            fn from_row(row: &sqlx::sqlite::SqliteRow) -> super::R<Self> {
                Ok($model {
                    $first: super::get(row, stringify!($first))?,
                    $($field: super::get(row, stringify!($field))?,)*
                })
            }
        }

        impl super::IntoRow for $model {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
            fn bind<'q>(&'q self, query: super::Query<'q>) -> super::Query<'q> {
                query.bind(&self.$first)$(.bind(&self.$field))*
            }
        }
    };
}

mod attempts;
mod handshakes;
mod instances;
mod migrations;
mod sessions;
mod sign_ups;
mod users;

use orbit_core::store::StoreError;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, Row, Sqlite, SqliteConnection, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

fn backend(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
    }
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies pending migrations.
    ///
    /// Several processes may open one file at once (`orbit serve` and the CLI, or two servers
    /// on a fresh data directory): migrations run on a connection of their own, under the
    /// write lock, before the pool opens, so no pooled connection holds a statement prepared
    /// against an older schema.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
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
        let mut conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(backend)?;
        migrate(&mut conn).await?;
        conn.close().await.map_err(backend)?;
        let pool = Self::pool(4).connect_with(options).await.map_err(backend)?;
        Ok(Self { pool })
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
        migrate(&mut conn).await?;
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

    /// A write transaction that holds the write lock from its start (`BEGIN IMMEDIATE`),
    /// waiting for it up to the busy timeout. A deferred transaction that reads first and
    /// writes later fails at once with "database is locked" when another connection wrote in
    /// between; every multi-statement write here uses this instead.
    async fn write(&self) -> R<sqlx::Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)
    }

    /// The number of rows in each table, by table name: for operators and for tests that check
    /// that a request stored nothing.
    pub async fn row_counts(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let mut counts = std::collections::BTreeMap::new();
        for table in tables {
            let sql = format!("SELECT COUNT(*) FROM \"{}\"", table.replace('"', "\"\""));
            let n: i64 = sqlx::query_scalar(&sql)
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
            counts.insert(table, n);
        }
        Ok(counts)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

type R<T> = Result<T, StoreError>;

/// Applies pending migrations in one transaction that holds the write lock from its start, so
/// of several processes opening one fresh database, one migrates and the others wait for it and
/// then find nothing left to do.
async fn migrate(conn: &mut SqliteConnection) -> R<()> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for (version, sql) in migrations::MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, strftime('%s','now'))",
        )
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        tracing::info!(version, "applied SQLite migration");
    }
    tx.commit().await.map_err(backend)
}

/// A query with its bound arguments, as `sqlx::query` builds it.
type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// A model read back from a row, written once per model.
trait FromRow: Sized {
    fn from_row(row: &SqliteRow) -> R<Self>;
}

/// A model written as one row of `TABLE`, written once per model: `bind` binds the values of
/// `COLUMNS` (comma-separated), in order.
trait IntoRow: Sync {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn bind<'q>(&'q self, query: Query<'q>) -> Query<'q>;
}

/// `INSERT INTO table (a, b, ..) VALUES ($1, $2, ..)` for `T`'s columns.
fn insert_sql<T: IntoRow>() -> String {
    let count = T::COLUMNS.split(',').count();
    let placeholders: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        T::TABLE,
        T::COLUMNS,
        placeholders.join(", ")
    )
}

/// `T`'s columns, each prefixed with `alias.` (for joins). Queries name their columns rather
/// than `SELECT *`, so what a row holds never depends on when its statement was prepared.
fn columns_of<T: IntoRow>(alias: &str) -> String {
    T::COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SELECT <T's columns> FROM <T's table> <rest>`.
fn select<T: IntoRow>(rest: &str) -> String {
    format!("SELECT {} FROM {} {rest}", T::COLUMNS, T::TABLE)
}

impl SqliteStore {
    /// Runs a statement; returns how many rows it changed.
    async fn execute(&self, query: Query<'_>) -> R<u64> {
        let done = query.execute(&self.pool).await.map_err(backend)?;
        Ok(done.rows_affected())
    }

    /// Inserts `row` into its table.
    async fn insert<T: IntoRow>(&self, row: &T) -> R<()> {
        let sql = insert_sql::<T>();
        self.execute(row.bind(sqlx::query(&sql))).await?;
        Ok(())
    }

    async fn fetch_optional<T: FromRow>(&self, query: Query<'_>) -> R<Option<T>> {
        let row = query.fetch_optional(&self.pool).await.map_err(backend)?;
        row.as_ref().map(T::from_row).transpose()
    }

    async fn fetch_all<T: FromRow>(&self, query: Query<'_>) -> R<Vec<T>> {
        let rows = query.fetch_all(&self.pool).await.map_err(backend)?;
        rows.iter().map(T::from_row).collect()
    }
}

/// Inserts `row` into its table inside the transaction `tx`.
async fn insert_in<T: IntoRow>(tx: &mut sqlx::SqliteConnection, row: &T) -> R<()> {
    let sql = insert_sql::<T>();
    row.bind(sqlx::query(&sql))
        .execute(tx)
        .await
        .map_err(backend)?;
    Ok(())
}

fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(
    row: &'r SqliteRow,
    col: &str,
) -> R<T> {
    row.try_get(col).map_err(backend)
}

/// A text column holding one of an enum's names; `what` names the enum in the error.
fn get_enum<T>(row: &SqliteRow, col: &str, what: &str, parse: fn(&str) -> Option<T>) -> R<T> {
    let s: String = get(row, col)?;
    parse(&s).ok_or_else(|| StoreError::Backend(format!("unknown {what} {s}")))
}

/// Lists of strings are stored as JSON arrays.
fn json_array(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}
