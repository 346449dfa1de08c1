//! Connector configs as the REST API receives them, turned into pipeline
//! text.
//!
//! Two dialects land on the one pipeline model:
//!
//! - **Kafka Connect's flat map** of strings (`connector.class`, `topics`,
//!   `value.converter`, `transforms.a.type`, …). [`flat_to_pipeline`] maps
//!   each key onto the pipeline file's tree and remembers which key filled
//!   which YAML path, so problems found later can name the key the user
//!   wrote.
//! - **The structured pipeline as JSON**: an object with `apiVersion`, the
//!   same tree a pipeline file holds. [`structured_to_pipeline`] only fills
//!   in `name`.
//!
//! Either way the result is YAML text for [`crate::config::load_str`], so a
//! REST config and a file get exactly the same checks and messages.
//!
//! The flat keys and where they land:
//!
//! | flat key | pipeline |
//! |---|---|
//! | `connector.class` = `kafka-sink` / `file-sink` / `stdout-sink` | Kafka source → `sink.kafka` / `sink.file` / `sink.stdout` |
//! | `connector.class` = `org.apache.kafka.connect.file.FileStreamSinkConnector` (or `FileStreamSinkConnector`, `FileStreamSink`) | Kafka source → `sink.file` |
//! | `connector.class` = `datagen` / `io.confluent.kafka.connect.datagen.DatagenConnector` (or `DatagenConnector`, `Datagen`) | `source.datagen` → `sink.kafka` (topic `kafka.topic`) |
//! | `topics` (comma-separated) / `topics.regex` | `source.kafka.topics` / `topics_regex` |
//! | `tasks.max` | the number of tasks (default 1) |
//! | `value.converter` = `…json.JsonConverter` (schemas off) / `…ByteArrayConverter` or `…StringConverter` | `format: { json: { schema: infer } }` / `format: raw` |
//! | `key.converter` | accepted for JSON, String and ByteArray: keys pass through as bytes |
//! | `transforms=a,b`, `transforms.a.type`, `transforms.a.KEY` | `transforms[i].plugin`, `.name: a`, `.config.KEY` (typed as the plugin declares) |
//! | `errors.tolerance` = `none` / `all` | `errors.on_bad_record: fail` / `dead-letter` |
//! | `errors.deadletterqueue.topic.name` | `errors.dead_letter_topic` |
//! | `consumer.override.*` / `producer.override.*` | `source.kafka.properties` / `sink.kafka.properties` |
//! | `sabot.brokers` | `source.kafka.brokers` (default: `sabot serve --brokers`) |
//! | `sabot.group` | `source.kafka.group` (default `connect-NAME`, as Kafka Connect names sink groups) |
//! | `sabot.start`, `sabot.sink.topic`, `sabot.sink.key.field`, `sabot.sink.topic.field` | `source.kafka.start`, `sink.kafka.topic`, `.key_field`, `.topic_field` |
//! | `file`, `sabot.file.sync` | `sink.file.path`, `sink.file.sync` |
//! | `sabot.batch.max.records`, `sabot.batch.max.wait` | `batch.max_records`, `batch.max_wait` |
//! | `iterations`, `max.interval` (ms), `sabot.datagen.{rate,seed,bad.ratio}` | `source.datagen.records`, `rate` (1000 / interval), `seed`, `bad_ratio` |
//!
//! Unlike Kafka Connect, a missing `value.converter.schemas.enable` means
//! `false`: Sabot reads schemaless JSON only, and `true` is refused rather
//! than misread.
//!
//! Kafka Connect keys Sabot has no use for are not ignored silently: the
//! few that change nothing here are listed in [`NO_EFFECT_KEYS`]; any other
//! unknown key is a problem, with the nearest known key as a hint.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::Problem;
use crate::transform::{FieldType, PluginInfo};

