//! The end-to-end test harness: real brokers, started once per test process.
//!
//! [`kafka()`] gives an Apache Kafka 4.1.1 broker (single-node KRaft, free
//! ports on 127.0.0.1, a fresh temporary log folder), started on first use
//! and shared by every test of the process; [`tansu()`] gives a tansu broker
//! (memory storage) the same way. Neither ever outlives the test process: the
//! kernel kills them if it dies, and an exit hook kills them and removes
//! their folders when it exits.
//!
//! Set `SABOT_TEST_BROKERS=host:port[,host:port…]` to run against a broker
//! that is already running instead of starting Kafka.
//!
//! The brokers and the other tools come from `tests/setup.sh`, which writes
//! their paths to `$SABOT_CACHE/env.sh` (`SABOT_CACHE` defaults to
//! `~/.cache/sabot`). The harness reads each path from the environment
//! first, then from that file, so plain `cargo test` works after one setup.
//!
//! # The API
//!
//! | call | does |
//! |---|---|
//! | [`kafka()`], [`tansu()`] | the shared [`Broker`] (panics with the broker's log tail if it cannot start) |
//! | [`Broker::bootstrap`] | `bootstrap.servers`, e.g. `127.0.0.1:40123` |
//! | [`Broker::kind`] | [`BrokerKind::Kafka`], [`Tansu`](BrokerKind::Tansu) or [`External`](BrokerKind::External) |
//! | [`Broker::unique_topic`] | `{prefix}-{start}-{pid}-{n}`, unique across processes; also for group names ([`unique_name`]) |
//! | [`Broker::create_topic`] | creates a topic and waits until every partition has a leader |
//! | [`Broker::new_topic`] | `unique_topic` + `create_topic`, returns the name |
//! | [`Broker::produce`] | produces [`TestRecord`]s (`acks=all`), waits for every ack, returns `(partition, offset)`s |
//! | [`Broker::consume_all`] | reads a topic from the start (assign, no group) into [`ConsumedRecord`]s sorted by partition, offset |
//! | [`Broker::committed`] | a group's committed offsets for a topic, by partition |
//! | [`Broker::wait_for_committed`] | polls `committed` until the offsets add up to a total |
//! | [`Broker::end_offsets`] | high watermark by partition (right on tansu too) |
//! | [`Broker::partitions`] | a topic's partition ids |
//! | [`Broker::client_config`], [`Broker::consumer_config`] | rdkafka configs for own clients |
//! | [`Broker::session_timeout_ms`] | the `session.timeout.ms` groups should use here (low on tansu) |
//! | [`Broker::log_file`], [`Broker::log_tail`] | the broker's own log, for failure messages |
//! | [`sabot_bin()`] | the `sabot` binary, built with `cargo build -p sabot --bin sabot` once per process |
//! | [`repo_root()`] | the repository's root folder |
//! | [`setting`], [`python()`], [`java_lib()`], [`webhooks_examples()`], [`cache_dir()`] | paths written by `tests/setup.sh` |
//! | [`parse_test_brokers`] | checks a `SABOT_TEST_BROKERS` value |
//! | [`ConnectWorker::start`] | a Kafka Connect worker in distributed mode against a broker, killed on drop |
//! | [`SabotServe::start`] | `sabot serve --brokers …` on a free port, killed on drop |
//! | [`http`], [`http_json`] | one HTTP/1.1 request to 127.0.0.1, any body, answered as [`HttpResponse`] |
//!
//! The Kafka broker refuses to auto-create topics, so a test creates every
//! topic it writes to (a sink topic too); tansu auto-creates unknown topics
//! with 4 partitions. Kafka keeps `__consumer_offsets` and the transaction
//! log at 3 partitions and starts group rebalances without delay.
//!
//! Helpers panic with a message naming the broker and topic: a test that
//! cannot talk to its broker has failed.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use sabot_tests::{kafka, TestRecord};
//!
//! let broker = kafka();
//! let topic = broker.new_topic("orders", 3);
//! broker.produce(&topic, &[
//!     TestRecord::keyed("k1", r#"{"id":1}"#).with_header("source", Some("test")),
//!     TestRecord::value(r#"{"id":2}"#).with_partition(2),
//! ]);
//!
//! let records = broker.consume_all(&topic, 2, Duration::from_secs(10));
//! assert_eq!(records.len(), 2);
//! assert_eq!(broker.end_offsets(&topic).values().sum::<i64>(), 2);
//!
//! // Run the product against it.
//! let pipeline = sabot_tests::repo_root().join("pipelines/passthrough.yaml");
//! let status = std::process::Command::new(sabot_tests::sabot_bin())
//!     .arg("validate")
//!     .arg(&pipeline)
//!     .env("KAFKA_BROKERS", broker.bootstrap())
//!     .status()
//!     .expect("sabot runs");
//! assert!(status.success());
//! ```

