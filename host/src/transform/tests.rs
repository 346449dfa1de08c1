//! Tests of the transform host: inline WAT components for every way a
//! plugin can misbehave, and the real example plugins for the happy path.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field};
use serde_json::json;

use super::*;

/// An engine without a compile cache, so tests do not touch the user's.
pub(super) fn engine() -> Engine {
    Engine::with_cache_dir(None).expect("the engine starts")
}

/// Static memory of a WAT plugin: bytes placed from address 1024 on.
pub(super) struct Data {
    /// The bytes from address [`Data::BASE`].
    pub(super) bytes: Vec<u8>,
}

impl Data {
    /// Where the data segment starts.
    pub(super) const BASE: u32 = 1024;

    pub(super) fn new() -> Self {
        Data { bytes: Vec::new() }
    }

    /// Place `bytes` 4-aligned; their address.
    pub(super) fn put(&mut self, bytes: &[u8]) -> u32 {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
        let at = Self::BASE + u32::try_from(self.bytes.len()).unwrap();
        self.bytes.extend_from_slice(bytes);
        at
    }

    /// Place a string; its (address, length).
    pub(super) fn string(&mut self, s: &str) -> (u32, u32) {
        (self.put(s.as_bytes()), u32::try_from(s.len()).unwrap())
    }

    /// Place a record of 32-bit words; its address.
    pub(super) fn words(&mut self, words: &[u32]) -> u32 {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.put(&bytes)
    }

    /// The WAT data segment.
    pub(super) fn segment(&self) -> String {
        let escaped: String = self.bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        format!("(data (i32.const {}) \"{escaped}\")", Self::BASE)
    }
}

/// Where a transform's result record is written at run time.
pub(super) const SCRATCH: u32 = 512;

/// A component exporting `batch-transform` whose `describe` names it
/// `name`, whose `init` returns the i32 result pointer `init`, and whose
/// `transform` runs `transform` (WAT instructions with the input list in
/// locals `$ptr` and `$len`, leaving a result pointer). `data` is its
/// static memory.
pub(super) fn plugin_wat(name: &str, mut data: Data, init: &str, transform: &str) -> String {
    let (name_ptr, name_len) = data.string(name);
    let (version_ptr, version_len) = data.string("0.0.1");
    let (doc_ptr, doc_len) = data.string("A test plugin.");
    let info = data.words(&[
        name_ptr,
        name_len,
        version_ptr,
        version_len,
        doc_ptr,
        doc_len,
        0,
        0,
    ]);
    let segment = data.segment();
    format!(
        r#"(component
  (core module $m
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 32768))
    (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (block $ok
        (br_if $ok (i32.le_u (local.get $end) (i32.mul (memory.size) (i32.const 65536))))
        (br_if $ok (i32.ne
          (memory.grow (i32.add (i32.const 1) (i32.shr_u
            (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
            (i32.const 16))))
          (i32.const -1)))
        unreachable)
      (global.set $heap (local.get $end))
      (local.get $p))
    (func (export "describe") (result i32) (i32.const {info}))
    (func (export "init") (param $ptr i32) (param $len i32) (result i32) {init})
    (func (export "transform") (param $ptr i32) (param $len i32) (result i32) {transform})
    {segment}
  )
  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "cabi_realloc" (core func $realloc))
  (alias core export $i "describe" (core func $core-describe))
  (alias core export $i "init" (core func $core-init))
  (alias core export $i "transform" (core func $core-transform))
  (type $field-type (enum "string" "integer" "number" "boolean" "list" "any"))
  (type $config-field (record (field "name" string) (field "type" $field-type) (field "required" bool) (field "default" (option string)) (field "doc" string)))
  (type $plugin-info (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $config-field))))
  (type $rejection (record (field "row" u32) (field "reason" string)))
  (type $batch-result (record (field "batch" (list u8)) (field "rejected" (list $rejection))))
  (func $describe (result $plugin-info) (canon lift (core func $core-describe) (memory $mem) (realloc $realloc)))
  (func $init (param "config" string) (result (result (error string))) (canon lift (core func $core-init) (memory $mem) (realloc $realloc)))
  (func $transform (param "batch" (list u8)) (result (result $batch-result (error string))) (canon lift (core func $core-transform) (memory $mem) (realloc $realloc)))
  ;; An exported interface must name its types, so the functions go
  ;; through a component that imports them with their types and exports
  ;; them again.
  (component $iface
    (type $ft0 (enum "string" "integer" "number" "boolean" "list" "any"))
    (import "import-type-field-type" (type $ft-i (eq $ft0)))
    (type $cf0 (record (field "name" string) (field "type" $ft-i) (field "required" bool) (field "default" (option string)) (field "doc" string)))
    (import "import-type-config-field" (type $cf-i (eq $cf0)))
    (type $pi0 (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $cf-i))))
    (import "import-type-plugin-info" (type $pi-i (eq $pi0)))
    (type $rj0 (record (field "row" u32) (field "reason" string)))
    (import "import-type-rejection" (type $rj-i (eq $rj0)))
    (type $br0 (record (field "batch" (list u8)) (field "rejected" (list $rj-i))))
    (import "import-type-batch-result" (type $br-i (eq $br0)))
    (import "import-func-describe" (func $d (result $pi-i)))
    (import "import-func-init" (func $in (param "config" string) (result (result (error string)))))
    (import "import-func-transform" (func $t (param "batch" (list u8)) (result (result $br-i (error string)))))
    (export $ft "field-type" (type $ft-i))
    (type $cf1 (record (field "name" string) (field "type" $ft) (field "required" bool) (field "default" (option string)) (field "doc" string)))
    (export $cf "config-field" (type $cf1))
    (type $pi1 (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $cf))))
    (export $pi "plugin-info" (type $pi1))
    (export $rj "rejection" (type $rj-i))
    (type $br1 (record (field "batch" (list u8)) (field "rejected" (list $rj))))
    (export $br "batch-result" (type $br1))
    (export "describe" (func $d) (func (result $pi)))
    (export "init" (func $in))
    (export "transform" (func $t) (func (param "batch" (list u8)) (result (result $br (error string)))))
  )
  (instance $bt (instantiate $iface
    (with "import-type-field-type" (type $field-type))
    (with "import-type-config-field" (type $config-field))
    (with "import-type-plugin-info" (type $plugin-info))
    (with "import-type-rejection" (type $rejection))
    (with "import-type-batch-result" (type $batch-result))
    (with "import-func-describe" (func $describe))
    (with "import-func-init" (func $init))
    (with "import-func-transform" (func $transform))))
  (export "sabot:plugin/batch-transform@0.1.0" (instance $bt))
)"#
    )
}