/// The `connector.class` values Sabot knows, with the kind of each. A
/// Java class name also answers to its aliases (see [`kind_of`]).
pub const CONNECTOR_CLASSES: &[(&str, Kind)] = &[
    ("kafka-sink", Kind::KafkaSink),
    ("file-sink", Kind::FileSink),
    ("stdout-sink", Kind::StdoutSink),
    (
        "org.apache.kafka.connect.file.FileStreamSinkConnector",
        Kind::FileSink,
    ),
    ("datagen", Kind::Datagen),
    (
        "io.confluent.kafka.connect.datagen.DatagenConnector",
        Kind::Datagen,
    ),
];

/// Kafka Connect keys that are accepted and change nothing in Sabot:
/// dead-letter records always carry their error headers, errors are always
/// logged, and headers pass through as they are.
pub const NO_EFFECT_KEYS: &[&str] = &[
    "errors.log.enable",
    "errors.log.include.messages",
    "errors.deadletterqueue.context.headers.enable",
    "errors.deadletterqueue.topic.replication.factor",
    "header.converter",
];

/// Every plain key of the flat dialect, for hints on typos. Prefixed keys
/// (`transforms.NAME.*`, `consumer.override.*`, `producer.override.*`,
/// `key.converter.*`, `value.converter.*`) are matched by prefix.
const KNOWN_KEYS: &[&str] = &[
    "name",
    "connector.class",
    "tasks.max",
    "topics",
    "topics.regex",
    "key.converter",
    "value.converter",
    "value.converter.schemas.enable",
    "key.converter.schemas.enable",
    "transforms",
    "errors.tolerance",
    "errors.deadletterqueue.topic.name",
    "file",
    "kafka.topic",
    "iterations",
    "max.interval",
    "sabot.brokers",
    "sabot.group",
    "sabot.start",
    "sabot.sink.topic",
    "sabot.sink.key.field",
    "sabot.sink.topic.field",
    "sabot.file.sync",
    "sabot.batch.max.records",
    "sabot.batch.max.wait",
    "sabot.datagen.seed",
    "sabot.datagen.rate",
    "sabot.datagen.bad.ratio",
    "sabot.format.infer.records",
];

/// What a `connector.class` makes of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Kafka topics in, a Kafka topic out.
    KafkaSink,
    /// Kafka topics in, a JSON-lines file out.
    FileSink,
    /// Kafka topics in, standard output out.
    StdoutSink,
    /// Generated orders in, a Kafka topic out (a source connector in Kafka
    /// Connect's terms).
    Datagen,
}

impl Kind {
    /// `"sink"` or `"source"`, as Kafka Connect types its connectors.
    pub fn connector_type(self) -> &'static str {
        match self {
            Kind::Datagen => "source",
            _ => "sink",
        }
    }
}

/// The kind a `connector.class` names, if Sabot knows it: a name of
/// [`CONNECTOR_CLASSES`] or, as Kafka Connect allows, an alias of one of
/// its Java class names.
pub fn kind_of(class: &str) -> Option<Kind> {
    CONNECTOR_CLASSES
        .iter()
        .find(|(name, _)| *name == class || is_alias(name, class))
        .map(|(_, kind)| *kind)
}

/// Whether `alias` is one of Kafka Connect's aliases of the Java class
/// `name`: its simple name, with or without the `Connector` suffix
/// (`FileStreamSinkConnector`, `FileStreamSink`).
fn is_alias(name: &str, alias: &str) -> bool {
    match name.rsplit_once('.') {
        Some((_, simple)) => alias == simple || simple.strip_suffix("Connector") == Some(alias),
        None => false,
    }
}

/// What the server fills in when a flat config leaves it out.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Bootstrap servers for `sabot.brokers` (`sabot serve --brokers`).
    pub brokers: Option<String>,
}

/// A config turned into pipeline text.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The pipeline as YAML, ready for [`crate::config::load_str`].
    pub yaml: String,
    /// How many tasks the connector may run (`tasks.max`); 1 by default.
    pub tasks_max: usize,
    /// For the flat dialect: which flat key filled which YAML path, longest
    /// paths first, to name the user's key in problems.
    pub origins: Vec<(String, String)>,
}

