//! `sabot serve` beside the real Kafka Connect: the same REST calls go to
//! both, and their answers must agree.
//!
//! One Kafka Connect worker in distributed mode and one `sabot serve` run
//! against the suite's Kafka broker. Each gets a `FileStreamSink`
//! connector with the same flat config (its own name and file), and then
//! the same sequence of calls: create, duplicate create, read and change
//! the config, status, tasks, pause, resume, stop, offsets, restarts,
//! topics, plugins, validation, unknown connectors, malformed bodies and
//! delete. For every call the status codes must be equal and the bodies of
//! one *shape*: the same keys at the same paths, the same JSON types, state
//! names and error bodies `{"error_code": int, "message": str}`. Values
//! that legitimately differ (worker ids, versions, plugin lists, wording)
//! are not compared; values that must not differ (the broker's cluster id,
//! the offsets of the records both connectors read) are.
//!
//! The few answers where Sabot knowingly differs are listed in the calls
//! below with their reason, and the test checks each side's status there,
//! so a change on either side shows. Every difference found is collected
//! and the test fails once at the end with all of them, each with both
//! answers:
//!
//! ```text
//! cargo test -p sabot-tests --test connect_compat -- --nocapture
//! ```
//!
//! prints the listed differences as it meets them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sabot_tests::{ConnectWorker, HttpResponse, SabotServe, TestRecord, http, kafka, unique_name};
use serde_json::{Value, json};

/// How long a connector may take to reach a state, or its records a file.
const WAIT: Duration = Duration::from_secs(30);

/// The records produced before the connectors start.
const RECORDS: i64 = 3;

/// One server of the two.
struct Side {
    /// "Kafka Connect" or "Sabot", for messages.
    label: &'static str,
    /// Its REST port on 127.0.0.1.
    port: u16,
    /// Its connector's name: the two differ, so that their consumer groups
    /// (`connect-NAME` on both) do not meet on the shared broker.
    name: String,
    /// The file its connector writes.
    file: PathBuf,
}

impl Side {
    /// `path` with `{name}` replaced by this side's connector name.
    fn path(&self, path: &str) -> String {
        path.replace("{name}", &self.name)
    }

