//! Tests of the record world: inline WAT record-world components (also
//! used by the capability tests), and the Python example plugin.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use serde_json::json;

use super::tests::{Data, dist, echo, engine, init_ok, ints, load_wat};
use super::*;
use crate::record::{self as meta, Header, RawRecord};

/// What a fixture component imports beyond its own memory.
#[derive(Default)]
pub(super) struct Imports {
    /// Component-level imports.
    pub(super) component: String,
    /// `canon lower`s making core functions of them.
    pub(super) lowered: String,
    /// Import lines of the core module (module `wasi`).
    pub(super) core: String,
    /// The exports of the core instance passed as module `wasi`.
    pub(super) instance: String,
}

/// A component exporting `record-transform`; see
/// [`plugin_wat`](super::tests::plugin_wat) for the arguments. Memory and
/// allocator live in a module of their own, so that imported functions can
/// be lowered with them before the main module is instantiated.
fn record_plugin_wat(
    name: &str,
    mut data: Data,
    init: &str,
    transform: &str,
    imports: &Imports,
) -> String {
    let (name_ptr, name_len) = data.string(name);
    let (version_ptr, version_len) = data.string("0.0.1");
    let (doc_ptr, doc_len) = data.string("A record test plugin.");
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
    let Imports {
        component,
        lowered,
        core,
        instance,
    } = imports;
    let wasi = if instance.is_empty() {
        String::new()
    } else {
        "(with \"wasi\" (instance $wasi))".to_owned()
    };
    let wasi_instance = if instance.is_empty() {
        String::new()
    } else {
        format!("(core instance $wasi {instance})")
    };
    format!(
        r#"(component
  {component}
  (core module $libc
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
      (local.get $p)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "cabi_realloc" (core func $realloc))
  {lowered}
  (core module $m
    (import "libc" "memory" (memory 1))
    {core}
    (func (export "describe") (result i32) (i32.const {info}))
    (func (export "init") (param $ptr i32) (param $len i32) (result i32) {init})
    (func (export "transform") (param $ptr i32) (param $len i32) (result i32) {transform})
    {segment}
  )
  {wasi_instance}
  (core instance $i (instantiate $m (with "libc" (instance $libc)) {wasi}))
  (alias core export $i "describe" (core func $core-describe))
  (alias core export $i "init" (core func $core-init))
  (alias core export $i "transform" (core func $core-transform))
  (type $field-type (enum "string" "integer" "number" "boolean" "list" "any"))
  (type $config-field (record (field "name" string) (field "type" $field-type) (field "required" bool) (field "default" (option string)) (field "doc" string)))
  (type $plugin-info (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $config-field))))
  (type $rejection (record (field "row" u32) (field "reason" string)))
  (type $header (record (field "key" string) (field "value" (option (list u8)))))
  (type $record (record (field "key" (option (list u8))) (field "value" (option (list u8))) (field "headers" (list $header)) (field "topic" string) (field "partition" s32) (field "offset" s64) (field "timestamp-ms" (option s64))))
  (type $record-result (record (field "records" (list $record)) (field "rejected" (list $rejection))))
  (func $describe (result $plugin-info) (canon lift (core func $core-describe) (memory $mem) (realloc $realloc)))
  (func $init (param "config" string) (result (result (error string))) (canon lift (core func $core-init) (memory $mem) (realloc $realloc)))
  (func $transform (param "records" (list $record)) (result (result $record-result (error string))) (canon lift (core func $core-transform) (memory $mem) (realloc $realloc)))
  (component $iface
    (type $ft0 (enum "string" "integer" "number" "boolean" "list" "any"))
    (import "import-type-field-type" (type $ft-i (eq $ft0)))
    (type $cf0 (record (field "name" string) (field "type" $ft-i) (field "required" bool) (field "default" (option string)) (field "doc" string)))
    (import "import-type-config-field" (type $cf-i (eq $cf0)))
    (type $pi0 (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $cf-i))))
    (import "import-type-plugin-info" (type $pi-i (eq $pi0)))
    (type $rj0 (record (field "row" u32) (field "reason" string)))
    (import "import-type-rejection" (type $rj-i (eq $rj0)))
    (type $h0 (record (field "key" string) (field "value" (option (list u8)))))
    (import "import-type-header" (type $h-i (eq $h0)))
    (type $r0 (record (field "key" (option (list u8))) (field "value" (option (list u8))) (field "headers" (list $h-i)) (field "topic" string) (field "partition" s32) (field "offset" s64) (field "timestamp-ms" (option s64))))
    (import "import-type-record" (type $r-i (eq $r0)))
    (type $rr0 (record (field "records" (list $r-i)) (field "rejected" (list $rj-i))))
    (import "import-type-record-result" (type $rr-i (eq $rr0)))
    (import "import-func-describe" (func $d (result $pi-i)))
    (import "import-func-init" (func $in (param "config" string) (result (result (error string)))))
    (import "import-func-transform" (func $t (param "records" (list $r-i)) (result (result $rr-i (error string)))))
    (export $ft "field-type" (type $ft-i))
    (type $cf1 (record (field "name" string) (field "type" $ft) (field "required" bool) (field "default" (option string)) (field "doc" string)))
    (export $cf "config-field" (type $cf1))
    (type $pi1 (record (field "name" string) (field "version" string) (field "description" string) (field "config" (list $cf))))
    (export $pi "plugin-info" (type $pi1))
    (export $rj "rejection" (type $rj-i))
    (export $h "header" (type $h-i))
    (type $r1 (record (field "key" (option (list u8))) (field "value" (option (list u8))) (field "headers" (list $h)) (field "topic" string) (field "partition" s32) (field "offset" s64) (field "timestamp-ms" (option s64))))
    (export $r "record" (type $r1))
    (type $rr1 (record (field "records" (list $r)) (field "rejected" (list $rj))))
    (export $rr "record-result" (type $rr1))
    (export "describe" (func $d) (func (result $pi)))
    (export "init" (func $in))
    (export "transform" (func $t) (func (param "records" (list $r)) (result (result $rr (error string)))))
  )
  (instance $rt (instantiate $iface
    (with "import-type-field-type" (type $field-type))
    (with "import-type-config-field" (type $config-field))
    (with "import-type-plugin-info" (type $plugin-info))
    (with "import-type-rejection" (type $rejection))
    (with "import-type-header" (type $header))
    (with "import-type-record" (type $record))
    (with "import-type-record-result" (type $record-result))
    (with "import-func-describe" (func $describe))
    (with "import-func-init" (func $init))
    (with "import-func-transform" (func $transform))))
  (export "sabot:plugin/record-transform@0.1.0" (instance $rt))
)"#,
    )
}

