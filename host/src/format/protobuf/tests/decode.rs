//! Compiling schemas, mapping them to Arrow, and decoding.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{DynamicMessage, MapKey, Value};

use super::super::{ProtoSchema, ProtoSchemaError, ProtobufDecoder, arrow_schema};
use super::{
    EMPTY_ROW, FULL_ROW, decode, decode_error, decode_one, descriptor, full, inner, json_value,
    new_message, schema, seconds_nanos,
};
use crate::format::RowError;
use crate::format::schema::json_field;

/// `Dictionary(Int32, Utf8)`, the type of enums.
fn dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A list of non-null `T`.
fn list(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, false)))
}

/// A map of non-null keys to non-null values.
fn map(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", key, false),
                Field::new("value", value, false),
            ])),
            false,
        )),
        false,
    )
}

#[test]
fn every_type_maps_to_its_arrow_type() {
    let schema = schema();
    let inner = DataType::Struct(Fields::from(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("qty", DataType::Int32, false),
    ]));
    let f = |name: &str, data_type: DataType, nullable: bool| Field::new(name, data_type, nullable);
    let expected = Schema::new(vec![
        f("f_double", DataType::Float64, false),
        f("f_float", DataType::Float32, false),
        f("f_int32", DataType::Int32, false),
        f("f_int64", DataType::Int64, false),
        f("f_uint32", DataType::UInt32, false),
        f("f_uint64", DataType::UInt64, false),
        f("f_sint32", DataType::Int32, false),
        f("f_sint64", DataType::Int64, false),
        f("f_fixed32", DataType::UInt32, false),
        f("f_fixed64", DataType::UInt64, false),
        f("f_sfixed32", DataType::Int32, false),
        f("f_sfixed64", DataType::Int64, false),
        f("f_bool", DataType::Boolean, false),
        f("f_string", DataType::Utf8, false),
        f("f_bytes", DataType::Binary, false),
        f("status", dictionary(), false),
        f("maybe", DataType::Int32, true),
        f("inner", inner.clone(), true),
        f("packed", list(DataType::Int64), false),
        f("unpacked", list(DataType::UInt32), false),
        f("names", list(DataType::Utf8), false),
        f("inners", list(inner.clone()), false),
        f("counts", map(DataType::Utf8, DataType::Int64), false),
        f("by_id", map(DataType::Int32, inner.clone()), false),
        f("text", DataType::Utf8, true),
        f("number", DataType::Int64, true),
        f("nested", inner, true),
        f(
            "ts",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        f("dur", DataType::Duration(TimeUnit::Nanosecond), true),
        f("w_double", DataType::Float64, true),
        f("w_float", DataType::Float32, true),
        f("w_int64", DataType::Int64, true),
        f("w_uint64", DataType::UInt64, true),
        f("w_int32", DataType::Int32, true),
        f("w_uint32", DataType::UInt32, true),
        f("w_bool", DataType::Boolean, true),
        f("w_string", DataType::Utf8, true),
        f("w_bytes", DataType::Binary, true),
        json_field("attrs", true),
        json_field("value", true),
        json_field("list", true),
        json_field("payload", true),
        f("statuses", list(dictionary()), false),
    ]);
    let got = arrow_schema(&descriptor(&schema, "Everything")).expect("maps");
    assert_eq!(*got, expected);
}

#[test]
fn a_message_inside_itself_is_kept_encoded() {
    let schema = schema();
    let tree = descriptor(&schema, "Tree");
    let got = arrow_schema(&tree).expect("maps");
    let expected = Schema::new(vec![
        Field::new("label", DataType::Utf8, false),
        Field::new("children", list(DataType::Binary), false),
    ]);
    assert_eq!(*got, expected);

    let mut grandchild = DynamicMessage::new(tree.clone());
    grandchild.set_field_by_name("label", Value::String("g".to_owned()));
    let mut child = DynamicMessage::new(tree.clone());
    child.set_field_by_name("label", Value::String("c1".to_owned()));
    child.set_field_by_name("children", Value::List(vec![Value::Message(grandchild)]));
    let mut root = DynamicMessage::new(tree.clone());
    root.set_field_by_name("label", Value::String("root".to_owned()));
    root.set_field_by_name("children", Value::List(vec![Value::Message(child)]));
    assert_eq!(
        decode_one(&tree, &root.encode_to_vec()),
        "{label: \"root\", children: [0x0a02633112030a0167]}"
    );
}

