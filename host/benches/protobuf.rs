//! Protobuf → Arrow throughput: Sabot's decoder against prost-reflect's
//! `DynamicMessage::decode` followed by Arrow builders, on the same bytes and
//! into the same Arrow schema.
//!
//! Run with `cargo bench -p sabot --bench protobuf`. The input is 10,000
//! generated order messages (a nested customer, two to four order lines, a
//! map of attributes, an enum status, a Timestamp, a nullable coupon),
//! decoded as one batch; criterion reports time per pass over all messages
//! and the throughput in messages per second. Before measuring, both paths
//! decode the messages and their batches are checked equal, so the two do
//! the same work.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, MapBuilder, MapFieldNames,
    StringBuilder, StringDictionaryBuilder, TimestampNanosecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Fields, SchemaRef};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as _;
use prost_reflect::{DynamicMessage, MapKey, MessageDescriptor, Value};
use sabot::format::protobuf::{ProtoSchema, ProtobufDecoder};

/// Messages per benchmark pass.
const MESSAGES: usize = 10_000;

/// The order schema, as a producer would register it.
const SCHEMA: &str = r#"
syntax = "proto3";
package bench;

import "google/protobuf/timestamp.proto";

enum Status {
  STATUS_UNKNOWN = 0;
  STATUS_NEW = 1;
  STATUS_PAID = 2;
  STATUS_SHIPPED = 3;
  STATUS_CANCELLED = 4;
}

message Order {
  message Customer {
    int64 id = 1;
    string name = 2;
    string email = 3;
    string tier = 4;
  }
  message Line {
    string sku = 1;
    int32 quantity = 2;
    double price = 3;
  }
  int64 id = 1;
  google.protobuf.Timestamp created_at = 2;
  Customer customer = 3;
  repeated Line lines = 4;
  map<string, string> attributes = 5;
  Status status = 6;
  double total = 7;
  string currency = 8;
  bool paid = 9;
  optional string coupon = 10;
}
"#;

/// A small deterministic generator (xorshift), so every run sees the same
/// messages.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[(self.next() % options.len() as u64) as usize]
    }
}

/// The generated messages, encoded.
fn messages(order: &MessageDescriptor) -> Vec<Vec<u8>> {
    let pool = order.parent_pool();
    let message = |name: &str| {
        DynamicMessage::new(pool.get_message_by_name(name).expect("in the bench schema"))
    };
    let names = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
        "Barbara Liskov",
    ];
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    (0..MESSAGES)
        .map(|i| {
            let mut customer = message("bench.Order.Customer");
            let name = rng.pick(&names);
            customer.set_field_by_name("id", Value::I64((rng.next() % 50_000) as i64));
            customer.set_field_by_name("name", Value::String(name.to_owned()));
            customer.set_field_by_name(
                "email",
                Value::String(format!(
                    "{}@example.com",
                    name.replace(' ', ".").to_lowercase()
                )),
            );
            customer.set_field_by_name(
                "tier",
                Value::String(rng.pick(&["gold", "silver", "bronze"]).to_owned()),
            );
            let lines = (0..2 + rng.next() % 3)
                .map(|_| {
                    let mut line = message("bench.Order.Line");
                    line.set_field_by_name(
                        "sku",
                        Value::String(format!("SKU-{:05}", rng.next() % 10_000)),
                    );
                    line.set_field_by_name("quantity", Value::I32(1 + (rng.next() % 5) as i32));
                    line.set_field_by_name(
                        "price",
                        Value::F64((rng.next() % 20_000) as f64 / 100.0),
                    );
                    Value::Message(line)
                })
                .collect();
            let mut created = message("google.protobuf.Timestamp");
            created.set_field_by_name(
                "seconds",
                Value::I64(1_714_566_600 + i as i64 * 2 + (rng.next() % 2) as i64),
            );
            created.set_field_by_name("nanos", Value::I32((rng.next() % 1_000_000_000) as i32));
            let mut order_message = DynamicMessage::new(order.clone());
            let mut set = |name: &str, value: Value| order_message.set_field_by_name(name, value);
            set("id", Value::I64(i as i64 + 1));
            set("created_at", Value::Message(created));
            set("customer", Value::Message(customer));
            set("lines", Value::List(lines));
            let channel = rng.pick(&["web", "app", "store"]);
            let country = rng.pick(&["DE", "FR", "US", "JP"]);
            set("status", Value::EnumNumber(1 + (rng.next() % 4) as i32));
            set("total", Value::F64((rng.next() % 100_000) as f64 / 100.0));
            set(
                "currency",
                Value::String(rng.pick(&["EUR", "USD", "JPY"]).to_owned()),
            );
            set("paid", Value::Bool(rng.next().is_multiple_of(2)));
            if rng.next().is_multiple_of(4) {
                set("coupon", Value::String(format!("SAVE{}", rng.next() % 50)));
            }
            // prost-reflect writes map entries in hash order; appended by
            // hand they keep one order, which the peer (sorting keys, as it
            // cannot know the wire order) reproduces.
            let mut bytes = order_message.encode_to_vec();
            for (key, value) in [("channel", channel), ("country", country)] {
                let entry_len = 2 + key.len() + 2 + value.len();
                bytes.extend([0x2a, entry_len as u8, 0x0a, key.len() as u8]);
                bytes.extend_from_slice(key.as_bytes());
                bytes.extend([0x12, value.len() as u8]);
                bytes.extend_from_slice(value.as_bytes());
            }
            bytes
        })
        .collect()
}

