//! Job storage for large sandboxes.
//!
//! Packed job staging: `segment_job_results` (one row per qualifying segment and profile) is
//! replaced by `segment_job_staging` (one row per qualifying profile, its segments as bits; see
//! the entity). On SQLite the table is `WITHOUT ROWID` (one B-tree instead of a table and its
//! key index); on PostgreSQL it is `UNLOGGED` (no write-ahead log: staged rows are never needed
//! after a crash, since a job taken over starts again from scratch).
//!
//! A job running in a process of the previous version staged its rows in the old table, which
//! is dropped here: such jobs are fenced off (`attempts` goes up and the lease is cleared, so the
//! old worker can never commit) and the next worker runs them again from the start.
//!
//! On SQLite `memberships` becomes `WITHOUT ROWID`, clustered by its key (org, sandbox, segment,
//! profile): a job's commit writes one B-tree per row instead of a table and its key index, and
//! the statements that scan a segment's members (exits, expired exits, member lists) read the
//! rows in key order instead of looking each one up by rowid. The rows are copied over.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const FENCE_RUNNING_JOBS: &str = "UPDATE segment_jobs SET attempts = attempts + 1, \
     lease_owner = NULL, lease_expires_ms = NULL WHERE status IN ('PROCESSING', 'CANCELLING')";

const SQLITE_STAGING: &str = "CREATE TABLE segment_job_staging (job_id TEXT NOT NULL, \
     profile_id TEXT NOT NULL, word INTEGER NOT NULL, mask INTEGER NOT NULL, \
     namespaces TEXT NOT NULL, PRIMARY KEY (job_id, profile_id, word)) WITHOUT ROWID";

const POSTGRES_STAGING: &str = "CREATE UNLOGGED TABLE segment_job_staging (job_id TEXT NOT NULL, \
     profile_id TEXT NOT NULL, word INTEGER NOT NULL, mask BIGINT NOT NULL, \
     namespaces TEXT NOT NULL, PRIMARY KEY (job_id, profile_id, word))";

/// SQLite: `memberships` rebuilt `WITHOUT ROWID` (same columns, key and index).
const SQLITE_MEMBERSHIPS: [&str; 5] = [
    "CREATE TABLE memberships_clustered (org TEXT NOT NULL, sandbox TEXT NOT NULL, \
     segment_id TEXT NOT NULL, profile_id TEXT NOT NULL, status TEXT NOT NULL, \
     last_qualification_ms INTEGER NOT NULL, version INTEGER NOT NULL, \
     PRIMARY KEY (org, sandbox, segment_id, profile_id)) WITHOUT ROWID",
    "INSERT INTO memberships_clustered (org, sandbox, segment_id, profile_id, status, \
     last_qualification_ms, version) SELECT org, sandbox, segment_id, profile_id, status, \
     last_qualification_ms, version FROM memberships",
    "DROP TABLE memberships",
    "ALTER TABLE memberships_clustered RENAME TO memberships",
    "CREATE INDEX ix_memberships_profile ON memberships (org, sandbox, profile_id)",
];

/// The table this migration replaces, as m0002 created it (for `down`).
fn job_results() -> TableCreateStatement {
    let text = |name: &'static str| ColumnDef::new(name).text().not_null().take();
    Table::create()
        .table("segment_job_results")
        .col(text("job_id"))
        .col(text("segment_id"))
        .col(text("profile_id"))
        .col(text("namespaces"))
        .col(ColumnDef::new("outcome").text().null())
        .primary_key(
            Index::create()
                .col("job_id")
                .col("segment_id")
                .col("profile_id"),
        )
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sqlite = db.get_database_backend() != DbBackend::Postgres;
        db.execute_unprepared(FENCE_RUNNING_JOBS).await?;
        if sqlite {
            db.execute_unprepared(SQLITE_STAGING).await?;
            for stmt in SQLITE_MEMBERSHIPS {
                db.execute_unprepared(stmt).await?;
            }
        } else {
            db.execute_unprepared(POSTGRES_STAGING).await?;
        }
        manager
            .drop_table(Table::drop().table("segment_job_results").take())
            .await
    }

    /// Restores the old staging table (`memberships` stays clustered: the same columns, keys
    /// and index, which the previous version reads and writes alike).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(FENCE_RUNNING_JOBS).await?;
        manager.create_table(job_results()).await?;
        manager
            .drop_table(Table::drop().table("segment_job_staging").take())
            .await
    }
}
