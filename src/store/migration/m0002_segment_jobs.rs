//! Segment jobs: the job rows (status, lease, progress, metrics, errors, the definition
//! snapshot), the definitions each job evaluates (so a list can filter on one with an index),
//! and the staging rows a running job writes page by page before its one commit.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

fn bigint(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create().name(name).table(table).take();
    for c in cols {
        stmt.col(*c);
    }
    stmt
}

fn jobs() -> TableCreateStatement {
    Table::create()
        .table("segment_jobs")
        .col(text("id").primary_key())
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("status"))
        .col(text("source"))
        .col(text("request_id"))
        .col(ColumnDef::new("all_segments").boolean().not_null())
        // JSON: [{segmentId, version, expression, mergePolicyId}], frozen at creation.
        .col(text("segments"))
        .col(bigint("evaluation_time_ms"))
        .col(text_null("lease_owner"))
        .col(ColumnDef::new("lease_expires_ms").big_integer().null())
        .col(bigint("attempts"))
        .col(bigint("profiles_done"))
        .col(bigint("profiles_total"))
        // JSON: AEP's metrics object.
        .col(text("metrics"))
        // JSON: [{code, message}].
        .col(text("errors"))
        .col(bigint("creation_time_ms"))
        .col(bigint("update_time_ms"))
        .take()
}

fn job_segments() -> TableCreateStatement {
    Table::create()
        .table("segment_job_segments")
        .col(text("job_id"))
        .col(text("org"))
        .col(text("sandbox"))
        .col(text("segment_id"))
        .col(bigint("version"))
        .primary_key(Index::create().col("job_id").col("segment_id"))
        .take()
}

fn job_results() -> TableCreateStatement {
    Table::create()
        .table("segment_job_results")
        .col(text("job_id"))
        .col(text("segment_id"))
        .col(text("profile_id"))
        // The identity namespaces of a qualifying profile, sorted, joined with U+001F (for the
        // per-namespace counters); empty for exits.
        .col(text("namespaces"))
        // Filled at commit: realized, existing or exited.
        .col(text_null("outcome"))
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
        for table in [jobs(), job_segments(), job_results()] {
            manager.create_table(table).await?;
        }
        let indexes = [
            index(
                "segment_jobs",
                "ix_jobs_tenant_created",
                &["org", "sandbox", "creation_time_ms", "id"],
            ),
            index(
                "segment_jobs",
                "ix_jobs_tenant_status",
                &["org", "sandbox", "status"],
            ),
            // The claim query: runnable jobs, oldest first, across tenants.
            index(
                "segment_jobs",
                "ix_jobs_status_created",
                &["status", "creation_time_ms"],
            ),
            index(
                "segment_job_segments",
                "ix_job_segments_segment",
                &["org", "sandbox", "segment_id"],
            ),
        ];
        for ix in indexes {
            manager.create_index(ix).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "segment_job_results",
            "segment_job_segments",
            "segment_jobs",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
