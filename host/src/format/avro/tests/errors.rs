//! Every way a datum can be bad, with its exact message.

use apache_avro::types::Value;
use arrow_array::cast::AsArray;
use arrow_array::{Int64Array, NullArray};

use super::{col, datum, decode, messages, same, schema};

/// The message of one bad datum of `schema`.
fn message(schema_text: &str, bytes: &[u8]) -> String {
    let mut all = messages(&schema(schema_text), &[bytes.to_vec()]);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

#[test]
fn numbers_must_be_whole_and_in_range() {
    let cases: [(&str, &[u8], &str); 6] = [
        (
            r#""long""#,
            &[],
            "field `value`: the value ends in the middle of a number",
        ),
        (
            r#""long""#,
            &[0x80, 0x80],
            "field `value`: the value ends in the middle of a number",
        ),
        (
            r#""long""#,
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
            "field `value`: a varint overflows 64 bits (its tenth byte is over 1)",
        ),
        (
            r#""long""#,
            &[0xff; 11],
            "field `value`: a varint overflows 64 bits (its tenth byte is over 1)",
        ),
        (
            r#""int""#,
            &[0x80, 0x80, 0x80, 0x80, 0x10],
            "field `value`: int value 2147483648 is out of the 32-bit range",
        ),
        (
            r#""double""#,
            &[0, 0, 0],
            "field `value`: a double of 8 bytes runs 5 bytes past the end of the value",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(schema, bytes), expected, "{schema} {bytes:?}");
    }
    // The longest varint there is still reads.
    let decoded = decode(
        &schema(r#""long""#),
        None,
        &[vec![
            0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ]],
    );
    same(
        &col(&decoded.batch, "value"),
        &Int64Array::from(vec![i64::MAX]),
    );
}

#[test]
fn lengths_strings_and_booleans_are_checked() {
    let cases: [(&str, &[u8], &str); 7] = [
        (
            r#""string""#,
            &[0x01],
            "field `value`: a string has a negative length (-1)",
        ),
        (
            r#""bytes""#,
            &[0x03],
            "field `value`: a bytes value has a negative length (-2)",
        ),
        (
            r#""string""#,
            &[0x06, b'a'],
            "field `value`: a string of 3 bytes runs 2 bytes past the end of the value",
        ),
        (
            r#""string""#,
            &[0x04, 0xc3, 0x28],
            "field `value`: a string is not valid UTF-8 (at byte 0)",
        ),
        (
            r#""boolean""#,
            &[0x02],
            "field `value`: a boolean is the byte 2; only 0 and 1 are booleans",
        ),
        (
            r#"{"type": "fixed", "name": "F", "size": 4}"#,
            &[1, 2, 3],
            "field `value`: a fixed of 4 bytes runs 1 byte past the end of the value",
        ),
        (
            r#""long""#,
            &[0x02, 0x00],
            "1 byte left after the end of the datum; is the value written with another schema?",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(schema, bytes), expected, "{schema} {bytes:?}");
    }
}

#[test]
fn union_and_enum_indexes_are_in_range() {
    let cases: [(&str, &[u8], &str); 4] = [
        (
            r#"["null", "int"]"#,
            &[0x04],
            "field `value`: union branch 2 is out of range; the writer's union has 2 branches",
        ),
        (
            r#"["null", "int"]"#,
            &[0x01],
            "field `value`: union branch -1 is out of range; the writer's union has 2 branches",
        ),
        (
            r#"["int", "string", "null"]"#,
            &[0x06],
            "field `value`: union branch 3 is out of range; the writer's union has 3 branches",
        ),
        (
            r#"{"type": "enum", "name": "E", "symbols": ["A", "B"]}"#,
            &[0x04],
            "field `value`: enum index 2 is out of range; the writer's enum has 2 symbols",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(schema, bytes), expected, "{schema} {bytes:?}");
    }
}

#[test]
fn block_counts_are_bounded_by_the_bytes_left() {
    let longs = r#"{"type": "array", "items": "long"}"#;
    let nulls = r#"{"type": "array", "items": "null"}"#;
    let cases: [(&str, &[u8], &str); 5] = [
        (
            longs,
            &[0xfe, 0xff, 0xff, 0xff, 0x0f],
            "field `value`: an array block of 2147483647 items needs at least 2147483647 bytes, \
             but the value has 0 bytes left",
        ),
        (
            longs,
            &[0x01, 0xc8, 0x01],
            "field `value`: an array block of 100 bytes runs 100 bytes past the end of the value",
        ),
        (
            longs,
            &[0x01, 0x01],
            "field `value`: an array block has a negative byte size (-1)",
        ),
        (
            nulls,
            &[0x80, 0x80, 0x80, 0x02],
            "field `value`: the value holds more than 1048576 array items that take no bytes",
        ),
        (
            r#"{"type": "map", "values": "int"}"#,
            &[0x02, 0x02, b'k', 0x80, 0x80, 0x80, 0x80, 0x10, 0x00],
            "field `value[\"k\"]`: int value 2147483648 is out of the 32-bit range",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(schema, bytes), expected, "{schema} {bytes:?}");
    }
    // A negative count with its byte size, and items that take no bytes,
    // within bounds.
    let decoded = decode(&schema(longs), None, &[vec![0x03, 0x04, 0x02, 0x04, 0x00]]);
    assert_eq!(decoded.errors, []);
    let list = col(&decoded.batch, "value");
    same(
        list.as_list::<i32>().values(),
        &Int64Array::from(vec![1, 2]),
    );
    let decoded = decode(&schema(nulls), None, &[vec![0x06, 0x00]]);
    let list = col(&decoded.batch, "value");
    same(list.as_list::<i32>().values(), &NullArray::new(3));
}

#[test]
fn logical_values_are_checked() {
    let decimal = |precision: u32| {
        format!(
            r#"{{"type": "bytes", "logicalType": "decimal", "precision": {precision}, "scale": 0}}"#
        )
    };
    let mut too_long = vec![0x22, 0x01];
    too_long.extend([0u8; 16]);
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            decimal(4),
            vec![0x04, 0x30, 0x39],
            "field `value`: the decimal's unscaled value 12345 has more digits than its precision 4",
        ),
        (
            decimal(38),
            too_long,
            "field `value`: a decimal of 17 bytes overflows 128 bits",
        ),
        (
            r#"{"type": "string", "logicalType": "uuid"}"#.to_owned(),
            vec![0x08, b'n', b'o', b'p', b'e'],
            "field `value`: `nope` is not a UUID (32 hex digits in groups of 8-4-4-4-12)",
        ),
        (
            r#"{"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}"#.to_owned(),
            vec![0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0],
            "field `value`: a duration of 2147483648 months and 0 days is over the 2147483647 \
             an Arrow interval holds",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(&schema, &bytes), expected, "{schema} {bytes:?}");
    }
    // A fixed decimal wider than 16 bytes reads when the extra bytes only
    // extend the sign.
    let wide = r#"{"type": "fixed", "name": "W", "size": 20, "logicalType": "decimal", "precision": 38, "scale": 0}"#;
    let mut minus_two = vec![0xff; 20];
    minus_two[19] = 0xfe;
    let decoded = decode(&schema(wide), None, &[minus_two]);
    assert_eq!(decoded.errors, []);
    let value = col(&decoded.batch, "value");
    assert_eq!(
        value
            .as_primitive::<arrow_array::types::Decimal128Type>()
            .value(0),
        -2
    );
}

