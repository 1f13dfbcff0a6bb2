//! How `podman top` shows what [`crate::proc_info`] read: ids translated
//! into the container's own pid and user namespaces and named from its
//! own passwd and group files, times as Go prints them.

use std::collections::HashMap;
use std::path::Path;

use crate::proc_info::Process;

/// Host pid -> pid in the container's namespace, for ppid and pgid: an id
/// outside the container (its monitor, say) shows as 0, as inside it.
pub fn ns_pid_map(procs: &[Process]) -> HashMap<i32, i32> {
    procs.iter().map(|p| (p.host_pid, p.pid)).collect()
}

/// Names for ids from a passwd- or group-format file.
#[derive(Debug, Default)]
pub struct Names(HashMap<u32, String>);

impl Names {
    /// Read `rel` (`etc/passwd`) inside `root` (a container's
    /// `/proc/PID/root`, or `/`) as `spec::user` reads account files: in
    /// the root, regular files only, size-capped. An unreadable file names
    /// nothing (ids show as numbers).
    pub fn load(root: &Path, rel: &str) -> Names {
        let text = crate::spec::user::read_account_file(root, rel)
            .ok()
            .flatten()
            .unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_passwd_format_files() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nbroken\n",
        )
        .unwrap();
        let n = Names::load(dir.path(), "passwd");
        assert_eq!(n.get(0), "root");
        assert_eq!(n.get(65534), "nobody");
        assert_eq!(n.get(7), "7");
        assert_eq!(Names::load(dir.path(), "missing").get(0), "0");
    }

    #[test]
    fn ns_pids_map_host_pids() {
        let procs = [
            Process {
                host_pid: 4000,
                pid: 1,
                ..Process::default()
            },
            Process {
                host_pid: 4010,
                pid: 7,
                ..Process::default()
            },
        ];
        let m = ns_pid_map(&procs);
        assert_eq!(m.get(&4010), Some(&7));
        assert_eq!(m.get(&1), None);
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
