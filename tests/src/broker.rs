//! A running broker and the helpers tests use against it.
//!
//! Every helper panics with a message naming the broker, the topic and what
//! went wrong: a broken broker is a broken test, never a value to handle.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};

use crate::records::{ConsumedRecord, TestRecord};

/// How long a single metadata, admin or offsets request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Which broker a [`Broker`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerKind {
    /// Apache Kafka started by the harness.
    Kafka,
    /// tansu started by the harness.
    Tansu,
    /// A broker the harness did not start, named by `SABOT_TEST_BROKERS`.
    External,
}

/// A broker the tests talk to; see the [crate docs](crate) for the helpers.
#[derive(Debug)]
pub struct Broker {
    /// Which broker this is.
    kind: BrokerKind,
    /// `host:port[,host:port…]` for `bootstrap.servers`.
    bootstrap: String,
    /// The broker's own log file, for failure messages; `None` for external
    /// brokers.
    log: Option<PathBuf>,
}

impl Broker {
    /// A broker at `bootstrap` of this kind, logging to `log`.
    pub(crate) fn new(kind: BrokerKind, bootstrap: String, log: Option<PathBuf>) -> Self {
        Self {
            kind,
            bootstrap,
            log,
        }
    }

    /// Which broker this is.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The `bootstrap.servers` value, `host:port[,host:port…]`.
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    /// The broker's log file, if the harness started it.
    pub fn log_file(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// The last `lines` lines of the broker's log, or a note why there are
    /// none.
    pub fn log_tail(&self, lines: usize) -> String {
        match &self.log {
            Some(path) => crate::tail_file(path, lines),
            None => "(external broker: no log)".to_owned(),
        }
    }

    /// The `session.timeout.ms` consumer groups should use against this
    /// broker: tansu completes a group join only after about half of it, so
    /// it gets the lowest value brokers accept by default.
    pub fn session_timeout_ms(&self) -> u32 {
        match self.kind {
            BrokerKind::Tansu => 6_000,
            // Kafka's lowest by default; a killed member's partitions wait
            // this long for a new owner.
            BrokerKind::Kafka | BrokerKind::External => 6_000,
        }
    }

    /// A client config with `bootstrap.servers` set, for any client.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        config
    }

