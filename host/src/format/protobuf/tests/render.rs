//! Renders decoded batches as compact text, so tests compare every value
//! (and its nesting) exactly in one string.

use std::fmt::Write as _;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    DurationNanosecondType, Float32Type, Float64Type, Int32Type, Int64Type,
    TimestampNanosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, Field};

use crate::format::schema::is_json_field;

/// Every row of a batch, one rendered struct per row.
pub(super) fn rows(batch: &RecordBatch) -> Vec<String> {
    (0..batch.num_rows())
        .map(|row| {
            let mut out = String::from("{");
            for (i, (field, array)) in batch
                .schema()
                .fields()
                .iter()
                .zip(batch.columns())
                .enumerate()
            {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", field.name());
                value(field, array.as_ref(), row, &mut out);
            }
            out.push('}');
            out
        })
        .collect()
}

/// One value: numbers as Rust prints them, strings quoted, bytes in hex,
/// enums by name, `json` text as `json(TEXT)`, timestamps and durations as their nanosecond
/// counts, structs `{a: 1}`, lists `[1, 2]`, maps `{k => v}`.
pub(super) fn value(field: &Field, array: &dyn Array, row: usize, out: &mut String) {
    if array.is_null(row) {
        out.push_str("null");
        return;
    }
    match array.data_type() {
        DataType::Utf8 if is_json_field(field) => {
            let _ = write!(out, "json({})", array.as_string::<i32>().value(row));
        }
        DataType::Utf8 => {
            let _ = write!(out, "{:?}", array.as_string::<i32>().value(row));
        }
        DataType::Binary => {
            out.push_str("0x");
            for byte in array.as_binary::<i32>().value(row) {
                let _ = write!(out, "{byte:02x}");
            }
        }
        DataType::Boolean => {
            let _ = write!(out, "{}", array.as_boolean().value(row));
        }
        DataType::Int32 => {
            let _ = write!(out, "{}", array.as_primitive::<Int32Type>().value(row));
        }
        DataType::Int64 => {
            let _ = write!(out, "{}", array.as_primitive::<Int64Type>().value(row));
        }
        DataType::UInt32 => {
            let _ = write!(out, "{}", array.as_primitive::<UInt32Type>().value(row));
        }
        DataType::UInt64 => {
            let _ = write!(out, "{}", array.as_primitive::<UInt64Type>().value(row));
        }
        DataType::Float32 => {
            let _ = write!(out, "{:?}", array.as_primitive::<Float32Type>().value(row));
        }
        DataType::Float64 => {
            let _ = write!(out, "{:?}", array.as_primitive::<Float64Type>().value(row));
        }
        DataType::Timestamp(..) => {
            let _ = write!(
                out,
                "ts({})",
                array.as_primitive::<TimestampNanosecondType>().value(row)
            );
        }
        DataType::Duration(_) => {
            let _ = write!(
                out,
                "dur({})",
                array.as_primitive::<DurationNanosecondType>().value(row)
            );
        }
        DataType::Dictionary(..) => {
            let dict = array.as_dictionary::<Int32Type>();
            let key = dict.keys().value(row) as usize;
            out.push_str(dict.values().as_string::<i32>().value(key));
        }
        DataType::Struct(fields) => {
            let array = array.as_struct();
            out.push('{');
            for (i, (child_field, child)) in fields.iter().zip(array.columns()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}: ", child_field.name());
                value(child_field, child.as_ref(), row, out);
            }
            out.push('}');
        }
        DataType::List(item) => {
            let list = array.as_list::<i32>();
            let offsets = list.value_offsets();
            out.push('[');
            for (n, i) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                value(item, list.values().as_ref(), i, out);
            }
            out.push(']');
        }
        DataType::Map(entries, _) => {
            let map = array.as_map();
            let DataType::Struct(parts) = entries.data_type() else {
                unreachable!("map entries are a struct")
            };
            let offsets = map.value_offsets();
            out.push('{');
            for (n, i) in (offsets[row] as usize..offsets[row + 1] as usize).enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                value(&parts[0], map.keys().as_ref(), i, out);
                out.push_str(" => ");
                value(&parts[1], map.values().as_ref(), i, out);
            }
            out.push('}');
        }
        other => panic!("the test renderer does not know {other}"),
    }
}
