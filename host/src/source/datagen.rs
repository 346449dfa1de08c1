//! Generated JSON orders: the `datagen` source, and the feed that fills the
//! embedded broker for the quickstart.
//!
//! Records look like a shop's order events: an id, a timestamp, a nested
//! customer (with an email worth masking), an amount, a currency, a status.
//! The same seed gives the same records. A share of them can be made
//! deliberately bad (`bad_ratio`) so the dead-letter path has work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Source, SourceError, SourceStatus};
use crate::config::DatagenConfig;
use crate::record::{Header, RawRecord};

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Ken",
    "Radia",
    "Linus",
    "Frances",
    "John",
    "Sophie",
    "Tim",
    "Hedy",
    "Dennis",
    "Katherine",
    "Niklaus",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Allen",
    "Backus",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Ritchie",
    "Johnson",
    "Wirth",
];
const TIERS: &[&str] = &["bronze", "silver", "gold", "platinum"];
const CURRENCIES: &[&str] = &["EUR", "USD", "GBP", "JPY", "CHF"];
const STATUSES: &[&str] = &["placed", "paid", "shipped", "delivered", "cancelled"];
const COUNTRIES: &[&str] = &["DE", "FR", "US", "GB", "JP", "CH", "NL", "SE", "ES", "IT"];
const CHANNELS: &[&str] = &["web", "ios", "android", "store"];

/// Makes order records one at a time.
#[derive(Debug)]
pub struct OrderGenerator {
    rng: StdRng,
    next_id: u64,
    bad_ratio: f64,
    /// Milliseconds since the epoch of the first order.
    start_ms: i64,
}

impl OrderGenerator {
    /// A generator with the given seed and share of bad records.
    pub fn new(seed: u64, bad_ratio: f64) -> Self {
        OrderGenerator {
            rng: StdRng::seed_from_u64(seed),
            next_id: 1,
            bad_ratio,
            // 2026-01-01T00:00:00Z: fixed, so the same seed gives the same bytes.
            start_ms: 1_767_225_600_000,
        }
    }

    /// The next record's key, value and headers.
    pub fn next_record(&mut self) -> (Vec<u8>, Option<Vec<u8>>, Vec<Header>) {
        let id = self.next_id;
        self.next_id += 1;
        let customer_id = self.rng.random_range(1..=5_000u32);
        let key = format!("customer-{customer_id}").into_bytes();
        let headers = vec![
            Header {
                key: "source".to_owned(),
                value: Some(b"datagen".to_vec()),
            },
            Header {
                key: "order-id".to_owned(),
                value: Some(id.to_string().into_bytes()),
            },
        ];
        if self.bad_ratio > 0.0 && self.rng.random_bool(self.bad_ratio.min(1.0)) {
            let value = match self.rng.random_range(0..3) {
                0 => Some(format!("{{\"id\": {id}, \"amount\": ").into_bytes()),
                1 => Some(format!("{{\"id\": {id}, \"amount\": \"a lot\"}}").into_bytes()),
                _ => Some(Vec::new()),
            };
            return (key, value, headers);
        }
        let first = FIRST[self.rng.random_range(0..FIRST.len())];
        let last = LAST[self.rng.random_range(0..LAST.len())];
        let ts_ms = self.start_ms + id as i64 * 37;
        let ts = chrono::DateTime::from_timestamp_millis(ts_ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default();
        let amount = (self.rng.random_range(100..50_000u32) as f64) / 100.0;
        let coupon = if self.rng.random_bool(0.2) {
            format!("\"SAVE{}\"", self.rng.random_range(5..30u32))
        } else {
            "null".to_owned()
        };
        let value = format!(
            concat!(
                "{{\"id\":{id},\"ts\":\"{ts}\",",
                "\"customer\":{{\"id\":{cid},\"name\":\"{first} {last}\",",
                "\"email\":\"{lfirst}.{llast}@example.com\",\"tier\":\"{tier}\"}},",
                "\"amount\":{amount},\"currency\":\"{currency}\",\"items\":{items},",
                "\"status\":\"{status}\",\"country\":\"{country}\",\"channel\":\"{channel}\",",
                "\"coupon\":{coupon},\"paid\":{paid}}}"
            ),
            id = id,
            ts = ts,
            cid = customer_id,
            first = first,
            last = last,
            lfirst = first.to_lowercase(),
            llast = last.to_lowercase(),
            tier = TIERS[self.rng.random_range(0..TIERS.len())],
            amount = amount,
            currency = CURRENCIES[self.rng.random_range(0..CURRENCIES.len())],
            items = self.rng.random_range(1..12u32),
            status = STATUSES[self.rng.random_range(0..STATUSES.len())],
            country = COUNTRIES[self.rng.random_range(0..COUNTRIES.len())],
            channel = CHANNELS[self.rng.random_range(0..CHANNELS.len())],
            coupon = coupon,
            paid = self.rng.random_bool(0.7),
        );
        (key, Some(value.into_bytes()), headers)
    }
}

/// The columns of a well-formed generated order, as the quickstart's
/// pipeline declares them: what an Avro feed writes.
pub fn order_schema() -> arrow_schema::SchemaRef {
    let spec = serde_json::json!({
        "id": { "type": "int64", "nullable": false },
        "ts": { "type": "timestamp(ms, UTC)", "nullable": false },
        "customer": { "type": { "struct": {
            "id": { "type": "int64", "nullable": false },
            "name": { "type": "utf8", "nullable": false },
            "email": { "type": "utf8", "nullable": false },
            "tier": { "type": "utf8", "nullable": false },
        } }, "nullable": false },
        "amount": { "type": "float64", "nullable": false },
        "currency": { "type": "utf8", "nullable": false },
        "items": { "type": "int32", "nullable": false },
        "status": { "type": "utf8", "nullable": false },
        "country": { "type": "utf8", "nullable": false },
        "channel": { "type": "utf8", "nullable": false },
        "coupon": "utf8",
        "paid": { "type": "bool", "nullable": false },
    });
    // The spec is fixed and parses; an empty schema would only make every
    // order a bad record, never a wrong one.
    Arc::new(
        crate::format::schema::parse_schema(&spec)
            .unwrap_or_else(|_| arrow_schema::Schema::empty()),
    )
}

/// Paces a generator to a rate, if one is set.
#[derive(Debug)]
pub struct Pacer {
    rate: Option<u64>,
    started: Instant,
    sent: u64,
}

impl Pacer {
    /// A pacer for at most `rate` records per second.
    pub fn new(rate: Option<u64>) -> Self {
        Pacer {
            rate,
            started: Instant::now(),
            sent: 0,
        }
    }

