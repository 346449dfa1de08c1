//! The Kafka sink, and the producer it shares with the dead-letter path.
//!
//! Rows are encoded as JSON values; the key comes from the `__key` column
//! (or a named value field), headers from `__headers`, the timestamp from
//! `__timestamp`, and the topic from `topic_field` where a row names one.
//! Every record carries its batch's [`BatchAck`] as the delivery opaque, so
//! the producer's own thread acknowledges the batch when the broker has
//! the last of its records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};

use super::{Sink, SinkError};
use crate::format::encode::JsonEncoder;
use crate::record;
use crate::runtime::ack::BatchAck;
use crate::schema::codec::RegistryEncoder;

/// The producer context: turns deliveries into batch acknowledgements.
pub struct AckContext;

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Arc<BatchAck>;

    fn delivery(&self, result: &DeliveryResult<'_>, ack: Self::DeliveryOpaque) {
        match result {
            Ok(_) => ack.ack(),
            Err((e, _)) => ack.fail(format!("the broker did not take a record: {e}")),
        }
    }
}

/// A producer whose deliveries acknowledge batches.
pub type AckProducer = ThreadedProducer<AckContext>;

/// Create a producer for `brokers` with `properties` on top of Sabot's
/// defaults (idempotence on, so retries never duplicate or reorder).
///
/// # Errors
///
/// librdkafka refused the configuration.
pub fn producer(
    brokers: &str,
    properties: &BTreeMap<String, String>,
) -> Result<AckProducer, KafkaError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("compression.type", "lz4");
    for (k, v) in properties {
        config.set(k, v);
    }
    config.create_with_context(AckContext)
}

/// Send one record, waiting while the producer's queue is full.
pub fn send(
    producer: &AckProducer,
    mut record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>>,
) -> Result<(), KafkaError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Where the sink writes.
#[derive(Debug, Clone)]
pub struct KafkaSinkSpec {
    /// Bootstrap servers.
    pub brokers: String,
    /// The default topic.
    pub topic: String,
    /// A utf8 column naming each row's topic.
    pub topic_field: Option<String>,
    /// A value field whose text is the key.
    pub key_field: Option<String>,
    /// How values are written.
    pub format: crate::config::SinkFormat,
    /// The name of records of a derived schema (the pipeline's name).
    pub record_name: String,
    /// Extra producer properties.
    pub properties: BTreeMap<String, String>,
}

/// Produces each row as one record.
pub struct KafkaSink {
    spec: KafkaSinkSpec,
    producer: AckProducer,
    encoder: JsonEncoder,
    /// The encoder of a schema'd format.
    registered: Option<RegistryEncoder>,
    buffer: Vec<u8>,
    ends: Vec<usize>,
}

impl KafkaSink {
    /// Create the producer.
    ///
    /// # Errors
    ///
    /// librdkafka refused the configuration.
    pub fn new(spec: KafkaSinkSpec) -> Result<Self, SinkError> {
        let producer = producer(&spec.brokers, &spec.properties).map_err(|e| SinkError::Kafka {
            message: format!("cannot create the producer for `{}`: {e}", spec.brokers),
        })?;
        let registered = match &spec.format {
            crate::config::SinkFormat::Registered(f) => {
                let config = f
                    .options
                    .registry
                    .as_ref()
                    .ok_or_else(|| SinkError::Encode {
                        message: "no schema registry for the sink's format".to_owned(),
                    })?;
                let client = crate::schema::codec::client(config)
                    .map_err(|message| SinkError::Encode { message })?;
                Some(RegistryEncoder::new(
                    f.kind,
                    f.options.clone(),
                    client,
                    &spec.record_name,
                ))
            }
            _ => None,
        };
        Ok(KafkaSink {
            spec,
            producer,
            encoder: JsonEncoder::new(),
            registered,
            buffer: Vec::new(),
            ends: Vec::new(),
        })
    }
}

/// The columns a row's record is made from, resolved once per batch.
struct RowParts<'a> {
    key: Option<KeySource<'a>>,
    headers: Option<&'a arrow_array::ListArray>,
    timestamp: Option<&'a arrow_array::PrimitiveArray<TimestampMillisecondType>>,
    topic: Option<&'a arrow_array::StringArray>,
}

enum KeySource<'a> {
    Binary(&'a arrow_array::BinaryArray),
    Text(Vec<Option<String>>),
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.schema().index_of(name).ok().map(|i| batch.column(i))
}

