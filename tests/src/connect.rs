//! Apache Kafka Connect in distributed mode, for comparing `sabot serve`
//! with the real thing.
//!
//! [`ConnectWorker::start`] runs `org.apache.kafka.connect.cli.ConnectDistributed`
//! from the jars in `SABOT_JAVA_LIB` against a broker of the suite: one
//! worker, its REST API on a free port of 127.0.0.1, a group id and
//! config, offset and status topics of its own (replication factor 1, one
//! partition each), and its log in a temporary folder. It waits until the
//! worker has joined its group (`GET /connectors` answers 200), at most
//! [`START_TIMEOUT`]. The worker is killed by its process id when the
//! [`ConnectWorker`] is dropped, a panicking test included, and in any
//! case when the test process ends (see [`process`](crate::process)).
//!
//! Only the plugins on the class path are loaded (the file connectors and
//! the bundled transformations), found through their service manifests:
//! scanning every jar would add seconds to each start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::broker::Broker;
use crate::http::http;
use crate::process::{free_port, kill_now, spawn_guarded};
use crate::start::{KAFKA_VERSION, log4j_properties, output_file, temp_dir, write};

/// How long a worker may take from spawn to answering `GET /connectors`.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running Kafka Connect worker, killed when dropped.
#[derive(Debug)]
pub struct ConnectWorker {
    /// The JVM; `None` once killed.
    child: Option<Child>,
    /// The REST port on 127.0.0.1.
    port: u16,
    /// The worker's folder: its properties, log and files tests write.
    dir: PathBuf,
    /// The worker's log.
    log: PathBuf,
}

impl ConnectWorker {
    /// Starts a worker against `broker` and waits until it serves its API.
    ///
    /// # Errors
    ///
    /// Setup has not run, `java` cannot start, or the worker exits or is
    /// not ready within [`START_TIMEOUT`] (the message has its log tail).
    pub fn start(broker: &Broker) -> Result<ConnectWorker, String> {
        let java_lib = crate::setting("SABOT_JAVA_LIB")
            .ok_or("`SABOT_JAVA_LIB` is not set and no cache has it; run `tests/setup.sh`")?;
        let runtime_jar = Path::new(&java_lib).join(format!("connect-runtime-{KAFKA_VERSION}.jar"));
        if !runtime_jar.is_file() {
            return Err(format!(
                "`{}` is missing; run `tests/setup.sh` to fetch Kafka Connect's jars",
                runtime_jar.display()
            ));
        }
        let dir = temp_dir("connect")?;
        let plugins = dir.join("plugins");
        std::fs::create_dir_all(&plugins)
            .map_err(|error| format!("cannot create `{}`: {error}", plugins.display()))?;
        let port = free_port().map_err(|error| format!("cannot find a free port: {error}"))?;
        let id = crate::unique_name("connect");
        let log = dir.join("connect.log");
        let properties = dir.join("worker.properties");
        let log4j = dir.join("log4j2.properties");
        write(
            &properties,
            &worker_properties(&broker.bootstrap(), &id, port, &plugins),
        )?;
        write(&log4j, &log4j_properties(&log))?;

        let mut command = Command::new("java");
        command
            .args([
                "-Xms128m",
                "-Xmx1g",
                "-XX:+UseSerialGC",
                "-Djava.awt.headless=true",
            ])
            .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
            .args(["-cp", &format!("{java_lib}/*")])
            .arg("org.apache.kafka.connect.cli.ConnectDistributed")
            .arg(&properties)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(output_file(&dir.join("stdout.log"))?)
            .stderr(output_file(&dir.join("stdout.log"))?);
        let child = spawn_guarded(command)
            .map_err(|error| format!("cannot run `java`: {error}; install Java 17+"))?;
        let mut worker = ConnectWorker {
            child: Some(child),
            port,
            dir,
            log,
        };
        worker.wait_until_ready()?;
        Ok(worker)
    }

    /// The REST port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The worker's folder, a place for the files its connectors write.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of the worker's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::tail_file(&self.log, lines)
    }

    /// Polls `GET /connectors` until it answers 200; kills the worker on
    /// failure.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "Kafka Connect exited during start-up ({status}); its log:\n{}",
                    self.log_tail(40)
                ));
            }
            // Jetty answers before the worker has joined its group: 404
            // pages first, then 200 once the herder is up.
            if let Ok(answer) = http(self.port, "GET", "/connectors", None)
                && answer.status == 200
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.kill();
                return Err(format!(
                    "Kafka Connect did not serve `GET /connectors` on port {} within {START_TIMEOUT:?}; its log:\n{}",
                    self.port,
                    self.log_tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills and reaps the worker.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_now(&mut child);
        }
    }
}

impl Drop for ConnectWorker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The worker's properties: everything its own, small and quick.
fn worker_properties(bootstrap: &str, id: &str, port: u16, plugins: &Path) -> String {
    let settings: [(&str, String); 19] = [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("group.id", id.to_owned()),
        ("config.storage.topic", format!("{id}-configs")),
        ("offset.storage.topic", format!("{id}-offsets")),
        ("status.storage.topic", format!("{id}-status")),
        ("config.storage.replication.factor", "1".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("status.storage.replication.factor", "1".into()),
        ("offset.storage.partitions", "1".into()),
        ("status.storage.partitions", "1".into()),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter".into(),
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter".into(),
        ),
        // Sink tasks commit their consumer offsets this often.
        ("offset.flush.interval.ms", "500".into()),
        ("listeners", format!("http://127.0.0.1:{port}")),
        ("rest.advertised.host.name", "127.0.0.1".into()),
        ("rest.advertised.port", port.to_string()),
        ("rest.advertised.listener", "http".into()),
        // An empty folder: no plugin path element may mean the working
        // folder, which Connect would scan.
        ("plugin.path", plugins.display().to_string()),
        ("plugin.discovery", "service_load".into()),
    ];
    let mut text = String::new();
    for (key, value) in settings {
        text.push_str(&format!("{key}={value}\n"));
    }
    text
}
