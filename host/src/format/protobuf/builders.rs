//! Column builders the Protobuf decoder appends to: vectors plus validity,
//! turned into Arrow arrays without copying, and truncatable, so a record
//! that turns out bad (or a singular field that is set again) is taken back
//! out.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, PrimitiveArray, StringArray};
use arrow_buffer::{
    ArrowNativeType, BooleanBufferBuilder, Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer,
    ScalarBuffer,
};
use arrow_schema::ArrowError;

use super::mapping::EnumPlan;
use super::wire::Fault;

/// The message when a column outgrows 32-bit offsets.
const TOO_LARGE: &str = "the batch's data in this column is over 2 GiB; use smaller batches";

/// Values of a fixed-width type and their validity.
pub(super) struct Prim<T> {
    /// One value per row; zero under a null.
    pub(super) values: Vec<T>,
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
    pub(super) fn push(&mut self, value: T) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    /// Appends values that are all valid.
    #[inline]
    pub(super) fn extend(&mut self, values: impl ExactSizeIterator<Item = T>) {
        let n = values.len();
        self.values.extend(values);
        self.nulls.append_n_non_nulls(n);
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        self.values.push(T::default());
        self.nulls.append_null();
    }

    /// The number of rows.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// Drops every row from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.nulls.truncate(len);
    }

    /// Takes the values and validity, leaving room for as many again.
    pub(super) fn take(&mut self) -> (ScalarBuffer<T>, Option<NullBuffer>) {
        let capacity = self.values.len();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(capacity));
        (ScalarBuffer::from(values), self.nulls.finish())
    }
}

/// Booleans and their validity.
pub(super) struct Bools {
    /// One bit per row.
    values: BooleanBufferBuilder,
    /// Validity.
    nulls: NullBufferBuilder,
}

impl Default for Bools {
    fn default() -> Self {
        Bools {
            values: BooleanBufferBuilder::new(0),
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl Bools {
    /// Appends a value.
    #[inline]
    pub(super) fn push(&mut self, value: bool) {
        self.values.append(value);
        self.nulls.append_non_null();
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        self.values.append(false);
        self.nulls.append_null();
    }

    /// The number of rows.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.values.len()
    }

    /// The value of a row.
    pub(super) fn get(&self, row: usize) -> bool {
        self.values.get_bit(row)
    }

    /// Drops every row from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.nulls.truncate(len);
    }

    /// The finished array, leaving the builder empty.
    pub(super) fn finish(&mut self) -> ArrayRef {
        Arc::new(arrow_array::BooleanArray::new(
            self.values.finish(),
            self.nulls.finish(),
        ))
    }
}

/// Variable-length values (strings, bytes, JSON text): offsets, data and
/// validity.
pub(super) struct Bytes {
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

impl Bytes {
    /// Appends a value.
    #[inline]
    pub(super) fn push(&mut self, value: &[u8]) -> Result<(), Fault> {
        self.data.extend_from_slice(value);
        self.commit()
    }

