//! Non-blocking reads and writes on pipes and pty masters, driven by tokio.
//!
//! Buffers are allocated after a descriptor is readable and freed once the
//! chunk is delivered, so an idle monitor holds none.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use tokio::io::unix::AsyncFd;

/// Largest chunk read at once.
pub const CHUNK: usize = 16 * 1024;

pub struct FdIo {
    fd: AsyncFd<OwnedFd>,
}

pub fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

/// Read once into a fresh buffer: Ok(None) at end of file (a pty master
/// answers EIO once its slave side is gone: that is the end too).
fn read_once(fd: RawFd) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) | Err(Errno::EIO) => return Ok(None),
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Register an owned descriptor with tokio's reactor.
pub fn async_fd(fd: OwnedFd) -> std::io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd stays open and refers to the same file description
    // for as long as the AsyncFd owns it.
    Ok(unsafe { AsyncFd::register(fd) }?)
}

impl FdIo {
    pub fn new(fd: OwnedFd) -> std::io::Result<FdIo> {
        set_nonblocking(fd.as_raw_fd())?;
        Ok(FdIo { fd: async_fd(fd)? })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// The next chunk, or None at end of file.
    pub async fn read_chunk(&self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| read_once(fd.as_raw_fd())) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// A chunk if one is there right now: Err(WouldBlock) if not.
    pub fn try_read_chunk(&self) -> std::io::Result<Option<Vec<u8>>> {
        read_once(self.raw())
    }

    pub async fn write_all(&self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd, data).map_err(std::io::Error::from)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

/// Wait until a watched flag is true (the guard is not held across awaits).
pub async fn until_true(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}
