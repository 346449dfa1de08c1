//! The errors of loading and running plugins.

use std::path::PathBuf;
use std::time::Duration;

/// Why a plugin could not be loaded or run.
///
/// Errors about a file name the file; errors about a running plugin name it
/// by the name it gave in `describe` (or its file name, before that).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The WebAssembly engine could not be set up.
    #[error("cannot start the WebAssembly engine: {message}")]
    Engine {
        /// What went wrong.
        message: String,
    },

    /// The plugin file could not be read.
    #[error("cannot read plugin `{}`: {source}", path.display())]
    Io {
        /// The plugin file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not WebAssembly at all.
    #[error(
        "`{}` is not a WebAssembly file; a plugin is a component built for wasm32-wasip2",
        path.display()
    )]
    NotWasm {
        /// The plugin file.
        path: PathBuf,
    },

    /// The file is a core WebAssembly module, not a component.
    #[error(
        "`{}` is not a WebAssembly component (it is a core module); build it for wasm32-wasip2",
        path.display()
    )]
    NotAComponent {
        /// The plugin file.
        path: PathBuf,
    },

    /// The component is invalid or could not be compiled.
    #[error("cannot compile `{}`: {message}", path.display())]
    Compile {
        /// The plugin file.
        path: PathBuf,
        /// The compiler's words.
        message: String,
    },

    /// The component exports neither plugin interface.
    #[error(
        "`{}` does not export `{expected}`; it exports: {}",
        path.display(),
        if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") }
    )]
    WrongWorld {
        /// The plugin file.
        path: PathBuf,
        /// The interface that was looked for.
        expected: String,
        /// What the component does export.
        exports: Vec<String>,
    },

    /// The component exports a plugin interface, but with other types than
    /// this host's version of the WIT package, or imports something the host
    /// does not provide.
    #[error("`{}` does not fit this host: {message}", path.display())]
    Incompatible {
        /// The plugin file.
        path: PathBuf,
        /// What does not match.
        message: String,
    },

    /// The component uses a world this host cannot run yet.
    #[error("`{}` exports `{interface}`, which this version of Sabot cannot run yet", path.display())]
    Unsupported {
        /// The plugin file.
        path: PathBuf,
        /// The interface it exports.
        interface: String,
    },

    /// A folder granted to the plugin could not be opened.
    #[error(
        "cannot grant plugin `{plugin}` the folder `{}`: {message}; check that it exists and can be read",
        path.display()
    )]
    Grant {
        /// The plugin's name.
        plugin: String,
        /// The folder.
        path: PathBuf,
        /// Why it could not be opened.
        message: String,
    },

    /// The plugin's `init` refused its config.
    #[error("plugin `{plugin}` rejected its config: {message}")]
    InitRejected {
        /// The plugin's name.
        plugin: String,
        /// The plugin's own words.
        message: String,
    },

    /// The plugin trapped (a panic, an `unreachable`, a bad memory access).
    #[error("plugin `{plugin}` crashed: {message}")]
    Trap {
        /// The plugin's name.
        plugin: String,
        /// The trap and its WebAssembly backtrace.
        message: String,
    },

    /// A call into the plugin ran past its deadline.
    #[error(
        "plugin `{plugin}` did not finish within {timeout:?}; raise the transform's timeout if it is slow rather than stuck"
    )]
    Timeout {
        /// The plugin's name.
        plugin: String,
        /// The deadline it missed.
        timeout: Duration,
    },

    /// A call into the plugin spent its whole fuel budget.
    #[error(
        "plugin `{plugin}` ran out of fuel ({fuel} units); raise the transform's `fuel` if it is slow rather than stuck"
    )]
    OutOfFuel {
        /// The plugin's name.
        plugin: String,
        /// The budget it spent.
        fuel: u64,
    },

    /// A fuel budget was given for a plugin whose code does not count fuel.
    #[error(
        "plugin `{plugin}` cannot run with a fuel budget of {fuel} units: it was loaded without fuel metering; load it with `Plugin::load_metered`"
    )]
    Unmetered {
        /// The plugin's name.
        plugin: String,
        /// The budget asked for.
        fuel: u64,
    },

    /// The plugin needed more memory than its limit.
    #[error(
        "plugin `{plugin}` ran out of memory: it tried to grow past its limit of {} MiB; raise the transform's memory limit or send smaller batches",
        limit / (1 << 20)
    )]
    OutOfMemory {
        /// The plugin's name.
        plugin: String,
        /// The limit in bytes.
        limit: usize,
    },

    /// The plugin returned something that breaks the contract.
    #[error("plugin `{plugin}` returned a bad result: {message}")]
    BadOutput {
        /// The plugin's name.
        plugin: String,
        /// What is wrong with it.
        message: String,
    },

    /// The plugin failed the batch with an error of its own.
    #[error("plugin `{plugin}` failed the batch: {message}")]
    Failed {
        /// The plugin's name.
        plugin: String,
        /// The plugin's own words.
        message: String,
    },

    /// The batch could not be encoded to hand it to the plugin.
    #[error("cannot encode the batch for plugin `{plugin}`: {message}")]
    Encode {
        /// The plugin's name.
        plugin: String,
        /// Arrow's words.
        message: String,
    },
}

impl TransformError {
    /// Whether the plugin's instance died of this error (a trap, a missed
    /// deadline, running out of memory or out of fuel), so that the next
    /// call starts a fresh one.
    pub fn is_crash(&self) -> bool {
        matches!(
            self,
            TransformError::Trap { .. }
                | TransformError::Timeout { .. }
                | TransformError::OutOfMemory { .. }
                | TransformError::OutOfFuel { .. }
        )
    }
}
