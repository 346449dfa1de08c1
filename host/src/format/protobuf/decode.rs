//! Encoded Protobuf messages to Arrow: [`ProtobufDecoder`].
//!
//! The decoder walks each message's tags once, finds a field's column
//! through a table indexed by field number, and reads the value straight
//! into that column's builder. Work that Protobuf's rules make necessary but
//! rare — merging a message field seen twice, dropping a repeated map key —
//! rescans the message's bytes rather than costing the common path
//! anything.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::types::{
    DurationNanosecondType, Float32Type, Float64Type, Int32Type, Int64Type,
    TimestampNanosecondType, UInt32Type, UInt64Type,
};
use arrow_array::{
    ArrayRef, ArrowPrimitiveType, BinaryArray, ListArray, MapArray, PrimitiveArray, RecordBatch,
    RecordBatchOptions, StringArray, StructArray,
};
use arrow_buffer::NullBufferBuilder;
use arrow_schema::{ArrowError, DataType, FieldRef, SchemaRef};
use base64::Engine as _;
use prost_reflect::MessageDescriptor;

use super::MAX_DEPTH;
use super::builders::{Bools, Bytes, EnumCol, Offsets, Prim};
use super::mapping::{JsonKind, MappingError, MessagePlan, Scalar, Shape, ValuePlan};
use super::wire::{
    Fault, I32, I64, LEN, SGROUP, VARINT, fixed, group_range, len_range, skip, tag, too_deep,
    unzigzag32, unzigzag64, varint, wire_name,
};
use crate::format::text;
use crate::format::{Decoded, RowError};

/// Decodes encoded messages of one type into record batches.
///
/// It keeps its column builders between calls, so one decoder per source
/// task (and message type) is the intended use.
pub struct ProtobufDecoder {
    /// The schema of the batches.
    schema: SchemaRef,
    /// The top-level columns.
    root: MsgCol,
}

impl std::fmt::Debug for ProtobufDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufDecoder")
            .field("message", &self.root.plan.full_name)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl ProtobufDecoder {
    /// A decoder for messages of type `message`, building batches of
    /// [`super::arrow_schema`]`(message)`.
    ///
    /// # Errors
    ///
    /// When the message cannot be mapped to Arrow (see [`MappingError`]).
    pub fn new(message: &MessageDescriptor) -> Result<Self, MappingError> {
        let plan = MessagePlan::build(message)?;
        let schema = Arc::new(arrow_schema::Schema::new(plan.arrow.clone()));
        Ok(ProtobufDecoder {
            schema,
            root: MsgCol::new(plan),
        })
    }

    /// The schema of the batches this decoder builds.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes one batch of encoded messages (the payloads after the wire
    /// format header) into the rows that decode and the errors of those
    /// that do not. An empty value is a message with every field absent.
    pub fn decode(&mut self, values: &[&[u8]]) -> Decoded {
        let mut rows = Vec::with_capacity(values.len());
        let mut errors = Vec::new();
        for (index, value) in values.iter().enumerate() {
            let row = u32::try_from(index).unwrap_or(u32::MAX);
            let good = self.root.len;
            let whole = 0..value.len();
            match decode_message(&mut self.root, value, std::slice::from_ref(&whole), 0) {
                Ok(()) => rows.push(row),
                Err(fault) => {
                    self.root.truncate(good);
                    errors.push(RowError {
                        row,
                        message: fault.message(),
                    });
                }
            }
        }
        match self.finish_batch(rows.len()) {
            Ok(batch) => Decoded {
                batch,
                rows,
                errors,
            },
            Err(error) => {
                // Only a bug in the builders gets here; report every row
                // rather than lose them silently.
                tracing::error!(%error, message = %self.root.plan.full_name,
                    "protobuf decoder built an invalid batch");
                self.root.truncate(0);
                let message = format!("internal error building the batch: {error}");
                errors.extend(rows.iter().map(|&row| RowError {
                    row,
                    message: message.clone(),
                }));
                errors.sort_by_key(|e| e.row);
                Decoded {
                    batch: RecordBatch::new_empty(self.schema.clone()),
                    rows: Vec::new(),
                    errors,
                }
            }
        }
    }

    /// Builds the batch of the rows appended so far.
    fn finish_batch(&mut self, rows: usize) -> Result<RecordBatch, ArrowError> {
        self.root.len = 0;
        self.root.nulls.finish();
        let columns = self
            .root
            .slots
            .iter_mut()
            .map(Slot::finish)
            .collect::<Result<Vec<_>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
    }
}

/// The columns of one message type, with its field-number table.
struct MsgCol {
    /// The plan it was built from.
    plan: Arc<MessagePlan>,
    /// One slot per field, in column order.
    slots: Vec<Slot>,
    /// Field number to slot index plus one (0: not a field), for numbers
    /// below its length.
    dense: Vec<u32>,
    /// Field number and slot index, sorted, for larger numbers.
    sparse: Vec<(u32, u32)>,
    /// Validity, when the message is a nullable field.
    nulls: NullBufferBuilder,
    /// The number of rows.
    len: usize,
}

/// Field numbers up to this go in the direct table.
const DENSE_FIELDS: u32 = 1024;

/// One field's columns.
struct Slot {
    /// The field name, for paths.
    name: Arc<str>,
    /// The field number.
    number: u32,
    /// Its `oneof`, if any.
    oneof: Option<usize>,
    /// For a singular field, one more than the row it last got a value in
    /// (0 for none): it has a value in the row being decoded exactly when
    /// this is that row plus one. Cheaper to test than the builder's length,
    /// and reset whenever values are taken back out.
    set_in: usize,
    /// Its shape and builders.
    kind: SlotKind,
}

/// A field's shape and builders.
enum SlotKind {
    /// One value per row.
    Single {
        /// Null when absent.
        presence: bool,
        /// Absence is an error.
        required: bool,
        /// Values are messages, which merge when repeated.
        merges: bool,
        /// The values.
        val: Val,
    },
    /// A list per row.
    List {
        /// Row offsets into `elem`.
        offsets: Offsets,
        /// The elements.
        elem: Val,
        /// The list's element field.
        item: FieldRef,
    },
    /// A map per row (boxed: it holds two value builders).
    Map(Box<MapSlot>),
}

