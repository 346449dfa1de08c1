//! How `sabot run` behaves around the data: signals, rebalances, routing,
//! the command line itself.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use sabot_tests::{TestRecord, kafka, repo_root, sabot_bin, unique_name};

/// A `sabot run` in the background; its standard error is read all along
/// (a full pipe would stall it).
struct Running {
    child: Child,
    stderr: std::thread::JoinHandle<Vec<u8>>,
}

/// Start `sabot run FILE` in the background with `env`.
fn spawn(file: &str, env: &[(&str, String)]) -> Running {
    let mut cmd = Command::new(sabot_bin());
    cmd.args(["run", file, "--progress", "0"])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sabot starts");
    let mut pipe = child.stderr.take().expect("piped stderr");
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut pipe, &mut bytes);
        bytes
    });
    Running { child, stderr }
}

/// SIGTERM `running` and wait (bounded) for it to exit.
fn terminate(running: Running) -> std::process::Output {
    let Running { mut child, stderr } = running;
    // SAFETY: the pid is of a child this test started and still owns.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on sabot") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sabot did not stop within 90 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn ids_in(lines: &[serde_json::Value]) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for v in lines {
        *counts.entry(v["id"].as_u64().expect("id")).or_default() += 1;
    }
    counts
}

fn lines_of(path: &std::path::Path) -> Vec<serde_json::Value> {
    common::complete_lines(path)
}

#[test]
fn sigterm_finishes_the_batch_commits_and_exits_zero() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    const N: u64 = 20_000;
    let records: Vec<TestRecord> = (0..N).map(order).collect();
    broker.produce(&run.input, &records);
    let kept = (0..N).filter(|i| is_kept(*i)).count();

    let child = spawn(&pipeline("orders-to-file.yaml"), &run.env);
    assert!(
        wait_until(Duration::from_secs(90), || run.file_lines().len() >= kept),
        "only {} of {kept} lines arrived",
        run.file_lines().len()
    );
    let out = terminate(child);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert!(
        stderr(&out).contains("orders-to-file: done"),
        "{}",
        stderr(&out)
    );
    assert!(run.file_is_whole(), "the file ends in a torn line");
    assert_eq!(run.file_lines().len(), kept);
    assert_eq!(
        broker.committed(&run.file_group, &run.input),
        broker.end_offsets(&run.input)
    );
}

#[test]
fn sigterm_mid_stream_commits_exactly_what_was_written() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    // A stream still coming when the signal arrives.
    let stream = OrderStream::start(broker, &run.input, 500, Duration::from_millis(50));
    let child = spawn(&pipeline("orders-to-file.yaml"), &run.env);
    assert!(
        wait_until(Duration::from_secs(60), || run.file_lines().len() >= 2_000),
        "records flow"
    );
    let out = terminate(child);
    let placed = stream.stop();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert!(run.file_is_whole(), "the file ends in a torn line");

    // What was written is exactly the kept orders below the committed
    // offsets: nothing written is left uncommitted, nothing committed is
    // missing.
    let committed = broker.committed(&run.file_group, &run.input);
    let below: BTreeSet<u64> = placed
        .iter()
        .filter(|(id, partition, offset)| {
            is_kept(*id) && committed.get(partition).is_some_and(|c| offset < c)
        })
        .map(|(id, _, _)| *id)
        .collect();
    let written = ids_in(&run.file_lines());
    assert!(written.values().all(|n| *n == 1), "an order written twice");
    let written: BTreeSet<u64> = written.keys().copied().collect();
    assert!(
        (written.len() as u64) < placed.len() as u64,
        "the stream was still coming when the signal arrived"
    );
    assert_eq!(written, below);
}

