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
//! of profiles. The counters of the job's metrics are read from the same staged rows, so they
//! agree with the member lists exactly.

use std::collections::BTreeMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use tracing::instrument;

use super::entity::segment_job;
use super::job_runs::{JobLease, LeaseCheck, clear_staging, discard};
use super::jobs::to_json;
use super::{Store, db_error, finish, raw_statement};
use crate::domain::Clock;
use crate::domain::job::{EXITED_RETENTION_MS, JobMetrics, JobStatus, StatusCounts};
use crate::error::Error;
use crate::pql::MembershipStatus;

const REALIZED: &str = "realized";
const EXISTING: &str = "existing";
const EXITED: &str = "exited";

/// Staged rows of definitions deleted while the job ran (by key: only those segments' rows are
/// visited).
const DROP_DELETED_SEGMENTS: &str = "DELETE FROM segment_job_results WHERE job_id = ? AND \
     segment_id IN (SELECT s.segment_id FROM segment_job_segments s WHERE s.job_id = ? \
     AND NOT EXISTS (SELECT 1 FROM segment_definitions d WHERE d.org = ? AND d.sandbox = ? \
     AND d.id = s.segment_id))";

/// Every staged row's status, in one pass: `gone` when its profile was deleted while the job
/// ran (left out of everything below), `existing` when the profile is a member already, else
/// `realized`.
const QUALIFIED_OUTCOMES: &str = "UPDATE segment_job_results SET outcome = CASE \
     WHEN NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = segment_job_results.profile_id \
     AND p.org = ? AND p.sandbox = ?) THEN ? \
     WHEN EXISTS (SELECT 1 FROM memberships m WHERE m.org = ? AND m.sandbox = ? \
     AND m.segment_id = segment_job_results.segment_id \
     AND m.profile_id = segment_job_results.profile_id AND m.status IN (?, ?)) \
     THEN ? ELSE ? END WHERE job_id = ?";

/// Members that no longer qualify: staged as `exited`.
const STAGE_EXITS: &str = "INSERT INTO segment_job_results (job_id, segment_id, profile_id, \
     namespaces, outcome) SELECT CAST(? AS TEXT), m.segment_id, m.profile_id, '', \
     CAST(? AS TEXT) \
     FROM memberships m JOIN segment_job_segments s ON s.job_id = ? AND s.segment_id = m.segment_id \
     WHERE m.org = ? AND m.sandbox = ? AND m.status IN (?, ?) \
     AND EXISTS (SELECT 1 FROM segment_definitions d WHERE d.org = ? AND d.sandbox = ? \
     AND d.id = m.segment_id) \
     AND NOT EXISTS (SELECT 1 FROM segment_job_results r WHERE r.job_id = ? \
     AND r.segment_id = m.segment_id AND r.profile_id = m.profile_id)";

/// Staged rows per segment, status and set of identity namespaces: one scan gives both the
/// status and the namespace counters.
const COUNTS: &str = "SELECT segment_id, outcome, namespaces, COUNT(*) FROM \
     segment_job_results WHERE job_id = ? GROUP BY segment_id, outcome, namespaces";

/// The job's live segments (still defined), for zero counters.
const LIVE_SEGMENTS: &str = "SELECT s.segment_id FROM segment_job_segments s WHERE s.job_id = ? \
     AND EXISTS (SELECT 1 FROM segment_definitions d WHERE d.org = ? AND d.sandbox = ? \
     AND d.id = s.segment_id)";

/// The staged rows become memberships: a row the profile has already (a member staying in, an
/// earlier exit re-entering, a member exiting) is updated in place, which leaves the table's
/// keys and indexes untouched; the others are inserted.
const UPSERT_STAGED: &str = "INSERT INTO memberships (org, sandbox, segment_id, profile_id, \
     status, last_qualification_ms, version) SELECT CAST(? AS TEXT), CAST(? AS TEXT), \
     r.segment_id, r.profile_id, r.outcome, CAST(? AS BIGINT), s.version \
     FROM segment_job_results r JOIN segment_job_segments s ON s.job_id = r.job_id \
     AND s.segment_id = r.segment_id WHERE r.job_id = ? AND r.outcome <> ? \
     ON CONFLICT (org, sandbox, segment_id, profile_id) DO UPDATE SET \
     status = excluded.status, last_qualification_ms = excluded.last_qualification_ms, \
     version = excluded.version";

