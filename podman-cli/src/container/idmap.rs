//! User namespace ID mappings as Podman takes them: `--uidmap`/`--gidmap`
//! triples with the `+`, `u`, `g` flags and `@` host IDs, `--subuidname`/
//! `--subgidname` ranges from /etc/subuid and /etc/subgid, and the
//! kernel's own maps (`/proc/PID/uid_map`).

use serde::{Deserialize, Serialize};

/// One range: container IDs `container_id..container_id+size` are host IDs
/// `host_id..host_id+size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

impl IdMap {
    /// Podman's text form, "CONTAINER:HOST:SIZE".
    pub fn text(&self) -> String {
        format!("{}:{}:{}", self.container_id, self.host_id, self.size)
    }
}

/// A container's user namespace mappings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMappings {
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
}

impl IdMappings {
    /// Every ID is itself (as `keep-id` for root): the root file system
    /// needs no shifting.
    pub fn is_identity(&self) -> bool {
        self.uid_map
            .iter()
            .chain(&self.gid_map)
            .all(|m| m.container_id == m.host_id)
    }
}

/// The host ID of container ID `id`, if it is mapped.
pub fn to_host(map: &[IdMap], id: u32) -> Option<u32> {
    map.iter().find_map(|m| {
        let off = id.checked_sub(m.container_id)?;
        (off < m.size).then(|| m.host_id + off)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum IdMapError {
    #[error("initializing ID mappings: {setting} setting is malformed expected [\"[+ug]uint32:[@]uint32[:uint32]\"] : {spec:?}")]
    Malformed { setting: &'static str, spec: String },
    #[error("invalid mapping: {spec:?}: unknown flag {flag:?} (flags are +, u and g)")]
    Flag { spec: String, flag: char },
    #[error("parsing id map value {value:?}: {reason}")]
    Value { value: String, reason: String },
    #[error("parent ID {setting} {id} is not mapped/delegated")]
    NotDelegated { setting: &'static str, id: u32 },
    #[error("cannot find mappings for user {0:?}: add it to /etc/subuid and /etc/subgid")]
    NoSubIds(String),
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    extends: bool,
    user: bool,
    group: bool,
}

fn number(v: &str) -> Result<u32, IdMapError> {
    v.parse::<u32>().map_err(|e| IdMapError::Value {
        value: v.to_string(),
        reason: e.to_string(),
    })
}

/// One triple `[flags]CID:[@]HID:SIZE` (size already defaulted).
fn triple(
    spec: &[&str],
    parent: &[IdMap],
    setting: &'static str,
) -> Result<(Vec<IdMap>, Flags), IdMapError> {
    let mut flags = Flags::default();
    let digits = spec[0]
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .unwrap_or(spec[0].len());
    for c in spec[0][..digits].chars() {
        match c {
            '+' => flags.extends = true,
            'u' => flags.user = true,
            'g' => flags.group = true,
            other => {
                return Err(IdMapError::Flag {
                    spec: spec.join(":"),
                    flag: other,
                })
            }
        }
    }
    if !flags.user && !flags.group {
        flags.user = true;
        flags.group = true;
    }
    let cid = number(&spec[0][digits..])?;
    if spec[1].is_empty() {
        return Err(IdMapError::Malformed {
            setting,
            spec: spec.join(":"),
        });
    }
    let size = number(spec[2])?;
    let applies = (setting == "UID" && flags.user) || (setting == "GID" && flags.group);
    let maps = match spec[1].strip_prefix('@') {
        Some(h) => {
            let hid = number(h)?;
            if !applies {
                Vec::new()
            } else {
                (0..size)
                    .map(|i| {
                        let id = hid.saturating_add(i);
                        parent_lookup(parent, id)
                            .map(|host| IdMap {
                                container_id: cid.saturating_add(i),
                                host_id: host,
                                size: 1,
                            })
                            .ok_or(IdMapError::NotDelegated { setting, id })
                    })
                    .collect::<Result<_, _>>()?
            }
        }
        None => vec![IdMap {
            container_id: cid,
            host_id: number(spec[1])?,
            size,
        }],
    };
    Ok((maps, flags))
}

/// `@ID`: the ID in our own namespace that is host ID `id` of the parent
/// (for root in the initial namespace, `id` itself).
fn parent_lookup(parent: &[IdMap], id: u32) -> Option<u32> {
    parent.iter().find_map(|m| {
        let off = id.checked_sub(m.host_id)?;
        (off < m.size).then(|| m.container_id + off)
    })
}

/// Remove from `map` every part that overlaps `ext` in container or host
/// IDs, then add `ext` (the `+` flag).
fn break_insert(map: Vec<IdMap>, ext: IdMap) -> Vec<IdMap> {
    let mut out = Vec::new();
    for m in map {
        let (start, end) = (m.container_id as u64, m.container_id as u64 + m.size as u64);
        // Offsets within m that collide, on either side.
        let mut cut: Vec<(u64, u64)> = Vec::new();
        for (base, other) in [(m.container_id, ext.container_id), (m.host_id, ext.host_id)] {
            let s = other as i64 - base as i64;
            let e = s + ext.size as i64;
            if e > 0 && s < m.size as i64 {
                cut.push((s.max(0) as u64, e.min(m.size as i64) as u64));
            }
        }
        cut.sort_unstable();
        let mut pos = 0u64;
        for (s, e) in cut {
            if s > pos {
                out.push(IdMap {
                    container_id: (start + pos) as u32,
                    host_id: m.host_id + pos as u32,
                    size: (s - pos) as u32,
                });
            }
            pos = pos.max(e);
        }
        if start + pos < end {
            out.push(IdMap {
                container_id: (start + pos) as u32,
                host_id: m.host_id + pos as u32,
                size: (m.size as u64 - pos) as u32,
            });
        }
    }
    out.push(ext);
    out
}

/// Sort by container ID and merge ranges that continue each other.
fn sort_and_merge(mut map: Vec<IdMap>) -> Vec<IdMap> {
    map.sort_by_key(|m| m.container_id);
    let mut out: Vec<IdMap> = Vec::new();
    for m in map {
        if let Some(last) = out.last_mut() {
            if last.container_id as u64 + last.size as u64 == m.container_id as u64
                && last.host_id as u64 + last.size as u64 == m.host_id as u64
            {
                last.size += m.size;
                continue;
            }
        }
        out.push(m);
    }
    out
}

/// Podman's `--uidmap`/`--gidmap` list for `setting` ("UID" or "GID").
pub fn parse_list(
    specs: &[String],
    setting: &'static str,
    parent: &[IdMap],
) -> Result<Vec<IdMap>, IdMapError> {
    let mut map = Vec::new();
    for spec in specs.iter().filter(|s| !s.is_empty()) {
        let mut parts: Vec<&str> = spec.split(':').collect();
        if parts.len() == 2 {
            parts.push("1");
        }
        if !parts.len().is_multiple_of(3) {
            return Err(IdMapError::Malformed {
                setting,
                spec: spec.clone(),
            });
        }
        for t in parts.chunks(3) {
            if t[0].is_empty() {
                return Err(IdMapError::Malformed {
                    setting,
                    spec: spec.clone(),
                });
            }
            let (maps, flags) = triple(t, parent, setting)?;
            let applies = (setting == "UID" && flags.user) || (setting == "GID" && flags.group);
            for m in maps.into_iter().filter(|m| applies && m.size > 0) {
                map = if flags.extends {
                    break_insert(map, m)
                } else {
                    let mut v = map;
                    v.push(m);
                    v
                };
            }
        }
    }
    Ok(sort_and_merge(map))
}

/// A kernel map file (`/proc/PID/uid_map`): "INSIDE OUTSIDE COUNT" lines.
pub fn read_kernel_map(path: &std::path::Path) -> Result<Vec<IdMap>, IdMapError> {
    let text = std::fs::read_to_string(path).map_err(|source| IdMapError::Read {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace().map(|x| x.parse::<u32>());
            Some(IdMap {
                container_id: f.next()?.ok()?,
                host_id: f.next()?.ok()?,
                size: f.next()?.ok()?,
            })
        })
        .collect())
}

/// The ranges of `user` in an /etc/subuid-style file: "NAME:START:COUNT"
/// (the user may be named or given by number).
pub fn sub_ranges(file: &str, user: &str) -> Result<Vec<(u32, u32)>, IdMapError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(IdMapError::Read {
                path: file.to_string(),
                source,
            })
        }
    };
    let uid = nix::unistd::User::from_name(user)
        .ok()
        .flatten()
        .map(|u| u.uid.as_raw().to_string());
    Ok(text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            if f.len() != 3 || !(f[0] == user || Some(f[0]) == uid.as_deref()) {
                return None;
            }
            Some((f[1].parse().ok()?, f[2].parse().ok()?))
        })
        .filter(|(_, n)| *n > 0)
        .collect())
}

