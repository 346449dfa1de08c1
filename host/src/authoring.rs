//! Writing plugins: `sabot plugin new`, `build` and `test`.
//!
//! - [`new_plugin`] writes a Rust plugin crate on the guest SDK: a working
//!   transform that uppercases the string field named by its config key
//!   `field`, a native unit test, a sample input and its expected output.
//!   Inside a Sabot checkout it depends on the checkout's `plugins/sdk` by
//!   path; elsewhere (or with `--sdk` naming another copy) it gets a copy of
//!   the SDK this binary was built with, in `NAME/sabot-plugin-sdk`, so it
//!   builds wherever it is written.
//! - [`build_plugin`] runs `cargo build --release --target wasm32-wasip2`,
//!   adding the target with rustup first when it is missing, and gives the
//!   component's path.
//! - [`test_plugin`] runs a built plugin once over a sample of JSON lines:
//!   the sample is decoded with a schema inferred from it, each line gets
//!   the metadata columns of a record of topic `sample`, partition 0, with
//!   its line index (from 0) as offset, and the output rows come back as
//!   JSON lines, compared with an expected file if one is given. Lines are
//!   compared as JSON values, so key order and spacing do not matter.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};

use crate::format::encode::JsonEncoder;
use crate::format::infer::infer_schema;
use crate::format::json::{JsonDecoder, JsonOptions};
use crate::record::{self, RawRecord};
use crate::transform::{Engine, Limits, Plugin, Transform, TransformError};

/// The Rust target plugins are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The crate template's manifest; `{{name}}` and `{{sdk_dependency}}` are
/// filled in.
const CARGO_TOML: &str = include_str!("../../plugins/sdk/templates/plugin/Cargo.toml.tmpl");
/// The crate template's code; `{{name}}` and `{{crate}}` are filled in.
const LIB_RS: &str = include_str!("../../plugins/sdk/templates/plugin/src/lib.rs.tmpl");
/// A sample input for `sabot plugin test`.
const SAMPLE: &str = include_str!("../../plugins/sdk/templates/plugin/sample.jsonl.tmpl");
/// What the template plugin makes of [`SAMPLE`] with `field=name`.
const EXPECTED: &str = include_str!("../../plugins/sdk/templates/plugin/expected.jsonl.tmpl");

/// The guest SDK this binary was built with, written beside a plugin crate
/// made outside a Sabot checkout: each file's path in the copy and its text.
/// The manifest names the versions the SDK's own workspace pins, and the
/// bindings read the WIT package from the copy's `wit` folder.
const VENDORED_SDK: &[(&str, &str)] = &[
    ("src/lib.rs", include_str!("../../plugins/sdk/src/lib.rs")),
    (
        "src/columns.rs",
        include_str!("../../plugins/sdk/src/columns.rs"),
    ),
    (
        "src/config.rs",
        include_str!("../../plugins/sdk/src/config.rs"),
    ),
    ("src/glue.rs", include_str!("../../plugins/sdk/src/glue.rs")),
    ("src/ipc.rs", include_str!("../../plugins/sdk/src/ipc.rs")),
    ("wit/plugin.wit", include_str!("../../wit/plugin.wit")),
];

/// The lock file of the SDK's workspace, for a copied SDK: the plugin
/// builds with the dependency versions the example plugins are tested with.
const VENDORED_LOCK: &str = include_str!("../../plugins/Cargo.lock");

/// The folder, inside a new plugin crate, that a copied SDK goes in.
const VENDORED_DIR: &str = "sabot-plugin-sdk";

/// The SDK manifest's dependencies, with the versions of the SDK's
/// workspace (`plugins/Cargo.toml`), whose section is read at build time.
const SDK_WORKSPACE: &str = include_str!("../../plugins/Cargo.toml");

/// The dependencies a copied SDK declares: the SDK's own, with versions
/// from [`SDK_WORKSPACE`].
const SDK_DEPENDENCIES: &[&str] = &[
    "arrow-array",
    "arrow-buffer",
    "arrow-data",
    "arrow-ipc",
    "arrow-schema",
    "arrow-select",
    "serde_json",
    "wit-bindgen",
];

