//! Which source offsets may be committed.
//!
//! Every batch a task sends on is registered with the positions it covers
//! (for each partition, the offset after its last record). A batch is
//! *complete* once every row derived from it has been acknowledged: by the
//! sink, by the dead-letter topic, or by being filtered out. A partition's
//! committable offset is the end of the longest run of complete batches at
//! the front of its queue, so an acknowledgement that arrives out of order
//! never lets a commit skip over a record still in flight.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;

/// A topic and partition.
pub type TopicPartition = (Arc<str>, i32);

/// Offsets in flight and done, per partition.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    /// Per partition, batches in the order they were read: (batch id, the
    /// offset after the batch's last record of that partition).
    queues: BTreeMap<TopicPartition, VecDeque<(u64, i64)>>,
    /// Batches acknowledged in full.
    complete: HashSet<u64>,
    /// Batches registered and not yet acknowledged in full.
    pending: HashSet<u64>,
    /// The last offset handed out for committing, per partition.
    committed: BTreeMap<TopicPartition, i64>,
    /// A batch whose acknowledgement failed, with the reason.
    failed: Option<(u64, String)>,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register batch `id` covering `positions` (partition → next offset).
    pub fn begin(&mut self, id: u64, positions: &BTreeMap<TopicPartition, i64>) {
        self.pending.insert(id);
        for (tp, next) in positions {
            self.queues
                .entry(tp.clone())
                .or_default()
                .push_back((id, *next));
        }
    }

    /// Mark batch `id` acknowledged in full.
    pub fn complete(&mut self, id: u64) {
        self.pending.remove(&id);
        self.complete.insert(id);
    }

    /// Mark batch `id` as failed: its records were not acknowledged.
    pub fn fail(&mut self, id: u64, reason: String) {
        if self.failed.is_none() {
            self.failed = Some((id, reason));
        }
    }

    /// The first failure, if any.
    pub fn failure(&self) -> Option<&(u64, String)> {
        self.failed.as_ref()
    }

    /// Number of batches registered and not yet complete.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Positions that became committable since the last call.
    pub fn take_committable(&mut self) -> Vec<(Arc<str>, i32, i64)> {
        let keys: Vec<TopicPartition> = self.queues.keys().cloned().collect();
        let mut out = Vec::new();
        for tp in keys {
            if let Some(offset) = self.advance(&tp) {
                out.push((tp.0.clone(), tp.1, offset));
            }
        }
        self.forget_finished_batches();
        out
    }

    /// The partitions were revoked: return what is committable for them,
    /// and forget their in-flight batches (their records will be read again
    /// by the partition's next owner).
    pub fn revoke(&mut self, partitions: &[TopicPartition]) -> Vec<(Arc<str>, i32, i64)> {
        let mut out = Vec::new();
        for tp in partitions {
            if let Some(offset) = self.advance(tp) {
                out.push((tp.0.clone(), tp.1, offset));
            }
            self.queues.remove(tp);
            self.committed.remove(tp);
        }
        self.forget_finished_batches();
        out
    }

    /// Whether every registered batch touching `partitions` is complete.
    pub fn all_complete(&self, partitions: &[TopicPartition]) -> bool {
        partitions.iter().all(|tp| {
            self.queues
                .get(tp)
                .is_none_or(|q| q.iter().all(|(id, _)| self.complete.contains(id)))
        })
    }

    /// Pop complete batches off the front of `tp`'s queue; the new
    /// committable offset if it moved.
    fn advance(&mut self, tp: &TopicPartition) -> Option<i64> {
        let queue = self.queues.get_mut(tp)?;
        let mut last = None;
        while let Some((id, next)) = queue.front() {
            if !self.complete.contains(id) {
                break;
            }
            last = Some(*next);
            queue.pop_front();
        }
        let offset = last?;
        let previous = self.committed.insert(tp.clone(), offset);
        (previous != Some(offset)).then_some(offset)
    }

    /// Drop ids of complete batches that no queue mentions any more.
    fn forget_finished_batches(&mut self) {
        let live: HashSet<u64> = self
            .queues
            .values()
            .flat_map(|q| q.iter().map(|(id, _)| *id))
            .collect();
        self.complete.retain(|id| live.contains(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        (Arc::from("t"), p)
    }

    fn positions(list: &[(i32, i64)]) -> BTreeMap<TopicPartition, i64> {
        list.iter().map(|(p, o)| (tp(*p), *o)).collect()
    }

    #[test]
    fn commits_only_the_complete_prefix() {
        let mut t = OffsetTracker::new();
        t.begin(1, &positions(&[(0, 10), (1, 5)]));
        t.begin(2, &positions(&[(0, 20)]));
        t.begin(3, &positions(&[(0, 30), (1, 9)]));
        t.complete(2);
        assert_eq!(t.take_committable(), vec![]);
        assert_eq!(t.in_flight(), 2);
        t.complete(1);
        assert_eq!(
            t.take_committable(),
            vec![(Arc::from("t"), 0, 20), (Arc::from("t"), 1, 5)]
        );
        assert_eq!(t.take_committable(), vec![]);
        t.complete(3);
        assert_eq!(
            t.take_committable(),
            vec![(Arc::from("t"), 0, 30), (Arc::from("t"), 1, 9)]
        );
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn revoking_commits_what_is_done_and_drops_the_rest() {
        let mut t = OffsetTracker::new();
        t.begin(1, &positions(&[(0, 10), (1, 5)]));
        t.begin(2, &positions(&[(0, 20), (1, 8)]));
        t.complete(1);
        assert!(!t.all_complete(&[tp(0)]));
        assert_eq!(t.revoke(&[tp(0)]), vec![(Arc::from("t"), 0, 10)]);
        // Batch 2 still covers partition 1, which was kept.
        t.complete(2);
        assert_eq!(t.take_committable(), vec![(Arc::from("t"), 1, 8)]);
    }
}
