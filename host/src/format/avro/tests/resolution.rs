//! Writer schemas read with reader schemas.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::types::Value;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, DictionaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    StringArray,
};

use super::{col, datum, decode, same, schema};
use crate::format::avro::{AvroDecoder, AvroSchema};

/// The error building a decoder.
fn build_error(writer: &AvroSchema, reader: &AvroSchema) -> String {
    match AvroDecoder::new(writer, Some(reader)) {
        Ok(_) => panic!("the schemas resolved"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn added_fields_take_their_defaults_and_removed_fields_are_skipped() {
    let writer = schema(
        r#"{"type": "record", "name": "Order", "fields": [
            {"name": "gone", "type": {"type": "array", "items": {"type": "record", "name": "Line",
                "fields": [{"name": "sku", "type": "string"}, {"name": "tags", "type": {"type": "map", "values": ["null", "long"]}}]}}},
            {"name": "id", "type": "long"},
            {"name": "also_gone", "type": ["null", "string", "double"]},
            {"name": "note", "type": "string"}]}"#,
    );
    let reader = schema(
        r#"{"type": "record", "name": "Order", "fields": [
            {"name": "note", "type": "string"},
            {"name": "id", "type": "long"},
            {"name": "qty", "type": "int", "default": 3},
            {"name": "currency", "type": "string", "default": "EUR"},
            {"name": "coupon", "type": ["null", "string"], "default": null},
            {"name": "raw", "type": "bytes", "default": "\u00ff\u0000"},
            {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": ["GOLD", "SILVER"]}, "default": "SILVER"},
            {"name": "where", "type": {"type": "record", "name": "Place", "fields": [
                {"name": "city", "type": "string", "default": "Oslo"}, {"name": "zip", "type": "int"}]},
             "default": {"zip": 150}},
            {"name": "scores", "type": {"type": "array", "items": "double"}, "default": [1.5, 2]}]}"#,
    );
    let line = |sku: &str| {
        Value::Record(vec![
            ("sku".into(), Value::String(sku.into())),
            (
                "tags".into(),
                Value::Map(HashMap::from([
                    ("a".to_owned(), Value::Union(1, Box::new(Value::Long(-5)))),
                    ("b".to_owned(), Value::Union(0, Box::new(Value::Null))),
                ])),
            ),
        ])
    };
    let value = |id: i64, note: &str| {
        Value::Record(vec![
            ("gone".into(), Value::Array(vec![line("x"), line("yy")])),
            ("id".into(), Value::Long(id)),
            (
                "also_gone".into(),
                Value::Union(2, Box::new(Value::Double(0.5))),
            ),
            ("note".into(), Value::String(note.into())),
        ])
    };
    let decoded = decode(
        &writer,
        Some(&reader),
        &[
            datum(&writer, value(1, "first")),
            datum(&writer, value(2, "second")),
        ],
    );
    assert_eq!(decoded.errors, []);
    let batch = &decoded.batch;
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "note", "id", "qty", "currency", "coupon", "raw", "tier", "where", "scores"
        ]
    );
    same(
        &col(batch, "note"),
        &StringArray::from(vec!["first", "second"]),
    );
    same(&col(batch, "id"), &Int64Array::from(vec![1, 2]));
    same(&col(batch, "qty"), &Int32Array::from(vec![3, 3]));
    same(
        &col(batch, "currency"),
        &StringArray::from(vec!["EUR", "EUR"]),
    );
    same(
        &col(batch, "coupon"),
        &StringArray::from(vec![None::<&str>, None]),
    );
    same(
        &col(batch, "raw"),
        &BinaryArray::from(vec![&[0xffu8, 0][..], &[0xff, 0][..]]),
    );
    let symbols: ArrayRef = Arc::new(StringArray::from(vec!["GOLD", "SILVER"]));
    same(
        &col(batch, "tier"),
        &DictionaryArray::<Int32Type>::new(Int32Array::from(vec![1, 1]), symbols),
    );
    let place = col(batch, "where");
    same(
        place.as_struct().column(0),
        &StringArray::from(vec!["Oslo", "Oslo"]),
    );
    same(
        place.as_struct().column(1),
        &Int32Array::from(vec![150, 150]),
    );
    let scores = col(batch, "scores");
    same(
        scores.as_list::<i32>().values(),
        &Float64Array::from(vec![1.5, 2.0, 1.5, 2.0]),
    );
}

