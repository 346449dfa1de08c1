//! `GET /metrics`: every task's [`Snapshot`] in Prometheus' text format.
//!
//! Every series carries the labels `connector` and `task`; the families
//! are:
//!
//! | family | type | more labels | what |
//! |---|---|---|---|
//! | `sabot_records_in_total` | counter | | records read from the source |
//! | `sabot_records_out_total` | counter | | records written to the sink |
//! | `sabot_dead_lettered_total` | counter | | bad records sent to the dead-letter topic |
//! | `sabot_filtered_total` | counter | | records dropped by transforms |
//! | `sabot_batches_total` | counter | | batches processed |
//! | `sabot_commits_total` | counter | | offset commits |
//! | `sabot_batch_latency_seconds` | histogram | `le` | from a batch being polled to its being handed to the sink |
//! | `sabot_transform_seconds_total` | counter | `transform` | time spent in each transform's plugin |
//! | `sabot_transform_calls_total` | counter | `transform` | calls of each transform's plugin |
//! | `sabot_consumer_lag_records` | gauge | `topic`, `partition` | records beyond the task's position in each partition it reads |
//!
//! The text is built by [`render`], a plain function of the snapshots, so
//! its shape is tested without a running task.

use std::fmt::Write;

use crate::runtime::Snapshot;
use crate::runtime::metrics::PluginTimeSnapshot;

/// One connector's tasks: the connector's name and each task's number
/// with its snapshot.
pub(crate) type ConnectorTasks = (String, Vec<(usize, Snapshot)>);

/// A counter family read straight off a snapshot: its name, its help text,
/// and how to read it.
type Counter = (&'static str, &'static str, fn(&Snapshot) -> u64);

/// The plain per-task counters.
const COUNTERS: [Counter; 6] = [
    (
        "sabot_records_in_total",
        "Records read from the source.",
        |s| s.records_in,
    ),
    (
        "sabot_records_out_total",
        "Records written to the sink.",
        |s| s.records_out,
    ),
    (
        "sabot_dead_lettered_total",
        "Bad records sent to the dead-letter topic.",
        |s| s.dead_lettered,
    ),
    (
        "sabot_filtered_total",
        "Records dropped by transforms.",
        |s| s.filtered,
    ),
    ("sabot_batches_total", "Batches processed.", |s| s.batches),
    ("sabot_commits_total", "Offset commits.", |s| s.commits),
];

/// The Prometheus text of `connectors`: a `# HELP` and `# TYPE` line for
/// every family, then its series, connector by connector and task by task.
pub(crate) fn render(connectors: &[ConnectorTasks]) -> String {
    let mut text = String::new();
    let tasks = || {
        connectors.iter().flat_map(|(name, tasks)| {
            tasks
                .iter()
                .map(move |(task, snapshot)| (labels(name, *task), snapshot))
        })
    };

    for (metric, help, read) in COUNTERS {
        family(&mut text, metric, help, "counter");
        for (labels, snapshot) in tasks() {
            let _ = writeln!(text, "{metric}{{{labels}}} {}", read(snapshot));
        }
    }

    let metric = "sabot_batch_latency_seconds";
    family(
        &mut text,
        metric,
        "Time from a batch being polled from the source until it is handed to the sink.",
        "histogram",
    );
    for (labels, snapshot) in tasks() {
        let latency = &snapshot.batch_latency;
        for (bound, count) in latency.cumulative() {
            let le = bound.map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(text, "{metric}_bucket{{{labels},le=\"{le}\"}} {count}");
        }
        let _ = writeln!(text, "{metric}_sum{{{labels}}} {}", latency.sum_seconds());
        let _ = writeln!(text, "{metric}_count{{{labels}}} {}", latency.count());
    }

    // Per transform: its time and its calls, each a counter.
    let per_transform: [(&str, &str, fn(&PluginTimeSnapshot) -> String); 2] = [
        (
            "sabot_transform_seconds_total",
            "Time spent in each transform's plugin, failed calls included.",
            |time| time.seconds().to_string(),
        ),
        (
            "sabot_transform_calls_total",
            "Calls of each transform's plugin, one per batch it was given.",
            |time| time.calls.to_string(),
        ),
    ];
    for (metric, help, read) in per_transform {
        family(&mut text, metric, help, "counter");
        for (labels, snapshot) in tasks() {
            for (name, time) in &snapshot.plugins {
                let transform = escape(name);
                let _ = writeln!(
                    text,
                    "{metric}{{{labels},transform=\"{transform}\"}} {}",
                    read(time)
                );
            }
        }
    }

    let metric = "sabot_consumer_lag_records";
    family(
        &mut text,
        metric,
        "Records in each partition beyond the task's position: the partition's end offset minus the offset the task reads next.",
        "gauge",
    );
    for (labels, snapshot) in tasks() {
        for ((topic, partition), lag) in &snapshot.lag {
            let topic = escape(topic);
            let _ = writeln!(
                text,
                "{metric}{{{labels},topic=\"{topic}\",partition=\"{partition}\"}} {lag}"
            );
        }
    }
    text
}

