//! `podman top`: the container's processes (those in its cgroup), read from
//! /proc, shown with ps(1)'s AIX format descriptors as Podman's psgo does:
//! ids as the container sees them (pid 1 is its init), names from its own
//! /etc/passwd and /etc/group, times as Go durations.

#[allow(unsafe_code)]
mod host_ps;
mod names;

use std::path::Path;
use std::time::SystemTime;

use clap::Args;

use crate::container::model::Status;
use crate::container::store;
use crate::engine_config::EngineConfig;
use crate::proc_info::{self, Process};
use names::{IdMap, Names};

#[derive(Debug, Clone, Args)]
pub struct TopArgs {
    /// Act on the latest container (then every argument is a descriptor)
    #[arg(short, long)]
    pub latest: bool,
    /// CONTAINER [DESCRIPTORS...]: descriptors as separate arguments or
    /// comma-separated, e.g. `pid,user,args` (default: user pid ppid pcpu
    /// etime tty time args); anything else is given to ps(1) in the
    /// container, e.g. `-eo pid,comm`
    #[arg(
        required_unless_present = "latest",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// What a column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Pcpu,
    Group,
    Groups,
    Ppid,
    User,
    Uid,
    Args,
    Comm,
    Rgroup,
    Nice,
    Pid,
    Pgid,
    Etime,
    Ruser,
    Time,
    Tty,
    Vsz,
    Rss,
    State,
    Stime,
    Seccomp,
    Label,
    Cap(usize),
    Hpid,
    Huser,
    Huid,
    Hgroup,
}

/// (code, normal name, header, field), as psgo defines them.
const DESCRIPTORS: &[(&str, &str, &str, Field)] = &[
    ("%C", "pcpu", "%CPU", Field::Pcpu),
    ("%G", "group", "GROUP", Field::Group),
    ("", "groups", "GROUPS", Field::Groups),
    ("%P", "ppid", "PPID", Field::Ppid),
    ("%U", "user", "USER", Field::User),
    ("", "uid", "UID", Field::Uid),
    ("%a", "args", "COMMAND", Field::Args),
    ("%c", "comm", "COMMAND", Field::Comm),
    ("%g", "rgroup", "RGROUP", Field::Rgroup),
    ("%n", "nice", "NI", Field::Nice),
    ("%p", "pid", "PID", Field::Pid),
    ("%r", "pgid", "PGID", Field::Pgid),
    ("%t", "etime", "ELAPSED", Field::Etime),
    ("%u", "ruser", "RUSER", Field::Ruser),
    ("%x", "time", "TIME", Field::Time),
    ("%y", "tty", "TTY", Field::Tty),
    ("%z", "vsz", "VSZ", Field::Vsz),
    ("", "rss", "RSS", Field::Rss),
    ("", "state", "STATE", Field::State),
    ("", "stime", "STIME", Field::Stime),
    ("", "seccomp", "SECCOMP", Field::Seccomp),
    ("", "label", "LABEL", Field::Label),
    ("", "capinh", "INHERITED CAPS", Field::Cap(0)),
    ("", "capprm", "PERMITTED CAPS", Field::Cap(1)),
    ("", "capeff", "EFFECTIVE CAPS", Field::Cap(2)),
    ("", "capbnd", "BOUNDING CAPS", Field::Cap(3)),
    ("", "capamb", "AMBIENT CAPS", Field::Cap(4)),
    ("", "hpid", "HPID", Field::Hpid),
    ("", "huser", "HUSER", Field::Huser),
    ("", "huid", "HUID", Field::Huid),
    ("", "hgroup", "HGROUP", Field::Hgroup),
];

