//! The shared WebAssembly engine: compiler settings, the epoch ticker that
//! enforces deadlines, the linker with the host's imports, and where the
//! compile cache lives.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use super::TransformError;
use super::bindings::{BatchPlugin, HostState};

/// How often the engine's epoch advances; deadlines are counted in these
/// ticks.
pub(super) const TICK: Duration = Duration::from_millis(10);

/// The WebAssembly engine every plugin of the process runs on.
///
/// It owns a thread that advances the engine's epoch every 10 ms, which is
/// how call deadlines are enforced; the thread stops when the last clone of
/// the engine is dropped. Clones are cheap and share everything.
#[derive(Clone)]
pub struct Engine {
    /// The shared parts.
    inner: Arc<Inner>,
}

/// What clones of an [`Engine`] share.
struct Inner {
    /// The wasmtime engine.
    engine: wasmtime::Engine,
    /// The linker with the WASI and `host` imports.
    linker: Linker<HostState>,
    /// Where compiled components are cached, if anywhere.
    cache_dir: Option<PathBuf>,
    /// Dropping this stops the ticker thread.
    _ticker: mpsc::Sender<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("cache_dir", &self.inner.cache_dir)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with the compile cache in its default place:
    /// `$SABOT_CACHE_DIR/components`, else `$XDG_CACHE_HOME/sabot/components`,
    /// else `~/.cache/sabot/components`; no cache when none of these can be
    /// told.
    ///
    /// # Errors
    ///
    /// When wasmtime cannot be set up on this machine or the ticker thread
    /// cannot be started.
    pub fn new() -> Result<Self, TransformError> {
        Self::with_cache_dir(default_cache_dir())
    }

    /// An engine that caches compiled components in `cache_dir`, or nowhere.
    ///
    /// # Errors
    ///
    /// See [`Engine::new`].
    pub fn with_cache_dir(cache_dir: Option<PathBuf>) -> Result<Self, TransformError> {
        let engine_error = |e: wasmtime::Error| TransformError::Engine {
            message: format!("{e:#}"),
        };
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        // Instances come from a pool of pre-reserved slots, so making a
        // fresh one (a task starting, or one replacing a crashed instance)
        // does not map new memory. Where the pool cannot be set up (a
        // small address space), instances are made on demand instead.
        let mut pooled = config.clone();
        pooled.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool()));
        let engine = match wasmtime::Engine::new(&pooled) {
            Ok(engine) => engine,
            Err(e) => {
                tracing::debug!(error = %e, "no instance pool; instances are made on demand");
                wasmtime::Engine::new(&config).map_err(engine_error)?
            }
        };

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        BatchPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(engine_error)?;

        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("sabot-wasm-epoch".to_owned())
            .spawn(move || {
                // Ends when every sender is dropped, that is with the engine.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| TransformError::Engine {
                message: format!("cannot start the epoch thread: {e}"),
            })?;

        Ok(Engine {
            inner: Arc::new(Inner {
                engine,
                linker,
                cache_dir,
                _ticker: stop,
            }),
        })
    }

    /// The wasmtime engine.
    pub(super) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    /// The linker with the host's imports.
    pub(super) fn linker(&self) -> &Linker<HostState> {
        &self.inner.linker
    }

    /// Where compiled components are cached, if anywhere.
    pub fn cache_dir(&self) -> Option<&std::path::Path> {
        self.inner.cache_dir.as_deref()
    }
}

/// The default cache folder; see [`Engine::new`].
fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let root = non_empty("SABOT_CACHE_DIR")
        .or_else(|| non_empty("XDG_CACHE_HOME").map(|d| d.join("sabot")))
        .or_else(|| non_empty("HOME").map(|d| d.join(".cache").join("sabot")))?;
    Some(root.join("components"))
}

/// The instance pool: room for [`POOL_INSTANCES`] plugin instances at
/// once, each with memories of up to the largest `max_memory` a pipeline
/// may ask for (4 GiB). Only address space is reserved up front.
fn pool() -> wasmtime::PoolingAllocationConfig {
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_INSTANCES)
        .total_core_instances(POOL_INSTANCES * 8)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 8)
        .total_stacks(POOL_INSTANCES)
        .max_core_instances_per_component(64)
        .max_memories_per_component(8)
        .max_tables_per_component(64)
        .max_memories_per_module(2)
        .max_tables_per_module(8)
        .table_elements(200_000)
        .max_core_instance_size(16 << 20)
        .max_component_instance_size(16 << 20)
        .max_memory_size(4 << 30);
    pool
}

/// Plugin instances the pool holds at once: one per transform per task.
pub const POOL_INSTANCES: u32 = 256;
