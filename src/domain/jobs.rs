//! The segment job service: create (freezing the definitions and the evaluation instant),
//! read, list, batch get, cancel and watch. Running jobs is the engine's work
//! ([`crate::engine`]); this service only writes job rows and wakes the local workers.
//!
//! A watch is a stream of the job as it changes: the current state first, then every change of
//! status or progress seen by polling the row, and at least one message a second while the job
//! runs, ending with the terminal state. Polling the row (not an in-process channel) is what
//! lets a watcher follow a job that another replica runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tracing::instrument;

use crate::context::RequestContext;
use crate::domain::Clock;
use crate::domain::batch;
use crate::domain::definition::{EXPRESSION_TYPE_PQL, ExpressionInput, SegmentDefinition};
use crate::domain::expression;
use crate::domain::job::{
    JobBatchResult, JobFilter, JobInput, JobList, JobListQuery, JobMetrics, JobProgress,
    JobSegment, JobSegments, JobSort, JobStatus, MAX_JOB_BATCH_GET_IDS, SOURCE_API, SegmentJob,
    TimeWindow,
};
use crate::domain::page::{self, Page};
use crate::error::{Error, ResourceKind};
use crate::store::Store;

/// How often a watch reads the job row.
pub const WATCH_POLL: Duration = Duration::from_millis(100);
/// A watch sends the job at least this often while it runs, changed or not.
pub const WATCH_HEARTBEAT: Duration = Duration::from_secs(1);

/// Limits on job creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// Jobs of one sandbox that may be unfinished at once (`max_running_jobs_per_sandbox`).
    pub max_running_per_sandbox: u32,
}

/// Segment jobs of one store.
#[derive(Debug, Clone)]
pub struct JobService {
    store: Store,
    clock: Clock,
    limits: JobLimits,
    wake: Arc<Notify>,
}

impl JobService {
    pub fn new(store: Store, limits: JobLimits) -> JobService {
        JobService::with_clock(store, Clock::System, limits)
    }

