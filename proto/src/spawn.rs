//! Starting a helper with posix_spawn(3): vfork + exec, with the gRPC
//! socket (and an optional second descriptor) placed on fixed numbers by
//! the spawn's file actions.
//!
//! Not std's `Command`: with a `pre_exec` hook (the only way it offers to
//! place descriptors) it has to fork(2), so the kernel copies the caller's
//! page tables and every page the caller writes before the exec takes a
//! copy-on-write fault. The cost grows with the caller's size, and helpers
//! are spawned on the critical path of every `run`. posix_spawn shares the
//! caller's memory until the exec.
//!
//! posix_spawn runs no code of ours in the child, so dying with the caller
//! (PR_SET_PDEATHSIG) is the helper's own job at start: [`PARENT_ENV`]
//! names the pid it must die with, see [`crate::transport::watch_parent`].

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::ExitStatus;

use tokio::io::unix::AsyncFd;

/// Environment variable carrying the pid of the process a spawned helper
/// must not outlive.
pub const PARENT_ENV: &str = "PODMAN_RS_HELPER_PARENT";

/// Where the child's stdin and stdout go (stderr is always ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// Our stdin and stdout.
    Inherit,
    /// stdin from /dev/null, stdout to our stderr.
    Quiet,
}

/// A child started by [`spawn`]; reaped through its pidfd.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: AsyncFd<OwnedFd>,
    status: Option<ExitStatus>,
}

impl Child {
    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Its exit status if it has exited (reaping it), else None.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let mut raw = 0;
        // SAFETY: our own child; it cannot be reaped by anyone else first
        // (nothing here waits for any child).
        let r = unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) };
        match r {
            0 => Ok(None),
            r if r == self.pid => {
                let s = ExitStatus::from_raw(raw);
                self.status = Some(s);
                Ok(Some(s))
            }
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Wait for it to exit: the pidfd becomes readable when it does.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            let mut ready = self.pidfd.readable().await?;
            ready.clear_ready();
        }
    }

    /// Send SIGKILL (a no-op once it has been reaped).
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        // SAFETY: pidfd_send_signal on our own pidfd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.get_ref().as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{s:?} contains a NUL byte"),
        )
    })
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
    attr: libc::posix_spawnattr_t,
    actions: libc::posix_spawn_file_actions_t,
}

impl SpawnSetup {
    fn new() -> io::Result<Box<Self>> {
        // SAFETY: zeroed storage initialised by the init calls before use.
        let mut s: Box<Self> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `s.attr` is live, exclusively borrowed storage for the init
        // call to fill.
        check(unsafe { libc::posix_spawnattr_init(&mut s.attr) })?;
        // SAFETY: as above, for `s.actions`.
        if let Err(e) = check(unsafe { libc::posix_spawn_file_actions_init(&mut s.actions) }) {
            // SAFETY: `s.attr` was initialised just above and is destroyed
            // once: Drop never runs for this `s`, which we drop here.
            unsafe { libc::posix_spawnattr_destroy(&mut s.attr) };
            return Err(e);
        }
        Ok(s)
    }
}

