//! `GET`, `PATCH` and `DELETE /connectors/{name}/offsets`, in Kafka
//! Connect's shapes.
//!
//! A connector reading Kafka is, in Kafka Connect's terms, a sink
//! connector: its offsets are its consumer group's, one entry per
//! partition,
//!
//! ```json
//! {"offsets": [{"partition": {"kafka_topic": "orders", "kafka_partition": 0},
//!               "offset": {"kafka_offset": 1200}}]}
//! ```
//!
//! and a `PATCH` takes the same list. Besides Kafka Connect's forms, an
//! entry may leave out `kafka_partition` to mean every partition of the
//! topic, and give `{"kafka_timestamp": MS}` as its offset to seek each
//! partition to its first record at or after that time. A `null` offset
//! sends a partition back to where the source's `start` puts partitions
//! never read. A connector generating its records has one partition,
//! `{"source": "datagen"}`, whose offset is `{"position": N}`: the records
//! already acknowledged.
//!
//! Offsets change only while the connector is `STOPPED`, as in Kafka
//! Connect; reading them works in any state.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::handlers::{Name, blocking};
use super::{ApiError, AppState};
use crate::source::group::{OffsetChange, OffsetTarget};
use crate::worker::{ConnectorOffsets, OffsetsChange};

/// The one partition of a generated source.
const DATAGEN_PARTITION: &str = "datagen";

/// `GET /connectors/{name}/offsets`.
pub(super) async fn get(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    let s = state.clone();
    let offsets = blocking(move || Ok(s.inner.worker.offsets(&name)?)).await?;
    let entries: Vec<Value> = match offsets {
        ConnectorOffsets::Kafka(list) => list
            .into_iter()
            .map(|o| {
                json!({
                    "partition": {"kafka_topic": o.topic, "kafka_partition": o.partition},
                    "offset": {"kafka_offset": o.offset},
                })
            })
            .collect(),
        ConnectorOffsets::Generated(records) => vec![json!({
            "partition": {"source": DATAGEN_PARTITION},
            "offset": {"position": records},
        })],
    };
    Ok(Json(json!({ "offsets": entries })))
}

/// `PATCH /connectors/{name}/offsets`: 200 with a message.
pub(super) async fn alter(
    State(state): State<AppState>,
    Name(name): Name,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let change = parse_change(&body)?;
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        s.inner.worker.alter_offsets(&name, change)?;
        s.persist(&name);
        Ok(())
    })
    .await?;
    Ok(Json(json!({
        "message": "The offsets of this connector were altered; it reads from them when it is resumed."
    })))
}

/// `DELETE /connectors/{name}/offsets`: 200 with a message.
pub(super) async fn reset(
    State(state): State<AppState>,
    Name(name): Name,
) -> Result<Json<Value>, ApiError> {
    let writes = state.inner.writes.clone().lock_owned().await;
    let s = state.clone();
    blocking(move || {
        // Held until the work is done, even if the client has gone.
        let _writes = writes;
        s.inner.worker.reset_offsets(&name)?;
        s.persist(&name);
        Ok(())
    })
    .await?;
    Ok(Json(json!({
        "message": "The offsets of this connector were reset; it starts from the beginning of its source when it is resumed."
    })))
}

