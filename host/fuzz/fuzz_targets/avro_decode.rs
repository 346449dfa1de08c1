//! Fuzzes the Avro decoder and encoder: the input is split on newlines into
//! datums, decoded against several schemas (every type, a recursive one, a
//! writer read through a reader with defaults and promotions). Nothing may
//! panic; every datum must come out as a row or an error; and the good rows
//! must encode, decode again without errors, and encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabot::format::Decoded;
use sabot::format::avro::{AvroDecoder, AvroEncoder, AvroSchema};

/// Every type, logical ones included.
const ALL: &str = r#"{"type": "record", "name": "All", "fields": [
    {"name": "b", "type": "boolean"}, {"name": "i", "type": "int"}, {"name": "l", "type": "long"},
    {"name": "f", "type": "float"}, {"name": "d", "type": "double"}, {"name": "by", "type": "bytes"},
    {"name": "s", "type": "string"},
    {"name": "fx", "type": {"type": "fixed", "name": "F2", "size": 2}},
    {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
    {"name": "arr", "type": {"type": "array", "items": ["null", "long"]}},
    {"name": "m", "type": {"type": "map", "values": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "int"}]}}},
    {"name": "u", "type": ["null", "int", "string", "In"]},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    {"name": "big", "type": {"type": "fixed", "name": "B20", "size": 20, "logicalType": "decimal", "precision": 45, "scale": 0}},
    {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "date", "type": {"type": "int", "logicalType": "date"}},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "dur", "type": {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}}]}"#;

/// A record that contains itself.
const TREE: &str = r#"{"type": "record", "name": "Node", "fields": [
    {"name": "v", "type": ["null", "double", "string"]},
    {"name": "kids", "type": {"type": "array", "items": "Node"}}]}"#;

/// A writer and the reader it is read as.
const WRITER: &str = r#"{"type": "record", "name": "R", "fields": [
    {"name": "gone", "type": {"type": "map", "values": {"type": "array", "items": "bytes"}}},
    {"name": "n", "type": "int"}, {"name": "k", "type": {"type": "enum", "name": "K", "symbols": ["X", "Y", "Z"]}}]}"#;
const READER: &str = r#"{"type": "record", "name": "R", "fields": [
    {"name": "n", "type": ["null", "double"]}, {"name": "k", "type": {"type": "enum", "name": "K", "symbols": ["Y", "X"]}},
    {"name": "added", "type": {"type": "array", "items": "string"}, "default": ["a"]}]}"#;

/// Parses a schema known to be valid.
fn schema(text: &str) -> AvroSchema {
    match AvroSchema::parse(text, &[]) {
        Ok(schema) => schema,
        Err(error) => panic!("fuzz schema: {error}"),
    }
}

/// Encodes a decoded batch, returning each row's datum.
fn encode(schema: &AvroSchema, decoded: &Decoded) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    let errors = match AvroEncoder::new(schema).encode(&decoded.batch, &mut out, &mut ends) {
        Ok(errors) => errors,
        Err(error) => panic!("a decoded batch does not fit its own schema: {error}"),
    };
    assert_eq!(errors, [], "decoded values failed to encode");
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let row = out[start..end].to_vec();
            start = end;
            row
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let pairs = [(ALL, None), (TREE, None), (WRITER, Some(READER))];
    for (writer, reader) in pairs {
        let writer = schema(writer);
        let reader = reader.map(schema);
        let Ok(mut decoder) = AvroDecoder::new(&writer, reader.as_ref()) else {
            panic!("the fuzz schemas resolve");
        };
        let decoded = decoder.decode(&values);
        assert_eq!(decoded.rows.len() + decoded.errors.len(), values.len());
        assert_eq!(decoded.batch.num_rows(), decoded.rows.len());
        let target = reader.as_ref().unwrap_or(&writer);
        let rows = encode(target, &decoded);
        let Ok(mut again) = AvroDecoder::new(target, None) else {
            panic!("the fuzz schemas map");
        };
        let slices: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
        let redecoded = again.decode(&slices);
        assert_eq!(redecoded.errors, []);
        assert_eq!(encode(target, &redecoded), rows);
    }
});
