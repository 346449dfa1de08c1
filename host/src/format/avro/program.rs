//! The decoder's program: a writer schema, resolved against a reader
//! schema, compiled ([`super::compile`]) into a flat list of [`Step`]s that
//! each read one writer value and append it to one builder by index, and
//! the [`Shape`]s of writer values no column takes.

use std::sync::Arc;

use arrow_buffer::i256;

#[cfg(doc)]
use super::builders::Builders;

/// An index into [`Program::steps`].
pub(super) type StepId = u32;

/// An index into [`Program::shapes`].
pub(super) type ShapeId = u32;

/// One decoding step: what to read, and where it goes. Column numbers are
/// indexes into the arena of [`Builders`] the step's type names.
pub(super) enum Step {
    /// A writer `null` into a `Null` column.
    Null(u32),
    /// Nothing read; a null into a nullable column (a node), for a writer
    /// union's `null` branch.
    PushNull(u32),
    /// `boolean`.
    Bool(u32),
    /// `int` into an `i32` column.
    Int(u32),
    /// `int` into an `i64` column.
    IntToLong(u32),
    /// `int` into a `Float32` column.
    IntToFloat(u32),
    /// `int` into a `Float64` column.
    IntToDouble(u32),
    /// `long` into an `i64` column.
    Long(u32),
    /// `long` into a `Float32` column.
    LongToFloat(u32),
    /// `long` into a `Float64` column.
    LongToDouble(u32),
    /// `float`.
    Float(u32),
    /// `float` into a `Float64` column.
    FloatToDouble(u32),
    /// `double`.
    Double(u32),
    /// `string` (or `bytes`) into a `Utf8` column, checked to be UTF-8.
    String(u32),
    /// `bytes` (or `string`) into a `Binary` column.
    Bytes(u32),
    /// `string` checked to be a UUID, into a `Utf8` column.
    Uuid(u32),
    /// `bytes` of 16 into a `FixedSizeBinary(16)` column.
    UuidBytes(u32),
    /// `fixed` of `size` bytes.
    Fixed {
        /// The fixed column.
        col: u32,
        /// Bytes per value.
        size: u32,
    },
    /// `enum` index into a dictionary key column.
    Enum(Box<EnumStep>),
    /// A decimal into a `Decimal128` column.
    Decimal128 {
        /// The column.
        col: u32,
        /// `None` for `bytes`, the size for `fixed`.
        fixed: Option<u32>,
        /// The largest magnitude the precision allows.
        max: i128,
        /// The precision, for messages.
        precision: u8,
    },
    /// A decimal into a `Decimal256` column.
    Decimal256 {
        /// The column.
        col: u32,
        /// `None` for `bytes`, the size for `fixed`.
        fixed: Option<u32>,
        /// The largest magnitude the precision allows.
        max: Box<i256>,
        /// The precision, for messages.
        precision: u8,
    },
    /// `duration` (`fixed(12)`) into an interval column.
    Duration(u32),
    /// A record: its field steps, then the struct row.
    Record {
        /// The struct column.
        strukt: u32,
        /// The first field step.
        first: StepId,
        /// How many field steps follow it.
        count: u32,
        /// The name of each field step's field, for error paths.
        names: Box<[Arc<str>]>,
    },
    /// An array: blocks of items.
    Array {
        /// The list column.
        list: u32,
        /// The step for one item.
        item: StepId,
        /// The fewest bytes one item takes, to bound counts.
        min_size: usize,
    },
    /// A map: blocks of key and value pairs.
    Map {
        /// The list column of the map.
        list: u32,
        /// The entries' struct column.
        entries: u32,
        /// The keys' string column.
        key: u32,
        /// The step for one value.
        value: StepId,
        /// The fewest bytes one entry takes.
        min_size: usize,
    },
    /// A writer union: the branch index, then that branch's action.
    Union(Box<[Branch]>),
    /// A writer `["null", T]` (either order) of a plain `T` into a
    /// nullable column: one step instead of a union's two.
    Optional {
        /// The branch index of `null` (0 or 1; the other is the value).
        null: u8,
        /// How the value is read.
        leaf: Leaf,
        /// The column, in the arena `leaf` names.
        col: u32,
    },
    /// Starts a row of a dense union column in branch `type_id`, then runs
    /// `then` into that branch's child.
    Tag {
        /// The union column.
        union: u32,
        /// The reader branch.
        type_id: i8,
        /// The step that reads the value.
        then: StepId,
    },
    /// A writer value the reader does not keep.
    Skip(ShapeId),
    /// A value of a recursive type, as JSON text into a `Utf8` column.
    Json {
        /// The column.
        col: u32,
        /// The writer's shape of the value.
        shape: ShapeId,
    },
    /// A reader field the writer lacks: its default, encoded, read by
    /// `then`.
    Default {
        /// The default value as an Avro datum of the reader field's type.
        bytes: Box<[u8]>,
        /// The step that reads it.
        then: StepId,
    },
    /// A slot being compiled; never run.
    Pending,
}

