//! One claimed job, run to its end: plan, stream the sandbox's profiles in keyset pages,
//! evaluate each page on the worker threads while the next page is read and the previous one's
//! findings are staged, and commit once. A heartbeat renews the lease meanwhile; a lost lease,
//! a cancel request or a shutdown stops the run at the next page boundary.
//!
//! How a run ends decides what is written: a commit (`SUCCEEDED`, memberships swapped), a
//! failure (`FAILED` with errors a person can act on), a cancel (`CANCELLED`), a lost lease
//! (nothing at all: the job is someone else's now) or a shutdown (the lease is released so the
//! next worker takes the job over at once). In every case but the commit the memberships stay
//! exactly as they were.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::Instrument;

use super::EngineOptions;
use super::evaluate::{PageOutcome, evaluate_page};
use super::plan::Plan;
use crate::domain::Clock;
use crate::domain::job::{JobError, JobMetrics, JobStatus, SegmentJob};
use crate::error::Error;
use crate::store::{JobLease, LeaseCheck, RawProfile, StagedRow, StagingLayout, Store};

/// Why a run stopped.
#[derive(Debug)]
enum Ending {
    Committed,
    Cancel,
    Fail(Vec<JobError>),
    Lost,
    Shutdown,
}

/// Flags the heartbeat raises for the run.
#[derive(Debug, Default)]
struct Signals {
    lost: AtomicBool,
    cancel: AtomicBool,
}

/// Where the evaluation phase spent its time (logged at DEBUG when it ends): reading pages,
/// reading external memberships, evaluating, and staging. Evaluating page k, reading page k+1
/// and staging page k-1 overlap; `overlapped` is the wall time of the three together.
#[derive(Debug, Default)]
struct Phases {
    pages: u64,
    read: Duration,
    externals: Duration,
    evaluate: Duration,
    overlapped: Duration,
    stage: Duration,
}

impl Phases {
    fn log(&self, profiles: u64) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(
            profiles,
            pages = self.pages,
            read_ms = ms(self.read),
            externals_ms = ms(self.externals),
            evaluate_ms = ms(self.evaluate),
            read_and_evaluate_ms = ms(self.overlapped),
            stage_ms = ms(self.stage),
            "evaluation phases"
        );
    }
}

/// Runs `f` and says how long it took.
async fn timed<F: std::future::Future>(f: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}

pub(super) struct JobRun {
    pub store: Store,
    pub clock: Clock,
    pub options: EngineOptions,
    pub lease: JobLease,
    pub job: SegmentJob,
    pub shutdown: watch::Receiver<bool>,
}

impl JobRun {
    /// Runs the job to one of its endings and records it.
    pub async fn run(self) {
        let span = tracing::info_span!(
            "job",
            job = %self.lease.job_id,
            org = %self.lease.tenant.org,
            sandbox = %self.lease.tenant.sandbox,
            attempt = self.lease.attempt,
        );
        async move {
            tracing::info!(segments = self.job.segments.len(), "claimed");
            let signals = Arc::new(Signals::default());
            let heartbeat = self.spawn_heartbeat(signals.clone());
            let mut metrics = self.job.metrics.clone();
            let ending = if self.job.status == JobStatus::Cancelling {
                Ok(Ending::Cancel)
            } else {
                self.execute(&signals, &mut metrics).await
            };
            heartbeat.abort();
            let ending = ending.unwrap_or_else(|e| {
                tracing::error!(error = %e, "the database failed during the run");
                Ending::Fail(vec![JobError::new(
                    "store_error",
                    format!(
                        "the database failed while the job ran ({e}); memberships are \
                         unchanged; check the database and create the job again"
                    ),
                )])
            });
            self.finish(ending, metrics).await;
        }
        .instrument(span)
        .await
    }

