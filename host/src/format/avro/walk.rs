//! Values read by their writer's shape alone, for the parts of a datum no
//! column takes: skipped fields, and the recursive parts of a value that
//! `json` columns hold as text.

use std::sync::Arc;

use super::MAX_DEPTH;
use super::cursor::{
    Cursor, Fault, MAX_ZERO_SIZE_ITEMS, Read, Segment, array, article, bytes, key_text, utf8,
};
use super::program::{Shape, ShapeId};
use crate::format::text;

/// A program's shapes and their sizes.
#[derive(Clone, Copy)]
pub(super) struct Shapes<'p> {
    /// The shapes.
    pub(super) shapes: &'p [Shape],
    /// The fewest bytes a value of each shape takes.
    pub(super) min_sizes: &'p [usize],
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

/// Skips a value of a shape.
pub(super) fn skip(
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
                        Fault::new(format!("an array block has a negative byte size ({size})"))
                    })?;
                    cur.take(size, "array block")?;
                    continue;
                }
                let items = blocked(count, min, cur, budget, "array")?;
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
                        Fault::new(format!("a map block has a negative byte size ({size})"))
                    })?;
                    cur.take(size, "map block")?;
                    continue;
                }
                let items = blocked(count, min, cur, budget, "map")?;
                for _ in 0..items {
                    cur.bytes("map key")?;
                    skip(shapes, *value, cur, budget, depth + 1)?;
                }
            }
        }
        Some(Shape::Union(branches, _)) => {
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
fn blocked(
    count: i64,
    min: usize,
    cur: &Cursor<'_>,
    budget: &mut usize,
    what: &str,
) -> Read<usize> {
    let items = usize::try_from(count).unwrap_or(usize::MAX);
    if min == 0 {
        if items > *budget {
            return Err(Fault::new(format!(
                "the value holds more than {MAX_ZERO_SIZE_ITEMS} {what} items that take no bytes"
            )));
        }
        *budget -= items;
    } else if items
        .checked_mul(min)
        .is_none_or(|need| need > cur.buf.len())
    {
        return Err(Fault::new(format!(
            "{} {what} block of {items} items needs at least {}, but the value has {} left",
            article(what),
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
pub(super) fn write_json(
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
                    "enum index {index} is out of range; the writer's enum has {} symbols",
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
        Some(Shape::Union(branches, tags)) => {
            let index = cur.long()?;
            let slot = usize::try_from(index).ok();
            let Some(branch) = slot.and_then(|i| branches.get(i)) else {
                return Err(Fault::new(format!(
                    "union branch {index} is out of range; the writer's union has {} branches",
                    branches.len()
                )));
            };
            let null = matches!(shapes.get(*branch), Some(Shape::Null));
            match tags
                .as_ref()
                .and_then(|tags| slot.and_then(|i| tags.get(i)))
            {
                Some(tag) if !null => {
                    out.push(b'{');
                    text::push_json_string(out, tag);
                    out.push(b':');
                    write_json(shapes, *branch, cur, out, budget, depth + 1)?;
                    out.push(b'}');
                }
                _ => write_json(shapes, *branch, cur, out, budget, depth + 1)?,
            }
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
