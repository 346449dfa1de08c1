//! The pipeline file, version `sabot/v1`, as serde types.
//!
//! Every struct here rejects unknown keys, and every field is documented:
//! these docs are the reference the README's pipeline section is written
//! from. Defaults live in [`defaults`] and say where they come from.
//!
//! A block that holds one of several kinds (`source`, `sink`, `format`) is a
//! struct of optional fields, one per kind, of which exactly one must be set:
//! `source: { kafka: {...} }`. That keeps the YAML flat and lets validation
//! name the key that is wrong.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The only version of the pipeline file this build reads.
pub const API_VERSION: &str = "sabot/v1";

/// One pipeline file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// The file format's version; must be `sabot/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// The pipeline's name: letters, digits, `.`, `_` and `-`. It tags logs
    /// and metrics and names the pipeline in messages.
    pub name: String,
    /// Free text for people reading the file.
    #[serde(default)]
    pub description: Option<String>,
    /// Where records come from.
    pub source: SourceConfig,
    /// The WASM transforms each batch passes through, in order.
    #[serde(default)]
    pub transforms: Vec<TransformConfig>,
    /// Where records go.
    pub sink: SinkConfig,
    /// What happens to records that cannot be processed.
    #[serde(default)]
    pub errors: ErrorsConfig,
    /// How records are grouped into batches.
    #[serde(default)]
    pub batch: BatchConfig,
    /// The schema registry of `avro`, `protobuf` and `json_schema` formats
    /// that do not name their own: a URL, or a map with credentials.
    #[serde(default)]
    pub schema_registry: Option<RegistryConfig>,
}

impl PipelineFile {
    /// The top-level keys other than `transforms` (and `description`) whose
    /// values differ between `self` and `other`: what a live change of
    /// transforms cannot take without a restart.
    pub fn changed_outside_transforms(&self, other: &PipelineFile) -> Vec<&'static str> {
        // The sections hold maps of user values and plugin configs without
        // an `Eq`; their debug text compares every field.
        let mut changed = Vec::new();
        let mut check = |key: &'static str, a: String, b: String| {
            if a != b {
                changed.push(key);
            }
        };
        check(
            "apiVersion",
            self.api_version.clone(),
            other.api_version.clone(),
        );
        check("name", self.name.clone(), other.name.clone());
        check(
            "source",
            format!("{:?}", self.source),
            format!("{:?}", other.source),
        );
        check(
            "sink",
            format!("{:?}", self.sink),
            format!("{:?}", other.sink),
        );
        check(
            "errors",
            format!("{:?}", self.errors),
            format!("{:?}", other.errors),
        );
        check(
            "batch",
            format!("{:?}", self.batch),
            format!("{:?}", other.batch),
        );
        check(
            "schema_registry",
            format!("{:?}", self.schema_registry),
            format!("{:?}", other.schema_registry),
        );
        changed
    }
}

/// A Confluent-compatible schema registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "RegistryRepr")]
pub struct RegistryConfig {
    /// Its base URL, e.g. `http://127.0.0.1:8081` (`https://` for TLS);
    /// `sabot serve --registry-listen` serves one.
    pub url: String,
    /// `user:password` for HTTP basic authentication.
    pub basic_auth: Option<String>,
    /// A bearer token for HTTP bearer authentication.
    pub bearer_token: Option<String>,
    /// A PEM file of the certificate authorities to trust for `https://`.
    pub ca_file: Option<PathBuf>,
}

/// A `NAME | { map }` spelling, read by hand rather than with
/// `#[serde(untagged)]`: a string goes to the name variant and a map to the
/// map variant, so the map's own errors (an unknown key with its path and
/// the valid keys) reach the user instead of "matched no variant".
macro_rules! name_or_map {
    ($repr:ident { $name:ident($name_ty:ty), $map:ident($map_ty:ty) }, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $repr {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Spelling;
                impl<'de> serde::de::Visitor<'de> for Spelling {
                    type Value = $repr;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$repr, E> {
                        <$name_ty>::deserialize(serde::de::value::StrDeserializer::<E>::new(v))
                            .map($repr::$name)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$repr, A::Error> {
                        <$map_ty>::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                            .map($repr::$map)
                    }
                }
                d.deserialize_any(Spelling)
            }
        }
    };
}

