//! Persistence: the only module that speaks SQL (through sea-orm). Repositories are methods on
//! [`Store`], grouped by resource in the submodules; they take a [`Tenant`] and return domain
//! types and [`Error`]s, so nothing above this module sees sea-orm.
//!
//! Two backends, both tested for real: a SQLite file (the embedded default, WAL mode) and
//! PostgreSQL (production, several replicas may share it). Every multi-row write runs in one
//! transaction. On SQLite the writing pool holds one connection, which serialises writers (no
//! busy errors, no lost updates), and reads that need no transaction go through a second pool of
//! read-only connections, so a long write (a segment job's commit) never holds them up; on
//! PostgreSQL rows that are read-then-written are locked with `FOR UPDATE` and definition-graph
//! changes take a per-tenant advisory lock.
//!
//! Repository spans log their errors at DEBUG: most are the caller's (not found, name taken),
//! the domain service above logs the same error at INFO, and the edges log server faults
//! (internal, unavailable) at ERROR once, under the request id.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqlErr, Statement,
};
use sea_orm_migration::MigratorTrait;
use tracing::instrument;

use crate::context::Tenant;
use crate::error::Error;

mod definitions;
mod entity;
mod ingest;
mod ingest_batch;
mod job_commit;
mod job_runs;
mod job_staging;
mod jobs;
mod memberships;
mod migration;
mod planner_stats;
mod profiles;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

pub use job_runs::{JobLease, LeaseCheck, NAMESPACE_SEPARATOR, RawProfile, StagedRow};
pub use job_staging::StagingLayout;
pub use profiles::ProfileWithEvents;

/// Where the embedded store lives when no database URL is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/segmentation.db?mode=rwc";

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool settings; [`StoreOptions::default`] suits the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// PostgreSQL pool size (SQLite always uses one connection, which serialises writers).
    pub max_connections: u32,
    /// How long a request waits for a connection, and how long `connect` keeps trying to reach
    /// the server before giving up with [`Error::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Read-only connections of a SQLite store (WAL lets them read beside the one writer).
const SQLITE_READERS: u32 = 4;

/// SQLite page cache per connection, in KiB (SQLite's default is 2 MiB). A segment job reads
/// every profile through a reader and its commit joins staging, memberships and profiles on the
/// writer: with the default cache nearly every page is read again from the OS with a system
/// call. The caches are bounded, so memory stays flat however large the database grows.
const SQLITE_WRITER_CACHE_KIB: i64 = 64 * 1024;
const SQLITE_READER_CACHE_KIB: i64 = 32 * 1024;

/// A handle on the database; cheap to clone (the pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    /// Every write, and reads inside write transactions.
    db: DatabaseConnection,
    /// Reads that need no transaction. On SQLite a separate pool of read-only connections, so
    /// reads see the last commit instead of waiting for the single writer (a segment job's
    /// commit can hold it for seconds); on PostgreSQL the same pool as `db`.
    reads: DatabaseConnection,
    backend: Backend,
    /// When to refresh PostgreSQL's planner statistics (shared by the clones).
    stats: Arc<planner_stats::PlannerStats>,
}

