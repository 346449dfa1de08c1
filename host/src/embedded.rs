//! The embedded broker and schema registry: an in-memory Kafka and a
//! Confluent-compatible registry inside this process, for the quickstart and
//! for trying pipelines without infrastructure.
//!
//! The registry is Sabot's own (the one `sabot serve --registry-listen`
//! serves), on a free 127.0.0.1 port, its schemas in memory: pipelines name
//! it `schema_registry: embedded`, and several pipelines of one run share it,
//! so one can write Avro that another reads.
//!
//! It is librdkafka's mock cluster. It speaks the Kafka protocol on
//! 127.0.0.1 ports of its own, so the ordinary source and sink clients talk
//! to it as to any broker, but it is **dev only**: everything lives in
//! memory, is gone when the process exits, and each partition keeps only
//! its last few MiB. The feed therefore stays only a little ahead of the
//! pipelines reading it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::plan::FeedPlan;
use crate::source::datagen::{OrderGenerator, Pacer};

/// How far, in records, a feed may run ahead of its readers.
const FEED_LEAD: u64 = 20_000;

/// Turns generated JSON orders into Avro framed with a registered schema's
/// id; what does not decode as an order is kept as it is.
struct AvroFeed {
    decoder: crate::format::json::JsonDecoder,
    encoder: crate::schema::codec::RegistryEncoder,
    subject_topic: String,
    buffer: Vec<u8>,
    ends: Vec<usize>,
}

impl AvroFeed {
    fn new(registry: &crate::config::RegistryConfig, topic: &str) -> Result<Self, String> {
        let decoder = crate::format::json::JsonDecoder::new(
            crate::source::datagen::order_schema(),
            crate::format::json::JsonOptions::default(),
        )
        .map_err(|e| format!("the feed's order schema: {}", e.message))?;
        let client = crate::schema::codec::client(registry)?;
        let options = crate::config::RegisteredSinkOptions {
            record_name: Some("sabot.datagen.Order".to_owned()),
            ..crate::config::RegisteredSinkOptions::with_defaults()
        };
        Ok(AvroFeed {
            decoder,
            encoder: crate::schema::codec::RegistryEncoder::new(
                crate::config::RegisteredKind::Avro,
                options,
                client,
                "order",
            ),
            subject_topic: topic.to_owned(),
            buffer: Vec::new(),
            ends: Vec::new(),
        })
    }

    /// `values`, each well-formed order as framed Avro.
    fn encode(&mut self, values: &mut [Option<Vec<u8>>]) -> Result<(), String> {
        let decoded = {
            let views: Vec<Option<&[u8]>> = values.iter().map(|v| v.as_deref()).collect();
            self.decoder.decode(&views)
        };
        self.buffer.clear();
        self.ends.clear();
        let errors = self
            .encoder
            .encode(
                &decoded.batch,
                &self.subject_topic,
                &mut self.buffer,
                &mut self.ends,
            )
            .map_err(|e| format!("cannot write the feed's orders as Avro: {e}"))?;
        if let Some(e) = errors.first() {
            return Err(format!(
                "cannot write a generated order as Avro: {}",
                e.message
            ));
        }
        let mut start = 0;
        for (row, end) in decoded.rows.iter().zip(&self.ends) {
            values[*row as usize] = Some(self.buffer[start..*end].to_vec());
            start = *end;
        }
        Ok(())
    }
}

