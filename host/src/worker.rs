//! A worker: named connectors, each a planned pipeline run by one or more
//! task threads, with the life cycle Kafka Connect users know.
//!
//! A connector has a *target state* — running, paused or stopped — that
//! the user sets, and tasks whose *state* the worker reports:
//!
//! | task state | when |
//! |---|---|
//! | `RUNNING` | its thread is moving records |
//! | `PAUSED` | the connector is paused: the task keeps its consumer (and its place in the group) but fetches nothing |
//! | `FAILED` | the task stopped on an error; `trace` says which, and a restart of the task starts it again |
//! | `UNASSIGNED` | the task ended on its own (its source is done) |
//! | `RESTARTING` | between the stop and the start of a restart |
//!
//! A stopped connector has no tasks. The tasks of one connector share its
//! consumer group, so Kafka splits the partitions among them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::config::{ConfigError, LoadedPipeline};
use crate::plan::{PlanOptions, SourcePlan, TaskPlan, plan};
use crate::runtime::{Control, Metrics, Snapshot, run_task_guarded};
use crate::source::datagen::SourcePosition;
use crate::source::group::{self, GroupError, GroupOffset, OffsetChange};
use crate::transform::Engine;

/// What the user asked a connector to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    /// Moving records.
    Running,
    /// Holding its resources, fetching nothing.
    Paused,
    /// No tasks at all.
    Stopped,
}

/// The state of a connector or task, as Kafka Connect names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not running anywhere.
    Unassigned,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Stopped on an error.
    Failed,
    /// Being restarted.
    Restarting,
    /// Stopped by the user.
    Stopped,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
        })
    }
}

/// One task's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    /// Its number, from 0.
    pub id: usize,
    /// Its state.
    pub state: State,
    /// Why it failed, when it did.
    pub trace: Option<String>,
    /// The worker running it.
    pub worker_id: String,
}

/// A connector's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorStatus {
    /// Its name.
    pub name: String,
    /// Its own state.
    pub state: State,
    /// Why it failed, when it did.
    pub trace: Option<String>,
    /// The worker running it.
    pub worker_id: String,
    /// Its tasks.
    pub tasks: Vec<TaskStatus>,
    /// `source` or `sink`, as Kafka Connect types connectors: a pipeline
    /// reading Kafka is a sink connector, one generating records a source.
    pub kind: &'static str,
}

/// What a connector runs.
#[derive(Debug, Clone)]
pub struct ConnectorSpec {
    /// The pipeline.
    pub pipeline: LoadedPipeline,
    /// How many tasks share its work.
    pub tasks_max: usize,
}

/// Why a worker refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// No connector of that name.
    #[error("Connector {0} not found")]
    NotFound(String),
    /// A connector of that name exists already.
    #[error("Connector {0} already exists")]
    Exists(String),
    /// The configuration does not plan.
    #[error("{0}")]
    Invalid(ConfigError),
    /// The worker is busy rearranging tasks.
    #[error("the worker is rebalancing; try again")]
    Rebalancing,
    /// The request does not fit the connector's state.
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or names what the connector does not have.
    #[error("{0}")]
    BadRequest(String),
    /// Offsets may change only while the connector is stopped.
    #[error(
        "connector {0} must be STOPPED before its offsets change; stop it with `PUT /connectors/{0}/stop` first"
    )]
    NotStopped(String),
    /// The Kafka cluster refused or did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// Something the worker cannot do.
    #[error("{0}")]
    Internal(String),
}

/// How a task thread ended, written by the thread.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Running,
    Failed(String),
    Finished,
}

/// A running (or ended) task.
struct TaskSlot {
    control: Arc<Control>,
    metrics: Arc<Metrics>,
    outcome: Arc<Mutex<Outcome>>,
    thread: Option<JoinHandle<()>>,
}

struct Connector {
    spec: ConnectorSpec,
    plan: TaskPlan,
    target: TargetState,
    tasks: Vec<TaskSlot>,
    restarting: bool,
    /// How far a generated source was acknowledged (unused for Kafka).
    position: Arc<SourcePosition>,
}

/// A connector's source offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorOffsets {
    /// The committed offsets of its consumer group, per partition.
    Kafka(Vec<GroupOffset>),
    /// Records of its generated source acknowledged so far.
    Generated(u64),
}

