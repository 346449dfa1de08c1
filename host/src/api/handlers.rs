//! The routes and their handlers.
//!
//! Handlers parse their input themselves (bodies as bytes, queries as
//! text), so every bad input answers in the API's error shape rather than
//! a framework's plain text. Calls into the worker block (planning
//! compiles plugins and asks brokers), so they run on the blocking pool.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::{Map, Value, json};
use tower_http::trace::TraceLayer;

use super::dialect::{self, Translated};
use super::redact::redact;
use super::{
    ApiError, AppState, MAX_BODY_BYTES, Submitted, offsets, parse_target, plugins, target_name,
};
use crate::config::{ConfigError, LoadedPipeline, PipelineFile, Problem};
use crate::worker::{ConnectorSpec, ConnectorStatus, TargetState, WorkerError};

/// The API's routes over `state`.
pub fn router(state: AppState) -> Router {
    let auth = state.clone();
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route(
            "/connectors/{name}",
            get(get_connector).delete(delete_connector),
        )
        .route(
            "/connectors/{name}/config",
            get(get_config).put(put_config).patch(patch_config),
        )
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/tasks", get(list_tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(restart_task),
        )
        .route("/connectors/{name}/restart", post(restart_connector))
        .route("/connectors/{name}/pause", put(pause_connector))
        .route("/connectors/{name}/resume", put(resume_connector))
        .route("/connectors/{name}/stop", put(stop_connector))
        .route("/connectors/{name}/topics", get(connector_topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route(
            "/connectors/{name}/offsets",
            get(offsets::get)
                .patch(offsets::alter)
                .delete(offsets::reset),
        )
        .route("/connector-plugins", get(list_plugins))
        .route("/connector-plugins/{class}/config", get(plugins::config))
        .route(
            "/connector-plugins/{class}/config/validate",
            put(plugins::validate),
        )
        .route("/pipelines", post(create_pipeline))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(auth, require_token))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// 401 unless the request carries the bearer token (when one is set).
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.inner.options.auth_token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "this server needs a bearer token: send `Authorization: Bearer TOKEN` with the token of its `--auth-token-file`",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compare without stopping at the first difference, so timing does not
/// tell how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}

/// A connector name from the path.
pub(crate) struct Name(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Name {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(name)) => Ok(Name(name)),
            Err(e) => Err(ApiError::bad_request(format!(
                "the connector name in the path is not valid: {e}"
            ))),
        }
    }
}

/// A connector name and a task id from the path; the id stays text so
/// that a bad one answers 404 like an unknown one.
pub(crate) struct NameTask(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for NameTask {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<(String, String)>::from_request_parts(parts, state).await {
            Ok(Path((name, task))) => Ok(NameTask(name, task)),
            Err(e) => Err(ApiError::bad_request(format!("the path is not valid: {e}"))),
        }
    }
}

/// A request body, at most [`MAX_BODY_BYTES`].
pub(crate) struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {} bytes", MAX_BODY_BYTES),
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "cannot read the request body: {e}"
            ))),
        }
    }
}

impl Body {
    /// The body as a JSON object.
    pub(crate) fn object(&self, what: &str) -> Result<Map<String, Value>, ApiError> {
        match serde_json::from_slice::<Value>(&self.0) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::bad_request(format!(
                "the request body must be a JSON object ({what})"
            ))),
            Err(e) => Err(ApiError::bad_request(format!(
                "the request body is not valid JSON: {e}"
            ))),
        }
    }
}

/// `key=value` pairs of a query string (`+` and `%XX` decoded).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decode a query component; bad escapes stay as they are.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A boolean query parameter; absent is `false`.
fn query_flag(pairs: &[(String, String)], key: &str) -> Result<bool, ApiError> {
    match pairs.iter().rev().find(|(k, _)| k == key) {
        None => Ok(false),
        Some((_, v)) => match v.to_ascii_lowercase().as_str() {
            "true" | "" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::bad_request(format!(
                "`{key}` must be `true` or `false`, not `{v}`"
            ))),
        },
    }
}

