//! Avro schemas to Arrow schemas ([`to_arrow`]) and Arrow schemas to Avro
//! schema text ([`arrow_to_avro_schema`]); the table is in the module
//! documentation of [`super`].

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema;
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, Name, UuidSchema};
use arrow_schema::{DataType, Field, Fields, IntervalUnit, TimeUnit, UnionFields, UnionMode};
use serde_json::{Value, json};

use super::{
    AvroSchema, AvroSchemaError, LOGICAL_TYPE_KEY, NAME_KEY, Names, SIZE_KEY, SYMBOLS_KEY, resolve,
};
use crate::format::schema::{EXTENSION_NAME_KEY, JSON_EXTENSION, is_json_field};
use crate::record;

/// The extension name Arrow gives 16-byte UUIDs.
pub(super) const UUID_EXTENSION: &str = "arrow.uuid";

/// The most precision Arrow's decimals hold (`Decimal256`).
const MAX_PRECISION: usize = 76;

/// The most branches an Arrow union holds (its type ids are `i8`).
const MAX_BRANCHES: usize = 127;

/// The Arrow schema of `schema`, and whether its top level is a record
/// (whose fields are the columns) rather than one `value` column.
pub(super) fn to_arrow(
    schema: &AvroSchema,
) -> Result<(arrow_schema::Schema, bool), AvroSchemaError> {
    let mut mapper = Mapper {
        names: &schema.names,
        stack: Vec::new(),
    };
    match resolve(&schema.names, &schema.root) {
        Schema::Record(record) => {
            mapper.stack.push(record.name.clone());
            let fields = record
                .fields
                .iter()
                .map(|f| mapper.field(&f.name, &f.schema, &f.name))
                .collect::<Result<Vec<_>, _>>()?;
            let metadata = HashMap::from([(NAME_KEY.to_owned(), record.name.fullname(None))]);
            Ok((
                arrow_schema::Schema::new_with_metadata(fields, metadata),
                true,
            ))
        }
        other => {
            let field = mapper.field("value", other, "value")?;
            Ok((arrow_schema::Schema::new(vec![field]), false))
        }
    }
}

/// The name of a union branch: its type's name, or a named type's full
/// name (how Avro's JSON encoding names branches).
pub(super) fn branch_name(names: &Names, schema: &Schema) -> String {
    match schema {
        Schema::Ref { name } => match resolve(names, schema) {
            Schema::Ref { .. } => name.fullname(None),
            target => branch_name(names, target),
        },
        Schema::Null => "null".to_owned(),
        Schema::Boolean => "boolean".to_owned(),
        Schema::Int | Schema::Date | Schema::TimeMillis => "int".to_owned(),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => "long".to_owned(),
        Schema::Float => "float".to_owned(),
        Schema::Double => "double".to_owned(),
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Bytes,
            ..
        }) => "bytes".to_owned(),
        Schema::String | Schema::Uuid(UuidSchema::String) => "string".to_owned(),
        Schema::Array(_) => "array".to_owned(),
        Schema::Map(_) => "map".to_owned(),
        Schema::Union(_) => "union".to_owned(),
        Schema::Record(r) => r.name.fullname(None),
        Schema::Enum(e) => e.name.fullname(None),
        Schema::Fixed(f)
        | Schema::Duration(f)
        | Schema::Uuid(UuidSchema::Fixed(f))
        | Schema::Decimal(DecimalSchema {
            inner: InnerDecimalSchema::Fixed(f),
            ..
        }) => f.name.fullname(None),
    }
}

/// Walks an Avro schema, building Arrow fields.
struct Mapper<'a> {
    /// Named types.
    names: &'a Names,
    /// The records enclosing the current position, to spot recursion.
    stack: Vec<Name>,
}

/// An Arrow type, its nullability and the field metadata it needs.
type Mapped = (DataType, bool, HashMap<String, String>);

