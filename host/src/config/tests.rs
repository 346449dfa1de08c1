//! Tests of loading pipeline files: every message a user can get.

use std::path::Path;

use super::*;

const GOOD: &str = r#"
apiVersion: sabot/v1
name: orders-clean
source:
  kafka:
    brokers: 127.0.0.1:9092
    topics: [orders]
    group: orders-clean
    format: { json: { schema: { id: int64, amount: float64 } } }
transforms:
  - plugin: filter.wasm
    config: { field: amount, op: ">", value: 100 }
sink:
  file: { path: out.jsonl }
errors: { on_bad_record: dead-letter, dead_letter_topic: orders-dlq }
batch: { max_records: 500, max_wait: 20ms }
"#;

fn problems(text: &str) -> Vec<String> {
    match load_str(text, Path::new(".")) {
        Ok(_) => vec![],
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_good_file_loads_with_its_values() {
    let (config, secrets) = load_str(GOOD, Path::new(".")).expect("loads");
    assert_eq!(config.name, "orders-clean");
    let kafka = config.source.kafka.expect("kafka source");
    assert_eq!(kafka.topics, Some(vec!["orders".to_owned()]));
    assert_eq!(kafka.start, StartPosition::Earliest);
    assert_eq!(config.transforms[0].config["op"], serde_json::json!(">"));
    assert_eq!(config.batch.max_records, 500);
    assert_eq!(
        parse_duration(&config.batch.max_wait),
        Ok(std::time::Duration::from_millis(20))
    );
    assert_eq!(config.errors.on_bad_record, BadRecordPolicy::DeadLetter);
    assert!(secrets.is_empty());
}

#[test]
fn unknown_keys_are_all_listed_with_a_hint() {
    let text = GOOD
        .replace(
            "    topics: [orders]",
            "    topcs: [orders]\n    topics: [orders]",
        )
        .replace(
            "batch: { max_records: 500",
            "batch: { max_record: 1, max_records: 500",
        );
    assert_eq!(
        problems(&text),
        vec![
            "source.kafka.topcs: unknown key; did you mean `topics`? (valid keys here: `brokers`, \
             `topics`, `topics_regex`, `group`, `start`, `format`, `properties`, `embedded`)",
            "batch.max_record: unknown key; did you mean `max_records`? (valid keys here: \
             `max_records`, `max_wait`)",
        ]
    );
}

#[test]
fn unknown_keys_inside_formats_and_registries_keep_their_paths() {
    let text = "apiVersion: sabot/v1\nname: p\n\
        schema_registry: { url: \"http://127.0.0.1:8081\", bearer_tokn: t }\n\
        source:\n  kafka:\n    brokers: 127.0.0.1:9092\n    topics: [a]\n    group: g\n\
        \x20   format: { json: { schma: infer }, avr: {} }\n\
        sink:\n  kafka: { topic: b, format: { avro: { auto_registr: true } } }\n";
    assert_eq!(
        problems(text),
        vec![
            "schema_registry.bearer_tokn: unknown key; did you mean `bearer_token`? (valid keys \
             here: `url`, `basic_auth`, `bearer_token`, `ca_file`)",
            "source.kafka.format.json.schma: unknown key; did you mean `schema`? (valid keys \
             here: `schema`, `infer_records`, `unknown_fields`)",
            "source.kafka.format.avr: unknown key; did you mean `avro`? (valid keys here: `json`, \
             `raw`, `avro`, `protobuf`, `json_schema`)",
            "sink.kafka.format.avro.auto_registr: unknown key; did you mean `auto_register`? \
             (valid keys here: `registry`, `subject_strategy`, `auto_register`, `use_latest`, \
             `schema`, `record_name`)",
        ]
    );
    // A name that is no format gets the nearest one.
    let text = text
        .replace("{ json: { schma: infer }, avr: {} }", "jsn")
        .replace("bearer_tokn: t", "bearer_token: t")
        .replace("auto_registr", "auto_register");
    assert_eq!(
        problems(&text),
        vec![
            "source.kafka.format: `jsn` is not allowed here; did you mean `json`? (one of \
             `json`, `raw`, `avro`, `protobuf`, `json_schema`)"
        ]
    );
}

#[test]
fn unknown_keys_wrong_values_and_checks_are_all_listed_at_once() {
    let text = "apiVersion: sabot/v2\nname: bad name!\nsource:\n  kafka:\n\
        \x20   brokers: 127.0.0.1:9092\n    topcs: [a]\n    group: g\n    start: newest\n\
        sink:\n  stdout: {}\nbatch: { max_records: 0, max_wait: 5 parsecs }\n\
        errors: { on_bad_record: dead-letter }\n";
    assert_eq!(
        problems(text),
        vec![
            "source.kafka.topcs: unknown key; did you mean `topics`? (valid keys here: `brokers`, \
             `topics`, `topics_regex`, `group`, `start`, `format`, `properties`, `embedded`)",
            "source.kafka.start: `newest` is not allowed here (one of `earliest`, `latest`)",
            "apiVersion: `sabot/v2` is not a version this build reads; write `apiVersion: sabot/v1`",
            "name: `bad name!` is not a valid name; use letters, digits, `.`, `_` and `-`",
            "source.kafka.topics: no topics given; add `topics: [NAME]` or `topics_regex: PATTERN`",
            "errors.dead_letter_topic: required with `on_bad_record: dead-letter`",
            "batch.max_records: must be at least 1",
            "batch.max_wait: `parsecs` is not a unit of time; use `ms`, `s`, `m` or `h`",
        ]
    );
    // A required key of the wrong kind stops the reading after it is said.
    let text =
        "apiVersion: sabot/v1\nname: [a, list]\nsource:\n  datagen: {}\nsink:\n  stdout: {}\n";
    assert_eq!(problems(text).len(), 1, "{:?}", problems(text));
}

#[test]
fn a_wrong_enum_value_gets_the_nearest_one() {
    let text = GOOD.replace("dead-letter,", "dead_letter,");
    assert_eq!(
        problems(&text),
        vec![
            "errors.on_bad_record: `dead_letter` is not allowed here; did you mean `dead-letter`? \
             (one of `fail`, `dead-letter`)"
        ]
    );
}

#[test]
fn a_missing_variable_is_an_error_not_an_empty_string() {
    let text = GOOD.replace("127.0.0.1:9092", "${env:SABOT_TEST_SURELY_UNSET}");
    assert_eq!(
        problems(&text),
        vec![
            "source.kafka.brokers: environment variable `SABOT_TEST_SURELY_UNSET` is not set; \
             set it, write the value here, or give a fallback as \
             `${env:SABOT_TEST_SURELY_UNSET:-VALUE}`"
        ]
    );
}

#[test]
fn variables_and_files_are_interpolated_and_keep_their_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("brokers.txt"), "10.1.1.1:9092\n").expect("write");
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var("SABOT_TEST_MAX_RECORDS", "250") };
    let text = GOOD
        .replace("127.0.0.1:9092", "${file:brokers.txt}")
        .replace(
            "max_records: 500",
            "max_records: \"${env:SABOT_TEST_MAX_RECORDS}\"",
        );
    let (config, secrets) = load_str(&text, dir.path()).expect("loads");
    assert_eq!(config.source.kafka.expect("kafka").brokers, "10.1.1.1:9092");
    assert_eq!(config.batch.max_records, 250);
    assert_eq!(secrets, vec!["source.kafka.brokers", "batch.max_records"]);
}