    /// How many records may be sent now, at most `want`. Time in which
    /// nothing was asked for (a pause, a slow consumer) is not made up for
    /// later with a burst: at most a second's worth is ever due at once.
    pub fn allowance(&mut self, want: u64) -> u64 {
        match self.rate {
            None => want,
            Some(rate) => {
                let due = (self.started.elapsed().as_secs_f64() * rate as f64) as u64;
                let behind = due.saturating_sub(self.sent);
                if behind > rate {
                    // Forget what was missed beyond a second.
                    self.sent = due - rate;
                }
                due.saturating_sub(self.sent).min(want)
            }
        }
    }

    /// Note that `n` records were sent.
    pub fn sent(&mut self, n: u64) {
        self.sent += n;
    }
}

/// How many records of a generated source were acknowledged: where its
/// next run starts. Shared by the task and whoever keeps it across runs
/// (`sabot serve` stores it with the connector).
#[derive(Debug, Default)]
pub struct SourcePosition {
    acknowledged: AtomicU64,
}

impl SourcePosition {
    /// A position `records` records in.
    pub fn at(records: u64) -> Self {
        SourcePosition {
            acknowledged: AtomicU64::new(records),
        }
    }

    /// Records acknowledged so far.
    pub fn get(&self) -> u64 {
        self.acknowledged.load(Ordering::Acquire)
    }

