//! Encoding batches back to Protobuf, and deriving `.proto` text.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int64Builder, ListBuilder, MapBuilder, StringBuilder, StringDictionaryBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, Date32Array, Int16Array, Int32Array, Int64Array, RecordBatch,
    StringArray, StructArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Fields, IntervalUnit, Schema, TimeUnit};
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor, Value};

use super::super::{
    ProtoEncodeError, ProtoSchema, ProtobufDecoder, ProtobufEncoder, proto_from_arrow,
};
use super::{EMPTY_ROW, FULL_ROW, descriptor, full, new_message, render, schema};
use crate::format::schema::json_field;
use crate::schema::wire;

/// Encodes a batch and returns each row's bytes.
fn encode(message: &MessageDescriptor, batch: &RecordBatch) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    ProtobufEncoder::new(message)
        .expect("maps")
        .encode(batch, &mut out, &mut ends)
        .expect("encodes");
    split(&out, &ends)
}

/// Splits an encoder's output into rows.
fn split(out: &[u8], ends: &[usize]) -> Vec<Vec<u8>> {
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let row = out[start..end].to_vec();
            start = end;
            row
        })
        .collect()
}

/// Encodes a batch that must fail, checking nothing was written.
fn encode_error(message: &MessageDescriptor, batch: &RecordBatch) -> ProtoEncodeError {
    let mut out = vec![7];
    let mut ends = vec![1];
    let error = ProtobufEncoder::new(message)
        .expect("maps")
        .encode(batch, &mut out, &mut ends)
        .expect_err("fails");
    assert_eq!((out, ends), (vec![7], vec![1]));
    error
}

/// Decodes values that must all decode.
fn decode_batch(message: &MessageDescriptor, values: &[&[u8]]) -> RecordBatch {
    let decoded = ProtobufDecoder::new(message).expect("maps").decode(values);
    assert_eq!(decoded.errors, []);
    decoded.batch
}

#[test]
fn decoded_batches_encode_back_to_the_same_messages() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let original = full(&schema).encode_to_vec();
    let batch = decode_batch(&everything, &[&original, b""]);
    let rows = encode(&everything, &batch);
    assert_eq!(rows.len(), 2);
    // Compared as prost-reflect reads them: explicit defaults the original
    // message held are not on the wire, maps are unordered.
    let theirs = |bytes: &[u8]| {
        DynamicMessage::decode(everything.clone(), bytes).expect("prost-reflect decodes")
    };
    assert_eq!(theirs(&rows[0]), theirs(&original));
    assert_eq!(rows[1], Vec::<u8>::new());
    // And the decoder reads them back to the same rows.
    let again = decode_batch(&everything, &[&rows[0], &rows[1]]);
    assert_eq!(render::rows(&again), [FULL_ROW, EMPTY_ROW]);
}

#[test]
fn enum_numbers_kept_as_text_encode_as_numbers() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut m = new_message(&schema, "Everything");
    m.set_field_by_name("status", Value::EnumNumber(7));
    m.set_field_by_name("statuses", Value::List(vec![Value::EnumNumber(-3)]));
    let bytes = m.encode_to_vec();
    let batch = decode_batch(&everything, &[&bytes]);
    let rows = encode(&everything, &batch);
    assert_eq!(
        DynamicMessage::decode(everything.clone(), rows[0].as_slice()).expect("decodes"),
        m
    );
}

#[test]
fn every_row_gets_the_prefix() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let mut m = new_message(&schema, "Everything");
    m.set_field_by_name("f_int32", Value::I32(150));
    let batch = decode_batch(&everything, &[&m.encode_to_vec(), b""]);
    let mut prefix = Vec::new();
    wire::write_protobuf_header(42, &[0], &mut prefix);
    let mut out = Vec::new();
    let mut ends = Vec::new();
    ProtobufEncoder::new(&everything)
        .expect("maps")
        .with_prefix(prefix)
        .encode(&batch, &mut out, &mut ends)
        .expect("encodes");
    assert_eq!(
        split(&out, &ends),
        [
            vec![0, 0, 0, 0, 42, 0, 0x18, 0x96, 0x01],
            vec![0, 0, 0, 0, 42, 0]
        ]
    );
    let framed = wire::parse_protobuf(&out[..ends[0]]).expect("framed");
    assert_eq!((framed.schema_id, framed.message_index), (42, vec![0]));
}

