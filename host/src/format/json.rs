//! JSON record values to Arrow: [`JsonDecoder`].
//!
//! Each value is parsed on its own with simd-json into a tape (a flat,
//! pre-order list of nodes) in buffers the decoder keeps, and the tape is
//! walked once against the schema, appending straight into column builders.
//! A value that turns out to be bad is taken back out of every column, so it
//! costs the others nothing; its row is reported with a message naming the
//! field.
//!
//! # Conversions
//!
//! | column | accepts |
//! |---|---|
//! | `bool` | `true`, `false` |
//! | integers | integers in range; floats only when integral (`3.0`) |
//! | floats | any number (`float32` rejects what overflows it) |
//! | `utf8` | strings |
//! | `binary` | base64 strings (standard alphabet, padding optional) |
//! | `date32` | `"YYYY-MM-DD"`, or an integer count of days |
//! | `timestamp(U)` | RFC 3339 strings (an offset is converted to UTC; none means UTC; digits finer than `U` are truncated), or an integer count of `U` |
//! | `decimal(P, S)` | strings or numbers, exactly; more than `S` fraction digits (unless zeros) or more than `P` digits is an error |
//! | `json` | anything, kept as its compact JSON text |
//! | `struct` | objects |
//! | `list` | arrays |
//!
//! `null` and missing fields are nulls, an error in a field the schema
//! declares `nullable: false`. When an object repeats a key, the last one
//! wins. Unknown fields are skipped or rejected, as [`UnknownFields`] says.
//!
//! Numbers with a fraction or exponent reach the decoder as `f64` (that is
//! how simd-json parses them); a decimal column reads such a number through
//! its shortest round-trip text, which is exact for every number written
//! with at most 15 significant digits. Write decimals as strings to keep
//! more. Integers of up to 128 bits are exact.

use std::fmt;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchOptions};
#[cfg(test)]
use arrow_schema::DataType;
use arrow_schema::{ArrowError, SchemaRef, TimeUnit};
use base64::Engine as _;
use simd_json::{Node, StaticNode, Tape};

use super::columns::{Builder, Column, StructBuilder};
use super::text;

/// What the decoder does with a field the schema does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownFields {
    /// Skip it (the default).
    #[default]
    Ignore,
    /// Reject the record, naming the field.
    Reject,
}

/// Options of a [`JsonDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonOptions {
    /// Fields the schema does not have: skipped by default.
    pub unknown_fields: UnknownFields,
}

/// The result of decoding a batch of values.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The value columns of the good rows, in input order.
    pub batch: RecordBatch,
    /// For each row of `batch`, the index of its value in the input.
    pub rows: Vec<u32>,
    /// The values that could not be decoded, in input order.
    pub errors: Vec<RowError>,
}

/// Why one value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The index of the value in the input.
    pub row: u32,
    /// What is wrong with it, naming the field.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: {}", self.row, self.message)
    }
}

/// A schema the decoder cannot build columns for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnsupportedSchema {
    /// Names the column and its type.
    pub message: String,
}

/// Decodes JSON object values into record batches of a fixed schema.
///
/// It keeps its parse buffers and column builders between calls, so one
/// decoder per source task is the intended use.
pub struct JsonDecoder {
    /// The schema of the batches.
    schema: SchemaRef,
    /// Options.
    options: JsonOptions,
    /// The top-level columns.
    root: StructBuilder,
    /// The mutable copy of a value simd-json parses in place.
    scratch: Vec<u8>,
    /// simd-json's reusable buffers.
    buffers: simd_json::Buffers,
    /// The reusable tape; empty between values.
    tape: Tape<'static>,
    /// Work stack for writing `json` columns.
    stack: Vec<Frame>,
}