/// The two spellings of a registry: `URL`, or a map.
enum RegistryRepr {
    Url(String),
    Map(RegistryMap),
}

name_or_map!(
    RegistryRepr { Url(String), Map(RegistryMap) },
    "a registry URL, `embedded`, or a map with `url`"
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryMap {
    url: String,
    #[serde(default)]
    basic_auth: Option<String>,
    #[serde(default)]
    bearer_token: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

impl From<RegistryRepr> for RegistryConfig {
    fn from(repr: RegistryRepr) -> Self {
        match repr {
            RegistryRepr::Url(url) => RegistryConfig {
                url,
                basic_auth: None,
                bearer_token: None,
                ca_file: None,
            },
            RegistryRepr::Map(m) => RegistryConfig {
                url: m.url,
                basic_auth: m.basic_auth,
                bearer_token: m.bearer_token,
                ca_file: m.ca_file,
            },
        }
    }
}

/// Where records come from: exactly one of the fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Read from Kafka topics.
    #[serde(default)]
    pub kafka: Option<KafkaSourceConfig>,
    /// Generate realistic JSON order records, for demos and load tests.
    #[serde(default)]
    pub datagen: Option<DatagenConfig>,
}

/// A Kafka source: a consumer in a consumer group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// Bootstrap brokers, `host:port` separated by commas, or `embedded` for
    /// an in-memory broker inside this process (dev only: data is lost on
    /// exit).
    pub brokers: String,
    /// Topics to read, by name. Exactly one of `topics` and `topics_regex`.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
    /// Topics to read, by regular expression over topic names (librdkafka
    /// syntax), e.g. `^orders-.*`. New matching topics are picked up.
    #[serde(default)]
    pub topics_regex: Option<String>,
    /// The consumer group; committed offsets are stored under it.
    pub group: String,
    /// Where a partition with no committed offset starts: `earliest` or
    /// `latest`. Default `earliest`, as Kafka Connect's sink connectors do.
    #[serde(default)]
    pub start: StartPosition,
    /// How record values are decoded. Default: JSON with an inferred schema.
    #[serde(default)]
    pub format: FormatConfig,
    /// librdkafka properties passed to the consumer as they are, e.g.
    /// `security.protocol`, `sasl.mechanism`, `session.timeout.ms`.
    #[serde(default)]
    pub properties: BTreeMap<String, ScalarValue>,
    /// Only with `brokers: embedded`: how the in-memory broker is set up.
    #[serde(default)]
    pub embedded: Option<EmbeddedConfig>,
}

/// The in-memory broker used by `brokers: embedded`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// Partitions of each topic it creates. Default 3.
    #[serde(default = "defaults::embedded_partitions")]
    pub partitions: i32,
    /// Fill the source topics with generated order records.
    #[serde(default)]
    pub datagen: Option<DatagenConfig>,
    /// How the generated orders are written: `json` (the default), or
    /// `avro` in the Confluent wire format, their schema registered in the
    /// source's schema registry (`schema_registry: embedded` needs nothing
    /// else). Malformed orders (`bad_ratio`) are written as they are, so
    /// they reach the dead-letter path unframed.
    #[serde(default)]
    pub format: FeedFormat,
}

/// How an embedded feed writes its orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// JSON text.
    #[default]
    Json,
    /// Avro in the Confluent wire format.
    Avro,
}

