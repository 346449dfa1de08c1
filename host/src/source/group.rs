//! A consumer group's committed offsets, read and changed from outside
//! the group.
//!
//! This is what `GET`, `PATCH` and `DELETE /connectors/NAME/offsets` do
//! for a connector reading Kafka. Reading works at any time. Changing
//! needs the group to be empty — the connector stopped — because Kafka
//! only takes a commit from outside the group when the group has no
//! members; a running member elsewhere makes the change fail rather than
//! race it.
//!
//! A change sets a partition to an offset, to the first offset at or after
//! a timestamp, or back to where a partition without a committed offset
//! starts (the source's `start`: the partition's first or next offset).
//! Resetting the whole connector deletes the group, so every partition
//! starts as if it had never been read.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::kafka::KafkaSourceSpec;
use crate::config::StartPosition;

/// A partition's committed offset: the next record the group will read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The offset of the next record to read.
    pub offset: i64,
}

/// Where a change moves a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetTarget {
    /// To this offset (the next record read is the one at it).
    Offset(i64),
    /// To the first record at or after this time, in milliseconds since
    /// the Unix epoch; to the partition's end when there is none.
    Timestamp(i64),
    /// To where a partition without a committed offset starts.
    Reset,
}

/// One requested change: a topic, one partition of it or all of them
/// (`None`), and where to move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetChange {
    /// The topic.
    pub topic: String,
    /// The partition; every partition of the topic when absent.
    pub partition: Option<i32>,
    /// Where it goes.
    pub target: OffsetTarget,
}

/// Why offsets could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// The request names something the connector does not read.
    #[error("{0}")]
    Invalid(String),
    /// The group has members: the connector runs somewhere.
    #[error("{0}")]
    Busy(String),
    /// The cluster refused or did not answer.
    #[error("{0}")]
    Kafka(String),
}

/// A client of `spec`'s group that never joins it.
fn outside_consumer(spec: &KafkaSourceSpec) -> Result<BaseConsumer, GroupError> {
    let mut config = ClientConfig::new();
    for (k, v) in &spec.properties {
        config.set(k, v);
    }
    config
        .set("bootstrap.servers", &spec.brokers)
        .set("group.id", &spec.group)
        .set("enable.auto.commit", "false");
    config.create().map_err(|e| {
        GroupError::Kafka(format!(
            "cannot create a client for `{}`: {e}",
            spec.brokers
        ))
    })
}

/// Every partition of the topics `spec` subscribes to (a `^regex`
/// subscription matched against the cluster's topics), sorted.
fn subscribed_partitions(
    consumer: &BaseConsumer,
    spec: &KafkaSourceSpec,
    timeout: Duration,
) -> Result<Vec<(String, i32)>, GroupError> {
    let metadata = consumer.fetch_metadata(None, timeout).map_err(|e| {
        GroupError::Kafka(format!("cannot list the topics of `{}`: {e}", spec.brokers))
    })?;
    let patterns: Vec<regex::Regex> = spec
        .subscription
        .iter()
        .filter_map(|s| s.strip_prefix('^'))
        .filter_map(|p| regex::Regex::new(&format!("^(?:{p})")).ok())
        .collect();
    let mut out = Vec::new();
    for topic in metadata.topics() {
        let name = topic.name();
        let named = spec.subscription.iter().any(|s| s == name);
        let matched = !name.starts_with("__") && patterns.iter().any(|p| p.is_match(name));
        if named || matched {
            out.extend(topic.partitions().iter().map(|p| (name.to_owned(), p.id())));
        }
    }
    out.sort();
    Ok(out)
}

/// The group's committed offsets for the partitions `spec` reads; only
/// partitions with a commit are listed.
///
/// # Errors
///
/// The cluster did not answer within `timeout`.
pub fn committed(
    spec: &KafkaSourceSpec,
    timeout: Duration,
) -> Result<Vec<GroupOffset>, GroupError> {
    let consumer = outside_consumer(spec)?;
    let partitions = subscribed_partitions(&consumer, spec, timeout)?;
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for (topic, partition) in &partitions {
        list.add_partition(topic, *partition);
    }
    // A group coordinator that is still loading answers with an error;
    // ask again until the time is up.
    let committed = retrying(timeout, |left| {
        consumer.committed_offsets(list.clone(), left)
    })
    .map_err(|e| {
        GroupError::Kafka(format!(
            "cannot read the offsets of group `{}`: {e}",
            spec.group
        ))
    })?;
    let mut out: Vec<GroupOffset> = committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(offset) => Some(GroupOffset {
                topic: e.topic().to_owned(),
                partition: e.partition(),
                offset,
            }),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(out)
}

