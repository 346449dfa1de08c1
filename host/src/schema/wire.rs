//! The Confluent wire format's framing, sans-IO.
//!
//! A value written by Confluent's serializers starts with a header:
//!
//! ```text
//! 0x00 | schema id: 4 bytes, big-endian | payload
//! 0x00 | schema id | message index path | payload      (Protobuf)
//! ```
//!
//! The Protobuf message index path says which message of the schema's
//! `.proto` file the payload is: `[0]` is the first top-level message,
//! `[1, 2]` the third message nested in the second. It is written as a
//! count then that many indexes, each a zig-zag varint; the common path
//! `[0]` is written as the single byte `0x00` (a count of zero), and the
//! long form `02 00` (a count of one, then 0) is accepted too.
//!
//! Everything here is bounds-checked: a short, truncated or foreign value
//! is a [`WireError`] naming what is wrong, never a panic.

use std::fmt;

/// The first byte of a framed value.
pub const MAGIC: u8 = 0;

/// Bytes of the header before the payload (or the message indexes).
pub const HEADER_LEN: usize = 5;

/// The longest message index path read. Real schemas nest a few levels;
/// a hostile count must not make the reader allocate.
pub const MAX_INDEX_DEPTH: usize = 64;

/// A framed value, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed<'a> {
    /// The registry's id of the writer's schema.
    pub schema_id: u32,
    /// The payload: an Avro datum, a Protobuf message or JSON text.
    pub payload: &'a [u8],
}

/// A framed Protobuf value, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramedProtobuf<'a> {
    /// The registry's id of the writer's schema.
    pub schema_id: u32,
    /// Which message of the schema: indexes from the file's top level down.
    pub message_index: Vec<u32>,
    /// The encoded message.
    pub payload: &'a [u8],
}

/// Why a value is not in the wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The value has no bytes at all.
    #[error(
        "the value is empty; a framed value starts with the magic byte 0 and a 4-byte schema id"
    )]
    Empty,
    /// Fewer than five bytes.
    #[error(
        "the value is {len} byte(s) long, shorter than the 5-byte header (magic byte 0 and a 4-byte schema id)"
    )]
    Short {
        /// Its length.
        len: usize,
    },
    /// Magic byte 1: the schema is named by a GUID, in Confluent's newer
    /// header mode.
    #[error(
        "the value starts with magic byte 1 (a schema GUID, as Confluent's serializers write in their schema-id-in-headers mode), which is not supported; produce with the schema id in the value (magic byte 0)"
    )]
    Guid,
    /// Some other first byte: not a framed value.
    #[error(
        "the value starts with byte 0x{0:02x}, not the magic byte 0 of the Confluent wire format; was it written by a schema registry serializer?"
    )]
    Magic(u8),
    /// The message index path ends early.
    #[error("the Protobuf message index path is cut short after {read} of its bytes")]
    TruncatedIndex {
        /// Bytes of the path read.
        read: usize,
    },
    /// A varint of the path runs past five bytes.
    #[error("the Protobuf message index path has a varint longer than 5 bytes")]
    LongVarint,
    /// The path's count is negative or absurd.
    #[error(
        "the Protobuf message index path claims {0} indexes; at most {MAX_INDEX_DEPTH} are read"
    )]
    IndexCount(i64),
    /// An index is negative.
    #[error("the Protobuf message index path has a negative index ({0})")]
    NegativeIndex(i32),
}

/// Split a framed Avro or JSON Schema value.
///
/// # Errors
///
/// The value is short or does not start with the magic byte.
pub fn parse(value: &[u8]) -> Result<Framed<'_>, WireError> {
    let schema_id = header(value)?;
    Ok(Framed {
        schema_id,
        payload: &value[HEADER_LEN..],
    })
}

