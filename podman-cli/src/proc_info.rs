//! What podman knows about host processes, read from /proc through the
//! `procfs` crate: one reader for `top` now and `ps`/`stats` later. Which
//! processes belong to a container (its cgroup, else its pid namespace),
//! and per process its stat, status and command line, with the pid as the
//! container's pid namespace sees it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use procfs::process::Process as ProcfsProcess;

/// One process, as read from /proc/PID/{stat,status,cmdline}.
#[derive(Debug, Clone, Default)]
pub struct Process {
    pub host_pid: i32,
    /// The pid inside the container's pid namespace (NSpid's last entry).
    pub pid: i32,
    pub host_ppid: i32,
    pub host_pgid: i32,
    pub comm: String,
    pub state: char,
    /// The controlling terminal's device (major, minor); (0, 0) for none.
    pub tty: (i32, i32),
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    pub nice: i64,
    pub vsize: u64,
    /// Real, effective, saved, filesystem (host ids).
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    pub groups: Vec<u32>,
    /// VmRSS in KiB (0 for kernel threads).
    pub rss_kib: u64,
    pub seccomp: Option<u8>,
    /// CapInh, CapPrm, CapEff, CapBnd, CapAmb.
    pub caps: [u64; 5],
    pub cmdline: Vec<String>,
    /// The security label (/proc/PID/attr/current), if any.
    pub label: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("process {0} is gone")]
    Gone(i32),
    #[error("reading process {pid} from /proc: {source}")]
    Read { pid: i32, source: procfs::ProcError },
}

impl ProcError {
    fn of(pid: i32) -> impl Fn(procfs::ProcError) -> ProcError {
        move |e| match e {
            procfs::ProcError::NotFound(_) => ProcError::Gone(pid),
            source => ProcError::Read { pid, source },
        }
    }
}

impl Process {
    pub fn read(pid: i32) -> Result<Process, ProcError> {
        let err = ProcError::of(pid);
        let proc = ProcfsProcess::new(pid).map_err(&err)?;
        let stat = proc.stat().map_err(&err)?;
        let status = proc.status().map_err(&err)?;
        let cmdline = cmdline(pid)?;
        Ok(Process {
            host_pid: pid,
            pid: status
                .nspid
                .as_ref()
                .and_then(|ns| ns.last().copied())
                .unwrap_or(pid),
            host_ppid: stat.ppid,
            host_pgid: stat.pgrp,
            state: stat.state,
            tty: stat.tty_nr(),
            cpu_ticks: stat.utime + stat.stime,
            start_ticks: stat.starttime,
            nice: stat.nice,
            vsize: stat.vsize,
            comm: stat.comm,
            uids: [status.ruid, status.euid, status.suid, status.fuid],
            gids: [status.rgid, status.egid, status.sgid, status.fgid],
            groups: status.groups.iter().map(|&g| g as u32).collect(),
            rss_kib: status.vmrss.unwrap_or(0),
            seccomp: status.seccomp.and_then(|s| u8::try_from(s).ok()),
            caps: [
                status.capinh,
                status.capprm,
                status.capeff,
                status.capbnd.unwrap_or(0),
                status.capamb.unwrap_or(0),
            ],
            cmdline,
            label: label(pid),
        })
    }
}

/// The command line, its arguments decoded lossily: procfs's `cmdline()`
/// fails on an argument that is not UTF-8, which must not make `top` fail.
fn cmdline(pid: i32) -> Result<Vec<String>, ProcError> {
    let raw =
        std::fs::read(format!("/proc/{pid}/cmdline")).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ESRCH) => ProcError::Gone(pid),
            _ => ProcError::Read {
                pid,
                source: procfs::ProcError::Io(e, Some(format!("/proc/{pid}/cmdline").into())),
            },
        })?;
    Ok(raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

/// /proc/PID/attr/current, which the procfs crate does not read.
fn label(pid: i32) -> Option<String> {
    std::fs::read(format!("/proc/{pid}/attr/current"))
        .ok()
        .map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches(['\0', '\n'])
                .to_string()
        })
        .filter(|l| !l.is_empty())
}

/// The processes of the container whose init is `init_pid`: those in its
/// cgroup (and the cgroups below it, exec sessions included). `id` guards
/// against a cgroup shared with the host: the path must name the container.
pub fn container_pids(init_pid: i32, id: &str) -> Vec<i32> {
    let mut pids = BTreeSet::new();
    if let Some(dir) = container_cgroup(init_pid, id) {
        tracing::debug!(cgroup = %dir.display(), "listing the container's processes");
        collect_cgroup_pids(&dir, &mut pids);
    }
    if pids.is_empty() {
        // No cgroup of its own we can read: the processes of its pid namespace.
        pids.extend(same_pid_namespace(init_pid));
    }
    pids.insert(init_pid);
    pids.into_iter().collect()
}

