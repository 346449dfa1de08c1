//! Tests of fuel budgets: inline WAT loops that spend a known amount of
//! fuel, the out-of-fuel error, the budget being per call, and a pipeline
//! file's `fuel` reaching the plugin through the plan.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::time::Duration;

use serde_json::json;

use super::tests::{Data, dist, echo, engine, init_ok, ints, plugin_wat, write_temp};
use super::*;

/// `transform` that counts a local down from `turns` to zero, about six
/// units of fuel a turn, then returns its input.
fn count_down(data: &mut Data, turns: u32) -> String {
    let echo = echo(data, &[]);
    format!(
        "(local $i i32)
         (local.set $i (i32.const {turns}))
         (loop $l
           (local.set $i (i32.sub (local.get $i) (i32.const 1)))
           (br_if $l (local.get $i)))
         {echo}"
    )
}

/// `transform` that never returns.
const SPIN: &str = "(loop $l (br $l)) (i32.const 0)";

/// A WAT plugin named `name` with an accepting `init` and `transform`
/// built by `transform`, loaded metered.
fn metered(engine: &Engine, name: &str, transform: impl FnOnce(&mut Data) -> String) -> Plugin {
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let body = transform(&mut data);
    let (_dir, path) = write_temp(
        &format!("{name}.wat"),
        &plugin_wat(name, data, &init, &body),
    );
    let plugin = Plugin::load_metered(engine, &path).unwrap();
    assert!(plugin.is_metered());
    plugin
}

/// The default limits with a fuel budget.
fn with_fuel(fuel: u64) -> Limits {
    Limits {
        fuel: Some(fuel),
        ..Limits::default()
    }
}

#[test]
fn an_endless_loop_runs_out_of_fuel_and_the_next_batch_gets_a_fresh_instance() {
    let engine = engine();
    let plugin = metered(&engine, "spin", |_| SPIN.to_owned());
    let mut transform = Transform::new(&plugin, &json!({}), with_fuel(50_000), "p").unwrap();
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `spin` ran out of fuel (50000 units); raise the transform's `fuel` if it is slow rather than stuck"
    );
    assert!(err.is_crash());
    assert!(
        matches!(&err, TransformError::OutOfFuel { plugin, fuel: 50_000 } if plugin == "spin"),
        "{err:?}"
    );
    // The fresh instance has the whole budget again, and spends it again.
    let err = transform.apply(&ints(&[2])).unwrap_err();
    assert!(matches!(err, TransformError::OutOfFuel { .. }), "{err:?}");
}

#[test]
fn the_budget_is_per_call() {
    let engine = engine();
    // About 6,000 units a call: three calls spend more than one budget.
    let plugin = metered(&engine, "counter", |d| count_down(d, 1_000));
    let mut transform = Transform::new(&plugin, &json!({}), with_fuel(10_000), "p").unwrap();
    for n in 0..3 {
        assert_eq!(transform.apply(&ints(&[n])).unwrap().batch, ints(&[n]));
    }
    // A budget smaller than one call's work is not enough.
    let mut starved = Transform::new(&plugin, &json!({}), with_fuel(2_000), "p").unwrap();
    let err = starved.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `counter` ran out of fuel (2000 units); raise the transform's `fuel` if it is slow rather than stuck"
    );
}

#[test]
fn the_budget_bounds_init_too() {
    let engine = engine();
    let mut data = Data::new();
    let body = echo(&mut data, &[]);
    let wat = plugin_wat("slow-start", data, SPIN, &body);
    let (_dir, path) = write_temp("slow-start.wat", &wat);
    // `describe` runs without a budget while loading; `init` under one.
    let plugin = Plugin::load_metered(&engine, &path).unwrap();
    let err = Transform::new(&plugin, &json!({}), with_fuel(10_000), "p").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `slow-start` ran out of fuel (10000 units); raise the transform's `fuel` if it is slow rather than stuck"
    );
}

