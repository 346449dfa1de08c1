//! The Kafka source: one consumer of a consumer group, per task.
//!
//! Offsets are never committed automatically (`enable.auto.commit=false`):
//! the task commits what the sink acknowledged. When the group takes
//! partitions away, the rebalance callback waits briefly for in-flight
//! batches of those partitions, commits what is done for them, and drops
//! the rest, so the partitions' next owner starts exactly after the last
//! acknowledged record.
//!
//! The source also works out its consumer lag, at most once per
//! [`LAG_REFRESH`]; [`Lag`] says how and why that way.

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{Source, SourceError, SourceStatus};
use crate::config::StartPosition;
use crate::record::{Header, RawRecord};
use crate::runtime::ack::lock;
use crate::runtime::offsets::{OffsetTracker, TopicPartition};

/// How often a Kafka source works out its consumer lag.
const LAG_REFRESH: Duration = Duration::from_secs(1);

/// How long a broker may take to answer what the lag needs to ask: the
/// partitions' ends while paused, the committed offsets of a new
/// assignment. The task waits for the answer, so it stays short.
const LAG_QUERY_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything needed to start a Kafka consumer.
#[derive(Debug, Clone)]
pub struct KafkaSourceSpec {
    /// The pipeline's name, for logs.
    pub pipeline: String,
    /// Bootstrap servers.
    pub brokers: String,
    /// Topics by name, or one `^regex` pattern.
    pub subscription: Vec<String>,
    /// The consumer group.
    pub group: String,
    /// Where partitions without a committed offset start.
    pub start: StartPosition,
    /// Extra librdkafka properties.
    pub properties: BTreeMap<String, String>,
    /// Shared counters of an embedded feed, when reading from one.
    pub feed: Option<Arc<FeedProgress>>,
}

/// Progress of a feed filling an embedded broker, shared with its readers
/// so the feed stays only a little ahead of them (the embedded broker
/// keeps a few MiB per partition and drops older data).
#[derive(Debug, Default)]
pub struct FeedProgress {
    /// Records the feed has had acknowledged.
    pub produced: AtomicU64,
    /// Records the readers have received.
    pub consumed: AtomicU64,
    /// Whether the feed has sent everything it will send.
    pub done: std::sync::atomic::AtomicBool,
}

/// State the rebalance callback shares with the task.
#[derive(Debug, Default)]
struct Shared {
    /// Partitions revoked since the poll loop last looked.
    revoked: Vec<TopicPartition>,
    /// Partitions at their end (set on EOF, cleared by a record).
    eof: HashMap<TopicPartition, bool>,
    /// The group has given this member an assignment, possibly empty: a
    /// member left without partitions (more members than partitions, or a
    /// pattern no topic matches) has nothing to read.
    assigned: bool,
    /// The subscription is a pattern that no topic matches (yet), so the
    /// group has nothing to assign.
    unmatched: bool,
}

/// Flags the poll loop reads without taking the [`Shared`] lock.
#[derive(Debug, Default)]
struct Flags {
    /// Partitions were revoked and the poll loop has not looked yet.
    revoked: AtomicBool,
    /// Some partition is marked at its end.
    any_eof: AtomicBool,
    /// The task is paused: partitions assigned meanwhile start paused too.
    paused: AtomicBool,
}

/// The consumer's context: handles rebalances.
struct SourceContext {
    pipeline: String,
    /// The subscription is a pattern, not a list of topics.
    pattern: bool,
    tracker: Arc<Mutex<OffsetTracker>>,
    shared: Arc<Mutex<Shared>>,
    flags: Arc<Flags>,
}

impl ClientContext for SourceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        // End of partition is how idleness is seen, not a fault.
        if matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
        {
            return;
        }
        if self.no_topic_matches(&error) {
            tracing::info!(pipeline = %self.pipeline, reason, "no topic matches the subscription's pattern yet");
            return;
        }
        tracing::warn!(pipeline = %self.pipeline, %error, reason, "kafka consumer error");
    }
}