/// A change to a connector's source offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsChange {
    /// Move partitions of its consumer group.
    Kafka(Vec<OffsetChange>),
    /// Start its generated source after this many records.
    Generated(u64),
}

struct Inner {
    engine: Engine,
    options: PlanOptions,
    id: String,
    connectors: Mutex<BTreeMap<String, Connector>>,
}

/// Named connectors and their tasks. Cheap to clone; every clone is the
/// same worker.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Worker {
    /// A worker planning with `options`.
    ///
    /// # Errors
    ///
    /// The WebAssembly engine could not start.
    pub fn new(options: PlanOptions) -> Result<Worker, WorkerError> {
        let engine = Engine::new().map_err(|e| WorkerError::Internal(e.to_string()))?;
        Ok(Worker {
            inner: Arc::new(Inner {
                engine,
                options,
                id: "127.0.0.1:8083".to_owned(),
                connectors: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    /// The same worker under another id (shown as `worker_id`).
    pub fn with_id(self, id: String) -> Self {
        let inner = match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.id = id;
                inner
            }
            Err(shared) => Inner {
                engine: shared.engine.clone(),
                options: shared.options.clone(),
                id,
                connectors: Mutex::new(BTreeMap::new()),
            },
        };
        Worker {
            inner: Arc::new(inner),
        }
    }

    /// This worker's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    fn plan(&self, spec: &ConnectorSpec) -> Result<TaskPlan, WorkerError> {
        plan(&spec.pipeline, &self.inner.engine, &self.inner.options).map_err(WorkerError::Invalid)
    }

    /// Create connector `name`.
    ///
    /// # Errors
    ///
    /// It exists, or its pipeline does not plan.
    pub fn create(
        &self,
        name: &str,
        spec: ConnectorSpec,
        initial: TargetState,
    ) -> Result<(), WorkerError> {
        self.create_at(name, spec, initial, 0)
    }

    /// Create connector `name` with its generated source `position`
    /// records in (as kept from an earlier run).
    ///
    /// # Errors
    ///
    /// It exists, or its pipeline does not plan.
    pub fn create_at(
        &self,
        name: &str,
        spec: ConnectorSpec,
        initial: TargetState,
        position: u64,
    ) -> Result<(), WorkerError> {
        if lock(&self.inner.connectors).contains_key(name) {
            return Err(WorkerError::Exists(name.to_owned()));
        }
        let plan = self.plan(&spec)?;
        let mut connectors = lock(&self.inner.connectors);
        if connectors.contains_key(name) {
            return Err(WorkerError::Exists(name.to_owned()));
        }
        let mut connector = Connector {
            spec,
            plan,
            target: initial,
            tasks: Vec::new(),
            restarting: false,
            position: Arc::new(SourcePosition::at(position)),
        };
        if initial != TargetState::Stopped {
            start_tasks(&mut connector);
        }
        tracing::info!(
            connector = name,
            tasks = connector.tasks.len(),
            "connector created"
        );
        connectors.insert(name.to_owned(), connector);
        Ok(())
    }

    /// Replace connector `name`'s pipeline (creating it, running, if it
    /// does not exist). When only its transforms changed and its tasks are
    /// all running (or paused), each task swaps them in at its next batch
    /// boundary and keeps its consumer, so the group does not rebalance;
    /// any other change restarts the tasks with the new plan. Either way the
    /// batches already sent keep their acknowledgements and commits.
    ///
    /// # Errors
    ///
    /// The new pipeline does not plan; the old one keeps running.
    pub fn update(&self, name: &str, spec: ConnectorSpec) -> Result<bool, WorkerError> {
        let plan = self.plan(&spec)?;
        let old_tasks = {
            let mut connectors = lock(&self.inner.connectors);
            match connectors.get_mut(name) {
                Some(c) if can_swap_live(c, &spec) => {
                    for t in &c.tasks {
                        t.control.swap_transforms(plan.transforms.clone());
                    }
                    tracing::info!(
                        connector = name,
                        tasks = c.tasks.len(),
                        "connector's transforms changed; swapping them at the next batch"
                    );
                    c.spec = spec;
                    c.plan = plan;
                    return Ok(false);
                }
                None => {
                    let mut connector = Connector {
                        spec,
                        plan,
                        target: TargetState::Running,
                        tasks: Vec::new(),
                        restarting: false,
                        position: Arc::default(),
                    };
                    start_tasks(&mut connector);
                    connectors.insert(name.to_owned(), connector);
                    return Ok(true);
                }
                Some(c) => {
                    c.spec = spec;
                    c.plan = plan;
                    std::mem::take(&mut c.tasks)
                }
            }
        };
        stop_and_join(old_tasks);
        let mut connectors = lock(&self.inner.connectors);
        if let Some(c) = connectors.get_mut(name) {
            if c.target != TargetState::Stopped {
                start_tasks(c);
            }
        }
        Ok(false)
    }

    /// Every connector's name, sorted.
    pub fn names(&self) -> Vec<String> {
        lock(&self.inner.connectors).keys().cloned().collect()
    }

    /// Connector `name`'s spec.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn spec(&self, name: &str) -> Result<ConnectorSpec, WorkerError> {
        self.with(name, |c| c.spec.clone())
    }

    /// Connector `name`'s target state.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn target(&self, name: &str) -> Result<TargetState, WorkerError> {
        self.with(name, |c| c.target)
    }

    /// Connector `name`'s status.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn status(&self, name: &str) -> Result<ConnectorStatus, WorkerError> {
        let id = self.inner.id.clone();
        self.with(name, |c| {
            let tasks = c
                .tasks
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let (state, trace) = match &*lock(&t.outcome) {
                        _ if c.restarting => (State::Restarting, None),
                        Outcome::Failed(trace) => (State::Failed, Some(trace.clone())),
                        Outcome::Finished => (State::Unassigned, None),
                        Outcome::Running if t.control.source_paused.load(Ordering::Acquire) => {
                            (State::Paused, None)
                        }
                        // Waiting out an outage: still running, and the
                        // reason shows as its trace.
                        Outcome::Running => (State::Running, t.metrics.stalled()),
                    };
                    TaskStatus {
                        id: i,
                        state,
                        trace,
                        worker_id: id.clone(),
                    }
                })
                .collect();
            let state = match c.target {
                TargetState::Running => State::Running,
                TargetState::Paused => State::Paused,
                TargetState::Stopped => State::Stopped,
            };
            ConnectorStatus {
                name: name.to_owned(),
                state,
                trace: None,
                worker_id: id.clone(),
                tasks,
                kind: match c.plan.source {
                    SourcePlan::Kafka(_) => "sink",
                    SourcePlan::Datagen(_) => "source",
                },
            }
        })
    }

    /// Pause connector `name`: every task stops fetching.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn pause(&self, name: &str) -> Result<(), WorkerError> {
        let pausing = self.with(name, |c| {
            if c.target == TargetState::Stopped {
                // Kafka Connect pauses a stopped connector without tasks.
                c.target = TargetState::Paused;
                start_tasks(c);
            }
            c.target = TargetState::Paused;
            for t in &c.tasks {
                t.control.paused.store(true, Ordering::Release);
            }
            live_controls(c)
        })?;
        // A task notices at its next batch boundary; waiting for that
        // (briefly) means nothing produced after this call is consumed. A
        // task held up longer (by an outage) reports RUNNING until it
        // has paused.
        wait_until_paused(&pausing, true, PAUSE_WAIT);
        Ok(())
    }

    /// Resume connector `name` from exactly where it paused (or start its
    /// tasks if it was stopped).
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn resume(&self, name: &str) -> Result<(), WorkerError> {
        let resuming = self.with(name, |c| {
            c.target = TargetState::Running;
            if c.tasks.is_empty() {
                start_tasks(c);
            }
            for t in &c.tasks {
                t.control.paused.store(false, Ordering::Release);
            }
            live_controls(c)
        })?;
        wait_until_paused(&resuming, false, PAUSE_WAIT);
        Ok(())
    }

    /// Stop connector `name`: its tasks finish their batch, commit and end.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn stop(&self, name: &str) -> Result<(), WorkerError> {
        let tasks = self.with(name, |c| {
            c.target = TargetState::Stopped;
            std::mem::take(&mut c.tasks)
        })?;
        stop_and_join(tasks);
        Ok(())
    }

    /// Restart connector `name`'s tasks: all of them with `include_tasks`,
    /// only the failed ones with `only_failed` too. Without
    /// `include_tasks` the connector itself is re-planned and its tasks
    /// keep running, as in Kafka Connect.
    ///
    /// # Errors
    ///
    /// No such connector, or its pipeline no longer plans.
    pub fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), WorkerError> {
        let spec = self.spec(name)?;
        let plan = self.plan(&spec)?;
        let chosen: Vec<usize> = self.with(name, |c| {
            c.plan = plan;
            if !include_tasks {
                return Vec::new();
            }
            c.tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !only_failed || matches!(&*lock(&t.outcome), Outcome::Failed(_)))
                .map(|(i, _)| i)
                .collect()
        })?;
        for id in chosen {
            self.restart_task(name, id)?;
        }
        Ok(())
    }

    /// Restart task `task` of connector `name`.
    ///
    /// # Errors
    ///
    /// No such connector or task.
    pub fn restart_task(&self, name: &str, task: usize) -> Result<(), WorkerError> {
        let old = self.with(name, |c| {
            if task >= c.tasks.len() {
                return Err(WorkerError::NotFound(format!("{name} task {task}")));
            }
            c.restarting = true;
            let paused = c.target == TargetState::Paused;
            let fresh = spawn_task(c, task, paused);
            Ok(std::mem::replace(&mut c.tasks[task], fresh))
        })??;
        // The new task is started before the old one is joined: stopping
        // takes a batch, and the fresh one waits for its share of the
        // group meanwhile.
        stop_and_join(vec![old]);
        self.with(name, |c| c.restarting = false)?;
        Ok(())
    }

    /// Delete connector `name`, stopping its tasks.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn delete(&self, name: &str) -> Result<(), WorkerError> {
        let removed = lock(&self.inner.connectors)
            .remove(name)
            .ok_or_else(|| WorkerError::NotFound(name.to_owned()))?;
        stop_and_join(removed.tasks);
        tracing::info!(connector = name, "connector deleted");
        Ok(())
    }

    /// Each task's counters.
    ///
    /// # Errors
    ///
    /// No such connector.
    pub fn metrics(&self, name: &str) -> Result<Vec<(usize, Snapshot)>, WorkerError> {
        self.with(name, |c| {
            c.tasks
                .iter()
                .enumerate()
                .map(|(i, t)| (i, t.metrics.snapshot()))
                .collect()
        })
    }

    /// Connector `name`'s source offsets: its consumer group's committed
    /// offsets, or how far its generated source got.
    ///
    /// # Errors
    ///
    /// No such connector, or the cluster did not answer.
    pub fn offsets(&self, name: &str) -> Result<ConnectorOffsets, WorkerError> {
        let (source, position) = self.with(name, |c| (c.plan.source.clone(), c.position.get()))?;
        match source {
            SourcePlan::Kafka(spec) => group::committed(&spec, self.inner.options.connect_timeout)
                .map(ConnectorOffsets::Kafka)
                .map_err(group_error),
            SourcePlan::Datagen(_) => Ok(ConnectorOffsets::Generated(position)),
        }
    }

    /// Change connector `name`'s source offsets. Only while it is stopped,
    /// as in Kafka Connect, so no task races the change.
    ///
    /// # Errors
    ///
    /// No such connector, it is not stopped, the change does not fit its
    /// source, or the cluster refused.
    pub fn alter_offsets(&self, name: &str, change: OffsetsChange) -> Result<(), WorkerError> {
        let (source, position) = self.stopped_source(name)?;
        match (source, change) {
            (SourcePlan::Kafka(spec), OffsetsChange::Kafka(changes)) => {
                group::alter(&spec, &changes, self.inner.options.connect_timeout)
                    .map(drop)
                    .map_err(group_error)
            }
            (SourcePlan::Datagen(_), OffsetsChange::Generated(records)) => {
                position.set(records);
                tracing::info!(connector = name, records, "datagen position altered");
                Ok(())
            }
            (SourcePlan::Kafka(_), OffsetsChange::Generated(_)) => {
                Err(WorkerError::BadRequest(format!(
                    "connector {name} reads Kafka: name partitions as {{\"kafka_topic\": T, \"kafka_partition\": P}} and offsets as {{\"kafka_offset\": N}}"
                )))
            }
            (SourcePlan::Datagen(_), OffsetsChange::Kafka(_)) => {
                Err(WorkerError::BadRequest(format!(
                    "connector {name} generates its records: its one partition is {{\"source\": \"datagen\"}} and its offset {{\"position\": N}}"
                )))
            }
        }
    }

    /// Forget connector `name`'s source offsets: it starts again from the
    /// beginning (or, for Kafka, from its `start`). Only while stopped.
    ///
    /// # Errors
    ///
    /// No such connector, it is not stopped, or the cluster refused.
    pub fn reset_offsets(&self, name: &str) -> Result<(), WorkerError> {
        let (source, position) = self.stopped_source(name)?;
        match source {
            SourcePlan::Kafka(spec) => {
                group::reset(&spec, self.inner.options.connect_timeout).map_err(group_error)
            }
            SourcePlan::Datagen(_) => {
                position.set(0);
                tracing::info!(connector = name, "datagen position reset");
                Ok(())
            }
        }
    }

    /// How far connector `name`'s generated source got, for keeping; `None`
    /// for a Kafka source, whose offsets Kafka keeps.
    pub fn position(&self, name: &str) -> Option<u64> {
        self.with(name, |c| match c.plan.source {
            SourcePlan::Datagen(_) => Some(c.position.get()),
            SourcePlan::Kafka(_) => None,
        })
        .ok()
        .flatten()
    }

    fn stopped_source(&self, name: &str) -> Result<(SourcePlan, Arc<SourcePosition>), WorkerError> {
        self.with(name, |c| {
            if c.target != TargetState::Stopped || !c.tasks.is_empty() {
                return Err(WorkerError::NotStopped(name.to_owned()));
            }
            Ok((c.plan.source.clone(), c.position.clone()))
        })?
    }

    /// Stop every task of every connector, each committing what it did.
    pub fn shutdown(&self) {
        let tasks: Vec<TaskSlot> = lock(&self.inner.connectors)
            .values_mut()
            .flat_map(|c| std::mem::take(&mut c.tasks))
            .collect();
        stop_and_join(tasks);
    }

    fn with<R>(&self, name: &str, f: impl FnOnce(&mut Connector) -> R) -> Result<R, WorkerError> {
        let mut connectors = lock(&self.inner.connectors);
        let c = connectors
            .get_mut(name)
            .ok_or_else(|| WorkerError::NotFound(name.to_owned()))?;
        Ok(f(c))
    }
}

