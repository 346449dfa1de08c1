//! Protobuf record values to Arrow and back.
//!
//! Schemas arrive as `.proto` text (from a schema registry, with the texts
//! of the files it imports). [`ProtoSchema::compile`] compiles them at run
//! time in pure Rust, without `protoc`, into descriptors; the well-known
//! `google/protobuf/*.proto` files resolve without being given. A message
//! of the file is picked by its message index path, as the Confluent wire
//! format gives it ([`ProtoSchema::message`]).
//!
//! [`arrow_schema`] maps a message to the Arrow schema of its batches,
//! [`ProtobufDecoder`] decodes encoded messages into those batches, and
//! [`ProtobufEncoder`] writes batches back as encoded messages.
//! [`proto_from_arrow`] derives `.proto` text from an Arrow schema, for
//! registering a schema when a pipeline has none.
//!
//! # Types
//!
//! | Protobuf | Arrow |
//! |---|---|
//! | `double`, `float` | `Float64`, `Float32` |
//! | `int32`, `sint32`, `sfixed32` | `Int32` |
//! | `int64`, `sint64`, `sfixed64` | `Int64` |
//! | `uint32`, `fixed32` | `UInt32` |
//! | `uint64`, `fixed64` | `UInt64` |
//! | `bool` | `Boolean` |
//! | `string` | `Utf8` (invalid UTF-8 is a bad record) |
//! | `bytes` | `Binary` |
//! | enum | `Dictionary(Int32, Utf8)` of the value names, in declaration order (the first name of aliased numbers) |
//! | message, group | `Struct` |
//! | `repeated T` | `List` of non-null `T` |
//! | `map<K, V>` | `Map` of non-null `K` keys (the key's own type) to non-null `V` |
//! | `oneof` | one nullable column per case |
//! | `google.protobuf.Timestamp` | `Timestamp(Nanosecond, "UTC")` |
//! | `google.protobuf.Duration` | `Duration(Nanosecond)` |
//! | `google.protobuf.{Double,Float,Int64,UInt64,Int32,UInt32,Bool,String,Bytes}Value` | the wrapped type, nullable |
//! | `google.protobuf.{Struct,Value,ListValue,Any}` | `json` (`Utf8` with the `sabot.json` extension) |
//! | a message inside itself (recursion) | `Binary`: the encoded message |
//!
//! Other well-known types (`Empty`, `FieldMask`, …) are ordinary messages.
//! Extensions are not columns; their values are skipped like unknown fields.
//!
//! # Presence and defaults
//!
//! A field that tracks presence (proto3 `optional`, proto2 `optional`, a
//! `oneof` case, a message or wrapper) is a nullable column, null when the
//! message does not carry it, even where the schema gives a default. Other
//! fields are never null: an absent one holds its type's default (`0`,
//! `false`, `""`, the enum's first value), as Protobuf readers see it. A
//! proto2 `required` field that is absent makes the record bad. Repeated
//! fields are never null (an absent one is an empty list), and neither are
//! their elements nor map keys and values: a map value missing from its
//! entry is its type's default (for a message, one with every field absent).
//!
//! # Reading
//!
//! The decoder reads the wire format straight into column builders, through
//! a table compiled once per message type that maps a field number to its
//! column. It follows Protobuf's parsing rules: the last value of a singular
//! field wins, and a message field seen more than once is the merge of its
//! occurrences; setting a `oneof` case clears the others; repeated scalars
//! are read packed or not, whatever the schema declares; a repeated map key
//! keeps its last value; unknown fields (extensions included) are skipped.
//! An enum number the schema does not list (proto3 enums are open) is kept
//! as its decimal text, `"7"`, added to that batch's dictionary, so no value
//! is lost and the encoder writes it back as the number. A value whose wire
//! type contradicts its field's type is a bad record, not an unknown field.
//!
//! Everything is bounds-checked and nesting is capped at [`MAX_DEPTH`]
//! levels; a bad value is reported with the path of the field at fault and
//! the rest of the batch decodes. A `Timestamp` must fit nanoseconds since
//! the epoch as an `i64` (years 1677 to 2262) and a `Duration` likewise
//! (±292 years); `nanos` outside Protobuf's documented range is an error.
//!
//! `json` columns hold Protobuf's JSON form of the value: `Struct` as an
//! object, `ListValue` as an array, `Value` as whatever it holds (a `Value`
//! with no kind set is `null`). A number that is NaN or infinite has no JSON
//! form and makes the record bad. `Any` is written as
//! `{"@type": URL, "value": BASE64}`, its payload left encoded, since the
//! type it names need not be in the schema.

