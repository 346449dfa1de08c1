//! The embedded schema registry's REST API: the part of Confluent's that
//! its serializers and common tools use, with Confluent's URLs, bodies,
//! status codes and error codes.
//!
//! | request | answers |
//! |---|---|
//! | `POST /subjects/S/versions` | `{"id": N}`: registers, or gives the id of the version already holding the schema |
//! | `POST /subjects/S` | the version holding the schema (lookup) |
//! | `GET /schemas/ids/ID` | `{"schema", "schemaType"?, "references"?}`; `/schema` gives the text alone |
//! | `GET /schemas/ids/ID/versions`, `/subjects` | the subjects and versions naming it |
//! | `GET /schemas/types` | `["JSON", "PROTOBUF", "AVRO"]` |
//! | `GET /subjects`, `GET /subjects/S/versions` | names, version numbers |
//! | `GET /subjects/S/versions/V` | `{"subject", "version", "id", "schemaType"?, "schema", "references"?}`; `V` is a number or `latest` |
//! | `GET /subjects/S/versions/V/schema`, `/referencedby` | the text alone; the ids referencing it |
//! | `DELETE /subjects/S`, `DELETE /subjects/S/versions/V` | soft delete; `?permanent=true` afterwards deletes for good |
//! | `GET`/`PUT`/`DELETE /config`, `/config/S` | `{"compatibilityLevel"}`; PUT takes and answers `{"compatibility"}` |
//! | `POST /compatibility/subjects/S/versions/V` | `{"is_compatible": bool}`, `"messages"` with `?verbose=true`; without `/V`, the versions the level compares with |
//! | `GET /mode` | `{"mode": "READWRITE"}` |
//!
//! `schemaType` and `references` are left out when they are AVRO and
//! empty, as Confluent leaves them out. Listings hide soft-deleted
//! versions unless asked with `?deleted=true`. Every failure answers
//! `{"error_code": N, "message": "..."}`: 40401 subject not found, 40402
//! version not found, 40403 schema not found, 40408 no subject-level
//! compatibility, 42201 invalid schema, 42202 invalid version, 42203
//! invalid compatibility level, 42206 a referenced version cannot be
//! deleted, 409 incompatible schema, 415 a content type other than
//! `application/vnd.schemaregistry.v1+json`,
//! `application/vnd.schemaregistry+json` or `application/json`, 413 a
//! body over [`MAX_BODY_BYTES`]. Query parameters Confluent uses for
//! contexts and normalisation (`subject` on `/schemas/ids/ID`, `normalize`)
//! are accepted and ignored; `format=serialized` gives a Protobuf schema as
//! a base64 `FileDescriptorProto`.
//!
//! The registry may require a credential (see [`RegistryOptions::auth`]):
//! a bearer token or a user and password sent with basic auth.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use tower_http::trace::TraceLayer;

use super::compat::Level;
use super::input::{Body, Params, Query, level_in, schema_id};
use super::request::{Rejection, VersionSpec};
use super::store::{Store, VersionInfo};
use super::{Auth, CONTENT_TYPE, RegisteredSchema, RegistryError};

/// Request bodies larger than this are refused with 413: 4 MiB, room for
/// the largest schemas.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// How the embedded registry is set up.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Where its state is kept (`registry.json` in it); in memory when
    /// `None`.
    pub state_dir: Option<PathBuf>,
    /// The credential every request must carry; [`Auth::None`] (the
    /// default) lets every request in.
    pub auth: Auth,
}

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct RegistryState {
    /// The shared parts.
    inner: Arc<Shared>,
}

/// The parts of [`RegistryState`].
struct Shared {
    /// The data; held by one request at a time.
    store: Mutex<Store>,
    /// The credential requests need.
    auth: Auth,
}

impl RegistryState {
    /// A registry set up by `options`, its state loaded from the folder.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Invalid`] when the state folder cannot be created
    /// or its file cannot be read.
    pub fn new(options: RegistryOptions) -> Result<RegistryState, RegistryError> {
        let store = match &options.state_dir {
            Some(dir) => Store::open(dir).map_err(RegistryError::Invalid)?,
            None => Store::in_memory(),
        };
        Ok(RegistryState {
            inner: Arc::new(Shared {
                store: Mutex::new(store),
                auth: options.auth,
            }),
        })
    }