#[test]
fn a_second_member_joining_the_group_neither_loses_nor_repeats_records() {
    let broker = kafka();
    let mut run = OrdersRun::new(broker, 4);
    let file_a = run.file.clone();
    let file_b = run.file.with_file_name("orders-b.jsonl");

    // A steady stream, kept up until the second member has written records
    // of its own (at least 20 chunks, at most 80), so it joins while records
    // are flowing however long the rebalance takes.
    let input = run.input.clone();
    let watched = file_b.clone();
    let producer = std::thread::spawn(move || {
        let mut chunk = 0u64;
        while chunk < 80 && (chunk < 20 || lines_of(&watched).is_empty()) {
            let records: Vec<TestRecord> =
                (chunk * 3_000..(chunk + 1) * 3_000).map(order).collect();
            broker.produce(&input, &records);
            chunk += 1;
            std::thread::sleep(Duration::from_millis(400));
        }
        chunk * 3_000
    });

    let first = spawn(&pipeline("orders-to-file.yaml"), &run.env);
    assert!(wait_until(Duration::from_secs(60), || !lines_of(&file_a).is_empty()));
    // The second member: same group, its own file.
    for (k, v) in run.env.iter_mut() {
        if *k == "ORDERS_FILE" {
            *v = file_b.display().to_string();
        }
    }
    let second = spawn(&pipeline("orders-to-file.yaml"), &run.env);
    let all = || {
        let mut ids = ids_in(&lines_of(&file_a));
        for (id, n) in ids_in(&lines_of(&file_b)) {
            *ids.entry(id).or_default() += n;
        }
        ids
    };
    let produced = producer.join().expect("the producer thread");
    let kept: BTreeSet<u64> = (0..produced).filter(|i| is_kept(*i)).collect();
    assert!(
        wait_until(Duration::from_secs(120), || all().len() >= kept.len()),
        "only {} of {} orders arrived",
        all().len(),
        kept.len()
    );
    let out_a = terminate(first);
    let out_b = terminate(second);
    assert_eq!(out_a.status.code(), Some(0), "{}", stderr(&out_a));
    assert_eq!(out_b.status.code(), Some(0), "{}", stderr(&out_b));
    for file in [&file_a, &file_b] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            text.ends_with('\n'),
            "{} ends in a torn line",
            file.display()
        );
    }

    let ids = all();
    assert_eq!(ids.keys().copied().collect::<BTreeSet<u64>>(), kept);
    let repeated: Vec<(&u64, &usize)> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "{} orders written twice across the rebalance, e.g. {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    assert!(
        !lines_of(&file_b).is_empty(),
        "the second member got partitions"
    );
    assert_eq!(
        broker.committed(&run.file_group, &run.input),
        broker.end_offsets(&run.input)
    );
}

#[test]
fn rows_are_routed_and_keyed_by_their_fields_from_regex_topics() {
    let broker = kafka();
    let prefix = unique_name("route");
    let in_a = format!("{prefix}-in-a");
    let in_b = format!("{prefix}-in-b");
    let default_topic = format!("{prefix}-out-default");
    let other_topic = format!("{prefix}-out-other");
    for t in [&in_a, &in_b, &default_topic, &other_topic] {
        broker.create_topic(t, 1);
    }
    let make = |i: u64| {
        let dest = if i % 3 == 0 {
            format!("\"{other_topic}\"")
        } else {
            "null".to_owned()
        };
        TestRecord::value(format!(
            "{{\"n\":{i},\"user\":\"u{}\",\"dest\":{dest}}}",
            i % 7
        ))
    };
    broker.produce(&in_a, &(0..30).map(make).collect::<Vec<_>>());
    broker.produce(&in_b, &(30..60).map(make).collect::<Vec<_>>());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "route.yaml",
        &format!(
            "apiVersion: sabot/v1\nname: route\nsource:\n  kafka:\n    brokers: {}\n    topics_regex: \"^{prefix}-in-.*\"\n    group: {}\n\
             sink:\n  kafka:\n    topic: {default_topic}\n    topic_field: dest\n    key_field: user\n",
            broker.bootstrap(),
            unique_name("route")
        ),
    );
    let out = sabot(&["run", &file, "--until-idle", "--progress", "0"], &[]);
    assert_success(&out);
    let other = broker.consume_all(&other_topic, 20, Duration::from_secs(30));
    let default = broker.consume_all(&default_topic, 40, Duration::from_secs(30));
    let ns = |records: &[sabot_tests::ConsumedRecord]| -> BTreeSet<u64> {
        records
            .iter()
            .map(|r| r.value_json()["n"].as_u64().expect("n"))
            .collect()
    };
    assert_eq!(ns(&other), (0..60).filter(|i| i % 3 == 0).collect());
    assert_eq!(ns(&default), (0..60).filter(|i| i % 3 != 0).collect());
    for r in other.iter().chain(&default) {
        let n = r.value_json()["n"].as_u64().expect("n");
        assert_eq!(r.key_str(), Some(format!("u{}", n % 7).as_str()));
    }
}