/// Split a framed Protobuf value, message index path included.
///
/// # Errors
///
/// The value is short, does not start with the magic byte, or its path is
/// truncated or malformed.
pub fn parse_protobuf(value: &[u8]) -> Result<FramedProtobuf<'_>, WireError> {
    let schema_id = header(value)?;
    let mut rest = &value[HEADER_LEN..];
    let start = rest.len();
    let count = read_zigzag(&mut rest, start)?;
    let message_index = if count == 0 {
        vec![0]
    } else {
        let n = usize::try_from(count)
            .ok()
            .filter(|n| *n <= MAX_INDEX_DEPTH)
            .ok_or(WireError::IndexCount(i64::from(count)))?;
        let mut path = Vec::with_capacity(n);
        for _ in 0..n {
            let index = read_zigzag(&mut rest, start)?;
            path.push(u32::try_from(index).map_err(|_| WireError::NegativeIndex(index))?);
        }
        path
    };
    Ok(FramedProtobuf {
        schema_id,
        message_index,
        payload: rest,
    })
}

/// Append the header of a value of schema `id` to `out`.
pub fn write_header(schema_id: u32, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Append the header of a Protobuf value of schema `id` and message
/// `index` to `out`; the path `[0]` is written as the single byte 0.
pub fn write_protobuf_header(schema_id: u32, index: &[u32], out: &mut Vec<u8>) {
    write_header(schema_id, out);
    if index == [0] {
        out.push(0);
        return;
    }
    write_zigzag(i32::try_from(index.len()).unwrap_or(i32::MAX), out);
    for i in index {
        write_zigzag(i32::try_from(*i).unwrap_or(i32::MAX), out);
    }
}

fn header(value: &[u8]) -> Result<u32, WireError> {
    match value.first() {
        None => return Err(WireError::Empty),
        Some(&MAGIC) => {}
        Some(1) => return Err(WireError::Guid),
        Some(&other) => return Err(WireError::Magic(other)),
    }
    match value.get(1..HEADER_LEN) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(WireError::Short { len: value.len() }),
    }
}

/// Read one zig-zag varint (at most 5 bytes) off the front of `rest`.
fn read_zigzag(rest: &mut &[u8], start: usize) -> Result<i32, WireError> {
    let mut raw: u32 = 0;
    for i in 0..5 {
        let Some((&byte, tail)) = rest.split_first() else {
            return Err(WireError::TruncatedIndex {
                read: start - rest.len(),
            });
        };
        *rest = tail;
        // The fifth byte carries the top four bits only.
        if i == 4 && byte > 0x0f {
            return Err(WireError::LongVarint);
        }
        raw |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32));
        }
    }
    Err(WireError::LongVarint)
}

fn write_zigzag(n: i32, out: &mut Vec<u8>) {
    let mut raw = ((n << 1) ^ (n >> 31)) as u32;
    while raw >= 0x80 {
        out.push((raw as u8 & 0x7f) | 0x80);
        raw >>= 7;
    }
    out.push(raw as u8);
}

