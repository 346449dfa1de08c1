//! The filter plugin: keep the rows of a batch where a field compares true
//! with a value.
//!
//! ```yaml
//! transforms:
//!   - plugin: plugins/filter.wasm
//!     config: { field: customer.age, op: ">=", value: 18 }
//! ```
//!
//! - `field` is a dotted path into struct columns.
//! - `op` is one of `==`, `!=`, `>`, `>=`, `<`, `<=`.
//! - `value` is a JSON number, string or boolean. Numbers compare with
//!   integer and float columns by their numeric value (`amount > 100` works
//!   whether `amount` is `int32` or `float64`, and an integer column is
//!   compared exactly with a value such as `2.5`). A float column compares in
//!   its own precision (`value: 0.1` matches the `float32` value `0.1`), with
//!   NaN above every number. Strings compare with string columns byte by byte
//!   (lexicographically), booleans with boolean columns (`false < true`).
//!
//! Rows where the field is null are dropped, whatever the operator, as in
//! SQL. A column type that cannot be compared with the value is an error
//! naming both.
//!
//! With `otherwise: reject`, the rows that do not pass are not dropped but
//! rejected as bad records, with a reason naming the field and the test
//! they failed, so the pipeline's dead-letter path receives them: a
//! validation step rather than a filter.

use arrow_array::types::{
    ArrowPrimitiveType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Datum, LargeStringArray, PrimitiveArray, RecordBatch,
    StringArray, StringViewArray,
};
use arrow_schema::DataType;
use sabot_plugin_sdk::columns::type_name;
use sabot_plugin_sdk::{BatchTransform, Config, ConfigField, FieldType, Info, Output};
use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// The operators as written in a pipeline file.
const OPS: [&str; 6] = ["==", "!=", ">", ">=", "<", "<="];

impl Op {
    /// The operator written as `text`, one of [`OPS`].
    fn parse(text: &str) -> Option<Op> {
        Some(match text {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            _ => return None,
        })
    }

    /// Whether `ordering` (of the column value against the filter value)
    /// satisfies the operator.
    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Op::Eq => ordering == Equal,
            Op::Ne => ordering != Equal,
            Op::Gt => ordering == Greater,
            Op::Ge => ordering != Less,
            Op::Lt => ordering == Less,
            Op::Le => ordering != Greater,
        }
    }
}

/// The value a field is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A JSON integer (any that fits `i64` or `u64`).
    Integer(i128),
    /// A JSON number with a fraction or exponent.
    Float(f64),
    /// A JSON string.
    String(String),
    /// A JSON boolean.
    Bool(bool),
}

impl Operand {
    /// The operand a config `value` gives, or the config error.
    fn from_json(value: &Value) -> Result<Operand, String> {
        match value {
            Value::Bool(b) => Ok(Operand::Bool(*b)),
            Value::String(s) => Ok(Operand::String(s.clone())),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Operand::Integer(i128::from(i)))
                } else if let Some(u) = n.as_u64() {
                    Ok(Operand::Integer(i128::from(u)))
                } else {
                    n.as_f64()
                        .map(Operand::Float)
                        .ok_or_else(|| format!("config key `value` is not a usable number: `{n}`"))
                }
            }
            other => Err(format!(
                "config key `value` must be a number, a string or a boolean; got {}",
                sabot_plugin_sdk::config::describe_value(other)
            )),
        }
    }

    /// The operand as written in a pipeline file: `100`, `"gold"`.
    fn text(&self) -> String {
        match self {
            Operand::Integer(i) => i.to_string(),
            Operand::Float(f) => f.to_string(),
            Operand::String(s) => format!("{s:?}"),
            Operand::Bool(b) => b.to_string(),
        }
    }

    /// The operand in words, for messages: "the number `100`".
    fn describe(&self) -> String {
        match self {
            Operand::Integer(i) => format!("the number `{i}`"),
            Operand::Float(f) => format!("the number `{f}`"),
            Operand::String(s) => format!("the string `{s}`"),
            Operand::Bool(b) => format!("the boolean `{b}`"),
        }
    }
}

/// A configured filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The dotted path of the field compared.
    pub field: String,
    /// How it is compared.
    pub op: Op,
    /// What it is compared with.
    pub value: Operand,
    /// Whether rows that fail are rejected (`otherwise: reject`) rather
    /// than dropped.
    pub reject: bool,
}

impl Filter {
    /// Keep the rows of `batch` where the comparison holds.
    ///
    /// # Errors
    ///
    /// When the field is missing or its type cannot be compared with the
    /// value.
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, String> {
        let column = sabot_plugin_sdk::column(batch, &self.field)?;
        let keep = self.predicate(&column)?;
        arrow_select::filter::filter_record_batch(batch, &keep)
            .map_err(|e| format!("cannot filter the batch on field `{}`: {e}", self.field))
    }

