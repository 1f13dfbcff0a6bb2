//! What `podman top` knows about a process, read from the host's /proc:
//! which processes belong to a container (its cgroup), and per process its
//! stat, status and command line, with ids translated into the container's
//! own pid and user namespaces.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    pub tty_nr: u64,
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
    pub label: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("process {0} is gone")]
    Gone(i32),
    #[error("reading /proc/{pid}/{file}: {source}")]
    Read {
        pid: i32,
        file: &'static str,
        source: std::io::Error,
    },
    #[error("unexpected format of /proc/{pid}/{file}")]
    Format { pid: i32, file: &'static str },
}

fn read(pid: i32, file: &'static str) -> Result<Vec<u8>, ProcError> {
    std::fs::read(format!("/proc/{pid}/{file}")).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ESRCH) => ProcError::Gone(pid),
        _ => ProcError::Read {
            pid,
            file,
            source: e,
        },
    })
}

impl Process {
    pub fn read(pid: i32) -> Result<Process, ProcError> {
        let stat = read(pid, "stat")?;
        let stat = String::from_utf8_lossy(&stat);
        let bad = |file| ProcError::Format { pid, file };
        let (open, close) = (
            stat.find('(').ok_or(bad("stat"))?,
            stat.rfind(')').ok_or(bad("stat"))?,
        );
        let mut p = Process {
            host_pid: pid,
            pid,
            comm: stat[open + 1..close].to_string(),
            ..Process::default()
        };
        // Fields from 3 (state) on; field N is rest[N - 3].
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let field = |n: usize| rest.get(n - 3).copied().ok_or(bad("stat"));
        let num =
            |n: usize| -> Result<u64, ProcError> { field(n)?.parse().map_err(|_| bad("stat")) };
        p.state = field(3)?.chars().next().unwrap_or('?');
        p.host_ppid = field(4)?.parse().map_err(|_| bad("stat"))?;
        p.host_pgid = field(5)?.parse().map_err(|_| bad("stat"))?;
        p.tty_nr = field(7)?.parse::<i64>().map_err(|_| bad("stat"))? as u64;
        p.cpu_ticks = num(14)? + num(15)?;
        p.nice = field(19)?.parse().map_err(|_| bad("stat"))?;
        p.start_ticks = num(22)?;
        p.vsize = num(23)?;

        let status = read(pid, "status")?;
        for line in String::from_utf8_lossy(&status).lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let ids = |v: &str| -> Vec<u32> {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            };
            let hex = |v: &str| u64::from_str_radix(v, 16).unwrap_or(0);
            match key {
                "Uid" => copy4(&mut p.uids, &ids(value)),
                "Gid" => copy4(&mut p.gids, &ids(value)),
                "Groups" => p.groups = ids(value),
                "NSpid" => p.pid = ids(value).last().map(|&x| x as i32).unwrap_or(pid),
                "VmRSS" => {
                    p.rss_kib = value
                        .split_whitespace()
                        .next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                }
                "Seccomp" => p.seccomp = value.parse().ok(),
                "CapInh" => p.caps[0] = hex(value),
                "CapPrm" => p.caps[1] = hex(value),
                "CapEff" => p.caps[2] = hex(value),
                "CapBnd" => p.caps[3] = hex(value),
                "CapAmb" => p.caps[4] = hex(value),
                _ => {}
            }
        }
        let cmdline = read(pid, "cmdline")?;
        p.cmdline = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        p.label = std::fs::read(format!("/proc/{pid}/attr/current"))
            .ok()
            .map(|l| {
                String::from_utf8_lossy(&l)
                    .trim_end_matches(['\0', '\n'])
                    .to_string()
            })
            .filter(|l| !l.is_empty());
        Ok(p)
    }
}

