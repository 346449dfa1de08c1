//! A blocking client for the REST API of a Confluent-compatible schema
//! registry.
//!
//! ```no_run
//! use std::time::Duration;
//! use sabot::schema::registry::{Auth, ClientConfig, RegistryClient};
//!
//! let client = RegistryClient::new(
//!     ClientConfig::new("http://127.0.0.1:8081")
//!         .with_auth(Auth::basic_user_info("alice:secret")?)
//!         .with_retry(Duration::from_millis(100), Duration::from_secs(30)),
//! )?;
//! let (schema, references) = client.resolve(42)?;
//! # Ok::<(), sabot::schema::registry::RegistryError>(())
//! ```
//!
//! **Caching.** A schema id never changes meaning, so a schema fetched by
//! id is kept for the client's life: after the first fetch, asking again
//! costs no HTTP call. So are a subject's numbered versions, the ids that
//! [`RegistryClient::register`] got and the answers of
//! [`RegistryClient::lookup`], each keyed by subject and schema text.
//! `latest`, the subject list and version lists change, and are asked
//! each time. Clones share one cache and one connection pool, so a client
//! is made once and handed to every task.
//!
//! **Failures** are classified ([`RegistryError`]): an unknown id,
//! subject or version is [`NotFound`](RegistryError::NotFound), for the
//! dead-letter path; a registry that cannot be reached, times out or
//! answers 5xx or 429 is retried with exponential backoff (doubling from
//! [`ClientConfig::retry_backoff`], each wait at most 5 s) until the waits
//! would pass [`ClientConfig::retry_max_wait`], then reported as
//! [`Unavailable`](RegistryError::Unavailable); other 4xx answers are
//! [`Refused`](RegistryError::Refused) at once. A TLS handshake that fails
//! (an unknown CA, a wrong host name) is [`Invalid`](RegistryError::Invalid):
//! retrying does not fix a certificate.
//!
//! **TLS.** `https://` URLs use the system's TLS library (native-tls) with
//! the system's root certificates, or only the CA certificates of
//! [`ClientConfig::ca_file`] when it is set.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{CONTENT_TYPE, RegisteredSchema, RegistryError, SchemaReference, SchemaType};

/// The longest single wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Answers larger than this are refused: 16 MiB, far beyond any schema.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// A credential sent with every request, or required by the embedded
/// registry.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credential.
    #[default]
    None,
    /// HTTP basic auth, as Confluent's `basic.auth.user.info`.
    Basic {
        /// The user (an API key on Confluent Cloud).
        user: String,
        /// The password (the API secret).
        password: String,
    },
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
}

impl Auth {
    /// Basic auth from `user:password`, the form of Confluent's
    /// `basic.auth.user.info` (the password may contain `:`).
    ///
    /// # Errors
    ///
    /// [`RegistryError::Invalid`] when there is no `:` or no user.
    pub fn basic_user_info(info: &str) -> Result<Auth, RegistryError> {
        match info.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok(Auth::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err(RegistryError::Invalid(
                "the registry's basic auth must be `user:password`".to_owned(),
            )),
        }
    }

    /// The `Authorization` header's value, if any.
    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// Secrets are never shown.
impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<hidden>")
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&"<hidden>").finish(),
        }
    }
}

/// How a [`RegistryClient`] reaches its registry. [`ClientConfig::new`]
/// gives the defaults each field names.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The registry's base URL, `http://` or `https://`, e.g.
    /// `http://127.0.0.1:8081` (a trailing `/` is ignored).
    pub url: String,
    /// The credential; default none.
    pub auth: Auth,
    /// A PEM file of the CA certificates to trust for `https://` instead of
    /// the system's; default none.
    pub ca_file: Option<PathBuf>,
    /// How long one request may take, connecting included; default 10 s.
    pub timeout: Duration,
    /// The first wait before retrying an unreachable registry; default
    /// 100 ms. Each next wait doubles, up to 5 s.
    pub retry_backoff: Duration,
    /// The most time spent waiting between retries before the registry is
    /// reported unavailable; default 30 s. Zero means one attempt.
    pub retry_max_wait: Duration,
}

