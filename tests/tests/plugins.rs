//! Plugins inside running pipelines: a live swap of transforms, a failing
//! plugin that only affects its own pipeline, and misbehaving plugins beside
//! a healthy pipeline in the same process: crashing ones (a trap, an endless
//! loop stopped by its deadline or its fuel budget, memory growth stopped by
//! its limit) and ones whose output the host refuses (garbage instead of an
//! Arrow IPC stream, more rows than they were given).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use sabot_tests::{Broker, TestRecord, kafka, repo_root, sabot_bin, unique_name};

/// An orders → mask(`mask`) → file pipeline on `run`'s topics.
fn masking_pipeline(broker: &Broker, run: &OrdersRun, mask: &str) -> String {
    let plugins = repo_root().join("plugins/dist");
    format!(
        "apiVersion: sabot/v1\nname: swap\nsource:\n  kafka:\n    brokers: {}\n    topics: [{}]\n    group: {}\n\
         \x20   format: {{ json: {{ schema: {{ id: int64, customer: {{ struct: {{ email: utf8 }} }}, amount: float64 }} }} }}\n\
         transforms:\n  - plugin: {}/filter.wasm\n    config: {{ field: amount, op: \">\", value: 100 }}\n\
         \x20 - plugin: {}/mask.wasm\n    config: {{ fields: [customer.email], mask: \"{mask}\" }}\n\
         sink:\n  file: {{ path: {} }}\nerrors: {{ on_bad_record: dead-letter, dead_letter_topic: {} }}\n",
        broker.bootstrap(),
        run.input,
        run.file_group,
        plugins.display(),
        plugins.display(),
        run.file.display(),
        run.file_dlq_topic
    )
}

#[test]
fn a_transform_swapped_while_running_loses_and_repeats_nothing() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        "swap.yaml",
        &masking_pipeline(broker, &run, "AAA"),
    );
    broker.produce(
        &run.input,
        &(0..20_000).map(order).collect::<Vec<TestRecord>>(),
    );
    let first: BTreeSet<u64> = (0..20_000).filter(|i| is_kept(*i)).collect();

    let mut child = Command::new(sabot_bin())
        .args(["run", &file, "--watch", "--progress", "0"])
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "info")
        .spawn()
        .expect("sabot starts");
    // Read its standard error all along (a full pipe would stall it), into
    // a buffer the test can look at while it runs.
    let mut pipe = child.stderr.take().expect("piped stderr");
    let seen_so_far = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let buffer = seen_so_far.clone();
    let stderr_reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match std::io::Read::read(&mut pipe, &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => buffer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
        buffer.lock().unwrap_or_else(|p| p.into_inner()).clone()
    });
    let logged = |what: &str| {
        seen_so_far
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(what)
    };
    assert!(wait_until(Duration::from_secs(60), || run
        .file_lines()
        .len()
        >= first.len()));

    // Change the mask in the file; the running pipeline swaps it in. The
    // file is written beside and renamed into place, so the watcher never
    // reads half of it.
    let fresh = write(
        dir.path(),
        "swap.yaml.new",
        &masking_pipeline(broker, &run, "BBB"),
    );
    std::fs::rename(&fresh, &file).expect("rename");
    assert!(
        wait_until(Duration::from_secs(60), || logged("transforms swapped")),
        "the swap was not logged"
    );
    broker.produce(
        &run.input,
        &(20_000..40_000).map(order).collect::<Vec<TestRecord>>(),
    );
    let second: BTreeSet<u64> = (20_000..40_000).filter(|i| is_kept(*i)).collect();
    assert!(wait_until(Duration::from_secs(60), || {
        run.file_lines().len() >= first.len() + second.len()
    }));
    // SAFETY: the pid is of the child this test started and still owns.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("sabot exits");
    let err = stderr_reader.join().unwrap_or_default();
    assert!(status.success(), "{err}");
    assert!(err.contains("transforms swapped"), "{err}");

    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    for v in run.file_lines() {
        let id = v["id"].as_u64().expect("id");
        let email = v["customer"]["email"].as_str().expect("email").to_owned();
        assert!(seen.insert(id, email).is_none(), "order {id} written twice");
    }
    let ids: BTreeSet<u64> = seen.keys().copied().collect();
    assert_eq!(ids, first.union(&second).copied().collect());
    for id in &first {
        assert_eq!(seen[id], "AAA", "order {id} was read before the swap");
    }
    for id in &second {
        assert_eq!(seen[id], "BBB", "order {id} was read after the swap");
    }
    assert_eq!(
        broker.committed(&run.file_group, &run.input),
        broker.end_offsets(&run.input)
    );
}