#[test]
fn every_type_decodes_to_the_value_prost_reflect_encoded() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let bytes = full(&schema).encode_to_vec();
    assert_eq!(decode_one(&everything, &bytes), FULL_ROW);
}

#[test]
fn absent_fields_hold_defaults_or_nulls() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    assert_eq!(decode_one(&everything, b""), EMPTY_ROW);
}

#[test]
fn batches_keep_their_builders_and_rows_in_order() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let full = full(&schema).encode_to_vec();
    let mut decoder = ProtobufDecoder::new(&everything).expect("maps");
    for _ in 0..2 {
        let decoded = decoder.decode(&[&full, b"", &[0xff], &full]);
        assert_eq!(decoded.rows, [0, 1, 3]);
        assert_eq!(
            super::render::rows(&decoded.batch),
            [FULL_ROW, EMPTY_ROW, FULL_ROW]
        );
        assert_eq!(
            decoded.errors,
            [RowError {
                row: 2,
                message: "the message ends inside a varint at byte 0".to_owned()
            }]
        );
    }
}

#[test]
fn the_last_value_wins_and_messages_merge() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut a = new_message(&schema, "Everything");
    a.set_field_by_name("f_int32", Value::I32(1));
    a.set_field_by_name("inner", Value::Message(inner(&schema, "a", 0)));
    a.set_field_by_name("packed", Value::List(vec![Value::I64(1)]));
    a.set_field_by_name(
        "counts",
        Value::Map([(MapKey::String("k".to_owned()), Value::I64(1))].into()),
    );
    a.set_field_by_name("text", Value::String("t".to_owned()));
    a.set_field_by_name(
        "ts",
        Value::Message(seconds_nanos(&schema, "google.protobuf.Timestamp", 5, 0)),
    );
    a.set_field_by_name(
        "w_int32",
        Value::Message(super::wrapper(&schema, "Int32Value", Value::I32(8))),
    );
    let mut a2 = new_message(&schema, "Everything");
    a2.set_field_by_name(
        "counts",
        Value::Map([(MapKey::String("j".to_owned()), Value::I64(2))].into()),
    );
    let mut b = new_message(&schema, "Everything");
    b.set_field_by_name("f_int32", Value::I32(2));
    b.set_field_by_name("inner", Value::Message(inner(&schema, "", 7)));
    b.set_field_by_name("packed", Value::List(vec![Value::I64(2)]));
    b.set_field_by_name(
        "counts",
        Value::Map([(MapKey::String("k".to_owned()), Value::I64(3))].into()),
    );
    b.set_field_by_name("number", Value::I64(9));
    b.set_field_by_name(
        "ts",
        Value::Message(seconds_nanos(&schema, "google.protobuf.Timestamp", 0, 6)),
    );
    // An empty wrapper merged in keeps the value before it.
    b.set_field_by_name(
        "w_int32",
        Value::Message(super::wrapper(&schema, "Int32Value", Value::I32(0))),
    );
    let merged = [a.encode_to_vec(), a2.encode_to_vec(), b.encode_to_vec()].concat();
    let row = decode_one(&everything, &merged);
    let expected = EMPTY_ROW
        .replace("f_int32: 0", "f_int32: 2")
        .replace("inner: null", "inner: {name: \"a\", qty: 7}")
        .replace(", packed: []", ", packed: [1, 2]")
        .replace("counts: {}", "counts: {\"j\" => 2, \"k\" => 3}")
        .replace("number: null", "number: 9")
        .replace("ts: null", "ts: ts(5000000006)")
        .replace("w_int32: null", "w_int32: 8");
    assert_eq!(row, expected);

    // prost-reflect reads the same bytes the same way.
    let theirs = DynamicMessage::decode(everything.clone(), merged.as_slice()).expect("decodes");
    assert_eq!(
        theirs.get_field_by_name("f_int32").as_deref(),
        Some(&Value::I32(2))
    );
    assert_eq!(
        theirs.get_field_by_name("counts").as_deref(),
        Some(&Value::Map(
            [
                (MapKey::String("j".to_owned()), Value::I64(2)),
                (MapKey::String("k".to_owned()), Value::I64(3)),
            ]
            .into()
        ))
    );
}