impl fmt::Debug for JsonDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonDecoder")
            .field("schema", &self.schema)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl JsonDecoder {
    /// A decoder for `schema`.
    ///
    /// # Errors
    ///
    /// When a column has a type the decoder does not read (one outside the
    /// schema grammar of [`super::schema`], e.g. `large_utf8`).
    pub fn new(schema: SchemaRef, options: JsonOptions) -> Result<Self, UnsupportedSchema> {
        let root =
            StructBuilder::new(schema.fields()).map_err(|message| UnsupportedSchema { message })?;
        Ok(JsonDecoder {
            schema,
            options,
            root,
            scratch: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: Tape(Vec::new()),
            stack: Vec::new(),
        })
    }

    /// The schema of the batches this decoder builds.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes one batch of values (`None` is a tombstone) into the rows
    /// that decode and the errors of those that do not.
    pub fn decode(&mut self, values: &[Option<&[u8]>]) -> Decoded {
        let mut rows = Vec::with_capacity(values.len());
        let mut errors = Vec::new();
        let reject_unknown = self.options.unknown_fields == UnknownFields::Reject;
        for (index, value) in values.iter().enumerate() {
            let row = u32::try_from(index).unwrap_or(u32::MAX);
            let good = self.root.len;
            let result = match value {
                None => Err("value is null (a tombstone)".to_owned()),
                Some(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    Err("value is empty".to_owned())
                }
                Some(bytes) => {
                    self.scratch.clear();
                    self.scratch.extend_from_slice(bytes);
                    let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
                    let result =
                        match simd_json::fill_tape(&mut self.scratch, &mut self.buffers, &mut tape)
                        {
                            Ok(()) => {
                                let mut ctx = Ctx {
                                    reject_unknown,
                                    stack: &mut self.stack,
                                };
                                decode_record(&mut self.root, &tape.0, &mut ctx)
                            }
                            Err(error) => Err(parse_error_message(&error)),
                        };
                    self.tape = tape.reset();
                    result
                }
            };
            match result {
                Ok(()) => rows.push(row),
                Err(message) => {
                    self.root.truncate(good);
                    errors.push(RowError { row, message });
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
                tracing::error!(%error, "json decoder built an invalid batch");
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
        let columns = self.root.finish_columns()?;
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
    }
}

/// State one record's decoding needs beyond the tape.
struct Ctx<'a> {
    /// Whether unknown fields reject the record.
    reject_unknown: bool,
    /// Work stack for writing `json` values.
    stack: &'a mut Vec<Frame>,
}

/// Decodes one parsed value as a row of the root columns.
fn decode_record(
    root: &mut StructBuilder,
    tape: &[Node<'_>],
    ctx: &mut Ctx<'_>,
) -> Result<(), String> {
    match tape.first() {
        Some(Node::Object { len, .. }) => {
            append_object(root, tape, 0, *len, ctx).map_err(|fault| fault.message())?;
            Ok(())
        }
        Some(node) => Err(format!("value is not a JSON object (got {})", kind(node))),
        None => Err("value is empty".to_owned()),
    }
}

/// What went wrong in a field, and where; the path is built innermost
/// first as the fault travels up.
struct Fault {
    /// Path segments, innermost first.
    path: Vec<Segment>,
    /// What is wrong.
    kind: FaultKind,
}

/// One step of a field path.
enum Segment {
    /// A struct field.
    Field(Arc<str>),
    /// A list element.
    Index(usize),
}

/// What is wrong with a field.
enum FaultKind {
    /// Its value does not fit its column; the text says how.
    Value(String),
    /// It is not in the schema (and unknown fields are rejected).
    Unknown,
    /// It is null, and the column does not allow nulls.
    Null,
    /// It is missing, and the column does not allow nulls.
    Missing,
}

impl Fault {
    /// A fault in the value itself.
    fn value(message: String) -> Self {
        Fault {
            path: Vec::new(),
            kind: FaultKind::Value(message),
        }
    }

    /// Adds the field the fault happened in.
    fn within(mut self, field: &Arc<str>) -> Self {
        self.path.push(Segment::Field(field.clone()));
        self
    }

    /// Adds the list element the fault happened in.
    fn at(mut self, index: usize) -> Self {
        self.path.push(Segment::Index(index));
        self
    }

    /// The message of a fault that reached the record level.
    fn message(&self) -> String {
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
            }
        }
        match &self.kind {
            FaultKind::Value(message) => format!("field `{path}`: {message}"),
            FaultKind::Unknown => format!("field `{path}` is not in the schema"),
            FaultKind::Null => {
                format!("field `{path}` is null but the schema does not allow nulls")
            }
            FaultKind::Missing => {
                format!("field `{path}` is missing but the schema does not allow nulls")
            }
        }
    }
}

impl From<&'static str> for Fault {
    fn from(message: &'static str) -> Self {
        Fault::value(message.to_owned())
    }
}

/// A malformed tape, which simd-json never produces; reported, not trusted.
fn broken_tape() -> Fault {
    Fault::value("the parsed JSON is inconsistent".to_owned())
}

/// Appends the object at `pos` (with `len` keys) as a row of `target`,
/// returning the position after it.
fn append_object(
    target: &mut StructBuilder,
    tape: &[Node<'_>],
    pos: usize,
    len: usize,
    ctx: &mut Ctx<'_>,
) -> Result<usize, Fault> {
    let row = target.len;
    let mut at = pos + 1;
    // Records usually list fields in schema order; try the next field
    // before hashing.
    let mut hint = 0;
    for _ in 0..len {
        let Some(Node::String(key)) = tape.get(at) else {
            return Err(broken_tape());
        };
        at += 1;
        let found = match target.columns.get(hint) {
            Some(column) if same_key(column.name.as_bytes(), key.as_bytes()) => Some(hint),
            _ => target.index.get(*key).copied(),
        };
        let Some(column) = found.and_then(|i| target.columns.get_mut(i)) else {
            if ctx.reject_unknown {
                return Err(Fault {
                    path: vec![Segment::Field(Arc::from(*key))],
                    kind: FaultKind::Unknown,
                });
            }
            at = skip(tape, at);
            continue;
        };
        if column.builder.len() > row {
            // A repeated key: the last one wins.
            column.builder.truncate(row);
        }
        at = append_value(column, tape, at, ctx).map_err(|fault| fault.within(&column.name))?;
        hint = found.unwrap_or(0) + 1;
    }
    for column in &mut target.columns {
        if column.builder.len() == row {
            if !column.nullable {
                return Err(Fault {
                    path: vec![Segment::Field(column.name.clone())],
                    kind: FaultKind::Missing,
                });
            }
            column.builder.push_null();
        }
    }
    target.push_valid();
    Ok(at)
}

/// Whether two keys are equal. Keys are short, and a byte loop beats a
/// call to `memcmp` for them (measured: the call was 8% of decoding).
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut a_words = a.chunks_exact(8);
    let mut b_words = b.chunks_exact(8);
    for (x, y) in a_words.by_ref().zip(b_words.by_ref()) {
        if x != y {
            return false;
        }
    }
    let mut difference = 0u8;
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        difference |= x ^ y;
    }
    difference == 0
}