#[test]
fn numbers_and_strings_promote() {
    let writer = schema(
        r#"{"type": "record", "name": "P", "fields": [
            {"name": "il", "type": "int"}, {"name": "if", "type": "int"}, {"name": "id", "type": "int"},
            {"name": "lf", "type": "long"}, {"name": "ld", "type": "long"}, {"name": "fd", "type": "float"},
            {"name": "sb", "type": "string"}, {"name": "bs", "type": "bytes"},
            {"name": "ts", "type": "long"}, {"name": "opt", "type": ["null", "int"]}]}"#,
    );
    let reader = schema(
        r#"{"type": "record", "name": "P", "fields": [
            {"name": "il", "type": "long"}, {"name": "if", "type": "float"}, {"name": "id", "type": "double"},
            {"name": "lf", "type": "float"}, {"name": "ld", "type": "double"}, {"name": "fd", "type": "double"},
            {"name": "sb", "type": "bytes"}, {"name": "bs", "type": "string"},
            {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "opt", "type": ["null", "long", "string"]}]}"#,
    );
    let value = Value::Record(vec![
        ("il".into(), Value::Int(-7)),
        ("if".into(), Value::Int(16_777_217)),
        ("id".into(), Value::Int(i32::MAX)),
        ("lf".into(), Value::Long(1 << 40)),
        ("ld".into(), Value::Long(-(1 << 52))),
        ("fd".into(), Value::Float(0.1)),
        ("sb".into(), Value::String("é".into())),
        ("bs".into(), Value::Bytes(b"ok".to_vec())),
        ("ts".into(), Value::Long(1_714_566_600_123)),
        ("opt".into(), Value::Union(1, Box::new(Value::Int(9)))),
    ]);
    let decoded = decode(&writer, Some(&reader), &[datum(&writer, value)]);
    assert_eq!(decoded.errors, []);
    let batch = &decoded.batch;
    same(&col(batch, "il"), &Int64Array::from(vec![-7]));
    same(&col(batch, "if"), &Float32Array::from(vec![16_777_216.0]));
    same(
        &col(batch, "id"),
        &Float64Array::from(vec![2_147_483_647.0]),
    );
    same(
        &col(batch, "lf"),
        &Float32Array::from(vec![1_099_511_627_776.0]),
    );
    same(
        &col(batch, "ld"),
        &Float64Array::from(vec![-4_503_599_627_370_496.0]),
    );
    same(
        &col(batch, "fd"),
        &Float64Array::from(vec![f64::from(0.1f32)]),
    );
    same(&col(batch, "sb"), &BinaryArray::from(vec!["é".as_bytes()]));
    same(&col(batch, "bs"), &StringArray::from(vec!["ok"]));
    same(
        &col(batch, "ts"),
        &arrow_array::TimestampMillisecondArray::from(vec![1_714_566_600_123]).with_timezone("UTC"),
    );
    let opt = col(batch, "opt");
    let opt = opt.as_union();
    assert_eq!(opt.type_id(0), 1);
    same(opt.child(1), &Int64Array::from(vec![9]));
}

