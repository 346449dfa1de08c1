//! From raw records to the Arrow batch the transforms see: decoded value
//! columns followed by the metadata columns.

use std::sync::Arc;

use arrow_array::builder::BinaryBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::format::infer::infer_schema;
use crate::format::json::{JsonDecoder, JsonOptions, UnknownFields};
use crate::plan::DecoderPlan;
use crate::record::{RawRecord, metadata_columns, metadata_fields};

/// Decodes batches of one pipeline.
pub struct Decoder {
    kind: Kind,
}

enum Kind {
    Raw,
    Registered(Box<crate::schema::codec::RegistryDecoder>),
    Json {
        decoder: Option<JsonDecoder>,
        infer_records: usize,
        unknown_fields: UnknownFields,
    },
}

impl Decoder {
    /// A decoder for `plan`.
    ///
    /// # Errors
    ///
    /// The schema has a type the decoder cannot fill.
    pub fn new(plan: &DecoderPlan) -> Result<Self, String> {
        let kind = match plan {
            DecoderPlan::Raw => Kind::Raw,
            DecoderPlan::Registered {
                kind,
                registry,
                reader_schema,
            } => {
                let client = crate::schema::codec::client(registry)?;
                Kind::Registered(Box::new(crate::schema::codec::RegistryDecoder::new(
                    *kind,
                    client,
                    reader_schema.as_deref(),
                )?))
            }
            DecoderPlan::Json {
                schema,
                infer_records,
                unknown_fields,
            } => Kind::Json {
                decoder: match schema {
                    Some(s) => Some(
                        JsonDecoder::new(
                            s.clone(),
                            JsonOptions {
                                unknown_fields: *unknown_fields,
                            },
                        )
                        .map_err(|e| e.to_string())?,
                    ),
                    None => None,
                },
                infer_records: *infer_records,
                unknown_fields: *unknown_fields,
            },
        };
        Ok(Decoder { kind })
    }

    /// While the schema is still to be inferred: from how many records.
    pub fn inferring(&self) -> Option<usize> {
        match &self.kind {
            Kind::Json {
                decoder: None,
                infer_records,
                ..
            } => Some(*infer_records),
            _ => None,
        }
    }

    /// How many records the next poll should ask for: more than a batch
    /// while a schema is still to be inferred.
    pub fn records_wanted(&self, max_records: usize) -> usize {
        match &self.kind {
            Kind::Json {
                decoder: None,
                infer_records,
                ..
            } => max_records.max(*infer_records),
            _ => max_records,
        }
    }

    /// The end of the run of `raw` from `start` that decodes into one
    /// batch: all of it, except for schema'd values written with several
    /// schemas, which are cut where the schema changes.
    pub fn run_end(&self, raw: &[RawRecord], start: usize) -> usize {
        match &self.kind {
            Kind::Registered(d) => d.run_end(raw, start),
            _ => raw.len(),
        }
    }

    /// Decode `raw` into a batch of the good rows, and the bad ones as
    /// (index into `raw`, reason).
    ///
    /// # Errors
    ///
    /// An inferred schema the decoder cannot fill, or columns that do not
    /// line up (a bug): the task stops rather than drop records.
    pub fn decode(
        &mut self,
        raw: &[RawRecord],
    ) -> Result<(RecordBatch, Vec<(usize, String)>), DecodeFailure> {
        match &mut self.kind {
            Kind::Raw => {
                let mut values = BinaryBuilder::with_capacity(raw.len(), 0);
                for r in raw {
                    values.append_option(r.value.as_deref());
                }
                let value: ArrayRef = Arc::new(values.finish());
                let batch = with_metadata(
                    vec![Field::new("value", DataType::Binary, true)],
                    vec![value],
                    raw.iter(),
                )?;
                Ok((batch, Vec::new()))
            }
            Kind::Registered(d) => {
                let decoded = d.decode(raw).map_err(|e| DecodeFailure::Outage(e.0))?;
                let errors = decoded
                    .errors
                    .into_iter()
                    .map(|e| (e.row as usize, e.message))
                    .collect();
                let fields: Vec<Field> = decoded
                    .batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                let columns = decoded.batch.columns().to_vec();
                let batch = with_metadata(
                    fields,
                    columns,
                    decoded.rows.iter().map(|&i| &raw[i as usize]),
                )?;
                Ok((batch, errors))
            }
            Kind::Json {
                decoder,
                infer_records,
                unknown_fields,
            } => {
                if decoder.is_none() {
                    let sample = raw
                        .iter()
                        .take(*infer_records)
                        .filter_map(|r| r.value.as_deref());
                    let schema: SchemaRef = match infer_schema(sample) {
                        Ok(s) => Arc::new(s),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not infer a schema from the first records; using an empty one");
                            Arc::new(Schema::empty())
                        }
                    };
                    tracing::info!(fields = schema.fields().len(), "inferred the JSON schema");
                    *decoder = Some(
                        JsonDecoder::new(
                            schema,
                            JsonOptions {
                                unknown_fields: *unknown_fields,
                            },
                        )
                        .map_err(|e| format!("the inferred schema cannot be decoded: {e}"))?,
                    );
                }
                let Some(decoder) = decoder.as_mut() else {
                    return Err(DecodeFailure::Fatal("no JSON decoder".to_owned()));
                };
                let mut surrogates: Vec<(usize, String)> = Vec::new();
                let values: Vec<Option<&[u8]>> = raw
                    .iter()
                    .enumerate()
                    .map(|(i, r)| match r.value.as_deref() {
                        Some(v) if has_surrogate_escape(v) => match lone_surrogate(v) {
                            Some(message) => {
                                surrogates.push((i, message));
                                Some(&b""[..])
                            }
                            None => Some(v),
                        },
                        other => other,
                    })
                    .collect();
                let decoded = decoder.decode(&values);
                let errors = decoded
                    .errors
                    .into_iter()
                    .map(|e| {
                        let row = e.row as usize;
                        match surrogates.iter().find(|(i, _)| *i == row) {
                            Some((_, message)) => (row, message.clone()),
                            None => (row, e.message),
                        }
                    })
                    .collect();
                let fields: Vec<Field> = decoded
                    .batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.as_ref().clone())
                    .collect();
                let columns = decoded.batch.columns().to_vec();
                let batch = with_metadata(
                    fields,
                    columns,
                    decoded.rows.iter().map(|&i| &raw[i as usize]),
                )?;
                Ok((batch, errors))
            }
        }
    }
}

