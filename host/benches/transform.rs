//! The cost of the WebAssembly transform boundary.
//!
//! Run with `cargo bench -p sabot --bench transform` after building the
//! plugins (`plugins/build.sh`, which fills `plugins/dist/`). The input is
//! a 10-column order batch (ints, floats, strings, one nullable column)
//! with the `__` metadata columns a source adds, at 1, 100, 500, 1,000
//! and 10,000 rows. Criterion reports the time per call and, through its
//! throughput figure, rows per second. The groups:
//!
//! - `identity/…`: `identity.wasm` (batch world), which decodes the Arrow
//!   IPC stream it is given and encodes the same batch back;
//! - `identity_fuel/…`: the same plugin loaded with fuel metering and run
//!   under a budget no call reaches, which is what every plugin would pay
//!   if metering were always on;
//! - `fuel_cpu/{plain,metered}/…`: the two side by side at 100, 1,000 and
//!   10,000 rows, and `fuel_cpu/record_{plain,metered}/100` the same for
//!   `python-redact.wasm` (when built), timed in CPU time of the calling
//!   thread (Linux's `/proc/thread-self/schedstat`) rather than wall time,
//!   so that other processes on a busy machine do not count; left out, with
//!   a line on standard error, where that file cannot be read;
//! - `record_world/…`: `python-redact.wasm` (record world) with
//!   `{"fields": []}`, which parses every record's JSON value and writes it
//!   back unchanged; left out, with a line on standard error, when the
//!   plugin has not been built;
//! - `host_ipc/…`: what the host does around a batch-world call without the
//!   guest: encode the batch as an IPC stream and decode a stream of it;
//! - `host_json/…`: the record world's host work without the guest: the
//!   value columns written as one JSON object per row and decoded again;
//! - `instantiate/…`: [`Transform::new`] for a plugin already compiled,
//!   that is a fresh instance and its `init`;
//! - `load/…`: [`Plugin::load`] with an empty compile cache (a fresh
//!   temporary folder per call, so the plugin is compiled) and with a warm
//!   one (the compiled code read back from disk).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{Float64Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use sabot::format::{JsonDecoder, JsonEncoder, JsonOptions};
use sabot::record::{Header, RawRecord, is_metadata, metadata_columns, metadata_fields};
use sabot::transform::{Engine, Limits, Plugin, Transform, World};

/// The batch sizes every per-call group runs at.
const SIZES: [usize; 5] = [1, 100, 500, 1_000, 10_000];

/// Warm-up per benchmark: the calls are short and steady, so one second
/// is plenty and keeps the whole run within a few minutes.
const WARM_UP: Duration = Duration::from_secs(1);

/// A small deterministic generator (xorshift), so every run sees the same
/// batch.
struct Rng(u64);

impl Rng {
    /// The next pseudo-random number.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// One of `options`, picked at random.
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() % options.len() as u64) as usize]
    }
}

/// The schema of the order batch: ten value columns, then the metadata
/// columns.
fn schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("items", DataType::Int32, false),
        Field::new("amount", DataType::Float64, false),
        Field::new("tax", DataType::Float64, false),
        Field::new("currency", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, false),
        Field::new("coupon", DataType::Utf8, true),
    ];
    fields.extend(metadata_fields());
    Arc::new(Schema::new(fields))
}

