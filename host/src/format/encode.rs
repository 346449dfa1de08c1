//! Arrow rows to JSON objects: [`JsonEncoder`].
//!
//! Each row becomes one compact JSON object of the batch's value columns
//! (columns named `__…` are record metadata and left out), written into the
//! caller's buffer, with the end offset of every row recorded so a Kafka
//! sink can slice one message per row and a file sink can write lines.
//!
//! # Output
//!
//! | Arrow | JSON |
//! |---|---|
//! | null (any type) | `null` (the key is written, never omitted) |
//! | bool, integers | `true`/`false`, numbers |
//! | floats | shortest round-trip numbers; NaN and ±infinity as `null` |
//! | utf8, large_utf8, utf8_view | strings (quotes, backslashes, control characters escaped; other Unicode as is) |
//! | binary, large_binary, binary_view, fixed_size_binary | base64 strings (standard alphabet, padded) |
//! | date32, date64 | `"YYYY-MM-DD"` |
//! | timestamp | RFC 3339 in UTC with the unit's digits, `"2024-05-01T12:30:00.123Z"`; years outside 0–9999 get a sign and more digits |
//! | decimal128, decimal256 | exact decimal text in a string, `"12.30"`: most JSON readers (simd-json included) read numbers as doubles, which would lose digits |
//! | `json` (`sabot.json` extension) | the stored JSON text as is; text that is not valid JSON is written as a string so the output stays valid |
//! | struct | objects |
//! | list, large_list | arrays |
//! | dictionary | its values |
//! | null type | `null` |
//!
//! Other types (maps, unions, durations, intervals, times, …) are rejected
//! when a schema is first seen, naming the column and its type.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float16Type,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BinaryViewArray, DictionaryArray, FixedSizeBinaryArray,
    GenericBinaryArray, GenericListArray, GenericStringArray, OffsetSizeTrait, RecordBatch,
    StringViewArray,
};
use arrow_buffer::{ArrowNativeType, NullBuffer, OffsetBuffer, ScalarBuffer, i256};
use arrow_schema::{DataType, Field, Fields, SchemaRef, TimeUnit};
use base64::Engine as _;

use super::schema::{format_type, is_json_field};
use super::text;
use crate::record;

/// Why a batch could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A column's type has no JSON form here.
    #[error(
        "column `{column}` has type `{data_type}`, which the JSON encoder does not write; \
         cast it in a transform to a type the schema reference lists"
    )]
    Unsupported {
        /// The column (with the path inside it, for nested fields).
        column: String,
        /// Its type, in the schema grammar.
        data_type: String,
    },
    /// An array does not match its declared type (a malformed batch).
    #[error("column `{column}` does not hold the `{data_type}` values its schema declares")]
    Mismatch {
        /// The column.
        column: String,
        /// The declared type.
        data_type: String,
    },
}

/// For each value column of a schema, its index and its `"name":` key text.
type Keys = Vec<(usize, Vec<u8>)>;

/// Writes batches as JSON objects, one per row.
///
/// It remembers the last schema it checked, so a stream of batches with one
/// schema is checked once.
#[derive(Debug, Default)]
pub struct JsonEncoder {
    /// The schema last checked, with the pre-escaped `"name":` keys of its
    /// value columns.
    checked: Option<(SchemaRef, Keys)>,
    /// Whether each row is followed by a newline.
    newline: bool,
}

impl JsonEncoder {
    /// An encoder writing rows back to back.
    pub fn new() -> Self {
        JsonEncoder::default()
    }

    /// Follows every row with `\n` (counted in the row's span), for
    /// newline-delimited files.
    pub fn newline_delimited(mut self, newline: bool) -> Self {
        self.newline = newline;
        self
    }

