//! Planner statistics on PostgreSQL, kept fresh by the service itself.
//!
//! PostgreSQL picks an index from its statistics. Tables that were never analysed look almost
//! empty to it, so `org = ? AND sandbox = ?` looks selective, and a lookup such as "which of these
//! 512 event ids are stored" walks the tenant's whole `(org, sandbox, profile_id, ...)` index
//! instead of seeking the primary key: every ingestion batch then costs time proportional to
//! everything ingested before it, and loading slows to a crawl (measured: about 350 records/s
//! after 200k records, against thousands with statistics). Autovacuum normally refreshes them,
//! but it can be switched off (it is on some managed and CI servers) and lags behind a bulk load.
//!
//! So the store counts the rows it writes to the large tables and runs `ANALYZE` on them each
//! time the count doubles since the last run (from [`MIN_ROWS`] on): a handful of runs in a
//! table's life, each a fixed-size sample (PostgreSQL reads at most 30,000 rows per table), run
//! by whichever write crossed the mark, after its transaction committed. SQLite plans without
//! statistics and needs none of this.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::{Backend, Store};

/// Rows written before the first `ANALYZE`.
pub const MIN_ROWS: u64 = 1_000;

/// The tables whose plans depend on their size: everything a tenant's data or a job's results
/// grow.
const ANALYZE: &str =
    "ANALYZE profiles, identities, events, memberships, segment_job_staging, segment_job_segments";

/// Rows written since the last `ANALYZE`, and rows written in all until then.
#[derive(Debug, Default)]
pub(super) struct PlannerStats {
    since: AtomicU64,
    before: AtomicU64,
    running: AtomicBool,
}

impl PlannerStats {
    /// Adds `rows`; says whether the count just crossed the mark (and this caller must analyse).
    fn note(&self, rows: u64) -> bool {
        let since = self.since.fetch_add(rows, Ordering::SeqCst) + rows;
        let mark = self.before.load(Ordering::SeqCst).max(MIN_ROWS);
        if since < mark {
            return false;
        }
        // One caller runs it; the others go on (the next write after it re-checks the mark).
        self.running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// Resets the count after a run (whether it worked or not, so a failing `ANALYZE` is not
    /// retried on every write).
    fn done(&self) {
        let since = self.since.swap(0, Ordering::SeqCst);
        self.before.fetch_add(since, Ordering::SeqCst);
        self.running.store(false, Ordering::SeqCst);
    }
}

impl Store {
    /// Records that a committed write added or rewrote `rows` rows of the large tables, and
    /// refreshes PostgreSQL's statistics when they doubled. A failure is logged, not returned:
    /// the write it follows has committed.
    pub(super) async fn note_rows_written(&self, rows: u64) {
        if self.backend != Backend::Postgres || rows == 0 || !self.stats.note(rows) {
            return;
        }
        let started = std::time::Instant::now();
        let result = self
            .db
            .execute_raw(Statement::from_string(DbBackend::Postgres, ANALYZE))
            .await;
        match result {
            Ok(_) => tracing::debug!(
                ms = started.elapsed().as_millis(),
                "refreshed the planner statistics"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot refresh the planner statistics"),
        }
        self.stats.done();
    }
}

#[cfg(test)]
mod tests {
    use super::{MIN_ROWS, PlannerStats};

    #[test]
    fn analyses_when_the_rows_written_double() {
        let stats = PlannerStats::default();
        assert!(!stats.note(MIN_ROWS - 1));
        assert!(stats.note(1), "the first run comes at MIN_ROWS");
        assert!(!stats.note(5), "one run at a time");
        stats.done();
        // MIN_ROWS + 5 written in all: the next run after as many again.
        assert!(!stats.note(MIN_ROWS));
        assert!(stats.note(5));
        stats.done();
        assert!(!stats.note(2 * MIN_ROWS));
    }
}
