//! Resolving `--user` (`name`, `uid`, `name:group`, `uid:gid`) against the
//! image's /etc/passwd and /etc/group, as the runtime needs numbers.
//!
//! The files come from the image, which may be hostile: they are resolved
//! inside the root (an absolute symlink to `/etc/shadow` names the image's
//! own file, never the host's), must be regular files (a FIFO would block
//! podman, `/dev/zero` would fill its memory) and at most
//! [`MAX_ACCOUNT_FILE`] bytes.

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
    #[error("unable to look up {what} {name}: /{file} in the container cannot be read: {source}")]
    File {
        what: &'static str,
        name: String,
        file: &'static str,
        source: std::io::Error,
    },
}

/// The largest passwd or group file read (far above any real one; a
/// bigger one is refused rather than read into memory).
pub const MAX_ACCOUNT_FILE: u64 = 16 << 20;

/// The text of the account file `rel` (`etc/passwd`, `etc/group`) inside
/// `root`, read safely (see the module comment); `None` when it does not
/// exist.
pub fn read_account_file(root: &Path, rel: &str) -> std::io::Result<Option<String>> {
    let bytes = common::in_root::read_regular_in_root(root, Path::new(rel), MAX_ACCOUNT_FILE)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EFBIG) => std::io::Error::new(
                e.kind(),
                format!("larger than {} MiB", MAX_ACCOUNT_FILE >> 20),
            ),
            _ => e,
        })?;
    Ok(bytes.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

/// The file's text for looking up `name`: a file that cannot be read
/// safely is an error when a name must be found in it, and counts as
/// empty when the name is a number (the runtime needs no file for those,
/// so a default-user container still runs).
pub(crate) fn read(
    rootfs: &Path,
    file: &'static str,
    what: &'static str,
    name: &str,
) -> Result<String, UserError> {
    match read_account_file(rootfs, file) {
        Ok(text) => Ok(text.unwrap_or_default()),
        Err(e) if name.parse::<u32>().is_ok() => {
            tracing::debug!(file, error = %e, "ignoring an unreadable account file for a numeric id");
            Ok(String::new())
        }
        Err(source) => Err(UserError::File {
            what,
            name: name.to_string(),
            file,
            source,
        }),
    }
}

/// (name, uid, gid, home) entries of passwd.
fn passwd(rootfs: &Path, user: &str) -> Result<Vec<(String, u32, u32, String)>, UserError> {
    Ok(read(rootfs, "etc/passwd", "user", user)?
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
        .collect())
}

/// (name, gid, members) entries of group; `group` is what is looked up.
fn groups(rootfs: &Path, group: &str) -> Result<Vec<(String, u32, Vec<String>)>, UserError> {
    Ok(read(rootfs, "etc/group", "group", group)?
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
        .collect())
}

fn group_id(rootfs: &Path, g: &str) -> Result<u32, UserError> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(n);
    }
    groups(rootfs, g)?
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
    let entries = passwd(rootfs, user)?;
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
        // Errors count against a user given by name only.
        for (_, id, members) in groups(rootfs, user)? {
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

    /// A hostile image's passwd: a link to /dev/zero, a FIFO, a link to a
    /// host path. Names fail at once with one clear line; numbers (the
    /// default user among them) still resolve; nothing blocks or escapes.
    #[test]
    fn hostile_account_files_never_block_nor_escape() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        let passwd = d.path().join("etc/passwd");
        let started = std::time::Instant::now();

        std::os::unix::fs::symlink("/dev/zero", &passwd).unwrap();
        // No /dev/zero in the root: the link names nothing.
        assert!(matches!(
            resolve(d.path(), "someuser", &[]),
            Err(UserError::NoUser(_))
        ));
        std::fs::create_dir(d.path().join("dev")).unwrap();
        nix::sys::stat::mknod(
            &d.path().join("dev/zero"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 5),
        )
        .unwrap();
        let e = resolve(d.path(), "someuser", &[]).unwrap_err().to_string();
        assert!(
            e.contains("/etc/passwd") && e.contains("not a regular file"),
            "{e}"
        );
        assert_eq!(resolve(d.path(), "", &[]).unwrap().uid, 0);

        std::fs::remove_file(&passwd).unwrap();
        nix::unistd::mkfifo(&passwd, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
        let e = resolve(d.path(), "someuser", &[]).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        assert_eq!(resolve(d.path(), "1000:1000", &[]).unwrap().uid, 1000);

        std::fs::remove_file(&passwd).unwrap();
        let host = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(host.path(), "someuser:x:4242:4242::/:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink(host.path(), &passwd).unwrap();
        assert!(matches!(
            resolve(d.path(), "someuser", &[]),
            Err(UserError::NoUser(_))
        ));

        std::fs::remove_file(&passwd).unwrap();
        let big = std::fs::File::create(&passwd).unwrap();
        big.set_len(MAX_ACCOUNT_FILE + 1).unwrap();
        let e = resolve(d.path(), "someuser", &[]).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
