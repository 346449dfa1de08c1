//! `sabot serve`: a long-running worker with Kafka Connect's REST API.
//!
//! The URLs, bodies and status codes are Kafka Connect's, so its clients
//! and habits work: `POST /connectors` with `{"name", "config"}`, `PUT
//! /connectors/NAME/pause`, `GET /connectors/NAME/status`, and so on; the
//! full list is served at `GET /openapi.json`. A config is either Kafka
//! Connect's flat map of strings or the structured pipeline as JSON (see
//! [`dialect`]); `POST /pipelines` takes a pipeline file's YAML as it is.
//!
//! ```text
//! sabot serve --listen 127.0.0.1:8083 --state state/ --brokers 127.0.0.1:9092
//! curl -s localhost:8083/connectors -H 'content-type: application/json' -d '{
//!   "name": "orders-file",
//!   "config": {"connector.class": "file-sink", "topics": "orders", "file": "out/orders.jsonl",
//!              "value.converter": "org.apache.kafka.connect.json.JsonConverter",
//!              "value.converter.schemas.enable": "false"}}'
//! curl -s localhost:8083/connectors/orders-file/status
//! ```
//!
//! Every error answers `{"error_code": N, "message": "..."}`. Secrets are
//! hidden in every config shown ([`redact`]). With `--auth-token-file`,
//! every request needs `Authorization: Bearer TOKEN`. Connectors and their
//! target states are kept in `--state` ([`store`]) and come back when the
//! server starts again.
//!
//! The [`router`] is built by a function from an [`AppState`], so tests run
//! it in-process without a socket.

pub mod dialect;
mod error;
mod handlers;
mod metrics;
mod offsets;
mod plugins;
pub mod redact;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;

pub use error::ApiError;
pub use handlers::router;

use crate::config::LoadedPipeline;
use crate::plan::PlanOptions;
use crate::transform::Engine;
use crate::worker::{TargetState, Worker};
use dialect::Defaults;
use store::{Store, StoredConnector};

/// How often the positions of generated sources are written to the
/// state folder while they run.
const POSITION_INTERVAL: Duration = Duration::from_secs(5);

/// Request bodies larger than this are refused with 413: 1 MiB, far more
/// than any connector config.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Arguments of `sabot serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8083")]
    pub listen: SocketAddr,
    /// A folder of pipeline files (`*.yaml`), each loaded at start as a
    /// connector named by its `name`.
    #[arg(long)]
    pub pipelines: Option<PathBuf>,
    /// A folder where connectors and their target states are kept, so
    /// they come back after a restart. Without it, they live in memory.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// A file holding a bearer token every request must carry
    /// (`Authorization: Bearer TOKEN`).
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// Bootstrap servers for Kafka Connect-style configs that do not set
    /// `sabot.brokers`.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
    /// Seconds to wait for brokers to answer while planning a connector.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
    /// Also serve the embedded schema registry (Confluent's REST API) on
    /// this address; the flag alone means `127.0.0.1:8081`. Off by
    /// default. With `--auth-token-file` it needs the same bearer token.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:8081")]
    pub registry_listen: Option<SocketAddr>,
    /// A folder where the embedded registry keeps its schemas, so they
    /// come back after a restart. Without it, they live in memory.
    #[arg(long, value_name = "DIR", requires = "registry_listen")]
    pub registry_state: Option<PathBuf>,
}

/// How the API is set up, besides its worker.
#[derive(Debug, Clone, Default)]
pub struct ApiOptions {
    /// What flat configs leave out.
    pub defaults: Defaults,
    /// The folder relative paths in submitted configs are resolved
    /// against; default the working directory.
    pub base_dir: PathBuf,
    /// Where connectors are kept, if anywhere.
    pub state_dir: Option<PathBuf>,
    /// The bearer token requests must carry, if any.
    pub auth_token: Option<String>,
}

/// A connector's config as the user submitted it.
#[derive(Debug, Clone)]
pub(crate) struct Submitted {
    /// The flat map or the structured pipeline, as sent.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Where its relative paths are resolved.
    pub base_dir: PathBuf,
}

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Shared>,
}

/// The parts of [`AppState`].
pub(crate) struct Shared {
    /// The connectors and their tasks.
    pub worker: Worker,
    /// For listing and describing plugins.
    pub engine: Engine,
    /// Setup.
    pub options: ApiOptions,
    /// Where connectors are kept.
    pub store: Option<Store>,
    /// Each connector's config as submitted.
    pub configs: Mutex<BTreeMap<String, Submitted>>,
    /// Held by every request that changes connectors, from before its
    /// work starts until it is done (also when the client hangs up
    /// meanwhile), so that the worker and the stored configs change
    /// together and one change at a time.
    pub writes: Arc<tokio::sync::Mutex<()>>,
    /// Plugins described so far, by file and modification time.
    pub plugins: plugins::PluginCache,
}

