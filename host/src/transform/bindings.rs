//! Rust bindings of the WIT package, and the host side of its `host`
//! interface.

use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

use super::instance::MemoryLimiter;

wasmtime::component::bindgen!({
    world: "batch-plugin",
    path: "../wit",
});

/// The bindings of the `record-plugin` world. Its imports are the batch
/// world's, so it shares their generated types and the linker defines them
/// once.
pub mod record {
    wasmtime::component::bindgen!({
        world: "record-plugin",
        path: "../wit",
        with: {
            "sabot:plugin/host": super::sabot::plugin::host,
            "sabot:plugin/types": super::sabot::plugin::types,
        },
    });

    pub use self::exports::sabot::plugin::record_transform::{Header, Record, RecordResult};
}

pub use self::exports::sabot::plugin::batch_transform::BatchResult;
pub use self::sabot::plugin::host::Level;
pub use self::sabot::plugin::types as wit;

/// The longest log line a plugin may write; longer ones are cut, so that a
/// plugin cannot flood the log with one call.
const MAX_LOG_LINE: usize = 4096;

/// What a store of a plugin instance holds.
pub struct HostState {
    /// The WASI context: empty, see the module docs.
    pub wasi: WasiCtx,
    /// The resources WASI hands out.
    pub table: ResourceTable,
    /// The memory cap.
    pub limiter: MemoryLimiter,
    /// The plugin's name, for logs.
    pub plugin: std::sync::Arc<str>,
    /// The pipeline's name, for logs.
    pub pipeline: std::sync::Arc<str>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl self::sabot::plugin::host::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let mut message = message;
        if message.len() > MAX_LOG_LINE {
            let mut end = MAX_LOG_LINE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str(" [cut]");
        }
        let plugin = &*self.plugin;
        let pipeline = &*self.pipeline;
        match level {
            Level::Trace => tracing::trace!(target: "sabot::plugin", plugin, pipeline, "{message}"),
            Level::Debug => tracing::debug!(target: "sabot::plugin", plugin, pipeline, "{message}"),
            Level::Info => tracing::info!(target: "sabot::plugin", plugin, pipeline, "{message}"),
            Level::Warn => tracing::warn!(target: "sabot::plugin", plugin, pipeline, "{message}"),
            Level::Error => tracing::error!(target: "sabot::plugin", plugin, pipeline, "{message}"),
        }
    }
}

impl self::sabot::plugin::types::Host for HostState {}
