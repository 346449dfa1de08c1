//! The shared WebAssembly engine: compiler settings, the epoch ticker that
//! enforces deadlines, the linker with the host's imports, and where the
//! compile cache lives.
//!
//! # Fuel metering
//!
//! Counting fuel makes the compiled code update a counter as it runs, which
//! slows every call, so it is not switched on for everyone. An [`Engine`]
//! holds two wasmtime engines: the plain one, which every plugin loaded
//! with [`Plugin::load`] runs on, and one that counts fuel, which is
//! created the first time a plugin is loaded with [`Plugin::load_metered`]
//! (a transform with a `fuel` limit) and shared by every such plugin after.
//! A process whose pipelines set no `fuel` never creates it. Both engines
//! keep deadlines on the same ticker.
//!
//! [`Plugin::load`]: super::Plugin::load
//! [`Plugin::load_metered`]: super::Plugin::load_metered

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};

use super::TransformError;
use super::bindings::{BatchPlugin, HostState};

/// How often the engine's epoch advances; deadlines are counted in these
/// ticks.
pub(super) const TICK: Duration = Duration::from_millis(10);

/// Whether a plugin's compiled code counts fuel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metering {
    /// It does not; a `fuel` limit cannot be kept.
    Off,
    /// It does, on the engine's fuel-metering variant.
    Fuel,
}

/// The WebAssembly engine every plugin of the process runs on.
///
/// It owns a thread that advances the engine's epoch every 10 ms, which is
/// how call deadlines are enforced; the thread stops when the last clone of
/// the engine is dropped. Clones are cheap and share everything. See the
/// module docs for the second, fuel-counting engine it makes when asked.
#[derive(Clone)]
pub struct Engine {
    /// The shared parts.
    inner: Arc<Inner>,
}

/// One wasmtime engine and the linker of the host's imports for it.
pub(super) struct Runtime {
    /// The wasmtime engine.
    pub engine: wasmtime::Engine,
    /// The linker with the WASI and `host` imports.
    pub linker: Linker<HostState>,
}

/// What clones of an [`Engine`] share.
struct Inner {
    /// The engine of plugins without fuel metering.
    plain: Runtime,
    /// The engine of fuel-metered plugins, once one was loaded; the ticker
    /// thread advances its epoch too.
    metered: Arc<OnceLock<Runtime>>,
    /// Held while the metered engine is being made, so that it is made once.
    making_metered: Mutex<()>,
    /// Where compiled components are cached, if anywhere.
    cache_dir: Option<PathBuf>,
    /// Dropping this stops the ticker thread.
    _ticker: mpsc::Sender<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("cache_dir", &self.inner.cache_dir)
            .field("metered", &self.inner.metered.get().is_some())
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
        let plain = Runtime::new(Metering::Off)?;
        let metered: Arc<OnceLock<Runtime>> = Arc::new(OnceLock::new());

        let (stop, stopped) = mpsc::channel::<()>();
        let ticking = plain.engine.clone();
        let ticking_metered = Arc::clone(&metered);
        std::thread::Builder::new()
            .name("sabot-wasm-epoch".to_owned())
            .spawn(move || {
                // Ends when every sender is dropped, that is with the engine.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    ticking.increment_epoch();
                    if let Some(metered) = ticking_metered.get() {
                        metered.engine.increment_epoch();
                    }
                }
            })
            .map_err(|e| TransformError::Engine {
                message: format!("cannot start the epoch thread: {e}"),
            })?;

        Ok(Engine {
            inner: Arc::new(Inner {
                plain,
                metered,
                making_metered: Mutex::new(()),
                cache_dir,
                _ticker: stop,
            }),
        })
    }

    /// The wasmtime engine of plugins without fuel metering.
    pub(super) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.plain.engine
    }

    /// The engine and linker for code with `metering`, making the
    /// fuel-metering engine on first use.
    ///
    /// # Errors
    ///
    /// When the fuel-metering engine cannot be set up.
    pub(super) fn runtime(&self, metering: Metering) -> Result<&Runtime, TransformError> {
        if metering == Metering::Off {
            return Ok(&self.inner.plain);
        }
        if let Some(metered) = self.inner.metered.get() {
            return Ok(metered);
        }
        // A poisoned lock guards nothing: the engine is made whole or not
        // at all.
        let _making = self
            .inner
            .making_metered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(metered) = self.inner.metered.get() {
            return Ok(metered);
        }
        let runtime = Runtime::new(Metering::Fuel)?;
        tracing::debug!("started the fuel-metering WebAssembly engine");
        Ok(self.inner.metered.get_or_init(move || runtime))
    }

    /// Where compiled components are cached, if anywhere.
    pub fn cache_dir(&self) -> Option<&std::path::Path> {
        self.inner.cache_dir.as_deref()
    }
}

impl Runtime {
    /// A wasmtime engine compiling code with `metering`, and its linker.
    fn new(metering: Metering) -> Result<Self, TransformError> {
        let engine_error = |e: wasmtime::Error| TransformError::Engine {
            message: format!("{e:#}"),
        };
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.consume_fuel(metering == Metering::Fuel);
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
                tracing::debug!(error = %e, ?metering, "no instance pool; instances are made on demand");
                wasmtime::Engine::new(&config).map_err(engine_error)?
            }
        };

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        BatchPlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(engine_error)?;
        Ok(Runtime { engine, linker })
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

/// The instance pool of one wasmtime engine: room for [`POOL_INSTANCES`]
/// plugin instances at once, each with memories of up to the largest `max_memory` a pipeline
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

/// Plugin instances a pool holds at once: one per transform per task.
/// Fuel-metered plugins have a pool of their own of the same size.
pub const POOL_INSTANCES: u32 = 256;
