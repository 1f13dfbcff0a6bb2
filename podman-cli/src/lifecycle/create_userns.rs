//! `--userns`, `--uidmap`, `--gidmap`, `--subuidname`, `--subgidname` for
//! root, as Podman resolves them: which user namespace the container gets
//! and its ID mappings (which the storage applies to the root file system
//! and the runtime to the namespace).

use std::path::Path;

use super::create_options::MoreOptions;
use crate::container::idmap::{self, IdMap, IdMappings};
use crate::container::store;

/// The subordinate ID files and the user `--userns=auto` takes from.
const SUBUID: &str = "/etc/subuid";
const SUBGID: &str = "/etc/subgid";
const AUTO_USER: &str = "containers";
/// containers/storage's smallest automatic namespace.
const AUTO_MIN_SIZE: u32 = 1024;

/// The user namespace asked for, checked but not yet allocated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Request {
    #[default]
    Host,
    /// `--uidmap`/`--gidmap`/`--subuidname`/`--subgidname`.
    Mapped(IdMappings),
    Auto {
        size: Option<u32>,
        uids: Vec<IdMap>,
        gids: Vec<IdMap>,
    },
    KeepId {
        uid: Option<u32>,
        gid: Option<u32>,
    },
    /// `ns:PATH`.
    Path(String),
    /// `container:NAME`.
    Container(String),
}

/// What the container records: its mode ("" for the host's, "private",
/// "auto", "keep-id", "ns:PATH", "container:ID") and its mappings.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub mode: String,
    pub mappings: Option<IdMappings>,
    /// `keep-id:uid=,gid=`: the process runs as this user unless `--user`.
    pub user: Option<String>,
}

fn kernel_parent(file: &str) -> Vec<IdMap> {
    idmap::read_kernel_map(Path::new(file)).unwrap_or_else(|_| {
        vec![IdMap {
            container_id: 0,
            host_id: 0,
            size: u32::MAX,
        }]
    })
}

/// Check the flags (nothing is allocated yet).
pub fn parse(m: &MoreOptions) -> anyhow::Result<Request> {
    let mapped = !m.uidmap.is_empty()
        || !m.gidmap.is_empty()
        || m.subuidname.is_some()
        || m.subgidname.is_some();
    let mode = m
        .userns
        .clone()
        .or_else(|| std::env::var("PODMAN_USERNS").ok())
        .unwrap_or_default();
    if mapped && m.userns.as_deref().is_some_and(|u| !u.is_empty()) {
        anyhow::bail!(
            "--userns and --uidmap/--gidmap/--subuidname/--subgidname are mutually exclusive"
        );
    }
    if mapped {
        return Ok(Request::Mapped(mappings(m)?));
    }
    let (name, opts) = match mode.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (mode.as_str(), None),
    };
    Ok(match (name, opts) {
        ("" | "host", None) => Request::Host,
        ("nomap", None) => anyhow::bail!("nomap is only supported in rootless mode"),
        ("auto", _) => {
            let (mut size, mut uids, mut gids) = (None, Vec::new(), Vec::new());
            for o in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("invalid option specified: {o:?}"))?;
                match k {
                    "size" => {
                        size = Some(v.parse::<u32>().map_err(|e| {
                            anyhow::anyhow!("parsing id map value {v:?}: {e}")
                        })?)
                    }
                    "uidmapping" => uids.extend(auto_mapping(v, "UID")?),
                    "gidmapping" => gids.extend(auto_mapping(v, "GID")?),
                    other => anyhow::bail!("unknown option specified: {other:?}"),
                }
            }
            Request::Auto { size, uids, gids }
        }
        ("keep-id", _) => {
            let (mut uid, mut gid) = (None, None);
            for o in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("invalid option specified: {o:?}"))?;
                let n = || -> anyhow::Result<u32> {
                    v.parse::<u32>()
                        .map_err(|e| anyhow::anyhow!("cannot parse {k} value {v:?}: {e}"))
                };
                match k {
                    "uid" => uid = Some(n()?),
                    "gid" => gid = Some(n()?),
                    "size" => anyhow::bail!("the keep-id size option is not supported when running as root: it applies only to rootless user namespaces"),
                    other => anyhow::bail!("unknown option specified: {other:?}"),
                }
            }
            Request::KeepId { uid, gid }
        }
        ("ns", Some(p)) if !p.is_empty() => Request::Path(p.to_string()),
        ("container", Some(c)) if !c.is_empty() => Request::Container(c.to_string()),
        ("private", None) => anyhow::bail!(
            "--userns=private needs ID mappings as root: give --uidmap/--gidmap or use --userns=auto"
        ),
        _ => anyhow::bail!("unrecognized namespace mode {mode} passed"),
    })
}