/// Generated JSON orders.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatagenConfig {
    /// How many records to generate; unbounded when absent.
    #[serde(default)]
    pub records: Option<u64>,
    /// Records per second at most; as fast as possible when absent.
    #[serde(default)]
    pub rate: Option<u64>,
    /// Seed of the generator: the same seed gives the same records.
    #[serde(default = "defaults::datagen_seed")]
    pub seed: u64,
    /// Share of records, from 0 to 1, that are deliberately malformed (bad
    /// JSON, wrong types, empty), to show the dead-letter path. Default 0.
    #[serde(default)]
    pub bad_ratio: f64,
}

/// Where a partition without a committed offset starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartPosition {
    /// The oldest record still in the partition.
    #[default]
    Earliest,
    /// Only records produced after the pipeline joined.
    Latest,
}

/// How record values are decoded: exactly one of the fields. Written
/// either as a map (`format: { json: { schema: infer } }`) or as a bare
/// name (`format: raw`, `format: json`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "FormatRepr")]
pub struct FormatConfig {
    /// JSON objects, one per record value.
    pub json: Option<JsonFormatConfig>,
    /// The value bytes as they are, in a `binary` column named `value`.
    pub raw: Option<RawFormatConfig>,
    /// Avro in the Confluent wire format, schemas from a registry.
    pub avro: Option<AvroFormatConfig>,
    /// Protobuf in the Confluent wire format, schemas from a registry.
    pub protobuf: Option<RegistryFormatConfig>,
    /// JSON in the Confluent wire format, its JSON Schema from a registry.
    pub json_schema: Option<RegistryFormatConfig>,
}

/// Avro values framed with a schema id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvroFormatConfig {
    /// The registry; default: the pipeline's `schema_registry`.
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
    /// The schema records are read as (Avro JSON, e.g.
    /// `${file:order.avsc}`): every writer's schema is resolved against it
    /// (added fields take their defaults, promotions, aliases), so the
    /// columns stay the same as producers evolve. Default: each writer's
    /// own schema, a batch per schema.
    #[serde(default)]
    pub reader_schema: Option<String>,
}

/// Values framed with a schema id, the schema from a registry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFormatConfig {
    /// The registry; default: the pipeline's `schema_registry`.
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
}

/// The two spellings of a format block.
enum FormatRepr {
    /// `format: raw`
    Name(FormatName),
    /// `format: { json: {...} }`
    Map(Box<FormatMap>),
}

name_or_map!(
    FormatRepr { Name(FormatName), Map(Box<FormatMap>) },
    "a format name (`json`, `raw`, `avro`, `protobuf`, `json_schema`) or a map with one of them"
);

/// A format given by name alone.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FormatName {
    Json,
    Raw,
    Avro,
    Protobuf,
    #[serde(rename = "json_schema")]
    JsonSchema,
}

/// A format given as a map.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatMap {
    #[serde(default)]
    json: Option<JsonFormatConfig>,
    #[serde(default)]
    raw: Option<RawFormatConfig>,
    #[serde(default)]
    avro: Option<AvroFormatConfig>,
    #[serde(default)]
    protobuf: Option<RegistryFormatConfig>,
    #[serde(default)]
    json_schema: Option<RegistryFormatConfig>,
}

impl From<FormatRepr> for FormatConfig {
    fn from(repr: FormatRepr) -> Self {
        match repr {
            FormatRepr::Name(name) => {
                let mut f = FormatConfig::default();
                match name {
                    FormatName::Json => f.json = Some(JsonFormatConfig::default()),
                    FormatName::Raw => f.raw = Some(RawFormatConfig {}),
                    FormatName::Avro => f.avro = Some(AvroFormatConfig::default()),
                    FormatName::Protobuf => f.protobuf = Some(RegistryFormatConfig::default()),
                    FormatName::JsonSchema => f.json_schema = Some(RegistryFormatConfig::default()),
                }
                f
            }
            FormatRepr::Map(map) => FormatConfig {
                json: map.json,
                raw: map.raw,
                avro: map.avro,
                protobuf: map.protobuf,
                json_schema: map.json_schema,
            },
        }
    }
}