impl fmt::Display for FramedProtobuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schema {} message {:?} ({} bytes)",
            self.schema_id,
            self.message_index,
            self.payload.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_avro_header_splits_off() {
        let value = [0, 0, 0, 1, 0x2a, 0xde, 0xad];
        assert_eq!(
            parse(&value),
            Ok(Framed {
                schema_id: 298,
                payload: &[0xde, 0xad]
            })
        );
        assert_eq!(
            parse(&[0, 0xff, 0xff, 0xff, 0xff]),
            Ok(Framed {
                schema_id: u32::MAX,
                payload: &[]
            })
        );
    }

    #[test]
    fn every_truncated_header_names_its_length() {
        assert_eq!(parse(&[]), Err(WireError::Empty));
        for len in 1..5 {
            let value = vec![0u8; len];
            assert_eq!(parse(&value), Err(WireError::Short { len }), "{len} bytes");
            assert_eq!(
                parse_protobuf(&value),
                Err(WireError::Short { len }),
                "{len} bytes"
            );
        }
        // Five bytes is a whole Avro header with an empty payload, but a
        // Protobuf value needs its index path after it.
        assert!(parse(&[0; 5]).is_ok());
        assert_eq!(
            parse_protobuf(&[0; 5]),
            Err(WireError::TruncatedIndex { read: 0 })
        );
    }

    #[test]
    fn foreign_first_bytes_are_named() {
        assert_eq!(parse(b"{\"id\":1}"), Err(WireError::Magic(b'{')));
        assert_eq!(parse(&[1, 0, 0, 0, 1]), Err(WireError::Guid));
        assert!(
            WireError::Magic(b'{')
                .to_string()
                .starts_with("the value starts with byte 0x7b, not the magic byte 0")
        );
    }

    /// Vectors worked out by hand: count and indexes are zig-zag varints,
    /// so 1 → 0x02, 2 → 0x04, 300 → 0xd8 0x04.
    #[test]
    fn protobuf_index_paths_match_hand_computed_bytes() {
        let cases: [(&[u8], &[u32]); 6] = [
            (&[0x00], &[0]),                         // [0], short form
            (&[0x02, 0x00], &[0]),                   // [0], long form
            (&[0x02, 0x02], &[1]),                   // [1]
            (&[0x04, 0x00, 0x04], &[0, 2]),          // [0, 2]
            (&[0x06, 0x02, 0x00, 0x06], &[1, 0, 3]), // nested three deep
            (&[0x02, 0xd8, 0x04], &[300]),           // a two-byte varint
        ];
        for (path, want) in cases {
            let mut value = vec![0, 0, 0, 0, 7];
            value.extend_from_slice(path);
            value.extend_from_slice(b"\x08\x01");
            let framed = parse_protobuf(&value).expect("parses");
            assert_eq!(framed.schema_id, 7);
            assert_eq!(framed.message_index, want, "path {path:02x?}");
            assert_eq!(framed.payload, b"\x08\x01");
        }
    }

    #[test]
    fn protobuf_headers_are_written_in_the_short_form_for_the_first_message() {
        let mut out = Vec::new();
        write_protobuf_header(7, &[0], &mut out);
        assert_eq!(out, [0, 0, 0, 0, 7, 0]);
        out.clear();
        write_protobuf_header(7, &[0, 2], &mut out);
        assert_eq!(out, [0, 0, 0, 0, 7, 0x04, 0x00, 0x04]);
    }

    #[test]
    fn malformed_index_paths_are_errors() {
        let framed = |path: &[u8]| {
            let mut v = vec![0, 0, 0, 0, 1];
            v.extend_from_slice(path);
            parse_protobuf(&v).map(|f| f.message_index)
        };
        assert_eq!(
            framed(&[0x04, 0x00]),
            Err(WireError::TruncatedIndex { read: 2 })
        );
        assert_eq!(framed(&[0x80]), Err(WireError::TruncatedIndex { read: 1 }));
        assert_eq!(framed(&[0x01]), Err(WireError::IndexCount(-1)));
        assert_eq!(framed(&[0xfe, 0x01]), Err(WireError::IndexCount(127)));
        assert_eq!(framed(&[0x02, 0x01]), Err(WireError::NegativeIndex(-1)));
        assert_eq!(
            framed(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(WireError::LongVarint)
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes);
            let _ = parse_protobuf(&bytes);
        }

        #[test]
        fn written_headers_read_back(id in any::<u32>(), path in proptest::collection::vec(0u32..100_000, 1..8), payload in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut value = Vec::new();
            write_protobuf_header(id, &path, &mut value);
            value.extend_from_slice(&payload);
            let framed = parse_protobuf(&value).expect("reads back");
            prop_assert_eq!(framed.schema_id, id);
            prop_assert_eq!(framed.message_index, path);
            prop_assert_eq!(framed.payload, &payload[..]);

            let mut value = Vec::new();
            write_header(id, &mut value);
            value.extend_from_slice(&payload);
            let framed = parse(&value).expect("reads back");
            prop_assert_eq!(framed.schema_id, id);
            prop_assert_eq!(framed.payload, &payload[..]);
        }
    }
}