/// Exits of the job's segments past retention (every row this job wrote carries its
/// evaluation instant, so none of them is among these).
const DELETE_EXPIRED: &str = "DELETE FROM memberships WHERE org = ? AND sandbox = ? \
     AND segment_id IN (SELECT segment_id FROM segment_job_segments WHERE job_id = ?) \
     AND status = ? AND last_qualification_ms < ?";

/// The staged outcome of a row whose profile was deleted while the job ran.
const GONE: &str = "gone";

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
        self.prepare_outcomes().await?;
        self.fill_counters(&mut metrics).await?;
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

    /// Drops what no longer applies, decides every staged row's status, stages the exits.
    async fn prepare_outcomes(&self) -> Result<(), Error> {
        let tenant = || vec![self.org(), self.sandbox()];
        let mut v = vec![self.job(), self.job()];
        v.extend(tenant());
        self.exec(DROP_DELETED_SEGMENTS, v).await?;
        let mut v = tenant();
        v.push(GONE.into());
        v.extend(tenant());
        v.extend([
            REALIZED.into(),
            EXISTING.into(),
            EXISTING.into(),
            REALIZED.into(),
            self.job(),
        ]);
        self.exec(QUALIFIED_OUTCOMES, v).await?;
        let mut v = vec![self.job(), EXITED.into(), self.job()];
        v.extend(tenant());
        v.extend([REALIZED.into(), EXISTING.into()]);
        v.extend(tenant());
        v.push(self.job());
        self.exec(STAGE_EXITS, v).await?;
        Ok(())
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

    /// The per-segment counters, from the staged rows as they will be written.
    async fn fill_counters(&self, metrics: &mut JobMetrics) -> Result<(), Error> {
        let live = self
            .query(LIVE_SEGMENTS, vec![self.job(), self.org(), self.sandbox()])
            .await?;
        let mut by_status: BTreeMap<String, StatusCounts> = BTreeMap::new();
        for row in live {
            let segment: String = row.try_get_by_index(0).map_err(db_error)?;
            by_status.insert(segment, StatusCounts::default());
        }
        let mut by_namespace: BTreeMap<String, BTreeMap<String, u64>> = by_status
            .keys()
            .map(|s| (s.clone(), BTreeMap::new()))
            .collect();
        for row in self.query(COUNTS, vec![self.job()]).await? {
            let segment: String = row.try_get_by_index(0).map_err(db_error)?;
            let outcome: String = row.try_get_by_index(1).map_err(db_error)?;
            let namespaces: String = row.try_get_by_index(2).map_err(db_error)?;
            let n: i64 = row.try_get_by_index(3).map_err(db_error)?;
            let n = u64::try_from(n).unwrap_or(0);
            if outcome == GONE {
                continue;
            }
            let entry = by_status.entry(segment.clone()).or_default();
            match MembershipStatus::parse(&outcome) {
                Some(MembershipStatus::Realized) => entry.realized += n,
                Some(MembershipStatus::Existing) => entry.existing += n,
                Some(MembershipStatus::Exited) => {
                    entry.exited += n;
                    continue;
                }
                None => {
                    return Err(Error::internal(format!(
                        "staged outcome '{outcome}' of job {} is not a status",
                        self.lease.job_id
                    )));
                }
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
        let v = vec![
            self.org(),
            self.sandbox(),
            self.evaluation_time_ms.into(),
            self.job(),
            GONE.into(),
        ];
        self.exec(UPSERT_STAGED, v).await?;
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
