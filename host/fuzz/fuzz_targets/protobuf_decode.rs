//! Fuzzes the Protobuf decoder and encoder: the input is decoded as one
//! message and as its two halves, against a schema with every kind of field
//! (scalars, enums, nested, repeated, maps, oneofs, groups, well-known
//! types, recursion). Nothing may panic; every value must come out either
//! as a row or as an error; and the good rows must encode back and decode
//! to as many rows again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabot::format::protobuf::{ProtoSchema, ProtobufDecoder, ProtobufEncoder};

/// The schema every input is decoded against.
const SCHEMA: &str = r#"
syntax = "proto2";
package fuzz;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Kind { KIND_A = 0; KIND_B = 1; KIND_C = 5; }

message All {
  optional double d = 1;
  optional float f = 2;
  optional int32 i32 = 3;
  optional int64 i64 = 4;
  optional uint32 u32 = 5;
  optional uint64 u64 = 6;
  optional sint32 s32 = 7;
  optional sint64 s64 = 8;
  optional fixed32 x32 = 9;
  optional fixed64 x64 = 10;
  optional sfixed32 sx32 = 11;
  optional sfixed64 sx64 = 12;
  optional bool b = 13;
  optional string s = 14;
  optional bytes raw = 15;
  optional Kind kind = 16;
  optional All child = 17;
  repeated int64 ints = 18 [packed = true];
  repeated string names = 19;
  repeated Kind kinds = 20;
  map<string, All> by_name = 21;
  map<int64, double> by_id = 22;
  oneof choice {
    string text = 23;
    Leaf leaf = 24;
  }
  optional group G = 25 {
    optional int32 g = 26;
  }
  optional google.protobuf.Timestamp ts = 27;
  optional google.protobuf.Duration dur = 28;
  optional google.protobuf.Int32Value w32 = 29;
  optional google.protobuf.StringValue ws = 30;
  optional google.protobuf.Struct st = 31;
  optional google.protobuf.Value v = 32;
  optional google.protobuf.ListValue lv = 33;
  optional google.protobuf.Any any = 34;
  repeated Leaf leaves = 35;
}

message Leaf {
  required int32 id = 1;
  optional string note = 2;
}
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(schema) = ProtoSchema::compile(SCHEMA, &[]) else {
        panic!("the fuzz schema compiles");
    };
    for index in [&[0][..], &[1]] {
        let Ok(message) = schema.message(index) else {
            panic!("the fuzz schema has messages 0 and 1");
        };
        let Ok(mut decoder) = ProtobufDecoder::new(&message) else {
            panic!("the fuzz schema maps to Arrow");
        };
        let half = data.len() / 2;
        let input = [data, &data[..half], &data[half..]];
        let decoded = decoder.decode(&input);
        assert_eq!(decoded.rows.len() + decoded.errors.len(), input.len());
        assert_eq!(decoded.batch.num_rows(), decoded.rows.len());

        let Ok(mut encoder) = ProtobufEncoder::new(&message) else {
            panic!("the fuzz schema maps to Arrow");
        };
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let encoded = encoder.encode(&decoded.batch, &mut out, &mut ends);
        assert!(encoded.is_ok(), "{encoded:?}");
        assert_eq!(ends.len(), decoded.rows.len());
        let mut start = 0;
        let rows: Vec<&[u8]> = ends
            .iter()
            .map(|&end| {
                let row = &out[start..end];
                start = end;
                row
            })
            .collect();
        let again = decoder.decode(&rows);
        assert_eq!(again.errors, [], "re-encoded rows decode");
        assert_eq!(again.rows.len(), rows.len());
    }
});
