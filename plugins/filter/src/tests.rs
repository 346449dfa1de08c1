//! Unit tests of the filter, run natively.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use super::*;
use arrow_array::{
    BooleanArray, Float32Array, Float64Array, Int8Array, Int64Array, StructArray, UInt64Array,
};
use arrow_schema::Field;
use serde_json::json;
use std::sync::Arc;

/// A filter from a JSON config, through the same checks `init` gets.
fn filter(config: Value) -> Result<Filter, String> {
    let config = Config::from_value(config, &Filter::describe().config)?;
    Filter::init(&config)
}

/// `id: int64, amount: float64, name: utf8, vip: bool, small: int8,
/// customer: struct<age: int64>`, with a null in every column.
fn batch() -> RecordBatch {
    let age: ArrayRef = Arc::new(Int64Array::from(vec![Some(17), Some(30), None, Some(45)]));
    let customer = StructArray::from(vec![(
        Arc::new(Field::new("age", DataType::Int64, true)),
        age,
    )]);
    RecordBatch::try_from_iter(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(vec![
                Some(99.5),
                Some(100.0),
                Some(250.25),
                None,
            ])) as ArrayRef,
        ),
        (
            "name",
            Arc::new(StringArray::from(vec![
                Some("ann"),
                None,
                Some("bob"),
                Some("cy"),
            ])) as ArrayRef,
        ),
        (
            "vip",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
            ])) as ArrayRef,
        ),
        (
            "small",
            Arc::new(Int8Array::from(vec![Some(-5), Some(0), Some(5), None])) as ArrayRef,
        ),
        ("customer", Arc::new(customer) as ArrayRef),
        (
            "__offset",
            Arc::new(Int64Array::from(vec![10, 11, 12, 13])) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// The `id`s of the rows kept.
fn kept(config: Value) -> Vec<i64> {
    let out = filter(config).unwrap().apply(&batch()).unwrap();
    let ids = out.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    ids.values().to_vec()
}

#[test]
fn compares_floats_with_integers_and_floats() {
    assert_eq!(
        kept(json!({"field": "amount", "op": ">", "value": 100})),
        vec![3]
    );
    assert_eq!(
        kept(json!({"field": "amount", "op": ">=", "value": 100})),
        vec![2, 3]
    );
    assert_eq!(
        kept(json!({"field": "amount", "op": "==", "value": 99.5})),
        vec![1]
    );
    assert_eq!(
        kept(json!({"field": "amount", "op": "!=", "value": 99.5})),
        vec![2, 3]
    );
    assert_eq!(
        kept(json!({"field": "amount", "op": "<", "value": 1e3})),
        vec![1, 2, 3]
    );
}

#[test]
fn compares_integers_exactly_with_fractions() {
    assert_eq!(
        kept(json!({"field": "id", "op": ">", "value": 2.5})),
        vec![3, 4]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": ">=", "value": 2.5})),
        vec![3, 4]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": "<", "value": 2.5})),
        vec![1, 2]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": "<=", "value": 2.5})),
        vec![1, 2]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": "==", "value": 2.5})),
        Vec::<i64>::new()
    );
    assert_eq!(
        kept(json!({"field": "id", "op": "!=", "value": 2.5})),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": "==", "value": 3.0})),
        vec![3]
    );
    assert_eq!(
        kept(json!({"field": "id", "op": ">", "value": -0.5})),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn values_outside_the_column_range_drop_only_nulls() {
    // `small` is int8 with a null in row 4.
    assert_eq!(
        kept(json!({"field": "small", "op": "<", "value": 1000})),
        vec![1, 2, 3]
    );
    assert_eq!(
        kept(json!({"field": "small", "op": ">", "value": 1000})),
        Vec::<i64>::new()
    );
    assert_eq!(
        kept(json!({"field": "small", "op": "!=", "value": -1000})),
        vec![1, 2, 3]
    );
    assert_eq!(
        kept(json!({"field": "small", "op": ">=", "value": -1e300})),
        vec![1, 2, 3]
    );
    assert_eq!(
        kept(json!({"field": "small", "op": ">", "value": 0})),
        vec![3]
    );
}

#[test]
fn unsigned_and_float32_columns() {
    let batch = RecordBatch::try_from_iter(vec![
        (
            "u",
            Arc::new(UInt64Array::from(vec![0, u64::MAX, 7])) as ArrayRef,
        ),
        (
            "f",
            Arc::new(Float32Array::from(vec![0.1, 0.2, 0.3])) as ArrayRef,
        ),
    ])
    .unwrap();
    let run = |config: Value| {
        let out = filter(config).unwrap().apply(&batch).unwrap();
        let u = out
            .column(0)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        u.values().to_vec()
    };
    assert_eq!(
        run(json!({"field": "u", "op": "==", "value": u64::MAX})),
        vec![u64::MAX]
    );
    assert_eq!(
        run(json!({"field": "u", "op": ">", "value": -1})),
        vec![0, u64::MAX, 7]
    );
    // The float32 value 0.1 matches the value 0.1.
    assert_eq!(
        run(json!({"field": "f", "op": "==", "value": 0.1})),
        vec![0]
    );
    assert_eq!(
        run(json!({"field": "f", "op": ">", "value": 0.15})),
        vec![u64::MAX, 7]
    );
}

#[test]
fn strings_booleans_and_nested_fields() {
    assert_eq!(
        kept(json!({"field": "name", "op": "==", "value": "bob"})),
        vec![3]
    );
    assert_eq!(
        kept(json!({"field": "name", "op": "!=", "value": "bob"})),
        vec![1, 4]
    );
    assert_eq!(
        kept(json!({"field": "name", "op": ">", "value": "b"})),
        vec![3, 4]
    );
    assert_eq!(
        kept(json!({"field": "vip", "op": "==", "value": true})),
        vec![1, 4]
    );
    assert_eq!(
        kept(json!({"field": "vip", "op": "<", "value": true})),
        vec![2]
    );
    assert_eq!(
        kept(json!({"field": "customer.age", "op": ">=", "value": 18})),
        vec![2, 4]
    );
}

#[test]
fn keeps_every_column_of_kept_rows() {
    let out = filter(json!({"field": "id", "op": ">=", "value": 3}))
        .unwrap()
        .apply(&batch())
        .unwrap();
    assert_eq!(out.schema(), batch().schema());
    let offsets = out.column(6).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(offsets.values().to_vec(), vec![12, 13]);
    let names = out
        .column(2)
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(
        names.iter().collect::<Vec<_>>(),
        vec![Some("bob"), Some("cy")]
    );
}

#[test]
fn type_mismatches_name_the_field_and_both_types() {
    let err = filter(json!({"field": "name", "op": ">", "value": 5}))
        .unwrap()
        .apply(&batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `name` is utf8 and cannot be compared with the number `5`"
    );
    let err = filter(json!({"field": "amount", "op": "==", "value": "5"}))
        .unwrap()
        .apply(&batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `amount` is float64 and cannot be compared with the string `5`"
    );
    let err = filter(json!({"field": "customer", "op": "==", "value": true}))
        .unwrap()
        .apply(&batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `customer` is struct and cannot be compared with the boolean `true`"
    );
}

#[test]
fn missing_fields_list_the_columns() {
    let err = filter(json!({"field": "total", "op": ">", "value": 5}))
        .unwrap()
        .apply(&batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `total` is not in the batch; its columns are: \
         `id`, `amount`, `name`, `vip`, `small`, `customer`, `__offset`"
    );
}

#[test]
fn config_errors() {
    assert_eq!(
        filter(json!({"field": "a", "op": "~", "value": 1})).unwrap_err(),
        "config key `op` must be one of `==`, `!=`, `>`, `>=`, `<`, `<=`; got `~`"
    );
    assert_eq!(
        filter(json!({"field": "a", "op": "=="})).unwrap_err(),
        "config key `value` is required: The number, string or boolean to compare the field with."
    );
    assert_eq!(
        filter(json!({"field": "a", "op": "==", "value": [1]})).unwrap_err(),
        "config key `value` must be a number, a string or a boolean; got a list"
    );
    assert_eq!(
        filter(json!({"field": 3, "op": "==", "value": 1})).unwrap_err(),
        "config key `field` must be a string; got the number `3`"
    );
    assert_eq!(
        filter(json!({"field": "a", "op": "==", "value": 1, "values": 2})).unwrap_err(),
        "config key `values` is not known (did you mean `value`?); the keys are: `field`, `op`, `value`, `otherwise`"
    );
}

#[test]
fn otherwise_reject_turns_failing_rows_into_rejections() {
    let mut f =
        filter(json!({"field": "amount", "op": ">", "value": 100, "otherwise": "reject"})).unwrap();
    let out = f.transform(batch()).unwrap();
    let ids = out
        .batch
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let kept: Vec<i64> = ids.values().to_vec();
    let mut expected_rejected = Vec::new();
    for (row, id) in [1i64, 2, 3, 4].iter().enumerate() {
        if !kept.contains(id) {
            expected_rejected.push(row as u32);
        }
    }
    let rows: Vec<u32> = out.rejected.iter().map(|(r, _)| *r).collect();
    assert_eq!(rows, expected_rejected);
    assert_eq!(kept.len() + out.rejected.len(), 4);
    assert_eq!(out.rejected[0].1, "field `amount` is not > 100");
}

#[test]
fn otherwise_takes_only_drop_or_reject() {
    let err =
        filter(json!({"field": "amount", "op": ">", "value": 1, "otherwise": "keep"})).unwrap_err();
    assert!(err.contains("`otherwise`"), "{err}");
}
