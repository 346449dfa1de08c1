//! From a checked pipeline file to a plan a task can run.
//!
//! Planning does everything that can fail before a record moves: it
//! resolves and compiles plugins and runs their `init` with the file's
//! config, parses explicit schemas, and asks the brokers for metadata. Every
//! problem is reported with the YAML path of the key it came from, the same
//! way [`crate::config`] reports problems of the file itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_schema::SchemaRef;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::{
    BadRecordPolicy, ConfigError, DatagenConfig, LoadedPipeline, Problem, UnknownFieldsPolicy,
    defaults, parse_duration, parse_size,
};
use crate::format::json::UnknownFields;
use crate::sink::kafka::KafkaSinkSpec;
use crate::source::kafka::{FeedProgress, KafkaSourceSpec};
use crate::transform::{Engine, Grants, Limits, Plugin, Transform};

/// A pipeline ready to run.
#[derive(Clone)]
pub struct TaskPlan {
    /// The pipeline's name.
    pub pipeline: String,
    /// Where records come from.
    pub source: SourcePlan,
    /// How values are decoded.
    pub decoder: DecoderPlan,
    /// The transforms, in order.
    pub transforms: Vec<TransformPlan>,
    /// Where records go.
    pub sink: SinkPlan,
    /// What happens to bad records.
    pub policy: BadRecordPolicy,
    /// The dead-letter topic, with `dead-letter`.
    pub dead_letter: Option<DeadLetterPlan>,
    /// Records per batch at most.
    pub max_records: usize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
    /// The embedded feed, when the source is fed by one.
    pub feed: Option<FeedPlan>,
}

/// A resolved source.
#[derive(Debug, Clone)]
pub enum SourcePlan {
    /// A Kafka consumer.
    Kafka(KafkaSourceSpec),
    /// Generated records.
    Datagen(DatagenConfig),
}

/// A resolved decoder.
#[derive(Debug, Clone)]
pub enum DecoderPlan {
    /// Value bytes as a binary column.
    Raw,
    /// Values framed with a registered schema's id.
    Registered {
        /// Avro, Protobuf or JSON Schema.
        kind: crate::config::RegisteredKind,
        /// Where the schemas are.
        registry: crate::config::RegistryConfig,
        /// The Avro schema values are read as, if any.
        reader_schema: Option<String>,
    },
    /// JSON objects.
    Json {
        /// The schema, or `None` to infer it.
        schema: Option<SchemaRef>,
        /// Records to infer from.
        infer_records: usize,
        /// Fields the schema lacks.
        unknown_fields: UnknownFields,
    },
}

/// A compiled, configured transform.
#[derive(Clone)]
pub struct TransformPlan {
    /// Its name in logs and messages.
    pub name: String,
    /// The compiled component.
    pub plugin: Plugin,
    /// The config for `init`.
    pub config: serde_json::Value,
    /// Its limits.
    pub limits: Limits,
    /// What it may reach besides the log.
    pub grants: Grants,
}

/// A resolved sink.
#[derive(Debug, Clone)]
pub enum SinkPlan {
    /// Produce to Kafka.
    Kafka(KafkaSinkSpec),
    /// Append to a JSON-lines file.
    File {
        /// The file.
        path: PathBuf,
        /// Fsync before commits.
        sync: bool,
    },
    /// Standard output.
    Stdout,
    /// Rolled Parquet files in a folder.
    Parquet(crate::sink::parquet::ParquetSinkSpec),
}

/// Where bad records go.
#[derive(Debug, Clone)]
pub struct DeadLetterPlan {
    /// Bootstrap servers.
    pub brokers: String,
    /// The topic.
    pub topic: String,
}

/// A generator filling the embedded broker's topics.
#[derive(Debug, Clone)]
pub struct FeedPlan {
    /// What to generate.
    pub datagen: DatagenConfig,
    /// The topics to fill.
    pub topics: Vec<String>,
    /// Shared progress counters.
    pub progress: Arc<FeedProgress>,
    /// Write Avro with schemas registered here, rather than JSON.
    pub avro: Option<crate::config::RegistryConfig>,
}

