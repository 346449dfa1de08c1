//! Column builders the Avro decoder appends to, kept in one arena per
//! value kind so a decoding step reaches its builder by index with no
//! dispatch, plus a tree of [`Node`]s (one per Arrow field) that knows how
//! to add nulls, take rows back and finish arrays.
//!
//! Every builder can be truncated back to a row count, nested ones through
//! their offsets, which is how a value that turns out to be bad half-way
//! through is taken back out.

use std::sync::Arc;

use arrow_array::types::{
    Date32Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int32Type, Int64Type,
    IntervalMonthDayNanoType, Time32MillisecondType, Time64MicrosecondType,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    ListArray, MapArray, NullArray, PrimitiveArray, StringArray, StructArray, UnionArray,
};
use arrow_buffer::{
    ArrowNativeType, BooleanBufferBuilder, Buffer, IntervalMonthDayNano, NullBuffer, OffsetBuffer,
    ScalarBuffer, i256,
};
use arrow_schema::{ArrowError, DataType, FieldRef, Fields, IntervalUnit, TimeUnit, UnionFields};

use super::SYMBOLS_KEY;
use crate::format::schema::is_json_field;

/// The message when a column outgrows 32-bit offsets.
pub(super) const TOO_LARGE: &str =
    "the batch's data in this column is over 2 GiB; use smaller batches";

/// A column's validity: only a count until the first null, then a bitmap.
///
/// Like Arrow's `NullBufferBuilder`, but small enough to inline into the
/// decoder's loop, which appends to it for every value.
///
/// The column it belongs to keeps the row count, and says it when the first
/// null arrives.
#[derive(Default)]
pub(super) struct Validity {
    /// One bit per row, once a null has arrived.
    bits: Option<BooleanBufferBuilder>,
}

impl Validity {
    /// Appends a valid row.
    #[inline(always)]
    fn append_non_null(&mut self) {
        if let Some(bits) = &mut self.bits {
            bits.append(true);
        }
    }

    /// Appends a null row to a column that had `len` rows.
    fn append_null(&mut self, len: usize) {
        let bits = self.bits.get_or_insert_with(|| {
            let mut bits = BooleanBufferBuilder::new(len.max(64));
            bits.append_n(len, true);
            bits
        });
        bits.append(false);
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        if let Some(bits) = &mut self.bits
            && len < bits.len()
        {
            bits.truncate(len);
        }
    }

    /// The validity of the rows appended (`None` when all are valid),
    /// starting over empty.
    fn finish(&mut self) -> Option<NullBuffer> {
        self.bits
            .take()
            .map(|mut bits| NullBuffer::new(bits.finish()))
            .filter(|nulls| nulls.null_count() > 0)
    }
}

/// Values of a fixed-width type and their validity.
pub(super) struct Prim<T> {
    /// One value per row; zero under a null.
    pub(super) values: Vec<T>,
    /// Validity; materialised only once a null arrives.
    nulls: Validity,
}

impl<T> Default for Prim<T> {
    fn default() -> Self {
        Prim {
            values: Vec::new(),
            nulls: Validity::default(),
        }
    }
}

impl<T: ArrowNativeType> Prim<T> {
    /// Appends a value.
    #[inline(always)]
    pub(super) fn push(&mut self, value: T) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        self.nulls.append_null(self.values.len());
        self.values.push(T::default());
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

    /// The array of Arrow type `A`.
    fn array<A: ArrowPrimitiveType<Native = T>>(&mut self) -> PrimitiveArray<A> {
        let (values, nulls) = self.take();
        PrimitiveArray::<A>::new(values, nulls)
    }
}

/// Booleans and their validity.
pub(super) struct BoolCol {
    /// One bit per row.
    values: BooleanBufferBuilder,
    /// Validity.
    nulls: Validity,
}

impl Default for BoolCol {
    fn default() -> Self {
        BoolCol {
            values: BooleanBufferBuilder::new(0),
            nulls: Validity::default(),
        }
    }
}

impl BoolCol {
    /// Appends a value.
    #[inline(always)]
    pub(super) fn push(&mut self, value: bool) {
        self.values.append(value);
        self.nulls.append_non_null();
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        self.nulls.append_null(self.values.len());
        self.values.append(false);
    }
}