/// A batch of one-row columns.
fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("a valid batch")
}

#[test]
fn columns_are_bound_and_converted() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let ts = TimestampMillisecondArray::from(vec![Some(-1_500)]);
    let day = Date32Array::from(vec![Some(19_000)]);
    let mut tier = StringDictionaryBuilder::<Int32Type>::new();
    tier.append_value("STATUS_NEW");
    let mut statuses = ListBuilder::new(StringBuilder::new());
    statuses.values().append_value("STATUS_PAID");
    statuses.values().append_value("5");
    statuses.append(true);
    let b = batch(vec![
        (
            "f_int64",
            Arc::new(Int16Array::from(vec![Some(-3)])) as ArrayRef,
        ),
        ("f_sint32", Arc::new(day)),
        ("f_uint64", Arc::new(Int64Array::from(vec![Some(9)]))),
        ("status", Arc::new(tier.finish())),
        ("statuses", Arc::new(statuses.finish())),
        ("ts", Arc::new(ts)),
        ("w_int64", Arc::new(Int64Array::from(vec![None::<i64>]))),
        ("__offset", Arc::new(Int64Array::from(vec![Some(77)]))),
    ]);
    let rows = encode(&everything, &b);
    let decoded = decode_batch(&everything, &[&rows[0]]);
    assert_eq!(
        render::rows(&decoded),
        [EMPTY_ROW
            .replace("f_int64: 0", "f_int64: -3")
            .replace("f_sint32: 0", "f_sint32: 19000")
            .replace("f_uint64: 0", "f_uint64: 9")
            .replace("status: STATUS_UNKNOWN", "status: STATUS_NEW")
            .replace("statuses: []", "statuses: [STATUS_PAID, 5]")
            .replace("ts: null", "ts: ts(-1500000000)")]
    );
}

#[test]
fn columns_that_do_not_fit_are_errors() {
    let schema = schema();
    let everything = descriptor(&schema, "Everything");
    let error = |columns: Vec<(&str, ArrayRef)>| encode_error(&everything, &batch(columns));
    assert_eq!(
        error(vec![("nope", Arc::new(Int32Array::from(vec![1])))]),
        ProtoEncodeError::UnknownColumn {
            column: "nope".to_owned(),
            message: "shop.v1.Everything".to_owned()
        }
    );
    assert_eq!(
        error(vec![("f_int32", Arc::new(StringArray::from(vec!["1"])))]).to_string(),
        "column `f_int32` has type `utf8`, which cannot be written as the Protobuf type `int32`; \
         cast it in a transform"
    );
    let inner = StructArray::from(vec![(
        Arc::new(Field::new("qty", DataType::Utf8, true)),
        Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
    )]);
    assert_eq!(
        error(vec![("inner", Arc::new(inner))]),
        ProtoEncodeError::Incompatible {
            column: "inner.qty".to_owned(),
            data_type: "utf8".to_owned(),
            proto_type: "int32".to_owned()
        }
    );
    assert_eq!(
        error(vec![("counts", Arc::new(Int64Array::from(vec![1])))]),
        ProtoEncodeError::Incompatible {
            column: "counts".to_owned(),
            data_type: "int64".to_owned(),
            proto_type: "map<string, int64>".to_owned()
        }
    );
    assert_eq!(
        error(vec![
            ("text", Arc::new(StringArray::from(vec!["t"]))),
            ("number", Arc::new(Int64Array::from(vec![1]))),
        ]),
        ProtoEncodeError::Row {
            row: 0,
            message: "oneof `choice` of `shop.v1.Everything` has values in both `text` and \
                      `number`; set at most one"
                .to_owned()
        }
    );
    let mut names = ListBuilder::new(StringBuilder::new());
    names.values().append_value("a");
    names.values().append_null();
    names.append(true);
    assert_eq!(
        error(vec![("names", Arc::new(names.finish()))]).to_string(),
        "row 0: field `names[1]`: the element is null; a repeated field cannot hold nulls"
    );
    assert_eq!(
        error(vec![("status", Arc::new(StringArray::from(vec!["NOPE"])))]).to_string(),
        "row 0: field `status`: `NOPE` is not a value of enum `shop.v1.Status` (nor a number)"
    );
    assert_eq!(
        error(vec![(
            "f_int32",
            Arc::new(Int64Array::from(vec![3_000_000_000]))
        )])
        .to_string(),
        "row 0: field `f_int32`: 3000000000 does not fit the field's type `int32`"
    );
    assert_eq!(
        error(vec![("f_uint32", Arc::new(Int64Array::from(vec![-1])))]).to_string(),
        "row 0: field `f_uint32`: -1 does not fit the field's type `uint32`"
    );
    assert_eq!(
        error(vec![("attrs", Arc::new(StringArray::from(vec!["{"])))]).to_string(),
        "row 0: field `attrs`: the column does not hold valid JSON: EOF while parsing an object \
         at line 1 column 1"
    );
    assert_eq!(
        error(vec![("attrs", Arc::new(StringArray::from(vec!["[1]"])))]).to_string(),
        "row 0: field `attrs`: a `google.protobuf.Struct` needs a JSON object"
    );
    let mut counts = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    counts.keys().append_value("k");
    counts.values().append_null();
    counts.append(true).expect("appends");
    let counts = counts.finish();
    let counts_batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new(
            "counts",
            counts.data_type().clone(),
            true,
        )])),
        vec![Arc::new(counts)],
    )
    .expect("valid");
    assert_eq!(
        encode_error(&everything, &counts_batch).to_string(),
        "row 0: field `counts[0]`: the map value is null; a Protobuf map cannot hold nulls"
    );
}