/// An order batch of `rows` rows. No order is `cancelled`, so the record
/// plugin keeps every row and both worlds return the batch they were given.
fn orders(rows: usize) -> RecordBatch {
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut id = Int64Builder::with_capacity(rows);
    let mut customer = Int64Builder::with_capacity(rows);
    let mut items = Int32Builder::with_capacity(rows);
    let mut amount = Float64Builder::with_capacity(rows);
    let mut tax = Float64Builder::with_capacity(rows);
    let mut currency = StringBuilder::new();
    let mut status = StringBuilder::new();
    let mut country = StringBuilder::new();
    let mut email = StringBuilder::new();
    let mut coupon = StringBuilder::new();
    let mut records = Vec::with_capacity(rows);
    let topic: Arc<str> = Arc::from("orders");
    for i in 0..rows {
        let customer_id = (rng.next() % 50_000) as i64;
        let cents = (rng.next() % 200_000) as f64;
        id.append_value(1_000_000 + i as i64);
        customer.append_value(customer_id);
        items.append_value(1 + (rng.next() % 9) as i32);
        amount.append_value(cents / 100.0);
        tax.append_value((cents * 0.19).round() / 100.0);
        currency.append_value(rng.pick(&["EUR", "USD", "GBP", "JPY"]));
        status.append_value(rng.pick(&["created", "paid", "shipped", "delivered"]));
        country.append_value(rng.pick(&["DE", "FR", "US", "GB", "JP", "BR"]));
        email.append_value(format!("user{customer_id}@example.com"));
        if rng.next().is_multiple_of(4) {
            coupon.append_value(format!("SAVE{}", rng.next() % 50));
        } else {
            coupon.append_null();
        }
        records.push(RawRecord {
            topic: Arc::clone(&topic),
            partition: (i % 6) as i32,
            offset: 40_000 + i as i64,
            timestamp_ms: Some(1_714_566_600_000 + i as i64 * 1_537),
            key: Some(format!("customer-{customer_id}").into_bytes()),
            headers: vec![Header {
                key: "trace-id".to_owned(),
                value: Some(format!("{:016x}", rng.next()).into_bytes()),
            }],
            value: None,
        });
    }
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(customer.finish()),
        Arc::new(items.finish()),
        Arc::new(amount.finish()),
        Arc::new(tax.finish()),
        Arc::new(currency.finish()),
        Arc::new(status.finish()),
        Arc::new(country.finish()),
        Arc::new(email.finish()),
        Arc::new(coupon.finish()),
    ];
    columns.extend(metadata_columns(&records));
    RecordBatch::try_new(schema(), columns).unwrap_or_else(|e| panic!("bench batch: {e}"))
}

/// The built plugin `name` in `plugins/dist`, if it is there.
fn dist(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    path.is_file().then_some(path)
}

/// An engine whose compile cache is a fresh temporary folder, kept alive
/// by the returned guard.
fn engine_in_temp() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary cache folder: {e}"));
    let engine = Engine::with_cache_dir(Some(dir.path().join("components")))
        .unwrap_or_else(|e| panic!("engine: {e}"));
    (engine, dir)
}

/// Load `path` with `engine`, or stop the bench with the reason.
fn load(engine: &Engine, path: &Path) -> Plugin {
    Plugin::load(engine, path).unwrap_or_else(|e| panic!("load `{}`: {e}", path.display()))
}

/// A running transform of `plugin` with `config` under `limits`.
fn start(plugin: &Plugin, config: &serde_json::Value, limits: Limits) -> Transform {
    Transform::new(plugin, config, limits, "bench")
        .unwrap_or_else(|e| panic!("start `{}`: {e}", plugin.info().name))
}

/// A group with the settings every per-call group shares.
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.warm_up_time(WARM_UP);
    group.sample_size(20);
    group
}

/// One call of `transform` on each batch size under `limits`; checks first
/// that the plugin gives back every row.
fn per_call(
    c: &mut Criterion,
    name: &str,
    plugin: &Plugin,
    config: &serde_json::Value,
    limits: Limits,
) {
    let mut transform = start(plugin, config, limits);
    let mut group = group(c, name);
    for rows in SIZES {
        let batch = orders(rows);
        let output = transform
            .apply(&batch)
            .unwrap_or_else(|e| panic!("{name}/{rows}: {e}"));
        assert_eq!(output.batch.num_rows(), rows, "{name}/{rows}: rows kept");
        assert!(
            output.rejected.is_empty(),
            "{name}/{rows}: {:?}",
            output.rejected
        );
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(rows.to_string(), |b| {
            b.iter(|| match transform.apply(black_box(&batch)) {
                Ok(output) => black_box(output.batch.num_rows()),
                Err(error) => panic!("{name}/{rows}: {error}"),
            })
        });
    }
    group.finish();
}

/// `identity.wasm`, one call per batch.
fn identity(c: &mut Criterion) {
    let Some(path) = dist("identity") else {
        panic!("`plugins/dist/identity.wasm` is missing; build it with `plugins/build.sh`");
    };
    let (engine, _dir) = engine_in_temp();
    let plugin = load(&engine, &path);
    assert_eq!(plugin.world(), World::Batch);
    per_call(
        c,
        "identity",
        &plugin,
        &serde_json::Value::Null,
        Limits::default(),
    );
}

