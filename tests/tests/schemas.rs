//! Schema'd formats end to end, with clients nobody here wrote: Confluent's
//! Python serializers (confluent-kafka with fastavro, protobuf and
//! jsonschema) write Avro, Protobuf and JSON Schema values to the test
//! broker against the registry `sabot serve --registry-listen` runs; Sabot
//! pipelines decode them, and write Avro and Parquet that Confluent's
//! deserializers and pyarrow read back. Every comparison is of whole
//! records, every field and type included.

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
    let lines = || -> Vec<Value> {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        let whole = text.rfind('\n').map_or("", |end| &text[..=end]);
        whole
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    };
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
