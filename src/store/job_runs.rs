//! Segment job repository, the engine's side: claiming a runnable job under a lease, renewing
//! it, reading profiles page by page, staging what each page found, and ending a run.
//!
//! Every write a worker makes after its claim is fenced by its [`JobLease`]: the statement only
//! touches the job row while `lease_owner` and `attempts` are still the worker's. A take-over
//! bumps `attempts`, so a worker that lost its lease (paused, partitioned, presumed dead) can
//! never write into the job again, and exactly one attempt can commit. On PostgreSQL the claim
//! selects with `FOR UPDATE SKIP LOCKED`, so replicas never claim the same row twice and never
//! wait on each other; on SQLite the single connection serialises everything.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use tracing::instrument;

use super::entity::{membership, profile, segment_job, segment_job_staging};
use super::job_staging::StagingLayout;
use super::jobs::{job_of, to_json};
use super::{Backend, Store, db_error, finish, raw_statement};
use crate::context::Tenant;
use crate::domain::job::{JobError, JobMetrics, JobStatus, SegmentJob};
use crate::error::Error;
use crate::pql::MembershipStatus;

/// Most staged rows per INSERT (5 bound values each).
const STAGE_INSERT_CHUNK: usize = 1024;

/// A worker's hold on a job: the fencing token every engine write checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    pub job_id: String,
    pub tenant: Tenant,
    /// The worker's name (`host/pid/worker-n`), stored as `lease_owner`.
    pub worker: String,
    /// The job's `attempts` after this claim.
    pub attempt: i64,
}

/// What a fenced write found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseCheck {
    /// The lease is still this worker's and the job is processing.
    Held,
    /// The lease is still this worker's but a cancel was requested.
    Cancelling,
    /// Another worker took the job over, or it ended: stop without writing anything.
    Lost,
}

/// Separates the namespaces of [`StagedRow::namespaces`] (a character no namespace code uses).
pub const NAMESPACE_SEPARATOR: char = '\u{1f}';

/// One staged finding: a profile that qualified for a segment, with the profile's identity
/// namespaces (sorted, joined with [`NAMESPACE_SEPARATOR`]) for the per-namespace counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRow {
    pub segment_id: String,
    pub profile_id: String,
    pub namespaces: String,
}

/// A profile as the engine reads it: its document and its events' documents as stored JSON
/// text (events by timestamp, then id), decoded by the engine's worker threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawProfile {
    pub profile_id: String,
    pub document: String,
    pub events: Vec<String>,
}

/// Joins a profile's event documents in a page row: the ASCII record separator, which JSON text
/// never contains (inside strings control characters are escaped, outside them only whitespace
/// may appear).
const EVENT_SEPARATOR: char = '\u{1e}';

/// The page query of [`Store::raw_profile_page`] (binds org, sandbox, the id to start after or
/// '' and the limit). Events are joined in the engine's order: by timestamp, then id; the two
/// backends only spell the ordered aggregate differently.
fn page_sql(backend: Backend, with_events: bool) -> String {
    let events = if with_events {
        let ordered_join = match backend {
            Backend::Sqlite => "group_concat(e.document, char(30)",
            Backend::Postgres => "string_agg(e.document, chr(30)",
        };
        format!(
            "(SELECT {ordered_join} ORDER BY e.timestamp_ms, e.event_id) FROM events e \
             WHERE e.org = p.org AND e.sandbox = p.sandbox AND e.profile_id = p.id)"
        )
    } else {
        "NULL".to_owned()
    };
    format!(
        "SELECT p.id, p.document, {events} FROM profiles p WHERE p.org = ? AND p.sandbox = ? \
         AND p.id > ? ORDER BY p.id LIMIT ?"
    )
}

fn runnable_statuses() -> [&'static str; 2] {
    [
        JobStatus::Processing.as_str(),
        JobStatus::Cancelling.as_str(),
    ]
}

/// The job row, while it is still held by `lease`.
fn held(lease: &JobLease) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(segment_job::Column::Id.eq(&lease.job_id))
        .add(segment_job::Column::LeaseOwner.eq(&lease.worker))
        .add(segment_job::Column::Attempts.eq(lease.attempt))
}

