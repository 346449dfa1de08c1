//! Compiling a writer schema, resolved against a reader schema, into a
//! [`Program`] for the decoder's column builders.
//!
//! Resolution follows the Avro specification: reader fields are matched to
//! writer fields by name or by the reader field's aliases; writer fields the
//! reader lacks are skipped; reader fields the writer lacks take their
//! default; `int → long → float → double` and `string ↔ bytes` promote;
//! records, enums and fixed types match by name (unqualified, or through
//! the reader's aliases); a writer enum symbol the reader lacks takes the
//! reader enum's default; a writer union branch resolves to the first
//! reader branch of the same type (else the first it promotes to), and a
//! branch with no match is an error for the values that use it, not for the
//! schema. Logical types must agree where both sides have one (a
//! `timestamp-millis` is not read as `timestamp-micros`); a plain type
//! reads as a logical one and the reverse. Decimals must agree in precision
//! and scale.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{
    Alias, DecimalSchema, EnumSchema, InnerDecimalSchema, Name, RecordSchema, UnionSchema,
    UuidSchema,
};
use arrow_buffer::i256;

use super::builders::{Builders, Kind};
use super::mapping::branch_name;
use super::program::{Branch, EnumStep, Leaf, Program, Shape, ShapeId, Step, StepId, min_size};
use super::{AvroSchemaError, Names, json, resolve};

/// Compiles the program reading `writer` datums as `reader` values into
/// `builders` (built from the reader's Arrow schema, whose top level is a
/// record when `reader_is_record`).
pub(super) fn compile(
    writer: (&Schema, &Names),
    reader: (&Schema, &Names),
    builders: &Builders,
    reader_is_record: bool,
) -> Result<Program, AvroSchemaError> {
    let mut compiler = Compiler {
        wnames: writer.1,
        rnames: reader.1,
        reader_names: reader.1,
        builders,
        steps: Vec::new(),
        shapes: Vec::new(),
        shape_memo: HashMap::new(),
    };
    let root = if reader_is_record {
        let step = compiler.compile(writer.0, reader.0, 0, "")?;
        compiler.push(step)
    } else {
        let value = builders
            .nodes
            .first()
            .and_then(|root| root.children.first().copied())
            .ok_or_else(|| internal("", "the value column is missing"))?;
        let first = compiler.reserve(1);
        let step = compiler.compile(writer.0, reader.0, value, "value")?;
        compiler.steps[first as usize] = step;
        compiler.push(Step::Record {
            strukt: 0,
            first,
            count: 1,
            names: Box::new([Arc::from("value")]),
        })
    };
    let shapes = compiler.shapes;
    let min_sizes = (0..shapes.len())
        .map(|id| min_size(&shapes, u32::try_from(id).unwrap_or(u32::MAX), 0))
        .collect();
    Ok(Program {
        steps: compiler.steps,
        shapes,
        min_sizes,
        root,
    })
}

/// An error that means the compiler and the Arrow mapping disagree.
fn internal(path: &str, what: &str) -> AvroSchemaError {
    AvroSchemaError::Unsupported {
        path: path.to_owned(),
        message: format!("internal error compiling the decoder: {what}"),
    }
}

/// The encoding of a schema, with what resolution needs to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phys {
    /// `null`.
    Null,
    /// `boolean`.
    Boolean,
    /// `int` (and `date`, `time-millis`).
    Int,
    /// `long` (and the times and timestamps).
    Long,
    /// `float`.
    Float,
    /// `double`.
    Double,
    /// `bytes` (and logical types on it).
    Bytes,
    /// `string` (and `uuid` on it).
    String,
    /// `fixed` (and logical types on it).
    Fixed,
    /// `enum`.
    Enum,
    /// `record`.
    Record,
    /// `array`.
    Array,
    /// `map`.
    Map,
    /// `union`.
    Union,
}