/// The position after the value at `pos`.
fn skip(tape: &[Node<'_>], pos: usize) -> usize {
    match tape.get(pos) {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => pos + 1 + count,
        _ => pos + 1,
    }
}

/// Appends the value at `pos` to `column`, returning the position after it.
fn append_value(
    column: &mut Column,
    tape: &[Node<'_>],
    pos: usize,
    ctx: &mut Ctx<'_>,
) -> Result<usize, Fault> {
    let Some(node) = tape.get(pos) else {
        return Err(broken_tape());
    };
    if let Node::Static(StaticNode::Null) = node {
        if !column.nullable {
            return Err(Fault {
                path: Vec::new(),
                kind: FaultKind::Null,
            });
        }
        column.builder.push_null();
        return Ok(pos + 1);
    }
    match &mut column.builder {
        Builder::Bool(b) => match node {
            Node::Static(StaticNode::Bool(v)) => b.push(*v),
            other => return Err(expected("bool", other)),
        },
        Builder::Int8(b) => b.push(integer(node, "int8")?),
        Builder::Int16(b) => b.push(integer(node, "int16")?),
        Builder::Int32(b) => b.push(integer(node, "int32")?),
        Builder::Int64(b) => b.push(integer(node, "int64")?),
        Builder::UInt8(b) => b.push(integer(node, "uint8")?),
        Builder::UInt16(b) => b.push(integer(node, "uint16")?),
        Builder::UInt32(b) => b.push(integer(node, "uint32")?),
        Builder::UInt64(b) => b.push(integer(node, "uint64")?),
        Builder::Float64(b) => b.push(float(node, "float64")?),
        Builder::Float32(b) => {
            let wide = float(node, "float32")?;
            let narrow = wide as f32;
            if narrow.is_infinite() {
                return Err(Fault::value(format!(
                    "{} does not fit float32",
                    number_text(node)
                )));
            }
            b.push(narrow);
        }
        Builder::Utf8(b) => match node {
            Node::String(s) => b.push(s.as_bytes())?,
            other => return Err(expected("utf8", other)),
        },
        Builder::Binary(b) => match node {
            Node::String(s) => {
                BASE64
                    .decode_vec(s.as_bytes(), b.data_mut())
                    .map_err(|error| Fault::value(format!("invalid base64: {error}")))?;
                b.commit()?;
            }
            other => return Err(expected("base64 text for binary", other)),
        },
        Builder::Json(b) => {
            let next = write_json(tape, pos, b.data_mut(), ctx.stack).ok_or_else(broken_tape)?;
            b.commit()?;
            return Ok(next);
        }
        Builder::Date32(b) => match node {
            Node::String(s) => {
                let days = text::parse_date(s)
                    .ok_or_else(|| Fault::value(format!("`{s}` is not a date (YYYY-MM-DD)")))?;
                let days = i32::try_from(days)
                    .map_err(|_| Fault::value(format!("`{s}` does not fit date32")))?;
                b.push(days);
            }
            other => b.push(integer(other, "date32")?),
        },
        Builder::Timestamp(b, unit, _) => match node {
            Node::String(s) => b.push(timestamp(s, *unit)?),
            other => b.push(integer(other, unit_type(*unit))?),
        },
        Builder::Decimal(b, precision, scale) => b.push(decimal(node, *precision, *scale)?),
        Builder::Struct(s) => match node {
            Node::Object { len, .. } => return append_object(s, tape, pos, *len, ctx),
            other => return Err(expected("struct (an object)", other)),
        },
        Builder::List(l) => match node {
            Node::Array { len, .. } => {
                let mut at = pos + 1;
                for i in 0..*len {
                    at = append_value(&mut l.child, tape, at, ctx).map_err(|fault| fault.at(i))?;
                }
                l.commit()?;
                return Ok(at);
            }
            other => return Err(expected("list (an array)", other)),
        },
    }
    Ok(pos + 1)
}

/// Base64 with the standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The fault of a value of the wrong kind.
fn expected(what: &str, node: &Node<'_>) -> Fault {
    Fault::value(format!("expected {what}, got {}", kind(node)))
}

/// The kind of a node, for messages.
fn kind(node: &Node<'_>) -> &'static str {
    match node {
        Node::String(_) => "string",
        Node::Object { .. } => "object",
        Node::Array { .. } => "array",
        Node::Static(StaticNode::Null) => "null",
        Node::Static(StaticNode::Bool(_)) => "bool",
        Node::Static(_) => "number",
    }
}

/// The JSON text of a number node, for messages.
fn number_text(node: &Node<'_>) -> String {
    match node {
        Node::Static(StaticNode::I64(v)) => v.to_string(),
        Node::Static(StaticNode::U64(v)) => v.to_string(),
        Node::Static(StaticNode::I128(v)) => v.to_string(),
        Node::Static(StaticNode::U128(v)) => v.to_string(),
        Node::Static(StaticNode::F64(v)) => {
            let mut out = Vec::new();
            text::push_f64(&mut out, *v);
            String::from_utf8_lossy(&out).into_owned()
        }
        other => kind(other).to_owned(),
    }
}

/// An integer of type `T` (named `name` in messages) from a number node.
fn integer<T>(node: &Node<'_>, name: &str) -> Result<T, Fault>
where
    T: TryFrom<i64> + TryFrom<u64> + TryFrom<i128> + TryFrom<u128>,
{
    let fits = match node {
        Node::Static(StaticNode::I64(v)) => T::try_from(*v).ok(),
        Node::Static(StaticNode::U64(v)) => T::try_from(*v).ok(),
        Node::Static(StaticNode::I128(v)) => T::try_from(*v).ok(),
        Node::Static(StaticNode::U128(v)) => T::try_from(*v).ok(),
        Node::Static(StaticNode::F64(v)) => {
            if v.fract() != 0.0 {
                return Err(Fault::value(format!(
                    "{} is not an integer (expected {name})",
                    number_text(node)
                )));
            }
            // Integral and within ±2^127, so the cast is exact.
            if v.abs() < 1.7e38 {
                T::try_from(*v as i128).ok()
            } else {
                None
            }
        }
        other => return Err(expected(name, other)),
    };
    fits.ok_or_else(|| Fault::value(format!("{} does not fit {name}", number_text(node))))
}

/// A float from a number node.
fn float(node: &Node<'_>, name: &str) -> Result<f64, Fault> {
    match node {
        Node::Static(StaticNode::F64(v)) => Ok(*v),
        Node::Static(StaticNode::I64(v)) => Ok(*v as f64),
        Node::Static(StaticNode::U64(v)) => Ok(*v as f64),
        Node::Static(StaticNode::I128(v)) => Ok(*v as f64),
        Node::Static(StaticNode::U128(v)) => Ok(*v as f64),
        other => Err(expected(name, other)),
    }
}

/// The type name of a timestamp unit, for messages.
fn unit_type(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "timestamp(s)",
        TimeUnit::Millisecond => "timestamp(ms)",
        TimeUnit::Microsecond => "timestamp(us)",
        TimeUnit::Nanosecond => "timestamp(ns)",
    }
}

/// A timestamp in `unit` from its text.
fn timestamp(s: &str, unit: TimeUnit) -> Result<i64, Fault> {
    let (seconds, nanos) = text::parse_timestamp(s)
        .ok_or_else(|| Fault::value(format!("`{s}` is not an RFC 3339 timestamp")))?;
    text::to_unit(seconds, nanos, unit)
        .ok_or_else(|| Fault::value(format!("`{s}` does not fit {}", unit_type(unit))))
}

/// A decimal from a string or number node.
fn decimal(node: &Node<'_>, precision: u8, scale: i8) -> Result<i128, Fault> {
    let number;
    let digits = match node {
        Node::String(s) => *s,
        Node::Static(StaticNode::Bool(_) | StaticNode::Null)
        | Node::Object { .. }
        | Node::Array { .. } => {
            return Err(expected(&format!("decimal({precision}, {scale})"), node));
        }
        Node::Static(_) => {
            number = number_text(node);
            number.as_str()
        }
    };
    text::parse_decimal(digits, precision, scale).map_err(|error| {
        Fault::value(match error {
            text::DecimalError::Syntax => format!("`{digits}` is not a decimal number"),
            text::DecimalError::Scale => {
                format!("{digits} has more than {scale} digits after the point (decimal({precision}, {scale}))")
            }
            text::DecimalError::Precision => format!("{digits} does not fit decimal({precision}, {scale})"),
        })
    })
}

/// The message of a value simd-json could not parse.
fn parse_error_message(error: &simd_json::Error) -> String {
    use simd_json::ErrorType as E;
    let what = match error.error() {
        E::Eof => "unexpected end of input",
        E::Syntax => "syntax error",
        E::InvalidUtf8 => "invalid UTF-8",
        E::InvalidEscape => "invalid escape sequence",
        E::InvalidUnicodeEscape => "invalid \\u escape",
        E::InvalidUnicodeCodepoint => "invalid unicode code point",
        E::InvalidNumber => "invalid number (or one beyond 128 bits)",
        E::InvalidExponent => "invalid exponent",
        E::ExpectedObjectKey | E::KeyMustBeAString | E::BadKeyType => "expected an object key",
        E::ExpectedObjectColon => "expected `:`",
        E::ExpectedMapComma => "expected `,` or `}`",
        E::ExpectedArrayComma => "expected `,` or `]`",
        E::ExpectedMapEnd => "expected `}`",
        E::ExpectedTrue => "expected `true`",
        E::ExpectedFalse => "expected `false`",
        E::ExpectedNull => "expected `null`",
        E::TrailingData | E::InternalError(_) => "unexpected data after the value",
        E::UnterminatedString => "unterminated string",
        E::InputTooLarge => "value over 4 GiB",
        E::UnexpectedCharacter | E::NoStructure | E::Parser => "unexpected character",
        _ => "malformed value",
    };
    match error.character() {
        Some(_) => format!("invalid JSON: {what} at byte {}", error.index()),
        None => format!("invalid JSON: {what}"),
    }
}

/// An open container while writing JSON text.
pub(crate) struct Frame {
    /// Elements (or key-value pairs) still to write.
    remaining: usize,
    /// Whether it is an object (else an array).
    object: bool,
    /// Whether no element has been written yet.
    first: bool,
}

/// Writes the value at `pos` as compact JSON text, returning the position
/// after it; `None` only for a malformed tape. Iterative, so depth costs
/// heap, not stack.
pub(crate) fn write_json(
    tape: &[Node<'_>],
    pos: usize,
    out: &mut Vec<u8>,
    stack: &mut Vec<Frame>,
) -> Option<usize> {
    stack.clear();
    let mut at = pos;
    loop {
        match tape.get(at)? {
            Node::Object { len, .. } | Node::Array { len, .. } => {
                let object = matches!(tape.get(at), Some(Node::Object { .. }));
                out.push(if object { b'{' } else { b'[' });
                stack.push(Frame {
                    remaining: *len,
                    object,
                    first: true,
                });
            }
            Node::String(s) => text::push_json_string(out, s),
            Node::Static(value) => push_static(out, value),
        }
        at += 1;
        // Close finished containers, then open the next element.
        loop {
            let Some(top) = stack.last_mut() else {
                return Some(at);
            };
            if top.remaining == 0 {
                out.push(if top.object { b'}' } else { b']' });
                stack.pop();
                continue;
            }
            top.remaining -= 1;
            if !top.first {
                out.push(b',');
            }
            top.first = false;
            if top.object {
                let Node::String(key) = tape.get(at)? else {
                    return None;
                };
                text::push_json_string(out, key);
                out.push(b':');
                at += 1;
            }
            break;
        }
    }
}

/// Writes a scalar as JSON.
fn push_static(out: &mut Vec<u8>, value: &StaticNode) {
    match value {
        StaticNode::Null => out.extend_from_slice(b"null"),
        StaticNode::Bool(true) => out.extend_from_slice(b"true"),
        StaticNode::Bool(false) => out.extend_from_slice(b"false"),
        StaticNode::I64(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        StaticNode::U64(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        StaticNode::I128(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        StaticNode::U128(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        StaticNode::F64(v) => text::push_f64(out, *v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::schema::parse_schema;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use serde_json::json;

    fn decoder(spec: serde_json::Value, unknown_fields: UnknownFields) -> JsonDecoder {
        let schema = parse_schema(&spec).expect("valid schema");
        JsonDecoder::new(Arc::new(schema), JsonOptions { unknown_fields }).expect("supported")
    }

    fn decode(spec: serde_json::Value, values: &[&str]) -> Decoded {
        let values: Vec<Option<&[u8]>> = values.iter().map(|v| Some(v.as_bytes())).collect();
        decoder(spec, UnknownFields::Ignore).decode(&values)
    }

    /// The error messages of decoding each value alone.
    fn messages(spec: serde_json::Value, values: &[&str]) -> Vec<String> {
        let decoded = decode(spec, values);
        assert_eq!(decoded.batch.num_rows(), 0, "{:?}", decoded.batch);
        decoded.errors.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn every_type_decodes_to_exact_values() {
        let spec = json!({
            "b": "bool", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
            "u8": "uint8", "u16": "uint16", "u32": "uint32", "u64": "uint64",
            "f32": "float32", "f64": "float64", "s": "string", "bin": "binary", "d": "date",
            "ts": "timestamp(ms, UTC)", "tsn": "timestamp(ns)", "dec": "decimal(10, 2)", "j": "json",
            "c": {"struct": {"id": "int64", "tier": "utf8"}}, "l": {"list": "int32"},
        });
        let record = r#"{"b": true, "i8": -128, "i16": 32767, "i32": 3.0, "i64": -9223372036854775808,
            "u8": 255, "u16": 65535, "u32": 4294967295, "u64": 18446744073709551615,
            "f32": 1.5, "f64": 7, "s": "h\u00e9\"llo\n", "bin": "aGk=", "d": "2024-02-29",
            "ts": "2024-05-01T14:30:00.123456+02:00", "tsn": 1700000000000000001, "dec": 12.3,
            "j": {"z": [1, "x", null, 2.5, {"q": false}], "a": "\u0001"},
            "c": {"tier": "gold", "id": 7, "unknown": [1, {"deep": 2}]}, "l": [1, null, -3]}"#;
        let decoded = decode(spec, &[record, r#"{"dec": "-0.05", "j": 3, "l": []}"#]);
        assert_eq!(decoded.errors, []);
        assert_eq!(decoded.rows, [0, 1]);
        let batch = &decoded.batch;
        let col = |name: &str| batch.column_by_name(name).expect(name).clone();
        assert_eq!(
            col("b").as_boolean().iter().collect::<Vec<_>>(),
            [Some(true), None]
        );
        assert_eq!(col("i8").as_primitive::<Int8Type>().value(0), -128);
        assert_eq!(col("i16").as_primitive::<Int16Type>().value(0), 32767);
        assert_eq!(col("i32").as_primitive::<Int32Type>().value(0), 3);
        assert_eq!(col("i64").as_primitive::<Int64Type>().value(0), i64::MIN);
        assert_eq!(col("u8").as_primitive::<UInt8Type>().value(0), 255);
        assert_eq!(col("u16").as_primitive::<UInt16Type>().value(0), 65535);
        assert_eq!(col("u32").as_primitive::<UInt32Type>().value(0), u32::MAX);
        assert_eq!(col("u64").as_primitive::<UInt64Type>().value(0), u64::MAX);
        assert_eq!(col("f32").as_primitive::<Float32Type>().value(0), 1.5);
        assert_eq!(col("f64").as_primitive::<Float64Type>().value(0), 7.0);
        assert_eq!(col("s").as_string::<i32>().value(0), "hé\"llo\n");
        assert_eq!(col("bin").as_binary::<i32>().value(0), b"hi");
        assert_eq!(col("d").as_primitive::<Date32Type>().value(0), 19_782);
        let ts = col("ts");
        assert_eq!(
            ts.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        assert_eq!(
            ts.as_primitive::<TimestampMillisecondType>().value(0),
            1_714_566_600_123
        );
        assert_eq!(
            col("tsn")
                .as_primitive::<TimestampNanosecondType>()
                .value(0),
            1_700_000_000_000_000_001
        );
        let dec = col("dec");
        assert_eq!(dec.data_type(), &DataType::Decimal128(10, 2));
        assert_eq!(
            dec.as_primitive::<Decimal128Type>().values().to_vec(),
            [1230, -5]
        );
        let j = col("j");
        assert_eq!(
            j.as_string::<i32>().value(0),
            r#"{"z":[1,"x",null,2.5,{"q":false}],"a":"\u0001"}"#
        );
        assert_eq!(j.as_string::<i32>().value(1), "3");
        let c = col("c");
        let c = c.as_struct();
        assert_eq!(c.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert_eq!(c.column(1).as_string::<i32>().value(0), "gold");
        assert!(c.is_null(1) && c.column(0).is_null(1));
        let l = col("l");
        let l = l.as_list::<i32>();
        assert_eq!(l.value_offsets(), [0, 3, 3]);
        assert_eq!(
            l.values()
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>(),
            [Some(1), None, Some(-3)]
        );
    }

    #[test]
    fn value_errors_name_the_field() {
        let spec = json!({
            "id": "int64", "amount": "float64", "small": "int8", "n": "uint32", "items": "int32",
            "f": "float32", "bin": "binary", "d": "date32", "ts": "timestamp(ns)", "dec": "decimal(5, 2)",
            "customer": {"struct": {"tier": "utf8"}}, "tags": {"list": {"struct": {"k": "bool"}}},
        });
        let cases = [
            (
                r#"{"amount": "12"}"#,
                "field `amount`: expected float64, got string",
            ),
            (
                r#"{"id": 18446744073709551616}"#,
                "field `id`: 18446744073709551616 does not fit int64",
            ),
            (
                r#"{"id": 9223372036854775808}"#,
                "field `id`: 9223372036854775808 does not fit int64",
            ),
            (r#"{"id": 1e300}"#, "field `id`: 1e300 does not fit int64"),
            (r#"{"small": 128}"#, "field `small`: 128 does not fit int8"),
            (r#"{"n": -1}"#, "field `n`: -1 does not fit uint32"),
            (
                r#"{"items": 2.5}"#,
                "field `items`: 2.5 is not an integer (expected int32)",
            ),
            (
                r#"{"items": true}"#,
                "field `items`: expected int32, got bool",
            ),
            (r#"{"f": 1e300}"#, "field `f`: 1e300 does not fit float32"),
            (
                r#"{"bin": "!!"}"#,
                "field `bin`: invalid base64: Invalid symbol 33, offset 0.",
            ),
            (
                r#"{"bin": 5}"#,
                "field `bin`: expected base64 text for binary, got number",
            ),
            (
                r#"{"d": "2023-02-29"}"#,
                "field `d`: `2023-02-29` is not a date (YYYY-MM-DD)",
            ),
            (
                r#"{"ts": "yesterday"}"#,
                "field `ts`: `yesterday` is not an RFC 3339 timestamp",
            ),
            (
                r#"{"ts": "3000-01-01T00:00:00Z"}"#,
                "field `ts`: `3000-01-01T00:00:00Z` does not fit timestamp(ns)",
            ),
            (
                r#"{"ts": [1]}"#,
                "field `ts`: expected timestamp(ns), got array",
            ),
            (
                r#"{"dec": "1.234"}"#,
                "field `dec`: 1.234 has more than 2 digits after the point (decimal(5, 2))",
            ),
            (
                r#"{"dec": 1000}"#,
                "field `dec`: 1000 does not fit decimal(5, 2)",
            ),
            (
                r#"{"dec": "ten"}"#,
                "field `dec`: `ten` is not a decimal number",
            ),
            (
                r#"{"dec": {}}"#,
                "field `dec`: expected decimal(5, 2), got object",
            ),
            (
                r#"{"customer": {"tier": 1}}"#,
                "field `customer.tier`: expected utf8, got number",
            ),
            (
                r#"{"customer": "gold"}"#,
                "field `customer`: expected struct (an object), got string",
            ),
            (
                r#"{"tags": [{"k": true}, {"k": "x"}]}"#,
                "field `tags[1].k`: expected bool, got string",
            ),
            (
                r#"{"tags": {"k": true}}"#,
                "field `tags`: expected list (an array), got object",
            ),
        ];
        let (values, expected): (Vec<&str>, Vec<&str>) = cases.into_iter().unzip();
        assert_eq!(messages(spec, &values), expected);
    }

    #[test]
    fn record_level_errors() {
        let spec = json!({"id": "int64"});
        let values: [Option<&[u8]>; 10] = [
            None,
            Some(b""),
            Some(b"  \n"),
            Some(b"[1, 2]"),
            Some(b"\"text\""),
            Some(b"42"),
            Some(br#"{"id": 1,}"#),
            Some(br#"{"id": tru}"#),
            Some(b"{\"id\": \"\xff\"}"),
            Some(br#"{"id": 1} {"id": 2}"#),
        ];
        let decoded = decoder(spec, UnknownFields::Ignore).decode(&values);
        let got: Vec<(u32, &str)> = decoded
            .errors
            .iter()
            .map(|e| (e.row, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "value is null (a tombstone)"),
                (1, "value is empty"),
                (2, "value is empty"),
                (3, "value is not a JSON object (got array)"),
                (4, "value is not a JSON object (got string)"),
                (5, "value is not a JSON object (got number)"),
                (6, "invalid JSON: expected an object key at byte 9"),
                (7, "invalid JSON: expected `true` at byte 7"),
                (8, "invalid JSON: invalid UTF-8"),
                (9, "invalid JSON: unexpected data after the value at byte 8"),
            ]
        );
        assert_eq!(decoded.batch.num_rows(), 0);
    }

    #[test]
    fn nulls_and_missing_fields() {
        let spec = json!({
            "id": {"type": "int64", "nullable": false},
            "c": {"struct": {"tier": {"type": "utf8", "nullable": false}}},
            "note": "utf8",
        });
        let decoded = decode(
            spec,
            &[
                r#"{"id": 1}"#,
                r#"{"id": null}"#,
                r#"{"note": "x"}"#,
                r#"{"id": 2, "c": {}}"#,
                r#"{"id": 3, "c": {"tier": null}}"#,
                r#"{"id": 4, "c": null, "note": null}"#,
                r#"{"id": 5, "c": {"tier": "t"}}"#,
            ],
        );
        let got: Vec<(u32, &str)> = decoded
            .errors
            .iter()
            .map(|e| (e.row, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "field `id` is null but the schema does not allow nulls"),
                (
                    2,
                    "field `id` is missing but the schema does not allow nulls"
                ),
                (
                    3,
                    "field `c.tier` is missing but the schema does not allow nulls"
                ),
                (
                    4,
                    "field `c.tier` is null but the schema does not allow nulls"
                ),
            ]
        );
        assert_eq!(decoded.rows, [0, 5, 6]);
        let batch = &decoded.batch;
        assert_eq!(
            batch
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec(),
            [1, 4, 5]
        );
        let c = batch.column(1).as_struct();
        assert_eq!(
            c.nulls().map(|n| n.iter().collect::<Vec<_>>()),
            Some(vec![false, false, true])
        );
        assert_eq!(c.column(0).as_string::<i32>().value(2), "t");
        assert_eq!(batch.column(2).null_count(), 3);
    }

    #[test]
    fn unknown_fields_can_be_rejected() {
        let spec = json!({"id": "int64", "customer": {"struct": {"id": "int64"}}});
        let values: [Option<&[u8]>; 3] = [
            Some(br#"{"id": 1, "customer": {"id": 2}}"#),
            Some(br#"{"id": 1, "customer": {"id": 2, "tier": "gold"}}"#),
            Some(br#"{"extra": [1], "id": 1}"#),
        ];
        let decoded = decoder(spec.clone(), UnknownFields::Reject).decode(&values);
        let got: Vec<(u32, &str)> = decoded
            .errors
            .iter()
            .map(|e| (e.row, e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "field `customer.tier` is not in the schema"),
                (2, "field `extra` is not in the schema")
            ]
        );
        let decoded = decoder(spec, UnknownFields::Ignore).decode(&values);
        assert_eq!(decoded.errors, []);
        assert_eq!(decoded.batch.num_rows(), 3);
    }

    #[test]
    fn a_bad_record_leaves_no_trace_in_the_others() {
        let spec = json!({
            "id": "int64", "s": "utf8", "j": "json",
            "l": {"list": {"struct": {"a": "int64", "b": {"list": "utf8"}}}},
        });
        let decoded = decode(
            spec,
            &[
                r#"{"id": 1, "s": "one", "j": [1], "l": [{"a": 1, "b": ["x"]}]}"#,
                r#"{"s": "bad", "j": {"k": "v"}, "l": [{"a": 2, "b": ["y", "z"]}, {"a": "oops"}], "id": 2}"#,
                r#"{"id": 3, "s": "three", "l": [{"b": ["w"]}], "j": null}"#,
            ],
        );
        assert_eq!(decoded.errors.len(), 1);
        assert_eq!(
            decoded.errors[0].message,
            "field `l[1].a`: expected int64, got string"
        );
        assert_eq!(decoded.rows, [0, 2]);
        let batch = &decoded.batch;
        assert_eq!(
            batch
                .column(1)
                .as_string::<i32>()
                .iter()
                .collect::<Vec<_>>(),
            [Some("one"), Some("three")]
        );
        assert_eq!(
            batch
                .column(2)
                .as_string::<i32>()
                .iter()
                .collect::<Vec<_>>(),
            [Some("[1]"), None]
        );
        let l = batch.column(3).as_list::<i32>();
        assert_eq!(l.value_offsets(), [0, 1, 2]);
        let items = l.values().as_struct();
        assert_eq!(
            items
                .column(0)
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>(),
            [Some(1), None]
        );
        let b = items.column(1).as_list::<i32>();
        assert_eq!(b.value_offsets(), [0, 1, 2]);
        assert_eq!(
            b.values().as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("x"), Some("w")]
        );
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let spec = json!({"id": "int64", "c": {"struct": {"x": "int64"}}});
        let decoded = decode(
            spec,
            &[r#"{"id": 1, "c": {"x": 1}, "id": 2, "c": {"x": 3}}"#],
        );
        assert_eq!(decoded.errors, []);
        assert_eq!(
            decoded.batch.column(0).as_primitive::<Int64Type>().value(0),
            2
        );
        assert_eq!(
            decoded
                .batch
                .column(1)
                .as_struct()
                .column(0)
                .as_primitive::<Int64Type>()
                .value(0),
            3
        );
    }

    #[test]
    fn decoder_reuses_itself_across_batches() {
        let mut decoder = decoder(json!({"id": "int64", "s": "utf8"}), UnknownFields::Ignore);
        for round in 0..3i64 {
            let values: Vec<String> = (0..5)
                .map(|i| format!(r#"{{"id": {}, "s": "v{i}"}}"#, round * 10 + i))
                .collect();
            let values: Vec<Option<&[u8]>> = values.iter().map(|v| Some(v.as_bytes())).collect();
            let decoded = decoder.decode(&values);
            let ids = decoded
                .batch
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec();
            assert_eq!(ids, (0..5).map(|i| round * 10 + i).collect::<Vec<_>>());
            assert_eq!(decoded.batch.column(1).as_string::<i32>().value(4), "v4");
        }
        assert_eq!(decoder.decode(&[]).batch.num_rows(), 0);
    }

    #[test]
    fn unsupported_schema_types_are_named() {
        let schema = arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "big",
            DataType::LargeUtf8,
            true,
        )]);
        let error =
            JsonDecoder::new(Arc::new(schema), JsonOptions::default()).expect_err("unsupported");
        assert_eq!(
            error.to_string(),
            "column `big` has type `large_utf8`, which the JSON decoder does not read"
        );
    }
}
