//! Avro → Arrow throughput: Sabot's decoder against apache-avro's `Value`
//! path (datum → `Value` → Arrow builders) and against arrow-avro's
//! decoder, on the same Confluent-framed bytes; and Sabot's encoder back.
//!
//! Run with `cargo bench -p sabot --bench avro`. The input is 10,000
//! generated order records (a nested customer record with an enum, an
//! array of line records with decimals, a map of attributes, a nullable
//! and a three-branch union, a decimal amount, a millisecond timestamp),
//! written by apache-avro and framed with the wire-format header, decoded
//! in batches of 1,000. Sabot's figure includes stripping the header;
//! criterion reports time per pass over all records and records per second.
//!
//! Times are the benchmark thread's CPU time (Linux's
//! `/proc/thread-self/schedstat`), not wall time, so other work on a busy
//! machine does not count against whichever side happens to run with it.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use arrow_array::builder::{
    BooleanBuilder, Decimal128Builder, Int32Builder, Int64Builder, ListBuilder, MapBuilder,
    StringBuilder, StringDictionaryBuilder, StructBuilder, TimestampMillisecondBuilder,
};
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_avro::reader::ReaderBuilder;
use arrow_avro::schema::{Fingerprint, FingerprintAlgorithm, SchemaStore};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sabot::format::avro::{AvroDecoder, AvroEncoder, AvroSchema};
use sabot::schema::wire;

/// The CPU time the current thread has run, in nanoseconds, as the
/// kernel's scheduler counts it.
fn thread_cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .unwrap_or_else(|e| panic!("this bench reads /proc/thread-self/schedstat (Linux): {e}"));
    text.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .unwrap_or_else(|| panic!("unexpected schedstat: {text}"))
}

/// Criterion measurement of the benchmark thread's CPU time.
struct CpuTime;

/// Wall time's formatter, which prints nanoseconds as durations.
static DURATIONS: WallTime = WallTime;

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        DURATIONS.formatter()
    }
}

/// Records per benchmark pass.
const RECORDS: usize = 10_000;

/// Rows per decoded batch.
const BATCH: usize = 1_000;

/// The registry id the values are framed with.
const SCHEMA_ID: u32 = 1;

/// The order schema.
const ORDER: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
    {"name": "id", "type": "long"},
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": "string"},
        {"name": "email", "type": "string"},
        {"name": "tier", "type": {"type": "enum", "name": "Tier", "symbols": ["BRONZE", "SILVER", "GOLD", "PLATINUM"]}}]}},
    {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
        {"name": "sku", "type": "string"},
        {"name": "qty", "type": "int"},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}}]}}},
    {"name": "attrs", "type": {"type": "map", "values": "string"}},
    {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    {"name": "currency", "type": "string"},
    {"name": "coupon", "type": ["null", "string"]},
    {"name": "discount", "type": ["null", "double", "int"]},
    {"name": "paid", "type": "boolean"},
    {"name": "note", "type": "string"}
]}"#;

/// A small deterministic generator (xorshift), so every run sees the same
/// records.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len() as u64) as usize]
    }
}

/// The shortest two's complement bytes of an unscaled decimal.
fn decimal(value: i64) -> Value {
    let bytes = value.to_be_bytes();
    let fill = if value < 0 { 0xff } else { 0 };
    let mut start = 0;
    while start < 7 && bytes[start] == fill && ((bytes[start + 1] & 0x80 != 0) == (value < 0)) {
        start += 1;
    }
    Value::Decimal(apache_avro::Decimal::from(bytes[start..].to_vec()))
}