/// Why a fenced update touched no row.
pub(super) async fn classify<C: ConnectionTrait>(
    conn: &C,
    lease: &JobLease,
) -> Result<LeaseCheck, Error> {
    let row = segment_job::Entity::find()
        .filter(held(lease))
        .one(conn)
        .await
        .map_err(db_error)?;
    Ok(match row.map(|r| r.status) {
        Some(s) if s == JobStatus::Cancelling.as_str() => LeaseCheck::Cancelling,
        Some(s) if s == JobStatus::Processing.as_str() => LeaseCheck::Held,
        Some(_) | None => LeaseCheck::Lost,
    })
}

/// Rolls back a transaction that must keep nothing (the lease was not held).
pub(super) async fn discard(txn: DatabaseTransaction) {
    if let Err(e) = txn.rollback().await {
        tracing::warn!(error = %e, "rollback failed");
    }
}

/// Deletes every staged row of a job.
pub(super) async fn clear_staging<C: ConnectionTrait>(conn: &C, job_id: &str) -> Result<(), Error> {
    segment_job_staging::Entity::delete_many()
        .filter(segment_job_staging::Column::JobId.eq(job_id))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

impl Store {
    /// Moves every `NEW` job to `QUEUED` (a worker process has seen it); returns how many.
    #[instrument(skip_all, err)]
    pub async fn queue_new_jobs(&self, now_ms: i64) -> Result<u64, Error> {
        let done = segment_job::Entity::update_many()
            .col_expr(
                segment_job::Column::Status,
                Expr::value(JobStatus::Queued.as_str()),
            )
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(segment_job::Column::Status.eq(JobStatus::New.as_str()))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected)
    }

    /// Claims the oldest runnable job, of any tenant, for `worker` until `now + lease_ms`:
    /// a `QUEUED` job, or a `PROCESSING` / `CANCELLING` job whose lease lapsed or was released.
    /// A `QUEUED` job becomes `PROCESSING`; its attempt count goes up by one and whatever an
    /// earlier attempt staged is discarded (a taken-over job starts again from scratch).
    #[instrument(skip_all, err)]
    pub async fn claim_job(
        &self,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<(JobLease, SegmentJob)>, Error> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.claim_in(&txn, worker, now_ms, lease_ms).await;
        finish(txn, result).await
    }

    /// The oldest job a worker may claim now, locked (`FOR UPDATE SKIP LOCKED`) on PostgreSQL.
    async fn oldest_runnable(
        &self,
        txn: &DatabaseTransaction,
        now_ms: i64,
    ) -> Result<Option<segment_job::Model>, Error> {
        let lapsed = sea_orm::Condition::all()
            .add(segment_job::Column::Status.is_in(runnable_statuses()))
            .add(
                sea_orm::Condition::any()
                    .add(segment_job::Column::LeaseExpiresMs.is_null())
                    .add(segment_job::Column::LeaseExpiresMs.lt(now_ms)),
            );
        let mut q = segment_job::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(segment_job::Column::Status.eq(JobStatus::Queued.as_str()))
                    .add(lapsed),
            )
            .order_by_asc(segment_job::Column::CreationTimeMs)
            .order_by_asc(segment_job::Column::Id)
            .limit(1);
        if self.backend == Backend::Postgres {
            q = q.lock_with_behavior(
                sea_orm::sea_query::LockType::Update,
                sea_orm::sea_query::LockBehavior::SkipLocked,
            );
        }
        q.one(txn).await.map_err(db_error)
    }

    async fn claim_in(
        &self,
        txn: &DatabaseTransaction,
        worker: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Option<(JobLease, SegmentJob)>, Error> {
        let Some(row) = self.oldest_runnable(txn, now_ms).await? else {
            return Ok(None);
        };
        let status = if row.status == JobStatus::Cancelling.as_str() {
            JobStatus::Cancelling
        } else {
            JobStatus::Processing
        };
        let attempt = row.attempts + 1;
        let claimed = segment_job::Entity::update_many()
            .col_expr(segment_job::Column::Status, Expr::value(status.as_str()))
            .col_expr(segment_job::Column::LeaseOwner, Expr::value(worker))
            .col_expr(
                segment_job::Column::LeaseExpiresMs,
                Expr::value(now_ms + lease_ms),
            )
            .col_expr(segment_job::Column::Attempts, Expr::value(attempt))
            .col_expr(segment_job::Column::ProfilesDone, Expr::value(0i64))
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(segment_job::Column::Id.eq(&row.id))
            .filter(segment_job::Column::Attempts.eq(row.attempts))
            .exec(txn)
            .await
            .map_err(db_error)?;
        if claimed.rows_affected != 1 {
            // Another claim got there between the read and the update (not possible with the row
            // lock or SQLite's single connection, but then this worker simply looks again).
            return Ok(None);
        }
        clear_staging(txn, &row.id).await?;
        let lease = JobLease {
            job_id: row.id.clone(),
            tenant: Tenant::new(row.org.clone(), row.sandbox.clone()),
            worker: worker.to_owned(),
            attempt,
        };
        let mut job = job_of(row)?;
        job.status = status;
        job.attempts = u32::try_from(attempt).unwrap_or(u32::MAX);
        job.worker = Some(worker.to_owned());
        job.progress.profiles_done = 0;
        job.update_time_ms = now_ms;
        Ok(Some((lease, job)))
    }

    /// Extends the lease to `now + lease_ms` and says whether it is still held. A failure is
    /// logged once, by the heartbeat that calls this (a WARN: it retries at its next beat), not
    /// also as an ERROR here.
    #[instrument(skip_all, err(level = "debug"), fields(job = %lease.job_id))]
    pub async fn renew_job_lease(
        &self,
        lease: &JobLease,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        let done = segment_job::Entity::update_many()
            .col_expr(
                segment_job::Column::LeaseExpiresMs,
                Expr::value(now_ms + lease_ms),
            )
            .filter(held(lease))
            .filter(segment_job::Column::Status.is_in(runnable_statuses()))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        if done.rows_affected == 0 {
            return Ok(LeaseCheck::Lost);
        }
        classify(&self.db, lease).await
    }

    /// Records the start of evaluation: the metrics so far and the profile count progress is
    /// measured against.
    #[instrument(skip_all, err, fields(job = %lease.job_id))]
    pub async fn begin_job_evaluation(
        &self,
        lease: &JobLease,
        metrics: &JobMetrics,
        profiles_total: u64,
        now_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        let done = segment_job::Entity::update_many()
            .col_expr(segment_job::Column::Metrics, Expr::value(to_json(metrics)?))
            .col_expr(
                segment_job::Column::ProfilesTotal,
                Expr::value(i64::try_from(profiles_total).unwrap_or(i64::MAX)),
            )
            .col_expr(segment_job::Column::ProfilesDone, Expr::value(0i64))
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(held(lease))
            .filter(segment_job::Column::Status.eq(JobStatus::Processing.as_str()))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        if done.rows_affected == 0 {
            return classify(&self.db, lease).await;
        }
        Ok(LeaseCheck::Held)
    }

    /// Stages one page's findings (every profile that qualified, per segment; packed per
    /// profile, see `job_staging`) and records the progress, in one transaction that first checks the lease: a worker that
    /// lost its job, or whose job is being cancelled, stages nothing.
    #[instrument(skip_all, err, fields(job = %lease.job_id, rows = qualified.len()))]
    pub async fn stage_job_page(
        &self,
        lease: &JobLease,
        layout: &StagingLayout,
        qualified: &[StagedRow],
        profiles_done: u64,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = stage_in(
            &txn,
            lease,
            layout,
            qualified,
            profiles_done,
            now_ms,
            lease_ms,
        )
        .await;
        match result {
            Ok(LeaseCheck::Held) => finish(txn, Ok(LeaseCheck::Held)).await,
            Ok(other) => {
                discard(txn).await;
                Ok(other)
            }
            Err(e) => finish(txn, Err(e)).await,
        }
    }

    /// Ends a run that failed: `FAILED` with `errors` (or `CANCELLED` when a cancel was
    /// requested meanwhile), staging discarded, memberships untouched.
    #[instrument(skip_all, err, fields(job = %lease.job_id))]
    pub async fn fail_job(
        &self,
        lease: &JobLease,
        errors: &[JobError],
        metrics: &JobMetrics,
        now_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        self.end_run(lease, Some(errors), metrics, now_ms).await
    }

    /// Ends a run that was cancelled: `CANCELLED`, staging discarded, memberships untouched.
    #[instrument(skip_all, err, fields(job = %lease.job_id))]
    pub async fn cancel_job_run(
        &self,
        lease: &JobLease,
        metrics: &JobMetrics,
        now_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        self.end_run(lease, None, metrics, now_ms).await
    }

    async fn end_run(
        &self,
        lease: &JobLease,
        errors: Option<&[JobError]>,
        metrics: &JobMetrics,
        now_ms: i64,
    ) -> Result<LeaseCheck, Error> {
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = end_run_in(&txn, lease, errors, metrics, now_ms).await;
        finish(txn, result).await
    }

    /// Gives a job back at shutdown: the lease is dropped (the job stays `PROCESSING` or
    /// `CANCELLING`), so the next worker to look, here or in another process, takes it over
    /// at once instead of waiting for the lease to lapse.
    #[instrument(skip_all, err, fields(job = %lease.job_id))]
    pub async fn release_job(&self, lease: &JobLease) -> Result<(), Error> {
        segment_job::Entity::update_many()
            .col_expr(
                segment_job::Column::LeaseOwner,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                segment_job::Column::LeaseExpiresMs,
                Expr::value(Option::<i64>::None),
            )
            .filter(held(lease))
            .exec(&self.db)
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// How many profiles the tenant has.
    #[instrument(skip_all, err)]
    pub async fn count_profiles(&self, tenant: &Tenant) -> Result<u64, Error> {
        profile::Entity::find()
            .filter(profile::Column::Org.eq(&tenant.org))
            .filter(profile::Column::Sandbox.eq(&tenant.sandbox))
            .count(&self.reads)
            .await
            .map_err(db_error)
    }

    /// The next keyset page of profiles (id > `after_id`, in id order) as stored text, with
    /// their events when `with_events`, in one query: each profile row carries its events'
    /// documents joined in their order (see [`page_sql`]), so the page costs one row per profile
    /// instead of one per event (every row crosses from the database driver's thread to the
    /// engine on its own).
    #[instrument(skip_all, err)]
    pub async fn raw_profile_page(
        &self,
        tenant: &Tenant,
        after_id: Option<&str>,
        limit: u64,
        with_events: bool,
    ) -> Result<Vec<RawProfile>, Error> {
        let values = vec![
            tenant.org.clone().into(),
            tenant.sandbox.clone().into(),
            after_id.unwrap_or_default().to_owned().into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ];
        let stmt = raw_statement(self.backend, &page_sql(self.backend, with_events), values);
        let rows = self.reads.query_all_raw(stmt).await.map_err(db_error)?;
        let mut page = Vec::with_capacity(rows.len());
        for row in rows {
            let events: Option<String> = row.try_get_by_index(2).map_err(db_error)?;
            page.push(RawProfile {
                profile_id: row.try_get_by_index(0).map_err(db_error)?,
                document: row.try_get_by_index(1).map_err(db_error)?,
                events: events.map_or_else(Vec::new, |joined| {
                    joined.split(EVENT_SEPARATOR).map(str::to_owned).collect()
                }),
            });
        }
        Ok(page)
    }

    /// For each of `profile_ids`, the segments among `segment_ids` it is currently a member of
    /// (`realized` or `existing`): what `inSegment` reads for segments outside a job.
    #[instrument(skip_all, err)]
    pub async fn current_members_of(
        &self,
        tenant: &Tenant,
        profile_ids: &[String],
        segment_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, Error> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        if profile_ids.is_empty() || segment_ids.is_empty() {
            return Ok(out);
        }
        let members = [
            MembershipStatus::Realized.as_str(),
            MembershipStatus::Existing.as_str(),
        ];
        let rows: Vec<(String, String)> = membership::Entity::find()
            .select_only()
            .column(membership::Column::ProfileId)
            .column(membership::Column::SegmentId)
            .filter(membership::Column::Org.eq(&tenant.org))
            .filter(membership::Column::Sandbox.eq(&tenant.sandbox))
            .filter(membership::Column::SegmentId.is_in(segment_ids.iter().cloned()))
            .filter(membership::Column::ProfileId.is_in(profile_ids.iter().cloned()))
            .filter(membership::Column::Status.is_in(members))
            .into_tuple()
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        for (profile_id, segment_id) in rows {
            out.entry(profile_id).or_default().push(segment_id);
        }
        Ok(out)
    }
}

async fn stage_in(
    txn: &DatabaseTransaction,
    lease: &JobLease,
    layout: &StagingLayout,
    qualified: &[StagedRow],
    profiles_done: u64,
    now_ms: i64,
    lease_ms: i64,
) -> Result<LeaseCheck, Error> {
    let done = segment_job::Entity::update_many()
        .col_expr(
            segment_job::Column::ProfilesDone,
            Expr::value(i64::try_from(profiles_done).unwrap_or(i64::MAX)),
        )
        .col_expr(
            segment_job::Column::LeaseExpiresMs,
            Expr::value(now_ms + lease_ms),
        )
        .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
        .filter(held(lease))
        .filter(segment_job::Column::Status.eq(JobStatus::Processing.as_str()))
        .exec(txn)
        .await
        .map_err(db_error)?;
    if done.rows_affected == 0 {
        return classify(txn, lease).await;
    }
    let rows = layout.pack(&lease.job_id, qualified)?;
    for chunk in power_of_two_chunks(&rows, STAGE_INSERT_CHUNK) {
        segment_job_staging::Entity::insert_many(chunk.iter().cloned())
            .exec(txn)
            .await
            .map_err(db_error)?;
    }
    Ok(LeaseCheck::Held)
}

/// Splits `rows` into chunks whose sizes are powers of two up to `max`: a page's rows then use at
/// most a dozen distinct INSERT statements, whatever their count, so the connection's prepared
/// statement cache (and with it the process's memory) stays small however many pages a job has.
pub(super) fn power_of_two_chunks<T>(rows: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = if rest.len() >= max {
            max
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        Some(chunk)
    })
}

