//! Avro datums to Arrow: [`AvroDecoder`], which runs a compiled
//! [`Program`] over each datum's bytes.
//!
//! Every read is bounds-checked: varints are at most 10 bytes and must fit
//! 64 bits (and 32 for `int`), lengths and block counts must be
//! non-negative and fit in what is left of the value (counts are divided by
//! the fewest bytes an item can take, and items that take no bytes at all
//! are capped per value), union and enum indexes must be in range, strings
//! must be UTF-8, recursive values nest at most [`MAX_DEPTH`] levels, and a
//! datum must end exactly where its bytes do. A failure is a [`RowError`]
//! naming the field path; the row is taken back out of every column
//! (builders truncate to the last good row count) and the batch goes on.

use std::fmt;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_buffer::{IntervalMonthDayNano, i256};
use arrow_schema::{ArrowError, SchemaRef};

use super::builders::Builders;
use super::program::{Branch, Program, Shape, ShapeId, Step, StepId, compile};
use super::{AvroSchema, AvroSchemaError, MAX_DEPTH, mapping};
use crate::format::text;
use crate::format::{Decoded, RowError};

/// Items that take no bytes (`null`, empty records) one value may hold in
/// all its arrays and maps together; without a cap, a count alone could
/// make the decoder loop for ever.
const MAX_ZERO_SIZE_ITEMS: usize = 1 << 20;

/// Decodes Avro datums (the payloads after the wire-format header) into
/// record batches.
///
/// Built from the writer's schema, and optionally a reader's schema to
/// resolve it against; the batches have the reader's Arrow schema (the
/// writer's when there is no reader). It keeps its builders between calls,
/// so one decoder per writer schema and source task is the intended use.
pub struct AvroDecoder {
    /// The schema of the batches.
    schema: SchemaRef,
    /// The compiled steps.
    program: Program,
    /// The column builders.
    builders: Builders,
}

impl fmt::Debug for AvroDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvroDecoder")
            .field("schema", &self.schema)
            .field("steps", &self.program.steps.len())
            .finish_non_exhaustive()
    }
}

impl AvroDecoder {
    /// A decoder of datums written with `writer`, read as `reader` (or as
    /// `writer` itself).
    ///
    /// # Errors
    ///
    /// [`AvroSchemaError::Unsupported`] when the reader's schema has a type
    /// Arrow cannot hold here; [`AvroSchemaError::Incompatible`] when the
    /// writer's schema cannot be read as the reader's (a reader field with
    /// no default that the writer lacks, types that do not promote, named
    /// types with different names), naming the reader's field.
    pub fn new(writer: &AvroSchema, reader: Option<&AvroSchema>) -> Result<Self, AvroSchemaError> {
        let reader = reader.unwrap_or(writer);
        let (arrow, is_record) = mapping::to_arrow(reader)?;
        let schema = Arc::new(arrow);
        let builders =
            Builders::new(schema.fields()).map_err(|message| AvroSchemaError::Unsupported {
                path: String::new(),
                message,
            })?;
        let program = compile(
            (&writer.root, &writer.names),
            (&reader.root, &reader.names),
            &builders,
            is_record,
        )?;
        tracing::debug!(
            columns = schema.fields().len(),
            steps = program.steps.len(),
            "compiled an Avro decoder"
        );
        Ok(AvroDecoder {
            schema,
            program,
            builders,
        })
    }

    /// The schema of the batches this decoder builds.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes one batch of datums into the rows that decode and the
    /// errors of those that do not.
    pub fn decode(&mut self, values: &[&[u8]]) -> Decoded {
        let mut rows = Vec::with_capacity(values.len());
        let mut errors = Vec::new();
        for (index, value) in values.iter().enumerate() {
            let row = u32::try_from(index).unwrap_or(u32::MAX);
            let good = self.builders.structs[0].len;
            let mut exec = Exec {
                steps: &self.program.steps,
                shapes: Shapes {
                    shapes: &self.program.shapes,
                    min_sizes: &self.program.min_sizes,
                },
                b: &mut self.builders,
                zero_size_budget: MAX_ZERO_SIZE_ITEMS,
            };
            let mut cursor = Cursor { buf: value };
            let result = exec.run(self.program.root, &mut cursor).and_then(|()| {
                if cursor.buf.is_empty() {
                    Ok(())
                } else {
                    Err(Fault::new(format!(
                        "{} left after the end of the datum; is the value written with another \
                         schema?",
                        bytes(cursor.buf.len())
                    )))
                }
            });
            match result {
                Ok(()) => rows.push(row),
                Err(fault) => {
                    self.builders.truncate(0, good);
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
                tracing::error!(%error, "avro decoder built an invalid batch");
                self.builders.truncate(0, 0);
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
        let children = self
            .builders
            .nodes
            .first()
            .map(|root| root.children.clone())
            .unwrap_or_default();
        let columns = children
            .iter()
            .map(|child| self.builders.finish(*child))
            .collect::<Result<Vec<_>, _>>();
        // The root struct's own rows are the batch's row count.
        self.builders.structs[0] = Default::default();
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), columns?, &options)
    }
}

/// Why a value failed, with the path to the field, innermost first.
pub(super) struct Fault {
    /// Path segments, innermost first.
    path: Vec<Segment>,
    /// What is wrong.
    message: String,
}

/// One step of a field path.
enum Segment {
    /// A record field.
    Field(Arc<str>),
    /// An array item.
    Index(usize),
    /// A map value.
    Key(String),
}

impl Fault {
    /// A fault at the current position.
    #[cold]
    pub(super) fn new(message: String) -> Box<Fault> {
        Box::new(Fault {
            path: Vec::new(),
            message,
        })
    }