    /// Appends every row of `batch` to `out` and pushes, for each row, the
    /// offset in `out` where it ends. Row `i` spans from the end of row
    /// `i - 1` (or `out.len()` at the call, for the first) to `ends[i]`.
    ///
    /// # Errors
    ///
    /// [`EncodeError::Unsupported`] for a column type without a JSON form,
    /// found before anything is written; [`EncodeError::Mismatch`] for an
    /// array that is not of its field's type. On error `out` and `ends` are
    /// left as they were.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        out: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Result<(), EncodeError> {
        let schema = batch.schema();
        let keys = match &self.checked {
            Some((checked, keys)) if Arc::ptr_eq(checked, &schema) || **checked == *schema => keys,
            _ => {
                let keys = check_schema(&schema)?;
                &self.checked.insert((schema.clone(), keys)).1
            }
        };
        let mut columns = Vec::with_capacity(keys.len());
        for (index, key) in keys {
            let field = schema.field(*index);
            let array = batch.column(*index);
            columns.push((key.as_slice(), Cell::new(array, field, field.name())?));
        }
        out.reserve(batch.num_rows() * (16 + 16 * columns.len()));
        ends.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            out.push(b'{');
            for (key, cell) in &columns {
                out.extend_from_slice(key);
                cell.write(row, out);
            }
            out.push(b'}');
            if self.newline {
                out.push(b'\n');
            }
            ends.push(out.len());
        }
        Ok(())
    }
}

/// Checks every value column of `schema` and returns, for each, its index
/// and its key text (`"name":`, with a leading comma after the first).
fn check_schema(schema: &SchemaRef) -> Result<Keys, EncodeError> {
    let mut keys = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        if record::is_metadata(field.name()) {
            continue;
        }
        check_type(field, field.name())?;
        let mut key = Vec::new();
        if !keys.is_empty() {
            key.push(b',');
        }
        text::push_json_string(&mut key, field.name());
        key.push(b':');
        keys.push((index, key));
    }
    Ok(keys)
}

/// Checks that a field's type (and every type inside it) can be written.
fn check_type(field: &Field, path: &str) -> Result<(), EncodeError> {
    let unsupported = || EncodeError::Unsupported {
        column: path.to_owned(),
        data_type: format_type(field.data_type()),
    };
    match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if is_json_field(field) => Ok(()),
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_)
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Ok(()),
        DataType::Struct(fields) => fields
            .iter()
            .try_for_each(|f| check_type(f, &format!("{path}.{}", f.name()))),
        DataType::List(item) | DataType::LargeList(item) => check_type(item, &format!("{path}[]")),
        DataType::Dictionary(key, value) if key.is_dictionary_key_type() => {
            let inner = Field::new(field.name(), (**value).clone(), true)
                .with_metadata(field.metadata().clone());
            check_type(&inner, path).map_err(|_| unsupported())
        }
        _ => Err(unsupported()),
    }
}

/// One column of one batch, ready to write any of its rows.
enum Cell {
    /// Always `null`.
    Null,
    /// Booleans.
    Bool(arrow_array::BooleanArray),
    /// Signed integers, widened.
    Int(Ints),
    /// Unsigned integers, widened.
    UInt(UInts),
    /// 16-bit floats.
    F16(arrow_array::Float16Array),
    /// 32-bit floats.
    F32(ScalarBuffer<f32>, Option<NullBuffer>),
    /// 64-bit floats.
    F64(ScalarBuffer<f64>, Option<NullBuffer>),
    /// Strings.
    Utf8(GenericStringArray<i32>),
    /// Large strings.
    LargeUtf8(GenericStringArray<i64>),
    /// String views.
    Utf8View(StringViewArray),
    /// JSON text, written raw.
    Json(Box<Cell>),
    /// Bytes.
    Binary(GenericBinaryArray<i32>),
    /// Large bytes.
    LargeBinary(GenericBinaryArray<i64>),
    /// Byte views.
    BinaryView(BinaryViewArray),
    /// Fixed-size bytes.
    FixedBinary(FixedSizeBinaryArray),
    /// Days since the epoch.
    Date32(ScalarBuffer<i32>, Option<NullBuffer>),
    /// Milliseconds since the epoch, written as a date.
    Date64(ScalarBuffer<i64>, Option<NullBuffer>),
    /// A count of a unit since the epoch.
    Timestamp(ScalarBuffer<i64>, Option<NullBuffer>, TimeUnit),
    /// Decimal128 with its scale.
    Decimal128(ScalarBuffer<i128>, Option<NullBuffer>, i8),
    /// Decimal256 with its scale.
    Decimal256(ScalarBuffer<i256>, Option<NullBuffer>, i8),
    /// Structs: keys and children.
    Struct(Option<NullBuffer>, Vec<(Vec<u8>, Cell)>),
    /// Lists.
    List(OffsetBuffer<i32>, Option<NullBuffer>, Box<Cell>),
    /// Large lists.
    LargeList(OffsetBuffer<i64>, Option<NullBuffer>, Box<Cell>),
}

