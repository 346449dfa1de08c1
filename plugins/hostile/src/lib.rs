//! The hostile plugin: on every batch it tries one thing a sandboxed plugin
//! should not be able to do, and reports what happened, or misbehaves in a
//! way the host must survive.
//!
//! It exists to test the host's sandbox. Its config key `attempt` picks the
//! attempt; each of the first five fails the batch with a message that says
//! exactly what the plugin saw, so a test can assert on it:
//!
//! | `attempt`     | what it does                                   | message on success / failure                             |
//! |---------------|------------------------------------------------|----------------------------------------------------------|
//! | `read-file`   | reads `path` (default `/etc/passwd`)           | ``read `P`: ok, N bytes: TEXT`` / ``read `P` failed: E`` |
//! | `write-file`  | creates `path` (default `/data/x`)             | ``write `P`: ok`` / ``write `P` failed: E``              |
//! | `connect`     | opens a TCP connection to `addr`               | ``connect `A`: connected`` / ``connect `A` failed: E``   |
//! | `env`         | counts the environment variables, reads `HOME` | ``env: N variables; HOME: not set`` or ``HOME = `V` ``   |
//! | `clock`       | reads the wall clock                           | `clock: N s since the epoch`                             |
//! | `bad-schema`  | returns the batch with an extra column         | (no error)                                               |
//! | `garbage`     | returns bytes that are no Arrow IPC stream     | (no error)                                               |
//! | `extra-rows`  | returns every row of the batch twice           | (no error)                                               |
//! | `trap`        | panics, which traps the instance               | (the call traps)                                         |
//! | `spin`        | loops forever                                  | (the call never returns)                                 |
//! | `grow-memory` | allocates 1 MiB blocks and never frees them    | (the call traps when an allocation is refused)           |
//!
//! `init` only checks the config, so a pipeline with any attempt plans
//! cleanly and the attempt happens on its first batch. `spin` ends only when
//! the host stops it, by the call's deadline or fuel budget, and
//! `grow-memory` when the host's memory limit refuses an allocation; never
//! run either natively.
//!
//! `bad-schema` keeps every input column, the `__` metadata columns
//! included, and adds `elapsed`, a `Duration(ms)` column, which no Sabot
//! sink format writes: the batch passes the plugin boundary and is refused
//! by the sink's encoder.
//!
//! `garbage` answers every batch with [`GARBAGE`] as its output stream, and
//! `extra-rows` with the batch followed by itself, each row twice: the host
//! must refuse both as bad output. Since the SDK's glue only ever sends a
//! well-formed stream, this plugin exports the interface itself, sending
//! [`GARBAGE`] where the glue would encode a batch.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::{ArrayRef, DurationMillisecondArray, RecordBatch};
use arrow_schema::{Field, Schema};
use sabot_plugin_sdk::{BatchTransform, Config, ConfigField, FieldType, Info, Output};

/// The attempts `attempt` may name, in the order the docs list them.
const ATTEMPTS: [&str; 11] = [
    "read-file",
    "write-file",
    "connect",
    "env",
    "clock",
    "bad-schema",
    "garbage",
    "extra-rows",
    "trap",
    "spin",
    "grow-memory",
];

/// What `garbage` returns instead of an Arrow IPC stream.
pub const GARBAGE: &[u8] = b"not arrow at all";

/// The size of each block `grow-memory` allocates.
const GROWTH_BLOCK: usize = 1 << 20;

/// The file `read-file` reads unless `path` says otherwise.
const DEFAULT_READ_PATH: &str = "/etc/passwd";

/// The file `write-file` creates unless `path` says otherwise.
const DEFAULT_WRITE_PATH: &str = "/data/x";

/// The name of the column `bad-schema` adds.
pub const BAD_COLUMN: &str = "elapsed";

/// What the plugin tries on every batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Read a file to a string.
    ReadFile {
        /// The file, as the plugin names it.
        path: String,
    },
    /// Create a file and write one byte to it.
    WriteFile {
        /// The file, as the plugin names it.
        path: String,
    },
    /// Open a TCP connection.
    Connect {
        /// The address, `host:port`.
        addr: String,
    },
    /// Look at the environment.
    Env,
    /// Read the wall clock.
    Clock,
    /// Return a batch with a column no sink can encode.
    BadSchema,
    /// Return [`GARBAGE`] where an Arrow IPC stream belongs.
    Garbage,
    /// Return every row of the batch twice.
    ExtraRows,
    /// Panic, which traps the instance.
    Trap,
    /// Loop forever.
    Spin,
    /// Allocate memory until an allocation is refused.
    GrowMemory,
}

