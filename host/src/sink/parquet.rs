//! The Parquet sink: batches into Parquet files in a folder, rolled by
//! records, bytes or time.
//!
//! A file is written under a hidden temporary name (`.NAME.parquet.tmp`)
//! and renamed to `NAME.parquet` only once its footer is written and synced,
//! so a reader listing `*.parquet` never sees half a file. The batches in an
//! open file are acknowledged when the file is closed, so the task commits
//! source offsets only for rows in closed files; a crash leaves a temporary
//! file whose rows were never acknowledged and will be written again. Such
//! leftovers are removed when the sink opens the folder again.
//!
//! Several sinks may share a folder (the tasks of a connector, or two
//! processes running one pipeline): every file name carries the process id
//! and a number of its own sink besides the start time, so no two sinks
//! ever write the same name, and a temporary file is held under an
//! exclusive advisory lock (`flock`) while it is written, so a sink
//! removing leftovers skips files another sink is still writing.
//!
//! A batch whose value columns differ from the open file's starts a new
//! file, so every file has one schema. Metadata columns (`__topic`,
//! `__offset`, …) are left out unless asked for.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::{Sink, SinkError};
use crate::runtime::ack::BatchAck;

/// How a Parquet sink names, rolls and compresses its files.
#[derive(Debug, Clone)]
pub struct ParquetSinkSpec {
    /// The folder the files go in.
    pub dir: PathBuf,
    /// The start of every file name (the pipeline's name).
    pub prefix: String,
    /// Close a file once it holds this many rows.
    pub roll_records: u64,
    /// Close a file once about this many bytes are written to it.
    pub roll_bytes: u64,
    /// Close a file this long after it was opened, even if rows still come.
    pub roll_interval: Duration,
    /// The column compression.
    pub compression: ParquetCompression,
    /// Keep the `__…` metadata columns.
    pub metadata: bool,
}

/// Column compression of a Parquet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCompression {
    /// None.
    None,
    /// Snappy: fast, modest.
    Snappy,
    /// Zstandard at its default level: smaller files.
    Zstd,
}

/// An open file and the batches waiting for it to close.
struct OpenFile {
    writer: ArrowWriter<File>,
    temp: PathBuf,
    done: PathBuf,
    schema: SchemaRef,
    rows: u64,
    opened: Instant,
    waiting: Vec<Arc<BatchAck>>,
}

/// Writes batches into rolled Parquet files.
pub struct ParquetSink {
    spec: ParquetSinkSpec,
    open: Option<OpenFile>,
    /// Files closed by this sink, for names that never repeat.
    sequence: u64,
    /// When the sink started, its process and its number in the process:
    /// the middle of its file names.
    started: String,
}

