//! Starting the brokers: Apache Kafka in single-node KRaft mode, and tansu.
//!
//! Both listen on free ports of 127.0.0.1, keep their data and logs in a
//! fresh temporary folder, and are bound to the test process (see
//! [`process`](crate::process)). Start-up waits until a metadata request
//! succeeds.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::broker::{Broker, BrokerKind};
use crate::process::{free_port, kill_now, remove_at_exit, spawn_guarded};

/// How long a broker may take from spawn to answering metadata.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The Kafka release `tests/java/pom.xml` fetches.
pub(crate) const KAFKA_VERSION: &str = "4.1.1";

/// A fixed cluster id: every broker gets a fresh log folder, so ids never
/// meet. Kafka wants 16 bytes in URL-safe base64 (here "sabot-test-clust").
const CLUSTER_ID: &str = "c2Fib3QtdGVzdC1jbHVzdA";

/// Starts Apache Kafka from the jars in `SABOT_JAVA_LIB`.
pub(crate) fn start_kafka() -> Result<Broker, String> {
    let java_lib = crate::setting("SABOT_JAVA_LIB")
        .ok_or("`SABOT_JAVA_LIB` is not set and no cache has it; run `tests/setup.sh`")?;
    let broker_jar = format!("kafka_2.13-{KAFKA_VERSION}.jar");
    if !Path::new(&java_lib).join(&broker_jar).is_file() {
        return Err(format!(
            "`{java_lib}` has no `{broker_jar}`; run `tests/setup.sh` to fetch the broker's jars"
        ));
    }
    let class_path = format!("{java_lib}/*");
    let dir = temp_dir("kafka")?;
    let port = free_port().map_err(|error| format!("cannot find a free port: {error}"))?;
    let controller_port =
        free_port().map_err(|error| format!("cannot find a free port: {error}"))?;
    let log = dir.join("broker.log");

    let properties = dir.join("server.properties");
    let log4j = dir.join("log4j2.properties");
    write(
        &properties,
        &server_properties(&dir.join("data"), port, controller_port),
    )?;
    write(&log4j, &log4j_properties(&log))?;
    let log4j_option = format!("-Dlog4j2.configurationFile={}", log4j.display());

    // Kafka refuses to start on an unformatted log folder.
    let format_log = dir.join("format.log");
    let mut format = Command::new("java");
    format
        .arg(&log4j_option)
        .args([
            "-cp",
            &class_path,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            CLUSTER_ID,
            "-c",
        ])
        .arg(&properties)
        .stdin(Stdio::null())
        .stdout(output_file(&format_log)?)
        .stderr(output_file(&format_log)?);
    let mut formatting = spawn_guarded(format)
        .map_err(|error| format!("cannot run `java`: {error}; install Java 17+"))?;
    let status = formatting
        .wait()
        .map_err(|error| format!("cannot wait for `kafka.tools.StorageTool`: {error}"))?;
    if !status.success() {
        return Err(format!(
            "`kafka.tools.StorageTool format` failed ({status}):\n{}",
            crate::tail_file(&format_log, 30)
        ));
    }

    let mut server = Command::new("java");
    server
        .args([
            "-Xms256m",
            "-Xmx1g",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
        ])
        .arg(&log4j_option)
        .args(["-cp", &class_path, "kafka.Kafka"])
        .arg(&properties)
        .stdin(Stdio::null())
        .stdout(output_file(&dir.join("stdout.log"))?)
        .stderr(output_file(&dir.join("stdout.log"))?);
    let child = spawn_guarded(server)
        .map_err(|error| format!("cannot run `java`: {error}; install Java 17+"))?;
    wait_until_ready(child, BrokerKind::Kafka, format!("127.0.0.1:{port}"), &log)
}