/// Settings of planning itself.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Ask the brokers for metadata (off for `validate --offline`).
    pub check_brokers: bool,
    /// How long to wait for a broker's answer.
    pub connect_timeout: Duration,
    /// The bootstrap servers of the embedded broker, if one is running.
    pub embedded: Option<String>,
    /// The URL of the embedded schema registry, if one is running: what a
    /// registry written `embedded` stands for.
    pub embedded_registry: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            check_brokers: true,
            connect_timeout: Duration::from_secs(10),
            embedded: None,
            embedded_registry: None,
        }
    }
}

/// Plan `loaded`.
///
/// # Errors
///
/// Every problem found, each with the YAML path of its key.
pub fn plan(
    loaded: &LoadedPipeline,
    engine: &Engine,
    options: &PlanOptions,
) -> Result<TaskPlan, ConfigError> {
    let config = &loaded.config;
    let mut problems = Vec::new();
    let resolve_brokers = |brokers: &str| -> String {
        if brokers.trim() == "embedded" {
            options.embedded.clone().unwrap_or_default()
        } else {
            brokers.trim().to_owned()
        }
    };

    let mut source_brokers = None;
    let mut feed = None;
    let (source, decoder) = if let Some(kafka) = &config.source.kafka {
        let brokers = resolve_brokers(&kafka.brokers);
        if brokers.is_empty() {
            problems.push(Problem::new(
                "source.kafka.brokers",
                "`embedded` needs the embedded broker, which `sabot run` and `sabot validate` \
                 start; `sabot serve` has none, so name a Kafka here",
            ));
        }
        source_brokers = Some(brokers.clone());
        let subscription = match (&kafka.topics, &kafka.topics_regex) {
            (Some(topics), _) => topics.clone(),
            (None, Some(regex)) if regex.starts_with('^') => vec![regex.clone()],
            (None, Some(regex)) => vec![format!("^{regex}")],
            (None, None) => Vec::new(),
        };
        let embedded = kafka.brokers.trim() == "embedded";
        let progress = embedded.then(|| Arc::new(FeedProgress::default()));
        if let (Some(e), Some(progress)) = (&kafka.embedded, &progress) {
            if let Some(datagen) = &e.datagen {
                let avro = match e.format {
                    crate::config::FeedFormat::Json => None,
                    crate::config::FeedFormat::Avro => {
                        let registry = kafka
                            .format
                            .avro
                            .as_ref()
                            .and_then(|a| a.registry.as_ref())
                            .or(config.schema_registry.as_ref())
                            .cloned()
                            .map(|r| resolve_registry(r, options.embedded_registry.as_deref()));
                        match registry {
                            Some(r) if check_registry_url(&r.url).is_ok() => Some(r),
                            Some(r) => {
                                if let Err(e) = check_registry_url(&r.url) {
                                    problems.push(Problem::new("source.kafka.embedded.format", e));
                                }
                                None
                            }
                            None => {
                                problems.push(Problem::new(
                                    "source.kafka.embedded.format",
                                    "`avro` needs a schema registry to register the orders' schema in; \
                                     set `schema_registry: embedded` (or a URL) at the top of the file",
                                ));
                                None
                            }
                        }
                    }
                };
                feed = Some(FeedPlan {
                    datagen: datagen.clone(),
                    topics: kafka.topics.clone().unwrap_or_default(),
                    progress: progress.clone(),
                    avro,
                });
            }
        }
        let mut properties: BTreeMap<String, String> = kafka
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        if embedded {
            // The embedded broker answers group joins only with these.
            properties
                .entry("session.timeout.ms".into())
                .or_insert("6000".into());
            properties
                .entry("heartbeat.interval.ms".into())
                .or_insert("500".into());
        }
        let spec = KafkaSourceSpec {
            pipeline: config.name.clone(),
            brokers,
            subscription,
            group: kafka.group.clone(),
            start: kafka.start,
            properties,
            feed: feed.as_ref().map(|f| f.progress.clone()),
        };
        let decoder = decoder_plan(
            &kafka.format,
            config.schema_registry.as_ref(),
            options.embedded_registry.as_deref(),
            "source.kafka.format",
            &mut problems,
        );
        (SourcePlan::Kafka(spec), decoder)
    } else if let Some(datagen) = &config.source.datagen {
        // The generator's own schema: its malformed records (`bad_ratio`)
        // are bad records, not a reason to infer text columns.
        let decoder = DecoderPlan::Json {
            schema: Some(crate::source::datagen::order_schema()),
            infer_records: defaults::INFER_RECORDS,
            unknown_fields: UnknownFields::Reject,
        };
        (SourcePlan::Datagen(datagen.clone()), decoder)
    } else {
        // The file's validation already reported the missing source.
        return Err(fail(loaded, problems));
    };

    let mut transforms = Vec::new();
    for (i, t) in config.transforms.iter().enumerate() {
        let path = format!("transforms[{i}]");
        let file = match resolve_plugin(&t.plugin, &loaded.base_dir) {
            Ok(file) => file,
            Err(message) => {
                problems.push(Problem::new(format!("{path}.plugin"), message));
                continue;
            }
        };
        // Only a transform with a budget pays for metered code.
        let loaded_plugin = if t.fuel.is_some() {
            Plugin::load_metered(engine, &file)
        } else {
            Plugin::load(engine, &file)
        };
        let plugin = match loaded_plugin {
            Ok(plugin) => plugin,
            Err(e) => {
                problems.push(Problem::new(format!("{path}.plugin"), e.to_string()));
                continue;
            }
        };
        let limits = Limits {
            timeout: t
                .timeout
                .as_deref()
                .and_then(|s| parse_duration(s).ok())
                .unwrap_or(Duration::from_millis(defaults::PLUGIN_TIMEOUT_MS)),
            max_memory: t
                .max_memory
                .as_deref()
                .and_then(|s| parse_size(s).ok())
                .unwrap_or(defaults::PLUGIN_MAX_MEMORY),
            fuel: t.fuel,
        };
        let config_value = serde_json::Value::Object(t.config.clone());
        let grants = Grants {
            wall_clock: t.grants.wall_clock,
            random: t.grants.random,
            read_dir: t.grants.read_dir.as_ref().map(|d| loaded.base_dir.join(d)),
        };
        if let Some(dir) = &grants.read_dir {
            if !dir.is_dir() {
                problems.push(Problem::new(
                    format!("{path}.grants.read_dir"),
                    format!("`{}` is not a folder", dir.display()),
                ));
                continue;
            }
        }
        // Run `init` once now, so a config the plugin rejects fails the
        // load, not the first batch.
        if let Err(e) = Transform::with_grants(
            &plugin,
            &config_value,
            limits.clone(),
            grants.clone(),
            &config.name,
        ) {
            problems.push(Problem::new(format!("{path}.config"), e.to_string()));
            continue;
        }
        let name = t.name.clone().unwrap_or_else(|| plugin.info().name.clone());
        transforms.push(TransformPlan {
            name,
            plugin,
            config: config_value,
            limits,
            grants,
        });
    }

    let sink = if let Some(kafka) = &config.sink.kafka {
        let brokers = match &kafka.brokers {
            Some(b) => resolve_brokers(b),
            None => source_brokers.clone().unwrap_or_default(),
        };
        SinkPlan::Kafka(KafkaSinkSpec {
            brokers,
            topic: kafka.topic.clone(),
            topic_field: kafka.topic_field.clone(),
            key_field: kafka.key_field.clone(),
            format: with_registry(
                kafka.format.clone(),
                config.schema_registry.as_ref(),
                options.embedded_registry.as_deref(),
                &mut problems,
            ),
            record_name: config.name.clone(),
            properties: kafka
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        })
    } else if let Some(file) = &config.sink.file {
        SinkPlan::File {
            path: file.path.clone(),
            sync: file.sync,
        }
    } else if let Some(p) = &config.sink.parquet {
        use crate::config::ParquetCompressionConfig as C;
        use crate::sink::parquet::{ParquetCompression, ParquetSinkSpec};
        SinkPlan::Parquet(ParquetSinkSpec {
            dir: p.path.clone(),
            prefix: config.name.clone(),
            roll_records: p.roll_records,
            roll_bytes: crate::config::parse_size(&p.roll_bytes).unwrap_or(128 << 20) as u64,
            roll_interval: crate::config::parse_duration(&p.roll_interval)
                .unwrap_or(Duration::from_secs(300)),
            compression: match p.compression {
                C::Zstd => ParquetCompression::Zstd,
                C::Snappy => ParquetCompression::Snappy,
                C::None => ParquetCompression::None,
            },
            metadata: p.metadata,
        })
    } else {
        SinkPlan::Stdout
    };

    let dead_letter = match (
        config.errors.on_bad_record,
        &config.errors.dead_letter_topic,
    ) {
        (BadRecordPolicy::DeadLetter, Some(topic)) => {
            let brokers = match &config.errors.dead_letter_brokers {
                Some(b) => resolve_brokers(b),
                None => source_brokers.clone().unwrap_or_else(|| match &sink {
                    SinkPlan::Kafka(k) => k.brokers.clone(),
                    _ => String::new(),
                }),
            };
            Some(DeadLetterPlan {
                brokers,
                topic: topic.clone(),
            })
        }
        _ => None,
    };

    // `embedded` where no embedded broker runs (under `sabot serve`) would
    // leave a client with no broker at all.
    let unresolved = "`embedded` needs the embedded broker, which `sabot run` and \
                      `sabot validate` start; `sabot serve` has none, so name a Kafka here";
    let said_embedded = |b: Option<&str>| b.is_some_and(|b| b.trim() == "embedded");
    if let SinkPlan::Kafka(spec) = &sink
        && spec.brokers.is_empty()
        && said_embedded(
            config
                .sink
                .kafka
                .as_ref()
                .and_then(|k| k.brokers.as_deref()),
        )
    {
        problems.push(Problem::new("sink.kafka.brokers", unresolved));
    }
    if let Some(dl) = &dead_letter
        && dl.brokers.is_empty()
        && said_embedded(config.errors.dead_letter_brokers.as_deref())
    {
        problems.push(Problem::new("errors.dead_letter_brokers", unresolved));
    }

    if options.check_brokers && problems.is_empty() {
        let mut checked: Vec<String> = Vec::new();
        let mut check = |path: &str, brokers: &str, problems: &mut Vec<Problem>| {
            if brokers.is_empty() || checked.iter().any(|b| b == brokers) {
                return;
            }
            checked.push(brokers.to_owned());
            if let Err(message) = reach(brokers, options.connect_timeout) {
                problems.push(Problem::new(path, message));
            }
        };
        if let SourcePlan::Kafka(spec) = &source {
            check("source.kafka.brokers", &spec.brokers, &mut problems);
        }
        if let SinkPlan::Kafka(spec) = &sink {
            check("sink.kafka.brokers", &spec.brokers, &mut problems);
        }
        if let Some(dl) = &dead_letter {
            check("errors.dead_letter_brokers", &dl.brokers, &mut problems);
        }
    }

    if !problems.is_empty() {
        return Err(fail(loaded, problems));
    }
    Ok(TaskPlan {
        pipeline: config.name.clone(),
        source,
        decoder,
        transforms,
        sink,
        policy: config.errors.on_bad_record,
        dead_letter,
        max_records: config.batch.max_records,
        max_wait: parse_duration(&config.batch.max_wait).unwrap_or(Duration::from_millis(50)),
        feed,
    })
}

