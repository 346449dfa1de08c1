//! Counters of a running task, read by the progress line, the summary and
//! `GET /metrics`.
//!
//! A task updates its [`Metrics`] on its own thread, once per batch (and
//! once per transform call), with relaxed atomic additions: nothing on the
//! record path takes a lock. Readers take a [`Snapshot`] whenever they
//! like. Four kinds of figure live here:
//!
//! - counters of records, batches and commits;
//! - [`Histogram`]: how long batches take from the source to the sink, in
//!   the fixed buckets of [`LATENCY_BUCKETS_MS`];
//! - [`PluginTime`]: time spent in each transform, by the transform's
//!   name, so a live swap of a transform under the same name carries on
//!   counting where the old instance stopped;
//! - consumer lag per partition, replaced whole whenever the source works
//!   it out again (see [`crate::source::Source::lag`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::offsets::TopicPartition;

/// Upper bounds of the batch latency buckets, in milliseconds; one more
/// bucket (`+Inf`) takes everything above the last. From a millisecond
/// (a small batch through a file) to ten seconds (a sink or registry in
/// trouble).
pub const LATENCY_BUCKETS_MS: [u64; 12] =
    [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/// Buckets of a [`Histogram`]: those of [`LATENCY_BUCKETS_MS`] and `+Inf`.
const BUCKETS: usize = LATENCY_BUCKETS_MS.len() + 1;

/// What one task has done so far. Updated once per batch.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records read from the source.
    pub records_in: AtomicU64,
    /// Rows handed to the sink.
    pub records_out: AtomicU64,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: AtomicU64,
    /// Rows dropped by transforms.
    pub filtered: AtomicU64,
    /// Batches processed.
    pub batches: AtomicU64,
    /// Offset commits made.
    pub commits: AtomicU64,
    /// Per batch, the time from the source handing it to the task until
    /// the task has handed it to the sink (and its bad records to the
    /// dead-letter path). One observation per counted batch, so its count
    /// equals [`Metrics::batches`].
    pub batch_latency: Histogram,
    /// Time spent in each transform, by the transform's name.
    plugins: Mutex<BTreeMap<String, Arc<PluginTime>>>,
    /// Records each assigned partition holds beyond the task's position,
    /// as the source last worked it out.
    lag: Mutex<BTreeMap<TopicPartition, u64>>,
    /// Why the task is waiting instead of moving records (an unreachable
    /// schema registry), while it is.
    stalled: Mutex<Option<String>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Metrics::records_in`].
    pub records_in: u64,
    /// See [`Metrics::records_out`].
    pub records_out: u64,
    /// See [`Metrics::dead_lettered`].
    pub dead_lettered: u64,
    /// See [`Metrics::filtered`].
    pub filtered: u64,
    /// See [`Metrics::batches`].
    pub batches: u64,
    /// See [`Metrics::commits`].
    pub commits: u64,
    /// See [`Metrics::batch_latency`].
    pub batch_latency: HistogramSnapshot,
    /// Time spent in each transform, by the transform's name. A transform
    /// a live swap removed keeps its last figures.
    pub plugins: BTreeMap<String, PluginTimeSnapshot>,
    /// Consumer lag per assigned partition; empty for sources without
    /// partitions (generated records) and before the first figure.
    pub lag: BTreeMap<TopicPartition, u64>,
}

impl Metrics {
    /// Read every counter.
    pub fn snapshot(&self) -> Snapshot {
        let plugins = relock(&self.plugins)
            .iter()
            .map(|(name, time)| (name.clone(), time.snapshot()))
            .collect();
        Snapshot {
            records_in: self.records_in.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            filtered: self.filtered.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            batch_latency: self.batch_latency.snapshot(),
            plugins,
            lag: relock(&self.lag).clone(),
        }
    }

    /// The time counter of the transform called `name`, made on first use.
    /// A task asks once per transform instance it starts, and adds to the
    /// counter without a lock afterwards; a transform swapped in under a
    /// name already counted adds to the same counter.
    pub fn plugin(&self, name: &str) -> Arc<PluginTime> {
        relock(&self.plugins)
            .entry(name.to_owned())
            .or_default()
            .clone()
    }

    /// Replace the consumer lag with a fresh figure: partitions no longer
    /// assigned disappear.
    pub fn set_lag(&self, lag: BTreeMap<TopicPartition, u64>) {
        *relock(&self.lag) = lag;
    }

    /// Say why the task waits, or that it no longer does.
    pub fn set_stalled(&self, reason: Option<String>) {
        *relock(&self.stalled) = reason;
    }

    /// Why the task waits, if it does.
    pub fn stalled(&self) -> Option<String> {
        relock(&self.stalled).clone()
    }

    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// Lock `mutex`, going on with the data when a panicking holder poisoned
/// it: every value behind these locks is whole after any single write.
fn relock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Durations counted in the buckets of [`LATENCY_BUCKETS_MS`], with their
/// sum: a Prometheus histogram. Observing is two relaxed atomic additions,
/// no lock.
///
/// A reader may see an observation in its bucket before its duration is in
/// the sum (or the other way round); the next reading is exact again.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket, not cumulative: `counts[i]` holds those
    /// above bound `i - 1` and at most bound `i`; the last holds those
    /// above every bound.
    counts: [AtomicU64; BUCKETS],
    /// The sum of all observations, in nanoseconds (enough for 584 years).
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Count one duration.
    pub fn observe(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS_MS
            .iter()
            .position(|ms| nanos <= ms * 1_000_000)
            .unwrap_or(BUCKETS - 1);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Read the buckets and the sum.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed)),
            sum_nanos: self.sum_nanos.load(Ordering::Relaxed),
        }
    }
}

/// A [`Histogram`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Observations per bucket, not cumulative (see [`Histogram`]).
    counts: [u64; BUCKETS],
    /// The sum of all observations, in nanoseconds.
    sum_nanos: u64,
}

impl HistogramSnapshot {
    /// The buckets as Prometheus shows them: each bound in seconds (`None`
    /// for `+Inf`) with the observations at most that long, so the counts
    /// never decrease and the last is [`HistogramSnapshot::count`].
    pub fn cumulative(&self) -> Vec<(Option<f64>, u64)> {
        let bounds = LATENCY_BUCKETS_MS
            .iter()
            .map(|ms| Some(*ms as f64 / 1000.0))
            .chain(std::iter::once(None));
        let mut total = 0u64;
        bounds
            .zip(self.counts)
            .map(|(bound, n)| {
                total += n;
                (bound, total)
            })
            .collect()
    }

    /// How many durations were observed.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Their sum, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_nanos as f64 / 1e9
    }
}

/// Time spent in one transform: calls and their total duration, each a
/// relaxed atomic addition per call.
#[derive(Debug, Default)]
pub struct PluginTime {
    /// Calls made, failed ones included.
    calls: AtomicU64,
    /// Their total duration, in nanoseconds.
    nanos: AtomicU64,
}

impl PluginTime {
    /// Count one call that took `duration`.
    pub fn record(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Read both counters.
    pub fn snapshot(&self) -> PluginTimeSnapshot {
        PluginTimeSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            nanos: self.nanos.load(Ordering::Relaxed),
        }
    }
}

/// A [`PluginTime`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PluginTimeSnapshot {
    /// Calls made.
    pub calls: u64,
    /// Their total duration, in nanoseconds.
    pub nanos: u64,
}

impl PluginTimeSnapshot {
    /// The total duration, in seconds.
    pub fn seconds(&self) -> f64 {
        self.nanos as f64 / 1e9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_duration_counts_in_the_first_bucket_it_fits_bounds_included() {
        let h = Histogram::default();
        // At a bound, below it, above every bound, and zero.
        for d in [
            ms(1),
            Duration::from_micros(1001),
            ms(5),
            ms(10_000),
            ms(10_001),
            ms(0),
        ] {
            h.observe(d);
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 6);
        let cumulative = s.cumulative();
        assert_eq!(cumulative.len(), LATENCY_BUCKETS_MS.len() + 1);
        let at = |bound: Option<f64>| {
            cumulative
                .iter()
                .find(|(b, _)| *b == bound)
                .map(|(_, n)| *n)
                .expect("a bucket")
        };
        // 0 and 1 ms in `le=0.001`; 1.001 and 5 ms up to `le=0.005`.
        assert_eq!(at(Some(0.001)), 2);
        assert_eq!(at(Some(0.005)), 4);
        assert_eq!(at(Some(2.5)), 4);
        // 10 s is in `le=10`; 10.001 s only in `+Inf`.
        assert_eq!(at(Some(10.0)), 5);
        assert_eq!(at(None), 6);
        assert_eq!(s.sum_nanos, 20_008_001_000);
        assert_eq!(s.sum_seconds(), 20.008001);
    }

    #[test]
    fn buckets_are_cumulative_and_end_at_the_count() {
        let h = Histogram::default();
        for i in 0..200u64 {
            h.observe(Duration::from_micros(i * i * 300));
        }
        let s = h.snapshot();
        let cumulative = s.cumulative();
        assert!(
            cumulative.windows(2).all(|w| w[0].1 <= w[1].1),
            "{cumulative:?}"
        );
        assert_eq!(cumulative.last(), Some(&(None, 200)));
        assert_eq!(s.count(), 200);
        // Each bucket holds exactly the durations up to its bound.
        for (bound, n) in &cumulative[..cumulative.len() - 1] {
            let bound_us = (bound.expect("a bound") * 1e6).round() as u64;
            let expected = (0..200u64).filter(|i| i * i * 300 <= bound_us).count() as u64;
            assert_eq!(*n, expected, "le={bound:?}");
        }
    }

    #[test]
    fn an_empty_histogram_shows_every_bucket_at_zero() {
        let s = Histogram::default().snapshot();
        assert_eq!(s.count(), 0);
        assert_eq!(s.sum_seconds(), 0.0);
        assert!(s.cumulative().iter().all(|(_, n)| *n == 0));
    }

    #[test]
    fn a_huge_duration_lands_in_the_last_bucket_without_overflow() {
        let h = Histogram::default();
        h.observe(Duration::MAX);
        let s = h.snapshot();
        assert_eq!(s.cumulative().last(), Some(&(None, 1)));
        assert_eq!(s.cumulative()[LATENCY_BUCKETS_MS.len() - 1].1, 0);
    }

    #[test]
    fn plugin_time_is_kept_by_transform_name() {
        let metrics = Metrics::default();
        let first = metrics.plugin("hide");
        first.record(ms(2));
        // A swap starts a new instance under the same name: same counter.
        let swapped = metrics.plugin("hide");
        swapped.record(ms(3));
        metrics.plugin("keep").record(ms(1));
        let plugins = metrics.snapshot().plugins;
        assert_eq!(
            plugins.get("hide"),
            Some(&PluginTimeSnapshot {
                calls: 2,
                nanos: 5_000_000
            })
        );
        assert_eq!(plugins.get("keep").map(|p| p.calls), Some(1));
        assert_eq!(
            plugins.get("hide").map(PluginTimeSnapshot::seconds),
            Some(0.005)
        );
    }

    #[test]
    fn a_fresh_lag_replaces_the_last_one() {
        let metrics = Metrics::default();
        let tp = |p| (Arc::<str>::from("orders"), p);
        metrics.set_lag(BTreeMap::from([(tp(0), 5), (tp(1), 0)]));
        assert_eq!(metrics.snapshot().lag.get(&tp(0)), Some(&5));
        metrics.set_lag(BTreeMap::from([(tp(1), 2)]));
        assert_eq!(metrics.snapshot().lag, BTreeMap::from([(tp(1), 2)]));
    }
}
