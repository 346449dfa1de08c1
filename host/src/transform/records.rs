//! The record world's side of a call: Arrow rows to WIT records and back.
//!
//! Each row of the input becomes one `record`: its key, headers, topic,
//! partition, offset and timestamp come from the metadata columns (see
//! [`crate::record`]), and its value is the row's value columns as one JSON
//! object, as [`JsonEncoder`] writes them. A batch without a metadata column
//! gives every record that field's empty value: no key, no headers, topic
//! `""`, partition 0, the row's index as its offset, no timestamp.
//!
//! The records a plugin returns are turned back into a batch with the
//! input's value columns: each value is decoded as JSON with the input's
//! value schema, so the plugin may drop and change fields but not add
//! columns (unknown fields are skipped). The output carries the metadata
//! columns the input had, in their standard types, filled from the returned
//! records; other `__` columns of the input are not carried over.
//!
//! # What a returned record must be
//!
//! A record plugin keeps, changes or drops the records it is given; it does
//! not make new ones. Each returned record must carry the topic, partition
//! and offset of a record it was given, which it neither rejected nor
//! returned already; its key, value, headers and timestamp may change. The
//! host relies on that: it dead-letters a row that a later stage rejects,
//! or whose batch a later plugin fails, as the original record that the
//! row's topic, partition and offset name. A row naming no record of the
//! batch could not be dead-lettered, one naming another record would
//! dead-letter the wrong one, and a record returned twice is a row more
//! than the plugin was given. Output that breaks the rule is refused whole,
//! like a batch plugin's output with more rows than it was given.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{Field, Schema};

use super::TransformOutput;
use super::bindings::record::{Header, Record, RecordResult};
use super::bindings::wit;
use super::instance::{check_rejections, into_rejections};
use crate::format::encode::JsonEncoder;
use crate::format::json::{JsonDecoder, JsonOptions};
use crate::record::{self as meta, RawRecord};

/// The metadata columns of a batch, those it has in their standard types.
struct Metadata<'a> {
    /// `__key`.
    key: Option<&'a arrow_array::BinaryArray>,
    /// `__headers`.
    headers: Option<&'a arrow_array::ListArray>,
    /// `__timestamp`.
    timestamp: Option<&'a arrow_array::PrimitiveArray<TimestampMillisecondType>>,
    /// `__topic`.
    topic: Option<&'a arrow_array::StringArray>,
    /// `__partition`.
    partition: Option<&'a arrow_array::PrimitiveArray<Int32Type>>,
    /// `__offset`.
    offset: Option<&'a arrow_array::PrimitiveArray<Int64Type>>,
}

impl<'a> Metadata<'a> {
    /// Find the metadata columns of `batch`.
    fn of(batch: &'a RecordBatch) -> Self {
        let column = |name: &str| batch.column_by_name(name).map(|c| c.as_ref());
        Metadata {
            key: column(meta::KEY).and_then(|c| c.as_binary_opt::<i32>()),
            headers: column(meta::HEADERS).and_then(|c| c.as_list_opt::<i32>()),
            timestamp: column(meta::TIMESTAMP).and_then(|c| c.as_primitive_opt()),
            topic: column(meta::TOPIC).and_then(|c| c.as_string_opt::<i32>()),
            partition: column(meta::PARTITION).and_then(|c| c.as_primitive_opt()),
            offset: column(meta::OFFSET).and_then(|c| c.as_primitive_opt()),
        }
    }

    /// The headers of row `row`.
    fn headers(&self, row: usize) -> Vec<Header> {
        let Some(headers) = self.headers.filter(|h| h.is_valid(row)) else {
            return Vec::new();
        };
        let entries = headers.value(row);
        let Some(entries) = entries.as_struct_opt() else {
            return Vec::new();
        };
        let keys = entries
            .column_by_name("key")
            .and_then(|c| c.as_string_opt::<i32>());
        let values = entries
            .column_by_name("value")
            .and_then(|c| c.as_binary_opt::<i32>());
        let Some(keys) = keys else {
            return Vec::new();
        };
        (0..entries.len())
            .map(|i| Header {
                key: keys.value(i).to_owned(),
                value: values
                    .filter(|v| v.is_valid(i))
                    .map(|v| v.value(i).to_vec()),
            })
            .collect()
    }
}