/// One `--userns=auto:uidmapping=` value: "CID:[@]HID[:SIZE]".
fn auto_mapping(v: &str, setting: &'static str) -> anyhow::Result<Vec<IdMap>> {
    let parts = v.split(':').count();
    if !(2..=3).contains(&parts) {
        anyhow::bail!("initializing ID mappings: {setting} setting is malformed expected [\"uint32:[@]uint32[:uint32]\"] : {v:?}");
    }
    let parent = kernel_parent(if setting == "UID" {
        "/proc/self/uid_map"
    } else {
        "/proc/self/gid_map"
    });
    Ok(idmap::parse_list(&[v.to_string()], setting, &parent)?)
}

/// `--uidmap`/`--gidmap`/`--subuidname`/`--subgidname` as Podman's
/// ParseIDMapping: one of a pair given alone serves for both.
fn mappings(m: &MoreOptions) -> anyhow::Result<IdMappings> {
    let subuid = m.subuidname.clone().or_else(|| m.subgidname.clone());
    let subgid = m.subgidname.clone().or_else(|| m.subuidname.clone());
    let (uid_specs, gid_specs) = match (m.uidmap.is_empty(), m.gidmap.is_empty()) {
        (false, true) => (&m.uidmap, &m.uidmap),
        (true, false) => (&m.gidmap, &m.gidmap),
        _ => (&m.uidmap, &m.gidmap),
    };
    let mut out = IdMappings::default();
    if let (Some(u), Some(g)) = (&subuid, &subgid) {
        let ur = idmap::sub_ranges(SUBUID, u)?;
        let gr = idmap::sub_ranges(SUBGID, g)?;
        if ur.is_empty() {
            return Err(idmap::IdMapError::NoSubIds(u.clone()).into());
        }
        if gr.is_empty() {
            return Err(idmap::IdMapError::NoSubIds(g.clone()).into());
        }
        out.uid_map = idmap::from_ranges(&ur);
        out.gid_map = idmap::from_ranges(&gr);
    }
    out.uid_map.extend(idmap::parse_list(
        uid_specs,
        "UID",
        &kernel_parent("/proc/self/uid_map"),
    )?);
    out.gid_map.extend(idmap::parse_list(
        gid_specs,
        "GID",
        &kernel_parent("/proc/self/gid_map"),
    )?);
    if out.uid_map.is_empty() || out.gid_map.is_empty() {
        anyhow::bail!(
            "invalid ID mappings: both UIDs and GIDs need at least one range of size 1 or more"
        );
    }
    Ok(out)
}

/// Allocate what `req` needs: an automatic range not used by any other
/// container, the mappings of a joined namespace.
pub fn resolve(db: &crate::state::State, req: Request) -> anyhow::Result<Resolved> {
    Ok(match req {
        Request::Host => Resolved::default(),
        Request::Mapped(m) => Resolved {
            mode: "private".into(),
            mappings: Some(m),
            user: None,
        },
        Request::KeepId { uid, gid } => {
            // Root: the caller's own mappings in a new namespace.
            let m = IdMappings {
                uid_map: kernel_parent("/proc/self/uid_map"),
                gid_map: kernel_parent("/proc/self/gid_map"),
            };
            Resolved {
                mode: "keep-id".into(),
                mappings: Some(m),
                user: (uid.is_some() || gid.is_some())
                    .then(|| format!("{}:{}", uid.unwrap_or(0), gid.unwrap_or(0))),
            }
        }
        Request::Auto { size, uids, gids } => {
            let used: Vec<IdMappings> = store::list(db)?
                .into_iter()
                .filter_map(|(c, _)| c.extra.idmap)
                .collect();
            let size = size.unwrap_or(AUTO_MIN_SIZE).max(1);
            let pick = |file: &str, taken: Vec<IdMap>, extra: Vec<IdMap>| {
                let ranges = idmap::sub_ranges(file, AUTO_USER)?;
                if ranges.is_empty() {
                    return Err(anyhow::Error::from(idmap::IdMapError::NoSubIds(
                        AUTO_USER.into(),
                    )));
                }
                let start = free_block(&ranges, &taken, size).ok_or_else(|| {
                    anyhow::anyhow!("could not find a free range of {size} IDs for user {AUTO_USER:?} in {file}: remove containers or enlarge the range")
                })?;
                let mut map = vec![IdMap {
                    container_id: 0,
                    host_id: start,
                    size,
                }];
                for e in extra {
                    map = extend(map, e);
                }
                Ok(map)
            };
            let uid_map = pick(
                SUBUID,
                used.iter().flat_map(|m| m.uid_map.clone()).collect(),
                uids,
            )?;
            let gid_map = pick(
                SUBGID,
                used.iter().flat_map(|m| m.gid_map.clone()).collect(),
                gids,
            )?;
            Resolved {
                mode: "auto".into(),
                mappings: Some(IdMappings { uid_map, gid_map }),
                user: None,
            }
        }
        Request::Path(p) => Resolved {
            mappings: Some(namespace_mappings(Path::new(&p))?),
            mode: format!("ns:{p}"),
            user: None,
        },
        Request::Container(name) => {
            let (other, _) = store::resolve(db, &name)?;
            let Some(m) = other.extra.idmap.clone() else {
                anyhow::bail!(
                    "container {} runs in the host's user namespace: join it with --userns=host",
                    other.name
                );
            };
            Resolved {
                mode: format!("container:{}", other.id),
                mappings: Some(m),
                user: None,
            }
        }
    })
}

