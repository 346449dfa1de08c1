//! `GET /connector-plugins` and `PUT /connector-plugins/{class}/config/validate`.
//!
//! Connector classes are the built-in sources and sinks of
//! [`dialect::CONNECTOR_CLASSES`]; transformations are the WASM plugins
//! found where bare plugin names are looked up (`$SABOT_PLUGIN_PATH`, then
//! `plugins/dist`), each described by its own `describe()`. Descriptions
//! are cached by file and modification time, since loading a plugin
//! compiles it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Map, Value, json};

use super::dialect::{self, CONNECTOR_CLASSES, kind_of};
use super::handlers::{Body, Name, query_pairs, remap};
use super::redact::{HIDDEN, is_secret_key};
use super::{ApiError, AppState};
use crate::config::Problem;
use crate::plan::PlanOptions;
use crate::transform::{Engine, Plugin, PluginInfo};

/// Plugin descriptions by file.
#[derive(Default)]
pub(crate) struct PluginCache {
    /// File → (modification time, description).
    described: Mutex<HashMap<PathBuf, (Option<SystemTime>, PluginInfo)>>,
}

impl PluginCache {
    /// Describe the plugin file at `path`.
    fn describe(&self, engine: &Engine, path: &Path) -> Result<PluginInfo, String> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let mut cache = self.described.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((when, info)) = cache.get(path)
            && *when == modified
        {
            return Ok(info.clone());
        }
        let plugin = Plugin::load(engine, path).map_err(|e| e.to_string())?;
        let info = plugin.info().clone();
        cache.insert(path.to_owned(), (modified, info.clone()));
        Ok(info)
    }

    /// Describe the plugin a pipeline names by `reference`, if it can be
    /// found and loaded.
    pub(crate) fn find(
        &self,
        engine: &Engine,
        reference: &str,
        base_dir: &Path,
    ) -> Option<PluginInfo> {
        let path = crate::plan::resolve_plugin(reference, base_dir).ok()?;
        self.describe(engine, &path).ok()
    }
}

/// The folders bare plugin names are looked up in, as planning does.
fn plugin_dirs(base_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("SABOT_PLUGIN_PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(base_dir.join("../plugins/dist"));
    dirs.push(PathBuf::from("plugins/dist"));
    dirs
}

/// Every plugin file in the lookup folders, first occurrence of a name
/// winning as in planning.
fn plugin_files(base_dir: &Path) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    for dir in plugin_dirs(base_dir) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        found.sort();
        for file in found {
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            if seen.insert(stem) {
                files.push(file);
            }
        }
    }
    files
}

/// `GET /connector-plugins[?connectorsOnly=true]`: connector classes and
/// (unless `connectorsOnly=true`) the WASM transformations.
pub(crate) async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let connectors_only = match pairs.iter().rev().find(|(k, _)| k == "connectorsOnly") {
        None => false,
        Some((_, v)) if v.eq_ignore_ascii_case("true") => true,
        Some((_, v)) if v.eq_ignore_ascii_case("false") => false,
        Some((_, v)) => {
            return Err(ApiError::bad_request(format!(
                "`connectorsOnly` must be `true` or `false`, not `{v}`"
            )));
        }
    };
    let version = env!("CARGO_PKG_VERSION");
    let mut out: Vec<Value> = CONNECTOR_CLASSES
        .iter()
        .map(|(class, kind)| json!({ "class": class, "type": kind.connector_type(), "version": version }))
        .collect();
    if !connectors_only {
        let s = state.clone();
        let transforms = tokio::task::spawn_blocking(move || {
            let base_dir = s.inner.options.base_dir.clone();
            let mut found = Vec::new();
            for file in plugin_files(&base_dir) {
                match s.inner.plugins.describe(&s.inner.engine, &file) {
                    Ok(info) => found.push(json!({
                        "class": info.name,
                        "type": "transformation",
                        "version": info.version,
                        "description": info.description,
                        "location": file.display().to_string(),
                        "config": plugin_config_keys(&info),
                    })),
                    Err(e) => tracing::warn!(plugin = %file.display(), error = %e, "a plugin file does not load; it is not listed"),
                }
            }
            found
        })
        .await
        .map_err(|e| ApiError::internal("listing plugins failed", e))?;
        out.extend(transforms);
    }
    Ok(Json(Value::Array(out)))
}