    fn spawn_heartbeat(&self, signals: Arc<Signals>) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let lease = self.lease.clone();
        let clock = self.clock.clone();
        let lease_ms = self.options.lease_ms();
        let every = self.options.lease / 3;
        tokio::spawn(
            async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store
                        .renew_job_lease(&lease, clock.now_ms(), lease_ms)
                        .await
                    {
                        Ok(LeaseCheck::Held) => {}
                        Ok(LeaseCheck::Cancelling) => signals.cancel.store(true, Ordering::SeqCst),
                        Ok(LeaseCheck::Lost) => {
                            signals.lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot renew the job's lease"),
                    }
                }
            }
            .in_current_span(),
        )
    }

    fn interrupted(&self, signals: &Signals) -> Option<Ending> {
        if signals.lost.load(Ordering::SeqCst) {
            Some(Ending::Lost)
        } else if signals.cancel.load(Ordering::SeqCst) {
            Some(Ending::Cancel)
        } else if super::shutting_down(&self.shutdown) {
            Some(Ending::Shutdown)
        } else {
            None
        }
    }

    fn ending_of(check: LeaseCheck) -> Option<Ending> {
        match check {
            LeaseCheck::Held => None,
            LeaseCheck::Cancelling => Some(Ending::Cancel),
            LeaseCheck::Lost => Some(Ending::Lost),
        }
    }

    async fn execute(&self, signals: &Signals, metrics: &mut JobMetrics) -> Result<Ending, Error> {
        let plan = match Plan::build(&self.job.segments) {
            Ok(plan) => Arc::new(plan),
            Err(e) => return Ok(Ending::Fail(vec![e])),
        };
        if let Some(errors) = self.missing_references(&plan).await? {
            return Ok(Ending::Fail(errors));
        }
        let tenant = &self.lease.tenant;
        let total = self.store.count_profiles(tenant).await?;
        metrics.profile_segmentation_time.start_ms = Some(self.clock.now_ms());
        metrics.profile_segmentation_time.end_ms = None;
        metrics.total_profiles = 0;
        let begun = self
            .store
            .begin_job_evaluation(&self.lease, metrics, total, self.clock.now_ms())
            .await?;
        if let Some(ending) = Self::ending_of(begun) {
            return Ok(ending);
        }
        let done = match self.evaluate_all(plan, signals).await? {
            Ok(done) => done,
            Err(ending) => return Ok(ending),
        };
        self.record_totals(metrics, done);
        metrics.profile_segmentation_time.end_ms = Some(self.clock.now_ms());
        let (check, committed) = self
            .store
            .commit_job(
                &self.lease,
                metrics.clone(),
                done,
                self.job.evaluation_time_ms,
                &self.clock,
            )
            .await?;
        if let Some(ending) = Self::ending_of(check) {
            return Ok(ending);
        }
        if let Some(m) = committed {
            *metrics = m;
        }
        Ok(Ending::Committed)
    }

    /// Segments read with `inSegment` that are neither in the job nor defined any more (a
    /// definition changed and its old reference deleted after the job was created).
    async fn missing_references(&self, plan: &Plan) -> Result<Option<Vec<JobError>>, Error> {
        let missing = self
            .store
            .missing_definition_ids(&self.lease.tenant, &plan.externals)
            .await?;
        if missing.is_empty() {
            return Ok(None);
        }
        let version_of = |id: &str| {
            self.job
                .segments
                .iter()
                .find(|s| s.segment_id == id)
                .map_or(0, |s| s.version)
        };
        let mut errors = Vec::new();
        for s in &plan.segments {
            for m in s
                .program
                .segment_refs()
                .iter()
                .filter(|r| missing.contains(r))
            {
                errors.push(JobError::new(
                    "segment_reference_missing",
                    format!(
                        "segment definition {} (version {} in this job) uses inSegment(\"{m}\"), \
                         but segment definition {m} no longer exists; create a new job, which \
                         will evaluate the definitions as they are now",
                        s.segment_id,
                        version_of(&s.segment_id)
                    ),
                ));
            }
        }
        Ok(Some(errors))
    }

    /// Streams every page through three overlapping steps: while page k is evaluated, page
    /// k+1 is read (on a read connection) and the findings of page k-1 are staged (on the
    /// writer). Returns the number of profiles evaluated, or the ending that stopped the
    /// stream. Progress counts a page once its findings are staged.
    async fn evaluate_all(
        &self,
        plan: Arc<Plan>,
        signals: &Signals,
    ) -> Result<Result<u64, Ending>, Error> {
        let tenant = &self.lease.tenant;
        let page_size = self.options.page_size;
        let mut phases = Phases::default();
        let layout = self.store.staging_layout(&self.lease).await?;
        let (first, took) =
            timed(
                self.store
                    .raw_profile_page(tenant, None, page_size, plan.needs_events),
            )
            .await;
        phases.read += took;
        let mut page = first?;
        let mut evaluated = 0u64;
        let mut unstaged: Option<(Vec<StagedRow>, u64)> = None;
        while let Some(last) = page.last().map(|p| p.profile_id.clone()) {
            if let Some(ending) = self.interrupted(signals) {
                return Ok(Err(ending));
            }
            let started = Instant::now();
            let stored = self.external_memberships(&plan, &page).await?;
            phases.externals += started.elapsed();
            let evaluation = timed(self.spawn_evaluation(plan.clone(), page, stored));
            let next = timed(self.store.raw_profile_page(
                tenant,
                Some(&last),
                page_size,
                plan.needs_events,
            ));
            let staging = timed(self.stage(&layout, unstaged.take()));
            let started = Instant::now();
            let ((outcome, evaluating), (next, reading), (staged, staging)) =
                tokio::join!(evaluation, next, staging);
            phases.overlapped += started.elapsed();
            phases.evaluate += evaluating;
            phases.read += reading;
            phases.stage += staging;
            if let Some(ending) = Self::ending_of(staged?) {
                return Ok(Err(ending));
            }
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => return Ok(Err(Ending::Fail(vec![e]))),
            };
            evaluated += outcome.profiles;
            phases.pages += 1;
            unstaged = Some((outcome.qualified, evaluated));
            page = next?;
            if !self.options.page_pause.is_zero() {
                tokio::time::sleep(self.options.page_pause).await;
            }
        }
        let (staged, staging) = timed(self.stage(&layout, unstaged)).await;
        phases.stage += staging;
        if let Some(ending) = Self::ending_of(staged?) {
            return Ok(Err(ending));
        }
        phases.log(evaluated);
        Ok(Ok(evaluated))
    }

    /// Stages one evaluated page's findings with the progress so far (nothing to do before the
    /// first page is evaluated).
    async fn stage(
        &self,
        layout: &StagingLayout,
        page: Option<(Vec<StagedRow>, u64)>,
    ) -> Result<LeaseCheck, Error> {
        let Some((qualified, done)) = page else {
            return Ok(LeaseCheck::Held);
        };
        self.store
            .stage_job_page(
                &self.lease,
                layout,
                &qualified,
                done,
                self.clock.now_ms(),
                self.options.lease_ms(),
            )
            .await
    }

    async fn external_memberships(
        &self,
        plan: &Plan,
        page: &[RawProfile],
    ) -> Result<HashMap<String, Vec<String>>, Error> {
        if plan.externals.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = page.iter().map(|p| p.profile_id.clone()).collect();
        self.store
            .current_members_of(&self.lease.tenant, &ids, &plan.externals)
            .await
    }

    async fn spawn_evaluation(
        &self,
        plan: Arc<Plan>,
        page: Vec<RawProfile>,
        stored: HashMap<String, Vec<String>>,
    ) -> Result<PageOutcome, JobError> {
        let now = self.job.evaluation_time_ms;
        let threads = self.options.threads;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            evaluate_page(&plan, &page, &stored, now, threads)
        })
        .await
        .unwrap_or_else(|e| {
            Err(JobError::new(
                "evaluation_panicked",
                format!("the evaluator stopped unexpectedly ({e}); this is a bug"),
            ))
        })
    }

    /// `totalProfiles`, and `totalProfilesByMergePolicy`: every profile is scanned under each
    /// merge policy the job's definitions use.
    fn record_totals(&self, metrics: &mut JobMetrics, done: u64) {
        metrics.total_profiles = done;
        metrics.total_profiles_by_merge_policy = self
            .job
            .segments
            .iter()
            .map(|s| (s.merge_policy().to_owned(), done))
            .collect();
    }

    /// Records the ending (everything but a commit, which recorded itself).
    async fn finish(&self, ending: Ending, mut metrics: JobMetrics) {
        let now = self.clock.now_ms();
        let recorded = match &ending {
            Ending::Committed => {
                tracing::info!(profiles = metrics.total_profiles, "succeeded");
                return;
            }
            Ending::Lost => {
                tracing::warn!("lease lost: another worker owns the job now; stopping");
                return;
            }
            Ending::Shutdown => {
                tracing::info!("shutting down: releasing the job for another worker");
                self.store
                    .release_job(&self.lease)
                    .await
                    .map(|()| LeaseCheck::Held)
            }
            Ending::Cancel => {
                metrics.total_time.end_ms = Some(now);
                tracing::info!("cancelled");
                self.store.cancel_job_run(&self.lease, &metrics, now).await
            }
            Ending::Fail(errors) => {
                metrics.total_time.end_ms = Some(now);
                for e in errors {
                    tracing::warn!(code = %e.code, "failed: {}", e.message);
                }
                self.store
                    .fail_job(&self.lease, errors, &metrics, now)
                    .await
            }
        };
        match recorded {
            Ok(LeaseCheck::Held | LeaseCheck::Cancelling) => {}
            Ok(LeaseCheck::Lost) => tracing::warn!("lease lost before the ending was recorded"),
            Err(e) => tracing::error!(
                error = %e,
                "cannot record how the job ended; its lease will lapse and another worker \
                 will take it over"
            ),
        }
    }
}
