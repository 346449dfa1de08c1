//! Loading a plugin: reading, checking and compiling the component, and
//! asking it to describe itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::Component;

use super::bindings::record::RecordPluginPre;
use super::bindings::{BatchPluginPre, wit};
use super::cache::{self, Source};
use super::engine::Metering;
use super::instance::Pre;
use super::{Engine, Limits, TransformError, instance};

/// The interface of Arrow batch plugins.
pub const BATCH_INTERFACE: &str = "sabot:plugin/batch-transform@0.1.0";

/// The interface of record plugins.
pub const RECORD_INTERFACE: &str = "sabot:plugin/record-transform@0.1.0";

/// Which of the WIT package's worlds a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum World {
    /// `batch-plugin`: Arrow batches as IPC streams.
    Batch,
    /// `record-plugin`: lists of records whose values are JSON text.
    Record,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// A short, stable name such as `filter`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One sentence on what it does.
    pub description: String,
    /// Every config key it understands.
    pub config: Vec<ConfigField>,
}

/// One config key a plugin understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigField {
    /// The key as written in a pipeline file.
    pub name: String,
    /// The kind of value it takes.
    pub ty: FieldType,
    /// Whether the plugin refuses to start without it.
    pub required: bool,
    /// The default, as JSON text, when the key is optional.
    pub default: Option<String>,
    /// What it does, for users.
    pub doc: String,
}

/// The kind of value a config key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string.
    String,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A list.
    List,
    /// Any JSON value.
    Any,
}

impl From<wit::PluginInfo> for PluginInfo {
    fn from(info: wit::PluginInfo) -> Self {
        PluginInfo {
            name: info.name,
            version: info.version,
            description: info.description,
            config: info
                .config
                .into_iter()
                .map(|f| ConfigField {
                    name: f.name,
                    ty: match f.type_ {
                        wit::FieldType::String => FieldType::String,
                        wit::FieldType::Integer => FieldType::Integer,
                        wit::FieldType::Number => FieldType::Number,
                        wit::FieldType::Boolean => FieldType::Boolean,
                        wit::FieldType::List => FieldType::List,
                        wit::FieldType::Any => FieldType::Any,
                    },
                    required: f.required,
                    default: f.default,
                    doc: f.doc,
                })
                .collect(),
        }
    }
}

/// A compiled plugin, ready to be instantiated by [`Transform::new`].
///
/// Clones share the compiled code.
///
/// [`Transform::new`]: super::Transform::new
#[derive(Clone)]
pub struct Plugin {
    /// The shared parts.
    pub(super) inner: Arc<Inner>,
}

