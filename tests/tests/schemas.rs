//! Schema'd formats end to end, with clients nobody here wrote: Confluent's
//! Python serializers (confluent-kafka with fastavro, protobuf and
//! jsonschema) write Avro, Protobuf and JSON Schema values to the test
//! broker against the registry `sabot serve --registry-listen` runs; Sabot
//! pipelines decode them, and write Avro and Parquet that Confluent's
//! deserializers and pyarrow read back. Every comparison is of whole
//! records, every field and type included. The Avro columns Sabot decodes
//! are also read straight from their Arrow arrays and compared with what
//! the serializer was given, so a decoding mistake cannot hide behind an
//! encoding mistake that undoes it.

mod common;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sabot_tests::{Broker, kafka, python, repo_root, sabot_bin, unique_name};
use serde_json::Value;

/// `sabot serve` with only its registry in use, killed when dropped.
struct Registry {
    child: Child,
    url: String,
}

impl Registry {
    fn start() -> Registry {
        Registry::start_at(free_port(), None)
    }

    /// On `port`, keeping its schemas in `state` if given.
    fn start_at(port: u16, state: Option<&Path>) -> Registry {
        let mut command = Command::new(sabot_bin());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .args(["--registry-listen", &format!("127.0.0.1:{port}")]);
        if let Some(dir) = state {
            command.arg("--registry-state").arg(dir);
        }
        let child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sabot serve starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the registry did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Run tests/python/schema_interop.py; its standard output as JSON.
fn interop(args: &[&str]) -> Value {
    let mut child = Command::new(python())
        .arg(repo_root().join("tests/python/schema_interop.py"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut stdout).expect("stdout");
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_string(&mut stderr).expect("stderr");
    }
    let status = child.wait().expect("python exits");
    assert!(
        status.success(),
        "schema_interop.py {args:?} failed:\n{stderr}"
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn sabot_run(pipeline: &Path, env: &[(&str, String)]) -> Output {
    let mut command = Command::new(sabot_bin());
    command
        .args(["run", "--until-idle", "--progress", "0"])
        .arg(pipeline)
        .current_dir(repo_root())
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("sabot runs");
    assert!(
        out.status.success(),
        "sabot run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn pipeline(name: &str) -> PathBuf {
    repo_root().join("pipelines").join(name)
}

fn base_env(broker: &Broker, registry: &Registry) -> Vec<(&'static str, String)> {
    vec![
        ("KAFKA_BROKERS", broker.bootstrap()),
        ("SCHEMA_REGISTRY_URL", registry.url.clone()),
        (
            "KAFKA_SESSION_TIMEOUT_MS",
            broker.session_timeout_ms().to_string(),
        ),
    ]
}

/// A pipeline file reading `input` in `format` with `registry`'s schemas,
/// followed by `rest` (the sink and anything after it), in `dir`.
fn kafka_pipeline(
    dir: &Path,
    name: &str,
    registry: &Registry,
    input: &str,
    format: &str,
    rest: &str,
) -> PathBuf {
    let broker = kafka();
    let file = dir.join(format!("{name}.yaml"));
    let text = format!(
        "apiVersion: sabot/v1\nname: {name}\nschema_registry: {}\n\
         source:\n  kafka:\n    brokers: {}\n    topics: [{input}]\n    group: {}\n\
         \x20   properties: {{ session.timeout.ms: {} }}\n    format: {format}\n{rest}",
        registry.url,
        broker.bootstrap(),
        unique_name(name),
        broker.session_timeout_ms(),
    );
    std::fs::write(&file, text).expect("write");
    file
}

/// Where two lists of records first differ, for a readable failure.
fn first_difference(a: &Value, b: &Value) -> String {
    match (a.as_array(), b.as_array()) {
        (Some(x), Some(y)) => {
            if x.len() != y.len() {
                return format!("{} records became {}", x.len(), y.len());
            }
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return format!("record {i}:\n  sent {p}\n  got  {q}");
                }
            }
            "no difference".to_owned()
        }
        _ => format!("{a} vs {b}"),
    }
}

#[test]
fn avro_of_every_type_round_trips_through_a_pipeline_to_confluents_deserializer() {
    let broker = kafka();
    let registry = Registry::start();
    let input = broker.new_topic("avro-in", 1);
    let output = broker.new_topic("avro-out", 1);
    let count = "40";
    let sent = interop(&[
        "produce",
        "avro",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &input,
        "--count",
        count,
    ]);
    let dir = tempfile::tempdir().expect("a folder");
    let file = kafka_pipeline(
        dir.path(),
        "avro-copy",
        &registry,
        &input,
        "avro",
        &format!("sink:\n  kafka:\n    topic: {output}\n    format: avro\n"),
    );
    sabot_run(&file, &[]);
    let got = interop(&[
        "consume",
        "avro",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &output,
        "--count",
        count,
    ]);
    assert!(got == sent, "{}", first_difference(&sent, &got));
}

/// The Arrow type of every column decoded from the `avro` records of
/// tests/python/schema_interop.py, as Arrow displays it.
const AVRO_COLUMN_TYPES: [(&str, &str); 26] = [
    ("id", "Int64"),
    ("qty", "Int32"),
    ("price", "Float64"),
    ("ratio", "Float32"),
    ("paid", "Boolean"),
    ("note", "Utf8"),
    ("blob", "Binary"),
    ("code", "FixedSizeBinary(4)"),
    ("status", "Dictionary(Int32, Utf8)"),
    (
        "customer",
        r#"Struct("id": non-null Int64, "email": non-null Utf8)"#,
    ),
    ("tags", "List(non-null Utf8)"),
    (
        "attrs",
        r#"Map("entries": non-null Struct("key": non-null Utf8, "value": non-null Int64), unsorted)"#,
    ),
    (
        "choice",
        r#"Union(Dense, 0: ("null": Null), 1: ("long": non-null Int64), 2: ("string": non-null Utf8))"#,
    ),
    ("amount", "Decimal128(10, 2)"),
    ("big", "Decimal128(18, 4)"),
    ("uid", "Utf8"),
    ("day", "Date32"),
    ("t_ms", "Time32(ms)"),
    ("t_us", "Time64(µs)"),
    ("ts_ms", r#"Timestamp(ms, "UTC")"#),
    ("ts_us", r#"Timestamp(µs, "UTC")"#),
    ("lts_ms", "Timestamp(ms)"),
    ("lts_us", "Timestamp(µs)"),
    ("ts_ns", r#"Timestamp(ns, "UTC")"#),
    ("lts_ns", "Timestamp(ns)"),
    ("dur", "Interval(MonthDayNano)"),
];

#[test]
fn avro_of_every_type_decodes_to_the_values_confluents_serializer_was_given() {
    let broker = kafka();
    let registry = Registry::start();
    let topic = broker.new_topic("avro-decoded", 1);
    let count = 30;
    // What the serializer was given, in each column's unit.
    let sent = interop(&[
        "produce",
        "avro",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &topic,
        "--count",
        &count.to_string(),
        "--columns",
    ]);
    // The bytes as a Kafka source delivers them, decoded as a pipeline's
    // task does. The file and Parquet sinks hold no unions or durations,
    // so the decoded columns are read here rather than from a sink.
    let raw: Vec<sabot::record::RawRecord> = broker
        .consume_all(&topic, count, Duration::from_secs(30))
        .into_iter()
        .map(|r| sabot::record::RawRecord {
            topic: topic.as_str().into(),
            partition: r.partition,
            offset: r.offset,
            timestamp_ms: r.timestamp,
            key: r.key,
            value: r.value,
            headers: Vec::new(),
        })
        .collect();
    assert_eq!(raw.len(), count);
    let mut decoder = sabot::runtime::decode::Decoder::new(&sabot::plan::DecoderPlan::Registered {
        kind: sabot::config::RegisteredKind::Avro,
        registry: sabot::config::RegistryConfig {
            url: registry.url.clone(),
            basic_auth: None,
            bearer_token: None,
            ca_file: None,
        },
        reader_schema: None,
    })
    .expect("a decoder");
    assert_eq!(decoder.run_end(&raw, 0), raw.len(), "one writer's schema");
    let (batch, bad) = decoder.decode(&raw).expect("decodes");
    assert_eq!(bad, Vec::new());

    let schema = batch.schema();
    let types: Vec<(String, String)> = schema
        .fields()
        .iter()
        .filter(|f| !f.name().starts_with("__"))
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect();
    let expected: Vec<(String, String)> = AVRO_COLUMN_TYPES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    assert_eq!(types, expected);

    // Every value, read from the Arrow arrays' buffers. The arrays are
    // copied here, where their type need not be named.
    let mut datas: Vec<_> = batch.columns().iter().map(|c| c.to_data()).collect();
    let mut arrays = Vec::new();
    while arrays.len() < datas.len() {
        let data = datas[arrays.len()].clone();
        let mut children = Vec::new();
        for child in data.child_data() {
            children.push(datas.len());
            datas.push(child.clone());
        }
        arrays.push(ArrowArray {
            data_type: data.data_type().to_string(),
            offset: data.offset(),
            nulls: (0..data.len()).map(|r| data.is_null(r)).collect(),
            buffers: data
                .buffers()
                .iter()
                .map(|b| b.as_slice().to_vec())
                .collect(),
            children,
        });
    }
    let columns = ArrowColumns { arrays };
    let mut got = Vec::new();
    for row in 0..batch.num_rows() {
        let mut record = serde_json::Map::new();
        for (index, field) in schema.fields().iter().enumerate() {
            if !field.name().starts_with("__") {
                record.insert(field.name().clone(), columns.value(index, row));
            }
        }
        assert_eq!(
            columns.value(schema.index_of("__offset").expect("offsets"), row),
            Value::from(row),
            "the rows keep the records' order"
        );
        got.push(Value::Object(record));
    }
    let got = Value::Array(got);
    assert!(got == sent, "{}", first_difference(&sent, &got));
}

/// The arrays of a decoded batch, copied out of Arrow's memory layout into
/// types this suite can name: it does not depend on Arrow itself, so it
/// reads the arrays through the methods of the batch Sabot hands back.
struct ArrowColumns {
    /// Every array, the batch's columns first, then their children.
    arrays: Vec<ArrowArray>,
}

/// One array.
struct ArrowArray {
    /// Its type, as Arrow displays it, e.g. `Timestamp(ms, "UTC")`.
    data_type: String,
    /// Where its values start in its buffers.
    offset: usize,
    /// Whether each value is null.
    nulls: Vec<bool>,
    /// Its buffers' bytes.
    buffers: Vec<Vec<u8>>,
    /// The indexes of its children in [`ArrowColumns::arrays`].
    children: Vec<usize>,
}

impl ArrowColumns {
    /// Row `row` of array `array` as JSON, in the form
    /// `schema_interop.py produce --columns` prints: integers of a
    /// timestamp's, date's or time's own unit, decimals as exact text,
    /// bytes as hex, a dictionary's value, an interval as [months, days,
    /// nanoseconds], a union's value as `{"branch": value}` (null for the
    /// `null` branch).
    fn value(&self, array: usize, row: usize) -> Value {
        let a = &self.arrays[array];
        let ty = a.data_type.as_str();
        if ty == "Null" || a.nulls[row] {
            return Value::Null;
        }
        let at = a.offset + row;
        let child = |k: usize| a.children[k];
        match ty {
            "Boolean" => Value::from(a.buffers[0][at / 8] & (1 << (at % 8)) != 0),
            "Int32" | "Date32" => Value::from(a.i32(0, at)),
            "Float32" => Value::from(f64::from(f32::from_le_bytes(a.word(0, at)))),
            "Float64" => Value::from(f64::from_le_bytes(a.word(0, at))),
            "Utf8" => Value::from(String::from_utf8(a.var_bytes(at)).expect("UTF-8")),
            "Binary" => Value::from(hex(&a.var_bytes(at))),
            "Interval(MonthDayNano)" => {
                let value: [u8; 16] = a.word(0, at);
                let [months, days] = [0, 4].map(|i| {
                    i64::from(i32::from_le_bytes(
                        value[i..i + 4].try_into().expect("4 bytes"),
                    ))
                });
                let nanos = i64::from_le_bytes(value[8..].try_into().expect("8 bytes"));
                Value::from(vec![months, days, nanos])
            }
            _ if ty == "Int64" || ty.starts_with("Time64(") || ty.starts_with("Timestamp(") => {
                Value::from(i64::from_le_bytes(a.word(0, at)))
            }
            _ if ty.starts_with("Time32(") => Value::from(a.i32(0, at)),
            _ if ty.starts_with("FixedSizeBinary(") => {
                let size: usize = type_arguments(ty)[0].parse().expect("a size");
                Value::from(hex(a.slice(0, at * size, size)))
            }
            _ if ty.starts_with("Decimal128(") => {
                let scale: u32 = type_arguments(ty)[1].parse().expect("a scale");
                decimal_text(i128::from_le_bytes(a.word(0, at)), scale)
            }
            _ if ty.starts_with("Dictionary(Int32,") => self.value(child(0), a.i32(0, at) as usize),
            _ if ty.starts_with("Struct(") => {
                let names = quoted_names(ty, 1);
                let fields = names
                    .into_iter()
                    .enumerate()
                    .map(|(k, name)| (name, self.value(child(k), row)));
                Value::Object(fields.collect())
            }
            _ if ty.starts_with("List(") => {
                let (start, end) = (a.i32(0, at) as usize, a.i32(0, at + 1) as usize);
                Value::from(
                    (start..end)
                        .map(|i| self.value(child(0), i))
                        .collect::<Vec<_>>(),
                )
            }
            _ if ty.starts_with("Map(") => {
                let (start, end) = (a.i32(0, at) as usize, a.i32(0, at + 1) as usize);
                let entries = &self.arrays[child(0)];
                let map = (start..end).map(|i| {
                    let key = self.value(entries.children[0], i);
                    let key = key.as_str().expect("a text key").to_owned();
                    (key, self.value(entries.children[1], i))
                });
                Value::Object(map.collect())
            }
            _ if ty.starts_with("Union(Dense,") => {
                // Sabot's type ids are the branches' indexes.
                let branch = a.buffers[0][at] as usize;
                let name = &quoted_names(ty, 2)[branch];
                if name == "null" {
                    return Value::Null;
                }
                let value = self.value(child(branch), a.i32(1, at) as usize);
                serde_json::json!({ name: value })
            }
            other => panic!("no reader here for Arrow type `{other}`"),
        }
    }
}

impl ArrowArray {
    /// `len` bytes of buffer `buffer` from byte `start`.
    fn slice(&self, buffer: usize, start: usize, len: usize) -> &[u8] {
        &self.buffers[buffer][start..start + len]
    }

    /// Value `index` of buffer `buffer`, whose values are `N` bytes wide.
    fn word<const N: usize>(&self, buffer: usize, index: usize) -> [u8; N] {
        self.slice(buffer, index * N, N)
            .try_into()
            .expect("N bytes")
    }

    /// Value `index` of buffer `buffer`, read as an `i32`.
    fn i32(&self, buffer: usize, index: usize) -> i32 {
        i32::from_le_bytes(self.word(buffer, index))
    }

    /// Value `index` of a variable-width array (offsets, then data).
    fn var_bytes(&self, index: usize) -> Vec<u8> {
        let (start, end) = (self.i32(0, index) as usize, self.i32(0, index + 1) as usize);
        self.slice(1, start, end - start).to_vec()
    }
}

/// Lowercase hex, as Python's `bytes.hex`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An unscaled decimal as exact text with `scale` decimals, as Python's
/// `format(decimal, "f")`.
fn decimal_text(unscaled: i128, scale: u32) -> Value {
    let scale = scale as usize;
    let digits = format!("{:0>width$}", unscaled.unsigned_abs(), width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    Value::from(if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

/// The arguments of a displayed type, e.g. `["10", "2"]` of
/// `Decimal128(10, 2)`.
fn type_arguments(ty: &str) -> Vec<&str> {
    let inner = &ty[ty.find('(').expect("arguments") + 1..ty.len() - 1];
    inner.split(", ").collect()
}

/// The names (`"name": TYPE`) at parenthesis depth `depth` of a displayed
/// type: a struct's fields at depth 1, a union's branches at depth 2.
fn quoted_names(ty: &str, depth: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut level = 0;
    let mut rest = ty;
    while let Some(c) = rest.chars().next() {
        match c {
            '(' => level += 1,
            ')' => level -= 1,
            '"' => {
                let end = rest[1..].find('"').expect("a closing quote") + 1;
                if level == depth && rest[end + 1..].starts_with(':') {
                    names.push(rest[1..end].to_owned());
                }
                rest = &rest[end + 1..];
                continue;
            }
            _ => {}
        }
        rest = &rest[c.len_utf8()..];
    }
    names
}

#[test]
fn the_avro_to_parquet_pipeline_writes_every_order_into_finished_files() {
    let broker = kafka();
    let registry = Registry::start();
    let topic = broker.new_topic("avro-parquet", 2);
    let sent = interop(&[
        "produce",
        "avro-simple",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &topic,
        "--count",
        "250",
    ]);
    let dir = tempfile::tempdir().expect("a folder");
    let parquet = dir.path().join("parquet");
    let group = unique_name("avro-parquet");
    let mut env = base_env(broker, &registry);
    env.extend([
        ("AVRO_ORDERS_TOPIC", topic.clone()),
        ("AVRO_PARQUET_GROUP", group.clone()),
        ("PARQUET_DIR", parquet.display().to_string()),
        ("PARQUET_ROLL_RECORDS", "100".to_owned()),
        ("AVRO_DLQ_TOPIC", unique_name("avro-parquet-dlq")),
    ]);
    sabot_run(&pipeline("avro-orders-to-parquet.yaml"), &env);

    let files: Vec<String> = std::fs::read_dir(&parquet)
        .expect("the folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .all(|f| f.ends_with(".parquet") && !f.starts_with('.')),
        "{files:?}"
    );
    assert!(
        files.len() >= 3,
        "250 rows in files of at most 100: {files:?}"
    );
    let mut rows: Vec<Value> = interop(&["parquet", &parquet.display().to_string()])
        .as_array()
        .cloned()
        .unwrap_or_default();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert!(
        Value::Array(rows.clone()) == sent,
        "{}",
        first_difference(&sent, &Value::Array(rows))
    );
    assert_eq!(broker.committed(&group, &topic), broker.end_offsets(&topic));
}

#[test]
fn the_avro_pipeline_masks_emails_and_keeps_every_other_value() {
    let broker = kafka();
    let registry = Registry::start();
    let input = broker.new_topic("avro-mask-in", 1);
    let output = broker.new_topic("avro-mask-out", 1);
    let count = "30";
    let mut sent = interop(&[
        "produce",
        "avro",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &input,
        "--count",
        count,
    ]);
    for record in sent.as_array_mut().expect("a list") {
        record["customer"]["email"] = Value::String("***".to_owned());
    }
    let group = unique_name("avro-orders");
    let mut env = base_env(broker, &registry);
    env.extend([
        ("AVRO_IN_TOPIC", input.clone()),
        ("AVRO_OUT_TOPIC", output.clone()),
        ("AVRO_GROUP", group.clone()),
        ("AVRO_DLQ_TOPIC", unique_name("avro-orders-dlq")),
    ]);
    sabot_run(&pipeline("avro-orders.yaml"), &env);
    let got = interop(&[
        "consume",
        "avro",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &output,
        "--count",
        count,
    ]);
    assert!(got == sent, "{}", first_difference(&sent, &got));
    assert_eq!(broker.committed(&group, &input), broker.end_offsets(&input));
}

#[test]
fn protobuf_from_confluents_python_serializer_lands_in_parquet_with_every_type() {
    let broker = kafka();
    let registry = Registry::start();
    let topic = broker.new_topic("proto-in", 1);
    let sent = interop(&[
        "produce",
        "protobuf",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &topic,
        "--count",
        "24",
    ]);
    let dir = tempfile::tempdir().expect("a folder");
    let parquet = dir.path().join("parquet");
    let group = unique_name("protobuf-orders");
    let mut env = base_env(broker, &registry);
    env.extend([
        ("PROTO_ORDERS_TOPIC", topic.clone()),
        ("PROTO_ORDERS_GROUP", group.clone()),
        ("PROTO_PARQUET_DIR", parquet.display().to_string()),
        ("PROTO_DLQ_TOPIC", unique_name("protobuf-orders-dlq")),
    ]);
    sabot_run(&pipeline("protobuf-orders.yaml"), &env);
    let mut rows: Vec<Value> = interop(&["parquet", &parquet.display().to_string()])
        .as_array()
        .cloned()
        .unwrap_or_default();
    rows.sort_by_key(|r| r["id"].as_i64());
    let rows = Value::Array(rows);
    assert!(rows == sent, "{}", first_difference(&sent, &rows));
    assert_eq!(broker.committed(&group, &topic), broker.end_offsets(&topic));
}

#[test]
fn json_schema_values_round_trip_through_a_pipeline_to_confluents_deserializer() {
    let broker = kafka();
    let registry = Registry::start();
    let input = broker.new_topic("json-in", 1);
    let output = broker.new_topic("json-out", 1);
    let count = "20";
    let sent = interop(&[
        "produce",
        "json",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &input,
        "--count",
        count,
    ]);
    let dir = tempfile::tempdir().expect("a folder");
    let file = kafka_pipeline(
        dir.path(),
        "json-copy",
        &registry,
        &input,
        "json_schema",
        &format!("sink:\n  kafka:\n    topic: {output}\n    format: json_schema\n"),
    );
    sabot_run(&file, &[]);
    let got = interop(&[
        "consume",
        "json",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &output,
        "--count",
        count,
    ]);
    assert!(got == sent, "{}", first_difference(&sent, &got));
}

#[test]
fn values_that_are_not_framed_or_name_unknown_schemas_are_dead_lettered_with_their_bytes() {
    let broker = kafka();
    let registry = Registry::start();
    let input = broker.new_topic("avro-bad", 1);
    let output = broker.new_topic("avro-bad-out", 1);
    let dlq = broker.new_topic("avro-bad-dlq", 1);
    interop(&[
        "produce",
        "avro-simple",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &input,
        "--count",
        "3",
    ]);
    let bad: Vec<sabot_tests::TestRecord> = vec![
        sabot_tests::TestRecord::value(&b"{\"id\": 1}"[..]),
        sabot_tests::TestRecord::value(&[0u8, 0, 0][..]),
        sabot_tests::TestRecord::value(&[0u8, 0, 0, 0x30, 0x39, 2][..]),
    ];
    broker.produce(&input, &bad);
    let dir = tempfile::tempdir().expect("a folder");
    let file = kafka_pipeline(
        dir.path(),
        "avro-bad",
        &registry,
        &input,
        "avro",
        &format!(
            "sink:\n  kafka:\n    topic: {output}\n    format: avro\nerrors:\n  on_bad_record: dead-letter\n  dead_letter_topic: {dlq}\n"
        ),
    );
    sabot_run(&file, &[]);
    let dead = broker.consume_all(&dlq, 3, Duration::from_secs(30));
    let values: Vec<Vec<u8>> = dead
        .iter()
        .map(|r| r.value.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        values,
        [
            b"{\"id\": 1}".to_vec(),
            vec![0, 0, 0],
            vec![0, 0, 0, 0x30, 0x39, 2]
        ]
    );
    let reasons: Vec<String> = dead
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k == "sabot.error.message")
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert!(reasons[0].contains("not the magic byte 0"), "{reasons:?}");
    assert!(
        reasons[1].contains("shorter than the 5-byte header"),
        "{reasons:?}"
    );
    assert_eq!(
        reasons[2],
        format!("schema id 12345 not found at {}", registry.url),
        "{reasons:?}"
    );
}

#[test]
fn an_unreachable_registry_holds_the_pipeline_until_it_is_back_and_loses_nothing() {
    let broker = kafka();
    let state = tempfile::tempdir().expect("a folder");
    let port = free_port();
    let topic = broker.new_topic("avro-outage", 1);
    let sent = {
        let registry = Registry::start_at(port, Some(state.path()));
        interop(&[
            "produce",
            "avro-simple",
            "--brokers",
            &broker.bootstrap(),
            "--registry",
            &registry.url,
            "--topic",
            &topic,
            "--count",
            "50",
        ])
        // The registry stops here.
    };
    let dir = tempfile::tempdir().expect("a folder");
    let parquet = dir.path().join("parquet");
    let group = unique_name("avro-outage");
    let mut env = vec![
        ("KAFKA_BROKERS", broker.bootstrap()),
        ("SCHEMA_REGISTRY_URL", format!("http://127.0.0.1:{port}")),
        (
            "KAFKA_SESSION_TIMEOUT_MS",
            broker.session_timeout_ms().to_string(),
        ),
    ];
    env.extend([
        ("AVRO_ORDERS_TOPIC", topic.clone()),
        ("AVRO_PARQUET_GROUP", group.clone()),
        ("PARQUET_DIR", parquet.display().to_string()),
        ("AVRO_DLQ_TOPIC", unique_name("avro-outage-dlq")),
    ]);
    let mut command = Command::new(sabot_bin());
    command
        .args(["run", "--until-idle", "--progress", "0"])
        .arg(pipeline("avro-orders-to-parquet.yaml"))
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in &env {
        command.env(k, v);
    }
    let mut run = command.spawn().expect("sabot runs");
    let stderr = run.stderr.take().expect("stderr");
    let (lines, seen) = std::sync::mpsc::channel::<String>();
    let log = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut text = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line.clone());
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    // No registry: the task says it waits, and nothing is decoded,
    // committed or lost.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match seen.recv_timeout(left) {
            Ok(line) if line.contains("waiting for the schema registry") => break,
            Ok(_) => {}
            Err(e) => panic!("sabot never said it waits for the registry: {e}"),
        }
    }
    assert!(
        run.try_wait().expect("status").is_none(),
        "sabot gave up while the registry was down"
    );
    assert!(sabot_tests_parquet_files(&parquet).is_empty());
    assert_eq!(broker.committed(&group, &topic).values().sum::<i64>(), 0);

    // The registry is back, with the schemas it kept: every record arrives.
    let registry = Registry::start_at(port, Some(state.path()));
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = run.try_wait().expect("status") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "sabot did not finish after the registry came back"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = log.join().expect("the log");
    assert!(status.success(), "{log}");
    let mut rows: Vec<Value> = interop(&["parquet", &parquet.display().to_string()])
        .as_array()
        .cloned()
        .unwrap_or_default();
    rows.sort_by_key(|r| r["id"].as_i64());
    let rows = Value::Array(rows);
    assert!(rows == sent, "{}", first_difference(&sent, &rows));
    assert_eq!(broker.committed(&group, &topic), broker.end_offsets(&topic));
    drop(registry);
}

fn sabot_tests_parquet_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn protobuf_written_with_the_subjects_latest_schema_reads_back_in_confluents_deserializer() {
    let broker = kafka();
    let registry = Registry::start();
    let input = broker.new_topic("proto-copy-in", 1);
    let output = broker.new_topic("proto-copy-out", 1);
    let count = "24";
    let sent = interop(&[
        "produce",
        "protobuf",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &input,
        "--count",
        count,
    ]);
    // The message the consumers expect, under the name the sink looks up.
    interop(&[
        "register",
        "--registry",
        &registry.url,
        "--subject",
        "shop.Order",
    ]);
    let dir = tempfile::tempdir().expect("a folder");
    let file = kafka_pipeline(
        dir.path(),
        "proto-copy",
        &registry,
        &input,
        "protobuf",
        &format!(
            "sink:\n  kafka:\n    topic: {output}\n    format:\n      protobuf:\n\x20       use_latest: true\n        subject_strategy: record\n        record_name: shop.Order\n"
        ),
    );
    sabot_run(&file, &[]);
    let got = interop(&[
        "consume",
        "protobuf",
        "--brokers",
        &broker.bootstrap(),
        "--registry",
        &registry.url,
        "--topic",
        &output,
        "--count",
        count,
    ]);
    assert!(got == sent, "{}", first_difference(&sent, &got));
}

#[test]
fn the_embedded_registry_carries_avro_between_two_pipelines_of_one_run() {
    let broker = kafka();
    let topic = broker.new_topic("embedded-avro", 1);
    let dir = tempfile::tempdir().expect("a folder");
    let out = dir.path().join("orders.jsonl");
    const N: u64 = 500;
    // Generated orders written as Avro, their schema registered in the
    // embedded registry; read back from the topic with it into a file.
    let writer = dir.path().join("writer.yaml");
    std::fs::write(
        &writer,
        format!(
            "apiVersion: sabot/v1\nname: writer\nschema_registry: embedded\n\
             source:\n  datagen: {{ records: {N}, seed: 5 }}\n\
             sink:\n  kafka: {{ brokers: {}, topic: {topic}, format: avro }}\n",
            broker.bootstrap()
        ),
    )
    .expect("write");
    let reader = dir.path().join("reader.yaml");
    std::fs::write(
        &reader,
        format!(
            "apiVersion: sabot/v1\nname: reader\nschema_registry: embedded\n\
             source:\n  kafka:\n    brokers: {}\n    topics: [{topic}]\n    group: {}\n\
             \x20   properties: {{ session.timeout.ms: {} }}\n    format: avro\n\
             sink:\n  file: {{ path: {} }}\n",
            broker.bootstrap(),
            unique_name("embedded-avro"),
            broker.session_timeout_ms(),
            out.display()
        ),
    )
    .expect("write");
    let log = dir.path().join("run.log");
    let mut child = Command::new(sabot_bin())
        .args(["run", "--progress", "0"])
        .arg(&writer)
        .arg(&reader)
        .current_dir(repo_root())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("sabot runs");
    let lines = || common::complete_lines(&out);
    let deadline = Instant::now() + Duration::from_secs(90);
    while (lines().len() as u64) < N && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: the pid is of the child this test started and still owns.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("sabot exits");
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{said}");
    assert!(
        said.contains("note: using the embedded schema registry at http://127.0.0.1:"),
        "{said}"
    );

    // The same orders as the generator makes, value for value.
    let generated = Command::new(sabot_bin())
        .args(["run", "--until-idle", "--progress", "0"])
        .arg({
            let file = dir.path().join("generated.yaml");
            std::fs::write(
                &file,
                format!(
                    "apiVersion: sabot/v1\nname: generated\n\
                     source:\n  datagen: {{ records: {N}, seed: 5 }}\nsink:\n  stdout: {{}}\n"
                ),
            )
            .expect("write");
            file
        })
        .output()
        .expect("sabot runs");
    assert!(generated.status.success());
    let expected: Vec<Value> = String::from_utf8_lossy(&generated.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(expected.len() as u64, N);
    assert_eq!(
        lines(),
        expected,
        "{}",
        first_difference(&Value::from(expected.clone()), &Value::from(lines()))
    );
}