#[test]
fn setting_a_oneof_case_clears_the_others() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let with = |name: &str, value: Value| {
        let mut m = new_message(&schema, "Everything");
        m.set_field_by_name(name, value);
        m.encode_to_vec()
    };
    let nested_a = with("nested", Value::Message(inner(&schema, "a", 0)));
    let nested_b = with("nested", Value::Message(inner(&schema, "", 2)));
    let text = with("text", Value::String("t".to_owned()));
    let number = with("number", Value::I64(4));

    let row = decode_one(&everything, &[text.clone(), number.clone()].concat());
    assert_eq!(row, EMPTY_ROW.replace("number: null", "number: 4"));

    // A case set again after another starts over rather than merging with
    // what came before the other.
    let row = decode_one(
        &everything,
        &[nested_a.clone(), text.clone(), nested_b.clone()].concat(),
    );
    assert_eq!(
        row,
        EMPTY_ROW.replace("nested: null", "nested: {name: \"\", qty: 2}")
    );
    let row = decode_one(&everything, &[nested_a, nested_b.clone(), number].concat());
    assert_eq!(row, EMPTY_ROW.replace("number: null", "number: 4"));
    let row = decode_one(&everything, &[text, nested_b.clone(), nested_b].concat());
    assert_eq!(
        row,
        EMPTY_ROW.replace("nested: null", "nested: {name: \"\", qty: 2}")
    );
}

#[test]
fn repeated_scalars_read_packed_and_unpacked() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    // `packed` (19, sint64) written unpacked: zig-zag 1 → 2, -2 → 3.
    // `unpacked` (20, fixed32) written packed.
    let bytes = [
        0x98, 0x01, 0x02, 0x98, 0x01, 0x03, // packed: 1, -2 unpacked
        0xa2, 0x01, 0x08, 1, 0, 0, 0, 2, 0, 0, 0, // unpacked: 1, 2 packed
        0xaa, 0x01, 0x01, 0x01, // names: "\x01"
        0xd8, 0x02, 0x01, 0xda, 0x02, 0x02, 0x02,
        0x00, // statuses: 1 unpacked, then 2, 0 packed
    ];
    assert_eq!(
        decode_one(&everything, &bytes),
        EMPTY_ROW
            .replace(", packed: []", ", packed: [1, -2]")
            .replace("unpacked: []", "unpacked: [1, 2]")
            .replace("names: []", "names: [\"\\u{1}\"]")
            .replace(
                "statuses: []",
                "statuses: [STATUS_NEW, STATUS_PAID, STATUS_UNKNOWN]"
            )
    );
}

#[test]
fn unknown_fields_are_skipped() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut bytes = vec![0x18, 0x05]; // f_int32 = 5
    bytes.extend([0x98, 0x06, 0x2a]); // 99: varint
    bytes.extend([0x9a, 0x06, 0x02, 0xaa, 0xbb]); // 99: bytes
    bytes.extend([0x9d, 0x06, 1, 2, 3, 4]); // 99: fixed32
    bytes.extend([0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]); // 99: fixed64
    bytes.extend([0x9b, 0x06, 0x08, 0x01, 0xa3, 0x06, 0xa4, 0x06, 0x9c, 0x06]); // 99: group with a group
    bytes.extend([0x20, 0x06]); // f_int64 = 6
    assert_eq!(
        decode_one(&everything, &bytes),
        EMPTY_ROW
            .replace("f_int32: 0", "f_int32: 5")
            .replace("f_int64: 0", "f_int64: 6")
    );
}