    /// Adds the record field the fault happened in.
    pub(super) fn within_field(mut self: Box<Self>, name: &Arc<str>) -> Box<Self> {
        self.path.push(Segment::Field(name.clone()));
        self
    }

    /// Adds the array item the fault happened in.
    pub(super) fn within_index(mut self: Box<Self>, index: usize) -> Box<Self> {
        self.path.push(Segment::Index(index));
        self
    }

    /// Adds the map value the fault happened in.
    pub(super) fn within_key(mut self: Box<Self>, key: &str) -> Box<Self> {
        self.path.push(Segment::Key(key.chars().take(64).collect()));
        self
    }

    /// The message naming the field path.
    pub(super) fn message(&self) -> String {
        if self.path.is_empty() {
            return self.message.clone();
        }
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(itoa::Buffer::new().format(*i));
                    path.push(']');
                }
                Segment::Key(key) => {
                    path.push('[');
                    let mut quoted = Vec::new();
                    text::push_json_string(&mut quoted, key);
                    path.push_str(&String::from_utf8_lossy(&quoted));
                    path.push(']');
                }
            }
        }
        format!("field `{path}`: {}", self.message)
    }
}

/// The result of a read.
pub(super) type Read<T> = Result<T, Box<Fault>>;

/// The bytes of a value not read yet.
pub(super) struct Cursor<'a> {
    /// What is left.
    pub(super) buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Reads a zig-zag varint `long`.
    #[inline(always)]
    pub(super) fn long(&mut self) -> Read<i64> {
        match self.buf.first() {
            Some(&byte) if byte < 0x80 => {
                self.buf = &self.buf[1..];
                Ok(unzigzag(u64::from(byte)))
            }
            _ => self.long_slow(),
        }
    }

    /// [`Cursor::long`] past one byte.
    #[inline(never)]
    fn long_slow(&mut self) -> Read<i64> {
        let buf = self.buf;
        let mut value = 0u64;
        let end = buf.len().min(10);
        let mut i = 0;
        while i < end {
            let byte = buf[i];
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                if i == 9 && byte > 1 {
                    return Err(overflow());
                }
                self.buf = &buf[i + 1..];
                return Ok(unzigzag(value));
            }
            i += 1;
        }
        if end == 10 {
            Err(overflow())
        } else {
            Err(Fault::new(
                "the value ends in the middle of a number".to_owned(),
            ))
        }
    }

    /// Reads an `int`.
    #[inline]
    pub(super) fn int(&mut self) -> Read<i32> {
        let value = self.long()?;
        i32::try_from(value)
            .map_err(|_| Fault::new(format!("int value {value} is out of the 32-bit range")))
    }

    /// Takes the next `n` bytes of a `what`.
    #[inline(always)]
    pub(super) fn take(&mut self, n: usize, what: &str) -> Read<&'a [u8]> {
        if n > self.buf.len() {
            return Err(past_end(what, n, self.buf.len()));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a length-prefixed `bytes` or `string`.
    #[inline(always)]
    pub(super) fn bytes(&mut self, what: &str) -> Read<&'a [u8]> {
        let len = self.long()?;
        let Ok(len) = usize::try_from(len) else {
            return Err(negative_length(what, len));
        };
        self.take(len, what)
    }

    /// Reads a `string`, checked to be UTF-8.
    #[inline(always)]
    pub(super) fn string(&mut self) -> Read<&'a [u8]> {
        let bytes = self.bytes("string")?;
        // Most strings are ASCII, which a word-at-a-time check settles.
        if bytes.is_ascii() {
            return Ok(bytes);
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(bytes),
            Err(error) => Err(not_utf8(error.valid_up_to())),
        }
    }

    /// Reads a block count of an array or map: the number of items that
    /// follow (0 at the end), skipping the byte size a negative count
    /// carries, checked against what is left when each item takes at least
    /// `min_size` bytes.
    #[inline(always)]
    pub(super) fn block(&mut self, min_size: usize, budget: &mut usize, what: &str) -> Read<usize> {
        let count = self.long()?;
        if count == 0 {
            return Ok(0);
        }
        if count < 0 {
            let size = self.long()?;
            let Ok(size) = usize::try_from(size) else {
                return Err(Fault::new(format!(
                    "an {what} block has a negative byte size ({size})"
                )));
            };
            if size > self.buf.len() {
                return Err(Fault::new(format!(
                    "an {what} block of {} runs {} past the end of the value",
                    bytes(size),
                    bytes(size - self.buf.len())
                )));
            }
        }
        let items = count.unsigned_abs();
        let items = usize::try_from(items).unwrap_or(usize::MAX);
        if min_size == 0 {
            if items > *budget {
                return Err(Fault::new(format!(
                    "the value holds more than {MAX_ZERO_SIZE_ITEMS} {what} items that take no bytes"
                )));
            }
            *budget -= items;
        } else if items > self.buf.len() / min_size {
            return Err(Fault::new(format!(
                "an {what} block of {items} items needs at least {}, but the value has {} left",
                bytes(items.saturating_mul(min_size)),
                bytes(self.buf.len())
            )));
        }
        Ok(items)
    }
}