/// Parse a `PATCH` body into a change, every problem naming its place.
fn parse_change(body: &[u8]) -> Result<OffsetsChange, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(ApiError::bad_request(
            "the body must be an object: {\"offsets\": [{\"partition\": {...}, \"offset\": {...}}]}",
        ));
    };
    if let Some(key) = object.keys().find(|k| *k != "offsets") {
        return Err(ApiError::bad_request(format!(
            "unknown key `{key}`; the body has only `offsets`"
        )));
    }
    let entries = match object.get("offsets") {
        Some(Value::Array(entries)) if !entries.is_empty() => entries,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(ApiError::bad_request(
                "`offsets` must list at least one partition and its offset to alter",
            ));
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "`offsets` must be a list of {\"partition\": {...}, \"offset\": {...}}",
            ));
        }
    };
    let mut kafka = Vec::new();
    let mut generated = None;
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("offsets[{i}]");
        let entry = entry.as_object().ok_or_else(|| {
            ApiError::bad_request(format!(
                "{at} must be an object with `partition` and `offset`"
            ))
        })?;
        if let Some(key) = entry
            .keys()
            .find(|k| !matches!(k.as_str(), "partition" | "offset"))
        {
            return Err(ApiError::bad_request(format!(
                "{at}.{key} is not a key of an offset entry; use `partition` and `offset`"
            )));
        }
        let partition = match entry.get("partition") {
            Some(Value::Object(p)) => p,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{at}.partition must be an object, e.g. {{\"kafka_topic\": \"orders\", \"kafka_partition\": 0}}"
                )));
            }
        };
        let offset = entry.get("offset").unwrap_or(&Value::Null);
        if partition.contains_key("source") {
            generated = Some(parse_generated(&at, partition, offset)?);
        } else {
            kafka.push(parse_kafka(&at, partition, offset)?);
        }
    }
    match (generated, kafka.is_empty()) {
        (Some(records), true) => Ok(OffsetsChange::Generated(records)),
        (None, false) => Ok(OffsetsChange::Kafka(kafka)),
        _ => Err(ApiError::bad_request(
            "`offsets` mixes Kafka partitions and a generated source's; a connector has one kind",
        )),
    }
}

fn parse_kafka(
    at: &str,
    partition: &Map<String, Value>,
    offset: &Value,
) -> Result<OffsetChange, ApiError> {
    if let Some(key) = partition
        .keys()
        .find(|k| !matches!(k.as_str(), "kafka_topic" | "kafka_partition"))
    {
        return Err(ApiError::bad_request(format!(
            "{at}.partition.{key} is not a partition key; use `kafka_topic` and `kafka_partition`"
        )));
    }
    let topic = match partition.get("kafka_topic") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => {
            return Err(ApiError::bad_request(format!(
                "{at}.partition.kafka_topic must name a topic"
            )));
        }
    };
    let number = match partition.get("kafka_partition") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{at}.partition.kafka_partition must be a partition number (0 or more), not {v}"
                    ))
                })?,
        ),
    };
    let target = match offset {
        Value::Null => OffsetTarget::Reset,
        Value::Object(o) => {
            if let Some(key) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "kafka_offset" | "kafka_timestamp"))
            {
                return Err(ApiError::bad_request(format!(
                    "{at}.offset.{key} is not an offset key; use `kafka_offset` (or `kafka_timestamp`, milliseconds since 1970)"
                )));
            }
            match (o.get("kafka_offset"), o.get("kafka_timestamp")) {
                (Some(v), None) => {
                    OffsetTarget::Offset(non_negative(v, &format!("{at}.offset.kafka_offset"))?)
                }
                (None, Some(v)) => OffsetTarget::Timestamp(non_negative(
                    v,
                    &format!("{at}.offset.kafka_timestamp"),
                )?),
                (Some(_), Some(_)) => {
                    return Err(ApiError::bad_request(format!(
                        "{at}.offset gives both `kafka_offset` and `kafka_timestamp`; give one"
                    )));
                }
                (None, None) => {
                    return Err(ApiError::bad_request(format!(
                        "{at}.offset needs `kafka_offset` (or `kafka_timestamp`), or is null to reset the partition"
                    )));
                }
            }
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "{at}.offset must be an object like {{\"kafka_offset\": 42}} or null, not {other}"
            )));
        }
    };
    if number.is_none() && matches!(target, OffsetTarget::Offset(_)) {
        return Err(ApiError::bad_request(format!(
            "{at}.partition.kafka_partition is needed with `kafka_offset`; only a timestamp or a reset applies to every partition of a topic"
        )));
    }
    Ok(OffsetChange {
        topic,
        partition: number,
        target,
    })
}

fn parse_generated(
    at: &str,
    partition: &Map<String, Value>,
    offset: &Value,
) -> Result<u64, ApiError> {
    if partition.len() != 1 || partition.get("source") != Some(&json!(DATAGEN_PARTITION)) {
        return Err(ApiError::bad_request(format!(
            "{at}.partition of a generated source is {{\"source\": \"{DATAGEN_PARTITION}\"}}"
        )));
    }
    match offset {
        Value::Null => Ok(0),
        Value::Object(o) if o.len() == 1 && o.contains_key("position") => {
            let v = &o["position"];
            v.as_u64().ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{at}.offset.position must be a count of records (0 or more), not {v}"
                ))
            })
        }
        _ => Err(ApiError::bad_request(format!(
            "{at}.offset of a generated source is {{\"position\": N}} or null"
        ))),
    }
}

