//! JSON Schema to Arrow schemas and back: the columns a framed JSON value
//! decodes to (with [`super::JsonDecoder`]), given the schema a registry
//! holds for it, and the JSON Schema of what [`super::JsonEncoder`] writes.
//!
//! # JSON Schema to Arrow
//!
//! [`json_schema_to_arrow`] reads the subset of draft 7 and 2020-12 that
//! says what values are:
//!
//! | JSON Schema | Arrow |
//! |---|---|
//! | `"type": "object"` with `properties` | `Struct` (the top level: the columns) |
//! | `"type": "array"` with `items` | `List` (of `json` when `items` is absent or `true`) |
//! | `"type": "string"` | `Utf8` |
//! | … `"format": "date"` | `Date32` |
//! | … `"format": "date-time"` | `Timestamp(Microsecond, "UTC")` |
//! | … `"format": "time"`, `"uuid"`, others | `Utf8` |
//! | … `"contentEncoding": "base64"` | `Binary` |
//! | `"type": "integer"` | `Int64` |
//! | `"type": "number"` (or `["integer", "number"]`) | `Float64` |
//! | `"type": "boolean"` | `Boolean` |
//! | `enum` / `const` of one JSON type | that type (`Utf8` for strings) |
//! | `$ref` | the schema it points to |
//!
//! A property is nullable unless it is `required` and its schema rules
//! `null` out; `null` is allowed by a type array (`["string", "null"]`), a
//! `oneOf`/`anyOf` branch of `{"type": "null"}`, `null` in an `enum`, or
//! OpenAPI's `"nullable": true`. A `oneOf`/`anyOf` whose other branches map
//! to one type is that type; an `allOf` of object schemas merges their
//! properties.
//!
//! What does not map to one Arrow type becomes a `json` column (the value's
//! JSON text, see [`super::schema::json_field`]): schemas with no type
//! (`{}`, `true`), objects with no `properties` (only `additionalProperties`
//! or `patternProperties`: maps with keys of the producer's choosing),
//! tuples (`prefixItems`, or `items` as an array), unions of several types
//! (`["string", "integer"]`, `anyOf` of a string and an object), enums
//! mixing types, and a `$ref` back into a schema it is inside (recursion).
//! Properties an object schema does not list (`additionalProperties`) are
//! dropped when decoding, as the decoder drops unknown fields.
//!
//! `$ref` resolves JSON pointers into the same document (`#/$defs/Address`,
//! `#/definitions/Address`, `#`) and into referenced documents given by
//! name, as a registry's schema references are (`address.json`,
//! `address.json#/$defs/Street`), matched by the reference's name or by the
//! document's `$id`. Anchors (`#name`) are not resolved.
//!
//! Keywords that only constrain values (`minimum`, `pattern`, `maxLength`,
//! …) do not change the columns and are not checked.
//!
//! # Arrow to JSON Schema
//!
//! [`arrow_to_json_schema`] writes a draft 2020-12 schema of the objects
//! [`super::JsonEncoder`] writes for a batch: the types above the other way
//! round, with non-nullable columns `required` and nullable ones allowing
//! `null`; decimals are strings (the encoder writes them as exact text),
//! `json` columns any value, every integer type `integer`.

use std::collections::HashMap;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Map, Value, json};

use super::schema::{format_type, is_json_field, json_field};
use crate::record;

/// Why a JSON Schema cannot be mapped, or an Arrow schema written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonSchemaError {
    /// A document is not JSON.
    #[error("the JSON Schema `{document}` is not valid JSON: {message}")]
    Parse {
        /// The document: `the schema` or a reference's name.
        document: String,
        /// serde_json's message, with line and column.
        message: String,
    },
    /// The top level does not describe objects with properties.
    #[error(
        "the JSON Schema describes {found}, not objects with `properties`; values decode into \
         columns, so the top level must be an object schema listing its properties"
    )]
    NotAnObject {
        /// What it describes instead.
        found: String,
    },
    /// A `$ref` that does not resolve.
    #[error("`$ref` `{reference}` at `{path}` does not resolve: {reason}")]
    Ref {
        /// The reference as written.
        reference: String,
        /// Where it is, as property names.
        path: String,
        /// Why.
        reason: String,
    },
    /// An Arrow column with no JSON Schema form.
    #[error(
        "column `{column}` has type `{data_type}`, which the JSON encoder does not write; cast \
         it in a transform"
    )]
    Unsupported {
        /// The column, with its path for nested ones.
        column: String,
        /// Its type, in the schema grammar.
        data_type: String,
    },
}