/// Run a blocking call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::internal("a request handler failed", e)))
}

/// `GET /`: the server's version, and the id of the Kafka cluster at
/// `--brokers` (`null` without `--brokers`, or while they do not answer).
async fn root(State(state): State<AppState>) -> Json<Value> {
    let cluster = match state.inner.options.defaults.brokers.clone() {
        Some(brokers) => tokio::task::spawn_blocking(move || cluster_id(&brokers))
            .await
            .ok()
            .flatten(),
        None => None,
    };
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SABOT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": cluster,
    }))
}

/// How long `GET /` waits for the brokers to name their cluster.
const CLUSTER_ID_TIMEOUT: Duration = Duration::from_secs(2);

/// The cluster id of the brokers at `brokers`, asked once and then kept:
/// a cluster keeps its id for life.
fn cluster_id(brokers: &str) -> Option<String> {
    static KNOWN: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    if let Some(id) = KNOWN.lock().unwrap_or_else(|p| p.into_inner()).get(brokers) {
        return Some(id.clone());
    }
    let created: Result<BaseConsumer, _> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("socket.connection.setup.timeout.ms", "1000")
        .create();
    let client = match created {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(brokers, error = %e, "cannot create a client to ask the cluster id");
            return None;
        }
    };
    let Some(id) = client.client().fetch_cluster_id(CLUSTER_ID_TIMEOUT) else {
        tracing::warn!(brokers, "the brokers did not name their cluster in time");
        return None;
    };
    KNOWN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(brokers.to_owned(), id.clone());
    Some(id)
}

/// Turn a submitted config into a spec; problem paths of a flat config
/// name the flat key they came from.
pub(crate) fn translate(
    state: &AppState,
    name: &str,
    submitted: &Submitted,
) -> Result<(ConnectorSpec, Translated), ApiError> {
    let file = PathBuf::from(format!("connectors/{name}/config"));
    let invalid = |problems: Vec<Problem>| {
        ApiError::invalid_config(&ConfigError {
            file: file.clone(),
            problems,
        })
    };
    let translated = if dialect::is_structured(&submitted.config) {
        dialect::structured_to_pipeline(name, &submitted.config)
    } else {
        let describe = |reference: &str| {
            state
                .inner
                .plugins
                .find(&state.inner.engine, reference, &submitted.base_dir)
        };
        dialect::flat_to_pipeline(
            name,
            &submitted.config,
            &state.inner.options.defaults,
            &describe,
        )
    }
    .map_err(invalid)?;
    let (config, secret_paths) = crate::config::load_str(&translated.yaml, &submitted.base_dir)
        .map_err(|problems| invalid(remap(problems, &translated)))?;
    let spec = ConnectorSpec {
        pipeline: LoadedPipeline {
            file,
            base_dir: submitted.base_dir.clone(),
            config,
            secret_paths,
        },
        tasks_max: translated.tasks_max,
    };
    Ok((spec, translated))
}

/// Problems at YAML paths, renamed to the flat keys they came from.
pub(crate) fn remap(problems: Vec<Problem>, translated: &Translated) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|p| match translated.origin_of(&p.path) {
            Some(key) => Problem::new(key, p.message),
            None => p,
        })
        .collect()
}

/// A worker error, with planning problems renamed like [`remap`].
fn worker_error(error: WorkerError, translated: &Translated) -> ApiError {
    match error {
        WorkerError::Invalid(e) => ApiError::invalid_config(&ConfigError {
            problems: remap(e.problems, translated),
            file: e.file,
        }),
        other => other.into(),
    }
}

/// Create connector `name` (blocking).
pub(crate) fn create_blocking(
    state: &AppState,
    name: &str,
    submitted: Submitted,
    target: TargetState,
) -> Result<(), ApiError> {
    create_blocking_at(state, name, submitted, target, 0)
}

