//! One task: the loop that moves batches from a source to a sink.
//!
//! A task runs on its own thread and repeats five steps: poll a batch of
//! raw records; decode their values into Arrow (undecodable records become
//! bad records); pass the batch through each transform (rows a plugin
//! rejects become bad records); hand bad records to the dead-letter path
//! and the rest to the sink; commit source offsets for the batches that
//! are acknowledged in full. Up to [`MAX_IN_FLIGHT`] batches may wait for
//! their acknowledgement while the next ones are processed, which keeps
//! memory bounded and the broker busy.
//!
//! The task checks its [`Control`] between batches: a stop request
//! finishes the batch in flight, waits for its acknowledgement, commits and
//! returns; a pause stops fetching (the consumer stays in its group).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};

use super::ack::{BatchAck, lock};
use super::dead_letter::{BadRecord, DeadLetter};
use super::decode::{DecodeFailure, Decoder};
use super::metrics::{Metrics, PluginTime};
use super::offsets::{OffsetTracker, TopicPartition};
use crate::config::BadRecordPolicy;
use crate::plan::{SinkPlan, SourcePlan, TaskPlan};
use crate::record::{self, RawRecord};
use crate::sink::Sink;
use crate::sink::file::{FileSink, StdoutSink};
use crate::sink::kafka::{KafkaSink, producer};
use crate::sink::parquet::ParquetSink;
use crate::source::Source;
use crate::source::datagen::{DatagenSource, SourcePosition};
use crate::source::kafka::KafkaSource;
use crate::transform::Transform;

/// Batches that may wait for acknowledgement at once.
pub const MAX_IN_FLIGHT: usize = 8;

/// How often acknowledged offsets are committed while running.
const COMMIT_INTERVAL: Duration = Duration::from_millis(500);

/// How long a source must stay idle before `until_idle` ends the task.
const IDLE_GRACE: Duration = Duration::from_millis(300);

/// How long the first records of a topic are gathered for a schema to be
/// inferred from, at most.
const INFER_WAIT: Duration = Duration::from_secs(5);

/// How long the task waits for outstanding acknowledgements when it stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Requests to a running task.
#[derive(Default)]
pub struct Control {
    /// Finish the batch in flight, commit, and return.
    pub stop: AtomicBool,
    /// Stop fetching until cleared.
    pub paused: AtomicBool,
    /// Set by the task once its source has stopped fetching after
    /// [`Control::paused`] was set, cleared once it fetches again: what a
    /// status reports as `PAUSED`.
    pub source_paused: AtomicBool,
    /// Return once the source is idle.
    pub until_idle: bool,
    /// New transforms to swap in at the next batch boundary.
    swap: Mutex<Option<Vec<crate::plan::TransformPlan>>>,
    /// Where a generated source starts and how far it was acknowledged,
    /// when its progress is kept across runs.
    pub position: Option<Arc<SourcePosition>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("stop", &self.stop)
            .field("paused", &self.paused)
            .field("source_paused", &self.source_paused)
            .field("until_idle", &self.until_idle)
            .finish_non_exhaustive()
    }
}

impl Control {
    /// A control for a task that runs until stopped (or, with
    /// `until_idle`, until its source is idle).
    pub fn new(until_idle: bool) -> Self {
        Control {
            until_idle,
            ..Control::default()
        }
    }

    /// Replace the task's transforms once the batch in flight is through.
    /// The batches already sent keep their acknowledgements and commits,
    /// so no committed record is lost or repeated by the swap.
    pub fn swap_transforms(&self, transforms: Vec<crate::plan::TransformPlan>) {
        *self.swap.lock().unwrap_or_else(|p| p.into_inner()) = Some(transforms);
    }