    /// The rows where the comparison holds; null where the field is null
    /// (which the filter kernel drops).
    fn predicate(&self, column: &ArrayRef) -> Result<BooleanArray, String> {
        let op = self.op;
        let mismatch = || {
            format!(
                "field `{}` is {} and cannot be compared with {}",
                self.field,
                type_name(column.data_type()),
                self.value.describe()
            )
        };
        match (column.data_type(), &self.value) {
            (DataType::Int8, Operand::Integer(_) | Operand::Float(_)) => {
                int::<Int8Type>(column, op, &self.value)
            }
            (DataType::Int16, Operand::Integer(_) | Operand::Float(_)) => {
                int::<Int16Type>(column, op, &self.value)
            }
            (DataType::Int32, Operand::Integer(_) | Operand::Float(_)) => {
                int::<Int32Type>(column, op, &self.value)
            }
            (DataType::Int64, Operand::Integer(_) | Operand::Float(_)) => {
                int::<Int64Type>(column, op, &self.value)
            }
            (DataType::UInt8, Operand::Integer(_) | Operand::Float(_)) => {
                int::<UInt8Type>(column, op, &self.value)
            }
            (DataType::UInt16, Operand::Integer(_) | Operand::Float(_)) => {
                int::<UInt16Type>(column, op, &self.value)
            }
            (DataType::UInt32, Operand::Integer(_) | Operand::Float(_)) => {
                int::<UInt32Type>(column, op, &self.value)
            }
            (DataType::UInt64, Operand::Integer(_) | Operand::Float(_)) => {
                int::<UInt64Type>(column, op, &self.value)
            }
            (DataType::Float16, Operand::Integer(_) | Operand::Float(_)) => {
                let v = half::f16::from_f64(as_f64(&self.value));
                compare(column, &PrimitiveArray::<Float16Type>::new_scalar(v), op)
            }
            (DataType::Float32, Operand::Integer(_) | Operand::Float(_)) => {
                // Rounding to the column's precision is the point: see the
                // module docs.
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "compare in the column's precision"
                )]
                let v = as_f64(&self.value) as f32;
                compare(column, &PrimitiveArray::<Float32Type>::new_scalar(v), op)
            }
            (DataType::Float64, Operand::Integer(_) | Operand::Float(_)) => compare(
                column,
                &PrimitiveArray::<Float64Type>::new_scalar(as_f64(&self.value)),
                op,
            ),
            (DataType::Utf8, Operand::String(s)) => {
                compare(column, &StringArray::new_scalar(s), op)
            }
            (DataType::LargeUtf8, Operand::String(s)) => {
                compare(column, &LargeStringArray::new_scalar(s), op)
            }
            (DataType::Utf8View, Operand::String(s)) => {
                compare(column, &StringViewArray::new_scalar(s), op)
            }
            (DataType::Boolean, Operand::Bool(b)) => {
                compare(column, &BooleanArray::new_scalar(*b), op)
            }
            _ => Err(mismatch()),
        }
    }
}

/// A number operand as `f64` (exact for every float, nearest for integers).
#[allow(
    clippy::cast_precision_loss,
    reason = "only used to compare with float columns"
)]
fn as_f64(value: &Operand) -> f64 {
    match value {
        Operand::Integer(i) => *i as f64,
        Operand::Float(f) => *f,
        Operand::String(_) | Operand::Bool(_) => f64::NAN,
    }
}

/// Compare an array with a scalar using Arrow's kernels.
fn compare(column: &ArrayRef, scalar: &dyn Datum, op: Op) -> Result<BooleanArray, String> {
    use arrow_ord::cmp;
    let result = match op {
        Op::Eq => cmp::eq(column, scalar),
        Op::Ne => cmp::neq(column, scalar),
        Op::Gt => cmp::gt(column, scalar),
        Op::Ge => cmp::gt_eq(column, scalar),
        Op::Lt => cmp::lt(column, scalar),
        Op::Le => cmp::lt_eq(column, scalar),
    };
    result.map_err(|e| format!("cannot compare: {e}"))
}