/// Text checked to be UTF-8 by [`Cursor::string`].
fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A map key for an error path: its first 64 characters.
fn key_text(key: &[u8]) -> String {
    utf8(key).chars().take(64).collect()
}

/// The fault for a varint over 64 bits.
#[cold]
#[inline(never)]
fn overflow() -> Box<Fault> {
    Fault::new("a varint overflows 64 bits (its tenth byte is over 1)".to_owned())
}

/// The fault for a read past the end.
#[cold]
#[inline(never)]
fn past_end(what: &str, n: usize, left: usize) -> Box<Fault> {
    Fault::new(format!(
        "a {what} of {} runs {} past the end of the value",
        bytes(n),
        bytes(n - left)
    ))
}

/// The fault for a negative length.
#[cold]
#[inline(never)]
fn negative_length(what: &str, len: i64) -> Box<Fault> {
    Fault::new(format!("a {what} has a negative length ({len})"))
}

/// The fault for a string that is not UTF-8.
#[cold]
#[inline(never)]
fn not_utf8(at: usize) -> Box<Fault> {
    Fault::new(format!("a string is not valid UTF-8 (at byte {at})"))
}

/// A count of bytes for messages: `1 byte`, `2 bytes`.
pub(super) fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

/// Undoes zig-zag encoding.
#[inline]
fn unzigzag(n: u64) -> i64 {
    // The casts reinterpret bits, which is what zig-zag is.
    #[allow(clippy::cast_possible_wrap)]
    let value = (n >> 1) as i64 ^ -((n & 1) as i64);
    value
}

/// A program's shapes and their sizes.
#[derive(Clone, Copy)]
struct Shapes<'p> {
    /// The shapes.
    shapes: &'p [Shape],
    /// The fewest bytes a value of each shape takes.
    min_sizes: &'p [usize],
}

impl Shapes<'_> {
    /// The shape `id`.
    fn get(&self, id: ShapeId) -> Option<&Shape> {
        self.shapes.get(id as usize)
    }

    /// The fewest bytes a value of shape `id` takes.
    fn min_size(&self, id: ShapeId) -> usize {
        self.min_sizes.get(id as usize).copied().unwrap_or(0)
    }
}

/// Runs steps against one value's bytes.
struct Exec<'p> {
    /// The program's steps.
    steps: &'p [Step],
    /// The program's shapes.
    shapes: Shapes<'p>,
    /// The builders.
    b: &'p mut Builders,
    /// How many more zero-size items the value may hold.
    zero_size_budget: usize,
}

