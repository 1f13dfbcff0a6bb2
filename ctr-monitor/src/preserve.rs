//! Descriptors the caller hands on to the container (podman's
//! `--preserve-fds`): inherited at exec from fd
//! [`proto::transport::PRESERVED_FDS_BASE`] up, one per `--preserve-fd
//! TARGET`, and given to the runtime at TARGET with its `--preserve-fds`
//! (which passes 3..3+N on to the container; the gaps stay closed).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;

/// (descriptor, number in the container).
pub type Preserved = Vec<(OwnedFd, u32)>;

/// The inherited descriptors' numbers here, for `targets`.
pub fn inherited_slots(targets: &[u32]) -> Vec<RawFd> {
    (0..targets.len())
        .map(|i| proto::transport::PRESERVED_FDS_BASE + i as RawFd)
        .collect()
}

/// Take over the inherited descriptors (close-on-exec from now on: only
/// the runtime gets them, at their targets).
pub fn adopt(targets: &[u32]) -> anyhow::Result<Preserved> {
    let mut out = Vec::new();
    for (slot, &t) in inherited_slots(targets).into_iter().zip(targets) {
        if t < 3 {
            anyhow::bail!("--preserve-fd {t}: descriptors 0-2 are the container's stdio");
        }
        nix::fcntl::fcntl(
            slot,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| anyhow::anyhow!("--preserve-fd {t}: descriptor {slot} was not passed: {e}"))?;
        // SAFETY: the descriptor was handed to us at exec (checked open
        // just above) and nothing else owns it.
        out.push((unsafe { OwnedFd::from_raw_fd(slot) }, t));
    }
    Ok(out)
}

/// The runtime's `--preserve-fds N`: every number up to the highest target.
pub fn runtime_count(p: &Preserved) -> u32 {
    p.iter().map(|(_, t)| t - 2).max().unwrap_or(0)
}

/// Place the descriptors at their targets in the runtime's process. The
/// numbers between them get /dev/null: the runtime passes on all of 3..N,
/// and would otherwise hand the container whatever it opened there itself
/// (its log). Keep the returned file until the command is spawned.
pub fn install(
    cmd: &mut std::process::Command,
    p: &Preserved,
) -> std::io::Result<Option<std::fs::File>> {
    if p.is_empty() {
        return Ok(None);
    }
    // Sources above every target, so placing one cannot clobber another.
    let top = p.iter().map(|(_, t)| *t as RawFd).max().unwrap_or(0) + 1;
    let null = std::fs::File::open("/dev/null")?;
    let mut pairs: Vec<(RawFd, RawFd)> = p
        .iter()
        .map(|(fd, t)| (fd.as_raw_fd(), *t as RawFd))
        .collect();
    for gap in 3..top {
        if !pairs.iter().any(|(_, t)| *t == gap) {
            pairs.push((null.as_raw_fd(), gap));
        }
    }
    // SAFETY: between fork and exec only fcntl/dup2/close, which are
    // async-signal-safe; the sources stay open in the parent until the
    // spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            let mut moved = Vec::with_capacity(pairs.len());
            for &(src, t) in &pairs {
                let high = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, top);
                if high < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                moved.push((high, t));
            }
            for &(high, t) in &moved {
                if libc::dup2(high, t) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(high);
            }
            Ok(())
        });
    }
    Ok(Some(null))
}

/// The slots of `serve --hold-fds N`: after the preserved descriptors.
pub fn held_slots(preserved: usize, count: u32) -> Vec<RawFd> {
    (0..count)
        .map(|i| proto::transport::PRESERVED_FDS_BASE + (preserved as RawFd) + i as RawFd)
        .collect()
}

/// Take over the held descriptors (close-on-exec: the runtime and the
/// container never get them).
pub fn adopt_held(preserved: usize, count: u32) -> anyhow::Result<Vec<OwnedFd>> {
    let mut out = Vec::new();
    for slot in held_slots(preserved, count) {
        nix::fcntl::fcntl(
            slot,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| anyhow::anyhow!("--hold-fds: descriptor {slot} was not passed: {e}"))?;
        // SAFETY: the descriptor was handed to us at exec (checked open
        // just above) and nothing else owns it.
        out.push(unsafe { OwnedFd::from_raw_fd(slot) });
    }
    Ok(out)
}