/// The builders of a map field.
struct MapSlot {
    /// Row offsets into the entries.
    offsets: Offsets,
    /// The keys.
    keys: Val,
    /// The values.
    values: Val,
    /// The entries field.
    entries: FieldRef,
}

impl MsgCol {
    /// The columns of a planned message.
    fn new(plan: Arc<MessagePlan>) -> Self {
        let mut dense = Vec::new();
        let mut sparse = Vec::new();
        let mut slots = Vec::with_capacity(plan.fields.len());
        for (index, field) in plan.fields.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            if field.number < DENSE_FIELDS {
                let at = field.number as usize;
                if dense.len() <= at {
                    dense.resize(at + 1, 0);
                }
                dense[at] = index + 1;
            } else {
                sparse.push((field.number, index));
            }
            let kind = match field.shape {
                Shape::Single { presence, required } => {
                    let val = Val::new(&field.value);
                    SlotKind::Single {
                        presence,
                        required,
                        merges: val.is_message(),
                        val,
                    }
                }
                Shape::List => {
                    let item = match field.field.data_type() {
                        DataType::List(item) => item.clone(),
                        _ => field.field.clone(),
                    };
                    SlotKind::List {
                        offsets: Offsets::default(),
                        elem: Val::new(&field.value),
                        item,
                    }
                }
                Shape::Map { key } => {
                    let entries = match field.field.data_type() {
                        DataType::Map(entries, _) => entries.clone(),
                        _ => field.field.clone(),
                    };
                    SlotKind::Map(Box::new(MapSlot {
                        offsets: Offsets::default(),
                        keys: Val::new(&ValuePlan::Scalar(key)),
                        values: Val::new(&field.value),
                        entries,
                    }))
                }
            };
            slots.push(Slot {
                name: field.name.clone(),
                number: field.number,
                oneof: field.oneof,
                set_in: 0,
                kind,
            });
        }
        sparse.sort_unstable();
        MsgCol {
            plan,
            slots,
            dense,
            sparse,
            nulls: NullBufferBuilder::new(0),
            len: 0,
        }
    }

    /// The slot of a field number.
    #[inline]
    fn slot_of(&self, number: u32) -> Option<usize> {
        if let Some(&entry) = self.dense.get(number as usize) {
            return entry.checked_sub(1).map(|i| i as usize);
        }
        self.sparse
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|at| self.sparse[at].1 as usize)
    }

    /// Appends a null row, with nulls in every child.
    fn push_null(&mut self) {
        for slot in &mut self.slots {
            match &mut slot.kind {
                SlotKind::Single { val, .. } => val.push_null(),
                SlotKind::List { offsets, .. } => offsets.push_null(),
                SlotKind::Map(map) => map.offsets.push_null(),
            }
        }
        self.nulls.append_null();
        self.len += 1;
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        for slot in &mut self.slots {
            slot.truncate(len);
        }
        self.nulls.truncate(len);
        self.len = self.len.min(len);
    }

    /// Clears the other cases of `oneof` once `set` is set in `row`.
    fn clear_oneof(&mut self, oneof: usize, set: usize, row: usize) {
        let plan = self.plan.clone();
        let Some((_, members)) = plan.oneofs.get(oneof) else {
            return;
        };
        for &member in members {
            if member != set
                && let Some(slot) = self.slots.get_mut(member)
                && slot.set_in == row + 1
                && let SlotKind::Single { val, .. } = &mut slot.kind
            {
                val.truncate(row);
                slot.set_in = 0;
            }
        }
    }

    /// The field numbers of the other cases of a `oneof`.
    fn oneof_siblings(&self, oneof: Option<usize>, except: usize) -> Vec<u32> {
        oneof
            .and_then(|o| self.plan.oneofs.get(o))
            .map(|(_, members)| {
                members
                    .iter()
                    .filter(|m| **m != except)
                    .filter_map(|m| self.plan.fields.get(*m).map(|f| f.number))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The finished struct array, leaving the builder empty.
    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let len = self.len;
        let nulls = self.nulls.finish();
        let children = self
            .slots
            .iter_mut()
            .map(Slot::finish)
            .collect::<Result<Vec<_>, _>>()?;
        self.len = 0;
        Ok(Arc::new(StructArray::try_new_with_length(
            self.plan.arrow.clone(),
            children,
            nulls,
            len,
        )?))
    }
}

impl Slot {
    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        self.set_in = 0;
        match &mut self.kind {
            SlotKind::Single { val, .. } => val.truncate(len),
            SlotKind::List { offsets, elem, .. } => {
                let end = offsets.truncate(len);
                elem.truncate(end);
            }
            SlotKind::Map(map) => {
                let MapSlot {
                    offsets,
                    keys,
                    values,
                    ..
                } = &mut **map;
                let end = offsets.truncate(len);
                keys.truncate(end);
                values.truncate(end);
            }
        }
    }

    /// The finished column, leaving the builder empty.
    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        // Rows count from 0 again in the next batch: a field set in this
        // batch's row N must not read as set in the next batch's row N.
        self.set_in = 0;
        match &mut self.kind {
            SlotKind::Single { val, .. } => val.finish(),
            SlotKind::List {
                offsets,
                elem,
                item,
            } => {
                let (offsets, nulls) = offsets.take()?;
                let values = elem.finish()?;
                Ok(Arc::new(ListArray::try_new(
                    item.clone(),
                    offsets,
                    values,
                    nulls,
                )?))
            }
            SlotKind::Map(map) => {
                let MapSlot {
                    offsets,
                    keys,
                    values,
                    entries,
                } = &mut **map;
                let (offsets, nulls) = offsets.take()?;
                let DataType::Struct(fields) = entries.data_type() else {
                    return Err(ArrowError::SchemaError(
                        "a map's entries are not a struct".to_owned(),
                    ));
                };
                let children = vec![keys.finish()?, values.finish()?];
                let entry_array = StructArray::try_new(fields.clone(), children, None)?;
                Ok(Arc::new(MapArray::try_new(
                    entries.clone(),
                    offsets,
                    entry_array,
                    nulls,
                    false,
                )?))
            }
        }
    }
}

