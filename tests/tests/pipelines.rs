//! The example pipelines of `pipelines/`, run by the real `sabot` binary
//! against a real Kafka broker, with the real plugins of `plugins/dist`.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use sabot_tests::{ConsumedRecord, TestRecord, kafka, repo_root, sabot_bin, tansu, unique_name};

#[test]
fn orders_flow_through_filter_and_mask_to_a_topic_and_a_file() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    const N: u64 = 100_000;
    let records: Vec<TestRecord> = (0..N).map(order).collect();
    let positions = broker.produce(&run.input, &records);
    let position_of: HashMap<(i32, i64), u64> = positions
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i as u64))
        .collect();

    let out = run.run_both();
    assert_success(&out);

    // The output topic: exactly the kept orders, keyed, masked, with headers.
    let kept: Vec<u64> = (0..N).filter(|i| is_kept(*i)).collect();
    let output = broker.consume_all(&run.out_topic, kept.len(), Duration::from_secs(60));
    assert_eq!(output.len(), kept.len(), "records in the output topic");
    let mut seen = BTreeSet::new();
    for r in &output {
        let v = r.value_json();
        let id = v["id"].as_u64().expect("id");
        assert!(
            is_kept(id),
            "order {id} should have been filtered or dead-lettered"
        );
        assert!(seen.insert(id), "order {id} written twice");
        assert_eq!(r.key_str(), Some(format!("customer-{}", id % 977).as_str()));
        assert_eq!(
            v["customer"]["email"],
            serde_json::json!(hmac_hex("test-mask-key", &format!("user{id}@example.com")))
        );
        assert_eq!(v["customer"]["tier"], "gold");
        assert_eq!(v["amount"].as_f64(), Some((id % 200) as f64 + 0.5));
        assert_eq!(v["currency"], "EUR");
        assert_eq!(header(r, "source"), Some("test"));
        assert_eq!(header(r, "seq"), Some(id.to_string().as_str()));
        // Metadata columns are never part of the value.
        assert!(
            v.get("__key").is_none() && v.get("__offset").is_none(),
            "{v}"
        );
    }

    // The file: the same orders, with the fixed mask.
    let lines = run.file_lines();
    assert_eq!(lines.len(), kept.len(), "lines in the file");
    let file_ids: BTreeSet<u64> = lines
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(file_ids, kept.iter().copied().collect::<BTreeSet<u64>>());
    assert!(lines.iter().all(|v| v["customer"]["email"] == "***"));

    // The dead-letter topics: every malformed record, as it was, with why.
    let bad: Vec<u64> = (0..N).filter(|i| expected_reason(*i).is_some()).collect();
    for dlq in [&run.dlq_topic, &run.file_dlq_topic] {
        let dead = broker.consume_all(dlq, bad.len(), Duration::from_secs(60));
        assert_eq!(dead.len(), bad.len(), "records in {dlq}");
        let mut ids = BTreeSet::new();
        for r in &dead {
            let partition: i32 = header(r, "sabot.error.partition")
                .expect("partition")
                .parse()
                .expect("int");
            let offset: i64 = header(r, "sabot.error.offset")
                .expect("offset")
                .parse()
                .expect("int");
            let i = position_of[&(partition, offset)];
            ids.insert(i);
            let original = order(i);
            assert_eq!(r.value, original.value, "original bytes of record {i}");
            assert_eq!(r.key, original.key);
            assert_eq!(header(r, "seq"), Some(i.to_string().as_str()));
            assert_eq!(header(r, "sabot.error.topic"), Some(run.input.as_str()));
            assert_eq!(header(r, "sabot.error.stage"), Some("decode"));
            assert_eq!(header(r, "sabot.error.class"), Some("decode"));
            let message = header(r, "sabot.error.message").expect("message");
            let want = expected_reason(i).expect("a bad record");
            assert!(
                message.contains(want),
                "record {i}: {message:?} should mention {want:?}"
            );
        }
        assert_eq!(ids, bad.iter().copied().collect::<BTreeSet<u64>>());
    }

    // Both groups committed exactly to the end of every partition.
    let end = broker.end_offsets(&run.input);
    assert_eq!(end.values().sum::<i64>(), N as i64);
    assert_eq!(broker.committed(&run.group, &run.input), end);
    assert_eq!(broker.committed(&run.file_group, &run.input), end);

    // A second run moves nothing.
    let again = run.run_both();
    assert_success(&again);
    assert!(
        stderr(&again).contains("orders-to-topic: done") && stderr(&again).contains("0 records in"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        broker.end_offsets(&run.out_topic).values().sum::<i64>(),
        kept.len() as i64
    );
    assert_eq!(run.file_lines().len(), kept.len());
}

