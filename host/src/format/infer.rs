//! Schema inference from sample JSON values: [`infer_schema`].
//!
//! The inferred schema is the union of the fields of every object given, in
//! the order they first appear, all nullable. Kinds merge as follows:
//!
//! - integers are `int64`; an integer beyond `i64::MAX` makes the field
//!   `uint64`, unless the field also has negative values (then `json`);
//!   integers beyond 64 bits make it `json`;
//! - integers and floats together are `float64`;
//! - strings are `utf8` (no guessing of dates or numbers in strings);
//! - objects are structs of their merged fields, arrays are lists of their
//!   merged elements;
//! - a field only ever `null`, or only ever `[]`, is `json` (nothing says
//!   more), and so is a field whose values have conflicting kinds (a string
//!   here, an object there), so that every value is kept intact;
//! - nesting deeper than [`MAX_DEPTH`] is `json`.
//!
//! Values that are not JSON objects are skipped; the decoder reports them.
//! Top-level fields named `__…` are left out: that prefix belongs to the
//! record metadata columns.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema};
use simd_json::{Node, StaticNode, Tape};

use super::schema::json_field;
use crate::record;

/// Nesting deeper than this is inferred as `json`.
pub const MAX_DEPTH: usize = 32;

/// Why no schema could be inferred.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InferError {
    /// None of the values was a JSON object.
    #[error(
        "none of the {values} sample values is a JSON object, so no schema can be inferred; \
         declare the schema in the pipeline file"
    )]
    NoObjects {
        /// How many values were looked at.
        values: usize,
    },
}

/// Infers a schema that decodes every given object without loss.
///
/// # Errors
///
/// [`InferError::NoObjects`] when no value is a JSON object.
pub fn infer_schema<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Result<Schema, InferError> {
    let mut root = Object::default();
    let mut seen = 0usize;
    let mut objects = 0usize;
    let mut scratch = Vec::new();
    let mut buffers = simd_json::Buffers::default();
    let mut stored: Tape<'static> = Tape(Vec::new());
    for value in values {
        seen += 1;
        scratch.clear();
        scratch.extend_from_slice(value);
        let mut tape = stored.reset();
        if simd_json::fill_tape(&mut scratch, &mut buffers, &mut tape).is_ok()
            && let Some(Node::Object { len, .. }) = tape.0.first()
        {
            root.merge(&tape.0, 0, *len, 1);
            objects += 1;
        }
        stored = tape.reset();
    }
    if objects == 0 {
        return Err(InferError::NoObjects { values: seen });
    }
    let fields = root
        .into_fields()
        .into_iter()
        .filter(|f| !record::is_metadata(f.name()));
    Ok(Schema::new(fields.collect::<Vec<_>>()))
}

/// What is known so far about the values at one place.
#[derive(Debug, Clone, Default)]
enum Kind {
    /// Only nulls (or nothing) so far.
    #[default]
    Null,
    /// Booleans.
    Bool,
    /// Integers.
    Int {
        /// Some were negative.
        negative: bool,
        /// Some were beyond `i64::MAX`.
        beyond_i64: bool,
        /// Some were beyond 64 bits either way.
        beyond_64: bool,
    },
    /// Numbers with a fraction or exponent (and maybe integers).
    Float,
    /// Strings.
    Str,
    /// Objects.
    Object(Object),
    /// Arrays; `None` while every one was empty.
    List(Option<Box<Kind>>),
    /// Conflicting or unknowable: keep the JSON text.
    Json,
}

/// The merged fields of objects.
#[derive(Debug, Clone, Default)]
struct Object {
    /// Fields in order of first appearance.
    fields: Vec<(Arc<str>, Kind)>,
    /// Field name to position in `fields`.
    index: HashMap<Arc<str>, usize>,
}