    /// Move to `records`.
    pub fn set(&self, records: u64) {
        self.acknowledged.store(records, Ordering::Release);
    }
}

/// The `datagen` source: generated records straight into the pipeline.
#[derive(Debug)]
pub struct DatagenSource {
    generator: OrderGenerator,
    remaining: Option<u64>,
    pacer: Pacer,
    topic: Arc<str>,
    offset: i64,
    paused: bool,
    position: Arc<SourcePosition>,
}

impl DatagenSource {
    /// A source for `config`, starting after the records `position` says
    /// were acknowledged: the generator runs past them, so a run resumed
    /// from a position gives the records an uninterrupted run would.
    pub fn new(config: &DatagenConfig, position: Arc<SourcePosition>) -> Self {
        let skip = position.get();
        let skip = config.records.map_or(skip, |n| skip.min(n));
        let mut generator = OrderGenerator::new(config.seed, config.bad_ratio);
        for _ in 0..skip {
            generator.next_record();
        }
        if skip > 0 {
            tracing::info!(
                records = skip,
                "datagen resumes after the acknowledged records"
            );
        }
        DatagenSource {
            generator,
            remaining: config.records.map(|n| n - skip),
            pacer: Pacer::new(config.rate),
            topic: Arc::from("datagen"),
            offset: i64::try_from(skip).unwrap_or(i64::MAX),
            paused: false,
            position,
        }
    }
}

impl Source for DatagenSource {
    fn poll_batch(
        &mut self,
        max_records: usize,
        max_wait: Duration,
        out: &mut Vec<RawRecord>,
    ) -> Result<SourceStatus, SourceError> {
        if self.paused {
            std::thread::sleep(max_wait.min(Duration::from_millis(100)));
            return Ok(SourceStatus { idle: false });
        }
        if self.remaining == Some(0) {
            // Done: wait as a real source would for records that will not
            // come, rather than spin.
            std::thread::sleep(max_wait.min(Duration::from_millis(100)));
            return Ok(SourceStatus { idle: true });
        }
        let deadline = Instant::now() + max_wait;
        while out.len() < max_records {
            let want = (max_records - out.len()) as u64;
            let want = self.remaining.map_or(want, |r| r.min(want));
            if want == 0 {
                break;
            }
            let n = self.pacer.allowance(want);
            if n == 0 {
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            for _ in 0..n {
                let (key, value, headers) = self.generator.next_record();
                out.push(RawRecord {
                    topic: self.topic.clone(),
                    partition: 0,
                    offset: self.offset,
                    timestamp_ms: Some(chrono::Utc::now().timestamp_millis()),
                    key: Some(key),
                    value,
                    headers,
                });
                self.offset += 1;
            }
            self.pacer.sent(n);
            if let Some(r) = &mut self.remaining {
                *r -= n;
            }
        }
        Ok(SourceStatus {
            idle: self.remaining == Some(0) && out.is_empty(),
        })
    }

    fn commit(&mut self, offsets: &[(Arc<str>, i32, i64)]) -> Result<(), SourceError> {
        // One partition; its committed offset counts the records done.
        if let Some((_, _, next)) = offsets.iter().max_by_key(|(_, _, next)| *next) {
            self.position.set(u64::try_from(*next).unwrap_or(0));
        }
        Ok(())
    }

    fn pause(&mut self) -> Result<(), SourceError> {
        self.paused = true;
        Ok(())
    }

    fn resume(&mut self) -> Result<(), SourceError> {
        self.paused = false;
        // The rate goes on from now, with no burst for the time paused.
        self.pacer = Pacer::new(self.pacer.rate);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pacer_behind_by_more_than_a_second_sends_at_most_a_second_at_once() {
        // Ten seconds in and nothing sent (paused, or nobody asked).
        let mut pacer = Pacer {
            rate: Some(100),
            started: Instant::now() - Duration::from_secs(10),
            sent: 0,
        };
        let first = pacer.allowance(10_000);
        assert!((100..=101).contains(&first), "{first}");
        pacer.sent(first);
        assert!(pacer.allowance(10_000) <= 1);
        // Without a rate, everything asked for is due.
        assert_eq!(Pacer::new(None).allowance(10_000), 10_000);
    }

    #[test]
    fn the_same_seed_gives_the_same_records() {
        let mut a = OrderGenerator::new(7, 0.0);
        let mut b = OrderGenerator::new(7, 0.0);
        for _ in 0..100 {
            assert_eq!(a.next_record(), b.next_record());
        }
    }

    #[test]
    fn records_are_json_orders() {
        let mut g = OrderGenerator::new(1, 0.0);
        let (key, value, headers) = g.next_record();
        let value: serde_json::Value =
            serde_json::from_slice(&value.expect("a value")).expect("valid JSON");
        assert_eq!(value["id"], 1);
        assert_eq!(value["ts"], "2026-01-01T00:00:00.037Z");
        assert!(
            value["customer"]["email"]
                .as_str()
                .expect("email")
                .ends_with("@example.com")
        );
        assert!(
            String::from_utf8(key)
                .expect("utf8")
                .starts_with("customer-")
        );
        assert_eq!(headers[1].value.as_deref(), Some(&b"1"[..]));
    }

    #[test]
    fn the_source_stops_after_its_records() {
        let mut source = DatagenSource::new(
            &DatagenConfig {
                records: Some(2500),
                rate: None,
                seed: 1,
                bad_ratio: 0.0,
            },
            Arc::default(),
        );
        let mut total = 0;
        loop {
            let mut out = Vec::new();
            let status = source
                .poll_batch(1000, Duration::from_millis(10), &mut out)
                .expect("poll");
            total += out.len();
            if status.idle {
                break;
            }
        }
        assert_eq!(total, 2500);
    }

    fn values(source: &mut DatagenSource, n: usize) -> Vec<Option<Vec<u8>>> {
        let mut out = Vec::new();
        while out.len() < n {
            source
                .poll_batch(n - out.len(), Duration::from_millis(10), &mut out)
                .expect("poll");
        }
        out.into_iter().map(|r| r.value).collect()
    }

    #[test]
    fn a_source_resumed_from_a_position_continues_the_sequence() {
        let config = DatagenConfig {
            records: Some(100),
            rate: None,
            seed: 5,
            bad_ratio: 0.2,
        };
        let mut whole = DatagenSource::new(&config, Arc::default());
        let all = values(&mut whole, 100);

        let position = Arc::new(SourcePosition::default());
        let mut first = DatagenSource::new(&config, position.clone());
        let head = values(&mut first, 40);
        first
            .commit(&[(Arc::from("datagen"), 0, 40)])
            .expect("commit");
        assert_eq!(position.get(), 40);

        let mut rest = DatagenSource::new(&config, position);
        let mut out = Vec::new();
        loop {
            let status = rest
                .poll_batch(1000, Duration::from_millis(10), &mut out)
                .expect("poll");
            if status.idle {
                break;
            }
        }
        assert_eq!(out[0].offset, 40);
        let tail: Vec<Option<Vec<u8>>> = out.into_iter().map(|r| r.value).collect();
        assert_eq!(tail.len(), 60);
        assert_eq!([head, tail].concat(), all);
    }
}