/// Create connector `name` (blocking) with its generated source
/// `position` records in.
pub(crate) fn create_blocking_at(
    state: &AppState,
    name: &str,
    submitted: Submitted,
    target: TargetState,
    position: u64,
) -> Result<(), ApiError> {
    if state.configs().contains_key(name) {
        return Err(WorkerError::Exists(name.to_owned()).into());
    }
    let (spec, translated) = translate(state, name, &submitted)?;
    state
        .inner
        .worker
        .create_at(name, spec, target, position)
        .map_err(|e| worker_error(e, &translated))?;
    state.configs().insert(name.to_owned(), submitted);
    state.persist(name);
    Ok(())
}

/// Replace (or create) connector `name`'s config (blocking); `true` when
/// it was created.
pub(crate) fn update_blocking(
    state: &AppState,
    name: &str,
    submitted: Submitted,
) -> Result<bool, ApiError> {
    let (spec, translated) = translate(state, name, &submitted)?;
    let created = state
        .inner
        .worker
        .update(name, spec)
        .map_err(|e| worker_error(e, &translated))?;
    state.configs().insert(name.to_owned(), submitted);
    state.persist(name);
    Ok(created)
}

/// Kafka Connect's ConnectorStateInfo. Its `version` is the version of
/// the connector's plugin, which for a built-in connector is Sabot's.
fn status_json(status: &ConnectorStatus) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let mut connector = json!({
        "state": status.state.to_string(),
        "worker_id": status.worker_id,
        "version": version,
    });
    if let Some(trace) = &status.trace {
        connector["trace"] = Value::String(trace.clone());
    }
    let tasks: Vec<Value> = status
        .tasks
        .iter()
        .map(|t| {
            let mut task = json!({
                "id": t.id,
                "state": t.state.to_string(),
                "worker_id": t.worker_id,
                "version": version,
            });
            if let Some(trace) = &t.trace {
                task["trace"] = Value::String(trace.clone());
            }
            task
        })
        .collect();
    json!({ "name": status.name, "connector": connector, "tasks": tasks, "type": status.kind })
}

/// The config as submitted, secrets hidden, with the connector's `name`
/// as Kafka Connect shows it.
fn shown_config(state: &AppState, name: &str) -> Result<Map<String, Value>, ApiError> {
    let mut config = state
        .configs()
        .get(name)
        .map(|s| redact(&s.config))
        .ok_or_else(|| ApiError::connector_not_found(name))?;
    if !config.contains_key("name") {
        config.insert("name".to_owned(), Value::String(name.to_owned()));
    }
    Ok(config)
}

/// Kafka Connect's ConnectorInfo.
fn info_json(state: &AppState, name: &str) -> Result<Value, ApiError> {
    let status = state.inner.worker.status(name)?;
    let config = shown_config(state, name)?;
    let tasks: Vec<Value> = status
        .tasks
        .iter()
        .map(|t| json!({ "connector": name, "task": t.id }))
        .collect();
    Ok(json!({ "name": name, "config": config, "tasks": tasks, "type": status.kind }))
}

/// `GET /connectors[?expand=status|info]`.
async fn list_connectors(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let mut expand = Vec::new();
    for (k, v) in &pairs {
        if k == "expand" {
            match v.as_str() {
                "status" | "info" => expand.push(v.clone()),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "`expand` must be `status` or `info`, not `{v}`"
                    )));
                }
            }
        }
    }
    let names = state.inner.worker.names();
    if expand.is_empty() {
        return Ok(Json(json!(names)));
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        // A connector deleted meanwhile is left out.
        if expand.iter().any(|e| e == "status") {
            match state.inner.worker.status(&name) {
                Ok(s) => entry.insert("status".into(), status_json(&s)),
                Err(_) => continue,
            };
        }
        if expand.iter().any(|e| e == "info") {
            match info_json(&state, &name) {
                Ok(info) => entry.insert("info".into(), info),
                Err(_) => continue,
            };
        }
        out.insert(name, Value::Object(entry));
    }
    Ok(Json(Value::Object(out)))
}