/// The builder of one value column, by how its values are read.
enum Val {
    /// `int32`.
    Int32(Prim<i32>),
    /// `sint32`.
    Sint32(Prim<i32>),
    /// `sfixed32`.
    Sfixed32(Prim<i32>),
    /// `int64`.
    Int64(Prim<i64>),
    /// `sint64`.
    Sint64(Prim<i64>),
    /// `sfixed64`.
    Sfixed64(Prim<i64>),
    /// `uint32`.
    Uint32(Prim<u32>),
    /// `fixed32`.
    Fixed32(Prim<u32>),
    /// `uint64`.
    Uint64(Prim<u64>),
    /// `fixed64`.
    Fixed64(Prim<u64>),
    /// `float`.
    Float(Prim<f32>),
    /// `double`.
    Double(Prim<f64>),
    /// `bool`.
    Bool(Bools),
    /// `string`.
    String(Bytes),
    /// `bytes`.
    Bytes(Bytes),
    /// An enum (boxed: its lookup tables would make every value large).
    Enum(Box<EnumCol>),
    /// A message.
    Message(Box<MsgCol>),
    /// `google.protobuf.Timestamp`.
    Timestamp(Prim<i64>),
    /// `google.protobuf.Duration`.
    Duration(Prim<i64>),
    /// A wrapper around a scalar.
    Wrapper(Box<Val>),
    /// A well-known type as JSON text.
    Json(Bytes, JsonKind),
    /// A recursive message, kept encoded.
    Raw(Bytes),
}

/// The fault of a wire type that contradicts the field's type.
#[cold]
fn mismatch(wire: u8, type_name: &str) -> Fault {
    Fault::new(format!(
        "wire type {wire} ({}) does not match the field's type `{type_name}`",
        wire_name(wire)
    ))
}

/// Checks a value's wire type.
#[inline]
fn expect(wire: u8, want: u8, type_name: &str) -> Result<(), Fault> {
    if wire == want {
        Ok(())
    } else {
        Err(mismatch(wire, type_name))
    }
}

/// The range of a message-typed value: length-delimited or a group.
#[inline]
fn message_range(
    wire: u8,
    number: u32,
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    depth: u32,
    type_name: &str,
) -> Result<Range<usize>, Fault> {
    match wire {
        LEN => len_range(buf, pos, end),
        SGROUP => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            group_range(buf, pos, end, number, depth)
        }
        _ => Err(mismatch(wire, type_name)),
    }
}

/// Reads a `string` value's bytes, checking they are UTF-8.
#[inline]
fn utf8(bytes: &[u8]) -> Result<&str, Fault> {
    std::str::from_utf8(bytes).map_err(|_| Fault::new("the string is not valid UTF-8"))
}

impl Val {
    /// The builder of a planned value.
    fn new(plan: &ValuePlan) -> Self {
        match plan {
            ValuePlan::Scalar(scalar) => Val::scalar(*scalar),
            ValuePlan::Enum(plan) => Val::Enum(Box::new(EnumCol::new(plan))),
            ValuePlan::Message(plan) => Val::Message(Box::new(MsgCol::new(plan.clone()))),
            ValuePlan::Timestamp => Val::Timestamp(Prim::default()),
            ValuePlan::Duration => Val::Duration(Prim::default()),
            ValuePlan::Wrapper(scalar) => Val::Wrapper(Box::new(Val::scalar(*scalar))),
            ValuePlan::Json(kind) => Val::Json(Bytes::default(), *kind),
            ValuePlan::Raw => Val::Raw(Bytes::default()),
        }
    }

    /// The builder of a scalar.
    fn scalar(scalar: Scalar) -> Self {
        match scalar {
            Scalar::Double => Val::Double(Prim::default()),
            Scalar::Float => Val::Float(Prim::default()),
            Scalar::Int32 => Val::Int32(Prim::default()),
            Scalar::Int64 => Val::Int64(Prim::default()),
            Scalar::Uint32 => Val::Uint32(Prim::default()),
            Scalar::Uint64 => Val::Uint64(Prim::default()),
            Scalar::Sint32 => Val::Sint32(Prim::default()),
            Scalar::Sint64 => Val::Sint64(Prim::default()),
            Scalar::Fixed32 => Val::Fixed32(Prim::default()),
            Scalar::Fixed64 => Val::Fixed64(Prim::default()),
            Scalar::Sfixed32 => Val::Sfixed32(Prim::default()),
            Scalar::Sfixed64 => Val::Sfixed64(Prim::default()),
            Scalar::Bool => Val::Bool(Bools::default()),
            Scalar::String => Val::String(Bytes::default()),
            Scalar::Bytes => Val::Bytes(Bytes::default()),
        }
    }