/// Compare an integer column with a number exactly.
///
/// A value with a fraction is turned into an equivalent integer comparison
/// (`x > 2.5` is `x > 2`, `x < 2.5` is `x <= 2`, `x == 2.5` is never true),
/// and a value outside the column type's range gives the same answer for
/// every non-null row.
fn int<T>(column: &ArrayRef, op: Op, value: &Operand) -> Result<BooleanArray, String>
where
    T: ArrowPrimitiveType,
    T::Native: TryFrom<i128> + Into<i128>,
{
    let (op, bound) = match *value {
        Operand::Integer(i) => (op, i),
        Operand::Float(f) if f.is_nan() => return Ok(constant(column, op == Op::Ne)),
        Operand::Float(f) if f.fract() == 0.0 => (op, float_to_i128(f)),
        Operand::Float(f) => {
            let floor = float_to_i128(f.floor());
            match op {
                Op::Eq => return Ok(constant(column, false)),
                Op::Ne => return Ok(constant(column, true)),
                Op::Gt | Op::Ge => (Op::Gt, floor),
                Op::Lt | Op::Le => (Op::Le, floor),
            }
        }
        Operand::String(_) | Operand::Bool(_) => return Ok(constant(column, false)),
    };
    match T::Native::try_from(bound) {
        Ok(native) => compare(column, &PrimitiveArray::<T>::new_scalar(native), op),
        Err(_) => {
            // Every value of the column is on the same side of the bound.
            let zero: i128 = T::default_value().into();
            let ordering = zero.cmp(&bound);
            Ok(constant(column, op.holds(ordering)))
        }
    }
}

/// `f` (integral or infinite) as `i128`, saturating.
#[allow(
    clippy::cast_possible_truncation,
    reason = "saturating is what is wanted"
)]
fn float_to_i128(f: f64) -> i128 {
    f as i128
}

/// The same answer for every row, null where the column is null.
fn constant(column: &ArrayRef, value: bool) -> BooleanArray {
    let values = arrow_array::builder::BooleanBufferBuilder::new(column.len());
    let mut values = values;
    values.append_n(column.len(), value);
    BooleanArray::new(values.finish(), column.logical_nulls())
}

impl BatchTransform for Filter {
    fn describe() -> Info {
        Info::new(
            "filter",
            env!("CARGO_PKG_VERSION"),
            "Keeps the rows where a field compares true with a value; rows where it is null are dropped.",
        )
        .field(ConfigField::required(
            "field",
            FieldType::String,
            "The field to compare, as a dotted path into struct columns, e.g. `customer.age`.",
        ))
        .field(ConfigField::required(
            "op",
            FieldType::String,
            "The comparison: one of `==`, `!=`, `>`, `>=`, `<`, `<=`.",
        ))
        .field(ConfigField::required(
            "value",
            FieldType::Any,
            "The number, string or boolean to compare the field with.",
        ))
        .field(ConfigField::optional(
            "otherwise",
            FieldType::String,
            Some("\"drop\""),
            "What happens to rows that fail: `drop` them, or `reject` them as bad records.",
        ))
    }

    fn init(config: &Config) -> Result<Self, String> {
        let field = config.required_str("field")?.to_owned();
        if field.is_empty() {
            return Err("config key `field` must name a field; got an empty string".to_owned());
        }
        let op = config
            .one_of("op", &OPS)?
            .and_then(Op::parse)
            .ok_or_else(|| "config key `op` is required".to_owned())?;
        let value = Operand::from_json(config.require("value")?)?;
        let reject = config.one_of("otherwise", &["drop", "reject"])? == Some("reject");
        Ok(Filter {
            field,
            op,
            value,
            reject,
        })
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<Output, String> {
        if !self.reject {
            return self.apply(&batch).map(Output::keep);
        }
        let column = sabot_plugin_sdk::column(&batch, &self.field)?;
        let keep = self.predicate(&column)?;
        let op = OPS[self.op as usize];
        let mut rejected = Vec::new();
        for row in 0..keep.len() {
            let reason = if column.is_null(row) {
                format!("field `{}` is null", self.field)
            } else if keep.is_null(row) || !keep.value(row) {
                format!("field `{}` is not {op} {}", self.field, self.value.text())
            } else {
                continue;
            };
            let row = u32::try_from(row).map_err(|_| "the batch has too many rows".to_owned())?;
            rejected.push((row, reason));
        }
        let batch = arrow_select::filter::filter_record_batch(
            &batch,
            &arrow_array::BooleanArray::from(
                (0..keep.len())
                    .map(|i| Some(!keep.is_null(i) && keep.value(i)))
                    .collect::<Vec<_>>(),
            ),
        )
        .map_err(|e| format!("cannot filter the batch on field `{}`: {e}", self.field))?;
        Ok(Output { batch, rejected })
    }
}

sabot_plugin_sdk::export_batch_plugin!(Filter);

#[cfg(test)]
mod tests;
