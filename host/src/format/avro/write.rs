//! Writing one row of bound arrays as an Avro datum: the per-row half of
//! [`AvroEncoder`](super::AvroEncoder), where values that cannot be
//! represented fail their row.

use arrow_buffer::{IntervalMonthDayNano, i256};

use super::cursor::{Fault, bytes, is_uuid};
use super::encode::{Enc, Node, index_i64};
use super::json::{self, write_long};
use super::sources::{Decimals, Floats, Symbols, uuid_bytes, uuid_text};

/// Writes one row of a node.
pub(super) fn write(node: &Node<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Box<Fault>> {
    let null = node.nulls.as_ref().is_some_and(|n| n.is_null(row));
    match node.nullable {
        Some((null_index, _)) if null => {
            write_long(out, null_index);
            return Ok(());
        }
        Some((_, value_index)) => write_long(out, value_index),
        None if null && !matches!(node.enc, Enc::Null | Enc::Union(..)) => {
            return Err(Fault::new(
                "the value is null, but the Avro type does not allow null".to_owned(),
            ));
        }
        None => {}
    }
    write_enc(&node.enc, row, out)
}

/// Writes one row of a value writer.
fn write_enc(enc: &Enc<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Box<Fault>> {
    match enc {
        Enc::Null => {}
        Enc::Bool(a) => out.push(u8::from(a.value(row))),
        Enc::Int(ints) => {
            let value = ints.get(row).and_then(|v| i32::try_from(v).ok());
            match value {
                Some(v) => write_long(out, i64::from(v)),
                None => {
                    return Err(Fault::new(
                        "the value is out of the range of an Avro int".to_owned(),
                    ));
                }
            }
        }
        Enc::Long(ints, scale) => match ints.get(row).and_then(|v| scale.apply(v)) {
            Some(v) => write_long(out, v),
            None => {
                return Err(Fault::new(
                    "the value does not fit an Avro long in the schema's unit exactly".to_owned(),
                ));
            }
        },
        Enc::Float(floats) => {
            let value = match floats {
                Floats::F32(v) => v.get(row).copied().unwrap_or_default(),
                Floats::F64(v) => {
                    let wide = v.get(row).copied().unwrap_or_default();
                    // Narrowing is checked to be exact just below.
                    #[allow(clippy::cast_possible_truncation)]
                    let narrow = wide as f32;
                    if f64::from(narrow) != wide && !wide.is_nan() {
                        return Err(Fault::new(format!(
                            "{wide} is not exactly an Avro float; use a double"
                        )));
                    }
                    narrow
                }
            };
            out.extend_from_slice(&value.to_le_bytes());
        }
        Enc::Double(floats) => {
            let value = match floats {
                Floats::F32(v) => f64::from(v.get(row).copied().unwrap_or_default()),
                Floats::F64(v) => v.get(row).copied().unwrap_or_default(),
            };
            out.extend_from_slice(&value.to_le_bytes());
        }
        Enc::Str(strs) => write_bytes(out, strs.get(row).as_bytes()),
        Enc::UuidText(strs) => {
            let text = strs.get(row);
            if !is_uuid(text.as_bytes()) {
                return Err(Fault::new(format!(
                    "`{}` is not a UUID (32 hex digits in groups of 8-4-4-4-12)",
                    text.chars().take(40).collect::<String>()
                )));
            }
            write_bytes(out, text.as_bytes());
        }
        Enc::UuidFromBytes(fixed) => {
            let text = uuid_text(fixed.value(row));
            write_bytes(out, text.as_bytes());
        }
        Enc::UuidToBytes(strs, as_bytes) => {
            let text = strs.get(row);
            let Some(bytes) = uuid_bytes(text) else {
                return Err(Fault::new(format!(
                    "`{}` is not a UUID (32 hex digits in groups of 8-4-4-4-12)",
                    text.chars().take(40).collect::<String>()
                )));
            };
            if *as_bytes {
                write_long(out, 16);
            }
            out.extend_from_slice(&bytes);
        }
        Enc::Bytes(bins) => write_bytes(out, bins.get(row)),
        Enc::Fixed(size, bins) => {
            let value = bins.get(row);
            if value.len() != *size {
                return Err(Fault::new(format!(
                    "the value has {}, but the Avro fixed has {size}",
                    bytes(value.len())
                )));
            }
            out.extend_from_slice(value);
        }
        Enc::Enum(symbols) => {
            let (index, text, name) = match symbols {
                Symbols::Text(strs, table, name) => {
                    let text = strs.get(row);
                    (table.get(text).copied(), text, *name)
                }
                Symbols::Dict(keys, lookup, values, name) => {
                    let key = keys.get(row).copied().unwrap_or(0);
                    (lookup.get(key).copied().flatten(), values.get(key), *name)
                }
            };
            match index {
                Some(index) => write_long(out, index),
                None => {
                    return Err(Fault::new(format!(
                        "`{}` is not a symbol of the Avro enum `{name}`",
                        text.chars().take(40).collect::<String>()
                    )));
                }
            }
        }
        Enc::Decimal(source, fixed, max) => {
            let value = match source {
                Decimals::D128(v) => i256::from_i128(v.get(row).copied().unwrap_or_default()),
                Decimals::D256(v) => v.get(row).copied().unwrap_or_default(),
            };
            if value.checked_abs().is_none_or(|abs| abs > *max) {
                return Err(Fault::new(format!(
                    "the unscaled value {value} has more digits than the Avro decimal's precision"
                )));
            }
            let be = value.to_be_bytes();
            let negative = value < i256::ZERO;
            let fill = if negative { 0xff } else { 0 };
            // The shortest two's complement form keeps one sign bit.
            let mut start = 0;
            while start < 31 && be[start] == fill && ((be[start + 1] & 0x80) != 0) == negative {
                start += 1;
            }
            let minimal = &be[start..];
            match fixed {
                None => write_bytes(out, minimal),
                Some(size) => {
                    if minimal.len() > *size {
                        return Err(Fault::new(format!(
                            "the unscaled value {value} needs {}, but the Avro fixed has {size}",
                            bytes(minimal.len())
                        )));
                    }
                    out.extend(std::iter::repeat_n(fill, size - minimal.len()));
                    out.extend_from_slice(minimal);
                }
            }
        }
        Enc::Duration(a) => {
            let IntervalMonthDayNano {
                months,
                days,
                nanoseconds,
            } = a.value(row);
            let millis = (nanoseconds % 1_000_000 == 0)
                .then_some(nanoseconds / 1_000_000)
                .and_then(|m| u32::try_from(m).ok());
            match (u32::try_from(months), u32::try_from(days), millis) {
                (Ok(months), Ok(days), Some(millis)) => {
                    out.extend_from_slice(&months.to_le_bytes());
                    out.extend_from_slice(&days.to_le_bytes());
                    out.extend_from_slice(&millis.to_le_bytes());
                }
                _ => {
                    return Err(Fault::new(format!(
                        "the interval of {months} months, {days} days and {nanoseconds} ns is not \
                         an Avro duration (non-negative months, days and whole milliseconds, each \
                         under 2^32)"
                    )));
                }
            }
        }
        Enc::Record(fields) => {
            for (name, node) in fields {
                write(node, row, out).map_err(|fault| fault.within_field(name))?;
            }
        }
        Enc::Array(offsets, item) => {
            let (start, end) = offsets.range(row);
            if end > start {
                write_long(out, index_i64(end - start));
                for (n, i) in (start..end).enumerate() {
                    write(item, i, out).map_err(|fault| fault.within_index(n))?;
                }
            }
            write_long(out, 0);
        }
        Enc::Map(offsets, keys, values) => {
            let at = |i: usize| {
                offsets
                    .get(i)
                    .map_or(0, |&v| usize::try_from(v).unwrap_or(0))
            };
            let (start, end) = (at(row), at(row + 1));
            if end > start {
                write_long(out, index_i64(end - start));
                for i in start..end {
                    let key = keys.get(i);
                    write_bytes(out, key.as_bytes());
                    write(values, i, out).map_err(|fault| fault.within_key(key))?;
                }
            }
            write_long(out, 0);
        }
        Enc::Union(array, children) => {
            let type_id = array.type_id(row);
            let child = usize::try_from(type_id)
                .ok()
                .and_then(|slot| children.get(slot))
                .and_then(Option::as_ref);
            let Some((branch, node)) = child else {
                return Err(Fault::new(format!(
                    "the union's type id {type_id} has no child"
                )));
            };
            write_long(out, *branch);
            write(node, array.value_offset(row), out)?;
        }
        Enc::Branch(index, node) => {
            write_long(out, *index);
            write(node, row, out)?;
        }
        Enc::Json(strs, nulls, schema, names) => {
            let value = if nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                serde_json::Value::Null
            } else {
                serde_json::from_str(strs.get(row))
                    .map_err(|error| Fault::new(format!("the column is not valid JSON: {error}")))?
            };
            json::encode(schema, names, &value, out, 0).map_err(Fault::new)?;
        }
        Enc::Default(bytes) => out.extend_from_slice(bytes),
    }
    Ok(())
}

/// Appends length-prefixed bytes.
#[inline]
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, index_i64(bytes.len()));
    out.extend_from_slice(bytes);
}