/// `init` that accepts any config: a pointer to `ok`.
pub(super) fn init_ok(data: &mut Data) -> String {
    format!("(i32.const {})", data.words(&[0, 0, 0]))
}

/// `transform` that returns `ok` with the batch given and these rejections
/// (row, reason).
pub(super) fn echo(data: &mut Data, rejections: &[(u32, &str)]) -> String {
    let mut words = Vec::new();
    for (row, reason) in rejections {
        let (ptr, len) = data.string(reason);
        words.extend([*row, ptr, len]);
    }
    let list = if words.is_empty() {
        0
    } else {
        data.words(&words)
    };
    format!(
        "(i32.store (i32.const {SCRATCH}) (i32.const 0))
         (i32.store (i32.const {}) (local.get $ptr))
         (i32.store (i32.const {}) (local.get $len))
         (i32.store (i32.const {}) (i32.const {list}))
         (i32.store (i32.const {}) (i32.const {}))
         (i32.const {SCRATCH})",
        SCRATCH + 4,
        SCRATCH + 8,
        SCRATCH + 12,
        SCRATCH + 16,
        rejections.len()
    )
}

/// `transform` that returns `ok` with these fixed batch bytes.
fn fixed_output(data: &mut Data, batch: &[u8]) -> String {
    let ptr = data.put(batch);
    let result = data.words(&[0, ptr, u32::try_from(batch.len()).unwrap(), 0, 0]);
    format!("(i32.const {result})")
}

/// Write `text` to a fresh temporary file named `name`; the folder lives as
/// long as the returned guard.
pub(super) fn write_temp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Load a WAT plugin from a file named `name`.
pub(super) fn load_wat(engine: &Engine, name: &str, wat: &str) -> Result<Plugin, TransformError> {
    let (_dir, path) = write_temp(name, wat);
    Plugin::load(engine, &path)
}

/// `n: int64` with the values given.
pub(super) fn ints(values: &[i64]) -> RecordBatch {
    RecordBatch::try_from_iter(vec![(
        "n",
        Arc::new(Int64Array::from(values.to_vec())) as ArrayRef,
    )])
    .unwrap()
}

