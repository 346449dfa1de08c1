//! Arrow rows to Avro datums: [`AvroEncoder`].
//!
//! Each row of a batch's value columns (columns named `__…` are record
//! metadata and left out) becomes one datum of the encoder's schema,
//! written into the caller's buffer with the end offset of every row, so a
//! Kafka sink can slice one message per row (and put the wire-format
//! header in front).
//!
//! Columns match the schema's fields by name. Each Avro type takes the
//! Arrow types it can hold exactly: `int` any integer up to 32 bits (and
//! `uint32`, `int64` values in range), `long` any integer (`uint64` values
//! in range), `float` `float32` (and `float64` values that are exact),
//! `double` any float, `string` any string type or a dictionary of
//! strings, `bytes` any binary type, `fixed` binary values of its size,
//! `enum` strings or string dictionaries holding its symbols, `record` a
//! struct, `array` any list, `map` a map with string keys, a union any of
//! its branches' types (a dense or sparse union by branch name), the
//! logical types their Arrow types from the table in [`super`] (timestamps
//! of any unit convert when exact). A `json` column holds the JSON of the
//! recursive part of a value (see [`super`]). A field with no column takes
//! its default.
//!
//! The types are checked once per batch before anything is written; a
//! value that cannot be represented (a null where the schema has no
//! `null`, a number out of range, a symbol not in the enum) fails only its
//! row, reported with the column's path.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, RecordSchema, UuidSchema};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int8Type, Int16Type,
    Int32Type, Int64Type, IntervalMonthDayNanoType, Time32MillisecondType, Time64MicrosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, LargeStringArray, RecordBatch,
    StringArray, StringViewArray, UnionArray,
};
use arrow_buffer::{IntervalMonthDayNano, NullBuffer, i256};
use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit};

use super::decode::{Fault, bytes, is_uuid};
use super::json::{self, write_long};
use super::mapping::branch_name;
use super::{AvroSchema, Names, resolve};
use crate::format::RowError;
use crate::format::schema::is_json_field;
use crate::record;

/// Why a batch cannot be encoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvroEncodeError {
    /// A column's Arrow type cannot be written as its field's Avro type.
    #[error("column `{column}`: {message}")]
    Unsupported {
        /// The column (with the path inside it, for nested fields).
        column: String,
        /// What does not fit and how to fix it.
        message: String,
    },
    /// A field of the schema has no column and no default.
    #[error(
        "the Avro schema's field `{field}` has no column in the batch and no default; \
         add the column in a transform, or a default to the schema"
    )]
    Missing {
        /// The field (with the path, for nested fields).
        field: String,
    },
    /// A column is not in the schema.
    #[error(
        "column `{column}` is not in the Avro schema `{schema}`; drop it in a transform \
         or add it to the schema"
    )]
    Unknown {
        /// The column (with the path, for nested fields).
        column: String,
        /// The record it was looked for in.
        schema: String,
    },
}

/// Writes batches as Avro datums of one schema, one per row.
#[derive(Debug, Clone)]
pub struct AvroEncoder {
    /// The schema every row is written with.
    schema: AvroSchema,
}

impl AvroEncoder {
    /// An encoder writing datums of `schema`.
    pub fn new(schema: &AvroSchema) -> Self {
        AvroEncoder {
            schema: schema.clone(),
        }
    }

    /// The schema rows are written with.
    pub fn schema(&self) -> &AvroSchema {
        &self.schema
    }

    /// Appends every row of `batch` to `out` and pushes, for each row, the
    /// offset in `out` where it ends. Row `i` spans from the end of row
    /// `i - 1` (or `out.len()` at the call, for the first) to `ends[i]`.
    /// A row that cannot be represented is left empty (its span has no
    /// bytes) and returned as an error naming the column.
    ///
    /// # Errors
    ///
    /// An [`AvroEncodeError`] when a column's type does not fit its field,
    /// a field has no column and no default, or a column is not in the
    /// schema; found before anything is written, leaving `out` and `ends`
    /// as they were.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<Vec<RowError>, AvroEncodeError> {
        let names = &self.schema.names;
        let root = bind_root(&self.schema.root, names, batch)?;
        let mut errors = Vec::new();
        ends.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            let start = out.len();
            if let Err(fault) = write(&root, row, out) {
                out.truncate(start);
                errors.push(RowError {
                    row: u32::try_from(row).unwrap_or(u32::MAX),
                    message: fault.message(),
                });
            }
            ends.push(out.len());
        }
        Ok(errors)
    }
}