    /// The data buffer, to write a value into directly; [`Bytes::commit`]
    /// ends the value and [`Bytes::abandon`] drops what was written.
    pub(super) fn data_mut(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// Ends a value written through [`Bytes::data_mut`].
    #[inline]
    pub(super) fn commit(&mut self) -> Result<(), Fault> {
        let end = i32::try_from(self.data.len()).map_err(|_| Fault::new(TOO_LARGE))?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Drops bytes written through [`Bytes::data_mut`] since the last value.
    pub(super) fn abandon(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.data.truncate(usize::try_from(end).unwrap_or(0));
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
        self.nulls.append_null();
    }

    /// The number of rows.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The bytes of a row.
    pub(super) fn get(&self, row: usize) -> &[u8] {
        let start = self.offsets.get(row).copied().unwrap_or(0);
        let end = self.offsets.get(row + 1).copied().unwrap_or(start);
        let (start, end) = (
            usize::try_from(start).unwrap_or(0),
            usize::try_from(end).unwrap_or(0),
        );
        self.data.get(start..end).unwrap_or_default()
    }

    /// Drops every row from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        self.abandon();
        self.nulls.truncate(len);
    }

    /// Takes offsets, data and validity, leaving room for as many again.
    pub(super) fn take(
        &mut self,
    ) -> Result<(OffsetBuffer<i32>, Buffer, Option<NullBuffer>), ArrowError> {
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
pub(super) fn offset_buffer(offsets: Vec<i32>) -> Result<OffsetBuffer<i32>, ArrowError> {
    let valid = offsets.first().is_some_and(|first| *first >= 0)
        && offsets.windows(2).all(|pair| pair[0] <= pair[1]);
    if !valid {
        return Err(ArrowError::InvalidArgumentError(
            "the Protobuf decoder built invalid offsets".to_owned(),
        ));
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(offsets)))
}

/// The offsets and validity of a list or map column.
pub(super) struct Offsets {
    /// `len + 1` offsets into the child, starting at 0.
    offsets: Vec<i32>,
    /// Validity.
    nulls: NullBufferBuilder,
}

impl Default for Offsets {
    fn default() -> Self {
        Offsets {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
        }
    }
}

impl Offsets {
    /// Where the current row's elements start in the child.
    #[inline]
    pub(super) fn start(&self) -> usize {
        usize::try_from(self.offsets.last().copied().unwrap_or(0)).unwrap_or(0)
    }

    /// Ends a row whose elements end at `end` in the child.
    #[inline]
    pub(super) fn commit(&mut self, end: usize) -> Result<(), Fault> {
        let end = i32::try_from(end).map_err(|_| Fault::new(TOO_LARGE))?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Appends a null row.
    pub(super) fn push_null(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
        self.nulls.append_null();
    }

    /// Drops every row from `len` on; returns where the child must be cut.
    pub(super) fn truncate(&mut self, len: usize) -> usize {
        self.offsets.truncate(len + 1);
        self.nulls.truncate(len);
        self.start()
    }

    /// Takes the offsets and validity.
    pub(super) fn take(&mut self) -> Result<(OffsetBuffer<i32>, Option<NullBuffer>), ArrowError> {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        Ok((offset_buffer(offsets)?, self.nulls.finish()))
    }
}

/// An enum column: dictionary keys, the enum's names as the dictionary, and
/// the numbers outside the enum seen in this batch, appended as text.
pub(super) struct EnumCol {
    /// One dictionary key per row.
    pub(super) keys: Prim<i32>,
    /// The enum's names.
    names: Arc<StringArray>,
    /// The smallest number, the base of `dense`.
    min: i32,
    /// Number minus `min` to key, -1 for none; used when numbers are close.
    dense: Vec<i32>,
    /// Number to key, when they are not.
    sparse: HashMap<i32, i32>,
    /// Numbers outside the enum seen this batch, to their keys.
    unknown: HashMap<i32, i32>,
    /// Their texts, in key order after the names.
    unknown_names: Vec<String>,
    /// The number an absent field holds.
    pub(super) default_number: i32,
}

/// The widest spread of enum numbers kept in a direct table.
const DENSE_ENUM_SPAN: i64 = 1024;

impl EnumCol {
    /// A column for an enum.
    pub(super) fn new(plan: &EnumPlan) -> Self {
        let names = Arc::new(StringArray::from_iter_values(plan.names.iter()));
        let min = plan.numbers.iter().copied().min().unwrap_or(0);
        let max = plan.numbers.iter().copied().max().unwrap_or(0);
        let span = i64::from(max) - i64::from(min) + 1;
        let mut dense = Vec::new();
        let mut sparse = HashMap::new();
        if span <= DENSE_ENUM_SPAN {
            dense = vec![-1; usize::try_from(span).unwrap_or(0)];
            for (key, number) in plan.numbers.iter().enumerate() {
                let at = usize::try_from(i64::from(*number) - i64::from(min)).unwrap_or(0);
                if let Some(slot) = dense.get_mut(at) {
                    *slot = i32::try_from(key).unwrap_or(i32::MAX);
                }
            }
        } else {
            for (key, number) in plan.numbers.iter().enumerate() {
                sparse.insert(*number, i32::try_from(key).unwrap_or(i32::MAX));
            }
        }
        EnumCol {
            keys: Prim::default(),
            names,
            min,
            dense,
            sparse,
            unknown: HashMap::new(),
            unknown_names: Vec::new(),
            default_number: plan.default_number,
        }
    }

    /// Appends the value of an enum number.
    #[inline]
    pub(super) fn push_number(&mut self, number: i32) {
        let key = if self.dense.is_empty() {
            self.sparse.get(&number).copied()
        } else {
            usize::try_from(i64::from(number) - i64::from(self.min))
                .ok()
                .and_then(|at| self.dense.get(at))
                .copied()
                .filter(|key| *key >= 0)
        };
        let key = match key {
            Some(key) => key,
            None => self.unknown_key(number),
        };
        self.keys.push(key);
    }

    /// The key of a number outside the enum, added on first sight.
    #[cold]
    fn unknown_key(&mut self, number: i32) -> i32 {
        let next = self.names.len() + self.unknown_names.len();
        let next = i32::try_from(next).unwrap_or(i32::MAX);
        *self.unknown.entry(number).or_insert_with(|| {
            self.unknown_names.push(number.to_string());
            next
        })
    }

    /// The finished dictionary array, leaving the builder empty.
    pub(super) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let (keys, nulls) = self.keys.take();
        let keys = PrimitiveArray::<Int32Type>::new(keys, nulls);
        let values: ArrayRef = if self.unknown_names.is_empty() {
            self.names.clone()
        } else {
            let all = self
                .names
                .iter()
                .flatten()
                .chain(self.unknown_names.iter().map(String::as_str));
            Arc::new(StringArray::from_iter_values(all))
        };
        self.unknown.clear();
        self.unknown_names.clear();
        Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(
            keys, values,
        )?))
    }
}
