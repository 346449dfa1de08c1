"""Drive a schema registry with confluent-kafka's SchemaRegistryClient, and print what it answers.

    python registry_client.py URL

Through the client's own calls, against the registry at URL (empty at the
start), it registers an Avro schema under `orders-value`, a compatible
evolution (a field added with a default) and an incompatible one (a field's
type changed), reads schemas back by id, subject and version, looks one up,
lists subjects and versions, tests compatibility, sets the subject's
compatibility to NONE so that the incompatible schema registers, registers
the first schema under a second subject, deletes that subject, and
serializes then deserializes a record with AvroSerializer and
AvroDeserializer (which register and fetch through the same client).

It prints one JSON object, each key a step and its value what the client
returned; a client error is `{"status", "code", "message"}`. It exits
non-zero on anything else that fails.
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

SUBJECT = "orders-value"

V1 = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [{"name": "id", "type": "long"}],
    }
)
V2 = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "note", "type": "string", "default": ""},
        ],
    }
)
V3_INCOMPATIBLE = json.dumps(
    {
        "type": "record",
        "name": "Order",
        "namespace": "shop",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "note", "type": "string", "default": ""},
        ],
    }
)


def refused(error):
    return {"status": error.http_status_code, "code": error.error_code, "message": error.error_message}


def attempt(call):
    """What `call` returns, or the registry's refusal."""
    try:
        return call()
    except SchemaRegistryError as error:
        return refused(error)


def schema_of(schema):
    return {"schema": json.loads(schema.schema_str), "type": schema.schema_type}


def registered_of(registered):
    return {
        "subject": registered.subject,
        "version": registered.version,
        "id": registered.schema_id,
        "schema": json.loads(registered.schema.schema_str),
    }


def main(url):
    client = SchemaRegistryClient({"url": url})
    out = {}
    out["types"] = sorted(client.get_schema_types())
    out["register_v1"] = client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    out["register_v2"] = client.register_schema(SUBJECT, Schema(V2, "AVRO"))
    out["register_v1_again"] = client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    out["register_v3"] = attempt(lambda: client.register_schema(SUBJECT, Schema(V3_INCOMPATIBLE, "AVRO")))
    out["compatible_v3"] = client.test_compatibility(SUBJECT, Schema(V3_INCOMPATIBLE, "AVRO"))
    out["compatible_v2_all"] = client.test_compatibility_all_versions(SUBJECT, Schema(V2, "AVRO"))

    # A fresh client, so that nothing comes from the first one's cache.
    reader = SchemaRegistryClient({"url": url})
    out["schema_1"] = schema_of(reader.get_schema(out["register_v1"]))
    out["schema_2"] = schema_of(reader.get_schema(out["register_v2"]))
    out["schema_99"] = attempt(lambda: reader.get_schema(99))
    out["subjects"] = reader.get_subjects()
    out["versions"] = reader.get_versions(SUBJECT)
    out["latest"] = registered_of(reader.get_latest_version(SUBJECT))
    out["version_1"] = registered_of(reader.get_version(SUBJECT, 1))
    out["version_7"] = attempt(lambda: reader.get_version(SUBJECT, 7))
    out["lookup_v1"] = registered_of(reader.lookup_schema(SUBJECT, Schema(V1, "AVRO")))
    out["missing_subject"] = attempt(lambda: reader.get_versions("nope"))

    out["compatibility_global"] = reader.get_compatibility()
    out["compatibility_subject_unset"] = attempt(lambda: reader.get_compatibility(SUBJECT))
    out["set_compatibility"] = reader.set_compatibility(SUBJECT, "NONE")
    out["compatibility_subject"] = reader.get_compatibility(SUBJECT)
    out["set_compatibility_bad"] = attempt(lambda: reader.set_compatibility(SUBJECT, "SIDEWAYS"))
    out["register_v3_under_none"] = client.register_schema(SUBJECT, Schema(V3_INCOMPATIBLE, "AVRO"))
    out["versions_after"] = reader.get_versions(SUBJECT)

    out["other_v1"] = client.register_schema("other-value", Schema(V1, "AVRO"))
    out["schema_1_versions"] = [
        {"subject": v.subject, "version": v.version} for v in reader.get_schema_versions(out["register_v1"])
    ]
    out["delete_other"] = reader.delete_subject("other-value")
    out["delete_other_again"] = attempt(lambda: reader.delete_subject("other-value"))
    out["delete_other_permanent"] = reader.delete_subject("other-value", permanent=True)
    out["subjects_after"] = reader.get_subjects()

    # The serializers: the writer registers v2 under `orders-value` (it is
    # there, so it gets v2's id), the reader fetches the schema by that id.
    serializer = AvroSerializer(client, V2)
    context = SerializationContext("orders", MessageField.VALUE)
    value = serializer({"id": 42, "note": "fragile"}, context)
    out["framed"] = value.hex()
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": url}))
    out["deserialized"] = deserializer(value, context)

    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: registry_client.py URL")
    main(sys.argv[1])
