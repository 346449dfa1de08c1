//! Fuzzes the JSON decoder, schema inference and the encoder: the input is
//! split on newlines into record values, a schema is inferred from them,
//! and they are decoded with both the inferred schema and a fixed one that
//! covers every column type. Nothing may panic; every value must come out
//! either as a row or as an error; and the good rows must re-encode.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sabot::format::{JsonDecoder, JsonEncoder, JsonOptions, UnknownFields, infer_schema, parse_schema};

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let input: Vec<Option<&[u8]>> = values.iter().map(|v| Some(*v)).collect();

    let fixed = serde_json::json!({
        "b": "bool", "i": "int32", "u": "uint64", "f": "float32", "s": "utf8", "bin": "binary",
        "d": "date", "ts": "timestamp(us, UTC)", "dec": "decimal(20, 4)", "j": "json",
        "c": {"struct": {"id": {"type": "int64", "nullable": false}, "tags": {"list": "string"}}},
    });
    let Ok(fixed) = parse_schema(&fixed) else {
        panic!("the fixed schema is valid");
    };
    let mut schemas = vec![Arc::new(fixed)];
    if let Ok(inferred) = infer_schema(values.iter().copied()) {
        schemas.push(Arc::new(inferred));
    }
    for schema in schemas {
        for unknown_fields in [UnknownFields::Ignore, UnknownFields::Reject] {
            let Ok(mut decoder) = JsonDecoder::new(schema.clone(), JsonOptions { unknown_fields }) else {
                panic!("parsed and inferred schemas are supported");
            };
            let decoded = decoder.decode(&input);
            assert_eq!(decoded.rows.len() + decoded.errors.len(), input.len());
            assert_eq!(decoded.batch.num_rows(), decoded.rows.len());
            let mut out = Vec::new();
            let mut ends = Vec::new();
            let encoded = JsonEncoder::new().encode(&decoded.batch, &mut out, &mut ends);
            assert!(encoded.is_ok(), "{encoded:?}");
            assert_eq!(ends.len(), decoded.rows.len());
        }
    }
});