/// The manifest of a copied SDK.
fn vendored_manifest() -> String {
    let mut out = String::from(
        "# A copy of the Sabot plugin SDK, written by `sabot plugin new`.\n\
         [package]\nname = \"sabot-plugin-sdk\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\n",
    );
    for dependency in SDK_DEPENDENCIES {
        // `name = …` lines of the workspace's `[workspace.dependencies]`.
        let prefix = format!("{dependency} = ");
        if let Some(line) = SDK_WORKSPACE.lines().find(|l| l.starts_with(&prefix)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Why an authoring command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthoringError {
    /// A plugin name that cannot be a crate name.
    #[error(
        "`{name}` is not a usable plugin name; use lowercase letters, digits and `-`, starting with a letter (and not `sabot-plugin-sdk`, the SDK's own name)"
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The folder to write the crate into is not empty.
    #[error("`{}` already exists and is not empty; pick another `--dir` or remove it", dir.display())]
    NotEmpty {
        /// The folder.
        dir: PathBuf,
    },
    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        /// What was being done: `read`, `write`, `create`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A tool could not be run or failed.
    #[error("{message}")]
    Tool {
        /// What failed and how to fix it.
        message: String,
    },
    /// A `--config` argument is not `KEY=VALUE`.
    #[error("`--config {arg}` is not `KEY=VALUE`; write e.g. `--config field=name`")]
    Config {
        /// The argument.
        arg: String,
    },
    /// The sample input cannot be used.
    #[error("cannot use `{}` as a sample: {message}", path.display())]
    Input {
        /// The sample file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The plugin could not be loaded or run.
    #[error(transparent)]
    Transform(#[from] TransformError),
}

/// What [`new_plugin`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffold {
    /// The crate's folder.
    pub dir: PathBuf,
    /// The SDK it depends on: one found or given, or the copy written into
    /// the crate.
    pub sdk: PathBuf,
    /// Whether [`Scaffold::sdk`] is a copy written into the crate.
    pub sdk_copied: bool,
    /// The files written, relative to `dir`.
    pub files: Vec<PathBuf>,
}

/// Write a new plugin crate named `name` into `dir` (default `./NAME`).
///
/// The crate depends on the SDK at `sdk` when given, else on the
/// `plugins/sdk` of the Sabot checkout that `dir` lies in, if any; else on
/// a copy of the SDK this binary was built with, written into the crate.
/// The plugins' `Cargo.lock` is copied too, so the crate builds with the
/// versions the examples use.
///
/// # Errors
///
/// When the name is not a crate name, `dir` exists and is not empty, or a
/// file cannot be written.
pub fn new_plugin(
    name: &str,
    dir: Option<&Path>,
    sdk: Option<&Path>,
) -> Result<Scaffold, AuthoringError> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    // The SDK's own crate name would clash with the SDK it depends on.
    if !valid || name == VENDORED_DIR {
        return Err(AuthoringError::InvalidName {
            name: name.to_owned(),
        });
    }
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    let occupied = std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(AuthoringError::NotEmpty { dir });
    }
    create_dir(&dir.join("src"))?;
    let absolute = std::path::absolute(&dir).map_err(|source| AuthoringError::Io {
        action: "find",
        path: dir.clone(),
        source,
    })?;
    let sdk = match sdk {
        Some(sdk) => Some(
            std::path::absolute(sdk).map_err(|source| AuthoringError::Io {
                action: "find",
                path: sdk.to_owned(),
                source,
            })?,
        ),
        None => find_sdk(&absolute),
    };
    let dependency = match &sdk {
        Some(path) => format!(
            "sabot-plugin-sdk = {{ path = {} }}",
            serde_json::Value::String(path.display().to_string())
        ),
        None => format!(
            "# The Sabot plugin SDK, copied here by `sabot plugin new`.\n\
             sabot-plugin-sdk = {{ path = \"{VENDORED_DIR}\" }}"
        ),
    };
    let crate_name = name.replace('-', "_");
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{sdk_dependency}}", &dependency)
    };
    let mut files = vec![
        (PathBuf::from("Cargo.toml"), fill(CARGO_TOML)),
        (PathBuf::from("src/lib.rs"), fill(LIB_RS)),
        (PathBuf::from("sample.jsonl"), SAMPLE.to_owned()),
        (PathBuf::from("expected.jsonl"), EXPECTED.to_owned()),
        (PathBuf::from(".gitignore"), "/target\n".to_owned()),
    ];
    match &sdk {
        Some(sdk) => {
            if let Some(lock) = sdk.parent().map(|p| p.join("Cargo.lock"))
                && let Ok(text) = std::fs::read_to_string(&lock)
            {
                files.push((PathBuf::from("Cargo.lock"), text));
            }
        }
        None => {
            files.push((PathBuf::from("Cargo.lock"), VENDORED_LOCK.to_owned()));
            let copy = Path::new(VENDORED_DIR);
            files.push((copy.join("Cargo.toml"), vendored_manifest()));
            for (file, text) in VENDORED_SDK {
                // The SDK's own bindings find the WIT package two folders
                // up, where a checkout keeps it; the copy keeps it inside.
                let text = text.replace("path: \"../../wit\"", "path: \"wit\"");
                files.push((copy.join(file), text));
            }
        }
    }
    for (file, text) in &files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        std::fs::write(&path, text).map_err(|source| AuthoringError::Io {
            action: "write",
            path,
            source,
        })?;
    }
    tracing::debug!(dir = %dir.display(), sdk = ?sdk, "wrote plugin crate");
    let sdk_copied = sdk.is_none();
    Ok(Scaffold {
        sdk: sdk.unwrap_or_else(|| absolute.join(VENDORED_DIR)),
        sdk_copied,
        dir,
        files: files.into_iter().map(|(f, _)| f).collect(),
    })
}

