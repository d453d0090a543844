//! Segment job repository, the side the API uses: create (with the per-sandbox running limit
//! checked in the same transaction), read, list with filters, and cancel requests. The engine's
//! side (claims, leases, staging, commit) is in `job_runs` and `job_commit`.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set, TransactionTrait,
};
use tracing::instrument;

use super::entity::{segment_job, segment_job_segment};
use super::{Backend, Store, db_error, finish, record_tenant};
use crate::context::Tenant;
use crate::domain::job::{
    JobError, JobFilter, JobMetrics, JobProgress, JobSegment, JobSort, JobSortField, JobStatus,
    SegmentJob,
};
use crate::error::{Error, ResourceKind};

/// Rows per INSERT of a job's segments (5 bound values each).
const SEGMENT_INSERT_CHUNK: usize = 1000;

pub(super) fn tenant_jobs(tenant: &Tenant) -> Select<segment_job::Entity> {
    segment_job::Entity::find()
        .filter(segment_job::Column::Org.eq(&tenant.org))
        .filter(segment_job::Column::Sandbox.eq(&tenant.sandbox))
}

fn corrupt(id: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored segment job {id}: {what}: {e}"))
}

/// A stored row as the domain's job.
pub(super) fn job_of(m: segment_job::Model) -> Result<SegmentJob, Error> {
    let status =
        JobStatus::parse(&m.status).ok_or_else(|| corrupt(&m.id, "unknown status", &m.status))?;
    let segments: Vec<JobSegment> =
        serde_json::from_str(&m.segments).map_err(|e| corrupt(&m.id, "segments", e))?;
    let metrics: JobMetrics =
        serde_json::from_str(&m.metrics).map_err(|e| corrupt(&m.id, "metrics", e))?;
    let errors: Vec<JobError> =
        serde_json::from_str(&m.errors).map_err(|e| corrupt(&m.id, "errors", e))?;
    Ok(SegmentJob {
        status,
        source: m.source,
        request_id: m.request_id,
        all_segments: m.all_segments,
        segments,
        evaluation_time_ms: m.evaluation_time_ms,
        metrics,
        progress: JobProgress {
            profiles_done: u64::try_from(m.profiles_done).unwrap_or(0),
            profiles_total: u64::try_from(m.profiles_total).unwrap_or(0),
        },
        errors,
        attempts: u32::try_from(m.attempts).unwrap_or(u32::MAX),
        worker: m.lease_owner,
        creation_time_ms: m.creation_time_ms,
        update_time_ms: m.update_time_ms,
        id: m.id,
    })
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode JSON: {e}")))
}

fn non_terminal_names() -> Vec<&'static str> {
    JobStatus::non_terminal()
        .iter()
        .map(|s| s.as_str())
        .collect()
}

