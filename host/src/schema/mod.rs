//! Schema'd record values: the Confluent wire format and the schema
//! registry that gives its ids meaning.

pub mod codec;
pub mod proto_text;
pub mod registry;
pub mod wire;
