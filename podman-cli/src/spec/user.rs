//! Resolving `--user` (`name`, `uid`, `name:group`, `uid:gid`) against the
//! image's /etc/passwd and /etc/group, as the runtime needs numbers.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
}

fn read(rootfs: &Path, file: &str) -> String {
    std::fs::read_to_string(rootfs.join(file)).unwrap_or_default()
}

/// (name, uid, gid, home) entries of passwd.
fn passwd(rootfs: &Path) -> Vec<(String, u32, u32, String)> {
    read(rootfs, "etc/passwd")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6)
                .then(|| {
                    Some((
                        f[0].to_string(),
                        f[2].parse().ok()?,
                        f[3].parse().ok()?,
                        f[5].to_string(),
                    ))
                })
                .flatten()
        })
        .collect()
}

/// (name, gid, members) entries of group.
fn groups(rootfs: &Path) -> Vec<(String, u32, Vec<String>)> {
    read(rootfs, "etc/group")
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then(|| {
                Some((
                    f[0].to_string(),
                    f[2].parse().ok()?,
                    f.get(3)
                        .map(|m| {
                            m.split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                ))
            })?
        })
        .collect()
}

fn group_id(rootfs: &Path, g: &str) -> Result<u32, UserError> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(n);
    }
    groups(rootfs)
        .into_iter()
        .find(|(n, _, _)| n == g)
        .map(|(_, id, _)| id)
        .ok_or_else(|| UserError::NoGroup(g.to_string()))
}

/// Resolve `spec` (empty = root) plus `--group-add` entries.
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<ResolvedUser, UserError> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entries = passwd(rootfs);
    let (uid, mut gid, home, name) = if let Ok(uid) = user.parse::<u32>() {
        match entries.iter().find(|e| e.1 == uid) {
            Some(e) => (uid, e.2, e.3.clone(), Some(e.0.clone())),
            None => (uid, 0, "/".to_string(), None),
        }
    } else {
        let e = entries
            .iter()
            .find(|e| e.0 == user)
            .ok_or_else(|| UserError::NoUser(user.to_string()))?;
        (e.1, e.2, e.3.clone(), Some(e.0.clone()))
    };
    if let Some(g) = group {
        gid = group_id(rootfs, g)?;
    }
    let mut additional: Vec<u32> = Vec::new();
    if let (Some(name), None) = (&name, group) {
        // Supplementary groups the user is listed in.
        for (_, id, members) in groups(rootfs) {
            if members.iter().any(|m| m == name) && id != gid {
                additional.push(id);
            }
        }
    }
    for g in group_add {
        additional.push(group_id(rootfs, g)?);
    }
    additional.sort_unstable();
    additional.dedup();
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids: additional,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_groups() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1000::/home/web:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nweb:x:1000:\nextra:x:2000:web\n",
        )
        .unwrap();
        let r = resolve(d.path(), "", &[]).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (0, 0, "/root"));
        let r = resolve(d.path(), "web", &[]).unwrap();
        assert_eq!(
            (r.uid, r.gid, r.additional_gids.clone()),
            (1000, 1000, vec![2000])
        );
        let r = resolve(d.path(), "1234:extra", &["root".into()]).unwrap();
        assert_eq!(
            (r.uid, r.gid, r.additional_gids.clone()),
            (1234, 2000, vec![0])
        );
        assert!(resolve(d.path(), "nobody-here", &[])
            .unwrap_err()
            .to_string()
            .contains("unable to find user"));
    }
}