    /// One request; panics only when the server cannot be reached.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
        let path = self.path(path);
        http(self.port, method, &path, body)
            .unwrap_or_else(|error| panic!("{}: {error}", self.label))
    }

    /// The connector's state and its tasks' states.
    fn states(&self) -> (String, Vec<String>) {
        let status = self.call("GET", "/connectors/{name}/status", None).body;
        let tasks = status["tasks"]
            .as_array()
            .map(|tasks| {
                tasks
                    .iter()
                    .map(|task| task["state"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let state = status["connector"]["state"].as_str().unwrap_or("");
        (state.to_owned(), tasks)
    }

    /// The complete lines of the connector's file.
    fn lines(&self) -> usize {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|line| line.ends_with('\n'))
            .count()
    }
}

/// A request body for each side, or none.
type Bodies = [Option<String>; 2];

/// No body.
const NONE: Bodies = [None, None];

/// The same body for both sides.
fn both(text: impl Into<String>) -> Bodies {
    let text = text.into();
    [Some(text.clone()), Some(text)]
}

/// The comparison so far.
struct Compat {
    /// Kafka Connect, then Sabot.
    sides: [Side; 2],
    /// Every difference found, with both answers.
    diffs: Vec<String>,
    /// Differences expected and listed, shown as they are met.
    known: Vec<String>,
    /// The status of each side for every call so far, for context.
    transcript: Vec<String>,
}

impl Compat {
    /// Sends the call to both sides; checks that both answer `status`
    /// with bodies of one shape (keys named after the side's connector
    /// read as `{name}`).
    fn same(&mut self, status: u16, method: &str, path: &str, bodies: Bodies) -> [HttpResponse; 2] {
        self.same_but(status, method, path, bodies, &[], "")
    }

    /// [`Compat::same`], leaving out the paths at or under `sabot_extra`
    /// in Sabot's answer: what it adds to Kafka Connect's shape, for the
    /// reason `why`.
    fn same_but(
        &mut self,
        status: u16,
        method: &str,
        path: &str,
        bodies: Bodies,
        sabot_extra: &[&str],
        why: &str,
    ) -> [HttpResponse; 2] {
        let answers = self.exchange(method, path, &bodies);
        let mut found = Vec::new();
        for (side, answer) in self.sides.iter().zip(&answers) {
            if answer.status != status {
                found.push(format!(
                    "{} answered {}, expected {status}",
                    side.label, answer.status
                ));
            }
            found.extend(error_shape(side, answer));
        }
        // Bodies of different statuses have different shapes by nature.
        if answers[0].status != answers[1].status {
            self.record(method, path, &answers, found);
            return answers;
        }
        let kafka = Shape::of(&answers[0].body, &self.sides[0].name);
        let mut sabot = Shape::of(&answers[1].body, &self.sides[1].name);
        if !sabot_extra.is_empty() {
            let extra = sabot.remove_under(sabot_extra);
            if !extra.is_empty() {
                self.note(method, path, &format!("Sabot adds {extra:?}: {why}"));
            }
        }
        found.extend(kafka.differences(&sabot));
        self.record(method, path, &answers, found);
        answers
    }

    /// Sends a call where the two are known to answer differently: checks
    /// each side's status (and the error shape of error answers).
    fn known(
        &mut self,
        statuses: (u16, u16),
        why: &str,
        method: &str,
        path: &str,
        bodies: Bodies,
    ) -> [HttpResponse; 2] {
        let answers = self.exchange(method, path, &bodies);
        let mut found = Vec::new();
        for ((side, answer), expected) in self
            .sides
            .iter()
            .zip(&answers)
            .zip([statuses.0, statuses.1])
        {
            if answer.status != expected {
                found.push(format!(
                    "{} answered {}, expected {expected} (a listed difference: {why})",
                    side.label, answer.status
                ));
            }
            found.extend(error_shape(side, answer));
        }
        if found.is_empty() {
            self.note(
                method,
                path,
                &format!("Kafka Connect {}, Sabot {}: {why}", statuses.0, statuses.1),
            );
        }
        self.record(method, path, &answers, found);
        answers
    }

    /// Checks a value both sides must agree on exactly.
    fn check(&mut self, what: &str, kafka: &Value, sabot: &Value, expected: &Value) {
        self.check_side(what, 0, kafka, expected);
        self.check_side(what, 1, sabot, expected);
    }

    /// Checks a value of side `index` (0 Kafka Connect, 1 Sabot).
    fn check_side(&mut self, what: &str, index: usize, value: &Value, expected: &Value) {
        if value != expected {
            let label = self.sides[index].label;
            self.diffs.push(format!(
                "== {what}\n   {label} has {value}, expected {expected}"
            ));
        }
    }

    /// Polls both sides until the connector and every task are in `state`
    /// (and there are `tasks` tasks); a side that never gets there fails
    /// the test with everything found so far.
    fn wait_for_state(&mut self, state: &str, tasks: usize) {
        for side in &self.sides {
            let deadline = Instant::now() + WAIT;
            loop {
                let (connector, task_states) = side.states();
                let wanted = connector == state
                    && task_states.len() == tasks
                    && task_states.iter().all(|task| task == state);
                if wanted {
                    break;
                }
                if Instant::now() > deadline {
                    self.diffs.push(format!(
                        "== waiting for {state} with {tasks} task(s)\n   {} stayed at {connector} with tasks {task_states:?}",
                        side.label
                    ));
                    self.fail();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Waits until both connectors have written `lines` lines.
    fn wait_for_lines(&mut self, lines: usize) {
        for side in &self.sides {
            let deadline = Instant::now() + WAIT;
            while side.lines() < lines {
                if Instant::now() > deadline {
                    self.diffs.push(format!(
                        "== waiting for {lines} lines in `{}`\n   {} wrote {}",
                        side.file.display(),
                        side.label,
                        side.lines()
                    ));
                    self.fail();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Panics with every difference found, if any.
    fn finish(&self) {
        if !self.diffs.is_empty() {
            self.fail();
        }
    }

    /// Panics with every difference found.
    fn fail(&self) -> ! {
        panic!(
            "`sabot serve` and Kafka Connect differ in {} place(s):\n\n{}\n\n\
             the calls so far:\n{}\n\nthe listed differences met so far:\n{}",
            self.diffs.len(),
            self.diffs.join("\n\n"),
            self.transcript.join("\n"),
            self.known.join("\n")
        );
    }

    /// Sends `method path` to both sides.
    fn exchange(&mut self, method: &str, path: &str, bodies: &Bodies) -> [HttpResponse; 2] {
        let [kafka, sabot] = &self.sides;
        let answers = [
            kafka.call(method, path, bodies[0].as_deref()),
            sabot.call(method, path, bodies[1].as_deref()),
        ];
        self.transcript.push(format!(
            "{method} {path}: Kafka Connect {}, Sabot {}",
            answers[0].status, answers[1].status
        ));
        answers
    }

    /// Keeps the differences of one call, with both answers.
    fn record(
        &mut self,
        method: &str,
        path: &str,
        answers: &[HttpResponse; 2],
        found: Vec<String>,
    ) {
        if found.is_empty() {
            return;
        }
        let mut text = format!("== {method} {path}");
        for (side, answer) in self.sides.iter().zip(answers) {
            text.push_str(&format!(
                "\n   {} {}: {}",
                side.label,
                answer.status,
                shorten(&answer.text)
            ));
        }
        for difference in found {
            text.push_str(&format!("\n   - {difference}"));
        }
        self.diffs.push(text);
    }

    /// Shows a listed difference.
    fn note(&mut self, method: &str, path: &str, text: &str) {
        let line = format!("{method} {path}: {text}");
        eprintln!("listed difference: {line}");
        self.known.push(line);
    }
}

/// What is wrong with an error answer's body, if anything: it must be
/// exactly `{"error_code": STATUS, "message": "..."}`.
fn error_shape(side: &Side, answer: &HttpResponse) -> Vec<String> {
    if answer.status < 400 {
        return Vec::new();
    }
    let keys: BTreeSet<&str> = answer
        .body
        .as_object()
        .map(|body| body.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let good = keys == BTreeSet::from(["error_code", "message"])
        && answer.body["error_code"] == json!(answer.status)
        && answer.body["message"].is_string();
    if good {
        Vec::new()
    } else {
        vec![format!(
            "{}'s error body is not {{\"error_code\": {}, \"message\": str}}",
            side.label, answer.status
        )]
    }
}

/// At most 600 characters of an answer.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 600 {
        return text.to_owned();
    }
    let head: String = text.chars().take(600).collect();
    format!("{head}…")
}

/// The shape of a JSON value: the JSON types seen at each path. An array's
/// elements share the path `PATH[]`; an object key equal to the side's
/// connector name reads `{name}`.
#[derive(Debug, Default)]
struct Shape {
    /// Path → JSON types seen there.
    types: BTreeMap<String, BTreeSet<&'static str>>,
}

impl Shape {
    /// The shape of `value`.
    fn of(value: &Value, name: &str) -> Shape {
        let mut shape = Shape::default();
        shape.add("$", value, name);
        shape
    }

    /// Adds `value` at `path`.
    fn add(&mut self, path: &str, value: &Value, name: &str) {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        self.types.entry(path.to_owned()).or_default().insert(kind);
        match value {
            Value::Array(items) => {
                let inner = format!("{path}[]");
                for item in items {
                    self.add(&inner, item, name);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let key = if key == name { "{name}" } else { key.as_str() };
                    self.add(&format!("{path}.{key}"), item, name);
                }
            }
            _ => {}
        }
    }

    /// Removes the paths at or under `paths`; returns those removed.
    fn remove_under(&mut self, paths: &[&str]) -> Vec<String> {
        let removed: Vec<String> = self
            .types
            .keys()
            .filter(|path| paths.iter().any(|p| is_under(path, p)))
            .cloned()
            .collect();
        for path in &removed {
            self.types.remove(path);
        }
        removed
    }

    /// Every way `other` (Sabot) differs from `self` (Kafka Connect).
    fn differences(&self, other: &Shape) -> Vec<String> {
        let mut found = Vec::new();
        let paths: BTreeSet<&String> = self.types.keys().chain(other.types.keys()).collect();
        for path in paths {
            match (self.types.get(path), other.types.get(path)) {
                (Some(kafka), Some(sabot)) if !same_types(path, kafka, sabot) => {
                    found.push(format!(
                        "`{path}`: Kafka Connect has {}, Sabot has {}",
                        names(kafka),
                        names(sabot)
                    ));
                }
                (Some(kafka), None) if !other.only_empty_above(path) => found.push(format!(
                    "`{path}` ({}) is in Kafka Connect's answer only",
                    names(kafka)
                )),
                (None, Some(sabot)) if !self.only_empty_above(path) => found.push(format!(
                    "`{path}` ({}) is in Sabot's answer only",
                    names(sabot)
                )),
                _ => {}
            }
        }
        found
    }

    /// Whether `path` lies inside an array this shape has seen only
    /// empty: the other side's elements cannot be compared with nothing.
    fn only_empty_above(&self, path: &str) -> bool {
        let mut end = path.len();
        while let Some(at) = path[..end].rfind("[]") {
            let array = &path[..at];
            let has_array = self.types.get(array).is_some_and(|t| t.contains("array"));
            let element = format!("{array}[]");
            let has_elements = self.types.keys().any(|p| is_under(p, &element));
            if has_array && !has_elements {
                return true;
            }
            end = at;
        }
        false
    }
}

/// Whether `path` is `prefix` or below it.
fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
}

/// Whether the types at `path` agree. Inside arrays, where the elements
/// of one list are merged, `null` stands for an unset optional value and
/// is left out of the comparison.
fn same_types(path: &str, kafka: &BTreeSet<&str>, sabot: &BTreeSet<&str>) -> bool {
    if !path.contains("[]") {
        return kafka == sabot;
    }
    let kafka: BTreeSet<&&str> = kafka.iter().filter(|t| **t != "null").collect();
    let sabot: BTreeSet<&&str> = sabot.iter().filter(|t| **t != "null").collect();
    kafka.is_empty() || sabot.is_empty() || kafka == sabot
}

/// `a | b` for messages.
fn names(types: &BTreeSet<&str>) -> String {
    types.iter().copied().collect::<Vec<_>>().join(" | ")
}

/// The flat config both connectors get: a `FileStreamSink` reading
/// `topic` as schemaless JSON into `file`.
fn sink_config(topic: &str, file: &Path) -> Value {
    json!({
        "connector.class": "FileStreamSink",
        "tasks.max": "1",
        "topics": topic,
        "file": file.display().to_string(),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    })
}

/// A body for each side built from that side.
fn each(sides: &[Side; 2], body: impl Fn(&Side) -> Value) -> Bodies {
    [
        Some(body(&sides[0]).to_string()),
        Some(body(&sides[1]).to_string()),
    ]
}

/// An offsets body (or answer) for partition 0 of `topic`.
fn offsets(topic: &str, offset: i64) -> Value {
    json!({ "offsets": [{
        "partition": { "kafka_topic": topic, "kafka_partition": 0 },
        "offset": { "kafka_offset": offset },
    }]})
}

#[test]
fn sabot_serve_answers_the_rest_calls_as_kafka_connect_does() {
    let broker = kafka();
    let topic = broker.new_topic("compat", 1);
    let records: Vec<TestRecord> = (0..RECORDS)
        .map(|i| TestRecord::value(format!("{{\"id\":{i},\"item\":\"box-{i}\"}}")))
        .collect();
    broker.produce(&topic, &records);

    let connect = ConnectWorker::start(broker).unwrap_or_else(|error| panic!("{error}"));
    let serve = SabotServe::start(&broker.bootstrap()).unwrap_or_else(|error| panic!("{error}"));
    let mut run = Compat {
        sides: [
            Side {
                label: "Kafka Connect",
                port: connect.port(),
                name: unique_name("compat-kc"),
                file: connect.dir().join("sink.txt"),
            },
            Side {
                label: "Sabot",
                port: serve.port(),
                name: unique_name("compat-sabot"),
                file: serve.dir().join("sink.jsonl"),
            },
        ],
        diffs: Vec::new(),
        known: Vec::new(),
        transcript: Vec::new(),
    };
    let config = |side: &Side| sink_config(&topic, &side.file);

    // The server: both name the broker's cluster.
    let [kafka_root, sabot_root] = run.same(200, "GET", "/", NONE);
    run.check(
        "the `kafka_cluster_id` of `GET /`",
        &kafka_root.body["kafka_cluster_id"],
        &sabot_root.body["kafka_cluster_id"],
        &kafka_root.body["kafka_cluster_id"].clone(),
    );

    // Create, and create again.
    let create = each(
        &run.sides,
        |side| json!({ "name": side.name, "config": config(side) }),
    );
    run.same(201, "POST", "/connectors", create.clone());
    run.same(409, "POST", "/connectors", create);
    run.wait_for_state("RUNNING", 1);

    let [kafka_list, sabot_list] = run.same(200, "GET", "/connectors", NONE);
    let names = [json!([run.sides[0].name]), json!([run.sides[1].name])];
    run.check_side("`GET /connectors`", 0, &kafka_list.body, &names[0]);
    run.check_side("`GET /connectors`", 1, &sabot_list.body, &names[1]);
    run.same(200, "GET", "/connectors/{name}", NONE);
    run.same(200, "GET", "/connectors/{name}/config", NONE);
    run.same(
        200,
        "PUT",
        "/connectors/{name}/config",
        each(&run.sides, config),
    );
    run.same(
        200,
        "PATCH",
        "/connectors/{name}/config",
        both(r#"{"tasks.max": "1"}"#),
    );
    run.wait_for_state("RUNNING", 1);
    run.same(200, "GET", "/connectors/{name}/status", NONE);
    run.same(200, "GET", "/connectors/{name}/tasks", NONE);
    run.same(200, "GET", "/connectors/{name}/tasks/0/status", NONE);
    run.same(404, "GET", "/connectors/{name}/tasks/7/status", NONE);
    run.same(200, "GET", "/connectors?expand=status", NONE);
    run.same(200, "GET", "/connectors?expand=info", NONE);

    // The records reach both files; offsets are read while running.
    run.wait_for_lines(RECORDS as usize);
    run.same(200, "GET", "/connectors/{name}/offsets", NONE);

    // Pause and resume.
    run.same(202, "PUT", "/connectors/{name}/pause", NONE);
    run.wait_for_state("PAUSED", 1);
    run.same(200, "GET", "/connectors/{name}/status", NONE);
    run.same(202, "PUT", "/connectors/{name}/resume", NONE);
    run.wait_for_state("RUNNING", 1);

    // Stopped: no tasks, and the offsets are those of the records read.
    run.same(204, "PUT", "/connectors/{name}/stop", NONE);
    run.wait_for_state("STOPPED", 0);
    run.same(200, "GET", "/connectors/{name}/status", NONE);
    let [kafka_tasks, sabot_tasks] = run.same(200, "GET", "/connectors/{name}/tasks", NONE);
    run.check(
        "the tasks of a stopped connector",
        &kafka_tasks.body,
        &sabot_tasks.body,
        &json!([]),
    );
    let [kafka_at, sabot_at] = run.same(200, "GET", "/connectors/{name}/offsets", NONE);
    run.check(
        "the offsets of a stopped connector",
        &kafka_at.body,
        &sabot_at.body,
        &offsets(&topic, RECORDS),
    );
    let [kafka_altered, sabot_altered] = run.same(
        200,
        "PATCH",
        "/connectors/{name}/offsets",
        both(offsets(&topic, 1).to_string()),
    );
    let message = |answer: &HttpResponse| {
        json!(
            answer
                .body
                .as_object()
                .map(|body| body.keys().cloned().collect::<Vec<_>>())
        )
    };
    run.check(
        "the keys of a `PATCH /offsets` answer",
        &message(&kafka_altered),
        &message(&sabot_altered),
        &json!(["message"]),
    );
    let [kafka_at, sabot_at] = run.same(200, "GET", "/connectors/{name}/offsets", NONE);
    run.check(
        "altered offsets",
        &kafka_at.body,
        &sabot_at.body,
        &offsets(&topic, 1),
    );
    let [kafka_reset, sabot_reset] = run.same(200, "DELETE", "/connectors/{name}/offsets", NONE);
    run.check(
        "the keys of a `DELETE /offsets` answer",
        &message(&kafka_reset),
        &message(&sabot_reset),
        &json!(["message"]),
    );
    let [kafka_at, sabot_at] = run.same(200, "GET", "/connectors/{name}/offsets", NONE);
    run.check(
        "reset offsets",
        &kafka_at.body,
        &sabot_at.body,
        &json!({ "offsets": [] }),
    );

    // Running again: offsets cannot change.
    run.same(202, "PUT", "/connectors/{name}/resume", NONE);
    run.wait_for_state("RUNNING", 1);
    run.same(
        400,
        "PATCH",
        "/connectors/{name}/offsets",
        both(offsets(&topic, 0).to_string()),
    );
    run.same(400, "DELETE", "/connectors/{name}/offsets", NONE);

    // Restarts.
    run.same(204, "POST", "/connectors/{name}/restart", NONE);
    run.same(
        202,
        "POST",
        "/connectors/{name}/restart?includeTasks=true",
        NONE,
    );
    run.wait_for_state("RUNNING", 1);
    run.same(204, "POST", "/connectors/{name}/tasks/0/restart", NONE);
    run.same(404, "POST", "/connectors/{name}/tasks/9/restart", NONE);
    run.wait_for_state("RUNNING", 1);

    // Topics: both read the one topic, and say so.
    let [kafka_topics, sabot_topics] = run.same(200, "GET", "/connectors/{name}/topics", NONE);
    for (index, answer) in [(0, &kafka_topics), (1, &sabot_topics)] {
        let expected = json!({ run.sides[index].name.as_str(): { "topics": [topic] } });
        run.check_side(
            "the topics of the connector",
            index,
            &answer.body,
            &expected,
        );
    }
    run.same(202, "PUT", "/connectors/{name}/topics/reset", NONE);

    // Plugins and validation.
    run.same(200, "GET", "/connector-plugins", NONE);
    run.same_but(
        200,
        "GET",
        "/connector-plugins?connectorsOnly=false",
        NONE,
        &["$[].description", "$[].location", "$[].config"],
        "a WASM transformation carries its own description, the file it was loaded from and its config keys",
    );
    run.same(
        200,
        "GET",
        "/connector-plugins/FileStreamSinkConnector/config",
        NONE,
    );
    let validate = "/connector-plugins/FileStreamSinkConnector/config/validate";
    let full = each(&run.sides, |side| {
        let mut config = config(side);
        config["connector.class"] = json!("FileStreamSinkConnector");
        config["name"] = json!(side.name);
        config
    });
    run.same(200, "PUT", validate, full);
    let [kafka_checked, sabot_checked] = run.same(
        200,
        "PUT",
        validate,
        both(r#"{"connector.class": "FileStreamSinkConnector", "name": "no-topics"}"#),
    );
    for (label, answer) in [("Kafka Connect", &kafka_checked), ("Sabot", &sabot_checked)] {
        if answer.body["error_count"].as_u64().unwrap_or(0) == 0 {
            run.diffs.push(format!(
                "== PUT {validate} without `topics`\n   {label} found no error: {}",
                shorten(&answer.text)
            ));
        }
    }
    let aliased = each(&run.sides, |side| {
        let mut config = config(side);
        config["name"] = json!(side.name);
        config
    });
    run.known(
        (200, 400),
        "Kafka Connect takes a body whose `connector.class` is another alias of the class in \
         the path (`FileStreamSink` for `FileStreamSinkConnector`); Sabot wants the two \
         written the same",
        "PUT",
        validate,
        aliased,
    );
    let malformed = "Sabot refuses a body that is not a JSON object with 400; Kafka Connect fails \
                     reading it and answers 500";
    run.known((500, 400), malformed, "PUT", validate, both("not json"));
    run.known((500, 400), malformed, "PUT", validate, both("[1]"));

    // Unknown connectors.
    for (method, path) in [
        ("GET", "/connectors/missing"),
        ("GET", "/connectors/missing/config"),
        ("GET", "/connectors/missing/status"),
        ("GET", "/connectors/missing/tasks"),
        ("GET", "/connectors/missing/tasks/0/status"),
        ("GET", "/connectors/missing/offsets"),
        ("DELETE", "/connectors/missing/offsets"),
        ("PUT", "/connectors/missing/pause"),
        ("PUT", "/connectors/missing/resume"),
        ("PUT", "/connectors/missing/stop"),
        ("POST", "/connectors/missing/restart"),
        ("POST", "/connectors/missing/tasks/0/restart"),
        ("DELETE", "/connectors/missing"),
    ] {
        run.same(404, method, path, NONE);
    }
    run.same(
        404,
        "PATCH",
        "/connectors/missing/config",
        both(r#"{"tasks.max": "1"}"#),
    );
    let tracked = "Kafka Connect keeps the topics a connector has used apart from the connector \
                   and answers for any name; Sabot reports a connector's configured topics, so \
                   an unknown connector has none to report";
    run.known(
        (200, 404),
        tracked,
        "GET",
        "/connectors/missing/topics",
        NONE,
    );
    run.known(
        (202, 404),
        tracked,
        "PUT",
        "/connectors/missing/topics/reset",
        NONE,
    );

    // Malformed requests.
    run.known(
        (500, 400),
        malformed,
        "POST",
        "/connectors",
        both(r#"{"name": "#),
    );
    run.known((500, 400), malformed, "POST", "/connectors", both("[1]"));
    run.known(
        (500, 400),
        malformed,
        "PUT",
        "/connectors/{name}/config",
        both("{bad"),
    );
    run.known(
        (500, 400),
        malformed,
        "PATCH",
        "/connectors/{name}/config",
        both("{bad"),
    );
    run.same(400, "POST", "/connectors", both(r#"{"config": {}}"#));
    run.same(404, "GET", "/no/such/path", NONE);
    run.same(405, "DELETE", "/", NONE);

    // Delete.
    run.same(204, "DELETE", "/connectors/{name}", NONE);
    run.same(404, "GET", "/connectors/{name}", NONE);
    let [kafka_list, sabot_list] = run.same(200, "GET", "/connectors", NONE);
    run.check(
        "`GET /connectors` after the delete",
        &kafka_list.body,
        &sabot_list.body,
        &json!([]),
    );

    run.finish();
    drop(serve);
    drop(connect);
}