mod broker;
mod connect;
mod http;
mod process;
mod records;
mod serve;
mod start;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub use broker::{Broker, BrokerKind};
pub use connect::ConnectWorker;
pub use http::{HttpResponse, http, http_json};
pub use records::{ConsumedRecord, TestRecord};
pub use serve::SabotServe;

/// The Kafka broker of this test process, started on first use; or the one
/// `SABOT_TEST_BROKERS` names.
///
/// # Panics
///
/// If the broker cannot start (the message has its log tail), or
/// `SABOT_TEST_BROKERS` is malformed. Every later call panics the same way
/// without trying again.
pub fn kafka() -> &'static Broker {
    static KAFKA: OnceLock<Result<Broker, String>> = OnceLock::new();
    let broker = KAFKA.get_or_init(|| match std::env::var("SABOT_TEST_BROKERS") {
        Ok(value) if !value.trim().is_empty() => parse_test_brokers(&value)
            .map(|bootstrap| Broker::new(BrokerKind::External, bootstrap, None))
            .map_err(|error| format!("`SABOT_TEST_BROKERS`: {error}")),
        _ => start::start_kafka(),
    });
    match broker {
        Ok(broker) => broker,
        Err(error) => panic!("cannot start the Kafka test broker: {error}"),
    }
}

/// The tansu broker of this test process, started on first use.
///
/// # Panics
///
/// If it cannot start (the message has its log tail). Every later call
/// panics the same way without trying again.
pub fn tansu() -> &'static Broker {
    static TANSU: OnceLock<Result<Broker, String>> = OnceLock::new();
    match TANSU.get_or_init(start::start_tansu) {
        Ok(broker) => broker,
        Err(error) => panic!("cannot start the tansu test broker: {error}"),
    }
}

/// Checks a `SABOT_TEST_BROKERS` value, `host:port[,host:port…]`, and
/// returns it normalised for `bootstrap.servers` (spaces removed).
///
/// # Errors
///
/// Names the first entry without a host or with a port that is not a number
/// from 1 to 65535.
pub fn parse_test_brokers(value: &str) -> Result<String, String> {
    let mut servers = Vec::new();
    for entry in value.split(',').map(str::trim) {
        let Some((host, port)) = entry.rsplit_once(':') else {
            return Err(format!("`{entry}` is not `host:port`"));
        };
        if host.is_empty() {
            return Err(format!("`{entry}` has no host; write `host:port`"));
        }
        match port.parse::<u16>() {
            Ok(port) if port > 0 => servers.push(format!("{host}:{port}")),
            _ => {
                return Err(format!(
                    "`{entry}` has port `{port}`, expected a number from 1 to 65535"
                ));
            }
        }
    }
    Ok(servers.join(","))
}

/// A name no other call in any test process has returned,
/// `{prefix}-{process start, seconds}-{pid}-{n}`: a valid topic or group name
/// when `prefix` is.
pub fn unique_name(prefix: &str) -> String {
    static STARTED: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|since| since.as_secs())
            .unwrap_or(0)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{started}-{}-{n}", std::process::id())
}

