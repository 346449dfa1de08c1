//! A plugin's configuration: the fields it declares and typed getters over
//! the `config:` map of a pipeline.
//!
//! Every getter's error names the key and says what it expected and what it
//! got, so a plugin can return it unchanged from
//! [`BatchTransform::init`](crate::BatchTransform::init):
//!
//! ```text
//! config key `op` must be one of `==`, `!=`, `>`, `>=`, `<`, `<=`; got `~`
//! ```

use serde_json::{Map, Value};

/// The kind of value a config field takes, as listed by `describe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON integer.
    Integer,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON array.
    List,
    /// Any JSON value.
    Any,
}

/// One config field a plugin understands.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigField {
    /// The key as written in a pipeline file.
    pub name: String,
    /// The kind of value it takes.
    pub ty: FieldType,
    /// Whether the plugin refuses to start without it.
    pub required: bool,
    /// The default, as JSON text, for optional fields.
    pub default: Option<String>,
    /// One or two sentences for users.
    pub doc: String,
}

impl ConfigField {
    /// A field the plugin cannot start without.
    pub fn required(name: &str, ty: FieldType, doc: &str) -> Self {
        ConfigField {
            name: name.to_owned(),
            ty,
            required: true,
            default: None,
            doc: doc.to_owned(),
        }
    }

    /// An optional field; `default` is the JSON text of its default, if it
    /// has one (`"\"****\""`, `"false"`).
    pub fn optional(name: &str, ty: FieldType, default: Option<&str>, doc: &str) -> Self {
        ConfigField {
            name: name.to_owned(),
            ty,
            required: false,
            default: default.map(str::to_owned),
            doc: doc.to_owned(),
        }
    }
}

/// The checked `config:` map of a pipeline, as a plugin's `init` sees it.
#[derive(Debug, Clone)]
pub struct Config {
    /// The whole map, as given.
    value: Value,
}

impl Config {
    /// Parse the config JSON text the host passes to `init` and check it
    /// against the declared fields: it must be an object, every key must be
    /// declared, and every required key present.
    ///
    /// # Errors
    ///
    /// A message naming the first problem found.
    pub fn parse(text: &str, fields: &[ConfigField]) -> Result<Config, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("the config is not valid JSON: {e}"))?;
        Config::from_value(value, fields)
    }

    /// Check an already parsed config; see [`Config::parse`].
    ///
    /// # Errors
    ///
    /// A message naming the first problem found.
    pub fn from_value(value: Value, fields: &[ConfigField]) -> Result<Config, String> {
        // A pipeline without a `config:` map hands over `null`.
        let value = match value {
            Value::Null => Value::Object(Map::new()),
            other => other,
        };
        let Value::Object(map) = &value else {
            return Err(format!(
                "the config must be a map of keys to values; got {}",
                describe_value(&value)
            ));
        };
        for key in map.keys() {
            if !fields.iter().any(|f| f.name == *key) {
                return Err(unknown_key(key, fields));
            }
        }
        for field in fields.iter().filter(|f| f.required) {
            if map.get(&field.name).is_none_or(Value::is_null) {
                return Err(format!(
                    "config key `{}` is required: {}",
                    field.name, field.doc
                ));
            }
        }
        Ok(Config { value })
    }

    /// The whole config as JSON.
    pub fn raw(&self) -> &Value {
        &self.value
    }

    /// The value of `key`, if present and not `null`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.value.get(key).filter(|v| !v.is_null())
    }

    /// The value of `key`, which must be present.
    ///
    /// # Errors
    ///
    /// "config key `key` is required" when it is absent or `null`.
    pub fn require(&self, key: &str) -> Result<&Value, String> {
        self.get(key)
            .ok_or_else(|| format!("config key `{key}` is required"))
    }

    /// The string value of `key`, if present.
    ///
    /// # Errors
    ///
    /// When the value is not a string.
    pub fn str(&self, key: &str) -> Result<Option<&str>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    /// The string value of `key`, which must be present.
    ///
    /// # Errors
    ///
    /// When it is absent or not a string.
    pub fn required_str(&self, key: &str) -> Result<&str, String> {
        self.str(key)?
            .ok_or_else(|| format!("config key `{key}` is required"))
    }

    /// The boolean value of `key`, if present.
    ///
    /// # Errors
    ///
    /// When the value is not `true` or `false`.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(key, "`true` or `false`", other)),
        }
    }

    /// The value of `key` if it is one of `choices`.
    ///
    /// # Errors
    ///
    /// "config key `op` must be one of `==`, `!=`; got `~`".
    pub fn one_of<'c>(&self, key: &str, choices: &[&'c str]) -> Result<Option<&'c str>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let list = choices
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let Value::String(s) = value else {
            return Err(format!(
                "config key `{key}` must be one of {list}; got {}",
                describe_value(value)
            ));
        };
        choices
            .iter()
            .find(|c| **c == s.as_str())
            .copied()
            .map(Some)
            .ok_or_else(|| format!("config key `{key}` must be one of {list}; got `{s}`"))
    }

    /// The value of `key` as a list of strings, if present.
    ///
    /// # Errors
    ///
    /// When the value is not a list, or an item is not a string.
    pub fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(wrong_type(key, "a list of strings", value));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "config key `{key}` must be a list of strings; item {i} is {}",
                    describe_value(other)
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The message for a value of the wrong JSON type.
fn wrong_type(key: &str, expected: &str, got: &Value) -> String {
    format!(
        "config key `{key}` must be {expected}; got {}",
        describe_value(got)
    )
}