#[test]
fn enum_numbers_outside_the_enum_are_kept_as_text() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut m = new_message(&schema, "Everything");
    m.set_field_by_name("status", Value::EnumNumber(7));
    m.set_field_by_name(
        "statuses",
        Value::List(vec![
            Value::EnumNumber(-3),
            Value::EnumNumber(1),
            Value::EnumNumber(7),
        ]),
    );
    let bytes = m.encode_to_vec();
    let mut decoder = ProtobufDecoder::new(&everything).expect("maps");
    for _ in 0..2 {
        let decoded = decoder.decode(&[&bytes, &bytes]);
        assert_eq!(decoded.errors, []);
        let rows = super::render::rows(&decoded.batch);
        let expected = EMPTY_ROW
            .replace("status: STATUS_UNKNOWN", "status: 7")
            .replace("statuses: []", "statuses: [-3, STATUS_NEW, 7]");
        assert_eq!(rows, [expected.clone(), expected]);
        // The dictionary is the enum's names plus this batch's others.
        let dict = decoded
            .batch
            .column_by_name("status")
            .and_then(|c| {
                c.as_any()
                    .downcast_ref::<arrow_array::DictionaryArray<arrow_array::types::Int32Type>>()
            })
            .expect("a dictionary column");
        assert_eq!(dict.values().len(), 4);
    }
}

#[test]
fn groups_decode_as_messages() {
    let text = r#"
        syntax = "proto2";
        message Order {
          required int64 id = 1;
          optional group Line = 2 {
            optional string sku = 3;
          }
          optional string note = 4 [default = "none"];
        }
    "#;
    let schema = ProtoSchema::compile(text, &[]).expect("compiles");
    let order = schema.message(&[0]).expect("Order");
    assert_eq!(
        *arrow_schema(&order).expect("maps"),
        Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "line",
                DataType::Struct(Fields::from(vec![Field::new("sku", DataType::Utf8, true)])),
                true
            ),
            Field::new("note", DataType::Utf8, true),
        ])
    );
    // id = 1, group 2 { sku = "a" }
    let bytes = [0x08, 0x01, 0x13, 0x1a, 0x01, b'a', 0x14];
    assert_eq!(
        decode_one(&order, &bytes),
        "{id: 1, line: {sku: \"a\"}, note: null}"
    );
    assert_eq!(
        decode_error(&order, &[0x13, 0x14]),
        "field `id`: the field is required but absent"
    );
    assert_eq!(
        decode_error(&order, &[0x08, 0x01, 0x13, 0x1a, 0x01, b'a']),
        "field `line`: the group of field 2 starting at byte 3 is not closed"
    );
    assert_eq!(
        decode_error(&order, &[0x08, 0x01, 0x13, 0x1c]),
        "field `line`: the end-group tag at byte 3 is for field 3, but the open group is field 2"
    );
}

