//! The mask plugin: replace the values of string fields with a fixed mask or
//! a keyed hash.
//!
//! ```yaml
//! transforms:
//!   - plugin: plugins/mask.wasm
//!     config: { fields: [customer.email, card], mode: hash, key: "${env:MASK_KEY}" }
//! ```
//!
//! - `fields` lists dotted paths into struct columns (`sender.login`).
//!   Fields inside lists of structs cannot be named.
//! - `mode: fixed` (the default) writes `mask` (default `****`) over every
//!   non-null value; `mode: hash` writes the HMAC-SHA256 of the value under
//!   `key`, as 64 lowercase hex digits, so equal values stay equal (joins
//!   and counts still work) without revealing them.
//! - Nulls stay null.
//! - `require: false` (the default) skips listed fields a batch does not
//!   have; `require: true` makes a missing field an error.
//!
//! A listed field that is not a string column is an error naming its type.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow_schema::DataType;
use hmac::{Hmac, Mac};
use sabot_plugin_sdk::columns::type_name;
use sabot_plugin_sdk::{BatchTransform, Config, ConfigField, FieldType, Info, Output};
use sha2::Sha256;

/// How values are replaced.
#[derive(Clone)]
pub enum Mode {
    /// By this fixed text.
    Fixed(String),
    /// By the HMAC-SHA256 of the value under this key, in lowercase hex.
    Hash(Hmac<Sha256>),
}

impl std::fmt::Debug for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Fixed(mask) => f.debug_tuple("Fixed").field(mask).finish(),
            // Never print the key.
            Mode::Hash(_) => f.write_str("Hash"),
        }
    }
}

/// A configured mask.
#[derive(Debug, Clone)]
pub struct Mask {
    /// The dotted paths of the fields to mask.
    pub fields: Vec<String>,
    /// How values are replaced.
    pub mode: Mode,
    /// Whether a listed field missing from a batch is an error.
    pub require: bool,
}

impl Mask {
    /// Mask the listed fields of `batch`.
    ///
    /// # Errors
    ///
    /// When a listed field is not a string column, or is missing and
    /// `require` is set.
    pub fn apply(&self, batch: RecordBatch) -> Result<RecordBatch, String> {
        let mut batch = batch;
        for field in &self.fields {
            let column = if self.require {
                sabot_plugin_sdk::column(&batch, field)?
            } else {
                match sabot_plugin_sdk::find_column(&batch, field)? {
                    Some(column) => column,
                    None => continue,
                }
            };
            let masked = self.mask_column(field, &column)?;
            batch = sabot_plugin_sdk::replace_column(&batch, field, masked)?;
        }
        Ok(batch)
    }

    /// The masked copy of one string column.
    fn mask_column(&self, field: &str, column: &ArrayRef) -> Result<ArrayRef, String> {
        let not_string = || {
            format!(
                "field `{field}` is {}; only string fields can be masked",
                type_name(column.data_type())
            )
        };
        let mut scratch = String::new();
        let masked: ArrayRef = match column.data_type() {
            DataType::Utf8 => {
                let strings = column
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .ok_or_else(not_string)?;
                Arc::new(
                    strings
                        .iter()
                        .map(|v| v.map(|v| self.replace(v, &mut scratch).to_owned()))
                        .collect::<StringArray>(),
                )
            }
            DataType::LargeUtf8 => {
                let strings = column
                    .as_any()
                    .downcast_ref::<LargeStringArray>()
                    .ok_or_else(not_string)?;
                Arc::new(
                    strings
                        .iter()
                        .map(|v| v.map(|v| self.replace(v, &mut scratch).to_owned()))
                        .collect::<LargeStringArray>(),
                )
            }
            DataType::Utf8View => {
                let strings = column
                    .as_any()
                    .downcast_ref::<StringViewArray>()
                    .ok_or_else(not_string)?;
                Arc::new(
                    strings
                        .iter()
                        .map(|v| v.map(|v| self.replace(v, &mut scratch).to_owned()))
                        .collect::<StringViewArray>(),
                )
            }
            _ => return Err(not_string()),
        };
        Ok(masked)
    }

    /// The replacement for one value; `scratch` holds a computed hash.
    fn replace<'a>(&'a self, value: &str, scratch: &'a mut String) -> &'a str {
        match &self.mode {
            Mode::Fixed(mask) => mask,
            Mode::Hash(keyed) => {
                let mut mac = keyed.clone();
                mac.update(value.as_bytes());
                let digest = mac.finalize().into_bytes();
                scratch.clear();
                for byte in digest {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    scratch.push(char::from(HEX[usize::from(byte >> 4)]));
                    scratch.push(char::from(HEX[usize::from(byte & 0x0f)]));
                }
                scratch
            }
        }
    }
}

impl BatchTransform for Mask {
    fn describe() -> Info {
        Info::new(
            "mask",
            env!("CARGO_PKG_VERSION"),
            "Replaces the values of string fields with a fixed mask or a keyed hash; nulls stay null.",
        )
        .field(ConfigField::required(
            "fields",
            FieldType::List,
            "The string fields to mask, as dotted paths into struct columns, e.g. `customer.email`.",
        ))
        .field(ConfigField::optional(
            "mode",
            FieldType::String,
            Some("\"fixed\""),
            "`fixed` writes `mask` over each value; `hash` writes the HMAC-SHA256 of the value under `key`, in hex.",
        ))
        .field(ConfigField::optional(
            "mask",
            FieldType::String,
            Some("\"****\""),
            "The text that replaces each value when `mode` is `fixed`.",
        ))
        .field(ConfigField::optional(
            "key",
            FieldType::String,
            None,
            "The secret HMAC key; required when `mode` is `hash`.",
        ))
        .field(ConfigField::optional(
            "require",
            FieldType::Boolean,
            Some("false"),
            "Whether a listed field missing from a batch is an error rather than skipped.",
        ))
    }

    fn init(config: &Config) -> Result<Self, String> {
        let fields = config
            .string_list("fields")?
            .ok_or_else(|| "config key `fields` is required".to_owned())?;
        if fields.is_empty() {
            return Err("config key `fields` must list at least one field".to_owned());
        }
        if let Some(empty) = fields.iter().position(String::is_empty) {
            return Err(format!(
                "config key `fields` has an empty name at item {empty}"
            ));
        }
        let mode = match config
            .one_of("mode", &["fixed", "hash"])?
            .unwrap_or("fixed")
        {
            "hash" => {
                let key = config.str("key")?.ok_or_else(|| {
                    "config key `key` is required when `mode` is `hash`".to_owned()
                })?;
                if key.is_empty() {
                    return Err("config key `key` must not be empty".to_owned());
                }
                let keyed = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                    .map_err(|e| format!("config key `key` cannot be used: {e}"))?;
                Mode::Hash(keyed)
            }
            _ => Mode::Fixed(config.str("mask")?.unwrap_or("****").to_owned()),
        };
        let require = config.bool("require")?.unwrap_or(false);
        Ok(Mask {
            fields,
            mode,
            require,
        })
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<Output, String> {
        self.apply(batch).map(Output::keep)
    }
}

sabot_plugin_sdk::export_batch_plugin!(Mask);

#[cfg(test)]
mod tests;
