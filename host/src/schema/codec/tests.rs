//! The registry encoder against Sabot's own registry on 127.0.0.1: which
//! subject each strategy registers under, and the framed rows it writes.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};

use super::*;
use crate::embedded::EmbeddedRegistry;

/// The topic every test writes to.
const TOPIC: &str = "orders";

/// The pipeline name an encoder falls back on for a record name.
const PIPELINE: &str = "order-copy";

/// An Avro record in a namespace, as a sink's `schema` gives it.
const ORDER: &str =
    r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"}]}"#;

/// A client of `registry`.
fn client(registry: &EmbeddedRegistry) -> RegistryClient {
    RegistryClient::new(ClientConfig::new(registry.url())).expect("a client")
}

/// One row: `id` 7.
fn batch() -> RecordBatch {
    let id: ArrayRef = Arc::new(Int64Array::from(vec![7]));
    RecordBatch::try_from_iter([("id", id)]).expect("a batch")
}

/// Encode [`batch`] to [`TOPIC`] with `options`; the framed value.
fn encode(
    registry: &EmbeddedRegistry,
    kind: RegisteredKind,
    options: RegisteredSinkOptions,
) -> Vec<u8> {
    encode_to(registry, kind, TOPIC, options)
}

/// Encode [`batch`] to `topic` with `options`; the framed value.
fn encode_to(
    registry: &EmbeddedRegistry,
    kind: RegisteredKind,
    topic: &str,
    options: RegisteredSinkOptions,
) -> Vec<u8> {
    let mut encoder = RegistryEncoder::new(kind, options, client(registry), PIPELINE);
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    let errors = encoder
        .encode(&batch(), topic, &mut out, &mut ends)
        .unwrap_or_else(|e| panic!("{kind:?} encodes: {e}"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ends, [out.len()]);
    out
}

/// Options with `strategy`, the rest as when only the format is named.
fn options(strategy: SubjectStrategy) -> RegisteredSinkOptions {
    RegisteredSinkOptions {
        subject_strategy: strategy,
        ..RegisteredSinkOptions::with_defaults()
    }
}

#[test]
fn a_given_schema_is_registered_under_the_topic_its_record_or_both() {
    let registry = EmbeddedRegistry::start().expect("a registry");
    for (strategy, subject) in [
        (SubjectStrategy::Topic, "orders-value"),
        (SubjectStrategy::Record, "shop.Order"),
        (SubjectStrategy::TopicRecord, "orders-shop.Order"),
    ] {
        let value = encode(
            &registry,
            RegisteredKind::Avro,
            RegisteredSinkOptions {
                schema: Some(ORDER.to_owned()),
                ..options(strategy)
            },
        );
        // One schema, one id under every subject; 7 as a zig-zag long.
        assert_eq!(value, [0, 0, 0, 0, 1, 14], "{strategy:?}");
        let latest = client(&registry).latest(subject);
        assert_eq!(
            latest.map(|v| (v.version, v.schema.id)),
            Ok((1, 1)),
            "{strategy:?}"
        );
    }
    // Writing with the latest schema looks the subject up the same way.
    let value = encode(
        &registry,
        RegisteredKind::Avro,
        RegisteredSinkOptions {
            use_latest: true,
            record_name: Some("shop.Order".to_owned()),
            ..options(SubjectStrategy::TopicRecord)
        },
    );
    assert_eq!(value, [0, 0, 0, 0, 1, 14]);
    assert_eq!(
        client(&registry).subjects(),
        Ok(vec![
            "orders-shop.Order".to_owned(),
            "orders-value".to_owned(),
            "shop.Order".to_owned(),
        ])
    );
}

#[test]
fn a_derived_schema_is_named_after_the_pipeline_unless_a_record_name_is_given() {
    let registry = EmbeddedRegistry::start().expect("a registry");
    encode(
        &registry,
        RegisteredKind::Avro,
        options(SubjectStrategy::Record),
    );
    encode(
        &registry,
        RegisteredKind::Avro,
        options(SubjectStrategy::TopicRecord),
    );
    // A full name, as Confluent's record name strategy makes subjects of.
    for strategy in [SubjectStrategy::Record, SubjectStrategy::TopicRecord] {
        encode(
            &registry,
            RegisteredKind::Avro,
            RegisteredSinkOptions {
                record_name: Some("shop.Refund".to_owned()),
                ..options(strategy)
            },
        );
    }
    let client = client(&registry);
    assert_eq!(
        client.subjects(),
        Ok(vec![
            "order_copy".to_owned(),
            "orders-order_copy".to_owned(),
            "orders-shop.Refund".to_owned(),
            "shop.Refund".to_owned(),
        ])
    );
    let text = |subject: &str| {
        let latest = client.latest(subject).expect("registered");
        serde_json::from_str::<serde_json::Value>(&latest.schema.schema).expect("JSON")
    };
    assert_eq!(
        text("orders-order_copy"),
        serde_json::json!({"type": "record", "name": "order_copy", "fields": [
            {"name": "id", "type": "long"}
        ]})
    );
    assert_eq!(
        text("orders-shop.Refund"),
        serde_json::json!({"type": "record", "name": "Refund", "namespace": "shop", "fields": [
            {"name": "id", "type": "long"}
        ]})
    );
}

#[test]
fn protobuf_and_json_schema_subjects_name_the_message_and_the_title() {
    let registry = EmbeddedRegistry::start().expect("a registry");
    for (kind, topic) in [
        (RegisteredKind::Protobuf, "proto-orders"),
        (RegisteredKind::JsonSchema, "json-orders"),
    ] {
        encode_to(
            &registry,
            kind,
            topic,
            options(SubjectStrategy::TopicRecord),
        );
        encode_to(
            &registry,
            kind,
            topic,
            RegisteredSinkOptions {
                record_name: Some("shop.Order".to_owned()),
                ..options(SubjectStrategy::TopicRecord)
            },
        );
    }
    let client = client(&registry);
    assert_eq!(
        client.subjects(),
        Ok(vec![
            "json-orders-order_copy".to_owned(),
            "json-orders-shop.Order".to_owned(),
            "proto-orders-order_copy".to_owned(),
            "proto-orders-shop.Order".to_owned(),
        ])
    );
    let text = |subject: &str| client.latest(subject).expect("registered").schema.schema;
    assert_eq!(
        text("proto-orders-shop.Order"),
        "syntax = \"proto3\";\n\npackage shop;\n\nmessage Order {\n  int64 id = 1;\n}\n"
    );
    let title = serde_json::from_str::<serde_json::Value>(&text("json-orders-shop.Order"))
        .expect("JSON")["title"]
        .clone();
    assert_eq!(title, "shop.Order");
}