/// `initial_state` of a create request.
fn initial_state(value: Option<&Value>) -> Result<TargetState, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(TargetState::Running),
        Some(Value::String(s)) => parse_target(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`initial_state` must be `RUNNING`, `PAUSED` or `STOPPED`, not `{s}`"
            ))
        }),
        Some(other) => Err(ApiError::bad_request(format!(
            "`initial_state` must be `RUNNING`, `PAUSED` or `STOPPED`, not {other}"
        ))),
    }
}

/// 201 with `Location` and the connector's info.
fn created(state: &AppState, name: &str) -> Result<Response, ApiError> {
    let info = info_json(state, name)?;
    let location = format!("/connectors/{name}");
    let mut response = (StatusCode::CREATED, Json(info)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `POST /connectors`.
async fn create_connector(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let mut request = body.object("`{\"name\": ..., \"config\": {...}}`")?;
    let name = match request.remove("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n,
        Some(Value::String(_)) | None | Some(Value::Null) => {
            // Kafka Connect takes the name from the config when the
            // request has none.
            match request
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
            {
                Some(n) => n.to_owned(),
                None => {
                    return Err(ApiError::bad_request(
                        "Connector name must be specified: give `name`",
                    ));
                }
            }
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`name` must be a string, not {other}"
            )));
        }
    };
    let config = match request.remove("config") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "Connector config is missing: give `config` as an object",
            ));
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`config` must be an object, not {other}"
            )));
        }
    };
    let target = initial_state(request.remove("initial_state").as_ref())?;
    if let Some(key) = request.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown key `{key}` in the request; it takes `name`, `config` and `initial_state`"
        )));
    }
    let writes = state.inner.writes.clone().lock_owned().await;
    let submitted = Submitted {
        config,
        base_dir: state.inner.options.base_dir.clone(),
    };
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        create_blocking(&s, &name, submitted, target)?;
        created(&s, &name)
    })
    .await
}

/// `POST /pipelines`: a pipeline file's YAML becomes a connector.
async fn create_pipeline(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let target = match pairs.iter().rev().find(|(k, _)| k == "initial_state") {
        Some((_, v)) => initial_state(Some(&Value::String(v.clone())))?,
        None => TargetState::Running,
    };
    let text = std::str::from_utf8(&body.0)
        .map_err(|_| ApiError::bad_request("the pipeline must be UTF-8 text"))?
        .to_owned();
    let base_dir = state.inner.options.base_dir.clone();
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        // Load it as a file is loaded, so the messages are the same.
        let file = PathBuf::from("pipeline");
        let (config, _) = crate::config::load_str(&text, &base_dir)
            .map_err(|problems| ApiError::invalid_config(&ConfigError { file, problems }))?;
        let name = config.name;
        let tree: Map<String, Value> = serde_yaml::from_str(&text).map_err(|e| {
            ApiError::bad_request(format!("the pipeline cannot be kept as JSON: {e}"))
        })?;
        create_blocking(
            &s,
            &name,
            Submitted {
                config: tree,
                base_dir,
            },
            target,
        )?;
        created(&s, &name)
    })
    .await
}

/// `GET /connectors/{name}`.
async fn get_connector(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(info_json(&state, &name)?))
}

/// `GET /connectors/{name}/config`.
async fn get_config(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(Value::Object(shown_config(&state, &name)?)))
}

/// `PUT /connectors/{name}/config`: 201 when created, 200 when replaced.
async fn put_config(
    State(state): State<AppState>,
    Name(name): Name,
    body: Body,
) -> Result<Response, ApiError> {
    let config = body.object("the connector's config")?;
    let writes = state.inner.writes.clone().lock_owned().await;
    let submitted = Submitted {
        config,
        base_dir: state.inner.options.base_dir.clone(),
    };
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        if update_blocking(&s, &name, submitted)? {
            created(&s, &name)
        } else {
            Ok(Json(info_json(&s, &name)?).into_response())
        }
    })
    .await
}

