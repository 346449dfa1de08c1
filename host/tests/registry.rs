//! The schema registry: the embedded server's REST API in-process (its
//! router called with `tower::ServiceExt::oneshot`, no socket), and the
//! client against servers on 127.0.0.1 (the embedded registry on port 0,
//! small hand-made servers for outages, cycles and TLS).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use sabot::schema::registry::server::{MAX_BODY_BYTES, RegistryOptions};
use sabot::schema::registry::{
    Auth, ClientConfig, RegisteredSchema, RegistryClient, RegistryError, RegistryState,
    SchemaReference, SchemaType, SubjectVersion, router, serve_registry,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const CT: &str = "application/vnd.schemaregistry.v1+json";

const ORDER_V1: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"}]}"#;
const ORDER_V2: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string","default":""}]}"#;
/// v2 with `note` lacking a default: forward but not backward compatible.
const ORDER_NO_DEFAULT: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"note","type":"string"}]}"#;
/// `id` as a string: neither backward nor forward compatible.
const ORDER_STRING_ID: &str =
    r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}"#;

// --- In-process harness --------------------------------------------------------

/// A registry in memory (or in `dir`), called in-process.
struct Registry {
    app: Router,
}

impl Registry {
    fn new() -> Registry {
        Registry::with(RegistryOptions::default())
    }

    fn with(options: RegistryOptions) -> Registry {
        let state = RegistryState::new(options).expect("the registry starts");
        Registry { app: router(state) }
    }

    /// Send a request; `body` goes with the registry's content type.
    async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
        let headers: &[(&str, &str)] = if body.is_some() {
            &[("content-type", CT)]
        } else {
            &[]
        };
        let (status, _, text) = self.raw(method, uri, body, headers).await;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let request = request
            .body(Body::from(body.unwrap_or("").to_owned()))
            .expect("a request");
        let response = self.app.clone().oneshot(request).await.expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    /// Register an Avro schema under `subject`.
    async fn register(&self, subject: &str, schema: &str) -> (StatusCode, Value) {
        let body = json!({ "schema": schema }).to_string();
        self.call(
            "POST",
            &format!("/subjects/{subject}/versions"),
            Some(&body),
        )
        .await
    }

    async fn put_config(&self, path: &str, level: &str) -> (StatusCode, Value) {
        let body = json!({ "compatibility": level }).to_string();
        self.call("PUT", path, Some(&body)).await
    }
}

fn error(code: u32, message: &str) -> Value {
    json!({ "error_code": code, "message": message })
}

fn schema_body(schema: &str) -> String {
    json!({ "schema": schema }).to_string()
}

// --- Registering and reading --------------------------------------------------

#[tokio::test]
async fn register_then_read_by_id_subject_and_version() {
    let registry = Registry::new();
    assert_eq!(
        registry.register("orders-value", ORDER_V1).await,
        (StatusCode::OK, json!({ "id": 1 }))
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/1", None).await,
        (StatusCode::OK, json!({ "schema": ORDER_V1 }))
    );
    let (status, headers, text) = registry
        .raw("GET", "/schemas/ids/1/schema", None, &[])
        .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, ORDER_V1));
    assert_eq!(headers[header::CONTENT_TYPE], CT);
    assert_eq!(
        registry.call("GET", "/schemas/ids/1/versions", None).await,
        (
            StatusCode::OK,
            json!([{ "subject": "orders-value", "version": 1 }])
        )
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/1/subjects", None).await,
        (StatusCode::OK, json!(["orders-value"]))
    );
    assert_eq!(
        registry.call("GET", "/subjects", None).await,
        (StatusCode::OK, json!(["orders-value"]))
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/orders-value/versions", None)
            .await,
        (StatusCode::OK, json!([1]))
    );
    let version_1 = json!({
        "subject": "orders-value", "version": 1, "id": 1, "schema": ORDER_V1,
    });
    for version in ["1", "latest", "-1"] {
        assert_eq!(
            registry
                .call(
                    "GET",
                    &format!("/subjects/orders-value/versions/{version}"),
                    None
                )
                .await,
            (StatusCode::OK, version_1.clone()),
            "{version}"
        );
    }
    let (status, _, text) = registry
        .raw(
            "GET",
            "/subjects/orders-value/versions/latest/schema",
            None,
            &[],
        )
        .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, ORDER_V1));
    // `?subject=` and `?format=` are accepted.
    assert_eq!(
        registry
            .call("GET", "/schemas/ids/1?subject=orders-value&format=", None)
            .await,
        (StatusCode::OK, json!({ "schema": ORDER_V1 }))
    );
}

#[tokio::test]
async fn the_same_schema_keeps_its_id_across_subjects_and_registrations() {
    let registry = Registry::new();
    assert_eq!(registry.register("a", ORDER_V1).await.1, json!({ "id": 1 }));
    // Spacing does not make another schema.
    let spaced = ORDER_V1.replace(',', ", ");
    assert_eq!(registry.register("b", &spaced).await.1, json!({ "id": 1 }));
    assert_eq!(registry.register("a", ORDER_V2).await.1, json!({ "id": 2 }));
    // Registering a version the subject has gives its id, no new version.
    assert_eq!(registry.register("a", ORDER_V2).await.1, json!({ "id": 2 }));
    assert_eq!(registry.register("a", ORDER_V1).await.1, json!({ "id": 1 }));
    assert_eq!(
        registry.call("GET", "/subjects/a/versions", None).await.1,
        json!([1, 2])
    );
    assert_eq!(
        registry
            .call("GET", "/schemas/ids/1/versions", None)
            .await
            .1,
        json!([
            { "subject": "a", "version": 1 },
            { "subject": "b", "version": 1 },
        ])
    );
    assert_eq!(
        registry.call("GET", "/subjects", None).await.1,
        json!(["a", "b"])
    );
}

#[tokio::test]
async fn lookup_finds_the_version_holding_a_schema() {
    let registry = Registry::new();
    registry.register("orders-value", ORDER_V1).await;
    registry.register("orders-value", ORDER_V2).await;
    assert_eq!(
        registry
            .call(
                "POST",
                "/subjects/orders-value",
                Some(&schema_body(ORDER_V1))
            )
            .await,
        (
            StatusCode::OK,
            json!({ "subject": "orders-value", "version": 1, "id": 1, "schema": ORDER_V1 })
        )
    );
    assert_eq!(
        registry
            .call(
                "POST",
                "/subjects/orders-value?normalize=False&deleted=False",
                Some(&schema_body(ORDER_STRING_ID))
            )
            .await,
        (StatusCode::NOT_FOUND, error(40403, "Schema not found"))
    );
    assert_eq!(
        registry
            .call(
                "POST",
                "/subjects/refunds-value",
                Some(&schema_body(ORDER_V1))
            )
            .await,
        (
            StatusCode::NOT_FOUND,
            error(40401, "Subject 'refunds-value' not found.")
        )
    );
}

#[tokio::test]
async fn unknown_ids_subjects_and_versions_have_confluents_codes() {
    let registry = Registry::new();
    registry.register("orders-value", ORDER_V1).await;
    let cases = [
        ("/schemas/ids/42", 404, error(40403, "Schema 42 not found")),
        ("/schemas/ids/x", 404, error(40403, "Schema x not found")),
        (
            "/schemas/ids/42/versions",
            404,
            error(40403, "Schema 42 not found"),
        ),
        (
            "/subjects/nope/versions",
            404,
            error(40401, "Subject 'nope' not found."),
        ),
        (
            "/subjects/nope/versions/latest",
            404,
            error(40401, "Subject 'nope' not found."),
        ),
        (
            "/subjects/orders-value/versions/7",
            404,
            error(40402, "Version 7 not found."),
        ),
        (
            "/subjects/orders-value/versions/0",
            422,
            error(
                42202,
                "The specified version '0' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
            ),
        ),
        (
            "/subjects/orders-value/versions/first",
            422,
            error(
                42202,
                "The specified version 'first' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"",
            ),
        ),
        ("/nowhere", 404, error(404, "HTTP 404 Not Found")),
    ];
    for (uri, status, body) in cases {
        let (got_status, got_body) = registry.call("GET", uri, None).await;
        assert_eq!((got_status.as_u16(), got_body), (status, body), "{uri}");
    }
    assert_eq!(
        registry.call("PATCH", "/subjects", None).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            error(405, "HTTP 405 Method Not Allowed")
        )
    );
}

#[tokio::test]
async fn types_mode_and_root() {
    let registry = Registry::new();
    assert_eq!(
        registry.call("GET", "/schemas/types", None).await,
        (StatusCode::OK, json!(["JSON", "PROTOBUF", "AVRO"]))
    );
    assert_eq!(
        registry.call("GET", "/mode", None).await,
        (StatusCode::OK, json!({ "mode": "READWRITE" }))
    );
    assert_eq!(
        registry
            .call("GET", "/mode/orders-value?defaultToGlobal=true", None)
            .await,
        (StatusCode::OK, json!({ "mode": "READWRITE" }))
    );
    assert_eq!(
        registry.call("GET", "/mode/orders-value", None).await,
        (
            StatusCode::NOT_FOUND,
            error(
                40409,
                "Subject 'orders-value' does not have subject-level mode configured"
            )
        )
    );
    assert_eq!(
        registry.call("GET", "/", None).await,
        (StatusCode::OK, json!({}))
    );
}

