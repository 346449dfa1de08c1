//! Schema'd values end to end, for the runtime: the wire-format header,
//! the registry, and the format's decoder or encoder together.
//!
//! A [`RegistryDecoder`] reads the header of each value, fetches the
//! writer's schema by id once (the client caches it), compiles a decoder
//! for it once, and decodes. A batch holds values of one schema: the
//! runtime cuts what it polled into runs of the same schema id (and
//! Protobuf message) with [`RegistryDecoder::run_end`], so records written
//! with several schemas are all decoded, each run with its own columns.
//! With an Avro reader schema every writer is resolved against it and
//! the columns stay the same.
//!
//! How failures are told apart:
//!
//! - a value that is not framed, names an id the registry does not know,
//!   or does not decode is a bad record with the reason;
//! - a schema that cannot be used (it does not parse, or cannot be read as
//!   the reader schema) makes every value of that id a bad record, naming
//!   the id;
//! - an unreachable registry is an [`Outage`]: nothing is decoded, and the
//!   task waits and tries the same records again.
//!
//! A [`RegistryEncoder`] does the reverse for a Kafka sink: the schema is
//! derived from the batch's columns (or given, or the subject's latest),
//! registered or looked up under the subject its strategy names, and each
//! row written behind the header with that id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};

use crate::config::{RegisteredKind, RegisteredSinkOptions, RegistryConfig, SubjectStrategy};
use crate::format::avro::{AvroDecoder, AvroEncoder, AvroSchema, arrow_to_avro_schema};
use crate::format::json::{JsonDecoder, JsonOptions, UnknownFields};
use crate::format::protobuf::{ProtoSchema, ProtobufDecoder, ProtobufEncoder, proto_from_arrow};
use crate::format::{Decoded, JsonEncoder, RowError};
use crate::record::{RawRecord, is_metadata};
use crate::schema::registry::client::{Auth, ClientConfig, RegistryClient};
use crate::schema::registry::{RegisteredSchema, RegistryError, SchemaType};
use crate::schema::wire;

/// The registry could not be reached: try the same records again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Outage(pub String);

/// A registry client for `config`.
///
/// # Errors
///
/// The URL, credentials or CA file cannot be used.
pub fn client(config: &RegistryConfig) -> Result<RegistryClient, String> {
    // Retry briefly inside a call; a longer outage comes back as one, and
    // the task waits it out where its status shows it.
    let mut c = ClientConfig::new(config.url.clone())
        .with_retry(Duration::from_millis(100), Duration::from_secs(2));
    if let Some(info) = &config.basic_auth {
        c = c.with_auth(Auth::basic_user_info(info).map_err(|e| e.to_string())?);
    } else if let Some(token) = &config.bearer_token {
        c = c.with_auth(Auth::Bearer(token.clone()));
    }
    if let Some(ca) = &config.ca_file {
        c = c.with_ca_file(ca.clone());
    }
    RegistryClient::new(c).map_err(|e| e.to_string())
}

/// Which schema (and Protobuf message) a value was written with.
type Key = (u32, Vec<u32>);

/// A compiled decoder of one writer schema, or why there is none.
enum Compiled {
    Avro(Box<AvroDecoder>),
    Protobuf(Box<ProtobufDecoder>),
    Json(Box<JsonDecoder>),
    Unusable(String),
}

/// Decodes framed values whose schemas come from a registry.
pub struct RegistryDecoder {
    kind: RegisteredKind,
    client: RegistryClient,
    reader: Option<AvroSchema>,
    compiled: HashMap<Key, Compiled>,
}

impl RegistryDecoder {
    /// A decoder of `kind` values with schemas from `client`; Avro values
    /// are read as `reader_schema` when one is given.
    ///
    /// # Errors
    ///
    /// The reader schema does not parse.
    pub fn new(
        kind: RegisteredKind,
        client: RegistryClient,
        reader_schema: Option<&str>,
    ) -> Result<Self, String> {
        let reader = match reader_schema {
            Some(text) => Some(
                AvroSchema::parse(text, &[])
                    .map_err(|e| format!("the reader schema cannot be used: {e}"))?,
            ),
            None => None,
        };
        Ok(RegistryDecoder {
            kind,
            client,
            reader,
            compiled: HashMap::new(),
        })
    }