/// Apply `changes` to the group's committed offsets, all at once; the
/// offsets committed.
///
/// # Errors
///
/// A change names a partition the subscription does not read, the
/// cluster did not answer, or the group has members (the connector runs
/// somewhere).
pub fn alter(
    spec: &KafkaSourceSpec,
    changes: &[OffsetChange],
    timeout: Duration,
) -> Result<Vec<GroupOffset>, GroupError> {
    let consumer = outside_consumer(spec)?;
    let known = subscribed_partitions(&consumer, spec, timeout)?;
    // Later changes of the same partition win, as in one map.
    let mut wanted: BTreeMap<(String, i32), OffsetTarget> = BTreeMap::new();
    for change in changes {
        let of_topic: Vec<i32> = known
            .iter()
            .filter(|(t, _)| *t == change.topic)
            .map(|(_, p)| *p)
            .collect();
        if of_topic.is_empty() {
            return Err(GroupError::Invalid(format!(
                "topic `{}` is not one this connector reads (it reads {:?}); name one of its topics",
                change.topic, spec.subscription
            )));
        }
        match change.partition {
            Some(p) if !of_topic.contains(&p) => {
                return Err(GroupError::Invalid(format!(
                    "topic `{}` has no partition {p}; its partitions are 0 to {}",
                    change.topic,
                    of_topic.len() - 1
                )));
            }
            Some(p) => {
                wanted.insert((change.topic.clone(), p), change.target);
            }
            None => {
                for p in of_topic {
                    wanted.insert((change.topic.clone(), p), change.target);
                }
            }
        }
    }
    let mut resolved: Vec<GroupOffset> = Vec::with_capacity(wanted.len());
    let mut by_time = TopicPartitionList::new();
    for ((topic, partition), target) in &wanted {
        let offset = match *target {
            OffsetTarget::Offset(offset) => offset,
            OffsetTarget::Reset => {
                let (low, high) = watermarks(&consumer, topic, *partition, timeout)?;
                match spec.start {
                    StartPosition::Earliest => low,
                    StartPosition::Latest => high,
                }
            }
            OffsetTarget::Timestamp(ms) => {
                by_time
                    .add_partition_offset(topic, *partition, Offset::Offset(ms))
                    .map_err(|e| {
                        GroupError::Kafka(format!("cannot ask for offsets by time: {e}"))
                    })?;
                continue;
            }
        };
        resolved.push(GroupOffset {
            topic: topic.clone(),
            partition: *partition,
            offset,
        });
    }
    if by_time.count() > 0 {
        let found = consumer
            .offsets_for_times(by_time, timeout)
            .map_err(|e| GroupError::Kafka(format!("cannot find offsets by time: {e}")))?;
        for e in found.elements() {
            let offset = match e.offset() {
                Offset::Offset(offset) => offset,
                // No record at or after the time: the partition's end.
                _ => watermarks(&consumer, e.topic(), e.partition(), timeout)?.1,
            };
            resolved.push(GroupOffset {
                topic: e.topic().to_owned(),
                partition: e.partition(),
                offset,
            });
        }
    }
    resolved.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let mut list = TopicPartitionList::with_capacity(resolved.len());
    for o in &resolved {
        list.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.offset))
            .map_err(|e| GroupError::Kafka(format!("cannot build the commit: {e}")))?;
    }
    consumer
        .commit(&list, CommitMode::Sync)
        .map_err(|e| {
            GroupError::Busy(format!(
                "cannot commit offsets for group `{}`: {e}; the group must have no members (stop every worker running the connector)",
                spec.group
            ))
        })?;
    tracing::info!(pipeline = %spec.pipeline, group = %spec.group, partitions = resolved.len(), "offsets altered");
    Ok(resolved)
}

/// Forget every committed offset of the group by deleting it.
///
/// # Errors
///
/// The cluster did not answer, or the group has members.
pub fn reset(spec: &KafkaSourceSpec, timeout: Duration) -> Result<(), GroupError> {
    let mut config = ClientConfig::new();
    for (k, v) in &spec.properties {
        // Consumer-only settings mean nothing to an admin client and make
        // librdkafka warn.
        if !k.starts_with("group.") && !k.starts_with("session.") && !k.starts_with("heartbeat.") {
            config.set(k, v);
        }
    }
    config.set("bootstrap.servers", &spec.brokers);
    let admin: AdminClient<DefaultClientContext> = config.create().map_err(|e| {
        GroupError::Kafka(format!(
            "cannot create an admin client for `{}`: {e}",
            spec.brokers
        ))
    })?;
    let options = AdminOptions::new().request_timeout(Some(timeout));
    let results = block_on(admin.delete_groups(&[&spec.group], &options))
        .map_err(|e| GroupError::Kafka(format!("cannot delete group `{}`: {e}", spec.group)))?;
    for result in results {
        match result {
            Ok(_) => {}
            // Never committed anything: nothing to forget.
            Err((_, RDKafkaErrorCode::GroupIdNotFound)) => {}
            Err((group, RDKafkaErrorCode::NonEmptyGroup)) => {
                return Err(GroupError::Busy(format!(
                    "group `{group}` still has members; stop every worker running the connector first"
                )));
            }
            Err((group, code)) => {
                return Err(GroupError::Kafka(format!(
                    "cannot delete group `{group}`: {code}"
                )));
            }
        }
    }
    tracing::info!(pipeline = %spec.pipeline, group = %spec.group, "offsets reset");
    Ok(())
}

fn watermarks(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> Result<(i64, i64), GroupError> {
    consumer
        .fetch_watermarks(topic, partition, timeout)
        .map_err(|e| {
            GroupError::Kafka(format!(
                "cannot read the offsets of `{topic}` partition {partition}: {e}"
            ))
        })
}

/// Call `f` with the time left until it succeeds or `timeout` has passed;
/// its last error then.
fn retrying<T>(
    timeout: Duration,
    mut f: impl FnMut(Duration) -> rdkafka::error::KafkaResult<T>,
) -> rdkafka::error::KafkaResult<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match f(left.max(Duration::from_millis(100))) {
            Ok(v) => return Ok(v),
            Err(e) if std::time::Instant::now() + Duration::from_millis(200) >= deadline => {
                return Err(e);
            }
            Err(e) => {
                tracing::debug!(error = %e, "offsets not readable yet; asking again");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// Run `future` to its end on this thread. rdkafka's admin futures are
/// completed by its own background thread, so no async runtime is needed.
fn block_on<F: Future>(future: F) -> F::Output {
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
