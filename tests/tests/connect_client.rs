//! Real clients of Kafka Connect's REST API against `sabot serve`.
//!
//! - kafka-connect-py, the Python client (`tests/python/kafka_connect_client.py`
//!   drives it): a connector is created, moves records, is paused, resumed,
//!   restarted and deleted through the client's own calls, and every
//!   answer is checked here.
//! - Schemathesis reads `GET /openapi.json` and sends generated requests to
//!   every operation, valid and invalid: no answer may be a server error,
//!   every status must be one the document lists, and every body must match
//!   its schema, so each 4xx carries `{"error_code", "message"}`. It runs
//!   twice: with generated connector names (unknown connectors, mostly),
//!   then with every `{name}` set to one real connector, which it may
//!   pause, stop and restart but not delete. Each run is bounded by a fixed
//!   seed, five generated examples per operation and a time limit.
//!
//! Both need `tests/setup.sh` (the venv has the two packages) and the
//! suite's Kafka broker.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use sabot_tests::{SabotServe, TestRecord, kafka, python, repo_root, unique_name};
use serde_json::{Value, json};

/// How long one Python program may run.
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs `command` with its output captured, killing it after
/// [`PROGRAM_TIMEOUT`].
fn run_bounded(mut command: Command, what: &str) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {what}: {error}; run `tests/setup.sh`"));
    // Read both pipes on threads, so a full pipe never stalls the child.
    let mut stdout = child.stdout.take().expect("a piped stdout");
    let mut stderr = child.stderr.take().expect("a piped stderr");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let deadline = Instant::now() + PROGRAM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran for more than {PROGRAM_TIMEOUT:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// The id of the test broker's cluster, as Kafka reports it.
fn cluster_id() -> String {
    let client: BaseConsumer = kafka().client_config().create().expect("a client");
    client
        .client()
        .fetch_cluster_id(Duration::from_secs(10))
        .expect("the broker names its cluster")
}

#[test]
fn kafka_connect_py_drives_a_connector_through_its_life() {
    let broker = kafka();
    let topic = broker.new_topic("client", 1);
    let records: Vec<Value> = (0..3)
        .map(|i| json!({ "id": i, "item": format!("box-{i}") }))
        .collect();
    let produced: Vec<TestRecord> = records
        .iter()
        .map(|record| TestRecord::value(record.to_string()))
        .collect();
    broker.produce(&topic, &produced);
    let serve = SabotServe::start(&broker.bootstrap()).unwrap_or_else(|error| panic!("{error}"));
    let name = unique_name("client");
    let file = serve.dir().join("client.jsonl");

    let mut command = Command::new(python());
    command
        .arg(repo_root().join("tests/python/kafka_connect_client.py"))
        .arg(format!("http://127.0.0.1:{}", serve.port()))
        .args([&name, &topic])
        .arg(&file)
        .arg(records.len().to_string());
    let output = run_bounded(command, "tests/python/kafka_connect_client.py");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client script failed ({}):\n{stdout}\n{}\nthe server's log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        serve.log_tail(30)
    );
    let steps: BTreeMap<String, Value> = stdout
        .lines()
        .map(|line| {
            let step: Value = serde_json::from_str(line).expect("a JSON line");
            (
                step["step"].as_str().expect("a step").to_owned(),
                step["value"].clone(),
            )
        })
        .collect();
    let step = |key: &str| {
        steps
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("no step `{key}` in:\n{stdout}"))
    };
    let states = |status: &Value| {
        let tasks: Vec<Value> = status["tasks"]
            .as_array()
            .map(|tasks| tasks.iter().map(|t| t["state"].clone()).collect())
            .unwrap_or_default();
        (
            status["name"].clone(),
            status["connector"]["state"].clone(),
            tasks,
        )
    };
    let config = json!({
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "topics": topic,
        "file": file.display().to_string(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "name": name,
    });
    let info = json!({
        "name": name,
        "config": config,
        "tasks": [{ "connector": name, "task": 0 }],
        "type": "sink",
    });

    let cluster = step("cluster");
    assert_eq!(cluster["version"], json!(env!("CARGO_PKG_VERSION")));
    assert_eq!(cluster["kafka_cluster_id"], json!(cluster_id()));
    assert_eq!(step("create"), info);
    let running = (json!(name), json!("RUNNING"), vec![json!("RUNNING")]);
    assert_eq!(states(&step("running")), running);
    assert_eq!(step("running")["type"], json!("sink"));
    assert_eq!(step("records"), json!(records));
    assert_eq!(step("list"), json!([name]));
    assert_eq!(step("running_only"), json!([name]));
    assert_eq!(step("config"), config);

    let paused = (json!(name), json!("PAUSED"), vec![json!("PAUSED")]);
    assert_eq!(states(&step("paused")), paused);
    let paused_only = step("paused_only");
    assert_eq!(states(&paused_only[&name]["status"]), paused);
    assert_eq!(states(&step("resumed")), running);

    assert_eq!(step("restart"), Value::Null, "204 has no body");
    let restarting = step("restart_tasks");
    assert_eq!(restarting["name"], json!(name));
    assert_eq!(restarting["tasks"][0]["id"], json!(0));
    assert_eq!(states(&step("restarted")), running);
    assert_eq!(step("restart_task"), Value::Null);
    let task = step("task_status");
    assert_eq!(
        (task["id"].clone(), task["state"].clone()),
        (json!(0), json!("RUNNING"))
    );
    let mut task_config = config.clone();
    task_config["task.class"] = json!("sabot.FileSinkTask");
    assert_eq!(
        step("tasks"),
        json!([{ "id": { "connector": name, "task": 0 }, "config": task_config }])
    );
    assert_eq!(
        step("topics"),
        json!({ name.as_str(): { "topics": [topic] } })
    );
    assert_eq!(step("reset_topics"), Value::Null);
    assert_eq!(
        step("plugins"),
        json!([
            "kafka-sink",
            "file-sink",
            "stdout-sink",
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "datagen",
            "io.confluent.kafka.connect.datagen.DatagenConnector",
        ])
    );
    assert_eq!(
        step("validate"),
        json!({ "name": "FileStreamSinkConnector", "error_count": 0 })
    );
    assert_eq!(step("update"), info);

    assert_eq!(step("delete"), Value::Null);
    assert_eq!(step("after_delete"), json!([]));
    assert_eq!(
        step("missing"),
        json!({
            "status": 404,
            "body": { "error_code": 404, "message": format!("Connector {name} not found") },
        })
    );
}