#[test]
fn aliases_match_renamed_fields_and_types() {
    let writer = schema(
        r#"{"type": "record", "name": "Order", "namespace": "old", "fields": [
            {"name": "total", "type": "double"},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B", "EXTRA"]}},
            {"name": "who", "type": {"type": "record", "name": "Person", "fields": [{"name": "n", "type": "string"}]}}]}"#,
    );
    let reader = schema(
        r#"{"type": "record", "name": "Purchase", "namespace": "new", "aliases": ["old.Order"], "fields": [
            {"name": "amount", "type": "double", "aliases": ["total"]},
            {"name": "kind", "type": {"type": "enum", "name": "Sort", "aliases": ["old.Kind"], "symbols": ["B", "A", "OTHER"], "default": "OTHER"}},
            {"name": "who", "type": {"type": "record", "name": "Human", "aliases": ["Person"], "fields": [{"name": "n", "type": "string"}]}}]}"#,
    );
    let value = |kind: u32, symbol: &str| {
        Value::Record(vec![
            ("total".into(), Value::Double(9.5)),
            ("kind".into(), Value::Enum(kind, symbol.into())),
            (
                "who".into(),
                Value::Record(vec![("n".into(), Value::String("Ada".into()))]),
            ),
        ])
    };
    let decoded = decode(
        &writer,
        Some(&reader),
        &[
            datum(&writer, value(0, "A")),
            datum(&writer, value(2, "EXTRA")),
        ],
    );
    assert_eq!(decoded.errors, []);
    let batch = &decoded.batch;
    same(&col(batch, "amount"), &Float64Array::from(vec![9.5, 9.5]));
    let symbols: ArrayRef = Arc::new(StringArray::from(vec!["B", "A", "OTHER"]));
    same(
        &col(batch, "kind"),
        &DictionaryArray::<Int32Type>::new(Int32Array::from(vec![1, 2]), symbols),
    );
    same(
        col(batch, "who").as_struct().column(0),
        &StringArray::from(vec!["Ada", "Ada"]),
    );
}

