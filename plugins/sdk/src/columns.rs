//! Columns by dotted path: `amount` is a top-level column, `customer.email`
//! the `email` field of the struct column `customer`.
//!
//! A column whose own name contains a dot is found by that name first, so a
//! top-level column called `a.b` wins over the field `b` of a struct `a`.
//!
//! A nested field read through [`find_column`] is null wherever one of the
//! structs around it is null, whatever the child array holds there.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray, make_array};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, Schema};

/// Find the column at `path`, or `None` if the batch has no such column.
///
/// # Errors
///
/// When the path goes through a column that is not a struct
/// ("field `a.b`: `a` is int64, not a struct").
pub fn find_column(batch: &RecordBatch, path: &str) -> Result<Option<ArrayRef>, String> {
    if let Some(column) = batch.column_by_name(path) {
        return Ok(Some(Arc::clone(column)));
    }
    let mut segments = path.split('.');
    let Some(first) = segments.next() else {
        return Ok(None);
    };
    let Some(mut current) = batch.column_by_name(first).cloned() else {
        return Ok(None);
    };
    let mut walked = first.len();
    for segment in segments {
        let parent = as_struct(&current, path, &path[..walked])?;
        let Some(child) = parent.column_by_name(segment) else {
            return Ok(None);
        };
        current = with_parent_nulls(child, parent.nulls())?;
        walked += 1 + segment.len();
    }
    Ok(Some(current))
}

/// The column at `path`, which must exist.
///
/// # Errors
///
/// When it does not: "field `x` is not in the batch; its columns are: `a`,
/// `b`" (or the fields of the struct the path stopped in), or when the path
/// goes through a column that is not a struct.
pub fn column(batch: &RecordBatch, path: &str) -> Result<ArrayRef, String> {
    find_column(batch, path)?.ok_or_else(|| not_found(batch, path))
}

/// Replace the column at `path` with `array`, rebuilding the structs around
/// it. The new column may have another type than the old one.
///
/// # Errors
///
/// When the column does not exist (see [`column`]), or `array` has another
/// length than the batch.
pub fn replace_column(
    batch: &RecordBatch,
    path: &str,
    array: ArrayRef,
) -> Result<RecordBatch, String> {
    if array.len() != batch.num_rows() {
        return Err(format!(
            "the new column for field `{path}` has {} rows but the batch has {}",
            array.len(),
            batch.num_rows()
        ));
    }
    let schema = batch.schema();
    let (index, rest): (usize, Vec<&str>) = match schema.index_of(path) {
        Ok(index) => (index, Vec::new()),
        Err(_) => {
            let mut segments = path.split('.');
            let first = segments.next().unwrap_or(path);
            let index = schema.index_of(first).map_err(|_| not_found(batch, path))?;
            (index, segments.collect())
        }
    };
    let top = &batch.columns()[index];
    let prefix_len = schema.field(index).name().len();
    let replaced = replace_in(top, &rest, array, path, prefix_len).map_err(|e| match e {
        Missing => not_found(batch, path),
        Message(m) => m,
    })?;

    let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
    fields[index] = Arc::new(retyped(&fields[index], &replaced));
    let mut columns = batch.columns().to_vec();
    columns[index] = replaced;
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns)
        .map_err(|e| format!("cannot rebuild the batch after replacing field `{path}`: {e}"))
}

/// Why [`replace_in`] failed.
enum ReplaceError {
    /// A segment of the path is not there.
    Missing,
    /// Any other problem, in words.
    Message(String),
}
use ReplaceError::{Message, Missing};

/// Replace the child at `segments` below `array`; `walked` is how much of
/// `path` names `array` itself.
fn replace_in(
    array: &ArrayRef,
    segments: &[&str],
    new: ArrayRef,
    path: &str,
    walked: usize,
) -> Result<ArrayRef, ReplaceError> {
    let Some((segment, rest)) = segments.split_first() else {
        return Ok(new);
    };
    let parent = as_struct(array, path, &path[..walked]).map_err(Message)?;
    let (fields, mut children, nulls) = parent.clone().into_parts();
    let index = fields.find(segment).map(|(i, _)| i).ok_or(Missing)?;
    let child = replace_in(
        &children[index],
        rest,
        new,
        path,
        walked + 1 + segment.len(),
    )?;
    let mut new_fields: Vec<Arc<Field>> = fields.iter().cloned().collect();
    new_fields[index] = Arc::new(retyped(&new_fields[index], &child));
    children[index] = child;
    let rebuilt = StructArray::try_new(Fields::from(new_fields), children, nulls).map_err(|e| {
        Message(format!(
            "cannot rebuild the struct around field `{path}`: {e}"
        ))
    })?;
    Ok(Arc::new(rebuilt))
}

/// `field` with the type of `array`, nullable if `array` has nulls.
fn retyped(field: &Field, array: &ArrayRef) -> Field {
    field
        .clone()
        .with_data_type(array.data_type().clone())
        .with_nullable(field.is_nullable() || array.null_count() > 0)
}

/// `array` as a struct, or an error naming the part of the path that is not.
fn as_struct<'a>(array: &'a ArrayRef, path: &str, walked: &str) -> Result<&'a StructArray, String> {
    array.as_any().downcast_ref::<StructArray>().ok_or_else(|| {
        format!(
            "field `{path}`: `{walked}` is {}, not a struct",
            type_name(array.data_type())
        )
    })
}