impl ClientConfig {
    /// The defaults for the registry at `url`.
    pub fn new(url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            url: url.into(),
            auth: Auth::None,
            ca_file: None,
            timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_millis(100),
            retry_max_wait: Duration::from_secs(30),
        }
    }

    /// With `auth` sent on every request.
    pub fn with_auth(mut self, auth: Auth) -> ClientConfig {
        self.auth = auth;
        self
    }

    /// Trusting the CA certificates in the PEM file `file`.
    pub fn with_ca_file(mut self, file: impl Into<PathBuf>) -> ClientConfig {
        self.ca_file = Some(file.into());
        self
    }

    /// With `timeout` for each request.
    pub fn with_timeout(mut self, timeout: Duration) -> ClientConfig {
        self.timeout = timeout;
        self
    }

    /// Retrying an unreachable registry after `backoff`, doubling, for at
    /// most `max_wait` of waiting in all.
    pub fn with_retry(mut self, backoff: Duration, max_wait: Duration) -> ClientConfig {
        self.retry_backoff = backoff;
        self.retry_max_wait = max_wait;
        self
    }
}

/// A version of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectVersion {
    /// The subject.
    pub subject: String,
    /// The version number.
    pub version: u32,
    /// The schema it holds.
    pub schema: RegisteredSchema,
}

/// A schema as sent to be registered or looked up: the key of the caches
/// of [`RegistryClient::register`] and [`RegistryClient::lookup`], with the
/// subject.
type SchemaKey = (String, SchemaType, String, Vec<SchemaReference>);

/// What the client has been told, for its life.
#[derive(Default)]
struct Cache {
    /// Schemas by id.
    by_id: HashMap<u32, RegisteredSchema>,
    /// Numbered versions by subject and number.
    versions: HashMap<(String, u32), SubjectVersion>,
    /// Ids registration answered.
    registered: HashMap<SchemaKey, u32>,
    /// Versions lookups answered.
    looked_up: HashMap<SchemaKey, SubjectVersion>,
    /// Referenced schemas by the id referring to them.
    resolved: HashMap<u32, Vec<(String, String)>>,
}

/// A client for one registry. Cheap to clone; clones share their cache
/// and connections, and may be used from any thread.
#[derive(Clone)]
pub struct RegistryClient {
    /// The shared parts.
    inner: Arc<Inner>,
}

/// The parts of [`RegistryClient`].
struct Inner {
    /// Connections.
    agent: ureq::Agent,
    /// The base URL without a trailing `/`.
    url: String,
    /// The `Authorization` header.
    authorization: Option<String>,
    /// The first wait before a retry.
    backoff: Duration,
    /// The most waiting before an outage is reported.
    max_wait: Duration,
    /// What is known.
    cache: Mutex<Cache>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

/// What a request is about, for naming what was not found.
#[derive(Default)]
struct Target<'a> {
    /// The subject asked about.
    subject: Option<&'a str>,
    /// The version asked about.
    version: Option<u32>,
    /// The schema id asked about.
    id: Option<u32>,
}

impl Target<'_> {
    /// What a not-found answer with `code` says is missing, if it is a
    /// not-found code.
    fn missing(&self, code: i64) -> Option<String> {
        let subject = self.subject.unwrap_or("?");
        match code {
            40401 => Some(format!("subject `{subject}`")),
            40402 => Some(match self.version {
                Some(v) => format!("version {v} of subject `{subject}`"),
                None => format!("a version of subject `{subject}`"),
            }),
            40403 => Some(match (self.id, self.subject) {
                (Some(id), _) => format!("schema id {id}"),
                (None, Some(s)) => format!("the schema under subject `{s}`"),
                (None, None) => "the schema".to_owned(),
            }),
            _ => None,
        }
    }
}

/// How one attempt ended, when it did not succeed.
enum Failure {
    /// Worth retrying.
    Outage(String),
    /// Final.
    Final(RegistryError),
}