/// A record plugin named `name` with an accepting `init` and `transform`
/// built by `body`, started with `grants`.
pub(super) fn start_records(
    name: &str,
    imports: &Imports,
    grants: Grants,
    body: impl FnOnce(&mut Data) -> String,
) -> Result<Transform, TransformError> {
    let engine = engine();
    let mut data = Data::new();
    let init = init_ok(&mut data);
    let body = body(&mut data);
    let plugin = load_wat(
        &engine,
        &format!("{name}.wat"),
        &record_plugin_wat(name, data, &init, &body, imports),
    )?;
    assert_eq!(plugin.world(), World::Record);
    Transform::with_grants(
        &plugin,
        &json!({}),
        Limits::default(),
        grants,
        "test-pipeline",
    )
}

/// One record a fixture returns, as the canonical ABI lays it out.
struct Fixed<'a> {
    /// The key.
    key: Option<&'a str>,
    /// The value.
    value: Option<&'a str>,
    /// The headers.
    headers: &'a [(&'a str, Option<&'a str>)],
    /// The topic.
    topic: &'a str,
    /// The partition.
    partition: i32,
    /// The offset.
    offset: i64,
    /// The timestamp.
    timestamp_ms: Option<i64>,
}

/// Place `bytes` 8-aligned; their address.
fn put8(data: &mut Data, bytes: &[u8]) -> u32 {
    while !data.bytes.len().is_multiple_of(8) {
        data.bytes.push(0);
    }
    data.put(bytes)
}

/// An option of a byte list: discriminant, pointer, length.
fn option_list(data: &mut Data, value: Option<&str>) -> [u32; 3] {
    match value {
        Some(v) => {
            let (ptr, len) = data.string(v);
            [1, ptr, len]
        }
        None => [0, 0, 0],
    }
}