fn copy4(dst: &mut [u32; 4], src: &[u32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
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
    let text = std::fs::read_to_string(format!("/proc/{init_pid}/cgroup")).ok()?;
    let mut v1: Vec<(usize, PathBuf)> = Vec::new();
    let mut v2 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !path.contains(id) {
            continue;
        }
        let rel = path.trim_start_matches('/');
        if controllers.is_empty() {
            v2 = Some(rel.to_string());
            continue;
        }
        let dir = controllers.trim_start_matches("name=");
        let rank = ["pids", "memory", "cpu", "freezer", "devices"]
            .iter()
            .position(|c| controllers.split(',').any(|x| x == *c))
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

/// Host processes in `pid`'s pid namespace, if that is not ours.
fn same_pid_namespace(pid: i32) -> Vec<i32> {
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
    let Some(theirs) = ns(&pid.to_string()) else {
        return vec![];
    };
    if ns("self").as_ref() == Some(&theirs) {
        return vec![];
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|p| ns(&p.to_string()).as_ref() == Some(&theirs))
        .collect()
}

/// Host pid -> pid in the container's namespace, for ppid and pgid: an id
/// outside the container (its monitor, say) shows as 0, as inside it.
pub fn ns_pid_map(procs: &[Process]) -> HashMap<i32, i32> {
    procs.iter().map(|p| (p.host_pid, p.pid)).collect()
}

/// Names for ids from a passwd- or group-format file.
#[derive(Debug, Default)]
pub struct Names(HashMap<u32, String>);

impl Names {
    pub fn load(path: &Path) -> Names {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        Names(
            text.lines()
                .filter_map(|l| {
                    let mut f = l.split(':');
                    let name = f.next()?;
                    let id = f.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                .collect(),
        )
    }

    /// The name, or the id in decimal.
    pub fn get(&self, id: u32) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// A user namespace's id map (`inside outside count` lines), to show host
/// ids as the container sees them.
#[derive(Debug, Default)]
pub struct IdMap(Vec<(u32, u32, u32)>);

impl IdMap {
    pub fn load(path: &Path) -> IdMap {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        IdMap(
            text.lines()
                .filter_map(|l| {
                    let v: Vec<u32> = l
                        .split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect();
                    (v.len() == 3).then(|| (v[0], v[1], v[2]))
                })
                .collect(),
        )
    }

    /// The container's id for host id `host` (the overflow id 65534 if unmapped).
    pub fn to_inside(&self, host: u32) -> u32 {
        if self.0.is_empty() {
            return host;
        }
        self.0
            .iter()
            .find(|(_, out, n)| host >= *out && host - out < *n)
            .map(|(ins, out, _)| ins + (host - out))
            .unwrap_or(65534)
    }
}

/// The terminal's name for a tty_nr (`pts/0`), "?" for none.
pub fn tty_name(tty_nr: u64) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match (major, minor) {
        (136..=143, m) => format!("pts/{}", (major - 136) * 256 + m),
        (4, m) if m < 64 => format!("tty{m}"),
        (4, m) => format!("ttyS{}", m - 64),
        (5, 0) => "tty".into(),
        (5, 1) => "console".into(),
        _ => "?".into(),
    }
}

/// Clock ticks per second.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no side effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// When the machine booted (/proc/stat btime).
pub fn boot_time() -> SystemTime {
    let btime = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(btime)
}

/// A duration as Go's `time.Duration.String()` prints it ("1h2m3.5s",
/// "20.386825206s", "1.5ms", "0s"), which is how Podman shows times.
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let frac = |n: u128, unit: u128, width: usize| {
        let f = format!("{:0width$}", n % unit);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{}", n / unit)
        } else {
            format!("{}.{f}", n / unit)
        }
    };
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000, 3)),
        n if n < 1_000_000_000 => format!("{}ms", frac(n, 1_000_000, 6)),
        n => {
            let secs = n / 1_000_000_000;
            let (h, m) = (secs / 3600, (secs % 3600) / 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out.push_str(&frac(n % 60_000_000_000, 1_000_000_000, 9));
            out.push('s');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(
            go_duration(Duration::from_nanos(20_386_825_206)),
            "20.386825206s"
        );
        assert_eq!(go_duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(
            go_duration(Duration::from_nanos(3_732_497_061_672)),
            "1h2m12.497061672s"
        );
        assert_eq!(go_duration(Duration::from_micros(1500)), "1.5ms");
        assert_eq!(go_duration(Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(go_duration(Duration::from_nanos(999)), "999ns");
    }

    #[test]
    fn ttys_are_named() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
    }

    #[test]
    fn our_own_process_reads() {
        let me = Process::read(std::process::id() as i32).unwrap();
        assert_eq!(me.host_pid, std::process::id() as i32);
        assert!(!me.cmdline.is_empty());
        assert!(me.start_ticks > 0);
        assert!(matches!(Process::read(i32::MAX), Err(ProcError::Gone(_))));
    }

    #[test]
    fn ids_map_into_the_namespace() {
        let m = IdMap(vec![(0, 100000, 65536)]);
        assert_eq!(m.to_inside(100000), 0);
        assert_eq!(m.to_inside(100033), 33);
        assert_eq!(m.to_inside(5), 65534);
        assert_eq!(IdMap::default().to_inside(5), 5);
    }
}
