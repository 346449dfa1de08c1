//! Arrow rows to encoded Protobuf messages: [`ProtobufEncoder`].
//!
//! Columns are matched to the message's fields by name (metadata columns,
//! named `__…`, are left out; a field with no column is absent from every
//! message). Each batch's columns are checked against their fields before
//! anything is written, then every row is written as one message into the
//! caller's buffer, with the end offset of each row recorded, as
//! [`crate::format::JsonEncoder`] does.
//!
//! # Accepted columns
//!
//! | Protobuf field | Arrow column |
//! |---|---|
//! | integer types | any integer type, and `Date32` (days); a value out of the field's range is an error |
//! | `float` | `Float32` |
//! | `double` | `Float64`, `Float32` |
//! | `bool` | `Boolean` |
//! | `string` | `Utf8`, `LargeUtf8`, `Utf8View`, a dictionary of those |
//! | `bytes` | `Binary`, `LargeBinary`, `BinaryView`, `FixedSizeBinary` |
//! | enum | strings or a dictionary of them (value names, or a number as decimal text), or integers (numbers) |
//! | message | `Struct` |
//! | `repeated T` | `List` or `LargeList` of `T` |
//! | `map<K, V>` | `Map` |
//! | `Timestamp` | `Timestamp` of any unit and zone |
//! | `Duration` | `Duration` of any unit |
//! | wrappers | the wrapped type; null writes no wrapper |
//! | `Struct`, `Value`, `ListValue`, `Any` | strings holding JSON (`Any` as `{"@type": URL, "value": BASE64}`) |
//! | a message inside itself | `Binary` holding the encoded message |
//!
//! A null leaves the field out (it reads back as null for a field with
//! presence and as the default otherwise); a null in a proto2 `required`
//! field, a list element or a map value has no Protobuf form and is an
//! error, as is a row setting two cases of one `oneof`. Fields without
//! presence are left out when they hold their default, as Protobuf's own
//! encoders do. Repeated scalars are written packed unless the schema says
//! otherwise.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, FixedSizeBinaryArray,
    LargeBinaryArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};
use base64::Engine as _;
use prost_reflect::MessageDescriptor;

use super::mapping::{
    EnumPlan, FieldPlan, JsonKind, MappingError, MessagePlan, Scalar, Shape, ValuePlan,
};
use super::wire::{
    EGROUP, Fault, I32, I64, LEN, SGROUP, VARINT, put_len_delimited, put_tag, put_varint, zigzag32,
    zigzag64,
};
use crate::format::schema::format_type;
use crate::record;

/// Why a batch could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoEncodeError {
    /// A column the message has no field for.
    #[error(
        "column `{column}` is not a field of message `{message}`; rename or drop it in a \
         transform, or register a schema that has it"
    )]
    UnknownColumn {
        /// The column, with its path for nested ones.
        column: String,
        /// The message's full name.
        message: String,
    },
    /// A column whose type cannot be written as its field's type.
    #[error(
        "column `{column}` has type `{data_type}`, which cannot be written as the Protobuf \
         type `{proto_type}`; cast it in a transform"
    )]
    Incompatible {
        /// The column, with its path for nested ones.
        column: String,
        /// Its Arrow type, in the schema grammar.
        data_type: String,
        /// The field's Protobuf type.
        proto_type: String,
    },
    /// A proto2 `required` field with no column.
    #[error("message `{message}` requires field `{field}`, which the batch has no column for")]
    MissingRequired {
        /// The field, with its path for nested ones.
        field: String,
        /// The message's full name.
        message: String,
    },
    /// A row with a value that has no Protobuf form.
    #[error("row {row}: {message}")]
    Row {
        /// The row of the batch.
        row: usize,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// Writes batches as encoded messages of one type, one per row.
#[derive(Debug)]
pub struct ProtobufEncoder {
    /// The compiled message.
    plan: Arc<MessagePlan>,
    /// Bytes written before every row (a wire format header).
    prefix: Vec<u8>,
}

impl ProtobufEncoder {
    /// An encoder writing messages of type `message`.
    ///
    /// # Errors
    ///
    /// When the message cannot be mapped to Arrow (see [`MappingError`]).
    pub fn new(message: &MessageDescriptor) -> Result<Self, MappingError> {
        Ok(ProtobufEncoder {
            plan: MessagePlan::build(message)?,
            prefix: Vec::new(),
        })
    }

    /// Writes `prefix` before every row, counted in the row's span: the
    /// Confluent wire format header, built once with
    /// [`crate::schema::wire::write_protobuf_header`].
    pub fn with_prefix(mut self, prefix: Vec<u8>) -> Self {
        self.prefix = prefix;
        self
    }

    /// Appends every row of `batch` to `out` as one message and pushes, for
    /// each row, the offset in `out` where it ends. Row `i` spans from the
    /// end of row `i - 1` (or `out.len()` at the call, for the first) to
    /// `ends[i]`.
    ///
    /// # Errors
    ///
    /// [`ProtoEncodeError::UnknownColumn`], [`ProtoEncodeError::Incompatible`]
    /// and [`ProtoEncodeError::MissingRequired`] for columns that do not fit
    /// the message, found before anything is written;
    /// [`ProtoEncodeError::Row`] for the first row with a value that cannot
    /// be written. On error `out` and `ends` are left as they were.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), ProtoEncodeError> {
        let schema = batch.schema();
        let columns: Vec<(&str, &ArrayRef)> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(field, _)| !record::is_metadata(field.name()))
            .map(|(field, array)| (field.name().as_str(), array))
            .collect();
        let message = bind_message(&self.plan, &columns, "")?;
        let (out_len, ends_len) = (out.len(), ends.len());
        out.reserve(batch.num_rows() * (self.prefix.len() + 8 * message.fields.len()));
        ends.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            out.extend_from_slice(&self.prefix);
            if let Err(fault) = write_message(&message, row, out) {
                out.truncate(out_len);
                ends.truncate(ends_len);
                return Err(ProtoEncodeError::Row {
                    row,
                    message: fault.message(),
                });
            }
            ends.push(out.len());
        }
        Ok(())
    }
}

