//! The store traits implemented once, in the SQL that SQLite and PostgreSQL agree on: `$N`
//! placeholders, `INSERT .. ON CONFLICT .. DO UPDATE`, `DELETE/UPDATE .. RETURNING`,
//! `IS NOT DISTINCT FROM`, named columns.
//!
//! This directory is not a module of its own: each adapter compiles it as its child
//! (`#[path = "../sql/mod.rs"] mod sql;` in `sqlite/mod.rs` and `postgres/mod.rs`), against the
//! names its parent defines: `Db` (the sqlx database), `Row`, `Conn`, `SqlStore` (the adapter's
//! store type, holding `pool`) and `dialect`, the few things the dialects say differently (how a
//! write transaction begins and takes its lock, the migrations, the name of the two-argument
//! maximum). So every query is written once
//! and type-checked against both drivers, with no generic bounds to carry.
//!
//! One file per store trait (`instances`, `users`, `sessions`, `attempts`, `limits`,
//! `handshakes`, `sign_ups`, `sign_ins`, `operators`, `node`); this module holds the row
//! helpers they share and the migration runner.

/// `FromRow` and `IntoRow` for a model whose fields are the columns of `$table`, under the same
/// names: what `#[derive(sqlx::FromRow)]` would give, were the models allowed to know sqlx. The
/// field list is written once; its struct literal must name every field, so no field can be
/// left out of the row. `field as i64` stores a field through `i64` (PostgreSQL has no unsigned
/// integers).
macro_rules! plain_row {
    ($model:ident in $table:literal:
        $first:ident $(as $first_via:ty)? $(, $field:ident $(as $via:ty)?)* $(,)?) => {
        impl super::FromRow for $model {
            fn from_row(row: &super::Row) -> super::R<Self> {
                Ok($model {
                    $first: plain_row!(@get row, $first $(, $first_via)?),
                    $($field: plain_row!(@get row, $field $(, $via)?),)*
                })
            }
        }

        impl super::IntoRow for $model {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str = concat!(stringify!($first) $(, ", ", stringify!($field))*);
            fn bind<'q>(&'q self, query: super::Query<'q>) -> super::Query<'q> {
                let query = plain_row!(@bind query, self, $first $(, $first_via)?);
                $(let query = plain_row!(@bind query, self, $field $(, $via)?);)*
                query
            }
        }
    };
    (@get $row:ident, $field:ident) => {
        super::get($row, stringify!($field))?
    };
    (@get $row:ident, $field:ident, $via:ty) => {
        super::get_via::<$via, _>($row, stringify!($field))?
    };
    (@bind $query:ident, $self:ident, $field:ident) => {
        $query.bind(&$self.$field)
    };
    (@bind $query:ident, $self:ident, $field:ident, $via:ty) => {
        $query.bind(<$via>::from($self.$field))
    };
}

mod attempts;
mod handshakes;
mod instances;
mod limits;
mod node;
mod operators;
mod sessions;
mod sign_ins;
mod sign_ups;
mod users;

use super::{dialect, Conn, Db, Row, SqlStore};
use orbit_core::store::StoreError;
use sqlx::{Connection, Executor as _, Row as _};

type R<T> = Result<T, StoreError>;

pub(super) fn backend(e: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match &e {
        E::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        // SQLSTATE class 08 (connection exception), 57P01-57P03 (the server shutting down or
        // starting), 57014 (a statement cancelled by `statement_timeout`).
        E::Database(db)
            if db.code().is_some_and(|c| {
                c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "57014")
            }) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Applies pending migrations in one transaction that first takes the migration lock
/// (`dialect::lock`), so of several processes opening one fresh database, one migrates and the
/// others wait for it and then find nothing left to do.
pub(super) async fn migrate(conn: &mut Conn) -> R<()> {
    let mut tx = conn
        .begin_with(dialect::BEGIN_WRITE)
        .await
        .map_err(backend)?;
    dialect::lock(&mut tx, "orbit schema migrations").await?;
    sqlx::query(dialect::MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    let done: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await
        .map_err(backend)?;
    for &(version, sql) in dialect::MIGRATIONS {
        if done.contains(&version) {
            continue;
        }
        // Through `Executor::execute`: `RawSql::execute`'s future is not `Send`.
        tx.execute(sqlx::raw_sql(sql)).await.map_err(backend)?;
        let record = format!(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, {})",
            dialect::NOW_SECONDS
        );
        sqlx::query(&record)
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tracing::info!(version, dialect = dialect::NAME, "applied migration");
    }
    tx.commit().await.map_err(backend)
}

/// A query with its bound arguments, as `sqlx::query` builds it.
type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// A model read back from a row, written once per model.
trait FromRow: Sized {
    fn from_row(row: &Row) -> R<Self>;
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

impl SqlStore {
    /// A write transaction that holds, from its start, the lock named `key`: the database's
    /// one write lock in SQLite (`BEGIN IMMEDIATE`, waiting up to the busy timeout), a
    /// transaction-scoped advisory lock on `key` in PostgreSQL. A transaction that reads first
    /// and writes later relies on it: no other writer under the same key commits in between.
    async fn write(&self, key: &str) -> R<sqlx::Transaction<'static, Db>> {
        let mut tx = self
            .pool
            .begin_with(dialect::BEGIN_WRITE)
            .await
            .map_err(backend)?;
        dialect::lock(&mut tx, key).await?;
        Ok(tx)
    }

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

    /// The number of rows in each table, by table name: for operators and for tests that check
    /// that a request stored nothing.
    pub async fn row_counts(&self) -> R<std::collections::BTreeMap<String, i64>> {
        let tables: Vec<String> = sqlx::query_scalar(dialect::LIST_TABLES)
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

/// Inserts `row` into its table inside the transaction `tx`.
async fn insert_in<T: IntoRow>(tx: &mut Conn, row: &T) -> R<()> {
    let sql = insert_sql::<T>();
    row.bind(sqlx::query(&sql))
        .execute(tx)
        .await
        .map_err(backend)?;
    Ok(())
}

fn get<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r Row, col: &str) -> R<T> {
    row.try_get(col).map_err(backend)
}

/// A column stored as `V` and read as `T` (an unsigned count stored as `i64`).
fn get_via<'r, V, T>(row: &'r Row, col: &str) -> R<T>
where
    V: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
    T: TryFrom<V>,
{
    let v: V = get(row, col)?;
    T::try_from(v).map_err(|_| StoreError::Backend(format!("{col} out of range")))
}

/// A text column holding one of an enum's names; `what` names the enum in the error.
fn get_enum<T>(row: &Row, col: &str, what: &str, parse: fn(&str) -> Option<T>) -> R<T> {
    let s: String = get(row, col)?;
    parse(&s).ok_or_else(|| StoreError::Backend(format!("unknown {what} {s}")))
}

/// Lists of strings are stored as JSON arrays.
fn json_array(v: &[String]) -> String {
    serde_json::Value::from(v.to_vec()).to_string()
}