/// `identity.wasm` compiled with fuel metering, one call per batch, with a
/// budget of 2^40 units a call, far more than a 10,000-row batch spends.
fn identity_fuel(c: &mut Criterion) {
    let Some(path) = dist("identity") else {
        panic!("`plugins/dist/identity.wasm` is missing; build it with `plugins/build.sh`");
    };
    let (engine, _dir) = engine_in_temp();
    let plugin = Plugin::load_metered(&engine, &path)
        .unwrap_or_else(|e| panic!("load `{}` metered: {e}", path.display()));
    let limits = Limits {
        fuel: Some(1 << 40),
        ..Limits::default()
    };
    per_call(
        c,
        "identity_fuel",
        &plugin,
        &serde_json::Value::Null,
        limits,
    );
}

/// The CPU time this thread has run, from `/proc/thread-self/schedstat`
/// (its first field, in nanoseconds), if it can be read.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// `plugin` on `batch` under `limits`, one call per iteration, timed in the
/// thread's CPU time.
fn cpu_per_call(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    plugin: &Plugin,
    config: &serde_json::Value,
    limits: Limits,
    batch: &RecordBatch,
) {
    let rows = batch.num_rows();
    let mut transform = start(plugin, config, limits);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let began = thread_cpu().unwrap_or_default();
            for _ in 0..iters {
                match transform.apply(black_box(batch)) {
                    Ok(output) => assert_eq!(output.batch.num_rows(), rows),
                    Err(error) => panic!("fuel_cpu/{name}: {error}"),
                }
            }
            thread_cpu().unwrap_or_default().saturating_sub(began)
        })
    });
}

/// `identity.wasm` and `python-redact.wasm`, each unmetered and metered
/// (budget 2^40 a call), one call per batch, timed in the thread's CPU
/// time.
fn fuel_cpu(c: &mut Criterion) {
    if thread_cpu().is_none() {
        eprintln!("fuel_cpu: not measured, `/proc/thread-self/schedstat` cannot be read");
        return;
    }
    let Some(path) = dist("identity") else {
        panic!("`plugins/dist/identity.wasm` is missing; build it with `plugins/build.sh`");
    };
    let (engine, _dir) = engine_in_temp();
    let plain = load(&engine, &path);
    let metered = Plugin::load_metered(&engine, &path)
        .unwrap_or_else(|e| panic!("load `{}` metered: {e}", path.display()));
    let budget = Limits {
        fuel: Some(1 << 40),
        ..Limits::default()
    };
    let mut group = group(c, "fuel_cpu");
    let null = serde_json::Value::Null;
    for rows in [100, 1_000, 10_000] {
        let batch = orders(rows);
        let plain_name = format!("plain/{rows}");
        cpu_per_call(
            &mut group,
            &plain_name,
            &plain,
            &null,
            Limits::default(),
            &batch,
        );
        let metered_name = format!("metered/{rows}");
        cpu_per_call(&mut group, &metered_name, &metered, &null, budget, &batch);
    }
    if let Some(path) = dist("python-redact") {
        let plain = load(&engine, &path);
        let metered = Plugin::load_metered(&engine, &path)
            .unwrap_or_else(|e| panic!("load `{}` metered: {e}", path.display()));
        let config = serde_json::json!({"fields": []});
        let batch = orders(100);
        let limits = Limits::default();
        cpu_per_call(
            &mut group,
            "record_plain/100",
            &plain,
            &config,
            limits,
            &batch,
        );
        cpu_per_call(
            &mut group,
            "record_metered/100",
            &metered,
            &config,
            budget,
            &batch,
        );
    } else {
        eprintln!("fuel_cpu/record_…: not measured, `plugins/dist/python-redact.wasm` is missing");
    }
    group.finish();
}

/// `python-redact.wasm` redacting nothing, one call per batch.
fn record_world(c: &mut Criterion) {
    let Some(path) = dist("python-redact") else {
        eprintln!("record_world: not measured, `plugins/dist/python-redact.wasm` is missing");
        return;
    };
    let (engine, _dir) = engine_in_temp();
    let plugin = load(&engine, &path);
    assert_eq!(plugin.world(), World::Record);
    per_call(
        c,
        "record_world",
        &plugin,
        &serde_json::json!({"fields": []}),
        Limits::default(),
    );
}

/// The batch as one IPC stream, as the host hands it to a batch plugin.
fn ipc_encode(batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema())
        .unwrap_or_else(|e| panic!("ipc writer: {e}"));
    writer
        .write(batch)
        .unwrap_or_else(|e| panic!("ipc write: {e}"));
    writer
        .finish()
        .unwrap_or_else(|e| panic!("ipc finish: {e}"));
    drop(writer);
    out
}