    pub fn with_clock(store: Store, clock: Clock, limits: JobLimits) -> JobService {
        JobService {
            store,
            clock,
            limits,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notified when a job is created, so this process's idle workers look at once instead of
    /// at their next poll.
    pub fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Creates a job (status `NEW`) over the definitions asked for, frozen now: their id,
    /// version, canonical expression and merge policy. Unknown ids are `NotFound` naming every
    /// one of them; too many unfinished jobs in the sandbox is `ResourceExhausted`.
    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn create(&self, ctx: &RequestContext, input: JobInput) -> Result<SegmentJob, Error> {
        let now = self.clock.now_ms();
        let evaluation_time_ms = match input.evaluation_time_ms {
            Some(t) => check_instant(t)?,
            None => now,
        };
        let (all_segments, definitions) = match &input.segments {
            JobSegments::All => (true, self.all_definitions(ctx).await?),
            JobSegments::Ids(ids) => (false, self.named_definitions(ctx, ids).await?),
        };
        let mut segments = definitions
            .iter()
            .map(snapshot)
            .collect::<Result<Vec<_>, _>>()?;
        segments.sort_by(|a, b| a.segment_id.cmp(&b.segment_id));
        let job = SegmentJob {
            id: uuid::Uuid::new_v4().to_string(),
            status: JobStatus::New,
            source: SOURCE_API.to_owned(),
            request_id: ctx.request_id.clone(),
            all_segments,
            segments,
            evaluation_time_ms,
            metrics: JobMetrics {
                total_time: TimeWindow {
                    start_ms: Some(now),
                    end_ms: None,
                },
                ..JobMetrics::default()
            },
            progress: JobProgress::default(),
            errors: Vec::new(),
            attempts: 0,
            worker: None,
            creation_time_ms: now,
            update_time_ms: now,
        };
        self.store
            .insert_job(&ctx.tenant, &job, self.limits.max_running_per_sandbox)
            .await?;
        self.wake.notify_one();
        Ok(job)
    }

    async fn all_definitions(&self, ctx: &RequestContext) -> Result<Vec<SegmentDefinition>, Error> {
        let all = self.store.list_definitions_all(&ctx.tenant).await?;
        if all.is_empty() {
            return Err(Error::invalid(
                "segments",
                "the sandbox has no segment definitions, so \"*\" names nothing to evaluate; \
                 create a definition first",
            ));
        }
        Ok(all)
    }

    async fn named_definitions(
        &self,
        ctx: &RequestContext,
        ids: &[String],
    ) -> Result<Vec<SegmentDefinition>, Error> {
        let found = self.store.get_definitions(&ctx.tenant, ids).await?;
        if found.len() < ids.len() {
            let missing: Vec<&str> = ids
                .iter()
                .filter(|id| !found.iter().any(|d| &d.id == *id))
                .map(String::as_str)
                .collect();
            return Err(Error::not_found(
                ResourceKind::SegmentDefinition,
                missing.join("', '"),
            ));
        }
        Ok(found)
    }

    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn get(&self, ctx: &RequestContext, id: &str) -> Result<SegmentJob, Error> {
        self.store.get_job(&ctx.tenant, id).await
    }

    /// A page of the sandbox's jobs, filtered by `status` and AEP's `property` filter.
    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn list(&self, ctx: &RequestContext, query: JobListQuery) -> Result<JobList, Error> {
        let sort = match query.sort.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => JobSort::parse(s)?,
            Some(_) | None => JobSort::default(),
        };
        let limit = page::effective_limit(query.limit)?;
        let mut filter = JobFilter {
            status: query.status,
            ..JobFilter::default()
        };
        if let Some(p) = query.property.as_deref().filter(|p| !p.trim().is_empty()) {
            filter = filter.with_property(p)?;
            if query.status.is_some_and(|s| Some(s) != filter.status) {
                return Err(Error::invalid(
                    "property",
                    "the status in property differs from the status filter",
                ));
            }
        }
        let scope = format!("jobs/{}/{}", sort.to_wire(), filter.scope());
        let start = page::offset_start(query.start, query.page_token.as_deref(), &scope)?;
        let (items, total) = self
            .store
            .list_jobs(&ctx.tenant, &filter, sort, start, u64::from(limit))
            .await?;
        Ok(JobList {
            page: Page::at_offset(items, total, limit, start, &scope),
            sort,
        })
    }

    /// One result per requested id (1 to [`MAX_JOB_BATCH_GET_IDS`]), in request order.
    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn batch_get(
        &self,
        ctx: &RequestContext,
        ids: &[String],
    ) -> Result<Vec<JobBatchResult>, Error> {
        let unique = batch::distinct_ids(ids, MAX_JOB_BATCH_GET_IDS)?;
        let found = self.store.get_jobs(&ctx.tenant, &unique).await?;
        Ok(batch::answer_each(
            ids,
            found,
            |j| j.id.as_str(),
            ResourceKind::SegmentJob,
        ))
    }

    /// Marks a job for cancelling (`CANCELLING`; the engine ends it as `CANCELLED` and leaves
    /// the memberships as they were). A terminal job is returned unchanged.
    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn cancel(&self, ctx: &RequestContext, id: &str) -> Result<SegmentJob, Error> {
        let job = self
            .store
            .request_job_cancel(&ctx.tenant, id, self.clock.now_ms())
            .await?;
        if job.status == JobStatus::Cancelling {
            tracing::info!(job = %id, "segment job marked for cancelling");
            self.wake.notify_one();
        }
        Ok(job)
    }

    /// Follows a job: the current state at once, then every change seen and a message at
    /// least every [`WATCH_HEARTBEAT`], ending after the terminal state. An unknown job is
    /// `NotFound` before the stream starts; the stream ends early when the receiver is dropped.
    #[instrument(skip_all, err, fields(org = %ctx.tenant.org, sandbox = %ctx.tenant.sandbox))]
    pub async fn watch(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<mpsc::Receiver<Result<SegmentJob, Error>>, Error> {
        let first = self.store.get_job(&ctx.tenant, id).await?;
        let (tx, rx) = mpsc::channel(4);
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let mut last = first.clone();
            let mut last_sent = tokio::time::Instant::now();
            if tx.send(Ok(first)).await.is_err() || last.status.is_terminal() {
                return;
            }
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(WATCH_POLL) => {}
                    _ = tx.closed() => return,
                }
                let job = match store.get_job(&tenant, &id).await {
                    Ok(job) => job,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let due = last_sent.elapsed() >= WATCH_HEARTBEAT;
                if changed(&last, &job) || due {
                    let terminal = job.status.is_terminal();
                    last = job.clone();
                    last_sent = tokio::time::Instant::now();
                    if tx.send(Ok(job)).await.is_err() || terminal {
                        return;
                    }
                }
            }
        });
        Ok(rx)
    }
}

/// Whether a watcher should hear about `now` after `before`.
fn changed(before: &SegmentJob, now: &SegmentJob) -> bool {
    before.status != now.status
        || before.progress != now.progress
        || before.attempts != now.attempts
        || before.errors != now.errors
}

/// An evaluation instant must be a date the calendar can show (years 1 to 9999 roughly).
fn check_instant(ms: i64) -> Result<i64, Error> {
    const MIN: i64 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    if (MIN..=MAX).contains(&ms) {
        Ok(ms)
    } else {
        Err(Error::invalid(
            "evaluation_time",
            format!("{ms} ms is outside the years 1 to 9999"),
        ))
    }
}

/// A definition as a job freezes it: its expression in canonical pql/text.
fn snapshot(d: &SegmentDefinition) -> Result<JobSegment, Error> {
    let input = ExpressionInput {
        r#type: EXPRESSION_TYPE_PQL.to_owned(),
        format: d.expression.format.as_str().to_owned(),
        value: d.expression.value.clone(),
    };
    let validated = expression::validate(&input).map_err(|e| {
        Error::internal(format!(
            "stored segment definition {} no longer compiles: {e}",
            d.id
        ))
    })?;
    Ok(JobSegment {
        segment_id: d.id.clone(),
        version: d.version,
        expression: validated.canonical_text,
        merge_policy_id: d.merge_policy_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_outside_the_calendar_are_refused() {
        assert!(check_instant(0).is_ok());
        assert!(check_instant(-1).is_ok());
        assert!(check_instant(i64::MAX).is_err());
        let err = check_instant(i64::MIN).unwrap_err();
        assert_eq!(err.field_violations()[0].field, "evaluation_time");
    }
}