impl Attempt {
    /// The attempt a checked config asks for.
    ///
    /// # Errors
    ///
    /// When `attempt` is not one of [`ATTEMPTS`], `path` or `addr` is not a
    /// string, or `connect` is asked for without `addr`.
    pub fn from_config(config: &Config) -> Result<Attempt, String> {
        let attempt = config
            .one_of("attempt", &ATTEMPTS)?
            .ok_or_else(|| "config key `attempt` is required".to_owned())?;
        let path = config.str("path")?.map(str::to_owned);
        let addr = config.str("addr")?.map(str::to_owned);
        Ok(match attempt {
            "read-file" => Attempt::ReadFile {
                path: path.unwrap_or_else(|| DEFAULT_READ_PATH.to_owned()),
            },
            "write-file" => Attempt::WriteFile {
                path: path.unwrap_or_else(|| DEFAULT_WRITE_PATH.to_owned()),
            },
            "connect" => Attempt::Connect {
                addr: addr.ok_or_else(|| {
                    "config key `addr` is required for `attempt: connect`; \
                     give it as `host:port`"
                        .to_owned()
                })?,
            },
            "env" => Attempt::Env,
            "clock" => Attempt::Clock,
            "garbage" => Attempt::Garbage,
            "extra-rows" => Attempt::ExtraRows,
            "trap" => Attempt::Trap,
            "spin" => Attempt::Spin,
            "grow-memory" => Attempt::GrowMemory,
            _ => Attempt::BadSchema,
        })
    }

    /// Make the attempt; the message says what happened. `Trap`, `Spin`
    /// and `GrowMemory` never return.
    pub fn run(&self) -> String {
        match self {
            Attempt::ReadFile { path } => match std::fs::read_to_string(path) {
                Ok(text) => format!("read `{path}`: ok, {} bytes: {text}", text.len()),
                Err(e) => format!("read `{path}` failed: {e}"),
            },
            Attempt::WriteFile { path } => match std::fs::write(path, b"x") {
                Ok(()) => format!("write `{path}`: ok"),
                Err(e) => format!("write `{path}` failed: {e}"),
            },
            Attempt::Connect { addr } => match std::net::TcpStream::connect(addr.as_str()) {
                Ok(_) => format!("connect `{addr}`: connected"),
                Err(e) => format!("connect `{addr}` failed: {e}"),
            },
            Attempt::Env => {
                let count = std::env::vars_os().count();
                match std::env::var("HOME") {
                    Ok(home) => format!("env: {count} variables; HOME = `{home}`"),
                    Err(_) => format!("env: {count} variables; HOME: not set"),
                }
            }
            Attempt::Clock => match SystemTime::now().duration_since(UNIX_EPOCH) {
                Ok(since) => format!("clock: {} s since the epoch", since.as_secs()),
                Err(e) => format!("clock: {} s before the epoch", e.duration().as_secs()),
            },
            Attempt::BadSchema => "bad-schema returns a batch".to_owned(),
            Attempt::Garbage => "garbage returns bytes that are no batch".to_owned(),
            Attempt::ExtraRows => "extra-rows returns a batch".to_owned(),
            Attempt::Trap => panic!("the hostile plugin traps on purpose"),
            Attempt::Spin => spin(),
            Attempt::GrowMemory => grow_memory(),
        }
    }
}

/// Count forever. `black_box` keeps the compiler from proving the loop
/// does nothing.
fn spin() -> ! {
    let mut turns: u64 = 0;
    loop {
        turns = std::hint::black_box(turns.wrapping_add(1));
    }
}

/// Allocate [`GROWTH_BLOCK`]-byte blocks, filled so that their pages are
/// touched, and keep them all; ends when an allocation is refused, which
/// aborts the instance.
fn grow_memory() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![0xa5; GROWTH_BLOCK]));
    }
}

/// `batch` with [`BAD_COLUMN`] added: one `Duration(ms)` value per row,
/// the row's index.
///
/// # Errors
///
/// When the batch already has a column of that name.
pub fn with_bad_column(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    if schema.column_with_name(BAD_COLUMN).is_some() {
        return Err(format!(
            "the batch already has a column `{BAD_COLUMN}`; rename it before this plugin"
        ));
    }
    let rows = i64::try_from(batch.num_rows())
        .map_err(|_| format!("a batch of {} rows is too large", batch.num_rows()))?;
    let elapsed: ArrayRef = Arc::new(DurationMillisecondArray::from_iter_values(0..rows));
    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        BAD_COLUMN,
        elapsed.data_type().clone(),
        false,
    )));
    let mut columns = batch.columns().to_vec();
    columns.push(elapsed);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| format!("cannot add the column `{BAD_COLUMN}`: {e}"))
}

