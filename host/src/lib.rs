//! Sabot: a connector host that moves records from Kafka through Arrow
//! batches and WebAssembly transforms into sinks.
//!
//! The data path, and the module for each step:
//!
//! ```text
//! config (YAML model) → plan (resolved, checked) → source (Kafka, datagen)
//!   → format (JSON ↔ Arrow, sans-IO) → transform (wasmtime components)
//!   → sink (Kafka, JSON lines) ← runtime (tasks, acks, commits, errors)
//! ```
//!
//! `cli` is the `sabot` binary's command line; `embedded` is the in-memory
//! broker of the quickstart.

pub mod api;
pub mod authoring;
pub mod cli;
pub mod config;
pub mod embedded;
pub mod format;
pub mod plan;
pub mod record;
pub mod runtime;
pub mod schema;
pub mod sink;
pub mod source;
pub mod transform;
pub mod worker;