impl ParquetSink {
    /// Open the sink's folder (creating it), removing temporary files an
    /// earlier run left behind.
    ///
    /// # Errors
    ///
    /// The folder cannot be created or read.
    pub fn open(spec: ParquetSinkSpec) -> Result<Self, SinkError> {
        let fail = |what: &str, e: std::io::Error| SinkError::File {
            path: spec.dir.display().to_string(),
            message: format!("{what}: {e}"),
        };
        std::fs::create_dir_all(&spec.dir).map_err(|e| fail("cannot create the folder", e))?;
        let leftovers =
            std::fs::read_dir(&spec.dir).map_err(|e| fail("cannot list the folder", e))?;
        let own = format!(".{}-", spec.prefix);
        for entry in leftovers.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&own) && name.ends_with(".parquet.tmp") {
                // A file another sink holds locked is being written.
                let in_use = File::open(entry.path())
                    .is_ok_and(|f| matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)));
                if in_use {
                    continue;
                }
                // Never renamed, so never acknowledged: its rows come again.
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => {
                        tracing::warn!(file = %entry.path().display(), "removed a Parquet file a stopped run left unfinished; its rows will be written again")
                    }
                    Err(e) => {
                        tracing::warn!(file = %entry.path().display(), error = %e, "cannot remove an unfinished Parquet file")
                    }
                }
            }
        }
        // Unique to this sink: the start time, the process, and the sink's
        // number within the process.
        static SINKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let number = SINKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(ParquetSink {
            spec,
            open: None,
            sequence: 0,
            started: format!(
                "{}-{}-{number}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
                std::process::id()
            ),
        })
    }

    /// The columns written of `batch`.
    fn columns(&self, batch: &RecordBatch) -> Result<RecordBatch, SinkError> {
        if self.spec.metadata {
            return Ok(batch.clone());
        }
        let keep: Vec<usize> = batch
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| !f.name().starts_with("__"))
            .map(|(i, _)| i)
            .collect();
        batch.project(&keep).map_err(|e| SinkError::Encode {
            message: format!("cannot select the value columns: {e}"),
        })
    }

    fn start_file(&mut self, schema: SchemaRef) -> Result<(), SinkError> {
        // The Parquet writer cannot take every Arrow type (and aborts on
        // some rather than answer), so they are refused here, by name.
        if let Some((column, what)) = schema
            .fields()
            .iter()
            .find_map(|f| unwritable(f.name(), f.data_type()))
        {
            return Err(SinkError::Encode {
                message: format!(
                    "Parquet cannot hold column `{column}`: it is {what}; drop or convert it \
                     with a transform, or write it to a `kafka` or `file` sink instead"
                ),
            });
        }
        self.sequence += 1;
        let name = format!(
            "{}-{}-{:06}.parquet",
            self.spec.prefix, self.started, self.sequence
        );
        let done = self.spec.dir.join(&name);
        let temp = self.spec.dir.join(format!(".{name}.tmp"));
        let file = File::create(&temp).map_err(|e| SinkError::File {
            path: temp.display().to_string(),
            message: format!("cannot create it: {e}"),
        })?;
        // Held until the file is closed: other sinks leave it alone.
        file.lock().map_err(|e| SinkError::File {
            path: temp.display().to_string(),
            message: format!("cannot lock it: {e}"),
        })?;
        let compression = match self.spec.compression {
            ParquetCompression::None => Compression::UNCOMPRESSED,
            ParquetCompression::Snappy => Compression::SNAPPY,
            ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
        };
        let properties = WriterProperties::builder()
            .set_compression(compression)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(|e| {
            SinkError::Encode {
                message: format!("Parquet cannot hold these columns: {e}"),
            }
        })?;
        self.open = Some(OpenFile {
            writer,
            temp,
            done,
            schema,
            rows: 0,
            opened: Instant::now(),
            waiting: Vec::new(),
        });
        Ok(())
    }

    /// Finish the open file: footer, sync, rename, then acknowledge its
    /// batches. On failure its batches fail and the temporary file stays
    /// for the next start to remove.
    fn close_file(&mut self) -> Result<(), SinkError> {
        let Some(open) = self.open.take() else {
            return Ok(());
        };
        let OpenFile {
            writer,
            temp,
            done,
            rows,
            waiting,
            ..
        } = open;
        let result = (|| -> Result<(), String> {
            let file = writer
                .into_inner()
                .map_err(|e| format!("cannot finish the file: {e}"))?;
            file.sync_all()
                .map_err(|e| format!("cannot sync the file: {e}"))?;
            // Renamed while still locked, so no other sink takes it for a
            // leftover in between.
            std::fs::rename(&temp, &done).map_err(|e| format!("cannot rename it: {e}"))?;
            drop(file);
            if let Ok(dir) = File::open(&self.spec.dir) {
                let _ = dir.sync_all();
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                tracing::info!(file = %done.display(), rows, "Parquet file closed");
                for ack in waiting {
                    ack.ack();
                }
                Ok(())
            }
            Err(message) => {
                for ack in &waiting {
                    ack.fail(format!("Parquet file `{}`: {message}", temp.display()));
                }
                Err(SinkError::File {
                    path: temp.display().to_string(),
                    message,
                })
            }
        }
    }

    fn due(&self) -> bool {
        self.open.as_ref().is_some_and(|o| {
            o.rows >= self.spec.roll_records
                || (o.writer.bytes_written() + o.writer.in_progress_size()) as u64
                    >= self.spec.roll_bytes
                || o.opened.elapsed() >= self.spec.roll_interval
        })
    }
}

