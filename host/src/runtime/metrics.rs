//! Counters of a running task, read by the progress line and the summary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one task has done so far. Updated once per batch.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records read from the source.
    pub records_in: AtomicU64,
    /// Rows handed to the sink.
    pub records_out: AtomicU64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: AtomicU64,
    /// Rows dropped by transforms.
    pub filtered: AtomicU64,
    /// Batches processed.
    pub batches: AtomicU64,
    /// Offset commits made.
    pub commits: AtomicU64,
    /// Why the task is waiting instead of moving records (an unreachable
    /// schema registry), while it is.
    stalled: Mutex<Option<String>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Metrics::records_in`].
    pub records_in: u64,
    /// See [`Metrics::records_out`].
    pub records_out: u64,
    /// See [`Metrics::dead_lettered`].
    pub dead_lettered: u64,
    /// See [`Metrics::filtered`].
    pub filtered: u64,
    /// See [`Metrics::batches`].
    pub batches: u64,
    /// See [`Metrics::commits`].
    pub commits: u64,
}

impl Metrics {
    /// Read every counter.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            records_in: self.records_in.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            filtered: self.filtered.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
        }
    }

    /// Say why the task waits, or that it no longer does.
    pub fn set_stalled(&self, reason: Option<String>) {
        *self.stalled.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    }

    /// Why the task waits, if it does.
    pub fn stalled(&self) -> Option<String> {
        self.stalled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}