/// The Arrow schema of values a JSON Schema describes, given the texts of
/// the documents it references as `(name, text)` pairs (see the
/// [module docs](self)).
///
/// # Errors
///
/// [`JsonSchemaError::Parse`] for text that is not JSON,
/// [`JsonSchemaError::NotAnObject`] when the top level is not an object
/// schema with properties, [`JsonSchemaError::Ref`] for a `$ref` that does
/// not resolve.
pub fn json_schema_to_arrow(
    text: &str,
    references: &[(&str, &str)],
) -> Result<Schema, JsonSchemaError> {
    let parse = |document: &str, text: &str| {
        serde_json::from_str::<Value>(text).map_err(|e| JsonSchemaError::Parse {
            document: document.to_owned(),
            message: e.to_string(),
        })
    };
    let mut documents = vec![parse("the schema", text)?];
    let mut names = HashMap::new();
    for (name, text) in references {
        let document = parse(name, text)?;
        if let Some(id) = document.get("$id").and_then(Value::as_str) {
            names.insert(id.to_owned(), documents.len());
        }
        names.insert((*name).to_owned(), documents.len());
        documents.push(document);
    }
    let mut mapper = Mapper {
        documents: &documents,
        names,
        open: Vec::new(),
    };
    let root = Node {
        doc: 0,
        pointer: String::new(),
    };
    let (schema, node) = mapper.resolve(&documents[0], &root, "")?;
    mapper.open.push(node.clone());
    let fields = match mapper.object_fields(schema, &node, "")? {
        Some(fields) => fields,
        None => {
            return Err(JsonSchemaError::NotAnObject {
                found: describe(schema),
            });
        }
    };
    Ok(Schema::new(fields))
}

/// A short description of what a schema describes, for messages.
fn describe(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) if t == "object" => "objects without `properties`".to_owned(),
        Some(Value::String(t)) => format!("`{t}` values"),
        Some(other) => format!("values of type {other}"),
        None => "values of any type".to_owned(),
    }
}

/// Where a schema is: a document and a JSON pointer into it, so `$ref`s
/// inside resolve against the right document and cycles are seen.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    /// Index into the documents.
    doc: usize,
    /// The JSON pointer of the schema in its document.
    pointer: String,
}

/// The state of one mapping.
struct Mapper<'a> {
    /// The schema (0) and its references.
    documents: &'a [Value],
    /// Reference name or `$id` to document index.
    names: HashMap<String, usize>,
    /// The `$ref` targets being expanded, to stop at recursion.
    open: Vec<Node>,
}

/// A mapped schema: its type (`None` for a `json` column) and whether it
/// allows `null`.
struct Mapped {
    /// The Arrow type, or `None` for `json`.
    data_type: Option<DataType>,
    /// Whether `null` is allowed.
    nullable: bool,
}

impl Mapped {
    /// A `json` column.
    fn json(nullable: bool) -> Self {
        Mapped {
            data_type: None,
            nullable,
        }
    }

    /// A typed column.
    fn of(data_type: DataType, nullable: bool) -> Self {
        Mapped {
            data_type: Some(data_type),
            nullable,
        }
    }

    /// The field of a column named `name`.
    fn field(self, name: &str, nullable: bool) -> Field {
        match self.data_type {
            Some(data_type) => Field::new(name, data_type, nullable),
            None => json_field(name, nullable),
        }
    }
}

/// Whether a schema says what shape values have (rather than only
/// constraining them).
fn has_shape(schema: &Value) -> bool {
    const SHAPE: [&str; 9] = [
        "type",
        "$ref",
        "properties",
        "items",
        "enum",
        "const",
        "oneOf",
        "anyOf",
        "allOf",
    ];
    match schema {
        Value::Object(map) => SHAPE.iter().any(|k| map.contains_key(*k)),
        _ => false,
    }
}

/// What a `$ref` back into a schema it is inside stands for: any value.
static ANY: Value = Value::Bool(true);

/// Whether a schema says only `null`.
fn is_null_schema(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some("null")
                || map.get("const") == Some(&Value::Null)
                || map
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.iter().all(Value::is_null))
        }
        _ => false,
    }
}