// --- Bad input -------------------------------------------------------------------

#[tokio::test]
async fn bad_bodies_are_refused_with_their_reason() {
    let registry = Registry::new();
    let cases: [(&str, u16, Value); 9] = [
        (
            "{",
            400,
            error(
                400,
                "the request body is not valid JSON: EOF while parsing an object at line 1 column 1",
            ),
        ),
        (
            "[1]",
            422,
            error(422, "the request body must be a JSON object"),
        ),
        (
            "{}",
            422,
            error(
                42201,
                "Invalid AVRO schema: the request has no `schema`; send {\"schema\": \"...\"}",
            ),
        ),
        (
            r#"{"schema": 5}"#,
            422,
            error(
                42201,
                "Invalid AVRO schema: `schema` must be the schema's text as a JSON string",
            ),
        ),
        (
            r#"{"schema": "\"int\"", "schemaType": "XML"}"#,
            422,
            error(
                42201,
                "Invalid schema type `XML`: use AVRO, PROTOBUF or JSON",
            ),
        ),
        (
            r#"{"schema": "{\"type\": \"record\"}"}"#,
            422,
            error(42201, "Invalid AVRO schema: No `name` field"),
        ),
        (
            r#"{"schema": "not json"}"#,
            422,
            error(
                42201,
                "Invalid AVRO schema: not JSON: expected ident at line 1 column 2",
            ),
        ),
        (
            r#"{"schema": "\"int\"", "references": [{"name": "x", "subject": "s"}]}"#,
            422,
            error(
                42201,
                "Invalid AVRO schema: reference 0 has no `version` from 1 to 2147483647; each is {\"name\", \"subject\", \"version\"}",
            ),
        ),
        (
            r#"{"schema": "\"int\"", "references": [{"name": "x", "subject": "s", "version": 1}]}"#,
            422,
            error(
                42201,
                "Invalid AVRO schema: the reference `x` names version 1 of subject `s`, which is not registered",
            ),
        ),
    ];
    for (body, status, expected) in cases {
        let (got_status, got) = registry
            .call("POST", "/subjects/s/versions", Some(body))
            .await;
        assert_eq!((got_status.as_u16(), got), (status, expected), "{body}");
    }
    // Nothing was registered.
    assert_eq!(registry.call("GET", "/subjects", None).await.1, json!([]));
}

#[tokio::test]
async fn content_types_other_than_the_apis_are_refused() {
    let registry = Registry::new();
    for accepted in [
        CT,
        "application/vnd.schemaregistry+json",
        "application/json; charset=utf-8",
    ] {
        let (status, _, _) = registry
            .raw(
                "POST",
                "/subjects/s/versions",
                Some(&schema_body("\"int\"")),
                &[("content-type", accepted)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
    }
    let (status, _, text) = registry
        .raw(
            "POST",
            "/subjects/s/versions",
            Some(&schema_body("\"int\"")),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("json"),
        error(
            415,
            "HTTP 415 Unsupported Media Type: send `application/vnd.schemaregistry.v1+json`, `application/vnd.schemaregistry+json` or `application/json`, not `application/x-www-form-urlencoded`"
        )
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let registry = Registry::new();
    let big = schema_body(&format!("\"{}\"", "x".repeat(MAX_BODY_BYTES)));
    assert_eq!(
        registry
            .call("POST", "/subjects/s/versions", Some(&big))
            .await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            error(413, "the request body is larger than 4194304 bytes")
        )
    );
}

#[tokio::test]
async fn hostile_schemas_are_invalid_never_a_server_error() {
    let registry = Registry::new();
    let nested_arrays = format!(
        "{}\"int\"{}",
        "{\"type\":\"array\",\"items\":".repeat(200),
        "}".repeat(200)
    );
    let nested_proto = format!(
        "syntax = \"proto3\";\n{}{}",
        "message M { ".repeat(100),
        "}".repeat(100)
    );
    let schemas: Vec<(&str, String)> = vec![
        ("AVRO", "".to_owned()),
        ("AVRO", "null".to_owned()),
        ("AVRO", "[\"int\", \"int\"]".to_owned()),
        (
            "AVRO",
            r#"{"type":"fixed","name":"F","size":-1}"#.to_owned(),
        ),
        (
            "AVRO",
            r#"{"type":"record","name":"","fields":[]}"#.to_owned(),
        ),
        ("AVRO", nested_arrays),
        ("AVRO", "\u{0}\u{1}".to_owned()),
        ("PROTOBUF", "message {".to_owned()),
        ("PROTOBUF", "syntax = \"proto4\";".to_owned()),
        (
            "PROTOBUF",
            "import \"registered.proto\"; message A {}".to_owned(),
        ),
        ("PROTOBUF", "import \"a.proto\";".to_owned()),
        ("PROTOBUF", nested_proto),
        ("PROTOBUF", "message A { int32 x = 0; }".to_owned()),
        ("PROTOBUF", "message A { int32 x = 536870912; }".to_owned()),
        ("JSON", "{\"type\": ".to_owned()),
        ("JSON", "17".to_owned()),
    ];
    // Something to look up and compare with.
    registry.register("s", ORDER_V1).await;
    for (schema_type, schema) in &schemas {
        let body = json!({ "schema": schema, "schemaType": schema_type }).to_string();
        for uri in [
            "/subjects/s/versions",
            "/subjects/s",
            "/compatibility/subjects/s/versions",
            "/compatibility/subjects/s/versions/1",
        ] {
            let (status, answer) = registry.call("POST", uri, Some(&body)).await;
            assert_eq!(
                (status, &answer["error_code"]),
                (StatusCode::UNPROCESSABLE_ENTITY, &json!(42201)),
                "{uri} {schema_type} {schema:?}: {answer}"
            );
        }
    }
}

mod property {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Arbitrary bodies and paths never make the registry fail.
        #[test]
        fn arbitrary_input_is_never_a_server_error(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            text in "\\PC{0,80}",
            schema_type in prop::sample::select(vec!["AVRO", "PROTOBUF", "JSON"]),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let registry = Registry::new();
                let raw = String::from_utf8_lossy(&body).into_owned();
                let wrapped = json!({ "schema": text, "schemaType": schema_type }).to_string();
                for payload in [raw.as_str(), wrapped.as_str()] {
                    for (method, uri) in [
                        ("POST", "/subjects/s/versions"),
                        ("POST", "/subjects/s"),
                        ("POST", "/compatibility/subjects/s/versions/latest"),
                        ("PUT", "/config"),
                        ("PUT", "/config/s"),
                    ] {
                        let (status, _) = registry.call(method, uri, Some(payload)).await;
                        prop_assert!(!status.is_server_error(), "{method} {uri} {payload:?}: {status}");
                    }
                }
                Ok(())
            })?;
        }
    }
}

// --- Compatibility ---------------------------------------------------------------

#[tokio::test]
async fn backward_is_the_default_and_refuses_an_incompatible_version() {
    let registry = Registry::new();
    assert_eq!(
        registry.call("GET", "/config", None).await,
        (StatusCode::OK, json!({ "compatibilityLevel": "BACKWARD" }))
    );
    registry.register("orders-value", ORDER_V1).await;
    assert_eq!(
        registry.register("orders-value", ORDER_V2).await,
        (StatusCode::OK, json!({ "id": 2 }))
    );
    assert_eq!(
        registry.register("orders-value", ORDER_STRING_ID).await,
        (
            StatusCode::CONFLICT,
            error(
                409,
                "Schema being registered is incompatible with an earlier schema for subject \"orders-value\", details: [the new schema cannot read data written with version 2 (BACKWARD): field `id`: the writer's type `Long` cannot be read as `String`]"
            )
        )
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/orders-value/versions", None)
            .await
            .1,
        json!([1, 2])
    );
}

#[tokio::test]
async fn compatibility_checks_answer_with_and_without_messages() {
    let registry = Registry::new();
    registry.register("orders-value", ORDER_V1).await;
    let check = |schema: &'static str, uri: &'static str| {
        let registry = &registry;
        async move { registry.call("POST", uri, Some(&schema_body(schema))).await }
    };
    assert_eq!(
        check(
            ORDER_V2,
            "/compatibility/subjects/orders-value/versions/latest"
        )
        .await,
        (StatusCode::OK, json!({ "is_compatible": true }))
    );
    assert_eq!(
        check(
            ORDER_V2,
            "/compatibility/subjects/orders-value/versions/1?verbose=True"
        )
        .await,
        (
            StatusCode::OK,
            json!({ "is_compatible": true, "messages": [] })
        )
    );
    assert_eq!(
        check(
            ORDER_NO_DEFAULT,
            "/compatibility/subjects/orders-value/versions/latest"
        )
        .await,
        (StatusCode::OK, json!({ "is_compatible": false }))
    );
    assert_eq!(
        check(
            ORDER_NO_DEFAULT,
            "/compatibility/subjects/orders-value/versions?verbose=true"
        )
        .await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [
                "the new schema cannot read data written with version 1 (BACKWARD): Incompatible schemata! Field 'note' in reader schema must have a default value"
            ]})
        )
    );
    assert_eq!(
        check(ORDER_V2, "/compatibility/subjects/nope/versions").await,
        (StatusCode::OK, json!({ "is_compatible": true }))
    );
    assert_eq!(
        check(ORDER_V2, "/compatibility/subjects/nope/versions/latest").await,
        (
            StatusCode::NOT_FOUND,
            error(40401, "Subject 'nope' not found.")
        )
    );
    assert_eq!(
        check(ORDER_V2, "/compatibility/subjects/orders-value/versions/9").await,
        (StatusCode::NOT_FOUND, error(40402, "Version 9 not found."))
    );
}