/// JSON values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonFormatConfig {
    /// `infer` (the default) to derive the schema from the first records,
    /// or a map of field name to type: `bool`, `int8`…`int64`,
    /// `uint8`…`uint64`, `float32`, `float64`, `utf8`, `binary`, `date32`,
    /// `timestamp(ms)`, `decimal(10,2)`, `json`, `{struct: {...}}`,
    /// `{list: TYPE}`, or `{type: TYPE, nullable: false}`.
    #[serde(default)]
    pub schema: Option<serde_json::Value>,
    /// With `schema: infer`, how many records to read before fixing the
    /// schema. Default 1000.
    #[serde(default)]
    pub infer_records: Option<usize>,
    /// What to do with a field the schema does not have: `ignore` it (the
    /// default with an explicit schema) or `reject` the record as a bad
    /// record (the default with an inferred schema, so nothing is dropped
    /// silently).
    #[serde(default)]
    pub unknown_fields: Option<UnknownFieldsPolicy>,
}

/// What to do with fields the schema does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownFieldsPolicy {
    /// Drop the field and keep the record.
    Ignore,
    /// Send the record to the bad-record path, naming the field.
    Reject,
}

/// Raw values: no options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFormatConfig {}

/// One WASM transform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformConfig {
    /// The component file: a path (relative to the pipeline file) or a
    /// bare name looked up in `$SABOT_PLUGIN_PATH` and `plugins/dist`.
    pub plugin: String,
    /// A name for logs and messages; default: the plugin's own name.
    #[serde(default)]
    pub name: Option<String>,
    /// The plugin's configuration, handed to its `init` as JSON.
    #[serde(default)]
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Longest a single batch call may take, e.g. `5s`. Default 5 s.
    #[serde(default, deserialize_with = "scalar_text")]
    pub timeout: Option<String>,
    /// Most linear memory one instance may use, e.g. `256MiB`. Default
    /// 256 MiB.
    #[serde(default, deserialize_with = "scalar_text")]
    pub max_memory: Option<String>,
    /// Most fuel a single call (`init` or one batch) may spend, a positive
    /// integer, e.g. `100000000`; about one unit per WebAssembly instruction,
    /// the same count on every machine. Default: no budget, and the plugin
    /// runs without fuel metering, which is faster.
    #[serde(default, deserialize_with = "fuel_units")]
    pub fuel: Option<u64>,
    /// Capabilities beyond logging; by default a plugin has none.
    #[serde(default)]
    pub grants: GrantsConfig,
}

/// What a plugin may reach besides the host's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsConfig {
    /// Let it read the wall clock; otherwise it reads 1970-01-01T00:00:00Z.
    #[serde(default)]
    pub wall_clock: bool,
    /// Give it fresh random numbers; otherwise a fixed sequence.
    #[serde(default)]
    pub random: bool,
    /// A folder (relative to the pipeline file) it may read, never write,
    /// seen inside the plugin as `/data`.
    #[serde(default)]
    pub read_dir: Option<PathBuf>,
}

/// Where records go: exactly one of the fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Produce to a Kafka topic, values as JSON.
    #[serde(default)]
    pub kafka: Option<KafkaSinkConfig>,
    /// Append JSON lines to a file.
    #[serde(default)]
    pub file: Option<FileSinkConfig>,
    /// Print JSON lines on standard output.
    #[serde(default)]
    pub stdout: Option<StdoutSinkConfig>,
    /// Write Parquet files into a folder.
    #[serde(default)]
    pub parquet: Option<ParquetSinkConfig>,
}

