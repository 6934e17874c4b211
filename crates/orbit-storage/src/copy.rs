//! Copying a store to another database, row by row, for `orbit migrate copy` (start on SQLite,
//! move to PostgreSQL). Every column is copied as stored: password hashes, token hashes, sealed
//! keys (still sealed: the target needs the same master key), DNS state, settings.
//!
//! Both stores are opened (so migrated) by this binary first, so their schemas are the same
//! up to the dialects' types; the copy reads each table's columns from both catalogues and
//! refuses a table or a column one side lacks. The source is read in one snapshot, the target
//! written in one transaction: a failed copy leaves the target as it was.

use crate::{postgres, sqlite, DatabaseUrl, StoreSettings};
use futures_util::TryStreamExt;
use sqlx::{Connection, Database};
use std::collections::BTreeMap;

/// Every table, parents before children (foreign keys). `schema_migrations` is each
/// database's own.
pub const TABLES: &[&str] = &[
    "applications",
    "instances",
    "domains",
    "secret_keys",
    "signing_keys",
    "users",
    "clients",
    "client_tokens",
    "sessions",
    "dev_browsers",
    "pending_sign_ups",
    "sign_in_attempts",
    "failed_sign_ins",
    "rate_limits",
    "account_pacing",
    "pending_syncs",
    "sync_tokens",
    "handshake_nonces",
    "operators",
    "operator_sessions",
    "operator_setup_tokens",
    "audit_log",
];

/// What `orbit migrate copy` was told.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Copy only this instance (and its application); `None`: everything.
    pub instance: Option<String>,
    /// Empty a target that holds data first, instead of refusing it.
    pub replace: bool,
}

/// How far a table's copy is, for progress output.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub copied: u64,
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("--from and --to name the same database ({0})")]
    SameDatabase(String),
    #[error("the target {url} already holds Orbit data ({tables}); copy into an empty database, or pass --replace to delete what it holds first")]
    TargetNotEmpty { url: String, tables: String },
    #[error("the source {url} has no instance {id}")]
    NoInstance { url: String, id: String },
    #[error(
        "{url}: table {table}: {problem}; copy with the orbit version that wrote both databases"
    )]
    Schema {
        url: String,
        table: String,
        problem: String,
    },
    #[error("{url}: {message}")]
    Database { url: String, message: String },
}

/// Copies the store at `from` into `to` (each opened and migrated first); returns the rows
/// copied by table.
pub async fn copy(
    from: &DatabaseUrl,
    to: &DatabaseUrl,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<BTreeMap<String, u64>, CopyError> {
    if from == to {
        return Err(CopyError::SameDatabase(from.redacted()));
    }
    let source = Side::open(from).await?;
    let target = Side::open(to).await?;
    let copied = match (&source.pool, &target.pool) {
        (Pool::Sqlite(s), Pool::Postgres(t)) => {
            copy_all(&source, s, &target, t, options, progress).await
        }
        (Pool::Sqlite(s), Pool::Sqlite(t)) => {
            copy_all(&source, s, &target, t, options, progress).await
        }
        (Pool::Postgres(s), Pool::Postgres(t)) => {
            copy_all(&source, s, &target, t, options, progress).await
        }
        (Pool::Postgres(s), Pool::Sqlite(t)) => {
            copy_all(&source, s, &target, t, options, progress).await
        }
    };
    source.close().await;
    target.close().await;
    copied
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// One end of the copy: its pool and its URL for messages.
struct Side {
    url: String,
    pool: Pool,
}

impl Side {
    async fn open(url: &DatabaseUrl) -> Result<Self, CopyError> {
        let redacted = url.redacted();
        let failed = |e: orbit_core::store::StoreError| CopyError::Database {
            url: redacted.clone(),
            message: format!("cannot open the database: {e}"),
        };
        let pool = match url {
            DatabaseUrl::Sqlite(path) => {
                Pool::Sqlite(sqlite::SqliteStore::open(path).await.map_err(failed)?.pool)
            }
            DatabaseUrl::Postgres(u) => Pool::Postgres(
                postgres::PgStore::open(
                    u,
                    postgres::PgSettings {
                        pool_size: 2,
                        statement_timeout: StoreSettings::default().statement_timeout,
                    },
                )
                .await
                .map_err(failed)?
                .pool,
            ),
        };
        Ok(Self {
            url: redacted,
            pool,
        })
    }

    async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }

    fn err(&self, what: impl std::fmt::Display) -> impl Fn(sqlx::Error) -> CopyError + '_ {
        let what = what.to_string();
        move |e| CopyError::Database {
            url: self.url.clone(),
            message: format!("{what}: {e}"),
        }
    }
}

