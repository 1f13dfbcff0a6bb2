//! The network namespace of a container with its own user namespace, made
//! inside that user namespace.
//!
//! `runtime exec` joins the container's user namespace first and its
//! network namespace after (runc's nsexec orders them so). Joining a
//! network namespace needs CAP_SYS_ADMIN in the user namespace that owns
//! it, so a netns made outside the container's user namespace (by
//! net-setup, as root of the host) cannot be joined by an exec: it fails
//! with "error executing setns process". Podman has the runtime make the
//! netns and configures it before starting the container; here a short
//! lived child makes the user namespace with the container's mappings and
//! the netns inside it, the netns is pinned on its file as net-setup pins
//! its own, and the container joins both (the user namespace through the
//! netns that owns a reference to it). net-setup then configures the netns
//! as any other, and removes it as any other.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::mount::{mount, MsFlags};

use crate::container::idmap::{IdMap, IdMappings};

/// `NS_GET_USERNS` (linux/nsfs.h): the user namespace owning a namespace.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

#[derive(Debug, thiserror::Error)]
pub enum UsernsNetnsError {
    #[error("making the container's network namespace at {path}: {doing}: {source}")]
    Sys {
        path: String,
        doing: &'static str,
        source: std::io::Error,
    },
}

/// The user namespace that owns the netns pinned at `path`, open; the
/// container joins it as `/proc/PID/fd/N` of this process while it is
/// created.
pub struct OwningUserns(OwnedFd);

impl OwningUserns {
    pub fn path(&self) -> String {
        format!("/proc/{}/fd/{}", std::process::id(), self.0.as_raw_fd())
    }
}

fn sys(path: &Path, doing: &'static str, source: std::io::Error) -> UsernsNetnsError {
    UsernsNetnsError::Sys {
        path: path.display().to_string(),
        doing,
        source,
    }
}

fn map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

/// Make a user namespace with `mappings` and a netns inside it (loopback
/// up), and pin the netns on `path` (which must not exist).
pub fn create(path: &Path, mappings: &IdMappings) -> Result<OwningUserns, UsernsNetnsError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| sys(path, "creating its directory", e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| sys(path, "creating the file", e))?;
    let made = pin(path, mappings);
    if made.is_err() {
        let _ = nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(path);
    }
    made
}

fn pipe(path: &Path) -> Result<(OwnedFd, OwnedFd), UsernsNetnsError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| sys(path, "pipe", std::io::Error::from(e)))
}

fn pin(path: &Path, mappings: &IdMappings) -> Result<OwningUserns, UsernsNetnsError> {
    // Child -> parent: one byte per step ('u' user ns made, 'n' netns made,
    // 'e' failed). Parent -> child: one byte to go on.
    let (from_child, child_w) = pipe(path)?;
    let (child_r, to_child) = pipe(path)?;
    // SAFETY: the child only makes raw system calls (unshare, socket,
    // ioctl, read, write, _exit), all async-signal-safe, so forking this
    // multi-threaded process is sound.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(sys(path, "fork", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: in the child; see above.
        unsafe { child(child_w.as_raw_fd(), child_r.as_raw_fd()) }
    }
    drop(child_w);
    drop(child_r);
    let mut from_child = File::from(from_child);
    let mut to_child = File::from(to_child);
    let result = parent(path, mappings, pid, &mut from_child, &mut to_child);
    // The child exits when told to go on after the netns, or when its pipe
    // closes.
    drop(to_child);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    result
}

fn parent(
    path: &Path,
    mappings: &IdMappings,
    pid: libc::pid_t,
    from_child: &mut File,
    to_child: &mut File,
) -> Result<OwningUserns, UsernsNetnsError> {
    use std::io::Read;
    let step = |from_child: &mut File, want: u8, doing: &'static str| {
        let mut b = [0u8; 1];
        match from_child.read(&mut b) {
            Ok(1) if b[0] == want => Ok(()),
            Ok(_) => Err(sys(
                path,
                doing,
                std::io::Error::other("the namespace child failed"),
            )),
            Err(e) => Err(sys(path, doing, e)),
        }
    };
    step(from_child, b'u', "unshare(CLONE_NEWUSER)")?;
    std::fs::write(format!("/proc/{pid}/uid_map"), map_text(&mappings.uid_map))
        .map_err(|e| sys(path, "writing uid_map", e))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), map_text(&mappings.gid_map))
        .map_err(|e| sys(path, "writing gid_map", e))?;
    to_child
        .write_all(b"g")
        .map_err(|e| sys(path, "resuming the namespace child", e))?;
    step(from_child, b'n', "unshare(CLONE_NEWNET)")?;
    mount(
        Some(format!("/proc/{pid}/ns/net").as_str()),
        path,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| sys(path, "bind-mounting the netns", std::io::Error::from(e)))?;
    let netns = File::open(path).map_err(|e| sys(path, "opening the netns", e))?;
    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor.
    let fd = unsafe { libc::ioctl(netns.as_raw_fd(), NS_GET_USERNS as _) };
    if fd < 0 {
        return Err(sys(path, "NS_GET_USERNS", std::io::Error::last_os_error()));
    }
    // SAFETY: the ioctl just returned this descriptor; nothing else owns it.
    let userns = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        userns.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    let _ = to_child.write_all(b"g");
    Ok(OwningUserns(userns))
}

/// The forked child: a new user namespace, then (once mapped) a new
/// network namespace inside it with loopback up; then wait to be let go.
///
/// # Safety
/// Only in the child of `fork`, with the two pipe ends given.
unsafe fn child(w: libc::c_int, r: libc::c_int) -> ! {
    let say = |b: u8| {
        // SAFETY: writing one byte from a stack buffer to our pipe.
        unsafe { libc::write(w, &b as *const u8 as *const libc::c_void, 1) };
    };
    let wait = || {
        let mut b = 0u8;
        // SAFETY: reading one byte into a stack buffer from our pipe.
        unsafe { libc::read(r, &mut b as *mut u8 as *mut libc::c_void, 1) == 1 }
    };
    // SAFETY: raw system calls in the child.
    unsafe {
        if libc::unshare(libc::CLONE_NEWUSER) != 0 {
            say(b'e');
            libc::_exit(1);
        }
        say(b'u');
        if !wait() || libc::unshare(libc::CLONE_NEWNET) != 0 {
            say(b'e');
            libc::_exit(1);
        }
        // Loopback up, as net-setup leaves a netns it makes.
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s >= 0 {
            let mut req: libc::ifreq = std::mem::zeroed();
            req.ifr_name[0] = b'l' as libc::c_char;
            req.ifr_name[1] = b'o' as libc::c_char;
            if libc::ioctl(s, libc::SIOCGIFFLAGS, &mut req) == 0 {
                req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
                libc::ioctl(s, libc::SIOCSIFFLAGS, &req);
            }
        }
        say(b'n');
        wait();
        libc::_exit(0);
    }
}
