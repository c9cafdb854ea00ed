//! Sync orchestration: from stock changes to quantities on every channel.
//!
//! ```text
//!  movements ─> engine (sync_skus / incremental / full) ─> plan (pure) ─> outbox (enqueue_jobs)
//!  outbox ─> runner (run_queue: claim, pace, push through adapters, complete / fail) ─> listings
//!  readable channels ─> reconcile (read, compare, drift log, repair jobs)
//!  primary source levels ─> pull (adjustment movements) ─> sync_skus
//! ```
//!
//! Everything here goes through [`LedgerStore`](crate::ledger::LedgerStore) and the
//! [`Channel`](crate::channels::Channel) trait, so it runs against any backend and against fake
//! servers in tests. Time comes in as `now` (unix seconds) or through a [`Clock`] where the code
//! waits (pacing) or measures a time budget.

pub mod engine;
pub mod explain;
pub mod factory;
pub mod feeds;
pub mod plan;
pub mod probe;
pub mod pull;
pub mod reconcile;
pub mod runner;
pub mod supplier_replies;
pub mod suppliers;

pub use engine::{full, incremental, sync_skus, sync_skus_to, PlanCounts, SyncReport, INCREMENTAL_CURSOR};
pub use factory::{Adapters, TokenKeeping};
pub use plan::{Decision, Target, Verdict};
pub use pull::{pull, PullReport, SourceLevel};
pub use reconcile::{reconcile, ReconcileReport};
pub use runner::{run_queue, AdapterFactory, ChannelReport, RunOptions, RunReport, StorePacer};

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Where the sync engine reads the time and how it waits. The runner measures its budget and
/// paces channels through it; tests pass a [`ManualClock`] so backoff and pacing take no real
/// time.
pub trait Clock: Send + Sync {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;

    /// Waits `duration`.
    fn sleep(&self, duration: Duration);

    /// Unix time in seconds (what the store takes as `now`).
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system clock: real time, real sleeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that moves only when told to (or when something sleeps on it): for tests and
/// previews, so backoff and pacing cost no real time.
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `ms` (unix milliseconds).
    pub fn at_ms(ms: i64) -> Self {
        ManualClock { ms: AtomicI64::new(ms) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, duration: Duration) {
        let ms = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }

    /// Sleeping moves the clock instead of waiting.
    fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_when_slept_on() {
        let clock = ManualClock::at_ms(1_700_000_000_500);
        assert_eq!(clock.now(), 1_700_000_000);
        clock.sleep(Duration::from_millis(600));
        assert_eq!((clock.now_ms(), clock.now()), (1_700_000_001_100, 1_700_000_001));
        assert!(SystemClock.now() > 1_600_000_000);
    }
}