/// Create `dir` and its parents.
fn create_dir(dir: &Path) -> Result<(), AuthoringError> {
    std::fs::create_dir_all(dir).map_err(|source| AuthoringError::Io {
        action: "create",
        path: dir.to_owned(),
        source,
    })
}

/// The `plugins/sdk` of the Sabot checkout `dir` lies in, if any.
fn find_sdk(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find_map(|ancestor| {
        let sdk = ancestor.join("plugins").join("sdk");
        let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).ok()?;
        manifest
            .contains("name = \"sabot-plugin-sdk\"")
            .then_some(sdk)
    })
}

/// Build the plugin crate in `dir` for [`TARGET`] in release mode; the path
/// of the component. Cargo's output goes to standard error.
///
/// # Errors
///
/// When the target is missing and cannot be added, cargo cannot be run,
/// the build fails, or cargo does not say where the component is.
pub fn build_plugin(dir: &Path) -> Result<PathBuf, AuthoringError> {
    ensure_target()?;
    let manifest = dir.join("Cargo.toml");
    let status = Command::new("cargo")
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .status()
        .map_err(|e| AuthoringError::Tool {
            message: format!("cannot run `cargo`: {e}; install Rust from https://rustup.rs"),
        })?;
    if !status.success() {
        return Err(AuthoringError::Tool {
            message: format!(
                "`cargo build` of `{}` failed ({status}); see its output above",
                manifest.display()
            ),
        });
    }
    component_path(&manifest)
}

/// Make sure the Rust target is installed, adding it with rustup.
fn ensure_target() -> Result<(), AuthoringError> {
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let Ok(listed) = listed else {
        // Without rustup the toolchain's own packaging decides; cargo says
        // so if the target is missing.
        eprintln!(
            "note: `rustup` not found; if the build fails for want of the target, install the \
             `{TARGET}` standard library for your Rust toolchain (with rustup: `rustup target add {TARGET}`)"
        );
        return Ok(());
    };
    let installed = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET);
    if installed {
        return Ok(());
    }
    eprintln!("adding the Rust target `{TARGET}` with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| AuthoringError::Tool {
            message: format!("cannot run `rustup target add {TARGET}`: {e}"),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(AuthoringError::Tool {
            message: format!(
                "`rustup target add {TARGET}` failed ({status}); run it by hand, it needs access to the Rust toolchain server"
            ),
        })
    }
}

