//! Properties across the format modules: round trips between the decoder
//! and the encoder, and that no input makes decoding or inference panic.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int8Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use proptest::prelude::*;
use serde_json::json;

use super::schema::{json_field, parse_schema};
use super::{JsonDecoder, JsonEncoder, JsonOptions, infer_schema};

/// Encodes a batch and returns each row's bytes.
fn encode(batch: &RecordBatch) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    JsonEncoder::new()
        .encode(batch, &mut out, &mut ends)
        .expect("encodes");
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let row = out[start..end].to_vec();
            start = end;
            row
        })
        .collect()
}

/// Decodes rows that must all be good.
fn decode_all(schema: SchemaRef, rows: &[Vec<u8>]) -> RecordBatch {
    let values: Vec<Option<&[u8]>> = rows.iter().map(|r| Some(r.as_slice())).collect();
    let decoded = JsonDecoder::new(schema, JsonOptions::default())
        .expect("decoder")
        .decode(&values);
    assert_eq!(
        decoded.errors,
        [],
        "rows: {:?}",
        rows.iter()
            .map(|r| String::from_utf8_lossy(r))
            .collect::<Vec<_>>()
    );
    decoded.batch
}

#[test]
fn decode_encode_decode_is_stable() {
    let spec = json!({
        "id": "int64", "ts": "timestamp(ms, UTC)", "amount": "float64", "price": "decimal(12, 3)",
        "day": "date", "raw": "binary", "extra": "json", "ok": "bool",
        "customer": {"struct": {"id": "uint64", "tags": {"list": "string"}}},
        "points": {"list": {"list": "float32"}},
    });
    let schema = Arc::new(parse_schema(&spec).expect("schema"));
    let values = [
        r#"{"id": 1, "ts": "2024-05-01T12:30:00.5+01:00", "amount": 0.1, "price": "123456789.125",
            "day": "2024-01-31", "raw": "AAEC/w==", "extra": {"b": [true, {"c": "\u2603"}]}, "ok": false,
            "customer": {"id": 18446744073709551615, "tags": ["x", "y\n"]}, "points": [[1.5, -0.25], []]}"#,
        r#"{"id": -7, "extra": "a string", "customer": {"tags": null}, "points": [null, [3.4028235e38]]}"#,
        r#"{}"#,
    ];
    let rows: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    let first = decode_all(schema.clone(), &rows);
    let encoded = encode(&first);
    assert_eq!(
        String::from_utf8_lossy(&encoded[0]),
        r#"{"id":1,"ts":"2024-05-01T11:30:00.500Z","amount":0.1,"price":"123456789.125","day":"2024-01-31","raw":"AAEC/w==","extra":{"b":[true,{"c":"☃"}]},"ok":false,"customer":{"id":18446744073709551615,"tags":["x","y\n"]},"points":[[1.5,-0.25],[]]}"#
    );
    assert_eq!(
        String::from_utf8_lossy(&encoded[2]),
        r#"{"id":null,"ts":null,"amount":null,"price":null,"day":null,"raw":null,"extra":null,"ok":null,"customer":null,"points":null}"#
    );
    let second = decode_all(schema, &encoded);
    assert_eq!(first, second);
}

#[test]
fn inferred_schema_decodes_its_samples() {
    let values = [
        r#"{"id": 1, "name": "a", "v": [1, 2], "o": {"k": "x"}}"#,
        r#"{"id": 2.5, "name": {"first": "b"}, "v": [], "o": {"k": null, "n": 3}}"#,
    ];
    let schema = Arc::new(infer_schema(values.iter().map(|v| v.as_bytes())).expect("inferred"));
    let rows: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    let batch = decode_all(schema, &rows);
    let encoded: Vec<String> = encode(&batch)
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r).into_owned())
        .collect();
    assert_eq!(
        encoded,
        [
            r#"{"id":1.0,"name":"a","v":[1,2],"o":{"k":"x","n":null}}"#,
            r#"{"id":2.5,"name":{"first":"b"},"v":[],"o":{"k":null,"n":3}}"#,
        ]
    );
}