impl Store {
    /// Inserts a new job, unless the tenant already has `max_running` jobs that are not
    /// terminal ([`Error::ResourceExhausted`]). The count and the insert are one transaction,
    /// serialised per tenant, so concurrent creates cannot overshoot the limit.
    #[instrument(skip_all, err, fields(org, sandbox, job = %job.id))]
    pub async fn insert_job(
        &self,
        tenant: &Tenant,
        job: &SegmentJob,
        max_running: u32,
    ) -> Result<(), Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.insert_job_in(&txn, tenant, job, max_running).await;
        finish(txn, result).await
    }

    async fn insert_job_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        job: &SegmentJob,
        max_running: u32,
    ) -> Result<(), Error> {
        let key = format!("segment_jobs/{}/{}", tenant.org, tenant.sandbox);
        self.advisory_lock(txn, &key).await?;
        let running = tenant_jobs(tenant)
            .filter(segment_job::Column::Status.is_in(non_terminal_names()))
            .count(txn)
            .await
            .map_err(db_error)?;
        if running >= u64::from(max_running) {
            return Err(Error::ResourceExhausted {
                message: format!(
                    "too many segment jobs in this sandbox: {running} are not finished yet and \
                     at most {max_running} may be (setting max_running_jobs_per_sandbox); wait \
                     for one to end or cancel one, then try again"
                ),
                retry_after: Some(std::time::Duration::from_secs(10)),
            });
        }
        segment_job::Entity::insert(segment_job::ActiveModel {
            id: Set(job.id.clone()),
            org: Set(tenant.org.clone()),
            sandbox: Set(tenant.sandbox.clone()),
            status: Set(job.status.as_str().to_owned()),
            source: Set(job.source.clone()),
            request_id: Set(job.request_id.clone()),
            all_segments: Set(job.all_segments),
            segments: Set(to_json(&job.segments)?),
            evaluation_time_ms: Set(job.evaluation_time_ms),
            lease_owner: Set(None),
            lease_expires_ms: Set(None),
            attempts: Set(0),
            profiles_done: Set(0),
            profiles_total: Set(0),
            metrics: Set(to_json(&job.metrics)?),
            errors: Set(to_json(&job.errors)?),
            creation_time_ms: Set(job.creation_time_ms),
            update_time_ms: Set(job.update_time_ms),
        })
        .exec(txn)
        .await
        .map_err(db_error)?;
        for chunk in job.segments.chunks(SEGMENT_INSERT_CHUNK) {
            let rows = chunk.iter().map(|s| segment_job_segment::ActiveModel {
                job_id: Set(job.id.clone()),
                segment_id: Set(s.segment_id.clone()),
                org: Set(tenant.org.clone()),
                sandbox: Set(tenant.sandbox.clone()),
                version: Set(s.version),
            });
            segment_job_segment::Entity::insert_many(rows)
                .exec(txn)
                .await
                .map_err(db_error)?;
        }
        Ok(())
    }

    /// One job of the tenant.
    #[instrument(skip_all, err, fields(org, sandbox))]
    pub async fn get_job(&self, tenant: &Tenant, id: &str) -> Result<SegmentJob, Error> {
        record_tenant(tenant);
        get_job_in(&self.reads, tenant, id, false).await
    }

    /// The jobs of the tenant among `ids` (unknown ids are left out), in no particular order.
    #[instrument(skip_all, err, fields(org, sandbox))]
    pub async fn get_jobs(
        &self,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<Vec<SegmentJob>, Error> {
        record_tenant(tenant);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        tenant_jobs(tenant)
            .filter(segment_job::Column::Id.is_in(ids.iter().cloned()))
            .all(&self.reads)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(job_of)
            .collect()
    }

    /// A page of the tenant's jobs matching `filter`, in `sort` order, and how many match.
    #[instrument(skip_all, err, fields(org, sandbox))]
    pub async fn list_jobs(
        &self,
        tenant: &Tenant,
        filter: &JobFilter,
        sort: JobSort,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<SegmentJob>, u64), Error> {
        record_tenant(tenant);
        let q = filtered_jobs(tenant, filter);
        let total = q.clone().count(&self.reads).await.map_err(db_error)?;
        let column = match sort.field {
            JobSortField::CreationTime => segment_job::Column::CreationTimeMs,
            JobSortField::UpdateTime => segment_job::Column::UpdateTimeMs,
        };
        let q = if sort.descending {
            q.order_by_desc(column)
                .order_by_desc(segment_job::Column::Id)
        } else {
            q.order_by_asc(column).order_by_asc(segment_job::Column::Id)
        };
        let rows = q
            .offset(offset)
            .limit(limit)
            .all(&self.reads)
            .await
            .map_err(db_error)?;
        let jobs = rows.into_iter().map(job_of).collect::<Result<_, _>>()?;
        Ok((jobs, total))
    }

    /// Marks a job for cancelling: a job that is not terminal becomes `CANCELLING` (its worker,
    /// or the next one to claim it, finishes it as `CANCELLED`); a terminal or already
    /// cancelling job is left as it is. Returns the job as it now is.
    #[instrument(skip_all, err, fields(org, sandbox))]
    pub async fn request_job_cancel(
        &self,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
    ) -> Result<SegmentJob, Error> {
        record_tenant(tenant);
        let txn = self.db.begin().await.map_err(db_error)?;
        let result = self.request_job_cancel_in(&txn, tenant, id, now_ms).await;
        finish(txn, result).await
    }

    pub(super) async fn request_job_cancel_in(
        &self,
        txn: &DatabaseTransaction,
        tenant: &Tenant,
        id: &str,
        now_ms: i64,
    ) -> Result<SegmentJob, Error> {
        let for_update = self.backend == Backend::Postgres;
        let mut job = get_job_in(txn, tenant, id, for_update).await?;
        if job.status.is_terminal() || job.status == JobStatus::Cancelling {
            return Ok(job);
        }
        segment_job::Entity::update_many()
            .col_expr(
                segment_job::Column::Status,
                Expr::value(JobStatus::Cancelling.as_str()),
            )
            .col_expr(segment_job::Column::UpdateTimeMs, Expr::value(now_ms))
            .filter(segment_job::Column::Id.eq(id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        job.status = JobStatus::Cancelling;
        job.update_time_ms = now_ms;
        Ok(job)
    }
}

async fn get_job_in<C: ConnectionTrait>(
    conn: &C,
    tenant: &Tenant,
    id: &str,
    for_update: bool,
) -> Result<SegmentJob, Error> {
    let mut q = tenant_jobs(tenant).filter(segment_job::Column::Id.eq(id));
    if for_update {
        q = q.lock_exclusive();
    }
    let row = q
        .one(conn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::not_found(ResourceKind::SegmentJob, id))?;
    job_of(row)
}

fn filtered_jobs(tenant: &Tenant, filter: &JobFilter) -> Select<segment_job::Entity> {
    let mut q = tenant_jobs(tenant);
    if let Some(status) = filter.status {
        q = q.filter(segment_job::Column::Status.eq(status.as_str()));
    }
    if let Some(source) = &filter.source {
        q = q.filter(segment_job::Column::Source.eq(source));
    }
    if let Some(id) = &filter.id {
        q = q.filter(segment_job::Column::Id.eq(id));
    }
    if let Some(segment) = &filter.segment_id {
        let jobs_with_segment = Query::select()
            .column(segment_job_segment::Column::JobId)
            .from(segment_job_segment::Entity)
            .and_where(segment_job_segment::Column::Org.eq(&tenant.org))
            .and_where(segment_job_segment::Column::Sandbox.eq(&tenant.sandbox))
            .and_where(segment_job_segment::Column::SegmentId.eq(segment))
            .to_owned();
        q = q.filter(segment_job::Column::Id.in_subquery(jobs_with_segment));
    }
    q
}
