"""Confluent's own Python serializers and deserializers beside Sabot.

    schema_interop.py produce FORMAT --brokers B --registry URL --topic T --count N [--columns]
    schema_interop.py consume FORMAT --brokers B --registry URL --topic T --count N
    schema_interop.py parquet DIR
    schema_interop.py register --registry URL --subject S

`produce` writes N records with confluent-kafka's serializer for FORMAT
(avro, avro-simple, protobuf, json) against the registry, and prints, as one
JSON list, the records as a reader of the decoded columns should see them
(with `--columns`, for avro, as the decoded Arrow columns hold them: see
`avro_columns`). `consume` reads N records back with the matching
deserializer and prints them the same way, so the test compares the two
lists exactly. `parquet` prints the rows of every finished Parquet
file in DIR (sorted by name) with pyarrow.

Values are normalised for JSON: bytes as hex, decimals and UUIDs as text,
dates and times as ISO text, timestamps as integers of their unit.
"""

import argparse
import datetime
import decimal
import json
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER_AVRO = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "qty", "type": "int"},
        {"name": "price", "type": "double"},
        {"name": "ratio", "type": "float"},
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "blob", "type": "bytes"},
        {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 4}},
        {
            "name": "status",
            "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]},
        },
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Customer",
                "fields": [
                    {"name": "id", "type": "long"},
                    {"name": "email", "type": "string"},
                ],
            },
        },
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "choice", "type": ["null", "long", "string"]},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "big",
            "type": {
                "type": "fixed",
                "name": "Big",
                "size": 8,
                "logicalType": "decimal",
                "precision": 18,
                "scale": 4,
            },
        },
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "t_us", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "lts_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "lts_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        # fastavro (1.13.1, under Confluent's serializer) has no conversion
        # for the nanosecond logical types: it writes and reads them as the
        # plain long, so the records give them as integers of nanoseconds.
        {"name": "ts_ns", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
        {"name": "lts_ns", "type": {"type": "long", "logicalType": "local-timestamp-nanos"}},
        {
            "name": "dur",
            "type": {"type": "fixed", "name": "Dur", "size": 12, "logicalType": "duration"},
        },
    ],
}

# The classic job's records: what Parquet holds.
SIMPLE_ORDER_AVRO = {
    "type": "record",
    "name": "SimpleOrder",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Buyer",
                "fields": [
                    {"name": "id", "type": "long"},
                    {"name": "tier", "type": ["null", "string"], "default": None},
                ],
            },
        },
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2},
        },
        {
            "name": "status",
            "type": {"type": "enum", "name": "State", "symbols": ["NEW", "PAID", "SHIPPED"]},
        },
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    ],
}

ORDER_JSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "qty": {"type": "integer"},
        "price": {"type": "number"},
        "paid": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["NEW", "PAID", "SHIPPED"]},
        "customer": {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
            "required": ["id", "email"],
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "day": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
    },
    "required": ["id", "qty", "price", "paid", "status", "customer", "tags", "day", "at"],
}

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
STATUSES = ["NEW", "PAID", "SHIPPED"]