impl SourceContext {
    /// Whether `error` says that no topic matches the subscription's
    /// pattern; if so, this member has nothing to read until one appears.
    fn no_topic_matches(&self, error: &KafkaError) -> bool {
        let unmatched = self.pattern
            && error.rdkafka_error_code()
                == Some(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition);
        if unmatched {
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            if shared.eof.is_empty() {
                shared.unmatched = true;
            }
        }
        unmatched
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(list) = rebalance else {
            return;
        };
        let partitions: Vec<TopicPartition> = list
            .elements()
            .iter()
            .map(|e| (Arc::from(e.topic()), e.partition()))
            .collect();
        // Give in-flight batches of these partitions a moment to be
        // acknowledged, so their records are not read twice.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !lock(&self.tracker).all_complete(&partitions) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let done = lock(&self.tracker).revoke(&partitions);
        if !done.is_empty() {
            match commit_sync(consumer, &done) {
                Ok(()) => tracing::info!(
                    pipeline = %self.pipeline,
                    partitions = done.len(),
                    "committed offsets of revoked partitions"
                ),
                Err(e) => tracing::warn!(
                    pipeline = %self.pipeline,
                    error = %e,
                    "could not commit offsets of revoked partitions; their last records may be read again"
                ),
            }
        }
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        // Until the new assignment comes, this member's share is unknown.
        shared.assigned = false;
        for tp in &partitions {
            shared.eof.remove(tp);
        }
        shared.revoked.extend(partitions);
        self.flags.revoked.store(true, Ordering::Release);
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            if self.flags.paused.load(Ordering::Acquire) {
                if let Err(e) = consumer.pause(list) {
                    tracing::warn!(pipeline = %self.pipeline, error = %e, "cannot pause newly assigned partitions");
                }
            }
            let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            shared.assigned = true;
            shared.unmatched = false;
            for e in list.elements() {
                shared
                    .eof
                    .insert((Arc::from(e.topic()), e.partition()), false);
            }
            tracing::info!(
                pipeline = %self.pipeline,
                partitions = list.count(),
                "partitions assigned"
            );
        }
    }
}

fn commit_sync(
    consumer: &BaseConsumer<SourceContext>,
    offsets: &[(Arc<str>, i32, i64)],
) -> Result<(), KafkaError> {
    let list = to_list(offsets)?;
    consumer.commit(&list, CommitMode::Sync)
}

/// `partitions`, each at `offset`.
fn to_list_at(
    partitions: &[TopicPartition],
    offset: Offset,
) -> Result<TopicPartitionList, KafkaError> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        list.add_partition_offset(topic, *partition, offset)?;
    }
    Ok(list)
}

/// The high watermark librdkafka kept from the last fetch response for
/// `tp`, without asking the broker; `None` before the first response.
fn kept_high_watermark(consumer: &BaseConsumer<SourceContext>, tp: &TopicPartition) -> Option<i64> {
    // rust-rdkafka wraps only the variant that asks the broker
    // (`fetch_watermarks`); this one reads librdkafka's copy.
    let topic = CString::new(tp.0.as_bytes()).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer stays valid while `consumer` lives, which
    // is past this call; `topic` is a NUL-terminated string librdkafka only
    // reads during the call; `low` and `high` are valid for one `i64`
    // write each. librdkafka locks the partition itself while reading.
    let err = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            tp.1,
            &mut low,
            &mut high,
        )
    };
    (err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0)
        .then_some(high)
}

fn to_list(offsets: &[(Arc<str>, i32, i64)]) -> Result<TopicPartitionList, KafkaError> {
    let mut list = TopicPartitionList::with_capacity(offsets.len());
    for (topic, partition, offset) in offsets {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
    }
    Ok(list)
}

/// A Kafka consumer feeding one task.
pub struct KafkaSource {
    consumer: BaseConsumer<SourceContext>,
    shared: Arc<Mutex<Shared>>,
    flags: Arc<Flags>,
    topics: HashMap<String, Arc<str>>,
    feed: Option<Arc<FeedProgress>>,
    /// Whether every record a feed produced will be read (`earliest`), so
    /// idleness waits for all of them.
    feed_counts: bool,
    pipeline: String,
    paused: bool,
    lag: Lag,
}

