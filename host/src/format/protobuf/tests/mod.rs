//! Tests of the Protobuf format: schemas compiled from text, the Arrow
//! mapping, decoding against messages built with prost-reflect, encoding
//! back, and `.proto` derivation.

mod decode;
mod encode;
mod render;

use prost::Message as _;
use prost_reflect::{DynamicMessage, MapKey, MessageDescriptor, Value};

use super::{ProtoSchema, ProtobufDecoder};
use crate::format::RowError;

/// A schema with every type the mapping knows.
const EVERYTHING: &str = r#"
syntax = "proto3";
package shop.v1;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_NEW = 1;
  STATUS_PAID = 2;
}

message Everything {
  message Inner {
    string name = 1;
    int32 qty = 2;
  }
  double f_double = 1;
  float f_float = 2;
  int32 f_int32 = 3;
  int64 f_int64 = 4;
  uint32 f_uint32 = 5;
  uint64 f_uint64 = 6;
  sint32 f_sint32 = 7;
  sint64 f_sint64 = 8;
  fixed32 f_fixed32 = 9;
  fixed64 f_fixed64 = 10;
  sfixed32 f_sfixed32 = 11;
  sfixed64 f_sfixed64 = 12;
  bool f_bool = 13;
  string f_string = 14;
  bytes f_bytes = 15;
  Status status = 16;
  optional int32 maybe = 17;
  Inner inner = 18;
  repeated sint64 packed = 19;
  repeated fixed32 unpacked = 20 [packed = false];
  repeated string names = 21;
  repeated Inner inners = 22;
  map<string, int64> counts = 23;
  map<int32, Inner> by_id = 24;
  oneof choice {
    string text = 25;
    int64 number = 26;
    Inner nested = 27;
  }
  google.protobuf.Timestamp ts = 28;
  google.protobuf.Duration dur = 29;
  google.protobuf.DoubleValue w_double = 30;
  google.protobuf.FloatValue w_float = 31;
  google.protobuf.Int64Value w_int64 = 32;
  google.protobuf.UInt64Value w_uint64 = 33;
  google.protobuf.Int32Value w_int32 = 34;
  google.protobuf.UInt32Value w_uint32 = 35;
  google.protobuf.BoolValue w_bool = 36;
  google.protobuf.StringValue w_string = 37;
  google.protobuf.BytesValue w_bytes = 38;
  google.protobuf.Struct attrs = 39;
  google.protobuf.Value value = 40;
  google.protobuf.ListValue list = 41;
  google.protobuf.Any payload = 42;
  repeated Status statuses = 43;
}

message Tree {
  string label = 1;
  repeated Tree children = 2;
}
"#;

/// The compiled [`EVERYTHING`] schema.
fn schema() -> ProtoSchema {
    ProtoSchema::compile(EVERYTHING, &[]).expect("the test schema compiles")
}

/// A message of the schema by its name in the package.
fn descriptor(schema: &ProtoSchema, name: &str) -> MessageDescriptor {
    schema
        .message_by_name(name)
        .unwrap_or_else(|| panic!("message `{name}` is in the test schema"))
}

/// An empty message of a type named in the schema's pool.
fn new_message(schema: &ProtoSchema, name: &str) -> DynamicMessage {
    let full = if name.starts_with("google.") {
        name.to_owned()
    } else {
        format!("shop.v1.{name}")
    };
    DynamicMessage::new(
        schema
            .pool()
            .get_message_by_name(&full)
            .unwrap_or_else(|| panic!("`{full}` is in the pool")),
    )
}

/// An `Inner` message.
fn inner(schema: &ProtoSchema, name: &str, qty: i32) -> DynamicMessage {
    let mut m = new_message(schema, "Everything.Inner");
    if !name.is_empty() {
        m.set_field_by_name("name", Value::String(name.to_owned()));
    }
    if qty != 0 {
        m.set_field_by_name("qty", Value::I32(qty));
    }
    m
}

/// A `google.protobuf.Value` holding a JSON value.
fn json_value(schema: &ProtoSchema, json: &serde_json::Value) -> DynamicMessage {
    use serde_json::Value as J;
    let mut m = new_message(schema, "google.protobuf.Value");
    match json {
        J::Null => m.set_field_by_name("null_value", Value::EnumNumber(0)),
        J::Bool(b) => m.set_field_by_name("bool_value", Value::Bool(*b)),
        J::Number(n) => m.set_field_by_name("number_value", Value::F64(n.as_f64().unwrap_or(0.0))),
        J::String(s) => m.set_field_by_name("string_value", Value::String(s.clone())),
        J::Array(items) => {
            m.set_field_by_name("list_value", Value::Message(json_list(schema, items)))
        }
        J::Object(map) => {
            m.set_field_by_name("struct_value", Value::Message(json_struct(schema, map)))
        }
    }
    m
}