/// How one Avro position is written from one Arrow array.
struct Node<'a> {
    /// The array's nulls (logical, so dictionaries and unions count).
    nulls: Option<NullBuffer>,
    /// For a `["null", T]`-like union: the branch index of `null` and of
    /// the value. `None` when nulls are not allowed.
    nullable: Option<(i64, i64)>,
    /// The value writer.
    enc: Enc<'a>,
}

/// A value writer bound to an array.
enum Enc<'a> {
    /// `null`: nothing.
    Null,
    /// `boolean`.
    Bool(&'a BooleanArray),
    /// `int` from integers, scaled.
    Int(Ints<'a>),
    /// `long` from integers, scaled (timestamps of another unit).
    Long(Ints<'a>, Scale),
    /// `float` from floats.
    Float(Floats<'a>),
    /// `double` from floats.
    Double(Floats<'a>),
    /// `string` (or `bytes`) from strings.
    Str(Strs<'a>),
    /// `string` checked to be a UUID.
    UuidText(Strs<'a>),
    /// `string` UUID from 16 bytes.
    UuidFromBytes(&'a FixedSizeBinaryArray),
    /// `fixed(16)` or `bytes` UUID from its text.
    UuidToBytes(Strs<'a>, bool),
    /// `bytes` from binaries.
    Bytes(Bins<'a>),
    /// `fixed(n)` from binaries of size n.
    Fixed(usize, Bins<'a>),
    /// `enum` from strings: each string's symbol index.
    Enum(Symbols<'a>),
    /// A decimal: the unscaled integers, `None` for `bytes` or the fixed
    /// size, and the largest magnitude allowed.
    Decimal(Decimals<'a>, Option<usize>, i256),
    /// `duration` from intervals.
    Duration(&'a arrow_array::PrimitiveArray<IntervalMonthDayNanoType>),
    /// A record from a struct's children (or defaults).
    Record(Vec<(Arc<str>, Node<'a>)>),
    /// An array from a list.
    Array(Offsets<'a>, Box<Node<'a>>),
    /// A map from a map array: offsets, keys, values.
    Map(&'a [i32], Strs<'a>, Box<Node<'a>>),
    /// A union of several branches from an Arrow union: by type id, the
    /// Avro branch index and the child (`None` for type ids with no
    /// child).
    Union(&'a UnionArray, Vec<Option<(i64, Node<'a>)>>),
    /// A union from a plain array: always the branch `index`.
    Branch(i64, Box<Node<'a>>),
    /// A value from its JSON text, for a `json` column (a null row is
    /// JSON `null`).
    Json(Strs<'a>, Option<NullBuffer>, &'a Schema, &'a Names),
    /// A default: constant bytes.
    Default(Box<[u8]>),
}

/// Integer sources.
enum Ints<'a> {
    /// `int8`.
    I8(&'a [i8]),
    /// `int16`.
    I16(&'a [i16]),
    /// `int32`, `date32`, `time32`.
    I32(&'a [i32]),
    /// `int64`, `time64`, timestamps.
    I64(&'a [i64]),
    /// `uint8`.
    U8(&'a [u8]),
    /// `uint16`.
    U16(&'a [u16]),
    /// `uint32`.
    U32(&'a [u32]),
    /// `uint64`.
    U64(&'a [u64]),
}

impl Ints<'_> {
    /// The value at `row`, if it fits `i64`.
    #[inline]
    fn get(&self, row: usize) -> Option<i64> {
        match self {
            Ints::I8(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::I16(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::I32(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::I64(v) => v.get(row).copied(),
            Ints::U8(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::U16(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::U32(v) => v.get(row).map(|&x| i64::from(x)),
            Ints::U64(v) => v.get(row).and_then(|&x| i64::try_from(x).ok()),
        }
    }
}

/// A unit conversion: multiply, then divide (exactly).
#[derive(Clone, Copy)]
struct Scale {
    /// Multiplier.
    mul: i64,
    /// Divisor.
    div: i64,
}

impl Scale {
    /// No conversion.
    const ONE: Scale = Scale { mul: 1, div: 1 };

    /// Converts, if exact and in range.
    #[inline]
    fn apply(self, value: i64) -> Option<i64> {
        if self.mul == 1 && self.div == 1 {
            return Some(value);
        }
        let scaled = value.checked_mul(self.mul)?;
        (scaled % self.div == 0).then_some(scaled / self.div)
    }
}

/// Float sources.
enum Floats<'a> {
    /// `float32`.
    F32(&'a [f32]),
    /// `float64`.
    F64(&'a [f64]),
}

/// String sources.
enum Strs<'a> {
    /// `utf8`.
    Utf8(&'a StringArray),
    /// `large_utf8`.
    Large(&'a LargeStringArray),
    /// `utf8_view`.
    View(&'a StringViewArray),
    /// A dictionary of strings: each row's key, and the values.
    Dict(Vec<usize>, Box<Strs<'a>>),
}

impl Strs<'_> {
    /// The string at `row` (empty for a null or a bad key).
    #[inline]
    fn get(&self, row: usize) -> &str {
        match self {
            Strs::Utf8(a) if row < a.len() => a.value(row),
            Strs::Large(a) if row < a.len() => a.value(row),
            Strs::View(a) if row < a.len() => a.value(row),
            Strs::Dict(keys, values) => keys.get(row).map_or("", |&k| values.get(k)),
            _ => "",
        }
    }
}

/// Binary sources.
enum Bins<'a> {
    /// `binary`.
    Binary(&'a arrow_array::BinaryArray),
    /// `large_binary`.
    Large(&'a arrow_array::LargeBinaryArray),
    /// `binary_view`.
    View(&'a arrow_array::BinaryViewArray),
    /// `fixed_size_binary`.
    Fixed(&'a FixedSizeBinaryArray),
}

impl Bins<'_> {
    /// The bytes at `row`.
    #[inline]
    fn get(&self, row: usize) -> &[u8] {
        match self {
            Bins::Binary(a) if row < a.len() => a.value(row),
            Bins::Large(a) if row < a.len() => a.value(row),
            Bins::View(a) if row < a.len() => a.value(row),
            Bins::Fixed(a) if row < a.len() => a.value(row),
            _ => &[],
        }
    }
}

/// Enum sources: strings looked up by symbol, or a dictionary whose values
/// were looked up once.
enum Symbols<'a> {
    /// Strings and the symbol table.
    Text(Strs<'a>, HashMap<&'a str, i64>, &'a str),
    /// Dictionary keys, and each dictionary value's symbol index.
    Dict(Vec<usize>, Vec<Option<i64>>, Strs<'a>, &'a str),
}

/// Decimal sources.
enum Decimals<'a> {
    /// `decimal128`.
    D128(&'a [i128]),
    /// `decimal256`.
    D256(&'a [i256]),
}

/// List offsets.
enum Offsets<'a> {
    /// `list`.
    I32(&'a [i32]),
    /// `large_list`.
    I64(&'a [i64]),
    /// `fixed_size_list` of this size.
    Fixed(usize),
}

impl Offsets<'_> {
    /// The item range of row `row`.
    #[inline]
    fn range(&self, row: usize) -> (usize, usize) {
        let to = |v: i64| usize::try_from(v).unwrap_or(0);
        match self {
            Offsets::I32(o) => (
                o.get(row).map_or(0, |&v| to(i64::from(v))),
                o.get(row + 1).map_or(0, |&v| to(i64::from(v))),
            ),
            Offsets::I64(o) => (
                o.get(row).map_or(0, |&v| to(v)),
                o.get(row + 1).map_or(0, |&v| to(v)),
            ),
            Offsets::Fixed(size) => (row * size, (row + 1) * size),
        }
    }
}

/// Binds the top level: a record's fields to the batch's columns, or one
/// value column.
fn bind_root<'a>(
    schema: &'a Schema,
    names: &'a Names,
    batch: &'a RecordBatch,
) -> Result<Node<'a>, AvroEncodeError> {
    let schema_ref = batch.schema_ref();
    let columns: Vec<(&'a Field, &'a ArrayRef)> = schema_ref
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(field, _)| !record::is_metadata(field.name()))
        .map(|(field, array)| (field.as_ref(), array))
        .collect();
    match resolve(names, schema) {
        Schema::Record(record) => {
            let enc = bind_record(record, names, &columns, "")?;
            Ok(Node {
                nulls: None,
                nullable: None,
                enc,
            })
        }
        other => match columns.as_slice() {
            [(field, array)] => bind(other, names, field, array, field.name()),
            _ => Err(AvroEncodeError::Unsupported {
                column: String::new(),
                message: format!(
                    "the Avro schema is a `{}`, so the batch needs exactly one value column, \
                     not {}",
                    branch_name(names, other),
                    columns.len()
                ),
            }),
        },
    }
}

/// Binds a record's fields to columns by name.
fn bind_record<'a>(
    record: &'a RecordSchema,
    names: &'a Names,
    columns: &[(&'a Field, &'a ArrayRef)],
    path: &str,
) -> Result<Enc<'a>, AvroEncodeError> {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (field, _) in columns {
        if !record.lookup.contains_key(field.name()) {
            return Err(AvroEncodeError::Unknown {
                column: join(field.name()),
                schema: record.name.fullname(None),
            });
        }
    }
    let mut fields = Vec::with_capacity(record.fields.len());
    for rf in &record.fields {
        let node = match columns.iter().find(|(f, _)| f.name() == &rf.name) {
            Some((field, array)) => bind(&rf.schema, names, field, array, &join(&rf.name))?,
            None => {
                let Some(default) = &rf.default else {
                    return Err(AvroEncodeError::Missing {
                        field: join(&rf.name),
                    });
                };
                let mut bytes = Vec::new();
                json::encode(&rf.schema, names, default, &mut bytes, 0).map_err(|message| {
                    AvroEncodeError::Unsupported {
                        column: join(&rf.name),
                        message: format!("the field's default does not fit its type: {message}"),
                    }
                })?;
                Node {
                    nulls: None,
                    nullable: None,
                    enc: Enc::Default(bytes.into()),
                }
            }
        };
        fields.push((Arc::from(rf.name.as_str()), node));
    }
    Ok(Enc::Record(fields))
}

/// Binds an Avro position (union or not) to an array.
fn bind<'a>(
    schema: &'a Schema,
    names: &'a Names,
    field: &'a Field,
    array: &'a ArrayRef,
    path: &str,
) -> Result<Node<'a>, AvroEncodeError> {
    let schema = resolve(names, schema);
    let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
    if is_json_field(field) {
        let strs = strs(array).ok_or_else(|| mismatch(path, field))?;
        return Ok(Node {
            nulls: None,
            nullable: None,
            enc: Enc::Json(strs, nulls, schema, names),
        });
    }
    let Schema::Union(union) = schema else {
        let enc = bind_value(schema, names, field, array, path)?;
        return Ok(Node {
            nulls,
            nullable: None,
            enc,
        });
    };
    let variants: Vec<&Schema> = union.variants().iter().map(|v| resolve(names, v)).collect();
    let null_index = variants
        .iter()
        .position(|v| matches!(v, Schema::Null))
        .map(index_i64);
    if let DataType::Union(fields, mode) = field.data_type() {
        let Some(ua) = array.as_union_opt() else {
            return Err(mismatch(path, field));
        };
        let mut children = Vec::new();
        let mut taken = vec![false; variants.len()];
        for (type_id, child) in fields.iter() {
            let slot = usize::try_from(type_id).map_err(|_| mismatch(path, field))?;
            if children.len() <= slot {
                children.resize_with(slot + 1, || None);
            }
            let child_path = format!("{path}<{}>", child.name());
            let child_array = ua.child(type_id);
            // The branch the child is named after, else the first free one
            // its type fits.
            let named = variants
                .iter()
                .position(|v| branch_name(names, v) == *child.name());
            let bound = match named {
                Some(branch) => Some((
                    branch,
                    bind(variants[branch], names, child, child_array, &child_path)?,
                )),
                None => variants.iter().enumerate().find_map(|(branch, v)| {
                    if taken[branch] {
                        return None;
                    }
                    bind(v, names, child, child_array, &child_path)
                        .ok()
                        .map(|node| (branch, node))
                }),
            };
            let Some((branch, node)) = bound else {
                return Err(AvroEncodeError::Unsupported {
                    column: path.to_owned(),
                    message: format!(
                        "the union's child `{}` fits no branch of the Avro union",
                        child.name()
                    ),
                });
            };
            taken[branch] = true;
            children[slot] = Some((index_i64(branch), node));
        }
        // Dense and sparse unions differ only in `value_offset`.
        let _ = mode;
        return Ok(Node {
            nulls: None,
            nullable: None,
            enc: Enc::Union(ua, children),
        });
    }
    // A plain array into a union: the first non-null branch it binds to;
    // nulls to the `null` branch.
    let mut first_error = None;
    for (index, variant) in variants.iter().enumerate() {
        if matches!(variant, Schema::Null) {
            if matches!(field.data_type(), DataType::Null) {
                return Ok(Node {
                    nulls: None,
                    nullable: None,
                    enc: Enc::Branch(index_i64(index), Box::new(null_node())),
                });
            }
            continue;
        }
        match bind_value(variant, names, field, array, path) {
            Ok(enc) => {
                return Ok(Node {
                    nulls,
                    nullable: null_index.map(|n| (n, index_i64(index))),
                    enc: if null_index.is_some() {
                        enc
                    } else {
                        Enc::Branch(
                            index_i64(index),
                            Box::new(Node {
                                nulls: None,
                                nullable: None,
                                enc,
                            }),
                        )
                    },
                });
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| mismatch(path, field)))
}

/// A node writing nothing.
fn null_node<'a>() -> Node<'a> {
    Node {
        nulls: None,
        nullable: None,
        enc: Enc::Null,
    }
}

/// A branch index as written.
fn index_i64(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// The error for an array whose type does not fit.
fn mismatch(path: &str, field: &Field) -> AvroEncodeError {
    AvroEncodeError::Unsupported {
        column: path.to_owned(),
        message: format!(
            "Arrow type `{}` does not fit the Avro type",
            crate::format::format_type(field.data_type())
        ),
    }
}

/// Binds a non-union Avro type to an array.
fn bind_value<'a>(
    schema: &'a Schema,
    names: &'a Names,
    field: &'a Field,
    array: &'a ArrayRef,
    path: &str,
) -> Result<Enc<'a>, AvroEncodeError> {
    let unsupported = || AvroEncodeError::Unsupported {
        column: path.to_owned(),
        message: format!(
            "Arrow type `{}` cannot be written as the Avro type `{}`; cast it in a transform",
            crate::format::format_type(field.data_type()),
            describe(names, schema)
        ),
    };
    let data_type = field.data_type();
    Ok(match schema {
        Schema::Null if matches!(data_type, DataType::Null) => Enc::Null,
        Schema::Boolean => Enc::Bool(array.as_boolean_opt().ok_or_else(unsupported)?),
        Schema::Int => {
            let ints = ints(array).ok_or_else(unsupported)?;
            if matches!(
                data_type,
                DataType::Date32
                    | DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Timestamp(..)
            ) {
                return Err(unsupported());
            }
            Enc::Int(ints)
        }
        Schema::Date => match data_type {
            DataType::Date32 => Enc::Int(ints(array).ok_or_else(unsupported)?),
            _ => return Err(unsupported()),
        },
        Schema::TimeMillis => match data_type {
            DataType::Time32(TimeUnit::Millisecond) => {
                Enc::Int(ints(array).ok_or_else(unsupported)?)
            }
            _ => return Err(unsupported()),
        },
        Schema::TimeMicros => match data_type {
            DataType::Time64(TimeUnit::Microsecond) => {
                Enc::Long(ints(array).ok_or_else(unsupported)?, Scale::ONE)
            }
            _ => return Err(unsupported()),
        },
        Schema::Long => {
            if matches!(
                data_type,
                DataType::Date32
                    | DataType::Time32(_)
                    | DataType::Time64(_)
                    | DataType::Timestamp(..)
            ) {
                return Err(unsupported());
            }
            Enc::Long(ints(array).ok_or_else(unsupported)?, Scale::ONE)
        }
        Schema::TimestampMillis | Schema::LocalTimestampMillis => {
            timestamp(array, data_type, TimeUnit::Millisecond).ok_or_else(unsupported)?
        }
        Schema::TimestampMicros | Schema::LocalTimestampMicros => {
            timestamp(array, data_type, TimeUnit::Microsecond).ok_or_else(unsupported)?
        }
        Schema::TimestampNanos | Schema::LocalTimestampNanos => {
            timestamp(array, data_type, TimeUnit::Nanosecond).ok_or_else(unsupported)?
        }
        Schema::Float => Enc::Float(floats(array).ok_or_else(unsupported)?),
        Schema::Double => Enc::Double(floats(array).ok_or_else(unsupported)?),
        Schema::String => Enc::Str(strs(array).ok_or_else(unsupported)?),
        Schema::Bytes | Schema::BigDecimal => match bins(array) {
            Some(bins) => Enc::Bytes(bins),
            None => Enc::Str(strs(array).ok_or_else(unsupported)?),
        },
        Schema::Uuid(UuidSchema::String) => {
            if let Some(strs) = strs(array) {
                Enc::UuidText(strs)
            } else {
                match array.as_fixed_size_binary_opt() {
                    Some(fixed) if fixed.value_length() == 16 => Enc::UuidFromBytes(fixed),
                    _ => return Err(unsupported()),
                }
            }
        }
        Schema::Uuid(UuidSchema::Fixed(_)) | Schema::Uuid(UuidSchema::Bytes) => {
            let as_bytes = matches!(schema, Schema::Uuid(UuidSchema::Bytes));
            if let Some(strs) = strs(array) {
                Enc::UuidToBytes(strs, as_bytes)
            } else {
                match array.as_fixed_size_binary_opt() {
                    Some(fixed) if fixed.value_length() == 16 && as_bytes => {
                        Enc::Bytes(Bins::Fixed(fixed))
                    }
                    Some(fixed) if fixed.value_length() == 16 => Enc::Fixed(16, Bins::Fixed(fixed)),
                    _ => return Err(unsupported()),
                }
            }
        }
        Schema::Fixed(fixed) => {
            let bins = bins(array).ok_or_else(unsupported)?;
            if let DataType::FixedSizeBinary(size) = data_type
                && usize::try_from(*size).ok() != Some(fixed.size)
            {
                return Err(AvroEncodeError::Unsupported {
                    column: path.to_owned(),
                    message: format!(
                        "fixed_size_binary({size}) does not fit the Avro fixed `{}` of {} bytes",
                        fixed.name.fullname(None),
                        fixed.size
                    ),
                });
            }
            Enc::Fixed(fixed.size, bins)
        }
        Schema::Duration(_) => match data_type {
            DataType::Interval(IntervalUnit::MonthDayNano) => Enc::Duration(
                array
                    .as_primitive_opt::<IntervalMonthDayNanoType>()
                    .ok_or_else(unsupported)?,
            ),
            _ => return Err(unsupported()),
        },
        Schema::Decimal(decimal) => decimal_enc(decimal, array, data_type, path, &unsupported)?,
        Schema::Enum(e) => {
            let symbols: HashMap<&str, i64> = e
                .symbols
                .iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), index_i64(i)))
                .collect();
            let name = e.name.name();
            if let Some(dict) = array.as_any_dictionary_opt() {
                let values = strs(dict.values()).ok_or_else(unsupported)?;
                let lookup = (0..dict.values().len())
                    .map(|i| symbols.get(values.get(i)).copied())
                    .collect();
                Enc::Enum(Symbols::Dict(dict.normalized_keys(), lookup, values, name))
            } else {
                Enc::Enum(Symbols::Text(
                    strs(array).ok_or_else(unsupported)?,
                    symbols,
                    name,
                ))
            }
        }
        Schema::Record(record) => {
            let strukt = array.as_struct_opt().ok_or_else(unsupported)?;
            let DataType::Struct(fields) = data_type else {
                return Err(unsupported());
            };
            let columns: Vec<(&Field, &ArrayRef)> = fields
                .iter()
                .map(|f| f.as_ref())
                .zip(strukt.columns())
                .collect();
            bind_record(record, names, &columns, path)?
        }
        Schema::Array(a) => {
            let item_path = format!("{path}[]");
            if let Some(list) = array.as_list_opt::<i32>() {
                let DataType::List(item) = data_type else {
                    return Err(unsupported());
                };
                let node = bind(&a.items, names, item, list.values(), &item_path)?;
                Enc::Array(Offsets::I32(list.value_offsets()), Box::new(node))
            } else if let Some(list) = array.as_list_opt::<i64>() {
                let DataType::LargeList(item) = data_type else {
                    return Err(unsupported());
                };
                let node = bind(&a.items, names, item, list.values(), &item_path)?;
                Enc::Array(Offsets::I64(list.value_offsets()), Box::new(node))
            } else if let Some(list) = array.as_fixed_size_list_opt() {
                let DataType::FixedSizeList(item, size) = data_type else {
                    return Err(unsupported());
                };
                let size = usize::try_from(*size).map_err(|_| unsupported())?;
                let node = bind(&a.items, names, item, list.values(), &item_path)?;
                Enc::Array(Offsets::Fixed(size), Box::new(node))
            } else {
                return Err(unsupported());
            }
        }
        Schema::Map(m) => {
            let map = array.as_map_opt().ok_or_else(unsupported)?;
            let DataType::Map(entries, _) = data_type else {
                return Err(unsupported());
            };
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(unsupported());
            };
            let value_field = kv.get(1).ok_or_else(unsupported)?;
            let keys = strs(map.keys()).ok_or_else(unsupported)?;
            let node = bind(
                &m.types,
                names,
                value_field,
                map.values(),
                &format!("{path}[]"),
            )?;
            Enc::Map(map.value_offsets(), keys, Box::new(node))
        }
        _ => return Err(unsupported()),
    })
}

/// The Avro type for messages.
fn describe(names: &Names, schema: &Schema) -> String {
    match schema {
        Schema::Date => "date".to_owned(),
        Schema::TimeMillis => "time-millis".to_owned(),
        Schema::TimeMicros => "time-micros".to_owned(),
        Schema::TimestampMillis => "timestamp-millis".to_owned(),
        Schema::TimestampMicros => "timestamp-micros".to_owned(),
        Schema::TimestampNanos => "timestamp-nanos".to_owned(),
        Schema::LocalTimestampMillis => "local-timestamp-millis".to_owned(),
        Schema::LocalTimestampMicros => "local-timestamp-micros".to_owned(),
        Schema::LocalTimestampNanos => "local-timestamp-nanos".to_owned(),
        Schema::Decimal(d) => format!("decimal({}, {})", d.precision, d.scale),
        Schema::Duration(_) => "duration".to_owned(),
        Schema::Uuid(_) => "uuid".to_owned(),
        other => branch_name(names, other),
    }
}

/// Integer sources of an array.
fn ints(array: &ArrayRef) -> Option<Ints<'_>> {
    Some(match array.data_type() {
        DataType::Int8 => Ints::I8(array.as_primitive_opt::<Int8Type>()?.values()),
        DataType::Int16 => Ints::I16(array.as_primitive_opt::<Int16Type>()?.values()),
        DataType::Int32 => Ints::I32(array.as_primitive_opt::<Int32Type>()?.values()),
        DataType::Int64 => Ints::I64(array.as_primitive_opt::<Int64Type>()?.values()),
        DataType::UInt8 => Ints::U8(array.as_primitive_opt::<UInt8Type>()?.values()),
        DataType::UInt16 => Ints::U16(array.as_primitive_opt::<UInt16Type>()?.values()),
        DataType::UInt32 => Ints::U32(array.as_primitive_opt::<UInt32Type>()?.values()),
        DataType::UInt64 => Ints::U64(array.as_primitive_opt::<UInt64Type>()?.values()),
        DataType::Date32 => Ints::I32(array.as_primitive_opt::<Date32Type>()?.values()),
        DataType::Time32(TimeUnit::Millisecond) => {
            Ints::I32(array.as_primitive_opt::<Time32MillisecondType>()?.values())
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            Ints::I64(array.as_primitive_opt::<Time64MicrosecondType>()?.values())
        }
        _ => return None,
    })
}

/// A timestamp writer in `unit` for a timestamp array of any unit.
fn timestamp<'a>(array: &'a ArrayRef, data_type: &DataType, unit: TimeUnit) -> Option<Enc<'a>> {
    let DataType::Timestamp(from, _) = data_type else {
        return None;
    };
    let values = match from {
        TimeUnit::Second => array.as_primitive_opt::<TimestampSecondType>()?.values(),
        TimeUnit::Millisecond => array
            .as_primitive_opt::<TimestampMillisecondType>()?
            .values(),
        TimeUnit::Microsecond => array
            .as_primitive_opt::<TimestampMicrosecondType>()?
            .values(),
        TimeUnit::Nanosecond => array
            .as_primitive_opt::<TimestampNanosecondType>()?
            .values(),
    };
    let per_second = |u: &TimeUnit| match u {
        TimeUnit::Second => 1i64,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let (f, t) = (per_second(from), per_second(&unit));
    let scale = if t >= f {
        Scale { mul: t / f, div: 1 }
    } else {
        Scale { mul: 1, div: f / t }
    };
    Some(Enc::Long(Ints::I64(values), scale))
}

/// Float sources of an array.
fn floats(array: &ArrayRef) -> Option<Floats<'_>> {
    Some(match array.data_type() {
        DataType::Float32 => Floats::F32(array.as_primitive_opt::<Float32Type>()?.values()),
        DataType::Float64 => Floats::F64(array.as_primitive_opt::<Float64Type>()?.values()),
        _ => return None,
    })
}

/// String sources of an array.
fn strs(array: &ArrayRef) -> Option<Strs<'_>> {
    Some(match array.data_type() {
        DataType::Utf8 => Strs::Utf8(array.as_string_opt::<i32>()?),
        DataType::LargeUtf8 => Strs::Large(array.as_string_opt::<i64>()?),
        DataType::Utf8View => Strs::View(array.as_string_view_opt()?),
        DataType::Dictionary(_, value)
            if matches!(
                **value,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let dict = array.as_any_dictionary_opt()?;
            Strs::Dict(dict.normalized_keys(), Box::new(strs(dict.values())?))
        }
        _ => return None,
    })
}

/// Binary sources of an array.
fn bins(array: &ArrayRef) -> Option<Bins<'_>> {
    Some(match array.data_type() {
        DataType::Binary => Bins::Binary(array.as_binary_opt::<i32>()?),
        DataType::LargeBinary => Bins::Large(array.as_binary_opt::<i64>()?),
        DataType::BinaryView => Bins::View(array.as_binary_view_opt()?),
        DataType::FixedSizeBinary(_) => Bins::Fixed(array.as_fixed_size_binary_opt()?),
        _ => return None,
    })
}

/// A decimal writer.
fn decimal_enc<'a>(
    decimal: &DecimalSchema,
    array: &'a ArrayRef,
    data_type: &DataType,
    path: &str,
    unsupported: &dyn Fn() -> AvroEncodeError,
) -> Result<Enc<'a>, AvroEncodeError> {
    let (source, precision, scale) = match data_type {
        DataType::Decimal128(p, s) => (
            Decimals::D128(
                array
                    .as_primitive_opt::<Decimal128Type>()
                    .ok_or_else(unsupported)?
                    .values(),
            ),
            *p,
            *s,
        ),
        DataType::Decimal256(p, s) => (
            Decimals::D256(
                array
                    .as_primitive_opt::<Decimal256Type>()
                    .ok_or_else(unsupported)?
                    .values(),
            ),
            *p,
            *s,
        ),
        _ => return Err(unsupported()),
    };
    if i64::from(scale) != i64::try_from(decimal.scale).unwrap_or(-1) {
        return Err(AvroEncodeError::Unsupported {
            column: path.to_owned(),
            message: format!(
                "decimal scale {scale} differs from the Avro decimal({}, {}); cast it to scale {}",
                decimal.precision, decimal.scale, decimal.scale
            ),
        });
    }
    let exponent = u32::try_from(decimal.precision).unwrap_or(u32::MAX);
    let max = if usize::from(precision) <= decimal.precision {
        i256::MAX
    } else {
        i256::from_i128(10)
            .checked_pow(exponent)
            .map_or(i256::MAX, |p| p.wrapping_sub(i256::ONE))
    };
    let fixed = match &decimal.inner {
        InnerDecimalSchema::Bytes => None,
        InnerDecimalSchema::Fixed(f) => Some(f.size),
    };
    Ok(Enc::Decimal(source, fixed, max))
}

/// Writes one row of a node.
fn write(node: &Node<'_>, row: usize, out: &mut Vec<u8>) -> Result<(), Box<Fault>> {
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

/// The canonical text of a 16-byte UUID.
fn uuid_text(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(36);
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(char::from(HEX[usize::from(b >> 4)]));
        text.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    text
}

/// The 16 bytes of a UUID's canonical text.
fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    if !is_uuid(text.as_bytes()) {
        return None;
    }
    let digits: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'-')
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => c - b'A' + 10,
        })
        .collect();
    let mut bytes = [0u8; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = (digits[2 * i] << 4) | digits[2 * i + 1];
    }
    Some(bytes)
}
