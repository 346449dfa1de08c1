//! Schema specs: the small type language a pipeline file uses to declare the
//! value columns of a JSON source, and the way back from Arrow types to it.
//!
//! A spec is a mapping of field names to types, in the order the columns
//! should have:
//!
//! ```yaml
//! id: int64
//! ts: timestamp(ms, UTC)
//! amount: decimal(12, 2)
//! customer: { struct: { id: int64, tier: string } }
//! tags: { list: utf8 }
//! note: { type: utf8, nullable: false }
//! extra: json
//! ```
//!
//! A type is a name (`bool`, `int8` … `int64`, `uint8` … `uint64`,
//! `float32`, `float64`, `utf8` or `string`, `binary`, `date32` or `date`,
//! `timestamp(UNIT)` or `timestamp(UNIT, TZ)`, `decimal(P, S)`, `json`) or a
//! mapping with exactly one of `struct`, `list` or `type`, plus an optional
//! `nullable`. Fields are nullable unless they say `nullable: false`.
//! Inside YAML's flow braces a comma ends a value, so write types that have
//! one in quotes there: `{ts: "timestamp(ms, UTC)"}`.
//!
//! `json` columns keep any JSON value as its compact JSON text in a `utf8`
//! column whose field carries the extension name `sabot.json`; encoders write
//! that text back unquoted.
//!
//! [`parse_schema`] reports every problem it finds, each with the path of the
//! field it belongs to, so a pipeline file can be fixed in one pass.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::Value;

use crate::record;

/// The field metadata key that names an Arrow extension type.
pub const EXTENSION_NAME_KEY: &str = "ARROW:extension:name";

/// The extension name of `json` columns: `utf8` columns holding JSON text.
pub const JSON_EXTENSION: &str = "sabot.json";

/// The name Arrow gives the element field of a list.
const LIST_ITEM: &str = "item";

/// The largest precision a `decimal(P, S)` (Decimal128) can have.
const MAX_DECIMAL_PRECISION: u8 = 38;

/// One problem in a schema spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Where the problem is: field names joined by `.`, `[]` for a list's
    /// element; empty for the spec as a whole.
    pub path: String,
    /// What is wrong and, where it can, how to fix it.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}

/// Parses a schema spec (a mapping of field names to types) into an Arrow
/// schema, keeping the field order of the spec.
///
/// # Errors
///
/// Every problem found, each with the path of its field: unknown type names
/// (with a suggestion when one is close), malformed parameters, unknown keys
/// in a type mapping, field names that are empty or start with `__` (the
/// prefix of record metadata columns).
pub fn parse_schema(spec: &Value) -> Result<Schema, Vec<SchemaError>> {
    let mut errors = Vec::new();
    let Value::Object(map) = spec else {
        errors.push(SchemaError {
            path: String::new(),
            message: format!(
                "a schema must be a mapping of field names to types, not {}",
                describe_value(spec)
            ),
        });
        return Err(errors);
    };
    let mut fields = Vec::with_capacity(map.len());
    for (name, ty) in map {
        if record::is_metadata(name) {
            errors.push(SchemaError {
                path: name.clone(),
                message: format!(
                    "field names starting with `{}` are reserved for record metadata; rename it",
                    record::METADATA_PREFIX
                ),
            });
            continue;
        }
        if let Some(field) = parse_field(name, name, ty, &mut errors) {
            fields.push(field);
        }
    }
    if errors.is_empty() {
        Ok(Schema::new(fields))
    } else {
        Err(errors)
    }
}

/// A `json` field: `utf8` holding JSON text, marked with [`JSON_EXTENSION`].
pub fn json_field(name: impl Into<String>, nullable: bool) -> Field {
    let metadata = HashMap::from([(EXTENSION_NAME_KEY.to_owned(), JSON_EXTENSION.to_owned())]);
    Field::new(name, DataType::Utf8, nullable).with_metadata(metadata)
}

