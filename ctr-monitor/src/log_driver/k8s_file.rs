//! The `k8s-file` log driver: the CRI log format Podman and Kubernetes read.
//!
//! ```text
//! 2026-11-27T20:24:22.123456789+00:00 stdout F a whole line
//! 2026-11-27T20:24:22.123456789+00:00 stderr P the first 16 KiB of a long line...
//! ```
//!
//! Complete lines are `F` records. A line is held back until its newline
//! arrives, up to [`MAX_LINE`] bytes; longer lines are cut into `P` (partial)
//! records, and an unterminated last line is written as `P` when the stream
//! ends. The pending bytes are the only buffer kept between reads, and only
//! while a line is incomplete.
//!
//! With a size limit the file starts over (a fresh file renamed into place,
//! as conmon does) when the next write would pass it. A failed write (disk
//! full) drops the records and counts the bytes; the container never waits.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

use super::{LogWriter, Stream};

/// Longest record content; longer lines become several `P` records.
pub const MAX_LINE: usize = 16 * 1024;

pub struct K8sFile {
    path: PathBuf,
    file: File,
    size: u64,
    size_max: u64,
    /// Incomplete line per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    dropped: u64,
    failing: bool,
    /// A failed write may have left half a record: start the next one on a new line.
    need_newline: bool,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

impl K8sFile {
    pub fn open(path: &Path, size_max: u64) -> std::io::Result<K8sFile> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(K8sFile {
            path: path.to_path_buf(),
            file,
            size,
            size_max,
            pending: [Vec::new(), Vec::new()],
            dropped: 0,
            failing: false,
            need_newline: false,
        })
    }

    fn record(out: &mut Vec<u8>, ts: &str, stream: Stream, full: bool, content: &[u8]) {
        out.extend_from_slice(ts.as_bytes());
        out.push(b' ');
        out.extend_from_slice(stream.name().as_bytes());
        out.extend_from_slice(if full { b" F " } else { b" P " });
        out.extend_from_slice(content);
        out.push(b'\n');
    }

    /// Records for a complete line: `P` pieces of MAX_LINE, then `F`.
    fn line(out: &mut Vec<u8>, ts: &str, stream: Stream, mut line: &[u8]) {
        while line.len() > MAX_LINE {
            Self::record(out, ts, stream, false, &line[..MAX_LINE]);
            line = &line[MAX_LINE..];
        }
        Self::record(out, ts, stream, true, line);
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        // An empty file replaces the log in one step, so a reader never
        // sees the old records cut short.
        use common::atomic_file::{AtomicFile, Durability};
        AtomicFile::create_mode(&self.path, 0o600, Durability::NoSync)?.commit()?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        debug!(path = %self.path.display(), "log reached its size limit and started over");
        Ok(())
    }