/// Where cargo puts the component of the crate at `manifest`.
fn component_path(manifest: &Path) -> Result<PathBuf, AuthoringError> {
    let output = Command::new("cargo")
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .map_err(|e| AuthoringError::Tool {
            message: format!("cannot run `cargo metadata`: {e}"),
        })?;
    let unreadable = || AuthoringError::Tool {
        message: format!(
            "`cargo metadata` of `{}` did not name the crate's library; is it a plugin crate?",
            manifest.display()
        ),
    };
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|_| unreadable())?;
    let target_dir = metadata["target_directory"]
        .as_str()
        .ok_or_else(unreadable)?;
    let lib = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.first())
        .and_then(|package| package["targets"].as_array())
        .and_then(|targets| {
            targets.iter().find(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"))
            })
        })
        .and_then(|t| t["name"].as_str())
        .ok_or_else(unreadable)?;
    Ok(Path::new(target_dir)
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", lib.replace('-', "_"))))
}

/// Parse `--config KEY=VALUE` arguments into a config object. A value that
/// is JSON (`3`, `true`, `["a"]`, `"x"`) is taken as such; anything else is
/// a string.
///
/// # Errors
///
/// [`AuthoringError::Config`] for an argument without `=` or an empty key.
pub fn parse_config(args: &[String]) -> Result<serde_json::Value, AuthoringError> {
    let mut config = serde_json::Map::new();
    for arg in args {
        let Some((key, value)) = arg.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(AuthoringError::Config { arg: arg.clone() });
        };
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        config.insert(key.to_owned(), value);
    }
    Ok(serde_json::Value::Object(config))
}

/// What [`test_plugin`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReport {
    /// The output rows as JSON lines, in order.
    pub rows: Vec<String>,
    /// Sample lines (numbered from 1) the plugin rejected, and why.
    pub rejected: Vec<(usize, String)>,
    /// Sample lines (numbered from 1) that did not decode, and why.
    pub undecodable: Vec<(usize, String)>,
    /// The first difference from the expected output, if one was given.
    pub difference: Option<Difference>,
}

/// The first line where the output and the expected output differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The line number, from 1.
    pub line: usize,
    /// The expected line, or `None` past the end of the expected file.
    pub expected: Option<String>,
    /// The output line, or `None` past the end of the output.
    pub actual: Option<String>,
}

/// Run the plugin at `plugin` once over the JSON lines in `input`, with
/// `config`; compare with the JSON lines in `expect` if given.
///
/// # Errors
///
/// When a file cannot be read, no schema can be inferred from the sample,
/// or the plugin cannot be loaded, refuses its config or fails the batch.
pub fn test_plugin(
    engine: &Engine,
    plugin: &Path,
    input: &Path,
    config: &serde_json::Value,
    expect: Option<&Path>,
) -> Result<TestReport, AuthoringError> {
    let text = read(input)?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let batch_input = |message: String| AuthoringError::Input {
        path: input.to_owned(),
        message,
    };
    if lines.is_empty() {
        return Err(batch_input(
            "it holds no records; write one JSON object per line".to_owned(),
        ));
    }
    // The only failure: no line is a JSON object.
    let schema = infer_schema(lines.iter().map(|(_, l)| l.as_bytes())).map_err(|_| {
        batch_input("none of its lines is a JSON object; write one JSON object per line".to_owned())
    })?;
    let mut decoder = JsonDecoder::new(Arc::new(schema), JsonOptions::default())
        .map_err(|e| batch_input(e.to_string()))?;
    let values: Vec<Option<&[u8]>> = lines.iter().map(|(_, l)| Some(l.as_bytes())).collect();
    let decoded = decoder.decode(&values);
    let line_of = |index: u32| {
        usize::try_from(index)
            .ok()
            .and_then(|i| lines.get(i))
            .map_or(0, |(n, _)| *n)
    };
    let undecodable = decoded
        .errors
        .iter()
        .map(|e| (line_of(e.row), e.message.clone()))
        .collect();

    let raw: Vec<RawRecord> = decoded
        .rows
        .iter()
        .map(|&row| RawRecord {
            topic: Arc::from("sample"),
            partition: 0,
            offset: i64::from(row),
            timestamp_ms: None,
            key: None,
            value: None,
            headers: Vec::new(),
        })
        .collect();
    let batch = with_metadata(&decoded.batch, &raw).map_err(batch_input)?;

    let plugin = Plugin::load(engine, plugin)?;
    let mut transform = Transform::new(&plugin, config, Limits::default(), "plugin-test")?;
    let output = transform.apply(&batch)?;
    let rows = json_lines(&output.batch).map_err(|message| AuthoringError::Tool {
        message: format!("cannot write the plugin's output as JSON: {message}"),
    })?;
    let rejected = output
        .rejected
        .iter()
        .map(|r| {
            let row = usize::try_from(r.row).ok();
            let line = row
                .and_then(|i| decoded.rows.get(i))
                .map_or(0, |&index| line_of(index));
            (line, r.reason.clone())
        })
        .collect();
    let difference = match expect {
        Some(path) => {
            let expected = read(path)?;
            let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
            first_difference(&expected, &rows)
        }
        None => None,
    };
    Ok(TestReport {
        rows,
        rejected,
        undecodable,
        difference,
    })
}