/// Whether a field is a `json` field (any string type marked with
/// [`JSON_EXTENSION`]).
pub fn is_json_field(field: &Field) -> bool {
    field
        .metadata()
        .get(EXTENSION_NAME_KEY)
        .is_some_and(|name| name == JSON_EXTENSION)
}

/// Writes an Arrow type in the spec grammar, e.g. `timestamp(ms, UTC)` or
/// `{struct: {id: int64, tier: utf8}}`.
///
/// Types the grammar has no name for (which plugins may produce) are written
/// in the same style (`large_utf8`, `dictionary(int32, utf8)`) for messages,
/// but [`parse_schema`] does not accept them.
pub fn format_type(data_type: &DataType) -> String {
    let mut out = String::new();
    write_type(data_type, &mut out);
    out
}

/// Writes a field's type in the spec grammar, including what the field adds
/// to its data type: `json` for a [`JSON_EXTENSION`] field and the long form
/// `{type: T, nullable: false}` for a non-nullable one.
pub fn format_field_type(field: &Field) -> String {
    let mut out = String::new();
    write_field_type(field, &mut out);
    out
}

/// Writes a whole schema as a spec mapping, e.g. `{id: int64, extra: json}`.
pub fn format_schema(schema: &Schema) -> String {
    let mut out = String::new();
    write_fields(schema.fields(), &mut out);
    out
}

/// Parses the type of one field; `None` after recording its problems.
fn parse_field(
    name: &str,
    path: &str,
    spec: &Value,
    errors: &mut Vec<SchemaError>,
) -> Option<Field> {
    if name.is_empty() {
        errors.push(SchemaError {
            path: path.to_owned(),
            message: "a field name must not be empty".to_owned(),
        });
        return None;
    }
    let parsed = parse_type(path, spec, errors)?;
    Some(parsed.into_field(name))
}

/// A parsed type: an Arrow type plus what the Field carries beyond it.
struct Parsed {
    /// The Arrow type.
    data_type: DataType,
    /// Whether it is a `json` column.
    json: bool,
    /// Whether nulls are allowed.
    nullable: bool,
}

impl Parsed {
    /// The Arrow field of this type under `name`.
    fn into_field(self, name: &str) -> Field {
        if self.json {
            json_field(name, self.nullable)
        } else {
            Field::new(name, self.data_type, self.nullable)
        }
    }
}

/// Parses a TYPE: a type name or a `struct` / `list` / `type` mapping.
fn parse_type(path: &str, spec: &Value, errors: &mut Vec<SchemaError>) -> Option<Parsed> {
    match spec {
        Value::String(name) => match parse_type_name(name) {
            Ok((data_type, json)) => Some(Parsed {
                data_type,
                json,
                nullable: true,
            }),
            Err(message) => {
                errors.push(SchemaError {
                    path: path.to_owned(),
                    message,
                });
                None
            }
        },
        Value::Object(map) => parse_type_mapping(path, map, errors),
        other => {
            errors.push(SchemaError {
                path: path.to_owned(),
                message: format!(
                    "expected a type name or a mapping with `struct`, `list` or `type`, not {}",
                    describe_value(other)
                ),
            });
            None
        }
    }
}