fn fail(loaded: &LoadedPipeline, problems: Vec<Problem>) -> ConfigError {
    ConfigError {
        file: loaded.file.clone(),
        problems,
    }
}

fn decoder_plan(
    format: &crate::config::FormatConfig,
    top_registry: Option<&crate::config::RegistryConfig>,
    embedded_registry: Option<&str>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> DecoderPlan {
    use crate::config::RegisteredKind;
    if format.raw.is_some() {
        return DecoderPlan::Raw;
    }
    let registered = [
        (
            "avro",
            RegisteredKind::Avro,
            format.avro.as_ref().map(|a| a.registry.as_ref()),
        ),
        (
            "protobuf",
            RegisteredKind::Protobuf,
            format.protobuf.as_ref().map(|f| f.registry.as_ref()),
        ),
        (
            "json_schema",
            RegisteredKind::JsonSchema,
            format.json_schema.as_ref().map(|f| f.registry.as_ref()),
        ),
    ];
    for (name, kind, own) in registered {
        let Some(own) = own else { continue };
        let Some(registry) = own.or(top_registry).cloned() else {
            problems.push(Problem::new(
                format!("{path}.{name}.registry"),
                "no schema registry; set `schema_registry: URL` at the top of the file or `registry: URL` here",
            ));
            return DecoderPlan::Raw;
        };
        let registry = resolve_registry(registry, embedded_registry);
        if let Err(e) = check_registry_url(&registry.url) {
            problems.push(Problem::new(format!("{path}.{name}.registry"), e));
        }
        let reader_schema = format.avro.as_ref().and_then(|a| a.reader_schema.clone());
        if let Some(text) = &reader_schema
            && let Err(e) = crate::format::avro::AvroSchema::parse(text, &[])
        {
            problems.push(Problem::new(
                format!("{path}.avro.reader_schema"),
                e.to_string(),
            ));
        }
        return DecoderPlan::Registered {
            kind,
            registry,
            reader_schema,
        };
    }
    let json = format.json.clone().unwrap_or_default();
    let infer_records = json.infer_records.unwrap_or(defaults::INFER_RECORDS);
    let (schema, default_unknown) = match &json.schema {
        None => (None, UnknownFieldsPolicy::Reject),
        Some(serde_json::Value::String(s)) if s == "infer" => (None, UnknownFieldsPolicy::Reject),
        Some(spec) => match crate::format::schema::parse_schema(spec) {
            Ok(schema) => (Some(Arc::new(schema)), UnknownFieldsPolicy::Ignore),
            Err(errors) => {
                for e in errors {
                    let at = if e.path.is_empty() {
                        format!("{path}.json.schema")
                    } else {
                        format!("{path}.json.schema.{}", e.path)
                    };
                    problems.push(Problem::new(at, e.message));
                }
                (None, UnknownFieldsPolicy::Ignore)
            }
        },
    };
    let unknown_fields = match json.unknown_fields.unwrap_or(default_unknown) {
        UnknownFieldsPolicy::Ignore => UnknownFields::Ignore,
        UnknownFieldsPolicy::Reject => UnknownFields::Reject,
    };
    DecoderPlan::Json {
        schema,
        infer_records,
        unknown_fields,
    }
}

/// `registry`, with the URL `embedded` replaced by the embedded
/// registry's when one is running.
fn resolve_registry(
    mut registry: crate::config::RegistryConfig,
    embedded: Option<&str>,
) -> crate::config::RegistryConfig {
    if registry.url.trim() == EMBEDDED_REGISTRY
        && let Some(url) = embedded
    {
        registry.url = url.to_owned();
    }
    registry
}

/// The registry URL that names the embedded registry.
pub const EMBEDDED_REGISTRY: &str = "embedded";

/// Whether `url` can name a registry.
fn check_registry_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else if url.trim() == EMBEDDED_REGISTRY {
        Err(
            "`embedded` needs the embedded schema registry, which `sabot run` and `sabot validate` \
             start and `sabot serve` starts with `--registry-listen`; give a URL instead here"
                .to_owned(),
        )
    } else {
        Err(format!(
            "`{url}` is not a registry URL; write `http://HOST:PORT` or `https://HOST:PORT`"
        ))
    }
}