/// The fields of a struct column of `schema`.
fn struct_fields(schema: &SchemaRef, name: &str) -> Fields {
    match schema.field_with_name(name).map(|f| f.data_type()) {
        Ok(DataType::Struct(fields)) => fields.clone(),
        Ok(DataType::List(item)) => match item.data_type() {
            DataType::Struct(fields) => fields.clone(),
            other => panic!("`{name}` is a list of {other}"),
        },
        other => panic!("`{name}` is {other:?}"),
    }
}

/// The peer: `DynamicMessage::decode` of each message, then its fields
/// appended to Arrow builders, into the same schema Sabot's decoder builds.
fn dynamic_to_arrow(
    order: &MessageDescriptor,
    schema: &SchemaRef,
    values: &[&[u8]],
) -> RecordBatch {
    let field = |name: &str| order.get_field_by_name(name).expect("in the bench schema");
    let (f_id, f_created, f_customer, f_lines, f_attributes) = (
        field("id"),
        field("created_at"),
        field("customer"),
        field("lines"),
        field("attributes"),
    );
    let (f_status, f_total, f_currency, f_paid, f_coupon) = (
        field("status"),
        field("total"),
        field("currency"),
        field("paid"),
        field("coupon"),
    );
    let status_names: Vec<String> = match f_status.kind() {
        prost_reflect::Kind::Enum(e) => e.values().map(|v| v.name().to_owned()).collect(),
        _ => unreachable!("status is an enum"),
    };

    let n = values.len();
    let mut id = Int64Builder::with_capacity(n);
    let mut created = TimestampNanosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut customer_id = Int64Builder::with_capacity(n);
    let mut customer_name = StringBuilder::new();
    let mut customer_email = StringBuilder::new();
    let mut customer_tier = StringBuilder::new();
    let mut customer_valid = Vec::with_capacity(n);
    let mut line_offsets = vec![0i32];
    let mut line_sku = StringBuilder::new();
    let mut line_quantity = Int32Builder::new();
    let mut line_price = Float64Builder::new();
    let mut attributes = MapBuilder::new(
        Some(MapFieldNames {
            entry: "entries".to_owned(),
            key: "key".to_owned(),
            value: "value".to_owned(),
        }),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut status = StringDictionaryBuilder::<Int32Type>::new();
    let mut total = Float64Builder::with_capacity(n);
    let mut currency = StringBuilder::new();
    let mut paid = BooleanBuilder::with_capacity(n);
    let mut coupon = StringBuilder::new();

    for value in values {
        let message = DynamicMessage::decode(order.clone(), *value).expect("decodes");
        id.append_value(message.get_field(&f_id).as_i64().unwrap_or_default());
        if message.has_field(&f_created) {
            let ts = message.get_field(&f_created);
            let ts = ts.as_message().expect("a message");
            let seconds = ts
                .get_field_by_name("seconds")
                .and_then(|v| v.as_i64())
                .unwrap_or(0);
            let nanos = ts
                .get_field_by_name("nanos")
                .and_then(|v| v.as_i32())
                .unwrap_or(0);
            created.append_value(seconds * 1_000_000_000 + i64::from(nanos));
        } else {
            created.append_null();
        }
        if message.has_field(&f_customer) {
            let c = message.get_field(&f_customer);
            let c = c.as_message().expect("a message");
            let text = |name: &str| {
                c.get_field_by_name(name)
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            customer_id.append_value(
                c.get_field_by_name("id")
                    .and_then(|v| v.as_i64())
                    .unwrap_or(0),
            );
            customer_name.append_value(text("name"));
            customer_email.append_value(text("email"));
            customer_tier.append_value(text("tier"));
            customer_valid.push(true);
        } else {
            customer_id.append_value(0);
            customer_name.append_value("");
            customer_email.append_value("");
            customer_tier.append_value("");
            customer_valid.push(false);
        }
        if let Some(lines) = message.get_field(&f_lines).as_list() {
            for line in lines {
                let line = line.as_message().expect("a message");
                line_sku.append_value(
                    line.get_field_by_name("sku")
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                );
                line_quantity.append_value(
                    line.get_field_by_name("quantity")
                        .and_then(|v| v.as_i32())
                        .unwrap_or(0),
                );
                line_price.append_value(
                    line.get_field_by_name("price")
                        .and_then(|v| v.as_f64())
                        .unwrap_or(0.0),
                );
            }
            line_offsets.push(line_offsets.last().copied().unwrap_or(0) + lines.len() as i32);
        }
        if let Some(map) = message.get_field(&f_attributes).as_map() {
            // Wire order is lost in prost-reflect's map; keys sorted gives
            // the order these messages were written in.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                if let MapKey::String(key) = key {
                    attributes.keys().append_value(key);
                }
                attributes
                    .values()
                    .append_value(value.as_str().unwrap_or_default());
            }
            attributes.append(true).expect("appends");
        }
        let number = message.get_field(&f_status).as_enum_number().unwrap_or(0);
        status.append_value(&status_names[number as usize]);
        total.append_value(message.get_field(&f_total).as_f64().unwrap_or(0.0));
        currency.append_value(message.get_field(&f_currency).as_str().unwrap_or_default());
        paid.append_value(message.get_field(&f_paid).as_bool().unwrap_or(false));
        if message.has_field(&f_coupon) {
            coupon.append_value(message.get_field(&f_coupon).as_str().unwrap_or_default());
        } else {
            coupon.append_null();
        }
    }

    let customer = StructArray::new(
        struct_fields(schema, "customer"),
        vec![
            Arc::new(customer_id.finish()) as ArrayRef,
            Arc::new(customer_name.finish()),
            Arc::new(customer_email.finish()),
            Arc::new(customer_tier.finish()),
        ],
        Some(NullBuffer::from(customer_valid)),
    );
    let line_item = match schema.field_with_name("lines").map(|f| f.data_type()) {
        Ok(DataType::List(item)) => item.clone(),
        other => panic!("lines is {other:?}"),
    };
    let line_structs = StructArray::new(
        struct_fields(schema, "lines"),
        vec![
            Arc::new(line_sku.finish()) as ArrayRef,
            Arc::new(line_quantity.finish()),
            Arc::new(line_price.finish()),
        ],
        None,
    );
    let lines = ListArray::new(
        line_item,
        OffsetBuffer::new(line_offsets.into()),
        Arc::new(line_structs),
        None,
    );
    let attributes = attributes.finish();
    let attributes = match schema.field_with_name("attributes").map(|f| f.data_type()) {
        // The builder marks its entry fields nullable; the schema does not.
        Ok(DataType::Map(entries, sorted)) => {
            let (_, offsets, entry_array, nulls, _) = attributes.into_parts();
            let (_, columns, _) = entry_array.into_parts();
            let DataType::Struct(entry_fields) = entries.data_type() else {
                panic!("map entries are a struct")
            };
            let entry_array = StructArray::new(entry_fields.clone(), columns, None);
            arrow_array::MapArray::new(entries.clone(), offsets, entry_array, nulls, *sorted)
        }
        other => panic!("attributes is {other:?}"),
    };
    RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(id.finish()),
            Arc::new(created.finish()),
            Arc::new(customer),
            Arc::new(lines),
            Arc::new(attributes),
            Arc::new(status.finish()),
            Arc::new(total.finish()),
            Arc::new(currency.finish()),
            Arc::new(paid.finish()),
            Arc::new(coupon.finish()),
        ],
    )
    .expect("the peer builds the same schema")
}