    /// The number of rows.
    #[inline]
    fn len(&self) -> usize {
        match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => p.len(),
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => p.len(),
            Val::Timestamp(p) | Val::Duration(p) => p.len(),
            Val::Uint32(p) | Val::Fixed32(p) => p.len(),
            Val::Uint64(p) | Val::Fixed64(p) => p.len(),
            Val::Float(p) => p.len(),
            Val::Double(p) => p.len(),
            Val::Bool(b) => b.len(),
            Val::String(b) | Val::Bytes(b) | Val::Json(b, _) | Val::Raw(b) => b.len(),
            Val::Enum(e) => e.keys.len(),
            Val::Message(m) => m.len,
            Val::Wrapper(inner) => inner.len(),
        }
    }

    /// Whether values are messages on the wire, which merge when repeated.
    #[inline]
    fn is_message(&self) -> bool {
        matches!(
            self,
            Val::Message(_)
                | Val::Timestamp(_)
                | Val::Duration(_)
                | Val::Wrapper(_)
                | Val::Json(..)
                | Val::Raw(_)
        )
    }

    /// Whether repeated values may come packed.
    #[inline]
    fn is_packable(&self) -> bool {
        !matches!(self, Val::String(_) | Val::Bytes(_)) && !self.is_message()
    }

    /// Appends a null.
    fn push_null(&mut self) {
        match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => p.push_null(),
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => p.push_null(),
            Val::Timestamp(p) | Val::Duration(p) => p.push_null(),
            Val::Uint32(p) | Val::Fixed32(p) => p.push_null(),
            Val::Uint64(p) | Val::Fixed64(p) => p.push_null(),
            Val::Float(p) => p.push_null(),
            Val::Double(p) => p.push_null(),
            Val::Bool(b) => b.push_null(),
            Val::String(b) | Val::Bytes(b) | Val::Json(b, _) | Val::Raw(b) => b.push_null(),
            Val::Enum(e) => e.keys.push_null(),
            Val::Message(m) => m.push_null(),
            Val::Wrapper(inner) => inner.push_null(),
        }
    }

    /// Appends the value an absent field holds.
    fn push_default(&mut self, depth: u32) -> Result<(), Fault> {
        match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => p.push(0),
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => p.push(0),
            Val::Timestamp(p) | Val::Duration(p) => p.push(0),
            Val::Uint32(p) | Val::Fixed32(p) => p.push(0),
            Val::Uint64(p) | Val::Fixed64(p) => p.push(0),
            Val::Float(p) => p.push(0.0),
            Val::Double(p) => p.push(0.0),
            Val::Bool(b) => b.push(false),
            Val::String(b) | Val::Bytes(b) | Val::Raw(b) => b.push(&[])?,
            Val::Json(b, kind) => {
                b.push(match kind {
                    JsonKind::Struct | JsonKind::Any => b"{}",
                    JsonKind::Value => b"null",
                    JsonKind::List => b"[]",
                })?;
            }
            Val::Enum(e) => e.push_number(e.default_number),
            Val::Message(m) => decode_message(m, &[], &[], depth + 1)?,
            Val::Wrapper(inner) => inner.push_default(depth)?,
        }
        Ok(())
    }

    /// Drops every row from `len` on.
    fn truncate(&mut self, len: usize) {
        match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => p.truncate(len),
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => p.truncate(len),
            Val::Timestamp(p) | Val::Duration(p) => p.truncate(len),
            Val::Uint32(p) | Val::Fixed32(p) => p.truncate(len),
            Val::Uint64(p) | Val::Fixed64(p) => p.truncate(len),
            Val::Float(p) => p.truncate(len),
            Val::Double(p) => p.truncate(len),
            Val::Bool(b) => b.truncate(len),
            Val::String(b) | Val::Bytes(b) | Val::Json(b, _) | Val::Raw(b) => b.truncate(len),
            Val::Enum(e) => e.keys.truncate(len),
            Val::Message(m) => m.truncate(len),
            Val::Wrapper(inner) => inner.truncate(len),
        }
    }

    /// Reads one value whose tag (field `number`, wire type `wire`) was
    /// just read at `pos`.
    #[inline]
    fn read(
        &mut self,
        wire: u8,
        number: u32,
        buf: &[u8],
        pos: &mut usize,
        end: usize,
        depth: u32,
    ) -> Result<(), Fault> {
        match self {
            Val::Int32(p) => {
                expect(wire, VARINT, "int32")?;
                p.push(varint(buf, pos, end)? as i32);
            }
            Val::Sint32(p) => {
                expect(wire, VARINT, "sint32")?;
                p.push(unzigzag32(varint(buf, pos, end)?));
            }
            Val::Sfixed32(p) => {
                expect(wire, I32, "sfixed32")?;
                p.push(i32::from_le_bytes(fixed::<4>(buf, pos, end)?));
            }
            Val::Int64(p) => {
                expect(wire, VARINT, "int64")?;
                p.push(varint(buf, pos, end)? as i64);
            }
            Val::Sint64(p) => {
                expect(wire, VARINT, "sint64")?;
                p.push(unzigzag64(varint(buf, pos, end)?));
            }
            Val::Sfixed64(p) => {
                expect(wire, I64, "sfixed64")?;
                p.push(i64::from_le_bytes(fixed::<8>(buf, pos, end)?));
            }
            Val::Uint32(p) => {
                expect(wire, VARINT, "uint32")?;
                p.push(varint(buf, pos, end)? as u32);
            }
            Val::Fixed32(p) => {
                expect(wire, I32, "fixed32")?;
                p.push(u32::from_le_bytes(fixed::<4>(buf, pos, end)?));
            }
            Val::Uint64(p) => {
                expect(wire, VARINT, "uint64")?;
                p.push(varint(buf, pos, end)?);
            }
            Val::Fixed64(p) => {
                expect(wire, I64, "fixed64")?;
                p.push(u64::from_le_bytes(fixed::<8>(buf, pos, end)?));
            }
            Val::Float(p) => {
                expect(wire, I32, "float")?;
                p.push(f32::from_le_bytes(fixed::<4>(buf, pos, end)?));
            }
            Val::Double(p) => {
                expect(wire, I64, "double")?;
                p.push(f64::from_le_bytes(fixed::<8>(buf, pos, end)?));
            }
            Val::Bool(b) => {
                expect(wire, VARINT, "bool")?;
                b.push(varint(buf, pos, end)? != 0);
            }
            Val::String(b) => {
                expect(wire, LEN, "string")?;
                let range = len_range(buf, pos, end)?;
                let bytes = buf.get(range).unwrap_or_default();
                utf8(bytes)?;
                b.push(bytes)?;
            }
            Val::Bytes(b) => {
                expect(wire, LEN, "bytes")?;
                let range = len_range(buf, pos, end)?;
                b.push(buf.get(range).unwrap_or_default())?;
            }
            Val::Enum(e) => {
                expect(wire, VARINT, "enum")?;
                e.push_number(varint(buf, pos, end)? as i32);
            }
            _ => {
                let range = message_range(wire, number, buf, pos, end, depth, self.type_name())?;
                self.read_segments(buf, std::slice::from_ref(&range), depth)?;
            }
        }
        Ok(())
    }

    /// The Protobuf type name of a message-typed value, for messages.
    fn type_name(&self) -> &str {
        match self {
            Val::Message(m) => &m.plan.full_name,
            Val::Timestamp(_) => "google.protobuf.Timestamp",
            Val::Duration(_) => "google.protobuf.Duration",
            Val::Wrapper(inner) => match **inner {
                Val::Double(_) => "google.protobuf.DoubleValue",
                Val::Float(_) => "google.protobuf.FloatValue",
                Val::Int64(_) => "google.protobuf.Int64Value",
                Val::Uint64(_) => "google.protobuf.UInt64Value",
                Val::Int32(_) => "google.protobuf.Int32Value",
                Val::Uint32(_) => "google.protobuf.UInt32Value",
                Val::Bool(_) => "google.protobuf.BoolValue",
                Val::String(_) => "google.protobuf.StringValue",
                _ => "google.protobuf.BytesValue",
            },
            Val::Json(_, JsonKind::Struct) => "google.protobuf.Struct",
            Val::Json(_, JsonKind::Value) => "google.protobuf.Value",
            Val::Json(_, JsonKind::List) => "google.protobuf.ListValue",
            Val::Json(_, JsonKind::Any) => "google.protobuf.Any",
            _ => "message",
        }
    }

    /// Reads the packed values in `range`.
    fn read_packed(&mut self, buf: &[u8], range: Range<usize>) -> Result<(), Fault> {
        let end = range.end;
        let mut pos = range.start;
        let bytes = buf.get(range.clone()).unwrap_or_default();
        match self {
            Val::Int32(p) => read_varints(p, buf, &mut pos, end, |v| v as i32)?,
            Val::Sint32(p) => read_varints(p, buf, &mut pos, end, unzigzag32)?,
            Val::Int64(p) => read_varints(p, buf, &mut pos, end, |v| v as i64)?,
            Val::Sint64(p) => read_varints(p, buf, &mut pos, end, unzigzag64)?,
            Val::Uint32(p) => read_varints(p, buf, &mut pos, end, |v| v as u32)?,
            Val::Uint64(p) => read_varints(p, buf, &mut pos, end, |v| v)?,
            Val::Sfixed32(p) => read_fixed(p, bytes, "sfixed32", i32::from_le_bytes)?,
            Val::Fixed32(p) => read_fixed(p, bytes, "fixed32", u32::from_le_bytes)?,
            Val::Float(p) => read_fixed(p, bytes, "float", f32::from_le_bytes)?,
            Val::Sfixed64(p) => read_fixed(p, bytes, "sfixed64", i64::from_le_bytes)?,
            Val::Fixed64(p) => read_fixed(p, bytes, "fixed64", u64::from_le_bytes)?,
            Val::Double(p) => read_fixed(p, bytes, "double", f64::from_le_bytes)?,
            Val::Bool(b) => {
                while pos < end {
                    b.push(varint(buf, &mut pos, end)? != 0);
                }
            }
            Val::Enum(e) => {
                while pos < end {
                    e.push_number(varint(buf, &mut pos, end)? as i32);
                }
            }
            _ => return Err(mismatch(LEN, self.type_name())),
        }
        Ok(())
    }

    /// Reads a message-typed value from its segments (one, or several
    /// occurrences to merge).
    fn read_segments(
        &mut self,
        buf: &[u8],
        segments: &[Range<usize>],
        depth: u32,
    ) -> Result<(), Fault> {
        match self {
            Val::Message(m) => decode_message(m, buf, segments, depth + 1),
            Val::Timestamp(p) => {
                let (seconds, nanos) = seconds_nanos(buf, segments, depth)?;
                if !(0..=999_999_999).contains(&nanos) {
                    return Err(Fault::new(format!(
                        "the timestamp's nanos {nanos} is outside 0 to 999999999"
                    )));
                }
                let value = seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|ns| ns.checked_add(i64::from(nanos)))
                    .ok_or_else(|| {
                        Fault::new(format!(
                            "the timestamp {seconds}s is outside the range of nanosecond \
                             timestamps (years 1677 to 2262)"
                        ))
                    })?;
                p.push(value);
                Ok(())
            }
            Val::Duration(p) => {
                let (seconds, nanos) = seconds_nanos(buf, segments, depth)?;
                if !(-999_999_999..=999_999_999).contains(&nanos) {
                    return Err(Fault::new(format!(
                        "the duration's nanos {nanos} is outside -999999999 to 999999999"
                    )));
                }
                let value = seconds
                    .checked_mul(1_000_000_000)
                    .and_then(|ns| ns.checked_add(i64::from(nanos)))
                    .ok_or_else(|| {
                        Fault::new(format!(
                            "the duration {seconds}s is outside the range of nanosecond \
                             durations (about 292 years)"
                        ))
                    })?;
                p.push(value);
                Ok(())
            }
            Val::Wrapper(inner) => {
                match last_field(buf, segments, 1, depth)? {
                    Some((wire, mut at, end)) => inner
                        .read(wire, 1, buf, &mut at, end, depth + 1)
                        .map_err(|f| f.within_name("value"))?,
                    None => inner.push_default(depth)?,
                }
                Ok(())
            }
            Val::Json(b, kind) => {
                let result = match kind {
                    JsonKind::Struct => json_struct(buf, segments, b.data_mut(), depth + 1),
                    JsonKind::Value => json_value(buf, segments, b.data_mut(), depth + 1),
                    JsonKind::List => json_list(buf, segments, b.data_mut(), depth + 1),
                    JsonKind::Any => json_any(buf, segments, b.data_mut(), depth + 1),
                };
                match result {
                    Ok(()) => b.commit(),
                    Err(fault) => {
                        b.abandon();
                        Err(fault)
                    }
                }
            }
            Val::Raw(b) => {
                let data = b.data_mut();
                for segment in segments {
                    data.extend_from_slice(buf.get(segment.clone()).unwrap_or_default());
                }
                b.commit()
            }
            _ => Err(Fault::new("a scalar was read as a message")),
        }
    }

    /// The key of row `row`, for finding repeated map keys.
    fn key(&self, row: usize) -> Key<'_> {
        let get = |values: &[i64]| values.get(row).copied().unwrap_or(0);
        match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => {
                Key::Int(i64::from(p.values.get(row).copied().unwrap_or(0)))
            }
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => Key::Int(get(&p.values)),
            Val::Uint32(p) | Val::Fixed32(p) => {
                Key::UInt(u64::from(p.values.get(row).copied().unwrap_or(0)))
            }
            Val::Uint64(p) | Val::Fixed64(p) => Key::UInt(p.values.get(row).copied().unwrap_or(0)),
            Val::Bool(b) => Key::Bool(b.get(row)),
            Val::String(b) => Key::Text(b.get(row)),
            _ => Key::Int(0),
        }
    }

    /// The finished array, leaving the builder empty.
    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Val::Int32(p) | Val::Sint32(p) | Val::Sfixed32(p) => prim::<Int32Type>(p),
            Val::Int64(p) | Val::Sint64(p) | Val::Sfixed64(p) => prim::<Int64Type>(p),
            Val::Uint32(p) | Val::Fixed32(p) => prim::<UInt32Type>(p),
            Val::Uint64(p) | Val::Fixed64(p) => prim::<UInt64Type>(p),
            Val::Float(p) => prim::<Float32Type>(p),
            Val::Double(p) => prim::<Float64Type>(p),
            Val::Timestamp(p) => {
                let (values, nulls) = p.take();
                Arc::new(
                    PrimitiveArray::<TimestampNanosecondType>::new(values, nulls)
                        .with_timezone("UTC"),
                )
            }
            Val::Duration(p) => prim::<DurationNanosecondType>(p),
            Val::Bool(b) => b.finish(),
            Val::String(b) | Val::Json(b, _) => {
                let (offsets, data, nulls) = b.take()?;
                Arc::new(StringArray::try_new(offsets, data, nulls)?)
            }
            Val::Bytes(b) | Val::Raw(b) => {
                let (offsets, data, nulls) = b.take()?;
                Arc::new(BinaryArray::try_new(offsets, data, nulls)?)
            }
            Val::Enum(e) => e.finish()?,
            Val::Message(m) => m.finish()?,
            Val::Wrapper(inner) => inner.finish()?,
        })
    }
}