/// Starts tansu from `SABOT_TANSU` with memory storage.
pub(crate) fn start_tansu() -> Result<Broker, String> {
    let tansu = crate::setting("SABOT_TANSU")
        .ok_or("`SABOT_TANSU` is not set and no cache has it; run `tests/setup.sh`")?;
    let dir = temp_dir("tansu")?;
    let port = free_port().map_err(|error| format!("cannot find a free port: {error}"))?;
    let url = format!("tcp://127.0.0.1:{port}");
    let log = dir.join("broker.log");

    let mut command = Command::new(&tansu);
    command
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        .args([
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            "sabot-test",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(output_file(&log)?)
        .stderr(output_file(&log)?);
    let child = spawn_guarded(command)
        .map_err(|error| format!("cannot run `{tansu}`: {error}; run `tests/setup.sh`"))?;
    wait_until_ready(child, BrokerKind::Tansu, format!("127.0.0.1:{port}"), &log)
}

/// The `server.properties` of a single-node KRaft broker that is also its
/// own controller, tuned to start fast and hold little.
fn server_properties(data: &Path, port: u16, controller_port: u16) -> String {
    let mut text = String::new();
    let settings: &[(&str, String)] = &[
        ("process.roles", "broker,controller".into()),
        ("node.id", "1".into()),
        (
            "controller.quorum.voters",
            format!("1@127.0.0.1:{controller_port}"),
        ),
        (
            "listeners",
            format!("PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}"),
        ),
        (
            "advertised.listeners",
            format!("PLAINTEXT://127.0.0.1:{port}"),
        ),
        ("controller.listener.names", "CONTROLLER".into()),
        ("inter.broker.listener.name", "PLAINTEXT".into()),
        (
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".into(),
        ),
        ("log.dirs", data.display().to_string()),
        ("num.partitions", "1".into()),
        ("auto.create.topics.enable", "false".into()),
        ("offsets.topic.replication.factor", "1".into()),
        ("offsets.topic.num.partitions", "3".into()),
        ("transaction.state.log.replication.factor", "1".into()),
        ("transaction.state.log.min.isr", "1".into()),
        ("transaction.state.log.num.partitions", "3".into()),
        (
            "share.coordinator.state.topic.replication.factor",
            "1".into(),
        ),
        ("share.coordinator.state.topic.min.isr", "1".into()),
        ("group.initial.rebalance.delay.ms", "0".into()),
        ("log.segment.bytes", "67108864".into()),
    ];
    for (key, value) in settings {
        let _ = writeln!(text, "{key}={value}");
    }
    text
}

/// A log4j2 config sending everything at INFO and above to `log` only.
pub(crate) fn log4j_properties(log: &Path) -> String {
    format!(
        "status = warn\n\
         appender.file.type = File\n\
         appender.file.name = FILE\n\
         appender.file.fileName = {}\n\
         appender.file.layout.type = PatternLayout\n\
         appender.file.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = INFO\n\
         rootLogger.appenderRef.file.ref = FILE\n",
        log.display()
    )
}

/// Polls metadata until the broker answers, the child exits, or
/// [`START_TIMEOUT`] passes; kills the child on failure.
fn wait_until_ready(
    mut child: Child,
    kind: BrokerKind,
    bootstrap: String,
    log: &Path,
) -> Result<Broker, String> {
    let started = Instant::now();
    let probe: Result<BaseConsumer, _> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("socket.connection.setup.timeout.ms", "1000")
        .set("reconnect.backoff.max.ms", "200")
        .create();
    let probe = match probe {
        Ok(probe) => probe,
        Err(error) => {
            kill_now(&mut child);
            return Err(format!("cannot create a client for {bootstrap}: {error}"));
        }
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{kind:?} broker at {bootstrap} exited during start-up ({status}); its log:\n{}",
                crate::tail_file(log, 40)
            ));
        }
        if let Ok(metadata) = probe.fetch_metadata(None, Duration::from_millis(500))
            && !metadata.brokers().is_empty()
        {
            return Ok(Broker::new(kind, bootstrap, Some(log.to_owned())));
        }
        if started.elapsed() > START_TIMEOUT {
            kill_now(&mut child);
            return Err(format!(
                "{kind:?} broker at {bootstrap} did not answer metadata within {START_TIMEOUT:?}; its log:\n{}",
                crate::tail_file(log, 40)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The prefix of every folder [`temp_dir`] creates.
const TEMP_PREFIX: &str = "sabot-test-";

/// The file in each such folder naming the test process that owns it.
const OWNER_FILE: &str = "owner.pid";

/// A fresh folder under the system's temp folder, removed at exit.
///
/// A test process killed outright cannot remove its folders, so the first
/// call also removes those whose owner is no longer running.
pub(crate) fn temp_dir(what: &str) -> Result<PathBuf, String> {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(remove_orphaned_dirs);
    let dir = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{what}-"))
        .tempdir()
        .map_err(|error| format!("cannot create a temporary folder for {what}: {error}"))?
        .keep();
    remove_at_exit(dir.clone());
    write(&dir.join(OWNER_FILE), &std::process::id().to_string())?;
    Ok(dir)
}

/// Removes the folders of test processes that are gone.
fn remove_orphaned_dirs() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with(TEMP_PREFIX));
        if !ours {
            continue;
        }
        let owner = fs::read_to_string(path.join(OWNER_FILE))
            .ok()
            .and_then(|text| text.trim().parse::<libc::pid_t>().ok());
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = owner
            .is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0 && io_error_is_no_such_process());
        if gone {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Whether the last OS error is `ESRCH`.
fn io_error_is_no_such_process() -> bool {
    std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Writes `text` to `path`.
pub(crate) fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}

/// Opens `path` for appending a child's output.
pub(crate) fn output_file(path: &Path) -> Result<fs::File, String> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| format!("cannot open `{}`: {error}", path.display()))
}