impl RegistryClient {
    /// A client for the registry `config` describes. Nothing is sent
    /// until the first call.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Invalid`] for a URL that is not `http://` or
    /// `https://`, or a CA file that cannot be read or holds no
    /// certificate.
    pub fn new(config: ClientConfig) -> Result<RegistryClient, RegistryError> {
        let url = config.url.trim().trim_end_matches('/').to_owned();
        let https = url.starts_with("https://");
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        if host.is_none_or(str::is_empty) {
            return Err(RegistryError::Invalid(format!(
                "the schema registry URL `{}` must start with `http://` or `https://`",
                config.url
            )));
        }
        let mut tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::NativeTls);
        tls = match &config.ca_file {
            None => tls.root_certs(ureq::tls::RootCerts::PlatformVerifier),
            Some(file) => {
                if !https {
                    return Err(RegistryError::Invalid(format!(
                        "a CA file is set for the schema registry, but its URL `{url}` is not `https://`"
                    )));
                }
                tls.root_certs(ureq::tls::RootCerts::new_with_certs(&read_ca_file(file)?))
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("sabot/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                agent,
                url,
                authorization: config.auth.header(),
                backoff: config.retry_backoff,
                max_wait: config.retry_max_wait,
                cache: Mutex::new(Cache::default()),
            }),
        })
    }

    /// The registry's base URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.inner.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The schema with `id` (`GET /schemas/ids/ID`), fetched once.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] "schema id 42 not found at URL" for an
    /// unknown id; the others as the module docs say.
    pub fn schema(&self, id: u32) -> Result<RegisteredSchema, RegistryError> {
        self.schema_in(id, None)
    }

    /// The schema with `id`, asking with `?subject=SUBJECT` (which
    /// registries with contexts use to find it); cached by id alone.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::schema`].
    pub fn schema_in(
        &self,
        id: u32,
        subject: Option<&str>,
    ) -> Result<RegisteredSchema, RegistryError> {
        if let Some(schema) = self.cache().by_id.get(&id) {
            return Ok(schema.clone());
        }
        let mut path = format!("/schemas/ids/{id}");
        if let Some(subject) = subject {
            path.push_str("?subject=");
            path.push_str(&encode(subject));
        }
        let target = Target {
            id: Some(id),
            subject,
            ..Target::default()
        };
        let answer = self.call("GET", &path, None, &target)?;
        let schema =
            parse_schema(id, &answer).map_err(|reason| self.bad_answer("GET", &path, reason))?;
        self.cache().by_id.insert(id, schema.clone());
        Ok(schema)
    }

    /// The schema with `id` and the texts of every schema it references,
    /// nested references included, as (name, text) with each schema after
    /// the ones it references: what an Avro parser needs as its list of
    /// named types, or protox as its imports. Fetched once per id; a cycle
    /// of references is followed once.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::schema`]; a referenced version the registry
    /// does not have is [`RegistryError::NotFound`] naming it.
    pub fn resolve(
        &self,
        id: u32,
    ) -> Result<(RegisteredSchema, Vec<(String, String)>), RegistryError> {
        let schema = self.schema(id)?;
        if let Some(resolved) = self.cache().resolved.get(&id) {
            return Ok((schema, resolved.clone()));
        }
        let mut out: Vec<(String, String)> = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        let mut seen: HashSet<(String, u32)> = HashSet::new();
        // Depth first without recursion, each schema after its own
        // references.
        let mut stack: Vec<(SchemaReference, bool)> = schema
            .references
            .iter()
            .rev()
            .map(|r| (r.clone(), false))
            .collect();
        while let Some((reference, expanded)) = stack.pop() {
            let found = self.version(&reference.subject, reference.version)?;
            if expanded {
                if names.insert(reference.name.clone()) {
                    out.push((reference.name, found.schema.schema));
                }
                continue;
            }
            if !seen.insert((reference.subject.clone(), reference.version)) {
                continue;
            }
            stack.push((reference, true));
            for nested in found.schema.references.iter().rev() {
                stack.push((nested.clone(), false));
            }
        }
        self.cache().resolved.insert(id, out.clone());
        Ok((schema, out))
    }

    /// Every subject (`GET /subjects`).
    ///
    /// # Errors
    ///
    /// As the module docs say.
    pub fn subjects(&self) -> Result<Vec<String>, RegistryError> {
        let path = "/subjects";
        let answer = self.call("GET", path, None, &Target::default())?;
        serde_json::from_value(answer).map_err(|e| {
            self.bad_answer(
                "GET",
                path,
                format!("a body that is not a list of names: {e}"),
            )
        })
    }

    /// The version numbers of `subject` (`GET /subjects/S/versions`).
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] for an unknown subject.
    pub fn versions(&self, subject: &str) -> Result<Vec<u32>, RegistryError> {
        let path = format!("/subjects/{}/versions", encode(subject));
        let target = Target {
            subject: Some(subject),
            ..Target::default()
        };
        let answer = self.call("GET", &path, None, &target)?;
        serde_json::from_value(answer).map_err(|e| {
            self.bad_answer(
                "GET",
                &path,
                format!("a body that is not a list of versions: {e}"),
            )
        })
    }

    /// Version `version` of `subject` (`GET /subjects/S/versions/V`),
    /// fetched once.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] for an unknown subject or version.
    pub fn version(&self, subject: &str, version: u32) -> Result<SubjectVersion, RegistryError> {
        let key = (subject.to_owned(), version);
        if let Some(found) = self.cache().versions.get(&key) {
            return Ok(found.clone());
        }
        let found = self.get_version(subject, &version.to_string(), Some(version))?;
        let mut cache = self.cache();
        cache.by_id.insert(found.schema.id, found.schema.clone());
        cache.versions.insert(key, found.clone());
        Ok(found)
    }

    /// The newest version of `subject` (`GET /subjects/S/versions/latest`),
    /// asked each time.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] for an unknown subject.
    pub fn latest(&self, subject: &str) -> Result<SubjectVersion, RegistryError> {
        let found = self.get_version(subject, "latest", None)?;
        let mut cache = self.cache();
        cache.by_id.insert(found.schema.id, found.schema.clone());
        cache
            .versions
            .insert((found.subject.clone(), found.version), found.clone());
        Ok(found)
    }

    fn get_version(
        &self,
        subject: &str,
        version: &str,
        number: Option<u32>,
    ) -> Result<SubjectVersion, RegistryError> {
        let path = format!("/subjects/{}/versions/{version}", encode(subject));
        let target = Target {
            subject: Some(subject),
            version: number,
            ..Target::default()
        };
        let answer = self.call("GET", &path, None, &target)?;
        parse_version(subject, &answer).map_err(|reason| self.bad_answer("GET", &path, reason))
    }

    /// Register a schema under `subject` (`POST /subjects/S/versions`) and
    /// give its id; the same subject and schema are registered once per
    /// client.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Refused`] for an invalid schema (error 42201) or
    /// one incompatible with the subject's versions (409).
    pub fn register(
        &self,
        subject: &str,
        schema_type: SchemaType,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<u32, RegistryError> {
        let key: SchemaKey = (
            subject.to_owned(),
            schema_type,
            schema.to_owned(),
            references.to_vec(),
        );
        if let Some(id) = self.cache().registered.get(&key) {
            return Ok(*id);
        }
        let path = format!("/subjects/{}/versions", encode(subject));
        let target = Target {
            subject: Some(subject),
            ..Target::default()
        };
        let body = request_body(schema_type, schema, references);
        let answer = self.call("POST", &path, Some(body), &target)?;
        let id = answer
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| self.bad_answer("POST", &path, "a body without an `id`".to_owned()))?;
        let mut cache = self.cache();
        cache.by_id.entry(id).or_insert_with(|| RegisteredSchema {
            id,
            schema_type,
            schema: schema.to_owned(),
            references: references.to_vec(),
        });
        cache.registered.insert(key, id);
        Ok(id)
    }

    /// The version of `subject` holding a schema (`POST /subjects/S`),
    /// asked once per subject and schema.
    ///
    /// # Errors
    ///
    /// [`RegistryError::NotFound`] when the subject does not exist or does
    /// not hold the schema.
    pub fn lookup(
        &self,
        subject: &str,
        schema_type: SchemaType,
        schema: &str,
        references: &[SchemaReference],
    ) -> Result<SubjectVersion, RegistryError> {
        let key: SchemaKey = (
            subject.to_owned(),
            schema_type,
            schema.to_owned(),
            references.to_vec(),
        );
        if let Some(found) = self.cache().looked_up.get(&key) {
            return Ok(found.clone());
        }
        let path = format!("/subjects/{}", encode(subject));
        let target = Target {
            subject: Some(subject),
            ..Target::default()
        };
        let body = request_body(schema_type, schema, references);
        let answer = self.call("POST", &path, Some(body), &target)?;
        let found = parse_version(subject, &answer)
            .map_err(|reason| self.bad_answer("POST", &path, reason))?;
        let mut cache = self.cache();
        cache.by_id.insert(found.schema.id, found.schema.clone());
        cache.looked_up.insert(key, found.clone());
        Ok(found)
    }

    fn bad_answer(&self, method: &str, path: &str, reason: String) -> RegistryError {
        RegistryError::BadAnswer {
            url: self.inner.url.clone(),
            request: format!("{method} {path}"),
            reason,
        }
    }

    /// Send a request, retrying outages with backoff, and give the JSON
    /// answer of a 2xx.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        target: &Target<'_>,
    ) -> Result<Value, RegistryError> {
        let url = format!("{}{path}", self.inner.url);
        let mut delay = self.inner.backoff;
        let mut waited = Duration::ZERO;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let reason = match self.attempt(method, path, &url, body.as_deref(), target) {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Outage(reason)) => reason,
            };
            if waited + delay > self.inner.max_wait {
                tracing::warn!(url = %self.inner.url, attempts, reason = %reason, "the schema registry is unavailable");
                return Err(RegistryError::Unavailable {
                    url: self.inner.url.clone(),
                    attempts,
                    reason,
                });
            }
            tracing::debug!(url = %self.inner.url, attempt = attempts, reason = %reason, wait_ms = delay.as_millis() as u64, "the schema registry did not answer; retrying");
            std::thread::sleep(delay);
            waited += delay;
            delay = (delay * 2).min(MAX_BACKOFF);
        }
    }

    /// One request.
    fn attempt(
        &self,
        method: &str,
        path: &str,
        url: &str,
        body: Option<&str>,
        target: &Target<'_>,
    ) -> Result<Value, Failure> {
        let agent = &self.inner.agent;
        let auth = self.inner.authorization.as_deref();
        let result = match (method, body) {
            ("POST", Some(body)) | ("PUT", Some(body)) => {
                let mut request = if method == "POST" {
                    agent.post(url)
                } else {
                    agent.put(url)
                };
                request = request
                    .header("accept", CONTENT_TYPE)
                    .header("content-type", CONTENT_TYPE);
                if let Some(auth) = auth {
                    request = request.header("authorization", auth);
                }
                request.send(body)
            }
            _ => {
                let mut request = if method == "DELETE" {
                    agent.delete(url)
                } else {
                    agent.get(url)
                };
                request = request.header("accept", CONTENT_TYPE);
                if let Some(auth) = auth {
                    request = request.header("authorization", auth);
                }
                request.call()
            }
        };
        let mut response = result.map_err(|e| self.transport_failure(e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| Failure::Outage(format!("cannot read the answer: {e}")))?;
        let request = format!("{method} {path}");
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| {
                Failure::Final(self.bad_answer(
                    method,
                    path,
                    format!("a body that is not JSON ({e})"),
                ))
            });
        }
        let error: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let error_code = error
            .get("error_code")
            .and_then(Value::as_i64)
            .unwrap_or(i64::from(status));
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(200).collect());
        if status >= 500 || status == 429 || status == 408 {
            return Err(Failure::Outage(format!("HTTP {status}: {message}")));
        }
        if status == 404
            && let Some(what) = target.missing(error_code)
        {
            return Err(Failure::Final(RegistryError::NotFound {
                what,
                url: self.inner.url.clone(),
            }));
        }
        Err(Failure::Final(RegistryError::Refused {
            url: self.inner.url.clone(),
            request,
            status,
            error_code,
            message,
        }))
    }

    /// Classify an error before any answer: TLS and URL problems are
    /// final, the rest an outage.
    fn transport_failure(&self, error: ureq::Error) -> Failure {
        match error {
            ureq::Error::NativeTls(_)
            | ureq::Error::Tls(_)
            | ureq::Error::Pem(_)
            | ureq::Error::Der(_)
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_) => Failure::Final(RegistryError::Invalid(format!(
                "cannot talk to the schema registry at {}: {error}; check its URL, and for https the CA file and the certificate's host name",
                self.inner.url
            ))),
            other => Failure::Outage(other.to_string()),
        }
    }
}