/// The generated records as apache-avro values.
fn values() -> Vec<Value> {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
        "Barbara Liskov",
    ];
    let tiers = ["BRONZE", "SILVER", "GOLD", "PLATINUM"];
    (0..RECORDS)
        .map(|i| {
            let customer = rng.below(50_000) as i64;
            let tier = rng.below(4) as u32;
            let lines = (0..1 + rng.below(4))
                .map(|_| {
                    Value::Record(vec![
                        (
                            "sku".into(),
                            Value::String(format!("SKU-{:05}", rng.below(100_000))),
                        ),
                        ("qty".into(), Value::Int(1 + rng.below(9) as i32)),
                        ("price".into(), decimal(rng.below(100_000) as i64)),
                    ])
                })
                .collect();
            let mut attrs = HashMap::new();
            attrs.insert(
                "channel".to_owned(),
                Value::String(rng.pick(&["web", "app", "store"]).into()),
            );
            if rng.below(2) == 0 {
                attrs.insert(
                    "country".to_owned(),
                    Value::String(rng.pick(&["DE", "FR", "US", "GB"]).into()),
                );
            }
            let coupon = if rng.below(4) == 0 {
                Value::Union(1, Box::new(Value::String(format!("SAVE{}", rng.below(50)))))
            } else {
                Value::Union(0, Box::new(Value::Null))
            };
            let discount = match rng.below(3) {
                0 => Value::Union(0, Box::new(Value::Null)),
                1 => Value::Union(1, Box::new(Value::Double(rng.below(1000) as f64 / 100.0))),
                _ => Value::Union(2, Box::new(Value::Int(rng.below(50) as i32))),
            };
            Value::Record(vec![
                ("id".into(), Value::Long(1_000_000 + i as i64)),
                (
                    "ts".into(),
                    Value::TimestampMillis(1_714_566_600_000 + (i as i64) * 1_537),
                ),
                (
                    "customer".into(),
                    Value::Record(vec![
                        ("id".into(), Value::Long(customer)),
                        ("name".into(), Value::String(rng.pick(&names).into())),
                        (
                            "email".into(),
                            Value::String(format!("user{customer}@example.com")),
                        ),
                        (
                            "tier".into(),
                            Value::Enum(tier, tiers[tier as usize].into()),
                        ),
                    ]),
                ),
                ("lines".into(), Value::Array(lines)),
                ("attrs".into(), Value::Map(attrs)),
                ("amount".into(), decimal(rng.below(2_000_000) as i64)),
                (
                    "currency".into(),
                    Value::String(rng.pick(&["EUR", "USD", "GBP", "JPY"]).into()),
                ),
                ("coupon".into(), coupon),
                ("discount".into(), discount),
                ("paid".into(), Value::Boolean(rng.below(2) == 0)),
                (
                    "note".into(),
                    Value::String(
                        rng.pick(&["", "leave at the door", "gift wrap, please"])
                            .into(),
                    ),
                ),
            ])
        })
        .collect()
}

/// A batch of framed messages back to back, as a consumer's fetch buffer
/// holds them, with the end of each.
struct Chunk {
    /// The messages.
    bytes: Vec<u8>,
    /// Where each message ends in `bytes`.
    ends: Vec<usize>,
}

impl Chunk {
    /// The messages, one slice each.
    fn messages(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.bytes[start..end])
    }
}

/// The framed messages in batches of [`BATCH`].
fn chunks(schema: &Schema) -> Vec<Chunk> {
    let writer = GenericDatumWriter::builder(schema)
        .build()
        .unwrap_or_else(|e| panic!("writer: {e}"));
    let values = values();
    values
        .chunks(BATCH)
        .map(|batch| {
            let mut chunk = Chunk {
                bytes: Vec::new(),
                ends: Vec::with_capacity(batch.len()),
            };
            for value in batch {
                wire::write_header(SCHEMA_ID, &mut chunk.bytes);
                let datum = writer
                    .write_value_to_vec(value.clone())
                    .unwrap_or_else(|e| panic!("write: {e}"));
                chunk.bytes.extend_from_slice(&datum);
                chunk.ends.push(chunk.bytes.len());
            }
            chunk
        })
        .collect()
}

/// Decodes every message with Sabot's decoder, stripping the header first.
fn sabot_decode(decoder: &mut AvroDecoder, chunks: &[Chunk]) -> Vec<RecordBatch> {
    let mut batches = Vec::with_capacity(RECORDS / BATCH);
    let mut payloads: Vec<&[u8]> = Vec::with_capacity(BATCH);
    for chunk in chunks {
        payloads.clear();
        for message in chunk.messages() {
            match wire::parse(message) {
                Ok(framed) => payloads.push(framed.payload),
                Err(error) => panic!("framing: {error}"),
            }
        }
        let decoded = decoder.decode(&payloads);
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors.first());
        batches.push(decoded.batch);
    }
    batches
}

