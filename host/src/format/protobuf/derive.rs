//! Arrow schemas to `.proto` text: [`proto_from_arrow`], for registering a
//! schema when a sink writes Protobuf and the pipeline names none.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use arrow_schema::{DataType, Field, Fields, Schema};

use crate::format::schema::{format_type, is_json_field};
use crate::record;

/// Why an Arrow schema has no `.proto` form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the schema has no Protobuf form: {}", problems.join("; "))]
pub struct DeriveError {
    /// Every problem, each naming its column.
    pub problems: Vec<String>,
}

/// Writes a proto3 file declaring `message` with one field per value column
/// of `schema` (metadata columns, named `__…`, are left out), numbered from
/// 1 in column order, in `package` if given.
///
/// | Arrow | field |
/// |---|---|
/// | `Boolean` | `bool` |
/// | `Int8`, `Int16`, `Int32`, `Date32` (days) | `int32` |
/// | `Int64` | `int64` |
/// | `UInt8`, `UInt16`, `UInt32` | `uint32` |
/// | `UInt64` | `uint64` |
/// | `Float32`, `Float64` | `float`, `double` |
/// | strings, dictionaries of strings | `string` |
/// | binaries, `FixedSizeBinary` | `bytes` |
/// | `json` | `google.protobuf.Value` |
/// | `Timestamp` (any unit) | `google.protobuf.Timestamp` |
/// | `Duration` (any unit) | `google.protobuf.Duration` |
/// | `Struct` | a nested message named after the field (`line_items` → `LineItems`) |
/// | `List`, `LargeList` | `repeated` |
/// | `Map` | `map<K, V>` (keys of an integer, `bool` or string type) |
///
/// A nullable scalar column becomes an `optional` field, so null and the
/// default stay apart; message fields track presence anyway. A null list
/// has no Protobuf form other than the empty list.
///
/// # Errors
///
/// Every column with no Protobuf form (decimals, times, intervals, unions,
/// lists of lists, maps of lists, names that are not Protobuf identifiers),
/// each named with the fix.
pub fn proto_from_arrow(
    schema: &Schema,
    message: &str,
    package: Option<&str>,
) -> Result<String, DeriveError> {
    let mut writer = Writer {
        imports: BTreeSet::new(),
        problems: Vec::new(),
    };
    if !is_identifier(message) {
        writer.problems.push(format!(
            "the message name `{message}` is not a Protobuf identifier (letters, digits and \
             `_`, not starting with a digit)"
        ));
    }
    if let Some(package) = package
        && !package.split('.').all(is_identifier)
    {
        writer.problems.push(format!(
            "the package `{package}` is not dot-separated Protobuf identifiers"
        ));
    }
    let fields: Vec<&Field> = schema
        .fields()
        .iter()
        .filter(|f| !record::is_metadata(f.name()))
        .map(|f| f.as_ref())
        .collect();
    let mut body = String::new();
    writer.message(message, &fields, "", 0, &mut body);
    if !writer.problems.is_empty() {
        return Err(DeriveError {
            problems: writer.problems,
        });
    }
    let mut out = String::from("syntax = \"proto3\";\n");
    if let Some(package) = package {
        let _ = writeln!(out, "\npackage {package};");
    }
    if !writer.imports.is_empty() {
        out.push('\n');
        for import in &writer.imports {
            let _ = writeln!(out, "import \"{import}\";");
        }
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

/// State of one derivation.
struct Writer {
    /// Well-known files the text imports.
    imports: BTreeSet<&'static str>,
    /// Problems found so far.
    problems: Vec<String>,
}

/// Whether `name` is a Protobuf identifier.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A message name for a field: `line_items` → `LineItems`.
fn message_name(field: &str) -> String {
    let mut name = String::with_capacity(field.len());
    let mut upper = true;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'M');
    }
    name
}

impl Writer {
    /// Writes `message NAME { … }` with its fields and nested messages.
    fn message(
        &mut self,
        name: &str,
        fields: &[&Field],
        path: &str,
        indent: usize,
        out: &mut String,
    ) {
        let pad = "  ".repeat(indent);
        let _ = writeln!(out, "{pad}message {name} {{");
        let mut nested = String::new();
        let mut names = BTreeSet::new();
        for (index, field) in fields.iter().enumerate() {
            let column = if path.is_empty() {
                field.name().clone()
            } else {
                format!("{path}.{}", field.name())
            };
            if !is_identifier(field.name()) {
                self.problems.push(format!(
                    "column `{column}`: the name is not a Protobuf identifier (letters, digits \
                     and `_`, not starting with a digit); rename it in a transform"
                ));
                continue;
            }
            let Some(declaration) = self.field(field, &column, indent + 1, &mut names, &mut nested)
            else {
                continue;
            };
            let _ = writeln!(
                out,
                "{pad}  {declaration} {} = {};",
                field.name(),
                index + 1
            );
        }
        out.push_str(&nested);
        let _ = writeln!(out, "{pad}}}");
    }

