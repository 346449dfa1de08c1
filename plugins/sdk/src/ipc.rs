//! Arrow IPC stream encoding, the form batches take across the component
//! boundary: one schema message and at most one record batch.

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;

/// Decode an Arrow IPC stream into one batch. A stream with several batches
/// is concatenated; one with none gives an empty batch of its schema.
///
/// # Errors
///
/// When the bytes are not a complete Arrow IPC stream.
pub fn decode(bytes: Vec<u8>) -> Result<RecordBatch, String> {
    let mut buffer = Buffer::from_vec(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::with_capacity(1);
    while !buffer.is_empty() {
        match decoder.decode(&mut buffer) {
            Ok(Some(batch)) => batches.push(batch),
            Ok(None) => {}
            Err(e) => return Err(format!("the input is not a valid Arrow IPC stream: {e}")),
        }
    }
    decoder
        .finish()
        .map_err(|e| format!("the input Arrow IPC stream is cut short: {e}"))?;
    let schema = decoder
        .schema()
        .ok_or_else(|| "the input Arrow IPC stream has no schema".to_owned())?;
    match batches.len() {
        0 => Ok(RecordBatch::new_empty(schema)),
        1 => Ok(batches.remove(0)),
        _ => arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|e| format!("cannot join the batches of the input stream: {e}")),
    }
}

/// Encode one batch as an Arrow IPC stream.
///
/// # Errors
///
/// When Arrow cannot encode the batch (a type the IPC format lacks).
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    // Not `get_array_memory_size`: arrays decoded from IPC share the one
    // input buffer, which it counts once per array, overflowing wasm32's
    // address space on wide batches.
    let mut out = Vec::with_capacity(64 * 1024);
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema())
        .map_err(|e| format!("cannot encode the output schema: {e}"))?;
    writer
        .write(batch)
        .map_err(|e| format!("cannot encode the output batch: {e}"))?;
    writer
        .finish()
        .map_err(|e| format!("cannot finish the output stream: {e}"))?;
    drop(writer);
    Ok(out)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int32Array};
    use std::sync::Arc;

    #[test]
    fn round_trips_a_batch() {
        let batch = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int32Array::from(vec![1, 2, 3])) as ArrayRef,
        )])
        .unwrap();
        let bytes = encode(&batch).unwrap();
        assert_eq!(decode(bytes).unwrap(), batch);
    }

    #[test]
    fn rejects_garbage() {
        let err = decode(vec![1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap_err();
        assert!(err.starts_with("the input "), "{err}");
        assert_eq!(
            decode(Vec::new()).unwrap_err(),
            "the input Arrow IPC stream has no schema"
        );
    }
}