#[tokio::test]
async fn forward_full_and_none_decide_as_their_names_say() {
    let registry = Registry::new();
    registry.register("f", ORDER_V1).await;
    registry.put_config("/config/f", "forward").await;
    assert_eq!(
        registry.register("f", ORDER_NO_DEFAULT).await,
        (StatusCode::OK, json!({ "id": 2 }))
    );

    registry.register("full", ORDER_V1).await;
    registry.put_config("/config/full", "FULL").await;
    assert_eq!(
        registry.register("full", ORDER_NO_DEFAULT).await,
        (
            StatusCode::CONFLICT,
            error(
                409,
                "Schema being registered is incompatible with an earlier schema for subject \"full\", details: [the new schema cannot read data written with version 1 (FULL): Incompatible schemata! Field 'note' in reader schema must have a default value]"
            )
        )
    );
    assert_eq!(
        registry.register("full", ORDER_V2).await,
        (StatusCode::OK, json!({ "id": 3 }))
    );

    registry.put_config("/config/full", "NONE").await;
    assert_eq!(
        registry.register("full", ORDER_STRING_ID).await,
        (StatusCode::OK, json!({ "id": 4 }))
    );
}

#[tokio::test]
async fn transitive_levels_compare_with_every_version() {
    // `note` alone reads v2's data (it has `note`) but not v1's.
    let note_only =
        r#"{"type":"record","name":"Order","fields":[{"name":"note","type":"string"}]}"#;
    let registry = Registry::new();
    for subject in ["plain", "transitive"] {
        registry.register(subject, ORDER_V1).await;
        registry.register(subject, ORDER_V2).await;
    }
    registry
        .put_config("/config/transitive", "BACKWARD_TRANSITIVE")
        .await;
    assert_eq!(
        registry.register("plain", note_only).await,
        (StatusCode::OK, json!({ "id": 3 }))
    );
    assert_eq!(
        registry.register("transitive", note_only).await,
        (
            StatusCode::CONFLICT,
            error(
                409,
                "Schema being registered is incompatible with an earlier schema for subject \"transitive\", details: [the new schema cannot read data written with version 1 (BACKWARD_TRANSITIVE): Incompatible schemata! Field 'note' in reader schema must have a default value]"
            )
        )
    );
}

/// `id` with a default and `note` added: FORWARD and FULL follow
/// [`ORDER_V1`], as `id` is still written.
const ORDER_ID_DEFAULT_NOTE: &str = r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long","default":0},{"name":"note","type":"string"}]}"#;
/// `note` alone: [`ORDER_ID_DEFAULT_NOTE`] reads its data (`id` has a
/// default there) but [`ORDER_V1`] does not (`id` has none).
const ORDER_NOTE_ONLY: &str =
    r#"{"type":"record","name":"Order","fields":[{"name":"note","type":"string"}]}"#;
/// `id` with a default and nothing else: FULL with [`ORDER_V1`].
const ORDER_ID_DEFAULT: &str =
    r#"{"type":"record","name":"Order","fields":[{"name":"id","type":"long","default":0}]}"#;
/// `note` with a default and no `id`: FULL with [`ORDER_ID_DEFAULT`],
/// and backward but not forward with [`ORDER_V1`].
const ORDER_NOTE_DEFAULT_ONLY: &str =
    r#"{"type":"record","name":"Order","fields":[{"name":"note","type":"string","default":""}]}"#;

/// The 409 a registration refused for `problems` gets.
fn incompatible(subject: &str, problems: &[&str]) -> (StatusCode, Value) {
    (
        StatusCode::CONFLICT,
        error(
            409,
            &format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                problems.join("; ")
            ),
        ),
    )
}

/// `POST /compatibility/subjects/SUBJECT/versions{version}?verbose=true`
/// with `schema`.
async fn verbose_check(
    registry: &Registry,
    subject: &str,
    version: &str,
    schema: &str,
) -> (StatusCode, Value) {
    registry
        .call(
            "POST",
            &format!("/compatibility/subjects/{subject}/versions{version}?verbose=true"),
            Some(&schema_body(schema)),
        )
        .await
}

#[tokio::test]
async fn forward_refuses_a_version_the_latest_cannot_read() {
    let registry = Registry::new();
    registry.put_config("/config/f", "FORWARD").await;
    registry.register("f", ORDER_V1).await;
    // Version 1 has no default for `id`, so it cannot read records
    // without one, nor a string where it reads a long.
    let no_id = "version 1 cannot read data written with the new schema (FORWARD): Incompatible schemata! Field 'id' in reader schema must have a default value";
    let string_id = "version 1 cannot read data written with the new schema (FORWARD): field `id`: the writer's type `String` cannot be read as `Long`";
    assert_eq!(
        registry.register("f", ORDER_NOTE_DEFAULT_ONLY).await,
        incompatible("f", &[no_id])
    );
    assert_eq!(
        registry.register("f", ORDER_STRING_ID).await,
        incompatible("f", &[string_id])
    );
    assert_eq!(
        verbose_check(&registry, "f", "/latest", ORDER_NOTE_DEFAULT_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [no_id] })
        )
    );
    // What BACKWARD refuses, FORWARD takes: version 1 ignores `note`.
    assert_eq!(
        registry.register("f", ORDER_NO_DEFAULT).await,
        (StatusCode::OK, json!({ "id": 2 }))
    );
    assert_eq!(
        registry.call("GET", "/subjects/f/versions", None).await.1,
        json!([1, 2])
    );
}

#[tokio::test]
async fn forward_transitive_refuses_what_forward_takes_from_the_latest() {
    let registry = Registry::new();
    for (subject, level) in [("fwd", "FORWARD"), ("fwd-all", "FORWARD_TRANSITIVE")] {
        registry
            .put_config(&format!("/config/{subject}"), level)
            .await;
        assert_eq!(registry.register(subject, ORDER_V1).await.1["id"], 1);
        assert_eq!(
            registry.register(subject, ORDER_ID_DEFAULT_NOTE).await.1["id"],
            2,
            "{level}"
        );
    }

    // Without a version the check compares as the level does: the latest
    // only, or every version.
    assert_eq!(
        verbose_check(&registry, "fwd", "", ORDER_NOTE_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": true, "messages": [] })
        )
    );
    let v1_problem = "version 1 cannot read data written with the new schema (FORWARD_TRANSITIVE): Incompatible schemata! Field 'id' in reader schema must have a default value";
    assert_eq!(
        verbose_check(&registry, "fwd-all", "", ORDER_NOTE_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [v1_problem] })
        )
    );
    // A version named in the path is compared with under either level.
    assert_eq!(
        verbose_check(&registry, "fwd", "/1", ORDER_NOTE_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [
                "version 1 cannot read data written with the new schema (FORWARD): Incompatible schemata! Field 'id' in reader schema must have a default value"
            ]})
        )
    );
    assert_eq!(
        verbose_check(&registry, "fwd-all", "/2", ORDER_NOTE_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": true, "messages": [] })
        )
    );

    assert_eq!(
        registry.register("fwd", ORDER_NOTE_ONLY).await,
        (StatusCode::OK, json!({ "id": 3 }))
    );
    assert_eq!(
        registry.register("fwd-all", ORDER_NOTE_ONLY).await,
        incompatible("fwd-all", &[v1_problem])
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/fwd-all/versions", None)
            .await
            .1,
        json!([1, 2])
    );
}