impl Drop for SpawnSetup {
    fn drop(&mut self) {
        // SAFETY: both were initialised in new().
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

/// Start `program` with `args`; each `(fd, target)` in `fds` is dup2'ed to
/// `target` in the child (sources must not be targets: pass descriptors
/// numbered above every target). The child gets our environment plus `env`
/// (replacing variables of the same name) and learns our pid via
/// [`PARENT_ENV`].
pub fn spawn(
    program: &Path,
    args: &[OsString],
    stdio: Stdio,
    fds: &[(RawFd, RawFd)],
    env: &[(&str, &str)],
) -> io::Result<Child> {
    let prog = cstring(program.as_os_str())?;
    let mut argv_c = vec![prog.clone()];
    for a in args {
        argv_c.push(cstring(a)?);
    }
    let mut envp_c = Vec::new();
    for (k, v) in std::env::vars_os() {
        if k == PARENT_ENV || env.iter().any(|(name, _)| k == *name) {
            continue;
        }
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        envp_c.push(cstring(&kv)?);
    }
    for (k, v) in env {
        envp_c.push(cstring(OsStr::new(&format!("{k}={v}")))?);
    }
    envp_c.push(cstring(OsStr::new(&format!(
        "{PARENT_ENV}={}",
        std::process::id()
    )))?);
    let argv: Vec<*mut libc::c_char> = argv_c
        .iter()
        .map(|c| c.as_ptr() as *mut libc::c_char)
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();
    let envp: Vec<*mut libc::c_char> = envp_c
        .iter()
        .map(|c| c.as_ptr() as *mut libc::c_char)
        .chain(std::iter::once(std::ptr::null_mut()))
        .collect();

    let mut s = SpawnSetup::new()?;
    // SAFETY: plain calls on initialised posix_spawn objects with valid
    // NUL-terminated strings that outlive the spawn.
    unsafe {
        // As std's Command: default SIGPIPE (Rust ignores it) and an empty
        // signal mask in the child.
        let mut def: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut def);
        libc::sigaddset(&mut def, libc::SIGPIPE);
        check(libc::posix_spawnattr_setsigdefault(&mut s.attr, &def))?;
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut mask);
        check(libc::posix_spawnattr_setsigmask(&mut s.attr, &mask))?;
        check(libc::posix_spawnattr_setflags(
            &mut s.attr,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        ))?;
        if stdio == Stdio::Quiet {
            check(libc::posix_spawn_file_actions_addopen(
                &mut s.actions,
                0,
                c"/dev/null".as_ptr(),
                libc::O_RDONLY,
                0,
            ))?;
            check(libc::posix_spawn_file_actions_adddup2(&mut s.actions, 2, 1))?;
        }
        for &(src, target) in fds {
            check(libc::posix_spawn_file_actions_adddup2(
                &mut s.actions,
                src,
                target,
            ))?;
        }
        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawn(
            &mut pid,
            prog.as_ptr(),
            &s.actions,
            &s.attr,
            argv.as_ptr(),
            envp.as_ptr(),
        ))?;
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if pidfd < 0 {
            let e = io::Error::last_os_error();
            libc::kill(pid, libc::SIGKILL);
            let mut raw = 0;
            libc::waitpid(pid, &mut raw, 0);
            return Err(e);
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as RawFd);
        Ok(Child {
            pid,
            // An OwnedFd stays open and the same until the AsyncFd drops it.
            pidfd: AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)
                .map_err(io::Error::from)?,
            status: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spawns_places_descriptors_and_reports_exit() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        // Above the target, as callers must.
        let src =
            nix::fcntl::fcntl(b.as_raw_fd(), nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(20)).unwrap();
        let mut child = spawn(
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                format!("echo hi >&3; echo \"${PARENT_ENV}\" >&3; exit 7").into(),
            ],
            Stdio::Quiet,
            &[(src, 3)],
            &[],
        )
        .unwrap();
        // SAFETY: `src` is our own raw descriptor, not owned by anything
        // else, and not used after this close.
        unsafe { libc::close(src) };
        drop(b);
        let status = child.wait().await.unwrap();
        assert_eq!(status.code(), Some(7));
        let mut out = String::new();
        std::io::Read::read_to_string(&mut &a, &mut out).unwrap();
        assert_eq!(out, format!("hi\n{}\n", std::process::id()));
    }

    #[tokio::test]
    async fn kill_ends_a_child_and_a_missing_program_is_an_error() {
        let mut child = spawn(
            Path::new("/bin/sleep"),
            &["100".into()],
            Stdio::Quiet,
            &[],
            &[],
        )
        .unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.start_kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
        let e = spawn(
            Path::new("/nonexistent/helper"),
            &[],
            Stdio::Quiet,
            &[],
            &[],
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}