    /// Write whole records; with a size limit, as conmon, the file starts
    /// over before the record that would pass it (records in one batch up
    /// to there are written together).
    fn emit(&mut self, out: Vec<u8>) {
        if out.is_empty() {
            return;
        }
        if self.size_max == 0 || self.size + out.len() as u64 <= self.size_max {
            return self.append(out);
        }
        let mut batch_start = 0;
        let mut at = 0;
        while at < out.len() {
            let end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |p| at + p + 1);
            let batch = (at - batch_start) as u64;
            if self.size + batch + (end - at) as u64 > self.size_max {
                if batch > 0 {
                    self.append(out[batch_start..at].to_vec());
                }
                if let Err(e) = self.rotate() {
                    warn!(path = %self.path.display(), error = %e, "could not start the log over");
                }
                batch_start = at;
            }
            at = end;
        }
        self.append(out[batch_start..].to_vec());
    }

    fn append(&mut self, mut out: Vec<u8>) {
        if out.is_empty() {
            return;
        }
        if self.need_newline {
            out.insert(0, b'\n');
        }
        let mut written = 0;
        let result = loop {
            match self.file.write(&out[written..]) {
                Ok(0) => break Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
                Ok(n) => {
                    written += n;
                    if written == out.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.size += written as u64;
        match result {
            Ok(()) => {
                self.need_newline = false;
                if self.failing {
                    self.failing = false;
                    warn!(path = %self.path.display(), dropped_bytes = self.dropped, "log is writable again");
                }
            }
            Err(e) => {
                self.dropped += (out.len() - written) as u64;
                self.need_newline = written > 0;
                if !self.failing {
                    self.failing = true;
                    warn!(path = %self.path.display(), error = %e, "cannot write the container log; dropping output until it works again");
                }
            }
        }
    }
}

impl LogWriter for K8sFile {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        let (_, ts) = common::time::now_local();
        let mut out = Vec::new();
        let mut pending = std::mem::take(&mut self.pending[stream.index()]);
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            if pending.is_empty() {
                Self::line(&mut out, &ts, stream, &rest[..pos]);
            } else {
                pending.extend_from_slice(&rest[..pos]);
                Self::line(&mut out, &ts, stream, &pending);
                pending = Vec::new();
            }
            rest = &rest[pos + 1..];
        }
        pending.extend_from_slice(rest);
        if pending.len() >= MAX_LINE {
            let mut cut = 0;
            while pending.len() - cut >= MAX_LINE {
                Self::record(&mut out, &ts, stream, false, &pending[cut..cut + MAX_LINE]);
                cut += MAX_LINE;
            }
            pending = pending[cut..].to_vec();
        }
        self.pending[stream.index()] = pending;
        self.emit(out);
    }

    fn end_stream(&mut self, stream: Stream) {
        let pending = std::mem::take(&mut self.pending[stream.index()]);
        if !pending.is_empty() {
            let (_, ts) = common::time::now_local();
            let mut out = Vec::new();
            Self::record(&mut out, &ts, stream, false, &pending);
            self.emit(out);
        }
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        self.file = open_append(&self.path)?;
        self.size = self.file.metadata()?.len();
        debug!(path = %self.path.display(), "log reopened");
        Ok(())
    }

    fn dropped_bytes(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (stream, tag, content) of every record.
    fn records(path: &Path) -> Vec<(String, String, String)> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut p = l.splitn(4, ' ');
                let ts = p.next().unwrap();
                assert!(
                    ts.len() == 35 && ts.as_bytes()[10] == b'T',
                    "timestamp {ts:?}"
                );
                (
                    p.next().unwrap().to_string(),
                    p.next().unwrap().to_string(),
                    p.next().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn r(s: &str, t: &str, c: &str) -> (String, String, String) {
        (s.into(), t.into(), c.into())
    }

    #[test]
    fn lines_are_joined_across_reads_and_split_at_16k() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ctr.log");
        let mut w = K8sFile::open(&p, 0).unwrap();
        w.write(Stream::Stdout, b"hello\nwor");
        w.write(Stream::Stderr, b"oops\n\n");
        w.write(Stream::Stdout, b"ld\n");
        let long = vec![b'x'; MAX_LINE + 10];
        w.write(Stream::Stdout, &long);
        w.write(Stream::Stdout, b"\nno newline");
        w.end_stream(Stream::Stdout);
        w.end_stream(Stream::Stderr);
        let x16k = "x".repeat(MAX_LINE);
        assert_eq!(
            records(&p),
            vec![
                r("stdout", "F", "hello"),
                r("stderr", "F", "oops"),
                r("stderr", "F", ""),
                r("stdout", "F", "world"),
                r("stdout", "P", &x16k),
                r("stdout", "F", "xxxxxxxxxx"),
                r("stdout", "P", "no newline"),
            ]
        );
        assert!(
            w.pending.iter().all(|p| p.capacity() == 0),
            "no buffer kept once lines are complete"
        );
    }

    #[test]
    fn size_limit_starts_the_file_over() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ctr.log");
        let mut w = K8sFile::open(&p, 200).unwrap();
        for i in 0..10 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes());
        }
        let recs = records(&p);
        assert!(std::fs::metadata(&p).unwrap().len() <= 200);
        assert_eq!(recs.last().unwrap(), &r("stdout", "F", "line 9"));
        assert!(recs.len() < 10);
        // Many lines in one read are checked one by one, as conmon does.
        let mut w = K8sFile::open(&p, 200).unwrap();
        let burst: String = (0..50).map(|i| format!("burst {i}\n")).collect();
        w.write(Stream::Stdout, burst.as_bytes());
        let recs = records(&p);
        assert!(std::fs::metadata(&p).unwrap().len() <= 200);
        assert_eq!(recs.last().unwrap(), &r("stdout", "F", "burst 49"));
        assert!(!recs.contains(&r("stdout", "F", "burst 0")));
    }

    #[test]
    fn a_full_disk_drops_and_counts_instead_of_failing() {
        let mut w = K8sFile::open(Path::new("/dev/full"), 0).unwrap();
        w.write(Stream::Stdout, b"lost\n");
        w.write(Stream::Stdout, b"lost too\n");
        assert!(w.dropped_bytes() > 20, "{}", w.dropped_bytes());
    }
}