#[test]
fn a_failing_plugin_dead_letters_its_batches_and_leaves_other_pipelines_alone() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    const N: u64 = 5_000;
    broker.produce(&run.input, &(0..N).map(order).collect::<Vec<TestRecord>>());
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = repo_root().join("plugins/dist");
    let broken_dlq = broker.new_topic("broken-dlq", 1);
    let broken_out = dir.path().join("broken.jsonl");
    // `require: true` on a field no batch has: the plugin fails every batch.
    let broken = write(
        dir.path(),
        "broken.yaml",
        &format!(
            "apiVersion: sabot/v1\nname: broken\nsource:\n  kafka:\n    brokers: {}\n    topics: [{}]\n    group: {}\n\
             \x20   format: {{ json: {{ schema: {{ id: int64, amount: float64 }} }} }}\n\
             transforms:\n  - plugin: {}/mask.wasm\n    config: {{ fields: [nowhere], require: true }}\n\
             sink:\n  file: {{ path: {} }}\nerrors: {{ on_bad_record: dead-letter, dead_letter_topic: {broken_dlq} }}\n",
            broker.bootstrap(),
            run.input,
            unique_name("broken"),
            plugins.display(),
            broken_out.display()
        ),
    );
    let out = sabot(
        &[
            "run",
            &broken,
            &pipeline("orders-to-file.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &run.env,
    );
    assert_success(&out);

    // The healthy pipeline did all its work.
    let kept: BTreeSet<u64> = (0..N).filter(|i| is_kept(*i)).collect();
    let ids: BTreeSet<u64> = run
        .file_lines()
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids, kept);

    // The broken one wrote nothing and dead-lettered every record, as it was.
    assert_eq!(std::fs::read_to_string(&broken_out).unwrap_or_default(), "");
    let dead = broker.consume_all(&broken_dlq, N as usize, Duration::from_secs(30));
    assert_eq!(dead.len(), N as usize);
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    for r in &dead {
        let class = r.header("sabot.error.class").flatten().expect("class");
        *classes
            .entry(String::from_utf8_lossy(class).into_owned())
            .or_default() += 1;
        if class == b"plugin-failed" {
            let message = String::from_utf8_lossy(
                r.header("sabot.error.message").flatten().expect("message"),
            )
            .into_owned();
            assert!(
                message.contains("plugin `mask`") && message.contains("`nowhere`"),
                "{message}"
            );
            assert_eq!(
                r.header("sabot.error.stage").flatten(),
                Some(&b"transform:mask"[..])
            );
        }
    }
    let undecodable = (0..N).filter(|i| expected_reason(*i).is_some()).count();
    assert_eq!(classes.get("decode").copied().unwrap_or(0), undecodable);
    assert_eq!(
        classes.get("plugin-failed").copied().unwrap_or(0),
        N as usize - undecodable
    );
}

#[test]
fn the_python_plugin_runs_in_a_pipeline() {
    let broker = kafka();
    let topic = broker.new_topic("py-orders", 2);
    let dlq = broker.new_topic("py-orders-dlq", 1);
    let records: Vec<TestRecord> = (0..2_000u64)
        .map(|i| {
            let status = if i % 4 == 0 { "cancelled" } else { "paid" };
            TestRecord::keyed(
                format!("k{i}"),
                format!("{{\"id\":{i},\"status\":\"{status}\",\"note\":\"call me at {i}\",\"amount\":{i}.25}}"),
            )
        })
        .collect();
    broker.produce(&topic, &records);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("py.jsonl");
    let out = sabot(
        &[
            "run",
            &pipeline("orders-python.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &[
            ("KAFKA_BROKERS", broker.bootstrap()),
            ("PY_ORDERS_TOPIC", topic.clone()),
            ("PY_ORDERS_GROUP", unique_name("py")),
            ("PY_ORDERS_FILE", file.display().to_string()),
            ("PY_ORDERS_DLQ_TOPIC", dlq.clone()),
        ],
    );
    assert_success(&out);
    let text = std::fs::read_to_string(&file).expect("output");
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let id = v["id"].as_u64().expect("id");
        assert_eq!(v["status"], "paid");
        assert_eq!(v["note"], "[redacted]");
        assert_eq!(v["amount"].as_f64(), Some(id as f64 + 0.25));
        ids.insert(id);
    }
    assert_eq!(ids, (0..2_000).filter(|i| i % 4 != 0).collect());
    assert!(
        broker
            .consume_all(&dlq, 0, Duration::from_secs(5))
            .is_empty()
    );
}

