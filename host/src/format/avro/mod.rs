//! Avro record values to Arrow and back: [`AvroSchema`], [`AvroDecoder`],
//! [`AvroEncoder`] and [`arrow_to_avro_schema`].
//!
//! Everything here is sans-IO: schema texts and datum bytes in, Arrow out
//! (and the reverse). The Confluent framing in front of a datum is
//! [`crate::schema::wire`]'s business; these types see the payload after it.
//!
//! # Design
//!
//! - [`AvroSchema::parse`] parses a schema text (and the texts of the named
//!   schemas it references, as a registry's schema references give them)
//!   with apache-avro, and keeps a table of every named type so references
//!   resolve without searching.
//! - [`AvroSchema::to_arrow`] maps it to an Arrow schema (the table below).
//!   A top-level record becomes the batch's columns; any other top-level
//!   type becomes one column named `value`.
//! - [`AvroDecoder`] compiles a writer schema (resolved against a reader
//!   schema when one is given) into a flat program of steps, each naming the
//!   column builder it appends to, so decoding one datum is a walk over the
//!   steps with no name lookups, no intermediate values and no allocation
//!   beyond the builders' own growth. A value that turns out to be bad is
//!   taken back out of every column (builders can be truncated to a row
//!   count), and reported with the path of the field at fault, while the
//!   rest of the batch decodes.
//! - [`AvroEncoder`] writes each row of a batch as one datum of a given
//!   schema into one buffer with the end offset of every row, like
//!   [`JsonEncoder`](crate::format::JsonEncoder).
//! - [`arrow_to_avro_schema`] derives a schema to register from an Arrow
//!   schema, using the metadata the decoder leaves on fields to give named
//!   types and enums back their names and symbols.
//!
//! # Types
//!
//! | Avro | Arrow |
//! |---|---|
//! | `null` | `Null` |
//! | `boolean`, `int`, `long`, `float`, `double` | `Boolean`, `Int32`, `Int64`, `Float32`, `Float64` |
//! | `bytes`, `string` | `Binary`, `Utf8` |
//! | `fixed` (size n) | `FixedSizeBinary(n)` |
//! | `enum` | `Dictionary(Int32, Utf8)`, the dictionary holding every symbol |
//! | `record` | `Struct` |
//! | `array` | `List` (items named `item`) |
//! | `map` | `Map` of `key: Utf8` to `value` |
//! | `["null", T]` (either order) | `T`, nullable |
//! | other unions | `DenseUnion`, one child per branch, named by the branch's type (`int`, `string`, a named type's full name) and with type id = branch index |
//! | `decimal(p, s)` on `bytes` or `fixed` | `Decimal128(p, s)`, or `Decimal256(p, s)` above precision 38 |
//! | `uuid` on `string` | `Utf8` |
//! | `uuid` on `fixed(16)` | `FixedSizeBinary(16)` with the `arrow.uuid` extension |
//! | `date` | `Date32` |
//! | `time-millis`, `time-micros` | `Time32(ms)`, `Time64(µs)` |
//! | `timestamp-millis`/`-micros`/`-nanos` | `Timestamp(unit, "UTC")` |
//! | `local-timestamp-millis`/`-micros`/`-nanos` | `Timestamp(unit)`, no time zone |
//! | `duration` (`fixed(12)`) | `Interval(MonthDayNano)` |
//! | a record that contains itself | `Utf8` JSON text (a `json` column) from the first repetition on |
//!
//! Fields keep what Arrow's types do not say in metadata ([`NAME_KEY`],
//! [`SYMBOLS_KEY`], [`SIZE_KEY`], [`LOGICAL_TYPE_KEY`]), which is how
//! [`arrow_to_avro_schema`] writes a decoded batch's schema back.
//!
//! # Recursive schemas
//!
//! Arrow types cannot contain themselves, so where a record refers back to
//! a record it is inside, that field becomes a `json` column: the nested
//! value as JSON text, `["null", T]` unions written as the bare value,
//! unions of several non-null branches as `{"branch": value}` (Avro's JSON
//! encoding, so the branch is never a guess), `bytes` and
//! `fixed` as strings of code points 0–255 (Avro's own convention for
//! defaults), logical types as their underlying values, and non-finite
//! floats as `"NaN"`, `"Infinity"` and `"-Infinity"`. Such values nest at
//! most [`MAX_DEPTH`] levels. With a reader schema, the part of a value
//! inside such a column keeps the writer's shape.

mod builders;
mod compile;
mod cursor;
mod decode;
mod encode;
mod json;
mod mapping;
mod program;
mod sources;
#[cfg(test)]
mod tests;
mod walk;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, Name, UuidSchema};

pub use decode::AvroDecoder;
pub use encode::{AvroEncodeError, AvroEncoder};
pub use mapping::arrow_to_avro_schema;

/// Field metadata: the full name of the Avro named type (record, enum,
/// fixed, or a logical type on a fixed) a field was decoded from.
pub const NAME_KEY: &str = "avro.name";

/// Field metadata: an enum's symbols, as a JSON array of strings.
pub const SYMBOLS_KEY: &str = "avro.symbols";

/// Field metadata: the size of the `fixed` a decimal was stored in.
pub const SIZE_KEY: &str = "avro.size";

/// Field metadata: the Avro logical type, where the Arrow type does not
/// say it (`uuid` on a string or bytes, `big-decimal`).
pub const LOGICAL_TYPE_KEY: &str = "avro.logicalType";

/// How deep a value of a recursive schema may nest, and how deep the JSON
/// of a default or a `json` column may be.
pub const MAX_DEPTH: usize = 64;

/// Named types by full name (and by each alias), from a schema and its
/// references.
pub(crate) type Names = HashMap<Name, Schema>;