/// Signed integer values of any width.
enum Ints {
    /// 8-bit.
    I8(ScalarBuffer<i8>, Option<NullBuffer>),
    /// 16-bit.
    I16(ScalarBuffer<i16>, Option<NullBuffer>),
    /// 32-bit.
    I32(ScalarBuffer<i32>, Option<NullBuffer>),
    /// 64-bit.
    I64(ScalarBuffer<i64>, Option<NullBuffer>),
}

/// Unsigned integer values of any width.
enum UInts {
    /// 8-bit.
    U8(ScalarBuffer<u8>, Option<NullBuffer>),
    /// 16-bit.
    U16(ScalarBuffer<u16>, Option<NullBuffer>),
    /// 32-bit.
    U32(ScalarBuffer<u32>, Option<NullBuffer>),
    /// 64-bit.
    U64(ScalarBuffer<u64>, Option<NullBuffer>),
}

/// The values and validity of a primitive array of type `T`, or `None`
/// when the array is not one.
fn primitive<T: ArrowPrimitiveType>(
    array: &ArrayRef,
) -> Option<(ScalarBuffer<T::Native>, Option<NullBuffer>)> {
    let array = array.as_primitive_opt::<T>()?;
    Some((array.values().clone(), array.nulls().cloned()))
}

/// Whether row `row` is null under `nulls`.
#[inline]
fn is_null(nulls: &Option<NullBuffer>, row: usize) -> bool {
    nulls.as_ref().is_some_and(|n| n.is_null(row))
}

