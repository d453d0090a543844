//! A segment job's one commit: the rows it staged page by page become the memberships of its
//! segments, and the job becomes `SUCCEEDED`, in a single transaction. Readers see the previous
//! memberships or the new ones, never a mix; a run that fails, is cancelled or dies before this
//! point leaves the memberships exactly as they were.
//!
//! The statuses are decided here, against the memberships as they are at commit time (so two
//! jobs over the same segment, committed one after the other, both read what the other wrote):
//!
//! - a staged (qualifying) profile that was a member (`realized` or `existing`) is `existing`,
//!   otherwise (absent, or `exited`) it is `realized`;
//! - a member that did not qualify becomes `exited`;
//! - an `exited` row that stays out is kept, unless it is older than
//!   [`EXITED_RETENTION_MS`] before the evaluation instant (then it is dropped);
//! - every row the job writes carries the job's evaluation instant as `lastQualificationTime`
//!   and the definition version the job froze.
//!
//! Profiles deleted and definitions deleted while the job ran are left out. Everything runs as
//! set-based SQL inside the database, so the commit needs no memory proportional to the number
//! of profiles, in four passes: the exits (per segment, an update of the members the staging
//! does not name), the counters (one read of the staged rows against the memberships), the
//! upsert of the staged rows (which decides `realized` or `existing` as it writes each row),
//! and the expired exits. The staged rows hold one profile each, its segments as bits
//! (`job_staging`); the statements expand them with the job's segment positions (`sources`).

use std::collections::BTreeMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use tracing::instrument;

use super::entity::segment_job;
use super::job_runs::{JobLease, LeaseCheck, clear_staging, discard};
use super::job_staging::{LayoutSegment, StagingLayout};
use super::jobs::to_json;
use super::{Backend, Store, db_error, finish, raw_statement};
use crate::domain::Clock;
use crate::domain::job::{EXITED_RETENTION_MS, JobMetrics, JobStatus, StatusCounts};
use crate::error::Error;

const REALIZED: &str = "realized";
const EXISTING: &str = "existing";
const EXITED: &str = "exited";

/// What the commit's statements start from (binds the job id and the tenant, twice):
///
/// - `live (segment_id, version, word, bit)`: the job's segments whose definitions still exist,
///   with their staging positions (`job_staging`), computed once (`MATERIALIZED`: inlined,
///   PostgreSQL checked the definitions for every staged pair);
/// - `staged (profile_id, word, mask, namespaces)`: the job's staged rows of profiles that still
///   exist. PostgreSQL materialises it, so each profile is looked up once rather than once per
///   segment it is in; SQLite inlines it (`NOT MATERIALIZED`) and checks each row as it scans
///   the staging anyway.
///
/// `MATERIALIZED` and `NOT MATERIALIZED` need PostgreSQL 12 and SQLite 3.35.
fn sources(backend: Backend) -> String {
    let staged = match backend {
        Backend::Postgres => "MATERIALIZED",
        Backend::Sqlite => "NOT MATERIALIZED",
    };
    format!(
        "WITH segs AS (SELECT s.segment_id, s.version, \
         ROW_NUMBER() OVER (ORDER BY s.segment_id) - 1 AS pos \
         FROM segment_job_segments s WHERE s.job_id = ?), \
         live AS MATERIALIZED (SELECT segment_id, version, CAST(pos / 64 AS INTEGER) AS word, \
         CAST(pos % 64 AS INTEGER) AS bit FROM segs WHERE EXISTS (SELECT 1 FROM \
         segment_definitions d WHERE d.org = ? AND d.sandbox = ? AND d.id = segs.segment_id)), \
         staged AS {staged} (SELECT r.profile_id, r.word, r.mask, r.namespaces \
         FROM segment_job_staging r WHERE r.job_id = ? AND EXISTS (SELECT 1 FROM profiles p \
         WHERE p.id = r.profile_id AND p.org = ? AND p.sandbox = ?)) "
    )
}

/// The staged (profile, segment) pairs (`r`, `l`). `CROSS JOIN` keeps the staged rows outermost
/// on SQLite (one pass over them, the few segments inside).
const STAGED_PAIRS: &str =
    "FROM staged r CROSS JOIN live l WHERE l.word = r.word AND (r.mask >> l.bit) & 1 = 1";

