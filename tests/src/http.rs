//! A small HTTP/1.1 client over `TcpStream` for the REST tests.
//!
//! The request is exactly the bytes a test writes, malformed bodies
//! included, which a full client would refuse to send; the answer is the
//! status, the body as JSON when it is JSON, and the raw text. One
//! connection per request (`Connection: close`), on 127.0.0.1 only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

/// How long one request may take, connecting and reading included.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An answer to [`http`].
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body parsed as JSON; `Value::Null` when it is empty and
    /// `Value::String` holding the text when it is not JSON.
    pub body: Value,
    /// The body as text, chunked encoding removed.
    pub text: String,
}

/// Sends `method path` with `body` (as `application/json`) to the server on
/// `127.0.0.1:port` and reads the whole answer.
///
/// # Errors
///
/// The connection fails or times out, or the answer is not HTTP.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<HttpResponse, String> {
    let what = format!("{method} http://127.0.0.1:{port}{path}");
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|error| format!("{what}: cannot connect: {error}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|error| format!("{what}: cannot set a timeout: {error}"))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|error| format!("{what}: cannot send: {error}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|error| format!("{what}: cannot read the answer: {error}"))?;
    parse_response(&raw).map_err(|error| format!("{what}: {error}"))
}

/// [`http`] with a JSON body.
///
/// # Errors
///
/// As [`http`].
pub fn http_json(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<HttpResponse, String> {
    let text = body.map(Value::to_string);
    http(port, method, path, text.as_deref())
}

/// Splits a raw HTTP/1.1 answer into status and body.
fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("the answer has no end of headers: {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("the answer has no status line: {head:?}"))?;
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    let text = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
    };
    Ok(HttpResponse { status, body, text })
}

/// The payload of a chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        // A chunk size may carry extensions after `;`.
        let size = size.split(';').next().unwrap_or("").trim();
        let Ok(n) = usize::from_str_radix(size, 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_json_answer_is_parsed() {
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Length: 38\r\n\r\n{\"error_code\":404,\"message\":\"gone\"}";
        let answer = parse_response(raw).expect("an answer");
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, json!({"error_code": 404, "message": "gone"}));
    }

    #[test]
    fn a_chunked_answer_is_joined() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n";
        let answer = parse_response(raw).expect("an answer");
        assert_eq!((answer.status, answer.body), (200, json!([1, 2])));
    }

    #[test]
    fn an_empty_or_text_body_is_kept() {
        let empty = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").expect("an answer");
        assert_eq!((empty.status, empty.body), (204, Value::Null));
        let text = parse_response(b"HTTP/1.1 200 OK\r\n\r\n# HELP x").expect("an answer");
        assert_eq!(text.body, json!("# HELP x"));
    }
}