    fn take_swap(&self) -> Option<Vec<crate::plan::TransformPlan>> {
        self.swap.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Why a task ended before it was asked to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// A part could not be started.
    #[error("cannot start: {0}")]
    Start(String),
    /// A bad record met the `fail` policy.
    #[error(
        "bad record at {topic}/{partition}@{offset} ({stage}): {message}; \
         set `errors.on_bad_record: dead-letter` to set bad records aside instead"
    )]
    BadRecord {
        /// Where the record came from.
        topic: String,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// The stage that refused it.
        stage: String,
        /// Why.
        message: String,
    },
    /// A plugin failed on a batch.
    #[error("transform `{name}` failed on the batch starting at {first}: {message}")]
    Transform {
        /// The transform's name.
        name: String,
        /// `topic/partition@offset` of the batch's first record.
        first: String,
        /// The plugin's failure.
        message: String,
    },
    /// The source failed.
    #[error("{0}")]
    Source(#[from] crate::source::SourceError),
    /// The sink failed.
    #[error("{0}")]
    Sink(#[from] crate::sink::SinkError),
    /// Records were not acknowledged.
    #[error("records were not acknowledged: {0}")]
    Ack(String),
    /// A service the batch needs (the schema registry) is unreachable;
    /// the batch is tried again.
    #[error("{0}")]
    Outage(String),
    /// Records could not be decoded at all (not one bad record: the
    /// decoder itself).
    #[error("cannot decode: {0}")]
    Decode(String),
    /// The task hit a bug in Sabot and stopped; its batch in flight was
    /// not committed.
    #[error("the task stopped on an internal error (a bug in sabot; please report it): {0}")]
    Panicked(String),
}

/// [`run_task`], with a panic inside it turned into
/// [`TaskError::Panicked`] so the caller can report it like any failure.
///
/// # Errors
///
/// As [`run_task`].
pub fn run_task_guarded(
    plan: &TaskPlan,
    control: &Control,
    metrics: &Metrics,
) -> Result<TaskSummary, TaskError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_task(plan, control, metrics)
    }))
    .unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Err(TaskError::Panicked(message))
    })
}

/// What a task did, at its end.
#[derive(Debug, Clone, Default)]
pub struct TaskSummary {
    /// The last committed position per partition.
    pub committed: BTreeMap<TopicPartition, i64>,
}

/// Run one task of `plan` until it is stopped, idle (with `until_idle`)
/// or failed.
///
/// # Errors
///
/// Why the task stopped on its own.
pub fn run_task(
    plan: &TaskPlan,
    control: &Control,
    metrics: &Metrics,
) -> Result<TaskSummary, TaskError> {
    let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
    let mut task = Task::start(plan, tracker.clone(), metrics, control.position.clone())?;
    let result = task.run(control);
    let drained = task.drain();
    match (result, drained) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(())) => Ok(TaskSummary {
            committed: task.committed,
        }),
    }
}

/// The parts of a running task.
struct Task<'a> {
    plan: &'a TaskPlan,
    metrics: &'a Metrics,
    tracker: Arc<Mutex<OffsetTracker>>,
    source: Box<dyn Source>,
    decoder: Decoder,
    /// Each transform: its name, its instance, and the counter of the
    /// time spent in it (kept by name across swaps).
    transforms: Vec<(String, Transform, Arc<PluginTime>)>,
    sink: Box<dyn Sink>,
    dead_letter: Option<DeadLetter>,
    next_batch: u64,
    /// When the source handed over the records being processed: where a
    /// batch's latency starts.
    polled_at: Instant,
    last_commit: Instant,
    committed: BTreeMap<TopicPartition, i64>,
}

impl<'a> Task<'a> {
    fn start(
        plan: &'a TaskPlan,
        tracker: Arc<Mutex<OffsetTracker>>,
        metrics: &'a Metrics,
        position: Option<Arc<SourcePosition>>,
    ) -> Result<Self, TaskError> {
        let source: Box<dyn Source> = match &plan.source {
            SourcePlan::Kafka(spec) => Box::new(KafkaSource::new(spec, tracker.clone())?),
            SourcePlan::Datagen(config) => {
                Box::new(DatagenSource::new(config, position.unwrap_or_default()))
            }
        };
        let sink: Box<dyn Sink> = match &plan.sink {
            SinkPlan::Kafka(spec) => Box::new(KafkaSink::new(spec.clone())?),
            SinkPlan::File { path, sync } => Box::new(FileSink::open(path, *sync)?),
            SinkPlan::Stdout => Box::new(StdoutSink::new()),
            SinkPlan::Parquet(spec) => Box::new(ParquetSink::open(spec.clone())?),
        };
        let dead_letter = match &plan.dead_letter {
            Some(dl) => {
                let producer = producer(&dl.brokers, &BTreeMap::new()).map_err(|e| {
                    TaskError::Start(format!(
                        "cannot create the dead-letter producer for `{}`: {e}",
                        dl.brokers
                    ))
                })?;
                Some(DeadLetter::new(&plan.pipeline, &dl.topic, producer))
            }
            None => None,
        };
        let mut transforms = Vec::with_capacity(plan.transforms.len());
        for t in &plan.transforms {
            let instance = Transform::with_grants(
                &t.plugin,
                &t.config,
                t.limits.clone(),
                t.grants.clone(),
                &plan.pipeline,
            )
            .map_err(|e| TaskError::Start(e.to_string()))?;
            transforms.push((t.name.clone(), instance, metrics.plugin(&t.name)));
        }
        Ok(Task {
            plan,
            metrics,
            tracker,
            source,
            decoder: Decoder::new(&plan.decoder).map_err(TaskError::Start)?,
            transforms,
            sink,
            dead_letter,
            next_batch: 0,
            polled_at: Instant::now(),
            last_commit: Instant::now(),
            committed: BTreeMap::new(),
        })
    }

