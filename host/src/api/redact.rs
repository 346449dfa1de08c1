//! Hiding secrets in every config the API shows.
//!
//! A value is shown as `[hidden]` when its key names a secret (it contains
//! `password`, `secret`, `token` or `sasl.`, in any case) or when the value
//! is, or holds, an `${env:…}` or `${file:…}` reference: those exist to
//! keep secrets out of configs, so what they point at is not shown either.

use serde_json::{Map, Value};

/// What a hidden value shows as.
pub const HIDDEN: &str = "[hidden]";

/// Whether `key` names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "sasl."]
        .iter()
        .any(|w| key.contains(w))
}

/// Whether `value` is or holds a reference.
fn is_reference(value: &str) -> bool {
    value.contains("${env:") || value.contains("${file:")
}

/// `config` with its secrets hidden, at any depth.
pub fn redact(config: &Map<String, Value>) -> Map<String, Value> {
    config
        .iter()
        .map(|(k, v)| {
            let shown = if is_secret_key(k) && !v.is_null() {
                Value::String(HIDDEN.to_owned())
            } else {
                redact_value(v)
            };
            (k.clone(), shown)
        })
        .collect()
}

fn redact_value(value: &Value) -> Value {
    match value {
        Value::String(s) if is_reference(s) => Value::String(HIDDEN.to_owned()),
        Value::Object(map) => Value::Object(redact(map)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_secret_keys_and_references_at_any_depth() {
        let config = serde_json::json!({
            "consumer.override.sasl.jaas.config": "x",
            "sabot.brokers": "${env:KAFKA_BROKERS}",
            "topics": "orders",
            "source": { "kafka": { "properties": { "ssl.key.password": "p" }, "group": "g" } },
            "list": ["a", "${file:secret.txt}"],
            "api_token": null,
        });
        let Value::Object(map) = config else {
            unreachable!()
        };
        let shown = Value::Object(redact(&map));
        assert_eq!(
            shown,
            serde_json::json!({
                "consumer.override.sasl.jaas.config": "[hidden]",
                "sabot.brokers": "[hidden]",
                "topics": "orders",
                "source": { "kafka": { "properties": { "ssl.key.password": "[hidden]" }, "group": "g" } },
                "list": ["a", "[hidden]"],
                "api_token": null,
            })
        );
    }
}