/// Variable-length values (strings, bytes, JSON text): offsets, data and
/// validity.
pub(super) struct Bytes {
    /// `len + 1` offsets into `data`, starting at 0.
    offsets: Vec<i32>,
    /// The values back to back.
    pub(super) data: Vec<u8>,
    /// Validity.
    nulls: Validity,
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes {
            offsets: vec![0],
            data: Vec::new(),
            nulls: Validity::default(),
        }
    }
}

impl Bytes {
    /// Appends a value.
    #[inline(always)]
    pub(super) fn push(&mut self, value: &[u8]) -> Result<(), &'static str> {
        self.data.extend_from_slice(value);
        self.commit()
    }

    /// Ends a value written straight into `data`.
    #[inline(always)]
    pub(super) fn commit(&mut self) -> Result<(), &'static str> {
        let end = i32::try_from(self.data.len()).map_err(|_| TOO_LARGE)?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// Drops a value begun in `data` but not committed.
    pub(super) fn abandon(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.data.truncate(usize::try_from(end).unwrap_or(0));
    }

    /// Appends a null.
    pub(super) fn push_null(&mut self) {
        self.nulls.append_null(self.offsets.len() - 1);
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        self.offsets.truncate(len + 1);
        self.abandon();
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

/// Fixed-size binary values and their validity.
pub(super) struct FixedCol {
    /// The bytes of each value.
    size: usize,
    /// The values back to back.
    pub(super) data: Vec<u8>,
    /// Validity.
    nulls: Validity,
    /// The number of rows (the data cannot tell for size 0).
    pub(super) len: usize,
}

impl FixedCol {
    /// Appends a value of exactly `size` bytes.
    #[inline(always)]
    pub(super) fn push(&mut self, value: &[u8]) {
        self.data.extend_from_slice(value);
        self.nulls.append_non_null();
        self.len += 1;
    }

    /// Appends a null.
    fn push_null(&mut self) {
        self.data.resize(self.data.len() + self.size, 0);
        self.nulls.append_null(self.len);
        self.len += 1;
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        self.data.truncate(len * self.size);
        self.nulls.truncate(len);
        self.len = self.len.min(len);
    }
}

/// A struct's validity and row count (its children are nodes of their
/// own).
#[derive(Default)]
pub(super) struct StructCol {
    /// Validity.
    nulls: Validity,
    /// The number of rows.
    pub(super) len: usize,
}

impl StructCol {
    /// Marks a row whose children were appended as present.
    #[inline(always)]
    pub(super) fn push_valid(&mut self) {
        self.nulls.append_non_null();
        self.len += 1;
    }
}

/// A list's (or map's) offsets into its child, and validity.
pub(super) struct ListCol {
    /// `len + 1` offsets into the child, starting at 0.
    offsets: Vec<i32>,
    /// Validity.
    nulls: Validity,
}

impl Default for ListCol {
    fn default() -> Self {
        ListCol {
            offsets: vec![0],
            nulls: Validity::default(),
        }
    }
}

impl ListCol {
    /// Ends a list of `items` items, appended to the child after the
    /// previous list's.
    #[inline(always)]
    pub(super) fn commit(&mut self, items: usize) -> Result<(), &'static str> {
        let last = self.offsets.last().copied().unwrap_or(0);
        let end = i32::try_from(items)
            .ok()
            .and_then(|items| last.checked_add(items))
            .ok_or(TOO_LARGE)?;
        self.offsets.push(end);
        self.nulls.append_non_null();
        Ok(())
    }

    /// The number of rows.
    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Where the last list ends in the child.
    fn end(&self) -> usize {
        usize::try_from(self.offsets.last().copied().unwrap_or(0)).unwrap_or(0)
    }
}

/// A dense union's type ids and offsets, and how many rows each child
/// holds.
pub(super) struct UnionCol {
    /// The branch of each row.
    type_ids: Vec<i8>,
    /// The row's position in its branch's child.
    offsets: Vec<i32>,
    /// Rows per child, by type id.
    counts: Vec<i32>,
}

