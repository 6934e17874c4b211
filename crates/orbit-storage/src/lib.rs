//! Storage adapters implementing orbit-core's store traits.
//!
//! Each adapter owns its connection set-up and its migrations; the queries behind the store
//! traits are written once, in `sql/`, and compiled into each adapter. Nothing outside this
//! crate may assume which database is underneath: the server opens a store from a
//! [`DatabaseUrl`].

pub mod copy;
pub mod postgres;
pub mod sqlite;

#[cfg(test)]
mod contract;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use orbit_core::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the store lives: `database_url`, `sqlite://<path>` or `postgres://...`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, as sqlx reads it (`postgresql://` too).
    Postgres(String),
}

impl DatabaseUrl {
    /// Reads a URL; the error says what is wrong with it, without repeating a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(
                    "a SQLite URL names a file, like sqlite:///var/lib/orbit/orbit.db".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            use std::str::FromStr;
            sqlx::postgres::PgConnectOptions::from_str(url)
                .map_err(|e| format!("{}: {e}", redact(url)))?;
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(format!(
            "{:?} is neither sqlite://<path> nor postgres://user@host/database",
            redact(url)
        ))
    }

    /// The URL for messages and logs, its password (if any) replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact(url),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `scheme://user:password@host...` with the password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// How the store's connections behave (`database_pool_size`, `database_statement_timeout_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSettings {
    /// Connections in the pool; `None`: the adapter's default (SQLite 4, PostgreSQL 10).
    pub pool_size: Option<u32>,
    /// PostgreSQL cancels a statement running longer, and a request waits at most this long for
    /// a connection. SQLite waits for its write lock up to its own busy timeout (10 s).
    pub statement_timeout: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            pool_size: None,
            statement_timeout: postgres::PgSettings::default().statement_timeout,
        }
    }
}

/// Opens the store at `url` and applies pending migrations. `long_running` (the server) also
/// starts what a short CLI command leaves to the server (SQLite's WAL checkpointer).
pub async fn open(
    url: &DatabaseUrl,
    settings: StoreSettings,
    long_running: bool,
) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let size = settings.pool_size.unwrap_or(sqlite::DEFAULT_POOL_SIZE);
            let store = SqliteStore::open_with(path, size).await?;
            if long_running {
                store.spawn_checkpointer();
            }
            Ok(Arc::new(store))
        }
        DatabaseUrl::Postgres(url) => {
            let pg = postgres::PgSettings {
                pool_size: settings.pool_size.unwrap_or(postgres::DEFAULT_POOL_SIZE),
                statement_timeout: settings.statement_timeout,
            };
            Ok(Arc::new(PgStore::open(url, pg).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: Result<DatabaseUrl, &str>) {
        match (DatabaseUrl::parse(url), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{url}"),
            (Err(got), Err(want)) => assert!(got.contains(want), "{url}: {got}"),
            (got, want) => panic!("{url}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn database_urls() {
        use DatabaseUrl::*;
        let pg = |u: &str| Ok(Postgres(u.into()));
        check("sqlite:///var/orbit.db", Ok(Sqlite("/var/orbit.db".into())));
        check("sqlite://data/orbit.db", Ok(Sqlite("data/orbit.db".into())));
        check("sqlite:orbit.db?mode=rwc", Ok(Sqlite("orbit.db".into())));
        check("sqlite://", Err("names a file"));
        check("sqlite::memory:", Err("names a file"));
        check(
            "postgres://orbit@db:5432/orbit",
            pg("postgres://orbit@db:5432/orbit"),
        );
        check("postgresql://u:p@db/orbit", pg("postgresql://u:p@db/orbit"));
        check(
            "postgres://u:secret@db:notaport/x",
            Err("postgres://u:***@db:notaport/x"),
        );
        check("mysql://u:secret@db/x", Err("mysql://u:***@db/x"));
        check("orbit.db", Err("neither"));
        assert!(!format!(
            "{:?}",
            DatabaseUrl::parse("postgres://u:secret@db/x").unwrap()
        )
        .contains("secret"));
    }
}
