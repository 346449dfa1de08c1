//! Reading requests of the embedded registry: path parameters, bodies and
//! query strings, each failure answered in the API's error shape rather
//! than a framework's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{StatusCode, request::Parts};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::compat::Level;
use super::request::{Rejection, SchemaRequest};
use super::server::MAX_BODY_BYTES;
use super::{SchemaReference, SchemaType};

/// Path parameters, deserialised; a bad one answers in the API's shape.
pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Params(value)),
            Err(e) => Err(Rejection::new(404, 404, format!("HTTP 404 Not Found: {e}"))),
        }
    }
}

/// A request body, at most [`MAX_BODY_BYTES`].
pub(super) struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Rejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Rejection::new(
                413,
                413,
                format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )),
            Err(e) => Err(Rejection::new(
                400,
                400,
                format!("cannot read the request body: {e}"),
            )),
        }
    }
}

impl Body {
    /// The body as a JSON object.
    pub(super) fn object(&self) -> Result<Map<String, Value>, Rejection> {
        match serde_json::from_slice::<Value>(&self.0) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Rejection::new(
                422,
                422,
                "the request body must be a JSON object",
            )),
            Err(e) => Err(Rejection::new(
                400,
                400,
                format!("the request body is not valid JSON: {e}"),
            )),
        }
    }

    /// The body as a schema to register, look up or check.
    pub(super) fn schema_request(&self) -> Result<SchemaRequest, Rejection> {
        let body = self.object()?;
        let schema_type = match body.get("schemaType") {
            None | Some(Value::Null) => SchemaType::Avro,
            Some(Value::String(name)) => SchemaType::parse(name).ok_or_else(|| {
                Rejection::new(
                    422,
                    42201,
                    format!("Invalid schema type `{name}`: use AVRO, PROTOBUF or JSON"),
                )
            })?,
            Some(_) => {
                return Err(Rejection::new(
                    422,
                    42201,
                    "`schemaType` must be a string: AVRO, PROTOBUF or JSON",
                ));
            }
        };
        let schema = match body.get("schema") {
            Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(Rejection::invalid_schema(
                    schema_type,
                    "the request has no `schema`; send {\"schema\": \"...\"}",
                ));
            }
            Some(_) => {
                return Err(Rejection::invalid_schema(
                    schema_type,
                    "`schema` must be the schema's text as a JSON string",
                ));
            }
        };
        let references = match body.get("references") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| reference(schema_type, i, item))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(Rejection::invalid_schema(
                    schema_type,
                    "`references` must be a list of {\"name\", \"subject\", \"version\"}",
                ));
            }
        };
        Ok(SchemaRequest {
            schema_type,
            schema,
            references,
        })
    }
}

/// Reference `i` of a request.
fn reference(
    schema_type: SchemaType,
    i: usize,
    item: &Value,
) -> Result<SchemaReference, Rejection> {
    let bad = |what: &str| {
        Rejection::invalid_schema(
            schema_type,
            &format!("reference {i} {what}; each is {{\"name\", \"subject\", \"version\"}}"),
        )
    };
    let name = item
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let subject = item
        .get("subject")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let version = item.get("version").and_then(Value::as_u64);
    match (name, subject, version) {
        (None, _, _) => Err(bad("has no `name`")),
        (_, None, _) => Err(bad("has no `subject`")),
        (Some(name), Some(subject), Some(version)) if (1..=i32::MAX as u64).contains(&version) => {
            Ok(SchemaReference {
                name: name.to_owned(),
                subject: subject.to_owned(),
                version: version as u32,
            })
        }
        _ => Err(bad("has no `version` from 1 to 2147483647")),
    }
}

/// `key=value` pairs of a query string, `+` and `%XX` decoded.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decode `+` and `%XX`; a bad escape stays as it is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of a request.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    pub(super) fn of(raw: Option<String>) -> Query {
        Query(query_pairs(raw.as_deref()))
    }

    /// The last value of `key`.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A boolean parameter, in any case (Python's clients send `True`);
    /// absent is `false`.
    pub(super) fn flag(&self, key: &str) -> Result<bool, Rejection> {
        match self.get(key) {
            None => Ok(false),
            Some(v) if v.is_empty() || v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(Rejection::new(
                400,
                400,
                format!("`{key}` must be `true` or `false`, not `{v}`"),
            )),
        }
    }
}

/// A schema id from the path; anything but a number is an unknown id.
pub(super) fn schema_id(text: &str) -> Result<u32, Rejection> {
    text.parse::<u32>()
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| Rejection::schema_id_not_found(text))
}

/// The level in a `PUT /config` body.
pub(super) fn level_in(body: &Body) -> Result<Level, Rejection> {
    body.object()?
        .get("compatibility")
        .and_then(Value::as_str)
        .and_then(Level::parse)
        .ok_or_else(Rejection::invalid_compatibility)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_escapes_and_flags_take_any_case() {
        let query = Query::of(Some(
            "normalize=False&verbose=True&subjectPrefix=a%2Fb+c&x=%zz".to_owned(),
        ));
        assert_eq!(query.flag("normalize"), Ok(false));
        assert_eq!(query.flag("verbose"), Ok(true));
        assert_eq!(query.flag("deleted"), Ok(false));
        assert_eq!(query.get("subjectPrefix"), Some("a/b c"));
        assert_eq!(query.get("x"), Some("%zz"));
        assert_eq!(
            query.flag("x"),
            Err(Rejection::new(
                400,
                400,
                "`x` must be `true` or `false`, not `%zz`"
            ))
        );
    }

    #[test]
    fn ids_that_are_not_numbers_are_unknown() {
        assert_eq!(schema_id("12"), Ok(12));
        assert_eq!(schema_id("0"), Err(Rejection::schema_id_not_found("0")));
        assert_eq!(schema_id("abc"), Err(Rejection::schema_id_not_found("abc")));
    }
}
