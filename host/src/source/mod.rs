//! Sources: where batches of [`RawRecord`]s come from.
//!
//! A source is driven by one task thread: [`Source::poll_batch`] fills a
//! batch until it holds `max_records` or `max_wait` has passed, and
//! [`Source::commit`] records how far the sink has acknowledged. Sources
//! never commit on their own. Between polls the task asks
//! [`Source::lag`] how far behind the partitions' ends it is.

pub mod datagen;
pub mod group;
pub mod kafka;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::record::RawRecord;
use crate::runtime::offsets::TopicPartition;

/// What a poll saw besides the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceStatus {
    /// The source has nothing more to give right now (every assigned
    /// partition is at its end, or a bounded generator is done).
    pub idle: bool,
}

/// A failure of a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The Kafka client failed in a way retrying will not fix.
    #[error("kafka source: {message}")]
    Kafka {
        /// What failed.
        message: String,
    },
}

/// A source of record batches.
pub trait Source: Send {
    /// Append up to `max_records` records to `out`, waiting at most
    /// `max_wait` for the batch to fill.
    ///
    /// # Errors
    ///
    /// A failure the task cannot go on from.
    fn poll_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        out: &mut Vec<RawRecord>,
    ) -> Result<SourceStatus, SourceError>;

    /// Commit `(topic, partition, next offset)` positions: everything before
    /// them has been acknowledged by the sink.
    ///
    /// # Errors
    ///
    /// The commit was refused.
    fn commit(&mut self, offsets: &[(Arc<str>, i32, i64)]) -> Result<(), SourceError>;

    /// Stop fetching while keeping the source's resources (and its group
    /// membership).
    ///
    /// # Errors
    ///
    /// The client refused.
    fn pause(&mut self) -> Result<(), SourceError>;

    /// Fetch again from exactly where fetching stopped.
    ///
    /// # Errors
    ///
    /// The client refused.
    fn resume(&mut self) -> Result<(), SourceError>;

    /// The consumer lag: for each partition the source reads, how many
    /// records it holds beyond the source's position. Called after every
    /// poll; a source answers `None` when it has no fresh figure (it works
    /// the lag out now and then, not on every call) or no partitions to
    /// lag behind, and the last figure stands.
    fn lag(&mut self) -> Option<BTreeMap<TopicPartition, u64>> {
        None
    }
}