/// A sink format with its registry filled in from the pipeline's
/// `schema_registry` when it names none.
fn with_registry(
    format: crate::config::SinkFormat,
    top: Option<&crate::config::RegistryConfig>,
    embedded_registry: Option<&str>,
    problems: &mut Vec<Problem>,
) -> crate::config::SinkFormat {
    use crate::config::{RegisteredKind, SinkFormat};
    let SinkFormat::Registered(mut f) = format else {
        return format;
    };
    let name = match f.kind {
        RegisteredKind::Avro => "avro",
        RegisteredKind::Protobuf => "protobuf",
        RegisteredKind::JsonSchema => "json_schema",
    };
    if f.options.registry.is_none() {
        f.options.registry = top.cloned();
    }
    f.options.registry = f
        .options
        .registry
        .take()
        .map(|r| resolve_registry(r, embedded_registry));
    match &f.options.registry {
        None => problems.push(Problem::new(
            format!("sink.kafka.format.{name}.registry"),
            "no schema registry; set `schema_registry: URL` at the top of the file or `registry: URL` here",
        )),
        Some(r) => {
            if let Err(e) = check_registry_url(&r.url) {
                problems.push(Problem::new(format!("sink.kafka.format.{name}.registry"), e));
            }
        }
    }
    if f.options.use_latest && f.options.schema.is_some() {
        problems.push(Problem::new(
            format!("sink.kafka.format.{name}.use_latest"),
            "is set with `schema`; the latest version is the schema then, so leave one out",
        ));
    }
    SinkFormat::Registered(f)
}