/// Parses `{struct: {...}}`, `{list: TYPE}` or `{type: TYPE}`, each with an
/// optional `nullable`.
fn parse_type_mapping(
    path: &str,
    map: &serde_json::Map<String, Value>,
    errors: &mut Vec<SchemaError>,
) -> Option<Parsed> {
    let mut kind: Option<(&str, &Value)> = None;
    let mut nullable = true;
    let mut ok = true;
    for (key, value) in map {
        match key.as_str() {
            "struct" | "list" | "type" => {
                if let Some((first, _)) = kind {
                    errors.push(SchemaError {
                        path: path.to_owned(),
                        message: format!(
                            "a type mapping has exactly one of `struct`, `list` or `type`, \
                             but this one has both `{first}` and `{key}`"
                        ),
                    });
                    ok = false;
                } else {
                    kind = Some((key.as_str(), value));
                }
            }
            "nullable" => match value {
                Value::Bool(b) => nullable = *b,
                other => {
                    errors.push(SchemaError {
                        path: path.to_owned(),
                        message: format!(
                            "`nullable` must be true or false, not {}",
                            describe_value(other)
                        ),
                    });
                    ok = false;
                }
            },
            other => {
                let hint = suggest(other, &["struct", "list", "type", "nullable"])
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                errors.push(SchemaError {
                    path: path.to_owned(),
                    message: format!(
                        "unknown key `{other}` in a type mapping; {hint}the keys are `struct`, \
                         `list`, `type` and `nullable`"
                    ),
                });
                ok = false;
            }
        }
    }
    let Some((kind, value)) = kind else {
        if ok {
            errors.push(SchemaError {
                path: path.to_owned(),
                message: "a type mapping needs one of `struct`, `list` or `type` \
                          (to declare a struct, write `{struct: {field: TYPE, ...}}`)"
                    .to_owned(),
            });
        }
        return None;
    };
    let parsed = match kind {
        "struct" => parse_struct(path, value, errors),
        "list" => {
            let item_path = format!("{path}[]");
            parse_type(&item_path, value, errors).map(|item| Parsed {
                data_type: DataType::List(Arc::new(item.into_field(LIST_ITEM))),
                json: false,
                nullable: true,
            })
        }
        _ => parse_type(path, value, errors),
    }?;
    ok.then_some(Parsed {
        nullable: nullable && parsed.nullable,
        ..parsed
    })
}

/// Parses the field mapping of a `struct`.
fn parse_struct(path: &str, spec: &Value, errors: &mut Vec<SchemaError>) -> Option<Parsed> {
    let Value::Object(map) = spec else {
        errors.push(SchemaError {
            path: path.to_owned(),
            message: format!(
                "`struct` takes a mapping of field names to types, not {}",
                describe_value(spec)
            ),
        });
        return None;
    };
    let before = errors.len();
    let mut fields = Vec::with_capacity(map.len());
    for (name, ty) in map {
        let child_path = format!("{path}.{name}");
        if let Some(field) = parse_field(name, &child_path, ty, errors) {
            fields.push(field);
        }
    }
    (errors.len() == before).then(|| Parsed {
        data_type: DataType::Struct(Fields::from(fields)),
        json: false,
        nullable: true,
    })
}

/// The plain type names, for exact matches and suggestions.
const TYPE_NAMES: &[(&str, DataType)] = &[
    ("bool", DataType::Boolean),
    ("int8", DataType::Int8),
    ("int16", DataType::Int16),
    ("int32", DataType::Int32),
    ("int64", DataType::Int64),
    ("uint8", DataType::UInt8),
    ("uint16", DataType::UInt16),
    ("uint32", DataType::UInt32),
    ("uint64", DataType::UInt64),
    ("float32", DataType::Float32),
    ("float64", DataType::Float64),
    ("utf8", DataType::Utf8),
    ("string", DataType::Utf8),
    ("binary", DataType::Binary),
    ("date32", DataType::Date32),
    ("date", DataType::Date32),
];

/// Names offered as suggestions besides [`TYPE_NAMES`].
const OTHER_NAMES: &[&str] = &["json", "timestamp(ms)", "decimal(P, S)", "boolean"];

/// Parses a type name; the flag says whether it is `json`.
fn parse_type_name(raw: &str) -> Result<(DataType, bool), String> {
    let name = raw.trim();
    if let Some((_, data_type)) = TYPE_NAMES.iter().find(|(n, _)| *n == name) {
        return Ok((data_type.clone(), false));
    }
    if name == "json" {
        return Ok((DataType::Utf8, true));
    }
    if let Some(args) = parameters(name, "timestamp") {
        return parse_timestamp(args?).map(|t| (t, false));
    }
    if let Some(args) = parameters(name, "decimal") {
        return parse_decimal(args?).map(|t| (t, false));
    }
    let candidates = TYPE_NAMES
        .iter()
        .map(|(n, _)| *n)
        .chain(OTHER_NAMES.iter().copied())
        .collect::<Vec<_>>();
    Err(match suggest(name, &candidates) {
        Some("boolean") => format!("unknown type `{name}`; did you mean `bool`?"),
        Some(s) => format!("unknown type `{name}`; did you mean `{s}`?"),
        None => format!(
            "unknown type `{name}`; the types are bool, int8..int64, uint8..uint64, float32, \
             float64, utf8 (string), binary, date32 (date), timestamp(UNIT[, TZ]), \
             decimal(P, S), json, or a mapping with `struct`, `list` or `type`"
        ),
    })
}