impl UnionCol {
    /// Starts a row in branch `type_id`; its value goes to that child.
    #[inline(always)]
    pub(super) fn push(&mut self, type_id: i8) -> Result<(), &'static str> {
        let count = self
            .counts
            .get_mut(usize::try_from(type_id).unwrap_or(usize::MAX))
            .ok_or("internal error: union branch out of range")?;
        self.type_ids.push(type_id);
        self.offsets.push(*count);
        *count = count.checked_add(1).ok_or(TOO_LARGE)?;
        Ok(())
    }
}

/// The kind of an Arrow field's builder, with its index in its arena.
pub(super) enum Kind {
    /// `Null`: only a count.
    Null(u32),
    /// `Boolean`.
    Bool(u32),
    /// `Int32` (in `i32s`).
    Int32(u32),
    /// `Date32` (in `i32s`).
    Date32(u32),
    /// `Time32(ms)` (in `i32s`).
    Time32(u32),
    /// `Int64` (in `i64s`).
    Int64(u32),
    /// `Time64(µs)` (in `i64s`).
    Time64(u32),
    /// `Timestamp` (in `i64s`).
    Timestamp(u32, TimeUnit, Option<Arc<str>>),
    /// `Float32`.
    Float32(u32),
    /// `Float64`.
    Float64(u32),
    /// `Utf8` (in `bytes`); also `json` columns.
    Utf8(u32),
    /// `Binary` (in `bytes`).
    Binary(u32),
    /// `FixedSizeBinary` (in `fixed`).
    Fixed(u32, i32),
    /// `Dictionary(Int32, Utf8)`: keys in `i32s`, the symbols as values.
    Dict(u32, ArrayRef),
    /// `Decimal128` (in `i128s`).
    Decimal128(u32, u8, i8),
    /// `Decimal256` (in `i256s`).
    Decimal256(u32, u8, i8),
    /// `Interval(MonthDayNano)` (in `intervals`).
    Interval(u32),
    /// `Struct` (in `structs`); children are the fields.
    Struct(u32, Fields),
    /// `List` (in `lists`); the one child is the items.
    List(u32, FieldRef),
    /// `Map` (in `lists`); the one child is the entries struct.
    Map(u32, FieldRef),
    /// `Union` (in `unions`, dense); children by type id.
    Union(u32, UnionFields),
}

/// One Arrow field's builder and its children's nodes.
pub(super) struct Node {
    /// What builds it.
    pub(super) kind: Kind,
    /// Child nodes (struct fields, list items, map entries, union
    /// branches), by index in [`Builders::nodes`].
    pub(super) children: Vec<u32>,
    /// Whether the field is a `json` column.
    pub(super) json: bool,
}

/// All the builders of a decoder.
#[derive(Default)]
pub(super) struct Builders {
    /// `Null` column row counts.
    pub(super) nulls: Vec<usize>,
    /// `Boolean` columns.
    pub(super) bools: Vec<BoolCol>,
    /// `Int32`, `Date32`, `Time32` and dictionary key columns.
    pub(super) i32s: Vec<Prim<i32>>,
    /// `Int64`, `Time64` and `Timestamp` columns.
    pub(super) i64s: Vec<Prim<i64>>,
    /// `Float32` columns.
    pub(super) f32s: Vec<Prim<f32>>,
    /// `Float64` columns.
    pub(super) f64s: Vec<Prim<f64>>,
    /// `Utf8` and `Binary` columns.
    pub(super) bytes: Vec<Bytes>,
    /// `FixedSizeBinary` columns.
    pub(super) fixed: Vec<FixedCol>,
    /// `Decimal128` columns.
    pub(super) i128s: Vec<Prim<i128>>,
    /// `Decimal256` columns.
    pub(super) i256s: Vec<Prim<i256>>,
    /// `Interval(MonthDayNano)` columns.
    pub(super) intervals: Vec<Prim<IntervalMonthDayNano>>,
    /// Struct validity.
    pub(super) structs: Vec<StructCol>,
    /// List and map offsets.
    pub(super) lists: Vec<ListCol>,
    /// Union type ids and offsets.
    pub(super) unions: Vec<UnionCol>,
    /// The field tree; node 0 is the root struct of the top-level columns.
    pub(super) nodes: Vec<Node>,
}

/// The next index of an arena, as a `u32`.
fn slot<T>(arena: &mut Vec<T>, value: T) -> Result<u32, String> {
    let index = u32::try_from(arena.len()).map_err(|_| "the schema has too many columns")?;
    arena.push(value);
    Ok(index)
}