/// Schemathesis' command line, `st`, next to the venv's Python.
fn schemathesis() -> std::path::PathBuf {
    let st = python().with_file_name("st");
    assert!(
        Path::new(&st).is_file(),
        "`{}` is missing; run `tests/setup.sh`",
        st.display()
    );
    st
}

/// Runs `st run` against the server at `base` with `extra` arguments,
/// from `work`, and returns what it printed; panics when it finds
/// anything.
fn run_schemathesis(base: &str, work: &Path, extra: &[&str]) -> String {
    let mut command = Command::new(schemathesis());
    command
        .current_dir(work)
        .args(extra.iter().take_while(|arg| **arg != "run"))
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--url", base])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "5", "--seed", "20240601"])
        // One worker: two threads of CPython 3.11 parsing source at once trip
        // its AST recursion counter ("AST constructor recursion depth
        // mismatch"), which fails the run for nothing the server did.
        .args(["--workers", "1", "--request-timeout", "20"])
        .args(["--generation-database", "none", "--no-color"])
        .args(extra.iter().skip_while(|arg| **arg != "run").skip(1));
    let output = run_bounded(command, "schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && !stdout.contains("FAILURES"),
        "schemathesis found problems ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// How many operations the document at `port` lists, the document itself
/// left out as Schemathesis leaves it out.
fn operations(port: u16) -> usize {
    let document = sabot_tests::http(port, "GET", "/openapi.json", None)
        .unwrap_or_else(|error| panic!("{error}"))
        .body;
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(path, _)| *path != "/openapi.json")
        .map(|(_, item)| {
            let methods = ["get", "put", "post", "patch", "delete"];
            methods.iter().filter(|m| item.get(**m).is_some()).count()
        })
        .sum()
}

#[test]
fn schemathesis_finds_no_server_error_and_no_error_without_a_message() {
    let broker = kafka();
    let topic = broker.new_topic("fuzzed", 1);
    broker.produce(&topic, &[TestRecord::value(r#"{"id":1}"#)]);
    let serve = SabotServe::start(&broker.bootstrap()).unwrap_or_else(|error| panic!("{error}"));
    let base = format!("http://127.0.0.1:{}", serve.port());
    let work = tempfile::tempdir().expect("a folder");

    // Generated names: mostly unknown connectors, and bodies of every kind.
    let stdout = run_schemathesis(&base, work.path(), &[]);
    let all = operations(serve.port());
    let tested = format!("{all} selected / {all} total");
    assert!(
        stdout.contains(&tested),
        "expected `{tested}` in:\n{stdout}"
    );

    // One real connector under every path, so that the answers of a
    // connector that exists are checked against their schemas too. It
    // is paused, resumed, stopped and restarted in any order, but not
    // deleted.
    let name = unique_name("fuzzed");
    let config = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": serve.dir().join("fuzzed.jsonl").display().to_string(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    let created = sabot_tests::http_json(
        serve.port(),
        "POST",
        "/connectors",
        Some(&json!({ "name": name, "config": config })),
    )
    .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(created.status, 201, "{}", created.text);
    let settings = work.path().join("schemathesis.toml");
    let toml = format!("[parameters]\n\"path.name\" = \"{name}\"\n\"path.task\" = \"0\"\n");
    std::fs::write(&settings, toml).expect("the settings are written");
    let settings = settings.display().to_string();
    let stdout = run_schemathesis(
        &base,
        work.path(),
        &[
            "--config-file",
            &settings,
            "run",
            "--exclude-operation-id",
            "deleteConnectorsName",
        ],
    );
    let tested = format!("{} selected / {all} total", all - 1);
    assert!(
        stdout.contains(&tested),
        "expected `{tested}` in:\n{stdout}"
    );
    let answer = sabot_tests::http(serve.port(), "GET", &format!("/connectors/{name}"), None)
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        answer.status, 200,
        "the connector is still there: {}",
        answer.text
    );
    drop(serve);
}