impl AppState {
    /// The state of an API in front of `worker`.
    ///
    /// # Errors
    ///
    /// The WebAssembly engine cannot start, or the state folder cannot be
    /// created.
    pub fn new(worker: Worker, mut options: ApiOptions) -> Result<AppState, String> {
        let engine =
            Engine::new().map_err(|e| format!("cannot start the WebAssembly engine: {e}"))?;
        let store = options.state_dir.as_deref().map(Store::open).transpose()?;
        if options.base_dir.as_os_str().is_empty() {
            options.base_dir = PathBuf::from(".");
        }
        Ok(AppState {
            inner: Arc::new(Shared {
                worker,
                engine,
                options,
                store,
                configs: Mutex::new(BTreeMap::new()),
                writes: Arc::new(tokio::sync::Mutex::new(())),
                plugins: plugins::PluginCache::default(),
            }),
        })
    }

    /// The worker behind the API.
    pub fn worker(&self) -> &Worker {
        &self.inner.worker
    }

    /// Create the connectors kept in the state folder, each in its stored
    /// target state. A connector that no longer plans is logged and left
    /// in the folder, so fixing its cause and restarting brings it back.
    pub fn restore(&self) {
        let Some(store) = &self.inner.store else {
            return;
        };
        for stored in store.load_all() {
            let stored = match stored {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "a stored connector cannot be read; it is skipped");
                    continue;
                }
            };
            let target = parse_target(&stored.target).unwrap_or(TargetState::Running);
            let submitted = Submitted {
                config: stored.config,
                base_dir: stored.base_dir,
            };
            let position = stored.position.unwrap_or(0);
            match handlers::create_blocking_at(self, &stored.name, submitted, target, position) {
                Ok(()) => {
                    tracing::info!(connector = %stored.name, target = %stored.target, "connector restored")
                }
                Err(e) => {
                    tracing::error!(connector = %stored.name, error = %e.message, "a stored connector does not start; fix its cause and restart")
                }
            }
        }
    }

    /// Create (or replace) a connector from every `*.yaml` file in `dir`,
    /// named by its `name`. A connector of that name already restored
    /// from the state folder takes the file's config and keeps its target
    /// state.
    ///
    /// # Errors
    ///
    /// The folder cannot be read, or a file does not load or plan; every
    /// failing file is listed.
    pub fn load_pipelines(&self, dir: &Path) -> Result<(), Vec<String>> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![format!(
                "cannot read the pipelines folder `{}`: {e}",
                dir.display()
            )]
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let mut errors = Vec::new();
        for file in files {
            if let Err(e) = self.load_pipeline_file(&file) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn load_pipeline_file(&self, file: &Path) -> Result<(), String> {
        let loaded: LoadedPipeline = crate::config::load_file(file).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read `{}`: {e}", file.display()))?;
        let config: serde_json::Map<String, serde_json::Value> = serde_yaml::from_str(&text)
            .map_err(|e| format!("`{}` cannot be shown as JSON: {e}", file.display()))?;
        let name = loaded.config.name.clone();
        let submitted = Submitted {
            config,
            base_dir: loaded.base_dir.clone(),
        };
        let result = match self.inner.worker.target(&name).ok() {
            Some(_) => handlers::update_blocking(self, &name, submitted).map(|_| ()),
            None => handlers::create_blocking(self, &name, submitted, TargetState::Running),
        };
        result.map_err(|e| format!("`{}`: {}", file.display(), e.message))
    }

    /// Lock the submitted configs.
    pub(crate) fn configs(&self) -> MutexGuard<'_, BTreeMap<String, Submitted>> {
        self.inner.configs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keep connector `name` in the state folder (if there is one).
    pub(crate) fn persist(&self, name: &str) {
        let Some(store) = &self.inner.store else {
            return;
        };
        let Some(submitted) = self.configs().get(name).cloned() else {
            return;
        };
        let Ok(target) = self.inner.worker.target(name) else {
            return;
        };
        let stored = StoredConnector {
            name: name.to_owned(),
            config: submitted.config,
            target: target_name(target).to_owned(),
            base_dir: submitted.base_dir,
            position: self.inner.worker.position(name),
        };
        if let Err(e) = store.save(&stored) {
            tracing::error!(connector = name, error = %e, "cannot keep the connector in the state folder; it will be lost on restart");
        }
    }

    /// Forget connector `name` in the state folder.
    pub(crate) fn unpersist(&self, name: &str) {
        if let Some(store) = &self.inner.store
            && let Err(e) = store.remove(name)
        {
            tracing::error!(connector = name, error = %e, "cannot remove the connector from the state folder");
        }
    }
}