    /// A consumer config for `group`: manual commits, `earliest`, and this
    /// broker's [`session_timeout_ms`](Self::session_timeout_ms).
    pub fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = self.client_config();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", self.session_timeout_ms().to_string());
        config
    }

    /// A name no other call in any test process has returned:
    /// `{prefix}-{start time}-{pid}-{n}`, a valid topic or group name when
    /// `prefix` is.
    pub fn unique_topic(&self, prefix: &str) -> String {
        crate::unique_name(prefix)
    }

    /// Creates a topic with a [unique name](Self::unique_topic) and
    /// `partitions` partitions and returns its name.
    pub fn new_topic(&self, prefix: &str, partitions: i32) -> String {
        let name = self.unique_topic(prefix);
        self.create_topic(&name, partitions);
        name
    }

    /// Creates `name` with `partitions` partitions (replication factor 1) and
    /// waits until every partition has a leader in the metadata.
    ///
    /// # Panics
    ///
    /// If the broker refuses (the topic exists already, say) or the topic
    /// does not show up within 30 s.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.create_client(&self.client_config(), "admin");
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
        let results = block_on(admin.create_topics([&topic], &options)).unwrap_or_else(|error| {
            panic!(
                "cannot create topic `{name}` on {}: {error}",
                self.bootstrap
            )
        });
        for result in results {
            if let Err((topic, code)) = result {
                panic!(
                    "broker {} refused to create topic `{topic}`: {code}",
                    self.bootstrap
                );
            }
        }

        let consumer = self.metadata_consumer();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self.partition_leaders(&consumer, name);
            if found.len() == usize::try_from(partitions).unwrap_or(0)
                && found.iter().all(|&leader| leader >= 0)
            {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "topic `{name}` on {} has partition leaders {found:?} 30 s after creating it, \
                     expected {partitions} partitions with leaders",
                    self.bootstrap
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The partition ids of `topic`, sorted.
    ///
    /// # Panics
    ///
    /// If the topic does not exist or the metadata request fails.
    pub fn partitions(&self, topic: &str) -> Vec<i32> {
        let consumer = self.metadata_consumer();
        self.topic_partitions(&consumer, topic)
    }

    /// Produces `records` to `topic` (`acks=all`) and waits for every
    /// acknowledgement. Returns the `(partition, offset)` each record landed
    /// at, in the order given.
    ///
    /// The producer is not idempotent: that costs about half a second per
    /// call for its producer id, and a local broker gives no reason to retry.
    ///
    /// # Panics
    ///
    /// If any record is not acknowledged within 30 s.
    pub fn produce(&self, topic: &str, records: &[TestRecord]) -> Vec<(i32, i64)> {
        let mut config = self.client_config();
        config
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000");
        let context = AckContext {
            landed: Mutex::new(vec![None; records.len()]),
            errors: Mutex::new(Vec::new()),
            acked: AtomicUsize::new(0),
        };
        let producer: ThreadedProducer<AckContext> =
            config.create_with_context(context).unwrap_or_else(|error| {
                panic!("cannot create a producer for {}: {error}", self.bootstrap)
            });

        for (index, record) in records.iter().enumerate() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            let mut base =
                BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, index).headers(headers);
            base.partition = record.partition;
            base.key = record.key.as_deref();
            base.payload = record.value.as_deref();
            base.timestamp = record.timestamp;
            let deadline = Instant::now() + Duration::from_secs(30);
            while let Err((error, returned)) = producer.send(base) {
                let queue_full = matches!(
                    error,
                    KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
                );
                if !queue_full || Instant::now() > deadline {
                    panic!(
                        "cannot produce record {index} to `{topic}` on {}: {error}",
                        self.bootstrap
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
                base = returned;
            }
        }
        if let Err(error) = producer.flush(Duration::from_secs(30)) {
            panic!(
                "records to `{topic}` on {} not acknowledged within 30 s ({} of {}): {error}",
                self.bootstrap,
                producer.context().acked.load(Ordering::SeqCst),
                records.len()
            );
        }

        let context = producer.context();
        let errors = lock(&context.errors);
        if !errors.is_empty() {
            panic!(
                "{} of {} records to `{topic}` on {} failed; first: {}",
                errors.len(),
                records.len(),
                self.bootstrap,
                errors[0]
            );
        }
        lock(&context.landed)
            .iter()
            .enumerate()
            .map(|(index, landed)| {
                landed.unwrap_or_else(|| {
                    panic!("record {index} to `{topic}` was flushed but never acknowledged")
                })
            })
            .collect()
    }

    /// Reads `topic` from the beginning of every partition (no consumer
    /// group: `assign`, nothing committed) and returns the records sorted by
    /// partition and offset.
    ///
    /// Stops once every partition is at its end and at least
    /// `expected_at_least` records were read, or when `timeout` passes; in the
    /// latter case it returns what it has (the test's assertion then shows
    /// the difference) and prints a note to stderr. Reads `read_committed`.
    ///
    /// # Panics
    ///
    /// If the topic does not exist or the consumer cannot be created.
    pub fn consume_all(
        &self,
        topic: &str,
        expected_at_least: usize,
        timeout: Duration,
    ) -> Vec<ConsumedRecord> {
        let consumer = self.reader();
        let partitions = self.assign_from_beginning(&consumer, topic);
        let deadline = Instant::now() + timeout;
        let mut at_end = BTreeSet::new();
        let mut records = Vec::new();
        let mut last_error = None;
        while at_end.len() < partitions.len() || records.len() < expected_at_least {
            if Instant::now() > deadline {
                eprintln!(
                    "consume_all(`{topic}`): timed out after {timeout:?} with {} of at least {expected_at_least} \
                     records, partitions at end {at_end:?} of {partitions:?}; last error: {last_error:?}",
                    records.len()
                );
                break;
            }
            match consumer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(message)) => {
                    at_end.remove(&message.partition());
                    records.push(ConsumedRecord {
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().map(<[u8]>::to_vec),
                        headers: message
                            .headers()
                            .map(|headers| {
                                headers
                                    .iter()
                                    .map(|header| {
                                        (header.key.to_owned(), header.value.map(<[u8]>::to_vec))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        timestamp: message.timestamp().to_millis(),
                    });
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    at_end.insert(partition);
                }
                Some(Err(error)) => last_error = Some(error),
            }
        }
        records.sort_by_key(|record| (record.partition, record.offset));
        records
    }

    /// The offsets `group` has committed for `topic`, by partition;
    /// partitions without a commit are left out.
    ///
    /// # Panics
    ///
    /// If the topic does not exist or the request fails.
    pub fn committed(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        let consumer: BaseConsumer = self.create_client(&self.consumer_config(group), "consumer");
        let mut wanted = TopicPartitionList::new();
        for partition in self.topic_partitions(&consumer, topic) {
            wanted.add_partition(topic, partition);
        }
        // The list the broker returns is dropped before the consumer: the
        // other order can hang in librdkafka.
        let committed = consumer.committed_offsets(wanted, REQUEST_TIMEOUT).unwrap_or_else(|error| {
            panic!("cannot read the offsets group `{group}` committed for `{topic}` on {}: {error}", self.bootstrap)
        });
        let offsets = committed
            .elements()
            .iter()
            .filter_map(|element| match element.offset() {
                Offset::Offset(offset) => Some((element.partition(), offset)),
                _ => None,
            })
            .collect();
        drop(committed);
        drop(consumer);
        offsets
    }

    /// Waits until `group`'s committed offsets for `topic` add up to at least
    /// `total` (the number of records it has consumed, for a topic that
    /// started empty) and returns them; returns the last ones read when
    /// `timeout` passes first.
    pub fn wait_for_committed(
        &self,
        group: &str,
        topic: &str,
        total: i64,
        timeout: Duration,
    ) -> BTreeMap<i32, i64> {
        let deadline = Instant::now() + timeout;
        loop {
            let offsets = self.committed(group, topic);
            if offsets.values().sum::<i64>() >= total || Instant::now() > deadline {
                return offsets;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The end offset (high watermark) of every partition of `topic`.
    ///
    /// tansu answers the usual "latest offset" query wrongly after batched
    /// produce, so against tansu this reads every partition to its end and
    /// takes the watermark the fetch responses carry, which is right.
    ///
    /// # Panics
    ///
    /// If the topic does not exist or a request fails.
    pub fn end_offsets(&self, topic: &str) -> BTreeMap<i32, i64> {
        match self.kind {
            BrokerKind::Kafka | BrokerKind::External => {
                let consumer = self.metadata_consumer();
                self.topic_partitions(&consumer, topic)
                    .into_iter()
                    .map(|partition| {
                        let (_, high) = consumer
                            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                            .unwrap_or_else(|error| {
                                panic!(
                                    "cannot read the end of `{topic}` [{partition}] on {}: {error}",
                                    self.bootstrap
                                )
                            });
                        (partition, high)
                    })
                    .collect()
            }
            BrokerKind::Tansu => self.end_offsets_by_fetching(topic),
        }
    }

    /// Reads every partition of `topic` to its end and returns the high
    /// watermarks from the fetch responses.
    fn end_offsets_by_fetching(&self, topic: &str) -> BTreeMap<i32, i64> {
        let consumer = self.reader();
        let partitions = self.assign_from_beginning(&consumer, topic);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut at_end = BTreeSet::new();
        while at_end.len() < partitions.len() {
            if Instant::now() > deadline {
                panic!(
                    "reading `{topic}` on {} to its end took over 30 s; partitions at end: {at_end:?} of {partitions:?}",
                    self.bootstrap
                );
            }
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    at_end.remove(&message.partition());
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    at_end.insert(partition);
                }
                None | Some(Err(_)) => {}
            }
        }
        partitions
            .into_iter()
            .map(|partition| {
                let high =
                    fetched_high_watermark(&consumer, topic, partition).unwrap_or_else(|| {
                        panic!(
                            "no fetched watermark for `{topic}` [{partition}] on {}",
                            self.bootstrap
                        )
                    });
                (partition, high)
            })
            .collect()
    }

    /// A consumer for `assign`-based reads that reports partition ends.
    fn reader(&self) -> BaseConsumer {
        let mut config = self.consumer_config("sabot-tests-reader");
        config
            .set("enable.partition.eof", "true")
            .set("fetch.wait.max.ms", "100");
        self.create_client(&config, "consumer")
    }

    /// Assigns every partition of `topic` from its beginning and returns the
    /// partition ids.
    fn assign_from_beginning(&self, consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
        let partitions = self.topic_partitions(consumer, topic);
        let mut assignment = TopicPartitionList::new();
        for &partition in &partitions {
            assignment
                .add_partition_offset(topic, partition, Offset::Beginning)
                .unwrap_or_else(|error| panic!("cannot assign `{topic}` [{partition}]: {error}"));
        }
        consumer
            .assign(&assignment)
            .unwrap_or_else(|error| panic!("cannot assign the partitions of `{topic}`: {error}"));
        partitions
    }

    /// A consumer used only for metadata and watermark requests.
    fn metadata_consumer(&self) -> BaseConsumer {
        self.create_client(&self.client_config(), "consumer")
    }

    /// The sorted partition ids of `topic`, panicking when it is missing.
    fn topic_partitions(&self, consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
        let metadata = consumer
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .unwrap_or_else(|error| {
                panic!(
                    "cannot read the metadata of `{topic}` on {}: {error}",
                    self.bootstrap
                )
            });
        let Some(found) = metadata
            .topics()
            .iter()
            .find(|candidate| candidate.name() == topic)
        else {
            panic!(
                "topic `{topic}` is not in the metadata of {}",
                self.bootstrap
            );
        };
        if let Some(error) = found.error() {
            panic!(
                "topic `{topic}` on {}: {}; create it first with `create_topic`",
                self.bootstrap,
                RDKafkaErrorCode::from(error)
            );
        }
        let mut partitions: Vec<i32> = found
            .partitions()
            .iter()
            .map(|partition| partition.id())
            .collect();
        partitions.sort_unstable();
        partitions
    }

    /// The leader of each partition of `topic`, in partition order; empty
    /// while the topic is unknown.
    fn partition_leaders(&self, consumer: &BaseConsumer, topic: &str) -> Vec<i32> {
        let Ok(metadata) = consumer.fetch_metadata(Some(topic), REQUEST_TIMEOUT) else {
            return Vec::new();
        };
        let Some(found) = metadata
            .topics()
            .iter()
            .find(|candidate| candidate.name() == topic)
        else {
            return Vec::new();
        };
        if found.error().is_some() {
            return Vec::new();
        }
        let mut leaders: Vec<(i32, i32)> = found
            .partitions()
            .iter()
            .map(|partition| (partition.id(), partition.leader()))
            .collect();
        leaders.sort_unstable();
        leaders.into_iter().map(|(_, leader)| leader).collect()
    }

    /// Creates a client from `config`, panicking with the broker's address.
    fn create_client<T: rdkafka::config::FromClientConfig>(
        &self,
        config: &ClientConfig,
        what: &str,
    ) -> T {
        config.create().unwrap_or_else(|error| {
            panic!("cannot create a {what} for {}: {error}", self.bootstrap)
        })
    }
}

/// The high watermark of `topic` [`partition`] carried by the last fetch
/// response `consumer` received, without asking the broker again.
fn fetched_high_watermark(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    let topic = CString::new(topic).ok()?;
    let mut low = -1_i64;
    let mut high = -1_i64;
    // SAFETY: the client pointer is valid while `consumer` is borrowed, the
    // topic is a NUL-terminated string that outlives the call, and `low` and
    // `high` are valid for writes; librdkafka only reads its own cache here.
    let code = unsafe {
        rdkafka::bindings::rd_kafka_get_watermark_offsets(
            consumer.client().native_ptr(),
            topic.as_ptr(),
            partition,
            &mut low,
            &mut high,
        )
    };
    (code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}

/// Collects delivery reports of [`Broker::produce`].
struct AckContext {
    /// Where each record landed, by its index in the input.
    landed: Mutex<Vec<Option<(i32, i64)>>>,
    /// Failed deliveries, as text.
    errors: Mutex<Vec<String>>,
    /// How many records were acknowledged.
    acked: AtomicUsize,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        match result {
            Ok(message) => {
                self.acked.fetch_add(1, Ordering::SeqCst);
                if let Some(slot) = lock(&self.landed).get_mut(index) {
                    *slot = Some((message.partition(), message.offset()));
                }
            }
            Err((error, _)) => lock(&self.errors).push(format!("record {index}: {error}")),
        }
    }
}

/// Locks `mutex`, recovering the data from a panicked holder.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `future` to completion on this thread.
///
/// rdkafka's admin futures are completed by its own background thread, so no
/// runtime is needed: the thread parks until woken.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    /// Wakes the parked thread.
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}
