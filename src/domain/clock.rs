//! The service's one source of "now", injected so tests name their instants.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock time in epoch milliseconds, or a manual clock for tests.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// Reads a shared value; [`Clock::set`] and [`Clock::advance`] move it.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start_ms: i64) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start_ms)))
    }

    pub fn now_ms(&self) -> i64 {
        match self {
            Clock::System => chrono::Utc::now().timestamp_millis(),
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    /// Sets a manual clock (no effect on the system clock).
    pub fn set(&self, ms: i64) {
        if let Clock::Manual(v) = self {
            v.store(ms, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward by `ms` (no effect on the system clock).
    pub fn advance(&self, ms: i64) {
        if let Clock::Manual(v) = self {
            v.fetch_add(ms, Ordering::SeqCst);
        }
    }
}
