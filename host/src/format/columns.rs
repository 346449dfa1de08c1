//! Column builders the JSON decoder appends to: plain vectors plus a
//! validity bitmap, turned into Arrow arrays without copying.
//!
//! Arrow's own builders cannot take back what was appended. The decoder
//! appends a record's values as it walks the record, and when the record
//! turns out to be bad half-way through it has to undo that; every builder
//! here can be truncated back to a row count, nested ones recursively.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, ListArray, PrimitiveArray,
    StringArray, StructArray,
};
use arrow_buffer::{
    ArrowNativeType, BooleanBufferBuilder, Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer,
    ScalarBuffer,
};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Fields, TimeUnit};

use super::schema::{format_type, is_json_field};

/// A column: its name and nullability (for messages and checks) and the
/// builder its values go to.
pub(crate) struct Column {
    /// The field name, used in error paths.
    pub(crate) name: Arc<str>,
    /// Whether nulls are allowed.
    pub(crate) nullable: bool,
    /// Where values go.
    pub(crate) builder: Builder,
}

/// The builder of one column, by the kind of values it takes.
pub(crate) enum Builder {
    /// `bool`.
    Bool(BoolBuilder),
    /// `int8`.
    Int8(Prim<i8>),
    /// `int16`.
    Int16(Prim<i16>),
    /// `int32`.
    Int32(Prim<i32>),
    /// `int64`.
    Int64(Prim<i64>),
    /// `uint8`.
    UInt8(Prim<u8>),
    /// `uint16`.
    UInt16(Prim<u16>),
    /// `uint32`.
    UInt32(Prim<u32>),
    /// `uint64`.
    UInt64(Prim<u64>),
    /// `float32`.
    Float32(Prim<f32>),
    /// `float64`.
    Float64(Prim<f64>),
    /// `utf8`.
    Utf8(Bytes),
    /// `binary`, from base64 text.
    Binary(Bytes),
    /// `json`: the JSON text of any value.
    Json(Bytes),
    /// `date32`: days since the epoch.
    Date32(Prim<i32>),
    /// `timestamp`: a count of the unit since the epoch.
    Timestamp(Prim<i64>, TimeUnit, Option<Arc<str>>),
    /// `decimal(P, S)`.
    Decimal(Prim<i128>, u8, i8),
    /// `struct`.
    Struct(StructBuilder),
    /// `list`.
    List(ListBuilder),
}

impl Column {
    /// A column for `field`, or the type the decoder cannot read.
    pub(crate) fn new(field: &Field) -> Result<Self, String> {
        let builder = match field.data_type() {
            DataType::Utf8 if is_json_field(field) => Builder::Json(Bytes::default()),
            DataType::Boolean => Builder::Bool(BoolBuilder::default()),
            DataType::Int8 => Builder::Int8(Prim::default()),
            DataType::Int16 => Builder::Int16(Prim::default()),
            DataType::Int32 => Builder::Int32(Prim::default()),
            DataType::Int64 => Builder::Int64(Prim::default()),
            DataType::UInt8 => Builder::UInt8(Prim::default()),
            DataType::UInt16 => Builder::UInt16(Prim::default()),
            DataType::UInt32 => Builder::UInt32(Prim::default()),
            DataType::UInt64 => Builder::UInt64(Prim::default()),
            DataType::Float32 => Builder::Float32(Prim::default()),
            DataType::Float64 => Builder::Float64(Prim::default()),
            DataType::Utf8 => Builder::Utf8(Bytes::default()),
            DataType::Binary => Builder::Binary(Bytes::default()),
            DataType::Date32 => Builder::Date32(Prim::default()),
            DataType::Timestamp(unit, tz) => Builder::Timestamp(Prim::default(), *unit, tz.clone()),
            DataType::Decimal128(p, s) => Builder::Decimal(Prim::default(), *p, *s),
            DataType::Struct(fields) => Builder::Struct(StructBuilder::new(fields)?),
            DataType::List(item) => Builder::List(ListBuilder::new(item.clone())?),
            other => {
                return Err(format!(
                    "column `{}` has type `{}`, which the JSON decoder does not read",
                    field.name(),
                    format_type(other)
                ));
            }
        };
        Ok(Column {
            name: Arc::from(field.name().as_str()),
            nullable: field.is_nullable(),
            builder,
        })
    }
}