mod builders;
mod decode;
mod derive;
mod encode;
mod mapping;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};

pub use decode::ProtobufDecoder;
pub use derive::{DeriveError, proto_from_arrow};
pub use encode::{ProtoEncodeError, ProtobufEncoder};
pub use mapping::{MAX_COLUMNS, MappingError, arrow_schema};

/// The deepest nesting of messages (and of groups or `Struct` values inside
/// them) the decoder follows before it calls a value bad; the same limit as
/// Google's parsers.
pub const MAX_DEPTH: u32 = 100;

/// The file name the schema text itself is compiled under. Imports name
/// files; the registered schema has no name of its own.
const ROOT_FILE: &str = "registered-schema.proto";

/// A compiled `.proto` schema: the schema's own file and everything it
/// imports.
#[derive(Clone)]
pub struct ProtoSchema {
    /// The schema's own file; its pool holds the imports too.
    file: FileDescriptor,
}

impl fmt::Debug for ProtoSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtoSchema")
            .field("package", &self.file.package_name())
            .field(
                "messages",
                &self
                    .file
                    .messages()
                    .map(|m| m.full_name().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Why a `.proto` schema could not be compiled, or a message not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtoSchemaError {
    /// The text (or a file it imports) does not compile.
    #[error("the Protobuf schema does not compile: {message}")]
    Compile {
        /// The compiler's message, with the file, line and column.
        message: String,
    },
    /// An import names a file that is neither a reference nor well known.
    #[error(
        "the Protobuf schema imports `{import}`, which is not among its references ({known}); \
         register that file and list it as a reference named `{import}`"
    )]
    MissingImport {
        /// The import as written.
        import: String,
        /// The reference names that were given.
        known: String,
    },
    /// A message index path that does not lead to a message.
    #[error("message index {index:?} does not name a message of the schema: {reason}")]
    NoMessage {
        /// The path.
        index: Vec<u32>,
        /// Which step fails.
        reason: String,
    },
}

impl ProtoSchema {
    /// Compiles a schema's `.proto` text, given the texts of the files it
    /// imports as `(import name, text)` pairs (a registry's references:
    /// the name is the one in the `import` statement). Well-known files
    /// (`google/protobuf/timestamp.proto` and the rest) need not be given.
    ///
    /// # Errors
    ///
    /// [`ProtoSchemaError::Compile`] for text that does not compile, with
    /// the file, line and column; [`ProtoSchemaError::MissingImport`] for an
    /// import that is neither given nor well known.
    pub fn compile(text: &str, references: &[(&str, &str)]) -> Result<Self, ProtoSchemaError> {
        let mut root = ROOT_FILE.to_owned();
        while references.iter().any(|(name, _)| *name == root) {
            root.insert(0, '_');
        }
        let files: HashMap<String, String> = references
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .chain([(root.clone(), text.to_owned())])
            .collect();
        let resolver = Resolver {
            files,
            google: protox::file::GoogleFileResolver::new(),
        };
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        if let Err(error) = compiler.open_file(&root) {
            return Err(compile_error(&error, references));
        }
        let pool = compiler.descriptor_pool();
        let Some(file) = pool.get_file_by_name(&root) else {
            return Err(ProtoSchemaError::Compile {
                message: "the compiled schema lost its own file".to_owned(),
            });
        };
        tracing::debug!(
            package = file.package_name(),
            messages = file.messages().len(),
            imports = file.dependencies().len(),
            "compiled protobuf schema"
        );
        Ok(ProtoSchema { file })
    }

    /// A schema of an already compiled file (its pool holding the
    /// imports), as a serialized descriptor from a registry gives it.
    pub fn from_file(file: FileDescriptor) -> Self {
        ProtoSchema { file }
    }

