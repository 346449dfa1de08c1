//! Arbitrary bytes through the Confluent wire-format framing: errors, never
//! panics, and a value that parses splits back into what it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sabot::schema::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(framed) = wire::parse(data) {
        let mut again = Vec::new();
        wire::write_header(framed.schema_id, &mut again);
        again.extend_from_slice(framed.payload);
        assert_eq!(again, data);
    }
    if let Ok(framed) = wire::parse_protobuf(data) {
        assert!(framed.payload.len() <= data.len().saturating_sub(wire::HEADER_LEN + 1));
    }
});