/// The encoding of a (resolved) schema.
fn phys(schema: &Schema) -> Phys {
    match schema {
        Schema::Null => Phys::Null,
        Schema::Boolean => Phys::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Phys::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Phys::Long,
        Schema::Float => Phys::Float,
        Schema::Double => Phys::Double,
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => Phys::Bytes,
        Schema::String | Schema::Uuid(UuidSchema::String) => Phys::String,
        Schema::Fixed(_)
        | Schema::Duration(_)
        | Schema::Uuid(UuidSchema::Fixed(_))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(_),
            ..
        }) => Phys::Fixed,
        Schema::Enum(_) => Phys::Enum,
        Schema::Record(_) | Schema::Ref { .. } => Phys::Record,
        Schema::Array(_) => Phys::Array,
        Schema::Map(_) => Phys::Map,
        Schema::Union(_) => Phys::Union,
    }
}

/// A named type's name, aliases, and size (for `fixed` types).
type Named<'a> = (&'a Name, &'a Option<Vec<Alias>>, Option<usize>);

/// The name and aliases of a named (resolved) schema.
fn named(schema: &Schema) -> Option<Named<'_>> {
    match schema {
        Schema::Record(r) => Some((&r.name, &r.aliases, None)),
        Schema::Enum(e) => Some((&e.name, &e.aliases, None)),
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => Some((&f.name, &f.aliases, Some(f.size))),
        _ => None,
    }
}

/// Whether a writer's named type matches a reader's: the same full or
/// unqualified name, or one of the reader's aliases.
fn names_match(writer: &Name, reader: &Name, aliases: &Option<Vec<Alias>>) -> bool {
    writer == reader
        || writer.name() == reader.name()
        || aliases.iter().flatten().any(|alias| {
            alias.fully_qualified_name(reader.namespace()).as_ref() == writer
                || alias.name() == writer.name()
        })
}

/// Whether a writer value of `w` can be read as `r` at the top (the
/// specification's "match"): the same encoding, a promotion, and for named
/// types the same name (and size, for fixed).
fn matches(w: &Schema, r: &Schema) -> bool {
    let (wp, rp) = (phys(w), phys(r));
    let promotes = matches!(
        (wp, rp),
        (Phys::Int, Phys::Long | Phys::Float | Phys::Double)
            | (Phys::Long, Phys::Float | Phys::Double)
            | (Phys::Float, Phys::Double)
            | (Phys::String, Phys::Bytes)
            | (Phys::Bytes, Phys::String)
    );
    if promotes {
        return true;
    }
    if wp != rp {
        return false;
    }
    match (named(w), named(r)) {
        (Some((wn, _, wsize)), Some((rn, aliases, rsize))) => {
            wsize == rsize && names_match(wn, rn, aliases)
        }
        _ => true,
    }
}

/// Which side's named types a shape is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    /// The writer's.
    Writer,
    /// The reader's (defaults are reader values).
    Reader,
}

/// Compiles steps and shapes.
struct Compiler<'a> {
    /// The writer's named types (the reader's, while compiling a default).
    wnames: &'a Names,
    /// The reader's named types.
    rnames: &'a Names,
    /// The reader's named types, always.
    reader_names: &'a Names,
    /// The builders the steps append to.
    builders: &'a Builders,
    /// The steps so far.
    steps: Vec<Step>,
    /// The shapes so far.
    shapes: Vec<Shape>,
    /// Shapes of named types already compiled, by side and name.
    shape_memo: HashMap<(Side, Name), ShapeId>,
}