/// A Parquet sink: rolled files in a folder. A file is written under a
/// hidden temporary name and renamed when closed; source offsets are
/// committed only for rows in closed files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetSinkConfig {
    /// The folder the files go in; created if missing. Files are named
    /// `PIPELINE-STARTTIME-SEQUENCE.parquet`.
    pub path: PathBuf,
    /// Close a file once it holds this many rows. Default 1,000,000.
    #[serde(default = "defaults::parquet_roll_records")]
    pub roll_records: u64,
    /// Close a file once about this many bytes are written, e.g. `64MiB`.
    /// Default `128MiB`.
    #[serde(default = "defaults::parquet_roll_bytes")]
    pub roll_bytes: String,
    /// Close a file this long after it was opened, e.g. `30s`; also the
    /// longest time a row waits before its offset can be committed.
    /// Default `5m`.
    #[serde(default = "defaults::parquet_roll_interval")]
    pub roll_interval: String,
    /// Column compression: `zstd` (the default), `snappy` or `none`.
    #[serde(default)]
    pub compression: ParquetCompressionConfig,
    /// Keep the `__topic`, `__partition`, `__offset`, … metadata columns.
    /// Default false: only the value columns.
    #[serde(default)]
    pub metadata: bool,
}

/// Parquet column compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParquetCompressionConfig {
    /// Zstandard: small files.
    #[default]
    Zstd,
    /// Snappy: fast.
    Snappy,
    /// Uncompressed.
    None,
}

/// A Kafka sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSinkConfig {
    /// Bootstrap brokers; default: the source's brokers.
    #[serde(default)]
    pub brokers: Option<String>,
    /// The topic written to, unless `topic_field` routes a row elsewhere.
    pub topic: String,
    /// A `utf8` column naming each row's topic; rows where it is null go to
    /// `topic`. A column whose name starts with `__` is left out of the
    /// value.
    #[serde(default)]
    pub topic_field: Option<String>,
    /// A value field whose text becomes the record key. Default: the key
    /// the record came with (the `__key` column).
    #[serde(default)]
    pub key_field: Option<String>,
    /// How values are written: `json` (the default; one object of the
    /// non-metadata columns per row) or `raw` (the bytes of a binary or
    /// utf8 column named `value`, as a `raw` source gives them).
    #[serde(default)]
    pub format: SinkFormat,
    /// librdkafka properties for the producer, e.g. `compression.type`.
    #[serde(default)]
    pub properties: BTreeMap<String, ScalarValue>,
}

/// How a Kafka sink writes values: `json`, `raw`, or a schema'd format
/// (`avro`, `protobuf`, `json_schema`, by name or as a map of options).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "SinkFormatRepr")]
pub enum SinkFormat {
    /// One JSON object per row.
    #[default]
    Json,
    /// The `value` column's bytes as they are.
    Raw,
    /// Framed with a registered schema's id, as Confluent's serializers do.
    Registered(RegisteredSinkFormat),
}

/// A sink format whose schema lives in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSinkFormat {
    /// Avro, Protobuf or JSON Schema.
    pub kind: RegisteredKind,
    /// Its options.
    pub options: RegisteredSinkOptions,
}

/// The schema'd formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredKind {
    /// Avro binary.
    Avro,
    /// Protobuf.
    Protobuf,
    /// JSON text checked by a JSON Schema.
    JsonSchema,
}

/// Options of a schema'd sink format, as Confluent's serializer settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredSinkOptions {
    /// The registry; default: the pipeline's `schema_registry`.
    #[serde(default)]
    pub registry: Option<RegistryConfig>,
    /// How the subject is named: `topic` (`TOPIC-value`, the default),
    /// `record` (the record's full name) or `topic_record`
    /// (`TOPIC-RECORDNAME`).
    #[serde(default)]
    pub subject_strategy: SubjectStrategy,
    /// Register the schema derived from the batch's columns (or `schema`)
    /// if the subject does not have it. Default true, as
    /// `auto.register.schemas`.
    #[serde(default = "defaults::auto_register")]
    pub auto_register: bool,
    /// Write with the subject's latest schema instead of registering, as
    /// `use.latest.version`. Default false.
    #[serde(default)]
    pub use_latest: bool,
    /// The schema text to write with, instead of one derived from the
    /// columns.
    #[serde(default)]
    pub schema: Option<String>,
    /// The record (message) name of a derived schema. Default: the
    /// pipeline's name.
    #[serde(default)]
    pub record_name: Option<String>,
}