impl Translated {
    /// The flat key a problem at YAML `path` came from, if known.
    pub fn origin_of(&self, path: &str) -> Option<&str> {
        self.origins
            .iter()
            .find(|(prefix, _)| {
                path == prefix
                    || path.starts_with(&format!("{prefix}."))
                    || path.starts_with(&format!("{prefix}["))
            })
            .map(|(_, key)| key.as_str())
    }
}

/// Whether a JSON config is the structured pipeline rather than a flat map.
pub fn is_structured(config: &Map<String, Value>) -> bool {
    config.contains_key("apiVersion")
}

/// Turn the structured pipeline (JSON) into YAML for the connector `name`.
///
/// `name` is filled in when the object has none; `tasks.max`, the one key
/// that is not part of the pipeline file, is taken out.
///
/// # Errors
///
/// A `name` that differs from the connector's, or a `tasks.max` that is not
/// a positive integer.
pub fn structured_to_pipeline(
    name: &str,
    config: &Map<String, Value>,
) -> Result<Translated, Vec<Problem>> {
    let mut tree = config.clone();
    let mut problems = Vec::new();
    match tree.get("name") {
        None => {
            tree.insert("name".to_owned(), Value::String(name.to_owned()));
        }
        Some(Value::String(n)) if n == name => {}
        Some(other) => problems.push(Problem::new(
            "name",
            format!(
                "is {other} but the connector is `{name}`; make them the same or leave `name` out"
            ),
        )),
    }
    let tasks_max = match tree.remove("tasks.max") {
        None => 1,
        Some(v) => match scalar_text(&v).and_then(|t| t.parse::<usize>().ok()) {
            Some(n) if n >= 1 => n,
            _ => {
                problems.push(Problem::new(
                    "tasks.max",
                    "must be a positive integer, e.g. `1`",
                ));
                1
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Translated {
        yaml: to_yaml(&Value::Object(tree)),
        tasks_max,
        origins: Vec::new(),
    })
}

/// Turn a Kafka Connect flat map into YAML for the connector `name`.
///
/// `plugin_info` describes a transform plugin by its reference (path or
/// bare name), so that `transforms.a.KEY` strings become the types the
/// plugin declares; without it, a value that reads as JSON is taken as JSON
/// and anything else as a string.
///
/// # Errors
///
/// Every problem with the keys themselves: a missing or unknown
/// `connector.class`, unknown keys, values of the wrong shape. Problems of
/// the resulting pipeline are found by [`crate::config::load_str`] later.
pub fn flat_to_pipeline(
    name: &str,
    config: &Map<String, Value>,
    defaults: &Defaults,
    plugin_info: &dyn Fn(&str) -> Option<PluginInfo>,
) -> Result<Translated, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut flat: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in config {
        match scalar_text(value) {
            Some(text) => {
                flat.insert(key.clone(), text);
            }
            None => problems.push(Problem::new(
                key.as_str(),
                "must be a string (Kafka Connect configs are maps of strings)",
            )),
        }
    }
    let mut b = Builder {
        flat: &flat,
        used: Vec::new(),
        origins: Vec::new(),
        problems,
    };

    if let Some(n) = b.take("name")
        && n != name
    {
        b.problem(
            "name",
            format!(
                "is `{n}` but the connector is `{name}`; make them the same or leave `name` out"
            ),
        );
    }
    let kind = match b.take("connector.class") {
        None => {
            b.problem(
                "connector.class",
                format!("is missing; set it to one of {}", known_classes()),
            );
            return Err(b.problems);
        }
        Some(class) => match kind_of(&class) {
            Some(kind) => kind,
            None => {
                b.problem(
                    "connector.class",
                    format!(
                        "`{class}` is not a connector Sabot knows; use one of {}",
                        known_classes()
                    ),
                );
                return Err(b.problems);
            }
        },
    };
    let tasks_max = match b.take("tasks.max") {
        None => 1,
        Some(t) => match t.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                b.problem(
                    "tasks.max",
                    format!("`{t}` is not a positive integer; use e.g. `1`"),
                );
                1
            }
        },
    };

    let mut root = Map::new();
    root.insert(
        "apiVersion".into(),
        Value::String(crate::config::API_VERSION.into()),
    );
    root.insert("name".into(), Value::String(name.to_owned()));

    let brokers = b
        .take_origin("sabot.brokers", "")
        .or_else(|| defaults.brokers.clone());
    let format = b.format();
    let source = if kind == Kind::Datagen {
        b.datagen_source()
    } else {
        b.kafka_source(name, brokers.clone(), format)
    };
    root.insert("source".into(), source);
    if let Some(transforms) = b.transforms(plugin_info) {
        root.insert("transforms".into(), transforms);
    }
    root.insert("sink".into(), b.sink(kind, brokers));
    if let Some(errors) = b.errors() {
        root.insert("errors".into(), errors);
    }
    if let Some(batch) = b.batch() {
        root.insert("batch".into(), batch);
    }
    b.unknown_keys();

    if !b.problems.is_empty() {
        return Err(b.problems);
    }
    let mut origins = b.origins;
    origins.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    Ok(Translated {
        yaml: to_yaml(&Value::Object(root)),
        tasks_max,
        origins,
    })
}

