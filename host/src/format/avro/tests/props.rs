//! Properties: no bytes make the decoder panic, and random values of a
//! schema come back unchanged through the decoder and the encoder.

use std::collections::HashMap;

use apache_avro::types::Value;
use apache_avro::{Days, Decimal, Duration, Millis, Months, Uuid};
use proptest::prelude::*;

use super::types::{ALL_TYPES, all_values};
use super::{datum, decoder, encode_rows, read_back, schema};
use crate::format::avro::AvroSchema;

/// Schemas the byte properties run against: every type, a recursive one,
/// and a writer read through a reader.
fn byte_schemas() -> Vec<(AvroSchema, Option<AvroSchema>)> {
    let node = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "v", "type": ["null", "int", "string"]},
        {"name": "kids", "type": {"type": "array", "items": "Node"}},
        {"name": "next", "type": ["null", "Node"]}]}"#;
    let writer = r#"{"type": "record", "name": "R", "fields": [
        {"name": "a", "type": {"type": "map", "values": {"type": "array", "items": ["null", "float"]}}},
        {"name": "gone", "type": {"type": "array", "items": {"type": "map", "values": "bytes"}}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y", "Z"]}}]}"#;
    let reader = r#"{"type": "record", "name": "R", "fields": [
        {"name": "a", "type": {"type": "map", "values": {"type": "array", "items": ["null", "double"]}}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["Y", "X"]}},
        {"name": "added", "type": {"type": "array", "items": "long"}, "default": [1, 2]}]}"#;
    vec![
        (schema(ALL_TYPES), None),
        (schema(node), None),
        (schema(writer), Some(schema(reader))),
        (schema(r#"{"type": "array", "items": "null"}"#), None),
    ]
}

/// Decodes values with every byte schema, checking the batch accounts
/// for every value.
fn decode_everywhere(values: &[Vec<u8>]) {
    let slices: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    for (writer, reader) in byte_schemas() {
        let mut decoder = decoder(&writer, reader.as_ref());
        let decoded = decoder.decode(&slices);
        assert_eq!(decoded.rows.len() + decoded.errors.len(), values.len());
        assert_eq!(decoded.batch.num_rows(), decoded.rows.len());
        // What decoded encodes again (the reader's schema, if any).
        let (rows, _) = encode_rows(reader.as_ref().unwrap_or(&writer), &decoded.batch);
        assert_eq!(rows.len(), decoded.rows.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 0..6)) {
        decode_everywhere(&values);
    }

    #[test]
    fn damaged_datums_never_panic(cut in 0usize..400, flips in prop::collection::vec((0usize..400, any::<u8>()), 0..4)) {
        let all = schema(ALL_TYPES);
        let mut values: Vec<Vec<u8>> = all_values().into_iter().map(|v| datum(&all, v)).collect();
        for (at, xor) in flips {
            let len = values[0].len();
            values[0][at % len] ^= xor;
        }
        let len = values[1].len();
        values[1].truncate(cut % (len + 1));
        decode_everywhere(&values);
    }
}

/// The schema the round-trip property generates values of.
const ROUND_TRIP: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "qty", "type": "int"},
    {"name": "note", "type": "string"},
    {"name": "blob", "type": "bytes"},
    {"name": "price", "type": "double"},
    {"name": "coupon", "type": ["null", "string"]},
    {"name": "either", "type": ["null", "long", "string"]},
    {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
        {"name": "sku", "type": "int"}, {"name": "memo", "type": ["null", "string"]}]}}},
    {"name": "attrs", "type": {"type": "map", "values": "long"}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 3}},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}},
    {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "wait", "type": {"type": "fixed", "name": "Wait", "size": 12, "logicalType": "duration"}}
]}"#;

/// A union value: branch 0 (`null`) for `None`.
fn nullable(value: Option<Value>) -> Value {
    match value {
        Some(v) => Value::Union(1, Box::new(v)),
        None => Value::Union(0, Box::new(Value::Null)),
    }
}