#[tokio::test]
async fn full_transitive_refuses_what_full_takes_from_the_latest() {
    let registry = Registry::new();
    for (subject, level) in [("full", "FULL"), ("full-all", "FULL_TRANSITIVE")] {
        registry
            .put_config(&format!("/config/{subject}"), level)
            .await;
        assert_eq!(registry.register(subject, ORDER_V1).await.1["id"], 1);
        assert_eq!(
            registry.register(subject, ORDER_ID_DEFAULT).await.1["id"],
            2,
            "{level}"
        );
    }

    // The new schema reads every version's data, and version 2 reads its
    // data, but version 1 does not.
    assert_eq!(
        verbose_check(&registry, "full", "", ORDER_NOTE_DEFAULT_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": true, "messages": [] })
        )
    );
    let v1_problem = "version 1 cannot read data written with the new schema (FULL_TRANSITIVE): Incompatible schemata! Field 'id' in reader schema must have a default value";
    assert_eq!(
        verbose_check(&registry, "full-all", "", ORDER_NOTE_DEFAULT_ONLY).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [v1_problem] })
        )
    );
    // Every problem with every version is listed, the newest version
    // first and each in both directions.
    assert_eq!(
        verbose_check(&registry, "full-all", "", ORDER_STRING_ID).await,
        (
            StatusCode::OK,
            json!({ "is_compatible": false, "messages": [
                "the new schema cannot read data written with version 2 (FULL_TRANSITIVE): field `id`: the writer's type `Long` cannot be read as `String`",
                "version 2 cannot read data written with the new schema (FULL_TRANSITIVE): field `id`: the writer's type `String` cannot be read as `Long`",
                "the new schema cannot read data written with version 1 (FULL_TRANSITIVE): field `id`: the writer's type `Long` cannot be read as `String`",
                "version 1 cannot read data written with the new schema (FULL_TRANSITIVE): field `id`: the writer's type `String` cannot be read as `Long`",
            ]})
        )
    );
    assert_eq!(
        registry
            .call(
                "POST",
                "/compatibility/subjects/full-all/versions",
                Some(&schema_body(ORDER_NOTE_DEFAULT_ONLY))
            )
            .await,
        (StatusCode::OK, json!({ "is_compatible": false }))
    );

    assert_eq!(
        registry.register("full", ORDER_NOTE_DEFAULT_ONLY).await,
        (StatusCode::OK, json!({ "id": 3 }))
    );
    assert_eq!(
        registry.register("full-all", ORDER_NOTE_DEFAULT_ONLY).await,
        incompatible("full-all", &[v1_problem])
    );
    // Backward alone takes it: only the new schema's reading is checked.
    registry
        .put_config("/config/full-all", "BACKWARD_TRANSITIVE")
        .await;
    assert_eq!(
        registry.register("full-all", ORDER_NOTE_DEFAULT_ONLY).await,
        (StatusCode::OK, json!({ "id": 3 }))
    );
}

#[tokio::test]
async fn global_and_subject_config() {
    let registry = Registry::new();
    assert_eq!(
        registry.put_config("/config", "full_transitive").await,
        (
            StatusCode::OK,
            json!({ "compatibility": "FULL_TRANSITIVE" })
        )
    );
    assert_eq!(
        registry.call("GET", "/config", None).await.1,
        json!({ "compatibilityLevel": "FULL_TRANSITIVE" })
    );
    let invalid = error(
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
    );
    assert_eq!(
        registry.put_config("/config", "SIDEWAYS").await,
        (StatusCode::UNPROCESSABLE_ENTITY, invalid.clone())
    );
    assert_eq!(
        registry.call("PUT", "/config/s", Some("{}")).await,
        (StatusCode::UNPROCESSABLE_ENTITY, invalid)
    );
    let unset = error(
        40408,
        "Subject 's' does not have subject-level compatibility configured",
    );
    assert_eq!(
        registry.call("GET", "/config/s", None).await,
        (StatusCode::NOT_FOUND, unset.clone())
    );
    assert_eq!(
        registry
            .call("GET", "/config/s?defaultToGlobal=true", None)
            .await,
        (
            StatusCode::OK,
            json!({ "compatibilityLevel": "FULL_TRANSITIVE" })
        )
    );
    assert_eq!(
        registry.put_config("/config/s", "NONE").await,
        (StatusCode::OK, json!({ "compatibility": "NONE" }))
    );
    assert_eq!(
        registry.call("GET", "/config/s", None).await.1,
        json!({ "compatibilityLevel": "NONE" })
    );
    assert_eq!(
        registry.call("DELETE", "/config/s", None).await,
        (StatusCode::OK, json!({ "compatibilityLevel": "NONE" }))
    );
    assert_eq!(
        registry.call("DELETE", "/config/s", None).await,
        (StatusCode::NOT_FOUND, unset)
    );
    assert_eq!(
        registry.call("DELETE", "/config", None).await,
        (
            StatusCode::OK,
            json!({ "compatibilityLevel": "FULL_TRANSITIVE" })
        )
    );
    assert_eq!(
        registry.call("GET", "/config", None).await.1,
        json!({ "compatibilityLevel": "BACKWARD" })
    );
}

// --- Deleting --------------------------------------------------------------------

#[tokio::test]
async fn versions_are_deleted_softly_then_for_good() {
    let registry = Registry::new();
    registry.register("s", ORDER_V1).await;
    registry.register("s", ORDER_V2).await;
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s/versions/1?permanent=true", None)
            .await,
        (
            StatusCode::NOT_FOUND,
            error(
                40407,
                "Subject 's' Version 1 was not deleted first before being permanently deleted"
            )
        )
    );
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s/versions/1", None)
            .await,
        (StatusCode::OK, json!(1))
    );
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s/versions/1", None)
            .await,
        (
            StatusCode::NOT_FOUND,
            error(
                40406,
                "Subject 's' Version 1 was soft deleted. Set permanent=true to delete permanently"
            )
        )
    );
    assert_eq!(
        registry.call("GET", "/subjects/s/versions", None).await.1,
        json!([2])
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/s/versions?deleted=true", None)
            .await
            .1,
        json!([1, 2])
    );
    assert_eq!(
        registry.call("GET", "/subjects/s/versions/1", None).await,
        (StatusCode::NOT_FOUND, error(40402, "Version 1 not found."))
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/s/versions/1?deleted=true", None)
            .await,
        (
            StatusCode::OK,
            json!({ "subject": "s", "version": 1, "id": 1, "schema": ORDER_V1 })
        )
    );
    // A soft-deleted version's schema stays readable by id.
    assert_eq!(
        registry.call("GET", "/schemas/ids/1", None).await.1,
        json!({ "schema": ORDER_V1 })
    );
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s/versions/1?permanent=true", None)
            .await,
        (StatusCode::OK, json!(1))
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/1", None).await,
        (StatusCode::NOT_FOUND, error(40403, "Schema 1 not found"))
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/s/versions?deleted=true", None)
            .await
            .1,
        json!([2])
    );
    // Versions only grow.
    assert_eq!(registry.register("s", ORDER_V1).await.1, json!({ "id": 3 }));
    assert_eq!(
        registry.call("GET", "/subjects/s/versions", None).await.1,
        json!([2, 3])
    );
}

#[tokio::test]
async fn subjects_are_deleted_softly_then_for_good() {
    let registry = Registry::new();
    registry.register("s", ORDER_V1).await;
    registry.register("s", ORDER_V2).await;
    registry.put_config("/config/s", "NONE").await;
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s?permanent=true", None)
            .await,
        (
            StatusCode::NOT_FOUND,
            error(
                40405,
                "Subject 's' was not deleted first before being permanently deleted"
            )
        )
    );
    assert_eq!(
        registry.call("DELETE", "/subjects/s", None).await,
        (StatusCode::OK, json!([1, 2]))
    );
    assert_eq!(
        registry.call("DELETE", "/subjects/s", None).await,
        (
            StatusCode::NOT_FOUND,
            error(
                40404,
                "Subject 's' was soft deleted. Set permanent=true to delete permanently"
            )
        )
    );
    assert_eq!(registry.call("GET", "/subjects", None).await.1, json!([]));
    assert_eq!(
        registry.call("GET", "/subjects?deleted=true", None).await.1,
        json!(["s"])
    );
    assert_eq!(
        registry.call("GET", "/subjects/s/versions", None).await,
        (
            StatusCode::NOT_FOUND,
            error(40401, "Subject 's' not found.")
        )
    );
    assert_eq!(
        registry
            .call("DELETE", "/subjects/s?permanent=true", None)
            .await,
        (StatusCode::OK, json!([1, 2]))
    );
    assert_eq!(
        registry.call("GET", "/subjects?deleted=true", None).await.1,
        json!([])
    );
    assert_eq!(
        registry.call("DELETE", "/subjects/s", None).await,
        (
            StatusCode::NOT_FOUND,
            error(40401, "Subject 's' not found.")
        )
    );
    // Its compatibility setting went with it.
    assert_eq!(
        registry.call("GET", "/config/s", None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/2", None).await,
        (StatusCode::NOT_FOUND, error(40403, "Schema 2 not found"))
    );
}

// --- References and other schema types ----------------------------------------------

const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"string"}]}"#;
const CUSTOMER: &str = r#"{"type":"record","name":"Customer","namespace":"shop","fields":[{"name":"address","type":"shop.Address"}]}"#;

fn customer_body() -> String {
    json!({
        "schema": CUSTOMER,
        "references": [{ "name": "shop.Address", "subject": "address", "version": 1 }],
    })
    .to_string()
}