impl<'a> Mapper<'a> {
    /// Follows `$ref`s from `schema` (at `node`) to a schema without one;
    /// a `$ref` back into an open one comes back as `true` (any value).
    fn resolve(
        &mut self,
        schema: &'a Value,
        node: &Node,
        path: &str,
    ) -> Result<(&'a Value, Node), JsonSchemaError> {
        let mut schema = schema;
        let mut node = node.clone();
        for _ in 0..64 {
            let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
                return Ok((schema, node));
            };
            let target = self.target(reference, &node, path)?;
            if self.open.contains(&target) {
                return Ok((&ANY, target));
            }
            schema = self.at(&target, reference, path)?;
            node = target;
        }
        Err(JsonSchemaError::Ref {
            reference: schema
                .get("$ref")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            path: path.to_owned(),
            reason: "more than 64 `$ref`s lead to one another".to_owned(),
        })
    }

    /// The node a `$ref` names.
    fn target(&self, reference: &str, node: &Node, path: &str) -> Result<Node, JsonSchemaError> {
        let (document, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let doc = if document.is_empty() {
            node.doc
        } else {
            *self.names.get(document).ok_or_else(|| {
                let mut known: Vec<&str> = self.names.keys().map(String::as_str).collect();
                known.sort_unstable();
                JsonSchemaError::Ref {
                    reference: reference.to_owned(),
                    path: path.to_owned(),
                    reason: if known.is_empty() {
                        format!(
                            "`{document}` is not among the schema's references (none were given)"
                        )
                    } else {
                        format!(
                            "`{document}` is not among the schema's references ({})",
                            known
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    },
                }
            })?
        };
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(JsonSchemaError::Ref {
                reference: reference.to_owned(),
                path: path.to_owned(),
                reason: "anchors are not resolved; point at the schema with a JSON pointer \
                         such as `#/$defs/Name`"
                    .to_owned(),
            });
        }
        Ok(Node {
            doc,
            pointer: pointer.to_owned(),
        })
    }

    /// The schema at a node.
    fn at(&self, node: &Node, reference: &str, path: &str) -> Result<&'a Value, JsonSchemaError> {
        let document = self
            .documents
            .get(node.doc)
            .ok_or_else(|| JsonSchemaError::Ref {
                reference: reference.to_owned(),
                path: path.to_owned(),
                reason: "the document is missing".to_owned(),
            })?;
        // Pointer tokens escape `~` as `~0` and `/` as `~1`; `%25`-style
        // escapes from URI fragments are decoded too.
        let pointer = percent_decode(&node.pointer);
        document
            .pointer(&pointer)
            .ok_or_else(|| JsonSchemaError::Ref {
                reference: reference.to_owned(),
                path: path.to_owned(),
                reason: format!("the document has nothing at `{pointer}`"),
            })
    }

    /// Maps one schema.
    fn map(
        &mut self,
        schema: &'a Value,
        node: &Node,
        path: &str,
    ) -> Result<Mapped, JsonSchemaError> {
        let (schema, node) = self.resolve(schema, node, path)?;
        self.open.push(node.clone());
        let mapped = self.map_resolved(schema, &node, path);
        self.open.pop();
        mapped
    }

    /// Maps a schema whose `$ref`s are followed.
    fn map_resolved(
        &mut self,
        schema: &'a Value,
        node: &Node,
        path: &str,
    ) -> Result<Mapped, JsonSchemaError> {
        let Value::Object(map) = schema else {
            // `true` allows anything; `false` nothing, which no column holds.
            return Ok(Mapped::json(true));
        };
        let open_api_null = map.get("nullable") == Some(&Value::Bool(true));
        let mut mapped = self.map_keywords(map, node, path)?;
        mapped.nullable |= open_api_null;
        Ok(mapped)
    }

    /// Maps the keywords of an object schema.
    fn map_keywords(
        &mut self,
        map: &'a Map<String, Value>,
        node: &Node,
        path: &str,
    ) -> Result<Mapped, JsonSchemaError> {
        if let Some(value) = map.get("const") {
            return Ok(constants(std::slice::from_ref(value)));
        }
        if let Some(Value::Array(values)) = map.get("enum") {
            return Ok(constants(values));
        }
        let own_shape = map.contains_key("type") || map.contains_key("properties");
        for keyword in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = map.get(keyword) {
                // Branches that say nothing of the value's shape (only
                // `required`, bounds …) constrain a typed schema; they do
                // not make it a union.
                if own_shape && !branches.iter().any(has_shape) {
                    continue;
                }
                return self.union(branches, keyword, node, path);
            }
        }
        if let Some(Value::Array(parts)) = map.get("allOf") {
            return self.all_of(map, parts, node, path);
        }
        let (types, nullable) = match map.get("type") {
            Some(Value::String(t)) => (vec![t.as_str()], t == "null"),
            Some(Value::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                let nullable = names.contains(&"null");
                (
                    names.into_iter().filter(|t| *t != "null").collect(),
                    nullable,
                )
            }
            _ => {
                // No type: what the other keywords imply.
                if map.contains_key("properties") {
                    (vec!["object"], false)
                } else if map.contains_key("items") || map.contains_key("prefixItems") {
                    (vec!["array"], false)
                } else {
                    return Ok(Mapped::json(true));
                }
            }
        };
        let single = match types.as_slice() {
            [one] => *one,
            [a, b]
                if (*a == "integer" && *b == "number") || (*a == "number" && *b == "integer") =>
            {
                "number"
            }
            [] => return Ok(Mapped::json(true)),
            _ => return Ok(Mapped::json(nullable)),
        };
        Ok(match single {
            "string" => Mapped::of(string_type(map), nullable),
            "integer" => Mapped::of(DataType::Int64, nullable),
            "number" => Mapped::of(DataType::Float64, nullable),
            "boolean" => Mapped::of(DataType::Boolean, nullable),
            "object" => match self.object_of(map, node, path)? {
                Some(fields) => Mapped::of(DataType::Struct(fields), nullable),
                None => Mapped::json(nullable),
            },
            "array" => self.array(map, node, path, nullable)?,
            _ => Mapped::json(nullable),
        })
    }

    /// Maps a `oneOf` or `anyOf`: `null` branches make it nullable; the
    /// rest must map to one type.
    fn union(
        &mut self,
        branches: &'a [Value],
        keyword: &str,
        node: &Node,
        path: &str,
    ) -> Result<Mapped, JsonSchemaError> {
        let mut nullable = false;
        let mut types: Vec<Option<DataType>> = Vec::new();
        for (i, branch) in branches.iter().enumerate() {
            let branch_node = Node {
                doc: node.doc,
                pointer: format!("{}/{keyword}/{i}", node.pointer),
            };
            let (resolved, resolved_node) = self.resolve(branch, &branch_node, path)?;
            if is_null_schema(resolved) {
                nullable = true;
                continue;
            }
            let mapped = self.map(resolved, &resolved_node, path)?;
            nullable |= mapped.nullable;
            types.push(mapped.data_type);
        }
        let Some(first) = types.first().cloned() else {
            return Ok(Mapped::json(true));
        };
        if first.is_some() && types.iter().all(|t| *t == first) {
            Ok(Mapped {
                data_type: first,
                nullable,
            })
        } else {
            Ok(Mapped::json(nullable))
        }
    }

    /// Maps an `allOf`: one part is that part; object parts merge.
    fn all_of(
        &mut self,
        map: &'a Map<String, Value>,
        parts: &'a [Value],
        node: &Node,
        path: &str,
    ) -> Result<Mapped, JsonSchemaError> {
        if let [only] = parts {
            let only_node = Node {
                doc: node.doc,
                pointer: format!("{}/allOf/0", node.pointer),
            };
            return self.map(only, &only_node, path);
        }
        let mut fields: Vec<Field> = Vec::new();
        let mut all: Vec<(&Value, Node)> = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let part_node = Node {
                doc: node.doc,
                pointer: format!("{}/allOf/{i}", node.pointer),
            };
            all.push(self.resolve(part, &part_node, path)?);
        }
        let own_fields = self.object_of(map, node, path)?;
        for (part, part_node) in all {
            match self.object_fields(part, &part_node, path)? {
                Some(part_fields) => {
                    for field in part_fields.iter() {
                        fields.retain(|f| f.name() != field.name());
                        fields.push(field.as_ref().clone());
                    }
                }
                None => return Ok(Mapped::json(true)),
            }
        }
        if let Some(own_fields) = own_fields {
            for field in own_fields.iter() {
                fields.retain(|f| f.name() != field.name());
                fields.push(field.as_ref().clone());
            }
        }
        Ok(Mapped::of(DataType::Struct(Fields::from(fields)), false))
    }

    /// The fields of a schema if it is an object schema with properties.
    fn object_fields(
        &mut self,
        schema: &'a Value,
        node: &Node,
        path: &str,
    ) -> Result<Option<Fields>, JsonSchemaError> {
        let Value::Object(map) = schema else {
            return Ok(None);
        };
        if let Some(Value::Array(parts)) = map.get("allOf") {
            return match self.all_of(map, parts, node, path)?.data_type {
                Some(DataType::Struct(fields)) => Ok(Some(fields)),
                _ => Ok(None),
            };
        }
        let is_object = match map.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            None => map.contains_key("properties"),
            _ => false,
        };
        if !is_object {
            return Ok(None);
        }
        self.object_of(map, node, path)
    }

    /// The fields of an object schema, or `None` without `properties`.
    fn object_of(
        &mut self,
        map: &'a Map<String, Value>,
        node: &Node,
        path: &str,
    ) -> Result<Option<Fields>, JsonSchemaError> {
        let Some(Value::Object(properties)) = map.get("properties") else {
            return Ok(None);
        };
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::with_capacity(properties.len());
        for (name, property) in properties {
            let property_path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            let property_node = Node {
                doc: node.doc,
                pointer: format!("{}/properties/{}", node.pointer, escape_token(name)),
            };
            let mapped = self.map(property, &property_node, &property_path)?;
            let nullable = mapped.nullable || !required.contains(&name.as_str());
            fields.push(mapped.field(name, nullable));
        }
        Ok(Some(Fields::from(fields)))
    }

    /// Maps an array schema.
    fn array(
        &mut self,
        map: &'a Map<String, Value>,
        node: &Node,
        path: &str,
        nullable: bool,
    ) -> Result<Mapped, JsonSchemaError> {
        if map.contains_key("prefixItems") {
            return Ok(Mapped::json(nullable));
        }
        let item = match map.get("items") {
            None | Some(Value::Bool(true)) => json_field("item", true),
            Some(items @ Value::Object(_)) => {
                let item_node = Node {
                    doc: node.doc,
                    pointer: format!("{}/items", node.pointer),
                };
                let mapped = self.map(items, &item_node, &format!("{path}[]"))?;
                let item_nullable = mapped.nullable;
                mapped.field("item", item_nullable)
            }
            // Draft 7 tuples (`items` as an array) and `false`.
            Some(_) => return Ok(Mapped::json(nullable)),
        };
        Ok(Mapped::of(DataType::List(item.into()), nullable))
    }
}