    fn run(&mut self, control: &Control) -> Result<(), TaskError> {
        let mut raw: Vec<RawRecord> = Vec::with_capacity(self.plan.max_records);
        let mut paused = false;
        let mut idle_since: Option<Instant> = None;
        while !control.stop.load(Ordering::Acquire) {
            if let Some(plans) = control.take_swap() {
                self.swap(plans);
            }
            let want_pause = control.paused.load(Ordering::Acquire);
            if want_pause != paused {
                if want_pause {
                    self.source.pause()?;
                    tracing::info!(pipeline = %self.plan.pipeline, "paused");
                } else {
                    self.source.resume()?;
                    tracing::info!(pipeline = %self.plan.pipeline, "resumed");
                }
                paused = want_pause;
                control.source_paused.store(paused, Ordering::Release);
            }

            raw.clear();
            let want = self.decoder.records_wanted(self.plan.max_records);
            let mut status = self.source.poll_batch(want, self.plan.max_wait, &mut raw)?;
            if let Some(needed) = self.decoder.inferring()
                && !raw.is_empty()
            {
                // The schema comes from the first `infer_records` records,
                // not from whatever the first poll happened to bring: keep
                // reading until there are that many, the source has no
                // more, a few seconds have passed, or the task is asked to
                // pause or stop.
                let deadline = Instant::now() + INFER_WAIT;
                while raw.len() < needed
                    && !status.idle
                    && Instant::now() < deadline
                    && !control.stop.load(Ordering::Acquire)
                    && !control.paused.load(Ordering::Acquire)
                {
                    status = self.source.poll_batch(want, self.plan.max_wait, &mut raw)?;
                }
            }
            self.check_failure()?;
            // The records are the task's from here: their batches'
            // latency starts now.
            self.polled_at = Instant::now();
            if let Some(lag) = self.source.lag() {
                self.metrics.set_lag(lag);
            }

            if raw.is_empty() {
                self.sink.tick().map_err(TaskError::Sink)?;
                self.commit(false)?;
                if control.until_idle && status.idle && !paused {
                    let since = *idle_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= IDLE_GRACE && self.sink.holds_acknowledgements() {
                        // Idle for good: close the open file so its rows
                        // are acknowledged and committed.
                        self.sink.flush(DRAIN_TIMEOUT).map_err(TaskError::Sink)?;
                    }
                    if since.elapsed() >= IDLE_GRACE && lock(&self.tracker).in_flight() == 0 {
                        tracing::info!(pipeline = %self.plan.pipeline, "source is idle; stopping");
                        return Ok(());
                    }
                } else {
                    idle_since = None;
                }
                continue;
            }
            idle_since = None;

            // Values written with several schemas decode as one batch per
            // run of the same schema.
            let mut start = 0;
            while start < raw.len() {
                let end = self
                    .decoder
                    .run_end(&raw, start)
                    .clamp(start + 1, raw.len());
                self.process_retrying(&raw[start..end], control)?;
                self.wait_for_room()?;
                start = end;
            }
            self.commit(false)?;
        }
        Ok(())
    }

