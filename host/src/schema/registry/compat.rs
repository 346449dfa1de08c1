//! Checking schemas for the embedded registry: parsing them when they are
//! registered, and comparing a new version with earlier ones.
//!
//! A schema is parsed with the texts of the schemas it references:
//!
//! - **Avro** with apache-avro, the referenced named types given as a list;
//!   the text kept is the schema's JSON re-encoded without whitespace, so
//!   the same schema sent twice with different spacing gets one id.
//! - **Protobuf** with protox (pure Rust, no `protoc`), imports resolved
//!   from the references by name and from the well-known types
//!   (`google/protobuf/*.proto`); the text is kept as sent.
//! - **JSON Schema** as JSON: an object or a boolean, re-encoded like Avro.
//!
//! Compatibility follows Confluent's levels ([`Level`]). Avro versions are
//! compared with apache-avro's schema resolution check: BACKWARD means the
//! new schema can read data written with the old one, FORWARD the reverse,
//! FULL both; the transitive forms compare with every version, the others
//! with the latest only. A pair that resolves only for some values (a
//! union branch or an enum symbol the reader lacks) counts as
//! incompatible, as it does for Confluent. Protobuf and JSON Schema
//! versions are compared by identity: under any level but NONE a new
//! version must equal the one it is compared with, so evolving such a
//! subject needs the level set to NONE.
//!
//! The parsers are other projects' code run on untrusted text, so each
//! call is guarded: a parser that panics makes the schema invalid, never
//! the request fail.

use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use apache_avro::error::CompatibilityError;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SchemaType;

/// The import path protox gives the schema being checked; another is
/// picked when a reference already uses it.
const MAIN_FILE: &str = "registered.proto";

/// A compatibility level, as Confluent names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// The new version reads data written with the latest one (the
    /// default, as Confluent's).
    #[default]
    Backward,
    /// The new version reads data written with every earlier one.
    BackwardTransitive,
    /// The latest version reads data written with the new one.
    Forward,
    /// Every earlier version reads data written with the new one.
    ForwardTransitive,
    /// Backward and forward with the latest version.
    Full,
    /// Backward and forward with every earlier version.
    FullTransitive,
    /// Anything may be registered.
    None,
}

impl Level {
    /// Every level, in Confluent's order.
    pub const ALL: [Level; 7] = [
        Level::None,
        Level::Backward,
        Level::Forward,
        Level::Full,
        Level::BackwardTransitive,
        Level::ForwardTransitive,
        Level::FullTransitive,
    ];

    /// The name the REST API uses, e.g. `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Backward => "BACKWARD",
            Level::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Level::Forward => "FORWARD",
            Level::ForwardTransitive => "FORWARD_TRANSITIVE",
            Level::Full => "FULL",
            Level::FullTransitive => "FULL_TRANSITIVE",
            Level::None => "NONE",
        }
    }

    /// The level named `name`, in any case.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether a new version is compared with every earlier one rather
    /// than the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Level::BackwardTransitive | Level::ForwardTransitive | Level::FullTransitive
        )
    }

    /// Whether the new version must read the old one's data.
    fn backward(self) -> bool {
        matches!(
            self,
            Level::Backward | Level::BackwardTransitive | Level::Full | Level::FullTransitive
        )
    }

    /// Whether the old version must read the new one's data.
    fn forward(self) -> bool {
        matches!(
            self,
            Level::Forward | Level::ForwardTransitive | Level::Full | Level::FullTransitive
        )
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A schema that parsed, ready to be compared.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// An Avro schema with its references inlined.
    Avro(apache_avro::Schema),
    /// A Protobuf file's text; its descriptors were checked.
    Protobuf(String),
    /// A JSON Schema.
    Json(Value),
}

impl Parsed {
    /// The kind of schema.
    pub fn schema_type(&self) -> SchemaType {
        match self {
            Parsed::Avro(_) => SchemaType::Avro,
            Parsed::Protobuf(_) => SchemaType::Protobuf,
            Parsed::Json(_) => SchemaType::Json,
        }
    }
}

