//! Where the container's output goes: one module per log driver behind one
//! enum (conmon-rs's container_log shape).
//!
//! * [`k8s_file`]: CRI log format in a file, optional size limit.
//! * [`passthrough`]: the container inherits the monitor's original stdio;
//!   nothing passes through the monitor.
//! * [`none`]: output is read (the container never blocks on it) and offered
//!   to attached clients only.
//!
//! Writers never block the container on a full disk: failed records are
//! dropped and counted.

pub mod k8s_file;
pub mod none;
pub mod passthrough;

use std::path::Path;

/// One of the container's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The attach protocol's tag for this stream.
    pub fn tag(self) -> u8 {
        match self {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What every log driver does with output.
pub trait LogWriter: Send {
    /// A chunk of output as read from the container.
    fn write(&mut self, stream: Stream, data: &[u8]);
    /// The stream ended (the container exited): flush any partial line.
    fn end_stream(&mut self, stream: Stream);
    /// Reopen the destination (after logrotate moved it away).
    fn reopen(&mut self) -> std::io::Result<()>;
    /// Bytes that could not be written.
    fn dropped_bytes(&self) -> u64;
}

/// The configured driver, as requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    K8sFile,
    Passthrough,
    None,
}

impl LogKind {
    pub fn name(self) -> &'static str {
        match self {
            LogKind::K8sFile => "k8s-file",
            LogKind::Passthrough => "passthrough",
            LogKind::None => "none",
        }
    }
}

impl std::str::FromStr for LogKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "k8s-file" => Ok(LogKind::K8sFile),
            "passthrough" => Ok(LogKind::Passthrough),
            "none" => Ok(LogKind::None),
            _ => Err(format!(
                "unknown log driver {s:?}: use k8s-file, passthrough or none"
            )),
        }
    }
}

/// An open log driver.
pub enum LogDriver {
    K8sFile(k8s_file::K8sFile),
    Passthrough(passthrough::Passthrough),
    None(none::NoLog),
}

impl LogDriver {
    /// Open the driver `kind`; `path` is required for k8s-file.
    pub fn open(kind: LogKind, path: Option<&Path>, size_max: u64) -> std::io::Result<LogDriver> {
        Ok(match (kind, path) {
            (LogKind::K8sFile, Some(p)) => {
                LogDriver::K8sFile(k8s_file::K8sFile::open(p, size_max)?)
            }
            (LogKind::K8sFile, None) => {
                return Err(std::io::Error::other(
                    "the k8s-file log driver needs a log path",
                ))
            }
            (LogKind::Passthrough, _) => LogDriver::Passthrough(passthrough::Passthrough),
            (LogKind::None, _) => LogDriver::None(none::NoLog),
        })
    }

    fn writer(&mut self) -> &mut dyn LogWriter {
        match self {
            LogDriver::K8sFile(w) => w,
            LogDriver::Passthrough(w) => w,
            LogDriver::None(w) => w,
        }
    }
}

impl LogWriter for LogDriver {
    fn write(&mut self, stream: Stream, data: &[u8]) {
        self.writer().write(stream, data)
    }
    fn end_stream(&mut self, stream: Stream) {
        self.writer().end_stream(stream)
    }
    fn reopen(&mut self) -> std::io::Result<()> {
        self.writer().reopen()
    }
    fn dropped_bytes(&self) -> u64 {
        match self {
            LogDriver::K8sFile(w) => w.dropped_bytes(),
            LogDriver::Passthrough(w) => w.dropped_bytes(),
            LogDriver::None(w) => w.dropped_bytes(),
        }
    }
}