/// The batch of one IPC stream, decoded as the host decodes a plugin's
/// answer.
fn ipc_decode(bytes: Vec<u8>) -> RecordBatch {
    let mut buffer = Buffer::from_vec(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batch = None;
    while !buffer.is_empty() {
        if let Some(decoded) = decoder
            .decode(&mut buffer)
            .unwrap_or_else(|e| panic!("ipc decode: {e}"))
        {
            batch = Some(decoded);
        }
    }
    decoder
        .finish()
        .unwrap_or_else(|e| panic!("ipc finish: {e}"));
    batch.unwrap_or_else(|| panic!("ipc stream without a batch"))
}

/// The host's side of a batch-world call without the guest: the input
/// encoded, and the same bytes decoded as if the plugin had returned them.
fn host_ipc(c: &mut Criterion) {
    let mut group = group(c, "host_ipc");
    for rows in SIZES {
        let batch = orders(rows);
        assert_eq!(ipc_decode(ipc_encode(&batch)), batch);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(rows.to_string(), |b| {
            b.iter(|| black_box(ipc_decode(ipc_encode(black_box(&batch)))).num_rows())
        });
    }
    group.finish();
}

/// The record world's host work without the guest: the value columns
/// written as JSON, one object per row, and those objects decoded with the
/// value schema. The metadata columns are copied, not measured here.
fn host_json(c: &mut Criterion) {
    let mut group = group(c, "host_json");
    let value_fields: Vec<Field> = schema()
        .fields()
        .iter()
        .filter(|f| !is_metadata(f.name()))
        .map(|f| f.as_ref().clone())
        .collect();
    let value_schema = Arc::new(Schema::new(value_fields));
    let mut decoder = JsonDecoder::new(value_schema, JsonOptions::default())
        .unwrap_or_else(|e| panic!("decoder: {e}"));
    let mut encoder = JsonEncoder::new();
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for rows in SIZES {
        let batch = orders(rows);
        let mut round_trip = || {
            out.clear();
            ends.clear();
            encoder
                .encode(&batch, &mut out, &mut ends)
                .unwrap_or_else(|e| panic!("encode: {e}"));
            let mut start = 0;
            let values: Vec<Option<&[u8]>> = ends
                .iter()
                .map(|&end| {
                    let value = &out[start..end];
                    start = end;
                    Some(value)
                })
                .collect();
            decoder.decode(&values)
        };
        let decoded = round_trip();
        assert_eq!(
            decoded.batch.num_rows(),
            rows,
            "host_json/{rows}: rows decoded"
        );
        assert!(
            decoded.errors.is_empty(),
            "host_json/{rows}: {:?}",
            decoded.errors
        );
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(rows.to_string(), |b| {
            b.iter(|| black_box(round_trip().batch.num_rows()))
        });
    }
    group.finish();
}

/// [`Transform::new`] of plugins already compiled.
fn instantiate(c: &mut Criterion) {
    let mut group = group(c, "instantiate");
    let plugins = [
        ("identity", serde_json::Value::Null),
        ("python-redact", serde_json::json!({"fields": []})),
    ];
    for (name, config) in plugins {
        let Some(path) = dist(name) else {
            eprintln!("instantiate/{name}: not measured, `plugins/dist/{name}.wasm` is missing");
            continue;
        };
        let (engine, _dir) = engine_in_temp();
        let plugin = load(&engine, &path);
        group.bench_function(name, |b| {
            b.iter(|| black_box(start(&plugin, &config, Limits::default())))
        });
    }
    group.finish();
}

/// [`Plugin::load`] with a cold and a warm compile cache.
fn load_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(WARM_UP);
    for name in ["identity", "python-redact"] {
        let Some(path) = dist(name) else {
            eprintln!("load/{name}: not measured, `plugins/dist/{name}.wasm` is missing");
            continue;
        };
        group.bench_function(format!("{name}/cold"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (engine, _dir) = engine_in_temp();
                    let began = Instant::now();
                    let plugin = load(&engine, &path);
                    total += began.elapsed();
                    assert!(
                        !plugin.from_cache(),
                        "load/{name}/cold: came from the cache"
                    );
                }
                total
            })
        });
        let (engine, _dir) = engine_in_temp();
        load(&engine, &path);
        group.bench_function(format!("{name}/warm"), |b| {
            b.iter(|| {
                let plugin = load(&engine, &path);
                assert!(plugin.from_cache(), "load/{name}/warm: was compiled");
                black_box(plugin)
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    identity,
    identity_fuel,
    fuel_cpu,
    record_world,
    host_ipc,
    host_json,
    instantiate,
    load_cache
);
criterion_main!(benches);
