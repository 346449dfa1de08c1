//! Running pipelines: tasks on threads, acknowledgements, commits, and the
//! process around them (signals, the embedded broker, progress lines).
//!
//! [`run_pipelines`] is what `sabot run` calls: it starts one task thread
//! per pipeline, prints a progress line while they run, and stops them all
//! on Ctrl-C or SIGTERM, each finishing its batch in flight and committing
//! before it returns.

pub mod ack;
pub mod dead_letter;
pub mod decode;
pub mod metrics;
pub mod offsets;
pub mod task;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::plan::TaskPlan;
pub use metrics::{Metrics, Snapshot};
pub use task::{Control, TaskError, TaskSummary, run_task, run_task_guarded};

/// How a run is shown.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Print a progress line this often on standard error; never if `None`.
    pub progress: Option<Duration>,
}

/// How one pipeline's run ended.
#[derive(Debug)]
pub struct PipelineOutcome {
    /// The pipeline's name.
    pub pipeline: String,
    /// Its counters at the end.
    pub totals: Snapshot,
    /// How long it ran.
    pub elapsed: Duration,
    /// Its task's result.
    pub result: Result<TaskSummary, TaskError>,
}

/// Run `plans` until they are idle (with `until_idle`), fail, or `stop` is
/// set (by a signal handler, usually).
///
/// Each plan comes with the [`Control`] its task obeys, so the caller can
/// pause it or swap its transforms while it runs.
pub fn run_pipelines(
    plans: Vec<(TaskPlan, Arc<Control>)>,
    options: &RunOptions,
    stop: Arc<AtomicBool>,
    embedded: Option<&str>,
) -> Vec<PipelineOutcome> {
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut feeds = Vec::new();
    let feed_stop = Arc::new(AtomicBool::new(false));
    let mut watched: Vec<(String, Arc<Metrics>)> = Vec::new();
    let mut controls: Vec<Arc<Control>> = Vec::new();
    let mut unstarted: Vec<PipelineOutcome> = Vec::new();

    for (plan, control) in plans {
        if let (Some(feed), Some(bootstrap)) = (plan.feed.clone(), embedded) {
            let bootstrap = bootstrap.to_owned();
            let feed_stop = feed_stop.clone();
            let name = plan.pipeline.clone();
            feeds.push(std::thread::spawn(move || {
                if let Err(e) = crate::embedded::run_feed(&bootstrap, &feed, &feed_stop) {
                    tracing::error!(pipeline = %name, error = %e, "the embedded feed failed");
                }
            }));
        }
        let metrics = Arc::new(Metrics::default());
        watched.push((plan.pipeline.clone(), metrics.clone()));
        controls.push(control.clone());
        let name = plan.pipeline.clone();
        let handle = std::thread::Builder::new()
            .name(format!("task-{name}"))
            .spawn(move || {
                let task_started = Instant::now();
                let result = run_task_guarded(&plan, &control, &metrics);
                if let Err(e) = &result {
                    tracing::error!(pipeline = %plan.pipeline, error = %e, "pipeline failed");
                }
                PipelineOutcome {
                    pipeline: plan.pipeline.clone(),
                    totals: metrics.snapshot(),
                    elapsed: task_started.elapsed(),
                    result,
                }
            });
        match handle {
            Ok(h) => handles.push(h),
            Err(e) => {
                tracing::error!(pipeline = %name, error = %e, "cannot start a task thread");
                // Only started tasks are watched and joined.
                watched.pop();
                controls.pop();
                unstarted.push(PipelineOutcome {
                    pipeline: name,
                    totals: Snapshot::default(),
                    elapsed: Duration::ZERO,
                    result: Err(TaskError::Start(format!("cannot start a thread: {e}"))),
                });
            }
        }
    }

    // Progress lines until every task thread has finished.
    let mut last: Vec<(Instant, Snapshot)> = watched
        .iter()
        .map(|_| (Instant::now(), Snapshot::default()))
        .collect();
    let mut next_line = options.progress.map(|p| Instant::now() + p);
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(50));
        // Forward the process-wide stop flag to every task.
        if stop.load(Ordering::Acquire) {
            for c in &controls {
                c.stop.store(true, Ordering::Release);
            }
        }
        if let (Some(at), Some(every)) = (next_line, options.progress) {
            if Instant::now() >= at {
                print_progress(&watched, &mut last, started);
                next_line = Some(at + every);
            }
        }
    }
    feed_stop.store(true, Ordering::Release);
    for f in feeds {
        let _ = f.join();
    }

    let mut outcomes = unstarted;
    for (h, (name, metrics)) in handles.into_iter().zip(watched) {
        match h.join() {
            Ok(outcome) => outcomes.push(outcome),
            // `run_task_guarded` catches panics of the task itself; this
            // is one around it.
            Err(_) => outcomes.push(PipelineOutcome {
                pipeline: name,
                totals: metrics.snapshot(),
                elapsed: started.elapsed(),
                result: Err(TaskError::Panicked(
                    "the task thread panicked outside its task".to_owned(),
                )),
            }),
        }
    }
    outcomes
}

fn print_progress(
    watched: &[(String, Arc<Metrics>)],
    last: &mut [(Instant, Snapshot)],
    started: Instant,
) {
    let mut err = std::io::stderr().lock();
    for ((name, metrics), (at, before)) in watched.iter().zip(last.iter_mut()) {
        let now = metrics.snapshot();
        let secs = at.elapsed().as_secs_f64().max(1e-3);
        let rate = (now.records_in - before.records_in) as f64 / secs;
        let _ = writeln!(
            err,
            "[{:>6.1}s] {name}: {} in, {} out, {} filtered, {} dead-lettered, {:.0} records/s",
            started.elapsed().as_secs_f64(),
            now.records_in,
            now.records_out,
            now.filtered,
            now.dead_lettered,
            rate
        );
        *at = Instant::now();
        *before = now;
    }
}