#[test]
fn bad_values_are_row_errors_naming_the_field() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let error = |bytes: &[u8]| decode_error(&everything, bytes);
    assert_eq!(
        error(&[0x18, 0x80]),
        "field `f_int32`: the message ends inside a varint at byte 1"
    );
    assert_eq!(
        error(&[[0x18].as_slice(), &[0xff; 9], &[0x02]].concat()),
        "field `f_int32`: the varint at byte 1 does not fit 64 bits"
    );
    assert_eq!(
        error(&[0x72, 0x05, b'a']),
        "field `f_string`: the length 5 at byte 1 runs past the end of the message (1 byte left)"
    );
    assert_eq!(
        error(&[0x1a, 0x00]),
        "field `f_int32`: wire type 2 (length-delimited) does not match the field's type `int32`"
    );
    assert_eq!(
        error(&[0x90, 0x01, 0x01]),
        "field `inner`: wire type 0 (varint) does not match the field's type \
         `shop.v1.Everything.Inner`"
    );
    assert_eq!(
        error(&[0x09, 1, 2, 3]),
        "field `f_double`: the message ends inside an 8-byte value at byte 1"
    );
    assert_eq!(
        error(&[0x72, 0x01, 0xff]),
        "field `f_string`: the string is not valid UTF-8"
    );
    assert_eq!(
        error(&[0x1f]),
        "the tag at byte 0 has wire type 7, which Protobuf does not define"
    );
    assert_eq!(
        error(&[0x18, 0x01, 0x00]),
        "the tag at byte 2 has field number 0, outside 1 to 536870911"
    );
    assert_eq!(
        error(&[0x9c, 0x06]),
        "an end-group tag for field 99 has no start-group"
    );
    assert_eq!(
        error(&[0x18, 0x01, 0x9b, 0x06]),
        "the group of field 99 starting at byte 4 is not closed"
    );
    assert_eq!(
        error(&[0x9b, 0x06].repeat(101)),
        "messages are nested more than 100 levels deep"
    );
    assert_eq!(
        error(&[0xa2, 0x01, 0x03, 1, 2, 3]),
        "field `unpacked[0]`: packed `fixed32` values take 3 bytes, not a multiple of 4"
    );
    assert_eq!(
        error(&[0xb8, 0x01, 0x05]),
        "field `counts[0]`: wire type 0 (varint) does not match the field's type `map entry`"
    );
    assert_eq!(
        error(&[0xba, 0x01, 0x05, 0x0a, 0x01, b'k', 0x12, 0x00]),
        "field `counts[0].value`: wire type 2 (length-delimited) does not match the field's \
         type `int64`"
    );
    assert_eq!(
        error(&[0xba, 0x01, 0x03, 0x0a, 0x01, 0xc0]),
        "field `counts[0].key`: the string is not valid UTF-8"
    );
    // inners[1].name is not UTF-8.
    assert_eq!(
        error(&[0xb2, 0x01, 0x00, 0xb2, 0x01, 0x03, 0x0a, 0x01, 0xfe]),
        "field `inners[1].name`: the string is not valid UTF-8"
    );
    // w_int32 { value: (length-delimited) }
    assert_eq!(
        error(&[0x92, 0x02, 0x02, 0x0a, 0x00]),
        "field `w_int32.value`: wire type 2 (length-delimited) does not match the field's type \
         `int32`"
    );
    // ts { seconds: (length-delimited) }
    assert_eq!(
        error(&[0xe2, 0x01, 0x02, 0x0a, 0x00]),
        "field `ts.seconds`: wire type 2 (length-delimited) does not match the field's type \
         `int64`"
    );
}

#[test]
fn timestamps_and_durations_out_of_range_are_errors() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let with = |name: &str, kind: &str, seconds: i64, nanos: i32| {
        let mut m = new_message(&schema, "Everything");
        m.set_field_by_name(
            name,
            Value::Message(seconds_nanos(&schema, kind, seconds, nanos)),
        );
        decode_error(&everything, &m.encode_to_vec())
    };
    let ts = "google.protobuf.Timestamp";
    let dur = "google.protobuf.Duration";
    assert_eq!(
        with("ts", ts, 0, 1_000_000_000),
        "field `ts`: the timestamp's nanos 1000000000 is outside 0 to 999999999"
    );
    assert_eq!(
        with("ts", ts, 0, -1),
        "field `ts`: the timestamp's nanos -1 is outside 0 to 999999999"
    );
    assert_eq!(
        with("ts", ts, 10_000_000_000_000, 0),
        "field `ts`: the timestamp 10000000000000s is outside the range of nanosecond \
         timestamps (years 1677 to 2262)"
    );
    assert_eq!(
        with("dur", dur, 0, 1_000_000_000),
        "field `dur`: the duration's nanos 1000000000 is outside -999999999 to 999999999"
    );
    assert_eq!(
        with("dur", dur, -10_000_000_000_000, 0),
        "field `dur`: the duration -10000000000000s is outside the range of nanosecond \
         durations (about 292 years)"
    );
}

