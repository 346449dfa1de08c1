"""Kafka helpers of the end-to-end benchmark (`tests/bench/e2e.sh`).

Each subcommand does one step the script times or checks:

    free-port                      print a free TCP port of 127.0.0.1
    wait BROKERS                   wait until the broker answers metadata
    warm-up BROKERS TOPIC          join a group and commit once, so the
                                   broker creates its offsets topic before
                                   any timed side
    create-topics BROKERS T:P ...  create topics with P partitions each
    produce BROKERS TOPIC N OUT    produce N orders; write how many pass
                                   the `amount > 100` filter to OUT
    copy BROKERS IN OUT GROUP N    the Python passthrough peer
    filter-mask BROKERS IN OUT GROUP N KEY
                                   the Python filter + HMAC mask peer
    count BROKERS TOPIC            print the records a topic holds
    check-masked BROKERS A B KEY   check that topics A and B hold the same
                                   order ids with the same masked emails
    produce-avro BROKERS TOPIC N REGISTRY
                                   produce N Avro orders with Confluent's
                                   AvroSerializer against REGISTRY
    avro-parquet BROKERS TOPIC GROUP N REGISTRY DIR
                                   the Python Avro → Parquet peer:
                                   confluent-kafka, fastavro, pyarrow
    parquet-rows DIR               print the rows of DIR's Parquet files
    report RESULTS N               print the results table in Markdown

The peers are written the way a careful Python user would write them:
batched `consume`, the same producer settings as Sabot's Kafka sink
(idempotent, `linger.ms=5`, lz4), one commit at the end.
"""

import hashlib
import hmac
import json
import random
import socket
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

# The producer settings of Sabot's Kafka sink, so both sides write alike.
PRODUCER_SETTINGS = {
    "enable.idempotence": True,
    "linger.ms": 5,
    "compression.type": "lz4",
}

# Records asked of `consume` at once; Sabot's passthrough batches 5,000.
CONSUME_BATCH = 5000

FIRST_NAMES = ["alexandra", "maximilian", "charlotte", "sebastian", "josephine",
               "frederick", "anastasia", "christopher", "evangeline", "theodore"]
LAST_NAMES = ["johnson", "schneider", "montgomery", "fitzgerald", "kowalczyk",
              "vandenberg", "rodriguez", "okonkwo", "lindqvist", "takahashi"]
DOMAINS = ["customers.mail.example-retail.com", "inbox.example-shopping-network.org",
           "accounts.example-marketplace.net"]