#[tokio::test]
async fn avro_references_are_resolved_listed_and_protected() {
    let registry = Registry::new();
    registry.register("address", ADDRESS).await;
    assert_eq!(
        registry
            .call(
                "POST",
                "/subjects/customer/versions",
                Some(&customer_body())
            )
            .await,
        (StatusCode::OK, json!({ "id": 2 }))
    );
    let references = json!([{ "name": "shop.Address", "subject": "address", "version": 1 }]);
    assert_eq!(
        registry.call("GET", "/schemas/ids/2", None).await.1,
        json!({ "schema": CUSTOMER, "references": references })
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/customer/versions/latest", None)
            .await
            .1,
        json!({ "subject": "customer", "version": 1, "id": 2, "schema": CUSTOMER, "references": references })
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/address/versions/1/referencedby", None)
            .await
            .1,
        json!([2])
    );
    assert_eq!(
        registry
            .call("POST", "/subjects/customer", Some(&customer_body()))
            .await
            .1["id"],
        json!(2)
    );
    let protected = error(
        42206,
        "One or more references exist to the schema {subject=address,version=1}.",
    );
    assert_eq!(
        registry
            .call("DELETE", "/subjects/address/versions/1", None)
            .await,
        (StatusCode::UNPROCESSABLE_ENTITY, protected.clone())
    );
    assert_eq!(
        registry.call("DELETE", "/subjects/address", None).await,
        (StatusCode::UNPROCESSABLE_ENTITY, protected)
    );
    // Without its reference the schema does not parse.
    assert_eq!(
        registry
            .call(
                "POST",
                "/subjects/other/versions",
                Some(&schema_body(CUSTOMER))
            )
            .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            error(
                42201,
                "Invalid AVRO schema: Unknown primitive type: shop.Address"
            )
        )
    );
}

const MONEY_PROTO: &str = "syntax = \"proto3\";\npackage shop;\nmessage Money { int64 cents = 1; string currency = 2; }\n";
const ORDER_PROTO: &str = "syntax = \"proto3\";\npackage shop;\nimport \"money.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Order { Money total = 1; google.protobuf.Timestamp at = 2; }\n";

#[tokio::test]
async fn protobuf_schemas_compile_with_their_imports() {
    let registry = Registry::new();
    let money = json!({ "schema": MONEY_PROTO, "schemaType": "PROTOBUF" }).to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/money.proto/versions", Some(&money))
            .await,
        (StatusCode::OK, json!({ "id": 1 }))
    );
    let references = json!([{ "name": "money.proto", "subject": "money.proto", "version": 1 }]);
    let order =
        json!({ "schema": ORDER_PROTO, "schemaType": "PROTOBUF", "references": references })
            .to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/orders-value/versions", Some(&order))
            .await,
        (StatusCode::OK, json!({ "id": 2 }))
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/2", None).await.1,
        json!({ "schemaType": "PROTOBUF", "schema": ORDER_PROTO, "references": references })
    );
    assert_eq!(
        registry
            .call("GET", "/subjects/money.proto/versions/1", None)
            .await
            .1,
        json!({ "subject": "money.proto", "version": 1, "id": 1, "schemaType": "PROTOBUF", "schema": MONEY_PROTO })
    );
    // Without the reference the import is missing.
    let orphan = json!({ "schema": ORDER_PROTO, "schemaType": "PROTOBUF" }).to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/x/versions", Some(&orphan))
            .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            error(
                42201,
                "Invalid PROTOBUF schema: import 'money.proto' not found"
            )
        )
    );
    // Any change is incompatible under BACKWARD: Protobuf compares by identity.
    let changed = json!({
        "schema": ORDER_PROTO.replace("at = 2", "at = 3"),
        "schemaType": "PROTOBUF",
        "references": references,
    })
    .to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/orders-value/versions", Some(&changed))
            .await,
        (
            StatusCode::CONFLICT,
            error(
                409,
                "Schema being registered is incompatible with an earlier schema for subject \"orders-value\", details: [PROTOBUF schemas are compared by identity and the new schema differs from version 1 (BACKWARD); set the subject's compatibility to NONE to register a changed schema]"
            )
        )
    );
}

#[tokio::test]
async fn json_schemas_are_kept_compact_and_typed() {
    let registry = Registry::new();
    let body = json!({ "schema": "{ \"type\": \"object\" }", "schemaType": "JSON" }).to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/j/versions", Some(&body))
            .await,
        (StatusCode::OK, json!({ "id": 1 }))
    );
    assert_eq!(
        registry.call("GET", "/schemas/ids/1", None).await.1,
        json!({ "schemaType": "JSON", "schema": "{\"type\":\"object\"}" })
    );
    // The same text as Avro is another schema.
    let avro = json!({ "schema": "\"string\"" }).to_string();
    let json_string = json!({ "schema": "\"string\"", "schemaType": "JSON" }).to_string();
    assert_eq!(
        registry
            .call("POST", "/subjects/k/versions", Some(&avro))
            .await
            .1,
        json!({ "id": 2 })
    );
    assert_eq!(
        registry
            .call("POST", "/subjects/l/versions", Some(&json_string))
            .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            error(
                42201,
                "Invalid JSON schema: a JSON Schema is a JSON object or a boolean"
            )
        )
    );
}

// --- Credentials and restarts --------------------------------------------------------

#[tokio::test]
async fn a_required_credential_is_checked() {
    let bearer = Registry::with(RegistryOptions {
        state_dir: None,
        auth: Auth::Bearer("t0ken".to_owned()),
    });
    let unauthorized = error(
        40101,
        "Unauthorized: this schema registry needs credentials; send the bearer token or the user and password it was started with",
    );
    let (status, headers, text) = bearer.raw("GET", "/subjects", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("json"),
        unauthorized
    );
    let (status, _, _) = bearer
        .raw(
            "GET",
            "/subjects",
            None,
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, text) = bearer
        .raw(
            "GET",
            "/subjects",
            None,
            &[("authorization", "Bearer t0ken")],
        )
        .await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "[]"));

    let basic = Registry::with(RegistryOptions {
        state_dir: None,
        auth: Auth::basic_user_info("alice:se:cret").expect("valid"),
    });
    // base64("alice:se:cret")
    let (status, _, _) = basic
        .raw(
            "GET",
            "/subjects",
            None,
            &[("authorization", "Basic YWxpY2U6c2U6Y3JldA==")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, _) = basic
        .raw(
            "GET",
            "/subjects",
            None,
            &[("authorization", "Basic YWxpY2U6d3Jvbmc=")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Basic realm=\"schema-registry\""
    );
}

#[tokio::test]
async fn the_state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("a folder");
    let options = RegistryOptions {
        state_dir: Some(dir.path().join("registry")),
        auth: Auth::None,
    };
    {
        let registry = Registry::with(options.clone());
        registry.register("a", ORDER_V1).await;
        registry.register("a", ORDER_V2).await;
        registry.register("b", ORDER_V1).await;
        registry.call("DELETE", "/subjects/b", None).await;
        registry.put_config("/config/a", "FULL").await;
        registry.put_config("/config", "NONE").await;
    }
    let registry = Registry::with(options);
    assert_eq!(
        registry.call("GET", "/subjects", None).await.1,
        json!(["a"])
    );
    assert_eq!(
        registry.call("GET", "/subjects?deleted=true", None).await.1,
        json!(["a", "b"])
    );
    assert_eq!(
        registry.call("GET", "/subjects/a/versions/2", None).await.1,
        json!({ "subject": "a", "version": 2, "id": 2, "schema": ORDER_V2 })
    );
    assert_eq!(
        registry.call("GET", "/config/a", None).await.1,
        json!({ "compatibilityLevel": "FULL" })
    );
    assert_eq!(
        registry.call("GET", "/config", None).await.1,
        json!({ "compatibilityLevel": "NONE" })
    );
    // Ids go on from where they were, and identities are remembered.
    assert_eq!(registry.register("c", ORDER_V1).await.1, json!({ "id": 1 }));
    assert_eq!(
        registry.register("c", ORDER_STRING_ID).await.1,
        json!({ "id": 3 })
    );
    // Nothing but the state file is left in the folder.
    let files: Vec<String> = std::fs::read_dir(dir.path().join("registry"))
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(files, vec!["registry.json".to_owned()]);
}

#[tokio::test]
async fn a_change_that_cannot_be_written_is_not_made() {
    let dir = tempfile::tempdir().expect("a folder");
    let registry = Registry::with(RegistryOptions {
        state_dir: Some(dir.path().to_owned()),
        auth: Auth::None,
    });
    // The temporary file cannot be created where a folder is.
    std::fs::create_dir(dir.path().join(".registry.json.tmp")).expect("a folder");
    assert_eq!(
        registry.register("a", ORDER_V1).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            error(
                50001,
                &format!(
                    "Error in the backend data store: cannot write `{}`: Is a directory (os error 21)",
                    dir.path().join("registry.json").display()
                )
            )
        )
    );
    assert_eq!(registry.call("GET", "/subjects", None).await.1, json!([]));
    assert_eq!(
        registry.call("GET", "/schemas/ids/1", None).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_state_file_that_is_not_a_registrys_stops_the_start() {
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("registry.json"), "[]").expect("writes");
    let error = RegistryState::new(RegistryOptions {
        state_dir: Some(dir.path().to_owned()),
        auth: Auth::None,
    })
    .err()
    .expect("refused");
    assert_eq!(
        error,
        RegistryError::Invalid(format!(
            "`{}` is not a schema registry's state: invalid length 0, expected struct Data with 6 elements at line 1 column 2; move it away to start empty",
            dir.path().join("registry.json").display()
        ))
    );
}