/// A map key, compared to find repeated keys.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    /// A signed integer key.
    Int(i64),
    /// An unsigned integer key.
    UInt(u64),
    /// A `bool` key.
    Bool(bool),
    /// A `string` key's bytes.
    Text(&'a [u8]),
}

/// A primitive array of Arrow type `A`.
fn prim<A: ArrowPrimitiveType>(p: &mut Prim<A::Native>) -> ArrayRef {
    let (values, nulls) = p.take();
    Arc::new(PrimitiveArray::<A>::new(values, nulls))
}

/// Reads packed varints.
#[inline]
fn read_varints<T: arrow_buffer::ArrowNativeType>(
    p: &mut Prim<T>,
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    convert: impl Fn(u64) -> T,
) -> Result<(), Fault> {
    while *pos < end {
        p.push(convert(varint(buf, pos, end)?));
    }
    Ok(())
}

/// Reads packed fixed-width values.
#[inline]
fn read_fixed<T: arrow_buffer::ArrowNativeType, const N: usize>(
    p: &mut Prim<T>,
    bytes: &[u8],
    type_name: &str,
    convert: impl Fn([u8; N]) -> T,
) -> Result<(), Fault> {
    if !bytes.len().is_multiple_of(N) {
        return Err(Fault::new(format!(
            "packed `{type_name}` values take {} bytes, not a multiple of {N}",
            bytes.len()
        )));
    }
    p.extend(bytes.chunks_exact(N).map(|chunk| {
        let mut array = [0u8; N];
        array.copy_from_slice(chunk);
        convert(array)
    }));
    Ok(())
}