def avro_record(i):
    """Record i, as fastavro takes it."""
    return {
        "id": i,
        "qty": (i % 7) - 3,
        "price": i * 1.25,
        "ratio": 0.5 if i % 2 else 0.25,
        "paid": i % 3 == 0,
        "note": None if i % 4 == 0 else f"note {i}",
        "blob": bytes([i % 256, (i * 7) % 256, 0, 255]),
        "code": bytes([65 + i % 26, 66, 67, 68]),
        "status": STATUSES[i % 3],
        "customer": {"id": 1000 + i, "email": f"c{i}@example.com"},
        "tags": [f"t{j}" for j in range(i % 3)],
        "attrs": {f"k{j}": i * j for j in range(i % 3)},
        "choice": None if i % 3 == 0 else (i if i % 3 == 1 else f"s{i}"),
        "amount": decimal.Decimal(i * 101).scaleb(-2),
        "big": decimal.Decimal(-i * 12345).scaleb(-4),
        "uid": uuid.UUID(int=i * 0x1_0000_0001),
        "day": datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        "t_ms": datetime.time(1, 2, 3, (i % 1000) * 1000),
        "t_us": datetime.time(4, 5, 6, i % 1_000_000),
        "ts_ms": EPOCH + datetime.timedelta(milliseconds=1_700_000_000_000 + i),
        "ts_us": EPOCH + datetime.timedelta(microseconds=1_700_000_000_000_000 + i),
        "lts_ms": datetime.datetime(2024, 5, 6, 7, 8, 9) + datetime.timedelta(milliseconds=i),
        "lts_us": datetime.datetime(2024, 5, 6, 7, 8, 9) + datetime.timedelta(microseconds=i * 1001),
        "ts_ns": 1_700_000_000_000_000_000 + i * 1_000_001,
        # Odd records before 1970.
        "lts_ns": (1_714_979_289_000_000_000 + i * 999) * (-1 if i % 2 else 1),
        "dur": (1).to_bytes(4, "little") + (2 + i).to_bytes(4, "little") + (3000).to_bytes(4, "little"),
    }


def since(value, epoch, unit):
    """Whole `unit`s from `epoch` to `value`, exactly (no float on the way)."""
    delta = value - epoch
    whole, rest = divmod(delta, unit)
    if rest:
        sys.exit(f"{value} is not a whole number of {unit} from {epoch}")
    return whole


def avro_columns(record):
    """An `avro_record` as Sabot's decoded Arrow columns hold it: each value
    in the column's own unit, worked out here from what the serializer was
    given. Timestamps, dates and times are integers of the column's unit
    since the epoch or midnight (a local timestamp counted as if in UTC),
    decimals their exact text, bytes and fixed hex, an enum its symbol, a
    duration [months, days, nanoseconds], and a union of several types
    `{"branch": value}` (Avro's JSON encoding) or null."""
    r = record
    local_epoch = datetime.datetime(1970, 1, 1)
    midnight = datetime.datetime(2000, 1, 1)
    day = datetime.timedelta(days=1)
    ms = datetime.timedelta(milliseconds=1)
    us = datetime.timedelta(microseconds=1)

    def time_of_day(t, unit):
        return since(datetime.datetime.combine(midnight, t), midnight, unit)

    def branch(value):
        if value is None:
            return None
        return {"long": value} if isinstance(value, int) else {"string": value}

    dur = r["dur"]
    return {
        "id": r["id"],
        "qty": r["qty"],
        "price": r["price"],
        "ratio": r["ratio"],
        "paid": r["paid"],
        "note": r["note"],
        "blob": r["blob"].hex(),
        "code": r["code"].hex(),
        "status": r["status"],
        "customer": r["customer"],
        "tags": r["tags"],
        "attrs": r["attrs"],
        "choice": branch(r["choice"]),
        "amount": format(r["amount"], "f"),
        "big": format(r["big"], "f"),
        "uid": str(r["uid"]),
        "day": since(r["day"], datetime.date(1970, 1, 1), day),
        "t_ms": time_of_day(r["t_ms"], ms),
        "t_us": time_of_day(r["t_us"], us),
        "ts_ms": since(r["ts_ms"], EPOCH, ms),
        "ts_us": since(r["ts_us"], EPOCH, us),
        "lts_ms": since(r["lts_ms"], local_epoch, ms),
        "lts_us": since(r["lts_us"], local_epoch, us),
        "ts_ns": r["ts_ns"],
        "lts_ns": r["lts_ns"],
        "dur": [
            int.from_bytes(dur[0:4], "little"),
            int.from_bytes(dur[4:8], "little"),
            int.from_bytes(dur[8:12], "little") * 1_000_000,
        ],
    }


def simple_record(i):
    return {
        "id": i,
        "customer": {"id": 1000 + i % 10, "tier": None if i % 5 == 0 else ["gold", "silver"][i % 2]},
        "amount": decimal.Decimal(i * 37).scaleb(-2),
        "status": STATUSES[i % 3],
        "tags": [f"t{j}" for j in range(i % 3)],
        "at": EPOCH + datetime.timedelta(milliseconds=1_700_000_000_000 + i * 1000),
        "day": datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 30),
    }


