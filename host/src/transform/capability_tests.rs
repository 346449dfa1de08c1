//! Tests of what a plugin may see of the world: its clocks, its random
//! numbers, granted folders, and its log lines reaching the host's
//! `tracing`, tagged with the plugin and the pipeline. The fixtures are
//! inline WAT record-world components importing what they use.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::{Context, SubscriberExt};

use super::record_tests::{Imports, start_records};
use super::tests::{Data, echo, ints};
use super::*;

/// The imports of `wasi:clocks/wall-clock.now` and
/// `wasi:random/random.get-random-u64`, as core functions `$now` (writing
/// seconds u64 and nanoseconds u32 at its argument) and `$random`.
fn clock_and_random() -> Imports {
    Imports {
        component: r#"
  (type $datetime (record (field "seconds" u64) (field "nanoseconds" u32)))
  (import "wasi:clocks/wall-clock@0.2.0" (instance $clock
    (export "datetime" (type $dt (eq $datetime)))
    (export "now" (func (result $dt)))))
  (import "wasi:random/random@0.2.0" (instance $random
    (export "get-random-u64" (func (result u64)))))"#
            .to_owned(),
        lowered: r#"(core func $core-now (canon lower (func $clock "now") (memory $mem)))
  (core func $core-random (canon lower (func $random "get-random-u64")))"#
            .to_owned(),
        core: r#"(import "wasi" "now" (func $now (param i32)))
    (import "wasi" "random" (func $random (result i64)))"#
            .to_owned(),
        instance: r#"(export "now" (func $core-now)) (export "random" (func $core-random))"#
            .to_owned(),
    }
}

/// `transform` that returns its records when `check` (WAT leaving an i32)
/// holds and fails the batch with `message` otherwise.
fn echo_if(data: &mut Data, check: &str, message: &str) -> String {
    let (ptr, len) = data.string(message);
    let failed = data.words(&[1, ptr, len]);
    let echo = echo(data, &[]);
    format!("(if (result i32) {check} (then {echo}) (else (i32.const {failed})))")
}

/// WAT that holds when the wall clock reads the Unix epoch.
const CLOCK_AT_EPOCH: &str = "(call $now (i32.const 256)) (i64.eqz (i64.load (i32.const 256)))";

/// WAT that holds when the random u64 is the first of the fixed sequence.
fn random_is_fixed() -> String {
    let fixed = capabilities::fixed_bytes();
    let first = i64::from_be_bytes(fixed[..8].try_into().unwrap());
    format!("(i64.eq (call $random) (i64.const {first}))")
}

#[test]
fn without_grants_the_wall_clock_stands_at_the_epoch_and_random_is_fixed() {
    let body = |d: &mut Data| echo_if(d, CLOCK_AT_EPOCH, "the wall clock is running");
    let mut transform =
        start_records("clock", &clock_and_random(), Grants::default(), body).unwrap();
    assert_eq!(transform.apply(&ints(&[1])).unwrap().batch, ints(&[1]));
    assert_eq!(transform.apply(&ints(&[2])).unwrap().batch, ints(&[2]));

    let body = |d: &mut Data| echo_if(d, &random_is_fixed(), "random is the host's");
    let mut transform =
        start_records("random", &clock_and_random(), Grants::default(), body).unwrap();
    assert_eq!(transform.apply(&ints(&[3])).unwrap().batch, ints(&[3]));
}

#[test]
fn a_granted_wall_clock_and_random_are_the_hosts_and_the_host_keeps_serving() {
    let grants = Grants {
        wall_clock: true,
        random: true,
        read_dir: None,
    };
    let body = |d: &mut Data| echo_if(d, CLOCK_AT_EPOCH, "the wall clock is running");
    let mut transform = start_records("clock", &clock_and_random(), grants.clone(), body).unwrap();
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `clock` failed the batch: the wall clock is running"
    );
    // The failed batch is the plugin's answer, not a crash: it keeps serving.
    let err = transform.apply(&ints(&[2])).unwrap_err();
    assert!(!err.is_crash());

    let body = |d: &mut Data| echo_if(d, &random_is_fixed(), "random is the host's");
    let mut transform = start_records("random", &clock_and_random(), grants, body).unwrap();
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `random` failed the batch: random is the host's"
    );
}