#[test]
fn the_orders_pipelines_also_run_on_tansu() {
    let broker = tansu();
    let run = OrdersRun::new(broker, 3);
    const N: u64 = 5_000;
    let records: Vec<TestRecord> = (0..N).map(order).collect();
    broker.produce(&run.input, &records);
    let out = run.run_both();
    assert_success(&out);
    let kept: BTreeSet<u64> = (0..N).filter(|i| is_kept(*i)).collect();
    let output = broker.consume_all(&run.out_topic, kept.len(), Duration::from_secs(60));
    let ids: BTreeSet<u64> = output
        .iter()
        .map(|r| r.value_json()["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(output.len(), kept.len());
    assert_eq!(ids, kept);
    let file_ids: BTreeSet<u64> = run
        .file_lines()
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(file_ids, kept);
    let bad = (0..N).filter(|i| expected_reason(*i).is_some()).count();
    assert_eq!(
        broker
            .consume_all(&run.dlq_topic, bad, Duration::from_secs(30))
            .len(),
        bad
    );
    let end = broker.end_offsets(&run.input);
    assert_eq!(broker.committed(&run.group, &run.input), end);
    assert_eq!(broker.committed(&run.file_group, &run.input), end);
}

#[test]
fn a_killed_sabot_loses_nothing() {
    let broker = kafka();
    let run = OrdersRun::new(broker, 3);
    // A stream that keeps coming while sabot is killed.
    let stream = OrderStream::start(broker, &run.input, 500, Duration::from_millis(100));

    // Kill it several times mid-stream, then let it finish.
    for (round, delay_ms) in [700u64, 1100, 900].into_iter().enumerate() {
        let mut cmd = Command::new(sabot_bin());
        cmd.args(["run", &pipeline("orders-to-file.yaml"), "--progress", "0"])
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .env("RUST_LOG", "warn");
        for (k, v) in &run.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("sabot starts");
        // Wait until it has written something, then a little more.
        let before = run.file_lines().len();
        assert!(
            wait_until(Duration::from_secs(60), || run.file_lines().len() > before),
            "round {round}: nothing was written"
        );
        std::thread::sleep(Duration::from_millis(delay_ms / 4));
        // SAFETY: the pid is of the child this test started and still owns.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        eprintln!(
            "round {round}: killed with {} lines written",
            run.file_lines().len()
        );
    }
    let n = stream.stop().len() as u64;
    let out = sabot(
        &[
            "run",
            &pipeline("orders-to-file.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &run.env,
    );
    assert_success(&out);

    let lines = run.file_lines();
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for v in &lines {
        *counts.entry(v["id"].as_u64().expect("id")).or_default() += 1;
    }
    let kept: BTreeSet<u64> = (0..n).filter(|i| is_kept(*i)).collect();
    let missing: Vec<&u64> = kept.iter().filter(|i| !counts.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "{} kept orders missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let unexpected: Vec<&u64> = counts.keys().filter(|i| !kept.contains(i)).collect();
    assert!(
        unexpected.is_empty(),
        "orders that should not be there: {unexpected:?}"
    );
    let duplicates: usize = counts.values().map(|c| c - 1).sum();
    eprintln!(
        "{} orders, {} duplicates after three kills",
        kept.len(),
        duplicates
    );
    assert_eq!(
        broker.committed(&run.file_group, &run.input),
        broker.end_offsets(&run.input)
    );
}

/// The first `n` orders of the quickstart's generator (seed 42, 1 %
/// malformed): the well-formed ones over 100 by id, and how many are
/// malformed.
fn quickstart_orders(n: usize) -> (BTreeMap<u64, serde_json::Value>, usize) {
    let mut generator = sabot::source::datagen::OrderGenerator::new(42, 0.01);
    let mut kept = BTreeMap::new();
    let mut bad = 0;
    for _ in 0..n {
        let (_, value, _) = generator.next_record();
        match value
            .as_deref()
            .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
        {
            Some(v) if v["amount"].is_number() => {
                if v["amount"].as_f64().expect("number") > 100.0 {
                    kept.insert(v["id"].as_u64().expect("id"), v);
                }
            }
            _ => bad += 1,
        }
    }
    (kept, bad)
}

#[test]
fn the_quickstart_runs_on_the_embedded_broker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("quickstart.jsonl");
    let out = sabot(
        &[
            "run",
            &pipeline("quickstart.yaml"),
            "--until-idle",
            "--progress",
            "1",
        ],
        &[
            ("QUICKSTART_RECORDS", "20000".to_owned()),
            ("QUICKSTART_OUT", file.display().to_string()),
        ],
    );
    assert_success(&out);

    // The same generator, run here, says what must come out.
    let (kept, bad) = quickstart_orders(20_000);
    let expected: BTreeSet<u64> = kept.keys().copied().collect();
    let text = std::fs::read_to_string(&file).expect("the output file");
    let mut ids = BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(v["amount"].as_f64().expect("amount") > 100.0);
        let email = v["customer"]["email"].as_str().expect("email");
        assert_eq!(email.len(), 64, "a hex HMAC-SHA256, not {email}");
        assert!(!email.contains('@'));
        assert!(ids.insert(v["id"].as_u64().expect("id")));
    }
    assert_eq!(ids, expected);
    let err = stderr(&out);
    assert!(err.contains("embedded broker"), "{err}");
    assert!(err.contains("records/s"), "{err}");
    // The summary line counts every record: kept, filtered, dead-lettered.
    let summary = err
        .lines()
        .find(|l| l.starts_with("quickstart: done in "))
        .unwrap_or_else(|| panic!("no summary line in:\n{err}"));
    let filtered = 20_000 - bad - expected.len();
    assert!(
        summary.contains(&format!(
            ": 20000 records in, {} out, {filtered} filtered, {bad} dead-lettered (",
            expected.len()
        )),
        "{summary}"
    );
}

#[test]
fn the_avro_quickstart_writes_parquet_with_the_embedded_registry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let parquet = dir.path().join("parquet");
    let out = sabot(
        &[
            "run",
            &pipeline("quickstart-avro.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &[
            ("QUICKSTART_RECORDS", "20000".to_owned()),
            ("QUICKSTART_PARQUET", parquet.display().to_string()),
        ],
    );
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("embedded schema registry"), "{err}");

    // What the generator made: the well-formed orders over 100 come out,
    // the malformed ones are dead-lettered.
    let (expected, bad) = quickstart_orders(20_000);
    let read = Command::new(sabot_tests::python())
        .arg(repo_root().join("tests/python/schema_interop.py"))
        .args(["parquet", &parquet.display().to_string()])
        .output()
        .expect("python runs");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&read.stdout).expect("JSON rows");
    assert_eq!(rows.len(), expected.len());
    let mut seen = BTreeSet::new();
    for row in &rows {
        let id = row["id"].as_u64().expect("id");
        assert!(seen.insert(id), "order {id} written twice");
        let want = expected
            .get(&id)
            .unwrap_or_else(|| panic!("order {id} should not be there"));
        assert_eq!(
            row["amount"].as_f64(),
            want["amount"].as_f64(),
            "order {id}"
        );
        for field in ["currency", "items", "status", "coupon", "paid"] {
            assert_eq!(row[field], want[field], "order {id}: `{field}`");
        }
        assert_eq!(row["customer"]["id"], want["customer"]["id"]);
        for masked in ["name", "email"] {
            let value = row["customer"][masked].as_str().expect("a string");
            assert_eq!(value.len(), 64, "a hex HMAC-SHA256, not {value}");
            assert_ne!(Some(value), want["customer"][masked].as_str());
        }
    }
    let summary = err
        .lines()
        .find(|l| l.starts_with("quickstart-avro: done in "))
        .unwrap_or_else(|| panic!("no summary line in:\n{err}"));
    assert!(
        summary.contains(&format!(
            ": 20000 records in, {} out, {} filtered, {bad} dead-lettered (",
            expected.len(),
            20_000 - bad - expected.len()
        )),
        "{summary}"
    );
}