/// Members of one segment that the staging does not name: they exited.
const EXITS: &str = "UPDATE memberships SET status = ?, last_qualification_ms = ?, version = ? \
     WHERE org = ? AND sandbox = ? AND segment_id = ? AND status IN (?, ?) \
     AND NOT EXISTS (SELECT 1 FROM segment_job_staging r WHERE r.job_id = ? \
     AND r.profile_id = memberships.profile_id AND r.word = ? AND (r.mask >> ?) & 1 = 1)";

/// Staged pairs per segment, set of identity namespaces and whether the profile is a member
/// already (run after the exits, so a member is a staged one): both the status and the
/// namespace counters in one read.
fn counts_sql(backend: Backend) -> String {
    format!(
        "{} SELECT l.segment_id, r.namespaces, CASE WHEN EXISTS (SELECT 1 FROM \
         memberships m WHERE m.org = ? AND m.sandbox = ? AND m.segment_id = l.segment_id \
         AND m.profile_id = r.profile_id AND m.status IN (?, ?)) THEN 1 ELSE 0 END AS member, \
         COUNT(*) {STAGED_PAIRS} GROUP BY l.segment_id, r.namespaces, member",
        sources(backend)
    )
}

/// The staged pairs become memberships: a row the profile has already (a member staying in,
/// an earlier exit re-entering) is updated in place, `existing` if it was a member, else
/// `realized`; the others are inserted as `realized`.
fn upsert_sql(backend: Backend) -> String {
    format!(
        "{} INSERT INTO memberships (org, sandbox, segment_id, profile_id, status, \
         last_qualification_ms, version) SELECT CAST(? AS TEXT), CAST(? AS TEXT), l.segment_id, \
         r.profile_id, CAST(? AS TEXT), CAST(? AS BIGINT), l.version {STAGED_PAIRS} \
         ON CONFLICT (org, sandbox, segment_id, profile_id) DO UPDATE SET \
         status = CASE WHEN memberships.status IN (?, ?) THEN ? ELSE ? END, \
         last_qualification_ms = excluded.last_qualification_ms, version = excluded.version",
        sources(backend)
    )
}

/// Exits of the job's segments past retention (every row this job wrote carries its
/// evaluation instant, so none of them is among these).
const DELETE_EXPIRED: &str = "DELETE FROM memberships WHERE org = ? AND sandbox = ? \
     AND segment_id IN (SELECT segment_id FROM segment_job_segments WHERE job_id = ?) \
     AND status = ? AND last_qualification_ms < ?";

/// The first words of a statement, to name a commit step in the debug log.
fn step_name(sql: &str) -> String {
    sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

impl Store {
    /// Commits a job run: swaps its staged results into the memberships, fills the counters of
    /// `metrics` from them, and marks the job `SUCCEEDED`, all in one transaction. `clock` is
    /// read when the commit starts and when it ends (`totalTime.endTimeInMs`). Returns the final
    /// metrics, or why nothing was committed (lease lost, cancel requested).
    #[instrument(skip_all, err, fields(job = %lease.job_id))]
    pub async fn commit_job(
        &self,
        lease: &JobLease,
        metrics: JobMetrics,
        profiles_done: u64,
        evaluation_time_ms: i64,
        clock: &Clock,
    ) -> Result<(LeaseCheck, Option<JobMetrics>), Error> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let run = Commit {
            store: self,
            txn: &txn,
            lease,
            evaluation_time_ms,
        };
        let result = run.run(metrics, profiles_done, clock).await;
        match result {
            Ok((LeaseCheck::Held, metrics)) => finish(txn, Ok((LeaseCheck::Held, metrics))).await,
            Ok((other, _)) => {
                discard(txn).await;
                Ok((other, None))
            }
            Err(e) => finish(txn, Err(e)).await,
        }
    }
}

struct Commit<'a> {
    store: &'a Store,
    txn: &'a DatabaseTransaction,
    lease: &'a JobLease,
    evaluation_time_ms: i64,
}