/// The type of a string schema, by `format` and `contentEncoding`.
fn string_type(map: &Map<String, Value>) -> DataType {
    if map.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        return DataType::Binary;
    }
    match map.get("format").and_then(Value::as_str) {
        Some("date") => DataType::Date32,
        Some("date-time") => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => DataType::Utf8,
    }
}

/// Maps the values of an `enum` or `const`: one JSON type is that type,
/// `null` among them makes it nullable, anything else is `json`.
fn constants(values: &[Value]) -> Mapped {
    let nullable = values.iter().any(Value::is_null);
    let mut kinds = values.iter().filter(|v| !v.is_null()).map(|v| match v {
        Value::String(_) => Some(DataType::Utf8),
        Value::Bool(_) => Some(DataType::Boolean),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(DataType::Int64),
        Value::Number(_) => Some(DataType::Float64),
        _ => None,
    });
    let Some(first) = kinds.next() else {
        return Mapped::json(true);
    };
    let mut data_type = first;
    for kind in kinds {
        data_type = match (data_type, kind) {
            (Some(a), Some(b)) if a == b => Some(a),
            (
                Some(DataType::Int64 | DataType::Float64),
                Some(DataType::Int64 | DataType::Float64),
            ) => Some(DataType::Float64),
            _ => None,
        };
    }
    Mapped {
        data_type,
        nullable: nullable || values.is_empty(),
    }
}