/// The certificates in the PEM file `file`.
fn read_ca_file(
    file: &std::path::Path,
) -> Result<Vec<ureq::tls::Certificate<'static>>, RegistryError> {
    let pem = std::fs::read(file).map_err(|e| {
        RegistryError::Invalid(format!(
            "cannot read the schema registry's CA file `{}`: {e}",
            file.display()
        ))
    })?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => {
                return Err(RegistryError::Invalid(format!(
                    "the schema registry's CA file `{}` is not PEM: {e}",
                    file.display()
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(RegistryError::Invalid(format!(
            "the schema registry's CA file `{}` holds no certificate",
            file.display()
        )));
    }
    Ok(certs)
}

/// The body of a register or lookup request, as Confluent's clients send
/// it: `schemaType` and `references` only when they say something.
fn request_body(schema_type: SchemaType, schema: &str, references: &[SchemaReference]) -> String {
    let mut body = json!({ "schema": schema });
    if !schema_type.is_avro() {
        body["schemaType"] = json!(schema_type.as_str());
    }
    if !references.is_empty() {
        body["references"] = json!(references);
    }
    body.to_string()
}

/// A `GET /schemas/ids/ID` answer.
fn parse_schema(id: u32, answer: &Value) -> Result<RegisteredSchema, String> {
    let schema = answer
        .get("schema")
        .and_then(Value::as_str)
        .ok_or("a body without a `schema` string")?;
    let schema_type = match answer.get("schemaType") {
        None | Some(Value::Null) => SchemaType::Avro,
        Some(Value::String(name)) => {
            SchemaType::parse(name).ok_or_else(|| format!("the unknown schema type `{name}`"))?
        }
        Some(other) => return Err(format!("a `schemaType` that is not a string: {other}")),
    };
    let references = match answer.get("references") {
        None | Some(Value::Null) => Vec::new(),
        Some(refs) => serde_json::from_value(refs.clone())
            .map_err(|e| format!("`references` that are not {{name, subject, version}}: {e}"))?,
    };
    Ok(RegisteredSchema {
        id,
        schema_type,
        schema: schema.to_owned(),
        references,
    })
}

/// A `GET /subjects/S/versions/V` or lookup answer.
fn parse_version(subject: &str, answer: &Value) -> Result<SubjectVersion, String> {
    let id = answer
        .get("id")
        .and_then(Value::as_u64)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or("a body without an `id`")?;
    let version = answer
        .get("version")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or("a body without a `version`")?;
    let subject = answer
        .get("subject")
        .and_then(Value::as_str)
        .unwrap_or(subject)
        .to_owned();
    Ok(SubjectVersion {
        subject,
        version,
        schema: parse_schema(id, answer)?,
    })
}

/// Percent-encode a path segment or query value: everything but
/// letters, digits and `-._~`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_splits_at_the_first_colon() {
        assert_eq!(
            Auth::basic_user_info("alice:se:cret").expect("valid"),
            Auth::Basic {
                user: "alice".to_owned(),
                password: "se:cret".to_owned()
            }
        );
        assert_eq!(
            Auth::basic_user_info("alice").err(),
            Some(RegistryError::Invalid(
                "the registry's basic auth must be `user:password`".to_owned()
            ))
        );
        assert_eq!(
            Auth::basic_user_info("alice:se:cret")
                .expect("valid")
                .header()
                .as_deref(),
            Some("Basic YWxpY2U6c2U6Y3JldA==")
        );
    }

    #[test]
    fn secrets_are_not_shown() {
        let shown = format!(
            "{:?} {:?}",
            Auth::Bearer("t0ken".to_owned()),
            Auth::basic_user_info("alice:hunter2").expect("valid")
        );
        assert_eq!(
            shown,
            "Bearer(\"<hidden>\") Basic { user: \"alice\", password: \"<hidden>\" }"
        );
    }

    #[test]
    fn urls_must_be_http_or_https() {
        for url in ["127.0.0.1:8081", "ftp://x", "http://", ""] {
            assert_eq!(
                RegistryClient::new(ClientConfig::new(url)).err(),
                Some(RegistryError::Invalid(format!(
                    "the schema registry URL `{url}` must start with `http://` or `https://`"
                ))),
                "{url}"
            );
        }
        let client =
            RegistryClient::new(ClientConfig::new("http://127.0.0.1:8081/")).expect("valid");
        assert_eq!(client.url(), "http://127.0.0.1:8081");
    }

    #[test]
    fn subjects_are_encoded_in_paths() {
        assert_eq!(encode("orders-value"), "orders-value");
        assert_eq!(encode("a/b c:é"), "a%2Fb%20c%3A%C3%A9");
    }
}