/// How the subject of a written schema is named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectStrategy {
    /// `TOPIC-value`.
    #[default]
    Topic,
    /// The record's full name.
    Record,
    /// `TOPIC-RECORDNAME`.
    TopicRecord,
}

enum SinkFormatRepr {
    Name(SinkFormatName),
    Map(Box<SinkFormatMap>),
}

name_or_map!(
    SinkFormatRepr { Name(SinkFormatName), Map(Box<SinkFormatMap>) },
    "a format name (`json`, `raw`, `avro`, `protobuf`, `json_schema`) or a map with one of them"
);

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SinkFormatName {
    Json,
    Raw,
    Avro,
    Protobuf,
    JsonSchema,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinkFormatMap {
    #[serde(default)]
    avro: Option<RegisteredSinkOptions>,
    #[serde(default)]
    protobuf: Option<RegisteredSinkOptions>,
    #[serde(default)]
    json_schema: Option<RegisteredSinkOptions>,
}

impl From<SinkFormatRepr> for SinkFormat {
    fn from(repr: SinkFormatRepr) -> Self {
        let registered =
            |kind, options| SinkFormat::Registered(RegisteredSinkFormat { kind, options });
        match repr {
            SinkFormatRepr::Name(SinkFormatName::Json) => SinkFormat::Json,
            SinkFormatRepr::Name(SinkFormatName::Raw) => SinkFormat::Raw,
            SinkFormatRepr::Name(SinkFormatName::Avro) => {
                registered(RegisteredKind::Avro, RegisteredSinkOptions::with_defaults())
            }
            SinkFormatRepr::Name(SinkFormatName::Protobuf) => registered(
                RegisteredKind::Protobuf,
                RegisteredSinkOptions::with_defaults(),
            ),
            SinkFormatRepr::Name(SinkFormatName::JsonSchema) => registered(
                RegisteredKind::JsonSchema,
                RegisteredSinkOptions::with_defaults(),
            ),
            // Validation reports a map with none or several kinds; the
            // first set wins here.
            SinkFormatRepr::Map(m) => match (m.avro, m.protobuf, m.json_schema) {
                (Some(o), _, _) => registered(RegisteredKind::Avro, o),
                (None, Some(o), _) => registered(RegisteredKind::Protobuf, o),
                (None, None, Some(o)) => registered(RegisteredKind::JsonSchema, o),
                (None, None, None) => SinkFormat::Json,
            },
        }
    }
}

impl RegisteredSinkOptions {
    /// The options when only the format's name is given.
    pub fn with_defaults() -> Self {
        RegisteredSinkOptions {
            auto_register: true,
            ..RegisteredSinkOptions::default()
        }
    }
}

/// A JSON-lines file sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file to append to (relative to the working directory); created
    /// with its parent directories if missing.
    pub path: PathBuf,
    /// Whether to `fsync` the file before offsets are committed, so a
    /// committed record survives a power loss. Default true.
    #[serde(default = "defaults::file_sync")]
    pub sync: bool,
}

/// Standard output; no options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {}

/// The bad-record policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsConfig {
    /// `fail` (the default, as Kafka Connect's `errors.tolerance=none`):
    /// the first bad record stops the pipeline. `dead-letter`: bad records
    /// go to `dead_letter_topic` and the rest flow on.
    #[serde(default)]
    pub on_bad_record: BadRecordPolicy,
    /// The topic bad records are written to, with their original key, value
    /// and headers plus `sabot.error.*` headers.
    #[serde(default)]
    pub dead_letter_topic: Option<String>,
    /// Brokers of the dead-letter topic; default: the source's brokers (or
    /// the Kafka sink's, for a datagen source).
    #[serde(default)]
    pub dead_letter_brokers: Option<String>,
}

