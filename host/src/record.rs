//! Records as they come off a source, and the metadata columns every batch
//! carries.
//!
//! A source yields [`RawRecord`]s: the bytes and coordinates of one Kafka
//! record (or one generated record). The decoder turns their values into
//! Arrow columns; [`metadata_columns`] adds the record's key, headers,
//! timestamp, topic, partition and offset as columns whose names start with
//! `__`, so that transforms can read them and sinks can write them back.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BinaryBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
    TimestampMillisecondBuilder,
};
use arrow_schema::{DataType, Field, Fields, TimeUnit};

/// Column holding the record key (`binary`, nullable).
pub const KEY: &str = "__key";
/// Column holding the record headers (`list<struct<key: utf8, value: binary>>`).
pub const HEADERS: &str = "__headers";
/// Column holding the record timestamp (`timestamp[ms, UTC]`, nullable).
pub const TIMESTAMP: &str = "__timestamp";
/// Column holding the topic the record came from (`utf8`).
pub const TOPIC: &str = "__topic";
/// Column holding the partition the record came from (`int32`).
pub const PARTITION: &str = "__partition";
/// Column holding the record offset (`int64`).
pub const OFFSET: &str = "__offset";

/// The prefix that marks a column as record metadata rather than value data.
pub const METADATA_PREFIX: &str = "__";

/// Whether a column name is one of the metadata columns (or another `__`
/// column a plugin added for the host, which encoders leave out of values).
pub fn is_metadata(name: &str) -> bool {
    name.starts_with(METADATA_PREFIX)
}

/// One header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name.
    pub key: String,
    /// The header value; Kafka allows a null value.
    pub value: Option<Vec<u8>>,
}

/// One record as a source delivered it, before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The topic it came from.
    pub topic: Arc<str>,
    /// The partition it came from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// Milliseconds since the Unix epoch, if the record has a timestamp.
    pub timestamp_ms: Option<i64>,
    /// The key bytes, if any.
    pub key: Option<Vec<u8>>,
    /// The value bytes; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    /// The headers, in order.
    pub headers: Vec<Header>,
}

/// The Arrow fields of the metadata columns, in the order
/// [`metadata_columns`] builds them.
pub fn metadata_fields() -> Vec<Field> {
    vec![
        Field::new(KEY, DataType::Binary, true),
        Field::new(HEADERS, headers_type(), true),
        Field::new(
            TIMESTAMP,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new(TOPIC, DataType::Utf8, false),
        Field::new(PARTITION, DataType::Int32, false),
        Field::new(OFFSET, DataType::Int64, false),
    ]
}

/// The fields of one header struct.
pub fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Binary, true),
    ])
}

/// The Arrow type of the `__headers` column.
pub fn headers_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(header_fields()),
        false,
    )))
}

/// Build the metadata columns for the given records, in the order of
/// [`metadata_fields`].
pub fn metadata_columns<'a, I>(records: I) -> Vec<ArrayRef>
where
    I: IntoIterator<Item = &'a RawRecord>,
    I::IntoIter: ExactSizeIterator,
{
    let records = records.into_iter();
    let n = records.len();
    let mut key = BinaryBuilder::with_capacity(n, n * 16);
    let mut headers = ListBuilder::new(StructBuilder::from_fields(header_fields(), 0)).with_field(
        Arc::new(Field::new("item", DataType::Struct(header_fields()), false)),
    );
    let mut timestamp = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut topic = StringBuilder::with_capacity(n, n * 8);
    let mut partition = Int32Builder::with_capacity(n);
    let mut offset = Int64Builder::with_capacity(n);
    for record in records {
        key.append_option(record.key.as_deref());
        let entries = headers.values();
        for header in &record.headers {
            entries
                .field_builder::<StringBuilder>(0)
                .expect("header struct field 0 is utf8")
                .append_value(&header.key);
            entries
                .field_builder::<BinaryBuilder>(1)
                .expect("header struct field 1 is binary")
                .append_option(header.value.as_deref());
            entries.append(true);
        }
        headers.append(true);
        timestamp.append_option(record.timestamp_ms);
        topic.append_value(&record.topic);
        partition.append_value(record.partition);
        offset.append_value(record.offset);
    }
    vec![
        Arc::new(key.finish()),
        Arc::new(headers.finish()),
        Arc::new(timestamp.finish()),
        Arc::new(topic.finish()),
        Arc::new(partition.finish()),
        Arc::new(offset.finish()),
    ]
}
