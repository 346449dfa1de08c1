//! The Arrow arrays the encoder reads values from, by the kinds of Avro
//! value they can give: integers of any width, floats, strings of any
//! string type (dictionaries included), binaries, enum symbols, decimals
//! and list offsets.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Time32MillisecondType, Time64MicrosecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, FixedSizeBinaryArray, LargeStringArray, StringArray, StringViewArray,
};
use arrow_buffer::i256;
use arrow_schema::{DataType, TimeUnit};

use super::cursor::is_uuid;

/// Integer sources.
pub(super) enum Ints<'a> {
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
    pub(super) fn get(&self, row: usize) -> Option<i64> {
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
pub(super) struct Scale {
    /// Multiplier.
    pub(super) mul: i64,
    /// Divisor.
    pub(super) div: i64,
}

impl Scale {
    /// No conversion.
    pub(super) const ONE: Scale = Scale { mul: 1, div: 1 };

    /// Converts, if exact and in range.
    #[inline]
    pub(super) fn apply(self, value: i64) -> Option<i64> {
        if self.mul == 1 && self.div == 1 {
            return Some(value);
        }
        let scaled = value.checked_mul(self.mul)?;
        (scaled % self.div == 0).then_some(scaled / self.div)
    }
}

/// Float sources.
pub(super) enum Floats<'a> {
    /// `float32`.
    F32(&'a [f32]),
    /// `float64`.
    F64(&'a [f64]),
}

/// String sources.
pub(super) enum Strs<'a> {
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
    pub(super) fn get(&self, row: usize) -> &str {
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
pub(super) enum Bins<'a> {
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
    pub(super) fn get(&self, row: usize) -> &[u8] {
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
pub(super) enum Symbols<'a> {
    /// Strings and the symbol table.
    Text(Strs<'a>, HashMap<&'a str, i64>, &'a str),
    /// Dictionary keys, and each dictionary value's symbol index.
    Dict(Vec<usize>, Vec<Option<i64>>, Strs<'a>, &'a str),
}

/// Decimal sources.
pub(super) enum Decimals<'a> {
    /// `decimal128`.
    D128(&'a [i128]),
    /// `decimal256`.
    D256(&'a [i256]),
}

/// List offsets.
pub(super) enum Offsets<'a> {
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
    pub(super) fn range(&self, row: usize) -> (usize, usize) {
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

/// Integer sources of an array.
pub(super) fn ints(array: &ArrayRef) -> Option<Ints<'_>> {
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

/// Float sources of an array.
pub(super) fn floats(array: &ArrayRef) -> Option<Floats<'_>> {
    Some(match array.data_type() {
        DataType::Float32 => Floats::F32(array.as_primitive_opt::<Float32Type>()?.values()),
        DataType::Float64 => Floats::F64(array.as_primitive_opt::<Float64Type>()?.values()),
        _ => return None,
    })
}

/// String sources of an array.
pub(super) fn strs(array: &ArrayRef) -> Option<Strs<'_>> {
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
pub(super) fn bins(array: &ArrayRef) -> Option<Bins<'_>> {
    Some(match array.data_type() {
        DataType::Binary => Bins::Binary(array.as_binary_opt::<i32>()?),
        DataType::LargeBinary => Bins::Large(array.as_binary_opt::<i64>()?),
        DataType::BinaryView => Bins::View(array.as_binary_view_opt()?),
        DataType::FixedSizeBinary(_) => Bins::Fixed(array.as_fixed_size_binary_opt()?),
        _ => return None,
    })
}

/// The canonical text of a 16-byte UUID.
pub(super) fn uuid_text(bytes: &[u8]) -> String {
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
pub(super) fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
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
