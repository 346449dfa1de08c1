//! The transform sandbox against a hostile plugin.
//!
//! `plugins/dist/hostile.wasm` tries, on every batch, one thing a plugin
//! must not be able to do (read the host's files, write files, open a
//! socket, read the environment, read the real time) and fails the batch
//! saying what it saw. Each test asserts that the attempt was refused, that
//! the same instance keeps serving batches afterwards, and that a
//! well-behaved plugin in the same engine is unaffected. Then the plugin
//! crashes on purpose (a trap, an endless loop stopped by its deadline or
//! its fuel budget, memory growth stopped by the memory limit): each crash
//! fails the one batch with an error naming the plugin and the kind of
//! failure, and the next batch gets a fresh instance that crashes the same
//! way. Then it returns garbage instead of an Arrow IPC stream, and more
//! rows than it was given: the host refuses each as a bad result naming the
//! plugin, without a crash, and the same instance keeps serving. The last
//! test has the plugin return a column no sink can write, which passes the
//! plugin boundary and is refused by the JSON encoder, naming the column.
//!
//! Needs the example plugins: run `plugins/build.sh` first.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use sabot::format::EncodeError;
use sabot::format::encode::JsonEncoder;
use sabot::transform::{Engine, Grants, Limits, Plugin, Transform, TransformError};
use serde_json::{Value, json};

/// The path of a built example plugin.
fn dist(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "`{}` is missing: run plugins/build.sh first",
        path.display()
    );
    path
}

/// `id: int64, name: utf8`, plus the `__key` and `__offset` metadata
/// columns.
fn users() -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec![Some("ada"), None])) as ArrayRef,
        ),
        (
            "__key",
            Arc::new(StringArray::from(vec![Some("k1"), Some("k2")])) as ArrayRef,
        ),
        (
            "__offset",
            Arc::new(Int64Array::from(vec![40, 41])) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// One engine with the hostile plugin and a running identity transform.
struct Sandbox {
    /// The engine both run on.
    engine: Engine,
    /// The hostile plugin, compiled.
    hostile: Plugin,
    /// A well-behaved plugin in the same engine.
    identity: Transform,
}

impl Sandbox {
    /// A fresh engine, without a compile cache, with both plugins loaded.
    fn new() -> Sandbox {
        let engine = Engine::with_cache_dir(None).unwrap();
        let hostile = Plugin::load(&engine, &dist("hostile")).unwrap();
        let identity_plugin = Plugin::load(&engine, &dist("identity")).unwrap();
        let identity =
            Transform::new(&identity_plugin, &Value::Null, Limits::default(), "sandbox").unwrap();
        Sandbox {
            engine,
            hostile,
            identity,
        }
    }

    /// A hostile transform that makes the crashing attempt `attempt` under
    /// `limits`, loaded metered when `limits` has a fuel budget.
    fn crashing(&self, attempt: &str, limits: Limits) -> Transform {
        let plugin = match limits.fuel {
            Some(_) => Plugin::load_metered(&self.engine, &dist("hostile")).unwrap(),
            None => self.hostile.clone(),
        };
        Transform::new(&plugin, &json!({"attempt": attempt}), limits, "sandbox").unwrap()
    }

    /// Runs `transform` on a batch, expecting it to crash; returns the
    /// error. Then checks that the fresh instance of the next batch crashes
    /// with the same message and that the identity plugin still returns
    /// its input.
    fn crash(&mut self, transform: &mut Transform) -> TransformError {
        let error = crashed(transform.apply(&users()));
        assert_eq!(
            crashed(transform.apply(&users())).to_string(),
            error.to_string()
        );
        assert_eq!(self.identity.apply(&users()).unwrap().batch, users());
        error
    }

    /// A hostile transform with `config` under `grants`.
    fn hostile(&self, config: Value, grants: Grants) -> Transform {
        Transform::with_grants(&self.hostile, &config, Limits::default(), grants, "sandbox")
            .unwrap()
    }

    /// Runs `transform` on a batch, expecting the host to refuse its output;
    /// returns the error. Then checks that the same instance (it did not
    /// crash) answers the next batch the same way and that the identity
    /// plugin still returns its input.
    fn refused(&mut self, transform: &mut Transform) -> TransformError {
        let error = bad_output(transform.apply(&users()));
        assert_eq!(
            bad_output(transform.apply(&users())).to_string(),
            error.to_string()
        );
        assert_eq!(self.identity.apply(&users()).unwrap().batch, users());
        error
    }

    /// Runs `transform` on a batch, expecting it to fail the batch; returns
    /// the plugin's message. Then checks that the same instance answers the
    /// next batch the same way and that the identity plugin still returns
    /// its input.
    fn failure(&mut self, transform: &mut Transform) -> String {
        let message = failed(transform.apply(&users()));
        assert_eq!(failed(transform.apply(&users())), message);
        assert_eq!(self.identity.apply(&users()).unwrap().batch, users());
        message
    }
}

/// The plugin's own message of a [`TransformError::Failed`].
fn failed(result: Result<sabot::transform::TransformOutput, TransformError>) -> String {
    match result {
        Err(TransformError::Failed { plugin, message }) => {
            assert_eq!(plugin, "hostile");
            message
        }
        Err(other) => panic!("expected the plugin to fail the batch, got {other}"),
        Ok(out) => panic!("expected the plugin to fail the batch, got {out:?}"),
    }
}

/// The error of a call whose output the host refused.
fn bad_output(result: Result<sabot::transform::TransformOutput, TransformError>) -> TransformError {
    match result {
        Err(error @ TransformError::BadOutput { .. }) => {
            assert!(!error.is_crash());
            error
        }
        Err(other) => panic!("expected the host to refuse the output, got {other}"),
        Ok(out) => panic!("expected the host to refuse the output, got {out:?}"),
    }
}

/// The error of a call that crashed the instance.
fn crashed(result: Result<sabot::transform::TransformOutput, TransformError>) -> TransformError {
    match result {
        Err(error) if error.is_crash() => error,
        Err(other) => panic!("expected the plugin to crash, got {other}"),
        Ok(out) => panic!("expected the plugin to crash, got {out:?}"),
    }
}

/// The seconds in a `clock: N s since the epoch` message.
fn clock_seconds(message: &str) -> u64 {
    message
        .strip_prefix("clock: ")
        .and_then(|rest| rest.strip_suffix(" s since the epoch"))
        .unwrap_or_else(|| panic!("not a clock message: {message}"))
        .parse()
        .unwrap()
}

#[test]
fn the_hosts_files_cannot_be_read() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "read-file"}), Grants::default());
    // With no folder opened for it, no path names a file.
    assert_eq!(
        sandbox.failure(&mut hostile),
        "read `/etc/passwd` failed: No such file or directory (os error 44)"
    );
}