/// `transform` that returns `ok` with `records` and these rejections.
fn fixed_records(data: &mut Data, records: &[Fixed<'_>], rejections: &[(u32, &str)]) -> String {
    let mut list = Vec::new();
    for r in records {
        let mut headers = Vec::new();
        for (key, value) in r.headers {
            let (kp, kl) = data.string(key);
            headers.extend([kp, kl]);
            headers.extend(option_list(data, *value));
        }
        let headers_ptr = if headers.is_empty() {
            0
        } else {
            data.words(&headers)
        };
        let mut bytes = Vec::with_capacity(72);
        let words = |bytes: &mut Vec<u8>, ws: &[u32]| {
            bytes.extend(ws.iter().flat_map(|w| w.to_le_bytes()));
        };
        words(&mut bytes, &option_list(data, r.key));
        words(&mut bytes, &option_list(data, r.value));
        let (tp, tl) = data.string(r.topic);
        let headers_len = u32::try_from(r.headers.len()).unwrap();
        words(&mut bytes, &[headers_ptr, headers_len, tp, tl]);
        bytes.extend(r.partition.to_le_bytes());
        bytes.extend([0; 4]);
        bytes.extend(r.offset.to_le_bytes());
        match r.timestamp_ms {
            Some(ts) => {
                bytes.extend([1, 0, 0, 0, 0, 0, 0, 0]);
                bytes.extend(ts.to_le_bytes());
            }
            None => bytes.extend([0; 16]),
        }
        list.push(bytes);
    }
    let list_ptr = if list.is_empty() {
        0
    } else {
        put8(data, &list.concat())
    };
    let mut words = Vec::new();
    for (row, reason) in rejections {
        let (ptr, len) = data.string(reason);
        words.extend([*row, ptr, len]);
    }
    let rejected_ptr = if words.is_empty() {
        0
    } else {
        data.words(&words)
    };
    let result = data.words(&[
        0,
        list_ptr,
        u32::try_from(records.len()).unwrap(),
        rejected_ptr,
        u32::try_from(rejections.len()).unwrap(),
    ]);
    format!("(i32.const {result})")
}

/// `id: int64, name: utf8, amount: float64` and the metadata columns of
/// three records of topic `orders`, partition 2, offsets 10 to 12.
fn orders_with_metadata() -> RecordBatch {
    let raw: Vec<RawRecord> = (0..3)
        .map(|i| RawRecord {
            topic: Arc::from("orders"),
            partition: 2,
            offset: 10 + i,
            timestamp_ms: (i != 1).then_some(1_700_000_000_000 + i),
            key: (i != 2).then(|| format!("k{i}").into_bytes()),
            value: None,
            headers: if i == 0 {
                vec![
                    Header {
                        key: "trace".to_owned(),
                        value: Some(b"abc".to_vec()),
                    },
                    Header {
                        key: "empty".to_owned(),
                        value: None,
                    },
                ]
            } else {
                Vec::new()
            },
        })
        .collect();
    let mut fields = vec![
        Field::new("id", arrow_schema::DataType::Int64, true),
        Field::new("name", arrow_schema::DataType::Utf8, true),
        Field::new("amount", arrow_schema::DataType::Float64, true),
    ];
    fields.extend(meta::metadata_fields());
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringArray::from(vec![Some("ann"), None, Some("bo \"b\"")])),
        Arc::new(Float64Array::from(vec![Some(9.5), Some(150.0), None])),
    ];
    columns.extend(meta::metadata_columns(&raw));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

#[test]
fn a_record_plugin_that_returns_its_records_gives_back_the_same_batch() {
    let mut transform = start_records("echo", &Imports::default(), Grants::default(), |d| {
        echo(d, &[])
    })
    .unwrap();
    assert_eq!(transform.plugin().info().name, "echo");
    let input = orders_with_metadata();
    let out = transform.apply(&input).unwrap();
    assert_eq!(out.batch, input);
    assert!(out.rejected.is_empty());
    // A batch without metadata columns keeps having none.
    let out = transform.apply(&ints(&[4, 5])).unwrap();
    assert_eq!(out.batch, ints(&[4, 5]));
}