/// Merge `patch` into `target` (RFC 7386): `null` removes a key, objects
/// merge, anything else replaces.
fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(&key);
            }
            Value::Object(inner) => match target.get_mut(&key) {
                Some(Value::Object(existing)) => merge(existing, inner),
                _ => {
                    let mut fresh = Map::new();
                    merge(&mut fresh, inner);
                    target.insert(key, Value::Object(fresh));
                }
            },
            other => {
                target.insert(key, other);
            }
        }
    }
}

/// `PATCH /connectors/{name}/config`.
async fn patch_config(
    State(state): State<AppState>,
    Name(name): Name,
    body: Body,
) -> Result<Response, ApiError> {
    let patch = body.object("the keys to change; `null` removes one")?;
    let writes = state.inner.writes.clone().lock_owned().await;
    let mut submitted = state
        .configs()
        .get(&name)
        .cloned()
        .ok_or_else(|| ApiError::connector_not_found(&name))?;
    merge(&mut submitted.config, patch);
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        update_blocking(&s, &name, submitted)?;
        Ok(Json(info_json(&s, &name)?).into_response())
    })
    .await
}

/// `GET /connectors/{name}/status`.
async fn connector_status(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(status_json(&state.inner.worker.status(&name)?)))
}

/// `GET /connectors/{name}/tasks`.
async fn list_tasks(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    let status = state.inner.worker.status(&name)?;
    let spec = state.inner.worker.spec(&name)?;
    let mut config = shown_config(&state, &name)?;
    config.insert(
        "task.class".to_owned(),
        Value::String(task_class(&spec.pipeline.config).to_owned()),
    );
    let tasks: Vec<Value> = status
        .tasks
        .iter()
        .map(|t| json!({ "id": { "connector": name, "task": t.id }, "config": config }))
        .collect();
    Ok(Json(Value::Array(tasks)))
}

/// The `task.class` of a task config, which Kafka Connect adds to every
/// one: here what the task writes to (or, for generated records, what it
/// reads from).
fn task_class(pipeline: &PipelineFile) -> &'static str {
    if pipeline.source.datagen.is_some() {
        "sabot.DatagenSourceTask"
    } else if pipeline.sink.kafka.is_some() {
        "sabot.KafkaSinkTask"
    } else if pipeline.sink.file.is_some() {
        "sabot.FileSinkTask"
    } else if pipeline.sink.stdout.is_some() {
        "sabot.StdoutSinkTask"
    } else {
        "sabot.SinkTask"
    }
}

/// The task `task` of a status, or Kafka Connect's 404.
fn find_task(status: &ConnectorStatus, name: &str, task: &str) -> Result<usize, ApiError> {
    task.parse::<usize>()
        .ok()
        .filter(|id| status.tasks.iter().any(|t| t.id == *id))
        .ok_or_else(|| ApiError::task_not_found(name, task))
}

/// `GET /connectors/{name}/tasks/{task}/status`.
async fn task_status(
    State(state): State<AppState>,
    NameTask(name, task): NameTask,
) -> Result<Json<Value>, ApiError> {
    let status = state.inner.worker.status(&name)?;
    let id = find_task(&status, &name, &task)?;
    let shown = status_json(&status);
    let entry = shown["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["id"] == json!(id)))
        .cloned()
        .ok_or_else(|| ApiError::task_not_found(&name, &task))?;
    Ok(Json(entry))
}

/// `POST /connectors/{name}/tasks/{task}/restart`: 204.
async fn restart_task(
    State(state): State<AppState>,
    NameTask(name, task): NameTask,
) -> Result<StatusCode, ApiError> {
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        let status = s.inner.worker.status(&name)?;
        let id = find_task(&status, &name, &task)?;
        s.inner.worker.restart_task(&name, id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `POST /connectors/{name}/restart[?includeTasks=&onlyFailed=]`: 204
/// for the connector alone, 202 with the status when tasks restart.
async fn restart_connector(
    State(state): State<AppState>,
    Name(name): Name,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(query.as_deref());
    let include_tasks = query_flag(&pairs, "includeTasks")?;
    let only_failed = query_flag(&pairs, "onlyFailed")?;
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        s.inner.worker.restart(&name, include_tasks, only_failed)?;
        if !include_tasks && !only_failed {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let status = s.inner.worker.status(&name)?;
        Ok((StatusCode::ACCEPTED, Json(status_json(&status))).into_response())
    })
    .await
}

/// Set a target state and keep it.
async fn set_target(
    state: AppState,
    name: String,
    target: TargetState,
    code: StatusCode,
) -> Result<StatusCode, ApiError> {
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        let worker = &s.inner.worker;
        match target {
            TargetState::Running => worker.resume(&name)?,
            TargetState::Paused => worker.pause(&name)?,
            TargetState::Stopped => worker.stop(&name)?,
        }
        tracing::info!(connector = %name, target = target_name(target), "target state set");
        s.persist(&name);
        Ok(code)
    })
    .await
}