async fn end_run_in(
    txn: &DatabaseTransaction,
    lease: &JobLease,
    errors: Option<&[JobError]>,
    metrics: &JobMetrics,
    now_ms: i64,
) -> Result<LeaseCheck, Error> {
    let status = match errors {
        // A cancel requested while the run was failing still ends as CANCELLED: only
        // CANCELLING -> CANCELLED leaves that state.
        Some(_) => Expr::case(
            segment_job::Column::Status.eq(JobStatus::Cancelling.as_str()),
            JobStatus::Cancelled.as_str(),
        )
        .finally(JobStatus::Failed.as_str())
        .into(),
        None => Expr::value(JobStatus::Cancelled.as_str()),
    };
    let mut update = segment_job::Entity::update_many()
        .col_expr(segment_job::Column::Status, status)
        .col_expr(segment_job::Column::Metrics, Expr::value(to_json(metrics)?))
        .col_expr(
            segment_job::Column::LeaseExpiresMs,
            Expr::value(Option::<i64>::None),
        )
        .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms));
    if let Some(errors) = errors {
        update = update.col_expr(segment_job::Column::Errors, Expr::value(to_json(&errors)?));
    }
    let done = update
        .filter(held(lease))
        .filter(segment_job::Column::Status.is_in(runnable_statuses()))
        .exec(txn)
        .await
        .map_err(db_error)?;
    if done.rows_affected == 0 {
        return Ok(LeaseCheck::Lost);
    }
    clear_staging(txn, &lease.job_id).await?;
    Ok(LeaseCheck::Held)
}

#[cfg(test)]
mod tests {
    use super::power_of_two_chunks;

    #[test]
    fn chunks_are_powers_of_two_and_cover_everything() {
        let rows: Vec<u32> = (0..3000).collect();
        let sizes: Vec<usize> = power_of_two_chunks(&rows, 1024).map(<[u32]>::len).collect();
        assert_eq!(sizes, vec![1024, 1024, 512, 256, 128, 32, 16, 8]);
        let again: Vec<u32> = power_of_two_chunks(&rows, 1024)
            .flatten()
            .copied()
            .collect();
        assert_eq!(again, rows);
        assert_eq!(power_of_two_chunks(&rows[..0], 1024).count(), 0);
    }
}