// --- The client against servers on 127.0.0.1 ------------------------------------------

/// A server on 127.0.0.1 with its own runtime, stopped when dropped; it
/// records every request as `METHOD /path?query`.
struct TestServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TestServer {
    fn start(app: Router) -> TestServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port");
        let address = listener.local_addr().expect("an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let app = app.layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let seen = seen.clone();
                async move {
                    seen.lock().expect("the log").push(format!(
                        "{} {}",
                        request.method(),
                        request.uri()
                    ));
                    next.run(request).await
                }
            },
        ));
        runtime.spawn(async move { axum::serve(listener, app).await });
        TestServer {
            url: format!("http://{address}"),
            requests,
            _runtime: runtime,
        }
    }

    /// The embedded registry.
    fn registry(options: RegistryOptions) -> TestServer {
        TestServer::start(router(
            RegistryState::new(options).expect("the registry starts"),
        ))
    }

    /// The requests since the last call.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.requests.lock().expect("the log"))
    }

    fn client(&self) -> RegistryClient {
        self.client_with(|c| c)
    }

    fn client_with(&self, f: impl FnOnce(ClientConfig) -> ClientConfig) -> RegistryClient {
        RegistryClient::new(f(
            ClientConfig::new(&self.url).with_timeout(Duration::from_secs(5))
        ))
        .expect("a client")
    }
}

fn avro_schema(id: u32, text: &str, references: Vec<SchemaReference>) -> RegisteredSchema {
    RegisteredSchema {
        id,
        schema_type: SchemaType::Avro,
        schema: text.to_owned(),
        references,
    }
}

#[test]
fn the_client_fetches_once_and_then_answers_from_its_cache() {
    let server = TestServer::registry(RegistryOptions::default());
    let client = server.client();
    assert_eq!(
        client.register("orders-value", SchemaType::Avro, ORDER_V1, &[]),
        Ok(1)
    );
    assert_eq!(
        client.register("orders-value", SchemaType::Avro, ORDER_V1, &[]),
        Ok(1)
    );
    assert_eq!(server.take(), vec!["POST /subjects/orders-value/versions"]);

    // Another client, so the schema is not known from registering it.
    let reader = server.client();
    let expected = avro_schema(1, ORDER_V1, Vec::new());
    assert_eq!(reader.schema(1), Ok(expected.clone()));
    for _ in 0..100 {
        assert_eq!(reader.schema(1), Ok(expected.clone()));
    }
    // Clones share the cache, across threads too.
    let clone = reader.clone();
    let from_thread = std::thread::spawn(move || clone.schema(1))
        .join()
        .expect("the thread");
    assert_eq!(from_thread, Ok(expected.clone()));
    assert_eq!(reader.resolve(1), Ok((expected.clone(), Vec::new())));
    assert_eq!(server.take(), vec!["GET /schemas/ids/1"]);

    let version = SubjectVersion {
        subject: "orders-value".to_owned(),
        version: 1,
        schema: expected.clone(),
    };
    assert_eq!(reader.version("orders-value", 1), Ok(version.clone()));
    assert_eq!(reader.version("orders-value", 1), Ok(version.clone()));
    assert_eq!(
        reader.lookup("orders-value", SchemaType::Avro, ORDER_V1, &[]),
        Ok(version.clone())
    );
    assert_eq!(
        reader.lookup("orders-value", SchemaType::Avro, ORDER_V1, &[]),
        Ok(version.clone())
    );
    assert_eq!(
        server.take(),
        vec![
            "GET /subjects/orders-value/versions/1",
            "POST /subjects/orders-value",
        ]
    );

    // Lists and `latest` change, so they are asked each time.
    assert_eq!(reader.latest("orders-value"), Ok(version.clone()));
    assert_eq!(reader.latest("orders-value"), Ok(version));
    assert_eq!(reader.subjects(), Ok(vec!["orders-value".to_owned()]));
    assert_eq!(reader.versions("orders-value"), Ok(vec![1]));
    assert_eq!(
        server.take(),
        vec![
            "GET /subjects/orders-value/versions/latest",
            "GET /subjects/orders-value/versions/latest",
            "GET /subjects",
            "GET /subjects/orders-value/versions",
        ]
    );
}

#[test]
fn unknown_ids_subjects_and_versions_are_not_found_at_the_url() {
    let server = TestServer::registry(RegistryOptions::default());
    let client = server.client();
    client
        .register("orders-value", SchemaType::Avro, ORDER_V1, &[])
        .expect("registers");
    let url = server.url.clone();
    let not_found = |what: &str| {
        Some(RegistryError::NotFound {
            what: what.to_owned(),
            url: url.clone(),
        })
    };
    let missing = client.schema(42).err();
    assert_eq!(missing, not_found("schema id 42"));
    assert_eq!(
        missing.map(|e| e.to_string()),
        Some(format!("schema id 42 not found at {}", server.url))
    );
    assert_eq!(client.versions("nope").err(), not_found("subject `nope`"));
    assert_eq!(client.latest("nope").err(), not_found("subject `nope`"));
    assert_eq!(
        client.version("orders-value", 3).err(),
        not_found("version 3 of subject `orders-value`")
    );
    assert_eq!(
        client
            .lookup("orders-value", SchemaType::Avro, ORDER_V2, &[])
            .err(),
        not_found("the schema under subject `orders-value`")
    );
    // A not-found is asked once: it is final, not retried.
    assert_eq!(
        server.take(),
        vec![
            "POST /subjects/orders-value/versions",
            "GET /schemas/ids/42",
            "GET /subjects/nope/versions",
            "GET /subjects/nope/versions/latest",
            "GET /subjects/orders-value/versions/3",
            "POST /subjects/orders-value",
        ]
    );
}

#[test]
fn a_refused_registration_carries_the_registrys_code_and_message() {
    let server = TestServer::registry(RegistryOptions::default());
    let client = server.client();
    client
        .register("orders-value", SchemaType::Avro, ORDER_V1, &[])
        .expect("registers");
    let refused = client.register("orders-value", SchemaType::Avro, ORDER_STRING_ID, &[]);
    let message = "Schema being registered is incompatible with an earlier schema for subject \"orders-value\", details: [the new schema cannot read data written with version 1 (BACKWARD): field `id`: the writer's type `Long` cannot be read as `String`]";
    assert_eq!(
        refused,
        Err(RegistryError::Refused {
            url: server.url.clone(),
            request: "POST /subjects/orders-value/versions".to_owned(),
            status: 409,
            error_code: 409,
            message: message.to_owned(),
        })
    );
    assert_eq!(
        client
            .register("orders-value", SchemaType::Json, "[1]", &[])
            .err()
            .map(|e| e.to_string()),
        Some(format!(
            "the schema registry at {} refused POST /subjects/orders-value/versions (HTTP 422, error 42201): Invalid JSON schema: a JSON Schema is a JSON object or a boolean",
            server.url
        ))
    );
}

#[test]
fn references_are_resolved_nested_first_and_once() {
    let server = TestServer::registry(RegistryOptions::default());
    let client = server.client();
    let country = r#"{"type":"enum","name":"Country","namespace":"shop","symbols":["FR","DE"]}"#;
    let address = r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"country","type":"shop.Country"}]}"#;
    let customer = r#"{"type":"record","name":"Customer","namespace":"shop","fields":[{"name":"home","type":"shop.Address"},{"name":"born","type":"shop.Country"}]}"#;
    let country_ref = SchemaReference {
        name: "shop.Country".to_owned(),
        subject: "country".to_owned(),
        version: 1,
    };
    let address_ref = SchemaReference {
        name: "shop.Address".to_owned(),
        subject: "address".to_owned(),
        version: 1,
    };
    assert_eq!(
        client.register("country", SchemaType::Avro, country, &[]),
        Ok(1)
    );
    assert_eq!(
        client.register(
            "address",
            SchemaType::Avro,
            address,
            std::slice::from_ref(&country_ref)
        ),
        Ok(2)
    );
    let refs = vec![address_ref, country_ref];
    assert_eq!(
        client.register("customer", SchemaType::Avro, customer, &refs),
        Ok(3)
    );
    server.take();

    let reader = server.client();
    let expected = (
        avro_schema(3, customer, refs),
        vec![
            ("shop.Country".to_owned(), country.to_owned()),
            ("shop.Address".to_owned(), address.to_owned()),
        ],
    );
    assert_eq!(reader.resolve(3), Ok(expected.clone()));
    assert_eq!(reader.resolve(3), Ok(expected));
    assert_eq!(
        server.take(),
        vec![
            "GET /schemas/ids/3",
            "GET /subjects/address/versions/1",
            "GET /subjects/country/versions/1",
        ]
    );
}

