//! The segment job engine: workers that claim jobs from the database and run them.
//!
//! Jobs are rows, and the database is the only coordinator: each worker loops "queue new jobs,
//! claim the oldest runnable one under a lease, run it", and sleeps until woken (a job created
//! in this process) or until its poll interval passes (jobs created by other replicas, leases
//! that lapsed). Any number of processes may run workers against one PostgreSQL; each job is
//! committed by exactly one attempt because every write of a run is fenced by its lease (see
//! `store::job_runs`). A job whose worker died is taken over once its lease lapses and starts
//! again from scratch; a worker that shuts down releases its job so the take-over is immediate.
//!
//! Inside a job ([`run`]): definitions compiled once and ordered by `inSegment` dependencies
//! ([`plan`]), profiles streamed in keyset pages with their events and decoded once, every
//! definition evaluated per profile on all cores ([`evaluate`]), findings staged per page, one
//! commit at the end. Memory is bounded by the page size, whatever the number of profiles.
//! `docs/jobs.md` has the whole design and the benchmark.

pub mod evaluate;
pub mod plan;
mod run;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::domain::Clock;
use crate::store::Store;

/// How the engine runs; the service reads these from its settings (`docs/settings.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Jobs this process runs at once (0: this process runs none).
    pub workers: usize,
    /// How long a claim lasts without renewal; renewed every third of it.
    pub lease: Duration,
    /// How often an idle worker looks for work it was not woken for.
    pub poll_interval: Duration,
    /// Profiles per page.
    pub page_size: u64,
    /// Pause after each page, to leave database capacity to other work (0: none).
    pub page_pause: Duration,
    /// Threads evaluating a page.
    pub threads: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            workers: 2,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            page_size: 1000,
            page_pause: Duration::ZERO,
            threads: default_threads(),
        }
    }
}

impl EngineOptions {
    pub fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Every core the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The workers of one process.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Store,
    clock: Clock,
    options: EngineOptions,
    wake: Arc<Notify>,
    process: String,
}

impl Engine {
    /// An engine over `store`; `wake` is the job service's signal for new jobs.
    pub fn new(store: Store, options: EngineOptions, wake: Arc<Notify>) -> Engine {
        Engine {
            store,
            clock: Clock::System,
            options,
            wake,
            process: process_name(),
        }
    }

    /// The `host/pid/tag` prefix of this process's worker names.
    pub fn process_name(&self) -> &str {
        &self.process
    }

    /// Spawns the workers into `tasks`. Each returns once `shutdown` turns true, after
    /// releasing the job it holds.
    pub fn spawn<E: Send + 'static>(
        &self,
        tasks: &mut JoinSet<Result<(), E>>,
        shutdown: &watch::Receiver<bool>,
    ) {
        if self.options.workers == 0 {
            tracing::info!("job_workers is 0: this process runs no segment jobs");
            return;
        }
        tracing::info!(
            workers = self.options.workers,
            threads = self.options.threads,
            process = %self.process,
            "segment job workers started"
        );
        for n in 1..=self.options.workers {
            let worker = Worker {
                name: format!("{}/worker-{n}", self.process),
                engine: self.clone(),
                shutdown: shutdown.clone(),
            };
            tasks.spawn(async move {
                worker.run().await;
                Ok(())
            });
        }
    }
}

struct Worker {
    name: String,
    engine: Engine,
    shutdown: watch::Receiver<bool>,
}

impl Worker {
    async fn run(mut self) {
        let e = self.engine.clone();
        while !shutting_down(&self.shutdown) {
            let now = e.clock.now_ms();
            if let Err(err) = e.store.queue_new_jobs(now).await {
                tracing::warn!(worker = %self.name, error = %err, "cannot queue new jobs");
            }
            match e
                .store
                .claim_job(&self.name, now, e.options.lease_ms())
                .await
            {
                Ok(Some((lease, job))) => {
                    run::JobRun {
                        store: e.store.clone(),
                        clock: e.clock.clone(),
                        options: e.options.clone(),
                        lease,
                        job,
                        shutdown: self.shutdown.clone(),
                    }
                    .run()
                    .await;
                }
                Ok(None) => self.idle().await,
                Err(err) => {
                    tracing::warn!(worker = %self.name, error = %err, "cannot claim a job");
                    self.idle().await;
                }
            }
        }
    }

    /// Waits for a wake-up, the poll interval, or shutdown.
    async fn idle(&mut self) {
        let wake = self.engine.wake.clone();
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(self.engine.options.poll_interval) => {}
            _ = self.shutdown.changed() => {}
        }
    }
}

/// Whether the shutdown signal was given (or its sender is gone, which means the same).
pub(crate) fn shutting_down(signal: &watch::Receiver<bool>) -> bool {
    *signal.borrow() || signal.has_changed().is_err()
}

/// `host/pid/tag`: the host name and process id say where a job runs; the random tag tells two
/// lives of one process id apart (pid 1 in every container).
fn process_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &tag[..6])
}

#[cfg(test)]
mod tests;