/// What a Kafka source keeps to work out its consumer lag: for each
/// assigned partition, its end minus the consumer's position.
///
/// The position is librdkafka's own: the offset after the last record it
/// handed to the task (transaction markers skipped over), known without
/// asking anyone. The end is the partition's high watermark, which every
/// fetch response carries and librdkafka keeps, so while the source
/// fetches, reading it costs no request at all — whatever the scrape rate.
/// A paused partition is not fetched, though, and its kept watermark
/// stands still while records arrive; so while paused the source asks the
/// partitions' leaders for their end offsets instead (one `ListOffsets`
/// request per leader, once per [`LAG_REFRESH`], while the task has
/// nothing else to do). With `isolation.level=read_committed`,
/// librdkafka's default, that answer is the last stable offset, which
/// differs from the high watermark only while a transaction is open.
/// librdkafka's statistics (`consumer_lag`) would not do: they are also
/// built from fetch responses, and measure from the committed offset.
///
/// The highest end seen of a partition is kept until it is revoked, so
/// its lag does not drop while the first fetch after a resume is on its
/// way. A partition the task has read nothing from since it was assigned
/// has no position yet; the group's committed offset, asked once per
/// assignment, stands in for it. With neither, the partition has no
/// figure until its first record.
#[derive(Debug, Default)]
struct Lag {
    /// When the lag was last worked out.
    last: Option<Instant>,
    /// The highest end seen of each assigned partition.
    ends: HashMap<TopicPartition, i64>,
    /// The group's committed offsets of the partitions in `asked`.
    committed: HashMap<TopicPartition, i64>,
    /// The (sorted) assignment `committed` was asked for.
    asked: Vec<TopicPartition>,
}

impl Lag {
    /// Keep `end` for `tp` if it is further than what was seen.
    fn saw_end(&mut self, tp: &TopicPartition, end: i64) {
        if end >= 0 {
            let kept = self.ends.entry(tp.clone()).or_insert(end);
            *kept = (*kept).max(end);
        }
    }
}

impl KafkaSource {
    /// Create the consumer and subscribe.
    ///
    /// # Errors
    ///
    /// The client could not be created or the subscription was refused.
    pub fn new(
        spec: &KafkaSourceSpec,
        tracker: Arc<Mutex<OffsetTracker>>,
    ) -> Result<Self, SourceError> {
        let mut config = ClientConfig::new();
        for (k, v) in &spec.properties {
            config.set(k, v);
        }
        config
            .set("bootstrap.servers", &spec.brokers)
            .set("group.id", &spec.group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set(
                "auto.offset.reset",
                match spec.start {
                    StartPosition::Earliest => "earliest",
                    StartPosition::Latest => "latest",
                },
            );
        let shared = Arc::new(Mutex::new(Shared::default()));
        let flags = Arc::new(Flags::default());
        let context = SourceContext {
            pipeline: spec.pipeline.clone(),
            pattern: spec.subscription.iter().any(|t| t.starts_with('^')),
            tracker,
            shared: shared.clone(),
            flags: flags.clone(),
        };
        let consumer: BaseConsumer<SourceContext> =
            config
                .create_with_context(context)
                .map_err(|e| SourceError::Kafka {
                    message: format!("cannot create the consumer for `{}`: {e}", spec.brokers),
                })?;
        let topics: Vec<&str> = spec.subscription.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topics)
            .map_err(|e| SourceError::Kafka {
                message: format!("cannot subscribe to {topics:?}: {e}"),
            })?;
        Ok(KafkaSource {
            consumer,
            shared,
            flags,
            topics: HashMap::new(),
            feed: spec.feed.clone(),
            feed_counts: spec.start == StartPosition::Earliest,
            pipeline: spec.pipeline.clone(),
            paused: false,
            lag: Lag::default(),
        })
    }

