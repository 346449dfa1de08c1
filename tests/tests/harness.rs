//! Tests of the test harness itself: both brokers start, take records and
//! give back exactly what was written.

use std::collections::BTreeMap;
use std::time::Duration;

use sabot_tests::{
    Broker, BrokerKind, ConsumedRecord, TestRecord, kafka, parse_test_brokers, tansu, unique_name,
};

/// 1,000 keyed records with headers, spread over 3 partitions by key.
fn sample_records() -> Vec<TestRecord> {
    (0..1_000)
        .map(|i| {
            let mut record = TestRecord::keyed(format!("key-{i}"), format!(r#"{{"n":{i}}}"#))
                .with_header("index", Some(i.to_string()))
                .with_header("empty", None::<Vec<u8>>);
            if i % 100 == 0 {
                record = record.with_timestamp(1_700_000_000_000 + i64::from(i));
            }
            record
        })
        .collect()
}

/// Produces the sample to a new 3-partition topic, reads it back and checks
/// every field, the offsets and the end offsets.
fn round_trip(broker: &Broker) {
    let topic = broker.new_topic("harness-round-trip", 3);
    assert_eq!(broker.partitions(&topic), vec![0, 1, 2]);
    let sent = sample_records();
    let landed = broker.produce(&topic, &sent);
    assert_eq!(landed.len(), 1_000);

    let records = broker.consume_all(&topic, 1_000, Duration::from_secs(60));
    assert_eq!(records.len(), 1_000);

    // Index what came back by where the producer said it landed.
    let by_position: BTreeMap<(i32, i64), &ConsumedRecord> = records
        .iter()
        .map(|record| ((record.partition, record.offset), record))
        .collect();
    for (record, position) in sent.iter().zip(&landed) {
        let got = by_position
            .get(position)
            .unwrap_or_else(|| panic!("no record read back at {position:?}"));
        assert_eq!(got.key, record.key);
        assert_eq!(got.value, record.value);
        assert_eq!(got.headers, record.headers);
        if let Some(timestamp) = record.timestamp {
            assert_eq!(got.timestamp, Some(timestamp));
        }
    }

    // Records read back are those 1,000, in offset order per partition.
    let mut keys: Vec<&str> = records.iter().filter_map(ConsumedRecord::key_str).collect();
    keys.sort_unstable();
    let mut expected: Vec<String> = (0..1_000).map(|i| format!("key-{i}")).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    for partition in 0..3 {
        let offsets: Vec<i64> = records
            .iter()
            .filter(|record| record.partition == partition)
            .map(|record| record.offset)
            .collect();
        assert!(
            offsets.windows(2).all(|pair| pair[0] < pair[1]),
            "partition {partition} out of order"
        );
    }

    let ends = broker.end_offsets(&topic);
    assert_eq!(ends.keys().copied().collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(ends.values().sum::<i64>(), 1_000);
    // Keys spread the sample over every partition.
    assert!(ends.values().all(|&end| end > 0), "end offsets {ends:?}");
}

#[test]
fn kafka_round_trips_1000_keyed_records_with_headers() {
    let broker = kafka();
    if std::env::var_os("SABOT_TEST_BROKERS").is_none() {
        assert_eq!(broker.kind(), BrokerKind::Kafka);
        assert!(
            broker.bootstrap().starts_with("127.0.0.1:"),
            "{}",
            broker.bootstrap()
        );
    }
    round_trip(broker);
}

#[test]
fn tansu_round_trips_1000_keyed_records_with_headers() {
    let broker = tansu();
    assert_eq!(broker.kind(), BrokerKind::Tansu);
    round_trip(broker);
}

#[test]
fn kafka_keeps_explicit_partitions_null_values_and_reports_commits() {
    let broker = kafka();
    let topic = broker.new_topic("harness-commits", 2);
    let landed = broker.produce(
        &topic,
        &[
            TestRecord::value("a").with_partition(1),
            TestRecord {
                partition: Some(1),
                ..TestRecord::default()
            },
            TestRecord::value("c").with_partition(0),
        ],
    );
    assert_eq!(landed, vec![(1, 0), (1, 1), (0, 0)]);

    let records = broker.consume_all(&topic, 3, Duration::from_secs(30));
    let summary: Vec<(i32, i64, Option<&str>)> = records
        .iter()
        .map(|record| (record.partition, record.offset, record.value_str()))
        .collect();
    assert_eq!(
        summary,
        vec![(0, 0, Some("c")), (1, 0, Some("a")), (1, 1, None)]
    );

    // Nothing is committed until a group commits.
    let group = unique_name("harness-group");
    assert_eq!(broker.committed(&group, &topic), BTreeMap::new());
    commit(broker, &group, &topic, &[(0, 1), (1, 2)]);
    assert_eq!(
        broker.committed(&group, &topic),
        BTreeMap::from([(0, 1), (1, 2)])
    );
    assert_eq!(
        broker.wait_for_committed(&group, &topic, 3, Duration::from_secs(10)),
        BTreeMap::from([(0, 1), (1, 2)])
    );
}

/// Commits `offsets` for `group` on `topic` the way a consumer would.
fn commit(broker: &Broker, group: &str, topic: &str, offsets: &[(i32, i64)]) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let consumer: BaseConsumer = broker.consumer_config(group).create().expect("consumer");
    let mut list = TopicPartitionList::new();
    for &(partition, offset) in offsets {
        list.add_partition_offset(topic, partition, Offset::Offset(offset))
            .expect("offset");
    }
    consumer.commit(&list, CommitMode::Sync).expect("commit");
}

#[test]
fn creating_an_existing_topic_fails_with_the_broker_reason() {
    let broker = kafka();
    let topic = broker.new_topic("harness-twice", 1);
    let error =
        std::panic::catch_unwind(|| broker.create_topic(&topic, 1)).expect_err("second create");
    let message = error.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        message,
        format!(
            "broker {} refused to create topic `{topic}`: TopicAlreadyExists (Broker: Topic already exists)",
            broker.bootstrap()
        )
    );
}

#[test]
fn test_brokers_value_is_checked_and_normalised() {
    assert_eq!(
        parse_test_brokers("127.0.0.1:9092").as_deref(),
        Ok("127.0.0.1:9092")
    );
    assert_eq!(
        parse_test_brokers(" kafka-1:9092 , kafka-2:19092").as_deref(),
        Ok("kafka-1:9092,kafka-2:19092")
    );
    assert_eq!(
        parse_test_brokers("localhost"),
        Err("`localhost` is not `host:port`".to_owned())
    );
    assert_eq!(
        parse_test_brokers(":9092"),
        Err("`:9092` has no host; write `host:port`".to_owned())
    );
    assert_eq!(
        parse_test_brokers("a:9092,b:http"),
        Err("`b:http` has port `http`, expected a number from 1 to 65535".to_owned())
    );
    assert_eq!(
        parse_test_brokers("a:0"),
        Err("`a:0` has port `0`, expected a number from 1 to 65535".to_owned())
    );
}

#[test]
fn unique_names_differ_and_keep_the_prefix() {
    let first = unique_name("orders");
    let second = unique_name("orders");
    assert_ne!(first, second);
    assert!(first.starts_with("orders-"), "{first}");
    assert!(
        first.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "{first} is not a valid topic name"
    );
}

#[test]
fn sabot_bin_is_the_built_binary_of_this_workspace() {
    let bin = sabot_tests::sabot_bin();
    assert_eq!(
        bin.file_name().and_then(|name| name.to_str()),
        Some("sabot")
    );
    assert!(bin.is_file(), "{} is not a file", bin.display());
    assert!(
        bin.starts_with(sabot_tests::repo_root().join("target"))
            || std::env::var_os("CARGO_TARGET_DIR").is_some()
    );
}