/// The comma-separated parameters of `name(...)`, or `None` when `raw` is
/// not a use of `name`.
fn parameters<'a>(raw: &'a str, name: &str) -> Option<Result<Vec<&'a str>, String>> {
    let rest = raw.strip_prefix(name)?.trim_start();
    if rest.is_empty() {
        return Some(Err(format!(
            "`{name}` needs parameters, e.g. {}",
            if name == "timestamp" {
                "`timestamp(ms)` or `timestamp(ms, UTC)`"
            } else {
                "`decimal(12, 2)`"
            }
        )));
    }
    let inner = rest.strip_prefix('(')?;
    let Some(inner) = inner.strip_suffix(')') else {
        return Some(Err(format!("`{raw}` is missing its closing `)`")));
    };
    Some(Ok(inner.split(',').map(str::trim).collect()))
}

/// Parses the parameters of `timestamp(UNIT[, TZ])`.
fn parse_timestamp(args: Vec<&str>) -> Result<DataType, String> {
    let (unit, tz) = match args.as_slice() {
        [unit] => (*unit, None),
        [unit, tz] => (*unit, Some(*tz)),
        _ => {
            return Err(
                "`timestamp` takes a unit and an optional time zone, e.g. `timestamp(ms, UTC)`"
                    .to_owned(),
            );
        }
    };
    let unit = match unit {
        "s" => TimeUnit::Second,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        other => {
            return Err(format!(
                "unknown timestamp unit `{other}`; the units are s, ms, us and ns"
            ));
        }
    };
    let tz = match tz {
        None => None,
        Some(tz) if valid_time_zone(tz) => Some(Arc::from(tz)),
        Some(tz) => {
            return Err(format!(
                "`{tz}` is not a time zone; write `UTC`, an offset like `+02:00`, or a name like `Europe/Paris`"
            ));
        }
    };
    Ok(DataType::Timestamp(unit, tz))
}

/// Whether `tz` looks like a time zone Arrow accepts: an offset `±HH:MM` or
/// a name made of letters, digits, `/`, `_`, `-` and `+`.
fn valid_time_zone(tz: &str) -> bool {
    let bytes = tz.as_bytes();
    if let [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] = bytes {
        let _ = sign;
        return [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit());
    }
    !tz.is_empty()
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'))
}

/// Parses the parameters of `decimal(P, S)`.
fn parse_decimal(args: Vec<&str>) -> Result<DataType, String> {
    let [precision, scale] = args.as_slice() else {
        return Err("`decimal` takes a precision and a scale, e.g. `decimal(12, 2)`".to_owned());
    };
    let precision: u8 = precision
        .parse()
        .map_err(|_| format!("decimal precision `{precision}` is not a number from 1 to 38"))?;
    let scale: i8 = scale
        .parse()
        .map_err(|_| format!("decimal scale `{scale}` is not a number from 0 to the precision"))?;
    if precision == 0 || precision > MAX_DECIMAL_PRECISION {
        return Err(format!(
            "decimal precision {precision} is out of range; it must be from 1 to 38"
        ));
    }
    if scale < 0 || scale as u8 > precision {
        return Err(format!(
            "decimal scale {scale} is out of range; it must be from 0 to the precision ({precision})"
        ));
    }
    Ok(DataType::Decimal128(precision, scale))
}