/// A running in-memory schema registry. Dropping it stops the registry.
pub struct EmbeddedRegistry {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EmbeddedRegistry {
    /// Start a registry on a free port of 127.0.0.1, in memory.
    ///
    /// # Errors
    ///
    /// No port could be bound or no thread started.
    pub fn start() -> Result<Self, String> {
        let listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = crate::schema::registry::server::serve_registry(listen, None)
            .map_err(|e| format!("cannot start the embedded schema registry: {e}"))?;
        let url = format!("http://{}", server.local_addr());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the embedded schema registry: {e}"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("embedded-registry".into())
            .spawn(move || {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(e) = runtime.block_on(server.run_until(shutdown)) {
                    tracing::error!(error = %e, "the embedded schema registry stopped");
                }
            })
            .map_err(|e| format!("cannot start the embedded schema registry's thread: {e}"))?;
        tracing::info!(%url, "embedded schema registry started (in-memory, dev only)");
        Ok(EmbeddedRegistry {
            url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for EmbeddedRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A running in-memory broker. Dropping it stops the broker.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
}

impl EmbeddedBroker {
    /// Start a one-broker cluster.
    ///
    /// # Errors
    ///
    /// librdkafka could not start it.
    pub fn start() -> Result<Self, String> {
        let cluster =
            MockCluster::new(1).map_err(|e| format!("cannot start the embedded broker: {e}"))?;
        let bootstrap = cluster.bootstrap_servers();
        tracing::info!(%bootstrap, "embedded broker started (in-memory, dev only)");
        Ok(EmbeddedBroker { cluster, bootstrap })
    }

    /// Its bootstrap servers.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Create `topic` with `partitions` partitions. The embedded broker does
    /// not take the CreateTopics admin call, so topics are made here.
    ///
    /// # Errors
    ///
    /// The broker refused.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), String> {
        self.cluster
            .create_topic(topic, partitions, 1)
            .map_err(|e| format!("cannot create topic `{topic}` on the embedded broker: {e}"))
    }
}

/// Fill the feed's topics with generated records until it has made its
/// count (or `stop` is set), staying at most [`FEED_LEAD`] records ahead
/// of the readers.
pub fn run_feed(
    bootstrap: &str,
    feed: &FeedPlan,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<(), String> {
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .create()
        .map_err(|e| format!("cannot create the feed's producer: {e}"))?;
    let progress: &Arc<_> = &feed.progress;
    let mut generator = OrderGenerator::new(feed.datagen.seed, feed.datagen.bad_ratio);
    let mut pacer = Pacer::new(feed.datagen.rate);
    let mut sent: u64 = 0;
    let total = feed.datagen.records;
    let topics = if feed.topics.is_empty() {
        return Err("the feed has no topic to fill".to_owned());
    } else {
        &feed.topics
    };
    let mut avro = match &feed.avro {
        Some(registry) => Some(AvroFeed::new(registry, &topics[0])?),
        None => None,
    };
    while total.is_none_or(|t| sent < t) && !stop.load(Ordering::Acquire) {
        let consumed = progress.consumed.load(Ordering::Acquire);
        if sent.saturating_sub(consumed) >= FEED_LEAD {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let want = 500.min(total.map_or(500, |t| t - sent));
        let n = pacer.allowance(want);
        if n == 0 {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        // Key, value and headers of each generated record.
        let mut chunk: Vec<_> = (0..n).map(|_| generator.next_record()).collect();
        if let Some(avro) = avro.as_mut() {
            let mut values: Vec<Option<Vec<u8>>> =
                chunk.iter_mut().map(|(_, v, _)| v.take()).collect();
            avro.encode(&mut values)?;
            for ((_, v, _), value) in chunk.iter_mut().zip(values) {
                *v = value;
            }
        }
        for (key, value, headers) in chunk {
            let topic = &topics[(sent % topics.len() as u64) as usize];
            let mut kafka_headers = OwnedHeaders::new_with_capacity(headers.len());
            for h in &headers {
                kafka_headers = kafka_headers.insert(KafkaHeader {
                    key: &h.key,
                    value: h.value.as_deref(),
                });
            }
            let mut record: BaseRecord<'_, [u8], [u8]> =
                BaseRecord::to(topic).key(&key[..]).headers(kafka_headers);
            if let Some(v) = &value {
                record = record.payload(&v[..]);
            }
            let mut record = record;
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            sent += 1;
        }
        pacer.sent(n);
        progress.produced.store(sent, Ordering::Release);
    }
    producer
        .flush(Duration::from_secs(30))
        .map_err(|e| format!("the feed's records were not all acknowledged: {e}"))?;
    progress.produced.store(sent, Ordering::Release);
    progress.done.store(true, Ordering::Release);
    tracing::info!(records = sent, "feed finished");
    Ok(())
}
