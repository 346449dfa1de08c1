//! Tests of the Avro format: exact values through apache-avro's own writer
//! and reader, resolution, every error message, and properties.

mod encode;
mod errors;
mod props;
mod resolution;
mod types;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use arrow_array::{Array, ArrayRef, RecordBatch};

use super::{AvroDecoder, AvroEncoder, AvroSchema};
use crate::format::Decoded;

/// A parsed schema; panics on a bad one (the tests' schemas are good).
fn schema(text: &str) -> AvroSchema {
    match AvroSchema::parse(text, &[]) {
        Ok(schema) => schema,
        Err(error) => panic!("test schema: {error}"),
    }
}

/// A datum written by apache-avro.
fn datum(schema: &AvroSchema, value: Value) -> Vec<u8> {
    let written = GenericDatumWriter::builder(schema.schema())
        .build()
        .and_then(|writer| writer.write_value_to_vec(value));
    match written {
        Ok(bytes) => bytes,
        Err(error) => panic!("apache-avro cannot write the test value: {error}"),
    }
}

/// A decoder; panics when it cannot be built.
fn decoder(writer: &AvroSchema, reader: Option<&AvroSchema>) -> AvroDecoder {
    match AvroDecoder::new(writer, reader) {
        Ok(decoder) => decoder,
        Err(error) => panic!("decoder: {error}"),
    }
}

/// Decodes datums with a fresh decoder.
fn decode(writer: &AvroSchema, reader: Option<&AvroSchema>, values: &[Vec<u8>]) -> Decoded {
    let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    decoder(writer, reader).decode(&values)
}

/// The error messages of datums that all fail.
fn messages(writer: &AvroSchema, values: &[Vec<u8>]) -> Vec<String> {
    let decoded = decode(writer, None, values);
    assert_eq!(decoded.batch.num_rows(), 0, "{:?}", decoded.batch);
    decoded.errors.into_iter().map(|e| e.message).collect()
}

/// A column of a batch by name.
fn col(batch: &RecordBatch, name: &str) -> ArrayRef {
    match batch.column_by_name(name) {
        Some(column) => column.clone(),
        None => panic!("no column `{name}` in {:?}", batch.schema()),
    }
}

/// Asserts an array equals an expected one, value by value.
fn same(actual: &ArrayRef, expected: &dyn Array) {
    assert_eq!(
        actual.to_data(),
        expected.to_data(),
        "{actual:?} != {expected:?}"
    );
}

/// Encodes a batch with `schema`, returning each row's datum and the row
/// errors.
fn encode_rows(schema: &AvroSchema, batch: &RecordBatch) -> (Vec<Vec<u8>>, Vec<String>) {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    let errors = match AvroEncoder::new(schema).encode(batch, &mut out, &mut ends) {
        Ok(errors) => errors,
        Err(error) => panic!("encode: {error}"),
    };
    let mut rows = Vec::new();
    let mut start = 0;
    for end in ends {
        rows.push(out[start..end].to_vec());
        start = end;
    }
    (rows, errors.into_iter().map(|e| e.to_string()).collect())
}

/// Reads a datum back with apache-avro.
fn read_back(schema: &AvroSchema, bytes: &[u8]) -> Value {
    let mut reader = bytes;
    let read = GenericDatumReader::builder(schema.schema())
        .build()
        .and_then(|datums| datums.read_value(&mut reader));
    let value = match read {
        Ok(value) => value,
        Err(error) => panic!("apache-avro cannot read the encoded datum: {error}"),
    };
    assert!(
        reader.is_empty(),
        "{} bytes left after the datum",
        reader.len()
    );
    value
}