/// Container IDs from 0 over the ranges, one after the other (as
/// containers/storage's NewIDMappings).
pub fn from_ranges(ranges: &[(u32, u32)]) -> Vec<IdMap> {
    let mut next = 0u32;
    ranges
        .iter()
        .map(|&(start, count)| {
            let m = IdMap {
                container_id: next,
                host_id: start,
                size: count,
            };
            next = next.saturating_add(count);
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: u32, h: u32, s: u32) -> IdMap {
        IdMap {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    fn host() -> Vec<IdMap> {
        vec![m(0, 0, u32::MAX)]
    }

    #[test]
    fn triples_flags_and_merging() {
        let l = |v: &[&str], s| {
            parse_list(
                &v.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
                s,
                &host(),
            )
        };
        assert_eq!(
            l(&["0:100000:5000"], "UID").unwrap(),
            vec![m(0, 100000, 5000)]
        );
        assert_eq!(l(&["0:100000"], "UID").unwrap(), vec![m(0, 100000, 1)]);
        assert_eq!(
            l(&["0:1:1:1:2:1"], "UID").unwrap(),
            vec![m(0, 1, 2)],
            "consecutive ranges merge"
        );
        assert_eq!(l(&["g0:5:1"], "UID").unwrap(), vec![]);
        assert_eq!(l(&["u0:5:1"], "UID").unwrap(), vec![m(0, 5, 1)]);
        assert_eq!(
            l(&["0:0:65000", "+100000:1:1"], "GID").unwrap(),
            vec![m(0, 0, 1), m(2, 2, 64998), m(100000, 1, 1)]
        );
        assert_eq!(l(&["7:@2000:2"], "UID").unwrap(), vec![m(7, 2000, 2)]);
        assert!(matches!(
            l(&["0:1:2:3"], "UID"),
            Err(IdMapError::Malformed { .. })
        ));
        assert!(matches!(
            l(&["x0:1:2"], "UID"),
            Err(IdMapError::Flag { .. })
        ));
        assert!(matches!(
            l(&["0:-1:2"], "UID"),
            Err(IdMapError::Value { .. })
        ));
        assert!(matches!(
            parse_list(&["0:@5:1".into()], "UID", &[m(0, 100, 10)]),
            Err(IdMapError::NotDelegated { .. })
        ));
        assert_eq!(to_host(&[m(0, 100000, 10)], 3), Some(100003));
        assert_eq!(to_host(&[m(0, 100000, 10)], 10), None);
    }
}