impl Store {
    /// Connects to `sqlite://path?mode=rwc` (creating the file's directory, WAL mode) or
    /// `postgres://...`, and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        Store::connect_with(url, StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn connect_with(url: &str, settings: StoreOptions) -> Result<Store, Error> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(Error::invalid(
                "database_url",
                "expected sqlite://path?mode=rwc or postgres://user@host/db",
            ));
        };
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .connect_timeout(settings.acquire_timeout)
            .acquire_timeout(settings.acquire_timeout);
        if backend == Backend::Sqlite {
            create_sqlite_dir(url)?;
            options
                .max_connections(1)
                .map_sqlx_sqlite_opts(sqlite_tuning);
        } else {
            options.max_connections(settings.max_connections.max(1));
        }
        let db = Database::connect(options)
            .await
            .map_err(|e| Error::unavailable(format!("cannot connect to the database: {e}")))?;
        migration::Migrator::up(&db, None)
            .await
            .map_err(|e| Error::internal(format!("database migration failed: {e}")))?;
        let reads = match backend {
            Backend::Sqlite if !is_in_memory(url) => sqlite_readers(url, &settings).await?,
            Backend::Sqlite | Backend::Postgres => db.clone(),
        };
        Ok(Store {
            db,
            reads,
            backend,
            stats: Arc::default(),
        })
    }

    /// Whether the database answers (health checks).
    #[instrument(skip_all, err(level = "debug"))]
    pub async fn ping(&self) -> Result<(), Error> {
        // The read pool: a long write (a segment job's commit) must not look like an outage.
        self.reads
            .ping()
            .await
            .map_err(|e| Error::unavailable(format!("database unreachable: {e}")))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool (graceful shutdown).
    pub async fn close(&self) -> Result<(), Error> {
        if self.backend == Backend::Sqlite {
            self.reads.close_by_ref().await.map_err(db_error)?;
        }
        self.db.close_by_ref().await.map_err(db_error)
    }

    /// Serialises changes to one tenant's definition graph across connections (PostgreSQL);
    /// SQLite's single connection already does.
    async fn lock_definition_graph<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &Tenant,
    ) -> Result<(), Error> {
        let key = format!("segment_definitions/{}/{}", tenant.org, tenant.sandbox);
        self.advisory_lock(conn, &key).await
    }

    /// Takes a transaction-scoped advisory lock on `key` (PostgreSQL); a no-op on SQLite, whose
    /// single connection serialises writers already.
    async fn advisory_lock<C: ConnectionTrait>(&self, conn: &C, key: &str) -> Result<(), Error> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [key.to_owned().into()],
        ))
        .await
        .map_err(db_error)?;
        Ok(())
    }
}

/// A raw statement written with `?` placeholders, numbered `$1, $2, ...` for PostgreSQL. The
/// SQL text must not contain `?` anywhere else.
pub(crate) fn raw_statement(backend: Backend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    match backend {
        Backend::Sqlite => Statement::from_sql_and_values(DbBackend::Sqlite, sql, values),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(ch);
                }
            }
            Statement::from_sql_and_values(DbBackend::Postgres, out, values)
        }
    }
}

/// The read-only pool of a SQLite file (opened after the writer, which created the file and
/// switched it to WAL mode).
async fn sqlite_readers(url: &str, settings: &StoreOptions) -> Result<DatabaseConnection, Error> {
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(settings.acquire_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .min_connections(0)
        .max_connections(SQLITE_READERS)
        .map_sqlx_sqlite_opts(|o| {
            o.read_only(true)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .pragma("cache_size", format!("-{SQLITE_READER_CACHE_KIB}"))
        });
    Database::connect(options)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open the database for reading: {e}")))
}

/// An in-memory SQLite database exists once per connection, so it cannot have a second pool.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn sqlite_tuning(o: SqliteConnectOptions) -> SqliteConnectOptions {
    o.journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("cache_size", format!("-{SQLITE_WRITER_CACHE_KIB}"))
}

/// Creates the directory of a `sqlite://` file so a fresh install starts without setup.
fn create_sqlite_dir(url: &str) -> Result<(), Error> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::unavailable(format!(
                "cannot create database directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    Ok(())
}

/// A database failure as the caller sees it: lost connections are `Unavailable` (retry), the
/// rest `Internal`. Unique-key violations are mapped by the repositories that expect them.
pub(crate) fn db_error(e: DbErr) -> Error {
    match &e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
            Error::unavailable(format!("database unavailable: {e}"))
        }
        _ => Error::internal(format!("database error: {e}")),
    }
}

/// Whether `e` is a unique-key violation (a concurrent insert of the same key).
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Whether `e` is a deadlock (`40P01`) or serialization failure (`40001`): the statement lost a
/// race with a concurrent transaction and may succeed when tried again.
pub(crate) fn is_transient_conflict(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner))) =
        e
    else {
        return false;
    };
    match inner.as_database_error().and_then(|d| d.code()) {
        Some(code) => code == "40P01" || code == "40001",
        None => false,
    }
}

/// Ends a transaction: commits on `Ok`, rolls back on `Err`. The rollback is awaited, so no
/// connection goes back to the pool with a transaction (and its locks) still open.
pub(crate) async fn finish<T>(
    txn: DatabaseTransaction,
    result: Result<T, Error>,
) -> Result<T, Error> {
    match result {
        Ok(value) => {
            txn.commit().await.map_err(db_error)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = txn.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Records the tenant on the current repository span.
fn record_tenant(tenant: &Tenant) {
    let span = tracing::Span::current();
    span.record("org", tenant.org.as_str());
    span.record("sandbox", tenant.sandbox.as_str());
}