#[test]
fn returned_records_become_rows_with_their_metadata_and_rejections_name_input_rows() {
    let records = [
        Fixed {
            key: Some("new-key"),
            value: Some(r#"{"amount": 1.25, "id": 7, "extra": true}"#),
            headers: &[("h", Some("v")), ("n", None)],
            topic: "orders",
            partition: 2,
            offset: 10,
            timestamp_ms: Some(1234),
        },
        Fixed {
            key: None,
            value: Some(r#"{"name": "zed"}"#),
            headers: &[],
            topic: "orders",
            partition: 2,
            offset: 12,
            timestamp_ms: None,
        },
    ];
    let mut transform = start_records("fixed", &Imports::default(), Grants::default(), |d| {
        fixed_records(d, &records, &[(1, "field `amount` is too large")])
    })
    .unwrap();
    let out = transform.apply(&orders_with_metadata()).unwrap();

    let raw = [
        RawRecord {
            topic: Arc::from("orders"),
            partition: 2,
            offset: 10,
            timestamp_ms: Some(1234),
            key: Some(b"new-key".to_vec()),
            value: None,
            headers: vec![
                Header {
                    key: "h".to_owned(),
                    value: Some(b"v".to_vec()),
                },
                Header {
                    key: "n".to_owned(),
                    value: None,
                },
            ],
        },
        RawRecord {
            topic: Arc::from("orders"),
            partition: 2,
            offset: 12,
            timestamp_ms: None,
            key: None,
            value: None,
            headers: Vec::new(),
        },
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(7), None])),
        Arc::new(StringArray::from(vec![None, Some("zed")])),
        Arc::new(Float64Array::from(vec![Some(1.25), None])),
    ];
    columns.extend(meta::metadata_columns(&raw));
    let expected = RecordBatch::try_new(orders_with_metadata().schema(), columns).unwrap();
    assert_eq!(out.batch, expected);
    assert_eq!(
        out.rejected,
        vec![Rejection {
            row: 1,
            reason: "field `amount` is too large".to_owned()
        }]
    );
}