impl Mapper<'_> {
    /// The Arrow field `name` of Avro type `schema`, at `path`.
    fn field(&mut self, name: &str, schema: &Schema, path: &str) -> Result<Field, AvroSchemaError> {
        let (data_type, nullable, metadata) = self.map(schema, path)?;
        Ok(Field::new(name, data_type, nullable).with_metadata(metadata))
    }

    /// The Arrow form of `schema` at `path`.
    fn map(&mut self, schema: &Schema, path: &str) -> Result<Mapped, AvroSchemaError> {
        let plain = |data_type| Ok((data_type, false, HashMap::new()));
        let named = |data_type, name: &Name| {
            Ok((
                data_type,
                false,
                HashMap::from([(NAME_KEY.to_owned(), name.fullname(None))]),
            ))
        };
        match schema {
            Schema::Ref { name } => {
                if self.stack.contains(name) {
                    return Ok(json_column(name));
                }
                match resolve(self.names, schema) {
                    Schema::Ref { .. } => Err(AvroSchemaError::Unsupported {
                        path: path.to_owned(),
                        message: format!("refers to the unknown type `{}`", name.fullname(None)),
                    }),
                    target => self.map(target, path),
                }
            }
            Schema::Null => Ok((DataType::Null, true, HashMap::new())),
            Schema::Boolean => plain(DataType::Boolean),
            Schema::Int => plain(DataType::Int32),
            Schema::Long => plain(DataType::Int64),
            Schema::Float => plain(DataType::Float32),
            Schema::Double => plain(DataType::Float64),
            Schema::Bytes => plain(DataType::Binary),
            Schema::String => plain(DataType::Utf8),
            Schema::Record(record) => {
                if self.stack.contains(&record.name) {
                    return Ok(json_column(&record.name));
                }
                self.stack.push(record.name.clone());
                let fields = record
                    .fields
                    .iter()
                    .map(|f| self.field(&f.name, &f.schema, &format!("{path}.{}", f.name)))
                    .collect::<Result<Vec<_>, _>>();
                self.stack.pop();
                named(DataType::Struct(Fields::from(fields?)), &record.name)
            }
            Schema::Enum(e) => {
                let mut metadata = HashMap::from([(NAME_KEY.to_owned(), e.name.fullname(None))]);
                metadata.insert(SYMBOLS_KEY.to_owned(), json!(e.symbols).to_string());
                Ok((dictionary(), false, metadata))
            }
            Schema::Fixed(fixed) => {
                let size = i32::try_from(fixed.size).map_err(|_| AvroSchemaError::Unsupported {
                    path: path.to_owned(),
                    message: format!("fixed size {} is over Arrow's limit", fixed.size),
                })?;
                named(DataType::FixedSizeBinary(size), &fixed.name)
            }
            Schema::Array(array) => {
                let item = self.field("item", &array.items, &format!("{path}[]"))?;
                plain(DataType::List(Arc::new(item)))
            }
            Schema::Map(map) => {
                let value = self.field("value", &map.types, &format!("{path}[]"))?;
                plain(map_type(value))
            }
            Schema::Union(union) => self.union(union.variants(), path),
            Schema::Decimal(decimal) => {
                let data_type = decimal_type(decimal.precision, decimal.scale, path)?;
                let mut metadata = HashMap::new();
                if let InnerDecimalSchema::Fixed(fixed) = &decimal.inner {
                    metadata.insert(NAME_KEY.to_owned(), fixed.name.fullname(None));
                    metadata.insert(SIZE_KEY.to_owned(), fixed.size.to_string());
                }
                Ok((data_type, false, metadata))
            }
            Schema::BigDecimal => Ok((
                DataType::Binary,
                false,
                HashMap::from([(LOGICAL_TYPE_KEY.to_owned(), "big-decimal".to_owned())]),
            )),
            Schema::Uuid(UuidSchema::String) => Ok((
                DataType::Utf8,
                false,
                HashMap::from([(LOGICAL_TYPE_KEY.to_owned(), "uuid".to_owned())]),
            )),
            Schema::Uuid(UuidSchema::Bytes) => Ok((
                DataType::FixedSizeBinary(16),
                false,
                HashMap::from([
                    (LOGICAL_TYPE_KEY.to_owned(), "uuid".to_owned()),
                    (EXTENSION_NAME_KEY.to_owned(), UUID_EXTENSION.to_owned()),
                ]),
            )),
            Schema::Uuid(UuidSchema::Fixed(fixed)) => Ok((
                DataType::FixedSizeBinary(16),
                false,
                HashMap::from([
                    (NAME_KEY.to_owned(), fixed.name.fullname(None)),
                    (EXTENSION_NAME_KEY.to_owned(), UUID_EXTENSION.to_owned()),
                ]),
            )),
            Schema::Date => plain(DataType::Date32),
            Schema::TimeMillis => plain(DataType::Time32(TimeUnit::Millisecond)),
            Schema::TimeMicros => plain(DataType::Time64(TimeUnit::Microsecond)),
            Schema::TimestampMillis => plain(utc(TimeUnit::Millisecond)),
            Schema::TimestampMicros => plain(utc(TimeUnit::Microsecond)),
            Schema::TimestampNanos => plain(utc(TimeUnit::Nanosecond)),
            Schema::LocalTimestampMillis => plain(DataType::Timestamp(TimeUnit::Millisecond, None)),
            Schema::LocalTimestampMicros => plain(DataType::Timestamp(TimeUnit::Microsecond, None)),
            Schema::LocalTimestampNanos => plain(DataType::Timestamp(TimeUnit::Nanosecond, None)),
            Schema::Duration(fixed) => {
                named(DataType::Interval(IntervalUnit::MonthDayNano), &fixed.name)
            }
        }
    }

    /// A union: nullable `T` for `[null, T]`, a dense union otherwise.
    fn union(&mut self, variants: &[Schema], path: &str) -> Result<Mapped, AvroSchemaError> {
        let others: Vec<&Schema> = variants
            .iter()
            .filter(|v| !matches!(v, Schema::Null))
            .collect();
        let has_null = others.len() < variants.len();
        match others.as_slice() {
            [] => Ok((DataType::Null, true, HashMap::new())),
            [only] => {
                let (data_type, nullable, metadata) = self.map(only, path)?;
                Ok((data_type, nullable || has_null, metadata))
            }
            _ => {
                if variants.len() > MAX_BRANCHES {
                    return Err(AvroSchemaError::Unsupported {
                        path: path.to_owned(),
                        message: format!(
                            "a union of {} branches is over the {MAX_BRANCHES} an Arrow union holds; \
                             nest the branches in records",
                            variants.len()
                        ),
                    });
                }
                let mut fields = Vec::with_capacity(variants.len());
                for variant in variants {
                    let name = branch_name(self.names, variant);
                    let field = self.field(&name, variant, &format!("{path}<{name}>"))?;
                    fields.push(field);
                }
                let type_ids = 0..i8::try_from(fields.len()).unwrap_or(i8::MAX);
                let fields = UnionFields::try_new(type_ids, fields).map_err(|error| {
                    AvroSchemaError::Unsupported {
                        path: path.to_owned(),
                        message: error.to_string(),
                    }
                })?;
                Ok((
                    DataType::Union(fields, UnionMode::Dense),
                    has_null,
                    HashMap::new(),
                ))
            }
        }
    }
}