impl Compiler<'_> {
    /// Adds a step, returning its id.
    fn push(&mut self, step: Step) -> StepId {
        let id = u32::try_from(self.steps.len()).unwrap_or(u32::MAX);
        self.steps.push(step);
        id
    }

    /// Reserves `count` contiguous slots, returning the first.
    fn reserve(&mut self, count: usize) -> StepId {
        let first = u32::try_from(self.steps.len()).unwrap_or(u32::MAX);
        self.steps
            .extend(std::iter::repeat_with(|| Step::Pending).take(count));
        first
    }

    /// The kind of a builder node.
    fn kind(&self, node: u32, path: &str) -> Result<&Kind, AvroSchemaError> {
        self.builders
            .nodes
            .get(node as usize)
            .map(|n| &n.kind)
            .ok_or_else(|| internal(path, "no column for the field"))
    }

    /// The `index`th child node of `node`.
    fn child(&self, node: u32, index: usize, path: &str) -> Result<u32, AvroSchemaError> {
        self.builders
            .nodes
            .get(node as usize)
            .and_then(|n| n.children.get(index).copied())
            .ok_or_else(|| internal(path, "no column for a nested field"))
    }

    /// The step reading writer values of `w` into the reader node `node`
    /// of reader type `r`, at `path`.
    fn compile(
        &mut self,
        w: &Schema,
        r: &Schema,
        node: u32,
        path: &str,
    ) -> Result<Step, AvroSchemaError> {
        let w = resolve(self.wnames, w);
        let r = resolve(self.rnames, r);
        let json = self
            .builders
            .nodes
            .get(node as usize)
            .is_some_and(|n| n.json);
        if json {
            let Kind::Utf8(col) = self.kind(node, path)? else {
                return Err(internal(path, "a json column is not utf8"));
            };
            let col = *col;
            let shape = self.shape(w, path)?;
            return Ok(Step::Json { col, shape });
        }
        match (w, r) {
            (Schema::Union(wu), Schema::Union(ru)) => {
                let mut branches = Vec::with_capacity(wu.variants().len());
                for wb in wu.variants() {
                    branches.push(self.read_into_union(wb, ru, node, path)?);
                }
                Ok(self
                    .optional(&branches, node)
                    .unwrap_or_else(|| Step::Union(branches.into())))
            }
            (Schema::Union(wu), _) => {
                let mut branches = Vec::with_capacity(wu.variants().len());
                for wb in wu.variants() {
                    let wb = resolve(self.wnames, wb);
                    if matches(wb, r) {
                        let step = self.compile(wb, r, node, path)?;
                        branches.push(Branch::Run(self.push(step)));
                    } else {
                        branches.push(Branch::Fail(self.no_branch(wb, r)));
                    }
                }
                Ok(Step::Union(branches.into()))
            }
            (_, Schema::Union(ru)) => match self.read_into_union(w, ru, node, path)? {
                Branch::Run(step) => Ok(std::mem::replace(
                    &mut self.steps[step as usize],
                    Step::Pending,
                )),
                Branch::Fail(_) => Err(AvroSchemaError::Incompatible {
                    path: path.to_owned(),
                    message: format!(
                        "the writer's `{}` fits no branch of the reader's union",
                        describe(self.wnames, w)
                    ),
                }),
            },
            _ => self.plain(w, r, node, path),
        }
    }

    /// The single step for a union of `null` and a plain value read into
    /// node `node`, if `branches` are that.
    fn optional(&self, branches: &[Branch], node: u32) -> Option<Step> {
        let step = |branch: &Branch| match branch {
            Branch::Run(id) => self.steps.get(*id as usize),
            Branch::Fail(_) => None,
        };
        let (null, value) = match branches {
            [a, b] => match (step(a)?, step(b)?) {
                (Step::PushNull(n), value) if *n == node => (0, value),
                (value, Step::PushNull(n)) if *n == node => (1, value),
                _ => return None,
            },
            _ => return None,
        };
        let (leaf, col) = match value {
            Step::Bool(c) => (Leaf::Bool, *c),
            Step::Int(c) => (Leaf::Int, *c),
            Step::Long(c) => (Leaf::Long, *c),
            Step::Float(c) => (Leaf::Float, *c),
            Step::Double(c) => (Leaf::Double, *c),
            Step::String(c) => (Leaf::String, *c),
            Step::Bytes(c) => (Leaf::Bytes, *c),
            _ => return None,
        };
        Some(Step::Optional { null, leaf, col })
    }

    /// The message for a writer branch the reader has no place for.
    fn no_branch(&self, w: &Schema, r: &Schema) -> Box<str> {
        let w = describe(self.wnames, w);
        if w == "null" {
            "the value is null, which the reader's schema does not allow".into()
        } else {
            format!(
                "the writer's `{w}` value cannot be read as the reader's `{}`",
                describe(self.rnames, r)
            )
            .into()
        }
    }

    /// The action for a writer value of `w` read into a reader union.
    fn read_into_union(
        &mut self,
        w: &Schema,
        ru: &UnionSchema,
        node: u32,
        path: &str,
    ) -> Result<Branch, AvroSchemaError> {
        let w = resolve(self.wnames, w);
        let rnames = self.rnames;
        let variants: Vec<&Schema> = ru.variants().iter().map(|v| resolve(rnames, v)).collect();
        let others: Vec<&Schema> = variants
            .iter()
            .copied()
            .filter(|v| !matches!(v, Schema::Null))
            .collect();
        if others.len() <= 1 {
            // The reader column is a nullable `T` (or `Null`).
            if matches!(w, Schema::Null) {
                if others.is_empty() {
                    let Kind::Null(col) = self.kind(node, path)? else {
                        return Err(internal(path, "a null union is not a null column"));
                    };
                    let col = *col;
                    return Ok(Branch::Run(self.push(Step::Null(col))));
                }
                if variants.len() == others.len() {
                    return Ok(Branch::Fail(
                        "the value is null, which the reader's schema does not allow".into(),
                    ));
                }
                return Ok(Branch::Run(self.push(Step::PushNull(node))));
            }
            return match others.first() {
                Some(t) if matches(w, t) => {
                    let step = self.compile(w, t, node, path)?;
                    Ok(Branch::Run(self.push(step)))
                }
                Some(t) => Ok(Branch::Fail(self.no_branch(w, t))),
                None => Ok(Branch::Fail(self.no_branch(w, &Schema::Null))),
            };
        }
        // A dense union: the first reader branch of the same encoding (and
        // name), else the first the writer promotes to.
        let exact = variants
            .iter()
            .position(|v| phys(v) == phys(w) && matches(w, v));
        let Some(index) = exact.or_else(|| variants.iter().position(|v| matches(w, v))) else {
            let name = branch_name(self.wnames, w);
            return Ok(Branch::Fail(
                format!("the writer's `{name}` value fits no branch of the reader's union").into(),
            ));
        };
        let Kind::Union(union, _) = self.kind(node, path)? else {
            return Err(internal(path, "a union is not a union column"));
        };
        let union = *union;
        let child = self.child(node, index, path)?;
        let branch_path = format!("{path}<{}>", branch_name(rnames, variants[index]));
        let then = self.compile(w, variants[index], child, &branch_path)?;
        let then = self.push(then);
        let type_id = i8::try_from(index).map_err(|_| internal(path, "too many branches"))?;
        Ok(Branch::Run(self.push(Step::Tag {
            union,
            type_id,
            then,
        })))
    }

    /// The step for two non-union schemas.
    fn plain(
        &mut self,
        w: &Schema,
        r: &Schema,
        node: u32,
        path: &str,
    ) -> Result<Step, AvroSchemaError> {
        let mismatch = |this: &Self| AvroSchemaError::Incompatible {
            path: path.to_owned(),
            message: format!(
                "the writer's `{}` cannot be read as the reader's `{}`",
                describe(this.wnames, w),
                describe(this.rnames, r)
            ),
        };
        let wp = phys(w);
        let kind = self.kind(node, path)?;
        let logical_clash =
            logical(w).is_some() && logical(r).is_some() && logical(w) != logical(r);
        if logical_clash && !matches!(r, Schema::Decimal(_)) {
            return Err(mismatch(self));
        }
        if let (Some((wn, _, Some(ws))), Some((_, _, Some(rs)))) = (named(w), named(r))
            && ws != rs
        {
            return Err(AvroSchemaError::Incompatible {
                path: path.to_owned(),
                message: format!(
                    "the writer's fixed `{}` has {ws} bytes and the reader's {rs}",
                    wn.fullname(None)
                ),
            });
        }
        let step = match (r, kind) {
            (Schema::Null, Kind::Null(c)) if wp == Phys::Null => Step::Null(*c),
            (Schema::Boolean, Kind::Bool(c)) if wp == Phys::Boolean => Step::Bool(*c),
            (
                Schema::Int | Schema::Date | Schema::TimeMillis,
                Kind::Int32(c) | Kind::Date32(c) | Kind::Time32(c),
            ) if wp == Phys::Int => Step::Int(*c),
            (_, Kind::Int64(c) | Kind::Time64(c) | Kind::Timestamp(c, ..)) => match wp {
                Phys::Int => Step::IntToLong(*c),
                Phys::Long => Step::Long(*c),
                _ => return Err(mismatch(self)),
            },
            (Schema::Float, Kind::Float32(c)) => match wp {
                Phys::Int => Step::IntToFloat(*c),
                Phys::Long => Step::LongToFloat(*c),
                Phys::Float => Step::Float(*c),
                _ => return Err(mismatch(self)),
            },
            (Schema::Double, Kind::Float64(c)) => match wp {
                Phys::Int => Step::IntToDouble(*c),
                Phys::Long => Step::LongToDouble(*c),
                Phys::Float => Step::FloatToDouble(*c),
                Phys::Double => Step::Double(*c),
                _ => return Err(mismatch(self)),
            },
            (Schema::Uuid(UuidSchema::String), Kind::Utf8(c))
                if matches!(wp, Phys::String | Phys::Bytes) =>
            {
                Step::Uuid(*c)
            }
            (Schema::String, Kind::Utf8(c)) if matches!(wp, Phys::String | Phys::Bytes) => {
                Step::String(*c)
            }
            (Schema::Bytes | Schema::BigDecimal, Kind::Binary(c))
                if matches!(wp, Phys::String | Phys::Bytes) =>
            {
                Step::Bytes(*c)
            }
            (Schema::Uuid(UuidSchema::Bytes), Kind::Fixed(c, 16)) if wp == Phys::Bytes => {
                Step::UuidBytes(*c)
            }
            (Schema::Fixed(_) | Schema::Uuid(UuidSchema::Fixed(_)), Kind::Fixed(c, size))
                if matches(w, r) =>
            {
                Step::Fixed {
                    col: *c,
                    size: u32::try_from(*size).map_err(|_| mismatch(self))?,
                }
            }
            (Schema::Duration(_), Kind::Interval(c)) if matches(w, r) => Step::Duration(*c),
            (Schema::Decimal(rd), Kind::Decimal128(..) | Kind::Decimal256(..)) => {
                let Schema::Decimal(wd) = w else {
                    return Err(mismatch(self));
                };
                if wd.precision != rd.precision || wd.scale != rd.scale {
                    return Err(AvroSchemaError::Incompatible {
                        path: path.to_owned(),
                        message: format!(
                            "the writer's decimal({}, {}) differs from the reader's \
                             decimal({}, {}); decimals resolve only with equal precision and scale",
                            wd.precision, wd.scale, rd.precision, rd.scale
                        ),
                    });
                }
                let fixed = match &wd.inner {
                    InnerDecimalSchema::Bytes => None,
                    InnerDecimalSchema::Fixed(f) => {
                        Some(u32::try_from(f.size).map_err(|_| mismatch(self))?)
                    }
                };
                decimal_step(kind, fixed, rd.precision, path)?
            }
            (Schema::Enum(re), Kind::Dict(c, _)) => {
                let Schema::Enum(we) = w else {
                    return Err(mismatch(self));
                };
                if !names_match(&we.name, &re.name, &re.aliases) {
                    return Err(self.name_mismatch(&we.name, &re.name, path));
                }
                Step::Enum(Box::new(enum_step(*c, we, re)))
            }
            (Schema::Record(rr), Kind::Struct(..)) => {
                let Schema::Record(wr) = w else {
                    return Err(mismatch(self));
                };
                if !names_match(&wr.name, &rr.name, &rr.aliases) {
                    return Err(self.name_mismatch(&wr.name, &rr.name, path));
                }
                return self.record(wr, rr, node, path);
            }
            (Schema::Array(ra), Kind::List(list, _)) => {
                let Schema::Array(wa) = w else {
                    return Err(mismatch(self));
                };
                let list = *list;
                let child = self.child(node, 0, path)?;
                let item = self.compile(&wa.items, &ra.items, child, &format!("{path}[]"))?;
                let item = self.push(item);
                let shape = self.shape(&wa.items, path)?;
                Step::Array {
                    list,
                    item,
                    min_size: min_size(&self.shapes, shape, 0),
                }
            }
            (Schema::Map(rm), Kind::Map(list, _)) => {
                let Schema::Map(wm) = w else {
                    return Err(mismatch(self));
                };
                let list = *list;
                let entries_node = self.child(node, 0, path)?;
                let Kind::Struct(entries, _) = self.kind(entries_node, path)? else {
                    return Err(internal(path, "map entries are not a struct"));
                };
                let entries = *entries;
                let key_node = self.child(entries_node, 0, path)?;
                let Kind::Utf8(key) = self.kind(key_node, path)? else {
                    return Err(internal(path, "map keys are not utf8"));
                };
                let key = *key;
                let value_node = self.child(entries_node, 1, path)?;
                let value = self.compile(&wm.types, &rm.types, value_node, &format!("{path}[]"))?;
                let value = self.push(value);
                let shape = self.shape(&wm.types, path)?;
                Step::Map {
                    list,
                    entries,
                    key,
                    value,
                    min_size: 1usize.saturating_add(min_size(&self.shapes, shape, 0)),
                }
            }
            _ => return Err(mismatch(self)),
        };
        Ok(step)
    }

    /// The error for named types whose names differ.
    fn name_mismatch(&self, writer: &Name, reader: &Name, path: &str) -> AvroSchemaError {
        AvroSchemaError::Incompatible {
            path: path.to_owned(),
            message: format!(
                "the writer's `{}` and the reader's `{}` have different names; \
                 add `{}` to the reader type's aliases",
                writer.fullname(None),
                reader.fullname(None),
                writer.fullname(None)
            ),
        }
    }

    /// The steps of a writer record read as a reader record.
    fn record(
        &mut self,
        wr: &RecordSchema,
        rr: &RecordSchema,
        node: u32,
        path: &str,
    ) -> Result<Step, AvroSchemaError> {
        let Kind::Struct(strukt, _) = self.kind(node, path)? else {
            return Err(internal(path, "a record is not a struct column"));
        };
        let strukt = *strukt;
        let field_path = |name: &str| {
            if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            }
        };
        /// What to do for one step of the record.
        enum Plan<'s> {
            /// Read the writer field into reader field `index`.
            Read(&'s Schema, usize),
            /// Skip the writer field.
            Skip(&'s Schema),
            /// Reader field `index` takes its default.
            Default(usize),
        }
        let mut taken = vec![false; rr.fields.len()];
        let mut plan = Vec::with_capacity(wr.fields.len() + rr.fields.len());
        for wf in &wr.fields {
            let index = rr.lookup.get(&wf.name).copied().or_else(|| {
                rr.fields
                    .iter()
                    .position(|rf| rf.aliases.contains(&wf.name))
            });
            match index {
                Some(index) => {
                    if std::mem::replace(&mut taken[index], true) {
                        return Err(AvroSchemaError::Incompatible {
                            path: field_path(&rr.fields[index].name),
                            message: "two writer fields match it (by name and by alias); \
                                      remove the alias that makes the second match"
                                .to_owned(),
                        });
                    }
                    plan.push((
                        Arc::<str>::from(rr.fields[index].name.as_str()),
                        Plan::Read(&wf.schema, index),
                    ));
                }
                None => plan.push((Arc::from(wf.name.as_str()), Plan::Skip(&wf.schema))),
            }
        }
        for (index, rf) in rr.fields.iter().enumerate() {
            if !taken[index] {
                if rf.default.is_none() {
                    return Err(AvroSchemaError::Incompatible {
                        path: field_path(&rf.name),
                        message: "the field is not in the writer's schema and has no default; \
                                  give it a default in the reader's schema"
                            .to_owned(),
                    });
                }
                plan.push((Arc::from(rf.name.as_str()), Plan::Default(index)));
            }
        }
        let first = self.reserve(plan.len());
        let mut names = Vec::with_capacity(plan.len());
        for (k, (name, item)) in plan.into_iter().enumerate() {
            let step = match item {
                Plan::Read(ws, index) => {
                    let child = self.child(node, index, path)?;
                    self.compile(ws, &rr.fields[index].schema, child, &field_path(&name))?
                }
                Plan::Skip(ws) => Step::Skip(self.shape(ws, path)?),
                Plan::Default(index) => {
                    let child = self.child(node, index, path)?;
                    self.default(&rr.fields[index], child, &field_path(&name))?
                }
            };
            self.steps[first as usize + k] = step;
            names.push(name);
        }
        Ok(Step::Record {
            strukt,
            first,
            count: u32::try_from(names.len()).unwrap_or(u32::MAX),
            names: names.into(),
        })
    }

    /// The step giving a reader field its default.
    fn default(
        &mut self,
        field: &apache_avro::schema::RecordField,
        node: u32,
        path: &str,
    ) -> Result<Step, AvroSchemaError> {
        let Some(value) = &field.default else {
            return Err(internal(
                path,
                "a default was planned for a field without one",
            ));
        };
        let mut bytes = Vec::new();
        json::encode(&field.schema, self.reader_names, value, &mut bytes, 0).map_err(
            |message| AvroSchemaError::Incompatible {
                path: path.to_owned(),
                message: format!("its default {value} does not fit its type: {message}"),
            },
        )?;
        // The default is a reader value: read it with the reader's names on
        // both sides.
        let writer_names = std::mem::replace(&mut self.wnames, self.reader_names);
        let step = self.compile(&field.schema, &field.schema, node, path);
        self.wnames = writer_names;
        let then = self.push(step?);
        Ok(Step::Default {
            bytes: bytes.into(),
            then,
        })
    }

    /// The shape of a writer's `schema` (a reader's, while compiling a
    /// default).
    fn shape(&mut self, schema: &Schema, path: &str) -> Result<ShapeId, AvroSchemaError> {
        let names = self.wnames;
        let side = if std::ptr::eq(self.wnames, self.reader_names) {
            Side::Reader
        } else {
            Side::Writer
        };
        let schema = resolve(names, schema);
        let memo_name = match schema {
            Schema::Record(r) => Some(r.name.clone()),
            _ => None,
        };
        if let Some(name) = &memo_name
            && let Some(id) = self.shape_memo.get(&(side, name.clone()))
        {
            return Ok(*id);
        }
        let id = u32::try_from(self.shapes.len()).unwrap_or(u32::MAX);
        self.shapes.push(Shape::Pending);
        if let Some(name) = memo_name {
            self.shape_memo.insert((side, name), id);
        }
        let shape = match schema {
            Schema::Null => Shape::Null,
            Schema::Boolean => Shape::Bool,
            Schema::Int | Schema::Date | Schema::TimeMillis => Shape::Int,
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => Shape::Long,
            Schema::Float => Shape::Float,
            Schema::Double => Shape::Double,
            Schema::Bytes
            | Schema::BigDecimal
            | Schema::Uuid(UuidSchema::Bytes)
            | Schema::Decimal(DecimalSchema {
                inner: InnerDecimalSchema::Bytes,
                ..
            }) => Shape::Bytes,
            Schema::String | Schema::Uuid(UuidSchema::String) => Shape::String,
            Schema::Fixed(f)
            | Schema::Duration(f)
            | Schema::Uuid(UuidSchema::Fixed(f))
            | Schema::Decimal(DecimalSchema {
                inner: InnerDecimalSchema::Fixed(f),
                ..
            }) => Shape::Fixed(f.size),
            Schema::Enum(e) => Shape::Enum(e.symbols.iter().map(|s| s.as_str().into()).collect()),
            Schema::Record(r) => {
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    fields.push((f.name.as_str().into(), self.shape(&f.schema, path)?));
                }
                Shape::Record(fields.into())
            }
            Schema::Array(a) => Shape::Array(self.shape(&a.items, path)?),
            Schema::Map(m) => Shape::Map(self.shape(&m.types, path)?),
            Schema::Union(u) => {
                let mut branches = Vec::with_capacity(u.variants().len());
                for v in u.variants() {
                    branches.push(self.shape(v, path)?);
                }
                let others = u
                    .variants()
                    .iter()
                    .filter(|v| !matches!(v, Schema::Null))
                    .count();
                let tags = (others > 1).then(|| {
                    u.variants()
                        .iter()
                        .map(|v| branch_name(names, v).into())
                        .collect()
                });
                Shape::Union(branches.into(), tags)
            }
            Schema::Ref { name } => {
                return Err(internal(
                    path,
                    &format!("unresolved reference to `{}`", name.fullname(None)),
                ));
            }
        };
        self.shapes[id as usize] = shape;
        Ok(id)
    }
}

