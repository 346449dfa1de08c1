//! `sabot serve` over a real socket against the test Kafka: a connector
//! created with a Kafka Connect-style config moves records into a file,
//! pauses and resumes, survives a restart of the server in its state, and
//! is deleted. The HTTP client is a few lines over `TcpStream`, so the
//! requests are exactly what is written here.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sabot_tests::{TestRecord, kafka, sabot_bin, unique_name};
use serde_json::{Value, json};

/// A running `sabot serve`, killed when dropped.
struct Serve {
    child: Option<Child>,
    port: u16,
}

impl Serve {
    /// Start it on `port` with `state` as its state folder and wait until it
    /// answers.
    fn start(port: u16, state: &Path, brokers: &str) -> Serve {
        let child = Command::new(sabot_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--state"])
            .arg(state)
            .args(["--brokers", brokers, "--connect-timeout", "5"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("sabot serve starts");
        let serve = Serve {
            child: Some(child),
            port,
        };
        let up = wait_until(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "sabot serve did not listen on port {port}");
        serve
    }

    /// One request; the status and the body as JSON (`null` when empty).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("a read timeout");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let text = String::from_utf8_lossy(&response).into_owned();
        let (head, rest) = text.split_once("\r\n\r\n").expect("a full response");
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let chunked = head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        (status, value)
    }

    /// Stop it with SIGTERM and wait for it to exit 0.
    fn stop(mut self) {
        let mut child = self.child.take().expect("running");
        let pid = i32::try_from(child.id()).expect("a pid");
        // SAFETY: `kill` takes plain integers; the pid is our own child's,
        // not yet reaped, so it names no other process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let status = child.wait().expect("it exits");
        assert!(status.success(), "sabot serve exited with {status}");
    }

    fn state_of(&self, name: &str) -> (String, Vec<String>) {
        let (_, st) = self.call("GET", &format!("/connectors/{name}/status"), None);
        let tasks = st["tasks"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|t| t["state"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        (
            st["connector"]["state"].as_str().unwrap_or("").to_owned(),
            tasks,
        )
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Decode a chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("an address").port()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// The whole JSON lines of `file`; a last line still being written (no
/// newline yet) is left for the next look.
fn lines(file: &Path) -> Vec<Value> {
    common::complete_lines(file)
}

fn produce(topic: &str, ids: std::ops::Range<u64>) {
    let records: Vec<TestRecord> = ids
        .map(|i| TestRecord::value(format!("{{\"id\":{i},\"item\":\"box-{i}\"}}")))
        .collect();
    kafka().produce(topic, &records);
}

/// Connector `name`'s consumer lag in partition 0 of `topic`, as
/// `GET /metrics` shows it, if it shows it.
fn lag_of(serve: &Serve, name: &str, topic: &str) -> Option<u64> {
    let (status, body) = serve.call("GET", "/metrics", None);
    assert_eq!(status, 200, "{body}");
    let series = format!(
        "sabot_consumer_lag_records{{connector=\"{name}\",task=\"0\",topic=\"{topic}\",partition=\"0\"}} "
    );
    body.as_str()?
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.parse().ok())
}

/// Wait (a bounded while: the source works its lag out about once a
/// second) until `lag_of` is `want`; the last value seen otherwise.
fn wait_for_lag(serve: &Serve, name: &str, topic: &str, want: u64) -> Option<u64> {
    let mut seen = None;
    wait_until(Duration::from_secs(20), || {
        seen = lag_of(serve, name, topic);
        seen == Some(want)
    });
    seen
}

fn expected(ids: std::ops::Range<u64>) -> Vec<Value> {
    ids.map(|i| json!({ "id": i, "item": format!("box-{i}") }))
        .collect()
}

#[test]
fn a_connector_over_rest_pauses_resumes_and_survives_a_restart() {
    let broker = kafka();
    let topic = broker.new_topic("serve", 1);
    let dir = tempfile::tempdir().expect("a folder");
    let state = dir.path().join("state");
    let out: PathBuf = dir.path().join("out.jsonl");
    let name = unique_name("rest");
    produce(&topic, 0..5);

    let port = free_port();
    let serve = Serve::start(port, &state, &broker.bootstrap());
    let config = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "file": out.display().to_string(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "consumer.override.session.timeout.ms": broker.session_timeout_ms().to_string(),
        "sabot.batch.max.wait": "20ms",
        "sabot.file.sync": "false",
    });
    let (status, body) = serve.call(
        "POST",
        "/connectors",
        Some(&json!({ "name": name, "config": config })),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["type"], json!("sink"));
    assert!(
        wait_until(Duration::from_secs(30), || lines(&out).len() >= 5),
        "records reach the file"
    );
    assert_eq!(lines(&out), expected(0..5));
    assert_eq!(wait_for_lag(&serve, &name, &topic, 0), Some(0), "caught up");

    // Paused: nothing more is consumed.
    assert_eq!(
        serve.call("PUT", &format!("/connectors/{name}/pause"), None),
        (202, Value::Null)
    );
    assert_eq!(
        serve.state_of(&name),
        ("PAUSED".to_owned(), vec!["PAUSED".to_owned()])
    );
    // The lag grows by exactly the records produced meanwhile: those
    // produced right after the pause, and those produced long after it,
    // when no fetch in flight can bring their partition's end.
    produce(&topic, 5..7);
    assert_eq!(
        wait_for_lag(&serve, &name, &topic, 2),
        Some(2),
        "lag while paused"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(lines(&out).len(), 5, "a paused connector wrote records");
    produce(&topic, 7..10);
    assert_eq!(
        wait_for_lag(&serve, &name, &topic, 5),
        Some(5),
        "lag while paused"
    );
    assert_eq!(
        serve.state_of(&name),
        ("PAUSED".to_owned(), vec!["PAUSED".to_owned()])
    );

    // Resumed: every record arrives.
    assert_eq!(
        serve.call("PUT", &format!("/connectors/{name}/resume"), None),
        (202, Value::Null)
    );
    assert!(
        wait_until(Duration::from_secs(30), || lines(&out).len() >= 10),
        "records after resume"
    );
    assert_eq!(lines(&out), expected(0..10));
    assert_eq!(
        serve.state_of(&name),
        ("RUNNING".to_owned(), vec!["RUNNING".to_owned()])
    );
    assert_eq!(
        wait_for_lag(&serve, &name, &topic, 0),
        Some(0),
        "caught up again"
    );

    // Paused again, the server restarts: the connector comes back paused,
    // with the config it was given.
    serve.call("PUT", &format!("/connectors/{name}/pause"), None);
    let (_, shown) = serve.call("GET", &format!("/connectors/{name}/config"), None);
    serve.stop();
    let serve = Serve::start(port, &state, &broker.bootstrap());
    assert_eq!(serve.call("GET", "/connectors", None), (200, json!([name])));
    assert_eq!(
        serve.call("GET", &format!("/connectors/{name}/config"), None),
        (200, shown)
    );
    assert_eq!(
        serve.state_of(&name),
        ("PAUSED".to_owned(), vec!["PAUSED".to_owned()])
    );

    // Resumed after the restart: it goes on from its committed offsets.
    // Before, having read nothing yet, its lag counts from them.
    produce(&topic, 10..12);
    assert_eq!(
        wait_for_lag(&serve, &name, &topic, 2),
        Some(2),
        "lag after a restart, paused"
    );
    assert_eq!(
        serve.call("PUT", &format!("/connectors/{name}/resume"), None),
        (202, Value::Null)
    );
    assert!(
        wait_until(Duration::from_secs(30), || lines(&out).len() >= 12),
        "records after the restart"
    );
    assert_eq!(lines(&out), expected(0..12));
    assert_eq!(
        wait_for_lag(&serve, &name, &topic, 0),
        Some(0),
        "caught up after the restart"
    );

    // Deleted: gone from the API and from the state folder.
    assert_eq!(
        serve.call("DELETE", &format!("/connectors/{name}"), None),
        (204, Value::Null)
    );
    assert_eq!(
        serve.call("GET", &format!("/connectors/{name}"), None),
        (
            404,
            json!({ "error_code": 404, "message": format!("Connector {name} not found") })
        )
    );
    assert!(!state.join(format!("{name}.json")).exists());
    serve.stop();
}

#[test]
fn a_config_change_of_transforms_swaps_them_under_a_steady_stream() {
    let broker = kafka();
    let topic = broker.new_topic("swap", 2);
    let dir = tempfile::tempdir().expect("a folder");
    let state = dir.path().join("state");
    let out: PathBuf = dir.path().join("out.jsonl");
    let name = unique_name("swap");
    let group = format!("connect-{name}");
    let config = |mask: &str| {
        json!({
            "connector.class": "file-sink",
            "tasks.max": "2",
            "topics": topic,
            "file": out.display().to_string(),
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "consumer.override.session.timeout.ms": broker.session_timeout_ms().to_string(),
            "sabot.batch.max.wait": "20ms",
            "sabot.file.sync": "false",
            "transforms": "hide",
            "transforms.hide.type": "mask",
            "transforms.hide.fields": "item",
            "transforms.hide.mask": mask,
        })
    };

    // A steady stream of chunks of 100 records, 50 ms apart, kept up until
    // ten chunks after the change (at most 400 chunks in all).
    let swapped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream_topic = topic.clone();
    let changed = swapped.clone();
    let producer = std::thread::spawn(move || {
        let mut chunk = 0u64;
        let mut after = 0;
        while chunk < 400 && after < 10 {
            produce(&stream_topic, chunk * 100..(chunk + 1) * 100);
            chunk += 1;
            if changed.load(std::sync::atomic::Ordering::Acquire) {
                after += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        chunk
    });

    let port = free_port();
    let serve = Serve::start(port, &state, &broker.bootstrap());
    let (status, body) = serve.call(
        "POST",
        "/connectors",
        Some(&json!({ "name": name, "config": config("AAA") })),
    );
    assert_eq!(status, 201, "{body}");
    assert!(
        wait_until(Duration::from_secs(30), || !lines(&out).is_empty()),
        "records reach the file"
    );
    let (status, body) = serve.call(
        "PUT",
        &format!("/connectors/{name}/config"),
        Some(&config("BBB")),
    );
    assert_eq!(status, 200, "{body}");
    swapped.store(true, std::sync::atomic::Ordering::Release);
    let chunks = producer.join().expect("the producer thread");
    let total = (chunks * 100) as usize;
    assert!(
        wait_until(Duration::from_secs(60), || lines(&out).len() >= total),
        "only {} of {total} records arrived",
        lines(&out).len()
    );
    assert_eq!(
        serve.state_of(&name),
        (
            "RUNNING".to_owned(),
            vec!["RUNNING".to_owned(), "RUNNING".to_owned()]
        )
    );
    serve.stop();

    // Every record once, masked by the old plugin config or the new one.
    let written = lines(&out);
    let mut ids: Vec<u64> = written
        .iter()
        .map(|v| v["id"].as_u64().expect("an id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..chunks * 100).collect::<Vec<u64>>());
    let masks: Vec<&str> = written
        .iter()
        .map(|v| v["item"].as_str().expect("an item"))
        .collect();
    assert!(
        masks.iter().all(|m| *m == "AAA" || *m == "BBB"),
        "{masks:?}"
    );
    assert!(
        masks.contains(&"AAA") && masks.contains(&"BBB"),
        "both masks were used"
    );
    assert_eq!(broker.committed(&group, &topic), broker.end_offsets(&topic));
}

/// The connector's offsets as `{partition: offset}` of `topic`.
fn offsets_of(serve: &Serve, name: &str, topic: &str) -> (u16, Vec<(i64, i64)>) {
    let (status, body) = serve.call("GET", &format!("/connectors/{name}/offsets"), None);
    let entries = body["offsets"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for e in entries {
        assert_eq!(e["partition"]["kafka_topic"], json!(topic), "{e}");
        out.push((
            e["partition"]["kafka_partition"]
                .as_i64()
                .expect("a partition"),
            e["offset"]["kafka_offset"].as_i64().expect("an offset"),
        ));
    }
    (status, out)
}

fn sorted_ids(file: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = lines(file)
        .iter()
        .map(|v| v["id"].as_u64().expect("an id"))
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn offsets_are_read_moved_by_offset_and_time_and_reset_while_stopped() {
    let broker = kafka();
    let topic = broker.new_topic("offsets", 2);
    let dir = tempfile::tempdir().expect("a folder");
    let out: PathBuf = dir.path().join("out.jsonl");
    let name = unique_name("offsets");
    const T0: i64 = 1_700_000_000_000;
    let record = |id: u64, partition: i32, at: i64| {
        TestRecord::value(format!("{{\"id\":{id},\"item\":\"box-{id}\"}}"))
            .with_partition(partition)
            .with_timestamp(at)
    };
    let mut records: Vec<TestRecord> = (0..6).map(|i| record(i, 0, T0 + i as i64 * 1000)).collect();
    records.extend((0..4).map(|i| record(100 + i, 1, T0 + i as i64 * 1000)));
    broker.produce(&topic, &records);

    let serve = Serve::start(free_port(), &dir.path().join("state"), &broker.bootstrap());
    let config = json!({
        "connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
        "topics": topic,
        "file": out.display().to_string(),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "consumer.override.session.timeout.ms": broker.session_timeout_ms().to_string(),
        "sabot.batch.max.wait": "20ms",
        "sabot.file.sync": "false",
    });
    let (status, body) = serve.call(
        "POST",
        "/connectors",
        Some(&json!({ "name": name, "config": config })),
    );
    assert_eq!(status, 201, "{body}");
    let all: Vec<u64> = (0..6).chain(100..104).collect();
    assert!(
        wait_until(Duration::from_secs(30), || offsets_of(
            &serve, &name, &topic
        )
        .1 == vec![(0, 6), (1, 4)]),
        "the committed offsets reach the ends: {:?}",
        offsets_of(&serve, &name, &topic)
    );
    assert_eq!(sorted_ids(&out), all);

    // Running: offsets are read, not changed.
    let path = format!("/connectors/{name}/offsets");
    let to_two = json!({"offsets": [{
        "partition": {"kafka_topic": topic, "kafka_partition": 0},
        "offset": {"kafka_offset": 2}
    }]});
    let (status, body) = serve.call("PATCH", &path, Some(&to_two));
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        json!(format!(
            "connector {name} must be STOPPED before its offsets change; stop it with `PUT /connectors/{name}/stop` first"
        ))
    );
    assert_eq!(serve.call("DELETE", &path, None).0, 400);

    // Stopped: partition 0 goes back to offset 2, and records 2..6 are
    // read again once resumed.
    assert_eq!(
        serve
            .call("PUT", &format!("/connectors/{name}/stop"), None)
            .0,
        204
    );
    let (status, body) = serve.call("PATCH", &path, Some(&to_two));
    assert_eq!(status, 200, "{body}");
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(
        offsets_of(&serve, &name, &topic),
        (200, vec![(0, 2), (1, 4)])
    );
    let (status, body) = serve.call(
        "PATCH",
        &path,
        Some(&json!({"offsets": [{"partition": {"kafka_topic": "elsewhere", "kafka_partition": 0}, "offset": {"kafka_offset": 0}}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        json!(format!(
            "topic `elsewhere` is not one this connector reads (it reads [\"{topic}\"]); name one of its topics"
        ))
    );
    let (status, body) = serve.call(
        "PATCH",
        &path,
        Some(&json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 7}, "offset": {"kafka_offset": 0}}]})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        json!(format!(
            "topic `{topic}` has no partition 7; its partitions are 0 to 1"
        ))
    );

    assert_eq!(
        serve
            .call("PUT", &format!("/connectors/{name}/resume"), None)
            .0,
        202
    );
    assert!(
        wait_until(Duration::from_secs(30), || offsets_of(
            &serve, &name, &topic
        )
        .1 == vec![(0, 6), (1, 4)]),
        "the connector reads to the ends again"
    );
    let mut again = all.clone();
    again.extend(2..6);
    again.sort_unstable();
    assert_eq!(sorted_ids(&out), again);

    // By time, for every partition of the topic: partition 0 moves to its
    // first record at or after T0 + 4 s; partition 1 has none, so it goes
    // to its end.
    assert_eq!(
        serve
            .call("PUT", &format!("/connectors/{name}/stop"), None)
            .0,
        204
    );
    let (status, body) = serve.call(
        "PATCH",
        &path,
        Some(&json!({"offsets": [{"partition": {"kafka_topic": topic}, "offset": {"kafka_timestamp": T0 + 4000}}]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        offsets_of(&serve, &name, &topic),
        (200, vec![(0, 4), (1, 4)])
    );

    // Reset: the group is forgotten and everything is read again.
    let (status, body) = serve.call("DELETE", &path, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(offsets_of(&serve, &name, &topic), (200, vec![]));
    assert_eq!(
        serve
            .call("PUT", &format!("/connectors/{name}/resume"), None)
            .0,
        202
    );
    assert!(
        wait_until(Duration::from_secs(30), || offsets_of(
            &serve, &name, &topic
        )
        .1 == vec![(0, 6), (1, 4)]),
        "the connector reads everything after the reset"
    );
    let mut thrice = again.clone();
    thrice.extend(all.iter().copied());
    thrice.sort_unstable();
    assert_eq!(sorted_ids(&out), thrice);

    assert_eq!(
        serve.call("GET", "/connectors/missing/offsets", None),
        (
            404,
            json!({ "error_code": 404, "message": "Connector missing not found" })
        )
    );
    serve.stop();
}