#[test]
fn json_values_without_a_json_form_are_errors() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut value = new_message(&schema, "google.protobuf.Value");
    value.set_field_by_name("number_value", Value::F64(f64::NAN));
    let mut m = new_message(&schema, "Everything");
    m.set_field_by_name("value", Value::Message(value));
    assert_eq!(
        decode_error(&everything, &m.encode_to_vec()),
        "field `value`: the number NaN has no JSON form"
    );

    // A list nested 101 deep.
    let mut nested = serde_json::json!([]);
    for _ in 0..101 {
        nested = serde_json::json!([nested]);
    }
    let mut m = new_message(&schema, "Everything");
    m.set_field_by_name("value", Value::Message(json_value(&schema, &nested)));
    assert_eq!(
        decode_error(&everything, &m.encode_to_vec()),
        "field `value`: messages are nested more than 100 levels deep"
    );

    // A Struct with a repeated key keeps the last, and a Value with no kind
    // is null.
    let struct_bytes = [
        0x0a, 0x07, 0x0a, 0x01, b'a', 0x12, 0x02, 0x20, 0x01, // "a": true
        0x0a, 0x03, 0x0a, 0x01, b'b', // "b": (no value)
        0x0a, 0x07, 0x0a, 0x01, b'a', 0x12, 0x02, 0x08, 0x00, // "a": null
    ];
    let mut bytes = vec![0xba, 0x02, struct_bytes.len() as u8];
    bytes.extend(struct_bytes);
    bytes.extend([0xc2, 0x02, 0x00]); // value: an empty Value
    assert_eq!(
        decode_one(&everything, &bytes),
        EMPTY_ROW
            .replace("attrs: null", "attrs: json({\"b\":null,\"a\":null})")
            .replace("value: null", "value: json(null)")
    );
}

#[test]
fn the_rest_of_a_batch_decodes_after_a_bad_value() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let good = full(&schema).encode_to_vec();
    // Bad in a nested list element, after other columns were appended.
    let mut bad = good.clone();
    bad.extend([0xb2, 0x01, 0x03, 0x0a, 0x01, 0xfe]);
    let (rows, indexes, errors) = decode(
        &everything,
        &[&good, &bad, b"", &bad[..bad.len() - 3], &good],
    );
    assert_eq!(indexes, [0, 2, 4]);
    assert_eq!(rows, [FULL_ROW, EMPTY_ROW, FULL_ROW]);
    assert_eq!(
        errors,
        [
            RowError {
                row: 1,
                message: "field `inners[2].name`: the string is not valid UTF-8".to_owned()
            },
            RowError {
                row: 3,
                message: format!(
                    "field `inners[2]`: the length 3 at byte {} runs past the end of the message \
                     (0 bytes left)",
                    good.len() + 2
                )
            },
        ]
    );
}

#[test]
fn message_index_paths_pick_nested_messages() {
    let text = r#"
        syntax = "proto3";
        package idx;
        message A {
          message B { int32 b = 1; }
          message C {
            message D { string d = 1; }
            int32 c = 1;
          }
          int32 a = 1;
        }
        message E { bool e = 1; }
    "#;
    let schema = ProtoSchema::compile(text, &[]).expect("compiles");
    let name = |path: &[u32]| schema.message(path).map(|m| m.full_name().to_owned());
    assert_eq!(name(&[]), Ok("idx.A".to_owned()));
    assert_eq!(name(&[0]), Ok("idx.A".to_owned()));
    assert_eq!(name(&[1]), Ok("idx.E".to_owned()));
    assert_eq!(name(&[0, 0]), Ok("idx.A.B".to_owned()));
    assert_eq!(name(&[0, 1]), Ok("idx.A.C".to_owned()));
    assert_eq!(name(&[0, 1, 0]), Ok("idx.A.C.D".to_owned()));
    assert_eq!(
        name(&[2]),
        Err(ProtoSchemaError::NoMessage {
            index: vec![2],
            reason: "the file has 2 top-level messages".to_owned()
        })
    );
    assert_eq!(
        name(&[0, 1, 3]).map_err(|e| e.to_string()),
        Err(
            "message index [0, 1, 3] does not name a message of the schema: `idx.A.C` has 1 \
             nested messages"
                .to_owned()
        )
    );
    for path in [&[0][..], &[1], &[0, 0], &[0, 1], &[0, 1, 0]] {
        let message = schema.message(path).expect("exists");
        assert_eq!(schema.message_index(&message), Some(path.to_vec()));
    }
    let d = schema
        .pool()
        .get_message_by_name("idx.A.C.D")
        .expect("exists");
    assert_eq!(schema.message_by_name("A.C.D"), Some(d));
    // D decodes from its own bytes.
    let d = schema.message(&[0, 1, 0]).expect("exists");
    assert_eq!(decode_one(&d, &[0x0a, 0x01, b'x']), "{d: \"x\"}");
}