impl Builder {
    /// The number of rows appended.
    pub(crate) fn len(&self) -> usize {
        match self {
            Builder::Bool(b) => b.nulls.len(),
            Builder::Int8(b) => b.len(),
            Builder::Int16(b) => b.len(),
            Builder::Int32(b) | Builder::Date32(b) => b.len(),
            Builder::Int64(b) | Builder::Timestamp(b, ..) => b.len(),
            Builder::UInt8(b) => b.len(),
            Builder::UInt16(b) => b.len(),
            Builder::UInt32(b) => b.len(),
            Builder::UInt64(b) => b.len(),
            Builder::Float32(b) => b.len(),
            Builder::Float64(b) => b.len(),
            Builder::Decimal(b, ..) => b.len(),
            Builder::Utf8(b) | Builder::Binary(b) | Builder::Json(b) => b.len(),
            Builder::Struct(b) => b.len,
            Builder::List(b) => b.len(),
        }
    }

    /// Appends a null, in this column and (for nested ones) every child.
    pub(crate) fn push_null(&mut self) {
        match self {
            Builder::Bool(b) => {
                b.values.append(false);
                b.nulls.append_null();
            }
            Builder::Int8(b) => b.push_null(),
            Builder::Int16(b) => b.push_null(),
            Builder::Int32(b) | Builder::Date32(b) => b.push_null(),
            Builder::Int64(b) | Builder::Timestamp(b, ..) => b.push_null(),
            Builder::UInt8(b) => b.push_null(),
            Builder::UInt16(b) => b.push_null(),
            Builder::UInt32(b) => b.push_null(),
            Builder::UInt64(b) => b.push_null(),
            Builder::Float32(b) => b.push_null(),
            Builder::Float64(b) => b.push_null(),
            Builder::Decimal(b, ..) => b.push_null(),
            Builder::Utf8(b) | Builder::Binary(b) | Builder::Json(b) => b.push_null(),
            Builder::Struct(b) => b.push_null(),
            Builder::List(b) => b.push_null(),
        }
    }

    /// Drops every row from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        match self {
            Builder::Bool(b) => {
                b.values.truncate(len);
                b.nulls.truncate(len);
            }
            Builder::Int8(b) => b.truncate(len),
            Builder::Int16(b) => b.truncate(len),
            Builder::Int32(b) | Builder::Date32(b) => b.truncate(len),
            Builder::Int64(b) | Builder::Timestamp(b, ..) => b.truncate(len),
            Builder::UInt8(b) => b.truncate(len),
            Builder::UInt16(b) => b.truncate(len),
            Builder::UInt32(b) => b.truncate(len),
            Builder::UInt64(b) => b.truncate(len),
            Builder::Float32(b) => b.truncate(len),
            Builder::Float64(b) => b.truncate(len),
            Builder::Decimal(b, ..) => b.truncate(len),
            Builder::Utf8(b) | Builder::Binary(b) | Builder::Json(b) => b.truncate(len),
            Builder::Struct(b) => b.truncate(len),
            Builder::List(b) => b.truncate(len),
        }
    }

    /// Turns what was appended into an array and starts over empty.
    pub(crate) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Builder::Bool(b) => {
                let values = b.values.finish();
                Arc::new(BooleanArray::new(values, b.nulls.finish()))
            }
            Builder::Int8(b) => b.finish::<Int8Type>(),
            Builder::Int16(b) => b.finish::<Int16Type>(),
            Builder::Int32(b) => b.finish::<Int32Type>(),
            Builder::Int64(b) => b.finish::<Int64Type>(),
            Builder::UInt8(b) => b.finish::<UInt8Type>(),
            Builder::UInt16(b) => b.finish::<UInt16Type>(),
            Builder::UInt32(b) => b.finish::<UInt32Type>(),
            Builder::UInt64(b) => b.finish::<UInt64Type>(),
            Builder::Float32(b) => b.finish::<Float32Type>(),
            Builder::Float64(b) => b.finish::<Float64Type>(),
            Builder::Date32(b) => b.finish::<Date32Type>(),
            Builder::Timestamp(b, unit, tz) => {
                let (values, nulls) = b.take();
                match unit {
                    TimeUnit::Second => timestamp::<TimestampSecondType>(values, nulls, tz),
                    TimeUnit::Millisecond => {
                        timestamp::<TimestampMillisecondType>(values, nulls, tz)
                    }
                    TimeUnit::Microsecond => {
                        timestamp::<TimestampMicrosecondType>(values, nulls, tz)
                    }
                    TimeUnit::Nanosecond => timestamp::<TimestampNanosecondType>(values, nulls, tz),
                }
            }
            Builder::Decimal(b, precision, scale) => {
                let (values, nulls) = b.take();
                Arc::new(
                    PrimitiveArray::<Decimal128Type>::new(values, nulls)
                        .with_precision_and_scale(*precision, *scale)?,
                )
            }
            Builder::Utf8(b) | Builder::Json(b) => {
                let (offsets, data, nulls) = b.take()?;
                Arc::new(StringArray::try_new(offsets, data, nulls)?)
            }
            Builder::Binary(b) => {
                let (offsets, data, nulls) = b.take()?;
                Arc::new(BinaryArray::try_new(offsets, data, nulls)?)
            }
            Builder::Struct(b) => Arc::new(b.finish()?),
            Builder::List(b) => b.finish()?,
        })
    }
}