impl Cell {
    /// Prepares `array` (of `field`, at `path`) for writing.
    fn new(array: &ArrayRef, field: &Field, path: &str) -> Result<Cell, EncodeError> {
        let mismatch = || EncodeError::Mismatch {
            column: path.to_owned(),
            data_type: format_type(field.data_type()),
        };
        if array.data_type() != field.data_type() {
            return Err(mismatch());
        }
        let cell = match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View if is_json_field(field) => {
                let plain = Field::new(field.name(), field.data_type().clone(), true);
                Some(Cell::Json(Box::new(Cell::new(array, &plain, path)?)))
            }
            DataType::Null => Some(Cell::Null),
            DataType::Boolean => array.as_boolean_opt().cloned().map(Cell::Bool),
            DataType::Int8 => primitive::<Int8Type>(array).map(|(v, n)| Cell::Int(Ints::I8(v, n))),
            DataType::Int16 => {
                primitive::<Int16Type>(array).map(|(v, n)| Cell::Int(Ints::I16(v, n)))
            }
            DataType::Int32 => {
                primitive::<Int32Type>(array).map(|(v, n)| Cell::Int(Ints::I32(v, n)))
            }
            DataType::Int64 => {
                primitive::<Int64Type>(array).map(|(v, n)| Cell::Int(Ints::I64(v, n)))
            }
            DataType::UInt8 => {
                primitive::<UInt8Type>(array).map(|(v, n)| Cell::UInt(UInts::U8(v, n)))
            }
            DataType::UInt16 => {
                primitive::<UInt16Type>(array).map(|(v, n)| Cell::UInt(UInts::U16(v, n)))
            }
            DataType::UInt32 => {
                primitive::<UInt32Type>(array).map(|(v, n)| Cell::UInt(UInts::U32(v, n)))
            }
            DataType::UInt64 => {
                primitive::<UInt64Type>(array).map(|(v, n)| Cell::UInt(UInts::U64(v, n)))
            }
            DataType::Float16 => array
                .as_primitive_opt::<Float16Type>()
                .cloned()
                .map(Cell::F16),
            DataType::Float32 => primitive::<Float32Type>(array).map(|(v, n)| Cell::F32(v, n)),
            DataType::Float64 => primitive::<Float64Type>(array).map(|(v, n)| Cell::F64(v, n)),
            DataType::Utf8 => array.as_string_opt::<i32>().cloned().map(Cell::Utf8),
            DataType::LargeUtf8 => array.as_string_opt::<i64>().cloned().map(Cell::LargeUtf8),
            DataType::Utf8View => array.as_string_view_opt().cloned().map(Cell::Utf8View),
            DataType::Binary => array.as_binary_opt::<i32>().cloned().map(Cell::Binary),
            DataType::LargeBinary => array.as_binary_opt::<i64>().cloned().map(Cell::LargeBinary),
            DataType::BinaryView => array.as_binary_view_opt().cloned().map(Cell::BinaryView),
            DataType::FixedSizeBinary(_) => array
                .as_fixed_size_binary_opt()
                .cloned()
                .map(Cell::FixedBinary),
            DataType::Date32 => primitive::<Date32Type>(array).map(|(v, n)| Cell::Date32(v, n)),
            DataType::Date64 => primitive::<Date64Type>(array).map(|(v, n)| Cell::Date64(v, n)),
            DataType::Timestamp(unit, _) => match unit {
                TimeUnit::Second => primitive::<TimestampSecondType>(array),
                TimeUnit::Millisecond => primitive::<TimestampMillisecondType>(array),
                TimeUnit::Microsecond => primitive::<TimestampMicrosecondType>(array),
                TimeUnit::Nanosecond => primitive::<TimestampNanosecondType>(array),
            }
            .map(|(v, n)| Cell::Timestamp(v, n, *unit)),
            DataType::Decimal128(_, scale) => {
                primitive::<Decimal128Type>(array).map(|(v, n)| Cell::Decimal128(v, n, *scale))
            }
            DataType::Decimal256(_, scale) => {
                primitive::<Decimal256Type>(array).map(|(v, n)| Cell::Decimal256(v, n, *scale))
            }
            DataType::Struct(fields) => return struct_cell(array, fields, path),
            DataType::List(item) => match array.as_list_opt::<i32>() {
                Some(list) => Some(list_cell(list, item, path, Cell::List)?),
                None => None,
            },
            DataType::LargeList(item) => match array.as_list_opt::<i64>() {
                Some(list) => Some(list_cell(list, item, path, Cell::LargeList)?),
                None => None,
            },
            DataType::Dictionary(key, _) => return dictionary_cell(array, key, field, path),
            _ => {
                return Err(EncodeError::Unsupported {
                    column: path.to_owned(),
                    data_type: format_type(field.data_type()),
                });
            }
        };
        cell.ok_or_else(mismatch)
    }

    /// Writes row `row` as JSON.
    fn write(&self, row: usize, out: &mut Vec<u8>) {
        match self {
            Cell::Null => out.extend_from_slice(b"null"),
            Cell::Bool(a) => match a.is_null(row) {
                true => out.extend_from_slice(b"null"),
                false if a.value(row) => out.extend_from_slice(b"true"),
                false => out.extend_from_slice(b"false"),
            },
            Cell::Int(ints) => {
                let (value, null) = match ints {
                    Ints::I8(v, n) => (i64::from(v[row]), is_null(n, row)),
                    Ints::I16(v, n) => (i64::from(v[row]), is_null(n, row)),
                    Ints::I32(v, n) => (i64::from(v[row]), is_null(n, row)),
                    Ints::I64(v, n) => (v[row], is_null(n, row)),
                };
                if null {
                    out.extend_from_slice(b"null");
                } else {
                    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
                }
            }
            Cell::UInt(uints) => {
                let (value, null) = match uints {
                    UInts::U8(v, n) => (u64::from(v[row]), is_null(n, row)),
                    UInts::U16(v, n) => (u64::from(v[row]), is_null(n, row)),
                    UInts::U32(v, n) => (u64::from(v[row]), is_null(n, row)),
                    UInts::U64(v, n) => (v[row], is_null(n, row)),
                };
                if null {
                    out.extend_from_slice(b"null");
                } else {
                    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
                }
            }
            Cell::F16(a) if !a.is_null(row) => text::push_f32(out, a.value(row).to_f32()),
            Cell::F32(v, n) if !is_null(n, row) => text::push_f32(out, v[row]),
            Cell::F64(v, n) if !is_null(n, row) => text::push_f64(out, v[row]),
            Cell::Utf8(a) if !a.is_null(row) => text::push_json_string(out, a.value(row)),
            Cell::LargeUtf8(a) if !a.is_null(row) => text::push_json_string(out, a.value(row)),
            Cell::Utf8View(a) if !a.is_null(row) => text::push_json_string(out, a.value(row)),
            Cell::Json(inner) => match inner.as_ref() {
                Cell::Utf8(a) if !a.is_null(row) => push_raw_json(out, a.value(row)),
                Cell::LargeUtf8(a) if !a.is_null(row) => push_raw_json(out, a.value(row)),
                Cell::Utf8View(a) if !a.is_null(row) => push_raw_json(out, a.value(row)),
                _ => out.extend_from_slice(b"null"),
            },
            Cell::Binary(a) if !a.is_null(row) => push_base64(out, a.value(row)),
            Cell::LargeBinary(a) if !a.is_null(row) => push_base64(out, a.value(row)),
            Cell::BinaryView(a) if !a.is_null(row) => push_base64(out, a.value(row)),
            Cell::FixedBinary(a) if !a.is_null(row) => push_base64(out, a.value(row)),
            Cell::Date32(v, n) if !is_null(n, row) => {
                out.push(b'"');
                text::push_date(out, i64::from(v[row]));
                out.push(b'"');
            }
            Cell::Date64(v, n) if !is_null(n, row) => {
                out.push(b'"');
                text::push_date(out, v[row].div_euclid(86_400_000));
                out.push(b'"');
            }
            Cell::Timestamp(v, n, unit) if !is_null(n, row) => {
                out.push(b'"');
                text::push_timestamp(out, v[row], *unit);
                out.push(b'"');
            }
            Cell::Decimal128(v, n, scale) if !is_null(n, row) => {
                out.push(b'"');
                text::push_decimal128(out, v[row], *scale);
                out.push(b'"');
            }
            Cell::Decimal256(v, n, scale) if !is_null(n, row) => {
                out.push(b'"');
                text::push_decimal_digits(out, &v[row].to_string(), *scale);
                out.push(b'"');
            }
            Cell::Struct(n, children) if !is_null(n, row) => {
                out.push(b'{');
                for (key, child) in children {
                    out.extend_from_slice(key);
                    child.write(row, out);
                }
                out.push(b'}');
            }
            Cell::List(offsets, n, child) if !is_null(n, row) => {
                let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
                write_elements(child, start, end, out);
            }
            Cell::LargeList(offsets, n, child) if !is_null(n, row) => {
                let (start, end) = (offsets[row].as_usize(), offsets[row + 1].as_usize());
                write_elements(child, start, end, out);
            }
            _ => out.extend_from_slice(b"null"),
        }
    }
}