const DEFAULT: [&str; 8] = [
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

/// Capability names by bit, as psgo prints them.
const CAPS: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// A word that is no descriptor of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown top descriptor {word:?}: use one of {known}")]
struct UnknownDescriptor {
    word: String,
    known: String,
}

/// Parse descriptors given as arguments and/or comma-separated lists.
fn parse_descriptors(given: &[String]) -> Result<Vec<(&'static str, Field)>, UnknownDescriptor> {
    let words: Vec<&str> = given
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let words = if words.is_empty() {
        DEFAULT.to_vec()
    } else {
        words
    };
    words
        .into_iter()
        .map(|w| {
            DESCRIPTORS
                .iter()
                .find(|(code, normal, _, _)| w == *normal || (!code.is_empty() && w == *code))
                .map(|(_, _, header, field)| (*header, *field))
                .ok_or_else(|| {
                    let mut known: Vec<&str> = DESCRIPTORS.iter().map(|d| d.1).collect();
                    known.sort_unstable();
                    UnknownDescriptor {
                        word: w.to_string(),
                        known: known.join(", "),
                    }
                })
        })
        .collect()
}

/// What the cells need besides the process itself.
struct Context {
    now: SystemTime,
    boot: SystemTime,
    ticks: u64,
    ns_pids: std::collections::HashMap<i32, i32>,
    /// The container's own users and groups, and the host's.
    users: Names,
    groups: Names,
    host_users: Names,
    host_groups: Names,
    uid_map: IdMap,
    gid_map: IdMap,
    full_caps: u64,
}

impl Context {
    fn new(procs: &[Process], init_pid: i32) -> Context {
        let root = Path::new("/proc").join(init_pid.to_string()).join("root");
        let last_cap: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40)
            .min(63);
        Context {
            now: SystemTime::now(),
            boot: proc_info::boot_time(),
            ticks: proc_info::clock_ticks(),
            ns_pids: names::ns_pid_map(procs),
            users: Names::load(&root, "etc/passwd"),
            groups: Names::load(&root, "etc/group"),
            host_users: Names::load(Path::new("/"), "etc/passwd"),
            host_groups: Names::load(Path::new("/"), "etc/group"),
            uid_map: IdMap::load(
                &Path::new("/proc")
                    .join(init_pid.to_string())
                    .join("uid_map"),
            ),
            gid_map: IdMap::load(
                &Path::new("/proc")
                    .join(init_pid.to_string())
                    .join("gid_map"),
            ),
            full_caps: if last_cap >= 63 {
                u64::MAX
            } else {
                (1u64 << (last_cap + 1)) - 1
            },
        }
    }

    fn started(&self, p: &Process) -> SystemTime {
        // Whole seconds after boot, as psgo computes it.
        self.boot + std::time::Duration::from_secs(p.start_ticks / self.ticks.max(1))
    }

    fn elapsed(&self, p: &Process) -> std::time::Duration {
        self.now.duration_since(self.started(p)).unwrap_or_default()
    }

    fn user(&self, host_uid: u32) -> String {
        self.users.get(self.uid_map.to_inside(host_uid))
    }

    fn group(&self, host_gid: u32) -> String {
        self.groups.get(self.gid_map.to_inside(host_gid))
    }

    fn caps(&self, mask: u64) -> String {
        if mask == self.full_caps {
            return "full".into();
        }
        let mut names: Vec<String> = (0..64)
            .filter(|bit| mask & (1u64 << bit) != 0)
            .map(|bit| {
                CAPS.get(bit)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| format!("CAP_{bit}"))
            })
            .collect();
        if names.is_empty() {
            return "none".into();
        }
        names.sort();
        names.join(",")
    }

    fn cell(&self, p: &Process, field: Field) -> String {
        let ns = |host: i32| self.ns_pids.get(&host).copied().unwrap_or(0).to_string();
        match field {
            Field::Pid => p.pid.to_string(),
            Field::Ppid => ns(p.host_ppid),
            Field::Pgid => ns(p.host_pgid),
            Field::User => self.user(p.uids[1]),
            Field::Ruser => self.user(p.uids[0]),
            Field::Uid => self.uid_map.to_inside(p.uids[1]).to_string(),
            Field::Group => self.group(p.gids[1]),
            Field::Rgroup => self.group(p.gids[0]),
            Field::Groups => p
                .groups
                .iter()
                .map(|g| self.group(*g))
                .collect::<Vec<_>>()
                .join(","),
            Field::Args if p.cmdline.is_empty() => format!("[{}]", p.comm),
            Field::Args => p.cmdline.join(" "),
            Field::Comm => p.comm.clone(),
            Field::Nice => p.nice.to_string(),
            Field::Pcpu => {
                let elapsed = self.elapsed(p).as_secs_f64();
                // psgo's CPUTime: whole seconds (utime+stime over the tick
                // rate, an integer division), over the process's lifetime.
                let cpu = (p.cpu_ticks / self.ticks.max(1)) as f64;
                let pcpu = if elapsed > 0.0 {
                    100.0 * cpu / elapsed
                } else {
                    0.0
                };
                format!("{pcpu:.3}")
            }
            Field::Etime => common::time::go_duration(self.elapsed(p)),
            Field::Time => common::time::go_duration(std::time::Duration::from_secs(
                p.cpu_ticks / self.ticks.max(1),
            )),
            Field::Stime => stime(self.started(p)),
            Field::Tty => proc_info::tty_name(p.tty),
            Field::Vsz => (p.vsize / 1024).to_string(),
            Field::Rss => p.rss_kib.to_string(),
            Field::State => p.state.to_string(),
            Field::Seccomp => match p.seccomp {
                Some(0) => "disabled".into(),
                Some(1) => "strict".into(),
                Some(2) => "filter".into(),
                _ => "?".into(),
            },
            Field::Label => p.label.clone().unwrap_or_else(|| "?".into()),
            Field::Cap(i) => self.caps(p.caps[i]),
            Field::Hpid => p.host_pid.to_string(),
            Field::Huser => self.host_users.get(p.uids[1]),
            Field::Huid => p.uids[1].to_string(),
            Field::Hgroup => self.host_groups.get(p.gids[1]),
        }
    }
}

