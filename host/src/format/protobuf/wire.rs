//! The Protobuf wire format's primitives: varints, tags, lengths, groups,
//! and the faults that name where a value went wrong.
//!
//! Every read takes the whole value's bytes, a position and the end of the
//! message being read, so byte positions in messages are offsets into the
//! value and nested messages are just narrower ends.

use std::ops::Range;
use std::sync::Arc;

use super::MAX_DEPTH;

/// Wire type 0: a varint.
pub(super) const VARINT: u8 = 0;
/// Wire type 1: eight little-endian bytes.
pub(super) const I64: u8 = 1;
/// Wire type 2: a length, then that many bytes.
pub(super) const LEN: u8 = 2;
/// Wire type 3: the start of a group.
pub(super) const SGROUP: u8 = 3;
/// Wire type 4: the end of a group.
pub(super) const EGROUP: u8 = 4;
/// Wire type 5: four little-endian bytes.
pub(super) const I32: u8 = 5;

/// A wire type's name, for messages.
pub(super) fn wire_name(wire: u8) -> &'static str {
    match wire {
        VARINT => "varint",
        I64 => "64-bit",
        LEN => "length-delimited",
        SGROUP => "start-group",
        EGROUP => "end-group",
        I32 => "32-bit",
        _ => "invalid",
    }
}

/// What went wrong, and in which field; the path is built innermost first
/// as the fault travels up. Boxed so results stay small on the hot path.
#[derive(Debug)]
pub(super) struct Fault(Box<FaultInner>);

/// The parts of a [`Fault`].
#[derive(Debug)]
struct FaultInner {
    /// Path segments, innermost first.
    path: Vec<Segment>,
    /// What is wrong.
    message: String,
}

/// One step of a field path.
#[derive(Debug)]
enum Segment {
    /// A field.
    Field(Arc<str>),
    /// A field of a well-known message.
    Name(&'static str),
    /// A list element or map entry.
    Index(usize),
}

impl Fault {
    /// A fault with no field path yet.
    #[cold]
    pub(super) fn new(message: impl Into<String>) -> Self {
        Fault(Box::new(FaultInner {
            path: Vec::new(),
            message: message.into(),
        }))
    }

    /// Adds the field the fault happened in.
    #[cold]
    pub(super) fn within(mut self, field: &Arc<str>) -> Self {
        self.0.path.push(Segment::Field(field.clone()));
        self
    }

    /// Adds the field of a well-known message the fault happened in.
    #[cold]
    pub(super) fn within_name(mut self, field: &'static str) -> Self {
        self.0.path.push(Segment::Name(field));
        self
    }

    /// Adds the list element or map entry the fault happened in.
    #[cold]
    pub(super) fn at(mut self, index: usize) -> Self {
        self.0.path.push(Segment::Index(index));
        self
    }

