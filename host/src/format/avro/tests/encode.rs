//! The encoder's conversions and every error it reports.

use std::sync::Arc;

use apache_avro::types::Value;
use arrow_array::{
    ArrayRef, BinaryArray, Decimal128Array, FixedSizeBinaryArray, Float64Array, Int32Array,
    Int64Array, IntervalMonthDayNanoArray, RecordBatch, StringArray, TimestampMillisecondArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow_buffer::IntervalMonthDayNano;
use arrow_schema::{DataType, Field, TimeUnit};

use super::{encode_rows, read_back, schema};
use crate::format::avro::{AvroEncodeError, AvroEncoder, AvroSchema};

/// A one-column batch.
fn batch(name: &str, array: ArrayRef) -> RecordBatch {
    let field = Field::new(name, array.data_type().clone(), true);
    match RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(vec![field])),
        vec![array],
    ) {
        Ok(batch) => batch,
        Err(error) => panic!("{error}"),
    }
}

/// A record schema of one field `x` of type `ty`.
fn one(ty: &str) -> AvroSchema {
    schema(&format!(
        r#"{{"type": "record", "name": "R", "fields": [{{"name": "x", "type": {ty}}}]}}"#
    ))
}

/// The value of field `x` of each good row, and the row errors.
fn encode_x(ty: &str, array: ArrayRef) -> (Vec<Option<Value>>, Vec<String>) {
    let schema = one(ty);
    let (rows, errors) = encode_rows(&schema, &batch("x", array));
    let values = rows
        .iter()
        .map(|row| {
            if row.is_empty() {
                return None;
            }
            match read_back(&schema, row) {
                Value::Record(mut fields) => fields.pop().map(|(_, v)| v),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    (values, errors)
}

#[test]
fn values_that_do_not_fit_fail_their_rows() {
    /// An Avro type, a column, the values read back and the row errors.
    type Case<'a> = (&'a str, ArrayRef, Vec<Option<Value>>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            r#""long""#,
            Arc::new(Int64Array::from(vec![Some(1), None])),
            vec![Some(Value::Long(1)), None],
            vec!["record 1: field `x`: the value is null, but the Avro type does not allow null"],
        ),
        (
            r#""int""#,
            Arc::new(Int64Array::from(vec![1 << 40, -5])),
            vec![None, Some(Value::Int(-5))],
            vec!["record 0: field `x`: the value is out of the range of an Avro int"],
        ),
        (
            r#""long""#,
            Arc::new(UInt64Array::from(vec![u64::MAX, 3])),
            vec![None, Some(Value::Long(3))],
            vec![
                "record 0: field `x`: the value does not fit an Avro long in the schema's unit exactly",
            ],
        ),
        (
            r#"{"type": "enum", "name": "E", "symbols": ["A", "B"]}"#,
            Arc::new(StringArray::from(vec!["B", "C"])),
            vec![Some(Value::Enum(1, "B".into())), None],
            vec!["record 1: field `x`: `C` is not a symbol of the Avro enum `E`"],
        ),
        (
            r#"{"type": "fixed", "name": "F", "size": 2}"#,
            Arc::new(BinaryArray::from(vec![&[1u8, 2][..], &[1][..]])),
            vec![Some(Value::Fixed(2, vec![1, 2])), None],
            vec!["record 1: field `x`: the value has 1 byte, but the Avro fixed has 2"],
        ),
        (
            r#"{"type": "bytes", "logicalType": "decimal", "precision": 3, "scale": 1}"#,
            Arc::new(
                Decimal128Array::from(vec![999, 1000])
                    .with_precision_and_scale(10, 1)
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            vec![
                Some(Value::Decimal(apache_avro::Decimal::from(vec![0x03, 0xe7]))),
                None,
            ],
            vec![
                "record 1: field `x`: the unscaled value 1000 has more digits than the Avro decimal's precision",
            ],
        ),
        (
            r#"{"type": "long", "logicalType": "timestamp-millis"}"#,
            Arc::new(
                TimestampNanosecondArray::from(vec![5_000_000, 5_000_001]).with_timezone("UTC"),
            ),
            vec![Some(Value::TimestampMillis(5)), None],
            vec![
                "record 1: field `x`: the value does not fit an Avro long in the schema's unit exactly",
            ],
        ),
        (
            r#"{"type": "string", "logicalType": "uuid"}"#,
            Arc::new(StringArray::from(vec![
                "123e4567-e89b-12d3-a456-426614174000",
                "123e4567",
            ])),
            vec![
                Some(Value::Uuid(
                    apache_avro::Uuid::parse_str("123e4567-e89b-12d3-a456-426614174000")
                        .unwrap_or_else(|e| panic!("{e}")),
                )),
                None,
            ],
            vec![
                "record 1: field `x`: `123e4567` is not a UUID (32 hex digits in groups of 8-4-4-4-12)",
            ],
        ),
        (
            r#"{"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}"#,
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(1, 2, 3_000_000),
                IntervalMonthDayNano::new(-1, 0, 0),
                IntervalMonthDayNano::new(0, 0, 1),
            ])),
            vec![
                Some(Value::Duration(apache_avro::Duration::new(
                    apache_avro::Months::new(1),
                    apache_avro::Days::new(2),
                    apache_avro::Millis::new(3),
                ))),
                None,
                None,
            ],
            vec![
                "record 1: field `x`: the interval of -1 months, 0 days and 0 ns is not an Avro \
                 duration (non-negative months, days and whole milliseconds, each under 2^32)",
                "record 2: field `x`: the interval of 0 months, 0 days and 1 ns is not an Avro \
                 duration (non-negative months, days and whole milliseconds, each under 2^32)",
            ],
        ),
        (
            r#""float""#,
            Arc::new(Float64Array::from(vec![0.5, 0.1])),
            vec![Some(Value::Float(0.5)), None],
            vec!["record 1: field `x`: 0.1 is not exactly an Avro float; use a double"],
        ),
    ];
    for (ty, array, values, errors) in cases {
        assert_eq!(
            encode_x(ty, array),
            (values, errors.into_iter().map(str::to_owned).collect()),
            "{ty}"
        );
    }
}