#[test]
fn uuids_and_wide_decimals_are_checked() {
    let cases: [(&str, Vec<u8>, &str); 2] = [
        (
            r#"{"type": "bytes", "logicalType": "uuid"}"#,
            vec![0x06, 1, 2, 3],
            "field `value`: a uuid of 3 bytes; a uuid has 16",
        ),
        (
            r#"{"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 0}"#,
            std::iter::once(0x42)
                .chain(std::iter::once(1))
                .chain([0; 32])
                .collect(),
            "field `value`: a decimal of 33 bytes overflows 256 bits",
        ),
    ];
    for (schema, bytes, expected) in cases {
        assert_eq!(message(schema, &bytes), expected, "{schema} {bytes:?}");
    }
}

#[test]
fn skipped_fields_are_bounded_too() {
    let writer = schema(
        r#"{"type": "record", "name": "R", "fields": [
            {"name": "gone", "type": {"type": "array", "items": "long"}}, {"name": "n", "type": "int"}]}"#,
    );
    let reader =
        schema(r#"{"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]}"#);
    let values = [
        vec![0xfe, 0xff, 0xff, 0xff, 0x0f],
        vec![0x01, 0x01],
        vec![0x01, 0xc8, 0x01],
        vec![0x03, 0x04, 0x02, 0x04, 0x00, 0x0e],
    ];
    let decoded = decode(&writer, Some(&reader), &values);
    let errors: Vec<&str> = decoded.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        errors,
        [
            "field `gone`: an array block of 2147483647 items needs at least 2147483647 bytes, \
             but the value has 0 bytes left",
            "field `gone`: an array block has a negative byte size (-1)",
            "field `gone`: an array block of 100 bytes runs 100 bytes past the end of the value",
        ]
    );
    assert_eq!(decoded.rows, [3]);
    same(
        &col(&decoded.batch, "n"),
        &arrow_array::Int32Array::from(vec![7]),
    );
}

