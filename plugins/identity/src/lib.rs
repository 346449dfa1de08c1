//! The identity plugin: returns every batch unchanged.
//!
//! It still decodes the Arrow IPC stream it is given and encodes the batch
//! again, like any Rust plugin does, so a pipeline with it measures what the
//! plugin boundary costs.

use arrow_array::RecordBatch;
use sabot_plugin_sdk::{BatchTransform, Config, Info, Output};

/// The plugin; it has no config and no state.
pub struct Identity;

impl BatchTransform for Identity {
    fn describe() -> Info {
        Info::new(
            "identity",
            env!("CARGO_PKG_VERSION"),
            "Returns every batch unchanged; for measuring the cost of a plugin.",
        )
    }

    fn init(_config: &Config) -> Result<Self, String> {
        Ok(Identity)
    }

    fn transform(&mut self, batch: RecordBatch) -> Result<Output, String> {
        Ok(Output::keep(batch))
    }
}

sabot_plugin_sdk::export_batch_plugin!(Identity);

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, StringArray};
    use std::sync::Arc;

    #[test]
    fn returns_the_batch_unchanged() {
        let batch = RecordBatch::try_from_iter(vec![(
            "s",
            Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
        )])
        .unwrap();
        let mut plugin = Identity::init(&Config::parse("{}", &[]).unwrap()).unwrap();
        let out = plugin.transform(batch.clone()).unwrap();
        assert_eq!(out.batch, batch);
        assert!(out.rejected.is_empty());
    }
}