/// Read a whole text file.
fn read(path: &Path) -> Result<String, AuthoringError> {
    std::fs::read_to_string(path).map_err(|source| AuthoringError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })
}

/// `values` with the metadata columns of `raw` after its columns.
fn with_metadata(values: &RecordBatch, raw: &[RawRecord]) -> Result<RecordBatch, String> {
    let schema = values.schema();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(record::metadata_fields());
    let mut columns: Vec<ArrayRef> = values.columns().to_vec();
    columns.extend(record::metadata_columns(raw));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| e.to_string())
}

/// The rows of `batch` as JSON lines (value columns only).
fn json_lines(batch: &RecordBatch) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    JsonEncoder::new()
        .encode(batch, &mut out, &mut ends)
        .map_err(|e| e.to_string())?;
    let mut start = 0;
    let mut rows = Vec::with_capacity(ends.len());
    for end in ends {
        let row = out.get(start..end).unwrap_or_default();
        rows.push(String::from_utf8_lossy(row).into_owned());
        start = end;
    }
    Ok(rows)
}

/// The first line where `expected` and `actual` differ, comparing JSON
/// lines as values.
fn first_difference(expected: &[&str], actual: &[String]) -> Option<Difference> {
    let same = |e: &str, a: &str| match (
        serde_json::from_str::<serde_json::Value>(e),
        serde_json::from_str::<serde_json::Value>(a),
    ) {
        (Ok(e), Ok(a)) => e == a,
        _ => e.trim() == a.trim(),
    };
    let lines = expected.len().max(actual.len());
    (0..lines).find_map(|i| {
        let e = expected.get(i).copied();
        let a = actual.get(i).map(String::as_str);
        let differs = match (e, a) {
            (Some(e), Some(a)) => !same(e, a),
            _ => true,
        };
        differs.then(|| Difference {
            line: i + 1,
            expected: e.map(str::to_owned),
            actual: a.map(str::to_owned),
        })
    })
}