/// Find a plugin file: a path relative to the pipeline file, or a bare
/// name in `$SABOT_PLUGIN_PATH`, then `plugins/dist` next to the
/// pipeline's directory and in the working directory.
pub fn resolve_plugin(reference: &str, base_dir: &Path) -> Result<PathBuf, String> {
    let is_path = reference.contains('/') || reference.ends_with(".wasm");
    if is_path {
        let path = base_dir.join(reference);
        if path.is_file() {
            return Ok(path);
        }
        return Err(format!(
            "no plugin file at `{}`; build it (for the bundled plugins: `plugins/build.sh`) or fix the path",
            path.display()
        ));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("SABOT_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(base_dir.join("../plugins/dist"));
    dirs.push(PathBuf::from("plugins/dist"));
    for dir in &dirs {
        let candidate = dir.join(format!("{reference}.wasm"));
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| format!("`{}`", d.display())).collect();
    Err(format!(
        "no plugin named `{reference}` in {}; build it (`plugins/build.sh`), set `SABOT_PLUGIN_PATH`, or give a path",
        searched.join(", ")
    ))
}

/// Ask `brokers` for metadata.
fn reach(brokers: &str, timeout: Duration) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("log_level", "0")
        .create()
        .map_err(|e| format!("cannot create a client for `{brokers}`: {e}"))?;
    consumer
        .fetch_metadata(None, timeout)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot reach the brokers `{brokers}` within {}s ({e}); check the address and that Kafka is running",
                timeout.as_secs()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(text: &str) -> LoadedPipeline {
        let (config, secret_paths) =
            crate::config::load_str(text, Path::new(".")).expect("a valid file");
        LoadedPipeline {
            file: "p.yaml".into(),
            base_dir: ".".into(),
            config,
            secret_paths,
        }
    }

    const AVRO_BOTH_WAYS: &str = "apiVersion: sabot/v1\nname: p\nschema_registry: embedded\n\
        source:\n  kafka: { brokers: 127.0.0.1:9, topics: [a], group: g, format: avro }\n\
        sink:\n  kafka: { topic: b, format: avro }\n";

    #[test]
    fn an_embedded_registry_is_the_running_one_or_a_problem() {
        let engine = Engine::new().expect("an engine");
        let offline = PlanOptions {
            check_brokers: false,
            ..PlanOptions::default()
        };
        let Err(err) = plan(&loaded(AVRO_BOTH_WAYS), &engine, &offline) else {
            panic!("planned without a registry");
        };
        let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "source.kafka.format.avro.registry",
                "sink.kafka.format.avro.registry"
            ]
        );
        assert!(
            err.problems[0]
                .message
                .starts_with("`embedded` needs the embedded schema registry"),
            "{}",
            err.problems[0].message
        );

        let running = PlanOptions {
            embedded_registry: Some("http://127.0.0.1:18081".to_owned()),
            ..offline
        };
        let planned = match plan(&loaded(AVRO_BOTH_WAYS), &engine, &running) {
            Ok(planned) => planned,
            Err(e) => panic!("{e}"),
        };
        match &planned.decoder {
            DecoderPlan::Registered { registry, .. } => {
                assert_eq!(registry.url, "http://127.0.0.1:18081");
            }
            other => panic!("not a registered decoder: {other:?}"),
        }
        match &planned.sink {
            SinkPlan::Kafka(k) => match &k.format {
                crate::config::SinkFormat::Registered(f) => assert_eq!(
                    f.options.registry.as_ref().map(|r| r.url.as_str()),
                    Some("http://127.0.0.1:18081")
                ),
                other => panic!("not a registered format: {other:?}"),
            },
            other => panic!("not a Kafka sink: {other:?}"),
        }
    }

    #[test]
    fn an_avro_feed_needs_a_registry() {
        let engine = Engine::new().expect("an engine");
        let options = PlanOptions {
            check_brokers: false,
            embedded: Some("127.0.0.1:9".to_owned()),
            ..PlanOptions::default()
        };
        let text = "apiVersion: sabot/v1\nname: p\nsource:\n  kafka:\n    brokers: embedded\n\
            \x20   topics: [a]\n    group: g\n    embedded: { format: avro, datagen: { records: 1 } }\n\
            sink:\n  stdout: {}\n";
        let Err(err) = plan(&loaded(text), &engine, &options) else {
            panic!("planned without a registry");
        };
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].path, "source.kafka.embedded.format");
        assert!(
            err.problems[0]
                .message
                .starts_with("`avro` needs a schema registry"),
            "{}",
            err.problems[0].message
        );
        let with_registry = text.replace(
            "name: p\n",
            "name: p\nschema_registry: http://127.0.0.1:18081\n",
        );
        match plan(&loaded(&with_registry), &engine, &options) {
            Ok(p) => assert_eq!(
                p.feed.and_then(|f| f.avro).map(|r| r.url),
                Some("http://127.0.0.1:18081".to_owned())
            ),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn embedded_brokers_where_none_runs_are_a_problem_wherever_they_are_named() {
        let engine = Engine::new().expect("an engine");
        let serve_like = PlanOptions {
            check_brokers: false,
            ..PlanOptions::default()
        };
        let text = "apiVersion: sabot/v1\nname: p\nsource:\n  datagen: { records: 1 }\n\
            sink:\n  kafka: { brokers: embedded, topic: t }\n\
            errors: { on_bad_record: dead-letter, dead_letter_topic: d, dead_letter_brokers: embedded }\n";
        let Err(err) = plan(&loaded(text), &engine, &serve_like) else {
            panic!("planned with no broker");
        };
        let paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["sink.kafka.brokers", "errors.dead_letter_brokers"]);
        assert!(
            err.problems[0]
                .message
                .contains("`sabot serve` has none, so name a Kafka here"),
            "{}",
            err.problems[0].message
        );
    }
}
