//! Checks on a pipeline file that serde cannot express.

use std::time::Duration;

use super::Problem;
use super::model::*;

/// Check `config`, appending every problem found.
pub(super) fn validate(config: &PipelineFile, problems: &mut Vec<Problem>) {
    if config.api_version != API_VERSION {
        problems.push(Problem::new(
            "apiVersion",
            format!(
                "`{}` is not a version this build reads; write `apiVersion: {API_VERSION}`",
                config.api_version
            ),
        ));
    }
    check_name("name", &config.name, problems);

    let mut source_is_kafka = false;
    match (&config.source.kafka, &config.source.datagen) {
        (Some(kafka), None) => {
            source_is_kafka = true;
            check_kafka_source(kafka, problems);
        }
        (None, Some(datagen)) => check_datagen("source.datagen", datagen, problems),
        (None, None) => problems.push(Problem::new(
            "source",
            "no source given; add one of `kafka` or `datagen`",
        )),
        (Some(_), Some(_)) => problems.push(Problem::new(
            "source",
            "both `kafka` and `datagen` are set; a pipeline has one source",
        )),
    }

    for (i, transform) in config.transforms.iter().enumerate() {
        let path = format!("transforms[{i}]");
        if transform.plugin.trim().is_empty() {
            problems.push(Problem::new(
                format!("{path}.plugin"),
                "must name a component file",
            ));
        }
        if let Some(name) = &transform.name {
            check_name(&format!("{path}.name"), name, problems);
        }
        if let Some(timeout) = &transform.timeout {
            match parse_duration(timeout) {
                Err(e) => problems.push(Problem::new(format!("{path}.timeout"), e)),
                Ok(d) if d < Duration::from_millis(1) => problems.push(Problem::new(
                    format!("{path}.timeout"),
                    "must be at least 1ms",
                )),
                Ok(_) => {}
            }
        }
        if let Some(size) = &transform.max_memory {
            match parse_size(size) {
                Err(e) => problems.push(Problem::new(format!("{path}.max_memory"), e)),
                Ok(n) if !(1 << 20..=4 << 30).contains(&n) => problems.push(Problem::new(
                    format!("{path}.max_memory"),
                    "must be between 1MiB and 4GiB (the most a 32-bit WebAssembly memory can hold)",
                )),
                Ok(_) => {}
            }
        }
        if transform.fuel == Some(0) {
            problems.push(Problem::new(
                format!("{path}.fuel"),
                "must be at least 1; a call always spends some fuel. Leave `fuel` out for no budget",
            ));
        }
    }

    let sinks = [
        config.sink.kafka.is_some(),
        config.sink.file.is_some(),
        config.sink.stdout.is_some(),
        config.sink.parquet.is_some(),
    ];
    match sinks.iter().filter(|s| **s).count() {
        0 => problems.push(Problem::new(
            "sink",
            "no sink given; add one of `kafka`, `file`, `parquet` or `stdout`",
        )),
        1 => {}
        _ => problems.push(Problem::new(
            "sink",
            "more than one of `kafka`, `file`, `parquet` and `stdout` is set; a pipeline has one sink",
        )),
    }
    if let Some(parquet) = &config.sink.parquet {
        if parquet.path.as_os_str().is_empty() {
            problems.push(Problem::new("sink.parquet.path", "must not be empty"));
        } else if parquet.path.is_file() {
            problems.push(Problem::new(
                "sink.parquet.path",
                format!(
                    "`{}` is a file; name a folder for the Parquet files",
                    parquet.path.display()
                ),
            ));
        }
        if parquet.roll_records == 0 {
            problems.push(Problem::new(
                "sink.parquet.roll_records",
                "must be at least 1",
            ));
        }
        if let Err(e) = parse_size(&parquet.roll_bytes) {
            problems.push(Problem::new("sink.parquet.roll_bytes", e));
        }
        match parse_duration(&parquet.roll_interval) {
            Err(e) => problems.push(Problem::new("sink.parquet.roll_interval", e)),
            Ok(d) if d < Duration::from_millis(10) => problems.push(Problem::new(
                "sink.parquet.roll_interval",
                "must be at least 10ms",
            )),
            Ok(_) => {}
        }
    }
    if let Some(kafka) = &config.sink.kafka {
        if let Err(e) = check_topic_name(&kafka.topic) {
            problems.push(Problem::new("sink.kafka.topic", e));
        }
        match &kafka.brokers {
            Some(b) if b.trim().is_empty() => {
                problems.push(Problem::new("sink.kafka.brokers", "must not be empty"))
            }
            None if !source_is_kafka => problems.push(Problem::new(
                "sink.kafka.brokers",
                "required when the source is not Kafka",
            )),
            _ => {}
        }
    }
    if let Some(file) = &config.sink.file {
        if file.path.as_os_str().is_empty() {
            problems.push(Problem::new("sink.file.path", "must not be empty"));
        }
    }

    match config.errors.on_bad_record {
        BadRecordPolicy::DeadLetter => match &config.errors.dead_letter_topic {
            None => problems.push(Problem::new(
                "errors.dead_letter_topic",
                "required with `on_bad_record: dead-letter`",
            )),
            Some(t) if check_topic_name(t).is_err() => {
                if let Err(e) = check_topic_name(t) {
                    problems.push(Problem::new("errors.dead_letter_topic", e));
                }
            }
            Some(_) => {
                let has_brokers = config.errors.dead_letter_brokers.is_some()
                    || source_is_kafka
                    || config.sink.kafka.is_some();
                if !has_brokers {
                    problems.push(Problem::new(
                        "errors.dead_letter_brokers",
                        "required when neither the source nor the sink is Kafka",
                    ));
                }
            }
        },
        BadRecordPolicy::Fail => {
            if config.errors.dead_letter_topic.is_some() {
                problems.push(Problem::new(
                    "errors.dead_letter_topic",
                    "set, but `on_bad_record` is `fail`; write `on_bad_record: dead-letter` to use it",
                ));
            }
        }
    }

    if config.batch.max_records == 0 {
        problems.push(Problem::new("batch.max_records", "must be at least 1"));
    } else if config.batch.max_records > 1_000_000 {
        problems.push(Problem::new(
            "batch.max_records",
            "must be at most 1000000; larger batches only use more memory",
        ));
    }
    match parse_duration(&config.batch.max_wait) {
        Err(e) => problems.push(Problem::new("batch.max_wait", e)),
        Ok(d) if d < Duration::from_millis(1) => problems.push(Problem::new(
            "batch.max_wait",
            "must be at least 1ms; a batch needs a moment to fill",
        )),
        Ok(_) => {}
    }
    if let Some(file) = &config.sink.file {
        if file.path.is_dir() {
            problems.push(Problem::new(
                "sink.file.path",
                format!("`{}` is a folder; name a file in it", file.path.display()),
            ));
        }
    }
}

