//! Sabot: a connector host that moves records from Kafka through Arrow
//! batches and WebAssembly transforms into sinks.

pub mod config;
pub mod format;
pub mod record;
pub mod transform;
