//! JSON-lines sinks: a file, or standard output.
//!
//! A batch is encoded into one buffer and written with a single call, so a
//! reader of the file never sees half a batch unless the process dies in
//! the middle of that call. For that case, a last line without its newline
//! is set aside before anything is appended after it: it belongs to a batch
//! that was never acknowledged, and its records will be written again.
//!
//! Several writers may share one file (the tasks of a connector, or two
//! processes): each write, and each look at the file's end, holds an
//! exclusive advisory lock (`flock`) on the file, so one writer never
//! takes another's line in progress for a torn one, and lines never
//! interleave.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;

use super::{Sink, SinkError};
use crate::format::encode::JsonEncoder;
use crate::runtime::ack::BatchAck;

/// Appends one JSON object per row to a file.
pub struct FileSink {
    path: PathBuf,
    file: File,
    /// A regular file (locked and checked on every write), not a pipe or
    /// a device.
    regular: bool,
    sync: bool,
    encoder: JsonEncoder,
    buffer: Vec<u8>,
    ends: Vec<usize>,
}

impl FileSink {
    /// Open (or create) `path` for appending, repairing a torn last line.
    ///
    /// # Errors
    ///
    /// The file or its directory cannot be created or opened.
    pub fn open(path: &Path, sync: bool) -> Result<Self, SinkError> {
        let fail = |what: &str, e: std::io::Error| SinkError::File {
            path: path.display().to_string(),
            message: format!("{what}: {e}"),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail("cannot create its directory", e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| fail("cannot open it for appending", e))?;
        let regular = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        if regular {
            file.lock().map_err(|e| fail("cannot lock it", e))?;
            let repaired = repair_torn_line(&mut file, path);
            let _ = file.unlock();
            repaired.map_err(|e| fail("cannot check its last line", e))?;
        }
        // Pipes and devices cannot be synced (and need not be).
        let sync = sync && regular;
        Ok(FileSink {
            path: path.to_owned(),
            file,
            regular,
            sync,
            encoder: JsonEncoder::new().newline_delimited(true),
            buffer: Vec::new(),
            ends: Vec::new(),
        })
    }
}

/// Cut the file back to its last newline if it does not end with one.
fn repair_torn_line(file: &mut File, path: &Path) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    // Walk back in chunks to the last newline.
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    let keep = loop {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|b| *b == b'\n') {
            break start + i as u64 + 1;
        }
        if start == 0 {
            break 0;
        }
        end = start;
    };
    // The tail after the last newline. A complete JSON value is kept and
    // given its newline; anything else is moved aside to a file next to
    // this one, never deleted.
    let mut tail = Vec::with_capacity((len - keep) as usize);
    file.seek(SeekFrom::Start(keep))?;
    file.read_to_end(&mut tail)?;
    if serde_json::from_slice::<serde_json::Value>(&tail).is_ok() {
        file.seek(SeekFrom::End(0))?;
        file.write_all(b"\n")?;
        tracing::warn!(path = %path.display(), "the file's last line had no newline; added one");
        return Ok(());
    }
    let aside = path.with_extension(format!(
        "torn-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    ));
    std::fs::write(&aside, &tail)?;
    file.set_len(keep)?;
    tracing::warn!(
        path = %path.display(),
        moved_bytes = tail.len(),
        aside = %aside.display(),
        "the file ended with a partly written line (from a batch that was never acknowledged, \
         so its records will be written again); moved it aside"
    );
    Ok(())
}

impl Sink for FileSink {
    fn write(&mut self, batch: &RecordBatch, ack: &Arc<BatchAck>) -> Result<(), SinkError> {
        self.buffer.clear();
        self.ends.clear();
        self.encoder
            .encode(batch, &mut self.buffer, &mut self.ends)
            .map_err(|e| SinkError::Encode {
                message: e.to_string(),
            })?;
        let fail = |what: &str, e: std::io::Error| SinkError::File {
            path: self.path.display().to_string(),
            message: format!("{what}: {e}"),
        };
        if self.regular {
            self.file.lock().map_err(|e| fail("cannot lock", e))?;
            // Another writer of this file may have died in the middle of a
            // line; set it aside rather than append to it.
            let written = repair_torn_line(&mut self.file, &self.path)
                .map_err(|e| fail("cannot check its last line", e))
                .and_then(|()| {
                    self.file
                        .write_all(&self.buffer)
                        .map_err(|e| fail("cannot write", e))
                });
            let _ = self.file.unlock();
            written?;
        } else {
            self.file
                .write_all(&self.buffer)
                .map_err(|e| fail("cannot write", e))?;
        }
        if self.sync {
            self.file.sync_data().map_err(|e| fail("cannot sync", e))?;
        }
        ack.expect(1);
        ack.ack();
        Ok(())
    }

    fn flush(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        self.file.flush().map_err(|e| SinkError::File {
            path: self.path.display().to_string(),
            message: format!("cannot flush: {e}"),
        })
    }
}

/// Writes one JSON object per row to standard output.
pub struct StdoutSink {
    encoder: JsonEncoder,
    buffer: Vec<u8>,
    ends: Vec<usize>,
}

impl StdoutSink {
    /// A sink on this process's standard output.
    pub fn new() -> Self {
        StdoutSink {
            encoder: JsonEncoder::new().newline_delimited(true),
            buffer: Vec::new(),
            ends: Vec::new(),
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for StdoutSink {
    fn write(&mut self, batch: &RecordBatch, ack: &Arc<BatchAck>) -> Result<(), SinkError> {
        self.buffer.clear();
        self.ends.clear();
        self.encoder
            .encode(batch, &mut self.buffer, &mut self.ends)
            .map_err(|e| SinkError::Encode {
                message: e.to_string(),
            })?;
        let mut out = std::io::stdout().lock();
        out.write_all(&self.buffer)
            .and_then(|()| out.flush())
            .map_err(|e| SinkError::File {
                path: "<stdout>".to_owned(),
                message: format!("cannot write: {e}"),
            })?;
        ack.expect(1);
        ack.ack();
        Ok(())
    }

    fn flush(&mut self, _timeout: Duration) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The files next to `path` whose names start with its stem.
    fn asides(path: &Path) -> Vec<String> {
        let dir = path.parent().expect("parent");
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p != path)
            .map(|p| std::fs::read_to_string(p).expect("aside"))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_torn_last_line_is_moved_aside_on_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"a\":2}\n{\"a\":").expect("write");
        let _sink = FileSink::open(&path, false).expect("open");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        assert_eq!(asides(&path), vec!["{\"a\":"]);
    }

    #[test]
    fn a_complete_last_line_without_newline_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        std::fs::write(&path, "{\"id\":1}\n{\"id\":2}").expect("write");
        let _sink = FileSink::open(&path, false).expect("open");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"id\":1}\n{\"id\":2}\n"
        );
        assert!(asides(&path).is_empty());
    }

    #[test]
    fn a_file_of_one_line_of_text_loses_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("out.jsonl");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "hello world no newline").expect("write");
        let _sink = FileSink::open(&path, false).expect("open");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "");
        assert_eq!(asides(&path), vec!["hello world no newline"]);
    }

    /// A batch of one `i64` column `id` holding `ids`.
    fn ids(ids: std::ops::Range<i64>) -> RecordBatch {
        let column: arrow_array::ArrayRef =
            Arc::new(arrow_array::Int64Array::from_iter_values(ids));
        RecordBatch::try_from_iter([("id", column)]).expect("a batch")
    }

    fn ack() -> Arc<BatchAck> {
        let tracker = Arc::new(std::sync::Mutex::new(
            crate::runtime::offsets::OffsetTracker::new(),
        ));
        BatchAck::new(0, tracker)
    }

    #[test]
    fn writers_sharing_a_file_never_interleave_or_cut_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        let writers: Vec<_> = (0..3i64)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut sink = FileSink::open(&path, false).expect("open");
                    for b in 0..200i64 {
                        let start = w * 1_000_000 + b * 100;
                        sink.write(&ids(start..start + 100), &ack()).expect("write");
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("a writer");
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let mut seen: Vec<i64> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a whole line");
                v["id"].as_i64().expect("an id")
            })
            .collect();
        seen.sort_unstable();
        let mut expected: Vec<i64> = (0..3i64)
            .flat_map(|w| w * 1_000_000..w * 1_000_000 + 20_000)
            .collect();
        expected.sort_unstable();
        assert_eq!(seen, expected);
        assert!(asides(&path).is_empty());
    }

    #[test]
    fn a_line_torn_by_another_writer_is_set_aside_before_the_next_batch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.jsonl");
        let mut sink = FileSink::open(&path, false).expect("open");
        sink.write(&ids(0..2), &ack()).expect("write");
        // Another process died in the middle of its line.
        let mut other = OpenOptions::new().append(true).open(&path).expect("open");
        other.write_all(b"{\"id\":9").expect("append");
        sink.write(&ids(2..3), &ack()).expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{\"id\":0}\n{\"id\":1}\n{\"id\":2}\n"
        );
        assert_eq!(asides(&path), vec!["{\"id\":9"]);
    }
}