impl Builders {
    /// Builders for the columns `fields`, under a root struct (node 0).
    pub(super) fn new(fields: &Fields) -> Result<Self, String> {
        let mut builders = Builders::default();
        let root = slot(&mut builders.structs, StructCol::default())?;
        builders.nodes.push(Node {
            kind: Kind::Struct(root, fields.clone()),
            children: Vec::new(),
            json: false,
        });
        let children = fields
            .iter()
            .map(|f| builders.add(f))
            .collect::<Result<Vec<_>, _>>()?;
        builders.nodes[0].children = children;
        Ok(builders)
    }

    /// Adds the node (and builders) of `field`, returning its index.
    fn add(&mut self, field: &FieldRef) -> Result<u32, String> {
        let mut children = Vec::new();
        let kind = match field.data_type() {
            DataType::Null => Kind::Null(slot(&mut self.nulls, 0)?),
            DataType::Boolean => Kind::Bool(slot(&mut self.bools, BoolCol::default())?),
            DataType::Int32 => Kind::Int32(slot(&mut self.i32s, Prim::default())?),
            DataType::Date32 => Kind::Date32(slot(&mut self.i32s, Prim::default())?),
            DataType::Time32(TimeUnit::Millisecond) => {
                Kind::Time32(slot(&mut self.i32s, Prim::default())?)
            }
            DataType::Int64 => Kind::Int64(slot(&mut self.i64s, Prim::default())?),
            DataType::Time64(TimeUnit::Microsecond) => {
                Kind::Time64(slot(&mut self.i64s, Prim::default())?)
            }
            DataType::Timestamp(unit, tz) => {
                Kind::Timestamp(slot(&mut self.i64s, Prim::default())?, *unit, tz.clone())
            }
            DataType::Float32 => Kind::Float32(slot(&mut self.f32s, Prim::default())?),
            DataType::Float64 => Kind::Float64(slot(&mut self.f64s, Prim::default())?),
            DataType::Utf8 => Kind::Utf8(slot(&mut self.bytes, Bytes::default())?),
            DataType::Binary => Kind::Binary(slot(&mut self.bytes, Bytes::default())?),
            DataType::FixedSizeBinary(size) => {
                let fixed = FixedCol {
                    size: usize::try_from(*size).map_err(|_| "negative fixed size")?,
                    data: Vec::new(),
                    nulls: Validity::default(),
                    len: 0,
                };
                Kind::Fixed(slot(&mut self.fixed, fixed)?, *size)
            }
            DataType::Dictionary(..) => {
                let symbols: Vec<String> = field
                    .metadata()
                    .get(SYMBOLS_KEY)
                    .and_then(|s| serde_json::from_str(s).ok())
                    .ok_or_else(|| format!("enum column `{}` has no symbols", field.name()))?;
                let values: ArrayRef = Arc::new(StringArray::from(symbols));
                Kind::Dict(slot(&mut self.i32s, Prim::default())?, values)
            }
            DataType::Decimal128(p, s) => {
                Kind::Decimal128(slot(&mut self.i128s, Prim::default())?, *p, *s)
            }
            DataType::Decimal256(p, s) => {
                Kind::Decimal256(slot(&mut self.i256s, Prim::default())?, *p, *s)
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => {
                Kind::Interval(slot(&mut self.intervals, Prim::default())?)
            }
            DataType::Struct(fields) => {
                for child in fields {
                    children.push(self.add(child)?);
                }
                Kind::Struct(
                    slot(&mut self.structs, StructCol::default())?,
                    fields.clone(),
                )
            }
            DataType::List(item) => {
                children.push(self.add(item)?);
                Kind::List(slot(&mut self.lists, ListCol::default())?, item.clone())
            }
            DataType::Map(entries, _) => {
                children.push(self.add(entries)?);
                Kind::Map(slot(&mut self.lists, ListCol::default())?, entries.clone())
            }
            DataType::Union(fields, _) => {
                for (_, child) in fields.iter() {
                    children.push(self.add(child)?);
                }
                let union = UnionCol {
                    type_ids: Vec::new(),
                    offsets: Vec::new(),
                    counts: vec![0; fields.len()],
                };
                Kind::Union(slot(&mut self.unions, union)?, fields.clone())
            }
            other => {
                return Err(format!(
                    "column `{}` has type {other}, which the Avro decoder does not build",
                    field.name()
                ));
            }
        };
        let node = Node {
            kind,
            children,
            json: is_json_field(field),
        };
        slot(&mut self.nodes, node)
    }

    /// Appends a null to a node (and whatever its children need to stay
    /// aligned).
    pub(super) fn push_null(&mut self, node: u32) -> Result<(), &'static str> {
        let Some(n) = self.nodes.get(node as usize) else {
            return Err("internal error: no such column");
        };
        let i = |index: &u32| *index as usize;
        match &n.kind {
            Kind::Null(c) => self.nulls[i(c)] += 1,
            Kind::Bool(c) => self.bools[i(c)].push_null(),
            Kind::Int32(c) | Kind::Date32(c) | Kind::Time32(c) | Kind::Dict(c, _) => {
                self.i32s[i(c)].push_null()
            }
            Kind::Int64(c) | Kind::Time64(c) | Kind::Timestamp(c, ..) => {
                self.i64s[i(c)].push_null()
            }
            Kind::Float32(c) => self.f32s[i(c)].push_null(),
            Kind::Float64(c) => self.f64s[i(c)].push_null(),
            Kind::Utf8(c) | Kind::Binary(c) => self.bytes[i(c)].push_null(),
            Kind::Fixed(c, _) => self.fixed[i(c)].push_null(),
            Kind::Decimal128(c, ..) => self.i128s[i(c)].push_null(),
            Kind::Decimal256(c, ..) => self.i256s[i(c)].push_null(),
            Kind::Interval(c) => self.intervals[i(c)].push_null(),
            Kind::Struct(c, _) => {
                let c = i(c);
                for k in 0..n.children.len() {
                    let child = self.nodes[node as usize].children[k];
                    self.push_null(child)?;
                }
                let s = &mut self.structs[c];
                s.nulls.append_null(s.len);
                s.len += 1;
            }
            Kind::List(c, _) | Kind::Map(c, _) => {
                let l = &mut self.lists[i(c)];
                l.nulls.append_null(l.len());
                let end = l.offsets.last().copied().unwrap_or(0);
                l.offsets.push(end);
            }
            Kind::Union(c, _) => {
                // A union has no validity of its own: the row goes to the
                // first branch, as a null there.
                let c = i(c);
                let first = n.children.first().copied();
                self.unions[c].push(0)?;
                if let Some(first) = first {
                    self.push_null(first)?;
                }
            }
        }
        Ok(())
    }