/// The `# HELP` and `# TYPE` lines of a family.
fn family(text: &mut String, metric: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
}

/// The labels every series has: `connector` and `task`.
fn labels(connector: &str, task: usize) -> String {
    format!("connector=\"{}\",task=\"{task}\"", escape(connector))
}

/// A Prometheus label value, escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::runtime::Metrics;

    fn lines_of<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(prefix)).collect()
    }

    #[test]
    fn every_family_has_help_and_type_and_labelled_series() {
        let metrics = Metrics::default();
        metrics.batch_latency.observe(Duration::from_millis(3));
        metrics.batch_latency.observe(Duration::from_millis(700));
        metrics
            .plugin("hide \"pii\"")
            .record(Duration::from_millis(250));
        metrics.set_lag(BTreeMap::from([((Arc::<str>::from("orders"), 2), 5)]));
        let text = render(&[("orders-file".to_owned(), vec![(0, metrics.snapshot())])]);

        for (family, kind) in [
            ("sabot_records_in_total", "counter"),
            ("sabot_batch_latency_seconds", "histogram"),
            ("sabot_transform_seconds_total", "counter"),
            ("sabot_transform_calls_total", "counter"),
            ("sabot_consumer_lag_records", "gauge"),
        ] {
            assert!(text.contains(&format!("# HELP {family} ")), "{family}");
            assert!(
                text.contains(&format!("# TYPE {family} {kind}\n")),
                "{family}"
            );
        }
        let task = "connector=\"orders-file\",task=\"0\"";
        assert_eq!(
            lines_of(&text, "sabot_batch_latency_seconds_bucket"),
            [
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.001\"}} 0"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.005\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.01\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.025\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.05\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.1\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.25\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"0.5\"}} 1"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"1\"}} 2"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"2.5\"}} 2"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"5\"}} 2"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"10\"}} 2"),
                format!("sabot_batch_latency_seconds_bucket{{{task},le=\"+Inf\"}} 2"),
            ]
        );
        assert_eq!(
            lines_of(&text, "sabot_batch_latency_seconds_sum"),
            [format!("sabot_batch_latency_seconds_sum{{{task}}} 0.703")]
        );
        assert_eq!(
            lines_of(&text, "sabot_batch_latency_seconds_count"),
            [format!("sabot_batch_latency_seconds_count{{{task}}} 2")]
        );
        assert_eq!(
            lines_of(&text, "sabot_transform_seconds_total{"),
            [format!(
                "sabot_transform_seconds_total{{{task},transform=\"hide \\\"pii\\\"\"}} 0.25"
            )]
        );
        assert_eq!(
            lines_of(&text, "sabot_transform_calls_total{"),
            [format!(
                "sabot_transform_calls_total{{{task},transform=\"hide \\\"pii\\\"\"}} 1"
            )]
        );
        assert_eq!(
            lines_of(&text, "sabot_consumer_lag_records{"),
            [format!(
                "sabot_consumer_lag_records{{{task},topic=\"orders\",partition=\"2\"}} 5"
            )]
        );
    }

    #[test]
    fn without_connectors_only_the_family_lines_remain() {
        let text = render(&[]);
        assert!(text.lines().all(|l| l.starts_with("# ")), "{text}");
        assert_eq!(text.lines().count(), 2 * (COUNTERS.len() + 4));
    }
}