#[test]
fn more_values_that_do_not_fit() {
    let cases: Vec<(&str, ArrayRef, Vec<&str>)> = vec![
        (
            r#"{"type": "fixed", "name": "S", "size": 1, "logicalType": "decimal", "precision": 5, "scale": 0}"#,
            Arc::new(
                Decimal128Array::from(vec![300])
                    .with_precision_and_scale(5, 0)
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            vec![
                "record 0: field `x`: the unscaled value 300 needs 2 bytes, but the Avro fixed has 1",
            ],
        ),
        (
            r#"{"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}"#,
            Arc::new(StringArray::from(vec!["zz"])),
            vec!["record 0: field `x`: `zz` is not a UUID (32 hex digits in groups of 8-4-4-4-12)"],
        ),
    ];
    for (ty, array, errors) in cases {
        let (values, got) = encode_x(ty, array);
        assert_eq!(values, vec![None], "{ty}");
        assert_eq!(got, errors, "{ty}");
    }
}

#[test]
fn json_columns_must_hold_values_of_their_type() {
    let schema = schema(
        r#"{"type": "record", "name": "R", "fields": [{"name": "x", "type":
            {"type": "record", "name": "N", "fields": [{"name": "v", "type": "int"}]}}]}"#,
    );
    let field = crate::format::schema::json_field("x", false);
    let array: ArrayRef = Arc::new(StringArray::from(vec![
        r#"{"v": 3}"#,
        "{",
        r#"{"v": "a"}"#,
        "{}",
    ]));
    let batch = RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(vec![field])),
        vec![array],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (rows, errors) = encode_rows(&schema, &batch);
    assert_eq!(
        errors,
        [
            "record 1: field `x`: the column is not valid JSON: EOF while parsing an object at line 1 column 1",
            "record 2: field `x`: `v`: expected a 32-bit integer, found \"a\"",
            "record 3: field `x`: the field `v` is missing",
        ]
    );
    assert_eq!(
        read_back(&schema, &rows[0]),
        Value::Record(vec![(
            "x".into(),
            Value::Record(vec![("v".into(), Value::Int(3))])
        )])
    );
    assert!(rows[1..].iter().all(Vec::is_empty));
}

