//! `sabot plugin new`, `build` and `test`, end to end through the binary:
//! scaffold a plugin, build it for wasm32-wasip2, and run it over its
//! sample.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest a step may take before the test gives up on it: a cold
/// release build of the SDK and arrow for WebAssembly takes minutes.
const STEP_LIMIT: Duration = Duration::from_secs(20 * 60);

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Run the `sabot` binary with `args`, killing it after [`STEP_LIMIT`].
fn sabot(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sabot"))
        .args(args)
        // The examples' target folder already holds the SDK's dependencies
        // built with the same profile, which the new crate reuses.
        .env("CARGO_TARGET_DIR", repo().join("plugins/target"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > STEP_LIMIT {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "`sabot {}` did not finish in {STEP_LIMIT:?}; stderr:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Standard output as text, asserting the command succeeded.
fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn a_new_plugin_builds_and_passes_its_sample() {
    // Outside a checkout, as a plugin author starts: the crate gets a copy
    // of the SDK and builds on its own.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("shout");
    let created = sabot(&["plugin", "new", "shout", "--dir", dir.to_str().unwrap()]);
    assert_eq!(ok(&created).trim(), dir.display().to_string());
    let said = String::from_utf8_lossy(&created.stderr);
    assert!(said.contains("with a copy of the plugin SDK in"), "{said}");
    assert!(dir.join("sabot-plugin-sdk/wit/plugin.wit").exists());

    let component = ok(&sabot(&["plugin", "build", dir.to_str().unwrap()]));
    let component = PathBuf::from(component.trim());
    assert_eq!(
        component,
        repo().join("plugins/target/wasm32-wasip2/release/shout.wasm")
    );
    assert!(component.exists());

    let sample = dir.join("sample.jsonl");
    let expected = dir.join("expected.jsonl");
    let out = ok(&sabot(&[
        "plugin",
        "test",
        component.to_str().unwrap(),
        "--input",
        sample.to_str().unwrap(),
        "--config",
        "field=name",
        "--expect",
        expected.to_str().unwrap(),
    ]));
    assert_eq!(
        out,
        "{\"id\":1,\"name\":\"ANN\"}\n{\"id\":2,\"name\":null}\n{\"id\":3,\"name\":\"BO\"}\n"
    );

    // Another expectation fails the command, naming the first difference.
    std::fs::write(
        &expected,
        "{\"id\":1,\"name\":\"ANN\"}\n{\"id\":2,\"name\":\"X\"}\n",
    )
    .unwrap();
    let output = sabot(&[
        "plugin",
        "test",
        component.to_str().unwrap(),
        "--input",
        sample.to_str().unwrap(),
        "--config",
        "field=name",
        "--expect",
        expected.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "output differs from `{}` at line 2:\n  expected: {{\"id\":2,\"name\":\"X\"}}\n  actual:   {{\"id\":2,\"name\":null}}\n",
            expected.display()
        )
    );

    // A config the plugin refuses is an error in its words.
    let output = sabot(&[
        "plugin",
        "test",
        component.to_str().unwrap(),
        "--input",
        sample.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("plugin `shout` rejected its config: "),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
