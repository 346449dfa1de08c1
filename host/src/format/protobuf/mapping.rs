//! Protobuf message descriptors to Arrow schemas, and the compiled plan of
//! a message that the decoder and encoder both follow.
//!
//! The plan is built once per message type: for each field its number, its
//! shape (singular, repeated, map), how one value is read and written, and
//! its Arrow field. Building the plan and the Arrow schema in one walk keeps
//! the two from ever disagreeing.

use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::format::schema::json_field;

/// The most columns (nested ones counted) a message may map to; a schema
/// whose messages repeat each other many times over would otherwise build
/// an unbounded Arrow schema.
pub const MAX_COLUMNS: usize = 10_000;

/// Why a message cannot be mapped to Arrow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("message `{message}` cannot be mapped to Arrow: {reason}")]
pub struct MappingError {
    /// The message's full name.
    pub message: String,
    /// Why.
    pub reason: String,
}

/// The Arrow schema of the batches a message decodes to (see the
/// [module docs](super) for the types).
///
/// # Errors
///
/// When the message expands to more than [`MAX_COLUMNS`] columns.
pub fn arrow_schema(message: &MessageDescriptor) -> Result<SchemaRef, MappingError> {
    Ok(Arc::new(Schema::new(
        MessagePlan::build(message)?.arrow.clone(),
    )))
}

/// A scalar type as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    /// `double`.
    Double,
    /// `float`.
    Float,
    /// `int32`: a sign-extended varint.
    Int32,
    /// `int64`.
    Int64,
    /// `uint32`.
    Uint32,
    /// `uint64`.
    Uint64,
    /// `sint32`: a zig-zag varint.
    Sint32,
    /// `sint64`.
    Sint64,
    /// `fixed32`.
    Fixed32,
    /// `fixed64`.
    Fixed64,
    /// `sfixed32`.
    Sfixed32,
    /// `sfixed64`.
    Sfixed64,
    /// `bool`.
    Bool,
    /// `string`.
    String,
    /// `bytes`.
    Bytes,
}

impl Scalar {
    /// The scalar of a descriptor kind, if it is one.
    fn of(kind: &Kind) -> Option<Self> {
        Some(match kind {
            Kind::Double => Scalar::Double,
            Kind::Float => Scalar::Float,
            Kind::Int32 => Scalar::Int32,
            Kind::Int64 => Scalar::Int64,
            Kind::Uint32 => Scalar::Uint32,
            Kind::Uint64 => Scalar::Uint64,
            Kind::Sint32 => Scalar::Sint32,
            Kind::Sint64 => Scalar::Sint64,
            Kind::Fixed32 => Scalar::Fixed32,
            Kind::Fixed64 => Scalar::Fixed64,
            Kind::Sfixed32 => Scalar::Sfixed32,
            Kind::Sfixed64 => Scalar::Sfixed64,
            Kind::Bool => Scalar::Bool,
            Kind::String => Scalar::String,
            Kind::Bytes => Scalar::Bytes,
            Kind::Message(_) | Kind::Enum(_) => return None,
        })
    }

    /// The Arrow type of its values.
    pub(super) fn data_type(self) -> DataType {
        match self {
            Scalar::Double => DataType::Float64,
            Scalar::Float => DataType::Float32,
            Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => DataType::Int32,
            Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => DataType::Int64,
            Scalar::Uint32 | Scalar::Fixed32 => DataType::UInt32,
            Scalar::Uint64 | Scalar::Fixed64 => DataType::UInt64,
            Scalar::Bool => DataType::Boolean,
            Scalar::String => DataType::Utf8,
            Scalar::Bytes => DataType::Binary,
        }
    }

    /// The wire type of one value.
    pub(super) fn wire(self) -> u8 {
        use super::wire::{I32, I64, LEN, VARINT};
        match self {
            Scalar::Double | Scalar::Fixed64 | Scalar::Sfixed64 => I64,
            Scalar::Float | Scalar::Fixed32 | Scalar::Sfixed32 => I32,
            Scalar::String | Scalar::Bytes => LEN,
            _ => VARINT,
        }
    }

    /// Its name in `.proto` text.
    pub(super) fn proto_name(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }
}

/// A well-known type kept as JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JsonKind {
    /// `google.protobuf.Struct`: an object.
    Struct,
    /// `google.protobuf.Value`: any JSON value.
    Value,
    /// `google.protobuf.ListValue`: an array.
    List,
    /// `google.protobuf.Any`: `{"@type": …, "value": base64}`.
    Any,
}

/// An enum: its value names in dictionary order and their numbers.
#[derive(Debug)]
pub(super) struct EnumPlan {
    /// The enum's full name, for messages.
    pub(super) full_name: String,
    /// Value names, one per distinct number, in declaration order.
    pub(super) names: Vec<String>,
    /// The number of each name.
    pub(super) numbers: Vec<i32>,
    /// The number an absent field holds.
    pub(super) default_number: i32,
}