    /// Run `f` on the data, on the blocking pool: parsing schemas and
    /// writing the state file take time.
    async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, Rejection> + Send + 'static,
    ) -> Result<T, Rejection> {
        let shared = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut store)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "a schema registry request failed");
            Err(Rejection::new(
                500,
                50001,
                "the schema registry failed on this request; see the server log",
            ))
        })
    }
}

/// A bound, not yet serving, embedded registry.
pub struct RegistryServer {
    /// The bound socket.
    listener: std::net::TcpListener,
    /// Its address (the real port when bound to port 0).
    address: SocketAddr,
    /// What it serves.
    state: RegistryState,
}

/// Load the registry's state from `state_dir` (in memory when `None`) and
/// bind `listen`; [`RegistryServer::run`] then serves it on the current
/// tokio runtime.
///
/// # Errors
///
/// [`RegistryError::Invalid`] when the state cannot be loaded or the
/// address cannot be bound.
pub fn serve_registry(
    listen: SocketAddr,
    state_dir: Option<PathBuf>,
) -> Result<RegistryServer, RegistryError> {
    serve_registry_with(
        listen,
        RegistryOptions {
            state_dir,
            auth: Auth::None,
        },
    )
}

/// [`serve_registry`] with every option.
///
/// # Errors
///
/// As [`serve_registry`].
pub fn serve_registry_with(
    listen: SocketAddr,
    options: RegistryOptions,
) -> Result<RegistryServer, RegistryError> {
    let state = RegistryState::new(options)?;
    let listener = std::net::TcpListener::bind(listen).map_err(|e| {
        RegistryError::Invalid(format!(
            "the schema registry cannot listen on `{listen}`: {e}"
        ))
    })?;
    let address = listener
        .local_addr()
        .map_err(|e| RegistryError::Invalid(format!("cannot read the registry's address: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| RegistryError::Invalid(format!("cannot set up the registry's socket: {e}")))?;
    Ok(RegistryServer {
        listener,
        address,
        state,
    })
}

impl RegistryServer {
    /// The address it is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// What it serves.
    pub fn state(&self) -> &RegistryState {
        &self.state
    }

    /// Serve until the future is dropped or the server fails.
    ///
    /// # Errors
    ///
    /// The socket cannot be used by tokio, or serving fails.
    pub async fn run(self) -> Result<(), RegistryError> {
        self.run_until(std::future::pending()).await
    }

    /// Serve until `shutdown` resolves, then finish the requests under
    /// way.
    ///
    /// # Errors
    ///
    /// As [`RegistryServer::run`].
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), RegistryError> {
        let listener = tokio::net::TcpListener::from_std(self.listener).map_err(|e| {
            RegistryError::Invalid(format!("cannot serve the registry's socket: {e}"))
        })?;
        tracing::info!(address = %self.address, "schema registry listening");
        axum::serve(listener, router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| RegistryError::Invalid(format!("the schema registry failed: {e}")))
    }
}

/// The registry's routes over `state`.
pub fn router(state: RegistryState) -> Router {
    let guard = state.clone();
    Router::new()
        .route("/", get(root))
        .route("/schemas/types", get(schema_types))
        .route("/schemas/ids/{id}", get(schema_by_id))
        .route("/schemas/ids/{id}/schema", get(schema_text_by_id))
        .route("/schemas/ids/{id}/versions", get(schema_versions))
        .route("/schemas/ids/{id}/subjects", get(schema_subjects))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup).delete(delete_subject))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(get_version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_text),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(referenced_by),
        )
        .route(
            "/config",
            get(get_global_config)
                .put(put_global_config)
                .delete(delete_global_config),
        )
        .route(
            "/config/{subject}",
            get(get_subject_config)
                .put(put_subject_config)
                .delete(delete_subject_config),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(check_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(check_version),
        )
        .route("/mode", get(global_mode))
        .route("/mode/{subject}", get(subject_mode))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(check_content_type))
        .layer(middleware::from_fn_with_state(guard, require_auth))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

// --- Answers ----------------------------------------------------------------

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        answer(
            status,
            &json!({ "error_code": self.error_code, "message": self.message }),
        )
    }
}

/// `value` as the body, with the registry's content type.
fn answer(status: StatusCode, value: &Value) -> Response {
    text(status, value.to_string())
}