/// The schema every generated batch has.
fn rich_schema() -> SchemaRef {
    let inner = Fields::from(vec![
        Field::new("n", DataType::Int8, true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("b", DataType::Boolean, true),
        Field::new("i", DataType::Int64, true),
        Field::new("u", DataType::UInt64, true),
        Field::new("f", DataType::Float64, true),
        Field::new("g", DataType::Float32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("bin", DataType::Binary, true),
        Field::new("d", DataType::Date32, true),
        Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("dec", DataType::Decimal128(38, 9), true),
        json_field("j", true),
        Field::new("st", DataType::Struct(inner), true),
    ]))
}

/// The struct column of a generated row: `n` and `tags`.
type Inner = (Option<i8>, Option<Vec<Option<String>>>);

/// One generated row of [`rich_schema`].
#[derive(Debug, Clone)]
struct Row {
    b: Option<bool>,
    i: Option<i64>,
    u: Option<u64>,
    f: Option<f64>,
    g: Option<f32>,
    s: Option<String>,
    bin: Option<Vec<u8>>,
    d: Option<i32>,
    ts: Option<i64>,
    dec: Option<i128>,
    j: Option<i64>,
    st: Option<Inner>,
}

/// Dates in years 0..=9999, the range RFC 3339 text covers.
const DAYS: std::ops::RangeInclusive<i32> = -719_528..=2_932_896;

fn row() -> impl Strategy<Value = Row> {
    let finite = any::<f64>().prop_filter("finite", |f| f.is_finite());
    let finite32 = any::<f32>().prop_filter("finite", |f| f.is_finite());
    let micros = -62_167_219_200_000_000i64..=253_402_300_799_999_999i64;
    let dec = -(10i128.pow(38) - 1)..10i128.pow(38);
    let tags = proptest::option::of(proptest::collection::vec(
        proptest::option::of(".{0,8}"),
        0..4,
    ));
    (
        (
            any::<Option<bool>>(),
            any::<Option<i64>>(),
            any::<Option<u64>>(),
            proptest::option::of(finite),
        ),
        (
            proptest::option::of(finite32),
            proptest::option::of("\\PC{0,12}|[\\x00-\\x1f\"\\\\]{0,4}"),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
        ),
        (
            proptest::option::of(DAYS),
            proptest::option::of(micros),
            proptest::option::of(dec),
            any::<Option<i64>>(),
        ),
        proptest::option::of((any::<Option<i8>>(), tags)),
    )
        .prop_map(|((b, i, u, f), (g, s, bin), (d, ts, dec, j), st)| Row {
            b,
            i,
            u,
            f,
            g,
            s,
            bin,
            d,
            ts,
            dec,
            j,
            st,
        })
}

/// Builds a batch of [`rich_schema`] from rows.
fn build(rows: &[Row]) -> RecordBatch {
    let schema = rich_schema();
    let mut b = BooleanBuilder::new();
    let mut i = Int64Builder::new();
    let mut u = UInt64Builder::new();
    let mut f = Float64Builder::new();
    let mut g = Float32Builder::new();
    let mut s = StringBuilder::new();
    let mut bin = BinaryBuilder::new();
    let mut d = Date32Builder::new();
    let mut ts = TimestampMicrosecondBuilder::new();
    let mut dec = Decimal128Builder::new()
        .with_precision_and_scale(38, 9)
        .expect("dec");
    let mut j = StringBuilder::new();
    let DataType::Struct(inner) = schema.field(11).data_type().clone() else {
        unreachable!()
    };
    let mut st = StructBuilder::from_fields(inner, rows.len());
    for row in rows {
        b.append_option(row.b);
        i.append_option(row.i);
        u.append_option(row.u);
        f.append_option(row.f);
        g.append_option(row.g);
        s.append_option(row.s.as_deref());
        bin.append_option(row.bin.as_deref());
        d.append_option(row.d);
        ts.append_option(row.ts);
        dec.append_option(row.dec);
        j.append_option(row.j.map(|v| v.to_string()));
        let (n, tags) = row.st.clone().unwrap_or_default();
        st.field_builder::<Int8Builder>(0)
            .expect("n")
            .append_option(n);
        let list = st
            .field_builder::<ListBuilder<Box<dyn arrow_array::builder::ArrayBuilder>>>(1)
            .expect("tags");
        match tags {
            Some(tags) => {
                for tag in tags {
                    list.values()
                        .as_any_mut()
                        .downcast_mut::<StringBuilder>()
                        .expect("item")
                        .append_option(tag);
                }
                list.append(true);
            }
            None => list.append(false),
        }
        st.append(row.st.is_some());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(b.finish()),
        Arc::new(i.finish()),
        Arc::new(u.finish()),
        Arc::new(f.finish()),
        Arc::new(g.finish()),
        Arc::new(s.finish()),
        Arc::new(bin.finish()),
        Arc::new(d.finish()),
        Arc::new(ts.finish()),
        Arc::new(dec.finish()),
        Arc::new(j.finish()),
        Arc::new(st.finish()),
    ];
    RecordBatch::try_new(schema, columns).expect("batch")
}

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        "\\PC{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::vec(("[a-e]{1,2}", inner), 0..6)
                .prop_map(|pairs| serde_json::Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_batches_round_trip(rows in proptest::collection::vec(row(), 0..20)) {
        let batch = build(&rows);
        let encoded = encode(&batch);
        let decoded = decode_all(rich_schema(), &encoded);
        prop_assert_eq!(decoded, batch);
    }

    #[test]
    fn arbitrary_bytes_never_panic(values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let schema = Arc::new(parse_schema(&json!({"a": "int64", "b": {"struct": {"c": "utf8"}}, "d": "json"})).expect("schema"));
        let input: Vec<Option<&[u8]>> = values.iter().map(|v| Some(v.as_slice())).collect();
        let decoded = JsonDecoder::new(schema, JsonOptions::default()).expect("decoder").decode(&input);
        prop_assert_eq!(decoded.rows.len() + decoded.errors.len(), values.len());
        let _ = infer_schema(values.iter().map(Vec::as_slice));
    }

    #[test]
    fn arbitrary_json_never_panics_and_infers_a_schema_that_decodes_it(values in proptest::collection::vec(json_value(), 1..8)) {
        let texts: Vec<Vec<u8>> = values.iter().map(|v| serde_json::to_vec(v).expect("json")).collect();
        let objects: Vec<&Vec<u8>> = values.iter().zip(&texts).filter(|(v, _)| v.is_object()).map(|(_, t)| t).collect();
        match infer_schema(texts.iter().map(Vec::as_slice)) {
            Ok(schema) => {
                let input: Vec<Option<&[u8]>> = objects.iter().map(|t| Some(t.as_slice())).collect();
                let decoded = JsonDecoder::new(Arc::new(schema), JsonOptions::default()).expect("decoder").decode(&input);
                prop_assert_eq!(decoded.errors, []);
                let _ = encode(&decoded.batch);
            }
            Err(_) => prop_assert!(objects.is_empty()),
        }
        let fixed = Arc::new(parse_schema(&json!({"a": "float64", "b": {"list": "utf8"}, "c": {"struct": {"d": "bool"}}, "e": "decimal(10, 2)", "f": "timestamp(ns)"})).expect("schema"));
        let input: Vec<Option<&[u8]>> = texts.iter().map(|t| Some(t.as_slice())).collect();
        let decoded = JsonDecoder::new(fixed, JsonOptions::default()).expect("decoder").decode(&input);
        prop_assert_eq!(decoded.rows.len() + decoded.errors.len(), texts.len());
    }
}