fn non_negative(v: &Value, at: &str) -> Result<i64, ApiError> {
    v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::bad_request(format!("{at} must be a whole number, 0 or more, not {v}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match parse_change(body.as_bytes()) {
            Ok(c) => panic!("{body} parsed as {c:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn kafka_entries_parse_in_every_form() {
        let change = parse_change(
            br#"{"offsets": [
                {"partition": {"kafka_topic": "a", "kafka_partition": 1}, "offset": {"kafka_offset": 7}},
                {"partition": {"kafka_topic": "b"}, "offset": {"kafka_timestamp": 1700000000000}},
                {"partition": {"kafka_topic": "c", "kafka_partition": 0}, "offset": null}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(
            change,
            OffsetsChange::Kafka(vec![
                OffsetChange {
                    topic: "a".into(),
                    partition: Some(1),
                    target: OffsetTarget::Offset(7)
                },
                OffsetChange {
                    topic: "b".into(),
                    partition: None,
                    target: OffsetTarget::Timestamp(1_700_000_000_000)
                },
                OffsetChange {
                    topic: "c".into(),
                    partition: Some(0),
                    target: OffsetTarget::Reset
                },
            ])
        );
    }

    #[test]
    fn a_generated_source_takes_a_position() {
        assert_eq!(
            parse_change(br#"{"offsets": [{"partition": {"source": "datagen"}, "offset": {"position": 500}}]}"#)
                .expect("parses"),
            OffsetsChange::Generated(500)
        );
        assert_eq!(
            parse_change(br#"{"offsets": [{"partition": {"source": "datagen"}, "offset": null}]}"#)
                .expect("parses"),
            OffsetsChange::Generated(0)
        );
    }

    #[test]
    fn bad_bodies_name_the_place_and_the_fix() {
        assert!(message("{").starts_with("the body is not JSON"));
        assert_eq!(
            message("{}"),
            "`offsets` must list at least one partition and its offset to alter"
        );
        assert_eq!(
            message(r#"{"offsets": [], "x": 1}"#),
            "unknown key `x`; the body has only `offsets`"
        );
        assert_eq!(
            message(
                r#"{"offsets": [{"partition": {"kafka_topic": "a", "kafka_partition": 0}, "offset": {"kafka_offset": -1}}]}"#
            ),
            "offsets[0].offset.kafka_offset must be a whole number, 0 or more, not -1"
        );
        assert_eq!(
            message(
                r#"{"offsets": [{"partition": {"kafka_topic": "a"}, "offset": {"kafka_offset": 3}}]}"#
            ),
            "offsets[0].partition.kafka_partition is needed with `kafka_offset`; only a timestamp or a reset applies to every partition of a topic"
        );
        assert_eq!(
            message(
                r#"{"offsets": [{"partition": {"kafka_topic": "a", "kafka_partition": "x"}, "offset": null}]}"#
            ),
            "offsets[0].partition.kafka_partition must be a partition number (0 or more), not \"x\""
        );
        assert_eq!(
            message(r#"{"offsets": [{"partition": {"topic": "a"}, "offset": null}]}"#),
            "offsets[0].partition.topic is not a partition key; use `kafka_topic` and `kafka_partition`"
        );
        assert_eq!(
            message(
                r#"{"offsets": [{"partition": {"kafka_topic": "a", "kafka_partition": 0}, "offset": {"kafka_offset": 1, "kafka_timestamp": 2}}]}"#
            ),
            "offsets[0].offset gives both `kafka_offset` and `kafka_timestamp`; give one"
        );
        assert_eq!(
            message(
                r#"{"offsets": [{"partition": {"source": "datagen"}, "offset": {"position": 1}}, {"partition": {"kafka_topic": "a", "kafka_partition": 0}, "offset": null}]}"#
            ),
            "`offsets` mixes Kafka partitions and a generated source's; a connector has one kind"
        );
    }
}