/// `connector.class` values for messages.
fn known_classes() -> String {
    let names: Vec<String> = CONNECTOR_CLASSES
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect();
    names.join(", ")
}

/// A JSON scalar as the string Kafka Connect would have sent.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// YAML text of a JSON tree. JSON is YAML, and serde_yaml writes every
/// JSON value, so this cannot fail; the fallback keeps it total.
fn to_yaml(value: &Value) -> String {
    serde_yaml::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// Split a comma-separated list, dropping blanks.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The state of one flat-map translation.
struct Builder<'a> {
    /// The config, every value as text.
    flat: &'a BTreeMap<String, String>,
    /// Keys already read.
    used: Vec<String>,
    /// YAML path → flat key.
    origins: Vec<(String, String)>,
    /// What is wrong so far.
    problems: Vec<Problem>,
}

impl Builder<'_> {
    /// Read `key`, marking it used.
    fn take(&mut self, key: &str) -> Option<String> {
        let value = self.flat.get(key)?.clone();
        self.used.push(key.to_owned());
        Some(value)
    }

    /// Read `key` and record that it fills YAML path `path` (if not empty).
    fn take_origin(&mut self, key: &str, path: &str) -> Option<String> {
        let value = self.take(key)?;
        if !path.is_empty() {
            self.origins.push((path.to_owned(), key.to_owned()));
        }
        Some(value)
    }

    /// Every key starting with `prefix`, with the prefix removed, marked used.
    fn take_prefixed(&mut self, prefix: &str) -> Vec<(String, String)> {
        let found: Vec<(String, String)> = self
            .flat
            .iter()
            .filter(|(k, _)| !self.used.contains(k))
            .filter_map(|(k, v)| {
                k.strip_prefix(prefix)
                    .map(|rest| (rest.to_owned(), v.clone()))
            })
            .filter(|(rest, _)| !rest.is_empty())
            .collect();
        for (rest, _) in &found {
            self.used.push(format!("{prefix}{rest}"));
        }
        found
    }

    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    /// `value.converter` and friends → the source's `format`.
    fn format(&mut self) -> Option<Value> {
        const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
        const BYTES: &str = "org.apache.kafka.connect.converters.ByteArrayConverter";
        const STRING: &str = "org.apache.kafka.connect.storage.StringConverter";
        if let Some(key) = self.take("key.converter")
            && ![JSON, BYTES, STRING].contains(&key.as_str())
        {
            self.problem(
                "key.converter",
                format!("`{key}` is not supported; keys pass through as bytes, use `{BYTES}`"),
            );
        }
        let _ = self.take("key.converter.schemas.enable");
        let schemas = self.take("value.converter.schemas.enable");
        let infer_records = self.take_origin(
            "sabot.format.infer.records",
            "source.kafka.format.json.infer_records",
        );
        let converter = self.take_origin("value.converter", "source.kafka.format");
        // Confluent's converters: the format named by the class, the schemas
        // from `value.converter.schema.registry.url`.
        const REGISTERED: [(&str, &str); 3] = [
            ("io.confluent.connect.avro.AvroConverter", "avro"),
            (
                "io.confluent.connect.protobuf.ProtobufConverter",
                "protobuf",
            ),
            (
                "io.confluent.connect.json.JsonSchemaConverter",
                "json_schema",
            ),
        ];
        let registered = REGISTERED
            .iter()
            .find(|(class, _)| converter.as_deref() == Some(*class))
            .map(|(_, format)| *format);
        let mut registry = Map::new();
        for (rest, value) in self.take_prefixed("value.converter.") {
            let key = match rest.as_str() {
                "schema.registry.url" => "url",
                "basic.auth.user.info" => "basic_auth",
                "bearer.auth.token" => "bearer_token",
                "schema.registry.ssl.truststore.location" => "ca_file",
                "basic.auth.credentials.source" | "bearer.auth.credentials.source" => continue,
                _ => {
                    self.problem(
                        &format!("value.converter.{rest}"),
                        "is not supported; of a converter's settings Sabot reads `schemas.enable` and, for Confluent's converters, `schema.registry.url`, `basic.auth.user.info` and `bearer.auth.token`",
                    );
                    continue;
                }
            };
            if registered.is_none() {
                self.problem(
                    &format!("value.converter.{rest}"),
                    "applies to Confluent's Avro, Protobuf and JSON Schema converters only",
                );
                continue;
            }
            registry.insert(key.into(), Value::String(value));
        }
        if let Some(format) = registered {
            if !registry.contains_key("url") {
                self.problem(
                    "value.converter.schema.registry.url",
                    "is required with Confluent's converters; give the registry's URL",
                );
                return None;
            }
            return Some(serde_json::json!({ format: { "registry": registry } }));
        }
        match converter.as_deref() {
            None | Some(JSON) => {
                if schemas
                    .as_deref()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("true"))
                {
                    self.problem(
                        "value.converter.schemas.enable",
                        "Sabot reads schemaless JSON (the schema is inferred); set `value.converter.schemas.enable=false`",
                    );
                }
                let mut json = Map::new();
                json.insert("schema".into(), Value::String("infer".into()));
                if let Some(n) = infer_records {
                    json.insert("infer_records".into(), number_or_text(&n));
                }
                Some(serde_json::json!({ "json": json }))
            }
            Some(BYTES) | Some(STRING) => Some(Value::String("raw".into())),
            Some(other) => {
                self.problem(
                    "value.converter",
                    format!("`{other}` is not supported; use `{JSON}` (with `value.converter.schemas.enable=false`), `{BYTES}`, or Confluent's `io.confluent.connect.avro.AvroConverter`, `…protobuf.ProtobufConverter` or `…json.JsonSchemaConverter`"),
                );
                None
            }
        }
    }

    /// `topics`, `sabot.group`, `consumer.override.*` → `source.kafka`.
    fn kafka_source(
        &mut self,
        name: &str,
        brokers: Option<String>,
        format: Option<Value>,
    ) -> Value {
        let mut kafka = Map::new();
        match brokers {
            Some(b) => {
                kafka.insert("brokers".into(), Value::String(b));
                self.origins.push(("source.kafka.brokers".into(), "sabot.brokers".into()));
            }
            None => self.problem(
                "sabot.brokers",
                "no brokers: set `sabot.brokers` to the bootstrap servers, or start `sabot serve --brokers HOST:PORT`",
            ),
        }
        let topics = self.take_origin("topics", "source.kafka.topics");
        let regex = self.take_origin("topics.regex", "source.kafka.topics_regex");
        match (topics, regex) {
            (Some(t), None) => {
                let list: Vec<Value> = split_list(&t).into_iter().map(Value::String).collect();
                kafka.insert("topics".into(), Value::Array(list));
            }
            (None, Some(r)) => {
                kafka.insert("topics_regex".into(), Value::String(r));
            }
            (Some(_), Some(_)) => {
                self.problem("topics", "set `topics` or `topics.regex`, not both")
            }
            (None, None) => self.problem(
                "topics",
                "is missing; a sink connector reads `topics` (comma-separated) or `topics.regex`",
            ),
        }
        let group = self
            .take_origin("sabot.group", "source.kafka.group")
            .unwrap_or_else(|| format!("connect-{name}"));
        kafka.insert("group".into(), Value::String(group));
        if let Some(start) = self.take_origin("sabot.start", "source.kafka.start") {
            kafka.insert("start".into(), Value::String(start));
        }
        if let Some(format) = format {
            kafka.insert("format".into(), format);
        }
        let properties = self.take_prefixed("consumer.override.");
        if !properties.is_empty() {
            let mut map = Map::new();
            for (k, v) in properties {
                self.origins.push((
                    format!("source.kafka.properties.{k}"),
                    format!("consumer.override.{k}"),
                ));
                map.insert(k, Value::String(v));
            }
            kafka.insert("properties".into(), Value::Object(map));
        }
        serde_json::json!({ "kafka": kafka })
    }

    /// `iterations`, `max.interval`, `sabot.datagen.*` → `source.datagen`.
    fn datagen_source(&mut self) -> Value {
        let mut datagen = Map::new();
        if let Some(n) = self.take_origin("iterations", "source.datagen.records") {
            datagen.insert("records".into(), number_or_text(&n));
        }
        let interval = self.take_origin("max.interval", "source.datagen.rate");
        let rate = self.take_origin("sabot.datagen.rate", "source.datagen.rate");
        match (interval, rate) {
            (_, Some(rate)) => {
                datagen.insert("rate".into(), number_or_text(&rate));
            }
            (Some(ms), None) => match ms.trim().parse::<u64>() {
                // One record every `max.interval` ms at most.
                Ok(ms) if ms > 0 => {
                    datagen.insert("rate".into(), Value::from((1000 / ms).max(1)));
                }
                _ => self.problem(
                    "max.interval",
                    format!("`{ms}` is not a positive number of milliseconds"),
                ),
            },
            (None, None) => {}
        }
        if let Some(seed) = self.take_origin("sabot.datagen.seed", "source.datagen.seed") {
            datagen.insert("seed".into(), number_or_text(&seed));
        }
        if let Some(r) = self.take_origin("sabot.datagen.bad.ratio", "source.datagen.bad_ratio") {
            datagen.insert("bad_ratio".into(), number_or_text(&r));
        }
        serde_json::json!({ "datagen": datagen })
    }

    /// `transforms=a,b` and `transforms.a.*` → `transforms`.
    fn transforms(&mut self, plugin_info: &dyn Fn(&str) -> Option<PluginInfo>) -> Option<Value> {
        let names = self
            .take("transforms")
            .map(|t| split_list(&t))
            .unwrap_or_default();
        let mut list = Vec::new();
        for (i, alias) in names.iter().enumerate() {
            let prefix = format!("transforms.{alias}.");
            let mut keys = self.take_prefixed(&prefix);
            let Some(pos) = keys.iter().position(|(k, _)| k == "type") else {
                self.problem(
                    &format!("{prefix}type"),
                    "is missing; name the transform's WASM plugin (a path or a bare name such as `filter`)",
                );
                continue;
            };
            let (_, plugin) = keys.remove(pos);
            let path = format!("transforms[{i}]");
            self.origins
                .push((format!("{path}.plugin"), format!("{prefix}type")));
            if plugin.starts_with("org.apache.kafka.") || plugin.contains('$') {
                self.problem(
                    &format!("{prefix}type"),
                    format!("`{plugin}` is a Java transformation; Sabot runs WASM plugins, name one such as `filter` or `mask`"),
                );
                continue;
            }
            let info = plugin_info(&plugin);
            let mut config = Map::new();
            for (key, text) in keys {
                self.origins
                    .push((format!("{path}.config.{key}"), format!("{prefix}{key}")));
                let ty = info
                    .as_ref()
                    .and_then(|i| i.config.iter().find(|f| f.name == key))
                    .map(|f| f.ty);
                config.insert(key, typed(&text, ty));
            }
            let mut entry = Map::new();
            entry.insert("plugin".into(), Value::String(plugin));
            entry.insert("name".into(), Value::String(alias.clone()));
            if !config.is_empty() {
                entry.insert("config".into(), Value::Object(config));
            }
            list.push(Value::Object(entry));
        }
        // Keys of transforms not listed in `transforms` stay unused and are
        // reported as unknown below.
        (!list.is_empty()).then_some(Value::Array(list))
    }

    /// The sink block for `kind`.
    fn sink(&mut self, kind: Kind, brokers: Option<String>) -> Value {
        let overrides = self.take_prefixed("producer.override.");
        let sink = match kind {
            Kind::KafkaSink | Kind::Datagen => {
                let mut kafka = Map::new();
                let (key, path) = if kind == Kind::Datagen {
                    ("kafka.topic", "sink.kafka.topic")
                } else {
                    ("sabot.sink.topic", "sink.kafka.topic")
                };
                match self.take_origin(key, path) {
                    Some(topic) => {
                        kafka.insert("topic".into(), Value::String(topic));
                    }
                    None => self.problem(key, "is missing; name the topic records are written to"),
                }
                if kind == Kind::Datagen {
                    match brokers {
                        Some(b) => {
                            kafka.insert("brokers".into(), Value::String(b));
                            self.origins.push(("sink.kafka.brokers".into(), "sabot.brokers".into()));
                        }
                        None => self.problem(
                            "sabot.brokers",
                            "no brokers: set `sabot.brokers`, or start `sabot serve --brokers HOST:PORT`",
                        ),
                    }
                }
                if let Some(f) = self.take_origin("sabot.sink.key.field", "sink.kafka.key_field") {
                    kafka.insert("key_field".into(), Value::String(f));
                }
                if let Some(f) =
                    self.take_origin("sabot.sink.topic.field", "sink.kafka.topic_field")
                {
                    kafka.insert("topic_field".into(), Value::String(f));
                }
                if !overrides.is_empty() {
                    let mut map = Map::new();
                    for (k, v) in overrides {
                        self.origins.push((
                            format!("sink.kafka.properties.{k}"),
                            format!("producer.override.{k}"),
                        ));
                        map.insert(k, Value::String(v));
                    }
                    kafka.insert("properties".into(), Value::Object(map));
                }
                return serde_json::json!({ "kafka": kafka });
            }
            Kind::FileSink => {
                let mut file = Map::new();
                match self.take_origin("file", "sink.file.path") {
                    Some(path) => {
                        file.insert("path".into(), Value::String(path));
                    }
                    None => {
                        self.problem("file", "is missing; name the file records are appended to")
                    }
                }
                if let Some(sync) = self.take_origin("sabot.file.sync", "sink.file.sync") {
                    file.insert("sync".into(), number_or_text(&sync));
                }
                serde_json::json!({ "file": file })
            }
            Kind::StdoutSink => serde_json::json!({ "stdout": {} }),
        };
        for (k, _) in overrides {
            self.problem(
                &format!("producer.override.{k}"),
                "only a Kafka sink has a producer; remove the key",
            );
        }
        sink
    }

    /// `errors.tolerance` and the dead-letter topic → `errors`.
    fn errors(&mut self) -> Option<Value> {
        let tolerance = self.take_origin("errors.tolerance", "errors.on_bad_record");
        let topic = self.take_origin(
            "errors.deadletterqueue.topic.name",
            "errors.dead_letter_topic",
        );
        let mut errors = Map::new();
        match tolerance.as_deref().map(str::trim) {
            None => {}
            Some("none") => {
                errors.insert("on_bad_record".into(), Value::String("fail".into()));
            }
            Some("all") => {
                errors.insert("on_bad_record".into(), Value::String("dead-letter".into()));
            }
            Some(other) => self.problem(
                "errors.tolerance",
                format!("`{other}` is not allowed; use `none` (stop at the first bad record) or `all` (dead-letter them)"),
            ),
        }
        if let Some(topic) = topic {
            errors.insert("dead_letter_topic".into(), Value::String(topic));
        }
        (!errors.is_empty()).then_some(Value::Object(errors))
    }

    /// `sabot.batch.*` → `batch`.
    fn batch(&mut self) -> Option<Value> {
        let mut batch = Map::new();
        if let Some(n) = self.take_origin("sabot.batch.max.records", "batch.max_records") {
            batch.insert("max_records".into(), number_or_text(&n));
        }
        if let Some(w) = self.take_origin("sabot.batch.max.wait", "batch.max_wait") {
            batch.insert("max_wait".into(), Value::String(w));
        }
        (!batch.is_empty()).then_some(Value::Object(batch))
    }

    /// A problem for every key nothing read.
    fn unknown_keys(&mut self) {
        let unknown: Vec<String> = self
            .flat
            .keys()
            .filter(|k| !self.used.contains(k) && !NO_EFFECT_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            let mut message = String::from("unknown key");
            if key.starts_with("transforms.") {
                message.push_str("; list the transform's name in `transforms` first");
            } else if KNOWN_KEYS.contains(&key.as_str()) {
                // A key of other connector classes.
                message = "does not apply to this `connector.class`; \
                           `GET /connector-plugins/{class}/config` lists the keys each class takes"
                    .to_owned();
            } else if let Some(best) = crate::config::nearest(&key, KNOWN_KEYS.iter().copied()) {
                message.push_str(&format!("; did you mean `{best}`?"));
            }
            self.problem(&key, message);
        }
    }
}