impl KafkaSink {
    fn parts<'a>(&self, batch: &'a RecordBatch) -> Result<RowParts<'a>, SinkError> {
        let key = match &self.spec.key_field {
            Some(field) => {
                let col = column(batch, field).ok_or_else(|| SinkError::Encode {
                    message: format!("`key_field` names `{field}`, which is not in the batch"),
                })?;
                Some(KeySource::Text(key_texts(col, field)?))
            }
            None => match column(batch, record::KEY) {
                Some(col) => match col.data_type() {
                    DataType::Binary => Some(KeySource::Binary(col.as_binary::<i32>())),
                    DataType::Utf8 => Some(KeySource::Text(key_texts(col, record::KEY)?)),
                    other => {
                        return Err(SinkError::Encode {
                            message: format!(
                                "column `{}` must be binary or utf8, not {other}",
                                record::KEY
                            ),
                        });
                    }
                },
                None => None,
            },
        };
        let headers = match column(batch, record::HEADERS) {
            Some(col) if col.data_type() == &record::headers_type() => Some(col.as_list::<i32>()),
            Some(col) => {
                return Err(SinkError::Encode {
                    message: format!(
                        "column `{}` must be {}, not {}",
                        record::HEADERS,
                        record::headers_type(),
                        col.data_type()
                    ),
                });
            }
            None => None,
        };
        let timestamp = column(batch, record::TIMESTAMP)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
        let topic = match &self.spec.topic_field {
            Some(field) => {
                let col = column(batch, field).ok_or_else(|| SinkError::Encode {
                    message: format!("`topic_field` names `{field}`, which is not in the batch"),
                })?;
                Some(
                    col.as_string_opt::<i32>()
                        .ok_or_else(|| SinkError::Encode {
                            message: format!(
                                "`topic_field` column `{field}` must be utf8, not {}",
                                col.data_type()
                            ),
                        })?,
                )
            }
            None => None,
        };
        Ok(RowParts {
            key,
            headers,
            timestamp,
            topic,
        })
    }
}

/// The text of each row of a key column.
fn key_texts(col: &ArrayRef, name: &str) -> Result<Vec<Option<String>>, SinkError> {
    let formatter = arrow_cast_free_display(col).ok_or_else(|| SinkError::Encode {
        message: format!(
            "key column `{name}` has type {}, which cannot be a key",
            col.data_type()
        ),
    })?;
    Ok((0..col.len())
        .map(|i| (!col.is_null(i)).then(|| formatter(i)))
        .collect())
}

/// A per-row text view of simple columns.
fn arrow_cast_free_display(col: &ArrayRef) -> Option<Box<dyn Fn(usize) -> String + '_>> {
    use arrow_array::types::*;
    Some(match col.data_type() {
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            Box::new(move |i| a.value(i).to_owned())
        }
        DataType::LargeUtf8 => {
            let a = col.as_string::<i64>();
            Box::new(move |i| a.value(i).to_owned())
        }
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            Box::new(move |i| a.value(i).to_string())
        }
        DataType::Int32 => {
            let a = col.as_primitive::<Int32Type>();
            Box::new(move |i| a.value(i).to_string())
        }
        DataType::UInt64 => {
            let a = col.as_primitive::<UInt64Type>();
            Box::new(move |i| a.value(i).to_string())
        }
        DataType::Binary => {
            let a = col.as_binary::<i32>();
            Box::new(move |i| String::from_utf8_lossy(a.value(i)).into_owned())
        }
        _ => return None,
    })
}