/// The records of `batch`, and a decoder for values of its value columns.
///
/// # Errors
///
/// When a value column has a type that has no JSON form here, in either
/// direction.
pub(super) fn to_records(batch: &RecordBatch) -> Result<(Vec<Record>, JsonDecoder), String> {
    let decoder = JsonDecoder::new(value_schema(batch), JsonOptions::default())
        .map_err(|e| format!("the record world carries values as JSON, and {e}"))?;
    let mut values = Vec::new();
    let mut ends = Vec::with_capacity(batch.num_rows());
    JsonEncoder::new()
        .encode(batch, &mut values, &mut ends)
        .map_err(|e| format!("the record world carries values as JSON, and {e}"))?;

    let metadata = Metadata::of(batch);
    let mut records = Vec::with_capacity(batch.num_rows());
    let mut start = 0;
    for (row, &end) in ends.iter().enumerate() {
        let value = values.get(start..end).map(<[u8]>::to_vec);
        start = end;
        records.push(Record {
            key: metadata
                .key
                .filter(|k| k.is_valid(row))
                .map(|k| k.value(row).to_vec()),
            value,
            headers: metadata.headers(row),
            topic: metadata
                .topic
                .filter(|t| t.is_valid(row))
                .map(|t| t.value(row).to_owned())
                .unwrap_or_default(),
            partition: metadata
                .partition
                .filter(|p| p.is_valid(row))
                .map_or(0, |p| p.value(row)),
            offset: metadata
                .offset
                .filter(|o| o.is_valid(row))
                .map_or_else(|| i64::try_from(row).unwrap_or(i64::MAX), |o| o.value(row)),
            timestamp_ms: metadata
                .timestamp
                .filter(|t| t.is_valid(row))
                .map(|t| t.value(row)),
        });
    }
    Ok((records, decoder))
}

/// The value columns of `batch`: every column not named `__…`.
fn value_schema(batch: &RecordBatch) -> Arc<Schema> {
    let schema = batch.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .filter(|f| !meta::is_metadata(f.name()))
        .map(|f| f.as_ref().clone())
        .collect();
    Arc::new(Schema::new(fields))
}

/// The batch of what a record plugin returned for `input`, which it was
/// given as the records `given`, decoding values with `decoder`.
///
/// # Errors
///
/// When the plugin returned more records than it was given, a rejection
/// names a row outside the input or a row twice, a returned record is not
/// one of `given` or is returned twice or also rejected (see the module
/// docs), or a returned value is not a JSON object of the input's value
/// columns; the message names the record by its index in the returned list.
pub(super) fn from_records(
    result: RecordResult,
    input: &RecordBatch,
    given: &[Record],
    decoder: &mut JsonDecoder,
) -> Result<TransformOutput, String> {
    if result.records.len() > given.len() {
        return Err(format!(
            "it returned {} records for a batch of {}; a record plugin may only keep, change \
             or drop the records it is given",
            result.records.len(),
            given.len()
        ));
    }
    check_rejections(&result.rejected, input.num_rows())?;
    check_origins(&result.records, given, &result.rejected)?;
    let values: Vec<Option<&[u8]>> = result.records.iter().map(|r| r.value.as_deref()).collect();
    let decoded = decoder.decode(&values);
    if let Some(error) = decoded.errors.first() {
        return Err(format!(
            "its record {}: the value does not fit the input's value columns: {}",
            error.row, error.message
        ));
    }

    let raw: Vec<RawRecord> = result
        .records
        .into_iter()
        .map(|r| RawRecord {
            topic: Arc::from(r.topic),
            partition: r.partition,
            offset: r.offset,
            timestamp_ms: r.timestamp_ms,
            key: r.key,
            value: None,
            headers: r
                .headers
                .into_iter()
                .map(|h| meta::Header {
                    key: h.key,
                    value: h.value,
                })
                .collect(),
        })
        .collect();
    let metadata_fields = meta::metadata_fields();
    let metadata_columns = meta::metadata_columns(&raw);

    let input_schema = input.schema();
    let mut fields = Vec::with_capacity(input_schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(input_schema.fields().len());
    for field in input_schema.fields() {
        let name = field.name();
        if meta::is_metadata(name) {
            let standard = metadata_fields.iter().position(|f| f.name() == name);
            if let Some(i) = standard
                && let (Some(f), Some(c)) = (metadata_fields.get(i), metadata_columns.get(i))
            {
                fields.push(f.clone());
                columns.push(Arc::clone(c));
            }
        } else if let Some(c) = decoded.batch.column_by_name(name) {
            fields.push(field.as_ref().clone());
            columns.push(Arc::clone(c));
        }
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        input_schema.metadata().clone(),
    ));
    let options = RecordBatchOptions::new().with_row_count(Some(raw.len()));
    let batch = RecordBatch::try_new_with_options(schema, columns, &options)
        .map_err(|e| format!("its records do not make a batch: {e}"))?;
    Ok(TransformOutput {
        batch,
        rejected: into_rejections(result.rejected),
    })
}