fn check_kafka_source(kafka: &KafkaSourceConfig, problems: &mut Vec<Problem>) {
    if kafka.brokers.trim().is_empty() {
        problems.push(Problem::new(
            "source.kafka.brokers",
            "must not be empty; write `host:port[,host:port]` or `embedded`",
        ));
    }
    let embedded = kafka.brokers.trim() == "embedded";
    match (&kafka.topics, &kafka.topics_regex) {
        (None, None) => problems.push(Problem::new(
            "source.kafka.topics",
            "no topics given; add `topics: [NAME]` or `topics_regex: PATTERN`",
        )),
        (Some(_), Some(_)) => problems.push(Problem::new(
            "source.kafka.topics_regex",
            "both `topics` and `topics_regex` are set; use one",
        )),
        (Some(topics), None) => {
            if topics.is_empty() {
                problems.push(Problem::new(
                    "source.kafka.topics",
                    "must list at least one topic",
                ));
            }
            for (i, topic) in topics.iter().enumerate() {
                if let Err(e) = check_topic_name(topic) {
                    problems.push(Problem::new(format!("source.kafka.topics[{i}]"), e));
                }
            }
        }
        (None, Some(regex)) => {
            if regex.trim().is_empty() {
                problems.push(Problem::new(
                    "source.kafka.topics_regex",
                    "must not be empty",
                ));
            }
            if embedded {
                problems.push(Problem::new(
                    "source.kafka.topics_regex",
                    "the embedded broker needs topic names to create; use `topics`",
                ));
            }
        }
    }
    if kafka.group.trim().is_empty() {
        problems.push(Problem::new("source.kafka.group", "must not be empty"));
    }
    for key in kafka.properties.keys() {
        if let Some(owned) = OWNED_CONSUMER_PROPERTIES.iter().find(|(k, _)| k == key) {
            problems.push(Problem::new(
                format!("source.kafka.properties.{key}"),
                format!("is set by Sabot; use {} instead", owned.1),
            ));
        }
    }
    let formats = [
        ("json", kafka.format.json.is_some()),
        ("raw", kafka.format.raw.is_some()),
        ("avro", kafka.format.avro.is_some()),
        ("protobuf", kafka.format.protobuf.is_some()),
        ("json_schema", kafka.format.json_schema.is_some()),
    ];
    let set: Vec<&str> = formats.iter().filter(|f| f.1).map(|f| f.0).collect();
    if set.len() > 1 {
        problems.push(Problem::new(
            "source.kafka.format",
            format!(
                "{} are set; use one",
                set.iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ));
    }
    if let Some(json) = &kafka.format.json {
        if let Some(n) = json.infer_records {
            if n == 0 {
                problems.push(Problem::new(
                    "source.kafka.format.json.infer_records",
                    "must be at least 1",
                ));
            }
        }
        if let Some(serde_json::Value::String(s)) = &json.schema {
            if s != "infer" {
                problems.push(Problem::new(
                    "source.kafka.format.json.schema",
                    format!("`{s}` is not a schema; write `infer` or a map of field to type"),
                ));
            }
        }
    }
    match &kafka.embedded {
        Some(_) if !embedded => problems.push(Problem::new(
            "source.kafka.embedded",
            "only applies with `brokers: embedded`",
        )),
        Some(e) => {
            if !(1..=64).contains(&e.partitions) {
                problems.push(Problem::new(
                    "source.kafka.embedded.partitions",
                    "must be between 1 and 64",
                ));
            }
            if let Some(d) = &e.datagen {
                check_datagen("source.kafka.embedded.datagen", d, problems);
            }
        }
        None => {}
    }
}

/// Consumer properties Sabot sets itself, and what to use instead.
const OWNED_CONSUMER_PROPERTIES: &[(&str, &str)] = &[
    ("bootstrap.servers", "`source.kafka.brokers`"),
    ("group.id", "`source.kafka.group`"),
    (
        "enable.auto.commit",
        "nothing: Sabot commits after the sink acknowledged",
    ),
    (
        "enable.auto.offset.store",
        "nothing: Sabot commits after the sink acknowledged",
    ),
    ("auto.offset.reset", "`source.kafka.start`"),
    ("topic.auto.offset.reset", "`source.kafka.start`"),
    ("metadata.broker.list", "`source.kafka.brokers`"),
    (
        "auto.commit.enable",
        "nothing: Sabot commits after the sink acknowledged",
    ),
    (
        "enable.partition.eof",
        "nothing: Sabot reads partition ends itself",
    ),
];

fn check_datagen(path: &str, datagen: &DatagenConfig, problems: &mut Vec<Problem>) {
    if !(0.0..=1.0).contains(&datagen.bad_ratio) {
        problems.push(Problem::new(
            format!("{path}.bad_ratio"),
            "must be between 0 and 1",
        ));
    }
    if datagen.rate == Some(0) {
        problems.push(Problem::new(
            format!("{path}.rate"),
            "must be at least 1; leave it out for no limit",
        ));
    }
}

fn check_name(path: &str, name: &str, problems: &mut Vec<Problem>) {
    // A name is shown whole in the message only when it is short.
    let shown = if name.chars().count() > 40 {
        format!("{}…", name.chars().take(40).collect::<String>())
    } else {
        name.to_owned()
    };
    let message = if name.is_empty() {
        "must not be empty; use letters, digits, `.`, `_` and `-`".to_owned()
    } else if name.len() > 200 {
        format!(
            "`{shown}` is {} characters long; a name is at most 200",
            name.chars().count()
        )
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        format!("`{shown}` is not a valid name; use letters, digits, `.`, `_` and `-`")
    } else if name.chars().all(|c| c == '.') {
        // `.` and `..` are folder names to every path and URL.
        format!("`{name}` is not a valid name; use at least one letter, digit, `_` or `-`")
    } else {
        return;
    };
    problems.push(Problem::new(path, message));
}

/// Kafka's own rule for topic names.
fn check_topic_name(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("a topic name must not be empty".to_owned());
    }
    if topic.len() > 249 {
        return Err("a topic name is at most 249 characters".to_owned());
    }
    if topic == "." || topic == ".." {
        return Err(format!("`{topic}` is not a valid topic name"));
    }
    if let Some(c) = topic
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "`{topic}` is not a valid topic name: `{c}` is not allowed (use letters, digits, `.`, `_`, `-`)"
        ));
    }
    Ok(())
}

