//! Record values to Arrow and back: schema specs, JSON decoding, schema
//! inference and JSON encoding. Everything here is sans-IO: bytes in, Arrow
//! out (and the reverse), no Kafka types, so it can be fuzzed and measured on
//! its own.
//!
//! # Design
//!
//! - [`schema`] turns the `schema:` spec of a pipeline file into an Arrow
//!   [`Schema`](arrow_schema::Schema), listing every problem with its path,
//!   and writes Arrow types back in the same grammar for messages and
//!   `sabot validate`.
//! - [`json::JsonDecoder`] decodes a batch of values at a time. Each value is
//!   parsed with simd-json into a tape held in reused buffers, then the tape
//!   is walked once against the schema, appending straight into column
//!   builders that can be truncated, so a bad record is taken back out and
//!   reported on its own (with the path of the field at fault) while the
//!   rest of the batch decodes. Field lookup tries the next field of the
//!   schema before hashing, since producers usually write fields in order.
//! - [`infer::infer_schema`] derives a schema from sample values: the union
//!   of their fields, with values whose kinds conflict kept as `json`.
//! - [`encode::JsonEncoder`] writes each row of a batch as one compact JSON
//!   object of its value columns (metadata columns, named `__…`, are left
//!   out) into one buffer with the end offset of every row, so a Kafka sink
//!   can slice a message per row and a file sink can write lines. It checks
//!   a schema's types once, not per row.
//!
//! `json` columns (a `utf8` field with the extension name `sabot.json`) are
//! the escape hatch for values the schema does not pin down: the decoder
//! keeps the value's JSON text and the encoder writes it back unquoted.

pub mod avro;
mod columns;
pub mod encode;
pub mod infer;
pub mod json;
pub mod json_schema;
pub mod protobuf;
pub mod schema;
mod text;

pub use encode::{EncodeError, JsonEncoder};
pub use infer::{InferError, infer_schema};
pub use json::{Decoded, JsonDecoder, JsonOptions, RowError, UnknownFields, UnsupportedSchema};
pub use schema::{SchemaError, format_type, parse_schema};

#[cfg(test)]
mod tests;
