//! Unit tests of the mask, run natively. The expected hashes were computed
//! independently with Python's `hmac` module.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]

use super::*;
use arrow_array::{Int64Array, StructArray};
use arrow_schema::{Field, Fields};
use serde_json::{Value, json};

/// A mask from a JSON config, through the same checks `init` gets.
fn mask(config: Value) -> Result<Mask, String> {
    let config = Config::from_value(config, &Mask::describe().config)?;
    Mask::init(&config)
}

/// `id: int64, email: utf8, sender: struct<login: utf8, id: int64>`.
fn batch() -> RecordBatch {
    let login: ArrayRef = Arc::new(StringArray::from(vec![
        Some("octocat"),
        None,
        Some("octocat"),
    ]));
    let sender_id: ArrayRef = Arc::new(Int64Array::from(vec![7, 8, 9]));
    let sender = StructArray::try_new(
        Fields::from(vec![
            Field::new("login", DataType::Utf8, true),
            Field::new("id", DataType::Int64, false),
        ]),
        vec![login, sender_id],
        None,
    )
    .unwrap();
    RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "email",
            Arc::new(StringArray::from(vec![
                Some("alice@example.com"),
                Some("bob@example.com"),
                None,
            ])) as ArrayRef,
        ),
        ("sender", Arc::new(sender) as ArrayRef),
    ])
    .unwrap()
}

/// The values of a string column at `path`.
fn strings(batch: &RecordBatch, path: &str) -> Vec<Option<String>> {
    let column = sabot_plugin_sdk::column(batch, path).unwrap();
    let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
    strings.iter().map(|s| s.map(str::to_owned)).collect()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn fixed_mask_replaces_values_and_keeps_nulls() {
    let out = mask(json!({"fields": ["email", "sender.login"]}))
        .unwrap()
        .apply(batch())
        .unwrap();
    assert_eq!(
        strings(&out, "email"),
        vec![some("****"), some("****"), None]
    );
    assert_eq!(
        strings(&out, "sender.login"),
        vec![some("****"), None, some("****")]
    );
    // Everything else is as it was.
    assert_eq!(out.schema(), batch().schema());
    assert_eq!(out.column(0), batch().column(0));
    let ids = sabot_plugin_sdk::column(&out, "sender.id").unwrap();
    assert_eq!(
        ids.as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec(),
        vec![7, 8, 9]
    );
}

#[test]
fn custom_mask_text() {
    let out = mask(json!({"fields": ["email"], "mask": "[redacted]"}))
        .unwrap()
        .apply(batch())
        .unwrap();
    assert_eq!(
        strings(&out, "email"),
        vec![some("[redacted]"), some("[redacted]"), None]
    );
}

#[test]
fn hash_mode_writes_hmac_sha256_in_hex() {
    let out = mask(json!({"fields": ["email", "sender.login"], "mode": "hash", "key": "s3cret"}))
        .unwrap()
        .apply(batch())
        .unwrap();
    assert_eq!(
        strings(&out, "email"),
        vec![
            some("578cae3dea73e06490ba447ab961d5219f0e379c2ce3610b8dcd7ee36a39e53d"),
            some("3ee1d0650dc9ad001cb06b725dd88915905f760d8ecd7cc86a9d7880ccfcb236"),
            None,
        ]
    );
    let octocat = some("99af7a39f103d70f807664d189dda9476b7b1a4c25eceaf5fca2a3a8ae494a67");
    assert_eq!(
        strings(&out, "sender.login"),
        vec![octocat.clone(), None, octocat]
    );
}

#[test]
fn missing_fields_are_skipped_unless_required() {
    let out = mask(json!({"fields": ["phone", "sender.phone", "email"]}))
        .unwrap()
        .apply(batch())
        .unwrap();
    assert_eq!(
        strings(&out, "email"),
        vec![some("****"), some("****"), None]
    );

    let strict = mask(json!({"fields": ["email", "phone"], "require": true})).unwrap();
    assert_eq!(
        strict.apply(batch()).unwrap_err(),
        "field `phone` is not in the batch; its columns are: `id`, `email`, `sender`"
    );
}

#[test]
fn non_string_fields_are_errors() {
    let err = mask(json!({"fields": ["sender.id"]}))
        .unwrap()
        .apply(batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `sender.id` is int64; only string fields can be masked"
    );
    let err = mask(json!({"fields": ["sender"]}))
        .unwrap()
        .apply(batch())
        .unwrap_err();
    assert_eq!(
        err,
        "field `sender` is struct; only string fields can be masked"
    );
}

#[test]
fn config_errors() {
    assert_eq!(
        mask(json!({"fields": ["a"], "mode": "hash"})).unwrap_err(),
        "config key `key` is required when `mode` is `hash`"
    );
    assert_eq!(
        mask(json!({"fields": ["a"], "mode": "scramble"})).unwrap_err(),
        "config key `mode` must be one of `fixed`, `hash`; got `scramble`"
    );
    assert_eq!(
        mask(json!({"fields": "a"})).unwrap_err(),
        "config key `fields` must be a list of strings; got the string `a`"
    );
    assert_eq!(
        mask(json!({"fields": []})).unwrap_err(),
        "config key `fields` must list at least one field"
    );
    assert_eq!(
        mask(json!({"fields": ["a"], "require": "yes"})).unwrap_err(),
        "config key `require` must be `true` or `false`; got the string `yes`"
    );
    assert!(
        mask(json!({"mode": "fixed"}))
            .unwrap_err()
            .starts_with("config key `fields` is required: ")
    );
}