/// `batch` followed by itself: every row twice, the copies after the
/// originals.
///
/// # Errors
///
/// When Arrow cannot concatenate the batch, which it always can.
pub fn doubled(batch: &RecordBatch) -> Result<RecordBatch, String> {
    arrow_select::concat::concat_batches(&batch.schema(), [batch, batch])
        .map_err(|e| format!("cannot double the batch: {e}"))
}

/// The plugin: the attempt its config chose.
pub struct Hostile {
    /// What it tries on every batch.
    attempt: Attempt,
}

impl BatchTransform for Hostile {
    fn describe() -> Info {
        Info::new(
            "hostile",
            env!("CARGO_PKG_VERSION"),
            "Tries one thing a sandboxed plugin must not do and fails the batch saying what happened.",
        )
        .field(ConfigField::required(
            "attempt",
            FieldType::String,
            "What to try: `read-file`, `write-file`, `connect`, `env`, `clock`, `bad-schema`, \
             `garbage`, `extra-rows`, `trap`, `spin` or `grow-memory`.",
        ))
        .field(ConfigField::optional(
            "path",
            FieldType::String,
            None,
            "The file for `read-file` (default `/etc/passwd`) or `write-file` (default `/data/x`).",
        ))
        .field(ConfigField::optional(
            "addr",
            FieldType::String,
            None,
            "The `host:port` for `connect`.",
        ))
    }

    fn init(config: &Config) -> Result<Self, String> {
        Attempt::from_config(config).map(|attempt| Hostile { attempt })
    }

    /// Every attempt but `garbage`, whose bytes the export sends without
    /// calling this; called for `garbage` (natively, in tests), it fails
    /// the batch saying so.
    fn transform(&mut self, batch: RecordBatch) -> Result<Output, String> {
        match self.attempt {
            Attempt::BadSchema => with_bad_column(&batch).map(Output::keep),
            Attempt::ExtraRows => doubled(&batch).map(Output::keep),
            _ => Err(self.attempt.run()),
        }
    }
}

/// The `batch-transform` export: the SDK's glue, except that `garbage`
/// sends [`GARBAGE`] as its output stream. Left out of native builds, like
/// the SDK's `export_batch_plugin!`, since export names hold characters
/// only WebAssembly linkers accept.
#[cfg(target_arch = "wasm32")]
mod export {
    use std::cell::RefCell;

    use sabot_plugin_sdk::bindings::exports::sabot::plugin::batch_transform::{BatchResult, Guest};
    use sabot_plugin_sdk::bindings::sabot::plugin::types::PluginInfo;
    use sabot_plugin_sdk::glue;

    use super::{Attempt, GARBAGE, Hostile};

    std::thread_local! {
        /// The plugin, once `init` built it.
        static INSTANCE: RefCell<Option<Hostile>> = const { RefCell::new(None) };
    }

    /// The type the generated bindings export.
    struct Exported;

    impl Guest for Exported {
        fn describe() -> PluginInfo {
            glue::describe::<Hostile>()
        }

        fn init(config: String) -> Result<(), String> {
            INSTANCE.with(|slot| glue::init::<Hostile>(slot, &config))
        }

        fn transform(batch: Vec<u8>) -> Result<BatchResult, String> {
            INSTANCE.with(|slot| {
                let garbage = slot
                    .borrow()
                    .as_ref()
                    .is_some_and(|p| p.attempt == Attempt::Garbage);
                if garbage {
                    return Ok(BatchResult {
                        batch: GARBAGE.to_vec(),
                        rejected: Vec::new(),
                    });
                }
                glue::transform::<Hostile>(slot, batch)
            })
        }
    }