/// How long pausing or resuming waits for the tasks to follow.
const PAUSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The controls of `c`'s tasks whose threads are still running.
fn live_controls(c: &Connector) -> Vec<Arc<Control>> {
    c.tasks
        .iter()
        .filter(|t| t.thread.as_ref().is_some_and(|h| !h.is_finished()))
        .map(|t| t.control.clone())
        .collect()
}

/// Wait up to `limit` until every one of `controls` reports its source
/// `paused` (or fetching again, for `false`).
fn wait_until_paused(controls: &[Arc<Control>], paused: bool, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    while controls
        .iter()
        .any(|c| c.source_paused.load(Ordering::Acquire) != paused)
    {
        if std::time::Instant::now() >= deadline {
            tracing::debug!(
                paused,
                "tasks did not follow in time; their status shows it"
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// Whether `c` can take `spec` by swapping transforms in its running tasks:
/// nothing but the transforms changed and every task is alive.
fn can_swap_live(c: &Connector, spec: &ConnectorSpec) -> bool {
    c.target != TargetState::Stopped
        && !c.restarting
        && !c.tasks.is_empty()
        && spec.tasks_max == c.spec.tasks_max
        && spec
            .pipeline
            .config
            .changed_outside_transforms(&c.spec.pipeline.config)
            .is_empty()
        && c.tasks.iter().all(|t| {
            t.thread.as_ref().is_some_and(|h| !h.is_finished())
                && *lock(&t.outcome) == Outcome::Running
        })
}

fn start_tasks(c: &mut Connector) {
    let paused = c.target == TargetState::Paused;
    // A generated source is one sequence: more tasks would repeat it.
    let count = match c.plan.source {
        SourcePlan::Kafka(_) => c.spec.tasks_max.max(1),
        SourcePlan::Datagen(_) => 1,
    };
    c.tasks = (0..count).map(|i| spawn_task(c, i, paused)).collect();
}

fn spawn_task(c: &Connector, id: usize, paused: bool) -> TaskSlot {
    let plan = &c.plan;
    let mut control = Control::new(false);
    control.position = Some(c.position.clone());
    let control = Arc::new(control);
    control.paused.store(paused, Ordering::Release);
    let metrics = Arc::new(Metrics::default());
    let outcome = Arc::new(Mutex::new(Outcome::Running));
    let (plan, c, m, o) = (
        plan.clone(),
        control.clone(),
        metrics.clone(),
        outcome.clone(),
    );
    let thread = std::thread::Builder::new()
        .name(format!("task-{}-{id}", plan.pipeline))
        .spawn(move || {
            let result = run_task_guarded(&plan, &c, &m);
            *lock(&o) = match result {
                Ok(_) => Outcome::Finished,
                Err(e) => {
                    tracing::error!(connector = %plan.pipeline, task = id, error = %e, "task failed");
                    Outcome::Failed(trace(&e))
                }
            };
        });
    let thread = match thread {
        Ok(t) => Some(t),
        Err(e) => {
            *lock(&outcome) = Outcome::Failed(format!("cannot start the task's thread: {e}"));
            None
        }
    };
    TaskSlot {
        control,
        metrics,
        outcome,
        thread,
    }
}

/// The error and its causes, one per line, as a `trace`.
fn trace(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str("\nCaused by: ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn group_error(e: GroupError) -> WorkerError {
    if !matches!(e, GroupError::Invalid(_)) {
        tracing::warn!(error = %e, "connector offsets");
    }
    match e {
        GroupError::Invalid(m) => WorkerError::BadRequest(m),
        GroupError::Busy(m) => WorkerError::Conflict(m),
        GroupError::Kafka(m) => WorkerError::Unavailable(m),
    }
}

fn stop_and_join(tasks: Vec<TaskSlot>) {
    for t in &tasks {
        t.control.stop.store(true, Ordering::Release);
    }
    for mut t in tasks {
        if let Some(thread) = t.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The connector of the pipeline file `text`, with `tasks_max` tasks.
    fn spec_of(text: &str, tasks_max: usize) -> ConnectorSpec {
        let (config, secret_paths) = crate::config::load_str(text, Path::new(".")).expect("loads");
        ConnectorSpec {
            pipeline: LoadedPipeline {
                file: "gen.yaml".into(),
                base_dir: ".".into(),
                config,
                secret_paths,
            },
            tasks_max,
        }
    }

    fn spec(records: u64, out: &Path) -> ConnectorSpec {
        let text = format!(
            "apiVersion: sabot/v1\nname: gen\nsource:\n  datagen: {{ records: {records}, rate: 2000 }}\n\
             sink:\n  file: {{ path: {}, sync: false }}\n",
            out.display()
        );
        spec_of(&text, 1)
    }

    /// A datagen → mask(`mask`) → file connector of `records` orders.
    fn masking_spec(records: u64, out: &Path, mask: &str, tasks_max: usize) -> ConnectorSpec {
        let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/dist/mask.wasm");
        assert!(
            plugin.exists(),
            "`{}` is missing: run plugins/build.sh first",
            plugin.display()
        );
        let text = format!(
            "apiVersion: sabot/v1\nname: gen\nsource:\n  datagen: {{ records: {records}, rate: 2000 }}\n\
             transforms:\n  - plugin: {}\n    config: {{ fields: [customer.email], mask: {mask} }}\n\
             sink:\n  file: {{ path: {}, sync: false }}\nbatch: {{ max_records: 100, max_wait: 10ms }}\n",
            plugin.display(),
            out.display()
        );
        spec_of(&text, tasks_max)
    }

    fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..200 {
            if f() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        false
    }

    #[test]
    fn a_connector_runs_pauses_resumes_stops_and_is_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        let worker = Worker::new(PlanOptions::default()).expect("worker");
        worker
            .create("gen", spec(1_000_000, &out), TargetState::Running)
            .expect("created");
        assert!(matches!(
            worker.create("gen", spec(1, &out), TargetState::Running),
            Err(WorkerError::Exists(_))
        ));
        let lines = || {
            std::fs::read_to_string(&out)
                .unwrap_or_default()
                .lines()
                .count()
        };
        assert!(wait_for(|| lines() > 0), "records flow");
        let status = worker.status("gen").expect("status");
        assert_eq!(status.state, State::Running);
        assert_eq!(status.kind, "source");
        assert_eq!(status.tasks[0].state, State::Running);

        worker.pause("gen").expect("pause");
        assert_eq!(
            worker.status("gen").expect("status").tasks[0].state,
            State::Paused
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        let paused_at = lines();
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert_eq!(lines(), paused_at, "nothing moves while paused");

        worker.resume("gen").expect("resume");
        assert!(wait_for(|| lines() > paused_at), "records flow again");

        worker.stop("gen").expect("stop");
        let status = worker.status("gen").expect("status");
        assert_eq!(status.state, State::Stopped);
        assert!(status.tasks.is_empty());

        worker.delete("gen").expect("delete");
        assert!(matches!(worker.status("gen"), Err(WorkerError::NotFound(n)) if n == "gen"));
        assert_eq!(
            worker.delete("gen").expect_err("gone").to_string(),
            "Connector gen not found"
        );
    }

    #[test]
    fn a_config_changing_only_transforms_swaps_them_in_the_running_task() {
        const N: u64 = 4_000;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        let worker = Worker::new(PlanOptions::default()).expect("worker");
        worker
            .create("gen", masking_spec(N, &out, "AAA", 1), TargetState::Running)
            .expect("created");
        // Whole lines only: the last one may be in the middle of its write.
        let lines = || -> Vec<serde_json::Value> {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
            whole
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        };
        assert!(wait_for(|| !lines().is_empty()), "records flow");
        let created = worker
            .update("gen", masking_spec(N, &out, "BBB", 1))
            .expect("updated");
        assert!(!created);
        assert!(
            wait_for(|| lines().len() as u64 >= N),
            "only {} of {N} records arrived",
            lines().len()
        );

        // Every order once, in order; the mask changes once and for good.
        let written = lines();
        let ids: Vec<u64> = written
            .iter()
            .map(|v| v["id"].as_u64().expect("id"))
            .collect();
        assert_eq!(ids, (1..=N).collect::<Vec<u64>>());
        let masks: Vec<&str> = written
            .iter()
            .map(|v| v["customer"]["email"].as_str().expect("email"))
            .collect();
        let swapped_at = masks
            .iter()
            .position(|m| *m == "BBB")
            .expect("the new mask is used");
        assert!(swapped_at > 0, "the old mask was used first");
        assert!(masks[..swapped_at].iter().all(|m| *m == "AAA"));
        assert!(masks[swapped_at..].iter().all(|m| *m == "BBB"));
        // The same task did all of it: its counters were never reset by a
        // restart.
        let metrics = worker.metrics("gen").expect("metrics");
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].1.records_out, N);
        worker.delete("gen").expect("delete");
    }

    #[test]
    fn a_config_changing_more_than_transforms_restarts_the_tasks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        let worker = Worker::new(PlanOptions::default()).expect("worker");
        worker
            .create(
                "gen",
                masking_spec(1_000_000, &out, "AAA", 1),
                TargetState::Running,
            )
            .expect("created");
        assert!(wait_for(|| worker.metrics("gen").expect("metrics")[0]
            .1
            .records_out
            > 0));
        let elsewhere = dir.path().join("elsewhere.jsonl");
        worker
            .update("gen", masking_spec(1_000_000, &elsewhere, "AAA", 1))
            .expect("updated");
        assert!(wait_for(
            || std::fs::metadata(&elsewhere).is_ok_and(|m| m.len() > 0)
        ));
        let status = worker.status("gen").expect("status");
        assert_eq!(status.tasks[0].state, State::Running);
        worker.delete("gen").expect("delete");
    }

    #[test]
    fn a_failed_task_shows_its_trace_and_restarts() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A file sink under a path whose parent is a regular file cannot
        // create its folder.
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "x").expect("write");
        let worker = Worker::new(PlanOptions::default()).expect("worker");
        worker
            .create(
                "gen",
                spec(10, &blocker.join("out.jsonl")),
                TargetState::Running,
            )
            .expect("created");
        assert!(wait_for(|| worker.status("gen").expect("status").tasks[0]
            .state
            == State::Failed));
        let status = worker.status("gen").expect("status");
        let trace = status.tasks[0].trace.clone().expect("a trace");
        assert!(trace.contains("cannot create its directory"), "{trace}");
        worker.restart_task("gen", 0).expect("restart");
        assert!(wait_for(|| worker.status("gen").expect("status").tasks[0]
            .state
            == State::Failed));
        assert!(matches!(
            worker.restart_task("gen", 5),
            Err(WorkerError::NotFound(_))
        ));
    }
}
