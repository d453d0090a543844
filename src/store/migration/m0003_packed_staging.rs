//! Packed job staging: `segment_job_results` (one row per qualifying segment and profile) is
//! replaced by `segment_job_staging` (one row per qualifying profile, its segments as bits; see
//! the entity). On SQLite the table is `WITHOUT ROWID` (one B-tree instead of a table and its
//! key index); on PostgreSQL it is `UNLOGGED` (no write-ahead log: staged rows are never needed
//! after a crash, since a job taken over starts again from scratch).
//!
//! A job running in a process of the previous version staged its rows in the old table, which
//! is dropped here: such jobs are fenced off (`attempts` goes up and the lease is cleared, so the
//! old worker can never commit) and the next worker runs them again from the start.

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
        let create = match db.get_database_backend() {
            DbBackend::Postgres => POSTGRES_STAGING,
            _ => SQLITE_STAGING,
        };
        db.execute_unprepared(FENCE_RUNNING_JOBS).await?;
        db.execute_unprepared(create).await?;
        manager
            .drop_table(Table::drop().table("segment_job_results").take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(FENCE_RUNNING_JOBS).await?;
        manager.create_table(job_results()).await?;
        manager
            .drop_table(Table::drop().table("segment_job_staging").take())
            .await
    }
}