impl Exec<'_> {
    /// Runs step `id`.
    #[inline]
    fn run(&mut self, id: StepId, cur: &mut Cursor<'_>) -> Read<()> {
        let steps = self.steps;
        self.dispatch(&steps[id as usize], cur)
    }

    /// Runs one step, the common scalar ones without a call.
    #[inline(always)]
    fn dispatch(&mut self, step: &Step, cur: &mut Cursor<'_>) -> Read<()> {
        let b = &mut *self.b;
        match step {
            Step::Long(c) => long_into(b, *c, cur),
            Step::Int(c) => int_into(b, *c, cur),
            Step::String(c) => string_into(b, *c, cur),
            Step::Double(c) => double_into(b, *c, cur),
            Step::Bool(c) => bool_into(b, *c, cur),
            Step::Float(c) => float_into(b, *c, cur),
            Step::Bytes(c) => bytes_into(b, *c, cur),
            Step::Decimal128 {
                col,
                fixed,
                max,
                precision,
            } => decimal128_into(b, *col, *fixed, *max, *precision, cur),
            Step::Union(branches) => {
                let index = cur.long()?;
                match usize::try_from(index).ok().and_then(|i| branches.get(i)) {
                    Some(Branch::Run(then)) => self.run(*then, cur),
                    _ => Err(bad_branch(index, branches)),
                }
            }
            _ => self.step(step, cur),
        }
    }

    /// Runs one step.
    fn step(&mut self, step: &Step, cur: &mut Cursor<'_>) -> Read<()> {
        let b = &mut *self.b;
        match step {
            Step::Null(c) => b.nulls[*c as usize] += 1,
            Step::PushNull(node) => b.push_null(*node).map_err(too_large)?,
            Step::Bool(c) => bool_into(b, *c, cur)?,
            Step::Int(c) => int_into(b, *c, cur)?,
            Step::IntToLong(c) => {
                let v = cur.int()?;
                b.i64s[*c as usize].push(i64::from(v));
            }
            Step::IntToFloat(c) => {
                let v = cur.int()?;
                // The specification's promotion; rounding is its meaning.
                #[allow(clippy::cast_precision_loss)]
                b.f32s[*c as usize].push(v as f32);
            }
            Step::IntToDouble(c) => {
                let v = cur.int()?;
                b.f64s[*c as usize].push(f64::from(v));
            }
            Step::Long(c) => long_into(b, *c, cur)?,
            Step::LongToFloat(c) => {
                let v = cur.long()?;
                #[allow(clippy::cast_precision_loss)]
                b.f32s[*c as usize].push(v as f32);
            }
            Step::LongToDouble(c) => {
                let v = cur.long()?;
                #[allow(clippy::cast_precision_loss)]
                b.f64s[*c as usize].push(v as f64);
            }
            Step::Float(c) => float_into(b, *c, cur)?,
            Step::FloatToDouble(c) => {
                let v = f32::from_le_bytes(array(cur.take(4, "float")?));
                b.f64s[*c as usize].push(f64::from(v));
            }
            Step::Double(c) => double_into(b, *c, cur)?,
            Step::String(c) => string_into(b, *c, cur)?,
            Step::Bytes(c) => bytes_into(b, *c, cur)?,
            Step::Uuid(c) => {
                let s = cur.string()?;
                if !is_uuid(s) {
                    let shown: String = String::from_utf8_lossy(s).chars().take(40).collect();
                    return Err(Fault::new(format!(
                        "`{shown}` is not a UUID (32 hex digits in groups of 8-4-4-4-12)"
                    )));
                }
                b.bytes[*c as usize].push(s).map_err(too_large)?;
            }
            Step::UuidBytes(c) => {
                let v = cur.bytes("uuid")?;
                if v.len() != 16 {
                    return Err(Fault::new(format!(
                        "a uuid of {} bytes; a uuid has 16",
                        v.len()
                    )));
                }
                b.fixed[*c as usize].push(v);
            }
            Step::Fixed { col, size } => {
                let v = cur.take(*size as usize, "fixed")?;
                b.fixed[*col as usize].push(v);
            }
            Step::Enum(e) => {
                let index = cur.long()?;
                let symbol = usize::try_from(index).ok().and_then(|i| e.map.get(i));
                match symbol {
                    Some(&key) if key >= 0 => b.i32s[e.col as usize].push(key),
                    Some(_) => {
                        let symbol = usize::try_from(index)
                            .ok()
                            .and_then(|i| e.symbols.get(i))
                            .map_or("?", |s| &**s);
                        return Err(Fault::new(format!(
                            "enum symbol `{symbol}` is not in the reader's enum `{}`, \
                             which has no default",
                            e.name
                        )));
                    }
                    None => {
                        return Err(Fault::new(format!(
                            "enum index {index} is out of range; the writer's enum has {} symbols",
                            e.map.len()
                        )));
                    }
                }
            }
            Step::Decimal128 {
                col,
                fixed,
                max,
                precision,
            } => decimal128_into(b, *col, *fixed, *max, *precision, cur)?,
            Step::Decimal256 {
                col,
                fixed,
                max,
                precision,
            } => {
                let raw = match fixed {
                    None => cur.bytes("decimal")?,
                    Some(size) => cur.take(*size as usize, "decimal")?,
                };
                let v = decimal256(raw)?;
                let over = v.checked_abs().is_none_or(|abs| abs > **max);
                if over {
                    return Err(too_precise(&v, *precision));
                }
                b.i256s[*col as usize].push(v);
            }
            Step::Duration(c) => {
                let raw = cur.take(12, "duration")?;
                let part = |i: usize| u32::from_le_bytes(array(&raw[i * 4..i * 4 + 4]));
                let (months, days, millis) = (part(0), part(1), part(2));
                let (Ok(months), Ok(days)) = (i32::try_from(months), i32::try_from(days)) else {
                    return Err(Fault::new(format!(
                        "a duration of {months} months and {days} days is over the {} an Arrow interval holds",
                        i32::MAX
                    )));
                };
                let nanos = i64::from(millis) * 1_000_000;
                b.intervals[*c as usize].push(IntervalMonthDayNano::new(months, days, nanos));
            }
            Step::Record {
                strukt,
                first,
                count,
                names,
            } => {
                let steps = self.steps;
                let first = *first as usize;
                let fields = steps.get(first..first + *count as usize).unwrap_or(&[]);
                for (k, field) in fields.iter().enumerate() {
                    if let Err(mut fault) = self.dispatch(field, cur) {
                        if let Some(name) = names.get(k) {
                            fault.path.push(Segment::Field(name.clone()));
                        }
                        return Err(fault);
                    }
                }
                self.b.structs[*strukt as usize].push_valid();
            }
            Step::Array {
                list,
                item,
                min_size,
            } => {
                let mut total = 0usize;
                let steps = self.steps;
                let item = &steps[*item as usize];
                loop {
                    let items = cur.block(*min_size, &mut self.zero_size_budget, "array")?;
                    if items == 0 {
                        break;
                    }
                    for _ in 0..items {
                        if let Err(mut fault) = self.dispatch(item, cur) {
                            fault.path.push(Segment::Index(total));
                            return Err(fault);
                        }
                        total += 1;
                    }
                }
                self.b.lists[*list as usize]
                    .commit(total)
                    .map_err(too_large)?;
            }
            Step::Map {
                list,
                entries,
                key,
                value,
                min_size,
            } => {
                let mut total = 0usize;
                let steps = self.steps;
                let value = &steps[*value as usize];
                loop {
                    let items = cur.block(*min_size, &mut self.zero_size_budget, "map")?;
                    if items == 0 {
                        break;
                    }
                    for _ in 0..items {
                        let k = cur.string()?;
                        self.b.bytes[*key as usize].push(k).map_err(too_large)?;
                        if let Err(mut fault) = self.dispatch(value, cur) {
                            fault.path.push(Segment::Key(key_text(k)));
                            return Err(fault);
                        }
                        self.b.structs[*entries as usize].push_valid();
                        total += 1;
                    }
                }
                self.b.lists[*list as usize]
                    .commit(total)
                    .map_err(too_large)?;
            }
            Step::Union(branches) => {
                let index = cur.long()?;
                match usize::try_from(index).ok().and_then(|i| branches.get(i)) {
                    Some(Branch::Run(then)) => self.run(*then, cur)?,
                    _ => return Err(bad_branch(index, branches)),
                }
            }
            Step::Tag {
                union,
                type_id,
                then,
            } => {
                b.unions[*union as usize]
                    .push(*type_id)
                    .map_err(too_large)?;
                self.run(*then, cur)?;
            }
            Step::Skip(shape) => skip(self.shapes, *shape, cur, &mut self.zero_size_budget, 0)?,
            Step::Json { col, shape } => {
                let shapes = self.shapes;
                let out = &mut self.b.bytes[*col as usize];
                let budget = &mut self.zero_size_budget;
                let result = write_json(shapes, *shape, cur, &mut out.data, budget, 0);
                if let Err(fault) = result {
                    out.abandon();
                    return Err(fault);
                }
                out.commit().map_err(too_large)?;
            }
            Step::Default { bytes, then } => {
                let mut default = Cursor { buf: bytes };
                self.run(*then, &mut default)?;
            }
            Step::Pending => {
                return Err(Fault::new(
                    "internal error: the decoder ran an unfinished step".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// The fault for a union branch that is out of range or has no place in
/// the reader's schema.
#[cold]
#[inline(never)]
fn bad_branch(index: i64, branches: &[Branch]) -> Box<Fault> {
    match usize::try_from(index).ok().and_then(|i| branches.get(i)) {
        Some(Branch::Fail(message)) => Fault::new(message.to_string()),
        _ => Fault::new(format!(
            "union branch {index} is out of range; the writer's union has {} branches",
            branches.len()
        )),
    }
}

/// Reads a decimal into a `Decimal128` column.
#[inline(always)]
fn decimal128_into(
    b: &mut Builders,
    col: u32,
    fixed: Option<u32>,
    max: i128,
    precision: u8,
    cur: &mut Cursor<'_>,
) -> Read<()> {
    let raw = match fixed {
        None => cur.bytes("decimal")?,
        Some(size) => cur.take(size as usize, "decimal")?,
    };
    let v = decimal128(raw)?;
    if v.unsigned_abs() > max.unsigned_abs() {
        return Err(too_precise(&v, precision));
    }
    b.i128s[col as usize].push(v);
    Ok(())
}

/// The fault for a decimal with more digits than its precision.
#[cold]
#[inline(never)]
fn too_precise(value: &dyn fmt::Display, precision: u8) -> Box<Fault> {
    Fault::new(format!(
        "the decimal's unscaled value {value} has more digits than its precision {precision}"
    ))
}

/// Reads a `long` into an `i64` column.
#[inline(always)]
fn long_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let v = cur.long()?;
    b.i64s[c as usize].push(v);
    Ok(())
}

/// Reads an `int` into an `i32` column.
#[inline(always)]
fn int_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let v = cur.int()?;
    b.i32s[c as usize].push(v);
    Ok(())
}

/// Reads a `string` into a `Utf8` column.
#[inline(always)]
fn string_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let s = cur.string()?;
    b.bytes[c as usize].push(s).map_err(too_large)
}

/// Reads `bytes` into a `Binary` column.
#[inline(always)]
fn bytes_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let v = cur.bytes("bytes value")?;
    b.bytes[c as usize].push(v).map_err(too_large)
}

/// Reads a `double` into a `Float64` column.
#[inline(always)]
fn double_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let v = f64::from_le_bytes(array(cur.take(8, "double")?));
    b.f64s[c as usize].push(v);
    Ok(())
}