    /// The pool of every compiled file.
    pub fn pool(&self) -> &DescriptorPool {
        self.file.parent_pool()
    }

    /// The schema's own file.
    pub fn file(&self) -> &FileDescriptor {
        &self.file
    }

    /// The message a Confluent message index path names: `[0]` is the
    /// file's first top-level message, `[1, 2]` the third message nested in
    /// the second. An empty path means `[0]`.
    ///
    /// # Errors
    ///
    /// [`ProtoSchemaError::NoMessage`] when a step has no such message.
    pub fn message(&self, index: &[u32]) -> Result<MessageDescriptor, ProtoSchemaError> {
        let fail = |reason: String| ProtoSchemaError::NoMessage {
            index: index.to_vec(),
            reason,
        };
        let path = if index.is_empty() { &[0][..] } else { index };
        let mut current: Option<MessageDescriptor> = None;
        for &step in path {
            let step_usize = usize::try_from(step).unwrap_or(usize::MAX);
            let next = match &current {
                None => self.file.messages().nth(step_usize),
                Some(parent) => parent.child_messages().nth(step_usize),
            };
            current = Some(next.ok_or_else(|| match &current {
                None => fail(format!(
                    "the file has {} top-level messages",
                    self.file.messages().len()
                )),
                Some(parent) => fail(format!(
                    "`{}` has {} nested messages",
                    parent.full_name(),
                    parent.child_messages().len()
                )),
            })?);
        }
        current.ok_or_else(|| fail("the path is empty".to_owned()))
    }

    /// A message of the schema's file by name: its full name
    /// (`shop.v1.Order`) or the name within the file's package (`Order`,
    /// `Order.Line`).
    pub fn message_by_name(&self, name: &str) -> Option<MessageDescriptor> {
        let package = self.file.package_name();
        let full = if package.is_empty() {
            name.to_owned()
        } else {
            format!("{package}.{name}")
        };
        self.pool()
            .get_message_by_name(&full)
            .or_else(|| self.pool().get_message_by_name(name))
    }

    /// The message index path of a message of the schema's file, for the
    /// wire format header; `None` for a message of another file.
    pub fn message_index(&self, message: &MessageDescriptor) -> Option<Vec<u32>> {
        if message.parent_file().name() != self.file.name() {
            return None;
        }
        let mut path = Vec::new();
        let mut current = message.clone();
        loop {
            let parent = current.parent_message();
            let siblings: Vec<MessageDescriptor> = match &parent {
                Some(parent) => parent.child_messages().collect(),
                None => self.file.messages().collect(),
            };
            let at = siblings
                .iter()
                .position(|m| m.full_name() == current.full_name())?;
            path.push(u32::try_from(at).ok()?);
            match parent {
                Some(parent) => current = parent,
                None => break,
            }
        }
        path.reverse();
        Some(path)
    }
}

/// Serves the schema text and its references by name, then the well-known
/// files.
struct Resolver {
    /// File name to text.
    files: HashMap<String, String>,
    /// protox's well-known files.
    google: protox::file::GoogleFileResolver,
}

impl protox::file::FileResolver for Resolver {
    fn resolve_path(&self, path: &std::path::Path) -> Option<String> {
        let name = path.to_str()?;
        self.files.contains_key(name).then(|| name.to_owned())
    }

    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.files.get(name) {
            Some(text) => protox::file::File::from_source(name, text),
            None => self.google.open_file(name),
        }
    }
}

/// The error of a failed compile, telling a missing import apart.
fn compile_error(error: &protox::Error, references: &[(&str, &str)]) -> ProtoSchemaError {
    // protox's `Debug` form is protoc's: `file:line:column: message`.
    let message = format!("{error:?}");
    if error.is_file_not_found()
        && let Some(import) = message
            .split("import '")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
    {
        let known = if references.is_empty() {
            "none were given".to_owned()
        } else {
            references
                .iter()
                .map(|(name, _)| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return ProtoSchemaError::MissingImport {
            import: import.to_owned(),
            known,
        };
    }
    ProtoSchemaError::Compile { message }
}
