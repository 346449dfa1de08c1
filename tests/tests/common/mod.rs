//! Helpers shared by the end-to-end test files: the test orders, running
//! the `sabot` binary with a time bound, and comparing JSON.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sabot_tests::{Broker, ConsumedRecord, TestRecord, repo_root, sabot_bin, unique_name};

/// How the test orders are made: record `i` is good unless it is one of the
/// malformed kinds, placed every 400th record.
pub fn order(i: u64) -> TestRecord {
    let key = format!("customer-{}", i % 977);
    let value: Option<Vec<u8>> = match i % 400 {
        7 => Some(b"{\"id\": 7, \"amount\": ".to_vec()),
        107 => Some(format!("{{\"id\": {i}, \"amount\": \"lots\"}}").into_bytes()),
        207 => Some(b"\x00\x01\x02\x03".to_vec()),
        307 => Some(Vec::new()),
        347 => None,
        _ => Some(
            format!(
                "{{\"id\":{i},\"customer\":{{\"id\":{},\"email\":\"user{i}@example.com\",\"tier\":\"gold\"}},\
                 \"amount\":{}.5,\"currency\":\"EUR\",\"status\":\"paid\"}}",
                i % 977,
                i % 200
            )
            .into_bytes(),
        ),
    };
    TestRecord {
        partition: None,
        key: Some(key.into_bytes()),
        value,
        headers: vec![
            ("source".to_owned(), Some(b"test".to_vec())),
            ("seq".to_owned(), Some(i.to_string().into_bytes())),
        ],
        timestamp: None,
    }
}

/// The reason the decoder gives for each malformed kind.
pub fn expected_reason(i: u64) -> Option<&'static str> {
    match i % 400 {
        7 => Some("invalid JSON"),
        107 => Some("field `amount`"),
        207 => Some("invalid JSON"),
        307 => Some("value is empty"),
        347 => Some("value is null"),
        _ => None,
    }
}

pub fn is_kept(i: u64) -> bool {
    expected_reason(i).is_none() && (i % 200) as f64 + 0.5 > 100.0
}

pub fn hmac_hex(key: &str, text: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Run `sabot` with `args` and `env`, bounded in time.
pub fn sabot(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(sabot_bin());
    cmd.args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sabot starts");
    wait_bounded(child, Duration::from_secs(240))
}

/// Wait for `child` at most `limit`, reading its piped output all along so
/// that a chatty child never blocks on a full pipe.
pub fn wait_bounded(mut child: std::process::Child, limit: Duration) -> Output {
    fn drain<R: std::io::Read + Send + 'static>(
        pipe: Option<R>,
    ) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        match child.try_wait().expect("wait on sabot") {
            Some(status) => break status,
            None if std::time::Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.join().unwrap_or_default();
                panic!(
                    "sabot did not finish within {limit:?}; stderr:\n{}",
                    String::from_utf8_lossy(&err)
                );
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "sabot failed ({:?}); stderr:\n{}",
        out.status,
        stderr(out)
    );
}

pub fn pipeline(name: &str) -> String {
    repo_root()
        .join("pipelines")
        .join(name)
        .display()
        .to_string()
}

pub fn header<'a>(r: &'a ConsumedRecord, name: &str) -> Option<&'a str> {
    r.header(name)
        .flatten()
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// The environment of the orders pipelines, on fresh topics and groups.
pub struct OrdersRun {
    pub env: Vec<(&'static str, String)>,
    pub input: String,
    pub out_topic: String,
    pub dlq_topic: String,
    pub file_dlq_topic: String,
    pub file: PathBuf,
    pub group: String,
    pub file_group: String,
    _dir: tempfile::TempDir,
}

impl OrdersRun {
    pub fn new(broker: &Broker, partitions: i32) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = broker.new_topic("orders", partitions);
        let out_topic = broker.new_topic("orders-clean", 3);
        let dlq_topic = broker.new_topic("orders-dlq", 1);
        let file_dlq_topic = broker.new_topic("orders-file-dlq", 1);
        let group = unique_name("orders-to-topic");
        let file_group = unique_name("orders-to-file");
        let file = dir.path().join("out").join("orders.jsonl");
        let env = vec![
            ("KAFKA_BROKERS", broker.bootstrap()),
            ("ORDERS_TOPIC", input.clone()),
            ("ORDERS_GROUP", group.clone()),
            ("ORDERS_FILE_GROUP", file_group.clone()),
            ("ORDERS_OUT_TOPIC", out_topic.clone()),
            ("ORDERS_DLQ_TOPIC", dlq_topic.clone()),
            ("ORDERS_FILE_DLQ_TOPIC", file_dlq_topic.clone()),
            ("ORDERS_FILE", file.display().to_string()),
            ("MASK_KEY", "test-mask-key".to_owned()),
            (
                "KAFKA_SESSION_TIMEOUT_MS",
                broker.session_timeout_ms().to_string(),
            ),
        ];
        OrdersRun {
            env,
            input,
            out_topic,
            dlq_topic,
            file_dlq_topic,
            file,
            group,
            file_group,
            _dir: dir,
        }
    }