    /// The message of a fault that reached the record level:
    /// ``field `a.b[2]`: …`` or, outside any field, just the message.
    pub(super) fn message(&self) -> String {
        let mut path = String::new();
        for segment in self.0.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Name(name) => {
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
        if path.is_empty() {
            self.0.message.clone()
        } else {
            format!("field `{path}`: {}", self.0.message)
        }
    }
}

/// Reads a varint at `pos`, which must end before `end`.
#[inline]
pub(super) fn varint(buf: &[u8], pos: &mut usize, end: usize) -> Result<u64, Fault> {
    if *pos < end
        && let Some(&byte) = buf.get(*pos)
        && byte < 0x80
    {
        *pos += 1;
        return Ok(u64::from(byte));
    }
    varint_slow(buf, pos, end)
}

/// The multi-byte case of [`varint`].
#[inline(never)]
fn varint_slow(buf: &[u8], pos: &mut usize, end: usize) -> Result<u64, Fault> {
    let start = *pos;
    let mut value = 0u64;
    for i in 0..10 {
        let at = start + i;
        let byte = match buf.get(at) {
            Some(byte) if at < end => *byte,
            _ => {
                return Err(Fault::new(format!(
                    "the message ends inside a varint at byte {start}"
                )));
            }
        };
        // The tenth byte holds the 64th bit only.
        if i == 9 && byte > 1 {
            return Err(Fault::new(format!(
                "the varint at byte {start} does not fit 64 bits"
            )));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *pos = at + 1;
            return Ok(value);
        }
    }
    Err(Fault::new(format!(
        "the varint at byte {start} is longer than 10 bytes"
    )))
}

/// Reads a tag at `pos`: the field number and wire type.
#[inline]
pub(super) fn tag(buf: &[u8], pos: &mut usize, end: usize) -> Result<(u32, u8), Fault> {
    let at = *pos;
    let key = varint(buf, pos, end)?;
    let wire = (key & 7) as u8;
    let number = key >> 3;
    if number == 0 || number > u64::from(MAX_FIELD_NUMBER) {
        return Err(Fault::new(format!(
            "the tag at byte {at} has field number {number}, outside 1 to {MAX_FIELD_NUMBER}"
        )));
    }
    if wire > I32 {
        return Err(Fault::new(format!(
            "the tag at byte {at} has wire type {wire}, which Protobuf does not define"
        )));
    }
    // The bounds check above keeps the number within 29 bits.
    Ok((number as u32, wire))
}

/// The largest field number Protobuf allows.
pub(super) const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// Reads a length prefix and returns the range of the bytes it covers.
#[inline]
pub(super) fn len_range(buf: &[u8], pos: &mut usize, end: usize) -> Result<Range<usize>, Fault> {
    let at = *pos;
    let len = varint(buf, pos, end)?;
    let left = end.saturating_sub(*pos);
    match usize::try_from(len) {
        Ok(len) if len <= left => {
            let range = *pos..*pos + len;
            *pos += len;
            Ok(range)
        }
        _ => Err(Fault::new(format!(
            "the length {len} at byte {at} runs past the end of the message ({left} {} left)",
            if left == 1 { "byte" } else { "bytes" }
        ))),
    }
}

/// Reads `N` little-endian bytes.
#[inline]
pub(super) fn fixed<const N: usize>(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
) -> Result<[u8; N], Fault> {
    let start = *pos;
    if end.saturating_sub(start) >= N
        && let Some(bytes) = buf.get(start..start + N)
        && let Ok(array) = <[u8; N]>::try_from(bytes)
    {
        *pos = start + N;
        return Ok(array);
    }
    let article = if N == 8 { "an" } else { "a" };
    Err(Fault::new(format!(
        "the message ends inside {article} {N}-byte value at byte {start}"
    )))
}

/// Reads the body of a group whose start tag (for field `number`) was just
/// read: returns the range of its fields, leaving `pos` after its end tag.
pub(super) fn group_range(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    number: u32,
    depth: u32,
) -> Result<Range<usize>, Fault> {
    let start = *pos;
    loop {
        if *pos >= end {
            return Err(Fault::new(format!(
                "the group of field {number} starting at byte {start} is not closed"
            )));
        }
        let at = *pos;
        let (inner, wire) = tag(buf, pos, end)?;
        if wire == EGROUP {
            if inner == number {
                return Ok(start..at);
            }
            return Err(Fault::new(format!(
                "the end-group tag at byte {at} is for field {inner}, \
                 but the open group is field {number}"
            )));
        }
        skip(buf, pos, end, inner, wire, depth + 1)?;
    }
}

/// Skips the value of a field whose tag was just read.
pub(super) fn skip(
    buf: &[u8],
    pos: &mut usize,
    end: usize,
    number: u32,
    wire: u8,
    depth: u32,
) -> Result<(), Fault> {
    match wire {
        VARINT => varint(buf, pos, end).map(drop),
        I64 => fixed::<8>(buf, pos, end).map(drop),
        LEN => len_range(buf, pos, end).map(drop),
        I32 => fixed::<4>(buf, pos, end).map(drop),
        SGROUP => {
            if depth >= MAX_DEPTH {
                return Err(too_deep());
            }
            group_range(buf, pos, end, number, depth).map(drop)
        }
        _ => Err(Fault::new(format!(
            "an end-group tag for field {number} has no start-group"
        ))),
    }
}

/// The fault of nesting past [`MAX_DEPTH`].
#[cold]
pub(super) fn too_deep() -> Fault {
    Fault::new(format!(
        "messages are nested more than {MAX_DEPTH} levels deep"
    ))
}

/// Appends a varint.
#[inline]
pub(super) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a tag.
#[inline]
pub(super) fn put_tag(out: &mut Vec<u8>, number: u32, wire: u8) {
    put_varint(out, (u64::from(number) << 3) | u64::from(wire));
}

/// The zig-zag form of a signed 32-bit value.
#[inline]
pub(super) fn zigzag32(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

/// The zig-zag form of a signed 64-bit value.
#[inline]
pub(super) fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// A signed 32-bit value from its zig-zag form (the low 32 bits).
#[inline]
pub(super) fn unzigzag32(value: u64) -> i32 {
    let value = value as u32;
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

/// A signed 64-bit value from its zig-zag form.
#[inline]
pub(super) fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Writes a length-delimited value whose body `body` writes: reserves one
/// byte for the length and moves the body when the length needs more.
#[inline]
pub(super) fn put_len_delimited<E>(
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    let at = out.len();
    out.push(0);
    body(out)?;
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
        return Ok(());
    }
    let mut prefix = [0u8; 10];
    let mut n = 0;
    let mut value = len as u64;
    while value >= 0x80 {
        prefix[n] = (value as u8) | 0x80;
        value >>= 7;
        n += 1;
    }
    prefix[n] = value as u8;
    n += 1;
    // Grow by the extra prefix bytes, shift the body right, write the prefix.
    out.splice(at..at + 1, prefix[..n].iter().copied());
    Ok(())
}
