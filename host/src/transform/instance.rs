//! Running a plugin: stores, limits, and the calls into an instance.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::RecordBatch;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::ResourceTable;

use super::bindings::record::{RecordPlugin, RecordPluginPre};
use super::bindings::{BatchPlugin, BatchPluginPre, HostState, wit};
use super::capabilities::{Grants, wasi_ctx};
use super::engine::{Metering, TICK};
use super::{Limits, Plugin, Rejection, TransformError, TransformOutput, ipc, records};

/// A component linked and type-checked against one of the worlds.
pub(crate) enum Pre {
    /// An Arrow batch plugin.
    Batch(BatchPluginPre<HostState>),
    /// A record plugin.
    Record(RecordPluginPre<HostState>),
}

/// The exports of a live instance, by world.
enum Bindings {
    /// An Arrow batch plugin.
    Batch(BatchPlugin),
    /// A record plugin.
    Record(RecordPlugin),
}

impl Pre {
    /// The engine the component was compiled for.
    fn engine(&self) -> &wasmtime::Engine {
        match self {
            Pre::Batch(pre) => pre.engine(),
            Pre::Record(pre) => pre.engine(),
        }
    }

    /// A new instance in `store`.
    fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<Bindings> {
        Ok(match self {
            Pre::Batch(pre) => Bindings::Batch(pre.instantiate(store)?),
            Pre::Record(pre) => Bindings::Record(pre.instantiate(store)?),
        })
    }
}

impl Bindings {
    /// Call the plugin's `describe`.
    fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<wit::PluginInfo> {
        match self {
            Bindings::Batch(b) => b.sabot_plugin_batch_transform().call_describe(store),
            Bindings::Record(b) => b.sabot_plugin_record_transform().call_describe(store),
        }
    }

    /// Call the plugin's `init`.
    fn init(
        &self,
        store: &mut Store<HostState>,
        config: &str,
    ) -> wasmtime::Result<Result<(), String>> {
        match self {
            Bindings::Batch(b) => b.sabot_plugin_batch_transform().call_init(store, config),
            Bindings::Record(b) => b.sabot_plugin_record_transform().call_init(store, config),
        }
    }
}

/// The most elements a plugin's tables may hold; Rust guests need a few
/// hundred.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Caps the total linear memory of one store, and remembers whether it
/// refused a request, so that the trap that usually follows can be told
/// apart from other traps.
#[derive(Debug)]
pub struct MemoryLimiter {
    /// The cap in bytes.
    limit: usize,
    /// Bytes granted so far, across all memories.
    used: usize,
    /// Whether a request was refused.
    denied: bool,
}

