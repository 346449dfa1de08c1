//! Sinks: where batches go.
//!
//! A sink takes a whole Arrow batch, writes it, and reports through the
//! batch's [`BatchAck`] once the rows are safely stored: on disk (and
//! synced, if asked) for files, acknowledged by the broker for Kafka. The
//! task commits source offsets only for batches acknowledged in full.

pub mod file;
pub mod kafka;
pub mod parquet;

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;

use crate::runtime::ack::BatchAck;

/// A failure of a sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A file could not be opened or written.
    #[error("file sink `{path}`: {message}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
    /// The Kafka producer failed.
    #[error("kafka sink: {message}")]
    Kafka {
        /// What failed.
        message: String,
    },
    /// The batch could not be encoded (a column of a type the sink cannot
    /// write, usually made by a plugin).
    #[error("cannot encode the batch for the sink: {message}")]
    Encode {
        /// What is wrong with the batch.
        message: String,
    },
}

/// A destination of record batches.
pub trait Sink: Send {
    /// Write `batch`; every write handed out is registered on `ack` with
    /// [`BatchAck::expect`] and acknowledged with [`BatchAck::ack`] once
    /// stored.
    ///
    /// # Errors
    ///
    /// The batch could not be handed out at all.
    fn write(&mut self, batch: &RecordBatch, ack: &Arc<BatchAck>) -> Result<(), SinkError>;

    /// Wait up to `timeout` for every write handed out so far.
    ///
    /// # Errors
    ///
    /// Writes were still outstanding at the deadline.
    fn flush(&mut self, timeout: Duration) -> Result<(), SinkError>;

    /// Called when the task has nothing to write for a moment, so a sink
    /// can act on time (close a file that is due).
    ///
    /// # Errors
    ///
    /// What the sink did failed.
    fn tick(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Whether the sink holds acknowledgements back on purpose (until a
    /// file closes), so the task must not wait for them before reading on.
    fn holds_acknowledgements(&self) -> bool {
        false
    }
}