/// A `json` column standing for a recursive reference to `name`.
fn json_column(name: &Name) -> Mapped {
    let metadata = HashMap::from([
        (EXTENSION_NAME_KEY.to_owned(), JSON_EXTENSION.to_owned()),
        (NAME_KEY.to_owned(), name.fullname(None)),
    ]);
    (DataType::Utf8, false, metadata)
}

/// The type of an enum column.
pub(super) fn dictionary() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A timestamp in UTC.
fn utc(unit: TimeUnit) -> DataType {
    DataType::Timestamp(unit, Some(Arc::from("UTC")))
}

/// The map type of `value`s under `Utf8` keys.
fn map_type(value: Field) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            value,
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// The decimal type of a precision and scale.
fn decimal_type(precision: usize, scale: usize, path: &str) -> Result<DataType, AvroSchemaError> {
    match (u8::try_from(precision), i8::try_from(scale)) {
        (Ok(p), Ok(s)) if precision <= 38 => Ok(DataType::Decimal128(p, s)),
        (Ok(p), Ok(s)) if precision <= MAX_PRECISION => Ok(DataType::Decimal256(p, s)),
        _ => Err(AvroSchemaError::Unsupported {
            path: path.to_owned(),
            message: format!(
                "decimal precision {precision} is over {MAX_PRECISION}, the most an Arrow \
                 decimal holds; use a smaller precision or read the field as `bytes`"
            ),
        }),
    }
}