/// The container's cgroup directory: a v1 hierarchy (pids, memory, ... in
/// that order of preference) or, on a pure v2 host, the unified one.
fn container_cgroup(init_pid: i32, id: &str) -> Option<PathBuf> {
    let groups = ProcfsProcess::new(init_pid).ok()?.cgroups().ok()?;
    let mut v1: Vec<(usize, PathBuf)> = Vec::new();
    let mut v2 = None;
    for g in groups.0 {
        if !g.pathname.contains(id) {
            continue;
        }
        let rel = g.pathname.trim_start_matches('/');
        if g.controllers.is_empty() {
            v2 = Some(rel.to_string());
            continue;
        }
        let joined = g.controllers.join(",");
        let dir = joined.trim_start_matches("name=");
        let rank = ["pids", "memory", "cpu", "freezer", "devices"]
            .iter()
            .position(|c| g.controllers.iter().any(|x| x == c))
            .unwrap_or(10);
        v1.push((rank, Path::new("/sys/fs/cgroup").join(dir).join(rel)));
    }
    v1.sort_by_key(|(rank, _)| *rank);
    let v2 = v2.into_iter().flat_map(|rel| {
        [
            Path::new("/sys/fs/cgroup/unified").join(&rel),
            Path::new("/sys/fs/cgroup").join(&rel),
        ]
    });
    v1.into_iter()
        .map(|(_, d)| d)
        .chain(v2)
        .find(|d| d.join("cgroup.procs").is_file())
}

fn collect_cgroup_pids(dir: &Path, out: &mut BTreeSet<i32>) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(
            procs
                .split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_cgroup_pids(&e.path(), out);
            }
        }
    }
}

/// The pid namespace of `proc` as (device, inode).
fn pid_namespace(proc: &ProcfsProcess) -> Option<(u64, u64)> {
    let ns = proc.namespaces().ok()?;
    let pid = ns.0.get(std::ffi::OsStr::new("pid"))?;
    Some((pid.device_id, pid.identifier))
}

/// Host processes in `pid`'s pid namespace, if that is not ours.
fn same_pid_namespace(pid: i32) -> Vec<i32> {
    let Some(theirs) = ProcfsProcess::new(pid).ok().and_then(|p| pid_namespace(&p)) else {
        return vec![];
    };
    let ours = ProcfsProcess::myself().ok().and_then(|p| pid_namespace(&p));
    if ours == Some(theirs) {
        return vec![];
    }
    let Ok(all) = procfs::process::all_processes() else {
        return vec![];
    };
    all.flatten()
        .filter(|p| pid_namespace(p) == Some(theirs))
        .map(|p| p.pid())
        .collect()
}

/// The terminal's name for a tty device (`pts/0`), "?" for none.
pub fn tty_name((major, minor): (i32, i32)) -> String {
    match (major, minor) {
        (136..=143, m) => format!("pts/{}", (major - 136) * 256 + m),
        (4, m) if m < 64 => format!("tty{m}"),
        (4, m) => format!("ttyS{}", m - 64),
        (5, 0) => "tty".into(),
        (5, 1) => "console".into(),
        _ => "?".into(),
    }
}

/// Clock ticks per second (the unit of the times in /proc/PID/stat).
pub fn clock_ticks() -> u64 {
    procfs::ticks_per_second().max(1)
}

/// When the machine booted (/proc/stat btime).
pub fn boot_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(procfs::boot_time_secs().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_that_are_not_utf8_are_shown_lossily() {
        use std::io::BufRead;
        use std::os::unix::ffi::OsStrExt;
        // `sh -c CMD NAME`: NAME is only $0; the shell stays (two commands)
        // and says when it runs, its command line in place.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "echo up; sleep 10; true"])
            .arg(std::ffi::OsStr::from_bytes(b"x\xff"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "up\n");
        let p = Process::read(child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            p.unwrap().cmdline,
            ["sh", "-c", "echo up; sleep 10; true", "x\u{fffd}"]
        );
    }

    #[test]
    fn ttys_are_named() {
        assert_eq!(tty_name((0, 0)), "?");
        assert_eq!(tty_name((136, 3)), "pts/3");
        assert_eq!(tty_name((137, 1)), "pts/257");
        assert_eq!(tty_name((4, 1)), "tty1");
        assert_eq!(tty_name((4, 65)), "ttyS1");
        assert_eq!(tty_name((5, 1)), "console");
    }

    #[test]
    fn our_own_process_reads() {
        let me = std::process::id() as i32;
        let p = Process::read(me).unwrap();
        assert_eq!(p.host_pid, me);
        // Not in a pid namespace of its own: the same pid both ways.
        assert_eq!(p.pid, me);
        assert_eq!(p.host_ppid, std::os::unix::process::parent_id() as i32);
        assert_eq!(p.uids[1], nix::unistd::geteuid().as_raw());
        assert_eq!(p.gids[1], nix::unistd::getegid().as_raw());
        assert!(!p.cmdline.is_empty());
        assert!(p.start_ticks > 0);
        assert!(p.rss_kib > 0 && p.vsize > p.rss_kib);
        assert!(matches!(Process::read(i32::MAX), Err(ProcError::Gone(_))));
    }

    #[test]
    fn a_process_outside_a_container_has_no_container_processes() {
        // No cgroup path names this id, and we share our pid namespace:
        // only the init pid itself.
        let me = std::process::id() as i32;
        assert_eq!(container_pids(me, "no-such-container-id"), vec![me]);
    }

    #[test]
    fn the_machine_booted_in_the_past() {
        let boot = boot_time();
        assert!(boot > UNIX_EPOCH && boot < SystemTime::now());
        assert!(clock_ticks() >= 1);
    }
}