/// The repository's root folder.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The folder `tests/setup.sh` installs into: `$SABOT_CACHE`, or
/// `~/.cache/sabot`.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("SABOT_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            home.join(".cache").join("sabot")
        }
    }
}

/// A setting written by `tests/setup.sh`: the environment variable `name`
/// if it is set, else its line in `$SABOT_CACHE/env.sh`.
pub fn setting(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name)
        && !value.is_empty()
    {
        return Some(value);
    }
    let env_file = std::fs::read_to_string(cache_dir().join("env.sh")).ok()?;
    env_file.lines().find_map(|line| {
        let (key, value) = line.strip_prefix("export ")?.split_once('=')?;
        (key == name).then(|| value.trim_matches('\'').to_owned())
    })
}

/// The Python interpreter of the suite's venv (`SABOT_PYTHON`), which has
/// `confluent-kafka`, `fastavro`, `pyarrow`, `kafka-connect-py` and
/// Schemathesis (its `st` command beside the interpreter).
///
/// # Panics
///
/// If setup has not run.
pub fn python() -> PathBuf {
    required_setting("SABOT_PYTHON")
}

/// The JSON file of GitHub webhook example payloads
/// (`SABOT_WEBHOOKS_EXAMPLES`): an array of `{name, examples: [...]}`.
///
/// # Panics
///
/// If setup has not run.
pub fn webhooks_examples() -> PathBuf {
    required_setting("SABOT_WEBHOOKS_EXAMPLES")
}

/// The folder of Kafka and Kafka Connect jars (`SABOT_JAVA_LIB`), for
/// `java -cp "$DIR/*"`.
///
/// # Panics
///
/// If setup has not run.
pub fn java_lib() -> PathBuf {
    required_setting("SABOT_JAVA_LIB")
}

/// The `sabot` binary, built once per test process.
///
/// Uses `SABOT_BIN` when set. Otherwise runs `cargo build -p sabot --bin
/// sabot` (a no-op when it is up to date) for the profile this test binary
/// was built with, into the same target folder, and returns its path.
///
/// # Panics
///
/// If the build fails or the binary is missing after it.
pub fn sabot_bin() -> PathBuf {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("SABOT_BIN").filter(|bin| !bin.is_empty()) {
            return Ok(PathBuf::from(bin));
        }
        build_sabot()
    });
    match bin {
        Ok(bin) => bin.clone(),
        Err(error) => panic!("cannot build the `sabot` binary: {error}"),
    }
}

/// Builds `sabot` next to the running test binary and returns its path.
fn build_sabot() -> Result<PathBuf, String> {
    // A test binary lives in `<target>/<profile>/deps/`.
    let exe = std::env::current_exe()
        .map_err(|error| format!("cannot locate the test binary: {error}"))?;
    let profile_dir = exe.parent().and_then(Path::parent).ok_or_else(|| {
        format!(
            "test binary `{}` is not inside a cargo target folder",
            exe.display()
        )
    })?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| format!("`{}` has no parent folder", profile_dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(repo_root())
        .args(["build", "--quiet", "-p", "sabot", "--bin", "sabot"])
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(profile) => {
            build.args(["--profile", profile]);
        }
    }
    let status = build
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build -p sabot --bin sabot` failed ({status})"
        ));
    }
    let bin = profile_dir.join("sabot");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!("`{}` is missing after the build", bin.display()))
    }
}

/// [`setting`], panicking with the fix when it is missing.
fn required_setting(name: &str) -> PathBuf {
    match setting(name) {
        Some(value) => PathBuf::from(value),
        None => panic!(
            "`{name}` is not set and `{}` has no line for it; run `tests/setup.sh`",
            cache_dir().join("env.sh").display()
        ),
    }
}

/// The last `lines` lines of the file at `path`, or why it cannot be read.
pub(crate) fn tail_file(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read `{}`: {error})", path.display()),
    }
}