/// The candidate closest to `word`, if one is close enough to be a typo.
fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4) && *distance < c.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// A short description of a JSON value's kind, for messages.
fn describe_value(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Writes `{name: TYPE, ...}` for a list of fields.
fn write_fields(fields: &Fields, out: &mut String) {
    out.push('{');
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_name(field.name(), out);
        out.push_str(": ");
        write_nested(out, |text| write_field_type(field, text));
    }
    out.push('}');
}

/// Writes a type inside a flow mapping, quoted when it has a comma (which
/// would end the value there: `{ts: "timestamp(ms, UTC)"}`).
fn write_nested(out: &mut String, write: impl FnOnce(&mut String)) {
    let mut text = String::new();
    write(&mut text);
    if !text.starts_with('{') && text.contains(',') {
        out.push('"');
        out.push_str(&text);
        out.push('"');
    } else {
        out.push_str(&text);
    }
}

/// Writes a field name, quoted when it is not a plain identifier.
fn write_name(name: &str, out: &mut String) {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        out.push_str(name);
    } else {
        // A JSON string literal is also a YAML flow scalar.
        out.push_str(&Value::String(name.to_owned()).to_string());
    }
}

/// Writes a field's type: `json`, the long form when not nullable, or the
/// data type.
fn write_field_type(field: &Field, out: &mut String) {
    let json = is_json_field(field);
    if field.is_nullable() {
        if json {
            out.push_str("json");
        } else {
            write_type(field.data_type(), out);
        }
        return;
    }
    match field.data_type() {
        DataType::Struct(fields) if !json => {
            out.push_str("{struct: ");
            write_fields(fields, out);
        }
        DataType::List(item) if !json => {
            out.push_str("{list: ");
            write_nested(out, |text| write_field_type(item, text));
        }
        other => {
            out.push_str("{type: ");
            if json {
                out.push_str("json");
            } else {
                write_nested(out, |text| write_type(other, text));
            }
        }
    }
    out.push_str(", nullable: false}");
}