#[test]
fn a_returned_value_that_does_not_decode_is_a_bad_result_naming_the_record() {
    let good = Fixed {
        key: None,
        value: Some(r#"{"id": 1}"#),
        headers: &[],
        topic: "orders",
        partition: 2,
        offset: 10,
        timestamp_ms: None,
    };
    let bad = Fixed {
        value: Some(r#"{"id": "one"}"#),
        offset: 11,
        ..good
    };
    let missing = Fixed {
        value: None,
        offset: 11,
        ..good
    };
    let cases = [
        (
            bad,
            "plugin `bad` returned a bad result: its record 1: the value does not fit the \
             input's value columns: field `id`: expected int64, got string",
        ),
        (
            missing,
            "plugin `bad` returned a bad result: its record 1: the value does not fit the \
             input's value columns: value is null (a tombstone)",
        ),
    ];
    for (second, message) in cases {
        let records = [
            Fixed {
                value: Some(r#"{"id": 1}"#),
                ..good
            },
            second,
        ];
        let mut transform = start_records("bad", &Imports::default(), Grants::default(), |d| {
            fixed_records(d, &records, &[])
        })
        .unwrap();
        let err = transform.apply(&orders_with_metadata()).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn record_rejections_outside_the_input_are_bad_results() {
    let mut transform = start_records("far", &Imports::default(), Grants::default(), |d| {
        fixed_records(d, &[], &[(3, "no such row")])
    })
    .unwrap();
    let err = transform.apply(&orders_with_metadata()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `far` returned a bad result: it rejected row 3 of a batch of 3 rows"
    );
}

/// A record of topic `orders`, partition 2 at `offset`, with the value
/// `{"id": ID}`, the offset as its id, and nothing else.
fn order_at(offset: i64) -> Fixed<'static> {
    let value: &'static str = match offset {
        10 => r#"{"id": 10}"#,
        11 => r#"{"id": 11}"#,
        12 => r#"{"id": 12}"#,
        _ => r#"{"id": 0}"#,
    };
    Fixed {
        key: None,
        value: Some(value),
        headers: &[],
        topic: "orders",
        partition: 2,
        offset,
        timestamp_ms: None,
    }
}

#[test]
fn a_record_plugin_may_return_its_records_in_another_order() {
    let records = [order_at(12), order_at(10)];
    let mut transform = start_records("shuffle", &Imports::default(), Grants::default(), |d| {
        fixed_records(d, &records, &[(1, "field `name` is missing")])
    })
    .unwrap();
    let out = transform.apply(&orders_with_metadata()).unwrap();
    let ids = out.batch.column_by_name("id").unwrap();
    assert_eq!(ids.as_ref(), &Int64Array::from(vec![12, 10]));
    let offsets = out.batch.column_by_name(meta::OFFSET).unwrap();
    assert_eq!(offsets.as_ref(), &Int64Array::from(vec![12, 10]));
    assert_eq!(
        out.rejected,
        vec![Rejection {
            row: 1,
            reason: "field `name` is missing".to_owned()
        }]
    );
}

#[test]
fn a_record_plugin_returning_more_records_than_given_is_a_bad_result() {
    let records = [order_at(10), order_at(11), order_at(12), order_at(12)];
    let mut transform = start_records("more", &Imports::default(), Grants::default(), |d| {
        fixed_records(d, &records, &[])
    })
    .unwrap();
    let message = "plugin `more` returned a bad result: it returned 4 records for a batch of 3; \
                   a record plugin may only keep, change or drop the records it is given";
    let err = transform.apply(&orders_with_metadata()).unwrap_err();
    assert!(matches!(err, TransformError::BadOutput { .. }), "{err:?}");
    assert_eq!(err.to_string(), message);
    // The plugin's answer is refused, but it did not crash: the same
    // instance answers the next batch, the same way.
    assert!(!err.is_crash());
    let err = transform.apply(&orders_with_metadata()).unwrap_err();
    assert_eq!(err.to_string(), message);
}

#[test]
fn a_returned_record_must_be_one_it_was_given_not_rejected_and_returned_once() {
    let moved = Fixed {
        topic: "elsewhere",
        ..order_at(10)
    };
    let repartitioned = Fixed {
        partition: 3,
        ..order_at(10)
    };
    let cases = [
        (
            "invented",
            vec![order_at(10), order_at(99)],
            vec![],
            "its record 1 names topic `orders`, partition 2, offset 99, which is no record of \
             the batch it was given; a record plugin may change a record's key, value, headers \
             and timestamp, but must keep its topic, partition and offset as given"
                .to_owned(),
        ),
        (
            "moved",
            vec![moved],
            vec![],
            "its record 0 names topic `elsewhere`, partition 2, offset 10, which is no record of \
             the batch it was given; a record plugin may change a record's key, value, headers \
             and timestamp, but must keep its topic, partition and offset as given"
                .to_owned(),
        ),
        (
            "repartitioned",
            vec![order_at(11), repartitioned],
            vec![],
            "its record 1 names topic `orders`, partition 3, offset 10, which is no record of \
             the batch it was given; a record plugin may change a record's key, value, headers \
             and timestamp, but must keep its topic, partition and offset as given"
                .to_owned(),
        ),
        (
            "twice",
            vec![order_at(11), order_at(10), order_at(11)],
            vec![],
            "its records 0 and 2 both name topic `orders`, partition 2, offset 11; a record \
             plugin may return each record it is given at most once"
                .to_owned(),
        ),
        (
            "kept-rejected",
            vec![order_at(10), order_at(12)],
            vec![(2, "field `amount` is null")],
            "its record 1 names topic `orders`, partition 2, offset 12, which it also rejected \
             (row 2); a rejected record must not also be kept"
                .to_owned(),
        ),
    ];
    for (name, records, rejections, message) in cases {
        let mut transform = start_records(name, &Imports::default(), Grants::default(), |d| {
            fixed_records(d, &records, &rejections)
        })
        .unwrap();
        let err = transform.apply(&orders_with_metadata()).unwrap_err();
        assert!(
            matches!(err, TransformError::BadOutput { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("plugin `{name}` returned a bad result: {message}")
        );
    }
}

#[test]
fn records_of_a_batch_without_metadata_are_named_by_their_index() {
    let index_one = Fixed {
        topic: "",
        partition: 0,
        offset: 1,
        value: Some(r#"{"n": 50}"#),
        ..order_at(0)
    };
    let mut transform = start_records("indexed", &Imports::default(), Grants::default(), |d| {
        fixed_records(d, std::slice::from_ref(&index_one), &[])
    })
    .unwrap();
    // Record 1 of a batch of two is there; its value replaces the row's.
    assert_eq!(transform.apply(&ints(&[4, 5])).unwrap().batch, ints(&[50]));
    // A batch of one has only record 0.
    let err = transform.apply(&ints(&[4])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `indexed` returned a bad result: its record 0 names topic ``, partition 0, \
         offset 1, which is no record of the batch it was given; a record plugin may change a \
         record's key, value, headers and timestamp, but must keep its topic, partition and \
         offset as given"
    );
}

/// The Python plugin's output for `values` under `config`: values as
/// text, and rejections.
fn python_redact(config: serde_json::Value, values: &[&str]) -> (Vec<String>, Vec<Rejection>) {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("python-redact")).unwrap();
    assert_eq!(plugin.world(), World::Record);
    assert_eq!(plugin.info().name, "python-redact");
    let schema =
        Arc::new(crate::format::infer::infer_schema(values.iter().map(|v| v.as_bytes())).unwrap());
    let mut decoder =
        crate::format::json::JsonDecoder::new(schema, crate::format::json::JsonOptions::default())
            .unwrap();
    let bytes: Vec<Option<&[u8]>> = values.iter().map(|v| Some(v.as_bytes())).collect();
    let decoded = decoder.decode(&bytes);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    let mut transform = Transform::new(&plugin, &config, Limits::default(), "p").unwrap();
    let out = transform.apply(&decoded.batch).unwrap();
    let mut text = Vec::new();
    let mut ends = Vec::new();
    crate::format::encode::JsonEncoder::new()
        .encode(&out.batch, &mut text, &mut ends)
        .unwrap();
    let mut start = 0;
    let rows = ends
        .iter()
        .map(|&end| {
            let row = String::from_utf8(text[start..end].to_vec()).unwrap();
            start = end;
            row
        })
        .collect();
    (rows, out.rejected)
}

#[test]
fn the_python_plugin_drops_cancelled_records_and_redacts_fields() {
    let (rows, rejected) = python_redact(
        json!({"fields": ["email", "phone"]}),
        &[
            r#"{"id": 1, "status": "paid", "email": "a@example.com", "phone": "555", "total": 9.5}"#,
            r#"{"id": 2, "status": "cancelled", "email": "b@example.com", "phone": null, "total": 1.0}"#,
            r#"{"id": 3, "status": "open", "email": null, "phone": "777", "total": 2.25}"#,
        ],
    );
    assert_eq!(
        rows,
        vec![
            r#"{"id":1,"status":"paid","email":"[redacted]","phone":"[redacted]","total":9.5}"#,
            r#"{"id":3,"status":"open","email":"[redacted]","phone":"[redacted]","total":2.25}"#,
        ]
    );
    assert!(rejected.is_empty());
}

#[test]
fn the_python_plugin_rejects_its_bad_config() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("python-redact")).unwrap();
    let err =
        Transform::new(&plugin, &json!({"fields": "email"}), Limits::default(), "p").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin `python-redact` rejected its config: config key `fields` must be a list of \
         field names, e.g. [\"email\"]"
    );
}

#[test]
fn the_python_plugin_rejects_values_that_are_not_objects() {
    let engine = engine();
    let plugin = Plugin::load(&engine, &dist("python-redact")).unwrap();
    let mut transform =
        Transform::new(&plugin, &json!({"fields": ["a"]}), Limits::default(), "p").unwrap();
    let record = |value: Option<&str>| bindings::record::Record {
        key: None,
        value: value.map(|v| v.as_bytes().to_vec()),
        headers: Vec::new(),
        topic: "t".to_owned(),
        partition: 0,
        offset: 0,
        timestamp_ms: None,
    };
    let result = transform
        .call_records(vec![
            record(Some("[1, 2]")),
            record(Some(r#"{"a": {"b": 1}, "c": 2}"#)),
            record(Some("{not json")),
            record(None),
            record(Some("\"text\"")),
        ])
        .unwrap();
    let values: Vec<Option<String>> = result
        .records
        .iter()
        .map(|r| {
            r.value
                .as_ref()
                .map(|v| String::from_utf8(v.clone()).unwrap())
        })
        .collect();
    assert_eq!(values, vec![Some(r#"{"a":"[redacted]","c":2}"#.to_owned())]);
    let rejected: Vec<(u32, String)> = result
        .rejected
        .into_iter()
        .map(|r| (r.row, r.reason))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (0, "the value is a JSON array, not an object".to_owned()),
            (
                2,
                "the value is not JSON: Expecting property name enclosed in double quotes: \
                 line 1 column 2 (char 1)"
                    .to_owned()
            ),
            (
                3,
                "the value is missing (a tombstone); expected a JSON object".to_owned()
            ),
            (4, "the value is a JSON string, not an object".to_owned()),
        ]
    );
}