#[test]
fn nothing_can_be_written_without_a_folder() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "write-file"}), Grants::default());
    assert_eq!(
        sandbox.failure(&mut hostile),
        "write `/data/x` failed: No such file or directory (os error 44)"
    );
}

#[test]
fn a_socket_cannot_be_opened_even_to_localhost() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(
        json!({"attempt": "connect", "addr": addr}),
        Grants::default(),
    );
    assert_eq!(
        sandbox.failure(&mut hostile),
        format!("connect `{addr}` failed: Permission denied (os error 2)")
    );
    let accepted = listener.accept();
    assert_eq!(
        accepted.map(|(_, peer)| peer).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the plugin reached the listener"
    );
}

#[test]
fn the_environment_is_empty() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "env"}), Grants::default());
    assert_eq!(
        sandbox.failure(&mut hostile),
        "env: 0 variables; HOME: not set"
    );
}

#[test]
fn the_wall_clock_stands_at_the_epoch_unless_granted() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "clock"}), Grants::default());
    assert_eq!(sandbox.failure(&mut hostile), "clock: 0 s since the epoch");

    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let grants = Grants {
        wall_clock: true,
        ..Grants::default()
    };
    let mut granted = sandbox.hostile(json!({"attempt": "clock"}), grants);
    let seen = clock_seconds(&sandbox.failure(&mut granted));
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (before..=after).contains(&seen),
        "the granted clock read {seen} s, not between {before} and {after}"
    );
}

#[test]
fn a_granted_folder_can_be_read_but_not_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("note.txt"), "hello from the host").unwrap();
    let grants = Grants {
        read_dir: Some(dir.path().to_owned()),
        ..Grants::default()
    };
    let mut sandbox = Sandbox::new();

    let mut reader = sandbox.hostile(
        json!({"attempt": "read-file", "path": "/data/note.txt"}),
        grants.clone(),
    );
    assert_eq!(
        sandbox.failure(&mut reader),
        "read `/data/note.txt`: ok, 19 bytes: hello from the host"
    );

    let mut writer = sandbox.hostile(json!({"attempt": "write-file"}), grants.clone());
    assert_eq!(
        sandbox.failure(&mut writer),
        "write `/data/x` failed: Operation not permitted (os error 63)"
    );
    assert!(!dir.path().join("x").exists(), "the plugin created a file");

    // Outside the folder the host's files stay out of reach.
    let mut escaper = sandbox.hostile(
        json!({"attempt": "read-file", "path": "/data/../etc/passwd"}),
        grants.clone(),
    );
    assert_eq!(
        sandbox.failure(&mut escaper),
        "read `/data/../etc/passwd` failed: Operation not permitted (os error 63)"
    );

    // So do they through a link inside the folder.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "not for plugins").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link")).unwrap();
    let mut linker = sandbox.hostile(
        json!({"attempt": "read-file", "path": "/data/link"}),
        grants,
    );
    assert_eq!(
        sandbox.failure(&mut linker),
        "read `/data/link` failed: Operation not permitted (os error 63)"
    );
}