/// How a column is stored, as far as the copy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
}

/// One value on its way, read as the source stores it.
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// What each dialect says differently to the copy: its catalogue and its transactions.
trait Dialect: Database {
    const BEGIN_READ: &'static str;
    const BEGIN_WRITE: &'static str;
    /// `(name, type)` of a table's copied columns, in order ($1: the table).
    const COLUMNS: &'static str;
    const LIST_TABLES: &'static str;
    fn kind(declared: &str) -> Option<Kind>;
    fn rows_affected(done: &Self::QueryResult) -> u64;
}

impl Dialect for sqlx::Sqlite {
    const BEGIN_READ: &'static str = "BEGIN";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const COLUMNS: &'static str = "SELECT name, type FROM pragma_table_info($1) ORDER BY cid";
    const LIST_TABLES: &'static str =
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
    fn kind(declared: &str) -> Option<Kind> {
        match declared.to_ascii_uppercase().as_str() {
            "INTEGER" => Some(Kind::Int),
            "TEXT" => Some(Kind::Text),
            "BLOB" => Some(Kind::Bytes),
            _ => None,
        }
    }
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

impl Dialect for sqlx::Postgres {
    const BEGIN_READ: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const BEGIN_WRITE: &'static str = "BEGIN";
    // Identity columns (`failed_sign_ins.rowid`, SQLite's implicit row id) are the target's.
    const COLUMNS: &'static str = "SELECT column_name::text, data_type::text \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = $1 AND is_identity = 'NO' ORDER BY ordinal_position";
    const LIST_TABLES: &'static str =
        "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()";
    fn kind(declared: &str) -> Option<Kind> {
        match declared {
            "bigint" | "integer" => Some(Kind::Int),
            "boolean" => Some(Kind::Bool),
            "text" => Some(Kind::Text),
            "bytea" => Some(Kind::Bytes),
            _ => None,
        }
    }
    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }
}

/// Rows per `INSERT`, under both dialects' limits on bound parameters.
fn batch_rows(columns: usize) -> usize {
    (30_000 / columns.max(1)).min(500)
}

/// Which rows of `table` belong to the instance `$1`.
fn instance_filter(table: &str) -> &'static str {
    match table {
        "applications" => "WHERE id IN (SELECT application_id FROM instances WHERE id = $1)",
        "instances" => "WHERE id = $1",
        "client_tokens" => "WHERE client_id IN (SELECT id FROM clients WHERE instance_id = $1)",
        // The deployment's, not an instance's: a one-instance copy moves none of them.
        "operators" | "operator_sessions" | "operator_setup_tokens" => {
            "WHERE CAST($1 AS TEXT) IS NULL"
        }
        _ => "WHERE instance_id = $1",
    }
}

async fn columns<D: Dialect>(
    side: &Side,
    conn: &mut D::Connection,
    table: &str,
) -> Result<Vec<(String, Kind)>, CopyError>
where
    for<'c> &'c mut D::Connection: sqlx::Executor<'c, Database = D>,
    for<'q> <D as Database>::Arguments<'q>: sqlx::IntoArguments<'q, D>,
    for<'q> &'q str: sqlx::Encode<'q, D> + sqlx::Type<D>,
    (String, String): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let listed: Vec<(String, String)> = sqlx::query_as(D::COLUMNS)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
        .map_err(side.err(format!("reading the columns of {table}")))?;
    listed
        .into_iter()
        .map(|(name, declared)| match D::kind(&declared) {
            Some(kind) => Ok((name, kind)),
            None => Err(CopyError::Schema {
                url: side.url.clone(),
                table: table.into(),
                problem: format!("column {name} has the unknown type {declared}"),
            }),
        })
        .collect()
}