/// `RUNNING`, `PAUSED`, `STOPPED`.
pub(crate) fn target_name(target: TargetState) -> &'static str {
    match target {
        TargetState::Running => "RUNNING",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

/// The target state named `text` (any case).
pub(crate) fn parse_target(text: &str) -> Option<TargetState> {
    match text.to_ascii_uppercase().as_str() {
        "RUNNING" => Some(TargetState::Running),
        "PAUSED" => Some(TargetState::Paused),
        "STOPPED" => Some(TargetState::Stopped),
        _ => None,
    }
}

/// Run `sabot serve` until SIGINT or SIGTERM, then stop every task (each
/// commits what it wrote) and exit 0.
pub fn serve_main(args: ServeArgs) -> ExitCode {
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let auth_token = match &args.auth_token_file {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the token file `{}`: {e}", file.display()))?;
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(format!(
                    "the token file `{}` is empty; write the token in it",
                    file.display()
                ));
            }
            Some(token)
        }
    };
    // Bound before anything starts, so a taken port fails the start
    // cleanly; it serves once the runtime runs.
    let registry = match args.registry_listen {
        None => None,
        Some(listen) => {
            let options = crate::schema::registry::RegistryOptions {
                state_dir: args.registry_state.clone(),
                auth: auth_token
                    .clone()
                    .map(crate::schema::registry::Auth::Bearer)
                    .unwrap_or_default(),
            };
            Some(
                crate::schema::registry::server::serve_registry_with(listen, options)
                    .map_err(|e| e.to_string())?,
            )
        }
    };
    let options = PlanOptions {
        check_brokers: true,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        embedded: None,
        // Connectors may name the registry this server serves `embedded`.
        embedded_registry: registry
            .as_ref()
            .map(|r| format!("http://{}", r.local_addr())),
    };
    let worker = Worker::new(options)
        .map_err(|e| format!("cannot start the worker: {e}"))?
        .with_id(args.listen.to_string());
    let state = AppState::new(
        worker.clone(),
        ApiOptions {
            defaults: Defaults {
                brokers: args.brokers.clone(),
            },
            // Absolute, so stored connectors mean the same files when the
            // server is started from another folder.
            base_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            state_dir: args.state.clone(),
            auth_token,
        },
    )?;
    state.restore();
    if let Some(dir) = &args.pipelines
        && let Err(errors) = state.load_pipelines(dir)
    {
        worker.shutdown();
        return Err(errors.join("\n"));
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let app: Router = router(state.clone());
    if let Some(registry) = registry {
        eprintln!(
            "sabot serve: schema registry on http://{}",
            registry.local_addr()
        );
        runtime.spawn(async move {
            if let Err(e) = registry.run().await {
                tracing::error!(error = %e, "the schema registry stopped");
            }
        });
    }
    // Generated sources move on their own; keep their positions now and
    // then, so a crash repeats at most a few seconds of records.
    let keeper = state.clone();
    runtime.spawn(async move {
        let mut kept: BTreeMap<String, u64> = BTreeMap::new();
        let mut tick = tokio::time::interval(POSITION_INTERVAL);
        loop {
            tick.tick().await;
            let _writes = keeper.inner.writes.lock().await;
            for name in keeper.inner.worker.names() {
                if let Some(p) = keeper.inner.worker.position(&name)
                    && kept.get(&name) != Some(&p)
                {
                    keeper.persist(&name);
                    kept.insert(name, p);
                }
            }
        }
    });
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on `{}`: {e}", args.listen))?;
        tracing::info!(address = %args.listen, "listening");
        eprintln!("sabot serve: listening on http://{}", args.listen);
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("the server failed: {e}"))
    });
    // Each task now finishes its batch and commits; a second signal, for
    // one held up (a sink that cannot deliver), exits at once.
    let exit_now = Arc::new(std::sync::atomic::AtomicBool::new(true));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 1, exit_now.clone());
    }
    tracing::info!("stopping every task");
    eprintln!("sabot serve: stopping every task (a second Ctrl-C or SIGTERM exits at once)");
    worker.shutdown();
    // The tasks are done: keep where generated sources ended.
    for name in worker.names() {
        if worker.position(&name).is_some() {
            state.persist(&name);
        }
    }
    result
}

/// Resolve on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