/// Logical equality of two batches, dictionaries compared by value.
fn same(a: &RecordBatch, b: &RecordBatch) -> bool {
    let cast = |batch: &RecordBatch| -> Vec<ArrayRef> {
        batch
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                DataType::Dictionary(..) => {
                    let dict = c
                        .as_any()
                        .downcast_ref::<arrow_array::DictionaryArray<Int32Type>>()
                        .expect("int32 keys");
                    let values = dict
                        .values()
                        .as_any()
                        .downcast_ref::<arrow_array::StringArray>()
                        .expect("string values");
                    let strings: arrow_array::StringArray = dict
                        .keys()
                        .iter()
                        .map(|k| k.map(|k| values.value(k as usize)))
                        .collect();
                    Arc::new(strings) as ArrayRef
                }
                _ => c.clone(),
            })
            .collect()
    };
    a.num_rows() == b.num_rows() && cast(a) == cast(b)
}

fn bench(c: &mut Criterion) {
    let compiled = ProtoSchema::compile(SCHEMA, &[]).expect("the bench schema compiles");
    let order = compiled.message(&[0]).expect("Order");
    let encoded = messages(&order);
    let values: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
    let mean = encoded.iter().map(Vec::len).sum::<usize>() / encoded.len();

    let mut decoder = ProtobufDecoder::new(&order).expect("maps");
    let schema = decoder.schema().clone();
    let ours = decoder.decode(&values);
    assert!(ours.errors.is_empty(), "{:?}", ours.errors.first());
    let theirs = dynamic_to_arrow(&order, &schema, &values);
    assert!(
        same(&ours.batch, &theirs),
        "the two paths build the same batch"
    );

    let mut group = c.benchmark_group(format!("protobuf_orders_{mean}B"));
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    group.bench_function("sabot/10000", |b| {
        b.iter(|| black_box(decoder.decode(black_box(&values))));
    });
    group.bench_function("dynamic_message+builders/10000", |b| {
        b.iter(|| black_box(dynamic_to_arrow(&order, &schema, black_box(&values))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