impl Commit<'_> {
    async fn run(
        &self,
        mut metrics: JobMetrics,
        profiles_done: u64,
        clock: &Clock,
    ) -> Result<(LeaseCheck, Option<JobMetrics>), Error> {
        if !self.still_processing(clock.now_ms()).await? {
            let check = super::job_runs::classify(self.txn, self.lease).await?;
            return Ok((check, None));
        }
        // Definition deletes take this lock too: none can slip in between the checks below
        // and the swap.
        self.store
            .lock_definition_graph(self.txn, &self.lease.tenant)
            .await?;
        let layout = StagingLayout::read(self.store, self.txn, &self.lease.job_id).await?;
        self.analyze_staging().await?;
        let exited = self.record_exits(&layout).await?;
        self.fill_counters(&layout, exited, &mut metrics).await?;
        self.swap_memberships().await?;
        clear_staging(self.txn, &self.lease.job_id).await?;
        let now_ms = clock.now_ms();
        metrics.total_time.end_ms = Some(now_ms);
        self.mark_succeeded(&metrics, profiles_done, now_ms).await?;
        Ok((LeaseCheck::Held, Some(metrics)))
    }

    /// Touches the job row while it is still this worker's and `PROCESSING` (on PostgreSQL this
    /// also locks it until the commit ends, so a cancel waits and then finds it terminal).
    async fn still_processing(&self, now_ms: i64) -> Result<bool, Error> {
        let done = segment_job::Entity::update_many()
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(segment_job::Column::Id.eq(&self.lease.job_id))
            .filter(segment_job::Column::LeaseOwner.eq(&self.lease.worker))
            .filter(segment_job::Column::Attempts.eq(self.lease.attempt))
            .filter(segment_job::Column::Status.eq(JobStatus::Processing.as_str()))
            .exec(self.txn)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected == 1)
    }

    fn job(&self) -> sea_orm::Value {
        self.lease.job_id.clone().into()
    }

    fn org(&self) -> sea_orm::Value {
        self.lease.tenant.org.clone().into()
    }

    fn sandbox(&self) -> sea_orm::Value {
        self.lease.tenant.sandbox.clone().into()
    }

    async fn exec(&self, sql: &str, values: Vec<sea_orm::Value>) -> Result<u64, Error> {
        let started = std::time::Instant::now();
        let stmt = raw_statement(self.store.backend, sql, values);
        let done = self.txn.execute_raw(stmt).await.map_err(db_error)?;
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            rows = done.rows_affected(),
            "commit step: {}",
            step_name(sql)
        );
        Ok(done.rows_affected())
    }

    /// PostgreSQL: the staged rows' statistics, so the passes below are planned for the rows
    /// this job staged, not for the empty table the last `ANALYZE` saw (a fixed-size sample;
    /// SQLite needs none).
    async fn analyze_staging(&self) -> Result<(), Error> {
        if self.store.backend == Backend::Postgres {
            self.exec("ANALYZE segment_job_staging", Vec::new()).await?;
        }
        Ok(())
    }

    /// What [`sources`] binds.
    fn sources(&self) -> Vec<sea_orm::Value> {
        let once = [self.job(), self.org(), self.sandbox()];
        once.iter().chain(&once).cloned().collect()
    }

    /// Marks the members that did not qualify `exited`, per live segment; returns how many
    /// left each.
    async fn record_exits(&self, layout: &StagingLayout) -> Result<BTreeMap<String, u64>, Error> {
        let mut exited = BTreeMap::new();
        for s in layout.live() {
            let LayoutSegment {
                segment_id,
                version,
                word,
                bit,
                ..
            } = s;
            let v = vec![
                EXITED.into(),
                self.evaluation_time_ms.into(),
                (*version).into(),
                self.org(),
                self.sandbox(),
                segment_id.clone().into(),
                REALIZED.into(),
                EXISTING.into(),
                self.job(),
                (*word).into(),
                (*bit).into(),
            ];
            exited.insert(segment_id.clone(), self.exec(EXITS, v).await?);
        }
        Ok(exited)
    }

    async fn query(
        &self,
        sql: &str,
        values: Vec<sea_orm::Value>,
    ) -> Result<Vec<sea_orm::QueryResult>, Error> {
        let started = std::time::Instant::now();
        let stmt = raw_statement(self.store.backend, sql, values);
        let rows = self.txn.query_all_raw(stmt).await.map_err(db_error)?;
        tracing::debug!(
            ms = started.elapsed().as_millis(),
            rows = rows.len(),
            "commit step: {}",
            step_name(sql)
        );
        Ok(rows)
    }

    /// The per-segment counters: the exits just recorded, and the staged pairs as they will be
    /// written.
    async fn fill_counters(
        &self,
        layout: &StagingLayout,
        exited: BTreeMap<String, u64>,
        metrics: &mut JobMetrics,
    ) -> Result<(), Error> {
        let mut by_status: BTreeMap<String, StatusCounts> = layout
            .live()
            .map(|s| (s.segment_id.clone(), StatusCounts::default()))
            .collect();
        let mut by_namespace: BTreeMap<String, BTreeMap<String, u64>> = by_status
            .keys()
            .map(|s| (s.clone(), BTreeMap::new()))
            .collect();
        for (segment, n) in exited {
            by_status.entry(segment).or_default().exited = n;
        }
        let mut v = self.sources();
        v.extend([self.org(), self.sandbox(), REALIZED.into(), EXISTING.into()]);
        for row in self.query(&counts_sql(self.store.backend), v).await? {
            let segment: String = row.try_get_by_index(0).map_err(db_error)?;
            let namespaces: String = row.try_get_by_index(1).map_err(db_error)?;
            let member: i32 = row.try_get_by_index(2).map_err(db_error)?;
            let n: i64 = row.try_get_by_index(3).map_err(db_error)?;
            let n = u64::try_from(n).unwrap_or(0);
            let entry = by_status.entry(segment.clone()).or_default();
            if member == 1 {
                entry.existing += n;
            } else {
                entry.realized += n;
            }
            let counts = by_namespace.entry(segment).or_default();
            for ns in namespaces
                .split(super::job_runs::NAMESPACE_SEPARATOR)
                .filter(|ns| !ns.is_empty())
            {
                *counts.entry(ns.to_owned()).or_default() += n;
            }
        }
        metrics.segmented_profile_counter = by_status
            .iter()
            .map(|(s, c)| (s.clone(), c.realized + c.existing))
            .collect();
        metrics.segmented_profile_by_status_counter = by_status;
        metrics.segmented_profile_by_namespace_counter = by_namespace;
        Ok(())
    }

    async fn swap_memberships(&self) -> Result<(), Error> {
        let mut v = self.sources();
        v.extend([
            self.org(),
            self.sandbox(),
            REALIZED.into(),
            self.evaluation_time_ms.into(),
        ]);
        v.extend([
            REALIZED.into(),
            EXISTING.into(),
            EXISTING.into(),
            REALIZED.into(),
        ]);
        self.exec(&upsert_sql(self.store.backend), v).await?;
        let retention_cutoff = self.evaluation_time_ms.saturating_sub(EXITED_RETENTION_MS);
        let v = vec![
            self.org(),
            self.sandbox(),
            self.job(),
            EXITED.into(),
            retention_cutoff.into(),
        ];
        self.exec(DELETE_EXPIRED, v).await?;
        Ok(())
    }

    async fn mark_succeeded(
        &self,
        metrics: &JobMetrics,
        profiles_done: u64,
        now_ms: i64,
    ) -> Result<(), Error> {
        segment_job::Entity::update_many()
            .col_expr(
                segment_job::Column::Status,
                Expr::value(JobStatus::Succeeded.as_str()),
            )
            .col_expr(segment_job::Column::Metrics, Expr::value(to_json(metrics)?))
            .col_expr(
                segment_job::Column::ProfilesDone,
                Expr::value(i64::try_from(profiles_done).unwrap_or(i64::MAX)),
            )
            .col_expr(
                segment_job::Column::LeaseExpiresMs,
                Expr::value(Option::<i64>::None),
            )
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(segment_job::Column::Id.eq(&self.lease.job_id))
            .exec(self.txn)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