/// The tables `conn` holds besides `schema_migrations`; any other than [`TABLES`] is refused.
async fn check_tables<D: Dialect>(side: &Side, conn: &mut D::Connection) -> Result<(), CopyError>
where
    for<'c> &'c mut D::Connection: sqlx::Executor<'c, Database = D>,
    for<'q> <D as Database>::Arguments<'q>: sqlx::IntoArguments<'q, D>,
    (String,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let listed: Vec<(String,)> = sqlx::query_as(D::LIST_TABLES)
        .fetch_all(&mut *conn)
        .await
        .map_err(side.err("listing tables"))?;
    for (table,) in listed {
        if table != "schema_migrations" && !TABLES.contains(&table.as_str()) {
            return Err(CopyError::Schema {
                url: side.url.clone(),
                table,
                problem: "this orbit does not know the table".into(),
            });
        }
    }
    Ok(())
}

async fn count<D: Dialect>(
    side: &Side,
    conn: &mut D::Connection,
    table: &str,
    instance: Option<&str>,
) -> Result<u64, CopyError>
where
    for<'c> &'c mut D::Connection: sqlx::Executor<'c, Database = D>,
    for<'q> <D as Database>::Arguments<'q>: sqlx::IntoArguments<'q, D>,
    for<'q> &'q str: sqlx::Encode<'q, D> + sqlx::Type<D>,
    (i64,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let filter = instance.map(|_| instance_filter(table)).unwrap_or_default();
    let sql = format!("SELECT COUNT(*) FROM {table} {filter}");
    let mut query = sqlx::query_as::<D, (i64,)>(&sql);
    if let Some(id) = instance {
        query = query.bind(id);
    }
    let (n,) = query
        .fetch_one(&mut *conn)
        .await
        .map_err(side.err(format!("counting {table}")))?;
    Ok(u64::try_from(n).unwrap_or_default())
}

fn read<'r, R: sqlx::Row>(row: &'r R, i: usize, kind: Kind) -> Result<Value, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(i)?),
        Kind::Bool => Value::Bool(row.try_get(i)?),
        Kind::Text => Value::Text(row.try_get(i)?),
        Kind::Bytes => Value::Bytes(row.try_get(i)?),
    })
}

/// `value` as the target stores `kind`: the dialects differ only in booleans (SQLite's 0/1).
fn convert(value: Value, kind: Kind) -> Result<Value, String> {
    Ok(match (value, kind) {
        (Value::Int(v), Kind::Bool) => Value::Bool(
            v.map(|n| match n {
                0 => Ok(false),
                1 => Ok(true),
                n => Err(format!("{n} is not a boolean")),
            })
            .transpose()?,
        ),
        (Value::Bool(v), Kind::Int) => Value::Int(v.map(i64::from)),
        (v @ Value::Int(_), Kind::Int)
        | (v @ Value::Bool(_), Kind::Bool)
        | (v @ Value::Text(_), Kind::Text)
        | (v @ Value::Bytes(_), Kind::Bytes) => v,
        (_, kind) => return Err(format!("the source stores another type than {kind:?}")),
    })
}

