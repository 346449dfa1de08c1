//! A Confluent-compatible schema registry: a client, and one Sabot serves.
//!
//! Confluent's serializers put a schema id in front of every value (see
//! [`wire`](super::wire)); the registry maps the id to the schema text.
//! This module holds both ends of that conversation:
//!
//! - [`client`]: a blocking [`RegistryClient`] for the REST API of any
//!   Confluent-compatible registry (Confluent's own, Redpanda's, Karapace,
//!   or Sabot's). Schemas are cached by id, so after the first fetch a
//!   record costs no HTTP call; references are resolved recursively; an
//!   unreachable registry is retried with backoff and reported as an
//!   outage.
//! - [`server`]: the embedded registry, an axum [`Router`](axum::Router)
//!   with the subset of the API that Confluent's serializers and common
//!   tools use, served by `sabot serve --registry-listen` and kept in a
//!   state folder ([`store`]) across restarts. Schemas are checked on
//!   registration and against earlier versions ([`compat`]); refusals
//!   carry Confluent's error codes ([`request`]).
//!
//! The types here are what both ends share: a [`RegisteredSchema`] is what
//! an id stands for, whichever end produced it.
//!
//! ```text
//! sabot serve --registry-listen 127.0.0.1:8081 --registry-state state/registry
//! curl -s localhost:8081/subjects/orders-value/versions \
//!   -H 'content-type: application/vnd.schemaregistry.v1+json' \
//!   -d '{"schema": "{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}'
//! {"id":1}
//! ```

pub mod client;
pub mod compat;
mod input;
pub mod request;
pub mod server;
pub mod store;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use client::{Auth, ClientConfig, RegistryClient, SubjectVersion};
pub use server::{
    RegistryOptions, RegistryServer, RegistryState, router, serve_registry, serve_registry_with,
};

/// The content type of the registry's REST API, sent with every request
/// and answer.
pub const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// The kind of a registered schema. Confluent leaves `schemaType` out for
/// Avro, so an absent type means [`SchemaType::Avro`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SchemaType {
    /// An Avro schema: JSON text.
    #[default]
    #[serde(rename = "AVRO")]
    Avro,
    /// A Protobuf schema: the text of a `.proto` file.
    #[serde(rename = "PROTOBUF")]
    Protobuf,
    /// A JSON Schema: JSON text.
    #[serde(rename = "JSON")]
    Json,
}

impl SchemaType {
    /// The name the REST API uses: `AVRO`, `PROTOBUF` or `JSON`.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Protobuf => "PROTOBUF",
            SchemaType::Json => "JSON",
        }
    }

    /// The type named `name`, in any case, as the REST API spells it.
    pub fn parse(name: &str) -> Option<SchemaType> {
        match name.to_ascii_uppercase().as_str() {
            "AVRO" => Some(SchemaType::Avro),
            "PROTOBUF" => Some(SchemaType::Protobuf),
            "JSON" => Some(SchemaType::Json),
            _ => None,
        }
    }

    /// Whether this is the type an absent `schemaType` means.
    pub fn is_avro(&self) -> bool {
        *self == SchemaType::Avro
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A schema that a schema depends on: an Avro named type defined in
/// another subject, or a file a Protobuf schema imports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SchemaReference {
    /// How the referring schema names it: the full name of an Avro type
    /// (`com.example.Address`) or the import path of a `.proto` file
    /// (`address.proto`).
    pub name: String,
    /// The subject it is registered under.
    pub subject: String,
    /// Its version in that subject.
    pub version: u32,
}

/// What a schema id stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSchema {
    /// The registry's id, the one in the wire format's header.
    pub id: u32,
    /// Avro, Protobuf or JSON Schema.
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "SchemaType::is_avro"
    )]
    pub schema_type: SchemaType,
    /// The schema's text.
    pub schema: String,
    /// The schemas it depends on, in the order the registry lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

/// Why a registry call failed, classified the way a pipeline acts on it:
/// [`NotFound`](RegistryError::NotFound) is a bad record,
/// [`Unavailable`](RegistryError::Unavailable) an outage to wait out, the
/// others a setup the operator must fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry does not know the schema, subject or version.
    #[error("{what} not found at {url}")]
    NotFound {
        /// What was looked for: "schema id 42", "subject `orders-value`".
        what: String,
        /// The registry's base URL.
        url: String,
    },
    /// The registry could not be reached, or answered 5xx or 429, until
    /// the retries' time ran out.
    #[error(
        "the schema registry at {url} is unavailable after {attempts} attempt(s): {reason}; check that it runs and is reachable"
    )]
    Unavailable {
        /// The registry's base URL.
        url: String,
        /// How many requests were tried.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The registry answered a request with a 4xx status other than "not
    /// found": an incompatible or invalid schema, a bad credential.
    #[error(
        "the schema registry at {url} refused {request} (HTTP {status}, error {error_code}): {message}"
    )]
    Refused {
        /// The registry's base URL.
        url: String,
        /// The request, as `METHOD /path`.
        request: String,
        /// The HTTP status.
        status: u16,
        /// The registry's `error_code` (the status when it sent none).
        error_code: i64,
        /// The registry's `message`.
        message: String,
    },
    /// The registry answered with a body that is not what the API
    /// describes: the URL probably points at something else.
    #[error(
        "the schema registry at {url} answered {request} with {reason}; check that the URL is a schema registry's"
    )]
    BadAnswer {
        /// The registry's base URL.
        url: String,
        /// The request, as `METHOD /path`.
        request: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The client or server is set up wrongly: a bad URL, an unreadable CA
    /// file, a state folder that cannot be used.
    #[error("{0}")]
    Invalid(String),
}

impl RegistryError {
    /// Whether the failure is an outage that may pass by itself.
    pub fn is_outage(&self) -> bool {
        matches!(self, RegistryError::Unavailable { .. })
    }

    /// Whether the failure is an id, subject or version the registry does
    /// not know.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_type_is_avro_when_absent() {
        let schema: RegisteredSchema =
            serde_json::from_str(r#"{"id": 3, "schema": "\"string\""}"#).expect("a schema");
        assert_eq!(
            schema,
            RegisteredSchema {
                id: 3,
                schema_type: SchemaType::Avro,
                schema: "\"string\"".to_owned(),
                references: Vec::new(),
            }
        );
        assert_eq!(
            serde_json::to_string(&schema).expect("json"),
            r#"{"id":3,"schema":"\"string\""}"#
        );
    }

    #[test]
    fn schema_type_names_are_confluents() {
        let schema = RegisteredSchema {
            id: 1,
            schema_type: SchemaType::Protobuf,
            schema: "syntax = \"proto3\";".to_owned(),
            references: vec![SchemaReference {
                name: "a.proto".to_owned(),
                subject: "a".to_owned(),
                version: 2,
            }],
        };
        assert_eq!(
            serde_json::to_string(&schema).expect("json"),
            r#"{"id":1,"schemaType":"PROTOBUF","schema":"syntax = \"proto3\";","references":[{"name":"a.proto","subject":"a","version":2}]}"#
        );
        assert_eq!(SchemaType::parse("json"), Some(SchemaType::Json));
        assert_eq!(SchemaType::parse("xml"), None);
    }

    #[test]
    fn not_found_names_the_id_and_the_url() {
        let error = RegistryError::NotFound {
            what: "schema id 42".to_owned(),
            url: "http://127.0.0.1:8081".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "schema id 42 not found at http://127.0.0.1:8081"
        );
        assert!(error.is_not_found());
        assert!(!error.is_outage());
    }
}