/// A timestamp array of unit `T`.
fn timestamp<T>(
    values: ScalarBuffer<i64>,
    nulls: Option<NullBuffer>,
    tz: &Option<Arc<str>>,
) -> ArrayRef
where
    T: arrow_array::types::ArrowTimestampType,
{
    Arc::new(PrimitiveArray::<T>::new(values, nulls).with_timezone_opt(tz.clone()))
}

/// Values of a fixed-width type and their validity.
pub(crate) struct Prim<T> {
    /// One value per row; zero under a null.
    values: Vec<T>,
    /// Validity; materialised only once a null arrives.
    nulls: NullBufferBuilder,
}

impl<T> Default for Prim<T> {
    fn default() -> Self {
        Prim {
            values: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl<T: ArrowNativeType> Prim<T> {
    /// Appends a value.
    #[inline]
    pub(crate) fn push(&mut self, value: T) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    /// Appends a null.
    fn push_null(&mut self) {
        self.values.push(T::default());
        self.nulls.append_null();
    }

    /// The number of rows.
    fn len(&self) -> usize {
        self.values.len()
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.nulls.truncate(len);
    }

    /// Takes the values and validity, leaving room for as many again.
    fn take(&mut self) -> (ScalarBuffer<T>, Option<NullBuffer>) {
        let capacity = self.values.len();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(capacity));
        (ScalarBuffer::from(values), self.nulls.finish())
    }

    /// Builds the array of Arrow type `A`.
    fn finish<A: ArrowPrimitiveType<Native = T>>(&mut self) -> ArrayRef {
        let (values, nulls) = self.take();
        Arc::new(PrimitiveArray::<A>::new(values, nulls))
    }
}

/// Booleans and their validity.
pub(crate) struct BoolBuilder {
    /// One bit per row.
    values: BooleanBufferBuilder,
    /// Validity.
    nulls: NullBufferBuilder,
}

impl Default for BoolBuilder {
    fn default() -> Self {
        BoolBuilder {
            values: BooleanBufferBuilder::new(0),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl BoolBuilder {
    /// Appends a value.
    #[inline]
    pub(crate) fn push(&mut self, value: bool) {
        self.values.append(value);
        self.nulls.append_non_null();
    }
}

/// Variable-length values (strings, bytes, JSON text): offsets, data and
/// validity.
pub(crate) struct Bytes {
    /// `len + 1` offsets into `data`, starting at 0.
    offsets: Vec<i32>,
    /// The values back to back.
    data: Vec<u8>,
    /// Validity.
    nulls: NullBufferBuilder,
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes {
            offsets: vec![0],
            data: Vec::new(),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

/// The message when a column outgrows 32-bit offsets.
pub(crate) const TOO_LARGE: &str =
    "the batch's text in this column is over 2 GiB; use smaller batches";

impl Bytes {
    /// Appends a value.
    #[inline]
    pub(crate) fn push(&mut self, value: &[u8]) -> Result<(), &'static str> {
        self.data.extend_from_slice(value);
        self.commit()
    }

    /// The data buffer, to write a value into directly; [`Bytes::commit`]
    /// ends the value.
    pub(crate) fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Ends a value written through [`Bytes::data_mut`].
    #[inline]
    pub(crate) fn commit(&mut self) -> Result<(), &'static str> {
        let end = i32::try_from(self.data.len()).map_err(|_| TOO_LARGE)?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Appends a null.
    fn push_null(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
        self.nulls.append_null();
    }

    /// The number of rows.
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        let end = self.offsets.last().copied().unwrap_or(0);
        self.data.truncate(usize::try_from(end).unwrap_or(0));
        self.nulls.truncate(len);
    }

    /// Takes offsets, data and validity, leaving room for as many again.
    fn take(&mut self) -> Result<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>), ArrowError> {
        let mut offsets = Vec::with_capacity(self.offsets.len());
        offsets.push(0);
        let offsets = std::mem::replace(&mut self.offsets, offsets);
        let capacity = self.data.capacity();
        let data = std::mem::replace(&mut self.data, Vec::with_capacity(capacity));
        Ok((
            offset_buffer(offsets)?,
            Buffer::from_vec(data),
            self.nulls.finish(),
        ))
    }
}

/// Checks offsets before handing them to Arrow, which would panic on bad
/// ones.
fn offset_buffer(offsets: Vec<i32>) -> Result<OffsetBuffer<i32>, ArrowError> {
    let valid = offsets.first().is_some_and(|first| *first >= 0)
        && offsets.windows(2).all(|pair| pair[0] <= pair[1]);
    if !valid {
        return Err(ArrowError::InvalidArgumentError(
            "decoder built invalid offsets".to_owned(),
        ));
    }
    // SAFETY: just checked: not empty, starting at a non-negative offset,
    // never decreasing, which is all `OffsetBuffer` requires.
    Ok(unsafe { OffsetBuffer::new_unchecked(ScalarBuffer::from(offsets)) })
}

/// A struct column: child columns, a lookup by name, and validity.
pub(crate) struct StructBuilder {
    /// The Arrow fields, for the finished array.
    fields: Fields,
    /// One column per field, in field order.
    pub(crate) columns: Vec<Column>,
    /// Field name to position in `columns`.
    pub(crate) index: HashMap<Arc<str>, usize>,
    /// Validity.
    nulls: NullBufferBuilder,
    /// The number of rows.
    pub(crate) len: usize,
}

impl StructBuilder {
    /// A builder for a struct (or a whole record) of `fields`.
    pub(crate) fn new(fields: &Fields) -> Result<Self, String> {
        let columns = fields
            .iter()
            .map(|f| Column::new(f))
            .collect::<Result<Vec<_>, _>>()?;
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        Ok(StructBuilder {
            fields: fields.clone(),
            columns,
            index,
            nulls: NullBufferBuilder::new(0),
            len: 0,
        })
    }

    /// Marks the row being appended as present; its children are filled.
    pub(crate) fn push_valid(&mut self) {
        self.nulls.append_non_null();
        self.len += 1;
    }

    /// Appends a null row, with nulls in every child.
    fn push_null(&mut self) {
        for column in &mut self.columns {
            column.builder.push_null();
        }
        self.nulls.append_null();
        self.len += 1;
    }

    /// Drops every row from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        for column in &mut self.columns {
            column.builder.truncate(len);
        }
        self.nulls.truncate(len);
        self.len = self.len.min(len);
    }

    /// The finished child arrays, leaving the builder empty.
    pub(crate) fn finish_columns(&mut self) -> Result<Vec<ArrayRef>, ArrowError> {
        self.len = 0;
        self.nulls.finish();
        self.columns
            .iter_mut()
            .map(|c| c.builder.finish())
            .collect()
    }

    /// The finished struct array, leaving the builder empty.
    fn finish(&mut self) -> Result<StructArray, ArrowError> {
        let len = self.len;
        let nulls = self.nulls.finish();
        let children = self
            .columns
            .iter_mut()
            .map(|c| c.builder.finish())
            .collect::<Result<_, _>>()?;
        self.len = 0;
        StructArray::try_new_with_length(self.fields.clone(), children, nulls, len)
    }
}

/// A list column: offsets into one child column, and validity.
pub(crate) struct ListBuilder {
    /// The element field, for the finished array.
    field: FieldRef,
    /// `len + 1` offsets into the child, starting at 0.
    offsets: Vec<i32>,
    /// Validity.
    nulls: NullBufferBuilder,
    /// The elements of every list, back to back.
    pub(crate) child: Box<Column>,
}

impl ListBuilder {
    /// A builder for lists of `field`.
    fn new(field: FieldRef) -> Result<Self, String> {
        let child = Box::new(Column::new(&field)?);
        Ok(ListBuilder {
            field,
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            child,
        })
    }

    /// The number of rows.
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Ends a list whose elements were appended to the child.
    pub(crate) fn commit(&mut self) -> Result<(), &'static str> {
        let end = i32::try_from(self.child.builder.len()).map_err(|_| TOO_LARGE)?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Appends a null list.
    fn push_null(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
        self.nulls.append_null();
    }

    /// Drops every row from `len` on, and the elements they held.
    fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        let end = self.offsets.last().copied().unwrap_or(0);
        self.child
            .builder
            .truncate(usize::try_from(end).unwrap_or(0));
        self.nulls.truncate(len);
    }

    /// The finished list array, leaving the builder empty.
    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let nulls = self.nulls.finish();
        let values = self.child.builder.finish()?;
        Ok(Arc::new(ListArray::try_new(
            self.field.clone(),
            offset_buffer(offsets)?,
            values,
            nulls,
        )?))
    }
}