/// `+`-style insertion of an additional auto mapping.
fn extend(map: Vec<IdMap>, e: IdMap) -> Vec<IdMap> {
    let spec = format!("+{}:{}:{}", e.container_id, e.host_id, e.size);
    let mut specs: Vec<String> = map.iter().map(IdMap::text).collect();
    specs.push(spec);
    let ident = [IdMap {
        container_id: 0,
        host_id: 0,
        size: u32::MAX,
    }];
    idmap::parse_list(&specs, "UID", &ident).unwrap_or(map)
}

/// The first `size` IDs inside `ranges` that no `taken` range overlaps.
fn free_block(ranges: &[(u32, u32)], taken: &[IdMap], size: u32) -> Option<u32> {
    for &(start, count) in ranges {
        let end = start as u64 + count as u64;
        let mut at = start as u64;
        loop {
            if at + size as u64 > end {
                break;
            }
            let clash = taken.iter().find(|t| {
                let (ts, te) = (t.host_id as u64, t.host_id as u64 + t.size as u64);
                ts < at + size as u64 && at < te
            });
            match clash {
                Some(t) => at = t.host_id as u64 + t.size as u64,
                None => return Some(at as u32),
            }
        }
    }
    None
}

/// The mappings of an existing user namespace (`ns:PATH`): those of a
/// process that lives in it.
fn namespace_mappings(path: &Path) -> anyhow::Result<IdMappings> {
    use std::os::unix::fs::MetadataExt;
    let want = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot use user namespace {}: {e}", path.display()))?;
    let procs = std::fs::read_dir("/proc")?;
    for p in procs.flatten() {
        let name = p.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(ns) = std::fs::metadata(p.path().join("ns/user")) else {
            continue;
        };
        if ns.dev() == want.dev() && ns.ino() == want.ino() {
            let uid_map = idmap::read_kernel_map(&p.path().join("uid_map"))?;
            let gid_map = idmap::read_kernel_map(&p.path().join("gid_map"))?;
            return Ok(IdMappings { uid_map, gid_map });
        }
    }
    anyhow::bail!(
        "cannot read the ID mappings of user namespace {}: no process lives in it (or it is not a user namespace)",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_blocks_skip_taken_ranges() {
        let t = |h, s| IdMap {
            container_id: 0,
            host_id: h,
            size: s,
        };
        assert_eq!(free_block(&[(1000, 5000)], &[], 1024), Some(1000));
        assert_eq!(
            free_block(&[(1000, 5000)], &[t(1000, 1024)], 1024),
            Some(2024)
        );
        assert_eq!(
            free_block(&[(1000, 2000)], &[t(1500, 10)], 1024),
            Some(1510)
        );
        assert_eq!(free_block(&[(1000, 2000)], &[t(1500, 1000)], 1024), None);
        assert_eq!(
            free_block(&[(1000, 2000), (10000, 2000)], &[t(1500, 1000)], 1024),
            Some(10000)
        );
    }
}
