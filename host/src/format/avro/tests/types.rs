//! Every Avro type: apache-avro writes, the decoder reads exact Arrow
//! values, the encoder writes them back, apache-avro reads the same
//! values.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::types::Value;
use apache_avro::{Days, Decimal, Duration, Millis, Months, Uuid};
use arrow_array::builder::{Float64Builder, Int64Builder, ListBuilder, MapBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Decimal256Array,
    DictionaryArray, FixedSizeBinaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    IntervalMonthDayNanoArray, NullArray, StringArray, StructArray, Time32MillisecondArray,
    Time64MicrosecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, UnionArray,
};
use arrow_buffer::{IntervalMonthDayNano, ScalarBuffer, i256};
use arrow_schema::{DataType, Field, Fields, IntervalUnit, TimeUnit, UnionFields, UnionMode};

use super::{col, datum, decode, encode_rows, read_back, same, schema};
use crate::format::avro::{LOGICAL_TYPE_KEY, NAME_KEY, SIZE_KEY, SYMBOLS_KEY};

/// A record with a field of every type.
pub(super) const ALL_TYPES: &str = r#"{
  "type": "record", "name": "All", "namespace": "shop",
  "fields": [
    {"name": "n", "type": "null"},
    {"name": "b", "type": "boolean"},
    {"name": "i", "type": "int"},
    {"name": "l", "type": "long"},
    {"name": "f", "type": "float"},
    {"name": "d", "type": "double"},
    {"name": "by", "type": "bytes"},
    {"name": "s", "type": "string"},
    {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
    {"name": "e", "type": {"type": "enum", "name": "Suit", "symbols": ["SPADES", "HEARTS", "DIAMONDS", "CLUBS"]}},
    {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [
      {"name": "x", "type": "int"}, {"name": "y", "type": ["null", "string"]}]}},
    {"name": "arr", "type": {"type": "array", "items": "long"}},
    {"name": "m", "type": {"type": "map", "values": "double"}},
    {"name": "opt", "type": ["null", "long"]},
    {"name": "optlast", "type": ["string", "null"]},
    {"name": "u", "type": ["null", "int", "string", "Inner"]},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "decf", "type": {"type": "fixed", "name": "DecF", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 4}},
    {"name": "big", "type": {"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 5}},
    {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "uidf", "type": {"type": "fixed", "name": "Uid", "size": 16, "logicalType": "uuid"}},
    {"name": "date", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "tsn", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
    {"name": "ltm", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
    {"name": "ltu", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    {"name": "ltn", "type": {"type": "long", "logicalType": "local-timestamp-nanos"}},
    {"name": "dur", "type": {"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"}}
  ]
}"#;

/// The first UUID of the test rows.
const UUID_A: &str = "123e4567-e89b-12d3-a456-426614174000";
/// The second UUID of the test rows.
const UUID_B: &str = "ffffffff-0000-4000-8000-00000000abcd";

/// A parsed UUID.
fn uuid(text: &str) -> Uuid {
    match Uuid::parse_str(text) {
        Ok(uuid) => uuid,
        Err(error) => panic!("{error}"),
    }
}

/// An `Inner` record value.
fn inner(x: i32, y: Option<&str>) -> Value {
    Value::Record(vec![
        ("x".into(), Value::Int(x)),
        (
            "y".into(),
            match y {
                Some(y) => Value::Union(1, Box::new(Value::String(y.into()))),
                None => Value::Union(0, Box::new(Value::Null)),
            },
        ),
    ])
}

/// The two test rows of [`ALL_TYPES`].
pub(super) fn all_values() -> Vec<Value> {
    let big = {
        // -12345678901234567890123456789012345678901234 (45 digits).
        let text = "-12345678901234567890123456789012345678901234";
        let value = match i256::from_string(text) {
            Some(v) => v,
            None => panic!("bad i256"),
        };
        let bytes = value.to_be_bytes();
        // Trim to the shortest two's complement form, as writers do.
        let start = bytes
            .windows(2)
            .position(|w| !(w[0] == 0xff && w[1] & 0x80 != 0))
            .unwrap_or(0);
        bytes[start..].to_vec()
    };
    let row = |k: i64| -> Value {
        let first = k == 0;
        Value::Record(vec![
            ("n".into(), Value::Null),
            ("b".into(), Value::Boolean(first)),
            ("i".into(), Value::Int(if first { i32::MIN } else { 7 })),
            ("l".into(), Value::Long(if first { i64::MAX } else { -1 })),
            ("f".into(), Value::Float(if first { 1.5 } else { -0.25 })),
            (
                "d".into(),
                Value::Double(if first { 1e300 } else { -2.5e-10 }),
            ),
            (
                "by".into(),
                Value::Bytes(if first { vec![0, 255, 7] } else { vec![] }),
            ),
            (
                "s".into(),
                Value::String(if first {
                    "héllo \"w\"\n".into()
                } else {
                    String::new()
                }),
            ),
            (
                "fx".into(),
                Value::Fixed(4, if first { vec![1, 2, 3, 4] } else { vec![0; 4] }),
            ),
            (
                "e".into(),
                if first {
                    Value::Enum(1, "HEARTS".into())
                } else {
                    Value::Enum(3, "CLUBS".into())
                },
            ),
            (
                "rec".into(),
                inner(
                    if first { 1 } else { 2 },
                    if first { Some("y") } else { None },
                ),
            ),
            (
                "arr".into(),
                Value::Array(if first {
                    vec![Value::Long(1), Value::Long(-2), Value::Long(1 << 40)]
                } else {
                    vec![]
                }),
            ),
            (
                "m".into(),
                Value::Map(if first {
                    HashMap::from([("pi".to_owned(), Value::Double(3.25))])
                } else {
                    HashMap::new()
                }),
            ),
            (
                "opt".into(),
                if first {
                    Value::Union(1, Box::new(Value::Long(42)))
                } else {
                    Value::Union(0, Box::new(Value::Null))
                },
            ),
            (
                "optlast".into(),
                if first {
                    Value::Union(1, Box::new(Value::Null))
                } else {
                    Value::Union(0, Box::new(Value::String("z".into())))
                },
            ),
            (
                "u".into(),
                if first {
                    Value::Union(2, Box::new(Value::String("two".into())))
                } else {
                    Value::Union(3, Box::new(inner(9, Some("nine"))))
                },
            ),
            (
                "dec".into(),
                Value::Decimal(Decimal::from(if first {
                    vec![0x30, 0x39]
                } else {
                    vec![0xff]
                })),
            ),
            (
                "decf".into(),
                Value::Decimal(Decimal::from(if first {
                    vec![0, 0, 0, 0, 0, 0, 0x04, 0xd2]
                } else {
                    vec![0xff; 8]
                })),
            ),
            (
                "big".into(),
                Value::Decimal(Decimal::from(if first { big.clone() } else { vec![1] })),
            ),
            (
                "uid".into(),
                Value::Uuid(uuid(if first { UUID_A } else { UUID_B })),
            ),
            (
                "uidf".into(),
                Value::Uuid(uuid(if first { UUID_B } else { UUID_A })),
            ),
            ("date".into(), Value::Date(if first { 19_844 } else { -1 })),
            (
                "tm".into(),
                Value::TimeMillis(if first { 86_399_999 } else { 0 }),
            ),
            (
                "tu".into(),
                Value::TimeMicros(if first { 1 } else { 86_399_999_999 }),
            ),
            (
                "tsm".into(),
                Value::TimestampMillis(if first { 1_714_566_600_123 } else { -1 }),
            ),
            (
                "tsu".into(),
                Value::TimestampMicros(if first { 1_714_566_600_123_456 } else { 0 }),
            ),
            (
                "tsn".into(),
                Value::TimestampNanos(if first {
                    1_714_566_600_123_456_789
                } else {
                    i64::MIN
                }),
            ),
            (
                "ltm".into(),
                Value::LocalTimestampMillis(if first { 5 } else { 6 }),
            ),
            (
                "ltu".into(),
                Value::LocalTimestampMicros(if first { 7 } else { 8 }),
            ),
            (
                "ltn".into(),
                Value::LocalTimestampNanos(if first { 9 } else { 10 }),
            ),
            (
                "dur".into(),
                Value::Duration(Duration::new(
                    Months::new(if first { 14 } else { 0 }),
                    Days::new(if first { 3 } else { 0 }),
                    Millis::new(if first { 4_000_001 } else { u32::MAX }),
                )),
            ),
        ])
    };
    vec![row(0), row(1)]
}

#[test]
fn every_type_maps_to_its_arrow_type() {
    let schema = schema(ALL_TYPES);
    let arrow = match schema.to_arrow() {
        Ok(arrow) => arrow,
        Err(error) => panic!("{error}"),
    };
    let field = |name: &str| match arrow.field_with_name(name) {
        Ok(field) => field.clone(),
        Err(error) => panic!("{error}"),
    };
    let inner = Fields::from(vec![
        Field::new("x", DataType::Int32, false),
        Field::new("y", DataType::Utf8, true),
    ]);
    let utc = Some(Arc::from("UTC"));
    let expected = [
        ("n", DataType::Null, true),
        ("b", DataType::Boolean, false),
        ("i", DataType::Int32, false),
        ("l", DataType::Int64, false),
        ("f", DataType::Float32, false),
        ("d", DataType::Float64, false),
        ("by", DataType::Binary, false),
        ("s", DataType::Utf8, false),
        ("fx", DataType::FixedSizeBinary(4), false),
        (
            "e",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        ),
        ("rec", DataType::Struct(inner.clone()), false),
        (
            "arr",
            DataType::List(Arc::new(Field::new("item", DataType::Int64, false))),
            false,
        ),
        ("opt", DataType::Int64, true),
        ("optlast", DataType::Utf8, true),
        ("dec", DataType::Decimal128(10, 2), false),
        ("decf", DataType::Decimal128(18, 4), false),
        ("big", DataType::Decimal256(50, 5), false),
        ("uid", DataType::Utf8, false),
        ("uidf", DataType::FixedSizeBinary(16), false),
        ("date", DataType::Date32, false),
        ("tm", DataType::Time32(TimeUnit::Millisecond), false),
        ("tu", DataType::Time64(TimeUnit::Microsecond), false),
        (
            "tsm",
            DataType::Timestamp(TimeUnit::Millisecond, utc.clone()),
            false,
        ),
        (
            "tsu",
            DataType::Timestamp(TimeUnit::Microsecond, utc.clone()),
            false,
        ),
        ("tsn", DataType::Timestamp(TimeUnit::Nanosecond, utc), false),
        (
            "ltm",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        (
            "ltu",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        (
            "ltn",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        ("dur", DataType::Interval(IntervalUnit::MonthDayNano), false),
    ];
    for (name, data_type, nullable) in expected {
        let f = field(name);
        assert_eq!(f.data_type(), &data_type, "{name}");
        assert_eq!(f.is_nullable(), nullable, "{name}");
    }
    let map = field("m");
    let DataType::Map(entries, false) = map.data_type() else {
        panic!("{map:?}");
    };
    assert_eq!(
        entries.data_type(),
        &DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Float64, false),
        ]))
    );
    let union = field("u");
    let DataType::Union(fields, UnionMode::Dense) = union.data_type() else {
        panic!("{union:?}");
    };
    let children: Vec<(i8, String, DataType)> = fields
        .iter()
        .map(|(id, f)| (id, f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(
        children,
        [
            (0, "null".to_owned(), DataType::Null),
            (1, "int".to_owned(), DataType::Int32),
            (2, "string".to_owned(), DataType::Utf8),
            (3, "shop.Inner".to_owned(), DataType::Struct(inner)),
        ]
    );
    assert!(union.is_nullable());
    let meta = |name: &str, key: &str| field(name).metadata().get(key).cloned();
    assert_eq!(
        arrow.metadata().get(NAME_KEY).map(String::as_str),
        Some("shop.All")
    );
    assert_eq!(meta("fx", NAME_KEY).as_deref(), Some("shop.F4"));
    assert_eq!(meta("e", NAME_KEY).as_deref(), Some("shop.Suit"));
    assert_eq!(
        meta("e", SYMBOLS_KEY).as_deref(),
        Some(r#"["SPADES","HEARTS","DIAMONDS","CLUBS"]"#)
    );
    assert_eq!(meta("rec", NAME_KEY).as_deref(), Some("shop.Inner"));
    assert_eq!(meta("decf", NAME_KEY).as_deref(), Some("shop.DecF"));
    assert_eq!(meta("decf", SIZE_KEY).as_deref(), Some("8"));
    assert_eq!(meta("dec", SIZE_KEY), None);
    assert_eq!(meta("uid", LOGICAL_TYPE_KEY).as_deref(), Some("uuid"));
    assert_eq!(
        meta("uidf", "ARROW:extension:name").as_deref(),
        Some("arrow.uuid")
    );
    assert_eq!(meta("dur", NAME_KEY).as_deref(), Some("shop.Dur"));
}

#[test]
fn every_type_decodes_to_exact_values() {
    let schema = schema(ALL_TYPES);
    let values: Vec<Vec<u8>> = all_values()
        .into_iter()
        .map(|v| datum(&schema, v))
        .collect();
    let decoded = decode(&schema, None, &values);
    assert_eq!(decoded.errors, []);
    assert_eq!(decoded.rows, [0, 1]);
    let batch = &decoded.batch;
    let c = |name: &str| col(batch, name);
    same(&c("n"), &NullArray::new(2));
    same(&c("b"), &BooleanArray::from(vec![true, false]));
    same(&c("i"), &Int32Array::from(vec![i32::MIN, 7]));
    same(&c("l"), &Int64Array::from(vec![i64::MAX, -1]));
    same(&c("f"), &Float32Array::from(vec![1.5, -0.25]));
    same(&c("d"), &Float64Array::from(vec![1e300, -2.5e-10]));
    same(
        &c("by"),
        &BinaryArray::from(vec![&[0u8, 255, 7][..], &[][..]]),
    );
    same(&c("s"), &StringArray::from(vec!["héllo \"w\"\n", ""]));
    same(
        &c("fx"),
        &FixedSizeBinaryArray::from(vec![&[1u8, 2, 3, 4][..], &[0, 0, 0, 0][..]]),
    );
    let symbols: ArrayRef = Arc::new(StringArray::from(vec![
        "SPADES", "HEARTS", "DIAMONDS", "CLUBS",
    ]));
    same(
        &c("e"),
        &DictionaryArray::<Int32Type>::new(Int32Array::from(vec![1, 3]), symbols),
    );
    let inner_fields = Fields::from(vec![
        Field::new("x", DataType::Int32, false),
        Field::new("y", DataType::Utf8, true),
    ]);
    let inner_struct = |x: Vec<i32>, y: Vec<Option<&str>>| {
        StructArray::new(
            inner_fields.clone(),
            vec![
                Arc::new(Int32Array::from(x)),
                Arc::new(StringArray::from(y)),
            ],
            None,
        )
    };
    same(&c("rec"), &inner_struct(vec![1, 2], vec![Some("y"), None]));
    let mut arr = ListBuilder::new(Int64Builder::new()).with_field(Field::new(
        "item",
        DataType::Int64,
        false,
    ));
    arr.append_value([Some(1), Some(-2), Some(1 << 40)]);
    arr.append_value([]);
    same(&c("arr"), &arr.finish());
    let names = arrow_array::builder::MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut map = MapBuilder::new(Some(names), StringBuilder::new(), Float64Builder::new())
        .with_values_field(Field::new("value", DataType::Float64, false));
    map.keys().append_value("pi");
    map.values().append_value(3.25);
    let appended = map.append(true);
    assert!(appended.is_ok());
    assert!(map.append(true).is_ok());
    same(&c("m"), &map.finish());
    same(&c("opt"), &Int64Array::from(vec![Some(42), None]));
    same(&c("optlast"), &StringArray::from(vec![None, Some("z")]));

    let union = c("u");
    let union = union.as_any().downcast_ref::<UnionArray>().cloned();
    let Some(union) = union else {
        panic!("u is not a union")
    };
    assert_eq!(union.type_ids(), &ScalarBuffer::from(vec![2i8, 3]));
    assert_eq!(union.offsets(), Some(&ScalarBuffer::from(vec![0i32, 0])));
    same(union.child(0), &NullArray::new(0));
    same(union.child(1), &Int32Array::from(Vec::<i32>::new()));
    same(union.child(2), &StringArray::from(vec!["two"]));
    same(union.child(3), &inner_struct(vec![9], vec![Some("nine")]));

    same(
        &c("dec"),
        &Decimal128Array::from(vec![12345, -1])
            .with_precision_and_scale(10, 2)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    same(
        &c("decf"),
        &Decimal128Array::from(vec![1234, -1])
            .with_precision_and_scale(18, 4)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let big =
        i256::from_string("-12345678901234567890123456789012345678901234").unwrap_or(i256::ZERO);
    same(
        &c("big"),
        &Decimal256Array::from(vec![big, i256::ONE])
            .with_precision_and_scale(50, 5)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    same(&c("uid"), &StringArray::from(vec![UUID_A, UUID_B]));
    same(
        &c("uidf"),
        &FixedSizeBinaryArray::from(vec![
            &uuid(UUID_B).as_bytes()[..],
            &uuid(UUID_A).as_bytes()[..],
        ]),
    );
    same(&c("date"), &Date32Array::from(vec![19_844, -1]));
    same(&c("tm"), &Time32MillisecondArray::from(vec![86_399_999, 0]));
    same(
        &c("tu"),
        &Time64MicrosecondArray::from(vec![1, 86_399_999_999]),
    );
    same(
        &c("tsm"),
        &TimestampMillisecondArray::from(vec![1_714_566_600_123, -1]).with_timezone("UTC"),
    );
    same(
        &c("tsu"),
        &TimestampMicrosecondArray::from(vec![1_714_566_600_123_456, 0]).with_timezone("UTC"),
    );
    same(
        &c("tsn"),
        &TimestampNanosecondArray::from(vec![1_714_566_600_123_456_789, i64::MIN])
            .with_timezone("UTC"),
    );
    same(&c("ltm"), &TimestampMillisecondArray::from(vec![5, 6]));
    same(&c("ltu"), &TimestampMicrosecondArray::from(vec![7, 8]));
    same(&c("ltn"), &TimestampNanosecondArray::from(vec![9, 10]));
    same(
        &c("dur"),
        &IntervalMonthDayNanoArray::from(vec![
            IntervalMonthDayNano::new(14, 3, 4_000_001_000_000),
            IntervalMonthDayNano::new(0, 0, i64::from(u32::MAX) * 1_000_000),
        ]),
    );
}

#[test]
fn every_type_encodes_back_to_the_same_values() {
    let schema = schema(ALL_TYPES);
    let values = all_values();
    let datums: Vec<Vec<u8>> = values.iter().map(|v| datum(&schema, v.clone())).collect();
    let decoded = decode(&schema, None, &datums);
    assert_eq!(decoded.errors, []);
    let (rows, errors) = encode_rows(&schema, &decoded.batch);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(rows.len(), 2);
    for (row, value) in rows.iter().zip(&values) {
        assert_eq!(&read_back(&schema, row), value);
    }
    // Without maps (whose order apache-avro does not fix), the bytes are
    // the same too.
    assert_eq!(rows[1], datums[1]);
}

#[test]
fn batches_start_empty_after_each_call() {
    let schema = schema(ALL_TYPES);
    let values: Vec<Vec<u8>> = all_values()
        .into_iter()
        .map(|v| datum(&schema, v))
        .collect();
    let mut decoder = super::decoder(&schema, None);
    let first = decoder.decode(&[&values[0]]);
    let second = decoder.decode(&[&values[1], &values[0]]);
    assert_eq!(first.batch.num_rows(), 1);
    assert_eq!(second.batch.num_rows(), 2);
    same(
        &col(&second.batch, "i"),
        &Int32Array::from(vec![7, i32::MIN]),
    );
    same(&col(&first.batch, "i"), &Int32Array::from(vec![i32::MIN]));
    let empty = decoder.decode(&[]);
    assert_eq!(empty.batch.num_rows(), 0);
    assert_eq!(empty.batch.schema(), first.batch.schema());
}

#[test]
fn a_bad_value_leaves_no_trace_in_the_batch() {
    let schema = schema(ALL_TYPES);
    let good: Vec<Vec<u8>> = all_values()
        .into_iter()
        .map(|v| datum(&schema, v))
        .collect();
    // The first row cut off inside its `uidf` field: everything before it
    // was appended, and must be taken back out.
    let mut bad = good[0].clone();
    bad.truncate(bad.len() - 60);
    let decoded = decode(&schema, None, &[good[1].clone(), bad, good[0].clone()]);
    assert_eq!(decoded.rows, [0, 2]);
    assert_eq!(decoded.errors.len(), 1);
    assert_eq!(decoded.errors[0].row, 1);
    let batch = &decoded.batch;
    same(&col(batch, "i"), &Int32Array::from(vec![7, i32::MIN]));
    same(
        &col(batch, "s"),
        &StringArray::from(vec!["", "héllo \"w\"\n"]),
    );
    let union = col(batch, "u");
    let union = union.as_any().downcast_ref::<UnionArray>().cloned();
    let Some(union) = union else {
        panic!("u is not a union")
    };
    assert_eq!(union.type_ids(), &ScalarBuffer::from(vec![3i8, 2]));
    same(union.child(2), &StringArray::from(vec!["two"]));
    let mut arr = ListBuilder::new(Int64Builder::new()).with_field(Field::new(
        "item",
        DataType::Int64,
        false,
    ));
    arr.append_value([]);
    arr.append_value([Some(1), Some(-2), Some(1 << 40)]);
    same(&col(batch, "arr"), &arr.finish());
    same(&col(batch, "opt"), &Int64Array::from(vec![None, Some(42)]));
}

#[test]
fn top_level_non_records_are_one_value_column() {
    let long = schema(r#""long""#);
    let decoded = decode(
        &long,
        None,
        &[
            datum(&long, Value::Long(-3)),
            datum(&long, Value::Long(1 << 50)),
        ],
    );
    assert_eq!(
        decoded.batch.schema().field(0),
        &Field::new("value", DataType::Int64, false)
    );
    same(
        &col(&decoded.batch, "value"),
        &Int64Array::from(vec![-3, 1 << 50]),
    );

    let opt = schema(r#"["null", "string"]"#);
    let values = [
        datum(&opt, Value::Union(1, Box::new(Value::String("a".into())))),
        datum(&opt, Value::Union(0, Box::new(Value::Null))),
    ];
    let decoded = decode(&opt, None, &values);
    assert_eq!(
        decoded.batch.schema().field(0),
        &Field::new("value", DataType::Utf8, true)
    );
    same(
        &col(&decoded.batch, "value"),
        &StringArray::from(vec![Some("a"), None]),
    );
    let (rows, errors) = encode_rows(&opt, &decoded.batch);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(rows, values);

    let enums = schema(
        r#"{"type": "array", "items": {"type": "enum", "name": "E", "symbols": ["A", "B"]}}"#,
    );
    let value = Value::Array(vec![Value::Enum(1, "B".into()), Value::Enum(0, "A".into())]);
    let bytes = datum(&enums, value.clone());
    let decoded = decode(&enums, None, std::slice::from_ref(&bytes));
    let list = col(&decoded.batch, "value");
    let items = list.as_list::<i32>().values().clone();
    let keys = items.as_dictionary::<Int32Type>().keys().clone();
    assert_eq!(keys, Int32Array::from(vec![1, 0]));
    let (rows, _) = encode_rows(&enums, &decoded.batch);
    assert_eq!(read_back(&enums, &rows[0]), value);
}

#[test]
fn references_resolve_named_types_of_other_schemas() {
    let address = r#"{"type": "record", "name": "Address", "namespace": "shop",
        "fields": [{"name": "city", "type": "string"}]}"#;
    let order = r#"{"type": "record", "name": "Order", "namespace": "shop",
        "fields": [{"name": "ship", "type": "Address"}, {"name": "bill", "type": ["null", "Address"]}]}"#;
    let schema = match crate::format::avro::AvroSchema::parse(order, &[address]) {
        Ok(schema) => schema,
        Err(error) => panic!("{error}"),
    };
    let city = |c: &str| Value::Record(vec![("city".into(), Value::String(c.into()))]);
    let value = Value::Record(vec![
        ("ship".into(), city("Oslo")),
        ("bill".into(), Value::Union(1, Box::new(city("Bergen")))),
    ]);
    let names = match apache_avro::Schema::parse_list([address]) {
        Ok(names) => names,
        Err(error) => panic!("{error}"),
    };
    let written = apache_avro::writer::datum::GenericDatumWriter::builder(schema.schema())
        .schemata(names.iter().collect())
        .and_then(|builder| builder.build())
        .and_then(|writer| writer.write_value_to_vec(value));
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(error) => panic!("{error}"),
    };
    let decoded = decode(&schema, None, &[bytes]);
    assert_eq!(decoded.errors, []);
    let ship = col(&decoded.batch, "ship");
    same(ship.as_struct().column(0), &StringArray::from(vec!["Oslo"]));
    let bill = col(&decoded.batch, "bill");
    same(
        bill.as_struct().column(0),
        &StringArray::from(vec!["Bergen"]),
    );
    assert_eq!(
        decoded
            .batch
            .schema()
            .field(1)
            .metadata()
            .get(NAME_KEY)
            .map(String::as_str),
        Some("shop.Address")
    );

    let missing = crate::format::avro::AvroSchema::parse(order, &[]).map(|_| ());
    let Err(error) = missing else {
        panic!("parsed without the reference")
    };
    assert!(
        error
            .to_string()
            .starts_with("the Avro schema does not parse: "),
        "{error}"
    );
}

#[test]
fn a_recursive_record_keeps_its_repetitions_as_json() {
    let list = schema(
        r#"{"type": "record", "name": "Node", "fields": [
            {"name": "value", "type": "int"},
            {"name": "tags", "type": {"type": "map", "values": "bytes"}},
            {"name": "next", "type": ["null", "Node"]}]}"#,
    );
    let arrow = match list.to_arrow() {
        Ok(arrow) => arrow,
        Err(error) => panic!("{error}"),
    };
    let next = arrow.field(2);
    assert_eq!(next.data_type(), &DataType::Utf8);
    assert!(next.is_nullable());
    assert_eq!(
        next.metadata()
            .get("ARROW:extension:name")
            .map(String::as_str),
        Some("sabot.json")
    );
    assert_eq!(
        next.metadata().get(NAME_KEY).map(String::as_str),
        Some("Node")
    );

    let node = |value: i32, next: Option<Value>| {
        Value::Record(vec![
            ("value".into(), Value::Int(value)),
            (
                "tags".into(),
                Value::Map(HashMap::from([(
                    "k".to_owned(),
                    Value::Bytes(vec![0, 0xe9]),
                )])),
            ),
            (
                "next".into(),
                match next {
                    Some(n) => Value::Union(1, Box::new(n)),
                    None => Value::Union(0, Box::new(Value::Null)),
                },
            ),
        ])
    };
    let value = node(1, Some(node(2, Some(node(3, None)))));
    let bytes = datum(&list, value.clone());
    let decoded = decode(&list, None, std::slice::from_ref(&bytes));
    assert_eq!(decoded.errors, []);
    same(
        &col(&decoded.batch, "next"),
        &StringArray::from(vec![
            r#"{"value":2,"tags":{"k":"\u0000é"},"next":{"value":3,"tags":{"k":"\u0000é"},"next":null}}"#,
        ]),
    );
    let (rows, errors) = encode_rows(&list, &decoded.batch);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(read_back(&list, &rows[0]), value);
}

#[test]
fn recursive_unions_name_their_branch_in_json() {
    let tree = schema(
        r#"{"type": "record", "name": "T", "fields": [
            {"name": "v", "type": ["null", "double", "string", "bytes"]},
            {"name": "kids", "type": {"type": "array", "items": "T"}}]}"#,
    );
    let node = |v: Value, kids: Vec<Value>| {
        Value::Record(vec![("v".into(), v), ("kids".into(), Value::Array(kids))])
    };
    let leaf = |index: u32, v: Value| node(Value::Union(index, Box::new(v)), vec![]);
    let value = node(
        Value::Union(0, Box::new(Value::Null)),
        vec![
            leaf(1, Value::Double(f64::NAN)),
            leaf(2, Value::String("NaN".into())),
            leaf(3, Value::Bytes(b"NaN".to_vec())),
            leaf(0, Value::Null),
        ],
    );
    let bytes = datum(&tree, value);
    let decoded = decode(&tree, None, std::slice::from_ref(&bytes));
    assert_eq!(decoded.errors, []);
    let kids = col(&decoded.batch, "kids");
    same(
        kids.as_list::<i32>().values(),
        &StringArray::from(vec![
            r#"{"v":{"double":"NaN"},"kids":[]}"#,
            r#"{"v":{"string":"NaN"},"kids":[]}"#,
            r#"{"v":{"bytes":"NaN"},"kids":[]}"#,
            r#"{"v":null,"kids":[]}"#,
        ]),
    );
    // Each branch comes back as itself, byte for byte.
    let (rows, errors) = encode_rows(&tree, &decoded.batch);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(rows, [bytes]);
}

#[test]
fn arrow_schemas_derive_the_avro_schema_they_came_from() {
    let schema = schema(ALL_TYPES);
    let arrow = match schema.to_arrow() {
        Ok(arrow) => arrow,
        Err(error) => panic!("{error}"),
    };
    let text = match crate::format::avro::arrow_to_avro_schema(&arrow, "All", Some("shop")) {
        Ok(text) => text,
        Err(error) => panic!("{error}"),
    };
    let derived = super::schema(&text);
    // The derived schema has the same Arrow form, names and symbols
    // included, and reads the original's datums.
    assert_eq!(derived.to_arrow().ok(), Some(arrow));
    let values: Vec<Vec<u8>> = all_values()
        .into_iter()
        .map(|v| datum(&schema, v))
        .collect();
    let decoded = decode(&schema, Some(&derived), &values);
    assert_eq!(decoded.errors, []);
}

/// Union fields `a: int32` (type id 0) and `b: utf8` (1).
fn ab_fields() -> UnionFields {
    let fields = [
        Field::new("a", DataType::Int32, false),
        Field::new("b", DataType::Utf8, false),
    ];
    match UnionFields::try_new([0, 1], fields) {
        Ok(fields) => fields,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn arrow_schemas_without_avro_metadata_get_plain_avro_types() {
    let item = Field::new("item", DataType::Float64, true);
    let arrow = arrow_schema::Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("__offset", DataType::Int64, false),
        Field::new(
            "customer",
            DataType::Struct(Fields::from(vec![Field::new(
                "tier",
                DataType::Int8,
                false,
            )])),
            false,
        ),
        Field::new("prices", DataType::List(Arc::new(item)), false),
        Field::new(
            "at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())),
            false,
        ),
        Field::new("amount", DataType::Decimal128(12, 2), false),
        Field::new(
            "kind",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            false,
        ),
        Field::new(
            "either",
            DataType::Union(ab_fields(), UnionMode::Sparse),
            false,
        ),
    ]);
    let text = crate::format::avro::arrow_to_avro_schema(&arrow, "Row", None);
    let expected = serde_json::json!({
        "type": "record", "name": "Row", "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": ["null", "string"], "default": null},
            {"name": "customer", "type": {"type": "record", "name": "customer", "fields": [
                {"name": "tier", "type": "int"}]}},
            {"name": "prices", "type": {"type": "array", "items": ["null", "double"]}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
            {"name": "kind", "type": "string"},
            {"name": "either", "type": ["int", "string"]},
        ]
    });
    assert_eq!(
        text.map(|t| serde_json::from_str::<serde_json::Value>(&t).ok()),
        Ok(Some(expected))
    );

    // And the batch encodes with it, the union by child, the dictionary as
    // strings.
    let either = UnionArray::try_new(
        ab_fields(),
        ScalarBuffer::from(vec![1i8]),
        None,
        vec![
            Arc::new(Int32Array::from(vec![0])),
            Arc::new(StringArray::from(vec!["x"])),
        ],
    );
    let Ok(either) = either else { panic!("union") };
    let mut prices = ListBuilder::new(Float64Builder::new()).with_field(Field::new(
        "item",
        DataType::Float64,
        true,
    ));
    prices.append_value([Some(1.5), None]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![7])),
        Arc::new(StringArray::from(vec![None::<&str>])),
        Arc::new(Int64Array::from(vec![99])),
        Arc::new(StructArray::new(
            Fields::from(vec![Field::new("tier", DataType::Int8, false)]),
            vec![Arc::new(arrow_array::Int8Array::from(vec![-3]))],
            None,
        )),
        Arc::new(prices.finish()),
        Arc::new(TimestampMicrosecondArray::from(vec![1_000_001]).with_timezone("+02:00")),
        Arc::new(
            Decimal128Array::from(vec![-1050])
                .with_precision_and_scale(12, 2)
                .unwrap_or_else(|e| panic!("{e}")),
        ),
        Arc::new(DictionaryArray::<Int8Type>::new(
            arrow_array::Int8Array::from(vec![1]),
            Arc::new(StringArray::from(vec!["a", "b"])),
        )),
        Arc::new(either),
    ];
    let batch = match arrow_array::RecordBatch::try_new(Arc::new(arrow), columns) {
        Ok(batch) => batch,
        Err(error) => panic!("{error}"),
    };
    let text = crate::format::avro::arrow_to_avro_schema(batch.schema_ref(), "Row", None)
        .unwrap_or_default();
    let avro = schema(&text);
    let (rows, errors) = encode_rows(&avro, &batch);
    assert_eq!(errors, Vec::<String>::new());
    let expected = Value::Record(vec![
        ("id".into(), Value::Long(7)),
        ("name".into(), Value::Union(0, Box::new(Value::Null))),
        (
            "customer".into(),
            Value::Record(vec![("tier".into(), Value::Int(-3))]),
        ),
        (
            "prices".into(),
            Value::Array(vec![
                Value::Union(1, Box::new(Value::Double(1.5))),
                Value::Union(0, Box::new(Value::Null)),
            ]),
        ),
        ("at".into(), Value::TimestampMicros(1_000_001)),
        (
            "amount".into(),
            Value::Decimal(Decimal::from(vec![0xfb, 0xe6])),
        ),
        ("kind".into(), Value::String("b".into())),
        (
            "either".into(),
            Value::Union(1, Box::new(Value::String("x".into()))),
        ),
    ]);
    assert_eq!(read_back(&avro, &rows[0]), expected);
}