#[test]
fn a_granted_folder_that_cannot_be_opened_is_an_error_naming_it() {
    let grants = Grants {
        read_dir: Some("/nonexistent/sabot-data".into()),
        ..Grants::default()
    };
    let err = start_records("reader", &Imports::default(), grants, |d| echo(d, &[])).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot grant plugin `reader` the folder `/nonexistent/sabot-data`: "),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("; check that it exists and can be read"),
        "{err}"
    );
}

/// The import of `sabot:plugin/host.log`, as the core function `$log`
/// (level, message pointer, message length).
fn host_log() -> Imports {
    Imports {
        component: r#"
  (type $level (enum "trace" "debug" "info" "warn" "error"))
  (import "sabot:plugin/host@0.1.0" (instance $host
    (export "level" (type $lv (eq $level)))
    (export "log" (func (param "level" $lv) (param "message" string)))))"#
            .to_owned(),
        lowered: r#"(core func $core-log (canon lower (func $host "log") (memory $mem)))"#
            .to_owned(),
        core: r#"(import "wasi" "log" (func $log (param i32 i32 i32)))"#.to_owned(),
        instance: r#"(export "log" (func $core-log))"#.to_owned(),
    }
}

/// One event a [`Capture`] saw: its level, target and fields (the message
/// under `message`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    /// The event's level.
    level: tracing::Level,
    /// The event's target.
    target: String,
    /// Its fields, by name, as text.
    fields: BTreeMap<String, String>,
}

/// A `tracing` layer that keeps every event it sees.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Seen>>>);

impl Capture {
    /// The events seen so far with target `target`.
    fn of(&self, target: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.target == target)
            .cloned()
            .collect()
    }
}

/// Collects an event's fields as text.
struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Seen {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields,
        });
    }
}

/// An event of target `sabot::plugin` from plugin `chatty` of pipeline
/// `test-pipeline`.
fn plugin_event(level: tracing::Level, message: &str) -> Seen {
    let fields = [
        ("message", message),
        ("plugin", "chatty"),
        ("pipeline", "test-pipeline"),
    ];
    Seen {
        level,
        target: "sabot::plugin".to_owned(),
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

#[test]
fn plugin_log_lines_reach_the_hosts_tracing_tagged_with_plugin_and_pipeline() {
    // One line per level, then one longer than a log line may be.
    let long = format!("{}é and more", "x".repeat(4095));
    let lines: Vec<(i32, String)> = vec![
        (0, "trace from the plugin".to_owned()),
        (1, "debug from the plugin".to_owned()),
        (2, "info from the plugin".to_owned()),
        (3, "warn from the plugin".to_owned()),
        (4, "error from the plugin".to_owned()),
        (4, long),
    ];
    let body = |d: &mut Data| {
        let mut calls = String::new();
        for (level, message) in &lines {
            let (ptr, len) = d.string(message);
            calls.push_str(&format!(
                "(call $log (i32.const {level}) (i32.const {ptr}) (i32.const {len}))\n"
            ));
        }
        format!("{calls}{}", echo(d, &[]))
    };

    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        let mut transform = start_records("chatty", &host_log(), Grants::default(), body).unwrap();
        assert_eq!(
            transform.apply(&ints(&[1, 2])).unwrap().batch,
            ints(&[1, 2])
        );
    });

    // The `é` straddles the 4096-byte cut, so the line ends before it.
    let cut = format!("{} [cut]", "x".repeat(4095));
    assert_eq!(
        capture.of("sabot::plugin"),
        vec![
            plugin_event(tracing::Level::TRACE, "trace from the plugin"),
            plugin_event(tracing::Level::DEBUG, "debug from the plugin"),
            plugin_event(tracing::Level::INFO, "info from the plugin"),
            plugin_event(tracing::Level::WARN, "warn from the plugin"),
            plugin_event(tracing::Level::ERROR, "error from the plugin"),
            plugin_event(tracing::Level::ERROR, &cut),
        ]
    );
}