/// Integer values of any width.
enum Ints<'a> {
    /// `Int8`.
    I8(&'a [i8]),
    /// `Int16`.
    I16(&'a [i16]),
    /// `Int32` or `Date32`.
    I32(&'a [i32]),
    /// `Int64`.
    I64(&'a [i64]),
    /// `UInt8`.
    U8(&'a [u8]),
    /// `UInt16`.
    U16(&'a [u16]),
    /// `UInt32`.
    U32(&'a [u32]),
    /// `UInt64`.
    U64(&'a [u64]),
}

impl<'a> Ints<'a> {
    /// The integer values of an array, if it holds integers.
    fn of(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Int8 => Ints::I8(array.as_primitive_opt::<Int8Type>()?.values()),
            DataType::Int16 => Ints::I16(array.as_primitive_opt::<Int16Type>()?.values()),
            DataType::Int32 => Ints::I32(array.as_primitive_opt::<Int32Type>()?.values()),
            DataType::Date32 => Ints::I32(
                array
                    .as_primitive_opt::<arrow_array::types::Date32Type>()?
                    .values(),
            ),
            DataType::Int64 => Ints::I64(array.as_primitive_opt::<Int64Type>()?.values()),
            DataType::UInt8 => Ints::U8(array.as_primitive_opt::<UInt8Type>()?.values()),
            DataType::UInt16 => Ints::U16(array.as_primitive_opt::<UInt16Type>()?.values()),
            DataType::UInt32 => Ints::U32(array.as_primitive_opt::<UInt32Type>()?.values()),
            DataType::UInt64 => Ints::U64(array.as_primitive_opt::<UInt64Type>()?.values()),
            _ => return None,
        })
    }

    /// The value of a row.
    #[inline]
    fn get(&self, row: usize) -> i128 {
        fn at<T: Copy + Into<i128> + Default>(values: &[T], row: usize) -> i128 {
            values.get(row).copied().unwrap_or_default().into()
        }
        match self {
            Ints::I8(v) => at(v, row),
            Ints::I16(v) => at(v, row),
            Ints::I32(v) => at(v, row),
            Ints::I64(v) => at(v, row),
            Ints::U8(v) => at(v, row),
            Ints::U16(v) => at(v, row),
            Ints::U32(v) => at(v, row),
            Ints::U64(v) => at(v, row),
        }
    }
}

/// String values.
enum Texts<'a> {
    /// `Utf8`.
    Utf8(&'a StringArray),
    /// `LargeUtf8`.
    Large(&'a LargeStringArray),
    /// `Utf8View`.
    View(&'a StringViewArray),
    /// A dictionary: each row's key, and the values.
    Dict(Vec<usize>, Box<Texts<'a>>),
}

impl<'a> Texts<'a> {
    /// The string values of an array, if it holds strings.
    fn of(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => Texts::Utf8(array.as_string_opt::<i32>()?),
            DataType::LargeUtf8 => Texts::Large(array.as_string_opt::<i64>()?),
            DataType::Utf8View => Texts::View(array.as_string_view_opt()?),
            DataType::Dictionary(_, _) => {
                let dict = array.as_any_dictionary_opt()?;
                let values = Texts::of(dict.values().as_ref())?;
                let keys = if dict.values().is_empty() {
                    vec![usize::MAX; dict.len()]
                } else {
                    dict.normalized_keys()
                };
                Texts::Dict(keys, Box::new(values))
            }
            _ => return None,
        })
    }

    /// The value of a row.
    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            Texts::Utf8(a) => (row < a.len()).then(|| a.value(row)),
            Texts::Large(a) => (row < a.len()).then(|| a.value(row)),
            Texts::View(a) => (row < a.len()).then(|| a.value(row)),
            Texts::Dict(keys, values) => values.get(*keys.get(row)?),
        }
    }
}

/// Byte string values.
enum Blobs<'a> {
    /// `Binary`.
    Binary(&'a BinaryArray),
    /// `LargeBinary`.
    Large(&'a LargeBinaryArray),
    /// `BinaryView`.
    View(&'a BinaryViewArray),
    /// `FixedSizeBinary`.
    Fixed(&'a FixedSizeBinaryArray),
}

impl<'a> Blobs<'a> {
    /// The byte values of an array, if it holds bytes.
    fn of(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Binary => Blobs::Binary(array.as_binary_opt::<i32>()?),
            DataType::LargeBinary => Blobs::Large(array.as_binary_opt::<i64>()?),
            DataType::BinaryView => Blobs::View(array.as_binary_view_opt()?),
            DataType::FixedSizeBinary(_) => Blobs::Fixed(array.as_fixed_size_binary_opt()?),
            _ => return None,
        })
    }

    /// The value of a row.
    fn get(&self, row: usize) -> Option<&'a [u8]> {
        match self {
            Blobs::Binary(a) => (row < a.len()).then(|| a.value(row)),
            Blobs::Large(a) => (row < a.len()).then(|| a.value(row)),
            Blobs::View(a) => (row < a.len()).then(|| a.value(row)),
            Blobs::Fixed(a) => (row < a.len()).then(|| a.value(row)),
        }
    }
}

/// Where one field's values come from, ready to write any row.
enum ValEnc<'a> {
    /// An integer field.
    Int(Ints<'a>, Scalar),
    /// A `float` field.
    Float(&'a [f32]),
    /// A `double` field from `Float64`.
    Double(&'a [f64]),
    /// A `double` field from `Float32`.
    DoubleFrom32(&'a [f32]),
    /// A `bool` field.
    Bool(&'a BooleanArray),
    /// A `string` field.
    Str(Texts<'a>),
    /// A `bytes` field, or a recursive message kept encoded.
    Bytes(Blobs<'a>),
    /// An enum field from names.
    EnumText(Texts<'a>, &'a EnumPlan, HashMap<&'a str, i32>),
    /// An enum field from numbers.
    EnumInt(Ints<'a>, &'a EnumPlan),
    /// A message field.
    Message(Box<MsgEnc<'a>>),
    /// A Timestamp: values in a unit.
    Timestamp(&'a [i64], TimeUnit),
    /// A Duration: values in a unit.
    Duration(&'a [i64], TimeUnit),
    /// A wrapper around a scalar.
    Wrapper(Box<ValEnc<'a>>),
    /// A well-known type from JSON text.
    Json(Texts<'a>, JsonKind),
}

/// One field, ready to write.
struct FieldEnc<'a> {
    /// Its plan.
    plan: &'a FieldPlan,
    /// Its values.
    shape: ShapeEnc<'a>,
}

/// A field's values by shape.
enum ShapeEnc<'a> {
    /// One value per row.
    Single {
        /// The values.
        val: ValEnc<'a>,
        /// Their validity.
        nulls: Option<NullBuffer>,
    },
    /// A list per row.
    List {
        /// Each row's start and end in the elements.
        offsets: Offsets<'a>,
        /// The lists' validity.
        nulls: Option<NullBuffer>,
        /// The elements.
        elem: ValEnc<'a>,
        /// The elements' validity.
        elem_nulls: Option<NullBuffer>,
    },
    /// A map per row.
    Map {
        /// Each row's entries.
        offsets: &'a [i32],
        /// The maps' validity.
        nulls: Option<NullBuffer>,
        /// The keys.
        keys: ValEnc<'a>,
        /// The values.
        values: ValEnc<'a>,
        /// The values' validity.
        value_nulls: Option<NullBuffer>,
    },
}

/// List offsets of either width.
enum Offsets<'a> {
    /// `List`.
    Small(&'a [i32]),
    /// `LargeList`.
    Large(&'a [i64]),
}

impl Offsets<'_> {
    /// The element range of a row.
    fn range(&self, row: usize) -> std::ops::Range<usize> {
        let (start, end) = match self {
            Offsets::Small(o) => (
                o.get(row).copied().unwrap_or(0) as usize,
                o.get(row + 1).copied().unwrap_or(0) as usize,
            ),
            Offsets::Large(o) => (
                o.get(row).copied().unwrap_or(0) as usize,
                o.get(row + 1).copied().unwrap_or(0) as usize,
            ),
        };
        start..end.max(start)
    }
}

/// A message's fields, ready to write.
struct MsgEnc<'a> {
    /// Its plan.
    plan: &'a MessagePlan,
    /// The fields that have columns, in field order.
    fields: Vec<FieldEnc<'a>>,
    /// For each `oneof`, the positions in `fields` of its cases.
    oneofs: Vec<(&'a str, Vec<usize>)>,
}

/// Whether a row is null.
#[inline]
fn is_null(nulls: &Option<NullBuffer>, row: usize) -> bool {
    nulls.as_ref().is_some_and(|n| n.is_null(row))
}

/// Binds the columns of a message (the batch, or a struct column's
/// children) to its fields.
fn bind_message<'a>(
    plan: &'a MessagePlan,
    columns: &[(&str, &'a ArrayRef)],
    path: &str,
) -> Result<MsgEnc<'a>, ProtoEncodeError> {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let mut by_name: HashMap<&str, &'a ArrayRef> = HashMap::with_capacity(columns.len());
    for (name, array) in columns {
        if !plan.fields.iter().any(|f| &*f.name == *name) {
            return Err(ProtoEncodeError::UnknownColumn {
                column: join(name),
                message: plan.full_name.clone(),
            });
        }
        by_name.insert(name, array);
    }
    let mut fields = Vec::new();
    let mut position = HashMap::new();
    for (index, field) in plan.fields.iter().enumerate() {
        let Some(array) = by_name.get(&*field.name) else {
            if matches!(field.shape, Shape::Single { required: true, .. }) {
                return Err(ProtoEncodeError::MissingRequired {
                    field: join(&field.name),
                    message: plan.full_name.clone(),
                });
            }
            continue;
        };
        let shape = bind_shape(field, array, &join(&field.name))?;
        position.insert(index, fields.len());
        fields.push(FieldEnc { plan: field, shape });
    }
    let oneofs = plan
        .oneofs
        .iter()
        .map(|(name, members)| {
            let present = members
                .iter()
                .filter_map(|m| position.get(m).copied())
                .collect();
            (name.as_str(), present)
        })
        .collect();
    Ok(MsgEnc {
        plan,
        fields,
        oneofs,
    })
}

/// The Protobuf type of a field, for messages.
fn proto_type(field: &FieldPlan) -> String {
    let value = value_type(&field.value);
    match field.shape {
        Shape::Single { .. } => value,
        Shape::List => format!("repeated {value}"),
        Shape::Map { key } => format!("map<{}, {value}>", key.proto_name()),
    }
}

/// The Protobuf type of a value, for messages.
fn value_type(value: &ValuePlan) -> String {
    match value {
        ValuePlan::Scalar(s) => s.proto_name().to_owned(),
        ValuePlan::Enum(e) => e.full_name.clone(),
        ValuePlan::Message(m) => m.full_name.clone(),
        ValuePlan::Timestamp => "google.protobuf.Timestamp".to_owned(),
        ValuePlan::Duration => "google.protobuf.Duration".to_owned(),
        ValuePlan::Wrapper(s) => format!("a wrapper of {}", s.proto_name()),
        ValuePlan::Json(JsonKind::Struct) => "google.protobuf.Struct".to_owned(),
        ValuePlan::Json(JsonKind::Value) => "google.protobuf.Value".to_owned(),
        ValuePlan::Json(JsonKind::List) => "google.protobuf.ListValue".to_owned(),
        ValuePlan::Json(JsonKind::Any) => "google.protobuf.Any".to_owned(),
        ValuePlan::Raw => "a message inside itself (bytes)".to_owned(),
    }
}

/// Binds a column to a field's shape.
fn bind_shape<'a>(
    field: &'a FieldPlan,
    array: &'a ArrayRef,
    path: &str,
) -> Result<ShapeEnc<'a>, ProtoEncodeError> {
    let incompatible = || ProtoEncodeError::Incompatible {
        column: path.to_owned(),
        data_type: format_type(array.data_type()),
        proto_type: proto_type(field),
    };
    match field.shape {
        Shape::Single { .. } => Ok(ShapeEnc::Single {
            val: bind_value(&field.value, array, path).map_err(|e| match e {
                Bind::Type => incompatible(),
                Bind::Other(e) => e,
            })?,
            nulls: array.logical_nulls(),
        }),
        Shape::List => {
            let (offsets, values) = if let Some(list) = array.as_list_opt::<i32>() {
                (Offsets::Small(list.value_offsets()), list.values())
            } else if let Some(list) = array.as_list_opt::<i64>() {
                (Offsets::Large(list.value_offsets()), list.values())
            } else {
                return Err(incompatible());
            };
            let elem =
                bind_value(&field.value, values, &format!("{path}[]")).map_err(|e| match e {
                    Bind::Type => incompatible(),
                    Bind::Other(e) => e,
                })?;
            Ok(ShapeEnc::List {
                offsets,
                nulls: array.logical_nulls(),
                elem,
                elem_nulls: values.logical_nulls(),
            })
        }
        Shape::Map { key } => {
            let map = array.as_map_opt().ok_or_else(incompatible)?;
            let keys = bind_scalar(key, map.keys()).ok_or_else(incompatible)?;
            let values =
                bind_value(&field.value, map.values(), &format!("{path}.value")).map_err(|e| {
                    match e {
                        Bind::Type => incompatible(),
                        Bind::Other(e) => e,
                    }
                })?;
            Ok(ShapeEnc::Map {
                offsets: map.value_offsets(),
                nulls: array.logical_nulls(),
                keys,
                values,
                value_nulls: map.values().logical_nulls(),
            })
        }
    }
}

/// Why a value could not be bound.
enum Bind {
    /// The column's type does not fit (the caller names both).
    Type,
    /// A nested problem, already described.
    Other(ProtoEncodeError),
}

/// Binds an array to a value plan.
fn bind_value<'a>(
    plan: &'a ValuePlan,
    array: &'a ArrayRef,
    path: &str,
) -> Result<ValEnc<'a>, Bind> {
    let dt = array.data_type();
    Ok(match plan {
        ValuePlan::Scalar(scalar) => bind_scalar(*scalar, array).ok_or(Bind::Type)?,
        ValuePlan::Enum(e) => {
            if let Some(texts) = Texts::of(array.as_ref()) {
                let by_name = e
                    .names
                    .iter()
                    .zip(&e.numbers)
                    .map(|(name, number)| (name.as_str(), *number))
                    .collect();
                ValEnc::EnumText(texts, e, by_name)
            } else if let Some(ints) = Ints::of(array.as_ref()) {
                ValEnc::EnumInt(ints, e)
            } else {
                return Err(Bind::Type);
            }
        }
        ValuePlan::Message(m) => {
            let structs = array.as_struct_opt().ok_or(Bind::Type)?;
            let DataType::Struct(fields) = dt else {
                return Err(Bind::Type);
            };
            let columns: Vec<(&str, &ArrayRef)> = fields
                .iter()
                .zip(structs.columns())
                .map(|(f, a)| (f.name().as_str(), a))
                .collect();
            ValEnc::Message(Box::new(
                bind_message(m, &columns, path).map_err(Bind::Other)?,
            ))
        }
        ValuePlan::Timestamp => {
            let DataType::Timestamp(unit, _) = dt else {
                return Err(Bind::Type);
            };
            let values = match unit {
                TimeUnit::Second => array
                    .as_primitive_opt::<TimestampSecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Millisecond => array
                    .as_primitive_opt::<TimestampMillisecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Microsecond => array
                    .as_primitive_opt::<TimestampMicrosecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Nanosecond => array
                    .as_primitive_opt::<TimestampNanosecondType>()
                    .map(|a| &a.values()[..]),
            }
            .ok_or(Bind::Type)?;
            ValEnc::Timestamp(values, *unit)
        }
        ValuePlan::Duration => {
            let DataType::Duration(unit) = dt else {
                return Err(Bind::Type);
            };
            let values = match unit {
                TimeUnit::Second => array
                    .as_primitive_opt::<DurationSecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Millisecond => array
                    .as_primitive_opt::<DurationMillisecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Microsecond => array
                    .as_primitive_opt::<DurationMicrosecondType>()
                    .map(|a| &a.values()[..]),
                TimeUnit::Nanosecond => array
                    .as_primitive_opt::<DurationNanosecondType>()
                    .map(|a| &a.values()[..]),
            }
            .ok_or(Bind::Type)?;
            ValEnc::Duration(values, *unit)
        }
        ValuePlan::Wrapper(scalar) => {
            ValEnc::Wrapper(Box::new(bind_scalar(*scalar, array).ok_or(Bind::Type)?))
        }
        ValuePlan::Json(kind) => ValEnc::Json(Texts::of(array.as_ref()).ok_or(Bind::Type)?, *kind),
        ValuePlan::Raw => ValEnc::Bytes(Blobs::of(array.as_ref()).ok_or(Bind::Type)?),
    })
}

/// Binds an array to a scalar field type.
fn bind_scalar(scalar: Scalar, array: &ArrayRef) -> Option<ValEnc<'_>> {
    Some(match scalar {
        Scalar::Float => ValEnc::Float(array.as_primitive_opt::<Float32Type>()?.values()),
        Scalar::Double => match array.data_type() {
            DataType::Float32 => {
                ValEnc::DoubleFrom32(array.as_primitive_opt::<Float32Type>()?.values())
            }
            _ => ValEnc::Double(array.as_primitive_opt::<Float64Type>()?.values()),
        },
        Scalar::Bool => ValEnc::Bool(array.as_boolean_opt()?),
        Scalar::String => ValEnc::Str(Texts::of(array.as_ref())?),
        Scalar::Bytes => ValEnc::Bytes(Blobs::of(array.as_ref())?),
        _ => ValEnc::Int(Ints::of(array.as_ref())?, scalar),
    })
}

/// Writes one row as a message's fields.
fn write_message(msg: &MsgEnc<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Fault> {
    for (name, members) in &msg.oneofs {
        let mut set = members.iter().filter_map(|&m| {
            let field = msg.fields.get(m)?;
            match &field.shape {
                ShapeEnc::Single { nulls, .. } if !is_null(nulls, row) => Some(&*field.plan.name),
                _ => None,
            }
        });
        if let (Some(first), Some(second)) = (set.next(), set.next()) {
            return Err(Fault::new(format!(
                "oneof `{name}` of `{}` has values in both `{first}` and `{second}`; set at most one",
                msg.plan.full_name
            )));
        }
    }
    for field in &msg.fields {
        write_field(field, row, out).map_err(|f| f.within(&field.plan.name))?;
    }
    Ok(())
}

/// Writes one row of a field.
fn write_field(field: &FieldEnc<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Fault> {
    let plan = field.plan;
    match &field.shape {
        ShapeEnc::Single { val, nulls } => {
            let Shape::Single { presence, required } = plan.shape else {
                return Err(Fault::new("the field's shape is inconsistent"));
            };
            if is_null(nulls, row) {
                if required {
                    return Err(Fault::new("the field is required but null"));
                }
                return Ok(());
            }
            if !presence && !required && is_default(val, row)? {
                return Ok(());
            }
            write_value(val, plan.number, plan.group, row, out)
        }
        ShapeEnc::List {
            offsets,
            nulls,
            elem,
            elem_nulls,
        } => {
            if is_null(nulls, row) {
                return Ok(());
            }
            let range = offsets.range(row);
            let start = range.start;
            for i in range.clone() {
                if is_null(elem_nulls, i) {
                    return Err(Fault::new(
                        "the element is null; a repeated field cannot hold nulls",
                    )
                    .at(i - start));
                }
            }
            if plan.packed && packable(elem) {
                if range.is_empty() {
                    return Ok(());
                }
                put_tag(out, plan.number, LEN);
                put_len_delimited(out, |out| {
                    for i in range.clone() {
                        write_bare(elem, i, out).map_err(|f| f.at(i - start))?;
                    }
                    Ok(())
                })
            } else {
                for i in range {
                    write_value(elem, plan.number, plan.group, i, out)
                        .map_err(|f| f.at(i - start))?;
                }
                Ok(())
            }
        }
        ShapeEnc::Map {
            offsets,
            nulls,
            keys,
            values,
            value_nulls,
        } => {
            if is_null(nulls, row) {
                return Ok(());
            }
            let start = offsets.get(row).copied().unwrap_or(0) as usize;
            let end = (offsets.get(row + 1).copied().unwrap_or(0) as usize).max(start);
            for i in start..end {
                if is_null(value_nulls, i) {
                    return Err(Fault::new(
                        "the map value is null; a Protobuf map cannot hold nulls",
                    )
                    .at(i - start));
                }
                put_tag(out, plan.number, LEN);
                put_len_delimited(out, |out| {
                    write_value(keys, 1, false, i, out).map_err(|f| f.within_name("key"))?;
                    write_value(values, 2, false, i, out).map_err(|f| f.within_name("value"))
                })
                .map_err(|f| f.at(i - start))?;
            }
            Ok(())
        }
    }
}

/// Whether values are written packed in a repeated field.
fn packable(val: &ValEnc<'_>) -> bool {
    matches!(
        val,
        ValEnc::Int(..)
            | ValEnc::Float(_)
            | ValEnc::Double(_)
            | ValEnc::DoubleFrom32(_)
            | ValEnc::Bool(_)
            | ValEnc::EnumText(..)
            | ValEnc::EnumInt(..)
    )
}

/// Whether a row holds its field type's default (which fields without
/// presence leave out).
fn is_default(val: &ValEnc<'_>, row: usize) -> Result<bool, Fault> {
    Ok(match val {
        ValEnc::Int(ints, _) => ints.get(row) == 0,
        ValEnc::Float(v) => v.get(row).is_some_and(|x| x.to_bits() == 0),
        ValEnc::Double(v) => v.get(row).is_some_and(|x| x.to_bits() == 0),
        ValEnc::DoubleFrom32(v) => v.get(row).is_some_and(|x| x.to_bits() == 0),
        ValEnc::Bool(b) => !b.value(row),
        ValEnc::Str(t) => t.get(row).is_some_and(str::is_empty),
        ValEnc::Bytes(b) => b.get(row).is_some_and(<[u8]>::is_empty),
        ValEnc::EnumText(..) | ValEnc::EnumInt(..) => enum_number(val, row)? == 0,
        _ => false,
    })
}

/// An integer's value for its field type, range-checked, as the varint or
/// fixed bits it is written as.
fn int_bits(value: i128, scalar: Scalar) -> Result<u64, Fault> {
    let fits = |lo: i128, hi: i128| {
        if (lo..=hi).contains(&value) {
            Ok(())
        } else {
            Err(Fault::new(format!(
                "{value} does not fit the field's type `{}`",
                scalar.proto_name()
            )))
        }
    };
    Ok(match scalar {
        Scalar::Int32 => {
            fits(i32::MIN.into(), i32::MAX.into())?;
            // Negative int32 values are written sign-extended to 64 bits.
            value as i64 as u64
        }
        Scalar::Sint32 => {
            fits(i32::MIN.into(), i32::MAX.into())?;
            zigzag32(value as i32)
        }
        Scalar::Sfixed32 => {
            fits(i32::MIN.into(), i32::MAX.into())?;
            u64::from(value as i32 as u32)
        }
        Scalar::Int64 | Scalar::Sfixed64 => {
            fits(i64::MIN.into(), i64::MAX.into())?;
            value as i64 as u64
        }
        Scalar::Sint64 => {
            fits(i64::MIN.into(), i64::MAX.into())?;
            zigzag64(value as i64)
        }
        Scalar::Uint32 | Scalar::Fixed32 => {
            fits(0, u32::MAX.into())?;
            value as u64
        }
        Scalar::Uint64 | Scalar::Fixed64 => {
            fits(0, u64::MAX.into())?;
            value as u64
        }
        _ => return Err(Fault::new("an integer was written to a non-integer field")),
    })
}

/// The number of an enum value.
fn enum_number(val: &ValEnc<'_>, row: usize) -> Result<i32, Fault> {
    match val {
        ValEnc::EnumText(texts, plan, by_name) => {
            let text = texts.get(row).unwrap_or_default();
            by_name
                .get(text)
                .copied()
                .or_else(|| text.parse::<i32>().ok())
                .ok_or_else(|| {
                    Fault::new(format!(
                        "`{text}` is not a value of enum `{}` (nor a number)",
                        plan.full_name
                    ))
                })
        }
        ValEnc::EnumInt(ints, plan) => {
            let value = ints.get(row);
            i32::try_from(value).map_err(|_| {
                Fault::new(format!(
                    "{value} does not fit enum `{}`, whose numbers are 32-bit",
                    plan.full_name
                ))
            })
        }
        _ => Err(Fault::new("a non-enum value was written as an enum")),
    }
}

/// Writes a packable value without its tag (inside a packed run).
fn write_bare(val: &ValEnc<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Fault> {
    match val {
        ValEnc::Int(ints, scalar) => {
            let bits = int_bits(ints.get(row), *scalar)?;
            match scalar.wire() {
                I32 => out.extend_from_slice(&(bits as u32).to_le_bytes()),
                I64 => out.extend_from_slice(&bits.to_le_bytes()),
                _ => put_varint(out, bits),
            }
        }
        ValEnc::Float(v) => {
            out.extend_from_slice(&v.get(row).copied().unwrap_or(0.0).to_le_bytes())
        }
        ValEnc::Double(v) => {
            out.extend_from_slice(&v.get(row).copied().unwrap_or(0.0).to_le_bytes())
        }
        ValEnc::DoubleFrom32(v) => {
            out.extend_from_slice(&f64::from(v.get(row).copied().unwrap_or(0.0)).to_le_bytes())
        }
        ValEnc::Bool(b) => out.push(u8::from(b.value(row))),
        ValEnc::EnumText(..) | ValEnc::EnumInt(..) => {
            put_varint(out, enum_number(val, row)? as i64 as u64);
        }
        _ => return Err(Fault::new("a non-scalar value was written packed")),
    }
    Ok(())
}

/// Writes one value with its tag.
fn write_value(
    val: &ValEnc<'_>,
    number: u32,
    group: bool,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), Fault> {
    match val {
        ValEnc::Int(_, scalar) => {
            put_tag(out, number, scalar.wire());
            write_bare(val, row, out)
        }
        ValEnc::Float(_) => {
            put_tag(out, number, I32);
            write_bare(val, row, out)
        }
        ValEnc::Double(_) | ValEnc::DoubleFrom32(_) => {
            put_tag(out, number, I64);
            write_bare(val, row, out)
        }
        ValEnc::Bool(_) | ValEnc::EnumText(..) | ValEnc::EnumInt(..) => {
            put_tag(out, number, VARINT);
            write_bare(val, row, out)
        }
        ValEnc::Str(texts) => {
            let text = texts.get(row).unwrap_or_default();
            put_tag(out, number, LEN);
            put_varint(out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
        ValEnc::Bytes(blobs) => {
            let bytes = blobs.get(row).unwrap_or_default();
            put_tag(out, number, LEN);
            put_varint(out, bytes.len() as u64);
            out.extend_from_slice(bytes);
            Ok(())
        }
        ValEnc::Message(msg) => {
            if group {
                put_tag(out, number, SGROUP);
                write_message(msg, row, out)?;
                put_tag(out, number, EGROUP);
                Ok(())
            } else {
                put_tag(out, number, LEN);
                put_len_delimited(out, |out| write_message(msg, row, out))
            }
        }
        ValEnc::Timestamp(values, unit) => {
            let value = values.get(row).copied().unwrap_or(0);
            let per_second = per_second(*unit);
            let seconds = value.div_euclid(per_second);
            let nanos = value.rem_euclid(per_second) * (1_000_000_000 / per_second);
            put_tag(out, number, LEN);
            put_len_delimited(out, |out| {
                put_seconds_nanos(out, seconds, nanos);
                Ok(())
            })
        }
        ValEnc::Duration(values, unit) => {
            let value = values.get(row).copied().unwrap_or(0);
            let per_second = per_second(*unit);
            // Protobuf durations carry the sign on both parts.
            let seconds = value / per_second;
            let nanos = (value % per_second) * (1_000_000_000 / per_second);
            put_tag(out, number, LEN);
            put_len_delimited(out, |out| {
                put_seconds_nanos(out, seconds, nanos);
                Ok(())
            })
        }
        ValEnc::Wrapper(inner) => {
            put_tag(out, number, LEN);
            put_len_delimited(out, |out| {
                if is_default(inner, row)? {
                    return Ok(());
                }
                write_value(inner, 1, false, row, out)
            })
        }
        ValEnc::Json(texts, kind) => {
            let text = texts.get(row).unwrap_or_default();
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Fault::new(format!("the column does not hold valid JSON: {e}")))?;
            put_tag(out, number, LEN);
            put_len_delimited(out, |out| write_json(&json, *kind, out))
        }
    }
}

/// A unit's count per second.
fn per_second(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    }
}

/// Writes the body of a Timestamp or Duration.
fn put_seconds_nanos(out: &mut Vec<u8>, seconds: i64, nanos: i64) {
    if seconds != 0 {
        put_tag(out, 1, VARINT);
        put_varint(out, seconds as u64);
    }
    if nanos != 0 {
        put_tag(out, 2, VARINT);
        put_varint(out, nanos as u64);
    }
}

/// Writes the body of a JSON well-known type.
fn write_json(json: &serde_json::Value, kind: JsonKind, out: &mut Vec<u8>) -> Result<(), Fault> {
    use serde_json::Value as J;
    match (kind, json) {
        (JsonKind::Value, _) => json_value_body(json, out),
        (JsonKind::Struct, J::Object(map)) => json_struct_body(map, out),
        (JsonKind::List, J::Array(items)) => json_list_body(items, out),
        (JsonKind::Any, J::Object(map)) => {
            let url = match map.get("@type") {
                Some(J::String(url)) => url.as_str(),
                None => "",
                Some(_) => return Err(Fault::new("the `@type` of an Any must be a string")),
            };
            let value = match map.get("value") {
                Some(J::String(value)) => base64::engine::general_purpose::STANDARD
                    .decode(value)
                    .map_err(|e| {
                    Fault::new(format!("the `value` of an Any is not base64: {e}"))
                })?,
                None => Vec::new(),
                Some(_) => return Err(Fault::new("the `value` of an Any must be a base64 string")),
            };
            if !url.is_empty() {
                put_tag(out, 1, LEN);
                put_varint(out, url.len() as u64);
                out.extend_from_slice(url.as_bytes());
            }
            if !value.is_empty() {
                put_tag(out, 2, LEN);
                put_varint(out, value.len() as u64);
                out.extend_from_slice(&value);
            }
            Ok(())
        }
        (JsonKind::Struct, _) => Err(Fault::new("a `google.protobuf.Struct` needs a JSON object")),
        (JsonKind::List, _) => Err(Fault::new(
            "a `google.protobuf.ListValue` needs a JSON array",
        )),
        (JsonKind::Any, _) => Err(Fault::new(
            "a `google.protobuf.Any` needs a JSON object with `@type` and `value`",
        )),
    }
}

/// Writes the body of a `google.protobuf.Value`.
fn json_value_body(json: &serde_json::Value, out: &mut Vec<u8>) -> Result<(), Fault> {
    use serde_json::Value as J;
    match json {
        J::Null => {
            put_tag(out, 1, VARINT);
            put_varint(out, 0);
        }
        J::Number(n) => {
            put_tag(out, 2, I64);
            out.extend_from_slice(&n.as_f64().unwrap_or(f64::NAN).to_le_bytes());
        }
        J::String(s) => {
            put_tag(out, 3, LEN);
            put_varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        J::Bool(b) => {
            put_tag(out, 4, VARINT);
            put_varint(out, u64::from(*b));
        }
        J::Object(map) => {
            put_tag(out, 5, LEN);
            put_len_delimited(out, |out| json_struct_body(map, out))?;
        }
        J::Array(items) => {
            put_tag(out, 6, LEN);
            put_len_delimited(out, |out| json_list_body(items, out))?;
        }
    }
    Ok(())
}

/// Writes the body of a `google.protobuf.Struct`.
fn json_struct_body(
    map: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<u8>,
) -> Result<(), Fault> {
    for (key, value) in map {
        put_tag(out, 1, LEN);
        put_len_delimited(out, |out| {
            put_tag(out, 1, LEN);
            put_varint(out, key.len() as u64);
            out.extend_from_slice(key.as_bytes());
            put_tag(out, 2, LEN);
            put_len_delimited(out, |out| json_value_body(value, out))
        })?;
    }
    Ok(())
}

/// Writes the body of a `google.protobuf.ListValue`.
fn json_list_body(items: &[serde_json::Value], out: &mut Vec<u8>) -> Result<(), Fault> {
    for item in items {
        put_tag(out, 1, LEN);
        put_len_delimited(out, |out| json_value_body(item, out))?;
    }
    Ok(())
}
