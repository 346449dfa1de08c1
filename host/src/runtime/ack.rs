//! Acknowledgement of one batch by everything it was sent to.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::offsets::OffsetTracker;

/// Counts the acknowledgements a batch still waits for. The count starts
/// at one, a guard released by [`BatchAck::seal`] once every write has been
/// handed out, so that a fast acknowledgement cannot complete a batch
/// whose later writes are not yet sent.
#[derive(Debug)]
pub struct BatchAck {
    id: u64,
    remaining: AtomicUsize,
    tracker: Arc<Mutex<OffsetTracker>>,
}

impl BatchAck {
    /// A new acknowledgement for batch `id`.
    pub fn new(id: u64, tracker: Arc<Mutex<OffsetTracker>>) -> Arc<Self> {
        Arc::new(BatchAck {
            id,
            remaining: AtomicUsize::new(1),
            tracker,
        })
    }

    /// The batch this acknowledges.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Expect `n` more acknowledgements.
    pub fn expect(&self, n: usize) {
        self.remaining.fetch_add(n, Ordering::AcqRel);
    }

    /// One write was acknowledged.
    pub fn ack(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            lock(&self.tracker).complete(self.id);
        }
    }

    /// One write failed for good; the batch will never be complete.
    pub fn fail(&self, reason: String) {
        lock(&self.tracker).fail(self.id, reason);
    }

    /// Every write of the batch has been handed out.
    pub fn seal(&self) {
        self.ack();
    }
}

/// Lock the tracker; a panic elsewhere while holding it leaves the data
/// consistent (every method finishes its change before returning), so the
/// poison flag is ignored.
pub fn lock(tracker: &Mutex<OffsetTracker>) -> std::sync::MutexGuard<'_, OffsetTracker> {
    tracker
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