#[test]
fn passthrough_copies_records_as_they_are() {
    let broker = kafka();
    let input = broker.new_topic("raw-in", 2);
    let output = broker.new_topic("raw-out", 2);
    let records: Vec<TestRecord> = (0..2_000u32)
        .map(|i| {
            TestRecord::keyed(format!("k{i}"), i.to_be_bytes().repeat(3))
                .with_header("h", Some(format!("v{i}")))
                .with_timestamp(1_700_000_000_000 + i as i64)
        })
        .collect();
    broker.produce(&input, &records);
    let group = unique_name("passthrough");
    let out = sabot(
        &[
            "run",
            &pipeline("passthrough.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &[
            ("KAFKA_BROKERS", broker.bootstrap()),
            ("PASSTHROUGH_IN", input.clone()),
            ("PASSTHROUGH_OUT", output.clone()),
            ("PASSTHROUGH_GROUP", group.clone()),
        ],
    );
    assert_success(&out);
    let copied = broker.consume_all(&output, 2_000, Duration::from_secs(30));
    assert_eq!(copied.len(), 2_000);
    let by_key: HashMap<String, &ConsumedRecord> = copied
        .iter()
        .map(|r| (r.key_str().expect("key").to_owned(), r))
        .collect();
    for (i, original) in records.iter().enumerate() {
        let r = by_key[&format!("k{i}")];
        assert_eq!(r.value, original.value);
        assert_eq!(r.headers, original.headers);
        assert_eq!(r.timestamp, original.timestamp);
    }
    assert_eq!(broker.committed(&group, &input), broker.end_offsets(&input));
}

#[test]
fn github_webhooks_come_through_intact_or_dead_lettered_with_a_reason() {
    let broker = kafka();
    let examples: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sabot_tests::webhooks_examples()).expect("the examples file"),
    )
    .expect("examples JSON");
    let mut payloads: Vec<serde_json::Value> = Vec::new();
    for event in examples.as_array().expect("a list of events") {
        for example in event["examples"].as_array().expect("examples") {
            payloads.push(example.clone());
        }
    }
    assert_eq!(
        payloads.len(),
        329,
        "payloads in @octokit/webhooks-examples 7.6.1"
    );

    let topic = broker.new_topic("webhooks", 1);
    let records: Vec<TestRecord> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| TestRecord::keyed(format!("event-{i}"), serde_json::to_vec(p).expect("json")))
        .collect();
    let positions = broker.produce(&topic, &records);

    // Inferred from every record, the schema holds every field: all of
    // them come through. Inferred from the first 40 only, the records
    // with fields those lacked are dead-lettered, naming the field.
    let everything = run_webhooks(broker, &topic, &payloads, &positions, 1000);
    assert_eq!(
        everything,
        Vec::<String>::new(),
        "no record is dead-lettered"
    );
    let dead = run_webhooks(broker, &topic, &payloads, &positions, 40);
    assert!(
        !dead.is_empty() && dead.len() < payloads.len(),
        "{} of {} dead-lettered",
        dead.len(),
        payloads.len()
    );
}