    /// Drops every row of a node from `len` on, with what its children
    /// held for them.
    pub(super) fn truncate(&mut self, node: u32, len: usize) {
        let Some(n) = self.nodes.get(node as usize) else {
            return;
        };
        let i = |index: &u32| *index as usize;
        match &n.kind {
            Kind::Null(c) => {
                let count = &mut self.nulls[i(c)];
                *count = (*count).min(len);
            }
            Kind::Bool(c) => {
                let b = &mut self.bools[i(c)];
                b.values.truncate(len);
                b.nulls.truncate(len);
            }
            Kind::Int32(c) | Kind::Date32(c) | Kind::Time32(c) | Kind::Dict(c, _) => {
                self.i32s[i(c)].truncate(len)
            }
            Kind::Int64(c) | Kind::Time64(c) | Kind::Timestamp(c, ..) => {
                self.i64s[i(c)].truncate(len)
            }
            Kind::Float32(c) => self.f32s[i(c)].truncate(len),
            Kind::Float64(c) => self.f64s[i(c)].truncate(len),
            Kind::Utf8(c) | Kind::Binary(c) => self.bytes[i(c)].truncate(len),
            Kind::Fixed(c, _) => self.fixed[i(c)].truncate(len),
            Kind::Decimal128(c, ..) => self.i128s[i(c)].truncate(len),
            Kind::Decimal256(c, ..) => self.i256s[i(c)].truncate(len),
            Kind::Interval(c) => self.intervals[i(c)].truncate(len),
            Kind::Struct(c, _) => {
                let c = i(c);
                let children = n.children.clone();
                for child in children {
                    self.truncate(child, len);
                }
                let s = &mut self.structs[c];
                s.nulls.truncate(len);
                s.len = s.len.min(len);
            }
            Kind::List(c, _) | Kind::Map(c, _) => {
                let c = i(c);
                let child = n.children.first().copied();
                let l = &mut self.lists[c];
                if len < l.len() {
                    l.offsets.truncate(len + 1);
                    l.nulls.truncate(len);
                }
                let end = l.end();
                if let Some(child) = child {
                    self.truncate(child, end);
                }
            }
            Kind::Union(c, _) => {
                let c = i(c);
                let children = n.children.clone();
                let u = &mut self.unions[c];
                if len < u.type_ids.len() {
                    for id in u.type_ids.drain(len..) {
                        if let Some(count) = u.counts.get_mut(usize::try_from(id).unwrap_or(0)) {
                            *count -= 1;
                        }
                    }
                    u.offsets.truncate(len);
                }
                let counts = u.counts.clone();
                for (child, count) in children.into_iter().zip(counts) {
                    self.truncate(child, usize::try_from(count).unwrap_or(0));
                }
            }
        }
    }