#[test]
fn the_stdout_sink_prints_one_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "stdout.yaml",
        "apiVersion: sabot/v1\nname: print\nsource:\n  datagen: { records: 5, seed: 3 }\nsink:\n  stdout: {}\n",
    );
    let out = sabot(&["run", &file, "--until-idle", "--progress", "0"], &[]);
    assert_success(&out);
    let text = String::from_utf8(out.stdout).expect("utf8");
    let ids: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_u64()
                .expect("id")
        })
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

#[test]
fn until_idle_ends_for_a_member_that_owns_no_partition() {
    let broker = kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let topic = broker.new_topic("lonely", 1);
    broker.produce(&topic, &(10..20u64).map(order).collect::<Vec<TestRecord>>());
    let group = unique_name("lonely");
    let pipeline = |name: &str, subscription: &str, out: &str| {
        write(
            dir.path(),
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: sabot/v1\nname: {name}\nsource:\n  kafka:\n    brokers: {}\n    {subscription}\n\
                 \x20   group: {group}\n    properties: {{ session.timeout.ms: {} }}\n\
                 sink:\n  file: {{ path: {out} }}\n",
                broker.bootstrap(),
                broker.session_timeout_ms()
            ),
        )
    };

    // A pattern no topic matches: nothing to read, so the run ends.
    let nothing = pipeline(
        "nothing",
        "topics_regex: \"^no-topic-is-named-like-this-.*\"",
        &dir.path().join("nothing.jsonl").display().to_string(),
    );
    let out = sabot(&["run", &nothing, "--until-idle", "--progress", "0"], &[]);
    assert_success(&out);
    assert!(
        !dir.path().join("nothing.jsonl").exists()
            || lines_of(&dir.path().join("nothing.jsonl")).is_empty()
    );

    // One partition, two members: the one holding it keeps running; the
    // other is given nothing, and `--until-idle` ends it.
    let first_file = dir.path().join("first.jsonl");
    let first = pipeline(
        "first",
        &format!("topics: [{topic}]"),
        &first_file.display().to_string(),
    );
    let holder = spawn(&first, &[]);
    assert!(
        wait_until(Duration::from_secs(60), || lines_of(&first_file).len()
            == 10),
        "the first member read the partition"
    );
    let second_file = dir.path().join("second.jsonl");
    let second = pipeline(
        "second",
        &format!("topics: [{topic}]"),
        &second_file.display().to_string(),
    );
    let out = sabot(&["run", &second, "--until-idle", "--progress", "0"], &[]);
    assert_success(&out);
    assert!(
        lines_of(&second_file).is_empty(),
        "nothing was left to read"
    );
    let out = terminate(holder);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(lines_of(&first_file).len(), 10);
}

#[test]
fn validate_lists_every_problem_of_every_file_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(
        dir.path(),
        "good.yaml",
        "apiVersion: sabot/v1\nname: good\nsource:\n  datagen: { records: 1 }\nsink:\n  stdout: {}\n",
    );
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: sabot/v1\nname: bad\nsource:\n  datagen: { records: 1, rat: 5 }\n\
         transforms:\n  - plugin: no-such-plugin.wasm\n\
         sink:\n  stdout: {}\nbatch: { max_wait: 5 parsecs }\n",
    );
    let out = sabot(&["validate", "--offline", &good, &bad], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "ok: `{good}`: pipeline `good`: datagen → [] → stdout"
        )),
        "{stdout}"
    );
    assert_eq!(
        stderr(&out),
        format!(
            "error: `{bad}` has 3 problems:\n  \
             source.datagen.rat: unknown key; did you mean `rate`? (valid keys here: `records`, \
             `rate`, `seed`, `bad_ratio`)\n  \
             batch.max_wait: `parsecs` is not a unit of time; use `ms`, `s`, `m` or `h`\n  \
             transforms[0].plugin: no plugin file at `{}`; build it (for the bundled plugins: \
             `plugins/build.sh`) or fix the path\n",
            dir.path().join("no-such-plugin.wasm").display()
        )
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["serve", "--help"],
        &["plugin", "--help"],
        &["plugin", "new", "--help"],
        &["plugin", "build", "--help"],
        &["plugin", "test", "--help"],
    ] {
        let out = sabot(args, &[]);
        assert_success(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: sabot"), "{args:?}: {text}");
    }
    let out = sabot(&["run", "--help"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--until-idle"));
}