/// Escapes a property name as a JSON pointer token.
fn escape_token(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Decodes `%XX` escapes in a URI fragment.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// The draft the written schemas declare.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// Writes the JSON Schema (draft 2020-12) of the objects
/// [`super::JsonEncoder`] writes for batches of `schema` (metadata columns,
/// named `__…`, are left out), titled `title`.
///
/// # Errors
///
/// [`JsonSchemaError::Unsupported`] for the first column whose type the JSON
/// encoder does not write (maps, unions, durations, intervals, times).
pub fn arrow_to_json_schema(schema: &Schema, title: &str) -> Result<String, JsonSchemaError> {
    let fields: Vec<&Field> = schema
        .fields()
        .iter()
        .filter(|f| !record::is_metadata(f.name()))
        .map(|f| f.as_ref())
        .collect();
    let mut document = Map::new();
    document.insert("$schema".to_owned(), json!(DRAFT_2020_12));
    document.insert("title".to_owned(), json!(title));
    let Value::Object(object) = object_schema(&fields, "", false)? else {
        unreachable!("object_schema writes an object");
    };
    document.extend(object);
    Ok(Value::Object(document).to_string())
}

/// The schema of an object with `fields`.
fn object_schema(fields: &[&Field], path: &str, nullable: bool) -> Result<Value, JsonSchemaError> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let column = if path.is_empty() {
            field.name().clone()
        } else {
            format!("{path}.{}", field.name())
        };
        properties.insert(field.name().clone(), field_schema(field, &column)?);
        if !field.is_nullable() {
            required.push(json!(field.name()));
        }
    }
    let mut object = Map::new();
    object.insert("type".to_owned(), type_name("object", nullable));
    object.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        object.insert("required".to_owned(), Value::Array(required));
    }
    Ok(Value::Object(object))
}

/// `"T"`, or `["T", "null"]` when nullable.
fn type_name(name: &str, nullable: bool) -> Value {
    if nullable {
        json!([name, "null"])
    } else {
        json!(name)
    }
}