/// A parsed Avro schema and the named types it can refer to.
///
/// Cheap to clone: the named types are shared.
#[derive(Clone)]
pub struct AvroSchema {
    /// The schema itself.
    root: Schema,
    /// Every named type the schema or its references define.
    names: Arc<Names>,
}

impl fmt::Debug for AvroSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AvroSchema")
            .field("root", &self.root.canonical_form())
            .finish_non_exhaustive()
    }
}

/// Why a schema cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvroSchemaError {
    /// The text is not an Avro schema.
    #[error("the Avro schema does not parse: {0}")]
    Parse(String),
    /// A type the Arrow mapping cannot hold.
    #[error("{}: {message}", at(path))]
    Unsupported {
        /// The field (dotted path), empty for the top level.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The writer's schema cannot be read with the reader's.
    #[error("{}: {message}", at(path))]
    Incompatible {
        /// The field of the reader's schema (dotted path), empty for the
        /// top level.
        path: String,
        /// What does not match and how to fix it.
        message: String,
    },
}

/// Where an error is: the field, or the top level.
fn at(path: &str) -> String {
    if path.is_empty() {
        "the top-level schema".to_owned()
    } else {
        format!("field `{path}`")
    }
}

impl AvroSchema {
    /// Parses a schema text, with the texts of the named schemas it refers
    /// to (a registry's schema references, in any order).
    ///
    /// # Errors
    ///
    /// [`AvroSchemaError::Parse`] when a text is not a valid Avro schema or
    /// refers to a name none of them defines.
    pub fn parse(text: &str, references: &[&str]) -> Result<Self, AvroSchemaError> {
        let parse_error = |error: apache_avro::Error| AvroSchemaError::Parse(error.to_string());
        let (root, referenced) = if references.is_empty() {
            (Schema::parse_str(text).map_err(parse_error)?, Vec::new())
        } else {
            Schema::parse_str_with_list(text, references.iter().copied()).map_err(parse_error)?
        };
        AvroSchema::new(root, &referenced)
    }

    /// Wraps a schema apache-avro parsed, with the schemas its references
    /// define.
    ///
    /// # Errors
    ///
    /// [`AvroSchemaError::Parse`] when the schema refers to a name neither
    /// it nor the references define.
    pub fn new(root: Schema, references: &[Schema]) -> Result<Self, AvroSchemaError> {
        let mut names = Names::new();
        for schema in references.iter().chain(std::iter::once(&root)) {
            collect_names(schema, &mut names);
        }
        check_refs(&root, &names)?;
        for schema in references {
            check_refs(schema, &names)?;
        }
        Ok(AvroSchema {
            root,
            names: Arc::new(names),
        })
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.root
    }

    /// The Arrow schema of the batches a decoder with this as its reader
    /// schema builds.
    ///
    /// # Errors
    ///
    /// [`AvroSchemaError::Unsupported`] for a type with no Arrow form here
    /// (a decimal above precision 76, a union of more than 127 branches),
    /// naming the field.
    pub fn to_arrow(&self) -> Result<arrow_schema::Schema, AvroSchemaError> {
        mapping::to_arrow(self).map(|(schema, _)| schema)
    }
}

/// Follows a reference to the type it names (checked to exist when the
/// schema was built); other schemas are returned as they are.
pub(crate) fn resolve<'a>(names: &'a Names, mut schema: &'a Schema) -> &'a Schema {
    // A reference names a defined type, never another reference, but a
    // bound keeps a malformed table from looping.
    for _ in 0..8 {
        match schema {
            Schema::Ref { name } => match names.get(name) {
                Some(target) => schema = target,
                None => return schema,
            },
            _ => return schema,
        }
    }
    schema
}

/// Adds every named type defined in `schema` (and its aliases) to `names`.
fn collect_names(schema: &Schema, names: &mut Names) {
    let mut add = |name: &Name, aliases: &Option<Vec<apache_avro::schema::Alias>>| {
        names.entry(name.clone()).or_insert_with(|| schema.clone());
        for alias in aliases.iter().flatten() {
            let full = alias.fully_qualified_name(name.namespace()).into_owned();
            names.entry(full).or_insert_with(|| schema.clone());
        }
    };
    match schema {
        Schema::Record(record) => {
            add(&record.name, &record.aliases);
            for field in &record.fields {
                collect_names(&field.schema, names);
            }
        }
        Schema::Enum(e) => add(&e.name, &e.aliases),
        Schema::Fixed(fixed)
        | Schema::Duration(fixed)
        | Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(fixed),
            ..
        }) => add(&fixed.name, &fixed.aliases),
        Schema::Array(array) => collect_names(&array.items, names),
        Schema::Map(map) => collect_names(&map.types, names),
        Schema::Union(union) => {
            for variant in union.variants() {
                collect_names(variant, names);
            }
        }
        _ => {}
    }
}

/// Checks that every reference in `schema` names a known type.
fn check_refs(schema: &Schema, names: &Names) -> Result<(), AvroSchemaError> {
    match schema {
        Schema::Ref { name } if !names.contains_key(name) => Err(AvroSchemaError::Parse(format!(
            "the schema refers to `{}`, which neither it nor its references define; \
             add the schema that defines it to the references",
            name.fullname(None)
        ))),
        Schema::Record(record) => record
            .fields
            .iter()
            .try_for_each(|field| check_refs(&field.schema, names)),
        Schema::Array(array) => check_refs(&array.items, names),
        Schema::Map(map) => check_refs(&map.types, names),
        Schema::Union(union) => union
            .variants()
            .iter()
            .try_for_each(|variant| check_refs(variant, names)),
        _ => Ok(()),
    }
}