/// What happens to a bad record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadRecordPolicy {
    /// Stop the pipeline.
    #[default]
    Fail,
    /// Write it to the dead-letter topic and go on.
    DeadLetter,
}

/// How records are grouped into batches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// A batch closes when it holds this many records. Default 1000.
    #[serde(default = "defaults::max_records")]
    pub max_records: usize,
    /// …or when its first record has waited this long, e.g. `50ms`.
    /// Default 50 ms.
    #[serde(
        default = "defaults::max_wait",
        deserialize_with = "required_scalar_text"
    )]
    pub max_wait: String,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_records: defaults::max_records(),
            max_wait: defaults::max_wait(),
        }
    }
}

/// A YAML scalar given where librdkafka wants a string: `5000`, `true`
/// and `"5000"` all work.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ScalarValue {
    /// A string.
    String(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl std::fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScalarValue::String(s) => f.write_str(s),
            ScalarValue::Int(i) => write!(f, "{i}"),
            ScalarValue::Float(x) => write!(f, "{x}"),
            ScalarValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Read a scalar as text, so that `5` reaches the duration parser (which
/// then asks for a unit) instead of failing as "not a string".
fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<ScalarValue>::deserialize(d)?.map(|v| v.to_string()))
}

/// Read a fuel budget: a whole number of units, or its digits as a string
/// (what `${env:NAME}` gives when the variable is not alone in the value).
/// Zero is read and left to validation, which says what to write instead.
fn fuel_units<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(value) = Option::<serde_json::Value>::deserialize(d)? else {
        return Ok(None);
    };
    let (units, text) = match &value {
        serde_json::Value::Number(n) => (n.as_u64(), n.to_string()),
        serde_json::Value::String(s) => (s.trim().parse::<u64>().ok(), s.clone()),
        other => (None, other.to_string()),
    };
    units.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`{text}` is not a positive whole number of fuel units; write e.g. `fuel: 100000000`, or leave `fuel` out for no budget"
        ))
    })
}

/// [`scalar_text`] for a field with a default.
fn required_scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(ScalarValue::deserialize(d)?.to_string())
}

/// Every default of the pipeline file, in one place.
pub mod defaults {
    /// Partitions per embedded topic: 3, enough to show parallel partitions.
    pub fn embedded_partitions() -> i32 {
        3
    }
    /// Datagen seed: a fixed value, so runs repeat.
    pub fn datagen_seed() -> u64 {
        42
    }
    /// Records per batch: 1000, where the WASM call cost is well amortised.
    pub fn max_records() -> usize {
        1000
    }
    /// Wait for a batch to fill: 50 ms, a latency most pipelines accept.
    pub fn max_wait() -> String {
        "50ms".to_owned()
    }
    /// Register derived schemas on write: yes, as Confluent's serializers.
    pub fn auto_register() -> bool {
        true
    }
    /// Rows per Parquet file: 1,000,000.
    pub fn parquet_roll_records() -> u64 {
        1_000_000
    }
    /// Bytes per Parquet file: 128 MiB.
    pub fn parquet_roll_bytes() -> String {
        "128MiB".to_owned()
    }
    /// Longest a Parquet file stays open: 5 minutes.
    pub fn parquet_roll_interval() -> String {
        "5m".to_owned()
    }
    /// Fsync the file sink before committing: yes, so nothing is lost.
    pub fn file_sync() -> bool {
        true
    }
    /// Records read to infer a JSON schema: 1000.
    pub const INFER_RECORDS: usize = 1000;
    /// A plugin call's deadline: 5 s.
    pub const PLUGIN_TIMEOUT_MS: u64 = 5_000;
    /// A plugin instance's memory cap: 256 MiB.
    pub const PLUGIN_MAX_MEMORY: usize = 256 << 20;
}