    /// [`Task::process`], waiting out an outage of the schema registry
    /// (with a growing pause, logged) until it passes or the task is
    /// stopped; on a stop the records stay uncommitted and are read again.
    fn process_retrying(&mut self, raw: &[RawRecord], control: &Control) -> Result<(), TaskError> {
        let mut pause = Duration::from_millis(200);
        loop {
            match self.process(raw) {
                Err(TaskError::Outage(reason)) => {
                    self.metrics.set_stalled(Some(reason.clone()));
                    tracing::warn!(
                        pipeline = %self.plan.pipeline,
                        first = %first_position(raw),
                        error = %reason,
                        retry_in_ms = pause.as_millis() as u64,
                        "waiting for the schema registry"
                    );
                    let until = Instant::now() + pause;
                    while Instant::now() < until {
                        if control.stop.load(Ordering::Acquire) {
                            return Err(TaskError::Outage(reason));
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                other => {
                    self.metrics.set_stalled(None);
                    return other;
                }
            }
        }
    }

    /// Instantiate `plans` and put them in place of the current
    /// transforms; on any failure keep the current ones.
    fn swap(&mut self, plans: Vec<crate::plan::TransformPlan>) {
        let mut fresh = Vec::with_capacity(plans.len());
        for t in &plans {
            match Transform::with_grants(
                &t.plugin,
                &t.config,
                t.limits.clone(),
                t.grants.clone(),
                &self.plan.pipeline,
            ) {
                Ok(instance) => {
                    fresh.push((t.name.clone(), instance, self.metrics.plugin(&t.name)))
                }
                Err(e) => {
                    tracing::error!(
                        pipeline = %self.plan.pipeline,
                        transform = %t.name,
                        error = %e,
                        "cannot start the new transforms; keeping the current ones"
                    );
                    return;
                }
            }
        }
        let names: Vec<&str> = plans.iter().map(|t| t.name.as_str()).collect();
        tracing::info!(
            pipeline = %self.plan.pipeline,
            transforms = ?names,
            first_batch = self.next_batch,
            "transforms swapped"
        );
        self.transforms = fresh;
    }

    /// Decode, transform and send one batch.
    fn process(&mut self, raw: &[RawRecord]) -> Result<(), TaskError> {
        Metrics::add(&self.metrics.records_in, raw.len());
        let mut bad: Vec<(usize, BadRecord)> = Vec::new();

        let (mut batch, decode_errors) = self.decoder.decode(raw).map_err(|e| match e {
            DecodeFailure::Outage(m) => TaskError::Outage(m),
            DecodeFailure::Fatal(m) => TaskError::Decode(m),
        })?;
        for (index, message) in decode_errors {
            bad.push((
                index,
                BadRecord {
                    stage: "decode".to_owned(),
                    class: "decode",
                    message,
                },
            ));
        }

        let dead_lettering =
            self.plan.policy == BadRecordPolicy::DeadLetter && self.dead_letter.is_some();
        for (name, transform, time) in &mut self.transforms {
            if batch.num_rows() == 0 {
                break;
            }
            let rows_in = batch.num_rows();
            let mut index: Option<OriginIndex> = None;
            let started = Instant::now();
            let applied = transform.apply(&batch);
            time.record(started.elapsed());
            let output = match applied {
                Ok(output) => output,
                Err(e) if dead_lettering => {
                    // The plugin failed on the whole batch (a trap, a
                    // timeout, running out of memory, or an error or bad
                    // output of its own): under `dead-letter` its rows are
                    // bad records, and the next batch gets a fresh start.
                    let class = if e.is_crash() {
                        "plugin-crash"
                    } else {
                        "plugin-failed"
                    };
                    tracing::warn!(
                        pipeline = %self.plan.pipeline,
                        transform = %name,
                        first = %first_position(raw),
                        error = %e,
                        rows = rows_in,
                        "transform failed on a batch; its rows go to the dead-letter topic"
                    );
                    for row in 0..rows_in {
                        match origin_of(&batch, row, raw, &mut index) {
                            Some(i) => bad.push((
                                i,
                                BadRecord {
                                    stage: format!("transform:{name}"),
                                    class,
                                    message: e.to_string(),
                                },
                            )),
                            None => {
                                return Err(TaskError::Transform {
                                    name: name.clone(),
                                    first: first_position(raw),
                                    message: format!(
                                        "{e}; and its rows cannot be dead-lettered: an earlier \
                                         transform removed or changed their `{}`/`{}`/`{}` columns",
                                        record::TOPIC,
                                        record::PARTITION,
                                        record::OFFSET
                                    ),
                                });
                            }
                        }
                    }
                    batch = RecordBatch::new_empty(batch.schema());
                    break;
                }
                Err(e) => {
                    return Err(TaskError::Transform {
                        name: name.clone(),
                        first: first_position(raw),
                        message: e.to_string(),
                    });
                }
            };
            for rejection in &output.rejected {
                let origin = origin_of(&batch, rejection.row as usize, raw, &mut index);
                match origin {
                    Some(i) => bad.push((
                        i,
                        BadRecord {
                            stage: format!("transform:{name}"),
                            class: "rejected",
                            message: rejection.reason.clone(),
                        },
                    )),
                    None => {
                        return Err(TaskError::Transform {
                            name: name.clone(),
                            first: first_position(raw),
                            message: format!(
                                "rejected row {} but the row's `{}`/`{}`/`{}` columns name no record \
                                 of the batch; keep the metadata columns on rows as they came",
                                rejection.row,
                                record::TOPIC,
                                record::PARTITION,
                                record::OFFSET
                            ),
                        });
                    }
                }
            }
            let dropped = rows_in
                .saturating_sub(output.batch.num_rows())
                .saturating_sub(output.rejected.len());
            Metrics::add(&self.metrics.filtered, dropped);
            batch = output.batch;
        }

        bad.sort_by_key(|(i, _)| *i);
        let dead_letter = match (&self.plan.policy, &self.dead_letter) {
            (BadRecordPolicy::DeadLetter, Some(dl)) => Some(dl),
            _ => None,
        };
        if let (Some((i, why)), None) = (bad.first(), dead_letter) {
            // The batch is not registered, so nothing of it is committed.
            let r = &raw[*i];
            return Err(TaskError::BadRecord {
                topic: r.topic.to_string(),
                partition: r.partition,
                offset: r.offset,
                stage: why.stage.clone(),
                message: why.message.clone(),
            });
        }

        let id = self.next_batch;
        self.next_batch += 1;
        lock(&self.tracker).begin(id, &positions(raw));
        let ack = BatchAck::new(id, self.tracker.clone());

        if let Some(dl) = dead_letter {
            for (i, why) in &bad {
                if let Err(e) = dl.send(&raw[*i], why, &ack) {
                    return Err(TaskError::Ack(e));
                }
                tracing::debug!(
                    pipeline = %self.plan.pipeline,
                    topic = %raw[*i].topic,
                    partition = raw[*i].partition,
                    offset = raw[*i].offset,
                    stage = %why.stage,
                    "record dead-lettered"
                );
            }
            Metrics::add(&self.metrics.dead_lettered, bad.len());
        }

        if batch.num_rows() > 0 {
            if let Err(e) = self.sink.write(&batch, &ack) {
                // The batch can never be acknowledged now; say so, so the
                // drain does not wait for it.
                ack.fail(e.to_string());
                return Err(e.into());
            }
            Metrics::add(&self.metrics.records_out, batch.num_rows());
        }
        ack.seal();
        Metrics::add(&self.metrics.batches, 1);
        self.metrics.batch_latency.observe(self.polled_at.elapsed());
        Ok(())
    }

    /// Block while too many batches wait for acknowledgement.
    fn wait_for_room(&mut self) -> Result<(), TaskError> {
        // A sink that acknowledges when it closes a file holds batches by
        // design; waiting for them would wait for ever.
        if self.sink.holds_acknowledgements() {
            return self.check_failure();
        }
        while lock(&self.tracker).in_flight() >= MAX_IN_FLIGHT {
            self.check_failure()?;
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    }

    fn check_failure(&self) -> Result<(), TaskError> {
        match lock(&self.tracker).failure() {
            Some((_, reason)) => Err(TaskError::Ack(reason.clone())),
            None => Ok(()),
        }
    }

    /// Commit what is acknowledged, at most every [`COMMIT_INTERVAL`]
    /// unless `now`.
    fn commit(&mut self, now: bool) -> Result<(), TaskError> {
        if !now && self.last_commit.elapsed() < COMMIT_INTERVAL {
            return Ok(());
        }
        self.last_commit = Instant::now();
        // Acknowledged means stored (and synced, for files that ask), so
        // nothing needs flushing before the commit.
        let offsets = lock(&self.tracker).take_committable();
        if offsets.is_empty() {
            return Ok(());
        }
        self.source.commit(&offsets)?;
        Metrics::add(&self.metrics.commits, 1);
        for (topic, partition, offset) in offsets {
            tracing::trace!(pipeline = %self.plan.pipeline, %topic, partition, offset, "committed");
            self.committed.insert((topic, partition), offset);
        }
        Ok(())
    }

    /// Wait for everything handed out, then commit it.
    fn drain(&mut self) -> Result<(), TaskError> {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        let flushed = self.sink.flush(DRAIN_TIMEOUT);
        if let Some(dl) = &self.dead_letter {
            dl.flush(DRAIN_TIMEOUT).map_err(TaskError::Ack)?;
        }
        while lock(&self.tracker).in_flight() > 0 && Instant::now() < deadline {
            if lock(&self.tracker).failure().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        // Commit whatever was acknowledged, even when something failed:
        // acknowledged records must not be read again needlessly.
        let offsets = lock(&self.tracker).take_committable();
        if !offsets.is_empty() {
            self.source.commit(&offsets)?;
            for (topic, partition, offset) in offsets {
                self.committed.insert((topic, partition), offset);
            }
        }
        flushed?;
        self.check_failure()
    }
}

/// For each partition in the batch, the offset after its last record.
fn positions(raw: &[RawRecord]) -> BTreeMap<TopicPartition, i64> {
    let mut out: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    for r in raw {
        let next = r.offset + 1;
        out.entry((r.topic.clone(), r.partition))
            .and_modify(|o| *o = (*o).max(next))
            .or_insert(next);
    }
    out
}

/// `topic/partition@offset` of the batch's first record.
fn first_position(raw: &[RawRecord]) -> String {
    raw.first()
        .map(|r| format!("{}/{}@{}", r.topic, r.partition, r.offset))
        .unwrap_or_else(|| "an empty batch".to_owned())
}

/// Raw records by `(partition, offset)`: usually one each, several when
/// the batch holds more than one topic.
type OriginIndex = HashMap<(i32, i64), Vec<usize>>;

/// The raw record a row of `batch` came from, by its metadata columns:
/// topic, partition and offset. Without a readable `__topic`, the row is
/// matched only when one record of the batch has its partition and offset,
/// so a row is never blamed on another topic's record.
fn origin_of(
    batch: &RecordBatch,
    row: usize,
    raw: &[RawRecord],
    index: &mut Option<OriginIndex>,
) -> Option<usize> {
    let schema = batch.schema();
    let partition = batch.column(schema.index_of(record::PARTITION).ok()?);
    let offset = batch.column(schema.index_of(record::OFFSET).ok()?);
    let partition = partition.as_primitive_opt::<Int32Type>()?;
    let offset = offset.as_primitive_opt::<Int64Type>()?;
    if row >= batch.num_rows() || partition.is_null(row) || offset.is_null(row) {
        return None;
    }
    let topic = schema
        .index_of(record::TOPIC)
        .ok()
        .and_then(|i| batch.column(i).as_string_opt::<i32>())
        .filter(|t| !t.is_null(row))
        .map(|t| t.value(row));
    let index = index.get_or_insert_with(|| {
        let mut index = OriginIndex::with_capacity(raw.len());
        for (i, r) in raw.iter().enumerate() {
            index.entry((r.partition, r.offset)).or_default().push(i);
        }
        index
    });
    let candidates = index.get(&(partition.value(row), offset.value(row)))?;
    match topic {
        Some(topic) => candidates
            .iter()
            .copied()
            .find(|i| &*raw[*i].topic == topic),
        None if candidates.len() == 1 => Some(candidates[0]),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DecoderPlan, SinkPlan, SourcePlan, TaskPlan};

    fn plan(bad_ratio: f64, out: &std::path::Path) -> TaskPlan {
        TaskPlan {
            pipeline: "t".to_owned(),
            source: SourcePlan::Datagen(crate::config::DatagenConfig {
                records: Some(3000),
                rate: None,
                seed: 9,
                bad_ratio,
            }),
            decoder: DecoderPlan::Json {
                schema: Some(Arc::new(
                    crate::format::schema::parse_schema(
                        &serde_json::json!({"id": "int64", "amount": "float64"}),
                    )
                    .expect("a schema"),
                )),
                infer_records: 100,
                unknown_fields: crate::format::json::UnknownFields::Ignore,
            },
            transforms: Vec::new(),
            sink: SinkPlan::File {
                path: out.to_owned(),
                sync: false,
            },
            policy: BadRecordPolicy::Fail,
            dead_letter: None,
            max_records: 500,
            max_wait: Duration::from_millis(10),
            feed: None,
        }
    }

    #[test]
    fn generated_records_reach_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        let control = Control::new(true);
        let metrics = Metrics::default();
        run_task(&plan(0.0, &out), &control, &metrics).expect("runs");
        let text = std::fs::read_to_string(&out).expect("output");
        assert_eq!(text.lines().count(), 3000);
        let first: serde_json::Value =
            serde_json::from_str(text.lines().next().expect("a line")).expect("json");
        assert_eq!(first["id"], 1);
        assert_eq!(metrics.snapshot().records_out, 3000);
    }

    #[test]
    fn a_bad_record_under_the_fail_policy_stops_the_task_at_that_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out.jsonl");
        let control = Control::new(true);
        // Which record is the first bad one: the generator says.
        let mut generator = crate::source::datagen::OrderGenerator::new(9, 0.2);
        let first_bad = (0..3000)
            .position(|_| {
                let (_, value, _) = generator.next_record();
                value
                    .as_deref()
                    .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
                    .is_none_or(|v| !v["amount"].is_number())
            })
            .expect("a bad record");
        let err = run_task(&plan(0.2, &out), &control, &Metrics::default()).expect_err("fails");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("bad record at datagen/0@{first_bad} (decode): ")),
            "{message}"
        );
        assert!(
            message.ends_with(
                "set `errors.on_bad_record: dead-letter` to set bad records aside instead"
            )
        );
    }

    fn raw(topic: &str, partition: i32, offset: i64) -> RawRecord {
        RawRecord {
            topic: Arc::from(topic),
            partition,
            offset,
            timestamp_ms: None,
            key: None,
            value: Some(b"{}".to_vec()),
            headers: Vec::new(),
        }
    }

    /// Rows with `__topic`, `__partition` and `__offset` as given (a
    /// `None` topic leaves the `__topic` column out).
    fn rows(metadata: &[(Option<&str>, i32, i64)]) -> RecordBatch {
        use arrow_array::{ArrayRef, Int32Array, Int64Array, StringArray};
        let mut columns: Vec<(&str, ArrayRef)> = Vec::new();
        if metadata.iter().all(|(t, _, _)| t.is_some()) {
            let topics: Vec<&str> = metadata.iter().filter_map(|(t, _, _)| *t).collect();
            columns.push((record::TOPIC, Arc::new(StringArray::from(topics))));
        }
        let partitions: Vec<i32> = metadata.iter().map(|(_, p, _)| *p).collect();
        let offsets: Vec<i64> = metadata.iter().map(|(_, _, o)| *o).collect();
        columns.push((record::PARTITION, Arc::new(Int32Array::from(partitions))));
        columns.push((record::OFFSET, Arc::new(Int64Array::from(offsets))));
        RecordBatch::try_from_iter(columns).expect("a batch")
    }

    #[test]
    fn a_row_is_traced_to_the_record_of_its_own_topic() {
        // Two topics with records at the same partition and offset.
        let batch_raw = [raw("a", 0, 7), raw("b", 0, 7), raw("b", 1, 3)];
        let batch = rows(&[(Some("b"), 0, 7), (Some("a"), 0, 7), (Some("b"), 1, 3)]);
        let mut index = None;
        assert_eq!(origin_of(&batch, 0, &batch_raw, &mut index), Some(1));
        assert_eq!(origin_of(&batch, 1, &batch_raw, &mut index), Some(0));
        assert_eq!(origin_of(&batch, 2, &batch_raw, &mut index), Some(2));
        assert_eq!(origin_of(&batch, 3, &batch_raw, &mut index), None);

        // A topic the batch does not hold matches nothing.
        let renamed = rows(&[(Some("c"), 0, 7)]);
        assert_eq!(origin_of(&renamed, 0, &batch_raw, &mut None), None);

        // Without `__topic`, only an unambiguous partition and offset match.
        let bare = rows(&[(None, 0, 7), (None, 1, 3)]);
        assert_eq!(origin_of(&bare, 0, &batch_raw, &mut None), None);
        assert_eq!(origin_of(&bare, 1, &batch_raw, &mut None), Some(2));
    }
}
