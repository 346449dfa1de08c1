//! The records tests write to and read from a broker.

/// A record to produce with [`Broker::produce`](crate::Broker::produce).
///
/// Build one with the constructors and the `with_*` methods:
///
/// ```
/// use sabot_tests::TestRecord;
///
/// let record = TestRecord::value(r#"{"id":1}"#)
///     .with_key("k1")
///     .with_header("trace", Some("abc"))
///     .with_partition(2);
/// assert_eq!(record.key.as_deref(), Some(&b"k1"[..]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRecord {
    /// The partition to write to; `None` lets the producer's partitioner
    /// choose (librdkafka's `consistent_random`: by key hash, random without
    /// a key).
    pub partition: Option<i32>,
    /// The key; `None` is a null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a null value (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in order; a `None` value is a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The create time in milliseconds since the Unix epoch; `None` lets the
    /// producer stamp the current time.
    pub timestamp: Option<i64>,
}

impl TestRecord {
    /// A record with this value and nothing else.
    pub fn value(value: impl Into<Vec<u8>>) -> Self {
        Self {
            value: Some(value.into()),
            ..Self::default()
        }
    }

    /// A record with this key and value.
    pub fn keyed(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self::value(value).with_key(key)
    }

    /// Sets the key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Appends a header; `None` is a null header value.
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: Option<impl Into<Vec<u8>>>,
    ) -> Self {
        self.headers.push((name.into(), value.map(Into::into)));
        self
    }

    /// Sets the partition.
    #[must_use]
    pub fn with_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the create time, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn with_timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }
}

/// A record read back with [`Broker::consume_all`](crate::Broker::consume_all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset in that partition.
    pub offset: i64,
    /// The key; `None` is a null key.
    pub key: Option<Vec<u8>>,
    /// The value; `None` is a null value.
    pub value: Option<Vec<u8>>,
    /// Headers in order; a `None` value is a null header value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The record's timestamp in milliseconds since the Unix epoch (create or
    /// log-append time, whichever the topic keeps), if it has one.
    pub timestamp: Option<i64>,
}

impl ConsumedRecord {
    /// The key as UTF-8 text, if it is present and valid UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|key| std::str::from_utf8(key).ok())
    }

    /// The value as UTF-8 text, if it is present and valid UTF-8.
    pub fn value_str(&self) -> Option<&str> {
        self.value
            .as_deref()
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The value parsed as JSON.
    ///
    /// # Panics
    ///
    /// If the value is null or not JSON, naming the partition and offset.
    pub fn value_json(&self) -> serde_json::Value {
        let Some(value) = self.value.as_deref() else {
            panic!(
                "record at partition {} offset {} has a null value, not JSON",
                self.partition, self.offset
            );
        };
        serde_json::from_slice(value).unwrap_or_else(|error| {
            panic!(
                "record at partition {} offset {} is not JSON ({error}): {}",
                self.partition,
                self.offset,
                String::from_utf8_lossy(value)
            )
        })
    }

    /// The value of the first header called `name`: `None` when there is no
    /// such header, `Some(None)` when its value is null.
    pub fn header(&self, name: &str) -> Option<Option<&[u8]>> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_deref())
    }
}