/// An arrow-avro decoder of Confluent-framed orders.
fn arrow_avro_decoder() -> arrow_avro::reader::Decoder {
    let mut store = SchemaStore::new_with_type(FingerprintAlgorithm::Id);
    store
        .set(
            Fingerprint::Id(SCHEMA_ID),
            arrow_avro::schema::AvroSchema::new(ORDER.to_owned()),
        )
        .unwrap_or_else(|e| panic!("store: {e}"));
    ReaderBuilder::new()
        .with_writer_schema_store(store)
        .with_batch_size(BATCH)
        .build_decoder()
        .unwrap_or_else(|e| panic!("arrow-avro decoder: {e}"))
}

/// Decodes each batch's concatenated messages with arrow-avro's Confluent
/// decoder.
///
/// arrow-avro 57.3 builds a broken second batch from one decoder when the
/// schema has a union of two or more non-null branches (its dense union
/// offsets are not reset on flush, apache/arrow-rs#10876), so each batch
/// gets a fresh decoder; building one is part of its time here.
fn arrow_avro_decode(chunks: &[Chunk]) -> Vec<RecordBatch> {
    let mut batches = Vec::with_capacity(RECORDS / BATCH);
    for chunk in chunks {
        let mut decoder = arrow_avro_decoder();
        let mut rest = chunk.bytes.as_slice();
        while !rest.is_empty() {
            let consumed = decoder
                .decode(rest)
                .unwrap_or_else(|e| panic!("arrow-avro: {e}"));
            assert!(
                consumed > 0,
                "arrow-avro stopped with {} bytes left",
                rest.len()
            );
            rest = &rest[consumed..];
        }
        if let Some(batch) = decoder
            .flush()
            .unwrap_or_else(|e| panic!("arrow-avro: {e}"))
        {
            batches.push(batch);
        }
    }
    batches
}

/// Arrow builders for the order schema, filled from apache-avro values:
/// what a decoder built on apache-avro's `Value` does.
struct ValueColumns {
    id: Int64Builder,
    ts: TimestampMillisecondBuilder,
    customer: StructBuilder,
    lines: ListBuilder<StructBuilder>,
    attrs: MapBuilder<StringBuilder, StringBuilder>,
    amount: Decimal128Builder,
    currency: StringBuilder,
    coupon: StringBuilder,
    discount: arrow_array::builder::UnionBuilder,
    paid: BooleanBuilder,
    note: StringBuilder,
}