/// The first part of a column of type `ty`, named `path`, that Parquet
/// cannot hold: its path and what it is.
fn unwritable(path: &str, ty: &arrow_schema::DataType) -> Option<(String, &'static str)> {
    use arrow_schema::{DataType, IntervalUnit};
    match ty {
        DataType::Union(..) => Some((
            path.to_owned(),
            "a union of several types (an Avro union with more than one non-null branch)",
        )),
        DataType::Interval(IntervalUnit::MonthDayNano) => Some((
            path.to_owned(),
            "an interval of months, days and nanoseconds",
        )),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::Map(f, _) => unwritable(&format!("{path}.{}", f.name()), f.data_type()),
        DataType::Struct(fields) if fields.is_empty() => {
            Some((path.to_owned(), "a struct without fields"))
        }
        DataType::Struct(fields) => fields
            .iter()
            .find_map(|f| unwritable(&format!("{path}.{}", f.name()), f.data_type())),
        DataType::Dictionary(_, value) => unwritable(path, value),
        _ => None,
    }
}

fn same_columns(a: &Schema, b: &Schema) -> bool {
    a.fields().len() == b.fields().len()
        && a.fields().iter().zip(b.fields()).all(|(x, y)| {
            x.name() == y.name()
                && x.data_type() == y.data_type()
                && x.is_nullable() == y.is_nullable()
        })
}

impl Sink for ParquetSink {
    fn write(&mut self, batch: &RecordBatch, ack: &Arc<BatchAck>) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = self.columns(batch)?;
        if let Some(open) = &self.open
            && !same_columns(&open.schema, &batch.schema())
        {
            tracing::info!(dir = %self.spec.dir.display(), "the columns changed; starting a new Parquet file");
            self.close_file()?;
        }
        // A batch larger than what the open file has room for is split, so
        // no file holds more than `roll_records` rows; each part is
        // acknowledged with its file.
        let mut start = 0;
        while start < batch.num_rows() {
            if self.open.is_none() {
                self.start_file(batch.schema())?;
            }
            let Some(open) = self.open.as_mut() else {
                return Err(SinkError::File {
                    path: self.spec.dir.display().to_string(),
                    message: "no open file".to_owned(),
                });
            };
            let room = self.spec.roll_records.saturating_sub(open.rows).max(1);
            let take = (batch.num_rows() - start).min(usize::try_from(room).unwrap_or(usize::MAX));
            open.writer
                .write(&batch.slice(start, take))
                .map_err(|e| SinkError::Encode {
                    message: format!("cannot write the batch to Parquet: {e}"),
                })?;
            open.rows += take as u64;
            ack.expect(1);
            open.waiting.push(ack.clone());
            start += take;
            if self.due() {
                self.close_file()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        self.close_file()
    }

    fn tick(&mut self) -> Result<(), SinkError> {
        if self.due() {
            self.close_file()?;
        }
        Ok(())
    }

    fn holds_acknowledgements(&self) -> bool {
        true
    }
}

impl Drop for ParquetSink {
    fn drop(&mut self) {
        if self.open.is_some() {
            tracing::debug!(dir = %self.spec.dir.display(), "the sink ends with an open Parquet file; its rows were not acknowledged");
        }
    }
}

/// Every finished Parquet file in `dir`, sorted by name.
pub fn finished_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::offsets::OffsetTracker;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    fn spec(dir: &Path, roll_records: u64) -> ParquetSinkSpec {
        ParquetSinkSpec {
            dir: dir.to_owned(),
            prefix: "orders".to_owned(),
            roll_records,
            roll_bytes: 1 << 30,
            roll_interval: Duration::from_secs(3600),
            compression: ParquetCompression::Zstd,
            metadata: false,
        }
    }

