//! Throw-away schemas on a real PostgreSQL, for tests: each gets a schema of its own, so tests
//! run in parallel on one server and leave nothing behind.

use sqlx::{Connection, PgConnection};

/// Where tests find PostgreSQL: `ORBIT_TEST_POSTGRES_URL`, by default the local server with
/// trust authentication (`.ci/run` starts it).
pub fn server_url() -> String {
    std::env::var("ORBIT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty schema, dropped (with everything in it) when this value is dropped.
#[derive(Debug)]
pub struct ScratchSchema {
    server: String,
    name: String,
}

impl ScratchSchema {
    /// Creates a schema with a fresh random name on [`server_url`].
    pub async fn create() -> Result<Self, sqlx::Error> {
        let server = server_url();
        let mut conn = PgConnection::connect(&server).await?;
        let name: String = sqlx::query_scalar(
            "SELECT 'orbit_test_' || md5(random()::text || clock_timestamp()::text)",
        )
        .fetch_one(&mut conn)
        .await?;
        sqlx::raw_sql(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        Ok(Self { server, name })
    }

    /// A database URL whose connections work in this schema (`search_path`).
    pub fn url(&self) -> String {
        let sep = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{sep}options[search_path]={}", self.server, self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first column of every row `sql` returns, read in this schema on a connection of its
    /// own: for tests that check what servers left in the database. Cast to text in the query
    /// (`SELECT count(*)::text ..`).
    pub async fn column(&self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        let mut conn = PgConnection::connect(&self.url()).await?;
        let rows = sqlx::query_scalar(sql).fetch_all(&mut conn).await?;
        conn.close().await?;
        Ok(rows)
    }

    /// Runs `sql` in this schema on a connection of its own and returns how many rows it
    /// touched: for tests that put the database where only time would take it (an expired row)
    /// while the servers run on the system clock.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let mut conn = PgConnection::connect(&self.url()).await?;
        let done = sqlx::query(sql).execute(&mut conn).await?;
        conn.close().await?;
        Ok(done.rows_affected())
    }

    /// Locks `table` of this schema against every other session, readers too, as a stuck
    /// transaction would, until [`TableLock::release`] (or the value is dropped and its
    /// connection closes): what requests get while one table does not answer.
    pub async fn lock_table(&self, table: &str) -> Result<TableLock, sqlx::Error> {
        let mut conn = PgConnection::connect(&self.url()).await?;
        sqlx::raw_sql(&format!(
            "BEGIN; LOCK TABLE \"{}\" IN ACCESS EXCLUSIVE MODE",
            table.replace('"', "\"\"")
        ))
        .execute(&mut conn)
        .await?;
        Ok(TableLock { conn })
    }
}

/// A session holding a table lock (`ScratchSchema::lock_table`).
#[derive(Debug)]
pub struct TableLock {
    conn: PgConnection,
}

impl TableLock {
    /// Ends the transaction, and with it the lock.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await?;
        self.conn.close().await
    }
}

impl Drop for ScratchSchema {
    /// Drops the schema from a thread of its own (drop cannot await, and may run inside a
    /// runtime); failures are ignored, the schema is only litter then.
    fn drop(&mut self) {
        let server = self.server.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&server).await.ok()?;
                sqlx::raw_sql(&sql).execute(&mut conn).await.ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}