/// Reads a `float` into a `Float32` column.
#[inline(always)]
fn float_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let v = f32::from_le_bytes(array(cur.take(4, "float")?));
    b.f32s[c as usize].push(v);
    Ok(())
}

/// Reads a `boolean` into a `Boolean` column.
#[inline(always)]
fn bool_into(b: &mut Builders, c: u32, cur: &mut Cursor<'_>) -> Read<()> {
    let byte = cur.take(1, "boolean")?[0];
    if byte > 1 {
        return Err(bad_bool(byte));
    }
    b.bools[c as usize].push(byte == 1);
    Ok(())
}

/// The fault for a boolean byte other than 0 and 1.
#[cold]
#[inline(never)]
fn bad_bool(byte: u8) -> Box<Fault> {
    Fault::new(format!(
        "a boolean is the byte {byte}; only 0 and 1 are booleans"
    ))
}

/// A builder's size error as a fault.
#[cold]
fn too_large(message: &'static str) -> Box<Fault> {
    Fault::new(message.to_owned())
}

/// The first `N` bytes of a slice known to hold them.
#[inline]
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// A big-endian two's complement integer of up to 16 bytes (more when the
/// extra leading bytes only extend the sign).
#[inline(always)]
fn decimal128(raw: &[u8]) -> Read<i128> {
    let Some(&first) = raw.first() else {
        return Ok(0);
    };
    let fill = if first & 0x80 != 0 { 0xff } else { 0 };
    let (extra, digits) = raw.split_at(raw.len().saturating_sub(16));
    let extends = extra.iter().all(|&b| b == fill)
        && (extra.is_empty()
            || digits
                .first()
                .is_none_or(|&d| (d & 0x80 != 0) == (fill == 0xff)));
    if !extends {
        return Err(Fault::new(format!(
            "a decimal of {} bytes overflows 128 bits",
            raw.len()
        )));
    }
    // Shifting the bytes in avoids a call to copy a few of them.
    let mut value = if fill == 0 { 0i128 } else { -1i128 };
    for &byte in digits {
        value = (value << 8) | i128::from(byte);
    }
    Ok(value)
}