/// A schema checked for registration: the parsed form and the text to
/// keep.
#[derive(Debug, Clone)]
pub struct Checked {
    /// For comparing with other versions.
    pub parsed: Parsed,
    /// The text the registry keeps and answers: compact JSON for Avro and
    /// JSON Schema, the text as sent for Protobuf.
    pub text: String,
}

/// Parse `text` as a schema of `schema_type`; `references` are the
/// referenced schemas as (name, text), nested references included.
///
/// # Errors
///
/// Why the schema is not valid, for the user.
pub fn check(
    schema_type: SchemaType,
    text: &str,
    references: &[(String, String)],
) -> Result<Checked, String> {
    guarded(|| match schema_type {
        SchemaType::Avro => check_avro(text, references),
        SchemaType::Protobuf => {
            compile_protobuf(text, references)?;
            Ok(Checked {
                parsed: Parsed::Protobuf(text.to_owned()),
                text: text.to_owned(),
            })
        }
        SchemaType::Json => check_json(text),
    })
}

/// Run a parser, turning a panic into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err("the schema parser failed on this schema; check that it is well formed".to_owned())
    })
}

fn check_avro(text: &str, references: &[(String, String)]) -> Result<Checked, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let compact = json.to_string();
    let texts: Vec<&str> = references.iter().map(|(_, t)| t.as_str()).collect();
    let (mut schema, schemata) = if texts.is_empty() {
        let schema = apache_avro::Schema::parse(&json).map_err(|e| e.to_string())?;
        (schema, Vec::new())
    } else {
        apache_avro::Schema::parse_str_with_list(&compact, texts).map_err(|e| e.to_string())?
    };
    if !schemata.is_empty() {
        // Inline the referenced types, so that comparing versions sees
        // the types themselves rather than their names.
        schema
            .denormalize(&schemata)
            .map_err(|e| format!("a reference cannot be resolved: {e}"))?;
    }
    Ok(Checked {
        parsed: Parsed::Avro(schema),
        text: compact,
    })
}

fn check_json(text: &str) -> Result<Checked, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    if !(json.is_object() || json.is_boolean()) {
        return Err("a JSON Schema is a JSON object or a boolean".to_owned());
    }
    Ok(Checked {
        text: json.to_string(),
        parsed: Parsed::Json(json),
    })
}

/// Compile a `.proto` file's text with protox, its imports resolved from
/// `references` (import path, text) and the well-known types.
///
/// # Errors
///
/// The text does not parse, an import is missing, or the file does not
/// compile; the message is protox's.
pub fn compile_protobuf(
    text: &str,
    references: &[(String, String)],
) -> Result<prost_reflect::DescriptorPool, String> {
    // Confluent's Python client registers the serialized descriptor.
    if let Some(file) = crate::schema::proto_text::serialized_file(text) {
        let refs: Vec<(&str, &str)> = references
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        return crate::schema::proto_text::compile_serialized(file, &refs)
            .map(|f| f.parent_pool().clone());
    }
    let files: HashMap<String, String> = references.iter().cloned().collect();
    let mut main = MAIN_FILE.to_owned();
    let mut n = 0;
    while files.contains_key(&main) {
        n += 1;
        main = format!("registered-{n}.proto");
    }
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(MemoryFiles {
        main: main.clone(),
        text: text.to_owned(),
        files,
    });
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_file(&main).map_err(|e| e.to_string())?;
    Ok(compiler.descriptor_pool())
}

/// `.proto` files held in memory: the one being checked and its imports.
struct MemoryFiles {
    /// The import path of the file being checked.
    main: String,
    /// Its text.
    text: String,
    /// The referenced files by import path.
    files: HashMap<String, String>,
}