    /// The file sink's complete lines, parsed. A line still being written
    /// (no newline yet) is left for the next look.
    pub fn file_lines(&self) -> Vec<serde_json::Value> {
        complete_lines(&self.file)
    }

    /// Whether the file sink's output ends in a whole line (or is empty).
    pub fn file_is_whole(&self) -> bool {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.is_empty() || text.ends_with('\n')
    }
}

/// The newline-terminated lines of a JSON-lines file being written by
/// another process, parsed; a bad complete line fails the test.
pub fn complete_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l:?}: {e}")))
        .collect()
}

/// Whether `output` carries `input`'s values: every input field equal (numbers
/// by value), fields only in the output null.
pub fn json_equivalent(
    input: &serde_json::Value,
    output: &serde_json::Value,
    path: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => json_equivalent(v, w, &p)?,
                    None if v.is_null() => {}
                    None => return Err(format!("{p} is missing")),
                }
            }
            for (k, w) in b {
                if !a.contains_key(k) && !w.is_null() {
                    return Err(format!("{path}.{k} appeared as {w}"));
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Err(format!("{path}: {} items became {}", a.len(), b.len()));
            }
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                json_equivalent(v, w, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            };
            if same {
                Ok(())
            } else {
                Err(format!("{path}: {a} became {b}"))
            }
        }
        (a, b) if a == b => Ok(()),
        (a, b) => Err(format!("{path}: {a} became {b}")),
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

/// Poll `done` every 50 ms for at most `limit`; its last answer.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

impl OrdersRun {
    /// Run both orders pipelines on this run's topics until they are idle.
    pub fn run_both(&self) -> Output {
        sabot(
            &[
                "run",
                &pipeline("orders-to-topic.yaml"),
                &pipeline("orders-to-file.yaml"),
                "--until-idle",
                "--progress",
                "0",
            ],
            &self.env,
        )
    }
}

/// Orders produced to a topic in the background, in chunks a little apart,
/// until [`OrderStream::stop`]: a stream still coming while a test acts on
/// a running `sabot`.
pub struct OrderStream {
    streaming: std::sync::Arc<std::sync::atomic::AtomicBool>,
    producer: std::thread::JoinHandle<Vec<(u64, i32, i64)>>,
}

impl OrderStream {
    /// Start producing [`order`]s `0, 1, …` to `topic`: `chunk` at a time,
    /// `pause` apart, at most 200,000 in all.
    pub fn start(broker: &'static Broker, topic: &str, chunk: u64, pause: Duration) -> Self {
        let streaming = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (flag, topic) = (streaming.clone(), topic.to_owned());
        let producer = std::thread::spawn(move || {
            let mut placed: Vec<(u64, i32, i64)> = Vec::new();
            let mut next = 0u64;
            while flag.load(std::sync::atomic::Ordering::Acquire) && next < 200_000 {
                let records: Vec<TestRecord> = (next..next + chunk).map(order).collect();
                for (i, (partition, offset)) in
                    broker.produce(&topic, &records).into_iter().enumerate()
                {
                    placed.push((next + i as u64, partition, offset));
                }
                next += chunk;
                std::thread::sleep(pause);
            }
            placed
        });
        OrderStream {
            streaming,
            producer,
        }
    }

    /// Stop producing; every order produced, as (id, partition, offset).
    pub fn stop(self) -> Vec<(u64, i32, i64)> {
        self.streaming
            .store(false, std::sync::atomic::Ordering::Release);
        self.producer.join().expect("the producer thread")
    }
}
