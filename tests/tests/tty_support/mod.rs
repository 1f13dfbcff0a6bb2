//! A real pseudo-terminal for end-to-end tests: podman runs with the pty's
//! slave as its stdin, stdout, stderr and controlling terminal (its own
//! session, in the foreground), and the test drives the master like a user
//! at a keyboard: type, read until some text shows up, resize the window
//! (which sends SIGWINCH to podman), and collect the exit status.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};

pub struct PtySession {
    master: std::fs::File,
    child: Child,
    /// Everything read from the terminal so far.
    pub seen: String,
    /// Where the next `expect` starts looking.
    mark: usize,
}

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl PtySession {
    /// Start `cmd` on a new pty of `rows` x `cols`.
    pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> PtySession {
        let pty = openpty(Some(&winsize(rows, cols)), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        let dup = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup pty slave"));
        cmd.stdin(dup(&slave))
            .stdout(dup(&slave))
            .stderr(dup(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn under a pty");
        // Only the child holds the slave now: its exit gives EIO on the master.
        drop(slave);
        PtySession {
            master: std::fs::File::from(pty.master),
            child,
            seen: String::new(),
            mark: 0,
        }
    }

    /// Type `s` at the terminal.
    pub fn send(&mut self, s: &str) {
        self.master
            .write_all(s.as_bytes())
            .expect("write to the pty");
    }

    /// Read what is there within `wait`; false once the terminal hung up.
    fn read_some(&mut self, wait: Duration) -> bool {
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return true,
            Err(e) => panic!("poll on the pty: {e}"),
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                true
            }
            // EIO: every slave descriptor is closed.
            Err(_) => false,
        }
    }

    /// Wait until `text` appears after the previous match; panics with the
    /// whole transcript on timeout.
    pub fn expect(&mut self, text: &str, timeout: Duration) {
        assert!(
            self.try_expect(text, timeout),
            "{text:?} did not appear within {timeout:?}; the terminal showed:\n{}",
            self.seen
        );
    }

    /// Like `expect`, but says whether it appeared (false on timeout or
    /// when the terminal hung up without showing it).
    pub fn try_expect(&mut self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.seen[self.mark..].find(text) {
                self.mark += i + text.len();
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.read_some(left.min(Duration::from_millis(200))) {
                let found = self.seen[self.mark..].find(text);
                if let Some(i) = found {
                    self.mark += i + text.len();
                }
                return found.is_some();
            }
        }
    }

    /// Change the window size, as a terminal emulator does when its window
    /// is resized: the kernel sends SIGWINCH to the foreground process group.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let ws = winsize(rows, cols);
        // SAFETY: TIOCSWINSZ reads a winsize.
        let r = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
        assert_eq!(r, 0, "TIOCSWINSZ: {}", std::io::Error::last_os_error());
    }

    /// Wait for the process to exit, reading (and keeping) its last output.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                while self.read_some(Duration::from_millis(50)) {
                    if Instant::now() > deadline {
                        break;
                    }
                }
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the process under the pty did not exit within {timeout:?}; it showed:\n{}",
                    self.seen
                );
            }
            self.read_some(Duration::from_millis(100));
        }
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