/// A `google.protobuf.Struct` holding a JSON object.
fn json_struct(
    schema: &ProtoSchema,
    map: &serde_json::Map<String, serde_json::Value>,
) -> DynamicMessage {
    let mut m = new_message(schema, "google.protobuf.Struct");
    let fields = map
        .iter()
        .map(|(k, v)| {
            (
                MapKey::String(k.clone()),
                Value::Message(json_value(schema, v)),
            )
        })
        .collect();
    m.set_field_by_name("fields", Value::Map(fields));
    m
}

/// A `google.protobuf.ListValue` holding a JSON array.
fn json_list(schema: &ProtoSchema, items: &[serde_json::Value]) -> DynamicMessage {
    let mut m = new_message(schema, "google.protobuf.ListValue");
    let values = items
        .iter()
        .map(|v| Value::Message(json_value(schema, v)))
        .collect();
    m.set_field_by_name("values", Value::List(values));
    m
}

/// A `Timestamp` or `Duration` message.
fn seconds_nanos(schema: &ProtoSchema, name: &str, seconds: i64, nanos: i32) -> DynamicMessage {
    let mut m = new_message(schema, name);
    m.set_field_by_name("seconds", Value::I64(seconds));
    m.set_field_by_name("nanos", Value::I32(nanos));
    m
}

/// A wrapper message around `value`.
fn wrapper(schema: &ProtoSchema, name: &str, value: Value) -> DynamicMessage {
    let mut m = new_message(schema, &format!("google.protobuf.{name}"));
    m.set_field_by_name("value", value);
    m
}

/// An `Everything` with every field set to a value other than its default
/// (a few wrappers hold their wrapped default, which is not their own).
fn full(schema: &ProtoSchema) -> DynamicMessage {
    let mut m = new_message(schema, "Everything");
    let mut set = |name: &str, value: Value| m.set_field_by_name(name, value);
    set("f_double", Value::F64(-1.5));
    set("f_float", Value::F32(2.25));
    set("f_int32", Value::I32(-7));
    set("f_int64", Value::I64(-9_000_000_000));
    set("f_uint32", Value::U32(4_000_000_000));
    set("f_uint64", Value::U64(18_000_000_000_000_000_000));
    set("f_sint32", Value::I32(-123));
    set("f_sint64", Value::I64(-1_234_567_890_123));
    set("f_fixed32", Value::U32(3_000_000_000));
    set("f_fixed64", Value::U64(12_345_678_901_234_567_890));
    set("f_sfixed32", Value::I32(-5));
    set("f_sfixed64", Value::I64(-6));
    set("f_bool", Value::Bool(true));
    set("f_string", Value::String("héllo \"q\"".to_owned()));
    set("f_bytes", Value::Bytes(vec![0, 1, 255].into()));
    set("status", Value::EnumNumber(2));
    set("maybe", Value::I32(0));
    set("inner", Value::Message(inner(schema, "a", 3)));
    set(
        "packed",
        Value::List(vec![Value::I64(-1), Value::I64(0), Value::I64(300)]),
    );
    set(
        "unpacked",
        Value::List(vec![Value::U32(1), Value::U32(u32::MAX)]),
    );
    set(
        "names",
        Value::List(vec![
            Value::String("x".to_owned()),
            Value::String(String::new()),
        ]),
    );
    set(
        "inners",
        Value::List(vec![
            Value::Message(inner(schema, "b", 0)),
            Value::Message(inner(schema, "", 5)),
        ]),
    );
    set(
        "counts",
        Value::Map([(MapKey::String("k".to_owned()), Value::I64(9))].into()),
    );
    set(
        "by_id",
        Value::Map([(MapKey::I32(7), Value::Message(inner(schema, "c", 1)))].into()),
    );
    set("number", Value::I64(42));
    set(
        "ts",
        Value::Message(seconds_nanos(
            schema,
            "google.protobuf.Timestamp",
            1_714_566_600,
            123_456_789,
        )),
    );
    set(
        "dur",
        Value::Message(seconds_nanos(
            schema,
            "google.protobuf.Duration",
            -2,
            -500_000_000,
        )),
    );
    set(
        "w_double",
        Value::Message(wrapper(schema, "DoubleValue", Value::F64(0.5))),
    );
    set(
        "w_float",
        Value::Message(wrapper(schema, "FloatValue", Value::F32(-0.25))),
    );
    set(
        "w_int64",
        Value::Message(wrapper(schema, "Int64Value", Value::I64(-1))),
    );
    set(
        "w_uint64",
        Value::Message(wrapper(schema, "UInt64Value", Value::U64(2))),
    );
    set(
        "w_int32",
        Value::Message(wrapper(schema, "Int32Value", Value::I32(0))),
    );
    set(
        "w_uint32",
        Value::Message(wrapper(schema, "UInt32Value", Value::U32(4))),
    );
    set(
        "w_bool",
        Value::Message(wrapper(schema, "BoolValue", Value::Bool(false))),
    );
    set(
        "w_string",
        Value::Message(wrapper(schema, "StringValue", Value::String(String::new()))),
    );
    set(
        "w_bytes",
        Value::Message(wrapper(schema, "BytesValue", Value::Bytes(vec![9].into()))),
    );
    let attrs = serde_json::json!({"a": {"b": [true, null, "s", 2.5]}});
    let serde_json::Value::Object(attrs) = attrs else {
        unreachable!()
    };
    set("attrs", Value::Message(json_struct(schema, &attrs)));
    set(
        "value",
        Value::Message(json_value(schema, &serde_json::json!("v"))),
    );
    set(
        "list",
        Value::Message(json_list(
            schema,
            &[serde_json::json!(1), serde_json::json!({"x": false})],
        )),
    );
    let mut any = new_message(schema, "google.protobuf.Any");
    any.set_field_by_name(
        "type_url",
        Value::String("type.googleapis.com/shop.v1.Everything.Inner".to_owned()),
    );
    any.set_field_by_name(
        "value",
        Value::Bytes(inner(schema, "z", 0).encode_to_vec().into()),
    );
    set("payload", Value::Message(any));
    set(
        "statuses",
        Value::List(vec![
            Value::EnumNumber(1),
            Value::EnumNumber(0),
            Value::EnumNumber(2),
        ]),
    );
    m
}