#[test]
fn a_trap_fails_the_batch_and_the_next_one_gets_a_fresh_instance() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.crashing("trap", Limits::default());
    let error = sandbox.crash(&mut hostile);
    let TransformError::Trap { plugin, message } = &error else {
        panic!("expected a trap, got {error:?}");
    };
    assert_eq!(plugin, "hostile");
    assert!(
        message.contains("wasm `unreachable` instruction executed"),
        "{message}"
    );
    assert!(
        error.to_string().starts_with("plugin `hostile` crashed: "),
        "{error}"
    );
}

#[test]
fn an_endless_loop_is_stopped_by_its_deadline() {
    let mut sandbox = Sandbox::new();
    let limits = Limits {
        timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let mut hostile = sandbox.crashing("spin", limits);
    assert_eq!(
        sandbox.crash(&mut hostile).to_string(),
        "plugin `hostile` did not finish within 100ms; raise the transform's timeout if it is slow \
         rather than stuck"
    );
}

#[test]
fn an_endless_loop_is_stopped_by_its_fuel_budget() {
    let mut sandbox = Sandbox::new();
    // A deadline far off, so that only the fuel can stop it.
    let limits = Limits {
        timeout: Duration::from_secs(60),
        fuel: Some(5_000_000),
        ..Limits::default()
    };
    let mut hostile = sandbox.crashing("spin", limits);
    assert_eq!(
        sandbox.crash(&mut hostile).to_string(),
        "plugin `hostile` ran out of fuel (5000000 units); raise the transform's `fuel` if it is \
         slow rather than stuck"
    );

    // A well-behaved plugin within a generous budget passes its rows.
    let identity = Plugin::load_metered(&sandbox.engine, &dist("identity")).unwrap();
    let mut metered = Transform::new(
        &identity,
        &Value::Null,
        Limits {
            fuel: Some(1 << 32),
            ..Limits::default()
        },
        "sandbox",
    )
    .unwrap();
    for _ in 0..3 {
        assert_eq!(metered.apply(&users()).unwrap().batch, users());
    }
}

#[test]
fn memory_growth_is_stopped_by_the_memory_limit() {
    let mut sandbox = Sandbox::new();
    let limits = Limits {
        max_memory: 32 << 20,
        ..Limits::default()
    };
    let mut hostile = sandbox.crashing("grow-memory", limits);
    assert_eq!(
        sandbox.crash(&mut hostile).to_string(),
        "plugin `hostile` ran out of memory: it tried to grow past its limit of 32 MiB; raise the \
         transform's memory limit or send smaller batches"
    );
}

#[test]
fn garbage_instead_of_a_batch_is_refused_and_the_plugin_keeps_serving() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "garbage"}), Grants::default());
    assert_eq!(
        sandbox.refused(&mut hostile).to_string(),
        "plugin `hostile` returned a bad result: its batch is not a complete Arrow IPC stream: \
         Ipc error: Unexpected End of Stream"
    );
}

#[test]
fn more_rows_than_given_are_refused_and_the_plugin_keeps_serving() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "extra-rows"}), Grants::default());
    assert_eq!(
        sandbox.refused(&mut hostile).to_string(),
        "plugin `hostile` returned a bad result: it returned 4 rows for a batch of 2; a plugin \
         may only keep or drop rows"
    );
}

#[test]
fn a_column_no_sink_writes_passes_the_plugin_and_fails_the_encoder() {
    let mut sandbox = Sandbox::new();
    let mut hostile = sandbox.hostile(json!({"attempt": "bad-schema"}), Grants::default());
    let out = hostile.apply(&users()).unwrap();
    assert!(out.rejected.is_empty());
    let schema = out.batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "name", "__key", "__offset", "elapsed"]);
    for i in 0..4 {
        assert_eq!(out.batch.column(i), users().column(i));
    }

    let (mut bytes, mut ends) = (Vec::new(), Vec::new());
    let err = JsonEncoder::new()
        .encode(&out.batch, &mut bytes, &mut ends)
        .unwrap_err();
    assert_eq!(
        err,
        EncodeError::Unsupported {
            column: "elapsed".to_owned(),
            data_type: "duration(ms)".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        "column `elapsed` has type `duration(ms)`, which the JSON encoder does not write; \
         cast it in a transform to a type the schema reference lists"
    );
    assert!(bytes.is_empty() && ends.is_empty());

    // The instance and its neighbour carry on.
    assert_eq!(hostile.apply(&users()).unwrap().batch, out.batch);
    assert_eq!(sandbox.identity.apply(&users()).unwrap().batch, users());
}