/// Writes `[e, e, …]` for the child rows `start..end`.
fn write_elements(child: &Cell, start: usize, end: usize, out: &mut Vec<u8>) {
    out.push(b'[');
    for i in start..end {
        if i > start {
            out.push(b',');
        }
        child.write(i, out);
    }
    out.push(b']');
}

/// Writes bytes as a base64 string.
fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let encoded = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + encoded, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + written);
    out.push(b'"');
}

/// Writes stored JSON text as is when it is valid JSON, else as a string.
fn push_raw_json(out: &mut Vec<u8>, json: &str) {
    if serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok() {
        out.extend_from_slice(json.trim().as_bytes());
    } else {
        text::push_json_string(out, json);
    }
}

/// Prepares a struct array.
fn struct_cell(array: &ArrayRef, fields: &Fields, path: &str) -> Result<Cell, EncodeError> {
    let mismatch = || EncodeError::Mismatch {
        column: path.to_owned(),
        data_type: format_type(&DataType::Struct(fields.clone())),
    };
    let array = array.as_struct_opt().ok_or_else(mismatch)?;
    let mut children = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        let mut key = Vec::new();
        if i > 0 {
            key.push(b',');
        }
        text::push_json_string(&mut key, field.name());
        key.push(b':');
        let child = array.columns().get(i).ok_or_else(mismatch)?;
        children.push((
            key,
            Cell::new(child, field, &format!("{path}.{}", field.name()))?,
        ));
    }
    Ok(Cell::Struct(array.nulls().cloned(), children))
}

/// Prepares a list array of either offset width.
fn list_cell<O: OffsetSizeTrait>(
    list: &GenericListArray<O>,
    item: &Field,
    path: &str,
    make: fn(OffsetBuffer<O>, Option<NullBuffer>, Box<Cell>) -> Cell,
) -> Result<Cell, EncodeError> {
    let child = Cell::new(list.values(), item, &format!("{path}[]"))?;
    Ok(make(
        list.offsets().clone(),
        list.nulls().cloned(),
        Box::new(child),
    ))
}

