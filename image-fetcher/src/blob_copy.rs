//! Copy one blob from a source stream into the layout: hashed while it
//! streams (on a blocking thread, beside the network reads), size-bounded,
//! fsync'd, and renamed into place only when the digest matched. A blob
//! already present is re-verified and reused instead.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tracing::debug;

use crate::digest::Hasher;
use crate::error::FetchError;
use crate::layout::Layout;
use crate::manifest::Descriptor;
use crate::source::{BlobStream, Source};

/// Bytes gathered before handing a chunk to the writer thread.
const CHUNK: usize = 256 << 10;
/// Downloads of one blob tried before giving up on transport errors.
const ATTEMPTS: u32 = 3;

/// Emits progress at most every 100 ms or 1 MiB, plus the final count.
pub struct ProgressLimiter {
    last: Instant,
    last_bytes: u64,
}

impl ProgressLimiter {
    pub fn new() -> ProgressLimiter {
        ProgressLimiter {
            last: Instant::now(),
            last_bytes: 0,
        }
    }
    pub fn due(&mut self, done: u64, total: u64) -> bool {
        let due = done == total
            || done - self.last_bytes >= 1 << 20
            || self.last.elapsed() >= Duration::from_millis(100);
        if due && done != self.last_bytes {
            self.last = Instant::now();
            self.last_bytes = done;
            return true;
        }
        false
    }
}

impl Default for ProgressLimiter {
    fn default() -> Self {
        ProgressLimiter::new()
    }
}

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub reused: bool,
    pub bytes: u64,
}

/// Make `desc` present and verified in `layout`, reading it from `source`.
/// `progress(done, total)` is called rate-limited.
pub async fn fetch_blob(
    layout: &Layout,
    source: &Source,
    desc: &Descriptor,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Copied, FetchError> {
    if layout.has_verified(desc).await? {
        return Ok(Copied {
            reused: true,
            bytes: 0,
        });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let started = Instant::now();
        let stream = source.open_blob(desc).await?;
        match copy_stream(layout, source, desc, stream, progress).await {
            Ok(n) => {
                let secs = started.elapsed().as_secs_f64();
                debug!(digest = %desc.digest, bytes = n, elapsed_ms = (secs * 1e3) as u64, mib_per_s = (n as f64 / 1048576.0 / secs.max(1e-6)) as u64, "blob verified and stored");
                return Ok(Copied {
                    reused: false,
                    bytes: n,
                });
            }
            Err(e) if e.is_transient() && attempt < ATTEMPTS => {
                debug!(digest = %desc.digest, attempt, error = %e, "blob download failed; retrying");
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn copy_stream(
    layout: &Layout,
    source: &Source,
    desc: &Descriptor,
    mut stream: BlobStream,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<u64, FetchError> {
    let (temp, file) = layout.temp_blob(&desc.digest)?;
    let temp_path = temp.path().to_path_buf();
    let mut writer = BlobWriter::spawn(file);
    let mut limiter = ProgressLimiter::new();
    let mut buf = BytesMut::with_capacity(CHUNK);
    let mut done: u64 = 0;
    let size_err = |got: String| FetchError::SizeMismatch {
        digest: desc.digest.clone(),
        source_name: source.name(),
        expected: desc.size,
        got,
    };
    progress(0, desc.size);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        done += chunk.len() as u64;
        if done > desc.size {
            return Err(size_err(format!("more than {}", desc.size)));
        }
        buf.extend_from_slice(&chunk);
        if buf.len() >= CHUNK {
            writer.write(buf.split().freeze(), &temp_path).await?;
        }
        if limiter.due(done, desc.size) {
            progress(done, desc.size);
        }
    }
    if done != desc.size {
        return Err(size_err(done.to_string()));
    }
    if !buf.is_empty() {
        writer.write(buf.freeze(), &temp_path).await?;
    }
    let actual = writer.finish(&temp_path).await?;
    if actual != desc.digest {
        // The temp file is removed when `temp` drops; nothing lands in blobs/.
        return Err(FetchError::DigestMismatch {
            digest: desc.digest.clone(),
            source_name: source.name(),
            actual,
        });
    }
    layout.commit(temp, &desc.digest)?;
    Ok(done)
}

/// Hashes and writes chunks on a blocking thread; `finish` fsyncs and
/// returns the digest.
struct BlobWriter {
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    handle: tokio::task::JoinHandle<std::io::Result<String>>,
}

impl BlobWriter {
    fn spawn(mut file: File) -> BlobWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let handle = tokio::task::spawn_blocking(move || {
            let mut h = Hasher::new();
            while let Some(chunk) = rx.blocking_recv() {
                h.update(&chunk);
                file.write_all(&chunk)?;
            }
            file.sync_all()?;
            Ok(h.finish())
        });
        BlobWriter {
            tx: Some(tx),
            handle,
        }
    }

    async fn write(&mut self, chunk: Bytes, path: &std::path::Path) -> Result<(), FetchError> {
        let sent = match &self.tx {
            Some(tx) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped early: its error says why.
        self.tx = None;
        let err = match (&mut self.handle).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => std::io::Error::other("writer stopped"),
            Err(e) => std::io::Error::other(e),
        };
        Err(FetchError::io("writing a blob", path, err))
    }

    async fn finish(mut self, path: &std::path::Path) -> Result<String, FetchError> {
        self.tx = None;
        match self.handle.await {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(e)) => Err(FetchError::io("writing a blob", path, e)),
            Err(e) => Err(FetchError::io(
                "writing a blob",
                path,
                std::io::Error::other(e),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_rate_limited_but_reports_the_end() {
        let mut l = ProgressLimiter::new();
        assert!(!l.due(10, 100 << 20));
        assert!(l.due(1 << 20, 100 << 20));
        assert!(!l.due((1 << 20) + 5, 100 << 20));
        assert!(l.due(100 << 20, 100 << 20));
        assert!(!l.due(100 << 20, 100 << 20), "not twice for the same count");
    }
}