#[test]
fn references_resolve_by_import_name() {
    let common = r#"
        syntax = "proto3";
        package common;
        message Money { string currency = 1; int64 units = 2; }
    "#;
    let text = r#"
        syntax = "proto3";
        package shop;
        import "common/money.proto";
        import "google/protobuf/timestamp.proto";
        message Order {
          common.Money total = 1;
          google.protobuf.Timestamp at = 2;
        }
    "#;
    let schema = ProtoSchema::compile(text, &[("common/money.proto", common)]).expect("compiles");
    let order = schema.message(&[0]).expect("Order");
    assert_eq!(
        *arrow_schema(&order).expect("maps"),
        Schema::new(vec![
            Field::new(
                "total",
                DataType::Struct(Fields::from(vec![
                    Field::new("currency", DataType::Utf8, false),
                    Field::new("units", DataType::Int64, false),
                ])),
                true
            ),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                true
            ),
        ])
    );
    // `Money` is not in the schema's own file, so it has no index there.
    let money = schema
        .pool()
        .get_message_by_name("common.Money")
        .expect("exists");
    assert_eq!(schema.message_index(&money), None);

    assert_eq!(
        ProtoSchema::compile(text, &[]).map(|_| ()),
        Err(ProtoSchemaError::MissingImport {
            import: "common/money.proto".to_owned(),
            known: "none were given".to_owned(),
        })
    );
    assert_eq!(
        ProtoSchema::compile(text, &[("money.proto", common)])
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(
            "the Protobuf schema imports `common/money.proto`, which is not among its \
             references (`money.proto`); register that file and list it as a reference named \
             `common/money.proto`"
                .to_owned()
        )
    );
}

#[test]
fn compile_errors_say_where() {
    let error = ProtoSchema::compile("syntax = \"proto3\";\nmessage A {\n  int32 a = 1\n}\n", &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        error,
        Err(
            "the Protobuf schema does not compile: registered-schema.proto:4:1: expected ';' \
             or '[', but found '}'"
                .to_owned()
        )
    );
    let error = ProtoSchema::compile("syntax = \"proto3\";\nmessage A { B b = 1; }\n", &[])
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert_eq!(
        error,
        Err(
            "the Protobuf schema does not compile: registered-schema.proto:2:13: name 'B' is \
             not defined"
                .to_owned()
        )
    );
}

#[test]
fn map_keys_of_every_kind_and_message_values() {
    let text = r#"
        syntax = "proto3";
        message M {
          message V { int32 v = 1; }
          map<bool, string> by_bool = 1;
          map<uint64, V> by_u64 = 2;
          map<sint32, bytes> by_sint = 3;
        }
    "#;
    let schema = ProtoSchema::compile(text, &[]).expect("compiles");
    let m = schema.message(&[0]).expect("M");
    let v = schema.message(&[0, 0]).expect("V");
    let mut value = DynamicMessage::new(v);
    value.set_field_by_name("v", Value::I32(3));
    let mut msg = DynamicMessage::new(m.clone());
    msg.set_field_by_name(
        "by_bool",
        Value::Map([(MapKey::Bool(true), Value::String("t".to_owned()))].into()),
    );
    msg.set_field_by_name(
        "by_u64",
        Value::Map([(MapKey::U64(u64::MAX), Value::Message(value))].into()),
    );
    msg.set_field_by_name(
        "by_sint",
        Value::Map([(MapKey::I32(-2), Value::Bytes(vec![1].into()))].into()),
    );
    assert_eq!(
        decode_one(&m, &msg.encode_to_vec()),
        "{by_bool: {true => \"t\"}, by_u64: {18446744073709551615 => {v: 3}}, by_sint: {-2 => 0x01}}"
    );
    // Entries missing their key or value hold the defaults; 17 entries with
    // a repeated key go through the hashed check.
    let mut bytes = vec![0x0a, 0x00, 0x12, 0x00];
    for i in 0..17u8 {
        bytes.extend([0x1a, 0x04, 0x08, i % 16, 0x12, 0x00]);
    }
    // Raw keys 0..=15 are the zig-zag forms of 0, -1, 1, … -8; the 17th
    // repeats 0, so the first 0 is dropped.
    let row = decode_one(&m, &bytes);
    assert_eq!(
        row,
        "{by_bool: {false => \"\"}, by_u64: {0 => {v: 0}}, by_sint: {-1 => 0x, 1 => 0x, -2 => 0x, \
         2 => 0x, -3 => 0x, 3 => 0x, -4 => 0x, 4 => 0x, -5 => 0x, 5 => 0x, -6 => 0x, 6 => 0x, \
         -7 => 0x, 7 => 0x, -8 => 0x, 0 => 0x}}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let schema = schema();
        let everything = descriptor(&schema, "Everything");
        let (rows, indexes, errors) = decode(&everything, &[&bytes, b""]);
        prop_assert_eq!(rows.len() + errors.len(), 2);
        prop_assert_eq!(indexes.last().copied(), Some(1));
    }

    #[test]
    fn mutated_messages_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let schema = schema();
        let everything = descriptor(&schema, "Everything");
        let mut bytes = full(&schema).encode_to_vec();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        let (rows, _, errors) = decode(&everything, &[&bytes]);
        prop_assert_eq!(rows.len() + errors.len(), 1);
        prop_assert_eq!(round_trip(&everything, &bytes), rows);
    }

    #[test]
    fn decoded_rows_encode_back_to_themselves(
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let schema = schema();
        let everything = descriptor(&schema, "Everything");
        let (rows, _, _) = decode(&everything, &[&bytes]);
        prop_assert_eq!(round_trip(&everything, &bytes), rows);
    }
}