def json_plain(record):
    """A JSON record with its date-time compared as a time, not as text:
    `07:08:00Z` and `07:08:00.000000Z` are the same instant."""
    out = dict(record)
    if isinstance(out.get("at"), str):
        out["at"] = datetime.datetime.fromisoformat(out["at"]).astimezone(datetime.timezone.utc).isoformat()
    return plain(out)


def json_record(i):
    return {
        "id": i,
        "qty": (i % 7) - 3,
        "price": i * 1.25,
        "paid": i % 3 == 0,
        "note": None if i % 4 == 0 else f"note {i}",
        "status": STATUSES[i % 3],
        "customer": {"id": 1000 + i, "email": f"c{i}@example.com"},
        "tags": [f"t{j}" for j in range(i % 3)],
        "day": (datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat(),
        "at": "2024-05-06T07:08:%02dZ" % (i % 60),
    }


def plain(value):
    """A value as JSON can hold it, the same way on both sides."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(datetime.timezone.utc).isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


# --- Protobuf: the message classes are built from a descriptor made here,
# so no protoc is needed.


def order_proto_classes():
    from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2, wrappers_pb2
    from google.protobuf import message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fd = descriptor_pb2.FileDescriptorProto()
    fd.name = "shop/order.proto"
    fd.package = "shop"
    fd.syntax = "proto3"
    fd.dependency.extend(["google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"])

    status = fd.enum_type.add()
    status.name = "Status"
    for n, name in enumerate(STATUSES):
        v = status.value.add()
        v.name = "STATUS_" + name
        v.number = n

    customer = fd.message_type.add()
    customer.name = "Customer"
    for number, (name, kind) in enumerate([("id", F.TYPE_INT64), ("email", F.TYPE_STRING)], 1):
        f = customer.field.add()
        f.name, f.number, f.type, f.label = name, number, kind, F.LABEL_OPTIONAL

    order = fd.message_type.add()
    order.name = "Order"
    attrs = order.nested_type.add()
    attrs.name = "AttrsEntry"
    attrs.options.map_entry = True
    for number, (name, kind) in enumerate([("key", F.TYPE_STRING), ("value", F.TYPE_INT64)], 1):
        f = attrs.field.add()
        f.name, f.number, f.type, f.label = name, number, kind, F.LABEL_OPTIONAL
    oneof = order.oneof_decl.add()
    oneof.name = "choice"
    opt = order.oneof_decl.add()
    opt.name = "_note"

    def field(name, number, kind, label=F.LABEL_OPTIONAL, type_name=None, oneof_index=None, proto3_optional=False):
        f = order.field.add()
        f.name, f.number, f.type, f.label = name, number, kind, label
        if type_name:
            f.type_name = type_name
        if oneof_index is not None:
            f.oneof_index = oneof_index
        if proto3_optional:
            f.proto3_optional = True

    field("id", 1, F.TYPE_INT64)
    field("qty", 2, F.TYPE_SINT32)
    field("price", 3, F.TYPE_DOUBLE)
    field("ratio", 4, F.TYPE_FLOAT)
    field("paid", 5, F.TYPE_BOOL)
    field("note", 6, F.TYPE_STRING, oneof_index=1, proto3_optional=True)
    field("blob", 7, F.TYPE_BYTES)
    field("status", 8, F.TYPE_ENUM, type_name=".shop.Status")
    field("customer", 9, F.TYPE_MESSAGE, type_name=".shop.Customer")
    field("tags", 10, F.TYPE_STRING, label=F.LABEL_REPEATED)
    field("attrs", 11, F.TYPE_MESSAGE, label=F.LABEL_REPEATED, type_name=".shop.Order.AttrsEntry")
    field("as_number", 12, F.TYPE_INT64, oneof_index=0)
    field("as_text", 13, F.TYPE_STRING, oneof_index=0)
    field("at", 14, F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp")
    field("discount", 15, F.TYPE_MESSAGE, type_name=".google.protobuf.DoubleValue")
    field("counts", 16, F.TYPE_UINT32, label=F.LABEL_REPEATED)
    field("fixed", 17, F.TYPE_FIXED64)
    field("signed", 18, F.TYPE_SFIXED32)
    # The proto3 optional's synthetic oneof must come after real ones.

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(fd)
    order_desc = pool.FindMessageTypeByName("shop.Order")
    return message_factory.GetMessageClass(order_desc)


def proto_record(Order, i):
    m = Order()
    m.id = i
    m.qty = (i % 7) - 3
    m.price = i * 1.25
    m.ratio = 0.5 if i % 2 else 0.25
    m.paid = i % 3 == 0
    if i % 4:
        m.note = f"note {i}"
    m.blob = bytes([i % 256, (i * 7) % 256, 0, 255])
    m.status = i % 3
    m.customer.id = 1000 + i
    m.customer.email = f"c{i}@example.com"
    m.tags.extend(f"t{j}" for j in range(i % 3))
    for j in range(i % 3):
        m.attrs[f"k{j}"] = i * j
    if i % 3 == 1:
        m.as_number = i
    elif i % 3 == 2:
        m.as_text = f"s{i}"
    m.at.seconds = 1_700_000_000 + i
    m.at.nanos = i * 1000
    if i % 2:
        m.discount.value = i / 4
    m.counts.extend(range(i % 4))
    m.fixed = 2**40 + i
    m.signed = -i
    return m


def proto_row(i):
    """Record i of `proto_record` as a reader of the decoded columns sees it."""
    return plain(
        {
            "id": i,
            "qty": (i % 7) - 3,
            "price": i * 1.25,
            "ratio": 0.5 if i % 2 else 0.25,
            "paid": i % 3 == 0,
            "note": None if i % 4 == 0 else f"note {i}",
            "blob": bytes([i % 256, (i * 7) % 256, 0, 255]),
            "status": "STATUS_" + STATUSES[i % 3],
            "customer": {"id": 1000 + i, "email": f"c{i}@example.com"},
            "tags": [f"t{j}" for j in range(i % 3)],
            "attrs": {f"k{j}": i * j for j in range(i % 3)},
            "as_number": i if i % 3 == 1 else None,
            "as_text": f"s{i}" if i % 3 == 2 else None,
            "at": EPOCH + datetime.timedelta(seconds=1_700_000_000 + i, microseconds=i),
            "discount": i / 4 if i % 2 else None,
            "counts": list(range(i % 4)),
            "fixed": 2**40 + i,
            "signed": -i,
        }
    )


def proto_message_row(m):
    """A decoded Order message in the form of `proto_row`."""
    choice = m.WhichOneof("choice")
    at = EPOCH + datetime.timedelta(seconds=m.at.seconds, microseconds=m.at.nanos // 1000)
    return plain(
        {
            "id": m.id,
            "qty": m.qty,
            "price": m.price,
            "ratio": m.ratio,
            "paid": m.paid,
            "note": m.note if m.HasField("note") else None,
            "blob": m.blob,
            "status": "STATUS_" + STATUSES[m.status],
            "customer": {"id": m.customer.id, "email": m.customer.email},
            "tags": list(m.tags),
            "attrs": dict(m.attrs),
            "as_number": m.as_number if choice == "as_number" else None,
            "as_text": m.as_text if choice == "as_text" else None,
            "at": at,
            "discount": m.discount.value if m.HasField("discount") else None,
            "counts": list(m.counts),
            "fixed": m.fixed,
            "signed": m.signed,
        }
    )


def register(args):
    """Register the Order schema under `--subject`, as the Python client
    registers it (a serialized descriptor), and print its id."""
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.common.protobuf import _schema_to_str

    Order = order_proto_classes()
    client = registry(args.registry)
    schema = Schema(_schema_to_str(Order.DESCRIPTOR.file), "PROTOBUF")
    json.dump({"id": client.register_schema(args.subject, schema)}, sys.stdout)


# ---


def registry(url):
    return SchemaRegistryClient({"url": url})


def produce(args):
    client = registry(args.registry)
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 5})
    context = SerializationContext(args.topic, MessageField.VALUE)
    out = []
    if args.columns and args.format != "avro":
        sys.exit("--columns is for the avro format")
    if args.format in ("avro", "avro-simple"):
        from confluent_kafka.schema_registry.avro import AvroSerializer

        simple = args.format == "avro-simple"
        schema = SIMPLE_ORDER_AVRO if simple else ORDER_AVRO
        serializer = AvroSerializer(schema_registry_client=client, schema_str=json.dumps(schema))
        for i in range(args.count):
            record = simple_record(i) if simple else avro_record(i)
            producer.produce(args.topic, value=serializer(record, context), key=str(i).encode())
            out.append(avro_columns(record) if args.columns else plain(record))
    elif args.format == "json":
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        serializer = JSONSerializer(schema_str=json.dumps(ORDER_JSON_SCHEMA), schema_registry_client=client)
        for i in range(args.count):
            record = json_record(i)
            producer.produce(args.topic, value=serializer(record, context), key=str(i).encode())
            out.append(json_plain(record))
    else:
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        Order = order_proto_classes()
        serializer = ProtobufSerializer(
            msg_type=Order, schema_registry_client=client, conf={"use.deprecated.format": False}
        )
        for i in range(args.count):
            m = proto_record(Order, i)
            producer.produce(args.topic, value=serializer(m, context), key=str(i).encode())
            out.append(proto_row(i))
    left = producer.flush(30)
    if left:
        sys.exit(f"{left} records were not delivered")
    json.dump(out, sys.stdout)


def consume(args):
    client = registry(args.registry)
    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": f"interop-{args.topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([args.topic])
    if args.format in ("avro", "avro-simple"):
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        deserializer = AvroDeserializer(schema_registry_client=client)
        convert = plain
    elif args.format == "json":
        from confluent_kafka.schema_registry.json_schema import JSONDeserializer

        deserializer = JSONDeserializer(schema_str=None, schema_registry_client=client)
        convert = json_plain
    else:
        from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer

        Order = order_proto_classes()
        deserializer = ProtobufDeserializer(
            message_type=Order, conf={"use.deprecated.format": False}, schema_registry_client=client
        )
        convert = proto_message_row
    rows = []
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while len(rows) < args.count and datetime.datetime.now() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            continue
        context = SerializationContext(msg.topic(), MessageField.VALUE)
        value = deserializer(msg.value(), context)
        rows.append((int(msg.key()), convert(value)))
    consumer.close()
    rows.sort(key=lambda r: r[0])
    json.dump([r[1] for r in rows], sys.stdout)


def parquet(args):
    import pathlib

    import pyarrow.parquet as pq

    out = []
    for path in sorted(pathlib.Path(args.dir).glob("*.parquet")):
        for row in pq.read_table(path).to_pylist(maps_as_pydicts="strict"):
            out.append(plain(row))
    json.dump(out, sys.stdout)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("produce", "consume"):
        s = sub.add_parser(name)
        s.add_argument("format", choices=["avro", "avro-simple", "protobuf", "json"])
        s.add_argument("--brokers", required=True)
        s.add_argument("--registry", required=True)
        s.add_argument("--topic", required=True)
        s.add_argument("--count", type=int, required=True)
        if name == "produce":
            s.add_argument(
                "--columns",
                action="store_true",
                help="print the records as the decoded Arrow columns hold them (avro only)",
            )
    s = sub.add_parser("parquet")
    s.add_argument("dir")
    s = sub.add_parser("register")
    s.add_argument("--registry", required=True)
    s.add_argument("--subject", required=True)
    args = p.parse_args()
    {"produce": produce, "consume": consume, "parquet": parquet, "register": register}[args.command](args)


if __name__ == "__main__":
    main()