#[test]
fn conversions_keep_values_exact() {
    let cases: Vec<(&str, ArrayRef, Vec<Option<Value>>)> = vec![
        (
            r#"["null", "long"]"#,
            Arc::new(Int32Array::from(vec![Some(-4), None])),
            vec![
                Some(Value::Union(1, Box::new(Value::Long(-4)))),
                Some(Value::Union(0, Box::new(Value::Null))),
            ],
        ),
        (
            r#"{"type": "long", "logicalType": "timestamp-micros"}"#,
            Arc::new(TimestampMillisecondArray::from(vec![7])),
            vec![Some(Value::TimestampMicros(7_000))],
        ),
        (
            r#""double""#,
            Arc::new(arrow_array::Float32Array::from(vec![0.1f32])),
            vec![Some(Value::Double(f64::from(0.1f32)))],
        ),
        (
            r#"{"type": "fixed", "name": "U", "size": 16, "logicalType": "uuid"}"#,
            Arc::new(StringArray::from(vec![
                "00112233-4455-6677-8899-aabbccddeeff",
            ])),
            vec![Some(Value::Uuid(
                apache_avro::Uuid::parse_str("00112233-4455-6677-8899-aabbccddeeff")
                    .unwrap_or_else(|e| panic!("{e}")),
            ))],
        ),
        (
            r#"{"type": "string", "logicalType": "uuid"}"#,
            Arc::new(FixedSizeBinaryArray::from(vec![&[0xabu8; 16][..]])),
            vec![Some(Value::Uuid(
                apache_avro::Uuid::parse_str("abababab-abab-abab-abab-abababababab")
                    .unwrap_or_else(|e| panic!("{e}")),
            ))],
        ),
        (
            r#"{"type": "fixed", "name": "W", "size": 3, "logicalType": "decimal", "precision": 5, "scale": 2}"#,
            Arc::new(
                Decimal128Array::from(vec![-2])
                    .with_precision_and_scale(5, 2)
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            vec![Some(Value::Decimal(apache_avro::Decimal::from(vec![
                0xff, 0xff, 0xfe,
            ])))],
        ),
    ];
    for (ty, array, values) in cases {
        assert_eq!(encode_x(ty, array), (values, vec![]), "{ty}");
    }
}

#[test]
fn batches_that_do_not_fit_the_schema_are_refused_whole() {
    let refuse = |schema: &AvroSchema, batch: &RecordBatch| {
        let mut out = vec![1, 2];
        let mut ends = vec![2];
        let result = AvroEncoder::new(schema).encode(batch, &mut out, &mut ends);
        assert_eq!((out, ends), (vec![1, 2], vec![2]));
        match result {
            Ok(errors) => panic!("encoded, with {errors:?}"),
            Err(error) => error,
        }
    };
    let longs: ArrayRef = Arc::new(Int64Array::from(vec![1]));
    assert_eq!(
        refuse(&one(r#""string""#), &batch("x", longs.clone())),
        AvroEncodeError::Unsupported {
            column: "x".into(),
            message: "Arrow type `int64` cannot be written as the Avro type `string`; cast it in a transform"
                .into(),
        }
    );
    assert_eq!(
        refuse(&one(r#""long""#), &batch("y", longs.clone())).to_string(),
        "column `y` is not in the Avro schema `R`; drop it in a transform or add it to the schema"
    );
    let two = schema(
        r#"{"type": "record", "name": "R", "fields": [{"name": "y", "type": "long"}, {"name": "z", "type": "int"}]}"#,
    );
    assert_eq!(
        refuse(&two, &batch("y", longs.clone())).to_string(),
        "the Avro schema's field `z` has no column in the batch and no default; add the column in \
         a transform, or a default to the schema"
    );
    let nanos: ArrayRef = Arc::new(arrow_array::Time64NanosecondArray::from(vec![1]));
    assert_eq!(
        refuse(
            &one(r#"{"type": "long", "logicalType": "time-micros"}"#),
            &batch("x", nanos)
        )
        .to_string(),
        "column `x`: Arrow type `time64(ns)` cannot be written as the Avro type `time-micros`; cast \
         it in a transform"
    );
}

#[test]
fn missing_columns_take_their_defaults_and_metadata_columns_are_left_out() {
    let schema = schema(
        r#"{"type": "record", "name": "R", "fields": [
            {"name": "id", "type": "long"},
            {"name": "tier", "type": "string", "default": "basic"},
            {"name": "tags", "type": {"type": "array", "items": "string"}, "default": ["a"]}]}"#,
    );
    let fields = vec![
        Field::new("__key", DataType::Binary, true),
        Field::new("id", DataType::Int64, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(BinaryArray::from(vec![&b"k"[..]])),
        Arc::new(Int64Array::from(vec![12])),
    ];
    let batch = RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns)
        .unwrap_or_else(|e| panic!("{e}"));
    let (rows, errors) = encode_rows(&schema, &batch);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        read_back(&schema, &rows[0]),
        Value::Record(vec![
            ("id".into(), Value::Long(12)),
            ("tier".into(), Value::String("basic".into())),
            ("tags".into(), Value::Array(vec![Value::String("a".into())])),
        ])
    );
}

#[test]
fn arrow_types_without_an_avro_form_are_refused_by_name() {
    let arrow = arrow_schema::Schema::new(vec![
        Field::new("ok", DataType::Int32, false),
        Field::new("big", DataType::UInt64, false),
    ]);
    assert_eq!(
        crate::format::avro::arrow_to_avro_schema(&arrow, "R", None).map_err(|e| e.to_string()),
        Err("field `big`: Arrow type `uint64` has no exact Avro form; cast it to int64 or decimal(20, 0)".to_owned())
    );
    let arrow = arrow_schema::Schema::new(vec![Field::new("first-name", DataType::Utf8, false)]);
    assert_eq!(
        crate::format::avro::arrow_to_avro_schema(&arrow, "R", None).map_err(|e| e.to_string()),
        Err(
            "field `first-name`: the column name `first-name` is not a valid Avro name (letters, \
             digits and `_`, not starting with a digit); rename it in a transform"
                .to_owned()
        )
    );
    let arrow = arrow_schema::Schema::new(vec![Field::new(
        "t",
        DataType::Time32(TimeUnit::Second),
        false,
    )]);
    assert_eq!(
        crate::format::avro::arrow_to_avro_schema(&arrow, "R", None).map_err(|e| e.to_string()),
        Err(
            "field `t`: Arrow type `time32(s)` has no exact Avro form; cast it to a type Avro has"
                .to_owned()
        )
    );
}

#[test]
fn a_bad_record_name_or_namespace_is_named_once_in_the_error() {
    let arrow = arrow_schema::Schema::new(vec![Field::new("id", DataType::Int64, false)]);
    let derive = |name: &str, namespace: Option<&str>| {
        crate::format::avro::arrow_to_avro_schema(&arrow, name, namespace)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        derive("order-copy", None),
        Err(
            "the top-level schema: the record name `order-copy` is not a valid Avro name \
             (letters, digits and `_`, not starting with a digit)"
                .to_owned()
        )
    );
    assert_eq!(
        derive("Order", Some("shop.2024")),
        Err(
            "the top-level schema: the namespace `shop.2024` has a part that `2024` is not a \
             valid Avro name (letters, digits and `_`, not starting with a digit)"
                .to_owned()
        )
    );
    assert_eq!(
        derive("Order", Some("com.shop")),
        Ok(r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}],"namespace":"com.shop"}"#.to_owned())
    );
}
