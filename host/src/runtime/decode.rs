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
}
