//! Avro datums to Arrow: [`AvroDecoder`], which runs a compiled
//! [`Program`] over each datum's bytes.
//!
//! Every read is bounds-checked ([`Cursor`]): varints are at most 10 bytes
//! and must fit 64 bits (and 32 for `int`), lengths and block counts must be
//! non-negative and fit in what is left of the value (a count times the
//! fewest bytes an item can take, and items that take no bytes at all are
//! capped per value), union and enum indexes must be in range, strings must
//! be UTF-8, recursive values nest at most [`MAX_DEPTH`](super::MAX_DEPTH)
//! levels, and a datum must end exactly where its bytes do. A failure is a [`RowError`]
//! naming the field path; the row is taken back out of every column
//! (builders truncate to the last good row count) and the batch goes on.

use std::fmt;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
use arrow_buffer::{IntervalMonthDayNano, i256};
use arrow_schema::{ArrowError, SchemaRef};

use super::builders::Builders;
use super::compile::compile;
use super::cursor::{
    Cursor, Fault, MAX_ZERO_SIZE_ITEMS, Read, Segment, array, bytes, is_uuid, key_text,
};
use super::program::{Branch, EnumStep, Leaf, Program, Step, StepId};
use super::walk::{Shapes, skip, write_json};
use super::{AvroSchema, AvroSchemaError, mapping};
use crate::format::{Decoded, RowError};

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
            Step::Optional { null, leaf, col } => optional_into(b, *null, *leaf, *col, cur),
            Step::Enum(e) => enum_into(b, e, cur),
            Step::Record {
                strukt,
                first,
                count,
                names,
            } => self.record(*strukt, *first, *count, names, cur),
            Step::Array {
                list,
                item,
                min_size,
            } => self.array(*list, *item, *min_size, cur),
            Step::Tag {
                union,
                type_id,
                then,
            } => {
                b.unions[*union as usize]
                    .push(*type_id)
                    .map_err(too_large)?;
                self.run(*then, cur)
            }
            _ => self.step(step, cur),
        }
    }

    /// Reads a record: its field steps, then the struct row.
    #[inline(never)]
    fn record(
        &mut self,
        strukt: u32,
        first: StepId,
        count: u32,
        names: &[Arc<str>],
        cur: &mut Cursor<'_>,
    ) -> Read<()> {
        let steps = self.steps;
        let first = first as usize;
        let fields = steps.get(first..first + count as usize).unwrap_or(&[]);
        for (k, field) in fields.iter().enumerate() {
            if let Err(mut fault) = self.dispatch(field, cur) {
                if let Some(name) = names.get(k) {
                    fault.path.push(Segment::Field(name.clone()));
                }
                return Err(fault);
            }
        }
        self.b.structs[strukt as usize].push_valid();
        Ok(())
    }

    /// Reads an array: blocks of items, then the list row.
    #[inline(never)]
    fn array(
        &mut self,
        list: u32,
        item: StepId,
        min_size: usize,
        cur: &mut Cursor<'_>,
    ) -> Read<()> {
        let mut total = 0usize;
        let steps = self.steps;
        let item = &steps[item as usize];
        loop {
            let items = cur.block(min_size, &mut self.zero_size_budget, "array")?;
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
        self.b.lists[list as usize].commit(total).map_err(too_large)
    }

    /// Reads a map: blocks of keys and values, then the map row.
    #[inline(never)]
    fn map(
        &mut self,
        list: u32,
        entries: u32,
        key: u32,
        value: StepId,
        min_size: usize,
        cur: &mut Cursor<'_>,
    ) -> Read<()> {
        let mut total = 0usize;
        let steps = self.steps;
        let value = &steps[value as usize];
        loop {
            let items = cur.block(min_size, &mut self.zero_size_budget, "map")?;
            if items == 0 {
                break;
            }
            for _ in 0..items {
                let k = cur.string()?;
                self.b.bytes[key as usize].push(k).map_err(too_large)?;
                if let Err(mut fault) = self.dispatch(value, cur) {
                    fault.path.push(Segment::Key(key_text(k)));
                    return Err(fault);
                }
                self.b.structs[entries as usize].push_valid();
                total += 1;
            }
        }
        self.b.lists[list as usize].commit(total).map_err(too_large)
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
            Step::Enum(e) => enum_into(b, e, cur)?,
            Step::Optional { null, leaf, col } => optional_into(b, *null, *leaf, *col, cur)?,
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
            } => self.record(*strukt, *first, *count, names, cur)?,
            Step::Array {
                list,
                item,
                min_size,
            } => self.array(*list, *item, *min_size, cur)?,
            Step::Map {
                list,
                entries,
                key,
                value,
                min_size,
            } => self.map(*list, *entries, *key, *value, *min_size, cur)?,
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

/// Reads an enum index into a dictionary key column.
#[inline(always)]
fn enum_into(b: &mut Builders, e: &EnumStep, cur: &mut Cursor<'_>) -> Read<()> {
    let index = cur.long()?;
    match usize::try_from(index).ok().and_then(|i| e.map.get(i)) {
        Some(&key) if key >= 0 => {
            b.i32s[e.col as usize].push(key);
            Ok(())
        }
        _ => Err(bad_symbol(index, e)),
    }
}

/// The fault for an enum index out of range or a symbol the reader lacks.
#[cold]
#[inline(never)]
fn bad_symbol(index: i64, e: &EnumStep) -> Box<Fault> {
    match usize::try_from(index).ok().and_then(|i| e.symbols.get(i)) {
        Some(symbol) => Fault::new(format!(
            "enum symbol `{symbol}` is not in the reader's enum `{}`, which has no default",
            e.name
        )),
        None => Fault::new(format!(
            "enum index {index} is out of range; the writer's enum has {} symbols",
            e.map.len()
        )),
    }
}

/// Reads a `["null", T]` union of a plain `T` into a nullable column.
#[inline(always)]
fn optional_into(
    b: &mut Builders,
    null: u8,
    leaf: Leaf,
    col: u32,
    cur: &mut Cursor<'_>,
) -> Read<()> {
    let index = cur.long()?;
    let c = col as usize;
    if index == i64::from(null) {
        match leaf {
            Leaf::Bool => b.bools[c].push_null(),
            Leaf::Int => b.i32s[c].push_null(),
            Leaf::Long => b.i64s[c].push_null(),
            Leaf::Float => b.f32s[c].push_null(),
            Leaf::Double => b.f64s[c].push_null(),
            Leaf::String | Leaf::Bytes => b.bytes[c].push_null(),
        }
        return Ok(());
    }
    if index != i64::from(1 - null) {
        return Err(Fault::new(format!(
            "union branch {index} is out of range; the writer's union has 2 branches"
        )));
    }
    match leaf {
        Leaf::Bool => bool_into(b, col, cur),
        Leaf::Int => int_into(b, col, cur),
        Leaf::Long => long_into(b, col, cur),
        Leaf::Float => float_into(b, col, cur),
        Leaf::Double => double_into(b, col, cur),
        Leaf::String => string_into(b, col, cur),
        Leaf::Bytes => bytes_into(b, col, cur),
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