/// `body` with the registry's content type.
fn text(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// 200 with `value`.
fn ok(value: Value) -> Response {
    answer(StatusCode::OK, &value)
}

/// What `GET /schemas/ids/ID` answers.
fn schema_body(schema: &RegisteredSchema) -> Value {
    let mut body = Map::new();
    if !schema.schema_type.is_avro() {
        body.insert("schemaType".into(), json!(schema.schema_type.as_str()));
    }
    body.insert("schema".into(), json!(schema.schema));
    if !schema.references.is_empty() {
        body.insert("references".into(), json!(schema.references));
    }
    Value::Object(body)
}

/// What `GET /subjects/S/versions/V` and the lookup answer.
fn version_body(info: &VersionInfo) -> Value {
    let mut body = Map::new();
    body.insert("subject".into(), json!(info.subject));
    body.insert("version".into(), json!(info.version));
    body.insert("id".into(), json!(info.schema.id));
    if let Value::Object(rest) = schema_body(&info.schema) {
        body.extend(rest);
    }
    Value::Object(body)
}

async fn not_found() -> Rejection {
    Rejection::new(404, 404, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> Rejection {
    Rejection::new(405, 405, "HTTP 405 Method Not Allowed")
}

// --- Middleware ---------------------------------------------------------

/// 415 for a body in another content type than the API's.
async fn check_content_type(request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    if let Some(given) = given {
        let essence = given
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let accepted = [
            CONTENT_TYPE,
            "application/vnd.schemaregistry+json",
            "application/json",
        ];
        if !accepted.contains(&essence.as_str()) {
            return Rejection::new(
                415,
                415,
                format!(
                    "HTTP 415 Unsupported Media Type: send `{CONTENT_TYPE}`, `application/vnd.schemaregistry+json` or `application/json`, not `{given}`"
                ),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// 401 unless the request carries the credential (when one is set).
async fn require_auth(
    State(state): State<RegistryState>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (allowed, challenge) = match &state.inner.auth {
        Auth::None => (true, ""),
        Auth::Bearer(token) => (
            given
                .strip_prefix("Bearer ")
                .is_some_and(|g| same(g.trim().as_bytes(), token.as_bytes())),
            "Bearer",
        ),
        Auth::Basic { user, password } => {
            let expected = format!("{user}:{password}");
            let decoded = given.strip_prefix("Basic ").and_then(|g| {
                base64::engine::general_purpose::STANDARD
                    .decode(g.trim())
                    .ok()
            });
            (
                decoded.is_some_and(|d| same(&d, expected.as_bytes())),
                "Basic realm=\"schema-registry\"",
            )
        }
    };
    if allowed {
        return next.run(request).await;
    }
    let mut response = Rejection::new(
        401,
        40101,
        "Unauthorized: this schema registry needs credentials; send the bearer token or the user and password it was started with",
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Compare without stopping at the first difference, so the time taken
/// does not tell how much of a guess was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// --- Schemas ------------------------------------------------------------------

/// `GET /`.
async fn root() -> Response {
    ok(json!({}))
}

/// `GET /schemas/types`.
async fn schema_types() -> Response {
    ok(json!(["JSON", "PROTOBUF", "AVRO"]))
}

/// `GET /schemas/ids/ID`; with `?format=serialized`, a Protobuf schema
/// comes as a base64 `FileDescriptorProto`, as Confluent's Python
/// deserializers ask for it.
async fn schema_by_id(
    State(state): State<RegistryState>,
    Params(id): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let id = schema_id(&id)?;
    let serialized = Query::of(query).get("format") == Some("serialized");
    let mut schema = state.with_store(move |s| s.schema(id)).await?;
    if serialized && schema.schema_type == super::SchemaType::Protobuf {
        // Referenced files are compiled by name; a schema whose imports
        // are not well known stays in the form it was registered in.
        match crate::schema::proto_text::to_serialized(&schema.schema, &[]) {
            Ok(text) => schema.schema = text,
            Err(e) => {
                tracing::debug!(schema_id = id, error = %e, "kept the Protobuf schema as registered")
            }
        }
    }
    Ok(ok(schema_body(&schema)))
}

/// `GET /schemas/ids/ID/schema`.
async fn schema_text_by_id(
    State(state): State<RegistryState>,
    Params(id): Params<String>,
) -> Result<Response, Rejection> {
    let id = schema_id(&id)?;
    let schema = state.with_store(move |s| s.schema(id)).await?;
    Ok(text(StatusCode::OK, schema.schema))
}

/// `GET /schemas/ids/ID/versions`.
async fn schema_versions(
    State(state): State<RegistryState>,
    Params(id): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let id = schema_id(&id)?;
    let deleted = Query::of(query).flag("deleted")?;
    let pairs = state
        .with_store(move |s| s.schema_versions(id, deleted))
        .await?;
    let body: Vec<Value> = pairs
        .into_iter()
        .map(|(subject, version)| json!({ "subject": subject, "version": version }))
        .collect();
    Ok(ok(Value::Array(body)))
}

/// `GET /schemas/ids/ID/subjects`.
async fn schema_subjects(
    State(state): State<RegistryState>,
    Params(id): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let id = schema_id(&id)?;
    let deleted = Query::of(query).flag("deleted")?;
    let pairs = state
        .with_store(move |s| s.schema_versions(id, deleted))
        .await?;
    let mut subjects: Vec<String> = pairs.into_iter().map(|(s, _)| s).collect();
    subjects.dedup();
    Ok(ok(json!(subjects)))
}

// --- Subjects -----------------------------------------------------------------

/// `GET /subjects`.
async fn list_subjects(
    State(state): State<RegistryState>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let query = Query::of(query);
    let deleted = query.flag("deleted")?;
    let prefix = query.get("subjectPrefix").unwrap_or("").to_owned();
    let subjects = state
        .with_store(move |s| Ok(s.subjects(deleted, &prefix)))
        .await?;
    Ok(ok(json!(subjects)))
}

/// `GET /subjects/S/versions`.
async fn list_versions(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let deleted = Query::of(query).flag("deleted")?;
    let versions = state
        .with_store(move |s| s.versions(&subject, deleted))
        .await?;
    Ok(ok(json!(versions)))
}

/// `POST /subjects/S/versions`.
async fn register(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    body: Body,
) -> Result<Response, Rejection> {
    let request = body.schema_request()?;
    let id = state
        .with_store(move |s| s.register(&subject, &request))
        .await?;
    Ok(ok(json!({ "id": id })))
}

/// `POST /subjects/S`.
async fn lookup(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, Rejection> {
    let deleted = Query::of(query).flag("deleted")?;
    let request = body.schema_request()?;
    let info = state
        .with_store(move |s| s.lookup(&subject, &request, deleted))
        .await?;
    Ok(ok(version_body(&info)))
}

/// `DELETE /subjects/S`.
async fn delete_subject(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let permanent = Query::of(query).flag("permanent")?;
    let versions = state
        .with_store(move |s| s.delete_subject(&subject, permanent))
        .await?;
    Ok(ok(json!(versions)))
}

/// `GET /subjects/S/versions/V`.
async fn get_version(
    State(state): State<RegistryState>,
    Params((subject, version)): Params<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let deleted = Query::of(query).flag("deleted")?;
    let spec = VersionSpec::parse(&version)?;
    let info = state
        .with_store(move |s| s.version(&subject, spec, deleted))
        .await?;
    Ok(ok(version_body(&info)))
}

/// `GET /subjects/S/versions/V/schema`.
async fn get_version_text(
    State(state): State<RegistryState>,
    Params((subject, version)): Params<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let deleted = Query::of(query).flag("deleted")?;
    let spec = VersionSpec::parse(&version)?;
    let info = state
        .with_store(move |s| s.version(&subject, spec, deleted))
        .await?;
    Ok(text(StatusCode::OK, info.schema.schema))
}

/// `GET /subjects/S/versions/V/referencedby`.
async fn referenced_by(
    State(state): State<RegistryState>,
    Params((subject, version)): Params<(String, String)>,
) -> Result<Response, Rejection> {
    let spec = VersionSpec::parse(&version)?;
    let ids = state
        .with_store(move |s| s.referenced_by(&subject, spec))
        .await?;
    Ok(ok(json!(ids)))
}

/// `DELETE /subjects/S/versions/V`.
async fn delete_version(
    State(state): State<RegistryState>,
    Params((subject, version)): Params<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let permanent = Query::of(query).flag("permanent")?;
    let spec = VersionSpec::parse(&version)?;
    let version = state
        .with_store(move |s| s.delete_version(&subject, spec, permanent))
        .await?;
    Ok(ok(json!(version)))
}

// --- Compatibility ------------------------------------------------------------

/// `POST /compatibility/subjects/S/versions/V`.
async fn check_version(
    State(state): State<RegistryState>,
    Params((subject, version)): Params<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, Rejection> {
    let spec = VersionSpec::parse(&version)?;
    compatibility(state, subject, Some(spec), query, body).await
}

/// `POST /compatibility/subjects/S/versions`.
async fn check_all(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Result<Response, Rejection> {
    compatibility(state, subject, None, query, body).await
}

async fn compatibility(
    state: RegistryState,
    subject: String,
    spec: Option<VersionSpec>,
    query: Option<String>,
    body: Body,
) -> Result<Response, Rejection> {
    let verbose = Query::of(query).flag("verbose")?;
    let request = body.schema_request()?;
    let problems = state
        .with_store(move |s| s.compatibility(&subject, spec, &request))
        .await?;
    let mut body = json!({ "is_compatible": problems.is_empty() });
    if verbose {
        body["messages"] = json!(problems);
    }
    Ok(ok(body))
}

// --- Config ---------------------------------------------------------------------

/// `GET /config`.
async fn get_global_config(State(state): State<RegistryState>) -> Result<Response, Rejection> {
    let level = state.with_store(|s| Ok(s.global_level())).await?;
    Ok(ok(json!({ "compatibilityLevel": level })))
}

/// `PUT /config`.
async fn put_global_config(
    State(state): State<RegistryState>,
    body: Body,
) -> Result<Response, Rejection> {
    let level = level_in(&body)?;
    state.with_store(move |s| s.set_global_level(level)).await?;
    Ok(ok(json!({ "compatibility": level })))
}

/// `DELETE /config`: back to BACKWARD; answers the level it had.
async fn delete_global_config(State(state): State<RegistryState>) -> Result<Response, Rejection> {
    let old = state
        .with_store(|s| {
            let old = s.global_level();
            s.set_global_level(Level::default())?;
            Ok(old)
        })
        .await?;
    Ok(ok(json!({ "compatibilityLevel": old })))
}

/// `GET /config/S`; `?defaultToGlobal=true` answers the global level
/// when the subject has none.
async fn get_subject_config(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    let fallback = Query::of(query).flag("defaultToGlobal")?;
    let level = state
        .with_store(move |s| match s.subject_level(&subject) {
            Some(level) => Ok(level),
            None if fallback => Ok(s.global_level()),
            None => Err(Rejection::no_subject_compatibility(&subject)),
        })
        .await?;
    Ok(ok(json!({ "compatibilityLevel": level })))
}

/// `PUT /config/S`.
async fn put_subject_config(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
    body: Body,
) -> Result<Response, Rejection> {
    let level = level_in(&body)?;
    state
        .with_store(move |s| s.set_subject_level(&subject, Some(level)))
        .await?;
    Ok(ok(json!({ "compatibility": level })))
}

/// `DELETE /config/S`: answers the level it had.
async fn delete_subject_config(
    State(state): State<RegistryState>,
    Params(subject): Params<String>,
) -> Result<Response, Rejection> {
    let old = state
        .with_store(move |s| match s.set_subject_level(&subject, None)? {
            Some(old) => Ok(old),
            None => Err(Rejection::no_subject_compatibility(&subject)),
        })
        .await?;
    Ok(ok(json!({ "compatibilityLevel": old })))
}

// --- Mode -----------------------------------------------------------------------

/// `GET /mode`: the registry always takes writes.
async fn global_mode() -> Response {
    ok(json!({ "mode": "READWRITE" }))
}

/// `GET /mode/S`: no subject has a mode of its own; `?defaultToGlobal=true`
/// answers the global one.
async fn subject_mode(
    Params(subject): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, Rejection> {
    if Query::of(query).flag("defaultToGlobal")? {
        return Ok(ok(json!({ "mode": "READWRITE" })));
    }
    Err(Rejection::new(
        404,
        40409,
        format!("Subject '{subject}' does not have subject-level mode configured"),
    ))
}