/// Decodes one message (given as the segments of its occurrences) as a row
/// of `msg`.
fn decode_message(
    msg: &mut MsgCol,
    buf: &[u8],
    segments: &[Range<usize>],
    depth: u32,
) -> Result<(), Fault> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let row = msg.len;
    for (seg_index, segment) in segments.iter().enumerate() {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let tag_at = pos;
            let (number, wire) = tag(buf, &mut pos, end)?;
            let Some(index) = msg.slot_of(number) else {
                skip(buf, &mut pos, end, number, wire, depth)?;
                continue;
            };
            let Some(slot) = msg.slots.get_mut(index) else {
                return Err(Fault::new("the field table is inconsistent"));
            };
            let oneof = slot.oneof;
            match read_field(slot, row, wire, number, buf, &mut pos, end, depth) {
                Ok(true) => {}
                Ok(false) => {
                    // A message field seen again: merge every occurrence.
                    let siblings = msg.oneof_siblings(oneof, index);
                    let mut ranges = occurrences(
                        buf,
                        segments,
                        Some((seg_index, tag_at)),
                        number,
                        &siblings,
                        depth,
                    )?;
                    let Some(slot) = msg.slots.get_mut(index) else {
                        return Err(Fault::new("the field table is inconsistent"));
                    };
                    let SlotKind::Single { val, .. } = &mut slot.kind else {
                        return Err(Fault::new("the field table is inconsistent"));
                    };
                    let range =
                        message_range(wire, number, buf, &mut pos, end, depth, val.type_name())
                            .map_err(|f| f.within(&slot.name))?;
                    ranges.push(range);
                    val.truncate(row);
                    val.read_segments(buf, &ranges, depth)
                        .map_err(|f| f.within(&slot.name))?;
                    slot.set_in = row + 1;
                }
                Err(fault) => return Err(fault.within(&slot.name)),
            }
            if let Some(oneof) = oneof {
                msg.clear_oneof(oneof, index, row);
            }
        }
    }
    for slot in &mut msg.slots {
        end_row(slot, row, buf, segments, depth).map_err(|f| f.within(&slot.name))?;
    }
    msg.nulls.append_non_null();
    msg.len += 1;
    Ok(())
}

/// Reads one occurrence of a field into its slot; `false` when it is a
/// message field already set in this row, which the caller merges.
#[inline]
#[allow(
    clippy::too_many_arguments,
    reason = "the reader's state, passed apart to stay in registers"
)]
fn read_field(
    slot: &mut Slot,
    row: usize,
    wire: u8,
    number: u32,
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    depth: u32,
) -> Result<bool, Fault> {
    match &mut slot.kind {
        SlotKind::Single { val, merges, .. } => {
            if slot.set_in == row + 1 {
                if *merges {
                    return Ok(false);
                }
                // The last value of a singular field wins.
                val.truncate(row);
            }
            val.read(wire, number, buf, pos, end, depth)?;
            slot.set_in = row + 1;
        }
        SlotKind::List { offsets, elem, .. } => {
            let index = elem.len() - offsets.start();
            let result = if wire == LEN && elem.is_packable() {
                len_range(buf, pos, end).and_then(|range| elem.read_packed(buf, range))
            } else {
                elem.read(wire, number, buf, pos, end, depth)
            };
            result.map_err(|f| f.at(index))?;
        }
        SlotKind::Map(map) => {
            let MapSlot {
                offsets,
                keys,
                values,
                ..
            } = &mut **map;
            let index = keys.len() - offsets.start();
            if wire != LEN {
                return Err(mismatch(wire, "map entry").at(index));
            }
            let range = len_range(buf, pos, end).map_err(|f| f.at(index))?;
            read_entry(keys, values, buf, range, depth).map_err(|f| f.at(index))?;
        }
    }
    Ok(true)
}

