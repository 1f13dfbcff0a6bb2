//! File descriptors beside gRPC: SCM_RIGHTS over a unix stream socket.
//!
//! gRPC cannot carry descriptors (ptys, stdio pipes, held port sockets, netns
//! handles, blob pipes). An RPC announces how many descriptors it sends and
//! the sender then writes them here, each batch with a one-byte tag so the
//! receiver can check it got the batch it expected.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

#[derive(Debug, thiserror::Error)]
pub enum FdPassError {
    #[error("sending {count} file descriptor(s): {source}")]
    Send { count: usize, source: nix::Error },
    #[error("receiving file descriptors: {0}")]
    Recv(nix::Error),
    #[error("peer closed the descriptor socket before sending the announced descriptors")]
    Closed,
    #[error("expected descriptor batch tagged {expected}, got {got}")]
    WrongTag { expected: u8, got: u8 },
    #[error("expected {expected} descriptor(s), got {got}")]
    WrongCount { expected: usize, got: usize },
}

/// The tag of the batch `podman exec --preserve-fds` sends the monitor.
pub const EXEC_FDS_TAG: u8 = b'P';

/// Maximum descriptors in one batch.
pub const MAX_FDS: usize = 16;

/// Send `fds` in one message tagged `tag` over the socket `sock`.
pub fn send_fds(sock: &impl AsRawFd, tag: u8, fds: &[RawFd]) -> Result<(), FdPassError> {
    let buf = [tag];
    let iov = [IoSlice::new(&buf)];
    let cmsg = [ControlMessage::ScmRights(fds)];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None).map_err(
        |source| FdPassError::Send {
            count: fds.len(),
            source,
        },
    )?;
    Ok(())
}

/// Receive one batch tagged `tag` with exactly `count` descriptors.
/// Blocks; call it from a blocking context or on a blocking socket.
pub fn recv_fds(sock: &impl AsRawFd, tag: u8, count: usize) -> Result<Vec<OwnedFd>, FdPassError> {
    let mut buf = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(FdPassError::Recv)?;
    if msg.bytes == 0 {
        return Err(FdPassError::Closed);
    }
    let mut out = Vec::new();
    for c in msg.cmsgs().map_err(FdPassError::Recv)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            out.extend(
                fds.into_iter()
                    // SAFETY: the kernel just installed these descriptors
                    // for us; nothing else owns them.
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let got_tag = buf[0];
    if got_tag != tag {
        return Err(FdPassError::WrongTag {
            expected: tag,
            got: got_tag,
        });
    }
    if out.len() != count {
        return Err(FdPassError::WrongCount {
            expected: count,
            got: out.len(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_pipe_end_crosses_the_socket_and_still_works() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        send_fds(&a, 7, &[w.as_raw_fd()]).unwrap();
        drop(w);
        let mut got = recv_fds(&b, 7, 1).unwrap();
        let mut wf = std::fs::File::from(got.remove(0));
        wf.write_all(b"hello").unwrap();
        drop(wf);
        let mut s = String::new();
        std::fs::File::from(r).read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }

    #[test]
    fn wrong_tag_and_count_are_reported() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, _w) = nix::unistd::pipe().unwrap();
        send_fds(&a, 1, &[r.as_raw_fd()]).unwrap();
        assert!(matches!(
            recv_fds(&b, 2, 1),
            Err(FdPassError::WrongTag {
                expected: 2,
                got: 1
            })
        ));
        send_fds(&a, 3, &[r.as_raw_fd(), r.as_raw_fd()]).unwrap();
        assert!(matches!(
            recv_fds(&b, 3, 1),
            Err(FdPassError::WrongCount {
                expected: 1,
                got: 2
            })
        ));
        drop(a);
        assert!(matches!(recv_fds(&b, 3, 1), Err(FdPassError::Closed)));
    }
}
