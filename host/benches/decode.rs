//! JSON ↔ Arrow throughput: Sabot's decoder and encoder against arrow-json's
//! on the same bytes and schema.
//!
//! Run with `cargo bench -p sabot --bench decode`. The input is 100,000
//! generated order records (about 250 bytes, 12 fields, a nested customer),
//! decoded into batches of 1,000 rows (and once of 10,000); criterion
//! reports time per pass over all records, and the throughput in records per
//! second.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sabot::format::{JsonDecoder, JsonEncoder, JsonOptions, parse_schema};

/// Records per benchmark pass.
const RECORDS: usize = 100_000;

/// The order schema, as a pipeline file would declare it.
fn schema() -> SchemaRef {
    let spec = serde_json::json!({
        "id": "int64",
        "ts": "timestamp(ms)",
        "customer": {"struct": {"id": "int64", "name": "utf8", "email": "utf8", "tier": "utf8"}},
        "amount": "float64",
        "currency": "utf8",
        "items": "int32",
        "status": "utf8",
        "country": "utf8",
        "channel": "utf8",
        "coupon": "utf8",
        "paid": "bool",
        "note": "utf8",
    });
    match parse_schema(&spec) {
        Ok(schema) => Arc::new(schema),
        Err(errors) => panic!("bench schema: {errors:?}"),
    }
}

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

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() % options.len() as u64) as usize]
    }
}

/// The generated records, one JSON object each.
fn records() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
        "Barbara Liskov",
    ];
    (0..RECORDS)
        .map(|i| {
            let ms = 1_714_566_600_000u64 + (i as u64) * 1_537 + rng.next() % 1_000;
            let secs = ms / 1000;
            let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
            let day = 1 + (secs / 86_400) % 28;
            let customer = rng.next() % 50_000;
            let coupon = if rng.next() % 4 == 0 { format!("\"SAVE{}\"", rng.next() % 50) } else { "null".to_owned() };
            format!(
                concat!(
                    r#"{{"id":{},"ts":"2024-05-{:02}T{:02}:{:02}:{:02}.{:03}Z","#,
                    r#""customer":{{"id":{},"name":"{}","email":"user{}@example.com","tier":"{}"}},"#,
                    r#""amount":{}.{:02},"currency":"{}","items":{},"status":"{}","country":"{}","#,
                    r#""channel":"{}","coupon":{},"paid":{},"note":"{}"}}"#
                ),
                1_000_000 + i,
                day,
                h,
                m,
                s,
                ms % 1000,
                customer,
                rng.pick(&names),
                customer,
                rng.pick(&["bronze", "silver", "gold", "platinum"]),
                rng.next() % 2_000,
                rng.next() % 100,
                rng.pick(&["EUR", "USD", "GBP", "JPY"]),
                1 + rng.next() % 9,
                rng.pick(&["created", "paid", "shipped", "delivered", "cancelled"]),
                rng.pick(&["DE", "FR", "US", "GB", "JP", "BR"]),
                rng.pick(&["web", "app", "store"]),
                coupon,
                rng.next() % 2 == 0,
                rng.pick(&["", "leave at the door", "gift wrap, please"]),
            )
            .into_bytes()
        })
        .collect()
}

/// Decodes every record with Sabot's decoder in batches of `batch` rows.
fn sabot_decode(decoder: &mut JsonDecoder, values: &[Option<&[u8]>], batch: usize) -> usize {
    let mut rows = 0;
    for chunk in values.chunks(batch) {
        let decoded = decoder.decode(chunk);
        rows += black_box(decoded.batch).num_rows();
    }
    rows
}

/// Decodes the newline-joined records with arrow-json in batches of `batch`.
fn arrow_decode(schema: &SchemaRef, joined: &[u8], batch: usize) -> usize {
    let mut decoder = match arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(batch)
        .build_decoder()
    {
        Ok(decoder) => decoder,
        Err(error) => panic!("arrow-json decoder: {error}"),
    };
    let mut rows = 0;
    let mut rest = joined;
    loop {
        let consumed = decoder
            .decode(rest)
            .unwrap_or_else(|e| panic!("arrow-json: {e}"));
        rest = &rest[consumed..];
        if let Some(batch) = decoder
            .flush()
            .unwrap_or_else(|e| panic!("arrow-json: {e}"))
        {
            rows += black_box(batch).num_rows();
        }
        if rest.is_empty() && consumed == 0 {
            break;
        }
    }
    rows
}

/// Decode benchmarks: ours and arrow-json's at 1,000 and 10,000 rows.
fn decode(c: &mut Criterion) {
    let schema = schema();
    let records = records();
    let values: Vec<Option<&[u8]>> = records.iter().map(|r| Some(r.as_slice())).collect();
    let joined = records.join(&b'\n');
    let mean = joined.len() / RECORDS;
    let mut group = c.benchmark_group(format!("decode_orders_{mean}B"));
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    for batch in [1_000, 10_000] {
        let mut decoder = match JsonDecoder::new(schema.clone(), JsonOptions::default()) {
            Ok(decoder) => decoder,
            Err(error) => panic!("decoder: {error}"),
        };
        assert_eq!(sabot_decode(&mut decoder, &values, batch), RECORDS);
        assert_eq!(arrow_decode(&schema, &joined, batch), RECORDS);
        group.bench_function(format!("sabot/{batch}"), |b| {
            b.iter(|| sabot_decode(&mut decoder, &values, batch))
        });
        group.bench_function(format!("arrow_json/{batch}"), |b| {
            b.iter(|| arrow_decode(&schema, &joined, batch))
        });
    }
    group.finish();
}

/// Encode benchmarks: ours and arrow-json's `LineDelimitedWriter`.
fn encode(c: &mut Criterion) {
    let schema = schema();
    let records = records();
    let values: Vec<Option<&[u8]>> = records.iter().map(|r| Some(r.as_slice())).collect();
    let mut decoder = match JsonDecoder::new(schema, JsonOptions::default()) {
        Ok(decoder) => decoder,
        Err(error) => panic!("decoder: {error}"),
    };
    let batches: Vec<RecordBatch> = values
        .chunks(1_000)
        .map(|chunk| decoder.decode(chunk).batch)
        .collect();
    let mut group = c.benchmark_group("encode_orders");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    let mut encoder = JsonEncoder::new().newline_delimited(true);
    let mut out = Vec::new();
    let mut ends = Vec::new();
    group.bench_function("sabot/1000", |b| {
        b.iter(|| {
            out.clear();
            ends.clear();
            for batch in &batches {
                if let Err(error) = encoder.encode(batch, &mut out, &mut ends) {
                    panic!("encode: {error}");
                }
            }
            black_box(out.len())
        })
    });
    group.bench_function("arrow_json/1000", |b| {
        b.iter(|| {
            let mut writer =
                arrow_json::LineDelimitedWriter::new(Vec::with_capacity(out.capacity()));
            for batch in &batches {
                writer
                    .write(batch)
                    .unwrap_or_else(|e| panic!("arrow-json: {e}"));
            }
            writer
                .finish()
                .unwrap_or_else(|e| panic!("arrow-json: {e}"));
            black_box(writer.into_inner().len())
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