impl ValueColumns {
    fn new() -> Self {
        let customer = StructBuilder::new(
            Fields::from(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("name", DataType::Utf8, false),
                Field::new("email", DataType::Utf8, false),
                Field::new(
                    "tier",
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    false,
                ),
            ]),
            vec![
                Box::new(Int64Builder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
                Box::new(StringDictionaryBuilder::<Int32Type>::new()),
            ],
        );
        let line = StructBuilder::new(
            Fields::from(vec![
                Field::new("sku", DataType::Utf8, false),
                Field::new("qty", DataType::Int32, false),
                Field::new("price", DataType::Decimal128(10, 2), false),
            ]),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(Int32Builder::new()),
                Box::new(Decimal128Builder::new().with_data_type(DataType::Decimal128(10, 2))),
            ],
        );
        ValueColumns {
            id: Int64Builder::new(),
            ts: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            customer,
            lines: ListBuilder::new(line),
            attrs: MapBuilder::new(None, StringBuilder::new(), StringBuilder::new()),
            amount: Decimal128Builder::new().with_data_type(DataType::Decimal128(12, 2)),
            currency: StringBuilder::new(),
            coupon: StringBuilder::new(),
            discount: arrow_array::builder::UnionBuilder::new_dense(),
            paid: BooleanBuilder::new(),
            note: StringBuilder::new(),
        }
    }

    /// Appends one order value.
    fn append(&mut self, value: &Value) {
        let Value::Record(fields) = value else {
            panic!("not a record")
        };
        for (name, v) in fields {
            match (name.as_str(), v) {
                ("id", Value::Long(x)) => self.id.append_value(*x),
                ("ts", Value::TimestampMillis(x)) => self.ts.append_value(*x),
                ("customer", Value::Record(c)) => {
                    for (k, (_, cv)) in c.iter().enumerate() {
                        match (k, cv) {
                            (0, Value::Long(x)) => {
                                field::<Int64Builder>(&mut self.customer, 0).append_value(*x)
                            }
                            (1 | 2, Value::String(s)) => {
                                field::<StringBuilder>(&mut self.customer, k).append_value(s)
                            }
                            (3, Value::Enum(_, s)) => {
                                field::<StringDictionaryBuilder<Int32Type>>(&mut self.customer, 3)
                                    .append_value(s);
                            }
                            other => panic!("customer {other:?}"),
                        }
                    }
                    self.customer.append(true);
                }
                ("lines", Value::Array(items)) => {
                    for item in items {
                        let Value::Record(l) = item else {
                            panic!("line")
                        };
                        let line = self.lines.values();
                        for (k, (_, lv)) in l.iter().enumerate() {
                            match (k, lv) {
                                (0, Value::String(s)) => {
                                    field::<StringBuilder>(line, 0).append_value(s)
                                }
                                (1, Value::Int(x)) => {
                                    field::<Int32Builder>(line, 1).append_value(*x)
                                }
                                (2, Value::Decimal(d)) => {
                                    field::<Decimal128Builder>(line, 2).append_value(unscaled(d))
                                }
                                other => panic!("line {other:?}"),
                            }
                        }
                        line.append(true);
                    }
                    self.lines.append(true);
                }
                ("attrs", Value::Map(entries)) => {
                    for (k, av) in entries {
                        let Value::String(s) = av else { panic!("attr") };
                        self.attrs.keys().append_value(k);
                        self.attrs.values().append_value(s);
                    }
                    self.attrs.append(true).unwrap_or_else(|e| panic!("{e}"));
                }
                ("amount", Value::Decimal(d)) => self.amount.append_value(unscaled(d)),
                ("currency", Value::String(s)) => self.currency.append_value(s),
                ("coupon", Value::Union(_, inner)) => match inner.as_ref() {
                    Value::String(s) => self.coupon.append_value(s),
                    _ => self.coupon.append_null(),
                },
                ("discount", Value::Union(_, inner)) => {
                    let appended = match inner.as_ref() {
                        Value::Double(x) => self.discount.append::<Float64Type>("double", *x),
                        Value::Int(x) => self.discount.append::<Int32Type>("int", *x),
                        _ => self.discount.append_null::<Float64Type>("double"),
                    };
                    appended.unwrap_or_else(|e| panic!("{e}"));
                }
                ("paid", Value::Boolean(b)) => self.paid.append_value(*b),
                ("note", Value::String(s)) => self.note.append_value(s),
                other => panic!("order {other:?}"),
            }
        }
    }

    /// The finished batch.
    fn finish(&mut self) -> RecordBatch {
        let discount = std::mem::replace(
            &mut self.discount,
            arrow_array::builder::UnionBuilder::new_dense(),
        );
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(self.id.finish())),
            ("ts", Arc::new(self.ts.finish())),
            ("customer", Arc::new(self.customer.finish())),
            ("lines", Arc::new(self.lines.finish())),
            ("attrs", Arc::new(self.attrs.finish())),
            ("amount", Arc::new(self.amount.finish())),
            ("currency", Arc::new(self.currency.finish())),
            ("coupon", Arc::new(self.coupon.finish())),
            (
                "discount",
                Arc::new(discount.build().unwrap_or_else(|e| panic!("{e}"))),
            ),
            ("paid", Arc::new(self.paid.finish())),
            ("note", Arc::new(self.note.finish())),
        ];
        RecordBatch::try_from_iter(columns).unwrap_or_else(|e| panic!("batch: {e}"))
    }
}

/// A struct builder's field builder of type `T`.
fn field<T: arrow_array::builder::ArrayBuilder>(
    builder: &mut StructBuilder,
    index: usize,
) -> &mut T {
    match builder.field_builder::<T>(index) {
        Some(field) => field,
        None => panic!("field {index} has another builder type"),
    }
}

/// A decimal value's unscaled integer.
fn unscaled(decimal: &apache_avro::Decimal) -> i128 {
    let bytes: Vec<u8> = Vec::try_from(decimal).unwrap_or_else(|e| panic!("{e}"));
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0
    };
    let mut wide = [fill; 16];
    wide[16 - bytes.len()..].copy_from_slice(&bytes);
    i128::from_be_bytes(wide)
}