/// A number or boolean when the text reads as one, else the text; the
/// pipeline's own checks then name a wrong value exactly.
fn number_or_text(text: &str) -> Value {
    match serde_json::from_str::<Value>(text.trim()) {
        Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
        _ => Value::String(text.to_owned()),
    }
}

/// A transform config string as the type its plugin declares.
fn typed(text: &str, ty: Option<FieldType>) -> Value {
    match ty {
        Some(FieldType::String) => Value::String(text.to_owned()),
        Some(FieldType::Integer | FieldType::Number | FieldType::Boolean) => number_or_text(text),
        Some(FieldType::List) => match serde_json::from_str::<Value>(text.trim()) {
            Ok(v @ Value::Array(_)) => v,
            _ => Value::Array(split_list(text).into_iter().map(Value::String).collect()),
        },
        Some(FieldType::Any) | None => match serde_json::from_str::<Value>(text.trim()) {
            Ok(v) => v,
            Err(_) => Value::String(text.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_class_names_answer_to_kafka_connect_aliases() {
        for class in [
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "FileStreamSinkConnector",
            "FileStreamSink",
            "file-sink",
        ] {
            assert_eq!(kind_of(class), Some(Kind::FileSink), "{class}");
        }
        for class in ["DatagenConnector", "Datagen", "datagen"] {
            assert_eq!(kind_of(class), Some(Kind::Datagen), "{class}");
        }
        for class in [
            "FileStreamSource",
            "Connector",
            "sink",
            "connect.file.FileStreamSink",
            "",
        ] {
            assert_eq!(kind_of(class), None, "{class}");
        }
    }
}
