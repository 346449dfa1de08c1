//! `sabot serve` as a child process, for tests that talk to its REST API
//! over a socket.
//!
//! [`SabotServe::start`] runs the binary of [`sabot_bin`](crate::sabot_bin)
//! on a free port of 127.0.0.1 with `--brokers`, connectors kept in memory,
//! from the repository's root (so bare plugin names resolve to
//! `plugins/dist`), and waits until `GET /` answers. Its standard error
//! goes to a log file in a temporary folder. The server is killed by its
//! process id when the [`SabotServe`] is dropped, and in any case when the
//! test process ends (see [`process`](crate::process)).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http::http;
use crate::process::{free_port, kill_now, spawn_guarded};
use crate::start::{output_file, temp_dir};

/// How long `sabot serve` may take from spawn to answering `GET /`.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `sabot serve`, killed when dropped.
#[derive(Debug)]
pub struct SabotServe {
    /// The server; `None` once killed.
    child: Option<Child>,
    /// The port on 127.0.0.1.
    port: u16,
    /// A folder of its own, for its log and the files tests write.
    dir: PathBuf,
    /// Its standard error.
    log: PathBuf,
}

impl SabotServe {
    /// Starts `sabot serve --brokers BROKERS` and waits until it answers.
    ///
    /// # Errors
    ///
    /// The binary cannot start, or exits or stays silent for
    /// [`START_TIMEOUT`] (the message has its log tail).
    pub fn start(brokers: &str) -> Result<SabotServe, String> {
        let dir = temp_dir("serve")?;
        let port = free_port().map_err(|error| format!("cannot find a free port: {error}"))?;
        let log = dir.join("serve.log");
        let mut command = Command::new(crate::sabot_bin());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--brokers", brokers, "--connect-timeout", "5"])
            .current_dir(crate::repo_root())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(output_file(&log)?)
            .stderr(output_file(&log)?);
        let child =
            spawn_guarded(command).map_err(|error| format!("cannot run `sabot serve`: {error}"))?;
        let mut serve = SabotServe {
            child: Some(child),
            port,
            dir,
            log,
        };
        serve.wait_until_ready()?;
        Ok(serve)
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's folder, a place for the files its connectors write.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of the server's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        crate::tail_file(&self.log, lines)
    }

    /// Polls `GET /` until it answers 200; kills the server on failure.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "`sabot serve` exited during start-up ({status}); its log:\n{}",
                    self.log_tail(40)
                ));
            }
            if let Ok(answer) = http(self.port, "GET", "/", None)
                && answer.status == 200
            {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                self.kill();
                return Err(format!(
                    "`sabot serve` did not answer on port {} within {START_TIMEOUT:?}; its log:\n{}",
                    self.port,
                    self.log_tail(40)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills and reaps the server.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_now(&mut child);
        }
    }
}

impl Drop for SabotServe {
    fn drop(&mut self) {
        self.kill();
    }
}