/// Derives an Avro schema (as JSON text) for the value columns of an Arrow
/// schema: a record `name` in `namespace`, one field per column (columns
/// named `__…` are record metadata and left out).
///
/// Nullable columns become `["null", T]` unions with a `null` default.
/// Named types and enums take their names and symbols from the metadata a
/// decoded batch carries ([`NAME_KEY`](super::NAME_KEY),
/// [`SYMBOLS_KEY`](super::SYMBOLS_KEY)); other structs are named after
/// their field. `Dictionary` string columns without symbols become strings.
///
/// # Errors
///
/// [`AvroSchemaError::Unsupported`], naming the column, for a type Avro
/// cannot hold exactly (`uint64`, `time32(s)`, …) or a column name that is
/// not a valid Avro name.
pub fn arrow_to_avro_schema(
    schema: &arrow_schema::Schema,
    name: &str,
    namespace: Option<&str>,
) -> Result<String, AvroSchemaError> {
    let namespace = namespace.filter(|ns| !ns.is_empty());
    let mut writer = SchemaWriter {
        defined: HashMap::new(),
        namespace: namespace.map(str::to_owned),
    };
    check_name(name).map_err(|message| AvroSchemaError::Unsupported {
        path: String::new(),
        message: format!("the record name {message}"),
    })?;
    if let Some(ns) = namespace
        && let Err(message) = ns.split('.').try_for_each(check_name)
    {
        return Err(AvroSchemaError::Unsupported {
            path: String::new(),
            message: format!("the namespace `{ns}` has a part that {message}"),
        });
    }
    let full = writer.qualify(name);
    writer.defined.insert(full, None);
    let mut fields = Vec::new();
    for field in schema.fields() {
        if record::is_metadata(field.name()) {
            continue;
        }
        fields.push(writer.field(field, name, field.name())?);
    }
    let mut record = json!({"type": "record", "name": name, "fields": fields});
    if let Some(ns) = namespace {
        record["namespace"] = json!(ns);
    }
    Ok(record.to_string())
}

/// Builds Avro schema JSON from Arrow fields.
struct SchemaWriter {
    /// Named types written so far, with the Arrow type they were written
    /// for (`None` for the top-level record), so a repeated one is written
    /// as a reference.
    defined: HashMap<String, Option<DataType>>,
    /// The top-level record's namespace, which names without one inherit.
    namespace: Option<String>,
}

impl SchemaWriter {
    /// The Avro field for an Arrow field inside the record `parent`.
    fn field(&mut self, field: &Field, parent: &str, path: &str) -> Result<Value, AvroSchemaError> {
        check_name(field.name()).map_err(|message| AvroSchemaError::Unsupported {
            path: path.to_owned(),
            message: format!("the column name {message}; rename it in a transform"),
        })?;
        let ty = self.value_type(field, parent, path)?;
        if field.is_nullable() && !matches!(field.data_type(), DataType::Null | DataType::Union(..))
        {
            Ok(json!({"name": field.name(), "type": ["null", ty], "default": null}))
        } else {
            Ok(json!({"name": field.name(), "type": ty}))
        }
    }

    /// The type of a list item or map value: nullable ones in a union.
    fn nested(
        &mut self,
        field: &Field,
        parent: &str,
        path: &str,
    ) -> Result<Value, AvroSchemaError> {
        let ty = self.value_type(field, parent, path)?;
        if field.is_nullable() && !matches!(field.data_type(), DataType::Null | DataType::Union(..))
        {
            Ok(json!(["null", ty]))
        } else {
            Ok(ty)
        }
    }