/// A plugin built from `transform` with an accepting `init`, started.
fn start(
    engine: &Engine,
    name: &str,
    limits: Limits,
    transform: impl FnOnce(&mut Data) -> String,
) -> Transform {
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let body = transform(&mut data);
    let plugin = load_wat(
        engine,
        &format!("{name}.wat"),
        &plugin_wat(name, data, &init, &body),
    )
    .unwrap();
    Transform::new(&plugin, &json!({}), limits, "test-pipeline").unwrap()
}

#[test]
fn a_well_behaved_plugin_describes_itself_and_passes_batches_through() {
    let engine = engine();
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let body = echo(&mut data, &[(1, "field `n` is odd")]);
    let plugin = load_wat(&engine, "echo.wat", &plugin_wat("echo", data, &init, &body)).unwrap();
    assert_eq!(
        plugin.info(),
        &PluginInfo {
            name: "echo".to_owned(),
            version: "0.0.1".to_owned(),
            description: "A test plugin.".to_owned(),
            config: Vec::new(),
        }
    );
    assert_eq!(plugin.world(), World::Batch);
    assert!(!plugin.from_cache());

    let mut transform = Transform::new(&plugin, &json!({"a": 1}), Limits::default(), "p").unwrap();
    // Keeping all rows and rejecting one breaks the contract ...
    let err = transform.apply(&ints(&[1, 2])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `echo` returned a bad result: it kept 2 rows and rejected 1 of a batch of 2; \
         a rejected row must not also be kept"
    );
    // A plugin that keeps every row and rejects none.
    let mut transform = start(&engine, "echo", Limits::default(), |d| echo(d, &[]));
    let out = transform.apply(&ints(&[1, 2, 3])).unwrap();
    assert_eq!(out.batch, ints(&[1, 2, 3]));
    assert!(out.rejected.is_empty());
    let out = transform.apply(&ints(&[4])).unwrap();
    assert_eq!(out.batch, ints(&[4]));
}

#[test]
fn rejections_are_returned_with_their_reasons() {
    let engine = engine();
    let empty = ints(&[]);
    let mut transform = start(&engine, "rejecting", Limits::default(), |d| {
        let batch = ipc::encode(&ints(&[])).unwrap();
        let ptr = d.put(&batch);
        let (r1, l1) = d.string("field `n` is negative");
        let (r2, l2) = d.string("field `n` is zero");
        let list = d.words(&[2, r1, l1, 0, r2, l2]);
        let result = d.words(&[0, ptr, u32::try_from(batch.len()).unwrap(), list, 2]);
        format!("(i32.const {result})")
    });
    let out = transform.apply(&ints(&[5, 0, -1])).unwrap();
    assert_eq!(out.batch, empty);
    assert_eq!(
        out.rejected,
        vec![
            Rejection {
                row: 2,
                reason: "field `n` is negative".to_owned()
            },
            Rejection {
                row: 0,
                reason: "field `n` is zero".to_owned()
            },
        ]
    );
}

#[test]
fn a_core_module_is_not_a_component() {
    let engine = engine();
    let err = load_wat(&engine, "core.wat", "(module (func (export \"f\")))").unwrap_err();
    assert!(
        matches!(err, TransformError::NotAComponent { .. }),
        "{err:?}"
    );
    let (_dir, path) = write_temp("core.wasm", "");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let err = Plugin::load(&engine, &path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is not a WebAssembly component (it is a core module); build it for wasm32-wasip2",
            path.display()
        )
    );
    std::fs::write(&path, b"PK\x03\x04 not wasm").unwrap();
    let err = Plugin::load(&engine, &path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is not a WebAssembly file; a plugin is a component built for wasm32-wasip2",
            path.display()
        )
    );
    let err = Plugin::load(&engine, Path::new("/nonexistent/filter.wasm")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read plugin `/nonexistent/filter.wasm`: No such file or directory (os error 2)"
    );
}