    /// The finished array of a node, leaving its builders empty.
    pub(super) fn finish(&mut self, node: u32) -> Result<ArrayRef, ArrowError> {
        let Some(n) = self.nodes.get(node as usize) else {
            return Err(ArrowError::InvalidArgumentError(
                "no such column".to_owned(),
            ));
        };
        let i = |index: &u32| *index as usize;
        Ok(match &n.kind {
            Kind::Null(c) => {
                let len = std::mem::take(&mut self.nulls[i(c)]);
                Arc::new(NullArray::new(len))
            }
            Kind::Bool(c) => {
                let b = &mut self.bools[i(c)];
                Arc::new(BooleanArray::new(b.values.finish(), b.nulls.finish()))
            }
            Kind::Int32(c) => Arc::new(self.i32s[i(c)].array::<Int32Type>()),
            Kind::Date32(c) => Arc::new(self.i32s[i(c)].array::<Date32Type>()),
            Kind::Time32(c) => Arc::new(self.i32s[i(c)].array::<Time32MillisecondType>()),
            Kind::Dict(c, values) => {
                let keys = self.i32s[i(c)].array::<Int32Type>();
                Arc::new(DictionaryArray::try_new(keys, values.clone())?)
            }
            Kind::Int64(c) => Arc::new(self.i64s[i(c)].array::<Int64Type>()),
            Kind::Time64(c) => Arc::new(self.i64s[i(c)].array::<Time64MicrosecondType>()),
            Kind::Timestamp(c, unit, tz) => {
                let prim = &mut self.i64s[i(c)];
                match unit {
                    TimeUnit::Second => Arc::new(
                        prim.array::<TimestampSecondType>()
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Millisecond => Arc::new(
                        prim.array::<TimestampMillisecondType>()
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Microsecond => Arc::new(
                        prim.array::<TimestampMicrosecondType>()
                            .with_timezone_opt(tz.clone()),
                    ),
                    TimeUnit::Nanosecond => Arc::new(
                        prim.array::<TimestampNanosecondType>()
                            .with_timezone_opt(tz.clone()),
                    ),
                }
            }
            Kind::Float32(c) => Arc::new(self.f32s[i(c)].array::<Float32Type>()),
            Kind::Float64(c) => Arc::new(self.f64s[i(c)].array::<Float64Type>()),
            Kind::Utf8(c) => {
                let (offsets, data, nulls) = self.bytes[i(c)].take()?;
                if offsets.len() != nulls.as_ref().map_or(offsets.len(), |n| n.len() + 1) {
                    return Err(ArrowError::InvalidArgumentError(
                        "decoder built mismatched string validity".to_owned(),
                    ));
                }
                // SAFETY: every value appended to a `Utf8` column is UTF-8:
                // strings and map keys are checked as they are read
                // (`Cursor::string`), UUIDs are checked ASCII, and JSON text
                // is written from checked strings and escapes. Values are
                // appended whole and rows are taken back whole, so every
                // offset is at the end of a value, a character boundary;
                // `take` checked the offsets are in order, start at 0 and
                // (being the data's own lengths) end at its length. That is
                // what `StringArray::try_new` would check again.
                Arc::new(unsafe { StringArray::new_unchecked(offsets, data, nulls) })
            }
            Kind::Binary(c) => {
                let (offsets, data, nulls) = self.bytes[i(c)].take()?;
                Arc::new(BinaryArray::try_new(offsets, data, nulls)?)
            }
            Kind::Fixed(c, size) => {
                let f = &mut self.fixed[i(c)];
                let len = std::mem::take(&mut f.len);
                let data = take_keeping_room(&mut f.data);
                let mut nulls = f.nulls.finish();
                if *size == 0 && nulls.is_none() {
                    // A zero-size array takes its length from its validity.
                    nulls = Some(NullBuffer::new_valid(len));
                }
                Arc::new(FixedSizeBinaryArray::try_new(
                    *size,
                    Buffer::from_vec(data),
                    nulls,
                )?)
            }
            Kind::Decimal128(c, p, s) => Arc::new(
                self.i128s[i(c)]
                    .array::<Decimal128Type>()
                    .with_precision_and_scale(*p, *s)?,
            ),
            Kind::Decimal256(c, p, s) => Arc::new(
                self.i256s[i(c)]
                    .array::<Decimal256Type>()
                    .with_precision_and_scale(*p, *s)?,
            ),
            Kind::Interval(c) => Arc::new(self.intervals[i(c)].array::<IntervalMonthDayNanoType>()),
            Kind::Struct(c, fields) => {
                let (c, fields) = (i(c), fields.clone());
                let children = n.children.clone();
                let arrays = children
                    .iter()
                    .map(|child| self.finish(*child))
                    .collect::<Result<Vec<_>, _>>()?;
                let s = &mut self.structs[c];
                let len = std::mem::take(&mut s.len);
                let nulls = s.nulls.finish();
                Arc::new(StructArray::try_new_with_length(
                    fields, arrays, nulls, len,
                )?)
            }
            Kind::List(c, item) => {
                let (c, item) = (i(c), item.clone());
                let child = n.children.first().copied().unwrap_or(u32::MAX);
                let values = self.finish(child)?;
                let l = &mut self.lists[c];
                let offsets = take_keeping_room(&mut l.offsets);
                l.offsets.push(0);
                let nulls = l.nulls.finish();
                Arc::new(ListArray::try_new(
                    item,
                    offset_buffer(offsets)?,
                    values,
                    nulls,
                )?)
            }
            Kind::Map(c, entries) => {
                let (c, entries) = (i(c), entries.clone());
                let child = n.children.first().copied().unwrap_or(u32::MAX);
                let values = self.finish(child)?;
                let values = values
                    .as_any()
                    .downcast_ref::<StructArray>()
                    .cloned()
                    .ok_or_else(|| {
                        ArrowError::InvalidArgumentError("map entries are not a struct".into())
                    })?;
                let l = &mut self.lists[c];
                let offsets = take_keeping_room(&mut l.offsets);
                l.offsets.push(0);
                let nulls = l.nulls.finish();
                Arc::new(MapArray::try_new(
                    entries,
                    offset_buffer(offsets)?,
                    values,
                    nulls,
                    false,
                )?)
            }
            Kind::Union(c, fields) => {
                let (c, fields) = (i(c), fields.clone());
                let children = n.children.clone();
                let arrays = children
                    .iter()
                    .map(|child| self.finish(*child))
                    .collect::<Result<Vec<_>, _>>()?;
                let u = &mut self.unions[c];
                let type_ids = take_keeping_room(&mut u.type_ids);
                let offsets = take_keeping_room(&mut u.offsets);
                u.counts.iter_mut().for_each(|count| *count = 0);
                Arc::new(UnionArray::try_new(
                    fields,
                    ScalarBuffer::from(type_ids),
                    Some(ScalarBuffer::from(offsets)),
                    arrays,
                )?)
            }
        })
    }
}

/// Takes a vector's contents, leaving it empty with room for as many.
fn take_keeping_room<T>(vec: &mut Vec<T>) -> Vec<T> {
    let capacity = vec.len();
    std::mem::replace(vec, Vec::with_capacity(capacity))
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