/// What clones of a [`Plugin`] share.
pub(super) struct Inner {
    /// The engine it was compiled for, held so that the epoch ticker its
    /// deadlines count on runs as long as the plugin does.
    pub _engine: Engine,
    /// The file it came from.
    pub path: PathBuf,
    /// What it says about itself.
    pub info: PluginInfo,
    /// The world it implements.
    pub world: World,
    /// The component, linked and type-checked.
    pub pre: Pre,
    /// Whether its code counts fuel.
    pub metering: Metering,
    /// Whether the compiled code came from the cache.
    pub source: Source,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.inner.path)
            .field("info", &self.inner.info)
            .field("world", &self.inner.world)
            .field("metered", &self.is_metered())
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Load the plugin at `path`: a component in binary form, or in the
    /// WebAssembly text format.
    ///
    /// The compiled code is taken from the engine's cache when it is there,
    /// and stored in it otherwise. The plugin is instantiated once to call
    /// its `describe`, under the default [`Limits`].
    ///
    /// # Errors
    ///
    /// When the file cannot be read, is not a component, does not export a
    /// plugin interface this host can run, needs imports the host does not
    /// provide, or fails while describing itself.
    pub fn load(engine: &Engine, path: &Path) -> Result<Plugin, TransformError> {
        Self::load_with(engine, path, Metering::Off)
    }

    /// Load the plugin at `path` compiled to count fuel, so that it can run
    /// under a [`Limits::fuel`] budget; see [`Plugin::load`].
    ///
    /// Metered code runs slower, with or without a budget set, and runs on
    /// the engine's second, fuel-counting wasmtime engine, made by the first
    /// such load (see [`Engine`]). Its compiled form is cached apart from
    /// the unmetered one.
    ///
    /// # Errors
    ///
    /// Those of [`Plugin::load`], and [`TransformError::Engine`] when the
    /// fuel-counting engine cannot be set up.
    pub fn load_metered(engine: &Engine, path: &Path) -> Result<Plugin, TransformError> {
        Self::load_with(engine, path, Metering::Fuel)
    }

    /// [`Plugin::load`] or [`Plugin::load_metered`].
    fn load_with(
        engine: &Engine,
        path: &Path,
        metering: Metering,
    ) -> Result<Plugin, TransformError> {
        let bytes = std::fs::read(path).map_err(|source| TransformError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes_with(engine, path, &bytes, metering)
    }

    /// Load a plugin from its bytes; `path` is only used to name it in
    /// messages. See [`Plugin::load`].
    ///
    /// # Errors
    ///
    /// See [`Plugin::load`].
    pub fn from_bytes(
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
    ) -> Result<Plugin, TransformError> {
        Self::from_bytes_with(engine, path, bytes, Metering::Off)
    }

    /// Load a plugin from its bytes, compiled with `metering`.
    fn from_bytes_with(
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
        metering: Metering,
    ) -> Result<Plugin, TransformError> {
        check_kind(path, bytes)?;
        let runtime = engine.runtime(metering)?;
        let (component, source) = cache::load_or_compile(engine, &runtime.engine, path, bytes)
            .map_err(|e| compile_error(engine, path, bytes, e))?;
        let world = world_of(&runtime.engine, path, &component)?;

        let pre = runtime.linker.instantiate_pre(&component).map_err(|e| {
            TransformError::Incompatible {
                path: path.to_owned(),
                message: format!("{e:#}"),
            }
        })?;
        let incompatible = |e: wasmtime::Error| TransformError::Incompatible {
            path: path.to_owned(),
            message: format!("{e:#}"),
        };
        let pre = match world {
            World::Batch => Pre::Batch(BatchPluginPre::new(pre).map_err(incompatible)?),
            World::Record => Pre::Record(RecordPluginPre::new(pre).map_err(incompatible)?),
        };

        let file_name = display_name(path);
        let info = instance::describe(&pre, &file_name, Limits::default(), metering)?;
        tracing::debug!(
            plugin = %info.name,
            version = %info.version,
            path = %path.display(),
            from_cache = source == Source::Cache,
            metered = metering == Metering::Fuel,
            "loaded plugin"
        );
        Ok(Plugin {
            inner: Arc::new(Inner {
                _engine: engine.clone(),
                path: path.to_owned(),
                info: info.into(),
                world,
                pre,
                metering,
                source,
            }),
        })
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.inner.info
    }

    /// The world the plugin implements.
    pub fn world(&self) -> World {
        self.inner.world
    }

    /// The file the plugin was loaded from.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether it was loaded with [`Plugin::load_metered`], so that its
    /// code counts fuel and it can run under [`Limits::fuel`].
    pub fn is_metered(&self) -> bool {
        self.inner.metering == Metering::Fuel
    }

    /// Whether its compiled code came from the compile cache rather than
    /// being compiled by this load.
    pub fn from_cache(&self) -> bool {
        self.inner.source == Source::Cache
    }
}

/// The file name of `path`, to name a plugin before it has described itself.
pub(super) fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Tell a core module or a non-WebAssembly file from a component before
/// compiling, for a clear message.
fn check_kind(path: &Path, bytes: &[u8]) -> Result<(), TransformError> {
    const MAGIC: &[u8; 4] = b"\0asm";
    const CORE_VERSION: [u8; 4] = [1, 0, 0, 0];
    if let Some(rest) = bytes.strip_prefix(MAGIC) {
        return match rest.get(..4) {
            Some(version) if version == CORE_VERSION => Err(TransformError::NotAComponent {
                path: path.to_owned(),
            }),
            _ => Ok(()),
        };
    }
    // The text format: leave it to the compiler, which tells a core module
    // from a component by trying (see `compile_error`).
    let text = std::str::from_utf8(bytes).ok().map(str::trim_start);
    match text {
        Some(text) if text.starts_with('(') || text.starts_with(";;") => Ok(()),
        _ => Err(TransformError::NotWasm {
            path: path.to_owned(),
        }),
    }
}

/// The error for a component that did not compile: a text-format core
/// module is told apart here.
fn compile_error(
    engine: &Engine,
    path: &Path,
    bytes: &[u8],
    error: wasmtime::Error,
) -> TransformError {
    let is_text = !bytes.starts_with(b"\0asm");
    if is_text && wasmtime::Module::new(engine.wasmtime(), bytes).is_ok() {
        return TransformError::NotAComponent {
            path: path.to_owned(),
        };
    }
    TransformError::Compile {
        path: path.to_owned(),
        message: format!("{error:#}"),
    }
}

/// Which world `component` implements, by its exports.
fn world_of(
    engine: &wasmtime::Engine,
    path: &Path,
    component: &Component,
) -> Result<World, TransformError> {
    let exports: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    if exports.iter().any(|e| e == BATCH_INTERFACE) {
        return Ok(World::Batch);
    }
    if exports.iter().any(|e| e == RECORD_INTERFACE) {
        return Ok(World::Record);
    }
    Err(TransformError::WrongWorld {
        path: path.to_owned(),
        expected: format!("{BATCH_INTERFACE}` or `{RECORD_INTERFACE}"),
        exports: exports.iter().map(|e| format!("`{e}`")).collect(),
    })
}