    /// The Avro type of a field's values (nulls aside).
    fn value_type(
        &mut self,
        field: &Field,
        parent: &str,
        path: &str,
    ) -> Result<Value, AvroSchemaError> {
        let unsupported = |hint: &str| AvroSchemaError::Unsupported {
            path: path.to_owned(),
            message: format!(
                "Arrow type `{}` has no exact Avro form; {hint}",
                crate::format::format_type(field.data_type())
            ),
        };
        let metadata = field.metadata();
        let logical = metadata.get(LOGICAL_TYPE_KEY).map(String::as_str);
        Ok(match field.data_type() {
            DataType::Null => json!("null"),
            DataType::Boolean => json!("boolean"),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16 => {
                json!("int")
            }
            DataType::Int64 | DataType::UInt32 => json!("long"),
            DataType::UInt64 => return Err(unsupported("cast it to int64 or decimal(20, 0)")),
            DataType::Float16 | DataType::Float32 => json!("float"),
            DataType::Float64 => json!("double"),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                if is_json_field(field)
                    && let Some(name) = metadata.get(NAME_KEY).map(|n| self.qualify(n))
                    && self.defined.contains_key(&name)
                {
                    json!(name)
                } else if logical == Some("uuid") {
                    json!({"type": "string", "logicalType": "uuid"})
                } else {
                    json!("string")
                }
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                if logical == Some("big-decimal") {
                    json!({"type": "bytes", "logicalType": "big-decimal"})
                } else {
                    json!("bytes")
                }
            }
            DataType::FixedSizeBinary(size) => {
                let uuid = *size == 16
                    && (metadata.get(EXTENSION_NAME_KEY).map(String::as_str)
                        == Some(UUID_EXTENSION)
                        || logical == Some("uuid"));
                if uuid && !metadata.contains_key(NAME_KEY) {
                    json!({"type": "string", "logicalType": "uuid"})
                } else {
                    let mut fixed = json!({"type": "fixed", "size": size});
                    if uuid {
                        fixed["logicalType"] = json!("uuid");
                    }
                    return Ok(self.named(field, parent, fixed));
                }
            }
            DataType::Date32 => json!({"type": "int", "logicalType": "date"}),
            DataType::Time32(TimeUnit::Millisecond) => {
                json!({"type": "int", "logicalType": "time-millis"})
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                json!({"type": "long", "logicalType": "time-micros"})
            }
            DataType::Timestamp(unit, tz) => {
                let unit = match unit {
                    TimeUnit::Second | TimeUnit::Millisecond => "millis",
                    TimeUnit::Microsecond => "micros",
                    TimeUnit::Nanosecond => "nanos",
                };
                let local = if tz.is_some() { "" } else { "local-" };
                json!({"type": "long", "logicalType": format!("{local}timestamp-{unit}")})
            }
            DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
                if *scale < 0 {
                    return Err(unsupported("Avro decimals have no negative scale"));
                }
                let mut decimal =
                    json!({"logicalType": "decimal", "precision": precision, "scale": scale});
                match metadata.get(SIZE_KEY).and_then(|s| s.parse::<usize>().ok()) {
                    Some(size) => {
                        decimal["type"] = json!("fixed");
                        decimal["size"] = json!(size);
                        return Ok(self.named(field, parent, decimal));
                    }
                    None => {
                        decimal["type"] = json!("bytes");
                        decimal
                    }
                }
            }
            DataType::Interval(IntervalUnit::MonthDayNano) => {
                let duration = json!({"type": "fixed", "size": 12, "logicalType": "duration"});
                return Ok(self.named(field, parent, duration));
            }
            DataType::Struct(children) => {
                let record_name = self.name_for(field, parent);
                if let Some(reference) = self.repeat(&record_name, field) {
                    return Ok(reference);
                }
                self.defined
                    .insert(record_name.clone(), Some(field.data_type().clone()));
                let short = record_name
                    .rsplit('.')
                    .next()
                    .unwrap_or(&record_name)
                    .to_owned();
                let mut fields = Vec::with_capacity(children.len());
                for child in children {
                    fields.push(self.field(child, &short, &format!("{path}.{}", child.name()))?);
                }
                json!({"type": "record", "name": record_name, "fields": fields})
            }
            DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
                json!({"type": "array", "items": self.nested(item, parent, &format!("{path}[]"))?})
            }
            DataType::Map(entries, _) => {
                let DataType::Struct(kv) = entries.data_type() else {
                    return Err(unsupported("its entries are not a struct"));
                };
                let (Some(key), Some(value)) = (kv.first(), kv.get(1)) else {
                    return Err(unsupported("its entries lack a key or a value"));
                };
                if !matches!(
                    key.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) {
                    return Err(unsupported("Avro map keys are strings"));
                }
                json!({"type": "map", "values": self.nested(value, parent, &format!("{path}[]"))?})
            }
            DataType::Dictionary(_, values)
                if matches!(
                    values.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                match metadata
                    .get(SYMBOLS_KEY)
                    .and_then(|s| serde_json::from_str::<Vec<String>>(s).ok())
                {
                    Some(symbols) => {
                        let e = json!({"type": "enum", "symbols": symbols});
                        return Ok(self.named(field, parent, e));
                    }
                    None => json!("string"),
                }
            }
            DataType::Union(fields, _) => {
                let mut branches = Vec::with_capacity(fields.len());
                for (_, child) in fields.iter() {
                    if matches!(child.data_type(), DataType::Union(..)) {
                        return Err(unsupported("Avro unions cannot contain unions"));
                    }
                    branches.push(self.value_type(
                        child,
                        parent,
                        &format!("{path}<{}>", child.name()),
                    )?);
                }
                json!(branches)
            }
            _ => return Err(unsupported("cast it to a type Avro has")),
        })
    }

    /// A named type (`fixed`, `enum`, a fixed-based logical type) for
    /// `field`: a reference if the same name was written before for the same
    /// Arrow type, a new definition otherwise.
    fn named(&mut self, field: &Field, parent: &str, mut body: Value) -> Value {
        let name = self.name_for(field, parent);
        if let Some(reference) = self.repeat(&name, field) {
            return reference;
        }
        self.defined
            .insert(name.clone(), Some(field.data_type().clone()));
        body["name"] = json!(name);
        body
    }

    /// A reference to `name` if it was defined for the same type.
    fn repeat(&self, name: &str, field: &Field) -> Option<Value> {
        match self.defined.get(name) {
            Some(Some(data_type)) if data_type == field.data_type() => Some(json!(name)),
            _ => None,
        }
    }

    /// The name for a field's named type: the one it was decoded with, or
    /// one made from the field's name, made unique.
    fn name_for(&self, field: &Field, parent: &str) -> String {
        if let Some(name) = field.metadata().get(NAME_KEY) {
            let name = self.qualify(name);
            match self.defined.get(&name) {
                None => return name,
                Some(Some(data_type)) if data_type == field.data_type() => return name,
                _ => {}
            }
        }
        let base = sanitize(field.name());
        let mut candidate = self.qualify(&base);
        if self.defined.contains_key(&candidate) {
            candidate = self.qualify(&format!("{}_{base}", sanitize(parent)));
        }
        let mut n = 2;
        let stem = candidate.clone();
        while self.defined.contains_key(&candidate) {
            candidate = format!("{stem}_{n}");
            n += 1;
        }
        candidate
    }
}

impl SchemaWriter {
    /// The full name a name written in the schema resolves to: names
    /// without a namespace take the top-level record's.
    fn qualify(&self, name: &str) -> String {
        match &self.namespace {
            Some(ns) if !name.contains('.') => format!("{ns}.{name}"),
            _ => name.to_owned(),
        }
    }
}

/// A valid Avro name made from `text`: other characters become `_`, and a
/// leading digit gets a `_` before it.
fn sanitize(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// Checks a field or record name against Avro's rules.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid Avro name (letters, digits and `_`, not starting with a digit)"
        ))
    }
}