async fn copy_all<S: Dialect, T: Dialect>(
    source: &Side,
    source_pool: &sqlx::Pool<S>,
    target: &Side,
    target_pool: &sqlx::Pool<T>,
    options: &CopyOptions,
    progress: &mut (dyn FnMut(Progress<'_>) + Send),
) -> Result<BTreeMap<String, u64>, CopyError>
where
    for<'c> &'c mut S::Connection: sqlx::Executor<'c, Database = S>,
    for<'c> &'c mut T::Connection: sqlx::Executor<'c, Database = T>,
    for<'q> <S as Database>::Arguments<'q>: sqlx::IntoArguments<'q, S>,
    for<'q> <T as Database>::Arguments<'q>: sqlx::IntoArguments<'q, T>,
    for<'q> &'q str: sqlx::Encode<'q, S> + sqlx::Type<S> + sqlx::Encode<'q, T> + sqlx::Type<T>,
    for<'q> Option<i64>: sqlx::Encode<'q, T> + sqlx::Type<T>,
    for<'q> Option<bool>: sqlx::Encode<'q, T> + sqlx::Type<T>,
    for<'q> Option<String>: sqlx::Encode<'q, T> + sqlx::Type<T>,
    for<'q> Option<Vec<u8>>: sqlx::Encode<'q, T> + sqlx::Type<T>,
    for<'r> i64: sqlx::Decode<'r, S> + sqlx::Type<S>,
    for<'r> bool: sqlx::Decode<'r, S> + sqlx::Type<S>,
    for<'r> String: sqlx::Decode<'r, S> + sqlx::Type<S>,
    for<'r> Vec<u8>: sqlx::Decode<'r, S> + sqlx::Type<S>,
    usize: sqlx::ColumnIndex<S::Row>,
    (String, String): for<'r> sqlx::FromRow<'r, S::Row> + for<'r> sqlx::FromRow<'r, T::Row>,
    (String,): for<'r> sqlx::FromRow<'r, S::Row> + for<'r> sqlx::FromRow<'r, T::Row>,
    (i64,): for<'r> sqlx::FromRow<'r, S::Row> + for<'r> sqlx::FromRow<'r, T::Row>,
{
    let mut read_conn = source_pool
        .acquire()
        .await
        .map_err(source.err("connecting"))?;
    let mut snapshot = read_conn
        .begin_with(S::BEGIN_READ)
        .await
        .map_err(source.err("starting a read transaction"))?;
    let mut write_conn = target_pool
        .acquire()
        .await
        .map_err(target.err("connecting"))?;
    let mut tx = write_conn
        .begin_with(T::BEGIN_WRITE)
        .await
        .map_err(target.err("starting a write transaction"))?;
    check_tables::<S>(source, &mut snapshot).await?;
    check_tables::<T>(target, &mut tx).await?;

    let instance = options.instance.as_deref();
    if let Some(id) = instance {
        let (found,) = sqlx::query_as::<S, (i64,)>("SELECT COUNT(*) FROM instances WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *snapshot)
            .await
            .map_err(source.err("reading instances"))?;
        if found == 0 {
            return Err(CopyError::NoInstance {
                url: source.url.clone(),
                id: id.into(),
            });
        }
    }

    // An empty target, or one emptied under --replace (children first).
    let mut held = Vec::new();
    for table in TABLES {
        let n = count::<T>(target, &mut tx, table, None).await?;
        if n > 0 {
            held.push(format!("{table}: {n}"));
        }
    }
    if !held.is_empty() {
        if !options.replace {
            return Err(CopyError::TargetNotEmpty {
                url: target.url.clone(),
                tables: held.join(", "),
            });
        }
        for table in TABLES.iter().rev() {
            sqlx::query::<T>(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await
                .map_err(target.err(format!("emptying {table}")))?;
        }
    }

    let mut copied = BTreeMap::new();
    for &table in TABLES {
        let from_columns = columns::<S>(source, &mut snapshot, table).await?;
        let to_columns = columns::<T>(target, &mut tx, table).await?;
        let names = |c: &[(String, Kind)]| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let (mut from_names, mut to_names) = (names(&from_columns), names(&to_columns));
        from_names.sort();
        to_names.sort();
        if from_names != to_names {
            return Err(CopyError::Schema {
                url: target.url.clone(),
                table: table.into(),
                problem: format!(
                    "the source has the columns {}, the target {}",
                    from_names.join(", "),
                    to_names.join(", ")
                ),
            });
        }
        // Read in the target's column order, converting to the target's types.
        let kinds: Vec<(Kind, Kind)> = to_columns
            .iter()
            .map(|(name, to)| {
                let from = from_columns
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, k)| *k)
                    .unwrap_or(*to);
                (from, *to)
            })
            .collect();
        let list = to_columns
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let total = count::<S>(source, &mut snapshot, table, instance).await?;
        let filter = instance.map(|_| instance_filter(table)).unwrap_or_default();
        let select = format!("SELECT {list} FROM {table} {filter}");
        let mut query = sqlx::query::<S>(&select);
        if let Some(id) = instance {
            query = query.bind(id);
        }
        progress(Progress {
            table,
            copied: 0,
            total,
        });
        let per_batch = batch_rows(kinds.len());
        let mut done = 0u64;
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(per_batch);
        let mut rows = query.fetch(&mut *snapshot);
        loop {
            let row = rows
                .try_next()
                .await
                .map_err(source.err(format!("reading {table}")))?;
            if let Some(row) = &row {
                let mut values = Vec::with_capacity(kinds.len());
                for (i, (from, to)) in kinds.iter().enumerate() {
                    let value =
                        read(row, i, *from).map_err(source.err(format!("reading {table}")))?;
                    let value = convert(value, *to).map_err(|problem| CopyError::Schema {
                        url: source.url.clone(),
                        table: table.into(),
                        problem: format!("column {}: {problem}", to_columns[i].0),
                    })?;
                    values.push(value);
                }
                batch.push(values);
            }
            if batch.len() == per_batch || (row.is_none() && !batch.is_empty()) {
                let width = kinds.len();
                let tuples: Vec<String> = (0..batch.len())
                    .map(|r| {
                        let row: Vec<String> =
                            (1..=width).map(|c| format!("${}", r * width + c)).collect();
                        format!("({})", row.join(", "))
                    })
                    .collect();
                let sql = format!("INSERT INTO {table} ({list}) VALUES {}", tuples.join(", "));
                let mut insert = sqlx::query::<T>(&sql);
                for value in batch.drain(..).flatten() {
                    insert = match value {
                        Value::Int(v) => insert.bind(v),
                        Value::Bool(v) => insert.bind(v),
                        Value::Text(v) => insert.bind(v),
                        Value::Bytes(v) => insert.bind(v),
                    };
                }
                let written = insert
                    .execute(&mut *tx)
                    .await
                    .map_err(target.err(format!("writing {table}")))?;
                done += T::rows_affected(&written);
                progress(Progress {
                    table,
                    copied: done,
                    total,
                });
            }
            if row.is_none() {
                break;
            }
        }
        drop(rows);
        // Nothing half-written: the target holds exactly what the snapshot held.
        let landed = count::<T>(target, &mut tx, table, None).await?;
        if landed != total || done != total {
            return Err(CopyError::Database {
                url: target.url.clone(),
                message: format!(
                    "{table}: {total} rows read, {done} written, {landed} found; nothing was committed"
                ),
            });
        }
        copied.insert(table.to_owned(), total);
    }
    tx.commit().await.map_err(target.err("committing"))?;
    snapshot
        .rollback()
        .await
        .map_err(source.err("ending the read transaction"))?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tables_lists_every_table_of_both_schemas() {
        let store = sqlite::SqliteStore::in_memory().await.unwrap();
        let mut listed: Vec<String> = store.row_counts().await.unwrap().into_keys().collect();
        listed.retain(|t| t != "schema_migrations");
        let mut known: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        known.sort();
        assert_eq!(listed, known);
    }

    #[test]
    fn conversions() {
        assert!(matches!(
            convert(Value::Int(Some(1)), Kind::Bool),
            Ok(Value::Bool(Some(true)))
        ));
        assert!(matches!(
            convert(Value::Int(None), Kind::Bool),
            Ok(Value::Bool(None))
        ));
        assert!(matches!(
            convert(Value::Bool(Some(false)), Kind::Int),
            Ok(Value::Int(Some(0)))
        ));
        assert!(convert(Value::Int(Some(2)), Kind::Bool).is_err());
        assert!(convert(Value::Text(Some("x".into())), Kind::Bytes).is_err());
    }
}