/// The logical type of a schema, if it has one that resolution compares.
fn logical(schema: &Schema) -> Option<&'static str> {
    Some(match schema {
        Schema::Date => "date",
        Schema::TimeMillis => "time-millis",
        Schema::TimeMicros => "time-micros",
        Schema::TimestampMillis => "timestamp-millis",
        Schema::TimestampMicros => "timestamp-micros",
        Schema::TimestampNanos => "timestamp-nanos",
        Schema::LocalTimestampMillis => "local-timestamp-millis",
        Schema::LocalTimestampMicros => "local-timestamp-micros",
        Schema::LocalTimestampNanos => "local-timestamp-nanos",
        Schema::Decimal(_) => "decimal",
        Schema::Duration(_) => "duration",
        Schema::Uuid(_) => "uuid",
        Schema::BigDecimal => "big-decimal",
        _ => return None,
    })
}

/// A schema's type for messages: its logical type, or its branch name.
fn describe(names: &Names, schema: &Schema) -> String {
    match logical(schema) {
        Some(logical) => logical.to_owned(),
        None => branch_name(names, schema),
    }
}

/// The step of a decimal into its column.
fn decimal_step(
    kind: &Kind,
    fixed: Option<u32>,
    precision: usize,
    path: &str,
) -> Result<Step, AvroSchemaError> {
    let exponent = u32::try_from(precision).unwrap_or(u32::MAX);
    match kind {
        Kind::Decimal128(col, p, _) => Ok(Step::Decimal128 {
            col: *col,
            fixed,
            max: 10i128
                .checked_pow(exponent)
                .map_or(i128::MAX, |power| power - 1),
            precision: *p,
        }),
        Kind::Decimal256(col, p, _) => Ok(Step::Decimal256 {
            col: *col,
            fixed,
            max: Box::new(
                i256::from_i128(10)
                    .checked_pow(exponent)
                    .map_or(i256::MAX, |power| power.wrapping_sub(i256::ONE)),
            ),
            precision: *p,
        }),
        _ => Err(internal(path, "a decimal is not a decimal column")),
    }
}

/// The enum step mapping writer symbols to reader ones.
fn enum_step(col: u32, we: &EnumSchema, re: &EnumSchema) -> EnumStep {
    let default = re
        .default
        .as_ref()
        .and_then(|d| re.symbols.iter().position(|s| s == d));
    let map = we
        .symbols
        .iter()
        .map(|symbol| {
            re.symbols
                .iter()
                .position(|s| s == symbol)
                .or(default)
                .and_then(|i| i32::try_from(i).ok())
                .unwrap_or(-1)
        })
        .collect();
    EnumStep {
        col,
        map,
        symbols: we.symbols.iter().map(|s| s.as_str().into()).collect(),
        name: re.name.fullname(None).into(),
    }
}
