//! The bytes of one datum being read: [`Cursor`], which reads Avro's
//! primitive encodings with every length, count and varint checked against
//! what is left, and [`Fault`], why a value failed and where.

use std::sync::Arc;

use crate::format::text;

/// Items that take no bytes (`null`, empty records) one value may hold in
/// all its arrays and maps together; without a cap, a count alone could
/// make the decoder loop for ever.
pub(super) const MAX_ZERO_SIZE_ITEMS: usize = 1 << 20;

/// Why a value failed, with the path to the field, innermost first.
pub(super) struct Fault {
    /// Path segments, innermost first.
    pub(super) path: Vec<Segment>,
    /// What is wrong.
    message: String,
}

/// One step of a field path.
pub(super) enum Segment {
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
        // With ten bytes at hand (most values but the last few of a
        // datum), the loop has no bounds to check and unrolls.
        if let Some(head) = buf.first_chunk::<10>() {
            let mut value = 0u64;
            for (i, &byte) in head.iter().enumerate() {
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte < 0x80 {
                    if i == 9 && byte > 1 {
                        return Err(overflow());
                    }
                    self.buf = &buf[i + 1..];
                    return Ok(unzigzag(value));
                }
            }
            return Err(overflow());
        }
        let mut value = 0u64;
        for (i, &byte) in buf.iter().enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.buf = &buf[i + 1..];
                return Ok(unzigzag(value));
            }
        }
        Err(Fault::new(
            "the value ends in the middle of a number".to_owned(),
        ))
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
        if is_ascii(bytes) {
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
                    "{} {what} block has a negative byte size ({size})",
                    article(what)
                )));
            };
            if size > self.buf.len() {
                return Err(Fault::new(format!(
                    "{} {what} block of {} runs {} past the end of the value",
                    article(what),
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
        } else if items
            .checked_mul(min_size)
            .is_none_or(|need| need > self.buf.len())
        {
            return Err(Fault::new(format!(
                "{} {what} block of {items} items needs at least {}, but the value has {} left",
                article(what),
                bytes(items.saturating_mul(min_size)),
                bytes(self.buf.len())
            )));
        }
        Ok(items)
    }
}

/// Whether bytes are all ASCII: two overlapping 8-byte words for the
/// short strings most fields hold, the standard check otherwise.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    if bytes.len() > 16 {
        return bytes.is_ascii();
    }
    match (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (Some(first), Some(last)) => {
            (u64::from_le_bytes(*first) | u64::from_le_bytes(*last)) & HIGH == 0
        }
        _ => bytes.iter().fold(0u8, |all, &b| all | b) < 0x80,
    }
}

/// Text checked to be UTF-8 by [`Cursor::string`].
pub(super) fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A map key for an error path: its first 64 characters.
pub(super) fn key_text(key: &[u8]) -> String {
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
        "{} {what} of {} runs {} past the end of the value",
        article(what),
        bytes(n),
        bytes(n - left)
    ))
}

/// The fault for a negative length.
#[cold]
#[inline(never)]
fn negative_length(what: &str, len: i64) -> Box<Fault> {
    Fault::new(format!(
        "{} {what} has a negative length ({len})",
        article(what)
    ))
}

/// The fault for a string that is not UTF-8.
#[cold]
#[inline(never)]
fn not_utf8(at: usize) -> Box<Fault> {
    Fault::new(format!("a string is not valid UTF-8 (at byte {at})"))
}

/// The indefinite article for a word in a message.
pub(super) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
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

/// The first `N` bytes of a slice known to hold them.
#[inline]
pub(super) fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// Whether text is a UUID in its canonical form, 8-4-4-4-12 hex digits.
pub(super) fn is_uuid(text: &[u8]) -> bool {
    text.len() == 36
        && text.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}
