//! The code behind [`export_batch_plugin!`](crate::export_batch_plugin):
//! between the generated bindings and a [`BatchTransform`].

use std::cell::RefCell;

use crate::bindings::exports::sabot::plugin::batch_transform::BatchResult;
use crate::bindings::sabot::plugin::types::{self as wit, PluginInfo};
use crate::config::{Config, FieldType};
use crate::{BatchTransform, ipc};

/// `describe`, in the WIT's types.
pub fn describe<T: BatchTransform>() -> PluginInfo {
    let info = T::describe();
    PluginInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        config: info
            .config
            .into_iter()
            .map(|f| wit::ConfigField {
                name: f.name,
                type_: match f.ty {
                    FieldType::String => wit::FieldType::String,
                    FieldType::Integer => wit::FieldType::Integer,
                    FieldType::Number => wit::FieldType::Number,
                    FieldType::Boolean => wit::FieldType::Boolean,
                    FieldType::List => wit::FieldType::List,
                    FieldType::Any => wit::FieldType::Any,
                },
                required: f.required,
                default: f.default,
                doc: f.doc,
            })
            .collect(),
    }
}

/// `init`: check the config against the declared fields, then build the
/// plugin into `slot`.
pub fn init<T: BatchTransform>(slot: &RefCell<Option<T>>, config: &str) -> Result<(), String> {
    let config = Config::parse(config, &T::describe().config)?;
    let plugin = T::init(&config)?;
    *slot.borrow_mut() = Some(plugin);
    Ok(())
}

/// `transform`: decode, call the plugin, encode.
pub fn transform<T: BatchTransform>(
    slot: &RefCell<Option<T>>,
    batch: Vec<u8>,
) -> Result<BatchResult, String> {
    let mut slot = slot.borrow_mut();
    let plugin = slot
        .as_mut()
        .ok_or_else(|| "the plugin was given a batch before `init` succeeded".to_owned())?;
    let batch = ipc::decode(batch)?;
    let output = plugin.transform(batch)?;
    Ok(BatchResult {
        batch: ipc::encode(&output.batch)?,
        rejected: output
            .rejected
            .into_iter()
            .map(|(row, reason)| wit::Rejection { row, reason })
            .collect(),
    })
}
