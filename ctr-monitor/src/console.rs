//! The console socket: for a process with a terminal, the runtime creates the
//! pty inside the container and sends the master to `--console-socket PATH`
//! with SCM_RIGHTS (the message body is the pty's name).

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

pub struct ConsoleSocket {
    path: PathBuf,
    listener: tokio::net::UnixListener,
}

impl ConsoleSocket {
    /// Listen at `path`, or in the temp dir if that is too long for runtimes
    /// to connect to.
    pub fn bind(path: &Path) -> std::io::Result<ConsoleSocket> {
        let path = if path.as_os_str().len() <= crate::sockets::MAX_SOCKET_PATH {
            path.to_path_buf()
        } else {
            std::env::temp_dir().join(format!(
                "ctr-monitor-console-{}-{}",
                std::process::id(),
                common::time::now_nanos()
            ))
        };
        let listener = crate::sockets::stream_listener(&path)?;
        Ok(ConsoleSocket { path, listener })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master the runtime sends.
    pub async fn receive(&self) -> std::io::Result<OwnedFd> {
        let (stream, _) = self.listener.accept().await?;
        loop {
            stream.readable().await?;
            match stream.try_io(tokio::io::Interest::READABLE, || {
                recv_master(stream.as_raw_fd())
            }) {
                Ok(fd) => return Ok(fd),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn recv_master(sock: RawFd) -> std::io::Result<OwnedFd> {
    let mut name = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        sock,
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
    )?;
    let mut fds = Vec::new();
    for c in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(got) = c {
            fds.extend(
                got.into_iter()
                    // SAFETY: the kernel just installed these descriptors
                    // for us; nothing else owns them.
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    if fds.len() != 1 {
        return Err(std::io::Error::other(format!(
            "the runtime sent {} descriptors over the console socket, expected one pty master",
            fds.len()
        )));
    }
    Ok(fds.remove(0))
}