/// Run the webhooks pipeline over `topic` with a schema inferred from
/// `infer_records` records; check that every payload is either written
/// intact (but for its masked sender) or dead-lettered with its original
/// bytes and a reason naming a field; return the reasons of those
/// dead-lettered.
fn run_webhooks(
    broker: &sabot_tests::Broker,
    topic: &str,
    payloads: &[serde_json::Value],
    positions: &[(i32, i64)],
    infer_records: usize,
) -> Vec<String> {
    let dlq = broker.new_topic("webhooks-dlq", 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("webhooks.jsonl");
    let out = sabot(
        &[
            "run",
            &pipeline("github-webhooks.yaml"),
            "--until-idle",
            "--progress",
            "0",
        ],
        &[
            ("KAFKA_BROKERS", broker.bootstrap()),
            ("WEBHOOKS_TOPIC", topic.to_owned()),
            ("WEBHOOKS_GROUP", unique_name("webhooks")),
            ("WEBHOOKS_FILE", file.display().to_string()),
            ("WEBHOOKS_DLQ_TOPIC", dlq.clone()),
            ("WEBHOOKS_INFER_RECORDS", infer_records.to_string()),
        ],
    );
    assert_success(&out);

    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let dead = broker.consume_all(&dlq, 0, Duration::from_secs(10));
    assert_eq!(
        lines.len() + dead.len(),
        payloads.len(),
        "{} written + {} dead-lettered",
        lines.len(),
        dead.len()
    );
    let mut dead_offsets: BTreeSet<i64> = BTreeSet::new();
    let mut reasons = Vec::new();
    for r in &dead {
        let offset: i64 = header(r, "sabot.error.offset")
            .expect("offset")
            .parse()
            .expect("int");
        dead_offsets.insert(offset);
        let message = header(r, "sabot.error.message").expect("message");
        assert!(
            message.contains("field `"),
            "the reason names a field: {message}"
        );
        reasons.push(message.to_owned());
        // The original bytes, untouched.
        let i = positions
            .iter()
            .position(|(_, o)| *o == offset)
            .expect("a produced offset");
        let original: serde_json::Value =
            serde_json::from_slice(r.value.as_deref().expect("a value")).expect("JSON");
        assert_eq!(original, payloads[i], "dead-lettered payload {i}");
    }
    // Lines come in offset order: pair each with its payload.
    let mut written = lines.iter();
    for (i, payload) in payloads.iter().enumerate() {
        if dead_offsets.contains(&positions[i].1) {
            continue;
        }
        let line = written
            .next()
            .expect("a line for every record not dead-lettered");
        let mut want = payload.clone();
        if let Some(sender) = want.get_mut("sender").and_then(|s| s.as_object_mut()) {
            if sender.get("login").is_some_and(|l| l.is_string()) {
                sender.insert("login".into(), serde_json::json!("<masked>"));
            }
        }
        if let Err(e) = json_equivalent(&want, line, "") {
            panic!("payload {i}: {e}");
        }
    }
    reasons
}

#[test]
fn every_pipeline_file_validates() {
    let dir = repo_root().join("pipelines");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("pipelines/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    // Each of these is run by a test of this file or of schemas.rs.
    assert_eq!(
        names,
        [
            "avro-orders-to-parquet.yaml",
            "avro-orders.yaml",
            "github-webhooks.yaml",
            "orders-python.yaml",
            "orders-to-file.yaml",
            "orders-to-topic.yaml",
            "passthrough.yaml",
            "protobuf-orders.yaml",
            "quickstart-avro.yaml",
            "quickstart.yaml"
        ]
    );
    let mut args = vec!["validate".to_owned(), "--offline".to_owned()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sabot(&refs, &[]);
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        10,
        "{stdout}"
    );
    assert!(
        stdout.contains("pipeline `quickstart`: kafka orders → [filter → mask] → file"),
        "{stdout}"
    );
}

#[test]
fn bad_input_gets_one_clear_message_and_moves_nothing() {
    let broker = kafka();
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = repo_root().join("plugins/dist");
    let topic = broker.new_topic("bad-input", 1);
    broker.produce(&topic, &[TestRecord::value("{\"amount\": 500}")]);
    let group = unique_name("bad-input");
    let base = format!(
        "apiVersion: sabot/v1\nname: bad\nsource:\n  kafka:\n    brokers: {}\n    topics: [{topic}]\n    group: {group}\n\
         transforms:\n  - plugin: {}/filter.wasm\n    config: {{ field: amount, op: \">\", value: 1 }}\nsink:\n  stdout: {{}}\n",
        broker.bootstrap(),
        plugins.display()
    );
    let not_wasm = write(dir.path(), "not.wasm", "this is not wasm");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "invalid-yaml.yaml",
            "apiVersion: sabot/v1\nname: [oops\n".to_owned(),
            vec!["invalid YAML (line"],
        ),
        (
            "unknown-key.yaml",
            base.replace("    group:", "    gruop: x\n    group:"),
            vec!["source.kafka.gruop: unknown key; did you mean `group`?"],
        ),
        (
            "missing-var.yaml",
            base.replace(&broker.bootstrap(), "${env:SABOT_SURELY_NOT_SET}"),
            vec!["source.kafka.brokers: environment variable `SABOT_SURELY_NOT_SET` is not set"],
        ),
        (
            "missing-plugin.yaml",
            base.replace("filter.wasm", "nope.wasm"),
            vec!["transforms[0].plugin: no plugin file at", "nope.wasm"],
        ),
        (
            "invalid-plugin.yaml",
            base.replace(&format!("{}/filter.wasm", plugins.display()), &not_wasm),
            vec!["transforms[0].plugin:", "not.wasm"],
        ),
        (
            "rejected-config.yaml",
            base.replace("op: \">\"", "op: \"~\""),
            vec!["transforms[0].config:", "filter", "`op`"],
        ),
        (
            "unreachable.yaml",
            base.replace(&broker.bootstrap(), "127.0.0.1:1"),
            vec!["source.kafka.brokers: cannot reach the brokers `127.0.0.1:1`"],
        ),
    ];
    for (name, text, wants) in cases {
        let file = write(dir.path(), name, &text);
        let out = sabot(
            &["run", &file, "--until-idle", "--connect-timeout", "3"],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: exit code; stderr:\n{}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains(&file),
            "{name}: the message names the file: {err}"
        );
        for want in wants {
            assert!(err.contains(want), "{name}: {want:?} not in:\n{err}");
        }
        assert!(out.stdout.is_empty(), "{name}: nothing was written");
    }
    assert!(
        broker.committed(&group, &topic).is_empty(),
        "nothing was committed"
    );
}