#[test]
fn a_cycle_of_references_is_followed_once() {
    // Two subjects referring to each other: no real registry allows it,
    // but a client must not loop on one that answers so.
    let a = json!({
        "subject": "a", "version": 1, "id": 1, "schema": "\"int\"",
        "references": [{ "name": "B", "subject": "b", "version": 1 }],
    });
    let b = json!({
        "subject": "b", "version": 1, "id": 2, "schema": "\"long\"",
        "references": [{ "name": "A", "subject": "a", "version": 1 }],
    });
    let by_id = json!({
        "schema": "\"int\"",
        "references": [{ "name": "B", "subject": "b", "version": 1 }],
    });
    let app = Router::new()
        .route(
            "/schemas/ids/1",
            axum::routing::get(move || async move { axum::Json(by_id) }),
        )
        .route(
            "/subjects/a/versions/1",
            axum::routing::get(move || async move { axum::Json(a) }),
        )
        .route(
            "/subjects/b/versions/1",
            axum::routing::get(move || async move { axum::Json(b) }),
        );
    let server = TestServer::start(app);
    let (schema, references) = server.client().resolve(1).expect("resolves");
    assert_eq!(schema.references.len(), 1);
    assert_eq!(
        references,
        vec![
            ("A".to_owned(), "\"int\"".to_owned()),
            ("B".to_owned(), "\"long\"".to_owned()),
        ]
    );
    assert_eq!(
        server.take(),
        vec![
            "GET /schemas/ids/1",
            "GET /subjects/b/versions/1",
            "GET /subjects/a/versions/1",
        ]
    );
}

#[test]
fn credentials_are_sent_and_a_wrong_one_is_refused() {
    let bearer = TestServer::registry(RegistryOptions {
        state_dir: None,
        auth: Auth::Bearer("t0ken".to_owned()),
    });
    let good = bearer.client_with(|c| c.with_auth(Auth::Bearer("t0ken".to_owned())));
    assert_eq!(good.register("s", SchemaType::Avro, "\"int\"", &[]), Ok(1));
    let bad = bearer.client_with(|c| c.with_auth(Auth::Bearer("guess".to_owned())));
    let unauthorized = |url: &str| {
        RegistryError::Refused {
        url: url.to_owned(),
        request: "GET /schemas/ids/1".to_owned(),
        status: 401,
        error_code: 40101,
        message: "Unauthorized: this schema registry needs credentials; send the bearer token or the user and password it was started with".to_owned(),
    }
    };
    assert_eq!(bad.schema(1), Err(unauthorized(&bearer.url)));
    assert_eq!(bearer.client().schema(1), Err(unauthorized(&bearer.url)));

    let basic = TestServer::registry(RegistryOptions {
        state_dir: None,
        auth: Auth::basic_user_info("alice:se:cret").expect("valid"),
    });
    let good =
        basic.client_with(|c| c.with_auth(Auth::basic_user_info("alice:se:cret").expect("valid")));
    assert_eq!(good.register("s", SchemaType::Avro, "\"int\"", &[]), Ok(1));
    assert_eq!(good.schema(1), Ok(avro_schema(1, "\"int\"", Vec::new())));
    let bad =
        basic.client_with(|c| c.with_auth(Auth::basic_user_info("alice:wrong").expect("valid")));
    assert_eq!(bad.schema(1), Err(unauthorized(&basic.url)));
}

#[test]
fn an_unreachable_registry_is_retried_then_unavailable() {
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    // Waits of 10, 20 and 40 ms fit in 70 ms; the next (80 ms) would not,
    // so there are four attempts.
    let client = RegistryClient::new(
        ClientConfig::new(&url).with_retry(Duration::from_millis(10), Duration::from_millis(70)),
    )
    .expect("a client");
    let error = client.schema(1).expect_err("nothing listens");
    let RegistryError::Unavailable {
        url: got_url,
        attempts,
        reason,
    } = &error
    else {
        panic!("not an outage: {error}");
    };
    assert_eq!((got_url.as_str(), *attempts), (url.as_str(), 4));
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(error.is_outage());
    assert_eq!(
        error.to_string(),
        format!(
            "the schema registry at {url} is unavailable after 4 attempt(s): {reason}; check that it runs and is reachable"
        )
    );

    let once = RegistryClient::new(
        ClientConfig::new(&url).with_retry(Duration::from_millis(10), Duration::ZERO),
    )
    .expect("a client");
    assert!(matches!(
        once.schema(1),
        Err(RegistryError::Unavailable { attempts: 1, .. })
    ));
}

#[test]
fn server_errors_are_retried_as_an_outage() {
    let app = Router::new().route(
        "/schemas/ids/{id}",
        axum::routing::get(|| async {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "error_code": 50003, "message": "Error while forwarding the request to the leader" })),
            )
        }),
    );
    let server = TestServer::start(app);
    let client =
        server.client_with(|c| c.with_retry(Duration::from_millis(5), Duration::from_millis(15)));
    assert_eq!(
        client.schema(7),
        Err(RegistryError::Unavailable {
            url: server.url.clone(),
            attempts: 3,
            reason: "HTTP 503: Error while forwarding the request to the leader".to_owned(),
        })
    );
    assert_eq!(server.take(), vec!["GET /schemas/ids/7"; 3]);
}

#[test]
fn an_answer_that_is_not_the_apis_is_reported_as_such() {
    let app = Router::new().route(
        "/schemas/ids/{id}",
        axum::routing::get(|| async { "<html>hello</html>" }),
    );
    let server = TestServer::start(app);
    let error = server.client().schema(1).expect_err("not JSON");
    assert_eq!(
        error.to_string(),
        format!(
            "the schema registry at {} answered GET /schemas/ids/1 with a body that is not JSON (expected value at line 1 column 1); check that the URL is a schema registry's",
            server.url
        )
    );
}

#[test]
fn serve_registry_binds_loads_and_serves() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a folder");
    let listen: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let server = {
        let _context = runtime.enter();
        serve_registry(listen, Some(dir.path().to_owned())).expect("binds")
    };
    let address = server.local_addr();
    assert_ne!(address.port(), 0);
    runtime.spawn(server.run());
    let client =
        RegistryClient::new(ClientConfig::new(format!("http://{address}"))).expect("a client");
    assert_eq!(client.register("s", SchemaType::Avro, ORDER_V1, &[]), Ok(1));
    assert_eq!(client.schema(1), Ok(avro_schema(1, ORDER_V1, Vec::new())));
    drop(runtime);
    assert!(dir.path().join("registry.json").exists());

    // A taken port is refused at once.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let taken_address = taken.local_addr().expect("an address");
    let error = serve_registry(taken_address, None).err().expect("taken");
    assert!(
        error.to_string().starts_with(&format!(
            "the schema registry cannot listen on `{taken_address}`: "
        )),
        "{error}"
    );
}

// --- TLS ------------------------------------------------------------------------