/// [`full`] as the decoder renders it.
const FULL_ROW: &str = concat!(
    "{f_double: -1.5, f_float: 2.25, f_int32: -7, f_int64: -9000000000, f_uint32: 4000000000, ",
    "f_uint64: 18000000000000000000, f_sint32: -123, f_sint64: -1234567890123, ",
    "f_fixed32: 3000000000, f_fixed64: 12345678901234567890, f_sfixed32: -5, f_sfixed64: -6, ",
    "f_bool: true, f_string: \"héllo \\\"q\\\"\", f_bytes: 0x0001ff, status: STATUS_PAID, ",
    "maybe: 0, inner: {name: \"a\", qty: 3}, packed: [-1, 0, 300], unpacked: [1, 4294967295], ",
    "names: [\"x\", \"\"], inners: [{name: \"b\", qty: 0}, {name: \"\", qty: 5}], ",
    "counts: {\"k\" => 9}, by_id: {7 => {name: \"c\", qty: 1}}, text: null, number: 42, ",
    "nested: null, ts: ts(1714566600123456789), dur: dur(-2500000000), w_double: 0.5, ",
    "w_float: -0.25, w_int64: -1, w_uint64: 2, w_int32: 0, w_uint32: 4, w_bool: false, ",
    "w_string: \"\", w_bytes: 0x09, attrs: json({\"a\":{\"b\":[true,null,\"s\",2.5]}}), ",
    "value: json(\"v\"), list: json([1.0,{\"x\":false}]), ",
    "payload: json({\"@type\":\"type.googleapis.com/shop.v1.Everything.Inner\",\"value\":\"CgF6\"}), ",
    "statuses: [STATUS_NEW, STATUS_UNKNOWN, STATUS_PAID]}",
);

/// An `Everything` with every field absent, as the decoder renders it.
const EMPTY_ROW: &str = concat!(
    "{f_double: 0.0, f_float: 0.0, f_int32: 0, f_int64: 0, f_uint32: 0, f_uint64: 0, ",
    "f_sint32: 0, f_sint64: 0, f_fixed32: 0, f_fixed64: 0, f_sfixed32: 0, f_sfixed64: 0, ",
    "f_bool: false, f_string: \"\", f_bytes: 0x, status: STATUS_UNKNOWN, maybe: null, ",
    "inner: null, packed: [], unpacked: [], names: [], inners: [], counts: {}, by_id: {}, ",
    "text: null, number: null, nested: null, ts: null, dur: null, w_double: null, ",
    "w_float: null, w_int64: null, w_uint64: null, w_int32: null, w_uint32: null, ",
    "w_bool: null, w_string: null, w_bytes: null, attrs: null, value: null, list: null, ",
    "payload: null, statuses: []}",
);

/// Decodes values with a fresh decoder: the rendered good rows, their
/// input indexes, and the errors.
fn decode(message: &MessageDescriptor, values: &[&[u8]]) -> (Vec<String>, Vec<u32>, Vec<RowError>) {
    let mut decoder = ProtobufDecoder::new(message).expect("the message maps to Arrow");
    let decoded = decoder.decode(values);
    assert_eq!(decoded.batch.num_rows(), decoded.rows.len());
    assert_eq!(decoded.batch.schema(), *decoder.schema());
    (render::rows(&decoded.batch), decoded.rows, decoded.errors)
}

/// Decodes one value that must decode, rendered.
fn decode_one(message: &MessageDescriptor, value: &[u8]) -> String {
    let (rows, _, errors) = decode(message, &[value]);
    assert_eq!(errors, []);
    rows.into_iter().next().unwrap_or_default()
}

/// Decodes one value that must fail, returning its message.
fn decode_error(message: &MessageDescriptor, value: &[u8]) -> String {
    let (rows, _, errors) = decode(message, &[value]);
    assert_eq!(rows, Vec::<String>::new());
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].message.clone()
}
