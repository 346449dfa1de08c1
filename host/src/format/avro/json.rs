//! JSON values to Avro datums, for field defaults and for `json` columns
//! (the recursive parts of a value) on their way back to Avro.
//!
//! The JSON follows Avro's conventions for defaults: `bytes` and `fixed`
//! are strings whose code points 0–255 are the bytes, enums are their
//! symbols, logical types are their underlying values. A union value is
//! either `{"branch": value}` naming its branch (as Avro's JSON encoding
//! and the decoder's `json` columns write unions of several non-null
//! branches), or a bare value, which takes the first branch it fits (for a
//! default, the specification's first branch). Floats also read `"NaN"`,
//! `"Infinity"` and `"-Infinity"`.

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, UuidSchema};
use serde_json::Value;

use super::mapping::branch_name;
use super::{MAX_DEPTH, Names, resolve};

/// Appends `value` to `out` as an Avro datum of `schema`.
///
/// # Errors
///
/// What does not fit, as text; `out` may hold part of the value then.
pub(super) fn encode(
    schema: &Schema,
    names: &Names,
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the value nests deeper than {MAX_DEPTH} levels"));
    }
    let expected = |what: &str| format!("expected {what}, found {}", short(value));
    match resolve(names, schema) {
        Schema::Null => match value {
            Value::Null => Ok(()),
            _ => Err(expected("null")),
        },
        Schema::Boolean => match value {
            Value::Bool(b) => {
                out.push(u8::from(*b));
                Ok(())
            }
            _ => Err(expected("a boolean")),
        },
        Schema::Int | Schema::Date | Schema::TimeMillis => {
            match value.as_i64().and_then(|v| i32::try_from(v).ok()) {
                Some(v) => {
                    write_long(out, i64::from(v));
                    Ok(())
                }
                None => Err(expected("a 32-bit integer")),
            }
        }
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => match value.as_i64() {
            Some(v) => {
                write_long(out, v);
                Ok(())
            }
            None => Err(expected("a 64-bit integer")),
        },
        Schema::Float => match float(value) {
            Some(v) => {
                // Narrowing is what a float default means.
                #[allow(clippy::cast_possible_truncation)]
                out.extend_from_slice(&(v as f32).to_le_bytes());
                Ok(())
            }
            None => Err(expected("a number")),
        },
        Schema::Double => match float(value) {
            Some(v) => {
                out.extend_from_slice(&v.to_le_bytes());
                Ok(())
            }
            None => Err(expected("a number")),
        },
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => {
            let bytes = code_points(value).ok_or_else(|| expected("a string of bytes"))?;
            write_long(out, i64::try_from(bytes.len()).unwrap_or(i64::MAX));
            out.extend_from_slice(&bytes);
            Ok(())
        }
        Schema::String | Schema::Uuid(UuidSchema::String) => match value {
            Value::String(s) => {
                write_long(out, i64::try_from(s.len()).unwrap_or(i64::MAX));
                out.extend_from_slice(s.as_bytes());
                Ok(())
            }
            _ => Err(expected("a string")),
        },
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => match code_points(value) {
            Some(bytes) if bytes.len() == f.size => {
                out.extend_from_slice(&bytes);
                Ok(())
            }
            _ => Err(expected(&format!("a string of {} bytes", f.size))),
        },
        Schema::Enum(e) => {
            let index = value
                .as_str()
                .and_then(|s| e.symbols.iter().position(|symbol| symbol == s))
                .ok_or_else(|| expected(&format!("one of the symbols of `{}`", e.name.name())))?;
            write_long(out, i64::try_from(index).unwrap_or(i64::MAX));
            Ok(())
        }
        Schema::Record(r) => {
            let Value::Object(object) = value else {
                return Err(expected("an object"));
            };
            for field in &r.fields {
                let item = object
                    .get(&field.name)
                    .or(field.default.as_ref())
                    .ok_or_else(|| format!("the field `{}` is missing", field.name))?;
                encode(&field.schema, names, item, out, depth + 1)
                    .map_err(|message| format!("`{}`: {message}", field.name))?;
            }
            Ok(())
        }
        Schema::Array(a) => {
            let Value::Array(items) = value else {
                return Err(expected("an array"));
            };
            if !items.is_empty() {
                write_long(out, i64::try_from(items.len()).unwrap_or(i64::MAX));
                for item in items {
                    encode(&a.items, names, item, out, depth + 1)?;
                }
            }
            write_long(out, 0);
            Ok(())
        }
        Schema::Map(m) => {
            let Value::Object(entries) = value else {
                return Err(expected("an object"));
            };
            if !entries.is_empty() {
                write_long(out, i64::try_from(entries.len()).unwrap_or(i64::MAX));
                for (key, item) in entries {
                    write_long(out, i64::try_from(key.len()).unwrap_or(i64::MAX));
                    out.extend_from_slice(key.as_bytes());
                    encode(&m.types, names, item, out, depth + 1)?;
                }
            }
            write_long(out, 0);
            Ok(())
        }
        Schema::Union(u) => {
            // A value naming its branch, as Avro's JSON encoding does.
            if let Value::Object(object) = value
                && object.len() == 1
                && let Some((tag, inner)) = object.iter().next()
                && let Some(index) = u
                    .variants()
                    .iter()
                    .position(|v| branch_name(names, v) == *tag)
            {
                write_long(out, i64::try_from(index).unwrap_or(i64::MAX));
                return encode(&u.variants()[index], names, inner, out, depth + 1);
            }
            let mark = out.len();
            let mut first_error = None;
            for (index, branch) in u.variants().iter().enumerate() {
                write_long(out, i64::try_from(index).unwrap_or(i64::MAX));
                match encode(branch, names, value, out, depth + 1) {
                    Ok(()) => return Ok(()),
                    Err(error) => {
                        out.truncate(mark);
                        first_error.get_or_insert(error);
                    }
                }
            }
            Err(format!(
                "no branch of the union fits {}{}",
                short(value),
                first_error.map(|e| format!(" ({e})")).unwrap_or_default()
            ))
        }
        Schema::Ref { name } => Err(format!("unknown type `{}`", name.fullname(None))),
    }
}

/// A JSON number, or one of the strings Avro's JSON uses for non-finite
/// floats.
fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// The bytes of a string of code points 0–255.
fn code_points(value: &Value) -> Option<Vec<u8>> {
    let Value::String(s) = value else {
        return None;
    };
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// A short form of a value for messages.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let cut: String = text.chars().take(40).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// Appends a zig-zag varint.
#[inline]
pub(super) fn write_long(out: &mut Vec<u8>, value: i64) {
    // Zig-zag: the sign goes to the lowest bit.
    #[allow(clippy::cast_sign_loss)]
    let mut n = ((value << 1) ^ (value >> 63)) as u64;
    while n >= 0x80 {
        // Keeps the low seven bits; the cast is the point.
        #[allow(clippy::cast_possible_truncation)]
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)]
    out.push(n as u8);
}