impl Object {
    /// Merges the object at `pos` (with `len` keys) at nesting `depth`.
    fn merge(&mut self, tape: &[Node<'_>], pos: usize, len: usize, depth: usize) {
        let mut at = pos + 1;
        for _ in 0..len {
            let Some(Node::String(key)) = tape.get(at) else {
                return;
            };
            let slot = match self.index.get(*key) {
                Some(&i) => i,
                None => {
                    let name: Arc<str> = Arc::from(*key);
                    self.index.insert(name.clone(), self.fields.len());
                    self.fields.push((name, Kind::Null));
                    self.fields.len() - 1
                }
            };
            if let Some((_, kind)) = self.fields.get_mut(slot) {
                merge_value(kind, tape, at + 1, depth);
            }
            at = skip(tape, at + 1);
        }
    }

    /// The Arrow fields, all nullable.
    fn into_fields(self) -> Vec<Field> {
        self.fields
            .into_iter()
            .map(|(name, kind)| kind.into_field(&name))
            .collect()
    }
}

/// The position after the value at `pos`.
fn skip(tape: &[Node<'_>], pos: usize) -> usize {
    match tape.get(pos) {
        Some(Node::Object { count, .. } | Node::Array { count, .. }) => pos + 1 + count,
        _ => pos + 1,
    }
}

/// Merges the value at `pos`, at nesting `depth`, into `kind`.
fn merge_value(kind: &mut Kind, tape: &[Node<'_>], pos: usize, depth: usize) {
    let Some(node) = tape.get(pos) else {
        return;
    };
    if depth >= MAX_DEPTH && matches!(node, Node::Object { .. } | Node::Array { .. }) {
        *kind = Kind::Json;
        return;
    }
    let current = std::mem::take(kind);
    *kind = match (current, node) {
        (Kind::Json, _) => Kind::Json,
        (current, Node::Static(StaticNode::Null)) => current,
        (Kind::Null | Kind::Bool, Node::Static(StaticNode::Bool(_))) => Kind::Bool,
        (Kind::Null, Node::Static(StaticNode::F64(_))) => Kind::Float,
        (Kind::Float | Kind::Int { .. }, Node::Static(StaticNode::F64(_))) => Kind::Float,
        (Kind::Float, Node::Static(_)) if is_integer(node) => Kind::Float,
        (Kind::Null, Node::Static(_)) if is_integer(node) => {
            integer_kind(false, false, false, node)
        }
        (
            Kind::Int {
                negative,
                beyond_i64,
                beyond_64,
            },
            Node::Static(_),
        ) if is_integer(node) => integer_kind(negative, beyond_i64, beyond_64, node),
        (Kind::Null | Kind::Str, Node::String(_)) => Kind::Str,
        (Kind::Null, Node::Object { len, .. }) => {
            let mut object = Object::default();
            object.merge(tape, pos, *len, depth + 1);
            Kind::Object(object)
        }
        (Kind::Object(mut object), Node::Object { len, .. }) => {
            object.merge(tape, pos, *len, depth + 1);
            Kind::Object(object)
        }
        (Kind::Null, Node::Array { len, .. }) => merge_elements(None, tape, pos, *len, depth),
        (Kind::List(element), Node::Array { len, .. }) => {
            merge_elements(element, tape, pos, *len, depth)
        }
        _ => Kind::Json,
    };
}

/// Whether a node is an integer.
fn is_integer(node: &Node<'_>) -> bool {
    matches!(
        node,
        Node::Static(
            StaticNode::I64(_) | StaticNode::U64(_) | StaticNode::I128(_) | StaticNode::U128(_)
        )
    )
}

/// The integer kind after adding `node` to what was known.
fn integer_kind(negative: bool, beyond_i64: bool, beyond_64: bool, node: &Node<'_>) -> Kind {
    let (neg, big, huge) = match node {
        Node::Static(StaticNode::I64(v)) => (*v < 0, false, false),
        Node::Static(StaticNode::U64(v)) => (false, *v > i64::MAX as u64, false),
        Node::Static(StaticNode::I128(_)) => (true, false, true),
        _ => (false, true, true),
    };
    Kind::Int {
        negative: negative || neg,
        beyond_i64: beyond_i64 || big,
        beyond_64: beyond_64 || huge,
    }
}

/// Merges the elements of the array at `pos` into a list kind.
fn merge_elements(
    element: Option<Box<Kind>>,
    tape: &[Node<'_>],
    pos: usize,
    len: usize,
    depth: usize,
) -> Kind {
    if len == 0 {
        return Kind::List(element);
    }
    let mut element = element.unwrap_or_default();
    let mut at = pos + 1;
    for _ in 0..len {
        merge_value(&mut element, tape, at, depth + 1);
        at = skip(tape, at);
    }
    Kind::List(Some(element))
}

impl Kind {
    /// The nullable Arrow field of this kind.
    fn into_field(self, name: &str) -> Field {
        let data_type = match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int {
                beyond_64: true, ..
            } => return json_field(name, true),
            Kind::Int {
                negative: true,
                beyond_i64: true,
                ..
            } => return json_field(name, true),
            Kind::Int {
                beyond_i64: true, ..
            } => DataType::UInt64,
            Kind::Int { .. } => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Str => DataType::Utf8,
            Kind::Object(object) => DataType::Struct(Fields::from(object.into_fields())),
            Kind::List(Some(element)) => DataType::List(Arc::new(element.into_field("item"))),
            Kind::Null | Kind::List(None) | Kind::Json => return json_field(name, true),
        };
        Field::new(name, data_type, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::schema::format_schema;

    fn infer(values: &[&str]) -> String {
        let schema = infer_schema(values.iter().map(|v| v.as_bytes())).expect("inferred");
        format_schema(&schema)
    }

    #[test]
    fn heterogeneous_records_merge() {
        let values = [
            r#"{"id": 1, "name": "a", "price": 2, "tags": [], "meta": null, "c": {"x": 1}}"#,
            r#"{"id": 2, "price": 2.5, "tags": ["x"], "c": {"y": "s", "x": 3}, "extra": true}"#,
            r#"{"name": {"first": "b"}, "big": 18446744073709551615, "mixed": 1, "only_empty": []}"#,
            r#"{"big": 1, "mixed": -1, "deep": [[1, 2], [3.5]], "nulls": [null]}"#,
            r#"{"mixed": 18446744073709551615, "huge": 100000000000000000000, "__key": 1}"#,
            r#"[1, 2, 3]"#,
            r#"not json"#,
        ];
        assert_eq!(
            infer(&values),
            "{id: int64, name: json, price: float64, tags: {list: utf8}, meta: json, \
             c: {struct: {x: int64, y: utf8}}, extra: bool, big: uint64, mixed: json, \
             only_empty: json, deep: {list: {list: float64}}, nulls: {list: json}, huge: json}"
        );
    }

    #[test]
    fn conflicting_kinds_become_json() {
        assert_eq!(infer(&[r#"{"a": 1}"#, r#"{"a": "1"}"#]), "{a: json}");
        assert_eq!(infer(&[r#"{"a": true}"#, r#"{"a": 1}"#]), "{a: json}");
        assert_eq!(infer(&[r#"{"a": [1]}"#, r#"{"a": {"b": 1}}"#]), "{a: json}");
        assert_eq!(infer(&[r#"{"a": [1, "x"]}"#]), "{a: {list: json}}");
        assert_eq!(
            infer(&[r#"{"a": null}"#, r#"{"a": 1.5}"#, r#"{"a": 2}"#]),
            "{a: float64}"
        );
    }

    #[test]
    fn deep_nesting_stops_at_the_limit() {
        let deep = format!("{{\"a\": {}1{}}}", "[".repeat(100), "]".repeat(100));
        let text = infer(&[&deep]);
        assert_eq!(text.matches("list").count(), MAX_DEPTH - 1);
        assert!(
            text.ends_with(&format!("json{}}}", "}".repeat(MAX_DEPTH - 1))),
            "{text}"
        );
    }

    #[test]
    fn no_objects_is_an_error() {
        let values: [&[u8]; 3] = [b"1", b"[]", b"{"];
        assert_eq!(
            infer_schema(values),
            Err(InferError::NoObjects { values: 3 })
        );
        assert_eq!(
            InferError::NoObjects { values: 3 }.to_string(),
            "none of the 3 sample values is a JSON object, so no schema can be inferred; \
             declare the schema in the pipeline file"
        );
    }
}