/// Writes a data type in the spec grammar.
fn write_type(data_type: &DataType, out: &mut String) {
    use std::fmt::Write as _;
    let unit = |u: &TimeUnit| match u {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    };
    let name = match data_type {
        DataType::Null => "null",
        DataType::Boolean => "bool",
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Float16 => "float16",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Utf8 => "utf8",
        DataType::LargeUtf8 => "large_utf8",
        DataType::Utf8View => "utf8_view",
        DataType::Binary => "binary",
        DataType::LargeBinary => "large_binary",
        DataType::BinaryView => "binary_view",
        DataType::Date32 => "date32",
        DataType::Date64 => "date64",
        DataType::Timestamp(u, None) => {
            let _ = write!(out, "timestamp({})", unit(u));
            return;
        }
        DataType::Timestamp(u, Some(tz)) => {
            let _ = write!(out, "timestamp({}, {tz})", unit(u));
            return;
        }
        DataType::Decimal128(p, s) => {
            let _ = write!(out, "decimal({p}, {s})");
            return;
        }
        DataType::Decimal256(p, s) => {
            let _ = write!(out, "decimal256({p}, {s})");
            return;
        }
        DataType::FixedSizeBinary(n) => {
            let _ = write!(out, "fixed_size_binary({n})");
            return;
        }
        DataType::Struct(fields) => {
            out.push_str("{struct: ");
            write_fields(fields, out);
            out.push('}');
            return;
        }
        DataType::List(item) => {
            out.push_str("{list: ");
            write_nested(out, |text| write_field_type(item, text));
            out.push('}');
            return;
        }
        DataType::LargeList(item) => {
            out.push_str("{large_list: ");
            write_nested(out, |text| write_field_type(item, text));
            out.push('}');
            return;
        }
        DataType::Dictionary(key, value) => {
            out.push_str("dictionary(");
            write_type(key, out);
            out.push_str(", ");
            write_type(value, out);
            out.push(')');
            return;
        }
        other => {
            let _ = write!(out, "{}", other.to_string().to_lowercase());
            return;
        }
    };
    out.push_str(name);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(spec: Value) -> Vec<String> {
        match parse_schema(&spec) {
            Ok(schema) => panic!("expected errors, got {schema:?}"),
            Err(errors) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_type_name_parses() {
        let spec = json!({
            "b": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
            "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
            "f32": "float32", "f64": "float64", "s": "utf8", "s2": "string", "bin": "binary",
            "d": "date32", "d2": "date", "ts": "timestamp(ms)", "tsz": "timestamp( ns , UTC )",
            "tso": "timestamp(s, +02:00)", "tsu": "timestamp(us, Europe/Paris)",
            "dec": "decimal(12, 2)", "j": "json"
        });
        let schema = parse_schema(&spec).expect("valid");
        let types: Vec<DataType> = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            vec![
                DataType::Boolean,
                DataType::Int8,
                DataType::Int16,
                DataType::Int32,
                DataType::Int64,
                DataType::UInt8,
                DataType::UInt16,
                DataType::UInt32,
                DataType::UInt64,
                DataType::Float32,
                DataType::Float64,
                DataType::Utf8,
                DataType::Utf8,
                DataType::Binary,
                DataType::Date32,
                DataType::Date32,
                DataType::Timestamp(TimeUnit::Millisecond, None),
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                DataType::Timestamp(TimeUnit::Second, Some("+02:00".into())),
                DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into())),
                DataType::Decimal128(12, 2),
                DataType::Utf8,
            ]
        );
        assert!(schema.fields().iter().all(|f| f.is_nullable()));
        let j = schema.field_with_name("j").expect("j");
        assert!(is_json_field(j));
        assert!(!is_json_field(schema.field_with_name("s").expect("s")));
    }

    #[test]
    fn nested_and_long_forms_keep_order() {
        let spec = json!({
            "zeta": "int64",
            "customer": {"struct": {"name": "utf8", "id": {"type": "int64", "nullable": false}}},
            "tags": {"list": "utf8"},
            "alpha": {"type": "json", "nullable": false},
            "points": {"list": {"type": "float64", "nullable": false}, "nullable": false},
        });
        let schema = parse_schema(&spec).expect("valid");
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["zeta", "customer", "tags", "alpha", "points"]);
        assert_eq!(
            schema.field(1).data_type(),
            &DataType::Struct(Fields::from(vec![
                Field::new("name", DataType::Utf8, true),
                Field::new("id", DataType::Int64, false),
            ]))
        );
        assert_eq!(
            schema.field(2).data_type(),
            &DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
        );
        assert!(!schema.field(3).is_nullable());
        assert!(is_json_field(schema.field(3)));
        assert!(!schema.field(4).is_nullable());
        assert_eq!(
            format_schema(&schema),
            "{zeta: int64, customer: {struct: {name: utf8, id: {type: int64, nullable: false}}}, \
             tags: {list: utf8}, alpha: {type: json, nullable: false}, \
             points: {list: {type: float64, nullable: false}, nullable: false}}"
        );
    }

    #[test]
    fn formatted_schema_parses_back_to_itself() {
        let spec = json!({
            "id": {"type": "int64", "nullable": false},
            "ts": "timestamp(ms, UTC)", "d": "decimal(38, 10)", "day": "date32", "bin": "binary",
            "c": {"struct": {"tier": "utf8", "x": "json", "inner": {"struct": {"y": "uint16"}, "nullable": false}}},
            "l": {"list": {"list": "json"}},
        });
        let schema = parse_schema(&spec).expect("valid");
        let text = format_schema(&schema);
        let reparsed: Value = serde_yaml::from_str(&text).expect("yaml");
        assert_eq!(parse_schema(&reparsed).expect("valid again"), schema);
    }

    #[test]
    fn format_type_names() {
        assert_eq!(
            format_type(&DataType::Timestamp(
                TimeUnit::Millisecond,
                Some("UTC".into())
            )),
            "timestamp(ms, UTC)"
        );
        assert_eq!(format_type(&DataType::Decimal128(10, 2)), "decimal(10, 2)");
        let item = Field::new("item", DataType::Decimal128(10, 2), false);
        assert_eq!(
            format_type(&DataType::List(Arc::new(item))),
            r#"{list: {type: "decimal(10, 2)", nullable: false}}"#
        );
        assert_eq!(
            format_type(&DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8)
            )),
            "dictionary(int32, utf8)"
        );
        assert_eq!(format_type(&DataType::LargeUtf8), "large_utf8");
        let odd = Field::new("a b", DataType::Int8, true);
        assert_eq!(format_schema(&Schema::new(vec![odd])), r#"{"a b": int8}"#);
        assert_eq!(format_field_type(&json_field("x", true)), "json");
    }

    #[test]
    fn unknown_type_suggests_the_closest_name() {
        let spec = json!({"customer": {"struct": {"tier": "strng"}}});
        assert_eq!(
            errors(spec),
            ["customer.tier: unknown type `strng`; did you mean `string`?"]
        );
        assert_eq!(
            errors(json!({"a": "boolean"})),
            ["a: unknown type `boolean`; did you mean `bool`?"]
        );
        assert_eq!(
            errors(json!({"a": "int63"})),
            ["a: unknown type `int63`; did you mean `int64`?"]
        );
        assert_eq!(
            errors(json!({"a": "jsn"})),
            ["a: unknown type `jsn`; did you mean `json`?"]
        );
        assert_eq!(
            errors(json!({"a": "varchar"})),
            [
                "a: unknown type `varchar`; the types are bool, int8..int64, uint8..uint64, float32, \
              float64, utf8 (string), binary, date32 (date), timestamp(UNIT[, TZ]), decimal(P, S), \
              json, or a mapping with `struct`, `list` or `type`"
            ]
        );
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let spec = json!({
            "a": "decimal(39, 2)",
            "b": "decimal(5, 6)",
            "c": "timestamp(m)",
            "d": "timestamp",
            "e": {"list": "nope"},
            "f": {"struct": "int64"},
            "g": {"type": "int64", "nullabel": false},
            "h": {"type": "int64", "nullable": "no"},
            "i": {"struct": {"x": "int8"}, "list": "int8"},
            "j": {"name": "int8"},
            "k": 5,
            "__key": "binary",
            "l": {"struct": {"": "int8"}},
            "m": "timestamp(ms, not a zone)",
            "n": "decimal(10)",
            "o": "timestamp(ms",
        });
        assert_eq!(
            errors(spec),
            [
                "a: decimal precision 39 is out of range; it must be from 1 to 38",
                "b: decimal scale 6 is out of range; it must be from 0 to the precision (5)",
                "c: unknown timestamp unit `m`; the units are s, ms, us and ns",
                "d: `timestamp` needs parameters, e.g. `timestamp(ms)` or `timestamp(ms, UTC)`",
                "e[]: unknown type `nope`; the types are bool, int8..int64, uint8..uint64, float32, \
                 float64, utf8 (string), binary, date32 (date), timestamp(UNIT[, TZ]), decimal(P, S), \
                 json, or a mapping with `struct`, `list` or `type`",
                "f: `struct` takes a mapping of field names to types, not a string",
                "g: unknown key `nullabel` in a type mapping; did you mean `nullable`? the keys are \
                 `struct`, `list`, `type` and `nullable`",
                "h: `nullable` must be true or false, not a string",
                "i: a type mapping has exactly one of `struct`, `list` or `type`, but this one has both `struct` and `list`",
                "j: unknown key `name` in a type mapping; the keys are `struct`, `list`, `type` and \
                 `nullable`",
                "k: expected a type name or a mapping with `struct`, `list` or `type`, not a number",
                "__key: field names starting with `__` are reserved for record metadata; rename it",
                "l.: a field name must not be empty",
                "m: `not a zone` is not a time zone; write `UTC`, an offset like `+02:00`, or a name like `Europe/Paris`",
                "n: `decimal` takes a precision and a scale, e.g. `decimal(12, 2)`",
                "o: `timestamp(ms` is missing its closing `)`",
            ]
        );
        assert_eq!(
            errors(json!(["id"])),
            ["a schema must be a mapping of field names to types, not a list"]
        );
    }
}