/// Decodes a value, encodes the row (if it decodes) and decodes that again:
/// the rendered row, or nothing.
fn round_trip(message: &prost_reflect::MessageDescriptor, bytes: &[u8]) -> Vec<String> {
    let mut decoder = ProtobufDecoder::new(message).expect("maps");
    let first = decoder.decode(&[bytes]);
    let mut out = Vec::new();
    let mut ends = Vec::new();
    super::super::ProtobufEncoder::new(message)
        .expect("maps")
        .encode(&first.batch, &mut out, &mut ends)
        .expect("decoded rows encode");
    let again = decoder.decode(&[&out[..]][..ends.len()]);
    assert_eq!(again.errors, []);
    super::render::rows(&again.batch)
}

#[test]
fn schemas_that_expand_past_the_column_cap_are_refused() {
    // Ten fields of ten fields of ten fields of ten: 11,110 columns.
    let mut text = String::from("syntax = \"proto3\";\npackage wide;\n");
    for (name, inner) in [("A", "B"), ("B", "C"), ("C", "D")] {
        text.push_str(&format!("message {name} {{\n"));
        for i in 1..=10 {
            text.push_str(&format!("  {inner} f{i} = {i};\n"));
        }
        text.push_str("}\n");
    }
    text.push_str("message D {\n");
    for i in 1..=10 {
        text.push_str(&format!("  int32 f{i} = {i};\n"));
    }
    text.push_str("}\n");
    let schema = ProtoSchema::compile(&text, &[]).expect("compiles");
    let a = schema.message(&[0]).expect("A");
    assert_eq!(
        ProtobufDecoder::new(&a)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(
            "message `wide.A` cannot be mapped to Arrow: it expands to more than 10000 columns \
             (nested messages counted every time they appear)"
                .to_owned()
        )
    );
    // One level less fits.
    let b = schema.message(&[1]).expect("B");
    assert_eq!(arrow_schema(&b).map(|s| s.fields().len()), Ok(10));
}

#[test]
fn a_field_set_in_one_batch_is_absent_in_the_next_unless_set_again() {
    // Regression: the decoder kept "set in row 1" across batches, so an
    // empty message right after one with `f_int32` set lost that column's
    // default and the batch could not be built.
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut decoder = ProtobufDecoder::new(&everything).expect("maps");
    let first = decoder.decode(&[&[24u8, 7][..]]);
    assert_eq!(first.errors, []);
    let second = decoder.decode(&[&[][..], &[24u8, 9][..]]);
    assert_eq!(second.errors, []);
    assert_eq!(second.batch.num_rows(), 2);
    let rows = super::render::rows(&second.batch);
    assert!(rows[0].contains("f_int32: 0"), "{}", rows[0]);
    assert!(rows[1].contains("f_int32: 9"), "{}", rows[1]);
}