/// `GET /connector-plugins/{class}/config`: the config keys of a connector
/// class or a WASM transform, in Kafka Connect's ConfigKeyInfo shape.
pub(crate) async fn config(
    State(state): State<AppState>,
    Name(class): Name,
) -> Result<Json<Value>, ApiError> {
    if kind_of(&class).is_some() {
        let keys = DEFINITIONS
            .iter()
            .filter(|(name, group, ..)| applies(name, group, &class))
            .enumerate()
            .map(|(order, (name, group, required, default, doc))| {
                config_key_info(name, "STRING", *required, *default, doc, group, order)
            })
            .collect();
        return Ok(Json(Value::Array(keys)));
    }
    let s = state.clone();
    let wanted = class.clone();
    let info = tokio::task::spawn_blocking(move || {
        let base_dir = s.inner.options.base_dir.clone();
        plugin_files(&base_dir).into_iter().find_map(|file| {
            s.inner
                .plugins
                .describe(&s.inner.engine, &file)
                .ok()
                .filter(|info| info.name == wanted)
        })
    })
    .await
    .map_err(|e| ApiError::internal("describing plugins failed", e))?;
    match info {
        Some(info) => Ok(Json(plugin_config_keys(&info))),
        None => Err(ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            format!(
                "Unknown plugin {class}: neither a connector class (one of {}) nor a WASM transform \
             found in the plugin path",
                CONNECTOR_CLASSES
                    .iter()
                    .map(|(n, _)| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A transform's config keys as ConfigKeyInfo entries.
fn plugin_config_keys(info: &PluginInfo) -> Value {
    use crate::transform::FieldType;
    let keys = info
        .config
        .iter()
        .enumerate()
        .map(|(order, field)| {
            let ty = match field.ty {
                FieldType::String => "STRING",
                FieldType::Integer => "LONG",
                FieldType::Number => "DOUBLE",
                FieldType::Boolean => "BOOLEAN",
                FieldType::List => "LIST",
                FieldType::Any => "STRING",
            };
            config_key_info(
                &field.name,
                ty,
                field.required,
                field.default.as_deref(),
                &field.doc,
                &info.name,
                order,
            )
        })
        .collect();
    Value::Array(keys)
}

/// One ConfigKeyInfo, as Kafka Connect shows a config key.
fn config_key_info(
    name: &str,
    ty: &str,
    required: bool,
    default: Option<&str>,
    doc: &str,
    group: &str,
    order: usize,
) -> Value {
    json!({
        "name": name,
        "type": if is_secret_key(name) { "PASSWORD" } else { ty },
        "required": required,
        "default_value": default,
        "importance": if required { "HIGH" } else { "MEDIUM" },
        "documentation": doc,
        "group": group,
        "order": order,
        "width": "NONE",
        "display_name": name,
        "dependents": [],
    })
}

/// A known key of the flat dialect: name, group, required, default, doc.
type Definition = (
    &'static str,
    &'static str,
    bool,
    Option<&'static str>,
    &'static str,
);

/// The keys described by `validate`, in the order shown.
const DEFINITIONS: &[Definition] = &[
    (
        "name",
        "Common",
        true,
        None,
        "The connector's name: letters, digits, `.`, `_` and `-`.",
    ),
    (
        "connector.class",
        "Common",
        true,
        None,
        "What the connector does: a Sabot sink (`kafka-sink`, `file-sink`, `stdout-sink`), Kafka Connect's `FileStreamSinkConnector`, or `datagen`.",
    ),
    (
        "tasks.max",
        "Common",
        false,
        Some("1"),
        "How many tasks share the work; they share one consumer group.",
    ),
    (
        "topics",
        "Common",
        false,
        None,
        "Topics to read, comma-separated (or `topics.regex`).",
    ),
    (
        "topics.regex",
        "Common",
        false,
        None,
        "Topics to read, by regular expression.",
    ),
    (
        "key.converter",
        "Common",
        false,
        None,
        "Keys pass through as bytes; JSON, String and ByteArray converters are accepted.",
    ),
    (
        "value.converter",
        "Common",
        false,
        Some("org.apache.kafka.connect.json.JsonConverter"),
        "JsonConverter (schemaless, the schema is inferred) or ByteArrayConverter (raw bytes).",
    ),
    (
        "transforms",
        "Transforms",
        false,
        None,
        "Aliases of the WASM transforms to run, in order; each needs `transforms.ALIAS.type`.",
    ),
    (
        "errors.tolerance",
        "Error Handling",
        false,
        Some("none"),
        "`none` stops at the first bad record; `all` sends bad records to the dead-letter topic.",
    ),
    (
        "errors.deadletterqueue.topic.name",
        "Error Handling",
        false,
        None,
        "The dead-letter topic, with `errors.tolerance=all`.",
    ),
    (
        "file",
        "Common",
        false,
        None,
        "The file a file sink appends JSON lines to.",
    ),
    (
        "sabot.brokers",
        "Sabot",
        false,
        None,
        "Bootstrap servers; default: the server's `--brokers`.",
    ),
    (
        "sabot.group",
        "Sabot",
        false,
        None,
        "The consumer group; default `connect-NAME`.",
    ),
    (
        "sabot.sink.topic",
        "Sabot",
        false,
        None,
        "The topic a Kafka sink writes to.",
    ),
    (
        "kafka.topic",
        "Datagen",
        true,
        None,
        "The topic the generated orders are written to (brokers: `sabot.brokers` or the server's `--brokers`).",
    ),
    (
        "iterations",
        "Datagen",
        false,
        None,
        "How many orders to generate; unbounded when absent.",
    ),
    (
        "max.interval",
        "Datagen",
        false,
        None,
        "The longest pause between two orders, in milliseconds (sets the rate: 1000 / interval per second).",
    ),
    (
        "sabot.datagen.rate",
        "Datagen",
        false,
        None,
        "Orders per second at most; as fast as possible when neither this nor `max.interval` is set.",
    ),
    (
        "sabot.datagen.seed",
        "Datagen",
        false,
        Some("42"),
        "The generator's seed: the same seed gives the same orders.",
    ),
    (
        "sabot.datagen.bad.ratio",
        "Datagen",
        false,
        Some("0"),
        "Share of deliberately malformed orders, from 0 to 1, to show the dead-letter path.",
    ),
];

/// Whether the flat key `key` means something to connectors of `class`.
fn applies(key: &str, group: &str, class: &str) -> bool {
    let kind = kind_of(class);
    let datagen = kind == Some(dialect::Kind::Datagen);
    match key {
        "topics" | "topics.regex" | "key.converter" | "value.converter" | "sabot.group" => !datagen,
        "file" => kind == Some(dialect::Kind::FileSink),
        "sabot.sink.topic" => kind == Some(dialect::Kind::KafkaSink),
        _ if group == "Datagen" => datagen,
        _ => true,
    }
}

/// `PUT /connector-plugins/{class}/config/validate`: Kafka Connect's
/// ConfigInfos for a flat config, checked as far as planning without
/// contacting brokers.
pub(crate) async fn validate(
    State(state): State<AppState>,
    Name(class): Name,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let mut config = body.object("the connector's config")?;
    let Some(_) = kind_of(&class) else {
        let known: Vec<String> = CONNECTOR_CLASSES
            .iter()
            .map(|(n, _)| format!("`{n}`"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "`{class}` is not a connector Sabot knows; use one of {}",
            known.join(", ")
        )));
    };
    match config.get("connector.class").and_then(Value::as_str) {
        None => {
            config.insert("connector.class".into(), Value::String(class.clone()));
        }
        Some(given) if given == class => {}
        Some(given) => {
            return Err(ApiError::bad_request(format!(
                "Included connector type {given} does not match request type {class}"
            )));
        }
    }
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("validate")
        .to_owned();
    let s = state.clone();
    let problems =
        tokio::task::spawn_blocking(move || check(&s, &name, &config).map(|p| (p, config)))
            .await
            .map_err(|e| ApiError::internal("validating failed", e))??;
    let (problems, config) = problems;
    Ok(Json(config_infos(&class, &config, &problems)))
}

/// Every problem of `config`, keyed by the flat key it came from.
fn check(
    state: &AppState,
    name: &str,
    config: &Map<String, Value>,
) -> Result<Vec<Problem>, ApiError> {
    let base_dir = state.inner.options.base_dir.clone();
    let describe = |reference: &str| {
        state
            .inner
            .plugins
            .find(&state.inner.engine, reference, &base_dir)
    };
    let translated =
        match dialect::flat_to_pipeline(name, config, &state.inner.options.defaults, &describe) {
            Ok(t) => t,
            Err(problems) => return Ok(problems),
        };
    let (file, secret_paths) = match crate::config::load_str(&translated.yaml, &base_dir) {
        Ok(loaded) => loaded,
        Err(problems) => return Ok(remap(problems, &translated)),
    };
    let loaded = crate::config::LoadedPipeline {
        file: PathBuf::from(format!("connectors/{name}/config")),
        base_dir,
        config: file,
        secret_paths,
    };
    let offline = PlanOptions {
        check_brokers: false,
        ..PlanOptions::default()
    };
    match crate::plan::plan(&loaded, &state.inner.engine, &offline) {
        Ok(_) => Ok(Vec::new()),
        Err(e) => Ok(remap(e.problems, &translated)),
    }
}

/// Kafka Connect's ConfigInfos: every known key and every given key, each
/// with its value and errors.
fn config_infos(class: &str, config: &Map<String, Value>, problems: &[Problem]) -> Value {
    let mut keys: Vec<(String, &'static str, bool, Option<&'static str>, String)> = DEFINITIONS
        .iter()
        .filter(|(name, group, ..)| applies(name, group, class))
        .map(|(n, g, r, d, doc)| ((*n).to_owned(), *g, *r, *d, (*doc).to_owned()))
        .collect();
    let mut extra: Vec<&String> = config
        .keys()
        .filter(|k| !keys.iter().any(|d| &d.0 == *k))
        .collect();
    for p in problems {
        if !p.path.is_empty() && !keys.iter().any(|d| d.0 == p.path) && !extra.contains(&&p.path) {
            extra.push(&p.path);
        }
    }
    for key in extra {
        let group = if key.starts_with("transforms.") {
            "Transforms"
        } else {
            "Common"
        };
        keys.push((key.clone(), group, false, None, String::new()));
    }
    let mut groups: Vec<&str> = Vec::new();
    let mut configs = Vec::new();
    let mut error_count = 0;
    for (order, (key, group, required, default, doc)) in keys.iter().enumerate() {
        if !groups.contains(group) {
            groups.push(group);
        }
        let mut errors: Vec<String> = problems
            .iter()
            .filter(|p| &p.path == key)
            .map(|p| p.message.clone())
            .collect();
        // Problems of the file as a whole are shown on `connector.class`.
        if key == "connector.class" {
            errors.extend(
                problems
                    .iter()
                    .filter(|p| p.path.is_empty())
                    .map(|p| p.message.clone()),
            );
        }
        error_count += errors.len();
        let value = match config.get(key) {
            None => default
                .map(|d| Value::String(d.to_owned()))
                .unwrap_or(Value::Null),
            Some(v) if is_secret_key(key) || v.as_str().is_some_and(|s| s.contains("${")) => {
                Value::String(HIDDEN.to_owned())
            }
            Some(Value::String(s)) => Value::String(s.clone()),
            Some(other) => Value::String(other.to_string()),
        };
        configs.push(json!({
            "definition": {
                "name": key,
                "type": if is_secret_key(key) { "PASSWORD" } else { "STRING" },
                "required": required,
                "default_value": default,
                "importance": if *required { "HIGH" } else { "MEDIUM" },
                "documentation": doc,
                "group": group,
                "width": "NONE",
                "display_name": key,
                "dependents": [],
                "order": order,
            },
            "value": {
                "name": key,
                "value": value,
                "recommended_values": recommended(key),
                "errors": errors,
                "visible": true,
            },
        }));
    }
    json!({ "name": class, "error_count": error_count, "groups": groups, "configs": configs })
}

/// The values worth offering for `key`.
fn recommended(key: &str) -> Vec<&'static str> {
    match key {
        "connector.class" => CONNECTOR_CLASSES.iter().map(|(n, _)| *n).collect(),
        "errors.tolerance" => vec!["none", "all"],
        "value.converter" => vec![
            "org.apache.kafka.connect.json.JsonConverter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        ],
        _ => Vec::new(),
    }
}