impl Sink for KafkaSink {
    fn write(&mut self, batch: &RecordBatch, ack: &Arc<BatchAck>) -> Result<(), SinkError> {
        self.buffer.clear();
        self.ends.clear();
        match &self.spec.format {
            crate::config::SinkFormat::Json => self
                .encoder
                .encode(batch, &mut self.buffer, &mut self.ends)
                .map_err(|e| SinkError::Encode {
                    message: e.to_string(),
                })?,
            crate::config::SinkFormat::Raw => raw_values(batch, &mut self.buffer, &mut self.ends)?,
            crate::config::SinkFormat::Registered(_) => {
                let Some(encoder) = self.registered.as_mut() else {
                    return Err(SinkError::Encode {
                        message: "the sink has no schema'd encoder".to_owned(),
                    });
                };
                let errors = encoder
                    .encode(batch, &self.spec.topic, &mut self.buffer, &mut self.ends)
                    .map_err(|e| SinkError::Encode {
                        message: e.to_string(),
                    })?;
                if let Some(first) = errors.first() {
                    return Err(SinkError::Encode {
                        message: format!(
                            "{} row(s) cannot be written in the sink's format, the first ({}): {}",
                            errors.len(),
                            first.row,
                            first.message
                        ),
                    });
                }
            }
        }
        let parts = self.parts(batch)?;
        let mut start = 0;
        let mut key_buf: Vec<u8> = Vec::new();
        ack.expect(batch.num_rows());
        for row in 0..batch.num_rows() {
            let end = self.ends[row];
            let value = &self.buffer[start..end];
            start = end;
            let topic = parts
                .topic
                .and_then(|t| (!t.is_null(row)).then(|| t.value(row)))
                .unwrap_or(&self.spec.topic);
            let mut record: BaseRecord<'_, [u8], [u8], Arc<BatchAck>> =
                BaseRecord::with_opaque_to(topic, ack.clone()).payload(value);
            let key: Option<&[u8]> = match &parts.key {
                Some(KeySource::Binary(a)) => (!a.is_null(row)).then(|| a.value(row)),
                Some(KeySource::Text(texts)) => match &texts[row] {
                    Some(t) => {
                        key_buf.clear();
                        key_buf.extend_from_slice(t.as_bytes());
                        Some(&key_buf[..])
                    }
                    None => None,
                },
                None => None,
            };
            if let Some(key) = key {
                record = record.key(key);
            }
            if let Some(ts) = parts.timestamp {
                if !ts.is_null(row) {
                    record = record.timestamp(ts.value(row));
                }
            }
            if let Some(headers) = parts.headers {
                if !headers.is_null(row) {
                    if let Some(h) = row_headers(headers, row) {
                        record = record.headers(h);
                    }
                }
            }
            if let Err(e) = send(&self.producer, record) {
                // The record never left: release its place in the count
                // and fail the batch.
                ack.fail(format!("cannot hand a record to the producer: {e}"));
                return Err(SinkError::Kafka {
                    message: format!("cannot produce to `{topic}`: {e}"),
                });
            }
        }
        Ok(())
    }

    fn flush(&mut self, timeout: Duration) -> Result<(), SinkError> {
        self.producer.flush(timeout).map_err(|e| SinkError::Kafka {
            message: format!("records still unacknowledged after {timeout:?}: {e}"),
        })
    }
}

/// Concatenate the `value` column's bytes, with row ends.
fn raw_values<'a>(
    batch: &'a RecordBatch,
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), SinkError> {
    let schema = batch.schema();
    let col = schema
        .index_of("value")
        .ok()
        .map(|i| batch.column(i))
        .ok_or_else(|| SinkError::Encode {
            message: "`format: raw` needs a column named `value`; the batch has none".to_owned(),
        })?;
    let bytes_of: Box<dyn Fn(usize) -> &'a [u8] + 'a> = match col.data_type() {
        DataType::Binary => {
            let a = col.as_binary::<i32>();
            Box::new(move |i| a.value(i))
        }
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            Box::new(move |i| a.value(i).as_bytes())
        }
        other => {
            return Err(SinkError::Encode {
                message: format!("`format: raw` needs `value` to be binary or utf8, not {other}"),
            });
        }
    };
    for row in 0..batch.num_rows() {
        if !col.is_null(row) {
            out.extend_from_slice(bytes_of(row));
        }
        ends.push(out.len());
    }
    Ok(())
}

/// Kafka headers of one row of a `__headers` column, read in place (no
/// per-row slice of the column).
fn row_headers(headers: &arrow_array::ListArray, row: usize) -> Option<OwnedHeaders> {
    let structs = headers.values().as_struct_opt()?;
    let keys = structs.column(0).as_string_opt::<i32>()?;
    let values = structs.column(1).as_binary_opt::<i32>()?;
    let offsets = headers.value_offsets();
    let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
    let mut out = OwnedHeaders::new_with_capacity(end - start);
    for i in start..end {
        out = out.insert(KafkaHeader {
            key: keys.value(i),
            value: (!values.is_null(i)).then(|| values.value(i)),
        });
    }
    Some(out)
}

/// Kafka headers from one row's `__headers` entries.
pub fn owned_headers(entries: &ArrayRef) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(entries.len());
    let Some(structs) = entries.as_struct_opt() else {
        return headers;
    };
    let (Some(keys), Some(values)) = (
        structs.column(0).as_string_opt::<i32>(),
        structs.column(1).as_binary_opt::<i32>(),
    ) else {
        return headers;
    };
    for i in 0..structs.len() {
        headers = headers.insert(KafkaHeader {
            key: keys.value(i),
            value: (!values.is_null(i)).then(|| values.value(i)),
        });
    }
    headers
}