    /// The schema a value names, if it is framed at all.
    fn key(&self, value: Option<&[u8]>) -> Option<Key> {
        let value = value?;
        match self.kind {
            RegisteredKind::Protobuf => wire::parse_protobuf(value)
                .ok()
                .map(|f| (f.schema_id, f.message_index)),
            RegisteredKind::Avro | RegisteredKind::JsonSchema => {
                wire::parse(value).ok().map(|f| (f.schema_id, Vec::new()))
            }
        }
    }

    /// The end of the run of records from `start` written with the same
    /// schema; records that are not framed go with any run, as they are
    /// bad records whatever the schema.
    pub fn run_end(&self, raw: &[RawRecord], start: usize) -> usize {
        let mut key: Option<Key> = None;
        for (i, r) in raw.iter().enumerate().skip(start) {
            let Some(k) = self.key(r.value.as_deref()) else {
                continue;
            };
            match &key {
                None => key = Some(k),
                Some(first) if *first == k => {}
                Some(_) => return i,
            }
        }
        raw.len()
    }

    /// Decode `raw` (one run): the value columns of the good records, the
    /// index in `raw` of each row, and the bad records with the reason.
    ///
    /// `raw` must be one run as [`RegistryDecoder::run_end`] cuts them:
    /// every value is read with the schema of the run's first framed value,
    /// so a value of another schema in the same slice would be a bad record
    /// (or, were the schemas alike, read with the wrong one).
    ///
    /// # Errors
    ///
    /// [`Outage`] when the registry cannot be reached; nothing is decoded.
    pub fn decode(&mut self, raw: &[RawRecord]) -> Result<Decoded, Outage> {
        let mut errors: Vec<RowError> = Vec::new();
        let mut payloads: Vec<&[u8]> = Vec::with_capacity(raw.len());
        let mut origin: Vec<u32> = Vec::with_capacity(raw.len());
        let mut key: Option<Key> = None;
        for (i, r) in raw.iter().enumerate() {
            let row = i as u32;
            let Some(value) = r.value.as_deref() else {
                errors.push(RowError {
                    row,
                    message: "the value is null (a tombstone); a schema'd value starts with the magic byte 0 and a schema id".to_owned(),
                });
                continue;
            };
            let framed = match self.kind {
                RegisteredKind::Protobuf => {
                    wire::parse_protobuf(value).map(|f| ((f.schema_id, f.message_index), f.payload))
                }
                _ => wire::parse(value).map(|f| ((f.schema_id, Vec::new()), f.payload)),
            };
            match framed {
                Ok((k, payload)) => {
                    key.get_or_insert(k);
                    payloads.push(payload);
                    origin.push(row);
                }
                Err(e) => errors.push(RowError {
                    row,
                    message: e.to_string(),
                }),
            }
        }
        let Some(key) = key else {
            return Ok(self.only_errors(errors));
        };
        if !self.compiled.contains_key(&key) {
            let compiled = self.compile(&key)?;
            self.compiled.insert(key.clone(), compiled);
        }
        let decoded = match self.compiled.get_mut(&key) {
            Some(Compiled::Avro(d)) => d.decode(&payloads),
            Some(Compiled::Protobuf(d)) => d.decode(&payloads),
            Some(Compiled::Json(d)) => {
                let values: Vec<Option<&[u8]>> = payloads.iter().map(|p| Some(*p)).collect();
                d.decode(&values)
            }
            Some(Compiled::Unusable(reason)) => {
                let reason = reason.clone();
                errors.extend(origin.iter().map(|row| RowError {
                    row: *row,
                    message: reason.clone(),
                }));
                errors.sort_by_key(|e| e.row);
                return Ok(self.only_errors(errors));
            }
            None => return Ok(self.only_errors(errors)),
        };
        errors.extend(decoded.errors.into_iter().map(|e| RowError {
            row: origin[e.row as usize],
            message: e.message,
        }));
        errors.sort_by_key(|e| e.row);
        Ok(Decoded {
            batch: decoded.batch,
            rows: decoded.rows.iter().map(|r| origin[*r as usize]).collect(),
            errors,
        })
    }

    /// A batch with no rows and the given errors.
    fn only_errors(&self, errors: Vec<RowError>) -> Decoded {
        Decoded {
            batch: RecordBatch::new_empty(Arc::new(Schema::empty())),
            rows: Vec::new(),
            errors,
        }
    }