/// A CA and a server certificate for IP 127.0.0.1 it signed, valid until
/// 2126; made for these tests only.
const TEST_CA: &str = r#"-----BEGIN CERTIFICATE-----
MIIDIzCCAgugAwIBAgIUSQq3qsF2sSl6jjv6LEXH0dkDF3wwDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNU2Fib3QgdGVzdCBDQTAgFw0yNjEyMDQwMzA0MTdaGA8y
MTI2MTExMDAzMDQxN1owGDEWMBQGA1UEAwwNU2Fib3QgdGVzdCBDQTCCASIwDQYJ
KoZIhvcNAQEBBQADggEPADCCAQoCggEBAKuiszBEiCs9TiQC9Q92+fBJqm4HHKkA
HpXBKEsyQlFmOpZCJ75y/rgdXTXeFd3/uN+kmciTCk7aLHjLhVRGCEZ9sJWmEujX
dzrcCN6tVH4MZISadccd6aKYYBRV/OpRoq54wajWB6QsN0K9nLXO0Dn+bu4vAnJY
ux3JYzyeKOIB2ITJxP13obfXR2N3TmM+/OmPYBfc7+Er6iwN2kMUv8JaQzPD1McH
C9y7nkB0Zjgj6fVW4RJPjZvcYgH87AEt9NaVfcYdK2rPdwhblj5qqp2EB1AEyrI4
OCJAdIBAKCJWw2z8EWpRTW+FnENtodA8C5qGqvmSp/3jSLQjYq2s0/sCAwEAAaNj
MGEwHQYDVR0OBBYEFBwqiER5XzYJqQG1r1gRs6lJFsELMB8GA1UdIwQYMBaAFBwq
iER5XzYJqQG1r1gRs6lJFsELMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD
AgEGMA0GCSqGSIb3DQEBCwUAA4IBAQCaI0LFpR9+HK9AlS+FUPu6LJEfQceCayZT
WuHdSQls4kWKQjbtUPbAzRUX1cAYEKgvcauOlJ0x6elSOojLUWCeZP6POoVRGSaV
O6TmZs+57+C/unwiANhJBFRRTQzsNix2ZbbyiwdvlFvxfl2ihQI37HPp5oWtsjYq
qP2VSSVT2VfIl4hdV6mNHGKniJaXXxNlsK5ombzpgQnS4qPcgYkCZr0aztLwzSL7
cdcY2UzavHUKbHR/vGAmfEmTAwoZcMKiX6Z4kNfjecCTfi1mwUcIRc+FCF7177Qf
RZO6lMwZL7qmB/cgbTLxJLQSe/wdtlLWySjuuXmw3Kn/zb7s7w6S
-----END CERTIFICATE-----
"#;
const TEST_SERVER_CERT: &str = r#"-----BEGIN CERTIFICATE-----
MIIDPTCCAiWgAwIBAgIUJBUB3ta+w1egQJ21Xbsf89zuNtowDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNU2Fib3QgdGVzdCBDQTAgFw0yNjEyMDQwMzA0MTdaGA8y
MTI2MTExMDAzMDQxN1owFDESMBAGA1UEAwwJMTI3LjAuMC4xMIIBIjANBgkqhkiG
9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxBbvh1AjhIvJLafVMIXNCe9AGP/xfhXM9RdK
itg4X9XBVFIrJbAwinSpJ8LRtlTpDO7yRk2HNXKEYFcEneI+ekBT7Jnc4Y46OlAP
e+0o1b9qQj1Q9/DNClJM1Grtup7mla5ckfUNMtHD1obyZEmIon1o59P+r3+mEOfR
JE0ZLQ/VEiZosbgvrN5X1zL7SNkuiaHZkJw/GWIZt378J+MV5wmK/rDqQe41CndC
FK/pwPDX8xFIl+YmUJpMe8AcphslmEmKyqbgfSyXimMdY/DXAwgSeFXtTkhJ6cf7
P/gMt6dtmauRNsL7eEy0Z050QexRxrarbfVo5BlH66GzNbhZXwIDAQABo4GAMH4w
DwYDVR0RBAgwBocEfwAAATAJBgNVHRMEAjAAMAsGA1UdDwQEAwIFoDATBgNVHSUE
DDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUpzCYP1Xh7ETgVKcF5fzY1WqaQAIwHwYD
VR0jBBgwFoAUHCqIRHlfNgmpAbWvWBGzqUkWwQswDQYJKoZIhvcNAQELBQADggEB
ABoVd4mCTdMpmxgIkJ4y8eELlcj9Xg/MjqAzf4IJWYZZvbGIYj7UcLeIQruh5BCr
KW2siBu/4tnqKYSpzFlnJ07L0IMBhZG9uOz0tlbL0Dy5US0AEc/w8xnBrwLhjPMU
hejcOSIn9n6w2IBZrOKbqpsEN+V/NogTLTNbqZck9qeDnRBZtLxlRaH7IsRVTPhs
Jdsq4R9z0mBWdX85611EbGoKgHvMlrW78pXxGqeHt+h2lo3Iccb57ky2JrMcv+q1
WsKl2YKmtKRcZHBcxEbYRZDZRgB9iBlVB7DDN/4r1v7iy5P2hFRCOlNzEBOSeKI+
2nf32IkNkb4IvxMXQZ+fY7M=
-----END CERTIFICATE-----
"#;
const TEST_SERVER_KEY: &str = r#"-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDEFu+HUCOEi8kt
p9Uwhc0J70AY//F+Fcz1F0qK2Dhf1cFUUislsDCKdKknwtG2VOkM7vJGTYc1coRg
VwSd4j56QFPsmdzhjjo6UA977SjVv2pCPVD38M0KUkzUau26nuaVrlyR9Q0y0cPW
hvJkSYiifWjn0/6vf6YQ59EkTRktD9USJmixuC+s3lfXMvtI2S6JodmQnD8ZYhm3
fvwn4xXnCYr+sOpB7jUKd0IUr+nA8NfzEUiX5iZQmkx7wBymGyWYSYrKpuB9LJeK
Yx1j8NcDCBJ4Ve1OSEnpx/s/+Ay3p22Zq5E2wvt4TLRnTnRB7FHGtqtt9WjkGUfr
obM1uFlfAgMBAAECggEADUqqCoJcdflCYMLgnj0OQfR4Ds8X39O7JIiN9/gMvN+b
ZDYm+z4EfE4eF+DfyuaEiZOPfpkgvMxkvAxfTBMa6GSAi9LTeG07Sy/uwhgNouIq
Yg+6nk6HR4IpTQ4WdoZGMQfe+dHM3DtVyq6JCFKSXW6iHsdtmxh2+ZcNGSh/YrYd
TngISblW0iiQkD5E8ipF115PAayikEeZpl5ulvqd1cjvwSBadTmIu+Ok7j72MFBp
27DP+k0iK5UmTeSyFb6X5qRIPfN7KzpCr0Xi2uKV0XSPnxpJP7vcywmlA9Ai/5UZ
IFu1nNw28jtrzLP9ByB2DzU+5ek56n5/3qKf+4ZeiQKBgQDl77S5Y/BuVnsDk4d0
PtH0Yusgu+lZSoqabEZlJDC4nS1IAYUF+4qSyPC/1ZRT9paCb03yqyW2zp9yCM/l
hd9mwu5Uis4QTpqEBhhYrI0b9ioPN8+OjdtLLVQaiouT+9CZT/hXYlcbMRyrToVU
04uRR2qLqT9zSUpkhsWhuCEbdQKBgQDaURB2Uwu+Sv51eAFctzSAsEfm8/QZVO5m
CR4kLYW2wrzEG+tG5lMnnqYPf15Uu4IHhQfV1PH3yyrdCiv55niLJbd6462ktZEa
BGJPug2w3fmhiRBZJDXzI7vtnCyXyrh+4IU4wniG302AIOxeKVm/xGTqvf/nwHj2
zoAi4qsLAwKBgQCg6QH5JyYvoRePJiQJxpiZRMw06Svgz9h1PsZ4qz3pRB1XIbEc
wa51EGfiZ63YoF0txISxCPJonupYHDCY9/mh6VJuGYEhSlC5iaZqD77kTX2bjrwS
j9ViI8OSm1gYZIXTdHJffLNmlRTyEQ4fkbc/INJAEF4V6LlF5kbR6JBKrQKBgGWP
wLDLAXONP8M2CKwxLmOPnmN6qdv+/sjJBRSfeM0E2vwAYPuiupx72ZTsE94nPN5y
rKp1XfuAsHgT+1FOPlW9PhYVRPqS3OXVlEayrxvQqAjV0p0lk1OBFDP9q2ESFbIw
kMlO7vMPfuZUaqGDaxUjMC9kJGCT0bI/bqzL9fYxAoGBANPnObp5r/Qu2+j8PJb3
YSMcs2ppYQvUg+qHzIM/QR7uHftzhhgbugEwq9h5yBZkZb//vBepv3n1yhTms5UM
LBOyvrqCuWXgeS14E1Wll7VkE5wWeKtq4m6Guts8OKhH/nWVrVOGEQhKOoHbtiII
imiF8leaYwyfL2M1O6aa8d0b
-----END PRIVATE KEY-----
"#;

/// A TLS server on 127.0.0.1 answering every request with schema `"int"`.
fn tls_server() -> String {
    let identity =
        native_tls::Identity::from_pkcs8(TEST_SERVER_CERT.as_bytes(), TEST_SERVER_KEY.as_bytes())
            .expect("the test identity");
    let acceptor = native_tls::TlsAcceptor::new(identity).expect("an acceptor");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().take(4) {
            let Ok(stream) = stream else { continue };
            let Ok(mut tls) = acceptor.accept(stream) else {
                continue;
            };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let body = r#"{"schema":"\"int\""}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {CT}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            let _ = tls.shutdown();
        }
    });
    format!("https://{address}")
}

#[test]
fn https_uses_the_ca_file() {
    let url = tls_server();
    let dir = tempfile::tempdir().expect("a folder");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, TEST_CA).expect("writes");
    let client = RegistryClient::new(ClientConfig::new(&url).with_ca_file(&ca)).expect("a client");
    assert_eq!(client.schema(1), Ok(avro_schema(1, "\"int\"", Vec::new())));

    // The system's roots do not know the test CA.
    let untrusting = RegistryClient::new(ClientConfig::new(&url)).expect("a client");
    let error = untrusting.schema(1).expect_err("an unknown CA");
    assert!(
        matches!(&error, RegistryError::Invalid(m) if m.starts_with(&format!("cannot talk to the schema registry at {url}: "))),
        "{error}"
    );
}

#[test]
fn a_bad_ca_file_or_plain_url_with_a_ca_is_a_setup_error() {
    let dir = tempfile::tempdir().expect("a folder");
    let missing = dir.path().join("missing.pem");
    let error =
        RegistryClient::new(ClientConfig::new("https://127.0.0.1:1").with_ca_file(&missing))
            .expect_err("refused");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot read the schema registry's CA file `{}`: ",
            missing.display()
        )),
        "{error}"
    );
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").expect("writes");
    assert_eq!(
        RegistryClient::new(ClientConfig::new("https://127.0.0.1:1").with_ca_file(&empty)).err(),
        Some(RegistryError::Invalid(format!(
            "the schema registry's CA file `{}` holds no certificate",
            empty.display()
        )))
    );
    assert_eq!(
        RegistryClient::new(ClientConfig::new("http://127.0.0.1:1").with_ca_file(&empty)).err(),
        Some(RegistryError::Invalid(
            "a CA file is set for the schema registry, but its URL `http://127.0.0.1:1` is not `https://`".to_owned()
        ))
    );
}