/// The shortest two's complement bytes of an integer.
fn twos_complement(value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let fill = if value < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 7 && bytes[start] == fill && ((bytes[start + 1] & 0x80 != 0) == (value < 0)) {
        start += 1;
    }
    bytes[start..].to_vec()
}

/// Values of [`ROUND_TRIP`].
fn order() -> impl Strategy<Value = Value> {
    let line = (any::<i32>(), proptest::option::of(".{0,6}")).prop_map(|(sku, memo)| {
        Value::Record(vec![
            ("sku".into(), Value::Int(sku)),
            ("memo".into(), nullable(memo.map(Value::String))),
        ])
    });
    let either = prop_oneof![
        Just(Value::Union(0, Box::new(Value::Null))),
        any::<i64>().prop_map(|v| Value::Union(1, Box::new(Value::Long(v)))),
        ".{0,8}".prop_map(|s| Value::Union(2, Box::new(Value::String(s)))),
    ];
    let scalars = (
        any::<i64>(),
        any::<i32>(),
        any::<String>(),
        prop::collection::vec(any::<u8>(), 0..10),
        any::<f64>().prop_filter("NaN is never equal", |f| !f.is_nan()),
        proptest::option::of(any::<String>()),
        either,
    );
    let nested = (
        prop::collection::vec(line, 0..4),
        prop::collection::hash_map(".{0,4}", any::<i64>(), 0..4),
        0u32..3,
        any::<[u8; 3]>(),
        -999_999_999_999i64..=999_999_999_999,
        any::<i64>(),
        any::<i32>(),
        any::<[u8; 16]>(),
        (0u32..=i32::MAX as u32, 0u32..=i32::MAX as u32, any::<u32>()),
    );
    (scalars, nested).prop_map(
        |(
            (id, qty, note, blob, price, coupon, either),
            (lines, attrs, status, code, amount, at, day, uuid, wait),
        )| {
            let symbols = ["NEW", "PAID", "SHIPPED"];
            Value::Record(vec![
                ("id".into(), Value::Long(id)),
                ("qty".into(), Value::Int(qty)),
                ("note".into(), Value::String(note)),
                ("blob".into(), Value::Bytes(blob)),
                ("price".into(), Value::Double(price)),
                ("coupon".into(), nullable(coupon.map(Value::String))),
                ("either".into(), either),
                ("lines".into(), Value::Array(lines)),
                (
                    "attrs".into(),
                    Value::Map(
                        attrs
                            .into_iter()
                            .map(|(k, v)| (k, Value::Long(v)))
                            .collect::<HashMap<_, _>>(),
                    ),
                ),
                (
                    "status".into(),
                    Value::Enum(status, symbols[status as usize].into()),
                ),
                ("code".into(), Value::Fixed(3, code.to_vec())),
                (
                    "amount".into(),
                    Value::Decimal(Decimal::from(twos_complement(amount))),
                ),
                ("at".into(), Value::TimestampMicros(at)),
                ("day".into(), Value::Date(day)),
                ("ref".into(), Value::Uuid(Uuid::from_bytes(uuid))),
                (
                    "wait".into(),
                    Value::Duration(Duration::new(
                        Months::new(wait.0),
                        Days::new(wait.1),
                        Millis::new(wait.2),
                    )),
                ),
            ])
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_values_round_trip(values in prop::collection::vec(order(), 1..5)) {
        let schema = schema(ROUND_TRIP);
        let datums: Vec<Vec<u8>> = values.iter().map(|v| datum(&schema, v.clone())).collect();
        let slices: Vec<&[u8]> = datums.iter().map(Vec::as_slice).collect();
        let decoded = decoder(&schema, None).decode(&slices);
        prop_assert_eq!(decoded.errors, vec![]);
        let (rows, errors) = encode_rows(&schema, &decoded.batch);
        prop_assert_eq!(errors, Vec::<String>::new());
        for (row, value) in rows.iter().zip(&values) {
            prop_assert_eq!(&read_back(&schema, row), value);
        }
    }
}
