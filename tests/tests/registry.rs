//! The embedded schema registry of `sabot serve --registry-listen`, driven
//! by a client nobody here wrote: confluent-kafka's `SchemaRegistryClient`
//! (with its Avro serializer and deserializer), from
//! `tests/python/registry_client.py`. Then the server is killed and started
//! again on the same state folder, and what was registered is still there.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sabot_tests::{python, repo_root, sabot_bin};
use serde_json::{Value, json};

/// How long the server may take to answer, and the script to finish.
const TIMEOUT: Duration = Duration::from_secs(60);

/// `sabot serve` with the registry, killed when dropped.
struct Serve {
    child: Child,
    registry_port: u16,
}

impl Serve {
    /// Start `sabot serve` with its registry on a free port of 127.0.0.1,
    /// keeping the registry's state in `state`, and wait until the
    /// registry answers.
    fn start(state: &Path, log: &Path) -> Serve {
        let registry_port = free_port();
        let log_file = std::fs::File::create(log).expect("a log file");
        let mut command = Command::new(sabot_bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--registry-listen", &format!("127.0.0.1:{registry_port}")])
            .arg("--registry-state")
            .arg(state)
            .current_dir(repo_root())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the log file"))
            .stderr(log_file);
        // SAFETY: the closure runs in the forked child before `exec` and
        // calls only `prctl`, which is async-signal-safe; it allocates
        // nothing and takes no lock.
        unsafe {
            command.pre_exec(|| {
                // The server dies with the thread that started it, should
                // the test die before dropping it.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("`sabot serve` starts");
        let mut serve = Serve {
            child,
            registry_port,
        };
        let started = Instant::now();
        while get(registry_port, "/").map(|(status, _)| status) != Some(200) {
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!(
                    "`sabot serve` exited ({status}):\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "the registry did not answer within {TIMEOUT:?}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.registry_port)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// `GET path` on 127.0.0.1:`port`: the status and the JSON body, or `None`
/// when nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw).ok()?;
    let status = raw.split(' ').nth(1)?.parse().ok()?;
    let (_, body) = raw.split_once("\r\n\r\n")?;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// Run `command` to its end, killing it after [`TIMEOUT`].
fn run_bounded(mut command: Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let started = Instant::now();
    while child.try_wait().expect("the command runs").is_none() {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let output = child.wait_with_output().expect("its output");
            panic!(
                "the command ran over {TIMEOUT:?}:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("its output")
}

fn order(fields: Value) -> Value {
    json!({ "type": "record", "name": "Order", "namespace": "shop", "fields": fields })
}

#[test]
fn confluent_kafka_registers_evolves_and_reads_schemas() {
    let dir = tempfile::tempdir().expect("a folder");
    let state = dir.path().join("registry");
    let serve = Serve::start(&state, &dir.path().join("serve.log"));

    let mut command = Command::new(python());
    command
        .arg(repo_root().join("tests/python/registry_client.py"))
        .arg(serve.url());
    let output = run_bounded(command);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the client script failed ({}):\n{stdout}\n{}\nthe server's log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default()
    );
    let got: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");

    let v1 = order(json!([{ "name": "id", "type": "long" }]));
    let v2 = order(json!([
        { "name": "id", "type": "long" },
        { "name": "note", "type": "string", "default": "" },
    ]));
    let incompatible = "Schema being registered is incompatible with an earlier schema for subject \"orders-value\", details: [the new schema cannot read data written with version 2 (BACKWARD): field `id`: the writer's type `Long` cannot be read as `String`]";
    let version = |version: u32, id: u32, schema: &Value| json!({ "subject": "orders-value", "version": version, "id": id, "schema": schema });
    let expected = json!({
        "types": ["AVRO", "JSON", "PROTOBUF"],
        "register_v1": 1,
        "register_v2": 2,
        "register_v1_again": 1,
        "register_v3": { "status": 409, "code": 409, "message": incompatible },
        "compatible_v3": false,
        "compatible_v2_all": true,
        "schema_1": { "schema": v1, "type": "AVRO" },
        "schema_2": { "schema": v2, "type": "AVRO" },
        "schema_99": { "status": 404, "code": 40403, "message": "Schema 99 not found" },
        "subjects": ["orders-value"],
        "versions": [1, 2],
        "latest": version(2, 2, &v2),
        "version_1": version(1, 1, &v1),
        "version_7": { "status": 404, "code": 40402, "message": "Version 7 not found." },
        "lookup_v1": version(1, 1, &v1),
        "missing_subject": { "status": 404, "code": 40401, "message": "Subject 'nope' not found." },
        "compatibility_global": "BACKWARD",
        "compatibility_subject_unset": {
            "status": 404,
            "code": 40408,
            "message": "Subject 'orders-value' does not have subject-level compatibility configured",
        },
        "set_compatibility": { "compatibility": "NONE" },
        "compatibility_subject": "NONE",
        "set_compatibility_bad": {
            "status": 422,
            "code": 42203,
            "message": "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
        },
        "register_v3_under_none": 3,
        "versions_after": [1, 2, 3],
        "other_v1": 1,
        "schema_1_versions": [
            { "subject": "orders-value", "version": 1 },
            { "subject": "other-value", "version": 1 },
        ],
        "delete_other": [1],
        "delete_other_again": {
            "status": 404,
            "code": 40404,
            "message": "Subject 'other-value' was soft deleted. Set permanent=true to delete permanently",
        },
        "delete_other_permanent": [1],
        "subjects_after": ["orders-value"],
        // Magic 0, schema id 2, then the Avro datum: id 42 (zig-zag 0x54),
        // note "fragile" (length 7 as 0x0e, then its bytes).
        "framed": "0000000002540e66726167696c65",
        "deserialized": { "id": 42, "note": "fragile" },
    });
    assert_eq!(got, expected, "the client's answers:\n{stdout}");

    // Killed without a chance to save anything, started again on the same
    // folder: every registered version is there.
    drop(serve);
    let again = Serve::start(&state, &dir.path().join("serve-again.log"));
    let port = again.registry_port;
    assert_eq!(get(port, "/subjects"), Some((200, json!(["orders-value"]))));
    assert_eq!(
        get(port, "/subjects/orders-value/versions"),
        Some((200, json!([1, 2, 3])))
    );
    assert_eq!(
        get(port, "/config/orders-value"),
        Some((200, json!({ "compatibilityLevel": "NONE" })))
    );
    let schema_2 = get(port, "/schemas/ids/2").expect("an answer");
    assert_eq!(schema_2.0, 200);
    let text = schema_2.1["schema"].as_str().expect("the schema's text");
    assert_eq!(serde_json::from_str::<Value>(text).expect("JSON"), v2);
}