/// Prepares a dictionary array by materialising its values.
fn dictionary_cell(
    array: &ArrayRef,
    key: &DataType,
    field: &Field,
    path: &str,
) -> Result<Cell, EncodeError> {
    let unsupported = || EncodeError::Unsupported {
        column: path.to_owned(),
        data_type: format_type(field.data_type()),
    };
    let plain = match key {
        DataType::Int8 => materialise::<Int8Type>(array),
        DataType::Int16 => materialise::<Int16Type>(array),
        DataType::Int32 => materialise::<Int32Type>(array),
        DataType::Int64 => materialise::<Int64Type>(array),
        DataType::UInt8 => materialise::<UInt8Type>(array),
        DataType::UInt16 => materialise::<UInt16Type>(array),
        DataType::UInt32 => materialise::<UInt32Type>(array),
        DataType::UInt64 => materialise::<UInt64Type>(array),
        _ => return Err(unsupported()),
    }
    .ok_or_else(|| EncodeError::Mismatch {
        column: path.to_owned(),
        data_type: format_type(field.data_type()),
    })?;
    let inner = Field::new(field.name(), plain.data_type().clone(), true)
        .with_metadata(field.metadata().clone());
    Cell::new(&plain, &inner, path)
}

/// The values of a dictionary array, one per row.
fn materialise<K: ArrowDictionaryKeyType>(array: &ArrayRef) -> Option<ArrayRef> {
    let dictionary: &DictionaryArray<K> = array.as_dictionary_opt::<K>()?;
    arrow_select::take::take(dictionary.values().as_ref(), dictionary.keys(), None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::schema::json_field;
    use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
    use arrow_array::types::Int32Type;
    use arrow_array::*;
    use arrow_schema::Schema;

    fn encode_rows(batch: &RecordBatch) -> Vec<String> {
        let mut out = b"prefix".to_vec();
        let mut ends = Vec::new();
        JsonEncoder::new()
            .encode(batch, &mut out, &mut ends)
            .expect("encodes");
        let mut start = 6;
        ends.iter()
            .map(|&end| {
                let row = String::from_utf8(out[start..end].to_vec()).expect("utf8");
                start = end;
                row
            })
            .collect()
    }

    fn batch(columns: Vec<(Field, ArrayRef)>) -> RecordBatch {
        let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("batch")
    }

    #[test]
    fn every_type_is_written_exactly() {
        let ts_type = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        let point = Fields::from(vec![
            Field::new("x", DataType::Int8, true),
            Field::new("y", DataType::Utf8, true),
        ]);
        let mut tags = ListBuilder::new(arrow_array::builder::StringBuilder::new());
        tags.append_value([Some("a"), None]);
        tags.append_null();
        let mut dict = StringDictionaryBuilder::<Int32Type>::new();
        dict.append_value("red");
        dict.append_null();
        let batch = batch(vec![
            (
                Field::new("b", DataType::Boolean, true),
                Arc::new(BooleanArray::from(vec![Some(true), None])) as ArrayRef,
            ),
            (
                Field::new("i8", DataType::Int8, true),
                Arc::new(Int8Array::from(vec![-128, 0])),
            ),
            (
                Field::new("u64", DataType::UInt64, true),
                Arc::new(UInt64Array::from(vec![u64::MAX, 1])),
            ),
            (
                Field::new("i64", DataType::Int64, true),
                Arc::new(Int64Array::from(vec![i64::MIN, 1])),
            ),
            (
                Field::new("f32", DataType::Float32, true),
                Arc::new(Float32Array::from(vec![0.1, f32::INFINITY])),
            ),
            (
                Field::new("f64", DataType::Float64, true),
                Arc::new(Float64Array::from(vec![1e21, f64::NAN])),
            ),
            (
                Field::new("s", DataType::Utf8, true),
                Arc::new(StringArray::from(vec![Some("q\"\\\n\u{1}é"), None])),
            ),
            (
                Field::new("ls", DataType::LargeUtf8, true),
                Arc::new(LargeStringArray::from(vec!["l", "m"])),
            ),
            (
                Field::new("vs", DataType::Utf8View, true),
                Arc::new(StringViewArray::from(vec!["v", "a longer view string"])),
            ),
            (
                Field::new("bin", DataType::Binary, true),
                Arc::new(BinaryArray::from(vec![Some(&b"hi"[..]), Some(&b""[..])])),
            ),
            (
                Field::new("lb", DataType::LargeBinary, true),
                Arc::new(LargeBinaryArray::from(vec![&b"\xff"[..], b"ab"])),
            ),
            (
                Field::new("d", DataType::Date32, true),
                Arc::new(Date32Array::from(vec![19_782, -1])),
            ),
            (
                Field::new("d64", DataType::Date64, true),
                Arc::new(Date64Array::from(vec![86_400_000, -1])),
            ),
            (
                Field::new("ts", ts_type.clone(), true),
                Arc::new(
                    TimestampMillisecondArray::from(vec![1_714_566_600_123, -1])
                        .with_timezone("UTC"),
                ),
            ),
            (
                Field::new("tss", DataType::Timestamp(TimeUnit::Second, None), true),
                Arc::new(TimestampSecondArray::from(vec![0, 1])),
            ),
            (
                Field::new("dec", DataType::Decimal128(10, 2), true),
                Arc::new(
                    Decimal128Array::from(vec![Some(1230), Some(-5)])
                        .with_precision_and_scale(10, 2)
                        .expect("dec"),
                ),
            ),
            (
                json_field("j", true),
                Arc::new(StringArray::from(vec![
                    Some(r#"{"a":[1,null]}"#),
                    Some("not json"),
                ])),
            ),
            (
                Field::new("p", DataType::Struct(point.clone()), true),
                Arc::new(StructArray::new(
                    point,
                    vec![
                        Arc::new(Int8Array::from(vec![Some(1), None])),
                        Arc::new(StringArray::from(vec!["x", "y"])),
                    ],
                    Some(NullBuffer::from(vec![true, false])),
                )),
            ),
            (
                Field::new(
                    "tags",
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    true,
                ),
                Arc::new(tags.finish()),
            ),
            (
                Field::new(
                    "color",
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    true,
                ),
                Arc::new(dict.finish()),
            ),
            (
                Field::new("nothing", DataType::Null, true),
                Arc::new(NullArray::new(2)),
            ),
            (
                Field::new("__key", DataType::Binary, true),
                Arc::new(BinaryArray::from(vec![&b"k"[..], b"k"])),
            ),
        ]);
        assert_eq!(
            encode_rows(&batch),
            [
                r#"{"b":true,"i8":-128,"u64":18446744073709551615,"i64":-9223372036854775808,"f32":0.1,"f64":1e21,"s":"q\"\\\n\u0001é","ls":"l","vs":"v","bin":"aGk=","lb":"/w==","d":"2024-02-29","d64":"1970-01-02","ts":"2024-05-01T12:30:00.123Z","tss":"1970-01-01T00:00:00Z","dec":"12.30","j":{"a":[1,null]},"p":{"x":1,"y":"x"},"tags":["a",null],"color":"red","nothing":null}"#,
                r#"{"b":null,"i8":0,"u64":1,"i64":1,"f32":null,"f64":null,"s":null,"ls":"m","vs":"a longer view string","bin":"","lb":"YWI=","d":"1969-12-31","d64":"1969-12-31","ts":"1969-12-31T23:59:59.999Z","tss":"1970-01-01T00:00:01Z","dec":"-0.05","j":"not json","p":null,"tags":null,"color":null,"nothing":null}"#,
            ]
        );
    }

    #[test]
    fn sliced_batches_and_newlines() {
        let batch = batch(vec![(
            Field::new("n", DataType::Int32, true),
            Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
        )]);
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let mut encoder = JsonEncoder::new().newline_delimited(true);
        encoder
            .encode(&batch.slice(1, 2), &mut out, &mut ends)
            .expect("encodes");
        encoder
            .encode(&batch, &mut out, &mut ends)
            .expect("encodes");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"n\":2}\n{\"n\":3}\n{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n"
        );
        assert_eq!(ends, [8, 16, 24, 32, 40]);
    }

    #[test]
    fn unsupported_types_are_named_before_writing() {
        let inner = Fields::from(vec![Field::new(
            "dur",
            DataType::Duration(TimeUnit::Second),
            true,
        )]);
        let batch = batch(vec![
            (
                Field::new("ok", DataType::Int32, true),
                Arc::new(Int32Array::from(vec![1])) as ArrayRef,
            ),
            (
                Field::new("s", DataType::Struct(inner.clone()), true),
                Arc::new(StructArray::new(
                    inner,
                    vec![Arc::new(DurationSecondArray::from(vec![5]))],
                    None,
                )),
            ),
        ]);
        let mut out = Vec::new();
        let mut ends = Vec::new();
        let error = JsonEncoder::new()
            .encode(&batch, &mut out, &mut ends)
            .expect_err("unsupported");
        assert_eq!(
            error.to_string(),
            "column `s.dur` has type `duration(s)`, which the JSON encoder does not write; cast it in a \
             transform to a type the schema reference lists"
        );
        assert!(out.is_empty() && ends.is_empty());
    }
}
