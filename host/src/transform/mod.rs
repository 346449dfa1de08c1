//! The WebAssembly transform host.
//!
//! A transform plugin is a WebAssembly component that exports
//! `sabot:plugin/batch-transform@0.1.0` or
//! `sabot:plugin/record-transform@0.1.0` (see `wit/plugin.wit`). This module
//! compiles plugins, runs one instance of a plugin per pipeline task, and
//! hands it one batch per call.
//!
//! # The two worlds
//!
//! [`Plugin::load`] tells the worlds apart by the component's exports
//! ([`World`]). A batch plugin gets the Arrow batch itself, as an IPC
//! stream. A record plugin gets one `record` per row: key, headers, topic,
//! partition, offset and timestamp from the metadata columns, and as value
//! the row's value columns as one JSON object. The records it returns are
//! decoded back with the input's value schema; a returned value that does
//! not decode is a [`TransformError::BadOutput`] naming the record's index
//! in the returned list. Each returned record must keep the topic, partition
//! and offset of a record it was given (see below). The details are in the
//! `records` module's docs.
//!
//! # The pieces
//!
//! - [`Engine`]: the compiler and runtime, shared by every plugin of the
//!   process. It keeps a compile cache on disk, because compiling a 3 MB
//!   plugin takes about a second while loading a cached one takes
//!   milliseconds.
//! - [`Plugin`]: one compiled component and what it says about itself
//!   ([`PluginInfo`]). Cheap to clone and shared between tasks.
//! - [`Transform`]: one running instance of a plugin with its config. It is
//!   reused for every batch of a task, so a plugin may keep state between
//!   batches.
//!
//! ```no_run
//! # fn main() -> Result<(), sabot::transform::TransformError> {
//! use sabot::transform::{Engine, Limits, Plugin, Transform};
//! # let batch = arrow_array::RecordBatch::new_empty(std::sync::Arc::new(arrow_schema::Schema::empty()));
//! let engine = Engine::new()?;
//! let plugin = Plugin::load(&engine, "plugins/dist/filter.wasm".as_ref())?;
//! let config = serde_json::json!({"field": "amount", "op": ">", "value": 100});
//! let mut filter = Transform::new(&plugin, &config, Limits::default(), "orders-clean")?;
//! let output = filter.apply(&batch)?;
//! # Ok(()) }
//! ```
//!
//! # Isolation and limits
//!
//! A plugin sees nothing of the host it is not given. Its WASI imports are
//! linked to an empty context: no files, environment variables, arguments,
//! sockets or standard streams. Unless [`Grants`] (passed with
//! [`Transform::with_grants`]; [`Transform::new`] grants nothing) say
//! otherwise, its wall clock reads 1970-01-01T00:00:00Z and its random
//! numbers, secure and insecure alike, are one fixed sequence, the same in
//! every instance, so a plugin's output depends on its input and config
//! only. Rust's standard library and Python still start, since they only
//! need some random bytes to seed hash maps; do not rely on them for
//! secrets without `random` granted. The monotonic clock is the host's. A
//! granted `read_dir` is mounted read-only at [`GUEST_DIR`]. The one import
//! of its own is `host.log`, which writes to this process's log (target
//! `sabot::plugin`) with the fields `plugin` and `pipeline`.
//!
//! Every call into a plugin runs under [`Limits`]: a deadline enforced by
//! epoch interruption (the engine's clock ticks every 10 ms, so a deadline
//! is kept to within one tick), a cap on the total size of its linear
//! memories, and, for a plugin loaded with [`Plugin::load_metered`], an
//! optional fuel budget: about one unit per WebAssembly instruction run, the
//! same count on every machine. A trap, a missed deadline, a denied
//! allocation or spent fuel fails that one call with a [`TransformError`];
//! the instance is thrown away and the next call starts a fresh one, running
//! the plugin's `init` again with the same config. State a plugin kept is
//! lost then.
//!
//! Counting fuel costs metered code speed whether or not a budget is set,
//! so plugins are metered only when loaded so; the [`Engine`] makes its
//! fuel-counting variant the first time one is.
//!
//! # Checking what a plugin returns
//!
//! The host does not trust a plugin's output. A batch that is not a valid
//! Arrow IPC stream, a batch with more rows than the plugin was given, and
//! rejections that name rows outside the input or the same row twice are
//! all [`TransformError::BadOutput`]. So, for a record plugin, are more
//! records than it was given, and a returned record whose topic, partition
//! and offset are not those of a record it was given, or are those of one
//! it rejected or already returned: the host traces rows back to their
//! original records by those three when it dead-letters them, so a record
//! plugin may change what a record holds but not which record it is.

mod bindings;
mod cache;
mod capabilities;
mod engine;
mod error;
mod instance;
mod ipc;
mod plugin;
mod records;

#[cfg(test)]
mod capability_tests;
#[cfg(test)]
mod fuel_tests;
#[cfg(test)]
mod record_tests;
#[cfg(test)]
mod tests;

pub use capabilities::{GUEST_DIR, Grants};
pub use engine::Engine;
pub use error::TransformError;
pub use instance::Transform;
pub use plugin::{ConfigField, FieldType, Plugin, PluginInfo, World};

use std::time::Duration;

use arrow_array::RecordBatch;

/// The resource limits of one plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long one call into the plugin (`init` or one batch) may run.
    /// Default: 5 seconds.
    pub timeout: Duration,
    /// The most linear memory the instance may hold, in bytes, across all
    /// its memories. Default: 256 MiB.
    pub max_memory: usize,
    /// The fuel one call into the plugin (`init` or one batch) may spend,
    /// about one unit per WebAssembly instruction; each call starts with
    /// the whole budget. Needs a plugin loaded with
    /// [`Plugin::load_metered`]. Default: `None`, no budget.
    pub fuel: Option<u64>,
}

impl Limits {
    /// The default deadline of a call.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default memory cap.
    pub const DEFAULT_MAX_MEMORY: usize = 256 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Self::DEFAULT_TIMEOUT,
            max_memory: Self::DEFAULT_MAX_MEMORY,
            fuel: None,
        }
    }
}

/// A row of the input batch that the plugin refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The row's index in the batch given to [`Transform::apply`], from 0.
    pub row: u32,
    /// The plugin's reason, which should name the field at fault.
    pub reason: String,
}

/// What one call of [`Transform::apply`] gives back.
#[derive(Debug, Clone)]
pub struct TransformOutput {
    /// The rows the plugin kept (or made). When the plugin kept no rows and
    /// returned no schema, an empty batch with the input's schema.
    pub batch: RecordBatch,
    /// The rows the plugin refused, in the order it listed them.
    pub rejected: Vec<Rejection>,
}