#[test]
fn a_metered_plugin_without_a_budget_is_bounded_by_its_deadline() {
    let engine = engine();
    let plugin = metered(&engine, "spin", |_| SPIN.to_owned());
    let limits = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    assert_eq!(limits.fuel, None);
    let mut transform = Transform::new(&plugin, &json!({}), limits, "p").unwrap();
    // The metered engine's epoch ticks too.
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `spin` did not finish within 200ms; raise the transform's timeout if it is slow rather than stuck"
    );
    let counter = metered(&engine, "counter", |d| count_down(d, 100_000));
    let mut unlimited = Transform::new(&counter, &json!({}), Limits::default(), "p").unwrap();
    assert_eq!(unlimited.apply(&ints(&[5])).unwrap().batch, ints(&[5]));
}

#[test]
fn a_budget_for_an_unmetered_plugin_is_refused() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("identity")).unwrap();
    assert!(!plugin.is_metered());
    let err = Transform::new(&plugin, &json!(null), with_fuel(1_000), "p").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `identity` cannot run with a fuel budget of 1000 units: it was loaded without \
         fuel metering; load it with `Plugin::load_metered`"
    );
}

#[test]
fn a_real_plugin_passes_its_rows_within_a_generous_budget_and_plain_plugins_share_the_engine() {
    let engine = engine();
    let metered = Plugin::load_metered(&engine, &dist("identity")).unwrap();
    let plain = Plugin::load(&engine, &dist("identity")).unwrap();
    let mut fueled = Transform::new(&metered, &json!(null), with_fuel(1 << 32), "p").unwrap();
    let mut unfueled = Transform::new(&plain, &json!(null), Limits::default(), "p").unwrap();
    let batch = ints(&(0..1_000).collect::<Vec<i64>>());
    for _ in 0..3 {
        assert_eq!(fueled.apply(&batch).unwrap().batch, batch);
        assert_eq!(unfueled.apply(&batch).unwrap().batch, batch);
    }
}

#[test]
fn a_pipeline_files_fuel_reaches_the_plugin_and_fails_the_batch_naming_its_first_offset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let file = dir.path().join("spin.yaml");
    let yaml = format!(
        "apiVersion: sabot/v1\nname: fuel-test\nsource:\n  datagen: {{ records: 10 }}\n\
         transforms:\n  - plugin: {}\n    config: {{ attempt: spin }}\n    fuel: 3000000\n\
         sink:\n  file: {{ path: {}, sync: false }}\n",
        dist("hostile").display(),
        out.display()
    );
    std::fs::write(&file, yaml).unwrap();
    let loaded = crate::config::load_file(&file).unwrap();
    assert_eq!(loaded.config.transforms[0].fuel, Some(3_000_000));

    let engine = engine();
    let plan = crate::plan::plan(&loaded, &engine, &Default::default()).unwrap();
    let transform = &plan.transforms[0];
    assert_eq!(
        transform.limits,
        Limits {
            timeout: Duration::from_secs(5),
            max_memory: 256 << 20,
            fuel: Some(3_000_000),
        }
    );
    assert!(transform.plugin.is_metered());

    let control = crate::runtime::Control::new(true);
    let err = crate::runtime::run_task(&plan, &control, &Default::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "transform `hostile` failed on the batch starting at datagen/0@0: plugin `hostile` ran \
         out of fuel (3000000 units); raise the transform's `fuel` if it is slow rather than stuck"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap_or_default(),
        "",
        "nothing reached the sink"
    );
}

#[test]
fn a_pipeline_without_fuel_loads_its_plugins_unmetered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.yaml");
    let yaml = format!(
        "apiVersion: sabot/v1\nname: plain\nsource:\n  datagen: {{ records: 1 }}\n\
         transforms:\n  - plugin: {}\nsink:\n  stdout: {{}}\n",
        dist("identity").display()
    );
    std::fs::write(&file, yaml).unwrap();
    let loaded = crate::config::load_file(&file).unwrap();
    let plan = crate::plan::plan(&loaded, &engine(), &Default::default()).unwrap();
    assert_eq!(plan.transforms[0].limits.fuel, None);
    assert!(!plan.transforms[0].plugin.is_metered());
}