    /// The type (with its label) of a field, writing nested messages it
    /// needs into `nested`.
    fn field(
        &mut self,
        field: &Field,
        column: &str,
        indent: usize,
        names: &mut BTreeSet<String>,
        nested: &mut String,
    ) -> Option<String> {
        match field.data_type() {
            DataType::List(item) | DataType::LargeList(item) => {
                let element =
                    self.value(item, field.name(), column, indent, names, nested, true)?;
                Some(format!("repeated {element}"))
            }
            DataType::Map(entries, _) => {
                let DataType::Struct(parts) = entries.data_type() else {
                    self.unsupported(column, field.data_type(), "");
                    return None;
                };
                let (Some(key), Some(value)) = (parts.first(), parts.get(1)) else {
                    self.unsupported(column, field.data_type(), "");
                    return None;
                };
                let key_type = match key.data_type() {
                    DataType::Int8 | DataType::Int16 | DataType::Int32 => "int32",
                    DataType::Int64 => "int64",
                    DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "uint32",
                    DataType::UInt64 => "uint64",
                    DataType::Boolean => "bool",
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
                    DataType::Dictionary(_, v) if is_string(v) => "string",
                    other => {
                        self.problems.push(format!(
                            "column `{column}`: map keys of type `{}` have no Protobuf form; \
                             Protobuf map keys are integers, `bool` or strings",
                            format_type(other)
                        ));
                        return None;
                    }
                };
                let value_type =
                    self.value(value, field.name(), column, indent, names, nested, true)?;
                Some(format!("map<{key_type}, {value_type}>"))
            }
            _ => {
                let value =
                    self.value(field, field.name(), column, indent, names, nested, false)?;
                let message = value.contains('.') || value.starts_with(char::is_uppercase);
                if field.is_nullable() && !message {
                    Some(format!("optional {value}"))
                } else {
                    Some(value)
                }
            }
        }
    }

    /// The type of one value (a field's, an element's, a map value's).
    #[allow(
        clippy::too_many_arguments,
        reason = "the walk's state, kept apart for clarity"
    )]
    fn value(
        &mut self,
        field: &Field,
        name: &str,
        column: &str,
        indent: usize,
        names: &mut BTreeSet<String>,
        nested: &mut String,
        inner: bool,
    ) -> Option<String> {
        if is_json_field(field) {
            self.imports.insert("google/protobuf/struct.proto");
            return Some("google.protobuf.Value".to_owned());
        }
        let data_type = field.data_type();
        Some(
            match data_type {
                DataType::Boolean => "bool",
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Date32 => "int32",
                DataType::Int64 => "int64",
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "uint32",
                DataType::UInt64 => "uint64",
                DataType::Float32 => "float",
                DataType::Float64 => "double",
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
                DataType::Dictionary(_, v) if is_string(v) => "string",
                DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_) => "bytes",
                DataType::Timestamp(..) => {
                    self.imports.insert("google/protobuf/timestamp.proto");
                    "google.protobuf.Timestamp"
                }
                DataType::Duration(_) => {
                    self.imports.insert("google/protobuf/duration.proto");
                    "google.protobuf.Duration"
                }
                DataType::Struct(children) => {
                    let mut nested_name = message_name(name);
                    let base = nested_name.clone();
                    let mut n = 2;
                    while !names.insert(nested_name.clone()) {
                        nested_name = format!("{base}{n}");
                        n += 1;
                    }
                    let children: Vec<&Field> = children_of(children);
                    self.message(&nested_name, &children, column, indent, nested);
                    return Some(nested_name);
                }
                DataType::List(_) | DataType::LargeList(_) | DataType::Map(..) if inner => {
                    self.problems.push(format!(
                        "column `{column}`: a list or map inside a list or map has no Protobuf \
                         form; wrap the inner one in a struct"
                    ));
                    return None;
                }
                DataType::Decimal128(..) | DataType::Decimal256(..) => {
                    self.unsupported(column, data_type, "; cast it to `utf8` or `float64`");
                    return None;
                }
                other => {
                    self.unsupported(column, other, "");
                    return None;
                }
            }
            .to_owned(),
        )
    }

    /// Records a column whose type has no Protobuf form.
    fn unsupported(&mut self, column: &str, data_type: &DataType, hint: &str) {
        self.problems.push(format!(
            "column `{column}`: type `{}` has no Protobuf form{hint}",
            format_type(data_type)
        ));
    }
}

/// The fields of a struct, as references.
fn children_of(fields: &Fields) -> Vec<&Field> {
    fields.iter().map(|f| f.as_ref()).collect()
}

/// Whether a dictionary's values are strings.
fn is_string(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}