/// The schema of one column's values.
fn field_schema(field: &Field, column: &str) -> Result<Value, JsonSchemaError> {
    if is_json_field(field) {
        return Ok(json!({}));
    }
    let nullable = field.is_nullable();
    let simple = |name: &str| json!({"type": type_name(name, nullable)});
    let string_with =
        |key: &str, value: &str| json!({"type": type_name("string", nullable), key: value});
    Ok(match field.data_type() {
        DataType::Null => json!({"type": "null"}),
        DataType::Boolean => simple("boolean"),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => simple("integer"),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => simple("number"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => simple("string"),
        DataType::Decimal128(..) | DataType::Decimal256(..) => simple("string"),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => string_with("contentEncoding", "base64"),
        DataType::Date32 | DataType::Date64 => string_with("format", "date"),
        DataType::Timestamp(..) => string_with("format", "date-time"),
        DataType::Struct(children) => {
            let children: Vec<&Field> = children.iter().map(|f| f.as_ref()).collect();
            object_schema(&children, column, nullable)?
        }
        DataType::List(item) | DataType::LargeList(item) => json!({
            "type": type_name("array", nullable),
            "items": field_schema(item, &format!("{column}[]"))?,
        }),
        DataType::Dictionary(key, value) if key.is_dictionary_key_type() => {
            let inner = Field::new(field.name(), (**value).clone(), nullable)
                .with_metadata(field.metadata().clone());
            field_schema(&inner, column)?
        }
        other => {
            return Err(JsonSchemaError::Unsupported {
                column: column.to_owned(),
                data_type: format_type(other),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Int64Type, TimestampMicrosecondType};
    use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
    use serde_json::json;

    use super::{JsonSchemaError, arrow_to_json_schema, json_schema_to_arrow};
    use crate::format::schema::json_field;
    use crate::format::{JsonDecoder, JsonOptions, RowError};

    /// Maps a schema given as JSON, with no references.
    fn map(schema: &serde_json::Value) -> Result<Schema, JsonSchemaError> {
        json_schema_to_arrow(&schema.to_string(), &[])
    }

    /// A list of `item`s.
    fn list(item: Field) -> DataType {
        DataType::List(Arc::new(item))
    }

    /// `Timestamp(Microsecond, "UTC")`, the type of `date-time` strings.
    fn date_time() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    #[test]
    fn every_keyword_maps_to_its_arrow_type() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "name": {"type": "string", "maxLength": 20},
                "price": {"type": "number"},
                "paid": {"type": "boolean"},
                "day": {"type": "string", "format": "date"},
                "at": {"type": "string", "format": "date-time"},
                "clock": {"type": "string", "format": "time"},
                "key": {"type": "string", "format": "uuid"},
                "raw": {"type": "string", "contentEncoding": "base64"},
                "note": {"type": ["string", "null"]},
                "size": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
                "tier": {"enum": ["gold", "silver", null]},
                "level": {"enum": [1, 2, 3]},
                "mixed": {"enum": ["a", 1]},
                "kind": {"const": "order"},
                "amount": {"type": ["integer", "number"]},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "anything": {"type": "array"},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "by_pattern": {"type": "object", "patternProperties": {"^x": {"type": "integer"}}},
                "extra": {},
                "customer": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
                    "required": ["id"],
                    "oneOf": [{"required": ["id"]}, {"required": ["email"]}]
                },
                "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
                "ship_to": {"$ref": "#/definitions/address"},
                "legacy": {"type": "string", "nullable": true},
                "base": {
                    "allOf": [
                        {"$ref": "#/$defs/line"},
                        {"properties": {"extra_qty": {"type": "integer"}}}
                    ]
                },
                "one": {"allOf": [{"type": "boolean"}]}
            },
            "required": ["id", "name", "note", "size", "kind", "lines"],
            "$defs": {
                "line": {
                    "type": "object",
                    "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                    "required": ["sku"]
                }
            },
            "definitions": {
                "address": {"type": "object", "properties": {"city": {"type": "string"}}}
            }
        });
        let line = Fields::from(vec![
            Field::new("sku", DataType::Utf8, false),
            Field::new("qty", DataType::Int64, true),
        ]);
        let expected = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("price", DataType::Float64, true),
            Field::new("paid", DataType::Boolean, true),
            Field::new("day", DataType::Date32, true),
            Field::new("at", date_time(), true),
            Field::new("clock", DataType::Utf8, true),
            Field::new("key", DataType::Utf8, true),
            Field::new("raw", DataType::Binary, true),
            Field::new("note", DataType::Utf8, true),
            Field::new("size", DataType::Int64, true),
            Field::new("tier", DataType::Utf8, true),
            Field::new("level", DataType::Int64, true),
            json_field("mixed", true),
            Field::new("kind", DataType::Utf8, false),
            Field::new("amount", DataType::Float64, true),
            json_field("either", true),
            Field::new(
                "tags",
                list(Field::new("item", DataType::Utf8, false)),
                true,
            ),
            Field::new("anything", list(json_field("item", true)), true),
            json_field("pair", true),
            json_field("labels", true),
            json_field("by_pattern", true),
            json_field("extra", true),
            Field::new(
                "customer",
                DataType::Struct(Fields::from(vec![
                    Field::new("id", DataType::Int64, false),
                    Field::new("email", DataType::Utf8, true),
                ])),
                true,
            ),
            Field::new(
                "lines",
                list(Field::new("item", DataType::Struct(line.clone()), false)),
                false,
            ),
            Field::new(
                "ship_to",
                DataType::Struct(Fields::from(vec![Field::new("city", DataType::Utf8, true)])),
                true,
            ),
            Field::new("legacy", DataType::Utf8, true),
            Field::new(
                "base",
                DataType::Struct(Fields::from(vec![
                    Field::new("sku", DataType::Utf8, false),
                    Field::new("qty", DataType::Int64, true),
                    Field::new("extra_qty", DataType::Int64, true),
                ])),
                true,
            ),
            Field::new("one", DataType::Boolean, true),
        ]);
        assert_eq!(map(&schema), Ok(expected));
    }

    #[test]
    fn recursion_stops_at_a_json_column() {
        let by_root = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#"}}
            }
        });
        assert_eq!(
            map(&by_root),
            Ok(Schema::new(vec![
                Field::new("name", DataType::Utf8, true),
                Field::new("children", list(json_field("item", true)), true),
            ]))
        );
        let by_defs = json!({
            "type": "object",
            "properties": {"head": {"$ref": "#/$defs/node"}},
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/$defs/node"}}
                }
            }
        });
        assert_eq!(
            map(&by_defs),
            Ok(Schema::new(vec![Field::new(
                "head",
                DataType::Struct(Fields::from(vec![
                    Field::new("value", DataType::Int64, true),
                    json_field("next", true),
                ])),
                true,
            )]))
        );
    }

    #[test]
    fn references_resolve_by_name_and_id() {
        let address = json!({
            "$id": "https://example.com/address.json",
            "type": "object",
            "properties": {"city": {"type": "string"}, "geo": {"$ref": "#/$defs/geo"}},
            "$defs": {"geo": {"type": "object", "properties": {"lat": {"type": "number"}}}}
        })
        .to_string();
        let schema = json!({
            "type": "object",
            "properties": {
                "home": {"$ref": "address.json"},
                "work": {"$ref": "https://example.com/address.json"},
                "point": {"$ref": "address.json#/$defs/geo"}
            }
        })
        .to_string();
        let geo = DataType::Struct(Fields::from(vec![Field::new(
            "lat",
            DataType::Float64,
            true,
        )]));
        let address_type = DataType::Struct(Fields::from(vec![
            Field::new("city", DataType::Utf8, true),
            Field::new("geo", geo.clone(), true),
        ]));
        assert_eq!(
            json_schema_to_arrow(&schema, &[("address.json", &address)]),
            Ok(Schema::new(vec![
                Field::new("home", address_type.clone(), true),
                Field::new("work", address_type, true),
                Field::new("point", geo, true),
            ]))
        );
    }

    #[test]
    fn schemas_that_do_not_map_are_errors() {
        assert_eq!(
            json_schema_to_arrow("{", &[]).map_err(|e| e.to_string()),
            Err(
                "the JSON Schema `the schema` is not valid JSON: EOF while parsing an object at \
                 line 1 column 1"
                    .to_owned()
            )
        );
        assert_eq!(
            json_schema_to_arrow("{}", &[("other.json", "[")]),
            Err(JsonSchemaError::Parse {
                document: "other.json".to_owned(),
                message: "EOF while parsing a list at line 1 column 1".to_owned()
            })
        );
        assert_eq!(
            map(&json!({"type": "string"})).map_err(|e| e.to_string()),
            Err(
                "the JSON Schema describes `string` values, not objects with `properties`; \
                 values decode into columns, so the top level must be an object schema listing \
                 its properties"
                    .to_owned()
            )
        );
        assert_eq!(
            map(&json!({"type": "object", "additionalProperties": true})),
            Err(JsonSchemaError::NotAnObject {
                found: "objects without `properties`".to_owned()
            })
        );
        assert_eq!(
            map(&json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})),
            Err(JsonSchemaError::Ref {
                reference: "#/$defs/missing".to_owned(),
                path: "a".to_owned(),
                reason: "the document has nothing at `/$defs/missing`".to_owned()
            })
        );
        assert_eq!(
            map(&json!({
                "type": "object",
                "properties": {"b": {"type": "object", "properties": {"c": {"$ref": "other.json"}}}}
            }))
            .map_err(|e| e.to_string()),
            Err(
                "`$ref` `other.json` at `b.c` does not resolve: `other.json` is not among the \
                 schema's references (none were given)"
                    .to_owned()
            )
        );
        assert_eq!(
            map(&json!({"type": "object", "properties": {"a": {"$ref": "#node"}}})),
            Err(JsonSchemaError::Ref {
                reference: "#node".to_owned(),
                path: "a".to_owned(),
                reason: "anchors are not resolved; point at the schema with a JSON pointer \
                         such as `#/$defs/Name`"
                    .to_owned()
            })
        );
    }

    #[test]
    fn values_decode_with_the_mapped_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "at": {"type": "string", "format": "date-time"},
                "day": {"type": "string", "format": "date"},
                "raw": {"type": "string", "contentEncoding": "base64"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "customer": {"type": "object", "properties": {"id": {"type": "integer"}}},
                "extra": {},
                "note": {"type": ["string", "null"]}
            },
            "required": ["id"]
        });
        let arrow = Arc::new(map(&schema).expect("maps"));
        let mut decoder = JsonDecoder::new(arrow, JsonOptions::default()).expect("decodes");
        let good = br#"{"id": 1, "at": "2024-05-01T12:30:00.5Z", "day": "2024-05-01",
            "raw": "AAE=", "tags": ["a", "b"], "customer": {"id": 7},
            "extra": {"k": [1, null]}, "note": null}"#;
        let decoded = decoder.decode(&[Some(good), Some(br#"{"at": "2024-05-01"}"#)]);
        assert_eq!(
            decoded.errors,
            [RowError {
                row: 1,
                message: "field `id` is missing but the schema does not allow nulls".to_owned()
            }]
        );
        let batch = decoded.batch;
        let col = |name: &str| batch.column_by_name(name).expect("column").clone();
        assert_eq!(col("id").as_primitive::<Int64Type>().value(0), 1);
        assert_eq!(
            col("at")
                .as_primitive::<TimestampMicrosecondType>()
                .value(0),
            1_714_566_600_500_000
        );
        assert_eq!(col("day").as_primitive::<Date32Type>().value(0), 19_844);
        assert_eq!(col("raw").as_binary::<i32>().value(0), [0, 1]);
        let tags = col("tags");
        let tags = tags.as_list::<i32>().value(0);
        assert_eq!(
            tags.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("a"), Some("b")]
        );
        let customer = col("customer");
        assert_eq!(
            customer
                .as_struct()
                .column(0)
                .as_primitive::<Int64Type>()
                .value(0),
            7
        );
        assert_eq!(
            col("extra").as_string::<i32>().value(0),
            r#"{"k":[1,null]}"#
        );
        assert!(col("note").is_null(0));
    }

    #[test]
    fn arrow_schemas_are_written_as_json_schema() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("note", DataType::Utf8, true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new("raw", DataType::Binary, false),
            Field::new("day", DataType::Date32, true),
            Field::new("price", DataType::Decimal128(10, 2), true),
            Field::new(
                "tags",
                list(Field::new("item", DataType::Utf8, true)),
                false,
            ),
            Field::new(
                "customer",
                DataType::Struct(Fields::from(vec![Field::new("id", DataType::Int32, false)])),
                true,
            ),
            json_field("extra", true),
            Field::new(
                "tier",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
            Field::new("__offset", DataType::Int64, false),
        ]);
        let text = arrow_to_json_schema(&schema, "Order").expect("writes");
        assert_eq!(
            text,
            concat!(
                r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"Order","#,
                r#""type":"object","properties":{"id":{"type":"integer"},"#,
                r#""note":{"type":["string","null"]},"#,
                r#""at":{"type":["string","null"],"format":"date-time"},"#,
                r#""raw":{"type":"string","contentEncoding":"base64"},"#,
                r#""day":{"type":["string","null"],"format":"date"},"#,
                r#""price":{"type":["string","null"]},"#,
                r#""tags":{"type":"array","items":{"type":["string","null"]}},"#,
                r#""customer":{"type":["object","null"],"properties":{"id":{"type":"integer"}},"#,
                r#""required":["id"]},"extra":{},"tier":{"type":["string","null"]}},"#,
                r#""required":["id","raw","tags"]}"#
            )
        );
        // Read back, it gives the types the JSON decoder reads the encoder's
        // output with.
        assert_eq!(
            json_schema_to_arrow(&text, &[]),
            Ok(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("note", DataType::Utf8, true),
                Field::new("at", date_time(), true),
                Field::new("raw", DataType::Binary, false),
                Field::new("day", DataType::Date32, true),
                Field::new("price", DataType::Utf8, true),
                Field::new(
                    "tags",
                    list(Field::new("item", DataType::Utf8, true)),
                    false
                ),
                Field::new(
                    "customer",
                    DataType::Struct(Fields::from(vec![Field::new("id", DataType::Int64, false)])),
                    true,
                ),
                json_field("extra", true),
                Field::new("tier", DataType::Utf8, true),
            ]))
        );
    }

    #[test]
    fn arrow_types_the_json_encoder_does_not_write_are_errors() {
        let schema = Schema::new(vec![Field::new(
            "customer",
            DataType::Struct(Fields::from(vec![Field::new(
                "since",
                DataType::Duration(TimeUnit::Second),
                true,
            )])),
            true,
        )]);
        assert_eq!(
            arrow_to_json_schema(&schema, "Order").map_err(|e| e.to_string()),
            Err(
                "column `customer.since` has type `duration(s)`, which the JSON encoder \
                 does not write; cast it in a transform"
                    .to_owned()
            )
        );
    }
}
