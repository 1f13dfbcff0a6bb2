//! The `passthrough` log driver: the container inherits the stdin, stdout and
//! stderr the monitor itself was started with (podman run in the foreground,
//! systemd units), so its output never passes through the monitor and there
//! is nothing to log or attach to. The monitor keeps copies of its original
//! descriptors from before it redirected its own stdio (see
//! [`crate::detach`]) and hands them to the runtime.

use std::os::fd::OwnedFd;

use super::{LogWriter, Stream};

pub struct Passthrough;

/// The descriptors the container inherits, once.
pub fn container_stdio() -> Option<[OwnedFd; 3]> {
    crate::detach::take_saved_stdio()
}

impl LogWriter for Passthrough {
    fn write(&mut self, _stream: Stream, _data: &[u8]) {}
    fn end_stream(&mut self, _stream: Stream) {}
    fn reopen(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn dropped_bytes(&self) -> u64 {
        0
    }
}