/// `PUT /connectors/{name}/pause`: 202.
async fn pause_connector(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<StatusCode, ApiError> {
    set_target(state, name, TargetState::Paused, StatusCode::ACCEPTED).await
}

/// `PUT /connectors/{name}/resume`: 202.
async fn resume_connector(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<StatusCode, ApiError> {
    set_target(state, name, TargetState::Running, StatusCode::ACCEPTED).await
}

/// `PUT /connectors/{name}/stop`: 204.
async fn stop_connector(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<StatusCode, ApiError> {
    set_target(state, name, TargetState::Stopped, StatusCode::NO_CONTENT).await
}

/// `DELETE /connectors/{name}`: 204.
async fn delete_connector(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<StatusCode, ApiError> {
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        s.inner.worker.delete(&name)?;
        s.configs().remove(&name);
        s.unpersist(&name);
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// `GET /connectors/{name}/topics`: the topics the connector reads and
/// writes by name (a `topics_regex` subscription is not expanded).
async fn connector_topics(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    let spec = state.inner.worker.spec(&name)?;
    let config = &spec.pipeline.config;
    let mut topics: Vec<String> = Vec::new();
    if let Some(k) = &config.source.kafka {
        topics.extend(k.topics.clone().unwrap_or_default());
    }
    if let Some(k) = &config.sink.kafka {
        topics.push(k.topic.clone());
    }
    if let Some(t) = &config.errors.dead_letter_topic {
        topics.push(t.clone());
    }
    topics.sort();
    topics.dedup();
    Ok(Json(json!({ name: { "topics": topics } })))
}

/// `PUT /connectors/{name}/topics/reset`: 202. Kafka Connect empties the
/// set of topics the connector has used; the topics Sabot reports follow
/// the connector's config, so there is nothing to empty.
async fn reset_topics(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<StatusCode, ApiError> {
    state.inner.worker.spec(&name)?;
    Ok(StatusCode::ACCEPTED)
}

/// `GET /connector-plugins`: [`plugins::list`], listing connector classes
/// only unless `connectorsOnly=false` asks for the transformations too, as
/// Kafka Connect does.
async fn list_plugins(
    state: State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let given = query_pairs(query.as_deref())
        .iter()
        .any(|(key, _)| key == "connectorsOnly");
    let query = match query {
        _ if given => query,
        Some(q) if !q.is_empty() => Some(format!("{q}&connectorsOnly=true")),
        _ => Some("connectorsOnly=true".to_owned()),
    };
    plugins::list(state, RawQuery(query)).await
}

/// `GET /metrics`: Prometheus text of every task's counters, batch
/// latency, time in transforms and consumer lag ([`super::metrics`]).
async fn metrics(State(state): State<AppState>) -> Response {
    let mut rows = Vec::new();
    for name in state.inner.worker.names() {
        if let Ok(tasks) = state.inner.worker.metrics(&name) {
            rows.push((name, tasks));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        super::metrics::render(&rows),
    )
        .into_response()
}

/// `GET /openapi.json`.
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}