#[test]
fn proto2_required_fields_need_a_value() {
    let text = r#"
        syntax = "proto2";
        message Order {
          required int64 id = 1;
          optional bool paid = 2;
        }
    "#;
    let schema = ProtoSchema::compile(text, &[]).expect("compiles");
    let order = schema.message(&[0]).expect("Order");
    assert_eq!(
        encode_error(
            &order,
            &batch(vec![(
                "paid",
                Arc::new(arrow_array::BooleanArray::from(vec![true]))
            )])
        ),
        ProtoEncodeError::MissingRequired {
            field: "id".to_owned(),
            message: "Order".to_owned()
        }
    );
    assert_eq!(
        encode_error(
            &order,
            &batch(vec![("id", Arc::new(Int64Array::from(vec![None])))])
        )
        .to_string(),
        "row 0: field `id`: the field is required but null"
    );
    // A required field is written even when it holds the default.
    let mut paid = BooleanBuilder::new();
    paid.append_value(false);
    let rows = encode(
        &order,
        &batch(vec![
            ("id", Arc::new(Int64Array::from(vec![0]))),
            ("paid", Arc::new(paid.finish())),
        ]),
    );
    assert_eq!(rows, [vec![0x08, 0x00, 0x10, 0x00]]);
}

#[test]
fn proto_text_is_derived_from_arrow_schemas() {
    let line = Fields::from(vec![
        Field::new("sku", DataType::Utf8, false),
        Field::new("qty", DataType::Int16, true),
    ]);
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Int64, true),
        ])),
        false,
    );
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("note", DataType::Utf8, true),
        Field::new("at", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new(
            "customer",
            DataType::Struct(Fields::from(vec![
                Field::new("name", DataType::Utf8, false),
                Field::new(
                    "tier",
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    true,
                ),
            ])),
            true,
        ),
        Field::new("counts", DataType::Map(Arc::new(entries), false), true),
        json_field("extra", true),
        Field::new("day", DataType::Date32, false),
        Field::new("raw", DataType::Binary, true),
        Field::new(
            "line_items",
            DataType::List(Arc::new(Field::new("item", DataType::Struct(line), true))),
            false,
        ),
        Field::new("__offset", DataType::Int64, false),
    ]);
    let text = proto_from_arrow(&schema, "Order", Some("shop.v1")).expect("derives");
    assert_eq!(
        text,
        r#"syntax = "proto3";

package shop.v1;

import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  optional string note = 2;
  google.protobuf.Timestamp at = 3;
  repeated string tags = 4;
  Customer customer = 5;
  map<string, int64> counts = 6;
  google.protobuf.Value extra = 7;
  int32 day = 8;
  optional bytes raw = 9;
  repeated LineItems line_items = 10;
  message Customer {
    string name = 1;
    optional string tier = 2;
  }
  message LineItems {
    string sku = 1;
    optional int32 qty = 2;
  }
}
"#
    );
    let compiled = ProtoSchema::compile(&text, &[]).expect("the derived text compiles");
    let order = compiled.message(&[0]).expect("Order");

    // A batch of the schema encodes with the derived message and decodes
    // back with the natural types.
    let mut tags = ListBuilder::new(StringBuilder::new());
    tags.values().append_value("a");
    tags.append(true);
    let mut tier = StringDictionaryBuilder::<Int32Type>::new();
    tier.append_value("gold");
    let customer = StructArray::from(vec![
        (
            Arc::new(Field::new("name", DataType::Utf8, false)),
            Arc::new(StringArray::from(vec!["Ada"])) as ArrayRef,
        ),
        (
            Arc::new(Field::new(
                "tier",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            )),
            Arc::new(tier.finish()) as ArrayRef,
        ),
    ]);
    let mut counts = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
    counts.keys().append_value("k");
    counts.values().append_value(2);
    counts.append(true).expect("appends");
    let line_items = {
        let items = StructArray::from(vec![
            (
                Arc::new(Field::new("sku", DataType::Utf8, false)),
                Arc::new(StringArray::from(vec!["s1", "s2"])) as ArrayRef,
            ),
            (
                Arc::new(Field::new("qty", DataType::Int16, true)),
                Arc::new(Int16Array::from(vec![Some(2), None])) as ArrayRef,
            ),
        ]);
        let field = Arc::new(Field::new("item", items.data_type().clone(), true));
        arrow_array::ListArray::new(
            field,
            arrow_buffer::OffsetBuffer::from_lengths([2]),
            Arc::new(items),
            None,
        )
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1])),
        Arc::new(StringArray::from(vec![None::<&str>])),
        Arc::new(TimestampMillisecondArray::from(vec![Some(
            1_714_566_600_123,
        )])),
        Arc::new(tags.finish()),
        Arc::new(customer),
        Arc::new(counts.finish()),
        Arc::new(StringArray::from(vec![r#"{"x":[1.5,"y"]}"#])),
        Arc::new(Date32Array::from(vec![19_844])),
        Arc::new(BinaryArray::from_vec(vec![&[0xca, 0xfe][..]])),
        Arc::new(line_items),
        Arc::new(Int64Array::from(vec![99])),
    ];
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| {
            Field::new(f.name(), c.data_type().clone(), f.is_nullable())
                .with_metadata(f.metadata().clone())
        })
        .collect();
    let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("valid");
    let rows = encode(&order, &b);
    let decoded = decode_batch(&order, &[&rows[0]]);
    assert_eq!(
        render::rows(&decoded),
        [concat!(
            "{id: 1, note: null, at: ts(1714566600123000000), tags: [\"a\"], ",
            "customer: {name: \"Ada\", tier: \"gold\"}, counts: {\"k\" => 2}, ",
            "extra: json({\"x\":[1.5,\"y\"]}), day: 19844, raw: 0xcafe, ",
            "line_items: [{sku: \"s1\", qty: 2}, {sku: \"s2\", qty: null}]}"
        )]
    );
}