    fn batch(ids: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("__topic", DataType::Utf8, true),
        ]));
        let n = (ids.end - ids.start) as usize;
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(ids)),
                Arc::new(StringArray::from(vec![Some("t"); n])),
            ],
        )
        .expect("a batch")
    }

    fn ids_in(file: &Path) -> Vec<i64> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(file).expect("open"))
            .expect("a Parquet file")
            .build()
            .expect("a reader");
        let mut out = Vec::new();
        for b in reader {
            let b = b.expect("a batch");
            assert_eq!(b.num_columns(), 1, "metadata columns are left out");
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("int64");
            out.extend(ids.values().iter().copied());
        }
        out
    }

    struct Acks {
        tracker: Arc<Mutex<OffsetTracker>>,
        next: u64,
    }

    impl Acks {
        fn new() -> Self {
            Acks {
                tracker: Arc::new(Mutex::new(OffsetTracker::new())),
                next: 0,
            }
        }

        fn write(&mut self, sink: &mut ParquetSink, b: &RecordBatch) -> u64 {
            let id = self.next;
            self.next += 1;
            let positions = BTreeMap::from([((Arc::from("t"), 0), id as i64 + 1)]);
            self.tracker.lock().expect("lock").begin(id, &positions);
            let ack = BatchAck::new(id, self.tracker.clone());
            sink.write(b, &ack).expect("written");
            ack.seal();
            id
        }

        fn in_flight(&self) -> usize {
            self.tracker.lock().expect("lock").in_flight()
        }
    }

    #[test]
    fn batches_are_acknowledged_when_their_file_closes() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut sink = ParquetSink::open(spec(dir.path(), 300)).expect("opens");
        let mut acks = Acks::new();
        acks.write(&mut sink, &batch(0..100));
        acks.write(&mut sink, &batch(100..200));
        assert_eq!(
            acks.in_flight(),
            2,
            "nothing is acknowledged in an open file"
        );
        assert!(finished_files(dir.path()).is_empty());
        acks.write(&mut sink, &batch(200..300));
        assert_eq!(acks.in_flight(), 0, "the third batch rolled the file");
        acks.write(&mut sink, &batch(300..310));
        assert_eq!(acks.in_flight(), 1);
        sink.flush(Duration::from_secs(1)).expect("flushed");
        assert_eq!(acks.in_flight(), 0);

        let files = finished_files(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(ids_in(&files[0]), (0..300).collect::<Vec<_>>());
        assert_eq!(ids_in(&files[1]), (300..310).collect::<Vec<_>>());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn a_batch_larger_than_a_file_is_split_across_files() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut sink = ParquetSink::open(spec(dir.path(), 100)).expect("opens");
        let mut acks = Acks::new();
        acks.write(&mut sink, &batch(0..250));
        assert_eq!(acks.in_flight(), 1, "the last 50 rows wait in an open file");
        sink.flush(Duration::from_secs(1)).expect("flushed");
        assert_eq!(acks.in_flight(), 0);
        let files = finished_files(dir.path());
        let sizes: Vec<usize> = files.iter().map(|f| ids_in(f).len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let all: Vec<i64> = files.iter().flat_map(|f| ids_in(f)).collect();
        assert_eq!(all, (0..250).collect::<Vec<_>>());
    }

    #[test]
    fn a_schema_change_starts_a_new_file() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut sink = ParquetSink::open(spec(dir.path(), 1_000_000)).expect("opens");
        let mut acks = Acks::new();
        acks.write(&mut sink, &batch(0..10));
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, true)])),
            vec![Arc::new(StringArray::from(vec![Some("a"), None]))],
        )
        .expect("a batch");
        acks.write(&mut sink, &other);
        assert_eq!(acks.in_flight(), 1, "the first file closed on the change");
        sink.flush(Duration::from_secs(1)).expect("flushed");
        let files = finished_files(dir.path());
        assert_eq!(files.len(), 2);
        assert_eq!(ids_in(&files[0]), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn an_unfinished_file_of_an_earlier_run_is_removed_and_others_kept() {
        let dir = tempfile::tempdir().expect("a folder");
        let leftover = dir
            .path()
            .join(".orders-20260101T000000.000Z-000001.parquet.tmp");
        let foreign = dir.path().join(".other-x.parquet.tmp");
        std::fs::write(&leftover, b"PAR1 half").expect("write");
        std::fs::write(&foreign, b"not ours").expect("write");
        let _sink = ParquetSink::open(spec(dir.path(), 10)).expect("opens");
        assert!(!leftover.exists());
        assert!(foreign.exists());
    }

    #[test]
    fn a_file_rolls_on_time_when_the_task_ticks() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut s = spec(dir.path(), 1_000_000);
        s.roll_interval = Duration::from_millis(1);
        let mut sink = ParquetSink::open(s).expect("opens");
        let mut acks = Acks::new();
        // The first write is due at once, as its interval has passed.
        acks.write(&mut sink, &batch(0..5));
        std::thread::sleep(Duration::from_millis(5));
        sink.tick().expect("ticks");
        assert_eq!(acks.in_flight(), 0);
        assert_eq!(finished_files(dir.path()).len(), 1);
    }

    #[test]
    fn a_file_rolls_once_it_reaches_its_bytes() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut s = spec(dir.path(), 1_000_000);
        s.roll_bytes = 1;
        let mut sink = ParquetSink::open(s).expect("opens");
        let mut acks = Acks::new();
        // Any written row passes one byte: each batch closes its file.
        acks.write(&mut sink, &batch(0..10));
        assert_eq!(acks.in_flight(), 0, "the file closed on its size");
        acks.write(&mut sink, &batch(10..20));
        assert_eq!(acks.in_flight(), 0);
        let files = finished_files(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(ids_in(&files[0]), (0..10).collect::<Vec<_>>());
        assert_eq!(ids_in(&files[1]), (10..20).collect::<Vec<_>>());
    }

    #[test]
    fn sinks_sharing_a_folder_keep_their_files_apart() {
        let dir = tempfile::tempdir().expect("a folder");
        let mut first = ParquetSink::open(spec(dir.path(), 1_000)).expect("opens");
        let mut acks_first = Acks::new();
        acks_first.write(&mut first, &batch(0..10));
        // A second sink of the same pipeline starts while the first has a
        // file open: it leaves that file alone.
        let mut second = ParquetSink::open(spec(dir.path(), 1_000)).expect("opens");
        let mut acks_second = Acks::new();
        acks_second.write(&mut second, &batch(100..110));
        first.flush(Duration::from_secs(1)).expect("flushed");
        second.flush(Duration::from_secs(1)).expect("flushed");
        assert_eq!(acks_first.in_flight(), 0);
        assert_eq!(acks_second.in_flight(), 0);
        let files = finished_files(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        let mut all: Vec<i64> = files.iter().flat_map(|f| ids_in(f)).collect();
        all.sort_unstable();
        let expected: Vec<i64> = (0..10).chain(100..110).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn a_union_column_is_refused_by_name_before_anything_is_written() {
        use arrow_array::{ArrayRef, Int32Array, UnionArray};
        use arrow_buffer::ScalarBuffer;
        use arrow_schema::{UnionFields, UnionMode};
        let dir = tempfile::tempdir().expect("a folder");
        let mut sink = ParquetSink::open(spec(dir.path(), 10)).expect("opens");
        let fields = UnionFields::try_new(
            vec![0, 1],
            vec![
                Field::new("int", DataType::Int32, false),
                Field::new("string", DataType::Utf8, false),
            ],
        )
        .expect("union fields");
        let children: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(StringArray::from(vec!["a"])),
        ];
        let union = UnionArray::try_new(
            fields.clone(),
            ScalarBuffer::from(vec![0i8, 1]),
            Some(ScalarBuffer::from(vec![0i32, 0])),
            children,
        )
        .expect("a union");
        let customer = arrow_array::StructArray::from(vec![(
            Arc::new(Field::new(
                "discount",
                DataType::Union(fields, UnionMode::Dense),
                true,
            )),
            Arc::new(union) as ArrayRef,
        )]);
        let batch = RecordBatch::try_from_iter([("customer", Arc::new(customer) as ArrayRef)])
            .expect("a batch");
        let tracker = Arc::new(Mutex::new(OffsetTracker::new()));
        let ack = BatchAck::new(0, tracker);
        let err = sink.write(&batch, &ack).expect_err("refused");
        assert_eq!(
            err.to_string(),
            SinkError::Encode {
                message:
                    "Parquet cannot hold column `customer.discount`: it is a union of several \
                          types (an Avro union with more than one non-null branch); drop or \
                          convert it with a transform, or write it to a `kafka` or `file` sink \
                          instead"
                        .to_owned()
            }
            .to_string()
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert!(left.is_empty(), "nothing is written: {left:?}");
    }

    #[test]
    fn columns_parquet_cannot_hold_are_named_wherever_they_nest() {
        use arrow_schema::{Fields, IntervalUnit};
        let empty = DataType::Struct(Fields::empty());
        assert_eq!(
            unwritable("a", &empty),
            Some(("a".to_owned(), "a struct without fields"))
        );
        let listed = DataType::List(Arc::new(Field::new("item", empty, true)));
        assert_eq!(
            unwritable("b", &listed).map(|(at, _)| at),
            Some("b.item".to_owned())
        );
        let interval = DataType::Interval(IntervalUnit::MonthDayNano);
        let nested = DataType::Struct(Fields::from(vec![Field::new("d", interval, true)]));
        assert_eq!(
            unwritable("c", &nested).map(|(at, _)| at),
            Some("c.d".to_owned())
        );
        assert_eq!(unwritable("e", &DataType::Utf8), None);
    }
}
