//! Arrow IPC streams across the plugin boundary, on the host's side.

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::SchemaRef;

/// Encode `batch` as an IPC stream: its schema and the one batch.
pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, String> {
    // Not `get_array_memory_size`: arrays decoded from IPC share one buffer,
    // which it counts once per array.
    let mut out = Vec::with_capacity(64 * 1024);
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    drop(writer);
    Ok(out)
}

/// Decode a plugin's output stream. An empty stream means no rows kept and
/// gives an empty batch of `input_schema`; a stream with only a schema gives
/// an empty batch of that schema.
///
/// # Errors
///
/// When the bytes are not one complete, valid IPC stream with at most one
/// batch. Arrow validates the arrays as it decodes them.
pub fn decode_output(bytes: Vec<u8>, input_schema: &SchemaRef) -> Result<RecordBatch, String> {
    if bytes.is_empty() {
        return Ok(RecordBatch::new_empty(input_schema.clone()));
    }
    let mut buffer = Buffer::from_vec(bytes);
    let mut decoder = StreamDecoder::new();
    let mut batch = None;
    while !buffer.is_empty() {
        let decoded = decoder
            .decode(&mut buffer)
            .map_err(|e| format!("its batch is not a valid Arrow IPC stream: {e}"))?;
        if let Some(decoded) = decoded {
            if batch.is_some() {
                return Err("its Arrow IPC stream holds more than one record batch".to_owned());
            }
            batch = Some(decoded);
        }
    }
    decoder
        .finish()
        .map_err(|e| format!("its batch is not a complete Arrow IPC stream: {e}"))?;
    match (batch, decoder.schema()) {
        (Some(batch), _) => Ok(batch),
        (None, Some(schema)) => Ok(RecordBatch::new_empty(schema)),
        (None, None) => Err("its Arrow IPC stream has no schema".to_owned()),
    }
}
