//! Protobuf schemas in the registry's two forms: `.proto` text, and a
//! serialized `FileDescriptorProto` in base64 — the form Confluent's Python
//! client registers, and the one its deserializers ask for with
//! `GET /schemas/ids/ID?format=serialized`.
//!
//! Either form compiles to the same descriptors, so a schema registered by
//! any client decodes, and any schema can be handed out in either form.

use base64::Engine as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, FileDescriptor};
use prost_types::{FileDescriptorProto, FileDescriptorSet};

/// The name given to a serialized file that carries none.
const UNNAMED: &str = "registered-schema.proto";

/// The file a schema text holds, if the text is a serialized
/// `FileDescriptorProto` in base64 rather than `.proto` text.
pub fn serialized_file(text: &str) -> Option<FileDescriptorProto> {
    let text = text.trim();
    // `.proto` text always has a space, a `;` or a brace; base64 never does.
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == ';' || c == '{') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    let file = FileDescriptorProto::decode(bytes.as_slice()).ok()?;
    (file.name.is_some() || !file.message_type.is_empty()).then_some(file)
}

/// The descriptors of a serialized `file` and everything it imports: the
/// well-known files, and `references` (import name, schema text in either
/// form). The file's own descriptor comes back with them.
///
/// # Errors
///
/// An import is missing or a file does not compile; the message names it.
pub fn compile_serialized(
    mut file: FileDescriptorProto,
    references: &[(&str, &str)],
) -> Result<FileDescriptor, String> {
    let name = file
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| UNNAMED.to_owned());
    file.name = Some(name.clone());
    let mut files: Vec<FileDescriptorProto> = Vec::new();
    let mut texts: Vec<(String, String)> = Vec::new();
    for (import, text) in references {
        match serialized_file(text) {
            Some(mut f) => {
                f.name = Some((*import).to_owned());
                files.push(f);
            }
            None => texts.push(((*import).to_owned(), (*text).to_owned())),
        }
    }
    // Imports that are `.proto` text, or well known, go through protox.
    let wanted: Vec<String> = file
        .dependency
        .iter()
        .filter(|d| !files.iter().any(|f| f.name.as_deref() == Some(d.as_str())))
        .cloned()
        .collect();
    let mut compiled: Vec<FileDescriptorProto> = Vec::new();
    if !wanted.is_empty() {
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(Texts(texts));
        resolver.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        compiler
            .open_files(&wanted)
            .map_err(|e| format!("an import of `{name}` does not compile: {e}"))?;
        compiled = compiler.file_descriptor_set().file;
    }
    let mut set = FileDescriptorSet::default();
    for f in compiled.into_iter().chain(files) {
        if !set.file.iter().any(|g| g.name == f.name) {
            set.file.push(f);
        }
    }
    set.file.push(file);
    let pool = DescriptorPool::from_file_descriptor_set(set)
        .map_err(|e| format!("the serialized Protobuf schema `{name}` is not valid: {e}"))?;
    pool.get_file_by_name(&name)
        .ok_or_else(|| format!("the serialized Protobuf schema lost its file `{name}`"))
}

/// The base64 `FileDescriptorProto` of a schema, given in either form.
///
/// # Errors
///
/// The schema does not compile.
pub fn to_serialized(text: &str, references: &[(String, String)]) -> Result<String, String> {
    if serialized_file(text).is_some() {
        return Ok(text.trim().to_owned());
    }
    let pool = crate::schema::registry::compat::compile_protobuf(text, references)?;
    // The schema's own file is compiled last, after its imports.
    let file = pool
        .files()
        .last()
        .ok_or_else(|| "the compiled schema has no file".to_owned())?;
    Ok(base64::engine::general_purpose::STANDARD
        .encode(file.file_descriptor_proto().encode_to_vec()))
}

/// `.proto` texts of references, by import name.
struct Texts(Vec<(String, String)>);

impl protox::file::FileResolver for Texts {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((n, text)) => protox::file::File::from_source(n, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order { int64 id = 1; google.protobuf.Timestamp at = 2; repeated string tags = 3; }
"#;

    #[test]
    fn both_forms_compile_to_the_same_messages() {
        let serialized = to_serialized(ORDER, &[]).expect("serializes");
        assert!(
            serialized_file(ORDER).is_none(),
            "text is not taken for base64"
        );
        let file = serialized_file(&serialized).expect("base64 of a file");
        let compiled = compile_serialized(file, &[]).expect("compiles");
        let order = compiled.messages().next().expect("a message");
        assert_eq!(order.full_name(), "shop.Order");
        let fields: Vec<String> = order.fields().map(|f| f.name().to_owned()).collect();
        assert_eq!(fields, ["id", "at", "tags"]);
        assert_eq!(to_serialized(&serialized, &[]).expect("kept"), serialized);
    }

    #[test]
    fn text_that_merely_looks_like_base64_is_not_a_file() {
        assert!(serialized_file("aGVsbG8=").is_none());
        assert!(serialized_file("").is_none());
        assert!(serialized_file("!!!").is_none());
    }
}
