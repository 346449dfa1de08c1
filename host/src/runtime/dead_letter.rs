//! The dead-letter path: bad records, as they came, with why.
//!
//! A dead-lettered record keeps its original key, value and headers, and
//! gains headers that say what went wrong:
//!
//! | header | value |
//! |---|---|
//! | `sabot.error.pipeline` | the pipeline's name |
//! | `sabot.error.stage` | `decode`, or `transform:NAME` |
//! | `sabot.error.class` | `decode` (could not be read) or `rejected` (a plugin refused it) |
//! | `sabot.error.message` | the reason, naming the field at fault |
//! | `sabot.error.topic`, `.partition`, `.offset` | where the record came from |

use std::sync::Arc;

use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::BaseRecord;

use crate::record::RawRecord;
use crate::runtime::ack::BatchAck;
use crate::sink::kafka::{AckProducer, send};

/// Why a record is bad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRecord {
    /// The stage that refused it: `decode` or `transform:NAME`.
    pub stage: String,
    /// `decode` or `rejected`.
    pub class: &'static str,
    /// The reason.
    pub message: String,
}

/// Writes bad records to a topic.
pub struct DeadLetter {
    pipeline: String,
    topic: String,
    producer: AckProducer,
}

impl DeadLetter {
    /// A writer to `topic` through `producer`.
    pub fn new(pipeline: &str, topic: &str, producer: AckProducer) -> Self {
        DeadLetter {
            pipeline: pipeline.to_owned(),
            topic: topic.to_owned(),
            producer,
        }
    }

    /// Send `record` with the error headers; acknowledged through `ack`.
    ///
    /// # Errors
    ///
    /// The producer would not take the record.
    pub fn send(
        &self,
        record: &RawRecord,
        why: &BadRecord,
        ack: &Arc<BatchAck>,
    ) -> Result<(), String> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len() + 7);
        for h in &record.headers {
            headers = headers.insert(KafkaHeader {
                key: &h.key,
                value: h.value.as_deref(),
            });
        }
        let partition = record.partition.to_string();
        let offset = record.offset.to_string();
        for (key, value) in [
            ("sabot.error.pipeline", self.pipeline.as_str()),
            ("sabot.error.stage", why.stage.as_str()),
            ("sabot.error.class", why.class),
            ("sabot.error.message", why.message.as_str()),
            ("sabot.error.topic", &record.topic),
            ("sabot.error.partition", partition.as_str()),
            ("sabot.error.offset", offset.as_str()),
        ] {
            headers = headers.insert(KafkaHeader {
                key,
                value: Some(value.as_bytes()),
            });
        }
        let mut out: BaseRecord<'_, [u8], [u8], Arc<BatchAck>> =
            BaseRecord::with_opaque_to(&self.topic, ack.clone()).headers(headers);
        if let Some(key) = &record.key {
            out = out.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            out = out.payload(value.as_slice());
        }
        if let Some(ts) = record.timestamp_ms {
            out = out.timestamp(ts);
        }
        ack.expect(1);
        send(&self.producer, out).map_err(|e| {
            ack.fail(format!(
                "cannot hand a record to the dead-letter producer: {e}"
            ));
            format!("cannot produce to dead-letter topic `{}`: {e}", self.topic)
        })
    }

    /// Wait for every dead-lettered record handed out so far.
    ///
    /// # Errors
    ///
    /// Records were still unacknowledged at the deadline.
    pub fn flush(&self, timeout: std::time::Duration) -> Result<(), String> {
        use rdkafka::producer::Producer;
        self.producer
            .flush(timeout)
            .map_err(|e| format!("dead-letter records unacknowledged after {timeout:?}: {e}"))
    }
}
