"""A record-world plugin in Python: drop cancelled records, redact fields.

Each record's value is parsed as a JSON object. Records whose top-level
`status` is `"cancelled"` are dropped. The top-level fields listed in the
config key `fields` are replaced by the string `"[redacted]"` where the
record has them. A record whose value is missing or is not a JSON object is
rejected with the reason.

Build it with `plugins/build.sh` (which runs `componentize-py`); see
`README.md` next to this file.
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.record_transform import Record, RecordResult
from wit_world.imports import host
from wit_world.imports.types import ConfigField, FieldType, PluginInfo, Rejection

# What redacted fields are replaced by.
MASK = "[redacted]"


# The top-level fields to redact, set by `init`. Module state, because
# componentize-py makes a new `RecordTransform` object for every call.
FIELDS: list = []


class RecordTransform(exports.RecordTransform):
    """The exported interface; its state lives in the module."""

    def describe(self) -> PluginInfo:
        return PluginInfo(
            name="python-redact",
            version="0.1.0",
            description='Drops cancelled records and replaces the listed fields by "[redacted]".',
            config=[
                ConfigField(
                    name="fields",
                    type=FieldType.LIST,
                    required=False,
                    default="[]",
                    doc="Top-level fields whose values are replaced by \"[redacted]\".",
                )
            ],
        )

    def init(self, config: str) -> None:
        try:
            parsed = json.loads(config)
        except ValueError as e:
            raise Err(f"the config is not JSON: {e}")
        if parsed is None:
            parsed = {}
        if not isinstance(parsed, dict):
            raise Err("the config must be a map with the key `fields`")
        unknown = sorted(k for k in parsed if k != "fields")
        if unknown:
            raise Err(f"unknown config key `{unknown[0]}`; the only key is `fields`")
        fields = parsed.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise Err("config key `fields` must be a list of field names, e.g. [\"email\"]")
        FIELDS[:] = fields
        host.log(host.Level.DEBUG, f"redacting {len(fields)} fields")

    def transform(self, records: list) -> RecordResult:
        kept = []
        rejected = []
        for index, record in enumerate(records):
            reason = None
            value = None
            if record.value is None:
                reason = "the value is missing (a tombstone); expected a JSON object"
            else:
                try:
                    value = json.loads(record.value)
                except ValueError as e:
                    reason = f"the value is not JSON: {e}"
                else:
                    if not isinstance(value, dict):
                        reason = f"the value is a JSON {kind(value)}, not an object"
            if reason is not None:
                rejected.append(Rejection(row=index, reason=reason))
                continue
            if value.get("status") == "cancelled":
                continue
            for field in FIELDS:
                if field in value:
                    value[field] = MASK
            record.value = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
            kept.append(record)
        return RecordResult(records=kept, rejected=rejected)


def kind(value) -> str:
    """The JSON name of a parsed value's type."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null"