/// Decodes every message with apache-avro into `Value`s and builds Arrow
/// batches from them.
fn value_decode(schema: &Schema, chunks: &[Chunk]) -> Vec<RecordBatch> {
    let reader = GenericDatumReader::builder(schema)
        .build()
        .unwrap_or_else(|e| panic!("reader: {e}"));
    let mut batches = Vec::with_capacity(RECORDS / BATCH);
    for chunk in chunks {
        let mut columns = ValueColumns::new();
        for message in chunk.messages() {
            let framed = wire::parse(message).unwrap_or_else(|e| panic!("framing: {e}"));
            let mut payload = framed.payload;
            let value = reader
                .read_value(&mut payload)
                .unwrap_or_else(|e| panic!("apache-avro: {e}"));
            columns.append(&value);
        }
        batches.push(columns.finish());
    }
    batches
}

/// The `id` and `amount` columns of batches, to check the decoders agree.
fn ids_and_amounts(batches: &[RecordBatch]) -> (Vec<i64>, Vec<i128>) {
    let mut ids = Vec::new();
    let mut amounts = Vec::new();
    for batch in batches {
        let id = batch
            .column_by_name("id")
            .unwrap_or_else(|| panic!("no id"));
        let id = id
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap_or_else(|| panic!("id type"));
        ids.extend(id.values().iter().copied());
        let amount = batch
            .column_by_name("amount")
            .unwrap_or_else(|| panic!("no amount"));
        let amount = amount
            .as_any()
            .downcast_ref::<arrow_array::Decimal128Array>()
            .unwrap_or_else(|| panic!("amount type {:?}", amount.data_type()));
        amounts.extend(amount.values().iter().copied());
    }
    (ids, amounts)
}

/// Decode benchmarks: Sabot, apache-avro `Value`s, arrow-avro.
fn decode(c: &mut Criterion<CpuTime>) {
    let schema = AvroSchema::parse(ORDER, &[]).unwrap_or_else(|e| panic!("schema: {e}"));
    let chunks = chunks(schema.schema());
    let mean = chunks.iter().map(|c| c.bytes.len()).sum::<usize>() / RECORDS;
    let mut decoder = AvroDecoder::new(&schema, None).unwrap_or_else(|e| panic!("decoder: {e}"));

    // The three decode the same values.
    let ours = sabot_decode(&mut decoder, &chunks);
    let theirs = arrow_avro_decode(&chunks);
    let values = value_decode(schema.schema(), &chunks);
    assert_eq!(
        ours.iter().map(RecordBatch::num_rows).sum::<usize>(),
        RECORDS
    );
    assert_eq!(ids_and_amounts(&ours), ids_and_amounts(&theirs));
    assert_eq!(ids_and_amounts(&ours), ids_and_amounts(&values));
    let ts = ours[0].column_by_name("ts").map(|c| c.data_type().clone());
    assert_eq!(
        ts,
        Some(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some("UTC".into())
        ))
    );

    let mut group = c.benchmark_group(format!("avro_decode_orders_{mean}B"));
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function("sabot", |b| {
        b.iter(|| black_box(sabot_decode(&mut decoder, &chunks)))
    });
    group.bench_function("arrow_avro", |b| {
        b.iter(|| black_box(arrow_avro_decode(&chunks)))
    });
    group.bench_function("apache_avro_value", |b| {
        b.iter(|| black_box(value_decode(schema.schema(), &chunks)))
    });
    group.finish();
}

/// Encode benchmark: Sabot's encoder writing the decoded batches back.
fn encode(c: &mut Criterion<CpuTime>) {
    let schema = AvroSchema::parse(ORDER, &[]).unwrap_or_else(|e| panic!("schema: {e}"));
    let chunks = chunks(schema.schema());
    let mut decoder = AvroDecoder::new(&schema, None).unwrap_or_else(|e| panic!("decoder: {e}"));
    let batches = sabot_decode(&mut decoder, &chunks);
    let mut encoder = AvroEncoder::new(&schema);
    let mut out = Vec::new();
    let mut ends = Vec::new();
    let mut group = c.benchmark_group("avro_encode_orders");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function("sabot", |b| {
        b.iter(|| {
            out.clear();
            ends.clear();
            for batch in &batches {
                let errors = encoder
                    .encode(batch, &mut out, &mut ends)
                    .unwrap_or_else(|e| panic!("encode: {e}"));
                assert!(errors.is_empty());
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = decode, encode
}
criterion_main!(benches);