/// Parse a duration such as `50ms`, `5s`, `2m` or `1h`.
///
/// # Errors
///
/// A message saying what form is expected.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write e.g. `50ms`, `5s` or `2m`"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "us" | "µs" => 0.000_001,
        "" => {
            return Err(format!(
                "`{text}` has no unit; write e.g. `{text}ms` or `{text}s`"
            ));
        }
        other => {
            return Err(format!(
                "`{other}` is not a unit of time; use `ms`, `s`, `m` or `h`"
            ));
        }
    };
    let secs = value * scale;
    if !(0.0..=86_400.0 * 365.0).contains(&secs) {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parse a size such as `256MiB`, `1GiB`, `512KiB` or `1000000` (bytes).
///
/// # Errors
///
/// A message saying what form is expected.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write e.g. `256MiB` or `1GiB`"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{other}` is not a unit of size; use `KiB`, `MiB` or `GiB`"
            ));
        }
    };
    value
        .checked_mul(scale)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod fuel_tests {
    //! The `fuel` key of a transform: read as a whole number, checked to be
    //! at least 1, and every mistake named by its YAML path.

    use std::path::Path;

    /// The problems of a pipeline whose one transform has `fuel: VALUE`,
    /// or its fuel when it has none.
    fn fuel(value: &str) -> Result<Option<u64>, Vec<String>> {
        let text = format!(
            "apiVersion: sabot/v1\nname: p\nsource: {{ datagen: {{}} }}\n\
             transforms:\n  - plugin: identity\n    fuel: {value}\nsink: {{ stdout: {{}} }}\n"
        );
        super::super::load_str(&text, Path::new("."))
            .map(|(config, _)| config.transforms[0].fuel)
            .map_err(|problems| problems.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_positive_whole_number_is_the_budget() {
        assert_eq!(fuel("100000000"), Ok(Some(100_000_000)));
        assert_eq!(fuel("\"2500\""), Ok(Some(2_500)));
        assert_eq!(fuel("null"), Ok(None));
    }

    #[test]
    fn zero_is_refused_with_what_to_write_instead() {
        assert_eq!(
            fuel("0"),
            Err(vec![
                "transforms[0].fuel: must be at least 1; a call always spends some fuel. \
                 Leave `fuel` out for no budget"
                    .to_owned()
            ])
        );
    }

    #[test]
    fn anything_but_a_whole_number_is_refused_naming_the_key() {
        let refused = |shown: &str| {
            vec![format!(
                "transforms[0].fuel: `{shown}` is not a positive whole number of fuel units; \
                 write e.g. `fuel: 100000000`, or leave `fuel` out for no budget"
            )]
        };
        assert_eq!(fuel("-5"), Err(refused("-5")));
        assert_eq!(fuel("1.5"), Err(refused("1.5")));
        assert_eq!(fuel("lots"), Err(refused("lots")));
        assert_eq!(fuel("[1]"), Err(refused("[1]")));
    }
}