#[test]
fn errors_inside_recursive_values_name_their_path() {
    let node = schema(
        r#"{"type": "record", "name": "Node", "fields": [
            {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}"#,
    );
    assert_eq!(
        messages(&node, &[vec![0x02, 0x02, 0x04, 0x0a]]),
        ["field `next.next`: union branch 5 is out of range; the writer's union has 2 branches"]
    );
}

#[test]
fn errors_name_the_path_to_the_field() {
    let order = schema(
        r#"{"type": "record", "name": "Order", "fields": [
            {"name": "id", "type": "long"},
            {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item",
                "fields": [{"name": "price", "type": "int"}]}}}]}"#,
    );
    let bytes = vec![0x02, 0x04, 0x02, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00];
    assert_eq!(
        messages(&order, &[bytes]),
        ["field `items[1].price`: int value 2147483648 is out of the 32-bit range"]
    );
}

/// A linked list of `depth` nodes.
fn linked(depth: usize) -> Value {
    let mut next = Value::Union(0, Box::new(Value::Null));
    for value in (0..depth).rev() {
        next = Value::Union(
            1,
            Box::new(Value::Record(vec![
                (
                    "value".into(),
                    Value::Int(i32::try_from(value).unwrap_or(0)),
                ),
                ("next".into(), next),
            ])),
        );
    }
    match next {
        Value::Union(_, node) => *node,
        other => other,
    }
}

#[test]
fn recursive_values_nest_only_so_deep() {
    let node = r#"{"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "next", "type": ["null", "Node"]}]}"#;
    let writer = schema(node);
    let deep = datum(&writer, linked(40));
    let path = vec!["next"; 33].join(".");
    assert_eq!(
        messages(&writer, std::slice::from_ref(&deep)),
        [format!(
            "field `{path}`: the value nests deeper than 64 levels"
        )]
    );
    // Skipping the recursive field is bounded too.
    let reader = schema(
        r#"{"type": "record", "name": "Node", "fields": [{"name": "value", "type": "int"}]}"#,
    );
    let decoded = decode(&writer, Some(&reader), &[deep, datum(&writer, linked(5))]);
    let errors: Vec<&str> = decoded.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        errors,
        ["field `next`: the value nests deeper than 64 levels"]
    );
    assert_eq!(decoded.rows, [1]);
}