impl MemoryLimiter {
    /// A limiter with nothing granted yet.
    fn new(limit: usize) -> Self {
        MemoryLimiter {
            limit,
            used: 0,
            denied: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current);
        match self.used.checked_add(growth) {
            Some(total) if total <= self.limit => {
                self.used = total;
                Ok(true)
            }
            // `memory.grow` returns -1; a Rust guest aborts on that.
            _ => {
                self.denied = true;
                Ok(false)
            }
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// A new store for one instance, with WASI as `grants` say and the limits
/// set.
fn new_store(
    plugin: &Plugin,
    name: &Arc<str>,
    pipeline: &Arc<str>,
    limits: Limits,
    grants: &Grants,
) -> Result<Store<HostState>, TransformError> {
    let state = HostState {
        wasi: wasi_ctx(name, grants)?,
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.max_memory),
        plugin: Arc::clone(name),
        pipeline: Arc::clone(pipeline),
    };
    new_store_with(
        plugin.inner.pre.engine(),
        state,
        limits,
        plugin.inner.metering,
    )
}

/// A new store holding `state`; see [`new_store`].
fn new_store_with(
    engine: &wasmtime::Engine,
    state: HostState,
    limits: Limits,
    metering: Metering,
) -> Result<Store<HostState>, TransformError> {
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    arm(&mut store, limits, metering)?;
    Ok(store)
}

/// Let the next call run for at most `limits.timeout` and, in a metered
/// store, spend at most `limits.fuel` (without a budget, as much as a
/// `u64` holds, which no call reaches).
///
/// # Errors
///
/// When wasmtime refuses the fuel, which it does only for a store without
/// metering.
fn arm(
    store: &mut Store<HostState>,
    limits: Limits,
    metering: Metering,
) -> Result<(), TransformError> {
    let tick = TICK.as_nanos().max(1);
    // One tick more than the timeout divides into, because the first tick
    // may come at once.
    let ticks = limits.timeout.as_nanos().div_ceil(tick).saturating_add(1);
    store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
    if metering == Metering::Fuel {
        store
            .set_fuel(limits.fuel.unwrap_or(u64::MAX))
            .map_err(|e| TransformError::Trap {
                plugin: store.data().plugin.to_string(),
                message: format!("cannot give the instance its fuel: {e:#}"),
            })?;
    }
    Ok(())
}

/// Turn a failed call into the error that says why.
fn classify(
    store: &Store<HostState>,
    plugin: &str,
    limits: Limits,
    error: wasmtime::Error,
) -> TransformError {
    // Before the memory check: a plugin that was refused memory, coped,
    // and then spun is out of fuel, not memory.
    if error.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel) {
        return TransformError::OutOfFuel {
            plugin: plugin.to_owned(),
            fuel: limits.fuel.unwrap_or(u64::MAX),
        };
    }
    if store.data().limiter.denied || error.downcast_ref::<wasmtime::OutOfMemory>().is_some() {
        return TransformError::OutOfMemory {
            plugin: plugin.to_owned(),
            limit: limits.max_memory,
        };
    }
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return TransformError::Timeout {
            plugin: plugin.to_owned(),
            timeout: limits.timeout,
        };
    }
    TransformError::Trap {
        plugin: plugin.to_owned(),
        message: format!("{error:?}"),
    }
}

/// Instantiate `pre` once and ask it to describe itself.
pub(super) fn describe(
    pre: &Pre,
    name: &str,
    limits: Limits,
    metering: Metering,
) -> Result<wit::PluginInfo, TransformError> {
    let state = HostState {
        wasi: wasi_ctx(name, &Grants::default())?,
        table: ResourceTable::new(),
        limiter: MemoryLimiter::new(limits.max_memory),
        plugin: Arc::from(name),
        pipeline: Arc::from(""),
    };
    let mut store = new_store_with(pre.engine(), state, limits, metering)?;
    let bindings = pre
        .instantiate(&mut store)
        .map_err(|e| classify(&store, name, limits, e))?;
    arm(&mut store, limits, metering)?;
    bindings
        .describe(&mut store)
        .map_err(|e| classify(&store, name, limits, e))
}

/// A live instance and its store.
struct Live {
    /// The store the instance lives in.
    store: Store<HostState>,
    /// The instance's exports.
    bindings: Bindings,
}

/// One instance of a plugin with its config, for one task.
///
/// Calls are synchronous and run on the calling thread; run them where
/// blocking for up to the timeout is fine.
pub struct Transform {
    /// The plugin.
    plugin: Plugin,
    /// Its config as JSON text, kept to initialise fresh instances.
    config: String,
    /// The limits of every call.
    limits: Limits,
    /// What the plugin may see of the world.
    grants: Grants,
    /// The plugin's name, for messages and logs.
    name: Arc<str>,
    /// The pipeline's name, for logs.
    pipeline: Arc<str>,
    /// The instance, unless the last one died.
    live: Option<Live>,
}