/// A big-endian two's complement integer of up to 32 bytes.
fn decimal256(raw: &[u8]) -> Read<i256> {
    let Some(&first) = raw.first() else {
        return Ok(i256::ZERO);
    };
    let fill = if first & 0x80 != 0 { 0xff } else { 0 };
    let (extra, digits) = raw.split_at(raw.len().saturating_sub(32));
    let extends = extra.iter().all(|&b| b == fill)
        && (extra.is_empty()
            || digits
                .first()
                .is_none_or(|&d| (d & 0x80 != 0) == (fill == 0xff)));
    if !extends {
        return Err(Fault::new(format!(
            "a decimal of {} bytes overflows 256 bits",
            raw.len()
        )));
    }
    let mut bytes = [fill; 32];
    bytes[32 - digits.len()..].copy_from_slice(digits);
    Ok(i256::from_be_bytes(bytes))
}

/// Whether text is a UUID in its canonical form, 8-4-4-4-12 hex digits.
pub(super) fn is_uuid(text: &[u8]) -> bool {
    text.len() == 36
        && text.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Skips a value of a shape.
fn skip(
    shapes: Shapes<'_>,
    id: ShapeId,
    cur: &mut Cursor<'_>,
    budget: &mut usize,
    depth: usize,
) -> Read<()> {
    if depth > MAX_DEPTH {
        return Err(deep());
    }
    match shapes.get(id) {
        None | Some(Shape::Pending) => {
            return Err(Fault::new("internal error: an unknown shape".to_owned()));
        }
        Some(Shape::Null) => {}
        Some(Shape::Bool) => {
            cur.take(1, "boolean")?;
        }
        Some(Shape::Int | Shape::Long | Shape::Enum(_)) => {
            cur.long()?;
        }
        Some(Shape::Float) => {
            cur.take(4, "float")?;
        }
        Some(Shape::Double) => {
            cur.take(8, "double")?;
        }
        Some(Shape::Bytes | Shape::String) => {
            cur.bytes("bytes")?;
        }
        Some(Shape::Fixed(size)) => {
            cur.take(*size, "fixed")?;
        }
        Some(Shape::Record(fields)) => {
            for (_, field) in fields.iter() {
                skip(shapes, *field, cur, budget, depth + 1)?;
            }
        }
        Some(Shape::Array(item)) => {
            let min = shapes.min_size(*item);
            loop {
                let count = cur.long()?;
                if count == 0 {
                    break;
                }
                if count < 0 {
                    // A negative count carries the block's byte size, so
                    // the whole block is skipped at once.
                    let size = cur.long()?;
                    let size = usize::try_from(size).map_err(|_| {
                        Fault::new(format!("an array block's byte size {size} is negative"))
                    })?;
                    cur.take(size, "skipped array block")?;
                    continue;
                }
                let items = blocked(count, min, cur, budget)?;
                for _ in 0..items {
                    skip(shapes, *item, cur, budget, depth + 1)?;
                }
            }
        }
        Some(Shape::Map(value)) => {
            let min = 1usize.saturating_add(shapes.min_size(*value));
            loop {
                let count = cur.long()?;
                if count == 0 {
                    break;
                }
                if count < 0 {
                    let size = cur.long()?;
                    let size = usize::try_from(size).map_err(|_| {
                        Fault::new(format!("a map block's byte size {size} is negative"))
                    })?;
                    cur.take(size, "skipped map block")?;
                    continue;
                }
                let items = blocked(count, min, cur, budget)?;
                for _ in 0..items {
                    cur.bytes("map key")?;
                    skip(shapes, *value, cur, budget, depth + 1)?;
                }
            }
        }
        Some(Shape::Union(branches)) => {
            let index = cur.long()?;
            let branch = usize::try_from(index).ok().and_then(|i| branches.get(i));
            let Some(branch) = branch else {
                return Err(Fault::new(format!(
                    "union branch {index} is out of range; the writer's union has {} branches",
                    branches.len()
                )));
            };
            skip(shapes, *branch, cur, budget, depth + 1)?;
        }
    }
    Ok(())
}

/// Checks a positive block count against what is left.
fn blocked(count: i64, min: usize, cur: &Cursor<'_>, budget: &mut usize) -> Read<usize> {
    let items = usize::try_from(count).unwrap_or(usize::MAX);
    if min == 0 {
        if items > *budget {
            return Err(Fault::new(format!(
                "the value holds more than {MAX_ZERO_SIZE_ITEMS} items that take no bytes"
            )));
        }
        *budget -= items;
    } else if items > cur.buf.len() / min {
        return Err(Fault::new(format!(
            "a block of {items} items needs at least {}, but the value has {} left",
            bytes(items.saturating_mul(min)),
            bytes(cur.buf.len())
        )));
    }
    Ok(items)
}

/// The fault for a value nested too deep.
#[cold]
fn deep() -> Box<Fault> {
    Fault::new(format!("the value nests deeper than {MAX_DEPTH} levels"))
}

/// Writes a value of a shape as JSON text (see the module documentation
/// of [`super`] for its form).
fn write_json(
    shapes: Shapes<'_>,
    id: ShapeId,
    cur: &mut Cursor<'_>,
    out: &mut Vec<u8>,
    budget: &mut usize,
    depth: usize,
) -> Read<()> {
    if depth > MAX_DEPTH {
        return Err(deep());
    }
    match shapes.get(id) {
        None | Some(Shape::Pending) => {
            return Err(Fault::new("internal error: an unknown shape".to_owned()));
        }
        Some(Shape::Null) => out.extend_from_slice(b"null"),
        Some(Shape::Bool) => {
            let byte = cur.take(1, "boolean")?[0];
            match byte {
                0 => out.extend_from_slice(b"false"),
                1 => out.extend_from_slice(b"true"),
                _ => {
                    return Err(Fault::new(format!(
                        "a boolean is the byte {byte}; only 0 and 1 are booleans"
                    )));
                }
            }
        }
        Some(Shape::Int) => {
            let v = cur.int()?;
            out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
        Some(Shape::Long) => {
            let v = cur.long()?;
            out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
        Some(Shape::Float) => {
            let v = f32::from_le_bytes(array(cur.take(4, "float")?));
            push_float(out, f64::from(v), |out| text::push_f32(out, v));
        }
        Some(Shape::Double) => {
            let v = f64::from_le_bytes(array(cur.take(8, "double")?));
            push_float(out, v, |out| text::push_f64(out, v));
        }
        Some(Shape::Bytes) => {
            let v = cur.bytes("bytes")?;
            push_code_points(out, v);
        }
        Some(Shape::Fixed(size)) => {
            let v = cur.take(*size, "fixed")?;
            push_code_points(out, v);
        }
        Some(Shape::String) => {
            let s = cur.string()?;
            text::push_json_string(out, utf8(s));
        }
        Some(Shape::Enum(symbols)) => {
            let index = cur.long()?;
            let symbol = usize::try_from(index).ok().and_then(|i| symbols.get(i));
            let Some(symbol) = symbol else {
                return Err(Fault::new(format!(
                    "enum index {index} is out of range; the enum has {} symbols",
                    symbols.len()
                )));
            };
            text::push_json_string(out, symbol);
        }
        Some(Shape::Record(fields)) => {
            out.push(b'{');
            for (k, (name, field)) in fields.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                text::push_json_string(out, name);
                out.push(b':');
                write_json(shapes, *field, cur, out, budget, depth + 1).map_err(|mut fault| {
                    fault.path.push(Segment::Field(Arc::from(&**name)));
                    fault
                })?;
            }
            out.push(b'}');
        }
        Some(Shape::Array(item)) => {
            let min = shapes.min_size(*item);
            out.push(b'[');
            let mut n = 0usize;
            loop {
                let items = cur.block(min, budget, "array")?;
                if items == 0 {
                    break;
                }
                for _ in 0..items {
                    if n > 0 {
                        out.push(b',');
                    }
                    write_json(shapes, *item, cur, out, budget, depth + 1).map_err(
                        |mut fault| {
                            fault.path.push(Segment::Index(n));
                            fault
                        },
                    )?;
                    n += 1;
                }
            }
            out.push(b']');
        }
        Some(Shape::Map(value)) => {
            let min = 1usize.saturating_add(shapes.min_size(*value));
            out.push(b'{');
            let mut n = 0usize;
            loop {
                let items = cur.block(min, budget, "map")?;
                if items == 0 {
                    break;
                }
                for _ in 0..items {
                    if n > 0 {
                        out.push(b',');
                    }
                    let key = cur.string()?;
                    text::push_json_string(out, utf8(key));
                    out.push(b':');
                    write_json(shapes, *value, cur, out, budget, depth + 1).map_err(
                        |mut fault| {
                            fault.path.push(Segment::Key(key_text(key)));
                            fault
                        },
                    )?;
                    n += 1;
                }
            }
            out.push(b'}');
        }
        Some(Shape::Union(branches)) => {
            let index = cur.long()?;
            let branch = usize::try_from(index).ok().and_then(|i| branches.get(i));
            let Some(branch) = branch else {
                return Err(Fault::new(format!(
                    "union branch {index} is out of range; the writer's union has {} branches",
                    branches.len()
                )));
            };
            write_json(shapes, *branch, cur, out, budget, depth + 1)?;
        }
    }
    Ok(())
}

/// Writes a float: a number when finite, else Avro's JSON string for it.
fn push_float(out: &mut Vec<u8>, value: f64, finite: impl FnOnce(&mut Vec<u8>)) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value == f64::INFINITY {
        out.extend_from_slice(b"\"Infinity\"");
    } else if value == f64::NEG_INFINITY {
        out.extend_from_slice(b"\"-Infinity\"");
    } else {
        finite(out);
    }
}

/// Writes bytes as a JSON string of code points 0–255.
fn push_code_points(out: &mut Vec<u8>, bytes: &[u8]) {
    let text: String = bytes.iter().map(|&b| char::from(b)).collect();
    text::push_json_string(out, &text);
}