TIERS = ["standard", "premium", "platinum", "enterprise"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK"]
STATUSES = ["payment_authorised_and_awaiting_the_regional_fulfilment_centre",
            "picked_and_packed_at_the_regional_warehouse_awaiting_collection",
            "handed_over_to_the_carrier_for_next_day_delivery_to_the_customer",
            "delivered_to_the_shipping_address_and_signed_for_by_the_customer"]


def fail(message):
    """Print `message` to standard error and exit 1."""
    print(f"kafka_bench: {message}", file=sys.stderr)
    sys.exit(1)


def free_port():
    """Print a port of 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])


def wait(brokers, timeout=90.0):
    """Wait until the broker at `brokers` answers a metadata request."""
    host, _, port = brokers.rpartition(":")
    deadline = time.monotonic() + timeout
    # Until the port accepts connections a client would only log refusals.
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    admin = AdminClient({"bootstrap.servers": brokers})
    while time.monotonic() < deadline:
        try:
            if admin.list_topics(timeout=1).brokers:
                return
        except KafkaException:
            pass
        time.sleep(0.2)
    fail(f"broker `{brokers}` did not answer metadata within {timeout:.0f} s")


def create_topics(brokers, specs):
    """Create each `name:partitions` topic of `specs`."""
    admin = AdminClient({"bootstrap.servers": brokers})
    topics = []
    for spec in specs:
        name, _, partitions = spec.partition(":")
        topics.append(NewTopic(name, num_partitions=int(partitions or 1),
                               replication_factor=1))
    for name, future in admin.create_topics(topics).items():
        try:
            future.result(timeout=30)
        except KafkaException as error:
            fail(f"cannot create topic `{name}`: {error}")


def warm_up(brokers, topic):
    """Join a group on `topic`, read a record and commit it.

    The broker creates `__consumer_offsets` on the first group join; done
    here, that cost falls on no timed side.
    """
    reader = consumer(brokers, "bench-warm-up")
    reader.subscribe([topic])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        message = reader.poll(0.5)
        if message is not None and not message.error():
            reader.commit(message, asynchronous=False)
            reader.close()
            return
    fail(f"read no record of `{topic}` within 60 s")


def order(rng, number):
    """The JSON of order `number`, about 250 bytes, fields of the schema only."""
    customer = rng.randrange(1, 1_000_000)
    email = (f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}.{customer}"
             f"@{rng.choice(DOMAINS)}")
    amount = round(rng.uniform(0, 200), 2)
    value = {
        "id": number,
        "customer": {"id": customer, "email": email, "tier": rng.choice(TIERS)},
        "amount": amount,
        "currency": rng.choice(CURRENCIES),
        "status": rng.choice(STATUSES),
    }
    return str(customer).encode(), json.dumps(value).encode(), amount > 100


def produce(brokers, topic, count, passing_file):
    """Produce `count` keyed orders to `topic`; write how many pass the filter."""
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20,
                         "batch.size": 1_000_000})
    rng = random.Random(20240601)
    passing = 0
    size = 0
    for number in range(1, count + 1):
        key, value, passes = order(rng, number)
        passing += passes
        size += len(value)
        send(producer, topic, value, key)
    producer.flush()
    with open(passing_file, "w", encoding="utf-8") as out:
        out.write(f"{passing}\n")
    print(f"produced {count} orders to `{topic}` (mean value {size / count:.0f} "
          f"bytes); {passing} have amount > 100")


def send(producer, topic, value, key, **extra):
    """Produce one record, serving delivery reports while the queue is full."""
    while True:
        try:
            producer.produce(topic, value, key, **extra)
            return
        except BufferError:
            producer.poll(0.05)


def consumer(brokers, group):
    """A consumer of a fresh group reading from the start, committing by hand."""
    return Consumer({"bootstrap.servers": brokers, "group.id": group,
                     "auto.offset.reset": "earliest",
                     "enable.auto.commit": False})


def copy(brokers, source, target, group, count):
    """The passthrough peer: copy `count` raw records from `source` to `target`."""
    reader = consumer(brokers, group)
    writer = Producer({"bootstrap.servers": brokers, **PRODUCER_SETTINGS})
    reader.subscribe([source])
    copied = 0
    while copied < count:
        for message in reader.consume(num_messages=CONSUME_BATCH, timeout=0.5):
            if message.error():
                fail(f"cannot consume `{source}`: {message.error()}")
            send(writer, target, message.value(), message.key(),
                 timestamp=message.timestamp()[1], headers=message.headers())
            copied += 1
        writer.poll(0)
    writer.flush()
    reader.commit(asynchronous=False)
    reader.close()


def filter_mask(brokers, source, target, group, count, key):
    """The filter + mask peer: keep `amount > 100`, HMAC-SHA256 the email."""
    reader = consumer(brokers, group)
    writer = Producer({"bootstrap.servers": brokers, **PRODUCER_SETTINGS})
    secret = key.encode()
    reader.subscribe([source])
    seen = 0
    while seen < count:
        for message in reader.consume(num_messages=CONSUME_BATCH, timeout=0.5):
            if message.error():
                fail(f"cannot consume `{source}`: {message.error()}")
            seen += 1
            value = json.loads(message.value())
            if not value["amount"] > 100:
                continue
            customer = value["customer"]
            customer["email"] = hmac.new(secret, customer["email"].encode(),
                                         hashlib.sha256).hexdigest()
            send(writer, target, json.dumps(value, separators=(",", ":")).encode(),
                 message.key())
        writer.poll(0)
    writer.flush()
    reader.commit(asynchronous=False)
    reader.close()


def topic_count(brokers, topic):
    """The records `topic` holds: the sum of its partitions' offset ranges."""
    reader = consumer(brokers, "bench-count")
    metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error:
        fail(f"topic `{topic}` does not exist")
    total = 0
    for partition in metadata.partitions:
        low, high = reader.get_watermark_offsets(TopicPartition(topic, partition),
                                                 timeout=10)
        total += high - low
    reader.close()
    return total


def emails(brokers, topic):
    """Order id to masked email of every record of `topic`."""
    expected = topic_count(brokers, topic)
    reader = consumer(brokers, f"bench-check-{topic}")
    reader.subscribe([topic])
    found = {}
    read = 0
    idle_since = time.monotonic()
    while read < expected:
        batch = reader.consume(num_messages=CONSUME_BATCH, timeout=0.5)
        if not batch and time.monotonic() - idle_since > 30:
            fail(f"read only {read} of {expected} records of `{topic}`")
        for message in batch:
            if message.error():
                fail(f"cannot consume `{topic}`: {message.error()}")
            idle_since = time.monotonic()
            read += 1
            value = json.loads(message.value())
            found[value["id"]] = value["customer"]["email"]
    reader.close()
    return found


def check_masked(brokers, first, second, key):
    """Fail unless `first` and `second` hold the same ids and masked emails."""
    a, b = emails(brokers, first), emails(brokers, second)
    if a != b:
        differ = sorted(set(a) ^ set(b))[:5] or [i for i in sorted(a) if a[i] != b[i]][:5]
        fail(f"`{first}` and `{second}` differ ({len(a)} vs {len(b)} records), "
             f"e.g. at order ids {differ}")
    hexdigits = set("0123456789abcdef")
    if not all(len(e) == 64 and set(e) <= hexdigits for e in a.values()):
        fail(f"`{first}` holds an email that is not a 64-digit hex HMAC")
    print(f"`{first}` and `{second}` hold the same {len(a)} orders with the same "
          f"masked emails")


def report(results, count):
    """Print the Markdown table of `results` (lines: job side wall user sys rss_kb)."""
    rows = []
    with open(results, encoding="utf-8") as lines:
        for line in lines:
            job, side, wall, user, system, rss = line.rstrip("\n").split("\t")
            # GNU time rounds to 10 ms; keep the rates finite.
            wall = max(float(wall), 0.01)
            cpu = max(float(user) + float(system), 0.01)
            rows.append((job, side, wall, cpu, int(rss) / 1024))
    print("| job | side | wall s | CPU s | msg/s | msg/CPU-s | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for job, side, wall, cpu, rss in rows:
        print(f"| {job} | {side} | {wall:.2f} | {cpu:.2f} | {count / wall:,.0f} | "
              f"{count / cpu:,.0f} | {rss:.0f} |")
    print()
    print("| job | Sabot/peer msg per CPU-second | Sabot/peer msg/s |")
    print("|---|---:|---:|")
    by_job = {}
    for job, side, wall, cpu, rss in rows:
        by_job.setdefault(job, []).append((wall, cpu))
    for job, sides in by_job.items():
        if len(sides) == 2:
            (ours_wall, ours_cpu), (peer_wall, peer_cpu) = sides
            print(f"| {job} | {peer_cpu / ours_cpu:.2f}x | {peer_wall / ours_wall:.2f}x |")


AVRO_ORDER = {
    "type": "record",
    "name": "BenchOrder",
    "namespace": "bench",
    "fields": [
        {"name": "id", "type": "long"},
        {
            "name": "customer",
            "type": {
                "type": "record",
                "name": "Customer",
                "fields": [
                    {"name": "id", "type": "long"},
                    {"name": "email", "type": "string"},
                    {"name": "tier", "type": "string"},
                ],
            },
        },
        {"name": "amount", "type": "double"},
        {"name": "currency", "type": "string"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
        {"name": "items", "type": {"type": "array", "items": "string"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}

# Rows per Parquet file, the same on both sides.
PARQUET_ROWS = 100_000


def produce_avro(brokers, topic, count, registry):
    """Produce `count` Avro orders with Confluent's serializer."""
    import datetime

    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    client = SchemaRegistryClient({"url": registry})
    serializer = AvroSerializer(schema_registry_client=client, schema_str=json.dumps(AVRO_ORDER))
    context = SerializationContext(topic, MessageField.VALUE)
    producer = Producer(PRODUCER_SETTINGS | {"bootstrap.servers": brokers})
    rng = random.Random(7)
    epoch = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    for i in range(count):
        value = serializer(
            {
                "id": i,
                "customer": {"id": rng.randrange(10_000), "email": f"c{i}@example.com", "tier": rng.choice(["gold", "silver", "bronze"])},
                "amount": round(rng.uniform(1, 500), 2),
                "currency": rng.choice(["EUR", "USD", "GBP"]),
                "status": rng.choice(["NEW", "PAID", "SHIPPED"]),
                "items": [f"sku-{rng.randrange(1000)}" for _ in range(rng.randrange(4))],
                "at": epoch + datetime.timedelta(milliseconds=i),
            },
            context,
        )
        send(producer, topic, value, str(i).encode())
    if producer.flush(60):
        fail("not every Avro order was delivered")


def avro_parquet(brokers, topic, group, count, registry, out_dir):
    """The peer of the Avro → Parquet pipeline, written as a careful user
    would: batched consume, the writer schema fetched once per id and parsed
    once, fastavro's schemaless reader, pyarrow tables of PARQUET_ROWS rows
    written as zstd files, one commit per finished file."""
    import io
    import os
    import struct

    import fastavro
    import pyarrow as pa
    import pyarrow.parquet as pq
    from confluent_kafka.schema_registry import SchemaRegistryClient

    client = SchemaRegistryClient({"url": registry})
    parsed = {}
    c = consumer(brokers, group)
    c.subscribe([topic])
    os.makedirs(out_dir, exist_ok=True)
    rows, done, files = [], 0, 0

    def write(rows, files):
        table = pa.Table.from_pylist(rows)
        path = os.path.join(out_dir, f"python-{files:06}.parquet")
        pq.write_table(table, path + ".tmp", compression="zstd")
        os.replace(path + ".tmp", path)

    while done < count:
        for message in c.consume(1000, 1.0):
            if message.error():
                continue
            value = message.value()
            magic, schema_id = struct.unpack(">bI", value[:5])
            if schema_id not in parsed:
                schema = client.get_schema(schema_id)
                parsed[schema_id] = fastavro.parse_schema(json.loads(schema.schema_str))
            rows.append(fastavro.schemaless_reader(io.BytesIO(value[5:]), parsed[schema_id]))
            done += 1
            if len(rows) == PARQUET_ROWS:
                write(rows, files)
                files += 1
                rows = []
                c.commit(asynchronous=False)
    if rows:
        # The last, partial file; when the count is a multiple of the file
        # size, everything is committed already (a commit of nothing new
        # is refused with _NO_OFFSET).
        write(rows, files)
        c.commit(asynchronous=False)
    c.close()


def parquet_rows(directory):
    """Print how many rows the finished Parquet files of `directory` hold."""
    import pathlib

    import pyarrow.parquet as pq

    print(sum(pq.ParquetFile(p).metadata.num_rows for p in pathlib.Path(directory).glob("*.parquet")))


def main(args):
    """Run the subcommand named by `args[0]`."""
    commands = {
        "free-port": (0, lambda: free_port()),
        "wait": (1, lambda b: wait(b)),
        "warm-up": (2, lambda b, t: warm_up(b, t)),
        "produce": (4, lambda b, t, n, o: produce(b, t, int(n), o)),
        "copy": (5, lambda b, i, o, g, n: copy(b, i, o, g, int(n))),
        "filter-mask": (6, lambda b, i, o, g, n, k: filter_mask(b, i, o, g, int(n), k)),
        "count": (2, lambda b, t: print(topic_count(b, t))),
        "check-masked": (4, lambda b, x, y, k: check_masked(b, x, y, k)),
        "report": (2, lambda r, n: report(r, int(n))),
        "produce-avro": (4, lambda b, t, n, r: produce_avro(b, t, int(n), r)),
        "avro-parquet": (6, lambda b, t, g, n, r, d: avro_parquet(b, t, g, int(n), r, d)),
        "parquet-rows": (1, lambda d: parquet_rows(d)),
    }
    if args and args[0] == "create-topics" and len(args) >= 3:
        create_topics(args[1], args[2:])
        return
    if not args or args[0] not in commands or len(args) - 1 != commands[args[0]][0]:
        fail(f"usage: see the module docs of {__file__}")
    commands[args[0]][1](*args[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
