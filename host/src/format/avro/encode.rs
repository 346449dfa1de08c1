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
    Decimal128Type, Decimal256Type, IntervalMonthDayNanoType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, RecordBatch, UnionArray};
use arrow_buffer::{NullBuffer, i256};
use arrow_schema::{DataType, Field, IntervalUnit, TimeUnit};

use super::json;
use super::mapping::branch_name;
use super::sources::{
    Bins, Decimals, Floats, Ints, Offsets, Scale, Strs, Symbols, bins, floats, ints, strs,
};
use super::write::write;
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
pub(super) struct Node<'a> {
    /// The array's nulls (logical, so dictionaries and unions count).
    pub(super) nulls: Option<NullBuffer>,
    /// For a `["null", T]`-like union: the branch index of `null` and of
    /// the value. `None` when nulls are not allowed.
    pub(super) nullable: Option<(i64, i64)>,
    /// The value writer.
    pub(super) enc: Enc<'a>,
}

/// A value writer bound to an array.
pub(super) enum Enc<'a> {
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
pub(super) fn index_i64(index: usize) -> i64 {
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