/// A pipeline named `name` reading `input` through the hostile plugin making
/// `attempt`, with the transform's `limits` lines (YAML at its indentation),
/// into the file `out`, dead-lettering to `dlq`.
fn hostile_pipeline(
    broker: &Broker,
    name: &str,
    input: &str,
    attempt: &str,
    limits: &str,
    out: &std::path::Path,
    dlq: &str,
) -> String {
    format!(
        "apiVersion: sabot/v1\nname: {name}\nsource:\n  kafka:\n    brokers: {}\n    topics: [{input}]\n    group: {}\n\
         \x20   format: {{ json: {{ schema: {{ id: int64, name: utf8 }} }} }}\n\
         transforms:\n  - plugin: {}/hostile.wasm\n    config: {{ attempt: {attempt} }}\n{limits}\
         sink:\n  file: {{ path: {} }}\nerrors: {{ on_bad_record: dead-letter, dead_letter_topic: {dlq} }}\n",
        broker.bootstrap(),
        unique_name(name),
        repo_root().join("plugins/dist").display(),
        out.display()
    )
}

/// What the dead-letter message of every row of a misbehaving pipeline must
/// be.
#[derive(Debug, Clone, Copy)]
enum Says {
    /// Exactly this.
    Exactly(&'static str),
    /// That the plugin trapped on `unreachable`.
    Trapped,
    /// That the plugin returned twice the rows of its batch.
    Doubled,
}

impl Says {
    /// Assert that `text`, the message of a row of pipeline `name`, says
    /// this.
    fn check(self, name: &str, text: &str) {
        match self {
            Says::Exactly(message) => assert_eq!(text, message, "{name}"),
            Says::Trapped => {
                assert!(
                    text.starts_with("plugin `hostile` crashed: "),
                    "{name}: {text}"
                );
                assert!(
                    text.contains("wasm `unreachable` instruction executed"),
                    "{name}: {text}"
                );
            }
            Says::Doubled => {
                let counts = text
                    .strip_prefix("plugin `hostile` returned a bad result: it returned ")
                    .and_then(|t| t.strip_suffix("; a plugin may only keep or drop rows"))
                    .and_then(|t| t.split_once(" rows for a batch of "));
                let Some((returned, given)) = counts else {
                    panic!("{name}: {text}");
                };
                let given: usize = given.parse().expect("rows given");
                assert!(given >= 1, "{name}: {text}");
                assert_eq!(
                    returned.parse::<usize>().ok(),
                    Some(2 * given),
                    "{name}: {text}"
                );
            }
        }
    }
}

#[test]
fn misbehaving_plugins_dead_letter_their_rows_and_a_pipeline_beside_them_delivers_everything() {
    let broker = kafka();
    let dir = tempfile::tempdir().expect("tempdir");

    // What the crashing pipelines read.
    const HOSTILE_RECORDS: usize = 60;
    let hostile_input = broker.new_topic("hostile-in", 2);
    let hostile_records: Vec<TestRecord> = (0..HOSTILE_RECORDS)
        .map(|i| TestRecord::keyed(format!("h{i}"), format!("{{\"id\":{i},\"name\":\"n{i}\"}}")))
        .collect();
    broker.produce(&hostile_input, &hostile_records);

    // Each way to misbehave, with the class and the error every one of its
    // rows must carry: a crash throws the instance away, refused output is
    // the plugin failing the batch.
    let cases = [
        ("hostile-trap", "trap", "", "plugin-crash", Says::Trapped),
        (
            "hostile-spin",
            "spin",
            "    timeout: 100ms\n",
            "plugin-crash",
            Says::Exactly(
                "plugin `hostile` did not finish within 100ms; raise the transform's timeout if \
                 it is slow rather than stuck",
            ),
        ),
        (
            "hostile-fuel",
            "spin",
            "    timeout: 60s\n    fuel: 5000000\n",
            "plugin-crash",
            Says::Exactly(
                "plugin `hostile` ran out of fuel (5000000 units); raise the transform's `fuel` \
                 if it is slow rather than stuck",
            ),
        ),
        (
            "hostile-memory",
            "grow-memory",
            "    max_memory: 32MiB\n",
            "plugin-crash",
            Says::Exactly(
                "plugin `hostile` ran out of memory: it tried to grow past its limit of 32 MiB; \
                 raise the transform's memory limit or send smaller batches",
            ),
        ),
        (
            "hostile-garbage",
            "garbage",
            "",
            "plugin-failed",
            Says::Exactly(
                "plugin `hostile` returned a bad result: its batch is not a complete Arrow IPC \
                 stream: Ipc error: Unexpected End of Stream",
            ),
        ),
        (
            "hostile-extra-rows",
            "extra-rows",
            "",
            "plugin-failed",
            Says::Doubled,
        ),
    ];
    let mut files = Vec::new();
    let mut expectations = Vec::new();
    for (name, attempt, limits, class, says) in cases {
        let dlq = broker.new_topic(&format!("{name}-dlq"), 1);
        let out = dir.path().join(format!("{name}.jsonl"));
        let text = hostile_pipeline(broker, name, &hostile_input, attempt, limits, &out, &dlq);
        files.push(write(dir.path(), &format!("{name}.yaml"), &text));
        expectations.push((name, dlq, out, class, says));
    }

    // The healthy pipeline, on a topic of its own.
    const GOOD_RECORDS: u64 = 3_000;
    let good_input = broker.new_topic("neighbour-in", 3);
    let good_out = broker.new_topic("neighbour-out", 3);
    let good_records: Vec<TestRecord> = (0..GOOD_RECORDS)
        .map(|i| {
            TestRecord::keyed(
                format!("k{i}"),
                format!("{{\"id\":{i},\"email\":\"user{i}@example.com\",\"amount\":{i}.25}}"),
            )
        })
        .collect();
    broker.produce(&good_input, &good_records);
    let good = write(
        dir.path(),
        "neighbour.yaml",
        &format!(
            "apiVersion: sabot/v1\nname: neighbour\nsource:\n  kafka:\n    brokers: {}\n    topics: [{good_input}]\n    group: {}\n\
             \x20   format: {{ json: {{ schema: {{ id: int64, email: utf8, amount: float64 }} }} }}\n\
             transforms:\n  - plugin: {}/mask.wasm\n    config: {{ fields: [email], mask: \"***\" }}\n\
             sink:\n  kafka: {{ topic: {good_out} }}\n",
            broker.bootstrap(),
            unique_name("neighbour"),
            repo_root().join("plugins/dist").display(),
        ),
    );
    files.push(good);

    let mut args = vec!["run"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--until-idle", "--progress", "0"]);
    let out = sabot(&args, &[]);
    assert_success(&out);

    // The neighbour delivered every record once, masked and otherwise as it was.
    let delivered = broker.consume_all(&good_out, GOOD_RECORDS as usize, Duration::from_secs(30));
    assert_eq!(delivered.len(), GOOD_RECORDS as usize);
    let mut seen: BTreeMap<u64, serde_json::Value> = BTreeMap::new();
    for r in &delivered {
        let value = r.value_json();
        let id = value["id"].as_u64().expect("id");
        assert_eq!(r.key_str(), Some(format!("k{id}").as_str()));
        assert!(
            seen.insert(id, value).is_none(),
            "record {id} delivered twice"
        );
    }
    let expected: BTreeMap<u64, serde_json::Value> = (0..GOOD_RECORDS)
        .map(|i| {
            (
                i,
                serde_json::json!({"id": i, "email": "***", "amount": i as f64 + 0.25}),
            )
        })
        .collect();
    assert_eq!(seen, expected);

    // Every misbehaving pipeline wrote nothing and dead-lettered every row,
    // as it was, naming the plugin and what happened to it.
    let produced: BTreeSet<(String, String)> = hostile_records
        .iter()
        .map(|r| {
            (
                String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned(),
                String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(),
            )
        })
        .collect();
    for (name, dlq, file, class, says) in &expectations {
        assert_eq!(
            std::fs::read_to_string(file).unwrap_or_default(),
            "",
            "{name} wrote to its sink"
        );
        let dead = broker.consume_all(dlq, HOSTILE_RECORDS, Duration::from_secs(30));
        assert_eq!(dead.len(), HOSTILE_RECORDS, "{name}");
        let mut originals = BTreeSet::new();
        for r in &dead {
            assert_eq!(header(r, "sabot.error.class"), Some(*class), "{name}");
            assert_eq!(
                header(r, "sabot.error.stage"),
                Some("transform:hostile"),
                "{name}"
            );
            assert_eq!(header(r, "sabot.error.pipeline"), Some(*name));
            assert_eq!(header(r, "sabot.error.topic"), Some(hostile_input.as_str()));
            says.check(name, header(r, "sabot.error.message").expect("message"));
            originals.insert((
                r.key_str().expect("key").to_owned(),
                r.value_str().expect("value").to_owned(),
            ));
        }
        assert_eq!(originals, produced, "{name}");
    }
}