    /// Fetch and compile the decoder for `key`.
    fn compile(&self, key: &Key) -> Result<Compiled, Outage> {
        let (id, index) = key;
        let (schema, references) = match self.client.resolve(*id) {
            Ok(found) => found,
            Err(e) if e.is_outage() => return Err(Outage(e.to_string())),
            Err(e) => return Ok(Compiled::Unusable(e.to_string())),
        };
        let compiled = self.compile_schema(&schema, &references, index);
        if let Compiled::Unusable(reason) = &compiled {
            tracing::warn!(schema_id = id, reason = %reason, "a writer's schema cannot be used; its records are bad records");
        } else {
            tracing::info!(schema_id = id, kind = %schema.schema_type, "compiled a decoder for a writer's schema");
        }
        Ok(compiled)
    }

    fn compile_schema(
        &self,
        schema: &RegisteredSchema,
        references: &[(String, String)],
        index: &[u32],
    ) -> Compiled {
        let id = schema.id;
        let wanted = match self.kind {
            RegisteredKind::Avro => SchemaType::Avro,
            RegisteredKind::Protobuf => SchemaType::Protobuf,
            RegisteredKind::JsonSchema => SchemaType::Json,
        };
        if schema.schema_type != wanted {
            return Compiled::Unusable(format!(
                "schema id {id} is a {} schema, but the pipeline reads {}; set the source's `format` to match the producers",
                schema.schema_type, wanted
            ));
        }
        match self.kind {
            RegisteredKind::Avro => {
                let refs: Vec<&str> = references.iter().map(|(_, t)| t.as_str()).collect();
                let writer = match AvroSchema::parse(&schema.schema, &refs) {
                    Ok(w) => w,
                    Err(e) => return Compiled::Unusable(format!("schema id {id}: {e}")),
                };
                match AvroDecoder::new(&writer, self.reader.as_ref()) {
                    Ok(d) => Compiled::Avro(Box::new(d)),
                    Err(e) => Compiled::Unusable(format!("schema id {id}: {e}")),
                }
            }
            RegisteredKind::Protobuf => {
                let refs: Vec<(&str, &str)> = references
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect();
                let compiled =
                    match crate::schema::proto_text::serialized_file(&schema.schema) {
                        Some(file) => crate::schema::proto_text::compile_serialized(file, &refs)
                            .map(ProtoSchema::from_file)
                            .map_err(|message| {
                                crate::format::protobuf::ProtoSchemaError::Compile { message }
                            }),
                        None => ProtoSchema::compile(&schema.schema, &refs),
                    };
                let compiled = compiled
                    .and_then(|s| s.message(index))
                    .map_err(|e| e.to_string())
                    .and_then(|m| ProtobufDecoder::new(&m).map_err(|e| e.to_string()));
                match compiled {
                    Ok(d) => Compiled::Protobuf(Box::new(d)),
                    Err(e) => Compiled::Unusable(format!("schema id {id}: {e}")),
                }
            }
            RegisteredKind::JsonSchema => {
                let refs: Vec<(&str, &str)> = references
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect();
                let arrow = crate::format::json_schema::json_schema_to_arrow(&schema.schema, &refs)
                    .map_err(|e| e.to_string());
                let decoder = arrow.and_then(|s| {
                    JsonDecoder::new(
                        Arc::new(s),
                        JsonOptions {
                            unknown_fields: UnknownFields::Ignore,
                        },
                    )
                    .map_err(|e| e.to_string())
                });
                match decoder {
                    Ok(d) => Compiled::Json(Box::new(d)),
                    Err(e) => Compiled::Unusable(format!("schema id {id}: {e}")),
                }
            }
        }
    }
}

/// How rows are written once the schema is known.
enum Writer {
    Avro(Box<AvroEncoder>),
    Protobuf(Box<ProtobufEncoder>),
    Json(Box<JsonEncoder>),
}

/// The schema in use for one shape of batch.
struct Bound {
    columns: SchemaRef,
    header: Vec<u8>,
    writer: Writer,
}

/// Writes rows framed with a registered schema's id.
pub struct RegistryEncoder {
    kind: RegisteredKind,
    options: RegisteredSinkOptions,
    client: RegistryClient,
    record_name: String,
    bound: Option<Bound>,
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
}

/// Why a batch could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeFailure {
    /// The registry could not be reached.
    #[error("{0}")]
    Outage(String),
    /// The schema cannot be derived, registered or used.
    #[error("{0}")]
    Schema(String),
}

