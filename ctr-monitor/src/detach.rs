//! Leaving the caller behind, before any thread exists.
//!
//! [`daemonize`] forks twice before the tokio runtime starts (forking a
//! multi-threaded process is undefined territory): the process the caller
//! spawned waits only until the grandchild reports readiness over a pipe and
//! then exits with the outcome, so the caller can reap it; the intermediate
//! child calls setsid() and exits at once; the grandchild -- in its own
//! session, with the parent-death signal cleared and marked a child
//! subreaper so the container process is re-parented to it when the runtime
//! exits -- carries on with every inherited descriptor, including the gRPC
//! socket on fd 3.
//!
//! [`redirect_stdio`] later points the monitor's stdin/stdout at /dev/null and
//! its stderr (tracing output) at its log file, keeping copies of the
//! originals for the passthrough log driver ([`take_saved_stdio`]).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;

use nix::unistd::{fork, ForkResult};

/// What the waiting original process prints: a result for `run`, nothing
/// for `serve`.
const OK: u8 = b'K';
const FAILED: u8 = b'E';

/// The write end of the readiness pipe, held by the detached grandchild.
pub struct ReadyPipe(Option<std::fs::File>);

impl ReadyPipe {
    /// A pipe nobody reads (the monitor was not detached).
    pub fn none() -> ReadyPipe {
        ReadyPipe(None)
    }

    /// Tell the original process to print `out` and exit 0.
    pub fn ok(&mut self, out: &str) {
        self.send(OK, out)
    }

    /// Tell the original process to print `err` and exit 125.
    pub fn fail(&mut self, err: &str) {
        self.send(FAILED, err)
    }

    fn send(&mut self, tag: u8, text: &str) {
        if let Some(mut f) = self.0.take() {
            let mut msg = Vec::with_capacity(text.len() + 1);
            msg.push(tag);
            msg.extend_from_slice(text.as_bytes());
            let _ = f.write_all(&msg);
        }
    }
}

/// Fork away from the caller. Returns only in the detached grandchild; the
/// original process exits once the grandchild reports (see [`ReadyPipe`]).
///
/// Must be called before any thread is started.
pub fn daemonize() -> std::io::Result<ReadyPipe> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    // SAFETY: single-threaded at this point (no runtime, no helper threads).
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            drop(w);
            let mut msg = Vec::new();
            let _ = std::fs::File::from(r).read_to_end(&mut msg);
            let _ = nix::sys::wait::waitpid(child, None);
            let code = match msg.split_first() {
                Some((&OK, out)) => {
                    if !out.is_empty() {
                        let mut stdout = std::io::stdout();
                        let _ = stdout.write_all(out);
                        let _ = stdout.flush();
                    }
                    0
                }
                Some((&FAILED, err)) => {
                    eprintln!(
                        "Error: ctr-monitor: {}",
                        String::from_utf8_lossy(err).trim_end()
                    );
                    125
                }
                _ => {
                    eprintln!("Error: ctr-monitor: the detached monitor exited before it was ready; see its log (--log-level debug)");
                    125
                }
            };
            std::process::exit(code);
        }
        ForkResult::Child => {}
    }
    drop(r);
    let mut ready = ReadyPipe(Some(std::fs::File::from(w)));
    if let Err(e) = nix::unistd::setsid() {
        ready.fail(&format!("setsid: {e}"));
        // SAFETY: leaving a forked child without running destructors.
        unsafe { libc::_exit(1) };
    }
    // SAFETY: still single-threaded.
    match unsafe { fork() } {
        // SAFETY: the intermediate parent leaves at once without running
        // destructors or atexit handlers that belong to the original process.
        Ok(ForkResult::Parent { .. }) => unsafe { libc::_exit(0) },
        Ok(ForkResult::Child) => {}
        Err(e) => {
            ready.fail(&format!("fork: {e}"));
            // SAFETY: leaving a forked child without running destructors.
            unsafe { libc::_exit(1) };
        }
    }
    // SAFETY: plain prctl calls on our own process.
    unsafe {
        // spawn_helper asked for SIGTERM when podman dies: a monitor outlives it.
        if libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Orphans of our children (the container once the runtime exits) become ours.
        if libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    save_stdio();
    Ok(ready)
}

/// Close every inherited descriptor above stderr except those in `keep`
/// (the gRPC socket, an attach connection): a long-lived monitor must not
/// hold its caller's pipes open. Must be called before anything else opens
/// descriptors.
pub fn close_inherited_fds(keep: &[Option<std::os::fd::RawFd>]) {
    let close_range = |first: u32, last: u32| {
        if first <= last {
            // SAFETY: closes descriptors nothing in this process uses yet.
            unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
        }
    };
    let mut kept: Vec<u32> = keep
        .iter()
        .flatten()
        .filter(|k| **k >= 3)
        .map(|k| *k as u32)
        .collect();
    kept.sort_unstable();
    let mut first = 3u32;
    for k in kept {
        if k >= first {
            close_range(first, k - 1);
            first = k + 1;
        }
    }
    close_range(first, u32::MAX);
}

static SAVED_STDIO: Mutex<Option<[OwnedFd; 3]>> = Mutex::new(None);

/// Keep close-on-exec copies of fds 0, 1, 2 for the passthrough log driver.
fn save_stdio() {
    let dup = |fd: i32| -> Option<OwnedFd> {
        // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we own, or -1.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        // SAFETY: `new` is a fresh descriptor (checked non-negative) that
        // nothing else owns.
        (new >= 0).then(|| unsafe { OwnedFd::from_raw_fd(new) })
    };
    if let (Some(a), Some(b), Some(c)) = (dup(0), dup(1), dup(2)) {
        if let Ok(mut s) = SAVED_STDIO.lock() {
            *s = Some([a, b, c]);
        }
    }
}

/// The stdio the monitor was started with (once; None if not detached).
pub fn take_saved_stdio() -> Option<[OwnedFd; 3]> {
    SAVED_STDIO.lock().ok().and_then(|mut s| s.take())
}

/// stdin and stdout to /dev/null, stderr appended to `log`: the caller's
/// terminal or pipes are released, tracing goes to the monitor's log.
pub fn redirect_stdio(log: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)?;
    for (src, dst) in [
        (null.as_raw_fd(), 0),
        (null.as_raw_fd(), 1),
        (log.as_raw_fd(), 2),
    ] {
        // SAFETY: dup2 onto the standard descriptors, which we own.
        if unsafe { libc::dup2(src, dst) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
