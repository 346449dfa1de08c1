//! The `sabot` command line.
//!
//! `sabot run FILE...` runs pipelines; `sabot validate FILE...` loads and
//! plans them without moving a record and prints every problem. Both exit
//! with 1 when anything is wrong, so scripts and CI can rely on them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{ConfigError, LoadedPipeline, load_file};
use crate::embedded::{EmbeddedBroker, EmbeddedRegistry};
use crate::plan::{PlanOptions, SinkPlan, SourcePlan, TaskPlan, plan};
use crate::runtime::{Control, RunOptions, run_pipelines};
use crate::transform::Engine;

/// Sabot: Kafka in, Arrow batches through WebAssembly transforms, sinks out.
#[derive(Debug, Parser)]
#[command(name = "sabot", version, about, long_about = None)]
pub struct Cli {
    /// Log filter, e.g. `info`, `sabot=debug` (also read from `RUST_LOG`).
    #[arg(long, global = true, default_value = "info", env = "RUST_LOG")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run pipeline files until interrupted (Ctrl-C finishes the batch in
    /// flight, commits, and exits 0).
    Run(RunArgs),
    /// Load and plan pipeline files without moving a record; print every
    /// problem with its YAML path; exit 1 if there is any.
    Validate(ValidateArgs),
    /// Write, build and try transform plugins: `plugin new`, `plugin
    /// build`, `plugin test`.
    Plugin(crate::authoring::PluginArgs),
    /// Run a long-lived worker with Kafka Connect's REST API: create,
    /// pause, resume and restart connectors over HTTP.
    Serve(crate::api::ServeArgs),
}

/// Arguments of `sabot run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Pipeline files to run, side by side.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Exit once every source has no more records (for scripts and tests).
    #[arg(long)]
    pub until_idle: bool,
    /// Seconds between progress lines on standard error; 0 for none.
    #[arg(long, default_value_t = 2.0)]
    pub progress: f64,
    /// Seconds to wait for brokers to answer while planning.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
    /// Watch the files: when one changes and still plans cleanly, swap its
    /// pipeline's transforms (plugins and their config) at the next batch
    /// boundary, without losing or repeating committed records. Changes to
    /// other parts are reported and need a restart.
    #[arg(long)]
    pub watch: bool,
}

/// Arguments of `sabot validate`.
#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Pipeline files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not contact brokers; check the files and plugins only.
    #[arg(long)]
    pub offline: bool,
    /// Seconds to wait for brokers to answer.
    #[arg(long, default_value_t = 10)]
    pub connect_timeout: u64,
}

/// Run the parsed command line.
pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(args) => run(args),
        Command::Validate(args) => validate(args),
        Command::Plugin(args) => crate::authoring::main(args),
        Command::Serve(args) => crate::api::serve_main(args),
    }
}

/// Load every file, printing problems; `None` if any file failed.
fn load_all(files: &[PathBuf]) -> Option<Vec<LoadedPipeline>> {
    let mut loaded = Vec::new();
    let mut ok = true;
    for file in files {
        match load_file(file) {
            Ok(l) => loaded.push(l),
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
        }
    }
    ok.then_some(loaded)
}

/// Two pipelines of one run may not share a name: logs, summaries and
/// commits would mix them up.
fn duplicate_names(loaded: &[LoadedPipeline]) -> Option<String> {
    for (i, a) in loaded.iter().enumerate() {
        if let Some(b) = loaded[..i].iter().find(|b| b.config.name == a.config.name) {
            return Some(format!(
                "`{}` and `{}` both name a pipeline `{}`; give each pipeline of a run its own `name`",
                b.file.display(),
                a.file.display(),
                a.config.name
            ));
        }
    }
    None
}

/// Start the embedded broker if any pipeline wants it, with its topics.
fn start_embedded(loaded: &[LoadedPipeline]) -> Result<Option<EmbeddedBroker>, String> {
    let wants = |l: &LoadedPipeline| {
        l.config
            .source
            .kafka
            .as_ref()
            .is_some_and(|k| k.brokers.trim() == "embedded")
            || l.config
                .sink
                .kafka
                .as_ref()
                .and_then(|k| k.brokers.as_deref())
                .is_some_and(|b| b.trim() == "embedded")
            || l.config
                .errors
                .dead_letter_brokers
                .as_deref()
                .is_some_and(|b| b.trim() == "embedded")
    };
    if !loaded.iter().any(wants) {
        return Ok(None);
    }
    let broker = EmbeddedBroker::start()?;
    // Pipelines may share topics (one's sink is another's source).
    let mut created = std::collections::BTreeSet::new();
    for l in loaded.iter().filter(|l| wants(l)) {
        let partitions = l
            .config
            .source
            .kafka
            .as_ref()
            .and_then(|k| k.embedded.as_ref())
            .map_or(crate::config::defaults::embedded_partitions(), |e| {
                e.partitions
            });
        let mut topics: Vec<String> = Vec::new();
        if let Some(k) = &l.config.source.kafka {
            topics.extend(k.topics.clone().unwrap_or_default());
        }
        if let Some(k) = &l.config.sink.kafka {
            topics.push(k.topic.clone());
        }
        if let Some(t) = &l.config.errors.dead_letter_topic {
            topics.push(t.clone());
        }
        topics.sort();
        topics.dedup();
        for topic in topics {
            if created.insert(topic.clone()) {
                broker.create_topic(&topic, partitions)?;
            }
        }
    }
    eprintln!(
        "note: using the embedded broker at {} (in-memory, dev only: its data is gone when sabot exits)",
        broker.bootstrap()
    );
    Ok(Some(broker))
}