impl RegistryEncoder {
    /// An encoder of `kind` with `options`, naming derived records
    /// `record_name` unless the options do.
    pub fn new(
        kind: RegisteredKind,
        options: RegisteredSinkOptions,
        client: RegistryClient,
        record_name: &str,
    ) -> Self {
        let record_name = options
            .record_name
            .clone()
            .unwrap_or_else(|| record_name.replace(['-', '.'], "_"));
        RegistryEncoder {
            kind,
            options,
            client,
            record_name,
            bound: None,
            scratch: Vec::new(),
            scratch_ends: Vec::new(),
        }
    }

    /// Append every row of `batch` to `out` as a framed value, pushing the
    /// end of each; rows that cannot be written are returned as errors and
    /// left empty.
    ///
    /// # Errors
    ///
    /// The schema cannot be had: the registry is unreachable, refuses it,
    /// or the columns have no form in the format.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        topic: &str,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<Vec<RowError>, EncodeFailure> {
        let columns = value_columns(&batch.schema());
        if self.bound.as_ref().is_none_or(|b| b.columns != columns) {
            self.bound = Some(self.bind(&columns, topic)?);
        }
        let Some(bound) = self.bound.as_mut() else {
            return Err(EncodeFailure::Schema("no schema bound".to_owned()));
        };
        match &mut bound.writer {
            Writer::Protobuf(encoder) => {
                encoder
                    .encode(batch, out, ends)
                    .map_err(|e| EncodeFailure::Schema(e.to_string()))?;
                Ok(Vec::new())
            }
            Writer::Avro(encoder) => {
                self.scratch.clear();
                self.scratch_ends.clear();
                let errors = encoder
                    .encode(batch, &mut self.scratch, &mut self.scratch_ends)
                    .map_err(|e| EncodeFailure::Schema(e.to_string()))?;
                frame_rows(
                    &bound.header,
                    &self.scratch,
                    &self.scratch_ends,
                    &errors,
                    out,
                    ends,
                );
                Ok(errors)
            }
            Writer::Json(encoder) => {
                self.scratch.clear();
                self.scratch_ends.clear();
                encoder
                    .encode(batch, &mut self.scratch, &mut self.scratch_ends)
                    .map_err(|e| EncodeFailure::Schema(e.to_string()))?;
                frame_rows(
                    &bound.header,
                    &self.scratch,
                    &self.scratch_ends,
                    &[],
                    out,
                    ends,
                );
                Ok(Vec::new())
            }
        }
    }

    /// Find the schema and id for batches with `columns`.
    fn bind(&self, columns: &SchemaRef, topic: &str) -> Result<Bound, EncodeFailure> {
        let outage = |e: RegistryError| {
            if e.is_outage() {
                EncodeFailure::Outage(e.to_string())
            } else {
                EncodeFailure::Schema(e.to_string())
            }
        };
        let schema_type = match self.kind {
            RegisteredKind::Avro => SchemaType::Avro,
            RegisteredKind::Protobuf => SchemaType::Protobuf,
            RegisteredKind::JsonSchema => SchemaType::Json,
        };
        let subject_for = |record: &str| match self.options.subject_strategy {
            SubjectStrategy::Topic => format!("{topic}-value"),
            SubjectStrategy::Record => record.to_owned(),
            SubjectStrategy::TopicRecord => format!("{topic}-{record}"),
        };
        let (id, text) = if self.options.use_latest {
            let subject = subject_for(&self.record_name);
            let latest = self.client.latest(&subject).map_err(outage)?;
            (latest.schema.id, latest.schema.schema)
        } else {
            let text = match &self.options.schema {
                Some(text) => text.clone(),
                None => self.derive(columns)?,
            };
            let record = self.record_full_name(&text);
            let subject = subject_for(&record);
            let id = if self.options.auto_register {
                self.client
                    .register(&subject, schema_type, &text, &[])
                    .map_err(outage)?
            } else {
                self.client
                    .lookup(&subject, schema_type, &text, &[])
                    .map_err(outage)?
                    .schema
                    .id
            };
            tracing::info!(subject = %subject, schema_id = id, "writing with a registered schema");
            (id, text)
        };
        let schema_error = |e: String| EncodeFailure::Schema(format!("schema id {id}: {e}"));
        let (header, writer) = match self.kind {
            RegisteredKind::Avro => {
                let schema =
                    AvroSchema::parse(&text, &[]).map_err(|e| schema_error(e.to_string()))?;
                let mut header = Vec::new();
                wire::write_header(id, &mut header);
                (header, Writer::Avro(Box::new(AvroEncoder::new(&schema))))
            }
            RegisteredKind::Protobuf => {
                let schema = proto_schema(&text).map_err(schema_error)?;
                // The message named `record_name` if the file has one, else
                // its first.
                let message = match schema.message_by_name(&self.record_name) {
                    Some(m) => m,
                    None => schema
                        .message(&[0])
                        .map_err(|e| schema_error(e.to_string()))?,
                };
                let index = schema.message_index(&message).unwrap_or_else(|| vec![0]);
                let mut header = Vec::new();
                wire::write_protobuf_header(id, &index, &mut header);
                let encoder = ProtobufEncoder::new(&message)
                    .map_err(|e| schema_error(e.to_string()))?
                    .with_prefix(header.clone());
                (header, Writer::Protobuf(Box::new(encoder)))
            }
            RegisteredKind::JsonSchema => {
                let mut header = Vec::new();
                wire::write_header(id, &mut header);
                (header, Writer::Json(Box::new(JsonEncoder::new())))
            }
        };
        Ok(Bound {
            columns: columns.clone(),
            header,
            writer,
        })
    }

    /// A schema for `columns` in the sink's format, named after the record
    /// name; a full name (`shop.Order`) gives the Avro namespace or the
    /// Protobuf package.
    fn derive(&self, columns: &Schema) -> Result<String, EncodeFailure> {
        let (space, name) = match self.record_name.rsplit_once('.') {
            Some((space, name)) => (Some(space), name),
            None => (None, self.record_name.as_str()),
        };
        let derived = match self.kind {
            RegisteredKind::Avro => {
                arrow_to_avro_schema(columns, name, space).map_err(|e| e.to_string())
            }
            RegisteredKind::Protobuf => {
                proto_from_arrow(columns, name, space).map_err(|e| e.to_string())
            }
            RegisteredKind::JsonSchema => {
                crate::format::json_schema::arrow_to_json_schema(columns, &self.record_name)
                    .map_err(|e| e.to_string())
            }
        };
        derived.map_err(|e| {
            EncodeFailure::Schema(format!(
                "cannot derive a schema from the batch's columns: {e}; give one as the sink format's `schema`"
            ))
        })
    }

    /// The record name a subject strategy uses.
    fn record_full_name(&self, text: &str) -> String {
        match self.kind {
            RegisteredKind::Avro => serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| {
                    let name = v.get("name")?.as_str()?.to_owned();
                    Some(match v.get("namespace").and_then(|n| n.as_str()) {
                        Some(ns) if !ns.is_empty() && !name.contains('.') => format!("{ns}.{name}"),
                        _ => name,
                    })
                })
                .unwrap_or_else(|| self.record_name.clone()),
            RegisteredKind::Protobuf => proto_schema(text)
                .ok()
                .and_then(|s| {
                    s.message_by_name(&self.record_name)
                        .or_else(|| s.message(&[0]).ok())
                })
                .map(|m| m.full_name().to_owned())
                .unwrap_or_else(|| self.record_name.clone()),
            RegisteredKind::JsonSchema => serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("title")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| self.record_name.clone()),
        }
    }
}

/// A Protobuf schema without references, in either of the registry's forms.
fn proto_schema(text: &str) -> Result<ProtoSchema, String> {
    match crate::schema::proto_text::serialized_file(text) {
        Some(file) => {
            crate::schema::proto_text::compile_serialized(file, &[]).map(ProtoSchema::from_file)
        }
        None => ProtoSchema::compile(text, &[]).map_err(|e| e.to_string()),
    }
}

/// The value columns of `schema` (metadata columns left out).
fn value_columns(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .filter(|f| !is_metadata(f.name()))
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

/// Copy rows from `body` (ending at `body_ends`) to `out`, each behind
/// `header`; rows in `errors` are left empty.
fn frame_rows(
    header: &[u8],
    body: &[u8],
    body_ends: &[usize],
    errors: &[RowError],
    out: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) {
    let mut start = 0;
    let mut bad = errors.iter().map(|e| e.row as usize).peekable();
    for (row, end) in body_ends.iter().enumerate() {
        if bad.peek() == Some(&row) {
            bad.next();
        } else {
            out.extend_from_slice(header);
            out.extend_from_slice(&body[start..*end]);
        }
        ends.push(out.len());
        start = *end;
    }
}

#[cfg(test)]
mod tests;