#[test]
fn schemas_without_a_protobuf_form_list_every_problem() {
    let schema = Schema::new(vec![
        Field::new("price", DataType::Decimal128(10, 2), false),
        Field::new(
            "grid",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, false))),
                false,
            ))),
            false,
        ),
        Field::new("bad name", DataType::Int32, false),
        Field::new("span", DataType::Interval(IntervalUnit::MonthDayNano), true),
        Field::new(
            "by_float",
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", DataType::Float64, false),
                        Field::new("value", DataType::Int32, true),
                    ])),
                    false,
                )),
                false,
            ),
            true,
        ),
    ]);
    let error = proto_from_arrow(&schema, "1Order", Some("shop..v1")).expect_err("fails");
    assert_eq!(
        error.problems,
        [
            "the message name `1Order` is not a Protobuf identifier (letters, digits and `_`, \
             not starting with a digit)",
            "the package `shop..v1` is not dot-separated Protobuf identifiers",
            "column `price`: type `decimal(10, 2)` has no Protobuf form; cast it to `utf8` or \
             `float64`",
            "column `grid`: a list or map inside a list or map has no Protobuf form; wrap the \
             inner one in a struct",
            "column `bad name`: the name is not a Protobuf identifier (letters, digits and `_`, \
             not starting with a digit); rename it in a transform",
            "column `span`: type `interval(monthdaynano)` has no Protobuf form",
            "column `by_float`: map keys of type `float64` have no Protobuf form; Protobuf map \
             keys are integers, `bool` or strings",
        ]
    );
}
