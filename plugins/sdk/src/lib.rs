//! Write Sabot transform plugins in Rust.
//!
//! A plugin is a WebAssembly component that exports the
//! `sabot:plugin/batch-transform` interface of the WIT package in `wit/`.
//! This crate hides the component plumbing: implement [`BatchTransform`] on
//! a type, name it in [`export_batch_plugin!`], and build the crate as a
//! `cdylib` for `wasm32-wasip2`:
//!
//! ```
//! use sabot_plugin_sdk::{BatchTransform, Config, Info, Output};
//! use arrow_array::RecordBatch;
//!
//! struct Identity;
//!
//! impl BatchTransform for Identity {
//!     fn describe() -> Info {
//!         Info::new("identity", env!("CARGO_PKG_VERSION"), "Returns every batch unchanged.")
//!     }
//!     fn init(_config: &Config) -> Result<Self, String> {
//!         Ok(Identity)
//!     }
//!     fn transform(&mut self, batch: RecordBatch) -> Result<Output, String> {
//!         Ok(Output::keep(batch))
//!     }
//! }
//!
//! sabot_plugin_sdk::export_batch_plugin!(Identity);
//! ```
//!
//! # What the SDK does for you
//!
//! - Decodes the Arrow IPC stream the host sends into one [`RecordBatch`],
//!   and encodes the batch you return ([`ipc`]).
//! - Checks the pipeline's `config:` map against the fields your
//!   [`BatchTransform::describe`] lists before [`BatchTransform::init`] sees
//!   it: it must be a JSON object, every key must be known and every required
//!   key present. [`Config`] then has typed getters whose errors name the key
//!   and say what was expected.
//! - Finds columns by dotted paths into struct columns (`customer.email`) and
//!   replaces them, rebuilding the structs around them ([`columns`]).
//! - Sends log lines to the host's log, tagged with the plugin and pipeline
//!   ([`log`]).
//!
//! # Metadata columns
//!
//! Columns whose names start with `__` (`__key`, `__headers`, `__timestamp`,
//! `__topic`, `__partition`, `__offset`) carry each record's Kafka metadata.
//! Keep them on the rows you keep; filter whole rows (for example with
//! `arrow_select::filter::filter_record_batch`) and they follow.
//!
//! # Testing
//!
//! Keep the logic in plain functions over [`RecordBatch`] and test them with
//! `cargo test` on the machine's own target; nothing in this crate needs a
//! WebAssembly runtime except the export glue and the log import, which
//! writes to standard error outside WebAssembly.

// The generated bindings and the export macro name this crate by its
// public path, so that plugins need no `wit-bindgen` dependency of their
// own; inside this crate that path must resolve too.
extern crate self as sabot_plugin_sdk;

pub mod columns;
pub mod config;
pub mod ipc;

#[doc(hidden)]
pub mod glue;

pub use arrow_array;
pub use arrow_schema;
pub use serde_json;

pub use columns::{column, find_column, replace_column};
pub use config::{Config, ConfigField, FieldType};

use arrow_array::RecordBatch;

/// Bindings generated from the WIT package, for plugins that need more than
/// [`BatchTransform`] offers.
#[allow(missing_docs, reason = "generated code; the WIT file documents it")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "batch-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_batch_bindings",
        default_bindings_module: "sabot_plugin_sdk::bindings",
        runtime_path: "sabot_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Re-exports the export macro needs; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// What a plugin says about itself, returned by [`BatchTransform::describe`].
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// A short, stable name such as `filter`.
    pub name: String,
    /// The plugin's version, semver; usually `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// One sentence on what the plugin does.
    pub description: String,
    /// Every config key the plugin understands.
    pub config: Vec<ConfigField>,
}

impl Info {
    /// An info with no config fields; add them with [`Info::field`].
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        Info {
            name: name.to_owned(),
            version: version.to_owned(),
            description: description.to_owned(),
            config: Vec::new(),
        }
    }

    /// Add one config field.
    pub fn field(mut self, field: ConfigField) -> Self {
        self.config.push(field);
        self
    }
}

/// What [`BatchTransform::transform`] returns.
#[derive(Debug, Clone)]
pub struct Output {
    /// The rows kept (or made). Keep the `__` metadata columns on them.
    pub batch: RecordBatch,
    /// Rows of the input refused as bad records: their index in the input
    /// batch, from 0, and why, naming the field at fault. A refused row must
    /// not also be in `batch`.
    pub rejected: Vec<(u32, String)>,
}

impl Output {
    /// Keep this batch and refuse no rows.
    pub fn keep(batch: RecordBatch) -> Self {
        Output {
            batch,
            rejected: Vec::new(),
        }
    }
}

/// A transform over Arrow record batches.
///
/// The host makes one instance per pipeline task with [`init`](Self::init)
/// and calls [`transform`](Self::transform) on it for every batch, so the
/// instance may keep state between batches. After a trap the host starts a
/// fresh instance and calls `init` again.
pub trait BatchTransform: Sized {
    /// Describe the plugin and its config fields. Called before `init`.
    fn describe() -> Info;

    /// Build the plugin from the pipeline's `config:` map.
    ///
    /// The SDK has already checked that the config is an object whose keys
    /// are all listed by [`describe`](Self::describe) and that every required
    /// key is present.
    ///
    /// # Errors
    ///
    /// Return a message that names the key and says how to fix it; the host
    /// shows it to the user as "plugin `name` rejected its config: …". The
    /// getters of [`Config`] produce such messages.
    fn init(config: &Config) -> Result<Self, String>;

    /// Transform one batch.
    ///
    /// # Errors
    ///
    /// An error fails the whole batch (and, by the pipeline's policy, the
    /// task); to refuse single rows put them in [`Output::rejected`].
    fn transform(&mut self, batch: RecordBatch) -> Result<Output, String>;
}

/// How loud a log line is.
pub use bindings::sabot::plugin::host::Level;

/// Write one line to the host's log, where it is tagged with the plugin's
/// name and the pipeline. Outside WebAssembly (in unit tests) the line goes
/// to standard error.
///
/// Log sparingly: nothing per row above [`Level::Trace`].
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    bindings::sabot::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{level:?}: {message}");
}

/// Export a [`BatchTransform`] as the component's `batch-transform`
/// interface.
///
/// Invoke it once, at the root of the plugin crate. It expands to nothing
/// outside WebAssembly, so the crate's unit tests build natively:
///
/// ```
/// sabot_plugin_sdk::export_batch_plugin!(Filter);
/// ```
#[macro_export]
macro_rules! export_batch_plugin {
    ($plugin:ty) => {
        // The export names hold `:` and `@`, which only WebAssembly linkers
        // accept; native builds (unit tests) leave the glue out.
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __sabot_batch_plugin {
            use super::*;

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<::std::option::Option<$plugin>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            /// The type the generated bindings export.
            pub struct Exported;

            impl $crate::bindings::exports::sabot::plugin::batch_transform::Guest for Exported {
                fn describe() -> $crate::bindings::sabot::plugin::types::PluginInfo {
                    $crate::glue::describe::<$plugin>()
                }

                fn init(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                    INSTANCE.with(|slot| $crate::glue::init::<$plugin>(slot, &config))
                }

                fn transform(
                    batch: ::std::vec::Vec<u8>,
                ) -> ::std::result::Result<
                    $crate::bindings::exports::sabot::plugin::batch_transform::BatchResult,
                    ::std::string::String,
                > {
                    INSTANCE.with(|slot| $crate::glue::transform::<$plugin>(slot, batch))
                }
            }

            $crate::bindings::__export_batch_bindings!(Exported with_types_in $crate::bindings);
        }
    };
}