/// `child` with the nulls of its parent struct added.
fn with_parent_nulls(child: &ArrayRef, parent: Option<&NullBuffer>) -> Result<ArrayRef, String> {
    let Some(parent) = parent.filter(|n| n.null_count() > 0) else {
        return Ok(Arc::clone(child));
    };
    let nulls = NullBuffer::union(Some(parent), child.nulls());
    let data = child
        .to_data()
        .into_builder()
        .nulls(nulls)
        .build()
        .map_err(|e| format!("cannot apply the nulls of a struct to its field: {e}"))?;
    Ok(make_array(data))
}

/// The message for a path that names no column.
fn not_found(batch: &RecordBatch, path: &str) -> String {
    let schema = batch.schema();
    // Find the deepest struct the path reaches, to list what it does hold.
    let mut fields = schema.fields().clone();
    let mut inside = None;
    let mut walked = 0;
    if schema.index_of(path).is_err() {
        for segment in path.split('.') {
            let Some((_, field)) = fields.find(segment) else {
                break;
            };
            let DataType::Struct(children) = field.data_type() else {
                break;
            };
            walked += segment.len() + usize::from(walked > 0);
            inside = Some(&path[..walked]);
            fields = children.clone();
        }
    }
    let names = fields
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect::<Vec<_>>()
        .join(", ");
    match inside {
        Some(parent) if parent != path => {
            format!("field `{path}` is not in the batch; struct `{parent}` has fields: {names}")
        }
        _ => format!("field `{path}` is not in the batch; its columns are: {names}"),
    }
}

/// A short, lowercase name of an Arrow type for messages: `int64`, `utf8`,
/// `struct`, `list<utf8>`.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Struct(_) => "struct".to_owned(),
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
            format!("list<{}>", type_name(item.data_type()))
        }
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use arrow_buffer::NullBuffer;

    /// `id: int64, customer: struct<email: utf8, address: struct<city: utf8>>`
    fn batch() -> RecordBatch {
        let city: ArrayRef = Arc::new(StringArray::from(vec![Some("Oslo"), Some("Bergen"), None]));
        let address = StructArray::from(vec![(
            Arc::new(Field::new("city", DataType::Utf8, true)),
            city,
        )]);
        let email: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a@x"),
            Some("b@x"),
            Some("c@x"),
        ]));
        let customer = StructArray::try_new(
            Fields::from(vec![
                Field::new("email", DataType::Utf8, true),
                Field::new("address", address.data_type().clone(), true),
            ]),
            vec![email, Arc::new(address)],
            Some(NullBuffer::from(vec![true, false, true])),
        )
        .unwrap();
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
            ("customer", Arc::new(customer) as ArrayRef),
        ])
        .unwrap()
    }

    fn strings(array: &ArrayRef) -> Vec<Option<&str>> {
        array
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .iter()
            .collect()
    }

    #[test]
    fn finds_nested_fields_with_the_nulls_of_their_parents() {
        let batch = batch();
        let email = column(&batch, "customer.email").unwrap();
        assert_eq!(strings(&email), vec![Some("a@x"), None, Some("c@x")]);
        let city = column(&batch, "customer.address.city").unwrap();
        assert_eq!(strings(&city), vec![Some("Oslo"), None, None]);
        assert_eq!(find_column(&batch, "customer.phone").unwrap(), None);
    }

    #[test]
    fn missing_fields_list_what_is_there() {
        let batch = batch();
        assert_eq!(
            column(&batch, "amount").unwrap_err(),
            "field `amount` is not in the batch; its columns are: `id`, `customer`"
        );
        assert_eq!(
            column(&batch, "customer.address.zip").unwrap_err(),
            "field `customer.address.zip` is not in the batch; \
             struct `customer.address` has fields: `city`"
        );
        assert_eq!(
            column(&batch, "id.x").unwrap_err(),
            "field `id.x`: `id` is int64, not a struct"
        );
    }

    #[test]
    fn replaces_nested_fields() {
        let batch = batch();
        let new: ArrayRef = Arc::new(StringArray::from(vec!["X", "Y", "Z"]));
        let out = replace_column(&batch, "customer.address.city", new).unwrap();
        let city = column(&out, "customer.address.city").unwrap();
        assert_eq!(strings(&city), vec![Some("X"), None, Some("Z")]);
        // The rest is untouched, including the struct's own nulls.
        let email = column(&out, "customer.email").unwrap();
        assert_eq!(strings(&email), vec![Some("a@x"), None, Some("c@x")]);
        assert_eq!(out.schema(), batch.schema());

        let ids: ArrayRef = Arc::new(StringArray::from(vec!["1", "2", "3"]));
        let out = replace_column(&batch, "id", ids).unwrap();
        assert_eq!(out.schema().field(0).data_type(), &DataType::Utf8);
    }

    #[test]
    fn replace_checks_the_path_and_length() {
        let batch = batch();
        let new: ArrayRef = Arc::new(StringArray::from(vec!["X", "Y", "Z"]));
        assert_eq!(
            replace_column(&batch, "customer.nope", Arc::clone(&new)).unwrap_err(),
            "field `customer.nope` is not in the batch; struct `customer` has fields: `email`, `address`"
        );
        assert_eq!(
            replace_column(&batch, "id.x", new).unwrap_err(),
            "field `id.x`: `id` is int64, not a struct"
        );
        let short: ArrayRef = Arc::new(StringArray::from(vec!["X"]));
        assert_eq!(
            replace_column(&batch, "id", short).unwrap_err(),
            "the new column for field `id` has 1 rows but the batch has 3"
        );
    }
}