/// Ends a message's row in one slot: fills an absent field, closes a list
/// or map.
fn end_row(
    slot: &mut Slot,
    row: usize,
    buf: &[u8],
    segments: &[Range<usize>],
    depth: u32,
) -> Result<(), Fault> {
    match &mut slot.kind {
        SlotKind::Single {
            presence,
            required,
            val,
            ..
        } => {
            if slot.set_in != row + 1 {
                if *presence {
                    val.push_null();
                } else if *required {
                    return Err(Fault::new("the field is required but absent"));
                } else {
                    val.push_default(depth)?;
                }
            }
        }
        SlotKind::List { offsets, elem, .. } => offsets.commit(elem.len())?,
        SlotKind::Map(map) => {
            let MapSlot {
                offsets,
                keys,
                values,
                ..
            } = &mut **map;
            let start = offsets.start();
            let count = keys.len() - start;
            if count > 1 && has_repeated_key(keys, start, count) {
                drop_repeated_keys(keys, values, buf, segments, slot.number, start, depth)?;
            }
            offsets.commit(keys.len())?;
        }
    }
    Ok(())
}

/// Whether the `count` keys from `start` repeat one.
fn has_repeated_key(keys: &Val, start: usize, count: usize) -> bool {
    if count <= 16 {
        (0..count).any(|i| (i + 1..count).any(|j| keys.key(start + i) == keys.key(start + j)))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        (0..count).any(|i| !seen.insert(keys.key(start + i)))
    }
}

/// Rebuilds a map row keeping only the last entry of each key.
fn drop_repeated_keys(
    keys: &mut Val,
    values: &mut Val,
    buf: &[u8],
    segments: &[Range<usize>],
    number: u32,
    start: usize,
    depth: u32,
) -> Result<(), Fault> {
    let count = keys.len() - start;
    let keep: Vec<bool> = {
        let mut last = HashMap::with_capacity(count);
        for i in 0..count {
            last.insert(keys.key(start + i), i);
        }
        (0..count)
            .map(|i| last.get(&keys.key(start + i)) == Some(&i))
            .collect()
    };
    let entries = occurrences(buf, segments, None, number, &[], depth)?;
    if entries.len() != count {
        return Err(Fault::new("the map's entries changed between two reads"));
    }
    keys.truncate(start);
    values.truncate(start);
    for (range, keep) in entries.into_iter().zip(keep) {
        if keep {
            read_entry(keys, values, buf, range, depth)?;
        }
    }
    Ok(())
}

/// Reads one map entry: the key (field 1) and value (field 2), the last of
/// each winning, either absent meaning its default.
fn read_entry(
    keys: &mut Val,
    values: &mut Val,
    buf: &[u8],
    range: Range<usize>,
    depth: u32,
) -> Result<(), Fault> {
    let end = range.end;
    let mut pos = range.start;
    let mut key_at = None;
    let mut value_at = None;
    let mut value_count = 0usize;
    while pos < end {
        let (number, wire) = tag(buf, &mut pos, end)?;
        match number {
            1 => key_at = Some((wire, pos)),
            2 => {
                value_at = Some((wire, pos));
                value_count += 1;
            }
            _ => {}
        }
        skip(buf, &mut pos, end, number, wire, depth + 1)?;
    }
    match key_at {
        Some((wire, mut at)) => keys.read(wire, 1, buf, &mut at, end, depth + 1),
        None => keys.push_default(depth + 1),
    }
    .map_err(|f| f.within_name("key"))?;
    let value = match value_at {
        Some(_) if value_count > 1 && values.is_message() => {
            occurrences(buf, std::slice::from_ref(&range), None, 2, &[], depth + 1)
                .and_then(|ranges| values.read_segments(buf, &ranges, depth + 1))
        }
        Some((wire, mut at)) => values.read(wire, 2, buf, &mut at, end, depth + 1),
        None => values.push_default(depth + 1),
    };
    if let Err(fault) = value {
        keys.truncate(keys.len() - 1);
        return Err(fault.within_name("value"));
    }
    Ok(())
}

/// The ranges of the message-typed occurrences of field `number` in a
/// message's segments, up to `stop` (a segment index and position) or the
/// end; an occurrence of a field in `resets` (another case of the same
/// `oneof`) forgets those before it.
fn occurrences(
    buf: &[u8],
    segments: &[Range<usize>],
    stop: Option<(usize, usize)>,
    number: u32,
    resets: &[u32],
    depth: u32,
) -> Result<Vec<Range<usize>>, Fault> {
    let mut found = Vec::new();
    for (seg_index, segment) in segments.iter().enumerate() {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            if stop == Some((seg_index, pos)) {
                return Ok(found);
            }
            let (field, wire) = tag(buf, &mut pos, end)?;
            if field == number && (wire == LEN || wire == SGROUP) {
                found.push(message_range(
                    wire, field, buf, &mut pos, end, depth, "message",
                )?);
            } else {
                if resets.contains(&field) {
                    found.clear();
                }
                skip(buf, &mut pos, end, field, wire, depth)?;
            }
        }
    }
    Ok(found)
}

/// Where the last occurrence of field `number` is in a message's segments:
/// its wire type, the position of its value and the end of its segment.
fn last_field(
    buf: &[u8],
    segments: &[Range<usize>],
    number: u32,
    depth: u32,
) -> Result<Option<(u8, usize, usize)>, Fault> {
    let mut found = None;
    for segment in segments {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let (field, wire) = tag(buf, &mut pos, end)?;
            if field == number {
                found = Some((wire, pos, end));
            }
            skip(buf, &mut pos, end, field, wire, depth + 1)?;
        }
    }
    Ok(found)
}

/// The `seconds` (field 1) and `nanos` (field 2) of a Timestamp or
/// Duration.
fn seconds_nanos(buf: &[u8], segments: &[Range<usize>], depth: u32) -> Result<(i64, i32), Fault> {
    let mut seconds = 0i64;
    let mut nanos = 0i32;
    for segment in segments {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let (field, wire) = tag(buf, &mut pos, end)?;
            match (field, wire) {
                (1, VARINT) => seconds = varint(buf, &mut pos, end)? as i64,
                (2, VARINT) => nanos = varint(buf, &mut pos, end)? as i32,
                (1, _) => return Err(mismatch(wire, "int64").within_name("seconds")),
                (2, _) => return Err(mismatch(wire, "int32").within_name("nanos")),
                _ => skip(buf, &mut pos, end, field, wire, depth + 1)?,
            }
        }
    }
    Ok((seconds, nanos))
}