/// A start time as Go prints a time.Time ("2019-12-09 10:50:36 +0100 CET").
fn stime(t: SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r fills tm from secs; strftime writes at most buf.len().
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return secs.to_string();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%Y-%m-%d %H:%M:%S %z %Z".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// The table `podman top` prints for the container whose init is `init_pid`.
fn table(init_pid: i32, id: &str, descriptors: &[(&'static str, Field)]) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut procs = Vec::new();
    for pid in proc_info::container_pids(init_pid, id) {
        match Process::read(pid) {
            Ok(p) => procs.push(p),
            // It exited while we looked.
            Err(proc_info::ProcError::Gone(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    procs.sort_by_key(|p| p.pid);
    let ctx = Context::new(&procs, init_pid);
    let mut lines = vec![descriptors
        .iter()
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join("\t")];
    for p in &procs {
        lines.push(
            descriptors
                .iter()
                .map(|(_, f)| ctx.cell(p, *f).replace('\t', " "))
                .collect::<Vec<_>>()
                .join("\t"),
        );
    }
    tracing::debug!(
        processes = procs.len(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "read the container's processes"
    );
    Ok(crate::format::table::align(&lines))
}

/// Whether every argument is a descriptor of ours (else Podman hands the
/// arguments to ps(1)).
pub fn descriptors_known(given: &[String]) -> bool {
    parse_descriptors(given).is_ok()
}

/// `pod top`: one table over the processes of several containers, each
/// (init pid, container ID); bad descriptors are refused first.
pub fn table_of_many(targets: &[(i32, String)], given: &[String]) -> anyhow::Result<String> {
    Ok(crate::format::table::align(&lines_of_many(targets, given)?))
}

/// [`table_of_many`]'s lines before alignment: cells joined by tabs (a
/// cell's own tabs made spaces), the headers first.
pub fn lines_of_many(targets: &[(i32, String)], given: &[String]) -> anyhow::Result<Vec<String>> {
    let descriptors = parse_descriptors(given)?;
    let mut lines = vec![descriptors
        .iter()
        .map(|(h, _)| *h)
        .collect::<Vec<_>>()
        .join("\t")];
    for (init_pid, id) in targets {
        let mut procs = Vec::new();
        for pid in proc_info::container_pids(*init_pid, id) {
            match Process::read(pid) {
                Ok(p) => procs.push(p),
                Err(proc_info::ProcError::Gone(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        procs.sort_by_key(|p| p.pid);
        let ctx = Context::new(&procs, *init_pid);
        for p in &procs {
            lines.push(
                descriptors
                    .iter()
                    .map(|(_, f)| ctx.cell(p, *f).replace('\t', " "))
                    .collect::<Vec<_>>()
                    .join("\t"),
            );
        }
    }
    Ok(lines)
}

pub async fn top(engine: &EngineConfig, a: &TopArgs) -> anyhow::Result<()> {
    let db = super::open_state(engine)?;
    let (record, descriptors) = if a.latest {
        (store::latest(&db)?, &a.args[..])
    } else {
        let (name, rest) = a
            .args
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("top needs a container name or ID, or --latest"))?;
        (store::resolve(&db, name)?, rest)
    };
    let parsed = parse_descriptors(descriptors);
    let (cfg, st) = crate::lifecycle::cleanup::refresh(engine, record).await?;
    if st.status != Status::Running {
        anyhow::bail!("top can only be used on running containers: container state improper");
    }
    match parsed {
        Ok(d) => print!("{}", table(st.pid, &cfg.id, &d)?),
        // As Podman: what is no descriptor of ours goes to ps(1).
        Err(_) => print!("{}", ps_in_container(engine, &cfg, &st, descriptors).await?),
    }
    Ok(())
}

/// Podman's fallback for options psgo does not know: ps(1) with the
/// given arguments (one argument is split as a shell would), without the
/// line of that ps itself. The host's ps in the container's pid namespace
/// ([`host_ps`]); the image's own ps for a container holding
/// CAP_SYS_PTRACE, or when the host's cannot run here.
pub async fn ps_in_container(
    engine: &EngineConfig,
    cfg: &crate::container::model::ContainerConfig,
    st: &crate::container::model::ContainerState,
    given: &[String],
) -> anyhow::Result<String> {
    let args: Vec<String> = match given {
        [one] => shlex::split(one)
            .ok_or_else(|| anyhow::anyhow!("parsing ps args {one:?}: unbalanced quotes"))?
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        many => many.to_vec(),
    };
    let host = if host_ps::has_ptrace(st.pid) {
        None
    } else {
        let (pid, a) = (st.pid, args.clone());
        match tokio::task::spawn_blocking(move || host_ps::run(pid, &a)).await? {
            host_ps::HostPs::Ran(0, out, _) => Some(out),
            host_ps::HostPs::Ran(code, _, err) => anyhow::bail!(
                "ps(1) failed with exit code {code}: {}",
                String::from_utf8_lossy(&err).trim()
            ),
            host_ps::HostPs::Unavailable(why) => {
                tracing::warn!(
                    "Falling back to container ps(1), could not execute ps(1) from the host: {why}"
                );
                None
            }
        }
    };
    let out = match host {
        Some(out) => out,
        None => {
            let mut command = vec!["ps".to_string()];
            command.extend(args);
            let (code, out, err) = super::exec::capture(engine, cfg, st, &command)
                .await
                .map_err(|e| anyhow::anyhow!("executing ps(1) in container: {e:#}"))?;
            if code != 0 {
                anyhow::bail!(
                    "executing ps(1) in container: ps exited with {code}: {}",
                    String::from_utf8_lossy(&err).trim()
                );
            }
            out
        }
    };
    let own = given.join(" ");
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.contains(&own))
        .map(|l| format!("{l}\n"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_parse_in_both_forms() {
        let d = parse_descriptors(&["pid,user".into(), "%C".into(), "args".into()]).unwrap();
        let headers: Vec<&str> = d.iter().map(|(h, _)| *h).collect();
        assert_eq!(headers, ["PID", "USER", "%CPU", "COMMAND"]);
        assert_eq!(parse_descriptors(&[]).unwrap().len(), 8);
        let e = parse_descriptors(&["pid".into(), "bogus".into()]).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("unknown top descriptor \"bogus\""));
    }

    #[test]
    fn our_own_process_renders() {
        let me = std::process::id() as i32;
        let d = parse_descriptors(&["pid,comm,state,vsz,rss,nice,capeff".into()]).unwrap();
        let p = Process::read(me).unwrap();
        let ctx = Context::new(std::slice::from_ref(&p), me);
        assert_eq!(ctx.cell(&p, d[0].1), p.pid.to_string());
        assert!(!ctx.cell(&p, Field::Etime).is_empty());
        assert!(ctx.cell(&p, Field::Vsz).parse::<u64>().unwrap() > 0);
        assert_eq!(ctx.caps(0), "none");
        assert_eq!(ctx.caps(0b101), "CHOWN,DAC_READ_SEARCH");
    }
}