/// How one value of a field is read and written.
#[derive(Debug, Clone)]
pub(super) enum ValuePlan {
    /// A scalar.
    Scalar(Scalar),
    /// An enum number.
    Enum(Arc<EnumPlan>),
    /// A message, as a struct.
    Message(Arc<MessagePlan>),
    /// `google.protobuf.Timestamp`, as nanoseconds.
    Timestamp,
    /// `google.protobuf.Duration`, as nanoseconds.
    Duration,
    /// A wrapper message (`Int32Value` …) around a scalar.
    Wrapper(Scalar),
    /// A well-known type kept as JSON.
    Json(JsonKind),
    /// A message inside itself, kept encoded.
    Raw,
}

/// The shape of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// One value.
    Single {
        /// Whether absence is tracked (a nullable column).
        presence: bool,
        /// A proto2 `required` field.
        required: bool,
    },
    /// `repeated`.
    List,
    /// `map<K, V>`; the value's plan is the field's.
    Map {
        /// The key's type.
        key: Scalar,
    },
}

/// One field of a message.
#[derive(Debug)]
pub(super) struct FieldPlan {
    /// The field name (and column name).
    pub(super) name: Arc<str>,
    /// The field number.
    pub(super) number: u32,
    /// Singular, repeated or map.
    pub(super) shape: Shape,
    /// How a value (or a map's value) is read and written.
    pub(super) value: ValuePlan,
    /// The `oneof` it belongs to (not counting proto3 `optional`'s).
    pub(super) oneof: Option<usize>,
    /// Whether a message value is written as a group.
    pub(super) group: bool,
    /// Whether repeated scalars are written packed.
    pub(super) packed: bool,
    /// The column.
    pub(super) field: FieldRef,
}

/// A message compiled for reading and writing.
#[derive(Debug)]
pub(super) struct MessagePlan {
    /// The full name, for messages.
    pub(super) full_name: String,
    /// The fields, in declaration order (the column order).
    pub(super) fields: Vec<FieldPlan>,
    /// For each real `oneof`, its name and the indexes of its fields.
    pub(super) oneofs: Vec<(String, Vec<usize>)>,
    /// The columns.
    pub(super) arrow: Fields,
}

/// State of one plan build.
struct Build {
    /// Full names of the messages being expanded, outermost first.
    stack: Vec<String>,
    /// Columns made so far.
    columns: usize,
    /// The message the build started from, for errors.
    root: String,
}

impl MessagePlan {
    /// The plan of a message.
    pub(super) fn build(message: &MessageDescriptor) -> Result<Arc<Self>, MappingError> {
        let mut build = Build {
            stack: Vec::new(),
            columns: 0,
            root: message.full_name().to_owned(),
        };
        build.message(message)
    }
}

impl Build {
    /// Plans a message whose type is not on the stack.
    fn message(&mut self, message: &MessageDescriptor) -> Result<Arc<MessagePlan>, MappingError> {
        self.stack.push(message.full_name().to_owned());
        let mut oneofs: Vec<(String, Vec<usize>)> = Vec::new();
        let mut oneof_names: Vec<String> = Vec::new();
        let mut fields = Vec::new();
        for (index, fd) in message.fields().enumerate() {
            let oneof = match fd.containing_oneof() {
                Some(oneof) if !oneof.is_synthetic() => {
                    let name = oneof.full_name().to_owned();
                    let at = match oneof_names.iter().position(|n| *n == name) {
                        Some(at) => at,
                        None => {
                            oneof_names.push(name);
                            oneofs.push((oneof.name().to_owned(), Vec::new()));
                            oneofs.len() - 1
                        }
                    };
                    oneofs[at].1.push(index);
                    Some(at)
                }
                _ => None,
            };
            let mut plan = self.field(&fd)?;
            plan.oneof = oneof;
            fields.push(plan);
        }
        self.stack.pop();
        let arrow = fields.iter().map(|f| f.field.clone()).collect();
        Ok(Arc::new(MessagePlan {
            full_name: message.full_name().to_owned(),
            fields,
            oneofs,
            arrow,
        }))
    }

    /// Counts a column, failing past the cap.
    fn count(&mut self) -> Result<(), MappingError> {
        self.columns += 1;
        if self.columns > MAX_COLUMNS {
            return Err(MappingError {
                message: self.root.clone(),
                reason: format!(
                    "it expands to more than {MAX_COLUMNS} columns (nested messages counted \
                     every time they appear)"
                ),
            });
        }
        Ok(())
    }