#[test]
fn a_writer_symbol_the_reader_lacks_fails_its_row_without_a_default() {
    let writer = schema(r#"{"type": "enum", "name": "K", "symbols": ["A", "B", "C"]}"#);
    let reader = schema(r#"{"type": "enum", "name": "K", "symbols": ["C", "A"]}"#);
    let values = [
        datum(&writer, Value::Enum(0, "A".into())),
        datum(&writer, Value::Enum(1, "B".into())),
        datum(&writer, Value::Enum(2, "C".into())),
    ];
    let decoded = decode(&writer, Some(&reader), &values);
    assert_eq!(decoded.rows, [0, 2]);
    let messages: Vec<&str> = decoded.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        ["field `value`: enum symbol `B` is not in the reader's enum `K`, which has no default"]
    );
    let keys = col(&decoded.batch, "value");
    assert_eq!(
        keys.as_dictionary::<Int32Type>().keys(),
        &Int32Array::from(vec![1, 0])
    );
}

#[test]
fn union_branches_resolve_per_value() {
    // Writer union into a reader's plain type: branches that do not fit
    // fail their rows only.
    let writer = schema(r#"["null", "int", "string"]"#);
    let reader = schema(r#""long""#);
    let values = [
        datum(&writer, Value::Union(1, Box::new(Value::Int(4)))),
        datum(
            &writer,
            Value::Union(2, Box::new(Value::String("x".into()))),
        ),
        datum(&writer, Value::Union(0, Box::new(Value::Null))),
    ];
    let decoded = decode(&writer, Some(&reader), &values);
    assert_eq!(decoded.rows, [0]);
    same(&col(&decoded.batch, "value"), &Int64Array::from(vec![4]));
    let messages: Vec<&str> = decoded.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "field `value`: the writer's `string` value cannot be read as the reader's `long`",
            "field `value`: the value is null, which the reader's schema does not allow",
        ]
    );

    // A plain writer type into a reader union: the branch it fits.
    let writer = schema(r#""int""#);
    let reader = schema(r#"["null", "string", "double"]"#);
    let decoded = decode(&writer, Some(&reader), &[datum(&writer, Value::Int(-2))]);
    assert_eq!(decoded.errors, []);
    let union = col(&decoded.batch, "value");
    assert_eq!(union.as_union().type_id(0), 2);
    same(union.as_union().child(2), &Float64Array::from(vec![-2.0]));

    // Nullable to nullable, with a promotion.
    let writer = schema(r#"["null", "int"]"#);
    let reader = schema(r#"["long", "null"]"#);
    let values = [
        datum(&writer, Value::Union(0, Box::new(Value::Null))),
        datum(&writer, Value::Union(1, Box::new(Value::Int(8)))),
    ];
    let decoded = decode(&writer, Some(&reader), &values);
    same(
        &col(&decoded.batch, "value"),
        &Int64Array::from(vec![None, Some(8)]),
    );
}

#[test]
fn schemas_that_do_not_resolve_name_the_field() {
    let record = |fields: &str| {
        schema(&format!(
            r#"{{"type": "record", "name": "R", "fields": [{fields}]}}"#
        ))
    };
    let cases = [
        (
            record(r#"{"name": "a", "type": "int"}"#),
            record(r#"{"name": "a", "type": "int"}, {"name": "b", "type": "string"}"#),
            "field `b`: the field is not in the writer's schema and has no default; \
             give it a default in the reader's schema",
        ),
        (
            record(r#"{"name": "a", "type": "string"}"#),
            record(r#"{"name": "a", "type": "int"}"#),
            "field `a`: the writer's `string` cannot be read as the reader's `int`",
        ),
        (
            record(r#"{"name": "a", "type": "long"}"#),
            record(r#"{"name": "a", "type": "int"}"#),
            "field `a`: the writer's `long` cannot be read as the reader's `int`",
        ),
        (
            record(r#"{"name": "a", "type": {"type": "long", "logicalType": "timestamp-millis"}}"#),
            record(r#"{"name": "a", "type": {"type": "long", "logicalType": "timestamp-micros"}}"#),
            "field `a`: the writer's `timestamp-millis` cannot be read as the reader's `timestamp-micros`",
        ),
        (
            record(
                r#"{"name": "a", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}}"#,
            ),
            record(
                r#"{"name": "a", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 3}}"#,
            ),
            "field `a`: the writer's decimal(9, 2) differs from the reader's decimal(9, 3); \
             decimals resolve only with equal precision and scale",
        ),
        (
            record(r#"{"name": "c", "type": {"type": "record", "name": "A", "fields": []}}"#),
            record(r#"{"name": "c", "type": {"type": "record", "name": "B", "fields": []}}"#),
            "field `c`: the writer's `A` and the reader's `B` have different names; \
             add `A` to the reader type's aliases",
        ),
        (
            record(r#"{"name": "f", "type": {"type": "fixed", "name": "F", "size": 4}}"#),
            record(r#"{"name": "f", "type": {"type": "fixed", "name": "F", "size": 8}}"#),
            "field `f`: the writer's fixed `F` has 4 bytes and the reader's 8",
        ),
        (
            record(r#"{"name": "x", "type": "int"}"#),
            record(r#"{"name": "x", "type": ["null", "string"]}"#),
            "field `x`: the writer's `int` fits no branch of the reader's union",
        ),
        (
            record(r#"{"name": "n", "type": {"type": "array", "items": "string"}}"#),
            record(r#"{"name": "n", "type": {"type": "array", "items": "int"}}"#),
            "field `n[]`: the writer's `string` cannot be read as the reader's `int`",
        ),
    ];
    for (writer, reader, expected) in cases {
        assert_eq!(build_error(&writer, &reader), expected);
    }
    let bad_default = AvroSchema::parse(
        r#"{"type": "record", "name": "R", "fields": [{"name": "e", "type": "int", "default": "x"}]}"#,
        &[],
    );
    let Err(error) = bad_default else {
        panic!("a bad default parsed")
    };
    assert!(
        error
            .to_string()
            .starts_with("the Avro schema does not parse: "),
        "{error}"
    );
}

#[test]
fn unsupported_reader_types_name_the_field() {
    let wide = schema(
        r#"{"type": "record", "name": "R", "fields": [{"name": "big", "type":
            {"type": "bytes", "logicalType": "decimal", "precision": 80, "scale": 0}}]}"#,
    );
    let Err(error) = AvroDecoder::new(&wide, None) else {
        panic!("decimal(80) mapped")
    };
    assert_eq!(
        error.to_string(),
        "field `big`: decimal precision 80 is over 76, the most an Arrow decimal holds; \
         use a smaller precision or read the field as `bytes`"
    );
}