/// The message for an undeclared key, with the closest declared key if one
/// is near enough to be a typo.
fn unknown_key(key: &str, fields: &[ConfigField]) -> String {
    let known = fields
        .iter()
        .map(|f| format!("`{}`", f.name))
        .collect::<Vec<_>>()
        .join(", ");
    let closest = fields
        .iter()
        .map(|f| (edit_distance(key, &f.name), &f.name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d);
    match (closest, fields.is_empty()) {
        (_, true) => format!("config key `{key}` is not known; this plugin takes no config"),
        (Some((_, name)), false) => {
            format!(
                "config key `{key}` is not known (did you mean `{name}`?); the keys are: {known}"
            )
        }
        (None, false) => format!("config key `{key}` is not known; the keys are: {known}"),
    }
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A JSON value in words for an error message: "the number `5`".
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "`null`".to_owned(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a map".to_owned(),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<ConfigField> {
        vec![
            ConfigField::required("field", FieldType::String, "The column to compare."),
            ConfigField::optional("mode", FieldType::String, Some("\"fixed\""), "How to mask."),
            ConfigField::optional("fields", FieldType::List, None, "Columns."),
            ConfigField::optional("require", FieldType::Boolean, Some("false"), "Strict."),
        ]
    }

    #[test]
    fn rejects_unknown_keys_with_a_suggestion() {
        let err = Config::parse(r#"{"field": "a", "feild": 1}"#, &fields()).unwrap_err();
        assert_eq!(
            err,
            "config key `feild` is not known (did you mean `field`?); \
             the keys are: `field`, `mode`, `fields`, `require`"
        );
        let err = Config::parse(r#"{"field": "a", "zzzzzz": 1}"#, &fields()).unwrap_err();
        assert_eq!(
            err,
            "config key `zzzzzz` is not known; the keys are: `field`, `mode`, `fields`, `require`"
        );
    }

    #[test]
    fn rejects_missing_required_keys_and_non_objects() {
        let err = Config::parse("{}", &fields()).unwrap_err();
        assert_eq!(
            err,
            "config key `field` is required: The column to compare."
        );
        let err = Config::parse("[1]", &fields()).unwrap_err();
        assert_eq!(
            err,
            "the config must be a map of keys to values; got a list"
        );
        let err = Config::parse("{", &fields()).unwrap_err();
        assert!(err.starts_with("the config is not valid JSON: "), "{err}");
        assert!(Config::parse("null", &[]).is_ok());
    }

    #[test]
    fn typed_getters_name_the_key() {
        let config = Config::from_value(
            json!({"field": 5, "mode": "~", "fields": ["a", 1], "require": "yes"}),
            &fields(),
        )
        .unwrap();
        assert_eq!(
            config.str("field").unwrap_err(),
            "config key `field` must be a string; got the number `5`"
        );
        assert_eq!(
            config.one_of("mode", &["fixed", "hash"]).unwrap_err(),
            "config key `mode` must be one of `fixed`, `hash`; got `~`"
        );
        assert_eq!(
            config.string_list("fields").unwrap_err(),
            "config key `fields` must be a list of strings; item 1 is the number `1`"
        );
        assert_eq!(
            config.bool("require").unwrap_err(),
            "config key `require` must be `true` or `false`; got the string `yes`"
        );
        assert_eq!(config.str("absent").unwrap(), None);
    }

    #[test]
    fn typed_getters_return_values() {
        let config = Config::from_value(
            json!({"field": "a.b", "mode": "hash", "fields": ["x", "y"], "require": true}),
            &fields(),
        )
        .unwrap();
        assert_eq!(config.required_str("field").unwrap(), "a.b");
        assert_eq!(
            config.one_of("mode", &["fixed", "hash"]).unwrap(),
            Some("hash")
        );
        assert_eq!(
            config.string_list("fields").unwrap(),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        assert_eq!(config.bool("require").unwrap(), Some(true));
    }
}