    sabot_plugin_sdk::bindings::__export_batch_bindings!(
        Exported with_types_in sabot_plugin_sdk::bindings
    );
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};

    /// The attempt the config text asks for, or the plugin's error.
    fn attempt(text: &str) -> Result<Attempt, String> {
        let config = Config::parse(text, &Hostile::describe().config)?;
        Attempt::from_config(&config)
    }

    #[test]
    fn reads_etc_passwd_unless_told_otherwise() {
        assert_eq!(
            attempt(r#"{"attempt": "read-file"}"#).unwrap(),
            Attempt::ReadFile {
                path: "/etc/passwd".to_owned()
            }
        );
        assert_eq!(
            attempt(r#"{"attempt": "read-file", "path": "/data/a.txt"}"#).unwrap(),
            Attempt::ReadFile {
                path: "/data/a.txt".to_owned()
            }
        );
    }

    #[test]
    fn writes_data_x_unless_told_otherwise() {
        assert_eq!(
            attempt(r#"{"attempt": "write-file"}"#).unwrap(),
            Attempt::WriteFile {
                path: "/data/x".to_owned()
            }
        );
    }

    #[test]
    fn connect_needs_an_address() {
        assert_eq!(
            attempt(r#"{"attempt": "connect", "addr": "127.0.0.1:9"}"#).unwrap(),
            Attempt::Connect {
                addr: "127.0.0.1:9".to_owned()
            }
        );
        assert_eq!(
            attempt(r#"{"attempt": "connect"}"#).unwrap_err(),
            "config key `addr` is required for `attempt: connect`; give it as `host:port`"
        );
    }

    #[test]
    fn the_rest_take_no_arguments() {
        assert_eq!(attempt(r#"{"attempt": "env"}"#).unwrap(), Attempt::Env);
        assert_eq!(attempt(r#"{"attempt": "clock"}"#).unwrap(), Attempt::Clock);
        assert_eq!(
            attempt(r#"{"attempt": "bad-schema"}"#).unwrap(),
            Attempt::BadSchema
        );
        assert_eq!(
            attempt(r#"{"attempt": "garbage"}"#).unwrap(),
            Attempt::Garbage
        );
        assert_eq!(
            attempt(r#"{"attempt": "extra-rows"}"#).unwrap(),
            Attempt::ExtraRows
        );
        assert_eq!(attempt(r#"{"attempt": "trap"}"#).unwrap(), Attempt::Trap);
        assert_eq!(attempt(r#"{"attempt": "spin"}"#).unwrap(), Attempt::Spin);
        assert_eq!(
            attempt(r#"{"attempt": "grow-memory"}"#).unwrap(),
            Attempt::GrowMemory
        );
    }

    #[test]
    fn refuses_unknown_attempts_and_missing_ones() {
        assert_eq!(
            attempt(r#"{"attempt": "fork"}"#).unwrap_err(),
            "config key `attempt` must be one of `read-file`, `write-file`, `connect`, \
             `env`, `clock`, `bad-schema`, `garbage`, `extra-rows`, `trap`, `spin`, \
             `grow-memory`; got `fork`"
        );
        assert!(
            attempt("{}")
                .unwrap_err()
                .starts_with("config key `attempt` is required")
        );
        assert_eq!(
            attempt(r#"{"attempt": "read-file", "path": 3}"#).unwrap_err(),
            "config key `path` must be a string; got the number `3`"
        );
    }

    #[test]
    fn bad_schema_keeps_every_column_and_adds_a_duration() {
        let batch = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![7, 8])) as ArrayRef),
            (
                "__key",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut plugin = Hostile::init(
            &Config::parse(r#"{"attempt": "bad-schema"}"#, &Hostile::describe().config).unwrap(),
        )
        .unwrap();
        let out = plugin.transform(batch.clone()).unwrap();
        assert_eq!(out.batch.num_columns(), 3);
        assert_eq!(out.batch.column(0), batch.column(0));
        assert_eq!(out.batch.column(1), batch.column(1));
        assert_eq!(out.batch.schema().field(1).name(), "__key");
        let elapsed: ArrayRef = Arc::new(DurationMillisecondArray::from(vec![0, 1]));
        assert_eq!(out.batch.column(2), &elapsed);
        assert_eq!(
            with_bad_column(&out.batch).unwrap_err(),
            "the batch already has a column `elapsed`; rename it before this plugin"
        );
    }

    #[test]
    fn extra_rows_returns_every_row_twice() {
        let batch = RecordBatch::try_from_iter(vec![(
            "id",
            Arc::new(Int64Array::from(vec![7, 8])) as ArrayRef,
        )])
        .unwrap();
        let mut plugin = Hostile::init(
            &Config::parse(r#"{"attempt": "extra-rows"}"#, &Hostile::describe().config).unwrap(),
        )
        .unwrap();
        let out = plugin.transform(batch).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 7, 8]));
        assert_eq!(out.batch.column(0), &ids);
        assert!(out.rejected.is_empty());
    }
}