/// Arguments of `sabot plugin`.
#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The subcommands of `sabot plugin`.
#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Write a new Rust plugin crate on the guest SDK: a transform that
    /// uppercases one string field, a unit test, and sample data.
    New {
        /// The plugin's name: lowercase letters, digits and `-`.
        name: String,
        /// The folder to create (default: `./NAME`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The guest SDK to depend on (default: the `plugins/sdk` of the
        /// Sabot checkout the folder lies in, or else a copy of the SDK
        /// written into the crate).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build a plugin crate into a WebAssembly component and print its path.
    Build {
        /// The crate's folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run a plugin once over sample JSON lines: output rows on standard
    /// output, rejections on standard error; exit 1 if they differ from
    /// `--expect`.
    Test {
        /// The plugin component.
        plugin: PathBuf,
        /// The sample: one JSON object per line.
        #[arg(long)]
        input: PathBuf,
        /// A config key and value, `KEY=VALUE`; the value is read as JSON
        /// when it is JSON, else as a string. Repeatable.
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// The expected output, one JSON object per line.
        #[arg(long)]
        expect: Option<PathBuf>,
    },
}

/// Run `sabot plugin …`.
pub fn main(args: PluginArgs) -> ExitCode {
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// [`main`], with errors returned.
fn run(args: PluginArgs) -> Result<ExitCode, AuthoringError> {
    match args.command {
        PluginCommand::New { name, dir, sdk } => {
            let scaffold = new_plugin(&name, dir.as_deref(), sdk.as_deref())?;
            println!("{}", scaffold.dir.display());
            if scaffold.sdk_copied {
                eprintln!(
                    "wrote plugin `{name}` with a copy of the plugin SDK in `{}` (no Sabot \
                     checkout around it; `--sdk PATH` uses another)",
                    scaffold.sdk.display()
                );
            } else {
                eprintln!(
                    "wrote plugin `{name}` using the SDK at `{}`",
                    scaffold.sdk.display()
                );
            }
            eprintln!(
                "next: sabot plugin build {dir} && sabot plugin test <the printed .wasm> --input {dir}/sample.jsonl --config field=name --expect {dir}/expected.jsonl",
                dir = scaffold.dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Build { dir } => {
            let path = build_plugin(&dir)?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Test {
            plugin,
            input,
            config,
            expect,
        } => {
            let config = parse_config(&config)?;
            let engine = Engine::new()?;
            let report = test_plugin(&engine, &plugin, &input, &config, expect.as_deref())?;
            for row in &report.rows {
                println!("{row}");
            }
            for (line, message) in &report.undecodable {
                eprintln!("line {line}: cannot decode: {message}");
            }
            for (line, reason) in &report.rejected {
                eprintln!("line {line}: rejected: {reason}");
            }
            match &report.difference {
                None => Ok(ExitCode::SUCCESS),
                Some(d) => {
                    let show =
                        |l: &Option<String>| l.clone().unwrap_or_else(|| "(no line)".to_owned());
                    eprintln!(
                        "output differs from `{}` at line {}:\n  expected: {}\n  actual:   {}",
                        expect.as_deref().unwrap_or(Path::new("")).display(),
                        d.line,
                        show(&d.expected),
                        show(&d.actual)
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_arguments_are_json_when_they_parse_and_strings_otherwise() {
        let args: Vec<String> = ["field=name", "n=3", "fields=[\"a\",\"b\"]", "s=\"3\"", "e="]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            parse_config(&args).unwrap(),
            json!({"field": "name", "n": 3, "fields": ["a", "b"], "s": "3", "e": ""})
        );
        let err = parse_config(&["field".to_owned()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--config field` is not `KEY=VALUE`; write e.g. `--config field=name`"
        );
    }

    #[test]
    fn a_new_plugin_inside_a_checkout_depends_on_its_sdk() {
        let root = tempfile::tempdir().unwrap();
        let sdk = root.path().join("plugins/sdk");
        std::fs::create_dir_all(&sdk).unwrap();
        std::fs::write(
            sdk.join("Cargo.toml"),
            "[package]\nname = \"sabot-plugin-sdk\"\n",
        )
        .unwrap();
        std::fs::write(root.path().join("plugins/Cargo.lock"), "# lock\n").unwrap();
        let dir = root.path().join("work/my-plugin");
        let scaffold = new_plugin("my-plugin", Some(&dir), None).unwrap();
        assert_eq!(scaffold.sdk, sdk);
        assert!(!scaffold.sdk_copied);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-plugin\""), "{manifest}");
        assert!(
            manifest.contains(&format!(
                "sabot-plugin-sdk = {{ path = \"{}\" }}",
                sdk.display()
            )),
            "{manifest}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("Cargo.lock")).unwrap(),
            "# lock\n"
        );
        let code = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(code.contains("\"my-plugin\","), "{code}");
        assert!(code.contains("release/my_plugin.wasm"), "{code}");

        // Writing over it is refused.
        let err = new_plugin("my-plugin", Some(&dir), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "`{}` already exists and is not empty; pick another `--dir` or remove it",
                dir.display()
            )
        );
    }

    #[test]
    fn a_new_plugin_outside_a_checkout_gets_a_copy_of_the_sdk_and_bad_names_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("p");
        let scaffold = new_plugin("upper", Some(&dir), None).unwrap();
        assert!(scaffold.sdk_copied);
        assert_eq!(
            scaffold.sdk,
            std::path::absolute(dir.join(VENDORED_DIR)).unwrap()
        );
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("sabot-plugin-sdk = { path = \"sabot-plugin-sdk\" }"),
            "{manifest}"
        );
        let sdk_manifest =
            std::fs::read_to_string(dir.join("sabot-plugin-sdk/Cargo.toml")).unwrap();
        for dependency in SDK_DEPENDENCIES {
            assert!(
                sdk_manifest.contains(&format!("\n{dependency} = ")),
                "{dependency} in {sdk_manifest}"
            );
        }
        let lib = std::fs::read_to_string(dir.join("sabot-plugin-sdk/src/lib.rs")).unwrap();
        assert!(
            lib.contains("path: \"wit\""),
            "the bindings read the copied WIT"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("sabot-plugin-sdk/wit/plugin.wit")).unwrap(),
            include_str!("../../wit/plugin.wit")
        );
        assert!(dir.join("Cargo.lock").exists());
        for name in ["Upper", "1up", "up_per", "up-", "", "sabot-plugin-sdk"] {
            let err = new_plugin(name, Some(&root.path().join("x")), None).unwrap_err();
            assert!(
                matches!(err, AuthoringError::InvalidName { .. }),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn the_copied_sdk_is_the_whole_sdk() {
        // Every source file of the SDK, and every dependency its manifest
        // names, is in the copy.
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk");
        let mut sources: Vec<String> = std::fs::read_dir(sdk.join("src"))
            .unwrap()
            .map(|e| format!("src/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        sources.sort();
        let mut copied: Vec<String> = VENDORED_SDK
            .iter()
            .map(|(f, _)| (*f).to_owned())
            .filter(|f| f.starts_with("src/"))
            .collect();
        copied.sort();
        assert_eq!(copied, sources);
        let manifest = std::fs::read_to_string(sdk.join("Cargo.toml")).unwrap();
        let declared: Vec<&str> = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap()
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split_once(".workspace").map(|(name, _)| name.trim()))
            .collect();
        assert_eq!(declared, SDK_DEPENDENCIES);
    }

    #[test]
    fn differences_are_found_by_json_value_and_by_length() {
        let actual = vec![r#"{"a":1,"b":2}"#.to_owned(), r#"{"a":2}"#.to_owned()];
        assert_eq!(
            first_difference(&[r#"{"b": 2, "a": 1}"#, r#"{"a":2}"#], &actual),
            None
        );
        assert_eq!(
            first_difference(&[r#"{"a":1,"b":2}"#, r#"{"a":3}"#], &actual),
            Some(Difference {
                line: 2,
                expected: Some(r#"{"a":3}"#.to_owned()),
                actual: Some(r#"{"a":2}"#.to_owned()),
            })
        );
        assert_eq!(
            first_difference(&[r#"{"a":1,"b":2}"#], &actual),
            Some(Difference {
                line: 2,
                expected: None,
                actual: Some(r#"{"a":2}"#.to_owned()),
            })
        );
    }

    #[test]
    fn the_python_plugin_runs_over_a_sample_and_is_compared_with_the_expected_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(
            &input,
            "{\"id\": 1, \"status\": \"paid\", \"email\": \"a@x\"}\n\n\
             {\"id\": 2, \"status\": \"cancelled\", \"email\": \"b@x\"}\n\
             [1]\n",
        )
        .unwrap();
        let expect = dir.path().join("expected.jsonl");
        std::fs::write(
            &expect,
            "{\"id\":1,\"status\":\"paid\",\"email\":\"[redacted]\"}\n",
        )
        .unwrap();
        let plugin =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/python-redact.wasm");
        let engine = Engine::with_cache_dir(None).unwrap();
        let config = json!({"fields": ["email"]});
        let report = test_plugin(&engine, &plugin, &input, &config, Some(&expect)).unwrap();
        assert_eq!(
            report.rows,
            vec![r#"{"id":1,"status":"paid","email":"[redacted]"}"#.to_owned()]
        );
        assert_eq!(
            report.undecodable,
            vec![(4, "value is not a JSON object (got array)".to_owned())]
        );
        assert!(report.rejected.is_empty());
        assert_eq!(report.difference, None);

        std::fs::write(
            &expect,
            "{\"id\":1,\"status\":\"paid\",\"email\":\"a@x\"}\n",
        )
        .unwrap();
        let report = test_plugin(&engine, &plugin, &input, &config, Some(&expect)).unwrap();
        assert_eq!(
            report.difference,
            Some(Difference {
                line: 1,
                expected: Some(r#"{"id":1,"status":"paid","email":"a@x"}"#.to_owned()),
                actual: Some(r#"{"id":1,"status":"paid","email":"[redacted]"}"#.to_owned()),
            })
        );
    }
}