/// Where a record came from: its topic, partition and offset.
type Origin<'a> = (&'a str, i32, i64);

/// The origin of `record`.
fn origin(record: &Record) -> Origin<'_> {
    (&record.topic, record.partition, record.offset)
}

/// `record`'s origin in words, for messages.
fn describe(record: &Record) -> String {
    format!(
        "topic `{}`, partition {}, offset {}",
        record.topic, record.partition, record.offset
    )
}

/// Check that each of the `returned` records names a record of `given`
/// (by [`Origin`]) that is not `rejected` and that no earlier returned
/// record named. Rejections must have been checked to name rows of
/// `given`.
///
/// # Errors
///
/// The first returned record that breaks the rule, by its index in the
/// returned list and its origin.
fn check_origins(
    returned: &[Record],
    given: &[Record],
    rejected: &[wit::Rejection],
) -> Result<(), String> {
    let rejected_rows: HashSet<usize> = rejected
        .iter()
        .filter_map(|r| usize::try_from(r.row).ok())
        .collect();
    // The rows of each origin that a returned record may still name: one
    // each, unless the batch held two records with the same metadata.
    let mut open: HashMap<Origin<'_>, Vec<usize>> = HashMap::with_capacity(given.len());
    for (row, record) in given.iter().enumerate().rev() {
        let rows = open.entry(origin(record)).or_default();
        if !rejected_rows.contains(&row) {
            rows.push(row);
        }
    }
    // The first returned record that named each origin.
    let mut named: HashMap<Origin<'_>, usize> = HashMap::with_capacity(returned.len());
    for (index, record) in returned.iter().enumerate() {
        let key = origin(record);
        let Some(rows) = open.get_mut(&key) else {
            return Err(format!(
                "its record {index} names {}, which is no record of the batch it was given; \
                 a record plugin may change a record's key, value, headers and timestamp, but \
                 must keep its topic, partition and offset as given",
                describe(record)
            ));
        };
        if rows.pop().is_some() {
            named.entry(key).or_insert(index);
            continue;
        }
        return Err(match named.get(&key) {
            Some(first) => format!(
                "its records {first} and {index} both name {}; a record plugin may return each \
                 record it is given at most once",
                describe(record)
            ),
            None => {
                let row = given
                    .iter()
                    .position(|g| origin(g) == key)
                    .unwrap_or_default();
                format!(
                    "its record {index} names {}, which it also rejected (row {row}); a \
                     rejected record must not also be kept",
                    describe(record)
                )
            }
        });
    }
    Ok(())
}