#[test]
fn a_component_of_another_world_is_refused() {
    let engine = engine();
    let wat = r#"(component
        (core module $m (func (export "f")))
        (core instance $i (instantiate $m))
        (alias core export $i "f" (core func $f))
        (func $hello (canon lift (core func $f)))
        (export "hello" (func $hello)))"#;
    let (_dir, path) = write_temp("hello.wat", wat);
    let err = Plugin::load(&engine, &path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` does not export `sabot:plugin/batch-transform@0.1.0` or \
             `sabot:plugin/record-transform@0.1.0`; it exports: `hello`",
            path.display()
        )
    );
}

#[test]
fn a_plugin_that_rejects_its_config() {
    let engine = engine();
    let mut data = Data::new();
    let (ptr, len) = data.string("config key `op` must be one of `==`, `!=`; got `~`");
    let init = format!("(i32.const {})", data.words(&[1, ptr, len]));
    let transform = echo(&mut data, &[]);
    let plugin = load_wat(
        &engine,
        "strict.wat",
        &plugin_wat("strict", data, &init, &transform),
    )
    .unwrap();
    let err = Transform::new(&plugin, &json!({"op": "~"}), Limits::default(), "p").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `strict` rejected its config: config key `op` must be one of `==`, `!=`; got `~`"
    );
}

#[test]
fn a_trap_fails_the_batch_and_the_next_batch_gets_a_fresh_instance() {
    let engine = engine();
    // Traps on the first call of each instance, echoes afterwards: a global
    // counts calls, so a fresh instance traps again.
    let mut transform = start(&engine, "flaky", Limits::default(), |d| {
        let echo = echo(d, &[]);
        format!(
            "(if (i32.eqz (i32.load (i32.const 508))) (then (i32.store (i32.const 508) (i32.const 1)) unreachable)) {echo}"
        )
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    let TransformError::Trap { plugin, message } = &err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(plugin, "flaky");
    assert!(
        message.contains("wasm `unreachable` instruction executed"),
        "{message}"
    );
    assert!(err.is_crash());
    // A fresh instance (memory reset) traps again: proof that it is fresh.
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert!(matches!(err, TransformError::Trap { .. }), "{err:?}");
}

#[test]
fn state_survives_between_batches_of_one_instance() {
    let engine = engine();
    // Fails every call after the first with the same instance by trapping
    // on the second; shows that the instance is kept across calls.
    let mut transform = start(&engine, "once", Limits::default(), |d| {
        let echo = echo(d, &[]);
        format!(
            "(if (i32.load (i32.const 508)) (then unreachable)) (i32.store (i32.const 508) (i32.const 1)) {echo}"
        )
    });
    assert_eq!(transform.apply(&ints(&[7])).unwrap().batch, ints(&[7]));
    assert!(matches!(
        transform.apply(&ints(&[7])),
        Err(TransformError::Trap { .. })
    ));
    // After the trap a fresh instance starts with clean memory.
    assert_eq!(transform.apply(&ints(&[8])).unwrap().batch, ints(&[8]));
}

#[test]
fn an_endless_loop_times_out() {
    let engine = engine();
    let limits = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut transform = start(&engine, "spin", limits, |_| {
        "(loop $l (br $l)) (i32.const 0)".to_owned()
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `spin` did not finish within 200ms; raise the transform's timeout if it is slow rather than stuck"
    );
}

#[test]
fn growing_past_the_memory_limit_is_out_of_memory() {
    let engine = engine();
    let limits = Limits {
        max_memory: 16 << 20,
        ..Limits::default()
    };
    // Asks for 64 MiB more; traps like a Rust guest does when refused.
    let mut transform = start(&engine, "hungry", limits, |d| {
        let echo = echo(d, &[]);
        format!(
            "(if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1)) (then unreachable)) {echo}"
        )
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `hungry` ran out of memory: it tried to grow past its limit of 16 MiB; \
         raise the transform's memory limit or send smaller batches"
    );
    // The same plugin within a larger limit is fine.
    let roomy = Limits {
        max_memory: 128 << 20,
        ..Limits::default()
    };
    let mut transform = start(&engine, "hungry", roomy, |d| {
        let echo = echo(d, &[]);
        format!(
            "(if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1)) (then unreachable)) {echo}"
        )
    });
    assert_eq!(transform.apply(&ints(&[1])).unwrap().batch, ints(&[1]));
}

#[test]
fn garbage_output_is_a_bad_result() {
    let engine = engine();
    let mut transform = start(&engine, "garbage", Limits::default(), |d| {
        fixed_output(d, b"not arrow at all")
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `garbage` returned a bad result: its batch is not a complete Arrow IPC stream: \
         Ipc error: Unexpected End of Stream"
    );
    // Two batches where at most one is allowed.
    let mut twice = start(&engine, "doubler", Limits::default(), |d| {
        let mut stream = Vec::new();
        let mut writer =
            arrow_ipc::writer::StreamWriter::try_new(&mut stream, &ints(&[]).schema()).unwrap();
        writer.write(&ints(&[1])).unwrap();
        writer.write(&ints(&[2])).unwrap();
        writer.finish().unwrap();
        drop(writer);
        fixed_output(d, &stream)
    });
    let err = twice.apply(&ints(&[1, 2])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `doubler` returned a bad result: its Arrow IPC stream holds more than one record batch"
    );
}

#[test]
fn more_rows_than_given_is_a_bad_result() {
    let engine = engine();
    let three = ipc::encode(&ints(&[1, 2, 3])).unwrap();
    let mut transform = start(&engine, "multiplier", Limits::default(), |d| {
        fixed_output(d, &three)
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `multiplier` returned a bad result: it returned 3 rows for a batch of 1; \
         a plugin may only keep or drop rows"
    );
    // Not a crash: the instance is kept.
    assert!(!err.is_crash());
}

#[test]
fn rejections_out_of_range_or_twice_are_bad_results() {
    let engine = engine();
    let mut transform = start(&engine, "far", Limits::default(), |d| echo(d, &[(5, "no")]));
    let err = transform.apply(&ints(&[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `far` returned a bad result: it rejected row 5 of a batch of 0 rows"
    );
    let mut transform = start(&engine, "twice", Limits::default(), |d| {
        echo(d, &[(0, "a"), (0, "b")])
    });
    let err = transform.apply(&ints(&[1, 2, 3])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `twice` returned a bad result: it rejected row 0 twice"
    );
}

#[test]
fn the_compile_cache_is_used_and_a_corrupt_entry_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let engine = Engine::with_cache_dir(Some(cache.path().to_owned())).unwrap();
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let body = echo(&mut data, &[]);
    let wat = plugin_wat("cached", data, &init, &body);
    let (_dir, path) = write_temp("cached.wat", &wat);

    let first = Plugin::load(&engine, &path).unwrap();
    assert!(!first.from_cache());
    let entries: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");

    let second = Plugin::load(&engine, &path).unwrap();
    assert!(second.from_cache());
    let mut transform = Transform::new(&second, &json!({}), Limits::default(), "p").unwrap();
    assert_eq!(
        transform.apply(&ints(&[3, 4])).unwrap().batch,
        ints(&[3, 4])
    );

    // Flip a byte in the middle: the checksum catches it and the plugin is
    // compiled again, and the entry rewritten.
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entries[0], &bytes).unwrap();
    let third = Plugin::load(&engine, &path).unwrap();
    assert!(!third.from_cache());
    let fourth = Plugin::load(&engine, &path).unwrap();
    assert!(fourth.from_cache());
    // A truncated entry too.
    std::fs::write(&entries[0], b"SABOT").unwrap();
    assert!(!Plugin::load(&engine, &path).unwrap().from_cache());
}

/// The path of a built example plugin.
pub(super) fn dist(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/dist")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "`{}` is missing: run plugins/build.sh first",
        path.display()
    );
    path
}

/// `id: int64, amount: float64, customer: struct<email: utf8>`, plus the
/// `__offset` metadata column.
fn orders() -> RecordBatch {
    let email: ArrayRef = Arc::new(StringArray::from(vec![
        Some("alice@example.com"),
        None,
        Some("bob@example.com"),
    ]));
    let customer = StructArray::from(vec![(
        Arc::new(Field::new("email", DataType::Utf8, true)),
        email,
    )]);
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "amount",
            Arc::new(Float64Array::from(vec![Some(50.0), Some(150.0), None])) as ArrayRef,
        ),
        ("customer", Arc::new(customer) as ArrayRef),
        (
            "__offset",
            Arc::new(Int64Array::from(vec![100, 101, 102])) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[test]
fn the_filter_plugin_keeps_matching_rows() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("filter")).unwrap();
    assert_eq!(plugin.info().name, "filter");
    let names: Vec<&str> = plugin
        .info()
        .config
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, vec!["field", "op", "value", "otherwise"]);

    let config = json!({"field": "amount", "op": ">", "value": 100});
    let mut filter = Transform::new(&plugin, &config, Limits::default(), "orders").unwrap();
    let out = filter.apply(&orders()).unwrap();
    let expected = orders().slice(1, 1);
    assert_eq!(out.batch, expected);
    assert!(out.rejected.is_empty());

    let bad = json!({"field": "amount", "op": "~", "value": 100});
    let err = Transform::new(&plugin, &bad, Limits::default(), "orders").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `filter` rejected its config: config key `op` must be one of \
         `==`, `!=`, `>`, `>=`, `<`, `<=`; got `~`"
    );

    let missing = json!({"field": "total", "op": ">", "value": 1});
    let mut filter = Transform::new(&plugin, &missing, Limits::default(), "orders").unwrap();
    let err = filter.apply(&orders()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `filter` failed the batch: field `total` is not in the batch; \
         its columns are: `id`, `amount`, `customer`, `__offset`"
    );
}

#[test]
fn the_mask_plugin_hashes_nested_fields() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("mask")).unwrap();
    let config = json!({"fields": ["customer.email"], "mode": "hash", "key": "s3cret"});
    let mut mask = Transform::new(&plugin, &config, Limits::default(), "orders").unwrap();
    let out = mask.apply(&orders()).unwrap();
    assert_eq!(out.batch.schema(), orders().schema());
    let customer = out
        .batch
        .column(2)
        .as_any()
        .downcast_ref::<StructArray>()
        .unwrap();
    let emails = customer
        .column(0)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        emails.iter().collect::<Vec<_>>(),
        vec![
            Some("578cae3dea73e06490ba447ab961d5219f0e379c2ce3610b8dcd7ee36a39e53d"),
            None,
            Some("3ee1d0650dc9ad001cb06b725dd88915905f760d8ecd7cc86a9d7880ccfcb236"),
        ]
    );
    assert_eq!(out.batch.column(0), orders().column(0));
    assert_eq!(out.batch.column(3), orders().column(3));
}

#[test]
fn the_identity_plugin_returns_its_input() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("identity")).unwrap();
    let mut identity =
        Transform::new(&plugin, &serde_json::Value::Null, Limits::default(), "p").unwrap();
    assert_eq!(identity.apply(&orders()).unwrap().batch, orders());
}

#[test]
fn a_trap_message_carries_the_wasm_backtrace() {
    let engine = engine();
    let mut transform = start(&engine, "crash", Limits::default(), |_| {
        "unreachable".to_owned()
    });
    let err = transform.apply(&ints(&[1])).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("plugin `crash` crashed: "), "{text}");
    assert!(text.contains("wasm backtrace"), "{text}");
    assert!(
        text.contains("wasm `unreachable` instruction executed"),
        "{text}"
    );
}

/// A task plan over generated orders through one WAT plugin into a file.
fn datagen_task(plugin: Plugin, name: &str, out: &std::path::Path) -> crate::plan::TaskPlan {
    use crate::plan::{DecoderPlan, SinkPlan, SourcePlan, TaskPlan, TransformPlan};
    TaskPlan {
        pipeline: "task-test".to_owned(),
        source: SourcePlan::Datagen(crate::config::DatagenConfig {
            records: Some(10),
            rate: None,
            seed: 1,
            bad_ratio: 0.0,
        }),
        decoder: DecoderPlan::Json {
            schema: None,
            infer_records: 100,
            unknown_fields: crate::format::json::UnknownFields::Reject,
        },
        transforms: vec![TransformPlan {
            name: name.to_owned(),
            plugin,
            config: json!({}),
            limits: Limits::default(),
            grants: Grants::default(),
        }],
        sink: SinkPlan::File {
            path: out.to_owned(),
            sync: false,
        },
        policy: crate::config::BadRecordPolicy::Fail,
        dead_letter: None,
        max_records: 100,
        max_wait: std::time::Duration::from_millis(10),
        feed: None,
    }
}

#[test]
fn a_trapping_plugin_fails_the_task_naming_the_plugin_and_the_first_offset() {
    let engine = engine();
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let plugin = load_wat(
        &engine,
        "boom.wat",
        &plugin_wat("boom", data, &init, "unreachable"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let plan = datagen_task(plugin, "boom", &out);
    let control = crate::runtime::Control::new(true);
    let err = crate::runtime::run_task(&plan, &control, &Default::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "transform `boom` failed on the batch starting at datagen/0@0: plugin `boom` crashed"
        ),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "nothing reached the sink"
    );
}
