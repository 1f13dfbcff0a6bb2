//! Podman's ps(1) fallback for `podman top` options psgo does not know:
//! the host's ps run in the container's pid namespace with a /proc of that
//! namespace, in a mount namespace of its own where everything is read-only
//! (the container's processes cannot reach the ps binary through /proc).
//! Containers whose init holds CAP_SYS_PTRACE get ps(1) of their own image
//! instead, as in Podman.

use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The exit code the set-up steps report (as Podman's podman-top reexec):
/// ps never ran; the caller may use the container's ps instead.
const SETUP_FAILED: i32 = 255;

const CAP_SYS_PTRACE: u32 = 19;

/// What running the host's ps gave.
pub enum HostPs {
    /// ps ran: its exit code, stdout and stderr.
    Ran(i32, Vec<u8>, Vec<u8>),
    /// It could not be used here (no ps, a set-up step failed): why.
    Unavailable(String),
}

/// Whether the process `pid` has CAP_SYS_PTRACE in its effective set.
pub fn has_ptrace(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_PTRACE) != 0)
}

fn find_ps() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_else(|| vec!["/usr/bin".into(), "/bin".into()])
        .into_iter()
        .map(|d| d.join("ps"))
        .find(|p| p.is_file())
}

fn open_ns(pid: i32, kind: &str) -> std::io::Result<OwnedFd> {
    Ok(std::fs::File::open(format!("/proc/{pid}/ns/{kind}"))?.into())
}

fn same_ns(pid: i32, kind: &str) -> bool {
    let ino = |p: &Path| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    match (
        ino(Path::new(&format!("/proc/{pid}/ns/{kind}"))),
        ino(Path::new(&format!("/proc/self/ns/{kind}"))),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `ps ARGS` of the host in the pid namespace of the container whose init
/// is `init_pid`.
pub fn run(init_pid: i32, args: &[String]) -> HostPs {
    let Some(ps) = find_ps() else {
        return HostPs::Unavailable("no ps(1) in PATH".into());
    };
    let pidns = match open_ns(init_pid, "pid") {
        Ok(f) => f,
        Err(e) => {
            return HostPs::Unavailable(format!("opening the container's pid namespace: {e}"))
        }
    };
    let userns = if same_ns(init_pid, "user") {
        None
    } else {
        match open_ns(init_pid, "user") {
            Ok(f) => Some(f),
            Err(e) => {
                return HostPs::Unavailable(format!("opening the container's user namespace: {e}"))
            }
        }
    };
    let mut cmd = Command::new(&ps);
    cmd.args(args)
        .env_clear()
        .env(
            "HOME",
            std::env::var_os("HOME").unwrap_or_else(|| "/".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (pid_fd, user_fd) = (
        pidns.as_raw_fd(),
        userns.as_ref().map(|f| f.as_raw_fd()).unwrap_or(-1),
    );
    // SAFETY: the closure runs in the forked child before exec and makes
    // only async-signal-safe calls (raw syscalls, fork, waitpid, _exit) on
    // values prepared before the fork; the descriptors stay open in the
    // parent until the child has run (`output` waits for it).
    unsafe {
        cmd.pre_exec(move || setup(pid_fd, user_fd));
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return HostPs::Unavailable(format!("running {}: {e}", ps.display())),
    };
    drop((pidns, userns));
    match out.status.code() {
        Some(SETUP_FAILED) => HostPs::Unavailable(format!(
            "could not execute ps(1) in the container pid namespace: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Some(code) => HostPs::Ran(code, out.stdout, out.stderr),
        None => HostPs::Ran(-1, out.stdout, out.stderr),
    }
}

/// Write `msg` and the errno to stderr and end with SETUP_FAILED.
fn fail(msg: &[u8]) -> ! {
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let mut num = [0u8; 12];
    let mut n = errno.unsigned_abs();
    let mut i = num.len();
    loop {
        i -= 1;
        num[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // SAFETY: write(2) of our own buffers to stderr, then _exit(2): both
    // async-signal-safe, as the forked child needs.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::write(2, b": errno ".as_ptr().cast(), 8);
        libc::write(2, num[i..].as_ptr().cast(), num.len() - i);
        libc::_exit(SETUP_FAILED)
    }
}

/// In the forked child: a private, read-only mount namespace, the
/// container's pid namespace for a child of ours, which mounts its /proc
/// and goes on to exec ps; this process waits and exits with ps's code.
fn setup(pid_fd: i32, user_fd: i32) -> std::io::Result<()> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    // SAFETY: each call is a raw syscall on NUL-terminated literals, the
    // descriptors the parent opened, or a properly sized attribute struct;
    // fork(2) and waitpid(2) in this single-threaded child are
    // async-signal-safe.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            fail(b"PR_SET_PDEATHSIG");
        }
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail(b"PR_SET_NO_NEW_PRIVS");
        }
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            fail(b"unshare mount namespace");
        }
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            fail(b"make / mount private");
        }
        let attr = MountAttr {
            attr_set: libc::MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        if libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            libc::AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        ) != 0
        {
            fail(b"mount_setattr / read-only");
        }
        if libc::setns(pid_fd, libc::CLONE_NEWPID) != 0 {
            fail(b"setns pid namespace");
        }
        let child = libc::fork();
        if child < 0 {
            fail(b"fork");
        }
        if child == 0 {
            if libc::mount(
                c"proc".as_ptr(),
                c"/proc".as_ptr(),
                c"proc".as_ptr(),
                0,
                std::ptr::null(),
            ) != 0
            {
                fail(b"mount proc");
            }
            if user_fd >= 0 && libc::setns(user_fd, libc::CLONE_NEWUSER) != 0 {
                fail(b"setns user namespace");
            }
            return Ok(()); // exec ps
        }
        let mut status = 0;
        while libc::waitpid(child, &mut status, 0) < 0 {
            if *libc::__errno_location() != libc::EINTR {
                fail(b"waitpid");
            }
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        libc::_exit(code)
    }
}