    /// The shared name of `topic`.
    fn topic_name(&mut self, topic: &str) -> Arc<str> {
        match self.topics.get(topic) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<str> = Arc::from(topic);
                self.topics.insert(topic.to_owned(), t.clone());
                t
            }
        }
    }

    /// The lag of every assigned partition with a known position and end;
    /// see [`Lag`].
    fn work_out_lag(&mut self) -> Result<BTreeMap<TopicPartition, u64>, KafkaError> {
        let positions = self.consumer.position()?;
        let mut assigned: Vec<(TopicPartition, Option<i64>)> = Vec::new();
        for e in positions.elements() {
            let position = match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(o),
                _ => None,
            };
            assigned.push(((self.topic_name(e.topic()), e.partition()), position));
        }
        assigned.sort();
        let partitions: Vec<TopicPartition> = assigned.iter().map(|(tp, _)| tp.clone()).collect();
        self.lag
            .ends
            .retain(|tp, _| partitions.binary_search(tp).is_ok());

        for tp in &partitions {
            if let Some(high) = kept_high_watermark(&self.consumer, tp) {
                self.lag.saw_end(tp, high);
            }
        }
        if self.paused && !partitions.is_empty() {
            let ends = self
                .consumer
                .offsets_for_times(to_list_at(&partitions, Offset::End)?, LAG_QUERY_TIMEOUT)?;
            for e in ends.elements() {
                if let (Ok(()), Offset::Offset(end)) = (e.error(), e.offset()) {
                    let tp = (self.topic_name(e.topic()), e.partition());
                    self.lag.saw_end(&tp, end);
                }
            }
        }

        if self.lag.asked != partitions && assigned.iter().any(|(_, p)| p.is_none()) {
            let list = to_list_at(&partitions, Offset::Invalid)?;
            match self.consumer.committed_offsets(list, LAG_QUERY_TIMEOUT) {
                Ok(committed) => {
                    self.lag.committed.clear();
                    for e in committed.elements() {
                        if let Offset::Offset(o) = e.offset() {
                            let tp = (self.topic_name(e.topic()), e.partition());
                            self.lag.committed.insert(tp, o);
                        }
                    }
                    self.lag.asked = partitions;
                }
                Err(e) => tracing::debug!(
                    pipeline = %self.pipeline,
                    error = %e,
                    "cannot read the committed offsets; partitions not read from yet have no lag figure"
                ),
            }
        }

        let mut lag = BTreeMap::new();
        for (tp, position) in assigned {
            let position = position.or_else(|| self.lag.committed.get(&tp).copied());
            if let (Some(position), Some(end)) = (position, self.lag.ends.get(&tp)) {
                lag.insert(tp, u64::try_from(end - position).unwrap_or(0));
            }
        }
        Ok(lag)
    }

    fn is_idle(&self) -> bool {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        // Every partition owned is at its end; owning none counts once the
        // group has answered.
        let at_end = if shared.eof.is_empty() {
            shared.assigned || shared.unmatched
        } else {
            shared.eof.values().all(|eof| *eof)
        };
        drop(shared);
        let feed_done = self.feed.as_ref().is_none_or(|f| {
            f.done.load(Ordering::Acquire)
                && (!self.feed_counts
                    || f.consumed.load(Ordering::Acquire) >= f.produced.load(Ordering::Acquire))
        });
        at_end && feed_done
    }
}