/// Why a batch could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeFailure {
    /// The schema registry could not be reached: the same records are
    /// tried again later.
    #[error("{0}")]
    Outage(String),
    /// Something no retry fixes; the task stops rather than drop records.
    #[error("{0}")]
    Fatal(String),
}

impl From<String> for DecodeFailure {
    fn from(message: String) -> Self {
        DecodeFailure::Fatal(message)
    }
}

/// Append the metadata columns of `records` to value columns.
fn with_metadata<'a, I>(
    mut fields: Vec<Field>,
    mut columns: Vec<ArrayRef>,
    records: I,
) -> Result<RecordBatch, String>
where
    I: IntoIterator<Item = &'a RawRecord>,
    I::IntoIter: ExactSizeIterator,
{
    let records = records.into_iter();
    let rows = records.len();
    fields.extend(metadata_fields());
    columns.extend(metadata_columns(records));
    let schema = Arc::new(Schema::new(fields));
    RecordBatch::try_new_with_options(
        schema,
        columns,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| format!("the metadata columns do not fit the decoded batch: {e}"))
}

/// Whether `value` has a `\uD800`–`\uDFFF` escape: rare, and the one case
/// simd-json does not refuse when it stands alone.
fn has_surrogate_escape(value: &[u8]) -> bool {
    value.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && matches!(w[2], b'd' | b'D')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

/// The error for a value whose surrogate escapes do not pair up, checked
/// with a strict parser.
fn lone_surrogate(value: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(value)
        .err()
        .map(|e| format!("invalid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> RawRecord {
        RawRecord {
            topic: Arc::from("t"),
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            headers: Vec::new(),
        }
    }

    #[test]
    fn a_lone_surrogate_is_a_bad_record_and_a_pair_is_kept() {
        let schema =
            crate::format::schema::parse_schema(&serde_json::json!({"s": "utf8"})).expect("schema");
        let mut decoder = Decoder::new(&DecoderPlan::Json {
            schema: Some(Arc::new(schema)),
            infer_records: 10,
            unknown_fields: UnknownFields::Ignore,
        })
        .expect("decoder");
        let raw = vec![
            record(r#"{"s":"\ud800"}"#),
            record(r#"{"s":"\ud83d\ude00"}"#),
        ];
        let (batch, errors) = decoder.decode(&raw).expect("decodes");
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 0);
        assert!(errors[0].1.starts_with("invalid JSON: "), "{}", errors[0].1);
        let s = batch
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("utf8");
        assert_eq!(s.value(0), "\u{1F600}");
    }

    /// Two Avro writers' schemas: their columns differ, so a value decoded
    /// with the other's would show.
    const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"note","type":"string"}]}"#;
    const REFUND: &str = r#"{"type":"record","name":"Refund","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"cents","type":"int"},{"name":"reason","type":["null","string"]}]}"#;

    /// An Avro `int` or `long`: zig-zag, then a base-128 varint.
    fn zigzag(n: i64) -> Vec<u8> {
        let mut z = ((n << 1) ^ (n >> 63)) as u64;
        let mut out = Vec::new();
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
        out
    }

    /// An Avro `string`: its length, then its bytes.
    fn avro_string(s: &str) -> Vec<u8> {
        let mut out = zigzag(s.len() as i64);
        out.extend_from_slice(s.as_bytes());
        out
    }

    /// `body` behind the wire-format header naming `schema_id`.
    fn framed(schema_id: u32, body: Vec<u8>) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&schema_id.to_be_bytes());
        out.extend(body);
        out
    }

    /// The value columns and the offset of every row, as JSON.
    fn rows(batch: &RecordBatch) -> Vec<serde_json::Value> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Int32Type, Int64Type};
        (0..batch.num_rows())
            .map(|row| {
                let mut object = serde_json::Map::new();
                for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                    let name = field.name();
                    if crate::record::is_metadata(name) && name != crate::record::OFFSET {
                        continue;
                    }
                    let value = if column.is_null(row) {
                        serde_json::Value::Null
                    } else {
                        match field.data_type() {
                            DataType::Int64 => column.as_primitive::<Int64Type>().value(row).into(),
                            DataType::Int32 => column.as_primitive::<Int32Type>().value(row).into(),
                            DataType::Utf8 => column.as_string::<i32>().value(row).into(),
                            other => panic!("column `{name}` has an unexpected type {other}"),
                        }
                    };
                    object.insert(name.clone(), value);
                }
                serde_json::Value::Object(object)
            })
            .collect()
    }

    #[test]
    fn values_of_several_schemas_in_one_poll_decode_in_runs_with_their_own_columns() {
        use serde_json::json;

        let registry = crate::embedded::EmbeddedRegistry::start().expect("a registry");
        let client = crate::schema::registry::RegistryClient::new(
            crate::schema::registry::ClientConfig::new(registry.url()),
        )
        .expect("a client");
        let avro = crate::schema::registry::SchemaType::Avro;
        let order = client
            .register("orders-value", avro, ORDER, &[])
            .expect("registers");
        let refund = client
            .register("refunds-value", avro, REFUND, &[])
            .expect("registers");
        assert_eq!((order, refund), (1, 2));
        let order_value = |id: i64, note: &str| {
            let mut body = zigzag(id);
            body.extend(avro_string(note));
            framed(order, body)
        };
        let refund_value = |id: i64, cents: i64, reason: Option<&str>| {
            let mut body = zigzag(id);
            body.extend(zigzag(cents));
            match reason {
                None => body.push(0),
                Some(r) => {
                    body.extend(zigzag(1));
                    body.extend(avro_string(r));
                }
            }
            framed(refund, body)
        };
        // One poll: order, order, refund, order, a value that is not
        // framed, refund, refund.
        let values = vec![
            order_value(10, "first"),
            order_value(11, "second"),
            refund_value(12, 250, None),
            order_value(13, "fourth"),
            br#"{"id": 14}"#.to_vec(),
            refund_value(15, -7, Some("late")),
            refund_value(16, 0, Some("")),
        ];
        let raw: Vec<RawRecord> = values
            .into_iter()
            .enumerate()
            .map(|(offset, value)| RawRecord {
                offset: offset as i64,
                value: Some(value),
                ..record("")
            })
            .collect();
        let mut decoder = Decoder::new(&DecoderPlan::Registered {
            kind: crate::config::RegisteredKind::Avro,
            registry: crate::config::RegistryConfig {
                url: registry.url().to_owned(),
                basic_auth: None,
                bearer_token: None,
                ca_file: None,
            },
            reader_schema: None,
        })
        .expect("a decoder");

        // Cut and decode the poll as the task does.
        let mut runs = Vec::new();
        let mut start = 0;
        while start < raw.len() {
            let end = decoder.run_end(&raw, start).clamp(start + 1, raw.len());
            let (batch, errors) = decoder.decode(&raw[start..end]).expect("decodes");
            runs.push((start..end, rows(&batch), errors));
            start = end;
        }

        assert_eq!(
            runs,
            vec![
                (
                    0..2,
                    vec![
                        json!({"id": 10, "note": "first", "__offset": 0}),
                        json!({"id": 11, "note": "second", "__offset": 1}),
                    ],
                    vec![]
                ),
                (
                    2..3,
                    vec![json!(
                        {"id": 12, "cents": 250, "reason": null, "__offset": 2}
                    )],
                    vec![]
                ),
                // The value that is not framed goes with the run before it,
                // as a bad record whatever the schema.
                (
                    3..5,
                    vec![json!({"id": 13, "note": "fourth", "__offset": 3})],
                    vec![(
                        1,
                        "the value starts with byte 0x7b, not the magic byte 0 of the Confluent wire format; was it written by a schema registry serializer?"
                            .to_owned()
                    )]
                ),
                (
                    5..7,
                    vec![
                        json!({"id": 15, "cents": -7, "reason": "late", "__offset": 5}),
                        json!({"id": 16, "cents": 0, "reason": "", "__offset": 6}),
                    ],
                    vec![]
                ),
            ]
        );
    }
}