/// Writes a `google.protobuf.Value` as JSON.
fn json_value(
    buf: &[u8],
    segments: &[Range<usize>],
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<(), Fault> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    // The kind is a oneof: the last one wins; message kinds seen several
    // times in a row merge.
    let mut kind: Option<(u32, u8, usize, usize)> = None;
    let mut repeats = 0usize;
    for segment in segments {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let (field, wire) = tag(buf, &mut pos, end)?;
            if (1..=6).contains(&field) {
                repeats = match kind {
                    Some((last, ..)) if last == field => repeats + 1,
                    _ => 1,
                };
                kind = Some((field, wire, pos, end));
            }
            skip(buf, &mut pos, end, field, wire, depth)?;
        }
    }
    let Some((field, wire, mut pos, end)) = kind else {
        out.extend_from_slice(b"null");
        return Ok(());
    };
    match field {
        1 => {
            expect(wire, VARINT, "google.protobuf.NullValue")?;
            out.extend_from_slice(b"null");
        }
        2 => {
            expect(wire, I64, "double")?;
            let number = f64::from_le_bytes(fixed::<8>(buf, &mut pos, end)?);
            if !number.is_finite() {
                return Err(Fault::new(format!("the number {number} has no JSON form")));
            }
            text::push_f64(out, number);
        }
        3 => {
            expect(wire, LEN, "string")?;
            let range = len_range(buf, &mut pos, end)?;
            text::push_json_string(out, utf8(buf.get(range).unwrap_or_default())?);
        }
        4 => {
            expect(wire, VARINT, "bool")?;
            let value = varint(buf, &mut pos, end)? != 0;
            out.extend_from_slice(if value { b"true" } else { b"false" });
        }
        _ => {
            let type_name = if field == 5 {
                "google.protobuf.Struct"
            } else {
                "google.protobuf.ListValue"
            };
            let ranges = if repeats > 1 {
                let others: Vec<u32> = (1..=6).filter(|f| *f != field).collect();
                occurrences(buf, segments, None, field, &others, depth)?
            } else {
                vec![message_range(
                    wire, field, buf, &mut pos, end, depth, type_name,
                )?]
            };
            if field == 5 {
                json_struct(buf, &ranges, out, depth + 1)?;
            } else {
                json_list(buf, &ranges, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// Writes a `google.protobuf.Struct` as a JSON object; a repeated key keeps
/// its last value.
fn json_struct(
    buf: &[u8],
    segments: &[Range<usize>],
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<(), Fault> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let mut entries: Vec<Option<(&str, Range<usize>)>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for segment in segments {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let (field, wire) = tag(buf, &mut pos, end)?;
            if field != 1 {
                skip(buf, &mut pos, end, field, wire, depth)?;
                continue;
            }
            expect(wire, LEN, "google.protobuf.Struct.FieldsEntry")?;
            let entry = len_range(buf, &mut pos, end)?;
            let key = match last_field(buf, std::slice::from_ref(&entry), 1, depth)? {
                Some((LEN, mut at, end)) => {
                    let range = len_range(buf, &mut at, end)?;
                    utf8(buf.get(range).unwrap_or_default())?
                }
                Some((wire, ..)) => return Err(mismatch(wire, "string")),
                None => "",
            };
            if let Some(earlier) = index.insert(key, entries.len())
                && let Some(slot) = entries.get_mut(earlier)
            {
                *slot = None;
            }
            entries.push(Some((key, entry)));
        }
    }
    out.push(b'{');
    for (i, (key, entry)) in entries.iter().flatten().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        text::push_json_string(out, key);
        out.push(b':');
        let values = occurrences(buf, std::slice::from_ref(entry), None, 2, &[], depth)?;
        if values.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            json_value(buf, &values, out, depth + 1)?;
        }
    }
    out.push(b'}');
    Ok(())
}

/// Writes a `google.protobuf.ListValue` as a JSON array.
fn json_list(
    buf: &[u8],
    segments: &[Range<usize>],
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<(), Fault> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    out.push(b'[');
    let mut first = true;
    for segment in segments {
        let end = segment.end.min(buf.len());
        let mut pos = segment.start;
        while pos < end {
            let (field, wire) = tag(buf, &mut pos, end)?;
            if field != 1 {
                skip(buf, &mut pos, end, field, wire, depth)?;
                continue;
            }
            let range = message_range(
                wire,
                field,
                buf,
                &mut pos,
                end,
                depth,
                "google.protobuf.Value",
            )?;
            if !first {
                out.push(b',');
            }
            first = false;
            json_value(buf, std::slice::from_ref(&range), out, depth + 1)?;
        }
    }
    out.push(b']');
    Ok(())
}

/// Writes a `google.protobuf.Any` as `{"@type": URL, "value": BASE64}`.
fn json_any(
    buf: &[u8],
    segments: &[Range<usize>],
    out: &mut Vec<u8>,
    depth: u32,
) -> Result<(), Fault> {
    let bytes_of = |found: Option<(u8, usize, usize)>, type_name: &str| match found {
        Some((LEN, mut at, end)) => {
            let range = len_range(buf, &mut at, end)?;
            Ok(Some(buf.get(range).unwrap_or_default()))
        }
        Some((wire, ..)) => Err(mismatch(wire, type_name)),
        None => Ok(None),
    };
    let url = bytes_of(last_field(buf, segments, 1, depth)?, "string")?;
    let value = bytes_of(last_field(buf, segments, 2, depth)?, "bytes")?;
    if url.is_none() && value.is_none() {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    out.extend_from_slice(b"{\"@type\":");
    text::push_json_string(out, utf8(url.unwrap_or_default())?);
    out.extend_from_slice(b",\"value\":\"");
    let mut encoded = String::new();
    base64::engine::general_purpose::STANDARD
        .encode_string(value.unwrap_or_default(), &mut encoded);
    out.extend_from_slice(encoded.as_bytes());
    out.extend_from_slice(b"\"}");
    Ok(())
}