/// The plain values an [`Step::Optional`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Leaf {
    /// `boolean`.
    Bool,
    /// `int` into `i32s`.
    Int,
    /// `long` into `i64s`.
    Long,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `string` into `bytes`, checked UTF-8.
    String,
    /// `bytes` into `bytes`.
    Bytes,
}

/// An enum step.
pub(super) struct EnumStep {
    /// The key column.
    pub(super) col: u32,
    /// For each writer symbol, its reader index, or -1 when the reader
    /// has neither it nor a default.
    pub(super) map: Box<[i32]>,
    /// The writer's symbols, for messages.
    pub(super) symbols: Box<[Box<str>]>,
    /// The reader enum's name, for messages.
    pub(super) name: Box<str>,
}

/// What a writer union branch does.
pub(super) enum Branch {
    /// Runs a step.
    Run(StepId),
    /// The reader has no place for it: the value is an error.
    Fail(Box<str>),
}

/// The writer's shape of a value, logical types reduced to their
/// encoding: enough to skip it or write it as JSON.
pub(super) enum Shape {
    /// `null`.
    Null,
    /// `boolean`.
    Bool,
    /// `int`.
    Int,
    /// `long`.
    Long,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `bytes`.
    Bytes,
    /// `string`.
    String,
    /// `fixed`.
    Fixed(usize),
    /// `enum`, with its symbols.
    Enum(Box<[Box<str>]>),
    /// `record`, with its fields' names and shapes.
    Record(Box<[(Box<str>, ShapeId)]>),
    /// `array`.
    Array(ShapeId),
    /// `map`.
    Map(ShapeId),
    /// `union`, with each branch's name when the union has more than one
    /// non-null branch (its JSON then names the branch, as Avro's JSON
    /// encoding does: `{"int": 3}`).
    Union(Box<[ShapeId]>, Option<Box<[Box<str>]>>),
    /// A slot being compiled (a recursive type refers to it).
    Pending,
}

/// A compiled program.
pub(super) struct Program {
    /// The steps; [`Program::root`] reads one datum.
    pub(super) steps: Vec<Step>,
    /// The shapes skipped values and `json` columns are read with.
    pub(super) shapes: Vec<Shape>,
    /// The fewest bytes a value of each shape takes.
    pub(super) min_sizes: Vec<usize>,
    /// The step that reads a whole datum into the root struct.
    pub(super) root: StepId,
}

/// The fewest bytes a value of a shape takes (a lower bound: recursion
/// past a few levels counts as nothing).
pub(super) fn min_size(shapes: &[Shape], id: ShapeId, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    match shapes.get(id as usize) {
        None | Some(Shape::Null | Shape::Pending) => 0,
        Some(Shape::Bool | Shape::Int | Shape::Long | Shape::Bytes | Shape::String) => 1,
        Some(Shape::Enum(_) | Shape::Array(_) | Shape::Map(_)) => 1,
        Some(Shape::Float) => 4,
        Some(Shape::Double) => 8,
        Some(Shape::Fixed(size)) => *size,
        Some(Shape::Record(fields)) => fields
            .iter()
            .map(|(_, field)| min_size(shapes, *field, depth + 1))
            .fold(0, usize::saturating_add),
        Some(Shape::Union(branches, _)) => 1usize.saturating_add(
            branches
                .iter()
                .map(|b| min_size(shapes, *b, depth + 1))
                .min()
                .unwrap_or(0),
        ),
    }
}