impl std::fmt::Debug for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transform")
            .field("plugin", &self.name)
            .field("pipeline", &self.pipeline)
            .field("limits", &self.limits)
            .field("grants", &self.grants)
            .field("live", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

impl Transform {
    /// Instantiate `plugin` and initialise it with `config` (the pipeline's
    /// `config:` map; `null` is passed on as `null`). `pipeline` names the
    /// pipeline in the plugin's log lines.
    ///
    /// # Errors
    ///
    /// [`TransformError::InitRejected`] when the plugin refuses the config,
    /// a trap, timeout, out-of-memory or out-of-fuel during instantiation or
    /// `init`, and [`TransformError::Unmetered`] when `limits` has a fuel
    /// budget but the plugin was not loaded with
    /// [`Plugin::load_metered`].
    pub fn new(
        plugin: &Plugin,
        config: &serde_json::Value,
        limits: Limits,
        pipeline: &str,
    ) -> Result<Self, TransformError> {
        Self::with_grants(plugin, config, limits, Grants::default(), pipeline)
    }

    /// Like [`Transform::new`], with the capabilities in `grants` (see
    /// [`Grants`]); `new` grants nothing.
    ///
    /// # Errors
    ///
    /// Those of [`Transform::new`], and [`TransformError::Grant`] when a
    /// granted folder cannot be opened.
    pub fn with_grants(
        plugin: &Plugin,
        config: &serde_json::Value,
        limits: Limits,
        grants: Grants,
        pipeline: &str,
    ) -> Result<Self, TransformError> {
        if let Some(fuel) = limits.fuel
            && !plugin.is_metered()
        {
            return Err(TransformError::Unmetered {
                plugin: plugin.info().name.clone(),
                fuel,
            });
        }
        let mut transform = Transform {
            plugin: plugin.clone(),
            config: config.to_string(),
            limits,
            grants,
            name: Arc::from(plugin.info().name.as_str()),
            pipeline: Arc::from(pipeline),
            live: None,
        };
        transform.live()?;
        Ok(transform)
    }

    /// The plugin this transform runs.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The live instance, starting and initialising a fresh one if needed.
    fn live(&mut self) -> Result<&mut Live, TransformError> {
        if self.live.is_none() {
            let mut store = new_store(
                &self.plugin,
                &self.name,
                &self.pipeline,
                self.limits,
                &self.grants,
            )?;
            let bindings = self
                .plugin
                .inner
                .pre
                .instantiate(&mut store)
                .map_err(|e| classify(&store, &self.name, self.limits, e))?;
            arm(&mut store, self.limits, self.plugin.inner.metering)?;
            let init = bindings
                .init(&mut store, &self.config)
                .map_err(|e| classify(&store, &self.name, self.limits, e))?;
            if let Err(message) = init {
                return Err(TransformError::InitRejected {
                    plugin: self.name.to_string(),
                    message,
                });
            }
            tracing::debug!(plugin = %self.name, pipeline = %self.pipeline, "started plugin instance");
            self.live = Some(Live { store, bindings });
        }
        self.live.as_mut().ok_or_else(|| TransformError::Trap {
            plugin: self.name.to_string(),
            message: "the instance was lost".to_owned(),
        })
    }

    /// Run the plugin on one batch.
    ///
    /// # Errors
    ///
    /// [`TransformError::Failed`] when the plugin fails the batch,
    /// [`TransformError::BadOutput`] when what it returns breaks the
    /// contract, and a trap, timeout, out-of-memory or out-of-fuel when it
    /// crashes; after a crash the next call runs on a fresh instance.
    /// Starting that instance can fail like [`Transform::new`].
    pub fn apply(&mut self, batch: &RecordBatch) -> Result<TransformOutput, TransformError> {
        match self.plugin.world() {
            super::World::Batch => self.apply_batch(batch),
            super::World::Record => self.apply_records(batch),
        }
    }

    /// [`Transform::apply`] for a batch plugin.
    fn apply_batch(&mut self, batch: &RecordBatch) -> Result<TransformOutput, TransformError> {
        let name = Arc::clone(&self.name);
        let input = ipc::encode(batch).map_err(|message| TransformError::Encode {
            plugin: name.to_string(),
            message,
        })?;
        let result = self.call(|bindings, store| match bindings {
            Bindings::Batch(b) => Some(
                b.sabot_plugin_batch_transform()
                    .call_transform(store, &input),
            ),
            Bindings::Record(_) => None,
        })?;
        check_output(result, batch).map_err(|message| TransformError::BadOutput {
            plugin: name.to_string(),
            message,
        })
    }

    /// [`Transform::apply`] for a record plugin: see [`records`].
    fn apply_records(&mut self, batch: &RecordBatch) -> Result<TransformOutput, TransformError> {
        let name = Arc::clone(&self.name);
        let (input, mut decoder) =
            records::to_records(batch).map_err(|message| TransformError::Encode {
                plugin: name.to_string(),
                message,
            })?;
        let result = self.call(|bindings, store| match bindings {
            Bindings::Record(b) => Some(
                b.sabot_plugin_record_transform()
                    .call_transform(store, &input),
            ),
            Bindings::Batch(_) => None,
        })?;
        records::from_records(result, batch, &input, &mut decoder).map_err(|message| {
            TransformError::BadOutput {
                plugin: name.to_string(),
                message,
            }
        })
    }

    /// Hand a record plugin `records` as they are and return its answer
    /// unchecked, for testing what a plugin does with records the host
    /// would not build.
    #[cfg(test)]
    pub(super) fn call_records(
        &mut self,
        records: Vec<super::bindings::record::Record>,
    ) -> Result<super::bindings::record::RecordResult, TransformError> {
        self.call(|bindings, store| match bindings {
            Bindings::Record(b) => Some(
                b.sabot_plugin_record_transform()
                    .call_transform(store, &records),
            ),
            Bindings::Batch(_) => None,
        })
    }

    /// Make one `transform` call on the live instance, under the deadline
    /// and the fuel budget; a crash throws the instance away. `call` answers `None` when the
    /// instance is of the other world, which cannot happen since a plugin
    /// has one world.
    fn call<T>(
        &mut self,
        call: impl FnOnce(
            &Bindings,
            &mut Store<HostState>,
        ) -> Option<wasmtime::Result<Result<T, String>>>,
    ) -> Result<T, TransformError> {
        let name = Arc::clone(&self.name);
        let limits = self.limits;
        let metering = self.plugin.inner.metering;
        let live = self.live()?;
        arm(&mut live.store, limits, metering)?;
        let Some(called) = call(&live.bindings, &mut live.store) else {
            return Err(TransformError::Trap {
                plugin: name.to_string(),
                message: "the instance is not of the plugin's world".to_owned(),
            });
        };
        let result = match called {
            Ok(result) => result,
            Err(error) => {
                let error = classify(&live.store, &name, limits, error);
                tracing::warn!(plugin = %name, pipeline = %self.pipeline, %error, "plugin instance crashed; the next batch starts a fresh one");
                self.live = None;
                return Err(error);
            }
        };
        result.map_err(|message| TransformError::Failed {
            plugin: name.to_string(),
            message,
        })
    }
}

/// Decode and check what a plugin returned for `input`.
fn check_output(
    result: super::bindings::BatchResult,
    input: &RecordBatch,
) -> Result<TransformOutput, String> {
    let rows = input.num_rows();
    let batch = ipc::decode_output(result.batch, &input.schema())?;
    if batch.num_rows() > rows {
        return Err(format!(
            "it returned {} rows for a batch of {rows}; a plugin may only keep or drop rows",
            batch.num_rows()
        ));
    }
    check_rejections(&result.rejected, rows)?;
    if batch.num_rows() + result.rejected.len() > rows {
        return Err(format!(
            "it kept {} rows and rejected {} of a batch of {rows}; a rejected row must not also be kept",
            batch.num_rows(),
            result.rejected.len()
        ));
    }
    Ok(TransformOutput {
        batch,
        rejected: into_rejections(result.rejected),
    })
}

/// Check that rejections name rows of a batch of `rows` rows, each once.
pub(super) fn check_rejections(rejected: &[wit::Rejection], rows: usize) -> Result<(), String> {
    let mut seen = HashSet::with_capacity(rejected.len());
    for rejection in rejected {
        let in_range = usize::try_from(rejection.row).is_ok_and(|row| row < rows);
        if !in_range {
            return Err(format!(
                "it rejected row {} of a batch of {rows} rows",
                rejection.row
            ));
        }
        if !seen.insert(rejection.row) {
            return Err(format!("it rejected row {} twice", rejection.row));
        }
    }
    Ok(())
}

/// The host's form of checked rejections.
pub(super) fn into_rejections(rejected: Vec<wit::Rejection>) -> Vec<Rejection> {
    rejected
        .into_iter()
        .map(|r| Rejection {
            row: r.row,
            reason: r.reason,
        })
        .collect()
}