    /// Plans one field.
    fn field(&mut self, fd: &FieldDescriptor) -> Result<FieldPlan, MappingError> {
        self.count()?;
        let name: Arc<str> = Arc::from(fd.name());
        let kind = fd.kind();
        let (shape, value, data_type, nullable) = if fd.is_map() {
            let Kind::Message(entry) = &kind else {
                return Err(MappingError {
                    message: fd.parent_message().full_name().to_owned(),
                    reason: format!("map field `{}` has no entry message", fd.name()),
                });
            };
            let key_fd = entry.map_entry_key_field();
            let value_fd = entry.map_entry_value_field();
            let key = Scalar::of(&key_fd.kind()).ok_or_else(|| MappingError {
                message: fd.parent_message().full_name().to_owned(),
                reason: format!("map field `{}` has a key that is not a scalar", fd.name()),
            })?;
            let (value, value_type) = self.value(&value_fd)?;
            let value_field = self.element("value", &value, value_type);
            let entries = Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", key.data_type(), false),
                    value_field,
                ])),
                false,
            );
            (
                Shape::Map { key },
                value,
                DataType::Map(Arc::new(entries), false),
                false,
            )
        } else if fd.is_list() {
            let (value, value_type) = self.value(fd)?;
            let item = self.element("item", &value, value_type);
            (Shape::List, value, DataType::List(Arc::new(item)), false)
        } else {
            let (value, data_type) = self.value(fd)?;
            // proto2 `required` fields track presence too, but absence is
            // an error there, so they are never null.
            let required = fd.is_required();
            let presence = fd.supports_presence() && !required;
            (
                Shape::Single { presence, required },
                value,
                data_type,
                presence,
            )
        };
        let field = if matches!(value, ValuePlan::Json(_)) && matches!(shape, Shape::Single { .. })
        {
            json_field(fd.name(), nullable)
        } else {
            Field::new(fd.name(), data_type, nullable)
        };
        Ok(FieldPlan {
            name,
            number: fd.number(),
            shape,
            value,
            oneof: None,
            group: fd.is_group(),
            packed: fd.is_packed(),
            field: Arc::new(field),
        })
    }

    /// The field of a list element or map value: never null.
    fn element(&self, name: &str, value: &ValuePlan, data_type: DataType) -> Field {
        if matches!(value, ValuePlan::Json(_)) {
            json_field(name, false)
        } else {
            Field::new(name, data_type, false)
        }
    }

    /// Plans one value of a field and gives its Arrow type.
    fn value(&mut self, fd: &FieldDescriptor) -> Result<(ValuePlan, DataType), MappingError> {
        let kind = fd.kind();
        if let Some(scalar) = Scalar::of(&kind) {
            return Ok((ValuePlan::Scalar(scalar), scalar.data_type()));
        }
        match kind {
            Kind::Enum(descriptor) => {
                let mut names = Vec::new();
                let mut numbers = Vec::new();
                for value in descriptor.values() {
                    if !numbers.contains(&value.number()) {
                        names.push(value.name().to_owned());
                        numbers.push(value.number());
                    }
                }
                let default_number = match fd.default_value() {
                    Value::EnumNumber(n) if !fd.is_list() => n,
                    _ => descriptor.default_value().number(),
                };
                let plan = EnumPlan {
                    full_name: descriptor.full_name().to_owned(),
                    names,
                    numbers,
                    default_number,
                };
                Ok((
                    ValuePlan::Enum(Arc::new(plan)),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                ))
            }
            Kind::Message(message) => Ok(self.message_value(&message)?),
            _ => Err(MappingError {
                message: fd.parent_message().full_name().to_owned(),
                reason: format!("field `{}` has a type with no mapping", fd.name()),
            }),
        }
    }

    /// Plans a message-typed value: a well-known type, a struct, or (inside
    /// itself) raw bytes.
    fn message_value(
        &mut self,
        message: &MessageDescriptor,
    ) -> Result<(ValuePlan, DataType), MappingError> {
        let wrapper = |scalar: Scalar| Ok((ValuePlan::Wrapper(scalar), scalar.data_type()));
        match message.full_name() {
            "google.protobuf.Timestamp" => Ok((
                ValuePlan::Timestamp,
                DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            )),
            "google.protobuf.Duration" => Ok((
                ValuePlan::Duration,
                DataType::Duration(TimeUnit::Nanosecond),
            )),
            "google.protobuf.DoubleValue" => wrapper(Scalar::Double),
            "google.protobuf.FloatValue" => wrapper(Scalar::Float),
            "google.protobuf.Int64Value" => wrapper(Scalar::Int64),
            "google.protobuf.UInt64Value" => wrapper(Scalar::Uint64),
            "google.protobuf.Int32Value" => wrapper(Scalar::Int32),
            "google.protobuf.UInt32Value" => wrapper(Scalar::Uint32),
            "google.protobuf.BoolValue" => wrapper(Scalar::Bool),
            "google.protobuf.StringValue" => wrapper(Scalar::String),
            "google.protobuf.BytesValue" => wrapper(Scalar::Bytes),
            "google.protobuf.Struct" => Ok((ValuePlan::Json(JsonKind::Struct), DataType::Utf8)),
            "google.protobuf.Value" => Ok((ValuePlan::Json(JsonKind::Value), DataType::Utf8)),
            "google.protobuf.ListValue" => Ok((ValuePlan::Json(JsonKind::List), DataType::Utf8)),
            "google.protobuf.Any" => Ok((ValuePlan::Json(JsonKind::Any), DataType::Utf8)),
            name if self.stack.iter().any(|open| open == name) => {
                Ok((ValuePlan::Raw, DataType::Binary))
            }
            _ => {
                let plan = self.message(message)?;
                let data_type = DataType::Struct(plan.arrow.clone());
                Ok((ValuePlan::Message(plan), data_type))
            }
        }
    }
}