impl Source for KafkaSource {
    fn poll_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        out: &mut Vec<RawRecord>,
    ) -> Result<SourceStatus, SourceError> {
        let deadline = Instant::now() + max_wait;
        let start_len = out.len();
        // Reading the clock for every record costs more than the rest of
        // the loop; while records flow, look at it every few records.
        let mut since_clock = 0u32;
        let mut now = Instant::now();
        loop {
            if out.len() >= max_records {
                break;
            }
            if since_clock >= 32 {
                now = Instant::now();
                since_clock = 0;
            }
            if now >= deadline {
                break;
            }
            let timeout = if out.len() > start_len {
                deadline - now
            } else {
                (deadline - now).min(Duration::from_millis(100))
            };
            // While records are queued, a poll that does not wait returns
            // the next one without librdkafka reading the clock for a
            // deadline (a cost per record on some machines); only an empty
            // queue gets a waiting poll.
            let polled = match self.consumer.poll(Duration::ZERO) {
                None => self.consumer.poll(timeout),
                some => some,
            };
            // A rebalance runs inside `poll`. Records fetched before it
            // from partitions it took away belong to their next owner, who
            // reads them again from the last commit; what `poll` returns
            // after it comes from the new assignment and is kept, even
            // when the same partition came straight back to this member.
            if self.flags.revoked.swap(false, Ordering::AcqRel) {
                let revoked = std::mem::take(
                    &mut self
                        .shared
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .revoked,
                );
                let before = out.len();
                out.retain(|r| {
                    !revoked
                        .iter()
                        .any(|(t, p)| *t == r.topic && *p == r.partition)
                });
                if out.len() != before {
                    tracing::debug!(
                        pipeline = %self.pipeline,
                        dropped = before - out.len(),
                        "records fetched before a rebalance left for the partitions' next owner"
                    );
                }
            }
            match polled {
                None => {
                    now = Instant::now();
                    if out.len() == start_len && self.is_idle() {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    now = Instant::now();
                    // The event names the partition number only. With
                    // several topics every partition of that number is
                    // marked; a record arriving clears its own again, and
                    // the task only trusts an idle source that stays idle.
                    let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                    for ((_, p), eof) in shared.eof.iter_mut() {
                        if *p == partition {
                            *eof = true;
                        }
                    }
                    self.flags.any_eof.store(true, Ordering::Release);
                }
                Some(Err(e)) => {
                    now = Instant::now();
                    if is_fatal(&e) {
                        return Err(SourceError::Kafka {
                            message: e.to_string(),
                        });
                    }
                    if !self.consumer.context().no_topic_matches(&e) {
                        tracing::warn!(pipeline = %self.pipeline, error = %e, "kafka consumer error; retrying");
                    }
                }
                Some(Ok(message)) => {
                    since_clock += 1;
                    let topic = match self.topics.get(message.topic()) {
                        Some(t) => t.clone(),
                        None => {
                            let t: Arc<str> = Arc::from(message.topic());
                            self.topics.insert(message.topic().to_owned(), t.clone());
                            t
                        }
                    };
                    let headers = message
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| Header {
                                    key: h.key.to_owned(),
                                    value: h.value.map(<[u8]>::to_vec),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let record = RawRecord {
                        partition: message.partition(),
                        offset: message.offset(),
                        timestamp_ms: message.timestamp().to_millis(),
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().map(<[u8]>::to_vec),
                        headers,
                        topic,
                    };
                    if self.flags.any_eof.load(Ordering::Acquire) {
                        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                        if let Some(eof) = shared
                            .eof
                            .get_mut(&(record.topic.clone(), record.partition))
                        {
                            *eof = false;
                        }
                        if !shared.eof.values().any(|e| *e) {
                            self.flags.any_eof.store(false, Ordering::Release);
                        }
                    }
                    if let Some(feed) = &self.feed {
                        feed.consumed.fetch_add(1, Ordering::AcqRel);
                    }
                    out.push(record);
                }
            }
        }
        let idle = out.len() == start_len && self.is_idle();
        Ok(SourceStatus { idle })
    }

    fn commit(&mut self, offsets: &[(Arc<str>, i32, i64)]) -> Result<(), SourceError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let list = to_list(offsets).map_err(|e| SourceError::Kafka {
            message: format!("cannot build the commit: {e}"),
        })?;
        match self.consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => Ok(()),
            // A partition moved to another member meanwhile: it will read
            // from the last commit; nothing is lost.
            Err(e) => {
                tracing::warn!(pipeline = %self.pipeline, error = %e, "offset commit failed; the records after the last commit may be read again");
                Ok(())
            }
        }
    }

    fn pause(&mut self) -> Result<(), SourceError> {
        if self.paused {
            return Ok(());
        }
        let assignment = self.consumer.assignment().map_err(|e| SourceError::Kafka {
            message: format!("cannot read the assignment to pause: {e}"),
        })?;
        self.consumer
            .pause(&assignment)
            .map_err(|e| SourceError::Kafka {
                message: format!("cannot pause: {e}"),
            })?;
        self.paused = true;
        self.flags.paused.store(true, Ordering::Release);
        Ok(())
    }

    fn resume(&mut self) -> Result<(), SourceError> {
        if !self.paused {
            return Ok(());
        }
        let assignment = self.consumer.assignment().map_err(|e| SourceError::Kafka {
            message: format!("cannot read the assignment to resume: {e}"),
        })?;
        self.consumer
            .resume(&assignment)
            .map_err(|e| SourceError::Kafka {
                message: format!("cannot resume: {e}"),
            })?;
        self.paused = false;
        self.flags.paused.store(false, Ordering::Release);
        Ok(())
    }

    fn lag(&mut self) -> Option<BTreeMap<TopicPartition, u64>> {
        if self.lag.last.is_some_and(|at| at.elapsed() < LAG_REFRESH) {
            return None;
        }
        self.lag.last = Some(Instant::now());
        match self.work_out_lag() {
            Ok(lag) => Some(lag),
            Err(e) => {
                tracing::debug!(
                    pipeline = %self.pipeline,
                    error = %e,
                    "cannot work out the consumer lag; the last figure stands"
                );
                None
            }
        }
    }
}

/// Errors after which the consumer cannot go on.
fn is_fatal(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::Fatal
                | C::InvalidGroupId
                | C::GroupAuthorizationFailed
                | C::TopicAuthorizationFailed
                | C::SaslAuthenticationFailed
                | C::Authentication
        )
    )
}