#[test]
fn a_fallback_fills_a_missing_variable() {
    let text = GOOD.replace(
        "127.0.0.1:9092",
        "${env:SABOT_TEST_SURELY_UNSET:-127.0.0.1:9999}",
    );
    let (config, _) = load_str(&text, Path::new(".")).expect("loads");
    assert_eq!(
        config.source.kafka.expect("kafka").brokers,
        "127.0.0.1:9999"
    );
}

#[test]
fn semantic_problems_are_all_listed() {
    let text = r#"
apiVersion: sabot/v2
name: "bad name"
source:
  kafka: { brokers: "", topics: ["a b"], group: g, properties: { group.id: x } }
sink: { file: { path: a }, stdout: {} }
errors: { on_bad_record: dead-letter }
batch: { max_records: 0, max_wait: 5 }
"#;
    assert_eq!(
        problems(text),
        vec![
            "apiVersion: `sabot/v2` is not a version this build reads; write `apiVersion: sabot/v1`",
            "name: `bad name` is not a valid name; use letters, digits, `.`, `_` and `-`",
            "source.kafka.brokers: must not be empty; write `host:port[,host:port]` or `embedded`",
            "source.kafka.topics[0]: `a b` is not a valid topic name: ` ` is not allowed (use \
             letters, digits, `.`, `_`, `-`)",
            "source.kafka.properties.group.id: is set by Sabot; use `source.kafka.group` instead",
            "sink: more than one of `kafka`, `file`, `parquet` and `stdout` is set; a pipeline has one sink",
            "errors.dead_letter_topic: required with `on_bad_record: dead-letter`",
            "batch.max_records: must be at least 1",
            "batch.max_wait: `5` has no unit; write e.g. `5ms` or `5s`",
        ]
    );
}

#[test]
fn invalid_yaml_names_the_line() {
    let got = problems("apiVersion: sabot/v1\nname: [unclosed\n");
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("invalid YAML (line 3, column 1): "),
        "{got:?}"
    );
}

#[test]
fn a_wrong_type_names_its_path() {
    let text = GOOD.replace("max_records: 500", "max_records: lots");
    assert_eq!(
        problems(&text),
        vec!["batch.max_records: invalid type: string \"lots\", expected usize"]
    );
}

#[test]
fn format_takes_a_bare_name() {
    let text = GOOD.replace(
        "format: { json: { schema: { id: int64, amount: float64 } } }",
        "format: raw",
    );
    let (config, _) = load_str(&text, Path::new(".")).expect("loads");
    assert!(config.source.kafka.expect("kafka").format.raw.is_some());
}

#[test]
fn durations_and_sizes_parse() {
    assert_eq!(
        parse_duration("2m"),
        Ok(std::time::Duration::from_secs(120))
    );
    assert_eq!(
        parse_duration("1.5s"),
        Ok(std::time::Duration::from_millis(1500))
    );
    assert_eq!(
        parse_duration("5 parsecs"),
        Err("`parsecs` is not a unit of time; use `ms`, `s`, `m` or `h`".to_owned())
    );
    assert_eq!(parse_size("256MiB"), Ok(256 << 20));
    assert_eq!(parse_size("1GiB"), Ok(1 << 30));
}