/// Start the embedded schema registry if any pipeline names it.
fn start_embedded_registry(loaded: &[LoadedPipeline]) -> Result<Option<EmbeddedRegistry>, String> {
    let embedded = |r: Option<&crate::config::RegistryConfig>| {
        r.is_some_and(|r| r.url.trim() == crate::plan::EMBEDDED_REGISTRY)
    };
    let wants = |l: &LoadedPipeline| {
        let c = &l.config;
        let source = c.source.kafka.as_ref().map(|k| &k.format);
        let sink = c.sink.kafka.as_ref().map(|k| &k.format);
        embedded(c.schema_registry.as_ref())
            || source.is_some_and(|f| {
                embedded(f.avro.as_ref().and_then(|a| a.registry.as_ref()))
                    || embedded(f.protobuf.as_ref().and_then(|p| p.registry.as_ref()))
                    || embedded(f.json_schema.as_ref().and_then(|j| j.registry.as_ref()))
            })
            || sink.is_some_and(|f| match f {
                crate::config::SinkFormat::Registered(r) => embedded(r.options.registry.as_ref()),
                _ => false,
            })
    };
    if !loaded.iter().any(wants) {
        return Ok(None);
    }
    let registry = EmbeddedRegistry::start()?;
    eprintln!(
        "note: using the embedded schema registry at {} (in-memory, dev only: its schemas are gone when sabot exits)",
        registry.url()
    );
    Ok(Some(registry))
}

fn engine() -> Option<Engine> {
    match Engine::new() {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("error: cannot start the WebAssembly engine: {e}");
            None
        }
    }
}