impl protox::file::FileResolver for MemoryFiles {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == self.main {
            return protox::file::File::from_source(name, &self.text);
        }
        match self.files.get(name) {
            Some(text) => protox::file::File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// Why `new` cannot follow `old` (registered as `version`) under `level`;
/// empty when it can.
pub fn incompatibilities(level: Level, new: &Parsed, old: &Parsed, version: u32) -> Vec<String> {
    if level == Level::None {
        return Vec::new();
    }
    match (new, old) {
        (Parsed::Avro(new), Parsed::Avro(old)) => {
            let mut problems = Vec::new();
            if level.backward()
                && let Some(why) = avro_reads(old, new)
            {
                problems.push(format!(
                    "the new schema cannot read data written with version {version} ({level}): {why}"
                ));
            }
            if level.forward()
                && let Some(why) = avro_reads(new, old)
            {
                problems.push(format!(
                    "version {version} cannot read data written with the new schema ({level}): {why}"
                ));
            }
            problems
        }
        (Parsed::Protobuf(new), Parsed::Protobuf(old)) if new == old => Vec::new(),
        (Parsed::Json(new), Parsed::Json(old)) if new == old => Vec::new(),
        (Parsed::Protobuf(_), Parsed::Protobuf(_)) | (Parsed::Json(_), Parsed::Json(_)) => {
            vec![format!(
                "{} schemas are compared by identity and the new schema differs from version {version} ({level}); set the subject's compatibility to NONE to register a changed schema",
                new.schema_type()
            )]
        }
        _ => vec![format!(
            "the new schema is {} but version {version} is {} ({level})",
            new.schema_type(),
            old.schema_type()
        )],
    }
}

/// Why `reader` cannot read every value written with `writer`, if so.
fn avro_reads(writer: &apache_avro::Schema, reader: &apache_avro::Schema) -> Option<String> {
    let result = catch_unwind(AssertUnwindSafe(|| {
        SchemaCompatibility::can_read(writer, reader)
    }));
    match result {
        Ok(Ok(Compatibility::Full)) => None,
        Ok(Ok(Compatibility::Partial)) => Some(
            "only some values resolve: a union branch or an enum symbol of the writer is missing in the reader"
                .to_owned(),
        ),
        Ok(Err(e)) => Some(describe(&e)),
        Err(_) => Some("the compatibility check failed on these schemas".to_owned()),
    }
}

/// A short account of an Avro incompatibility: apache-avro's wording,
/// without the full dumps of both schemas it puts in a type mismatch.
fn describe(error: &CompatibilityError) -> String {
    match error {
        CompatibilityError::FieldTypeMismatch(field, inner) => {
            format!("field `{field}`: {}", describe(inner))
        }
        CompatibilityError::WrongType {
            writer_schema_type,
            reader_schema_type,
        } => format!(
            "the writer's type `{}` cannot be read as `{}`",
            kind(writer_schema_type),
            kind(reader_schema_type)
        ),
        other => other.to_string(),
    }
}

/// The variant name at the start of a schema's debug dump.
fn kind(dump: &str) -> &str {
    let end = dump
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(dump.len());
    &dump[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avro(text: &str) -> Parsed {
        check(SchemaType::Avro, text, &[])
            .expect("a valid schema")
            .parsed
    }

    const V1: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}"#;
    const V2_DEFAULT: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;
    const V2_NO_DEFAULT: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string"}]}"#;

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(Level::parse("full_transitive"), Some(Level::FullTransitive));
        assert_eq!(Level::parse("NONE"), Some(Level::None));
        assert_eq!(Level::parse("sideways"), None);
        assert_eq!(
            serde_json::to_string(&Level::BackwardTransitive).expect("json"),
            "\"BACKWARD_TRANSITIVE\""
        );
    }

    #[test]
    fn avro_text_is_kept_compact() {
        let checked = check(SchemaType::Avro, "{ \"type\" : \"string\" }", &[]).expect("valid");
        assert_eq!(checked.text, r#"{"type":"string"}"#);
    }

    #[test]
    fn an_added_field_with_a_default_is_backward_and_forward() {
        assert_eq!(
            incompatibilities(Level::Full, &avro(V2_DEFAULT), &avro(V1), 1),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_added_field_without_a_default_is_forward_only() {
        assert_eq!(
            incompatibilities(Level::Backward, &avro(V2_NO_DEFAULT), &avro(V1), 1),
            vec![
                "the new schema cannot read data written with version 1 (BACKWARD): Incompatible schemata! Field 'note' in reader schema must have a default value"
                    .to_owned()
            ]
        );
        assert_eq!(
            incompatibilities(Level::Forward, &avro(V2_NO_DEFAULT), &avro(V1), 1),
            Vec::<String>::new()
        );
        assert_eq!(
            incompatibilities(Level::None, &avro(V2_NO_DEFAULT), &avro(V1), 1),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_changed_field_type_is_described_briefly() {
        let v2 = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;
        assert_eq!(
            incompatibilities(Level::Backward, &avro(v2), &avro(V1), 3),
            vec![
                "the new schema cannot read data written with version 3 (BACKWARD): field `id`: the writer's type `Long` cannot be read as `String`"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn a_missing_enum_symbol_is_incompatible() {
        let abc = r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#;
        let ab = r#"{"type":"enum","name":"E","symbols":["A","B"]}"#;
        assert_eq!(
            incompatibilities(Level::Backward, &avro(ab), &avro(abc), 1),
            vec![
                "the new schema cannot read data written with version 1 (BACKWARD): only some values resolve: a union branch or an enum symbol of the writer is missing in the reader"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn avro_references_are_inlined() {
        let address = r#"{"type":"record","name":"Address","namespace":"com.example","fields":[{"name":"city","type":"string"}]}"#;
        let customer = r#"{"type":"record","name":"Customer","namespace":"com.example","fields":[{"name":"address","type":"com.example.Address"}]}"#;
        let refs = vec![("com.example.Address".to_owned(), address.to_owned())];
        let checked = check(SchemaType::Avro, customer, &refs).expect("valid with its reference");
        let Parsed::Avro(schema) = &checked.parsed else {
            panic!("an Avro schema");
        };
        assert!(schema.canonical_form().contains(r#""name":"city""#));
        assert_eq!(
            check(SchemaType::Avro, customer, &[]).err(),
            Some("Unknown primitive type: com.example.Address".to_owned())
        );
    }

    #[test]
    fn protobuf_imports_come_from_references_and_well_known_types() {
        let common = "syntax = \"proto3\";\npackage shop;\nmessage Money { int64 cents = 1; }\n";
        let order = "syntax = \"proto3\";\npackage shop;\nimport \"money.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Order { Money total = 1; google.protobuf.Timestamp at = 2; }\n";
        let refs = vec![("money.proto".to_owned(), common.to_owned())];
        let pool = compile_protobuf(order, &refs).expect("compiles");
        assert!(pool.get_message_by_name("shop.Order").is_some());
        let error = compile_protobuf(order, &[]).expect_err("an import is missing");
        assert!(error.contains("money.proto"), "{error}");
    }

    #[test]
    fn protobuf_and_json_compare_by_identity() {
        let a = check(SchemaType::Json, r#"{"type":"object"}"#, &[])
            .expect("valid")
            .parsed;
        let b = check(SchemaType::Json, r#"{"type":"string"}"#, &[])
            .expect("valid")
            .parsed;
        assert_eq!(
            incompatibilities(Level::Full, &a, &a, 1),
            Vec::<String>::new()
        );
        assert_eq!(
            incompatibilities(Level::Backward, &b, &a, 2),
            vec![
                "JSON schemas are compared by identity and the new schema differs from version 2 (BACKWARD); set the subject's compatibility to NONE to register a changed schema"
                    .to_owned()
            ]
        );
        assert_eq!(
            incompatibilities(Level::None, &b, &a, 2),
            Vec::<String>::new()
        );
        assert_eq!(
            incompatibilities(Level::Backward, &b, &avro(V1), 1),
            vec!["the new schema is JSON but version 1 is AVRO (BACKWARD)".to_owned()]
        );
    }

    #[test]
    fn json_schema_must_be_an_object_or_a_boolean() {
        assert_eq!(
            check(SchemaType::Json, "[1]", &[]).err(),
            Some("a JSON Schema is a JSON object or a boolean".to_owned())
        );
        assert!(check(SchemaType::Json, "true", &[]).is_ok());
    }
}