fn plan_all(
    loaded: &[LoadedPipeline],
    engine: &Engine,
    options: &PlanOptions,
) -> Result<Vec<TaskPlan>, Vec<ConfigError>> {
    let mut plans = Vec::new();
    let mut errors = Vec::new();
    for l in loaded {
        match plan(l, engine, options) {
            Ok(p) => plans.push(p),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(plans)
    } else {
        Err(errors)
    }
}

fn run(args: RunArgs) -> ExitCode {
    if !(0.0..=3600.0).contains(&args.progress) {
        eprintln!(
            "error: `--progress {}` is not a number of seconds from 0 (no progress lines) to 3600",
            args.progress
        );
        return ExitCode::FAILURE;
    }
    let Some(loaded) = load_all(&args.files) else {
        return ExitCode::FAILURE;
    };
    if let Some(message) = duplicate_names(&loaded) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let embedded = match start_embedded(&loaded) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let registry = match start_embedded_registry(&loaded) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = PlanOptions {
        check_brokers: true,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        embedded: embedded.as_ref().map(|e| e.bootstrap().to_owned()),
        embedded_registry: registry.as_ref().map(|r| r.url().to_owned()),
    };
    let Some(engine) = engine() else {
        return ExitCode::FAILURE;
    };
    let plans = match plan_all(&loaded, &engine, &options) {
        Ok(p) => p,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal while stopping exits at once.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone());
        let _ = signal_hook::flag::register(signal, stop.clone());
    }
    let run_options = RunOptions {
        progress: (args.progress > 0.0).then(|| Duration::from_secs_f64(args.progress)),
    };
    let controls: Vec<Arc<Control>> = plans
        .iter()
        .map(|_| Arc::new(Control::new(args.until_idle)))
        .collect();
    let finished = Arc::new(AtomicBool::new(false));
    let watcher = args.watch.then(|| {
        let (loaded, controls, finished) = (loaded.clone(), controls.clone(), finished.clone());
        let (engine, options) = (engine.clone(), options.clone());
        std::thread::spawn(move || watch(&loaded, &controls, &engine, &options, &finished))
    });
    let outcomes = run_pipelines(
        plans.into_iter().zip(controls).collect(),
        &run_options,
        stop,
        embedded.as_ref().map(|e| e.bootstrap()),
    );
    finished.store(true, Ordering::Release);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    let mut failed = false;
    for o in &outcomes {
        let t = &o.totals;
        let secs = o.elapsed.as_secs_f64().max(1e-3);
        match &o.result {
            Ok(_) => eprintln!(
                "{}: done in {:.1}s: {} records in, {} out, {} filtered, {} dead-lettered ({:.0} records/s)",
                o.pipeline,
                secs,
                t.records_in,
                t.records_out,
                t.filtered,
                t.dead_lettered,
                t.records_in as f64 / secs
            ),
            Err(e) => {
                failed = true;
                eprintln!(
                    "error: pipeline `{}` failed after {} records in, {} out: {e}",
                    o.pipeline, t.records_in, t.records_out
                );
            }
        }
    }
    drop(embedded);
    drop(registry);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn validate(args: ValidateArgs) -> ExitCode {
    // Every file is read as far as it goes; a file with problems in its
    // keys or values is still planned (plugins loaded, brokers asked when
    // nothing else is wrong), so that one run lists every problem.
    let checked: Vec<(Option<LoadedPipeline>, ConfigError)> = args
        .files
        .iter()
        .map(|f| crate::config::check_file(f))
        .collect();
    let readable: Vec<LoadedPipeline> = checked.iter().filter_map(|(l, _)| l.clone()).collect();
    if let Some(message) = duplicate_names(&readable) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let embedded = if args.offline {
        None
    } else {
        match start_embedded(&readable) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let registry = match start_embedded_registry(&readable) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = PlanOptions {
        check_brokers: !args.offline,
        connect_timeout: Duration::from_secs(args.connect_timeout),
        embedded: Some(
            embedded
                .as_ref()
                .map_or_else(|| "127.0.0.1:9".to_owned(), |e| e.bootstrap().to_owned()),
        ),
        embedded_registry: registry.as_ref().map(|r| r.url().to_owned()),
    };
    let Some(engine) = engine() else {
        return ExitCode::FAILURE;
    };
    let mut failed = false;
    for (loaded, mut error) in checked {
        let planned = loaded.as_ref().map(|l| {
            // A file that read with problems is planned without asking
            // brokers: their answer would add nothing to fix first.
            let options = PlanOptions {
                check_brokers: options.check_brokers && error.problems.is_empty(),
                ..options.clone()
            };
            plan(l, &engine, &options)
        });
        match planned {
            Some(Ok(p)) if error.problems.is_empty() => {
                println!("ok: `{}`: {}", error.file.display(), describe(&p));
                continue;
            }
            Some(Err(e)) => {
                for problem in e.problems {
                    if !error.problems.contains(&problem) {
                        error.problems.push(problem);
                    }
                }
            }
            _ => {}
        }
        failed = true;
        eprintln!("error: {error}");
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Watch `loaded`'s files until `finished`; swap the transforms of a
/// pipeline whose file changed and plans cleanly.
fn watch(
    loaded: &[LoadedPipeline],
    controls: &[Arc<Control>],
    engine: &Engine,
    options: &PlanOptions,
    finished: &AtomicBool,
) {
    let modified = |l: &LoadedPipeline| std::fs::metadata(&l.file).and_then(|m| m.modified()).ok();
    let mut seen: Vec<_> = loaded.iter().map(modified).collect();
    while !finished.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(250));
        for (i, l) in loaded.iter().enumerate() {
            let now = modified(l);
            if now == seen[i] {
                continue;
            }
            seen[i] = now;
            let fresh = match load_file(&l.file) {
                Ok(fresh) => fresh,
                Err(e) => {
                    eprintln!("warning: {e}\n  the running pipeline keeps its current version");
                    continue;
                }
            };
            let changed = fresh.config.changed_outside_transforms(&l.config);
            if !changed.is_empty() {
                eprintln!(
                    "warning: `{}` changed outside `transforms` ({}); only transforms change while running, restart for the rest",
                    l.file.display(),
                    changed.join(", ")
                );
            }
            if format!("{:?}", fresh.config.transforms) == format!("{:?}", l.config.transforms) {
                // Nothing to swap; what did change was reported above.
                continue;
            }
            match plan(&fresh, engine, options) {
                Ok(p) => {
                    eprintln!(
                        "note: `{}` changed; swapping the transforms of `{}` at the next batch",
                        l.file.display(),
                        p.pipeline
                    );
                    controls[i].swap_transforms(p.transforms);
                }
                Err(e) => {
                    eprintln!("warning: {e}\n  the running pipeline keeps its current version")
                }
            }
        }
    }
}

/// One line saying what a plan does.
fn describe(plan: &TaskPlan) -> String {
    let source = match &plan.source {
        SourcePlan::Kafka(k) => format!("kafka {}", k.subscription.join(",")),
        SourcePlan::Datagen(_) => "datagen".to_owned(),
    };
    let transforms: Vec<&str> = plan.transforms.iter().map(|t| t.name.as_str()).collect();
    let sink = match &plan.sink {
        SinkPlan::Kafka(k) => format!("kafka {}", k.topic),
        SinkPlan::File { path, .. } => format!("file {}", path.display()),
        SinkPlan::Stdout => "stdout".to_owned(),
        SinkPlan::Parquet(spec) => format!("parquet {}", spec.dir.display()),
    };
    format!(
        "pipeline `{}`: {source} → [{}] → {sink}",
        plan.pipeline,
        transforms.join(" → ")
    )
}
